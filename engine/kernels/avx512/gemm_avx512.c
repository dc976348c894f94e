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

/* exp(x) for float lanes: Cephes' expf polynomial on x - n ln 2 (|r| <= ln 2 / 2),
 * scaled by 2^n with VSCALEFPS (which also gives 0 / inf at the extremes). */
static inline __m512 exp_avx512(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

static inline __m512 sigmoid_avx512(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(one, _mm512_add_ps(one, e));
}

/* The activations of odet_act on 16 lanes (see kernels.h). */
static inline __m512 act_avx512(__m512 x, int act, float a, float b)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case ODET_ACT_RELU:
        return _mm512_max_ps(x, zero);
    case ODET_ACT_LEAKY_RELU:
        return _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x,
                                  _mm512_set1_ps(a));
    case ODET_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(a)), _mm512_set1_ps(b));
    case ODET_ACT_SIGMOID:
        return sigmoid_avx512(x);
    case ODET_ACT_HARD_SIGMOID:
        return _mm512_min_ps(
            _mm512_max_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(a), _mm512_set1_ps(b)), zero), one);
    case ODET_ACT_HARD_SWISH: {
        __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
        return _mm512_mul_ps(x, _mm512_min_ps(_mm512_max_ps(t, zero), one));
    }
    case ODET_ACT_SILU:
        return _mm512_mul_ps(x, sigmoid_avx512(x));
    default:
        return x;
    }
}

/* Final value of one 16-lane piece of row i: bias, residual, activation. */
static inline __m512 epi_avx512(__m512 r, const gemm_epi *e, int i, int col, __mmask16 m)
{
    if (e->bias)
        r = _mm512_add_ps(r, _mm512_set1_ps(e->bias[i]));
    if (e->res)
        r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, e->res + i * e->ldr + col));
    return act_avx512(r, e->act, e->a, e->b);
}

static void odet_f32_bias_act__avx512(float *x, int64_t n, float bias, odet_act act, float a,
                                    float b);

static void gemm_act_inplace(float *x, int64_t n, int act, float a, float b)
{
    odet_f32_bias_act__avx512(x, n, 0.0f, (odet_act)act, a, b);
}

static void odet_f32_bias_act__avx512(float *x, int64_t n, float bias, odet_act act, float a,
                                      float b)
{
    const __m512 vb = _mm512_set1_ps(bias);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i,
                         act_avx512(_mm512_add_ps(_mm512_loadu_ps(x + i), vb), (int)act, a, b));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i), vb);
        _mm512_mask_storeu_ps(x + i, m, act_avx512(v, (int)act, a, b));
    }
}

/* ---- Winograd row access (see gemm_driver.h): 16 tiles per vector, whose
 * windows start every 4 columns, de/interleaved with two-source permutes. */

/* Bits j of a 16-lane vector at column `off` with lo <= off + j < hi. */
static inline __mmask16 wino_mask(int lo, int hi, int off)
{
    int a = lo - off, b = hi - off;
    if (a < 0)
        a = 0;
    if (b > 16)
        b = 16;
    return b <= a ? (__mmask16)0 : (__mmask16)(((1u << (b - a)) - 1u) << a);
}

/* Elements 4 l + q (l < 16) of the 64 floats v0 | v1 | v2 | v3 (idx = 4 l + q). */
static inline __m512 wino_pick4(__m512 v0, __m512 v1, __m512 v2, __m512 v3, __m512i idx)
{
    const __m512 x = _mm512_permutex2var_ps(v0, idx, v1), y = _mm512_permutex2var_ps(v2, idx, v3);
    return _mm512_shuffle_f32x4(x, y, 0x44);
}

static void wino_load_rows(const float *r, int64_t stride, unsigned rows, int lo, int hi,
                           void *vd, const int nu, const int nq)
{
    __m512 *d = vd;
    const __m512i idx =
        _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    __mmask16 mv[4], ms[4];
    for (int k = 0; k < 4; k++) {
        mv[k] = wino_mask(lo, hi, 16 * k);
        ms[k] = wino_mask(lo, hi, 4 + 16 * k);
    }
    for (int u = 0; u < nu; u++) {
        if (!(rows >> u & 1u)) {
            for (int q = 0; q < nq; q++)
                d[nq * u + q] = _mm512_setzero_ps();
            continue;
        }
        const float *ru = r + u * stride;
        const __m512 v0 = _mm512_maskz_loadu_ps(mv[0], ru),
                     v1 = _mm512_maskz_loadu_ps(mv[1], ru + 16),
                     v2 = _mm512_maskz_loadu_ps(mv[2], ru + 32),
                     v3 = _mm512_maskz_loadu_ps(mv[3], ru + 48);
        for (int q = 0; q < 4; q++)
            d[nq * u + q] = wino_pick4(v0, v1, v2, v3, _mm512_add_epi32(idx, _mm512_set1_epi32(q)));
        if (nq > 4) {
            const __m512 s0 = _mm512_maskz_loadu_ps(ms[0], ru + 4),
                         s1 = _mm512_maskz_loadu_ps(ms[1], ru + 20),
                         s2 = _mm512_maskz_loadu_ps(ms[2], ru + 36),
                         s3 = _mm512_maskz_loadu_ps(ms[3], ru + 52);
            d[nq * u + 4] = wino_pick4(s0, s1, s2, s3, idx);
            d[nq * u + 5] = wino_pick4(s0, s1, s2, s3, _mm512_add_epi32(idx, _mm512_set1_epi32(1)));
        }
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
    const __m512 *d = vd;
    __mmask16 mk[4];
    for (int k = 0; k < 4; k++)
        mk[k] = wino_mask(lo, hi, 16 * k);
    for (int u = 0; u < 4; u++) {
        if (!(rows >> u & 1u))
            continue;
        const __m512 o0 = d[4 * u], o1 = d[4 * u + 1], o2 = d[4 * u + 2], o3 = d[4 * u + 3];
        const __m512 t0 = _mm512_unpacklo_ps(o0, o1), t1 = _mm512_unpackhi_ps(o0, o1);
        const __m512 t2 = _mm512_unpacklo_ps(o2, o3), t3 = _mm512_unpackhi_ps(o2, o3);
        /* u_i: 128-bit lane k holds the 4 values of tile 4 k + i */
        const __m512 u0 = _mm512_shuffle_ps(t0, t2, 0x44), u1 = _mm512_shuffle_ps(t0, t2, 0xEE);
        const __m512 u2 = _mm512_shuffle_ps(t1, t3, 0x44), u3 = _mm512_shuffle_ps(t1, t3, 0xEE);
        const __m512 w0 = _mm512_shuffle_f32x4(u0, u1, 0x44);
        const __m512 w1 = _mm512_shuffle_f32x4(u2, u3, 0x44);
        const __m512 w2 = _mm512_shuffle_f32x4(u0, u1, 0xEE);
        const __m512 w3 = _mm512_shuffle_f32x4(u2, u3, 0xEE);
        float *ru = r + u * stride;
        _mm512_mask_storeu_ps(ru, mk[0], _mm512_shuffle_f32x4(w0, w1, 0x88));
        _mm512_mask_storeu_ps(ru + 16, mk[1], _mm512_shuffle_f32x4(w0, w1, 0xDD));
        _mm512_mask_storeu_ps(ru + 32, mk[2], _mm512_shuffle_f32x4(w2, w3, 0x88));
        _mm512_mask_storeu_ps(ru + 48, mk[3], _mm512_shuffle_f32x4(w2, w3, 0xDD));
    }
}

/* R rows, NV column vectors of 16. AD: A read in place (row i at A + i * lda,
 * step 1 per depth) instead of a packed panel (step GEMM_MR). BD: B read in
 * place (row stride ldb, NV == 2, all 32 columns valid) instead of a packed
 * panel (row stride GEMM_NR). */
static inline __attribute__((always_inline)) void
ukernel_8x32(const int R, const int NV, const int AD, const int BD, int64_t kc,
             const float *restrict A, int64_t lda, const float *restrict B, int64_t ldb,
             float *restrict C, int64_t ldc, int nr, int mode, float beta, const gemm_epi *e)
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
        if (e)
            r0 = epi_avx512(r0, e, i, 0, m0);
        _mm512_mask_storeu_ps(c, m0, r0);
        if (NV > 1) {
            __m512 r1 = c1[i];
            if (mode == GEMM_ACCUM)
                r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, c + 16));
            else if (mode == GEMM_BETA)
                r1 = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m1, c + 16), r1);
            if (e)
                r1 = epi_avx512(r1, e, i, 16, m1);
            _mm512_mask_storeu_ps(c + 16, m1, r1);
        }
    }
}

typedef void (*ukernel_fn)(int64_t kc, const float *A, int64_t lda, const float *B, int64_t ldb,
                           float *C, int64_t ldc, int nr, int mode, float beta, const gemm_epi *e);

/* odet_f32_gemm_ukernel_<rows>x<cols>[_<A><B>]__avx512: operands packed (p) or
 * read in place (d); no suffix = both packed. */
#define UKERNEL(NAME, R, NV, AD, BD)                                                               \
    static void NAME(int64_t kc, const float *A, int64_t lda, const float *B, int64_t ldb,         \
                     float *C, int64_t ldc, int nr, int mode, float beta, const gemm_epi *e)       \
    {                                                                                              \
        ukernel_8x32(R, NV, AD, BD, kc, A, lda, B, ldb, C, ldc, nr, mode, beta, e);                \
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
                         const float *B, int64_t ldb, float *C, int64_t ldc, int mode, float beta,
                         const gemm_epi *e)
{
    ukernels[mr][layout][nr > GEMM_NR / 2](kc, A, lda, B, ldb, C, ldc, nr, mode, beta, e);
}

void odet_f32_gemm__avx512(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                           float *C, int64_t ldc, int threads)
{
    gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads, NULL);
}

static size_t odet_f32_gemm_ws_size__avx512(int64_t M, int64_t N, int64_t K, int threads)
{
    return gemm_ws_size(M, N, K, threads);
}

static void odet_f32_gemm_ws__avx512(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                     float alpha, const float *A, int64_t lda, const float *B,
                                     int64_t ldb, float beta, float *C, int64_t ldc, int threads,
                                     void *ws)
{
    gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads, ws);
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

static size_t odet_f32_gemm_packed_ex_ws__avx512(int64_t M, int64_t N, int64_t K, int threads)
{
    return gemm_packed_ex_ws(M, N, K, threads);
}

static void odet_f32_gemm_packed_ex__avx512(int64_t M, int64_t N, int64_t K, const void *packed,
                                            const odet_f32_bsrc *B, float *C, int64_t ldc,
                                            const odet_f32_epilogue *ep, void *ws, int threads)
{
    gemm_packed_ex(M, N, K, packed, B, C, ldc, ep, ws, threads);
}

static size_t odet_f32_wino43_packed_size__avx512(int64_t M, int64_t C)
{
    return wino_packed_size(M, C);
}

static void odet_f32_wino43_pack__avx512(int64_t M, int64_t C, const float *w, void *packed,
                                     float *tmp)
{
    wino_pack(M, C, w, packed, tmp);
}

static size_t odet_f32_wino43_ws__avx512(int64_t M, int64_t C, int64_t OH, int64_t OW, int threads)
{
    return wino_ws(M, C, OH, OW, threads);
}

static int odet_f32_wino43_conv__avx512(int64_t M, int64_t C, const float *x, int64_t H, int64_t W,
                                    int64_t pad_t, int64_t pad_l, int64_t OH, int64_t OW,
                                    const void *packed, float *y, const odet_f32_epilogue *ep,
                                    void *ws, int threads)
{
    return wino_conv(M, C, x, H, W, pad_t, pad_l, OH, OW, packed, y, ep, ws, threads);
}

const odet_kernels odet_kernels_avx512 = {
    .isa = ODET_ISA_AVX512,
    .name = "avx512",
    .f32_gemm = odet_f32_gemm__avx512,
    .f32_gemm_packed_size = odet_f32_gemm_packed_size__avx512,
    .f32_gemm_pack_a = odet_f32_gemm_pack_a__avx512,
    .f32_gemm_packed = odet_f32_gemm_packed__avx512,
    .f32_gemm_ws_size = odet_f32_gemm_ws_size__avx512,
    .f32_gemm_ws = odet_f32_gemm_ws__avx512,
    .f32_gemm_packed_ex_ws = odet_f32_gemm_packed_ex_ws__avx512,
    .f32_gemm_packed_ex = odet_f32_gemm_packed_ex__avx512,
    .f32_bias_act = odet_f32_bias_act__avx512,
    .f32_wino43_packed_size = odet_f32_wino43_packed_size__avx512,
    .f32_wino43_pack = odet_f32_wino43_pack__avx512,
    .f32_wino43_ws = odet_f32_wino43_ws__avx512,
    .f32_wino43_conv = odet_f32_wino43_conv__avx512,
};
