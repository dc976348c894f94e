/* Unit tests of the shape / data-movement / generator operators, called
 * directly through their op definitions (prepare -> infer -> run).
 *
 * The copy operators (Transpose, Slice, Expand, Tile, Pad, Concat, Split) are
 * checked byte-for-byte against naive per-element references over random
 * shapes, every element size and 1 or several threads, which reaches the
 * collapsed, tiled and parallel paths the small ONNX node tests do not.
 * Cast is checked for float16 rounding (both directions, ties, subnormals,
 * overflow, double rounding) and for saturating float -> int conversions. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ops/op.h"

#include "op_harness.h"

/* ------------------------------------------------------------------ fixtures */

static void fill_bytes(odet_tensor *x, unsigned *seed)
{
    size_t n = odet_tensor_bytes(x);
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)x->data)[i] = (unsigned char)lcg(seed);
}

/* Runs a one-output node; returns the output (data == NULL on failure). */
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

static const odet_dtype elem_types[] = {ODET_BOOL, ODET_FLOAT16, ODET_FLOAT, ODET_INT64};

/* Coordinates of linear index i in dims. */
static void unravel(int64_t i, int rank, const int64_t *dims, int64_t *c)
{
    for (int k = rank - 1; k >= 0; k--) {
        c[k] = i % dims[k];
        i /= dims[k];
    }
}

static int64_t ravel(int rank, const int64_t *dims, const int64_t *c)
{
    int64_t i = 0;
    for (int k = 0; k < rank; k++)
        i = i * dims[k] + c[k];
    return i;
}

static void random_dims(unsigned *seed, int rank, int64_t maxd, int64_t *dims)
{
    for (int k = 0; k < rank; k++)
        dims[k] = 1 + (int64_t)(lcg(seed) % (unsigned)maxd);
}

/* ------------------------------------------------------------------ Transpose */

START_TEST(transpose_random_vs_naive)
{
    unsigned seed = 1;
    for (int it = 0; it < 120; it++) {
        int rank = 1 + (int)(lcg(&seed) % 6);
        int64_t dims[8];
        random_dims(&seed, rank, rank <= 2 ? 300 : rank == 3 ? 40 : 9, dims);
        if (it % 7 == 0)
            dims[lcg(&seed) % (unsigned)rank] = 1;
        int64_t perm[8];
        for (int k = 0; k < rank; k++)
            perm[k] = k;
        for (int k = rank - 1; k > 0; k--) {
            int j = (int)(lcg(&seed) % (unsigned)(k + 1));
            int64_t tmp = perm[k];
            perm[k] = perm[j];
            perm[j] = tmp;
        }
        odet_dtype dt = elem_types[it % 4];
        odet_tensor x = tensor(dt, rank, dims);
        fill_bytes(&x, &seed);
        test_node *t = node_new("Transpose", 13, 1, 1);
        attr_ints(t, "perm", perm, (size_t)rank);
        const odet_tensor *in[1] = {&x};
        odet_tensor y = run1(t, in, 1, 1 + it % 3, NULL);
        size_t es = odet_dtype_size(dt);
        int64_t n = odet_tensor_numel(&x), c[8], ic[8];
        for (int k = 0; k < rank; k++)
            ck_assert_int_eq(y.dims[k], dims[perm[k]]);
        for (int64_t i = 0; i < n; i++) {
            unravel(i, rank, y.dims, c);
            for (int k = 0; k < rank; k++)
                ic[perm[k]] = c[k];
            int64_t j = ravel(rank, dims, ic);
            ck_assert_msg(memcmp((char *)y.data + i * (int64_t)es, (char *)x.data + j * (int64_t)es,
                                 es) == 0,
                          "iteration %d element %lld", it, (long long)i);
        }
        free(x.data);
        free(y.data);
        free(t);
    }
}
END_TEST

START_TEST(transpose_default_and_errors)
{
    int64_t dims[3] = {2, 3, 4};
    odet_tensor x = tensor(ODET_FLOAT, 3, dims);
    for (int i = 0; i < 24; i++)
        ((float *)x.data)[i] = (float)i;
    const odet_tensor *in[1] = {&x};
    test_node *t = node_new("Transpose", 13, 1, 1);
    odet_tensor y = run1(t, in, 1, 1, NULL);
    ck_assert_int_eq(y.dims[0], 4);
    ck_assert_int_eq(y.dims[2], 2);
    /* y[3][2][1] = x[1][2][3] */
    ck_assert(((float *)y.data)[3 * 6 + 2 * 2 + 1] == 23.0f);
    free(y.data);
    free(t);

    int64_t bad[3] = {0, 0, 1};
    t = node_new("Transpose", 13, 1, 1);
    attr_ints(t, "perm", bad, 3);
    run_result r;
    run1(t, in, 1, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    free(t);
    int64_t short_perm[2] = {1, 0};
    t = node_new("Transpose", 13, 1, 1);
    attr_ints(t, "perm", short_perm, 2);
    run1(t, in, 1, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);
    free(x.data);
}
END_TEST

/* ------------------------------------------------------------------ Slice */

/* The spec's clamping, written independently of the op. */
static void naive_slice_axis(int64_t d, int64_t s, int64_t e, int64_t step, int64_t *start,
                             int64_t *len)
{
    if (s < 0)
        s += d;
    if (e < 0)
        e += d;
    if (step > 0) {
        s = s < 0 ? 0 : s > d ? d : s;
        e = e < 0 ? 0 : e > d ? d : e;
    } else {
        s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
        e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
    }
    int64_t n = 0;
    for (int64_t i = s; step > 0 ? i < e : i > e; i += step)
        n++;
    *start = s;
    *len = d == 0 ? 0 : n;
}

START_TEST(slice_random_vs_naive)
{
    unsigned seed = 7;
    static const int64_t specials[] = {INT64_MIN, INT64_MAX, -1000, 1000};
    for (int it = 0; it < 150; it++) {
        int rank = 1 + (int)(lcg(&seed) % 4);
        int64_t dims[8];
        random_dims(&seed, rank, rank == 1 ? 5000 : 30, dims);
        odet_dtype dt = elem_types[it % 4];
        odet_tensor x = tensor(dt, rank, dims);
        fill_bytes(&x, &seed);
        int64_t starts[8], ends[8], axes[8], steps[8];
        int n = 0;
        for (int k = 0; k < rank; k++) {
            if (lcg(&seed) % 4 == 0)
                continue;
            int64_t d = dims[k];
            axes[n] = lcg(&seed) % 2 ? k : k - rank;
            starts[n] = (int64_t)(lcg(&seed) % (unsigned)(2 * d + 3)) - d - 1;
            ends[n] = (int64_t)(lcg(&seed) % (unsigned)(2 * d + 3)) - d - 1;
            if (lcg(&seed) % 5 == 0)
                starts[n] = specials[lcg(&seed) % 4];
            if (lcg(&seed) % 5 == 0)
                ends[n] = specials[lcg(&seed) % 4];
            steps[n] = (int64_t)(lcg(&seed) % 7) - 3;
            if (steps[n] == 0)
                steps[n] = 1;
            n++;
        }
        odet_tensor ts = ints_tensor(starts, n), te = ints_tensor(ends, n);
        odet_tensor ta = ints_tensor(axes, n), tst = ints_tensor(steps, n);
        const odet_tensor *in[5] = {&x, &ts, &te, &ta, &tst};
        test_node *t = node_new("Slice", 13, 5, 1);
        odet_tensor y = run1(t, in, 5, 1 + it % 3, NULL);
        int64_t st[8], len[8], stp[8];
        for (int k = 0; k < rank; k++) {
            st[k] = 0;
            len[k] = dims[k];
            stp[k] = 1;
        }
        for (int i = 0; i < n; i++) {
            int a = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
            naive_slice_axis(dims[a], starts[i], ends[i], steps[i], &st[a], &len[a]);
            stp[a] = steps[i];
        }
        size_t es = odet_dtype_size(dt);
        for (int k = 0; k < rank; k++)
            ck_assert_int_eq(y.dims[k], len[k]);
        int64_t m = odet_tensor_numel(&y), c[8];
        for (int64_t i = 0; i < m; i++) {
            unravel(i, rank, y.dims, c);
            for (int k = 0; k < rank; k++)
                c[k] = st[k] + c[k] * stp[k];
            int64_t j = ravel(rank, dims, c);
            ck_assert_msg(memcmp((char *)y.data + i * (int64_t)es, (char *)x.data + j * (int64_t)es,
                                 es) == 0,
                          "iteration %d element %lld", it, (long long)i);
        }
        free(x.data);
        free(y.data);
        free(ts.data);
        free(te.data);
        free(ta.data);
        free(tst.data);
        free(t);
    }
}
END_TEST

START_TEST(slice_opset1_attributes_and_errors)
{
    int64_t dims[2] = {4, 5};
    odet_tensor x = tensor(ODET_INT32, 2, dims);
    for (int i = 0; i < 20; i++)
        ((int32_t *)x.data)[i] = i;
    const odet_tensor *in[1] = {&x};
    test_node *t = node_new("Slice", 1, 1, 1);
    int64_t s[1] = {1}, e[1] = {-1}, a[1] = {1};
    attr_ints(t, "starts", s, 1);
    attr_ints(t, "ends", e, 1);
    attr_ints(t, "axes", a, 1);
    odet_tensor y = run1(t, in, 1, 1, NULL);
    ck_assert_int_eq(y.dims[0], 4);
    ck_assert_int_eq(y.dims[1], 3);
    ck_assert_int_eq(((int32_t *)y.data)[0], 1);
    ck_assert_int_eq(((int32_t *)y.data)[11], 18);
    free(y.data);
    free(t);

    /* step 0 and repeated axes are errors */
    int64_t z[1] = {0}, two[2] = {0, 0}, e2[2] = {1, 1};
    odet_tensor ts = ints_tensor(s, 1), te = ints_tensor(e, 1), tst = ints_tensor(z, 1);
    odet_tensor ta = ints_tensor(a, 1);
    const odet_tensor *in5[5] = {&x, &ts, &te, &ta, &tst};
    run_result r;
    t = node_new("Slice", 13, 5, 1);
    run1(t, in5, 5, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    free(t);
    odet_tensor ts2 = ints_tensor(two, 2), te2 = ints_tensor(e2, 2), ta2 = ints_tensor(two, 2);
    const odet_tensor *in4[4] = {&x, &ts2, &te2, &ta2};
    t = node_new("Slice", 13, 4, 1);
    run1(t, in4, 4, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    free(t);
    free(x.data);
    free(ts.data);
    free(te.data);
    free(tst.data);
    free(ta.data);
    free(ts2.data);
    free(te2.data);
    free(ta2.data);
}
END_TEST

/* ------------------------------------------------------------------ Expand / Tile */

START_TEST(expand_tile_random_vs_naive)
{
    unsigned seed = 11;
    for (int it = 0; it < 100; it++) {
        int rank = 1 + (int)(lcg(&seed) % 4);
        int64_t dims[8], shape[8], rep[8];
        random_dims(&seed, rank, 12, dims);
        for (int k = 0; k < rank; k++) {
            if (lcg(&seed) % 2)
                dims[k] = 1;
        }
        int extra = (int)(lcg(&seed) % 3);
        int orank = rank + extra;
        for (int k = 0; k < orank; k++)
            shape[k] = 1 + (int64_t)(lcg(&seed) % 9);
        for (int k = 0; k < rank; k++) {
            /* keep broadcast-compatible: shape is 1, equal, or dims is 1 */
            if (dims[k] != 1 && lcg(&seed) % 2)
                shape[extra + k] = 1;
            else if (dims[k] != 1)
                shape[extra + k] = dims[k];
            rep[k] = (int64_t)(lcg(&seed) % 4);
        }
        if (it % 10 == 0)
            rep[0] = 40;
        odet_dtype dt = elem_types[it % 4];
        size_t es = odet_dtype_size(dt);
        odet_tensor x = tensor(dt, rank, dims);
        fill_bytes(&x, &seed);
        int threads = 1 + it % 3;

        odet_tensor ts = ints_tensor(shape, orank);
        const odet_tensor *in[2] = {&x, &ts};
        test_node *t = node_new("Expand", 13, 2, 1);
        odet_tensor y = run1(t, in, 2, threads, NULL);
        ck_assert_int_eq(y.rank, orank);
        int64_t n = odet_tensor_numel(&y), c[8], ic[8];
        for (int64_t i = 0; i < n; i++) {
            unravel(i, orank, y.dims, c);
            for (int k = 0; k < rank; k++)
                ic[k] = dims[k] == 1 ? 0 : c[extra + k];
            int64_t j = ravel(rank, dims, ic);
            ck_assert(memcmp((char *)y.data + i * (int64_t)es, (char *)x.data + j * (int64_t)es,
                             es) == 0);
        }
        free(y.data);
        free(t);
        free(ts.data);

        odet_tensor tr = ints_tensor(rep, rank);
        const odet_tensor *in2[2] = {&x, &tr};
        t = node_new("Tile", 13, 2, 1);
        y = run1(t, in2, 2, threads, NULL);
        n = odet_tensor_numel(&y);
        for (int k = 0; k < rank; k++)
            ck_assert_int_eq(y.dims[k], dims[k] * rep[k]);
        for (int64_t i = 0; i < n; i++) {
            unravel(i, rank, y.dims, c);
            for (int k = 0; k < rank; k++)
                ic[k] = c[k] % dims[k];
            int64_t j = ravel(rank, dims, ic);
            ck_assert(memcmp((char *)y.data + i * (int64_t)es, (char *)x.data + j * (int64_t)es,
                             es) == 0);
        }
        free(y.data);
        free(t);
        free(tr.data);
        free(x.data);
    }
}
END_TEST

/* ------------------------------------------------------------------ Pad */

/* numpy's pad modes by repeated reflection / wrapping, not by a closed form. */
static int64_t naive_pad_src(int64_t c, int64_t d, const char *mode)
{
    if (c >= 0 && c < d)
        return c;
    if (!strcmp(mode, "constant"))
        return -1;
    if (!strcmp(mode, "edge"))
        return c < 0 ? 0 : d - 1;
    if (!strcmp(mode, "wrap")) {
        while (c < 0)
            c += d;
        while (c >= d)
            c -= d;
        return c;
    }
    if (d == 1)
        return 0;
    while (c < 0 || c >= d) {
        if (c < 0)
            c = -c;
        if (c >= d)
            c = 2 * (d - 1) - c;
    }
    return c;
}

START_TEST(pad_random_vs_naive)
{
    unsigned seed = 5;
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    for (int it = 0; it < 160; it++) {
        const char *mode = modes[it % 4];
        int rank = 1 + (int)(lcg(&seed) % 4);
        int64_t dims[8], pads[16], odims[8];
        random_dims(&seed, rank, rank == 1 ? 3000 : 14, dims);
        for (int k = 0; k < rank; k++) {
            for (int side = 0; side < 2; side++) {
                int64_t p = (int64_t)(lcg(&seed) % 7);
                if (lcg(&seed) % 4 == 0)
                    p = -(int64_t)(lcg(&seed) % (unsigned)((dims[k] + 1) / 2 + 1));
                if (lcg(&seed) % 8 == 0)
                    p = 3 * dims[k] + 1; /* wider than the axis */
                pads[side * rank + k] = p;
            }
            int64_t len = dims[k] - (pads[k] < 0 ? -pads[k] : 0) -
                          (pads[rank + k] < 0 ? -pads[rank + k] : 0);
            if (len < 0 || (len == 0 && strcmp(mode, "constant") != 0))
                pads[k] = pads[rank + k] = 0;
            odims[k] = dims[k] + pads[k] + pads[rank + k];
        }
        odet_dtype dt = elem_types[(it / 4) % 4];
        size_t es = odet_dtype_size(dt);
        odet_tensor x = tensor(dt, rank, dims);
        fill_bytes(&x, &seed);
        odet_tensor tp = ints_tensor(pads, 2 * rank);
        unsigned char v[8];
        for (size_t i = 0; i < es; i++)
            v[i] = (unsigned char)(0xa0 + i);
        odet_tensor tv = scalar_tensor(dt, v);
        const odet_tensor *in[3] = {&x, &tp, &tv};
        test_node *t = node_new("Pad", 13, 3, 1);
        attr_string(t, "mode", mode);
        odet_tensor y = run1(t, in, 3, 1 + it % 3, NULL);
        for (int k = 0; k < rank; k++)
            ck_assert_int_eq(y.dims[k], odims[k]);
        int64_t n = odet_tensor_numel(&y), c[8];
        for (int64_t i = 0; i < n; i++) {
            unravel(i, rank, odims, c);
            int outside = 0;
            for (int k = 0; k < rank; k++) {
                /* negative pads crop first; the rest pads the cropped axis */
                int64_t pb = pads[k], pe = pads[rank + k];
                int64_t start = pb < 0 ? -pb : 0, len = dims[k] - start - (pe < 0 ? -pe : 0);
                c[k] = naive_pad_src(c[k] - (pb > 0 ? pb : 0), len, mode);
                outside |= c[k] < 0;
                c[k] += start;
            }
            const void *want = outside ? (const void *)v
                                       : (char *)x.data + ravel(rank, dims, c) * (int64_t)es;
            ck_assert_msg(memcmp((char *)y.data + i * (int64_t)es, want, es) == 0,
                          "iteration %d (%s) element %lld", it, mode, (long long)i);
        }
        free(x.data);
        free(y.data);
        free(tp.data);
        free(tv.data);
        free(t);
    }
}
END_TEST

START_TEST(pad_opset2_value_and_errors)
{
    int64_t d = 3;
    odet_tensor x = tensor(ODET_INT32, 1, &d);
    for (int i = 0; i < 3; i++)
        ((int32_t *)x.data)[i] = i + 1;
    const odet_tensor *in[1] = {&x};
    test_node *t = node_new("Pad", 2, 1, 1);
    int64_t pads[2] = {2, 1};
    attr_ints(t, "pads", pads, 2);
    odet_attr *a = attr_add(t, "value", ODET_ATTR_FLOAT);
    a->f = -7.9f;
    odet_tensor y = run1(t, in, 1, 1, NULL);
    static const int32_t want[6] = {-7, -7, 1, 2, 3, -7};
    ck_assert_int_eq(y.dims[0], 6);
    ck_assert(memcmp(y.data, want, sizeof want) == 0);
    free(y.data);
    free(t);

    run_result r;
    t = node_new("Pad", 2, 1, 1);
    attr_ints(t, "pads", pads, 2);
    attr_string(t, "mode", "symmetric");
    run1(t, in, 1, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    free(t);

    /* edge padding of an empty axis has no source */
    int64_t zero = 0;
    odet_tensor e = tensor(ODET_FLOAT, 1, &zero);
    odet_tensor tp = ints_tensor(pads, 2);
    const odet_tensor *in2[2] = {&e, &tp};
    t = node_new("Pad", 13, 2, 1);
    attr_string(t, "mode", "edge");
    run1(t, in2, 2, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);
    free(e.data);
    free(tp.data);
    free(x.data);
}
END_TEST

/* ------------------------------------------------------------------ Concat / Split */

START_TEST(concat_split_roundtrip)
{
    unsigned seed = 3;
    for (int it = 0; it < 60; it++) {
        int rank = 1 + (int)(lcg(&seed) % 4);
        int64_t dims[8];
        random_dims(&seed, rank, rank == 1 ? 100000 : 24, dims);
        int axis = (int)(lcg(&seed) % (unsigned)rank);
        int n = 1 + (int)(lcg(&seed) % 5);
        odet_dtype dt = elem_types[it % 4];
        size_t es = odet_dtype_size(dt);
        odet_tensor parts[5];
        const odet_tensor *in[5];
        int64_t sizes[5], total = 0;
        for (int i = 0; i < n; i++) {
            int64_t d[8];
            memcpy(d, dims, sizeof d);
            d[axis] = (int64_t)(lcg(&seed) % 6); /* zero-sized parts too */
            sizes[i] = d[axis];
            total += d[axis];
            parts[i] = tensor(dt, rank, d);
            fill_bytes(&parts[i], &seed);
            in[i] = &parts[i];
        }
        int threads = 1 + it % 4;
        test_node *t = node_new("Concat", 13, n, 1);
        attr_int(t, "axis", axis - (it % 2 ? rank : 0));
        odet_tensor y = run1(t, in, n, threads, NULL);
        ck_assert_int_eq(y.dims[axis], total);
        /* naive check of the concatenation */
        int64_t m = odet_tensor_numel(&y), c[8];
        for (int64_t i = 0; i < m; i++) {
            unravel(i, rank, y.dims, c);
            int p = 0;
            while (c[axis] >= sizes[p]) {
                c[axis] -= sizes[p];
                p++;
            }
            int64_t j = ravel(rank, parts[p].dims, c);
            ck_assert(memcmp((char *)y.data + i * (int64_t)es,
                             (char *)parts[p].data + j * (int64_t)es, es) == 0);
        }
        free(t);

        /* split it back with the sizes as input (opset 13) */
        odet_tensor tsz = ints_tensor(sizes, n);
        const odet_tensor *sin[2] = {&y, &tsz};
        odet_tensor outs[5];
        odet_tensor *outp[5];
        for (int i = 0; i < n; i++) {
            memset(&outs[i], 0, sizeof outs[i]);
            outp[i] = &outs[i];
        }
        if (n > 2)
            outp[1] = NULL; /* absent output */
        t = node_new("Split", 13, 2, n);
        attr_int(t, "axis", axis);
        run_result r = run_node(t, sin, 2, outp, n, threads);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        for (int i = 0; i < n; i++) {
            if (!outp[i])
                continue;
            ck_assert_int_eq(outs[i].dims[axis], sizes[i]);
            ck_assert(memcmp(outs[i].data, parts[i].data, odet_tensor_bytes(&parts[i])) == 0);
            free(outs[i].data);
        }
        free(t);
        free(tsz.data);
        free(y.data);
        for (int i = 0; i < n; i++)
            free(parts[i].data);
    }
}
END_TEST

START_TEST(split_forms)
{
    int64_t d = 7;
    odet_tensor x = tensor(ODET_INT64, 1, &d);
    for (int i = 0; i < 7; i++)
        ((int64_t *)x.data)[i] = i;
    const odet_tensor *in[1] = {&x};
    odet_tensor o[3];
    odet_tensor *op[3] = {&o[0], &o[1], &o[2]};
    memset(o, 0, sizeof o);

    /* opset 18 num_outputs: ceil parts, the last smaller: 3, 3, 1 */
    test_node *t = node_new("Split", 18, 1, 3);
    attr_int(t, "num_outputs", 3);
    run_result r = run_node(t, in, 1, op, 3, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(o[0].dims[0], 3);
    ck_assert_int_eq(o[2].dims[0], 1);
    ck_assert_int_eq(((int64_t *)o[2].data)[0], 6);
    for (int i = 0; i < 3; i++)
        free(o[i].data);
    free(t);

    /* opset 11 `split` attribute */
    memset(o, 0, sizeof o);
    t = node_new("Split", 11, 1, 3);
    int64_t sp[3] = {2, 0, 5};
    attr_ints(t, "split", sp, 3);
    r = run_node(t, in, 1, op, 3, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(o[1].dims[0], 0);
    ck_assert_int_eq(((int64_t *)o[2].data)[0], 2);
    for (int i = 0; i < 3; i++)
        free(o[i].data);
    free(t);

    /* equal split that does not divide */
    memset(o, 0, sizeof o);
    t = node_new("Split", 13, 1, 3);
    r = run_node(t, in, 1, op, 3, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);
    free(x.data);
}
END_TEST

/* ------------------------------------------------------------------ views */

static run_result infer_shape(test_node *t, const odet_tensor *const *in, int n_in,
                              odet_tensor *y)
{
    memset(y, 0, sizeof *y);
    odet_tensor *outs[1] = {y};
    run_result r = run_node(t, in, n_in, outs, 1, 1);
    free(y->data);
    y->data = NULL;
    return r;
}

START_TEST(reshape_rules)
{
    int64_t dims[3] = {2, 0, 3};
    odet_tensor x = tensor(ODET_FLOAT, 3, dims);
    odet_tensor y;
    run_result r;
    /* 0 copies the input dim; with allowzero it is a real 0 */
    int64_t s1[3] = {0, 0, -1};
    odet_tensor ts = ints_tensor(s1, 3);
    const odet_tensor *in[2] = {&x, &ts};
    test_node *t = node_new("Reshape", 14, 2, 1);
    r = infer_shape(t, in, 2, &y);
    /* -1 with a zero-sized known part is ambiguous */
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);
    free(ts.data);

    int64_t s2[3] = {3, 0, 2};
    ts = ints_tensor(s2, 3);
    in[1] = &ts;
    t = node_new("Reshape", 14, 2, 1);
    attr_int(t, "allowzero", 1);
    r = infer_shape(t, in, 2, &y);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y.dims[0], 3);
    ck_assert_int_eq(y.dims[1], 0);
    free(t);
    free(ts.data);
    free(x.data);

    int64_t d2[2] = {4, 6};
    x = tensor(ODET_UINT8, 2, d2);
    int64_t s3[3] = {2, -1, 0};
    ts = ints_tensor(s3, 3);
    in[0] = &x;
    in[1] = &ts;
    t = node_new("Reshape", 14, 2, 1);
    r = infer_shape(t, in, 2, &y);
    /* shape[2] = 0 copies a dim the rank-2 input lacks */
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);
    free(ts.data);
    int64_t s4[2] = {-1, -1};
    ts = ints_tensor(s4, 2);
    in[1] = &ts;
    t = node_new("Reshape", 14, 2, 1);
    ck_assert_int_eq(infer_shape(t, in, 2, &y).st, ODET_ERR_SHAPE);
    free(t);
    free(ts.data);
    int64_t s5[2] = {0, -1};
    ts = ints_tensor(s5, 2);
    in[1] = &ts;
    t = node_new("Reshape", 14, 2, 1);
    r = infer_shape(t, in, 2, &y);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y.dims[0], 4);
    ck_assert_int_eq(y.dims[1], 6);
    free(t);
    free(ts.data);
    free(x.data);
}
END_TEST

START_TEST(squeeze_unsqueeze_flatten)
{
    int64_t dims[4] = {1, 3, 1, 2};
    odet_tensor x = tensor(ODET_FLOAT, 4, dims);
    odet_tensor y;
    const odet_tensor *in[2] = {&x, NULL};
    /* no axes: all unit dims go */
    test_node *t = node_new("Squeeze", 13, 1, 1);
    run_result r = infer_shape(t, in, 1, &y);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y.rank, 2);
    free(t);
    /* squeezing a non-unit axis fails; opset 11 takes the attribute */
    int64_t ax[1] = {-3};
    t = node_new("Squeeze", 11, 1, 1);
    attr_ints(t, "axes", ax, 1);
    ck_assert_int_eq(infer_shape(t, in, 1, &y).st, ODET_ERR_SHAPE);
    free(t);
    /* unsqueeze with negative, unsorted axes */
    int64_t ua[2] = {-1, 0};
    odet_tensor ta = ints_tensor(ua, 2);
    in[1] = &ta;
    t = node_new("Unsqueeze", 13, 2, 1);
    r = infer_shape(t, in, 2, &y);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y.rank, 6);
    ck_assert_int_eq(y.dims[0], 1);
    ck_assert_int_eq(y.dims[2], 3);
    ck_assert_int_eq(y.dims[5], 1);
    free(t);
    free(ta.data);
    /* rank limit */
    int64_t many[5] = {0, 1, 2, 3, 4};
    ta = ints_tensor(many, 5);
    t = node_new("Unsqueeze", 13, 2, 1);
    ck_assert_int_eq(infer_shape(t, in, 2, &y).st, ODET_ERR_UNSUPPORTED);
    free(t);
    free(ta.data);
    /* flatten: axis == rank gives (N, 1) */
    t = node_new("Flatten", 13, 1, 1);
    attr_int(t, "axis", 4);
    r = infer_shape(t, in, 1, &y);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y.dims[0], 6);
    ck_assert_int_eq(y.dims[1], 1);
    free(t);
    t = node_new("Flatten", 13, 1, 1);
    attr_int(t, "axis", 5);
    ck_assert_int_eq(infer_shape(t, in, 1, &y).st, ODET_ERR_INVALID_ARG);
    free(t);
    free(x.data);
}
END_TEST

START_TEST(dropout_mask_and_training)
{
    int64_t d = 5;
    odet_tensor x = tensor(ODET_FLOAT, 1, &d);
    for (int i = 0; i < 5; i++)
        ((float *)x.data)[i] = (float)i;
    odet_tensor y, m;
    memset(&y, 0, sizeof y);
    memset(&m, 0, sizeof m);
    odet_tensor *outs[2] = {&y, &m};
    const odet_tensor *in[3] = {&x, NULL, NULL};
    /* opset 7: mask has the data type */
    test_node *t = node_new("Dropout", 7, 1, 2);
    run_result r = run_node(t, in, 1, outs, 2, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(m.dtype, ODET_FLOAT);
    ck_assert(((float *)m.data)[4] == 1.0f);
    ck_assert(((float *)y.data)[3] == 3.0f);
    free(y.data);
    free(m.data);
    free(t);
    /* opset 13, training with ratio 0 is the identity; with 0.5 it is refused */
    uint8_t on = 1;
    float zero = 0.0f, half = 0.5f;
    odet_tensor tm = scalar_tensor(ODET_BOOL, &on), tr = scalar_tensor(ODET_FLOAT, &zero);
    in[1] = &tr;
    in[2] = &tm;
    memset(&y, 0, sizeof y);
    memset(&m, 0, sizeof m);
    t = node_new("Dropout", 13, 3, 2);
    r = run_node(t, in, 3, outs, 2, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(m.dtype, ODET_BOOL);
    ck_assert_int_eq(((uint8_t *)m.data)[2], 1);
    free(y.data);
    free(m.data);
    free(t);
    memcpy(tr.data, &half, 4);
    memset(&y, 0, sizeof y);
    memset(&m, 0, sizeof m);
    t = node_new("Dropout", 13, 3, 2);
    r = run_node(t, in, 3, outs, 2, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    free(t);
    free(tm.data);
    free(tr.data);
    free(x.data);
}
END_TEST

/* ------------------------------------------------------------------ gather family */

START_TEST(gather_and_errors)
{
    int64_t dims[3] = {2, 5, 3};
    odet_tensor x = tensor(ODET_INT32, 3, dims);
    for (int i = 0; i < 30; i++)
        ((int32_t *)x.data)[i] = i;
    int64_t iv[4] = {-1, 0, 4, -5};
    int64_t id[2] = {2, 2};
    odet_tensor idx = tensor(ODET_INT64, 2, id);
    memcpy(idx.data, iv, sizeof iv);
    const odet_tensor *in[2] = {&x, &idx};
    test_node *t = node_new("Gather", 13, 2, 1);
    attr_int(t, "axis", 1);
    odet_tensor y = run1(t, in, 2, 2, NULL);
    ck_assert_int_eq(y.rank, 4);
    /* y[b, i, j, c] = x[b, idx[i, j], c] */
    ck_assert_int_eq(((int32_t *)y.data)[0 * 12 + 0 * 3 + 2], 4 * 3 + 2);
    ck_assert_int_eq(((int32_t *)y.data)[1 * 12 + 3 * 3 + 1], 15 + 0 * 3 + 1);
    free(y.data);
    free(t);

    ((int64_t *)idx.data)[2] = 5;
    run_result r;
    t = node_new("Gather", 13, 2, 1);
    attr_int(t, "axis", 1);
    run1(t, in, 2, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    ck_assert_msg(strstr(r.err, "out of range") != NULL, "%s", r.err);
    free(t);
    free(idx.data);
    free(x.data);
}
END_TEST

START_TEST(scatter_reductions)
{
    int64_t d = 4;
    odet_tensor x = tensor(ODET_FLOAT, 1, &d);
    for (int i = 0; i < 4; i++)
        ((float *)x.data)[i] = (float)(i + 1);
    int64_t id[2] = {3, 1};
    odet_tensor idx = tensor(ODET_INT64, 2, id);
    int64_t iv[3] = {1, -1, 1};
    memcpy(idx.data, iv, sizeof iv);
    int64_t ud = 3;
    odet_tensor upd = tensor(ODET_FLOAT, 1, &ud);
    float uv[3] = {10, 20, 0.5f};
    memcpy(upd.data, uv, sizeof uv);
    const odet_tensor *in[3] = {&x, &idx, &upd};
    static const char *const reds[] = {"none", "add", "mul", "max", "min"};
    static const float want[5][4] = {{1, 0.5f, 3, 20}, {1, 12.5f, 3, 24}, {1, 10, 3, 80},
                                     {1, 10, 3, 20}, {1, 0.5f, 3, 4}};
    for (int k = 0; k < 5; k++) {
        test_node *t = node_new("ScatterND", 18, 3, 1);
        attr_string(t, "reduction", reds[k]);
        odet_tensor y = run1(t, in, 3, 1, NULL);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(((float *)y.data)[i] == want[k][i], "%s [%d]", reds[k], i);
        free(y.data);
        free(t);
    }
    /* ScatterElements on 1-D data is the same scatter */
    int64_t ed = 3;
    odet_tensor eidx = tensor(ODET_INT64, 1, &ed);
    memcpy(eidx.data, iv, sizeof iv);
    in[1] = &eidx;
    for (int k = 0; k < 5; k++) {
        test_node *t = node_new("ScatterElements", 18, 3, 1);
        attr_string(t, "reduction", reds[k]);
        odet_tensor y = run1(t, in, 3, 1, NULL);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(((float *)y.data)[i] == want[k][i], "%s [%d]", reds[k], i);
        free(y.data);
        free(t);
    }
    free(eidx.data);
    free(idx.data);
    free(upd.data);
    free(x.data);
}
END_TEST

START_TEST(gathernd_batch_and_elements)
{
    /* data [2,3,4], batch_dims 1, indices [2,1,2] -> out [2,1] */
    int64_t dims[3] = {2, 3, 4};
    odet_tensor x = tensor(ODET_INT64, 3, dims);
    for (int i = 0; i < 24; i++)
        ((int64_t *)x.data)[i] = i;
    int64_t id[3] = {2, 1, 2};
    odet_tensor idx = tensor(ODET_INT32, 3, id);
    int32_t iv[4] = {2, -1, 0, 1};
    memcpy(idx.data, iv, sizeof iv);
    const odet_tensor *in[2] = {&x, &idx};
    test_node *t = node_new("GatherND", 13, 2, 1);
    attr_int(t, "batch_dims", 1);
    odet_tensor y = run1(t, in, 2, 1, NULL);
    ck_assert_int_eq(y.rank, 2);
    ck_assert_int_eq(((int64_t *)y.data)[0], 2 * 4 + 3);
    ck_assert_int_eq(((int64_t *)y.data)[1], 12 + 0 * 4 + 1);
    free(y.data);
    free(t);

    /* GatherElements along axis 1 with an index tensor smaller than the data */
    int64_t ed[3] = {2, 2, 3};
    odet_tensor eidx = tensor(ODET_INT64, 3, ed);
    for (int i = 0; i < 12; i++)
        ((int64_t *)eidx.data)[i] = (i * 7) % 3 - (i % 2 ? 3 : 0);
    in[1] = &eidx;
    t = node_new("GatherElements", 13, 2, 1);
    attr_int(t, "axis", 1);
    y = run1(t, in, 2, 1, NULL);
    int64_t c[3];
    for (int64_t i = 0; i < 12; i++) {
        unravel(i, 3, ed, c);
        int64_t v = ((int64_t *)eidx.data)[i];
        c[1] = v < 0 ? v + 3 : v;
        ck_assert_int_eq(((int64_t *)y.data)[i], ravel(3, dims, c));
    }
    free(y.data);
    free(t);
    free(eidx.data);
    free(idx.data);
    free(x.data);
}
END_TEST

START_TEST(nonzero_trilu_onehot_compress)
{
    /* NonZero: -0.0 is zero, NaN is not */
    int64_t d[2] = {2, 3};
    odet_tensor x = tensor(ODET_FLOAT, 2, d);
    float xv[6] = {0.0f, -0.0f, NAN, 1.0f, 0.0f, -2.0f};
    memcpy(x.data, xv, sizeof xv);
    const odet_tensor *in[3] = {&x, NULL, NULL};
    test_node *t = node_new("NonZero", 13, 1, 1);
    odet_tensor y = run1(t, in, 1, 1, NULL);
    ck_assert_int_eq(y.dims[0], 2);
    ck_assert_int_eq(y.dims[1], 3);
    static const int64_t nz[6] = {0, 1, 1, 2, 0, 2};
    ck_assert(memcmp(y.data, nz, sizeof nz) == 0);
    free(y.data);
    free(t);

    /* Trilu with k far outside the matrix */
    int64_t kv = INT64_MIN;
    odet_tensor tk = scalar_tensor(ODET_INT64, &kv);
    in[1] = &tk;
    t = node_new("Trilu", 14, 2, 1);
    y = run1(t, in, 2, 1, NULL);
    ck_assert(memcmp(y.data, x.data, sizeof xv) == 0); /* upper, k = -inf keeps all */
    free(y.data);
    free(t);
    t = node_new("Trilu", 14, 2, 1);
    attr_int(t, "upper", 0);
    y = run1(t, in, 2, 1, NULL);
    for (int i = 0; i < 6; i++)
        ck_assert(((float *)y.data)[i] == 0.0f);
    free(y.data);
    free(t);
    free(tk.data);

    /* OneHot with float indices, depth as float, negative index, axis 0 */
    int64_t n = 3;
    odet_tensor idx = tensor(ODET_FLOAT, 1, &n);
    float iv[3] = {1.7f, -1.0f, 9.0f};
    memcpy(idx.data, iv, sizeof iv);
    float dv = 4.0f;
    odet_tensor depth = scalar_tensor(ODET_FLOAT, &dv);
    int64_t two = 2;
    odet_tensor vals = tensor(ODET_INT32, 1, &two);
    ((int32_t *)vals.data)[0] = -1;
    ((int32_t *)vals.data)[1] = 5;
    const odet_tensor *oin[3] = {&idx, &depth, &vals};
    t = node_new("OneHot", 11, 3, 1);
    attr_int(t, "axis", 0);
    y = run1(t, oin, 3, 1, NULL);
    ck_assert_int_eq(y.dims[0], 4);
    ck_assert_int_eq(y.dims[1], 3);
    static const int32_t oh[12] = {-1, -1, -1, 5, -1, -1, -1, -1, -1, -1, 5, -1};
    ck_assert(memcmp(y.data, oh, sizeof oh) == 0);
    free(y.data);
    free(t);

    /* Compress without axis flattens; a short condition drops the rest */
    int64_t cn = 4;
    odet_tensor cond = tensor(ODET_BOOL, 1, &cn);
    uint8_t cv[4] = {0, 1, 1, 0};
    memcpy(cond.data, cv, 4);
    in[1] = &cond;
    t = node_new("Compress", 11, 2, 1);
    y = run1(t, in, 2, 1, NULL);
    ck_assert_int_eq(y.rank, 1);
    ck_assert_int_eq(y.dims[0], 2);
    ck_assert(((float *)y.data)[0] == -0.0f && isnan(((float *)y.data)[1]));
    free(y.data);
    free(t);
    free(cond.data);
    free(idx.data);
    free(depth.data);
    free(vals.data);
    free(x.data);
}
END_TEST

/* ------------------------------------------------------------------ generators */

START_TEST(shape_size_range_cumsum)
{
    int64_t dims[4] = {2, 3, 5, 7};
    odet_tensor x = tensor(ODET_FLOAT, 4, dims);
    const odet_tensor *in[3] = {&x, NULL, NULL};
    test_node *t = node_new("Shape", 15, 1, 1);
    attr_int(t, "start", -3);
    attr_int(t, "end", 100);
    odet_tensor y = run1(t, in, 1, 1, NULL);
    ck_assert_int_eq(y.dims[0], 3);
    ck_assert_int_eq(((int64_t *)y.data)[0], 3);
    ck_assert_int_eq(((int64_t *)y.data)[2], 7);
    free(y.data);
    free(t);
    t = node_new("Shape", 15, 1, 1);
    attr_int(t, "start", 3);
    attr_int(t, "end", 1);
    y = run1(t, in, 1, 1, NULL);
    ck_assert_int_eq(y.dims[0], 0);
    free(y.data);
    free(t);
    t = node_new("Size", 13, 1, 1);
    y = run1(t, in, 1, 1, NULL);
    ck_assert_int_eq(y.rank, 0);
    ck_assert_int_eq(((int64_t *)y.data)[0], 210);
    free(y.data);
    free(t);

    /* Range over the whole int64 span does not overflow the count */
    int64_t s = INT64_MIN, l = INT64_MAX, dl = INT64_MAX;
    odet_tensor ts = scalar_tensor(ODET_INT64, &s), tl = scalar_tensor(ODET_INT64, &l);
    odet_tensor td = scalar_tensor(ODET_INT64, &dl);
    const odet_tensor *rin[3] = {&ts, &tl, &td};
    t = node_new("Range", 11, 3, 1);
    y = run1(t, rin, 3, 1, NULL);
    ck_assert_int_eq(y.dims[0], 3);
    ck_assert_int_eq(((int64_t *)y.data)[2], INT64_MAX - 1);
    free(y.data);
    free(t);
    int64_t zero = 0;
    memcpy(td.data, &zero, 8);
    run_result r;
    t = node_new("Range", 11, 3, 1);
    run1(t, rin, 3, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    free(t);
    float fs = 10.0f, fl = 1.0f, fd = -3.0f;
    odet_tensor fts = scalar_tensor(ODET_FLOAT, &fs), ftl = scalar_tensor(ODET_FLOAT, &fl);
    odet_tensor ftd = scalar_tensor(ODET_FLOAT, &fd);
    const odet_tensor *fin[3] = {&fts, &ftl, &ftd};
    t = node_new("Range", 11, 3, 1);
    y = run1(t, fin, 3, 1, NULL);
    ck_assert_int_eq(y.dims[0], 3);
    ck_assert(((float *)y.data)[2] == 4.0f);
    free(y.data);
    free(t);
    free(ts.data);
    free(tl.data);
    free(td.data);
    free(fts.data);
    free(ftl.data);
    free(ftd.data);

    /* CumSum on a 3-D tensor, every axis and flag, threads 1 and 4 */
    int64_t cd[3] = {33, 70, 41};
    odet_tensor cx = tensor(ODET_DOUBLE, 3, cd);
    unsigned seed = 9;
    for (int i = 0; i < 33 * 70 * 41; i++)
        ((double *)cx.data)[i] = (double)(lcg(&seed) % 100);
    for (int axis = -3; axis < 3; axis++) {
        for (int flags = 0; flags < 4; flags++) {
            int64_t av = axis;
            odet_tensor ta = scalar_tensor(ODET_INT64, &av);
            const odet_tensor *cin[2] = {&cx, &ta};
            t = node_new("CumSum", 14, 2, 1);
            attr_int(t, "exclusive", flags & 1);
            attr_int(t, "reverse", flags >> 1);
            y = run1(t, cin, 2, 1 + 3 * (flags & 1), NULL);
            int a = axis < 0 ? axis + 3 : axis;
            int64_t c[3];
            for (int64_t i = 0; i < 33 * 70 * 41; i += 97) {
                unravel(i, 3, cd, c);
                double want = 0;
                int64_t k0 = c[a];
                for (int64_t k = 0; k < cd[a]; k++) {
                    int in_range = (flags >> 1) ? k >= k0 : k <= k0;
                    if (!in_range || ((flags & 1) && k == k0))
                        continue;
                    c[a] = k;
                    want += ((double *)cx.data)[ravel(3, cd, c)];
                }
                ck_assert_msg(((double *)y.data)[i] == want, "axis %d flags %d", axis, flags);
            }
            free(y.data);
            free(t);
            free(ta.data);
        }
    }
    free(cx.data);
    free(x.data);
}
END_TEST

START_TEST(constant_forms)
{
    int64_t iv[3] = {4, -5, 6};
    test_node *t = node_new("Constant", 13, 0, 1);
    attr_ints(t, "value_ints", iv, 3);
    odet_tensor y = run1(t, NULL, 0, 1, NULL);
    ck_assert_int_eq(y.dtype, ODET_INT64);
    ck_assert(memcmp(y.data, iv, sizeof iv) == 0);
    free(y.data);
    free(t);
    t = node_new("Constant", 13, 0, 1);
    odet_attr *a = attr_add(t, "value_float", ODET_ATTR_FLOAT);
    a->f = 2.5f;
    y = run1(t, NULL, 0, 1, NULL);
    ck_assert_int_eq(y.rank, 0);
    ck_assert(((float *)y.data)[0] == 2.5f);
    free(y.data);
    free(t);
    run_result r;
    t = node_new("Constant", 13, 0, 1);
    run1(t, NULL, 0, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    free(t);

    /* ConstantOfShape: empty shape gives a scalar; a zero dim an empty tensor */
    int64_t zero = 0;
    odet_tensor s = tensor(ODET_INT64, 1, &zero);
    const odet_tensor *in[1] = {&s};
    t = node_new("ConstantOfShape", 9, 1, 1);
    y = run1(t, in, 1, 1, NULL);
    ck_assert_int_eq(y.rank, 0);
    ck_assert_int_eq(y.dtype, ODET_FLOAT);
    ck_assert(((float *)y.data)[0] == 0.0f);
    free(y.data);
    free(t);
    free(s.data);
    int64_t sv[2] = {1000, 3};
    s = ints_tensor(sv, 2);
    int64_t one = 1;
    odet_tensor v = tensor(ODET_INT32, 1, &one);
    ((int32_t *)v.data)[0] = -9;
    t = node_new("ConstantOfShape", 9, 1, 1);
    a = attr_add(t, "value", ODET_ATTR_TENSOR);
    a->t = &v;
    y = run1(t, in, 1, 1, NULL);
    ck_assert_int_eq(y.dtype, ODET_INT32);
    for (int i = 0; i < 3000; i++)
        ck_assert_int_eq(((int32_t *)y.data)[i], -9);
    free(y.data);
    free(t);
    free(s.data);
    free(v.data);
}
END_TEST

/* ------------------------------------------------------------------ Cast */

static odet_tensor cast(const odet_tensor *x, odet_dtype to, int threads)
{
    const odet_tensor *in[1] = {x};
    test_node *t = node_new("Cast", 13, 1, 1);
    attr_int(t, "to", to);
    odet_tensor y = run1(t, in, 1, threads, NULL);
    free(t);
    return y;
}

static uint16_t f32_to_f16_bits(float f)
{
    int64_t one = 1;
    odet_tensor x = tensor(ODET_FLOAT, 1, &one);
    ((float *)x.data)[0] = f;
    odet_tensor y = cast(&x, ODET_FLOAT16, 1);
    uint16_t h = ((uint16_t *)y.data)[0];
    free(x.data);
    free(y.data);
    return h;
}

static uint16_t f64_to_f16_bits(double f)
{
    int64_t one = 1;
    odet_tensor x = tensor(ODET_DOUBLE, 1, &one);
    ((double *)x.data)[0] = f;
    odet_tensor y = cast(&x, ODET_FLOAT16, 1);
    uint16_t h = ((uint16_t *)y.data)[0];
    free(x.data);
    free(y.data);
    return h;
}

START_TEST(cast_half_exhaustive_roundtrip)
{
    int64_t n = 65536;
    odet_tensor h = tensor(ODET_FLOAT16, 1, &n);
    for (int i = 0; i < 65536; i++)
        ((uint16_t *)h.data)[i] = (uint16_t)i;
    odet_tensor f = cast(&h, ODET_FLOAT, 3);
    odet_tensor d = cast(&h, ODET_DOUBLE, 1);
    odet_tensor back = cast(&f, ODET_FLOAT16, 2);
    odet_tensor back2 = cast(&d, ODET_FLOAT16, 1);
    for (int i = 0; i < 65536; i++) {
        float v = ((float *)f.data)[i];
        int nan = (i & 0x7c00) == 0x7c00 && (i & 0x3ff);
        ck_assert_int_eq(isnan(v) != 0, nan);
        ck_assert((double)v == ((double *)d.data)[i] || nan);
        if (nan) {
            ck_assert((((uint16_t *)back.data)[i] & 0x7fff) > 0x7c00);
            ck_assert((((uint16_t *)back2.data)[i] & 0x7fff) > 0x7c00);
        } else {
            ck_assert_int_eq(((uint16_t *)back.data)[i], i);
            ck_assert_int_eq(((uint16_t *)back2.data)[i], i);
        }
    }
    ck_assert(((float *)f.data)[0x3c00] == 1.0f);
    ck_assert(((float *)f.data)[0x0001] == 0x1p-24f);
    ck_assert(((float *)f.data)[0x7bff] == 65504.0f);
    ck_assert(((float *)f.data)[0xfc00] == -INFINITY);
    free(h.data);
    free(f.data);
    free(d.data);
    free(back.data);
    free(back2.data);
}
END_TEST

START_TEST(cast_half_rounding)
{
    /* ties go to even, in the normal and subnormal ranges */
    ck_assert_uint_eq(f32_to_f16_bits(1.0f + 0x1p-11f), 0x3c00);
    ck_assert_uint_eq(f32_to_f16_bits(1.0f + 3 * 0x1p-11f), 0x3c02);
    ck_assert_uint_eq(f32_to_f16_bits(0x1p-25f), 0x0000);
    ck_assert_uint_eq(f32_to_f16_bits(3 * 0x1p-25f), 0x0002);
    ck_assert_uint_eq(f32_to_f16_bits(-0x1p-24f), 0x8001);
    ck_assert_uint_eq(f32_to_f16_bits(0x1p-14f - 0x1p-26f), 0x0400); /* rounds up to normal */
    ck_assert_uint_eq(f32_to_f16_bits(65504.0f), 0x7bff);
    ck_assert_uint_eq(f32_to_f16_bits(65519.99f), 0x7bff);
    ck_assert_uint_eq(f32_to_f16_bits(65520.0f), 0x7c00);
    ck_assert_uint_eq(f32_to_f16_bits(-1e10f), 0xfc00);
    ck_assert_uint_eq(f32_to_f16_bits(-0.0f), 0x8000);
    ck_assert((f32_to_f16_bits(NAN) & 0x7fff) > 0x7c00);
    /* double -> half rounds once: through float this would tie down to 1.0 */
    ck_assert_uint_eq(f64_to_f16_bits(1.0 + 0x1p-11 + 0x1p-40), 0x3c01);
    ck_assert_uint_eq(f64_to_f16_bits(65519.999), 0x7bff);
    ck_assert_uint_eq(f64_to_f16_bits(65520.0), 0x7c00);
    ck_assert_uint_eq(f64_to_f16_bits(0x1p-25 + 0x1p-60), 0x0001);
    ck_assert_uint_eq(f64_to_f16_bits(-INFINITY), 0xfc00);
    /* the float path (bit tricks) and the double path (frexp) agree everywhere */
    unsigned seed = 77;
    int64_t n = 200000;
    odet_tensor x = tensor(ODET_FLOAT, 1, &n), xd = tensor(ODET_DOUBLE, 1, &n);
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)lcg(&seed) << 8 ^ (uint32_t)lcg(&seed);
        /* exponents around the half range: 2^-30 .. 2^17 */
        bits = (bits & 0x807fffffu) | ((uint32_t)(97 + lcg(&seed) % 48) << 23);
        if (i % 5 == 0)
            bits &= ~0x0fffu; /* many exact ties */
        float f;
        memcpy(&f, &bits, 4);
        ((float *)x.data)[i] = f;
        ((double *)xd.data)[i] = f;
    }
    odet_tensor a = cast(&x, ODET_FLOAT16, 4), b = cast(&xd, ODET_FLOAT16, 1);
    ck_assert(memcmp(a.data, b.data, (size_t)n * 2) == 0);
    free(x.data);
    free(xd.data);
    free(a.data);
    free(b.data);
}
END_TEST

START_TEST(cast_ints_and_bools)
{
    int64_t n = 8;
    odet_tensor x = tensor(ODET_FLOAT, 1, &n);
    float xv[8] = {2.7f, -2.7f, NAN, 1e20f, -1e20f, 0.0f, -0.5f, 300.0f};
    memcpy(x.data, xv, sizeof xv);
    odet_tensor y = cast(&x, ODET_INT32, 1);
    static const int32_t i32[8] = {2, -2, 0, INT32_MAX, INT32_MIN, 0, 0, 300};
    ck_assert(memcmp(y.data, i32, sizeof i32) == 0);
    free(y.data);
    y = cast(&x, ODET_UINT8, 1);
    static const uint8_t u8[8] = {2, 0, 0, 255, 0, 0, 0, 255};
    ck_assert(memcmp(y.data, u8, sizeof u8) == 0);
    free(y.data);
    y = cast(&x, ODET_BOOL, 1);
    static const uint8_t b[8] = {1, 1, 1, 1, 1, 0, 1, 1};
    ck_assert(memcmp(y.data, b, sizeof b) == 0);
    odet_tensor z = cast(&y, ODET_DOUBLE, 1);
    ck_assert(((double *)z.data)[5] == 0.0 && ((double *)z.data)[6] == 1.0);
    free(z.data);
    free(y.data);
    free(x.data);
    /* integer narrowing wraps like numpy */
    odet_tensor w = tensor(ODET_INT64, 1, &n);
    int64_t wv[8] = {-1, 256, 257, INT64_MIN, 70000, -129, 65504, 65520};
    memcpy(w.data, wv, sizeof wv);
    y = cast(&w, ODET_UINT8, 1);
    static const uint8_t wu8[8] = {255, 0, 1, 0, 0x70, 127, 0xe0, 0xf0};
    ck_assert(memcmp(y.data, wu8, sizeof wu8) == 0);
    free(y.data);
    y = cast(&w, ODET_FLOAT16, 1);
    ck_assert_uint_eq(((uint16_t *)y.data)[0], 0xbc00);
    ck_assert_uint_eq(((uint16_t *)y.data)[6], 0x7bff);
    ck_assert_uint_eq(((uint16_t *)y.data)[7], 0x7c00);
    free(y.data);
    free(w.data);
    /* strings are refused with a message */
    int64_t one = 1;
    odet_tensor f = tensor(ODET_FLOAT, 1, &one);
    const odet_tensor *in[1] = {&f};
    test_node *t = node_new("Cast", 13, 1, 1);
    attr_int(t, "to", ODET_STRING);
    run_result r;
    run1(t, in, 1, 1, &r);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(r.err, "string") != NULL, "%s", r.err);
    free(t);
    free(f.data);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *suite(void)
{
    Suite *s = suite_create("ops_movement");
    TCase *tc = tcase_create("copy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, transpose_random_vs_naive);
    tcase_add_test(tc, transpose_default_and_errors);
    tcase_add_test(tc, slice_random_vs_naive);
    tcase_add_test(tc, slice_opset1_attributes_and_errors);
    tcase_add_test(tc, expand_tile_random_vs_naive);
    tcase_add_test(tc, pad_random_vs_naive);
    tcase_add_test(tc, pad_opset2_value_and_errors);
    tcase_add_test(tc, concat_split_roundtrip);
    tcase_add_test(tc, split_forms);
    suite_add_tcase(s, tc);
    tc = tcase_create("views");
    tcase_add_test(tc, reshape_rules);
    tcase_add_test(tc, squeeze_unsqueeze_flatten);
    tcase_add_test(tc, dropout_mask_and_training);
    suite_add_tcase(s, tc);
    tc = tcase_create("gather");
    tcase_add_test(tc, gather_and_errors);
    tcase_add_test(tc, scatter_reductions);
    tcase_add_test(tc, gathernd_batch_and_elements);
    tcase_add_test(tc, nonzero_trilu_onehot_compress);
    suite_add_tcase(s, tc);
    tc = tcase_create("generate");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, shape_size_range_cumsum);
    tcase_add_test(tc, constant_forms);
    tcase_add_test(tc, cast_half_exhaustive_roundtrip);
    tcase_add_test(tc, cast_half_rounding);
    tcase_add_test(tc, cast_ints_and_bools);
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
