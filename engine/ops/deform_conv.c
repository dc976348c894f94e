/* Deformable 2-D convolution, as torchvision.ops.deform_conv2d computes it:
 *
 *   Y[n, m, oh, ow] = B[m] + sum_{c, i, j} W[m, c, i, j] * mask * X~[n, c, y, x]
 *   y = oh * stride_h - pad_h + i * dil_h + offset[n, 2 * (g * kh * kw + i * kw + j), oh, ow]
 *   x = ow * stride_w - pad_w + j * dil_w + offset[n, 2 * (g * kh * kw + i * kw + j) + 1, oh, ow]
 *
 * where g is the offset group of channel c, mask = mask[n, g * kh * kw + i * kw + j, oh, ow]
 * (1 without a mask) and X~ is bilinear interpolation with zeros outside the image.
 *
 * Registered as ONNX DeformConv (opset 19: X, W, offset, B, mask) and as the
 * mmcv / mmdeploy custom ops MMCVDeformConv2d (input, offset, weight) and
 * MMCVModulatedDeformConv2d (input, offset, mask, weight, bias), which use the
 * same offset and mask layouts.
 *
 * Per batch and group, a deformable im2col fills a block of columns in
 * scratch, then one weights-stationary GEMM (f32_gemm_packed_ex, bias in its
 * epilogue) writes that block of Y. Constant weights are packed once at load
 * (pack hook) and shared read-only by everything that runs the model;
 * otherwise per run into scratch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "ops/op.h"

#define COL_BLOCK_BYTES ((size_t)2 << 20)
#define COL_MIN_COLS 256
/* Output positions whose sampling points are computed together. */
#define SAMPLE_CHUNK 64

typedef struct dc_params {
    /* Input positions; -1 when the variant has no such input. */
    int ix, iw, ioff, ib, imask;
    int64_t stride[2], pad[4], dil[2]; /* pad: top, left, bottom, right */
    int64_t group, offset_group;
    int has_kernel;
    int64_t kernel[2];
    /* Weights packed at load (pack hook), or NULL: packed_per_group bytes per
     * group at `packed`, made by `kern` from the tensor whose data is `packed_src`.
     * The packed copy serves every input size, so the hook reports W as
     * replaced and W's data may have been released (W->data == NULL).
     * `packed` is the data of pack_buf (one reference held here), shared
     * read-only with other nodes packing the same W alike. */
    const odet_kernels *kern;
    const void *packed_src;
    odet_packed *pack_buf;
    const char *packed;
    size_t packed_per_group;
    int64_t packed_mg, packed_kc, packed_group;
} dc_params;

typedef struct dc_geom {
    int64_t N, C, H, W, M, Cg, Mg, KH, KW, KK, OH, OW, P, Kc, G, OG, Cog;
} dc_geom;

/* Read an ints attribute (or a single int) into dst[0..n); the values are
 * repeated when exactly one is given. Absent: dst untouched. */
static odet_status read_pair(const odet_node *node, const char *name, int64_t *dst, int n,
                             int64_t min_value, char *err, size_t errlen)
{
    const odet_attr *a = odet_attr_find(node, name);
    if (!a)
        return ODET_OK;
    int64_t v[4];
    size_t cnt;
    if (a->type == ODET_ATTR_INT) {
        v[0] = a->i;
        cnt = 1;
    } else if (a->type == ODET_ATTR_INTS && a->n >= 1 && a->n <= 4) {
        cnt = a->n;
        for (size_t i = 0; i < cnt; i++)
            v[i] = a->ints[i];
    } else {
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute '%s' must be 1 to %d integers", name, n);
    }
    if (cnt != 1 && cnt != (size_t)n && !(n == 4 && cnt == 2))
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "attribute '%s' has %zu values; expected %d", name, cnt, n);
    for (size_t i = 0; i < cnt; i++)
        if (v[i] < min_value)
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "attribute '%s'[%zu] = %lld must be >= %lld", name, i,
                                  (long long)v[i], (long long)min_value);
    for (int i = 0; i < n; i++)
        dst[i] = cnt == 1 ? v[0] : v[(size_t)i % cnt]; /* 2 pads [ph, pw] -> [ph, pw, ph, pw] */
    return ODET_OK;
}

static odet_status finish_prepare(odet_node *node, const dc_params *p, char *err, size_t errlen)
{
    if (p->group < 1 || p->offset_group < 1)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "group (%lld) and offset group (%lld) must be >= 1",
                              (long long)p->group, (long long)p->offset_group);
    dc_params *copy = malloc(sizeof *copy);
    if (!copy)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    *copy = *p;
    node->params = copy;
    return ODET_OK;
}

static void defaults(dc_params *p)
{
    memset(p, 0, sizeof *p);
    p->stride[0] = p->stride[1] = 1;
    p->dil[0] = p->dil[1] = 1;
    p->group = p->offset_group = 1;
}

/* ONNX DeformConv: X, W, offset, B?, mask?. */
static odet_status onnx_prepare(odet_node *node, char *err, size_t errlen)
{
    dc_params p;
    defaults(&p);
    p.ix = 0;
    p.iw = 1;
    p.ioff = 2;
    p.ib = 3;
    p.imask = 4;
    size_t n = 0;
    const int64_t *ks = odet_attr_ints(node, "kernel_shape", &n);
    if (ks) {
        if (n != 2 || ks[0] < 1 || ks[1] < 1)
            return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                                  "kernel_shape must be 2 positive values (2-D only)");
        p.has_kernel = 1;
        p.kernel[0] = ks[0];
        p.kernel[1] = ks[1];
    }
    const odet_attr *pads = odet_attr_find(node, "pads");
    if (pads && (pads->type != ODET_ATTR_INTS || pads->n != 4))
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "pads must be 4 values (2-D only)");
    odet_status st;
    if ((st = read_pair(node, "strides", p.stride, 2, 1, err, errlen)) != ODET_OK ||
        (st = read_pair(node, "dilations", p.dil, 2, 1, err, errlen)) != ODET_OK ||
        (st = read_pair(node, "pads", p.pad, 4, 0, err, errlen)) != ODET_OK)
        return st;
    p.group = odet_attr_int(node, "group", 1);
    p.offset_group = odet_attr_int(node, "offset_group", 1);
    return finish_prepare(node, &p, err, errlen);
}

static odet_status mmcv_common(odet_node *node, dc_params *p, char *err, size_t errlen)
{
    odet_status st;
    if ((st = read_pair(node, "stride", p->stride, 2, 1, err, errlen)) != ODET_OK ||
        (st = read_pair(node, "dilation", p->dil, 2, 1, err, errlen)) != ODET_OK ||
        (st = read_pair(node, "padding", p->pad, 4, 0, err, errlen)) != ODET_OK)
        return st;
    p->group = odet_attr_int(node, "groups", 1);
    p->offset_group = odet_attr_int(node, "deform_groups",
                                     odet_attr_int(node, "deformable_groups", 1));
    return finish_prepare(node, p, err, errlen);
}

/* mmcv MMCVDeformConv2d: input, offset, weight (no bias, no mask). */
static odet_status mmcv_prepare(odet_node *node, char *err, size_t errlen)
{
    dc_params p;
    defaults(&p);
    p.ix = 0;
    p.ioff = 1;
    p.iw = 2;
    p.ib = -1;
    p.imask = -1;
    return mmcv_common(node, &p, err, errlen);
}

/* mmcv MMCVModulatedDeformConv2d: input, offset, mask, weight, bias?. */
static odet_status mmcv_mod_prepare(odet_node *node, char *err, size_t errlen)
{
    dc_params p;
    defaults(&p);
    p.ix = 0;
    p.ioff = 1;
    p.imask = 2;
    p.iw = 3;
    p.ib = 4;
    return mmcv_common(node, &p, err, errlen);
}

static const odet_tensor *input(const odet_op_ctx *ctx, int i)
{
    return i >= 0 && i < ctx->n_in ? ctx->in[i] : NULL;
}

static odet_status dc_geometry(const odet_op_ctx *ctx, dc_geom *g)
{
    const dc_params *p = ctx->params;
    const odet_tensor *X = input(ctx, p->ix), *W = input(ctx, p->iw), *O = input(ctx, p->ioff);
    const odet_tensor *B = input(ctx, p->ib), *Mk = input(ctx, p->imask);
    if (!X || !W || !O)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG,
                            "the input, weight and offset inputs are required");
    if (X->rank != 4)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input %d 'X' must be rank 4 (only 2-D is supported), got rank %d",
                            p->ix, X->rank);
    if (W->rank != 4)
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input %d 'W' must be rank 4, got rank %d",
                            p->iw, W->rank);
    memset(g, 0, sizeof *g);
    g->N = X->dims[0];
    g->C = X->dims[1];
    g->H = X->dims[2];
    g->W = X->dims[3];
    g->M = W->dims[0];
    g->Cg = W->dims[1];
    g->KH = W->dims[2];
    g->KW = W->dims[3];
    g->KK = g->KH * g->KW;
    g->G = p->group;
    g->OG = p->offset_group;
    if (p->has_kernel && (p->kernel[0] != g->KH || p->kernel[1] != g->KW))
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "kernel_shape [%lld, %lld] does not match 'W' [%lld, %lld]",
                            (long long)p->kernel[0], (long long)p->kernel[1], (long long)g->KH,
                            (long long)g->KW);
    if (g->Cg * g->G != g->C)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input %d 'W' has %lld input channels per group; 'X' has %lld "
                            "channels and group = %lld",
                            p->iw, (long long)g->Cg, (long long)g->C, (long long)g->G);
    if (g->M % g->G)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input %d 'W' has %lld output channels, not a multiple of group = "
                            "%lld",
                            p->iw, (long long)g->M, (long long)g->G);
    if (g->C % g->OG)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "'X' has %lld channels, not a multiple of offset group = %lld",
                            (long long)g->C, (long long)g->OG);
    g->Mg = g->M / g->G;
    g->Cog = g->C / g->OG;
    int64_t eh = (g->KH - 1) * p->dil[0] + 1, ew = (g->KW - 1) * p->dil[1] + 1;
    int64_t sh = g->H + p->pad[0] + p->pad[2] - eh, sw = g->W + p->pad[1] + p->pad[3] - ew;
    if (g->KH < 1 || g->KW < 1 || sh < 0 || sw < 0)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "padded input %lldx%lld is smaller than the dilated kernel %lldx%lld",
                            (long long)(g->H + p->pad[0] + p->pad[2]),
                            (long long)(g->W + p->pad[1] + p->pad[3]), (long long)eh,
                            (long long)ew);
    if (g->H * g->W > INT32_MAX)
        return odet_op_fail(ctx, ODET_ERR_LIMIT, "input planes of %lld x %lld are too large",
                            (long long)g->H, (long long)g->W);
    g->OH = sh / p->stride[0] + 1;
    g->OW = sw / p->stride[1] + 1;
    g->P = g->OH * g->OW;
    g->Kc = g->Cg * g->KK;
    if (O->rank != 4 || O->dims[0] != g->N || O->dims[1] != 2 * g->OG * g->KK ||
        O->dims[2] != g->OH || O->dims[3] != g->OW)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input %d 'offset' must have shape [%lld, %lld, %lld, %lld]", p->ioff,
                            (long long)g->N, (long long)(2 * g->OG * g->KK), (long long)g->OH,
                            (long long)g->OW);
    if (Mk && (Mk->rank != 4 || Mk->dims[0] != g->N || Mk->dims[1] != g->OG * g->KK ||
               Mk->dims[2] != g->OH || Mk->dims[3] != g->OW))
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input %d 'mask' must have shape [%lld, %lld, %lld, %lld]", p->imask,
                            (long long)g->N, (long long)(g->OG * g->KK), (long long)g->OH,
                            (long long)g->OW);
    if (B && (B->rank != 1 || B->dims[0] != g->M))
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input %d 'B' must have shape [%lld]", p->ib,
                            (long long)g->M);
    return ODET_OK;
}

static int64_t col_block(const dc_geom *g)
{
    int64_t nb = (int64_t)(COL_BLOCK_BYTES / sizeof(float)) / (g->Kc > 0 ? g->Kc : 1);
    nb = nb / 32 * 32;
    if (nb < COL_MIN_COLS)
        nb = COL_MIN_COLS;
    return nb < g->P ? nb : g->P;
}

static odet_status dc_infer(odet_op_ctx *ctx)
{
    const dc_params *p = ctx->params;
    const int idx[5] = {p->ix, p->iw, p->ioff, p->ib, p->imask};
    static const char *const names[5] = {"X", "W", "offset", "B", "mask"};
    for (int i = 0; i < 5; i++) {
        const odet_tensor *t = input(ctx, idx[i]);
        if (t && t->dtype != ODET_FLOAT)
            return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                                "input %d '%s' has dtype %s; only float is supported", idx[i],
                                names[i], odet_dtype_name(t->dtype));
    }
    dc_geom g;
    odet_status st = dc_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    int64_t dims[4] = {g.N, g.M, g.OH, g.OW};
    odet_set_shape(ctx->out[0], ODET_FLOAT, 4, dims);
    return ODET_OK;
}

/* Weights packed at load for this W, or NULL. */
static const dc_params *prepacked(const dc_params *p, const dc_geom *g, const float *W)
{
    if (!p->packed || (p->packed_src != (const void *)W && W != NULL) ||
        p->kern != odet_kernels_get() ||
        p->packed_mg != g->Mg || p->packed_kc != g->Kc || p->packed_group != g->G)
        return NULL;
    return p;
}

/* Scratch layout: the weights of every group packed for the GEMM (unless
 * packed at load), one column block, the GEMM's workspace. All multiples of 64. */
typedef struct dc_scratch_layout {
    size_t packed_per_group, packed, col, ws;
} dc_scratch_layout;

static dc_scratch_layout scratch_layout(const dc_geom *g, const dc_params *p, const float *W,
                                        int threads)
{
    dc_scratch_layout l;
    const odet_kernels *kern = odet_kernels_get();
    l.packed_per_group = kern->f32_gemm_packed_size(g->Mg, g->Kc);
    l.packed = prepacked(p, g, W) ? 0 : l.packed_per_group * (size_t)g->G;
    l.col = ((size_t)g->Kc * (size_t)col_block(g) * sizeof(float) + 63) / 64 * 64;
    l.ws = (kern->f32_gemm_packed_ex_ws(g->Mg, col_block(g), g->Kc, threads) + 63) / 64 * 64;
    return l;
}

static size_t dc_scratch(const odet_op_ctx *ctx)
{
    const dc_params *p = ctx->params;
    dc_geom g;
    char err[8];
    odet_op_ctx c = *ctx;
    c.err = err;
    c.errlen = sizeof err;
    if (dc_geometry(&c, &g) != ODET_OK)
        return 0;
    dc_scratch_layout l =
        scratch_layout(&g, p, input(ctx, p->iw)->data, ctx->threads < 1 ? 1 : ctx->threads);
    return l.packed + l.col + l.ws;
}

/* Bilinear taps of the sampling points of one chunk of positions: four pixel
 * indices and weights (mask folded in) per point. Corners outside the image
 * get weight 0 and index 0. */
typedef struct taps {
    int32_t idx[SAMPLE_CHUNK][4];
    float w[SAMPLE_CHUNK][4];
} taps;

static void sample_taps(float y, float x, float mask, int64_t H, int64_t W, taps *t, int j)
{
    for (int q = 0; q < 4; q++) {
        t->idx[j][q] = 0;
        t->w[j][q] = 0.0f;
    }
    /* Same test and arithmetic as torchvision's bilinear_interpolate. */
    if (!(y > -1.0f && y < (float)H && x > -1.0f && x < (float)W))
        return;
    float yf = floorf(y), xf = floorf(x);
    int64_t y0 = (int64_t)yf, x0 = (int64_t)xf, y1 = y0 + 1, x1 = x0 + 1;
    float ly = y - yf, lx = x - xf, hy = 1.0f - ly, hx = 1.0f - lx;
    const int64_t ys[2] = {y0, y1}, xs[2] = {x0, x1};
    const float wy[2] = {hy, ly}, wx[2] = {hx, lx};
    for (int a = 0; a < 2; a++) {
        for (int b = 0; b < 2; b++) {
            if (ys[a] < 0 || ys[a] >= H || xs[b] < 0 || xs[b] >= W)
                continue;
            t->idx[j][a * 2 + b] = (int32_t)(ys[a] * W + xs[b]);
            t->w[j][a * 2 + b] = wy[a] * wx[b] * mask;
        }
    }
}

/* Deformable im2col of output positions [p0, p0 + nb) for the channels of
 * conv group `grp`: col[(c - c0) * KK + k][j]. */
typedef struct dcol_job {
    const dc_geom *g;
    const dc_params *p;
    const float *x, *off, *mask;
    int64_t grp, p0, nb, per, chunks;
    float *col;
} dcol_job;

static void deform_im2col_task(void *ctx, int64_t task, int worker)
{
    (void)worker;
    const dcol_job *jb = ctx;
    const dc_geom *g = jb->g;
    const dc_params *p = jb->p;
    const float *x = jb->x, *off = jb->off, *mask = jb->mask;
    const int64_t p0 = jb->p0, nb = jb->nb;
    float *col = jb->col;
    const int64_t c0 = jb->grp * g->Cg, c1 = c0 + g->Cg;
    const int64_t ch0 = task * jb->per;
    const int64_t ch1 = ch0 + jb->per < jb->chunks ? ch0 + jb->per : jb->chunks;
    for (int64_t ch = ch0; ch < ch1; ch++) {
        taps t;
        const int64_t j0 = ch * SAMPLE_CHUNK;
        const int cnt = (int)(nb - j0 < SAMPLE_CHUNK ? nb - j0 : SAMPLE_CHUNK);
        for (int64_t og = c0 / g->Cog; og * g->Cog < c1; og++) {
            const int64_t ca = og * g->Cog > c0 ? og * g->Cog : c0;
            const int64_t cb = (og + 1) * g->Cog < c1 ? (og + 1) * g->Cog : c1;
            for (int64_t k = 0; k < g->KK; k++) {
                const int64_t ki = k / g->KW, kj = k % g->KW;
                const float *dy = off + (og * g->KK + k) * 2 * g->P;
                const float *dx = dy + g->P;
                const float *mk = mask ? mask + (og * g->KK + k) * g->P : NULL;
                for (int j = 0; j < cnt; j++) {
                    int64_t pos = p0 + j0 + j, oh = pos / g->OW, ow = pos % g->OW;
                    float y = (float)(oh * p->stride[0] - p->pad[0] + ki * p->dil[0]) + dy[pos];
                    float xx = (float)(ow * p->stride[1] - p->pad[1] + kj * p->dil[1]) + dx[pos];
                    sample_taps(y, xx, mk ? mk[pos] : 1.0f, g->H, g->W, &t, j);
                }
                /* Four channels per pass: the taps are loaded once for four rows. */
                const int64_t plane = g->H * g->W, row_step = g->KK * nb;
                int64_t c = ca;
                for (; c + 4 <= cb; c += 4) {
                    const float *x0 = x + c * plane, *x1 = x0 + plane, *x2 = x1 + plane,
                                *x3 = x2 + plane;
                    float *d0 = col + ((c - c0) * g->KK + k) * nb + j0;
                    float *d1 = d0 + row_step, *d2 = d1 + row_step, *d3 = d2 + row_step;
                    for (int j = 0; j < cnt; j++) {
                        const int32_t i0 = t.idx[j][0], i1 = t.idx[j][1], i2 = t.idx[j][2],
                                      i3 = t.idx[j][3];
                        const float w0 = t.w[j][0], w1 = t.w[j][1], w2 = t.w[j][2],
                                    w3 = t.w[j][3];
                        d0[j] = w0 * x0[i0] + w1 * x0[i1] + w2 * x0[i2] + w3 * x0[i3];
                        d1[j] = w0 * x1[i0] + w1 * x1[i1] + w2 * x1[i2] + w3 * x1[i3];
                        d2[j] = w0 * x2[i0] + w1 * x2[i1] + w2 * x2[i2] + w3 * x2[i3];
                        d3[j] = w0 * x3[i0] + w1 * x3[i1] + w2 * x3[i2] + w3 * x3[i3];
                    }
                }
                for (; c < cb; c++) {
                    const float *xc = x + c * plane;
                    float *dst = col + ((c - c0) * g->KK + k) * nb + j0;
                    for (int j = 0; j < cnt; j++)
                        dst[j] = t.w[j][0] * xc[t.idx[j][0]] + t.w[j][1] * xc[t.idx[j][1]] +
                                 t.w[j][2] * xc[t.idx[j][2]] + t.w[j][3] * xc[t.idx[j][3]];
                }
            }
        }
    }
}

static void deform_im2col(const dc_geom *g, const dc_params *p, const float *x, const float *off,
                          const float *mask, int64_t grp, int64_t p0, int64_t nb, float *col,
                          int threads)
{
    const int64_t chunks = (nb + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    if (g->Kc * nb <= 16384)
        threads = 1;
    int64_t tasks = 4 * (int64_t)threads;
    if (tasks > chunks)
        tasks = chunks;
    dcol_job j = {g, p, x, off, mask, grp, p0, nb, (chunks + tasks - 1) / tasks, chunks, col};
    odet_parallel_for(threads, (chunks + j.per - 1) / j.per, deform_im2col_task, &j);
}

static odet_status dc_run(odet_op_ctx *ctx)
{
    const dc_params *p = ctx->params;
    dc_geom g;
    odet_status st = dc_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    const odet_tensor *tb = input(ctx, p->ib), *tm = input(ctx, p->imask);
    const float *X = input(ctx, p->ix)->data, *W = input(ctx, p->iw)->data;
    const float *O = input(ctx, p->ioff)->data;
    const float *B = tb ? tb->data : NULL, *Mk = tm ? tm->data : NULL;
    float *Y = ctx->out[0]->data;
    if (g.N == 0 || g.M == 0 || g.P == 0)
        return ODET_OK;
    const odet_kernels *kern = odet_kernels_get();
    const int threads = ctx->threads < 1 ? 1 : ctx->threads;
    const int64_t nb_max = col_block(&g);
    const dc_scratch_layout l = scratch_layout(&g, p, W, threads);
    if (!W && !prepacked(p, &g, W))
        return odet_op_fail(ctx, ODET_ERR_INTERNAL,
                            "the weights were released at load but the packed copy does not "
                            "apply to this call");
    if (!ctx->scratch || ctx->scratch_bytes < l.packed + l.col + l.ws)
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch buffer missing or too small");
    char *sc = ctx->scratch;
    float *col = (float *)(void *)(sc + l.packed);
    void *ws = sc + l.packed + l.col;
    const char *packed;
    if (prepacked(p, &g, W)) {
        packed = p->packed;
    } else {
        /* W is computed at run time: pack it once for every batch item and block. */
        for (int64_t grp = 0; grp < g.G; grp++)
            kern->f32_gemm_pack_a(0, g.Mg, g.Kc, 1.0f, W + grp * g.Mg * g.Kc, g.Kc,
                                  sc + (size_t)grp * l.packed_per_group, threads);
        packed = sc;
    }
    for (int64_t n = 0; n < g.N; n++) {
        const float *x = X + n * g.C * g.H * g.W;
        const float *off = O + n * 2 * g.OG * g.KK * g.P;
        const float *mk = Mk ? Mk + n * g.OG * g.KK * g.P : NULL;
        for (int64_t grp = 0; grp < g.G; grp++) {
            const void *w = packed + (size_t)grp * l.packed_per_group;
            float *y = Y + (n * g.M + grp * g.Mg) * g.P;
            const odet_f32_epilogue ep = {.bias = B ? B + grp * g.Mg : NULL};
            for (int64_t p0 = 0; p0 < g.P; p0 += nb_max) {
                int64_t nb = g.P - p0 < nb_max ? g.P - p0 : nb_max;
                deform_im2col(&g, p, x, off, mk, grp, p0, nb, col, threads);
                const odet_f32_bsrc src = {.B = col, .ldb = nb};
                kern->f32_gemm_packed_ex(g.Mg, nb, g.Kc, w, &src, y + p0, g.P, &ep, ws, threads);
            }
        }
    }
    return ODET_OK;
}

/* Parameters and their reference to the shared packed weights. */
static void dc_release(void *params)
{
    dc_params *p = params;
    if (p)
        odet_packed_unref(p->pack_buf);
    free(p);
}

/* Pack constant weights once, in the layout of the kernel table run() uses.
 * Nodes reading the same W with the same groups share one packed buffer
 * (model pack cache): nothing else changes the packed bytes. */
static odet_status dc_pack(odet_node *node, const odet_tensor *const *constants,
                           odet_pack_cache *cache, uint32_t *replaced, char *err, size_t errlen)
{
    dc_params *p = node->params;
    const odet_tensor *W = p && p->iw < node->n_in ? constants[p->iw] : NULL;
    if (!W || p->pack_buf || W->dtype != ODET_FLOAT || W->rank != 4 || !W->data)
        return ODET_OK;
    const int64_t M = W->dims[0], Kc = W->dims[1] * W->dims[2] * W->dims[3];
    if (M <= 0 || Kc <= 0 || M % p->group)
        return ODET_OK; /* infer reports bad shapes */
    const odet_kernels *kern = odet_kernels_get();
    const int64_t Mg = M / p->group;
    const size_t per = kern->f32_gemm_packed_size(Mg, Kc);
    const size_t bytes = per * (size_t)p->group;
    odet_pack_key key;
    odet_pack_key_init(&key, node->in[p->iw], kern, "DeformConv");
    key.p[0] = p->group;
    key.p[1] = Mg;
    key.p[2] = Kc;
    odet_packed *buf = NULL;
    int fresh = 0;
    if (odet_packed_get(cache, &key, bytes, &buf, &fresh) != ODET_OK)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM,
                              "out of memory packing the weights (%zu bytes)", bytes);
    if (fresh) {
        const float *w = W->data;
        for (int64_t grp = 0; grp < p->group; grp++)
            kern->f32_gemm_pack_a(0, Mg, Kc, 1.0f, w + grp * Mg * Kc, Kc,
                                  buf->data + (size_t)grp * per, 1);
    }
    p->kern = kern;
    p->packed_src = W->data;
    p->pack_buf = buf;
    p->packed = buf->data;
    p->packed_per_group = per;
    p->packed_mg = Mg;
    p->packed_kc = Kc;
    p->packed_group = p->group;
    /* Mg, Kc and the groups depend on W and the attributes only: run() uses
     * this copy for every input size. */
    if (p->iw < 32)
        *replaced |= 1u << p->iw;
    return ODET_OK;
}

#define DEFORM_OP(type, dom, prep)                                                             \
    {                                                                                          \
        .op_type = type, .domain = dom, .min_opset = 1, .prepare = prep, .infer = dc_infer,    \
        .scratch = dc_scratch, .run = dc_run, .release = dc_release, .pack = dc_pack,          \
    }

const odet_op_def odet_ops_deform_conv[] = {
    DEFORM_OP("DeformConv", "", onnx_prepare),
    DEFORM_OP("MMCVDeformConv2d", "mmcv", mmcv_prepare),
    DEFORM_OP("MMCVDeformConv2d", "mmdeploy", mmcv_prepare),
    DEFORM_OP("MMCVModulatedDeformConv2d", "mmcv", mmcv_mod_prepare),
    DEFORM_OP("MMCVModulatedDeformConv2d", "mmdeploy", mmcv_mod_prepare),
    {0},
};
