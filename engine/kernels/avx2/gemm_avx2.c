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

/* exp(x) for float lanes: Cephes' expf polynomial on x - n ln 2, times 2^n
 * built in the exponent field (x clamped so that 2^n stays a normal float). */
static inline __m256 exp_avx2(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline __m256 sigmoid_avx2(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

/* The activations of odet_act on 8 lanes (see kernels.h). */
static inline __m256 act_avx2(__m256 x, int act, float a, float b)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (act) {
    case ODET_ACT_RELU:
        return _mm256_max_ps(x, zero);
    case ODET_ACT_LEAKY_RELU:
        return _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(a)),
                                _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    case ODET_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(a)), _mm256_set1_ps(b));
    case ODET_ACT_SIGMOID:
        return sigmoid_avx2(x);
    case ODET_ACT_HARD_SIGMOID:
        return _mm256_min_ps(
            _mm256_max_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(a), _mm256_set1_ps(b)), zero), one);
    case ODET_ACT_HARD_SWISH: {
        __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
        return _mm256_mul_ps(x, _mm256_min_ps(_mm256_max_ps(t, zero), one));
    }
    case ODET_ACT_SILU:
        return _mm256_mul_ps(x, sigmoid_avx2(x));
    default:
        return x;
    }
}

/* Final value of one 8-lane piece of row i: bias, residual, activation. */
static inline __m256 epi_avx2(__m256 r, const gemm_epi *e, int i, int col, __m256i m)
{
    if (e->bias)
        r = _mm256_add_ps(r, _mm256_set1_ps(e->bias[i]));
    if (e->res)
        r = _mm256_add_ps(r, _mm256_maskload_ps(e->res + i * e->ldr + col, m));
    return act_avx2(r, e->act, e->a, e->b);
}

static void odet_f32_bias_act__avx2(float *x, int64_t n, float bias, odet_act act, float a,
                                    float b);

static void gemm_act_inplace(float *x, int64_t n, int act, float a, float b)
{
    odet_f32_bias_act__avx2(x, n, 0.0f, (odet_act)act, a, b);
}

static void odet_f32_bias_act__avx2(float *x, int64_t n, float bias, odet_act act, float a,
                                    float b)
{
    const __m256 vb = _mm256_set1_ps(bias);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i,
                         act_avx2(_mm256_add_ps(_mm256_loadu_ps(x + i), vb), (int)act, a, b));
    if (i < n) {
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)),
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        _mm256_maskstore_ps(
            x + i, m, act_avx2(_mm256_add_ps(_mm256_maskload_ps(x + i, m), vb), (int)act, a, b));
    }
}

/* ---- Winograd row access (see gemm_driver.h), 8 tiles per vector: plain loops. */

static void wino_load_rows(const float *r, int64_t stride, unsigned rows, int lo, int hi,
                           void *vd, const int nu, const int nq)
{
    float(*d)[8] = vd;
    for (int u = 0; u < nu; u++)
        for (int q = 0; q < nq; q++)
            for (int l = 0; l < 8; l++) {
                const int c = 4 * l + q;
                d[nq * u + q][l] = (rows >> u & 1u) && c >= lo && c < hi ? r[u * stride + c] : 0.0f;
            }
}

static void wino_load6(const float *r, int64_t stride, unsigned rows, int lo, int hi, void *d)
{
    wino_load_rows(r, stride, rows, lo, hi, d, 6, 6);
}

static void wino_load4(const float *r, int64_t stride, unsigned rows, int lo, int hi, void *d)
{
    wino_load_rows(r, stride, rows, lo, hi, d, 4, 4);
}

static void wino_store4(float *r, int64_t stride, unsigned rows, int lo, int hi, const void *vd)
{
    const float(*d)[8] = vd;
    for (int u = 0; u < 4; u++)
        if (rows >> u & 1u)
            for (int q = 0; q < 4; q++)
                for (int l = 0; l < 8; l++) {
                    const int c = 4 * l + q;
                    if (c >= lo && c < hi)
                        r[u * stride + c] = d[4 * u + q][l];
                }
}

/* R rows, NV column vectors of 8. AD: A read in place (row i at A + i * lda,
 * step 1 per depth) instead of a packed panel (step GEMM_MR). BD: B read in
 * place (row stride ldb, NV == 2, all 16 columns valid) instead of a packed
 * panel (row stride GEMM_NR). */
static inline __attribute__((always_inline)) void
ukernel_6x16(const int R, const int NV, const int AD, const int BD, int64_t kc,
             const float *restrict A, int64_t lda, const float *restrict B, int64_t ldb,
             float *restrict C, int64_t ldc, int nr, int mode, float beta, const gemm_epi *e)
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
        if (e)
            r0 = epi_avx2(r0, e, i, 0, m0);
        _mm256_maskstore_ps(c, m0, r0);
        if (NV > 1) {
            __m256 r1 = c1[i];
            if (mode == GEMM_ACCUM)
                r1 = _mm256_add_ps(r1, _mm256_maskload_ps(c + 8, m1));
            else if (mode == GEMM_BETA)
                r1 = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(c + 8, m1), r1);
            if (e)
                r1 = epi_avx2(r1, e, i, 8, m1);
            _mm256_maskstore_ps(c + 8, m1, r1);
        }
    }
}

typedef void (*ukernel_fn)(int64_t kc, const float *A, int64_t lda, const float *B, int64_t ldb,
                           float *C, int64_t ldc, int nr, int mode, float beta, const gemm_epi *e);

/* odet_f32_gemm_ukernel_<rows>x<cols>[_<A><B>]__avx2: operands packed (p) or
 * read in place (d); no suffix = both packed. */
#define UKERNEL(NAME, R, NV, AD, BD)                                                               \
    static void NAME(int64_t kc, const float *A, int64_t lda, const float *B, int64_t ldb,         \
                     float *C, int64_t ldc, int nr, int mode, float beta, const gemm_epi *e)       \
    {                                                                                              \
        ukernel_6x16(R, NV, AD, BD, kc, A, lda, B, ldb, C, ldc, nr, mode, beta, e);                \
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
                         const float *B, int64_t ldb, float *C, int64_t ldc, int mode, float beta,
                         const gemm_epi *e)
{
    ukernels[mr][layout][nr > GEMM_NR / 2](kc, A, lda, B, ldb, C, ldc, nr, mode, beta, e);
}

void odet_f32_gemm__avx2(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc, int threads)
{
    gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads, NULL);
}

static size_t odet_f32_gemm_ws_size__avx2(int64_t M, int64_t N, int64_t K, int threads)
{
    return gemm_ws_size(M, N, K, threads);
}

static void odet_f32_gemm_ws__avx2(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                   float alpha, const float *A, int64_t lda, const float *B,
                                   int64_t ldb, float beta, float *C, int64_t ldc, int threads,
                                   void *ws)
{
    gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads, ws);
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

static size_t odet_f32_gemm_packed_ex_ws__avx2(int64_t M, int64_t N, int64_t K, int threads)
{
    return gemm_packed_ex_ws(M, N, K, threads);
}

static void odet_f32_gemm_packed_ex__avx2(int64_t M, int64_t N, int64_t K, const void *packed,
                                          const odet_f32_bsrc *B, float *C, int64_t ldc,
                                          const odet_f32_epilogue *ep, void *ws, int threads)
{
    gemm_packed_ex(M, N, K, packed, B, C, ldc, ep, ws, threads);
}

static size_t odet_f32_wino43_packed_size__avx2(int64_t M, int64_t C)
{
    return wino_packed_size(M, C);
}

static void odet_f32_wino43_pack__avx2(int64_t M, int64_t C, const float *w, void *packed,
                                     float *tmp)
{
    wino_pack(M, C, w, packed, tmp);
}

static size_t odet_f32_wino43_ws__avx2(int64_t M, int64_t C, int64_t OH, int64_t OW, int threads)
{
    return wino_ws(M, C, OH, OW, threads);
}

static int odet_f32_wino43_conv__avx2(int64_t M, int64_t C, const float *x, int64_t H, int64_t W,
                                    int64_t pad_t, int64_t pad_l, int64_t OH, int64_t OW,
                                    const void *packed, float *y, const odet_f32_epilogue *ep,
                                    void *ws, int threads)
{
    return wino_conv(M, C, x, H, W, pad_t, pad_l, OH, OW, packed, y, ep, ws, threads);
}

const odet_kernels odet_kernels_avx2 = {
    .isa = ODET_ISA_AVX2,
    .name = "avx2",
    .f32_gemm = odet_f32_gemm__avx2,
    .f32_gemm_packed_size = odet_f32_gemm_packed_size__avx2,
    .f32_gemm_pack_a = odet_f32_gemm_pack_a__avx2,
    .f32_gemm_packed = odet_f32_gemm_packed__avx2,
    .f32_gemm_ws_size = odet_f32_gemm_ws_size__avx2,
    .f32_gemm_ws = odet_f32_gemm_ws__avx2,
    .f32_gemm_packed_ex_ws = odet_f32_gemm_packed_ex_ws__avx2,
    .f32_gemm_packed_ex = odet_f32_gemm_packed_ex__avx2,
    .f32_bias_act = odet_f32_bias_act__avx2,
    .f32_wino43_packed_size = odet_f32_wino43_packed_size__avx2,
    .f32_wino43_pack = odet_f32_wino43_pack__avx2,
    .f32_wino43_ws = odet_f32_wino43_ws__avx2,
    .f32_wino43_conv = odet_f32_wino43_conv__avx2,
};
