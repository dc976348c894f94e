/* Drawing of boxes and labels (tools/draw.c) on small canvases. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

#define W 64
#define H 48
#define PAD 5 /* bytes after each row, must stay untouched */

static uint8_t mem[H * (W * 3 + PAD)];
static const odet_canvas cv = {mem, W, H, W * 3 + PAD};
static const uint8_t grey[3] = {50, 50, 50};

static void clear(void)
{
    for (int y = 0; y < H; y++) {
        uint8_t *r = mem + (size_t)y * cv.stride;
        for (int x = 0; x < W; x++)
            memcpy(r + 3 * x, grey, 3);
        memset(r + W * 3, 0xAB, PAD);
    }
}

static const uint8_t *px(int x, int y)
{
    return mem + (size_t)y * cv.stride + 3 * (size_t)x;
}

static int is(int x, int y, const uint8_t rgb[3])
{
    return memcmp(px(x, y), rgb, 3) == 0;
}

static void check_padding(void)
{
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int k = 0; k < PAD; k++)
            bad += mem[(size_t)y * cv.stride + W * 3 + k] != 0xAB;
    ck_assert_int_eq(bad, 0);
}

START_TEST(test_rect)
{
    const uint8_t red[3] = {255, 0, 0};
    clear();
    odet_draw_rect(&cv, 10, 10, 40, 30, 2, red);
    ck_assert(is(10, 10, red) && is(40, 30, red) && is(40, 10, red) && is(10, 30, red));
    ck_assert(is(11, 20, red) && is(39, 20, red) && is(25, 11, red) && is(25, 29, red));
    ck_assert(is(12, 20, grey) && is(38, 20, grey) && is(25, 12, grey) && is(25, 28, grey));
    ck_assert(is(9, 20, grey) && is(41, 20, grey) && is(25, 9, grey) && is(25, 31, grey));
    /* partly and fully outside: clipped, no writes past the rows */
    clear();
    odet_draw_rect(&cv, -1, -1, 100, 100, 3, red);
    ck_assert(is(5, 0, red) && is(5, 1, red) && is(5, 2, grey));
    ck_assert(is(0, 5, red) && is(1, 5, red) && is(2, 5, grey));
    ck_assert(is(W - 1, H - 1, grey) && is(5, 5, grey));
    odet_draw_rect(&cv, 1000, 1000, 2000, 2000, 2, red);
    odet_draw_rect(&cv, -2000000000, -2000000000, 2000000000, 2000000000, 2, red);
    odet_draw_fill_rect(&cv, 60, 44, 80, 80, red);
    ck_assert(is(63, 47, red) && is(59, 47, grey));
    check_padding();
}
END_TEST

START_TEST(test_text)
{
    const uint8_t white[3] = {255, 255, 255};
    int tw, th;
    odet_draw_text_size("Hi 0.87", 1, &tw, &th);
    ck_assert_int_gt(tw, 20);
    ck_assert_int_eq(th, 9);
    odet_draw_text_size("Hi 0.87", 3, &tw, &th);
    ck_assert_int_eq(th, 27);
    clear();
    odet_draw_text(&cv, 4, 6, "Hi 0.87", 1, white);
    odet_draw_text_size("Hi 0.87", 1, &tw, &th);
    int inside = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (is(x, y, white)) {
                if (!(x >= 4 && x < 4 + tw && y >= 6 && y < 6 + th))
                    ck_abort_msg("text pixel outside its box at %d,%d", x, y);
                inside++;
            }
    ck_assert_int_gt(inside, 20);
    /* 'H': two vertical strokes, the left one at the pen position */
    ck_assert(is(4, 7, white) && is(4, 10, white));
    /* scale 2 doubles every stroke */
    clear();
    odet_draw_text(&cv, 0, 0, "H", 2, white);
    ck_assert(is(0, 2, white) && is(1, 2, white) && is(0, 3, white));
    /* control and non-ASCII characters are replaced, clipping at the edges */
    odet_draw_text(&cv, 60, 44, "\x01\xff\n", 4, white);
    odet_draw_text(&cv, -10, -3, "clip", 1, white);
    check_padding();
}
END_TEST

START_TEST(test_label_and_detection)
{
    const uint8_t bg[3] = {0, 0, 200}, fg[3] = {255, 255, 0};
    clear();
    int bh = odet_draw_label(&cv, 5, 5, "ab", 1, bg, fg);
    ck_assert_int_eq(bh, 11);
    ck_assert(is(5, 5, bg) && is(5, 15, bg) && is(5, 16, grey));
    int fgc = 0;
    for (int y = 5; y < 16; y++)
        for (int x = 5; x < 30; x++)
            fgc += is(x, y, fg);
    ck_assert_int_gt(fgc, 5);

    /* a detection: class colour box, label above it */
    uint8_t col[3];
    odet_draw_class_color(3, col);
    clear();
    odet_draw_detection(&cv, 10.4f, 20.0f, 50.9f, 40.0f, 3, "cat", 0.87f, 1);
    ck_assert(is(10, 20, col) && is(11, 30, col) && is(12, 30, grey));
    ck_assert(is(50, 40, col) && is(50, 25, col) && is(51, 25, grey));
    ck_assert(is(10, 9, col)); /* label background: 11 px above y = 20 */
    ck_assert(is(10, 8, grey));
    /* near the top edge the label goes inside the box */
    clear();
    odet_draw_detection(&cv, 2.0f, 1.0f, 30.0f, 20.0f, 0, NULL, 0.5f, 1);
    odet_draw_class_color(0, col);
    ck_assert(is(2, 1, col) && is(3, 8, col));
    /* NaN / inverted / huge boxes: nothing drawn or clipped */
    clear();
    odet_draw_detection(&cv, NAN, 1.0f, 30.0f, 20.0f, 0, "x", 0.5f, 1);
    odet_draw_detection(&cv, 30.0f, 1.0f, 10.0f, 20.0f, 0, "x", 0.5f, 1);
    int drawn = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            drawn += !is(x, y, grey);
    ck_assert_int_eq(drawn, 0);
    odet_draw_detection(&cv, -1e30f, -1e30f, 1e30f, 1e30f, 25, "big", 1.0f, 2);
    odet_draw_detection(&cv, INFINITY, 0, INFINITY, 5, -1, "inf", 1.0f, 1000);
    check_padding();
    /* distinct colours for the first classes, grey for negative ids */
    uint8_t a[3], b[3];
    odet_draw_class_color(0, a);
    odet_draw_class_color(1, b);
    ck_assert(memcmp(a, b, 3) != 0);
    odet_draw_class_color(-1, a);
    ck_assert(a[0] == a[1] && a[1] == a[2]);
    ck_assert_int_eq(odet_draw_auto_scale(640, 480), 1);
    ck_assert_int_eq(odet_draw_auto_scale(3840, 2160), 5);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("draw");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rect);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_label_and_detection);
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
