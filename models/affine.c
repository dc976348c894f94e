/* Affine transforms: CenterNet's get_affine_transform (with the linear solve
 * of cv2.getAffineTransform), inversion, and cv2.warpAffine(INTER_LINEAR)
 * with OpenCV's fixed-point arithmetic. */
#include <math.h>
#include <string.h>

#include "image_internal.h"

/* ------------------------------------------------------------------------ */
/* Transforms                                                                */
/* ------------------------------------------------------------------------ */

/* Gaussian elimination with partial pivoting, as OpenCV's LUImpl for small
 * double matrices (cv::solve with DECOMP_LU). Returns 0 if singular. */
static int lu_solve6(double a[6][6], double b[6])
{
    const double eps = 2.220446049250313e-16 * 100;
    for (int i = 0; i < 6; i++) {
        int k = i;
        for (int j = i + 1; j < 6; j++)
            if (fabs(a[j][i]) > fabs(a[k][i]))
                k = j;
        if (fabs(a[k][i]) < eps)
            return 0;
        if (k != i) {
            for (int j = i; j < 6; j++) {
                double t = a[i][j];
                a[i][j] = a[k][j];
                a[k][j] = t;
            }
            double t = b[i];
            b[i] = b[k];
            b[k] = t;
        }
        double d = -1.0 / a[i][i];
        for (int j = i + 1; j < 6; j++) {
            double alpha = a[j][i] * d;
            for (int c = i + 1; c < 6; c++)
                a[j][c] += alpha * a[i][c];
            b[j] += alpha * b[i];
        }
    }
    for (int i = 5; i >= 0; i--) {
        double s = b[i];
        for (int c = i + 1; c < 6; c++)
            s -= a[i][c] * b[c];
        b[i] = s / a[i][i];
    }
    return 1;
}

/* cv2.getAffineTransform(src, dst) for float32 points. */
static int affine_from_points(const float src[3][2], const float dst[3][2], double m[6])
{
    double a[6][6], b[6];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 3; i++) {
        a[2 * i][0] = a[2 * i + 1][3] = src[i][0];
        a[2 * i][1] = a[2 * i + 1][4] = src[i][1];
        a[2 * i][2] = a[2 * i + 1][5] = 1.0;
        b[2 * i] = dst[i][0];
        b[2 * i + 1] = dst[i][1];
    }
    if (!lu_solve6(a, b))
        return 0;
    memcpy(m, b, sizeof b);
    return 1;
}

/* get_3rd_point(a, b) = b + (-(a - b).y, (a - b).x), in float32. */
static void third_point(const float a[2], const float b[2], float out[2])
{
    float dx = a[0] - b[0], dy = a[1] - b[1];
    out[0] = b[0] + -dy;
    out[1] = b[1] + dx;
}

odet_status odet_centernet_affine(const float center[2], const float scale[2], double rot_deg,
                                  int out_w, int out_h, int inverse, double m[6])
{
    if (!center || !scale || !m)
        return ODET_ERR_INVALID_ARG;
    if (!isfinite(center[0]) || !isfinite(center[1]) || !isfinite(scale[0]) ||
        !isfinite(rot_deg) || scale[0] == 0.0f || out_w <= 0 || out_h <= 0)
        return ODET_ERR_INVALID_ARG;
    /* utils/image.py: src in float32 from float64 arithmetic, dst in float32. */
    double rot_rad = 3.141592653589793 * rot_deg / 180.0;
    double sn = sin(rot_rad), cs = cos(rot_rad);
    double p1 = (double)scale[0] * -0.5;  /* src_point = [0, src_w * -0.5] */
    double dir_x = 0.0 * cs - p1 * sn, dir_y = 0.0 * sn + p1 * cs;
    float src[3][2], dst[3][2];
    src[0][0] = center[0];
    src[0][1] = center[1];
    src[1][0] = (float)((double)center[0] + dir_x);
    src[1][1] = (float)((double)center[1] + dir_y);
    dst[0][0] = (float)(out_w * 0.5);
    dst[0][1] = (float)(out_h * 0.5);
    dst[1][0] = dst[0][0] + 0.0f;
    dst[1][1] = dst[0][1] + (float)(out_w * -0.5);
    third_point(src[0], src[1], src[2]);
    third_point(dst[0], dst[1], dst[2]);
    int ok = inverse ? affine_from_points(dst, src, m) : affine_from_points(src, dst, m);
    return ok ? ODET_OK : ODET_ERR_INVALID_ARG;
}

odet_status odet_xform_invert(const double m[6], double inv[6])
{
    if (!m || !inv)
        return ODET_ERR_INVALID_ARG;
    for (int i = 0; i < 6; i++)
        if (!isfinite(m[i]))
            return ODET_ERR_INVALID_ARG;
    /* cv2.invertAffineTransform */
    double d = m[0] * m[4] - m[1] * m[3];
    if (d == 0.0 || !isfinite(d))
        return ODET_ERR_INVALID_ARG;
    d = 1.0 / d;
    double a11 = m[4] * d, a22 = m[0] * d, a12 = -m[1] * d, a21 = -m[3] * d;
    double b1 = -a11 * m[2] - a12 * m[5];
    double b2 = -a21 * m[2] - a22 * m[5];
    inv[0] = a11;
    inv[1] = a12;
    inv[2] = b1;
    inv[3] = a21;
    inv[4] = a22;
    inv[5] = b2;
    return ODET_OK;
}

void odet_xform_apply(const double m[6], double x, double y, double *ox, double *oy)
{
    double rx = m[0] * x + m[1] * y + m[2];
    double ry = m[3] * x + m[4] * y + m[5];
    if (ox)
        *ox = rx;
    if (oy)
        *oy = ry;
}

/* ------------------------------------------------------------------------ */
/* cv2.warpAffine, INTER_LINEAR, BORDER_CONSTANT, 8-bit                      */
/* ------------------------------------------------------------------------ */

enum {
    INTER_BITS = 5,
    INTER_TAB_SIZE = 1 << INTER_BITS,
    AB_BITS = 10,
    AB_SCALE = 1 << AB_BITS,
    ROUND_DELTA = AB_SCALE / INTER_TAB_SIZE / 2,
    REMAP_BITS = 15
};

/* saturate_cast<int>(double): round half to even; the saturation only
 * matters for coordinates far outside any image (OpenCV wraps there, both
 * end up on the border). */
static int64_t round_sat(double v)
{
    if (!(v > -2147483648.0))
        return INT32_MIN;
    if (v >= 2147483647.0)
        return INT32_MAX;
    return (int64_t)nearbyint(v);
}

static int sat_short(int64_t v)
{
    return v < -32768 ? -32768 : v > 32767 ? 32767 : (int)v;
}

/* OpenCV's BilinearTab_i: products of 1 - t and t for t = k/32, scaled by
 * 2^15. The (0, 0) entry saturates 32768 to 32767 and initInterTab2D's
 * correction then adds the missing 1 to the (1, 1) weight. */
static void bilinear_weights(int ax, int ay, int w[4])
{
    w[0] = (INTER_TAB_SIZE - ay) * (INTER_TAB_SIZE - ax) * 32;
    w[1] = (INTER_TAB_SIZE - ay) * ax * 32;
    w[2] = ay * (INTER_TAB_SIZE - ax) * 32;
    w[3] = ay * ax * 32;
    if (ax == 0 && ay == 0) {
        w[0] = 32767;
        w[3] = 1;
    }
}

odet_status odet_warp_affine_bilinear_cv(const odet_image *img, const double m[6], int out_w,
                                         int out_h, const uint8_t border[3],
                                         const odet_normalize *norm,
                                         const odet_chw_window *dst, char *err, size_t errlen)
{
    odet_status st = odet_image_check(img, err, errlen);
    if (st != ODET_OK)
        return st;
    if (!m)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "warp affine: NULL matrix");
    st = img_window_check(dst, out_w, out_h, "warp affine", err, errlen);
    if (st != ODET_OK)
        return st;
    img_chan_map map;
    st = img_chan_map_init(&map, img->format, norm, err, errlen);
    if (st != ODET_OK)
        return st;
    double inv[6];
    /* OpenCV inverts with D = 0 when singular, mapping everything to the
     * point (0, 0) offset; a singular matrix is a caller error here. */
    if (odet_xform_invert(m, inv) != ODET_OK)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "warp affine: matrix [%g %g %g; %g %g %g] is singular or not finite",
                        m[0], m[1], m[2], m[3], m[4], m[5]);

    static const uint8_t black[3] = {0, 0, 0};
    if (!border)
        border = black;
    /* border value per tensor channel (border is RGB) */
    int bval[3];
    for (int c = 0; c < 3; c++) {
        int rgb = norm->order == ODET_CHANNELS_RGB ? c : 2 - c;
        bval[c] = border[rgb];
    }

    const int sw = img->width, sh = img->height, bpp = map.bpp;
    const size_t plane = (size_t)dst->width * (size_t)dst->height;
    for (int y = 0; y < out_h; y++) {
        int64_t x0 = round_sat((inv[1] * y + inv[2]) * AB_SCALE) + ROUND_DELTA;
        int64_t y0 = round_sat((inv[4] * y + inv[5]) * AB_SCALE) + ROUND_DELTA;
        size_t drow = (size_t)(dst->y + y) * (size_t)dst->width + (size_t)dst->x;
        float *d0 = dst->data + drow, *d1 = d0 + plane, *d2 = d1 + plane;
        for (int x = 0; x < out_w; x++) {
            int64_t X = (x0 + round_sat(inv[0] * x * AB_SCALE)) >> (AB_BITS - INTER_BITS);
            int64_t Y = (y0 + round_sat(inv[3] * x * AB_SCALE)) >> (AB_BITS - INTER_BITS);
            int sx = sat_short(X >> INTER_BITS), sy = sat_short(Y >> INTER_BITS);
            int w[4];
            bilinear_weights((int)(X & (INTER_TAB_SIZE - 1)), (int)(Y & (INTER_TAB_SIZE - 1)), w);
            int v[3];
            if ((unsigned)sx < (unsigned)(sw - 1) && (unsigned)sy < (unsigned)(sh - 1)) {
                const uint8_t *p0 = img->data + (size_t)sy * img->stride + (size_t)sx * bpp;
                const uint8_t *p1 = p0 + img->stride;
                for (int c = 0; c < 3; c++) {
                    int o = map.off[c];
                    v[c] = p0[o] * w[0] + p0[o + bpp] * w[1] + p1[o] * w[2] + p1[o + bpp] * w[3];
                }
            } else if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) {
                for (int c = 0; c < 3; c++)
                    v[c] = bval[c] << REMAP_BITS;
            } else {
                const uint8_t *q[4];
                for (int k = 0; k < 4; k++) {
                    int cx = sx + (k & 1), cy = sy + (k >> 1);
                    q[k] = (cx >= 0 && cx < sw && cy >= 0 && cy < sh)
                               ? img->data + (size_t)cy * img->stride + (size_t)cx * bpp
                               : NULL;
                }
                for (int c = 0; c < 3; c++) {
                    int o = map.off[c], acc = 0;
                    for (int k = 0; k < 4; k++)
                        acc += (q[k] ? q[k][o] : bval[c]) * w[k];
                    v[c] = acc;
                }
            }
            int r0 = (v[0] + (1 << (REMAP_BITS - 1))) >> REMAP_BITS;
            int r1 = (v[1] + (1 << (REMAP_BITS - 1))) >> REMAP_BITS;
            int r2 = (v[2] + (1 << (REMAP_BITS - 1))) >> REMAP_BITS;
            d0[x] = map.lut[0][r0 > 255 ? 255 : r0];
            d1[x] = map.lut[1][r1 > 255 ? 255 : r1];
            d2[x] = map.lut[2][r2 > 255 ? 255 : r2];
        }
    }
    return ODET_OK;
}
