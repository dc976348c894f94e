/* Shared helpers of the models test suites. */
#ifndef ODET_TESTS_MODELS_UTIL_H
#define ODET_TESTS_MODELS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "odet/image.h"

/* Path of a file in the test data folder ($ODET_MODELS_TEST_DATA). The
 * result lives in a rotating static buffer (valid for a few calls). */
const char *tu_data(const char *name);

/* A scratch file path unique to this process. */
const char *tu_tmp(const char *name);

/* Whole file into a malloc'ed buffer; NULL on failure. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Load a test image (RGB); aborts the test on failure. */
odet_image_buf *tu_load(const char *name);

/* A copy of an RGB view in another format with `pad` extra bytes per row
 * (filled with a pattern), alpha set to a pattern. GRAY takes channel 0.
 * Returns the malloc'ed pixel memory that *out points into. */
uint8_t *tu_convert(const odet_image *rgb, odet_pixel_format fmt, size_t pad, odet_image *out);

#endif
