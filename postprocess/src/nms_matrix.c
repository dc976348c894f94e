/* Matrix NMS (SOLOv2, Wang et al. 2020) for boxes, PaddleDetection's
 * matrix_nms conventions, in double. One pass over the upper triangle. */
#include "pp_internal.h"

void pp_nms_matrix_group(const pp_boxd *bx, const uint32_t *rk, const double *s0, double *comp,
                         size_t m, int gaussian, double sigma, double score_thr, uint8_t *flag,
                         float *final)
{
    for (size_t j = 0; j < m; j++) {
        /* comp[i] for i < j is final: it only depends on boxes above i. */
        double cj = 0.0, decay = 1.0;
        for (size_t i = 0; i < j; i++) {
            double iou = pp_iou_prepared(&bx[i], &bx[j], ODET_IOU);
            if (!(iou > 0.0))
                continue; /* f(0) / f(comp) >= 1 never lowers the minimum; NaN ignored */
            if (iou > cj)
                cj = iou;
            double ci = comp[i];
            double f = gaussian ? exp((ci * ci - iou * iou) * sigma) : (1.0 - iou) / (1.0 - ci);
            if (f < decay)
                decay = f;
        }
        comp[j] = cj;
        double s = s0[j] * decay;
        if (s >= score_thr) {
            flag[rk[j]] = 1;
            final[rk[j]] = (float)s;
        }
    }
}
