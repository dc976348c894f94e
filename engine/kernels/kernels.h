/* CPU kernel dispatch. One table per instruction set, chosen once (the only
 * global state in odet: a call_once probe of CPUID + XCR0). Tests may cap the
 * choice with ODET_ISA=scalar|avx2|avx512 or ask for a given table directly.
 *
 * Naming: odet_<dtype>_<op>[_<epilogue>]__<isa>, e.g. odet_f32_gemm__avx512.
 */
#ifndef ODET_KERNELS_H
#define ODET_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef enum odet_isa {
    ODET_ISA_SCALAR = 0,
    ODET_ISA_AVX2 = 1,   /* AVX2 + FMA */
    ODET_ISA_AVX512 = 2, /* AVX-512 F (+DQ/BW/VL where used) */
    ODET_ISA_COUNT
} odet_isa;

/* Row-major single-precision GEMM:
 *   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C
 * op(X) = X^T when transX != 0 (X then stored K x M / N x K).
 * beta == 0 means C is write-only (its old contents may be NaN).
 * `threads` >= 1 is the exact number of threads to use. */
typedef void (*odet_f32_gemm_fn)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                 float alpha, const float *A, int64_t lda, const float *B,
                                 int64_t ldb, float beta, float *C, int64_t ldc, int threads);

/* The same GEMM with op(A) packed once and reused (weights-stationary: a
 * convolution multiplies one weight matrix by many column blocks):
 *   f32_gemm_packed_size(M, K)    bytes of the packed form (a multiple of 64);
 *   f32_gemm_pack_a(...)          writes alpha * op(A) into `packed` (64-byte aligned);
 *   f32_gemm_packed(...)          C = packed * op(B) + beta * C.
 * The packed layout belongs to the table: use all three from the same one. */
typedef size_t (*odet_f32_gemm_packed_size_fn)(int64_t M, int64_t K);
typedef void (*odet_f32_gemm_pack_a_fn)(int trans_a, int64_t M, int64_t K, float alpha,
                                        const float *A, int64_t lda, void *packed, int threads);
typedef void (*odet_f32_gemm_packed_fn)(int trans_b, int64_t M, int64_t N, int64_t K,
                                        const void *packed, const float *B, int64_t ldb,
                                        float beta, float *C, int64_t ldc, int threads);

typedef struct odet_kernels {
    odet_isa isa;
    const char *name;      /* "scalar", "avx2", "avx512" */
    odet_f32_gemm_fn f32_gemm;
    odet_f32_gemm_packed_size_fn f32_gemm_packed_size;
    odet_f32_gemm_pack_a_fn f32_gemm_pack_a;
    odet_f32_gemm_packed_fn f32_gemm_packed;
} odet_kernels;

/* Best table for this CPU (capped by ODET_ISA). Thread-safe, probes once. */
const odet_kernels *odet_kernels_get(void);
/* Table for a specific ISA, or NULL when this CPU (or build) lacks it. */
const odet_kernels *odet_kernels_for(odet_isa isa);

/* Per-ISA tables, defined in kernels/<isa>/. */
extern const odet_kernels odet_kernels_scalar;
extern const odet_kernels odet_kernels_avx2;
extern const odet_kernels odet_kernels_avx512;

/* Portable reference GEMM (the oracle for tests). */
void odet_f32_gemm__scalar(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                           float *C, int64_t ldc, int threads);
/* Packed, cache-blocked GEMMs (kernels/<isa>/gemm_<isa>.c); same contract. */
void odet_f32_gemm__avx2(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc, int threads);
void odet_f32_gemm__avx512(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                           float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                           float beta, float *C, int64_t ldc, int threads);

#endif
