/* Portable reference SGEMM: the oracle every optimized GEMM is tested against.
 * Straightforward loops ordered so that the innermost one is contiguous in C. */
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

const odet_kernels odet_kernels_scalar = {
    .isa = ODET_ISA_SCALAR,
    .name = "scalar",
    .f32_gemm = odet_f32_gemm__scalar,
    .f32_gemm_packed_size = odet_f32_gemm_packed_size__scalar,
    .f32_gemm_pack_a = odet_f32_gemm_pack_a__scalar,
    .f32_gemm_packed = odet_f32_gemm_packed__scalar,
};
