/* Conv (opsets 1 and 11): convolution over [N, C, D1..Dn] tensors, n = 1..3.
 *
 * Three paths, all float32:
 *   depthwise  one input channel per group (C/group == 1): direct loops.
 *   Winograd   3x3, stride 1, no dilation, 2-D, enough channels: F(4x4, 3x3)
 *              (f32_wino43_conv), when the kernel table has it.
 *   GEMM       Y_g = epilogue(W_g * im2col(X_g)) per batch item and group, one
 *              weights-stationary GEMM (f32_gemm_packed_ex). The im2col columns
 *              are never materialised: the GEMM kernels gather their B
 *              panels straight from the input (implicit GEMM, see
 *              kernels/im2col.h); a 1x1 stride-1 unpadded kernel reads X
 *              itself as the matrix.
 *
 * Weights: packed in the GEMM's (or transformed to Winograd's) layout once at
 * load by the pack hook when W is a model constant (then shared read-only by
 * everything that runs the model; nodes packing the same W in the same layout
 * share one buffer through the model's pack cache), else per run into scratch. When the packed
 * layout cannot depend on the input shape (always for 1-D and 2-D; for 3-D
 * unless a 1x3x3 kernel could go Winograd on a depth-1 input), the hook
 * reports W as replaced and the runtime may release W's data: run() then
 * sees W->data == NULL and uses the packed copy only.
 *
 * The epilogue adds the bias and, when a load-time pass fused them (internal
 * attributes, see passes/fuse_conv_act.c), a residual input 3 and an
 * activation:
 *   odet.activation        "Relu" | "LeakyRelu" | "Clip" | "Sigmoid" |
 *                          "HardSigmoid" | "HardSwish" | "Silu"
 *   odet.activation_alpha  LeakyRelu alpha, Clip min, HardSigmoid alpha
 *   odet.activation_beta   Clip max, HardSigmoid beta
 *   odet.residual          1: input 3 is added before the activation (in the
 *                          epilogue when it has the shape of the convolution,
 *                          else broadcast afterwards: the result then has the
 *                          broadcast shape)
 *
 * Geometry is normalised to three spatial dims (leading dims of size 1), so
 * one loop nest serves Conv1D, Conv2D and Conv3D.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/im2col.h"
#include "kernels/kernels.h"
#include "ops/op.h"

#define CONV_MAX_SP 3
/* Fewest channels per group (in and out) for the Winograd path: below that
 * its transforms cost more than the multiplications they save. */
#define WINO_MIN_CHANNELS 8

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
    /* Fused epilogue. */
    odet_act act;
    float act_a, act_b;
    int residual;
    /* Weights packed at load (pack hook), or NULL: packed_per_group bytes per
     * group at `packed`, made by `kern` from the tensor whose data is
     * `packed_src`, for Winograd when packed_wino. replaces_w: the pack hook
     * reported W as replaced, so a W whose data was released (NULL) is that
     * tensor. `packed` is the data of pack_buf (one reference held here),
     * which other nodes packing the same W alike share read-only. */
    int packed_wino;
    int replaces_w;
    const odet_kernels *kern;
    const void *packed_src;
    odet_packed *pack_buf;
    const char *packed;
    size_t packed_per_group;
    int64_t packed_mg, packed_kc, packed_group;
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
    const char *act = odet_attr_string(node, "odet.activation", NULL);
    p.act = ODET_ACT_NONE;
    if (act && odet_act_from_name(act, &p.act) != 0)
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "fused activation '%s' is not supported", act);
    p.act_a = odet_attr_float(node, "odet.activation_alpha", 0.0f);
    p.act_b = odet_attr_float(node, "odet.activation_beta", 0.0f);
    p.residual = odet_attr_int(node, "odet.residual", 0) != 0;
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
    if (ctx->n_in > 3 && !p->residual)
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "Conv takes at most 3 inputs, got %d",
                            ctx->n_in);
    if (p->residual && (ctx->n_in < 4 || !ctx->in[3]))
        return odet_op_fail(ctx, ODET_ERR_INVALID_ARG, "the fused residual input 3 is missing");
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

/* Dims of the convolution's own result. */
static void conv_dims(const conv_geom *g, int64_t *dims)
{
    dims[0] = g->N;
    dims[1] = g->M;
    for (int i = 0; i < g->nsp; i++)
        dims[2 + i] = g->out[3 - g->nsp + i];
}

/* Whether the fused residual has exactly the shape of the convolution's result
 * (the fast path: added in the GEMM epilogue). Otherwise it broadcasts. */
static int residual_exact(const odet_op_ctx *ctx, const conv_geom *g)
{
    const odet_tensor *R = ctx->in[3];
    int64_t dims[ODET_MAX_RANK];
    conv_dims(g, dims);
    if (R->rank != g->nsp + 2)
        return 0;
    for (int i = 0; i < R->rank; i++)
        if (R->dims[i] != dims[i])
            return 0;
    return 1;
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

/* Winograd F(4x4, 3x3) applies: a 2-D 3x3 stride-1 kernel without dilation. */
static int wino_shape(int64_t k0, int64_t k1, int64_t k2, const int64_t *stride,
                      const int64_t *dil, int64_t Cg, int64_t Mg)
{
    return k0 == 1 && k1 == 3 && k2 == 3 && stride[1] == 1 && stride[2] == 1 && dil[1] == 1 &&
           dil[2] == 1 && Cg >= WINO_MIN_CHANNELS && Mg >= WINO_MIN_CHANNELS &&
           odet_kernels_get()->f32_wino43_conv != NULL;
}

static int is_wino(const conv_geom *g)
{
    return g->in[0] == 1 && g->stride[0] == 1 && g->pad[0] == 0 &&
           wino_shape(g->k[0], g->k[1], g->k[2], g->stride, g->dil, g->Cg, g->Mg);
}

static odet_status conv_infer(odet_op_ctx *ctx)
{
    const odet_tensor *X = ctx->in[0];
    for (int i = 0; i < 4 && i < ctx->n_in; i++) {
        static const char *const names[] = {"X", "W", "B", "residual"};
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
    conv_dims(&g, dims);
    const conv_params *p = ctx->params;
    if (p->residual && !residual_exact(ctx, &g)) {
        /* Add broadcasts: the fused node's result has the broadcast shape. */
        const odet_tensor *R = ctx->in[3];
        int64_t bd[ODET_MAX_RANK];
        int rank;
        if (odet_broadcast_shape(X->rank, dims, R->rank, R->dims, &rank, bd) != 0)
            return odet_op_fail(ctx, ODET_ERR_SHAPE,
                                "the fused residual input 3 does not broadcast with the output");
        odet_set_shape(ctx->out[0], ODET_FLOAT, rank, bd);
        return ODET_OK;
    }
    odet_set_shape(ctx->out[0], ODET_FLOAT, X->rank, dims);
    return ODET_OK;
}

/* Weights packed at load for this W, or NULL. W == NULL: its data was
 * released after packing (only ever when the hook reported it replaced). */
static const conv_params *prepacked(const conv_params *p, const conv_geom *g, const float *W)
{
    if (!p->packed || (p->packed_src != (const void *)W && !(W == NULL && p->replaces_w)) ||
        p->kern != odet_kernels_get() ||
        p->packed_mg != g->Mg || p->packed_kc != g->Kc || p->packed_group != g->group ||
        p->packed_wino != is_wino(g))
        return NULL;
    return p;
}

/* Scratch layout: the weights of every group packed for the GEMM (unless
 * packed at load), then the GEMM's workspace. Both parts are multiples of 64. */
typedef struct conv_scratch_layout {
    int wino;
    size_t packed_per_group, packed, wtmp, ws, tmp;
} conv_scratch_layout;

static conv_scratch_layout scratch_layout(const conv_geom *g, const conv_params *p,
                                          const float *W, int residual_exact_flag, int threads)
{
    conv_scratch_layout l = {0, 0, 0, 0, 0, 0};
    if (p->residual && !residual_exact_flag) /* result first, then the broadcast add */
        l.tmp = ((size_t)(g->N * g->M * g->out_sp) * sizeof(float) + 63) / 64 * 64;
    if (is_depthwise(g))
        return l;
    const odet_kernels *kern = odet_kernels_get();
    l.wino = is_wino(g);
    if (l.wino) {
        l.packed_per_group = kern->f32_wino43_packed_size(g->Mg, g->Cg);
        l.ws = (kern->f32_wino43_ws(g->Mg, g->Cg, g->out[1], g->out[2], threads) + 63) / 64 * 64;
    } else {
        l.packed_per_group = kern->f32_gemm_packed_size(g->Mg, g->Kc);
        l.ws = (kern->f32_gemm_packed_ex_ws(g->Mg, g->out_sp, g->Kc, threads) + 63) / 64 * 64;
    }
    if (!prepacked(p, g, W)) {
        l.packed = l.packed_per_group * (size_t)g->group;
        if (l.wino)
            l.wtmp = ((size_t)(g->Mg * g->Cg) * sizeof(float) + 63) / 64 * 64;
    }
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
    const conv_params *p = ctx->params;
    conv_scratch_layout l = scratch_layout(&g, p, ctx->in[1]->data,
                                           p->residual ? residual_exact(ctx, &g) : 1,
                                           ctx->threads < 1 ? 1 : ctx->threads);
    return l.packed + l.wtmp + l.ws + l.tmp;
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

/* Direct convolution for one input channel per group (depthwise and friends). */
typedef struct dw_job {
    const conv_geom *g;
    odet_act act;
    float act_a, act_b;
    const float *X, *W, *B, *R;
    float *Y;
    int64_t per; /* planes per task */
} dw_job;

static void dw_planes(void *ctx, int64_t task, int worker)
{
    (void)worker;
    const dw_job *j = ctx;
    const conv_geom *g = j->g;
    const float *X = j->X, *W = j->W, *B = j->B, *R = j->R;
    float *Y = j->Y;
    const odet_act act = j->act;
    const float act_a = j->act_a, act_b = j->act_b;
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const int64_t planes = g->N * g->M;
    const odet_kernels *kern = odet_kernels_get();
    const int64_t p0 = task * j->per, p1 = p0 + j->per < planes ? p0 + j->per : planes;
    for (int64_t pl = p0; pl < p1; pl++) {
        int64_t n = pl / g->M, m = pl % g->M;
        const float *x = X + (n * g->C + m / g->Mg) * g->in_sp;
        const float *w = W + m * g->k_sp;
        float *y = Y + pl * g->out_sp;
        float b = B ? B[m] : 0.0f;
        if (R) {
            const float *r = R + pl * g->out_sp;
            for (int64_t i = 0; i < g->out_sp; i++)
                y[i] = b + r[i];
        } else {
            for (int64_t i = 0; i < g->out_sp; i++)
                y[i] = b;
        }
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
        if (act != ODET_ACT_NONE)
            kern->f32_bias_act(y, g->out_sp, 0.0f, act, act_a, act_b);
    }
}

static void conv_depthwise(const conv_geom *g, odet_act act, float act_a, float act_b,
                           const float *X, const float *W, const float *B, const float *R,
                           float *Y, int threads)
{
    const int64_t planes = g->N * g->M;
    if (planes * g->out_sp * g->k_sp <= 32768)
        threads = 1;
    const int64_t tasks = planes < 4 * (int64_t)threads ? planes : 4 * (int64_t)threads;
    dw_job j = {g, act, act_a, act_b, X, W, B, R, Y, (planes + tasks - 1) / tasks};
    odet_parallel_for(threads, (planes + j.per - 1) / j.per, dw_planes, &j);
}

/* Y = act(A + R) with numpy broadcasting of A (dims ad) and R to Y's shape. */
static void broadcast_add_act(const float *A, int rank, const int64_t *ad, const odet_tensor *R,
                              const odet_tensor *Yt, odet_act act, float act_a, float act_b)
{
    int64_t as[ODET_MAX_RANK], rs[ODET_MAX_RANK], idx[ODET_MAX_RANK] = {0};
    int64_t astr[ODET_MAX_RANK], rstr[ODET_MAX_RANK];
    const int yr = Yt->rank;
    odet_strides(rank, ad, as);
    odet_strides(R->rank, R->dims, rs);
    /* Strides aligned to Y's dims, 0 where a dim is broadcast. */
    for (int d = 0; d < yr; d++) {
        int da = d - (yr - rank), dr = d - (yr - R->rank);
        astr[d] = da >= 0 && ad[da] != 1 ? as[da] : 0;
        rstr[d] = dr >= 0 && R->dims[dr] != 1 ? rs[dr] : 0;
    }
    const float *r = R->data;
    float *y = Yt->data;
    const int64_t n = odet_tensor_numel(Yt);
    int64_t ao = 0, ro = 0;
    for (int64_t i = 0; i < n; i++) {
        y[i] = odet_f32_act(A[ao] + r[ro], act, act_a, act_b);
        for (int d = yr - 1; d >= 0; d--) {
            ao += astr[d];
            ro += rstr[d];
            if (++idx[d] < Yt->dims[d])
                break;
            ao -= astr[d] * Yt->dims[d];
            ro -= rstr[d] * Yt->dims[d];
            idx[d] = 0;
        }
    }
}

static odet_status conv_run(odet_op_ctx *ctx)
{
    const conv_params *p = ctx->params;
    conv_geom g;
    odet_status st = conv_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    const float *X = ctx->in[0]->data, *W = ctx->in[1]->data;
    const float *B = ctx->n_in > 2 && ctx->in[2] ? ctx->in[2]->data : NULL;
    const int threads = ctx->threads < 1 ? 1 : ctx->threads;
    if (g.N == 0 || g.M == 0 || g.out_sp == 0)
        return ODET_OK; /* a broadcast residual cannot make an empty result non-empty */
    if (!W && (is_depthwise(&g) || !prepacked(p, &g, W)))
        return odet_op_fail(ctx, ODET_ERR_INTERNAL,
                            "the weights were released at load but the packed copy does not "
                            "apply to this call");
    /* With a residual that broadcasts, the convolution goes to scratch first. */
    const int exact = !p->residual || residual_exact(ctx, &g);
    const conv_scratch_layout l = scratch_layout(&g, p, W, exact, threads);
    const size_t need = l.packed + l.wtmp + l.ws + l.tmp;
    if (need && (!ctx->scratch || ctx->scratch_bytes < need))
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch buffer missing or too small");
    char *sc = ctx->scratch;
    float *Y = exact ? ctx->out[0]->data : (float *)(void *)(sc + l.packed + l.wtmp + l.ws);
    const float *R = p->residual && exact ? ctx->in[3]->data : NULL;
    const odet_act act = exact ? p->act : ODET_ACT_NONE;
    if (is_depthwise(&g)) {
        conv_depthwise(&g, act, p->act_a, p->act_b, X, W, B, R, Y, threads);
    } else {
        const odet_kernels *kern = odet_kernels_get();
        const int pointwise = is_pointwise(&g);
        const char *packed;
        if (prepacked(p, &g, W)) {
            packed = p->packed;
        } else {
            /* W is computed at run time: pack it once for every batch item. */
            for (int64_t grp = 0; grp < g.group; grp++) {
                char *dst = sc + (size_t)grp * l.packed_per_group;
                if (l.wino)
                    kern->f32_wino43_pack(g.Mg, g.Cg, W + grp * g.Mg * g.Kc, dst,
                                          (float *)(void *)(sc + l.packed));
                else
                    kern->f32_gemm_pack_a(0, g.Mg, g.Kc, 1.0f, W + grp * g.Mg * g.Kc, g.Kc, dst,
                                          threads);
            }
            packed = sc;
        }
        void *ws = sc + l.packed + l.wtmp;
        for (int64_t n = 0; n < g.N; n++) {
            for (int64_t grp = 0; grp < g.group; grp++) {
                const float *x = X + (n * g.C + grp * g.Cg) * g.in_sp;
                const void *w = packed + (size_t)grp * l.packed_per_group;
                const int64_t yoff = (n * g.M + grp * g.Mg) * g.out_sp;
                const odet_f32_epilogue ep = {
                    .bias = B ? B + grp * g.Mg : NULL,
                    .residual = R ? R + yoff : NULL,
                    .ldr = g.out_sp,
                    .act = act,
                    .a = p->act_a,
                    .b = p->act_b,
                };
                if (l.wino) {
                    kern->f32_wino43_conv(g.Mg, g.Cg, x, g.in[1], g.in[2], g.pad[1], g.pad[2],
                                          g.out[1], g.out[2], w, Y + yoff, &ep, ws, threads);
                    continue;
                }
                odet_im2col ic;
                memset(&ic, 0, sizeof ic);
                odet_f32_bsrc src = {0};
                if (pointwise) {
                    src.B = x;
                    src.ldb = g.in_sp;
                } else {
                    ic.x = x;
                    ic.in_sp = g.in_sp;
                    for (int d = 0; d < 3; d++) {
                        ic.in[d] = g.in[d];
                        ic.k[d] = g.k[d];
                        ic.out[d] = g.out[d];
                        ic.stride[d] = g.stride[d];
                        ic.dil[d] = g.dil[d];
                        ic.pad[d] = g.pad[d];
                    }
                    src.conv = &ic;
                }
                kern->f32_gemm_packed_ex(g.Mg, g.out_sp, g.Kc, w, &src, Y + yoff, g.out_sp, &ep,
                                         ws, threads);
            }
        }
    }
    if (!exact) {
        int64_t dims[ODET_MAX_RANK];
        conv_dims(&g, dims);
        broadcast_add_act(Y, g.nsp + 2, dims, ctx->in[3], ctx->out[0], p->act, p->act_a,
                          p->act_b);
    }
    return ODET_OK;
}

static void conv_release(void *params)
{
    conv_params *p = params;
    if (p)
        odet_packed_unref(p->pack_buf);
    free(p);
}

/* Pack constant weights once, in the layout of the kernel table run() uses.
 * Nodes that read the same W with the same layout (kernel table, Winograd or
 * GEMM, groups) share one buffer through the model's pack cache: the packed
 * bytes depend on nothing else (strides, pads and dilations only pick the
 * layout). */
static odet_status conv_pack(odet_node *node, const odet_tensor *const *constants,
                             odet_pack_cache *cache, uint32_t *replaced, char *err,
                             size_t errlen)
{
    conv_params *p = node->params;
    const odet_tensor *W = node->n_in > 1 ? constants[1] : NULL;
    if (!p || p->pack_buf || !W || W->dtype != ODET_FLOAT || W->rank < 3 ||
        W->rank > 2 + CONV_MAX_SP || !W->data)
        return ODET_OK;
    const int64_t M = W->dims[0], Cg = W->dims[1];
    const int64_t Kc = Cg * odet_dims_prod(W->dims, 2, W->rank);
    if (M <= 0 || Kc <= 0 || Cg == 1 || M % p->group)
        return ODET_OK; /* depthwise or empty: nothing to pack; bad shapes fail in infer */
    const odet_kernels *kern = odet_kernels_get();
    const int64_t Mg = M / p->group;
    /* Winograd when run() will take that path (its choice does not depend on
     * the input size, only on W and the attributes). */
    int64_t st[3] = {1, 1, 1}, dl[3] = {1, 1, 1};
    for (int i = 0; i < W->rank - 2; i++) {
        st[3 - (W->rank - 2) + i] = p->n_strides ? p->strides[i] : 1;
        dl[3 - (W->rank - 2) + i] = p->n_dil ? p->dil[i] : 1;
    }
    const int wino =
        W->rank == 4 && wino_shape(1, W->dims[2], W->dims[3], st, dl, Cg, Mg);
    /* 1-D and 2-D: is_wino() at run time sees exactly these values, so the
     * packed layout is the one run() uses for every input size. 3-D: a 1xKxK
     * kernel goes Winograd when the input depth is 1 (and unpadded), GEMM
     * otherwise; only the GEMM layout is packed, so W must stay then. */
    const int fixed_layout =
        W->rank != 5 || !wino_shape(W->dims[2], W->dims[3], W->dims[4], st, dl, Cg, Mg);
    const size_t per =
        wino ? kern->f32_wino43_packed_size(Mg, Cg) : kern->f32_gemm_packed_size(Mg, Kc);
    const size_t bytes = per * (size_t)p->group;
    odet_pack_key key;
    odet_pack_key_init(&key, node->in[1], kern, "Conv");
    key.p[0] = wino;
    key.p[1] = p->group;
    key.p[2] = Mg;
    key.p[3] = Kc;
    /* Allocated first: a fresh cached buffer must not stay unfilled. */
    float *tmp = wino ? malloc((size_t)(Mg * Cg) * sizeof(float)) : NULL;
    odet_packed *buf = NULL;
    int fresh = 0;
    if ((wino && !tmp) || odet_packed_get(cache, &key, bytes, &buf, &fresh) != ODET_OK) {
        free(tmp);
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM,
                              "out of memory packing the weights (%zu bytes)", bytes);
    }
    if (fresh) {
        const float *w = W->data;
        for (int64_t grp = 0; grp < p->group; grp++) {
            char *dst = buf->data + (size_t)grp * per;
            if (wino)
                kern->f32_wino43_pack(Mg, Cg, w + grp * Mg * Kc, dst, tmp);
            else
                kern->f32_gemm_pack_a(0, Mg, Kc, 1.0f, w + grp * Mg * Kc, Kc, dst, 1);
        }
    }
    free(tmp);
    p->kern = kern;
    p->packed_src = W->data;
    p->pack_buf = buf;
    p->packed = buf->data;
    p->packed_per_group = per;
    p->packed_mg = Mg;
    p->packed_kc = Kc;
    p->packed_group = p->group;
    p->packed_wino = wino;
    p->replaces_w = fixed_layout;
    if (fixed_layout)
        *replaced |= 1u << 1;
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
        .release = conv_release,
        .pack = conv_pack,
    },
    {0},
};
