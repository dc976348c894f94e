/* Paired box regression losses, torchvision 0.14's definitions
 * (ops/giou_loss.py, diou_loss.py, ciou_loss.py, _utils._loss_inter_union),
 * evaluated in double. */
#include "pp_internal.h"

#define PP_PI 3.14159265358979323846

static inline double maxd(double a, double b)
{
    return a > b ? a : b;
}

static inline double mind(double a, double b)
{
    return a < b ? a : b;
}

static double loss_one(const odet_box *p, const odet_box *g, odet_iou_kind kind, double eps)
{
    double x1 = p->x1, y1 = p->y1, x2 = p->x2, y2 = p->y2;
    double x1g = g->x1, y1g = g->y1, x2g = g->x2, y2g = g->y2;
    double xk1 = maxd(x1, x1g), yk1 = maxd(y1, y1g);
    double xk2 = mind(x2, x2g), yk2 = mind(y2, y2g);
    double inter = (yk2 > yk1 && xk2 > xk1) ? (xk2 - xk1) * (yk2 - yk1) : 0.0;
    double uni = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter;
    double iou = inter / (uni + eps);
    if (kind == ODET_IOU)
        return 1.0 - iou;
    double xc1 = mind(x1, x1g), yc1 = mind(y1, y1g);
    double xc2 = maxd(x2, x2g), yc2 = maxd(y2, y2g);
    if (kind == ODET_GIOU) {
        double area_c = (xc2 - xc1) * (yc2 - yc1);
        return 1.0 - (iou - (area_c - uni) / (area_c + eps));
    }
    double diag = (xc2 - xc1) * (xc2 - xc1) + (yc2 - yc1) * (yc2 - yc1) + eps;
    double dx = (x2 + x1) / 2.0 - (x1g + x2g) / 2.0;
    double dy = (y2 + y1) / 2.0 - (y1g + y2g) / 2.0;
    double loss = 1.0 - iou + (dx * dx + dy * dy) / diag;
    if (kind == ODET_DIOU)
        return loss;
    double t = atan((x2g - x1g) / (y2g - y1g)) - atan((x2 - x1) / (y2 - y1));
    double v = (4.0 / (PP_PI * PP_PI)) * (t * t);
    double alpha = v / (1.0 - iou + v + eps);
    return loss + alpha * v;
}

int odet_iou_loss(const odet_box *pred, const odet_box *target, size_t n, odet_iou_kind kind,
                  odet_reduction reduction, float eps, float *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (!(kind == ODET_IOU || kind == ODET_GIOU || kind == ODET_DIOU || kind == ODET_CIOU) ||
        !(reduction == ODET_REDUCE_NONE || reduction == ODET_REDUCE_MEAN ||
          reduction == ODET_REDUCE_SUM) ||
        !(isfinite(eps) && eps >= 0.0f))
        return ODET_PP_ERR_PARAM;
    if (!out || (n && (!pred || !target)))
        return ODET_PP_ERR_NULL;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double l = loss_one(&pred[i], &target[i], kind, (double)eps);
        if (reduction == ODET_REDUCE_NONE)
            out[i] = (float)l;
        else
            sum += l;
    }
    if (reduction == ODET_REDUCE_SUM)
        out[0] = (float)sum;
    else if (reduction == ODET_REDUCE_MEAN)
        out[0] = n ? (float)(sum / (double)n) : 0.0f;
    return ODET_PP_OK;
}
