/* Greedy-by-size arena planner: place the largest buffers first, each at the
 * lowest offset that does not collide with an already placed buffer whose
 * lifetime overlaps. Simple, deterministic and close to optimal on CNNs. */
#include <stdint.h>
#include <stdlib.h>

#include "plan/planner.h"

#define ALIGN 64

typedef struct placed {
    size_t off, end;
} placed;

typedef struct sort_key {
    size_t size;
    int first, idx;
} sort_key;

static int by_size_desc(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->idx - y->idx;
}

static int by_offset(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

size_t odet_plan_arena(odet_plan_buf *bufs, int n)
{
    if (n <= 0)
        return 0;
    sort_key *order = malloc((size_t)n * sizeof *order);
    int *done = malloc((size_t)n * sizeof *done);
    placed *conf = malloc((size_t)n * sizeof *conf);
    if (!order || !done || !conf) {
        free(order);
        free(done);
        free(conf);
        return (size_t)-1;
    }
    for (int i = 0; i < n; i++)
        order[i] = (sort_key){bufs[i].size, bufs[i].first, i};
    qsort(order, (size_t)n, sizeof *order, by_size_desc);
    size_t total = 0;
    int n_done = 0;
    for (int oi = 0; oi < n; oi++) {
        odet_plan_buf *b = &bufs[order[oi].idx];
        size_t need = (b->size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
        int nc = 0;
        for (int j = 0; j < n_done; j++) {
            const odet_plan_buf *p = &bufs[done[j]];
            if (p->first <= b->last && b->first <= p->last) {
                conf[nc].off = p->offset;
                conf[nc].end = p->offset + ((p->size + ALIGN - 1) & ~(size_t)(ALIGN - 1));
                nc++;
            }
        }
        qsort(conf, (size_t)nc, sizeof *conf, by_offset);
        /* best fit: the smallest gap that holds the buffer, else the end */
        size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
        for (int j = 0; j < nc; j++) {
            if (conf[j].off > cursor) {
                size_t gap = conf[j].off - cursor;
                if (gap >= need && gap < best_gap) {
                    best = cursor;
                    best_gap = gap;
                }
            }
            if (conf[j].end > cursor)
                cursor = conf[j].end;
        }
        b->offset = best != SIZE_MAX ? best : cursor;
        if (b->offset + need > total)
            total = b->offset + need;
        done[n_done++] = order[oi].idx;
    }
    free(order);
    free(done);
    free(conf);
    return total;
}
