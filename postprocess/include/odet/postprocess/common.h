/* odet postprocess: status codes and the types shared by every function family.
 *
 * The postprocessing library depends on nothing but libc and libm. It never
 * prints, never exits, and never allocates inside per-box loops. Functions that
 * need scratch memory come in two forms:
 *   foo_ws(..., void *workspace, size_t workspace_size, ...)
 *       uses caller-provided scratch memory; foo_workspace_size() tells how
 *       much. Nothing is allocated. This is the form for camera apps: size the
 *       workspace once for the largest input and reuse it for every frame.
 *   foo(...)
 *       convenience form that allocates the workspace with malloc() once per
 *       call, before any work, and frees it before returning.
 * Any pointer alignment is accepted for a workspace; it is aligned internally
 * (the size query includes the slack).
 */
#ifndef ODET_POSTPROCESS_COMMON_H
#define ODET_POSTPROCESS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Return codes of every fallible postprocess function: 0 on success,
 *  a negative value on error. Outputs are unspecified after an error. */
typedef enum odet_pp_status {
    ODET_PP_OK = 0,
    ODET_PP_ERR_NULL = -1,       /**< a required pointer is NULL */
    ODET_PP_ERR_RANGE = -2,      /**< a count exceeds ODET_PP_MAX_COUNT (for example a negative
                                      int converted to size_t) or sizes overflow */
    ODET_PP_ERR_NONFINITE = -3,  /**< NaN input (NaN score, coordinate or cost; -inf cost;
                                      infinite score where a method needs finite scores) */
    ODET_PP_ERR_PARAM = -4,      /**< invalid parameter: threshold outside its range or NaN,
                                      inverted range (e.g. negative image size), unknown enum */
    ODET_PP_ERR_WORKSPACE = -5,  /**< caller workspace smaller than the *_workspace_size() query */
    ODET_PP_ERR_NOMEM = -6,      /**< allocation failed (allocating convenience forms only) */
    ODET_PP_ERR_INFEASIBLE = -7  /**< assignment: no complete assignment has a finite cost */
} odet_pp_status;

/** Constant name of a status ("ODET_PP_ERR_PARAM", ...); "unknown" for other values. */
const char *odet_pp_status_str(int status);

/** Largest element count any function accepts (indices fit in int32_t). */
#define ODET_PP_MAX_COUNT ((size_t)INT32_MAX)

/** Axis-aligned box in corner form. A box with x2 <= x1 or y2 <= y1 is
 *  degenerate; see odet/postprocess/iou.h for how degenerate boxes behave. */
typedef struct odet_box {
    float x1, y1, x2, y2;
} odet_box;

/** One final detection, as produced by the decoders and the ranking. */
typedef struct odet_detection {
    odet_box box;
    float score;
    int32_t label;  /**< class index */
    size_t index;   /**< source position: query, anchor or flat heatmap index */
} odet_detection;

#ifdef __cplusplus
}
#endif

#endif
