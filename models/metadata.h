/* Reading `odet.*` model metadata (not installed). Every reader leaves its
 * output unchanged when the key is absent, and fails with
 * ODET_ERR_INVALID_ARG and a message naming the model file, the key and its
 * value when the value is malformed or out of range. */
#ifndef ODET_MODELS_METADATA_H
#define ODET_MODELS_METADATA_H

#include <stdarg.h>
#include <stddef.h>

#include "odet/engine.h"

/** The model being read and its path (for messages). */
typedef struct det_meta {
    const odet_model *model;
    const char *path;
} det_meta;

/** printf-style message into err[0..errlen); returns st. */
odet_status det_fail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/** Value of a key or NULL. */
const char *det_meta_str(const det_meta *m, const char *key);

/** Integer in [lo, hi]. */
odet_status det_meta_int(const det_meta *m, const char *key, long lo, long hi, int *out,
                         char *err, size_t errlen);
/** Same for a size_t count in [lo, hi]. */
odet_status det_meta_count(const det_meta *m, const char *key, size_t lo, size_t hi,
                           size_t *out, char *err, size_t errlen);

/** Finite number in [lo, hi]. */
odet_status det_meta_float(const det_meta *m, const char *key, double lo, double hi,
                           float *out, char *err, size_t errlen);

/** Exactly n comma-separated finite numbers. */
odet_status det_meta_floats(const det_meta *m, const char *key, size_t n, float *out,
                            char *err, size_t errlen);

/** 1..max comma-separated positive integers; *n receives the count. */
odet_status det_meta_ints(const det_meta *m, const char *key, size_t max, int *out, size_t *n,
                          char *err, size_t errlen);

/** "HxW" with both in 1..limit. */
odet_status det_meta_hw(const det_meta *m, const char *key, int limit, int *h, int *w,
                        char *err, size_t errlen);

/** One of `choices` (NULL-terminated), compared case-insensitively; *index
 *  receives its position. The error message lists the choices. */
odet_status det_meta_choice(const det_meta *m, const char *key, const char *const *choices,
                            int *index, char *err, size_t errlen);

/* ---- String parsing shared with the readers ---- */

/** Whole-string integer / number (leading and trailing blanks allowed). */
int det_parse_long(const char *s, long *out);
int det_parse_double(const char *s, double *out);

/** Split a comma-separated list: count of fields (at least 1). */
size_t det_split_count(const char *s);

#endif
