/* Letterbox and affine maps between network input and original image. */
#include "pp_internal.h"

int odet_letterbox_compute(float src_w, float src_h, float dst_w, float dst_h, unsigned flags,
                           odet_letterbox *lb)
{
    if (!lb)
        return ODET_PP_ERR_NULL;
    if (!(isfinite(src_w) && isfinite(src_h) && isfinite(dst_w) && isfinite(dst_h)) ||
        !(src_w > 0.0f && src_h > 0.0f && dst_w > 0.0f && dst_h > 0.0f))
        return ODET_PP_ERR_PARAM;
    if (flags & ~(unsigned)(ODET_LETTERBOX_NO_UPSCALE | ODET_LETTERBOX_TOP_LEFT |
                            ODET_LETTERBOX_INTEGER))
        return ODET_PP_ERR_PARAM;
    double gx = (double)dst_w / src_w, gy = (double)dst_h / src_h;
    double gain = gx < gy ? gx : gy;
    if ((flags & ODET_LETTERBOX_NO_UPSCALE) && gain > 1.0)
        gain = 1.0;
    double sx = gain, sy = gain, px, py;
    if (flags & ODET_LETTERBOX_INTEGER) {
        double nw = nearbyint(src_w * gain), nh = nearbyint(src_h * gain);
        if (nw < 1.0 || nh < 1.0)
            return ODET_PP_ERR_PARAM;
        sx = nw / src_w;
        sy = nh / src_h;
        px = nearbyint((dst_w - nw) / 2.0 - 0.1);
        py = nearbyint((dst_h - nh) / 2.0 - 0.1);
    } else {
        px = (dst_w - src_w * gain) / 2.0;
        py = (dst_h - src_h * gain) / 2.0;
    }
    if (flags & ODET_LETTERBOX_TOP_LEFT)
        px = py = 0.0;
    lb->scale_x = sx;
    lb->scale_y = sy;
    lb->pad_x = px;
    lb->pad_y = py;
    return ODET_PP_OK;
}

int odet_boxes_unletterbox(const odet_box *in, size_t n, const odet_letterbox *lb, odet_box *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (!lb || (n && (!in || !out)))
        return ODET_PP_ERR_NULL;
    if (!(isfinite(lb->scale_x) && isfinite(lb->scale_y) && isfinite(lb->pad_x) &&
          isfinite(lb->pad_y)) ||
        lb->scale_x == 0.0 || lb->scale_y == 0.0)
        return ODET_PP_ERR_PARAM;
    double sx = lb->scale_x, sy = lb->scale_y, px = lb->pad_x, py = lb->pad_y;
    for (size_t i = 0; i < n; i++) {
        odet_box b = in[i];
        out[i].x1 = (float)((b.x1 - px) / sx);
        out[i].y1 = (float)((b.y1 - py) / sy);
        out[i].x2 = (float)((b.x2 - px) / sx);
        out[i].y2 = (float)((b.y2 - py) / sy);
    }
    return ODET_PP_OK;
}

static int affine_finite(const odet_affine *a)
{
    for (int i = 0; i < 6; i++)
        if (!isfinite(a->m[i]))
            return 0;
    return 1;
}

int odet_affine_invert(const odet_affine *a, odet_affine *inv)
{
    if (!a || !inv)
        return ODET_PP_ERR_NULL;
    if (!affine_finite(a))
        return ODET_PP_ERR_PARAM;
    const double *m = a->m;
    double det = m[0] * m[4] - m[1] * m[3];
    if (det == 0.0 || !isfinite(det))
        return ODET_PP_ERR_PARAM;
    odet_affine r;
    r.m[0] = m[4] / det;
    r.m[1] = -m[1] / det;
    r.m[2] = (m[1] * m[5] - m[4] * m[2]) / det;
    r.m[3] = -m[3] / det;
    r.m[4] = m[0] / det;
    r.m[5] = (m[3] * m[2] - m[0] * m[5]) / det;
    if (!affine_finite(&r))
        return ODET_PP_ERR_PARAM;
    *inv = r;
    return ODET_PP_OK;
}

int odet_affine_center_scale(float cx, float cy, float src_size, float dst_w, float dst_h,
                             odet_affine *a)
{
    if (!a)
        return ODET_PP_ERR_NULL;
    if (!(isfinite(cx) && isfinite(cy) && isfinite(src_size) && isfinite(dst_w) &&
          isfinite(dst_h)) ||
        !(src_size > 0.0f && dst_w > 0.0f && dst_h > 0.0f))
        return ODET_PP_ERR_PARAM;
    double k = (double)dst_w / src_size;
    a->m[0] = k;
    a->m[1] = 0.0;
    a->m[2] = dst_w / 2.0 - k * cx;
    a->m[3] = 0.0;
    a->m[4] = k;
    a->m[5] = dst_h / 2.0 - k * cy;
    return ODET_PP_OK;
}

int odet_boxes_affine(const odet_box *in, size_t n, const odet_affine *a, odet_box *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (!a || (n && (!in || !out)))
        return ODET_PP_ERR_NULL;
    if (!affine_finite(a))
        return ODET_PP_ERR_PARAM;
    const double *m = a->m;
    if (m[1] == 0.0 && m[3] == 0.0) {
        /* No rotation or shear: map the corners, keep x1 on the low side
         * under a flip; a degenerate box stays degenerate. */
        for (size_t i = 0; i < n; i++) {
            odet_box b = in[i];
            double x1 = m[0] * b.x1 + m[2], x2 = m[0] * b.x2 + m[2];
            double y1 = m[4] * b.y1 + m[5], y2 = m[4] * b.y2 + m[5];
            if (m[0] < 0.0) {
                double t = x1;
                x1 = x2;
                x2 = t;
            }
            if (m[4] < 0.0) {
                double t = y1;
                y1 = y2;
                y2 = t;
            }
            out[i].x1 = (float)x1;
            out[i].y1 = (float)y1;
            out[i].x2 = (float)x2;
            out[i].y2 = (float)y2;
        }
        return ODET_PP_OK;
    }
    for (size_t i = 0; i < n; i++) {
        odet_box b = in[i];
        double xs[2] = {b.x1, b.x2}, ys[2] = {b.y1, b.y2};
        double lx = INFINITY, ly = INFINITY, hx = -INFINITY, hy = -INFINITY;
        for (int u = 0; u < 2; u++) {
            for (int v = 0; v < 2; v++) {
                double x = m[0] * xs[u] + m[1] * ys[v] + m[2];
                double y = m[3] * xs[u] + m[4] * ys[v] + m[5];
                lx = x < lx ? x : lx;
                hx = x > hx ? x : hx;
                ly = y < ly ? y : ly;
                hy = y > hy ? y : hy;
            }
        }
        if (pp_box_has_nan(&b))
            lx = ly = hx = hy = NAN;
        out[i].x1 = (float)lx;
        out[i].y1 = (float)ly;
        out[i].x2 = (float)hx;
        out[i].y2 = (float)hy;
    }
    return ODET_PP_OK;
}
