/* NonMaxSuppression (opset 10; opset 11 is identical): greedy per-class hard
 * NMS with ONNX Runtime's semantics.
 *
 *   boxes [B, N, 4] float, scores [B, C, N] float,
 *   optional max_output_boxes_per_class (int64, one element; absent or 0: no
 *   output), iou_threshold (float, one element in [0, 1]; absent: 0),
 *   score_threshold (float, one element; absent: no score filter)
 *   -> selected_indices int64 [num_selected, 3] = (batch, class, box index),
 *      ordered by batch, then class, then selection order (descending score).
 *
 * Per (batch, class): candidates are the boxes with score > score_threshold
 * (strict, as ONNX Runtime), visited by descending score, equal scores by
 * ascending box index (stable; ONNX Runtime's order). A candidate is kept
 * unless its IoU with an already kept box of the same class is
 * > iou_threshold; at most max_output_boxes_per_class are kept.
 *
 * Boxes: center_point_box 0 = [y1, x1, y2, x2], any two opposite corners in
 * any order (flipped coordinates are normalised); 1 = [x_center, y_center,
 * width, height]. The IoU is computed in float exactly as ONNX Runtime does:
 * an empty intersection (touching edges, a zero-area box) never suppresses,
 * so iou_threshold 0 suppresses any positive overlap and 1 suppresses nothing.
 *
 * NaN: a NaN score is never selected (also without score_threshold); a box
 * with a NaN coordinate overlaps nothing (it neither suppresses nor is
 * suppressed); a NaN score_threshold selects nothing; a NaN iou_threshold is
 * rejected like any value outside [0, 1]. A negative max_output_boxes_per_class
 * is an error (ONNX Runtime silently treats it as 0).
 *
 * The output shape depends on the data, so infer() runs the selection once to
 * count (with temporary memory of its own) and run() runs it again to write.
 * Each (batch, class) pair is independent: large inputs are spread over the
 * threads by pair. Candidates are ordered lazily by a binary heap (O(N) build,
 * O(log N) per visited candidate) rather than fully sorted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops/op.h"

/* Parallel over (batch, class) pairs from this many score elements on. */
#define NMS_PAR_MIN_WORK 16384

typedef struct nms_params {
    int center_point_box;
} nms_params;

/* A box normalised to (min, max) corners, with its area as ONNX Runtime computes it. */
typedef struct nms_box {
    float y0, x0, y1, x1, area;
} nms_box;

/* Validated inputs of one call. */
typedef struct nms_cfg {
    int64_t batches, classes, n;
    int64_t max_out;        /* per class, clamped to n */
    float iou, score_thr;
    int has_score_thr, center;
    const float *boxes, *scores;
} nms_cfg;

static odet_status nms_prepare(odet_node *node, char *err, size_t errlen)
{
    int64_t c = odet_attr_int(node, "center_point_box", 0);
    if (c != 0 && c != 1)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute 'center_point_box' must be 0 or 1, got %lld",
                              (long long)c);
    nms_params *p = malloc(sizeof *p);
    if (!p)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    p->center_point_box = (int)c;
    node->params = p;
    return ODET_OK;
}

static const odet_tensor *nms_in(const odet_op_ctx *ctx, int i)
{
    return i < ctx->n_in ? ctx->in[i] : NULL;
}

/* Optional one-element input i of dtype dt; *t = NULL when absent. */
static odet_status nms_scalar_in(const odet_op_ctx *ctx, int i, const char *name, odet_dtype dt,
                                 const odet_tensor **t)
{
    *t = nms_in(ctx, i);
    if (!*t)
        return ODET_OK;
    if ((*t)->dtype != dt)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input %d '%s' must be %s, got %s", i, name,
                            odet_dtype_name(dt), odet_dtype_name((*t)->dtype));
    if (odet_tensor_numel(*t) != 1)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input %d '%s' must hold exactly one value, got %lld", i, name,
                            (long long)odet_tensor_numel(*t));
    if (!(*t)->data)
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "input %d '%s' has no data", i, name);
    return ODET_OK;
}

static odet_status nms_config(const odet_op_ctx *ctx, nms_cfg *c)
{
    const nms_params *p = ctx->params;
    const odet_tensor *bx = nms_in(ctx, 0), *sc = nms_in(ctx, 1);
    memset(c, 0, sizeof *c);
    if (!bx || !sc)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "inputs 0 'boxes' and 1 'scores' are required");
    if (bx->dtype != ODET_FLOAT)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input 0 'boxes' must be float, got %s",
                            odet_dtype_name(bx->dtype));
    if (sc->dtype != ODET_FLOAT)
        return odet_op_fail(ctx, ODET_ERR_DTYPE, "input 1 'scores' must be float, got %s",
                            odet_dtype_name(sc->dtype));
    if (bx->rank != 3 || bx->dims[2] != 4)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 0 'boxes' must have shape [num_batches, num_boxes, 4], got "
                            "rank %d%s", bx->rank,
                            bx->rank == 3 ? " with last dim != 4" : "");
    if (sc->rank != 3)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 1 'scores' must have shape [num_batches, num_classes, "
                            "num_boxes], got rank %d", sc->rank);
    if (bx->dims[0] != sc->dims[0])
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "boxes have %lld batches but scores have %lld",
                            (long long)bx->dims[0], (long long)sc->dims[0]);
    if (bx->dims[1] != sc->dims[2])
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "boxes have %lld boxes per batch but scores have %lld (dim 2)",
                            (long long)bx->dims[1], (long long)sc->dims[2]);
    if (bx->dims[1] > INT32_MAX)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "%lld boxes per batch exceed %d",
                            (long long)bx->dims[1], INT32_MAX);
    const odet_tensor *mo, *iou, *st;
    odet_status s;
    if ((s = nms_scalar_in(ctx, 2, "max_output_boxes_per_class", ODET_INT64, &mo)) ||
        (s = nms_scalar_in(ctx, 3, "iou_threshold", ODET_FLOAT, &iou)) ||
        (s = nms_scalar_in(ctx, 4, "score_threshold", ODET_FLOAT, &st)))
        return s;
    c->batches = bx->dims[0];
    c->n = bx->dims[1];
    c->classes = sc->dims[1];
    c->center = p->center_point_box;
    c->boxes = bx->data;
    c->scores = sc->data;
    c->max_out = mo ? ((const int64_t *)mo->data)[0] : 0;
    if (c->max_out < 0)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "input 2 'max_output_boxes_per_class' must be >= 0, got %lld",
                            (long long)c->max_out);
    if (c->max_out > c->n)
        c->max_out = c->n;
    c->iou = iou ? ((const float *)iou->data)[0] : 0.0f;
    if (!(c->iou >= 0.0f && c->iou <= 1.0f))
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "input 3 'iou_threshold' must be in [0, 1], got %g", (double)c->iou);
    c->has_score_thr = st != NULL;
    c->score_thr = st ? ((const float *)st->data)[0] : 0.0f;
    if (c->max_out > 0 && c->batches * c->classes > 0 && (!c->boxes || !c->scores))
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "boxes or scores have no data");
    return ODET_OK;
}

/* ---- IoU, as ONNX Runtime computes it ---- */

static inline void nms_minmax(float a, float b, float *lo, float *hi)
{
    if (a >= b) {
        *lo = b;
        *hi = a;
    } else {
        *lo = a;
        *hi = b;
    }
}

/* std::max / std::min: the first argument wins ties and NaN comparisons. */
static inline float nms_fmax(float a, float b) { return a < b ? b : a; }
static inline float nms_fmin(float a, float b) { return b < a ? b : a; }

static inline void nms_canon(const float *b, int center, nms_box *o)
{
    if (center == 0) {
        nms_minmax(b[1], b[3], &o->x0, &o->x1);
        nms_minmax(b[0], b[2], &o->y0, &o->y1);
        o->area = (o->y1 - o->y0) * (o->x1 - o->x0);
    } else {
        float hw = b[2] / 2, hh = b[3] / 2;
        o->area = b[2] * b[3];
        o->x0 = b[0] - hw;
        o->x1 = b[0] + hw;
        o->y0 = b[1] - hh;
        o->y1 = b[1] + hh;
    }
}

/* Whether kept box k suppresses candidate a. */
static inline int nms_suppresses(const nms_box *a, const nms_box *k, float iou_thr)
{
    float ix0 = nms_fmax(a->x0, k->x0), ix1 = nms_fmin(a->x1, k->x1);
    if (ix1 <= ix0)
        return 0;
    float iy0 = nms_fmax(a->y0, k->y0), iy1 = nms_fmin(a->y1, k->y1);
    if (iy1 <= iy0)
        return 0;
    float inter = (ix1 - ix0) * (iy1 - iy0);
    if (inter <= 0.0f)
        return 0;
    float uni = a->area + k->area - inter;
    return inter / uni > iou_thr;
}

/* ---- candidate heap: best (highest score, then lowest index) at the root ---- */

static inline int nms_better(const float *s, int32_t i, int32_t j)
{
    return s[i] > s[j] || (s[i] == s[j] && i < j);
}

static void nms_sift_down(int32_t *h, int64_t n, int64_t i, const float *s)
{
    int32_t v = h[i];
    for (;;) {
        int64_t l = 2 * i + 1;
        if (l >= n)
            break;
        int64_t m = l + 1 < n && nms_better(s, h[l + 1], h[l]) ? l + 1 : l;
        if (!nms_better(s, h[m], v))
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = v;
}

/* Greedy NMS of one (batch, class). heap: n slots; kept and sel: cap slots.
 * Keeps at most min(max_out, cap) boxes, writes their indices to sel (when
 * not NULL) and returns their count. */
static int64_t nms_one(const nms_cfg *c, int64_t b, int64_t k, int32_t *heap, nms_box *kept,
                       int64_t cap, int32_t *sel)
{
    int64_t lim = c->max_out < cap ? c->max_out : cap;
    if (lim == 0)
        return 0;
    const float *s = c->scores + (b * c->classes + k) * c->n;
    const float *bx = c->boxes + b * c->n * 4;
    int64_t m = 0;
    for (int64_t i = 0; i < c->n; i++) {
        float v = s[i];
        if (v != v || (c->has_score_thr && !(v > c->score_thr)))
            continue;
        heap[m++] = (int32_t)i;
    }
    for (int64_t i = m / 2 - 1; i >= 0; i--)
        nms_sift_down(heap, m, i, s);
    int64_t nk = 0;
    while (m > 0 && nk < lim) {
        int32_t top = heap[0];
        heap[0] = heap[--m];
        if (m > 0)
            nms_sift_down(heap, m, 0, s);
        nms_box cand;
        nms_canon(bx + 4 * (int64_t)top, c->center, &cand);
        int keep = 1;
        for (int64_t j = 0; j < nk && keep; j++)
            keep = !nms_suppresses(&cand, &kept[j], c->iou);
        if (!keep)
            continue;
        kept[nk] = cand;
        if (sel)
            sel[nk] = top;
        nk++;
    }
    return nk;
}

/* Threads for a call: by (batch, class) pair, only when the work is large. */
static int nms_threads(const odet_op_ctx *ctx, const nms_cfg *c)
{
    int64_t pairs = c->batches * c->classes;
    if (ctx->threads <= 1 || pairs < 2 || pairs * c->n < NMS_PAR_MIN_WORK || c->max_out == 0)
        return 1;
    return pairs < ctx->threads ? (int)pairs : ctx->threads;
}

/* Per-thread working memory: heap (n int32) then kept boxes (cap nms_box). */
static size_t nms_thread_bytes(int64_t n, int64_t cap)
{
    size_t heap = ((size_t)n * sizeof(int32_t) + 15) / 16 * 16;
    return heap + (size_t)cap * sizeof(nms_box);
}

/* Runs every (batch, class) pair: counts[pair] = kept boxes; with sel != NULL,
 * the kept indices of pair p go to sel[p * sel_stride ...]. */
static void nms_all(const nms_cfg *c, int nt, char *work, size_t per_thread, int64_t kept_cap,
                    int64_t *counts, int32_t *sel, int64_t sel_stride)
{
    int64_t pairs = c->batches * c->classes;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
    for (int64_t p = 0; p < pairs; p++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        char *w = work + (size_t)tid * per_thread;
        int32_t *heap = (int32_t *)w;
        nms_box *kept = (nms_box *)(w + (per_thread - (size_t)kept_cap * sizeof(nms_box)));
        counts[p] = nms_one(c, p / c->classes, p % c->classes, heap, kept, kept_cap,
                            sel ? sel + p * sel_stride : NULL);
    }
}

static odet_status nms_infer(odet_op_ctx *ctx)
{
    nms_cfg c;
    odet_status st = nms_config(ctx, &c);
    if (st)
        return st;
    int64_t pairs = c.batches * c.classes, total = 0;
    if (c.max_out > 0 && pairs > 0) {
        int nt = nms_threads(ctx, &c);
        size_t per = nms_thread_bytes(c.n, c.max_out);
        char *work = malloc(per * (size_t)nt);
        int64_t *counts = malloc((size_t)pairs * sizeof *counts);
        if (!work || !counts) {
            free(work);
            free(counts);
            return odet_op_fail(ctx, ODET_ERR_NOMEM, "out of memory");
        }
        nms_all(&c, nt, work, per, c.max_out, counts, NULL, 0);
        for (int64_t p = 0; p < pairs; p++)
            total += counts[p];
        free(work);
        free(counts);
    }
    int64_t dims[2] = {total, 3};
    odet_set_shape(ctx->out[0], ODET_INT64, 2, dims);
    return ODET_OK;
}

/* run() memory: counts [pairs] int64 | sel [pairs * cap] int32 | per-thread work.
 * cap = min(max_out, selected total): no pair keeps more than either. (NMS is
 * never planned statically, so scratch() always sees max_out's data.) */
typedef struct nms_layout {
    int64_t cap;
    size_t counts, sel, work, per_thread, total;
} nms_layout;

static void nms_layout_of(const odet_op_ctx *ctx, const nms_cfg *c, int nt, nms_layout *l)
{
    int64_t pairs = c->batches * c->classes;
    int64_t selected = ctx->out[0] ? ctx->out[0]->dims[0] : 0;
    l->cap = selected < c->max_out ? selected : c->max_out; /* max_out <= n */
    l->counts = 0;
    l->sel = ((size_t)pairs * sizeof(int64_t) + 63) / 64 * 64;
    l->work = l->sel + ((size_t)pairs * (size_t)l->cap * sizeof(int32_t) + 63) / 64 * 64;
    l->per_thread = (nms_thread_bytes(c->n, l->cap) + 63) / 64 * 64;
    l->total = l->work + l->per_thread * (size_t)nt;
}

static size_t nms_scratch(const odet_op_ctx *ctx)
{
    nms_cfg c;
    char err[8];
    odet_op_ctx q = *ctx;
    q.err = err;
    q.errlen = sizeof err;
    if (nms_config(&q, &c) != ODET_OK || !ctx->out[0] || ctx->out[0]->dims[0] == 0)
        return 0;
    nms_layout l;
    nms_layout_of(ctx, &c, nms_threads(ctx, &c), &l);
    return l.total;
}

static odet_status nms_run(odet_op_ctx *ctx)
{
    nms_cfg c;
    odet_status st = nms_config(ctx, &c);
    if (st)
        return st;
    odet_tensor *y = ctx->out[0];
    int64_t total = y->dims[0];
    if (total == 0)
        return ODET_OK;
    int nt = nms_threads(ctx, &c);
    nms_layout l;
    nms_layout_of(ctx, &c, nt, &l);
    if (!ctx->scratch || ctx->scratch_bytes < l.total)
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch buffer too small");
    char *base = ctx->scratch;
    int64_t *counts = (int64_t *)(base + l.counts);
    int32_t *sel = (int32_t *)(base + l.sel);
    nms_all(&c, nt, base + l.work, l.per_thread, l.cap, counts, sel, l.cap);
    int64_t pairs = c.batches * c.classes, pos = 0;
    for (int64_t p = 0; p < pairs; p++)
        pos += counts[p];
    if (pos != total)
        return odet_op_fail(ctx, ODET_ERR_INTERNAL,
                            "selected %lld boxes, expected %lld from shape inference",
                            (long long)pos, (long long)total);
    int64_t *out = y->data;
    pos = 0;
    for (int64_t p = 0; p < pairs; p++) {
        for (int64_t j = 0; j < counts[p]; j++, pos++) {
            out[3 * pos] = p / c.classes;
            out[3 * pos + 1] = p % c.classes;
            out[3 * pos + 2] = sel[p * l.cap + j];
        }
    }
    return ODET_OK;
}

#define BIT(i) (1u << (i))

const odet_op_def odet_ops_nms[] = {
    /* Every input decides the output's length: infer() needs all their data. */
    {"NonMaxSuppression", "", 10, 0, BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4), nms_prepare,
     NULL, nms_infer, nms_scratch, nms_run},
    {0},
};
