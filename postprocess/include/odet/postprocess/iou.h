/* odet postprocess: box overlap measures.
 *
 * Definitions are torchvision 0.14's, term for term:
 *   ODET_IOU   box_iou:              inter / union
 *   ODET_GIOU  generalized_box_iou:  iou - (encl - union) / encl
 *   ODET_DIOU  distance_box_iou:     iou - d2 / (c2 + 1e-7)
 *   ODET_CIOU  complete_box_iou:     diou - alpha * v,
 *              v = 4 / pi^2 (atan(w1 / h1) - atan(w2 / h2))^2,
 *              alpha = v / (1 - iou + v + 1e-7)
 * with area = (x2 - x1) * (y2 - y1) (not clamped), inter = clamp(overlap w, 0)
 * * clamp(overlap h, 0), union = area1 + area2 - inter, encl the area of the
 * enclosing box (sides clamped at 0), d2 the squared distance of the centres
 * and c2 the squared diagonal of the enclosing box.
 *
 * Arithmetic is double, rounded to float at the end, so results equal
 * torchvision evaluated on float64 tensors (and torchvision's float32 results
 * to within float rounding; where float32 overflows, beyond ~1e19, odet stays
 * finite).
 *
 * Degenerate boxes (zero or negative width or height) give exactly what
 * torchvision gives, because the same unclamped areas enter the formulas:
 *   - two zero-area boxes: union = 0, IoU = 0 / 0 = NaN (GIoU/DIoU/CIoU NaN);
 *   - a zero-area box and a proper box: IoU 0;
 *   - an inverted box (x2 < x1) has a negative area; union may be positive
 *     (IoU 0), zero (NaN) or negative (IoU -0.0);
 *   - intersections are never negative, and a positive intersection needs
 *     two proper boxes, so IoU > 0 only ever happens between proper boxes.
 * NaN coordinates give NaN.
 */
#ifndef ODET_POSTPROCESS_IOU_H
#define ODET_POSTPROCESS_IOU_H

#include "odet/postprocess/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum odet_iou_kind { ODET_IOU, ODET_GIOU, ODET_DIOU, ODET_CIOU } odet_iou_kind;

/** Overlap of two boxes. Ranges: IoU [0, 1], GIoU [-1, 1], DIoU (-1, 1],
 *  CIoU (-1.5, 1] (for proper boxes). NaN for an unknown kind. */
float odet_iou(const odet_box *a, const odet_box *b, odet_iou_kind kind);

/** All pairs: out[i * nb + j] = odet_iou(&a[i], &b[j], kind). out holds na * nb
 *  floats. na or nb may be 0. */
int odet_iou_matrix(const odet_box *a, size_t na, const odet_box *b, size_t nb,
                    odet_iou_kind kind, float *out);

/** Elementwise pairs: out[i] = odet_iou(&a[i], &b[i], kind). */
int odet_iou_paired(const odet_box *a, const odet_box *b, size_t n, odet_iou_kind kind,
                    float *out);

typedef enum odet_reduction { ODET_REDUCE_NONE, ODET_REDUCE_MEAN, ODET_REDUCE_SUM } odet_reduction;

/** Box regression losses on pairs, as torchvision 0.14's
 *  generalized_box_iou_loss, distance_box_iou_loss and complete_box_iou_loss:
 *    IoU   1 - inter / (union + eps)                   (same form, no torchvision twin)
 *    GIoU  1 - iou + (encl - union) / (encl + eps)     (encl sides NOT clamped here)
 *    DIoU  1 - iou + d2 / (c2 + eps)
 *    CIoU  DIoU loss + alpha * v, alpha = v / (1 - iou + v + eps)
 *  with iou = inter / (union + eps). eps = 1e-7 is torchvision's default;
 *  eps must be finite and >= 0. (torchvision 0.14's complete_box_iou_loss
 *  ignores a non-default eps in its DIoU part; odet uses eps throughout.)
 *  ODET_REDUCE_NONE writes n values, MEAN and SUM one value (0 for n = 0).
 *  Reductions accumulate in double. */
int odet_iou_loss(const odet_box *pred, const odet_box *target, size_t n, odet_iou_kind kind,
                  odet_reduction reduction, float eps, float *out);

#ifdef __cplusplus
}
#endif

#endif
