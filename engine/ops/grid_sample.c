/* GridSample (opset 16; the opset-20 mode names 'linear'/'cubic' are accepted
 * for 4-D input). Semantics equal torch.nn.functional.grid_sample:
 *
 *   X [N, C, H, W], grid [N, Ho, Wo, 2] with (x, y) in [-1, 1] -> Y [N, C, Ho, Wo]
 *   unnormalise: align_corners ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2
 *   padding: zeros (out-of-range taps read 0), border (clip the coordinate),
 *            reflection (reflect about the edges / edge centres, then clip)
 *   bilinear: 4 taps; nearest: round half to even; bicubic: 4x4 taps with A = -0.75,
 *            the padding applied to every tap coordinate.
 * Coordinates are computed in the element type, like PyTorch.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

enum { GS_BILINEAR, GS_NEAREST, GS_BICUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };

typedef struct gs_params {
    int mode, padding, align_corners;
} gs_params;

static odet_status gs_prepare(odet_node *node, char *err, size_t errlen)
{
    gs_params p;
    const char *m = odet_attr_string(node, "mode", node->opset >= 20 ? "linear" : "bilinear");
    if (strcmp(m, "bilinear") == 0 || strcmp(m, "linear") == 0)
        p.mode = GS_BILINEAR;
    else if (strcmp(m, "nearest") == 0)
        p.mode = GS_NEAREST;
    else if (strcmp(m, "bicubic") == 0 || strcmp(m, "cubic") == 0)
        p.mode = GS_BICUBIC;
    else
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "mode '%s' is not supported (expected 'bilinear', 'nearest' or "
                              "'bicubic')", m);
    const char *pm = odet_attr_string(node, "padding_mode", "zeros");
    if (strcmp(pm, "zeros") == 0)
        p.padding = GS_ZEROS;
    else if (strcmp(pm, "border") == 0)
        p.padding = GS_BORDER;
    else if (strcmp(pm, "reflection") == 0)
        p.padding = GS_REFLECTION;
    else
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "padding_mode '%s' is not supported (expected 'zeros', 'border' "
                              "or 'reflection')", pm);
    p.align_corners = odet_attr_int(node, "align_corners", 0) != 0;
    gs_params *q = malloc(sizeof *q);
    if (!q)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    *q = p;
    node->params = q;
    return ODET_OK;
}

static odet_status gs_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0], *g = ctx->n_in > 1 ? ctx->in[1] : NULL;
    if (!x || !g)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "inputs 'X' and 'grid' are required");
    if (x->dtype != ODET_FLOAT && x->dtype != ODET_DOUBLE)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "input 0 'X' has unsupported dtype %s",
                            odet_dtype_name(x->dtype));
    if (g->dtype != x->dtype)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input 1 'grid' has dtype %s; only grid dtype equal to X (%s) is "
                            "supported", odet_dtype_name(g->dtype), odet_dtype_name(x->dtype));
    if (x->rank != 4)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input 0 'X' must be rank 4 (N, C, H, W), got rank %d", x->rank);
    if (g->rank != 4 || g->dims[3] != 2)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 1 'grid' must have shape (N, H_out, W_out, 2), got rank %d "
                            "with last dim %lld", g->rank,
                            g->rank > 0 ? (long long)g->dims[g->rank - 1] : 0LL);
    if (g->dims[0] != x->dims[0])
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "batch of 'grid' (%lld) differs from X (%lld)",
                            (long long)g->dims[0], (long long)x->dims[0]);
    int64_t d[4] = {x->dims[0], x->dims[1], g->dims[1], g->dims[2]};
    odet_set_shape(ctx->out[0], x->dtype, 4, d);
    return ODET_OK;
}

#define GS_DEFINE(T, SUF, FLOOR, FABS, FMOD, NEARBYINT)                                        \
    static T gs_unnorm_##SUF(T c, int64_t size, int ac)                                          \
    {                                                                                            \
        return ac ? (c + 1) / 2 * (T)(size - 1) : ((c + 1) * (T)size - 1) / 2;                   \
    }                                                                                            \
    static T gs_clip_##SUF(T c, int64_t size)                                                    \
    {                                                                                            \
        T hi = (T)(size - 1);                                                                    \
        c = c > 0 ? c : 0;                                                                       \
        return c < hi ? c : hi;                                                                  \
    }                                                                                            \
    static T gs_reflect_##SUF(T c, int64_t twice_low, int64_t twice_high)                        \
    {                                                                                            \
        if (twice_low == twice_high)                                                             \
            return 0;                                                                            \
        T mn = (T)twice_low / 2, span = (T)(twice_high - twice_low) / 2;                         \
        c = FABS(c - mn);                                                                        \
        T extra = FMOD(c, span);                                                                 \
        T flips = FLOOR(c / span);                                                               \
        return FMOD(flips, 2) == 0 ? extra + mn : span - extra + mn;                             \
    }                                                                                            \
    /* Padding applied to one coordinate; non-finite / huge values map far outside. */           \
    static T gs_pad_##SUF(T c, int64_t size, int padding, int ac)                                \
    {                                                                                            \
        if (padding == GS_BORDER) {                                                              \
            c = gs_clip_##SUF(c, size);                                                          \
        } else if (padding == GS_REFLECTION) {                                                   \
            c = ac ? gs_reflect_##SUF(c, 0, 2 * (size - 1))                                      \
                   : gs_reflect_##SUF(c, -1, 2 * size - 1);                                      \
            c = gs_clip_##SUF(c, size);                                                          \
        }                                                                                        \
        if (!isfinite(c) || c > (T)INT_MAX || c < (T)INT_MIN)                                    \
            c = -100;                                                                            \
        return c;                                                                                \
    }                                                                                            \
    static T gs_cubic1_##SUF(T x, T A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }          \
    static T gs_cubic2_##SUF(T x, T A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }    \
    static void gs_run_##SUF(const odet_op_ctx *ctx, const gs_params *p, const T *x,            \
                             const T *grid, T *y)                                                \
    {                                                                                            \
        const odet_tensor *tx = ctx->in[0];                                                      \
        int64_t N = tx->dims[0], C = tx->dims[1], H = tx->dims[2], W = tx->dims[3];              \
        int64_t Ho = ctx->out[0]->dims[2], Wo = ctx->out[0]->dims[3], HWo = Ho * Wo;             \
        int64_t HW = H * W, total = N * HWo;                                                     \
        int ac = p->align_corners, mode = p->mode, pad = p->padding;                             \
        int nt = (double)total * (double)C < 16384.0 ? 1 : ctx->threads;                         \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static)")                 \
        for (int64_t e = 0; e < total; e++) {                                                    \
            int64_t n = e / HWo, pix = e % HWo;                                                  \
            const T *xn = x + n * C * HW;                                                        \
            T *yn = y + n * C * HWo + pix;                                                       \
            T gx = grid[2 * e], gy = grid[2 * e + 1];                                            \
            if (mode == GS_BICUBIC) {                                                            \
                T ix = gs_unnorm_##SUF(gx, W, ac), iy = gs_unnorm_##SUF(gy, H, ac);              \
                if (!isfinite(ix) || FABS(ix) > (T)INT_MAX)                                      \
                    ix = -100;                                                                   \
                if (!isfinite(iy) || FABS(iy) > (T)INT_MAX)                                      \
                    iy = -100;                                                                   \
                T fx = FLOOR(ix), fy = FLOOR(iy), ttx = ix - fx, tty = iy - fy;                  \
                T A = (T)-0.75;                                                                  \
                T wx[4] = {gs_cubic2_##SUF(ttx + 1, A), gs_cubic1_##SUF(ttx, A),                \
                           gs_cubic1_##SUF(1 - ttx, A), gs_cubic2_##SUF(2 - ttx, A)};           \
                T wy[4] = {gs_cubic2_##SUF(tty + 1, A), gs_cubic1_##SUF(tty, A),                \
                           gs_cubic1_##SUF(1 - tty, A), gs_cubic2_##SUF(2 - tty, A)};           \
                int64_t xi[4], yi[4];                                                            \
                int xok[4], yok[4];                                                              \
                for (int k = 0; k < 4; k++) {                                                    \
                    T cx = gs_pad_##SUF(fx - 1 + (T)k, W, pad, ac);                              \
                    T cy = gs_pad_##SUF(fy - 1 + (T)k, H, pad, ac);                              \
                    xi[k] = (int64_t)cx;                                                         \
                    yi[k] = (int64_t)cy;                                                         \
                    xok[k] = xi[k] >= 0 && xi[k] < W;                                            \
                    yok[k] = yi[k] >= 0 && yi[k] < H;                                            \
                }                                                                                \
                for (int64_t c = 0; c < C; c++) {                                                \
                    const T *xc = xn + c * HW;                                                   \
                    T acc = 0;                                                                   \
                    for (int j = 0; j < 4; j++) {                                                \
                        T row = 0;                                                               \
                        for (int k = 0; k < 4; k++)                                              \
                            row += wx[k] * (xok[k] && yok[j] ? xc[yi[j] * W + xi[k]] : 0);       \
                        acc += wy[j] * row;                                                      \
                    }                                                                            \
                    yn[c * HWo] = acc;                                                           \
                }                                                                                \
                continue;                                                                        \
            }                                                                                    \
            T ix = gs_pad_##SUF(gs_unnorm_##SUF(gx, W, ac), W, pad, ac);                         \
            T iy = gs_pad_##SUF(gs_unnorm_##SUF(gy, H, ac), H, pad, ac);                         \
            if (mode == GS_NEAREST) {                                                            \
                int64_t xr = (int64_t)NEARBYINT(ix), yr = (int64_t)NEARBYINT(iy);                \
                int ok = xr >= 0 && xr < W && yr >= 0 && yr < H;                                 \
                for (int64_t c = 0; c < C; c++)                                                  \
                    yn[c * HWo] = ok ? xn[c * HW + yr * W + xr] : 0;                             \
                continue;                                                                        \
            }                                                                                    \
            T fx = FLOOR(ix), fy = FLOOR(iy);                                                    \
            int64_t x0 = (int64_t)fx, y0 = (int64_t)fy, x1 = x0 + 1, y1 = y0 + 1;                \
            T w_nw = (fx + 1 - ix) * (fy + 1 - iy), w_ne = (ix - fx) * (fy + 1 - iy);            \
            T w_sw = (fx + 1 - ix) * (iy - fy), w_se = (ix - fx) * (iy - fy);                    \
            int ox0 = x0 >= 0 && x0 < W, ox1 = x1 >= 0 && x1 < W;                                \
            int oy0 = y0 >= 0 && y0 < H, oy1 = y1 >= 0 && y1 < H;                                \
            for (int64_t c = 0; c < C; c++) {                                                    \
                const T *xc = xn + c * HW;                                                       \
                T acc = 0;                                                                       \
                if (oy0 && ox0) acc += xc[y0 * W + x0] * w_nw;                                   \
                if (oy0 && ox1) acc += xc[y0 * W + x1] * w_ne;                                   \
                if (oy1 && ox0) acc += xc[y1 * W + x0] * w_sw;                                   \
                if (oy1 && ox1) acc += xc[y1 * W + x1] * w_se;                                   \
                yn[c * HWo] = acc;                                                               \
            }                                                                                    \
        }                                                                                        \
    }

GS_DEFINE(float, f32, floorf, fabsf, fmodf, nearbyintf)
GS_DEFINE(double, f64, floor, fabs, fmod, nearbyint)

static odet_status gs_run(odet_op_ctx *ctx)
{
    const gs_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0], *g = ctx->in[1];
    odet_tensor *y = ctx->out[0];
    if (odet_tensor_numel(y) == 0)
        return ODET_OK;
    if (x->dtype == ODET_DOUBLE)
        gs_run_f64(ctx, p, x->data, g->data, y->data);
    else
        gs_run_f32(ctx, p, x->data, g->data, y->data);
    return ODET_OK;
}

const odet_op_def odet_ops_grid_sample[] = {
    {"GridSample", "", 16, 0, 0, gs_prepare, NULL, gs_infer, NULL, gs_run},
    {0},
};
