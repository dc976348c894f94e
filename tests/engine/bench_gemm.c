/* SGEMM throughput of every kernel table this CPU supports, and of whole
 * Conv / ConvTranspose nodes.
 *
 *   bench_gemm [M N K [ta tb]]
 *   bench_gemm conv|convt C H W M K STRIDE PAD [THREADS]
 *
 * Without arguments: a square 512^3 product and a conv-like one
 * (64 x 12544 x 576: 64 output channels, 3x3x64 im2col, 112x112 positions).
 * Prints the best and median GFLOP/s over several runs after a warm-up, for 1
 * and 2 threads. The conv form runs one node (square K x K kernel, weights
 * packed by the op's load-time hook, bias, fused Relu) with the kernels
 * odet_kernels_get() picks, and reports wall and process CPU time (the CPU
 * time of one thread is steady on a busy machine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "ops/op.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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

static odet_tensor bench_tensor(int rank, const int64_t *dims)
{
    odet_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = ODET_FLOAT;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    int64_t n = odet_tensor_numel(&t);
    t.data = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!t.data) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < n; i++)
        ((float *)t.data)[i] = (float)(i % 13) * 0.05f - 0.3f;
    return t;
}

/* One Conv / ConvTranspose node through its op definition. */
static int bench_conv(int transpose, int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr, "usage: bench_gemm conv|convt C H W M K STRIDE PAD [THREADS]\n");
        return 2;
    }
    const int64_t C = atoll(argv[2]), H = atoll(argv[3]), W = atoll(argv[4]), M = atoll(argv[5]);
    const int64_t K = atoll(argv[6]), S = atoll(argv[7]), P = atoll(argv[8]);
    const int threads = argc > 9 ? atoi(argv[9]) : 1;
    const odet_op_def *def = odet_op_lookup("", transpose ? "ConvTranspose" : "Conv", 11);
    odet_attr attrs[4];
    int64_t k2[2] = {K, K}, s2[2] = {S, S}, p4[4] = {P, P, P, P};
    memset(attrs, 0, sizeof attrs);
    attrs[0] = (odet_attr){.name = "kernel_shape", .type = ODET_ATTR_INTS, .n = 2, .ints = k2};
    attrs[1] = (odet_attr){.name = "strides", .type = ODET_ATTR_INTS, .n = 2, .ints = s2};
    attrs[2] = (odet_attr){.name = "pads", .type = ODET_ATTR_INTS, .n = 4, .ints = p4};
    attrs[3] = (odet_attr){.name = "odet.activation", .type = ODET_ATTR_STRING, .s = "Relu",
                           .s_len = 4};
    int ins[3] = {0, 1, 2}, outs[1] = {3};
    odet_node node = {.name = "bench", .op_type = transpose ? "ConvTranspose" : "Conv",
                      .domain = "", .opset = 11, .n_in = 3, .n_out = 1, .in = ins, .out = outs,
                      .n_attr = 4, .attrs = attrs, .def = def};
    const int64_t xd[4] = {1, C, H, W}, wd[4] = {transpose ? C : M, transpose ? M : C, K, K};
    const int64_t bd[1] = {M};
    odet_tensor X = bench_tensor(4, xd), Wt = bench_tensor(4, wd), B = bench_tensor(1, bd), Y;
    memset(&Y, 0, sizeof Y);
    char err[256];
    if (def->prepare(&node, err, sizeof err) != ODET_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const odet_tensor *in[3] = {&X, &Wt, &B}, *consts[3] = {NULL, &Wt, &B};
    uint32_t replaced = 0;
    if (def->pack && def->pack(&node, consts, NULL, &replaced, err, sizeof err) != ODET_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    odet_tensor *out[1] = {&Y};
    odet_op_ctx ctx = {.node = &node, .params = node.params, .n_in = 3, .n_out = 1, .in = in,
                       .out = out, .threads = threads, .err = err, .errlen = sizeof err};
    if (def->infer(&ctx) != ODET_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    Y.data = malloc(odet_tensor_bytes(&Y));
    ctx.scratch_bytes = def->scratch(&ctx);
    ctx.scratch = aligned_alloc(64, (ctx.scratch_bytes + 63) / 64 * 64 + 64);
    if (!Y.data || !ctx.scratch) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    enum { REPS = 15 };
    double wall[REPS], cpu[REPS];
    def->run(&ctx);
    for (int r = 0; r < REPS; r++) {
        double w0 = now(), c0 = cpu_now();
        def->run(&ctx);
        wall[r] = now() - w0;
        cpu[r] = cpu_now() - c0;
    }
    qsort(wall, REPS, sizeof wall[0], cmp_double);
    qsort(cpu, REPS, sizeof cpu[0], cmp_double);
    const int64_t OH = Y.dims[2], OW = Y.dims[3];
    const double macs =
        transpose ? (double)(C * H * W * M * K * K) : (double)(M * OH * OW * C * K * K);
    printf("%s C=%lld %lldx%lld -> M=%lld %lldx%lld k=%lld s=%lld p=%lld threads=%d (%s): "
           "wall %.3f ms, cpu %.3f ms (min), %.1f direct GMAC/s of cpu\n",
           transpose ? "convt" : "conv", (long long)C, (long long)H, (long long)W, (long long)M,
           (long long)OH, (long long)OW, (long long)K, (long long)S, (long long)P, threads,
           odet_kernels_get()->name, wall[REPS / 2] * 1e3, cpu[0] * 1e3, macs / cpu[0] * 1e-9);
    if (def->release)
        def->release(node.params);
    else
        free(node.params);
    free(X.data);
    free(Wt.data);
    free(B.data);
    free(Y.data);
    free(ctx.scratch);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "conv") == 0 || strcmp(argv[1], "convt") == 0))
        return bench_conv(strcmp(argv[1], "convt") == 0, argc, argv);
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
