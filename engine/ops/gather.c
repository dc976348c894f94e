/* Index-driven data movement: Gather, GatherElements, GatherND, Scatter,
 * ScatterElements, ScatterND, NonZero, Trilu, OneHot, Compress.
 *
 * Data tensors may have any fixed-size dtype (elements are moved as bytes);
 * scatter reductions compute in the data's own type. Indices are int32 or
 * int64; negative indices count from the end; any index out of range fails the
 * run with a message naming it (all indices are checked before anything is
 * written). */
#include <stdlib.h>
#include <string.h>

#include "ops/elem.h"
#include "ops/op.h"

#define MAXR ODET_MAX_RANK
#define PAR_BYTES ((int64_t)1 << 17)

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

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

static odet_status check_sized(const odet_op_ctx *ctx, const odet_tensor *t, int i,
                               const char *name)
{
    if (odet_dtype_size(t->dtype) == 0)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "input %d '%s': dtype %s is not supported",
                            i, name, odet_dtype_name(t->dtype));
    return ODET_OK;
}

static odet_status check_index_dtype(const odet_op_ctx *ctx, const odet_tensor *t, int i)
{
    if (t->dtype != ODET_INT64 && t->dtype != ODET_INT32)
        return odet_op_fail(ctx, ODET_ERR_DTYPE,
                            "input %d 'indices' must be int32 or int64, got %s", i,
                            odet_dtype_name(t->dtype));
    return ODET_OK;
}

static inline int64_t index_at(const odet_tensor *t, int64_t i)
{
    return t->dtype == ODET_INT64 ? ((const int64_t *)t->data)[i]
                                  : ((const int32_t *)t->data)[i];
}

/* Checks every index against an axis of size d. */
static odet_status check_indices(const odet_op_ctx *ctx, const odet_tensor *idx, int64_t d,
                                 int axis)
{
    int64_t n = odet_tensor_numel(idx);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = index_at(idx, i);
        if (v < -d || v >= d)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "index %lld (element %lld) is out of range for axis %d of "
                                "size %lld", (long long)v, (long long)i, axis, (long long)d);
    }
    return ODET_OK;
}

static int64_t axis_attr(const odet_op_ctx *ctx, int64_t def)
{
    return odet_attr_int(ctx->node, "axis", def);
}

static odet_status norm_axis(const odet_op_ctx *ctx, int64_t axis, int rank, int *a)
{
    if (odet_norm_axis(axis, rank, a))
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "axis %lld is out of range for rank %d",
                            (long long)axis, rank);
    return ODET_OK;
}

/* Copies data into out (scatter outputs start as the data). */
static void copy_data(odet_tensor *out, const odet_tensor *data)
{
    size_t bytes = odet_tensor_bytes(out);
    if (bytes && out->data != data->data)
        memcpy(out->data, data->data, bytes);
}

/* ------------------------------------------------------------------ */
/* Gather                                                              */
/* ------------------------------------------------------------------ */

static odet_status gather_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x, *idx;
    odet_status st;
    if ((st = need_in(ctx, 0, "data", &x)) || (st = need_in(ctx, 1, "indices", &idx)) ||
        (st = check_sized(ctx, x, 0, "data")) || (st = check_index_dtype(ctx, idx, 1)))
        return st;
    int a;
    if ((st = norm_axis(ctx, axis_attr(ctx, 0), x->rank, &a)))
        return st;
    int r = x->rank - 1 + idx->rank;
    if (r > MAXR)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, MAXR);
    int64_t dims[MAXR];
    int k = 0;
    for (int i = 0; i < a; i++)
        dims[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++)
        dims[k++] = idx->dims[i];
    for (int i = a + 1; i < x->rank; i++)
        dims[k++] = x->dims[i];
    odet_set_shape(out_at(ctx, 0), x->dtype, r, dims);
    return ODET_OK;
}

static odet_status gather_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0], *idx = ctx->in[1];
    odet_tensor *y = ctx->out[0];
    int a;
    odet_norm_axis(axis_attr(ctx, 0), x->rank, &a);
    int64_t d = x->dims[a];
    odet_status st = check_indices(ctx, idx, d, a);
    if (st)
        return st;
    int64_t es = (int64_t)odet_dtype_size(x->dtype);
    int64_t outer = odet_dims_prod(x->dims, 0, a);
    int64_t n = odet_tensor_numel(idx);
    int64_t inner = odet_dims_prod(x->dims, a + 1, x->rank) * es; /* bytes */
    int64_t work = outer * n;
    const char *src = x->data;
    char *dst = y->data;
    int par = ctx->threads > 1 && work > 1 && work * inner >= PAR_BYTES;
#pragma omp parallel for num_threads(ctx->threads) if (par) schedule(static)
    for (int64_t w = 0; w < work; w++) {
        int64_t o = w / n, v = index_at(idx, w % n);
        if (v < 0)
            v += d;
        memcpy(dst + w * inner, src + (o * d + v) * inner, (size_t)inner);
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* GatherElements / ScatterElements                                    */
/* ------------------------------------------------------------------ */

/* Checks rank and that every non-axis dim of `idx` fits within `x`. */
static odet_status check_elements_shape(const odet_op_ctx *ctx, const odet_tensor *x,
                                        const odet_tensor *idx, int a)
{
    if (idx->rank != x->rank)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "indices have rank %d, data rank %d",
                            idx->rank, x->rank);
    for (int k = 0; k < x->rank; k++) {
        if (k != a && idx->dims[k] > x->dims[k])
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "indices dim %d (%lld) exceeds the data's (%lld)", k,
                                (long long)idx->dims[k], (long long)x->dims[k]);
    }
    return ODET_OK;
}

/* Element offset in x of every position of idx, with the axis coordinate
 * replaced by the index: calls body(i, off) in order. */
#define FOR_EACH_ELEMENT(x, idx, a, i, off, body)                                    \
    do {                                                                             \
        int64_t xs_[MAXR], c_[MAXR] = {0}, n_ = odet_tensor_numel(idx);             \
        int r_ = (idx)->rank;                                                        \
        int64_t d_ = (x)->dims[a];                                                   \
        odet_strides((x)->rank, (x)->dims, xs_);                                     \
        int64_t base_ = 0; /* offset of c_ without the axis coordinate */            \
        for (int64_t i = 0; i < n_; i++) {                                           \
            int64_t v_ = index_at(idx, i);                                           \
            int64_t off = base_ + (v_ < 0 ? v_ + d_ : v_) * xs_[a];                  \
            body;                                                                    \
            for (int k_ = r_ - 1; k_ >= 0; k_--) {                                   \
                if (k_ != (a))                                                       \
                    base_ += xs_[k_];                                                \
                if (++c_[k_] < (idx)->dims[k_])                                      \
                    break;                                                           \
                if (k_ != (a))                                                       \
                    base_ -= xs_[k_] * c_[k_];                                       \
                c_[k_] = 0;                                                          \
            }                                                                        \
        }                                                                            \
    } while (0)

static odet_status gather_elements_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x, *idx;
    odet_status st;
    int a;
    if ((st = need_in(ctx, 0, "data", &x)) || (st = need_in(ctx, 1, "indices", &idx)) ||
        (st = check_sized(ctx, x, 0, "data")) || (st = check_index_dtype(ctx, idx, 1)) ||
        (st = norm_axis(ctx, axis_attr(ctx, 0), x->rank, &a)) ||
        (st = check_elements_shape(ctx, x, idx, a)))
        return st;
    odet_set_shape(out_at(ctx, 0), x->dtype, idx->rank, idx->dims);
    return ODET_OK;
}

static odet_status gather_elements_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0], *idx = ctx->in[1];
    odet_tensor *y = ctx->out[0];
    int a;
    odet_norm_axis(axis_attr(ctx, 0), x->rank, &a);
    odet_status st = check_indices(ctx, idx, x->dims[a], a);
    if (st)
        return st;
    size_t es = odet_dtype_size(x->dtype);
    const char *src = x->data;
    char *dst = y->data;
    FOR_EACH_ELEMENT(x, idx, a, i, off, memcpy(dst + i * (int64_t)es, src + off * (int64_t)es, es));
    return ODET_OK;
}

/* ---- reductions shared by the scatters ---- */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static odet_status parse_reduction(odet_node *node, char *err, size_t errlen, int *red)
{
    const char *s = odet_attr_string(node, "reduction", "none");
    if (strcmp(s, "none") == 0)
        *red = RED_NONE;
    else if (strcmp(s, "add") == 0)
        *red = RED_ADD;
    else if (strcmp(s, "mul") == 0)
        *red = RED_MUL;
    else if (strcmp(s, "max") == 0)
        *red = RED_MAX;
    else if (strcmp(s, "min") == 0)
        *red = RED_MIN;
    else
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "reduction '%s' is not supported", s);
    return ODET_OK;
}

typedef struct scatter_params {
    int reduction;
} scatter_params;

static odet_status scatter_prepare(odet_node *node, char *err, size_t errlen)
{
    scatter_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    odet_status st = parse_reduction(node, err, errlen, &p->reduction);
    if (st) {
        free(p);
        return st;
    }
    node->params = p;
    return ODET_OK;
}

static int reduction_dtype_ok(odet_dtype t)
{
    return odet_dtype_is_float(t) || odet_dtype_is_int(t) || t == ODET_FLOAT16;
}

/* Integer add/mul wrap (computed unsigned) instead of overflowing. */
#define RED_INT(T, UT)                                                                     \
    do {                                                                                   \
        T a_, b_;                                                                          \
        memcpy(&a_, dst, sizeof a_);                                                       \
        memcpy(&b_, src, sizeof b_);                                                       \
        switch (red) {                                                                     \
        case RED_ADD: a_ = (T)((UT)a_ + (UT)b_); break;                                    \
        case RED_MUL: a_ = (T)((UT)a_ * (UT)b_); break;                                    \
        case RED_MAX: a_ = a_ > b_ ? a_ : b_; break;                                       \
        default: a_ = a_ < b_ ? a_ : b_; break;                                            \
        }                                                                                  \
        memcpy(dst, &a_, sizeof a_);                                                       \
    } while (0)

#define RED_FLT(T)                                                                         \
    do {                                                                                   \
        T a_, b_;                                                                          \
        memcpy(&a_, dst, sizeof a_);                                                       \
        memcpy(&b_, src, sizeof b_);                                                       \
        switch (red) {                                                                     \
        case RED_ADD: a_ = a_ + b_; break;                                                 \
        case RED_MUL: a_ = a_ * b_; break;                                                 \
        case RED_MAX: a_ = a_ > b_ ? a_ : b_; break;                                       \
        default: a_ = a_ < b_ ? a_ : b_; break;                                            \
        }                                                                                  \
        memcpy(dst, &a_, sizeof a_);                                                       \
    } while (0)

/* dst = dst (red) src for one element. */
static void reduce_one(char *dst, const char *src, odet_dtype t, int red)
{
    switch (t) {
    case ODET_FLOAT: RED_FLT(float); break;
    case ODET_DOUBLE: RED_FLT(double); break;
    case ODET_FLOAT16: {
        uint16_t ha, hb;
        memcpy(&ha, dst, 2);
        memcpy(&hb, src, 2);
        float a = odet_f16_to_f32(ha), b = odet_f16_to_f32(hb);
        float r = red == RED_ADD   ? a + b
                  : red == RED_MUL ? a * b
                  : red == RED_MAX ? (a > b ? a : b)
                                   : (a < b ? a : b);
        ha = odet_f32_to_f16(r);
        memcpy(dst, &ha, 2);
        break;
    }
    case ODET_INT8: RED_INT(int8_t, uint8_t); break;
    case ODET_UINT8: RED_INT(uint8_t, uint8_t); break;
    case ODET_INT16: RED_INT(int16_t, uint16_t); break;
    case ODET_UINT16: RED_INT(uint16_t, uint32_t); break;
    case ODET_INT32: RED_INT(int32_t, uint32_t); break;
    case ODET_UINT32: RED_INT(uint32_t, uint32_t); break;
    case ODET_INT64: RED_INT(int64_t, uint64_t); break;
    case ODET_UINT64: RED_INT(uint64_t, uint64_t); break;
    default: break;
    }
}

/* Applies n elements of src onto dst. */
static void scatter_apply(char *dst, const char *src, int64_t n, odet_dtype t, int red)
{
    size_t es = odet_dtype_size(t);
    if (red == RED_NONE) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        reduce_one(dst + i * (int64_t)es, src + i * (int64_t)es, t, red);
}

static odet_status scatter_common_checks(const odet_op_ctx *ctx, const odet_tensor *x,
                                         const odet_tensor *upd)
{
    const scatter_params *p = ctx->params;
    if (upd->dtype != x->dtype)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "updates are %s, data is %s",
                            odet_dtype_name(upd->dtype), odet_dtype_name(x->dtype));
    if (p && p->reduction != RED_NONE && !reduction_dtype_ok(x->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "reduction on %s data is not supported",
                            odet_dtype_name(x->dtype));
    return ODET_OK;
}

static odet_status scatter_elements_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x, *idx, *upd;
    odet_status st;
    int a;
    if ((st = need_in(ctx, 0, "data", &x)) || (st = need_in(ctx, 1, "indices", &idx)) ||
        (st = need_in(ctx, 2, "updates", &upd)) || (st = check_sized(ctx, x, 0, "data")) ||
        (st = check_index_dtype(ctx, idx, 1)) || (st = scatter_common_checks(ctx, x, upd)) ||
        (st = norm_axis(ctx, axis_attr(ctx, 0), x->rank, &a)) ||
        (st = check_elements_shape(ctx, x, idx, a)))
        return st;
    if (upd->rank != idx->rank ||
        memcmp(upd->dims, idx->dims, sizeof(int64_t) * (size_t)idx->rank) != 0)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "updates and indices must have the same shape");
    odet_set_shape(out_at(ctx, 0), x->dtype, x->rank, x->dims);
    return ODET_OK;
}

/* Sequential: duplicate indices must apply in order. */
static odet_status scatter_elements_run(odet_op_ctx *ctx)
{
    const scatter_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0], *idx = ctx->in[1], *upd = ctx->in[2];
    odet_tensor *y = ctx->out[0];
    int a, red = p ? p->reduction : RED_NONE;
    odet_norm_axis(axis_attr(ctx, 0), x->rank, &a);
    odet_status st = check_indices(ctx, idx, x->dims[a], a);
    if (st)
        return st;
    copy_data(y, x);
    int64_t es = (int64_t)odet_dtype_size(x->dtype);
    const char *src = upd->data;
    char *dst = y->data;
    FOR_EACH_ELEMENT(x, idx, a, i, off,
                     scatter_apply(dst + off * es, src + i * es, 1, x->dtype, red));
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* GatherND / ScatterND                                                */
/* ------------------------------------------------------------------ */

typedef struct gathernd_params {
    int64_t batch_dims;
} gathernd_params;

static odet_status gathernd_shape(const odet_op_ctx *ctx, const odet_tensor *x,
                                  const odet_tensor *idx, int b, int64_t *dims, int *rank)
{
    int r = x->rank, q = idx->rank;
    if (q < 1 || r < 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "data and indices must have rank >= 1");
    if (b < 0 || b >= q || b >= r)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "batch_dims %d must be below the ranks of data (%d) and indices (%d)",
                            b, r, q);
    int64_t k = idx->dims[q - 1];
    if (k < 1 || k > r - b)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "indices' last dim %lld must be in [1, %d]", (long long)k, r - b);
    for (int i = 0; i < b; i++) {
        if (idx->dims[i] != x->dims[i])
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "batch dim %d differs: data %lld, indices %lld", i,
                                (long long)x->dims[i], (long long)idx->dims[i]);
    }
    int n = 0;
    for (int i = 0; i < q - 1; i++)
        dims[n++] = idx->dims[i];
    for (int i = b + (int)k; i < r; i++) {
        if (n >= MAXR)
            return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "output rank exceeds %d", MAXR);
        dims[n++] = x->dims[i];
    }
    *rank = n;
    return ODET_OK;
}

/* Checks every index tuple (last axis of idx) against data dims [b, b+k). */
static odet_status check_nd_indices(const odet_op_ctx *ctx, const odet_tensor *x,
                                    const odet_tensor *idx, int b)
{
    int64_t k = idx->dims[idx->rank - 1], n = odet_tensor_numel(idx);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = index_at(idx, i), d = x->dims[b + i % k];
        if (v < -d || v >= d)
            return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                                "index %lld (element %lld) is out of range for axis %lld of "
                                "size %lld", (long long)v, (long long)i, (long long)(b + i % k),
                                (long long)d);
    }
    return ODET_OK;
}

/* Element offset (within one batch) of index tuple t. */
static int64_t nd_offset(const odet_tensor *x, const int64_t *xs, const odet_tensor *idx,
                         int64_t t, int64_t k, int b)
{
    int64_t off = 0;
    for (int64_t j = 0; j < k; j++) {
        int64_t v = index_at(idx, t * k + j), d = x->dims[b + j];
        off += (v < 0 ? v + d : v) * xs[b + j];
    }
    return off;
}

static odet_status gathernd_prepare(odet_node *node, char *err, size_t errlen)
{
    gathernd_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->batch_dims = odet_attr_int(node, "batch_dims", 0);
    node->params = p;
    return ODET_OK;
}

static odet_status gathernd_infer(odet_op_ctx *ctx)
{
    const gathernd_params *p = ctx->params;
    const odet_tensor *x, *idx;
    odet_status st;
    if ((st = need_in(ctx, 0, "data", &x)) || (st = need_in(ctx, 1, "indices", &idx)) ||
        (st = check_sized(ctx, x, 0, "data")) || (st = check_index_dtype(ctx, idx, 1)))
        return st;
    int64_t dims[MAXR];
    int r = 0;
    if (p->batch_dims < 0 || p->batch_dims > MAXR)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "batch_dims %lld is invalid",
                            (long long)p->batch_dims);
    if ((st = gathernd_shape(ctx, x, idx, (int)p->batch_dims, dims, &r)))
        return st;
    odet_set_shape(out_at(ctx, 0), x->dtype, r, dims);
    return ODET_OK;
}

static odet_status gathernd_run(odet_op_ctx *ctx)
{
    const gathernd_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0], *idx = ctx->in[1];
    odet_tensor *y = ctx->out[0];
    int b = (int)p->batch_dims;
    odet_status st = check_nd_indices(ctx, x, idx, b);
    if (st)
        return st;
    int64_t es = (int64_t)odet_dtype_size(x->dtype), xs[MAXR];
    odet_strides(x->rank, x->dims, xs);
    int64_t k = idx->dims[idx->rank - 1];
    int64_t nb = odet_dims_prod(x->dims, 0, b);                      /* batches */
    int64_t nt = odet_dims_prod(idx->dims, b, idx->rank - 1);        /* tuples per batch */
    int64_t slice = odet_dims_prod(x->dims, b + (int)k, x->rank) * es; /* bytes */
    int64_t bstride = odet_dims_prod(x->dims, b, x->rank);           /* elements per batch */
    int64_t work = nb * nt;
    const char *src = x->data;
    char *dst = y->data;
    int par = ctx->threads > 1 && work > 1 && work * slice >= PAR_BYTES;
#pragma omp parallel for num_threads(ctx->threads) if (par) schedule(static)
    for (int64_t w = 0; w < work; w++) {
        int64_t off = (w / nt) * bstride + nd_offset(x, xs, idx, w, k, b);
        memcpy(dst + w * slice, src + off * es, (size_t)slice);
    }
    return ODET_OK;
}

static odet_status scatternd_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x, *idx, *upd;
    odet_status st;
    if ((st = need_in(ctx, 0, "data", &x)) || (st = need_in(ctx, 1, "indices", &idx)) ||
        (st = need_in(ctx, 2, "updates", &upd)) || (st = check_sized(ctx, x, 0, "data")) ||
        (st = check_index_dtype(ctx, idx, 1)) || (st = scatter_common_checks(ctx, x, upd)))
        return st;
    int q = idx->rank, r = x->rank;
    if (q < 1 || r < 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "data and indices must have rank >= 1");
    int64_t k = idx->dims[q - 1];
    if (k < 1 || k > r)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "indices' last dim %lld must be in [1, %d]",
                            (long long)k, r);
    /* updates.shape == indices.shape[:-1] + data.shape[k:] */
    int ur = q - 1 + r - (int)k, ok = upd->rank == ur;
    for (int i = 0; ok && i < q - 1; i++)
        ok = upd->dims[i] == idx->dims[i];
    for (int i = (int)k; ok && i < r; i++)
        ok = upd->dims[q - 1 + i - (int)k] == x->dims[i];
    if (!ok)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "updates must have shape indices.shape[:-1] + data.shape[%lld:]",
                            (long long)k);
    odet_set_shape(out_at(ctx, 0), x->dtype, x->rank, x->dims);
    return ODET_OK;
}

static odet_status scatternd_run(odet_op_ctx *ctx)
{
    const scatter_params *p = ctx->params;
    const odet_tensor *x = ctx->in[0], *idx = ctx->in[1], *upd = ctx->in[2];
    odet_tensor *y = ctx->out[0];
    odet_status st = check_nd_indices(ctx, x, idx, 0);
    if (st)
        return st;
    copy_data(y, x);
    int64_t es = (int64_t)odet_dtype_size(x->dtype), xs[MAXR];
    odet_strides(x->rank, x->dims, xs);
    int64_t k = idx->dims[idx->rank - 1];
    int64_t nt = odet_dims_prod(idx->dims, 0, idx->rank - 1);
    int64_t slice = odet_dims_prod(x->dims, (int)k, x->rank); /* elements */
    const char *src = upd->data;
    char *dst = y->data;
    for (int64_t t = 0; t < nt; t++) {
        int64_t off = nd_offset(x, xs, idx, t, k, 0);
        scatter_apply(dst + off * es, src + t * slice * es, slice, x->dtype, p->reduction);
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* NonZero                                                             */
/* ------------------------------------------------------------------ */

static int elem_nonzero(const char *p, odet_dtype t)
{
    switch (t) {
    case ODET_FLOAT: { float v; memcpy(&v, p, 4); return v != 0.0f; }
    case ODET_DOUBLE: { double v; memcpy(&v, p, 8); return v != 0.0; }
    case ODET_FLOAT16: { uint16_t v; memcpy(&v, p, 2); return (v & 0x7fffu) != 0; }
    default: {
        size_t es = odet_dtype_size(t);
        for (size_t i = 0; i < es; i++)
            if (p[i])
                return 1;
        return 0;
    }
    }
}

static int64_t count_nonzero(const odet_tensor *x)
{
    int64_t n = odet_tensor_numel(x), c = 0;
    int64_t es = (int64_t)odet_dtype_size(x->dtype);
    const char *p = x->data;
    for (int64_t i = 0; i < n; i++)
        c += elem_nonzero(p + i * es, x->dtype);
    return c;
}

static odet_status nonzero_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st;
    if ((st = need_in(ctx, 0, "X", &x)) || (st = check_sized(ctx, x, 0, "X")))
        return st;
    /* A scalar is treated as a 1-element vector (as numpy and ONNX Runtime do). */
    int64_t dims[2] = {x->rank > 0 ? x->rank : 1, count_nonzero(x)};
    odet_set_shape(out_at(ctx, 0), ODET_INT64, 2, dims);
    return ODET_OK;
}

static odet_status nonzero_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0];
    odet_tensor *y = ctx->out[0];
    int r = x->rank;
    int64_t n = odet_tensor_numel(x), nnz = y->dims[1], c[MAXR] = {0}, col = 0;
    int64_t es = (int64_t)odet_dtype_size(x->dtype);
    int64_t *out = y->data;
    const char *p = x->data;
    for (int64_t i = 0; i < n && col < nnz; i++) {
        if (elem_nonzero(p + i * es, x->dtype)) {
            if (r == 0)
                out[col] = 0;
            for (int k = 0; k < r; k++)
                out[k * nnz + col] = c[k];
            col++;
        }
        for (int k = r - 1; k >= 0; k--) {
            if (++c[k] < x->dims[k])
                break;
            c[k] = 0;
        }
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Trilu                                                               */
/* ------------------------------------------------------------------ */

static odet_status trilu_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x;
    odet_status st;
    if ((st = need_in(ctx, 0, "input", &x)) || (st = check_sized(ctx, x, 0, "input")))
        return st;
    if (x->rank < 2)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 0 must have rank >= 2, got %d", x->rank);
    const odet_tensor *k = in_at(ctx, 1);
    if (k && (k->dtype != ODET_INT64 || odet_tensor_numel(k) != 1))
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "input 1 'k' must be one int64");
    odet_set_shape(out_at(ctx, 0), x->dtype, x->rank, x->dims);
    return ODET_OK;
}

static odet_status trilu_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0], *kt = in_at(ctx, 1);
    odet_tensor *y = ctx->out[0];
    int upper = odet_attr_int(ctx->node, "upper", 1) != 0;
    int64_t es = (int64_t)odet_dtype_size(x->dtype);
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    int64_t k = kt ? ((const int64_t *)kt->data)[0] : 0;
    k = k < -rows - 1 ? -rows - 1 : k > cols + 1 ? cols + 1 : k; /* same result, no overflow */
    int64_t total = odet_tensor_numel(x) / (cols ? cols : 1);
    if (cols == 0)
        return ODET_OK;
    int par = ctx->threads > 1 && total * cols * es >= PAR_BYTES;
#pragma omp parallel for num_threads(ctx->threads) if (par) schedule(static)
    for (int64_t t = 0; t < total; t++) {
        int64_t i = t % rows;
        /* Kept columns: [lo, hi); the others are zeroed (zero bytes = 0 in every dtype). */
        int64_t lo = upper ? i + k : 0, hi = upper ? cols : i + k + 1;
        lo = lo < 0 ? 0 : lo > cols ? cols : lo;
        hi = hi < lo ? lo : hi > cols ? cols : hi;
        char *d = (char *)y->data + t * cols * es;
        const char *s = (const char *)x->data + t * cols * es;
        memset(d, 0, (size_t)(lo * es));
        memcpy(d + lo * es, s + lo * es, (size_t)((hi - lo) * es));
        memset(d + hi * es, 0, (size_t)((cols - hi) * es));
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* OneHot                                                              */
/* ------------------------------------------------------------------ */

static double value_f64(const odet_tensor *t, int64_t i)
{
    if (t->dtype == ODET_FLOAT16)
        return odet_f16_to_f32(((const uint16_t *)t->data)[i]);
    return odet_tensor_get_f64(t, i);
}

static int numeric_dtype(odet_dtype t)
{
    return odet_dtype_is_float(t) || odet_dtype_is_int(t) || t == ODET_FLOAT16;
}

static odet_status onehot_infer(odet_op_ctx *ctx)
{
    const odet_tensor *idx, *depth, *vals;
    odet_status st;
    if ((st = need_in(ctx, 0, "indices", &idx)) || (st = need_in(ctx, 1, "depth", &depth)) ||
        (st = need_in(ctx, 2, "values", &vals)) || (st = check_sized(ctx, vals, 2, "values")))
        return st;
    if (!numeric_dtype(idx->dtype) || !numeric_dtype(depth->dtype))
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "indices and depth must be numeric");
    if (odet_tensor_numel(depth) != 1 || depth->rank > 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 1 'depth' must hold one value");
    if (odet_tensor_numel(vals) != 2 || vals->rank != 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 2 'values' must be [off, on]");
    double dv = value_f64(depth, 0);
    if (!(dv >= 1.0) || dv > (double)ODET_MAX_TENSOR_ELEMS)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "depth %g is invalid", dv);
    int r = idx->rank + 1, a;
    if (r > MAXR)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, MAXR);
    if ((st = norm_axis(ctx, axis_attr(ctx, -1), r, &a)))
        return st;
    int64_t dims[MAXR];
    for (int i = 0, j = 0; i < r; i++)
        dims[i] = i == a ? (int64_t)dv : idx->dims[j++];
    if (odet_dims_numel_checked(r, dims) < 0)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "output shape is too large");
    odet_set_shape(out_at(ctx, 0), vals->dtype, r, dims);
    return ODET_OK;
}

static odet_status onehot_run(odet_op_ctx *ctx)
{
    const odet_tensor *idx = ctx->in[0], *vals = ctx->in[2];
    odet_tensor *y = ctx->out[0];
    int a;
    odet_norm_axis(axis_attr(ctx, -1), y->rank, &a);
    int64_t depth = y->dims[a], es = (int64_t)odet_dtype_size(y->dtype);
    int64_t outer = odet_dims_prod(y->dims, 0, a), inner = odet_dims_prod(y->dims, a + 1, y->rank);
    int64_t n = odet_tensor_numel(y);
    const char *off = vals->data, *on = (const char *)vals->data + es;
    char *d = y->data;
    for (int64_t i = 0; i < n; i++)
        memcpy(d + i * es, off, (size_t)es);
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            double fv = value_f64(idx, o * inner + i);
            if (!(fv > -(double)depth - 1.0 && fv < (double)depth + 1.0))
                continue;
            int64_t v = (int64_t)fv; /* non-integer indices truncate */
            if (v < -depth || v >= depth)
                continue;
            if (v < 0)
                v += depth;
            memcpy(d + ((o * depth + v) * inner + i) * es, on, (size_t)es);
        }
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* Compress                                                            */
/* ------------------------------------------------------------------ */

/* Number of selected slices: true entries among the first `dim`. */
static int64_t compress_count(const odet_tensor *cond, int64_t dim)
{
    int64_t n = odet_tensor_numel(cond), c = 0;
    if (n > dim)
        n = dim;
    for (int64_t i = 0; i < n; i++)
        c += ((const uint8_t *)cond->data)[i] != 0;
    return c;
}

static odet_status compress_infer(odet_op_ctx *ctx)
{
    const odet_tensor *x, *cond;
    odet_status st;
    if ((st = need_in(ctx, 0, "input", &x)) || (st = need_in(ctx, 1, "condition", &cond)) ||
        (st = check_sized(ctx, x, 0, "input")))
        return st;
    if (cond->dtype != ODET_BOOL || cond->rank != 1)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input 1 'condition' must be a 1-D bool tensor");
    const odet_attr *at = odet_attr_find(ctx->node, "axis");
    if (!at) {
        int64_t dims[1] = {compress_count(cond, odet_tensor_numel(x))};
        odet_set_shape(out_at(ctx, 0), x->dtype, 1, dims);
        return ODET_OK;
    }
    int a;
    if ((st = norm_axis(ctx, at->i, x->rank, &a)))
        return st;
    int64_t dims[MAXR];
    memcpy(dims, x->dims, sizeof dims);
    dims[a] = compress_count(cond, x->dims[a]);
    odet_set_shape(out_at(ctx, 0), x->dtype, x->rank, dims);
    return ODET_OK;
}

static odet_status compress_run(odet_op_ctx *ctx)
{
    const odet_tensor *x = ctx->in[0], *cond = ctx->in[1];
    odet_tensor *y = ctx->out[0];
    const odet_attr *at = odet_attr_find(ctx->node, "axis");
    int64_t es = (int64_t)odet_dtype_size(x->dtype), outer = 1, dim, inner = 1;
    if (at) {
        int a;
        odet_norm_axis(at->i, x->rank, &a);
        outer = odet_dims_prod(x->dims, 0, a);
        dim = x->dims[a];
        inner = odet_dims_prod(x->dims, a + 1, x->rank);
    } else {
        dim = odet_tensor_numel(x);
    }
    int64_t nc = odet_tensor_numel(cond);
    if (nc > dim)
        nc = dim;
    const uint8_t *c = cond->data;
    const char *s = x->data;
    char *d = y->data;
    int64_t chunk = inner * es;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < nc; i++) {
            if (!c[i])
                continue;
            memcpy(d, s + (o * dim + i) * chunk, (size_t)chunk);
            d += chunk;
        }
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------ */
/* table                                                               */
/* ------------------------------------------------------------------ */

#define BIT(i) (1u << (i))

const odet_op_def odet_ops_gather[] = {
    {"Gather", "", 1, 0, 0, NULL, NULL, gather_infer, NULL, gather_run},
    {"GatherElements", "", 11, 0, 0, NULL, NULL, gather_elements_infer, NULL,
     gather_elements_run},
    {"GatherND", "", 11, 0, 0, gathernd_prepare, NULL, gathernd_infer, NULL, gathernd_run},
    /* Scatter (opset 9/10) is ScatterElements without reductions. */
    {"Scatter", "", 9, 0, 0, scatter_prepare, NULL, scatter_elements_infer, NULL,
     scatter_elements_run},
    {"ScatterElements", "", 11, 0, 0, scatter_prepare, NULL, scatter_elements_infer, NULL,
     scatter_elements_run},
    {"ScatterND", "", 11, 0, 0, scatter_prepare, NULL, scatternd_infer, NULL, scatternd_run},
    {"NonZero", "", 9, 0, BIT(0), NULL, NULL, nonzero_infer, NULL, nonzero_run},
    {"Trilu", "", 14, 0, 0, NULL, NULL, trilu_infer, NULL, trilu_run},
    {"OneHot", "", 9, 0, BIT(1), NULL, NULL, onehot_infer, NULL, onehot_run},
    {"Compress", "", 9, 0, BIT(1), NULL, NULL, compress_infer, NULL, compress_run},
    {0},
};
