/* Unit tests of MatMul, Gemm, Einsum, Softmax/LogSoftmax/Hardmax, the Reduce*
 * family, ArgMax/ArgMin and TopK, called directly through their op definitions
 * (prepare -> infer -> scratch -> run).
 *
 * Each op is compared with a naive implementation written here (plain loops in
 * double) over many shapes: odd sizes (1, 3, 17, 63, 130), batch broadcasting,
 * every subset of reduced axes, Einsum equations that take the in-place GEMM
 * path, the staged (copied) path, the swapped-output path and the reference,
 * and inputs full of ties for the selection ops. Also: thread-count
 * independence, zero-sized tensors and error reporting. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ops/op.h"

#include "op_harness.h"

/* ------------------------------------------------------------------ fixtures */

static unsigned rnd(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 8) & 0xffffu;
}

/* Uniform in [-1, 1) for floats; integers in [-levels/2, levels/2) when levels > 0
 * (also for floats, to make ties). */
static void fill(odet_tensor *x, unsigned *seed, int levels)
{
    int64_t n = odet_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        unsigned r = rnd(seed);
        double v = levels > 0 ? (double)((int)(r % (unsigned)levels) - levels / 2)
                              : (double)r / 32768.0 - 1.0;
        switch (x->dtype) {
        case ODET_FLOAT: ((float *)x->data)[i] = (float)v; break;
        case ODET_DOUBLE: ((double *)x->data)[i] = v; break;
        case ODET_INT32: ((int32_t *)x->data)[i] = (int32_t)v; break;
        case ODET_INT64: ((int64_t *)x->data)[i] = (int64_t)v; break;
        case ODET_UINT32: ((uint32_t *)x->data)[i] = r % (unsigned)(levels > 0 ? levels : 2); break;
        default: break;
        }
    }
}

static double get(const odet_tensor *x, int64_t i)
{
    return odet_tensor_get_f64(x, i);
}

/* Prepare, infer, allocate outputs, scratch, run. out[i] tensors are allocated
 * here (free with tensor_free) and filled with 0xff bytes before the run
 * (NaN / -1 garbage: run must write all). An unregistered op gives
 * ODET_ERR_UNSUPPORTED. */
static run_result run_node_outs(test_node *t, const odet_tensor *const *in, int n_in,
                                odet_tensor *out, int n_out, int threads)
{
    t->node.n_in = n_in;
    t->node.n_out = n_out;
    odet_tensor *outp[8];
    for (int i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        outp[i] = &out[i];
    }
    op_run_opts o = {.threads = threads, .inplace_input = -1, .out_fill = 0xff, .missing_ok = 1};
    return op_run(t, in, n_in, outp, n_out, &o);
}

/* Largest |got - want| / (1 + |want|): relative for large values, absolute near 0. */
static double max_rel_err(const odet_tensor *got, const double *want, int64_t n)
{
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double g = get(got, i), w = want[i];
        if (isnan(w) && isnan(g))
            continue;
        if (isinf(w) && g == w)
            continue;
        double e = fabs(g - w) / (1.0 + fabs(w));
        if (!(e <= worst))
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

/* ------------------------------------------------------------------ MatMul */

/* numpy matmul in double, for rank >= 1 inputs of rank <= 4. */
static void naive_matmul(const odet_tensor *a, const odet_tensor *b, const odet_tensor *y,
                         double *out)
{
    int64_t M = a->rank >= 2 ? a->dims[a->rank - 2] : 1, K = a->dims[a->rank - 1];
    int64_t N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    int nb = y->rank - (a->rank >= 2) - (b->rank >= 2);
    int64_t batch = odet_dims_prod(y->dims, 0, nb);
    for (int64_t bi = 0; bi < batch; bi++) {
        /* batch index -> A / B matrix index with broadcasting */
        int64_t ia = 0, ib = 0, sa = 1, sb = 1, rem = bi;
        int abr = a->rank >= 2 ? a->rank - 2 : 0, bbr = b->rank >= 2 ? b->rank - 2 : 0;
        for (int d = nb - 1; d >= 0; d--) {
            int64_t idx = rem % y->dims[d];
            rem /= y->dims[d];
            int da = d - (nb - abr), db = d - (nb - bbr);
            if (da >= 0) {
                ia += (a->dims[da] == 1 ? 0 : idx) * sa;
                sa *= a->dims[da];
            }
            if (db >= 0) {
                ib += (b->dims[db] == 1 ? 0 : idx) * sb;
                sb *= b->dims[db];
            }
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0.0;
                for (int64_t k = 0; k < K; k++)
                    s += get(a, ia * M * K + i * K + k) * get(b, ib * K * N + k * N + j);
                out[bi * M * N + i * N + j] = s;
            }
    }
}

static void check_matmul(odet_dtype dt, int ra, const int64_t *da, int rb, const int64_t *db,
                         int threads, unsigned *seed)
{
    odet_tensor a = tensor(dt, ra, da), b = tensor(dt, rb, db), y;
    fill(&a, seed, dt == ODET_FLOAT || dt == ODET_DOUBLE ? 0 : 7);
    fill(&b, seed, dt == ODET_FLOAT || dt == ODET_DOUBLE ? 0 : 7);
    test_node *t = node_new("MatMul", 13, 2, 1);
    const odet_tensor *in[2] = {&a, &b};
    run_result r = run_node_outs(t, in, 2, &y, 1, threads);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    int64_t n = odet_tensor_numel(&y);
    double *want = malloc((size_t)(n ? n : 1) * sizeof *want);
    naive_matmul(&a, &b, &y, want);
    double e = max_rel_err(&y, want, n);
    ck_assert_msg(e < 1e-4, "MatMul ranks %d x %d: max rel err %g", ra, rb, e);
    free(want);
    tensor_free(&a);
    tensor_free(&b);
    tensor_free(&y);
    free(t);
}

START_TEST(matmul_vs_naive)
{
    unsigned seed = 11;
    static const int64_t sizes[] = {1, 3, 17, 63};
    for (int threads = 1; threads <= 4; threads *= 2)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 4; k++) {
                    int64_t M = sizes[i], K = sizes[j], N = sizes[k];
                    int64_t a2[2] = {M, K}, b2[2] = {K, N};
                    check_matmul(ODET_FLOAT, 2, a2, 2, b2, threads, &seed);
                    int64_t a4[4] = {2, 1, M, K}, b3[3] = {3, K, N};
                    check_matmul(ODET_FLOAT, 4, a4, 3, b3, threads, &seed);
                }
    /* 1-D promotion and batched/shared operands */
    int64_t v5[1] = {5}, m53[2] = {5, 3}, m35[2] = {3, 5}, b253[3] = {2, 5, 3},
            b235[3] = {2, 3, 5}, a4d[4] = {2, 3, 4, 5}, many[3] = {50, 4, 5},
            manyb[3] = {50, 5, 6}, b353[3] = {3, 5, 3};
    check_matmul(ODET_FLOAT, 1, v5, 1, v5, 1, &seed);
    check_matmul(ODET_FLOAT, 1, v5, 2, m53, 1, &seed);
    check_matmul(ODET_FLOAT, 2, m35, 1, v5, 1, &seed);
    check_matmul(ODET_FLOAT, 1, v5, 3, b253, 2, &seed);
    check_matmul(ODET_FLOAT, 3, b235, 1, v5, 2, &seed);
    check_matmul(ODET_FLOAT, 4, a4d, 2, m53, 2, &seed);
    check_matmul(ODET_FLOAT, 2, m35, 3, b253, 2, &seed);
    check_matmul(ODET_FLOAT, 3, many, 3, manyb, 2, &seed);
    for (int d = 0; d < 4; d++) {
        odet_dtype dts[4] = {ODET_DOUBLE, ODET_INT32, ODET_INT64, ODET_UINT32};
        check_matmul(dts[d], 4, a4d, 3, b353, 2, &seed);
        check_matmul(dts[d], 1, v5, 1, v5, 1, &seed);
    }
}
END_TEST

START_TEST(matmul_zero_sized)
{
    unsigned seed = 3;
    int64_t a0[2] = {0, 4}, b0[2] = {4, 3}, ak[2] = {2, 0}, bk[2] = {0, 3}, ab[3] = {0, 2, 4},
            bb[3] = {1, 4, 3};
    check_matmul(ODET_FLOAT, 2, a0, 2, b0, 1, &seed); /* M = 0 */
    check_matmul(ODET_FLOAT, 2, ak, 2, bk, 1, &seed); /* K = 0: zeros */
    check_matmul(ODET_FLOAT, 3, ab, 3, bb, 1, &seed); /* empty batch */
    check_matmul(ODET_INT64, 2, ak, 2, bk, 1, &seed);
}
END_TEST

START_TEST(matmul_errors)
{
    int64_t da[2] = {3, 4}, db[2] = {5, 2}, b3[3] = {2, 4, 2}, a3[3] = {3, 3, 4};
    odet_tensor a = tensor(ODET_FLOAT, 2, da), b = tensor(ODET_FLOAT, 2, db), y;
    test_node *t = node_new("MatMul", 13, 2, 1);
    const odet_tensor *in[2] = {&a, &b};
    run_result r = run_node_outs(t, in, 2, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_msg(strstr(r.err, "inner dimensions") && strstr(r.err, "MatMul"), "%s", r.err);
    tensor_free(&b);
    /* batch dims 3 vs 2 */
    odet_tensor a33 = tensor(ODET_FLOAT, 3, a3), b23 = tensor(ODET_FLOAT, 3, b3);
    const odet_tensor *in2[2] = {&a33, &b23};
    r = run_node_outs(t, in2, 2, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    /* float16 */
    a33.dtype = ODET_FLOAT16;
    b23.dtype = ODET_FLOAT16;
    r = run_node_outs(t, in2, 2, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(r.err, "float16") != NULL, "%s", r.err);
    tensor_free(&a);
    tensor_free(&a33);
    tensor_free(&b23);
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ Gemm */

START_TEST(gemm_vs_naive)
{
    unsigned seed = 5;
    static const int64_t sizes[] = {1, 3, 17};
    /* C shapes: none, scalar, [N], [1,N], [M,1], [M,N], [1] */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int cs = 0; cs < 7; cs++)
                for (int s = 0; s < 27; s++) {
                    int64_t M = sizes[s % 3], K = sizes[(s / 3) % 3], N = sizes[s / 9];
                    int64_t da[2] = {ta ? K : M, ta ? M : K}, db[2] = {tb ? N : K, tb ? K : N};
                    int64_t dc[2] = {0, 0};
                    int rc = 0;
                    switch (cs) {
                    case 1: rc = 0; break;
                    case 2: rc = 1; dc[0] = N; break;
                    case 3: rc = 2; dc[0] = 1; dc[1] = N; break;
                    case 4: rc = 2; dc[0] = M; dc[1] = 1; break;
                    case 5: rc = 2; dc[0] = M; dc[1] = N; break;
                    case 6: rc = 1; dc[0] = 1; break;
                    default: break;
                    }
                    odet_tensor a = tensor(ODET_FLOAT, 2, da), b = tensor(ODET_FLOAT, 2, db);
                    odet_tensor c = tensor(ODET_FLOAT, rc, dc), y;
                    fill(&a, &seed, 0);
                    fill(&b, &seed, 0);
                    fill(&c, &seed, 0);
                    test_node *t = node_new("Gemm", 13, 3, 1);
                    attr_int(t, "transA", ta);
                    attr_int(t, "transB", tb);
                    attr_float(t, "alpha", 0.75f);
                    attr_float(t, "beta", -1.5f);
                    const odet_tensor *in[3] = {&a, &b, cs ? &c : NULL};
                    run_result r = run_node_outs(t, in, 3, &y, 1, 2);
                    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
                    ck_assert_int_eq(y.dims[0], M);
                    ck_assert_int_eq(y.dims[1], N);
                    for (int64_t i = 0; i < M; i++)
                        for (int64_t j = 0; j < N; j++) {
                            double acc = 0.0;
                            for (int64_t k = 0; k < K; k++)
                                acc += get(&a, ta ? k * M + i : i * K + k) *
                                       get(&b, tb ? j * K + k : k * N + j);
                            double want = 0.75 * acc;
                            if (cs) {
                                int64_t ci = rc == 0 ? 0
                                             : rc == 1 ? (dc[0] == 1 ? 0 : j)
                                             : (dc[0] == 1 ? 0 : i) * dc[1] + (dc[1] == 1 ? 0 : j);
                                want += -1.5 * get(&c, ci);
                            }
                            double g = get(&y, i * N + j);
                            ck_assert_msg(fabs(g - want) < 1e-4 * (1 + fabs(want)),
                                          "Gemm ta %d tb %d C %d (%lld,%lld,%lld): %g vs %g", ta,
                                          tb, cs, (long long)M, (long long)N, (long long)K, g,
                                          want);
                        }
                    tensor_free(&a);
                    tensor_free(&b);
                    tensor_free(&c);
                    tensor_free(&y);
                    free(t);
                }
}
END_TEST

START_TEST(gemm_errors)
{
    int64_t da[2] = {3, 4}, db[2] = {4, 5}, dc[2] = {2, 5}, d3[3] = {1, 3, 4};
    odet_tensor a = tensor(ODET_FLOAT, 2, da), b = tensor(ODET_FLOAT, 2, db);
    odet_tensor c = tensor(ODET_FLOAT, 2, dc), a3 = tensor(ODET_FLOAT, 3, d3), y;
    test_node *t = node_new("Gemm", 13, 3, 1);
    const odet_tensor *in[3] = {&a, &b, &c};
    run_result r = run_node_outs(t, in, 3, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_msg(strstr(r.err, "'C'") != NULL, "%s", r.err);
    const odet_tensor *in3[3] = {&a3, &b, NULL};
    r = run_node_outs(t, in3, 3, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_msg(strstr(r.err, "rank 2") != NULL, "%s", r.err);
    tensor_free(&a);
    tensor_free(&b);
    tensor_free(&c);
    tensor_free(&a3);
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ Einsum */

/* Naive einsum over letters-only equations with an explicit output: visit
 * every assignment of every label and add the product of the inputs. */
static void naive_einsum(const char *eq, const odet_tensor *const *in, int n_in,
                         const odet_tensor *y, double *out)
{
    char terms[8][16], outt[16];
    int nt = 0, len = 0;
    const char *p = eq;
    for (; *p && !(p[0] == '-' && p[1] == '>'); p++) {
        if (*p == ',') {
            terms[nt++][len] = 0;
            len = 0;
        } else {
            terms[nt][len++] = *p;
        }
    }
    terms[nt++][len] = 0;
    ck_assert_int_eq(nt, n_in);
    snprintf(outt, sizeof outt, "%s", p + 2);
    int64_t size[128] = {0};
    char labs[64];
    int nl = 0;
    for (int i = 0; i < n_in; i++)
        for (int d = 0; terms[i][d]; d++) {
            unsigned char c = (unsigned char)terms[i][d];
            if (!size[c])
                labs[nl++] = (char)c;
            if (in[i]->dims[d] > size[c])
                size[c] = in[i]->dims[d];
        }
    int64_t total = 1;
    for (int l = 0; l < nl; l++)
        total *= size[(unsigned char)labs[l]];
    memset(out, 0, (size_t)odet_tensor_numel(y) * sizeof *out);
    int64_t idx[128];
    for (int64_t it = 0; it < total; it++) {
        int64_t rem = it;
        for (int l = nl - 1; l >= 0; l--) {
            unsigned char c = (unsigned char)labs[l];
            idx[c] = rem % size[c];
            rem /= size[c];
        }
        double prod = 1.0;
        for (int i = 0; i < n_in; i++) {
            int64_t off = 0;
            for (int d = 0; terms[i][d]; d++)
                off = off * in[i]->dims[d] +
                      (in[i]->dims[d] == 1 ? 0 : idx[(unsigned char)terms[i][d]]);
            prod *= get(in[i], off);
        }
        int64_t o = 0;
        for (int d = 0; outt[d]; d++)
            o = o * y->dims[d] + idx[(unsigned char)outt[d]];
        out[o] += prod;
    }
}

typedef struct ein_case {
    const char *eq;       /* given to the op */
    const char *naive;    /* letters-only explicit form for the naive version */
    int n_in;
    int rank[3];
    int64_t dims[3][4];
} ein_case;

START_TEST(einsum_vs_naive)
{
    static const ein_case cases[] = {
        /* in-place GEMM */
        {"bhqd,bhkd->bhqk", "bhqd,bhkd->bhqk", 2, {4, 4}, {{2, 3, 17, 8}, {2, 3, 5, 8}}},
        {"bhqk,bhkd->bhqd", "bhqk,bhkd->bhqd", 2, {4, 4}, {{2, 3, 17, 5}, {2, 3, 5, 3}}},
        {"bqhd,bkhd->bhqk", "bqhd,bkhd->bhqk", 2, {4, 4}, {{2, 7, 3, 8}, {2, 5, 3, 8}}},
        {"bij,bjk->bik", "bij,bjk->bik", 2, {3, 3}, {{3, 17, 63}, {3, 63, 5}}},
        {"ij,jk", "ij,jk->ik", 2, {2, 2}, {{3, 4}, {4, 5}}},
        {"...ij,...jk->...ik", "abij,abjk->abik", 2, {4, 4}, {{2, 3, 4, 5}, {2, 3, 5, 6}}},
        {"ij,kj->ik", "ij,kj->ik", 2, {2, 2}, {{17, 3}, {5, 3}}},
        {"ji,jk->ik", "ji,jk->ik", 2, {2, 2}, {{3, 17}, {3, 5}}},
        {"i,j->ij", "i,j->ij", 2, {1, 1}, {{4}, {6}}},
        {"i,i", "i,i->", 2, {1, 1}, {{63}, {63}}},
        {"ij,ij->i", "ij,ij->i", 2, {2, 2}, {{4, 17}, {4, 17}}},
        {"bsd,ed->bse", "bsd,ed->bse", 2, {3, 2}, {{2, 5, 8}, {7, 8}}},
        {"bn,nm->bm", "bn,nm->bm", 2, {2, 2}, {{1, 5}, {5, 1}}},
        /* swapped output */
        {"ij,jk->ki", "ij,jk->ki", 2, {2, 2}, {{4, 5}, {5, 6}}},
        {"bqd,bkd->bkq", "bqd,bkd->bkq", 2, {3, 3}, {{2, 5, 3}, {2, 7, 3}}},
        /* staged operands / output */
        {"ijk,jil->kl", "ijk,jil->kl", 2, {3, 3}, {{3, 4, 5}, {4, 3, 6}}},
        {"abc,cba->b", "abc,cba->b", 2, {3, 3}, {{2, 3, 4}, {4, 3, 2}}},
        {"bij,bjk->ibk", "bij,bjk->ibk", 2, {3, 3}, {{3, 4, 5}, {3, 5, 2}}},
        {"...ij,...jk->...ik", "abij,bjk->abik", 2, {4, 3}, {{2, 1, 4, 5}, {3, 5, 6}}},
        {"ij,j->ij", "ij,j->ij", 2, {2, 1}, {{3, 4}, {4}}},
        /* reference */
        {"ij,jk->k", "ij,jk->k", 2, {2, 2}, {{4, 5}, {5, 6}}},
        {"ij,jk,kl->il", "ij,jk,kl->il", 3, {2, 2, 2}, {{3, 4}, {4, 5}, {5, 2}}},
        {"ii->i", NULL, 1, {2}, {{5, 5}}},
        {"ij->ji", "ij->ji", 1, {2}, {{3, 17}}},
        {"abc->", "abc->", 1, {3}, {{2, 3, 4}}},
        {"bij,bjk", "bij,bjk->ik", 2, {3, 3}, {{3, 4, 5}, {1, 5, 2}}},
    };
    unsigned seed = 17;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const ein_case *ec = &cases[c];
        odet_tensor x[3], y;
        const odet_tensor *in[3];
        for (int i = 0; i < ec->n_in; i++) {
            x[i] = tensor(ODET_FLOAT, ec->rank[i], ec->dims[i]);
            fill(&x[i], &seed, 0);
            in[i] = &x[i];
        }
        for (int threads = 1; threads <= 2; threads++) {
            test_node *t = node_new("Einsum", 12, ec->n_in, 1);
            attr_string(t, "equation", ec->eq);
            run_result r = run_node_outs(t, in, ec->n_in, &y, 1, threads);
            ck_assert_msg(r.st == ODET_OK, "%s: %s", ec->eq, r.err);
            int64_t n = odet_tensor_numel(&y);
            double *want = calloc((size_t)(n ? n : 1), sizeof *want);
            if (ec->naive) {
                naive_einsum(ec->naive, in, ec->n_in, &y, want);
            } else { /* diagonal */
                for (int64_t i = 0; i < n; i++)
                    want[i] = get(&x[0], i * x[0].dims[1] + i);
            }
            double e = max_rel_err(&y, want, n);
            ck_assert_msg(e < 1e-4, "%s (threads %d): max rel err %g", ec->eq, threads, e);
            free(want);
            tensor_free(&y);
            free(t);
        }
        for (int i = 0; i < ec->n_in; i++)
            tensor_free(&x[i]);
    }
}
END_TEST

START_TEST(einsum_int_and_double)
{
    unsigned seed = 23;
    int64_t da[2] = {3, 4}, db[2] = {4, 5};
    odet_dtype dts[3] = {ODET_DOUBLE, ODET_INT32, ODET_INT64};
    for (int d = 0; d < 3; d++) {
        odet_tensor a = tensor(dts[d], 2, da), b = tensor(dts[d], 2, db), y;
        fill(&a, &seed, 9);
        fill(&b, &seed, 9);
        test_node *t = node_new("Einsum", 12, 2, 1);
        attr_string(t, "equation", "ij,jk->ik");
        const odet_tensor *in[2] = {&a, &b};
        run_result r = run_node_outs(t, in, 2, &y, 1, 1);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        ck_assert_int_eq(y.dtype, dts[d]);
        double want[15];
        naive_einsum("ij,jk->ik", in, 2, &y, want);
        ck_assert(max_rel_err(&y, want, 15) == 0.0);
        tensor_free(&a);
        tensor_free(&b);
        tensor_free(&y);
        free(t);
    }
}
END_TEST

START_TEST(einsum_errors_and_empty)
{
    static const char *bad[] = {"ij,jk->iz", "ij,jk->ii", "i.j->ij", "......->", "i1->i",
                                "ij->i->j"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_node *t = node_new("Einsum", 12, 2, 1);
        attr_string(t, "equation", bad[i]);
        char err[256] = "";
        const odet_op_def *def = odet_op_lookup("", "Einsum", 12);
        ck_assert_ptr_nonnull(def);
        odet_status st = def->prepare(&t->node, err, sizeof err);
        ck_assert_msg(st == ODET_ERR_INVALID_ARG, "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err, "equation") != NULL, "%s", err);
        free(t);
    }
    /* rank does not match the term */
    int64_t d3[3] = {2, 3, 4}, d2[2] = {4, 5}, dz[2] = {3, 0}, dz2[2] = {0, 2};
    odet_tensor a = tensor(ODET_FLOAT, 3, d3), b = tensor(ODET_FLOAT, 2, d2), y;
    test_node *t = node_new("Einsum", 12, 2, 1);
    attr_string(t, "equation", "ij,jk->ik");
    const odet_tensor *in[2] = {&a, &b};
    run_result r = run_node_outs(t, in, 2, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    free(t);
    /* summed label of size 0: zeros */
    odet_tensor za = tensor(ODET_FLOAT, 2, dz), zb = tensor(ODET_FLOAT, 2, dz2);
    t = node_new("Einsum", 12, 2, 1);
    attr_string(t, "equation", "ij,jk->ik");
    const odet_tensor *zin[2] = {&za, &zb};
    r = run_node_outs(t, zin, 2, &y, 1, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y.dims[0], 3);
    ck_assert_int_eq(y.dims[1], 2);
    for (int i = 0; i < 6; i++)
        ck_assert(((float *)y.data)[i] == 0.0f);
    tensor_free(&y);
    tensor_free(&a);
    tensor_free(&b);
    tensor_free(&za);
    tensor_free(&zb);
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ Softmax */

START_TEST(softmax_vs_naive)
{
    static const char *ops[3] = {"Softmax", "LogSoftmax", "Hardmax"};
    static const int64_t shapes[3][3] = {{3, 17, 5}, {2, 3, 130}, {1, 1, 7}};
    unsigned seed = 29;
    for (int op = 0; op < 3; op++)
        for (int s = 0; s < 3; s++)
            for (int opset = 11; opset <= 13; opset += 2)
                for (int axis = -3; axis < 3; axis++) {
                    odet_tensor x = tensor(ODET_FLOAT, 3, shapes[s]), y;
                    fill(&x, &seed, op == 2 ? 5 : 0); /* ties for Hardmax */
                    test_node *t = node_new(ops[op], opset, 1, 1);
                    attr_int(t, "axis", axis);
                    const odet_tensor *in[1] = {&x};
                    run_result r = run_node_outs(t, in, 1, &y, 1, 2);
                    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
                    int ax = axis < 0 ? axis + 3 : axis;
                    int64_t outer = odet_dims_prod(x.dims, 0, ax);
                    int64_t n = opset < 13 ? odet_dims_prod(x.dims, ax, 3) : x.dims[ax];
                    int64_t inner = opset < 13 ? 1 : odet_dims_prod(x.dims, ax + 1, 3);
                    for (int64_t o = 0; o < outer; o++)
                        for (int64_t i = 0; i < inner; i++) {
                            const float *xv = (const float *)x.data + o * n * inner + i;
                            const float *yv = (const float *)y.data + o * n * inner + i;
                            double mx = xv[0], sum = 0.0;
                            int64_t arg = 0;
                            for (int64_t j = 1; j < n; j++)
                                if (xv[j * inner] > mx) {
                                    mx = xv[j * inner];
                                    arg = j;
                                }
                            for (int64_t j = 0; j < n; j++)
                                sum += exp(xv[j * inner] - mx);
                            for (int64_t j = 0; j < n; j++) {
                                double w = op == 0   ? exp(xv[j * inner] - mx) / sum
                                           : op == 1 ? xv[j * inner] - mx - log(sum)
                                                     : (double)(j == arg);
                                ck_assert_msg(fabs(yv[j * inner] - w) < 1e-5 * (1 + fabs(w)),
                                              "%s opset %d axis %d shape %d: %g vs %g", ops[op],
                                              opset, axis, s, yv[j * inner], w);
                            }
                        }
                    tensor_free(&x);
                    tensor_free(&y);
                    free(t);
                }
}
END_TEST

START_TEST(softmax_errors)
{
    int64_t d[2] = {2, 3};
    odet_tensor x = tensor(ODET_INT32, 2, d), y;
    test_node *t = node_new("Softmax", 13, 1, 1);
    const odet_tensor *in[1] = {&x};
    run_result r = run_node_outs(t, in, 1, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(r.err, "int32") != NULL, "%s", r.err);
    x.dtype = ODET_FLOAT;
    attr_int(t, "axis", 2);
    r = run_node_outs(t, in, 1, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    tensor_free(&x);
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ Reduce */

enum { N_RED = 10 };
static const char *red_ops[N_RED] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
                                     "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                                     "ReduceLogSumExp", "ReduceSumSquare"};

/* Reduce in double over the axes in mask; out has the kept dims in order. */
static void naive_reduce(int op, const odet_tensor *x, unsigned mask, double *out, int64_t n_out)
{
    int64_t st[8], n = odet_tensor_numel(x);
    odet_strides(x->rank, x->dims, st);
    for (int64_t o = 0; o < n_out; o++)
        out[o] = op == 4 ? 1.0 : op == 2 ? -INFINITY : op == 3 ? INFINITY : 0.0;
    double *mx = malloc((size_t)n_out * sizeof *mx);
    int64_t *cnt = calloc((size_t)n_out, sizeof *cnt);
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t o = 0; o < n_out; o++)
            if (pass == 0)
                mx[o] = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            int64_t o = 0;
            for (int d = 0; d < x->rank; d++)
                if (!(mask & (1u << d)))
                    o = o * x->dims[d] + (i / st[d]) % x->dims[d];
            double v = get(x, i);
            if (pass == 0) {
                cnt[o]++;
                if (v > mx[o])
                    mx[o] = v;
                switch (op) {
                case 2: out[o] = v > out[o] ? v : out[o]; break;
                case 3: out[o] = v < out[o] ? v : out[o]; break;
                case 4: out[o] *= v; break;
                case 5: out[o] += fabs(v); break;
                case 6:
                case 9: out[o] += v * v; break;
                case 8: break;
                default: out[o] += v; break;
                }
            } else if (op == 8) {
                out[o] += exp(v - mx[o]);
            }
        }
    }
    for (int64_t o = 0; o < n_out; o++) {
        switch (op) {
        case 1: out[o] /= (double)cnt[o]; break;
        case 6: out[o] = sqrt(out[o]); break;
        case 7: out[o] = log(out[o]); break;
        case 8: out[o] = mx[o] + log(out[o]); break;
        default: break;
        }
    }
    free(mx);
    free(cnt);
}

START_TEST(reduce_all_axis_subsets)
{
    static const int64_t dims[4] = {3, 1, 17, 130};
    unsigned seed = 31;
    odet_tensor x = tensor(ODET_FLOAT, 4, dims);
    fill(&x, &seed, 0);
    for (int64_t i = 0; i < odet_tensor_numel(&x); i++) /* positive, near 1: Prod / LogSum */
        ((float *)x.data)[i] = 1.0f + 0.01f * ((float *)x.data)[i];
    for (int op = 0; op < N_RED; op++)
        for (unsigned mask = 0; mask < 16; mask++)
            for (int keep = 0; keep < 2; keep++) {
                /* ReduceSum: opset 11 (attribute); others opset 13 (attribute) and
                 * opset 18 (input) on alternate masks. */
                int opset = op == 0 ? 11 : (mask & 1) ? 18 : 13;
                int as_input = opset == 18;
                test_node *t = node_new(red_ops[op], opset, 2, 1);
                int64_t axes[4];
                int na = 0;
                for (int d = 0; d < 4; d++)
                    if (mask & (1u << d))
                        axes[na++] = (d % 2) ? d - 4 : d; /* some negative */
                attr_int(t, "keepdims", keep);
                odet_tensor ax = tensor(ODET_INT64, 1, (int64_t[]){na});
                memcpy(ax.data, axes, (size_t)na * sizeof(int64_t));
                if (!as_input && na)
                    attr_ints(t, "axes", axes, (size_t)na);
                const odet_tensor *in[2] = {&x, as_input && na ? &ax : NULL};
                odet_tensor y;
                run_result r = run_node_outs(t, in, 2, &y, 1, 2);
                ck_assert_msg(r.st == ODET_OK, "%s", r.err);
                unsigned m = mask ? mask : 15u; /* no axes: all */
                int rank = 0;
                for (int d = 0; d < 4; d++) {
                    if (!(m & (1u << d)))
                        ck_assert_int_eq(y.dims[rank++], dims[d]);
                    else if (keep)
                        ck_assert_int_eq(y.dims[rank++], 1);
                }
                ck_assert_int_eq(y.rank, rank);
                int64_t n = odet_tensor_numel(&y);
                double *want = malloc((size_t)n * sizeof *want);
                naive_reduce(op, &x, m, want, n);
                double e = max_rel_err(&y, want, n);
                ck_assert_msg(e < 1e-5, "%s mask %x keepdims %d: max rel err %g", red_ops[op],
                              mask, keep, e);
                free(want);
                tensor_free(&y);
                tensor_free(&ax);
                free(t);
            }
    tensor_free(&x);
}
END_TEST

START_TEST(reduce_integers_and_noop)
{
    unsigned seed = 37;
    int64_t dims[3] = {4, 5, 6};
    odet_dtype dts[2] = {ODET_INT64, ODET_INT32};
    for (int d = 0; d < 2; d++) {
        odet_tensor x = tensor(dts[d], 3, dims);
        fill(&x, &seed, 7);
        int ops[5] = {0, 2, 3, 4, 9};
        for (int k = 0; k < 5; k++) {
            test_node *t = node_new(red_ops[ops[k]], 11, 1, 1);
            int64_t axes[2] = {0, 2};
            attr_ints(t, "axes", axes, 2);
            attr_int(t, "keepdims", 0);
            const odet_tensor *in[1] = {&x};
            odet_tensor y;
            run_result r = run_node_outs(t, in, 1, &y, 1, 1);
            ck_assert_msg(r.st == ODET_OK, "%s", r.err);
            ck_assert_int_eq(y.dtype, dts[d]);
            double want[5];
            naive_reduce(ops[k], &x, 5u, want, 5);
            for (int i = 0; i < 5; i++)
                ck_assert_msg(get(&y, i) == want[i], "%s %s: %g vs %g", red_ops[ops[k]],
                              odet_dtype_name(dts[d]), get(&y, i), want[i]);
            tensor_free(&y);
            free(t);
        }
        tensor_free(&x);
    }
    /* noop_with_empty_axes: the element function alone, shape unchanged */
    odet_tensor x = tensor(ODET_FLOAT, 3, dims);
    fill(&x, &seed, 0);
    for (int op = 0; op < N_RED; op++) {
        test_node *t = node_new(red_ops[op], 18, 1, 1);
        attr_int(t, "noop_with_empty_axes", 1);
        const odet_tensor *in[1] = {&x};
        odet_tensor y;
        run_result r = run_node_outs(t, in, 1, &y, 1, 1);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        ck_assert_int_eq(y.rank, 3);
        for (int64_t i = 0; i < 120; i++) {
            double v = get(&x, i), w;
            switch (op) {
            case 5:
            case 6: w = fabs(v); break;
            case 7: w = log(v); break;
            case 9: w = v * v; break;
            default: w = v; break;
            }
            double g = get(&y, i);
            ck_assert_msg((isnan(w) && isnan(g)) || fabs(g - w) < 1e-6, "%s noop: %g vs %g",
                          red_ops[op], g, w);
        }
        tensor_free(&y);
        free(t);
    }
    tensor_free(&x);
}
END_TEST

START_TEST(reduce_errors)
{
    int64_t dims[2] = {2, 3};
    odet_tensor x = tensor(ODET_FLOAT, 2, dims), y;
    test_node *t = node_new("ReduceMean", 13, 1, 1);
    int64_t axes[1] = {2};
    attr_ints(t, "axes", axes, 1);
    const odet_tensor *in[1] = {&x};
    run_result r = run_node_outs(t, in, 1, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    ck_assert_msg(strstr(r.err, "axis 2") != NULL, "%s", r.err);
    free(t);
    x.dtype = ODET_FLOAT16;
    t = node_new("ReduceSum", 11, 1, 1);
    r = run_node_outs(t, in, 1, &y, 1, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    x.dtype = ODET_FLOAT;
    tensor_free(&x);
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ ArgMax / TopK */

START_TEST(argmax_vs_naive)
{
    static const int64_t dims[3] = {3, 17, 130};
    unsigned seed = 41;
    odet_tensor x = tensor(ODET_FLOAT, 3, dims);
    fill(&x, &seed, 4); /* many ties */
    for (int is_max = 0; is_max < 2; is_max++)
        for (int axis = 0; axis < 3; axis++)
            for (int last = 0; last < 2; last++) {
                test_node *t = node_new(is_max ? "ArgMax" : "ArgMin", 13, 1, 1);
                attr_int(t, "axis", axis);
                attr_int(t, "keepdims", 0);
                attr_int(t, "select_last_index", last);
                const odet_tensor *in[1] = {&x};
                odet_tensor y;
                run_result r = run_node_outs(t, in, 1, &y, 1, 2);
                ck_assert_msg(r.st == ODET_OK, "%s", r.err);
                int64_t outer = odet_dims_prod(dims, 0, axis), n = dims[axis];
                int64_t inner = odet_dims_prod(dims, axis + 1, 3);
                for (int64_t o = 0; o < outer; o++)
                    for (int64_t i = 0; i < inner; i++) {
                        const float *xv = (const float *)x.data + o * n * inner + i;
                        int64_t best = 0;
                        for (int64_t j = 1; j < n; j++) {
                            float v = xv[j * inner], b = xv[best * inner];
                            if ((is_max ? v > b : v < b) || (last && v == b))
                                best = j;
                        }
                        ck_assert_int_eq(((int64_t *)y.data)[o * inner + i], best);
                    }
                tensor_free(&y);
                free(t);
            }
    tensor_free(&x);
}
END_TEST

START_TEST(topk_vs_naive)
{
    static const int64_t dims[3] = {3, 40, 5};
    unsigned seed = 43;
    odet_dtype dts[2] = {ODET_FLOAT, ODET_INT64};
    for (int d = 0; d < 2; d++) {
        odet_tensor x = tensor(dts[d], 3, dims);
        fill(&x, &seed, 9); /* many ties */
        for (int axis = 0; axis < 3; axis++)
            for (int largest = 0; largest < 2; largest++)
                for (int kk = 0; kk < 4; kk++) {
                    int64_t n = dims[axis];
                    int64_t k = kk == 0 ? 1 : kk == 1 ? 2 : kk == 2 ? n - 1 : n;
                    test_node *t = node_new("TopK", 11, 2, 2);
                    attr_int(t, "axis", axis - 3);
                    attr_int(t, "largest", largest);
                    odet_tensor kt = tensor(ODET_INT64, 1, (int64_t[]){1});
                    ((int64_t *)kt.data)[0] = k;
                    const odet_tensor *in[2] = {&x, &kt};
                    odet_tensor y[2];
                    run_result r = run_node_outs(t, in, 2, y, 2, 2);
                    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
                    ck_assert_int_eq(y[0].dims[axis], k);
                    ck_assert_int_eq(y[1].dtype, ODET_INT64);
                    int64_t outer = odet_dims_prod(dims, 0, axis);
                    int64_t inner = odet_dims_prod(dims, axis + 1, 3);
                    char taken[64];
                    for (int64_t o = 0; o < outer; o++)
                        for (int64_t i = 0; i < inner; i++) {
                            memset(taken, 0, sizeof taken);
                            for (int64_t p = 0; p < k; p++) {
                                /* best remaining, lowest index on ties */
                                int64_t best = -1;
                                for (int64_t j = 0; j < n; j++) {
                                    if (taken[j])
                                        continue;
                                    double v = get(&x, o * n * inner + j * inner + i);
                                    double b = best < 0 ? 0
                                                        : get(&x, o * n * inner + best * inner + i);
                                    if (best < 0 || (largest ? v > b : v < b))
                                        best = j;
                                }
                                taken[best] = 1;
                                int64_t yo = o * k * inner + p * inner + i;
                                ck_assert_int_eq(((int64_t *)y[1].data)[yo], best);
                                ck_assert(get(&y[0], yo) ==
                                          get(&x, o * n * inner + best * inner + i));
                            }
                        }
                    tensor_free(&y[0]);
                    tensor_free(&y[1]);
                    tensor_free(&kt);
                    free(t);
                }
        tensor_free(&x);
    }
}
END_TEST

START_TEST(topk_forms_and_errors)
{
    int64_t dims[2] = {2, 6};
    unsigned seed = 47;
    odet_tensor x = tensor(ODET_FLOAT, 2, dims);
    fill(&x, &seed, 0);
    /* opset 1: k attribute; only the Indices output requested */
    test_node *t = node_new("TopK", 1, 1, 2);
    attr_int(t, "k", 3);
    const odet_tensor *in[1] = {&x};
    odet_tensor y[2];
    run_result r = run_node_outs(t, in, 1, y, 2, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(y[0].dims[1], 3);
    for (int64_t o = 0; o < 2; o++)
        for (int64_t p = 1; p < 3; p++)
            ck_assert(((float *)y[0].data)[o * 3 + p - 1] >= ((float *)y[0].data)[o * 3 + p]);
    tensor_free(&y[0]);
    tensor_free(&y[1]);
    free(t);
    /* k > n */
    t = node_new("TopK", 11, 2, 2);
    odet_tensor kt = tensor(ODET_INT64, 1, (int64_t[]){1});
    ((int64_t *)kt.data)[0] = 7;
    const odet_tensor *in2[2] = {&x, &kt};
    r = run_node_outs(t, in2, 2, y, 2, 1);
    ck_assert_int_eq(r.st, ODET_ERR_INVALID_ARG);
    ck_assert_msg(strstr(r.err, "k = 7") != NULL, "%s", r.err);
    /* k = 0: empty outputs */
    ((int64_t *)kt.data)[0] = 0;
    r = run_node_outs(t, in2, 2, y, 2, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(odet_tensor_numel(&y[0]), 0);
    tensor_free(&y[0]);
    tensor_free(&y[1]);
    tensor_free(&kt);
    tensor_free(&x);
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ threads */

START_TEST(threads_do_not_change_results)
{
    /* Reductions, Softmax and TopK split work by output, never inside a sum:
     * results must be bit-identical for any thread count. */
    static const int64_t dims[3] = {64, 33, 40};
    unsigned seed = 53;
    odet_tensor x = tensor(ODET_FLOAT, 3, dims);
    fill(&x, &seed, 0);
    const odet_tensor *in[1] = {&x};
    const char *ops[4] = {"ReduceSum", "ReduceLogSumExp", "Softmax", "ArgMax"};
    for (int op = 0; op < 4; op++) {
        odet_tensor y1, y4;
        test_node *t = node_new(ops[op], 13, 1, 1);
        attr_int(t, "axis", 1);
        if (op < 2) {
            int64_t axes[1] = {1};
            attr_ints(t, "axes", axes, 1);
        }
        run_result r = run_node_outs(t, in, 1, &y1, 1, 1);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        r = run_node_outs(t, in, 1, &y4, 1, 4);
        ck_assert_msg(r.st == ODET_OK, "%s", r.err);
        ck_assert_int_eq(odet_tensor_bytes(&y1), odet_tensor_bytes(&y4));
        ck_assert_msg(memcmp(y1.data, y4.data, odet_tensor_bytes(&y1)) == 0, "%s", ops[op]);
        tensor_free(&y1);
        tensor_free(&y4);
        free(t);
    }
    tensor_free(&x);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ops_matmul_reduce");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, matmul_vs_naive);
    tcase_add_test(tc, matmul_zero_sized);
    tcase_add_test(tc, matmul_errors);
    tcase_add_test(tc, gemm_vs_naive);
    tcase_add_test(tc, gemm_errors);
    tcase_add_test(tc, einsum_vs_naive);
    tcase_add_test(tc, einsum_int_and_double);
    tcase_add_test(tc, einsum_errors_and_empty);
    tcase_add_test(tc, softmax_vs_naive);
    tcase_add_test(tc, softmax_errors);
    tcase_add_test(tc, reduce_all_axis_subsets);
    tcase_add_test(tc, reduce_integers_and_noop);
    tcase_add_test(tc, reduce_errors);
    tcase_add_test(tc, argmax_vs_naive);
    tcase_add_test(tc, topk_vs_naive);
    tcase_add_test(tc, topk_forms_and_errors);
    tcase_add_test(tc, threads_do_not_change_results);
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
