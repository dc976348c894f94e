/* Image views, decoding with stb_image (the system libstb provides the
 * implementation) and encoding with stb_image_write. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "image_internal.h"

struct odet_image_buf {
    odet_image view;
    uint8_t *pixels;
    int from_stb;  /* pixels come from stbi_load_* (free with stbi_image_free) */
};

odet_status img_fail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

int odet_pixel_format_bytes(odet_pixel_format f)
{
    switch (f) {
    case ODET_PIXEL_RGB: case ODET_PIXEL_BGR: return 3;
    case ODET_PIXEL_RGBA: case ODET_PIXEL_BGRA: return 4;
    case ODET_PIXEL_GRAY: return 1;
    }
    return 0;
}

const char *odet_pixel_format_name(odet_pixel_format f)
{
    switch (f) {
    case ODET_PIXEL_RGB: return "RGB";
    case ODET_PIXEL_BGR: return "BGR";
    case ODET_PIXEL_RGBA: return "RGBA";
    case ODET_PIXEL_BGRA: return "BGRA";
    case ODET_PIXEL_GRAY: return "GRAY";
    }
    return "invalid";
}

/* Size limits shared by views, decoding and buffers. */
static odet_status check_size(int w, int h, const char *name, char *err, size_t errlen)
{
    if (w <= 0 || h <= 0)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "%s: invalid image size %dx%d", name,
                        w, h);
    if (w > ODET_IMAGE_MAX_SIDE || h > ODET_IMAGE_MAX_SIDE ||
        (int64_t)w * h > ODET_IMAGE_MAX_PIXELS)
        return img_fail(err, errlen, ODET_ERR_LIMIT,
                        "%s: image size %dx%d exceeds the limit (%d pixels per side, %lld in "
                        "total)",
                        name, w, h, ODET_IMAGE_MAX_SIDE, (long long)ODET_IMAGE_MAX_PIXELS);
    return ODET_OK;
}

odet_status odet_image_check(const odet_image *img, char *err, size_t errlen)
{
    if (!img)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "image: NULL view");
    int bpp = odet_pixel_format_bytes(img->format);
    if (!bpp)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "image: invalid pixel format %d",
                        (int)img->format);
    odet_status st = check_size(img->width, img->height, "image", err, errlen);
    if (st != ODET_OK)
        return st;
    if (!img->data)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "image: NULL data");
    if (img->stride < (size_t)img->width * (size_t)bpp)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "image: stride %zu is below width %d x %d bytes per pixel (%s)",
                        img->stride, img->width, bpp, odet_pixel_format_name(img->format));
    return ODET_OK;
}

/* ------------------------------------------------------------------------ */
/* Structural checks of the encoded data                                     */
/* ------------------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* PNG: every chunk must fit in the data and IEND must be present. */
static odet_status check_png(const uint8_t *b, size_t len, const char *name, char *err,
                             size_t errlen)
{
    size_t pos = 8;
    while (pos + 8 <= len) {
        uint32_t n = be32(b + pos);
        char type[5];
        for (int i = 0; i < 4; i++) {
            uint8_t c = b[pos + 4 + i];
            type[i] = (c >= 32 && c < 127) ? (char)c : '?';
        }
        type[4] = 0;
        if (n > 0x7fffffffu)
            return img_fail(err, errlen, ODET_ERR_PARSE,
                            "%s: corrupt PNG: chunk '%s' at byte %zu declares %u bytes", name,
                            type, pos, (unsigned)n);
        if ((size_t)n + 12 > len - pos)
            return img_fail(err, errlen, ODET_ERR_PARSE,
                            "%s: truncated PNG: chunk '%s' at byte %zu needs %u bytes, the "
                            "data ends after %zu",
                            name, type, pos, (unsigned)n + 12, len - pos);
        if (memcmp(b + pos + 4, "IEND", 4) == 0)
            return ODET_OK;
        pos += (size_t)n + 12;
    }
    return img_fail(err, errlen, ODET_ERR_PARSE,
                    "%s: truncated PNG: no IEND chunk in %zu bytes", name, len);
}

/* JPEG: walk the marker segments and entropy-coded scans up to EOI. */
static odet_status check_jpeg(const uint8_t *b, size_t len, const char *name, char *err,
                              size_t errlen)
{
    size_t pos = 2;
    for (;;) {
        while (pos < len && b[pos] != 0xFF)
            pos++;                      /* tolerate junk between segments */
        while (pos < len && b[pos] == 0xFF)
            pos++;                      /* fill bytes */
        if (pos >= len)
            break;
        uint8_t m = b[pos++];
        if (m == 0xD9)
            return ODET_OK;             /* EOI */
        if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7))
            continue;                   /* no length field */
        if (len - pos < 2)
            break;
        size_t seg = (size_t)b[pos] << 8 | b[pos + 1];
        if (seg < 2)
            return img_fail(err, errlen, ODET_ERR_PARSE,
                            "%s: corrupt JPEG: marker 0x%02X at byte %zu has length %zu", name,
                            m, pos - 2, seg);
        if (seg > len - pos)
            break;
        pos += seg;
        if (m == 0xDA) {                /* SOS: skip the entropy-coded data */
            for (;;) {
                if (len - pos < 2) {
                    pos = len;
                    break;
                }
                if (b[pos] == 0xFF) {
                    uint8_t n = b[pos + 1];
                    if (n != 0x00 && n != 0xFF && !(n >= 0xD0 && n <= 0xD7))
                        break;          /* a marker */
                }
                pos++;
            }
            if (pos >= len)
                break;
        }
    }
    return img_fail(err, errlen, ODET_ERR_PARSE,
                    "%s: truncated JPEG: no end-of-image marker in %zu bytes", name, len);
}

/* Uncompressed BMP: the pixel array must fit in the data. */
static odet_status check_bmp(const uint8_t *b, size_t len, const char *name, char *err,
                             size_t errlen)
{
    if (len < 34 || le32(b + 14) < 40)
        return ODET_OK;                 /* old or odd headers: left to stb */
    uint32_t off = le32(b + 10);
    int32_t w = (int32_t)le32(b + 18), h = (int32_t)le32(b + 22);
    unsigned bpp = (unsigned)b[28] | (unsigned)b[29] << 8;
    uint32_t comp = le32(b + 30);
    if (comp != 0 && comp != 3)
        return ODET_OK;                 /* RLE: sizes vary */
    if (w <= 0 || h == 0 || h == INT32_MIN || bpp == 0 || bpp > 32)
        return ODET_OK;                 /* stb rejects these itself */
    uint64_t ah = (uint64_t)(h < 0 ? -(int64_t)h : h);
    uint64_t row = ((uint64_t)bpp * (uint64_t)w + 31) / 32 * 4;
    uint64_t need = (uint64_t)off + row * ah;
    if (need > len)
        return img_fail(err, errlen, ODET_ERR_PARSE,
                        "%s: truncated BMP: pixel data needs %llu bytes, the file has %zu",
                        name, (unsigned long long)need, len);
    return ODET_OK;
}

/* Declared size from the header of PNG, JPEG, BMP and GIF files, so that
 * absurd sizes are reported as such (stb_image refuses some of them with a
 * generic "unknown image type"). Returns 0 when the header is not parsed. */
static int header_size(const uint8_t *b, size_t len, int64_t *w, int64_t *h)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (len >= 24 && memcmp(b, png_sig, 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
        *w = be32(b + 16);
        *h = be32(b + 20);
        return 1;
    }
    if (len >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
        size_t pos = 2;
        while (pos + 4 <= len) {
            if (b[pos] != 0xFF) {
                pos++;
                continue;
            }
            uint8_t m = b[pos + 1];
            if (m == 0xFF || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) {
                pos += m == 0xFF ? 1 : 2;
                continue;
            }
            if (m == 0xDA || m == 0xD9)
                return 0;
            size_t seg = (size_t)b[pos + 2] << 8 | b[pos + 3];
            int sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
            if (sof && pos + 9 <= len) {
                *h = (int64_t)b[pos + 5] << 8 | b[pos + 6];
                *w = (int64_t)b[pos + 7] << 8 | b[pos + 8];
                return 1;
            }
            pos += 2 + seg;
        }
        return 0;
    }
    if (len >= 26 && b[0] == 'B' && b[1] == 'M' && le32(b + 14) >= 40) {
        int32_t bw = (int32_t)le32(b + 18), bh = (int32_t)le32(b + 22);
        *w = bw;
        *h = bh < 0 ? -(int64_t)bh : bh;
        return 1;
    }
    if (len >= 10 && memcmp(b, "GIF8", 4) == 0) {
        *w = b[6] | b[7] << 8;
        *h = b[8] | b[9] << 8;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */
/* ------------------------------------------------------------------------ */

static const char *stb_reason(void)
{
    const char *r = stbi_failure_reason();
    return r ? r : "unknown error";
}

odet_status odet_image_load_memory(const void *data, size_t len, const char *name,
                                   odet_image_buf **out, char *err, size_t errlen)
{
    if (!name)
        name = "<memory>";
    if (!out)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "%s: NULL output pointer", name);
    *out = NULL;
    if (!data && len)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "%s: NULL data", name);
    if (len == 0)
        return img_fail(err, errlen, ODET_ERR_PARSE, "%s: empty file (0 bytes), not an image",
                        name);
    if (len > (size_t)INT_MAX)
        return img_fail(err, errlen, ODET_ERR_LIMIT,
                        "%s: %zu bytes exceeds the decoder's limit of %d bytes", name, len,
                        INT_MAX);
    const uint8_t *b = data;
    int ilen = (int)len, w = 0, h = 0, comp = 0;
    int64_t hw = 0, hh = 0;
    if (header_size(b, len, &hw, &hh) &&
        (hw > ODET_IMAGE_MAX_SIDE || hh > ODET_IMAGE_MAX_SIDE || hw * hh > ODET_IMAGE_MAX_PIXELS))
        return img_fail(err, errlen, ODET_ERR_LIMIT,
                        "%s: image size %lldx%lld exceeds the limit (%d pixels per side, %lld in "
                        "total)",
                        name, (long long)hw, (long long)hh, ODET_IMAGE_MAX_SIDE,
                        (long long)ODET_IMAGE_MAX_PIXELS);
    if (!stbi_info_from_memory(b, ilen, &w, &h, &comp))
        return img_fail(err, errlen, ODET_ERR_PARSE,
                        "%s: not a recognised image (%zu bytes; stb_image: %s)", name, len,
                        stb_reason());
    odet_status st = check_size(w, h, name, err, errlen);
    if (st == ODET_ERR_INVALID_ARG)
        return img_fail(err, errlen, ODET_ERR_PARSE, "%s: corrupt header: image size %dx%d",
                        name, w, h);
    if (st != ODET_OK)
        return st;

    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (len >= 8 && memcmp(b, png_sig, 8) == 0)
        st = check_png(b, len, name, err, errlen);
    else if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        st = check_jpeg(b, len, name, err, errlen);
    else if (len >= 2 && b[0] == 'B' && b[1] == 'M')
        st = check_bmp(b, len, name, err, errlen);
    if (st != ODET_OK)
        return st;

    odet_image_buf *ib = calloc(1, sizeof *ib);
    if (!ib)
        return img_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory", name);
    int dw = 0, dh = 0, dc = 0;
    uint8_t *px = stbi_load_from_memory(b, ilen, &dw, &dh, &dc, 3);
    if (!px) {
        free(ib);
        const char *r = stb_reason();
        if (strcmp(r, "outofmem") == 0)
            return img_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory decoding %dx%d",
                            name, w, h);
        return img_fail(err, errlen, ODET_ERR_PARSE, "%s: cannot decode %dx%d image: %s", name,
                        w, h, r);
    }
    if (dw != w || dh != h) {
        stbi_image_free(px);
        free(ib);
        return img_fail(err, errlen, ODET_ERR_PARSE,
                        "%s: decoded size %dx%d differs from the header's %dx%d", name, dw, dh,
                        w, h);
    }
    ib->pixels = px;
    ib->from_stb = 1;
    ib->view.width = w;
    ib->view.height = h;
    ib->view.stride = (size_t)w * 3;
    ib->view.format = ODET_PIXEL_RGB;
    ib->view.data = px;
    *out = ib;
    return ODET_OK;
}

odet_status odet_image_load(const char *path, odet_image_buf **out, char *err, size_t errlen)
{
    if (!out)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "image load: NULL output pointer");
    *out = NULL;
    if (!path)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "image load: NULL path");
    FILE *f = fopen(path, "rb");
    if (!f)
        return img_fail(err, errlen, ODET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    odet_status st = ODET_OK;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            fclose(f);
            return img_fail(err, errlen, ODET_ERR_IO, "%s: is a directory, not an image file",
                            path);
        }
        if (S_ISREG(sb.st_mode) && sb.st_size > INT_MAX) {
            fclose(f);
            return img_fail(err, errlen, ODET_ERR_LIMIT,
                            "%s: %lld bytes exceeds the decoder's limit of %d bytes", path,
                            (long long)sb.st_size, INT_MAX);
        }
        if (S_ISREG(sb.st_mode) && sb.st_size > 0) {
            cap = (size_t)sb.st_size + 1;  /* + 1: EOF is seen without a realloc */
            buf = malloc(cap);
            if (!buf) {
                fclose(f);
                return img_fail(err, errlen, ODET_ERR_NOMEM,
                                "%s: out of memory reading %lld bytes", path,
                                (long long)sb.st_size);
            }
        }
    }
    for (;;) {
        if (len == cap) {
            if (cap >= (size_t)INT_MAX) {
                st = img_fail(err, errlen, ODET_ERR_LIMIT,
                              "%s: file exceeds the decoder's limit of %d bytes", path,
                              INT_MAX);
                break;
            }
            size_t ncap = cap ? cap * 2 : 1 << 16;
            if (ncap > (size_t)INT_MAX + 1)
                ncap = (size_t)INT_MAX + 1;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                st = img_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory reading the file",
                              path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                st = img_fail(err, errlen, ODET_ERR_IO, "%s: read error: %s", path,
                              strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == ODET_OK)
        st = odet_image_load_memory(buf, len, path, out, err, errlen);
    free(buf);
    return st;
}

odet_status odet_image_buf_create(int width, int height, odet_pixel_format format,
                                  odet_image_buf **out, char *err, size_t errlen)
{
    if (!out)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "image create: NULL output pointer");
    *out = NULL;
    int bpp = odet_pixel_format_bytes(format);
    if (!bpp)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "image create: invalid pixel format %d", (int)format);
    odet_status st = check_size(width, height, "image create", err, errlen);
    if (st != ODET_OK)
        return st;
    odet_image_buf *ib = calloc(1, sizeof *ib);
    size_t stride = (size_t)width * (size_t)bpp;
    uint8_t *px = calloc((size_t)height, stride);
    if (!ib || !px) {
        free(ib);
        free(px);
        return img_fail(err, errlen, ODET_ERR_NOMEM, "image create: out of memory for %dx%d %s",
                        width, height, odet_pixel_format_name(format));
    }
    ib->pixels = px;
    ib->view.width = width;
    ib->view.height = height;
    ib->view.stride = stride;
    ib->view.format = format;
    ib->view.data = px;
    *out = ib;
    return ODET_OK;
}

void odet_image_buf_free(odet_image_buf *b)
{
    if (!b)
        return;
    if (b->from_stb)
        stbi_image_free(b->pixels);
    else
        free(b->pixels);
    free(b);
}

const odet_image *odet_image_buf_view(const odet_image_buf *b)
{
    return b ? &b->view : NULL;
}

uint8_t *odet_image_buf_pixels(odet_image_buf *b)
{
    return b ? b->pixels : NULL;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */
/* ------------------------------------------------------------------------ */

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (m > n)
        return 0;
    s += n - m;
    for (size_t i = 0; i < m; i++) {
        char a = s[i], b = suffix[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

odet_status odet_image_write(const char *path, const odet_image *img, char *err, size_t errlen)
{
    if (!path)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG, "image write: NULL path");
    odet_status st = odet_image_check(img, err, errlen);
    if (st != ODET_OK)
        return st;
    int png = ends_with_ci(path, ".png");
    int jpg = ends_with_ci(path, ".jpg") || ends_with_ci(path, ".jpeg");
    if (!png && !jpg)
        return img_fail(err, errlen, ODET_ERR_INVALID_ARG,
                        "%s: unknown image extension (use .png, .jpg or .jpeg)", path);
    int w = img->width, h = img->height;
    int gray = img->format == ODET_PIXEL_GRAY;
    int comp = gray ? 1 : 3, bpp = odet_pixel_format_bytes(img->format);
    int swap = img->format == ODET_PIXEL_BGR || img->format == ODET_PIXEL_BGRA;
    uint8_t *tmp = malloc((size_t)w * (size_t)h * (size_t)comp);
    if (!tmp)
        return img_fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory encoding %dx%d", path, w,
                        h);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = img->data + (size_t)y * img->stride;
        uint8_t *d = tmp + (size_t)y * (size_t)w * (size_t)comp;
        if (gray) {
            memcpy(d, s, (size_t)w);
            continue;
        }
        for (int x = 0; x < w; x++, s += bpp, d += 3) {
            d[0] = s[swap ? 2 : 0];
            d[1] = s[1];
            d[2] = s[swap ? 0 : 2];
        }
    }
    errno = 0;
    int ok = png ? stbi_write_png(path, w, h, comp, tmp, w * comp)
                 : stbi_write_jpg(path, w, h, comp, tmp, 95);
    int e = errno;
    free(tmp);
    if (!ok)
        return img_fail(err, errlen, ODET_ERR_IO, "%s: cannot write the %s file%s%s", path,
                        png ? "PNG" : "JPEG", e ? ": " : "", e ? strerror(e) : "");
    return ODET_OK;
}
