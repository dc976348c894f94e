/* DETR decoding (Carion et al. 2020, models/detr.py PostProcess). */
#include "pp_internal.h"

int odet_detr_decode(const float *logits, const float *boxes_cxcywh, size_t queries,
                     size_t num_logits, float img_w, float img_h, float score_threshold,
                     odet_detection *out, size_t *n_out)
{
    if (!n_out)
        return ODET_PP_ERR_NULL;
    *n_out = 0;
    if (!pp_count_ok(queries) || !pp_count_ok(num_logits))
        return ODET_PP_ERR_RANGE;
    if (num_logits < 2 || isnan(score_threshold) || !isfinite(img_w) || !isfinite(img_h) ||
        !(img_w > 0.0f) || !(img_h > 0.0f))
        return ODET_PP_ERR_PARAM;
    if (queries && num_logits > SIZE_MAX / sizeof(float) / queries)
        return ODET_PP_ERR_RANGE;
    if (queries && (!logits || !boxes_cxcywh || !out))
        return ODET_PP_ERR_NULL;
    size_t n = 0;
    for (size_t q = 0; q < queries; q++) {
        const float *l = logits + q * num_logits;
        float mx = -INFINITY;
        for (size_t c = 0; c < num_logits; c++) {
            if (!isfinite(l[c]))
                return ODET_PP_ERR_NONFINITE;
            mx = l[c] > mx ? l[c] : mx;
        }
        double sum = 0.0;
        for (size_t c = 0; c < num_logits; c++)
            sum += exp((double)l[c] - mx);
        size_t best = 0;
        for (size_t c = 1; c + 1 < num_logits; c++)
            if (l[c] > l[best])
                best = c;
        float score = (float)(exp((double)l[best] - mx) / sum);
        if (score < score_threshold)
            continue;
        const float *b = boxes_cxcywh + 4 * q;
        odet_detection d;
        d.box.x1 = (b[0] - 0.5f * b[2]) * img_w;
        d.box.y1 = (b[1] - 0.5f * b[3]) * img_h;
        d.box.x2 = (b[0] + 0.5f * b[2]) * img_w;
        d.box.y2 = (b[1] + 0.5f * b[3]) * img_h;
        d.score = score;
        d.label = (int32_t)best;
        d.index = q;
        out[n++] = d;
    }
    *n_out = n;
    return ODET_PP_OK;
}
