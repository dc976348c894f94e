/* Preprocessing against OpenCV / PIL / reference-pipeline goldens
 * (tests/models/make_preprocess_goldens.py), input formats and strides,
 * transforms and parameter errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odet/image.h"
#include "test_util.h"

#define MAX_TOK 48

/* ------------------------------------------------------------------------ */
/* Manifest                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct manifest {
    char *text;
    int n;
    int ntok[256];
    char *tok[256][MAX_TOK];
} manifest;

static manifest *manifest_load(void)
{
    size_t len = 0;
    uint8_t *raw = tu_read_file(tu_data("manifest.txt"), &len);
    ck_assert_msg(raw != NULL, "cannot read %s", tu_data("manifest.txt"));
    manifest *m = calloc(1, sizeof *m);
    m->text = realloc(raw, len + 1);
    m->text[len] = 0;
    char *save = NULL;
    for (char *line = strtok_r(m->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !line[0])
            continue;
        ck_assert_int_lt(m->n, 256);
        char *s2 = NULL;
        int k = 0;
        for (char *t = strtok_r(line, " \t", &s2); t && k < MAX_TOK; t = strtok_r(NULL, " \t", &s2))
            m->tok[m->n][k++] = t;
        m->ntok[m->n++] = k;
    }
    return m;
}

static void manifest_free(manifest *m)
{
    free(m->text);
    free(m);
}

static double num(const char *s)
{
    char *end = NULL;
    double v = strtod(s, &end);
    ck_assert_msg(end && *end == 0, "bad number '%s' in manifest", s);
    return v;
}

/* ------------------------------------------------------------------------ */
/* 8-bit kernel goldens                                                      */
/* ------------------------------------------------------------------------ */

enum kernel { K_WARP, K_RESIZE_CV, K_RESIZE_PIL };
static const char *kernel_name[] = {"cv2.warpAffine", "cv2.resize", "PIL resize"};

typedef struct kcase {
    enum kernel k;
    int ow, oh;
    double m[6];
    uint8_t border[3];
} kcase;

static odet_status run_kernel(const kcase *kc, const odet_image *img, const odet_normalize *n,
                              const odet_chw_window *win, char *err, size_t errlen)
{
    odet_status st = ODET_ERR_INTERNAL;
    size_t sb = 0;
    void *scratch = NULL;
    switch (kc->k) {
    case K_WARP:
        return odet_warp_affine_bilinear_cv(img, kc->m, kc->ow, kc->oh, kc->border, n, win, err,
                                            errlen);
    case K_RESIZE_CV:
        sb = odet_resize_bilinear_cv_scratch(kc->ow);
        scratch = malloc(sb);
        st = odet_resize_bilinear_cv(img, kc->ow, kc->oh, n, win, scratch, sb, err, errlen);
        break;
    case K_RESIZE_PIL:
        sb = odet_resize_bilinear_pil_scratch(img->width, img->height, kc->ow, kc->oh);
        scratch = sb ? malloc(sb) : NULL;
        st = odet_resize_bilinear_pil(img, kc->ow, kc->oh, n, win, scratch, sb, err, errlen);
        break;
    }
    free(scratch);
    return st;
}

static int is_gray(const odet_image *im)
{
    for (int y = 0; y < im->height; y++)
        for (int x = 0; x < im->width; x++) {
            const uint8_t *p = im->data + (size_t)y * im->stride + 3 * (size_t)x;
            if (p[0] != p[1] || p[1] != p[2])
                return 0;
        }
    return 1;
}

/* Run one golden case over input variants (formats, strides, channel order,
 * window offset); returns the largest deviation in grey levels. */
static int check_kernel_case(const kcase *kc, const char *input, const char *gold_name)
{
    odet_image_buf *ib = tu_load(input), *gb = tu_load(gold_name);
    const odet_image *src = odet_image_buf_view(ib), *gold = odet_image_buf_view(gb);
    ck_assert_int_eq(gold->width, kc->ow);
    ck_assert_int_eq(gold->height, kc->oh);
    struct { odet_pixel_format f; size_t pad; odet_channel_order order; } variants[] = {
        {ODET_PIXEL_RGB, 0, ODET_CHANNELS_RGB},  {ODET_PIXEL_BGR, 7, ODET_CHANNELS_BGR},
        {ODET_PIXEL_BGR, 1, ODET_CHANNELS_RGB},  {ODET_PIXEL_RGBA, 5, ODET_CHANNELS_RGB},
        {ODET_PIXEL_BGRA, 0, ODET_CHANNELS_BGR}, {ODET_PIXEL_GRAY, 3, ODET_CHANNELS_RGB},
    };
    int gray = is_gray(src), worst = 0;
    const int W = kc->ow + 5, H = kc->oh + 3, X0 = 3, Y0 = 2;
    float *t = malloc(sizeof(float) * 3 * (size_t)W * (size_t)H);
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        if (variants[v].f == ODET_PIXEL_GRAY && !gray)
            continue;
        odet_image im;
        uint8_t *mem = tu_convert(src, variants[v].f, variants[v].pad, &im);
        for (size_t i = 0; i < 3 * (size_t)W * (size_t)H; i++)
            t[i] = -12345.0f;
        odet_normalize n;
        odet_normalize_identity(&n);
        n.order = variants[v].order;
        odet_chw_window win = {t, W, H, X0, Y0};
        char err[ODET_ERRBUF_SIZE] = "";
        odet_status st = run_kernel(kc, &im, &n, &win, err, sizeof err);
        ck_assert_msg(st == ODET_OK, "%s %s: %s", kernel_name[kc->k], gold_name, err);
        for (int c = 0; c < 3; c++) {
            int rgb = n.order == ODET_CHANNELS_RGB ? c : 2 - c;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float got = t[((size_t)c * H + y) * W + x];
                    int inside = x >= X0 && x < X0 + kc->ow && y >= Y0 && y < Y0 + kc->oh;
                    /* plain ifs: a Check assertion per pixel is slow */
                    if (!inside) {
                        if (got != -12345.0f)
                            ck_abort_msg("%s: wrote outside its window at %d,%d", gold_name, x, y);
                        continue;
                    }
                    if (got != (float)(int)got)
                        ck_abort_msg("%s: non-integer value %g", gold_name, (double)got);
                    int want = gold->data[(size_t)(y - Y0) * gold->stride + 3 * (size_t)(x - X0) + rgb];
                    int d = abs((int)got - want);
                    if (d > worst)
                        worst = d;
                }
        }
        free(mem);
    }
    free(t);
    odet_image_buf_free(ib);
    odet_image_buf_free(gb);
    return worst;
}

static void run_kernel_goldens(enum kernel k, const char *kind)
{
    manifest *m = manifest_load();
    int cases = 0, worst = 0;
    for (int i = 0; i < m->n; i++) {
        char **t = m->tok[i];
        if (strcmp(t[0], kind) != 0)
            continue;
        kcase kc;
        memset(&kc, 0, sizeof kc);
        kc.k = k;
        kc.ow = (int)num(t[2]);
        kc.oh = (int)num(t[3]);
        const char *gold;
        if (k == K_WARP) {
            ck_assert_int_eq(m->ntok[i], 14);
            for (int j = 0; j < 6; j++)
                kc.m[j] = num(t[4 + j]);
            for (int j = 0; j < 3; j++)
                kc.border[j] = (uint8_t)num(t[10 + j]);
            gold = t[13];
        } else {
            ck_assert_int_eq(m->ntok[i], 5);
            gold = t[4];
        }
        int d = check_kernel_case(&kc, t[1], gold);
        printf("%-14s %-20s -> %4dx%-4d %-20s max |diff| = %d grey levels\n", kernel_name[k],
               t[1], kc.ow, kc.oh, gold, d);
        if (d > worst)
            worst = d;
        cases++;
    }
    manifest_free(m);
    ck_assert_int_gt(cases, 0);
    printf("%s: %d cases, max |diff| = %d\n", kernel_name[k], cases, worst);
    fflush(stdout);
    ck_assert_msg(worst == 0, "%s differs from its golden by %d grey levels", kernel_name[k],
                  worst);
}

START_TEST(test_warp_goldens) { run_kernel_goldens(K_WARP, "warp"); }
END_TEST

START_TEST(test_resize_cv_goldens) { run_kernel_goldens(K_RESIZE_CV, "resize_cv"); }
END_TEST

START_TEST(test_resize_pil_goldens) { run_kernel_goldens(K_RESIZE_PIL, "resize_pil"); }
END_TEST

/* ------------------------------------------------------------------------ */
/* Transforms and size rules                                                 */
/* ------------------------------------------------------------------------ */

START_TEST(test_centernet_affine_goldens)
{
    manifest *m = manifest_load();
    int cases = 0, exact = 0;
    double worst = 0.0;
    for (int i = 0; i < m->n; i++) {
        char **t = m->tok[i];
        if (strcmp(t[0], "affine") != 0)
            continue;
        ck_assert_int_eq(m->ntok[i], 15);
        float c[2] = {(float)num(t[1]), (float)num(t[2])}, s[2] = {(float)num(t[3]), (float)num(t[4])};
        double want[6], got[6];
        for (int j = 0; j < 6; j++)
            want[j] = num(t[9 + j]);
        ck_assert_int_eq(odet_centernet_affine(c, s, num(t[5]), (int)num(t[6]), (int)num(t[7]),
                                               (int)num(t[8]), got),
                         ODET_OK);
        int same = 1;
        for (int j = 0; j < 6; j++) {
            double d = fabs(got[j] - want[j]) / fmax(1.0, fabs(want[j]));
            if (got[j] != want[j])
                same = 0;
            if (d > worst)
                worst = d;
        }
        exact += same;
        cases++;
    }
    manifest_free(m);
    printf("get_affine_transform: %d/%d matrices bit-identical to cv2, max rel diff %.3g\n",
           exact, cases, worst);
    ck_assert_int_gt(cases, 0);
    ck_assert_msg(worst < 1e-12, "max relative difference %g", worst);
}
END_TEST

START_TEST(test_size_rules)
{
    manifest *m = manifest_load();
    int cases = 0;
    for (int i = 0; i < m->n; i++) {
        char **t = m->tok[i];
        int detr = strcmp(t[0], "size_detr") == 0, mmcv = strcmp(t[0], "size_mmcv") == 0;
        if (!detr && !mmcv)
            continue;
        int a[6];
        for (int j = 0; j < 6; j++)
            a[j] = (int)num(t[1 + j]);
        int ow = -1, oh = -1;
        odet_status st = detr ? odet_size_shorter_side_detr(a[0], a[1], a[2], a[3], &ow, &oh)
                              : odet_size_keep_ratio_mmcv(a[0], a[1], a[2], a[3], &ow, &oh);
        ck_assert_int_eq(st, ODET_OK);
        ck_assert_msg(ow == a[4] && oh == a[5], "%s %dx%d (%d, %d): got %dx%d, want %dx%d", t[0],
                      a[0], a[1], a[2], a[3], ow, oh, a[4], a[5]);
        cases++;
    }
    manifest_free(m);
    ck_assert_int_ge(cases, 20);
    int ow, oh;
    ck_assert_int_eq(odet_size_shorter_side_detr(0, 5, 800, 0, &ow, &oh), ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_size_keep_ratio_mmcv(5, 5, 0, 800, &ow, &oh), ODET_ERR_INVALID_ARG);
}
END_TEST

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static double rnd(uint32_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (lcg(s) / 16777216.0);
}

START_TEST(test_xform_inverse_round_trip)
{
    uint32_t seed = 12345;
    for (int it = 0; it < 1000; it++) {
        double m[6], inv[6], back[6];
        for (int j = 0; j < 6; j++)
            m[j] = rnd(&seed, -3.0, 3.0) * (j == 2 || j == 5 ? 200.0 : 1.0);
        if (fabs(m[0] * m[4] - m[1] * m[3]) < 1e-3)
            continue;
        ck_assert_int_eq(odet_xform_invert(m, inv), ODET_OK);
        ck_assert_int_eq(odet_xform_invert(inv, back), ODET_OK);
        for (int j = 0; j < 6; j++)
            ck_assert_double_eq_tol(back[j], m[j], 1e-8 * fmax(1.0, fabs(m[j])));
        double x = rnd(&seed, -500, 500), y = rnd(&seed, -500, 500), u, v, x2, y2;
        odet_xform_apply(m, x, y, &u, &v);
        odet_xform_apply(inv, u, v, &x2, &y2);
        ck_assert_double_eq_tol(x2, x, 1e-8 * fmax(1.0, fabs(x)));
        ck_assert_double_eq_tol(y2, y, 1e-8 * fmax(1.0, fabs(y)));
    }
    double sing[6] = {1, 2, 3, 2, 4, 6}, out[6], nanm[6] = {NAN, 0, 0, 0, 1, 0};
    ck_assert_int_eq(odet_xform_invert(sing, out), ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_xform_invert(nanm, out), ODET_ERR_INVALID_ARG);

    /* CenterNet's inv=1 transform agrees with the inverted forward one, and
     * maps the output corners back onto the image. */
    const float c[2] = {320.0f, 213.5f}, s[2] = {640.0f, 640.0f};
    double fwd[6], bwd[6], inv2[6];
    ck_assert_int_eq(odet_centernet_affine(c, s, 0.0, 128, 128, 0, fwd), ODET_OK);
    ck_assert_int_eq(odet_centernet_affine(c, s, 0.0, 128, 128, 1, bwd), ODET_OK);
    ck_assert_int_eq(odet_xform_invert(fwd, inv2), ODET_OK);
    for (int j = 0; j < 6; j++)
        ck_assert_double_eq_tol(bwd[j], inv2[j], 1e-9 * fmax(1.0, fabs(inv2[j])));
    double x, y;
    odet_xform_apply(bwd, 0, 0, &x, &y);
    ck_assert_double_eq_tol(x, 0.0, 1e-9);
    ck_assert_double_eq_tol(y, 213.5 - 320.0, 1e-9);
    odet_xform_apply(bwd, 128, 128, &x, &y);
    ck_assert_double_eq_tol(x, 640.0, 1e-9);
    ck_assert_double_eq_tol(y, 213.5 + 320.0, 1e-9);
    const float zero[2] = {0.0f, 0.0f};
    ck_assert_int_eq(odet_centernet_affine(c, zero, 0.0, 128, 128, 0, fwd), ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_centernet_affine(c, s, 0.0, 0, 128, 0, fwd), ODET_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Whole pipelines                                                           */
/* ------------------------------------------------------------------------ */

static void parse3(const char *v, float out[3])
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL, *t = strtok_r(buf, ",", &save);
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(t);
        out[i] = (float)num(t);
        t = strtok_r(NULL, ",", &save);
    }
}

static void parse_params(char **tok, int ntok, odet_preprocess_params *p)
{
    odet_preprocess_params_init(p, ODET_PRE_AFFINE_CENTERNET);
    for (int i = 0; i < ntok; i++) {
        char key[64];
        const char *eq = strchr(tok[i], '=');
        ck_assert_ptr_nonnull(eq);
        snprintf(key, sizeof key, "%.*s", (int)(eq - tok[i]), tok[i]);
        const char *v = eq + 1;
        if (!strcmp(key, "method")) {
            static const char *names[] = {"affine_centernet", "resize_keep_ratio_cv2",
                                          "resize_shorter_side_pil", "letterbox", "fixed_resize"};
            int found = -1;
            for (int j = 0; j < 5; j++)
                if (!strcmp(v, names[j]))
                    found = j;
            ck_assert_int_ge(found, 0);
            p->method = (odet_preprocess_method)found;
        } else if (!strcmp(key, "target")) {
            ck_assert_int_eq(sscanf(v, "%dx%d", &p->target_width, &p->target_height), 2);
        } else if (!strcmp(key, "keep_res")) {
            if (atoi(v))
                p->flags |= ODET_PRE_CENTERNET_KEEP_RES;
        } else if (!strcmp(key, "size_divisor")) {
            p->size_divisor = atoi(v);
        } else if (!strcmp(key, "short_side")) {
            p->short_side = atoi(v);
        } else if (!strcmp(key, "max_size")) {
            p->max_size = atoi(v);
        } else if (!strcmp(key, "border")) {
            p->border[0] = p->border[1] = p->border[2] = (uint8_t)atoi(v);
        } else if (!strcmp(key, "order")) {
            p->norm.order = !strcmp(v, "BGR") ? ODET_CHANNELS_BGR : ODET_CHANNELS_RGB;
        } else if (!strcmp(key, "divisor")) {
            p->norm.divisor = (float)num(v);
        } else if (!strcmp(key, "mean")) {
            parse3(v, p->norm.mean);
        } else if (!strcmp(key, "std")) {
            parse3(v, p->norm.std);
        } else {
            ck_abort_msg("unknown pipeline key %s", key);
        }
    }
}

START_TEST(test_pipeline_goldens)
{
    manifest *m = manifest_load();
    int cases = 0;
    double worst = 0.0;
    for (int i = 0; i < m->n; i++) {
        char **t = m->tok[i];
        if (strcmp(t[0], "pipe") != 0)
            continue;
        odet_preprocess_params p;
        parse_params(t + 5, m->ntok[i] - 5, &p);
        odet_image_buf *ib = tu_load(t[1]);
        const odet_image *img = odet_image_buf_view(ib);
        char err[ODET_ERRBUF_SIZE] = "";
        odet_preprocess_layout L;
        odet_status st = odet_preprocess_plan(&p, img->width, img->height, &L, err, sizeof err);
        ck_assert_msg(st == ODET_OK, "%s: %s", t[2], err);
        ck_assert_int_eq(L.tensor_width, (int)num(t[3]));
        ck_assert_int_eq(L.tensor_height, (int)num(t[4]));
        size_t glen = 0;
        float *gold = (float *)tu_read_file(tu_data(t[2]), &glen);
        ck_assert_ptr_nonnull(gold);
        ck_assert_uint_eq(glen, L.tensor_floats * sizeof(float));

        float *out = malloc(L.tensor_floats * sizeof(float));
        float *out2 = malloc(L.tensor_floats * sizeof(float));
        void *scratch = L.scratch_bytes ? malloc(L.scratch_bytes) : NULL;
        odet_preprocess_layout L2;
        st = odet_preprocess_run(&p, img, out, L.tensor_floats, scratch, L.scratch_bytes, &L2, err,
                                 sizeof err);
        ck_assert_msg(st == ODET_OK, "%s: %s", t[2], err);
        ck_assert(L2.tensor_width == L.tensor_width && L2.tensor_height == L.tensor_height &&
                  L2.content_x == L.content_x && L2.content_y == L.content_y &&
                  L2.content_width == L.content_width && L2.scratch_bytes == L.scratch_bytes &&
                  memcmp(L2.transform, L.transform, sizeof L.transform) == 0);
        double d = 0.0;
        size_t at = 0;
        for (size_t k = 0; k < L.tensor_floats; k++) {
            double e = fabs((double)out[k] - gold[k]);
            if (e > d) {
                d = e;
                at = k;
            }
        }
        /* the same tensor from a BGRA camera buffer with padded rows */
        odet_image bgra;
        uint8_t *mem = tu_convert(img, ODET_PIXEL_BGRA, 12, &bgra);
        st = odet_preprocess_run(&p, &bgra, out2, L.tensor_floats, scratch, L.scratch_bytes, NULL,
                                 err, sizeof err);
        ck_assert_msg(st == ODET_OK, "%s: %s", t[2], err);
        ck_assert_int_eq(memcmp(out, out2, L.tensor_floats * sizeof(float)), 0);
        printf("pipeline %-24s %-16s [1,3,%d,%d] max |diff| = %.3g (at %zu: %.7g vs %.7g)\n",
               t[5] + 7, t[2], L.tensor_height, L.tensor_width, d, at, (double)out[at],
               (double)gold[at]);
        ck_assert_msg(d <= 2e-6, "%s: max |diff| %g", t[2], d);
        if (d > worst)
            worst = d;
        free(mem);
        free(scratch);
        free(out);
        free(out2);
        free(gold);
        odet_image_buf_free(ib);
        cases++;
    }
    manifest_free(m);
    printf("pipelines: %d cases, max |diff| = %.3g\n", cases, worst);
    fflush(stdout);
    ck_assert_int_ge(cases, 6);
}
END_TEST

START_TEST(test_pipeline_layouts)
{
    char err[ODET_ERRBUF_SIZE];
    odet_preprocess_params p;
    odet_preprocess_layout L;

    /* mmdet VFNet: 640x427 -> 1199x800 (img_scale 1333x800), padded to /32 */
    odet_preprocess_params_init(&p, ODET_PRE_RESIZE_KEEP_RATIO_CV);
    p.short_side = 800;
    p.max_size = 1333;
    p.size_divisor = 32;
    ck_assert_int_eq(odet_preprocess_plan(&p, 640, 427, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.content_width, 1199);
    ck_assert_int_eq(L.content_height, 800);
    ck_assert_int_eq(L.tensor_width, 1216);
    ck_assert_int_eq(L.tensor_height, 800);
    ck_assert_double_eq(L.transform[0], 1199.0 / 640.0);
    ck_assert_double_eq(L.transform[4], 800.0 / 427.0);
    ck_assert_uint_eq(L.scratch_bytes, odet_resize_bilinear_cv_scratch(1199));

    /* fixed network input: pad to 1216x800; a taller image does not fit */
    p.pad_width = 1216;
    p.pad_height = 800;
    ck_assert_int_eq(odet_preprocess_plan(&p, 640, 427, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.tensor_width, 1216);
    p.pad_width = 1000;
    ck_assert_int_eq(odet_preprocess_plan(&p, 640, 427, &L, err, sizeof err), ODET_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(err, "1000x800"));

    /* DETR: shorter side 800, max 1333 */
    odet_preprocess_params_init(&p, ODET_PRE_RESIZE_SHORTER_SIDE_PIL);
    p.short_side = 800;
    p.max_size = 1333;
    ck_assert_int_eq(odet_preprocess_plan(&p, 640, 427, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.content_width, 1199);
    ck_assert_int_eq(L.content_height, 800);
    ck_assert_int_eq(L.tensor_width, 1199);

    /* letterbox: centred bars, transform maps the image into the content */
    odet_preprocess_params_init(&p, ODET_PRE_LETTERBOX);
    p.target_width = p.target_height = 640;
    ck_assert_int_eq(odet_preprocess_plan(&p, 1280, 720, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.content_width, 640);
    ck_assert_int_eq(L.content_height, 360);
    ck_assert_int_eq(L.content_x, 0);
    ck_assert_int_eq(L.content_y, 140);
    double x, y;
    odet_xform_apply(L.transform, 1280, 720, &x, &y);
    ck_assert_double_eq_tol(x, 640.0, 1e-9);
    ck_assert_double_eq_tol(y, 500.0, 1e-9);
    p.flags = ODET_PRE_TOP_LEFT;
    ck_assert_int_eq(odet_preprocess_plan(&p, 1280, 720, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.content_y, 0);
    p.flags = ODET_PRE_NO_UPSCALE;
    ck_assert_int_eq(odet_preprocess_plan(&p, 100, 50, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.content_width, 100);
    ck_assert_int_eq(L.content_x, 270);
    ck_assert_int_eq(L.content_y, 295);

    /* CenterNet fix_res and keep_res */
    odet_preprocess_params_init(&p, ODET_PRE_AFFINE_CENTERNET);
    p.target_width = p.target_height = 512;
    ck_assert_int_eq(odet_preprocess_plan(&p, 640, 427, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.tensor_width, 512);
    ck_assert(L.center[0] == 320.0f && L.center[1] == 213.5f && L.scale[0] == 640.0f);
    ck_assert_uint_eq(L.scratch_bytes, 0);
    p.flags = ODET_PRE_CENTERNET_KEEP_RES;
    ck_assert_int_eq(odet_preprocess_plan(&p, 640, 427, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.tensor_width, 672);  /* (640 | 31) + 1, as CenterNet */
    ck_assert_int_eq(L.tensor_height, 448);
    p.size_divisor = 24;
    ck_assert_int_eq(odet_preprocess_plan(&p, 640, 427, &L, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "power-of-two"));
}
END_TEST

START_TEST(test_pipeline_errors)
{
    char err[ODET_ERRBUF_SIZE];
    odet_preprocess_params p;
    odet_preprocess_layout L;
    odet_preprocess_params_init(&p, ODET_PRE_FIXED_RESIZE);
    ck_assert_int_eq(odet_preprocess_plan(&p, 64, 48, &L, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "target_width"));
    p.target_width = 32;
    p.target_height = 32;
    p.norm.std[1] = 0.0f;
    ck_assert_int_eq(odet_preprocess_plan(&p, 64, 48, &L, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "std[1]"));
    p.norm.std[1] = 1.0f;
    p.norm.divisor = 0.0f;
    ck_assert_int_eq(odet_preprocess_plan(&p, 64, 48, &L, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "divisor"));
    p.norm.divisor = 1.0f;
    ck_assert_int_eq(odet_preprocess_plan(&p, 0, 48, &L, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_preprocess_plan(&p, 20000, 48, &L, err, sizeof err), ODET_ERR_LIMIT);
    p.method = (odet_preprocess_method)99;
    ck_assert_int_eq(odet_preprocess_plan(&p, 64, 48, &L, err, sizeof err), ODET_ERR_INVALID_ARG);
    p.method = ODET_PRE_RESIZE_KEEP_RATIO_CV;
    p.short_side = 800;
    ck_assert_int_eq(odet_preprocess_plan(&p, 64, 48, &L, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "max_size"));

    /* run: output and scratch too small */
    odet_image_buf *ib = tu_load("grad_97x61.png");
    const odet_image *img = odet_image_buf_view(ib);
    odet_preprocess_params_init(&p, ODET_PRE_FIXED_RESIZE);
    p.target_width = 40;
    p.target_height = 30;
    ck_assert_int_eq(odet_preprocess_plan(&p, img->width, img->height, &L, err, sizeof err), ODET_OK);
    float *out = malloc(L.tensor_floats * sizeof(float));
    void *scratch = malloc(L.scratch_bytes);
    ck_assert_int_eq(odet_preprocess_run(&p, img, out, L.tensor_floats - 1, scratch,
                                         L.scratch_bytes, NULL, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "3600"));
    ck_assert_int_eq(odet_preprocess_run(&p, img, out, L.tensor_floats, scratch,
                                         L.scratch_bytes - 1, NULL, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "scratch"));
    ck_assert_int_eq(odet_preprocess_run(&p, img, out, L.tensor_floats, scratch, L.scratch_bytes,
                                         NULL, err, sizeof err),
                     ODET_OK);

    /* kernel windows that do not fit, bad views */
    odet_normalize n;
    odet_normalize_identity(&n);
    odet_chw_window win = {out, 40, 30, 1, 0};
    double id[6] = {1, 0, 0, 0, 1, 0}, sing[6] = {0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(odet_warp_affine_bilinear_cv(img, id, 40, 30, NULL, &n, &win, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "does not fit"));
    win.x = 0;
    ck_assert_int_eq(odet_warp_affine_bilinear_cv(img, sing, 40, 30, NULL, &n, &win, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "singular"));
    odet_image bad = *img;
    bad.stride = 10;
    ck_assert_int_eq(odet_warp_affine_bilinear_cv(&bad, id, 40, 30, NULL, &n, &win, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "stride"));
    bad = *img;
    bad.format = (odet_pixel_format)17;
    ck_assert_int_eq(odet_image_check(&bad, err, sizeof err), ODET_ERR_INVALID_ARG);
    bad = *img;
    bad.width = 16385;
    bad.stride = 16385 * 3;
    ck_assert_int_eq(odet_image_check(&bad, err, sizeof err), ODET_ERR_LIMIT);
    bad = *img;
    bad.data = NULL;
    ck_assert_int_eq(odet_image_check(&bad, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_resize_bilinear_cv(img, 40, 30, &n, &win, scratch, 3, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    free(out);
    free(scratch);
    odet_image_buf_free(ib);
}
END_TEST

/* Letterbox bars and size_divisor padding hold the documented values. */
START_TEST(test_pipeline_padding_values)
{
    char err[ODET_ERRBUF_SIZE];
    odet_image_buf *ib = tu_load("grad_97x61.png");
    const odet_image *img = odet_image_buf_view(ib);
    odet_preprocess_params p;
    odet_preprocess_params_init(&p, ODET_PRE_LETTERBOX);
    p.target_width = 50;
    p.target_height = 50;
    p.size_divisor = 32;
    p.pad_value = -7.0f;
    p.border[0] = 114;
    p.border[1] = 20;
    p.border[2] = 30;
    p.norm.order = ODET_CHANNELS_BGR;
    p.norm.divisor = 255.0f;
    odet_preprocess_layout L;
    ck_assert_int_eq(odet_preprocess_plan(&p, img->width, img->height, &L, err, sizeof err), ODET_OK);
    ck_assert_int_eq(L.tensor_width, 64);
    ck_assert_int_eq(L.content_y, 9);  /* 97x61 -> 50x31: (50 - 31) / 2 = 9.5 -> round(9.4) */
    float *out = malloc(L.tensor_floats * sizeof(float));
    void *scratch = malloc(L.scratch_bytes);
    ck_assert_int_eq(odet_preprocess_run(&p, img, out, L.tensor_floats, scratch, L.scratch_bytes,
                                         NULL, err, sizeof err),
                     ODET_OK);
    const size_t plane = 64 * 64;
    /* bar (top-left corner), BGR order: 30/255, 20/255, 114/255 */
    ck_assert_float_eq(out[0], (float)(30.0 / 255.0));
    ck_assert_float_eq(out[plane], (float)(20.0 / 255.0));
    ck_assert_float_eq(out[2 * plane], (float)(114.0 / 255.0));
    /* size_divisor padding, right and bottom */
    ck_assert_float_eq(out[55], -7.0f);
    ck_assert_float_eq(out[plane + 63 * 64 + 10], -7.0f);
    free(out);
    free(scratch);
    odet_image_buf_free(ib);
}
END_TEST

/* Pixels map to (pixel / divisor - mean) / std in the tensor's channel order. */
START_TEST(test_normalisation)
{
    uint8_t px[2 * 4] = {10, 20, 30, 99, 200, 100, 0, 99};
    odet_image img = {2, 1, 8, ODET_PIXEL_BGRA, px};
    odet_normalize n = {ODET_CHANNELS_RGB, 255.0f, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    float t[6];
    odet_chw_window win = {t, 2, 1, 0, 0};
    char err[ODET_ERRBUF_SIZE];
    ck_assert_int_eq(odet_image_to_chw(&img, &n, &win, err, sizeof err), ODET_OK);
    /* BGRA (10, 20, 30) is RGB (30, 20, 10) */
    ck_assert_float_eq_tol(t[0], (30 / 255.0 - 0.485) / 0.229, 1e-6);
    ck_assert_float_eq_tol(t[2], (20 / 255.0 - 0.456) / 0.224, 1e-6);
    ck_assert_float_eq_tol(t[4], (10 / 255.0 - 0.406) / 0.225, 1e-6);
    ck_assert_float_eq_tol(t[1], (0 / 255.0 - 0.485) / 0.229, 1e-6);
    ck_assert_float_eq_tol(t[5], (200 / 255.0 - 0.406) / 0.225, 1e-6);
    float v[3] = {1, 2, 3};
    ck_assert_int_eq(odet_chw_fill(&win, 1, 1, v, err, sizeof err), ODET_OK);
    ck_assert(t[0] == 1 && t[2] == 2 && t[4] == 3 && t[1] != 1);
    ck_assert_int_eq(odet_chw_fill(&win, 3, 1, v, err, sizeof err), ODET_ERR_INVALID_ARG);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("preprocess");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_warp_goldens);
    tcase_add_test(tc, test_resize_cv_goldens);
    tcase_add_test(tc, test_resize_pil_goldens);
    tcase_add_test(tc, test_centernet_affine_goldens);
    tcase_add_test(tc, test_size_rules);
    tcase_add_test(tc, test_xform_inverse_round_trip);
    tcase_add_test(tc, test_pipeline_goldens);
    tcase_add_test(tc, test_pipeline_layouts);
    tcase_add_test(tc, test_pipeline_errors);
    tcase_add_test(tc, test_pipeline_padding_values);
    tcase_add_test(tc, test_normalisation);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
