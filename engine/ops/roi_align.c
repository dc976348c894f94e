/* RoiAlign (opsets 10 and 16), with ONNX Runtime's semantics (which ONNX's
 * reference implementation and node tests follow).
 *
 *   X [N, C, H, W] float/double, rois [R, 4] = (x1, y1, x2, y2) same dtype,
 *   batch_indices int64 [R] in [0, N)  ->  Y [R, C, output_height, output_width]
 *
 * Per ROI: start/end = roi * spatial_scale - offset, offset 0.5 for
 * coordinate_transformation_mode 'half_pixel' (opset 16's default) and 0 for
 * 'output_half_pixel' (opset 10's only behaviour, which also forces the ROI
 * to at least 1x1). Each output bin is split into grid_h x grid_w samples
 * (sampling_ratio, or ceil(roi_size / output_size) when it is 0); sample i of
 * bin p sits at start + p * bin + (i + 0.5) * bin / grid. A sample outside
 * [-1, size] along either axis contributes weight 0 (ONNX Runtime reads
 * X[.., 0, 0] * 0); inside, its coordinate is clamped to [0, size - 1] and
 * bilinearly weighted over its 4 neighbours w1..w4.
 *   avg: sum over samples of (w1 x1 + w2 x2 + w3 x3 + w4 x4), divided by
 *        max(grid_h * grid_w, 1);
 *   max: max over samples of max(w1 x1, w2 x2, w3 x3, w4 x4). This is ONNX
 *        Runtime's default (not the max of interpolated values): each
 *        sample's weighted corners are compared.
 * A bin with no samples (half_pixel with an inverted ROI) is 0. Arithmetic is
 * done in the element type in ONNX Runtime's operation order.
 *
 * Out-of-range samples are not visited one by one: a sample's coordinate is
 * monotone in its index, so the in-range samples of an axis are one index
 * range, found by bisection, and the out-of-range ones are accounted for in
 * closed form. Huge ROIs therefore cost O(feature map), not O(ROI area); the
 * adaptive grid is capped at 2^62 samples per axis.
 *
 * NaN: a ROI with a non-finite start or bin size (NaN/inf coordinates or
 * overflow) yields NaN in all its outputs; NaN in X propagates as in ONNX
 * Runtime (avg: any tap reading it, even with weight 0; max: only when it is
 * the first sample compared). A batch index outside [0, N) fails the run.
 *
 * Work is split into (ROI, block of 16 channels) tasks, parallel when large. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

#define RA_PAR_MIN_WORK 32768
#define RA_CBLOCK 16
#define RA_GRID_MAX ((int64_t)1 << 62)

enum { RA_AVG, RA_MAX };

typedef struct ra_params {
    int mode, half_pixel;
    int64_t out_h, out_w, sampling_ratio;
    float spatial_scale;
} ra_params;

static odet_status ra_prepare(odet_node *node, char *err, size_t errlen)
{
    ra_params p;
    const char *m = odet_attr_string(node, "mode", "avg");
    if (strcmp(m, "avg") == 0)
        p.mode = RA_AVG;
    else if (strcmp(m, "max") == 0)
        p.mode = RA_MAX;
    else
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "attribute 'mode' is '%s' (expected 'avg' or 'max')", m);
    const char *ct = odet_attr_string(node, "coordinate_transformation_mode",
                                      node->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (strcmp(ct, "half_pixel") == 0)
        p.half_pixel = 1;
    else if (strcmp(ct, "output_half_pixel") == 0)
        p.half_pixel = 0;
    else
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "attribute 'coordinate_transformation_mode' is '%s' (expected "
                              "'half_pixel' or 'output_half_pixel')", ct);
    p.out_h = odet_attr_int(node, "output_height", 1);
    p.out_w = odet_attr_int(node, "output_width", 1);
    if (p.out_h < 1 || p.out_h > INT32_MAX || p.out_w < 1 || p.out_w > INT32_MAX)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "output_height (%lld) and output_width (%lld) must be in [1, %d]",
                              (long long)p.out_h, (long long)p.out_w, INT32_MAX);
    p.sampling_ratio = odet_attr_int(node, "sampling_ratio", 0);
    if (p.sampling_ratio < 0 || p.sampling_ratio > INT32_MAX)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute 'sampling_ratio' must be in [0, %d], got %lld",
                              INT32_MAX, (long long)p.sampling_ratio);
    p.spatial_scale = odet_attr_float(node, "spatial_scale", 1.0f);
    if (!isfinite(p.spatial_scale))
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute 'spatial_scale' must be finite, got %g",
                              (double)p.spatial_scale);
    ra_params *q = malloc(sizeof *q);
    if (!q)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    *q = p;
    node->params = q;
    return ODET_OK;
}

static odet_status ra_infer(odet_op_ctx *ctx)
{
    const ra_params *p = ctx->params;
    const odet_tensor *x = ctx->n_in > 0 ? ctx->in[0] : NULL;
    const odet_tensor *rois = ctx->n_in > 1 ? ctx->in[1] : NULL;
    const odet_tensor *bi = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!x || !rois || !bi)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "inputs 0 'X', 1 'rois' and 2 'batch_indices' are required");
    if (x->dtype == ODET_FLOAT16)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input 0 'X': float16 is not supported (use float or double)");
    if (x->dtype != ODET_FLOAT && x->dtype != ODET_DOUBLE)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input 0 'X' must be float or double, got %s",
                            odet_dtype_name(x->dtype));
    if (rois->dtype != x->dtype)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input 1 'rois' must be %s like X, got %s",
                            odet_dtype_name(x->dtype), odet_dtype_name(rois->dtype));
    if (bi->dtype != ODET_INT64)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input 2 'batch_indices' must be int64, got %s",
                            odet_dtype_name(bi->dtype));
    if (x->rank != 4)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 0 'X' must be rank 4 (N, C, H, W), got "
                            "rank %d", x->rank);
    if (rois->rank != 2 || rois->dims[1] != 4)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 1 'rois' must have shape [num_rois, 4], got rank %d%s",
                            rois->rank, rois->rank == 2 ? " with last dim != 4" : "");
    if (bi->rank != 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 2 'batch_indices' must be rank 1, got rank %d", bi->rank);
    if (bi->dims[0] != rois->dims[0])
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "batch_indices has %lld entries but rois has %lld rows",
                            (long long)bi->dims[0], (long long)rois->dims[0]);
    if (rois->dims[0] > 0 && x->dims[1] > 0 && (x->dims[2] == 0 || x->dims[3] == 0))
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 0 'X' has an empty spatial size %lldx%lld",
                            (long long)x->dims[2], (long long)x->dims[3]);
    int64_t d[4] = {rois->dims[0], x->dims[1], p->out_h, p->out_w};
    odet_set_shape(ctx->out[0], x->dtype, 4, d);
    return ODET_OK;
}

/* ---- per element type ---- */

#define RA_DEFINE(T, SUF, CEIL)                                                                  \
    /* Coordinate of sample i of bin p along an axis, in ONNX Runtime's operation order. */     \
    static inline T ra_coord_##SUF(T start, int64_t p, T bin, int64_t i, int64_t grid)           \
    {                                                                                            \
        return start + (T)p * bin + (T)((float)i + 0.5f) * bin / (T)grid;                        \
    }                                                                                            \
    /* First i in [0, grid) where the (monotone) test holds, else grid. Test `upper` == 0:     \
     * sample at or past the range's near edge; 1: sample past its far edge. */                  \
    static int64_t ra_first_##SUF(T start, int64_t p, T bin, int64_t grid, T size, int upper)    \
    {                                                                                            \
        int up = bin >= 0;                                                                       \
        int64_t lo = 0, hi = grid;                                                               \
        while (lo < hi) {                                                                        \
            int64_t mid = lo + (hi - lo) / 2;                                                    \
            T c = ra_coord_##SUF(start, p, bin, mid, grid);                                      \
            int t = upper ? (up ? c > size : c < -1) : (up ? !(c < -1) : !(c > size));           \
            if (t)                                                                               \
                hi = mid;                                                                        \
            else                                                                                 \
                lo = mid + 1;                                                                    \
        }                                                                                        \
        return lo;                                                                               \
    }                                                                                            \
    /* In-range samples [*a, *b) of bin p: those with -1 <= coordinate <= size. */               \
    static void ra_range_##SUF(T start, int64_t p, T bin, int64_t grid, int64_t size,            \
                               int64_t *a, int64_t *b)                                           \
    {                                                                                            \
        *a = ra_first_##SUF(start, p, bin, grid, (T)size, 0);                                    \
        *b = ra_first_##SUF(start, p, bin, grid, (T)size, 1);                                    \
        if (*b < *a)                                                                             \
            *b = *a;                                                                             \
    }                                                                                            \
    /* Bilinear neighbours of an in-range coordinate. */                                         \
    static inline void ra_tap_##SUF(T c, int64_t size, int64_t *lo, int64_t *hi, T *frac)        \
    {                                                                                            \
        if (c <= 0)                                                                              \
            c = 0;                                                                               \
        int64_t l = (int64_t)c;                                                                  \
        if (l >= size - 1) {                                                                     \
            *lo = *hi = size - 1;                                                                \
            c = (T)(size - 1);                                                                   \
            l = size - 1;                                                                        \
        } else {                                                                                 \
            *lo = l;                                                                             \
            *hi = l + 1;                                                                         \
        }                                                                                        \
        *frac = c - (T)l;                                                                        \
    }                                                                                            \
    static inline T ra_max_##SUF(T a, T b) { return a < b ? b : a; } /* std::max */             \
    static int64_t ra_grid_##SUF(T v)                                                            \
    {                                                                                            \
        T g = CEIL(v);                                                                           \
        if (!(g > 0))                                                                            \
            return 0;                                                                            \
        return g >= (T)RA_GRID_MAX ? RA_GRID_MAX : (int64_t)g;                                   \
    }                                                                                            \
    /* One ROI, channels [c0, c1) (at most RA_CBLOCK): x is the ROI's image, y its output. */   \
    static void ra_roi_##SUF(const ra_params *p, const T *roi, const T *x, int64_t H,            \
                             int64_t W, int64_t c0, int64_t c1, T *y)                            \
    {                                                                                            \
        const int64_t OH = p->out_h, OW = p->out_w, OHW = OH * OW, HW = H * W;                   \
        const T off = p->half_pixel ? (T)0.5 : (T)0;                                             \
        const T sw = roi[0] * p->spatial_scale - off, sh = roi[1] * p->spatial_scale - off;      \
        const T ew = roi[2] * p->spatial_scale - off, eh = roi[3] * p->spatial_scale - off;      \
        T rw = ew - sw, rh = eh - sh;                                                            \
        if (!p->half_pixel) { /* force malformed ROIs to 1x1 */                                  \
            rw = ra_max_##SUF(rw, (T)1);                                                         \
            rh = ra_max_##SUF(rh, (T)1);                                                         \
        }                                                                                        \
        const T bin_h = rh / (T)OH, bin_w = rw / (T)OW;                                          \
        if (!isfinite(sh) || !isfinite(sw) || !isfinite(bin_h) || !isfinite(bin_w)) {            \
            for (int64_t c = c0; c < c1; c++)                                                    \
                for (int64_t i = 0; i < OHW; i++)                                                \
                    y[c * OHW + i] = (T)NAN;                                                     \
            return;                                                                              \
        }                                                                                        \
        const int64_t gh = p->sampling_ratio > 0 ? p->sampling_ratio : ra_grid_##SUF(rh / (T)OH); \
        const int64_t gw = p->sampling_ratio > 0 ? p->sampling_ratio : ra_grid_##SUF(rw / (T)OW); \
        if (gh == 0 || gw == 0) { /* no samples: 0 / max(count, 1) */                            \
            for (int64_t c = c0; c < c1; c++)                                                    \
                for (int64_t i = 0; i < OHW; i++)                                                \
                    y[c * OHW + i] = 0;                                                          \
            return;                                                                              \
        }                                                                                        \
        const T count = gh <= INT64_MAX / gw ? (T)(gh * gw) : (T)gh * (T)gw;                     \
        const int nc = (int)(c1 - c0);                                                           \
        T acc[RA_CBLOCK], zero_tap[RA_CBLOCK];                                                   \
        for (int k = 0; k < nc; k++) /* an out-of-range sample's value: 0 * X[c, 0, 0] */         \
            zero_tap[k] = (T)0 * x[(c0 + k) * HW];                                               \
        for (int64_t ph = 0; ph < OH; ph++) {                                                    \
            int64_t iy0, iy1;                                                                    \
            ra_range_##SUF(sh, ph, bin_h, gh, H, &iy0, &iy1);                                    \
            for (int64_t pw = 0; pw < OW; pw++) {                                                \
                int64_t ix0, ix1;                                                                \
                ra_range_##SUF(sw, pw, bin_w, gw, W, &ix0, &ix1);                                \
                int any = iy1 > iy0 && ix1 > ix0;                                                \
                int has_out = !any || iy1 - iy0 < gh || ix1 - ix0 < gw;                          \
                int first_out = !(any && iy0 == 0 && ix0 == 0);                                  \
                int started = 0;                                                                 \
                for (int k = 0; k < nc; k++)                                                     \
                    acc[k] = 0;                                                                  \
                if (p->mode == RA_MAX && first_out) {                                            \
                    for (int k = 0; k < nc; k++)                                                 \
                        acc[k] = zero_tap[k];                                                    \
                    started = 1;                                                                 \
                }                                                                                \
                for (int64_t iy = any ? iy0 : iy1; iy < iy1; iy++) {                             \
                    int64_t ylo, yhi;                                                            \
                    T ly;                                                                        \
                    ra_tap_##SUF(ra_coord_##SUF(sh, ph, bin_h, iy, gh), H, &ylo, &yhi, &ly);     \
                    const T hy = (T)1 - ly;                                                      \
                    for (int64_t ix = ix0; ix < ix1; ix++) {                                     \
                        int64_t xlo, xhi;                                                        \
                        T lx;                                                                    \
                        ra_tap_##SUF(ra_coord_##SUF(sw, pw, bin_w, ix, gw), W, &xlo, &xhi, &lx); \
                        const T hx = (T)1 - lx;                                                  \
                        const T w1 = hy * hx, w2 = hy * lx, w3 = ly * hx, w4 = ly * lx;          \
                        const int64_t p1 = ylo * W + xlo, p2 = ylo * W + xhi;                    \
                        const int64_t p3 = yhi * W + xlo, p4 = yhi * W + xhi;                    \
                        const T *d = x + c0 * HW;                                                \
                        if (p->mode == RA_AVG) {                                                 \
                            for (int k = 0; k < nc; k++, d += HW)                                \
                                acc[k] += w1 * d[p1] + w2 * d[p2] + w3 * d[p3] + w4 * d[p4];     \
                        } else {                                                                 \
                            for (int k = 0; k < nc; k++, d += HW) {                              \
                                T v = ra_max_##SUF(                                              \
                                    ra_max_##SUF(ra_max_##SUF(w1 * d[p1], w2 * d[p2]), w3 * d[p3]), \
                                    w4 * d[p4]);                                                 \
                                acc[k] = started ? ra_max_##SUF(acc[k], v) : v;                  \
                            }                                                                    \
                        }                                                                        \
                        started = 1;                                                             \
                    }                                                                            \
                }                                                                                \
                T *out = y + c0 * OHW + ph * OW + pw;                                            \
                for (int k = 0; k < nc; k++) {                                                   \
                    T v = acc[k];                                                                \
                    if (p->mode == RA_AVG) {                                                     \
                        if (has_out) /* w1..w4 = 0 on X[c, 0, 0]: +-0, or NaN if it is not finite */ \
                            v += zero_tap[k] + zero_tap[k] + zero_tap[k] + zero_tap[k];          \
                        v /= count;                                                              \
                    } else if (has_out && !first_out) {                                          \
                        v = ra_max_##SUF(v, zero_tap[k]);                                        \
                    }                                                                            \
                    out[k * OHW] = v;                                                            \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
    static void ra_run_##SUF(const odet_op_ctx *ctx, const ra_params *p, int nt)                 \
    {                                                                                            \
        const odet_tensor *tx = ctx->in[0];                                                      \
        const T *x = ctx->in[0]->data, *rois = ctx->in[1]->data;                                 \
        const int64_t *bi = ctx->in[2]->data;                                                    \
        T *y = ctx->out[0]->data;                                                                \
        const int64_t C = tx->dims[1], H = tx->dims[2], W = tx->dims[3];                         \
        const int64_t R = ctx->in[1]->dims[0], OHW = p->out_h * p->out_w;                        \
        const int64_t nblk = (C + RA_CBLOCK - 1) / RA_CBLOCK, tasks = R * nblk;                  \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)")             \
        for (int64_t t = 0; t < tasks; t++) {                                                    \
            int64_t r = t / nblk, c0 = t % nblk * RA_CBLOCK;                                     \
            int64_t c1 = c0 + RA_CBLOCK < C ? c0 + RA_CBLOCK : C;                                \
            ra_roi_##SUF(p, rois + 4 * r, x + bi[r] * C * H * W, H, W, c0, c1,                   \
                         y + r * C * OHW);                                                       \
        }                                                                                        \
    }

RA_DEFINE(float, f32, ceilf)
RA_DEFINE(double, f64, ceil)

static odet_status ra_run(odet_op_ctx *ctx)
{
    const ra_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0], *bi = ctx->in[2];
    const odet_tensor *y = ctx->out[0];
    int64_t R = bi->dims[0], N = x->dims[0];
    const int64_t *b = bi->data;
    for (int64_t r = 0; r < R; r++)
        if (b[r] < 0 || b[r] >= N)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "batch_indices[%lld] = %lld is out of range [0, %lld)",
                                (long long)r, (long long)b[r], (long long)N);
    if (odet_tensor_numel(y) == 0)
        return ODET_OK;
    /* Estimated taps: sampling_ratio^2 per bin, or ~4 for adaptive grids. */
    double spb = p->sampling_ratio > 0 ? (double)p->sampling_ratio * (double)p->sampling_ratio : 4.0;
    int nt = (double)odet_tensor_numel(y) * spb < RA_PAR_MIN_WORK ? 1 : ctx->threads;
    if (x->dtype == ODET_DOUBLE)
        ra_run_f64(ctx, p, nt);
    else
        ra_run_f32(ctx, p, nt);
    return ODET_OK;
}

const odet_op_def odet_ops_roi_align[] = {
    /* Opset 10: output_half_pixel only; opset 16 adds coordinate_transformation_mode. */
    {"RoiAlign", "", 10, 0, 0, ra_prepare, NULL, ra_infer, NULL, ra_run},
    {"RoiAlign", "", 16, 0, 0, ra_prepare, NULL, ra_infer, NULL, ra_run},
    {0},
};
