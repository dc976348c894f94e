/* Detector API: PyTorch goldens for every architecture, bad images and
 * models, options, models without metadata, threads, allocation-free steady
 * state. (The trained models' accuracy end to end: test_detect_eval.sh.)
 *
 * Environment: ODET_MODELS_TEST_DATA (tests/models/data), ODET_TEST_MODELS
 * (tests/data/models). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "odet/detector.h"
#include "test_util.h"

#define BOX_TOL 1e-3   /* pixels: engine vs PyTorch, see make_detector_goldens.py */
#define SCORE_TOL 1e-4

/* ------------------------------------------------------------------------ */
/* Allocation counting (not under AddressSanitizer, which owns malloc)       */
/* ------------------------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#if defined(__GLIBC__) || defined(__linux__)
#define COUNT_ALLOCS 1
#else
#define COUNT_ALLOCS 0
#endif
#endif

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
static atomic_long n_allocs;

void *malloc(size_t n)
{
    atomic_fetch_add(&n_allocs, 1);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    atomic_fetch_add(&n_allocs, 1);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    atomic_fetch_add(&n_allocs, 1);
    return __libc_realloc(p, n);
}
int posix_memalign(void **p, size_t align, size_t n)
{
    atomic_fetch_add(&n_allocs, 1);
    void *q = __libc_memalign(align, n);
    if (!q)
        return 12; /* ENOMEM */
    *p = q;
    return 0;
}
void free(void *p)
{
    __libc_free(p);
}
#endif

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && v[0] ? v : fallback;
}

/* tests/data/models/NAME/model.onnx, or the dynamic-size variants in
 * tests/models/data/detector/NAME.onnx */
static const char *model_path(const char *name)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ % 4];
    size_t len = strlen(name);
    int n;
    if (len > 8 && strcmp(name + len - 8, "_dynamic") == 0)
        n = snprintf(b, sizeof buf[0], "%s/detector/%s.onnx",
                     env_or("ODET_MODELS_TEST_DATA", "tests/models/data"), name);
    else
        n = snprintf(b, sizeof buf[0], "%s/%s/model.onnx",
                     env_or("ODET_TEST_MODELS", "tests/data/models"), name);
    ck_assert(n > 0 && (size_t)n < sizeof buf[0]);
    return b;
}

static odet_detector *load_ok(const char *path, const odet_detector_options *o)
{
    char err[ODET_ERRBUF_SIZE] = "";
    odet_detector *d = NULL;
    odet_status st = odet_detector_load(path, o, &d, err, sizeof err);
    ck_assert_msg(st == ODET_OK, "%s: %s (%s)", path, odet_status_str(st), err);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* Expect a load failure with status `want` and message parts. */
static void load_fail(const char *path, const odet_detector_options *o, odet_status want,
                      const char *sub1, const char *sub2)
{
    char err[ODET_ERRBUF_SIZE] = "";
    odet_detector *d = (odet_detector *)&err;
    odet_status st = odet_detector_load(path, o, &d, err, sizeof err);
    printf("load %s -> %s: %s\n", path, odet_status_str(st), err);
    ck_assert_msg(st == want, "got %s (%s), want %s", odet_status_str(st), err,
                  odet_status_str(want));
    ck_assert_ptr_null(d);
    if (sub1)
        ck_assert_msg(strstr(err, sub1), "'%s' not in: %s", sub1, err);
    if (sub2)
        ck_assert_msg(strstr(err, sub2), "'%s' not in: %s", sub2, err);
}

static odet_results detect_ok(odet_detector *d, const odet_image *img)
{
    char err[ODET_ERRBUF_SIZE] = "";
    odet_results r;
    odet_status st = odet_detect(d, img, &r, err, sizeof err);
    ck_assert_msg(st == ODET_OK, "detect: %s (%s)", odet_status_str(st), err);
    return r;
}

/* Same detections, bit for bit. */
static void same_results(const odet_results *a, const odet_results *b)
{
    ck_assert_uint_eq(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        ck_assert_int_eq(a->objects[i].class_id, b->objects[i].class_id);
        ck_assert(memcmp(&a->objects[i].box, &b->objects[i].box, sizeof(odet_box)) == 0);
        ck_assert(a->objects[i].score == b->objects[i].score);
    }
}

/* A copy of results (they live in the context). */
typedef struct saved {
    size_t count;
    odet_object obj[128];
} saved;

static void save(saved *s, const odet_results *r)
{
    ck_assert_uint_le(r->count, 128);
    s->count = r->count;
    memcpy(s->obj, r->objects, r->count * sizeof *r->objects);
}

static void same_saved(const saved *s, const odet_results *r)
{
    odet_results a = {s->count, s->obj, 0, 0, 0, 0, {0, 0, 0}};
    same_results(&a, r);
}

/* Whole file -> malloc'ed buffer. */
static uint8_t *read_all(const char *path, size_t *len)
{
    uint8_t *b = tu_read_file(path, len);
    ck_assert_msg(b != NULL, "cannot read %s", path);
    return b;
}

static void write_all(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, len, f), len);
    fclose(f);
}

/* Replace every occurrence of `from` by `to` (same length). Returns the count. */
static int patch(uint8_t *b, size_t len, const char *from, const char *to)
{
    size_t n = strlen(from);
    ck_assert_uint_eq(n, strlen(to));
    int k = 0;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(b + i, from, n) == 0) {
            memcpy(b + i, to, n);
            k++;
        }
    return k;
}

/* A copy of a test model with byte patches applied, in a scratch file. */
static const char *patched_model(const char *name, const char *tag, const char *from1,
                                 const char *to1, const char *from2, const char *to2)
{
    size_t len;
    uint8_t *b = read_all(model_path(name), &len);
    ck_assert_int_gt(patch(b, len, from1, to1), 0);
    if (from2)
        ck_assert_int_gt(patch(b, len, from2, to2), 0);
    char file[128];
    snprintf(file, sizeof file, "%s_%s.onnx", name, tag);
    const char *p = tu_tmp(file);
    static char keep[4][1024];
    static int k;
    char *out = keep[k++ % 4];
    snprintf(out, sizeof keep[0], "%s", p);
    write_all(out, b, len);
    free(b);
    return out;
}

/* ------------------------------------------------------------------------ */
/* Goldens                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct golden_det {
    int label;
    double score, box[4];
} golden_det;

typedef struct golden_case {
    char model[64], image[128];
    double threshold;
    size_t count;
    golden_det det[64];
} golden_case;

static size_t read_goldens(golden_case *cases, size_t cap)
{
    FILE *f = fopen(tu_data("detector/expected.txt"), "r");
    ck_assert_msg(f != NULL, "cannot open detector/expected.txt");
    char line[512];
    size_t n = 0;
    golden_case *c = NULL;
    size_t got = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (strncmp(line, "case ", 5) == 0) {
            ck_assert_uint_lt(n, cap);
            c = &cases[n++];
            ck_assert_int_eq(sscanf(line, "case %63s %127s %lf %zu", c->model, c->image,
                                    &c->threshold, &c->count),
                             4);
            ck_assert_uint_le(c->count, 64);
            got = 0;
        } else {
            ck_assert_ptr_nonnull(c);
            ck_assert_uint_lt(got, c->count);
            golden_det *g = &c->det[got++];
            ck_assert_int_eq(sscanf(line, "%d %lf %lf %lf %lf %lf", &g->label, &g->score,
                                    &g->box[0], &g->box[1], &g->box[2], &g->box[3]),
                             6);
        }
    }
    fclose(f);
    return n;
}

/* Compare with a golden case; prints the first mismatch and returns 1, else 0. */
static int compare_golden(const golden_case *c, const odet_results *r, double *max_box,
                          double *max_score)
{
    if (r->count != c->count) {
        printf("MISMATCH %s %s: %zu detections, golden %zu\n", c->model, c->image, r->count,
               c->count);
        return 1;
    }
    for (size_t i = 0; i < c->count; i++) {
        const odet_object *o = &r->objects[i];
        const golden_det *g = &c->det[i];
        if (o->class_id != g->label) {
            printf("MISMATCH %s %s #%zu: class %d, golden %d\n", c->model, c->image, i,
                   o->class_id, g->label);
            return 1;
        }
        const float b[4] = {o->box.x1, o->box.y1, o->box.x2, o->box.y2};
        for (int k = 0; k < 4; k++) {
            double e = fabs(b[k] - g->box[k]);
            if (!(e <= BOX_TOL)) {
                printf("MISMATCH %s %s #%zu: box[%d] %.5f, golden %.5f\n", c->model, c->image,
                       i, k, b[k], g->box[k]);
                return 1;
            }
            *max_box = e > *max_box ? e : *max_box;
        }
        double es = fabs(o->score - g->score);
        if (!(es <= SCORE_TOL)) {
            printf("MISMATCH %s %s #%zu: score %.7f, golden %.7f\n", c->model, c->image, i,
                   (double)o->score, g->score);
            return 1;
        }
        *max_score = es > *max_score ? es : *max_score;
    }
    return 0;
}

START_TEST(test_goldens)
{
    static golden_case cases[16];
    size_t n = read_goldens(cases, 16);
    ck_assert_uint_eq(n, 12);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const golden_case *c = &cases[i];
        odet_detector_options o;
        odet_detector_options_init(&o);
        o.score_threshold = (float)c->threshold;
        o.threads = 1;
        odet_detector *d = load_ok(model_path(c->model), &o);
        char name[160];
        snprintf(name, sizeof name, "detector/%s", c->image);
        odet_image_buf *img = tu_load(name);
        const odet_image *v = odet_image_buf_view(img);
        odet_results r = detect_ok(d, v);
        double mb = 0, ms = 0;
        bad += compare_golden(c, &r, &mb, &ms);
        printf("%-18s %-32s %2zu detections (tensor %dx%d), max |box - torch| %.2e px, "
               "max |score - torch| %.2e\n",
               c->model, c->image, r.count, r.tensor_width, r.tensor_height, mb, ms);
        if (strstr(c->model, "_dynamic")) {
            int w, h;
            odet_detector_input_size(d, &w, &h);
            ck_assert_int_eq(w, 0);
            ck_assert_int_eq(h, 0);
        }
        ck_assert_int_eq(r.image_width, v->width);
        ck_assert_int_eq(r.image_height, v->height);
        ck_assert(r.timings.preprocess_ms >= 0 && r.timings.inference_ms >= 0 &&
                  r.timings.postprocess_ms >= 0);
        saved first;
        save(&first, &r);

        /* the same pixels in other layouts give the same detections */
        static const odet_pixel_format fmts[] = {ODET_PIXEL_BGR, ODET_PIXEL_RGBA,
                                                 ODET_PIXEL_BGRA};
        for (int f = 0; f < 3; f++) {
            odet_image other;
            uint8_t *mem = tu_convert(v, fmts[f], 7, &other);
            odet_results r2 = detect_ok(d, &other);
            same_saved(&first, &r2);
            free(mem);
        }
        /* a second context and multi-threaded engine: same result */
        odet_detector_context *ctx = NULL;
        char err[ODET_ERRBUF_SIZE];
        ck_assert_int_eq(odet_detector_context_create(d, &ctx, err, sizeof err), ODET_OK);
        odet_results r3;
        ck_assert_int_eq(odet_detect_ctx(ctx, v, &r3, err, sizeof err), ODET_OK);
        same_saved(&first, &r3);
        odet_detector_context_free(ctx);

        odet_image_buf_free(img);
        odet_detector_free(d);
    }
    fflush(stdout);
    ck_assert_msg(bad == 0, "%d of %zu cases differ from PyTorch (see MISMATCH lines)", bad, n);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Bad inputs                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(test_bad_images)
{
    static const char *const archs[] = {"centernet", "centernet_dcn", "detr", "vfnet"};
    static const char *const broken[] = {"truncated.jpg", "huge_100000x100000.png", "text.png",
                                         "empty.png", "truncated.png"};
    static const char *const odd[] = {"pixel_1x1.png", "rgb16_19x13.png", "gray_33x17.png",
                                      "rgba_31x23.png", "wide_20000x10.png"};
    char err[ODET_ERRBUF_SIZE];
    for (int a = 0; a < 4; a++) {
        odet_detector *d = load_ok(model_path(archs[a]), NULL);
        /* files that cannot be decoded fail at load, naming the file; the
         * detector stays usable */
        for (int i = 0; i < 5; i++) {
            odet_image_buf *b = NULL;
            odet_status st = odet_image_load(tu_data(broken[i]), &b, err, sizeof err);
            ck_assert_int_ne(st, ODET_OK);
            ck_assert_ptr_null(b);
            ck_assert_ptr_nonnull(strstr(err, broken[i]));
        }
        /* odd but valid images: finite detections inside a sane range */
        for (int i = 0; i < 4; i++) {
            odet_image_buf *b = NULL;
            ck_assert_int_eq(odet_image_load(tu_data(odd[i]), &b, err, sizeof err), ODET_OK);
            const odet_image *v = odet_image_buf_view(b);
            odet_results r = detect_ok(d, v);
            ck_assert_uint_le(r.count, 100);
            for (size_t k = 0; k < r.count; k++) {
                const odet_object *o = &r.objects[k];
                ck_assert(isfinite(o->box.x1) && isfinite(o->box.y1) && isfinite(o->box.x2) &&
                          isfinite(o->box.y2));
                ck_assert(o->score >= 0.0f && o->score <= 1.0f);
                ck_assert_ptr_nonnull(o->class_name);
            }
            odet_image_buf_free(b);
        }
        /* a gray view and an RGBA view of the same pixels as the RGB file */
        odet_image_buf *g = tu_load("gray_33x17.png");
        odet_image gv;
        uint8_t *gm = tu_convert(odet_image_buf_view(g), ODET_PIXEL_GRAY, 3, &gv);
        odet_results rg = detect_ok(d, &gv);
        saved sg;
        save(&sg, &rg);
        odet_results rr = detect_ok(d, odet_image_buf_view(g));
        same_saved(&sg, &rr);
        free(gm);
        odet_image_buf_free(g);

        /* invalid views */
        uint8_t px[12] = {0};
        odet_image bad[] = {
            {0, 4, 12, ODET_PIXEL_RGB, px},      /* width 0 */
            {4, 1, 12, ODET_PIXEL_RGB, NULL},    /* no data */
            {4, 1, 5, ODET_PIXEL_RGB, px},       /* stride too small */
            {4, 1, 12, (odet_pixel_format)9, px} /* bad format */
        };
        for (int i = 0; i < 4; i++) {
            odet_results r;
            r.count = 77;
            odet_status st = odet_detect(d, &bad[i], &r, err, sizeof err);
            ck_assert_int_eq(st, ODET_ERR_INVALID_ARG);
            ck_assert_uint_eq(r.count, 0);
        }
        odet_results r;
        ck_assert_int_eq(odet_detect(d, NULL, &r, err, sizeof err), ODET_ERR_INVALID_ARG);
        ck_assert_int_eq(odet_detect(NULL, &bad[0], &r, err, sizeof err), ODET_ERR_INVALID_ARG);
        ck_assert_int_eq(odet_detect(d, &bad[0], NULL, err, sizeof err), ODET_ERR_INVALID_ARG);
        /* too large for the limits: refused before any work */
        odet_image huge = {20000, 10, 60000, ODET_PIXEL_RGB, px};
        ck_assert_int_eq(odet_detect(d, &huge, &r, err, sizeof err), ODET_ERR_LIMIT);
        odet_detector_free(d);
    }
}
END_TEST

START_TEST(test_bad_models)
{
    odet_detector_options o;
    odet_detector_options_init(&o);
    /* outputs that do not fit the adapter: the message names the output */
    o.arch = ODET_ARCH_CENTERNET;
    load_fail(model_path("detr"), &o, ODET_ERR_SHAPE, "'pred_logits'", "[1,C,H/4,W/4]");
    load_fail(model_path("vfnet"), &o, ODET_ERR_SHAPE, "no output named 'hm'", "cls_score_0");
    o.arch = ODET_ARCH_DETR;
    load_fail(model_path("centernet"), &o, ODET_ERR_SHAPE, "no output named 'pred_logits'",
              "'hm' [1,3,24,32]");
    load_fail(model_path("vfnet"), &o, ODET_ERR_SHAPE, "no output named 'pred_logits'", NULL);
    o.arch = ODET_ARCH_VFNET;
    load_fail(model_path("centernet"), &o, ODET_ERR_SHAPE, "no output named 'cls_score_0'",
              NULL);
    load_fail(model_path("detr"), &o, ODET_ERR_SHAPE, "detr", "cls_score_0");

    /* outputs named differently (exported elsewhere) are bound by position */
    odet_detector *d = load_ok(patched_model("centernet", "renamed", "\x02wh", "\x02xx", "\x02hm",
                                             "\x02yy"),
                               NULL);
    odet_detector *ref = load_ok(model_path("centernet"), NULL);
    odet_image_buf *img = tu_load("detector/noise_200x150_b0_c70_s100.png");
    odet_results r1 = detect_ok(d, odet_image_buf_view(img));
    odet_results r2 = detect_ok(ref, odet_image_buf_view(img));
    ck_assert_uint_gt(r1.count, 0);
    same_results(&r1, &r2);
    odet_image_buf_free(img);
    odet_detector_free(d);
    odet_detector_free(ref);
    /* ... but a model with too few outputs is refused, listing them */

    /* files that are not models */
    load_fail(tu_data("text.png"), NULL, ODET_ERR_PARSE, "text.png", NULL);
    load_fail(tu_data("does_not_exist.onnx"), NULL, ODET_ERR_IO, "does_not_exist.onnx", NULL);
    load_fail(tu_data("empty.png"), NULL, ODET_ERR_PARSE, NULL, NULL);
    /* an image file is not a model either */
    load_fail(tu_data("detector/noise_90x130_b0_c70_s112.png"), NULL, ODET_ERR_PARSE, NULL, NULL);

    /* malformed metadata names the key and the value */
    load_fail(patched_model("centernet", "badsize", "96x128", "96?128", NULL, NULL), NULL,
              ODET_ERR_INVALID_ARG, "odet.input_size", "96?128");
    load_fail(patched_model("centernet", "badarch", "centernet", "centerneu", NULL, NULL), NULL,
              ODET_ERR_INVALID_ARG, "odet.arch", "centernet, detr, vfnet");
    load_fail(patched_model("detr", "badmean", "0.485,0.456", "0.485;0.456", NULL, NULL), NULL,
              ODET_ERR_INVALID_ARG, "odet.mean", "3 comma-separated numbers");
    load_fail(patched_model("vfnet", "badstride", "8,16,32,64,128", "8,16,32,64,1x8", NULL,
                            NULL),
              NULL, ODET_ERR_INVALID_ARG, "odet.strides", NULL);
    /* strides that do not match the outputs */
    load_fail(patched_model("vfnet", "stride", "8,16,32,64,128", "8,16,32,64,256", NULL, NULL),
              NULL, ODET_ERR_SHAPE, "'cls_score_4'", "ceil(H/256)");
    load_fail(patched_model("centernet", "ostride", "odet.output_stride\x12\x01" "4",
                            "odet.output_stride\x12\x01" "8", NULL, NULL),
              NULL, ODET_ERR_SHAPE, "'hm'", "[1,C,H/8,W/8] = [1,3,12,16], got [1,3,24,32]");
    load_fail(patched_model("centernet", "names", "class0,class1,class2", "class0,class1;class2",
                            NULL, NULL),
              NULL, ODET_ERR_INVALID_ARG, "odet.class_names has 2 names", NULL);
    load_fail(patched_model("centernet", "ncls", "odet.num_classes\x12\x01" "3",
                            "odet.num_classes\x12\x01" "4", NULL, NULL),
              NULL, ODET_ERR_SHAPE, "[1,4,24,32], got [1,3,24,32]", NULL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Models without odet metadata, options                                     */
/* ------------------------------------------------------------------------ */

START_TEST(test_no_metadata)
{
    /* "odet." -> "xdet.": the model carries no odet metadata at all */
    const char *cn = patched_model("centernet", "nometa", "odet.", "xdet.", NULL, NULL);
    const char *dt = patched_model("detr", "nometa", "odet.", "xdet.", NULL, NULL);
    load_fail(cn, NULL, ODET_ERR_INVALID_ARG, "no odet.arch", "centernet, detr, vfnet");

    static golden_case cases[16];
    size_t n = read_goldens(cases, 16);
    for (size_t i = 0; i < n; i++) {
        const golden_case *c = &cases[i];
        int is_cn = strcmp(c->model, "centernet") == 0, is_detr = strcmp(c->model, "detr") == 0;
        if (!is_cn && !is_detr)
            continue;
        odet_detector_options o;
        odet_detector_options_init(&o);
        o.arch = is_cn ? ODET_ARCH_CENTERNET : ODET_ARCH_DETR;
        o.score_threshold = (float)c->threshold;
        /* the preprocessing spelled out, as for a model exported elsewhere */
        if (is_cn) {
            static const float mean[3] = {0.40789654f, 0.44719302f, 0.47026115f};
            static const float std[3] = {0.28863828f, 0.27408164f, 0.27809835f};
            o.preprocess_method = ODET_PRE_AFFINE_CENTERNET;
            o.channel_order = ODET_CHANNELS_BGR;
            o.use_mean_std = 1;
            memcpy(o.mean, mean, sizeof mean);
            memcpy(o.std, std, sizeof std);
            o.input_width = 128;
            o.input_height = 96;
        }
        static const char *const names[] = {"n0", "n1", "n2", "n3", "n4"};
        o.class_names = names;
        o.num_class_names = is_cn ? 3 : 5;
        odet_detector *d = load_ok(is_cn ? cn : dt, &o);
        ck_assert_int_eq(odet_detector_arch(d), o.arch);
        ck_assert_uint_eq(odet_detector_class_count(d), o.num_class_names);
        ck_assert_str_eq(odet_detector_class_name(d, 1), "n1");
        ck_assert_ptr_null(odet_detector_class_name(d, 7));
        ck_assert_ptr_null(odet_detector_class_name(d, -1));
        char name[160];
        snprintf(name, sizeof name, "detector/%s", c->image);
        odet_image_buf *img = tu_load(name);
        odet_results r = detect_ok(d, odet_image_buf_view(img));
        double mb = 0, ms = 0;
        int differs = compare_golden(c, &r, &mb, &ms);
        fflush(stdout);
        ck_assert_msg(differs == 0, "%s %s differs (no metadata)",
                      c->model, c->image);
        for (size_t k = 0; k < r.count; k++)
            ck_assert_str_eq(r.objects[k].class_name, names[r.objects[k].class_id]);
        odet_image_buf_free(img);
        odet_detector_free(d);
    }
    /* wrong number of names */
    odet_detector_options o;
    odet_detector_options_init(&o);
    static const char *const two[] = {"a", "b"};
    o.arch = ODET_ARCH_DETR;
    o.class_names = two;
    o.num_class_names = 2;
    load_fail(dt, &o, ODET_ERR_INVALID_ARG, "2 class names", "5 classes");
}
END_TEST

START_TEST(test_options)
{
    odet_detector_options o;
    char err[ODET_ERRBUF_SIZE];
    odet_image_buf *img = tu_load("detector/noise_200x150_b0_c70_s100.png");
    const odet_image *v = odet_image_buf_view(img);

    /* invalid options */
    odet_detector_options_init(&o);
    o.threads = -1;
    load_fail(model_path("centernet"), &o, ODET_ERR_INVALID_ARG, "threads", NULL);
    odet_detector_options_init(&o);
    o.nms_iou_threshold = 1.5f;
    load_fail(model_path("vfnet"), &o, ODET_ERR_INVALID_ARG, "nms_iou_threshold", NULL);
    odet_detector_options_init(&o);
    o.input_width = 64;
    load_fail(model_path("vfnet"), &o, ODET_ERR_INVALID_ARG, "input size", NULL);
    odet_detector_options_init(&o);
    o.input_width = 64;
    o.input_height = 64;
    load_fail(model_path("vfnet"), &o, ODET_ERR_SHAPE, "does not match input 'input'",
              "[1,3,128,160]");
    odet_detector_options_init(&o);
    o.arch = (odet_arch)17;
    load_fail(model_path("vfnet"), &o, ODET_ERR_INVALID_ARG, "arch", NULL);
    odet_detector_options_init(&o);
    o.use_mean_std = 1;
    o.std[1] = 0.0f;
    load_fail(model_path("detr"), &o, ODET_ERR_INVALID_ARG, "std", NULL);
    odet_detector_options_init(&o);
    o.preprocess_method = 9;
    load_fail(model_path("detr"), &o, ODET_ERR_INVALID_ARG, "preprocess_method", NULL);
    ck_assert_int_eq(odet_detector_load(model_path("detr"), NULL, NULL, err, sizeof err),
                     ODET_ERR_INVALID_ARG);

    /* defaults come from the architecture: info */
    odet_detector *d = load_ok(model_path("vfnet"), NULL);
    odet_detector_info in;
    odet_detector_get_info(d, &in);
    ck_assert_int_eq(in.arch, ODET_ARCH_VFNET);
    ck_assert_int_eq(in.input_width, 160);
    ck_assert_int_eq(in.input_height, 128);
    ck_assert_uint_eq(in.num_classes, 4);
    ck_assert_int_eq(in.preprocess, ODET_PRE_RESIZE_KEEP_RATIO_CV);
    ck_assert_int_eq(in.fit_fixed_input, 1);
    ck_assert(fabsf(in.score_threshold - 0.05f) < 1e-7f);
    ck_assert(fabsf(in.nms_iou_threshold - 0.6f) < 1e-7f);
    ck_assert_uint_eq(in.max_detections, 100);
    ck_assert_uint_eq(in.pre_nms_top_k, 1000);
    int w, h;
    odet_detector_input_size(d, &w, &h);
    ck_assert_int_eq(w, 160);
    ck_assert_int_eq(h, 128);
    ck_assert_ptr_nonnull(odet_detector_model(d));
    odet_results r = detect_ok(d, v);
    saved full;
    save(&full, &r);
    ck_assert_uint_gt(full.count, 10);
    odet_detector_free(d);

    /* max_detections keeps the best ones */
    odet_detector_options_init(&o);
    o.max_detections = 3;
    d = load_ok(model_path("vfnet"), &o);
    r = detect_ok(d, v);
    ck_assert_uint_eq(r.count, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert(memcmp(&r.objects[i].box, &full.obj[i].box, sizeof(odet_box)) == 0);
        ck_assert(r.objects[i].score == full.obj[i].score);
        ck_assert_int_eq(r.objects[i].class_id, full.obj[i].class_id);
    }
    odet_detector_free(d);

    /* a lower NMS IoU keeps fewer boxes; clip_boxes keeps them inside */
    odet_detector_options_init(&o);
    o.nms_iou_threshold = 0.1f;
    o.max_detections = 1000;
    d = load_ok(model_path("vfnet"), &o);
    r = detect_ok(d, v);
    ck_assert_uint_lt(r.count, full.count);
    odet_detector_free(d);

    for (int a = 0; a < 2; a++) {
        odet_detector_options_init(&o);
        o.clip_boxes = 1;
        o.score_threshold = 0.0f;
        d = load_ok(model_path(a ? "detr" : "centernet"), &o);
        r = detect_ok(d, v);
        ck_assert_uint_gt(r.count, 0);
        for (size_t i = 0; i < r.count; i++) {
            const odet_box *b = &r.objects[i].box;
            ck_assert(b->x1 >= 0 && b->y1 >= 0 && b->x2 <= v->width && b->y2 <= v->height);
        }
        odet_detector_free(d);
    }

    /* other preprocessing methods run and give boxes on the image scale */
    static const int methods[] = {ODET_PRE_LETTERBOX, ODET_PRE_FIXED_RESIZE,
                                  ODET_PRE_RESIZE_SHORTER_SIDE_PIL, ODET_PRE_AFFINE_CENTERNET};
    static const char *const models[] = {"centernet", "detr", "vfnet"};
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < 4; k++) {
            odet_detector_options_init(&o);
            o.preprocess_method = methods[k];
            o.score_threshold = 0.3f;
            d = load_ok(model_path(models[m]), &o);
            odet_detector_get_info(d, &in);
            ck_assert_int_eq(in.preprocess, methods[k]);
            r = detect_ok(d, v);
            for (size_t i = 0; i < r.count; i++) {
                const odet_box *b = &r.objects[i].box;
                ck_assert(b->x1 > -2.0f * v->width && b->x2 < 3.0f * v->width);
                ck_assert(b->y1 > -2.0f * v->height && b->y2 < 3.0f * v->height);
                if (m == 2) /* VFNet clamps to the image content, whatever the method */
                    ck_assert(b->x1 >= -1e-3f && b->y1 >= -1e-3f &&
                              b->x2 <= v->width + 1e-3f && b->y2 <= v->height + 1e-3f);
            }
            odet_detector_free(d);
        }

    /* names and parsing */
    odet_arch a;
    ck_assert_int_eq(odet_arch_parse("DETR", &a), 0);
    ck_assert_int_eq(a, ODET_ARCH_DETR);
    ck_assert_int_eq(odet_arch_parse("yolo", &a), -1);
    ck_assert_str_eq(odet_arch_name(ODET_ARCH_VFNET), "vfnet");
    ck_assert_str_eq(odet_arch_name((odet_arch)42), "invalid");
    odet_image_buf_free(img);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Threads and steady state                                                  */
/* ------------------------------------------------------------------------ */

typedef struct worker {
    const odet_detector *det;
    const odet_image *img;
    const saved *want;
    int ok;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char err[ODET_ERRBUF_SIZE];
    odet_detector_context *ctx = NULL;
    w->ok = 0;
    if (odet_detector_context_create(w->det, &ctx, err, sizeof err) != ODET_OK)
        return NULL;
    int ok = 1;
    for (int it = 0; it < 5 && ok; it++) {
        odet_results r;
        if (odet_detect_ctx(ctx, w->img, &r, err, sizeof err) != ODET_OK ||
            r.count != w->want->count)
            ok = 0;
        for (size_t i = 0; ok && i < r.count; i++)
            ok = memcmp(&r.objects[i], &w->want->obj[i], sizeof r.objects[i]) == 0;
    }
    odet_detector_context_free(ctx);
    w->ok = ok;
    return NULL;
}

START_TEST(test_threads)
{
    static const char *const models[] = {"centernet", "detr", "vfnet", "detr_dynamic"};
    for (int m = 0; m < 4; m++) {
        odet_detector_options o;
        odet_detector_options_init(&o);
        o.threads = 1;
        odet_detector *d = load_ok(model_path(models[m]), &o);
        odet_image_buf *a = tu_load("detector/noise_200x150_b0_c70_s100.png");
        odet_image_buf *b = tu_load("detector/noise_90x130_b0_c70_s112.png");
        saved wa, wb;
        odet_results r = detect_ok(d, odet_image_buf_view(a));
        save(&wa, &r);
        r = detect_ok(d, odet_image_buf_view(b));
        save(&wb, &r);
        pthread_t t[4];
        worker w[4];
        for (int i = 0; i < 4; i++) {
            w[i].det = d;
            w[i].img = odet_image_buf_view(i & 1 ? b : a);
            w[i].want = i & 1 ? &wb : &wa;
            ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            ck_assert_msg(w[i].ok, "%s: thread %d got different detections", models[m], i);
        }
        odet_image_buf_free(a);
        odet_image_buf_free(b);
        odet_detector_free(d);
    }
}
END_TEST

START_TEST(test_steady_state_no_alloc)
{
#if COUNT_ALLOCS
    static const char *const models[] = {"centernet", "centernet_dcn", "detr", "vfnet",
                                         "centernet_dynamic", "detr_dynamic"};
    for (int m = 0; m < 6; m++) {
        odet_detector_options o;
        odet_detector_options_init(&o);
        o.threads = 1;
        odet_detector *d = load_ok(model_path(models[m]), &o);
        /* dynamic models: one image size (a new tensor size re-plans the engine) */
        int dynamic = strstr(models[m], "_dynamic") != NULL;
        odet_image_buf *a = tu_load("detector/noise_200x150_b0_c70_s100.png");
        odet_image_buf *b =
            tu_load(dynamic ? "detector/noise_200x150_b0_c70_s100.png"
                            : "detector/noise_90x130_b0_c70_s112.png");
        /* warm up on the larger image, then alternate */
        detect_ok(d, odet_image_buf_view(a));
        detect_ok(d, odet_image_buf_view(b));
        long before = atomic_load(&n_allocs);
        for (int i = 0; i < 4; i++) {
            char err[ODET_ERRBUF_SIZE];
            odet_results r;
            odet_status st = odet_detect(d, odet_image_buf_view(i & 1 ? b : a), &r, err,
                                         sizeof err);
            if (st != ODET_OK)
                ck_abort_msg("%s", err);
        }
        long used = atomic_load(&n_allocs) - before;
        printf("%-14s allocations in 4 steady-state detections: %ld\n", models[m], used);
        ck_assert_msg(used == 0, "%s: %ld allocations in steady state", models[m], used);
        odet_image_buf_free(a);
        odet_image_buf_free(b);
        odet_detector_free(d);
    }
#else
    printf("allocation counting unavailable in this build (sanitizer); skipped\n");
#endif
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("detector");
    TCase *t = tcase_create("detector");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, test_goldens);
    tcase_add_test(t, test_bad_images);
    tcase_add_test(t, test_bad_models);
    tcase_add_test(t, test_no_metadata);
    tcase_add_test(t, test_options);
    tcase_add_test(t, test_threads);
    tcase_add_test(t, test_steady_state_no_alloc);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
