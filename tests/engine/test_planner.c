/* Arena planner: no two simultaneously live buffers overlap, the arena is at
 * least the peak live size and never more than the sum of all buffers; and on
 * a real detector graph the peak is far below the sum of activations. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odet/engine.h"
#include "odet/tensor_io.h"
#include "plan/planner.h"

START_TEST(random_lifetimes)
{
    unsigned seed = 7;
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + trial % 60;
        odet_plan_buf b[60];
        size_t sum = 0;
        for (int i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            b[i].size = 1 + (seed >> 8) % 5000;
            seed = seed * 1664525u + 1013904223u;
            b[i].first = (int)((seed >> 8) % 40);
            seed = seed * 1664525u + 1013904223u;
            b[i].last = b[i].first + (int)((seed >> 8) % 10);
            sum += (b[i].size + 63) & ~(size_t)63;
        }
        size_t total = odet_plan_arena(b, n);
        ck_assert_uint_le(total, sum);
        size_t peak = 0;
        for (int t = 0; t < 50; t++) {
            size_t live = 0;
            for (int i = 0; i < n; i++)
                if (b[i].first <= t && t <= b[i].last)
                    live += b[i].size;
            if (live > peak)
                peak = live;
        }
        ck_assert_uint_ge(total, peak);
        for (int i = 0; i < n; i++) {
            ck_assert_uint_eq(b[i].offset % 64, 0);
            ck_assert_uint_le(b[i].offset + b[i].size, total);
            for (int j = i + 1; j < n; j++) {
                int time = b[i].first <= b[j].last && b[j].first <= b[i].last;
                int space = b[i].offset < b[j].offset + b[j].size &&
                            b[j].offset < b[i].offset + b[i].size;
                ck_assert_msg(!(time && space), "trial %d: buffers %d and %d overlap", trial, i, j);
            }
        }
    }
}
END_TEST

START_TEST(chain_reuses_two_buffers)
{
    /* a chain a->b->c->... of equal sizes needs only two slots */
    odet_plan_buf b[10];
    for (int i = 0; i < 10; i++)
        b[i] = (odet_plan_buf){.size = 1000, .first = i, .last = i + 1};
    ck_assert_uint_eq(odet_plan_arena(b, 10), 2 * 1024);
}
END_TEST

/* Peak arena of each shipped detector graph vs the sum of its activations. */
START_TEST(detector_graph_peak)
{
    const char *root = getenv("ODET_MODELS_DATA");
    const char *names[] = {"centernet", "centernet_dcn", "detr", "vfnet"};
    int checked = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[4096], in_path[4096], err[ODET_ERRBUF_SIZE];
        snprintf(path, sizeof path, "%s/%s/model.onnx", root ? root : "tests/data/models",
                 names[k]);
        snprintf(in_path, sizeof in_path, "%s/%s/test_data_set_0/input_0.pb",
                 root ? root : "tests/data/models", names[k]);
        odet_model *m = NULL;
        ck_assert_msg(odet_model_load(path, &m, err, sizeof err) == ODET_OK, "%s", err);
        odet_tensor in;
        ck_assert_msg(odet_tensor_read_pb(in_path, &in, NULL, 0, err, sizeof err) == ODET_OK,
                      "%s", err);
        odet_session *s = NULL;
        ck_assert_int_eq(odet_session_create(m, NULL, &s, err, sizeof err), ODET_OK);
        ck_assert_msg(odet_session_run(s, &in, 1, err, sizeof err) == ODET_OK, "%s", err);
        odet_plan_stats ps;
        odet_session_plan_stats(s, &ps);
        printf("%s: arena %zu bytes, activations %zu bytes (%.1f%%)\n", names[k], ps.arena_bytes,
               ps.activation_bytes, 100.0 * ps.arena_bytes / ps.activation_bytes);
        ck_assert_uint_gt(ps.activation_bytes, 0);
        ck_assert_msg(ps.arena_bytes * 2 < ps.activation_bytes,
                      "%s: arena %zu is not well below the activation sum %zu", names[k],
                      ps.arena_bytes, ps.activation_bytes);
        odet_tensor_release(&in);
        odet_session_free(s);
        odet_model_free(m);
        checked++;
    }
    ck_assert_int_eq(checked, 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("planner");
    TCase *tc = tcase_create("planner");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, random_lifetimes);
    tcase_add_test(tc, chain_reuses_two_buffers);
    tcase_add_test(tc, detector_graph_peak);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
