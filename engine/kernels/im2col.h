/* Implicit im2col: the B operand of a convolution as a GEMM, produced panel by
 * panel (an odet_f32_pack_b_fn) straight from the input, so the column matrix
 * is never materialised.
 *
 * Row r of op(B) is the tap (c, kd, kh, kw) of channel c, column j the output
 * position (od, oh, ow); the element is
 *   x[c][od * s0 - p0 + kd * d0][oh * s1 - p1 + kh * d1][ow * s2 - p2 + kw * d2]
 * or 0 outside the input. Pads may be negative (the window then starts inside
 * the input), which sub-pixel decompositions of transposed convolutions use.
 *
 * Header-only: the GEMM drivers (kernels/gemm_driver.h) inline it with their
 * panel width, compiled for their instruction set (pass an odet_im2col as
 * odet_f32_bsrc.conv); odet_im2col_pack_b is the same as an
 * odet_f32_pack_b_fn for any other caller. */
#ifndef ODET_KERNELS_IM2COL_H
#define ODET_KERNELS_IM2COL_H

#include <stdint.h>
#include <string.h>

/* Depth rows described at a time. */
#define ODET_IM2COL_ROWS 256
/* Runs of output positions described at a time. */
#define ODET_IM2COL_SEGS 64

typedef struct odet_im2col {
    const float *x; /* channel 0 */
    int64_t in_sp;  /* floats per input channel: in[0] * in[1] * in[2] */
    int64_t in[3], k[3], out[3], stride[3], dil[3], pad[3];
    int64_t pos0; /* column j of op(B) is output position pos0 + j */
} odet_im2col;

/* Per depth row: where its taps read. */
typedef struct odet_im2col_row {
    int64_t chan;       /* c * in_sp */
    int64_t doff, hoff; /* kd * d0 - p0, kh * d1 - p1 */
    int64_t woff;       /* kw * d2 - p2 */
    int64_t lo, hi;     /* output columns ow with 0 <= ow * s2 + woff < in[2] */
} odet_im2col_row;

/* One run of output positions inside a single output row of a single panel. */
typedef struct odet_im2col_seg {
    int64_t dst; /* column of the run's first position in the panel */
    int64_t od, oh, ow, len;
} odet_im2col_seg;

/* [lo, hi): indices i in [0, count) with 0 <= i * s + off < n. */
static inline void odet_im2col_range(int64_t off, int64_t s, int64_t n, int64_t count, int64_t *lo,
                                     int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1;
    if (a > count)
        a = count;
    if (b > count)
        b = count;
    if (b < a)
        b = a;
    *lo = a;
    *hi = b;
}

static inline __attribute__((always_inline)) void
odet_im2col_pack(const odet_im2col *g, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                 const int64_t nr, float *Bp)
{
    const int64_t OH = g->out[1], OW = g->out[2];
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t KH = g->k[1], KW = g->k[2], k_sp = g->k[0] * KH * KW;
    const int64_t s0 = g->stride[0], s1 = g->stride[1], s2 = g->stride[2];
    odet_im2col_row rows[ODET_IM2COL_ROWS];
    odet_im2col_seg segs[ODET_IM2COL_SEGS];
    for (int64_t r0 = 0; r0 < kc; r0 += ODET_IM2COL_ROWS) {
        const int64_t rn = kc - r0 < ODET_IM2COL_ROWS ? kc - r0 : ODET_IM2COL_ROWS;
        {
            int64_t r = k0 + r0, c = r / k_sp, kk = r % k_sp;
            int64_t kd = kk / (KH * KW), kh = kk / KW % KH, kw = kk % KW;
            for (int64_t i = 0; i < rn; i++) {
                odet_im2col_row *ri = &rows[i];
                ri->chan = c * g->in_sp;
                ri->doff = kd * g->dil[0] - g->pad[0];
                ri->hoff = kh * g->dil[1] - g->pad[1];
                ri->woff = kw * g->dil[2] - g->pad[2];
                odet_im2col_range(ri->woff, s2, IW, OW, &ri->lo, &ri->hi);
                if (++kw == KW) {
                    kw = 0;
                    if (++kh == KH) {
                        kh = 0;
                        if (++kd == g->k[0]) {
                            kd = 0;
                            c++;
                        }
                    }
                }
            }
        }
        /* Runs of positions cut at output rows and at panels, a chunk of them at
         * a time; then every depth row over the chunk (reads one input row
         * after the other, writes a short line of each panel). */
        int64_t pos = g->pos0 + j0;
        const int64_t end = pos + nc;
        while (pos < end) {
            int ns = 0;
            int64_t ow = pos % OW, oh = pos / OW % OH, od = pos / (OW * OH);
            while (pos < end && ns < ODET_IM2COL_SEGS) {
                const int64_t rel = pos - (g->pos0 + j0), col = rel % nr;
                int64_t len = OW - ow < end - pos ? OW - ow : end - pos;
                if (len > nr - col)
                    len = nr - col;
                segs[ns].dst = (rel - col) * kc + col;
                segs[ns].od = od;
                segs[ns].oh = oh;
                segs[ns].ow = ow;
                segs[ns].len = len;
                ns++;
                pos += len;
                ow += len;
                if (ow == OW) {
                    ow = 0;
                    if (++oh == OH) {
                        oh = 0;
                        od++;
                    }
                }
            }
            for (int64_t i = 0; i < rn; i++) {
                const odet_im2col_row *ri = &rows[i];
                float *d0 = Bp + (r0 + i) * nr;
                const float *xc = g->x + ri->chan;
                for (int q = 0; q < ns; q++) {
                    const odet_im2col_seg *sg = &segs[q];
                    float *d = d0 + sg->dst;
                    const int64_t id = sg->od * s0 + ri->doff, ih = sg->oh * s1 + ri->hoff;
                    if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
                        memset(d, 0, (size_t)sg->len * sizeof(float));
                        continue;
                    }
                    const float *xr = xc + (id * IH + ih) * IW;
                    const int64_t end = sg->ow + sg->len;
                    int64_t a = ri->lo > sg->ow ? ri->lo : sg->ow;
                    int64_t b = ri->hi < end ? ri->hi : end;
                    if (a > end)
                        a = end;
                    if (b < a)
                        b = a;
                    for (int64_t t = sg->ow; t < a; t++)
                        d[t - sg->ow] = 0.0f;
                    float *restrict dd = d - sg->ow;
                    const float *restrict xs = xr + ri->woff;
                    if (s2 == 1) {
                        for (int64_t t = a; t < b; t++)
                            dd[t] = xs[t];
                    } else if (s2 == 2) {
                        for (int64_t t = a; t < b; t++)
                            dd[t] = xs[2 * t];
                    } else {
                        for (int64_t t = a; t < b; t++)
                            dd[t] = xs[t * s2];
                    }
                    for (int64_t t = b; t < sg->ow + sg->len; t++)
                        d[t - sg->ow] = 0.0f;
                }
            }
        }
        /* columns past nc in the last panel */
        const int64_t tail = (nc + nr - 1) / nr * nr - nc;
        if (tail)
            for (int64_t i = 0; i < rn; i++) {
                float *d0 = Bp + (nc - nc % nr) * kc + (r0 + i) * nr;
                for (int64_t t = nr - tail; t < nr; t++)
                    d0[t] = 0.0f;
            }
    }
}

static inline void odet_im2col_pack_b(const void *ctx, int64_t k0, int64_t kc, int64_t j0,
                                      int64_t nc, int64_t nr, float *Bp)
{
    odet_im2col_pack(ctx, k0, kc, j0, nc, nr, Bp);
}

#endif
