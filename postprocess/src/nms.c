/* NMS driver: validation, ranking, class grouping, output order. The
 * per-group work is in nms_greedy.c, nms_soft.c and nms_matrix.c. */
#include <stdlib.h>
#include <string.h>

#include "pp_internal.h"

typedef struct nms_layout {
    uint32_t *cand; /* rank -> item (after sorting) */
    uint32_t *keys, *tk, *tv, *grp;
    uint32_t *rid, *pos;
    uint8_t *sup, *flag;
    float *final;
    double *dbl, *dbl2;
    pp_boxd *geom; /* prepared boxes, or the float arrays of the hard kernel */
} nms_layout;

/* Scratch of one method; PP_NMS_ANY lays out the union of all methods. */
#define PP_NMS_ANY (-1)

static void nms_layout_take(pp_arena *a, size_t n, int method, nms_layout *L)
{
    const int any = method == PP_NMS_ANY, hard = method == ODET_NMS_HARD;
    const int soft = method == ODET_NMS_SOFT_LINEAR || method == ODET_NMS_SOFT_GAUSSIAN;
    const int matrix = method == ODET_NMS_MATRIX || method == ODET_NMS_MATRIX_LINEAR;
    const int diou = method == ODET_NMS_DIOU;
    memset(L, 0, sizeof *L);
    L->cand = pp_arena_take(a, n, sizeof(uint32_t));
    L->keys = pp_arena_take(a, n, sizeof(uint32_t));
    L->tk = pp_arena_take(a, n, sizeof(uint32_t));
    L->tv = pp_arena_take(a, n, sizeof(uint32_t));
    L->grp = pp_arena_take(a, n, sizeof(uint32_t));
    L->rid = pp_arena_take(a, n, sizeof(uint32_t));
    L->flag = pp_arena_take(a, n, 1);
    if (any || hard)
        L->sup = pp_arena_take(a, n, 1);
    if (any || soft || diou)
        L->pos = pp_arena_take(a, n, sizeof(uint32_t));
    if (any || soft || matrix) {
        L->final = pp_arena_take(a, n, sizeof(float));
        L->dbl = pp_arena_take(a, n, sizeof(double));
    }
    if (any || matrix)
        L->dbl2 = pp_arena_take(a, n, sizeof(double));
    /* hard NMS: five float arrays; the others: prepared double boxes */
    if (hard)
        L->geom = pp_arena_take(a, 5 * n, sizeof(float));
    else
        L->geom = pp_arena_take(a, n, sizeof(pp_boxd));
}

static size_t layout_size(size_t n, int method)
{
    pp_arena a;
    nms_layout L;
    pp_arena_init(&a, NULL);
    nms_layout_take(&a, n ? n : 1, method, &L);
    return pp_arena_size(&a);
}

size_t pp_nms_core_size(size_t n, odet_nms_method method)
{
    return layout_size(n, (int)method);
}

size_t odet_nms_workspace_size(size_t n)
{
    return layout_size(n, PP_NMS_ANY);
}

size_t odet_nms_workspace_size_for(size_t n, odet_nms_method method)
{
    switch (method) {
    case ODET_NMS_HARD:
    case ODET_NMS_SOFT_LINEAR:
    case ODET_NMS_SOFT_GAUSSIAN:
    case ODET_NMS_DIOU:
    case ODET_NMS_MATRIX:
    case ODET_NMS_MATRIX_LINEAR:
        return layout_size(n, (int)method);
    }
    return layout_size(n, PP_NMS_ANY);
}

int pp_nms_params_check(const odet_nms_params *p)
{
    if (!p)
        return ODET_PP_ERR_NULL;
    if (isnan(p->score_threshold))
        return ODET_PP_ERR_PARAM;
    switch (p->method) {
    case ODET_NMS_HARD:
    case ODET_NMS_SOFT_LINEAR:
        if (!(p->iou_threshold >= 0.0f && p->iou_threshold <= 1.0f))
            return ODET_PP_ERR_PARAM;
        return ODET_PP_OK;
    case ODET_NMS_DIOU:
        if (!(p->iou_threshold >= -1.0f && p->iou_threshold <= 1.0f))
            return ODET_PP_ERR_PARAM;
        return ODET_PP_OK;
    case ODET_NMS_SOFT_GAUSSIAN:
    case ODET_NMS_MATRIX:
        if (!(isfinite(p->sigma) && p->sigma > 0.0f))
            return ODET_PP_ERR_PARAM;
        return ODET_PP_OK;
    case ODET_NMS_MATRIX_LINEAR:
        return ODET_PP_OK;
    }
    return ODET_PP_ERR_PARAM;
}

odet_nms_params odet_nms_default_params(odet_nms_method method)
{
    odet_nms_params p;
    memset(&p, 0, sizeof p);
    p.method = method;
    p.iou_threshold = 0.5f;
    p.sigma = 0.5f;
    p.score_threshold = -INFINITY;
    switch (method) {
    case ODET_NMS_SOFT_LINEAR:
        p.iou_threshold = 0.3f;
        p.score_threshold = 0.001f;
        break;
    case ODET_NMS_SOFT_GAUSSIAN:
        p.score_threshold = 0.001f;
        break;
    case ODET_NMS_MATRIX:
    case ODET_NMS_MATRIX_LINEAR:
        p.sigma = 2.0f;
        p.score_threshold = 0.001f;
        break;
    default:
        break;
    }
    return p;
}

static inline uint32_t item_box(const pp_nms_input *in, uint32_t item)
{
    return in->box_of ? in->box_of[item] : item;
}

/* One group (ranks grp[0..m), ascending) through the selected kernel. */
static void run_group(const pp_nms_input *in, const odet_nms_params *p, const nms_layout *L,
                      const uint32_t *grp, size_t m, size_t max_keep)
{
    const odet_nms_method meth = p->method;
    if (meth == ODET_NMS_HARD) {
        float *x1 = (float *)L->geom, *y1 = x1 + m, *x2 = y1 + m, *y2 = x2 + m, *ar = y2 + m;
        for (size_t k = 0; k < m; k++) {
            const odet_box *b = &in->boxes[item_box(in, L->cand[grp[k]])];
            x1[k] = b->x1;
            y1[k] = b->y1;
            x2[k] = b->x2;
            y2[k] = b->y2;
            ar[k] = (b->x2 - b->x1) * (b->y2 - b->y1);
            L->rid[k] = grp[k];
        }
        pp_nms_hard_group(x1, y1, x2, y2, ar, L->rid, L->sup, m, p->iou_threshold, max_keep,
                          L->flag);
        return;
    }
    for (size_t k = 0; k < m; k++) {
        uint32_t item = L->cand[grp[k]];
        pp_boxd_prepare(&in->boxes[item_box(in, item)], &L->geom[k], 0);
        L->rid[k] = grp[k];
        if (L->dbl)
            L->dbl[k] = in->scores[item];
    }
    switch (meth) {
    case ODET_NMS_DIOU:
        pp_nms_diou_group(L->geom, L->rid, L->pos, m, p->iou_threshold, max_keep, L->flag);
        break;
    case ODET_NMS_SOFT_LINEAR:
    case ODET_NMS_SOFT_GAUSSIAN:
        pp_nms_soft_group(L->geom, L->rid, L->dbl, L->pos, m, meth == ODET_NMS_SOFT_GAUSSIAN,
                          p->iou_threshold, p->sigma, p->score_threshold, max_keep, L->flag,
                          L->final);
        break;
    default:
        pp_nms_matrix_group(L->geom, L->rid, L->dbl, L->dbl2, m, meth == ODET_NMS_MATRIX,
                            p->sigma, p->score_threshold, L->flag, L->final);
        break;
    }
}

int pp_nms_core(const pp_nms_input *in, const odet_nms_params *p, void *workspace,
                size_t workspace_size, size_t *kept, float *kept_scores, size_t *n_kept)
{
    const size_t n = in->n;
    *n_kept = 0;
    if (n == 0)
        return ODET_PP_OK;
    if (!workspace)
        return ODET_PP_ERR_NULL;
    if (workspace_size < pp_nms_core_size(n, p->method))
        return ODET_PP_ERR_WORKSPACE;
    pp_arena a;
    nms_layout L;
    pp_arena_init(&a, workspace);
    nms_layout_take(&a, n, (int)p->method, &L);

    const odet_nms_method meth = p->method;
    const int rescoring = meth == ODET_NMS_SOFT_LINEAR || meth == ODET_NMS_SOFT_GAUSSIAN ||
                          meth == ODET_NMS_MATRIX || meth == ODET_NMS_MATRIX_LINEAR;
    const float thr = p->score_threshold;

    /* 1. Check the input and keep the candidates above the score threshold. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        float s = in->scores[i];
        if (isnan(s) || (rescoring && !isfinite(s)))
            return ODET_PP_ERR_NONFINITE;
        if (pp_box_has_nan(&in->boxes[item_box(in, (uint32_t)i)]))
            return ODET_PP_ERR_NONFINITE;
        if (s >= thr)
            L.cand[m++] = (uint32_t)i;
    }
    if (m == 0)
        return ODET_PP_OK;

    /* 2. Rank: score descending, input order among equal scores. */
    for (size_t k = 0; k < m; k++)
        L.keys[k] = pp_key_desc(in->scores[L.cand[k]]);
    pp_radix_sort(L.keys, L.cand, L.tk, L.tv, m);
    if (p->pre_top_k && m > p->pre_top_k)
        m = p->pre_top_k;

    /* 3. Group ranks by class, rank order inside each class. */
    for (size_t r = 0; r < m; r++)
        L.grp[r] = (uint32_t)r;
    if (in->classes) {
        for (size_t r = 0; r < m; r++)
            L.keys[r] = (uint32_t)in->classes[L.cand[r]] ^ 0x80000000u;
        pp_radix_sort(L.keys, L.grp, L.tk, L.tv, m);
    }

    /* 4. Run every group. Within a class the kept boxes come out in final
     * order, so no class needs to keep more than max_output (except matrix
     * NMS, whose decayed scores are not monotone in rank). */
    memset(L.flag, 0, m);
    size_t max_keep = p->max_output ? p->max_output : SIZE_MAX;
    if (meth == ODET_NMS_MATRIX || meth == ODET_NMS_MATRIX_LINEAR)
        max_keep = SIZE_MAX;
    size_t g0 = 0;
    while (g0 < m) {
        size_t g1 = g0 + 1;
        if (in->classes)
            while (g1 < m && L.keys[g1] == L.keys[g0])
                g1++;
        else
            g1 = m;
        run_group(in, p, &L, L.grp + g0, g1 - g0, max_keep);
        g0 = g1;
    }

    /* 5. Output: by rank for the greedy methods, by final score (then rank)
     * for the rescoring ones. */
    size_t limit = p->max_output ? p->max_output : SIZE_MAX;
    size_t out = 0;
    if (!rescoring) {
        for (size_t r = 0; r < m && out < limit; r++) {
            if (!L.flag[r])
                continue;
            kept[out] = L.cand[r];
            if (kept_scores)
                kept_scores[out] = in->scores[L.cand[r]];
            out++;
        }
    } else {
        size_t c = 0;
        for (size_t r = 0; r < m; r++) {
            if (!L.flag[r])
                continue;
            L.keys[c] = pp_key_desc(L.final[r]);
            L.grp[c] = (uint32_t)r;
            c++;
        }
        pp_radix_sort(L.keys, L.grp, L.tk, L.tv, c);
        for (size_t k = 0; k < c && out < limit; k++) {
            uint32_t r = L.grp[k];
            kept[out] = L.cand[r];
            if (kept_scores)
                kept_scores[out] = L.final[r];
            out++;
        }
    }
    *n_kept = out;
    return ODET_PP_OK;
}

int odet_nms_ws(const odet_box *boxes, const float *scores, const int32_t *classes, size_t n,
                const odet_nms_params *p, size_t *keep, float *scores_out, void *workspace,
                size_t workspace_size, size_t *n_kept)
{
    if (!n_kept)
        return ODET_PP_ERR_NULL;
    *n_kept = 0;
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    int st = pp_nms_params_check(p);
    if (st != ODET_PP_OK)
        return st;
    if (n && (!boxes || !scores || !keep))
        return ODET_PP_ERR_NULL;
    pp_nms_input in = {boxes, NULL, scores, classes, n};
    return pp_nms_core(&in, p, workspace, workspace_size, keep, scores_out, n_kept);
}

size_t odet_nms(const odet_box *boxes, const float *scores, const int32_t *classes, size_t n,
                const odet_nms_params *p, size_t *keep, float *scores_out)
{
    if (n == 0 || !pp_count_ok(n) || pp_nms_params_check(p) != ODET_PP_OK)
        return 0;
    size_t sz = odet_nms_workspace_size_for(n, p->method);
    if (sz == SIZE_MAX)
        return 0;
    void *ws = malloc(sz);
    if (!ws)
        return 0;
    size_t kept = 0;
    int st = odet_nms_ws(boxes, scores, classes, n, p, keep, scores_out, ws, sz, &kept);
    free(ws);
    return st == ODET_PP_OK ? kept : 0;
}

size_t odet_batched_nms(const odet_box *boxes, const float *scores, const int32_t *classes,
                        size_t n, float iou_threshold, size_t *keep)
{
    odet_nms_params p = odet_nms_default_params(ODET_NMS_HARD);
    p.iou_threshold = iou_threshold;
    return odet_nms(boxes, scores, classes, n, &p, keep, NULL);
}
