/* CenterNet adapter (Objects as Points, xingyizhou/CenterNet ctdet).
 *
 * Outputs: hm [1,C,H/s,W/s] (sigmoid applied, or logits with
 * odet.hm_activation=logits), wh [1,2,H/s,W/s], reg [1,2,H/s,W/s] (optional)
 * with s = odet.output_stride (4). Decoding is ctdet_decode (3x3 max-pool
 * peaks, top-K over all classes) in output-map cells, then ctdet_post_process:
 * the inverse of get_affine_transform(c, s, 0, (W/s, H/s)) maps the boxes to
 * the original image. With another preprocessing method the boxes are decoded
 * in tensor pixels and the resize is undone. */
#include <stdio.h>
#include <string.h>

#include "adapter.h"

/* CenterNet's COCO statistics, BGR order (the official code feeds cv2 images). */
static const float MEAN_BGR[3] = {0.40789654f, 0.44719302f, 0.47026115f};
static const float STD_BGR[3] = {0.28863828f, 0.27408164f, 0.27809835f};

enum { R_HM, R_WH, R_REG };

static void cn_defaults(det_config *cfg, int dynamic)
{
    det_prep *p = &cfg->prep;
    p->method = ODET_PRE_AFFINE_CENTERNET;
    if (dynamic) {
        /* CenterNet --keep_res: tensor = image rounded up to a multiple of 32 */
        p->flags |= ODET_PRE_CENTERNET_KEEP_RES;
        p->size_divisor = 32;
    }
    p->norm.order = ODET_CHANNELS_BGR;
    p->norm.divisor = 255.0f;
    memcpy(p->norm.mean, MEAN_BGR, sizeof MEAN_BGR);
    memcpy(p->norm.std, STD_BGR, sizeof STD_BGR);
    cfg->score_threshold = 0.3f; /* CenterNet's --vis_thresh */
    cfg->max_detections = 100;   /* CenterNet's K */
    cfg->output_stride = 4;
    cfg->heat_is_logits = 0;
}

/* Expected [1, C, h, w] of a head; h, w = -1 when the input is dynamic. */
static void head_dims(const det_config *cfg, int64_t channels, int64_t d[4])
{
    const int s = cfg->output_stride;
    d[0] = 1;
    d[1] = channels;
    d[2] = cfg->prep.in_h ? cfg->prep.in_h / s : -1;
    d[3] = cfg->prep.in_w ? cfg->prep.in_w / s : -1;
}

static void head_text(const det_config *cfg, const char *ch, char *buf, size_t len)
{
    snprintf(buf, len, "[1,%s,H/%d,W/%d]", ch, cfg->output_stride, cfg->output_stride);
}

static odet_status cn_setup(det_config *cfg, const det_meta *meta, char *err, size_t errlen)
{
    static const char *const acts[] = {"sigmoid_applied", "logits", NULL};
    static const char *const roles[] = {"hm", "wh", "reg"};
    odet_status st;
    int act = 0;
    if ((st = det_meta_int(meta, "odet.output_stride", 1, 256, &cfg->output_stride, err,
                           errlen)) != ODET_OK ||
        (st = det_meta_choice(meta, "odet.hm_activation", acts, &act, err, errlen)) != ODET_OK)
        return st;
    cfg->heat_is_logits = act == 1;
    if ((st = det_bind_outputs(cfg, roles, 3, 1, err, errlen)) != ODET_OK)
        return st;
    cfg->has_reg = cfg->n_out == 3;

    /* classes: the heatmap's channel count */
    odet_dtype dt;
    int rank;
    int64_t dims[ODET_MAX_RANK];
    if (odet_model_output_info(cfg->model, cfg->out[R_HM], &dt, &rank, dims) != ODET_OK)
        return det_fail(err, errlen, ODET_ERR_INTERNAL, "%s: cannot read output info",
                        cfg->path);
    int64_t exp[4];
    char text[48];
    head_dims(cfg, cfg->num_classes ? (int64_t)cfg->num_classes : -1, exp);
    head_text(cfg, "C", text, sizeof text);
    if ((st = det_check_model_output(cfg, cfg->out[R_HM], "heatmap", 4, exp, text, err,
                                     errlen)) != ODET_OK)
        return st;
    if (!cfg->num_classes) {
        if (dims[1] < 1)
            return det_fail(err, errlen, ODET_ERR_SHAPE,
                            "%s: the class count of output '%s' is dynamic; set odet.num_classes",
                            cfg->path, odet_model_output_name(cfg->model, cfg->out[R_HM]));
        cfg->num_classes = (size_t)dims[1];
    }
    head_dims(cfg, 2, exp);
    head_text(cfg, "2", text, sizeof text);
    if ((st = det_check_model_output(cfg, cfg->out[R_WH], "box size", 4, exp, text, err,
                                     errlen)) != ODET_OK)
        return st;
    if (cfg->has_reg &&
        (st = det_check_model_output(cfg, cfg->out[R_REG], "centre offset", 4, exp, text, err,
                                     errlen)) != ODET_OK)
        return st;
    return ODET_OK;
}

static odet_status cn_decode(const det_config *cfg, const odet_session *s,
                             const odet_preprocess_layout *L, det_scratch *scr,
                             odet_detection **out, size_t *n, char *err, size_t errlen)
{
    const int stride = cfg->output_stride;
    const int oh = L->tensor_height / stride, ow = L->tensor_width / stride;
    int64_t exp[4] = {1, (int64_t)cfg->num_classes, oh, ow};
    char text[48];
    const odet_tensor *hm, *wh, *reg = NULL;
    odet_status st;
    head_text(cfg, "C", text, sizeof text);
    if ((st = det_check_run_output(cfg, s, cfg->out[R_HM], "heatmap", 4, exp, text, &hm, err,
                                   errlen)) != ODET_OK)
        return st;
    exp[1] = 2;
    head_text(cfg, "2", text, sizeof text);
    if ((st = det_check_run_output(cfg, s, cfg->out[R_WH], "box size", 4, exp, text, &wh, err,
                                   errlen)) != ODET_OK)
        return st;
    if (cfg->has_reg && (st = det_check_run_output(cfg, s, cfg->out[R_REG], "centre offset", 4,
                                                   exp, text, &reg, err, errlen)) != ODET_OK)
        return st;

    odet_detection *d = det_scratch_get(scr, 0, cfg->max_detections * sizeof *d);
    if (!d)
        return det_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory for %zu detections",
                        cfg->path, cfg->max_detections);
    const int affine = cfg->prep.method == ODET_PRE_AFFINE_CENTERNET;
    odet_centernet_params p;
    p.k = cfg->max_detections;
    p.score_threshold = cfg->score_threshold;
    p.down_ratio = affine ? 1.0f : (float)stride; /* affine: map from output cells */
    p.heat_is_logits = cfg->heat_is_logits;
    int ps = odet_centernet_decode(hm->data, wh->data, reg ? reg->data : NULL, cfg->num_classes,
                                   (size_t)oh, (size_t)ow, &p, d, n);
    if (ps != ODET_PP_OK)
        return det_fail(err, errlen, ps == ODET_PP_ERR_NONFINITE ? ODET_ERR_INVALID_ARG
                                                                  : ODET_ERR_INTERNAL,
                        "%s: decoding output '%s' failed: %s%s", cfg->path,
                        odet_model_output_name(cfg->model, cfg->out[R_HM]),
                        odet_pp_status_str(ps),
                        ps == ODET_PP_ERR_NONFINITE ? " (NaN in the heatmap)" : "");
    if (affine) {
        /* ctdet_post_process: transform_preds with get_affine_transform(c, s,
         * 0, (W/s, H/s), inv=1) */
        odet_affine inv;
        if (odet_centernet_affine(L->center, L->scale, 0.0, ow, oh, 1, inv.m) != ODET_OK)
            return det_fail(err, errlen, ODET_ERR_INTERNAL,
                            "%s: degenerate CenterNet transform for a %dx%d image", cfg->path,
                            L->image_width, L->image_height);
        for (size_t i = 0; i < *n; i++)
            odet_boxes_affine(&d[i].box, 1, &inv, &d[i].box);
    } else {
        det_unscale_boxes(L, d, *n);
    }
    *out = d;
    return ODET_OK;
}

const det_adapter det_adapter_centernet = {
    "centernet",
    ODET_ARCH_CENTERNET,
    "hm [1,C,H/4,W/4] (sigmoid applied), wh [1,2,H/4,W/4], reg [1,2,H/4,W/4]",
    cn_defaults,
    cn_setup,
    cn_decode,
};
