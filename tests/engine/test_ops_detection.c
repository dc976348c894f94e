/* Unit tests of the detection operators NonMaxSuppression and RoiAlign
 * (engine/ops/nms.c, engine/ops/roi_align.c), called through their op
 * definitions (prepare -> infer -> scratch -> run).
 *
 * Both are checked against straightforward in-test transcriptions of ONNX
 * Runtime's algorithms on random inputs: NMS with a full sort and a greedy
 * scan (the op uses a lazy heap), RoiAlign visiting every sample of every bin
 * (the op bisects for the in-range samples and accounts for the rest in closed
 * form). Results must match exactly (RoiAlign: up to the sign of zero), with 1
 * and 2 threads, including sizes large enough for the parallel paths.
 * Edge cases cover empty inputs, thresholds at their limits, ties (equal
 * scores: lower box index first), degenerate boxes, NaN, and every error. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ops/op.h"

#include "op_harness.h"

/* ------------------------------------------------------------------ helpers */

/* Runs a one-output node; on failure the output is freed and *res holds the error. */
static odet_tensor run1(test_node *t, const odet_tensor *const *in, int n_in, int threads,
                        run_result *res)
{
    odet_tensor y;
    memset(&y, 0, sizeof y);
    odet_tensor *outs[1] = {&y};
    run_result r = run_node(t, in, n_in, outs, 1, threads);
    if (res)
        *res = r;
    else
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    if (r.st != ODET_OK) {
        free(y.data);
        y.data = NULL;
    }
    return y;
}

static void assert_err(const run_result *r, odet_status st, const char *op, const char *needle)
{
    ck_assert_msg(r->st == st, "status %d (expected %d): %s", (int)r->st, (int)st, r->err);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "node 'n' (%s): ", op);
    ck_assert_msg(strncmp(r->err, prefix, strlen(prefix)) == 0, "no node prefix: %s", r->err);
    ck_assert_msg(strstr(r->err, needle) != NULL, "'%s' not in: %s", needle, r->err);
}

static float frand(unsigned *seed, float lo, float hi)
{
    return lo + (hi - lo) * (float)(lcg(seed) & 0xffffff) / (float)0x1000000;
}

/* ------------------------------------------------------------------ NMS */

typedef struct nms_in {
    odet_tensor boxes, scores, max_out, iou, score_thr;
    int has_max_out, has_iou, has_score_thr;
} nms_in;

static void nms_in_init(nms_in *a, int64_t b, int64_t c, int64_t n)
{
    memset(a, 0, sizeof *a);
    int64_t bd[3] = {b, n, 4}, sd[3] = {b, c, n};
    a->boxes = tensor(ODET_FLOAT, 3, bd);
    a->scores = tensor(ODET_FLOAT, 3, sd);
}

static void nms_set_max_out(nms_in *a, int64_t v)
{
    tensor_free(&a->max_out);
    int64_t one = 1;
    a->max_out = tensor(ODET_INT64, 1, &one);
    ((int64_t *)a->max_out.data)[0] = v;
    a->has_max_out = 1;
}

static void nms_set_iou(nms_in *a, float v)
{
    tensor_free(&a->iou);
    a->iou = scalar_tensor(ODET_FLOAT, &v);
    a->has_iou = 1;
}

static void nms_set_score_thr(nms_in *a, float v)
{
    tensor_free(&a->score_thr);
    a->score_thr = scalar_tensor(ODET_FLOAT, &v);
    a->has_score_thr = 1;
}

static void nms_in_free(nms_in *a)
{
    tensor_free(&a->boxes);
    tensor_free(&a->scores);
    tensor_free(&a->max_out);
    tensor_free(&a->iou);
    tensor_free(&a->score_thr);
}

/* Runs NMS; absent optional inputs are NULL (trailing ones are dropped). */
static odet_tensor nms_exec(const nms_in *a, int center, int threads, run_result *res)
{
    const odet_tensor *in[5] = {&a->boxes, &a->scores, a->has_max_out ? &a->max_out : NULL,
                                a->has_iou ? &a->iou : NULL,
                                a->has_score_thr ? &a->score_thr : NULL};
    int n_in = 5;
    while (n_in > 2 && !in[n_in - 1])
        n_in--;
    test_node *t = node_new1("NonMaxSuppression", 11, n_in);
    if (center >= 0)
        attr_int(t, "center_point_box", center);
    odet_tensor y = run1(t, in, n_in, threads, res);
    free(t);
    return y;
}

/* Asserts the output equals want[0..n) triples. */
static void assert_sel(const odet_tensor *y, const int64_t *want, int64_t n)
{
    ck_assert_int_eq(y->dtype, ODET_INT64);
    ck_assert_int_eq(y->rank, 2);
    ck_assert_int_eq(y->dims[1], 3);
    ck_assert_msg(y->dims[0] == n, "selected %lld, expected %lld", (long long)y->dims[0],
                  (long long)n);
    for (int64_t i = 0; i < 3 * n; i++)
        ck_assert_msg(((int64_t *)y->data)[i] == want[i], "element %lld: %lld, expected %lld",
                      (long long)i, (long long)((int64_t *)y->data)[i], (long long)want[i]);
}

/* ONNX's suppress_by_IOU example: 6 boxes [y1, x1, y2, x2] in one class. */
static const float ex_boxes[6][4] = {{0, 0, 1, 1},    {0, 0.1f, 1, 1.1f},  {0, -0.1f, 1, 0.9f},
                                     {0, 10, 1, 11},  {0, 10.1f, 1, 11.1f}, {0, 100, 1, 101}};
static const float ex_scores[6] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};

static void nms_example(nms_in *a)
{
    nms_in_init(a, 1, 1, 6);
    memcpy(a->boxes.data, ex_boxes, sizeof ex_boxes);
    memcpy(a->scores.data, ex_scores, sizeof ex_scores);
    nms_set_max_out(a, 3);
    nms_set_iou(a, 0.5f);
    nms_set_score_thr(a, 0.0f);
}

START_TEST(nms_example_formats)
{
    static const int64_t want[9] = {0, 0, 3, 0, 0, 0, 0, 0, 5};
    nms_in a;
    nms_example(&a);
    odet_tensor y = nms_exec(&a, -1, 1, NULL);
    assert_sel(&y, want, 3);
    free(y.data);

    /* flipped corners: same selection */
    float *b = a.boxes.data;
    for (int i = 0; i < 6; i++) {
        if (i % 2) {
            float t = b[4 * i];
            b[4 * i] = b[4 * i + 2];
            b[4 * i + 2] = t;
        } else {
            float t = b[4 * i + 1];
            b[4 * i + 1] = b[4 * i + 3];
            b[4 * i + 3] = t;
        }
    }
    y = nms_exec(&a, 0, 2, NULL);
    assert_sel(&y, want, 3);
    free(y.data);

    /* center_point_box = 1: [x_center, y_center, width, height] */
    for (int i = 0; i < 6; i++) {
        const float *e = ex_boxes[i];
        b[4 * i] = (e[1] + e[3]) / 2;
        b[4 * i + 1] = (e[0] + e[2]) / 2;
        b[4 * i + 2] = e[3] - e[1];
        b[4 * i + 3] = e[2] - e[0];
    }
    y = nms_exec(&a, 1, 1, NULL);
    assert_sel(&y, want, 3);
    free(y.data);
    nms_in_free(&a);
}
END_TEST

START_TEST(nms_empty_and_max_output)
{
    nms_in a;
    /* no boxes / no batches / no classes */
    static const int64_t shapes[3][3] = {{1, 2, 0}, {0, 2, 5}, {1, 0, 5}};
    for (int s = 0; s < 3; s++) {
        nms_in_init(&a, shapes[s][0], shapes[s][1], shapes[s][2]);
        nms_set_max_out(&a, 10);
        odet_tensor y = nms_exec(&a, 0, 2, NULL);
        assert_sel(&y, NULL, 0);
        free(y.data);
        nms_in_free(&a);
    }
    /* max_output_boxes_per_class absent (fewer inputs or an empty slot) or 0: no output */
    nms_example(&a);
    a.has_max_out = 0;
    a.has_iou = a.has_score_thr = 0;
    odet_tensor y = nms_exec(&a, 0, 1, NULL); /* 2 inputs */
    assert_sel(&y, NULL, 0);
    free(y.data);
    a.has_iou = a.has_score_thr = 1;
    y = nms_exec(&a, 0, 1, NULL); /* input 2 empty, 3 and 4 given */
    assert_sel(&y, NULL, 0);
    free(y.data);
    nms_set_max_out(&a, 0);
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, NULL, 0);
    free(y.data);
    /* a huge max output keeps every unsuppressed box: 1, 2 and 4 overlap a
     * better box with IoU 0.9 / 1.1 ~ 0.82 > 0.5, so the same 3 as with max 3 */
    nms_set_max_out(&a, INT64_MAX);
    static const int64_t all[9] = {0, 0, 3, 0, 0, 0, 0, 0, 5};
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, all, 3);
    free(y.data);
    /* iou_threshold 0.9: box 4 (IoU 0.818 with 3) and 1 (0.818 with 0) survive */
    nms_set_iou(&a, 0.9f);
    static const int64_t loose[18] = {0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 4, 0, 0, 5};
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, loose, 6); /* everything, in score order */
    free(y.data);
    nms_in_free(&a);
}
END_TEST

START_TEST(nms_score_threshold_is_strict)
{
    nms_in a;
    nms_example(&a);
    nms_set_max_out(&a, 10);
    /* every score <= threshold: nothing */
    nms_set_score_thr(&a, 0.95f);
    odet_tensor y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, NULL, 0);
    free(y.data);
    /* just below the best: only box 3 */
    nms_set_score_thr(&a, nextafterf(0.95f, 0.0f));
    static const int64_t one[3] = {0, 0, 3};
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, one, 1);
    free(y.data);
    /* 0.6 excludes box 2 (0.6) and the lower ones */
    nms_set_score_thr(&a, 0.6f);
    static const int64_t two[6] = {0, 0, 3, 0, 0, 0};
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, two, 2);
    free(y.data);
    /* NaN threshold: nothing passes */
    nms_set_score_thr(&a, NAN);
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, NULL, 0);
    free(y.data);
    nms_in_free(&a);
}
END_TEST

START_TEST(nms_ties_degenerate_and_limits)
{
    nms_in a;
    /* identical boxes with equal scores: the lowest index is kept */
    nms_in_init(&a, 1, 1, 4);
    float *b = a.boxes.data, *s = a.scores.data;
    for (int i = 0; i < 4; i++) {
        b[4 * i] = b[4 * i + 1] = 0;
        b[4 * i + 2] = b[4 * i + 3] = 2;
        s[i] = 0.5f;
    }
    s[0] = 0.25f;
    nms_set_max_out(&a, 10);
    nms_set_iou(&a, 0.5f);
    static const int64_t tie[6] = {0, 0, 1, 0, 0, 0};
    odet_tensor y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, tie, 1);
    free(y.data);
    /* iou_threshold 1: identical boxes (IoU exactly 1) are not suppressed; the
     * order of equal scores is ascending box index */
    nms_set_iou(&a, 1.0f);
    static const int64_t keep_all[12] = {0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 0};
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, keep_all, 4);
    free(y.data);
    nms_in_free(&a);

    /* iou_threshold 0: touching boxes are kept, any positive overlap suppresses;
     * zero-area boxes never suppress and are never suppressed */
    nms_in_init(&a, 1, 1, 5);
    b = a.boxes.data;
    s = a.scores.data;
    static const float bx[5][4] = {
        {0, 0, 1, 1},       /* 0 */
        {0, 1, 1, 2},       /* 1: shares an edge with 0 */
        {0.5f, 0.5f, 2, 2}, /* 2: overlaps 0 and 1 */
        {0, 0, 1, 0},       /* 3: zero width, on top of 0 */
        {0.5f, 0.5f, 0.5f, 0.5f}, /* 4: a point inside 0 */
    };
    memcpy(b, bx, sizeof bx);
    static const float sv[5] = {0.9f, 0.8f, 0.7f, 0.95f, 0.99f};
    memcpy(s, sv, sizeof sv);
    nms_set_max_out(&a, 10);
    nms_set_iou(&a, 0.0f);
    static const int64_t z[12] = {0, 0, 4, 0, 0, 3, 0, 0, 0, 0, 0, 1};
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, z, 4);
    free(y.data);
    /* with a max of 2 per class the two degenerate ones come first */
    nms_set_max_out(&a, 2);
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, z, 2);
    free(y.data);
    nms_in_free(&a);
}
END_TEST

START_TEST(nms_classes_batches_and_nan)
{
    /* 2 batches x 40 classes, one box per class at its own place plus a
     * duplicate: output grouped by batch, then class, then score */
    enum { B = 2, C = 40, N = 2 * C };
    nms_in a;
    nms_in_init(&a, B, C, N);
    float *b = a.boxes.data, *s = a.scores.data;
    for (int bb = 0; bb < B; bb++)
        for (int i = 0; i < N; i++) {
            float *q = b + (bb * N + i) * 4;
            q[0] = q[1] = (float)(i / 2) * 10;
            q[2] = q[3] = (float)(i / 2) * 10 + 5;
        }
    for (int bb = 0; bb < B; bb++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < N; i++)
                s[(bb * C + c) * N + i] = i / 2 == c ? (i % 2 ? 0.9f : 0.8f) : 0.0f;
    nms_set_max_out(&a, 5);
    nms_set_iou(&a, 0.5f);
    nms_set_score_thr(&a, 0.1f);
    odet_tensor y = nms_exec(&a, 0, 2, NULL);
    ck_assert_int_eq(y.dims[0], B * C);
    for (int k = 0; k < B * C; k++) {
        const int64_t *r = (int64_t *)y.data + 3 * k;
        ck_assert_int_eq(r[0], k / C);
        ck_assert_int_eq(r[1], k % C);
        ck_assert_int_eq(r[2], 2 * (k % C) + 1);
    }
    free(y.data);
    nms_in_free(&a);

    /* NaN: a NaN score is never selected, even without a score threshold; a box
     * with a NaN coordinate neither suppresses nor is suppressed */
    nms_in_init(&a, 1, 1, 4);
    b = a.boxes.data;
    s = a.scores.data;
    static const float bx[4][4] = {{0, 0, 1, 1}, {0, 0, 1, 1}, {0, 0, NAN, 1}, {0, 0, 1, 1}};
    memcpy(b, bx, sizeof bx);
    static const float sv[4] = {NAN, 0.5f, 0.9f, 0.4f};
    memcpy(s, sv, sizeof sv);
    nms_set_max_out(&a, 10);
    nms_set_iou(&a, 0.5f);
    static const int64_t want[6] = {0, 0, 2, 0, 0, 1};
    y = nms_exec(&a, 0, 1, NULL);
    assert_sel(&y, want, 2);
    free(y.data);
    nms_in_free(&a);
}
END_TEST

START_TEST(nms_errors)
{
    nms_in a;
    run_result r;
    int64_t d3[3] = {1, 6, 4}, d2[2] = {6, 4};
    /* wrong ranks */
    nms_example(&a);
    odet_tensor bad = tensor(ODET_FLOAT, 2, d2);
    odet_tensor keep = a.boxes;
    a.boxes = bad;
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "NonMaxSuppression", "'boxes' must have shape");
    a.boxes = keep;
    odet_tensor keep_s = a.scores;
    a.scores = bad;
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "NonMaxSuppression", "'scores' must have shape");
    a.scores = keep_s;
    tensor_free(&bad);
    /* last dim of boxes != 4 */
    int64_t d5[3] = {1, 6, 5};
    bad = tensor(ODET_FLOAT, 3, d5);
    a.boxes = bad;
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "NonMaxSuppression", "last dim != 4");
    a.boxes = keep;
    tensor_free(&bad);
    /* N differs between boxes and scores; batches differ */
    int64_t ds[3] = {1, 1, 7};
    bad = tensor(ODET_FLOAT, 3, ds);
    a.scores = bad;
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "NonMaxSuppression", "6 boxes per batch but scores have 7");
    tensor_free(&bad);
    int64_t db[3] = {2, 1, 6};
    bad = tensor(ODET_FLOAT, 3, db);
    a.scores = bad;
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "NonMaxSuppression", "1 batches but scores have 2");
    a.scores = keep_s;
    tensor_free(&bad);
    /* float16 and integer inputs */
    bad = tensor(ODET_FLOAT16, 3, d3);
    a.boxes = bad;
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_DTYPE, "NonMaxSuppression", "'boxes' must be float, got float16");
    a.boxes = keep;
    tensor_free(&bad);
    int64_t dsc[3] = {1, 1, 6};
    bad = tensor(ODET_INT32, 3, dsc);
    a.scores = bad;
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_DTYPE, "NonMaxSuppression", "'scores' must be float, got int32");
    a.scores = keep_s;
    tensor_free(&bad);
    int32_t i32 = 3;
    odet_tensor keep_m = a.max_out;
    a.max_out = scalar_tensor(ODET_INT32, &i32);
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_DTYPE, "NonMaxSuppression",
               "'max_output_boxes_per_class' must be int64, got int32");
    tensor_free(&a.max_out);
    a.max_out = keep_m;
    double dv = 0.5;
    odet_tensor keep_i = a.iou;
    a.iou = scalar_tensor(ODET_DOUBLE, &dv);
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_DTYPE, "NonMaxSuppression", "'iou_threshold' must be float");
    tensor_free(&a.iou);
    a.iou = keep_i;
    /* two max_output values */
    int64_t two_v[2] = {1, 2};
    a.max_out = ints_tensor(two_v, 2);
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "NonMaxSuppression", "exactly one value, got 2");
    tensor_free(&a.max_out);
    a.max_out = keep_m;
    /* negative max output, iou outside [0, 1] or NaN */
    nms_set_max_out(&a, -1);
    nms_exec(&a, 0, 1, &r);
    assert_err(&r, ODET_ERR_INVALID_ARG, "NonMaxSuppression", "must be >= 0, got -1");
    nms_set_max_out(&a, 3);
    static const float bad_iou[3] = {-0.1f, 1.5f, NAN};
    for (int i = 0; i < 3; i++) {
        nms_set_iou(&a, bad_iou[i]);
        nms_exec(&a, 0, 1, &r);
        assert_err(&r, ODET_ERR_INVALID_ARG, "NonMaxSuppression", "must be in [0, 1]");
    }
    nms_set_iou(&a, 0.5f);
    /* center_point_box must be 0 or 1 */
    nms_exec(&a, 2, 1, &r);
    assert_err(&r, ODET_ERR_INVALID_ARG, "NonMaxSuppression", "'center_point_box' must be 0 or 1");
    nms_in_free(&a);
}
END_TEST

/* ---- in-test transcription of ONNX Runtime's NonMaxSuppression ---- */

typedef struct ref_cand {
    float score;
    int64_t index;
} ref_cand;

static int ref_cand_cmp(const void *pa, const void *pb)
{
    const ref_cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Corners (y_min, x_min, y_max, x_max) and area of a box. */
static void ref_corners(const float *b, int center, float *c, float *area)
{
    if (center) {
        c[0] = b[1] - b[3] / 2;
        c[2] = b[1] + b[3] / 2;
        c[1] = b[0] - b[2] / 2;
        c[3] = b[0] + b[2] / 2;
        *area = b[2] * b[3];
    } else {
        c[0] = b[0] >= b[2] ? b[2] : b[0];
        c[2] = b[0] >= b[2] ? b[0] : b[2];
        c[1] = b[1] >= b[3] ? b[3] : b[1];
        c[3] = b[1] >= b[3] ? b[1] : b[3];
        *area = (c[2] - c[0]) * (c[3] - c[1]);
    }
}

static int ref_suppress(const float *cand, const float *kept, int center, float thr)
{
    float a[4], k[4], aa, ka;
    ref_corners(cand, center, a, &aa);
    ref_corners(kept, center, k, &ka);
    float x0 = a[1] < k[1] ? k[1] : a[1], x1 = k[3] < a[3] ? k[3] : a[3];
    if (x1 <= x0)
        return 0;
    float y0 = a[0] < k[0] ? k[0] : a[0], y1 = k[2] < a[2] ? k[2] : a[2];
    if (y1 <= y0)
        return 0;
    float inter = (x1 - x0) * (y1 - y0);
    if (inter <= 0)
        return 0;
    return inter / (aa + ka - inter) > thr;
}

/* Returns the number of selected triples written to out. */
static int64_t ref_nms(const nms_in *a, int center, int64_t *out)
{
    int64_t B = a->boxes.dims[0], N = a->boxes.dims[1], C = a->scores.dims[1], n = 0;
    int64_t max_out = a->has_max_out ? ((int64_t *)a->max_out.data)[0] : 0;
    float iou = a->has_iou ? ((float *)a->iou.data)[0] : 0;
    ref_cand *cand = malloc((size_t)(N ? N : 1) * sizeof *cand);
    int64_t *kept = malloc((size_t)(N ? N : 1) * sizeof *kept);
    for (int64_t b = 0; b < B; b++) {
        const float *boxes = (float *)a->boxes.data + b * N * 4;
        for (int64_t c = 0; c < C; c++) {
            const float *s = (float *)a->scores.data + (b * C + c) * N;
            int64_t m = 0, nk = 0;
            for (int64_t i = 0; i < N; i++) {
                if (isnan(s[i]))
                    continue;
                if (a->has_score_thr && !(s[i] > ((float *)a->score_thr.data)[0]))
                    continue;
                cand[m].score = s[i];
                cand[m++].index = i;
            }
            qsort(cand, (size_t)m, sizeof *cand, ref_cand_cmp);
            for (int64_t i = 0; i < m && nk < max_out; i++) {
                int ok = 1;
                for (int64_t j = 0; j < nk && ok; j++)
                    ok = !ref_suppress(boxes + 4 * cand[i].index, boxes + 4 * kept[j], center, iou);
                if (!ok)
                    continue;
                kept[nk++] = cand[i].index;
                out[3 * n] = b;
                out[3 * n + 1] = c;
                out[3 * n + 2] = cand[i].index;
                n++;
            }
        }
    }
    free(cand);
    free(kept);
    return n;
}

/* Random boxes in clusters (so that suppression happens), some flipped, some
 * degenerate; scores quantised to produce ties. */
static void nms_random(nms_in *a, int center, unsigned *seed)
{
    int64_t B = a->boxes.dims[0], N = a->boxes.dims[1], C = a->scores.dims[1];
    float *b = a->boxes.data, *s = a->scores.data;
    for (int64_t i = 0; i < B * N; i++) {
        float cx = (float)(lcg(seed) % 12) * 20 + frand(seed, -6, 6);
        float cy = (float)(lcg(seed) % 12) * 20 + frand(seed, -6, 6);
        float w = frand(seed, 2, 30), h = frand(seed, 2, 30);
        unsigned kind = lcg(seed) % 20;
        if (kind == 0)
            w = 0;
        else if (kind == 1)
            h = 0;
        float *q = b + 4 * i;
        if (center) {
            q[0] = cx;
            q[1] = cy;
            q[2] = w;
            q[3] = h;
        } else {
            q[0] = cy - h / 2;
            q[1] = cx - w / 2;
            q[2] = cy + h / 2;
            q[3] = cx + w / 2;
            if (kind == 2 || kind == 3) { /* flipped corners */
                float t = q[0];
                q[0] = q[2];
                q[2] = t;
            }
            if (kind == 3 || kind == 4) {
                float t = q[1];
                q[1] = q[3];
                q[3] = t;
            }
        }
    }
    for (int64_t i = 0; i < B * C * N; i++)
        s[i] = (float)(lcg(seed) % 64) / 64.0f;
}

static void nms_compare(nms_in *a, int center, int threads)
{
    int64_t cap = a->boxes.dims[0] * a->scores.dims[1] * a->boxes.dims[1] + 1;
    int64_t *want = malloc((size_t)cap * 3 * sizeof *want);
    int64_t n = ref_nms(a, center, want);
    odet_tensor y = nms_exec(a, center, threads, NULL);
    assert_sel(&y, want, n);
    free(y.data);
    free(want);
}

START_TEST(nms_random_vs_reference)
{
    unsigned seed = 12345;
    static const int64_t max_outs[5] = {1, 3, 20, 500, INT64_MAX};
    static const float ious[5] = {0.0f, 0.3f, 0.5f, 0.7f, 1.0f};
    for (int it = 0; it < 24; it++) {
        int center = it % 2;
        nms_in a;
        nms_in_init(&a, 2, 3, 500);
        nms_random(&a, center, &seed);
        nms_set_max_out(&a, max_outs[lcg(&seed) % 5]);
        if (it % 6 != 5)
            nms_set_iou(&a, ious[lcg(&seed) % 5]);
        if (it % 3 != 2)
            nms_set_score_thr(&a, (float)(lcg(&seed) % 40) / 64.0f);
        nms_compare(&a, center, 1 + it % 2);
        nms_in_free(&a);
    }
    /* large enough for the parallel path: 2 x 4 x 2500 */
    for (int it = 0; it < 2; it++) {
        nms_in a;
        nms_in_init(&a, 2, 4, 2500);
        nms_random(&a, it, &seed);
        nms_set_max_out(&a, it ? 100 : INT64_MAX);
        nms_set_iou(&a, 0.45f);
        nms_set_score_thr(&a, 0.2f);
        nms_compare(&a, it, 2);
        nms_compare(&a, it, 1);
        nms_in_free(&a);
    }
}
END_TEST

/* ------------------------------------------------------------------ RoiAlign */

typedef struct ra_attrs {
    const char *mode, *ctm; /* NULL: default */
    int64_t oh, ow, sr;
    float scale;
    int opset;
} ra_attrs;

static test_node *ra_node(const ra_attrs *at)
{
    test_node *t = node_new1("RoiAlign", at->opset ? at->opset : 16, 3);
    if (at->mode)
        attr_string(t, "mode", at->mode);
    if (at->ctm)
        attr_string(t, "coordinate_transformation_mode", at->ctm);
    attr_int(t, "output_height", at->oh);
    attr_int(t, "output_width", at->ow);
    attr_int(t, "sampling_ratio", at->sr);
    attr_float(t, "spatial_scale", at->scale);
    return t;
}

static odet_tensor ra_exec(const ra_attrs *at, const odet_tensor *x, const odet_tensor *rois,
                           const odet_tensor *bi, int threads, run_result *res)
{
    const odet_tensor *in[3] = {x, rois, bi};
    test_node *t = ra_node(at);
    odet_tensor y = run1(t, in, 3, threads, res);
    free(t);
    return y;
}

/* ---- in-test transcription of ONNX Runtime's RoiAlign: every sample visited ---- */

#define REF_RA(T, SUF, CEIL)                                                                    \
    static T ref_max_##SUF(T a, T b) { return a < b ? b : a; }                                  \
    static void ref_roi_align_##SUF(const T *X, int64_t C, int64_t H, int64_t W, const T *rois, \
                                    const int64_t *bi, int64_t R, const ra_attrs *at, T *Y)     \
    {                                                                                           \
        int half = !at->ctm ? (at->opset ? at->opset : 16) >= 16 : !strcmp(at->ctm, "half_pixel"); \
        int is_max = at->mode && !strcmp(at->mode, "max");                                      \
        int64_t OH = at->oh, OW = at->ow;                                                       \
        for (int64_t n = 0; n < R; n++) {                                                       \
            T off = half ? (T)0.5 : (T)0;                                                       \
            T sw = rois[4 * n] * at->scale - off, sh = rois[4 * n + 1] * at->scale - off;        \
            T ew = rois[4 * n + 2] * at->scale - off, eh = rois[4 * n + 3] * at->scale - off;    \
            T rw = ew - sw, rh = eh - sh;                                                       \
            if (!half) {                                                                        \
                rw = ref_max_##SUF(rw, (T)1);                                                   \
                rh = ref_max_##SUF(rh, (T)1);                                                   \
            }                                                                                   \
            T bh = rh / (T)OH, bw = rw / (T)OW;                                                 \
            int64_t gh = at->sr > 0 ? at->sr : (int64_t)CEIL(rh / (T)OH);                       \
            int64_t gw = at->sr > 0 ? at->sr : (int64_t)CEIL(rw / (T)OW);                       \
            int64_t count = gh * gw > 1 ? gh * gw : 1;                                          \
            for (int64_t c = 0; c < C; c++) {                                                   \
                const T *d = X + (bi[n] * C + c) * H * W;                                       \
                for (int64_t ph = 0; ph < OH; ph++)                                             \
                    for (int64_t pw = 0; pw < OW; pw++) {                                       \
                        T out = 0;                                                              \
                        int first = 1;                                                          \
                        for (int64_t iy = 0; iy < gh; iy++) {                                   \
                            T y = sh + (T)ph * bh + (T)((float)iy + .5f) * bh / (T)gh;          \
                            for (int64_t ix = 0; ix < gw; ix++) {                               \
                                T x = sw + (T)pw * bw + (T)((float)ix + .5f) * bw / (T)gw;      \
                                T w1 = 0, w2 = 0, w3 = 0, w4 = 0;                               \
                                int64_t p1 = 0, p2 = 0, p3 = 0, p4 = 0;                         \
                                if (!(y < -1.0 || y > (T)H || x < -1.0 || x > (T)W)) {          \
                                    T yy = y <= 0 ? 0 : y, xx = x <= 0 ? 0 : x;                 \
                                    int64_t yl = (int64_t)yy, xl = (int64_t)xx, yh, xh;         \
                                    if (yl >= H - 1) {                                          \
                                        yh = yl = H - 1;                                        \
                                        yy = (T)yl;                                             \
                                    } else {                                                    \
                                        yh = yl + 1;                                            \
                                    }                                                           \
                                    if (xl >= W - 1) {                                          \
                                        xh = xl = W - 1;                                        \
                                        xx = (T)xl;                                             \
                                    } else {                                                    \
                                        xh = xl + 1;                                            \
                                    }                                                           \
                                    T ly = yy - (T)yl, lx = xx - (T)xl;                         \
                                    T hy = (T)1 - ly, hx = (T)1 - lx;                           \
                                    w1 = hy * hx;                                               \
                                    w2 = hy * lx;                                               \
                                    w3 = ly * hx;                                               \
                                    w4 = ly * lx;                                               \
                                    p1 = yl * W + xl;                                           \
                                    p2 = yl * W + xh;                                           \
                                    p3 = yh * W + xl;                                           \
                                    p4 = yh * W + xh;                                           \
                                }                                                               \
                                if (!is_max) {                                                  \
                                    out += w1 * d[p1] + w2 * d[p2] + w3 * d[p3] + w4 * d[p4];   \
                                } else {                                                        \
                                    T v = ref_max_##SUF(                                        \
                                        ref_max_##SUF(ref_max_##SUF(w1 * d[p1], w2 * d[p2]),    \
                                                      w3 * d[p3]),                              \
                                        w4 * d[p4]);                                            \
                                    out = first ? v : ref_max_##SUF(out, v);                    \
                                    first = 0;                                                  \
                                }                                                               \
                            }                                                                   \
                        }                                                                       \
                        if (!is_max)                                                            \
                            out /= (T)count;                                                    \
                        Y[((n * C + c) * OH + ph) * OW + pw] = out;                             \
                    }                                                                           \
            }                                                                                   \
        }                                                                                       \
    }

REF_RA(float, f32, ceilf)
REF_RA(double, f64, ceil)

static double elem(const odet_tensor *t, int64_t i)
{
    return t->dtype == ODET_DOUBLE ? ((double *)t->data)[i] : ((float *)t->data)[i];
}

static void set_elem(odet_tensor *t, int64_t i, double v)
{
    if (t->dtype == ODET_DOUBLE)
        ((double *)t->data)[i] = v;
    else
        ((float *)t->data)[i] = (float)v;
}

/* Runs the op and the transcription; asserts equality (NaN == NaN, -0 == +0). */
static void ra_compare(const ra_attrs *at, const odet_tensor *x, const odet_tensor *rois,
                       const odet_tensor *bi, int threads, const char *what)
{
    odet_tensor y = ra_exec(at, x, rois, bi, threads, NULL);
    int64_t R = rois->dims[0], C = x->dims[1];
    ck_assert_int_eq(y.dtype, x->dtype);
    ck_assert_int_eq(y.dims[0], R);
    ck_assert_int_eq(y.dims[1], C);
    ck_assert_int_eq(y.dims[2], at->oh);
    ck_assert_int_eq(y.dims[3], at->ow);
    odet_tensor want = tensor(x->dtype, 4, y.dims);
    if (x->dtype == ODET_DOUBLE)
        ref_roi_align_f64(x->data, C, x->dims[2], x->dims[3], rois->data, bi->data, R, at,
                          want.data);
    else
        ref_roi_align_f32(x->data, C, x->dims[2], x->dims[3], rois->data, bi->data, R, at,
                          want.data);
    int64_t n = odet_tensor_numel(&y);
    for (int64_t i = 0; i < n; i++) {
        double g = elem(&y, i), w = elem(&want, i);
        ck_assert_msg(g == w || (isnan(g) && isnan(w)),
                      "%s: element %lld (roi %lld): got %.9g, expected %.9g", what, (long long)i,
                      (long long)(i / (C * at->oh * at->ow)), g, w);
    }
    tensor_free(&y);
    tensor_free(&want);
}

START_TEST(roi_align_known_values)
{
    /* X = 0..15 on a 4x4 map */
    int64_t xd[4] = {1, 1, 4, 4}, rd[2] = {1, 4};
    odet_tensor x = tensor(ODET_FLOAT, 4, xd), rois = tensor(ODET_FLOAT, 2, rd);
    for (int i = 0; i < 16; i++)
        ((float *)x.data)[i] = (float)i;
    int64_t zero = 0;
    odet_tensor bi = ints_tensor(&zero, 1);
    float *r = rois.data;
    /* half_pixel, ROI = the whole map, 1x1 output, adaptive grid 4x4: samples
     * at pixel centres, the average of all pixels */
    r[0] = r[1] = 0;
    r[2] = r[3] = 4;
    ra_attrs at = {NULL, NULL, 1, 1, 0, 1.0f, 16};
    odet_tensor y = ra_exec(&at, &x, &rois, &bi, 1, NULL);
    ck_assert(((float *)y.data)[0] == 7.5f);
    tensor_free(&y);
    /* 2x2 output, sampling_ratio 1: the bin centres (1, 1), (1, 3), ... fall
     * between pixels: bilinear means of 4 neighbours */
    at.oh = at.ow = 2;
    at.sr = 1;
    y = ra_exec(&at, &x, &rois, &bi, 1, NULL);
    static const float q[4] = {2.5f, 4.5f, 10.5f, 12.5f};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(((float *)y.data)[i] == q[i], "bin %d: %g", i, (double)((float *)y.data)[i]);
    tensor_free(&y);
    /* max mode: ONNX Runtime compares the weighted corners, each 0.25 * value */
    at.mode = "max";
    y = ra_exec(&at, &x, &rois, &bi, 1, NULL);
    static const float qm[4] = {0.25f * 5, 0.25f * 7, 0.25f * 13, 0.25f * 15};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(((float *)y.data)[i] == qm[i], "bin %d: %g", i, (double)((float *)y.data)[i]);
    tensor_free(&y);
    /* opset 10 = output_half_pixel: no half-pixel shift, so the 1x1 bin centre
     * samples of ROI (0,0)-(2,2) at sr 1 sit on pixel (1, 1) = 5 */
    r[2] = r[3] = 2;
    ra_attrs a10 = {NULL, NULL, 1, 1, 1, 1.0f, 10};
    y = ra_exec(&a10, &x, &rois, &bi, 1, NULL);
    ck_assert(((float *)y.data)[0] == 5.0f);
    tensor_free(&y);
    ra_attrs a16 = {NULL, "output_half_pixel", 1, 1, 1, 1.0f, 16};
    y = ra_exec(&a16, &x, &rois, &bi, 1, NULL);
    ck_assert(((float *)y.data)[0] == 5.0f);
    tensor_free(&y);
    a16.ctm = NULL; /* opset 16 default half_pixel: centre (0.5, 0.5) -> 2.5 */
    y = ra_exec(&a16, &x, &rois, &bi, 1, NULL);
    ck_assert(((float *)y.data)[0] == 2.5f);
    tensor_free(&y);
    /* spatial_scale 0.5 on a ROI in 2x coordinates: same as above */
    r[2] = r[3] = 4;
    a16.scale = 0.5f;
    y = ra_exec(&a16, &x, &rois, &bi, 1, NULL);
    ck_assert(((float *)y.data)[0] == 2.5f);
    tensor_free(&y);
    /* X = -1: ROI (0.5, 0.5)-(8.5, 1.5), output_half_pixel, 2x2 samples at
     * x = 2.5 (inside, all 4 weights > 0) and x = 6.5 (> W: out of range).
     * max: the in-range samples give max(w * -1) = -0.125, the out-of-range
     * ones 0 * -1 = -0, which wins; avg: (-1 - 1 + 0 + 0) / 4 */
    for (int i = 0; i < 16; i++)
        ((float *)x.data)[i] = -1.0f;
    static const float rneg[4] = {0.5f, 0.5f, 8.5f, 1.5f};
    memcpy(r, rneg, sizeof rneg);
    ra_attrs an = {"max", "output_half_pixel", 1, 1, 2, 1.0f, 16};
    y = ra_exec(&an, &x, &rois, &bi, 1, NULL);
    ck_assert_msg(((float *)y.data)[0] == 0.0f, "max %g", (double)((float *)y.data)[0]);
    tensor_free(&y);
    an.mode = "avg";
    y = ra_exec(&an, &x, &rois, &bi, 1, NULL);
    ck_assert_msg(((float *)y.data)[0] == -0.5f, "avg %g", (double)((float *)y.data)[0]);
    tensor_free(&y);
    tensor_free(&x);
    tensor_free(&rois);
    tensor_free(&bi);
}
END_TEST

START_TEST(roi_align_empty_nan_and_degenerate)
{
    int64_t xd[4] = {2, 3, 5, 6}, rd[2] = {3, 4};
    odet_tensor x = tensor(ODET_FLOAT, 4, xd), rois = tensor(ODET_FLOAT, 2, rd);
    unsigned seed = 9;
    for (int64_t i = 0; i < odet_tensor_numel(&x); i++)
        ((float *)x.data)[i] = frand(&seed, -1, 1);
    int64_t bv[3] = {1, 0, 1};
    odet_tensor bi = ints_tensor(bv, 3);
    float *r = rois.data;
    static const float rv[12] = {NAN, 0, 2, 2,           /* non-finite: all NaN */
                                 3, 3, 1, 1,             /* inverted */
                                 1e30f, -1e30f, 1e30f, 1e30f}; /* far away, huge */
    memcpy(r, rv, sizeof rv);
    static const char *modes[2] = {"avg", "max"};
    static const char *ctms[2] = {"half_pixel", "output_half_pixel"};
    for (int m = 0; m < 2; m++) {
        for (int c = 0; c < 2; c++) {
            ra_attrs at = {modes[m], ctms[c], 3, 2, 0, 1.0f, 16};
            odet_tensor y = ra_exec(&at, &x, &rois, &bi, 1, NULL);
            int64_t per = 3 * 3 * 2;
            for (int64_t i = 0; i < per; i++)
                ck_assert(isnan(((float *)y.data)[i]));
            for (int64_t i = per; i < 3 * per; i++)
                ck_assert_msg(isfinite(((float *)y.data)[i]), "%s %s element %lld", modes[m],
                              ctms[c], (long long)i);
            /* inverted ROI in half_pixel: the adaptive grid is empty -> 0 */
            if (c == 0)
                for (int64_t i = per; i < 2 * per; i++)
                    ck_assert(((float *)y.data)[i] == 0.0f);
            tensor_free(&y);
        }
    }
    tensor_free(&rois);
    tensor_free(&bi);
    /* NaN in X[0, 0, 0, 0] (batch 0, channel 0), which ONNX Runtime's weight-0
     * taps of out-of-range samples read. 1x1 bins, sampling_ratio 2, 2x2
     * samples; the in-range samples of rois 1-3 never touch pixel (0, 0):
     *   0: (-4,-4)-(2,2)  first sample out of range, others read (0, 0)
     *   1: (2,2)-(4,4)    all samples in range
     *   2: (-6,2)-(2,4)   first sample out of range (x = -4.5)
     *   3: (3,2)-(12,4)   first sample in range, second out (x = 9.25 > 6)
     * avg: any out-of-range sample adds 0 * NaN = NaN. max: the fold
     * max(acc, v) = acc < v ? v : acc keeps a NaN only as its first value. */
    ((float *)x.data)[0] = NAN;
    int64_t rd4[2] = {4, 4}, four = 4;
    rois = tensor(ODET_FLOAT, 2, rd4);
    bi = tensor(ODET_INT64, 1, &four); /* all batch 0 */
    static const float rv2[16] = {-4, -4, 2, 2, 2, 2, 4, 4, -6, 2, 2, 4, 3, 2, 12, 4};
    memcpy(rois.data, rv2, sizeof rv2);
    static const int nan_avg[4] = {1, 0, 1, 1}, nan_max[4] = {1, 0, 1, 0};
    for (int m = 0; m < 2; m++) {
        ra_attrs at = {modes[m], NULL, 1, 1, 2, 1.0f, 16};
        odet_tensor y = ra_exec(&at, &x, &rois, &bi, 1, NULL);
        for (int k = 0; k < 4; k++) {
            const int *want = m ? nan_max : nan_avg;
            float v0 = ((float *)y.data)[k * 3], v1 = ((float *)y.data)[k * 3 + 1];
            ck_assert_msg(want[k] ? isnan(v0) : isfinite(v0), "%s roi %d channel 0: %g",
                          modes[m], k, (double)v0);
            ck_assert_msg(isfinite(v1), "%s roi %d channel 1: %g", modes[m], k, (double)v1);
        }
        tensor_free(&y);
        ra_compare(&at, &x, &rois, &bi, 1, modes[m]);
    }
    ra_attrs at = {"max", NULL, 1, 1, 2, 1.0f, 16};
    odet_tensor y;
    tensor_free(&rois);
    tensor_free(&bi);
    /* no ROIs, no channels */
    int64_t r0[2] = {0, 4}, b0 = 0;
    rois = tensor(ODET_FLOAT, 2, r0);
    bi = tensor(ODET_INT64, 1, &b0);
    y = ra_exec(&at, &x, &rois, &bi, 1, NULL);
    ck_assert_int_eq(y.dims[0], 0);
    ck_assert_int_eq(y.dims[1], 3);
    tensor_free(&y);
    tensor_free(&rois);
    tensor_free(&bi);
    tensor_free(&x);
    int64_t xc[4] = {1, 0, 4, 4}, r1[2] = {1, 4}, b1 = 1;
    x = tensor(ODET_FLOAT, 4, xc);
    rois = tensor(ODET_FLOAT, 2, r1);
    bi = tensor(ODET_INT64, 1, &b1);
    y = ra_exec(&at, &x, &rois, &bi, 1, NULL);
    ck_assert_int_eq(y.dims[1], 0);
    tensor_free(&y);
    tensor_free(&x);
    tensor_free(&rois);
    tensor_free(&bi);
}
END_TEST

START_TEST(roi_align_errors)
{
    int64_t xd[4] = {2, 1, 4, 4}, rd[2] = {2, 4};
    odet_tensor x = tensor(ODET_FLOAT, 4, xd), rois = tensor(ODET_FLOAT, 2, rd);
    int64_t bv[2] = {0, 2};
    odet_tensor bi = ints_tensor(bv, 2);
    ra_attrs at = {NULL, NULL, 2, 2, 0, 1.0f, 16};
    run_result r;
    /* batch index out of range: 2 and -1 for 2 images */
    ra_exec(&at, &x, &rois, &bi, 1, &r);
    assert_err(&r, ODET_ERR_INVALID_ARG, "RoiAlign", "batch_indices[1] = 2 is out of range [0, 2)");
    ((int64_t *)bi.data)[1] = -1;
    ra_exec(&at, &x, &rois, &bi, 1, &r);
    assert_err(&r, ODET_ERR_INVALID_ARG, "RoiAlign", "batch_indices[1] = -1");
    ((int64_t *)bi.data)[1] = 1;
    /* wrong ranks / shapes */
    int64_t x3[3] = {1, 4, 4};
    odet_tensor bad = tensor(ODET_FLOAT, 3, x3);
    ra_exec(&at, &bad, &rois, &bi, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "RoiAlign", "'X' must be rank 4");
    tensor_free(&bad);
    int64_t r5[2] = {2, 5};
    bad = tensor(ODET_FLOAT, 2, r5);
    ra_exec(&at, &x, &bad, &bi, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "RoiAlign", "'rois' must have shape [num_rois, 4]");
    tensor_free(&bad);
    int64_t three = 3;
    bad = tensor(ODET_INT64, 1, &three);
    ra_exec(&at, &x, &rois, &bad, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "RoiAlign", "batch_indices has 3 entries but rois has 2");
    tensor_free(&bad);
    int64_t b2[2] = {2, 1};
    bad = tensor(ODET_INT64, 2, b2);
    ra_exec(&at, &x, &rois, &bad, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "RoiAlign", "'batch_indices' must be rank 1");
    tensor_free(&bad);
    /* dtypes: float16 unsupported, int X invalid, rois of another type, int32 indices */
    bad = tensor(ODET_FLOAT16, 4, xd);
    ra_exec(&at, &bad, &rois, &bi, 1, &r);
    assert_err(&r, ODET_ERR_UNSUPPORTED, "RoiAlign", "float16 is not supported");
    tensor_free(&bad);
    bad = tensor(ODET_INT32, 4, xd);
    ra_exec(&at, &bad, &rois, &bi, 1, &r);
    assert_err(&r, ODET_ERR_DTYPE, "RoiAlign", "'X' must be float or double, got int32");
    tensor_free(&bad);
    bad = tensor(ODET_DOUBLE, 2, rd);
    ra_exec(&at, &x, &bad, &bi, 1, &r);
    assert_err(&r, ODET_ERR_DTYPE, "RoiAlign", "'rois' must be float like X, got double");
    tensor_free(&bad);
    int64_t two = 2;
    bad = tensor(ODET_INT32, 1, &two);
    ra_exec(&at, &x, &rois, &bad, 1, &r);
    assert_err(&r, ODET_ERR_DTYPE, "RoiAlign", "'batch_indices' must be int64, got int32");
    tensor_free(&bad);
    /* empty spatial size with ROIs */
    int64_t x0[4] = {2, 1, 0, 4};
    bad = tensor(ODET_FLOAT, 4, x0);
    ra_exec(&at, &bad, &rois, &bi, 1, &r);
    assert_err(&r, ODET_ERR_SHAPE, "RoiAlign", "empty spatial size");
    tensor_free(&bad);
    /* attributes */
    ra_attrs bad_at[5] = {{"min", NULL, 2, 2, 0, 1.0f, 16},
                          {NULL, "align_corners", 2, 2, 0, 1.0f, 16},
                          {NULL, NULL, 0, 2, 0, 1.0f, 16},
                          {NULL, NULL, 2, 2, -1, 1.0f, 16},
                          {NULL, NULL, 2, 2, 0, INFINITY, 16}};
    static const odet_status bad_st[5] = {ODET_ERR_UNSUPPORTED, ODET_ERR_UNSUPPORTED,
                                          ODET_ERR_INVALID_ARG, ODET_ERR_INVALID_ARG,
                                          ODET_ERR_INVALID_ARG};
    static const char *bad_msg[5] = {"'mode' is 'min'", "'coordinate_transformation_mode' is",
                                     "output_height (0)", "'sampling_ratio' must be in",
                                     "'spatial_scale' must be finite"};
    for (int i = 0; i < 5; i++) {
        ra_exec(&bad_at[i], &x, &rois, &bi, 1, &r);
        assert_err(&r, bad_st[i], "RoiAlign", bad_msg[i]);
    }
    tensor_free(&x);
    tensor_free(&rois);
    tensor_free(&bi);
}
END_TEST

/* Random ROIs: inside, straddling the border, outside, inverted, tiny, up to
 * ~10x the map (large adaptive grids, mostly out of range). */
static void ra_random_rois(odet_tensor *rois, odet_tensor *bi, int64_t N, int64_t H, int64_t W,
                           float scale, unsigned *seed)
{
    int64_t R = rois->dims[0];
    for (int64_t r = 0; r < R; r++) {
        float fw = (float)W / scale, fh = (float)H / scale; /* map size in ROI units */
        float x1 = frand(seed, -0.3f * fw, 1.1f * fw), y1 = frand(seed, -0.3f * fh, 1.1f * fh);
        float w = frand(seed, 0, 0.8f * fw), h = frand(seed, 0, 0.8f * fh);
        switch (lcg(seed) % 8) {
        case 0: w = -w; break;                                   /* inverted */
        case 1: w = frand(seed, 0, 0.5f); h = frand(seed, 0, 0.5f); break; /* tiny */
        case 2: w *= 12; h *= 8; x1 -= w / 2; y1 -= h / 2; break; /* huge */
        case 3: x1 = -w - 1; break;                              /* left of the map */
        default: break;
        }
        set_elem(rois, 4 * r, x1);
        set_elem(rois, 4 * r + 1, y1);
        set_elem(rois, 4 * r + 2, x1 + w);
        set_elem(rois, 4 * r + 3, y1 + h);
        ((int64_t *)bi->data)[r] = (int64_t)(lcg(seed) % (unsigned)N);
    }
}

START_TEST(roi_align_random_vs_reference)
{
    unsigned seed = 4242;
    static const char *modes[2] = {"avg", "max"};
    static const char *ctms[3] = {NULL, "half_pixel", "output_half_pixel"};
    static const float scales[3] = {1.0f, 0.25f, 0.0625f};
    for (int it = 0; it < 48; it++) {
        odet_dtype dt = it % 3 == 2 ? ODET_DOUBLE : ODET_FLOAT;
        int64_t N = 1 + lcg(&seed) % 3, C = 1 + lcg(&seed) % 5;
        int64_t H = 1 + lcg(&seed) % 13, W = 1 + lcg(&seed) % 13, R = 1 + lcg(&seed) % 6;
        int64_t xd[4] = {N, C, H, W}, rd[2] = {R, 4};
        odet_tensor x = tensor(dt, 4, xd), rois = tensor(dt, 2, rd), bi = tensor(ODET_INT64, 1, &R);
        /* every 4th: all negative, where max mode's out-of-range samples (value
         * 0 * x = -0) beat the in-range ones */
        float lo = -2, hi = it % 4 == 3 ? -0.25f : 2;
        for (int64_t i = 0; i < odet_tensor_numel(&x); i++)
            set_elem(&x, i, frand(&seed, lo, hi));
        ra_attrs at = {modes[it % 2], ctms[(it / 2) % 3], 1 + lcg(&seed) % 5,
                       1 + lcg(&seed) % 5, (int64_t)(lcg(&seed) % 4), scales[(it / 6) % 3],
                       it % 5 == 4 ? 10 : 16};
        if (at.opset == 10)
            at.ctm = NULL;
        ra_random_rois(&rois, &bi, N, H, W, at.scale, &seed);
        char what[96];
        snprintf(what, sizeof what, "iteration %d (%s, %s, sr %lld, opset %d)", it, at.mode,
                 at.ctm ? at.ctm : "default", (long long)at.sr, at.opset);
        ra_compare(&at, &x, &rois, &bi, 1 + it % 2, what);
        tensor_free(&x);
        tensor_free(&rois);
        tensor_free(&bi);
    }
    /* large enough for the parallel path, channels not a multiple of the block */
    for (int it = 0; it < 2; it++) {
        int64_t N = 2, C = 40, H = 24, W = 32, R = 24;
        int64_t xd[4] = {N, C, H, W}, rd[2] = {R, 4};
        odet_tensor x = tensor(ODET_FLOAT, 4, xd), rois = tensor(ODET_FLOAT, 2, rd);
        odet_tensor bi = tensor(ODET_INT64, 1, &R);
        for (int64_t i = 0; i < odet_tensor_numel(&x); i++)
            set_elem(&x, i, frand(&seed, -2, 2));
        ra_attrs at = {modes[it], NULL, 7, 7, it ? 0 : 2, 0.5f, 16};
        ra_random_rois(&rois, &bi, N, H, W, at.scale, &seed);
        ra_compare(&at, &x, &rois, &bi, 2, it ? "parallel max" : "parallel avg");
        ra_compare(&at, &x, &rois, &bi, 1, it ? "serial max" : "serial avg");
        tensor_free(&x);
        tensor_free(&rois);
        tensor_free(&bi);
    }
}
END_TEST

START_TEST(roi_align_huge_roi_is_bounded)
{
    /* A ROI two million pixels wide: the transcription would visit ~4 * 10^11
     * samples per bin, the op only the ~10 x 10 in range (it must finish at
     * once). Checked for structure: finite, the bins away from the map are 0
     * (every sample out of range), the centre bin is not. A 400 x 400 ROI
     * (200 x 200 samples per bin, mostly out of range) is compared with the
     * transcription exactly. */
    int64_t xd[4] = {1, 2, 8, 8}, rd[2] = {1, 4}, zero = 0;
    odet_tensor x = tensor(ODET_FLOAT, 4, xd), rois = tensor(ODET_FLOAT, 2, rd);
    odet_tensor bi = ints_tensor(&zero, 1);
    unsigned seed = 5;
    for (int64_t i = 0; i < odet_tensor_numel(&x); i++)
        ((float *)x.data)[i] = frand(&seed, 0.5f, 1.5f);
    float *r = rois.data;
    r[0] = r[1] = -1e6f;
    r[2] = r[3] = 1e6f;
    for (int m = 0; m < 2; m++) {
        ra_attrs at = {m ? "max" : "avg", NULL, 3, 3, 0, 1.0f, 16};
        odet_tensor y = ra_exec(&at, &x, &rois, &bi, 1, NULL);
        for (int i = 0; i < 18; i++) {
            float v = ((float *)y.data)[i];
            ck_assert(isfinite(v));
            if (i % 9 != 4) /* only the centre bin overlaps the map */
                ck_assert_msg(v == 0.0f, "bin %d = %g", i, (double)v);
        }
        ck_assert(((float *)y.data)[4] > 0.0f);
        tensor_free(&y);
        /* 400 x 400 ROI on the 8 x 8 map: 200 x 200 samples per bin */
        r[0] = r[1] = -196;
        r[2] = r[3] = 204;
        at.oh = at.ow = 2;
        ra_compare(&at, &x, &rois, &bi, 1, "large roi");
        r[0] = r[1] = -1e6f;
        r[2] = r[3] = 1e6f;
    }
    tensor_free(&x);
    tensor_free(&rois);
    tensor_free(&bi);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *suite(void)
{
    Suite *s = suite_create("ops_detection");
    TCase *tc = tcase_create("nms");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, nms_example_formats);
    tcase_add_test(tc, nms_empty_and_max_output);
    tcase_add_test(tc, nms_score_threshold_is_strict);
    tcase_add_test(tc, nms_ties_degenerate_and_limits);
    tcase_add_test(tc, nms_classes_batches_and_nan);
    tcase_add_test(tc, nms_errors);
    tcase_add_test(tc, nms_random_vs_reference);
    suite_add_tcase(s, tc);
    tc = tcase_create("roi_align");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, roi_align_known_values);
    tcase_add_test(tc, roi_align_empty_nan_and_degenerate);
    tcase_add_test(tc, roi_align_errors);
    tcase_add_test(tc, roi_align_random_vs_reference);
    tcase_add_test(tc, roi_align_huge_roi_is_bounded);
    suite_add_tcase(s, tc);
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
