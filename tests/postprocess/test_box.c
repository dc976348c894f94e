/* Box formats, clipping, letterbox and affine inverses. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

static const char *const FMT[] = {"xyxy", "xywh", "cxcywh"};

START_TEST(convert_vs_torchvision)
{
    gold_file *g = gold_open("box.txt");
    const gold_case *c = gold_case_get(g, "convert");
    const gold_array *ga = gold_get(c, "boxes");
    float *in = gold_f32(ga);
    size_t n = ga->n / 4;
    float *out = malloc(ga->n * sizeof *out);
    for (int i = 0; i < 3; i++) {
        for (int o = 0; o < 3; o++) {
            char key[32];
            snprintf(key, sizeof key, "%s_to_%s", FMT[i], FMT[o]);
            /* the golden input is xyxy: convert it to format i first, as torchvision did */
            const gold_array *src = i == 0 ? ga : gold_get(c, i == 1 ? "xyxy_to_xywh"
                                                                    : "xyxy_to_cxcywh");
            float *s = gold_f32(src);
            ck_assert_int_eq(odet_boxes_convert(s, n, (odet_box_format)i, (odet_box_format)o, out),
                             ODET_PP_OK);
            /* torchvision converted from xyxy; compare the xyxy-sourced goldens only */
            if (i == 0) {
                const gold_array *ref = gold_get(c, key);
                for (size_t k = 0; k < ga->n; k++)
                    ck_assert_msg((isnan(ref->v[k]) && isnan(out[k])) || out[k] == (float)ref->v[k],
                                  "%s[%zu]: %.9g vs %.9g", key, k, out[k], ref->v[k]);
            }
            /* in place gives the same */
            ck_assert_int_eq(odet_boxes_convert(s, n, (odet_box_format)i, (odet_box_format)o, s),
                             ODET_PP_OK);
            ck_assert(memcmp(s, out, ga->n * sizeof *out) == 0);
            free(s);
        }
    }
    /* round trip cxcywh -> xyxy on the torchvision result */
    float *cx = gold_f32(gold_get(c, "xyxy_to_cxcywh"));
    odet_box *xy = malloc(n * sizeof *xy);
    ck_assert_int_eq(odet_boxes_cxcywh_to_xyxy(cx, n, xy), ODET_PP_OK);
    ck_assert_int_eq(odet_boxes_xyxy_to_cxcywh(xy, n, out), ODET_PP_OK);
    for (size_t k = 0; k < ga->n; k++)
        ck_assert(close_enough(out[k], cx[k], 1e-3, 1e-5));
    /* clip and min size */
    odet_box *b = gold_boxes(ga);
    ck_assert_int_eq(odet_boxes_clip(b, n, 640.0f, 480.0f, xy), ODET_PP_OK);
    const gold_array *clip = gold_get(c, "clip_640x480");
    for (size_t k = 0; k < ga->n; k++)
        ck_assert(((float *)xy)[k] == (float)clip->v[k]);
    size_t *idx = malloc(n * sizeof *idx), cnt = 0;
    ck_assert_int_eq(odet_boxes_min_size(b, n, 5.0f, idx, &cnt), ODET_PP_OK);
    const gold_array *small = gold_get(c, "small_5");
    ck_assert_uint_eq(cnt, small->n);
    for (size_t k = 0; k < cnt; k++)
        ck_assert_uint_eq(idx[k], (size_t)small->v[k]);
    free(idx);
    free(b);
    free(cx);
    free(xy);
    free(in);
    free(out);
    gold_free(g);
}
END_TEST

START_TEST(letterbox_inverse)
{
    gold_file *g = gold_open("box.txt");
    for (size_t k = 0; k < g->n; k++) {
        const gold_case *c = &g->cases[k];
        if (strncmp(c->name, "letterbox_", 10) != 0)
            continue;
        const gold_array *src = gold_get(c, "src"), *dst = gold_get(c, "dst");
        const gold_array *gn = gold_get(c, "net");
        odet_box *net = gold_boxes(gn), *out = malloc(gn->n * sizeof(float));
        size_t n = gn->n / 4;
        for (int integer = 0; integer < 2; integer++) {
            odet_letterbox lb;
            ck_assert_int_eq(odet_letterbox_compute((float)src->v[0], (float)src->v[1],
                                                    (float)dst->v[0], (float)dst->v[1],
                                                    integer ? ODET_LETTERBOX_INTEGER : 0u, &lb),
                             ODET_PP_OK);
            if (!integer) {
                ck_assert(close_enough(lb.scale_x, gold_get(c, "gain")->v[0], 0, 1e-15));
                ck_assert(close_enough(lb.pad_x, gold_get(c, "pad")->v[0], 1e-12, 1e-15));
                ck_assert(close_enough(lb.pad_y, gold_get(c, "pad")->v[1], 1e-12, 1e-15));
            } else {
                ck_assert(lb.pad_x == gold_get(c, "integer_pad")->v[0]);
                ck_assert(lb.pad_y == gold_get(c, "integer_pad")->v[1]);
            }
            ck_assert_int_eq(odet_boxes_unletterbox(net, n, &lb, out), ODET_PP_OK);
            const gold_array *ref = gold_get(c, integer ? "orig_integer" : "orig");
            const float *o = (const float *)out;
            for (size_t i = 0; i < gn->n; i++)
                ck_assert_msg(close_enough(o[i], ref->v[i], 1e-4, 1e-6), "%s[%zu]: %.9g vs %.9g",
                              c->name, i, o[i], ref->v[i]);
        }
        free(net);
        free(out);
    }
    /* flags */
    odet_letterbox lb;
    ck_assert_int_eq(odet_letterbox_compute(100, 50, 640, 640, ODET_LETTERBOX_NO_UPSCALE, &lb),
                     ODET_PP_OK);
    ck_assert(lb.scale_x == 1.0 && lb.pad_x == 270.0 && lb.pad_y == 295.0);
    ck_assert_int_eq(odet_letterbox_compute(1280, 720, 640, 640, ODET_LETTERBOX_TOP_LEFT, &lb),
                     ODET_PP_OK);
    ck_assert(lb.scale_x == 0.5 && lb.pad_x == 0.0 && lb.pad_y == 0.0);
    ck_assert_int_eq(odet_letterbox_compute(0, 720, 640, 640, 0, &lb), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_letterbox_compute(-5, 720, 640, 640, 0, &lb), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_letterbox_compute(5, 720, NAN, 640, 0, &lb), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_letterbox_compute(5, 720, 640, 640, 64u, &lb), ODET_PP_ERR_PARAM);
    lb.scale_x = 0.0;
    odet_box b = {1, 2, 3, 4};
    ck_assert_int_eq(odet_boxes_unletterbox(&b, 1, &lb, &b), ODET_PP_ERR_PARAM);
    gold_free(g);
}
END_TEST

START_TEST(affine_inverse)
{
    gold_file *g = gold_open("box.txt");
    for (size_t k = 0; k < g->n; k++) {
        const gold_case *c = &g->cases[k];
        if (strncmp(c->name, "affine_", 7) != 0)
            continue;
        const gold_array *ctr = gold_get(c, "center"), *out_size = gold_get(c, "out_size");
        odet_affine fwd, inv;
        ck_assert_int_eq(odet_affine_center_scale((float)ctr->v[0], (float)ctr->v[1],
                                                  (float)gold_get(c, "scale")->v[0],
                                                  (float)out_size->v[0], (float)out_size->v[1],
                                                  &fwd),
                         ODET_PP_OK);
        const gold_array *rf = gold_get(c, "forward"), *ri = gold_get(c, "inverse");
        ck_assert_int_eq(odet_affine_invert(&fwd, &inv), ODET_PP_OK);
        for (int i = 0; i < 6; i++) {
            ck_assert_msg(close_enough(fwd.m[i], rf->v[i], 1e-9, 1e-9), "fwd[%d] %.17g vs %.17g",
                          i, fwd.m[i], rf->v[i]);
            ck_assert_msg(close_enough(inv.m[i], ri->v[i], 1e-9, 1e-9), "inv[%d] %.17g vs %.17g",
                          i, inv.m[i], ri->v[i]);
        }
        const gold_array *gf = gold_get(c, "feat");
        odet_box *feat = gold_boxes(gf), *o = malloc(gf->n * sizeof(float));
        ck_assert_int_eq(odet_boxes_affine(feat, gf->n / 4, &inv, o), ODET_PP_OK);
        const gold_array *ref = gold_get(c, "orig");
        for (size_t i = 0; i < gf->n; i++)
            ck_assert(close_enough(((float *)o)[i], ref->v[i], 1e-3, 1e-6));
        free(feat);
        free(o);
    }
    /* rotation: bounding box of the four corners; flip keeps boxes proper */
    odet_affine rot = {{0, -1, 0, 1, 0, 0}}; /* 90 degrees */
    odet_box b = {1, 2, 4, 3}, o;
    ck_assert_int_eq(odet_boxes_affine(&b, 1, &rot, &o), ODET_PP_OK);
    ck_assert(o.x1 == -3 && o.y1 == 1 && o.x2 == -2 && o.y2 == 4);
    odet_affine flip = {{-1, 0, 10, 0, 1, 0}};
    ck_assert_int_eq(odet_boxes_affine(&b, 1, &flip, &o), ODET_PP_OK);
    ck_assert(o.x1 == 6 && o.x2 == 9 && o.y1 == 2 && o.y2 == 3);
    odet_affine sing = {{1, 2, 0, 2, 4, 0}}, inv;
    ck_assert_int_eq(odet_affine_invert(&sing, &inv), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_affine_center_scale(0, 0, 0, 128, 128, &inv), ODET_PP_ERR_PARAM);
    gold_free(g);
}
END_TEST

START_TEST(small_utilities)
{
    /* normalized <-> pixels */
    odet_box b = {0.25f, 0.5f, 0.75f, 1.0f}, p, q;
    ck_assert_int_eq(odet_boxes_to_pixels(&b, 1, 640, 480, &p), ODET_PP_OK);
    ck_assert(p.x1 == 160 && p.y1 == 240 && p.x2 == 480 && p.y2 == 480);
    ck_assert_int_eq(odet_boxes_to_normalized(&p, 1, 640, 480, &q), ODET_PP_OK);
    ck_assert(memcmp(&q, &b, sizeof b) == 0);
    ck_assert_int_eq(odet_boxes_to_pixels(&b, 1, 0, 480, &p), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_boxes_to_normalized(&b, 1, 640, INFINITY, &p), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_boxes_clip(&b, 1, -1, 480, &p), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_boxes_clip(NULL, 1, 1, 480, &p), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_boxes_clip(NULL, 0, 1, 480, NULL), ODET_PP_OK);
    ck_assert_int_eq(odet_boxes_convert(&b.x1, 1, (odet_box_format)3, ODET_BOX_XYXY, &p.x1),
                     ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_boxes_convert(&b.x1, (size_t)-1, ODET_BOX_XYWH, ODET_BOX_XYXY, &p.x1),
                     ODET_PP_ERR_RANGE);
    /* NaN propagates through clip */
    odet_box nb = {NAN, -1, 700, 5};
    ck_assert_int_eq(odet_boxes_clip(&nb, 1, 640, 480, &p), ODET_PP_OK);
    ck_assert(isnan(p.x1) && p.y1 == 0 && p.x2 == 640 && p.y2 == 5);
    /* area */
    odet_box inv = {8, 2, 2, 8};
    ck_assert_float_eq(odet_box_area(&inv), -36.0f);
    /* FCOS / VFNet distances */
    float pts[4] = {100, 50, 5, 5}, ltrb[8] = {10, 20, 30, 40, 10, 10, 10, 10};
    odet_box d[2];
    ck_assert_int_eq(odet_distance_to_boxes(pts, ltrb, 2, 0, 0, d), ODET_PP_OK);
    ck_assert(d[0].x1 == 90 && d[0].y1 == 30 && d[0].x2 == 130 && d[0].y2 == 90);
    ck_assert(d[1].x1 == -5 && d[1].y2 == 15);
    ck_assert_int_eq(odet_distance_to_boxes(pts, ltrb, 2, 120, 80, d), ODET_PP_OK);
    ck_assert(d[0].x2 == 120 && d[0].y2 == 80 && d[1].x1 == 0);
    /* class offsets, torchvision's coordinate trick */
    odet_box cb[2] = {{0, 0, 10, 10}, {1, 1, 5, 5}};
    int32_t cls[2] = {0, 2};
    odet_box co[2];
    ck_assert_int_eq(odet_boxes_offset_by_class(cb, cls, 2, co), ODET_PP_OK);
    ck_assert(co[0].x1 == 0 && co[1].x1 == 23 && co[1].y2 == 27);
    cls[1] = -1;
    ck_assert_int_eq(odet_boxes_offset_by_class(cb, cls, 2, co), ODET_PP_ERR_PARAM);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postprocess_box");
    TCase *tc = tcase_create("box");
    tcase_add_test(tc, convert_vs_torchvision);
    tcase_add_test(tc, letterbox_inverse);
    tcase_add_test(tc, affine_inverse);
    tcase_add_test(tc, small_utilities);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
