/* Element-wise operators with numpy (multidirectional) broadcasting:
 *
 *   arithmetic   Add Sub Mul Div Pow Mod PRelu BitShift
 *   variadic     Sum Mean Min Max (1..N inputs)
 *   comparison   Equal Less LessOrEqual Greater GreaterOrEqual   (bool output)
 *   logical      And Or Xor                                      (bool)
 *   selection    Where
 *
 * Broadcasting is reduced once per call to a plan: output dims of size 1 are
 * dropped, and neighbouring dims are merged wherever every input is either
 * contiguous across both or broadcast across both. The innermost dim of the
 * plan is then a run in which each input advances by one element or stays on
 * one element. Same-shape tensors become one run; [N,C,H,W] + [1,C,1,1] runs of
 * H*W against one value; [B,T,D] + [D] runs of D. Kernels are plain loops over
 * such runs ("rows"), specialised for the stride pairs (1,1), (1,0) and (0,1),
 * so the common cases carry no per-element index arithmetic.
 *
 * The output may be the same buffer as an input (in-place execution): every
 * kernel reads element i of its inputs before it writes element i of the
 * output, so the loops do not use `restrict` between output and inputs (GCC
 * still vectorises them after a run-time overlap check that admits equality).
 *
 * dtypes: float, double and all integer types where ONNX allows them; float16
 * is computed through the float kernels, converted block by block. Integer
 * arithmetic wraps (it is done in unsigned types); integer division and
 * modulo by zero give 0 instead of trapping.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/elem.h"
#include "ops/op.h"

/* Slots of per-dtype kernel tables: ONNX dtype numbers up to bfloat16. */
#define DT_SLOTS 17
#define EW_MAX_IN 3
/* Output elements from which cheap / costly kernels are run on several threads. */
#define PAR_CHEAP ((int64_t)1 << 15)
#define PAR_COSTLY ((int64_t)1 << 12)
/* Elements converted at a time on the float16 and mixed-type paths. */
#define CONV_BLK 256

/* ------------------------------------------------------------------------ */
/* Row kernels                                                               */
/* ------------------------------------------------------------------------ */

/* A block of `rows` rows of n output elements (the output is contiguous):
 *   o[r*n + i] = f(a[r*ra + i*sa], b[r*rb + i*sb])
 * sa, sb are 0 or 1; ra, rb are the inputs' row strides in elements. Whole
 * blocks keep the call overhead off tensors with short rows ([N,4] + [N,1]). */
typedef void (*row_fn)(void *o, const void *a, int sa, int64_t ra, const void *b, int sb,
                       int64_t rb, int64_t n, int64_t rows);

/* A row kernel from an expression in x (element of a) and y (element of b). */
#define ROW(fname, TA, TB, TO, EXPR)                                                  \
    static void fname(void *vo, const void *va, int sa, int64_t ra, const void *vb,     \
                      int sb, int64_t rb, int64_t n, int64_t rows)                      \
    {                                                                                   \
        TO *o = vo;                                                                     \
        const TA *a = va;                                                               \
        const TB *b = vb;                                                               \
        for (int64_t r = 0; r < rows; r++, o += n, a += ra, b += rb) {                  \
            if (sa && sb) {                                                             \
                for (int64_t i = 0; i < n; i++) {                                       \
                    const TA x = a[i];                                                  \
                    const TB y = b[i];                                                  \
                    o[i] = (TO)(EXPR);                                                  \
                }                                                                       \
            } else if (sa) {                                                            \
                const TB y = b[0];                                                      \
                for (int64_t i = 0; i < n; i++) {                                       \
                    const TA x = a[i];                                                  \
                    o[i] = (TO)(EXPR);                                                  \
                }                                                                       \
            } else if (sb) {                                                            \
                const TA x = a[0];                                                      \
                for (int64_t i = 0; i < n; i++) {                                       \
                    const TB y = b[i];                                                  \
                    o[i] = (TO)(EXPR);                                                  \
                }                                                                       \
            } else {                                                                    \
                const TA x = a[0];                                                      \
                const TB y = b[0];                                                      \
                const TO v = (TO)(EXPR);                                                \
                for (int64_t i = 0; i < n; i++)                                         \
                    o[i] = v;                                                           \
            }                                                                           \
        }                                                                               \
    }

/* Type lists: X(op, suffix, T, W, DTYPE). W is the type arithmetic is done in:
 * an unsigned type for integers (so overflow wraps), T itself for floats. */
#define FLOATS(X, op) X(op, f32, float, float, ODET_FLOAT) X(op, f64, double, double, ODET_DOUBLE)
#define SINTS(X, op)                                                                    \
    X(op, i8, int8_t, uint32_t, ODET_INT8) X(op, i16, int16_t, uint32_t, ODET_INT16)    \
    X(op, i32, int32_t, uint32_t, ODET_INT32) X(op, i64, int64_t, uint64_t, ODET_INT64)
#define UINTS(X, op)                                                                    \
    X(op, u8, uint8_t, uint32_t, ODET_UINT8) X(op, u16, uint16_t, uint32_t, ODET_UINT16) \
    X(op, u32, uint32_t, uint32_t, ODET_UINT32) X(op, u64, uint64_t, uint64_t, ODET_UINT64)
#define INTS(X, op) SINTS(X, op) UINTS(X, op)
#define NUMS(X, op) FLOATS(X, op) INTS(X, op)

/* Kernel table entry: [DTYPE] = op_suffix, */
#define KENT(op, s, T, W, DT) [DT] = op##_##s,

/* Add Sub Mul (wrapping for integers) */
#define DEF_ADD(op, s, T, W, DT) ROW(op##_##s, T, T, T, (W)x + (W)y)
#define DEF_SUB(op, s, T, W, DT) ROW(op##_##s, T, T, T, (W)x - (W)y)
#define DEF_MUL(op, s, T, W, DT) ROW(op##_##s, T, T, T, (W)x * (W)y)
NUMS(DEF_ADD, add)
NUMS(DEF_SUB, sub)
NUMS(DEF_MUL, mul)

/* Div: integer division truncates toward zero; x / 0 = 0; MIN / -1 wraps. */
#define DEF_DIVF(op, s, T, W, DT) ROW(op##_##s, T, T, T, x / y)
#define DEF_DIVS(op, s, T, W, DT)                                                       \
    ROW(op##_##s, T, T, T, y == 0 ? (T)0 : y == -1 ? (T)(0u - (W)x) : (T)(x / y))
#define DEF_DIVU(op, s, T, W, DT) ROW(op##_##s, T, T, T, y == 0 ? (T)0 : (T)(x / y))
FLOATS(DEF_DIVF, div)
SINTS(DEF_DIVS, div)
UINTS(DEF_DIVU, div)

/* Mod, fmod = 0: the result takes the sign of the divisor (Python / numpy).
 * Mod, fmod = 1: the result takes the sign of the dividend (C fmod). */
static inline float pymod_f32(float x, float y)
{
    float r = fmodf(x, y);
    if (r != 0.0f && ((r < 0.0f) != (y < 0.0f)))
        r += y;
    return r;
}

static inline double pymod_f64(double x, double y)
{
    double r = fmod(x, y);
    if (r != 0.0 && ((r < 0.0) != (y < 0.0)))
        r += y;
    return r;
}

#define DEF_PYMOD_S(op, s, T, W, DT)                                                    \
    static inline T pymod_##s(T x, T y)                                                 \
    {                                                                                   \
        if (y == 0 || y == -1)                                                          \
            return 0;                                                                   \
        T r = (T)(x % y);                                                               \
        if (r != 0 && ((r < 0) != (y < 0)))                                             \
            r = (T)(r + y);                                                             \
        return r;                                                                       \
    }
SINTS(DEF_PYMOD_S, unused)

#define DEF_MOD_F(op, s, T, W, DT) ROW(op##_##s, T, T, T, pymod_##s(x, y))
#define DEF_MOD_S(op, s, T, W, DT) ROW(op##_##s, T, T, T, pymod_##s(x, y))
#define DEF_MOD_U(op, s, T, W, DT) ROW(op##_##s, T, T, T, y == 0 ? (T)0 : (T)(x % y))
FLOATS(DEF_MOD_F, mod)
SINTS(DEF_MOD_S, mod)
UINTS(DEF_MOD_U, mod)

ROW(fmod_f32, float, float, float, fmodf(x, y))
ROW(fmod_f64, double, double, double, fmod(x, y))
#define DEF_FMOD_S(op, s, T, W, DT)                                                     \
    ROW(op##_##s, T, T, T, (y == 0 || y == -1) ? (T)0 : (T)(x % y))
SINTS(DEF_FMOD_S, fmod)
UINTS(DEF_MOD_U, fmod)

/* Min Max: a NaN in either operand gives NaN (numpy minimum/maximum). */
#define DEF_MAX_F(op, s, T, W, DT) ROW(op##_##s, T, T, T, (x > y || isnan(x)) ? x : y)
#define DEF_MIN_F(op, s, T, W, DT) ROW(op##_##s, T, T, T, (x < y || isnan(x)) ? x : y)
#define DEF_MAX_I(op, s, T, W, DT) ROW(op##_##s, T, T, T, x > y ? x : y)
#define DEF_MIN_I(op, s, T, W, DT) ROW(op##_##s, T, T, T, x < y ? x : y)
FLOATS(DEF_MAX_F, max)
FLOATS(DEF_MIN_F, min)
INTS(DEF_MAX_I, max)
INTS(DEF_MIN_I, min)

/* PRelu: x < 0 ? slope * x : x (unsigned types: identity). The float form
 * max(x, 0) + slope * min(x, 0) is exact and has no multiply under a branch,
 * so it vectorizes. */
#define DEF_PRELU_F(op, s, T, W, DT)                                                    \
    ROW(op##_##s, T, T, T, (x < 0 ? (T)0 : x) + y * (x < 0 ? x : (T)0))
#define DEF_PRELU_S(op, s, T, W, DT) ROW(op##_##s, T, T, T, x < 0 ? (T)((W)x * (W)y) : x)
#define DEF_PRELU_U(op, s, T, W, DT) ROW(op##_##s, T, T, T, ((void)y, x))
FLOATS(DEF_PRELU_F, prelu)
SINTS(DEF_PRELU_S, prelu)
UINTS(DEF_PRELU_U, prelu)

/* Comparisons (bool output). */
#define DEF_EQ(op, s, T, W, DT) ROW(op##_##s, T, T, uint8_t, x == y)
#define DEF_LT(op, s, T, W, DT) ROW(op##_##s, T, T, uint8_t, x < y)
#define DEF_LE(op, s, T, W, DT) ROW(op##_##s, T, T, uint8_t, x <= y)
#define DEF_GT(op, s, T, W, DT) ROW(op##_##s, T, T, uint8_t, x > y)
#define DEF_GE(op, s, T, W, DT) ROW(op##_##s, T, T, uint8_t, x >= y)
NUMS(DEF_EQ, eq)
NUMS(DEF_LT, lt)
NUMS(DEF_LE, le)
NUMS(DEF_GT, gt)
NUMS(DEF_GE, ge)
ROW(eq_b, uint8_t, uint8_t, uint8_t, (x != 0) == (y != 0))

/* Logical (bool). */
ROW(and_b, uint8_t, uint8_t, uint8_t, (x != 0) & (y != 0))
ROW(or_b, uint8_t, uint8_t, uint8_t, (x != 0) | (y != 0))
ROW(xor_b, uint8_t, uint8_t, uint8_t, (x != 0) ^ (y != 0))

/* BitShift (unsigned types); shifting by the type's width or more gives 0. */
#define DEF_SHL(op, s, T, W, DT)                                                        \
    ROW(op##_##s, T, T, T, (uint64_t)y >= 8u * sizeof(T) ? (T)0 : (T)((W)x << y))
#define DEF_SHR(op, s, T, W, DT)                                                        \
    ROW(op##_##s, T, T, T, (uint64_t)y >= 8u * sizeof(T) ? (T)0 : (T)(x >> y))
UINTS(DEF_SHL, shl)
UINTS(DEF_SHR, shr)

/* Pow with base and exponent of the same float type. A scalar exponent of
 * 1, 2 or 0.5 takes an exact shortcut (sqrt is correctly rounded; +0.0f
 * turns sqrt(-0) into pow's +0). */
ROW(pow_any_f32, float, float, float, powf(x, y))
ROW(pow_any_f64, double, double, double, pow(x, y))

#define DEF_POW_SAME(s, T, SQRT, FABS)                                                  \
    static void pow_##s(void *vo, const void *va, int sa, int64_t ra, const void *vb,    \
                        int sb, int64_t rb, int64_t n, int64_t rows)                    \
    {                                                                                   \
        for (int64_t r = 0; r < rows; r++) {                                            \
            T *o = (T *)vo + r * n;                                                     \
            const T *a = (const T *)va + r * ra;                                        \
            const T *b = (const T *)vb + r * rb;                                        \
            const T e = b[0];                                                           \
            if (sa && !sb && e == (T)2) {                                               \
                for (int64_t i = 0; i < n; i++)                                         \
                    o[i] = a[i] * a[i];                                                 \
            } else if (sa && !sb && e == (T)1) {                                        \
                for (int64_t i = 0; i < n; i++)                                         \
                    o[i] = a[i];                                                        \
            } else if (sa && !sb && e == (T)0.5) {                                      \
                for (int64_t i = 0; i < n; i++)                                         \
                    o[i] = isinf(a[i]) ? FABS(a[i]) : SQRT(a[i]) + (T)0;                \
            } else {                                                                    \
                pow_any_##s(o, a, sa, 0, b, sb, 0, n, 1);                               \
            }                                                                           \
        }                                                                               \
    }
DEF_POW_SAME(f32, float, sqrtf, fabsf)
DEF_POW_SAME(f64, double, sqrt, fabs)

/* ------------------------------------------------------------------------ */
/* Operator descriptions                                                     */
/* ------------------------------------------------------------------------ */

typedef enum bin_kind {
    BK_PLAIN,    /* two inputs, same dtype */
    BK_VARIADIC, /* 1..N inputs folded with fn (Sum Min Max) */
    BK_MEAN,     /* Sum, then divided by N */
    BK_POW,      /* base and exponent dtypes may differ */
    BK_PRELU,    /* slope broadcast to X (unidirectional) */
    BK_WHERE     /* condition, X, Y */
} bin_kind;

typedef struct bin_desc {
    const char *op_type;
    bin_kind kind;
    int out_bool;           /* output dtype bool (comparisons, logical) */
    int half;               /* float16 computed through fn[ODET_FLOAT] */
    int legacy;             /* opset < 7 `broadcast` / `axis` attributes exist */
    int64_t par_min;        /* output elements from which to use threads */
    row_fn fn[DT_SLOTS];    /* per input dtype; NULL = unsupported */
} bin_desc;

static const bin_desc D_ADD = {"Add", BK_PLAIN, 0, 1, 1, PAR_CHEAP, {NUMS(KENT, add)}};
static const bin_desc D_SUB = {"Sub", BK_PLAIN, 0, 1, 1, PAR_CHEAP, {NUMS(KENT, sub)}};
static const bin_desc D_MUL = {"Mul", BK_PLAIN, 0, 1, 1, PAR_CHEAP, {NUMS(KENT, mul)}};
static const bin_desc D_DIV = {"Div", BK_PLAIN, 0, 1, 1, PAR_CHEAP, {NUMS(KENT, div)}};
static const bin_desc D_MOD = {"Mod", BK_PLAIN, 0, 1, 0, PAR_COSTLY, {NUMS(KENT, mod)}};
static const bin_desc D_FMOD = {"Mod", BK_PLAIN, 0, 1, 0, PAR_COSTLY, {NUMS(KENT, fmod)}};
static const bin_desc D_POW = {"Pow", BK_POW, 0, 1, 1, PAR_COSTLY,
                               {[ODET_FLOAT] = pow_f32, [ODET_DOUBLE] = pow_f64}};
static const bin_desc D_PRELU = {"PRelu", BK_PRELU, 0, 1, 0, PAR_CHEAP, {NUMS(KENT, prelu)}};
static const bin_desc D_SHL = {"BitShift", BK_PLAIN, 0, 0, 0, PAR_CHEAP, {UINTS(KENT, shl)}};
static const bin_desc D_SHR = {"BitShift", BK_PLAIN, 0, 0, 0, PAR_CHEAP, {UINTS(KENT, shr)}};
static const bin_desc D_SUM = {"Sum", BK_VARIADIC, 0, 1, 0, PAR_CHEAP, {NUMS(KENT, add)}};
static const bin_desc D_MEAN = {"Mean", BK_MEAN, 0, 1, 0, PAR_CHEAP, {FLOATS(KENT, add)}};
static const bin_desc D_MIN = {"Min", BK_VARIADIC, 0, 1, 0, PAR_CHEAP, {NUMS(KENT, min)}};
static const bin_desc D_MAX = {"Max", BK_VARIADIC, 0, 1, 0, PAR_CHEAP, {NUMS(KENT, max)}};
static const bin_desc D_EQ = {"Equal", BK_PLAIN, 1, 1, 1, PAR_CHEAP,
                              {NUMS(KENT, eq)[ODET_BOOL] = eq_b}};
static const bin_desc D_LT = {"Less", BK_PLAIN, 1, 1, 1, PAR_CHEAP, {NUMS(KENT, lt)}};
static const bin_desc D_LE = {"LessOrEqual", BK_PLAIN, 1, 1, 0, PAR_CHEAP, {NUMS(KENT, le)}};
static const bin_desc D_GT = {"Greater", BK_PLAIN, 1, 1, 1, PAR_CHEAP, {NUMS(KENT, gt)}};
static const bin_desc D_GE = {"GreaterOrEqual", BK_PLAIN, 1, 1, 0, PAR_CHEAP,
                              {NUMS(KENT, ge)}};
static const bin_desc D_AND = {"And", BK_PLAIN, 1, 0, 1, PAR_CHEAP, {[ODET_BOOL] = and_b}};
static const bin_desc D_OR = {"Or", BK_PLAIN, 1, 0, 1, PAR_CHEAP, {[ODET_BOOL] = or_b}};
static const bin_desc D_XOR = {"Xor", BK_PLAIN, 1, 0, 1, PAR_CHEAP, {[ODET_BOOL] = xor_b}};
static const bin_desc D_WHERE = {"Where", BK_WHERE, 0, 0, 0, PAR_CHEAP, {0}};

/* Mod and BitShift are resolved by attribute in prepare. */
static const bin_desc *const all_descs[] = {
    &D_ADD, &D_SUB, &D_MUL, &D_DIV, &D_POW, &D_PRELU, &D_SUM, &D_MEAN, &D_MIN, &D_MAX,
    &D_EQ, &D_LT, &D_LE, &D_GT, &D_GE, &D_AND, &D_OR, &D_XOR, &D_WHERE,
};

typedef struct bin_params {
    const bin_desc *d;
    int legacy_axis;    /* opset < 7, broadcast = 1 and `axis` given */
    int64_t axis;
} bin_params;

static odet_status bin_prepare(odet_node *node, char *err, size_t errlen)
{
    bin_params p;
    memset(&p, 0, sizeof p);
    if (strcmp(node->op_type, "Mod") == 0) {
        int64_t f = odet_attr_int(node, "fmod", 0);
        if (f != 0 && f != 1)
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "fmod = %lld must be 0 or 1", (long long)f);
        p.d = f ? &D_FMOD : &D_MOD;
    } else if (strcmp(node->op_type, "BitShift") == 0) {
        const char *dir = odet_attr_string(node, "direction", NULL);
        if (!dir)
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "attribute 'direction' is required");
        if (strcmp(dir, "LEFT") == 0)
            p.d = &D_SHL;
        else if (strcmp(dir, "RIGHT") == 0)
            p.d = &D_SHR;
        else
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "direction '%s' must be LEFT or RIGHT", dir);
    } else {
        for (size_t i = 0; i < sizeof all_descs / sizeof all_descs[0]; i++)
            if (strcmp(node->op_type, all_descs[i]->op_type) == 0)
                p.d = all_descs[i];
        if (!p.d)
            return odet_node_fail(node, err, errlen, ODET_ERR_INTERNAL,
                                  "no element-wise kernel for this op type");
    }
    /* Before opset 7, B was broadcast to A only with broadcast = 1, aligned at
     * `axis` (suffix-aligned, numpy-like, when axis is absent). */
    if (p.d->legacy && node->opset < 7 && odet_attr_int(node, "broadcast", 0) != 0 &&
        odet_attr_find(node, "axis")) {
        p.legacy_axis = 1;
        p.axis = odet_attr_int(node, "axis", 0);
    }
    bin_params *copy = malloc(sizeof *copy);
    if (!copy)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    *copy = p;
    node->params = copy;
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct shape {
    int rank;
    int64_t dims[ODET_MAX_RANK];
} shape;

static void fmt_dims(char *buf, size_t len, const shape *s)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, len - n, "[");
    for (int i = 0; i < s->rank && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, i ? ",%lld" : "%lld", (long long)s->dims[i]);
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

static void shape_of(const odet_tensor *t, shape *s)
{
    s->rank = t->rank;
    for (int i = 0; i < t->rank; i++)
        s->dims[i] = t->dims[i];
}

/* Input i's shape as broadcasting sees it: the old axis-aligned form of
 * opset < 7 and PRelu's per-channel 1-D slope are rewritten with size-1 dims
 * (same element order). */
static odet_status input_shape(const odet_op_ctx *ctx, int i, shape *s)
{
    const bin_params *p = ctx->params;
    const odet_tensor *t = ctx->in[i];
    shape_of(t, s);
    if (i != 1)
        return ODET_OK;
    const odet_tensor *a = ctx->in[0];
    if (p->legacy_axis) {
        int axis;
        if (odet_norm_axis(p->axis, a->rank, &axis) != 0 || axis + t->rank > a->rank)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "axis = %lld does not fit input 1 of rank %d into input 0 "
                                "of rank %d",
                                (long long)p->axis, t->rank, a->rank);
        s->rank = a->rank;
        for (int d = 0; d < a->rank; d++)
            s->dims[d] = (d >= axis && d < axis + t->rank) ? t->dims[d - axis] : 1;
    } else if (p->d->kind == BK_PRELU && t->rank == 1 && a->rank >= 2 &&
               t->dims[0] == a->dims[1] && t->dims[0] != a->dims[a->rank - 1]) {
        s->rank = a->rank;
        for (int d = 0; d < a->rank; d++)
            s->dims[d] = d == 1 ? t->dims[0] : 1;
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Broadcast plan                                                            */
/* ------------------------------------------------------------------------ */

typedef struct bc_plan {
    int rank, n_in;
    int64_t dims[ODET_MAX_RANK];
    int64_t st[EW_MAX_IN][ODET_MAX_RANK]; /* element strides, 0 where broadcast */
} bc_plan;

/* Inputs are right-aligned against the output shape and must broadcast to it. */
static void plan_init(bc_plan *p, const shape *out, int n_in, const shape *in)
{
    int64_t cst[EW_MAX_IN][ODET_MAX_RANK];
    for (int k = 0; k < n_in; k++)
        odet_strides(in[k].rank, in[k].dims, cst[k]);
    p->n_in = n_in;
    int r = 0;
    for (int d = 0; d < out->rank; d++) {
        if (out->dims[d] == 1)
            continue;
        p->dims[r] = out->dims[d];
        for (int k = 0; k < n_in; k++) {
            int j = d - (out->rank - in[k].rank);
            p->st[k][r] = (j < 0 || in[k].dims[j] == 1) ? 0 : cst[k][j];
        }
        r++;
    }
    /* Merge dim d into the kept dim m-1 when every input steps evenly across both. */
    int m = 0;
    for (int d = 0; d < r; d++) {
        int merge = m > 0;
        for (int k = 0; k < n_in && merge; k++)
            merge = p->st[k][m - 1] == p->st[k][d] * p->dims[d];
        if (merge) {
            p->dims[m - 1] *= p->dims[d];
            for (int k = 0; k < n_in; k++)
                p->st[k][m - 1] = p->st[k][d];
        } else {
            p->dims[m] = p->dims[d];
            for (int k = 0; k < n_in; k++)
                p->st[k][m] = p->st[k][d];
            m++;
        }
    }
    if (m == 0) { /* one element */
        p->dims[0] = 1;
        for (int k = 0; k < n_in; k++)
            p->st[k][0] = 0;
        m = 1;
    }
    p->rank = m;
}

/* A block of output: `rows` rows of n elements, contiguous in the output. In
 * input k, an element step is s[k] (0 or 1) and a row step rs[k] elements. */
typedef struct seg {
    void *o;
    const void *in[EW_MAX_IN];
    int s[EW_MAX_IN];
    int64_t rs[EW_MAX_IN];
    int64_t n, rows;
} seg;

typedef void (*seg_fn)(const void *k, const seg *sg);

typedef struct plan_io {
    void *out;
    size_t osz;
    const void *in[EW_MAX_IN];
    size_t isz[EW_MAX_IN];
} plan_io;

/* Output elements [e0, e1) of the plan, as blocks of whole rows of the
 * innermost dim (rows along the next dim), with partial rows at the ends. */
static void plan_range(const bc_plan *p, seg_fn f, const void *k, const plan_io *io, int64_t e0,
                       int64_t e1)
{
    const int inner = p->rank - 1;
    const int64_t L = p->dims[inner];
    const int64_t R = inner > 0 ? p->dims[inner - 1] : 1;
    seg sg;
    for (int j = 0; j < p->n_in; j++) {
        sg.s[j] = p->st[j][inner] != 0;
        sg.rs[j] = inner > 0 ? p->st[j][inner - 1] : 0;
    }
    int64_t e = e0;
    while (e < e1) {
        int64_t row = e / L, col = e % L, r_in = row % R;
        /* offsets of this row: its index over the dims outside the innermost */
        int64_t off[EW_MAX_IN] = {0};
        int64_t q = row;
        for (int d = inner - 1; d >= 0; d--) {
            int64_t i = q % p->dims[d];
            q /= p->dims[d];
            for (int j = 0; j < p->n_in; j++)
                off[j] += i * p->st[j][d];
        }
        if (col != 0 || e1 - e < L) { /* part of one row */
            sg.n = L - col < e1 - e ? L - col : e1 - e;
            sg.rows = 1;
        } else { /* whole rows, up to the end of the next dim or of the range */
            int64_t avail = (e1 - e) / L, left = R - r_in;
            sg.n = L;
            sg.rows = avail < left ? avail : left;
        }
        sg.o = (char *)io->out + (size_t)e * io->osz;
        for (int j = 0; j < p->n_in; j++)
            sg.in[j] = (const char *)io->in[j] + (size_t)(off[j] + col * sg.s[j]) * io->isz[j];
        f(k, &sg);
        e += sg.n * sg.rows;
    }
}

static void plan_exec(const bc_plan *p, seg_fn f, const void *k, const plan_io *io, int threads,
                      int64_t par_min)
{
    int64_t total = odet_dims_prod(p->dims, 0, p->rank);
    if (total <= 0)
        return;
    int nt = total >= par_min && threads > 1 ? threads : 1;
    /* chunks of a multiple of 64 elements: whole cache lines of output */
    int64_t chunk = ((total + nt - 1) / nt + 63) & ~(int64_t)63;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int t = 0; t < nt; t++) {
        int64_t e0 = (int64_t)t * chunk, e1 = e0 + chunk < total ? e0 + chunk : total;
        if (e0 < e1)
            plan_range(p, f, k, io, e0, e1);
    }
}

/* ------------------------------------------------------------------------ */
/* Run kernels                                                               */
/* ------------------------------------------------------------------------ */

typedef struct bin_kernel {
    row_fn fn;              /* NULL: mixed-type Pow */
    odet_dtype ta, tb, to;
} bin_kernel;

static void load_f32_from_f16(float *dst, const void *src, int s, int64_t n)
{
    const uint16_t *h = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = odet_f16_to_f32(h[i * s]);
}

/* float16 operands through the float kernel, CONV_BLK elements at a time. */
static void half_seg(const bin_kernel *bk, void *o, const void *const *in, const int *s,
                     int64_t n)
{
    float fa[CONV_BLK], fb[CONV_BLK], fo[CONV_BLK];
    for (int64_t i0 = 0; i0 < n; i0 += CONV_BLK) {
        int64_t m = n - i0 < CONV_BLK ? n - i0 : CONV_BLK;
        load_f32_from_f16(fa, (const uint16_t *)in[0] + i0 * s[0], s[0], s[0] ? m : 1);
        load_f32_from_f16(fb, (const uint16_t *)in[1] + i0 * s[1], s[1], s[1] ? m : 1);
        if (bk->to == ODET_FLOAT16) {
            bk->fn(fo, fa, s[0], 0, fb, s[1], 0, m, 1);
            uint16_t *h = (uint16_t *)o + i0;
            for (int64_t i = 0; i < m; i++)
                h[i] = odet_f32_to_f16(fo[i]);
        } else {
            bk->fn((uint8_t *)o + i0, fa, s[0], 0, fb, s[1], 0, m, 1);
        }
    }
}

/* Element loads for the mixed-type Pow path. */
#define LOAD_CASES(T_DST, CONVERT)                                                      \
    case ODET_FLOAT: LOAD_LOOP(float, T_DST, CONVERT); break;                           \
    case ODET_DOUBLE: LOAD_LOOP(double, T_DST, CONVERT); break;                         \
    case ODET_INT8: LOAD_LOOP(int8_t, T_DST, CONVERT); break;                           \
    case ODET_UINT8: LOAD_LOOP(uint8_t, T_DST, CONVERT); break;                         \
    case ODET_INT16: LOAD_LOOP(int16_t, T_DST, CONVERT); break;                         \
    case ODET_UINT16: LOAD_LOOP(uint16_t, T_DST, CONVERT); break;                       \
    case ODET_INT32: LOAD_LOOP(int32_t, T_DST, CONVERT); break;                         \
    case ODET_UINT32: LOAD_LOOP(uint32_t, T_DST, CONVERT); break;                       \
    case ODET_INT64: LOAD_LOOP(int64_t, T_DST, CONVERT); break;                         \
    case ODET_UINT64: LOAD_LOOP(uint64_t, T_DST, CONVERT); break;
#define LOAD_LOOP(T, T_DST, CONVERT)                                                    \
    do {                                                                                \
        const T *q = src;                                                               \
        for (int64_t i = 0; i < n; i++)                                                 \
            dst[i] = CONVERT(T_DST, q[i * s]);                                          \
    } while (0)
#define PLAIN_CAST(T_DST, v) (T_DST)(v)

static void load_f64(double *dst, const void *src, odet_dtype dt, int s, int64_t n)
{
    switch (dt) {
    LOAD_CASES(double, PLAIN_CAST)
    case ODET_FLOAT16: {
        const uint16_t *h = src;
        for (int64_t i = 0; i < n; i++)
            dst[i] = odet_f16_to_f32(h[i * s]);
        break;
    }
    default:
        for (int64_t i = 0; i < n; i++)
            dst[i] = 0.0;
        break;
    }
}

/* Integer operands only (callers check). */
static void load_i64(int64_t *dst, const void *src, odet_dtype dt, int s, int64_t n)
{
    switch (dt) {
    LOAD_CASES(int64_t, PLAIN_CAST)
    default:
        for (int64_t i = 0; i < n; i++)
            dst[i] = 0;
        break;
    }
}
#undef LOAD_LOOP
#undef LOAD_CASES
#undef PLAIN_CAST

/* Integer power by squaring, wrapping like repeated multiplication. */
static int64_t ipow(int64_t x, int64_t y)
{
    if (y < 0) {
        if (x == 1)
            return 1;
        if (x == -1)
            return (y & 1) ? -1 : 1;
        return 0; /* |x| > 1: truncates to 0 (x == 0: undefined, 0) */
    }
    uint64_t r = 1, b = (uint64_t)x;
    uint64_t e = (uint64_t)y;
    while (e) {
        if (e & 1)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

/* Store n results computed as double into dtype dt (integers truncate toward
 * zero and saturate, float16 is rounded once). */
static void store_f64(void *o, odet_dtype dt, const double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        odet_elem_store_f64((char *)o + (size_t)i * odet_dtype_size(dt), dt, v[i]);
}

static void store_i64(void *o, odet_dtype dt, const int64_t *v, int64_t n)
{
    switch (dt) {
#define ST(T)                                                                           \
    do {                                                                                \
        T *q = o;                                                                       \
        for (int64_t i = 0; i < n; i++)                                                 \
            q[i] = (T)(uint64_t)v[i];                                                   \
    } while (0)
    case ODET_INT8: ST(int8_t); break;
    case ODET_UINT8: ST(uint8_t); break;
    case ODET_INT16: ST(int16_t); break;
    case ODET_UINT16: ST(uint16_t); break;
    case ODET_INT32: ST(int32_t); break;
    case ODET_UINT32: ST(uint32_t); break;
    case ODET_INT64: ST(int64_t); break;
    case ODET_UINT64: ST(uint64_t); break;
    default: break;
#undef ST
    }
}

/* Pow with base and exponent of different dtypes. Integer ** integer is exact
 * (wrapping); everything else is computed in double and stored in the base
 * dtype, as numpy does when it promotes the pair. */
static void pow_mixed_seg(const bin_kernel *bk, void *o, const void *const *in, const int *s,
                          int64_t n)
{
    const size_t osz = odet_dtype_size(bk->to);
    const size_t asz = odet_dtype_size(bk->ta), bsz = odet_dtype_size(bk->tb);
    const int int_pow = odet_dtype_is_int(bk->ta) && odet_dtype_is_int(bk->tb);
    for (int64_t i0 = 0; i0 < n; i0 += CONV_BLK) {
        int64_t m = n - i0 < CONV_BLK ? n - i0 : CONV_BLK;
        const void *a = (const char *)in[0] + (size_t)(i0 * s[0]) * asz;
        const void *b = (const char *)in[1] + (size_t)(i0 * s[1]) * bsz;
        void *oo = (char *)o + (size_t)i0 * osz;
        if (int_pow) {
            int64_t xa[CONV_BLK], xb[CONV_BLK], r[CONV_BLK];
            load_i64(xa, a, bk->ta, s[0], s[0] ? m : 1);
            load_i64(xb, b, bk->tb, s[1], s[1] ? m : 1);
            for (int64_t i = 0; i < m; i++)
                r[i] = ipow(xa[i * s[0]], xb[i * s[1]]);
            store_i64(oo, bk->to, r, m);
        } else {
            double da[CONV_BLK], db[CONV_BLK], r[CONV_BLK];
            load_f64(da, a, bk->ta, s[0], s[0] ? m : 1);
            load_f64(db, b, bk->tb, s[1], s[1] ? m : 1);
            for (int64_t i = 0; i < m; i++)
                r[i] = pow(da[i * s[0]], db[i * s[1]]);
            store_f64(oo, bk->to, r, m);
        }
    }
}

static void bin_seg(const void *k, const seg *sg)
{
    const bin_kernel *bk = k;
    if (bk->fn && bk->ta != ODET_FLOAT16) {
        bk->fn(sg->o, sg->in[0], sg->s[0], sg->rs[0], sg->in[1], sg->s[1], sg->rs[1], sg->n,
               sg->rows);
        return;
    }
    /* float16 and mixed-type Pow: row by row */
    const size_t osz = odet_dtype_size(bk->to);
    const size_t asz = odet_dtype_size(bk->ta), bsz = odet_dtype_size(bk->tb);
    for (int64_t r = 0; r < sg->rows; r++) {
        void *o = (char *)sg->o + (size_t)(r * sg->n) * osz;
        const void *in[2] = {(const char *)sg->in[0] + (size_t)(r * sg->rs[0]) * asz,
                             (const char *)sg->in[1] + (size_t)(r * sg->rs[1]) * bsz};
        if (bk->fn)
            half_seg(bk, o, in, sg->s, sg->n);
        else
            pow_mixed_seg(bk, o, in, sg->s, sg->n);
    }
}

/* Where: condition ? X : Y, by element size. */
#define WHERE_SEG(T)                                                                    \
    static void where_seg_##T(const void *k, const seg *sg)                             \
    {                                                                                   \
        (void)k;                                                                        \
        const int sc = sg->s[0], sx = sg->s[1], sy = sg->s[2];                          \
        for (int64_t r = 0; r < sg->rows; r++) {                                        \
            T *o = (T *)sg->o + r * sg->n;                                              \
            const uint8_t *c = (const uint8_t *)sg->in[0] + r * sg->rs[0];              \
            const T *x = (const T *)sg->in[1] + r * sg->rs[1];                          \
            const T *y = (const T *)sg->in[2] + r * sg->rs[2];                          \
            for (int64_t i = 0; i < sg->n; i++) {                                       \
                const T xv = x[i * sx], yv = y[i * sy];                                 \
                o[i] = c[i * sc] ? xv : yv;                                             \
            }                                                                           \
        }                                                                               \
    }
WHERE_SEG(uint8_t)
WHERE_SEG(uint16_t)
WHERE_SEG(uint32_t)
WHERE_SEG(uint64_t)

/* Kernel of a two-input op for the given input dtypes (fn NULL: mixed-type
 * Pow, computed by pow_mixed_seg); a non-OK status when unsupported. */
static odet_status pick_kernel(const odet_op_ctx *ctx, odet_dtype ta, odet_dtype tb,
                               bin_kernel *bk)
{
    const bin_desc *d = ((const bin_params *)ctx->params)->d;
    bk->ta = ta;
    bk->tb = tb;
    bk->to = d->out_bool ? ODET_BOOL : ta;
    bk->fn = NULL;
    if (d->kind == BK_POW) {
        int base_ok = ta == ODET_FLOAT || ta == ODET_DOUBLE || ta == ODET_FLOAT16 ||
                      odet_dtype_is_int(ta);
        int exp_ok = tb == ODET_FLOAT || tb == ODET_DOUBLE || tb == ODET_FLOAT16 ||
                     odet_dtype_is_int(tb);
        if (!base_ok || !exp_ok)
            return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                                "base dtype %s with exponent dtype %s is not supported",
                                odet_dtype_name(ta), odet_dtype_name(tb));
        if (ta == tb && (ta == ODET_FLOAT || ta == ODET_DOUBLE))
            bk->fn = d->fn[ta];
        return ODET_OK; /* fn NULL: mixed path */
    }
    if (ta != tb)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input dtypes differ: %s and %s",
                            odet_dtype_name(ta), odet_dtype_name(tb));
    if (ta == ODET_FLOAT16 && d->half) {
        bk->fn = d->fn[ODET_FLOAT];
    } else if ((unsigned)ta < DT_SLOTS) {
        bk->fn = d->fn[ta];
    }
    if (!bk->fn)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(ta));
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* infer / run                                                               */
/* ------------------------------------------------------------------------ */

static odet_status bin_infer(odet_op_ctx *ctx)
{
    const bin_desc *d = ((const bin_params *)ctx->params)->d;
    int need = d->kind == BK_WHERE ? 3 : 2;
    if (d->kind == BK_VARIADIC || d->kind == BK_MEAN) {
        if (ctx->n_in < 1)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs at least one input");
    } else if (ctx->n_in != need) {
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs %d inputs, got %d", need,
                            ctx->n_in);
    }
    for (int i = 0; i < ctx->n_in; i++)
        if (!ctx->in[i])
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "input %d is missing", i);
    if (ctx->n_out < 1 || !ctx->out[0])
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "output 0 is missing");

    /* output shape: all inputs broadcast together */
    shape out, s;
    odet_status st = input_shape(ctx, 0, &out);
    for (int i = 1; i < ctx->n_in && st == ODET_OK; i++) {
        if ((st = input_shape(ctx, i, &s)) != ODET_OK)
            break;
        shape prev = out;
        if (odet_broadcast_shape(prev.rank, prev.dims, s.rank, s.dims, &out.rank, out.dims)) {
            char b1[160], b2[160];
            fmt_dims(b1, sizeof b1, &prev);
            fmt_dims(b2, sizeof b2, &s);
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "input %d shape %s cannot be broadcast with shape %s", i, b2,
                                b1);
        }
    }
    if (st != ODET_OK)
        return st;

    odet_dtype dt = ctx->in[0]->dtype, out_dt;
    if (d->kind == BK_WHERE) {
        if (dt != ODET_BOOL)
            return odet_op_fail(ctx, ODET_ERR_DTYPE, "input 0 (condition) must be bool, got %s",
                                odet_dtype_name(dt));
        odet_dtype tx = ctx->in[1]->dtype, ty = ctx->in[2]->dtype;
        if (tx != ty)
            return odet_op_fail(ctx, ODET_ERR_DTYPE, "inputs 1 and 2 differ in dtype: %s and %s",
                                odet_dtype_name(tx), odet_dtype_name(ty));
        size_t es = odet_dtype_size(tx);
        if (es != 1 && es != 2 && es != 4 && es != 8)
            return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                                odet_dtype_name(tx));
        out_dt = tx;
    } else {
        bin_kernel bk;
        for (int i = 1; i < ctx->n_in; i++)
            if ((st = pick_kernel(ctx, dt, ctx->in[i]->dtype, &bk)) != ODET_OK)
                return st;
        if (ctx->n_in == 1 && (st = pick_kernel(ctx, dt, dt, &bk)) != ODET_OK)
            return st;
        out_dt = bk.to;
    }
    if (d->kind == BK_PRELU) {
        int same = out.rank == ctx->in[0]->rank;
        for (int i = 0; same && i < out.rank; i++)
            same = out.dims[i] == ctx->in[0]->dims[i];
        if (!same) {
            char b1[160], b2[160];
            shape_of(ctx->in[0], &s);
            fmt_dims(b1, sizeof b1, &s);
            shape_of(ctx->in[1], &s);
            fmt_dims(b2, sizeof b2, &s);
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "slope shape %s does not broadcast to X shape %s", b2, b1);
        }
    }
    odet_set_shape(ctx->out[0], out_dt, out.rank, out.dims);
    return ODET_OK;
}

/* out = f(A, B), both broadcast to out's shape. */
static odet_status run_pair(odet_op_ctx *ctx, const bin_desc *d, const odet_tensor *A,
                            const shape *sa, const odet_tensor *B, const shape *sb)
{
    odet_tensor *Y = ctx->out[0];
    bin_kernel bk;
    odet_status st = pick_kernel(ctx, A->dtype, B->dtype, &bk);
    if (st != ODET_OK)
        return st;
    shape so, in[2] = {*sa, *sb};
    shape_of(Y, &so);
    bc_plan p;
    plan_init(&p, &so, 2, in);
    plan_io io = {.out = Y->data, .osz = odet_dtype_size(Y->dtype),
                  .in = {A->data, B->data},
                  .isz = {odet_dtype_size(A->dtype), odet_dtype_size(B->dtype)}};
    plan_exec(&p, bin_seg, &bk, &io, ctx->threads, bk.fn ? d->par_min : PAR_COSTLY);
    return ODET_OK;
}

/* Mean: divide the sum by n in place. */
static void scale_mean(odet_tensor *Y, int n, int threads)
{
    int64_t total = odet_tensor_numel(Y);
    int nt = total >= PAR_CHEAP ? threads : 1;
    if (Y->dtype == ODET_FLOAT) {
        float *y = Y->data;
        const float div = (float)n;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < total; i++)
            y[i] = y[i] / div;
    } else if (Y->dtype == ODET_DOUBLE) {
        double *y = Y->data;
        const double div = (double)n;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < total; i++)
            y[i] = y[i] / div;
    } else if (Y->dtype == ODET_FLOAT16) {
        uint16_t *y = Y->data;
        const float div = (float)n;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < total; i++)
            y[i] = odet_f32_to_f16(odet_f16_to_f32(y[i]) / div);
    }
}

static odet_status run_variadic(odet_op_ctx *ctx, const bin_desc *d)
{
    odet_tensor *Y = ctx->out[0];
    const int n = ctx->n_in;
    shape sy;
    shape_of(Y, &sy);
    if (n == 1) {
        if (Y->data != ctx->in[0]->data)
            memcpy(Y->data, ctx->in[0]->data, odet_tensor_bytes(Y));
    } else {
        /* When the output shares its buffer with an input, that input must be
         * consumed by the first step, before the buffer is overwritten. */
        int first = 0;
        for (int i = 2; i < n; i++)
            if (ctx->in[i]->data == Y->data)
                first = i;
        int second = first == 0 ? 1 : 0;
        shape s0, s1;
        shape_of(ctx->in[first], &s0);
        shape_of(ctx->in[second], &s1);
        odet_status st = run_pair(ctx, d, ctx->in[first], &s0, ctx->in[second], &s1);
        for (int i = 0; i < n && st == ODET_OK; i++) {
            if (i == first || i == second)
                continue;
            shape_of(ctx->in[i], &s1);
            st = run_pair(ctx, d, Y, &sy, ctx->in[i], &s1);
        }
        if (st != ODET_OK)
            return st;
    }
    if (d->kind == BK_MEAN)
        scale_mean(Y, n, ctx->threads);
    return ODET_OK;
}

static odet_status run_where(odet_op_ctx *ctx, const bin_desc *d)
{
    odet_tensor *Y = ctx->out[0];
    shape so, in[3];
    shape_of(Y, &so);
    for (int i = 0; i < 3; i++)
        shape_of(ctx->in[i], &in[i]);
    bc_plan p;
    plan_init(&p, &so, 3, in);
    size_t es = odet_dtype_size(Y->dtype);
    plan_io io = {.out = Y->data, .osz = es,
                  .in = {ctx->in[0]->data, ctx->in[1]->data, ctx->in[2]->data},
                  .isz = {1, es, es}};
    seg_fn f = es == 1 ? where_seg_uint8_t
               : es == 2 ? where_seg_uint16_t
               : es == 4 ? where_seg_uint32_t
                         : where_seg_uint64_t;
    plan_exec(&p, f, NULL, &io, ctx->threads, d->par_min);
    return ODET_OK;
}

static odet_status bin_run(odet_op_ctx *ctx)
{
    const bin_desc *d = ((const bin_params *)ctx->params)->d;
    switch (d->kind) {
    case BK_VARIADIC:
    case BK_MEAN:
        return run_variadic(ctx, d);
    case BK_WHERE:
        return run_where(ctx, d);
    default: {
        shape sa, sb;
        odet_status st = input_shape(ctx, 0, &sa);
        if (st == ODET_OK)
            st = input_shape(ctx, 1, &sb);
        if (st != ODET_OK)
            return st;
        return run_pair(ctx, d, ctx->in[0], &sa, ctx->in[1], &sb);
    }
    }
}

#define BIN_OP(name, opset) {name, "", opset, 0, 0, bin_prepare, NULL, bin_infer, NULL, bin_run}

const odet_op_def odet_ops_binary[] = {
    BIN_OP("Add", 1),
    BIN_OP("Sub", 1),
    BIN_OP("Mul", 1),
    BIN_OP("Div", 1),
    BIN_OP("Pow", 1),
    BIN_OP("Mod", 10),
    BIN_OP("PRelu", 1),
    BIN_OP("BitShift", 11),
    BIN_OP("Sum", 1),
    BIN_OP("Mean", 1),
    BIN_OP("Min", 1),
    BIN_OP("Max", 1),
    BIN_OP("Equal", 1),
    BIN_OP("Less", 1),
    BIN_OP("LessOrEqual", 12),
    BIN_OP("Greater", 1),
    BIN_OP("GreaterOrEqual", 12),
    BIN_OP("And", 1),
    BIN_OP("Or", 1),
    BIN_OP("Xor", 1),
    BIN_OP("Where", 9),
    {0},
};
