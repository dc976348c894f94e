/* Normalisation, tensor windows, output-size rules and the preprocessing
 * pipelines (plan + run) built on the warp and resize kernels. */
#include <math.h>
#include <string.h>

#include "image_internal.h"

/* ------------------------------------------------------------------------ */
/* Normalisation and windows                                                 */
/* ------------------------------------------------------------------------ */

void odet_normalize_identity(odet_normalize *n)
{
    if (!n)
        return;
    n->order = ODET_CHANNELS_RGB;
    n->divisor = 1.0f;
    for (int c = 0; c < 3; c++) {
        n->mean[c] = 0.0f;
        n->std[c] = 1.0f;
    }
}

static odet_status check_normalize(const odet_normalize *n, char *err, size_t errlen)
{
    if (!n)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "normalize: NULL parameters");
    if (n->order != ODET_CHANNELS_RGB && n->order != ODET_CHANNELS_BGR)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "normalize: invalid channel order %d",
                        (int)n->order);
    if (!(isfinite(n->divisor) && n->divisor > 0.0f))
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "normalize: divisor %g must be finite and > 0", (double)n->divisor);
    for (int c = 0; c < 3; c++) {
        if (!isfinite(n->mean[c]))
            return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "normalize: mean[%d] is not finite",
                            c);
        if (!isfinite(n->std[c]) || n->std[c] == 0.0f)
            return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                            "normalize: std[%d] = %g must be finite and non-zero", c,
                            (double)n->std[c]);
    }
    return ODET_OK;
}

static float normalize_value(const odet_normalize *n, int c, int v)
{
    return (float)(((double)v / n->divisor - n->mean[c]) / n->std[c]);
}

odet_status img_chan_map_init(img_chan_map *map, odet_pixel_format fmt,
                              const odet_normalize *norm, char *err, size_t errlen)
{
    odet_status st = check_normalize(norm, err, errlen);
    if (st != ODET_OK)
        return st;
    map->bpp = odet_pixel_format_bytes(fmt);
    for (int c = 0; c < 3; c++) {
        int rgb = norm->order == ODET_CHANNELS_RGB ? c : 2 - c;
        switch (fmt) {
        case ODET_PIXEL_RGB: case ODET_PIXEL_RGBA: map->off[c] = rgb; break;
        case ODET_PIXEL_BGR: case ODET_PIXEL_BGRA: map->off[c] = 2 - rgb; break;
        case ODET_PIXEL_GRAY: map->off[c] = 0; break;
        }
        for (int v = 0; v < 256; v++)
            map->lut[c][v] = normalize_value(norm, c, v);
    }
    return ODET_OK;
}

void img_normalize_rgb(const odet_normalize *norm, const uint8_t rgb[3], float out[3])
{
    for (int c = 0; c < 3; c++)
        out[c] = normalize_value(norm, c, rgb[norm->order == ODET_CHANNELS_RGB ? c : 2 - c]);
}

odet_status img_window_check(const odet_chw_window *dst, int out_w, int out_h, const char *what,
                             char *err, size_t errlen)
{
    if (!dst || !dst->data)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "%s: NULL destination tensor", what);
    if (out_w <= 0 || out_h <= 0 || out_w > ODET_IMAGE_MAX_SIDE || out_h > ODET_IMAGE_MAX_SIDE)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "%s: invalid output size %dx%d", what,
                        out_w, out_h);
    if (dst->width <= 0 || dst->height <= 0 || dst->x < 0 || dst->y < 0 ||
        (int64_t)dst->x + out_w > dst->width || (int64_t)dst->y + out_h > dst->height)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "%s: %dx%d output at (%d, %d) does not fit the %dx%d tensor plane", what,
                        out_w, out_h, dst->x, dst->y, dst->width, dst->height);
    return ODET_OK;
}

odet_status odet_image_to_chw(const odet_image *img, const odet_normalize *norm,
                              const odet_chw_window *dst, char *err, size_t errlen)
{
    odet_status st = odet_image_check(img, err, errlen);
    if (st != ODET_OK)
        return st;
    st = img_window_check(dst, img->width, img->height, "image to tensor", err, errlen);
    if (st != ODET_OK)
        return st;
    img_chan_map map;
    st = img_chan_map_init(&map, img->format, norm, err, errlen);
    if (st != ODET_OK)
        return st;
    const size_t plane = (size_t)dst->width * (size_t)dst->height;
    for (int y = 0; y < img->height; y++) {
        const uint8_t *s = img->data + (size_t)y * img->stride;
        size_t drow = (size_t)(dst->y + y) * (size_t)dst->width + (size_t)dst->x;
        for (int c = 0; c < 3; c++) {
            float *d = dst->data + drow + (size_t)c * plane;
            const float *lut = map.lut[c];
            const uint8_t *p = s + map.off[c];
            for (int x = 0; x < img->width; x++, p += map.bpp)
                d[x] = lut[*p];
        }
    }
    return ODET_OK;
}

odet_status odet_chw_fill(const odet_chw_window *dst, int w, int h, const float value[3],
                          char *err, size_t errlen)
{
    if (!value)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "tensor fill: NULL value");
    if (w == 0 || h == 0)
        return ODET_OK;
    odet_status st = img_window_check(dst, w, h, "tensor fill", err, errlen);
    if (st != ODET_OK)
        return st;
    const size_t plane = (size_t)dst->width * (size_t)dst->height;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++) {
            float *d = dst->data + (size_t)c * plane +
                       (size_t)(dst->y + y) * (size_t)dst->width + (size_t)dst->x;
            for (int x = 0; x < w; x++)
                d[x] = value[c];
        }
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Size rules                                                                */
/* ------------------------------------------------------------------------ */

static int size_ok(int v)
{
    return v > 0 && v <= ODET_IMAGE_MAX_SIDE;
}

odet_status odet_size_keep_ratio_mmcv(int w, int h, int max_long, int max_short, int *out_w,
                                      int *out_h)
{
    if (!out_w || !out_h || !size_ok(w) || !size_ok(h) || max_long <= 0 || max_short <= 0)
        return ODET_ERR_INVALID_ARG;
    double lo = max_long > max_short ? max_long : max_short;
    double sh = max_long > max_short ? max_short : max_long;
    double a = lo / (w > h ? w : h), b = sh / (w < h ? w : h);
    double s = a < b ? a : b;
    double nw = (double)w * s + 0.5, nh = (double)h * s + 0.5;
    if (!(nw >= 1.0 && nh >= 1.0))
        return ODET_ERR_INVALID_ARG;
    if (nw >= 2147483647.0 || nh >= 2147483647.0)
        return ODET_ERR_LIMIT;
    *out_w = (int)nw;
    *out_h = (int)nh;
    return ODET_OK;
}

odet_status odet_size_shorter_side_detr(int w, int h, int size, int max_size, int *out_w,
                                        int *out_h)
{
    if (!out_w || !out_h || !size_ok(w) || !size_ok(h) || size <= 0 || max_size < 0)
        return ODET_ERR_INVALID_ARG;
    if (max_size > 0) {
        double mn = w < h ? w : h, mx = w < h ? h : w;
        if (mx / mn * size > max_size) {
            double r = nearbyint(max_size * mn / mx);
            if (r < 1.0)
                return ODET_ERR_INVALID_ARG;
            size = (int)r;
        }
    }
    if ((w <= h && w == size) || (h <= w && h == size)) {
        *out_w = w;
        *out_h = h;
        return ODET_OK;
    }
    double other = w < h ? (double)((int64_t)size * h) / w : (double)((int64_t)size * w) / h;
    if (other < 1.0)
        return ODET_ERR_INVALID_ARG;
    if (other >= 2147483647.0)
        return ODET_ERR_LIMIT;
    if (w < h) {
        *out_w = size;
        *out_h = (int)other;
    } else {
        *out_h = size;
        *out_w = (int)other;
    }
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Pipelines                                                                 */
/* ------------------------------------------------------------------------ */

void odet_preprocess_params_init(odet_preprocess_params *p, odet_preprocess_method method)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->method = method;
    odet_normalize_identity(&p->norm);
}

static const char *method_name(odet_preprocess_method m)
{
    switch (m) {
    case ODET_PRE_AFFINE_CENTERNET: return "affine_centernet";
    case ODET_PRE_RESIZE_KEEP_RATIO_CV: return "resize_keep_ratio_cv2";
    case ODET_PRE_RESIZE_SHORTER_SIDE_PIL: return "resize_shorter_side_pil";
    case ODET_PRE_LETTERBOX: return "letterbox";
    case ODET_PRE_FIXED_RESIZE: return "fixed_resize";
    }
    return "invalid";
}

static odet_status need_target(const odet_preprocess_params *p, char *err, size_t errlen)
{
    if (!size_ok(p->target_width) || !size_ok(p->target_height))
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "preprocess %s: target_width x target_height = %dx%d must be in 1..%d",
                        method_name(p->method), p->target_width, p->target_height,
                        ODET_IMAGE_MAX_SIDE);
    return ODET_OK;
}

static void set_scale_offset(odet_preprocess_layout *L)
{
    double *m = L->transform;
    m[0] = (double)L->content_width / L->image_width;
    m[1] = 0.0;
    m[2] = L->content_x;
    m[3] = 0.0;
    m[4] = (double)L->content_height / L->image_height;
    m[5] = L->content_y;
}

/* Size of the region the method itself writes (before size_divisor / fixed
 * padding): the warp output or letterbox frame, else the resized content. */
static void method_region(const odet_preprocess_params *p, const odet_preprocess_layout *L,
                          int *rw, int *rh)
{
    if (p->method == ODET_PRE_LETTERBOX) {
        *rw = p->target_width;
        *rh = p->target_height;
    } else {
        *rw = L->content_width;
        *rh = L->content_height;
    }
}

odet_status odet_preprocess_plan(const odet_preprocess_params *p, int image_width,
                                 int image_height, odet_preprocess_layout *layout, char *err,
                                 size_t errlen)
{
    if (!p || !layout)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "preprocess: NULL %s",
                        p ? "layout" : "parameters");
    odet_preprocess_layout L;
    memset(&L, 0, sizeof L);
    const int w = image_width, h = image_height;
    L.image_width = w;
    L.image_height = h;
    if (w <= 0 || h <= 0)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "preprocess: invalid image size %dx%d",
                        w, h);
    if (w > ODET_IMAGE_MAX_SIDE || h > ODET_IMAGE_MAX_SIDE ||
        (int64_t)w * h > ODET_IMAGE_MAX_PIXELS)
        return img_fail(err, errlen, ODET_ERR_LIMIT,
                        "preprocess: image size %dx%d exceeds the limit (%d per side)", w, h,
                        ODET_IMAGE_MAX_SIDE);
    odet_status st = check_normalize(&p->norm, err, errlen);
    if (st != ODET_OK)
        return st;
    const char *mname = method_name(p->method);
    if (p->flags & ~(ODET_PRE_TOP_LEFT | ODET_PRE_NO_UPSCALE | ODET_PRE_CENTERNET_KEEP_RES))
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "preprocess %s: unknown flags 0x%x",
                        mname, p->flags);
    if (p->size_divisor < 0 || p->size_divisor > 4096)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "preprocess %s: size_divisor %d must be in 0..4096", mname,
                        p->size_divisor);
    if (p->pad_width < 0 || p->pad_height < 0 || p->pad_width > ODET_IMAGE_MAX_SIDE ||
        p->pad_height > ODET_IMAGE_MAX_SIDE)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "preprocess %s: pad_width x pad_height = %dx%d must be in 0..%d", mname,
                        p->pad_width, p->pad_height, ODET_IMAGE_MAX_SIDE);
    if (!isfinite(p->pad_value))
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "preprocess %s: pad_value is not finite",
                        mname);

    switch (p->method) {
    case ODET_PRE_AFFINE_CENTERNET: {
        int tw, th;
        if (p->flags & ODET_PRE_CENTERNET_KEEP_RES) {
            int d = p->size_divisor ? p->size_divisor : 32;
            if (d & (d - 1))
                return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                                "preprocess %s: keep_res needs a power-of-two size_divisor, "
                                "got %d",
                                mname, d);
            tw = (w | (d - 1)) + 1;
            th = (h | (d - 1)) + 1;
            L.center[0] = (float)(w / 2);
            L.center[1] = (float)(h / 2);
            L.scale[0] = (float)tw;
            L.scale[1] = (float)th;
        } else {
            if ((st = need_target(p, err, errlen)) != ODET_OK)
                return st;
            tw = p->target_width;
            th = p->target_height;
            L.center[0] = (float)(w / 2.0);
            L.center[1] = (float)(h / 2.0);
            L.scale[0] = L.scale[1] = (float)(w > h ? w : h);
        }
        if (!size_ok(tw) || !size_ok(th))
            return img_fail(err, errlen, ODET_ERR_LIMIT, "preprocess %s: output %dx%d too large",
                            mname, tw, th);
        if (odet_centernet_affine(L.center, L.scale, 0.0, tw, th, 0, L.transform) != ODET_OK)
            return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                            "preprocess %s: degenerate transform for a %dx%d image", mname, w,
                            h);
        L.content_width = tw;
        L.content_height = th;
        break;
    }
    case ODET_PRE_RESIZE_KEEP_RATIO_CV:
    case ODET_PRE_RESIZE_SHORTER_SIDE_PIL: {
        int cv = p->method == ODET_PRE_RESIZE_KEEP_RATIO_CV;
        if (p->short_side <= 0 || p->max_size < 0 || (cv && p->max_size <= 0))
            return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                            "preprocess %s: short_side %d / max_size %d invalid (short_side "
                            "> 0%s)",
                            mname, p->short_side, p->max_size,
                            cv ? ", max_size > 0" : ", max_size >= 0");
        st = cv ? odet_size_keep_ratio_mmcv(w, h, p->max_size, p->short_side, &L.content_width,
                                            &L.content_height)
                : odet_size_shorter_side_detr(w, h, p->short_side, p->max_size,
                                              &L.content_width, &L.content_height);
        if (st != ODET_OK)
            return img_fail(err, errlen, st,
                            "preprocess %s: no valid size for a %dx%d image with short_side "
                            "%d, max_size %d",
                            mname, w, h, p->short_side, p->max_size);
        set_scale_offset(&L);
        break;
    }
    case ODET_PRE_LETTERBOX: {
        if ((st = need_target(p, err, errlen)) != ODET_OK)
            return st;
        double gy = (double)p->target_height / h, gx = (double)p->target_width / w;
        double r = gy < gx ? gy : gx;
        if ((p->flags & ODET_PRE_NO_UPSCALE) && r > 1.0)
            r = 1.0;
        double nw = nearbyint(w * r), nh = nearbyint(h * r);
        L.content_width = nw < 1.0 ? 1 : (int)nw;
        L.content_height = nh < 1.0 ? 1 : (int)nh;
        if (L.content_width > p->target_width)
            L.content_width = p->target_width;
        if (L.content_height > p->target_height)
            L.content_height = p->target_height;
        if (!(p->flags & ODET_PRE_TOP_LEFT)) {
            L.content_x = (int)nearbyint((p->target_width - L.content_width) / 2.0 - 0.1);
            L.content_y = (int)nearbyint((p->target_height - L.content_height) / 2.0 - 0.1);
        }
        set_scale_offset(&L);
        break;
    }
    case ODET_PRE_FIXED_RESIZE:
        if ((st = need_target(p, err, errlen)) != ODET_OK)
            return st;
        L.content_width = p->target_width;
        L.content_height = p->target_height;
        set_scale_offset(&L);
        break;
    default:
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "preprocess: invalid method %d",
                        (int)p->method);
    }

    int rw, rh;
    method_region(p, &L, &rw, &rh);
    int64_t tw = rw, th = rh;
    if (p->size_divisor > 1) {
        tw = (tw + p->size_divisor - 1) / p->size_divisor * p->size_divisor;
        th = (th + p->size_divisor - 1) / p->size_divisor * p->size_divisor;
    }
    if (p->pad_width > 0 || p->pad_height > 0) {
        if ((p->pad_width > 0 && tw > p->pad_width) || (p->pad_height > 0 && th > p->pad_height))
            return img_fail(err, errlen, ODET_ERR_SHAPE,
                            "preprocess %s: a %dx%d image becomes %lldx%lld, larger than the "
                            "fixed tensor size pad_width x pad_height = %dx%d",
                            mname, w, h, (long long)tw, (long long)th, p->pad_width,
                            p->pad_height);
        if (p->pad_width > 0)
            tw = p->pad_width;
        if (p->pad_height > 0)
            th = p->pad_height;
    }
    if (tw > ODET_IMAGE_MAX_SIDE || th > ODET_IMAGE_MAX_SIDE || tw * th > ODET_IMAGE_MAX_PIXELS)
        return img_fail(err, errlen, ODET_ERR_LIMIT,
                        "preprocess %s: tensor %lldx%lld exceeds the size limit", mname,
                        (long long)tw, (long long)th);
    L.tensor_width = (int)tw;
    L.tensor_height = (int)th;
    L.tensor_floats = 3 * (size_t)tw * (size_t)th;
    switch (p->method) {
    case ODET_PRE_RESIZE_SHORTER_SIDE_PIL:
        L.scratch_bytes =
            odet_resize_bilinear_pil_scratch(w, h, L.content_width, L.content_height);
        break;
    case ODET_PRE_RESIZE_KEEP_RATIO_CV:
    case ODET_PRE_LETTERBOX:
    case ODET_PRE_FIXED_RESIZE:
        L.scratch_bytes = odet_resize_bilinear_cv_scratch(L.content_width);
        break;
    default:
        L.scratch_bytes = 0;
    }
    *layout = L;
    return ODET_OK;
}

odet_status odet_preprocess_run(const odet_preprocess_params *p, const odet_image *img,
                                float *out, size_t out_floats, void *scratch,
                                size_t scratch_bytes, odet_preprocess_layout *layout,
                                char *err, size_t errlen)
{
    odet_status st = odet_image_check(img, err, errlen);
    if (st != ODET_OK)
        return st;
    odet_preprocess_layout L;
    st = odet_preprocess_plan(p, img->width, img->height, &L, err, errlen);
    if (st != ODET_OK)
        return st;
    if (!out || out_floats < L.tensor_floats)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "preprocess %s: output holds %zu floats, the [1,3,%d,%d] tensor needs "
                        "%zu",
                        method_name(p->method), out ? out_floats : 0, L.tensor_height,
                        L.tensor_width, L.tensor_floats);
    if (L.scratch_bytes && (!scratch || scratch_bytes < L.scratch_bytes))
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "preprocess %s: scratch of %zu bytes is below the %zu needed",
                        method_name(p->method), scratch ? scratch_bytes : 0, L.scratch_bytes);

    odet_chw_window win = {out, L.tensor_width, L.tensor_height, 0, 0};
    int rw, rh;
    method_region(p, &L, &rw, &rh);
    /* bottom / right padding */
    const float pad[3] = {p->pad_value, p->pad_value, p->pad_value};
    odet_chw_window right = win, bottom = win;
    right.x = rw;
    bottom.y = rh;
    if ((st = odet_chw_fill(&right, L.tensor_width - rw, rh, pad, err, errlen)) != ODET_OK ||
        (st = odet_chw_fill(&bottom, L.tensor_width, L.tensor_height - rh, pad, err, errlen)) !=
            ODET_OK)
        return st;

    odet_chw_window content = win;
    content.x = L.content_x;
    content.y = L.content_y;
    switch (p->method) {
    case ODET_PRE_AFFINE_CENTERNET:
        st = odet_warp_affine_bilinear_cv(img, L.transform, L.content_width, L.content_height,
                                          p->border, &p->norm, &content, err, errlen);
        break;
    case ODET_PRE_RESIZE_SHORTER_SIDE_PIL:
        st = odet_resize_bilinear_pil(img, L.content_width, L.content_height, &p->norm, &content,
                                      scratch, scratch_bytes, err, errlen);
        break;
    case ODET_PRE_LETTERBOX: {
        float b[3];
        img_normalize_rgb(&p->norm, p->border, b);
        int cx = L.content_x, cy = L.content_y, cw = L.content_width, ch = L.content_height;
        odet_chw_window top = win, below = win, left = win, rgt = win;
        below.y = cy + ch;
        left.y = rgt.y = cy;
        rgt.x = cx + cw;
        if ((st = odet_chw_fill(&top, rw, cy, b, err, errlen)) != ODET_OK ||
            (st = odet_chw_fill(&below, rw, rh - cy - ch, b, err, errlen)) != ODET_OK ||
            (st = odet_chw_fill(&left, cx, ch, b, err, errlen)) != ODET_OK ||
            (st = odet_chw_fill(&rgt, rw - cx - cw, ch, b, err, errlen)) != ODET_OK)
            return st;
    }
        /* fall through */
    case ODET_PRE_RESIZE_KEEP_RATIO_CV:
    case ODET_PRE_FIXED_RESIZE:
        st = odet_resize_bilinear_cv(img, L.content_width, L.content_height, &p->norm, &content,
                                     scratch, scratch_bytes, err, errlen);
        break;
    }
    if (st == ODET_OK && layout)
        *layout = L;
    return st;
}
