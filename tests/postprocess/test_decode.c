/* CenterNet and DETR decoding, DETR matching: goldens from the reference
 * PyTorch code. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

START_TEST(centernet_vs_reference)
{
    gold_file *g = gold_open("decode.txt");
    size_t cases = 0;
    for (size_t k = 0; k < g->n; k++) {
        const gold_case *c = &g->cases[k];
        if (strncmp(c->name, "centernet_", 10) != 0)
            continue;
        cases++;
        const gold_array *dims = gold_get(c, "dims");
        size_t C = (size_t)dims->v[0], H = (size_t)dims->v[1], W = (size_t)dims->v[2];
        size_t K = (size_t)gold_get(c, "k")->v[0];
        float *heat = gold_f32(gold_get(c, "heat")), *wh = gold_f32(gold_get(c, "wh"));
        float *reg = gold_f32(gold_get(c, "reg"));
        int use_reg = (int)gold_get(c, "use_reg")->v[0];
        odet_centernet_params p = {K, -INFINITY, 4.0f, 0};
        odet_detection *det = malloc(K * sizeof *det);
        size_t n = 0;
        ck_assert_int_eq(odet_centernet_decode(heat, wh, use_reg ? reg : NULL, C, H, W, &p, det, &n),
                         ODET_PP_OK);
        const gold_array *rb = gold_get(c, "boxes"), *rs = gold_get(c, "scores");
        const gold_array *rl = gold_get(c, "labels"), *ri = gold_get(c, "index");
        ck_assert_uint_eq(n, rs->n);
        for (size_t i = 0; i < n; i++) {
            ck_assert(det[i].score == (float)rs->v[i]);
            ck_assert_int_eq(det[i].label, (int32_t)rl->v[i]);
            ck_assert_uint_eq(det[i].index, (size_t)ri->v[i]);
            const float *bx = &det[i].box.x1;
            for (int j = 0; j < 4; j++)
                ck_assert_msg(bx[j] == (float)rb->v[4 * i + j], "%s det %zu coord %d: %.9g vs %.9g",
                              c->name, i, j, bx[j], rb->v[4 * i + j]);
        }
        /* logits give the same peaks; the score threshold cuts the tail */
        float *logit = malloc(C * H * W * sizeof *logit);
        for (size_t i = 0; i < C * H * W; i++)
            logit[i] = logf(heat[i] / (1.0f - heat[i]));
        odet_centernet_params pl = {K, 0.3f, 4.0f, 1};
        odet_detection *dl = malloc(K * sizeof *dl);
        size_t nl = 0;
        ck_assert_int_eq(odet_centernet_decode(logit, wh, use_reg ? reg : NULL, C, H, W, &pl, dl,
                                               &nl),
                         ODET_PP_OK);
        size_t above = 0;
        while (above < n && det[above].score >= 0.3f)
            above++;
        ck_assert_uint_ge(nl + 1, above); /* one may flip at the threshold through rounding */
        ck_assert_uint_le(nl, above + 1);
        for (size_t i = 0; i < nl && i < above; i++) {
            ck_assert_uint_eq(dl[i].index, det[i].index);
            ck_assert(fabsf(dl[i].score - det[i].score) <= 1e-6f);
        }
        free(logit);
        free(dl);
        free(det);
        free(heat);
        free(wh);
        free(reg);
    }
    ck_assert_uint_eq(cases, 3);
    gold_free(g);
}
END_TEST

START_TEST(centernet_edges)
{
    /* a 1x1 map, plateaus, invalid input */
    float heat[6] = {0.5f, 0.5f, 0.1f, 0.7f, 0.7f, 0.7f}; /* 2 classes x 1 x 3 */
    float wh[6] = {2, 2, 2, 4, 4, 4};
    odet_centernet_params p = {10, -INFINITY, 1.0f, 0};
    odet_detection d[10];
    size_t n = 0;
    ck_assert_int_eq(odet_centernet_decode(heat, wh, NULL, 2, 1, 3, &p, d, &n), ODET_PP_OK);
    ck_assert_uint_eq(n, 5); /* 0.5 0.5 peaks, 0.1 not, 0.7 x3 peaks */
    ck_assert_uint_eq(d[0].index, 3);
    ck_assert_uint_eq(d[1].index, 4);
    ck_assert_uint_eq(d[2].index, 5);
    ck_assert_uint_eq(d[3].index, 0);
    ck_assert(d[0].box.x1 == -0.5f && d[0].box.x2 == 1.5f && d[0].box.y1 == -1.5f);
    p.k = 2;
    ck_assert_int_eq(odet_centernet_decode(heat, wh, NULL, 2, 1, 3, &p, d, &n), ODET_PP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(d[1].index, 4);
    p.score_threshold = 0.6f;
    p.k = 10;
    ck_assert_int_eq(odet_centernet_decode(heat, wh, NULL, 2, 1, 3, &p, d, &n), ODET_PP_OK);
    ck_assert_uint_eq(n, 3);
    p.k = 0;
    ck_assert_int_eq(odet_centernet_decode(heat, wh, NULL, 2, 1, 3, &p, d, &n), ODET_PP_ERR_PARAM);
    p.k = 3;
    p.down_ratio = 0.0f;
    ck_assert_int_eq(odet_centernet_decode(heat, wh, NULL, 2, 1, 3, &p, d, &n), ODET_PP_ERR_PARAM);
    p.down_ratio = 4.0f;
    heat[2] = NAN;
    ck_assert_int_eq(odet_centernet_decode(heat, wh, NULL, 2, 1, 3, &p, d, &n),
                     ODET_PP_ERR_NONFINITE);
    ck_assert_int_eq(odet_centernet_decode(heat, NULL, NULL, 2, 1, 3, &p, d, &n), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_centernet_decode(heat, wh, NULL, (size_t)-1, 1, 3, &p, d, &n),
                     ODET_PP_ERR_RANGE);
    ck_assert_int_eq(odet_centernet_decode(heat, wh, NULL, 0, 1, 3, &p, d, &n), ODET_PP_OK);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(detr_decode_vs_reference)
{
    gold_file *g = gold_open("decode.txt");
    const gold_case *c = gold_case_get(g, "detr_decode");
    const gold_array *dims = gold_get(c, "dims");
    size_t Q = (size_t)dims->v[0], NL = (size_t)dims->v[1];
    float *lg = gold_f32(gold_get(c, "logits")), *bx = gold_f32(gold_get(c, "boxes_cxcywh"));
    const gold_array *img = gold_get(c, "img");
    odet_detection *d = malloc(Q * sizeof *d);
    size_t n = 0;
    ck_assert_int_eq(odet_detr_decode(lg, bx, Q, NL, (float)img->v[0], (float)img->v[1], -INFINITY,
                                      d, &n),
                     ODET_PP_OK);
    ck_assert_uint_eq(n, Q);
    const gold_array *rs = gold_get(c, "scores"), *rl = gold_get(c, "labels"),
                     *rb = gold_get(c, "boxes");
    for (size_t q = 0; q < Q; q++) {
        ck_assert_uint_eq(d[q].index, q);
        ck_assert_int_eq(d[q].label, (int32_t)rl->v[q]);
        ck_assert_msg(close_enough(d[q].score, rs->v[q], 1e-7, 2e-6), "score %zu: %.9g vs %.9g", q,
                      d[q].score, rs->v[q]);
        const float *b = &d[q].box.x1;
        for (int j = 0; j < 4; j++)
            ck_assert(b[j] == (float)rb->v[4 * q + j]);
    }
    /* threshold keeps query order */
    size_t m = 0;
    ck_assert_int_eq(odet_detr_decode(lg, bx, Q, NL, 800, 600, 0.5f, d, &m), ODET_PP_OK);
    size_t want = 0;
    for (size_t q = 0; q < Q; q++)
        want += rs->v[q] >= 0.5;
    ck_assert_uint_eq(m, want);
    for (size_t i = 1; i < m; i++)
        ck_assert_uint_gt(d[i].index, d[i - 1].index);
    ck_assert_int_eq(odet_detr_decode(lg, bx, Q, 1, 800, 600, 0.5f, d, &m), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_detr_decode(lg, bx, Q, NL, -800, 600, 0.5f, d, &m), ODET_PP_ERR_PARAM);
    lg[3] = NAN;
    ck_assert_int_eq(odet_detr_decode(lg, bx, Q, NL, 800, 600, 0.5f, d, &m),
                     ODET_PP_ERR_NONFINITE);
    free(d);
    free(lg);
    free(bx);
    gold_free(g);
}
END_TEST

START_TEST(detr_match_vs_reference)
{
    gold_file *g = gold_open("decode.txt");
    static const char *const NAMES[] = {"detr_match_t5", "detr_match_t20", "detr_match_t0"};
    for (int k = 0; k < 3; k++) {
        const gold_case *c = gold_case_get(g, NAMES[k]);
        const gold_array *dims = gold_get(c, "dims");
        size_t Q = (size_t)dims->v[0], NL = (size_t)dims->v[1], T = (size_t)dims->v[2];
        float *lg = gold_f32(gold_get(c, "logits")), *pred = gold_f32(gold_get(c, "pred"));
        float *tgt = gold_f32(gold_get(c, "tgt"));
        int32_t *labels = gold_i32(gold_get(c, "tgt_labels"));
        const gold_array *wg = gold_get(c, "weights");
        odet_detr_match_weights w = {(float)wg->v[0], (float)wg->v[1], (float)wg->v[2]};
        float *cost = malloc((Q * T + 1) * sizeof *cost);
        ck_assert_int_eq(odet_detr_match_cost(lg, pred, Q, NL, labels, tgt, T, &w, cost),
                         ODET_PP_OK);
        const gold_array *rc = gold_get(c, "cost");
        for (size_t i = 0; i < Q * T; i++)
            ck_assert_msg(close_enough(cost[i], rc->v[i], 2e-6, 2e-6), "%s cost[%zu] %.9g vs %.9g",
                          NAMES[k], i, cost[i], rc->v[i]);
        int32_t *q2t = malloc(Q * sizeof *q2t);
        double total = 0.0;
        ck_assert_int_eq(odet_detr_match(lg, pred, Q, NL, labels, tgt, T, &w, q2t, &total),
                         ODET_PP_OK);
        const gold_array *rq = gold_get(c, "query_to_target");
        for (size_t q = 0; q < Q; q++)
            ck_assert_int_eq(q2t[q], (int32_t)rq->v[q]);
        ck_assert(close_enough(total, gold_get(c, "total")->v[0], 1e-5, 1e-5));
        if (T) {
            labels[0] = (int32_t)NL - 1; /* the no-object class is not a target label */
            ck_assert_int_eq(odet_detr_match_cost(lg, pred, Q, NL, labels, tgt, T, &w, cost),
                             ODET_PP_ERR_PARAM);
        }
        free(q2t);
        free(cost);
        free(lg);
        free(pred);
        free(tgt);
        free(labels);
    }
    gold_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postprocess_decode");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, centernet_vs_reference);
    tcase_add_test(tc, centernet_edges);
    tcase_add_test(tc, detr_decode_vs_reference);
    tcase_add_test(tc, detr_match_vs_reference);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
