/* Arena planning from tensor lifetimes (greedy by size, best fit in time). */
#ifndef ODET_PLAN_PLANNER_H
#define ODET_PLAN_PLANNER_H

#include <stddef.h>

typedef struct odet_plan_buf {
    size_t size;   /* bytes */
    int first;     /* step that writes it */
    int last;      /* last step that reads it (inclusive) */
    size_t offset; /* out: byte offset in the arena, 64-byte aligned */
} odet_plan_buf;

/* Assign offsets so that buffers whose [first,last] intervals overlap never
 * share bytes. Returns the arena size, or (size_t)-1 on allocation failure. */
size_t odet_plan_arena(odet_plan_buf *bufs, int n);

#endif
