/* Einsum (opset 12).
 *
 * The equation is parsed once (prepare): terms of letters with at most one
 * "..." each, an explicit output after "->" or the implicit one (the ellipsis
 * dims, then the letters used exactly once, in ASCII order). Labels not in the
 * output are summed; a label repeated inside one term takes a diagonal; a
 * dim of size 1 broadcasts against the label's size.
 *
 * Two implementations:
 *  - a reference that walks every (output, summed) index combination, for any
 *    number of inputs, any dtype; accumulation in double / wrapping int64;
 *  - a float32 fast path for two inputs without diagonals or one-sided sums:
 *    labels split into batch (both inputs + output), M (left + output),
 *    N (right + output) and K (both inputs, summed), and the product runs as
 *    one SGEMM per batch. Operands are used in place when their M/N/K labels
 *    are adjacent and in order (e.g. "bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd",
 *    "bqhd,bkhd->bhqk", "...ij,...jk->...ik"); otherwise they are first copied
 *    to a [batch, rows, cols] layout in scratch memory. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "ops/op.h"

#define EIN_MAX_IN 8
#define EIN_LETTERS 52                        /* A-Z -> 0..25, a-z -> 26..51 (ASCII order) */
#define EIN_NLAB (EIN_LETTERS + ODET_MAX_RANK) /* ellipsis dims follow the letters */
#define EIN_ELL (-1)                          /* the "..." symbol in a term */
#define EIN_TERM_MAX (ODET_MAX_RANK + 1)

/* Below this many multiply-adds per GEMM, batches run in parallel. */
#define EIN_SMALL_GEMM ((int64_t)1 << 18)

typedef struct ein_term {
    int n;                    /* symbols: letter ids or EIN_ELL */
    int sym[EIN_TERM_MAX];
} ein_term;

typedef struct ein_params {
    int n_in;
    ein_term in[EIN_MAX_IN];
    ein_term out;
} ein_params;

/* ------------------------------------------------------------------------ */
/* Parsing                                                                    */
/* ------------------------------------------------------------------------ */

static int letter_id(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + (c - 'a');
    return -1;
}

/* Parse one term from s[0..len); returns 0 or -1 with a message. */
static int parse_term(const char *s, size_t len, ein_term *t, const char **why)
{
    int ell = 0;
    t->n = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == '.') {
            if (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.') {
                *why = "'.' must be part of an ellipsis '...'";
                return -1;
            }
            if (ell++) {
                *why = "a term has more than one ellipsis";
                return -1;
            }
            if (t->n >= EIN_TERM_MAX) {
                *why = "a term has too many subscripts";
                return -1;
            }
            t->sym[t->n++] = EIN_ELL;
            i += 3;
            continue;
        }
        int id = letter_id(s[i]);
        if (id < 0) {
            *why = "subscripts must be letters a-z, A-Z";
            return -1;
        }
        if (t->n >= EIN_TERM_MAX) {
            *why = "a term has too many subscripts";
            return -1;
        }
        t->sym[t->n++] = id;
        i++;
    }
    return 0;
}

static odet_status ein_prepare(odet_node *node, char *err, size_t errlen)
{
    const char *eq = odet_attr_string(node, "equation", NULL);
    if (!eq)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute 'equation' is missing");
    /* Copy without whitespace. */
    size_t len = strlen(eq), n = 0;
    char *s = malloc(len + 1);
    ein_params *p = calloc(1, sizeof *p);
    if (!s || !p) {
        free(s);
        free(p);
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < len; i++)
        if (eq[i] != ' ' && eq[i] != '\t' && eq[i] != '\n')
            s[n++] = eq[i];
    s[n] = '\0';

    const char *why = NULL;
    const char *arrow = strstr(s, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - s) : n;
    size_t start = 0;
    for (size_t i = 0; i <= lhs_len && !why; i++) {
        if (i == lhs_len || s[i] == ',') {
            if (p->n_in >= EIN_MAX_IN) {
                why = "too many inputs";
                break;
            }
            if (parse_term(s + start, i - start, &p->in[p->n_in], &why) == 0)
                p->n_in++;
            start = i + 1;
        }
    }
    if (!why && arrow) {
        const char *rhs = arrow + 2;
        if (strstr(rhs, "->"))
            why = "more than one '->'";
        else if (parse_term(rhs, strlen(rhs), &p->out, &why) == 0) {
            int seen[EIN_LETTERS] = {0}, used[EIN_LETTERS] = {0};
            for (int i = 0; i < p->n_in; i++)
                for (int j = 0; j < p->in[i].n; j++)
                    if (p->in[i].sym[j] >= 0)
                        used[p->in[i].sym[j]] = 1;
            for (int j = 0; j < p->out.n && !why; j++) {
                int id = p->out.sym[j];
                if (id < 0)
                    continue;
                if (seen[id]++)
                    why = "an output subscript appears twice";
                else if (!used[id])
                    why = "an output subscript does not appear in any input";
            }
        }
    } else if (!why) {
        /* Implicit output: "..." first, then letters used exactly once, sorted. */
        int count[EIN_LETTERS] = {0}, any_ell = 0;
        for (int i = 0; i < p->n_in; i++)
            for (int j = 0; j < p->in[i].n; j++) {
                if (p->in[i].sym[j] == EIN_ELL)
                    any_ell = 1;
                else
                    count[p->in[i].sym[j]]++;
            }
        p->out.n = 0;
        if (any_ell)
            p->out.sym[p->out.n++] = EIN_ELL;
        for (int id = 0; id < EIN_LETTERS && !why; id++)
            if (count[id] == 1) {
                if (p->out.n >= EIN_TERM_MAX)
                    why = "the implicit output has too many subscripts";
                else
                    p->out.sym[p->out.n++] = id;
            }
    }
    if (!why && p->n_in < 1)
        why = "no input terms";
    if (why) {
        odet_status st = odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                        "equation '%s': %s", eq, why);
        free(s);
        free(p);
        return st;
    }
    free(s);
    node->params = p;
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Binding labels to shapes                                                   */
/* ------------------------------------------------------------------------ */

typedef struct ein_bind {
    int n_in;
    int64_t size[EIN_NLAB];           /* label sizes (-1 = unused) */
    int count[EIN_MAX_IN][EIN_NLAB];  /* occurrences of each label in each input */
    int64_t str[EIN_MAX_IN][EIN_NLAB];/* element step of each input per label index */
    int in_order[EIN_MAX_IN][ODET_MAX_RANK]; /* label of each input dim */
    int n_out;
    int out_lab[EIN_NLAB];
    int64_t out_dims[EIN_NLAB];
    int64_t out_str[EIN_NLAB];
    int n_sum;
    int sum_lab[EIN_NLAB];
} ein_bind;

/* Expand a term to one label per dim; the ellipsis covers `ell` dims that are
 * right-aligned within the `ell_max` ellipsis labels. Returns the dim count. */
static int expand_term(const ein_term *t, int ell, int ell_max, int *labs)
{
    int n = 0;
    for (int j = 0; j < t->n; j++) {
        if (t->sym[j] == EIN_ELL) {
            for (int e = 0; e < ell; e++)
                labs[n++] = EIN_LETTERS + (ell_max - ell) + e;
        } else {
            labs[n++] = t->sym[j];
        }
    }
    return n;
}

static int term_has_ell(const ein_term *t)
{
    for (int j = 0; j < t->n; j++)
        if (t->sym[j] == EIN_ELL)
            return 1;
    return 0;
}

static odet_status ein_bind_shapes(const odet_op_ctx *ctx, ein_bind *b)
{
    const ein_params *p = ctx->params;
    memset(b, 0, sizeof *b);
    if (ctx->n_in != p->n_in)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "equation has %d input terms, node has %d inputs", p->n_in,
                            ctx->n_in);
    b->n_in = p->n_in;
    int ell[EIN_MAX_IN], ell_max = 0;
    for (int i = 0; i < p->n_in; i++) {
        const odet_tensor *x = ctx->in[i];
        if (!x)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "input %d is missing", i);
        int letters = p->in[i].n - term_has_ell(&p->in[i]);
        ell[i] = x->rank - letters;
        if (ell[i] < 0 || (ell[i] > 0 && !term_has_ell(&p->in[i])))
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "input %d has rank %d but its term has %d subscripts", i,
                                x->rank, letters);
        if (ell[i] > ell_max)
            ell_max = ell[i];
    }
    for (int l = 0; l < EIN_NLAB; l++)
        b->size[l] = -1;
    for (int i = 0; i < p->n_in; i++) {
        const odet_tensor *x = ctx->in[i];
        int n = expand_term(&p->in[i], ell[i], ell_max, b->in_order[i]);
        for (int d = 0; d < n; d++) {
            int l = b->in_order[i][d];
            int64_t dim = x->dims[d];
            b->count[i][l]++;
            if (b->size[l] < 0 || b->size[l] == 1)
                b->size[l] = dim;
            else if (dim != b->size[l] && dim != 1)
                return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                    "input %d dim %d has size %lld, expected %lld", i, d,
                                    (long long)dim, (long long)b->size[l]);
        }
    }
    for (int i = 0; i < p->n_in; i++) {
        const odet_tensor *x = ctx->in[i];
        int64_t st[ODET_MAX_RANK];
        odet_strides(x->rank, x->dims, st);
        for (int d = 0; d < x->rank; d++) {
            int l = b->in_order[i][d];
            if (x->dims[d] != 1)  /* size-1 dims broadcast: step 0 */
                b->str[i][l] += st[d];
        }
    }
    /* Output labels: the output term, with the ellipsis expanded to ell_max dims. */
    b->n_out = expand_term(&p->out, ell_max, ell_max, b->out_lab);
    if (b->n_out > ODET_MAX_RANK)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "output rank %d exceeds %d", b->n_out,
                            ODET_MAX_RANK);
    int in_out[EIN_NLAB] = {0};
    for (int d = 0; d < b->n_out; d++) {
        int l = b->out_lab[d];
        in_out[l] = 1;
        b->out_dims[d] = b->size[l] < 0 ? 1 : b->size[l];
    }
    int64_t ost[ODET_MAX_RANK];
    odet_strides(b->n_out, b->out_dims, ost);
    for (int d = 0; d < b->n_out; d++)
        b->out_str[b->out_lab[d]] = ost[d];
    for (int l = 0; l < EIN_NLAB; l++)
        if (b->size[l] >= 0 && !in_out[l])
            b->sum_lab[b->n_sum++] = l;
    return ODET_OK;
}

static int ein_dtype_ok(odet_dtype t)
{
    return t == ODET_FLOAT || t == ODET_DOUBLE || t == ODET_INT32 || t == ODET_INT64;
}

static odet_status ein_infer(odet_op_ctx *ctx)
{
    for (int i = 0; i < ctx->n_in; i++) {
        const odet_tensor *x = ctx->in[i];
        if (!x)
            continue;
        if (x->dtype != ctx->in[0]->dtype)
            return odet_op_fail(ctx, ODET_ERR_DTYPE, "input %d is %s, input 0 is %s", i,
                                odet_dtype_name(x->dtype), odet_dtype_name(ctx->in[0]->dtype));
    }
    if (!ein_dtype_ok(ctx->in[0]->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(ctx->in[0]->dtype));
    ein_bind b;
    odet_status st = ein_bind_shapes(ctx, &b);
    if (st != ODET_OK)
        return st;
    odet_set_shape(ctx->out[0], ctx->in[0]->dtype, b.n_out, b.out_dims);
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Reference                                                                  */
/* ------------------------------------------------------------------------ */

/* For each output element: walk the summed labels with an odometer, keeping
 * every input's offset up to date, and add the products. ACC is double for
 * floats and uint64 (wrapping) for integers. */
#define DEF_EIN_REF(SUF, T, ACC)                                                          \
    static void ein_ref_##SUF(const ein_bind *b, const odet_tensor *const *in, T *y,       \
                              int threads)                                                 \
    {                                                                                      \
        int64_t n_out = odet_dims_prod(b->out_dims, 0, b->n_out);                          \
        int64_t n_sum = 1;                                                                 \
        for (int s = 0; s < b->n_sum; s++)                                                 \
            n_sum *= b->size[b->sum_lab[s]];                                               \
        _Pragma("omp parallel for num_threads(threads) if (n_out * n_sum > 32768)")         \
        for (int64_t o = 0; o < n_out; o++) {                                              \
            int64_t off[EIN_MAX_IN] = {0}, rem = o;                                        \
            for (int d = b->n_out - 1; d >= 0; d--) {                                      \
                int l = b->out_lab[d];                                                     \
                int64_t idx = rem % b->out_dims[d];                                        \
                rem /= b->out_dims[d];                                                     \
                for (int i = 0; i < b->n_in; i++)                                          \
                    off[i] += idx * b->str[i][l];                                          \
            }                                                                              \
            int64_t cnt[EIN_NLAB] = {0};                                                   \
            ACC acc = 0;                                                                   \
            for (int64_t s = 0; s < n_sum; s++) {                                          \
                ACC prod = 1;                                                              \
                for (int i = 0; i < b->n_in; i++)                                          \
                    prod *= (ACC)((const T *)in[i]->data)[off[i]];                         \
                acc += prod;                                                               \
                for (int k = b->n_sum - 1; k >= 0; k--) {                                  \
                    int l = b->sum_lab[k];                                                 \
                    for (int i = 0; i < b->n_in; i++)                                      \
                        off[i] += b->str[i][l];                                            \
                    if (++cnt[k] < b->size[l])                                             \
                        break;                                                             \
                    for (int i = 0; i < b->n_in; i++)                                      \
                        off[i] -= b->str[i][l] * b->size[l];                               \
                    cnt[k] = 0;                                                            \
                }                                                                          \
            }                                                                              \
            y[o] = (T)acc;                                                                 \
        }                                                                                  \
    }

DEF_EIN_REF(f32, float, double)
DEF_EIN_REF(f64, double, double)
DEF_EIN_REF(i32, int32_t, uint64_t)
DEF_EIN_REF(i64, int64_t, uint64_t)

/* ------------------------------------------------------------------------ */
/* Batched-GEMM fast path (float32, two inputs)                               */
/* ------------------------------------------------------------------------ */

/* One GEMM operand (or the result) seen as [batch][rows][cols]. */
typedef struct ein_mat {
    int copy;                       /* staged through scratch as [batch, rows, cols] */
    int trans;                      /* stored cols x rows */
    int64_t ld;
    int64_t bstr[EIN_NLAB];         /* element step per batch label (index in batch list) */
    /* canonical label order with the source steps, used when copy is set */
    int n;
    int64_t csize[EIN_NLAB], cstr[EIN_NLAB];
    size_t off;                     /* scratch offset in bytes */
    int64_t numel;
} ein_mat;

typedef struct ein_plan {
    int ok;
    int left, right;                /* input index of the left / right GEMM operand */
    int nb;
    int64_t bsize[EIN_NLAB];
    int64_t batch, M, N, K;
    ein_mat a, b, c;
    size_t scratch;
} ein_plan;

typedef struct ein_group {
    int n;
    int lab[EIN_NLAB];
} ein_group;

static int64_t group_size(const ein_bind *bd, const ein_group *g)
{
    int64_t s = 1;
    for (int j = 0; j < g->n; j++)
        s *= bd->size[g->lab[j]];
    return s;
}

/* Whether labels g, in order, form one dense run in a tensor with per-label
 * steps str; *step is the step of the run (its last label). */
static int group_flat(const ein_bind *bd, const ein_group *g, const int64_t *str, int64_t *step)
{
    for (int j = 0; j < g->n; j++)
        if (str[g->lab[j]] <= 0)
            return 0;
    for (int j = 0; j + 1 < g->n; j++)
        if (str[g->lab[j]] != str[g->lab[j + 1]] * bd->size[g->lab[j + 1]])
            return 0;
    *step = g->n ? str[g->lab[g->n - 1]] : 0;
    return 1;
}

/* View a tensor with per-label steps `str` as batch x rows x cols. Operands may
 * be transposed; the result (is_out) may not. Falls back to a staged copy. */
static void mat_view(const ein_bind *bd, const ein_group *batch, const ein_group *rows,
                     const ein_group *cols, const int64_t *str, int is_out, ein_mat *m)
{
    memset(m, 0, sizeof *m);
    int64_t nr = group_size(bd, rows), nc = group_size(bd, cols);
    int64_t sr = 0, sc = 0;
    int direct = 0;
    if (group_flat(bd, rows, str, &sr) && group_flat(bd, cols, str, &sc)) {
        if (cols->n == 0 || sc == 1) {
            direct = 1;
            m->trans = 0;
            m->ld = rows->n == 0 ? (nc > 0 ? nc : 1) : sr;
        } else if (!is_out && (rows->n == 0 || sr == 1)) {
            direct = 1;
            m->trans = 1;
            m->ld = sc;
        }
    }
    m->numel = nr * nc;
    for (int j = 0; j < batch->n; j++)
        m->numel *= bd->size[batch->lab[j]];
    if (direct) {
        for (int j = 0; j < batch->n; j++)
            m->bstr[j] = str[batch->lab[j]];
        return;
    }
    /* Staged: canonical [batch..., rows..., cols...], contiguous. */
    m->copy = 1;
    m->trans = 0;
    m->ld = nc > 0 ? nc : 1;
    m->n = 0;
    const ein_group *gs[3] = {batch, rows, cols};
    for (int g = 0; g < 3; g++)
        for (int j = 0; j < gs[g]->n; j++) {
            m->csize[m->n] = bd->size[gs[g]->lab[j]];
            m->cstr[m->n] = str[gs[g]->lab[j]];
            m->n++;
        }
    int64_t step = nr * nc;
    for (int j = batch->n - 1; j >= 0; j--) {
        m->bstr[j] = step;
        step *= bd->size[batch->lab[j]];
    }
}

/* Plan the fast path; p->ok = 0 when it does not apply. */
static void ein_plan_gemm(const odet_op_ctx *ctx, const ein_bind *bd, ein_plan *p)
{
    memset(p, 0, sizeof *p);
    if (bd->n_in != 2 || ctx->in[0]->dtype != ODET_FLOAT)
        return;
    int in_out[EIN_NLAB] = {0};
    for (int d = 0; d < bd->n_out; d++)
        in_out[bd->out_lab[d]] = 1;
    for (int l = 0; l < EIN_NLAB; l++) {
        if (bd->size[l] < 0)
            continue;
        if (bd->count[0][l] > 1 || bd->count[1][l] > 1)
            return; /* diagonal */
        if (bd->size[l] == 0)
            return;
        int in0 = bd->count[0][l] > 0, in1 = bd->count[1][l] > 0;
        if (!in_out[l] && in0 != in1)
            return; /* summed in one input only */
    }
    /* Groups (labels of size 1 play no part). */
    ein_group batch = {0}, mg = {0}, ng = {0}, kg = {0};
    for (int d = 0; d < bd->n_out; d++) {
        int l = bd->out_lab[d];
        if (bd->size[l] <= 1)
            continue;
        int in0 = bd->count[0][l] > 0, in1 = bd->count[1][l] > 0;
        if (in0 && in1)
            batch.lab[batch.n++] = l;
        else if (in0)
            mg.lab[mg.n++] = l;
        else
            ng.lab[ng.n++] = l;
    }
    for (int d = 0; d < ctx->in[0]->rank; d++) {
        int l = bd->in_order[0][d];
        if (bd->size[l] > 1 && !in_out[l])
            kg.lab[kg.n++] = l;
    }
    p->nb = batch.n;
    p->batch = 1;
    for (int j = 0; j < batch.n; j++) {
        p->bsize[j] = bd->size[batch.lab[j]];
        p->batch *= p->bsize[j];
    }
    /* Orientation: C = A*B, or C^T = B^T*A^T when the output keeps M innermost. */
    int swap = 0;
    {
        ein_mat c0, c1;
        mat_view(bd, &batch, &mg, &ng, bd->out_str, 1, &c0);
        mat_view(bd, &batch, &ng, &mg, bd->out_str, 1, &c1);
        swap = c0.copy && !c1.copy;
    }
    p->left = swap ? 1 : 0;
    p->right = swap ? 0 : 1;
    const ein_group *rows = swap ? &ng : &mg, *cols = swap ? &mg : &ng;
    p->M = group_size(bd, rows);
    p->N = group_size(bd, cols);
    p->K = group_size(bd, &kg);
    mat_view(bd, &batch, rows, &kg, bd->str[p->left], 0, &p->a);
    mat_view(bd, &batch, &kg, cols, bd->str[p->right], 0, &p->b);
    mat_view(bd, &batch, rows, cols, bd->out_str, 1, &p->c);
    size_t off = 0;
    ein_mat *ms[3] = {&p->a, &p->b, &p->c};
    for (int i = 0; i < 3; i++) {
        if (!ms[i]->copy)
            continue;
        ms[i]->off = off;
        off += ((size_t)ms[i]->numel * sizeof(float) + 63) & ~(size_t)63;
    }
    p->scratch = off;
    p->ok = 1;
}

/* dst[canonical] <-> src[strided]: walk the n canonical dims with an odometer.
 * to_canon: copy strided -> contiguous, else contiguous -> strided. */
static void copy_canon(const ein_mat *m, float *canon, float *strided, int to_canon,
                       int threads)
{
    int64_t total = m->numel;
    int64_t inner = m->n > 0 ? m->csize[m->n - 1] : 1;
    int64_t istep = m->n > 0 ? m->cstr[m->n - 1] : 0;
    int64_t rows = inner > 0 ? total / inner : 0;
#pragma omp parallel for num_threads(threads) if (total > 65536)
    for (int64_t r = 0; r < rows; r++) {
        int64_t off = 0, rem = r;
        for (int d = m->n - 2; d >= 0; d--) {
            off += (rem % m->csize[d]) * m->cstr[d];
            rem /= m->csize[d];
        }
        float *c = canon + r * inner;
        if (to_canon)
            for (int64_t j = 0; j < inner; j++)
                c[j] = strided[off + j * istep];
        else
            for (int64_t j = 0; j < inner; j++)
                strided[off + j * istep] = c[j];
    }
}

static void batch_offsets(const ein_plan *p, int64_t bi, int64_t *oa, int64_t *ob, int64_t *oc)
{
    int64_t a = 0, b = 0, c = 0;
    for (int j = p->nb - 1; j >= 0; j--) {
        int64_t idx = bi % p->bsize[j];
        bi /= p->bsize[j];
        a += idx * p->a.bstr[j];
        b += idx * p->b.bstr[j];
        c += idx * p->c.bstr[j];
    }
    *oa = a;
    *ob = b;
    *oc = c;
}

static odet_status ein_run_gemm(odet_op_ctx *ctx, const ein_plan *p)
{
    if (ctx->scratch_bytes < p->scratch || (p->scratch && !ctx->scratch))
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch buffer too small");
    char *scr = ctx->scratch;
    const float *A = ctx->in[p->left]->data, *B = ctx->in[p->right]->data;
    float *C = ctx->out[0]->data;
    float *sa = p->a.copy ? (float *)(scr + p->a.off) : NULL;
    float *sb = p->b.copy ? (float *)(scr + p->b.off) : NULL;
    float *sc = p->c.copy ? (float *)(scr + p->c.off) : NULL;
    if (sa) {
        copy_canon(&p->a, sa, (float *)A, 1, ctx->threads);
        A = sa;
    }
    if (sb) {
        copy_canon(&p->b, sb, (float *)B, 1, ctx->threads);
        B = sb;
    }
    float *Cw = sc ? sc : C;
    const odet_kernels *kern = odet_kernels_get();
    int64_t M = p->M, N = p->N, K = p->K;
    if (p->batch > 1 && ctx->threads > 1 && M * N * K < EIN_SMALL_GEMM) {
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
        for (int64_t bi = 0; bi < p->batch; bi++) {
            int64_t oa, ob, oc;
            batch_offsets(p, bi, &oa, &ob, &oc);
            kern->f32_gemm(p->a.trans, p->b.trans, M, N, K, 1.0f, A + oa, p->a.ld, B + ob,
                           p->b.ld, 0.0f, Cw + oc, p->c.ld, 1);
        }
    } else {
        for (int64_t bi = 0; bi < p->batch; bi++) {
            int64_t oa, ob, oc;
            batch_offsets(p, bi, &oa, &ob, &oc);
            kern->f32_gemm(p->a.trans, p->b.trans, M, N, K, 1.0f, A + oa, p->a.ld, B + ob,
                           p->b.ld, 0.0f, Cw + oc, p->c.ld, ctx->threads);
        }
    }
    if (sc)
        copy_canon(&p->c, sc, C, 0, ctx->threads);
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */

static size_t ein_scratch(const odet_op_ctx *ctx)
{
    ein_bind b;
    if (ein_bind_shapes(ctx, &b) != ODET_OK)
        return 0;
    if (odet_dims_prod(b.out_dims, 0, b.n_out) == 0)
        return 0;
    ein_plan p;
    ein_plan_gemm(ctx, &b, &p);
    return p.ok ? p.scratch : 0;
}

static odet_status ein_run(odet_op_ctx *ctx)
{
    ein_bind b;
    odet_status st = ein_bind_shapes(ctx, &b);
    if (st != ODET_OK)
        return st;
    odet_tensor *y = ctx->out[0];
    int64_t n_out = odet_dims_prod(b.out_dims, 0, b.n_out);
    if (n_out == 0)
        return ODET_OK;
    for (int s = 0; s < b.n_sum; s++)
        if (b.size[b.sum_lab[s]] == 0) {
            memset(y->data, 0, odet_tensor_bytes(y));
            return ODET_OK;
        }
    ein_plan p;
    ein_plan_gemm(ctx, &b, &p);
    if (p.ok)
        return ein_run_gemm(ctx, &p);
    switch (y->dtype) {
    case ODET_FLOAT: ein_ref_f32(&b, ctx->in, y->data, ctx->threads); break;
    case ODET_DOUBLE: ein_ref_f64(&b, ctx->in, y->data, ctx->threads); break;
    case ODET_INT32: ein_ref_i32(&b, ctx->in, y->data, ctx->threads); break;
    case ODET_INT64: ein_ref_i64(&b, ctx->in, y->data, ctx->threads); break;
    default:
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(y->dtype));
    }
    return ODET_OK;
}

const odet_op_def odet_ops_einsum[] = {
    {.op_type = "Einsum", .domain = "", .min_opset = 12, .prepare = ein_prepare,
     .infer = ein_infer, .scratch = ein_scratch, .run = ein_run},
    {0},
};
