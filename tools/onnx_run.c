/* onnx-run MODEL.onnx OUTDIR IN0.pb [IN1.pb ...]
 * Runs a model on TensorProto inputs and writes OUTDIR/output_K.pb. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "odet/engine.h"
#include "odet/tensor_io.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: onnx-run [options] MODEL.onnx OUTDIR IN0.pb [IN1.pb ...]\n"
            "Feeds the graph inputs in order from ONNX TensorProto files and writes\n"
            "OUTDIR/output_K.pb (one per graph output, names kept).\n"
            "options:\n"
            "  --threads N   worker threads (default: all CPUs)\n"
            "  --repeat N    after one warm-up run, run N times and print the median time\n"
            "  --profile     print a per-node time table (of the last run) to stderr\n"
            "  --plan        print the memory plan (arena peak vs sum of activations)\n"
            "  -h, --help    this help\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_prof(const void *a, const void *b)
{
    const odet_node_profile *x = a, *y = b;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

static void print_profile(const odet_session *s)
{
    const odet_node_profile *p;
    size_t n = odet_session_profile(s, &p);
    odet_node_profile *c = malloc((n + 1) * sizeof *c);
    if (!c)
        return;
    memcpy(c, p, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_prof);
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += c[i].ms;
    fprintf(stderr, "%-10s %6s  %-20s %s\n", "ms", "%", "op", "node");
    for (size_t i = 0; i < n; i++)
        if (c[i].ms > 0)
            fprintf(stderr, "%-10.3f %6.2f  %-20s %s\n", c[i].ms,
                    total > 0 ? 100.0 * c[i].ms / total : 0.0, c[i].op_type, c[i].name);
    fprintf(stderr, "total %.3f ms over %zu nodes\n", total, n);
    free(c);
}

int main(int argc, char **argv)
{
    int threads = 0, repeat = 0, profile = 0, show_plan = 0;
    const char *pos[256];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--profile")) {
            profile = 1;
        } else if (!strcmp(argv[i], "--plan")) {
            show_plan = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "onnx-run: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (npos < 256) {
            pos[npos++] = argv[i];
        }
    }
    if (npos < 2 || threads < 0 || repeat < 0) {
        usage(stderr);
        return 2;
    }
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    odet_session *s = NULL;
    odet_tensor *in = NULL;
    int rc = 1, n_in = npos - 2;
    if (odet_model_load(pos[0], &m, err, sizeof err) != ODET_OK) {
        fprintf(stderr, "onnx-run: %s\n", err);
        return 1;
    }
    if ((size_t)n_in != odet_model_input_count(m)) {
        fprintf(stderr, "onnx-run: %s has %zu inputs, %d input files given\n", pos[0],
                odet_model_input_count(m), n_in);
        goto out;
    }
    in = calloc((size_t)n_in + 1, sizeof *in);
    if (!in)
        goto out;
    for (int i = 0; i < n_in; i++)
        if (odet_tensor_read_pb(pos[2 + i], &in[i], NULL, 0, err, sizeof err) != ODET_OK) {
            fprintf(stderr, "onnx-run: %s\n", err);
            goto out;
        }
    odet_session_options opt = {.threads = threads};
    if (odet_session_create(m, &opt, &s, err, sizeof err) != ODET_OK) {
        fprintf(stderr, "onnx-run: %s\n", err);
        goto out;
    }
    odet_session_set_profiling(s, profile);
    if (odet_session_run(s, in, (size_t)n_in, err, sizeof err) != ODET_OK) {
        fprintf(stderr, "onnx-run: %s: %s\n", pos[0], err);
        goto out;
    }
    if (repeat > 0) {
        double *t = malloc((size_t)repeat * sizeof *t);
        if (!t)
            goto out;
        for (int r = 0; r < repeat; r++) {
            double t0 = now_ms();
            if (odet_session_run(s, in, (size_t)n_in, err, sizeof err) != ODET_OK) {
                fprintf(stderr, "onnx-run: %s: %s\n", pos[0], err);
                free(t);
                goto out;
            }
            t[r] = now_ms() - t0;
        }
        qsort(t, (size_t)repeat, sizeof *t, cmp_double);
        double med = repeat % 2 ? t[repeat / 2] : 0.5 * (t[repeat / 2 - 1] + t[repeat / 2]);
        fprintf(stderr, "median %.3f ms (min %.3f, max %.3f) over %d runs\n", med, t[0],
                t[repeat - 1], repeat);
        free(t);
    }
    if (profile)
        print_profile(s);
    if (show_plan) {
        odet_plan_stats ps;
        odet_session_plan_stats(s, &ps);
        fprintf(stderr,
                "arena %zu bytes (sum of activations %zu, %.1f%%), scratch %zu, folded nodes %zu, "
                "dynamic values %zu\n",
                ps.arena_bytes, ps.activation_bytes,
                ps.activation_bytes ? 100.0 * ps.arena_bytes / ps.activation_bytes : 0.0,
                ps.scratch_bytes, ps.folded_nodes, ps.dynamic_values);
    }
    for (size_t k = 0; k < odet_model_output_count(m); k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/output_%zu.pb", pos[1], k);
        if (odet_tensor_write_pb(path, odet_session_output(s, k), odet_model_output_name(m, k),
                                 err, sizeof err) != ODET_OK) {
            fprintf(stderr, "onnx-run: %s\n", err);
            goto out;
        }
    }
    rc = 0;
out:
    if (in)
        for (int i = 0; i < n_in; i++)
            odet_tensor_release(&in[i]);
    free(in);
    odet_session_free(s);
    odet_model_free(m);
    return rc;
}
