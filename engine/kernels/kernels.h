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

typedef struct odet_kernels {
    odet_isa isa;
    const char *name;      /* "scalar", "avx2", "avx512" */
    odet_f32_gemm_fn f32_gemm;
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

#endif
