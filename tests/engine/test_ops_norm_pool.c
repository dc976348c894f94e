/* Unit tests of the normalization and pooling operators, called directly
 * through their op definitions (prepare -> infer -> scratch -> run).
 *
 * Pooling is checked against a naive pool written here (every tap of every
 * window, bounds checked) over random 1-D/2-D/3-D configurations, which
 * covers both the separable path and the direct path (Indices output, wide
 * rows). Normalization checks precision on badly centred data, equivalence of
 * the GroupNormalization scale forms, thread-count independence, zero-sized
 * tensors and error reporting. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ops/op.h"

#include "op_harness.h"

/* ------------------------------------------------------------------ fixtures */

static void fill_random(odet_tensor *x, unsigned *seed, float scale, float offset)
{
    int64_t n = odet_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        float r = ((float)((*seed >> 8) & 0xffff) / 65536.0f - 0.5f) * 2.0f * scale + offset;
        switch (x->dtype) {
        case ODET_FLOAT: ((float *)x->data)[i] = r; break;
        case ODET_DOUBLE: ((double *)x->data)[i] = r; break;
        case ODET_INT8: ((int8_t *)x->data)[i] = (int8_t)((*seed >> 12) & 0xff); break;
        case ODET_UINT8: ((uint8_t *)x->data)[i] = (uint8_t)((*seed >> 12) & 0xff); break;
        default: break;
        }
    }
}

static double get(const odet_tensor *x, int64_t i)
{
    switch (x->dtype) {
    case ODET_FLOAT: return ((const float *)x->data)[i];
    case ODET_DOUBLE: return ((const double *)x->data)[i];
    case ODET_INT8: return ((const int8_t *)x->data)[i];
    case ODET_UINT8: return ((const uint8_t *)x->data)[i];
    case ODET_INT64: return (double)((const int64_t *)x->data)[i];
    default: return NAN;
    }
}

static int close_enough(double got, double want, double tol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= tol * (1.0 + fabs(want));
}

/* ------------------------------------------------------------------ naive pool */

enum { K_MAX, K_AVG, K_LP };

typedef struct pool_cfg {
    int kind, nsp;
    int64_t in[3], k[3], s[3], d[3], pads[6];
    int auto_pad; /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
    int ceil_mode, cip, storage_order;
    int p;
} pool_cfg;

/* Output size and effective pads per dim; returns 0 when the window does not fit. */
static int naive_geom(const pool_cfg *c, int64_t *out, int64_t *pb, int64_t *pe)
{
    for (int i = 0; i < c->nsp; i++) {
        int64_t ext = (c->k[i] - 1) * c->d[i] + 1, n = c->in[i];
        if (c->auto_pad == 1 || c->auto_pad == 2) {
            out[i] = (n + c->s[i] - 1) / c->s[i];
            int64_t tot = (out[i] - 1) * c->s[i] + ext - n;
            if (tot < 0)
                tot = 0;
            pb[i] = c->auto_pad == 1 ? tot / 2 : (tot + 1) / 2;
            pe[i] = tot - pb[i];
            continue;
        }
        pb[i] = c->auto_pad == 3 ? 0 : c->pads[i];
        pe[i] = c->auto_pad == 3 ? 0 : c->pads[i + c->nsp];
        int64_t span = n + pb[i] + pe[i] - ext;
        if (span < 0)
            return 0;
        double q = (double)span / (double)c->s[i];
        out[i] = (int64_t)(c->ceil_mode ? ceil(q) : floor(q)) + 1;
        if (c->ceil_mode && (out[i] - 1) * c->s[i] >= n + pb[i])
            out[i]--;
    }
    return 1;
}

/* Pool plane-by-plane; x and y are float64 copies; ind gets N*C*spatial flat
 * indices (row- or column-major). */
static void naive_pool(const pool_cfg *c, int64_t planes, const double *x, double *y,
                       int64_t *ind)
{
    int64_t out[3], pb[3], pe[3];
    naive_geom(c, out, pb, pe);
    int64_t I[3] = {1, 1, 1}, O[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1},
            Dl[3] = {1, 1, 1}, PB[3] = {0, 0, 0}, PE[3] = {0, 0, 0};
    for (int i = 0; i < c->nsp; i++) {
        int j = 3 - c->nsp + i;
        I[j] = c->in[i];
        O[j] = out[i];
        K[j] = c->k[i];
        S[j] = c->s[i];
        Dl[j] = c->d[i];
        PB[j] = pb[i];
        PE[j] = pe[i];
    }
    int64_t isz = I[0] * I[1] * I[2], osz = O[0] * O[1] * O[2];
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t o0 = 0; o0 < O[0]; o0++)
            for (int64_t o1 = 0; o1 < O[1]; o1++)
                for (int64_t o2 = 0; o2 < O[2]; o2++) {
                    double best = -INFINITY, sum = 0;
                    int64_t bi = -1, cnt = 0, padcnt = 0;
                    for (int64_t k0 = 0; k0 < K[0]; k0++)
                        for (int64_t k1 = 0; k1 < K[1]; k1++)
                            for (int64_t k2 = 0; k2 < K[2]; k2++) {
                                int64_t p0 = o0 * S[0] - PB[0] + k0 * Dl[0];
                                int64_t p1 = o1 * S[1] - PB[1] + k1 * Dl[1];
                                int64_t p2 = o2 * S[2] - PB[2] + k2 * Dl[2];
                                if (p0 >= -PB[0] && p0 < I[0] + PE[0] && p1 >= -PB[1] &&
                                    p1 < I[1] + PE[1] && p2 >= -PB[2] && p2 < I[2] + PE[2])
                                    padcnt++;
                                if (p0 < 0 || p0 >= I[0] || p1 < 0 || p1 >= I[1] || p2 < 0 ||
                                    p2 >= I[2])
                                    continue;
                                int64_t flat = (p0 * I[1] + p1) * I[2] + p2;
                                double v = x[pl * isz + flat];
                                if (bi < 0 || v > best) {
                                    best = v;
                                    bi = c->storage_order ? p0 + I[0] * (p1 + I[1] * p2) : flat;
                                }
                                sum += c->kind == K_LP ? pow(fabs(v), c->p) : v;
                                cnt++;
                            }
                    int64_t o = pl * osz + (o0 * O[1] + o1) * O[2] + o2;
                    if (c->kind == K_MAX) {
                        y[o] = best;
                        if (ind)
                            ind[o] = bi < 0 ? -1 : pl * isz + bi;
                    } else if (c->kind == K_AVG) {
                        int64_t dv = c->cip ? padcnt : cnt;
                        y[o] = dv ? sum / (double)dv : NAN;
                    } else {
                        y[o] = pow(sum, 1.0 / c->p);
                    }
                }
}

static test_node *pool_node(const pool_cfg *c)
{
    static const char *ops[] = {"MaxPool", "AveragePool", "LpPool"};
    static const char *pads[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    test_node *t = node_new(ops[c->kind], c->kind == K_AVG ? 19 : 12, 1, 2);
    attr_ints(t, "kernel_shape", c->k, (size_t)c->nsp);
    attr_ints(t, "strides", c->s, (size_t)c->nsp);
    attr_ints(t, "dilations", c->d, (size_t)c->nsp);
    if (c->auto_pad)
        attr_string(t, "auto_pad", pads[c->auto_pad]);
    else
        attr_ints(t, "pads", c->pads, 2 * (size_t)c->nsp);
    attr_int(t, "ceil_mode", c->ceil_mode);
    if (c->kind == K_AVG)
        attr_int(t, "count_include_pad", c->cip);
    if (c->kind == K_MAX)
        attr_int(t, "storage_order", c->storage_order);
    if (c->kind == K_LP)
        attr_int(t, "p", c->p);
    return t;
}

/* Run a pool config through the op (with or without Indices) and compare with
 * the naive pool. Returns 0 when the config has no valid output size. */
static int check_pool(const pool_cfg *c, odet_dtype dt, int with_indices, int threads,
                      unsigned *seed)
{
    int64_t out[3], pb[3], pe[3];
    int fits = naive_geom(c, out, pb, pe);
    int64_t dims[5] = {2, 3, 1, 1, 1};
    for (int i = 0; i < c->nsp; i++)
        dims[2 + i] = c->in[i];
    odet_tensor x = tensor(dt, c->nsp + 2, dims);
    fill_random(&x, seed, 4.0f, 0.0f);
    odet_tensor y, yi;
    memset(&y, 0, sizeof y);
    memset(&yi, 0, sizeof yi);
    const odet_tensor *in[1] = {&x};
    odet_tensor *outs[2] = {&y, with_indices ? &yi : NULL};
    test_node *t = pool_node(c);
    run_result r = run_node(t, in, 1, outs, 2, threads);
    if (!fits) {
        ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
        free(t);
        free(x.data);
        return 0;
    }
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    int64_t planes = 6, n_in = odet_tensor_numel(&x), n_out = odet_tensor_numel(&y);
    for (int i = 0; i < c->nsp; i++)
        ck_assert_int_eq(y.dims[2 + i], out[i]);
    double *xd = malloc((size_t)n_in * sizeof *xd), *yd = malloc((size_t)(n_out + 1) * sizeof *yd);
    int64_t *id = malloc((size_t)(n_out + 1) * sizeof *id);
    for (int64_t i = 0; i < n_in; i++)
        xd[i] = get(&x, i);
    naive_pool(c, planes, xd, yd, id);
    double tol = dt == ODET_DOUBLE ? 1e-12 : dt == ODET_FLOAT ? 2e-6 : 0;
    for (int64_t i = 0; i < n_out; i++) {
        double want = yd[i];
        if (c->kind == K_MAX && isinf(want) && dt == ODET_INT8)
            want = -128;
        if (c->kind == K_MAX && isinf(want) && dt == ODET_UINT8)
            want = 0;
        ck_assert_msg(close_enough(get(&y, i), want, tol),
                      "%s nsp=%d k=%lld,%lld s=%lld d=%lld pads=%lld ap=%d ceil=%d cip=%d: "
                      "y[%lld] = %.9g, want %.9g",
                      t->node.op_type, c->nsp, (long long)c->k[0], (long long)c->k[c->nsp - 1],
                      (long long)c->s[0], (long long)c->d[0], (long long)c->pads[0], c->auto_pad,
                      c->ceil_mode, c->cip, (long long)i, get(&y, i), want);
        if (with_indices)
            ck_assert_msg(((int64_t *)yi.data)[i] == id[i], "index %lld: %lld want %lld",
                          (long long)i, (long long)((int64_t *)yi.data)[i], (long long)id[i]);
    }
    free(xd);
    free(yd);
    free(id);
    free(x.data);
    free(y.data);
    free(yi.data);
    free(t);
    return 1;
}

static int64_t rnd(unsigned *seed, int64_t lo, int64_t hi)
{
    *seed = *seed * 1103515245u + 12345u;
    return lo + (int64_t)((*seed >> 16) % (unsigned)(hi - lo + 1));
}

static pool_cfg random_cfg(unsigned *seed, int kind)
{
    pool_cfg c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.nsp = (int)rnd(seed, 1, 3);
    for (int i = 0; i < c.nsp; i++) {
        c.in[i] = rnd(seed, 1, c.nsp == 3 ? 6 : 11);
        c.k[i] = rnd(seed, 1, 4);
        c.s[i] = rnd(seed, 1, 3);
        c.d[i] = kind == K_LP ? 1 : rnd(seed, 1, 2);
        c.pads[i] = rnd(seed, 0, c.k[i] - 1);
        c.pads[i + c.nsp] = rnd(seed, 0, c.k[i] - 1);
    }
    c.auto_pad = rnd(seed, 0, 5) < 3 ? 0 : (int)rnd(seed, 1, 3);
    c.ceil_mode = (int)rnd(seed, 0, 1);
    c.cip = (int)rnd(seed, 0, 1);
    c.storage_order = (int)rnd(seed, 0, 1);
    c.p = (int)rnd(seed, 1, 3);
    return c;
}

/* ------------------------------------------------------------------ pooling tests */

START_TEST(maxpool_random_vs_naive)
{
    unsigned seed = 7;
    int checked = 0;
    for (int it = 0; it < 400; it++) {
        pool_cfg c = random_cfg(&seed, K_MAX);
        static const odet_dtype dts[] = {ODET_FLOAT, ODET_DOUBLE, ODET_INT8, ODET_UINT8};
        odet_dtype dt = dts[it % 4];
        checked += check_pool(&c, dt, 0, 1 + it % 3, &seed);
        check_pool(&c, dt, 1, 1, &seed);
    }
    ck_assert_int_gt(checked, 200);
}
END_TEST

/* Stride 1, dilation 1 (the SPP form, served by the whole-plane path). */
START_TEST(maxpool_stride1_random_vs_naive)
{
    unsigned seed = 5;
    int checked = 0;
    for (int it = 0; it < 300; it++) {
        pool_cfg c = random_cfg(&seed, K_MAX);
        c.nsp = 1 + it % 2;
        for (int i = 0; i < 3; i++) {
            c.s[i] = c.d[i] = 1;
            c.k[i] = rnd(&seed, 1, 7);
            /* pads up to k + 1: windows entirely in the padding, too */
            c.pads[i] = rnd(&seed, 0, c.k[i] + 1);
            c.pads[i + c.nsp] = rnd(&seed, 0, c.k[i] + 1);
        }
        static const odet_dtype dts[] = {ODET_FLOAT, ODET_UINT8, ODET_DOUBLE, ODET_INT8};
        checked += check_pool(&c, dts[it % 4], 0, 1 + it % 4, &seed);
    }
    ck_assert_int_gt(checked, 150);
}
END_TEST

START_TEST(averagepool_random_vs_naive)
{
    unsigned seed = 11;
    int checked = 0;
    for (int it = 0; it < 400; it++) {
        pool_cfg c = random_cfg(&seed, K_AVG);
        checked += check_pool(&c, it % 2 ? ODET_DOUBLE : ODET_FLOAT, 0, 1 + it % 3, &seed);
    }
    ck_assert_int_gt(checked, 200);
}
END_TEST

START_TEST(lppool_random_vs_naive)
{
    unsigned seed = 13;
    int checked = 0;
    for (int it = 0; it < 300; it++) {
        pool_cfg c = random_cfg(&seed, K_LP);
        c.auto_pad = c.auto_pad == 3 ? 0 : c.auto_pad;
        checked += check_pool(&c, it % 2 ? ODET_DOUBLE : ODET_FLOAT, 0, 1, &seed);
    }
    ck_assert_int_gt(checked, 150);
}
END_TEST

/* Rows wider than the separable path's line buffer take the direct path. */
START_TEST(pool_wide_rows)
{
    unsigned seed = 17;
    for (int kind = K_MAX; kind <= K_LP; kind++) {
        pool_cfg c;
        memset(&c, 0, sizeof c);
        c.kind = kind;
        c.nsp = 2;
        c.in[0] = 3;
        c.in[1] = 4200;
        c.k[0] = 2;
        c.k[1] = 5;
        c.s[0] = 1;
        c.s[1] = 3;
        c.d[0] = c.d[1] = 1;
        c.pads[0] = c.pads[1] = c.pads[2] = c.pads[3] = 1;
        c.cip = 1;
        c.p = 2;
        ck_assert(check_pool(&c, ODET_FLOAT, 0, 2, &seed));
    }
}
END_TEST

/* SPP: MaxPool 5/9/13, stride 1, same pads, on a detector-sized map; the
 * result must not depend on the thread count. */
START_TEST(maxpool_spp_threads)
{
    unsigned seed = 19;
    for (int k = 5; k <= 13; k += 4) {
        pool_cfg c;
        memset(&c, 0, sizeof c);
        c.kind = K_MAX;
        c.nsp = 2;
        c.in[0] = c.in[1] = 20;
        c.k[0] = c.k[1] = k;
        c.s[0] = c.s[1] = 1;
        c.d[0] = c.d[1] = 1;
        for (int i = 0; i < 4; i++)
            c.pads[i] = k / 2;
        ck_assert(check_pool(&c, ODET_FLOAT, 0, 4, &seed));
        ck_assert(check_pool(&c, ODET_FLOAT, 1, 3, &seed));
    }
}
END_TEST

START_TEST(pool_global)
{
    int64_t dims[5] = {2, 3, 4, 5, 6};
    unsigned seed = 23;
    static const char *ops[] = {"GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool"};
    for (int kind = 0; kind < 3; kind++) {
        odet_tensor x = tensor(ODET_FLOAT, 5, dims);
        fill_random(&x, &seed, 3.0f, 0.5f);
        odet_tensor y;
        memset(&y, 0, sizeof y);
        const odet_tensor *in[1] = {&x};
        odet_tensor *out[1] = {&y};
        test_node *t = node_new(ops[kind], 2, 1, 1);
        if (kind == 2)
            attr_int(t, "p", 3);
        run_result r = run_node(t, in, 1, out, 1, 2);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        ck_assert_int_eq(y.rank, 5);
        ck_assert_int_eq(y.dims[4], 1);
        for (int pl = 0; pl < 6; pl++) {
            double m = -INFINITY, s = 0, l = 0;
            for (int i = 0; i < 120; i++) {
                double v = ((float *)x.data)[pl * 120 + i];
                m = v > m ? v : m;
                s += v;
                l += pow(fabs(v), 3);
            }
            double want = kind == 0 ? m : kind == 1 ? s / 120 : cbrt(l);
            ck_assert(close_enough(((float *)y.data)[pl], want, 1e-6));
        }
        free(x.data);
        free(y.data);
        free(t);
    }
}
END_TEST

START_TEST(pool_zero_sized)
{
    int64_t dims[4] = {0, 3, 8, 8};
    odet_tensor x = tensor(ODET_FLOAT, 4, dims);
    odet_tensor y, yi;
    memset(&y, 0, sizeof y);
    memset(&yi, 0, sizeof yi);
    const odet_tensor *in[1] = {&x};
    odet_tensor *out[2] = {&y, &yi};
    int64_t k[2] = {3, 3};
    test_node *t = node_new("MaxPool", 12, 1, 2);
    attr_ints(t, "kernel_shape", k, 2);
    run_result r = run_node(t, in, 1, out, 2, 4);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y.dims[0], 0);
    ck_assert_int_eq(y.dims[2], 6);
    ck_assert_int_eq(yi.dtype, ODET_INT64);
    free(t);
    free(y.data);
    free(yi.data);

    /* Global pool over a zero-sized spatial dim: max of nothing / mean NaN, no crash. */
    int64_t gd[3] = {1, 2, 0};
    odet_tensor g = tensor(ODET_FLOAT, 3, gd);
    const odet_tensor *gin[1] = {&g};
    memset(&y, 0, sizeof y);
    t = node_new("GlobalAveragePool", 1, 1, 1);
    r = run_node(t, gin, 1, out, 1, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y.dims[2], 1);
    free(t);
    free(y.data);
    free(g.data);
    free(x.data);
}
END_TEST

START_TEST(pool_errors)
{
    int64_t dims[4] = {1, 1, 4, 4};
    odet_tensor y;
    memset(&y, 0, sizeof y);
    odet_tensor *out[1] = {&y};
    int64_t k2[2] = {3, 3}, k4[4] = {1, 1, 1, 1}, k6[2] = {6, 6};
    run_result r;

    test_node *t = node_new("MaxPool", 12, 1, 1); /* no kernel_shape */
    odet_tensor x = tensor(ODET_FLOAT, 4, dims);
    const odet_tensor *in[1] = {&x};
    r = run_node(t, in, 1, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(r.err, "kernel_shape"));
    free(t);

    t = node_new("MaxPool", 12, 1, 1);
    attr_ints(t, "kernel_shape", k4, 4);
    r = run_node(t, in, 1, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    free(t);

    t = node_new("AveragePool", 11, 1, 1); /* kernel larger than the input */
    attr_ints(t, "kernel_shape", k6, 2);
    r = run_node(t, in, 1, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);

    t = node_new("MaxPool", 12, 1, 1);
    attr_ints(t, "kernel_shape", k2, 2);
    attr_string(t, "auto_pad", "SAME");
    r = run_node(t, in, 1, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    free(t);

    t = node_new("MaxPool", 12, 1, 1); /* rank does not match kernel_shape */
    attr_ints(t, "kernel_shape", k2, 1);
    r = run_node(t, in, 1, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(r.err, "rank"));
    free(t);
    free(x.data);

    odet_tensor xi = tensor(ODET_INT32, 4, dims); /* int32 is not a pool type */
    const odet_tensor *ini[1] = {&xi};
    t = node_new("MaxPool", 12, 1, 1);
    attr_ints(t, "kernel_shape", k2, 2);
    r = run_node(t, ini, 1, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(r.err, "int32"));
    free(t);
    free(xi.data);

    odet_tensor xu = tensor(ODET_UINT8, 4, dims); /* AveragePool has no integer form */
    const odet_tensor *inu[1] = {&xu};
    t = node_new("AveragePool", 11, 1, 1);
    attr_ints(t, "kernel_shape", k2, 2);
    r = run_node(t, inu, 1, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    free(t);
    free(xu.data);
}
END_TEST

/* ------------------------------------------------------------------ normalization tests */

/* Badly centred data: a one-pass E[x^2] - E[x]^2 in float would lose all digits. */
START_TEST(layernorm_precision_offset)
{
    int64_t dims[2] = {4, 1024}, sd[1] = {1024};
    unsigned seed = 29;
    odet_tensor x = tensor(ODET_FLOAT, 2, dims), sc = tensor(ODET_FLOAT, 1, sd);
    odet_tensor b = tensor(ODET_FLOAT, 1, sd);
    fill_random(&x, &seed, 0.01f, 10000.0f);
    fill_random(&sc, &seed, 1.0f, 0.0f);
    fill_random(&b, &seed, 1.0f, 0.0f);
    odet_tensor y, mean, inv;
    memset(&y, 0, sizeof y);
    memset(&mean, 0, sizeof mean);
    memset(&inv, 0, sizeof inv);
    const odet_tensor *in[3] = {&x, &sc, &b};
    odet_tensor *out[3] = {&y, &mean, &inv};
    test_node *t = node_new("LayerNormalization", 17, 3, 3);
    run_result r = run_node(t, in, 3, out, 3, 2);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(mean.rank, 2);
    ck_assert_int_eq(mean.dims[1], 1);
    const float *xf = x.data, *yf = y.data, *s = sc.data, *bf = b.data;
    for (int row = 0; row < 4; row++) {
        double m = 0, v = 0;
        for (int i = 0; i < 1024; i++)
            m += xf[row * 1024 + i];
        m /= 1024;
        for (int i = 0; i < 1024; i++)
            v += (xf[row * 1024 + i] - m) * (xf[row * 1024 + i] - m);
        v /= 1024;
        double iv = 1.0 / sqrt(v + 1e-5);
        ck_assert(close_enough(((float *)mean.data)[row], m, 1e-7));
        ck_assert(close_enough(((float *)inv.data)[row], iv, 1e-4));
        for (int i = 0; i < 1024; i++) {
            double want = (xf[row * 1024 + i] - m) * iv * s[i] + bf[i];
            /* Rounding the mean to float alone would shift every x - mean by up to
             * 5e-4 (half an ulp at 1e4), i.e. ~0.1 after scaling by inv ~ 170. */
            ck_assert_msg(close_enough(yf[row * 1024 + i], want, 1e-5),
                          "row %d i %d: %g want %g", row, i, yf[row * 1024 + i], want);
        }
    }
    free(t);
    free(x.data);
    free(sc.data);
    free(b.data);
    free(y.data);
    free(mean.data);
    free(inv.data);
}
END_TEST

/* Per-group scale/bias (opset 18) equals the same values repeated per channel. */
START_TEST(groupnorm_scale_forms)
{
    int64_t dims[4] = {2, 6, 5, 7}, gd[1] = {3}, cd[1] = {6};
    unsigned seed = 31;
    odet_tensor x = tensor(ODET_FLOAT, 4, dims);
    odet_tensor sg = tensor(ODET_FLOAT, 1, gd), bg = tensor(ODET_FLOAT, 1, gd);
    odet_tensor sc = tensor(ODET_FLOAT, 1, cd), bc = tensor(ODET_FLOAT, 1, cd);
    fill_random(&x, &seed, 2.0f, 3.0f);
    fill_random(&sg, &seed, 1.0f, 0.0f);
    fill_random(&bg, &seed, 1.0f, 0.0f);
    for (int c = 0; c < 6; c++) {
        ((float *)sc.data)[c] = ((float *)sg.data)[c / 2];
        ((float *)bc.data)[c] = ((float *)bg.data)[c / 2];
    }
    odet_tensor y1, y2;
    memset(&y1, 0, sizeof y1);
    memset(&y2, 0, sizeof y2);
    const odet_tensor *in1[3] = {&x, &sg, &bg}, *in2[3] = {&x, &sc, &bc};
    odet_tensor *o1[1] = {&y1}, *o2[1] = {&y2};
    test_node *t = node_new("GroupNormalization", 18, 3, 1);
    attr_int(t, "num_groups", 3);
    run_result r = run_node(t, in1, 3, o1, 1, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    free(t);
    t = node_new("GroupNormalization", 21, 3, 1);
    attr_int(t, "num_groups", 3);
    r = run_node(t, in2, 3, o2, 1, 3);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(memcmp(y1.data, y2.data, odet_tensor_bytes(&y1)), 0);
    free(t);

    /* opset 21 requires per-channel scale */
    free(y2.data);
    memset(&y2, 0, sizeof y2);
    t = node_new("GroupNormalization", 21, 3, 1);
    attr_int(t, "num_groups", 3);
    r = run_node(t, in1, 3, o2, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);

    /* C must be divisible by num_groups */
    t = node_new("GroupNormalization", 18, 3, 1);
    attr_int(t, "num_groups", 4);
    r = run_node(t, in2, 3, o2, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(r.err, "num_groups"));
    free(t);

    /* num_groups is required */
    t = node_new("GroupNormalization", 18, 3, 1);
    r = run_node(t, in2, 3, o2, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    free(t);

    free(x.data);
    free(sg.data);
    free(bg.data);
    free(sc.data);
    free(bc.data);
    free(y1.data);
}
END_TEST

START_TEST(batchnorm_modes)
{
    int64_t dims[4] = {2, 3, 4, 4}, cd[1] = {3};
    unsigned seed = 37;
    odet_tensor x = tensor(ODET_FLOAT, 4, dims), p[4];
    fill_random(&x, &seed, 1.0f, 0.0f);
    for (int i = 0; i < 4; i++) {
        p[i] = tensor(ODET_FLOAT, 1, cd);
        fill_random(&p[i], &seed, 0.4f, i == 3 ? 1.0f : 0.0f);
    }
    const odet_tensor *in[5] = {&x, &p[0], &p[1], &p[2], &p[3]};
    odet_tensor y, rm, rv;
    memset(&y, 0, sizeof y);
    memset(&rm, 0, sizeof rm);
    memset(&rv, 0, sizeof rv);
    odet_tensor *out[3] = {&y, &rm, &rv};

    test_node *t = node_new("BatchNormalization", 15, 5, 3);
    attr_int(t, "training_mode", 1);
    run_result r = run_node(t, in, 5, out, 3, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(r.err, "training"));
    free(t);

    t = node_new("BatchNormalization", 9, 5, 5); /* opset 9 with 5 outputs = training */
    r = run_node(t, in, 5, out, 3, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    free(t);

    /* Inference with running_mean/var present: they pass the inputs through. */
    t = node_new("BatchNormalization", 15, 5, 3);
    attr_float(t, "epsilon", 1e-3f);
    r = run_node(t, in, 5, out, 3, 2);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(memcmp(rm.data, p[2].data, 12), 0);
    ck_assert_int_eq(memcmp(rv.data, p[3].data, 12), 0);
    const float *xf = x.data, *yf = y.data;
    for (int i = 0; i < 96; i++) {
        int c = (i / 16) % 3;
        double want = (xf[i] - ((float *)p[2].data)[c]) /
                          sqrt(((float *)p[3].data)[c] + (double)1e-3f) *
                          ((float *)p[0].data)[c] +
                      ((float *)p[1].data)[c];
        ck_assert(close_enough(yf[i], want, 1e-6));
    }
    free(t);
    free(y.data);
    free(rm.data);
    free(rv.data);

    /* scale of the wrong size */
    int64_t bad[1] = {4};
    odet_tensor sb = tensor(ODET_FLOAT, 1, bad);
    const odet_tensor *inb[5] = {&x, &sb, &p[1], &p[2], &p[3]};
    memset(&y, 0, sizeof y);
    t = node_new("BatchNormalization", 15, 5, 1);
    r = run_node(t, inb, 5, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(r.err, "scale"));
    free(t);
    free(sb.data);

    free(x.data);
    for (int i = 0; i < 4; i++)
        free(p[i].data);
}
END_TEST

/* Normalizations must give the same bits for any thread count. */
START_TEST(norm_thread_independent)
{
    int64_t dims[4] = {2, 32, 24, 24}, cd[1] = {32};
    unsigned seed = 41;
    odet_tensor x = tensor(ODET_FLOAT, 4, dims), s = tensor(ODET_FLOAT, 1, cd);
    odet_tensor b = tensor(ODET_FLOAT, 1, cd);
    fill_random(&x, &seed, 1.0f, 0.2f);
    fill_random(&s, &seed, 1.0f, 0.0f);
    fill_random(&b, &seed, 1.0f, 0.0f);
    const odet_tensor *in[3] = {&x, &s, &b};
    static const char *ops[] = {"InstanceNormalization", "GroupNormalization"};
    for (int op = 0; op < 2; op++) {
        odet_tensor y1, y4;
        memset(&y1, 0, sizeof y1);
        memset(&y4, 0, sizeof y4);
        odet_tensor *o1[1] = {&y1}, *o4[1] = {&y4};
        test_node *t = node_new(ops[op], 18, 3, 1);
        attr_int(t, "num_groups", 8);
        run_result r = run_node(t, in, 3, o1, 1, 1);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        r = run_node(t, in, 3, o4, 1, 4);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        ck_assert_int_eq(memcmp(y1.data, y4.data, odet_tensor_bytes(&y1)), 0);
        free(t);
        free(y1.data);
        free(y4.data);
    }
    free(x.data);
    free(s.data);
    free(b.data);
}
END_TEST

START_TEST(norm_zero_sized_and_errors)
{
    int64_t dims[3] = {0, 4, 5}, cd[1] = {4}, d5[1] = {5};
    odet_tensor x = tensor(ODET_FLOAT, 3, dims), s = tensor(ODET_FLOAT, 1, cd);
    odet_tensor b = tensor(ODET_FLOAT, 1, cd), s5 = tensor(ODET_FLOAT, 1, d5);
    odet_tensor y, m;
    memset(&y, 0, sizeof y);
    memset(&m, 0, sizeof m);
    odet_tensor *out[3] = {&y, &m, NULL};
    const odet_tensor *in[5] = {&x, &s, &b, &s, &s};
    run_result r;

    test_node *t = node_new("BatchNormalization", 15, 5, 1);
    r = run_node(t, in, 5, out, 1, 2);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    free(t);
    free(y.data);

    t = node_new("InstanceNormalization", 6, 3, 1);
    r = run_node(t, in, 3, out, 1, 2);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    free(t);
    free(y.data);

    const odet_tensor *lin[2] = {&x, &s5}; /* no B, Mean requested, InvStdDev absent */
    t = node_new("LayerNormalization", 17, 2, 3);
    r = run_node(t, lin, 2, out, 3, 2);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(m.dims[0], 0);
    ck_assert_int_eq(m.dims[2], 1);
    free(t);
    free(y.data);
    free(m.data);

    t = node_new("LayerNormalization", 17, 2, 1);
    attr_int(t, "axis", 3);
    r = run_node(t, lin, 2, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(r.err, "axis"));
    free(t);

    const odet_tensor *lbad[2] = {&x, &s}; /* Scale [4] vs normalized dims [5] */
    t = node_new("LayerNormalization", 17, 2, 1);
    r = run_node(t, lbad, 2, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);

    odet_tensor xi = tensor(ODET_INT32, 3, dims);
    const odet_tensor *iin[3] = {&xi, &s, &b};
    t = node_new("InstanceNormalization", 6, 3, 1);
    r = run_node(t, iin, 3, out, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(r.err, "int32"));
    free(t);
    free(xi.data);

    free(x.data);
    free(s.data);
    free(b.data);
    free(s5.data);
}
END_TEST

START_TEST(lpnorm_zero_line)
{
    int64_t dims[2] = {2, 3};
    odet_tensor x = tensor(ODET_FLOAT, 2, dims);
    float *xf = x.data;
    xf[0] = 3;
    xf[1] = -4;
    xf[2] = 0; /* row 1 stays all zero */
    odet_tensor y;
    memset(&y, 0, sizeof y);
    const odet_tensor *in[1] = {&x};
    odet_tensor *out[1] = {&y};
    test_node *t = node_new("LpNormalization", 1, 1, 1);
    run_result r = run_node(t, in, 1, out, 1, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    const float *yf = y.data;
    ck_assert(close_enough(yf[0], 0.6, 1e-7) && close_enough(yf[1], -0.8, 1e-7));
    for (int i = 3; i < 6; i++)
        ck_assert(yf[i] == 0.0f);
    free(t);
    free(x.data);
    free(y.data);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ops_norm_pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, maxpool_random_vs_naive);
    tcase_add_test(tc, maxpool_stride1_random_vs_naive);
    tcase_add_test(tc, averagepool_random_vs_naive);
    tcase_add_test(tc, lppool_random_vs_naive);
    tcase_add_test(tc, pool_wide_rows);
    tcase_add_test(tc, maxpool_spp_threads);
    tcase_add_test(tc, pool_global);
    tcase_add_test(tc, pool_zero_sized);
    tcase_add_test(tc, pool_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("norm");
    tcase_add_test(tc, layernorm_precision_offset);
    tcase_add_test(tc, groupnorm_scale_forms);
    tcase_add_test(tc, batchnorm_modes);
    tcase_add_test(tc, norm_thread_independent);
    tcase_add_test(tc, norm_zero_sized_and_errors);
    tcase_add_test(tc, lpnorm_zero_line);
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
