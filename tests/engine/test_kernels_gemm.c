/* Differential tests of every f32_gemm the CPU supports, of the packed-A
 * form (f32_gemm_pack_a + f32_gemm_packed) and of the caller-workspace form
 * (f32_gemm_ws), against a plain double-precision product: odd sizes (tails
 * of every microkernel, the in-place "direct" B path for few rows and the
 * packed path), all transpose combinations, alpha/beta, padded leading
 * dimensions and several thread counts. Then the weights-stationary
 * f32_gemm_packed_ex with every kind of B source (matrix, transposed matrix,
 * panel producer, implicit im2col including negative pads) and every fused
 * epilogue (bias, residual, each activation), and the vector activations
 * against odet_f32_act. ISAs the CPU lacks are skipped, not failed. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/im2col.h"
#include "kernels/kernels.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float frand(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 40) / (double)(1u << 24)) * 2.0f - 1.0f;
}

typedef struct gemm_case {
    int ta, tb;
    int64_t M, N, K;
    int64_t pad; /* extra elements per row of A, B and C */
    float alpha, beta;
    int threads;
} gemm_case;

/* Runs one case on table k, through f32_gemm (packed == 0), f32_gemm_pack_a +
 * f32_gemm_packed (1) or f32_gemm_ws with a workspace of the queried size
 * (2); returns 0 or fills msg and returns -1. */
static int run_case(const odet_kernels *kern, int packed, const gemm_case *c, char *msg,
                    size_t msglen)
{
    char isa[64];
    snprintf(isa, sizeof isa, "%s%s", kern->name,
             packed == 1 ? " (packed A)" : packed == 2 ? " (workspace)" : "");
    const int64_t M = c->M, N = c->N, K = c->K;
    const int64_t ar = c->ta ? K : M, ac = c->ta ? M : K; /* stored shape of A */
    const int64_t br = c->tb ? N : K, bc = c->tb ? K : N;
    const int64_t lda = ac + c->pad, ldb = bc + c->pad, ldc = N + c->pad;
    size_t na = (size_t)(ar * lda) + 1, nb = (size_t)(br * ldb) + 1, nc = (size_t)(M * ldc) + 1;
    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
    float *C = malloc(nc * sizeof *C), *C0 = malloc(nc * sizeof *C0);
    ck_assert(A && B && C && C0);
    for (size_t i = 0; i < na; i++)
        A[i] = frand();
    for (size_t i = 0; i < nb; i++)
        B[i] = frand();
    for (size_t i = 0; i < nc; i++)
        C0[i] = c->beta == 0.0f ? NAN : frand(); /* beta == 0: C is write-only */
    memcpy(C, C0, nc * sizeof *C);
    if (packed == 2) {
        size_t bytes = kern->f32_gemm_ws_size(M, N, K, c->threads);
        ck_assert(bytes % 64 == 0);
        void *ws = aligned_alloc(64, bytes);
        ck_assert(ws != NULL);
        memset(ws, 0xff, bytes); /* garbage in the workspace must not matter */
        kern->f32_gemm_ws(c->ta, c->tb, M, N, K, c->alpha, A, lda, B, ldb, c->beta, C, ldc,
                          c->threads, ws);
        free(ws);
    } else if (packed) {
        size_t bytes = kern->f32_gemm_packed_size(M, K);
        ck_assert(bytes % 64 == 0);
        void *P = aligned_alloc(64, bytes);
        ck_assert(P != NULL);
        kern->f32_gemm_pack_a(c->ta, M, K, c->alpha, A, lda, P, c->threads);
        kern->f32_gemm_packed(c->tb, M, N, K, P, B, ldb, c->beta, C, ldc, c->threads);
        free(P);
    } else {
        kern->f32_gemm(c->ta, c->tb, M, N, K, c->alpha, A, lda, B, ldb, c->beta, C, ldc,
                       c->threads);
    }
    int rc = 0;
    for (int64_t i = 0; i < M && rc == 0; i++) {
        for (int64_t j = 0; j < ldc; j++) {
            float got = C[i * ldc + j];
            if (j >= N) { /* padding must be untouched */
                float was = C0[i * ldc + j];
                if (!(got == was || (isnan(got) && isnan(was)))) {
                    snprintf(msg, msglen, "%s: wrote C padding at (%lld, %lld)", isa,
                             (long long)i, (long long)j);
                    rc = -1;
                    break;
                }
                continue;
            }
            double acc = 0.0, mag = 0.0;
            for (int64_t k = 0; k < K; k++) {
                double a = c->ta ? A[k * lda + i] : A[i * lda + k];
                double b = c->tb ? B[j * ldb + k] : B[k * ldb + j];
                acc += a * b;
                mag += fabs(a * b);
            }
            double want = c->alpha * acc;
            if (c->beta != 0.0f)
                want += (double)c->beta * C0[i * ldc + j];
            double tol = 1e-6 * (fabs(c->alpha) * mag + fabs(c->beta) + 1.0) * (K > 16 ? 4 : 1);
            if (!(fabs(got - want) <= tol)) {
                snprintf(msg, msglen,
                         "%s: ta=%d tb=%d M=%lld N=%lld K=%lld pad=%lld alpha=%g beta=%g "
                         "threads=%d: C(%lld, %lld) = %.7g, want %.7g",
                         isa, c->ta, c->tb, (long long)M, (long long)N, (long long)K,
                         (long long)c->pad, c->alpha, c->beta, c->threads, (long long)i,
                         (long long)j, got, want);
                rc = -1;
                break;
            }
        }
    }
    if (rc == 0 && C[nc - 1] != C0[nc - 1] && !(isnan(C[nc - 1]) && isnan(C0[nc - 1]))) {
        snprintf(msg, msglen, "%s: wrote past the end of C", isa);
        rc = -1;
    }
    free(A);
    free(B);
    free(C);
    free(C0);
    return rc;
}

/* The tables to test: the scalar reference plus every ISA this CPU has. */
static int tables(const odet_kernels **out)
{
    int n = 0;
    for (int isa = 0; isa < ODET_ISA_COUNT; isa++) {
        const odet_kernels *k = odet_kernels_for((odet_isa)isa);
        if (k)
            out[n++] = k;
        else
            fprintf(stderr, "test_kernels_gemm: ISA %d not available on this CPU: skipped\n",
                    isa);
    }
    return n;
}

static void check_all(const gemm_case *c)
{
    const odet_kernels *tab[ODET_ISA_COUNT];
    int n = tables(tab);
    char msg[512];
    for (int t = 0; t < n; t++)
        for (int packed = 0; packed < 3; packed++)
            ck_assert_msg(run_case(tab[t], packed, c, msg, sizeof msg) == 0, "%s", msg);
}

static const int64_t small_sizes[] = {1, 2, 3, 7, 17, 31, 33, 64, 65};
#define N_SMALL (sizeof small_sizes / sizeof small_sizes[0])

/* Every (M, N, K) of the small sizes, for one transpose combination (_i). */
START_TEST(test_gemm_small_sizes)
{
    const int ta = _i >> 1, tb = _i & 1;
    static const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}};
    int n = 0;
    for (size_t a = 0; a < N_SMALL; a++)
        for (size_t b = 0; b < N_SMALL; b++)
            for (size_t k = 0; k < N_SMALL; k++, n++) {
                gemm_case c = {.ta = ta,
                               .tb = tb,
                               .M = small_sizes[a],
                               .N = small_sizes[b],
                               .K = small_sizes[k],
                               .pad = n % 3 == 0 ? 5 : 0,
                               .alpha = ab[n % 3][0],
                               .beta = ab[n % 3][1],
                               .threads = 1 + n % 2};
                check_all(&c);
            }
}
END_TEST

/* Sizes past every cache block (KC, MC, NC) and thread splits. */
START_TEST(test_gemm_large_sizes)
{
    static const int64_t shapes[][3] = {
        {257, 100, 63}, {100, 257, 300}, {63, 1100, 577}, {400, 33, 50}, {64, 1000, 576},
        {15, 2100, 9},  {1, 1000, 700},  {700, 1, 300},   {29, 47, 1030},
    };
    const int ta = _i >> 1, tb = _i & 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int threads = 1; threads <= 3; threads++) {
            gemm_case c = {.ta = ta,
                           .tb = tb,
                           .M = shapes[s][0],
                           .N = shapes[s][1],
                           .K = shapes[s][2],
                           .pad = (int64_t)s % 2,
                           .alpha = 1.0f,
                           .beta = s % 3 == 1 ? 0.5f : 0.0f,
                           .threads = threads};
            check_all(&c);
        }
    }
}
END_TEST

/* Degenerate shapes: K == 0 and alpha == 0 scale C by beta; M or N == 0 touch nothing. */
START_TEST(test_gemm_degenerate)
{
    const odet_kernels *tab[ODET_ISA_COUNT];
    int n = tables(tab);
    for (int t = 0; t < n; t++) {
        float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8}, C[4] = {1, 2, 3, 4};
        tab[t]->f32_gemm(0, 0, 2, 2, 0, 1.0f, A, 2, B, 2, 0.5f, C, 2, 1);
        ck_assert_msg(C[0] == 0.5f && C[3] == 2.0f, "%s: K = 0 must scale C", tab[t]->name);
        float D[4] = {NAN, NAN, NAN, NAN};
        tab[t]->f32_gemm(0, 0, 2, 2, 0, 1.0f, A, 2, B, 2, 0.0f, D, 2, 1);
        ck_assert_msg(D[0] == 0.0f && D[3] == 0.0f, "%s: K = 0, beta = 0 must zero C",
                      tab[t]->name);
        float E[4] = {1, 2, 3, 4};
        tab[t]->f32_gemm(1, 1, 2, 2, 2, 0.0f, A, 2, B, 2, 2.0f, E, 2, 2);
        ck_assert_msg(E[0] == 2.0f && E[3] == 8.0f, "%s: alpha = 0 must scale C", tab[t]->name);
        float F[1] = {42.0f};
        tab[t]->f32_gemm(0, 0, 0, 1, 2, 1.0f, A, 2, B, 1, 0.0f, F, 1, 1);
        tab[t]->f32_gemm(0, 0, 1, 0, 2, 1.0f, A, 2, B, 1, 0.0f, F, 1, 1);
        ck_assert_msg(F[0] == 42.0f, "%s: empty C must not be written", tab[t]->name);
        /* Packed form with K == 0: C = beta * C. */
        void *P = aligned_alloc(64, tab[t]->f32_gemm_packed_size(2, 0));
        float G[4] = {1, 2, 3, 4};
        tab[t]->f32_gemm_pack_a(0, 2, 0, 1.0f, A, 1, P, 1);
        tab[t]->f32_gemm_packed(0, 2, 2, 0, P, B, 2, 3.0f, G, 2, 1);
        ck_assert_msg(G[0] == 3.0f && G[3] == 12.0f, "%s: packed, K = 0 must scale C",
                      tab[t]->name);
        free(P);
    }
}
END_TEST

/* ---- f32_gemm_packed_ex ---- */

enum { SRC_MATRIX, SRC_MATRIX_T, SRC_PRODUCER, SRC_IM2COL, SRC_COUNT };

/* A producer that packs from a row-major K x N matrix (tests the callback path). */
typedef struct mat_src {
    const float *B;
    int64_t ldb;
} mat_src;

static void pack_from_matrix(const void *ctx, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                             int64_t nr, float *Bp)
{
    const mat_src *m = ctx;
    for (int64_t p = 0; p * nr < nc; p++)
        for (int64_t k = 0; k < kc; k++)
            for (int64_t j = 0; j < nr; j++) {
                int64_t col = p * nr + j;
                Bp[(p * kc + k) * nr + j] = col < nc ? m->B[(k0 + k) * m->ldb + j0 + col] : 0.0f;
            }
}

typedef struct ex_case {
    int64_t M, N, K;
    int src, bias, residual, threads, null_ws;
    odet_act act;
    float a, b;
} ex_case;

/* op(B)[k][j] of the im2col source: a 2-D conv of C = K / 4 channels with a
 * 2x2 kernel, stride 2 x 1, pads -1 (top) and 1 (left) over an input of
 * H x W, output positions N = OH x OW with OW = 5. */
static void im2col_geom(int64_t K, int64_t N, odet_im2col *g, int64_t *xsize)
{
    memset(g, 0, sizeof *g);
    const int64_t OW = 5, OH = (N + OW - 1) / OW;
    for (int d = 0; d < 3; d++)
        g->in[d] = g->k[d] = g->out[d] = g->stride[d] = g->dil[d] = 1;
    g->k[1] = g->k[2] = 2;
    g->stride[1] = 2;
    g->pad[1] = -1;
    g->pad[2] = 1;
    g->out[1] = OH;
    g->out[2] = OW;
    g->in[1] = 2 * OH + 1;
    g->in[2] = OW + 1;
    g->in_sp = g->in[1] * g->in[2];
    *xsize = (K / 4) * g->in_sp;
}

static double im2col_at(const odet_im2col *g, int64_t k, int64_t j)
{
    const int64_t c = k / 4, kh = k / 2 % 2, kw = k % 2;
    const int64_t oh = j / g->out[2], ow = j % g->out[2];
    const int64_t ih = oh * g->stride[1] - g->pad[1] + kh, iw = ow - g->pad[2] + kw;
    if (ih < 0 || ih >= g->in[1] || iw < 0 || iw >= g->in[2])
        return 0.0;
    return g->x[c * g->in_sp + ih * g->in[2] + iw];
}

static int run_ex(const odet_kernels *kern, const ex_case *c, char *msg, size_t msglen)
{
    const int64_t M = c->M, N = c->N, K = c->K;
    odet_im2col ic;
    int64_t xsize = 0;
    if (c->src == SRC_IM2COL)
        im2col_geom(K, N > 0 ? N : 1, &ic, &xsize);
    const int64_t ldb = c->src == SRC_MATRIX_T ? K + 3 : N + 2, ldc = N + 1, ldr = N + 4;
    const size_t nb = (size_t)((c->src == SRC_MATRIX_T ? N : K) * ldb + xsize + 1);
    float *A = malloc((size_t)(M * K + 1) * sizeof *A), *B = malloc(nb * sizeof *B);
    float *bias = malloc((size_t)(M + 1) * sizeof *bias);
    float *R = malloc((size_t)(M * ldr + 1) * sizeof *R), *C = malloc((size_t)(M * ldc + 1) * 4);
    ck_assert(A && B && bias && R && C);
    for (int64_t i = 0; i < M * K; i++)
        A[i] = frand();
    for (size_t i = 0; i < nb; i++)
        B[i] = frand();
    for (int64_t i = 0; i < M; i++)
        bias[i] = frand();
    for (int64_t i = 0; i < M * ldr; i++)
        R[i] = frand();
    for (int64_t i = 0; i < M * ldc + 1; i++)
        C[i] = NAN; /* write-only, and the padding must stay NaN */
    ic.x = B;
    void *P = aligned_alloc(64, kern->f32_gemm_packed_size(M, K));
    ck_assert(P != NULL);
    kern->f32_gemm_pack_a(0, M, K, 1.0f, A, K, P, 1);
    mat_src ms = {B, ldb};
    odet_f32_bsrc src = {0};
    switch (c->src) {
    case SRC_MATRIX: src.B = B; src.ldb = ldb; break;
    case SRC_MATRIX_T: src.B = B; src.ldb = ldb; src.trans = 1; break;
    case SRC_PRODUCER: src.pack = pack_from_matrix; src.ctx = &ms; break;
    default: src.conv = &ic; break;
    }
    const odet_f32_epilogue ep = {c->bias ? bias : NULL, c->residual ? R : NULL, ldr, c->act,
                                  c->a, c->b};
    void *ws = NULL;
    if (!c->null_ws) {
        size_t bytes = kern->f32_gemm_packed_ex_ws(M, N, K, c->threads);
        ck_assert(bytes % 64 == 0);
        ws = aligned_alloc(64, bytes);
        ck_assert(ws != NULL);
        memset(ws, 0xff, bytes);
    }
    kern->f32_gemm_packed_ex(M, N, K, P, &src, C, ldc, &ep, ws, c->threads);
    int rc = 0;
    for (int64_t i = 0; i < M && !rc; i++)
        for (int64_t j = 0; j < ldc && !rc; j++) {
            float got = C[i * ldc + j];
            if (j >= N) {
                if (!isnan(got)) {
                    snprintf(msg, msglen, "%s: wrote C padding at (%lld, %lld)", kern->name,
                             (long long)i, (long long)j);
                    rc = -1;
                }
                continue;
            }
            double acc = 0.0, mag = 1.0;
            for (int64_t k = 0; k < K; k++) {
                double b;
                if (c->src == SRC_IM2COL)
                    b = im2col_at(&ic, k, j);
                else if (c->src == SRC_MATRIX_T)
                    b = B[j * ldb + k];
                else
                    b = B[k * ldb + j];
                acc += (double)A[i * K + k] * b;
                mag += fabs((double)A[i * K + k] * b);
            }
            if (c->bias)
                acc += bias[i];
            if (c->residual)
                acc += R[i * ldr + j];
            double want = odet_f32_act((float)acc, c->act, c->a, c->b);
            double tol = 4e-6 * (mag + 2.0);
            if (!(fabs(got - want) <= tol)) {
                snprintf(msg, msglen,
                         "%s: M=%lld N=%lld K=%lld src=%d bias=%d res=%d act=%d threads=%d "
                         "ws=%s: C(%lld, %lld) = %.7g, want %.7g",
                         kern->name, (long long)M, (long long)N, (long long)K, c->src, c->bias,
                         c->residual, (int)c->act, c->threads, ws ? "given" : "NULL",
                         (long long)i, (long long)j, got, want);
                rc = -1;
            }
        }
    if (!rc && !isnan(C[M * ldc])) {
        snprintf(msg, msglen, "%s: wrote past the end of C", kern->name);
        rc = -1;
    }
    free(ws);
    free(P);
    free(A);
    free(B);
    free(bias);
    free(R);
    free(C);
    return rc;
}

static void check_ex(const ex_case *c)
{
    const odet_kernels *tab[ODET_ISA_COUNT];
    int n = tables(tab);
    char msg[512];
    for (int t = 0; t < n; t++)
        ck_assert_msg(run_ex(tab[t], c, msg, sizeof msg) == 0, "%s", msg);
}

/* Every source and epilogue over sizes with tails, depth blocks and thread splits. */
START_TEST(test_packed_ex)
{
    static const int64_t shapes[][3] = {
        {1, 1, 4},   {3, 17, 8},   {9, 33, 12},  {17, 64, 20},  {8, 100, 300}, {40, 70, 36},
        {70, 300, 64}, {5, 1200, 8}, {130, 40, 560}, {33, 257, 100},
    };
    const int src = _i;
    int n = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int act = 0; act < ODET_ACT_COUNT; act++, n++) {
            ex_case c = {.M = shapes[s][0],
                         .N = shapes[s][1],
                         .K = shapes[s][2],
                         .src = src,
                         .bias = n % 3 != 1,
                         .residual = n % 2,
                         .threads = 1 + n % 3,
                         .null_ws = n % 5 == 4,
                         .act = (odet_act)act,
                         .a = act == ODET_ACT_CLIP ? -0.5f : act == ODET_ACT_HARD_SIGMOID ? 0.3f
                                                                                          : 0.1f,
                         .b = act == ODET_ACT_CLIP ? 0.75f : 0.45f};
            check_ex(&c);
        }
}
END_TEST

/* A workspace queried for M x N x K serves every smaller product (callers
 * size it once for their largest block): the plan of a smaller one may cut
 * it differently. Exact-size buffers, so a sanitizer build sees any overrun. */
START_TEST(test_workspace_bound)
{
    const odet_kernels *tab[ODET_ISA_COUNT];
    int n = tables(tab);
    static const int64_t big[][3] = {{256, 256, 2304}, {64, 4096, 300}, {512, 64, 257}};
    static const int64_t small[][3] = {{256, 216, 2304}, {256, 1, 300}, {64, 33, 300},
                                       {9, 200, 256}, {512, 40, 256}, {1, 64, 2}};
    char msg[512];
    for (int t = 0; t < n; t++)
        for (size_t b = 0; b < sizeof big / sizeof big[0]; b++)
            for (int threads = 1; threads <= 3; threads++) {
                const size_t wb = tab[t]->f32_gemm_packed_ex_ws(big[b][0], big[b][1], big[b][2],
                                                                threads);
                const size_t gb =
                    tab[t]->f32_gemm_ws_size(big[b][0], big[b][1], big[b][2], threads);
                for (size_t q = 0; q < sizeof small / sizeof small[0]; q++) {
                    const int64_t M = small[q][0], N = small[q][1], K = small[q][2];
                    if (M > big[b][0] || N > big[b][1] || K > big[b][2])
                        continue;
                    ck_assert_msg(tab[t]->f32_gemm_packed_ex_ws(M, N, K, threads) <= wb &&
                                      tab[t]->f32_gemm_ws_size(M, N, K, threads) <= gb,
                                  "%s: workspace of %lld x %lld x %lld exceeds that of "
                                  "%lld x %lld x %lld",
                                  tab[t]->name, (long long)M, (long long)N, (long long)K,
                                  (long long)big[b][0], (long long)big[b][1],
                                  (long long)big[b][2]);
                    /* and a product really runs in it */
                    float *A = calloc((size_t)(M * K), sizeof *A);
                    float *B = calloc((size_t)(K * N), sizeof *B);
                    float *C = malloc((size_t)(M * N) * sizeof *C);
                    void *P = aligned_alloc(64, tab[t]->f32_gemm_packed_size(M, K));
                    void *ws = aligned_alloc(64, wb);
                    ck_assert(A && B && C && P && ws);
                    for (int64_t i = 0; i < M * K; i++)
                        A[i] = frand();
                    for (int64_t i = 0; i < K * N; i++)
                        B[i] = frand();
                    tab[t]->f32_gemm_pack_a(0, M, K, 1.0f, A, K, P, 1);
                    const odet_f32_bsrc src = {.B = B, .ldb = N};
                    tab[t]->f32_gemm_packed_ex(M, N, K, P, &src, C, N, NULL, ws, threads);
                    int bad = 0;
                    for (int64_t i = 0; i < M && !bad; i += 7)
                        for (int64_t j = 0; j < N && !bad; j += 5) {
                            double acc = 0.0, mag = 1.0;
                            for (int64_t k = 0; k < K; k++) {
                                acc += (double)A[i * K + k] * B[k * N + j];
                                mag += fabs((double)A[i * K + k] * B[k * N + j]);
                            }
                            bad = !(fabs(C[i * N + j] - acc) <= 4e-6 * mag);
                        }
                    snprintf(msg, sizeof msg, "%s: %lld x %lld x %lld in the workspace of "
                             "%lld x %lld x %lld, %d threads: wrong result",
                             tab[t]->name, (long long)M, (long long)N, (long long)K,
                             (long long)big[b][0], (long long)big[b][1], (long long)big[b][2],
                             threads);
                    ck_assert_msg(!bad, "%s", msg);
                    free(A);
                    free(B);
                    free(C);
                    free(P);
                    free(ws);
                }
            }
}
END_TEST

/* K == 0: C = act(bias + residual); M or N == 0: nothing written. */
START_TEST(test_packed_ex_degenerate)
{
    const odet_kernels *tab[ODET_ISA_COUNT];
    int n = tables(tab);
    for (int t = 0; t < n; t++) {
        float A[1] = {0}, B[4] = {0}, bias[2] = {1.0f, -2.0f}, R[4] = {0.5f, 0.25f, 1.0f, 3.0f};
        float C[4] = {NAN, NAN, NAN, NAN};
        void *P = aligned_alloc(64, tab[t]->f32_gemm_packed_size(2, 0));
        tab[t]->f32_gemm_pack_a(0, 2, 0, 1.0f, A, 1, P, 1);
        const odet_f32_bsrc src = {.B = B, .ldb = 2};
        const odet_f32_epilogue ep = {bias, R, 2, ODET_ACT_RELU, 0.0f, 0.0f};
        tab[t]->f32_gemm_packed_ex(2, 2, 0, P, &src, C, 2, &ep, NULL, 1);
        ck_assert_msg(C[0] == 1.5f && C[1] == 1.25f && C[2] == 0.0f && C[3] == 1.0f,
                      "%s: K = 0 must give act(bias + residual)", tab[t]->name);
        float D[1] = {42.0f};
        tab[t]->f32_gemm_packed_ex(0, 1, 0, P, &src, D, 1, &ep, NULL, 1);
        tab[t]->f32_gemm_packed_ex(1, 0, 0, P, &src, D, 1, &ep, NULL, 1);
        ck_assert_msg(D[0] == 42.0f, "%s: empty C must not be written", tab[t]->name);
        free(P);
    }
}
END_TEST

/* The tables' vector activations (f32_bias_act) against odet_f32_act, over
 * ordinary and extreme inputs and every tail length. */
START_TEST(test_activations)
{
    const odet_kernels *tab[ODET_ISA_COUNT];
    int n = tables(tab);
    enum { LEN = 203 };
    float x[LEN], y[LEN];
    for (int i = 0; i < LEN; i++)
        x[i] = i < 150 ? (float)(i - 75) * 0.137f : frand() * 200.0f;
    x[150] = 88.5f;
    x[151] = -88.5f;
    x[152] = 1e-30f;
    x[153] = -104.5f;
    x[154] = 120.0f;
    for (int t = 0; t < n; t++)
        for (int act = 0; act < ODET_ACT_COUNT; act++)
            for (int len = 1; len <= LEN; len += len < 40 ? 1 : 27) {
                const float a = act == ODET_ACT_CLIP ? -1.5f : 0.2f,
                            b = act == ODET_ACT_CLIP ? 2.5f : 0.5f, bias = 0.25f;
                memcpy(y, x, sizeof y);
                tab[t]->f32_bias_act(y, len, bias, (odet_act)act, a, b);
                for (int i = 0; i < LEN; i++) {
                    float want = i < len ? odet_f32_act(x[i] + bias, (odet_act)act, a, b) : x[i];
                    ck_assert_msg(fabsf(y[i] - want) <= 2e-6f * (1.0f + fabsf(want)),
                                  "%s: act %d, n = %d: f(%.7g) = %.7g, want %.7g", tab[t]->name,
                                  act, len, x[i] + bias, y[i], want);
                }
            }
}
END_TEST

static Suite *gemm_suite(void)
{
    Suite *s = suite_create("kernels_gemm");
    TCase *tc = tcase_create("f32_gemm");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_gemm_small_sizes, 0, 4);
    tcase_add_loop_test(tc, test_gemm_large_sizes, 0, 4);
    tcase_add_test(tc, test_gemm_degenerate);
    tcase_add_loop_test(tc, test_packed_ex, 0, SRC_COUNT);
    tcase_add_test(tc, test_packed_ex_degenerate);
    tcase_add_test(tc, test_workspace_bound);
    tcase_add_test(tc, test_activations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gemm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
