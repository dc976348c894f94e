/* Element-wise unary operators: activations and math functions.
 *
 *   activations  Relu LeakyRelu Sigmoid HardSigmoid HardSwish Tanh Elu Selu Celu
 *                Softplus Softsign Mish Gelu ThresholdedRelu Shrink Clip
 *   math         Sqrt Reciprocal Exp Log Erf Abs Neg Sign Floor Ceil Round
 *                Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh
 *   tests        IsNaN IsInf (bool output), Not (bool)
 *
 * Each kernel is one plain loop over a contiguous range. The float kernels
 * are the reference for later SIMD versions; the float and double versions
 * come from one expression through <tgmath.h> (exp(v) is expf for a float v),
 * with constants written as (T)c so float code stays in float. float16 is
 * computed through the float kernel, converted block by block. Integer kernels
 * exist where ONNX allows integers (Relu, Abs, Neg, Sign, Clip).
 *
 * The output may be the same buffer as the input (in-place execution), so
 * the loops do not use `restrict`; each reads x[i] before writing y[i].
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "ops/elem.h"
#include "ops/op.h"

#define DT_SLOTS 17
#define PAR_CHEAP ((int64_t)1 << 15)
#define PAR_COSTLY ((int64_t)1 << 12)
#define CONV_BLK 256

typedef struct un_desc un_desc;

typedef struct un_params {
    const un_desc *d;
    float alpha, beta, gamma;
    int detect_pos, detect_neg;     /* IsInf */
} un_params;

/* Per-call arguments: the node's parameters and Clip's bounds, stored in the
 * kernel's element type (float for float16 inputs). */
typedef struct un_args {
    const un_params *p;
    unsigned char lo[8], hi[8];
} un_args;

/* y[i] = f(x[i]) for i < n. */
typedef void (*un_fn)(void *y, const void *x, int64_t n, const un_args *a);

struct un_desc {
    const char *op_type;
    int out_bool;       /* output dtype bool */
    int half;           /* float16 through fn[ODET_FLOAT] */
    int64_t par_min;    /* elements from which to use threads */
    float alpha, beta, gamma; /* attribute defaults */
    un_fn fn[DT_SLOTS];
};

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

/* Kernel loop: the statement(s) compute r from v. The node's attributes are
 * copied to locals (alpha, beta, gamma, dpos, dneg) before the loop so the
 * compiler need not reload them after every store. */
#define UN_LOOP(T, TO, ...)                                                             \
    {                                                                                   \
        TO *y = vy;                                                                     \
        const T *x = vx;                                                                \
        const T alpha = (T)args->p->alpha, beta = (T)args->p->beta;                     \
        const T gamma = (T)args->p->gamma;                                              \
        const int dpos = args->p->detect_pos, dneg = args->p->detect_neg;               \
        (void)alpha, (void)beta, (void)gamma, (void)dpos, (void)dneg;                   \
        for (int64_t i = 0; i < n; i++) {                                               \
            const T v = x[i];                                                           \
            TO r;                                                                       \
            __VA_ARGS__;                                                                \
            y[i] = r;                                                                   \
        }                                                                               \
    }
#define UN_FLOAT(name, ...)                                                             \
    static void name##_f32(void *vy, const void *vx, int64_t n, const un_args *args)    \
    {                                                                                   \
        typedef float T;                                                                \
        UN_LOOP(T, T, __VA_ARGS__)                                                      \
    }                                                                                   \
    static void name##_f64(void *vy, const void *vx, int64_t n, const un_args *args)    \
    {                                                                                   \
        typedef double T;                                                               \
        UN_LOOP(T, T, __VA_ARGS__)                                                      \
    }
/* Float input, bool output. */
#define UN_FLOAT_TEST(name, ...)                                                        \
    static void name##_f32(void *vy, const void *vx, int64_t n, const un_args *args)    \
    {                                                                                   \
        typedef float T;                                                                \
        UN_LOOP(T, uint8_t, __VA_ARGS__)                                                \
    }                                                                                   \
    static void name##_f64(void *vy, const void *vx, int64_t n, const un_args *args)    \
    {                                                                                   \
        typedef double T;                                                               \
        UN_LOOP(T, uint8_t, __VA_ARGS__)                                                \
    }

#define SQRT1_2 0.70710678118654752440
#define SQRT_2_OVER_PI 0.79788456080286535588

UN_FLOAT(relu, r = v < (T)0 ? (T)0 : v)
/* max(v, 0) + alpha * min(v, 0): exact, and both selects are unconditional, so
 * the loop vectorizes (a multiply inside a branch is not if-converted). */
UN_FLOAT(leakyrelu, r = (v < (T)0 ? (T)0 : v) + alpha * (v < (T)0 ? v : (T)0))
UN_FLOAT(thresholdedrelu, r = v > alpha ? v : (T)0)
UN_FLOAT(sigmoid, r = (T)1 / ((T)1 + exp(-v)))
UN_FLOAT(hardsigmoid, const T t = alpha * v + beta;
         r = t < (T)0 ? (T)0 : t > (T)1 ? (T)1 : t)
UN_FLOAT(tanh, r = tanh(v))
UN_FLOAT(elu, r = v < (T)0 ? alpha * expm1(v) : v)
UN_FLOAT(selu, r = v > (T)0 ? gamma * v : gamma * (alpha * expm1(v)))
UN_FLOAT(celu, r = v > (T)0 ? v : alpha * expm1(v / alpha))
/* log(1 + e^v) without overflow: v + log1p(e^-v) for v > 0. */
UN_FLOAT(softplus, r = v > (T)0 ? v + log1p(exp(-v)) : log1p(exp(v)))
UN_FLOAT(softsign, r = v / ((T)1 + fabs(v)))
UN_FLOAT(mish, const T sp = v > (T)0 ? v + log1p(exp(-v)) : log1p(exp(v)); r = v * tanh(sp))
/* Gelu: x/2 (1 + erf(x/sqrt2)) written as x/2 erfc(-x/sqrt2), and the tanh form
 * x/2 (1 + tanh(u)) as x / (1 + e^(-2u)): the same functions without the
 * cancellation of 1 + (-1 + tiny) for negative x. */
UN_FLOAT(gelu, r = (T)0.5 * v * erfc(-v * (T)SQRT1_2))
UN_FLOAT(gelu_tanh, const T u = (T)SQRT_2_OVER_PI * (v + (T)0.044715 * v * v * v);
         r = v / ((T)1 + exp((T)-2 * u)))
/* Shrink: alpha = lambd, beta = bias. */
UN_FLOAT(shrink, r = v < -alpha ? v + beta : v > alpha ? v - beta : (T)0)
UN_FLOAT(erf, r = erf(v))
UN_FLOAT(sqrt, r = sqrt(v))
UN_FLOAT(reciprocal, r = (T)1 / v)
UN_FLOAT(exp, r = exp(v))
UN_FLOAT(log, r = log(v))
UN_FLOAT(abs, r = fabs(v))
UN_FLOAT(neg, r = -v)
UN_FLOAT(sign, r = v > (T)0 ? (T)1 : v < (T)0 ? (T)-1 : v) /* NaN stays NaN */
UN_FLOAT(floor, r = floor(v))
UN_FLOAT(ceil, r = ceil(v))
UN_FLOAT(round, r = rint(v)) /* default rounding mode: half to even */
UN_FLOAT(sin, r = sin(v))
UN_FLOAT(cos, r = cos(v))
UN_FLOAT(tan, r = tan(v))
UN_FLOAT(asin, r = asin(v))
UN_FLOAT(acos, r = acos(v))
UN_FLOAT(atan, r = atan(v))
UN_FLOAT(sinh, r = sinh(v))
UN_FLOAT(cosh, r = cosh(v))
UN_FLOAT(asinh, r = asinh(v))
UN_FLOAT(acosh, r = acosh(v))
UN_FLOAT(atanh, r = atanh(v))
UN_FLOAT_TEST(isnan, r = isnan(v) != 0)
UN_FLOAT_TEST(isinf, r = (dpos && v == (T)INFINITY) ||
                         (dneg && v == -(T)INFINITY))

/* HardSwish = x * HardSigmoid(x; 1/6, 1/2). Written as one expression, GCC
 * folds v * 1 into a branch and gives up vectorizing; computing the gate into
 * a block buffer first keeps both loops vectorizable (and x may be y). */
#define DEF_HARDSWISH(s, T)                                                             \
    static void hardswish_##s(void *vy, const void *vx, int64_t n, const un_args *args) \
    {                                                                                   \
        (void)args;                                                                     \
        T *y = vy;                                                                      \
        const T *x = vx;                                                                \
        T gate[CONV_BLK];                                                               \
        for (int64_t i0 = 0; i0 < n; i0 += CONV_BLK) {                                  \
            const int64_t m = n - i0 < CONV_BLK ? n - i0 : CONV_BLK;                    \
            for (int64_t i = 0; i < m; i++) {                                           \
                const T t = x[i0 + i] * (T)(1.0 / 6.0) + (T)0.5;                        \
                gate[i] = t < (T)0 ? (T)0 : t > (T)1 ? (T)1 : t;                        \
            }                                                                           \
            for (int64_t i = 0; i < m; i++)                                             \
                y[i0 + i] = x[i0 + i] * gate[i];                                        \
        }                                                                               \
    }
DEF_HARDSWISH(f32, float)
DEF_HARDSWISH(f64, double)

/* Integer type lists: X(op, suffix, T, W, DTYPE), W an unsigned type wide
 * enough for T, in which negation wraps. */
#define SINTS(X, op)                                                                    \
    X(op, i8, int8_t, uint32_t, ODET_INT8) X(op, i16, int16_t, uint32_t, ODET_INT16)    \
    X(op, i32, int32_t, uint32_t, ODET_INT32) X(op, i64, int64_t, uint64_t, ODET_INT64)
#define UINTS(X, op)                                                                    \
    X(op, u8, uint8_t, uint32_t, ODET_UINT8) X(op, u16, uint16_t, uint32_t, ODET_UINT16) \
    X(op, u32, uint32_t, uint32_t, ODET_UINT32) X(op, u64, uint64_t, uint64_t, ODET_UINT64)
#define INTS(X, op) SINTS(X, op) UINTS(X, op)
#define FLOATS(X, op) X(op, f32, float, float, ODET_FLOAT) X(op, f64, double, double, ODET_DOUBLE)
#define KENT(op, s, T, W, DT) [DT] = op##_##s,

#define UN_INT(fname, T, ...)                                                           \
    static void fname(void *vy, const void *vx, int64_t n, const un_args *args)         \
    {                                                                                   \
        UN_LOOP(T, T, __VA_ARGS__)                                                      \
    }
#define DEF_RELU_S(op, s, T, W, DT) UN_INT(op##_##s, T, r = v < 0 ? (T)0 : v)
#define DEF_ABS_S(op, s, T, W, DT) UN_INT(op##_##s, T, r = v < 0 ? (T)(0u - (W)v) : v)
#define DEF_NEG_S(op, s, T, W, DT) UN_INT(op##_##s, T, r = (T)(0u - (W)v))
#define DEF_SIGN_S(op, s, T, W, DT) UN_INT(op##_##s, T, r = (T)((v > 0) - (v < 0)))
#define DEF_ABS_U(op, s, T, W, DT) UN_INT(op##_##s, T, r = v)
#define DEF_SIGN_U(op, s, T, W, DT) UN_INT(op##_##s, T, r = (T)(v != 0))
SINTS(DEF_RELU_S, relu)
SINTS(DEF_ABS_S, abs)
SINTS(DEF_NEG_S, neg)
SINTS(DEF_SIGN_S, sign)
UINTS(DEF_ABS_U, abs)
UINTS(DEF_SIGN_U, sign)

UN_INT(not_b, uint8_t, r = (uint8_t)(v == 0))

/* Clip: max(lo, x) then min(., hi), so lo > hi gives hi (numpy.clip); NaN
 * passes through. */
#define DEF_CLIP(op, s, T, W, DT)                                                       \
    static void op##_##s(void *vy, const void *vx, int64_t n, const un_args *args)      \
    {                                                                                   \
        T lo, hi;                                                                       \
        memcpy(&lo, args->lo, sizeof lo);                                               \
        memcpy(&hi, args->hi, sizeof hi);                                               \
        T *y = vy;                                                                      \
        const T *x = vx;                                                                \
        for (int64_t i = 0; i < n; i++) {                                               \
            const T t = x[i] < lo ? lo : x[i];                                          \
            y[i] = t > hi ? hi : t;                                                     \
        }                                                                               \
    }
FLOATS(DEF_CLIP, clip)
INTS(DEF_CLIP, clip)

/* ------------------------------------------------------------------------ */
/* Descriptions                                                              */
/* ------------------------------------------------------------------------ */

#define FLT(name) {[ODET_FLOAT] = name##_f32, [ODET_DOUBLE] = name##_f64}
/* Float activation / math function: name, kernel, cost, alpha, beta, gamma. */
#define D_FLOAT(op, k, par, a, b, g) {op, 0, 1, par, a, b, g, FLT(k)}

static const un_desc descs[] = {
    {"Relu", 0, 1, PAR_CHEAP, 0, 0, 0, {FLOATS(KENT, relu) SINTS(KENT, relu)}},
    D_FLOAT("LeakyRelu", leakyrelu, PAR_CHEAP, 0.01f, 0, 0),
    D_FLOAT("ThresholdedRelu", thresholdedrelu, PAR_CHEAP, 1.0f, 0, 0),
    D_FLOAT("Sigmoid", sigmoid, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("HardSigmoid", hardsigmoid, PAR_CHEAP, 0.2f, 0.5f, 0),
    D_FLOAT("HardSwish", hardswish, PAR_CHEAP, 0, 0, 0),
    D_FLOAT("Tanh", tanh, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Elu", elu, PAR_COSTLY, 1.0f, 0, 0),
    D_FLOAT("Selu", selu, PAR_COSTLY, 1.67326319217681884765625f, 0, 1.05070102214813232421875f),
    D_FLOAT("Celu", celu, PAR_COSTLY, 1.0f, 0, 0),
    D_FLOAT("Softplus", softplus, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Softsign", softsign, PAR_CHEAP, 0, 0, 0),
    D_FLOAT("Mish", mish, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Gelu", gelu, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Shrink", shrink, PAR_CHEAP, 0.5f, 0, 0),
    D_FLOAT("Erf", erf, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Sqrt", sqrt, PAR_CHEAP, 0, 0, 0),
    D_FLOAT("Reciprocal", reciprocal, PAR_CHEAP, 0, 0, 0),
    D_FLOAT("Exp", exp, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Log", log, PAR_COSTLY, 0, 0, 0),
    {"Abs", 0, 1, PAR_CHEAP, 0, 0, 0, {FLOATS(KENT, abs) INTS(KENT, abs)}},
    {"Neg", 0, 1, PAR_CHEAP, 0, 0, 0, {FLOATS(KENT, neg) SINTS(KENT, neg)}},
    {"Sign", 0, 1, PAR_CHEAP, 0, 0, 0, {FLOATS(KENT, sign) INTS(KENT, sign)}},
    D_FLOAT("Floor", floor, PAR_CHEAP, 0, 0, 0),
    D_FLOAT("Ceil", ceil, PAR_CHEAP, 0, 0, 0),
    D_FLOAT("Round", round, PAR_CHEAP, 0, 0, 0),
    D_FLOAT("Sin", sin, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Cos", cos, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Tan", tan, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Asin", asin, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Acos", acos, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Atan", atan, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Sinh", sinh, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Cosh", cosh, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Asinh", asinh, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Acosh", acosh, PAR_COSTLY, 0, 0, 0),
    D_FLOAT("Atanh", atanh, PAR_COSTLY, 0, 0, 0),
    {"IsNaN", 1, 1, PAR_CHEAP, 0, 0, 0, FLT(isnan)},
    {"IsInf", 1, 1, PAR_CHEAP, 0, 0, 0, FLT(isinf)},
    {"Not", 0, 0, PAR_CHEAP, 0, 0, 0, {[ODET_BOOL] = not_b}},
    {"Clip", 0, 1, PAR_CHEAP, 0, 0, 0, {FLOATS(KENT, clip) INTS(KENT, clip)}},
};

/* Gelu's tanh approximation: chosen by attribute. */
static const un_desc gelu_tanh_desc = D_FLOAT("Gelu", gelu_tanh, PAR_COSTLY, 0, 0, 0);

static int is_clip(const un_desc *d)
{
    return d->fn[ODET_FLOAT] == clip_f32;
}

static odet_status un_prepare(odet_node *node, char *err, size_t errlen)
{
    un_params p;
    memset(&p, 0, sizeof p);
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
        if (strcmp(node->op_type, descs[i].op_type) == 0)
            p.d = &descs[i];
    if (!p.d)
        return odet_node_fail(node, err, errlen, ODET_ERR_INTERNAL,
                              "no element-wise kernel for this op type");
    if (strcmp(node->op_type, "Gelu") == 0) {
        const char *ap = odet_attr_string(node, "approximate", "none");
        if (strcmp(ap, "tanh") == 0)
            p.d = &gelu_tanh_desc;
        else if (strcmp(ap, "none") != 0)
            return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                                  "approximate '%s' is not supported (none, tanh)", ap);
    }
    p.alpha = odet_attr_float(node, "alpha", p.d->alpha);
    p.beta = odet_attr_float(node, "beta", p.d->beta);
    p.gamma = odet_attr_float(node, "gamma", p.d->gamma);
    if (strcmp(node->op_type, "Shrink") == 0) {
        p.alpha = odet_attr_float(node, "lambd", p.d->alpha);
        p.beta = odet_attr_float(node, "bias", p.d->beta);
    }
    p.detect_pos = odet_attr_int(node, "detect_positive", 1) != 0;
    p.detect_neg = odet_attr_int(node, "detect_negative", 1) != 0;
    if (strcmp(node->op_type, "Celu") == 0 && p.alpha == 0.0f)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG, "alpha must not be 0");
    un_params *copy = malloc(sizeof *copy);
    if (!copy)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    *copy = p;
    node->params = copy;
    return ODET_OK;
}

static odet_status un_infer(odet_op_ctx *ctx)
{
    const un_desc *d = ((const un_params *)ctx->params)->d;
    int max_in = is_clip(d) ? 3 : 1;
    if (ctx->n_in < 1 || ctx->n_in > max_in || !ctx->in[0])
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs %s, got %d inputs",
                            max_in == 1 ? "one input" : "1 to 3 inputs", ctx->n_in);
    if (ctx->n_out < 1 || !ctx->out[0])
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "output 0 is missing");
    const odet_tensor *X = ctx->in[0];
    odet_dtype dt = X->dtype;
    int ok = (unsigned)dt < DT_SLOTS && d->fn[dt];
    if (dt == ODET_FLOAT16 && d->half)
        ok = 1;
    if (!ok)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(dt));
    for (int i = 1; i < ctx->n_in; i++) {
        const odet_tensor *b = ctx->in[i];
        if (!b)
            continue;
        if (b->dtype != dt)
            return odet_op_fail(ctx, ODET_ERR_DTYPE, "input %d (%s) must have X's dtype %s, got %s",
                                i, i == 1 ? "min" : "max", odet_dtype_name(dt),
                                odet_dtype_name(b->dtype));
        if (odet_tensor_numel(b) > 1)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "input %d (%s) must be a scalar", i,
                                i == 1 ? "min" : "max");
    }
    odet_set_shape(ctx->out[0], d->out_bool ? ODET_BOOL : dt, X->rank, X->dims);
    return ODET_OK;
}

/* Clip's bounds in the kernel's element type. Absent bounds are the type's
 * extremes (opset >= 11) or the attributes (opset < 11, default +-FLT_MAX). */
static void clip_bounds(const odet_op_ctx *ctx, un_args *a)
{
    const odet_tensor *X = ctx->in[0];
    const odet_tensor *b[2] = {ctx->n_in > 1 ? ctx->in[1] : NULL,
                               ctx->n_in > 2 ? ctx->in[2] : NULL};
    unsigned char *dst[2] = {a->lo, a->hi};
    for (int k = 0; k < 2; k++) {
        if (b[k] && odet_tensor_numel(b[k]) < 1)
            b[k] = NULL;
        int hi = k == 1;
        if (X->dtype == ODET_FLOAT || X->dtype == ODET_FLOAT16 || X->dtype == ODET_DOUBLE) {
            double v;
            if (b[k])
                v = X->dtype == ODET_FLOAT16 ? odet_f16_to_f32(*(const uint16_t *)b[k]->data)
                                             : odet_tensor_get_f64(b[k], 0);
            else if (ctx->node->opset < 11)
                v = odet_attr_float(ctx->node, hi ? "max" : "min", hi ? FLT_MAX : -FLT_MAX);
            else
                v = hi ? INFINITY : -INFINITY;
            if (X->dtype == ODET_DOUBLE) {
                memcpy(dst[k], &v, sizeof v);
            } else {
                float f = (float)v;
                memcpy(dst[k], &f, sizeof f);
            }
            continue;
        }
        size_t es = odet_dtype_size(X->dtype);
        if (b[k]) {
            memcpy(dst[k], b[k]->data, es);
            continue;
        }
        switch (X->dtype) { /* integer extremes */
#define EXT(DT, T, LO, HI)                                                              \
    case DT: {                                                                          \
        T v = hi ? (HI) : (LO);                                                         \
        memcpy(dst[k], &v, sizeof v);                                                   \
        break;                                                                          \
    }
        EXT(ODET_INT8, int8_t, INT8_MIN, INT8_MAX)
        EXT(ODET_INT16, int16_t, INT16_MIN, INT16_MAX)
        EXT(ODET_INT32, int32_t, INT32_MIN, INT32_MAX)
        EXT(ODET_INT64, int64_t, INT64_MIN, INT64_MAX)
        EXT(ODET_UINT8, uint8_t, 0, UINT8_MAX)
        EXT(ODET_UINT16, uint16_t, 0, UINT16_MAX)
        EXT(ODET_UINT32, uint32_t, 0, UINT32_MAX)
        EXT(ODET_UINT64, uint64_t, 0, UINT64_MAX)
#undef EXT
        default: break;
        }
    }
}

/* x[0..n) -> y through the float kernel, CONV_BLK elements at a time. */
static void run_half(un_fn f, int out_bool, void *y, const void *x, int64_t n, const un_args *a)
{
    float in[CONV_BLK], out[CONV_BLK];
    const uint16_t *hx = x;
    for (int64_t i0 = 0; i0 < n; i0 += CONV_BLK) {
        int64_t m = n - i0 < CONV_BLK ? n - i0 : CONV_BLK;
        for (int64_t i = 0; i < m; i++)
            in[i] = odet_f16_to_f32(hx[i0 + i]);
        if (out_bool) {
            f((uint8_t *)y + i0, in, m, a);
        } else {
            f(out, in, m, a);
            uint16_t *hy = (uint16_t *)y + i0;
            for (int64_t i = 0; i < m; i++)
                hy[i] = odet_f32_to_f16(out[i]);
        }
    }
}

static odet_status un_run(odet_op_ctx *ctx)
{
    const un_params *p = ctx->params;
    const un_desc *d = p->d;
    const odet_tensor *X = ctx->in[0];
    odet_tensor *Y = ctx->out[0];
    const int half = X->dtype == ODET_FLOAT16;
    un_fn f = d->fn[half ? ODET_FLOAT : X->dtype];
    un_args a;
    memset(&a, 0, sizeof a);
    a.p = p;
    if (is_clip(d))
        clip_bounds(ctx, &a);
    const int64_t total = odet_tensor_numel(X);
    if (total <= 0)
        return ODET_OK;
    const size_t xs = odet_dtype_size(X->dtype), ys = odet_dtype_size(Y->dtype);
    const int nt = total >= d->par_min && ctx->threads > 1 ? ctx->threads : 1;
    const int64_t chunk = ((total + nt - 1) / nt + 63) & ~(int64_t)63;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int t = 0; t < nt; t++) {
        int64_t e0 = (int64_t)t * chunk, e1 = e0 + chunk < total ? e0 + chunk : total;
        if (e0 >= e1)
            continue;
        const void *x = (const char *)X->data + (size_t)e0 * xs;
        void *y = (char *)Y->data + (size_t)e0 * ys;
        if (half)
            run_half(f, d->out_bool, y, x, e1 - e0, &a);
        else
            f(y, x, e1 - e0, &a);
    }
    return ODET_OK;
}

#define UN_OP(name, opset) {name, "", opset, 0, 0, un_prepare, NULL, un_infer, NULL, un_run}

const odet_op_def odet_ops_unary[] = {
    UN_OP("Relu", 1),
    UN_OP("LeakyRelu", 1),
    UN_OP("ThresholdedRelu", 1),
    UN_OP("Sigmoid", 1),
    UN_OP("HardSigmoid", 1),
    UN_OP("HardSwish", 14),
    UN_OP("Tanh", 1),
    UN_OP("Elu", 1),
    UN_OP("Selu", 1),
    UN_OP("Celu", 12),
    UN_OP("Softplus", 1),
    UN_OP("Softsign", 1),
    /* Mish (opset 18) and Gelu (opset 20) are accepted in any opset:
     * exporters emit them into models of older opsets. */
    UN_OP("Mish", 1),
    UN_OP("Gelu", 1),
    UN_OP("Shrink", 9),
    UN_OP("Erf", 9),
    UN_OP("Sqrt", 1),
    UN_OP("Reciprocal", 1),
    UN_OP("Exp", 1),
    UN_OP("Log", 1),
    UN_OP("Abs", 1),
    UN_OP("Neg", 1),
    UN_OP("Sign", 9),
    UN_OP("Floor", 1),
    UN_OP("Ceil", 1),
    UN_OP("Round", 11),
    UN_OP("Sin", 7),
    UN_OP("Cos", 7),
    UN_OP("Tan", 7),
    UN_OP("Asin", 7),
    UN_OP("Acos", 7),
    UN_OP("Atan", 7),
    UN_OP("Sinh", 9),
    UN_OP("Cosh", 9),
    UN_OP("Asinh", 9),
    UN_OP("Acosh", 9),
    UN_OP("Atanh", 9),
    UN_OP("IsNaN", 9),
    UN_OP("IsInf", 10),
    UN_OP("Not", 1),
    UN_OP("Clip", 1),
    {0},
};
