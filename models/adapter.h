/* Architecture adapters of the detector (not installed).
 *
 * One small table per architecture: its defaults, the check that binds the
 * model's outputs to the roles the decoder needs, and the decoder that turns
 * one run's outputs into detections in original-image pixels. detector.c
 * owns everything else (options, metadata, preprocessing, the engine). */
#ifndef ODET_MODELS_ADAPTER_H
#define ODET_MODELS_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "metadata.h"
#include "odet/detector.h"
#include "odet/postprocess.h"

#define DET_MAX_ROLES 16
#define DET_MAX_LEVELS 8

/** Preprocessing settled at load; resolved per image by the detector. */
typedef struct det_prep {
    odet_preprocess_method method;
    int fit;            /**< resize methods with a fixed input: keep ratio into it, pad */
    int in_w, in_h;     /**< fixed tensor size; 0 = dynamic */
    int short_side, max_size, size_divisor;
    unsigned flags;     /**< ODET_PRE_* */
    float pad_value;    /**< tensor value of bottom / right padding */
    uint8_t border[3];  /**< pixel outside the image (warp border, letterbox bars) */
    odet_normalize norm;
} det_prep;

typedef struct det_config {
    odet_arch arch;
    const struct det_adapter *adapter;
    const char *path;   /**< model file, for messages (owned by the detector) */
    const odet_model *model;
    size_t num_classes;
    det_prep prep;
    float score_threshold;
    size_t max_detections;
    float nms_iou_threshold;
    size_t pre_nms_top_k;
    int clip;

    /** Model output index of each decoder role (role order is the adapter's). */
    size_t out[DET_MAX_ROLES];
    size_t n_out;
    int has_reg;            /**< CenterNet: offset head present */

    int output_stride;      /**< CenterNet */
    int heat_is_logits;     /**< CenterNet */
    size_t num_queries;     /**< DETR */
    size_t n_levels;        /**< VFNet */
    int strides[DET_MAX_LEVELS];
    float point_offset;     /**< VFNet: fraction of the stride */
    int scores_are_logits;  /**< VFNet */
    int box_in_strides;     /**< VFNet: distances in stride units */
} det_config;

/** Growable scratch buffers of a context: a slot is reallocated only when a
 *  larger size is requested. */
#define DET_SCRATCH_SLOTS 6
typedef struct det_scratch {
    void *p[DET_SCRATCH_SLOTS];
    size_t cap[DET_SCRATCH_SLOTS];
} det_scratch;

/** Buffer of at least `bytes` in slot `slot`, or NULL when out of memory. */
void *det_scratch_get(det_scratch *s, int slot, size_t bytes);
void det_scratch_release(det_scratch *s);

typedef struct det_adapter {
    const char *name;
    odet_arch arch;
    /** Expected outputs, for messages. */
    const char *outputs_doc;
    /** Preprocessing and threshold defaults. `dynamic`: the input has no
     *  fixed size. Called before metadata and options are applied. */
    void (*defaults)(det_config *cfg, int dynamic);
    /** Read the architecture's own metadata keys, bind and check the outputs
     *  (static shapes against the input size when both are known), set
     *  num_classes. */
    odet_status (*setup)(det_config *cfg, const det_meta *meta, char *err, size_t errlen);
    /** Decode one run. L: the image's preprocessing layout. out receives a
     *  pointer into scratch and *n the count: best first, at most
     *  max_detections, boxes in original-image pixels. */
    odet_status (*decode)(const det_config *cfg, const odet_session *s,
                          const odet_preprocess_layout *L, det_scratch *scr,
                          odet_detection **out, size_t *n, char *err, size_t errlen);
} det_adapter;

extern const det_adapter det_adapter_centernet;
extern const det_adapter det_adapter_detr;
extern const det_adapter det_adapter_vfnet;

/* ---- Helpers shared by the adapters (detector.c) ---- */

/** "[1,3,24,32]" ("?" for dynamic dims). */
void det_format_dims(char *buf, size_t len, int rank, const int64_t *dims);

/** Index of the output named `name`, or -1. */
long det_find_output(const odet_model *m, const char *name);

/** "'hm' [1,3,24,32], 'wh' [1,2,24,32]" - every output of the model. */
void det_list_outputs(const odet_model *m, char *buf, size_t len);

/** Check an output's type and shape: rank exp_rank and each dim equal to
 *  exp[i] (-1: any value >= 1). Fails with ODET_ERR_SHAPE (ODET_ERR_DTYPE
 *  for a non-float output) and "PATH: output 'NAME' (ROLE) must be
 *  EXP_TEXT = [..], got [..]". Dynamic dims (-1) in `got` pass. */
odet_status det_check_dims(const det_config *cfg, const char *name, const char *role,
                           odet_dtype dtype, int rank, const int64_t *got, int exp_rank,
                           const int64_t *exp, const char *exp_text, char *err,
                           size_t errlen);

/** det_check_dims() on the declared shape of model output `index`. */
odet_status det_check_model_output(const det_config *cfg, size_t index, const char *role,
                                   int exp_rank, const int64_t *exp, const char *exp_text,
                                   char *err, size_t errlen);

/** det_check_dims() on an output of the last run; *t receives it. */
odet_status det_check_run_output(const det_config *cfg, const odet_session *s, size_t index,
                                 const char *role, int exp_rank, const int64_t *exp,
                                 const char *exp_text, const odet_tensor **t, char *err,
                                 size_t errlen);

/** Bind roles to outputs: by name when every role name is an output,
 *  otherwise by position when the model has exactly n_roles outputs
 *  (n_optional trailing roles may be missing). Fills cfg->out / n_out.
 *  Fails naming the missing output and listing the model's outputs. */
odet_status det_bind_outputs(det_config *cfg, const char *const *roles, size_t n_roles,
                             size_t n_optional, char *err, size_t errlen);

/** Map boxes from tensor pixels back to the original image with the
 *  layout's scale + offset: x = (x' - offset) / scale. */
void det_unscale_boxes(const odet_preprocess_layout *L, odet_detection *d, size_t n);

/** Order detections by descending score, then ascending index. */
void det_sort_by_score(odet_detection *d, size_t n);

#endif
