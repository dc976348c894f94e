/* VarifocalNet adapter (mmdetection VFNetHead).
 *
 * Outputs, for levels l = 0..L-1 with strides s_l (odet.strides, default
 * 8,16,32,64,128): cls_score_l [1,C,H_l,W_l] IoU-aware classification logits
 * (odet.score_activation=sigmoid) and bbox_pred_l [1,4,H_l,W_l] distances
 * (left, top, right, bottom) in input pixels from the point
 * ((x + o) s_l, (y + o) s_l), o = odet.point_offset (0 for mmdet >= 2.18).
 * H_l = ceil(H / s_l), W_l = ceil(W / s_l).
 *
 * Decoding is mmdet's VFNetHead.get_bboxes(rescale=True) + multiclass_nms:
 * per level the pre_nms_top_k points with the best max-class score,
 * distance2bbox clamped to the resized image, boxes divided by the scale
 * factor, then every (point, class) with score > score_threshold enters a
 * class-aware NMS and the best max_detections remain (odet_rank). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "adapter.h"

static const float MEAN_RGB[3] = {0.485f, 0.456f, 0.406f};
static const float STD_RGB[3] = {0.229f, 0.224f, 0.225f};

enum { S_SCORES, S_BOXES, S_WORK, S_DETS };

static void vf_defaults(det_config *cfg, int dynamic)
{
    det_prep *p = &cfg->prep;
    /* mmdet test pipeline: Resize((1333, 800), keep_ratio) with cv2,
     * Normalize (to_rgb), Pad(size_divisor=32) */
    p->method = ODET_PRE_RESIZE_KEEP_RATIO_CV;
    p->short_side = 800;
    p->max_size = 1333;
    p->size_divisor = dynamic ? 32 : 0;
    p->norm.order = ODET_CHANNELS_RGB;
    p->norm.divisor = 255.0f;
    memcpy(p->norm.mean, MEAN_RGB, sizeof MEAN_RGB);
    memcpy(p->norm.std, STD_RGB, sizeof STD_RGB);
    /* mmdet VFNet test_cfg */
    cfg->score_threshold = 0.05f;
    cfg->max_detections = 100;
    cfg->nms_iou_threshold = 0.6f;
    cfg->pre_nms_top_k = 1000;
    static const int strides[] = {8, 16, 32, 64, 128};
    cfg->n_levels = 5;
    memcpy(cfg->strides, strides, sizeof strides);
    cfg->point_offset = 0.0f;
    cfg->scores_are_logits = 1;
    cfg->box_in_strides = 0;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

static void level_text(const det_config *cfg, size_t l, const char *ch, char *buf, size_t len)
{
    snprintf(buf, len, "[1,%s,ceil(H/%d),ceil(W/%d)]", ch, cfg->strides[l], cfg->strides[l]);
}

static odet_status vf_setup(det_config *cfg, const det_meta *meta, char *err, size_t errlen)
{
    static const char *const acts[] = {"sigmoid", "sigmoid_applied", NULL};
    static const char *const fmts[] = {"ltrb_distance_pixels", "ltrb_distance_strides", NULL};
    odet_status st;
    int act = 0, fmt = 0;
    size_t nl = cfg->n_levels;
    if ((st = det_meta_ints(meta, "odet.strides", DET_MAX_LEVELS, cfg->strides, &nl, err,
                            errlen)) != ODET_OK ||
        (st = det_meta_float(meta, "odet.point_offset", 0.0, 1.0, &cfg->point_offset, err,
                             errlen)) != ODET_OK ||
        (st = det_meta_choice(meta, "odet.score_activation", acts, &act, err, errlen)) !=
            ODET_OK ||
        (st = det_meta_choice(meta, "odet.box_format", fmts, &fmt, err, errlen)) != ODET_OK)
        return st;
    cfg->n_levels = nl;
    cfg->scores_are_logits = act == 0;
    cfg->box_in_strides = fmt == 1;

    char names[2 * DET_MAX_LEVELS][24];
    const char *roles[2 * DET_MAX_LEVELS];
    for (size_t l = 0; l < nl; l++) {
        snprintf(names[l], sizeof names[l], "cls_score_%d", (int)l);
        snprintf(names[nl + l], sizeof names[nl + l], "bbox_pred_%d", (int)l);
        roles[l] = names[l];
        roles[nl + l] = names[nl + l];
    }
    if ((st = det_bind_outputs(cfg, roles, 2 * nl, 0, err, errlen)) != ODET_OK)
        return st;

    odet_dtype dt;
    int rank;
    int64_t dims[ODET_MAX_RANK];
    for (size_t l = 0; l < nl; l++) {
        const int64_t s = cfg->strides[l];
        int64_t exp[4] = {1, cfg->num_classes ? (int64_t)cfg->num_classes : -1,
                          cfg->prep.in_h ? ceil_div(cfg->prep.in_h, s) : -1,
                          cfg->prep.in_w ? ceil_div(cfg->prep.in_w, s) : -1};
        char text[64];
        level_text(cfg, l, "C", text, sizeof text);
        if ((st = det_check_model_output(cfg, cfg->out[l], "class scores", 4, exp, text, err,
                                         errlen)) != ODET_OK)
            return st;
        if (!cfg->num_classes) {
            odet_model_output_info(cfg->model, cfg->out[l], &dt, &rank, dims);
            if (dims[1] < 1)
                return det_fail(err, errlen, ODET_ERR_SHAPE,
                                "%s: the class count of output '%s' is dynamic; set "
                                "odet.num_classes",
                                cfg->path, odet_model_output_name(cfg->model, cfg->out[l]));
            cfg->num_classes = (size_t)dims[1];
        }
        exp[1] = 4;
        level_text(cfg, l, "4", text, sizeof text);
        if ((st = det_check_model_output(cfg, cfg->out[nl + l], "box distances", 4, exp, text,
                                         err, errlen)) != ODET_OK)
            return st;
    }
    return ODET_OK;
}

static odet_status vf_decode(const det_config *cfg, const odet_session *s,
                             const odet_preprocess_layout *L, det_scratch *scr,
                             odet_detection **out, size_t *n, char *err, size_t errlen)
{
    const size_t nl = cfg->n_levels, nc = cfg->num_classes;
    const odet_tensor *cls[DET_MAX_LEVELS], *box[DET_MAX_LEVELS];
    size_t total = 0;
    odet_status st;
    for (size_t l = 0; l < nl; l++) {
        const int64_t stride = cfg->strides[l];
        int64_t exp[4] = {1, (int64_t)nc, ceil_div(L->tensor_height, stride),
                          ceil_div(L->tensor_width, stride)};
        char text[64];
        level_text(cfg, l, "C", text, sizeof text);
        if ((st = det_check_run_output(cfg, s, cfg->out[l], "class scores", 4, exp, text,
                                       &cls[l], err, errlen)) != ODET_OK)
            return st;
        exp[1] = 4;
        level_text(cfg, l, "4", text, sizeof text);
        if ((st = det_check_run_output(cfg, s, cfg->out[nl + l], "box distances", 4, exp, text,
                                       &box[l], err, errlen)) != ODET_OK)
            return st;
        total += (size_t)(exp[2] * exp[3]);
    }
    float *scores = det_scratch_get(scr, S_SCORES, total * nc * sizeof(float));
    odet_box *boxes = det_scratch_get(scr, S_BOXES, total * sizeof(odet_box));
    odet_detection *d = det_scratch_get(scr, S_DETS, cfg->max_detections * sizeof *d);
    if (!scores || !boxes || !d)
        return det_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory for %zu points",
                        cfg->path, total);

    /* mmdet: distance2bbox(points, pred, max_shape=img_shape), img_shape being
     * the resized, unpadded image; then bboxes /= scale_factor. In general:
     * clamp to the image's footprint in the tensor (the resized content, or
     * for letterbox / affine methods the area the image maps to). */
    const double *m = L->transform;
    const float min_x = (float)fmax(L->content_x, m[2]);
    const float min_y = (float)fmax(L->content_y, m[5]);
    const float max_x = (float)fmin(L->content_x + L->content_width, m[0] * L->image_width + m[2]);
    const float max_y =
        (float)fmin(L->content_y + L->content_height, m[4] * L->image_height + m[5]);
    odet_rank_level levels[DET_MAX_LEVELS];
    size_t base = 0;
    for (size_t l = 0; l < nl; l++) {
        const size_t h = (size_t)cls[l]->dims[2], w = (size_t)cls[l]->dims[3], hw = h * w;
        const float *cs = cls[l]->data, *bp = box[l]->data;
        float *sc = scores + base * nc;
        odet_box *bb = boxes + base;
        for (size_t c = 0; c < nc; c++)
            for (size_t i = 0; i < hw; i++)
                sc[i * nc + c] = cs[c * hw + i];
        const float stride = (float)cfg->strides[l];
        const float mult = cfg->box_in_strides ? stride : 1.0f;
        for (size_t y = 0; y < h; y++) {
            const float py = ((float)y + cfg->point_offset) * stride;
            for (size_t x = 0; x < w; x++) {
                const size_t i = y * w + x;
                const float px = ((float)x + cfg->point_offset) * stride;
                float x1 = px - bp[i] * mult, y1 = py - bp[hw + i] * mult;
                float x2 = px + bp[2 * hw + i] * mult, y2 = py + bp[3 * hw + i] * mult;
                x1 = x1 < min_x ? min_x : (x1 > max_x ? max_x : x1);
                y1 = y1 < min_y ? min_y : (y1 > max_y ? max_y : y1);
                x2 = x2 < min_x ? min_x : (x2 > max_x ? max_x : x2);
                y2 = y2 < min_y ? min_y : (y2 > max_y ? max_y : y2);
                bb[i].x1 = x1;
                bb[i].y1 = y1;
                bb[i].x2 = x2;
                bb[i].y2 = y2;
            }
        }
        odet_letterbox lb = {L->transform[0], L->transform[4], L->transform[2],
                             L->transform[5]};
        odet_boxes_unletterbox(bb, hw, &lb, bb);
        levels[l].scores = sc;
        levels[l].boxes = bb;
        levels[l].quality = NULL;
        levels[l].count = hw;
        base += hw;
    }

    odet_rank_params p = odet_rank_default_params(nc);
    p.pre_nms_top_k = cfg->pre_nms_top_k;
    p.score_threshold = cfg->score_threshold;
    p.iou_threshold = cfg->nms_iou_threshold;
    p.max_detections = cfg->max_detections;
    p.scores_are_logits = cfg->scores_are_logits;
    size_t ws_size = odet_rank_workspace_size(levels, nl, &p);
    if (ws_size == SIZE_MAX)
        return det_fail(err, errlen, ODET_ERR_LIMIT, "%s: %zu points x %zu classes is too many",
                        cfg->path, total, nc);
    void *ws = det_scratch_get(scr, S_WORK, ws_size);
    if (!ws)
        return det_fail(err, errlen, ODET_ERR_NOMEM,
                        "%s: out of memory for the ranking workspace (%zu bytes)", cfg->path,
                        ws_size);
    int ps = odet_rank_ws(levels, nl, &p, d, n, ws, ws_size);
    if (ps != ODET_PP_OK)
        return det_fail(err, errlen,
                        ps == ODET_PP_ERR_NONFINITE ? ODET_ERR_INVALID_ARG : ODET_ERR_INTERNAL,
                        "%s: ranking outputs '%s'.. failed: %s%s", cfg->path,
                        odet_model_output_name(cfg->model, cfg->out[0]), odet_pp_status_str(ps),
                        ps == ODET_PP_ERR_NONFINITE ? " (NaN in the outputs)" : "");
    *out = d;
    return ODET_OK;
}

const det_adapter det_adapter_vfnet = {
    "vfnet",
    ODET_ARCH_VFNET,
    "cls_score_0..4 [1,C,H/s,W/s] (logits), bbox_pred_0..4 [1,4,H/s,W/s] (l,t,r,b pixels), "
    "s = 8..128",
    vf_defaults,
    vf_setup,
    vf_decode,
};
