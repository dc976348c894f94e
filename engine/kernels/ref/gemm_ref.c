/* Portable reference SGEMM: the oracle every optimized GEMM is tested against.
 * Straightforward loops ordered so that the innermost one is contiguous in C. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <threads.h>

#include "kernels/im2col.h"
#include "kernels/kernels.h"

static inline float at(const float *X, int64_t ld, int trans, int64_t r, int64_t c)
{
    return trans ? X[c * ld + r] : X[r * ld + c];
}

void odet_f32_gemm__scalar(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                           float *C, int64_t ldc, int threads)
{
#pragma omp parallel for num_threads(threads) if (M * N * K > 65536) schedule(static)
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) {
            for (int64_t j = 0; j < N; j++)
                c[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (int64_t j = 0; j < N; j++)
                c[j] *= beta;
        }
        for (int64_t k = 0; k < K; k++) {
            float a = alpha * at(A, lda, trans_a, i, k);
            if (!trans_b) {
                const float *b = B + k * ldb;
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * b[j];
            } else {
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * B[j * ldb + k];
            }
        }
    }
}

/* Packed form for the reference: alpha * op(A), row-major M x K. */
static size_t odet_f32_gemm_packed_size__scalar(int64_t M, int64_t K)
{
    return ((size_t)(M * K) * sizeof(float) + 63) / 64 * 64;
}

static void odet_f32_gemm_pack_a__scalar(int trans_a, int64_t M, int64_t K, float alpha,
                                         const float *A, int64_t lda, void *packed, int threads)
{
    (void)threads;
    float *P = packed;
    for (int64_t i = 0; i < M; i++)
        for (int64_t k = 0; k < K; k++)
            P[i * K + k] = alpha * at(A, lda, trans_a, i, k);
}

static void odet_f32_gemm_packed__scalar(int trans_b, int64_t M, int64_t N, int64_t K,
                                         const void *packed, const float *B, int64_t ldb,
                                         float beta, float *C, int64_t ldc, int threads)
{
    odet_f32_gemm__scalar(0, trans_b, M, N, K, 1.0f, packed, K, B, ldb, beta, C, ldc, threads);
}

/* ---- fork / join without spinning ----
 * Tasks are taken from an atomic counter, so whichever threads the OS runs do
 * the work. The caller joins the extra threads at the end: a thread that had
 * not started yet then runs on the caller's now idle core, finds no task and
 * exits at once. */
#define PAR_MAX_THREADS 64

typedef struct par_job {
    odet_task_fn fn;
    void *ctx;
    int64_t ntasks;
    atomic_llong next; /* next task to take */
    atomic_int slot;   /* next worker slot for an extra thread */
} par_job;

static void par_work(par_job *j, int worker)
{
    for (;;) {
        const int64_t t = atomic_fetch_add(&j->next, 1);
        if (t >= j->ntasks)
            return;
        j->fn(j->ctx, t, worker);
    }
}

static int par_thread(void *arg)
{
    par_job *j = arg;
    par_work(j, atomic_fetch_add(&j->slot, 1));
    return 0;
}

void odet_parallel_for(int threads, int64_t ntasks, odet_task_fn fn, void *ctx)
{
    if (ntasks <= 0)
        return;
    if (threads > PAR_MAX_THREADS)
        threads = PAR_MAX_THREADS;
    const int extra = (int)(threads - 1 < ntasks - 1 ? threads - 1 : ntasks - 1);
    par_job j = {.fn = fn, .ctx = ctx, .ntasks = ntasks};
    atomic_init(&j.next, 0);
    atomic_init(&j.slot, 1);
    thrd_t th[PAR_MAX_THREADS];
    int started = 0;
    for (int h = 0; h < extra; h++)
        if (thrd_create(&th[started], par_thread, &j) == thrd_success)
            started++;
    par_work(&j, 0);
    for (int h = 0; h < started; h++)
        thrd_join(th[h], NULL);
}

float odet_f32_act(float x, odet_act act, float a, float b)
{
    switch (act) {
    case ODET_ACT_RELU:
        return x < 0.0f ? 0.0f : x;
    case ODET_ACT_LEAKY_RELU:
        return x < 0.0f ? a * x : x;
    case ODET_ACT_CLIP:
        return x < a ? a : (x > b ? b : x);
    case ODET_ACT_SIGMOID:
        return (float)(1.0 / (1.0 + exp(-(double)x)));
    case ODET_ACT_HARD_SIGMOID: {
        float t = a * x + b;
        return t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    }
    case ODET_ACT_HARD_SWISH: {
        float t = x / 6.0f + 0.5f;
        return x * (t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t));
    }
    case ODET_ACT_SILU:
        return (float)((double)x / (1.0 + exp(-(double)x)));
    default:
        return x;
    }
}

int odet_act_from_name(const char *name, odet_act *out)
{
    static const struct {
        const char *name;
        odet_act act;
    } names[] = {
        {"Relu", ODET_ACT_RELU},       {"LeakyRelu", ODET_ACT_LEAKY_RELU},
        {"Clip", ODET_ACT_CLIP},       {"Sigmoid", ODET_ACT_SIGMOID},
        {"HardSigmoid", ODET_ACT_HARD_SIGMOID}, {"HardSwish", ODET_ACT_HARD_SWISH},
        {"Silu", ODET_ACT_SILU},
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].act;
            return 0;
        }
    return -1;
}

static void odet_f32_bias_act__scalar(float *x, int64_t n, float bias, odet_act act, float a,
                                      float b)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = odet_f32_act(x[i] + bias, act, a, b);
}

static size_t odet_f32_gemm_ws_size__scalar(int64_t M, int64_t N, int64_t K, int threads)
{
    (void)M;
    (void)N;
    (void)K;
    (void)threads;
    return 64;
}

static void odet_f32_gemm_ws__scalar(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                     float alpha, const float *A, int64_t lda, const float *B,
                                     int64_t ldb, float beta, float *C, int64_t ldc, int threads,
                                     void *ws)
{
    (void)ws;
    odet_f32_gemm__scalar(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                          threads);
}

/* The reference packed-ex product goes column panel by column panel and
 * depth chunk by depth chunk: op(B) rows [k0, k0 + kc) x REF_NR columns are
 * gathered into a stack panel (from the producer or the matrix), plain loops
 * accumulate into C and the last chunk applies the epilogue. No workspace. */
#define REF_NR 16
#define REF_KC 128

static size_t odet_f32_gemm_packed_ex_ws__scalar(int64_t M, int64_t N, int64_t K, int threads)
{
    (void)M;
    (void)N;
    (void)K;
    (void)threads;
    return 64;
}

static void ref_panel(int64_t M, int64_t K, const float *A, const odet_f32_bsrc *src, int64_t j0,
                      int64_t nr, float *C, int64_t ldc, const odet_f32_epilogue *ep)
{
    float panel[REF_KC * REF_NR];
    for (int64_t k0 = 0; k0 < K; k0 += REF_KC) {
        const int64_t kc = K - k0 < REF_KC ? K - k0 : REF_KC;
        if (src->conv) {
            odet_im2col_pack(src->conv, k0, kc, j0, nr, REF_NR, panel);
        } else if (src->pack) {
            src->pack(src->ctx, k0, kc, j0, nr, REF_NR, panel);
        } else {
            for (int64_t k = 0; k < kc; k++)
                for (int64_t j = 0; j < REF_NR; j++)
                    panel[k * REF_NR + j] =
                        j >= nr ? 0.0f
                                : (src->trans ? src->B[(j0 + j) * src->ldb + k0 + k]
                                              : src->B[(k0 + k) * src->ldb + j0 + j]);
        }
        const int last = k0 + kc >= K;
        for (int64_t i = 0; i < M; i++) {
            float acc[REF_NR] = {0};
            for (int64_t k = 0; k < kc; k++) {
                const float a = A[i * K + k0 + k];
                for (int64_t j = 0; j < REF_NR; j++)
                    acc[j] += a * panel[k * REF_NR + j];
            }
            float *c = C + i * ldc + j0;
            for (int64_t j = 0; j < nr; j++) {
                float v = k0 ? c[j] + acc[j] : acc[j];
                if (last && ep) {
                    if (ep->bias)
                        v += ep->bias[i];
                    if (ep->residual)
                        v += ep->residual[i * ep->ldr + j0 + j];
                    v = odet_f32_act(v, ep->act, ep->a, ep->b);
                }
                c[j] = v;
            }
        }
    }
    if (K <= 0)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < nr; j++) {
                float v = 0.0f;
                if (ep && ep->bias)
                    v += ep->bias[i];
                if (ep && ep->residual)
                    v += ep->residual[i * ep->ldr + j0 + j];
                C[i * ldc + j0 + j] = ep ? odet_f32_act(v, ep->act, ep->a, ep->b) : v;
            }
}

static void odet_f32_gemm_packed_ex__scalar(int64_t M, int64_t N, int64_t K, const void *packed,
                                            const odet_f32_bsrc *B, float *C, int64_t ldc,
                                            const odet_f32_epilogue *ep, void *ws, int threads)
{
    (void)ws;
    if (M <= 0 || N <= 0)
        return;
    const int64_t panels = (N + REF_NR - 1) / REF_NR;
#pragma omp parallel for num_threads(threads) if (threads > 1 && M * N * K > 65536) \
    schedule(dynamic, 1)
    for (int64_t p = 0; p < panels; p++) {
        const int64_t j0 = p * REF_NR, nr = N - j0 < REF_NR ? N - j0 : REF_NR;
        ref_panel(M, K, packed, B, j0, nr, C, ldc, ep);
    }
}

const odet_kernels odet_kernels_scalar = {
    .isa = ODET_ISA_SCALAR,
    .name = "scalar",
    .f32_gemm = odet_f32_gemm__scalar,
    .f32_gemm_packed_size = odet_f32_gemm_packed_size__scalar,
    .f32_gemm_pack_a = odet_f32_gemm_pack_a__scalar,
    .f32_gemm_packed = odet_f32_gemm_packed__scalar,
    .f32_gemm_ws_size = odet_f32_gemm_ws_size__scalar,
    .f32_gemm_ws = odet_f32_gemm_ws__scalar,
    .f32_gemm_packed_ex_ws = odet_f32_gemm_packed_ex_ws__scalar,
    .f32_gemm_packed_ex = odet_f32_gemm_packed_ex__scalar,
    .f32_bias_act = odet_f32_bias_act__scalar,
};
