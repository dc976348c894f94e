/* Blocked, packed SGEMM driver shared by the SIMD kernel files.
 *
 * Included once by each kernels/<isa>/gemm_<isa>.c (compiled with that ISA's
 * flags) after it defines the blocking constants, and completed by its
 * definition of the microkernel:
 *
 *   GEMM_MR, GEMM_NR      register tile of the microkernel (rows x columns)
 *   GEMM_KC, GEMM_MC, GEMM_NC   cache blocks: depth, rows of packed A, columns of packed B
 *   static void gemm_ukernel(int layout, int mr, int nr, int64_t kc, const float *A,
 *                            int64_t lda, const float *B, int64_t ldb, float *C,
 *                            int64_t ldc, int mode, float beta);
 *       C[0..mr, 0..nr) (op)= A * B over kc depth steps; mode is GEMM_STORE
 *       (C = acc), GEMM_BETA (C = beta * C + acc) or GEMM_ACCUM (C += acc).
 *       layout GEMM_AP_BP: A is a packed panel (kc x GEMM_MR, alpha applied),
 *       B a packed panel (kc x GEMM_NR, zero beyond nr); lda/ldb unused.
 *       GEMM_AP_BD: B is read in place (row stride ldb), full tiles only.
 *       GEMM_AD_BP: A is read in place (row i at A + i * lda), alpha == 1.
 *
 * The including file then defines its public functions with gemm_blocked(),
 * gemm_packed_size(), gemm_pack_a_all() and gemm_packed().
 *
 * Loop nest (Goto / BLIS): for each NC block of columns, for each KC block of
 * depth, pack B; for each MC block of rows, pack A; then run the microkernel
 * over every MR x NR tile. Threads split C into a grid of rectangles (each
 * thread packs what it needs), so there is no synchronisation inside.
 */
#ifndef ODET_KERNELS_GEMM_DRIVER_H
#define ODET_KERNELS_GEMM_DRIVER_H

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

enum { GEMM_STORE = 0, GEMM_BETA = 1, GEMM_ACCUM = 2 };

enum { GEMM_AP_BP = 0, GEMM_AP_BD = 1, GEMM_AD_BP = 2 };

static void gemm_ukernel(int layout, int mr, int nr, int64_t kc, const float *A, int64_t lda,
                         const float *B, int64_t ldb, float *C, int64_t ldc, int mode, float beta);

/* Rows up to which B is read in place (see gemm_rect); twice that when B's
 * rows are short enough for a depth block of panels to stay in cache. */
#define GEMM_DIRECT_ROWS (4 * GEMM_MR)
#define GEMM_DIRECT_SHORT_LDB 2048
_Static_assert(2 * GEMM_DIRECT_ROWS <= GEMM_MC, "direct rows must fit one packed A block");
/* Columns up to which A is read in place: few B panels reuse a packed A little
 * (measured: in place wins up to ~256 columns on Zen 4). */
#define GEMM_DIRECT_COLS 128

/* Multiply-adds below which one thread does the whole product. */
#define GEMM_MIN_WORK_PER_THREAD ((int64_t)1 << 18)

typedef struct gemm_args {
    int ta, tb;
    int64_t M, N, K;
    float alpha;
    const float *A;
    int64_t lda;
    const float *B;
    int64_t ldb;
    float beta;
    float *C;
    int64_t ldc;
    /* alpha * op(A) already packed by gemm_pack_a_all(), or NULL. */
    const float *Apacked;
} gemm_args;

static inline int64_t gemm_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static inline int64_t gemm_div_up(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Split `total` into nearly equal blocks of at most `cap`, each a multiple of `unit`. */
static inline int64_t gemm_block(int64_t total, int64_t cap, int64_t unit)
{
    int64_t nblk = gemm_div_up(total, cap);
    return gemm_min(cap, gemm_div_up(gemm_div_up(total, nblk), unit) * unit);
}

/* Pack rows [i0, i0 + mc) x depth [p0, p0 + kc) of alpha * op(A) into
 * GEMM_MR-row panels: Ap[panel][k][r]. Rows past mc are left unset; the
 * microkernel never reads them. */
static void gemm_pack_a(const gemm_args *g, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                        float *restrict Ap)
{
    const float alpha = g->alpha;
    for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
        const int64_t mr = gemm_min(GEMM_MR, mc - ir);
        float *restrict dst = Ap + ir * kc;
        if (!g->ta) {
            /* Rows of A are contiguous in depth: go in depth blocks of 16. */
            const float *src = g->A + (i0 + ir) * g->lda + p0;
            for (int64_t k0 = 0; k0 < kc; k0 += 16) {
                const int64_t kb = gemm_min(16, kc - k0);
                for (int64_t i = 0; i < mr; i++) {
                    const float *restrict s = src + i * g->lda + k0;
                    float *restrict d = dst + k0 * GEMM_MR + i;
                    for (int64_t k = 0; k < kb; k++)
                        d[k * GEMM_MR] = alpha * s[k];
                }
            }
        } else {
            for (int64_t k = 0; k < kc; k++) {
                const float *restrict src = g->A + (p0 + k) * g->lda + i0 + ir;
                for (int64_t i = 0; i < mr; i++)
                    dst[k * GEMM_MR + i] = alpha * src[i];
            }
        }
    }
}

/* Pack depth [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) into
 * GEMM_NR-column panels Bp[panel][k][c], zero-filled past nc. */
static void gemm_pack_b(const gemm_args *g, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                        float *restrict Bp)
{
    for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
        const int64_t nr = gemm_min(GEMM_NR, nc - jr);
        float *restrict dst = Bp + jr * kc;
        if (!g->tb) {
            for (int64_t k = 0; k < kc; k++) {
                const float *restrict src = g->B + (p0 + k) * g->ldb + j0 + jr;
                float *restrict d = dst + k * GEMM_NR;
                int64_t j = 0;
                for (; j < nr; j++)
                    d[j] = src[j];
                for (; j < GEMM_NR; j++)
                    d[j] = 0.0f;
            }
        } else {
            /* op(B) = B^T: column j of the panel is row j of B. Go in depth
             * blocks of 16 so the panel rows being written stay in L1. */
            if (nr < GEMM_NR)
                memset(dst, 0, (size_t)(kc * GEMM_NR) * sizeof(float));
            const float *src = g->B + (j0 + jr) * g->ldb + p0;
            for (int64_t k0 = 0; k0 < kc; k0 += 16) {
                const int64_t kb = gemm_min(16, kc - k0);
                for (int64_t j = 0; j < nr; j++) {
                    const float *restrict s = src + j * g->ldb + k0;
                    float *restrict d = dst + k0 * GEMM_NR + j;
                    for (int64_t k = 0; k < kb; k++)
                        d[k * GEMM_NR] = s[k];
                }
            }
        }
    }
}

/* C[m0..m1, n0..n1) of the product, on one thread. Ap holds GEMM_MC x
 * GEMM_KC floats (unused with a prepacked A), Bp GEMM_KC x nc_max (nc_max a
 * multiple of GEMM_NR).
 *
 * Packing pays when a panel is reused. With few rows and op(B) = B, a packed
 * B panel would hardly be: the microkernel then reads B in place (its strip
 * stays in L1 across the few row tiles) and only a ragged last panel is
 * packed. Likewise with few columns and op(A) = A (alpha == 1), A is read in
 * place. */
static void gemm_rect(const gemm_args *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      int64_t kc_max, int64_t mc_max, int64_t nc_max, float *Ap, float *Bp)
{
    const int first_mode =
        g->beta == 0.0f ? GEMM_STORE : (g->beta == 1.0f ? GEMM_ACCUM : GEMM_BETA);
    const int64_t rows = m1 - m0, cols = n1 - n0;
    const int short_b = g->ldb <= GEMM_DIRECT_SHORT_LDB;
    const int direct_b =
        !g->tb && (rows <= GEMM_DIRECT_ROWS || (rows <= 2 * GEMM_DIRECT_ROWS && short_b));
    const int direct_a =
        !direct_b && !g->ta && !g->Apacked && g->alpha == 1.0f && cols <= GEMM_DIRECT_COLS;
    /* Prepacked A: depth block pc starts at pc * Mp, panel of row i at i * kc within it. */
    const int64_t Mp = gemm_div_up(g->M, GEMM_MR) * GEMM_MR;
    for (int64_t jc = n0; jc < n1; jc += nc_max) {
        const int64_t nc = gemm_min(nc_max, n1 - jc);
        for (int64_t pc = 0; pc < g->K; pc += kc_max) {
            const int64_t kc = gemm_min(kc_max, g->K - pc);
            const int mode = pc == 0 ? first_mode : GEMM_ACCUM;
            if (direct_b) {
                if (g->Apacked)
                    Ap = (float *)g->Apacked + pc * Mp + m0 * kc;
                else
                    gemm_pack_a(g, m0, rows, pc, kc, Ap);
                for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
                    const int nr = (int)gemm_min(GEMM_NR, nc - jr);
                    if (nr < GEMM_NR)
                        gemm_pack_b(g, pc, kc, jc + jr, nr, Bp);
                    for (int64_t ir = m0; ir < m1; ir += GEMM_MR) {
                        const int mr = (int)gemm_min(GEMM_MR, m1 - ir);
                        float *c = g->C + ir * g->ldc + jc + jr;
                        const float *a = Ap + (ir - m0) * kc;
                        if (nr == GEMM_NR)
                            gemm_ukernel(GEMM_AP_BD, mr, nr, kc, a, 0, g->B + pc * g->ldb + jc + jr,
                                         g->ldb, c, g->ldc, mode, g->beta);
                        else
                            gemm_ukernel(GEMM_AP_BP, mr, nr, kc, a, 0, Bp, 0, c, g->ldc, mode,
                                         g->beta);
                    }
                }
                continue;
            }
            gemm_pack_b(g, pc, kc, jc, nc, Bp);
            if (direct_a) {
                for (int64_t ir = m0; ir < m1; ir += GEMM_MR) {
                    const int mr = (int)gemm_min(GEMM_MR, m1 - ir);
                    for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
                        const int nr = (int)gemm_min(GEMM_NR, nc - jr);
                        gemm_ukernel(GEMM_AD_BP, mr, nr, kc, g->A + ir * g->lda + pc, g->lda,
                                     Bp + jr * kc, 0, g->C + ir * g->ldc + jc + jr, g->ldc, mode,
                                     g->beta);
                    }
                }
                continue;
            }
            for (int64_t ic = m0; ic < m1; ic += mc_max) {
                const int64_t mc = gemm_min(mc_max, m1 - ic);
                if (g->Apacked)
                    Ap = (float *)g->Apacked + pc * Mp + ic * kc;
                else
                    gemm_pack_a(g, ic, mc, pc, kc, Ap);
                for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
                    const int nr = (int)gemm_min(GEMM_NR, nc - jr);
                    for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
                        const int mr = (int)gemm_min(GEMM_MR, mc - ir);
                        gemm_ukernel(GEMM_AP_BP, mr, nr, kc, Ap + ir * kc, 0, Bp + jr * kc, 0,
                                     g->C + (ic + ir) * g->ldc + jc + jr, g->ldc, mode, g->beta);
                    }
                }
            }
        }
    }
}

/* Choose a tm x tn grid of threads (tm * tn == nt) that minimises the
 * per-thread work: padded tile area times depth plus the packing. */
static void gemm_grid(int64_t M, int64_t N, int64_t K, int nt, int *tm, int *tn)
{
    double best = -1.0;
    for (int a = 1; a <= nt; a++) {
        if (nt % a)
            continue;
        int b = nt / a;
        double rows = (double)gemm_div_up(gemm_div_up(M, GEMM_MR), a) * GEMM_MR;
        double cols = (double)gemm_div_up(gemm_div_up(N, GEMM_NR), b) * GEMM_NR;
        double cost = rows * cols * (double)K + 4.0 * (double)K * (rows + cols);
        if (best < 0.0 || cost < best) {
            best = cost;
            *tm = a;
            *tn = b;
        }
    }
}

/* First and one-past-last index of part `i` of `parts` when `total` is cut
 * into pieces that are multiples of `unit`. */
static void gemm_part(int64_t total, int64_t unit, int parts, int i, int64_t *lo, int64_t *hi)
{
    int64_t units = gemm_div_up(total, unit);
    int64_t a = units * i / parts, b = units * (i + 1) / parts;
    *lo = gemm_min(a * unit, total);
    *hi = gemm_min(b * unit, total);
}

static void gemm_scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f)
            for (int64_t j = 0; j < N; j++)
                c[j] *= beta;
    }
}

/* Unblocked product with a prepacked A, for when the panel buffers cannot be
 * allocated. Slow but needs no memory. */
static void gemm_packed_fallback(const gemm_args *g)
{
    const int64_t kc_max = gemm_block(g->K, GEMM_KC, 1);
    const int64_t Mp = gemm_div_up(g->M, GEMM_MR) * GEMM_MR;
    for (int64_t i = 0; i < g->M; i++)
        for (int64_t j = 0; j < g->N; j++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < g->K; k++) {
                const int64_t pc = k / kc_max * kc_max, kc = gemm_min(kc_max, g->K - pc);
                const float a = g->Apacked[pc * Mp + (i / GEMM_MR) * GEMM_MR * kc +
                                           (k - pc) * GEMM_MR + i % GEMM_MR];
                acc += a * (g->tb ? g->B[j * g->ldb + k] : g->B[k * g->ldb + j]);
            }
            float *c = g->C + i * g->ldc + j;
            *c = g->beta == 0.0f ? acc : acc + g->beta * *c;
        }
}

/* The product described by g on up to `threads` threads. */
static void gemm_run(const gemm_args *g, int threads)
{
    const int64_t M = g->M, N = g->N, K = g->K;
    int64_t work = M * N * K / GEMM_MIN_WORK_PER_THREAD;
    int nt = threads < 1 ? 1 : threads;
    if (work < nt)
        nt = work < 1 ? 1 : (int)work;
    int tm = 1, tn = 1;
    gemm_grid(M, N, K, nt, &tm, &tn);
    /* Blocks for the largest rectangle a thread gets. */
    const int64_t rows = gemm_div_up(gemm_div_up(M, GEMM_MR), tm) * GEMM_MR;
    const int64_t cols = gemm_div_up(gemm_div_up(N, GEMM_NR), tn) * GEMM_NR;
    const int64_t kc_max = gemm_block(K, GEMM_KC, 1);
    const int64_t mc_max = gemm_block(rows, GEMM_MC, GEMM_MR);
    const int64_t nc_max = gemm_block(cols, GEMM_NC, GEMM_NR);
    /* Both panels start on 64-byte boundaries. */
    const size_t a_floats =
        g->Apacked ? 0 : (size_t)(gemm_div_up(mc_max, GEMM_MR) * GEMM_MR * kc_max + 15) / 16 * 16;
    const size_t b_floats = (size_t)(nc_max * kc_max + 15) / 16 * 16;
    const size_t per_thread = a_floats + b_floats;
    float *buf = aligned_alloc(64, per_thread * (size_t)nt * sizeof(float));
    if (!buf) {
        /* No memory for the packed panels: the unblocked reference still works. */
        if (g->Apacked)
            gemm_packed_fallback(g);
        else
            odet_f32_gemm__scalar(g->ta, g->tb, M, N, K, g->alpha, g->A, g->lda, g->B, g->ldb,
                                  g->beta, g->C, g->ldc, threads);
        return;
    }
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        /* Loop in case the runtime gave us fewer threads than asked for. */
        for (int t = omp_get_thread_num(); t < nt; t += omp_get_num_threads()) {
            int64_t m0, m1, n0, n1;
            gemm_part(M, GEMM_MR, tm, t / tn, &m0, &m1);
            gemm_part(N, GEMM_NR, tn, t % tn, &n0, &n1);
            if (m0 < m1 && n0 < n1) {
                float *Ap = buf + (size_t)t * per_thread;
                gemm_rect(g, m0, m1, n0, n1, kc_max, mc_max, nc_max, Ap, Ap + a_floats);
            }
        }
    }
    free(buf);
}

static void gemm_blocked(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc, int threads)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        gemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    const gemm_args g = {ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL};
    gemm_run(&g, threads);
}

/* ---- weights-stationary form: op(A) packed once ----
 * Layout: for each depth block (kc_max = gemm_block(K, GEMM_KC, 1), a
 * function of K only), ceil(M / GEMM_MR) panels of kc x GEMM_MR; the block
 * starting at depth pc begins at float pc * Mp (Mp = M rounded up to
 * GEMM_MR). Any thread rectangle finds its panels there. */

static size_t gemm_packed_size(int64_t M, int64_t K)
{
    if (M <= 0 || K <= 0)
        return 64;
    size_t floats = (size_t)(gemm_div_up(M, GEMM_MR) * GEMM_MR * K);
    return (floats * sizeof(float) + 63) / 64 * 64;
}

static void gemm_pack_a_all(int ta, int64_t M, int64_t K, float alpha, const float *A, int64_t lda,
                            void *packed, int threads)
{
    if (M <= 0 || K <= 0)
        return;
    const gemm_args g = {ta, 0, M, 0, K, alpha, A, lda, NULL, 0, 0.0f, NULL, 0, NULL};
    const int64_t kc_max = gemm_block(K, GEMM_KC, 1);
    const int64_t Mp = gemm_div_up(M, GEMM_MR) * GEMM_MR;
    const int64_t panels = Mp / GEMM_MR, blocks = gemm_div_up(K, kc_max);
    float *P = packed;
    /* Weights of big layers come from memory: split the panels over threads. */
#pragma omp parallel for num_threads(threads) if (threads > 1 && M * K > 65536) schedule(static)
    for (int64_t t = 0; t < panels * blocks; t++) {
        const int64_t pc = t / panels * kc_max, ir = t % panels * GEMM_MR;
        const int64_t kc = gemm_min(kc_max, K - pc), mr = gemm_min(GEMM_MR, M - ir);
        float *panel = P + pc * Mp + ir * kc;
        gemm_pack_a(&g, ir, mr, pc, kc, panel);
        /* Rows past M in the last panel are never read by the kernels, but keep
         * the buffer deterministic. */
        for (int64_t k = 0; k < kc; k++)
            for (int64_t i = mr; i < GEMM_MR; i++)
                panel[k * GEMM_MR + i] = 0.0f;
    }
}

static void gemm_packed(int tb, int64_t M, int64_t N, int64_t K, const void *packed, const float *B,
                        int64_t ldb, float beta, float *C, int64_t ldc, int threads)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        gemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    const gemm_args g = {0, tb, M, N, K, 1.0f, NULL, 0, B, ldb, beta, C, ldc, packed};
    gemm_run(&g, threads);
}

#endif
