/* Internal declarations shared by the postprocess sources. Not installed. */
#ifndef ODET_PP_INTERNAL_H
#define ODET_PP_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "odet/postprocess.h"

#define PP_ALIGN 64u

/* ---- Workspace carving ----
 * The same layout code runs twice: once with base == NULL to measure
 * (the *_workspace_size() queries) and once on the caller's memory, so the
 * size query can never disagree with the use. */
typedef struct pp_arena {
    unsigned char *base; /* NULL: measuring only */
    size_t used;         /* bytes from the aligned start */
    int overflow;
} pp_arena;

static inline void pp_arena_init(pp_arena *a, void *mem)
{
    a->base = NULL;
    a->used = 0;
    a->overflow = 0;
    if (mem) {
        uintptr_t p = (uintptr_t)mem;
        uintptr_t q = (p + (PP_ALIGN - 1)) & ~(uintptr_t)(PP_ALIGN - 1);
        a->base = (unsigned char *)mem + (q - p);
    }
}

/* count elements of elem bytes, 64-byte aligned; NULL while measuring. */
static inline void *pp_arena_take(pp_arena *a, size_t count, size_t elem)
{
    if (a->overflow)
        return NULL;
    if (elem && count > (SIZE_MAX - PP_ALIGN) / elem) {
        a->overflow = 1;
        return NULL;
    }
    size_t bytes = (count * elem + (PP_ALIGN - 1)) & ~(size_t)(PP_ALIGN - 1);
    if (bytes > SIZE_MAX - PP_ALIGN - a->used) {
        a->overflow = 1;
        return NULL;
    }
    void *p = a->base ? a->base + a->used : NULL;
    a->used += bytes;
    return p;
}

/* Total bytes a caller must provide for what was taken (alignment slack
 * included), SIZE_MAX on overflow. */
static inline size_t pp_arena_size(const pp_arena *a)
{
    return a->overflow ? SIZE_MAX : a->used + PP_ALIGN;
}

/* ---- Sorting (sort.c) ---- */

/* Order-preserving map of a float to uint32 for DESCENDING order
 * (larger float -> smaller key); -0.0 and +0.0 map to the same key. NaN must
 * be excluded by the caller. */
static inline uint32_t pp_key_desc(float f)
{
    union {
        float f;
        uint32_t u;
    } v;
    v.f = f;
    uint32_t u = v.u;
    if (u == 0x80000000u)
        u = 0;
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending key */
    return ~u;
}

/* Stable ascending sort of (keys, vals) by keys; n <= UINT32_MAX. The result
 * is left in keys/vals; tmp_keys/tmp_vals are scratch of n entries. */
void pp_radix_sort(uint32_t *keys, uint32_t *vals, uint32_t *tmp_keys, uint32_t *tmp_vals,
                   size_t n);

/* ---- Validation ---- */

static inline int pp_count_ok(size_t n)
{
    return n <= ODET_PP_MAX_COUNT;
}

static inline int pp_box_has_nan(const odet_box *b)
{
    return isnan(b->x1) || isnan(b->y1) || isnan(b->x2) || isnan(b->y2);
}

/* ---- IoU family in double, torchvision's formulas (iou.c) ---- */

typedef struct pp_boxd {
    double x1, y1, x2, y2, area, cx, cy, atan_wh;
} pp_boxd;

/* Per-box terms; atan only when need_atan. */
void pp_boxd_prepare(const odet_box *b, pp_boxd *d, int need_atan);
/* Overlap of two prepared boxes (kind is a valid odet_iou_kind). */
double pp_iou_prepared(const pp_boxd *a, const pp_boxd *b, odet_iou_kind kind);

/* ---- NMS core (nms.c), shared with the ranking ---- */

typedef struct pp_nms_input {
    const odet_box *boxes;
    const uint32_t *box_of; /* item -> box index, or NULL for identity */
    const float *scores;    /* per item */
    const int32_t *classes; /* per item, or NULL */
    size_t n;
} pp_nms_input;

/* Workspace bytes of pp_nms_core() for up to n items with this method. */
size_t pp_nms_core_size(size_t n, odet_nms_method method);

/* Runs the NMS: kept[] receives item indices in output order, kept_scores[]
 * (may be NULL) the final scores. p must have passed pp_nms_params_check();
 * items are checked for NaN here. Returns a status. */
int pp_nms_core(const pp_nms_input *in, const odet_nms_params *p, void *workspace,
                size_t workspace_size, size_t *kept, float *kept_scores, size_t *n_kept);

int pp_nms_params_check(const odet_nms_params *p);

/* ---- NMS group kernels ----
 * A group is one class (or everything) in rank order. Kernels mark kept ranks
 * in flag[] and, for the rescoring methods, write final[rank]. */

/* Hard NMS, torchvision's float32 arithmetic. x1..ar/rank are the group in
 * rank order (modified: compacted in place); sup is scratch of m bytes.
 * Stops after max_keep kept. */
void pp_nms_hard_group(float *restrict x1, float *restrict y1, float *restrict x2,
                       float *restrict y2, float *restrict ar, uint32_t *restrict rank,
                       uint8_t *restrict sup, size_t m, float thr, size_t max_keep,
                       uint8_t *restrict flag);

/* DIoU-NMS on prepared boxes bx (group order) with ranks rk; pos is scratch. */
void pp_nms_diou_group(const pp_boxd *bx, const uint32_t *rk, uint32_t *pos, size_t m,
                       double thr, size_t max_keep, uint8_t *flag);

/* Soft-NMS; cur holds the initial scores (group order) and is updated. */
void pp_nms_soft_group(const pp_boxd *bx, const uint32_t *rk, double *cur, uint32_t *pos,
                       size_t m, int gaussian, double iou_thr, double sigma, double score_thr,
                       size_t max_keep, uint8_t *flag, float *final);

/* Matrix NMS; s0 holds the initial scores (group order), comp is scratch. */
void pp_nms_matrix_group(const pp_boxd *bx, const uint32_t *rk, const double *s0, double *comp,
                         size_t m, int gaussian, double sigma, double score_thr, uint8_t *flag,
                         float *final);

/* ---- Linear assignment solvers ----
 * Both solve a matrix c (nr x nc, row-major, nr <= nc) with costs as double
 * internally. Outputs: x[row] = column, y[column] = row or -1. */

/* Jonker-Volgenant for a square, finite n x n matrix (n >= 1). Scratch:
 * v, d (n doubles), freel, col, pred, matches (n int32). Cannot fail. */
void pp_lapjv(const float *c, int32_t n, int32_t *x, int32_t *y, double *v, double *d,
              int32_t *freel, int32_t *col, int32_t *pred, int32_t *matches);

/* Row reduction + shortest augmenting paths (Crouse 2016) for nr <= nc with
 * +inf marking forbidden pairs. Scratch: u (nr), v, spc (nc doubles), path,
 * rem, scl (nc int32), srl (nr int32). Returns ODET_PP_OK or
 * ODET_PP_ERR_INFEASIBLE. */
int pp_lsap_sap(const float *c, int32_t nr, int32_t nc, int32_t *x, int32_t *y, double *u,
                double *v, double *spc, int32_t *path, int32_t *rem, int32_t *srl, int32_t *scl);

#endif
