/* Matrix products: MatMul (numpy matmul semantics), Gemm and MatMulInteger.
 *
 * float32 always goes through the dispatched SGEMM (odet_kernels_get()->f32_gemm)
 * so that optimized kernels serve every matmul-like op; double and the integer
 * types use plain loops (integers wrap around like two's complement). */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "ops/op.h"

/* Below this many multiply-adds per matrix, batches run in parallel (one
 * thread per GEMM) rather than one GEMM after the other with all threads. */
#define SMALL_GEMM_WORK ((int64_t)1 << 18)

/* ------------------------------------------------------------------------ */
/* numpy matmul shapes                                                        */
/* ------------------------------------------------------------------------ */

typedef struct mm_shape {
    int64_t M, N, K;
    int nb;                            /* output batch rank */
    int64_t bdims[ODET_MAX_RANK];      /* output batch dims */
    int64_t astr[ODET_MAX_RANK];       /* A's step per batch index, in elements; 0 = broadcast */
    int64_t bstr[ODET_MAX_RANK];
    int64_t batch;                     /* product of bdims */
    int a_batched;                     /* A has batch dims of size > 1 */
    int b_batched;
    int rank;                          /* output shape */
    int64_t dims[ODET_MAX_RANK];
} mm_shape;

/* Shapes of numpy matmul(a, b): 1-D operands are promoted (A to 1 x K, B to
 * K x 1) and the promoted dim removed from the result; batch dims broadcast. */
static odet_status mm_shape_of(const odet_op_ctx *ctx, const odet_tensor *a, const odet_tensor *b,
                               mm_shape *s)
{
    memset(s, 0, sizeof *s);
    if (a->rank < 1 || b->rank < 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "inputs must be at least 1-D, got ranks %d and %d", a->rank,
                            b->rank);
    int abr = a->rank >= 2 ? a->rank - 2 : 0, bbr = b->rank >= 2 ? b->rank - 2 : 0;
    s->M = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
    s->K = a->dims[a->rank - 1];
    int64_t kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
    s->N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    if (kb != s->K)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "inner dimensions differ: input 0 has %lld columns, input 1 has "
                            "%lld rows",
                            (long long)s->K, (long long)kb);
    int64_t a_mat = s->M * s->K, b_mat = s->K * s->N;
    int64_t astep = a_mat, bstep = b_mat;
    s->nb = abr > bbr ? abr : bbr;
    s->batch = 1;
    for (int i = s->nb - 1; i >= 0; i--) {
        int ia = i - (s->nb - abr), ib = i - (s->nb - bbr);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "batch dims cannot be broadcast: %lld vs %lld at batch axis %d",
                                (long long)da, (long long)db, i);
        s->bdims[i] = da == 1 ? db : da;
        s->astr[i] = da == 1 ? 0 : astep;
        s->bstr[i] = db == 1 ? 0 : bstep;
        if (da != 1)
            s->a_batched = 1;
        if (db != 1)
            s->b_batched = 1;
        astep *= da;
        bstep *= db;
        s->batch *= s->bdims[i];
    }
    s->rank = 0;
    for (int i = 0; i < s->nb; i++)
        s->dims[s->rank++] = s->bdims[i];
    if (a->rank >= 2)
        s->dims[s->rank++] = s->M;
    if (b->rank >= 2)
        s->dims[s->rank++] = s->N;
    return ODET_OK;
}

/* Element offsets of the A and B matrices of output batch b. */
static void mm_batch_offsets(const mm_shape *s, int64_t b, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, bo = 0;
    for (int i = s->nb - 1; i >= 0; i--) {
        int64_t idx = b % s->bdims[i];
        b /= s->bdims[i];
        a += idx * s->astr[i];
        bo += idx * s->bstr[i];
    }
    *oa = a;
    *ob = bo;
}

/* ------------------------------------------------------------------------ */
/* MatMul                                                                     */
/* ------------------------------------------------------------------------ */

static int mm_dtype_ok(odet_dtype t)
{
    return t == ODET_FLOAT || t == ODET_DOUBLE || t == ODET_INT32 || t == ODET_INT64 ||
           t == ODET_UINT32 || t == ODET_UINT64;
}

static odet_status matmul_infer(odet_op_ctx *ctx)
{
    const odet_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (!a || !b)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs two inputs");
    if (a->dtype != b->dtype)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input dtypes differ: %s vs %s",
                            odet_dtype_name(a->dtype), odet_dtype_name(b->dtype));
    if (!mm_dtype_ok(a->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(a->dtype));
    mm_shape s = {0};
    odet_status st = mm_shape_of(ctx, a, b, &s);
    if (st != ODET_OK)
        return st;
    odet_set_shape(ctx->out[0], a->dtype, s.rank, s.dims);
    return ODET_OK;
}

/* C[M,N] = A[M,K] * B[K,N] for one batch, plain loops; ACC is the arithmetic
 * type (unsigned for integers so overflow wraps instead of being undefined). */
#define DEF_MM_LOOP(SUF, T, ACC)                                                          \
    static void mm_loop_##SUF(const T *A, const T *B, T *C, int64_t M, int64_t N,          \
                              int64_t K)                                                   \
    {                                                                                      \
        for (int64_t i = 0; i < M; i++) {                                                  \
            T *c = C + i * N;                                                              \
            for (int64_t j = 0; j < N; j++)                                                \
                c[j] = 0;                                                                  \
            for (int64_t k = 0; k < K; k++) {                                              \
                ACC av = (ACC)A[i * K + k];                                                \
                const T *b = B + k * N;                                                    \
                for (int64_t j = 0; j < N; j++)                                            \
                    c[j] = (T)((ACC)c[j] + av * (ACC)b[j]);                                \
            }                                                                              \
        }                                                                                  \
    }

DEF_MM_LOOP(f64, double, double)
DEF_MM_LOOP(i32, int32_t, uint32_t)
DEF_MM_LOOP(i64, int64_t, uint64_t)
DEF_MM_LOOP(u32, uint32_t, uint32_t)
DEF_MM_LOOP(u64, uint64_t, uint64_t)

static void mm_run_f32(const mm_shape *s, const float *A, const float *B, float *C, int threads)
{
    const odet_kernels *kern = odet_kernels_get();
    int64_t M = s->M, N = s->N, K = s->K, mn = M * N;
    if (s->batch == 0 || mn == 0)
        return;
    if (K == 0) {
        memset(C, 0, (size_t)(s->batch * mn) * sizeof(float));
        return;
    }
    /* B shared by every batch and A contiguous: one GEMM with batch*M rows. */
    if (!s->b_batched) {
        kern->f32_gemm(0, 0, s->batch * M, N, K, 1.0f, A, K, B, N, 0.0f, C, N, threads);
        return;
    }
    if (s->batch > 1 && threads > 1 && M * N * K < SMALL_GEMM_WORK) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t b = 0; b < s->batch; b++) {
            int64_t oa, ob;
            mm_batch_offsets(s, b, &oa, &ob);
            kern->f32_gemm(0, 0, M, N, K, 1.0f, A + oa, K, B + ob, N, 0.0f, C + b * mn, N, 1);
        }
        return;
    }
    for (int64_t b = 0; b < s->batch; b++) {
        int64_t oa, ob;
        mm_batch_offsets(s, b, &oa, &ob);
        kern->f32_gemm(0, 0, M, N, K, 1.0f, A + oa, K, B + ob, N, 0.0f, C + b * mn, N, threads);
    }
}

#define MM_BATCHES(SUF, T)                                                                \
    do {                                                                                   \
        const T *A_ = (const T *)a->data, *B_ = (const T *)b->data;                        \
        T *C_ = (T *)y->data;                                                              \
        _Pragma("omp parallel for num_threads(ctx->threads) if (work > 65536)")            \
        for (int64_t bi = 0; bi < s.batch; bi++) {                                         \
            int64_t oa, ob;                                                                \
            mm_batch_offsets(&s, bi, &oa, &ob);                                            \
            mm_loop_##SUF(A_ + oa, B_ + ob, C_ + bi * s.M * s.N, s.M, s.N, s.K);           \
        }                                                                                  \
    } while (0)

static odet_status matmul_run(odet_op_ctx *ctx)
{
    const odet_tensor *a = ctx->in[0], *b = ctx->in[1];
    odet_tensor *y = ctx->out[0];
    mm_shape s = {0};
    odet_status st = mm_shape_of(ctx, a, b, &s);
    if (st != ODET_OK)
        return st;
    int64_t work = s.batch * s.M * s.N * s.K;
    switch (a->dtype) {
    case ODET_FLOAT:
        mm_run_f32(&s, (const float *)a->data, (const float *)b->data, (float *)y->data,
                   ctx->threads);
        break;
    case ODET_DOUBLE: MM_BATCHES(f64, double); break;
    case ODET_INT32: MM_BATCHES(i32, int32_t); break;
    case ODET_INT64: MM_BATCHES(i64, int64_t); break;
    case ODET_UINT32: MM_BATCHES(u32, uint32_t); break;
    case ODET_UINT64: MM_BATCHES(u64, uint64_t); break;
    default:
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(a->dtype));
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Gemm: Y = alpha * op(A) * op(B) + beta * C                                 */
/* ------------------------------------------------------------------------ */

typedef struct gemm_params {
    float alpha, beta;
    int trans_a, trans_b;
} gemm_params;

static odet_status gemm_prepare(odet_node *node, char *err, size_t errlen)
{
    gemm_params *p = calloc(1, sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->alpha = odet_attr_float(node, "alpha", 1.0f);
    p->beta = odet_attr_float(node, "beta", 1.0f);
    p->trans_a = odet_attr_int(node, "transA", 0) != 0;
    p->trans_b = odet_attr_int(node, "transB", 0) != 0;
    node->params = p;
    return ODET_OK;
}

/* Y's (M, N) and C's broadcast steps (0 along a broadcast axis). */
typedef struct gemm_shape {
    int64_t M, N, K;
    int64_t c_row, c_col; /* element steps of C per row / column of Y */
} gemm_shape;

static odet_status gemm_shape_of(const odet_op_ctx *ctx, gemm_shape *g)
{
    const gemm_params *p = ctx->params;
    const odet_tensor *a = ctx->in[0], *b = ctx->in[1];
    const odet_tensor *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (a->rank != 2)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 0 'A' must be rank 2, got rank %d",
                            a->rank);
    if (b->rank != 2)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 1 'B' must be rank 2, got rank %d",
                            b->rank);
    g->M = p->trans_a ? a->dims[1] : a->dims[0];
    g->K = p->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = p->trans_b ? b->dims[1] : b->dims[0];
    g->N = p->trans_b ? b->dims[0] : b->dims[1];
    if (kb != g->K)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "inner dimensions differ: op(A) is %lld x %lld, op(B) is %lld x %lld",
                            (long long)g->M, (long long)g->K, (long long)kb, (long long)g->N);
    g->c_row = g->c_col = 0;
    if (c) {
        int64_t cm = 1, cn = 1;
        if (c->rank == 2) {
            cm = c->dims[0];
            cn = c->dims[1];
        } else if (c->rank == 1) {
            cn = c->dims[0];
        } else if (c->rank != 0) {
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 2 'C' must be rank <= 2, got rank %d",
                                c->rank);
        }
        if ((cm != 1 && cm != g->M) || (cn != 1 && cn != g->N))
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "input 2 'C' of shape (%lld, %lld) cannot be broadcast to "
                                "(%lld, %lld)",
                                (long long)cm, (long long)cn, (long long)g->M, (long long)g->N);
        g->c_row = cm == 1 ? 0 : cn;
        g->c_col = cn == 1 ? 0 : 1;
    }
    return ODET_OK;
}

static odet_status gemm_infer(odet_op_ctx *ctx)
{
    const odet_tensor *a = ctx->in[0], *b = ctx->in[1];
    const odet_tensor *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!a || !b)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs inputs A and B");
    if (a->dtype != b->dtype || (c && c->dtype != a->dtype))
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "inputs must have one dtype, got %s, %s%s%s",
                            odet_dtype_name(a->dtype), odet_dtype_name(b->dtype),
                            c ? ", " : "", c ? odet_dtype_name(c->dtype) : "");
    if (!mm_dtype_ok(a->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED, "dtype %s is not supported",
                            odet_dtype_name(a->dtype));
    gemm_shape g = {0};
    odet_status st = gemm_shape_of(ctx, &g);
    if (st != ODET_OK)
        return st;
    int64_t dims[2] = {g.M, g.N};
    odet_set_shape(ctx->out[0], a->dtype, 2, dims);
    return ODET_OK;
}

/* Store v into element i of a tensor of a MatMul/Gemm dtype. */
static void store_f64(odet_tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case ODET_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case ODET_DOUBLE: ((double *)t->data)[i] = v; break;
    case ODET_INT32: ((int32_t *)t->data)[i] = (int32_t)v; break;
    case ODET_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
    case ODET_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
    case ODET_UINT64: ((uint64_t *)t->data)[i] = (uint64_t)v; break;
    default: break;
    }
}

/* Reference for the non-float32 dtypes, computed in double. */
static void gemm_run_generic(const odet_op_ctx *ctx, const gemm_shape *g)
{
    const gemm_params *p = ctx->params;
    const odet_tensor *a = ctx->in[0], *b = ctx->in[1];
    const odet_tensor *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
    odet_tensor *y = ctx->out[0];
    int64_t M = g->M, N = g->N, K = g->K;
#pragma omp parallel for num_threads(ctx->threads) if (M * N * K > 65536)
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; k++) {
                int64_t ia = p->trans_a ? k * M + i : i * K + k;
                int64_t ib = p->trans_b ? j * K + k : k * N + j;
                acc += odet_tensor_get_f64(a, ia) * odet_tensor_get_f64(b, ib);
            }
            double v = (double)p->alpha * acc;
            if (c)
                v += (double)p->beta * odet_tensor_get_f64(c, i * g->c_row + j * g->c_col);
            store_f64(y, i * N + j, v);
        }
    }
}

static odet_status gemm_run(odet_op_ctx *ctx)
{
    const gemm_params *p = ctx->params;
    const odet_tensor *a = ctx->in[0], *b = ctx->in[1];
    const odet_tensor *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
    gemm_shape g = {0};
    odet_status st = gemm_shape_of(ctx, &g);
    if (st != ODET_OK)
        return st;
    if (a->dtype != ODET_FLOAT) {
        gemm_run_generic(ctx, &g);
        return ODET_OK;
    }
    float *Y = (float *)ctx->out[0]->data;
    int64_t M = g.M, N = g.N, K = g.K;
    if (M == 0 || N == 0)
        return ODET_OK;
    float beta = 0.0f;
    if (c) {
        const float *C = (const float *)c->data;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                Y[i * N + j] = p->beta * C[i * g.c_row + j * g.c_col];
        beta = 1.0f;
    }
    if (K == 0) {
        if (!c)
            memset(Y, 0, (size_t)(M * N) * sizeof(float));
        return ODET_OK;
    }
    odet_kernels_get()->f32_gemm(p->trans_a, p->trans_b, M, N, K, p->alpha,
                                 (const float *)a->data, p->trans_a ? M : K,
                                 (const float *)b->data, p->trans_b ? K : N, beta, Y, N,
                                 ctx->threads);
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* MatMulInteger: int32 Y = (A - a_zero_point) * (B - b_zero_point)           */
/* ------------------------------------------------------------------------ */

static int is_8bit(odet_dtype t)
{
    return t == ODET_UINT8 || t == ODET_INT8;
}

static odet_status mmi_infer(odet_op_ctx *ctx)
{
    const odet_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (!a || !b)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "needs inputs A and B");
    if (!is_8bit(a->dtype) || !is_8bit(b->dtype))
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "inputs must be int8 or uint8, got %s and %s",
                            odet_dtype_name(a->dtype), odet_dtype_name(b->dtype));
    mm_shape s = {0};
    odet_status st = mm_shape_of(ctx, a, b, &s);
    if (st != ODET_OK)
        return st;
    for (int i = 2; i < 4 && i < ctx->n_in; i++) {
        const odet_tensor *z = ctx->in[i];
        if (!z)
            continue;
        const odet_tensor *x = i == 2 ? a : b;
        int64_t n = odet_tensor_numel(z), per = i == 2 ? s.M : s.N;
        if (z->dtype != x->dtype)
            return odet_op_fail(ctx, ODET_ERR_DTYPE, "input %d (zero point) must be %s, got %s",
                                i, odet_dtype_name(x->dtype), odet_dtype_name(z->dtype));
        if (n != 1 && (n != per || z->rank > 1))
            return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                                "input %d (zero point) must be a scalar or 1-D of size %lld",
                                i, (long long)per);
    }
    odet_set_shape(ctx->out[0], ODET_INT32, s.rank, s.dims);
    return ODET_OK;
}

static odet_status mmi_run(odet_op_ctx *ctx)
{
    const odet_tensor *a = ctx->in[0], *b = ctx->in[1];
    const odet_tensor *za = ctx->n_in > 2 ? ctx->in[2] : NULL;
    const odet_tensor *zb = ctx->n_in > 3 ? ctx->in[3] : NULL;
    mm_shape s = {0};
    odet_status st = mm_shape_of(ctx, a, b, &s);
    if (st != ODET_OK)
        return st;
    int32_t *Y = (int32_t *)ctx->out[0]->data;
    int64_t M = s.M, N = s.N, K = s.K;
    int za_rows = za && odet_tensor_numel(za) > 1, zb_cols = zb && odet_tensor_numel(zb) > 1;
#pragma omp parallel for num_threads(ctx->threads) if (s.batch * M * N * K > 65536)
    for (int64_t bi = 0; bi < s.batch; bi++) {
        int64_t oa, ob;
        mm_batch_offsets(&s, bi, &oa, &ob);
        for (int64_t i = 0; i < M; i++) {
            int32_t zai = za ? (int32_t)odet_tensor_get_i64(za, za_rows ? i : 0) : 0;
            for (int64_t j = 0; j < N; j++) {
                int32_t zbj = zb ? (int32_t)odet_tensor_get_i64(zb, zb_cols ? j : 0) : 0;
                uint32_t acc = 0;
                for (int64_t k = 0; k < K; k++) {
                    int32_t av = (int32_t)odet_tensor_get_i64(a, oa + i * K + k) - zai;
                    int32_t bv = (int32_t)odet_tensor_get_i64(b, ob + k * N + j) - zbj;
                    acc += (uint32_t)(av * bv);
                }
                Y[bi * M * N + i * N + j] = (int32_t)acc;
            }
        }
    }
    return ODET_OK;
}

const odet_op_def odet_ops_matmul[] = {
    {.op_type = "MatMul", .domain = "", .min_opset = 1, .infer = matmul_infer,
     .run = matmul_run},
    {.op_type = "Gemm", .domain = "", .min_opset = 1, .prepare = gemm_prepare,
     .infer = gemm_infer, .run = gemm_run},
    {.op_type = "MatMulInteger", .domain = "", .min_opset = 10, .infer = mmi_infer,
     .run = mmi_run},
    {0},
};
