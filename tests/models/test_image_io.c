/* Image loading (good and broken files), writing and owned buffers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "odet/image.h"
#include "test_util.h"

/* Load `name`, expect status `want` and a message containing each of `subs`. */
static void expect_load_error(const char *name, odet_status want, const char *sub1,
                              const char *sub2)
{
    char err[ODET_ERRBUF_SIZE] = "";
    odet_image_buf *b = (odet_image_buf *)&err; /* must be reset to NULL */
    const char *path = tu_data(name);
    odet_status st = odet_image_load(path, &b, err, sizeof err);
    printf("%-24s -> %-20s %s\n", name, odet_status_str(st), err);
    ck_assert_msg(st == want, "%s: got %s (%s), want %s", name, odet_status_str(st), err,
                  odet_status_str(want));
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err, name) != NULL, "%s: message does not name the file: %s", name, err);
    if (sub1)
        ck_assert_msg(strstr(err, sub1) != NULL, "%s: '%s' not in: %s", name, sub1, err);
    if (sub2)
        ck_assert_msg(strstr(err, sub2) != NULL, "%s: '%s' not in: %s", name, sub2, err);
}

START_TEST(test_bad_files)
{
    expect_load_error("does_not_exist.png", ODET_ERR_IO, "cannot open", NULL);
    expect_load_error("empty.png", ODET_ERR_PARSE, "empty", "0 bytes");
    expect_load_error("text.png", ODET_ERR_PARSE, "not a recognised image", NULL);
    expect_load_error("truncated.jpg", ODET_ERR_PARSE, "truncated JPEG", NULL);
    expect_load_error("truncated.png", ODET_ERR_PARSE, "truncated PNG", NULL);
    expect_load_error("truncated.bmp", ODET_ERR_PARSE, "truncated BMP", NULL);
    expect_load_error("huge_100000x100000.png", ODET_ERR_LIMIT, "100000x100000", "16384");
    expect_load_error("wide_20000x10.png", ODET_ERR_LIMIT, "20000x10", NULL);
    fflush(stdout);

    char err[ODET_ERRBUF_SIZE];
    odet_image_buf *b = NULL;
    ck_assert_int_eq(odet_image_load(NULL, &b, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_image_load(tu_data("pixel_1x1.png"), NULL, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_image_load_memory(NULL, 0, "x", &b, err, sizeof err), ODET_ERR_PARSE);
    ck_assert_int_eq(odet_image_load_memory(NULL, 5, "x", &b, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    /* a directory */
    ck_assert_int_eq(odet_image_load(tu_data(""), &b, err, sizeof err), ODET_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "directory"));
    ck_assert_ptr_null(b);
    /* messages fit small buffers; NULL buffers are accepted */
    char small[8];
    ck_assert_int_eq(odet_image_load(tu_data("empty.png"), &b, small, sizeof small),
                     ODET_ERR_PARSE);
    ck_assert_uint_eq(strlen(small), 7);
    ck_assert_int_eq(odet_image_load(tu_data("empty.png"), &b, NULL, 0), ODET_ERR_PARSE);
}
END_TEST

static void expect_pixels(const odet_image *im, const char *raw_name)
{
    size_t len = 0;
    uint8_t *raw = tu_read_file(tu_data(raw_name), &len);
    ck_assert_ptr_nonnull(raw);
    ck_assert_uint_eq(len, (size_t)im->width * im->height * 3);
    int bad = 0;
    for (int y = 0; y < im->height; y++)
        bad += memcmp(im->data + (size_t)y * im->stride, raw + (size_t)y * im->width * 3,
                      (size_t)im->width * 3) != 0;
    ck_assert_int_eq(bad, 0);
    free(raw);
}

START_TEST(test_good_files)
{
    odet_image_buf *b = tu_load("pixel_1x1.png");
    const odet_image *im = odet_image_buf_view(b);
    ck_assert_int_eq(im->width, 1);
    ck_assert_int_eq(im->height, 1);
    ck_assert_int_eq(im->format, ODET_PIXEL_RGB);
    ck_assert(im->data[0] == 200 && im->data[1] == 100 && im->data[2] == 50);
    odet_image_buf_free(b);

    b = tu_load("gray_33x17.png");
    im = odet_image_buf_view(b);
    ck_assert(im->width == 33 && im->height == 17 && im->format == ODET_PIXEL_RGB);
    ck_assert_uint_eq(im->stride, 99);
    int varied = 0;
    int not_gray = 0;
    for (int i = 0; i < 33 * 17; i++) {
        const uint8_t *p = im->data + 3 * i;
        not_gray += p[0] != p[1] || p[1] != p[2];
        varied |= p[0] != im->data[0];
    }
    ck_assert_int_eq(not_gray, 0);
    ck_assert(varied);
    odet_image_buf_free(b);

    b = tu_load("rgba_31x23.png");
    im = odet_image_buf_view(b);
    ck_assert(im->width == 31 && im->height == 23 && im->format == ODET_PIXEL_RGB);
    expect_pixels(im, "rgba_31x23.rgb");
    odet_image_buf_free(b);

    b = tu_load("rgb16_19x13.png");
    im = odet_image_buf_view(b);
    ck_assert(im->width == 19 && im->height == 13);
    expect_pixels(im, "rgb16_19x13.rgb");
    odet_image_buf_free(b);

    /* JPEG: stb's decoder against libjpeg's (PIL) */
    b = tu_load("photo_64x48.jpg");
    im = odet_image_buf_view(b);
    ck_assert(im->width == 64 && im->height == 48);
    size_t len = 0;
    uint8_t *ref = tu_read_file(tu_data("photo_64x48_pil.rgb"), &len);
    ck_assert_uint_eq(len, 64 * 48 * 3);
    int worst = 0;
    double sum = 0;
    for (size_t i = 0; i < len; i++) {
        int d = abs((int)im->data[i] - ref[i]);
        sum += d;
        if (d > worst)
            worst = d;
    }
    printf("photo_64x48.jpg: stb vs libjpeg max |diff| %d, mean %.3f\n", worst, sum / len);
    fflush(stdout);
    ck_assert_int_le(worst, 16);
    ck_assert(sum / len < 1.5);
    free(ref);
    odet_image_buf_free(b);

    /* from memory, same pixels as from the file */
    uint8_t *enc = tu_read_file(tu_data("grad_97x61.png"), &len);
    char err[ODET_ERRBUF_SIZE];
    odet_image_buf *m = NULL;
    ck_assert_int_eq(odet_image_load_memory(enc, len, NULL, &m, err, sizeof err), ODET_OK);
    b = tu_load("grad_97x61.png");
    ck_assert_int_eq(memcmp(odet_image_buf_view(m)->data, odet_image_buf_view(b)->data, 97 * 61 * 3),
                     0);
    odet_image_buf_free(m);
    odet_image_buf_free(b);
    /* memory errors name the buffer */
    ck_assert_int_eq(odet_image_load_memory(enc, 40, "camera frame", &m, err, sizeof err),
                     ODET_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(err, "camera frame"));
    free(enc);
}
END_TEST

/* Every truncation and many byte flips of valid files: a clean error or an
 * image, never a crash (this is what the ASan build is for). */
START_TEST(test_corrupt_never_crashes)
{
    const char *names[] = {"grad_97x61.png", "photo_64x48.jpg", "rgb16_19x13.png",
                           "gray_33x17.png"};
    int rejected_trunc = 0, total_trunc = 0, decoded_flip = 0, total_flip = 0;
    uint32_t seed = 7;
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        size_t len = 0;
        uint8_t *enc = tu_read_file(tu_data(names[f]), &len);
        ck_assert_ptr_nonnull(enc);
        char err[ODET_ERRBUF_SIZE];
        for (size_t n = 0; n < len; n += (len > 2000 ? 7 : 1)) {
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, enc, n);
            odet_image_buf *b = NULL;
            odet_status st = odet_image_load_memory(cut, n, names[f], &b, err, sizeof err);
            total_trunc++;
            rejected_trunc += st != ODET_OK;
            if (st != ODET_OK && b != NULL)
                ck_abort_msg("%s: error with an image returned", names[f]);
            odet_image_buf_free(b);
            free(cut);
        }
        uint8_t *mut = malloc(len);
        for (int it = 0; it < 300; it++) {
            memcpy(mut, enc, len);
            for (int k = 0; k < 1 + it % 4; k++) {
                seed = seed * 1664525u + 1013904223u;
                /* mostly headers: the first 200 bytes */
                size_t at = (seed >> 8) % (it % 3 ? (len < 200 ? len : 200) : len);
                mut[at] ^= (uint8_t)(1u << ((seed >> 4) & 7));
            }
            odet_image_buf *b = NULL;
            odet_status st = odet_image_load_memory(mut, len, names[f], &b, err, sizeof err);
            total_flip++;
            if (st == ODET_OK) {
                decoded_flip++;
                const odet_image *im = odet_image_buf_view(b);
                if (im->width <= 0 || im->width > ODET_IMAGE_MAX_SIDE)
                    ck_abort_msg("%s: bad width %d", names[f], im->width);
            }
            odet_image_buf_free(b);
        }
        free(mut);
        free(enc);
    }
    printf("truncations: %d/%d rejected (the rest are complete files); bit flips: %d/%d "
           "still decode\n",
           rejected_trunc, total_trunc, decoded_flip, total_flip);
    fflush(stdout);
    /* only the full file (and PNG/JPEG prefixes ending past IEND/EOI) decode */
    ck_assert_int_ge(rejected_trunc, total_trunc - 8);
}
END_TEST

START_TEST(test_write_round_trip)
{
    char err[ODET_ERRBUF_SIZE];
    odet_image_buf *b = tu_load("grad_97x61.png");
    const odet_image *rgb = odet_image_buf_view(b);
    const odet_pixel_format fmts[] = {ODET_PIXEL_RGB, ODET_PIXEL_BGR, ODET_PIXEL_RGBA,
                                      ODET_PIXEL_BGRA};
    for (size_t f = 0; f < 4; f++) {
        odet_image v;
        uint8_t *mem = tu_convert(rgb, fmts[f], 9, &v);
        const char *path = tu_tmp("round_trip.PNG");
        ck_assert_int_eq(odet_image_write(path, &v, err, sizeof err), ODET_OK);
        odet_image_buf *r = NULL;
        ck_assert_int_eq(odet_image_load(path, &r, err, sizeof err), ODET_OK);
        ck_assert_int_eq(memcmp(odet_image_buf_view(r)->data, rgb->data, 97 * 61 * 3), 0);
        odet_image_buf_free(r);
        unlink(path);
        free(mem);
    }
    /* gray PNG */
    odet_image g;
    uint8_t *gm = tu_convert(rgb, ODET_PIXEL_GRAY, 0, &g);
    const char *gpath = tu_tmp("gray.png");
    ck_assert_int_eq(odet_image_write(gpath, &g, err, sizeof err), ODET_OK);
    odet_image_buf *r = NULL;
    ck_assert_int_eq(odet_image_load(gpath, &r, err, sizeof err), ODET_OK);
    int bad = 0;
    for (int i = 0; i < 97 * 61; i++)
        bad += odet_image_buf_view(r)->data[3 * i + 1] != gm[i];
    ck_assert_int_eq(bad, 0);
    odet_image_buf_free(r);
    unlink(gpath);
    free(gm);

    /* JPEG: lossy, close */
    const char *jpath = tu_tmp("out.jpeg");
    ck_assert_int_eq(odet_image_write(jpath, rgb, err, sizeof err), ODET_OK);
    ck_assert_int_eq(odet_image_load(jpath, &r, err, sizeof err), ODET_OK);
    const odet_image *j = odet_image_buf_view(r);
    ck_assert(j->width == 97 && j->height == 61);
    double sum = 0;
    for (int i = 0; i < 97 * 61 * 3; i++)
        sum += abs((int)j->data[i] - rgb->data[i]);
    ck_assert(sum / (97 * 61 * 3) < 6.0);
    odet_image_buf_free(r);
    unlink(jpath);

    ck_assert_int_eq(odet_image_write(tu_tmp("x.bmp"), rgb, err, sizeof err), ODET_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "extension"));
    ck_assert_int_eq(odet_image_write("/nonexistent-dir/x.png", rgb, err, sizeof err), ODET_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x.png"));
    odet_image_buf_free(b);
}
END_TEST

START_TEST(test_buffers)
{
    char err[ODET_ERRBUF_SIZE];
    odet_image_buf *b = NULL;
    ck_assert_int_eq(odet_image_buf_create(5, 3, ODET_PIXEL_BGRA, &b, err, sizeof err), ODET_OK);
    const odet_image *v = odet_image_buf_view(b);
    ck_assert(v->width == 5 && v->height == 3 && v->stride == 20 && v->format == ODET_PIXEL_BGRA);
    uint8_t *px = odet_image_buf_pixels(b);
    ck_assert_ptr_eq(px, v->data);
    for (int i = 0; i < 60; i++)
        ck_assert_int_eq(px[i], 0);
    odet_image_buf_free(b);
    odet_image_buf_free(NULL);
    ck_assert_int_eq(odet_image_buf_create(0, 3, ODET_PIXEL_RGB, &b, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_image_buf_create(16385, 3, ODET_PIXEL_RGB, &b, err, sizeof err),
                     ODET_ERR_LIMIT);
    ck_assert_int_eq(odet_image_buf_create(3, 3, (odet_pixel_format)9, &b, err, sizeof err),
                     ODET_ERR_INVALID_ARG);
    ck_assert_int_eq(odet_pixel_format_bytes(ODET_PIXEL_GRAY), 1);
    ck_assert_str_eq(odet_pixel_format_name(ODET_PIXEL_BGRA), "BGRA");
    ck_assert_ptr_null(odet_image_buf_view(NULL));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("image_io");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_good_files);
    tcase_add_test(tc, test_corrupt_never_crashes);
    tcase_add_test(tc, test_write_round_trip);
    tcase_add_test(tc, test_buffers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
