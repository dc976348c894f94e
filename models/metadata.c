/* Readers for `odet.*` model metadata values (see metadata.h). */
#include "metadata.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

odet_status det_fail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

const char *det_meta_str(const det_meta *m, const char *key)
{
    return m && m->model ? odet_model_metadata(m->model, key) : NULL;
}

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int det_parse_long(const char *s, long *out)
{
    if (!s)
        return -1;
    s = skip_blank(s);
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *skip_blank(end))
        return -1;
    *out = v;
    return 0;
}

int det_parse_double(const char *s, double *out)
{
    if (!s)
        return -1;
    s = skip_blank(s);
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE && fabs(v) > 1.0)
        return -1;
    if (end == s || *skip_blank(end) || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

size_t det_split_count(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

/* Copy field i of a comma-separated list into buf (truncated to len - 1). */
static void field(const char *s, size_t i, char *buf, size_t len)
{
    for (size_t k = 0; k < i; k++) {
        s = strchr(s, ',');
        if (!s) {
            buf[0] = '\0';
            return;
        }
        s++;
    }
    size_t n = strcspn(s, ",");
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

static odet_status bad_value(const det_meta *m, const char *key, const char *value,
                             const char *expected, char *err, size_t errlen)
{
    return det_fail(err, errlen, ODET_ERR_INVALID_ARG, "%s: metadata %s = '%.80s%s': expected %s",
                    m->path, key, value, strlen(value) > 80 ? "..." : "", expected);
}

odet_status det_meta_int(const det_meta *m, const char *key, long lo, long hi, int *out,
                         char *err, size_t errlen)
{
    const char *v = det_meta_str(m, key);
    if (!v)
        return ODET_OK;
    long x;
    if (det_parse_long(v, &x) != 0 || x < lo || x > hi) {
        char what[96];
        snprintf(what, sizeof what, "an integer in %ld..%ld", lo, hi);
        return bad_value(m, key, v, what, err, errlen);
    }
    *out = (int)x;
    return ODET_OK;
}

odet_status det_meta_count(const det_meta *m, const char *key, size_t lo, size_t hi,
                           size_t *out, char *err, size_t errlen)
{
    const char *v = det_meta_str(m, key);
    if (!v)
        return ODET_OK;
    long x;
    if (det_parse_long(v, &x) != 0 || x < 0 || (size_t)x < lo || (size_t)x > hi) {
        char what[96];
        snprintf(what, sizeof what, "an integer in %zu..%zu", lo, hi);
        return bad_value(m, key, v, what, err, errlen);
    }
    *out = (size_t)x;
    return ODET_OK;
}

odet_status det_meta_float(const det_meta *m, const char *key, double lo, double hi,
                           float *out, char *err, size_t errlen)
{
    const char *v = det_meta_str(m, key);
    if (!v)
        return ODET_OK;
    double x;
    if (det_parse_double(v, &x) != 0 || x < lo || x > hi) {
        char what[96];
        snprintf(what, sizeof what, "a number in [%g, %g]", lo, hi);
        return bad_value(m, key, v, what, err, errlen);
    }
    *out = (float)x;
    return ODET_OK;
}

odet_status det_meta_floats(const det_meta *m, const char *key, size_t n, float *out,
                            char *err, size_t errlen)
{
    const char *v = det_meta_str(m, key);
    if (!v)
        return ODET_OK;
    char what[64];
    snprintf(what, sizeof what, "%zu comma-separated numbers", n);
    if (det_split_count(v) != n)
        return bad_value(m, key, v, what, err, errlen);
    float tmp[16];
    if (n > sizeof tmp / sizeof tmp[0])
        return bad_value(m, key, v, what, err, errlen);
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        double x;
        field(v, i, buf, sizeof buf);
        if (det_parse_double(buf, &x) != 0 || fabs(x) > 3.0e38)
            return bad_value(m, key, v, what, err, errlen);
        tmp[i] = (float)x;
    }
    memcpy(out, tmp, n * sizeof *out);
    return ODET_OK;
}

odet_status det_meta_ints(const det_meta *m, const char *key, size_t max, int *out, size_t *n,
                          char *err, size_t errlen)
{
    const char *v = det_meta_str(m, key);
    if (!v)
        return ODET_OK;
    char what[80];
    snprintf(what, sizeof what, "1 to %zu comma-separated positive integers", max);
    size_t k = det_split_count(v);
    if (k > max || k > 64)
        return bad_value(m, key, v, what, err, errlen);
    int tmp[64];
    for (size_t i = 0; i < k; i++) {
        char buf[64];
        long x;
        field(v, i, buf, sizeof buf);
        if (det_parse_long(buf, &x) != 0 || x <= 0 || x > 65536)
            return bad_value(m, key, v, what, err, errlen);
        tmp[i] = (int)x;
    }
    memcpy(out, tmp, k * sizeof *out);
    *n = k;
    return ODET_OK;
}

odet_status det_meta_hw(const det_meta *m, const char *key, int limit, int *h, int *w,
                        char *err, size_t errlen)
{
    const char *v = det_meta_str(m, key);
    if (!v)
        return ODET_OK;
    char what[64];
    snprintf(what, sizeof what, "HxW with sides in 1..%d", limit);
    const char *x = strpbrk(v, "xX");
    if (!x || x == v)
        return bad_value(m, key, v, what, err, errlen);
    char a[32];
    size_t la = (size_t)(x - v);
    if (la >= sizeof a)
        return bad_value(m, key, v, what, err, errlen);
    memcpy(a, v, la);
    a[la] = '\0';
    long hh, ww;
    if (det_parse_long(a, &hh) != 0 || det_parse_long(x + 1, &ww) != 0 || hh < 1 || ww < 1 ||
        hh > limit || ww > limit)
        return bad_value(m, key, v, what, err, errlen);
    *h = (int)hh;
    *w = (int)ww;
    return ODET_OK;
}

odet_status det_meta_choice(const det_meta *m, const char *key, const char *const *choices,
                            int *index, char *err, size_t errlen)
{
    const char *v = det_meta_str(m, key);
    if (!v)
        return ODET_OK;
    char list[256] = "one of:";
    size_t used = strlen(list);
    for (int i = 0; choices[i]; i++) {
        if (strcasecmp(v, choices[i]) == 0) {
            *index = i;
            return ODET_OK;
        }
        int k = snprintf(list + used, sizeof list - used, "%s %s", i ? "," : "", choices[i]);
        if (k > 0 && (size_t)k < sizeof list - used)
            used += (size_t)k;
    }
    return bad_value(m, key, v, list, err, errlen);
}
