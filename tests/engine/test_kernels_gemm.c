/* Differential tests of every f32_gemm the CPU supports, and of the packed-A
 * form (f32_gemm_pack_a + f32_gemm_packed), against a plain double-precision
 * product: odd sizes (tails of every microkernel, the in-place "direct" B
 * path for few rows and the packed path), all transpose combinations,
 * alpha/beta, padded leading dimensions and several thread counts. ISAs the
 * CPU lacks are skipped, not failed. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Runs one case on table k, through f32_gemm or (packed != 0) through
 * f32_gemm_pack_a + f32_gemm_packed; returns 0 or fills msg and returns -1. */
static int run_case(const odet_kernels *kern, int packed, const gemm_case *c, char *msg,
                    size_t msglen)
{
    char isa[64];
    snprintf(isa, sizeof isa, "%s%s", kern->name, packed ? " (packed A)" : "");
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
    if (packed) {
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
        for (int packed = 0; packed < 2; packed++)
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

static Suite *gemm_suite(void)
{
    Suite *s = suite_create("kernels_gemm");
    TCase *tc = tcase_create("f32_gemm");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_gemm_small_sizes, 0, 4);
    tcase_add_loop_test(tc, test_gemm_large_sizes, 0, 4);
    tcase_add_test(tc, test_gemm_degenerate);
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
