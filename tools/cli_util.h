/* Small helpers shared by the command-line tools (header-only). */
#ifndef ODET_TOOLS_CLI_UTIL_H
#define ODET_TOOLS_CLI_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* Monotonic clock in milliseconds. */
static inline double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A whole decimal integer in [lo, hi]; 0, or -1 when s is not one. */
static inline int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A number in [0, 1]; 0, or -1 when s is not one. */
static inline int cli_parse_unit(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

#endif
