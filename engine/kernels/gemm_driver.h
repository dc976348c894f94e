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
 *                            int64_t ldc, int mode, float beta, const gemm_epi *e);
 *       C[0..mr, 0..nr) (op)= A * B over kc depth steps; mode is GEMM_STORE
 *       (C = acc), GEMM_BETA (C = beta * C + acc) or GEMM_ACCUM (C += acc).
 *       e != NULL (last depth block of a fused product): then also add
 *       e->bias[i] and e->res[i * e->ldr + j] and apply e->act before storing.
 *       layout GEMM_AP_BP: A is a packed panel (kc x GEMM_MR, alpha applied),
 *       B a packed panel (kc x GEMM_NR, zero beyond nr); lda/ldb unused.
 *       GEMM_AP_BD: B is read in place (row stride ldb), full tiles only.
 *       GEMM_AD_BP: A is read in place (row i at A + i * lda), alpha == 1.
 *
 *   static void gemm_act_inplace(float *x, int64_t n, int act, float a, float b);
 *   static void wino_load6(), wino_load4(), wino_store4()  (see below)
 *
 * The including file then defines its public functions with gemm_blocked(),
 * gemm_ws_size(), gemm_packed_size(), gemm_pack_a_all(), gemm_packed(),
 * gemm_packed_ex_ws(), gemm_packed_ex() and the Winograd wino_packed_size(),
 * wino_pack(), wino_ws() and wino_conv().
 *
 * Loop nest (Goto / BLIS): for each NC block of columns, for each KC block of
 * depth, pack B; for each MC block of rows, pack A; then run the microkernel
 * over every MR x NR tile. Work is cut into a grid of rectangles of C, a few
 * per thread, handed out dynamically by odet_parallel_for (each thread packs
 * what it needs in its own part of the workspace), so there is no
 * synchronisation inside and a thread that the OS keeps waiting does less.
 */
#ifndef ODET_KERNELS_GEMM_DRIVER_H
#define ODET_KERNELS_GEMM_DRIVER_H

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/im2col.h"
#include "kernels/kernels.h"

enum { GEMM_STORE = 0, GEMM_BETA = 1, GEMM_ACCUM = 2 };

enum { GEMM_AP_BP = 0, GEMM_AP_BD = 1, GEMM_AD_BP = 2 };

/* Epilogue of one tile, pointers already at the tile's first row / element. */
typedef struct gemm_epi {
    const float *bias;
    const float *res;
    int64_t ldr;
    int act;
    float a, b;
} gemm_epi;

static void gemm_ukernel(int layout, int mr, int nr, int64_t kc, const float *A, int64_t lda,
                         const float *B, int64_t ldb, float *C, int64_t ldc, int mode, float beta,
                         const gemm_epi *e);
/* x[i] = act(x[i]) for i < n (the including file's vector activations). */
static void gemm_act_inplace(float *x, int64_t n, int act, float a, float b);
/* Winograd row access, WINO_L = GEMM_NR / 2 lanes (tiles) per vector:
 *   wino_load6: d[6 u + q][l] = r[u * stride + 4 l + q] (u, q < 6)
 *   wino_load4: d[4 u + q][l] = r[u * stride + 4 l + q] (u, q < 4)
 *   wino_store4: r[u * stride + 4 l + q] = d[4 u + q][l] (u, q < 4)
 * only for rows u in the bit mask `rows` and columns 4 l + q in [lo, hi);
 * loads give 0 elsewhere, and touch no other address. */
static void wino_load6(const float *r, int64_t stride, unsigned rows, int lo, int hi, void *d);
static void wino_load4(const float *r, int64_t stride, unsigned rows, int lo, int hi, void *d);
static void wino_store4(float *r, int64_t stride, unsigned rows, int lo, int hi, const void *d);

/* Rows up to which B is read in place (see gemm_rect); twice that when B's
 * rows are short enough for a depth block of panels to stay in cache. */
#define GEMM_DIRECT_ROWS (4 * GEMM_MR)
#define GEMM_DIRECT_SHORT_LDB 2048
_Static_assert(2 * GEMM_DIRECT_ROWS <= GEMM_MC, "direct rows must fit one packed A block");
/* Columns up to which A is read in place: few B panels reuse a packed A little
 * (measured: in place wins up to ~256 columns on Zen 4). */
#define GEMM_DIRECT_COLS 128

/* Multiply-adds each thread must get (else fewer threads: starting one costs
 * tens of microseconds), and below which a rectangle is not cut further for
 * load balancing. */
#define GEMM_MIN_WORK_PER_THREAD ((int64_t)1 << 21)
#define GEMM_MIN_WORK_PER_TASK ((int64_t)1 << 20)
/* Rectangles per thread when there is enough work: lets the dynamic schedule
 * even out threads that run at different speeds. */
#define GEMM_TASKS_PER_THREAD 4

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
    /* op(B) panels from a producer instead of B (then B is unused), or NULL. */
    odet_f32_pack_b_fn bpack;
    const void *bctx;
    const odet_im2col *conv;
    /* Fused epilogue on the last depth block, or NULL. */
    const odet_f32_epilogue *ep;
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
    if (g->conv) {
        odet_im2col_pack(g->conv, p0, kc, j0, nc, GEMM_NR, Bp);
        return;
    }
    if (g->bpack) {
        g->bpack(g->bctx, p0, kc, j0, nc, GEMM_NR, Bp);
        return;
    }
    if (!g->tb) {
        /* Row by row: each row of B is read in one sequential sweep (the
         * prefetchers follow it), a short line of every panel is written. */
        const int64_t full = nc / GEMM_NR * GEMM_NR;
        for (int64_t k = 0; k < kc; k++) {
            const float *restrict src = g->B + (p0 + k) * g->ldb + j0;
            float *restrict d = Bp + k * GEMM_NR;
            for (int64_t jr = 0; jr < full; jr += GEMM_NR)
                for (int64_t j = 0; j < GEMM_NR; j++)
                    d[jr * kc + j] = src[jr + j];
            if (full < nc) {
                int64_t j = 0;
                for (; j < nc - full; j++)
                    d[full * kc + j] = src[full + j];
                for (; j < GEMM_NR; j++)
                    d[full * kc + j] = 0.0f;
            }
        }
        return;
    }
    for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
        const int64_t nr = gemm_min(GEMM_NR, nc - jr);
        float *restrict dst = Bp + jr * kc;
        {
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

/* Epilogue of the tile at (row i, column j) of C, or NULL when none applies. */
static inline const gemm_epi *gemm_tile_epi(const gemm_args *g, int last, int64_t i, int64_t j,
                                            gemm_epi *e)
{
    const odet_f32_epilogue *ep = g->ep;
    if (!last || !ep)
        return NULL;
    e->bias = ep->bias ? ep->bias + i : NULL;
    e->res = ep->residual ? ep->residual + i * ep->ldr + j : NULL;
    e->ldr = ep->ldr;
    e->act = (int)ep->act;
    e->a = ep->a;
    e->b = ep->b;
    return e;
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
    const int direct_b = !g->bpack && !g->conv && !g->tb &&
                         (rows <= GEMM_DIRECT_ROWS || (rows <= 2 * GEMM_DIRECT_ROWS && short_b));
    const int direct_a =
        !direct_b && !g->ta && !g->Apacked && g->alpha == 1.0f && cols <= GEMM_DIRECT_COLS;
    /* Prepacked A: depth block pc starts at pc * Mp, panel of row i at i * kc within it. */
    const int64_t Mp = gemm_div_up(g->M, GEMM_MR) * GEMM_MR;
    gemm_epi ebuf;
    for (int64_t jc = n0; jc < n1; jc += nc_max) {
        const int64_t nc = gemm_min(nc_max, n1 - jc);
        for (int64_t pc = 0; pc < g->K; pc += kc_max) {
            const int64_t kc = gemm_min(kc_max, g->K - pc);
            const int mode = pc == 0 ? first_mode : GEMM_ACCUM;
            const int last = pc + kc >= g->K;
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
                        const gemm_epi *e = gemm_tile_epi(g, last, ir, jc + jr, &ebuf);
                        if (nr == GEMM_NR)
                            gemm_ukernel(GEMM_AP_BD, mr, nr, kc, a, 0, g->B + pc * g->ldb + jc + jr,
                                         g->ldb, c, g->ldc, mode, g->beta, e);
                        else
                            gemm_ukernel(GEMM_AP_BP, mr, nr, kc, a, 0, Bp, 0, c, g->ldc, mode,
                                         g->beta, e);
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
                        const gemm_epi *e = gemm_tile_epi(g, last, ir, jc + jr, &ebuf);
                        gemm_ukernel(GEMM_AD_BP, mr, nr, kc, g->A + ir * g->lda + pc, g->lda,
                                     Bp + jr * kc, 0, g->C + ir * g->ldc + jc + jr, g->ldc, mode,
                                     g->beta, e);
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
                        const gemm_epi *e = gemm_tile_epi(g, last, ic + ir, jc + jr, &ebuf);
                        gemm_ukernel(GEMM_AP_BP, mr, nr, kc, Ap + ir * kc, 0, Bp + jr * kc, 0,
                                     g->C + (ic + ir) * g->ldc + jc + jr, g->ldc, mode, g->beta,
                                     e);
                    }
                }
            }
        }
    }
}

/* Choose a tm x tn grid of rectangles (tm * tn == parts) that minimises the
 * work of one rectangle: padded tile area times depth plus the packing (of A
 * only when it is not prepacked). */
static void gemm_grid(int64_t M, int64_t N, int64_t K, int parts, int pack_a, int *tm, int *tn)
{
    double best = -1.0;
    for (int a = 1; a <= parts; a++) {
        if (parts % a)
            continue;
        int b = parts / a;
        double rows = (double)gemm_div_up(gemm_div_up(M, GEMM_MR), a) * GEMM_MR;
        double cols = (double)gemm_div_up(gemm_div_up(N, GEMM_NR), b) * GEMM_NR;
        double cost = rows * cols * (double)K + 4.0 * (double)K * ((pack_a ? rows : 0.0) + cols);
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

/* How a product is cut: nt threads, a tm x tn grid of rectangles, the cache
 * blocks of the largest rectangle and the per-thread workspace (floats). */
typedef struct gemm_plan {
    int nt, tm, tn;
    int64_t kc_max, mc_max, nc_max;
    size_t a_floats, b_floats;
} gemm_plan;

static gemm_plan gemm_make_plan(int64_t M, int64_t N, int64_t K, int threads, int prepacked)
{
    gemm_plan p;
    const int64_t work = M * N * K;
    const int64_t w1 = work / GEMM_MIN_WORK_PER_THREAD;
    p.nt = threads < 1 ? 1 : threads;
    if (w1 < p.nt)
        p.nt = w1 < 1 ? 1 : (int)w1;
    int parts = 1;
    if (p.nt > 1) {
        const int64_t wt = work / GEMM_MIN_WORK_PER_TASK;
        parts = p.nt * GEMM_TASKS_PER_THREAD;
        if (wt < parts)
            parts = wt < p.nt ? p.nt : (int)wt;
    }
    p.tm = p.tn = 1;
    gemm_grid(M, N, K, parts, !prepacked, &p.tm, &p.tn);
    const int64_t rows = gemm_div_up(gemm_div_up(M, GEMM_MR), p.tm) * GEMM_MR;
    const int64_t cols = gemm_div_up(gemm_div_up(N, GEMM_NR), p.tn) * GEMM_NR;
    p.kc_max = gemm_block(K, GEMM_KC, 1);
    p.mc_max = gemm_block(rows, GEMM_MC, GEMM_MR);
    p.nc_max = gemm_block(cols, GEMM_NC, GEMM_NR);
    /* Both panels start on 64-byte boundaries. */
    p.a_floats =
        prepacked ? 0
                  : (size_t)(gemm_div_up(p.mc_max, GEMM_MR) * GEMM_MR * p.kc_max + 15) / 16 * 16;
    p.b_floats = (size_t)(p.nc_max * p.kc_max + 15) / 16 * 16;
    return p;
}

static size_t gemm_plan_bytes(const gemm_plan *p)
{
    return (p->a_floats + p->b_floats) * (size_t)p->nt * sizeof(float);
}

/* Workspace for any product of at most M x N x K (a plan for a smaller one
 * may cut it differently, so the query gives a bound that only grows with
 * the sizes): per thread a KC x MC block of A (unless prepacked) and a
 * KC x NC block of B, each clipped to the product. */
static size_t gemm_ws_bound(int64_t M, int64_t N, int64_t K, int threads, int prepacked)
{
    const gemm_plan p = gemm_make_plan(M, N, K, threads, prepacked);
    const int64_t kc = gemm_min(K, GEMM_KC);
    const int64_t mc = gemm_div_up(gemm_min(M, GEMM_MC), GEMM_MR) * GEMM_MR;
    const size_t a = prepacked ? 0 : (size_t)(mc * kc + 15) / 16 * 16;
    const size_t b =
        (size_t)(gemm_min(GEMM_NC, gemm_div_up(N, GEMM_NR) * GEMM_NR) * kc + 15) / 16 * 16;
    return ((a + b) * (size_t)p.nt * sizeof(float) + 63) / 64 * 64;
}

/* One rectangle of the plan's grid (a task of odet_parallel_for). */
typedef struct gemm_job {
    const gemm_args *g;
    const gemm_plan *p;
    float *buf;
} gemm_job;

static void gemm_task(void *ctx, int64_t t, int worker)
{
    const gemm_job *j = ctx;
    const gemm_plan *p = j->p;
    float *Ap = j->buf + (size_t)worker * (p->a_floats + p->b_floats);
    int64_t m0, m1, n0, n1;
    gemm_part(j->g->M, GEMM_MR, p->tm, (int)(t / p->tn), &m0, &m1);
    gemm_part(j->g->N, GEMM_NR, p->tn, (int)(t % p->tn), &n0, &n1);
    if (m0 < m1 && n0 < n1)
        gemm_rect(j->g, m0, m1, n0, n1, p->kc_max, p->mc_max, p->nc_max, Ap, Ap + p->a_floats);
}

/* The product described by g, planned by p, with panels in buf. */
static void gemm_run_plan(const gemm_args *g, const gemm_plan *p, float *buf)
{
    gemm_job j = {g, p, buf};
    odet_parallel_for(p->nt, (int64_t)p->tm * p->tn, gemm_task, &j);
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

/* The product described by g on up to `threads` threads; panels in ws (the
 * plan's bytes) or, when ws is NULL, in a buffer allocated here. */
static void gemm_run(const gemm_args *g, int threads, void *ws)
{
    const gemm_plan p = gemm_make_plan(g->M, g->N, g->K, threads, g->Apacked != NULL);
    if (ws) {
        gemm_run_plan(g, &p, ws);
        return;
    }
    float *buf = aligned_alloc(64, gemm_plan_bytes(&p));
    if (!buf) {
        /* No memory for the packed panels: the unblocked reference still works. */
        if (g->Apacked)
            gemm_packed_fallback(g);
        else
            odet_f32_gemm__scalar(g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B,
                                  g->ldb, g->beta, g->C, g->ldc, threads);
        return;
    }
    gemm_run_plan(g, &p, buf);
    free(buf);
}

static size_t gemm_ws_size(int64_t M, int64_t N, int64_t K, int threads)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 64;
    return gemm_ws_bound(M, N, K, threads, 0);
}

static void gemm_blocked(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc, int threads, void *ws)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        gemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    const gemm_args g = {ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                         NULL, NULL, NULL, NULL, NULL};
    gemm_run(&g, threads, ws);
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
    const gemm_args g = {ta, 0, M, 0, K, alpha, A, lda, NULL, 0, 0.0f, NULL, 0,
                         NULL, NULL, NULL, NULL, NULL};
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
    const gemm_args g = {0, tb, M, N, K, 1.0f, NULL, 0, B, ldb, beta, C, ldc,
                         packed, NULL, NULL, NULL, NULL};
    gemm_run(&g, threads, NULL);
}

static size_t gemm_packed_ex_ws(int64_t M, int64_t N, int64_t K, int threads)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 64;
    return gemm_ws_bound(M, N, K, threads, 1);
}

/* C = act(bias + residual) where the product is empty (K == 0). */
static void gemm_epilogue_only(int64_t M, int64_t N, float *C, int64_t ldc,
                               const odet_f32_epilogue *ep)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++) {
            float v = 0.0f;
            if (ep && ep->bias)
                v += ep->bias[i];
            if (ep && ep->residual)
                v += ep->residual[i * ep->ldr + j];
            c[j] = ep ? odet_f32_act(v, ep->act, ep->a, ep->b) : v;
        }
    }
}

static void gemm_packed_ex(int64_t M, int64_t N, int64_t K, const void *packed,
                           const odet_f32_bsrc *B, float *C, int64_t ldc,
                           const odet_f32_epilogue *ep, void *ws, int threads)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        gemm_epilogue_only(M, N, C, ldc, ep);
        return;
    }
    if (ep && !ep->bias && !ep->residual && ep->act == ODET_ACT_NONE)
        ep = NULL;
    const gemm_args g = {0,   B->trans, M,      N,       K,      1.0f,   NULL,
                         0,   B->B,     B->ldb, 0.0f,    C,      ldc,    packed,
                         B->conv ? NULL : B->pack, B->ctx, B->conv, ep};
    const gemm_plan p = gemm_make_plan(M, N, K, threads, 1);
    if (ws) {
        gemm_run_plan(&g, &p, ws);
        return;
    }
    float *buf = aligned_alloc(64, gemm_plan_bytes(&p));
    if (!buf) {
        /* No memory: one thread, one column panel at a time from a stack buffer
         * (the depth blocks are fixed by the packed layout, at most GEMM_KC). */
        _Alignas(64) float panel[GEMM_NR * GEMM_KC];
        gemm_plan one = p;
        one.nt = one.tm = one.tn = 1;
        one.nc_max = GEMM_NR;
        one.b_floats = (size_t)(GEMM_NR * p.kc_max);
        gemm_run_plan(&g, &one, panel);
        return;
    }
    gemm_run_plan(&g, &p, buf);
    free(buf);
}

/* ---- Winograd F(4x4, 3x3), interpolation points 0, 1, -1, 1/2, -2 and infinity
 * (about half the rounding error of Lavin & Gray's 0, +-1, +-2; Barabasz et
 * al., "Error analysis and improving the accuracy of Winograd convolution") ----
 * Weights: U = G g G^T (6 x 6 per output and input channel), stored as 36
 * matrices U_xi [M x C], each in the packed-A layout above.
 * Per task (a block of tiles, a range of output channels):
 *   1. V_xi = B^T d B of every input channel and tile, written straight into
 *      packed-B panels (GEMM_NR tiles per panel, depth blocks as for U);
 *   2. M_xi = U_xi * V_xi, 36 products with the microkernel;
 *   3. y = A^T M A per tile and channel, + bias + residual, activation.
 * WINO_L tiles go through the transforms together (one vector per value). */
#define WINO_L (GEMM_NR / 2)
/* Bytes of transformed input and products one task keeps (per thread). */
#define WINO_BLOCK_BYTES ((int64_t)768 << 10)

static const double wino_G[6][3] = {
    {1, 0, 0},
    {1.0 / 3, 1.0 / 3, 1.0 / 3},
    {-1.0 / 3, 1.0 / 3, -1.0 / 3},
    {-16.0 / 15, -8.0 / 15, -4.0 / 15},
    {1.0 / 15, -2.0 / 15, 4.0 / 15},
    {0, 0, 1},
};

static size_t wino_packed_size(int64_t M, int64_t C)
{
    return 36 * gemm_packed_size(M, C);
}

static void wino_pack(int64_t M, int64_t C, const float *w, void *packed, float *tmp)
{
    if (M <= 0 || C <= 0)
        return;
    const size_t ps = gemm_packed_size(M, C);
    for (int xi = 0; xi < 36; xi++) {
        const int r = xi / 6, s = xi % 6;
        for (int64_t i = 0; i < M * C; i++) {
            const float *g = w + i * 9;
            double acc = 0.0;
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    acc += wino_G[r][a] * (double)g[a * 3 + b] * wino_G[s][b];
            tmp[i] = (float)acc;
        }
        gemm_pack_a_all(0, M, C, 1.0f, tmp, C, (char *)packed + (size_t)xi * ps, 1);
    }
}

typedef struct wino_plan {
    int nt;
    int64_t TH, TW, T;   /* tiles */
    int64_t nbp, tb;     /* tiles per block (a multiple of GEMM_NR), blocks */
    int64_t nbp_cap;     /* most tiles per block for any output size */
    int64_t mt, mb;      /* output channels per task (a multiple of GEMM_MR), ranges */
    int64_t kc_max;
    size_t v_floats, m_floats;
} wino_plan;

static wino_plan wino_make_plan(int64_t M, int64_t C, int64_t OH, int64_t OW, int threads)
{
    wino_plan p;
    p.TH = gemm_div_up(OH, 4);
    p.TW = gemm_div_up(OW, 4);
    p.T = p.TH * p.TW;
    p.kc_max = gemm_block(C, GEMM_KC, 1);
    const int64_t work = 36 * M * C * p.T, w1 = work / GEMM_MIN_WORK_PER_THREAD;
    p.nt = threads < 1 ? 1 : threads;
    if (w1 < p.nt)
        p.nt = w1 < 1 ? 1 : (int)w1;
    p.mt = gemm_div_up(M, GEMM_MR) * GEMM_MR;
    const int64_t per_tile = 36 * (C + p.mt) * (int64_t)sizeof(float);
    p.nbp = WINO_BLOCK_BYTES / per_tile / GEMM_NR * GEMM_NR;
    if (p.nbp < GEMM_NR)
        p.nbp = GEMM_NR;
    if (p.nbp > 4 * GEMM_NR)
        p.nbp = 4 * GEMM_NR;
    p.nbp_cap = p.nbp;
    /* Even blocks: no nearly empty last one. */
    p.nbp = gemm_block(p.T, p.nbp, GEMM_NR);
    p.tb = gemm_div_up(p.T, p.nbp);
    p.mb = 1;
    if (p.nt > 1 && p.tb < GEMM_TASKS_PER_THREAD * p.nt) {
        /* Few tile blocks: also split the output channels (each range then
         * transforms the input of its block again). */
        int64_t want = gemm_div_up(2 * p.nt, p.tb);
        int64_t units = gemm_div_up(M, GEMM_MR);
        if (want > units)
            want = units;
        p.mt = gemm_div_up(units, want) * GEMM_MR;
        p.mb = gemm_div_up(M, p.mt);
    }
    p.v_floats = (size_t)(36 * C * p.nbp + 15) / 16 * 16;
    p.m_floats = (size_t)(36 * p.mt * p.nbp + 15) / 16 * 16;
    return p;
}

static size_t wino_ws(int64_t M, int64_t C, int64_t OH, int64_t OW, int threads)
{
    if (M <= 0 || C <= 0 || OH <= 0 || OW <= 0)
        return 64;
    /* Bound over smaller outputs too: tile blocks and channel ranges at their caps. */
    const wino_plan p = wino_make_plan(M, C, OH, OW, threads);
    const int64_t mt = gemm_div_up(M, GEMM_MR) * GEMM_MR;
    const size_t v = (size_t)(36 * C * p.nbp_cap + 15) / 16 * 16;
    const size_t m = (size_t)(36 * mt * p.nbp_cap + 15) / 16 * 16;
    return (v + m) * (size_t)p.nt * sizeof(float);
}

typedef struct wino_args {
    int64_t M, C, H, W, pt, pl, OH, OW;
    const float *x;
    const char *packed;
    float *y;
    const odet_f32_epilogue *ep;
} wino_args;

/* One value of WINO_L tiles. */
typedef float wino_v __attribute__((vector_size(WINO_L * sizeof(float))));

/* v = B^T d B for WINO_L tiles (d, v: 36 values, row-major 6 x 6). */
static inline void wino_input_tf(wino_v *restrict v, const wino_v *restrict d)
{
    /* B^T rows: [1 -3/2 -2 3/2 1 0], [0 -1 1/2 5/2 1 0], [0 1 -5/2 1/2 1 0],
     * [0 -2 -1 2 1 0], [0 1/2 -1 -1/2 1 0], [0 1 -3/2 -2 3/2 1] */
    wino_v t[36];
    for (int c = 0; c < 6; c++) {
        const wino_v d0 = d[c], d1 = d[6 + c], d2 = d[12 + c], d3 = d[18 + c], d4 = d[24 + c],
                     d5 = d[30 + c];
        t[c] = d0 + d4 - 2.0f * d2 + 1.5f * (d3 - d1);
        t[6 + c] = d4 - d1 + 0.5f * d2 + 2.5f * d3;
        t[12 + c] = d4 + d1 - 2.5f * d2 + 0.5f * d3;
        t[18 + c] = d4 - d2 + 2.0f * (d3 - d1);
        t[24 + c] = d4 - d2 + 0.5f * (d1 - d3);
        t[30 + c] = d5 + d1 - 2.0f * d3 + 1.5f * (d4 - d2);
    }
    for (int r = 0; r < 6; r++) {
        const wino_v d0 = t[6 * r], d1 = t[6 * r + 1], d2 = t[6 * r + 2], d3 = t[6 * r + 3],
                     d4 = t[6 * r + 4], d5 = t[6 * r + 5];
        v[6 * r] = d0 + d4 - 2.0f * d2 + 1.5f * (d3 - d1);
        v[6 * r + 1] = d4 - d1 + 0.5f * d2 + 2.5f * d3;
        v[6 * r + 2] = d4 + d1 - 2.5f * d2 + 0.5f * d3;
        v[6 * r + 3] = d4 - d2 + 2.0f * (d3 - d1);
        v[6 * r + 4] = d4 - d2 + 0.5f * (d1 - d3);
        v[6 * r + 5] = d5 + d1 - 2.0f * d3 + 1.5f * (d4 - d2);
    }
}

/* o = A^T m A for WINO_L tiles (m: 36 values, o: 16 values, row-major). */
static inline void wino_output_tf(wino_v *restrict o, const wino_v *restrict m)
{
    /* A^T rows: [1 1 1 1 1 0], [0 1 -1 1/2 -2 0], [0 1 1 1/4 4 0], [0 1 -1 1/8 -8 1] */
    wino_v t[24];
    for (int c = 0; c < 6; c++) {
        const wino_v m0 = m[c], m1 = m[6 + c], m2 = m[12 + c], m3 = m[18 + c], m4 = m[24 + c],
                     m5 = m[30 + c];
        const wino_v a = m1 + m2, b = m1 - m2;
        t[c] = m0 + a + m3 + m4;
        t[6 + c] = b + 0.5f * m3 - 2.0f * m4;
        t[12 + c] = a + 0.25f * m3 + 4.0f * m4;
        t[18 + c] = b + 0.125f * m3 - 8.0f * m4 + m5;
    }
    for (int r = 0; r < 4; r++) {
        const wino_v m0 = t[6 * r], m1 = t[6 * r + 1], m2 = t[6 * r + 2], m3 = t[6 * r + 3],
                     m4 = t[6 * r + 4], m5 = t[6 * r + 5];
        const wino_v a = m1 + m2, b = m1 - m2;
        o[4 * r] = m0 + a + m3 + m4;
        o[4 * r + 1] = b + 0.5f * m3 - 2.0f * m4;
        o[4 * r + 2] = a + 0.25f * m3 + 4.0f * m4;
        o[4 * r + 3] = b + 0.125f * m3 - 8.0f * m4 + m5;
    }
}

/* Tiles of one lane group that lie in one tile row: lanes [a, b), their
 * windows start at row r0 and column c0 (of lane a) of the input / output. */
typedef struct wino_seg {
    int a, b;
    int64_t r0, c0;
} wino_seg;

/* Lane group [j, j + lanes) of tiles, cut at tile rows; (r0, c0) of the
 * windows with offsets (dr, dc) (minus the pads for the input). */
static int wino_segments(int64_t j, int lanes, int64_t TW, int64_t dr, int64_t dc,
                         wino_seg *seg)
{
    int n = 0;
    for (int l = 0; l < lanes;) {
        const int64_t th = (j + l) / TW, tw = (j + l) % TW;
        const int len = (int)gemm_min(lanes - l, TW - tw);
        seg[n].a = l;
        seg[n].b = l + len;
        seg[n].r0 = th * 4 + dr;
        seg[n].c0 = tw * 4 + dc;
        n++;
        l += len;
    }
    return n;
}

/* Rows of the window [r0, r0 + n) inside [0, H), as a bit mask. */
static inline unsigned wino_rows(int64_t r0, int n, int64_t H)
{
    unsigned m = 0;
    for (int u = 0; u < n; u++)
        if (r0 + u >= 0 && r0 + u < H)
            m |= 1u << u;
    return m;
}

/* Tiles [j0, j0 + nb) x output channels [m0, m1) on one thread. */
static void wino_task(const wino_args *a, const wino_plan *p, int64_t j0, int64_t nb, int64_t m0,
                      int64_t m1, float *V, float *Mt)
{
    const int64_t C = a->C, H = a->H, W = a->W, nbp = p->nbp, kcm = p->kc_max;
    const int64_t plane = H * W;
    wino_seg seg[WINO_L];
    /* 1. input transform into packed panels */
    for (int64_t l0 = 0; l0 < nb; l0 += WINO_L) {
        const int lanes = (int)gemm_min(WINO_L, nb - l0);
        const int ns = wino_segments(j0 + l0, lanes, p->TW, -a->pt, -a->pl, seg);
        unsigned rows[WINO_L];
        int lo[WINO_L], hi[WINO_L];
        for (int k = 0; k < ns; k++) {
            /* virtual row: lane l reads columns 4 l + q from c0 - 4 a */
            const int64_t base = seg[k].c0 - 4 * seg[k].a;
            rows[k] = wino_rows(seg[k].r0, 6, H);
            lo[k] = (int)(4 * seg[k].a > -base ? 4 * seg[k].a : -base);
            hi[k] = (int)gemm_min(4 * seg[k].b + 2, W - base);
            if (hi[k] < lo[k])
                hi[k] = lo[k];
        }
        for (int64_t c = 0; c < C; c++) {
            _Alignas(64) wino_v d[36], v[36], e[36];
            const float *xc = a->x + c * plane;
            if (ns > 1 && lanes < WINO_L)
                memset(d, 0, sizeof d);
            for (int k = 0; k < ns; k++) {
                const float *r = xc + seg[k].r0 * W + seg[k].c0 - 4 * seg[k].a;
                if (ns == 1) {
                    wino_load6(r, W, rows[k], lo[k], hi[k], d);
                    break;
                }
                wino_load6(r, W, rows[k], lo[k], hi[k], e);
                for (int x = 0; x < 36; x++)
                    for (int l = seg[k].a; l < seg[k].b; l++)
                        d[x][l] = e[x][l];
            }
            wino_input_tf(v, d);
            const int64_t pc = c / kcm * kcm, kc = gemm_min(kcm, C - pc);
            float *dst = V + pc * nbp + (l0 / GEMM_NR) * kc * GEMM_NR + (c - pc) * GEMM_NR +
                         l0 % GEMM_NR;
            for (int xi = 0; xi < 36; xi++)
                memcpy(dst + (size_t)xi * (size_t)(C * nbp), &v[xi], sizeof v[xi]);
        }
    }
    /* 2. the 36 products */
    const int64_t Mp = gemm_div_up(a->M, GEMM_MR) * GEMM_MR;
    const size_t ps = gemm_packed_size(a->M, C) / sizeof(float);
    for (int xi = 0; xi < 36; xi++) {
        const float *U = (const float *)(const void *)a->packed + (size_t)xi * ps;
        const float *Vx = V + (size_t)xi * (size_t)(C * nbp);
        float *Mx = Mt + (size_t)xi * (size_t)(p->mt * nbp);
        for (int64_t pc = 0; pc < C; pc += kcm) {
            const int64_t kc = gemm_min(kcm, C - pc);
            const int mode = pc ? GEMM_ACCUM : GEMM_STORE;
            for (int64_t jr = 0; jr < nb; jr += GEMM_NR) {
                const int nr = (int)gemm_min(GEMM_NR, nb - jr);
                for (int64_t ir = m0; ir < m1; ir += GEMM_MR) {
                    const int mr = (int)gemm_min(GEMM_MR, m1 - ir);
                    gemm_ukernel(GEMM_AP_BP, mr, nr, kc, U + pc * Mp + ir * kc, 0,
                                 Vx + pc * nbp + jr * kc, 0, Mx + (ir - m0) * nbp + jr, nbp, mode,
                                 0.0f, NULL);
                }
            }
        }
    }
    /* 3. output transform and epilogue */
    const odet_f32_epilogue *ep = a->ep;
    const int act = ep ? (int)ep->act : 0;
    const int64_t OH = a->OH, OW = a->OW;
    for (int64_t l0 = 0; l0 < nb; l0 += WINO_L) {
        const int lanes = (int)gemm_min(WINO_L, nb - l0);
        const int ns = wino_segments(j0 + l0, lanes, p->TW, 0, 0, seg);
        unsigned rows[WINO_L];
        int hi[WINO_L];
        for (int k = 0; k < ns; k++) {
            rows[k] = wino_rows(seg[k].r0, 4, OH);
            hi[k] = (int)gemm_min(4 * seg[k].b, OW - (seg[k].c0 - 4 * seg[k].a));
        }
        for (int64_t m = m0; m < m1; m++) {
            _Alignas(64) wino_v mm[36], o[16], e[16];
            const float *src = Mt + (m - m0) * nbp + l0;
            for (int xi = 0; xi < 36; xi++)
                memcpy(&mm[xi], src + (size_t)xi * (size_t)(p->mt * nbp), sizeof mm[xi]);
            if (lanes < WINO_L) /* columns past the block were never written */
                for (int xi = 0; xi < 36; xi++)
                    for (int l = lanes; l < WINO_L; l++)
                        mm[xi][l] = 0.0f;
            wino_output_tf(o, mm);
            if (ep && ep->bias)
                for (int k = 0; k < 16; k++)
                    o[k] += ep->bias[m];
            if (ep && ep->residual) {
                const float *res = ep->residual + m * ep->ldr;
                for (int k = 0; k < ns; k++) {
                    const float *r = res + seg[k].r0 * OW + seg[k].c0 - 4 * seg[k].a;
                    wino_load4(r, OW, rows[k], 4 * seg[k].a, hi[k], e);
                    for (int x = 0; x < 16; x++)
                        for (int l = seg[k].a; l < seg[k].b; l++)
                            o[x][l] += e[x][l];
                }
            }
            if (act)
                gemm_act_inplace((float *)o, 16 * WINO_L, act, ep->a, ep->b);
            float *ym = a->y + m * OH * OW;
            for (int k = 0; k < ns; k++)
                wino_store4(ym + seg[k].r0 * OW + seg[k].c0 - 4 * seg[k].a, OW, rows[k],
                            4 * seg[k].a, hi[k], o);
        }
    }
}

typedef struct wino_job {
    const wino_args *a;
    const wino_plan *p;
    float *buf;
} wino_job;

static void wino_job_task(void *ctx, int64_t t, int worker)
{
    const wino_job *j = ctx;
    const wino_plan *p = j->p;
    float *V = j->buf + (size_t)worker * (p->v_floats + p->m_floats);
    const int64_t tb = t / p->mb, mb = t % p->mb, j0 = tb * p->nbp, m0 = mb * p->mt;
    wino_task(j->a, p, j0, gemm_min(p->nbp, p->T - j0), m0, gemm_min(j->a->M, m0 + p->mt), V,
              V + p->v_floats);
}

static int wino_conv(int64_t M, int64_t C, const float *x, int64_t H, int64_t W, int64_t pt,
                     int64_t pl, int64_t OH, int64_t OW, const void *packed, float *y,
                     const odet_f32_epilogue *ep, void *ws, int threads)
{
    if (M <= 0 || OH <= 0 || OW <= 0)
        return 0;
    const wino_plan p = wino_make_plan(M, C, OH, OW, threads);
    const wino_args a = {M, C, H, W, pt, pl, OH, OW, x, packed, y, ep};
    const size_t per = p.v_floats + p.m_floats;
    float *buf = ws;
    if (!buf) {
        buf = aligned_alloc(64, per * (size_t)p.nt * sizeof(float));
        if (!buf)
            return -1;
    }
    wino_job j = {&a, &p, buf};
    odet_parallel_for(p.nt, p.tb * p.mb, wino_job_task, &j);
    if (buf != ws)
        free(buf);
    return 0;
}

#endif
