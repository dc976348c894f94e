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

/* ---- caller-owned workspace (no allocation in the GEMM) ----
 *   f32_gemm_ws_size(...)  bytes of workspace f32_gemm_ws needs (a multiple of 64);
 *   f32_gemm_ws(..., ws)   f32_gemm with its panel buffers in `ws` (64-byte aligned,
 *                          at least f32_gemm_ws_size bytes). ws == NULL allocates
 *                          like f32_gemm. */
typedef size_t (*odet_f32_gemm_ws_size_fn)(int64_t M, int64_t N, int64_t K, int threads);
typedef void (*odet_f32_gemm_ws_fn)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                    float alpha, const float *A, int64_t lda, const float *B,
                                    int64_t ldb, float beta, float *C, int64_t ldc, int threads,
                                    void *ws);

/* Activations a GEMM can apply to C on its final write-back (ONNX semantics). */
typedef enum odet_act {
    ODET_ACT_NONE = 0,
    ODET_ACT_RELU,         /* max(x, 0) */
    ODET_ACT_LEAKY_RELU,   /* x < 0 ? a * x : x */
    ODET_ACT_CLIP,         /* min(max(x, a), b) */
    ODET_ACT_SIGMOID,      /* 1 / (1 + exp(-x)) */
    ODET_ACT_HARD_SIGMOID, /* max(0, min(1, a * x + b)) */
    ODET_ACT_HARD_SWISH,   /* x * max(0, min(1, x / 6 + 1 / 2)) */
    ODET_ACT_SILU,         /* x * sigmoid(x) */
    ODET_ACT_COUNT
} odet_act;

/* Fused epilogue: C[i, j] = act(acc[i, j] + bias[i] + residual[i, j]). */
typedef struct odet_f32_epilogue {
    const float *bias;     /* one per row of C, or NULL */
    const float *residual; /* M x N with row stride ldr, or NULL; must not overlap C */
    int64_t ldr;
    odet_act act;
    float a, b;            /* activation parameters (see odet_act) */
} odet_f32_epilogue;

/* Producer of op(B) panels: writes depth rows [k0, k0 + kc) x columns
 * [j0, j0 + nc) of op(B) into ceil(nc / nr) panels, panel p at
 * Bp + p * kc * nr holding Bp[p][k][c] = op(B)[k0 + k][j0 + p * nr + c], zero
 * for columns past nc. Called concurrently from several threads. */
typedef void (*odet_f32_pack_b_fn)(const void *ctx, int64_t k0, int64_t kc, int64_t j0,
                                   int64_t nc, int64_t nr, float *Bp);

struct odet_im2col; /* kernels/im2col.h */

/* Right operand of f32_gemm_packed_ex, one of:
 *   a matrix (op(B) = B or B^T by trans, row stride ldb);
 *   a producer of panels `pack` with its `ctx`;
 *   the implicit im2col of a convolution `conv` (packed by the kernels
 *   themselves, straight from the input). */
typedef struct odet_f32_bsrc {
    const float *B;
    int64_t ldb;
    int trans;
    odet_f32_pack_b_fn pack;
    const void *ctx;
    const struct odet_im2col *conv;
} odet_f32_bsrc;

/* Weights-stationary GEMM with a fused epilogue and caller workspace:
 *   f32_gemm_packed_ex_ws(M, N, K, threads)  workspace bytes (a multiple of 64);
 *   f32_gemm_packed_ex(...)  C = epilogue(packed * op(B)); C is write-only.
 * `packed` is f32_gemm_pack_a's output of the same table; ep may be NULL (no
 * epilogue); ws is 64-byte aligned with at least the queried bytes, or NULL
 * (then it is allocated). One parallel region; threads take blocks of C
 * dynamically, so a slow or busy thread does less of the work. */
typedef size_t (*odet_f32_gemm_packed_ex_ws_fn)(int64_t M, int64_t N, int64_t K, int threads);
typedef void (*odet_f32_gemm_packed_ex_fn)(int64_t M, int64_t N, int64_t K, const void *packed,
                                           const odet_f32_bsrc *B, float *C, int64_t ldc,
                                           const odet_f32_epilogue *ep, void *ws, int threads);

/* Winograd F(4x4, 3x3): a 3x3, stride-1, undilated convolution of one group,
 *   y[m][oh][ow] = epilogue(sum_{c, i, j} w[m][c][i][j] * x[c][oh - pad_t + i][ow - pad_l + j])
 * (x zero outside its H x W planes; y has M planes of OH x OW), computed as
 * 36 products of the transformed weights by 4x4-output tiles of the input.
 * Per tile that is 2.25 multiply-adds per output where the direct
 * convolution has 9, at the cost of the input/output transforms and a few
 * ulps of accuracy (well within 1e-5 relative for CNN activations).
 *   f32_wino43_packed_size(M, C)  bytes of the transformed, packed weights;
 *   f32_wino43_pack(M, C, w, packed, tmp)  w is [M][C][3][3]; tmp holds M * C floats;
 *   f32_wino43_ws(M, C, OH, OW, threads)   workspace bytes (a multiple of 64);
 *   f32_wino43_conv(...)           ws 64-byte aligned of that size, or NULL (then
 *                                  allocated); returns 0, or -1 when that fails.
 * The epilogue's residual is [M][OH * OW] with row stride ldr. NULL entries
 * in a table: not available (use the GEMM path). */
typedef size_t (*odet_f32_wino43_packed_size_fn)(int64_t M, int64_t C);
typedef void (*odet_f32_wino43_pack_fn)(int64_t M, int64_t C, const float *w, void *packed,
                                        float *tmp);
typedef size_t (*odet_f32_wino43_ws_fn)(int64_t M, int64_t C, int64_t OH, int64_t OW,
                                        int threads);
typedef int (*odet_f32_wino43_conv_fn)(int64_t M, int64_t C, const float *x, int64_t H,
                                        int64_t W, int64_t pad_t, int64_t pad_l, int64_t OH,
                                        int64_t OW, const void *packed, float *y,
                                       const odet_f32_epilogue *ep, void *ws, int threads);

/* x[i] = act(x[i] + bias) for i < n, in place. */
typedef void (*odet_f32_bias_act_fn)(float *x, int64_t n, float bias, odet_act act, float a,
                                     float b);

typedef struct odet_kernels {
    odet_isa isa;
    const char *name;      /* "scalar", "avx2", "avx512" */
    odet_f32_gemm_fn f32_gemm;
    odet_f32_gemm_packed_size_fn f32_gemm_packed_size;
    odet_f32_gemm_pack_a_fn f32_gemm_pack_a;
    odet_f32_gemm_packed_fn f32_gemm_packed;
    odet_f32_gemm_ws_size_fn f32_gemm_ws_size;
    odet_f32_gemm_ws_fn f32_gemm_ws;
    odet_f32_gemm_packed_ex_ws_fn f32_gemm_packed_ex_ws;
    odet_f32_gemm_packed_ex_fn f32_gemm_packed_ex;
    odet_f32_bias_act_fn f32_bias_act;
    odet_f32_wino43_packed_size_fn f32_wino43_packed_size;
    odet_f32_wino43_pack_fn f32_wino43_pack;
    odet_f32_wino43_ws_fn f32_wino43_ws;
    odet_f32_wino43_conv_fn f32_wino43_conv;
} odet_kernels;

/* Run fn(ctx, task, worker) for every task in [0, ntasks) on up to `threads`
 * threads. The caller takes tasks itself; up to threads - 1 short-lived extra
 * threads take tasks too once the OS runs them (tasks go to whoever asks
 * next), and the caller then joins them, asleep: nothing ever spins, and a
 * thread the OS keeps waiting does less of the work instead of holding up
 * the others, which matters on a loaded machine. `worker` < threads is unique
 * among the threads running at once (a per-thread workspace slot; the caller
 * is 0). No thread is started for one thread or one task. */
typedef void (*odet_task_fn)(void *ctx, int64_t task, int worker);
void odet_parallel_for(int threads, int64_t ntasks, odet_task_fn fn, void *ctx);

/* Portable reference activation (the oracle of the fused epilogues). */
float odet_f32_act(float x, odet_act act, float a, float b);
/* Activation by ONNX op name ("Relu", "LeakyRelu", "Clip", "Sigmoid",
 * "HardSigmoid", "HardSwish") or "Silu"; returns 0, or -1 when unknown. */
int odet_act_from_name(const char *name, odet_act *out);

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
