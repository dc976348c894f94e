/* odet postprocess: COCO-protocol detection evaluation (bounding boxes).
 *
 * odet_eval_coco() computes what pycocotools' COCOeval (iouType "bbox",
 * useCats 1) computes, step for step, so its numbers can be compared with
 * published ones:
 *   - images and categories: the ground truth's image and category ids,
 *     sorted (COCO imgIds / catIds). Ground truths and detections on other
 *     ids are not evaluated (the detect-eval tool rejects detections on
 *     unknown images, as pycocotools' loadRes does).
 *   - per image and category: detections sorted by score (stable: ties keep
 *     input order) and cut to the largest maxDets; IoU of boxes [x, y, w, h];
 *     against a crowd ground truth the union is the detection's area.
 *   - per area range: a ground truth is ignored when it is a crowd or its
 *     `area` lies outside the range (bounds inclusive); greedy matching in
 *     score order at each IoU threshold t (a match needs IoU >= min(t,
 *     1 - 1e-10), the best IoU wins, ignored ground truths are only taken
 *     when no regular one matches, crowds can match many detections); a
 *     detection matched to an ignored ground truth, or unmatched with an
 *     area (w * h) outside the range, is ignored.
 *   - accumulation per category, area range and maxDets: the first maxDets
 *     detections of every image, sorted by score (stable), cumulative
 *     TP/FP, precision made monotone, sampled at the recall thresholds
 *     (101-point interpolation); recall = final TP / ground truths.
 *     Categories without (non-ignored) ground truth get -1.
 *   - the 12 summary numbers: means over the entries that are not -1.
 * As in pycocotools (whose _prepare overwrites it), an annotation's own
 * `ignore` field has no effect: only `iscrowd` marks ground truth to ignore.
 * Arithmetic is in double, in the same order as pycocotools.
 *
 * Evaluation is not per-frame work, so odet_eval_coco() allocates its
 * result and temporaries itself.
 */
#ifndef ODET_POSTPROCESS_EVAL_H
#define ODET_POSTPROCESS_EVAL_H

#include "odet/postprocess/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ODET_EVAL_MAX_IOU_THRESHOLDS 32
#define ODET_EVAL_MAX_RECALL_THRESHOLDS 1001
#define ODET_EVAL_NUM_AREAS 4    /**< all, small, medium, large */
#define ODET_EVAL_NUM_MAX_DETS 3 /**< 1, 10, 100 by default */
#define ODET_EVAL_NUM_STATS 12

/** Area range indices. */
enum { ODET_EVAL_AREA_ALL = 0, ODET_EVAL_AREA_SMALL, ODET_EVAL_AREA_MEDIUM, ODET_EVAL_AREA_LARGE };

/** Evaluation parameters (pycocotools Params for bbox). */
typedef struct odet_eval_params {
    int num_iou_thresholds;                            /**< 1..ODET_EVAL_MAX_IOU_THRESHOLDS */
    double iou_thresholds[ODET_EVAL_MAX_IOU_THRESHOLDS]; /**< ascending, in [0, 1] */
    int num_recall_thresholds; /**< 2..ODET_EVAL_MAX_RECALL_THRESHOLDS, spaced evenly on [0, 1] */
    int max_dets[ODET_EVAL_NUM_MAX_DETS];              /**< ascending, >= 1 */
    double area_ranges[ODET_EVAL_NUM_AREAS][2];        /**< [lo, hi] per area index */
} odet_eval_params;

/** COCO defaults: IoU thresholds numpy.linspace(.5, .95, 10), 101 recall
 *  thresholds, maxDets 1/10/100, areas all [0, 1e10], small [0, 32²],
 *  medium [32², 96²], large [96², 1e10]. */
void odet_eval_params_init(odet_eval_params *p);

/** One ground-truth annotation. */
typedef struct odet_eval_gt {
    int64_t image_id, category_id;
    double bbox[4]; /**< x, y, w, h (w, h >= 0) */
    double area;    /**< the annotation's area (decides the area range) */
    int iscrowd;    /**< non-zero: a crowd region (never counted, never a false positive) */
} odet_eval_gt;

/** One detection (a COCO result entry). */
typedef struct odet_eval_det {
    int64_t image_id, category_id;
    double bbox[4]; /**< x, y, w, h (w, h >= 0) */
    double score;   /**< not NaN */
} odet_eval_det;

/** What to evaluate. Pointers may be NULL when their count is 0. */
typedef struct odet_eval_input {
    const int64_t *image_ids; /**< the images of the data set (duplicates allowed) */
    size_t num_images;
    const int64_t *category_ids; /**< the categories of the data set (duplicates allowed) */
    size_t num_categories;
    const odet_eval_gt *gts;
    size_t num_gts;
    const odet_eval_det *dets;
    size_t num_dets;
} odet_eval_input;

/** Result of odet_eval_coco(); free with odet_eval_result_destroy(). */
typedef struct odet_eval_result {
    double stats[ODET_EVAL_NUM_STATS]; /**< pycocotools COCOeval.stats, in its order */
    odet_eval_params params;
    size_t num_images;     /**< distinct evaluated images */
    size_t num_categories; /**< K: distinct categories */
    const int64_t *category_ids; /**< [K], ascending */
    /** [T][R][K][A][M] row-major (pycocotools eval['precision']); -1 where
     *  a category has no ground truth in that area range. */
    const double *precision;
    /** [T][K][A][M] row-major (pycocotools eval['recall']). */
    const double *recall;
    size_t num_gts_used, num_dets_used; /**< entries on known images and categories */
} odet_eval_result;

/** Evaluate. `params` NULL means odet_eval_params_init(). On success *out
 *  owns the result. Errors: ODET_PP_ERR_NULL, ODET_PP_ERR_RANGE (counts or
 *  result size too large), ODET_PP_ERR_NONFINITE (NaN score or non-finite
 *  box / area), ODET_PP_ERR_PARAM (negative w / h or area, invalid params),
 *  ODET_PP_ERR_NOMEM. */
odet_pp_status odet_eval_coco(const odet_eval_input *in, const odet_eval_params *params,
                              odet_eval_result **out);

/** Free a result (NULL is fine). */
void odet_eval_result_destroy(odet_eval_result *r);

/** pycocotools' _summarize: the mean of precision (ap != 0) or recall over
 *  the IoU thresholds equal to iou_threshold (all when iou_threshold < 0),
 *  the area range `area` (ODET_EVAL_AREA_*), the maxDets entries equal to
 *  max_dets, and category index `category` (0..K-1) or all (category < 0),
 *  counting only entries that are not -1; -1 when there are none (or the
 *  arguments select nothing). */
double odet_eval_summarize(const odet_eval_result *r, int ap, double iou_threshold, int area,
                           int max_dets, long category);

/** Line i (0..11) of the standard summary exactly as pycocotools prints it,
 *  without the newline, e.g.
 *  " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.370".
 *  Returns snprintf's result (the untruncated length), -1 for a bad i. */
int odet_eval_summary_line(const odet_eval_result *r, int i, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
