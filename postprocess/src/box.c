/* Box formats, clipping, areas and point-distance decoding. Float arithmetic
 * follows torchvision's operation order so results match it bit for bit. */
#include "pp_internal.h"

_Static_assert(sizeof(odet_box) == 4 * sizeof(float), "odet_box must be float[4]");

static int fmt_ok(odet_box_format f)
{
    return f == ODET_BOX_XYXY || f == ODET_BOX_XYWH || f == ODET_BOX_CXCYWH;
}

static int size_ok(float w, float h)
{
    return isfinite(w) && isfinite(h) && w > 0.0f && h > 0.0f;
}

int odet_boxes_convert(const float *in, size_t n, odet_box_format in_fmt,
                       odet_box_format out_fmt, float *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (!fmt_ok(in_fmt) || !fmt_ok(out_fmt))
        return ODET_PP_ERR_PARAM;
    if (n && (!in || !out))
        return ODET_PP_ERR_NULL;
    for (size_t i = 0; i < n; i++) {
        const float *s = in + 4 * i;
        float a = s[0], b = s[1], c = s[2], d = s[3];
        float x1, y1, x2, y2;
        if (in_fmt == out_fmt) {
            out[4 * i + 0] = a;
            out[4 * i + 1] = b;
            out[4 * i + 2] = c;
            out[4 * i + 3] = d;
            continue;
        }
        switch (in_fmt) {
        case ODET_BOX_XYWH:
            x1 = a, y1 = b, x2 = a + c, y2 = b + d;
            break;
        case ODET_BOX_CXCYWH:
            x1 = a - 0.5f * c, y1 = b - 0.5f * d, x2 = a + 0.5f * c, y2 = b + 0.5f * d;
            break;
        default:
            x1 = a, y1 = b, x2 = c, y2 = d;
            break;
        }
        float *o = out + 4 * i;
        switch (out_fmt) {
        case ODET_BOX_XYWH:
            o[0] = x1, o[1] = y1, o[2] = x2 - x1, o[3] = y2 - y1;
            break;
        case ODET_BOX_CXCYWH:
            o[0] = (x1 + x2) / 2.0f, o[1] = (y1 + y2) / 2.0f, o[2] = x2 - x1, o[3] = y2 - y1;
            break;
        default:
            o[0] = x1, o[1] = y1, o[2] = x2, o[3] = y2;
            break;
        }
    }
    return ODET_PP_OK;
}

int odet_boxes_cxcywh_to_xyxy(const float *cxcywh, size_t n, odet_box *out)
{
    return odet_boxes_convert(cxcywh, n, ODET_BOX_CXCYWH, ODET_BOX_XYXY, (float *)out);
}

int odet_boxes_xyxy_to_cxcywh(const odet_box *boxes, size_t n, float *cxcywh)
{
    return odet_boxes_convert((const float *)boxes, n, ODET_BOX_XYXY, ODET_BOX_CXCYWH, cxcywh);
}

int odet_boxes_to_pixels(const odet_box *in, size_t n, float img_w, float img_h, odet_box *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (!size_ok(img_w, img_h))
        return ODET_PP_ERR_PARAM;
    if (n && (!in || !out))
        return ODET_PP_ERR_NULL;
    for (size_t i = 0; i < n; i++) {
        odet_box b = in[i];
        out[i].x1 = b.x1 * img_w;
        out[i].y1 = b.y1 * img_h;
        out[i].x2 = b.x2 * img_w;
        out[i].y2 = b.y2 * img_h;
    }
    return ODET_PP_OK;
}

int odet_boxes_to_normalized(const odet_box *in, size_t n, float img_w, float img_h,
                             odet_box *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (!size_ok(img_w, img_h))
        return ODET_PP_ERR_PARAM;
    if (n && (!in || !out))
        return ODET_PP_ERR_NULL;
    for (size_t i = 0; i < n; i++) {
        odet_box b = in[i];
        out[i].x1 = b.x1 / img_w;
        out[i].y1 = b.y1 / img_h;
        out[i].x2 = b.x2 / img_w;
        out[i].y2 = b.y2 / img_h;
    }
    return ODET_PP_OK;
}

/* torch.clamp(min=0, max=hi): NaN stays NaN. */
static inline float clampf(float v, float hi)
{
    return v < 0.0f ? 0.0f : (v > hi ? hi : v);
}

int odet_boxes_clip(const odet_box *in, size_t n, float img_w, float img_h, odet_box *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (!(isfinite(img_w) && isfinite(img_h) && img_w >= 0.0f && img_h >= 0.0f))
        return ODET_PP_ERR_PARAM;
    if (n && (!in || !out))
        return ODET_PP_ERR_NULL;
    for (size_t i = 0; i < n; i++) {
        odet_box b = in[i];
        out[i].x1 = clampf(b.x1, img_w);
        out[i].y1 = clampf(b.y1, img_h);
        out[i].x2 = clampf(b.x2, img_w);
        out[i].y2 = clampf(b.y2, img_h);
    }
    return ODET_PP_OK;
}

float odet_box_area(const odet_box *b)
{
    if (!b)
        return NAN;
    return (float)(((double)b->x2 - b->x1) * ((double)b->y2 - b->y1));
}

int odet_boxes_min_size(const odet_box *boxes, size_t n, float min_size, size_t *idx,
                        size_t *n_out)
{
    if (!n_out)
        return ODET_PP_ERR_NULL;
    *n_out = 0;
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (isnan(min_size))
        return ODET_PP_ERR_PARAM;
    if (n && (!boxes || !idx))
        return ODET_PP_ERR_NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        float w = boxes[i].x2 - boxes[i].x1, h = boxes[i].y2 - boxes[i].y1;
        if (w >= min_size && h >= min_size)
            idx[m++] = i;
    }
    *n_out = m;
    return ODET_PP_OK;
}

int odet_distance_to_boxes(const float *points, const float *ltrb, size_t n, float max_w,
                           float max_h, odet_box *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (isnan(max_w) || isnan(max_h) || max_w < 0.0f || max_h < 0.0f)
        return ODET_PP_ERR_PARAM;
    if (n && (!points || !ltrb || !out))
        return ODET_PP_ERR_NULL;
    int clip = max_w > 0.0f && max_h > 0.0f;
    for (size_t i = 0; i < n; i++) {
        float px = points[2 * i], py = points[2 * i + 1];
        const float *d = ltrb + 4 * i;
        odet_box b = {px - d[0], py - d[1], px + d[2], py + d[3]};
        if (clip) {
            b.x1 = clampf(b.x1, max_w);
            b.y1 = clampf(b.y1, max_h);
            b.x2 = clampf(b.x2, max_w);
            b.y2 = clampf(b.y2, max_h);
        }
        out[i] = b;
    }
    return ODET_PP_OK;
}

int odet_boxes_offset_by_class(const odet_box *in, const int32_t *classes, size_t n,
                               odet_box *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (n && (!in || !classes || !out))
        return ODET_PP_ERR_NULL;
    if (n == 0)
        return ODET_PP_OK;
    float mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (pp_box_has_nan(&in[i]))
            return ODET_PP_ERR_NONFINITE;
        if (classes[i] < 0)
            return ODET_PP_ERR_PARAM;
        const float *c = &in[i].x1;
        for (int k = 0; k < 4; k++)
            mx = c[k] > mx ? c[k] : mx;
    }
    float step = mx + 1.0f;
    for (size_t i = 0; i < n; i++) {
        float off = (float)classes[i] * step;
        odet_box b = in[i];
        out[i].x1 = b.x1 + off;
        out[i].y1 = b.y1 + off;
        out[i].x2 = b.x2 + off;
        out[i].y2 = b.y2 + off;
    }
    return ODET_PP_OK;
}
