/* odet detector: load an exported detector and run it on images.
 *
 * A detector ties the engine, the preprocessing and the postprocessing
 * together for one model file:
 *
 *   odet_detector_load()   read the ONNX file, pick the architecture adapter
 *                          (CenterNet, DETR, VFNet) from the model's `odet.*`
 *                          metadata or from the options, check that the
 *                          model's outputs are what the adapter decodes, and
 *                          settle preprocessing and thresholds.
 *   odet_detect()          image -> detections in original-image pixels.
 *   odet_detector_free()   release everything.
 *
 * Threads. A detector is an immutable, shareable model plus one default
 * context (execution state and buffers). odet_detect() uses that default
 * context: never call it concurrently on the same detector. For several
 * threads, create one odet_detector_context per thread and call
 * odet_detect_ctx(); contexts of one detector may run concurrently.
 *
 * Memory. Buffers grow only when a larger image (or tensor) arrives; a run on
 * an image of the same size as before allocates nothing. Results are owned by
 * the context that produced them and stay valid until its next detection or
 * its release.
 *
 * Errors. Every fallible function returns an odet_status and, when `err` is
 * not NULL, writes a one-line message into err[0..errlen) naming the file,
 * metadata key, output or shape at fault (ODET_ERRBUF_SIZE bytes is enough).
 * Nothing here prints or exits.
 *
 * Model metadata keys (`odet.arch`, `odet.input_size`, `odet.mean`, ...) are
 * documented in docs/detector.md.
 */
#ifndef ODET_DETECTOR_H
#define ODET_DETECTOR_H

#include <stddef.h>

#include "odet/engine.h"
#include "odet/image.h"
#include "odet/postprocess/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Detector architectures (the adapters). */
typedef enum odet_arch {
    ODET_ARCH_AUTO = 0,   /**< from the model's `odet.arch` metadata */
    ODET_ARCH_CENTERNET,  /**< outputs hm [1,C,H/s,W/s] (sigmoid applied), wh, reg [1,2,H/s,W/s] */
    ODET_ARCH_DETR,       /**< outputs pred_logits [1,Q,C+1], pred_boxes [1,Q,4] (cxcywh, 0..1) */
    ODET_ARCH_VFNET       /**< outputs cls_score_l [1,C,H_l,W_l], bbox_pred_l [1,4,H_l,W_l] */
} odet_arch;

/** "auto", "centernet", "detr", "vfnet"; "invalid" for other values. */
const char *odet_arch_name(odet_arch arch);

/** Parse an architecture name (as odet_arch_name() spells it, case-insensitive).
 *  Returns 0 and sets *arch, or -1 for an unknown name. */
int odet_arch_parse(const char *name, odet_arch *arch);

/** Load options. Initialise with odet_detector_options_init(): the "unset"
 *  values below are not all zero. Every field that is unset falls back to the
 *  model's metadata, then to the architecture default (docs/detector.md). */
typedef struct odet_detector_options {
    /** Architecture; ODET_ARCH_AUTO = `odet.arch` metadata. Any other value
     *  overrides the metadata. */
    odet_arch arch;
    /** Engine worker threads per context; 0 = number of online CPUs. */
    int threads;
    /** Keep detections with score >= this (VFNet: > this, as mmdet);
     *  negative = model default (`odet.score_threshold` or the architecture's). */
    float score_threshold;
    /** Most detections returned; 0 = model default (`odet.max_detections`, 100). */
    size_t max_detections;
    /** VFNet: IoU threshold of the class-aware NMS, in [0, 1]; negative =
     *  model default (`odet.nms_iou_threshold`, 0.6). Ignored by the others. */
    float nms_iou_threshold;
    /** VFNet: candidates per level before NMS; 0 = model default
     *  (`odet.pre_nms_top_k`, 1000). */
    size_t pre_nms_top_k;
    /** Non-zero: clamp every box to the image (VFNet always clamps, as
     *  mmdet does; CenterNet and DETR boxes otherwise follow their reference
     *  postprocessing, which may reach past the border). */
    int clip_boxes;

    /* ---- Preprocessing overrides (for models without odet metadata) ---- */

    /** An odet_preprocess_method, or -1 = `odet.preprocess` / architecture default. */
    int preprocess_method;
    /** Network input size; 0 = the graph input's static size, else
     *  `odet.input_size`; must agree with a static graph input. */
    int input_width, input_height;
    /** Resize methods on a dynamic-size input: shorter side and longer-side
     *  limit (0 = `odet.short_side` / `odet.max_size` / 800 and 1333). */
    int short_side, max_size;
    /** Pad the tensor to a multiple of this; -1 = `odet.size_divisor` /
     *  architecture default, 0 or 1 = none. */
    int size_divisor;
    /** Non-zero: use mean / std below (pixels scaled to [0, 1], listed in the
     *  tensor's channel order) instead of `odet.mean` / `odet.std`. */
    int use_mean_std;
    float mean[3], std[3];
    /** An odet_channel_order, or -1 = `odet.channel_order` / architecture default. */
    int channel_order;

    /** Class names (num_class_names entries, copied at load) instead of
     *  `odet.class_names`; NULL = metadata, else "class0", "class1", ... */
    const char *const *class_names;
    size_t num_class_names;
} odet_detector_options;

/** Defaults: everything unset (arch AUTO, thresholds -1, method / order -1,
 *  size_divisor -1, the rest 0). */
void odet_detector_options_init(odet_detector_options *opt);

/** One detection. */
typedef struct odet_object {
    odet_box box;            /**< x1, y1, x2, y2 in original-image pixels */
    float score;             /**< confidence in [0, 1] */
    int class_id;            /**< 0-based class index */
    const char *class_name;  /**< owned by the detector; valid until odet_detector_free() */
} odet_object;

/** Wall-clock time of the stages of one detection, in milliseconds. */
typedef struct odet_timings {
    double preprocess_ms;   /**< resize / warp + normalisation into the tensor */
    double inference_ms;    /**< the engine run */
    double postprocess_ms;  /**< decoding, ranking / NMS, mapping back to the image */
} odet_timings;

/** Results of one detection. `objects` is owned by the context and valid
 *  until the context's next detection or its release. */
typedef struct odet_results {
    size_t count;                /**< number of objects */
    const odet_object *objects;  /**< best first (descending score) */
    int image_width, image_height;
    int tensor_width, tensor_height;  /**< network input used for this image */
    odet_timings timings;
} odet_results;

typedef struct odet_detector odet_detector;
typedef struct odet_detector_context odet_detector_context;

/** Load a detector from an ONNX file. opt may be NULL (all defaults).
 *  Errors: ODET_ERR_IO / ODET_ERR_PARSE (file), ODET_ERR_INVALID_ARG (bad
 *  option, unknown or missing architecture: the message lists the choices;
 *  malformed metadata: the message names the key), ODET_ERR_SHAPE (outputs
 *  that do not fit the adapter: the message names the output, the expected
 *  and the actual shape), ODET_ERR_UNSUPPORTED, ODET_ERR_NOMEM.
 *  On failure *out is NULL. */
odet_status odet_detector_load(const char *path, const odet_detector_options *opt,
                               odet_detector **out, char *err, size_t errlen);

/** Free a detector. Its contexts must have been freed first; the default
 *  context is freed here. NULL is a no-op. */
void odet_detector_free(odet_detector *det);

/** Detect objects in an image (any odet_pixel_format, any stride) with the
 *  detector's default context. Not safe to call concurrently on the same
 *  detector: use one odet_detector_context per thread instead. `results`
 *  points into the default context (valid until the next odet_detect() or
 *  odet_detector_free()). Errors: ODET_ERR_INVALID_ARG / ODET_ERR_LIMIT
 *  (image), ODET_ERR_SHAPE (outputs of an unexpected shape at run time),
 *  ODET_ERR_NOMEM, engine errors. On failure results->count is 0. */
odet_status odet_detect(odet_detector *det, const odet_image *image, odet_results *results,
                        char *err, size_t errlen);

/** A new execution context (engine session + buffers) for one thread. */
odet_status odet_detector_context_create(const odet_detector *det,
                                         odet_detector_context **out, char *err,
                                         size_t errlen);

/** Free a context. NULL is a no-op. */
void odet_detector_context_free(odet_detector_context *ctx);

/** As odet_detect() with a caller-owned context. Different contexts of the
 *  same detector may be used from different threads at the same time. */
odet_status odet_detect_ctx(odet_detector_context *ctx, const odet_image *image,
                            odet_results *results, char *err, size_t errlen);

/* ---- What was loaded ---- */

/** Architecture in use (never ODET_ARCH_AUTO). */
odet_arch odet_detector_arch(const odet_detector *det);

/** Number of classes the model predicts. */
size_t odet_detector_class_count(const odet_detector *det);

/** Name of a class, or NULL when class_id is out of range. */
const char *odet_detector_class_name(const odet_detector *det, int class_id);

/** Network input size; 0 x 0 when the model takes any size (the tensor then
 *  follows each image, see odet_results.tensor_width / tensor_height). */
void odet_detector_input_size(const odet_detector *det, int *width, int *height);

/** Settings in effect after metadata and options were applied. */
typedef struct odet_detector_info {
    odet_arch arch;
    int input_width, input_height;      /**< 0 x 0: dynamic */
    size_t num_classes;
    odet_preprocess_method preprocess;  /**< geometric method */
    int fit_fixed_input;                /**< resize methods: keep ratio into the fixed
                                             input and pad bottom / right */
    int short_side, max_size, size_divisor;  /**< resize methods on a dynamic input */
    odet_normalize norm;                /**< divisor 255, mean / std on the [0, 1] scale */
    float score_threshold;
    size_t max_detections;
    float nms_iou_threshold;            /**< VFNet; NaN for the others */
    size_t pre_nms_top_k;               /**< VFNet; 0 for the others */
} odet_detector_info;

void odet_detector_get_info(const odet_detector *det, odet_detector_info *info);

/** The underlying engine model (for its metadata, inputs, outputs). */
const odet_model *odet_detector_model(const odet_detector *det);

#ifdef __cplusplus
}
#endif
#endif
