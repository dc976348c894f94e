/* Loader, session and error-path tests. Models come from make_loader_models.py;
 * the initializer values there are [1..6] * 0.5 (float/double) or [1..6] (ints). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odet/engine.h"

static char path_buf[4096];

static const char *data(const char *name)
{
    const char *root = getenv("ODET_TEST_DATA");
    snprintf(path_buf, sizeof path_buf, "%s/loader/%s", root ? root : "tests/engine/data", name);
    return path_buf;
}

static odet_status load(const char *name, odet_model **m, char *err)
{
    return odet_model_load(data(name), m, err, ODET_ERRBUF_SIZE);
}

/* Load, run Y = X + C with X = 0 (or true for bool), return Y as doubles. */
static void run_add_zero(const char *name, odet_dtype dt, double *y)
{
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    odet_status st = load(name, &m, err);
    ck_assert_msg(st == ODET_OK, "%s: %s", name, err);
    odet_session *s = NULL;
    ck_assert_int_eq(odet_session_create(m, NULL, &s, err, sizeof err), ODET_OK);
    unsigned char buf[6 * 8];
    memset(buf, 0, sizeof buf);
    if (dt == ODET_BOOL)
        memset(buf, 1, 6);
    odet_tensor x = {.dtype = dt, .rank = 2, .dims = {2, 3}, .data = buf};
    st = odet_session_run(s, &x, 1, err, sizeof err);
    ck_assert_msg(st == ODET_OK, "%s: %s", name, err);
    const odet_tensor *out = odet_session_output(s, 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(out->dtype, dt);
    ck_assert_int_eq(out->rank, 2);
    for (int i = 0; i < 6; i++) {
        switch (dt) {
        case ODET_FLOAT: y[i] = ((float *)out->data)[i]; break;
        case ODET_DOUBLE: y[i] = ((double *)out->data)[i]; break;
        case ODET_INT64: y[i] = (double)((int64_t *)out->data)[i]; break;
        case ODET_INT32: y[i] = ((int32_t *)out->data)[i]; break;
        case ODET_INT8: y[i] = ((int8_t *)out->data)[i]; break;
        default: y[i] = ((uint8_t *)out->data)[i]; break;
        }
    }
    odet_session_free(s);
    odet_model_free(m);
}

START_TEST(initializer_encodings)
{
    static const struct {
        const char *file;
        odet_dtype dt;
        double scale;
    } cases[] = {
        {"init_float_raw.onnx", ODET_FLOAT, 0.5},   {"init_float_typed.onnx", ODET_FLOAT, 0.5},
        {"init_double_raw.onnx", ODET_DOUBLE, 0.5}, {"init_double_typed.onnx", ODET_DOUBLE, 0.5},
        {"init_int64_raw.onnx", ODET_INT64, 1},     {"init_int64_typed.onnx", ODET_INT64, 1},
        {"init_int32_raw.onnx", ODET_INT32, 1},     {"init_int32_typed.onnx", ODET_INT32, 1},
        {"init_int8_raw.onnx", ODET_INT8, 1},       {"init_int8_typed.onnx", ODET_INT8, 1},
        {"init_uint8_raw.onnx", ODET_UINT8, 1},     {"init_uint8_typed.onnx", ODET_UINT8, 1},
        {"external/model.onnx", ODET_FLOAT, 0.5},   {"constant_node.onnx", ODET_FLOAT, 0.5},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double y[6];
        run_add_zero(cases[c].file, cases[c].dt, y);
        for (int i = 0; i < 6; i++)
            ck_assert_msg(y[i] == (i + 1) * cases[c].scale, "%s[%d] = %g", cases[c].file, i, y[i]);
    }
}
END_TEST

START_TEST(bool_initializers)
{
    const unsigned char want[6] = {1, 0, 1, 0, 1, 1};
    for (int k = 0; k < 2; k++) {
        double y[6];
        run_add_zero(k ? "init_bool_typed.onnx" : "init_bool_raw.onnx", ODET_BOOL, y);
        for (int i = 0; i < 6; i++)
            ck_assert_int_eq((int)y[i], want[i]);
    }
}
END_TEST

static void expect_error(const char *file, odet_status want, const char *needle1,
                         const char *needle2)
{
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = (odet_model *)1;
    odet_status st = load(file, &m, err);
    ck_assert_msg(st == want, "%s: got %s (%s), want %s", file, odet_status_str(st), err,
                  odet_status_str(want));
    ck_assert_ptr_null(m);
    if (needle1)
        ck_assert_msg(strstr(err, needle1), "%s: message '%s' lacks '%s'", file, err, needle1);
    if (needle2)
        ck_assert_msg(strstr(err, needle2), "%s: message '%s' lacks '%s'", file, err, needle2);
}

START_TEST(bad_files)
{
    expect_error("empty.onnx", ODET_ERR_PARSE, "empty.onnx", "0 bytes");
    expect_error("text.onnx", ODET_ERR_PARSE, "text.onnx", "not a valid ONNX model");
    expect_error("truncated.onnx", ODET_ERR_PARSE, "truncated.onnx", NULL);
    expect_error("no_such_file.onnx", ODET_ERR_IO, "no_such_file.onnx", NULL);
    expect_error("huge_dim.onnx", ODET_ERR_LIMIT, "initializer 'C'", "too many elements");
    expect_error("negative_dim.onnx", ODET_ERR_PARSE, "initializer 'C'", "negative");
    expect_error("short_raw.onnx", ODET_ERR_PARSE, "initializer 'C'", "raw_data");
    expect_error("external/missing_file.onnx", ODET_ERR_IO, "missing.bin", "initializer 'C'");
    expect_error("external/short_file.onnx", ODET_ERR_PARSE, "too short", "initializer 'C'");
}
END_TEST

START_TEST(bad_graphs)
{
    expect_error("cycle.onnx", ODET_ERR_GRAPH, "cycle", NULL);
    expect_error("dangling.onnx", ODET_ERR_GRAPH, "add_dangling", "nowhere");
}
END_TEST

START_TEST(unsupported_listed_at_once)
{
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    ck_assert_int_eq(load("unknown_ops.onnx", &m, err), ODET_ERR_UNSUPPORTED);
    const char *needles[] = {"3 nodes", "com.example::Frobnicate", "frob1", "frob2", "NoSuchOp",
                             "nosuch"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        ck_assert_msg(strstr(err, needles[i]), "'%s' lacks '%s'", err, needles[i]);
}
END_TEST

START_TEST(metadata_kept)
{
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    ck_assert_int_eq(load("metadata.onnx", &m, err), ODET_OK);
    ck_assert_str_eq(odet_model_metadata(m, "odet.arch"), "centernet");
    ck_assert_str_eq(odet_model_metadata(m, "odet.class_names"), "a,b,c");
    ck_assert_ptr_null(odet_model_metadata(m, "missing"));
    ck_assert_uint_eq(odet_model_metadata_count(m), 2);
    odet_model_free(m);
}
END_TEST

START_TEST(dynamic_batch_replans)
{
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    ck_assert_int_eq(load("dynamic_batch.onnx", &m, err), ODET_OK);
    odet_dtype dt;
    int rank;
    int64_t dims[ODET_MAX_RANK];
    ck_assert_int_eq(odet_model_input_info(m, 0, &dt, &rank, dims), ODET_OK);
    ck_assert_int_eq(rank, 2);
    ck_assert_int_eq(dims[0], -1);
    ck_assert_int_eq(dims[1], 3);
    odet_session *s = NULL;
    ck_assert_int_eq(odet_session_create(m, NULL, &s, err, sizeof err), ODET_OK);
    const int64_t batches[] = {2, 5, 1, 5};
    for (int r = 0; r < 4; r++) {
        int64_t n = batches[r];
        float x[15];
        for (int i = 0; i < n * 3; i++)
            x[i] = (float)(i - 4);
        odet_tensor in = {.dtype = ODET_FLOAT, .rank = 2, .dims = {n, 3}, .data = x};
        ck_assert_msg(odet_session_run(s, &in, 1, err, sizeof err) == ODET_OK, "%s", err);
        const odet_tensor *y = odet_session_output(s, 0);
        ck_assert_int_eq(y->dims[0], n);
        for (int i = 0; i < n * 3; i++)
            ck_assert_float_eq(((float *)y->data)[i], x[i] > 0 ? x[i] : 0.0f);
    }
    /* wrong dtype, rank and fixed dim are reported with the input's name */
    float x[6] = {0};
    odet_tensor bad = {.dtype = ODET_INT32, .rank = 2, .dims = {2, 3}, .data = x};
    ck_assert_int_eq(odet_session_run(s, &bad, 1, err, sizeof err), ODET_ERR_DTYPE);
    ck_assert_ptr_nonnull(strstr(err, "'X'"));
    bad.dtype = ODET_FLOAT;
    bad.rank = 3;
    ck_assert_int_eq(odet_session_run(s, &bad, 1, err, sizeof err), ODET_ERR_SHAPE);
    bad.rank = 2;
    bad.dims[1] = 4;
    ck_assert_int_eq(odet_session_run(s, &bad, 1, err, sizeof err), ODET_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(err, "dimension 1 must be 3"));
    ck_assert_int_eq(odet_session_run(s, &bad, 2, err, sizeof err), ODET_ERR_INVALID_ARG);
    odet_session_free(s);
    odet_model_free(m);
}
END_TEST

START_TEST(load_from_buffer)
{
    FILE *f = fopen(data("init_float_raw.onnx"), "rb");
    ck_assert_ptr_nonnull(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    ck_assert_int_eq(odet_model_load_buffer(buf, n, NULL, &m, err, sizeof err), ODET_OK);
    ck_assert_uint_eq(odet_model_input_count(m), 1);
    ck_assert_str_eq(odet_model_input_name(m, 0), "X");
    ck_assert_str_eq(odet_model_output_name(m, 0), "Y");
    odet_model_free(m);
    /* every truncation of a valid model fails cleanly */
    for (size_t cut = 0; cut < n; cut += 7) {
        m = NULL;
        odet_status st = odet_model_load_buffer(buf, cut, NULL, &m, err, sizeof err);
        if (st == ODET_OK)
            odet_model_free(m);
        else
            ck_assert_ptr_null(m);
    }
}
END_TEST

/* Corrupt single bytes of a valid model: loading must fail cleanly or succeed,
 * never crash (run under ASan/UBSan in CI). */
START_TEST(corrupted_bytes)
{
    FILE *f = fopen(data("metadata.onnx"), "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char err[ODET_ERRBUF_SIZE];
    unsigned seed = 12345;
    for (size_t pos = 0; pos < n; pos++) {
        for (int k = 0; k < 3; k++) {
            unsigned char saved = buf[pos];
            seed = seed * 1103515245u + 12345u;
            buf[pos] = k == 0 ? 0xff : k == 1 ? 0x00 : (unsigned char)(seed >> 16);
            odet_model *m = NULL;
            if (odet_model_load_buffer(buf, n, NULL, &m, err, sizeof err) == ODET_OK) {
                odet_session *s = NULL;
                if (odet_session_create(m, NULL, &s, err, sizeof err) == ODET_OK) {
                    float x[6] = {0};
                    odet_tensor in = {.dtype = ODET_FLOAT, .rank = 2, .dims = {2, 3}, .data = x};
                    (void)odet_session_run(s, &in, 1, err, sizeof err);
                }
                odet_session_free(s);
                odet_model_free(m);
            }
            buf[pos] = saved;
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, initializer_encodings);
    tcase_add_test(tc, bool_initializers);
    tcase_add_test(tc, bad_files);
    tcase_add_test(tc, bad_graphs);
    tcase_add_test(tc, unsupported_listed_at_once);
    tcase_add_test(tc, metadata_kept);
    tcase_add_test(tc, dynamic_batch_replans);
    tcase_add_test(tc, load_from_buffer);
    tcase_add_test(tc, corrupted_bytes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
