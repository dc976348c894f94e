/* ONNX backend node conformance runner.
 *
 * usage: conformance [--root DIR]... [--summary FILE] [--quiet] [--rtol R] [--atol A]
 *                    [FILTER...]
 * Runs every test case directory (model.onnx + test_data_set_N/{input,output}_K.pb)
 * under each root whose name contains one of the FILTERs (all when none).
 * A case is SKIPPED when odet reports the model or an input as unsupported
 * (the reason is printed); it FAILS on any other error or on a mismatch
 * beyond rtol 1e-3 / atol 1e-5 (exact for integer and bool outputs).
 * Exit status: 0 when nothing failed. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loader/tensor_proto.h"
#include "odet/engine.h"
#include "odet/tensor_io.h"
#include "onnx.pb-c.h"

static double RTOL = 1e-3, ATOL = 1e-5;

typedef struct op_count {
    char op[64];
    int pass, fail, skip;
} op_count;

static op_count ops[512];
static int n_ops;

static op_count *op_entry(const char *op)
{
    for (int i = 0; i < n_ops; i++)
        if (!strcmp(ops[i].op, op))
            return &ops[i];
    if (n_ops == 512)
        return &ops[511];
    snprintf(ops[n_ops].op, sizeof ops[n_ops].op, "%s", op);
    return &ops[n_ops++];
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Main op type of a test model: the op of its first node. */
static void model_op(const char *model, char *op, size_t oplen)
{
    snprintf(op, oplen, "?");
    uint8_t *buf;
    size_t len;
    char err[256];
    if (odet_read_file(model, &buf, &len, err, sizeof err) != ODET_OK)
        return;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!mp)
        return;
    if (mp->graph && mp->graph->n_node)
        snprintf(op, oplen, "%s", mp->graph->node[0]->op_type);
    onnx__model_proto__free_unpacked(mp, NULL);
}

static int compare(const odet_tensor *got, const odet_tensor *want, char *why, size_t whylen,
                   double *max_err)
{
    if (got->dtype != want->dtype) {
        snprintf(why, whylen, "dtype %s, expected %s", odet_dtype_name(got->dtype),
                 odet_dtype_name(want->dtype));
        return 0;
    }
    if (got->rank != want->rank ||
        memcmp(got->dims, want->dims, sizeof(int64_t) * (size_t)want->rank)) {
        int n = snprintf(why, whylen, "shape [");
        for (int d = 0; d < got->rank && n < (int)whylen; d++)
            n += snprintf(why + n, whylen - (size_t)n, "%s%lld", d ? "," : "", (long long)got->dims[d]);
        if (n < (int)whylen)
            n += snprintf(why + n, whylen - (size_t)n, "], expected [");
        for (int d = 0; d < want->rank && n < (int)whylen; d++)
            n += snprintf(why + n, whylen - (size_t)n, "%s%lld", d ? "," : "", (long long)want->dims[d]);
        if (n < (int)whylen)
            snprintf(why + n, whylen - (size_t)n, "]");
        return 0;
    }
    int64_t n = odet_tensor_numel(want);
    if (want->dtype == ODET_FLOAT || want->dtype == ODET_DOUBLE) {
        for (int64_t i = 0; i < n; i++) {
            double a = want->dtype == ODET_FLOAT ? ((float *)got->data)[i] : ((double *)got->data)[i];
            double b = want->dtype == ODET_FLOAT ? ((float *)want->data)[i] : ((double *)want->data)[i];
            if (isnan(a) && isnan(b))
                continue;
            if (isinf(b) && a == b)
                continue;
            double e = fabs(a - b);
            if (!(e <= *max_err))
                *max_err = isnan(e) ? INFINITY : e;
            if (!(e <= ATOL + RTOL * fabs(b))) {
                snprintf(why, whylen, "element %lld: got %.9g, expected %.9g", (long long)i, a, b);
                return 0;
            }
        }
        return 1;
    }
    if (want->dtype == ODET_FLOAT16) {
        /* compare as raw bit patterns except for a one-ulp slack */
        for (int64_t i = 0; i < n; i++) {
            int a = ((uint16_t *)got->data)[i], b = ((uint16_t *)want->data)[i];
            if (abs(a - b) > 1) {
                snprintf(why, whylen, "element %lld: got half 0x%04x, expected 0x%04x",
                         (long long)i, a, b);
                return 0;
            }
        }
        return 1;
    }
    size_t es = odet_dtype_size(want->dtype);
    for (int64_t i = 0; i < n; i++)
        if (memcmp((char *)got->data + i * es, (char *)want->data + i * es, es)) {
            snprintf(why, whylen, "element %lld differs (exact match required for %s)",
                     (long long)i, odet_dtype_name(want->dtype));
            return 0;
        }
    return 1;
}

typedef enum { R_PASS, R_FAIL, R_SKIP } result;

static result run_set(odet_session *s, const odet_model *m, const char set[4096], char *why,
                      size_t whylen, double *max_err)
{
    char path[8192];
    odet_tensor in[64], want[64];
    int n_in = 0, n_out = 0;
    result r = R_FAIL;
    char err[ODET_ERRBUF_SIZE];
    memset(in, 0, sizeof in);
    memset(want, 0, sizeof want);
    for (;; n_in++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", set, n_in);
        if (n_in == 64 || !file_exists(path))
            break;
        odet_status st = odet_tensor_read_pb(path, &in[n_in], NULL, 0, err, sizeof err);
        if (st != ODET_OK) {
            snprintf(why, whylen, "%s", err);
            r = st == ODET_ERR_UNSUPPORTED ? R_SKIP : R_FAIL;
            goto out;
        }
    }
    for (;; n_out++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", set, n_out);
        if (n_out == 64 || !file_exists(path))
            break;
        odet_status st = odet_tensor_read_pb(path, &want[n_out], NULL, 0, err, sizeof err);
        if (st != ODET_OK) {
            snprintf(why, whylen, "%s", err);
            r = st == ODET_ERR_UNSUPPORTED ? R_SKIP : R_FAIL;
            goto out;
        }
    }
    if ((size_t)n_in != odet_model_input_count(m)) {
        snprintf(why, whylen, "test feeds %d inputs, model has %zu (optional inputs omitted)", n_in,
                 odet_model_input_count(m));
        r = R_SKIP;
        goto out;
    }
    odet_status st = odet_session_run(s, in, (size_t)n_in, err, sizeof err);
    if (st != ODET_OK) {
        snprintf(why, whylen, "%s: %s", odet_status_str(st), err);
        r = st == ODET_ERR_UNSUPPORTED ? R_SKIP : R_FAIL;
        goto out;
    }
    if ((size_t)n_out > odet_model_output_count(m)) {
        snprintf(why, whylen, "model has %zu outputs, test expects %d", odet_model_output_count(m),
                 n_out);
        goto out;
    }
    for (int k = 0; k < n_out; k++) {
        char w[400];
        if (!compare(odet_session_output(s, (size_t)k), &want[k], w, sizeof w, max_err)) {
            snprintf(why, whylen, "output %d '%s': %s", k, odet_model_output_name(m, (size_t)k), w);
            goto out;
        }
    }
    r = R_PASS;
out:
    for (int i = 0; i < n_in; i++)
        odet_tensor_release(&in[i]);
    for (int i = 0; i < n_out; i++)
        odet_tensor_release(&want[i]);
    return r;
}

static result run_case(const char dir[4096], char *why, size_t whylen, double *max_err)
{
    char path[8192], err[ODET_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    odet_model *m = NULL;
    odet_status st = odet_model_load(path, &m, err, sizeof err);
    if (st != ODET_OK) {
        snprintf(why, whylen, "%s", err);
        return st == ODET_ERR_UNSUPPORTED ? R_SKIP : R_FAIL;
    }
    odet_session *s = NULL;
    odet_session_options opt = {.threads = 2};
    if (odet_session_create(m, &opt, &s, err, sizeof err) != ODET_OK) {
        snprintf(why, whylen, "%s", err);
        odet_model_free(m);
        return R_FAIL;
    }
    result r = R_SKIP;
    snprintf(why, whylen, "no test data sets");
    for (int k = 0;; k++) {
        char set[4096];
        if (snprintf(set, sizeof set, "%.4000s/test_data_set_%d", dir, k) >= (int)sizeof set ||
            !is_dir(set))
            break;
        r = run_set(s, m, set, why, whylen, max_err);
        if (r != R_PASS)
            break;
    }
    odet_session_free(s);
    odet_model_free(m);
    return r;
}

static int matches(const char *name, int nf, char **filters)
{
    if (nf == 0)
        return 1;
    for (int i = 0; i < nf; i++)
        if (strstr(name, filters[i]))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *roots[16];
    int n_roots = 0, quiet = 0;
    const char *summary = NULL;
    char *filters[256];
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc && n_roots < 16)
            roots[n_roots++] = argv[++i];
        else if (!strcmp(argv[i], "--summary") && i + 1 < argc)
            summary = argv[++i];
        else if (!strcmp(argv[i], "--rtol") && i + 1 < argc)
            RTOL = atof(argv[++i]);
        else if (!strcmp(argv[i], "--atol") && i + 1 < argc)
            ATOL = atof(argv[++i]);
        else if (!strcmp(argv[i], "--quiet"))
            quiet = 1;
        else if (nf < 256)
            filters[nf++] = argv[i];
    }
    if (n_roots == 0)
        roots[n_roots++] = "/usr/share/libonnx-testdata/data/node";
    int pass = 0, fail = 0, skip = 0;
    printf("conformance: kernels for %s\n", odet_cpu_isa());
    for (int r = 0; r < n_roots; r++) {
        DIR *d = opendir(roots[r]);
        if (!d) {
            printf("FAIL cannot open test root %s\n", roots[r]);
            fail++;
            continue;
        }
        char **names = NULL;
        size_t nn = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !matches(e->d_name, nf, filters))
                continue;
            if (nn == cap) {
                cap = cap ? cap * 2 : 256;
                char **nn2 = realloc(names, cap * sizeof *names);
                if (!nn2)
                    return 2;
                names = nn2;
            }
            names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        if (nn)
            qsort(names, nn, sizeof *names, cmp_str);
        for (size_t i = 0; i < nn; i++) {
            char dir[4096], model[4200], why[1024], op[64];
            snprintf(dir, sizeof dir, "%s/%s", roots[r], names[i]);
            snprintf(model, sizeof model, "%s/model.onnx", dir);
            if (!file_exists(model)) {
                free(names[i]);
                continue;
            }
            model_op(model, op, sizeof op);
            double max_err = 0;
            why[0] = '\0';
            result res = run_case(dir, why, sizeof why, &max_err);
            op_count *oc = op_entry(op);
            if (res == R_PASS) {
                pass++;
                oc->pass++;
                if (!quiet)
                    printf("PASS %s (max abs err %.3g)\n", names[i], max_err);
            } else if (res == R_SKIP) {
                skip++;
                oc->skip++;
                printf("SKIP %s: %s\n", names[i], why);
            } else {
                fail++;
                oc->fail++;
                printf("FAIL %s: %s\n", names[i], why);
            }
            fflush(stdout);
            free(names[i]);
        }
        free(names);
    }
    if (summary) {
        FILE *f = fopen(summary, "w");
        if (f) {
            fprintf(f, "| op | pass | fail | skip |\n|---|---|---|---|\n");
            for (int i = 0; i < n_ops; i++)
                fprintf(f, "| %s | %d | %d | %d |\n", ops[i].op, ops[i].pass, ops[i].fail,
                        ops[i].skip);
            fprintf(f, "| **total** | %d | %d | %d |\n", pass, fail, skip);
            fclose(f);
        }
    }
    printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
    return fail ? 1 : 0;
}
