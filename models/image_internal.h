/* Shared helpers of the image and preprocessing code (not installed). */
#ifndef ODET_IMAGE_INTERNAL_H
#define ODET_IMAGE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "odet/image.h"

/** printf-style message into err[0..errlen); returns st. */
odet_status img_fail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/** Per-channel lookup table pixel value -> tensor value, and the byte offset
 *  of each tensor channel inside a source pixel. */
typedef struct img_chan_map {
    int bpp;        /**< bytes per source pixel */
    int off[3];     /**< tensor channel c reads byte off[c] of a pixel */
    float lut[3][256];
} img_chan_map;

/** Validate norm and fill map for a source format. */
odet_status img_chan_map_init(img_chan_map *map, odet_pixel_format fmt,
                              const odet_normalize *norm, char *err, size_t errlen);

/** Validate that an out_w x out_h window at dst->(x, y) lies inside the
 *  tensor. `what` names the caller in messages. */
odet_status img_window_check(const odet_chw_window *dst, int out_w, int out_h, const char *what,
                             char *err, size_t errlen);

/** Tensor value of one RGB pixel for every tensor channel. */
void img_normalize_rgb(const odet_normalize *norm, const uint8_t rgb[3], float out[3]);

#endif
