/* NMS family and top-k: torchvision / numpy-reference goldens, a naive
 * transcription of torchvision's kernel as a differential oracle, and
 * properties. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

static const char *const CASES[] = {"small", "ties", "degenerate", "large", "identical"};
#define NCASES (sizeof CASES / sizeof CASES[0])

typedef struct dataset {
    gold_file *g;
    const gold_case *c;
    odet_box *boxes;
    float *scores;
    int32_t *classes;
    size_t n;
} dataset;

static void load(dataset *d, const char *name)
{
    d->g = gold_open("nms.txt");
    d->c = gold_case_get(d->g, name);
    const gold_array *b = gold_get(d->c, "boxes");
    d->boxes = gold_boxes(b);
    d->scores = gold_f32(gold_get(d->c, "scores"));
    d->classes = gold_i32(gold_get(d->c, "classes"));
    d->n = b->n / 4;
}

static void unload(dataset *d)
{
    free(d->boxes);
    free(d->scores);
    free(d->classes);
    gold_free(d->g);
}

/* Expected order of a kept set: score descending, lower index first. */
static const float *g_sort_scores;
static int by_score_then_index(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    float sa = g_sort_scores[a], sb = g_sort_scores[b];
    if (sa != sb)
        return sa > sb ? -1 : 1;
    return a < b ? -1 : (a > b);
}

static size_t run(const dataset *d, const odet_nms_params *p, int with_classes, size_t *keep,
                  float *sc)
{
    size_t ws_size = odet_nms_workspace_size(d->n);
    void *ws = malloc(ws_size);
    size_t nk = 0;
    ck_assert_int_eq(odet_nms_ws(d->boxes, d->scores, with_classes ? d->classes : NULL, d->n, p,
                                 keep, sc, ws, ws_size, &nk),
                     ODET_PP_OK);
    free(ws);
    /* the allocating form gives the same */
    size_t *keep2 = malloc((d->n + 1) * sizeof *keep2);
    size_t nk2 = odet_nms(d->boxes, d->scores, with_classes ? d->classes : NULL, d->n, p, keep2,
                          NULL);
    ck_assert_uint_eq(nk2, nk);
    ck_assert(memcmp(keep, keep2, nk * sizeof *keep) == 0);
    free(keep2);
    return nk;
}

static void expect_keep(const size_t *keep, size_t nk, const gold_array *ref, const char *what)
{
    ck_assert_msg(nk == ref->n, "%s: kept %zu, reference %zu", what, nk, ref->n);
    for (size_t i = 0; i < nk; i++)
        ck_assert_msg(keep[i] == (size_t)ref->v[i], "%s: keep[%zu] = %zu, reference %zu", what,
                      i, keep[i], (size_t)ref->v[i]);
}

START_TEST(hard_vs_torchvision)
{
    const char *name = CASES[_i];
    dataset d;
    load(&d, name);
    size_t *keep = malloc(d.n * sizeof *keep), *ref = malloc(d.n * sizeof *ref);
    for (int t = 3; t <= 7; t += 2) {
        char key[32], what[64];
        odet_nms_params p = odet_nms_default_params(ODET_NMS_HARD);
        p.iou_threshold = (float)t / 10.0f;
        /* class-agnostic: torchvision.ops.nms, identical list and order */
        size_t nk = run(&d, &p, 0, keep, NULL);
        snprintf(key, sizeof key, "hard_%02d", t);
        snprintf(what, sizeof what, "%s %s", name, key);
        expect_keep(keep, nk, gold_get(d.c, key), what);
        ck_assert_uint_eq(odet_batched_nms(d.boxes, d.scores, NULL, d.n, p.iou_threshold, ref),
                          nk);
        ck_assert(memcmp(ref, keep, nk * sizeof *keep) == 0);
        /* per class: torchvision's batched_nms set, in (score, index) order */
        nk = run(&d, &p, 1, keep, NULL);
        snprintf(key, sizeof key, "batched_%02d", t);
        snprintf(what, sizeof what, "%s %s", name, key);
        const gold_array *b = gold_get(d.c, key);
        for (size_t i = 0; i < b->n; i++)
            ref[i] = (size_t)b->v[i];
        g_sort_scores = d.scores;
        qsort(ref, b->n, sizeof *ref, by_score_then_index);
        ck_assert_msg(nk == b->n, "%s: kept %zu, torchvision %zu", what, nk, b->n);
        ck_assert_msg(memcmp(ref, keep, nk * sizeof *keep) == 0, "%s differs", what);
        ck_assert_uint_eq(odet_batched_nms(d.boxes, d.scores, d.classes, d.n, p.iou_threshold,
                                           ref),
                          nk);
        ck_assert(memcmp(ref, keep, nk * sizeof *keep) == 0);
        /* max_output is a prefix */
        p.max_output = 7;
        size_t nk7 = run(&d, &p, 1, ref, NULL);
        ck_assert_uint_eq(nk7, nk < 7 ? nk : 7);
        ck_assert(memcmp(ref, keep, nk7 * sizeof *keep) == 0);
    }
    free(keep);
    free(ref);
    unload(&d);
}
END_TEST

static void check_rescored(const dataset *d, odet_nms_params p, int cls, const char *key)
{
    char kk[96], ks[96];
    snprintf(kk, sizeof kk, "%s_keep", key);
    snprintf(ks, sizeof ks, "%s_score", key);
    const gold_array *rk = gold_find(d->c, kk);
    if (!rk)
        return; /* not generated for this case (matrix NMS on the large set) */
    size_t *keep = malloc(d->n * sizeof *keep);
    float *sc = malloc(d->n * sizeof *sc);
    size_t nk = run(d, &p, cls, keep, sc);
    char what[160];
    snprintf(what, sizeof what, "%s %s", d->c->name, key);
    expect_keep(keep, nk, rk, what);
    const gold_array *rs = gold_find(d->c, ks);
    for (size_t i = 0; rs && i < nk; i++)
        ck_assert_msg(close_enough(sc[i], rs->v[i], 1e-7, 1e-6), "%s score[%zu]: %.9g vs %.9g",
                      what, i, sc[i], rs->v[i]);
    if (!rs) /* greedy methods report the input scores */
        for (size_t i = 0; i < nk; i++)
            ck_assert(sc[i] == d->scores[keep[i]]);
    free(keep);
    free(sc);
}

START_TEST(rescoring_vs_reference)
{
    dataset d;
    load(&d, CASES[_i]);
    for (int cls = 0; cls < 2; cls++) {
        const char *tag = cls ? "cls" : "agn";
        char key[64];
        odet_nms_params p = odet_nms_default_params(ODET_NMS_DIOU);
        snprintf(key, sizeof key, "diou_%s", tag);
        check_rescored(&d, p, cls, key);

        p = odet_nms_default_params(ODET_NMS_SOFT_LINEAR);
        p.iou_threshold = 0.3f;
        p.score_threshold = 0.001f;
        snprintf(key, sizeof key, "soft_linear_%s", tag);
        check_rescored(&d, p, cls, key);

        p = odet_nms_default_params(ODET_NMS_SOFT_GAUSSIAN);
        p.sigma = 0.5f;
        p.score_threshold = 0.001f;
        snprintf(key, sizeof key, "soft_gauss_%s", tag);
        check_rescored(&d, p, cls, key);

        p = odet_nms_default_params(ODET_NMS_MATRIX);
        p.sigma = 2.0f;
        p.score_threshold = 0.05f;
        snprintf(key, sizeof key, "matrix_gauss_%s", tag);
        check_rescored(&d, p, cls, key);

        p = odet_nms_default_params(ODET_NMS_MATRIX_LINEAR);
        p.score_threshold = 0.05f;
        snprintf(key, sizeof key, "matrix_linear_%s", tag);
        check_rescored(&d, p, cls, key);
    }
    odet_nms_params p = odet_nms_default_params(ODET_NMS_SOFT_GAUSSIAN);
    p.score_threshold = 0.001f;
    p.max_output = 25;
    check_rescored(&d, p, 1, "soft_gauss_cls_max25");
    p = odet_nms_default_params(ODET_NMS_MATRIX);
    p.score_threshold = 0.05f;
    p.max_output = 30;
    p.pre_top_k = 100;
    check_rescored(&d, p, 1, "matrix_gauss_cls_pre100_max30");
    unload(&d);
}
END_TEST

/* torchvision's nms_kernel_impl, transcribed literally (per class when
 * classes != NULL), as the differential oracle for random inputs. */
static size_t naive_nms(const odet_box *b, const float *s, const int32_t *cls, size_t n,
                        float thr, size_t *keep)
{
    size_t *order = malloc(n * sizeof *order);
    unsigned char *sup = calloc(n, 1);
    float *area = malloc(n * sizeof *area);
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        area[i] = (b[i].x2 - b[i].x1) * (b[i].y2 - b[i].y1);
    }
    g_sort_scores = s;
    qsort(order, n, sizeof *order, by_score_then_index); /* = stable descending sort */
    size_t nk = 0;
    for (size_t a = 0; a < n; a++) {
        size_t i = order[a];
        if (sup[i])
            continue;
        keep[nk++] = i;
        for (size_t c = a + 1; c < n; c++) {
            size_t j = order[c];
            if (sup[j] || (cls && cls[i] != cls[j]))
                continue;
            float xx1 = b[i].x1 < b[j].x1 ? b[j].x1 : b[i].x1;
            float yy1 = b[i].y1 < b[j].y1 ? b[j].y1 : b[i].y1;
            float xx2 = b[j].x2 < b[i].x2 ? b[j].x2 : b[i].x2;
            float yy2 = b[j].y2 < b[i].y2 ? b[j].y2 : b[i].y2;
            float w = xx2 - xx1, h = yy2 - yy1;
            w = 0.0f < w ? w : 0.0f;
            h = 0.0f < h ? h : 0.0f;
            float inter = w * h;
            float ovr = inter / (area[i] + area[j] - inter);
            if (ovr > thr)
                sup[j] = 1;
        }
    }
    free(order);
    free(sup);
    free(area);
    return nk;
}

static void random_dataset(test_rng *r, size_t n, int nclasses, odet_box *b, float *s,
                           int32_t *c)
{
    size_t objects = n / 15 + 1;
    for (size_t i = 0; i < n; i++) {
        /* clustered boxes, quantized so that ties and exact thresholds occur */
        uint64_t o = rng_next(r) % objects;
        test_rng orng = {o * 7919u + 17u};
        float cx = (float)(rng_uniform(&orng) * 500.0), cy = (float)(rng_uniform(&orng) * 500.0);
        float w = (float)(8.0 + rng_uniform(&orng) * 120.0);
        float h = (float)(8.0 + rng_uniform(&orng) * 120.0);
        float jx = (float)floor((rng_uniform(r) - 0.5) * 0.4 * w);
        float jy = (float)floor((rng_uniform(r) - 0.5) * 0.4 * h);
        float sw = (float)floor(w * (0.8 + 0.4 * rng_uniform(r)));
        float sh = (float)floor(h * (0.8 + 0.4 * rng_uniform(r)));
        b[i].x1 = floorf(cx + jx - sw / 2);
        b[i].y1 = floorf(cy + jy - sh / 2);
        b[i].x2 = b[i].x1 + sw;
        b[i].y2 = b[i].y1 + sh;
        if (rng_next(r) % 50 == 0)
            b[i].x2 = b[i].x1; /* degenerate */
        s[i] = (float)(rng_next(r) % 64) / 64.0f;
        c[i] = (int32_t)(rng_next(r) % (uint64_t)nclasses) - 1; /* includes -1 */
    }
}

START_TEST(hard_vs_naive_random)
{
    test_rng r = {1000u + (uint64_t)_i};
    const size_t sizes[] = {1, 2, 3, 17, 63, 200, 1000};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        odet_box *b = malloc(n * sizeof *b);
        float *s = malloc(n * sizeof *s);
        int32_t *c = malloc(n * sizeof *c);
        size_t *k1 = malloc(n * sizeof *k1), *k2 = malloc(n * sizeof *k2);
        for (int rep = 0; rep < 4; rep++) {
            random_dataset(&r, n, 1 + (int)(rng_next(&r) % 6), b, s, c);
            static const float THR[] = {0.0f, 0.25f, 0.5f, 0.7f, 1.0f};
            odet_nms_params p = odet_nms_default_params(ODET_NMS_HARD);
            p.iou_threshold = THR[rng_next(&r) % 5];
            for (int cls = 0; cls < 2; cls++) {
                size_t n1 = odet_nms(b, s, cls ? c : NULL, n, &p, k1, NULL);
                size_t n2 = naive_nms(b, s, cls ? c : NULL, n, p.iou_threshold, k2);
                if (cls) { /* naive keeps greedy order per class: sort */
                    g_sort_scores = s;
                    qsort(k2, n2, sizeof *k2, by_score_then_index);
                }
                ck_assert_uint_eq(n1, n2);
                ck_assert(memcmp(k1, k2, n1 * sizeof *k1) == 0);
            }
        }
        free(b);
        free(s);
        free(c);
        free(k1);
        free(k2);
    }
}
END_TEST

/* No kept pair above the threshold within a class; every dropped box has a
 * kept, better-ranked box of its class above the threshold. */
START_TEST(nms_properties)
{
    test_rng r = {77};
    size_t n = 600;
    odet_box *b = malloc(n * sizeof *b);
    float *s = malloc(n * sizeof *s);
    int32_t *c = malloc(n * sizeof *c);
    size_t *keep = malloc(n * sizeof *keep);
    unsigned char *kept = malloc(n);
    for (int rep = 0; rep < 6; rep++) {
        random_dataset(&r, n, 4, b, s, c);
        for (int m = 0; m < 2; m++) {
            odet_nms_params p = odet_nms_default_params(m ? ODET_NMS_DIOU : ODET_NMS_HARD);
            p.iou_threshold = 0.45f;
            odet_iou_kind kind = m ? ODET_DIOU : ODET_IOU;
            size_t nk = odet_nms(b, s, c, n, &p, keep, NULL);
            ck_assert_uint_gt(nk, 0);
            memset(kept, 0, n);
            for (size_t i = 0; i < nk; i++) {
                kept[keep[i]] = 1;
                if (i)
                    ck_assert(s[keep[i - 1]] > s[keep[i]] ||
                              (s[keep[i - 1]] == s[keep[i]] && keep[i - 1] < keep[i]));
                for (size_t j = 0; j < i; j++)
                    if (c[keep[i]] == c[keep[j]])
                        ck_assert(!(odet_iou(&b[keep[i]], &b[keep[j]], kind) > 0.45f + 1e-6f));
            }
            for (size_t j = 0; j < n; j++) {
                if (kept[j])
                    continue;
                int found = 0;
                for (size_t i = 0; i < nk && !found; i++) {
                    size_t k = keep[i];
                    int better = s[k] > s[j] || (s[k] == s[j] && k < j);
                    found = better && c[k] == c[j] && odet_iou(&b[k], &b[j], kind) > 0.45f - 1e-6f;
                }
                ck_assert_msg(found, "box %zu dropped without a suppressor", j);
            }
        }
        /* soft / matrix: scores never grow, kept scores above threshold */
        for (int m = 0; m < 3; m++) {
            odet_nms_method meth = m == 0 ? ODET_NMS_SOFT_LINEAR
                                   : m == 1 ? ODET_NMS_SOFT_GAUSSIAN : ODET_NMS_MATRIX;
            odet_nms_params p = odet_nms_default_params(meth);
            p.score_threshold = 0.1f;
            float *sc = malloc(n * sizeof *sc);
            size_t nk = odet_nms(b, s, c, n, &p, keep, sc);
            for (size_t i = 0; i < nk; i++) {
                ck_assert(sc[i] <= s[keep[i]]);
                ck_assert(sc[i] >= 0.1f);
                if (i)
                    ck_assert(sc[i - 1] >= sc[i]);
            }
            free(sc);
        }
    }
    free(b);
    free(s);
    free(c);
    free(keep);
    free(kept);
}
END_TEST

START_TEST(degenerate_boxes)
{
    /* zero-area boxes are never suppressed and never suppress */
    odet_box b[4] = {{0, 0, 10, 10}, {5, 5, 5, 5}, {0, 0, 0, 10}, {5, 5, 5, 5}};
    float s[4] = {0.9f, 0.8f, 0.7f, 0.6f};
    size_t keep[4];
    odet_nms_params p = odet_nms_default_params(ODET_NMS_HARD);
    p.iou_threshold = 0.0f;
    ck_assert_uint_eq(odet_nms(b, s, NULL, 4, &p, keep, NULL), 4);
    /* an inverted box has a negative area and no intersection */
    odet_box c[2] = {{0, 0, 10, 10}, {10, 0, 0, 10}};
    ck_assert_uint_eq(odet_nms(c, s, NULL, 2, &p, keep, NULL), 2);
    p.method = ODET_NMS_SOFT_GAUSSIAN;
    p.sigma = 0.5f;
    float sc[4];
    ck_assert_uint_eq(odet_nms(b, s, NULL, 4, &p, keep, sc), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(sc[i], s[keep[i]]);
}
END_TEST

START_TEST(invalid_input)
{
    odet_box b[3] = {{0, 0, 1, 1}, {0, 0, 1, 1.2f}, {1, 1, 3, 3}};
    float s[3] = {0.5f, 0.4f, 0.3f};
    size_t keep[3], nk = 99;
    char ws[1 << 14];
    odet_nms_params p = odet_nms_default_params(ODET_NMS_HARD);
    ck_assert_uint_le(odet_nms_workspace_size(3), sizeof ws);
    ck_assert_int_eq(odet_nms_ws(b, s, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk), ODET_PP_OK);
    ck_assert_uint_eq(nk, 2);
    ck_assert_int_eq(odet_nms_ws(b, s, NULL, 3, &p, keep, NULL, ws, 16, &nk),
                     ODET_PP_ERR_WORKSPACE);
    ck_assert_int_eq(odet_nms_ws(b, s, NULL, 3, &p, keep, NULL, NULL, 0, &nk), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_nms_ws(b, s, NULL, (size_t)-1, &p, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_RANGE);
    ck_assert_int_eq(odet_nms_ws(NULL, s, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_nms_ws(b, s, NULL, 3, NULL, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_NULL);
    const float bad_thr[] = {-0.1f, 1.5f, NAN};
    for (int i = 0; i < 3; i++) {
        p.iou_threshold = bad_thr[i];
        ck_assert_int_eq(odet_nms_ws(b, s, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk),
                         ODET_PP_ERR_PARAM);
        ck_assert_uint_eq(nk, 0);
        ck_assert_uint_eq(odet_nms(b, s, NULL, 3, &p, keep, NULL), 0);
    }
    p = odet_nms_default_params(ODET_NMS_HARD);
    p.score_threshold = NAN;
    ck_assert_int_eq(odet_nms_ws(b, s, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_PARAM);
    p = odet_nms_default_params(ODET_NMS_SOFT_GAUSSIAN);
    p.sigma = 0.0f;
    ck_assert_int_eq(odet_nms_ws(b, s, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_PARAM);
    p.method = (odet_nms_method)42;
    ck_assert_int_eq(odet_nms_ws(b, s, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_PARAM);
    /* NaN scores / coordinates */
    p = odet_nms_default_params(ODET_NMS_HARD);
    float sn[3] = {0.5f, NAN, 0.3f};
    ck_assert_int_eq(odet_nms_ws(b, sn, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_NONFINITE);
    ck_assert_uint_eq(odet_nms(b, sn, NULL, 3, &p, keep, NULL), 0);
    odet_box bn[3] = {{0, 0, 1, 1}, {0, NAN, 2, 2}, {1, 1, 3, 3}};
    ck_assert_int_eq(odet_nms_ws(bn, s, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_NONFINITE);
    /* infinite scores: fine for greedy NMS, rejected by the rescoring ones */
    float si[3] = {INFINITY, 0.4f, -INFINITY};
    ck_assert_int_eq(odet_nms_ws(b, si, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk), ODET_PP_OK);
    ck_assert_uint_eq(nk, 2);
    ck_assert_uint_eq(keep[0], 0);
    p = odet_nms_default_params(ODET_NMS_MATRIX);
    ck_assert_int_eq(odet_nms_ws(b, si, NULL, 3, &p, keep, NULL, ws, sizeof ws, &nk),
                     ODET_PP_ERR_NONFINITE);
    /* empty input */
    ck_assert_int_eq(odet_nms_ws(NULL, NULL, NULL, 0, &p, NULL, NULL, NULL, 0, &nk), ODET_PP_OK);
    ck_assert_uint_eq(nk, 0);
    ck_assert_str_eq(odet_pp_status_str(ODET_PP_ERR_NONFINITE), "ODET_PP_ERR_NONFINITE");
    ck_assert_str_eq(odet_pp_status_str(12345), "unknown");
}
END_TEST

START_TEST(score_threshold_and_classes)
{
    odet_box b[4] = {{0, 0, 10, 10}, {0, 0, 10, 10}, {0, 0, 10, 10}, {0, 0, 10, 10}};
    float s[4] = {0.2f, 0.9f, 0.5f, 0.5f};
    int32_t c[4] = {7, -3, 7, INT32_MAX};
    size_t keep[4];
    odet_nms_params p = odet_nms_default_params(ODET_NMS_HARD);
    /* classes are arbitrary int32 values */
    ck_assert_uint_eq(odet_nms(b, s, c, 4, &p, keep, NULL), 3);
    ck_assert_uint_eq(keep[0], 1);
    ck_assert_uint_eq(keep[1], 2);
    ck_assert_uint_eq(keep[2], 3);
    /* equal to the threshold is kept, below is dropped */
    p.score_threshold = 0.5f;
    ck_assert_uint_eq(odet_nms(b, s, NULL, 4, &p, keep, NULL), 1);
    ck_assert_uint_eq(odet_nms(b, s, c, 4, &p, keep, NULL), 3);
    p.score_threshold = 0.95f;
    ck_assert_uint_eq(odet_nms(b, s, c, 4, &p, keep, NULL), 0);
    /* pre_top_k */
    p = odet_nms_default_params(ODET_NMS_HARD);
    p.pre_top_k = 2;
    ck_assert_uint_eq(odet_nms(b, s, c, 4, &p, keep, NULL), 2);
    ck_assert_uint_eq(keep[0], 1);
    ck_assert_uint_eq(keep[1], 2);
}
END_TEST

/* Every method runs in exactly its own workspace size (run under ASan to
 * catch overruns), and the method sizes fit in the generic one. */
START_TEST(workspace_per_method)
{
    test_rng r = {4242};
    size_t n = 500;
    odet_box *b = malloc(n * sizeof *b);
    float *s = malloc(n * sizeof *s), *sc = malloc(n * sizeof *sc);
    int32_t *c = malloc(n * sizeof *c);
    size_t *keep = malloc(n * sizeof *keep), *keep2 = malloc(n * sizeof *keep2);
    random_dataset(&r, n, 5, b, s, c);
    for (int m = ODET_NMS_HARD; m <= ODET_NMS_MATRIX_LINEAR; m++) {
        odet_nms_params p = odet_nms_default_params((odet_nms_method)m);
        size_t sz = odet_nms_workspace_size_for(n, (odet_nms_method)m);
        ck_assert_uint_le(sz, odet_nms_workspace_size(n));
        if (m == ODET_NMS_HARD)
            ck_assert_uint_lt(sz, 50 * n);
        void *ws = malloc(sz);
        size_t nk = 0;
        ck_assert_int_eq(odet_nms_ws(b, s, c, n, &p, keep, sc, ws, sz, &nk), ODET_PP_OK);
        ck_assert_int_eq(odet_nms_ws(b, s, c, n, &p, keep, sc, ws, sz - 65, &nk),
                         ODET_PP_ERR_WORKSPACE);
        ck_assert_int_eq(odet_nms_ws(b, s, c, n, &p, keep, sc, ws, sz, &nk), ODET_PP_OK);
        ck_assert_uint_eq(odet_nms(b, s, c, n, &p, keep2, NULL), nk);
        ck_assert(memcmp(keep, keep2, nk * sizeof *keep) == 0);
        free(ws);
    }
    free(b);
    free(s);
    free(sc);
    free(c);
    free(keep);
    free(keep2);
}
END_TEST

/* ---- top-k ---- */

START_TEST(topk_vs_sort)
{
    test_rng r = {5};
    const size_t sizes[] = {0, 1, 2, 5, 64, 1000, 4097};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        float *s = malloc((n + 1) * sizeof *s);
        size_t *all = malloc((n + 1) * sizeof *all), *idx = malloc((n + 1) * sizeof *idx);
        for (size_t i = 0; i < n; i++) {
            s[i] = (float)(rng_next(&r) % 97) - 40.0f; /* many ties */
            if (i % 13 == 0)
                s[i] = (i % 2) ? INFINITY : -INFINITY;
            all[i] = i;
        }
        g_sort_scores = s;
        qsort(all, n, sizeof *all, by_score_then_index);
        const size_t ks[] = {0, 1, 3, 10, n / 2, n, n + 5};
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
            size_t k = ks[ki], got = 99;
            ck_assert_int_eq(odet_topk(s, n, k, idx, &got), ODET_PP_OK);
            size_t want = k < n ? k : n;
            ck_assert_uint_eq(got, want);
            ck_assert(memcmp(idx, all, want * sizeof *idx) == 0);
            /* with a minimum score */
            ck_assert_int_eq(odet_topk_min(s, n, k, 10.0f, idx, &got), ODET_PP_OK);
            size_t above = 0;
            while (above < n && s[all[above]] >= 10.0f)
                above++;
            ck_assert_uint_eq(got, above < want ? above : want);
            ck_assert(memcmp(idx, all, got * sizeof *idx) == 0);
        }
        free(s);
        free(all);
        free(idx);
    }
    float bad[3] = {1.0f, NAN, 2.0f};
    size_t idx[3], got;
    ck_assert_int_eq(odet_topk(bad, 3, 2, idx, &got), ODET_PP_ERR_NONFINITE);
    ck_assert_int_eq(odet_topk(bad, 3, 2, NULL, &got), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_topk_min(bad, 3, 2, NAN, idx, &got), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_topk(bad, (size_t)-1, 2, idx, &got), ODET_PP_ERR_RANGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postprocess_nms");
    TCase *tc = tcase_create("nms");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, hard_vs_torchvision, 0, (int)NCASES);
    tcase_add_loop_test(tc, rescoring_vs_reference, 0, (int)NCASES);
    tcase_add_loop_test(tc, hard_vs_naive_random, 0, 8);
    tcase_add_test(tc, nms_properties);
    tcase_add_test(tc, degenerate_boxes);
    tcase_add_test(tc, invalid_input);
    tcase_add_test(tc, score_threshold_and_classes);
    tcase_add_test(tc, workspace_per_method);
    tcase_add_test(tc, topk_vs_sort);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
