/* Shape and data-movement operators.
 *
 * Views (output 0 is input 0's bytes; the runtime aliases them):
 *   Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference).
 * Copies: Transpose, Concat, Split, Slice, Expand, Tile, Pad.
 *
 * Everything here is dtype-generic: elements move as 1/2/4/8-byte words, so
 * every fixed-size dtype (bool, [u]int8..64, float16, float, double) works.
 * Transpose, Slice, Expand and Tile are all one strided N-D copy (nd_copy)
 * with different source strides (permuted, stepped, zero, doubled rank). */
#include <stdlib.h>
#include <string.h>

#include "ops/elem.h"
#include "ops/op.h"

#define MAXR ODET_MAX_RANK
/* Copies smaller than this stay on one thread. */
#define PAR_BYTES ((int64_t)1 << 17)

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static const odet_tensor *in_at(const odet_op_ctx *ctx, int i)
{
    return i < ctx->n_in ? ctx->in[i] : NULL;
}

static odet_tensor *out_at(const odet_op_ctx *ctx, int i)
{
    return i < ctx->n_out ? ctx->out[i] : NULL;
}

/* Required input i; fails with a message naming it when absent. */
static odet_status need_in(const odet_op_ctx *ctx, int i, const char *name,
                           const odet_tensor **t)
{
    *t = in_at(ctx, i);
    if (!*t)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "missing required input %d '%s'", i,
                            name);
    return ODET_OK;
}

/* Element size of a tensor's dtype; 0 (with the message set) when it has none. */
static size_t elem_size(const odet_op_ctx *ctx, const odet_tensor *t, const char *name)
{
    size_t es = odet_dtype_size(t->dtype);
    if (es == 0)
        odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "input '%s': dtype %s is not supported", name,
                     odet_dtype_name(t->dtype));
    return es;
}

/* Reads a 0-D/1-D integer input into v[0..max); sets *n. */
static odet_status read_int_list(const odet_op_ctx *ctx, const odet_tensor *t, int idx,
                                 const char *name, int64_t *v, int max, int *n)
{
    if (t->rank > 1 || !odet_dtype_is_int(t->dtype))
        return odet_op_fail(ctx, ODET_ERR_DTYPE,
                            "input %d '%s' must be a 1-D integer tensor, got %s rank %d", idx,
                            name, odet_dtype_name(t->dtype), t->rank);
    int k = odet_tensor_read_ints(t, v, max);
    if (k < 0)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input %d '%s' has %lld elements, at most %d are supported", idx,
                            name, (long long)odet_tensor_numel(t), max);
    *n = k;
    return ODET_OK;
}

/* Checks that an output shape is allocatable. */
static odet_status check_numel(const odet_op_ctx *ctx, int rank, const int64_t *dims)
{
    if (odet_dims_numel_checked(rank, dims) < 0)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "output shape is negative or too large");
    return ODET_OK;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Same dtype and dims as `src`. */
static void set_like(odet_tensor *t, const odet_tensor *src)
{
    odet_set_shape(t, src->dtype, src->rank, src->dims);
}

/* ------------------------------------------------------------------ */
/* strided N-D copy                                                    */
/* ------------------------------------------------------------------ */

/* dst[sum i_k os_k] = src[sum i_k is_k] over the index box dims. Strides are in
 * elements; source strides may be 0 (broadcast) or negative (reversed slice). */
typedef struct nd_copy {
    int rank;
    int64_t dims[2 * MAXR];
    int64_t is[2 * MAXR];
    int64_t os[2 * MAXR];
} nd_copy;

/* Drops unit axes and merges axes that are contiguous in both source and
 * destination. Only valid for a non-empty box. */
static void nd_simplify(nd_copy *p)
{
    int r = 0;
    for (int k = 0; k < p->rank; k++) {
        if (p->dims[k] == 1)
            continue;
        p->dims[r] = p->dims[k];
        p->is[r] = p->is[k];
        p->os[r] = p->os[k];
        r++;
    }
    int m = 0;
    for (int k = 0; k < r; k++) {
        if (m > 0 && p->is[m - 1] == p->is[k] * p->dims[k] &&
            p->os[m - 1] == p->os[k] * p->dims[k]) {
            p->dims[m - 1] *= p->dims[k];
            p->is[m - 1] = p->is[k];
            p->os[m - 1] = p->os[k];
            continue;
        }
        p->dims[m] = p->dims[k];
        p->is[m] = p->is[k];
        p->os[m] = p->os[k];
        m++;
    }
    p->rank = m;
}

#define ROW_LOOP(ES)                                                          \
    for (int64_t i = 0; i < n; i++)                                           \
        memcpy(dst + i * os * (ES), src + i * is * (ES), (ES))

/* n elements, strides in elements. */
static void row_copy(char *dst, int64_t os, const char *src, int64_t is, int64_t n, size_t es)
{
    if (is == 1 && os == 1) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    if (is == 0 && os == 1 && es == 1) {
        memset(dst, (unsigned char)src[0], (size_t)n);
        return;
    }
    switch (es) {
    case 1: ROW_LOOP(1); break;
    case 2: ROW_LOOP(2); break;
    case 4: ROW_LOOP(4); break;
    case 8: ROW_LOOP(8); break;
    default: ROW_LOOP(es); break;
    }
}

/* Offsets of multi-index `lin` (over dims[0..r)) in both stride sets. */
static void nd_offsets(const nd_copy *p, int r, int64_t lin, int64_t *idx, int64_t *so,
                       int64_t *doff)
{
    *so = 0;
    *doff = 0;
    for (int k = r - 1; k >= 0; k--) {
        idx[k] = lin % p->dims[k];
        lin /= p->dims[k];
        *so += idx[k] * p->is[k];
        *doff += idx[k] * p->os[k];
    }
}

/* Row-wise copy: outer axes walked by an odometer, the innermost by row_copy.
 * Rows are split into contiguous blocks, one block per work item. */
static void nd_run_rows(const nd_copy *p, char *dst, const char *src, size_t es, int threads)
{
    int r = p->rank;
    int64_t n = p->dims[r - 1];
    int64_t rows = odet_dims_prod(p->dims, 0, r - 1);
    int64_t nblk = 1;
    if (threads > 1 && rows > 1 && rows * n * (int64_t)es >= PAR_BYTES)
        nblk = rows < 4 * (int64_t)threads ? rows : 4 * (int64_t)threads;
#pragma omp parallel for num_threads(threads) if (nblk > 1) schedule(static)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t r0 = rows * b / nblk, r1 = rows * (b + 1) / nblk;
        int64_t idx[2 * MAXR], so, doff;
        nd_offsets(p, r - 1, r0, idx, &so, &doff);
        for (int64_t row = r0; row < r1; row++) {
            row_copy(dst + doff * (int64_t)es, p->os[r - 1], src + so * (int64_t)es,
                     p->is[r - 1], n, es);
            for (int k = r - 2; k >= 0; k--) {
                so += p->is[k];
                doff += p->os[k];
                if (++idx[k] < p->dims[k])
                    break;
                so -= p->is[k] * p->dims[k];
                doff -= p->os[k] * p->dims[k];
                idx[k] = 0;
            }
        }
    }
}

/* 2-D transpose of the block [i0, i1) x [j0, j1): dst[i*dsi + j] = src[i + j*ssj].
 * 8x8 sub-blocks go through a local array (registers / L1), so each touches only
 * eight source and eight destination lines even when strides alias in cache. */
#define TILE 64
#define DEFINE_TILE_COPY(NAME, T)                                                          \
    static void NAME(char *dst, int64_t dsi, const char *src, int64_t ssj, int64_t i0,     \
                     int64_t i1, int64_t j0, int64_t j1)                                   \
    {                                                                                      \
        const int64_t es = (int64_t)sizeof(T);                                             \
        int64_t ib = i0;                                                                   \
        for (; ib + 8 <= i1; ib += 8) {                                                    \
            int64_t jb = j0;                                                               \
            for (; jb + 8 <= j1; jb += 8) {                                                \
                T t[8][8];                                                                 \
                for (int jj = 0; jj < 8; jj++)                                             \
                    for (int ii = 0; ii < 8; ii++)                                         \
                        memcpy(&t[ii][jj], src + (ib + ii + (jb + jj) * ssj) * es, sizeof(T)); \
                for (int ii = 0; ii < 8; ii++)                                             \
                    memcpy(dst + ((ib + ii) * dsi + jb) * es, t[ii], sizeof t[ii]);        \
            }                                                                              \
            for (; jb < j1; jb++)                                                          \
                for (int64_t i = ib; i < ib + 8; i++)                                      \
                    memcpy(dst + (i * dsi + jb) * es, src + (i + jb * ssj) * es, sizeof(T)); \
        }                                                                                  \
        for (; ib < i1; ib++)                                                              \
            for (int64_t j = j0; j < j1; j++)                                              \
                memcpy(dst + (ib * dsi + j) * es, src + (ib + j * ssj) * es, sizeof(T));   \
    }

DEFINE_TILE_COPY(tile_copy1, uint8_t)
DEFINE_TILE_COPY(tile_copy2, uint16_t)
DEFINE_TILE_COPY(tile_copy4, uint32_t)
DEFINE_TILE_COPY(tile_copy8, uint64_t)

static void tile_copy(char *dst, int64_t dsi, const char *src, int64_t ssj, int64_t i0,
                      int64_t i1, int64_t j0, int64_t j1, size_t es)
{
    switch (es) {
    case 1: tile_copy1(dst, dsi, src, ssj, i0, i1, j0, j1); break;
    case 2: tile_copy2(dst, dsi, src, ssj, i0, i1, j0, j1); break;
    case 4: tile_copy4(dst, dsi, src, ssj, i0, i1, j0, j1); break;
    default: tile_copy8(dst, dsi, src, ssj, i0, i1, j0, j1); break;
    }
}

/* Copy where the destination's innermost axis `a` is strided in the source and
 * another axis `b` is the source's contiguous one: walk (b, a) in square tiles so
 * both sides stay in cache. Other axes are batch axes. */
static void nd_run_tiled(const nd_copy *p, int b, char *dst, const char *src, size_t es,
                         int threads)
{
    int r = p->rank, a = r - 1;
    nd_copy outer = {0};
    for (int k = 0; k < r; k++) {
        if (k == a || k == b)
            continue;
        outer.dims[outer.rank] = p->dims[k];
        outer.is[outer.rank] = p->is[k];
        outer.os[outer.rank] = p->os[k];
        outer.rank++;
    }
    int64_t nouter = odet_dims_prod(outer.dims, 0, outer.rank);
    int64_t ni = p->dims[b], nj = p->dims[a];
    int64_t nti = (ni + TILE - 1) / TILE;
    int64_t work = nouter * nti;
    int par = threads > 1 && work > 1 && nouter * ni * nj * (int64_t)es >= PAR_BYTES;
#pragma omp parallel for num_threads(threads) if (par) schedule(static)
    for (int64_t w = 0; w < work; w++) {
        int64_t idx[2 * MAXR], so, doff;
        nd_offsets(&outer, outer.rank, w / nti, idx, &so, &doff);
        int64_t i0 = (w % nti) * TILE, i1 = i0 + TILE < ni ? i0 + TILE : ni;
        for (int64_t j0 = 0; j0 < nj; j0 += TILE) {
            int64_t j1 = j0 + TILE < nj ? j0 + TILE : nj;
            tile_copy(dst + doff * (int64_t)es, p->os[b], src + so * (int64_t)es, p->is[a], i0,
                      i1, j0, j1, es);
        }
    }
}

/* Runs a copy whose destination is dense row-major (os filled here). */
static void nd_copy_dense(nd_copy *p, char *dst, const char *src, size_t es, int threads)
{
    if (odet_dims_prod(p->dims, 0, p->rank) == 0)
        return;
    int64_t s = 1;
    for (int k = p->rank - 1; k >= 0; k--) {
        p->os[k] = s;
        s *= p->dims[k];
    }
    nd_simplify(p);
    if (p->rank == 0) {
        memcpy(dst, src, es);
        return;
    }
    if (p->is[p->rank - 1] != 1 && p->is[p->rank - 1] != 0) {
        for (int k = 0; k < p->rank - 1; k++) {
            if (p->is[k] == 1 && p->dims[p->rank - 1] >= 4) {
                nd_run_tiled(p, k, dst, src, es, threads);
                return;
            }
        }
    }
    nd_run_rows(p, dst, src, es, threads);
}

/* ------------------------------------------------------------------ */
/* Reshape                                                             */
/* ------------------------------------------------------------------ */

typedef struct reshape_params {
    int allowzero;
    int n_shape;           /* opset < 5: the `shape` attribute */
    int64_t shape[MAXR];
} reshape_params;

static odet_status reshape_prepare(odet_node *node, char *err, size_t errlen)
{
    reshape_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->allowzero = odet_attr_int(node, "allowzero", 0) != 0;
    if (node->opset < 5) {
        size_t n = 0;
        const int64_t *s = odet_attr_ints(node, "shape", &n);
        if (!s || n > MAXR) {
            free(p);
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "attribute 'shape' must hold 0..%d values", MAXR);
        }
        memcpy(p->shape, s, n * sizeof *s);
        p->n_shape = (int)n;
    }
    node->params = p;
    return ODET_OK;
}

/* Resolves 0 (copy the input dim unless allowzero) and -1 (inferred). */
static odet_status reshape_dims(const odet_op_ctx *ctx, const odet_tensor *x,
                                const int64_t *shape, int n, int allowzero, int64_t *out)
{
    int neg = -1;
    for (int i = 0; i < n; i++) {
        int64_t v = shape[i];
        if (v == 0 && !allowzero) {
            if (i >= x->rank)
                return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                    "shape[%d] = 0 copies a dim the rank-%d input lacks", i,
                                    x->rank);
            out[i] = x->dims[i];
        } else if (v == -1) {
            if (neg >= 0)
                return odet_op_fail(ctx, ODET_ERR_SHAPE, "shape has more than one -1");
            neg = i;
            out[i] = 1;
        } else if (v < 0) {
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "shape[%d] = %lld is invalid", i,
                                (long long)v);
        } else {
            out[i] = v;
        }
    }
    int64_t known = odet_dims_numel_checked(n, out);
    int64_t total = odet_tensor_numel(x);
    if (known < 0)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "shape is too large");
    if (neg >= 0) {
        if (known == 0 || total % known != 0)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "cannot infer the -1 dim: %lld elements into a multiple of %lld",
                                (long long)total, (long long)known);
        out[neg] = total / known;
    } else if (known != total) {
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "cannot reshape %lld elements into a shape of %lld elements",
                            (long long)total, (long long)known);
    }
    return ODET_OK;
}

static odet_status reshape_infer(odet_op_ctx *ctx)
{
    const reshape_params *p = ctx->params;
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    int64_t shape[MAXR], dims[MAXR];
    int n = p->n_shape;
    if (ctx->node->opset >= 5) {
        const odet_tensor *s;
        if ((st = need_in(ctx, 1, "shape", &s)) ||
            (st = read_int_list(ctx, s, 1, "shape", shape, MAXR, &n)))
            return st;
    } else {
        memcpy(shape, p->shape, sizeof shape);
    }
    if ((st = reshape_dims(ctx, x, shape, n, p->allowzero, dims)))
        return st;
    odet_set_shape(out_at(ctx, 0), x->dtype, n, dims);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Flatten                                                             */
/* ------------------------------------------------------------------ */

static odet_status flatten_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "input", &x);
    if (st)
        return st;
    int64_t axis = odet_attr_int(ctx->node, "axis", 1);
    if (axis < -(int64_t)x->rank || axis > x->rank)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)axis, x->rank);
    int a = (int)(axis < 0 ? axis + x->rank : axis);
    int64_t dims[2] = {odet_dims_prod(x->dims, 0, a), odet_dims_prod(x->dims, a, x->rank)};
    odet_set_shape(out_at(ctx, 0), x->dtype, 2, dims);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Squeeze / Unsqueeze                                                 */
/* ------------------------------------------------------------------ */

/* Axes from the attribute (opset < 13) or from input 1 (opset >= 13).
 * *n = -1 when absent. */
static odet_status axes_get(const odet_op_ctx *ctx, int64_t *axes, int *n)
{
    *n = -1;
    if (ctx->node->opset < 13) {
        size_t cnt = 0;
        const int64_t *a = odet_attr_ints(ctx->node, "axes", &cnt);
        if (!a)
            return ODET_OK;
        if (cnt > 2 * MAXR)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "too many axes (%zu)", cnt);
        memcpy(axes, a, cnt * sizeof *a);
        *n = (int)cnt;
        return ODET_OK;
    }
    const odet_tensor *t = in_at(ctx, 1);
    if (!t)
        return ODET_OK;
    return read_int_list(ctx, t, 1, "axes", axes, 2 * MAXR, n);
}

static odet_status squeeze_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    int64_t axes[2 * MAXR];
    int n;
    if ((st = axes_get(ctx, axes, &n)))
        return st;
    int drop[MAXR] = {0};
    if (n < 0) {
        for (int k = 0; k < x->rank; k++)
            drop[k] = x->dims[k] == 1;
    }
    for (int i = 0; i < n; i++) {
        int a;
        if (odet_norm_axis(axes[i], x->rank, &a))
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "axis %lld is out of range for rank %d", (long long)axes[i],
                                x->rank);
        if (drop[a])
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %d is repeated", a);
        if (x->dims[a] != 1)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "cannot squeeze axis %d of size %lld", a,
                                (long long)x->dims[a]);
        drop[a] = 1;
    }
    int64_t dims[MAXR];
    int r = 0;
    for (int k = 0; k < x->rank; k++)
        if (!drop[k])
            dims[r++] = x->dims[k];
    odet_set_shape(out_at(ctx, 0), x->dtype, r, dims);
    return ODET_OK;
}

static odet_status unsqueeze_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    int64_t axes[2 * MAXR];
    int n;
    if ((st = axes_get(ctx, axes, &n)))
        return st;
    if (n < 0)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "'axes' is required");
    int r = x->rank + n;
    if (r > MAXR)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, MAXR);
    int ins[MAXR] = {0};
    for (int i = 0; i < n; i++) {
        int a;
        if (odet_norm_axis(axes[i], r, &a))
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "axis %lld is out of range for output rank %d",
                                (long long)axes[i], r);
        if (ins[a])
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %d is repeated", a);
        ins[a] = 1;
    }
    int64_t dims[MAXR];
    for (int k = 0, j = 0; k < r; k++)
        dims[k] = ins[k] ? 1 : x->dims[j++];
    odet_set_shape(out_at(ctx, 0), x->dtype, r, dims);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Identity, Dropout                                                   */
/* ------------------------------------------------------------------ */

static odet_status identity_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "input", &x);
    if (st)
        return st;
    if (odet_dtype_size(x->dtype) == 0)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    set_like(out_at(ctx, 0), x);
    return ODET_OK;
}

static double scalar_f64(const odet_tensor *t)
{
    if (t->dtype == ODET_FLOAT16) {
        uint16_t h;
        memcpy(&h, t->data, 2);
        return odet_f16_to_f32(h);
    }
    return odet_tensor_get_f64(t, 0);
}

static odet_status dropout_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    if (odet_dtype_size(x->dtype) == 0)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    const odet_tensor *tm = ctx->node->opset >= 12 ? in_at(ctx, 2) : NULL;
    if (tm && odet_tensor_numel(tm) >= 1 && odet_tensor_get_i64(tm, 0) != 0) {
        const odet_tensor *ratio = in_at(ctx, 1);
        double r = ratio && odet_tensor_numel(ratio) >= 1 ? scalar_f64(ratio) : 0.5;
        if (r != 0.0)
            return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                                "training_mode with ratio %g is not supported (inference only)",
                                r);
    }
    set_like(out_at(ctx, 0), x);
    /* The mask is bool from opset 10; before, it has the data's type. */
    odet_set_shape(out_at(ctx, 1), ctx->node->opset >= 10 ? ODET_BOOL : x->dtype, x->rank,
                   x->dims);
    return ODET_OK;
}

/* Output 0 is aliased by the runtime; only the all-kept mask is written. */
static odet_status dropout_run(odet_op_ctx *ctx)
{
    odet_tensor *mask = out_at(ctx, 1);
    if (!mask)
        return ODET_OK;
    int64_t n = odet_tensor_numel(mask);
    size_t es = odet_dtype_size(mask->dtype);
    unsigned char one[8];
    odet_elem_store_f64(one, mask->dtype, 1.0);
    char *d = mask->data;
    for (int64_t i = 0; i < n; i++)
        memcpy(d + i * (int64_t)es, one, es);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Transpose                                                           */
/* ------------------------------------------------------------------ */

typedef struct transpose_params {
    int n_perm; /* 0: reverse the axes */
    int perm[MAXR];
} transpose_params;

static odet_status transpose_prepare(odet_node *node, char *err, size_t errlen)
{
    transpose_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    size_t n = 0;
    const int64_t *perm = odet_attr_ints(node, "perm", &n);
    if (perm) {
        int seen[MAXR] = {0};
        if (n > MAXR) {
            free(p);
            return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                                  "perm has %zu entries, at most %d are supported", n, MAXR);
        }
        for (size_t i = 0; i < n; i++) {
            if (perm[i] < 0 || perm[i] >= (int64_t)n || seen[perm[i]]) {
                free(p);
                return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                      "perm is not a permutation of 0..%zu", n - 1);
            }
            seen[perm[i]] = 1;
            p->perm[i] = (int)perm[i];
        }
        p->n_perm = (int)n;
    }
    node->params = p;
    return ODET_OK;
}

static void transpose_perm(const transpose_params *p, int rank, int *perm)
{
    for (int i = 0; i < rank; i++)
        perm[i] = p->n_perm ? p->perm[i] : rank - 1 - i;
}

static odet_status transpose_infer(odet_op_ctx *ctx)
{
    const transpose_params *p = ctx->params;
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    if (!elem_size(ctx, x, "data"))
        return ODET_ERR_UNSUPPORTED;
    if (p->n_perm && p->n_perm != x->rank)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "perm has %d entries but the input has rank %d",
                            p->n_perm, x->rank);
    int perm[MAXR];
    int64_t dims[MAXR];
    transpose_perm(p, x->rank, perm);
    for (int i = 0; i < x->rank; i++)
        dims[i] = x->dims[perm[i]];
    odet_set_shape(out_at(ctx, 0), x->dtype, x->rank, dims);
    return ODET_OK;
}

static odet_status transpose_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int perm[MAXR];
    int64_t istr[MAXR];
    transpose_perm(ctx->params, x->rank, perm);
    odet_strides(x->rank, x->dims, istr);
    nd_copy c = {.rank = x->rank};
    for (int i = 0; i < x->rank; i++) {
        c.dims[i] = x->dims[perm[i]];
        c.is[i] = istr[perm[i]];
    }
    nd_copy_dense(&c, y->data, x->data, odet_dtype_size(x->dtype), ctx->threads);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Concat                                                              */
/* ------------------------------------------------------------------ */

static odet_status concat_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x0;
    odet_status st = need_in(ctx, 0, "inputs", &x0);
    if (st)
        return st;
    if (!elem_size(ctx, x0, "inputs"))
        return ODET_ERR_UNSUPPORTED;
    /* opset 1 defaulted axis to 1; later versions require it. */
    int64_t axis = odet_attr_int(ctx->node, "axis", ctx->node->opset < 4 ? 1 : INT64_MIN);
    if (axis == INT64_MIN)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "attribute 'axis' is required");
    int a;
    if (odet_norm_axis(axis, x0->rank, &a))
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)axis, x0->rank);
    int64_t dims[MAXR];
    memcpy(dims, x0->dims, sizeof dims);
    for (int i = 1; i < ctx->n_in; i++) {
        const odet_tensor *t;
        if ((st = need_in(ctx, i, "inputs", &t)))
            return st;
        if (t->dtype != x0->dtype)
            return odet_op_fail(ctx, ODET_ERR_DTYPE, "input %d is %s, input 0 is %s", i,
                                odet_dtype_name(t->dtype), odet_dtype_name(x0->dtype));
        if (t->rank != x0->rank)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "input %d has rank %d, input 0 rank %d", i,
                                t->rank, x0->rank);
        for (int k = 0; k < t->rank; k++) {
            if (k != a && t->dims[k] != x0->dims[k])
                return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                    "input %d dim %d is %lld, input 0 has %lld", i, k,
                                    (long long)t->dims[k], (long long)x0->dims[k]);
        }
        dims[a] += t->dims[a];
    }
    odet_set_shape(out_at(ctx, 0), x0->dtype, x0->rank, dims);
    return ODET_OK;
}

static odet_status concat_run(odet_op_ctx *ctx)
{
    odet_tensor *y = ctx->out[0];
    int a, n = ctx->n_in;
    odet_norm_axis(odet_attr_int(ctx->node, "axis", 1), y->rank, &a);
    int64_t es = (int64_t)odet_dtype_size(y->dtype);
    int64_t outer = odet_dims_prod(y->dims, 0, a);
    int64_t row = odet_dims_prod(y->dims, a, y->rank) * es; /* output bytes per outer step */
    int par = ctx->threads > 1 && outer * row >= PAR_BYTES;
    if (outer >= 4 * ctx->threads || n == 1) {
#pragma omp parallel for num_threads(ctx->threads) if (par && outer > 1) schedule(static)
        for (int64_t o = 0; o < outer; o++) {
            char *dst = (char *)y->data + o * row;
            for (int i = 0; i < n; i++) {
                const odet_tensor *t = ctx->in[i];
                int64_t chunk = odet_dims_prod(t->dims, a, t->rank) * es;
                if (chunk)
                    memcpy(dst, (const char *)t->data + o * chunk, (size_t)chunk);
                dst += chunk;
            }
        }
        return ODET_OK;
    }
    /* Few outer steps (e.g. concatenating along axis 0/1): one work item per input. */
    int64_t work = outer * n;
#pragma omp parallel for num_threads(ctx->threads) if (par) schedule(dynamic)
    for (int64_t w = 0; w < work; w++) {
        int64_t o = w / n;
        int i = (int)(w % n);
        int64_t off = 0;
        for (int k = 0; k < i; k++)
            off += odet_dims_prod(ctx->in[k]->dims, a, y->rank) * es;
        const odet_tensor *t = ctx->in[i];
        int64_t chunk = odet_dims_prod(t->dims, a, t->rank) * es;
        if (chunk)
            memcpy((char *)y->data + o * row + off, (const char *)t->data + o * chunk,
                   (size_t)chunk);
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Split                                                               */
/* ------------------------------------------------------------------ */

typedef struct split_params {
    int64_t axis;
    int64_t num_outputs; /* opset 18; 0 when absent */
    size_t n_split;      /* `split` attribute (opset < 13); 0 when absent */
    int64_t split[];
} split_params;

static odet_status split_prepare(odet_node *node, char *err, size_t errlen)
{
    size_t n = 0;
    const int64_t *s = node->opset < 13 ? odet_attr_ints(node, "split", &n) : NULL;
    split_params *p = calloc(1, sizeof *p + n * sizeof(int64_t));
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->axis = odet_attr_int(node, "axis", 0);
    p->num_outputs = node->opset >= 18 ? odet_attr_int(node, "num_outputs", 0) : 0;
    p->n_split = n;
    if (n)
        memcpy(p->split, s, n * sizeof *s);
    if (p->num_outputs < 0 || (p->num_outputs && p->num_outputs != node->n_out)) {
        int64_t no = p->num_outputs;
        free(p);
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "num_outputs %lld does not match the %d outputs", (long long)no,
                              node->n_out);
    }
    node->params = p;
    return ODET_OK;
}

/* The `split` sizes come from input 1 (opset 1 when given, opset >= 13) or from
 * the attribute (opset 2..12); NULL / 0 entries when absent. */
static const odet_tensor *split_input(const odet_op_ctx *ctx)
{
    const split_params *p = ctx->params;
    if (ctx->node->opset >= 13 || (ctx->node->opset < 2 && !p->n_split))
        return in_at(ctx, 1);
    return NULL;
}

/* Validates the parts against an axis of size dim (once, in infer). */
static odet_status split_check(const odet_op_ctx *ctx, int64_t dim)
{
    const split_params *p = ctx->params;
    const odet_tensor *t = split_input(ctx);
    int n = ctx->n_out;
    if (n < 1)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "Split needs at least one output");
    if (t || p->n_split) {
        int64_t cnt = t ? odet_tensor_numel(t) : (int64_t)p->n_split;
        if (t && (t->rank > 1 || !odet_dtype_is_int(t->dtype)))
            return odet_op_fail(ctx, ODET_ERR_DTYPE,
                                "input 1 'split' must be a 1-D integer tensor");
        if (cnt != n)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "'split' has %lld entries for %d outputs", (long long)cnt, n);
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            int64_t v = t ? odet_tensor_get_i64(t, i) : p->split[i];
            if (v < 0 || v > dim)
                return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "split[%d] = %lld is invalid", i,
                                    (long long)v);
            sum += v;
        }
        if (sum != dim)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "'split' sums to %lld, the axis has %lld",
                                (long long)sum, (long long)dim);
    } else if (!p->num_outputs && dim % n != 0) {
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "axis of size %lld does not split into %d equal parts",
                            (long long)dim, n);
    }
    return ODET_OK;
}

/* Offset and size of part k along the axis (after split_check). */
static void split_part(const odet_op_ctx *ctx, int64_t dim, int k, int64_t *off, int64_t *size)
{
    const split_params *p = ctx->params;
    const odet_tensor *t = split_input(ctx);
    int n = ctx->n_out;
    if (t || p->n_split) {
        *off = 0;
        for (int i = 0; i < k; i++)
            *off += t ? odet_tensor_get_i64(t, i) : p->split[i];
        *size = t ? odet_tensor_get_i64(t, k) : p->split[k];
    } else {
        /* Equal parts; with num_outputs (opset 18) ceil-sized, the last smaller. */
        int64_t part = p->num_outputs ? (dim + n - 1) / n : dim / n;
        *off = (int64_t)k * part < dim ? (int64_t)k * part : dim;
        *size = dim - *off < part ? dim - *off : part;
    }
}

static odet_status split_infer(odet_op_ctx *ctx)
{
    const split_params *p = ctx->params;
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "input", &x);
    if (st)
        return st;
    if (!elem_size(ctx, x, "input"))
        return ODET_ERR_UNSUPPORTED;
    int a;
    if (odet_norm_axis(p->axis, x->rank, &a))
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)p->axis, x->rank);
    if ((st = split_check(ctx, x->dims[a])))
        return st;
    for (int k = 0; k < ctx->n_out; k++) {
        int64_t off, size, dims[MAXR];
        split_part(ctx, x->dims[a], k, &off, &size);
        memcpy(dims, x->dims, sizeof dims);
        dims[a] = size;
        odet_set_shape(out_at(ctx, k), x->dtype, x->rank, dims);
    }
    return ODET_OK;
}

static odet_status split_run(odet_op_ctx *ctx)
{
    const split_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    int a;
    odet_norm_axis(p->axis, x->rank, &a);
    size_t es = odet_dtype_size(x->dtype);
    int64_t outer = odet_dims_prod(x->dims, 0, a);
    int64_t inner = odet_dims_prod(x->dims, a + 1, x->rank) * (int64_t)es;
    int64_t row = x->dims[a] * inner;
    for (int k = 0; k < ctx->n_out; k++) {
        odet_tensor *y = ctx->out[k];
        int64_t off, size;
        split_part(ctx, x->dims[a], k, &off, &size);
        int64_t chunk = size * inner;
        if (!y || chunk == 0)
            continue;
        int par = ctx->threads > 1 && outer > 1 && outer * chunk >= PAR_BYTES;
#pragma omp parallel for num_threads(ctx->threads) if (par) schedule(static)
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)y->data + o * chunk, (const char *)x->data + o * row + off * inner,
                   (size_t)chunk);
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Slice                                                               */
/* ------------------------------------------------------------------ */

typedef struct slice_plan {
    int64_t start[MAXR], step[MAXR], len[MAXR];
} slice_plan;

/* Reads starts/ends/axes/steps (attributes before opset 10, inputs 1..4 after)
 * and clamps them per the ONNX rules. */
static odet_status slice_make(const odet_op_ctx *ctx, const odet_tensor *x, slice_plan *sp)
{
    int64_t starts[MAXR], ends[MAXR], axes[MAXR], steps[MAXR];
    int ns = 0, ne = 0, na = -1, nst = -1;
    odet_status st;
    if (ctx->node->opset < 10) {
        static const char *const names[] = {"starts", "ends", "axes"};
        int64_t *dst[] = {starts, ends, axes};
        int *cnt[] = {&ns, &ne, &na};
        for (int i = 0; i < 3; i++) {
            size_t n = 0;
            const int64_t *v = odet_attr_ints(ctx->node, names[i], &n);
            if (!v) {
                if (i < 2)
                    return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                        "attribute '%s' is required", names[i]);
                continue;
            }
            if (n > MAXR)
                return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "'%s' has %zu entries",
                                    names[i], n);
            memcpy(dst[i], v, n * sizeof *v);
            *cnt[i] = (int)n;
        }
    } else {
        const odet_tensor *t;
        if ((st = need_in(ctx, 1, "starts", &t)) ||
            (st = read_int_list(ctx, t, 1, "starts", starts, MAXR, &ns)) ||
            (st = need_in(ctx, 2, "ends", &t)) ||
            (st = read_int_list(ctx, t, 2, "ends", ends, MAXR, &ne)))
            return st;
        if ((t = in_at(ctx, 3)) && (st = read_int_list(ctx, t, 3, "axes", axes, MAXR, &na)))
            return st;
        if ((t = in_at(ctx, 4)) && (st = read_int_list(ctx, t, 4, "steps", steps, MAXR, &nst)))
            return st;
    }
    if (ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "starts, ends, axes and steps must have the same length");
    for (int k = 0; k < x->rank; k++) {
        sp->start[k] = 0;
        sp->step[k] = 1;
        sp->len[k] = x->dims[k];
    }
    int seen[MAXR] = {0};
    for (int i = 0; i < ns; i++) {
        int a;
        int64_t axis = na >= 0 ? axes[i] : i;
        if (odet_norm_axis(axis, x->rank, &a))
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                                (long long)axis, x->rank);
        if (seen[a])
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %d is repeated", a);
        seen[a] = 1;
        int64_t step = nst >= 0 ? steps[i] : 1;
        if (step == 0)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "steps[%d] is 0", i);
        int64_t d = x->dims[a], s = starts[i], e = ends[i], len;
        if (s < 0)
            s += d;
        if (e < 0)
            e += d;
        if (step > 0) {
            s = clamp64(s, 0, d);
            e = clamp64(e, 0, d);
            len = e > s ? (e - s - 1) / step + 1 : 0;
        } else {
            s = clamp64(s, 0, d - 1);
            e = clamp64(e, -1, d - 1);
            int64_t astep = step == INT64_MIN ? INT64_MAX : -step;
            len = s > e ? (s - e - 1) / astep + 1 : 0;
            if (d == 0) {
                s = 0;
                len = 0;
            }
        }
        sp->start[a] = s;
        sp->step[a] = step;
        sp->len[a] = len;
    }
    return ODET_OK;
}

static odet_status slice_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    if (!elem_size(ctx, x, "data"))
        return ODET_ERR_UNSUPPORTED;
    slice_plan sp;
    if ((st = slice_make(ctx, x, &sp)))
        return st;
    odet_set_shape(out_at(ctx, 0), x->dtype, x->rank, sp.len);
    return ODET_OK;
}

static odet_status slice_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    slice_plan sp;
    odet_status st = slice_make(ctx, x, &sp);
    if (st)
        return st;
    size_t es = odet_dtype_size(x->dtype);
    int64_t istr[MAXR], base = 0;
    odet_strides(x->rank, x->dims, istr);
    nd_copy c = {.rank = x->rank};
    for (int k = 0; k < x->rank; k++) {
        c.dims[k] = sp.len[k];
        c.is[k] = sp.step[k] * istr[k];
        base += sp.start[k] * istr[k];
    }
    if (odet_dims_prod(c.dims, 0, c.rank) == 0)
        return ODET_OK;
    nd_copy_dense(&c, ctx->out[0]->data, (const char *)x->data + base * (int64_t)es, es,
                  ctx->threads);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Expand, Tile                                                        */
/* ------------------------------------------------------------------ */

static odet_status expand_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x, *s;
    odet_status st;
    if ((st = need_in(ctx, 0, "input", &x)) || (st = need_in(ctx, 1, "shape", &s)))
        return st;
    if (!elem_size(ctx, x, "input"))
        return ODET_ERR_UNSUPPORTED;
    int64_t shape[MAXR], dims[MAXR];
    int n, r;
    if ((st = read_int_list(ctx, s, 1, "shape", shape, MAXR, &n)))
        return st;
    if (odet_broadcast_shape(x->rank, x->dims, n, shape, &r, dims))
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input of rank %d cannot be broadcast to the "
                            "requested rank-%d shape", x->rank, n);
    if ((st = check_numel(ctx, r, dims)))
        return st;
    odet_set_shape(out_at(ctx, 0), x->dtype, r, dims);
    return ODET_OK;
}

static odet_status expand_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int64_t istr[MAXR];
    odet_strides(x->rank, x->dims, istr);
    nd_copy c = {.rank = y->rank};
    int off = y->rank - x->rank;
    for (int k = 0; k < y->rank; k++) {
        c.dims[k] = y->dims[k];
        c.is[k] = (k < off || x->dims[k - off] == 1) ? 0 : istr[k - off];
    }
    nd_copy_dense(&c, y->data, x->data, odet_dtype_size(x->dtype), ctx->threads);
    return ODET_OK;
}

static odet_status tile_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x, *rt;
    odet_status st;
    if ((st = need_in(ctx, 0, "input", &x)) || (st = need_in(ctx, 1, "repeats", &rt)))
        return st;
    if (!elem_size(ctx, x, "input"))
        return ODET_ERR_UNSUPPORTED;
    int64_t rep[MAXR], dims[MAXR];
    int n;
    if ((st = read_int_list(ctx, rt, 1, "repeats", rep, MAXR, &n)))
        return st;
    if (n != x->rank)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "'repeats' has %d entries for rank %d", n,
                            x->rank);
    for (int k = 0; k < n; k++) {
        if (rep[k] < 0)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "repeats[%d] = %lld is negative", k,
                                (long long)rep[k]);
        if (x->dims[k] && rep[k] > ODET_MAX_TENSOR_ELEMS / x->dims[k])
            return odet_op_fail(ctx, ODET_ERR_LIMIT, "output shape is too large");
        dims[k] = x->dims[k] * rep[k];
    }
    if ((st = check_numel(ctx, n, dims)))
        return st;
    odet_set_shape(out_at(ctx, 0), x->dtype, n, dims);
    return ODET_OK;
}

/* Output axis k of size r*d is viewed as two axes (r, d) with source strides
 * (0, stride_k): a rank-2N broadcast copy. */
static odet_status tile_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int64_t istr[MAXR];
    odet_strides(x->rank, x->dims, istr);
    nd_copy c = {.rank = 2 * x->rank};
    for (int k = 0; k < x->rank; k++) {
        c.dims[2 * k] = x->dims[k] ? y->dims[k] / x->dims[k] : 0;
        c.is[2 * k] = 0;
        c.dims[2 * k + 1] = x->dims[k];
        c.is[2 * k + 1] = istr[k];
    }
    nd_copy_dense(&c, y->data, x->data, odet_dtype_size(x->dtype), ctx->threads);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Pad                                                                 */
/* ------------------------------------------------------------------ */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct pad_params {
    int mode;
    int n_pads;              /* opset < 11: attribute `pads` / `paddings` */
    int64_t pads[2 * MAXR];
    double value;            /* opset < 11: attribute `value` */
} pad_params;

static odet_status pad_prepare(odet_node *node, char *err, size_t errlen)
{
    pad_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    const char *mode = odet_attr_string(node, "mode", "constant");
    if (strcmp(mode, "constant") == 0)
        p->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p->mode = PAD_EDGE;
    else if (strcmp(mode, "wrap") == 0)
        p->mode = PAD_WRAP;
    else {
        free(p);
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "mode '%s' is not supported", mode);
    }
    if (node->opset < 11) {
        size_t n = 0;
        const int64_t *v = odet_attr_ints(node, node->opset < 2 ? "paddings" : "pads", &n);
        if (!v || n > 2 * MAXR) {
            free(p);
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "attribute '%s' is required (at most %d values)",
                                  node->opset < 2 ? "paddings" : "pads", 2 * MAXR);
        }
        memcpy(p->pads, v, n * sizeof *v);
        p->n_pads = (int)n;
        p->value = odet_attr_float(node, "value", 0.0f);
    }
    node->params = p;
    return ODET_OK;
}

/* Full pads [begin_0..begin_{r-1}, end_0..end_{r-1}] for input x. */
static odet_status pad_get(const odet_op_ctx *ctx, const odet_tensor *x, int64_t *pads)
{
    const pad_params *p = ctx->params;
    int r = x->rank, n = p->n_pads;
    int64_t v[2 * MAXR];
    odet_status st;
    if (ctx->node->opset < 11) {
        memcpy(v, p->pads, sizeof v);
    } else {
        const odet_tensor *t;
        if ((st = need_in(ctx, 1, "pads", &t)) ||
            (st = read_int_list(ctx, t, 1, "pads", v, 2 * MAXR, &n)))
            return st;
    }
    const odet_tensor *at = ctx->node->opset >= 18 ? in_at(ctx, 3) : NULL;
    int64_t axes[MAXR];
    int na = r;
    if (at) {
        if ((st = read_int_list(ctx, at, 3, "axes", axes, MAXR, &na)))
            return st;
    } else {
        for (int k = 0; k < r; k++)
            axes[k] = k;
    }
    if (n != 2 * na)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "'pads' has %d entries, expected %d", n,
                            2 * na);
    for (int k = 0; k < 2 * r; k++)
        pads[k] = 0;
    for (int i = 0; i < na; i++) {
        int a;
        if (odet_norm_axis(axes[i], r, &a))
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                                (long long)axes[i], r);
        pads[a] = v[i];
        pads[r + a] = v[na + i];
    }
    return ODET_OK;
}

/* Negative pads crop first; the non-negative remainder pads the cropped axis
 * (so edge/reflect/wrap see the cropped edges). Per axis: the crop start in the
 * input, the cropped length and the leading pad. */
typedef struct pad_axis {
    int64_t start, len, before;
} pad_axis;

static odet_status pad_axes(const odet_op_ctx *ctx, const odet_tensor *x, pad_axis *ax,
                            int64_t *dims)
{
    const pad_params *p = ctx->params;
    int64_t pads[2 * MAXR];
    odet_status st = pad_get(ctx, x, pads);
    if (st)
        return st;
    for (int k = 0; k < x->rank; k++) {
        int64_t pb = pads[k], pe = pads[x->rank + k], d = x->dims[k];
        if (pb > ODET_MAX_TENSOR_ELEMS || pe > ODET_MAX_TENSOR_ELEMS || pb < -d || pe < -d)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "pads (%lld, %lld) do not fit axis %d of "
                                "size %lld", (long long)pb, (long long)pe, k, (long long)d);
        ax[k].start = pb < 0 ? -pb : 0;
        ax[k].len = d - ax[k].start - (pe < 0 ? -pe : 0);
        ax[k].before = pb > 0 ? pb : 0;
        if (ax[k].len < 0)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "negative pads remove more than axis %d "
                                "holds", k);
        dims[k] = ax[k].len + ax[k].before + (pe > 0 ? pe : 0);
        if (p->mode != PAD_CONSTANT && ax[k].len == 0 && dims[k] > 0)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "cannot pad empty axis %d in this mode", k);
    }
    return ODET_OK;
}

static odet_status pad_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    if (!elem_size(ctx, x, "data"))
        return ODET_ERR_UNSUPPORTED;
    const odet_tensor *cv = ctx->node->opset >= 11 ? in_at(ctx, 2) : NULL;
    if (cv && cv->dtype != x->dtype)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "constant_value is %s, data is %s",
                            odet_dtype_name(cv->dtype), odet_dtype_name(x->dtype));
    pad_axis ax[MAXR];
    int64_t dims[MAXR];
    if ((st = pad_axes(ctx, x, ax, dims)) || (st = check_numel(ctx, x->rank, dims)))
        return st;
    odet_set_shape(out_at(ctx, 0), x->dtype, x->rank, dims);
    return ODET_OK;
}

/* Source index for output coordinate c (relative to the input's start) along
 * an axis of size d, or -1 for the constant. */
static int64_t pad_map(int64_t c, int64_t d, int mode)
{
    if (c >= 0 && c < d)
        return c;
    switch (mode) {
    case PAD_EDGE:
        return c < 0 ? 0 : d - 1;
    case PAD_REFLECT: {
        if (d == 1)
            return 0;
        int64_t per = 2 * (d - 1);
        c %= per;
        if (c < 0)
            c += per;
        return c >= d ? per - c : c;
    }
    case PAD_WRAP:
        c %= d;
        return c < 0 ? c + d : c;
    default:
        return -1;
    }
}

static void fill_elems(char *dst, const unsigned char *v, int64_t n, size_t es)
{
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + i * (int64_t)es, v, es);
}

static odet_status pad_run(odet_op_ctx *ctx)
{
    const pad_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    size_t es = odet_dtype_size(x->dtype);
    pad_axis ax[MAXR];
    int64_t dims[MAXR];
    odet_status st = pad_axes(ctx, x, ax, dims);
    if (st)
        return st;
    unsigned char value[8] = {0};
    const odet_tensor *cv = ctx->node->opset >= 11 ? in_at(ctx, 2) : NULL;
    if (cv && odet_tensor_numel(cv) >= 1)
        memcpy(value, cv->data, es);
    else if (ctx->node->opset < 11)
        odet_elem_store_f64(value, x->dtype, p->value);
    int r = x->rank;
    if (odet_tensor_numel(y) == 0)
        return ODET_OK;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return ODET_OK;
    }
    int64_t istr[MAXR];
    odet_strides(r, x->dims, istr);
    const pad_axis *last = &ax[r - 1];
    int64_t W = y->dims[r - 1], d = last->len, pb = last->before;
    int64_t rows = odet_dims_prod(y->dims, 0, r - 1);
    int64_t lo = pb, hi = pb + d < W ? pb + d : W; /* span copied from the row: [lo, hi) */
    int mode = p->mode;
    int par = ctx->threads > 1 && rows > 1 && rows * W * (int64_t)es >= PAR_BYTES;
#pragma omp parallel for num_threads(ctx->threads) if (par) schedule(static)
    for (int64_t row = 0; row < rows; row++) {
        char *dst = (char *)y->data + row * W * (int64_t)es;
        int64_t rem = row, off = last->start;
        int outside = 0;
        for (int k = r - 2; k >= 0; k--) {
            int64_t c = pad_map(rem % y->dims[k] - ax[k].before, ax[k].len, mode);
            rem /= y->dims[k];
            if (c < 0)
                outside = 1;
            else
                off += (ax[k].start + c) * istr[k];
        }
        if (outside) {
            fill_elems(dst, value, W, es);
            continue;
        }
        const char *src = (const char *)x->data + off * (int64_t)es;
        if (hi > lo)
            memcpy(dst + lo * (int64_t)es, src, (size_t)(hi - lo) * es);
        for (int64_t i = 0; i < W; i++) {
            if (i == lo && hi > lo)
                i = hi;
            if (i >= W)
                break;
            int64_t c = pad_map(i - pb, d, mode);
            memcpy(dst + i * (int64_t)es, c < 0 ? (const char *)value : src + c * (int64_t)es, es);
        }
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* table                                                               */
/* ------------------------------------------------------------------ */

#define BIT(i) (1u << (i))

const odet_op_def odet_ops_movement[] = {
    {"Reshape", "", 1, ODET_OP_ALIAS, 0, reshape_prepare, NULL, reshape_infer, NULL, NULL},
    {"Reshape", "", 5, ODET_OP_ALIAS, BIT(1), reshape_prepare, NULL, reshape_infer, NULL, NULL},
    {"Flatten", "", 1, ODET_OP_ALIAS, 0, NULL, NULL, flatten_infer, NULL, NULL},
    {"Squeeze", "", 1, ODET_OP_ALIAS, 0, NULL, NULL, squeeze_infer, NULL, NULL},
    {"Squeeze", "", 13, ODET_OP_ALIAS, BIT(1), NULL, NULL, squeeze_infer, NULL, NULL},
    {"Unsqueeze", "", 1, ODET_OP_ALIAS, 0, NULL, NULL, unsqueeze_infer, NULL, NULL},
    {"Unsqueeze", "", 13, ODET_OP_ALIAS, BIT(1), NULL, NULL, unsqueeze_infer, NULL, NULL},
    {"Identity", "", 1, ODET_OP_ALIAS, 0, NULL, NULL, identity_infer, NULL, NULL},
    {"Dropout", "", 1, ODET_OP_ALIAS, 0, NULL, NULL, dropout_infer, NULL, dropout_run},
    /* ratio / training_mode decide whether inference semantics apply. */
    {"Dropout", "", 12, ODET_OP_ALIAS, BIT(1) | BIT(2), NULL, NULL, dropout_infer, NULL,
     dropout_run},
    {"Transpose", "", 1, 0, 0, transpose_prepare, NULL, transpose_infer, NULL, transpose_run},
    {"Concat", "", 1, 0, 0, NULL, NULL, concat_infer, NULL, concat_run},
    /* Split-1 took the sizes as an optional input, 2..12 as an attribute. */
    {"Split", "", 1, 0, BIT(1), split_prepare, NULL, split_infer, NULL, split_run},
    {"Split", "", 2, 0, 0, split_prepare, NULL, split_infer, NULL, split_run},
    {"Split", "", 13, 0, BIT(1), split_prepare, NULL, split_infer, NULL, split_run},
    {"Slice", "", 1, 0, 0, NULL, NULL, slice_infer, NULL, slice_run},
    {"Slice", "", 10, 0, BIT(1) | BIT(2) | BIT(3) | BIT(4), NULL, NULL, slice_infer, NULL,
     slice_run},
    {"Expand", "", 8, 0, BIT(1), NULL, NULL, expand_infer, NULL, expand_run},
    {"Tile", "", 6, 0, BIT(1), NULL, NULL, tile_infer, NULL, tile_run},
    {"Pad", "", 1, 0, 0, pad_prepare, NULL, pad_infer, NULL, pad_run},
    {"Pad", "", 11, 0, BIT(1), pad_prepare, NULL, pad_infer, NULL, pad_run},
    {"Pad", "", 18, 0, BIT(1) | BIT(3), pad_prepare, NULL, pad_infer, NULL, pad_run},
    {0},
};
