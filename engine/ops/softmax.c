/* Softmax, LogSoftmax and Hardmax.
 *
 * Opset >= 13: normalise along one axis (default -1).
 * Opset 1/11:  the input is coerced to 2-D at `axis` (default 1),
 *              [prod(dims[:axis]), prod(dims[axis:])], and each row normalised.
 * Both reduce to an (outer, n, inner) view normalised along n; the legacy form
 * is the case inner == 1. Softmax subtracts the maximum first (stable). */
#include <math.h>
#include <stdlib.h>

#include "ops/op.h"

enum { SM_SOFTMAX, SM_LOGSOFTMAX, SM_HARDMAX };

typedef struct sm_params {
    int kind;
    int coerce_2d; /* opset < 13 */
    int64_t axis;
} sm_params;

/* Columns of the inner dimension processed together when inner > 1. */
#define SM_CHUNK 128

static odet_status sm_prepare(odet_node *node, char *err, size_t errlen)
{
    sm_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    switch (node->op_type[0]) {
    case 'L': p->kind = SM_LOGSOFTMAX; break;
    case 'H': p->kind = SM_HARDMAX; break;
    default: p->kind = SM_SOFTMAX; break;
    }
    p->coerce_2d = node->opset < 13;
    p->axis = odet_attr_int(node, "axis", p->coerce_2d ? 1 : -1);
    node->params = p;
    return ODET_OK;
}

typedef struct sm_view {
    int64_t outer, n, inner;
} sm_view;

static odet_status sm_view_of(const odet_op_ctx *ctx, sm_view *v)
{
    const sm_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    int axis;
    /* The 2-D coercion also accepts axis == rank (a single column of rows). */
    if (p->coerce_2d && p->axis == x->rank)
        axis = x->rank;
    else if (odet_norm_axis(p->axis, x->rank, &axis) != 0)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)p->axis, x->rank);
    v->outer = odet_dims_prod(x->dims, 0, axis);
    if (p->coerce_2d) {
        v->n = odet_dims_prod(x->dims, axis, x->rank);
        v->inner = 1;
    } else {
        v->n = x->dims[axis];
        v->inner = odet_dims_prod(x->dims, axis + 1, x->rank);
    }
    return ODET_OK;
}

static odet_status sm_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    if (x->dtype != ODET_FLOAT && x->dtype != ODET_DOUBLE)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(x->dtype));
    sm_view v = {0};
    odet_status st = sm_view_of(ctx, &v);
    if (st != ODET_OK)
        return st;
    odet_set_shape(ctx->out[0], x->dtype, x->rank, x->dims);
    return ODET_OK;
}

/* One row of n contiguous values (inner == 1). The sum of exponentials is
 * kept in 8 partial double sums (independent dependency chains). LogSoftmax
 * is (x - max) - log(sum), so large inputs lose no precision. */
#define DEF_SM_ROW(SUF, T, EXP)                                                           \
    static void sm_row_##SUF(int kind, const T *x, T *y, int64_t n)                        \
    {                                                                                      \
        T mx = x[0];                                                                       \
        int64_t arg = 0;                                                                   \
        for (int64_t j = 1; j < n; j++)                                                    \
            if (x[j] > mx) {                                                               \
                mx = x[j];                                                                 \
                arg = j;                                                                   \
            }                                                                              \
        if (kind == SM_HARDMAX) {                                                          \
            for (int64_t j = 0; j < n; j++)                                                \
                y[j] = 0;                                                                  \
            y[arg] = 1;                                                                    \
            return;                                                                        \
        }                                                                                  \
        double lane[8] = {0};                                                              \
        int64_t j = 0;                                                                     \
        if (kind == SM_SOFTMAX) {                                                          \
            for (; j + 8 <= n; j += 8)                                                     \
                for (int c = 0; c < 8; c++) {                                              \
                    T e = EXP(x[j + c] - mx);                                              \
                    y[j + c] = e;                                                          \
                    lane[c] += e;                                                          \
                }                                                                          \
            for (; j < n; j++) {                                                           \
                y[j] = EXP(x[j] - mx);                                                     \
                lane[0] += y[j];                                                           \
            }                                                                              \
        } else {                                                                           \
            for (; j + 8 <= n; j += 8)                                                     \
                for (int c = 0; c < 8; c++)                                                \
                    lane[c] += EXP(x[j + c] - mx);                                         \
            for (; j < n; j++)                                                             \
                lane[0] += EXP(x[j] - mx);                                                 \
        }                                                                                  \
        double s = 0.0;                                                                    \
        for (int c = 0; c < 8; c++)                                                        \
            s += lane[c];                                                                  \
        if (kind == SM_SOFTMAX) {                                                          \
            T inv = (T)(1.0 / s);                                                          \
            for (j = 0; j < n; j++)                                                        \
                y[j] *= inv;                                                               \
        } else {                                                                           \
            T ls = (T)log(s);                                                              \
            for (j = 0; j < n; j++)                                                        \
                y[j] = (x[j] - mx) - ls;                                                   \
        }                                                                                  \
    }

/* Columns [0, cols) of an (n, inner) block, each normalised down its column.
 * Walks rows so that memory is read contiguously. */
#define DEF_SM_COLS(SUF, T, EXP)                                                          \
    static void sm_cols_##SUF(int kind, const T *x, T *y, int64_t n, int64_t inner,        \
                              int64_t cols)                                                \
    {                                                                                      \
        T mx[SM_CHUNK];                                                                    \
        double s[SM_CHUNK];                                                                \
        int64_t arg[SM_CHUNK];                                                             \
        for (int64_t c = 0; c < cols; c++) {                                               \
            mx[c] = x[c];                                                                  \
            arg[c] = 0;                                                                    \
            s[c] = 0.0;                                                                    \
        }                                                                                  \
        for (int64_t j = 1; j < n; j++) {                                                  \
            const T *xr = x + j * inner;                                                   \
            for (int64_t c = 0; c < cols; c++)                                             \
                if (xr[c] > mx[c]) {                                                       \
                    mx[c] = xr[c];                                                         \
                    arg[c] = j;                                                            \
                }                                                                          \
        }                                                                                  \
        if (kind == SM_HARDMAX) {                                                          \
            for (int64_t j = 0; j < n; j++)                                                \
                for (int64_t c = 0; c < cols; c++)                                         \
                    y[j * inner + c] = arg[c] == j ? 1 : 0;                                \
        } else if (kind == SM_SOFTMAX) {                                                   \
            for (int64_t j = 0; j < n; j++) {                                              \
                const T *xr = x + j * inner;                                               \
                T *yr = y + j * inner;                                                     \
                for (int64_t c = 0; c < cols; c++) {                                       \
                    T e = EXP(xr[c] - mx[c]);                                              \
                    yr[c] = e;                                                             \
                    s[c] += e;                                                             \
                }                                                                          \
            }                                                                              \
            for (int64_t c = 0; c < cols; c++)                                             \
                mx[c] = (T)(1.0 / s[c]);                                                   \
            for (int64_t j = 0; j < n; j++)                                                \
                for (int64_t c = 0; c < cols; c++)                                         \
                    y[j * inner + c] *= mx[c];                                             \
        } else {                                                                           \
            for (int64_t j = 0; j < n; j++)                                                \
                for (int64_t c = 0; c < cols; c++)                                         \
                    s[c] += EXP(x[j * inner + c] - mx[c]);                                 \
            T ls[SM_CHUNK];                                                                \
            for (int64_t c = 0; c < cols; c++)                                             \
                ls[c] = (T)log(s[c]);                                                      \
            for (int64_t j = 0; j < n; j++)                                                \
                for (int64_t c = 0; c < cols; c++)                                         \
                    y[j * inner + c] = (x[j * inner + c] - mx[c]) - ls[c];                 \
        }                                                                                  \
    }

#define DEF_SM_RUN(SUF, T)                                                                \
    static void sm_run_##SUF(int kind, const sm_view *v, const T *x, T *y, int threads)    \
    {                                                                                      \
        int64_t n = v->n, inner = v->inner;                                                \
        int64_t chunks = (inner + SM_CHUNK - 1) / SM_CHUNK;                                \
        int64_t tasks = v->outer * chunks;                                                 \
        _Pragma("omp parallel for num_threads(threads) if (v->outer * n * inner > 32768)") \
        for (int64_t t = 0; t < tasks; t++) {                                              \
            int64_t o = t / chunks, c0 = (t % chunks) * SM_CHUNK;                          \
            int64_t cols = inner - c0 < SM_CHUNK ? inner - c0 : SM_CHUNK;                  \
            int64_t off = o * n * inner + c0;                                              \
            if (inner == 1)                                                                \
                sm_row_##SUF(kind, x + off, y + off, n);                                   \
            else                                                                           \
                sm_cols_##SUF(kind, x + off, y + off, n, inner, cols);                     \
        }                                                                                  \
    }

DEF_SM_ROW(f32, float, expf)
DEF_SM_ROW(f64, double, exp)
DEF_SM_COLS(f32, float, expf)
DEF_SM_COLS(f64, double, exp)
DEF_SM_RUN(f32, float)
DEF_SM_RUN(f64, double)

static odet_status sm_run(odet_op_ctx *ctx)
{
    const sm_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0];
    sm_view v = {0};
    odet_status st = sm_view_of(ctx, &v);
    if (st != ODET_OK)
        return st;
    if (v.n == 0 || v.outer == 0 || v.inner == 0)
        return ODET_OK;
    if (x->dtype == ODET_FLOAT)
        sm_run_f32(p->kind, &v, (const float *)x->data, (float *)ctx->out[0]->data,
                   ctx->threads);
    else
        sm_run_f64(p->kind, &v, (const double *)x->data, (double *)ctx->out[0]->data,
                   ctx->threads);
    return ODET_OK;
}

const odet_op_def odet_ops_softmax[] = {
    {.op_type = "Softmax", .domain = "", .min_opset = 1, .prepare = sm_prepare,
     .infer = sm_infer, .run = sm_run},
    {.op_type = "LogSoftmax", .domain = "", .min_opset = 1, .prepare = sm_prepare,
     .infer = sm_infer, .run = sm_run},
    {.op_type = "Hardmax", .domain = "", .min_opset = 1, .prepare = sm_prepare,
     .infer = sm_infer, .run = sm_run},
    {0},
};
