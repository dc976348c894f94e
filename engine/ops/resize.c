/* Resize (opset 10, 11, 13, 18, 19) and Upsample (opset 7, 9).
 *
 * Every axis is resized independently: for each output position along an axis
 * a small table of taps (input index, weight) is computed once per run from the
 * coordinate transformation, then the output is the tensor product of the
 * per-axis taps. This mirrors the ONNX reference (onnx/backend/test/case/node/
 * resize.py): x_original is computed in double, ratio in (0, 1] (an integral
 * x_original uses the pixel to its left with ratio 1), out-of-range taps take
 * the edge value, exclude_outside zeroes and renormalises them. length_resized
 * in align_corners / pytorch_half_pixel / tf_crop_and_resize is scale * length
 * (not necessarily an integer) when scales are given, the size when sizes are.
 * Output sizes are floor(length * scale) computed in double; roi does not enter
 * them (as in the ONNX reference and ONNX Runtime). pytorch_half_pixel maps a
 * length-1 output to 0 as the spec says.
 *
 * Antialias (opset 18) widens the linear / cubic filter by 1 / scale when
 * downsampling, normalised, like the ONNX reference; with exclude_outside = 1 it
 * equals PyTorch's antialias=True (bicubic there uses cubic_coeff_a = -0.5).
 *
 * Kernels:
 *   nearest, any fixed-size dtype: a gather, one index table per axis; an output
 *     row equal to the previous one (integral upsampling) is a memcpy.
 *   linear / cubic, float and double:
 *     - at most two adjacent axes resized, the last one innermost (NCHW images):
 *       per output row, the source rows are blended first (contiguous), then
 *       the horizontal taps gathered;
 *     - two adjacent axes followed by identity axes (NHWC): contiguous vectors;
 *     - any other set of axes: the direct N-D tensor product (reference path).
 *
 * Resize-10 and Upsample use asymmetric coordinates; their nearest mode rounds
 * down when upsampling and up when downsampling (ONNX Runtime's behaviour for
 * these opsets, and what the ONNX Upsample tests expect).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/elem.h"
#include "ops/op.h"

#ifdef _OPENMP
#include <omp.h>
#endif

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };

enum {
    CT_HALF_PIXEL,
    CT_HALF_PIXEL_SYMMETRIC,
    CT_PYTORCH_HALF_PIXEL,
    CT_ALIGN_CORNERS,
    CT_ASYMMETRIC,
    CT_TF_HALF_PIXEL_FOR_NN,
    CT_TF_CROP_AND_RESIZE
};

enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_LEGACY };

enum { KA_STRETCH, KA_NOT_LARGER, KA_NOT_SMALLER };

typedef struct rs_params {
    int mode, coord, nearest, keep;
    double cubic_a, extrapolation;
    int exclude_outside, antialias;
    int n_axes;                        /* 0: all axes */
    int64_t axes[ODET_MAX_RANK];
    int n_attr_scales;                 /* Upsample-7: scales attribute, else 0 */
    double attr_scales[ODET_MAX_RANK];
    int i_roi, i_scales, i_sizes;      /* input positions; -1 when the opset has none */
} rs_params;

/* Resolved per-axis geometry of one call. */
typedef struct rs_geom {
    int rank;
    int64_t in[ODET_MAX_RANK], out[ODET_MAX_RANK];
    double scale[ODET_MAX_RANK];   /* scale used by the coordinate transformation */
    double len[ODET_MAX_RANK];     /* length_resized: scale * in, or the given size */
    double roi_lo[ODET_MAX_RANK], roi_hi[ODET_MAX_RANK];
} rs_geom;

/* Taps of one axis: for output position j, taps idx[j*k + t] with weight w[j*k + t].
 * ext[j] != 0: the position lies outside the input (tf_crop_and_resize) and the
 * output is extrapolation_value. */
typedef struct rs_axis {
    int k;
    int identity;      /* out == in and every position j reads exactly input j */
    int64_t *idx;
    void *w;           /* float or double (the element type); NULL for nearest */
    uint8_t *ext;
    int any_ext;       /* some ext[j] != 0 */
} rs_axis;

/* ------------------------------------------------------------------ prepare */

static int parse_enum(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static odet_status rs_prepare(odet_node *node, char *err, size_t errlen)
{
    rs_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    int upsample = strcmp(node->op_type, "Upsample") == 0;
    int legacy = upsample || node->opset < 11;
    odet_status st = ODET_ERR_UNSUPPORTED; /* status of the failure paths below */

    const char *mode = odet_attr_string(node, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0) {
        p->mode = RS_NEAREST;
    } else if (strcmp(mode, "linear") == 0 || (upsample && strcmp(mode, "bilinear") == 0)) {
        p->mode = RS_LINEAR;
    } else if (!legacy && strcmp(mode, "cubic") == 0) {
        p->mode = RS_CUBIC;
    } else {
        odet_node_fail(node, err, errlen, st, "mode '%s' is not supported%s", mode,
                       legacy ? " (expected 'nearest' or 'linear')"
                              : " (expected 'nearest', 'linear' or 'cubic')");
        goto fail;
    }

    if (legacy) {
        p->coord = CT_ASYMMETRIC;
        p->nearest = NM_LEGACY;
        p->keep = KA_STRETCH;
        p->i_roi = p->i_sizes = -1;
        p->i_scales = 1;
        if (upsample && node->opset < 9) {
            size_t n = 0;
            const float *s = odet_attr_floats(node, "scales", &n);
            if (!s || n == 0 || n > ODET_MAX_RANK) {
                st = ODET_ERR_INVALID_ARG;
                odet_node_fail(node, err, errlen, st,
                               "attribute 'scales' is required (1 to %d values)", ODET_MAX_RANK);
                goto fail;
            }
            p->n_attr_scales = (int)n;
            for (size_t i = 0; i < n; i++)
                p->attr_scales[i] = s[i];
            p->i_scales = -1;
        }
        node->params = p;
        return ODET_OK;
    }

    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric",
                                         "pytorch_half_pixel", "align_corners", "asymmetric",
                                         "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil"};
    static const char *const keeps[] = {"stretch", "not_larger", "not_smaller"};
    const char *s = odet_attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if ((p->coord = parse_enum(s, coords, 7)) < 0) {
        odet_node_fail(node, err, errlen, st, "coordinate_transformation_mode '%s' is not supported",
                       s);
        goto fail;
    }
    s = odet_attr_string(node, "nearest_mode", "round_prefer_floor");
    if ((p->nearest = parse_enum(s, nearests, 4)) < 0) {
        odet_node_fail(node, err, errlen, st, "nearest_mode '%s' is not supported", s);
        goto fail;
    }
    s = odet_attr_string(node, "keep_aspect_ratio_policy", "stretch");
    if ((p->keep = parse_enum(s, keeps, 3)) < 0) {
        odet_node_fail(node, err, errlen, st, "keep_aspect_ratio_policy '%s' is not supported", s);
        goto fail;
    }
    p->cubic_a = odet_attr_float(node, "cubic_coeff_a", -0.75f);
    p->exclude_outside = odet_attr_int(node, "exclude_outside", 0) != 0;
    p->extrapolation = odet_attr_float(node, "extrapolation_value", 0.0f);
    p->antialias = odet_attr_int(node, "antialias", 0) != 0;
    size_t na = 0;
    const int64_t *axes = odet_attr_ints(node, "axes", &na);
    if (axes) {
        if (na == 0 || na > ODET_MAX_RANK) {
            st = ODET_ERR_INVALID_ARG;
            odet_node_fail(node, err, errlen, st,
                           "attribute 'axes' must have 1 to %d values", ODET_MAX_RANK);
            goto fail;
        }
        p->n_axes = (int)na;
        memcpy(p->axes, axes, na * sizeof *axes);
    }
    p->i_roi = 1;
    p->i_scales = 2;
    p->i_sizes = 3;
    node->params = p;
    return ODET_OK;
fail:
    free(p);
    return st;
}

/* ----------------------------------------------------------------- geometry */

static const odet_tensor *opt_input(const odet_op_ctx *ctx, int i)
{
    if (i < 0 || i >= ctx->n_in || !ctx->in[i] || odet_tensor_numel(ctx->in[i]) == 0)
        return NULL;
    return ctx->in[i];
}

/* Read a 1-D float tensor (float, double, float16) into out[]; count or -1. */
static int read_reals(const odet_tensor *t, double *out, int max)
{
    if (t->rank > 1 || !t->data)
        return -1;
    int64_t n = odet_tensor_numel(t);
    if (n > max)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case ODET_FLOAT: out[i] = ((const float *)t->data)[i]; break;
        case ODET_DOUBLE: out[i] = ((const double *)t->data)[i]; break;
        case ODET_FLOAT16: out[i] = odet_f16_to_f32(((const uint16_t *)t->data)[i]); break;
        default: return -1;
        }
    }
    return (int)n;
}

static odet_status rs_geometry(const odet_op_ctx *ctx, rs_geom *g)
{
    const rs_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    int rank = x->rank;
    g->rank = rank;

    int axes[ODET_MAX_RANK], n = rank;
    if (p->n_axes > 0) {
        n = p->n_axes;
        int seen = 0;
        for (int i = 0; i < n; i++) {
            if (odet_norm_axis(p->axes[i], rank, &axes[i]) != 0)
                return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                    "axis %lld is out of range for rank %d",
                                    (long long)p->axes[i], rank);
            if (seen & (1 << axes[i]))
                return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is repeated",
                                    (long long)p->axes[i]);
            seen |= 1 << axes[i];
        }
    } else {
        for (int i = 0; i < rank; i++)
            axes[i] = i;
    }
    for (int a = 0; a < rank; a++) {
        g->in[a] = g->out[a] = x->dims[a];
        g->scale[a] = 1.0;
        g->len[a] = (double)x->dims[a];
        g->roi_lo[a] = 0.0;
        g->roi_hi[a] = 1.0;
    }

    double vals[ODET_MAX_RANK];
    const odet_tensor *ts = opt_input(ctx, p->i_scales);
    const odet_tensor *tz = opt_input(ctx, p->i_sizes);
    if (ts && tz)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "only one of 'scales' and 'sizes' may be given");
    if (p->n_attr_scales > 0 || ts) {
        int cnt = p->n_attr_scales;
        if (ts) {
            cnt = read_reals(ts, vals, ODET_MAX_RANK);
            if (cnt < 0)
                return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                    "input 'scales' must be a 1-D float tensor of at most %d "
                                    "values, got %s rank %d", ODET_MAX_RANK,
                                    odet_dtype_name(ts->dtype), ts->rank);
        } else {
            memcpy(vals, p->attr_scales, sizeof vals);
        }
        if (cnt != n)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "'scales' has %d values, expected %d", cnt,
                                n);
        for (int i = 0; i < n; i++) {
            int a = axes[i];
            double s = vals[i];
            if (!(s > 0.0) || !isfinite(s))
                return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "scale %g of axis %d must be > 0",
                                    s, a);
            double o = floor(s * (double)g->in[a]);
            if (o > (double)ODET_MAX_TENSOR_ELEMS)
                return odet_op_fail(ctx, ODET_ERR_LIMIT, "scale %g makes axis %d too large", s,
                                    a);
            g->out[a] = (int64_t)o;
            g->scale[a] = s;
            g->len[a] = s * (double)g->in[a];
        }
    } else if (tz) {
        int64_t sz[ODET_MAX_RANK];
        int cnt = odet_tensor_read_ints(tz, sz, ODET_MAX_RANK);
        if (cnt < 0 || tz->dtype != ODET_INT64)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "input 'sizes' must be a 1-D int64 tensor of at most %d values, "
                                "got %s rank %d", ODET_MAX_RANK, odet_dtype_name(tz->dtype),
                                tz->rank);
        if (cnt != n)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "'sizes' has %d values, expected %d", cnt,
                                n);
        for (int i = 0; i < n; i++) {
            if (sz[i] < 0 || sz[i] > ODET_MAX_TENSOR_ELEMS)
                return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "size %lld of axis %d is invalid",
                                    (long long)sz[i], axes[i]);
            if (sz[i] > 0 && g->in[axes[i]] == 0)
                return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                    "cannot resize the empty axis %d to size %lld", axes[i],
                                    (long long)sz[i]);
        }
        if (p->keep == KA_STRETCH) {
            for (int i = 0; i < n; i++) {
                int a = axes[i];
                g->out[a] = sz[i];
                g->len[a] = (double)sz[i];
                g->scale[a] = g->in[a] > 0 ? (double)sz[i] / (double)g->in[a] : 1.0;
            }
        } else {
            double s = 0.0;
            int first = 1;
            for (int i = 0; i < n; i++) {
                int a = axes[i];
                if (g->in[a] == 0)
                    continue;
                double si = (double)sz[i] / (double)g->in[a];
                if (first || (p->keep == KA_NOT_LARGER ? si < s : si > s))
                    s = si;
                first = 0;
            }
            if (first)
                s = 1.0;
            for (int i = 0; i < n; i++) {
                int a = axes[i];
                double o = floor(s * (double)g->in[a] + 0.5);
                if (o > (double)ODET_MAX_TENSOR_ELEMS)
                    return odet_op_fail(ctx, ODET_ERR_LIMIT, "axis %d becomes too large", a);
                g->out[a] = (int64_t)o;
                g->scale[a] = s;
                g->len[a] = s * (double)g->in[a];
            }
        }
    } else {
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "one of 'scales' and 'sizes' must be given (non-empty)");
    }
    for (int a = 0; a < rank; a++)
        if (g->scale[a] == 0.0) /* size 0: no positions are ever mapped */
            g->scale[a] = 1.0;

    const odet_tensor *tr = p->coord == CT_TF_CROP_AND_RESIZE ? opt_input(ctx, p->i_roi) : NULL;
    if (tr) {
        double roi[2 * ODET_MAX_RANK];
        int cnt = read_reals(tr, roi, 2 * ODET_MAX_RANK);
        if (cnt < 0)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "input 'roi' must be a 1-D float tensor, got %s rank %d",
                                odet_dtype_name(tr->dtype), tr->rank);
        if (cnt != 2 * n)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "'roi' has %d values, expected %d", cnt,
                                2 * n);
        for (int i = 0; i < n; i++) {
            g->roi_lo[axes[i]] = roi[i];
            g->roi_hi[axes[i]] = roi[n + i];
        }
    }
    if (odet_dims_numel_checked(rank, g->out) < 0)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "output is too large");
    return ODET_OK;
}

/* x_original of output position x along axis a. */
static double rs_coord(const rs_params *p, const rs_geom *g, int a, int64_t x)
{
    double s = g->scale[a], len = g->len[a], in = (double)g->in[a], xf = (double)x;
    switch (p->coord) {
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)g->out[a] / len;
        return in / 2 * (1.0 - adj) + (xf + 0.5) / s - 0.5;
    }
    case CT_PYTORCH_HALF_PIXEL:
        return len > 1.0 ? (xf + 0.5) / s - 0.5 : 0.0;
    case CT_ALIGN_CORNERS:
        return len == 1.0 ? 0.0 : xf * (in - 1.0) / (len - 1.0);
    case CT_ASYMMETRIC:
        return xf / s;
    case CT_TF_HALF_PIXEL_FOR_NN:
        return (xf + 0.5) / s;
    case CT_TF_CROP_AND_RESIZE: {
        double lo = g->roi_lo[a], hi = g->roi_hi[a];
        if (len == 1.0)
            return 0.5 * (lo + hi) * (in - 1.0);
        return lo * (in - 1.0) + xf * (hi - lo) * (in - 1.0) / (len - 1.0);
    }
    case CT_HALF_PIXEL:
    default:
        return (xf + 0.5) / s - 0.5;
    }
}

/* First tap offset and tap count of linear/cubic interpolation at scale s. */
static void rs_tap_span(const rs_params *p, double s, int64_t *start, int64_t *n)
{
    double support = p->mode == RS_CUBIC ? 2.0 : 1.0;
    if (!p->antialias || s >= 1.0) {
        *start = p->mode == RS_CUBIC ? -1 : 0;
        *n = p->mode == RS_CUBIC ? 4 : 2;
        return;
    }
    *start = (int64_t)floor(-support / s) + 1;
    *n = 2 - 2 * *start;
}

/* Upper bound of the tap count of an axis from its lengths alone (scratch size):
 * every way of choosing the scale gives s >= (out - 0.5) / in. */
static int64_t rs_tap_bound(const rs_params *p, int64_t in, int64_t out)
{
    if (p->mode == RS_NEAREST)
        return 1;
    double s_lb = in > 0 && out > 0 ? ((double)out - 0.5) / (double)in : 1.0;
    if (!p->antialias || s_lb >= 1.0)
        return p->mode == RS_CUBIC ? 4 : 2;
    double support = p->mode == RS_CUBIC ? 2.0 : 1.0;
    return 2 * (int64_t)ceil(support / s_lb) + 4;
}

/* Cubic convolution kernel at distance d >= 0 (Keys, parameter A). */
static double cubic_kernel(double d, double A)
{
    if (d <= 1.0)
        return ((A + 2.0) * d - (A + 3.0)) * d * d + 1.0;
    if (d < 2.0)
        return ((A * d - 5.0 * A) * d + 8.0 * A) * d - 4.0 * A;
    return 0.0;
}

static int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Bound |x| so the conversions to int64 below are defined; positions that far
 * outside only ever read the edge. */
static double clamp_coord(double x, int64_t in)
{
    double lim = (double)in + 1e6;
    if (isnan(x))
        return 0.0;
    return x < -lim ? -lim : x > lim ? lim : x;
}

static int64_t rs_nearest_index(const rs_params *p, double x, double s, int64_t in)
{
    double f = floor(x);
    int64_t i;
    if (x == f) {
        i = (int64_t)f;
    } else {
        double r = x - f;
        switch (p->nearest) {
        case NM_ROUND_PREFER_CEIL: i = (int64_t)f + (r >= 0.5); break;
        case NM_FLOOR: i = (int64_t)f; break;
        case NM_CEIL: i = (int64_t)f + 1; break;
        case NM_LEGACY: i = (int64_t)f + (s < 1.0); break;
        case NM_ROUND_PREFER_FLOOR:
        default: i = (int64_t)f + (r > 0.5); break;
        }
    }
    return clamp_i64(i, 0, in - 1);
}

/* Fill the taps of axis a. `dbl` selects double weights. */
static void rs_build_axis(const rs_params *p, const rs_geom *g, int a, int dbl, rs_axis *ax)
{
    int64_t in = g->in[a], out = g->out[a];
    int k = ax->k;
    int identity = in == out;
    for (int64_t j = 0; j < out; j++) {
        double x = clamp_coord(rs_coord(p, g, a, j), in);
        int64_t *idx = ax->idx + j * k;
        ax->ext[j] = p->coord == CT_TF_CROP_AND_RESIZE && (x < 0.0 || x > (double)(in - 1));
        if (ax->ext[j]) {
            identity = 0;
            for (int t = 0; t < k; t++) {
                idx[t] = 0;
                if (ax->w && dbl)
                    ((double *)ax->w)[j * k + t] = 0.0;
                else if (ax->w)
                    ((float *)ax->w)[j * k + t] = 0.0f;
            }
            continue;
        }
        if (p->mode == RS_NEAREST) {
            idx[0] = rs_nearest_index(p, x, g->scale[a], in);
            identity &= idx[0] == j;
            continue;
        }
        int64_t start, n;
        double s_eff = p->antialias && g->scale[a] < 1.0 ? g->scale[a] : 1.0;
        rs_tap_span(p, g->scale[a], &start, &n);
        if (n > k) /* cannot happen: k is the bound */
            n = k;
        int64_t i0 = (int64_t)ceil(x) - 1; /* ratio in (0, 1] */
        double r = x - (double)i0, sum = 0.0;
        int hit = 0; /* some tap reads input j with weight 1 */
        for (int pass = 0; pass < 2; pass++) {
            for (int64_t t = 0; t < k; t++) {
                double cf = 0.0;
                int64_t pos = i0 + start + (t < n ? t : 0);
                if (t < n) {
                    double d = fabs(((double)(start + t) - r) * s_eff);
                    cf = p->mode == RS_CUBIC ? cubic_kernel(d, p->cubic_a)
                                             : (d < 1.0 ? 1.0 - d : 0.0);
                    if (p->exclude_outside && (pos < 0 || pos >= in))
                        cf = 0.0;
                }
                if (pass == 0) {
                    sum += cf;
                    continue;
                }
                if ((p->exclude_outside || s_eff < 1.0) && sum != 0.0)
                    cf /= sum;
                pos = clamp_i64(pos, 0, in - 1);
                idx[t] = pos;
                if (dbl)
                    ((double *)ax->w)[j * k + t] = cf;
                else
                    ((float *)ax->w)[j * k + t] = (float)cf;
                if (cf != 0.0 && (pos != j || cf != 1.0))
                    identity = 0;
                hit |= pos == j && cf == 1.0;
            }
        }
        identity &= hit;
    }
    if (identity && p->mode != RS_NEAREST) {
        /* every position j has weight 1 on input j (the weights at j sum to 1
         * since no other tap is non-zero): compact to one tap */
        for (int64_t j = 0; j < out; j++) {
            ax->idx[j] = j;
            if (dbl)
                ((double *)ax->w)[j] = 1.0;
            else
                ((float *)ax->w)[j] = 1.0f;
        }
        ax->k = 1;
    }
    ax->identity = identity;
    ax->any_ext = 0;
    for (int64_t j = 0; j < out; j++)
        ax->any_ext |= ax->ext[j];
}

/* -------------------------------------------------------------------- infer */

static int rs_dtype_ok(const rs_params *p, odet_dtype dt)
{
    if (p->mode != RS_NEAREST)
        return dt == ODET_FLOAT || dt == ODET_DOUBLE;
    size_t sz = odet_dtype_size(dt);
    return dt != ODET_STRING && (sz == 1 || sz == 2 || sz == 4 || sz == 8);
}

static odet_status rs_infer(odet_op_ctx *ctx)
{
    const rs_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    if (!x)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "input 0 'X' is missing");
    if (!rs_dtype_ok(p, x->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input 0 'X' has dtype %s, which %s mode does not support",
                            odet_dtype_name(x->dtype),
                            p->mode == RS_NEAREST ? "nearest"
                            : p->mode == RS_LINEAR ? "linear" : "cubic");
    rs_geom g;
    odet_status st = rs_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    odet_set_shape(ctx->out[0], x->dtype, g.rank, g.out);
    return ODET_OK;
}

/* ------------------------------------------------------------------ scratch */

#define RS_ALIGN(n) (((n) + 63) & ~(size_t)63)

static size_t rs_axis_bytes(const rs_params *p, int64_t in, int64_t out, size_t wsize)
{
    int64_t bound = rs_tap_bound(p, in, out); /* run() refuses more than 2^24 */
    size_t k = (size_t)(bound < (1 << 24) ? bound : (1 << 24)), o = (size_t)out;
    size_t b = RS_ALIGN(o * k * sizeof(int64_t)) + RS_ALIGN(o);
    if (p->mode != RS_NEAREST)
        b += RS_ALIGN(o * k * wsize);
    return b;
}

static size_t rs_scratch(const odet_op_ctx *ctx)
{
    const rs_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0], *y = ctx->out[0];
    size_t ws = x->dtype == ODET_DOUBLE ? 8 : 4, b = 64;
    for (int a = 0; a < x->rank; a++)
        b += rs_axis_bytes(p, x->dims[a], y->dims[a], ws);
    return b;
}

/* ------------------------------------------------------------ nearest kernel */

/* out-row r (all axes but the last) -> input row offset, or -1 if extrapolated. */
static int64_t rs_row_offset(const rs_geom *g, const rs_axis *ax, const int64_t *istride,
                             int64_t r)
{
    int64_t off = 0;
    for (int a = g->rank - 2; a >= 0; a--) {
        int64_t o = r % g->out[a];
        r /= g->out[a];
        if (ax[a].ext[o])
            return -1;
        off += ax[a].idx[o] * istride[a];
    }
    return off;
}

#define RS_GATHER(T)                                                                         \
    do {                                                                                     \
        const T *src_ = (const T *)x->data + off;                                            \
        T *dst_ = (T *)y->data + r * w_out;                                                  \
        T e_;                                                                                \
        memcpy(&e_, ext_val, sizeof e_);                                                     \
        if (!lx->any_ext)                                                                    \
            for (int64_t i_ = 0; i_ < w_out; i_++)                                           \
                dst_[i_] = src_[lx->idx[i_]];                                                \
        else                                                                                 \
            for (int64_t i_ = 0; i_ < w_out; i_++)                                           \
                dst_[i_] = lx->ext[i_] ? e_ : src_[lx->idx[i_]];                             \
    } while (0)

static void rs_nearest_run(const odet_op_ctx *ctx, const rs_geom *g, const rs_axis *ax)
{
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int rank = g->rank;
    size_t es = odet_dtype_size(x->dtype);
    unsigned char ext_val[8] = {0};
    odet_elem_store_f64(ext_val, x->dtype, ((const rs_params *)ctx->params)->extrapolation);
    if (rank == 0) {
        memcpy(y->data, x->data, es);
        return;
    }
    int64_t istride[ODET_MAX_RANK];
    odet_strides(rank, g->in, istride);
    int64_t w_out = g->out[rank - 1];
    int64_t rows = odet_dims_prod(g->out, 0, rank - 1);
    const rs_axis *lx = &ax[rank - 1];
    int nt = ctx->threads;
    if ((double)rows * (double)w_out < 32768.0)
        nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int tid = 0, tn = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        tn = omp_get_num_threads();
#endif
        int64_t lo = rows * tid / tn, hi = rows * (tid + 1) / tn, prev = -2;
        for (int64_t r = lo; r < hi; r++) {
            int64_t off = rs_row_offset(g, ax, istride, r);
            unsigned char *dst = (unsigned char *)y->data + (size_t)(r * w_out) * es;
            if (off == prev && r > lo) { /* same input row as the previous output row */
                memcpy(dst, dst - (size_t)w_out * es, (size_t)w_out * es);
                continue;
            }
            prev = off;
            if (off < 0) {
                for (int64_t i = 0; i < w_out; i++)
                    memcpy(dst + (size_t)i * es, ext_val, es);
                continue;
            }
            switch (es) {
            case 1: RS_GATHER(uint8_t); break;
            case 2: RS_GATHER(uint16_t); break;
            case 4: RS_GATHER(uint32_t); break;
            default: RS_GATHER(uint64_t); break;
            }
        }
    }
}

/* ---------------------------------------------------- linear / cubic kernels */

/* 2-D kernel: the last two axes (h, w) resized, all leading axes identity.
 * P planes of hi x wi -> ho x wo. An output row is made in chunks of columns:
 * first the kh source rows are blended over the input columns the chunk reads
 * (contiguous, vectorisable), then kw taps are gathered from that blend. A chunk
 * reading too wide a span (strong downsampling) is computed tap by tap. */
#define RS_CHUNK 256
#define RS_SPAN 2048
#define RS_DEFINE_2D(T, SUF)                                                                 \
    static void rs_row_##SUF(const T *src, int64_t wi, const int64_t *iy, const T *wy, int kh,  \
                             const rs_axis *aw, T *dst, int64_t wo, T extv)                      \
    {                                                                                            \
        const T *ww = aw->w;                                                                     \
        int kw = aw->k;                                                                          \
        T tmp[RS_SPAN];                                                                          \
        for (int64_t c0 = 0; c0 < wo; c0 += RS_CHUNK) {                                          \
            int64_t c1 = c0 + RS_CHUNK < wo ? c0 + RS_CHUNK : wo;                                \
            const int64_t *ix = aw->idx + c0 * kw;                                               \
            const T *wx = ww + c0 * kw;                                                          \
            int64_t n = (c1 - c0) * kw, lo = ix[0], hi = ix[0];                                  \
            for (int64_t t = 1; t < n; t++) {                                                    \
                lo = ix[t] < lo ? ix[t] : lo;                                                    \
                hi = ix[t] > hi ? ix[t] : hi;                                                    \
            }                                                                                    \
            const T *row;                                                                        \
            if (kh == 1 && wy[0] == 1) {                                                         \
                row = src + iy[0] * wi;                                                          \
            } else if (hi - lo < RS_SPAN) {                                                      \
                int64_t m = hi - lo + 1;                                                         \
                const T *r0 = src + iy[0] * wi + lo;                                             \
                T w0 = wy[0];                                                                    \
                for (int64_t i = 0; i < m; i++)                                                  \
                    tmp[i] = w0 * r0[i];                                                         \
                for (int ty = 1; ty < kh; ty++) {                                                \
                    const T *rt = src + iy[ty] * wi + lo;                                        \
                    T wt = wy[ty];                                                               \
                    for (int64_t i = 0; i < m; i++)                                              \
                        tmp[i] += wt * rt[i];                                                    \
                }                                                                                \
                row = tmp - lo;                                                                  \
            } else {                                                                             \
                for (int64_t ox = c0; ox < c1; ox++) {                                           \
                    const int64_t *jx = aw->idx + ox * kw;                                       \
                    const T *vx = ww + ox * kw;                                                  \
                    T acc = 0;                                                                   \
                    for (int ty = 0; ty < kh; ty++) {                                            \
                        const T *rt = src + iy[ty] * wi;                                         \
                        T h = 0;                                                                 \
                        for (int tx = 0; tx < kw; tx++)                                          \
                            h += vx[tx] * rt[jx[tx]];                                            \
                        acc += wy[ty] * h;                                                       \
                    }                                                                            \
                    dst[ox] = aw->ext[ox] ? extv : acc;                                          \
                }                                                                                \
                continue;                                                                        \
            }                                                                                    \
            if (kw == 2) {                                                                       \
                for (int64_t ox = c0; ox < c1; ox++, ix += 2, wx += 2)                           \
                    dst[ox] = wx[0] * row[ix[0]] + wx[1] * row[ix[1]];                           \
            } else if (kw == 1) {                                                                \
                for (int64_t ox = c0; ox < c1; ox++, ix++, wx++)                                 \
                    dst[ox] = wx[0] * row[ix[0]];                                                \
            } else if (kw == 4) {                                                                \
                for (int64_t ox = c0; ox < c1; ox++, ix += 4, wx += 4)                           \
                    dst[ox] = wx[0] * row[ix[0]] + wx[1] * row[ix[1]] + wx[2] * row[ix[2]] +     \
                              wx[3] * row[ix[3]];                                                \
            } else {                                                                             \
                for (int64_t ox = c0; ox < c1; ox++, ix += kw, wx += kw) {                       \
                    T acc = 0;                                                                   \
                    for (int tx = 0; tx < kw; tx++)                                              \
                        acc += wx[tx] * row[ix[tx]];                                             \
                    dst[ox] = acc;                                                               \
                }                                                                                \
            }                                                                                    \
            if (aw->any_ext)                                                                     \
                for (int64_t ox = c0; ox < c1; ox++)                                             \
                    if (aw->ext[ox])                                                             \
                        dst[ox] = extv;                                                          \
        }                                                                                        \
    }                                                                                            \
    static void rs_2d_##SUF(const odet_op_ctx *ctx, const T *in, T *out, int64_t P,          \
                            int64_t hi, int64_t wi, int64_t ho, int64_t wo, const rs_axis *ah,   \
                            const rs_axis *aw, T extv)                                           \
    {                                                                                            \
        const T *wh = ah->w;                                                                     \
        int kh = ah->k;                                                                          \
        int64_t rows = P * ho;                                                                   \
        int nt = (double)rows * (double)wo * (kh + aw->k) < 65536.0 ? 1 : ctx->threads;         \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static)")                 \
        for (int64_t r = 0; r < rows; r++) {                                                     \
            int64_t pl = r / ho, oy = r % ho;                                                    \
            T *dst = out + r * wo;                                                               \
            if (ah->ext[oy]) {                                                                   \
                for (int64_t ox = 0; ox < wo; ox++)                                              \
                    dst[ox] = extv;                                                              \
                continue;                                                                        \
            }                                                                                    \
            rs_row_##SUF(in + pl * hi * wi, wi, ah->idx + oy * kh, wh + oy * kh, kh, aw, dst,    \
                         wo, extv);                                                              \
        }                                                                                        \
    }

/* Two adjacent resized axes (h, w) followed by `inner` identity elements (e.g.
 * NHWC): every output position blends kh x kw contiguous input vectors. */
#define RS_DEFINE_INNER(T, SUF)                                                              \
    static void rs_inner_##SUF(const odet_op_ctx *ctx, const T *in, T *out, int64_t P,       \
                               int64_t hi, int64_t wi, int64_t ho, int64_t wo, int64_t inner,   \
                               const rs_axis *ah, const rs_axis *aw, T extv)                    \
    {                                                                                            \
        const T *wh = ah->w, *ww = aw->w;                                                        \
        int kh = ah->k, kw = aw->k;                                                              \
        int64_t rows = P * ho;                                                                   \
        int nt = (double)rows * (double)wo * (double)inner * kh * kw < 65536.0 ? 1 : ctx->threads; \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static)")                 \
        for (int64_t r = 0; r < rows; r++) {                                                     \
            int64_t pl = r / ho, oy = r % ho;                                                    \
            for (int64_t ox = 0; ox < wo; ox++) {                                                \
                T *dst = out + (r * wo + ox) * inner;                                            \
                T fill = ah->ext[oy] || aw->ext[ox] ? extv : 0;                                  \
                for (int64_t i = 0; i < inner; i++)                                              \
                    dst[i] = fill;                                                               \
                if (ah->ext[oy] || aw->ext[ox])                                                  \
                    continue;                                                                    \
                for (int ty = 0; ty < kh; ty++)                                                  \
                    for (int tx = 0; tx < kw; tx++) {                                            \
                        T w = wh[oy * kh + ty] * ww[ox * kw + tx];                               \
                        const T *src =                                                           \
                            in + ((pl * hi + ah->idx[oy * kh + ty]) * wi + aw->idx[ox * kw + tx]) \
                                     * inner;                                                    \
                        for (int64_t i = 0; i < inner; i++)                                      \
                            dst[i] += w * src[i];                                                \
                    }                                                                            \
            }                                                                                    \
        }                                                                                        \
    }

/* Reference N-D kernel: for every output element, the tensor product of the taps
 * of every non-identity axis. */
#define RS_DEFINE_ND(T, SUF)                                                                 \
    static void rs_nd_##SUF(const odet_op_ctx *ctx, const rs_geom *g, const rs_axis *ax,     \
                            const T *in, T *out, T extv)                                         \
    {                                                                                            \
        int rank = g->rank;                                                                      \
        int64_t istride[ODET_MAX_RANK];                                                          \
        odet_strides(rank, g->in, istride);                                                      \
        int64_t total = odet_dims_prod(g->out, 0, rank);                                         \
        double taps = 1.0;                                                                       \
        for (int a = 0; a < rank; a++)                                                           \
            taps *= ax[a].k;                                                                     \
        int nt = (double)total * taps < 32768.0 ? 1 : ctx->threads;                              \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static)")                 \
        for (int64_t e = 0; e < total; e++) {                                                    \
            int64_t o[ODET_MAX_RANK], rem = e;                                                   \
            int ext = 0;                                                                         \
            for (int a = rank - 1; a >= 0; a--) {                                                \
                o[a] = rem % g->out[a];                                                          \
                rem /= g->out[a];                                                                \
                ext |= ax[a].ext[o[a]];                                                          \
            }                                                                                    \
            if (ext) {                                                                           \
                out[e] = extv;                                                                   \
                continue;                                                                        \
            }                                                                                    \
            int t[ODET_MAX_RANK] = {0};                                                          \
            T acc = 0;                                                                           \
            for (;;) {                                                                           \
                int64_t off = 0;                                                                 \
                T wt = 1;                                                                        \
                for (int a = 0; a < rank; a++) {                                                 \
                    int64_t q = o[a] * ax[a].k + t[a];                                           \
                    off += ax[a].idx[q] * istride[a];                                            \
                    wt *= ((const T *)ax[a].w)[q];                                               \
                }                                                                                \
                acc += wt * in[off];                                                             \
                int a = rank - 1;                                                                \
                while (a >= 0 && ++t[a] == ax[a].k)                                              \
                    t[a--] = 0;                                                                  \
                if (a < 0)                                                                       \
                    break;                                                                       \
            }                                                                                    \
            out[e] = acc;                                                                        \
        }                                                                                        \
    }

RS_DEFINE_2D(float, f32)
RS_DEFINE_2D(double, f64)
RS_DEFINE_INNER(float, f32)
RS_DEFINE_INNER(double, f64)
RS_DEFINE_ND(float, f32)
RS_DEFINE_ND(double, f64)

static void rs_interp_run(const odet_op_ctx *ctx, const rs_geom *g, const rs_axis *ax)
{
    const rs_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int rank = g->rank, dbl = x->dtype == ODET_DOUBLE;
    int lo = rank, hi = -1; /* range of the resized (non-identity) axes */
    for (int a = 0; a < rank; a++)
        if (!ax[a].identity) {
            lo = a < lo ? a : lo;
            hi = a;
        }
    if (hi < 0) {
        memcpy(y->data, x->data, odet_tensor_bytes(x));
        return;
    }
    if (hi - lo > 1) {
        if (dbl)
            rs_nd_f64(ctx, g, ax, x->data, y->data, p->extrapolation);
        else
            rs_nd_f32(ctx, g, ax, x->data, y->data, (float)p->extrapolation);
        return;
    }
    /* view as P x h x w x inner with w = the last resized axis; a resized axis 0
     * gets a virtual h axis of length 1 */
    int64_t one_idx = 0;
    uint8_t no_ext = 0;
    float one_f = 1.0f;
    double one_d = 1.0;
    rs_axis hv = {1, 1, &one_idx, dbl ? (void *)&one_d : (void *)&one_f, &no_ext, 0};
    int w = hi, h = hi - 1;
    const rs_axis *ah = h >= 0 ? &ax[h] : &hv, *aw = &ax[w];
    int64_t hin = h >= 0 ? g->in[h] : 1, hout = h >= 0 ? g->out[h] : 1;
    int64_t P = odet_dims_prod(g->in, 0, h >= 0 ? h : 0);
    int64_t inner = odet_dims_prod(g->in, w + 1, rank);
    if (inner == 1 && dbl)
        rs_2d_f64(ctx, x->data, y->data, P, hin, g->in[w], hout, g->out[w], ah, aw,
                  p->extrapolation);
    else if (inner == 1)
        rs_2d_f32(ctx, x->data, y->data, P, hin, g->in[w], hout, g->out[w], ah, aw,
                  (float)p->extrapolation);
    else if (dbl)
        rs_inner_f64(ctx, x->data, y->data, P, hin, g->in[w], hout, g->out[w], inner, ah, aw,
                     p->extrapolation);
    else
        rs_inner_f32(ctx, x->data, y->data, P, hin, g->in[w], hout, g->out[w], inner, ah, aw,
                     (float)p->extrapolation);
}

static odet_status rs_run(odet_op_ctx *ctx)
{
    const rs_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    rs_geom g;
    odet_status st = rs_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    for (int a = 0; a < g.rank; a++)
        if (g.out[a] != y->dims[a])
            return odet_op_fail(ctx, ODET_ERR_INTERNAL, "output shape changed since planning");
    if (odet_tensor_numel(y) == 0)
        return ODET_OK;
    if (g.rank == 0) {
        memcpy(y->data, x->data, odet_dtype_size(x->dtype));
        return ODET_OK;
    }

    int dbl = x->dtype == ODET_DOUBLE;
    size_t ws = dbl ? 8 : 4;
    unsigned char *sp = ctx->scratch;
    size_t need = rs_scratch(ctx);
    if (!sp || ctx->scratch_bytes < need)
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch of %zu bytes missing", need);
    sp = (unsigned char *)(((uintptr_t)sp + 63) & ~(uintptr_t)63);
    rs_axis ax[ODET_MAX_RANK];
    for (int a = 0; a < g.rank; a++) {
        int64_t bound = rs_tap_bound(p, g.in[a], g.out[a]), start, n = 1;
        if (bound > (1 << 24))
            return odet_op_fail(ctx, ODET_ERR_LIMIT,
                                "antialiasing axis %d from %lld to %lld needs too many taps", a,
                                (long long)g.in[a], (long long)g.out[a]);
        if (p->mode != RS_NEAREST)
            rs_tap_span(p, g.scale[a], &start, &n);
        if (n > bound)
            return odet_op_fail(ctx, ODET_ERR_INTERNAL, "axis %d needs %lld taps, bound %lld",
                                a, (long long)n, (long long)bound);
        size_t o = (size_t)g.out[a];
        ax[a].k = (int)n;
        ax[a].idx = (int64_t *)sp;
        sp += RS_ALIGN(o * (size_t)bound * sizeof(int64_t));
        ax[a].ext = sp;
        sp += RS_ALIGN(o);
        ax[a].w = NULL;
        if (p->mode != RS_NEAREST) {
            ax[a].w = sp;
            sp += RS_ALIGN(o * (size_t)bound * ws);
        }
        rs_build_axis(p, &g, a, dbl, &ax[a]);
    }
    if (p->mode == RS_NEAREST)
        rs_nearest_run(ctx, &g, ax);
    else
        rs_interp_run(ctx, &g, ax);
    return ODET_OK;
}

#define RS_RUN rs_prepare, NULL, rs_infer, rs_scratch, rs_run

const odet_op_def odet_ops_resize[] = {
    {"Upsample", "", 7, 0, 0, RS_RUN},
    {"Upsample", "", 9, 0, 1u << 1, RS_RUN},
    {"Resize", "", 10, 0, 1u << 1, RS_RUN},
    {"Resize", "", 11, 0, (1u << 1) | (1u << 2) | (1u << 3), RS_RUN},
    {0},
};
