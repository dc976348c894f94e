/* DETR adapter (facebookresearch/detr).
 *
 * Outputs: pred_logits [1,Q,C+1] (raw; softmax in the decoder, the last class
 * is "no object") and pred_boxes [1,Q,4] (cx, cy, w, h normalised to the
 * network input). Decoding is DETR's PostProcess: score / label = max /
 * argmax of softmax over the real classes, boxes cxcywh -> xyxy times the
 * image size the boxes refer to.
 *
 * The exported graph has no padding-mask input: its mask is all false, so
 * the model regards the whole input tensor as the image and normalises its
 * boxes to the tensor. Without padding (DETR's own single-image inference,
 * dynamic-size exports) the tensor is the resized image and this is exactly
 * PostProcess with target size = original image size; with bottom / right
 * padding (fixed-size exports) the boxes are scaled by the tensor size and
 * the resize is undone. Detections are returned by descending score (equal
 * scores: query order). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "adapter.h"

static const float MEAN_RGB[3] = {0.485f, 0.456f, 0.406f};
static const float STD_RGB[3] = {0.229f, 0.224f, 0.225f};

enum { R_LOGITS, R_BOXES };

static void detr_defaults(det_config *cfg, int dynamic)
{
    (void)dynamic;
    det_prep *p = &cfg->prep;
    /* T.RandomResize([800], max_size=1333) on a PIL image (DETR's val transform) */
    p->method = ODET_PRE_RESIZE_SHORTER_SIDE_PIL;
    p->short_side = 800;
    p->max_size = 1333;
    p->norm.order = ODET_CHANNELS_RGB;
    p->norm.divisor = 255.0f;
    memcpy(p->norm.mean, MEAN_RGB, sizeof MEAN_RGB);
    memcpy(p->norm.std, STD_RGB, sizeof STD_RGB);
    cfg->score_threshold = 0.7f; /* DETR's demo threshold */
    cfg->max_detections = 100;
}

static odet_status detr_setup(det_config *cfg, const det_meta *meta, char *err, size_t errlen)
{
    static const char *const acts[] = {"softmax_last_is_no_object", NULL};
    static const char *const fmts[] = {"cxcywh_normalized", NULL};
    static const char *const roles[] = {"pred_logits", "pred_boxes"};
    odet_status st;
    int ignored = 0;
    if ((st = det_meta_count(meta, "odet.num_queries", 1, 1u << 20, &cfg->num_queries, err,
                             errlen)) != ODET_OK ||
        (st = det_meta_choice(meta, "odet.logits_activation", acts, &ignored, err, errlen)) !=
            ODET_OK ||
        (st = det_meta_choice(meta, "odet.box_format", fmts, &ignored, err, errlen)) != ODET_OK ||
        (st = det_bind_outputs(cfg, roles, 2, 0, err, errlen)) != ODET_OK)
        return st;

    odet_dtype dt;
    int rank;
    int64_t dims[ODET_MAX_RANK];
    if (odet_model_output_info(cfg->model, cfg->out[R_LOGITS], &dt, &rank, dims) != ODET_OK)
        return det_fail(err, errlen, ODET_ERR_INTERNAL, "%s: cannot read output info",
                        cfg->path);
    int64_t q = cfg->num_queries ? (int64_t)cfg->num_queries : -1;
    int64_t exp[3] = {1, q, cfg->num_classes ? (int64_t)cfg->num_classes + 1 : -1};
    if ((st = det_check_model_output(cfg, cfg->out[R_LOGITS], "class logits", 3, exp,
                                     "[1,Q,C+1]", err, errlen)) != ODET_OK)
        return st;
    if (!cfg->num_classes) {
        if (dims[2] < 2)
            return det_fail(err, errlen, ODET_ERR_SHAPE,
                            "%s: output '%s' must be [1,Q,C+1] with C+1 >= 2 (the last logit "
                            "is 'no object'), got a dynamic or too small last dim; set "
                            "odet.num_classes",
                            cfg->path, odet_model_output_name(cfg->model, cfg->out[R_LOGITS]));
        cfg->num_classes = (size_t)dims[2] - 1;
    }
    if (!cfg->num_queries && dims[1] > 0)
        cfg->num_queries = (size_t)dims[1];
    exp[1] = cfg->num_queries ? (int64_t)cfg->num_queries : -1;
    exp[2] = 4;
    return det_check_model_output(cfg, cfg->out[R_BOXES], "boxes", 3, exp, "[1,Q,4]", err,
                                  errlen);
}

static odet_status detr_decode(const det_config *cfg, const odet_session *s,
                               const odet_preprocess_layout *L, det_scratch *scr,
                               odet_detection **out, size_t *n, char *err, size_t errlen)
{
    const odet_tensor *lg, *bx;
    int64_t exp[3] = {1, cfg->num_queries ? (int64_t)cfg->num_queries : -1,
                      (int64_t)cfg->num_classes + 1};
    odet_status st = det_check_run_output(cfg, s, cfg->out[R_LOGITS], "class logits", 3, exp,
                                          "[1,Q,C+1]", &lg, err, errlen);
    if (st != ODET_OK)
        return st;
    const size_t q = (size_t)lg->dims[1];
    exp[1] = (int64_t)q;
    exp[2] = 4;
    if ((st = det_check_run_output(cfg, s, cfg->out[R_BOXES], "boxes", 3, exp, "[1,Q,4]", &bx,
                                   err, errlen)) != ODET_OK)
        return st;
    odet_detection *d = det_scratch_get(scr, 0, (q ? q : 1) * sizeof *d);
    if (!d)
        return det_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory for %zu queries",
                        cfg->path, q);
    /* the size the normalised boxes refer to, in original-image pixels */
    const double sx = L->transform[0], sy = L->transform[4];
    const int offset = L->transform[2] != 0.0 || L->transform[5] != 0.0;
    float w = offset ? (float)L->tensor_width : (float)(L->tensor_width / sx);
    float h = offset ? (float)L->tensor_height : (float)(L->tensor_height / sy);
    int ps = odet_detr_decode(lg->data, bx->data, q, cfg->num_classes + 1, w, h,
                              cfg->score_threshold, d, n);
    if (ps != ODET_PP_OK)
        return det_fail(err, errlen,
                        ps == ODET_PP_ERR_NONFINITE ? ODET_ERR_INVALID_ARG : ODET_ERR_INTERNAL,
                        "%s: decoding outputs '%s', '%s' failed: %s%s", cfg->path,
                        odet_model_output_name(cfg->model, cfg->out[R_LOGITS]),
                        odet_model_output_name(cfg->model, cfg->out[R_BOXES]),
                        odet_pp_status_str(ps),
                        ps == ODET_PP_ERR_NONFINITE ? " (NaN in the outputs)" : "");
    if (offset)
        det_unscale_boxes(L, d, *n);
    det_sort_by_score(d, *n);
    if (*n > cfg->max_detections)
        *n = cfg->max_detections;
    *out = d;
    return ODET_OK;
}

const det_adapter det_adapter_detr = {
    "detr",
    ODET_ARCH_DETR,
    "pred_logits [1,Q,C+1] (last = no object), pred_boxes [1,Q,4] (normalised cx,cy,w,h)",
    detr_defaults,
    detr_setup,
    detr_decode,
};
