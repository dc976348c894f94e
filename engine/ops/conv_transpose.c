/* ConvTranspose (opsets 1 and 11): the adjoint of Conv over [N, C, D1..Dn], n = 1..3.
 *
 * Per batch and group: col[Mg * k, P] = W_g^T * X_g (one GEMM over a block of
 * input positions), then col2im scatters col into Y, which starts at the bias.
 * A 1x1 kernel with stride 1 and no padding is a plain GEMM into Y.
 * Geometry is normalised to three spatial dims (leading dims of size 1).
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "ops/op.h"

#define CT_MAX_SP 3
#define COL_BLOCK_BYTES ((size_t)2 << 20)
#define COL_MIN_COLS 256

typedef enum ct_autopad {
    AUTOPAD_NOTSET,
    AUTOPAD_SAME_UPPER,
    AUTOPAD_SAME_LOWER,
    AUTOPAD_VALID
} ct_autopad;

typedef struct ct_params {
    ct_autopad auto_pad;
    int64_t group;
    /* Attribute lengths; 0 when the attribute is absent. */
    int n_kernel, n_strides, n_dil, n_pads, n_outpad, n_outshape;
    int64_t kernel[CT_MAX_SP];
    int64_t strides[CT_MAX_SP];
    int64_t dil[CT_MAX_SP];
    int64_t pads[2 * CT_MAX_SP];
    int64_t outpad[CT_MAX_SP];
    int64_t outshape[CT_MAX_SP + 2];
} ct_params;

/* Resolved shapes, spatial dims normalised to 3 (index 0 = depth). */
typedef struct ct_geom {
    int nsp;
    int64_t N, C, M, group, Cg, Mg;
    int64_t in[3], k[3], out[3], stride[3], dil[3], pad[3];
    int64_t in_sp, k_sp, out_sp;
    int64_t R; /* Mg * k_sp: rows of col */
} ct_geom;

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
                              name, n, CT_MAX_SP);
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

static odet_status ct_prepare(odet_node *node, char *err, size_t errlen)
{
    ct_params p;
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
    if ((st = parse_ints(node, "kernel_shape", p.kernel, CT_MAX_SP, &p.n_kernel, 1, err,
                         errlen)) != ODET_OK ||
        (st = parse_ints(node, "strides", p.strides, CT_MAX_SP, &p.n_strides, 1, err,
                         errlen)) != ODET_OK ||
        (st = parse_ints(node, "dilations", p.dil, CT_MAX_SP, &p.n_dil, 1, err, errlen)) !=
            ODET_OK ||
        (st = parse_ints(node, "pads", p.pads, 2 * CT_MAX_SP, &p.n_pads, 0, err, errlen)) !=
            ODET_OK ||
        (st = parse_ints(node, "output_padding", p.outpad, CT_MAX_SP, &p.n_outpad, 0, err,
                         errlen)) != ODET_OK ||
        (st = parse_ints(node, "output_shape", p.outshape, CT_MAX_SP + 2, &p.n_outshape, 0, err,
                         errlen)) != ODET_OK)
        return st;
    if (p.n_pads % 2)
        return odet_node_fail(node, err, errlen, ODET_ERR_INVALID_ARG,
                              "pads has %d values; expected 2 per spatial dim", p.n_pads);
    ct_params *copy = malloc(sizeof *copy);
    if (!copy)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    *copy = p;
    node->params = copy;
    return ODET_OK;
}

static odet_status ct_geometry(const odet_op_ctx *ctx, ct_geom *g)
{
    const ct_params *p = ctx->params;
    const odet_tensor *X = ctx->in[0], *W = ctx->n_in > 1 ? ctx->in[1] : NULL;
    const odet_tensor *B = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!X || !W)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "inputs 'X' and 'W' are required");
    if (X->rank < 3 || X->rank > 2 + CT_MAX_SP)
        return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                            "input 0 'X' must be rank 3 to 5 (1 to 3 spatial dims), got rank %d",
                            X->rank);
    int nsp = X->rank - 2;
    if (W->rank != X->rank)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 1 'W' must be rank %d like 'X', got rank %d", X->rank, W->rank);
    if ((p->n_kernel && p->n_kernel != nsp) || (p->n_strides && p->n_strides != nsp) ||
        (p->n_dil && p->n_dil != nsp) || (p->n_pads && p->n_pads != 2 * nsp) ||
        (p->n_outpad && p->n_outpad != nsp) ||
        (p->n_outshape && p->n_outshape != nsp && p->n_outshape != nsp + 2))
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "kernel_shape/strides/dilations/pads/output_padding/output_shape do "
                            "not match %d spatial dims",
                            nsp);
    memset(g, 0, sizeof *g);
    g->nsp = nsp;
    g->N = X->dims[0];
    g->C = X->dims[1];
    g->group = p->group;
    if (W->dims[0] != g->C)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 1 'W' dim 0 = %lld must equal the channels of 'X' (%lld)",
                            (long long)W->dims[0], (long long)g->C);
    if (g->C % g->group)
        return odet_op_fail(ctx, ODET_ERR_SHAPE,
                            "input 0 'X' has %lld channels, not a multiple of group = %lld",
                            (long long)g->C, (long long)g->group);
    g->Cg = g->C / g->group;
    g->Mg = W->dims[1];
    g->M = g->Mg * g->group;
    if (B && (B->rank != 1 || B->dims[0] != g->M))
        return odet_op_fail(ctx, ODET_ERR_SHAPE, "input 2 'B' must have shape [%lld]",
                            (long long)g->M);
    g->in_sp = g->k_sp = g->out_sp = 1;
    for (int d = 0; d < 3; d++) {
        g->in[d] = g->k[d] = g->out[d] = g->stride[d] = g->dil[d] = 1;
        g->pad[d] = 0;
    }
    const int64_t *outshape = p->n_outshape ? p->outshape + (p->n_outshape - nsp) : NULL;
    for (int i = 0; i < nsp; i++) {
        int d = 3 - nsp + i;
        int64_t in = X->dims[2 + i], k = W->dims[2 + i];
        if (p->n_kernel && p->kernel[i] != k)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "kernel_shape[%d] = %lld does not match input 1 'W' dim %d = %lld",
                                i, (long long)p->kernel[i], 2 + i, (long long)k);
        int64_t s = p->n_strides ? p->strides[i] : 1;
        int64_t dl = p->n_dil ? p->dil[i] : 1;
        int64_t op = p->n_outpad ? p->outpad[i] : 0;
        int64_t eff = (k - 1) * dl + 1;
        /* Output size before any padding is removed. */
        int64_t full = s * (in > 0 ? in - 1 : 0) + op + eff;
        int64_t out, pb;
        if (outshape || p->auto_pad == AUTOPAD_SAME_UPPER || p->auto_pad == AUTOPAD_SAME_LOWER) {
            out = outshape ? outshape[i] : in * s;
            /* Extra output beyond `full` (total < 0) is left at the bias, at the end. */
            int64_t total = full - out > 0 ? full - out : 0;
            pb = p->auto_pad == AUTOPAD_SAME_UPPER ? total / 2 : total - total / 2;
        } else if (p->auto_pad == AUTOPAD_VALID) {
            out = full;
            pb = 0;
        } else {
            pb = p->n_pads ? p->pads[i] : 0;
            int64_t pe = p->n_pads ? p->pads[nsp + i] : 0;
            out = full - pb - pe;
            if (out < 0)
                return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                    "spatial dim %d: pads %lld + %lld exceed the output size %lld",
                                    i, (long long)pb, (long long)pe, (long long)full);
        }
        if (in == 0)
            out = outshape ? out : 0;
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
    g->R = g->Mg * g->k_sp;
    return ODET_OK;
}

static int is_pointwise(const ct_geom *g)
{
    for (int d = 0; d < 3; d++)
        if (g->k[d] != 1 || g->stride[d] != 1 || g->pad[d] != 0 || g->in[d] != g->out[d])
            return 0;
    return 1;
}

static int64_t col_block(const ct_geom *g)
{
    int64_t nb = (int64_t)(COL_BLOCK_BYTES / sizeof(float)) / (g->R > 0 ? g->R : 1);
    nb = nb / 32 * 32;
    if (nb < COL_MIN_COLS)
        nb = COL_MIN_COLS;
    return nb < g->in_sp ? nb : g->in_sp;
}

static odet_status ct_infer(odet_op_ctx *ctx)
{
    static const char *const names[] = {"X", "W", "B"};
    for (int i = 0; i < 3 && i < ctx->n_in; i++)
        if (ctx->in[i] && ctx->in[i]->dtype != ODET_FLOAT)
            return odet_op_fail(ctx, ODET_ERR_UNSUPPORTED,
                                "input %d '%s' has dtype %s; only float is supported", i, names[i],
                                odet_dtype_name(ctx->in[i]->dtype));
    ct_geom g;
    odet_status st = ct_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    int64_t dims[ODET_MAX_RANK];
    dims[0] = g.N;
    dims[1] = g.M;
    for (int i = 0; i < g.nsp; i++)
        dims[2 + i] = g.out[3 - g.nsp + i];
    odet_set_shape(ctx->out[0], ODET_FLOAT, ctx->in[0]->rank, dims);
    return ODET_OK;
}

/* Scratch layout: W_g^T of every group packed for the GEMM, then one column
 * block. Both parts are multiples of 64 bytes. */
typedef struct ct_scratch_layout {
    size_t packed_per_group, packed, col;
} ct_scratch_layout;

static ct_scratch_layout scratch_layout(const ct_geom *g)
{
    ct_scratch_layout l;
    const odet_kernels *kern = odet_kernels_get();
    l.packed_per_group = kern->f32_gemm_packed_size(g->R, g->Cg);
    l.packed = l.packed_per_group * (size_t)g->group;
    l.col = is_pointwise(g)
                ? 0
                : ((size_t)g->R * (size_t)col_block(g) * sizeof(float) + 63) / 64 * 64;
    return l;
}

static size_t ct_scratch(const odet_op_ctx *ctx)
{
    ct_geom g;
    char err[8];
    odet_op_ctx c = *ctx;
    c.err = err;
    c.errlen = sizeof err;
    if (ct_geometry(&c, &g) != ODET_OK)
        return 0;
    ct_scratch_layout l = scratch_layout(&g);
    return l.packed + l.col;
}

/* Index range [lo, hi) of i in [0, count) with 0 <= i * s + off < n. */
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

/* Scatter-add col[(m, kd, kh, kw)][j], j over input positions [p0, p0 + nb), into y. */
static void col2im(const ct_geom *g, const float *col, int64_t p0, int64_t nb, float *y,
                   int threads)
{
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const int64_t IH = g->in[1], IW = g->in[2];
    const int64_t KH = g->k[1], KW = g->k[2];
#pragma omp parallel for num_threads(threads) if (g->R * nb > 32768) schedule(static)
    for (int64_t m = 0; m < g->Mg; m++) {
        float *ym = y + m * g->out_sp;
        for (int64_t kk = 0; kk < g->k_sp; kk++) {
            int64_t kd = kk / (KH * KW), kh = kk / KW % KH, kw = kk % KW;
            const float *src = col + (m * g->k_sp + kk) * nb;
            int64_t iw = p0 % IW, ih = p0 / IW % IH, id = p0 / (IW * IH);
            int64_t off = kw * g->dil[2] - g->pad[2];
            for (int64_t j = 0; j < nb;) {
                int64_t run = IW - iw < nb - j ? IW - iw : nb - j;
                int64_t od = id * g->stride[0] - g->pad[0] + kd * g->dil[0];
                int64_t oh = ih * g->stride[1] - g->pad[1] + kh * g->dil[1];
                if (od >= 0 && od < OD && oh >= 0 && oh < OH) {
                    float *yr = ym + (od * OH + oh) * OW;
                    const float *s = src + j; /* s[t - iw] for input columns t in [iw, iw+run) */
                    int64_t lo, hi;
                    valid_range(off, g->stride[2], OW, iw + run, &lo, &hi);
                    if (lo < iw)
                        lo = iw;
                    for (int64_t t = lo; t < hi; t++)
                        yr[t * g->stride[2] + off] += s[t - iw];
                }
                j += run;
                iw = 0;
                if (++ih == IH) {
                    ih = 0;
                    id++;
                }
            }
        }
    }
}

static odet_status ct_run(odet_op_ctx *ctx)
{
    ct_geom g;
    odet_status st = ct_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    const float *X = ctx->in[0]->data, *W = ctx->in[1]->data;
    const float *B = ctx->n_in > 2 && ctx->in[2] ? ctx->in[2]->data : NULL;
    float *Y = ctx->out[0]->data;
    if (g.N == 0 || g.M == 0 || g.out_sp == 0)
        return ODET_OK;
    const odet_kernels *kern = odet_kernels_get();
    const int pointwise = is_pointwise(&g);
    const int64_t nb_max = pointwise ? g.in_sp : col_block(&g);
    const ct_scratch_layout l = scratch_layout(&g);
    if (!ctx->scratch || ctx->scratch_bytes < l.packed + l.col)
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch buffer missing or too small");
    char *packed = ctx->scratch;
    float *col = (float *)(void *)(packed + l.packed);
    /* W_g is [Cg, Mg * k]; the GEMM needs its transpose, packed once per run. */
    for (int64_t grp = 0; grp < g.group; grp++)
        kern->f32_gemm_pack_a(1, g.R, g.Cg, 1.0f, W + grp * g.Cg * g.R, g.R,
                              packed + (size_t)grp * l.packed_per_group, ctx->threads);
    for (int64_t n = 0; n < g.N; n++) {
        for (int64_t grp = 0; grp < g.group; grp++) {
            const float *x = X + (n * g.C + grp * g.Cg) * g.in_sp;
            const void *w = packed + (size_t)grp * l.packed_per_group;
            float *y = Y + (n * g.M + grp * g.Mg) * g.out_sp;
            for (int64_t m = 0; m < g.Mg; m++) {
                float b = B ? B[grp * g.Mg + m] : 0.0f;
                float *yr = y + m * g.out_sp;
                for (int64_t i = 0; i < g.out_sp; i++)
                    yr[i] = b;
            }
            if (pointwise) {
                kern->f32_gemm_packed(0, g.Mg, g.in_sp, g.Cg, w, x, g.in_sp, 1.0f, y, g.out_sp,
                                      ctx->threads);
                continue;
            }
            for (int64_t p0 = 0; p0 < g.in_sp; p0 += nb_max) {
                int64_t nb = g.in_sp - p0 < nb_max ? g.in_sp - p0 : nb_max;
                kern->f32_gemm_packed(0, g.R, nb, g.Cg, w, x + p0, g.in_sp, 0.0f, col, nb,
                                      ctx->threads);
                col2im(&g, col, p0, nb, y, ctx->threads);
            }
        }
    }
    return ODET_OK;
}

const odet_op_def odet_ops_conv_transpose[] = {
    {
        .op_type = "ConvTranspose",
        .domain = "",
        .min_opset = 1,
        .prepare = ct_prepare,
        .infer = ct_infer,
        .scratch = ct_scratch,
        .run = ct_run,
    },
    {0},
};
