/* Conv (opsets 1 and 11): convolution over [N, C, D1..Dn] tensors, n = 1..3.
 *
 * Three paths, all float32:
 *   pointwise  1x1 kernel, stride 1, no padding: Y_g = W_g * X_g, one GEMM.
 *   depthwise  one input channel per group (C/group == 1): direct loops.
 *   general    im2col of a block of output positions into scratch, then GEMM.
 *
 * The GEMM paths pack each group's weights once per run (into scratch) with
 * the kernel table's f32_gemm_pack_a and reuse them for every batch and block.
 *
 * Geometry is normalised to three spatial dims (leading dims of size 1), so
 * one loop nest serves Conv1D, Conv2D and Conv3D.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "ops/op.h"

#define CONV_MAX_SP 3
/* Target size of one im2col block; the block holds at least COL_MIN_COLS columns. */
#define COL_BLOCK_BYTES ((size_t)2 << 20)
#define COL_MIN_COLS 256

typedef enum conv_autopad {
    AUTOPAD_NOTSET,
    AUTOPAD_SAME_UPPER,
    AUTOPAD_SAME_LOWER,
    AUTOPAD_VALID
} conv_autopad;

typedef struct conv_params {
    conv_autopad auto_pad;
    int64_t group;
    /* Attribute lengths; 0 when the attribute is absent. */
    int n_kernel, n_strides, n_dil, n_pads;
    int64_t kernel[CONV_MAX_SP];
    int64_t strides[CONV_MAX_SP];
    int64_t dil[CONV_MAX_SP];
    int64_t pads[2 * CONV_MAX_SP];
} conv_params;

/* Resolved shapes of one Conv call, spatial dims normalised to 3 (index 0 = depth). */
typedef struct conv_geom {
    int nsp; /* spatial rank of the node: 1..3 */
    int64_t N, C, M, group, Cg, Mg;
    int64_t in[3], k[3], out[3], stride[3], dil[3], pad[3];
    int64_t in_sp, k_sp, out_sp; /* products over the spatial dims */
    int64_t Kc;                  /* Cg * k_sp: GEMM depth */
} conv_geom;

/* Read an optional ints attribute of at most `max` values, each >= min_value. */
static odet_status parse_ints(const odet_node *node, const char *name, int64_t *dst, int max,
                              int *count, int64_t min_value, char *err, size_t errlen)
{
    size_t n = 0;
    const int64_t *v = odet_attr_ints(node, name, &n);
    *count = 0;
    if (!v || n == 0)
        return ODET_OK;
    if (n > (size_t)max)
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "attribute '%s' has %zu values; at most %d spatial dims are "
                              "supported",
                              name, n, CONV_MAX_SP);
    for (size_t i = 0; i < n; i++) {
        if (v[i] < min_value)
            return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                                  "attribute '%s'[%zu] = %lld must be >= %lld", name, i,
                                  (long long)v[i], (long long)min_value);
        dst[i] = v[i];
    }
    *count = (int)n;
    return ODET_OK;
}

static odet_status conv_prepare(odet_node *node, char *err, size_t errlen)
{
    conv_params p;
    memset(&p, 0, sizeof p);
    const char *ap = odet_attr_string(node, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") == 0 || ap[0] == '\0')
        p.auto_pad = AUTOPAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        p.auto_pad = AUTOPAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        p.auto_pad = AUTOPAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        p.auto_pad = AUTOPAD_VALID;
    else
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "auto_pad '%s' is not supported", ap);
    p.group = odet_attr_int(node, "group", 1);
    if (p.group < 1)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "group = %lld must be >= 1", (long long)p.group);
    odet_status st;
    if ((st = parse_ints(node, "kernel_shape", p.kernel, CONV_MAX_SP, &p.n_kernel, 1, err,
                         errlen)) != ODET_OK ||
        (st = parse_ints(node, "strides", p.strides, CONV_MAX_SP, &p.n_strides, 1, err,
                         errlen)) != ODET_OK ||
        (st = parse_ints(node, "dilations", p.dil, CONV_MAX_SP, &p.n_dil, 1, err, errlen)) !=
            ODET_OK ||
        (st = parse_ints(node, "pads", p.pads, 2 * CONV_MAX_SP, &p.n_pads, 0, err, errlen)) !=
            ODET_OK)
        return st;
    if (p.n_pads % 2)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "pads has %d values; expected 2 per spatial dim", p.n_pads);
    conv_params *copy = malloc(sizeof *copy);
    if (!copy)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    *copy = p;
    node->params = copy;
    return ODET_OK;
}

/* Resolve shapes from the inputs' dims (never their data). */
static odet_status conv_geometry(const odet_op_ctx *ctx, conv_geom *g)
{
    const conv_params *p = ctx->params;
    const odet_tensor *X = ctx->in[0], *W = ctx->n_in > 1 ? ctx->in[1] : NULL;
    const odet_tensor *B = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!X || !W)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "inputs 'X' and 'W' are required");
    if (X->rank < 3 || X->rank > 2 + CONV_MAX_SP)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input 0 'X' must be rank 3 to 5 (1 to 3 spatial dims), got rank %d",
                            X->rank);
    int nsp = X->rank - 2;
    if (W->rank != X->rank)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 1 'W' must be rank %d like 'X', got rank %d", X->rank, W->rank);
    if ((p->n_kernel && p->n_kernel != nsp) || (p->n_strides && p->n_strides != nsp) ||
        (p->n_dil && p->n_dil != nsp) || (p->n_pads && p->n_pads != 2 * nsp))
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "kernel_shape/strides/dilations/pads do not match %d spatial dims",
                            nsp);
    memset(g, 0, sizeof *g);
    g->nsp = nsp;
    g->N = X->dims[0];
    g->C = X->dims[1];
    g->M = W->dims[0];
    g->group = p->group;
    g->Cg = W->dims[1];
    if (g->Cg * g->group != g->C)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 1 'W' has %lld input channels per group; 'X' has %lld channels "
                            "and group = %lld",
                            (long long)g->Cg, (long long)g->C, (long long)g->group);
    if (g->M % g->group)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 1 'W' has %lld output channels, not a multiple of group = %lld",
                            (long long)g->M, (long long)g->group);
    g->Mg = g->M / g->group;
    if (B && (B->rank != 1 || B->dims[0] != g->M))
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 2 'B' must have shape [%lld]",
                            (long long)g->M);
    g->in_sp = g->k_sp = g->out_sp = 1;
    for (int d = 0; d < 3; d++) {
        g->in[d] = g->k[d] = g->out[d] = g->stride[d] = g->dil[d] = 1;
        g->pad[d] = 0;
    }
    for (int i = 0; i < nsp; i++) {
        int d = 3 - nsp + i;
        int64_t in = X->dims[2 + i], k = W->dims[2 + i];
        if (p->n_kernel && p->kernel[i] != k)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "kernel_shape[%d] = %lld does not match input 1 'W' dim %d = %lld",
                                i, (long long)p->kernel[i], 2 + i, (long long)k);
        int64_t s = p->n_strides ? p->strides[i] : 1;
        int64_t dl = p->n_dil ? p->dil[i] : 1;
        int64_t eff = (k - 1) * dl + 1, out, pb = 0;
        if (k < 1 && in > 0)
            return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 1 'W' has an empty kernel");
        switch (p->auto_pad) {
        case AUTOPAD_NOTSET: {
            pb = p->n_pads ? p->pads[i] : 0;
            int64_t pe = p->n_pads ? p->pads[nsp + i] : 0;
            int64_t span = in + pb + pe - eff;
            if (span < 0)
                return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                    "spatial dim %d: padded input %lld is smaller than the "
                                    "dilated kernel %lld",
                                    i, (long long)(in + pb + pe), (long long)eff);
            out = span / s + 1;
            break;
        }
        case AUTOPAD_VALID:
            if (in < eff)
                return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                    "spatial dim %d: input %lld is smaller than the dilated "
                                    "kernel %lld",
                                    i, (long long)in, (long long)eff);
            out = (in - eff) / s + 1;
            break;
        default: {
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + eff - in;
            if (total < 0)
                total = 0;
            pb = p->auto_pad == AUTOPAD_SAME_UPPER ? total / 2 : total - total / 2;
            break;
        }
        }
        g->in[d] = in;
        g->k[d] = k;
        g->out[d] = out;
        g->stride[d] = s;
        g->dil[d] = dl;
        g->pad[d] = pb;
        g->in_sp *= in;
        g->k_sp *= k;
        g->out_sp *= out;
    }
    g->Kc = g->Cg * g->k_sp;
    return ODET_OK;
}

static int is_pointwise(const conv_geom *g)
{
    for (int d = 0; d < 3; d++)
        if (g->k[d] != 1 || g->stride[d] != 1 || g->pad[d] != 0 || g->in[d] != g->out[d])
            return 0;
    return 1;
}

static int is_depthwise(const conv_geom *g)
{
    return g->Cg == 1;
}

/* Columns per im2col block. */
static int64_t col_block(const conv_geom *g)
{
    int64_t nb = (int64_t)(COL_BLOCK_BYTES / sizeof(float)) / (g->Kc > 0 ? g->Kc : 1);
    nb = nb / 32 * 32;
    if (nb < COL_MIN_COLS)
        nb = COL_MIN_COLS;
    return nb < g->out_sp ? nb : g->out_sp;
}

static odet_status conv_infer(odet_op_ctx *ctx)
{
    const odet_tensor *X = ctx->in[0];
    for (int i = 0; i < 3 && i < ctx->n_in; i++) {
        static const char *const names[] = {"X", "W", "B"};
        if (ctx->in[i] && ctx->in[i]->dtype != ODET_FLOAT)
            return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                                "input %d '%s' has dtype %s; only float is supported", i, names[i],
                                odet_dtype_name(ctx->in[i]->dtype));
    }
    conv_geom g;
    odet_status st = conv_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    int64_t dims[ODET_MAX_RANK];
    dims[0] = g.N;
    dims[1] = g.M;
    for (int i = 0; i < g.nsp; i++)
        dims[2 + i] = g.out[3 - g.nsp + i];
    odet_set_shape(ctx->out[0], ODET_FLOAT, X->rank, dims);
    return ODET_OK;
}

/* Scratch layout: the weights of every group packed for the GEMM, then one
 * im2col block. Both parts are multiples of 64 bytes. */
typedef struct conv_scratch_layout {
    size_t packed_per_group, packed, col;
} conv_scratch_layout;

static conv_scratch_layout scratch_layout(const conv_geom *g)
{
    conv_scratch_layout l = {0, 0, 0};
    if (is_depthwise(g))
        return l;
    const odet_kernels *kern = odet_kernels_get();
    l.packed_per_group = kern->f32_gemm_packed_size(g->Mg, g->Kc);
    l.packed = l.packed_per_group * (size_t)g->group;
    if (!is_pointwise(g))
        l.col = ((size_t)g->Kc * (size_t)col_block(g) * sizeof(float) + 63) / 64 * 64;
    return l;
}

static size_t conv_scratch(const odet_op_ctx *ctx)
{
    conv_geom g;
    char err[8];
    odet_op_ctx c = *ctx;
    c.err = err;
    c.errlen = sizeof err;
    if (conv_geometry(&c, &g) != ODET_OK)
        return 0;
    conv_scratch_layout l = scratch_layout(&g);
    return l.packed + l.col;
}

/* First index i >= 0 with i * s + off >= 0, and one past the last with i * s + off < n,
 * clamped to [0, count]. */
static void valid_range(int64_t off, int64_t s, int64_t n, int64_t count, int64_t *lo,
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

/* im2col of output positions [p0, p0 + nb) of one group: col[r][j] for r over
 * (c, kd, kh, kw) and j over positions; zero where the window reads padding. */
static void im2col(const conv_geom *g, const float *x, int64_t p0, int64_t nb, float *col,
                   int threads)
{
    const int64_t OH = g->out[1], OW = g->out[2];
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t KH = g->k[1], KW = g->k[2];
#pragma omp parallel for num_threads(threads) if (g->Kc * nb > 32768) schedule(static)
    for (int64_t r = 0; r < g->Kc; r++) {
        int64_t c = r / g->k_sp, kk = r % g->k_sp;
        int64_t kd = kk / (KH * KW), kh = kk / KW % KH, kw = kk % KW;
        const float *xc = x + c * g->in_sp;
        float *dst = col + r * nb;
        int64_t ow = p0 % OW, oh = p0 / OW % OH, od = p0 / (OW * OH);
        int64_t off = kw * g->dil[2] - g->pad[2];
        for (int64_t j = 0; j < nb;) {
            int64_t run = OW - ow < nb - j ? OW - ow : nb - j;
            int64_t id = od * g->stride[0] - g->pad[0] + kd * g->dil[0];
            int64_t ih = oh * g->stride[1] - g->pad[1] + kh * g->dil[1];
            float *o = dst + j; /* o[t - ow] for output columns t in [ow, ow + run) */
            if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
                memset(o, 0, (size_t)run * sizeof(float));
            } else {
                const float *xr = xc + (id * IH + ih) * IW;
                const int64_t s = g->stride[2];
                int64_t lo, hi;
                valid_range(off, s, IW, ow + run, &lo, &hi);
                if (lo < ow)
                    lo = ow;
                if (hi < lo)
                    hi = lo;
                for (int64_t t = ow; t < lo; t++)
                    o[t - ow] = 0.0f;
                if (s == 1) {
                    memcpy(o + (lo - ow), xr + lo + off, (size_t)(hi - lo) * sizeof(float));
                } else {
                    for (int64_t t = lo; t < hi; t++)
                        o[t - ow] = xr[t * s + off];
                }
                for (int64_t t = hi; t < ow + run; t++)
                    o[t - ow] = 0.0f;
            }
            j += run;
            ow = 0;
            if (++oh == OH) {
                oh = 0;
                od++;
            }
        }
    }
}

/* Direct convolution for one input channel per group (depthwise and friends). */
static void conv_depthwise(const conv_geom *g, const float *X, const float *W, const float *B,
                           float *Y, int threads)
{
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const int64_t planes = g->N * g->M;
#pragma omp parallel for num_threads(threads) if (planes * g->out_sp * g->k_sp > 32768) \
    schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        int64_t n = pl / g->M, m = pl % g->M;
        const float *x = X + (n * g->C + m / g->Mg) * g->in_sp;
        const float *w = W + m * g->k_sp;
        float *y = Y + pl * g->out_sp;
        float b = B ? B[m] : 0.0f;
        for (int64_t i = 0; i < g->out_sp; i++)
            y[i] = b;
        for (int64_t od = 0; od < OD; od++) {
            for (int64_t kd = 0; kd < KD; kd++) {
                int64_t id = od * g->stride[0] - g->pad[0] + kd * g->dil[0];
                if (id < 0 || id >= ID)
                    continue;
                for (int64_t oh = 0; oh < OH; oh++) {
                    float *yr = y + (od * OH + oh) * OW;
                    for (int64_t kh = 0; kh < KH; kh++) {
                        int64_t ih = oh * g->stride[1] - g->pad[1] + kh * g->dil[1];
                        if (ih < 0 || ih >= IH)
                            continue;
                        const float *xr = x + (id * IH + ih) * IW;
                        const float *wr = w + (kd * KH + kh) * KW;
                        for (int64_t kw = 0; kw < KW; kw++) {
                            float wv = wr[kw];
                            int64_t off = kw * g->dil[2] - g->pad[2], lo, hi;
                            valid_range(off, g->stride[2], IW, OW, &lo, &hi);
                            if (g->stride[2] == 1) {
                                for (int64_t ow = lo; ow < hi; ow++)
                                    yr[ow] += wv * xr[ow + off];
                            } else {
                                for (int64_t ow = lo; ow < hi; ow++)
                                    yr[ow] += wv * xr[ow * g->stride[2] + off];
                            }
                        }
                    }
                }
            }
        }
    }
}

static odet_status conv_run(odet_op_ctx *ctx)
{
    conv_geom g;
    odet_status st = conv_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    const float *X = ctx->in[0]->data, *W = ctx->in[1]->data;
    const float *B = ctx->n_in > 2 && ctx->in[2] ? ctx->in[2]->data : NULL;
    float *Y = ctx->out[0]->data;
    if (g.N == 0 || g.M == 0 || g.out_sp == 0)
        return ODET_OK;
    if (is_depthwise(&g)) {
        conv_depthwise(&g, X, W, B, Y, ctx->threads);
        return ODET_OK;
    }
    const odet_kernels *kern = odet_kernels_get();
    const int pointwise = is_pointwise(&g);
    const int64_t nb_max = pointwise ? g.out_sp : col_block(&g);
    const conv_scratch_layout l = scratch_layout(&g);
    if (!ctx->scratch || ctx->scratch_bytes < l.packed + l.col)
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch buffer missing or too small");
    char *packed = ctx->scratch;
    float *col = (float *)(void *)(packed + l.packed);
    /* Weights are packed once per run and reused for every batch and column block. */
    for (int64_t grp = 0; grp < g.group; grp++)
        kern->f32_gemm_pack_a(0, g.Mg, g.Kc, 1.0f, W + grp * g.Mg * g.Kc, g.Kc,
                              packed + (size_t)grp * l.packed_per_group, ctx->threads);
    for (int64_t n = 0; n < g.N; n++) {
        for (int64_t grp = 0; grp < g.group; grp++) {
            const float *x = X + (n * g.C + grp * g.Cg) * g.in_sp;
            const void *w = packed + (size_t)grp * l.packed_per_group;
            float *y = Y + (n * g.M + grp * g.Mg) * g.out_sp;
            float beta = 0.0f;
            if (B) {
                for (int64_t m = 0; m < g.Mg; m++) {
                    float b = B[grp * g.Mg + m];
                    float *yr = y + m * g.out_sp;
                    for (int64_t i = 0; i < g.out_sp; i++)
                        yr[i] = b;
                }
                beta = 1.0f;
            }
            if (pointwise) {
                kern->f32_gemm_packed(0, g.Mg, g.out_sp, g.Cg, w, x, g.in_sp, beta, y, g.out_sp,
                                      ctx->threads);
                continue;
            }
            for (int64_t p0 = 0; p0 < g.out_sp; p0 += nb_max) {
                int64_t nb = g.out_sp - p0 < nb_max ? g.out_sp - p0 : nb_max;
                im2col(&g, x, p0, nb, col, ctx->threads);
                kern->f32_gemm_packed(0, g.Mg, nb, g.Kc, w, col, nb, beta, y + p0, g.out_sp,
                                      ctx->threads);
            }
        }
    }
    return ODET_OK;
}

const odet_op_def odet_ops_conv[] = {
    {
        .op_type = "Conv",
        .domain = "",
        .min_opset = 1,
        .prepare = conv_prepare,
        .infer = conv_infer,
        .scratch = conv_scratch,
        .run = conv_run,
    },
    {0},
};
