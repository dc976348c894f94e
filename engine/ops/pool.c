/* Pooling operators: MaxPool, AveragePool, LpPool and their Global variants.
 *
 * Inputs are N x C x D1 [x D2 [x D3]] (1 to 3 spatial dims). Internally every
 * pool is viewed as 3-D (D, H, W) with unit leading dims.
 *
 * Three implementations (choose_path picks one):
 *   - *_ref: the direct window loop. It is the reference and also serves
 *     MaxPool's Indices output and rows too wide for the line buffer.
 *   - *_sep: separable. For one output row it first reduces the valid (d, h)
 *     input rows into a line buffer (max, sum, or sum of |x|^p), then slides
 *     the W window over the line. The cost per output is about kD*kH + kW
 *     instead of kD*kH*kW. Interior windows run as vectorized loops over the
 *     output row.
 *   - maxpool_plane_*: 2-D MaxPool with stride 1 and no dilation, the SPP/SPPF
 *     blocks of detectors (k = 5, 9, 13 with same padding on small maps). Each
 *     plane is copied into a padded scratch buffer and reduced in place along
 *     rows and then columns with log2(k) + 1 long flat passes each.
 *
 * Output size along a dim with input n, kernel extent e = (k-1)*dilation+1:
 *   explicit pads / VALID: floor or ceil((n + pb + pe - e) / s) + 1, and with
 *     ceil_mode the last window must start inside the input or left padding;
 *   SAME_UPPER / SAME_LOWER: ceil(n / s), pads split with the odd one at the
 *     end (UPPER) or the beginning (LOWER).
 * Padded positions never win a max; AveragePool divides by the count of input
 * taps, or with count_include_pad by the taps inside [-pb, n + pe).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

#define POOL_PAR_MIN 16384      /* output elements (times window) before threading */
#define POOL_LINE_BYTES 16384   /* line buffer of the separable path, on the stack */

enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP };
enum pool_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

typedef struct pool_params {
    int kind;
    int global;
    int nsp;                 /* spatial dims of kernel_shape (0 for global pools) */
    int64_t k[3], s[3], d[3], pads[6];
    int auto_pad, ceil_mode, count_include_pad, storage_order;
    double p;                /* LpPool exponent */
} pool_params;

/* Geometry of one pool, padded to 3 spatial dims (index 0 = D, 1 = H, 2 = W). */
typedef struct pool_geom {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
} pool_geom;

/* ---------------------------------------------------------------- attributes */

static odet_status read_dims(odet_node *node, char *err, size_t errlen, const char *name,
                             int n, int64_t *dst, int64_t def, int64_t min)
{
    size_t cnt;
    const int64_t *v = odet_attr_ints(node, name, &cnt);
    for (int i = 0; i < n; i++)
        dst[i] = def;
    if (!v)
        return ODET_OK;
    if ((int)cnt != n)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute '%s' has %zu values, expected %d", name, cnt, n);
    for (int i = 0; i < n; i++) {
        if (v[i] < min)
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "attribute '%s' value %lld must be >= %lld", name,
                                  (long long)v[i], (long long)min);
        dst[i] = v[i];
    }
    return ODET_OK;
}

static odet_status pool_prepare_kind(odet_node *node, char *err, size_t errlen, int kind,
                                     int global)
{
    pool_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->kind = kind;
    p->global = global;
    odet_status st = ODET_OK;
    if (kind == POOL_LP) {
        const odet_attr *a = odet_attr_find(node, "p");
        p->p = !a ? 2.0 : a->type == ODET_ATTR_FLOAT ? (double)a->f : (double)a->i;
        if (!(p->p > 0.0)) {
            st = odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                "p must be positive, got %g", p->p);
            goto fail;
        }
    }
    if (global) {
        node->params = p;
        return ODET_OK;
    }
    size_t nk;
    const int64_t *ks = odet_attr_ints(node, "kernel_shape", &nk);
    if (!ks || nk < 1 || nk > 3) {
        st = ks ? odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                                 "kernel_shape has %zu dims; 1 to 3 spatial dims are supported",
                                 nk)
                : odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                 "attribute 'kernel_shape' is required");
        goto fail;
    }
    p->nsp = (int)nk;
    if ((st = read_dims(node, err, errlen, "kernel_shape", p->nsp, p->k, 1, 1)) != ODET_OK ||
        (st = read_dims(node, err, errlen, "strides", p->nsp, p->s, 1, 1)) != ODET_OK ||
        (st = read_dims(node, err, errlen, "dilations", p->nsp, p->d, 1, 1)) != ODET_OK ||
        (st = read_dims(node, err, errlen, "pads", 2 * p->nsp, p->pads, 0, 0)) != ODET_OK)
        goto fail;
    const char *ap = odet_attr_string(node, "auto_pad", "NOTSET");
    if (!ap || ap[0] == '\0' || strcmp(ap, "NOTSET") == 0)
        p->auto_pad = PAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        p->auto_pad = PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        p->auto_pad = PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        p->auto_pad = PAD_VALID;
    else {
        st = odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                            "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID",
                            ap);
        goto fail;
    }
    p->ceil_mode = odet_attr_int(node, "ceil_mode", 0) != 0;
    p->count_include_pad = odet_attr_int(node, "count_include_pad", 0) != 0;
    int64_t so = odet_attr_int(node, "storage_order", 0);
    if (so != 0 && so != 1) {
        st = odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                            "storage_order must be 0 or 1, got %lld", (long long)so);
        goto fail;
    }
    p->storage_order = (int)so;
    node->params = p;
    return ODET_OK;
fail:
    free(p);
    return st;
}

static odet_status maxpool_prepare(odet_node *node, char *err, size_t errlen)
{
    return pool_prepare_kind(node, err, errlen, POOL_MAX, 0);
}
static odet_status avgpool_prepare(odet_node *node, char *err, size_t errlen)
{
    return pool_prepare_kind(node, err, errlen, POOL_AVG, 0);
}
static odet_status lppool_prepare(odet_node *node, char *err, size_t errlen)
{
    return pool_prepare_kind(node, err, errlen, POOL_LP, 0);
}
static odet_status gmaxpool_prepare(odet_node *node, char *err, size_t errlen)
{
    return pool_prepare_kind(node, err, errlen, POOL_MAX, 1);
}
static odet_status gavgpool_prepare(odet_node *node, char *err, size_t errlen)
{
    return pool_prepare_kind(node, err, errlen, POOL_AVG, 1);
}
static odet_status glppool_prepare(odet_node *node, char *err, size_t errlen)
{
    return pool_prepare_kind(node, err, errlen, POOL_LP, 1);
}

/* ---------------------------------------------------------------- shapes */

static odet_status check_input(const odet_op_ctx *ctx, const pool_params *p)
{
    const odet_tensor *x = ctx->in[0];
    if (!x)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "input 0 'X' is required");
    int ok = x->dtype == ODET_FLOAT || x->dtype == ODET_DOUBLE ||
             (p->kind == POOL_MAX && (x->dtype == ODET_INT8 || x->dtype == ODET_UINT8));
    if (!ok)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "input 0 'X' dtype %s is not supported%s",
                            odet_dtype_name(x->dtype),
                            p->kind == POOL_MAX ? " (float, double, int8, uint8)"
                                                : " (float, double)");
    if (p->global) {
        if (x->rank < 2)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "input 0 'X' must have rank >= 2, got rank %d", x->rank);
    } else if (x->rank != p->nsp + 2) {
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 0 'X' must have rank %d (kernel_shape has %d dims), got %d",
                            p->nsp + 2, p->nsp, x->rank);
    }
    return ODET_OK;
}

static odet_status pool_geometry(const odet_op_ctx *ctx, const pool_params *p,
                                 const odet_tensor *x, pool_geom *g)
{
    for (int j = 0; j < 3; j++) {
        g->in[j] = g->out[j] = g->k[j] = g->s[j] = g->d[j] = 1;
        g->pb[j] = g->pe[j] = 0;
    }
    const int off = 3 - p->nsp;
    for (int i = 0; i < p->nsp; i++) {
        const int j = off + i;
        const int64_t n = x->dims[2 + i], k = p->k[i], s = p->s[i], d = p->d[i];
        const int64_t ext = (k - 1) * d + 1;
        int64_t pb = 0, pe = 0, out;
        if (p->auto_pad == PAD_SAME_UPPER || p->auto_pad == PAD_SAME_LOWER) {
            out = (n + s - 1) / s;
            int64_t total = out > 0 ? (out - 1) * s + ext - n : 0;
            if (total < 0)
                total = 0;
            pb = p->auto_pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            pe = total - pb;
        } else {
            if (p->auto_pad == PAD_NOTSET) {
                pb = p->pads[i];
                pe = p->pads[i + p->nsp];
            }
            const int64_t span = n + pb + pe - ext;
            if (span < 0)
                return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                    "kernel extent %lld exceeds the padded input %lld along "
                                    "spatial dim %d",
                                    (long long)ext, (long long)(n + pb + pe), i);
            out = (p->ceil_mode ? (span + s - 1) / s : span / s) + 1;
            /* The last window must start inside the input or the left padding. */
            if (p->ceil_mode && (out - 1) * s >= n + pb)
                out--;
        }
        g->in[j] = n;
        g->out[j] = out;
        g->k[j] = k;
        g->s[j] = s;
        g->d[j] = d;
        g->pb[j] = pb;
        g->pe[j] = pe;
    }
    return ODET_OK;
}

static odet_status pool_infer(odet_op_ctx *ctx)
{
    const pool_params *p = ctx->params;
    odet_status st = check_input(ctx, p);
    if (st != ODET_OK)
        return st;
    const odet_tensor *x = ctx->in[0];
    int64_t dims[ODET_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    if (p->global) {
        for (int i = 2; i < x->rank; i++)
            dims[i] = 1;
    } else {
        pool_geom g;
        if ((st = pool_geometry(ctx, p, x, &g)) != ODET_OK)
            return st;
        for (int i = 0; i < p->nsp; i++)
            dims[2 + i] = g.out[3 - p->nsp + i];
    }
    odet_set_shape(ctx->out[0], x->dtype, x->rank, dims);
    if (ctx->n_out > 1 && ctx->out[1]) {
        if (p->kind != POOL_MAX || p->global)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "has only one output");
        odet_set_shape(ctx->out[1], ODET_INT64, x->rank, dims);
    }
    return ODET_OK;
}

/* ---------------------------------------------------------------- kernels */

/* Taps [*t0, *t1) of a k-tap window with dilation d whose tap 0 sits at input
 * coordinate `start` that land inside [0, n). */
static inline void tap_range(int64_t start, int64_t d, int64_t k, int64_t n, int64_t *t0,
                             int64_t *t1)
{
    int64_t lo = start < 0 ? (-start + d - 1) / d : 0;
    int64_t hi = start >= n ? 0 : (n - start + d - 1) / d;
    if (hi > k)
        hi = k;
    if (lo > hi)
        lo = hi;
    *t0 = lo;
    *t1 = hi;
}

/* Taps that fall inside the padded input [-pb, n + pe) (count_include_pad). */
static inline int64_t padded_taps(const pool_geom *g, int j, int64_t o)
{
    int64_t t0, t1;
    tap_range(o * g->s[j], g->d[j], g->k[j], g->in[j] + g->pb[j] + g->pe[j], &t0, &t1);
    return t1 - t0;
}

/* Interior output range [*a, *b) along W where every tap is inside [0, W). */
static inline void interior(const pool_geom *g, int64_t *a, int64_t *b)
{
    const int64_t s = g->s[2], pb = g->pb[2], ow = g->out[2];
    const int64_t last = g->in[2] - 1 - (g->k[2] - 1) * g->d[2] + pb;
    int64_t lo = (pb + s - 1) / s, hi = last < 0 ? 0 : last / s + 1;
    if (hi > ow)
        hi = ow;
    if (lo > hi)
        lo = hi;
    *a = lo;
    *b = hi;
}

/* min(n, avail) clamped at 0: input rows/cols that fall inside a padded buffer. */
static inline int64_t clamp_len(int64_t n, int64_t avail)
{
    return avail < 0 ? 0 : n < avail ? n : avail;
}

static inline double lp_pow(double v, double p)
{
    v = fabs(v);
    return p == 1.0 ? v : p == 2.0 ? v * v : pow(v, p);
}

static inline double lp_root(double v, double p)
{
    return p == 1.0 ? v : p == 2.0 ? sqrt(v) : pow(v, 1.0 / p);
}

/* MaxPool for one element type: reference (with Indices), separable, global. */
#define MAXPOOL_KERNELS(T, S, LOWEST)                                                          \
    static void maxpool_ref_##S(const pool_geom *g, int col_major, const T *x, T *y,            \
                                int64_t *ind, int64_t planes, int threads)                      \
    {                                                                                           \
        const int64_t D = g->in[0], H = g->in[1], W = g->in[2];                                 \
        const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];                           \
        const int64_t isz = D * H * W, rows = planes * OD * OH;                                 \
        const int64_t work = rows * OW * g->k[0] * g->k[1] * g->k[2];                           \
        _Pragma("omp parallel for num_threads(threads) if (work >= POOL_PAR_MIN)")              \
        for (int64_t r = 0; r < rows; r++) {                                                    \
            const int64_t oh = r % OH, od = (r / OH) % OD, pl = r / (OH * OD);                  \
            const T *xp = x + pl * isz;                                                         \
            const int64_t sd = od * g->s[0] - g->pb[0], sh = oh * g->s[1] - g->pb[1];           \
            int64_t d0, d1, h0, h1;                                                             \
            tap_range(sd, g->d[0], g->k[0], D, &d0, &d1);                                       \
            tap_range(sh, g->d[1], g->k[1], H, &h0, &h1);                                       \
            for (int64_t ow = 0; ow < OW; ow++) {                                               \
                const int64_t sw = ow * g->s[2] - g->pb[2];                                     \
                int64_t w0, w1;                                                                 \
                tap_range(sw, g->d[2], g->k[2], W, &w0, &w1);                                   \
                T m = LOWEST;                                                                   \
                int64_t mi = -1;                                                                \
                for (int64_t td = d0; td < d1; td++)                                            \
                    for (int64_t th = h0; th < h1; th++) {                                      \
                        const int64_t rowi = ((sd + td * g->d[0]) * H + sh + th * g->d[1]) * W; \
                        for (int64_t tw = w0; tw < w1; tw++) {                                  \
                            const int64_t i = rowi + sw + tw * g->d[2];                         \
                            if (mi < 0 || xp[i] > m) {                                          \
                                m = xp[i];                                                      \
                                mi = i;                                                         \
                            }                                                                   \
                        }                                                                       \
                    }                                                                           \
                const int64_t o = r * OW + ow;                                                  \
                y[o] = m;                                                                       \
                if (ind) {                                                                      \
                    if (mi >= 0 && col_major) {                                                 \
                        const int64_t iw = mi % W, ih = (mi / W) % H, id = mi / (W * H);        \
                        mi = id + D * (ih + H * iw);                                            \
                    }                                                                           \
                    ind[o] = mi < 0 ? -1 : pl * isz + mi;                                       \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    /* Max of line[] over the W windows of one output row. */                                   \
    static void maxpool_hrow_##S(const pool_geom *g, const T *line, T *y)                       \
    {                                                                                           \
        const int64_t W = g->in[2], OW = g->out[2], K = g->k[2], s = g->s[2], dl = g->d[2];     \
        const int64_t pb = g->pb[2];                                                            \
        int64_t a, b;                                                                           \
        interior(g, &a, &b);                                                                    \
        for (int64_t ow = 0; ow < OW; ow++) {                                                   \
            if (ow == a)                                                                        \
                ow = b;                                                                         \
            if (ow >= OW)                                                                       \
                break;                                                                          \
            int64_t t0, t1;                                                                     \
            tap_range(ow * s - pb, dl, K, W, &t0, &t1);                                         \
            T m = LOWEST;                                                                       \
            for (int64_t t = t0; t < t1; t++) {                                                 \
                T v = line[ow * s - pb + t * dl];                                               \
                m = v > m ? v : m;                                                              \
            }                                                                                   \
            y[ow] = m;                                                                          \
        }                                                                                       \
        if (a >= b)                                                                             \
            return;                                                                             \
        const T *l0 = line + a * s - pb; /* tap 0 of output a */                                \
        T *ya = y + a;                                                                          \
        const int64_t n = b - a;                                                                \
        _Pragma("omp simd")                                                                     \
        for (int64_t i = 0; i < n; i++)                                                         \
            ya[i] = l0[i * s];                                                                  \
        for (int64_t t = 1; t < K; t++) {                                                       \
            const T *lt = l0 + t * dl;                                                          \
            _Pragma("omp simd")                                                                 \
            for (int64_t i = 0; i < n; i++) {                                                   \
                T v = lt[i * s];                                                                \
                ya[i] = v > ya[i] ? v : ya[i];                                                  \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    static void maxpool_sep_##S(const pool_geom *g, const T *x, T *y, int64_t planes,           \
                                int threads)                                                    \
    {                                                                                           \
        const int64_t D = g->in[0], H = g->in[1], W = g->in[2];                                 \
        const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];                           \
        const int64_t isz = D * H * W, rows = planes * OD * OH;                                 \
        const int64_t work = rows * (g->k[0] * g->k[1] * W + g->k[2] * OW);                     \
        _Pragma("omp parallel for num_threads(threads) if (work >= POOL_PAR_MIN)")              \
        for (int64_t r = 0; r < rows; r++) {                                                    \
            T line[POOL_LINE_BYTES / sizeof(T)];                                                \
            const int64_t oh = r % OH, od = (r / OH) % OD, pl = r / (OH * OD);                  \
            const T *xp = x + pl * isz;                                                         \
            T *yr = y + r * OW;                                                                 \
            const int64_t sd = od * g->s[0] - g->pb[0], sh = oh * g->s[1] - g->pb[1];           \
            int64_t d0, d1, h0, h1;                                                             \
            tap_range(sd, g->d[0], g->k[0], D, &d0, &d1);                                       \
            tap_range(sh, g->d[1], g->k[1], H, &h0, &h1);                                       \
            if (d0 == d1 || h0 == h1) {                                                         \
                for (int64_t ow = 0; ow < OW; ow++)                                             \
                    yr[ow] = LOWEST;                                                            \
                continue;                                                                       \
            }                                                                                   \
            int first = 1;                                                                      \
            for (int64_t td = d0; td < d1; td++)                                                \
                for (int64_t th = h0; th < h1; th++) {                                          \
                    const T *row = xp + ((sd + td * g->d[0]) * H + sh + th * g->d[1]) * W;      \
                    if (first) {                                                                \
                        memcpy(line, row, (size_t)W * sizeof(T));                               \
                        first = 0;                                                              \
                        continue;                                                               \
                    }                                                                           \
                    _Pragma("omp simd")                                                         \
                    for (int64_t w = 0; w < W; w++)                                             \
                        line[w] = row[w] > line[w] ? row[w] : line[w];                          \
                }                                                                               \
            maxpool_hrow_##S(g, line, yr);                                                      \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    /* Max of every window of k elements spaced `step` apart, in place over    */            \
    /* a[0..n): afterwards a[i] = max(a[i], a[i+step], ..., a[i+(k-1)*step]) */            \
    /* for i + (k-1)*step < n. Window sizes double (1, 2, 4, .., m <= k), then */            \
    /* two overlapping m-windows cover k: log2(k) + 1 passes instead of k - 1. */            \
    /* Each pass reads ahead of where it writes, so it runs in place.          */            \
    static void window_max_##S(T *a, int64_t n, int64_t k, int64_t step)                        \
    {                                                                                           \
        int64_t m = 1;                                                                          \
        for (; 2 * m <= k; m *= 2) {                                                            \
            const int64_t sh = m * step, len = n - sh;                                          \
            for (int64_t i = 0; i < len; i++)                                                   \
                a[i] = a[i + sh] > a[i] ? a[i + sh] : a[i];                                     \
        }                                                                                       \
        if (k > m) {                                                                            \
            const int64_t sh = (k - m) * step, len = n - sh;                                    \
            for (int64_t i = 0; i < len; i++)                                                   \
                a[i] = a[i + sh] > a[i] ? a[i + sh] : a[i];                                     \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    /* Stride-1, dilation-1 2-D max over whole planes (SPP/SPPF): the plane is  */            \
    /* copied into a padded buffer, then window_max runs along the rows and    */            \
    /* down the columns of the flat buffer (the row pass also fills positions   */            \
    /* that straddle two rows; they are never read back as results).           */            \
    /* `scratch` holds plane_elems() elements per thread.                       */            \
    static void maxpool_plane_##S(const pool_geom *g, const T *x, T *y, int64_t planes,         \
                                  int threads, T *scratch)                                      \
    {                                                                                           \
        const int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];               \
        const int64_t kh = g->k[1], kw = g->k[2], pt = g->pb[1], pl = g->pb[2];                 \
        const int64_t Hp = OH + kh - 1, Wp = OW + kw - 1, np = Hp * Wp;                         \
        const int64_t rows = clamp_len(H, Hp - pt), cols = clamp_len(W, Wp - pl);               \
        const int64_t top = pt < Hp ? pt : Hp, left = pl < Wp ? pl : Wp;                        \
        _Pragma("omp parallel for num_threads(threads) if (planes * np * 8 >= POOL_PAR_MIN)")   \
        for (int64_t p = 0; p < planes; p++) {                                                  \
            T *a = scratch + (int64_t)omp_get_thread_num() * np;                                \
            const T *xp = x + p * H * W;                                                        \
            for (int64_t i = 0; i < top * Wp; i++)                                              \
                a[i] = LOWEST;                                                                  \
            for (int64_t h = 0; h < rows; h++) {                                                \
                T *ar = a + (h + top) * Wp;                                                     \
                for (int64_t i = 0; i < left; i++)                                              \
                    ar[i] = LOWEST;                                                             \
                memcpy(ar + left, xp + h * W, (size_t)cols * sizeof(T));                        \
                for (int64_t i = left + cols; i < Wp; i++)                                      \
                    ar[i] = LOWEST;                                                             \
            }                                                                                   \
            for (int64_t i = (top + rows) * Wp; i < np; i++)                                    \
                a[i] = LOWEST;                                                                  \
            window_max_##S(a, np, kw, 1);                                                       \
            window_max_##S(a, np, kh, Wp);                                                      \
            T *yp = y + p * OH * OW;                                                            \
            for (int64_t oh = 0; oh < OH; oh++)                                                 \
                memcpy(yp + oh * OW, a + oh * Wp, (size_t)OW * sizeof(T));                      \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    static void maxpool_global_##S(const T *x, T *y, int64_t planes, int64_t n, int threads)    \
    {                                                                                           \
        _Pragma("omp parallel for num_threads(threads) if (planes * n >= POOL_PAR_MIN)")        \
        for (int64_t pl = 0; pl < planes; pl++) {                                               \
            const T *xp = x + pl * n;                                                           \
            T m = n > 0 ? xp[0] : LOWEST;                                                       \
            for (int64_t i = 1; i < n; i++)                                                     \
                m = xp[i] > m ? xp[i] : m;                                                      \
            y[pl] = m;                                                                          \
        }                                                                                       \
    }

MAXPOOL_KERNELS(float, f32, -INFINITY)
MAXPOOL_KERNELS(double, f64, -INFINITY)
MAXPOOL_KERNELS(int8_t, i8, INT8_MIN)
MAXPOOL_KERNELS(uint8_t, u8, 0)

/* AveragePool / LpPool for one float type. A window's sum is divided by its
 * count (average) or raised to 1/p after summing |x|^p (Lp). */
#define SUMPOOL_KERNELS(T, S)                                                                   \
    static void sumpool_ref_##S(const pool_params *p, const pool_geom *g, const T *x, T *y,     \
                                int64_t planes, int threads)                                    \
    {                                                                                           \
        const int64_t D = g->in[0], H = g->in[1], W = g->in[2];                                 \
        const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];                           \
        const int64_t isz = D * H * W, rows = planes * OD * OH;                                 \
        const int64_t work = rows * OW * g->k[0] * g->k[1] * g->k[2];                           \
        _Pragma("omp parallel for num_threads(threads) if (work >= POOL_PAR_MIN)")              \
        for (int64_t r = 0; r < rows; r++) {                                                    \
            const int64_t oh = r % OH, od = (r / OH) % OD, pl = r / (OH * OD);                  \
            const T *xp = x + pl * isz;                                                         \
            const int64_t sd = od * g->s[0] - g->pb[0], sh = oh * g->s[1] - g->pb[1];           \
            int64_t d0, d1, h0, h1;                                                             \
            tap_range(sd, g->d[0], g->k[0], D, &d0, &d1);                                       \
            tap_range(sh, g->d[1], g->k[1], H, &h0, &h1);                                       \
            for (int64_t ow = 0; ow < OW; ow++) {                                               \
                const int64_t sw = ow * g->s[2] - g->pb[2];                                     \
                int64_t w0, w1;                                                                 \
                tap_range(sw, g->d[2], g->k[2], W, &w0, &w1);                                   \
                double acc = 0.0;                                                               \
                for (int64_t td = d0; td < d1; td++)                                            \
                    for (int64_t th = h0; th < h1; th++) {                                      \
                        const T *row = xp + ((sd + td * g->d[0]) * H + sh + th * g->d[1]) * W;  \
                        for (int64_t tw = w0; tw < w1; tw++) {                                  \
                            double v = (double)row[sw + tw * g->d[2]];                          \
                            acc += p->kind == POOL_LP ? lp_pow(v, p->p) : v;                    \
                        }                                                                       \
                    }                                                                           \
                double res;                                                                     \
                if (p->kind == POOL_LP) {                                                       \
                    res = lp_root(acc, p->p);                                                   \
                } else {                                                                        \
                    int64_t cnt = p->count_include_pad                                          \
                                      ? padded_taps(g, 0, od) * padded_taps(g, 1, oh) *         \
                                            padded_taps(g, 2, ow)                               \
                                      : (d1 - d0) * (h1 - h0) * (w1 - w0);                      \
                    res = cnt > 0 ? acc / (double)cnt : NAN;                                    \
                }                                                                               \
                y[r * OW + ow] = (T)res;                                                        \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    static void sumpool_sep_##S(const pool_params *p, const pool_geom *g, const T *x, T *y,     \
                                int64_t planes, int threads)                                    \
    {                                                                                           \
        const int64_t D = g->in[0], H = g->in[1], W = g->in[2];                                 \
        const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];                           \
        const int64_t K = g->k[2], s = g->s[2], dl = g->d[2], pb = g->pb[2];                    \
        const int64_t isz = D * H * W, rows = planes * OD * OH;                                 \
        const int64_t work = rows * (g->k[0] * g->k[1] * W + K * OW);                           \
        const int lp = p->kind == POOL_LP;                                                      \
        const T pw = (T)p->p;                                                                   \
        int64_t a, b;                                                                           \
        interior(g, &a, &b);                                                                    \
        _Pragma("omp parallel for num_threads(threads) if (work >= POOL_PAR_MIN)")              \
        for (int64_t r = 0; r < rows; r++) {                                                    \
            T line[POOL_LINE_BYTES / sizeof(T)];                                                \
            const int64_t oh = r % OH, od = (r / OH) % OD, pl = r / (OH * OD);                  \
            const T *xp = x + pl * isz;                                                         \
            T *yr = y + r * OW;                                                                 \
            const int64_t sd = od * g->s[0] - g->pb[0], sh = oh * g->s[1] - g->pb[1];           \
            int64_t d0, d1, h0, h1;                                                             \
            tap_range(sd, g->d[0], g->k[0], D, &d0, &d1);                                       \
            tap_range(sh, g->d[1], g->k[1], H, &h0, &h1);                                       \
            for (int64_t w = 0; w < W; w++)                                                     \
                line[w] = 0;                                                                    \
            for (int64_t td = d0; td < d1; td++)                                                \
                for (int64_t th = h0; th < h1; th++) {                                          \
                    const T *row = xp + ((sd + td * g->d[0]) * H + sh + th * g->d[1]) * W;      \
                    if (!lp) {                                                                  \
                        _Pragma("omp simd")                                                     \
                        for (int64_t w = 0; w < W; w++)                                         \
                            line[w] += row[w];                                                  \
                    } else if (p->p == 2.0) {                                                   \
                        _Pragma("omp simd")                                                     \
                        for (int64_t w = 0; w < W; w++)                                         \
                            line[w] += row[w] * row[w];                                         \
                    } else if (p->p == 1.0) {                                                   \
                        for (int64_t w = 0; w < W; w++)                                         \
                            line[w] += row[w] < 0 ? -row[w] : row[w];                           \
                    } else {                                                                    \
                        for (int64_t w = 0; w < W; w++)                                         \
                            line[w] += (T)pow(fabs((double)row[w]), (double)pw);                \
                    }                                                                           \
                }                                                                               \
            /* Horizontal sums: edges with clipped windows, then the interior. */               \
            for (int64_t ow = 0; ow < OW; ow++) {                                               \
                if (ow == a)                                                                    \
                    ow = b;                                                                     \
                if (ow >= OW)                                                                   \
                    break;                                                                      \
                int64_t t0, t1;                                                                 \
                tap_range(ow * s - pb, dl, K, W, &t0, &t1);                                     \
                T acc = 0;                                                                      \
                for (int64_t t = t0; t < t1; t++)                                               \
                    acc += line[ow * s - pb + t * dl];                                          \
                yr[ow] = acc;                                                                   \
            }                                                                                   \
            if (a < b) {                                                                        \
                const T *l0 = line + a * s - pb;                                                \
                T *ya = yr + a;                                                                 \
                const int64_t n = b - a;                                                        \
                _Pragma("omp simd")                                                             \
                for (int64_t i = 0; i < n; i++)                                                 \
                    ya[i] = l0[i * s];                                                          \
                for (int64_t t = 1; t < K; t++) {                                               \
                    const T *lt = l0 + t * dl;                                                  \
                    _Pragma("omp simd")                                                         \
                    for (int64_t i = 0; i < n; i++)                                             \
                        ya[i] += lt[i * s];                                                     \
                }                                                                               \
            }                                                                                   \
            /* Finish: divide by the tap count, or take the p-th root. */                       \
            if (lp) {                                                                           \
                for (int64_t ow = 0; ow < OW; ow++)                                             \
                    yr[ow] = (T)lp_root((double)yr[ow], p->p);                                  \
                continue;                                                                       \
            }                                                                                   \
            const int64_t rc = p->count_include_pad                                             \
                                   ? padded_taps(g, 0, od) * padded_taps(g, 1, oh)              \
                                   : (d1 - d0) * (h1 - h0);                                     \
            for (int64_t ow = 0; ow < OW; ow++) {                                               \
                int64_t t0, t1, cnt;                                                            \
                if (p->count_include_pad) {                                                     \
                    cnt = rc * padded_taps(g, 2, ow);                                           \
                } else {                                                                        \
                    tap_range(ow * s - pb, dl, K, W, &t0, &t1);                                 \
                    cnt = rc * (t1 - t0);                                                       \
                }                                                                               \
                yr[ow] = cnt > 0 ? yr[ow] / (T)cnt : (T)NAN;                                    \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
                                                                                                \
    static void sumpool_global_##S(const pool_params *p, const T *x, T *y, int64_t planes,      \
                                   int64_t n, int threads)                                      \
    {                                                                                           \
        _Pragma("omp parallel for num_threads(threads) if (planes * n >= POOL_PAR_MIN)")        \
        for (int64_t pl = 0; pl < planes; pl++) {                                               \
            const T *xp = x + pl * n;                                                           \
            double acc = 0.0;                                                                   \
            if (p->kind == POOL_AVG) {                                                          \
                _Pragma("omp simd reduction(+:acc)")                                            \
                for (int64_t i = 0; i < n; i++)                                                 \
                    acc += (double)xp[i];                                                       \
                y[pl] = (T)(n > 0 ? acc / (double)n : NAN);                                     \
            } else {                                                                            \
                for (int64_t i = 0; i < n; i++)                                                 \
                    acc += lp_pow((double)xp[i], p->p);                                         \
                y[pl] = (T)lp_root(acc, p->p);                                                  \
            }                                                                                   \
        }                                                                                       \
    }

SUMPOOL_KERNELS(float, f32)
SUMPOOL_KERNELS(double, f64)

/* ---------------------------------------------------------------- run */

enum pool_path { PATH_REF, PATH_SEP, PATH_PLANE };

/* Largest padded plane (elements) for the whole-plane MaxPool path. */
#define POOL_PLANE_MAX_ELEMS 16384

static int64_t plane_elems(const pool_geom *g)
{
    return (g->out[1] + g->k[1] - 1) * (g->out[2] + g->k[2] - 1);
}

/* Pick the implementation: the whole-plane path for 2-D stride-1 MaxPool
 * (needs one padded plane of scratch per thread and enough planes to
 * keep the threads busy), else the separable path, else the direct one. */
static int choose_path(const pool_params *p, const pool_geom *g, int has_ind, odet_dtype dt,
                       int64_t planes, int threads)
{
    if (has_ind)
        return PATH_REF;
    if (p->kind == POOL_MAX && p->nsp <= 2 && g->s[1] == 1 && g->s[2] == 1 && g->d[1] == 1 &&
        g->d[2] == 1 && planes >= threads && plane_elems(g) <= POOL_PLANE_MAX_ELEMS)
        return PATH_PLANE;
    if (g->in[2] * (int64_t)odet_dtype_size(dt) <= POOL_LINE_BYTES)
        return PATH_SEP;
    return PATH_REF;
}

static size_t plane_scratch_bytes(const pool_geom *g, odet_dtype dt, int threads)
{
    return (size_t)threads * (size_t)plane_elems(g) * odet_dtype_size(dt);
}

static size_t pool_scratch(const odet_op_ctx *ctx)
{
    const pool_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    pool_geom g;
    if (p->global || pool_geometry(ctx, p, x, &g) != ODET_OK)
        return 0;
    int has_ind = ctx->n_out > 1 && ctx->out[1];
    if (choose_path(p, &g, has_ind, x->dtype, x->dims[0] * x->dims[1], ctx->threads) !=
        PATH_PLANE)
        return 0;
    return plane_scratch_bytes(&g, x->dtype, ctx->threads);
}

static void run_global(const pool_params *p, const odet_tensor *x, odet_tensor *y, int th)
{
    const int64_t planes = x->dims[0] * x->dims[1], n = odet_dims_prod(x->dims, 2, x->rank);
    if (p->kind == POOL_MAX) {
        switch (x->dtype) {
        case ODET_FLOAT: maxpool_global_f32(x->data, y->data, planes, n, th); break;
        case ODET_DOUBLE: maxpool_global_f64(x->data, y->data, planes, n, th); break;
        case ODET_INT8: maxpool_global_i8(x->data, y->data, planes, n, th); break;
        default: maxpool_global_u8(x->data, y->data, planes, n, th); break;
        }
    } else if (x->dtype == ODET_FLOAT) {
        sumpool_global_f32(p, x->data, y->data, planes, n, th);
    } else {
        sumpool_global_f64(p, x->data, y->data, planes, n, th);
    }
}

#define MAXPOOL_DISPATCH(S)                                                                  \
    do {                                                                                     \
        if (path == PATH_PLANE)                                                              \
            maxpool_plane_##S(&g, x->data, y->data, planes, th, ctx->scratch);               \
        else if (path == PATH_SEP)                                                           \
            maxpool_sep_##S(&g, x->data, y->data, planes, th);                               \
        else                                                                                 \
            maxpool_ref_##S(&g, p->storage_order == 1, x->data, y->data, ind, planes, th);   \
    } while (0)

static odet_status pool_run(odet_op_ctx *ctx)
{
    const pool_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int64_t *ind = ctx->n_out > 1 && ctx->out[1] ? ctx->out[1]->data : NULL;
    const int64_t planes = x->dims[0] * x->dims[1];
    const int th = ctx->threads;
    const odet_dtype dt = x->dtype;

    if (p->global) {
        run_global(p, x, y, th);
        return ODET_OK;
    }
    pool_geom g;
    odet_status st = pool_geometry(ctx, p, x, &g);
    if (st != ODET_OK)
        return st;
    int path = choose_path(p, &g, ind != NULL, dt, planes, th);
    if (path == PATH_PLANE && (!ctx->scratch || ctx->scratch_bytes < plane_scratch_bytes(&g, dt, th)))
        path = g.in[2] * (int64_t)odet_dtype_size(dt) <= POOL_LINE_BYTES ? PATH_SEP : PATH_REF;
    if (p->kind == POOL_MAX) {
        switch (dt) {
        case ODET_FLOAT: MAXPOOL_DISPATCH(f32); break;
        case ODET_DOUBLE: MAXPOOL_DISPATCH(f64); break;
        case ODET_INT8: MAXPOOL_DISPATCH(i8); break;
        default: MAXPOOL_DISPATCH(u8); break;
        }
    } else if (dt == ODET_FLOAT) {
        if (path == PATH_SEP) sumpool_sep_f32(p, &g, x->data, y->data, planes, th);
        else sumpool_ref_f32(p, &g, x->data, y->data, planes, th);
    } else {
        if (path == PATH_SEP) sumpool_sep_f64(p, &g, x->data, y->data, planes, th);
        else sumpool_ref_f64(p, &g, x->data, y->data, planes, th);
    }
    return ODET_OK;
}

/* One entry per op covers every opset: later opsets only add attributes
 * (storage_order/Indices 8, dilations/ceil_mode 10, int8/uint8 12, AveragePool
 * dilations 19, LpPool ceil_mode/dilations 18), whose defaults reproduce the
 * older behaviour. LpPool opset 1 had a float `p`, later an int. */
const odet_op_def odet_ops_pool[] = {
    {"MaxPool", "", 1, 0, 0, maxpool_prepare, NULL, pool_infer, pool_scratch, pool_run},
    {"AveragePool", "", 1, 0, 0, avgpool_prepare, NULL, pool_infer, NULL, pool_run},
    {"LpPool", "", 1, 0, 0, lppool_prepare, NULL, pool_infer, NULL, pool_run},
    {"GlobalMaxPool", "", 1, 0, 0, gmaxpool_prepare, NULL, pool_infer, NULL, pool_run},
    {"GlobalAveragePool", "", 1, 0, 0, gavgpool_prepare, NULL, pool_infer, NULL, pool_run},
    {"GlobalLpPool", "", 1, 0, 0, glppool_prepare, NULL, pool_infer, NULL, pool_run},
    {0},
};
