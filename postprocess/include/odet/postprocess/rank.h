/* odet postprocess: ranking of dense multi-level predictions.
 *
 * VarifocalNet predicts IoU-aware classification scores (IACS): one score per
 * class that already estimates localisation quality, so detections are ranked
 * by it directly. The pipeline is mmdet's VFNetHead.get_bboxes + multiclass_nms:
 *   1. per level, keep the pre_nms_top_k anchors with the highest max-over-
 *      classes score (equal scores: lower anchor index first);
 *   2. every (anchor, class) pair with score > score_threshold is a candidate;
 *   3. class-aware hard NMS at iou_threshold (torchvision arithmetic);
 *   4. the max_detections best remain, by descending score.
 * Heads that predict quality separately (IoU branch, centerness) fuse it first:
 * score = cls^alpha * quality^(1 - alpha), see odet_fuse_iou_scores(); the
 * ranking does this on the fly when a level has a quality array.
 */
#ifndef ODET_POSTPROCESS_RANK_H
#define ODET_POSTPROCESS_RANK_H

#include "odet/postprocess/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One feature level: count anchors (points), each with num_classes scores
 *  (row-major count x num_classes) and one decoded box (xyxy, e.g. from
 *  odet_distance_to_boxes()). */
typedef struct odet_rank_level {
    const float *scores;
    const odet_box *boxes;
    const float *quality;  /**< optional (count): IoU / centerness prediction, or NULL */
    size_t count;
} odet_rank_level;

typedef struct odet_rank_params {
    size_t num_classes;
    size_t pre_nms_top_k;   /**< per level (VFNet: 1000); 0 = all */
    float score_threshold;  /**< candidates need score > this (VFNet: 0.05) */
    float iou_threshold;    /**< class-aware NMS, in [0, 1] (VFNet: 0.6) */
    size_t max_detections;  /**< > 0 (VFNet: 100); out holds this many */
    float fusion_alpha;     /**< in [0, 1]; used only for levels with quality */
    int scores_are_logits;  /**< non-zero: sigmoid is applied to scores and quality */
} odet_rank_params;

/** VFNet's test configuration: pre_nms_top_k 1000, score_threshold 0.05,
 *  iou_threshold 0.6, max_detections 100, fusion_alpha 0.5, probabilities. */
odet_rank_params odet_rank_default_params(size_t num_classes);

/** Workspace bytes for these levels (worst case: every pair a candidate). */
size_t odet_rank_workspace_size(const odet_rank_level *levels, size_t num_levels,
                                const odet_rank_params *p);

/** Detections, best first, into out (capacity p->max_detections).
 *  index = anchor index in the concatenation of the levels, label = class. */
int odet_rank_ws(const odet_rank_level *levels, size_t num_levels, const odet_rank_params *p,
                 odet_detection *out, size_t *n_out, void *workspace, size_t workspace_size);
/** Allocating form (once per call). */
int odet_rank(const odet_rank_level *levels, size_t num_levels, const odet_rank_params *p,
              odet_detection *out, size_t *n_out);

/** Fusion for separate quality heads: out[i * num_classes + c] =
 *  cls[i * num_classes + c]^alpha * quality[i]^(1 - alpha), inputs clamped to
 *  [0, 1] (0^0 = 1). alpha in [0, 1]; out may equal cls. */
int odet_fuse_iou_scores(const float *cls, const float *quality, size_t n, size_t num_classes,
                         float alpha, float *out);

#ifdef __cplusplus
}
#endif

#endif
