/* Linear assignment: scipy goldens, brute force over all permutations up to
 * 7x7, and the two solvers (square JV, rectangular SAP) against each other. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

/* A valid assignment: min(r, c) pairs, no row or column twice, no forbidden
 * pair; returns its total. */
static double check_valid(const float *cost, size_t r, size_t c, const int32_t *r2c,
                          int maximize)
{
    unsigned char *used = calloc(c + 1, 1);
    size_t pairs = 0;
    double total = 0.0;
    for (size_t i = 0; i < r; i++) {
        if (r2c[i] < 0)
            continue;
        ck_assert_int_lt(r2c[i], (int32_t)c);
        ck_assert_msg(!used[r2c[i]], "column %d used twice", r2c[i]);
        used[r2c[i]] = 1;
        float v = cost[i * c + (size_t)r2c[i]];
        ck_assert_msg(isfinite(v), "forbidden pair (%zu, %d) used (maximize %d)", i, r2c[i],
                      maximize);
        total += v;
        pairs++;
    }
    ck_assert_uint_eq(pairs, r < c ? r : c);
    free(used);
    return total;
}

static int solve(const float *cost, size_t r, size_t c, unsigned flags, int32_t *r2c,
                 double *total)
{
    size_t sz = odet_linear_assignment_workspace_size(r, c, flags);
    void *ws = malloc(sz);
    int32_t *c2r = malloc((c + 1) * sizeof *c2r);
    int st = odet_linear_assignment_ws(cost, r, c, flags, r2c, c2r, total, ws, sz);
    if (st == ODET_PP_OK) {
        for (size_t j = 0; j < c; j++)
            if (c2r[j] >= 0)
                ck_assert_int_eq(r2c[c2r[j]], (int32_t)j);
        check_valid(cost, r, c, r2c, (flags & ODET_ASSIGN_MAXIMIZE) != 0);
    }
    free(c2r);
    free(ws);
    return st;
}

START_TEST(scipy_goldens)
{
    gold_file *g = gold_open("assign.txt");
    ck_assert_uint_gt(g->n, 30);
    for (size_t k = 0; k < g->n; k++) {
        const gold_case *cs = &g->cases[k];
        const gold_array *shape = gold_get(cs, "shape");
        size_t r = (size_t)shape->v[0], c = (size_t)shape->v[1];
        int maximize = (int)gold_get(cs, "maximize")->v[0];
        int feasible = (int)gold_get(cs, "feasible")->v[0];
        float *cost = gold_f32(gold_get(cs, "cost"));
        const gold_array *ref = gold_get(cs, "row_to_col");
        double ref_total = gold_get(cs, "total")->v[0];
        int32_t *r2c = malloc((r + 1) * sizeof *r2c);
        double total = -1.0;
        int st = solve(cost, r, c, maximize ? ODET_ASSIGN_MAXIMIZE : 0, r2c, &total);
        if (!feasible) {
            ck_assert_msg(st == ODET_PP_ERR_INFEASIBLE, "%s: status %d", cs->name, st);
        } else {
            ck_assert_msg(st == ODET_PP_OK, "%s: status %d", cs->name, st);
            ck_assert_msg(close_enough(total, ref_total, 1e-9, 1e-12), "%s: total %.17g scipy %.17g",
                          cs->name, total, ref_total);
            /* unique optima: the same assignment as scipy */
            if (strncmp(cs->name, "tied", 4) != 0 && strncmp(cs->name, "constant", 8) != 0)
                for (size_t i = 0; i < r; i++)
                    ck_assert_msg(r2c[i] == (int32_t)ref->v[i], "%s: row %zu -> %d, scipy %d",
                                  cs->name, i, r2c[i], (int)ref->v[i]);
            /* the allocating form */
            if (!maximize) {
                double t2 = 0.0;
                ck_assert_int_eq(odet_linear_assignment(cost, r, c, r2c, &t2), ODET_PP_OK);
                ck_assert(t2 == total);
            }
        }
        free(cost);
        free(r2c);
    }
    gold_free(g);
}
END_TEST

/* Minimum over all injections of the smaller side into the larger one. */
static double brute_rec(const float *cost, size_t r, size_t c, int transposed, size_t depth,
                        unsigned used, double acc, double best)
{
    size_t n = transposed ? c : r, m = transposed ? r : c;
    if (depth == n)
        return acc < best ? acc : best;
    for (size_t j = 0; j < m; j++) {
        if (used & (1u << j))
            continue;
        float v = transposed ? cost[j * c + depth] : cost[depth * c + j];
        if (!isfinite(v))
            continue;
        best = brute_rec(cost, r, c, transposed, depth + 1, used | (1u << j), acc + v, best);
    }
    return best;
}

static double brute_force(const float *cost, size_t r, size_t c)
{
    return brute_rec(cost, r, c, r > c, 0, 0u, 0.0, INFINITY);
}

START_TEST(brute_force_small)
{
    test_rng rng = {31337u + (uint64_t)_i};
    int32_t r2c[8];
    for (size_t r = 1; r <= 7; r++) {
        for (size_t c = 1; c <= 7; c++) {
            for (int rep = 0; rep < 6; rep++) {
                float cost[49];
                int kind = rep % 3; /* uniform, small integers (ties), some forbidden */
                for (size_t k = 0; k < r * c; k++) {
                    if (kind == 1)
                        cost[k] = (float)(rng_next(&rng) % 4);
                    else
                        cost[k] = (float)(rng_uniform(&rng) * 100.0 - 20.0);
                    if (kind == 2 && rng_next(&rng) % 4 == 0)
                        cost[k] = INFINITY;
                }
                double want = brute_force(cost, r, c), got = 0.0;
                int st = solve(cost, r, c, 0, r2c, &got);
                if (isinf(want)) {
                    ck_assert_int_eq(st, ODET_PP_ERR_INFEASIBLE);
                    continue;
                }
                ck_assert_int_eq(st, ODET_PP_OK);
                ck_assert_msg(fabs(got - want) <= 1e-9 * (1.0 + fabs(want)),
                              "%zux%zu: %.17g, brute force %.17g", r, c, got, want);
                /* maximize == minimize of the negation */
                if (kind != 2) {
                    float neg[49];
                    for (size_t k = 0; k < r * c; k++)
                        neg[k] = -cost[k];
                    double gmax = 0.0;
                    ck_assert_int_eq(solve(neg, r, c, ODET_ASSIGN_MAXIMIZE, r2c, &gmax),
                                     ODET_PP_OK);
                    ck_assert(fabs(gmax + want) <= 1e-9 * (1.0 + fabs(want)));
                }
            }
        }
    }
}
END_TEST

/* The square solver (JV) against the rectangular one (SAP): an extra column
 * of prohibitive cost turns the same problem into a rectangular one. */
START_TEST(jv_vs_sap)
{
    test_rng rng = {99u + (uint64_t)_i};
    const size_t sizes[] = {2, 9, 33, 100, 257};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        float *sq = malloc(n * n * sizeof *sq), *wide = malloc(n * (n + 1) * sizeof *wide);
        int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        for (int kind = 0; kind < 6; kind++) {
            for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < n; j++) {
                    float v;
                    switch (kind) {
                    case 0: v = (float)rng_uniform(&rng); break;
                    case 1: v = (float)(rng_next(&rng) % 3); break;             /* heavy ties */
                    case 2: v = 1.0f + (float)(rng_next(&rng) % 5) * 1e-7f; break; /* near ties */
                    case 3: v = (float)((i + 1) * (j + 1) % 17); break;         /* structured */
                    case 4: v = (float)(i * j); break;                          /* anti-Monge */
                    default: v = 3.0f; break;                                   /* constant */
                    }
                    sq[i * n + j] = v;
                    wide[i * (n + 1) + j] = v;
                }
                wide[i * (n + 1) + n] = 1e30f;
            }
            double ta = 0.0, tb = 0.0;
            ck_assert_int_eq(solve(sq, n, n, 0, a, &ta), ODET_PP_OK);
            ck_assert_int_eq(solve(wide, n, n + 1, 0, b, &tb), ODET_PP_OK);
            ck_assert_msg(fabs(ta - tb) <= 1e-9 * (1.0 + fabs(ta)), "n %zu kind %d: %.17g vs %.17g",
                          n, kind, ta, tb);
        }
        free(sq);
        free(wide);
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(invalid_input)
{
    float m[6] = {1, 2, 3, 4, 5, 6};
    int32_t r2c[3];
    double total = 7.0;
    char ws[4096];
    ck_assert_int_eq(odet_linear_assignment(m, 2, 3, r2c, &total), ODET_PP_OK);
    ck_assert(total == 6.0); /* 1 + 5 or 2 + 4 */
    m[4] = NAN;
    ck_assert_int_eq(odet_linear_assignment(m, 2, 3, r2c, &total), ODET_PP_ERR_NONFINITE);
    m[4] = -INFINITY;
    ck_assert_int_eq(odet_linear_assignment(m, 2, 3, r2c, &total), ODET_PP_ERR_NONFINITE);
    m[4] = INFINITY;
    ck_assert_int_eq(odet_linear_assignment(m, 2, 3, r2c, &total), ODET_PP_OK);
    ck_assert(total == 6.0); /* 2 + 4 */
    ck_assert_int_eq(odet_linear_assignment_ws(m, 2, 3, ODET_ASSIGN_MAXIMIZE, r2c, NULL, &total, ws,
                                               sizeof ws),
                     ODET_PP_ERR_NONFINITE);
    m[4] = 5;
    ck_assert_int_eq(odet_linear_assignment_ws(m, 2, 3, 8u, r2c, NULL, &total, ws, sizeof ws),
                     ODET_PP_ERR_PARAM);
    ck_assert_int_eq(odet_linear_assignment_ws(m, 2, 3, 0, r2c, NULL, &total, ws, 8),
                     ODET_PP_ERR_WORKSPACE);
    ck_assert_int_eq(odet_linear_assignment_ws(m, 2, 3, 0, r2c, NULL, &total, NULL, 0),
                     ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_linear_assignment(m, (size_t)-2, 3, r2c, &total), ODET_PP_ERR_RANGE);
    ck_assert_int_eq(odet_linear_assignment(NULL, 2, 3, r2c, &total), ODET_PP_ERR_NULL);
    ck_assert_int_eq(odet_linear_assignment(m, 2, 3, NULL, &total), ODET_PP_ERR_NULL);
    /* empty sides */
    r2c[0] = r2c[1] = 5;
    ck_assert_int_eq(odet_linear_assignment(m, 2, 0, r2c, &total), ODET_PP_OK);
    ck_assert_int_eq(r2c[0], -1);
    ck_assert_int_eq(r2c[1], -1);
    ck_assert(total == 0.0);
    ck_assert_int_eq(odet_linear_assignment(NULL, 0, 0, NULL, NULL), ODET_PP_OK);
    ck_assert_uint_eq(odet_linear_assignment_workspace_size((size_t)-1, 3, 0), SIZE_MAX);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postprocess_assign");
    TCase *tc = tcase_create("assign");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, scipy_goldens);
    tcase_add_loop_test(tc, brute_force_small, 0, 4);
    tcase_add_loop_test(tc, jv_vs_sap, 0, 3);
    tcase_add_test(tc, invalid_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
