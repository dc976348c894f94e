/* Unit tests of Resize/Upsample, DepthToSpace/SpaceToDepth and GridSample,
 * called directly through their op definitions (prepare -> infer -> scratch ->
 * run). The numerics against PyTorch / the ONNX reference are covered by the
 * goldens in data/resize (make_resize_goldens.py, run by the conformance
 * runner); this file covers what those cannot: the fast 2-D path against a
 * naive bilinear and against the N-D path, thread-count independence on large
 * tensors, zero-sized tensors, degenerate geometry and error reporting. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ops/op.h"

#include "op_harness.h"

/* ------------------------------------------------------------------ fixtures */

static void fill_random(odet_tensor *x, unsigned seed)
{
    int64_t n = odet_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        float r = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
        switch (x->dtype) {
        case ODET_FLOAT: ((float *)x->data)[i] = r; break;
        case ODET_DOUBLE: ((double *)x->data)[i] = r; break;
        case ODET_UINT8: ((uint8_t *)x->data)[i] = (uint8_t)(seed >> 16); break;
        case ODET_INT64: ((int64_t *)x->data)[i] = (int64_t)(seed >> 4) - (1 << 27); break;
        default: break;
        }
    }
}

static void expect_ok(run_result r)
{
    ck_assert_msg(r.st == ODET_OK, "status %d: %s", (int)r.st, r.err);
}

static void expect_fail(run_result r, odet_status st, const char *needle)
{
    ck_assert_msg(r.st == st, "expected status %d, got %d (%s)", (int)st, (int)r.st, r.err);
    ck_assert_msg(strstr(r.err, needle) != NULL, "message '%s' lacks '%s'", r.err, needle);
    ck_assert_msg(strstr(r.err, "node 'n'") != NULL, "message '%s' lacks the node name", r.err);
}

static void expect_same_bytes(const odet_tensor *a, const odet_tensor *b)
{
    ck_assert_int_eq(a->rank, b->rank);
    for (int i = 0; i < a->rank; i++)
        ck_assert_int_eq(a->dims[i], b->dims[i]);
    ck_assert_int_eq(a->dtype, b->dtype);
    ck_assert(memcmp(a->data, b->data, odet_tensor_bytes(a)) == 0);
}

static void expect_close(const odet_tensor *got, const odet_tensor *want, double tol)
{
    ck_assert_int_eq(got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        ck_assert_int_eq(got->dims[i], want->dims[i]);
    int64_t n = odet_tensor_numel(got);
    for (int64_t i = 0; i < n; i++) {
        double g = ((const float *)got->data)[i], w = ((const float *)want->data)[i];
        ck_assert_msg(fabs(g - w) <= tol * (1.0 + fabs(w)), "element %lld: %g vs %g",
                      (long long)i, g, w);
    }
}

/* A configured Resize node: opset 13 unless an attribute needs 18/19. */
typedef struct rs_cfg {
    const char *mode, *coord, *nearest;
    int antialias, exclude_outside;
    float extrapolation;
} rs_cfg;

static test_node *resize_node(const rs_cfg *c, int opset)
{
    test_node *t = node_new1("Resize", opset, 4);
    attr_string(t, "mode", c->mode);
    if (c->coord)
        attr_string(t, "coordinate_transformation_mode", c->coord);
    if (c->nearest)
        attr_string(t, "nearest_mode", c->nearest);
    if (c->antialias)
        attr_int(t, "antialias", 1);
    if (c->exclude_outside)
        attr_int(t, "exclude_outside", 1);
    if (c->extrapolation != 0.0f) {
        odet_attr *a = attr_add(t, "extrapolation_value", ODET_ATTR_FLOAT);
        a->f = c->extrapolation;
    }
    return t;
}

/* Resize x with scales (n_s values) or sizes (n_z values); roi optional. */
static run_result resize(const rs_cfg *c, int opset, const odet_tensor *x, const float *scales,
                         int n_s, const int64_t *sizes, int n_z, const float *roi,
                         odet_tensor *y, int threads)
{
    test_node *t = resize_node(c, opset);
    odet_tensor ts = {0}, tz = {0}, tr = {0};
    const odet_tensor *in[4] = {x, NULL, NULL, NULL};
    if (roi) {
        tr = floats_tensor(roi, 2 * (n_s ? n_s : n_z));
        in[1] = &tr;
    }
    if (scales) {
        ts = floats_tensor(scales, n_s);
        in[2] = &ts;
    }
    if (sizes) {
        tz = ints_tensor(sizes, n_z);
        in[3] = &tz;
    }
    memset(y, 0, sizeof *y);
    run_result r = run_node1(t, in, 4, y, threads);
    free(ts.data);
    free(tz.data);
    free(tr.data);
    free(t);
    return r;
}

/* ------------------------------------------------------------------- Resize */

/* Naive bilinear, half_pixel, edge-clamped, double: the textbook formula. */
static void naive_bilinear(const float *x, float *y, int64_t P, int64_t hi, int64_t wi,
                           int64_t ho, int64_t wo)
{
    for (int64_t p = 0; p < P; p++)
        for (int64_t oy = 0; oy < ho; oy++)
            for (int64_t ox = 0; ox < wo; ox++) {
                double sy = (oy + 0.5) * (double)hi / (double)ho - 0.5;
                double sx = (ox + 0.5) * (double)wi / (double)wo - 0.5;
                double fy = floor(sy), fx = floor(sx), ty = sy - fy, tx = sx - fx;
                int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
                int64_t y1 = y0 + 1, x1 = x0 + 1;
                y0 = y0 < 0 ? 0 : y0 > hi - 1 ? hi - 1 : y0;
                y1 = y1 < 0 ? 0 : y1 > hi - 1 ? hi - 1 : y1;
                x0 = x0 < 0 ? 0 : x0 > wi - 1 ? wi - 1 : x0;
                x1 = x1 < 0 ? 0 : x1 > wi - 1 ? wi - 1 : x1;
                const float *s = x + p * hi * wi;
                double v = (1 - ty) * ((1 - tx) * s[y0 * wi + x0] + tx * s[y0 * wi + x1]) +
                           ty * ((1 - tx) * s[y1 * wi + x0] + tx * s[y1 * wi + x1]);
                y[(p * ho + oy) * wo + ox] = (float)v;
            }
}

START_TEST(resize_bilinear_matches_naive)
{
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {1, 3, 1, 7}, {2, 3, 5, 1},
                                        {1, 4, 17, 23}, {3, 2, 8, 8}};
    static const int64_t outs[][2] = {{3, 2}, {4, 13}, {9, 3}, {40, 9}, {8, 8}};
    rs_cfg c = {"linear", NULL, NULL, 0, 0, 0};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        odet_tensor x = tensor(ODET_FLOAT, 4, shapes[k]), y, want;
        fill_random(&x, 7u + (unsigned)k);
        int64_t sz[4] = {shapes[k][0], shapes[k][1], outs[k][0], outs[k][1]};
        expect_ok(resize(&c, 13, &x, NULL, 0, sz, 4, NULL, &y, 1));
        want = tensor(ODET_FLOAT, 4, sz);
        naive_bilinear(x.data, want.data, sz[0] * sz[1], shapes[k][2], shapes[k][3], sz[2],
                       sz[3]);
        expect_close(&y, &want, 1e-5);
        free(x.data);
        free(y.data);
        free(want.data);
    }
}
END_TEST

/* Resizing C too takes the N-D path; it must equal resizing C first and then
 * H, W through the 2-D path (linear interpolation is separable). */
START_TEST(resize_nd_path_matches_separable)
{
    static const char *const modes[] = {"linear", "cubic"};
    for (int m = 0; m < 2; m++) {
        rs_cfg c = {modes[m], "align_corners", NULL, 0, 0, 0};
        int64_t xd[4] = {2, 5, 6, 7};
        odet_tensor x = tensor(ODET_FLOAT, 4, xd), y1, y2, y;
        fill_random(&x, 99u);
        const float s_all[4] = {1, 1.6f, 2, 0.5f}, s_c[4] = {1, 1.6f, 1, 1},
                    s_hw[4] = {1, 1, 2, 0.5f};
        expect_ok(resize(&c, 13, &x, s_all, 4, NULL, 0, NULL, &y, 3));
        expect_ok(resize(&c, 13, &x, s_c, 4, NULL, 0, NULL, &y1, 1));
        expect_ok(resize(&c, 13, &y1, s_hw, 4, NULL, 0, NULL, &y2, 1));
        ck_assert_int_eq(y.dims[1], 8);
        ck_assert_int_eq(y.dims[2], 12);
        ck_assert_int_eq(y.dims[3], 3);
        expect_close(&y, &y2, 1e-5);
        free(x.data);
        free(y.data);
        free(y1.data);
        free(y2.data);
    }
}
END_TEST

/* The same resize on NHWC data (resized axes followed by channels) and on NCHW
 * data (2-D row path) must agree; tf_crop_and_resize also checks the
 * extrapolated positions of both paths. */
START_TEST(resize_nhwc_matches_nchw)
{
    static const char *const modes[] = {"linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "tf_crop_and_resize"};
    const float roi_nchw[8] = {0, 0, -0.1f, 0.15f, 1, 1, 1.2f, 0.9f};
    const float roi_nhwc[8] = {0, -0.1f, 0.15f, 0, 1, 1.2f, 0.9f, 1};
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 2; k++) {
            rs_cfg c = {modes[m], coords[k], NULL, 0, 0, 1.5f};
            int64_t dn[4] = {2, 3, 11, 13}, dh[4] = {2, 11, 13, 3};
            odet_tensor xn = tensor(ODET_FLOAT, 4, dn), xh = tensor(ODET_FLOAT, 4, dh), yn, yh;
            fill_random(&xn, 21u);
            const float *vn = xn.data;
            float *vh = xh.data;
            for (int n = 0; n < 2; n++)
                for (int ch = 0; ch < 3; ch++)
                    for (int i = 0; i < 11 * 13; i++)
                        vh[(n * 143 + i) * 3 + ch] = vn[(n * 3 + ch) * 143 + i];
            const float sn[4] = {1, 1, 1.7f, 0.6f}, sh[4] = {1, 1.7f, 0.6f, 1};
            int crop = k == 1;
            expect_ok(resize(&c, 13, &xn, sn, 4, NULL, 0, crop ? roi_nchw : NULL, &yn, 2));
            expect_ok(resize(&c, 13, &xh, sh, 4, NULL, 0, crop ? roi_nhwc : NULL, &yh, 2));
            int64_t ho = yn.dims[2], wo = yn.dims[3];
            ck_assert_int_eq(yh.dims[1], ho);
            ck_assert_int_eq(yh.dims[2], wo);
            const float *a = yn.data, *b = yh.data;
            for (int n = 0; n < 2; n++)
                for (int ch = 0; ch < 3; ch++)
                    for (int64_t i = 0; i < ho * wo; i++) {
                        float u = a[(n * 3 + ch) * ho * wo + i], v = b[(n * ho * wo + i) * 3 + ch];
                        ck_assert_msg(fabsf(u - v) <= 1e-5f * (1 + fabsf(u)), "%g vs %g", u, v);
                    }
            free(xn.data);
            free(xh.data);
            free(yn.data);
            free(yh.data);
        }
}
END_TEST

START_TEST(resize_thread_independent)
{
    static const struct {
        rs_cfg c;
        int opset;
        odet_dtype dt;
        int rank;
        int64_t in[5];
        float scales[5];   /* used when sizes[0] == 0 */
        int64_t sizes[5];
    } cases[] = {
        {{"nearest", "asymmetric", "floor", 0, 0, 0}, 13, ODET_FLOAT, 4, {2, 16, 37, 41},
         {1, 1, 2, 2}, {0}},
        {{"nearest", NULL, NULL, 0, 0, 0}, 13, ODET_UINT8, 4, {1, 8, 50, 61}, {0},
         {1, 8, 77, 33}},
        {{"nearest", NULL, NULL, 0, 0, 0}, 13, ODET_INT64, 3, {16, 50, 61}, {0}, {16, 101, 20}},
        {{"linear", NULL, NULL, 0, 0, 0}, 13, ODET_FLOAT, 4, {1, 16, 37, 41}, {1, 1, 2, 2},
         {0}},
        {{"linear", NULL, NULL, 0, 0, 0}, 13, ODET_DOUBLE, 4, {1, 16, 37, 41}, {1, 1, 2, 2},
         {0}},
        {{"cubic", NULL, NULL, 0, 0, 0}, 13, ODET_FLOAT, 4, {1, 8, 30, 50}, {0}, {1, 8, 47, 23}},
        {{"linear", NULL, NULL, 1, 0, 0}, 18, ODET_FLOAT, 4, {1, 8, 90, 70}, {0},
         {1, 8, 20, 31}},
        {{"cubic", NULL, NULL, 1, 1, 0}, 18, ODET_FLOAT, 4, {1, 8, 90, 70}, {0},
         {1, 8, 20, 131}},
        {{"linear", NULL, NULL, 0, 0, 0}, 13, ODET_FLOAT, 5, {1, 4, 9, 10, 11}, {0},
         {1, 4, 17, 5, 23}},
        {{"linear", NULL, NULL, 0, 0, 0}, 13, ODET_FLOAT, 4, {1, 37, 41, 16}, {1, 2, 2, 1},
         {0}},
        {{"linear", "tf_crop_and_resize", NULL, 0, 0, 2.5f}, 13, ODET_FLOAT, 4,
         {1, 16, 37, 41}, {1, 1, 1.7f, 1.3f}, {0}},
    };
    const float roi[8] = {0, 0, -0.1f, 0.2f, 1, 1, 1.2f, 0.9f};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int rank = cases[k].rank;
        odet_tensor x = tensor(cases[k].dt, rank, cases[k].in), y1, y4;
        fill_random(&x, 1000u + (unsigned)k);
        int use_sizes = cases[k].sizes[0] != 0;
        const float *sc = use_sizes ? NULL : cases[k].scales;
        const int64_t *sz = use_sizes ? cases[k].sizes : NULL;
        const float *r = cases[k].c.coord && !strcmp(cases[k].c.coord, "tf_crop_and_resize")
                             ? roi : NULL;
        expect_ok(resize(&cases[k].c, cases[k].opset, &x, sc, sc ? rank : 0, sz,
                         sz ? rank : 0, r, &y1, 1));
        expect_ok(resize(&cases[k].c, cases[k].opset, &x, sc, sc ? rank : 0, sz,
                         sz ? rank : 0, r, &y4, 4));
        expect_same_bytes(&y1, &y4);
        free(x.data);
        free(y1.data);
        free(y4.data);
    }
}
END_TEST

START_TEST(resize_identity_and_zero_sized)
{
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    const float ones[4] = {1, 1, 1, 1}, twos[4] = {1, 1, 2, 2};
    for (int m = 0; m < 3; m++) {
        rs_cfg c = {modes[m], NULL, NULL, 0, 0, 0};
        int64_t d[4] = {2, 3, 5, 7};
        odet_tensor x = tensor(ODET_FLOAT, 4, d), y;
        fill_random(&x, 5u);
        expect_ok(resize(&c, 13, &x, ones, 4, NULL, 0, NULL, &y, 2));
        expect_same_bytes(&x, &y);
        free(x.data);
        free(y.data);

        int64_t z[4] = {1, 3, 0, 5};
        x = tensor(ODET_FLOAT, 4, z);
        expect_ok(resize(&c, 13, &x, twos, 4, NULL, 0, NULL, &y, 2));
        ck_assert_int_eq(y.dims[2], 0);
        ck_assert_int_eq(y.dims[3], 10);
        free(y.data);
        int64_t sz[4] = {1, 3, 4, 5};
        expect_fail(resize(&c, 13, &x, NULL, 0, sz, 4, NULL, &y, 1), ODET_ERR_SHAPE,
                    "empty axis 2");
        free(x.data);
    }
    /* downsampling to zero rows */
    rs_cfg c = {"linear", NULL, NULL, 0, 0, 0};
    int64_t d[4] = {1, 1, 1, 4};
    const float tiny[4] = {1, 1, 0.5f, 1};
    odet_tensor x = tensor(ODET_FLOAT, 4, d), y;
    expect_ok(resize(&c, 13, &x, tiny, 4, NULL, 0, NULL, &y, 1));
    ck_assert_int_eq(y.dims[2], 0);
    free(x.data);
    free(y.data);
}
END_TEST

/* keep_aspect_ratio_policy with an axis of length 1 whose common scale is < 1:
 * antialias widens its taps although out >= in (scratch must still fit). */
START_TEST(resize_keep_aspect_antialias_unit_axis)
{
    rs_cfg c = {"linear", NULL, NULL, 1, 0, 0};
    test_node *t = resize_node(&c, 18);
    const int64_t axes[2] = {2, 3}, sizes[2] = {1, 6};
    attr_ints(t, "axes", axes, 2);
    attr_string(t, "keep_aspect_ratio_policy", "not_larger");
    int64_t d[4] = {1, 2, 1, 10};
    odet_tensor x = tensor(ODET_FLOAT, 4, d), tz = ints_tensor(sizes, 2), y;
    for (int i = 0; i < 20; i++)
        ((float *)x.data)[i] = (float)(i % 10);
    const odet_tensor *in[4] = {&x, NULL, NULL, &tz};
    expect_ok(run_node1(t, in, 4, &y, 1));
    ck_assert_int_eq(y.dims[2], 1);
    ck_assert_int_eq(y.dims[3], 6);
    for (int i = 0; i < 12; i++) {
        float v = ((float *)y.data)[i];
        ck_assert(v >= 0.0f && v <= 9.0f);
    }
    free(x.data);
    free(tz.data);
    free(y.data);
    free(t);
}
END_TEST

START_TEST(resize_legacy_forms)
{
    /* Resize-10 nearest downsampling rounds up: in 5, scale 0.6 -> 3 rows from 0, 2, 4 */
    int64_t d[4] = {1, 1, 5, 1};
    odet_tensor x = tensor(ODET_INT64, 4, d), y;
    for (int i = 0; i < 5; i++)
        ((int64_t *)x.data)[i] = 10 * i;
    const float s[4] = {1, 1, 0.6f, 1};
    odet_tensor ts = floats_tensor(s, 4);
    test_node *t = node_new1("Resize", 10, 2);
    attr_string(t, "mode", "nearest");
    const odet_tensor *in[2] = {&x, &ts};
    expect_ok(run_node1(t, in, 2, &y, 1));
    ck_assert_int_eq(y.dims[2], 3);
    ck_assert_int_eq(((int64_t *)y.data)[0], 0);
    ck_assert_int_eq(((int64_t *)y.data)[1], 20);
    ck_assert_int_eq(((int64_t *)y.data)[2], 40);
    free(y.data);
    free(t);

    /* Upsample-7 takes its scales from the attribute; without one it fails */
    t = node_new1("Upsample", 7, 1);
    attr_string(t, "mode", "nearest");
    const float up[4] = {1, 1, 2, 1};
    attr_floats(t, "scales", up, 4);
    expect_ok(run_node1(t, in, 1, &y, 1));
    ck_assert_int_eq(y.dims[2], 10);
    ck_assert_int_eq(((int64_t *)y.data)[3], 10);
    free(y.data);
    free(t);
    t = node_new1("Upsample", 7, 1);
    expect_fail(run_node1(t, in, 1, &y, 1), ODET_ERR_INVALID_ARG, "scales");
    free(t);
    t = node_new1("Resize", 10, 2);
    attr_string(t, "mode", "cubic");
    expect_fail(run_node1(t, in, 2, &y, 1), ODET_ERR_UNSUPPORTED, "cubic");
    free(t);
    free(x.data);
    free(ts.data);
}
END_TEST

START_TEST(resize_errors)
{
    int64_t d[4] = {1, 2, 3, 4};
    odet_tensor x = tensor(ODET_FLOAT, 4, d), y;
    const float s4[4] = {1, 1, 2, 2}, s3[3] = {1, 2, 2}, neg[4] = {1, 1, -2, 2};
    const int64_t z4[4] = {1, 2, 6, 8};
    rs_cfg lin = {"linear", NULL, NULL, 0, 0, 0};
    expect_fail(resize(&lin, 13, &x, s4, 4, z4, 4, NULL, &y, 1), ODET_ERR_INVALID_ARG,
                "only one of");
    expect_fail(resize(&lin, 13, &x, NULL, 0, NULL, 0, NULL, &y, 1), ODET_ERR_INVALID_ARG,
                "must be given");
    expect_fail(resize(&lin, 13, &x, s3, 3, NULL, 0, NULL, &y, 1), ODET_ERR_SHAPE,
                "expected 4");
    expect_fail(resize(&lin, 13, &x, neg, 4, NULL, 0, NULL, &y, 1), ODET_ERR_INVALID_ARG,
                "must be > 0");
    rs_cfg bad_coord = {"linear", "centered", NULL, 0, 0, 0};
    expect_fail(resize(&bad_coord, 13, &x, s4, 4, NULL, 0, NULL, &y, 1), ODET_ERR_UNSUPPORTED,
                "'centered'");
    rs_cfg bad_mode = {"area", NULL, NULL, 0, 0, 0};
    expect_fail(resize(&bad_mode, 13, &x, s4, 4, NULL, 0, NULL, &y, 1), ODET_ERR_UNSUPPORTED,
                "'area'");
    rs_cfg bad_nearest = {"nearest", NULL, "up", 0, 0, 0};
    expect_fail(resize(&bad_nearest, 13, &x, s4, 4, NULL, 0, NULL, &y, 1),
                ODET_ERR_UNSUPPORTED, "nearest_mode");
    free(x.data);

    /* linear on integers is not supported; nearest is */
    x = tensor(ODET_INT32, 4, d);
    expect_fail(resize(&lin, 13, &x, s4, 4, NULL, 0, NULL, &y, 1), ODET_ERR_UNSUPPORTED,
                "int32");
    rs_cfg nn = {"nearest", NULL, NULL, 0, 0, 0};
    expect_ok(resize(&nn, 13, &x, s4, 4, NULL, 0, NULL, &y, 1));
    free(y.data);
    free(x.data);

    /* repeated axes (opset 18) */
    x = tensor(ODET_FLOAT, 4, d);
    test_node *t = resize_node(&lin, 18);
    const int64_t axes[2] = {3, -1};
    attr_ints(t, "axes", axes, 2);
    odet_tensor ts = floats_tensor(s4, 2);
    const odet_tensor *in[4] = {&x, NULL, &ts, NULL};
    expect_fail(run_node1(t, in, 4, &y, 1), ODET_ERR_INVALID_ARG, "repeated");
    free(t);
    free(ts.data);
    free(x.data);
}
END_TEST

/* ------------------------------------------------------- DepthToSpace family */

static run_result space_depth(const char *op, int opset, const char *mode, int64_t b,
                              const odet_tensor *x, odet_tensor *y, int threads)
{
    test_node *t = node_new1(op, opset, 1);
    attr_int(t, "blocksize", b);
    if (mode)
        attr_string(t, "mode", mode);
    const odet_tensor *in[1] = {x};
    memset(y, 0, sizeof *y);
    run_result r = run_node1(t, in, 1, y, threads);
    free(t);
    return r;
}

START_TEST(space_depth_roundtrip_and_threads)
{
    static const odet_dtype dts[] = {ODET_FLOAT, ODET_UINT8, ODET_INT64, ODET_DOUBLE};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        int64_t d[4] = {2, 5, 96, 84};
        odet_tensor x = tensor(dts[k], 4, d), s, s4, b, b4;
        fill_random(&x, 3u + (unsigned)k);
        /* SpaceToDepth then DepthToSpace DCR is the identity */
        expect_ok(space_depth("SpaceToDepth", 13, NULL, 3, &x, &s, 1));
        ck_assert_int_eq(s.dims[1], 45);
        ck_assert_int_eq(s.dims[2], 32);
        ck_assert_int_eq(s.dims[3], 28);
        expect_ok(space_depth("SpaceToDepth", 13, NULL, 3, &x, &s4, 4));
        expect_same_bytes(&s, &s4);
        expect_ok(space_depth("DepthToSpace", 13, "DCR", 3, &s, &b, 1));
        expect_same_bytes(&b, &x);
        expect_ok(space_depth("DepthToSpace", 13, "DCR", 3, &s, &b4, 4));
        expect_same_bytes(&b4, &x);
        free(b.data);
        free(b4.data);
        expect_ok(space_depth("DepthToSpace", 11, "CRD", 3, &s, &b, 1));
        expect_ok(space_depth("DepthToSpace", 11, "CRD", 3, &s, &b4, 4));
        expect_same_bytes(&b, &b4);
        free(b.data);
        free(b4.data);
        free(s.data);
        free(s4.data);
        free(x.data);
    }
}
END_TEST

START_TEST(space_depth_errors_and_zero_sized)
{
    int64_t d[4] = {1, 6, 4, 4}, r3[3] = {6, 4, 4}, z[4] = {0, 8, 2, 2};
    odet_tensor x = tensor(ODET_FLOAT, 4, d), x3 = tensor(ODET_FLOAT, 3, r3), y;
    expect_fail(space_depth("DepthToSpace", 13, "DCR", 2, &x, &y, 1), ODET_ERR_SHAPE,
                "not divisible");
    expect_fail(space_depth("SpaceToDepth", 13, NULL, 3, &x, &y, 1), ODET_ERR_SHAPE,
                "not divisible");
    expect_fail(space_depth("DepthToSpace", 13, "RDC", 2, &x, &y, 1), ODET_ERR_UNSUPPORTED,
                "'RDC'");
    expect_fail(space_depth("DepthToSpace", 13, NULL, 0, &x, &y, 1), ODET_ERR_INVALID_ARG,
                "blocksize");
    expect_fail(space_depth("SpaceToDepth", 13, NULL, 2, &x3, &y, 1), ODET_ERR_SHAPE,
                "rank 4");
    free(x.data);
    free(x3.data);
    x = tensor(ODET_FLOAT, 4, z);
    expect_ok(space_depth("DepthToSpace", 13, "CRD", 2, &x, &y, 2));
    ck_assert_int_eq(y.dims[0], 0);
    ck_assert_int_eq(y.dims[1], 2);
    ck_assert_int_eq(y.dims[2], 4);
    free(y.data);
    free(x.data);
}
END_TEST

/* --------------------------------------------------------------- GridSample */

static run_result grid_sample(const char *mode, const char *pad, int align, const odet_tensor *x,
                              const odet_tensor *g, odet_tensor *y, int threads)
{
    test_node *t = node_new1("GridSample", 16, 2);
    if (mode)
        attr_string(t, "mode", mode);
    if (pad)
        attr_string(t, "padding_mode", pad);
    attr_int(t, "align_corners", align);
    const odet_tensor *in[2] = {x, g};
    memset(y, 0, sizeof *y);
    run_result r = run_node1(t, in, 2, y, threads);
    free(t);
    return r;
}

START_TEST(grid_sample_threads_and_non_finite)
{
    static const char *const modes[] = {"bilinear", "nearest", "bicubic"};
    static const char *const pads[] = {"zeros", "border", "reflection"};
    int64_t xd[4] = {2, 8, 23, 31}, gd[4] = {2, 37, 41, 2};
    odet_tensor x = tensor(ODET_FLOAT, 4, xd), g = tensor(ODET_FLOAT, 4, gd);
    fill_random(&x, 11u);
    fill_random(&g, 12u);
    float *gv = g.data;
    for (int64_t i = 0; i < odet_tensor_numel(&g); i++)
        gv[i] *= 1.4f;
    gv[0] = NAN;
    gv[3] = INFINITY;
    gv[4] = -INFINITY;
    gv[7] = 3e38f;
    for (int m = 0; m < 3; m++)
        for (int p = 0; p < 3; p++)
            for (int a = 0; a < 2; a++) {
                odet_tensor y1, y4;
                expect_ok(grid_sample(modes[m], pads[p], a, &x, &g, &y1, 1));
                expect_ok(grid_sample(modes[m], pads[p], a, &x, &g, &y4, 4));
                expect_same_bytes(&y1, &y4);
                ck_assert_int_eq(y1.dims[1], 8);
                ck_assert_int_eq(y1.dims[2], 37);
                ck_assert_int_eq(y1.dims[3], 41);
                free(y1.data);
                free(y4.data);
            }
    free(x.data);
    free(g.data);
}
END_TEST

START_TEST(grid_sample_errors)
{
    int64_t xd[4] = {1, 2, 3, 4}, x5[5] = {1, 2, 3, 4, 5}, g3[4] = {1, 2, 2, 3},
            gb[4] = {2, 2, 2, 2}, gz[4] = {1, 0, 5, 2};
    odet_tensor x = tensor(ODET_FLOAT, 4, xd), xv = tensor(ODET_FLOAT, 5, x5),
                gbad = tensor(ODET_FLOAT, 4, g3), gbat = tensor(ODET_FLOAT, 4, gb),
                gzero = tensor(ODET_FLOAT, 4, gz), gdbl = tensor(ODET_DOUBLE, 4, gb), y;
    expect_fail(grid_sample(NULL, NULL, 0, &xv, &gbad, &y, 1), ODET_ERR_UNSUPPORTED, "rank 4");
    expect_fail(grid_sample(NULL, NULL, 0, &x, &gbad, &y, 1), ODET_ERR_SHAPE, "grid");
    expect_fail(grid_sample(NULL, NULL, 0, &x, &gbat, &y, 1), ODET_ERR_SHAPE, "batch");
    expect_fail(grid_sample(NULL, NULL, 0, &x, &gdbl, &y, 1), ODET_ERR_UNSUPPORTED, "double");
    expect_fail(grid_sample("area", NULL, 0, &x, &gzero, &y, 1), ODET_ERR_UNSUPPORTED,
                "'area'");
    expect_fail(grid_sample(NULL, "wrap", 0, &x, &gzero, &y, 1), ODET_ERR_UNSUPPORTED,
                "'wrap'");
    expect_ok(grid_sample(NULL, NULL, 0, &x, &gzero, &y, 1));
    ck_assert_int_eq(y.dims[2], 0);
    free(y.data);
    free(x.data);
    free(xv.data);
    free(gbad.data);
    free(gbat.data);
    free(gzero.data);
    free(gdbl.data);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ops_resize");
    TCase *tc = tcase_create("resize");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, resize_bilinear_matches_naive);
    tcase_add_test(tc, resize_nd_path_matches_separable);
    tcase_add_test(tc, resize_nhwc_matches_nchw);
    tcase_add_test(tc, resize_thread_independent);
    tcase_add_test(tc, resize_identity_and_zero_sized);
    tcase_add_test(tc, resize_keep_aspect_antialias_unit_axis);
    tcase_add_test(tc, resize_legacy_forms);
    tcase_add_test(tc, resize_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("space_depth");
    tcase_add_test(tc, space_depth_roundtrip_and_threads);
    tcase_add_test(tc, space_depth_errors_and_zero_sized);
    suite_add_tcase(s, tc);
    tc = tcase_create("grid_sample");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, grid_sample_threads_and_non_finite);
    tcase_add_test(tc, grid_sample_errors);
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
