/* Operators that generate tensors or convert element types: Shape, Size,
 * Constant, ConstantOfShape, EyeLike, Range, CumSum, Cast, CastLike.
 *
 * Cast covers every pair of bool, [u]int8..64, float16, float and double.
 * Floats convert to integers truncating toward zero, saturating out-of-range
 * values (NaN -> 0) so the conversion is always defined; float16 conversions
 * round to nearest even, double -> float16 in a single rounding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops/elem.h"
#include "ops/op.h"

#define MAXR ODET_MAX_RANK
/* Elementwise work below this many elements stays on one thread. */
#define PAR_ELEMS ((int64_t)1 << 15)

static const odet_tensor *in_at(const odet_op_ctx *ctx, int i)
{
    return i < ctx->n_in ? ctx->in[i] : NULL;
}

static odet_tensor *out_at(const odet_op_ctx *ctx, int i)
{
    return i < ctx->n_out ? ctx->out[i] : NULL;
}

static odet_status need_in(const odet_op_ctx *ctx, int i, const char *name,
                           const odet_tensor **t)
{
    *t = in_at(ctx, i);
    if (!*t)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "missing required input %d '%s'", i,
                            name);
    return ODET_OK;
}

/* Fills n elements of es bytes with the element at v. */
static void fill_elems(void *dst, const void *v, int64_t n, size_t es)
{
    char *d = dst;
    if (n <= 0)
        return;
    memcpy(d, v, es);
    /* Doubling copies: O(log n) memcpy calls. */
    int64_t done = 1;
    while (done < n) {
        int64_t c = done < n - done ? done : n - done;
        memcpy(d + done * (int64_t)es, d, (size_t)c * es);
        done += c;
    }
}

/* ------------------------------------------------------------------ */
/* Shape, Size                                                         */
/* ------------------------------------------------------------------ */

/* [start, end) of the dims Shape reports (opset 15 attributes, clamped). */
static void shape_range(const odet_op_ctx *ctx, int rank, int *s, int *e)
{
    int64_t start = odet_attr_int(ctx->node, "start", 0);
    int64_t end = odet_attr_int(ctx->node, "end", rank);
    if (start < 0)
        start += rank;
    if (end < 0)
        end += rank;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < 0 ? 0 : end > rank ? rank : end;
    *s = (int)start;
    *e = (int)(end > start ? end : start);
}

static odet_status shape_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    int s, e;
    shape_range(ctx, x->rank, &s, &e);
    int64_t n = e - s;
    odet_set_shape(out_at(ctx, 0), ODET_INT64, 1, &n);
    return ODET_OK;
}

static odet_status shape_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    int s, e;
    shape_range(ctx, x->rank, &s, &e);
    int64_t *y = ctx->out[0]->data;
    for (int i = s; i < e; i++)
        y[i - s] = x->dims[i];
    return ODET_OK;
}

static odet_status size_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "data", &x);
    if (st)
        return st;
    odet_set_shape(out_at(ctx, 0), ODET_INT64, 0, NULL);
    return ODET_OK;
}

static odet_status size_run(odet_op_ctx *ctx)
{
    *(int64_t *)ctx->out[0]->data = odet_tensor_numel(ctx->in[0]);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Constant                                                            */
/* ------------------------------------------------------------------ */

typedef struct constant_params {
    odet_dtype dtype;
    int rank;
    int64_t dims[MAXR];
    const void *data;   /* points into the node's attribute (same lifetime) */
} constant_params;

static odet_status constant_prepare(odet_node *node, char *err, size_t errlen)
{
    constant_params p = {0};
    int found = 0;
    for (int i = 0; i < node->n_attr; i++) {
        const odet_attr *a = &node->attrs[i];
        if (strcmp(a->name, "value") == 0 && a->type == ODET_ATTR_TENSOR && a->t) {
            if (odet_dtype_size(a->t->dtype) == 0)
                return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                                      "tensor of dtype %s is not supported",
                                      odet_dtype_name(a->t->dtype));
            p.dtype = a->t->dtype;
            p.rank = a->t->rank;
            memcpy(p.dims, a->t->dims, sizeof p.dims);
            p.data = a->t->data;
        } else if (strcmp(a->name, "value_float") == 0 && a->type == ODET_ATTR_FLOAT) {
            p.dtype = ODET_FLOAT;
            p.data = &a->f;
        } else if (strcmp(a->name, "value_int") == 0 && a->type == ODET_ATTR_INT) {
            p.dtype = ODET_INT64;
            p.data = &a->i;
        } else if (strcmp(a->name, "value_floats") == 0 && a->type == ODET_ATTR_FLOATS) {
            p.dtype = ODET_FLOAT;
            p.rank = 1;
            p.dims[0] = (int64_t)a->n;
            p.data = a->floats;
        } else if (strcmp(a->name, "value_ints") == 0 && a->type == ODET_ATTR_INTS) {
            p.dtype = ODET_INT64;
            p.rank = 1;
            p.dims[0] = (int64_t)a->n;
            p.data = a->ints;
        } else {
            return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                                  "attribute '%s' is not supported", a->name);
        }
        found++;
    }
    if (found != 1)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "exactly one value attribute is required, got %d", found);
    constant_params *pp = malloc(sizeof *pp);
    if (!pp)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    *pp = p;
    node->params = pp;
    return ODET_OK;
}

static odet_status constant_infer(odet_op_ctx *ctx)
{
    const constant_params *p = ctx->params;
    odet_set_shape(out_at(ctx, 0), p->dtype, p->rank, p->dims);
    return ODET_OK;
}

static odet_status constant_run(odet_op_ctx *ctx)
{
    const constant_params *p = ctx->params;
    odet_tensor *y = ctx->out[0];
    size_t bytes = odet_tensor_bytes(y);
    if (bytes)
        memcpy(y->data, p->data, bytes);
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* ConstantOfShape                                                     */
/* ------------------------------------------------------------------ */

typedef struct cos_params {
    odet_dtype dtype;
    unsigned char value[8];
} cos_params;

static odet_status cos_prepare(odet_node *node, char *err, size_t errlen)
{
    cos_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->dtype = ODET_FLOAT;
    const odet_tensor *v = odet_attr_tensor(node, "value");
    if (v) {
        size_t es = odet_dtype_size(v->dtype);
        if (es == 0 || odet_tensor_numel(v) != 1) {
            free(p);
            return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                                  "'value' must be one element of a numeric or bool dtype "
                                  "(got %s)", odet_dtype_name(v->dtype));
        }
        p->dtype = v->dtype;
        memcpy(p->value, v->data, es);
    }
    node->params = p;
    return ODET_OK;
}

static odet_status cos_infer(odet_op_ctx *ctx)
{
    const cos_params *p = ctx->params;
    const odet_tensor *s;
    odet_status st = need_in(ctx, 0, "input", &s);
    if (st)
        return st;
    int64_t dims[MAXR];
    int n = s->rank > 1 ? -1 : odet_tensor_read_ints(s, dims, MAXR);
    if (n < 0)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 0 must be a 1-D integer tensor of at most %d dims", MAXR);
    if (odet_dims_numel_checked(n, dims) < 0)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "shape is negative or too large");
    odet_set_shape(out_at(ctx, 0), p->dtype, n, dims);
    return ODET_OK;
}

static odet_status cos_run(odet_op_ctx *ctx)
{
    const cos_params *p = ctx->params;
    odet_tensor *y = ctx->out[0];
    fill_elems(y->data, p->value, odet_tensor_numel(y), odet_dtype_size(y->dtype));
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* EyeLike                                                             */
/* ------------------------------------------------------------------ */

static odet_dtype eyelike_dtype(const odet_op_ctx *ctx, const odet_tensor *x)
{
    return (odet_dtype)odet_attr_int(ctx->node, "dtype", x->dtype);
}

static odet_status eyelike_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st = need_in(ctx, 0, "input", &x);
    if (st)
        return st;
    odet_dtype dt = eyelike_dtype(ctx, x);
    if (odet_dtype_size(dt) == 0)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(dt));
    if (x->rank != 2)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 0 must have rank 2, got %d", x->rank);
    odet_set_shape(out_at(ctx, 0), dt, 2, x->dims);
    return ODET_OK;
}

static odet_status eyelike_run(odet_op_ctx *ctx)
{
    odet_tensor *y = ctx->out[0];
    int64_t k = odet_attr_int(ctx->node, "k", 0), rows = y->dims[0], cols = y->dims[1];
    size_t es = odet_dtype_size(y->dtype);
    unsigned char one[8];
    odet_elem_store_f64(one, y->dtype, 1.0);
    if (odet_tensor_bytes(y))
        memset(y->data, 0, odet_tensor_bytes(y));
    for (int64_t i = 0; i < rows; i++) {
        if (k >= cols || k <= -rows)
            break;
        int64_t j = i + k;
        if (j >= 0 && j < cols)
            memcpy((char *)y->data + (i * cols + j) * (int64_t)es, one, es);
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Range                                                               */
/* ------------------------------------------------------------------ */

static odet_status range_scalar(const odet_op_ctx *ctx, int i, const char *name,
                                const odet_tensor **t)
{
    odet_status st = need_in(ctx, i, name, t);
    if (st)
        return st;
    if (odet_tensor_numel(*t) != 1 || (*t)->rank > 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input %d '%s' must be a scalar", i, name);
    return ODET_OK;
}

/* Element count of a float range: ceil((limit - start) / delta), the
 * difference taken in the input type as the reference implementation does. */
static odet_status range_count_float(const odet_op_ctx *ctx, double diff, double d,
                                     int64_t *n)
{
    double c = ceil(diff / d);
    if (d == 0.0 || isnan(c) || c > (double)ODET_MAX_TENSOR_ELEMS)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "limit - start = %g with delta %g gives no valid range", diff, d);
    *n = c > 0.0 ? (int64_t)c : 0;
    return ODET_OK;
}

static odet_status range_count(const odet_op_ctx *ctx, const odet_tensor *ts,
                               const odet_tensor *tl, const odet_tensor *td, int64_t *n)
{
    if (ts->dtype == ODET_FLOAT) {
        float s = *(const float *)ts->data, l = *(const float *)tl->data;
        return range_count_float(ctx, (double)(l - s), *(const float *)td->data, n);
    }
    if (ts->dtype == ODET_DOUBLE) {
        double s = *(const double *)ts->data, l = *(const double *)tl->data;
        return range_count_float(ctx, l - s, *(const double *)td->data, n);
    }
    int64_t s = odet_tensor_get_i64(ts, 0), l = odet_tensor_get_i64(tl, 0);
    int64_t d = odet_tensor_get_i64(td, 0);
    if (d == 0)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "delta is 0");
    /* Unsigned differences cannot overflow. */
    uint64_t c = 0;
    if (d > 0 && l > s)
        c = ((uint64_t)l - (uint64_t)s - 1) / (uint64_t)d + 1;
    else if (d < 0 && s > l)
        c = ((uint64_t)s - (uint64_t)l - 1) / ((uint64_t)0 - (uint64_t)d) + 1;
    if (c > (uint64_t)ODET_MAX_TENSOR_ELEMS)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "range of %llu elements is too large",
                            (unsigned long long)c);
    *n = (int64_t)c;
    return ODET_OK;
}

static odet_status range_infer(odet_op_ctx *ctx)
{
    const odet_tensor *ts, *tl, *td;
    odet_status st;
    if ((st = range_scalar(ctx, 0, "start", &ts)) || (st = range_scalar(ctx, 1, "limit", &tl)) ||
        (st = range_scalar(ctx, 2, "delta", &td)))
        return st;
    switch (ts->dtype) {
    case ODET_FLOAT: case ODET_DOUBLE: case ODET_INT16: case ODET_INT32: case ODET_INT64: break;
    default:
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(ts->dtype));
    }
    if (tl->dtype != ts->dtype || td->dtype != ts->dtype)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "start, limit and delta must have one dtype");
    int64_t n;
    if ((st = range_count(ctx, ts, tl, td, &n)))
        return st;
    odet_set_shape(out_at(ctx, 0), ts->dtype, 1, &n);
    return ODET_OK;
}

/* out[i] = start + i * delta, accumulated as ONNX defines it; integer sums wrap. */
#define RANGE_LOOP(T, ACC)                                                        \
    do {                                                                          \
        T *y_ = y->data;                                                          \
        ACC v_ = (ACC) * (const T *)ts->data, d_ = (ACC) * (const T *)td->data;   \
        for (int64_t i = 0; i < n; i++) {                                         \
            y_[i] = (T)v_;                                                        \
            v_ = (ACC)(v_ + d_);                                                  \
        }                                                                         \
    } while (0)

static odet_status range_run(odet_op_ctx *ctx)
{
    const odet_tensor *ts = ctx->in[0], *td = ctx->in[2];
    odet_tensor *y = ctx->out[0];
    int64_t n = y->dims[0];
    switch (y->dtype) {
    case ODET_FLOAT: RANGE_LOOP(float, float); break;
    case ODET_DOUBLE: RANGE_LOOP(double, double); break;
    case ODET_INT16: RANGE_LOOP(int16_t, uint16_t); break;
    case ODET_INT32: RANGE_LOOP(int32_t, uint32_t); break;
    case ODET_INT64: RANGE_LOOP(int64_t, uint64_t); break;
    default: return odet_op_fail(ctx, ODET_ERR_INTERNAL, "unexpected dtype");
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* CumSum                                                              */
/* ------------------------------------------------------------------ */

typedef struct cumsum_params {
    int exclusive, reverse;
} cumsum_params;

static odet_status cumsum_prepare(odet_node *node, char *err, size_t errlen)
{
    cumsum_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->exclusive = odet_attr_int(node, "exclusive", 0) != 0;
    p->reverse = odet_attr_int(node, "reverse", 0) != 0;
    node->params = p;
    return ODET_OK;
}

static odet_status cumsum_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x, *ax;
    odet_status st;
    if ((st = need_in(ctx, 0, "x", &x)) || (st = need_in(ctx, 1, "axis", &ax)))
        return st;
    switch (x->dtype) {
    case ODET_FLOAT: case ODET_DOUBLE: case ODET_FLOAT16: case ODET_INT32: case ODET_INT64:
    case ODET_UINT32: case ODET_UINT64: break;
    default:
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    }
    if ((ax->dtype != ODET_INT32 && ax->dtype != ODET_INT64) || ax->rank > 1 ||
        odet_tensor_numel(ax) != 1)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "input 1 'axis' must be one int32 or int64 value");
    if (x->rank < 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 0 must have rank >= 1");
    odet_set_shape(out_at(ctx, 0), x->dtype, x->rank, x->dims);
    return ODET_OK;
}

/* One (outer, inner block) strip: steps k along the axis in iteration order;
 * each output row is the previous output row plus an input row. */
#define CUMSUM_STRIP(T, ACC, LOAD, STORE)                                                   \
    do {                                                                                    \
        const T *x_ = (const T *)ctx->in[0]->data + o * n * inner;                          \
        T *y_ = (T *)ctx->out[0]->data + o * n * inner;                                     \
        for (int64_t s = 0; s < n; s++) {                                                   \
            int64_t k = p->reverse ? n - 1 - s : s, kp = p->reverse ? k + 1 : k - 1;       \
            for (int64_t j = j0; j < j1; j++) {                                             \
                ACC v;                                                                      \
                if (p->exclusive)                                                           \
                    v = s == 0 ? (ACC)0                                                     \
                               : (ACC)(LOAD(y_[kp * inner + j]) + LOAD(x_[kp * inner + j])); \
                else                                                                        \
                    v = s == 0 ? (ACC)LOAD(x_[k * inner + j])                               \
                               : (ACC)(LOAD(y_[kp * inner + j]) + LOAD(x_[k * inner + j])); \
                y_[k * inner + j] = STORE(v);                                               \
            }                                                                               \
        }                                                                                   \
    } while (0)

#define ID(x) (x)
#define AS_U32(x) ((uint32_t)(x))
#define AS_U64(x) ((uint64_t)(x))
#define TO_I32(x) ((int32_t)(x))
#define TO_I64(x) ((int64_t)(x))

static odet_status cumsum_run(odet_op_ctx *ctx)
{
    const cumsum_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0], *ax = ctx->in[1];
    int64_t axis = ax->dtype == ODET_INT64 ? *(const int64_t *)ax->data
                                           : *(const int32_t *)ax->data;
    int a;
    if (odet_norm_axis(axis, x->rank, &a))
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)axis, x->rank);
    int64_t outer = odet_dims_prod(x->dims, 0, a), n = x->dims[a];
    int64_t inner = odet_dims_prod(x->dims, a + 1, x->rank);
    const int64_t blk = 256;
    int64_t nblk = (inner + blk - 1) / blk, work = outer * nblk;
    int par = ctx->threads > 1 && work > 1 && outer * n * inner >= PAR_ELEMS;
    odet_dtype dt = x->dtype;
#pragma omp parallel for num_threads(ctx->threads) if (par) schedule(static)
    for (int64_t w = 0; w < work; w++) {
        int64_t o = w / nblk, j0 = (w % nblk) * blk, j1 = j0 + blk < inner ? j0 + blk : inner;
        switch (dt) {
        case ODET_FLOAT: CUMSUM_STRIP(float, float, ID, ID); break;
        case ODET_DOUBLE: CUMSUM_STRIP(double, double, ID, ID); break;
        case ODET_FLOAT16:
            CUMSUM_STRIP(uint16_t, float, odet_f16_to_f32, odet_f32_to_f16);
            break;
        case ODET_INT32: CUMSUM_STRIP(int32_t, uint32_t, AS_U32, TO_I32); break;
        case ODET_INT64: CUMSUM_STRIP(int64_t, uint64_t, AS_U64, TO_I64); break;
        case ODET_UINT32: CUMSUM_STRIP(uint32_t, uint32_t, ID, ID); break;
        case ODET_UINT64: CUMSUM_STRIP(uint64_t, uint64_t, ID, ID); break;
        default: break;
        }
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Cast, CastLike                                                      */
/* ------------------------------------------------------------------ */

#define CAST_LOOP(DT, EXPR)                                                     \
    do {                                                                        \
        DT *d_ = dst;                                                           \
        for (int64_t i = 0; i < n; i++)                                         \
            d_[i] = (DT)(EXPR);                                                 \
    } while (0)

/* Saturating float -> integer of `bits` bits (truncating toward zero). */
#define SAT_S(v, lim) odet_f64_to_i64_sat((v), -(lim), (lim) - 1)
#define SAT_U(v, lim) odet_f64_to_i64_sat((v), 0.0, (lim) - 1)

/* Sources with a floating-point value (LOAD gives float or double). */
#define CAST_FROM_FLOAT(NAME, ST, LOAD, TO_F16)                                            \
    static void NAME(const void *src, void *dst, odet_dtype dt, int64_t n)                 \
    {                                                                                      \
        const ST *s = src;                                                                 \
        switch (dt) {                                                                      \
        case ODET_FLOAT: CAST_LOOP(float, LOAD(s[i])); break;                              \
        case ODET_DOUBLE: CAST_LOOP(double, LOAD(s[i])); break;                            \
        case ODET_FLOAT16: CAST_LOOP(uint16_t, TO_F16(LOAD(s[i]))); break;                 \
        case ODET_BOOL: CAST_LOOP(uint8_t, LOAD(s[i]) != 0); break;                        \
        case ODET_INT8: CAST_LOOP(int8_t, SAT_S(LOAD(s[i]), 0x1p7)); break;                \
        case ODET_UINT8: CAST_LOOP(uint8_t, SAT_U(LOAD(s[i]), 0x1p8)); break;              \
        case ODET_INT16: CAST_LOOP(int16_t, SAT_S(LOAD(s[i]), 0x1p15)); break;             \
        case ODET_UINT16: CAST_LOOP(uint16_t, SAT_U(LOAD(s[i]), 0x1p16)); break;           \
        case ODET_INT32: CAST_LOOP(int32_t, SAT_S(LOAD(s[i]), 0x1p31)); break;             \
        case ODET_UINT32: CAST_LOOP(uint32_t, SAT_U(LOAD(s[i]), 0x1p32)); break;           \
        case ODET_INT64:                                                                   \
            CAST_LOOP(int64_t, odet_f64_to_i64_sat(LOAD(s[i]), -0x1p63, 0x1p63));          \
            break;                                                                         \
        case ODET_UINT64: CAST_LOOP(uint64_t, odet_f64_to_u64_sat(LOAD(s[i]))); break;      \
        default: break;                                                                    \
        }                                                                                  \
    }

/* Integer and bool sources: C conversions (narrowing wraps, as numpy does). */
#define CAST_FROM_INT(NAME, ST)                                                              \
    static void NAME(const void *src, void *dst, odet_dtype dt, int64_t n)                   \
    {                                                                                        \
        const ST *s = src;                                                                   \
        switch (dt) {                                                                        \
        case ODET_FLOAT: CAST_LOOP(float, s[i]); break;                                      \
        case ODET_DOUBLE: CAST_LOOP(double, s[i]); break;                                    \
        case ODET_FLOAT16: CAST_LOOP(uint16_t, odet_f64_to_f16((double)s[i])); break;        \
        case ODET_BOOL: CAST_LOOP(uint8_t, s[i] != 0); break;                                \
        case ODET_INT8: CAST_LOOP(int8_t, s[i]); break;                                      \
        case ODET_UINT8: CAST_LOOP(uint8_t, s[i]); break;                                    \
        case ODET_INT16: CAST_LOOP(int16_t, s[i]); break;                                    \
        case ODET_UINT16: CAST_LOOP(uint16_t, s[i]); break;                                  \
        case ODET_INT32: CAST_LOOP(int32_t, s[i]); break;                                    \
        case ODET_UINT32: CAST_LOOP(uint32_t, s[i]); break;                                  \
        case ODET_INT64: CAST_LOOP(int64_t, s[i]); break;                                    \
        case ODET_UINT64: CAST_LOOP(uint64_t, s[i]); break;                                  \
        default: break;                                                                      \
        }                                                                                    \
    }

CAST_FROM_FLOAT(cast_from_f32, float, ID, odet_f32_to_f16)
CAST_FROM_FLOAT(cast_from_f64, double, ID, odet_f64_to_f16)
CAST_FROM_FLOAT(cast_from_f16, uint16_t, odet_f16_to_f32, odet_f32_to_f16)
CAST_FROM_INT(cast_from_i8, int8_t)
CAST_FROM_INT(cast_from_u8, uint8_t)
CAST_FROM_INT(cast_from_i16, int16_t)
CAST_FROM_INT(cast_from_u16, uint16_t)
CAST_FROM_INT(cast_from_i32, int32_t)
CAST_FROM_INT(cast_from_u32, uint32_t)
CAST_FROM_INT(cast_from_i64, int64_t)
CAST_FROM_INT(cast_from_u64, uint64_t)

typedef void (*cast_fn)(const void *src, void *dst, odet_dtype dt, int64_t n);

static cast_fn cast_from(odet_dtype t)
{
    switch (t) {
    case ODET_FLOAT: return cast_from_f32;
    case ODET_DOUBLE: return cast_from_f64;
    case ODET_FLOAT16: return cast_from_f16;
    case ODET_BOOL: return cast_from_u8; /* stored as 0/1 bytes */
    case ODET_INT8: return cast_from_i8;
    case ODET_UINT8: return cast_from_u8;
    case ODET_INT16: return cast_from_i16;
    case ODET_UINT16: return cast_from_u16;
    case ODET_INT32: return cast_from_i32;
    case ODET_UINT32: return cast_from_u32;
    case ODET_INT64: return cast_from_i64;
    case ODET_UINT64: return cast_from_u64;
    default: return NULL;
    }
}

static odet_status cast_check(const odet_op_ctx *ctx, odet_dtype from, odet_dtype to)
{
    if (!cast_from(from) || !cast_from(to))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "casting %s to %s is not supported",
                            odet_dtype_name(from), odet_dtype_name(to));
    return ODET_OK;
}

static odet_status cast_infer_to(odet_op_ctx *ctx, odet_dtype to)
{
    const odet_tensor *x;
    odet_status st;
    if ((st = need_in(ctx, 0, "input", &x)) || (st = cast_check(ctx, x->dtype, to)))
        return st;
    odet_set_shape(out_at(ctx, 0), to, x->rank, x->dims);
    return ODET_OK;
}

/* Cast-1 named the target type with a string ("FLOAT", "INT64", ...). */
static odet_dtype dtype_from_name(const char *s)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16",
                                        "INT16", "INT32", "INT64", "STRING", "BOOL",
                                        "FLOAT16", "DOUBLE", "UINT32", "UINT64"};
    for (size_t i = 1; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i]) == 0)
            return (odet_dtype)i;
    }
    return ODET_UNDEFINED;
}

static odet_status cast_infer(odet_op_ctx *ctx)
{
    const odet_attr *to = odet_attr_find(ctx->node, "to");
    if (to && to->type == ODET_ATTR_INT)
        return cast_infer_to(ctx, (odet_dtype)to->i);
    if (to && to->type == ODET_ATTR_STRING)
        return cast_infer_to(ctx, dtype_from_name(to->s));
    return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "attribute 'to' is required");
}

static odet_status castlike_infer(odet_op_ctx *ctx)
{
    const odet_tensor *like;
    odet_status st = need_in(ctx, 1, "target_type", &like);
    if (st)
        return st;
    return cast_infer_to(ctx, like->dtype);
}

static odet_status cast_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int64_t n = odet_tensor_numel(x);
    size_t ses = odet_dtype_size(x->dtype), des = odet_dtype_size(y->dtype);
    if (n == 0)
        return ODET_OK;
    if (x->dtype == y->dtype) {
        if (y->data != x->data)
            memcpy(y->data, x->data, (size_t)n * ses);
        return ODET_OK;
    }
    cast_fn fn = cast_from(x->dtype);
    const int64_t blk = 1 << 14;
    int64_t nblk = (n + blk - 1) / blk;
    int par = ctx->threads > 1 && nblk > 1 && n >= PAR_ELEMS;
#pragma omp parallel for num_threads(ctx->threads) if (par) schedule(static)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t i0 = b * blk, cnt = n - i0 < blk ? n - i0 : blk;
        fn((const char *)x->data + i0 * (int64_t)ses, (char *)y->data + i0 * (int64_t)des,
           y->dtype, cnt);
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* table                                                               */
/* ------------------------------------------------------------------ */

#define BIT(i) (1u << (i))

const odet_op_def odet_ops_generate[] = {
    {"Shape", "", 1, ODET_OP_SHAPE_ONLY, 0, NULL, NULL, shape_infer, NULL, shape_run},
    {"Size", "", 1, ODET_OP_SHAPE_ONLY, 0, NULL, NULL, size_infer, NULL, size_run},
    {"Constant", "", 1, 0, 0, constant_prepare, NULL, constant_infer, NULL, constant_run},
    {"ConstantOfShape", "", 9, 0, BIT(0), cos_prepare, NULL, cos_infer, NULL, cos_run},
    {"EyeLike", "", 9, ODET_OP_SHAPE_ONLY, 0, NULL, NULL, eyelike_infer, NULL, eyelike_run},
    {"Range", "", 11, 0, BIT(0) | BIT(1) | BIT(2), NULL, NULL, range_infer, NULL, range_run},
    {"CumSum", "", 11, 0, 0, cumsum_prepare, NULL, cumsum_infer, NULL, cumsum_run},
    {"Cast", "", 1, 0, 0, NULL, NULL, cast_infer, NULL, cast_run},
    {"CastLike", "", 15, 0, 0, NULL, NULL, castlike_infer, NULL, cast_run},
    {0},
};
