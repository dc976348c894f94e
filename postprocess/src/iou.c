/* IoU / GIoU / DIoU / CIoU with torchvision's formulas, evaluated in double.
 * The operation order follows torchvision/ops/boxes.py, so results equal
 * torchvision on float64 tensors. */
#include "pp_internal.h"

#define PP_PI 3.14159265358979323846
#define PP_EPS 1e-7  /* torchvision's eps for DIoU / CIoU */
#define PP_BLOCK 256 /* columns of the IoU matrix prepared at a time */

static inline double maxd(double a, double b)
{
    return a > b ? a : b;
}

static inline double mind(double a, double b)
{
    return a < b ? a : b;
}

/* clamp(min=0) that lets NaN through, as torch.clamp does. */
static inline double clamp0(double v)
{
    return v < 0.0 ? 0.0 : v;
}

void pp_boxd_prepare(const odet_box *b, pp_boxd *d, int need_atan)
{
    d->x1 = b->x1;
    d->y1 = b->y1;
    d->x2 = b->x2;
    d->y2 = b->y2;
    d->area = (d->x2 - d->x1) * (d->y2 - d->y1);
    d->cx = (d->x1 + d->x2) / 2.0;
    d->cy = (d->y1 + d->y2) / 2.0;
    d->atan_wh = need_atan ? atan((d->x2 - d->x1) / (d->y2 - d->y1)) : 0.0;
}

/* One pair; kind is a compile-time constant at every call site after inlining. */
static inline double pair(double ax1, double ay1, double ax2, double ay2, double aarea,
                          double acx, double acy, double aatan, double bx1, double by1,
                          double bx2, double by2, double barea, double bcx, double bcy,
                          double batan, odet_iou_kind kind)
{
    double w = clamp0(mind(ax2, bx2) - maxd(ax1, bx1));
    double h = clamp0(mind(ay2, by2) - maxd(ay1, by1));
    double inter = w * h;
    double uni = aarea + barea - inter;
    double iou = inter / uni;
    if (kind == ODET_IOU)
        return iou;
    double ew = clamp0(maxd(ax2, bx2) - mind(ax1, bx1));
    double eh = clamp0(maxd(ay2, by2) - mind(ay1, by1));
    if (kind == ODET_GIOU) {
        double encl = ew * eh;
        return iou - (encl - uni) / encl;
    }
    double diag = ew * ew + eh * eh + PP_EPS;
    double dx = acx - bcx, dy = acy - bcy;
    double diou = iou - (dx * dx + dy * dy) / diag;
    if (kind == ODET_DIOU)
        return diou;
    double t = aatan - batan;
    double v = (4.0 / (PP_PI * PP_PI)) * (t * t);
    double alpha = v / (1.0 - iou + v + PP_EPS);
    return diou - alpha * v;
}

double pp_iou_prepared(const pp_boxd *a, const pp_boxd *b, odet_iou_kind kind)
{
    switch (kind) {
    case ODET_IOU:
        return pair(a->x1, a->y1, a->x2, a->y2, a->area, a->cx, a->cy, a->atan_wh, b->x1, b->y1,
                    b->x2, b->y2, b->area, b->cx, b->cy, b->atan_wh, ODET_IOU);
    case ODET_GIOU:
        return pair(a->x1, a->y1, a->x2, a->y2, a->area, a->cx, a->cy, a->atan_wh, b->x1, b->y1,
                    b->x2, b->y2, b->area, b->cx, b->cy, b->atan_wh, ODET_GIOU);
    case ODET_DIOU:
        return pair(a->x1, a->y1, a->x2, a->y2, a->area, a->cx, a->cy, a->atan_wh, b->x1, b->y1,
                    b->x2, b->y2, b->area, b->cx, b->cy, b->atan_wh, ODET_DIOU);
    case ODET_CIOU:
        return pair(a->x1, a->y1, a->x2, a->y2, a->area, a->cx, a->cy, a->atan_wh, b->x1, b->y1,
                    b->x2, b->y2, b->area, b->cx, b->cy, b->atan_wh, ODET_CIOU);
    }
    return NAN;
}

static int kind_ok(odet_iou_kind kind)
{
    return kind == ODET_IOU || kind == ODET_GIOU || kind == ODET_DIOU || kind == ODET_CIOU;
}

float odet_iou(const odet_box *a, const odet_box *b, odet_iou_kind kind)
{
    if (!a || !b || !kind_ok(kind))
        return NAN;
    pp_boxd da, db;
    pp_boxd_prepare(a, &da, kind == ODET_CIOU);
    pp_boxd_prepare(b, &db, kind == ODET_CIOU);
    return (float)pp_iou_prepared(&da, &db, kind);
}

/* Structure-of-arrays block of prepared columns, so the inner loop vectorizes. */
typedef struct col_block {
    double x1[PP_BLOCK], y1[PP_BLOCK], x2[PP_BLOCK], y2[PP_BLOCK];
    double area[PP_BLOCK], cx[PP_BLOCK], cy[PP_BLOCK], at[PP_BLOCK];
} col_block;

static void row_block(const pp_boxd *a, const col_block *c, size_t m, odet_iou_kind kind,
                      float *out)
{
#define PP_ROW_LOOP(K)                                                                         \
    for (size_t j = 0; j < m; j++)                                                             \
        out[j] = (float)pair(a->x1, a->y1, a->x2, a->y2, a->area, a->cx, a->cy, a->atan_wh,    \
                             c->x1[j], c->y1[j], c->x2[j], c->y2[j], c->area[j], c->cx[j],     \
                             c->cy[j], c->at[j], K)
    switch (kind) {
    case ODET_IOU: PP_ROW_LOOP(ODET_IOU); break;
    case ODET_GIOU: PP_ROW_LOOP(ODET_GIOU); break;
    case ODET_DIOU: PP_ROW_LOOP(ODET_DIOU); break;
    case ODET_CIOU: PP_ROW_LOOP(ODET_CIOU); break;
    }
#undef PP_ROW_LOOP
}

int odet_iou_matrix(const odet_box *a, size_t na, const odet_box *b, size_t nb,
                    odet_iou_kind kind, float *out)
{
    if (!pp_count_ok(na) || !pp_count_ok(nb))
        return ODET_PP_ERR_RANGE;
    if (!kind_ok(kind))
        return ODET_PP_ERR_PARAM;
    if (na == 0 || nb == 0)
        return ODET_PP_OK;
    if (!a || !b || !out)
        return ODET_PP_ERR_NULL;
    if (na > SIZE_MAX / sizeof(float) / nb)
        return ODET_PP_ERR_RANGE;
    int need_atan = kind == ODET_CIOU;
    col_block blk;
    for (size_t j0 = 0; j0 < nb; j0 += PP_BLOCK) {
        size_t m = nb - j0 < PP_BLOCK ? nb - j0 : PP_BLOCK;
        for (size_t j = 0; j < m; j++) {
            pp_boxd d;
            pp_boxd_prepare(&b[j0 + j], &d, need_atan);
            blk.x1[j] = d.x1;
            blk.y1[j] = d.y1;
            blk.x2[j] = d.x2;
            blk.y2[j] = d.y2;
            blk.area[j] = d.area;
            blk.cx[j] = d.cx;
            blk.cy[j] = d.cy;
            blk.at[j] = d.atan_wh;
        }
        for (size_t i = 0; i < na; i++) {
            pp_boxd da;
            pp_boxd_prepare(&a[i], &da, need_atan);
            row_block(&da, &blk, m, kind, out + i * nb + j0);
        }
    }
    return ODET_PP_OK;
}

int odet_iou_paired(const odet_box *a, const odet_box *b, size_t n, odet_iou_kind kind,
                    float *out)
{
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (!kind_ok(kind))
        return ODET_PP_ERR_PARAM;
    if (n && (!a || !b || !out))
        return ODET_PP_ERR_NULL;
    int need_atan = kind == ODET_CIOU;
    for (size_t i = 0; i < n; i++) {
        pp_boxd da, db;
        pp_boxd_prepare(&a[i], &da, need_atan);
        pp_boxd_prepare(&b[i], &db, need_atan);
        out[i] = (float)pp_iou_prepared(&da, &db, kind);
    }
    return ODET_PP_OK;
}
