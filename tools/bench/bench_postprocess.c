/* bench-postprocess: time the odet postprocess library on deterministic data.
 *
 *   bench-postprocess [--seed S] [--repeat R] [--filter SUBSTRING] [--case NAME]
 *
 * The data generator is shared with tools/bench/bench_postprocess_ref.py,
 * which times torchvision / scipy on the same numbers and runs this program
 * for the side-by-side table. Only +, -, *, / and floor are used on doubles,
 * so C and numpy produce bit-identical inputs; a checksum of every data set
 * is printed so the Python side can verify that.
 *
 * Output, one line per case:
 *   case <name> median_ms <t> min_ms <t> result <r> hash <h> data <checksum>
 * result is the number of kept boxes, or the assignment total; hash is an
 * order-independent hash of the kept indices / assignment.
 * Single thread; workspaces are allocated once, outside the timed region.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "odet/postprocess.h"

/* ---- shared deterministic generator ---- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform [0, 1) draw number i of stream s. */
static double uni(uint64_t seed, uint64_t stream, uint64_t i)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + stream * 0xD1B54A32D192ED03ull + i;
    return (double)(mix64(z) >> 11) * (1.0 / 9007199254740992.0);
}

/* Detector-like candidates: clusters of jittered boxes around objects in a
 * 1280 x 720 image, plus 15% background boxes with low scores. */
static void gen_nms(uint64_t seed, size_t n, int nclasses, odet_box *b, float *s, int32_t *c)
{
    const double W = 1280.0, H = 720.0;
    size_t objects = n / 40 > 8 ? n / 40 : 8;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)floor(uni(seed, 6, i) * (double)objects);
        double cx, cy, w, h, sc;
        int32_t cls;
        if (uni(seed, 14, i) < 0.15) {
            cx = uni(seed, 7, i) * W;
            cy = uni(seed, 8, i) * H;
            w = 10.0 + uni(seed, 9, i) * 200.0;
            h = 10.0 + uni(seed, 10, i) * 200.0;
            sc = uni(seed, 11, i) * 0.3;
            cls = (int32_t)floor(uni(seed, 13, i) * nclasses);
        } else {
            double ox = uni(seed, 1, k) * W, oy = uni(seed, 2, k) * H;
            double u3 = uni(seed, 3, k), u4 = uni(seed, 4, k);
            double ow = 16.0 + u3 * u3 * 300.0, oh = 16.0 + u4 * u4 * 300.0;
            cx = ox + (uni(seed, 7, i) - 0.5) * 0.3 * ow;
            cy = oy + (uni(seed, 8, i) - 0.5) * 0.3 * oh;
            w = ow * (0.75 + 0.5 * uni(seed, 9, i));
            h = oh * (0.75 + 0.5 * uni(seed, 10, i));
            sc = uni(seed, 11, i);
            cls = uni(seed, 12, i) < 0.9 ? (int32_t)floor(uni(seed, 5, k) * nclasses)
                                         : (int32_t)floor(uni(seed, 13, i) * nclasses);
        }
        b[i].x1 = (float)(cx - w / 2.0);
        b[i].y1 = (float)(cy - h / 2.0);
        b[i].x2 = (float)(cx + w / 2.0);
        b[i].y2 = (float)(cy + h / 2.0);
        s[i] = (float)sc;
        c[i] = cls;
    }
}

static void gen_iou_boxes(uint64_t seed, uint64_t stream, size_t n, odet_box *b)
{
    for (size_t i = 0; i < n; i++) {
        double x = uni(seed, stream, i) * 1000.0, y = uni(seed, stream + 1, i) * 1000.0;
        double w = 5.0 + uni(seed, stream + 2, i) * 200.0;
        double h = 5.0 + uni(seed, stream + 3, i) * 200.0;
        b[i].x1 = (float)x;
        b[i].y1 = (float)y;
        b[i].x2 = (float)(x + w);
        b[i].y2 = (float)(y + h);
    }
}

static void gen_cost(uint64_t seed, size_t n, float *m)
{
    for (size_t i = 0; i < n * n; i++)
        m[i] = (float)uni(seed, 30 + n, i);
}

/* Sum of the float bit patterns: identical data <=> identical checksum. */
static uint64_t checksum(const void *data, size_t bytes)
{
    const unsigned char *p = data;
    uint64_t sum = 0;
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
        uint32_t u;
        memcpy(&u, p + i, 4);
        sum += u;
    }
    return sum;
}

static uint64_t set_hash(const size_t *v, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h += mix64((uint64_t)v[i] + 1);
    return h;
}

/* ---- timing ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct timing {
    double median, min;
} timing;

static timing summarize(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    timing r = {n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]), t[0]};
    return r;
}

static void report(const char *name, timing t, double result, uint64_t hash, uint64_t data)
{
    printf("case %s median_ms %.4f min_ms %.4f result %.10g hash %llu data %llu\n", name, t.median,
           t.min, result, (unsigned long long)hash, (unsigned long long)data);
    fflush(stdout);
}

static const char *g_filter, *g_case;

static int selected(const char *name)
{
    if (g_case)
        return strcmp(name, g_case) == 0;
    return !g_filter || strstr(name, g_filter) != NULL;
}

/* ---- cases ---- */

static int bench_nms(uint64_t seed, size_t n, int nclasses, int repeat)
{
    char name[64];
    snprintf(name, sizeof name, "nms_%zu_%s", n, nclasses > 1 ? "80cls" : "agnostic");
    if (!selected(name))
        return 0;
    odet_box *b = malloc(n * sizeof *b);
    float *s = malloc(n * sizeof *s);
    int32_t *c = malloc(n * sizeof *c);
    size_t *keep = malloc(n * sizeof *keep);
    size_t ws_size = odet_nms_workspace_size(n);
    void *ws = malloc(ws_size);
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!b || !s || !c || !keep || !ws || !t) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    gen_nms(seed, n, nclasses > 1 ? nclasses : 80, b, s, c);
    odet_nms_params p = odet_nms_default_params(ODET_NMS_HARD);
    p.iou_threshold = 0.5f;
    const int32_t *cls = nclasses > 1 ? c : NULL;
    size_t nk = 0;
    for (int r = -1; r < repeat; r++) { /* r = -1: warm-up */
        double t0 = now_ms();
        int st = odet_nms_ws(b, s, cls, n, &p, keep, NULL, ws, ws_size, &nk);
        double t1 = now_ms();
        if (st != ODET_PP_OK) {
            fprintf(stderr, "%s: %s\n", name, odet_pp_status_str(st));
            return 1;
        }
        if (r >= 0)
            t[r] = t1 - t0;
    }
    uint64_t data = checksum(b, n * sizeof *b) + checksum(s, n * sizeof *s) +
                    checksum(c, n * sizeof *c);
    report(name, summarize(t, repeat), (double)nk, set_hash(keep, nk), data);
    free(b);
    free(s);
    free(c);
    free(keep);
    free(ws);
    free(t);
    return 0;
}

static int bench_iou(uint64_t seed, size_t n, int repeat)
{
    char name[64];
    snprintf(name, sizeof name, "iou_matrix_%zux%zu", n, n);
    if (!selected(name))
        return 0;
    odet_box *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    float *out = malloc(n * n * sizeof *out);
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!a || !b || !out || !t) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    gen_iou_boxes(seed, 20, n, a);
    gen_iou_boxes(seed, 24, n, b);
    for (int r = -1; r < repeat; r++) {
        double t0 = now_ms();
        int st = odet_iou_matrix(a, n, b, n, ODET_IOU, out);
        double t1 = now_ms();
        if (st != ODET_PP_OK)
            return 1;
        if (r >= 0)
            t[r] = t1 - t0;
    }
    double sum = 0.0;
    for (size_t i = 0; i < n * n; i++)
        sum += out[i];
    report(name, summarize(t, repeat), sum, 0, checksum(a, n * sizeof *a) + checksum(b, n * sizeof *b));
    free(a);
    free(b);
    free(out);
    free(t);
    return 0;
}

static int bench_assign(uint64_t seed, size_t n, int repeat)
{
    char name[64];
    snprintf(name, sizeof name, "lsa_%zux%zu", n, n);
    if (!selected(name))
        return 0;
    float *m = malloc(n * n * sizeof *m);
    int32_t *r2c = malloc(n * sizeof *r2c);
    size_t *pairs = malloc(n * sizeof *pairs);
    size_t ws_size = odet_linear_assignment_workspace_size(n, n, 0);
    void *ws = malloc(ws_size);
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!m || !r2c || !pairs || !ws || !t) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    gen_cost(seed, n, m);
    double total = 0.0;
    for (int r = -1; r < repeat; r++) {
        double t0 = now_ms();
        int st = odet_linear_assignment_ws(m, n, n, 0, r2c, NULL, &total, ws, ws_size);
        double t1 = now_ms();
        if (st != ODET_PP_OK) {
            fprintf(stderr, "%s: %s\n", name, odet_pp_status_str(st));
            return 1;
        }
        if (r >= 0)
            t[r] = t1 - t0;
    }
    for (size_t i = 0; i < n; i++)
        pairs[i] = i * n + (size_t)r2c[i];
    report(name, summarize(t, repeat), total, set_hash(pairs, n), checksum(m, n * n * sizeof *m));
    free(m);
    free(r2c);
    free(pairs);
    free(ws);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 2024;
    int repeat = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            g_filter = argv[++i];
        else if (!strcmp(argv[i], "--case") && i + 1 < argc)
            g_case = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--seed S] [--repeat R] [--filter SUBSTRING] [--case NAME]\n",
                    argv[0]);
            return 2;
        }
    }
    if (repeat < 1)
        repeat = 1;
    static const size_t NMS_SIZES[] = {1000, 10000, 50000};
    int rc = 0;
    for (size_t k = 0; k < 3; k++) {
        rc |= bench_nms(seed, NMS_SIZES[k], 80, repeat);
        rc |= bench_nms(seed, NMS_SIZES[k], 1, repeat);
    }
    rc |= bench_iou(seed, 1000, repeat);
    static const size_t LSA_SIZES[] = {100, 300, 1000};
    for (size_t k = 0; k < 3; k++)
        rc |= bench_assign(seed, LSA_SIZES[k], repeat);
    return rc;
}
