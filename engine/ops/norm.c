/* Normalization operators: BatchNormalization (inference), InstanceNormalization,
 * LayerNormalization, GroupNormalization and LpNormalization.
 *
 * Statistics (mean, variance, norms) are accumulated in double with a two-pass
 * mean/variance, so large or badly centred inputs keep their precision. The
 * normalization itself is applied in the tensor's type in the order the ONNX
 * reference uses, y = (x - mean) * (inv_std * scale) + bias, with the mean
 * subtracted as a float hi + lo pair (see shift_scale_*).
 *
 * Supported element types: float and double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* Below this many elements an op runs on one thread. */
#define NORM_PAR_MIN 32768

/* ---- typed kernels over one contiguous block ---- */

#define NORM_KERNELS(T, S)                                                                    \
    /* Mean and (biased) variance of x[0..n), two passes in double. */                        \
    static void stats_##S(const T *x, int64_t n, double *mean, double *var)                   \
    {                                                                                         \
        double s = 0.0, q = 0.0;                                                              \
        _Pragma("omp simd reduction(+:s)")                                                    \
        for (int64_t i = 0; i < n; i++)                                                       \
            s += (double)x[i];                                                                \
        double m = n > 0 ? s / (double)n : 0.0;                                               \
        _Pragma("omp simd reduction(+:q)")                                                    \
        for (int64_t i = 0; i < n; i++) {                                                     \
            double d = (double)x[i] - m;                                                      \
            q += d * d;                                                                       \
        }                                                                                     \
        *mean = m;                                                                            \
        *var = n > 0 ? q / (double)n : 0.0;                                                   \
    }                                                                                         \
    /* y = (x - mean) * a + b over n elements. The mean is subtracted as a       */        \
    /* hi + lo pair, so centring keeps double precision for data far from zero. */         \
    static void shift_scale_##S(const T *x, T *y, int64_t n, double mean, double a, double b) \
    {                                                                                         \
        const T hi = (T)mean, lo = (T)(mean - (double)hi), ta = (T)a, tb = (T)b;              \
        _Pragma("omp simd")                                                                   \
        for (int64_t i = 0; i < n; i++)                                                       \
            y[i] = ((x[i] - hi) - lo) * ta + tb;                                              \
    }                                                                                         \
    /* y = (x - mean) * inv * scale[i] (+ bias[i]) over n elements. */                        \
    static void layer_row_##S(const T *x, T *y, int64_t n, double mean, double inv,           \
                              const T *scale, const T *bias)                                  \
    {                                                                                         \
        const T hi = (T)mean, lo = (T)(mean - (double)hi), ti = (T)inv;                       \
        if (bias) {                                                                           \
            _Pragma("omp simd")                                                               \
            for (int64_t i = 0; i < n; i++)                                                   \
                y[i] = ((x[i] - hi) - lo) * ti * scale[i] + bias[i];                          \
        } else {                                                                              \
            _Pragma("omp simd")                                                               \
            for (int64_t i = 0; i < n; i++)                                                   \
                y[i] = ((x[i] - hi) - lo) * ti * scale[i];                                    \
        }                                                                                     \
    }

NORM_KERNELS(float, f32)
NORM_KERNELS(double, f64)

/* Type-dispatching wrappers; `off` is an element offset into x and y. */
static void block_stats(odet_dtype dt, const void *x, int64_t off, int64_t n, double *mean,
                        double *var)
{
    if (dt == ODET_FLOAT)
        stats_f32((const float *)x + off, n, mean, var);
    else
        stats_f64((const double *)x + off, n, mean, var);
}

static void block_shift_scale(odet_dtype dt, const void *x, void *y, int64_t off, int64_t n,
                              double mean, double a, double b)
{
    if (dt == ODET_FLOAT)
        shift_scale_f32((const float *)x + off, (float *)y + off, n, mean, a, b);
    else
        shift_scale_f64((const double *)x + off, (double *)y + off, n, mean, a, b);
}

static int is_fd(odet_dtype t)
{
    return t == ODET_FLOAT || t == ODET_DOUBLE;
}

static odet_status check_float_input(const odet_op_ctx *ctx, int i, const char *what)
{
    const odet_tensor *t = ctx->in[i];
    if (!t)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "input %d '%s' is required", i, what);
    if (!is_fd(t->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input %d '%s' has dtype %s; only float and double are supported",
                            i, what, odet_dtype_name(t->dtype));
    return ODET_OK;
}

static int64_t numel(const odet_tensor *t)
{
    return odet_dims_prod(t->dims, 0, t->rank);
}

/* Whether optional output i is present. */
static int has_out(const odet_node *node, int i)
{
    return i < node->n_out && node->out[i] >= 0;
}

/* ================================ BatchNormalization ================================ */

typedef struct bn_params {
    double eps;
    int spatial; /* opset < 9: 0 means per-element statistics over X.shape[1:] */
} bn_params;

static odet_status bn_prepare(odet_node *node, char *err, size_t errlen)
{
    int training;
    int extra = has_out(node, 1) || has_out(node, 2) || has_out(node, 3) || has_out(node, 4);
    if (node->opset >= 14)
        training = odet_attr_int(node, "training_mode", 0) != 0;
    else if (node->opset <= 6 && odet_attr_int(node, "is_test", 0) != 0)
        training = 0;
    else
        training = extra; /* opset 7-13: the output count selects the mode */
    if (training)
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "training mode is not supported (inference only)");
    if (has_out(node, 3) || has_out(node, 4))
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "outputs saved_mean/saved_var exist only in training mode");
    bn_params *p = malloc(sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->eps = odet_attr_float(node, "epsilon", 1e-5f);
    p->spatial = node->opset < 9 ? (int)odet_attr_int(node, "spatial", 1) : 1;
    node->params = p;
    return ODET_OK;
}

static odet_status bn_infer(odet_op_ctx *ctx)
{
    static const char *names[5] = {"X", "scale", "B", "mean", "var"};
    const bn_params *p = ctx->params;
    if (ctx->n_in < 5)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs 5 inputs, got %d", ctx->n_in);
    for (int i = 0; i < 5; i++) {
        odet_status st = check_float_input(ctx, i, names[i]);
        if (st != ODET_OK)
            return st;
    }
    const odet_tensor *x = ctx->in[0];
    if (x->rank < 2)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 0 'X' must have rank >= 2, got rank %d",
                            x->rank);
    int64_t c = x->dims[1], per_elem = odet_dims_prod(x->dims, 1, x->rank);
    int64_t m = numel(ctx->in[1]);
    if (m != c && !(p->spatial == 0 && m == per_elem))
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 1 'scale' has %lld elements, expected %lld",
                            (long long)m, (long long)(p->spatial ? c : per_elem));
    for (int i = 2; i < 5; i++)
        if (numel(ctx->in[i]) != m)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "input %d '%s' has %lld elements, expected %lld like 'scale'", i,
                                names[i], (long long)numel(ctx->in[i]), (long long)m);
    odet_set_shape(ctx->out[0], x->dtype, x->rank, x->dims);
    /* Inference mode: running_mean / running_var pass the inputs through. */
    for (int i = 1; i <= 2 && i < ctx->n_out; i++)
        if (ctx->out[i])
            odet_set_shape(ctx->out[i], ctx->in[i + 2]->dtype, ctx->in[i + 2]->rank,
                           ctx->in[i + 2]->dims);
    return ODET_OK;
}

static size_t bn_scratch(const odet_op_ctx *ctx)
{
    return 3 * (size_t)numel(ctx->in[1]) * sizeof(double);
}

static odet_status bn_run(odet_op_ctx *ctx)
{
    const bn_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    const int64_t n = x->dims[0], c = x->dims[1], inner = odet_dims_prod(x->dims, 2, x->rank);
    const int64_t m = numel(ctx->in[1]);
    double *mean = ctx->scratch, *a = mean + m, *b = a + m;
    for (int64_t i = 0; i < m; i++) {
        double inv = 1.0 / sqrt(odet_tensor_get_f64(ctx->in[4], i) + p->eps);
        mean[i] = odet_tensor_get_f64(ctx->in[3], i);
        a[i] = inv * odet_tensor_get_f64(ctx->in[1], i);
        b[i] = odet_tensor_get_f64(ctx->in[2], i);
    }
    const odet_dtype dt = x->dtype;
    const void *xd = x->data;
    void *yd = ctx->out[0]->data;
    const int64_t planes = n * c;
    if (m == c) {
#pragma omp parallel for num_threads(ctx->threads) if (planes * inner >= NORM_PAR_MIN)
        for (int64_t pc = 0; pc < planes; pc++) {
            int64_t ch = pc % c;
            block_shift_scale(dt, xd, yd, pc * inner, inner, mean[ch], a[ch], b[ch]);
        }
    } else { /* spatial == 0: one set of parameters per element of X.shape[1:] */
#pragma omp parallel for num_threads(ctx->threads) if (planes * inner >= NORM_PAR_MIN)
        for (int64_t pc = 0; pc < planes; pc++) {
            int64_t j0 = (pc % c) * inner;
            for (int64_t i = 0; i < inner; i++)
                block_shift_scale(dt, xd, yd, pc * inner + i, 1, mean[j0 + i], a[j0 + i],
                                  b[j0 + i]);
        }
    }
    for (int i = 1; i <= 2 && i < ctx->n_out; i++)
        if (ctx->out[i] && ctx->out[i]->data != ctx->in[i + 2]->data)
            memcpy(ctx->out[i]->data, ctx->in[i + 2]->data, odet_tensor_bytes(ctx->in[i + 2]));
    return ODET_OK;
}

/* ================================ InstanceNormalization ============================== */

typedef struct eps_params {
    double eps;
} eps_params;

static odet_status instnorm_prepare(odet_node *node, char *err, size_t errlen)
{
    eps_params *p = malloc(sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->eps = odet_attr_float(node, "epsilon", 1e-5f);
    node->params = p;
    return ODET_OK;
}

static odet_status instnorm_infer(odet_op_ctx *ctx)
{
    static const char *names[3] = {"input", "scale", "B"};
    if (ctx->n_in < 3)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs 3 inputs, got %d", ctx->n_in);
    for (int i = 0; i < 3; i++) {
        odet_status st = check_float_input(ctx, i, names[i]);
        if (st != ODET_OK)
            return st;
    }
    const odet_tensor *x = ctx->in[0];
    if (x->rank < 2)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 0 'input' must have rank >= 2, got rank %d", x->rank);
    for (int i = 1; i < 3; i++)
        if (numel(ctx->in[i]) != x->dims[1])
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "input %d '%s' has %lld elements, expected C = %lld", i,
                                names[i], (long long)numel(ctx->in[i]), (long long)x->dims[1]);
    odet_set_shape(ctx->out[0], x->dtype, x->rank, x->dims);
    return ODET_OK;
}

static odet_status instnorm_run(odet_op_ctx *ctx)
{
    const eps_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    const int64_t c = x->dims[1], planes = x->dims[0] * c;
    const int64_t inner = odet_dims_prod(x->dims, 2, x->rank);
    const odet_dtype dt = x->dtype;
#pragma omp parallel for num_threads(ctx->threads) if (planes * inner >= NORM_PAR_MIN)
    for (int64_t pc = 0; pc < planes; pc++) {
        int64_t ch = pc % c;
        double mean, var;
        block_stats(dt, x->data, pc * inner, inner, &mean, &var);
        double a = odet_tensor_get_f64(ctx->in[1], ch) / sqrt(var + p->eps);
        block_shift_scale(dt, x->data, ctx->out[0]->data, pc * inner, inner, mean, a,
                          odet_tensor_get_f64(ctx->in[2], ch));
    }
    return ODET_OK;
}

/* ================================ LayerNormalization ================================= */

typedef struct layernorm_params {
    int64_t axis;
    double eps;
    odet_dtype stash; /* dtype of the Mean / InvStdDev outputs */
} layernorm_params;

static odet_status layernorm_prepare(odet_node *node, char *err, size_t errlen)
{
    int64_t stash = odet_attr_int(node, "stash_type", ODET_FLOAT);
    if (stash != ODET_FLOAT && stash != ODET_DOUBLE)
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "stash_type %lld is not supported (float or double only)",
                              (long long)stash);
    layernorm_params *p = malloc(sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->axis = odet_attr_int(node, "axis", -1);
    p->eps = odet_attr_float(node, "epsilon", 1e-5f);
    p->stash = (odet_dtype)stash;
    node->params = p;
    return ODET_OK;
}

/* Whether `t` (Scale or B) broadcasts to the normalized shape dims[axis..rank). */
static int layernorm_param_ok(const odet_tensor *t, const odet_tensor *x, int axis)
{
    int nr = x->rank - axis;
    if (t->rank > nr)
        return 0;
    for (int i = 0; i < t->rank; i++) {
        int64_t d = t->dims[t->rank - 1 - i], want = x->dims[x->rank - 1 - i];
        if (d != want && d != 1)
            return 0;
    }
    return 1;
}

static odet_status layernorm_infer(odet_op_ctx *ctx)
{
    const layernorm_params *p = ctx->params;
    static const char *names[3] = {"X", "Scale", "B"};
    if (ctx->n_in < 2)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs at least 2 inputs, got %d",
                            ctx->n_in);
    const odet_tensor *x = ctx->in[0];
    for (int i = 0; i < 3 && i < ctx->n_in; i++) {
        if (i == 2 && !ctx->in[2])
            continue;
        odet_status st = check_float_input(ctx, i, names[i]);
        if (st != ODET_OK)
            return st;
        if (i > 0 && ctx->in[i]->dtype != x->dtype)
            return odet_op_fail(ctx, ODET_ERR_DTYPE, "input %d '%s' has dtype %s, X has %s", i,
                                names[i], odet_dtype_name(ctx->in[i]->dtype),
                                odet_dtype_name(x->dtype));
    }
    int axis;
    if (x->rank < 1 || odet_norm_axis(p->axis, x->rank, &axis) != 0)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)p->axis, x->rank);
    for (int i = 1; i < 3 && i < ctx->n_in; i++)
        if (ctx->in[i] && !layernorm_param_ok(ctx->in[i], x, axis))
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "input %d '%s' (rank %d) does not broadcast to the normalized "
                                "dims %d..%d of X",
                                i, names[i], ctx->in[i]->rank, axis, x->rank - 1);
    odet_set_shape(ctx->out[0], x->dtype, x->rank, x->dims);
    int64_t sdims[ODET_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        sdims[i] = i < axis ? x->dims[i] : 1;
    for (int i = 1; i <= 2 && i < ctx->n_out; i++)
        odet_set_shape(ctx->out[i], p->stash, x->rank, sdims);
    return ODET_OK;
}

/* Scratch holds Scale / B expanded to the normalized size when they broadcast. */
static size_t layernorm_scratch(const odet_op_ctx *ctx)
{
    const layernorm_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    int axis;
    if (odet_norm_axis(p->axis, x->rank, &axis) != 0)
        return 0;
    int64_t d = odet_dims_prod(x->dims, axis, x->rank);
    const odet_tensor *bi = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (numel(ctx->in[1]) == d && (!bi || numel(bi) == d))
        return 0;
    return 2 * (size_t)d * odet_dtype_size(x->dtype);
}

/* Expand a broadcasting parameter into dst[0..d) over the normalized dims. */
static void layernorm_expand(const odet_tensor *t, const odet_tensor *x, int axis, void *dst)
{
    const int nr = x->rank - axis;
    const int64_t *nd = x->dims + axis;
    int64_t d = odet_dims_prod(nd, 0, nr);
    int64_t tstr[ODET_MAX_RANK];
    /* Strides of t aligned to the normalized dims; 0 where t broadcasts. */
    int64_t s = 1;
    for (int i = nr - 1; i >= 0; i--) {
        int ti = i - (nr - t->rank);
        int64_t td = ti >= 0 ? t->dims[ti] : 1;
        tstr[i] = td == 1 ? 0 : s;
        s *= td;
    }
    for (int64_t j = 0; j < d; j++) {
        int64_t rem = j, src = 0;
        for (int i = nr - 1; i >= 0; i--) {
            src += (rem % nd[i]) * tstr[i];
            rem /= nd[i];
        }
        if (x->dtype == ODET_FLOAT)
            ((float *)dst)[j] = ((const float *)t->data)[src];
        else
            ((double *)dst)[j] = ((const double *)t->data)[src];
    }
}

static void store_stat(odet_tensor *t, int64_t i, double v)
{
    if (!t)
        return;
    if (t->dtype == ODET_FLOAT)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

static odet_status layernorm_run(odet_op_ctx *ctx)
{
    const layernorm_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    const odet_tensor *sc = ctx->in[1], *bi = ctx->n_in > 2 ? ctx->in[2] : NULL;
    int axis;
    odet_norm_axis(p->axis, x->rank, &axis);
    const int64_t d = odet_dims_prod(x->dims, axis, x->rank);
    const int64_t rows = odet_dims_prod(x->dims, 0, axis);
    const size_t es = odet_dtype_size(x->dtype);
    const void *scale = sc->data, *bias = bi ? bi->data : NULL;
    if (numel(sc) != d) {
        layernorm_expand(sc, x, axis, ctx->scratch);
        scale = ctx->scratch;
    }
    if (bi && numel(bi) != d) {
        void *dst = (char *)ctx->scratch + (size_t)d * es;
        layernorm_expand(bi, x, axis, dst);
        bias = dst;
    }
    odet_tensor *ymean = ctx->n_out > 1 ? ctx->out[1] : NULL;
    odet_tensor *yinv = ctx->n_out > 2 ? ctx->out[2] : NULL;
#pragma omp parallel for num_threads(ctx->threads) if (rows * d >= NORM_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        double mean, var;
        block_stats(x->dtype, x->data, r * d, d, &mean, &var);
        double inv = 1.0 / sqrt(var + p->eps);
        if (x->dtype == ODET_FLOAT)
            layer_row_f32((const float *)x->data + r * d, (float *)ctx->out[0]->data + r * d, d,
                          mean, inv, scale, bias);
        else
            layer_row_f64((const double *)x->data + r * d, (double *)ctx->out[0]->data + r * d,
                          d, mean, inv, scale, bias);
        store_stat(ymean, r, mean);
        store_stat(yinv, r, inv);
    }
    return ODET_OK;
}

/* ================================ GroupNormalization ================================= */

typedef struct groupnorm_params {
    int64_t groups;
    double eps;
} groupnorm_params;

static odet_status groupnorm_prepare(odet_node *node, char *err, size_t errlen)
{
    if (!odet_attr_find(node, "num_groups"))
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute 'num_groups' is required");
    int64_t g = odet_attr_int(node, "num_groups", 0);
    if (g < 1)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "num_groups must be >= 1, got %lld", (long long)g);
    groupnorm_params *p = malloc(sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->groups = g;
    p->eps = odet_attr_float(node, "epsilon", 1e-5f);
    node->params = p;
    return ODET_OK;
}

static odet_status groupnorm_infer(odet_op_ctx *ctx)
{
    static const char *names[3] = {"X", "scale", "bias"};
    const groupnorm_params *p = ctx->params;
    if (ctx->n_in < 3)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs 3 inputs, got %d", ctx->n_in);
    for (int i = 0; i < 3; i++) {
        odet_status st = check_float_input(ctx, i, names[i]);
        if (st != ODET_OK)
            return st;
    }
    const odet_tensor *x = ctx->in[0];
    if (x->rank < 2)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 0 'X' must have rank >= 2, got rank %d",
                            x->rank);
    const int64_t c = x->dims[1];
    if (c % p->groups != 0)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "channel count %lld is not divisible by num_groups %lld",
                            (long long)c, (long long)p->groups);
    /* Opset 18: scale/bias hold one value per group; opset 21: one per channel.
     * Either size is accepted; when num_groups == C both forms coincide. */
    for (int i = 1; i < 3; i++) {
        int64_t m = numel(ctx->in[i]);
        int ok = ctx->node->opset >= 21 ? m == c : (m == p->groups || m == c);
        if (!ok)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "input %d '%s' has %lld elements, expected %s%lld", i, names[i],
                                (long long)m,
                                ctx->node->opset >= 21 ? "C = " : "num_groups or C = ",
                                (long long)c);
    }
    odet_set_shape(ctx->out[0], x->dtype, x->rank, x->dims);
    return ODET_OK;
}

static odet_status groupnorm_run(odet_op_ctx *ctx)
{
    const groupnorm_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0], *sc = ctx->in[1], *bi = ctx->in[2];
    const int64_t c = x->dims[1], g = p->groups, cpg = c / g;
    const int64_t inner = odet_dims_prod(x->dims, 2, x->rank);
    const int64_t jobs = x->dims[0] * g;
    const int sc_per_ch = numel(sc) == c, bi_per_ch = numel(bi) == c;
#pragma omp parallel for num_threads(ctx->threads) if (jobs * cpg * inner >= NORM_PAR_MIN)
    for (int64_t job = 0; job < jobs; job++) {
        const int64_t grp = job % g, base = job * cpg * inner;
        double mean, var;
        block_stats(x->dtype, x->data, base, cpg * inner, &mean, &var);
        const double inv = 1.0 / sqrt(var + p->eps);
        for (int64_t k = 0; k < cpg; k++) {
            const int64_t ch = grp * cpg + k;
            double s = odet_tensor_get_f64(sc, sc_per_ch ? ch : grp);
            double b = odet_tensor_get_f64(bi, bi_per_ch ? ch : grp);
            block_shift_scale(x->dtype, x->data, ctx->out[0]->data, base + k * inner, inner,
                              mean, inv * s, b);
        }
    }
    return ODET_OK;
}

/* ================================ LpNormalization ==================================== */

typedef struct lpnorm_params {
    int64_t axis;
    int p;
} lpnorm_params;

static odet_status lpnorm_prepare(odet_node *node, char *err, size_t errlen)
{
    int64_t pv = odet_attr_int(node, "p", 2);
    if (pv != 1 && pv != 2)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "p must be 1 or 2, got %lld", (long long)pv);
    lpnorm_params *p = malloc(sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->axis = odet_attr_int(node, "axis", -1);
    p->p = (int)pv;
    node->params = p;
    return ODET_OK;
}

static odet_status lpnorm_infer(odet_op_ctx *ctx)
{
    const lpnorm_params *p = ctx->params;
    odet_status st = check_float_input(ctx, 0, "input");
    if (st != ODET_OK)
        return st;
    const odet_tensor *x = ctx->in[0];
    int axis;
    if (x->rank < 1 || odet_norm_axis(p->axis, x->rank, &axis) != 0)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)p->axis, x->rank);
    odet_set_shape(ctx->out[0], x->dtype, x->rank, x->dims);
    return ODET_OK;
}

#define LPNORM_KERNEL(T, S)                                                                   \
    /* Normalize n elements spaced `stride` apart by their L1 or L2 norm. */                 \
    static void lpnorm_line_##S(const T *x, T *y, int64_t n, int64_t stride, int p)           \
    {                                                                                         \
        double acc = 0.0;                                                                     \
        for (int64_t i = 0; i < n; i++) {                                                     \
            double v = (double)x[i * stride];                                                 \
            acc += p == 1 ? fabs(v) : v * v;                                                  \
        }                                                                                     \
        double norm = p == 1 ? acc : sqrt(acc);                                               \
        /* An all-zero line stays zero instead of becoming NaN. */                            \
        T inv = (T)(norm > 0.0 ? 1.0 / norm : 1.0);                                           \
        for (int64_t i = 0; i < n; i++)                                                       \
            y[i * stride] = x[i * stride] * inv;                                              \
    }

LPNORM_KERNEL(float, f32)
LPNORM_KERNEL(double, f64)

static odet_status lpnorm_run(odet_op_ctx *ctx)
{
    const lpnorm_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    int axis;
    odet_norm_axis(p->axis, x->rank, &axis);
    const int64_t n = x->dims[axis];
    const int64_t inner = odet_dims_prod(x->dims, axis + 1, x->rank);
    const int64_t lines = odet_dims_prod(x->dims, 0, axis) * inner;
#pragma omp parallel for num_threads(ctx->threads) if (lines * n >= NORM_PAR_MIN)
    for (int64_t l = 0; l < lines; l++) {
        int64_t off = (l / inner) * n * inner + l % inner;
        if (x->dtype == ODET_FLOAT)
            lpnorm_line_f32((const float *)x->data + off, (float *)ctx->out[0]->data + off, n,
                            inner, p->p);
        else
            lpnorm_line_f64((const double *)x->data + off, (double *)ctx->out[0]->data + off, n,
                            inner, p->p);
    }
    return ODET_OK;
}

/* LayerNormalization (opset 17) and GroupNormalization (opset 18) are registered
 * from opset 1: exporters emit them into models that declare older opsets. */
const odet_op_def odet_ops_norm[] = {
    {"BatchNormalization", "", 1, 0, 0, bn_prepare, NULL, bn_infer, bn_scratch, bn_run},
    {"InstanceNormalization", "", 1, 0, 0, instnorm_prepare, NULL, instnorm_infer, NULL,
     instnorm_run},
    {"LayerNormalization", "", 1, 0, 0, layernorm_prepare, NULL, layernorm_infer,
     layernorm_scratch, layernorm_run},
    {"GroupNormalization", "", 1, 0, 0, groupnorm_prepare, NULL, groupnorm_infer, NULL,
     groupnorm_run},
    {"LpNormalization", "", 1, 0, 0, lpnorm_prepare, NULL, lpnorm_infer, NULL, lpnorm_run},
    {0},
};
