/* IoU family: torchvision goldens (float64 and float32) and properties. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

static const char *const KIND_NAME[] = {"iou", "giou", "diou", "ciou"};

/* odet matches torchvision-on-float64 to float rounding; against
 * torchvision-on-float32 it may differ by float32's own error, which is
 * large where float32 overflows, underflows or cancels. */
#define TIGHT_ATOL 1e-12
#define TIGHT_RTOL 1.5e-7
#define F32_ATOL 2e-5
#define F32_RTOL 2e-4

/* got vs the float32 golden; entries where float32 itself is far from exact
 * arithmetic are counted, not failed. Returns the number of those. */
static size_t check_vs_f32(const float *got, const gold_array *r32, const gold_array *r64,
                           const char *what)
{
    size_t limited = 0;
    for (size_t i = 0; i < r32->n; i++) {
        if (close_enough(got[i], r32->v[i], F32_ATOL, F32_RTOL))
            continue;
        ck_assert_msg(!close_enough(r32->v[i], r64->v[i], F32_ATOL, F32_RTOL),
                      "%s[%zu]: odet %.9g, torchvision f32 %.9g (f64 %.17g)", what, i, got[i],
                      r32->v[i], r64->v[i]);
        limited++;
    }
    return limited;
}

static void check_matrix_case(const char *name)
{
    gold_file *g = gold_open("iou.txt");
    const gold_case *c = gold_case_get(g, name);
    const gold_array *ga = gold_get(c, "a"), *gb = gold_get(c, "b");
    odet_box *a = gold_boxes(ga), *b = gold_boxes(gb);
    size_t na = ga->n / 4, nb = gb->n / 4;
    float *out = malloc(na * nb * sizeof *out);
    size_t limited = 0;
    for (int k = 0; k < 4; k++) {
        char key[32];
        ck_assert_int_eq(odet_iou_matrix(a, na, b, nb, (odet_iou_kind)k, out), ODET_PP_OK);
        snprintf(key, sizeof key, "%s64", KIND_NAME[k]);
        const gold_array *r64 = gold_get(c, key);
        snprintf(key, sizeof key, "%s32", KIND_NAME[k]);
        const gold_array *r32 = gold_get(c, key);
        ck_assert_uint_eq(r64->n, na * nb);
        for (size_t i = 0; i < na; i++) {
            for (size_t j = 0; j < nb; j++) {
                float v = out[i * nb + j];
                ck_assert_msg(close_enough(v, r64->v[i * nb + j], TIGHT_ATOL, TIGHT_RTOL),
                              "%s %s[%zu][%zu]: odet %.9g torchvision(f64) %.17g", name,
                              KIND_NAME[k], i, j, v, r64->v[i * nb + j]);
                /* the single-pair function is the same computation */
                float s = odet_iou(&a[i], &b[j], (odet_iou_kind)k);
                ck_assert_msg((isnan(s) && isnan(v)) || s == v, "odet_iou != matrix at %zu,%zu",
                              i, j);
            }
        }
        limited += check_vs_f32(out, r32, r64, key);
    }
    /* only the huge / tiny edge boxes may be beyond float32 */
    if (strcmp(name, "matrix_edge") != 0)
        ck_assert_uint_eq(limited, 0);
    else
        ck_assert_uint_lt(limited, 200);
    free(out);
    free(a);
    free(b);
    gold_free(g);
}

START_TEST(matrix_edge)
{
    check_matrix_case("matrix_edge");
}
END_TEST

START_TEST(matrix_random)
{
    check_matrix_case("matrix_random");
    check_matrix_case("matrix_random_pixels");
}
END_TEST

/* Degenerate semantics spelled out (same numbers as the goldens). */
START_TEST(degenerate_semantics)
{
    odet_box ref = {0, 0, 10, 10}, point = {3, 3, 3, 3}, zero_w = {0, 0, 0, 10};
    odet_box inv_x = {8, 2, 2, 8}, inv_both = {8, 8, 2, 2};
    ck_assert(isnan(odet_iou(&point, &point, ODET_IOU)));   /* 0 / 0 */
    ck_assert(isnan(odet_iou(&point, &zero_w, ODET_GIOU)));
    ck_assert_float_eq(odet_iou(&point, &ref, ODET_IOU), 0.0f);
    ck_assert_float_eq(odet_iou(&zero_w, &ref, ODET_IOU), 0.0f);
    /* inverted box, area -36: union 100 - 36 = 64 > 0 -> 0 */
    ck_assert_float_eq(odet_iou(&inv_x, &ref, ODET_IOU), 0.0f);
    /* both inverted, areas +36: no intersection -> 0 */
    ck_assert_float_eq(odet_iou(&inv_both, &inv_both, ODET_IOU), 0.0f);
    /* area -100 against area +100: union 0 -> NaN */
    odet_box inv_ref = {10, 0, 0, 10};
    ck_assert(isnan(odet_iou(&inv_ref, &ref, ODET_IOU)));
    /* area -100 against a point: union -100 -> -0.0 */
    float z = odet_iou(&inv_ref, &point, ODET_IOU);
    ck_assert(z == 0.0f && signbit(z));
}
END_TEST

static void check_paired_case(const char *name)
{
    gold_file *g = gold_open("iou.txt");
    const gold_case *c = gold_case_get(g, name);
    const gold_array *ga = gold_get(c, "a");
    odet_box *a = gold_boxes(ga), *b = gold_boxes(gold_get(c, "b"));
    size_t n = ga->n / 4;
    float *out = malloc((n + 1) * sizeof *out);
    for (int k = 0; k < 4; k++) {
        char key[64], key32[64];
        ck_assert_int_eq(odet_iou_paired(a, b, n, (odet_iou_kind)k, out), ODET_PP_OK);
        snprintf(key, sizeof key, "%s64_paired", KIND_NAME[k]);
        snprintf(key32, sizeof key32, "%s32_paired", KIND_NAME[k]);
        const gold_array *r64 = gold_get(c, key);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(close_enough(out[i], r64->v[i], TIGHT_ATOL, TIGHT_RTOL),
                          "%s %s[%zu]: %.9g vs %.17g", name, key, i, out[i], r64->v[i]);
        check_vs_f32(out, gold_get(c, key32), r64, key32);
    }
    /* losses: torchvision's definitions with eps = 1e-7 */
    static const char *const RED[] = {"none", "mean", "sum"};
    for (int k = 0; k < 4; k++) {
        for (int r = 0; r < 3; r++) {
            char key[64];
            snprintf(key, sizeof key, "%s_loss_%s_64", KIND_NAME[k], RED[r]);
            const gold_array *ref = gold_get(c, key);
            ck_assert_int_eq(odet_iou_loss(a, b, n, (odet_iou_kind)k, (odet_reduction)r, 1e-7f,
                                           out),
                             ODET_PP_OK);
            size_t m = r == 0 ? n : 1;
            ck_assert_uint_eq(ref->n, m);
            for (size_t i = 0; i < m; i++)
                ck_assert_msg(close_enough(out[i], ref->v[i], 1e-6, 1e-6),
                              "%s %s[%zu]: odet %.9g torchvision %.17g", name, key, i, out[i],
                              ref->v[i]);
            if (k == 0)
                continue; /* no torchvision float32 twin for the IoU loss */
            snprintf(key, sizeof key, "%s_loss_%s_32", KIND_NAME[k], RED[r]);
            const gold_array *r32 = gold_get(c, key);
            for (size_t i = 0; i < m; i++)
                ck_assert_msg(close_enough(out[i], r32->v[i], 1e-4, 1e-4) ||
                                  !close_enough(r32->v[i], ref->v[i], 1e-4, 1e-4),
                              "%s %s[%zu]: odet %.9g torchvision f32 %.9g", name, key, i, out[i],
                              r32->v[i]);
        }
    }
    free(out);
    free(a);
    free(b);
    gold_free(g);
}

START_TEST(paired_and_losses)
{
    check_paired_case("paired_edge");
    check_paired_case("paired_random");
}
END_TEST

static odet_box random_box(test_rng *r, int grid)
{
    odet_box b;
    if (grid) {
        /* small integer grid: many touching, nested and identical boxes */
        b.x1 = (float)(rng_next(r) % 8);
        b.y1 = (float)(rng_next(r) % 8);
        b.x2 = b.x1 + 1.0f + (float)(rng_next(r) % 6);
        b.y2 = b.y1 + 1.0f + (float)(rng_next(r) % 6);
    } else {
        double s = pow(10.0, -3.0 + 7.0 * rng_uniform(r)); /* scales 1e-3 .. 1e4 */
        b.x1 = (float)(s * rng_uniform(r));
        b.y1 = (float)(s * rng_uniform(r));
        b.x2 = b.x1 + (float)(s * (0.01 + rng_uniform(r)));
        b.y2 = b.y1 + (float)(s * (0.01 + rng_uniform(r)));
    }
    return b;
}

START_TEST(properties)
{
    test_rng r = {42};
    for (int t = 0; t < 40000; t++) {
        odet_box a = random_box(&r, t & 1), b = random_box(&r, t & 1);
        if (!(a.x2 > a.x1 && a.y2 > a.y1 && b.x2 > b.x1 && b.y2 > b.y1))
            continue;
        float iou = odet_iou(&a, &b, ODET_IOU), iou2 = odet_iou(&b, &a, ODET_IOU);
        float giou = odet_iou(&a, &b, ODET_GIOU), giou2 = odet_iou(&b, &a, ODET_GIOU);
        float diou = odet_iou(&a, &b, ODET_DIOU), ciou = odet_iou(&a, &b, ODET_CIOU);
        ck_assert(iou == iou2);
        ck_assert(giou == giou2);
        ck_assert(diou == odet_iou(&b, &a, ODET_DIOU));
        ck_assert(iou >= 0.0f && iou <= 1.0f);
        ck_assert(giou >= -1.0f && giou <= 1.0f);
        ck_assert(giou <= iou);
        ck_assert(diou > -1.0f && diou <= iou);
        ck_assert(ciou > -1.5f && ciou <= diou);
        ck_assert_float_eq(odet_iou(&a, &a, ODET_IOU), 1.0f);
        /* losses are 1 - value up to eps */
        float l;
        ck_assert_int_eq(odet_iou_loss(&a, &b, 1, ODET_GIOU, ODET_REDUCE_NONE, 0.0f, &l),
                         ODET_PP_OK);
        ck_assert(fabsf(l - (1.0f - giou)) <= 1e-5f);
    }
}
END_TEST

START_TEST(invalid_input)
{
    odet_box a[2] = {{0, 0, 1, 1}, {0, 0, 2, 2}};
    float out[4];
    ck_assert_int_eq(odet_iou_matrix(a, 2, a, 2, (odet_iou_kind)7, out), ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_iou_matrix(NULL, 2, a, 2, ODET_IOU, out), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_iou_matrix(a, 2, a, 2, ODET_IOU, NULL), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_iou_matrix(a, (size_t)-1, a, 2, ODET_IOU, out), ODET_PP_ERR_RANGE);
    ck_assert_int_eq(odet_iou_matrix(a, 0, a, 2, ODET_IOU, NULL), ODET_PP_OK);
    ck_assert(isnan(odet_iou(a, a, (odet_iou_kind)-1)));
    ck_assert(isnan(odet_iou(NULL, a, ODET_IOU)));
    ck_assert_int_eq(odet_iou_paired(a, a, (size_t)-3, ODET_IOU, out), ODET_PP_ERR_RANGE);
    ck_assert_int_eq(odet_iou_loss(a, a, 2, ODET_GIOU, ODET_REDUCE_MEAN, NAN, out),
                     ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_iou_loss(a, a, 2, ODET_GIOU, ODET_REDUCE_MEAN, -1.0f, out),
                     ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_iou_loss(a, a, 2, ODET_GIOU, (odet_reduction)5, 1e-7f, out),
                     ODET_PP_ERR_PARAM);
    out[0] = 123.0f;
    ck_assert_int_eq(odet_iou_loss(NULL, NULL, 0, ODET_CIOU, ODET_REDUCE_MEAN, 1e-7f, out),
                     ODET_PP_OK);
    ck_assert_float_eq(out[0], 0.0f);
    /* NaN coordinates propagate */
    odet_box nb = {NAN, 0, 1, 1};
    ck_assert(isnan(odet_iou(&nb, &a[0], ODET_CIOU)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postprocess_iou");
    TCase *tc = tcase_create("iou");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, matrix_edge);
    tcase_add_test(tc, matrix_random);
    tcase_add_test(tc, degenerate_semantics);
    tcase_add_test(tc, paired_and_losses);
    tcase_add_test(tc, properties);
    tcase_add_test(tc, invalid_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
