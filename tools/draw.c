/* Drawing detections for the command-line tools (see draw.h). Text comes
 * from stb_easy_font, which describes each glyph as axis-aligned quads on a
 * pixel grid; they are rasterised here as filled rectangles. */
#include "draw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* Glyph rows used by stb_easy_font for ASCII 32..126 (descenders included). */
#define GLYPH_HEIGHT 9
#define MAX_TEXT 256
#define MAX_SCALE 64
#define FAR (1 << 28)

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Tableau-20 palette */
static const uint8_t palette[20][3] = {
    {31, 119, 180},  {255, 127, 14},  {44, 160, 44},   {214, 39, 40},   {148, 103, 189},
    {140, 86, 75},   {227, 119, 194}, {127, 127, 127}, {188, 189, 34},  {23, 190, 207},
    {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150}, {197, 176, 213},
    {196, 156, 148}, {247, 182, 210}, {199, 199, 199}, {219, 219, 141}, {158, 218, 229},
};

void odet_draw_class_color(int class_id, uint8_t rgb[3])
{
    if (class_id < 0) {
        rgb[0] = rgb[1] = rgb[2] = 160;
        return;
    }
    memcpy(rgb, palette[class_id % 20], 3);
}

void odet_draw_fill_rect(const odet_canvas *c, int x0, int y0, int x1, int y1,
                         const uint8_t rgb[3])
{
    if (!c || !c->data)
        return;
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 > c->width)
        x1 = c->width;
    if (y1 > c->height)
        y1 = c->height;
    for (int y = y0; y < y1; y++) {
        uint8_t *p = c->data + (size_t)y * c->stride + (size_t)x0 * 3;
        for (int x = x0; x < x1; x++, p += 3) {
            p[0] = rgb[0];
            p[1] = rgb[1];
            p[2] = rgb[2];
        }
    }
}

void odet_draw_rect(const odet_canvas *c, int x0, int y0, int x1, int y1, int thickness,
                    const uint8_t rgb[3])
{
    if (x1 < x0 || y1 < y0 || thickness <= 0)
        return;
    /* clamp far outside any canvas so that the edge arithmetic cannot overflow */
    const int lim = FAR;
    int t = thickness > lim ? lim : thickness;
    x0 = x0 < -lim ? -lim : x0 > lim ? lim : x0;
    y0 = y0 < -lim ? -lim : y0 > lim ? lim : y0;
    int X1 = x1 < -lim ? -lim : x1 > lim ? lim + 1 : x1 + 1;  /* exclusive */
    int Y1 = y1 < -lim ? -lim : y1 > lim ? lim + 1 : y1 + 1;
    odet_draw_fill_rect(c, x0, y0, X1, y0 + t, rgb);        /* top */
    odet_draw_fill_rect(c, x0, Y1 - t, X1, Y1, rgb);        /* bottom */
    odet_draw_fill_rect(c, x0, y0, x0 + t, Y1, rgb);        /* left */
    odet_draw_fill_rect(c, X1 - t, y0, X1, Y1, rgb);        /* right */
}

/* Copy text into buf as one printable line. */
static void sanitize(const char *text, char *buf)
{
    size_t n = 0;
    if (text)
        for (; text[n] && n < MAX_TEXT - 1; n++) {
            unsigned char ch = (unsigned char)text[n];
            buf[n] = ch >= 32 && ch <= 126 ? (char)ch : '?';
        }
    buf[n] = 0;
}

void odet_draw_text_size(const char *text, int scale, int *w, int *h)
{
    char buf[MAX_TEXT];
    sanitize(text, buf);
    scale = clampi(scale, 1, MAX_SCALE);
    if (w)
        *w = buf[0] ? stb_easy_font_width(buf) * scale : 0;
    if (h)
        *h = GLYPH_HEIGHT * scale;
}

void odet_draw_text(const odet_canvas *c, int x, int y, const char *text, int scale,
                    const uint8_t rgb[3])
{
    char buf[MAX_TEXT];
    sanitize(text, buf);
    scale = clampi(scale, 1, MAX_SCALE);
    x = clampi(x, -FAR, FAR);
    y = clampi(y, -FAR, FAR);
    /* one character at a time keeps the vertex buffer small */
    float verts[1024];
    int pen = 0;
    for (const char *p = buf; *p; p++) {
        char one[2] = {*p, 0};
        int quads = stb_easy_font_print(0.0f, 0.0f, one, NULL, verts, (int)sizeof verts);
        for (int q = 0; q < quads; q++) {
            const float *v = verts + (size_t)q * 16;  /* 4 vertices x (x, y, z, rgba) */
            float qx0 = v[0], qy0 = v[1], qx1 = v[0], qy1 = v[1];
            for (int k = 1; k < 4; k++) {
                qx0 = fminf(qx0, v[4 * k]);
                qx1 = fmaxf(qx1, v[4 * k]);
                qy0 = fminf(qy0, v[4 * k + 1]);
                qy1 = fmaxf(qy1, v[4 * k + 1]);
            }
            odet_draw_fill_rect(c, x + (pen + (int)qx0) * scale, y + (int)qy0 * scale,
                                x + (pen + (int)qx1) * scale, y + (int)qy1 * scale, rgb);
        }
        pen += stb_easy_font_width(one);
    }
}

int odet_draw_label(const odet_canvas *c, int x, int y, const char *text, int scale,
                    const uint8_t bg[3], const uint8_t fg[3])
{
    scale = clampi(scale, 1, MAX_SCALE);
    x = clampi(x, -FAR, FAR);
    y = clampi(y, -FAR, FAR);
    int tw, th;
    odet_draw_text_size(text, scale, &tw, &th);
    int m = scale, bw = tw + 2 * m, bh = th + 2 * m;
    odet_draw_fill_rect(c, x, y, x + bw, y + bh, bg);
    odet_draw_text(c, x + m, y + m, text, scale, fg);
    return bh;
}

/* float pixel coordinate -> int, clamped far outside any canvas */
static int to_px(float v)
{
    if (v < -1e6f)
        return -1000000;
    if (v > 1e6f)
        return 1000000;
    return (int)floorf(v);
}

void odet_draw_detection(const odet_canvas *c, float x1, float y1, float x2, float y2,
                         int class_id, const char *name, float score, int scale)
{
    if (!c || isnan(x1) || isnan(y1) || isnan(x2) || isnan(y2))
        return;
    scale = clampi(scale, 1, MAX_SCALE);
    uint8_t col[3], fg[3];
    odet_draw_class_color(class_id, col);
    int ix0 = to_px(x1), iy0 = to_px(y1), ix1 = to_px(x2), iy1 = to_px(y2);
    if (ix1 < ix0 || iy1 < iy0)
        return;
    odet_draw_rect(c, ix0, iy0, ix1, iy1, 2 * scale, col);

    char label[MAX_TEXT];
    if (name)
        snprintf(label, sizeof label, "%s %.2f", name, (double)score);
    else
        snprintf(label, sizeof label, "class%d %.2f", class_id, (double)score);
    /* perceived brightness decides the text colour */
    int lum = (299 * col[0] + 587 * col[1] + 114 * col[2]) / 1000;
    fg[0] = fg[1] = fg[2] = lum > 140 ? 0 : 255;
    int th;
    odet_draw_text_size(label, scale, NULL, &th);
    int bh = th + 2 * scale;
    int lx = ix0 < 0 ? 0 : ix0;
    int ly = iy0 - bh >= 0 ? iy0 - bh : (iy0 < 0 ? 0 : iy0);
    odet_draw_label(c, lx, ly, label, scale, col, fg);
}

int odet_draw_auto_scale(int width, int height)
{
    int m = width < height ? width : height;
    int s = m / 400;
    return s < 1 ? 1 : s > 8 ? 8 : s;
}
