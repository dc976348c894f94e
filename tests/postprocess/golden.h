/* Reader for the golden files written by make_goldens.py, and comparison
 * functions for the postprocess Check suites. */
#ifndef ODET_PP_TEST_GOLDEN_H
#define ODET_PP_TEST_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "odet/postprocess.h"

typedef struct gold_array {
    char name[64];
    char type; /* 'f', 'd' or 'i' */
    size_t n;
    double *v;
} gold_array;

typedef struct gold_case {
    char name[96];
    size_t n;
    gold_array *arr;
} gold_case;

typedef struct gold_file {
    size_t n;
    gold_case *cases;
} gold_file;

/* Loads $ODET_PP_DATA/<file>; fails the running test if it cannot. */
gold_file *gold_open(const char *file);
void gold_free(gold_file *g);
/* Case / array by name; fail the test when missing. */
const gold_case *gold_case_get(const gold_file *g, const char *name);
const gold_array *gold_get(const gold_case *c, const char *name);
/* NULL instead of failing. */
const gold_array *gold_find(const gold_case *c, const char *name);

/* Converted copies (malloc'd; free with free()). */
float *gold_f32(const gold_array *a);
odet_box *gold_boxes(const gold_array *a); /* n must be a multiple of 4 */
int32_t *gold_i32(const gold_array *a);

/* |got - ref| <= atol + rtol * |ref|; NaN matches NaN, inf matches inf. */
int close_enough(double got, double ref, double atol, double rtol);

/* Deterministic generator for property tests (splitmix64). */
typedef struct test_rng {
    uint64_t s;
} test_rng;
uint64_t rng_next(test_rng *r);
double rng_uniform(test_rng *r); /* [0, 1) */

#endif
