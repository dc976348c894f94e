/* COCO-protocol bbox evaluation: per-image matching and accumulation, the
 * same steps as pycocotools' COCOeval.evaluate() and accumulate(). See
 * odet/postprocess/eval.h for the protocol. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "pp_internal.h"

/* ---- stable index sorts (merge sort; ties keep input order) ---- */

typedef int (*before_fn)(const void *ctx, uint32_t a, uint32_t b); /* a strictly first */

static void merge_sort(uint32_t *idx, uint32_t *tmp, size_t n, before_fn before,
                       const void *ctx)
{
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = before(ctx, idx[j], idx[i]) ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[o++] = idx[i++];
            while (j < hi)
                tmp[o++] = idx[j++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

static int key_before(const void *ctx, uint32_t a, uint32_t b)
{
    const uint64_t *k = ctx;
    return k[a] < k[b];
}

static int score_before(const void *ctx, uint32_t a, uint32_t b)
{
    const double *s = ctx;
    return s[a] > s[b];
}

static int det_score_before(const void *ctx, uint32_t a, uint32_t b)
{
    const odet_eval_det *d = ctx;
    return d[a].score > d[b].score;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted, deduplicated copy; returns the count. */
static size_t unique_sorted(const int64_t *src, size_t n, int64_t *dst)
{
    if (n)
        memcpy(dst, src, n * sizeof *dst);
    qsort(dst, n, sizeof *dst, cmp_i64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || dst[m - 1] != dst[i])
            dst[m++] = dst[i];
    return m;
}

static long find_id(const int64_t *ids, size_t n, int64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == v ? (long)lo : -1;
}

/* ---- parameters ---- */

/* numpy.linspace(start, stop, n): i * ((stop - start) / (n - 1)) + start,
 * with the last value exactly stop. */
static double linspace_at(double start, double stop, int n, int i)
{
    if (i == n - 1)
        return stop;
    double step = (stop - start) / (double)(n - 1);
    return (double)i * step + start;
}

void odet_eval_params_init(odet_eval_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->num_iou_thresholds = 10;
    for (int i = 0; i < 10; i++)
        p->iou_thresholds[i] = linspace_at(0.5, 0.95, 10, i);
    p->num_recall_thresholds = 101;
    p->max_dets[0] = 1;
    p->max_dets[1] = 10;
    p->max_dets[2] = 100;
    const double big = 1e5 * 1e5;
    const double lo[4] = {0.0, 0.0, 32.0 * 32.0, 96.0 * 96.0};
    const double hi[4] = {big, 32.0 * 32.0, 96.0 * 96.0, big};
    for (int a = 0; a < 4; a++) {
        p->area_ranges[a][0] = lo[a];
        p->area_ranges[a][1] = hi[a];
    }
}

static int params_valid(const odet_eval_params *p)
{
    if (p->num_iou_thresholds < 1 || p->num_iou_thresholds > ODET_EVAL_MAX_IOU_THRESHOLDS ||
        p->num_recall_thresholds < 2 ||
        p->num_recall_thresholds > ODET_EVAL_MAX_RECALL_THRESHOLDS)
        return 0;
    for (int t = 0; t < p->num_iou_thresholds; t++) {
        double v = p->iou_thresholds[t];
        if (!(v >= 0.0 && v <= 1.0) || (t && v < p->iou_thresholds[t - 1]))
            return 0;
    }
    for (int m = 0; m < ODET_EVAL_NUM_MAX_DETS; m++)
        if (p->max_dets[m] < 1 || (m && p->max_dets[m] < p->max_dets[m - 1]))
            return 0;
    for (int a = 0; a < ODET_EVAL_NUM_AREAS; a++)
        if (isnan(p->area_ranges[a][0]) || isnan(p->area_ranges[a][1]))
            return 0;
    return 1;
}

static int box_status(const double *b)
{
    for (int i = 0; i < 4; i++)
        if (!isfinite(b[i]))
            return ODET_PP_ERR_NONFINITE;
    return b[2] < 0.0 || b[3] < 0.0 ? ODET_PP_ERR_PARAM : ODET_PP_OK;
}

/* ---- the evaluation ---- */

#define FLAG_MATCHED 1u
#define FLAG_IGNORED 2u

/* Working state, all arrays owned here. */
typedef struct eval_work {
    const odet_eval_input *in;
    const odet_eval_params *p;
    int T, R, M;
    size_t I, K;
    int64_t *imgs, *cats;
    /* ground truths / detections on known ids, sorted by (category, image) */
    uint32_t *gt_order, *dt_order;
    size_t ngt, ndt;
    uint64_t *gt_key, *dt_key; /* indexed by input position */
    /* one (image, category) group */
    double *ious;        /* [maxdet][group gts] */
    uint32_t *g_dt;      /* sorted, truncated detections of the group */
    uint32_t *g_gt;      /* ground truths of the group, input order */
    uint32_t *g_perm;    /* ground truths ordered non-ignored first */
    unsigned char *gt_ig, *gtm;
    uint32_t *tmp;
    /* one category: its detections over all images, flags per area */
    double *c_score;
    uint32_t *c_rank, *c_sel;
    unsigned char *c_flag; /* [A][T][cap] */
    size_t cap;
    double *rc, *pr;
    double *precision, *recall;
} eval_work;

static double box_iou(const double *d, const double *g, int crowd)
{
    double w = fmin(d[2] + d[0], g[2] + g[0]) - fmax(d[0], g[0]);
    if (w <= 0.0)
        return 0.0;
    double h = fmin(d[3] + d[1], g[3] + g[1]) - fmax(d[1], g[1]);
    if (h <= 0.0)
        return 0.0;
    double da = d[2] * d[3], ga = g[2] * g[3], i = w * h;
    double u = crowd ? da : da + ga - i;
    return i / u;
}

/* Match one group for area range a; writes flags of its nd detections at
 * column `col` of the category buffers. Returns the number of non-ignored
 * ground truths. */
static size_t match_group(eval_work *w, int a, size_t nd, size_t ng, size_t col)
{
    const odet_eval_gt *gts = w->in->gts;
    const odet_eval_det *dts = w->in->dets;
    const double lo = w->p->area_ranges[a][0], hi = w->p->area_ranges[a][1];
    size_t npig = 0, k = 0;
    for (size_t g = 0; g < ng; g++) {
        const odet_eval_gt *gt = &gts[w->g_gt[g]];
        w->gt_ig[g] = gt->iscrowd || gt->area < lo || gt->area > hi;
        npig += !w->gt_ig[g];
    }
    for (size_t g = 0; g < ng; g++) /* stable: regular first, then ignored */
        if (!w->gt_ig[g])
            w->g_perm[k++] = (uint32_t)g;
    for (size_t g = 0; g < ng; g++)
        if (w->gt_ig[g])
            w->g_perm[k++] = (uint32_t)g;
    for (int t = 0; t < w->T; t++) {
        unsigned char *fl = w->c_flag + ((size_t)a * (size_t)w->T + (size_t)t) * w->cap + col;
        memset(w->gtm, 0, ng);
        for (size_t d = 0; d < nd; d++) {
            double iou = fmin(w->p->iou_thresholds[t], 1.0 - 1e-10);
            long m = -1; /* position in g_perm */
            for (size_t q = 0; q < ng; q++) {
                uint32_t g = w->g_perm[q];
                if (w->gtm[g] && !gts[w->g_gt[g]].iscrowd)
                    continue;
                if (m > -1 && !w->gt_ig[w->g_perm[m]] && w->gt_ig[g])
                    break;
                double v = w->ious[d * ng + g];
                if (v < iou)
                    continue;
                iou = v;
                m = (long)q;
            }
            unsigned char f = 0;
            if (m > -1) {
                uint32_t g = w->g_perm[m];
                f = FLAG_MATCHED | (w->gt_ig[g] ? FLAG_IGNORED : 0);
                w->gtm[g] = 1;
            } else {
                const double *b = dts[w->g_dt[d]].bbox;
                double area = b[2] * b[3];
                if (area < lo || area > hi)
                    f = FLAG_IGNORED;
            }
            fl[d] = f;
        }
    }
    return npig;
}

/* Accumulate category k (its detections in c_* columns 0..n-1). */
static void accumulate(eval_work *w, size_t k, size_t n, const size_t *npig)
{
    const int T = w->T, R = w->R, M = w->M, A = ODET_EVAL_NUM_AREAS;
    const size_t K = w->K;
    for (int a = 0; a < A; a++) {
        if (npig[a] == 0)
            continue;
        for (int m = 0; m < M; m++) {
            size_t nd = 0;
            for (size_t j = 0; j < n; j++)
                if (w->c_rank[j] < (uint32_t)w->p->max_dets[m])
                    w->c_sel[nd++] = (uint32_t)j;
            merge_sort(w->c_sel, w->tmp, nd, score_before, w->c_score);
            for (int t = 0; t < T; t++) {
                const unsigned char *fl =
                    w->c_flag + ((size_t)a * (size_t)T + (size_t)t) * w->cap;
                double tp = 0.0, fp = 0.0;
                for (size_t i = 0; i < nd; i++) {
                    unsigned char f = fl[w->c_sel[i]];
                    if (!(f & FLAG_IGNORED)) {
                        if (f & FLAG_MATCHED)
                            tp += 1.0;
                        else
                            fp += 1.0;
                    }
                    w->rc[i] = tp / (double)npig[a];
                    w->pr[i] = tp / (fp + tp + DBL_EPSILON);
                }
                w->recall[(((size_t)t * K + k) * A + (size_t)a) * (size_t)M + (size_t)m] =
                    nd ? w->rc[nd - 1] : 0.0;
                for (size_t i = nd; i-- > 1;)
                    if (w->pr[i] > w->pr[i - 1])
                        w->pr[i - 1] = w->pr[i];
                size_t i = 0;
                for (int r = 0; r < R; r++) {
                    double thr = linspace_at(0.0, 1.0, R, r);
                    while (i < nd && w->rc[i] < thr) /* searchsorted, side left */
                        i++;
                    double q = i < nd ? w->pr[i] : 0.0;
                    w->precision[((((size_t)t * (size_t)R + (size_t)r) * K + k) * A +
                                  (size_t)a) * (size_t)M + (size_t)m] = q;
                }
            }
        }
    }
}

/* Evaluate every category; groups are runs of equal keys in gt_order /
 * dt_order. */
static void evaluate(eval_work *w)
{
    const odet_eval_gt *gts = w->in->gts;
    const odet_eval_det *dts = w->in->dets;
    const size_t maxdet = (size_t)w->p->max_dets[ODET_EVAL_NUM_MAX_DETS - 1];
    size_t gi = 0, di = 0;
    for (size_t k = 0; k < w->K; k++) {
        size_t npig[ODET_EVAL_NUM_AREAS] = {0, 0, 0, 0}, col = 0;
        int any = 0;
        for (;;) {
            uint64_t kg = gi < w->ngt ? w->gt_key[w->gt_order[gi]] : UINT64_MAX;
            uint64_t kd = di < w->ndt ? w->dt_key[w->dt_order[di]] : UINT64_MAX;
            uint64_t key = kg < kd ? kg : kd;
            if (key == UINT64_MAX || key / w->I != k)
                break;
            any = 1;
            size_t ng = 0, nd = 0;
            while (gi < w->ngt && w->gt_key[w->gt_order[gi]] == key)
                w->g_gt[ng++] = w->gt_order[gi++];
            while (di < w->ndt && w->dt_key[w->dt_order[di]] == key)
                w->g_dt[nd++] = w->dt_order[di++];
            /* the group's detections by score (stable), at most maxdet */
            merge_sort(w->g_dt, w->tmp, nd, det_score_before, dts);
            if (nd > maxdet)
                nd = maxdet;
            for (size_t d = 0; d < nd; d++) {
                w->c_score[col + d] = dts[w->g_dt[d]].score;
                w->c_rank[col + d] = (uint32_t)d;
                for (size_t g = 0; g < ng; g++) {
                    const odet_eval_gt *gt = &gts[w->g_gt[g]];
                    w->ious[d * ng + g] = box_iou(dts[w->g_dt[d]].bbox, gt->bbox, gt->iscrowd);
                }
            }
            for (int a = 0; a < ODET_EVAL_NUM_AREAS; a++)
                npig[a] += match_group(w, a, nd, ng, col);
            col += nd;
        }
        if (any)
            accumulate(w, k, col, npig);
    }
}

/* Sizes of the largest group and the largest category (after truncation),
 * for the work buffers. */
static void measure(const eval_work *w, size_t *max_g, size_t *max_d, size_t *max_cat)
{
    const size_t maxdet = (size_t)w->p->max_dets[ODET_EVAL_NUM_MAX_DETS - 1];
    size_t gi = 0, di = 0, cur_cat = 0, cat_k = SIZE_MAX;
    *max_g = *max_d = *max_cat = 0;
    while (gi < w->ngt || di < w->ndt) {
        uint64_t kg = gi < w->ngt ? w->gt_key[w->gt_order[gi]] : UINT64_MAX;
        uint64_t kd = di < w->ndt ? w->dt_key[w->dt_order[di]] : UINT64_MAX;
        uint64_t key = kg < kd ? kg : kd;
        size_t ng = 0, nd = 0;
        while (gi < w->ngt && w->gt_key[w->gt_order[gi]] == key)
            gi++, ng++;
        while (di < w->ndt && w->dt_key[w->dt_order[di]] == key)
            di++, nd++;
        if (nd > *max_d)
            *max_d = nd;
        if (ng > *max_g)
            *max_g = ng;
        if (key / w->I != cat_k) {
            cat_k = key / w->I;
            cur_cat = 0;
        }
        cur_cat += nd < maxdet ? nd : maxdet;
        if (cur_cat > *max_cat)
            *max_cat = cur_cat;
    }
}

static void work_free(eval_work *w)
{
    free(w->imgs);
    free(w->cats);
    free(w->gt_order);
    free(w->dt_order);
    free(w->gt_key);
    free(w->dt_key);
    free(w->ious);
    free(w->g_dt);
    free(w->g_gt);
    free(w->g_perm);
    free(w->gt_ig);
    free(w->gtm);
    free(w->tmp);
    free(w->c_score);
    free(w->c_rank);
    free(w->c_sel);
    free(w->c_flag);
    free(w->rc);
    free(w->pr);
}

static void *xmalloc(size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem)
        return NULL;
    size_t bytes = n * elem;
    return malloc(bytes ? bytes : 1);
}

static odet_pp_status check_input(const odet_eval_input *in)
{
    if (!in)
        return ODET_PP_ERR_NULL;
    if ((in->num_images && !in->image_ids) || (in->num_categories && !in->category_ids) ||
        (in->num_gts && !in->gts) || (in->num_dets && !in->dets))
        return ODET_PP_ERR_NULL;
    if (in->num_images > ODET_PP_MAX_COUNT || in->num_categories > ODET_PP_MAX_COUNT ||
        in->num_gts > ODET_PP_MAX_COUNT || in->num_dets > ODET_PP_MAX_COUNT)
        return ODET_PP_ERR_RANGE;
    for (size_t i = 0; i < in->num_gts; i++) {
        int s = box_status(in->gts[i].bbox);
        if (s == ODET_PP_OK && !isfinite(in->gts[i].area))
            s = ODET_PP_ERR_NONFINITE;
        if (s == ODET_PP_OK && in->gts[i].area < 0.0)
            s = ODET_PP_ERR_PARAM;
        if (s != ODET_PP_OK)
            return (odet_pp_status)s;
    }
    for (size_t i = 0; i < in->num_dets; i++) {
        if (isnan(in->dets[i].score))
            return ODET_PP_ERR_NONFINITE;
        int s = box_status(in->dets[i].bbox);
        if (s != ODET_PP_OK)
            return (odet_pp_status)s;
    }
    return ODET_PP_OK;
}

/* Keys (category index * I + image index) of entries on known ids; returns
 * how many, with their input positions in order[]. */
static size_t make_keys(const eval_work *w, size_t n, const odet_eval_gt *g,
                        const odet_eval_det *d, uint64_t *key, uint32_t *order)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t img = g ? g[i].image_id : d[i].image_id;
        int64_t cat = g ? g[i].category_id : d[i].category_id;
        long ii = find_id(w->imgs, w->I, img), kk = find_id(w->cats, w->K, cat);
        key[i] = UINT64_MAX;
        if (ii < 0 || kk < 0)
            continue;
        key[i] = (uint64_t)kk * (uint64_t)w->I + (uint64_t)ii;
        order[m++] = (uint32_t)i;
    }
    return m;
}

odet_pp_status odet_eval_coco(const odet_eval_input *in, const odet_eval_params *params,
                              odet_eval_result **out)
{
    if (!out)
        return ODET_PP_ERR_NULL;
    *out = NULL;
    odet_pp_status st = check_input(in);
    if (st != ODET_PP_OK)
        return st;
    odet_eval_params defaults;
    if (!params) {
        odet_eval_params_init(&defaults);
        params = &defaults;
    }
    if (!params_valid(params))
        return ODET_PP_ERR_PARAM;

    eval_work w;
    memset(&w, 0, sizeof w);
    w.in = in;
    w.p = params;
    w.T = params->num_iou_thresholds;
    w.R = params->num_recall_thresholds;
    w.M = ODET_EVAL_NUM_MAX_DETS;
    st = ODET_PP_ERR_NOMEM;
    w.imgs = xmalloc(in->num_images, sizeof *w.imgs);
    w.cats = xmalloc(in->num_categories, sizeof *w.cats);
    w.gt_key = xmalloc(in->num_gts, sizeof *w.gt_key);
    w.dt_key = xmalloc(in->num_dets, sizeof *w.dt_key);
    w.gt_order = xmalloc(in->num_gts, sizeof *w.gt_order);
    w.dt_order = xmalloc(in->num_dets, sizeof *w.dt_order);
    /* merge-sort scratch: every sort is over ground truths or detections */
    size_t nmax = in->num_gts > in->num_dets ? in->num_gts : in->num_dets;
    w.tmp = xmalloc(nmax, sizeof *w.tmp);
    if (!w.imgs || !w.cats || !w.gt_key || !w.dt_key || !w.gt_order || !w.dt_order || !w.tmp)
        goto done;
    w.I = unique_sorted(in->image_ids, in->num_images, w.imgs);
    w.K = unique_sorted(in->category_ids, in->num_categories, w.cats);
    w.ngt = w.I && w.K ? make_keys(&w, in->num_gts, in->gts, NULL, w.gt_key, w.gt_order) : 0;
    w.ndt = w.I && w.K ? make_keys(&w, in->num_dets, NULL, in->dets, w.dt_key, w.dt_order) : 0;
    merge_sort(w.gt_order, w.tmp, w.ngt, key_before, w.gt_key);
    merge_sort(w.dt_order, w.tmp, w.ndt, key_before, w.dt_key);

    /* result block: header, category ids, precision, recall */
    const size_t A = ODET_EVAL_NUM_AREAS, M = ODET_EVAL_NUM_MAX_DETS;
    const size_t T = (size_t)w.T, R = (size_t)w.R;
    const size_t cells = A * M * T;
    if (w.K > SIZE_MAX / sizeof(double) / cells / (R + 1) / 2) {
        st = ODET_PP_ERR_RANGE;
        goto done;
    }
    size_t n_prec = cells * R * w.K, n_rec = cells * w.K;
    size_t bytes = sizeof(odet_eval_result) + w.K * sizeof(int64_t) +
                   (n_prec + n_rec) * sizeof(double);
    odet_eval_result *r = malloc(bytes);
    if (!r)
        goto done;
    memset(r, 0, sizeof *r);
    int64_t *cat_ids = (int64_t *)(r + 1);
    double *prec = (double *)(cat_ids + w.K), *rec = prec + n_prec;
    if (w.K)
        memcpy(cat_ids, w.cats, w.K * sizeof *cat_ids);
    for (size_t i = 0; i < n_prec; i++)
        prec[i] = -1.0;
    for (size_t i = 0; i < n_rec; i++)
        rec[i] = -1.0;
    w.precision = prec;
    w.recall = rec;

    size_t max_g, max_d, max_cat;
    measure(&w, &max_g, &max_d, &max_cat);
    size_t maxdet = (size_t)params->max_dets[M - 1];
    size_t max_dt = max_d < maxdet ? max_d : maxdet;
    w.cap = max_cat; /* detections of one category, after truncation */
    if (max_dt && max_g > SIZE_MAX / sizeof(double) / max_dt) {
        free(r);
        st = ODET_PP_ERR_RANGE;
        goto done;
    }
    w.ious = xmalloc(max_dt * max_g, sizeof *w.ious);
    w.g_dt = xmalloc(max_d, sizeof *w.g_dt);
    w.g_gt = xmalloc(max_g, sizeof *w.g_gt);
    w.g_perm = xmalloc(max_g, sizeof *w.g_perm);
    w.gt_ig = xmalloc(max_g, 1);
    w.gtm = xmalloc(max_g, 1);
    w.c_score = xmalloc(w.cap, sizeof *w.c_score);
    w.c_rank = xmalloc(w.cap, sizeof *w.c_rank);
    w.c_sel = xmalloc(w.cap, sizeof *w.c_sel);
    w.c_flag = w.cap > SIZE_MAX / (A * T) ? NULL : xmalloc(A * T * w.cap, 1);
    w.rc = xmalloc(w.cap, sizeof *w.rc);
    w.pr = xmalloc(w.cap, sizeof *w.pr);
    if (!w.ious || !w.g_dt || !w.g_gt || !w.g_perm || !w.gt_ig || !w.gtm || !w.c_score ||
        !w.c_rank || !w.c_sel || !w.c_flag || !w.rc || !w.pr || !w.tmp) {
        free(r);
        goto done;
    }
    evaluate(&w);

    r->params = *params;
    r->num_images = w.I;
    r->num_categories = w.K;
    r->category_ids = cat_ids;
    r->precision = prec;
    r->recall = rec;
    r->num_gts_used = w.ngt;
    r->num_dets_used = w.ndt;
    {
        const int md = params->max_dets[M - 1];
        const double s[12][4] = {
            {1, -1, ODET_EVAL_AREA_ALL, md},     {1, .5, ODET_EVAL_AREA_ALL, md},
            {1, .75, ODET_EVAL_AREA_ALL, md},    {1, -1, ODET_EVAL_AREA_SMALL, md},
            {1, -1, ODET_EVAL_AREA_MEDIUM, md},  {1, -1, ODET_EVAL_AREA_LARGE, md},
            {0, -1, ODET_EVAL_AREA_ALL, params->max_dets[0]},
            {0, -1, ODET_EVAL_AREA_ALL, params->max_dets[1]},
            {0, -1, ODET_EVAL_AREA_ALL, md},     {0, -1, ODET_EVAL_AREA_SMALL, md},
            {0, -1, ODET_EVAL_AREA_MEDIUM, md},  {0, -1, ODET_EVAL_AREA_LARGE, md},
        };
        for (int i = 0; i < 12; i++)
            r->stats[i] = odet_eval_summarize(r, (int)s[i][0], s[i][1], (int)s[i][2],
                                              (int)s[i][3], -1);
    }
    *out = r;
    st = ODET_PP_OK;
done:
    work_free(&w);
    return st;
}

void odet_eval_result_destroy(odet_eval_result *r)
{
    free(r);
}
