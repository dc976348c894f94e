/* AVX-512 F SGEMM: 8x32 register tile (16 zmm accumulators), packed A and B
 * panels, cache blocking and a thread grid from kernels/gemm_driver.h.
 *
 * Per depth step the microkernel loads two B vectors and broadcasts 8 A
 * values, issuing 16 FMAs. (Measured on Zen 4: 6..12 rows run at the FMA
 * peak, 14 rows lose ~20%; 8 also divides the usual channel counts.) Tiles
 * at the matrix edges run a kernel specialised for their row count (1..8)
 * and column vectors (1..2), with masked loads/stores for partial columns,
 * so edge tiles cost what they compute. Either operand may be read in place
 * instead of from a packed panel (see gemm_driver.h).
 */
#include <immintrin.h>

#include "kernels/kernels.h"

#define GEMM_MR 8
#define GEMM_NR 32
#define GEMM_KC 256
#define GEMM_MC 192
#define GEMM_NC 1024
#include "kernels/gemm_driver.h"

/* R rows, NV column vectors of 16. AD: A read in place (row i at A + i * lda,
 * step 1 per depth) instead of a packed panel (step GEMM_MR). BD: B read in
 * place (row stride ldb, NV == 2, all 32 columns valid) instead of a packed
 * panel (row stride GEMM_NR). */
static inline __attribute__((always_inline)) void
ukernel_8x32(const int R, const int NV, const int AD, const int BD, int64_t kc,
             const float *restrict A, int64_t lda, const float *restrict B, int64_t ldb,
             float *restrict C, int64_t ldc, int nr, int mode, float beta)
{
    __m512 c0[GEMM_MR], c1[GEMM_MR];
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
        /* C rows are far apart (ldc): start fetching them while we compute. */
        _mm_prefetch((const char *)(C + i * ldc), _MM_HINT_T0);
        if (NV > 1)
            _mm_prefetch((const char *)(C + i * ldc + 16), _MM_HINT_T0);
    }
    const int64_t a_row = AD ? lda : 1, a_step = AD ? 1 : GEMM_MR;
    const int64_t b_step = BD ? ldb : GEMM_NR;
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0, b1;
        if (BD) {
            /* Rows of B are far apart: fetch ahead, further for short rows of work. */
            const int64_t ahead = (R >= 8 ? 6 : R >= 4 ? 12 : 24) * ldb;
            _mm_prefetch((const char *)(B + ahead), _MM_HINT_T0);
            _mm_prefetch((const char *)(B + ahead + 16), _MM_HINT_T0);
            b0 = _mm512_loadu_ps(B);
            b1 = _mm512_loadu_ps(B + 16);
        } else {
            b0 = _mm512_load_ps(B);
            b1 = NV > 1 ? _mm512_load_ps(B + 16) : b0;
        }
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            const __m512 a = _mm512_set1_ps(A[i * a_row]);
            c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
            if (NV > 1)
                c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
        }
        A += a_step;
        B += b_step;
    }
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    const __mmask16 m1 = nr >= 32  ? (__mmask16)0xFFFF
                         : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u)
                                   : (__mmask16)0;
    const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        float *c = C + i * ldc;
        __m512 r0 = c0[i];
        if (mode == GEMM_ACCUM)
            r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, c));
        else if (mode == GEMM_BETA)
            r0 = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m0, c), r0);
        _mm512_mask_storeu_ps(c, m0, r0);
        if (NV > 1) {
            __m512 r1 = c1[i];
            if (mode == GEMM_ACCUM)
                r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, c + 16));
            else if (mode == GEMM_BETA)
                r1 = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m1, c + 16), r1);
            _mm512_mask_storeu_ps(c + 16, m1, r1);
        }
    }
}

typedef void (*ukernel_fn)(int64_t kc, const float *A, int64_t lda, const float *B, int64_t ldb,
                           float *C, int64_t ldc, int nr, int mode, float beta);

/* odet_f32_gemm_ukernel_<rows>x<cols>[_<A><B>]__avx512: operands packed (p) or
 * read in place (d); no suffix = both packed. */
#define UKERNEL(NAME, R, NV, AD, BD)                                                               \
    static void NAME(int64_t kc, const float *A, int64_t lda, const float *B, int64_t ldb,         \
                     float *C, int64_t ldc, int nr, int mode, float beta)                          \
    {                                                                                              \
        ukernel_8x32(R, NV, AD, BD, kc, A, lda, B, ldb, C, ldc, nr, mode, beta);                   \
    }
#define UKERNELS(R)                                                                                \
    UKERNEL(odet_f32_gemm_ukernel_##R##x16__avx512, R, 1, 0, 0)                                    \
    UKERNEL(odet_f32_gemm_ukernel_##R##x32__avx512, R, 2, 0, 0)                                    \
    UKERNEL(odet_f32_gemm_ukernel_##R##x32_pd__avx512, R, 2, 0, 1)                                 \
    UKERNEL(odet_f32_gemm_ukernel_##R##x16_dp__avx512, R, 1, 1, 0)                                 \
    UKERNEL(odet_f32_gemm_ukernel_##R##x32_dp__avx512, R, 2, 1, 0)
UKERNELS(1)
UKERNELS(2)
UKERNELS(3)
UKERNELS(4)
UKERNELS(5)
UKERNELS(6)
UKERNELS(7)
UKERNELS(8)

/* [operand layout][rows][column vectors - 1]; the in-place B kernel exists
 * for full tiles (two vectors) only. */
/* clang-format off */
#define UK_ROW(R) \
    {{odet_f32_gemm_ukernel_##R##x16__avx512, odet_f32_gemm_ukernel_##R##x32__avx512}, \
     {0, odet_f32_gemm_ukernel_##R##x32_pd__avx512}, \
     {odet_f32_gemm_ukernel_##R##x16_dp__avx512, odet_f32_gemm_ukernel_##R##x32_dp__avx512}}
static const ukernel_fn ukernels[GEMM_MR + 1][3][2] = {
    {{0, 0}, {0, 0}, {0, 0}},
    UK_ROW(1), UK_ROW(2), UK_ROW(3), UK_ROW(4), UK_ROW(5), UK_ROW(6), UK_ROW(7), UK_ROW(8),
};
/* clang-format on */

static void gemm_ukernel(int layout, int mr, int nr, int64_t kc, const float *A, int64_t lda,
                         const float *B, int64_t ldb, float *C, int64_t ldc, int mode, float beta)
{
    ukernels[mr][layout][nr > GEMM_NR / 2](kc, A, lda, B, ldb, C, ldc, nr, mode, beta);
}

void odet_f32_gemm__avx512(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                           float *C, int64_t ldc, int threads)
{
    gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

static size_t odet_f32_gemm_packed_size__avx512(int64_t M, int64_t K)
{
    return gemm_packed_size(M, K);
}

static void odet_f32_gemm_pack_a__avx512(int trans_a, int64_t M, int64_t K, float alpha,
                                         const float *A, int64_t lda, void *packed, int threads)
{
    gemm_pack_a_all(trans_a, M, K, alpha, A, lda, packed, threads);
}

static void odet_f32_gemm_packed__avx512(int trans_b, int64_t M, int64_t N, int64_t K,
                                         const void *packed, const float *B, int64_t ldb,
                                         float beta, float *C, int64_t ldc, int threads)
{
    gemm_packed(trans_b, M, N, K, packed, B, ldb, beta, C, ldc, threads);
}

const odet_kernels odet_kernels_avx512 = {
    .isa = ODET_ISA_AVX512,
    .name = "avx512",
    .f32_gemm = odet_f32_gemm__avx512,
    .f32_gemm_packed_size = odet_f32_gemm_packed_size__avx512,
    .f32_gemm_pack_a = odet_f32_gemm_pack_a__avx512,
    .f32_gemm_packed = odet_f32_gemm_packed__avx512,
};
