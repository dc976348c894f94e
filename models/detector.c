/* Detector: options + metadata -> configuration, per-image preprocessing,
 * engine run, adapter decode, results (see odet/detector.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adapter.h"

#define MAX_DETECTIONS_LIMIT 100000

struct odet_detector {
    odet_model *model;
    char *path;
    det_config cfg;
    char **names;       /* num_classes pointers into names_block */
    char *names_block;
    int threads;
    odet_detector_context *def;
};

struct odet_detector_context {
    const odet_detector *det;
    odet_session *session;
    float *tensor;
    size_t tensor_cap;      /* floats */
    void *prep;
    size_t prep_cap;        /* bytes */
    det_scratch scr;
    odet_object *objects;   /* max_detections entries */
};

static const det_adapter *const ADAPTERS[] = {NULL, &det_adapter_centernet, &det_adapter_detr,
                                              &det_adapter_vfnet};

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

const char *odet_arch_name(odet_arch arch)
{
    switch (arch) {
    case ODET_ARCH_AUTO: return "auto";
    case ODET_ARCH_CENTERNET: return "centernet";
    case ODET_ARCH_DETR: return "detr";
    case ODET_ARCH_VFNET: return "vfnet";
    }
    return "invalid";
}

int odet_arch_parse(const char *name, odet_arch *arch)
{
    if (!name || !arch)
        return -1;
    for (int a = ODET_ARCH_AUTO; a <= ODET_ARCH_VFNET; a++)
        if (strcasecmp(name, odet_arch_name((odet_arch)a)) == 0) {
            *arch = (odet_arch)a;
            return 0;
        }
    return -1;
}

static const char *const METHOD_NAMES[] = {"affine_centernet", "resize_keep_ratio_cv",
                                           "resize_shorter_side_pil", "letterbox",
                                           "fixed_resize", NULL};

static const char *method_name(odet_preprocess_method m)
{
    return (unsigned)m < 5 ? METHOD_NAMES[m] : "invalid";
}

/* ------------------------------------------------------------------------ */
/* Helpers shared with the adapters                                          */
/* ------------------------------------------------------------------------ */

void *det_scratch_get(det_scratch *s, int slot, size_t bytes)
{
    if (slot < 0 || slot >= DET_SCRATCH_SLOTS)
        return NULL;
    if (bytes == 0)
        bytes = 1;
    if (s->cap[slot] < bytes) {
        void *p = realloc(s->p[slot], bytes);
        if (!p)
            return NULL;
        s->p[slot] = p;
        s->cap[slot] = bytes;
    }
    return s->p[slot];
}

void det_scratch_release(det_scratch *s)
{
    for (int i = 0; i < DET_SCRATCH_SLOTS; i++) {
        free(s->p[i]);
        s->p[i] = NULL;
        s->cap[i] = 0;
    }
}

void det_format_dims(char *buf, size_t len, int rank, const int64_t *dims)
{
    if (!len)
        return;
    if (rank < 0) {
        snprintf(buf, len, "[unknown rank]");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i <= rank && used < len; i++) {
        int k;
        if (i == rank)
            k = snprintf(buf + used, len - used, "]");
        else if (dims[i] < 0)
            k = snprintf(buf + used, len - used, "%s?", i ? "," : "[");
        else
            k = snprintf(buf + used, len - used, "%s%lld", i ? "," : "[", (long long)dims[i]);
        if (k < 0)
            return;
        used += (size_t)k;
    }
    if (rank == 0)
        snprintf(buf, len, "[]");
}

long det_find_output(const odet_model *m, const char *name)
{
    size_t n = odet_model_output_count(m);
    for (size_t i = 0; i < n; i++) {
        const char *o = odet_model_output_name(m, i);
        if (o && strcmp(o, name) == 0)
            return (long)i;
    }
    return -1;
}

void det_list_outputs(const odet_model *m, char *buf, size_t len)
{
    size_t n = odet_model_output_count(m), used = 0;
    if (!len)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        odet_dtype dt;
        int rank;
        int64_t dims[ODET_MAX_RANK];
        char d[96] = "[?]";
        if (odet_model_output_info(m, i, &dt, &rank, dims) == ODET_OK)
            det_format_dims(d, sizeof d, rank, dims);
        int k = snprintf(buf + used, len - used, "%s'%s' %s", i ? ", " : "",
                         odet_model_output_name(m, i), d);
        if (k < 0)
            return;
        used += (size_t)k;
    }
}

/* Expected dims: concrete values, symbolic tokens of `text` where exp is -1. */
static void format_expected(char *buf, size_t len, int rank, const int64_t *exp,
                            const char *text)
{
    char tok[ODET_MAX_RANK][24];
    const char *p = text && text[0] == '[' ? text + 1 : "";
    for (int i = 0; i < rank; i++) {
        size_t n = strcspn(p, ",]");
        if (n >= sizeof tok[i])
            n = sizeof tok[i] - 1;
        memcpy(tok[i], p, n);
        tok[i][n] = '\0';
        if (!tok[i][0])
            snprintf(tok[i], sizeof tok[i], "?");
        p += strcspn(p, ",]");
        if (*p == ',')
            p++;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i <= rank && used < len; i++) {
        int k;
        if (i == rank)
            k = snprintf(buf + used, len - used, "]");
        else if (exp[i] < 0)
            k = snprintf(buf + used, len - used, "%s%s", i ? "," : "[", tok[i]);
        else
            k = snprintf(buf + used, len - used, "%s%lld", i ? "," : "[", (long long)exp[i]);
        if (k < 0)
            return;
        used += (size_t)k;
    }
}

odet_status det_check_dims(const det_config *cfg, const char *name, const char *role,
                           odet_dtype dtype, int rank, const int64_t *got, int exp_rank,
                           const int64_t *exp, const char *exp_text, char *err,
                           size_t errlen)
{
    if (dtype != ODET_FLOAT)
        return det_fail(err, errlen, ODET_ERR_DTYPE,
                        "%s: output '%s' (%s) must be float, got %s", cfg->path, name, role,
                        odet_dtype_name(dtype));
    int ok = rank < 0 || rank == exp_rank;
    for (int i = 0; ok && rank >= 0 && i < rank; i++)
        if (got[i] >= 0 && exp[i] >= 0 && got[i] != exp[i])
            ok = 0;
        else if (got[i] == 0)
            ok = 0;
    if (ok)
        return ODET_OK;
    char e[128], g[128];
    format_expected(e, sizeof e, exp_rank, exp, exp_text);
    det_format_dims(g, sizeof g, rank, got);
    if (strcmp(e, exp_text) == 0)
        return det_fail(err, errlen, ODET_ERR_SHAPE, "%s: output '%s' (%s) must be %s, got %s",
                        cfg->path, name, role, exp_text, g);
    return det_fail(err, errlen, ODET_ERR_SHAPE, "%s: output '%s' (%s) must be %s = %s, got %s",
                    cfg->path, name, role, exp_text, e, g);
}

odet_status det_check_model_output(const det_config *cfg, size_t index, const char *role,
                                   int exp_rank, const int64_t *exp, const char *exp_text,
                                   char *err, size_t errlen)
{
    odet_dtype dt;
    int rank;
    int64_t dims[ODET_MAX_RANK];
    if (odet_model_output_info(cfg->model, index, &dt, &rank, dims) != ODET_OK)
        return det_fail(err, errlen, ODET_ERR_INTERNAL, "%s: no output %zu", cfg->path, index);
    if (dt == ODET_UNDEFINED)
        dt = ODET_FLOAT; /* type not declared: checked at run time */
    return det_check_dims(cfg, odet_model_output_name(cfg->model, index), role, dt, rank, dims,
                          exp_rank, exp, exp_text, err, errlen);
}

odet_status det_check_run_output(const det_config *cfg, const odet_session *s, size_t index,
                                 const char *role, int exp_rank, const int64_t *exp,
                                 const char *exp_text, const odet_tensor **t, char *err,
                                 size_t errlen)
{
    const odet_tensor *o = odet_session_output(s, index);
    const char *name = odet_model_output_name(cfg->model, index);
    if (!o || (!o->data && odet_tensor_numel(o) > 0))
        return det_fail(err, errlen, ODET_ERR_INTERNAL, "%s: output '%s' is missing after the run",
                        cfg->path, name);
    odet_status st = det_check_dims(cfg, name, role, o->dtype, o->rank, o->dims, exp_rank, exp,
                                    exp_text, err, errlen);
    if (st != ODET_OK)
        return st;
    *t = o;
    return ODET_OK;
}

odet_status det_bind_outputs(det_config *cfg, const char *const *roles, size_t n_roles,
                             size_t n_optional, char *err, size_t errlen)
{
    const odet_model *m = cfg->model;
    const size_t count = odet_model_output_count(m);
    const size_t need = n_roles - n_optional;
    size_t by_name = 0;
    const char *missing = NULL;
    for (size_t i = 0; i < n_roles; i++) {
        long k = det_find_output(m, roles[i]);
        if (k < 0) {
            if (!missing)
                missing = roles[i];
            break;
        }
        cfg->out[i] = (size_t)k;
        by_name++;
    }
    if (by_name >= need) {
        cfg->n_out = by_name;
        return ODET_OK;
    }
    if (count >= need && count <= n_roles) {
        /* names differ (exported elsewhere): bind by position */
        for (size_t i = 0; i < count; i++)
            cfg->out[i] = i;
        cfg->n_out = count;
        return ODET_OK;
    }
    char list[320];
    det_list_outputs(m, list, sizeof list);
    return det_fail(err, errlen, ODET_ERR_SHAPE,
                    "%s: the model's outputs do not fit the %s adapter: no output named '%s', "
                    "and %zu outputs instead of %zu%s (model outputs: %s; %s expects %s)",
                    cfg->path, cfg->adapter->name, missing ? missing : "?", count, n_roles,
                    n_optional ? " or fewer" : "", list, cfg->adapter->name,
                    cfg->adapter->outputs_doc);
}

void det_unscale_boxes(const odet_preprocess_layout *L, odet_detection *d, size_t n)
{
    odet_letterbox lb = {L->transform[0], L->transform[4], L->transform[2], L->transform[5]};
    for (size_t i = 0; i < n; i++)
        odet_boxes_unletterbox(&d[i].box, 1, &lb, &d[i].box);
}

static int cmp_det(const void *a, const void *b)
{
    const odet_detection *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

void det_sort_by_score(odet_detection *d, size_t n)
{
    if (n > 1)
        qsort(d, n, sizeof *d, cmp_det);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */

void odet_detector_options_init(odet_detector_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->arch = ODET_ARCH_AUTO;
    opt->score_threshold = -1.0f;
    opt->nms_iou_threshold = -1.0f;
    opt->preprocess_method = -1;
    opt->size_divisor = -1;
    opt->channel_order = -1;
    for (int c = 0; c < 3; c++)
        opt->std[c] = 1.0f;
}

static odet_status check_options(const odet_detector_options *o, char *err, size_t errlen)
{
#define BAD(...) det_fail(err, errlen, ODET_ERR_INVALID_ARG, __VA_ARGS__)
    if ((unsigned)o->arch > ODET_ARCH_VFNET)
        return BAD("detector options: invalid arch %d (auto, centernet, detr or vfnet)",
                   (int)o->arch);
    if (o->threads < 0 || o->threads > 1024)
        return BAD("detector options: threads %d must be in 0..1024", o->threads);
    if (isnan(o->score_threshold) || o->score_threshold > 1.0f)
        return BAD("detector options: score_threshold %g must be <= 1 (negative: model default)",
                   (double)o->score_threshold);
    if (o->max_detections > MAX_DETECTIONS_LIMIT)
        return BAD("detector options: max_detections %zu exceeds %d", o->max_detections,
                   MAX_DETECTIONS_LIMIT);
    if (isnan(o->nms_iou_threshold) || o->nms_iou_threshold > 1.0f)
        return BAD("detector options: nms_iou_threshold %g must be in [0, 1] (negative: model "
                   "default)",
                   (double)o->nms_iou_threshold);
    if (o->pre_nms_top_k > 10000000)
        return BAD("detector options: pre_nms_top_k %zu is too large", o->pre_nms_top_k);
    if (o->preprocess_method < -1 || o->preprocess_method > ODET_PRE_FIXED_RESIZE)
        return BAD("detector options: invalid preprocess_method %d", o->preprocess_method);
    if (o->input_width < 0 || o->input_height < 0 || o->input_width > ODET_IMAGE_MAX_SIDE ||
        o->input_height > ODET_IMAGE_MAX_SIDE || (!o->input_width != !o->input_height))
        return BAD("detector options: input size %dx%d: give both sides in 1..%d, or neither",
                   o->input_width, o->input_height, ODET_IMAGE_MAX_SIDE);
    if (o->short_side < 0 || o->max_size < 0 || o->short_side > ODET_IMAGE_MAX_SIDE ||
        o->max_size > ODET_IMAGE_MAX_SIDE)
        return BAD("detector options: short_side %d / max_size %d must be in 0..%d",
                   o->short_side, o->max_size, ODET_IMAGE_MAX_SIDE);
    if (o->size_divisor < -1 || o->size_divisor > 4096)
        return BAD("detector options: size_divisor %d must be in -1..4096", o->size_divisor);
    if (o->use_mean_std)
        for (int c = 0; c < 3; c++)
            if (!isfinite(o->mean[c]) || !isfinite(o->std[c]) || o->std[c] == 0.0f)
                return BAD("detector options: mean[%d] = %g / std[%d] = %g must be finite, std "
                           "non-zero",
                           c, (double)o->mean[c], c, (double)o->std[c]);
    if (o->channel_order < -1 || o->channel_order > ODET_CHANNELS_BGR)
        return BAD("detector options: invalid channel_order %d", o->channel_order);
    if (o->num_class_names && !o->class_names)
        return BAD("detector options: num_class_names %zu with NULL class_names",
                   o->num_class_names);
    for (size_t i = 0; i < o->num_class_names; i++)
        if (!o->class_names[i])
            return BAD("detector options: class_names[%zu] is NULL", i);
#undef BAD
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Per-image preprocessing                                                   */
/* ------------------------------------------------------------------------ */

static void prep_params(const det_prep *p, odet_preprocess_params *pp)
{
    odet_preprocess_params_init(pp, p->method);
    pp->target_width = p->in_w;
    pp->target_height = p->in_h;
    pp->short_side = p->short_side;
    pp->max_size = p->max_size;
    pp->size_divisor = p->size_divisor;
    pp->pad_width = p->in_w;
    pp->pad_height = p->in_h;
    pp->pad_value = p->pad_value;
    memcpy(pp->border, p->border, 3);
    pp->flags = p->flags;
    pp->norm = p->norm;
}

/* Layout of a w x h image. Fit mode (resize methods into a fixed input):
 * gain = min(W / w, H / h), content = (int(w gain + 0.5), int(h gain + 0.5))
 * at the top-left, the rest padded. Otherwise odet_preprocess_plan(). */
static odet_status plan_image(const det_config *cfg, int w, int h, odet_preprocess_layout *L,
                              char *err, size_t errlen)
{
    const det_prep *p = &cfg->prep;
    if (!p->fit) {
        odet_preprocess_params pp;
        prep_params(p, &pp);
        return odet_preprocess_plan(&pp, w, h, L, err, errlen);
    }
    memset(L, 0, sizeof *L);
    double gx = (double)p->in_w / w, gy = (double)p->in_h / h;
    double g = gx < gy ? gx : gy;
    double cw = floor(w * g + 0.5), ch = floor(h * g + 0.5);
    L->content_width = cw < 1.0 ? 1 : (cw > p->in_w ? p->in_w : (int)cw);
    L->content_height = ch < 1.0 ? 1 : (ch > p->in_h ? p->in_h : (int)ch);
    L->image_width = w;
    L->image_height = h;
    L->tensor_width = p->in_w;
    L->tensor_height = p->in_h;
    L->transform[0] = (double)L->content_width / w;
    L->transform[4] = (double)L->content_height / h;
    L->tensor_floats = 3 * (size_t)p->in_w * (size_t)p->in_h;
    L->scratch_bytes =
        p->method == ODET_PRE_RESIZE_SHORTER_SIDE_PIL
            ? odet_resize_bilinear_pil_scratch(w, h, L->content_width, L->content_height)
            : odet_resize_bilinear_cv_scratch(L->content_width);
    (void)err;
    (void)errlen;
    return ODET_OK;
}

static odet_status run_prep(const det_config *cfg, const odet_image *img,
                            const odet_preprocess_layout *L, float *tensor, void *scratch,
                            char *err, size_t errlen)
{
    const det_prep *p = &cfg->prep;
    if (!p->fit) {
        odet_preprocess_params pp;
        prep_params(p, &pp);
        return odet_preprocess_run(&pp, img, tensor, L->tensor_floats, scratch,
                                   L->scratch_bytes, NULL, err, errlen);
    }
    const int tw = L->tensor_width, th = L->tensor_height;
    const int cw = L->content_width, ch = L->content_height;
    const float pad[3] = {p->pad_value, p->pad_value, p->pad_value};
    odet_chw_window win = {tensor, tw, th, 0, 0};
    odet_chw_window right = win, below = win;
    right.x = cw;
    below.y = ch;
    odet_status st;
    if ((st = odet_chw_fill(&right, tw - cw, ch, pad, err, errlen)) != ODET_OK ||
        (st = odet_chw_fill(&below, tw, th - ch, pad, err, errlen)) != ODET_OK)
        return st;
    if (p->method == ODET_PRE_RESIZE_SHORTER_SIDE_PIL)
        return odet_resize_bilinear_pil(img, cw, ch, &p->norm, &win, scratch, L->scratch_bytes,
                                        err, errlen);
    return odet_resize_bilinear_cv(img, cw, ch, &p->norm, &win, scratch, L->scratch_bytes, err,
                                   errlen);
}

/* ------------------------------------------------------------------------ */
/* Load                                                                      */
/* ------------------------------------------------------------------------ */

static odet_status read_input(odet_detector *det, const odet_detector_options *o,
                              const det_meta *meta, char *err, size_t errlen)
{
    det_config *cfg = &det->cfg;
    const odet_model *m = det->model;
    size_t n = odet_model_input_count(m);
    if (n != 1)
        return det_fail(err, errlen, ODET_ERR_UNSUPPORTED,
                        "%s: a detector takes one image input [1,3,H,W]; the model has %zu "
                        "inputs",
                        det->path, n);
    const char *name = odet_model_input_name(m, 0);
    odet_dtype dt;
    int rank;
    int64_t d[ODET_MAX_RANK];
    if (odet_model_input_info(m, 0, &dt, &rank, d) != ODET_OK)
        return det_fail(err, errlen, ODET_ERR_INTERNAL, "%s: no input info", det->path);
    char g[96];
    det_format_dims(g, sizeof g, rank, d);
    if ((dt != ODET_FLOAT && dt != ODET_UNDEFINED) || (rank >= 0 && rank != 4) ||
        (rank == 4 && ((d[0] != 1 && d[0] >= 0) || (d[1] != 3 && d[1] >= 0))))
        return det_fail(err, errlen, ODET_ERR_SHAPE,
                        "%s: input '%s' must be float [1,3,H,W], got %s %s", det->path, name,
                        odet_dtype_name(dt), g);
    int gh = rank == 4 && d[2] > 0 ? (int)(d[2] > ODET_IMAGE_MAX_SIDE ? -2 : d[2]) : 0;
    int gw = rank == 4 && d[3] > 0 ? (int)(d[3] > ODET_IMAGE_MAX_SIDE ? -2 : d[3]) : 0;
    if (gh < 0 || gw < 0)
        return det_fail(err, errlen, ODET_ERR_LIMIT, "%s: input '%s' %s exceeds %d per side",
                        det->path, name, g, ODET_IMAGE_MAX_SIDE);
    int mh = 0, mw = 0;
    odet_status st = det_meta_hw(meta, "odet.input_size", ODET_IMAGE_MAX_SIDE, &mh, &mw, err,
                                 errlen);
    if (st != ODET_OK)
        return st;
    if (mh && ((gh && gh != mh) || (gw && gw != mw)))
        return det_fail(err, errlen, ODET_ERR_SHAPE,
                        "%s: metadata odet.input_size = %dx%d does not match input '%s' %s",
                        det->path, mh, mw, name, g);
    if (o->input_width && ((gh && gh != o->input_height) || (gw && gw != o->input_width)))
        return det_fail(err, errlen, ODET_ERR_SHAPE,
                        "%s: the input size option %dx%d (HxW) does not match input '%s' %s",
                        det->path, o->input_height, o->input_width, name, g);
    int h = 0, w = 0;
    if (o->input_width) {
        h = o->input_height;
        w = o->input_width;
    } else if (gh && gw) {
        h = gh;
        w = gw;
    } else if (mh) {
        h = mh;
        w = mw;
    } else if (gh || gw) {
        return det_fail(err, errlen, ODET_ERR_SHAPE,
                        "%s: input '%s' %s has only one static side; give the input size "
                        "(odet.input_size or the input size option)",
                        det->path, name, g);
    }
    cfg->prep.in_h = h;
    cfg->prep.in_w = w;
    return ODET_OK;
}

static odet_status read_common(det_config *cfg, const det_meta *meta, char *err,
                               size_t errlen)
{
    static const char *const methods[] = {"affine_centernet", "resize_keep_ratio_cv",
                                          "resize_shorter_side_pil", "letterbox",
                                          "fixed_resize", "resize_keep_ratio_cv2", NULL};
    static const char *const orders[] = {"RGB", "BGR", NULL};
    det_prep *p = &cfg->prep;
    int method = (int)p->method, order = (int)p->norm.order;
    odet_status st;
    if ((st = det_meta_choice(meta, "odet.preprocess", methods, &method, err, errlen)) !=
            ODET_OK ||
        (st = det_meta_choice(meta, "odet.channel_order", orders, &order, err, errlen)) !=
            ODET_OK ||
        (st = det_meta_floats(meta, "odet.mean", 3, p->norm.mean, err, errlen)) != ODET_OK ||
        (st = det_meta_floats(meta, "odet.std", 3, p->norm.std, err, errlen)) != ODET_OK ||
        (st = det_meta_int(meta, "odet.short_side", 1, ODET_IMAGE_MAX_SIDE, &p->short_side, err,
                           errlen)) != ODET_OK ||
        (st = det_meta_int(meta, "odet.max_size", 0, ODET_IMAGE_MAX_SIDE, &p->max_size, err,
                           errlen)) != ODET_OK ||
        (st = det_meta_int(meta, "odet.size_divisor", 0, 4096, &p->size_divisor, err,
                           errlen)) != ODET_OK ||
        (st = det_meta_float(meta, "odet.pad_value", -1e6, 1e6, &p->pad_value, err, errlen)) !=
            ODET_OK ||
        (st = det_meta_float(meta, "odet.score_threshold", 0.0, 1.0, &cfg->score_threshold,
                             err, errlen)) != ODET_OK ||
        (st = det_meta_count(meta, "odet.max_detections", 1, MAX_DETECTIONS_LIMIT,
                             &cfg->max_detections, err, errlen)) != ODET_OK ||
        (st = det_meta_float(meta, "odet.nms_iou_threshold", 0.0, 1.0, &cfg->nms_iou_threshold,
                             err, errlen)) != ODET_OK ||
        (st = det_meta_count(meta, "odet.pre_nms_top_k", 0, 10000000, &cfg->pre_nms_top_k, err,
                             errlen)) != ODET_OK ||
        (st = det_meta_count(meta, "odet.num_classes", 1, 1000000, &cfg->num_classes, err,
                             errlen)) != ODET_OK)
        return st;
    for (int c = 0; c < 3; c++)
        if (p->norm.std[c] == 0.0f)
            return det_fail(err, errlen, ODET_ERR_INVALID_ARG,
                            "%s: metadata odet.std has a zero entry", cfg->path);
    p->method = (odet_preprocess_method)(method == 5 ? ODET_PRE_RESIZE_KEEP_RATIO_CV : method);
    p->norm.order = (odet_channel_order)order;
    return ODET_OK;
}

static void apply_options(det_config *cfg, const odet_detector_options *o)
{
    det_prep *p = &cfg->prep;
    if (o->preprocess_method >= 0)
        p->method = (odet_preprocess_method)o->preprocess_method;
    if (o->short_side)
        p->short_side = o->short_side;
    if (o->max_size)
        p->max_size = o->max_size;
    if (o->size_divisor >= 0)
        p->size_divisor = o->size_divisor;
    if (o->use_mean_std) {
        memcpy(p->norm.mean, o->mean, sizeof o->mean);
        memcpy(p->norm.std, o->std, sizeof o->std);
    }
    if (o->channel_order >= 0)
        p->norm.order = (odet_channel_order)o->channel_order;
    if (o->score_threshold >= 0.0f)
        cfg->score_threshold = o->score_threshold;
    if (o->max_detections)
        cfg->max_detections = o->max_detections;
    if (o->nms_iou_threshold >= 0.0f)
        cfg->nms_iou_threshold = o->nms_iou_threshold;
    if (o->pre_nms_top_k)
        cfg->pre_nms_top_k = o->pre_nms_top_k;
    cfg->clip = o->clip_boxes != 0;
}

/* Make the method's settings consistent with the input size. */
static odet_status settle_prep(det_config *cfg, char *err, size_t errlen)
{
    det_prep *p = &cfg->prep;
    const int fixed = p->in_w > 0;
    p->norm.divisor = 255.0f;
    p->flags &= ~(unsigned)ODET_PRE_CENTERNET_KEEP_RES;
    p->fit = 0;
    switch (p->method) {
    case ODET_PRE_AFFINE_CENTERNET:
        if (!fixed) {
            p->flags |= ODET_PRE_CENTERNET_KEEP_RES;
            if (p->size_divisor <= 1)
                p->size_divisor = 32;
        }
        break;
    case ODET_PRE_RESIZE_KEEP_RATIO_CV:
    case ODET_PRE_RESIZE_SHORTER_SIDE_PIL:
        if (fixed) {
            p->fit = 1;
        } else {
            if (!p->short_side)
                p->short_side = 800;
            if (!p->max_size && p->method == ODET_PRE_RESIZE_KEEP_RATIO_CV)
                p->max_size = 1333;
        }
        break;
    case ODET_PRE_LETTERBOX:
    case ODET_PRE_FIXED_RESIZE:
        if (!fixed)
            return det_fail(err, errlen, ODET_ERR_INVALID_ARG,
                            "%s: preprocessing %s needs a fixed input size: the graph input is "
                            "dynamic; set odet.input_size or the input size option",
                            cfg->path, method_name(p->method));
        if (p->method == ODET_PRE_LETTERBOX)
            p->border[0] = p->border[1] = p->border[2] = 114; /* YOLO's grey */
        break;
    default:
        return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "%s: invalid preprocessing method %d",
                        cfg->path, (int)p->method);
    }
    /* validate on a nominal image */
    odet_preprocess_layout L;
    odet_status st = plan_image(cfg, 640, 480, &L, err, errlen);
    if (st != ODET_OK) {
        char inner[ODET_ERRBUF_SIZE];
        snprintf(inner, sizeof inner, "%s", err ? err : "");
        return det_fail(err, errlen, st, "%s: preprocessing settings rejected: %s", cfg->path,
                        inner);
    }
    return ODET_OK;
}

static odet_status set_names(odet_detector *det, const odet_detector_options *o,
                             const det_meta *meta, char *err, size_t errlen)
{
    const size_t n = det->cfg.num_classes;
    const char *src = NULL;
    size_t bytes = 0;
    if (o->num_class_names) {
        if (o->num_class_names != n)
            return det_fail(err, errlen, ODET_ERR_INVALID_ARG,
                            "%s: %zu class names given, the model predicts %zu classes",
                            det->path, o->num_class_names, n);
        for (size_t i = 0; i < n; i++)
            bytes += strlen(o->class_names[i]) + 1;
    } else if ((src = det_meta_str(meta, "odet.class_names")) != NULL) {
        size_t k = det_split_count(src);
        if (k != n)
            return det_fail(err, errlen, ODET_ERR_INVALID_ARG,
                            "%s: metadata odet.class_names has %zu names, the model predicts "
                            "%zu classes",
                            det->path, k, n);
        bytes = strlen(src) + 1;
    } else {
        bytes = n * 32;
    }
    det->names = calloc(n ? n : 1, sizeof *det->names);
    det->names_block = malloc(bytes ? bytes : 1);
    if (!det->names || !det->names_block)
        return det_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory for class names",
                        det->path);
    char *b = det->names_block;
    if (o->num_class_names) {
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(o->class_names[i]) + 1;
            memcpy(b, o->class_names[i], l);
            det->names[i] = b;
            b += l;
        }
    } else if (src) {
        memcpy(b, src, bytes);
        for (size_t i = 0; i < n; i++) {
            det->names[i] = b;
            b += strcspn(b, ",");
            *b++ = '\0';
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            det->names[i] = b + i * 32;
            snprintf(det->names[i], 32, "class%zu", i);
        }
    }
    return ODET_OK;
}

odet_status odet_detector_load(const char *path, const odet_detector_options *opt,
                               odet_detector **out, char *err, size_t errlen)
{
    if (!out)
        return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "detector load: NULL output pointer");
    *out = NULL;
    if (!path)
        return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "detector load: NULL path");
    odet_detector_options defaults;
    odet_detector_options_init(&defaults);
    const odet_detector_options *o = opt ? opt : &defaults;
    odet_status st = check_options(o, err, errlen);
    if (st != ODET_OK)
        return st;

    odet_detector *det = calloc(1, sizeof *det);
    if (!det)
        return det_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory", path);
    det->path = malloc(strlen(path) + 1);
    if (!det->path) {
        free(det);
        return det_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory", path);
    }
    strcpy(det->path, path);
    det->threads = o->threads;
    if ((st = odet_model_load(path, &det->model, err, errlen)) != ODET_OK)
        goto fail;

    det_config *cfg = &det->cfg;
    det_meta meta = {det->model, det->path};
    cfg->path = det->path;
    cfg->model = det->model;
    cfg->nms_iou_threshold = NAN;

    /* architecture: option, else metadata */
    odet_arch arch = o->arch;
    if (arch == ODET_ARCH_AUTO) {
        static const char *const archs[] = {"centernet", "detr", "vfnet", NULL};
        int a = -1;
        if ((st = det_meta_choice(&meta, "odet.arch", archs, &a, err, errlen)) != ODET_OK)
            goto fail;
        if (a < 0) {
            st = det_fail(err, errlen, ODET_ERR_INVALID_ARG,
                          "%s: unknown architecture: the model has no odet.arch metadata; "
                          "choose one of centernet, detr, vfnet (detector option arch, "
                          "detect --arch)",
                          det->path);
            goto fail;
        }
        arch = (odet_arch)(a + 1);
    }
    cfg->arch = arch;
    cfg->adapter = ADAPTERS[arch];

    if ((st = read_input(det, o, &meta, err, errlen)) != ODET_OK)
        goto fail;
    cfg->adapter->defaults(cfg, cfg->prep.in_w == 0);
    if ((st = read_common(cfg, &meta, err, errlen)) != ODET_OK)
        goto fail;
    apply_options(cfg, o);
    if ((st = settle_prep(cfg, err, errlen)) != ODET_OK)
        goto fail;
    /* The architecture's own keys describe the head the metadata names: when
     * the option picks another architecture, they do not apply. */
    det_meta arch_meta = meta;
    const char *meta_arch = det_meta_str(&meta, "odet.arch");
    if (meta_arch && strcasecmp(meta_arch, odet_arch_name(arch)) != 0)
        arch_meta.model = NULL;
    if ((st = cfg->adapter->setup(cfg, &arch_meta, err, errlen)) != ODET_OK)
        goto fail;
    if ((st = set_names(det, o, &meta, err, errlen)) != ODET_OK)
        goto fail;
    if ((st = odet_detector_context_create(det, &det->def, err, errlen)) != ODET_OK)
        goto fail;
    *out = det;
    return ODET_OK;
fail:
    odet_detector_free(det);
    return st;
}

void odet_detector_free(odet_detector *det)
{
    if (!det)
        return;
    odet_detector_context_free(det->def);
    odet_model_free(det->model);
    free(det->names);
    free(det->names_block);
    free(det->path);
    free(det);
}

/* ------------------------------------------------------------------------ */
/* Contexts and detection                                                    */
/* ------------------------------------------------------------------------ */

odet_status odet_detector_context_create(const odet_detector *det,
                                         odet_detector_context **out, char *err,
                                         size_t errlen)
{
    if (!out)
        return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "detector context: NULL output");
    *out = NULL;
    if (!det)
        return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "detector context: NULL detector");
    odet_detector_context *c = calloc(1, sizeof *c);
    if (!c)
        return det_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory for a context",
                        det->path);
    c->det = det;
    c->objects = malloc(det->cfg.max_detections * sizeof *c->objects);
    if (!c->objects) {
        free(c);
        return det_fail(err, errlen, ODET_ERR_NOMEM,
                        "%s: out of memory for %zu detections", det->path,
                        det->cfg.max_detections);
    }
    odet_session_options so = {det->threads};
    odet_status st = odet_session_create(det->model, &so, &c->session, err, errlen);
    if (st != ODET_OK) {
        free(c->objects);
        free(c);
        return st;
    }
    *out = c;
    return ODET_OK;
}

void odet_detector_context_free(odet_detector_context *ctx)
{
    if (!ctx)
        return;
    odet_session_free(ctx->session);
    det_scratch_release(&ctx->scr);
    free(ctx->tensor);
    free(ctx->prep);
    free(ctx->objects);
    free(ctx);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

odet_status odet_detect_ctx(odet_detector_context *ctx, const odet_image *image,
                            odet_results *results, char *err, size_t errlen)
{
    if (!results)
        return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "detect: NULL results");
    memset(results, 0, sizeof *results);
    if (!ctx)
        return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "detect: NULL detector context");
    const odet_detector *det = ctx->det;
    const det_config *cfg = &det->cfg;
    odet_status st = odet_image_check(image, err, errlen);
    if (st != ODET_OK)
        return st;

    double t0 = now_ms();
    odet_preprocess_layout L;
    if ((st = plan_image(cfg, image->width, image->height, &L, err, errlen)) != ODET_OK)
        return st;
    if (ctx->tensor_cap < L.tensor_floats) {
        float *t = realloc(ctx->tensor, L.tensor_floats * sizeof *t);
        if (!t)
            return det_fail(err, errlen, ODET_ERR_NOMEM,
                            "%s: out of memory for a [1,3,%d,%d] input tensor", det->path,
                            L.tensor_height, L.tensor_width);
        ctx->tensor = t;
        ctx->tensor_cap = L.tensor_floats;
    }
    if (ctx->prep_cap < L.scratch_bytes) {
        void *p = realloc(ctx->prep, L.scratch_bytes);
        if (!p)
            return det_fail(err, errlen, ODET_ERR_NOMEM,
                            "%s: out of memory for %zu bytes of resize scratch", det->path,
                            L.scratch_bytes);
        ctx->prep = p;
        ctx->prep_cap = L.scratch_bytes;
    }
    if ((st = run_prep(cfg, image, &L, ctx->tensor, ctx->prep, err, errlen)) != ODET_OK)
        return st;

    double t1 = now_ms();
    odet_tensor in;
    memset(&in, 0, sizeof in);
    in.dtype = ODET_FLOAT;
    in.rank = 4;
    in.dims[0] = 1;
    in.dims[1] = 3;
    in.dims[2] = L.tensor_height;
    in.dims[3] = L.tensor_width;
    in.data = ctx->tensor;
    if ((st = odet_session_run(ctx->session, &in, 1, err, errlen)) != ODET_OK) {
        if (err && errlen) {
            char inner[ODET_ERRBUF_SIZE];
            snprintf(inner, sizeof inner, "%s", err);
            det_fail(err, errlen, st, "%s: %s", det->path, inner);
        }
        return st;
    }

    double t2 = now_ms();
    odet_detection *d = NULL;
    size_t n = 0;
    if ((st = cfg->adapter->decode(cfg, ctx->session, &L, &ctx->scr, &d, &n, err, errlen)) !=
        ODET_OK)
        return st;
    if (n > cfg->max_detections)
        n = cfg->max_detections;
    for (size_t i = 0; i < n; i++) {
        odet_object *ob = &ctx->objects[i];
        ob->box = d[i].box;
        if (cfg->clip)
            odet_boxes_clip(&ob->box, 1, (float)image->width, (float)image->height, &ob->box);
        ob->score = d[i].score;
        ob->class_id = d[i].label;
        ob->class_name = d[i].label >= 0 && (size_t)d[i].label < cfg->num_classes
                             ? det->names[d[i].label]
                             : "?";
    }
    double t3 = now_ms();

    results->count = n;
    results->objects = ctx->objects;
    results->image_width = image->width;
    results->image_height = image->height;
    results->tensor_width = L.tensor_width;
    results->tensor_height = L.tensor_height;
    results->timings.preprocess_ms = t1 - t0;
    results->timings.inference_ms = t2 - t1;
    results->timings.postprocess_ms = t3 - t2;
    return ODET_OK;
}

odet_status odet_detect(odet_detector *det, const odet_image *image, odet_results *results,
                        char *err, size_t errlen)
{
    if (!det) {
        if (results)
            memset(results, 0, sizeof *results);
        return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "detect: NULL detector");
    }
    return odet_detect_ctx(det->def, image, results, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */
/* ------------------------------------------------------------------------ */

odet_arch odet_detector_arch(const odet_detector *det)
{
    return det ? det->cfg.arch : ODET_ARCH_AUTO;
}

size_t odet_detector_class_count(const odet_detector *det)
{
    return det ? det->cfg.num_classes : 0;
}

const char *odet_detector_class_name(const odet_detector *det, int class_id)
{
    if (!det || class_id < 0 || (size_t)class_id >= det->cfg.num_classes)
        return NULL;
    return det->names[class_id];
}

void odet_detector_input_size(const odet_detector *det, int *width, int *height)
{
    if (width)
        *width = det ? det->cfg.prep.in_w : 0;
    if (height)
        *height = det ? det->cfg.prep.in_h : 0;
}

void odet_detector_get_info(const odet_detector *det, odet_detector_info *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof *info);
    if (!det)
        return;
    const det_config *c = &det->cfg;
    info->arch = c->arch;
    info->input_width = c->prep.in_w;
    info->input_height = c->prep.in_h;
    info->num_classes = c->num_classes;
    info->preprocess = c->prep.method;
    info->fit_fixed_input = c->prep.fit;
    info->short_side = c->prep.short_side;
    info->max_size = c->prep.max_size;
    info->size_divisor = c->prep.size_divisor;
    info->norm = c->prep.norm;
    info->score_threshold = c->score_threshold;
    info->max_detections = c->max_detections;
    info->nms_iou_threshold = c->arch == ODET_ARCH_VFNET ? c->nms_iou_threshold : NAN;
    info->pre_nms_top_k = c->arch == ODET_ARCH_VFNET ? c->pre_nms_top_k : 0;
}

const odet_model *odet_detector_model(const odet_detector *det)
{
    return det ? det->model : NULL;
}
