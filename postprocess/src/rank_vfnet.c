/* IoU-aware ranking of dense multi-level predictions (VarifocalNet, Zhang et
 * al. 2021; mmdet VFNetHead.get_bboxes + multiclass_nms), and score fusion
 * for separate quality heads. */
#include <stdlib.h>
#include <string.h>

#include "pp_internal.h"

static inline double sigmoid(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

static inline double clamp01(double v)
{
    return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
}

odet_rank_params odet_rank_default_params(size_t num_classes)
{
    odet_rank_params p;
    memset(&p, 0, sizeof p);
    p.num_classes = num_classes;
    p.pre_nms_top_k = 1000;
    p.score_threshold = 0.05f;
    p.iou_threshold = 0.6f;
    p.max_detections = 100;
    p.fusion_alpha = 0.5f;
    p.scores_are_logits = 0;
    return p;
}

typedef struct rank_layout {
    float *level_max;    /* max score per anchor of one level */
    size_t *sel;         /* selected anchors of one level */
    odet_box *sel_boxes; /* boxes of all selected anchors */
    size_t *sel_index;   /* their global anchor index */
    uint32_t *cand_box;  /* candidate -> selected slot */
    float *cand_score;
    int32_t *cand_class;
    size_t *kept;
    void *nms_ws;
    size_t nms_ws_size;
} rank_layout;

/* Bounds of the layout; 0 on success. */
static int rank_bounds(const odet_rank_level *levels, size_t num_levels, const odet_rank_params *p,
                       size_t *max_level, size_t *max_sel, size_t *max_cand)
{
    size_t ml = 0, ms = 0;
    for (size_t l = 0; l < num_levels; l++) {
        size_t c = levels[l].count;
        if (!pp_count_ok(c))
            return ODET_PP_ERR_RANGE;
        ml = c > ml ? c : ml;
        size_t s = (p->pre_nms_top_k && c > p->pre_nms_top_k) ? p->pre_nms_top_k : c;
        if (ms > ODET_PP_MAX_COUNT - s)
            return ODET_PP_ERR_RANGE;
        ms += s;
    }
    if (p->num_classes && ms > ODET_PP_MAX_COUNT / p->num_classes)
        return ODET_PP_ERR_RANGE;
    *max_level = ml;
    *max_sel = ms;
    *max_cand = ms * p->num_classes;
    return ODET_PP_OK;
}

static void rank_layout_take(pp_arena *a, size_t ml, size_t ms, size_t mc, size_t max_det,
                             rank_layout *L)
{
    L->level_max = pp_arena_take(a, ml, sizeof(float));
    L->sel = pp_arena_take(a, ml, sizeof(size_t));
    L->sel_boxes = pp_arena_take(a, ms, sizeof(odet_box));
    L->sel_index = pp_arena_take(a, ms, sizeof(size_t));
    L->cand_box = pp_arena_take(a, mc, sizeof(uint32_t));
    L->cand_score = pp_arena_take(a, mc, sizeof(float));
    L->cand_class = pp_arena_take(a, mc, sizeof(int32_t));
    L->kept = pp_arena_take(a, max_det, sizeof(size_t));
    L->nms_ws_size = pp_nms_core_size(mc, ODET_NMS_HARD);
    L->nms_ws = pp_arena_take(a, L->nms_ws_size, 1);
}

static int params_check(const odet_rank_params *p)
{
    if (!p)
        return ODET_PP_ERR_NULL;
    if (!pp_count_ok(p->num_classes) || !pp_count_ok(p->max_detections) ||
        !pp_count_ok(p->pre_nms_top_k))
        return ODET_PP_ERR_RANGE;
    if (p->num_classes == 0 || p->max_detections == 0 || isnan(p->score_threshold) ||
        !(p->iou_threshold >= 0.0f && p->iou_threshold <= 1.0f) ||
        !(p->fusion_alpha >= 0.0f && p->fusion_alpha <= 1.0f))
        return ODET_PP_ERR_PARAM;
    return ODET_PP_OK;
}

size_t odet_rank_workspace_size(const odet_rank_level *levels, size_t num_levels,
                                const odet_rank_params *p)
{
    size_t ml, ms, mc;
    if (params_check(p) != ODET_PP_OK || (num_levels && !levels) ||
        rank_bounds(levels, num_levels, p, &ml, &ms, &mc) != ODET_PP_OK)
        return SIZE_MAX;
    pp_arena a;
    rank_layout L;
    pp_arena_init(&a, NULL);
    rank_layout_take(&a, ml, ms, mc, p->max_detections, &L);
    return pp_arena_size(&a);
}

int odet_rank_ws(const odet_rank_level *levels, size_t num_levels, const odet_rank_params *p,
                 odet_detection *out, size_t *n_out, void *workspace, size_t workspace_size)
{
    if (!n_out)
        return ODET_PP_ERR_NULL;
    *n_out = 0;
    int st = params_check(p);
    if (st != ODET_PP_OK)
        return st;
    if (num_levels && !levels)
        return ODET_PP_ERR_NULL;
    size_t ml, ms, mc;
    st = rank_bounds(levels, num_levels, p, &ml, &ms, &mc);
    if (st != ODET_PP_OK)
        return st;
    const size_t nc = p->num_classes;
    for (size_t l = 0; l < num_levels; l++) {
        if (levels[l].count && (!levels[l].scores || !levels[l].boxes))
            return ODET_PP_ERR_NULL;
        if (levels[l].count > SIZE_MAX / sizeof(float) / nc)
            return ODET_PP_ERR_RANGE;
    }
    if (!out || !workspace)
        return ODET_PP_ERR_NULL;
    if (workspace_size < odet_rank_workspace_size(levels, num_levels, p))
        return ODET_PP_ERR_WORKSPACE;
    pp_arena a;
    rank_layout L;
    pp_arena_init(&a, workspace);
    rank_layout_take(&a, ml, ms, mc, p->max_detections, &L);

    const int logits = p->scores_are_logits != 0;
    const double alpha = p->fusion_alpha, thr = p->score_threshold;
    /* Without fusion on logits, sigmoid(v) > thr can only hold for v above
     * logit(thr); a small margin keeps the pre-test conservative. */
    double logit_cut = -INFINITY;
    if (logits && thr >= 1.0)
        logit_cut = INFINITY;
    else if (logits && thr > 0.0) {
        double t = log(thr / (1.0 - thr));
        logit_cut = t - 1e-6 * (1.0 + fabs(t));
    }

    size_t nsel = 0, ncand = 0, offset = 0;
    for (size_t l = 0; l < num_levels; l++) {
        const odet_rank_level *lv = &levels[l];
        const size_t n = lv->count;
        /* 1. max score per anchor (fused when the level has quality) */
        for (size_t i = 0; i < n; i++) {
            const float *s = lv->scores + i * nc;
            float mx = s[0];
            for (size_t c = 0; c < nc; c++) {
                if (isnan(s[c]))
                    return ODET_PP_ERR_NONFINITE;
                mx = s[c] > mx ? s[c] : mx;
            }
            if (lv->quality) {
                double q = lv->quality[i];
                if (isnan(q))
                    return ODET_PP_ERR_NONFINITE;
                double cm = logits ? sigmoid(mx) : mx;
                q = logits ? sigmoid(q) : q;
                mx = (float)(pow(clamp01(cm), alpha) * pow(clamp01(q), 1.0 - alpha));
            }
            L.level_max[i] = mx;
        }
        /* 2. pre-NMS top-k anchors of this level */
        size_t ns = n;
        if (p->pre_nms_top_k && n > p->pre_nms_top_k) {
            st = odet_topk(L.level_max, n, p->pre_nms_top_k, L.sel, &ns);
            if (st != ODET_PP_OK)
                return st;
        } else {
            for (size_t i = 0; i < n; i++)
                L.sel[i] = i;
        }
        /* 3. candidates: (anchor, class) pairs above the threshold */
        for (size_t k = 0; k < ns; k++) {
            const size_t i = L.sel[k];
            const float *s = lv->scores + i * nc;
            double qf = 1.0;
            if (lv->quality) {
                double q = lv->quality[i];
                qf = pow(clamp01(logits ? sigmoid(q) : q), 1.0 - alpha);
            }
            const uint32_t slot = (uint32_t)nsel;
            int any = 0;
            for (size_t c = 0; c < nc; c++) {
                double v = s[c];
                if (!lv->quality && v <= logit_cut)
                    continue;
                if (logits)
                    v = sigmoid(v);
                if (lv->quality)
                    v = pow(clamp01(v), alpha) * qf;
                float sc = (float)v;
                if (!(sc > thr))
                    continue;
                L.cand_box[ncand] = slot;
                L.cand_score[ncand] = sc;
                L.cand_class[ncand] = (int32_t)c;
                ncand++;
                any = 1;
            }
            if (any) {
                L.sel_boxes[nsel] = lv->boxes[i];
                L.sel_index[nsel] = offset + i;
                nsel++;
            }
        }
        offset += n;
    }

    /* 4. class-aware hard NMS, best max_detections */
    odet_nms_params np = odet_nms_default_params(ODET_NMS_HARD);
    np.iou_threshold = p->iou_threshold;
    np.max_output = p->max_detections;
    pp_nms_input in = {L.sel_boxes, L.cand_box, L.cand_score, L.cand_class, ncand};
    size_t nk = 0;
    st = pp_nms_core(&in, &np, L.nms_ws, L.nms_ws_size, L.kept, NULL, &nk);
    if (st != ODET_PP_OK)
        return st;
    for (size_t k = 0; k < nk; k++) {
        size_t item = L.kept[k];
        uint32_t slot = L.cand_box[item];
        out[k].box = L.sel_boxes[slot];
        out[k].score = L.cand_score[item];
        out[k].label = L.cand_class[item];
        out[k].index = L.sel_index[slot];
    }
    *n_out = nk;
    return ODET_PP_OK;
}

int odet_rank(const odet_rank_level *levels, size_t num_levels, const odet_rank_params *p,
              odet_detection *out, size_t *n_out)
{
    if (!n_out)
        return ODET_PP_ERR_NULL;
    *n_out = 0;
    size_t sz = odet_rank_workspace_size(levels, num_levels, p);
    if (sz == SIZE_MAX) {
        int st = params_check(p);
        return st != ODET_PP_OK ? st : (num_levels && !levels ? ODET_PP_ERR_NULL
                                                               : ODET_PP_ERR_RANGE);
    }
    void *ws = malloc(sz);
    if (!ws)
        return ODET_PP_ERR_NOMEM;
    int st = odet_rank_ws(levels, num_levels, p, out, n_out, ws, sz);
    free(ws);
    return st;
}

int odet_fuse_iou_scores(const float *cls, const float *quality, size_t n, size_t num_classes,
                         float alpha, float *out)
{
    if (!pp_count_ok(n) || !pp_count_ok(num_classes))
        return ODET_PP_ERR_RANGE;
    if (!(alpha >= 0.0f && alpha <= 1.0f))
        return ODET_PP_ERR_PARAM;
    if (num_classes && n > SIZE_MAX / sizeof(float) / num_classes)
        return ODET_PP_ERR_RANGE;
    if (n && num_classes && (!cls || !quality || !out))
        return ODET_PP_ERR_NULL;
    const double a = alpha;
    for (size_t i = 0; i < n; i++) {
        double qf = pow(clamp01(quality[i]), 1.0 - a);
        for (size_t c = 0; c < num_classes; c++) {
            size_t k = i * num_classes + c;
            out[k] = (float)(pow(clamp01(cls[k]), a) * qf);
        }
    }
    return ODET_PP_OK;
}
