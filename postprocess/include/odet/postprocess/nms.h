/* odet postprocess: non-maximum suppression family and top-k selection.
 *
 * Ordering. Candidates are ranked by score, descending; equal scores keep
 * input order (lower index first), like torchvision's stable sort. The output
 * lists kept boxes by descending final score, equal final scores by that rank.
 *
 * Classes. classes == NULL is class-agnostic. Otherwise boxes of different
 * classes never suppress each other; class ids are any int32 values. Classes
 * are grouped exactly (no coordinate offsets), so the result equals running
 * the method per class and merging - torchvision's batched_nms.
 *
 * Methods:
 *   ODET_NMS_HARD           greedy NMS: drop a box whose IoU with a kept,
 *                           higher-ranked box is > iou_threshold. The IoU is
 *                           evaluated in float32 with exactly the operations of
 *                           torchvision's CPU kernel, so keep lists are
 *                           identical to torchvision.ops.nms / batched_nms.
 *   ODET_NMS_DIOU           greedy, criterion DIoU > iou_threshold (DIoU as
 *                           odet_iou(ODET_DIOU), double) [Zheng et al. 2020].
 *   ODET_NMS_SOFT_LINEAR    Soft-NMS [Bodla et al. 2017], mmcv convention: pick
 *   ODET_NMS_SOFT_GAUSSIAN  the highest current score, then every remaining box
 *                           j has score *= w(iou): linear w = 1 - iou if
 *                           iou > iou_threshold else 1; gaussian
 *                           w = exp(-iou^2 / sigma) (mmcv default sigma 0.5).
 *                           Ties between current scores go to the better rank.
 *   ODET_NMS_MATRIX         Matrix NMS [SOLOv2; PaddleDetection matrix_nms]:
 *   ODET_NMS_MATRIX_LINEAR  one parallel pass, score_j *= min(1, min over
 *                           higher-ranked same-class i of f(iou_ij) / f(comp_i)),
 *                           comp_i = max IoU of i with a box ranked above it;
 *                           gaussian f(x) = exp(-sigma * x^2) (sigma MULTIPLIES
 *                           here, as in SOLOv2 / PaddleDetection, default 2.0),
 *                           linear f(x) = 1 - x. O(n^2): bound n with pre_top_k.
 *   Soft and matrix NMS compute IoU (odet_iou, ODET_IOU) and scores in double
 *   and need finite scores.
 *
 * Thresholds: boxes whose score (initial or updated) is below score_threshold
 * are dropped (a score equal to it is kept); use -INFINITY to keep all.
 * iou_threshold must lie in [0, 1] ([-1, 1] for DIoU), sigma must be finite
 * and > 0 for the gaussian and matrix kernels. NaN parameters are rejected.
 *
 * Degenerate boxes follow torchvision: a zero-area box has IoU 0 (or NaN with
 * another zero-area box), and NaN never suppresses, so degenerate boxes are
 * never suppressed and never suppress anything. Boxes with NaN coordinates
 * and NaN scores are rejected (ODET_PP_ERR_NONFINITE).
 */
#ifndef ODET_POSTPROCESS_NMS_H
#define ODET_POSTPROCESS_NMS_H

#include "odet/postprocess/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum odet_nms_method {
    ODET_NMS_HARD,
    ODET_NMS_SOFT_LINEAR,
    ODET_NMS_SOFT_GAUSSIAN,
    ODET_NMS_DIOU,
    ODET_NMS_MATRIX,        /**< gaussian kernel */
    ODET_NMS_MATRIX_LINEAR  /**< linear kernel */
} odet_nms_method;

typedef struct odet_nms_params {
    odet_nms_method method;
    float iou_threshold;    /**< hard, DIoU, soft-linear */
    float sigma;            /**< soft-gaussian, matrix (gaussian kernel) */
    float score_threshold;  /**< drop boxes whose (updated) score falls below */
    size_t max_output;      /**< 0 = no limit */
    size_t pre_top_k;       /**< 0 = all; else only the pre_top_k best-ranked
                                 candidates (over all classes) enter the NMS */
} odet_nms_params;

/** Usual parameters for a method: hard/DIoU iou 0.5; soft-linear iou 0.3;
 *  soft-gaussian sigma 0.5; matrix sigma 2.0; soft and matrix
 *  score_threshold 0.001, hard and DIoU -INFINITY; no output limit. */
odet_nms_params odet_nms_default_params(odet_nms_method method);

/** Returns the number kept; keep[] (n entries) receives input indices in
 *  output order (descending final score). scores_out (may be NULL, else n
 *  entries) receives the final score of each kept box (changed by soft and
 *  matrix NMS). Allocates its workspace once per call; returns 0 on invalid
 *  input or out-of-memory as well - use odet_nms_ws() to tell them apart and
 *  to avoid the allocation. */
size_t odet_nms(const odet_box *boxes, const float *scores, const int32_t *classes, size_t n,
                const odet_nms_params *p, size_t *keep, float *scores_out);

/** Bytes of workspace odet_nms_ws() needs for up to n boxes, any method,
 *  with or without classes (about 114 bytes per box). SIZE_MAX if the size
 *  does not fit in size_t. */
size_t odet_nms_workspace_size(size_t n);
/** The same for one method only (hard NMS: about 46 bytes per box). */
size_t odet_nms_workspace_size_for(size_t n, odet_nms_method method);

/** odet_nms() without allocation. *n_kept receives the number kept. */
int odet_nms_ws(const odet_box *boxes, const float *scores, const int32_t *classes, size_t n,
                const odet_nms_params *p, size_t *keep, float *scores_out, void *workspace,
                size_t workspace_size, size_t *n_kept);

/** torchvision.ops.batched_nms(boxes, scores, classes, iou_threshold)
 *  (classes may be NULL: torchvision.ops.nms). Same result, same order.
 *  Allocates once per call; returns 0 on invalid input or out-of-memory. */
size_t odet_batched_nms(const odet_box *boxes, const float *scores, const int32_t *classes,
                        size_t n, float iou_threshold, size_t *keep);

/* ---- Top-k ---- */

/** Indices of the k largest scores, best first (equal scores: lower index
 *  first), without sorting everything: O(n log k), usually O(n) because most
 *  scores are rejected by one comparison. idx must hold min(n, k) entries;
 *  *n_out = min(n, k). NaN scores are rejected. No workspace. */
int odet_topk(const float *scores, size_t n, size_t k, size_t *idx, size_t *n_out);

/** As odet_topk() but only among scores >= min_score; *n_out may be < k. */
int odet_topk_min(const float *scores, size_t n, size_t k, float min_score, size_t *idx,
                  size_t *n_out);

#ifdef __cplusplus
}
#endif

#endif
