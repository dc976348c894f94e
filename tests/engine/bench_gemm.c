/* SGEMM throughput of every kernel table this CPU supports.
 *
 *   bench_gemm [M N K [ta tb]]
 *
 * Without arguments: a square 512^3 product and a conv-like one
 * (64 x 12544 x 576: 64 output channels, 3x3x64 im2col, 112x112 positions).
 * Prints the best and median GFLOP/s over several runs after a warm-up, for 1
 * and 2 threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bench(const odet_kernels *k, int ta, int tb, int64_t M, int64_t N, int64_t K,
                  int threads)
{
    float *A = malloc((size_t)(M * K) * sizeof *A), *B = malloc((size_t)(K * N) * sizeof *B);
    float *C = malloc((size_t)(M * N) * sizeof *C);
    if (!A || !B || !C) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < M * K; i++)
        A[i] = (float)(i % 7) * 0.25f - 0.75f;
    for (int64_t i = 0; i < K * N; i++)
        B[i] = (float)(i % 5) * 0.5f - 1.0f;
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    const double flop = 2.0 * (double)M * (double)N * (double)K;
    /* Enough repeats for ~0.5 s of the scalar-free kernels, at least 5. */
    k->f32_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, threads);
    double t0 = now();
    k->f32_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, threads);
    double once = now() - t0;
    int reps = once > 0.0 ? (int)(0.5 / once) : 50;
    if (reps < 5)
        reps = 5;
    if (reps > 200)
        reps = 200;
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = 0; r < reps; r++) {
        t0 = now();
        k->f32_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, threads);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("%-7s M=%-5lld N=%-6lld K=%-5lld ta=%d tb=%d threads=%d  best %7.1f  median %7.1f "
           "GFLOP/s  (%.3f ms)\n",
           k->name, (long long)M, (long long)N, (long long)K, ta, tb, threads,
           flop / t[0] * 1e-9, flop / t[reps / 2] * 1e-9, t[reps / 2] * 1e3);
    free(t);
    free(A);
    free(B);
    free(C);
}

int main(int argc, char **argv)
{
    int64_t shapes[2][3] = {{512, 512, 512}, {64, 12544, 576}};
    int nshapes = 2, ta = 0, tb = 0;
    if (argc >= 4) {
        shapes[0][0] = atoll(argv[1]);
        shapes[0][1] = atoll(argv[2]);
        shapes[0][2] = atoll(argv[3]);
        nshapes = 1;
        if (argc >= 6) {
            ta = atoi(argv[4]);
            tb = atoi(argv[5]);
        }
    }
    for (int isa = 0; isa < ODET_ISA_COUNT; isa++) {
        const odet_kernels *k = odet_kernels_for((odet_isa)isa);
        if (!k)
            continue;
        for (int s = 0; s < nshapes; s++)
            for (int threads = 1; threads <= 2; threads++)
                bench(k, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], threads);
    }
    return 0;
}
