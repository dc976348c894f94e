/* Soft-NMS (Bodla et al. 2017), mmcv's soft_nms conventions, in double. */
#include "pp_internal.h"

void pp_nms_soft_group(const pp_boxd *bx, const uint32_t *rk, double *cur, uint32_t *pos,
                       size_t m, int gaussian, double iou_thr, double sigma, double score_thr,
                       size_t max_keep, uint8_t *flag, float *final)
{
    for (size_t k = 0; k < m; k++)
        pos[k] = (uint32_t)k;
    /* Scores arrive sorted, so the first is the maximum (ties: better rank). */
    size_t cnt = m, best = 0, kept = 0;
    while (cnt > 0) {
        const uint32_t bi = pos[best];
        flag[rk[bi]] = 1;
        final[rk[bi]] = (float)cur[bi];
        if (++kept == max_keep)
            break;
        size_t w = 0, next = 0;
        double next_s = 0.0;
        for (size_t t = 0; t < cnt; t++) {
            if (t == best)
                continue;
            const uint32_t j = pos[t];
            double s = cur[j];
            double iou = pp_iou_prepared(&bx[bi], &bx[j], ODET_IOU);
            /* NaN and zero IoU leave the score unchanged */
            if (gaussian) {
                if (iou > 0.0)
                    s *= exp(-(iou * iou) / sigma);
            } else if (iou > iou_thr) {
                s *= 1.0 - iou;
            }
            cur[j] = s;
            if (s < score_thr)
                continue;
            /* strict '>' keeps the first (best-ranked) of equal scores */
            if (w == 0 || s > next_s) {
                next_s = s;
                next = w;
            }
            pos[w++] = j;
        }
        cnt = w;
        best = next;
    }
}
