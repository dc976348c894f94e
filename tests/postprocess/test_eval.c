/* COCO-protocol evaluator: golden cases from the numpy reference
 * (make_coco_eval_goldens.py), read through the COCO JSON reader of the
 * tools, plus API contracts, summary wording and reader errors.
 * Environment: ODET_EVAL_DATA = the golden directory (tests/data/coco_eval). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coco/coco_json.h"
#include "odet/postprocess/eval.h"

static const char *data_dir(void)
{
    const char *d = getenv("ODET_EVAL_DATA");
    ck_assert_msg(d && d[0], "ODET_EVAL_DATA is not set");
    return d;
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    ck_assert(fread(t, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    t[n] = 0;
    cJSON *j = cJSON_Parse(t);
    free(t);
    ck_assert_msg(j, "bad JSON in %s", path);
    return j;
}

static double max_diff; /* largest |C - numpy| over the golden cases */

static void check_case(const char *name)
{
    char p[1024], err[1024];
    coco_dataset ds;
    snprintf(p, sizeof p, "%s/%s/gt.json", data_dir(), name);
    ck_assert_msg(coco_dataset_load(p, &ds, err, sizeof err) == 0, "%s", err);
    odet_eval_det *dets;
    size_t n;
    snprintf(p, sizeof p, "%s/%s/dt.json", data_dir(), name);
    ck_assert_msg(coco_results_load(p, &ds, &dets, &n, err, sizeof err) == 0, "%s", err);
    odet_eval_input in;
    coco_eval_input(&ds, dets, n, &in);
    odet_eval_result *r = NULL;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_OK);

    snprintf(p, sizeof p, "%s/%s/expected.json", data_dir(), name);
    cJSON *exp = read_json(p);
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(exp, "stats");
    ck_assert_int_eq(cJSON_GetArraySize(stats), ODET_EVAL_NUM_STATS);
    for (int i = 0; i < ODET_EVAL_NUM_STATS; i++) {
        double want = cJSON_GetArrayItem(stats, i)->valuedouble;
        max_diff = fmax(max_diff, fabs(r->stats[i] - want));
        ck_assert_msg(fabs(r->stats[i] - want) <= 1e-6, "%s: stats[%d] = %.12g, numpy %.12g",
                      name, i, r->stats[i], want);
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(exp, "category_ids");
    const cJSON *aps = cJSON_GetObjectItemCaseSensitive(exp, "category_ap");
    ck_assert_int_eq((int)r->num_categories, cJSON_GetArraySize(ids));
    int md = r->params.max_dets[ODET_EVAL_NUM_MAX_DETS - 1];
    for (size_t k = 0; k < r->num_categories; k++) {
        ck_assert_int_eq(r->category_ids[k],
                         (int64_t)cJSON_GetArrayItem(ids, (int)k)->valuedouble);
        double want = cJSON_GetArrayItem(aps, (int)k)->valuedouble;
        double got = odet_eval_summarize(r, 1, -1.0, ODET_EVAL_AREA_ALL, md, (long)k);
        max_diff = fmax(max_diff, fabs(got - want));
        ck_assert_msg(fabs(got - want) <= 1e-6, "%s: category %lld AP = %.12g, numpy %.12g",
                      name, (long long)r->category_ids[k], got, want);
    }
    cJSON_Delete(exp);
    odet_eval_result_destroy(r);
    free(dets);
    coco_dataset_free(&ds);
}

START_TEST(golden_cases)
{
    char p[1024], line[256];
    snprintf(p, sizeof p, "%s/cases.txt", data_dir());
    FILE *f = fopen(p, "r");
    ck_assert_msg(f, "cannot open %s", p);
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        check_case(line);
        cases++;
    }
    fclose(f);
    ck_assert_int_ge(cases, 10);
    printf("COCO evaluator: %d golden cases agree with the numpy reference (max |diff| %.3g)\n",
           cases, max_diff);
}
END_TEST

/* ---- hand-built cases with known answers ---- */

/* 1 / (1 + DBL_EPSILON) is what pycocotools calls a precision of 1 */
static int near(double a, double b)
{
    return fabs(a - b) < 1e-12;
}

static odet_eval_gt gt(int64_t img, int64_t cat, double x, double y, double w, double h)
{
    odet_eval_gt g = {img, cat, {x, y, w, h}, w * h, 0};
    return g;
}

static odet_eval_det dt(int64_t img, int64_t cat, double x, double y, double w, double h,
                        double s)
{
    odet_eval_det d = {img, cat, {x, y, w, h}, s};
    return d;
}

START_TEST(perfect_and_empty)
{
    const int64_t imgs[] = {1, 2}, cats[] = {3};
    odet_eval_gt g[] = {gt(1, 3, 10, 10, 20, 20), gt(2, 3, 0, 0, 50, 60)};
    odet_eval_det d[] = {dt(1, 3, 10, 10, 20, 20, .9), dt(2, 3, 0, 0, 50, 60, .8)};
    odet_eval_input in = {imgs, 2, cats, 1, g, 2, d, 2};
    odet_eval_result *r;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_OK);
    /* AP, AP50, AP75 1; small 1, medium 1, large: no GT -> -1 */
    const double want[12] = {1, 1, 1, 1, 1, -1, 1, 1, 1, 1, 1, -1};
    for (int i = 0; i < 12; i++)
        ck_assert_msg(near(r->stats[i], want[i]), "stats[%d] = %g", i, r->stats[i]);
    char line[256];
    odet_eval_summary_line(r, 0, line, sizeof line);
    ck_assert_str_eq(line,
                     " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = "
                     "1.000");
    odet_eval_summary_line(r, 2, line, sizeof line);
    ck_assert_str_eq(line,
                     " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = "
                     "1.000");
    odet_eval_summary_line(r, 5, line, sizeof line);
    ck_assert_str_eq(line,
                     " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = "
                     "-1.000");
    odet_eval_summary_line(r, 6, line, sizeof line);
    ck_assert_str_eq(line,
                     " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = "
                     "1.000");
    ck_assert_int_eq(odet_eval_summary_line(r, 12, line, sizeof line), -1);
    odet_eval_result_destroy(r);

    /* no detections: AP 0 and AR 0 where GT exists */
    in.num_dets = 0;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_OK);
    ck_assert(r->stats[0] == 0.0 && r->stats[8] == 0.0 && r->stats[5] == -1.0);
    odet_eval_result_destroy(r);

    /* no ground truth at all: everything -1 */
    in.num_gts = 0;
    in.num_dets = 2;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_OK);
    for (int i = 0; i < 12; i++)
        ck_assert(r->stats[i] == -1.0);
    odet_eval_result_destroy(r);
}
END_TEST

/* One false positive ranked first among 4 true positives: precision at
 * recall r is 4/5 after the monotone envelope... computed by hand: the
 * PR points are (0, 0), (.25, .5), (.5, .667), (.75, .75), (1, .8);
 * envelope .8 everywhere -> AP50 = 0.8. */
START_TEST(false_positive_first)
{
    const int64_t imgs[] = {1}, cats[] = {1};
    odet_eval_gt g[4];
    odet_eval_det d[5];
    for (int i = 0; i < 4; i++) {
        g[i] = gt(1, 1, 100.0 * i, 0, 40, 40);
        d[i + 1] = dt(1, 1, 100.0 * i, 0, 40, 40, 0.9 - 0.1 * i);
    }
    d[0] = dt(1, 1, 500, 500, 40, 40, 0.95);
    odet_eval_input in = {imgs, 1, cats, 1, g, 4, d, 5};
    odet_eval_result *r;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_OK);
    ck_assert_msg(fabs(r->stats[1] - 0.8) < 1e-12, "AP50 %.17g", r->stats[1]);
    ck_assert(fabs(r->stats[0] - 0.8) < 1e-12);
    /* AR@1: the top detection is the false positive */
    ck_assert(r->stats[6] == 0.0);
    odet_eval_result_destroy(r);
}
END_TEST

START_TEST(crowd_region)
{
    /* detections inside a crowd box are ignored, the crowd is no GT */
    const int64_t imgs[] = {7}, cats[] = {1};
    odet_eval_gt g[2] = {gt(7, 1, 0, 0, 100, 100), gt(7, 1, 200, 200, 30, 30)};
    g[0].iscrowd = 1;
    odet_eval_det d[3] = {dt(7, 1, 10, 10, 20, 20, .99), dt(7, 1, 50, 50, 20, 20, .98),
                          dt(7, 1, 200, 200, 30, 30, .5)};
    odet_eval_input in = {imgs, 1, cats, 1, g, 2, d, 3};
    odet_eval_result *r;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_OK);
    ck_assert(near(r->stats[0], 1.0) && near(r->stats[8], 1.0));
    odet_eval_result_destroy(r);
}
END_TEST

START_TEST(api_errors)
{
    odet_eval_result *r = (odet_eval_result *)1;
    const int64_t imgs[] = {1}, cats[] = {1};
    odet_eval_gt g[1] = {gt(1, 1, 0, 0, 10, 10)};
    odet_eval_det d[1] = {dt(1, 1, 0, 0, 10, 10, NAN)};
    odet_eval_input in = {imgs, 1, cats, 1, g, 1, d, 1};
    ck_assert_int_eq(odet_eval_coco(NULL, NULL, &r), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_eval_coco(&in, NULL, NULL), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_ERR_NONFINITE);
    ck_assert_ptr_null(r);
    d[0].score = 0.5;
    d[0].bbox[2] = -1.0;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_ERR_PARAM);
    d[0].bbox[2] = INFINITY;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_ERR_NONFINITE);
    d[0].bbox[2] = 10.0;
    g[0].area = NAN;
    ck_assert_int_eq(odet_eval_coco(&in, NULL, &r), ODET_PP_ERR_NONFINITE);
    g[0].area = 100.0;
    odet_eval_input bad = in;
    bad.gts = NULL;
    ck_assert_int_eq(odet_eval_coco(&bad, NULL, &r), ODET_PP_ERR_NULL);
    odet_eval_params p;
    odet_eval_params_init(&p);
    p.max_dets[1] = 0;
    ck_assert_int_eq(odet_eval_coco(&in, &p, &r), ODET_PP_ERR_PARAM);
    odet_eval_params_init(&p);
    p.iou_thresholds[3] = 0.1; /* not ascending */
    ck_assert_int_eq(odet_eval_coco(&in, &p, &r), ODET_PP_ERR_PARAM);
    odet_eval_params_init(&p);
    p.num_recall_thresholds = 1;
    ck_assert_int_eq(odet_eval_coco(&in, &p, &r), ODET_PP_ERR_PARAM);
    /* the default parameters are numpy.linspace's values */
    odet_eval_params_init(&p);
    ck_assert(p.iou_thresholds[0] == 0.5 && p.iou_thresholds[5] == 0.75 &&
              p.iou_thresholds[9] == 0.95);
    ck_assert(odet_eval_coco(&in, &p, &r) == ODET_PP_OK && near(r->stats[0], 1.0));
    ck_assert(odet_eval_summarize(r, 1, -1.0, 4, 100, -1) == -1.0);
    ck_assert(odet_eval_summarize(r, 1, -1.0, 0, 100, 5) == -1.0);
    ck_assert(near(odet_eval_summarize(r, 1, 0.6, 0, 100, -1), 1.0));
    ck_assert(odet_eval_summarize(r, 1, 0.61, 0, 100, -1) == -1.0); /* no such threshold */
    odet_eval_result_destroy(r);
    odet_eval_result_destroy(NULL);
}
END_TEST

/* ---- the JSON reader and writer ---- */

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/odet_eval_%d_XXXXXX", (int)getpid());
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void expect_gt_error(const char *text, const char *needle)
{
    char err[1024] = "";
    coco_dataset ds;
    char *p = write_tmp(text);
    ck_assert_int_eq(coco_dataset_load(p, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, needle) && strstr(err, p), "message '%s' lacks '%s'", err, needle);
    unlink(p);
}

START_TEST(reader_errors)
{
    expect_gt_error("{\"images\": [{\"id\": 1}], \"categories\": [", "invalid JSON");
    expect_gt_error("[1, 2]", "not a COCO ground-truth file");
    expect_gt_error("{\"images\": [{\"id\": 1.5}], \"categories\": []}", "images[0]");
    expect_gt_error("{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], "
                    "\"annotations\": [{\"image_id\": 1, \"category_id\": 1, "
                    "\"bbox\": [0, 0, -3, 4]}]}",
                    "annotations[0]");
    expect_gt_error("{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], "
                    "\"annotations\": [{\"image_id\": 1, \"category_id\": 1, "
                    "\"bbox\": [0, 0, 3]}]}",
                    "\"bbox\" must be");
    char err[1024] = "";
    coco_dataset ds;
    ck_assert_int_eq(coco_dataset_load("/nonexistent/ann.json", &ds, err, sizeof err), -1);
    ck_assert(strstr(err, "/nonexistent/ann.json: cannot open"));

    /* a valid data set; area defaults to w * h */
    char *p = write_tmp("{\"images\": [{\"id\": 4, \"file_name\": \"a.jpg\", \"width\": 10, "
                        "\"height\": 20}], \"categories\": [{\"id\": 2, \"name\": \"ring\"}], "
                        "\"annotations\": [{\"image_id\": 4, \"category_id\": 2, "
                        "\"bbox\": [1, 2, 3, 4], \"iscrowd\": 0}]}");
    ck_assert_msg(coco_dataset_load(p, &ds, err, sizeof err) == 0, "%s", err);
    unlink(p);
    ck_assert(ds.num_images == 1 && ds.num_gts == 1 && ds.gts[0].area == 12.0);
    ck_assert_str_eq(ds.images[0].file_name, "a.jpg");
    ck_assert_str_eq(ds.categories[0].name, "ring");

    odet_eval_det *d;
    size_t n;
    p = write_tmp("[{\"image_id\": 5, \"category_id\": 2, \"bbox\": [1, 2, 3, 4], "
                  "\"score\": 0.5}]");
    ck_assert_int_eq(coco_results_load(p, &ds, &d, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "image_id 5 is not an image"), "%s", err);
    unlink(p);
    p = write_tmp("[{\"image_id\": 4, \"category_id\": 2, \"bbox\": [1, 2, 3, 4]}]");
    ck_assert_int_eq(coco_results_load(p, &ds, &d, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "entry 0"), "%s", err);
    unlink(p);

    /* writer -> reader round trip is exact */
    odet_eval_det w[2] = {dt(4, 2, 1.0 / 3.0, 2.5, 1e-7, 1e6, 0.123456789f),
                          dt(4, 2, -0.0, 7, 0, 0, 1.0)};
    char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/tmp/odet_eval_rt_%d.json", (int)getpid());
    FILE *f = fopen(tmpl, "w");
    ck_assert_int_eq(coco_results_write(f, w, 2), 0);
    fclose(f);
    ck_assert_msg(coco_results_load(tmpl, &ds, &d, &n, err, sizeof err) == 0, "%s", err);
    unlink(tmpl);
    ck_assert_uint_eq(n, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert(d[i].image_id == w[i].image_id && d[i].category_id == w[i].category_id);
        ck_assert(d[i].score == w[i].score);
        for (int k = 0; k < 4; k++)
            ck_assert(d[i].bbox[k] == w[i].bbox[k]);
    }
    free(d);
    coco_dataset_free(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval");
    TCase *t = tcase_create("eval");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, golden_cases);
    tcase_add_test(t, perfect_and_empty);
    tcase_add_test(t, false_positive_first);
    tcase_add_test(t, crowd_region);
    tcase_add_test(t, api_errors);
    tcase_add_test(t, reader_errors);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
