/* COCO summary numbers and the pycocotools summary lines. */
#include <stdio.h>

#include "pp_internal.h"

double odet_eval_summarize(const odet_eval_result *r, int ap, double iou_threshold, int area,
                           int max_dets, long category)
{
    if (!r || area < 0 || area >= ODET_EVAL_NUM_AREAS ||
        (category >= 0 && (size_t)category >= r->num_categories))
        return -1.0;
    const odet_eval_params *p = &r->params;
    const size_t T = (size_t)p->num_iou_thresholds, R = (size_t)p->num_recall_thresholds;
    const size_t K = r->num_categories, A = ODET_EVAL_NUM_AREAS, M = ODET_EVAL_NUM_MAX_DETS;
    const size_t k0 = category >= 0 ? (size_t)category : 0;
    const size_t k1 = category >= 0 ? k0 + 1 : K;
    double sum = 0.0;
    size_t n = 0;
    for (size_t t = 0; t < T; t++) {
        if (iou_threshold >= 0.0 && p->iou_thresholds[t] != iou_threshold)
            continue;
        for (size_t m = 0; m < M; m++) {
            if (p->max_dets[m] != max_dets)
                continue;
            for (size_t k = k0; k < k1; k++) {
                if (ap) {
                    for (size_t q = 0; q < R; q++) {
                        double v = r->precision[(((t * R + q) * K + k) * A + (size_t)area) * M + m];
                        if (v > -1.0) {
                            sum += v;
                            n++;
                        }
                    }
                } else {
                    double v = r->recall[((t * K + k) * A + (size_t)area) * M + m];
                    if (v > -1.0) {
                        sum += v;
                        n++;
                    }
                }
            }
        }
    }
    return n ? sum / (double)n : -1.0;
}

int odet_eval_summary_line(const odet_eval_result *r, int i, char *buf, size_t size)
{
    static const char *const area_lbl[ODET_EVAL_NUM_AREAS] = {"all", "small", "medium", "large"};
    static const signed char area_of[12] = {0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3};
    if (!r || i < 0 || i >= ODET_EVAL_NUM_STATS)
        return -1;
    const odet_eval_params *p = &r->params;
    const int ap = i < 6;
    int md = p->max_dets[ODET_EVAL_NUM_MAX_DETS - 1];
    if (i == 6 || i == 7)
        md = p->max_dets[i - 6];
    char iou[32];
    if (i == 1 || i == 2)
        snprintf(iou, sizeof iou, "%-9.2f", i == 1 ? 0.5 : 0.75);
    else
        snprintf(iou, sizeof iou, "%0.2f:%0.2f", p->iou_thresholds[0],
                 p->iou_thresholds[p->num_iou_thresholds - 1]);
    return snprintf(buf, size, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f",
                    ap ? "Average Precision" : "Average Recall", ap ? "(AP)" : "(AR)", iou,
                    area_lbl[area_of[i]], md, r->stats[i]);
}
