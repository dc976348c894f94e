/* TopK: the k largest (or smallest) values along an axis, with their int64 indices.
 *
 * Opset 1: k is an attribute; opset 10: k is input 1; opset 11 adds `largest`
 * and `sorted`. Results are always sorted (best first); among equal values the
 * lower index comes first. Each slice is scanned once through a bounded heap of
 * k indices whose root is the worst kept element: O(n log k), no full sort. */
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops/op.h"

typedef struct topk_params {
    int64_t axis;
    int largest;
    int k_input;   /* k comes from input 1 */
    int64_t k;     /* opset 1 attribute */
} topk_params;

static odet_status topk_prepare(odet_node *node, char *err, size_t errlen)
{
    topk_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->axis = odet_attr_int(node, "axis", -1);
    p->largest = odet_attr_int(node, "largest", 1) != 0;
    p->k_input = node->opset >= 10;
    p->k = odet_attr_int(node, "k", -1);
    if (!p->k_input && p->k < 0) {
        free(p);
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute 'k' is missing or negative");
    }
    node->params = p;
    return ODET_OK;
}

static int topk_dtype_ok(odet_dtype t)
{
    return t == ODET_FLOAT || t == ODET_DOUBLE || t == ODET_INT32 || t == ODET_INT64 ||
           t == ODET_INT8 || t == ODET_UINT8;
}

static odet_status topk_infer(odet_op_ctx *ctx)
{
    const topk_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    if (!topk_dtype_ok(x->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    int axis;
    if (odet_norm_axis(p->axis, x->rank, &axis) != 0)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)p->axis, x->rank);
    int64_t k = p->k;
    if (p->k_input) {
        const odet_tensor *kt = ctx->n_in > 1 ? ctx->in[1] : NULL;
        if (!kt || !kt->data)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "input 1 'K' is required");
        if (odet_tensor_read_ints(kt, &k, 1) != 1)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "input 1 'K' must be an integer tensor with one element");
    }
    if (k < 0 || k > x->dims[axis])
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "k = %lld is out of range [0, %lld]",
                            (long long)k, (long long)x->dims[axis]);
    int64_t dims[ODET_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        dims[d] = d == axis ? k : x->dims[d];
    odet_set_shape(ctx->out[0], x->dtype, x->rank, dims);
    if (ctx->n_out > 1)
        odet_set_shape(ctx->out[1], ODET_INT64, x->rank, dims);
    return ODET_OK;
}

typedef struct topk_geom {
    int64_t outer, n, inner, k;
} topk_geom;

static void topk_geom_of(const odet_op_ctx *ctx, topk_geom *g)
{
    const topk_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    int axis = 0;
    odet_norm_axis(p->axis, x->rank, &axis);
    g->outer = odet_dims_prod(x->dims, 0, axis);
    g->n = x->dims[axis];
    g->inner = odet_dims_prod(x->dims, axis + 1, x->rank);
    const odet_tensor *y = ctx->out[0] ? ctx->out[0] : ctx->out[1];
    g->k = y ? y->dims[axis] : 0;
}

/* One heap of k indices per thread. */
static size_t topk_scratch(const odet_op_ctx *ctx)
{
    topk_geom g = {0};
    topk_geom_of(ctx, &g);
    int threads = ctx->threads > 0 ? ctx->threads : 1;
    return (size_t)threads * (size_t)g.k * sizeof(int64_t);
}

/* worse(a, b): element a ranks after element b (ties: the higher index is worse). */
#define DEF_TOPK(SUF, T)                                                                  \
    static inline int worse_##SUF(const T *x, int64_t s, int64_t a, int64_t b, int largest) \
    {                                                                                      \
        T va = x[a * s], vb = x[b * s];                                                    \
        if (va != vb)                                                                      \
            return largest ? va < vb : va > vb;                                            \
        return a > b;                                                                      \
    }                                                                                      \
    static void sift_down_##SUF(int64_t *h, int64_t n, int64_t i, const T *x, int64_t s,    \
                                int largest)                                               \
    {                                                                                      \
        for (;;) {                                                                         \
            int64_t l = 2 * i + 1, m;                                                      \
            if (l >= n)                                                                    \
                return;                                                                    \
            m = l;                                                                         \
            if (l + 1 < n && worse_##SUF(x, s, h[l + 1], h[l], largest))                   \
                m = l + 1;                                                                 \
            if (!worse_##SUF(x, s, h[m], h[i], largest))                                   \
                return;                                                                    \
            int64_t t = h[m];                                                              \
            h[m] = h[i];                                                                   \
            h[i] = t;                                                                      \
            i = m;                                                                         \
        }                                                                                  \
    }                                                                                      \
    static void topk_slice_##SUF(const T *x, int64_t n, int64_t s, int64_t k, int largest,  \
                                 int64_t *h, T *vals, int64_t *idx, int64_t os)             \
    {                                                                                      \
        int64_t hn = 0;                                                                    \
        for (int64_t j = 0; j < n; j++) {                                                  \
            if (hn < k) {                                                                  \
                int64_t i = hn++;                                                          \
                h[i] = j;                                                                  \
                while (i > 0 && worse_##SUF(x, s, h[i], h[(i - 1) / 2], largest)) {        \
                    int64_t pa = (i - 1) / 2, t = h[pa];                                   \
                    h[pa] = h[i];                                                          \
                    h[i] = t;                                                              \
                    i = pa;                                                                \
                }                                                                          \
            } else if (worse_##SUF(x, s, h[0], j, largest)) {                              \
                h[0] = j;                                                                  \
                sift_down_##SUF(h, k, 0, x, s, largest);                                   \
            }                                                                              \
        }                                                                                  \
        for (int64_t p = k - 1; p >= 0; p--) {                                             \
            int64_t w = h[0];                                                              \
            h[0] = h[p];                                                                   \
            sift_down_##SUF(h, p, 0, x, s, largest);                                       \
            if (vals)                                                                      \
                vals[p * os] = x[w * s];                                                   \
            if (idx)                                                                       \
                idx[p * os] = w;                                                           \
        }                                                                                  \
    }

DEF_TOPK(f32, float)
DEF_TOPK(f64, double)
DEF_TOPK(i32, int32_t)
DEF_TOPK(i64, int64_t)
DEF_TOPK(i8, int8_t)
DEF_TOPK(u8, uint8_t)

#define TOPK_CASE(DT, SUF, T)                                                             \
    case DT:                                                                               \
        topk_slice_##SUF((const T *)x->data + xo, g.n, g.inner, g.k, p->largest, h,         \
                         vals ? (T *)vals->data + yo : NULL, idx ? idx + yo : NULL, g.inner); \
        break;

static odet_status topk_run(odet_op_ctx *ctx)
{
    const topk_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    odet_tensor *vals = ctx->out[0];
    int64_t *idx = ctx->n_out > 1 && ctx->out[1] ? (int64_t *)ctx->out[1]->data : NULL;
    topk_geom g = {0};
    topk_geom_of(ctx, &g);
    int64_t slices = g.outer * g.inner;
    if (g.k == 0 || slices == 0)
        return ODET_OK;
    int64_t per = g.k * (int64_t)sizeof(int64_t);
    int64_t fit = (int64_t)ctx->scratch_bytes / per;
    if (!ctx->scratch || fit < 1)
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch buffer too small");
    int threads = ctx->threads < fit ? ctx->threads : (int)fit;
    if (threads < 1)
        threads = 1;
    int64_t *heaps = (int64_t *)ctx->scratch;
#pragma omp parallel for num_threads(threads) if (slices * g.n > 32768) schedule(static)
    for (int64_t sl = 0; sl < slices; sl++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        int64_t *h = heaps + (int64_t)tid * g.k;
        int64_t o = sl / g.inner, i = sl % g.inner;
        int64_t xo = o * g.n * g.inner + i, yo = o * g.k * g.inner + i;
        switch (x->dtype) {
        TOPK_CASE(ODET_FLOAT, f32, float)
        TOPK_CASE(ODET_DOUBLE, f64, double)
        TOPK_CASE(ODET_INT32, i32, int32_t)
        TOPK_CASE(ODET_INT64, i64, int64_t)
        TOPK_CASE(ODET_INT8, i8, int8_t)
        TOPK_CASE(ODET_UINT8, u8, uint8_t)
        default: break;
        }
    }
    return ODET_OK;
}

const odet_op_def odet_ops_topk[] = {
    {.op_type = "TopK", .domain = "", .min_opset = 1, .prepare = topk_prepare,
     .infer = topk_infer, .scratch = topk_scratch, .run = topk_run},
    {.op_type = "TopK", .domain = "", .min_opset = 10, .data_inputs = 1u << 1,
     .prepare = topk_prepare, .infer = topk_infer, .scratch = topk_scratch, .run = topk_run},
    {0},
};
