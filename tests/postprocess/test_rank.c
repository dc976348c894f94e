/* IoU-aware ranking (VFNet) and score fusion: goldens from a transcription
 * of mmdet's VFNetHead.get_bboxes + multiclass_nms with torchvision NMS. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

static void check_case(const char *name, int logits)
{
    gold_file *g = gold_open("rank.txt");
    const gold_case *c = gold_case_get(g, name);
    const gold_array *prm = gold_get(c, "params");
    odet_rank_params p = odet_rank_default_params((size_t)prm->v[0]);
    p.pre_nms_top_k = (size_t)prm->v[1];
    p.score_threshold = (float)prm->v[2];
    p.iou_threshold = (float)prm->v[3];
    p.max_detections = (size_t)prm->v[4];
    int fused = prm->v[5] >= 0;
    if (fused)
        p.fusion_alpha = (float)prm->v[5];
    p.scores_are_logits = logits;
    odet_rank_level lv[3];
    float *mem[9];
    for (int l = 0; l < 3; l++) {
        char key[32];
        snprintf(key, sizeof key, "scores%d", l);
        mem[3 * l] = gold_f32(gold_get(c, key));
        snprintf(key, sizeof key, "boxes%d", l);
        const gold_array *b = gold_get(c, key);
        mem[3 * l + 1] = gold_f32(b);
        snprintf(key, sizeof key, "quality%d", l);
        mem[3 * l + 2] = gold_f32(gold_get(c, key));
        lv[l].count = b->n / 4;
        if (logits) { /* same scores given as logits */
            size_t ns = lv[l].count * p.num_classes;
            for (size_t i = 0; i < ns; i++)
                mem[3 * l][i] = logf(mem[3 * l][i] / (1.0f - mem[3 * l][i]));
        }
        lv[l].scores = mem[3 * l];
        lv[l].boxes = (const odet_box *)mem[3 * l + 1];
        lv[l].quality = fused ? mem[3 * l + 2] : NULL;
    }
    odet_detection *out = malloc(p.max_detections * sizeof *out);
    size_t n = 0;
    size_t sz = odet_rank_workspace_size(lv, 3, &p);
    void *ws = malloc(sz);
    ck_assert_int_eq(odet_rank_ws(lv, 3, &p, out, &n, ws, sz), ODET_PP_OK);
    const gold_array *rb = gold_get(c, "out_boxes"), *rs = gold_get(c, "out_scores");
    const gold_array *rl = gold_get(c, "out_labels"), *ri = gold_get(c, "out_index");
    ck_assert_msg(n == rs->n, "%s: %zu detections, reference %zu", name, n, rs->n);
    for (size_t i = 0; i < n; i++) {
        if (logits) {
            /* sigmoid(logit(s)) round trips to within an ulp or two */
            ck_assert(fabs(out[i].score - rs->v[i]) <= 1e-6);
            continue;
        }
        ck_assert_msg(out[i].score == (float)rs->v[i], "%s det %zu: score %.9g vs %.9g", name, i,
                      out[i].score, rs->v[i]);
        ck_assert_int_eq(out[i].label, (int32_t)rl->v[i]);
        ck_assert_uint_eq(out[i].index, (size_t)ri->v[i]);
        const float *b = &out[i].box.x1;
        for (int j = 0; j < 4; j++)
            ck_assert(b[j] == (float)rb->v[4 * i + j]);
    }
    /* the allocating form */
    size_t n2 = 0;
    odet_detection *out2 = malloc(p.max_detections * sizeof *out2);
    ck_assert_int_eq(odet_rank(lv, 3, &p, out2, &n2), ODET_PP_OK);
    ck_assert_uint_eq(n2, n);
    ck_assert(memcmp(out, out2, n * sizeof *out) == 0);
    free(out2);
    free(out);
    free(ws);
    for (int k = 0; k < 9; k++)
        free(mem[k]);
    gold_free(g);
}

START_TEST(vfnet_vs_reference)
{
    check_case("vfnet", 0);
    check_case("all", 0);
    check_case("fused", 0);
    check_case("vfnet", 1);
}
END_TEST

START_TEST(fusion)
{
    gold_file *g = gold_open("rank.txt");
    static const char *const NAMES[] = {"fuse_00", "fuse_03", "fuse_05", "fuse_10"};
    for (int k = 0; k < 4; k++) {
        const gold_case *c = gold_case_get(g, NAMES[k]);
        const gold_array *gc = gold_get(c, "cls");
        float *cls = gold_f32(gc), *q = gold_f32(gold_get(c, "quality"));
        float alpha = (float)gold_get(c, "alpha")->v[0];
        size_t n = gold_get(c, "quality")->n, nc = gc->n / n;
        float *out = malloc(gc->n * sizeof *out);
        ck_assert_int_eq(odet_fuse_iou_scores(cls, q, n, nc, alpha, out), ODET_PP_OK);
        const gold_array *ref = gold_get(c, "fused");
        for (size_t i = 0; i < gc->n; i++)
            ck_assert_msg(out[i] == (float)ref->v[i], "%s[%zu]: %.9g vs %.9g", NAMES[k], i, out[i],
                          ref->v[i]);
        /* in place */
        ck_assert_int_eq(odet_fuse_iou_scores(cls, q, n, nc, alpha, cls), ODET_PP_OK);
        ck_assert(memcmp(cls, out, gc->n * sizeof *out) == 0);
        free(cls);
        free(q);
        free(out);
    }
    float one = 1.0f;
    ck_assert_int_eq(odet_fuse_iou_scores(&one, &one, 1, 1, 1.5f, &one), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_fuse_iou_scores(&one, &one, 1, 1, NAN, &one), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_fuse_iou_scores(NULL, &one, 1, 1, 0.5f, &one), ODET_PP_ERR_NULL);
    gold_free(g);
}
END_TEST

START_TEST(invalid_input)
{
    float s[4] = {0.9f, 0.1f, 0.8f, NAN};
    odet_box b[2] = {{0, 0, 10, 10}, {0, 0, 10, 10}};
    odet_rank_level lv = {s, b, NULL, 2};
    odet_rank_params p = odet_rank_default_params(2);
    odet_detection out[100];
    size_t n = 7;
    ck_assert_int_eq(odet_rank(&lv, 1, &p, out, &n), ODET_PP_ERR_NONFINITE);
    s[3] = 0.2f;
    ck_assert_int_eq(odet_rank(&lv, 1, &p, out, &n), ODET_PP_OK);
    ck_assert_uint_eq(n, 2); /* class 0 box 0 (0.9); class 1 box 1 (0.2) */
    ck_assert_int_eq(out[0].label, 0);
    ck_assert_uint_eq(out[0].index, 0);
    ck_assert_int_eq(out[1].label, 1);
    ck_assert_uint_eq(out[1].index, 1);
    p.max_detections = 0;
    ck_assert_int_eq(odet_rank(&lv, 1, &p, out, &n), ODET_PP_ERR_PARAM);
    p = odet_rank_default_params(0);
    ck_assert_int_eq(odet_rank(&lv, 1, &p, out, &n), ODET_PP_ERR_PARAM);
    p = odet_rank_default_params(2);
    p.iou_threshold = 2.0f;
    ck_assert_int_eq(odet_rank(&lv, 1, &p, out, &n), ODET_PP_ERR_PARAM);
    p = odet_rank_default_params(2);
    ck_assert_int_eq(odet_rank(NULL, 1, &p, out, &n), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_rank(NULL, 0, &p, out, &n), ODET_PP_OK);
    ck_assert_uint_eq(n, 0);
    char ws[64];
    ck_assert_int_eq(odet_rank_ws(&lv, 1, &p, out, &n, ws, sizeof ws), ODET_PP_ERR_WORKSPACE);
    lv.count = (size_t)-1;
    ck_assert_int_eq(odet_rank(&lv, 1, &p, out, &n), ODET_PP_ERR_RANGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postprocess_rank");
    TCase *tc = tcase_create("rank");
    tcase_add_test(tc, vfnet_vs_reference);
    tcase_add_test(tc, fusion);
    tcase_add_test(tc, invalid_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
