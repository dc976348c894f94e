/* Unit tests of the element-wise operators (unary.c, binary.c), called
 * directly through their op definitions (prepare -> infer -> run).
 *
 * Broadcasting is checked against a naive per-element index computation over
 * many shape pairs (scalars, zero-sized, channel / row broadcast, both sides
 * broadcast, rank 6, tensors large enough to be split across threads), with
 * 1 and 3 threads. The rest covers what ONNX's node tests do not: in-place
 * execution, integer edge cases (wrapping, division by zero, MIN / -1, the
 * two Mod conventions), Pow's shortcuts and mixed dtypes, activations without
 * node tests (Mish, Gelu) against double-precision formulas, Clip's opset
 * forms, opset < 7 axis broadcasting, float16, and error messages. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ops/elem.h"
#include "ops/op.h"

#include "op_harness.h"

/* ------------------------------------------------------------------ fixtures */

/* Run and require success. */
static void run_ok(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor *out,
                   int threads)
{
    run_result r = run_node1(t, in, n_in, out, threads);
    ck_assert_msg(r.st == ODET_OK, "%s failed: %s", t->node.op_type, r.err);
}

static void fill_random(odet_tensor *x, unsigned *seed)
{
    int64_t n = odet_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        unsigned u = lcg(seed);
        float f = (float)(u & 0xffff) / 8192.0f - 4.0f; /* [-4, 4) */
        int64_t k = (int64_t)(u % 201) - 100;           /* [-100, 100] */
        switch (x->dtype) {
        case ODET_FLOAT: ((float *)x->data)[i] = f; break;
        case ODET_DOUBLE: ((double *)x->data)[i] = f; break;
        case ODET_INT32: ((int32_t *)x->data)[i] = (int32_t)k; break;
        case ODET_INT64: ((int64_t *)x->data)[i] = k; break;
        case ODET_UINT8: ((uint8_t *)x->data)[i] = (uint8_t)u; break;
        case ODET_BOOL: ((uint8_t *)x->data)[i] = (uint8_t)(u & 1); break;
        case ODET_FLOAT16: ((uint16_t *)x->data)[i] = odet_f32_to_f16(f); break;
        default: break;
        }
    }
}

static double getd(const odet_tensor *x, int64_t i)
{
    switch (x->dtype) {
    case ODET_FLOAT: return ((const float *)x->data)[i];
    case ODET_DOUBLE: return ((const double *)x->data)[i];
    case ODET_INT32: return ((const int32_t *)x->data)[i];
    case ODET_INT64: return (double)((const int64_t *)x->data)[i];
    case ODET_UINT8: return ((const uint8_t *)x->data)[i];
    case ODET_INT8: return ((const int8_t *)x->data)[i];
    case ODET_UINT16: return ((const uint16_t *)x->data)[i];
    case ODET_BOOL: return ((const uint8_t *)x->data)[i];
    case ODET_FLOAT16: return odet_f16_to_f32(((const uint16_t *)x->data)[i]);
    default: return NAN;
    }
}

static int close_to(double got, double want, double rtol, double atol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

/* Index into input x of flat output element e (numpy broadcasting). */
static int64_t bcast_index(const odet_tensor *y, int64_t e, const odet_tensor *x)
{
    int64_t idx = 0, stride = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        int64_t i = e % y->dims[d];
        e /= y->dims[d];
        int j = d - (y->rank - x->rank);
        if (j >= 0) {
            if (x->dims[j] != 1)
                idx += i * stride;
            stride *= x->dims[j];
        }
    }
    return idx;
}

/* ------------------------------------------------------------- broadcasting */

typedef struct shape_pair {
    int ra;
    int64_t a[6];
    int rb;
    int64_t b[6];
} shape_pair;

static const shape_pair pairs[] = {
    {2, {5, 5}, 2, {5, 5}},
    {0, {0}, 0, {0}},
    {0, {0}, 2, {3, 4}},
    {3, {2, 3, 4}, 0, {0}},
    {4, {2, 3, 4, 5}, 4, {1, 3, 1, 1}},
    {4, {1, 3, 1, 1}, 4, {2, 3, 4, 5}},
    {3, {2, 3, 4}, 1, {4}},
    {2, {3, 1}, 2, {1, 4}},
    {2, {0, 3}, 1, {3}},
    {3, {4, 1, 5}, 3, {1, 0, 5}},
    {3, {4, 64, 160}, 3, {4, 1, 160}},
    {3, {4, 64, 160}, 3, {1, 64, 1}},
    {3, {4, 64, 160}, 3, {4, 64, 160}},
    {2, {3000, 17}, 2, {3000, 1}},
    {2, {1, 70000}, 1, {1}},
    {6, {2, 1, 3, 1, 2, 3}, 5, {4, 1, 2, 1, 3}},
};

/* Expected value of op(x, y) for the dtypes the test uses. */
static double expect_binary(const char *op, odet_dtype dt, double x, double y)
{
    if (dt == ODET_FLOAT) {
        float a = (float)x, b = (float)y, r;
        if (!strcmp(op, "Add")) r = a + b;
        else if (!strcmp(op, "Sub")) r = a - b;
        else if (!strcmp(op, "Mul")) r = a * b;
        else if (!strcmp(op, "Div")) r = a / b;
        else if (!strcmp(op, "Max")) r = a > b ? a : b;
        else if (!strcmp(op, "Less")) return a < b;
        else if (!strcmp(op, "Equal")) return a == b;
        else return NAN;
        return r;
    }
    int64_t a = (int64_t)x, b = (int64_t)y, r;
    if (!strcmp(op, "Add")) r = a + b;
    else if (!strcmp(op, "Sub")) r = a - b;
    else if (!strcmp(op, "Mul")) r = a * b;
    else if (!strcmp(op, "Div")) r = b == 0 ? 0 : a / b;
    else if (!strcmp(op, "Max")) r = a > b ? a : b;
    else if (!strcmp(op, "Less")) return a < b;
    else if (!strcmp(op, "Equal")) return a == b;
    else return NAN;
    if (dt == ODET_UINT8)
        r = (uint8_t)r;
    else if (dt == ODET_INT32)
        r = (int32_t)(uint32_t)(uint64_t)r;
    return (double)r;
}

START_TEST(broadcast_vs_naive)
{
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Less", "Equal"};
    static const odet_dtype dts[] = {ODET_FLOAT, ODET_INT32, ODET_INT64, ODET_UINT8};
    unsigned seed = 11;
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
            for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
                /* keep the big shapes to float and a few ops */
                int big = pairs[p].a[0] * pairs[p].a[1] > 10000;
                if (big && (dts[k] != ODET_FLOAT || o > 2))
                    continue;
                odet_tensor a = tensor(dts[k], pairs[p].ra, pairs[p].a);
                odet_tensor b = tensor(dts[k], pairs[p].rb, pairs[p].b);
                fill_random(&a, &seed);
                fill_random(&b, &seed);
                const odet_tensor *in[2] = {&a, &b};
                for (int threads = 1; threads <= 3; threads += 2) {
                    test_node *t = node_new1(ops[o], 14, 2);
                    odet_tensor y;
                    memset(&y, 0, sizeof y);
                    run_ok(t, in, 2, &y, threads);
                    int64_t n = odet_tensor_numel(&y);
                    for (int64_t e = 0; e < n; e++) {
                        double want = expect_binary(ops[o], dts[k],
                                                    getd(&a, bcast_index(&y, e, &a)),
                                                    getd(&b, bcast_index(&y, e, &b)));
                        double got = getd(&y, e);
                        ck_assert_msg(got == want || (isnan(got) && isnan(want)),
                                      "%s %s pair %zu threads %d: element %lld got %g want %g",
                                      ops[o], odet_dtype_name(dts[k]), p, threads,
                                      (long long)e, got, want);
                    }
                    free(y.data);
                    free(t);
                }
                free(a.data);
                free(b.data);
            }
        }
    }
}
END_TEST

START_TEST(broadcast_shapes)
{
    /* output shape of [2,1,3,1,2,3] and [4,1,2,1,3] is [2,4,3,2,2,3] */
    odet_tensor a = tensor(ODET_FLOAT, pairs[15].ra, pairs[15].a);
    odet_tensor b = tensor(ODET_FLOAT, pairs[15].rb, pairs[15].b);
    const odet_tensor *in[2] = {&a, &b};
    test_node *t = node_new1("Add", 14, 2);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_ok(t, in, 2, &y, 1);
    static const int64_t want[] = {2, 4, 3, 2, 2, 3};
    ck_assert_int_eq(y.rank, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(y.dims[i], want[i]);
    free(y.data);
    free(a.data);
    free(b.data);
    free(t);
}
END_TEST

START_TEST(where_three_way)
{
    unsigned seed = 5;
    int64_t dc[] = {2, 1, 4}, dx[] = {3, 1};
    odet_tensor c = tensor(ODET_BOOL, 3, dc);
    odet_tensor x = tensor(ODET_INT64, 2, dx);
    int64_t yv = -7;
    odet_tensor yy = scalar_tensor(ODET_INT64, &yv);
    fill_random(&c, &seed);
    fill_random(&x, &seed);
    const odet_tensor *in[3] = {&c, &x, &yy};
    test_node *t = node_new1("Where", 16, 3);
    odet_tensor z;
    memset(&z, 0, sizeof z);
    run_ok(t, in, 3, &z, 2);
    ck_assert_int_eq(z.rank, 3);
    ck_assert_int_eq(z.dims[0], 2);
    ck_assert_int_eq(z.dims[1], 3);
    ck_assert_int_eq(z.dims[2], 4);
    for (int64_t e = 0; e < 24; e++) {
        double want = getd(&c, bcast_index(&z, e, &c)) ? getd(&x, bcast_index(&z, e, &x)) : -7;
        ck_assert_double_eq(getd(&z, e), want);
    }
    free(c.data);
    free(x.data);
    free(yy.data);
    free(z.data);
    free(t);
}
END_TEST

/* ----------------------------------------------------------------- in place */

START_TEST(in_place_matches)
{
    unsigned seed = 3;
    int64_t da[] = {4, 64, 160}, db[] = {1, 64, 1};
    for (int which = 0; which < 2; which++) {
        /* which 0: output shares input 0 (full shape); 1: Sub with the
         * broadcast operand first and the output sharing input 1 */
        odet_tensor full = tensor(ODET_FLOAT, 3, da);
        odet_tensor part = tensor(ODET_FLOAT, 3, db);
        fill_random(&full, &seed);
        fill_random(&part, &seed);
        odet_tensor copy = tensor(ODET_FLOAT, 3, da);
        memcpy(copy.data, full.data, odet_tensor_bytes(&full));
        const odet_tensor *in_ref[2] = {which ? &part : &copy, which ? &copy : &part};
        const odet_tensor *in[2] = {which ? &part : &full, which ? &full : &part};
        odet_tensor ref, y;
        memset(&ref, 0, sizeof ref);
        memset(&y, 0, sizeof y);
        test_node *t = node_new1("Sub", 14, 2);
        run_ok(t, in_ref, 2, &ref, 2);
        run_result r = run_node_alias(t, in, 2, &y, 2, which ? 1 : 0);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        ck_assert(y.data == full.data);
        ck_assert(memcmp(y.data, ref.data, odet_tensor_bytes(&ref)) == 0);
        free(t);
        free(ref.data);
        free(full.data);
        free(part.data);
        free(copy.data);
    }
    /* unary in place */
    int64_t dx[] = {100001};
    odet_tensor x = tensor(ODET_FLOAT, 1, dx);
    fill_random(&x, &seed);
    odet_tensor copy = tensor(ODET_FLOAT, 1, dx);
    memcpy(copy.data, x.data, odet_tensor_bytes(&x));
    const odet_tensor *in[1] = {&x};
    odet_tensor y;
    memset(&y, 0, sizeof y);
    test_node *t = node_new1("HardSwish", 14, 1);
    run_result r = run_node_alias(t, in, 1, &y, 3, 0);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    for (int64_t i = 0; i < dx[0]; i++) {
        float v = ((float *)copy.data)[i];
        float g = v * (1.0f / 6.0f) + 0.5f;
        g = g < 0 ? 0 : g > 1 ? 1 : g;
        ck_assert_float_eq(((float *)x.data)[i], v * g);
    }
    free(t);
    free(x.data);
    free(copy.data);
}
END_TEST

/* ----------------------------------------------------------------- variadic */

START_TEST(variadic_broadcast_and_alias)
{
    int64_t d0[] = {3}, d1[] = {2, 3}, d2[] = {2, 1};
    float v0[] = {1, 2, 3}, v1[] = {10, 20, 30, 40, 50, 60}, v2[] = {100, 200};
    odet_tensor a = tensor_f32(1, d0, v0), b = tensor_f32(2, d1, v1), c = tensor_f32(2, d2, v2);
    const odet_tensor *in[3] = {&a, &c, &b}; /* the full-shape input last */
    const float sum[] = {111, 122, 133, 241, 252, 263};
    test_node *t = node_new1("Sum", 13, 3);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_ok(t, in, 3, &y, 1);
    ck_assert_int_eq(y.rank, 2);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(((float *)y.data)[i], sum[i]);
    free(y.data);
    /* output sharing the buffer of the last input: still correct */
    memset(&y, 0, sizeof y);
    run_result r = run_node_alias(t, in, 3, &y, 1, 2);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(((float *)b.data)[i], sum[i]);
    free(t);
    memcpy(b.data, v1, sizeof v1);
    /* Mean */
    t = node_new1("Mean", 13, 3);
    memset(&y, 0, sizeof y);
    run_ok(t, in, 3, &y, 1);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(((float *)y.data)[i], sum[i] / 3.0f);
    free(y.data);
    free(t);
    /* Max with NaN: NaN wins (numpy maximum) */
    ((float *)a.data)[1] = NAN;
    t = node_new1("Max", 13, 3);
    memset(&y, 0, sizeof y);
    run_ok(t, in, 3, &y, 1);
    ck_assert(isnan(((float *)y.data)[1]) && isnan(((float *)y.data)[4]));
    ck_assert_float_eq(((float *)y.data)[0], 100);
    ck_assert_float_eq(((float *)y.data)[5], 200);
    free(y.data);
    free(t);
    /* one input: a copy */
    t = node_new1("Min", 13, 1);
    memset(&y, 0, sizeof y);
    run_ok(t, in, 1, &y, 1);
    ck_assert_float_eq(((float *)y.data)[2], 3);
    free(y.data);
    free(t);
    free(a.data);
    free(b.data);
    free(c.data);
}
END_TEST

/* --------------------------------------------------------------- integers */

/* Run op on two 1-D int32 tensors of n elements; returns the output data. */
static int32_t *run_i32(const char *op, const int32_t *x, const int32_t *yv, int n,
                        const char *attr, int64_t attr_v)
{
    int64_t d[] = {n};
    odet_tensor a = tensor(ODET_INT32, 1, d), b = tensor(ODET_INT32, 1, d);
    memcpy(a.data, x, (size_t)n * 4);
    memcpy(b.data, yv, (size_t)n * 4);
    const odet_tensor *in[2] = {&a, &b};
    test_node *t = node_new1(op, 13, 2);
    if (attr)
        attr_int(t, attr, attr_v);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_ok(t, in, 2, &y, 1);
    free(t);
    free(a.data);
    free(b.data);
    return y.data;
}

START_TEST(integer_edges)
{
    const int32_t x[] = {7, -7, 7, -7, INT32_MIN, 5, 0, INT32_MAX};
    const int32_t y[] = {2, 2, -2, -2, -1, 0, 3, 1};
    int32_t *q = run_i32("Div", x, y, 8, NULL, 0);
    const int32_t qd[] = {3, -3, -3, 3, INT32_MIN, 0, 0, INT32_MAX};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(q[i], qd[i]);
    free(q);
    int32_t *m = run_i32("Mod", x, y, 8, NULL, 0); /* sign of the divisor */
    const int32_t md[] = {1, 1, -1, -1, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(m[i], md[i]);
    free(m);
    m = run_i32("Mod", x, y, 8, "fmod", 1); /* sign of the dividend */
    const int32_t fd[] = {1, -1, 1, -1, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(m[i], fd[i]);
    free(m);
    int32_t *s = run_i32("Add", x, y, 8, NULL, 0); /* wraps */
    ck_assert_int_eq(s[7], INT32_MIN);
    free(s);
    s = run_i32("Mul", x, y, 8, NULL, 0);
    ck_assert_int_eq(s[4], INT32_MIN); /* MIN * -1 wraps to MIN */
    free(s);

    /* uint16 65535 * 65535 wraps to 1 (no signed-int promotion overflow) */
    int64_t d1[] = {1};
    odet_tensor a = tensor(ODET_UINT16, 1, d1), b = tensor(ODET_UINT16, 1, d1);
    ((uint16_t *)a.data)[0] = 65535;
    ((uint16_t *)b.data)[0] = 65535;
    const odet_tensor *in[2] = {&a, &b};
    test_node *t = node_new1("Mul", 14, 2);
    odet_tensor yy;
    memset(&yy, 0, sizeof yy);
    run_ok(t, in, 2, &yy, 1);
    ck_assert_uint_eq(((uint16_t *)yy.data)[0], 1);
    free(yy.data);
    free(t);
    /* BitShift by the width or more gives 0 */
    int64_t d3[] = {3};
    odet_tensor u = tensor(ODET_UINT8, 1, d3), sh = tensor(ODET_UINT8, 1, d3);
    const uint8_t uv[] = {0x81, 0x81, 0x81}, sv[] = {1, 7, 8};
    memcpy(u.data, uv, 3);
    memcpy(sh.data, sv, 3);
    const odet_tensor *in2[2] = {&u, &sh};
    t = node_new1("BitShift", 11, 2);
    attr_string(t, "direction", "LEFT");
    memset(&yy, 0, sizeof yy);
    run_ok(t, in2, 2, &yy, 1);
    ck_assert_uint_eq(((uint8_t *)yy.data)[0], 0x02);
    ck_assert_uint_eq(((uint8_t *)yy.data)[1], 0x80);
    ck_assert_uint_eq(((uint8_t *)yy.data)[2], 0);
    free(yy.data);
    free(t);
    t = node_new1("BitShift", 11, 2);
    attr_string(t, "direction", "RIGHT");
    memset(&yy, 0, sizeof yy);
    run_ok(t, in2, 2, &yy, 1);
    ck_assert_uint_eq(((uint8_t *)yy.data)[0], 0x40);
    ck_assert_uint_eq(((uint8_t *)yy.data)[1], 0x01);
    ck_assert_uint_eq(((uint8_t *)yy.data)[2], 0);
    free(yy.data);
    free(t);
    free(a.data);
    free(b.data);
    free(u.data);
    free(sh.data);

    /* unary integer ops: Abs / Neg of MIN wrap, Relu, Sign */
    int64_t d4[] = {4};
    odet_tensor xi = tensor(ODET_INT8, 1, d4);
    const int8_t xv[] = {-128, -5, 0, 9};
    memcpy(xi.data, xv, 4);
    const odet_tensor *in1[1] = {&xi};
    static const char *const uops[] = {"Abs", "Neg", "Relu", "Sign"};
    static const int8_t want[4][4] = {
        {-128, 5, 0, 9}, {-128, 5, 0, -9}, {0, 0, 0, 9}, {-1, -1, 0, 1}};
    for (int k = 0; k < 4; k++) {
        t = node_new1(uops[k], 14, 1);
        memset(&yy, 0, sizeof yy);
        run_ok(t, in1, 1, &yy, 1);
        for (int i = 0; i < 4; i++)
            ck_assert_int_eq(((int8_t *)yy.data)[i], want[k][i]);
        free(yy.data);
        free(t);
    }
    free(xi.data);
}
END_TEST

/* --------------------------------------------------------------------- Pow */

START_TEST(pow_forms)
{
    int64_t d[] = {7};
    const float xv[] = {-2.5f, -0.0f, 0.0f, 3.0f, 1e-3f, INFINITY, -INFINITY};
    odet_tensor x = tensor_f32(1, d, xv);
    const float exps[] = {2.0f, 1.0f, 0.5f, 3.0f, -1.5f};
    for (int k = 0; k < 5; k++) {
        odet_tensor e = scalar_tensor(ODET_FLOAT, &exps[k]);
        const odet_tensor *in[2] = {&x, &e};
        test_node *t = node_new1("Pow", 15, 2);
        odet_tensor y;
        memset(&y, 0, sizeof y);
        run_ok(t, in, 2, &y, 1);
        for (int i = 0; i < 7; i++) {
            float got = ((float *)y.data)[i], want = powf(xv[i], exps[k]);
            ck_assert_msg(close_to(got, want, 2e-7, 0) && signbit(got) == signbit(want),
                          "pow(%g, %g) = %g, want %g", xv[i], exps[k], got, want);
        }
        free(y.data);
        free(t);
        free(e.data);
    }
    free(x.data);

    /* int64 ** int64, negative exponents truncate */
    int64_t d4[] = {5};
    odet_tensor b = tensor(ODET_INT64, 1, d4), p = tensor(ODET_INT64, 1, d4);
    const int64_t bv[] = {3, -2, 1, -1, 2}, pv[] = {4, 3, -5, -3, -1};
    memcpy(b.data, bv, sizeof bv);
    memcpy(p.data, pv, sizeof pv);
    const odet_tensor *in[2] = {&b, &p};
    test_node *t = node_new1("Pow", 15, 2);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_ok(t, in, 2, &y, 1);
    const int64_t want[] = {81, -8, 1, -1, 0};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(((int64_t *)y.data)[i], want[i]);
    free(y.data);
    free(t);
    /* int64 base, float exponent: computed in double, truncated */
    float fe = 0.5f;
    odet_tensor e = scalar_tensor(ODET_FLOAT, &fe);
    const int64_t bv2[] = {9, 10, 0, 1, 100};
    memcpy(b.data, bv2, sizeof bv2);
    in[1] = &e;
    t = node_new1("Pow", 15, 2);
    memset(&y, 0, sizeof y);
    run_ok(t, in, 2, &y, 1);
    ck_assert_int_eq(y.dtype, ODET_INT64);
    const int64_t want2[] = {3, 3, 0, 1, 10};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(((int64_t *)y.data)[i], want2[i]);
    free(y.data);
    free(t);
    free(e.data);
    free(b.data);
    free(p.data);
}
END_TEST

/* -------------------------------------------------------------- activations */

static double softplus_ref(double v)
{
    return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
}

/* Reference of a float activation in double. */
static double act_ref(const char *op, double v)
{
    if (!strcmp(op, "Mish")) return v * tanh(softplus_ref(v));
    /* 1 + erf(z) = erfc(-z) and 1 + tanh(u) = 2 / (1 + e^-2u), without the
     * cancellation that makes the textbook forms 0 for large negative x */
    if (!strcmp(op, "Gelu")) return 0.5 * v * erfc(-v / sqrt(2.0));
    if (!strcmp(op, "GeluTanh")) {
        double u = sqrt(2.0 / 3.14159265358979323846) * (v + 0.044715 * v * v * v);
        return isinf(v) ? 0.5 * v * (1.0 + tanh(u)) : v / (1.0 + exp(-2.0 * u));
    }
    if (!strcmp(op, "Softplus")) return softplus_ref(v);
    if (!strcmp(op, "Sigmoid")) return 1.0 / (1.0 + exp(-v));
    if (!strcmp(op, "Elu")) return v < 0 ? exp(v) - 1.0 : v;
    if (!strcmp(op, "Celu")) return v > 0 ? v : exp(v) - 1.0;
    if (!strcmp(op, "HardSwish")) return v * fmin(1.0, fmax(0.0, v / 6.0 + 0.5));
    if (!strcmp(op, "HardSigmoid")) return fmin(1.0, fmax(0.0, (double)0.2f * v + 0.5));
    if (!strcmp(op, "LeakyRelu")) return v < 0 ? (double)0.01f * v : v; /* attributes are floats */
    if (!strcmp(op, "Softsign")) return v / (1.0 + fabs(v));
    if (!strcmp(op, "Tanh")) return tanh(v);
    if (!strcmp(op, "Erf")) return erf(v);
    if (!strcmp(op, "Relu")) return v < 0 ? 0 : v;
    return NAN;
}

START_TEST(activations_vs_double)
{
    static const char *const ops[] = {"Mish", "Gelu", "GeluTanh", "Softplus", "Sigmoid",
                                      "Elu", "Celu", "HardSwish", "HardSigmoid", "LeakyRelu",
                                      "Softsign", "Tanh", "Erf", "Relu"};
    enum { N = 1203 };
    int64_t d[] = {N};
    float xv[N];
    for (int i = 0; i < N - 3; i++)
        xv[i] = -40.0f + 80.0f * (float)i / (float)(N - 4);
    xv[N - 3] = INFINITY;
    xv[N - 2] = -INFINITY;
    xv[N - 1] = NAN;
    for (int dt = 0; dt < 2; dt++) { /* float, then double */
        odet_tensor x = tensor(dt ? ODET_DOUBLE : ODET_FLOAT, 1, d);
        for (int i = 0; i < N; i++) {
            if (dt)
                ((double *)x.data)[i] = xv[i];
            else
                ((float *)x.data)[i] = xv[i];
        }
        const odet_tensor *in[1] = {&x};
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            int tanh_form = !strcmp(ops[k], "GeluTanh");
            test_node *t = node_new1(tanh_form ? "Gelu" : ops[k], 20, 1);
            if (tanh_form)
                attr_string(t, "approximate", "tanh");
            odet_tensor y;
            memset(&y, 0, sizeof y);
            run_ok(t, in, 1, &y, 2);
            ck_assert_int_eq(y.dtype, x.dtype);
            for (int i = 0; i < N; i++) {
                double got = getd(&y, i), want = act_ref(ops[k], xv[i]);
                if (isnan(xv[i])) {
                    ck_assert_msg(isnan(got), "%s(NaN) = %g", ops[k], got);
                    continue;
                }
                /* float: the rounding of intermediate values like x/sqrt2 is
                 * amplified in the exponential tails by up to ~x^2/2 */
                double v = isinf(xv[i]) ? 0.0 : xv[i];
                double rtol = (dt ? 1e-12 : 4e-6) * (1.0 + fabs(v) + 0.5 * v * v);
                double atol = dt ? 1e-300 : 1e-30;
                ck_assert_msg(close_to(got, want, rtol, atol), "%s %s(%.9g) = %.9g, want %.9g",
                              dt ? "double" : "float", ops[k], xv[i], got, want);
            }
            free(y.data);
            free(t);
        }
        free(x.data);
    }
}
END_TEST

START_TEST(round_isinf_sign)
{
    int64_t d[] = {9};
    const float xv[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4999998f, INFINITY, -INFINITY, NAN};
    odet_tensor x = tensor_f32(1, d, xv);
    const odet_tensor *in[1] = {&x};
    test_node *t = node_new1("Round", 11, 1);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_ok(t, in, 1, &y, 1);
    const float rw[] = {0, 2, 2, -0.0f, -2, 2};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(((float *)y.data)[i], rw[i]);
    free(y.data);
    free(t);
    /* IsInf flags */
    const int flags[3][2] = {{1, 1}, {1, 0}, {0, 1}};
    for (int f = 0; f < 3; f++) {
        t = node_new1("IsInf", 10, 1);
        attr_int(t, "detect_positive", flags[f][0]);
        attr_int(t, "detect_negative", flags[f][1]);
        memset(&y, 0, sizeof y);
        run_ok(t, in, 1, &y, 1);
        ck_assert_int_eq(y.dtype, ODET_BOOL);
        const uint8_t *b = y.data;
        for (int i = 0; i < 9; i++) {
            int want = (i == 6 && flags[f][0]) || (i == 7 && flags[f][1]);
            ck_assert_int_eq(b[i], want);
        }
        free(y.data);
        free(t);
    }
    /* Sign keeps NaN */
    t = node_new1("Sign", 13, 1);
    memset(&y, 0, sizeof y);
    run_ok(t, in, 1, &y, 1);
    ck_assert_float_eq(((float *)y.data)[3], -1);
    ck_assert_float_eq(((float *)y.data)[6], 1);
    ck_assert(isnan(((float *)y.data)[8]));
    free(y.data);
    free(t);
    free(x.data);
}
END_TEST

/* --------------------------------------------------------------------- Clip */

START_TEST(clip_forms)
{
    int64_t d[] = {5};
    const float xv[] = {-5, -1, 0.5f, 3, NAN};
    odet_tensor x = tensor_f32(1, d, xv);
    odet_tensor y;
    /* opset 6: attributes */
    test_node *t = node_new1("Clip", 6, 1);
    attr_float(t, "min", -1.5f);
    attr_float(t, "max", 2.0f);
    const odet_tensor *in1[1] = {&x};
    memset(&y, 0, sizeof y);
    run_ok(t, in1, 1, &y, 1);
    const float w6[] = {-1.5f, -1, 0.5f, 2};
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(((float *)y.data)[i], w6[i]);
    ck_assert(isnan(((float *)y.data)[4]));
    free(y.data);
    free(t);
    /* opset 13: only max given (min absent = NULL) */
    float mx = 0.0f;
    odet_tensor hi = scalar_tensor(ODET_FLOAT, &mx);
    const odet_tensor *in3[3] = {&x, NULL, &hi};
    t = node_new1("Clip", 13, 3);
    memset(&y, 0, sizeof y);
    run_ok(t, in3, 3, &y, 1);
    const float w13[] = {-5, -1, 0, 0};
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(((float *)y.data)[i], w13[i]);
    free(y.data);
    free(t);
    free(hi.data);
    free(x.data);
    /* int32 with min > max gives max (numpy.clip) */
    int64_t d3[] = {3};
    odet_tensor xi = tensor(ODET_INT32, 1, d3);
    const int32_t xiv[] = {-10, 5, 10};
    memcpy(xi.data, xiv, sizeof xiv);
    int32_t lo = 7, h = 3;
    odet_tensor tlo = scalar_tensor(ODET_INT32, &lo), thi = scalar_tensor(ODET_INT32, &h);
    const odet_tensor *in_i[3] = {&xi, &tlo, &thi};
    t = node_new1("Clip", 13, 3);
    memset(&y, 0, sizeof y);
    run_ok(t, in_i, 3, &y, 1);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(((int32_t *)y.data)[i], 3);
    free(y.data);
    free(t);
    /* int64 without bounds: unchanged */
    odet_tensor xl = tensor(ODET_INT64, 1, d3);
    const int64_t xlv[] = {INT64_MIN, 0, INT64_MAX};
    memcpy(xl.data, xlv, sizeof xlv);
    const odet_tensor *in_l[1] = {&xl};
    t = node_new1("Clip", 13, 1);
    memset(&y, 0, sizeof y);
    run_ok(t, in_l, 1, &y, 1);
    ck_assert(memcmp(y.data, xlv, sizeof xlv) == 0);
    free(y.data);
    free(t);
    free(xl.data);
    free(xi.data);
    free(tlo.data);
    free(thi.data);
}
END_TEST

/* --------------------------------------------- older forms, float16, PRelu */

START_TEST(legacy_axis_broadcast)
{
    int64_t da[] = {2, 3, 4}, db[] = {3};
    odet_tensor a = tensor(ODET_FLOAT, 3, da);
    const float bv[] = {100, 200, 300};
    odet_tensor b = tensor_f32(1, db, bv);
    const odet_tensor *in[2] = {&a, &b};
    test_node *t = node_new1("Add", 6, 2);
    attr_int(t, "broadcast", 1);
    attr_int(t, "axis", 1);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_ok(t, in, 2, &y, 1);
    for (int i = 0; i < 24; i++)
        ck_assert_float_eq(((float *)y.data)[i], bv[(i / 4) % 3]);
    free(y.data);
    free(t);
    /* the same shapes without the old attributes do not broadcast */
    t = node_new1("Add", 14, 2);
    memset(&y, 0, sizeof y);
    run_result r = run_node1(t, in, 2, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_msg(strstr(r.err, "node 'n' (Add)") && strstr(r.err, "[3]") &&
                      strstr(r.err, "[2,3,4]"),
                  "%s", r.err);
    free(t);
    free(a.data);
    free(b.data);
}
END_TEST

START_TEST(prelu_slopes)
{
    int64_t dx[] = {2, 3, 2, 2}, ds1[] = {3}, ds3[] = {3, 1, 1};
    odet_tensor x = tensor(ODET_FLOAT, 4, dx);
    for (int i = 0; i < 24; i++)
        ((float *)x.data)[i] = (i % 2) ? -1.0f : 1.0f;
    const float sv[] = {0.1f, 0.2f, 0.3f};
    odet_tensor s1 = tensor_f32(1, ds1, sv), s3 = tensor_f32(3, ds3, sv);
    for (int k = 0; k < 2; k++) {
        const odet_tensor *in[2] = {&x, k ? &s3 : &s1};
        test_node *t = node_new1("PRelu", 16, 2);
        odet_tensor y;
        memset(&y, 0, sizeof y);
        run_ok(t, in, 2, &y, 1);
        ck_assert_int_eq(y.rank, 4);
        for (int i = 0; i < 24; i++) {
            float want = (i % 2) ? -sv[(i / 4) % 3] : 1.0f;
            ck_assert_float_eq(((float *)y.data)[i], want);
        }
        free(y.data);
        free(t);
    }
    /* slope bigger than X: not unidirectional */
    int64_t dbig[] = {2, 2, 3, 2, 2};
    odet_tensor big = tensor(ODET_FLOAT, 5, dbig);
    const odet_tensor *in[2] = {&x, &big};
    test_node *t = node_new1("PRelu", 16, 2);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_result r = run_node1(t, in, 2, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);
    free(big.data);
    free(x.data);
    free(s1.data);
    free(s3.data);
}
END_TEST

START_TEST(float16_paths)
{
    unsigned seed = 9;
    int64_t da[] = {3, 300}, db[] = {300};
    odet_tensor a = tensor(ODET_FLOAT16, 2, da), b = tensor(ODET_FLOAT16, 1, db);
    fill_random(&a, &seed);
    fill_random(&b, &seed);
    const odet_tensor *in[2] = {&a, &b};
    static const char *const ops[] = {"Add", "Mul", "Max", "Less"};
    for (int k = 0; k < 4; k++) {
        test_node *t = node_new1(ops[k], 14, 2);
        odet_tensor y;
        memset(&y, 0, sizeof y);
        run_ok(t, in, 2, &y, 1);
        ck_assert_int_eq(y.dtype, k == 3 ? ODET_BOOL : ODET_FLOAT16);
        for (int64_t e = 0; e < 900; e++) {
            float x = (float)getd(&a, e), z = (float)getd(&b, e % 300), w;
            if (k == 0) w = x + z;
            else if (k == 1) w = x * z;
            else if (k == 2) w = x > z ? x : z;
            else w = x < z;
            if (k < 3)
                w = odet_f16_to_f32(odet_f32_to_f16(w));
            ck_assert_float_eq((float)getd(&y, e), w);
        }
        free(y.data);
        free(t);
    }
    const odet_tensor *in1[1] = {&a};
    test_node *t = node_new1("Sigmoid", 13, 1);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_ok(t, in1, 1, &y, 1);
    ck_assert_int_eq(y.dtype, ODET_FLOAT16);
    for (int64_t e = 0; e < 900; e++) {
        double want = 1.0 / (1.0 + exp(-getd(&a, e)));
        ck_assert(close_to(getd(&y, e), want, 1e-3, 0));
    }
    free(y.data);
    free(t);
    free(a.data);
    free(b.data);
}
END_TEST

/* ---------------------------------------------------- zero sizes and errors */

START_TEST(zero_sized)
{
    int64_t da[] = {0, 3}, db[] = {3};
    odet_tensor a = tensor(ODET_FLOAT, 2, da), b = tensor(ODET_FLOAT, 1, db);
    const odet_tensor *in[2] = {&a, &b};
    test_node *t = node_new1("Add", 14, 2);
    odet_tensor y;
    memset(&y, 0, sizeof y);
    run_ok(t, in, 2, &y, 3);
    ck_assert_int_eq(y.rank, 2);
    ck_assert_int_eq(y.dims[0], 0);
    ck_assert_int_eq(y.dims[1], 3);
    free(y.data);
    free(t);
    const odet_tensor *in1[1] = {&a};
    t = node_new1("Exp", 13, 1);
    memset(&y, 0, sizeof y);
    run_ok(t, in1, 1, &y, 3);
    ck_assert_int_eq(y.dims[0], 0);
    free(y.data);
    free(t);
    free(a.data);
    free(b.data);
}
END_TEST

START_TEST(errors)
{
    int64_t d[] = {4};
    odet_tensor f = tensor(ODET_FLOAT, 1, d), i = tensor(ODET_INT32, 1, d);
    odet_tensor y;
    run_result r;
    test_node *t;

    const odet_tensor *mixed[2] = {&f, &i};
    t = node_new1("Add", 14, 2);
    memset(&y, 0, sizeof y);
    r = run_node1(t, mixed, 2, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_DTYPE);
    ck_assert_msg(strstr(r.err, "float") && strstr(r.err, "int32"), "%s", r.err);
    free(t);

    const odet_tensor *ints[1] = {&i};
    t = node_new1("Sigmoid", 13, 1);
    memset(&y, 0, sizeof y);
    r = run_node1(t, ints, 1, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(r.err, "node 'n' (Sigmoid)") && strstr(r.err, "int32"), "%s", r.err);
    free(t);

    const odet_tensor *floats[2] = {&f, &f};
    t = node_new1("And", 7, 2);
    memset(&y, 0, sizeof y);
    r = run_node1(t, floats, 2, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    free(t);

    t = node_new1("Gelu", 20, 1);
    attr_string(t, "approximate", "erf");
    memset(&y, 0, sizeof y);
    r = run_node1(t, floats, 1, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(r.err, "'erf'"), "%s", r.err);
    free(t);

    t = node_new1("BitShift", 11, 2);
    attr_string(t, "direction", "UP");
    memset(&y, 0, sizeof y);
    r = run_node1(t, floats, 2, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    free(t);

    odet_tensor c = tensor(ODET_FLOAT, 1, d);
    const odet_tensor *where[3] = {&c, &f, &f};
    t = node_new1("Where", 16, 3);
    memset(&y, 0, sizeof y);
    r = run_node1(t, where, 3, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_DTYPE);
    ck_assert_msg(strstr(r.err, "condition"), "%s", r.err);
    free(t);

    int64_t d5[] = {5};
    odet_tensor g = tensor(ODET_FLOAT, 1, d5);
    const odet_tensor *bad[3] = {&f, &f, &g};
    t = node_new1("Sum", 13, 3);
    memset(&y, 0, sizeof y);
    r = run_node1(t, bad, 3, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_msg(strstr(r.err, "input 2"), "%s", r.err);
    free(t);

    t = node_new1("Mean", 13, 2);
    const odet_tensor *ii[2] = {&i, &i};
    memset(&y, 0, sizeof y);
    r = run_node1(t, ii, 2, &y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    free(t);

    free(f.data);
    free(i.data);
    free(c.data);
    free(g.data);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ops_elementwise");
    TCase *tc = tcase_create("broadcast");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, broadcast_vs_naive);
    tcase_add_test(tc, broadcast_shapes);
    tcase_add_test(tc, where_three_way);
    tcase_add_test(tc, in_place_matches);
    tcase_add_test(tc, variadic_broadcast_and_alias);
    tcase_add_test(tc, legacy_axis_broadcast);
    tcase_add_test(tc, prelu_slopes);
    tcase_add_test(tc, zero_sized);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, integer_edges);
    tcase_add_test(tc, pow_forms);
    tcase_add_test(tc, activations_vs_double);
    tcase_add_test(tc, round_isinf_sign);
    tcase_add_test(tc, clip_forms);
    tcase_add_test(tc, float16_paths);
    tcase_add_test(tc, errors);
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
