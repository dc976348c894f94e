/* DETR's HungarianMatcher cost (models/matcher.py) and matching. */
#include <stdlib.h>

#include "pp_internal.h"

static void cxcywh_to_box(const float *c, odet_box *b)
{
    /* torchvision box_cxcywh_to_xyxy, float arithmetic */
    b->x1 = c[0] - 0.5f * c[2];
    b->y1 = c[1] - 0.5f * c[3];
    b->x2 = c[0] + 0.5f * c[2];
    b->y2 = c[1] + 0.5f * c[3];
}

static int check_args(const float *logits, const float *pred, size_t queries, size_t num_logits,
                      const int32_t *labels, const float *tgt, size_t targets,
                      const odet_detr_match_weights *w)
{
    if (!pp_count_ok(queries) || !pp_count_ok(targets) || !pp_count_ok(num_logits))
        return ODET_PP_ERR_RANGE;
    if (!w)
        return ODET_PP_ERR_NULL;
    if (num_logits < 2 || !isfinite(w->cls) || !isfinite(w->bbox) || !isfinite(w->giou))
        return ODET_PP_ERR_PARAM;
    if (queries && num_logits > SIZE_MAX / sizeof(float) / queries)
        return ODET_PP_ERR_RANGE;
    if (queries && targets > SIZE_MAX / sizeof(float) / queries)
        return ODET_PP_ERR_RANGE;
    if ((queries && (!logits || !pred)) || (targets && (!labels || !tgt)))
        return ODET_PP_ERR_NULL;
    for (size_t t = 0; t < targets; t++) {
        if (labels[t] < 0 || (size_t)labels[t] >= num_logits - 1)
            return ODET_PP_ERR_PARAM;
        for (int k = 0; k < 4; k++)
            if (isnan(tgt[4 * t + k]))
                return ODET_PP_ERR_NONFINITE;
    }
    for (size_t q = 0; q < queries; q++) {
        for (size_t c = 0; c < num_logits; c++)
            if (!isfinite(logits[q * num_logits + c]))
                return ODET_PP_ERR_NONFINITE;
        for (int k = 0; k < 4; k++)
            if (isnan(pred[4 * q + k]))
                return ODET_PP_ERR_NONFINITE;
    }
    return ODET_PP_OK;
}

int odet_detr_match_cost(const float *logits, const float *pred_cxcywh, size_t queries,
                         size_t num_logits, const int32_t *tgt_labels, const float *tgt_cxcywh,
                         size_t targets, const odet_detr_match_weights *w, float *cost)
{
    int st = check_args(logits, pred_cxcywh, queries, num_logits, tgt_labels, tgt_cxcywh, targets,
                        w);
    if (st != ODET_PP_OK)
        return st;
    if (queries == 0 || targets == 0)
        return ODET_PP_OK;
    if (!cost)
        return ODET_PP_ERR_NULL;
    const double wc = w->cls, wb = w->bbox, wg = w->giou;
    for (size_t q = 0; q < queries; q++) {
        const float *l = logits + q * num_logits;
        float mx = -INFINITY;
        for (size_t c = 0; c < num_logits; c++)
            mx = l[c] > mx ? l[c] : mx;
        double sum = 0.0;
        for (size_t c = 0; c < num_logits; c++)
            sum += exp((double)l[c] - mx);
        const float *pc = pred_cxcywh + 4 * q;
        odet_box pb;
        cxcywh_to_box(pc, &pb);
        pp_boxd pd;
        pp_boxd_prepare(&pb, &pd, 0);
        for (size_t t = 0; t < targets; t++) {
            const float *tc = tgt_cxcywh + 4 * t;
            double prob = exp((double)l[tgt_labels[t]] - mx) / sum;
            double l1 = 0.0;
            for (int k = 0; k < 4; k++)
                l1 += fabs((double)pc[k] - tc[k]);
            odet_box tb;
            cxcywh_to_box(tc, &tb);
            pp_boxd td;
            pp_boxd_prepare(&tb, &td, 0);
            double giou = pp_iou_prepared(&pd, &td, ODET_GIOU);
            cost[q * targets + t] = (float)(wb * l1 + wc * -prob + wg * -giou);
        }
    }
    return ODET_PP_OK;
}

size_t odet_detr_match_workspace_size(size_t queries, size_t targets)
{
    if (!pp_count_ok(queries) || !pp_count_ok(targets))
        return SIZE_MAX;
    if (queries && targets > SIZE_MAX / sizeof(float) / queries)
        return SIZE_MAX;
    size_t a = (queries * targets * sizeof(float) + PP_ALIGN - 1) & ~(size_t)(PP_ALIGN - 1);
    size_t b = odet_linear_assignment_workspace_size(queries, targets, 0);
    if (b == SIZE_MAX || a > SIZE_MAX - PP_ALIGN - b)
        return SIZE_MAX;
    return a + b + PP_ALIGN;
}

int odet_detr_match_ws(const float *logits, const float *pred_cxcywh, size_t queries,
                       size_t num_logits, const int32_t *tgt_labels, const float *tgt_cxcywh,
                       size_t targets, const odet_detr_match_weights *w,
                       int32_t *query_to_target, double *total_cost, void *workspace,
                       size_t workspace_size)
{
    int st = check_args(logits, pred_cxcywh, queries, num_logits, tgt_labels, tgt_cxcywh, targets,
                        w);
    if (st != ODET_PP_OK)
        return st;
    if (queries && !query_to_target)
        return ODET_PP_ERR_NULL;
    if (queries == 0 || targets == 0) {
        for (size_t q = 0; q < queries; q++)
            query_to_target[q] = -1;
        if (total_cost)
            *total_cost = 0.0;
        return ODET_PP_OK;
    }
    if (!workspace)
        return ODET_PP_ERR_NULL;
    if (workspace_size < odet_detr_match_workspace_size(queries, targets))
        return ODET_PP_ERR_WORKSPACE;
    pp_arena a;
    pp_arena_init(&a, workspace);
    float *cost = pp_arena_take(&a, queries * targets, sizeof(float));
    void *rest = a.base + a.used;
    size_t rest_size = workspace_size - (size_t)((unsigned char *)rest - (unsigned char *)workspace);
    st = odet_detr_match_cost(logits, pred_cxcywh, queries, num_logits, tgt_labels, tgt_cxcywh,
                              targets, w, cost);
    if (st != ODET_PP_OK)
        return st;
    return odet_linear_assignment_ws(cost, queries, targets, 0, query_to_target, NULL, total_cost,
                                     rest, rest_size);
}

int odet_detr_match(const float *logits, const float *pred_cxcywh, size_t queries,
                    size_t num_logits, const int32_t *tgt_labels, const float *tgt_cxcywh,
                    size_t targets, const odet_detr_match_weights *w, int32_t *query_to_target,
                    double *total_cost)
{
    size_t sz = odet_detr_match_workspace_size(queries, targets);
    if (sz == SIZE_MAX)
        return ODET_PP_ERR_RANGE;
    void *ws = malloc(sz);
    if (!ws)
        return ODET_PP_ERR_NOMEM;
    int st = odet_detr_match_ws(logits, pred_cxcywh, queries, num_logits, tgt_labels, tgt_cxcywh,
                                targets, w, query_to_target, total_cost, ws, sz);
    free(ws);
    return st;
}
