/* Bilinear resizing into float tensors, bit-exact on the 8-bit pixels with
 *   cv2.resize(INTER_LINEAR)        (OpenCV resizeGeneric, fixed point), and
 *   PIL Image.resize(BILINEAR)      (Pillow Resample.c, antialiased). */
#include <math.h>
#include <string.h>

#include "image_internal.h"

/* ------------------------------------------------------------------------ */
/* OpenCV                                                                    */
/* ------------------------------------------------------------------------ */

enum { CV_COEF_BITS = 11, CV_COEF_SCALE = 1 << CV_COEF_BITS };

/* Scratch: xofs0, xofs1, alpha0, alpha1 (int32 per output column) and two
 * horizontally resized rows (3 int32 per output column). */
size_t odet_resize_bilinear_cv_scratch(int out_w)
{
    if (out_w <= 0 || out_w > ODET_IMAGE_MAX_SIDE)
        return 0;
    return (size_t)out_w * sizeof(int32_t) * (4 + 2 * 3);
}

/* saturate_cast<short>(float) */
static int32_t cv_round_short(float v)
{
    float r = nearbyintf(v);
    return r < -32768.0f ? -32768 : r > 32767.0f ? 32767 : (int32_t)r;
}

/* One source row resized horizontally: D[3 * dx + c] = S[sx] * a0 + S[sx + 1] * a1. */
static void cv_hresize_row(const uint8_t *s, const img_chan_map *map, const int32_t *xofs0,
                           const int32_t *xofs1, const int32_t *a0, const int32_t *a1,
                           int out_w, int32_t *d)
{
    const int o0 = map->off[0], o1 = map->off[1], o2 = map->off[2];
    for (int dx = 0; dx < out_w; dx++) {
        const uint8_t *p = s + xofs0[dx], *q = s + xofs1[dx];
        int32_t w0 = a0[dx], w1 = a1[dx];
        d[3 * dx + 0] = p[o0] * w0 + q[o0] * w1;
        d[3 * dx + 1] = p[o1] * w0 + q[o1] * w1;
        d[3 * dx + 2] = p[o2] * w0 + q[o2] * w1;
    }
}

odet_status odet_resize_bilinear_cv(const odet_image *img, int out_w, int out_h,
                                    const odet_normalize *norm, const odet_chw_window *dst,
                                    void *scratch, size_t scratch_bytes, char *err,
                                    size_t errlen)
{
    odet_status st = odet_image_check(img, err, errlen);
    if (st != ODET_OK)
        return st;
    st = img_window_check(dst, out_w, out_h, "resize (cv2 bilinear)", err, errlen);
    if (st != ODET_OK)
        return st;
    size_t need = odet_resize_bilinear_cv_scratch(out_w);
    if (scratch_bytes < need || !scratch)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "resize (cv2 bilinear): scratch of %zu bytes is below the %zu needed",
                        scratch ? scratch_bytes : 0, need);
    img_chan_map map;
    st = img_chan_map_init(&map, img->format, norm, err, errlen);
    if (st != ODET_OK)
        return st;

    const int sw = img->width, sh = img->height, bpp = map.bpp;
    int32_t *xofs0 = scratch, *xofs1 = xofs0 + out_w, *a0 = xofs1 + out_w, *a1 = a0 + out_w;
    int32_t *rows[2] = {a1 + out_w, a1 + out_w + 3 * (size_t)out_w};
    int row_of[2] = {-1, -1};

    double scale_x = 1.0 / ((double)out_w / sw), scale_y = 1.0 / ((double)out_h / sh);
    for (int dx = 0; dx < out_w; dx++) {
        float fx = (float)((dx + 0.5) * scale_x - 0.5);
        int sx = (int)floorf(fx);
        fx -= (float)sx;
        if (sx < 0) {
            fx = 0.0f;
            sx = 0;
        }
        if (sx >= sw - 1) {
            fx = 0.0f;
            sx = sw - 1;
        }
        xofs0[dx] = sx * bpp;
        xofs1[dx] = (sx + 1 < sw ? sx + 1 : sx) * bpp;
        a0[dx] = cv_round_short((1.0f - fx) * CV_COEF_SCALE);
        a1[dx] = cv_round_short(fx * CV_COEF_SCALE);
    }

    const size_t plane = (size_t)dst->width * (size_t)dst->height;
    for (int dy = 0; dy < out_h; dy++) {
        float fy = (float)((dy + 0.5) * scale_y - 0.5);
        int sy = (int)floorf(fy);
        fy -= (float)sy;
        int32_t b0 = cv_round_short((1.0f - fy) * CV_COEF_SCALE);
        int32_t b1 = cv_round_short(fy * CV_COEF_SCALE);
        int want[2] = {sy < 0 ? 0 : sy >= sh ? sh - 1 : sy,
                       sy + 1 < 0 ? 0 : sy + 1 >= sh ? sh - 1 : sy + 1};
        const int32_t *r[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            int slot = row_of[0] == want[k] ? 0 : row_of[1] == want[k] ? 1 : -1;
            if (slot < 0) {
                /* keep the slot holding the other row this output row needs */
                if (k == 0)
                    slot = row_of[0] == want[1] ? 1 : 0;
                else
                    slot = r[0] == rows[0] ? 1 : 0;
                cv_hresize_row(img->data + (size_t)want[k] * img->stride, &map, xofs0, xofs1,
                               a0, a1, out_w, rows[slot]);
                row_of[slot] = want[k];
            }
            r[k] = rows[slot];
        }
        size_t drow = (size_t)(dst->y + dy) * (size_t)dst->width + (size_t)dst->x;
        float *d[3] = {dst->data + drow, dst->data + drow + plane, dst->data + drow + 2 * plane};
        for (int dx = 0; dx < out_w; dx++) {
            for (int c = 0; c < 3; c++) {
                int32_t s0 = r[0][3 * dx + c], s1 = r[1][3 * dx + c];
                int v = (((b0 * (s0 >> 4)) >> 16) + ((b1 * (s1 >> 4)) >> 16) + 2) >> 2;
                d[c][dx] = map.lut[c][(uint8_t)v];
            }
        }
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* PIL                                                                       */
/* ------------------------------------------------------------------------ */

enum { PIL_PRECISION_BITS = 32 - 8 - 2 };

/* precompute_coeffs() geometry: support and maximum taps of one axis. */
static int pil_ksize(int in_size, int out_size, double *support)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    *support = 1.0 * filterscale;  /* bilinear filter support is 1 */
    return (int)ceil(*support) * 2 + 1;
}

typedef struct pil_axis {
    int ksize;
    int32_t *k;      /* out_size * ksize coefficients */
    int32_t *bounds; /* out_size * 2: first tap, tap count */
} pil_axis;

static size_t pil_axis_bytes(int in_size, int out_size)
{
    double support;
    int ksize = pil_ksize(in_size, out_size, &support);
    return (size_t)out_size * ((size_t)ksize + 2) * sizeof(int32_t);
}

static double pil_bilinear(double x)
{
    if (x < 0.0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Pillow precompute_coeffs() + normalize_coeffs_8bpc(), box = (0, in_size). */
static void pil_axis_init(pil_axis *ax, int in_size, int out_size, int32_t *mem)
{
    double support;
    ax->ksize = pil_ksize(in_size, out_size, &support);
    ax->k = mem;
    ax->bounds = mem + (size_t)out_size * (size_t)ax->ksize;
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double ss = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        double center = 0.0 + (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++)
            ww += pil_bilinear((x + xmin - center + 0.5) * ss);
        int32_t *k = ax->k + (size_t)xx * (size_t)ax->ksize;
        for (int x = 0; x < ax->ksize; x++) {
            double w = 0.0;
            if (x < xmax) {
                w = pil_bilinear((x + xmin - center + 0.5) * ss);
                if (ww != 0.0)
                    w /= ww;
            }
            double f = w * (1 << PIL_PRECISION_BITS);
            k[x] = w < 0 ? (int32_t)(-0.5 + f) : (int32_t)(0.5 + f);
        }
        ax->bounds[2 * xx] = xmin;
        ax->bounds[2 * xx + 1] = xmax;
    }
}

static uint8_t pil_clip8(int32_t in)
{
    if (in >= (1 << PIL_PRECISION_BITS << 8))
        return 255;
    if (in <= 0)
        return 0;
    return (uint8_t)(in >> PIL_PRECISION_BITS);
}

size_t odet_resize_bilinear_pil_scratch(int in_w, int in_h, int out_w, int out_h)
{
    if (in_w <= 0 || in_h <= 0 || out_w <= 0 || out_h <= 0 || in_w > ODET_IMAGE_MAX_SIDE ||
        in_h > ODET_IMAGE_MAX_SIDE || out_w > ODET_IMAGE_MAX_SIDE || out_h > ODET_IMAGE_MAX_SIDE)
        return 0;
    int need_h = out_w != in_w, need_v = out_h != in_h;
    size_t n = 0;
    if (need_h)
        n += pil_axis_bytes(in_w, out_w);
    if (need_v)
        n += pil_axis_bytes(in_h, out_h);
    if (need_h) {
        double support;
        int rows = need_v ? pil_ksize(in_h, out_h, &support) : 1;
        n += (size_t)rows * (size_t)out_w * 3;
    }
    return n;
}

/* Horizontal pass of one source row into 3 bytes per output column. */
static void pil_hresize_row(const uint8_t *s, const img_chan_map *map, const pil_axis *ax,
                            int out_w, uint8_t *d)
{
    const int bpp = map->bpp, o0 = map->off[0], o1 = map->off[1], o2 = map->off[2];
    for (int xx = 0; xx < out_w; xx++) {
        const int32_t *k = ax->k + (size_t)xx * (size_t)ax->ksize;
        int xmin = ax->bounds[2 * xx], xmax = ax->bounds[2 * xx + 1];
        int32_t s0 = 1 << (PIL_PRECISION_BITS - 1), s1 = s0, s2 = s0;
        const uint8_t *p = s + (size_t)xmin * bpp;
        for (int x = 0; x < xmax; x++, p += bpp) {
            s0 += p[o0] * k[x];
            s1 += p[o1] * k[x];
            s2 += p[o2] * k[x];
        }
        d[3 * xx + 0] = pil_clip8(s0);
        d[3 * xx + 1] = pil_clip8(s1);
        d[3 * xx + 2] = pil_clip8(s2);
    }
}

odet_status odet_resize_bilinear_pil(const odet_image *img, int out_w, int out_h,
                                     const odet_normalize *norm, const odet_chw_window *dst,
                                     void *scratch, size_t scratch_bytes, char *err,
                                     size_t errlen)
{
    odet_status st = odet_image_check(img, err, errlen);
    if (st != ODET_OK)
        return st;
    st = img_window_check(dst, out_w, out_h, "resize (PIL bilinear)", err, errlen);
    if (st != ODET_OK)
        return st;
    const int sw = img->width, sh = img->height;
    int need_h = out_w != sw, need_v = out_h != sh;
    if (!need_h && !need_v)
        return odet_image_to_chw(img, norm, dst, err, errlen);
    size_t need = odet_resize_bilinear_pil_scratch(sw, sh, out_w, out_h);
    if (scratch_bytes < need || !scratch)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "resize (PIL bilinear): scratch of %zu bytes is below the %zu needed",
                        scratch ? scratch_bytes : 0, need);
    img_chan_map map;
    st = img_chan_map_init(&map, img->format, norm, err, errlen);
    if (st != ODET_OK)
        return st;

    int32_t *mem = scratch;
    pil_axis hx = {0, NULL, NULL}, vy = {0, NULL, NULL};
    if (need_h) {
        pil_axis_init(&hx, sw, out_w, mem);
        mem += pil_axis_bytes(sw, out_w) / sizeof(int32_t);
    }
    if (need_v) {
        pil_axis_init(&vy, sh, out_h, mem);
        mem += pil_axis_bytes(sh, out_h) / sizeof(int32_t);
    }
    uint8_t *ring = (uint8_t *)mem;
    const size_t row_bytes = (size_t)out_w * 3;
    const size_t plane = (size_t)dst->width * (size_t)dst->height;
    int next_row = 0;  /* first source row not yet resized horizontally */

    for (int yy = 0; yy < out_h; yy++) {
        size_t drow = (size_t)(dst->y + yy) * (size_t)dst->width + (size_t)dst->x;
        float *d[3] = {dst->data + drow, dst->data + drow + plane, dst->data + drow + 2 * plane};
        if (!need_v) {
            pil_hresize_row(img->data + (size_t)yy * img->stride, &map, &hx, out_w, ring);
            for (int xx = 0; xx < out_w; xx++)
                for (int c = 0; c < 3; c++)
                    d[c][xx] = map.lut[c][ring[3 * xx + c]];
            continue;
        }
        const int32_t *k = vy.k + (size_t)yy * (size_t)vy.ksize;
        int ymin = vy.bounds[2 * yy], ycnt = vy.bounds[2 * yy + 1];
        if (!need_h) {
            for (int xx = 0; xx < out_w; xx++) {
                int32_t s[3] = {1 << (PIL_PRECISION_BITS - 1), 1 << (PIL_PRECISION_BITS - 1),
                                1 << (PIL_PRECISION_BITS - 1)};
                const uint8_t *p = img->data + (size_t)ymin * img->stride + (size_t)xx * map.bpp;
                for (int y = 0; y < ycnt; y++, p += img->stride)
                    for (int c = 0; c < 3; c++)
                        s[c] += p[map.off[c]] * k[y];
                for (int c = 0; c < 3; c++)
                    d[c][xx] = map.lut[c][pil_clip8(s[c])];
            }
            continue;
        }
        /* rows ymin .. ymin + ycnt - 1 live in ring slots row % ksize */
        if (next_row < ymin)
            next_row = ymin;
        for (; next_row < ymin + ycnt; next_row++)
            pil_hresize_row(img->data + (size_t)next_row * img->stride, &map, &hx, out_w,
                            ring + (size_t)(next_row % vy.ksize) * row_bytes);
        for (int xx = 0; xx < out_w; xx++) {
            int32_t s[3] = {1 << (PIL_PRECISION_BITS - 1), 1 << (PIL_PRECISION_BITS - 1),
                            1 << (PIL_PRECISION_BITS - 1)};
            for (int y = 0; y < ycnt; y++) {
                const uint8_t *p = ring + (size_t)((ymin + y) % vy.ksize) * row_bytes + 3 * xx;
                s[0] += p[0] * k[y];
                s[1] += p[1] * k[y];
                s[2] += p[2] * k[y];
            }
            for (int c = 0; c < 3; c++)
                d[c][xx] = map.lut[c][pil_clip8(s[c])];
        }
    }
    return ODET_OK;
}
