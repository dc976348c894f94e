/* Shared helpers of the models test suites. */
#include "test_util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *next_buf(void)
{
    static char bufs[8][1024];
    static int i;
    i = (i + 1) % 8;
    return bufs[i];
}

const char *tu_data(const char *name)
{
    const char *dir = getenv("ODET_MODELS_TEST_DATA");
    char *b = next_buf();
    snprintf(b, 1024, "%s/%s", dir ? dir : "tests/models/data", name);
    return b;
}

const char *tu_tmp(const char *name)
{
    const char *dir = getenv("TMPDIR");
    char *b = next_buf();
    snprintf(b, 1024, "%s/odet_models_%ld_%s", dir && *dir ? dir : "/tmp", (long)getpid(), name);
    return b;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

odet_image_buf *tu_load(const char *name)
{
    char err[ODET_ERRBUF_SIZE] = "";
    odet_image_buf *b = NULL;
    odet_status st = odet_image_load(tu_data(name), &b, err, sizeof err);
    ck_assert_msg(st == ODET_OK, "loading %s: %s (%s)", name, odet_status_str(st), err);
    return b;
}

uint8_t *tu_convert(const odet_image *rgb, odet_pixel_format fmt, size_t pad, odet_image *out)
{
    int bpp = odet_pixel_format_bytes(fmt);
    size_t stride = (size_t)rgb->width * (size_t)bpp + pad;
    uint8_t *mem = malloc(stride * (size_t)rgb->height);
    ck_assert_ptr_nonnull(mem);
    for (size_t i = 0; i < stride * (size_t)rgb->height; i++)
        mem[i] = (uint8_t)(i * 131 + 7);
    for (int y = 0; y < rgb->height; y++) {
        const uint8_t *s = rgb->data + (size_t)y * rgb->stride;
        uint8_t *d = mem + (size_t)y * stride;
        for (int x = 0; x < rgb->width; x++, s += 3, d += bpp) {
            switch (fmt) {
            case ODET_PIXEL_RGB: case ODET_PIXEL_RGBA:
                d[0] = s[0]; d[1] = s[1]; d[2] = s[2];
                break;
            case ODET_PIXEL_BGR: case ODET_PIXEL_BGRA:
                d[0] = s[2]; d[1] = s[1]; d[2] = s[0];
                break;
            case ODET_PIXEL_GRAY:
                d[0] = s[0];
                break;
            }
            if (bpp == 4)
                d[3] = (uint8_t)(x * 7 + y * 3);
        }
    }
    out->width = rgb->width;
    out->height = rgb->height;
    out->stride = stride;
    out->format = fmt;
    out->data = mem;
    return mem;
}
