/* CenterNet decoding (Zhou et al., "Objects as Points", ctdet_decode):
 * 3x3 max-pool keep-if-equal peaks, top-k over all classes, wh / offset
 * gather, down-ratio scaling. The k best peaks are kept in a bounded heap that
 * lives in the output array, so nothing is allocated. */
#include "pp_internal.h"

/* a ranks below b: lower score, or equal score and later flat index. */
static inline int det_worse(const odet_detection *a, const odet_detection *b)
{
    return a->score < b->score || (a->score == b->score && a->index > b->index);
}

static void heap_down(odet_detection *h, size_t cnt, size_t i)
{
    odet_detection x = h[i];
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= cnt)
            break;
        size_t c = l;
        if (l + 1 < cnt && det_worse(&h[l + 1], &h[l]))
            c = l + 1;
        if (!det_worse(&h[c], &x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void heap_up(odet_detection *h, size_t i)
{
    odet_detection x = h[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!det_worse(&x, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

/* v is a peak when no 3x3 neighbour is larger (max_pool2d pads with -inf). */
static inline int is_peak(const float *plane, size_t height, size_t width, size_t y, size_t x,
                          float v)
{
    size_t y0 = y ? y - 1 : 0, y1 = y + 1 < height ? y + 1 : y;
    size_t x0 = x ? x - 1 : 0, x1 = x + 1 < width ? x + 1 : x;
    for (size_t yy = y0; yy <= y1; yy++)
        for (size_t xx = x0; xx <= x1; xx++)
            if (plane[yy * width + xx] > v)
                return 0;
    return 1;
}

int odet_centernet_decode(const float *heat, const float *wh, const float *reg, size_t classes,
                          size_t height, size_t width, const odet_centernet_params *p,
                          odet_detection *out, size_t *n_out)
{
    if (!n_out)
        return ODET_PP_ERR_NULL;
    *n_out = 0;
    if (!p)
        return ODET_PP_ERR_NULL;
    if (!pp_count_ok(classes) || !pp_count_ok(height) || !pp_count_ok(width) ||
        !pp_count_ok(p->k))
        return ODET_PP_ERR_RANGE;
    if (p->k == 0 || isnan(p->score_threshold) || !isfinite(p->down_ratio) ||
        !(p->down_ratio > 0.0f))
        return ODET_PP_ERR_PARAM;
    if (height && width > SIZE_MAX / height)
        return ODET_PP_ERR_RANGE;
    const size_t hw = height * width;
    if (classes && hw > SIZE_MAX / sizeof(float) / classes)
        return ODET_PP_ERR_RANGE;
    if (classes == 0 || hw == 0)
        return ODET_PP_OK;
    if (!heat || !wh || !out)
        return ODET_PP_ERR_NULL;

    const size_t k = p->k;
    const int logits = p->heat_is_logits != 0;
    /* On probabilities the threshold prunes early; on logits it is applied
     * after the sigmoid (monotone, so the selection is the same). */
    const float pre_thr = logits ? -INFINITY : p->score_threshold;
    size_t cnt = 0;
    for (size_t c = 0; c < classes; c++) {
        const float *plane = heat + c * hw;
        for (size_t y = 0; y < height; y++) {
            for (size_t x = 0; x < width; x++) {
                const float v = plane[y * width + x];
                if (isnan(v))
                    return ODET_PP_ERR_NONFINITE;
                /* full heap: an equal score never enters (its index is later) */
                if (v < pre_thr || (cnt == k && !(v > out[0].score)))
                    continue;
                if (!is_peak(plane, height, width, y, x, v))
                    continue;
                odet_detection d;
                d.score = v;
                d.index = c * hw + y * width + x;
                if (cnt < k) {
                    out[cnt] = d;
                    heap_up(out, cnt);
                    cnt++;
                } else {
                    out[0] = d;
                    heap_down(out, cnt, 0);
                }
            }
        }
    }
    for (size_t end = cnt; end > 1; end--) {
        odet_detection t = out[0];
        out[0] = out[end - 1];
        out[end - 1] = t;
        heap_down(out, end - 1, 0);
    }

    const float dr = p->down_ratio;
    size_t n = 0;
    for (size_t i = 0; i < cnt; i++) {
        odet_detection d = out[i];
        float score = d.score;
        if (logits) {
            score = (float)(1.0 / (1.0 + exp(-(double)score)));
            if (score < p->score_threshold)
                break; /* sorted: the rest are lower */
        }
        size_t c = d.index / hw, pos = d.index % hw;
        size_t y = pos / width, x = pos % width;
        float cx = (float)x + (reg ? reg[pos] : 0.5f);
        float cy = (float)y + (reg ? reg[hw + pos] : 0.5f);
        float w = wh[pos], h = wh[hw + pos];
        d.box.x1 = (cx - w / 2.0f) * dr;
        d.box.y1 = (cy - h / 2.0f) * dr;
        d.box.x2 = (cx + w / 2.0f) * dr;
        d.box.y2 = (cy + h / 2.0f) * dr;
        d.score = score;
        d.label = (int32_t)c;
        out[n++] = d;
    }
    *n_out = n;
    return ODET_PP_OK;
}
