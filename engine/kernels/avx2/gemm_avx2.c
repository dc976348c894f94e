/* AVX2 + FMA SGEMM: 6x16 register tile (12 ymm accumulators), packed A and B
 * panels, cache blocking and a thread grid from kernels/gemm_driver.h.
 *
 * Per depth step the microkernel loads two B vectors and broadcasts 6 A
 * values, issuing 12 FMAs. Edge tiles run a kernel specialised for their row
 * count (1..6) and column vectors (1..2), with masked loads/stores for
 * partial columns. Either operand may be read in place instead of from a
 * packed panel (see gemm_driver.h).
 */
#include <immintrin.h>

#include "kernels/kernels.h"

#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_KC 256
#define GEMM_MC 144
#define GEMM_NC 1024
#include "kernels/gemm_driver.h"

/* R rows, NV column vectors of 8. AD: A read in place (row i at A + i * lda,
 * step 1 per depth) instead of a packed panel (step GEMM_MR). BD: B read in
 * place (row stride ldb, NV == 2, all 16 columns valid) instead of a packed
 * panel (row stride GEMM_NR). */
static inline __attribute__((always_inline)) void
ukernel_6x16(const int R, const int NV, const int AD, const int BD, int64_t kc,
             const float *restrict A, int64_t lda, const float *restrict B, int64_t ldb,
             float *restrict C, int64_t ldc, int nr, int mode, float beta)
{
    __m256 c0[GEMM_MR], c1[GEMM_MR];
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
        c0[i] = _mm256_setzero_ps();
        c1[i] = _mm256_setzero_ps();
    }
    const int64_t a_row = AD ? lda : 1, a_step = AD ? 1 : GEMM_MR;
    const int64_t b_step = BD ? ldb : GEMM_NR;
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0, b1;
        if (BD) {
            /* Rows of B are far apart: fetch ahead, further for short rows of work. */
            _mm_prefetch((const char *)(B + (R >= 4 ? 8 : 24) * ldb), _MM_HINT_T0);
            b0 = _mm256_loadu_ps(B);
            b1 = _mm256_loadu_ps(B + 8);
        } else {
            b0 = _mm256_load_ps(B);
            b1 = NV > 1 ? _mm256_load_ps(B + 8) : b0;
        }
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            const __m256 a = _mm256_broadcast_ss(A + i * a_row);
            c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
            if (NV > 1)
                c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
        }
        A += a_step;
        B += b_step;
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
    const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
        float *c = C + i * ldc;
        __m256 r0 = c0[i];
        if (mode == GEMM_ACCUM)
            r0 = _mm256_add_ps(r0, _mm256_maskload_ps(c, m0));
        else if (mode == GEMM_BETA)
            r0 = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(c, m0), r0);
        _mm256_maskstore_ps(c, m0, r0);
        if (NV > 1) {
            __m256 r1 = c1[i];
            if (mode == GEMM_ACCUM)
                r1 = _mm256_add_ps(r1, _mm256_maskload_ps(c + 8, m1));
            else if (mode == GEMM_BETA)
                r1 = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(c + 8, m1), r1);
            _mm256_maskstore_ps(c + 8, m1, r1);
        }
    }
}

typedef void (*ukernel_fn)(int64_t kc, const float *A, int64_t lda, const float *B, int64_t ldb,
                           float *C, int64_t ldc, int nr, int mode, float beta);

/* odet_f32_gemm_ukernel_<rows>x<cols>[_<A><B>]__avx2: operands packed (p) or
 * read in place (d); no suffix = both packed. */
#define UKERNEL(NAME, R, NV, AD, BD)                                                               \
    static void NAME(int64_t kc, const float *A, int64_t lda, const float *B, int64_t ldb,         \
                     float *C, int64_t ldc, int nr, int mode, float beta)                          \
    {                                                                                              \
        ukernel_6x16(R, NV, AD, BD, kc, A, lda, B, ldb, C, ldc, nr, mode, beta);                   \
    }
#define UKERNELS(R)                                                                                \
    UKERNEL(odet_f32_gemm_ukernel_##R##x8__avx2, R, 1, 0, 0)                                       \
    UKERNEL(odet_f32_gemm_ukernel_##R##x16__avx2, R, 2, 0, 0)                                      \
    UKERNEL(odet_f32_gemm_ukernel_##R##x16_pd__avx2, R, 2, 0, 1)                                   \
    UKERNEL(odet_f32_gemm_ukernel_##R##x8_dp__avx2, R, 1, 1, 0)                                    \
    UKERNEL(odet_f32_gemm_ukernel_##R##x16_dp__avx2, R, 2, 1, 0)
UKERNELS(1)
UKERNELS(2)
UKERNELS(3)
UKERNELS(4)
UKERNELS(5)
UKERNELS(6)

/* [operand layout][rows][column vectors - 1]; the in-place B kernel exists
 * for full tiles (two vectors) only. */
/* clang-format off */
#define UK_ROW(R) \
    {{odet_f32_gemm_ukernel_##R##x8__avx2, odet_f32_gemm_ukernel_##R##x16__avx2}, \
     {0, odet_f32_gemm_ukernel_##R##x16_pd__avx2}, \
     {odet_f32_gemm_ukernel_##R##x8_dp__avx2, odet_f32_gemm_ukernel_##R##x16_dp__avx2}}
static const ukernel_fn ukernels[GEMM_MR + 1][3][2] = {
    {{0, 0}, {0, 0}, {0, 0}},
    UK_ROW(1), UK_ROW(2), UK_ROW(3), UK_ROW(4), UK_ROW(5), UK_ROW(6),
};
/* clang-format on */

static void gemm_ukernel(int layout, int mr, int nr, int64_t kc, const float *A, int64_t lda,
                         const float *B, int64_t ldb, float *C, int64_t ldc, int mode, float beta)
{
    ukernels[mr][layout][nr > GEMM_NR / 2](kc, A, lda, B, ldb, C, ldc, nr, mode, beta);
}

void odet_f32_gemm__avx2(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc, int threads)
{
    gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

static size_t odet_f32_gemm_packed_size__avx2(int64_t M, int64_t K)
{
    return gemm_packed_size(M, K);
}

static void odet_f32_gemm_pack_a__avx2(int trans_a, int64_t M, int64_t K, float alpha,
                                       const float *A, int64_t lda, void *packed, int threads)
{
    gemm_pack_a_all(trans_a, M, K, alpha, A, lda, packed, threads);
}

static void odet_f32_gemm_packed__avx2(int trans_b, int64_t M, int64_t N, int64_t K,
                                       const void *packed, const float *B, int64_t ldb, float beta,
                                       float *C, int64_t ldc, int threads)
{
    gemm_packed(trans_b, M, N, K, packed, B, ldb, beta, C, ldc, threads);
}

const odet_kernels odet_kernels_avx2 = {
    .isa = ODET_ISA_AVX2,
    .name = "avx2",
    .f32_gemm = odet_f32_gemm__avx2,
    .f32_gemm_packed_size = odet_f32_gemm_packed_size__avx2,
    .f32_gemm_pack_a = odet_f32_gemm_pack_a__avx2,
    .f32_gemm_packed = odet_f32_gemm_packed__avx2,
};
