/* DepthToSpace (opset 1, 11, 13) and SpaceToDepth (opset 1, 13).
 *
 * Both are fixed permutations of NCHW data with block size b:
 *   DepthToSpace DCR: y[n, c, h*b+i, w*b+j] = x[n, (i*b+j)*C' + c, h, w]   (C' = C/b^2)
 *   DepthToSpace CRD: y[n, c, h*b+i, w*b+j] = x[n, c*b*b + i*b + j, h, w]
 *   SpaceToDepth:     y[n, (i*b+j)*C + c, h, w] = x[n, c, h*b+i, w*b+j]
 * Any fixed-size dtype; the copy loops work on 1/2/4/8-byte elements.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

typedef struct sd_params {
    int64_t b;
    int crd; /* DepthToSpace: 1 = CRD, 0 = DCR */
} sd_params;

static odet_status sd_prepare(odet_node *node, char *err, size_t errlen)
{
    const odet_attr *a = odet_attr_find(node, "blocksize");
    if (!a || a->type != ODET_ATTR_INT)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute 'blocksize' (int) is required");
    if (a->i <= 0 || a->i > (1 << 20))
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "blocksize %lld must be positive", (long long)a->i);
    int crd = 0;
    if (strcmp(node->op_type, "DepthToSpace") == 0) {
        const char *m = odet_attr_string(node, "mode", "DCR");
        if (strcmp(m, "CRD") == 0)
            crd = 1;
        else if (strcmp(m, "DCR") != 0)
            return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                                  "mode '%s' is not supported (expected 'DCR' or 'CRD')", m);
    }
    sd_params *p = malloc(sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->b = a->i;
    p->crd = crd;
    node->params = p;
    return ODET_OK;
}

static odet_status sd_check_input(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    if (!x)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "input 0 'input' is missing");
    if (x->rank != 4)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 0 'input' must be rank 4, got rank %d",
                            x->rank);
    size_t es = odet_dtype_size(x->dtype);
    if (x->dtype == ODET_STRING || (es != 1 && es != 2 && es != 4 && es != 8))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    return ODET_OK;
}

static odet_status d2s_infer(odet_op_ctx *ctx)
{
    const sd_params *p = ctx->params;
    odet_status st = sd_check_input(ctx);
    if (st != ODET_OK)
        return st;
    const odet_tensor *x = ctx->in[0];
    int64_t b = p->b;
    if (x->dims[1] % (b * b) != 0)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "channels %lld of input 0 are not divisible by blocksize^2 = %lld",
                            (long long)x->dims[1], (long long)(b * b));
    if (x->dims[2] > ODET_MAX_TENSOR_ELEMS / b || x->dims[3] > ODET_MAX_TENSOR_ELEMS / b)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "output is too large");
    int64_t d[4] = {x->dims[0], x->dims[1] / (b * b), x->dims[2] * b, x->dims[3] * b};
    odet_set_shape(ctx->out[0], x->dtype, 4, d);
    return ODET_OK;
}

static odet_status s2d_infer(odet_op_ctx *ctx)
{
    const sd_params *p = ctx->params;
    odet_status st = sd_check_input(ctx);
    if (st != ODET_OK)
        return st;
    const odet_tensor *x = ctx->in[0];
    int64_t b = p->b;
    if (x->dims[2] % b != 0 || x->dims[3] % b != 0)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "spatial dims %lldx%lld of input 0 are not divisible by blocksize %lld",
                            (long long)x->dims[2], (long long)x->dims[3], (long long)b);
    if (x->dims[1] > ODET_MAX_TENSOR_ELEMS / (b * b))
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "output is too large");
    int64_t d[4] = {x->dims[0], x->dims[1] * b * b, x->dims[2] / b, x->dims[3] / b};
    odet_set_shape(ctx->out[0], x->dtype, 4, d);
    return ODET_OK;
}

/* One contiguous row of the space side (w*b + j, length W*b) gathers, for each j,
 * a row of W elements of a depth-side channel (d2s) or scatters to it (s2d). */
#define SD_DEFINE(T, SUF)                                                                  \
    static void d2s_##SUF(const T *x, T *y, int64_t N, int64_t C, int64_t H, int64_t W,    \
                          int64_t b, int crd, int nt)                                          \
    {                                                                                          \
        int64_t Co = C / (b * b), rows = N * Co * H * b;                                       \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static)")               \
        for (int64_t r = 0; r < rows; r++) {                                                   \
            int64_t i = r % b, h = (r / b) % H, c = (r / (b * H)) % Co, n = r / (b * H * Co);   \
            T *dst = y + r * W * b;                                                            \
            for (int64_t j = 0; j < b; j++) {                                                  \
                int64_t ch = crd ? c * b * b + i * b + j : (i * b + j) * Co + c;               \
                const T *src = x + ((n * C + ch) * H + h) * W;                                 \
                for (int64_t w = 0; w < W; w++)                                                \
                    dst[w * b + j] = src[w];                                                   \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    static void s2d_##SUF(const T *x, T *y, int64_t N, int64_t C, int64_t H, int64_t W,    \
                          int64_t b, int nt)                                                   \
    {                                                                                          \
        /* H, W: output (depth-side) sizes; rows of the input space side */                    \
        int64_t rows = N * C * H * b;                                                          \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static)")               \
        for (int64_t r = 0; r < rows; r++) {                                                   \
            int64_t i = r % b, h = (r / b) % H, c = (r / (b * H)) % C, n = r / (b * H * C);     \
            const T *src = x + r * W * b;                                                      \
            for (int64_t j = 0; j < b; j++) {                                                  \
                T *dst = y + ((n * C * b * b + (i * b + j) * C + c) * H + h) * W;              \
                for (int64_t w = 0; w < W; w++)                                                \
                    dst[w] = src[w * b + j];                                                   \
            }                                                                                  \
        }                                                                                      \
    }

SD_DEFINE(uint8_t, u8)
SD_DEFINE(uint16_t, u16)
SD_DEFINE(uint32_t, u32)
SD_DEFINE(uint64_t, u64)

static int sd_threads(const odet_op_ctx *ctx, int64_t numel)
{
    return numel < 65536 ? 1 : ctx->threads;
}

static odet_status d2s_run(odet_op_ctx *ctx)
{
    const sd_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int64_t numel = odet_tensor_numel(y);
    if (numel == 0)
        return ODET_OK;
    int nt = sd_threads(ctx, numel);
    const int64_t *d = x->dims;
    switch (odet_dtype_size(x->dtype)) {
    case 1: d2s_u8(x->data, y->data, d[0], d[1], d[2], d[3], p->b, p->crd, nt); break;
    case 2: d2s_u16(x->data, y->data, d[0], d[1], d[2], d[3], p->b, p->crd, nt); break;
    case 4: d2s_u32(x->data, y->data, d[0], d[1], d[2], d[3], p->b, p->crd, nt); break;
    case 8: d2s_u64(x->data, y->data, d[0], d[1], d[2], d[3], p->b, p->crd, nt); break;
    default:
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    }
    return ODET_OK;
}

static odet_status s2d_run(odet_op_ctx *ctx)
{
    const sd_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int64_t numel = odet_tensor_numel(y);
    if (numel == 0)
        return ODET_OK;
    int nt = sd_threads(ctx, numel);
    const int64_t *d = y->dims;
    int64_t C = x->dims[1];
    switch (odet_dtype_size(x->dtype)) {
    case 1: s2d_u8(x->data, y->data, d[0], C, d[2], d[3], p->b, nt); break;
    case 2: s2d_u16(x->data, y->data, d[0], C, d[2], d[3], p->b, nt); break;
    case 4: s2d_u32(x->data, y->data, d[0], C, d[2], d[3], p->b, nt); break;
    case 8: s2d_u64(x->data, y->data, d[0], C, d[2], d[3], p->b, nt); break;
    default:
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    }
    return ODET_OK;
}

const odet_op_def odet_ops_space_depth[] = {
    {"DepthToSpace", "", 1, 0, 0, sd_prepare, NULL, d2s_infer, NULL, d2s_run},
    {"SpaceToDepth", "", 1, 0, 0, sd_prepare, NULL, s2d_infer, NULL, s2d_run},
    {0},
};
