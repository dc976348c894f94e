/* Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
 * ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare, and ArgMax/ArgMin.
 *
 * Axes come from the `axes` attribute (ReduceSum before opset 13, the others
 * before opset 18) or from the optional input 1 (later opsets). Empty axes
 * reduce everything unless noop_with_empty_axes is set; then each element is
 * reduced on its own (the op's element function is still applied, e.g. x^2
 * for ReduceSumSquare, as in the ONNX reference).
 *
 * The input is viewed as alternating groups of kept and reduced dims (size-1
 * dims dropped, neighbours merged). A trailing kept group is the contiguous
 * "inner" run: outputs are computed in blocks of up to RED_CHUNK columns so
 * memory is read row by row. Floats accumulate in double, integers in int64
 * (wrapping on overflow). A reduction over an empty set (a reduced dim of
 * size 0) yields the identity of the op: 0 for sums, 1 for ReduceProd, -inf
 * for ReduceMax / ReduceLogSum / ReduceLogSumExp, +inf for ReduceMin (the
 * integer limits for integer types), NaN for the mean of floats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

enum {
    R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ
};

static const struct {
    const char *name;
    int op;
} red_names[] = {
    {"ReduceSum", R_SUM},         {"ReduceMean", R_MEAN},       {"ReduceMax", R_MAX},
    {"ReduceMin", R_MIN},         {"ReduceProd", R_PROD},       {"ReduceL1", R_L1},
    {"ReduceL2", R_L2},           {"ReduceLogSum", R_LOGSUM},   {"ReduceLogSumExp", R_LOGSUMEXP},
    {"ReduceSumSquare", R_SUMSQ},
};

#define RED_CHUNK 128

typedef struct red_params {
    int op;
    int keepdims;
    int noop_empty;       /* noop_with_empty_axes */
    int axes_input;       /* axes come from input 1 */
    int n_axes;           /* attribute axes (0 when absent) */
    int64_t axes[ODET_MAX_RANK];
} red_params;

static odet_status red_prepare(odet_node *node, char *err, size_t errlen)
{
    red_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->op = -1;
    for (size_t i = 0; i < sizeof red_names / sizeof red_names[0]; i++)
        if (strcmp(node->op_type, red_names[i].name) == 0)
            p->op = red_names[i].op;
    if (p->op < 0) {
        free(p);
        return odet_node_fail(node, err, errlen, ODET_ERR_INTERNAL, "unknown reduction");
    }
    p->keepdims = odet_attr_int(node, "keepdims", 1) != 0;
    p->noop_empty = odet_attr_int(node, "noop_with_empty_axes", 0) != 0;
    p->axes_input = node->opset >= (p->op == R_SUM ? 13 : 18);
    size_t n = 0;
    const int64_t *axes = odet_attr_ints(node, "axes", &n);
    if (axes && !p->axes_input) {
        if (n > ODET_MAX_RANK) {
            free(p);
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "%zu axes given, at most %d supported", n, ODET_MAX_RANK);
        }
        for (size_t i = 0; i < n; i++)
            p->axes[i] = axes[i];
        p->n_axes = (int)n;
    }
    node->params = p;
    return ODET_OK;
}

/* Resolved geometry of one reduction (see the file comment). */
typedef struct red_plan {
    int64_t count;                     /* elements reduced into each output */
    int64_t out_numel;
    int out_rank;
    int64_t out_dims[ODET_MAX_RANK];
    int64_t inner;                     /* trailing kept run (contiguous) */
    int nk;                            /* kept groups before the inner run */
    int64_t kd[ODET_MAX_RANK], ks[ODET_MAX_RANK];
    int nr;                            /* reduced groups; the last is walked in the kernel */
    int64_t rd[ODET_MAX_RANK], rs[ODET_MAX_RANK];
    int64_t n_kept;                    /* product of kd */
    int64_t n_outer_red;               /* product of rd[0..nr-1) */
} red_plan;

/* Reduced-axis mask from the attribute or input 1. Empty axes mean all axes,
 * or none with noop_with_empty_axes. */
static odet_status red_mask(const odet_op_ctx *ctx, int rank, unsigned *mask)
{
    const red_params *p = ctx->params;
    int64_t axes[ODET_MAX_RANK];
    int n = 0;
    if (p->axes_input) {
        const odet_tensor *a = ctx->n_in > 1 ? ctx->in[1] : NULL;
        if (a) {
            if (!a->data)
                return odet_op_fail(ctx, ODET_ERR_INTERNAL, "axes input has no data");
            n = odet_tensor_read_ints(a, axes, ODET_MAX_RANK);
            if (n < 0)
                return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                    "input 1 'axes' must be a 1-D integer tensor of at most %d "
                                    "values",
                                    ODET_MAX_RANK);
        }
    } else {
        n = p->n_axes;
        memcpy(axes, p->axes, sizeof axes);
    }
    *mask = 0;
    if (n == 0) {
        if (!p->noop_empty)
            *mask = rank > 0 ? (1u << rank) - 1u : 0u;
        return ODET_OK;
    }
    for (int i = 0; i < n; i++) {
        int ax;
        if (odet_norm_axis(axes[i], rank, &ax) != 0)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                                (long long)axes[i], rank);
        *mask |= 1u << ax;
    }
    return ODET_OK;
}

static odet_status red_plan_of(const odet_op_ctx *ctx, red_plan *rp)
{
    const red_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    unsigned mask = 0;
    odet_status st = red_mask(ctx, x->rank, &mask);
    if (st != ODET_OK)
        return st;
    memset(rp, 0, sizeof *rp);
    rp->count = 1;
    for (int d = 0; d < x->rank; d++) {
        if (mask & (1u << d)) {
            rp->count *= x->dims[d];
            if (p->keepdims)
                rp->out_dims[rp->out_rank++] = 1;
        } else {
            rp->out_dims[rp->out_rank++] = x->dims[d];
        }
    }
    rp->out_numel = odet_dims_prod(rp->out_dims, 0, rp->out_rank);

    /* Collapse: drop size-1 dims, merge neighbours of the same kind. */
    int ng = 0;
    int64_t gd[ODET_MAX_RANK];
    int gr[ODET_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
        if (x->dims[d] == 1)
            continue;
        int red = (mask >> d) & 1u;
        if (ng > 0 && gr[ng - 1] == red) {
            gd[ng - 1] *= x->dims[d];
        } else {
            gd[ng] = x->dims[d];
            gr[ng] = red;
            ng++;
        }
    }
    int64_t gs[ODET_MAX_RANK];
    odet_strides(ng, gd, gs);
    rp->inner = 1;
    if (ng > 0 && !gr[ng - 1]) {
        rp->inner = gd[ng - 1];
        ng--;
    }
    for (int g = 0; g < ng; g++) {
        if (gr[g]) {
            rp->rd[rp->nr] = gd[g];
            rp->rs[rp->nr++] = gs[g];
        } else {
            rp->kd[rp->nk] = gd[g];
            rp->ks[rp->nk++] = gs[g];
        }
    }
    if (rp->nr == 0) { /* nothing to reduce: one element per output */
        rp->rd[0] = 1;
        rp->rs[0] = 0;
        rp->nr = 1;
    }
    rp->n_kept = odet_dims_prod(rp->kd, 0, rp->nk);
    rp->n_outer_red = odet_dims_prod(rp->rd, 0, rp->nr - 1);
    return ODET_OK;
}

static int red_dtype_ok(odet_dtype t)
{
    return t == ODET_FLOAT || t == ODET_DOUBLE || t == ODET_INT32 || t == ODET_INT64 ||
           t == ODET_INT8 || t == ODET_UINT8;
}

static odet_status red_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    if (!red_dtype_ok(x->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    red_plan rp = {0};
    odet_status st = red_plan_of(ctx, &rp);
    if (st != ODET_OK)
        return st;
    odet_set_shape(ctx->out[0], x->dtype, rp.out_rank, rp.out_dims);
    return ODET_OK;
}

/* Element offset of kept block ko / outer reduced index r. */
static int64_t red_offset(int n, const int64_t *dims, const int64_t *strides, int64_t i)
{
    int64_t off = 0;
    for (int g = n - 1; g >= 0; g--) {
        off += (i % dims[g]) * strides[g];
        i /= dims[g];
    }
    return off;
}

/* ---- accumulation in double (float types) and int64 (integer types) ---- */

static inline double comb_d(int op, double a, double v)
{
    switch (op) {
    case R_PROD: return a * v;
    case R_MAX: return (v > a || v != v) ? v : a;
    case R_MIN: return (v < a || v != v) ? v : a;
    case R_L1: return a + fabs(v);
    case R_L2:
    case R_SUMSQ: return a + v * v;
    default: return a + v;
    }
}

static inline double fin_d(int op, double a, double mx, double se, int64_t count)
{
    switch (op) {
    case R_MEAN: return a / (double)count;
    case R_L2: return sqrt(a);
    case R_LOGSUM: return log(a);
    case R_LOGSUMEXP: return isinf(mx) ? mx : mx + log(se); /* all -inf, or an +inf */
    default: return a;
    }
}

static inline int64_t comb_i(int op, int64_t a, int64_t v)
{
    uint64_t ua = (uint64_t)a, uv = (uint64_t)v;
    switch (op) {
    case R_PROD: return (int64_t)(ua * uv);
    case R_MAX: return v > a ? v : a;
    case R_MIN: return v < a ? v : a;
    case R_L1: return (int64_t)(ua + (v < 0 ? 0u - uv : uv));
    case R_L2:
    case R_SUMSQ: return (int64_t)(ua + uv * uv);
    default: return (int64_t)(ua + uv);
    }
}

static inline int64_t fin_i(int op, int64_t a, double mx, double se, int64_t count)
{
    switch (op) {
    case R_MEAN: return a / count;
    case R_L2: return (int64_t)sqrt((double)a);
    case R_LOGSUM: return a > 0 ? (int64_t)log((double)a) : INT64_MIN;
    case R_LOGSUMEXP: return (int64_t)(mx + log(se));
    default: return a;
    }
}

/* Merge two partial accumulators (x^2, |x| already applied). */
static inline double merge_d(int op, double a, double b)
{
    switch (op) {
    case R_PROD: return a * b;
    case R_MAX: return (b > a || b != b) ? b : a;
    case R_MIN: return (b < a || b != b) ? b : a;
    default: return a + b;
    }
}

static inline int64_t merge_i(int op, int64_t a, int64_t b)
{
    switch (op) {
    case R_PROD: return (int64_t)((uint64_t)a * (uint64_t)b);
    case R_MAX: return b > a ? b : a;
    case R_MIN: return b < a ? b : a;
    default: return (int64_t)((uint64_t)a + (uint64_t)b);
    }
}

/* red_rows: fold nr rows (step sr) of `cols` contiguous values into acc[] (or,
 * for LogSumExp, into the maxima mx[] in phase 0 and the sums se[] in phase 1).
 * A single contiguous run (cols == 1, sr == 1) uses four partial accumulators
 * so that the loop is not bound by the latency of one dependency chain.
 *
 * red_run: one task = one kept block ko and up to RED_CHUNK columns of the
 * inner run; every task writes its own outputs. */
#define DEF_RED(SUF, T, ACC, COMB, MERGE, FIN, LOWEST, HIGHEST)                           \
    static void red_rows_##SUF(int op, int phase, const T *xb, int64_t nr, int64_t sr,     \
                               int64_t cols, ACC *acc, double *mx, double *se)             \
    {                                                                                      \
        if (op == R_LOGSUMEXP) {                                                           \
            for (int64_t j = 0; j < nr; j++) {                                             \
                const T *xr = xb + j * sr;                                                 \
                if (phase == 0)                                                            \
                    for (int64_t c = 0; c < cols; c++)                                     \
                        mx[c] = (double)xr[c] > mx[c] ? (double)xr[c] : mx[c];             \
                else                                                                       \
                    for (int64_t c = 0; c < cols; c++)                                     \
                        se[c] += exp((double)xr[c] - mx[c]);                               \
            }                                                                              \
            return;                                                                        \
        }                                                                                  \
        if (cols == 1 && sr == 1) {                                                        \
            ACC id = op == R_PROD ? 1 : op == R_MAX ? LOWEST : op == R_MIN ? HIGHEST : 0;   \
            ACC a0 = acc[0], a1 = id, a2 = id, a3 = id;                                    \
            int64_t j = 0;                                                                 \
            for (; j + 4 <= nr; j += 4) {                                                  \
                a0 = COMB(op, a0, (ACC)xb[j]);                                             \
                a1 = COMB(op, a1, (ACC)xb[j + 1]);                                         \
                a2 = COMB(op, a2, (ACC)xb[j + 2]);                                         \
                a3 = COMB(op, a3, (ACC)xb[j + 3]);                                         \
            }                                                                              \
            for (; j < nr; j++)                                                            \
                a0 = COMB(op, a0, (ACC)xb[j]);                                             \
            acc[0] = MERGE(op, MERGE(op, a0, a1), MERGE(op, a2, a3));                      \
            return;                                                                        \
        }                                                                                  \
        for (int64_t j = 0; j < nr; j++) {                                                 \
            const T *xr = xb + j * sr;                                                     \
            for (int64_t c = 0; c < cols; c++)                                             \
                acc[c] = COMB(op, acc[c], (ACC)xr[c]);                                     \
        }                                                                                  \
    }                                                                                      \
    static void red_run_##SUF(int op, const red_plan *p, const T *x, T *y, int threads)    \
    {                                                                                      \
        int64_t inner = p->inner, chunks = (inner + RED_CHUNK - 1) / RED_CHUNK;            \
        int64_t tasks = p->n_kept * chunks;                                                \
        int64_t nr = p->rd[p->nr - 1], sr = p->rs[p->nr - 1];                              \
        int phases = op == R_LOGSUMEXP ? 2 : 1;                                            \
        _Pragma("omp parallel for num_threads(threads) if (p->out_numel * p->count > 32768)") \
        for (int64_t t = 0; t < tasks; t++) {                                              \
            ACC acc[RED_CHUNK];                                                            \
            double mx[RED_CHUNK], se[RED_CHUNK];                                           \
            int64_t ko = t / chunks, c0 = (t % chunks) * RED_CHUNK;                        \
            int64_t cols = inner - c0 < RED_CHUNK ? inner - c0 : RED_CHUNK;                \
            const T *xk = x + red_offset(p->nk, p->kd, p->ks, ko) + c0;                    \
            ACC id = op == R_PROD ? 1 : op == R_MAX ? LOWEST : op == R_MIN ? HIGHEST : 0;   \
            for (int64_t c = 0; c < cols; c++) {                                           \
                acc[c] = id;                                                               \
                mx[c] = -INFINITY;                                                         \
                se[c] = 0.0;                                                               \
            }                                                                              \
            for (int ph = 0; ph < phases; ph++)                                            \
                for (int64_t r = 0; r < p->n_outer_red; r++)                               \
                    red_rows_##SUF(op, ph, xk + red_offset(p->nr - 1, p->rd, p->rs, r), nr, \
                                   sr, cols, acc, mx, se);                                 \
            T *yk = y + ko * inner + c0;                                                   \
            for (int64_t c = 0; c < cols; c++)                                             \
                yk[c] = (T)FIN(op, acc[c], mx[c], se[c], p->count);                        \
        }                                                                                  \
    }

DEF_RED(f32, float, double, comb_d, merge_d, fin_d, -INFINITY, INFINITY)
DEF_RED(f64, double, double, comb_d, merge_d, fin_d, -INFINITY, INFINITY)
DEF_RED(i32, int32_t, int64_t, comb_i, merge_i, fin_i, INT64_MIN, INT64_MAX)
DEF_RED(i64, int64_t, int64_t, comb_i, merge_i, fin_i, INT64_MIN, INT64_MAX)
DEF_RED(i8, int8_t, int64_t, comb_i, merge_i, fin_i, INT64_MIN, INT64_MAX)
DEF_RED(u8, uint8_t, int64_t, comb_i, merge_i, fin_i, INT64_MIN, INT64_MAX)

/* Value of a reduction over an empty set, written to every output. */
static void red_fill_empty(int op, odet_tensor *y, int64_t n)
{
    int is_float = odet_dtype_is_float(y->dtype);
    double v = 0.0;
    switch (op) {
    case R_PROD: v = 1.0; break;
    case R_MEAN: v = is_float ? NAN : 0.0; break;
    case R_MAX:
    case R_LOGSUM:
    case R_LOGSUMEXP: v = -INFINITY; break;
    case R_MIN: v = INFINITY; break;
    default: break;
    }
    for (int64_t i = 0; i < n; i++) {
        switch (y->dtype) {
        case ODET_FLOAT: ((float *)y->data)[i] = (float)v; break;
        case ODET_DOUBLE: ((double *)y->data)[i] = v; break;
        case ODET_INT32: ((int32_t *)y->data)[i] = v < 0 && isinf(v) ? INT32_MIN
                                                   : v > 0 && isinf(v) ? INT32_MAX : (int32_t)v;
            break;
        case ODET_INT64: ((int64_t *)y->data)[i] = v < 0 && isinf(v) ? INT64_MIN
                                                   : v > 0 && isinf(v) ? INT64_MAX : (int64_t)v;
            break;
        case ODET_INT8: ((int8_t *)y->data)[i] = v < 0 && isinf(v) ? INT8_MIN
                                                 : v > 0 && isinf(v) ? INT8_MAX : (int8_t)v;
            break;
        case ODET_UINT8: ((uint8_t *)y->data)[i] = v < 0 && isinf(v) ? 0
                                                   : v > 0 && isinf(v) ? UINT8_MAX : (uint8_t)v;
            break;
        default: break;
        }
    }
}

static odet_status red_run(odet_op_ctx *ctx)
{
    const red_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    red_plan rp = {0};
    odet_status st = red_plan_of(ctx, &rp);
    if (st != ODET_OK)
        return st;
    if (rp.out_numel == 0)
        return ODET_OK;
    if (rp.count == 0) {
        red_fill_empty(p->op, y, rp.out_numel);
        return ODET_OK;
    }
    switch (x->dtype) {
    case ODET_FLOAT: red_run_f32(p->op, &rp, x->data, y->data, ctx->threads); break;
    case ODET_DOUBLE: red_run_f64(p->op, &rp, x->data, y->data, ctx->threads); break;
    case ODET_INT32: red_run_i32(p->op, &rp, x->data, y->data, ctx->threads); break;
    case ODET_INT64: red_run_i64(p->op, &rp, x->data, y->data, ctx->threads); break;
    case ODET_INT8: red_run_i8(p->op, &rp, x->data, y->data, ctx->threads); break;
    case ODET_UINT8: red_run_u8(p->op, &rp, x->data, y->data, ctx->threads); break;
    default:
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* ArgMax / ArgMin                                                            */
/* ------------------------------------------------------------------------ */

typedef struct arg_params {
    int is_max;
    int keepdims;
    int select_last;
    int64_t axis;
} arg_params;

static odet_status arg_prepare(odet_node *node, char *err, size_t errlen)
{
    arg_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->is_max = strcmp(node->op_type, "ArgMax") == 0;
    p->keepdims = odet_attr_int(node, "keepdims", 1) != 0;
    p->select_last = odet_attr_int(node, "select_last_index", 0) != 0;
    p->axis = odet_attr_int(node, "axis", 0);
    node->params = p;
    return ODET_OK;
}

static odet_status arg_axis(const odet_op_ctx *ctx, int *axis)
{
    const arg_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    if (odet_norm_axis(p->axis, x->rank, axis) != 0)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)p->axis, x->rank);
    return ODET_OK;
}

static odet_status arg_infer(odet_op_ctx *ctx)
{
    const arg_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    if (!red_dtype_ok(x->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    int axis;
    odet_status st = arg_axis(ctx, &axis);
    if (st != ODET_OK)
        return st;
    if (x->dims[axis] == 0 &&
        odet_dims_prod(x->dims, 0, axis) * odet_dims_prod(x->dims, axis + 1, x->rank) > 0)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "cannot take %s over an empty axis %d",
                            p->is_max ? "ArgMax" : "ArgMin", axis);
    int64_t dims[ODET_MAX_RANK];
    int r = 0;
    for (int d = 0; d < x->rank; d++) {
        if (d != axis)
            dims[r++] = x->dims[d];
        else if (p->keepdims)
            dims[r++] = 1;
    }
    odet_set_shape(ctx->out[0], ODET_INT64, r, dims);
    return ODET_OK;
}

/* Columns [0, cols) of an (n, inner) block; first (or last) extreme index wins. */
#define DEF_ARG(SUF, T)                                                                   \
    static void arg_cols_##SUF(const T *x, int64_t *y, int64_t n, int64_t inner,           \
                               int64_t cols, int is_max, int last)                         \
    {                                                                                      \
        T best[RED_CHUNK];                                                                 \
        int64_t bi[RED_CHUNK];                                                             \
        for (int64_t c = 0; c < cols; c++) {                                               \
            best[c] = x[c];                                                                \
            bi[c] = 0;                                                                     \
        }                                                                                  \
        for (int64_t j = 1; j < n; j++) {                                                  \
            const T *xr = x + j * inner;                                                   \
            for (int64_t c = 0; c < cols; c++) {                                           \
                T v = xr[c];                                                               \
                int better = is_max ? v > best[c] : v < best[c];                           \
                if (better || (last && v == best[c])) {                                    \
                    best[c] = v;                                                           \
                    bi[c] = j;                                                             \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
        for (int64_t c = 0; c < cols; c++)                                                 \
            y[c] = bi[c];                                                                  \
    }

DEF_ARG(f32, float)
DEF_ARG(f64, double)
DEF_ARG(i32, int32_t)
DEF_ARG(i64, int64_t)
DEF_ARG(i8, int8_t)
DEF_ARG(u8, uint8_t)

static odet_status arg_run(odet_op_ctx *ctx)
{
    const arg_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    int64_t *y = (int64_t *)ctx->out[0]->data;
    int axis;
    odet_status st = arg_axis(ctx, &axis);
    if (st != ODET_OK)
        return st;
    int64_t outer = odet_dims_prod(x->dims, 0, axis), n = x->dims[axis];
    int64_t inner = odet_dims_prod(x->dims, axis + 1, x->rank);
    if (outer == 0 || inner == 0)
        return ODET_OK;
    if (n == 0)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "cannot reduce over an empty axis %d", axis);
    int64_t chunks = (inner + RED_CHUNK - 1) / RED_CHUNK, tasks = outer * chunks;
    size_t es = odet_dtype_size(x->dtype);
    const char *xd = (const char *)x->data;
#pragma omp parallel for num_threads(ctx->threads) if (outer * n * inner > 32768)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / chunks, c0 = (t % chunks) * RED_CHUNK;
        int64_t cols = inner - c0 < RED_CHUNK ? inner - c0 : RED_CHUNK;
        const void *xb = xd + (size_t)(o * n * inner + c0) * es;
        int64_t *yb = y + o * inner + c0;
        switch (x->dtype) {
        case ODET_FLOAT: arg_cols_f32(xb, yb, n, inner, cols, p->is_max, p->select_last); break;
        case ODET_DOUBLE: arg_cols_f64(xb, yb, n, inner, cols, p->is_max, p->select_last); break;
        case ODET_INT32: arg_cols_i32(xb, yb, n, inner, cols, p->is_max, p->select_last); break;
        case ODET_INT64: arg_cols_i64(xb, yb, n, inner, cols, p->is_max, p->select_last); break;
        case ODET_INT8: arg_cols_i8(xb, yb, n, inner, cols, p->is_max, p->select_last); break;
        case ODET_UINT8: arg_cols_u8(xb, yb, n, inner, cols, p->is_max, p->select_last); break;
        default: break;
        }
    }
    return ODET_OK;
}

#define RED_ATTR(NAME) \
    {.op_type = NAME, .domain = "", .min_opset = 1, .prepare = red_prepare, \
     .infer = red_infer, .run = red_run}
#define RED_INPUT(NAME, V) \
    {.op_type = NAME, .domain = "", .min_opset = V, .data_inputs = 1u << 1, \
     .prepare = red_prepare, .infer = red_infer, .run = red_run}

const odet_op_def odet_ops_reduce[] = {
    RED_ATTR("ReduceSum"),          RED_INPUT("ReduceSum", 13),
    RED_ATTR("ReduceMean"),         RED_INPUT("ReduceMean", 18),
    RED_ATTR("ReduceMax"),          RED_INPUT("ReduceMax", 18),
    RED_ATTR("ReduceMin"),          RED_INPUT("ReduceMin", 18),
    RED_ATTR("ReduceProd"),         RED_INPUT("ReduceProd", 18),
    RED_ATTR("ReduceL1"),           RED_INPUT("ReduceL1", 18),
    RED_ATTR("ReduceL2"),           RED_INPUT("ReduceL2", 18),
    RED_ATTR("ReduceLogSum"),       RED_INPUT("ReduceLogSum", 18),
    RED_ATTR("ReduceLogSumExp"),    RED_INPUT("ReduceLogSumExp", 18),
    RED_ATTR("ReduceSumSquare"),    RED_INPUT("ReduceSumSquare", 18),
    {.op_type = "ArgMax", .domain = "", .min_opset = 1, .prepare = arg_prepare,
     .infer = arg_infer, .run = arg_run},
    {.op_type = "ArgMin", .domain = "", .min_opset = 1, .prepare = arg_prepare,
     .infer = arg_infer, .run = arg_run},
    {0},
};
