/* Shared helpers for operator implementations. */
#include <stdio.h>
#include <string.h>

#include "ops/op.h"

static odet_status vfail(const odet_node *node, char *err, size_t errlen, odet_status st,
                         const char *fmt, va_list ap)
{
    if (!err || errlen == 0)
        return st;
    int n = snprintf(err, errlen, "node '%s' (%s): ", node ? node->name : "?",
                     node ? node->op_type : "?");
    if (n < 0)
        n = 0;
    if ((size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    return st;
}

odet_status odet_op_fail(const odet_op_ctx *ctx, odet_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(ctx->node, ctx->err, ctx->errlen, st, fmt, ap);
    va_end(ap);
    return st;
}

odet_status odet_node_fail(const odet_node *node, char *err, size_t errlen, odet_status st,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(node, err, errlen, st, fmt, ap);
    va_end(ap);
    return st;
}

void odet_set_shape(odet_tensor *t, odet_dtype dt, int rank, const int64_t *dims)
{
    if (!t)
        return;
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank && i < ODET_MAX_RANK; i++)
        t->dims[i] = dims[i];
    for (int i = rank < 0 ? 0 : rank; i < ODET_MAX_RANK; i++)
        t->dims[i] = 0;
}

int odet_norm_axis(int64_t axis, int rank, int *out)
{
    if (axis < -(int64_t)rank || axis >= (int64_t)rank)
        return -1;
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

int odet_broadcast_shape(int ra, const int64_t *a, int rb, const int64_t *b, int *rout,
                         int64_t *out)
{
    int r = ra > rb ? ra : rb;
    if (r > ODET_MAX_RANK)
        return -1;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da == db || db == 1)
            out[i] = da;
        else if (da == 1)
            out[i] = db;
        else
            return -1;
    }
    *rout = r;
    return 0;
}

int64_t odet_tensor_get_i64(const odet_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case ODET_INT64: return ((const int64_t *)t->data)[i];
    case ODET_INT32: return ((const int32_t *)t->data)[i];
    case ODET_INT16: return ((const int16_t *)t->data)[i];
    case ODET_INT8: return ((const int8_t *)t->data)[i];
    case ODET_UINT8: return ((const uint8_t *)t->data)[i];
    case ODET_UINT16: return ((const uint16_t *)t->data)[i];
    case ODET_UINT32: return ((const uint32_t *)t->data)[i];
    case ODET_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case ODET_BOOL: return ((const uint8_t *)t->data)[i] != 0;
    case ODET_FLOAT: return (int64_t)((const float *)t->data)[i];
    case ODET_DOUBLE: return (int64_t)((const double *)t->data)[i];
    default: return 0;
    }
}

double odet_tensor_get_f64(const odet_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case ODET_FLOAT: return ((const float *)t->data)[i];
    case ODET_DOUBLE: return ((const double *)t->data)[i];
    case ODET_UINT64: return (double)((const uint64_t *)t->data)[i];
    default: return (double)odet_tensor_get_i64(t, i);
    }
}

int odet_tensor_read_ints(const odet_tensor *t, int64_t *out, int max)
{
    if (!t || !t->data || !odet_dtype_is_int(t->dtype) || t->rank > 1)
        return -1;
    int64_t n = odet_tensor_numel(t);
    if (n > max)
        return -1;
    for (int64_t i = 0; i < n; i++)
        out[i] = odet_tensor_get_i64(t, i);
    return (int)n;
}

void odet_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

int64_t odet_dims_prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= dims[i];
    return p;
}

int odet_dtype_is_float(odet_dtype t)
{
    return t == ODET_FLOAT || t == ODET_DOUBLE;
}

int odet_dtype_is_int(odet_dtype t)
{
    switch (t) {
    case ODET_INT8: case ODET_INT16: case ODET_INT32: case ODET_INT64:
    case ODET_UINT8: case ODET_UINT16: case ODET_UINT32: case ODET_UINT64:
        return 1;
    default:
        return 0;
    }
}
