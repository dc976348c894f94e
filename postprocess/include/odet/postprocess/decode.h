/* odet postprocess: decoders for anchor-free detector heads.
 *
 * Tensors are single images, planar (CHW) float32, as ONNX exports them.
 */
#ifndef ODET_POSTPROCESS_DECODE_H
#define ODET_POSTPROCESS_DECODE_H

#include "odet/postprocess/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- CenterNet (Objects as Points), ctdet_decode ---- */

typedef struct odet_centernet_params {
    size_t k;               /**< maximum detections (CenterNet: 100); > 0 */
    float score_threshold;  /**< keep peaks with score >= this (-INFINITY: all) */
    float down_ratio;       /**< output stride (CenterNet: 4); boxes are multiplied
                                 by it, 1 gives output-map coordinates */
    int heat_is_logits;     /**< non-zero: heat holds logits; peaks are found on
                                 the logits and sigmoid is applied to the k kept */
} odet_centernet_params;

/** heat: classes x height x width (after sigmoid unless heat_is_logits);
 *  wh: 2 x height x width (width, height of the box, in output-map units);
 *  reg: 2 x height x width sub-pixel offsets (x, y), or NULL (offset 0.5).
 *  A position is a peak when it equals the maximum of its 3x3 neighbourhood
 *  (max_pool2d(3, stride 1, pad 1) keep-if-equal: plateaus yield several
 *  peaks). The k best peaks over all classes are decoded, best first (equal
 *  scores: lower flat index c*H*W + y*W + x first):
 *    cx = x + reg_x, cy = y + reg_y, box = (cx -+ w/2, cy -+ h/2) * down_ratio.
 *  out must hold k detections; *n_out <= k (fewer when there are fewer peaks
 *  above the threshold - the reference pads with non-peaks of score 0).
 *  label = class, index = flat heatmap index. No workspace. NaN in heat is
 *  rejected. */
int odet_centernet_decode(const float *heat, const float *wh, const float *reg, size_t classes,
                          size_t height, size_t width, const odet_centernet_params *p,
                          odet_detection *out, size_t *n_out);

/* ---- DETR ---- */

/** DETR's PostProcess for one image: logits is queries x num_logits, the last
 *  logit being "no object"; boxes_cxcywh is queries x 4, normalized. For each
 *  query: prob = softmax(logits) (double), score/label = max / argmax over
 *  the real classes (first maximum), box = cxcywh -> xyxy scaled by
 *  (img_w, img_h). Queries with score >= score_threshold are written to out
 *  (capacity: queries) in query order; index = query. num_logits >= 2. */
int odet_detr_decode(const float *logits, const float *boxes_cxcywh, size_t queries,
                     size_t num_logits, float img_w, float img_h, float score_threshold,
                     odet_detection *out, size_t *n_out);

/** Weights of DETR's HungarianMatcher (DETR: class 1, bbox 5, giou 2). */
typedef struct odet_detr_match_weights {
    float cls, bbox, giou;
} odet_detr_match_weights;

/** Matching cost, as DETR's HungarianMatcher:
 *    C[q][t] = bbox * L1(pred_q, tgt_t) - cls * softmax(logits_q)[label_t]
 *              - giou * GIoU(xyxy(pred_q), xyxy(tgt_t))
 *  on normalized cxcywh boxes (L1 over the four cxcywh numbers). cost holds
 *  queries x targets floats. Labels must lie in [0, num_logits - 1). */
int odet_detr_match_cost(const float *logits, const float *pred_cxcywh, size_t queries,
                         size_t num_logits, const int32_t *tgt_labels, const float *tgt_cxcywh,
                         size_t targets, const odet_detr_match_weights *w, float *cost);

size_t odet_detr_match_workspace_size(size_t queries, size_t targets);

/** Cost + odet_linear_assignment: query_to_target[q] = t or -1 (queries
 *  entries); total_cost may be NULL. */
int odet_detr_match_ws(const float *logits, const float *pred_cxcywh, size_t queries,
                       size_t num_logits, const int32_t *tgt_labels, const float *tgt_cxcywh,
                       size_t targets, const odet_detr_match_weights *w,
                       int32_t *query_to_target, double *total_cost, void *workspace,
                       size_t workspace_size);
/** Allocating form of odet_detr_match_ws(). */
int odet_detr_match(const float *logits, const float *pred_cxcywh, size_t queries,
                    size_t num_logits, const int32_t *tgt_labels, const float *tgt_cxcywh,
                    size_t targets, const odet_detr_match_weights *w, int32_t *query_to_target,
                    double *total_cost);

#ifdef __cplusplus
}
#endif

#endif
