/* ConvTranspose (opsets 1 and 11): the adjoint of Conv over [N, C, D1..Dn], n = 1..3.
 *
 * Sub-pixel path (no dilation, at most 64 stride phases): the outputs whose
 * coordinates are congruent to (a0, a1, a2) modulo the strides form a phase,
 * and a phase is a plain stride-1 convolution of X with the taps
 * k = (a + pad) mod s, k + s, k + 2 s, ... (reversed, with a pad that may be
 * negative). Each phase is one implicit-GEMM convolution (kernels/im2col.h)
 * with the bias and the fused activation in its epilogue, written to scratch
 * and then interleaved into Y (written straight to Y when the stride is 1).
 * The phase weights are packed once at load when W is a model constant and
 * the pads do not depend on the input size; the packed phases then serve
 * every input size, so the pack hook reports W as replaced and the runtime
 * may release W's data (run() then sees W->data == NULL).
 *
 * Otherwise (dilation): col[Mg * k, P] = W_g^T * X_g per block of input
 * positions, col2im scatters col into Y (which starts at the bias), then the
 * activation. Geometry is normalised to three spatial dims (leading dims of
 * size 1). The activation comes from internal attributes set by a load-time
 * pass (see passes/fuse_conv_act.c): odet.activation, odet.activation_alpha,
 * odet.activation_beta.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/im2col.h"
#include "kernels/kernels.h"
#include "ops/op.h"

#define CT_MAX_SP 3
#define COL_BLOCK_BYTES ((size_t)2 << 20)
#define COL_MIN_COLS 256
/* Most stride phases of the sub-pixel path. */
#define CT_MAX_PHASES 64

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
    /* Fused activation. */
    odet_act act;
    float act_a, act_b;
    /* Phase weights packed at load (pack hook), or NULL: made by `kern` from the
     * tensor whose data is `packed_src`, for begin pads packed_pad. W's data
     * may have been released after packing (W->data == NULL then). `packed`
     * is the data of pack_buf (one reference held here), shared read-only
     * with other nodes packing the same W alike. */
    const odet_kernels *kern;
    const void *packed_src;
    odet_packed *pack_buf;
    const char *packed;
    int64_t packed_pad[3];
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
    const char *act = odet_attr_string(node, "odet.activation", NULL);
    p.act = ODET_ACT_NONE;
    if (act && (odet_act_from_name(act, &p.act) != 0 || p.act == ODET_ACT_NONE))
        return odet_node_fail(node, err, errlen, ODET_ERR_UNSUPPORTED,
                              "fused activation '%s' is not supported", act);
    p.act_a = odet_attr_float(node, "odet.activation_alpha", 0.0f);
    p.act_b = odet_attr_float(node, "odet.activation_beta", 0.0f);
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

/* ---- sub-pixel phases ---- */

typedef struct ct_phase {
    int64_t a[3];   /* output coordinate offset (mod stride) */
    int64_t k0[3];  /* first tap */
    int64_t T[3];   /* taps */
    int64_t Q[3];   /* outputs */
    int64_t pad[3]; /* begin pad of the phase convolution (may be negative) */
    int64_t Kc;     /* Cg * T0 * T1 * T2 */
    int64_t Qsp;    /* Q0 * Q1 * Q2 */
    size_t off;     /* byte offset of its packed weights within a group's block */
    int64_t yoff;   /* float offset of its outputs within a group's scratch block */
} ct_phase;

typedef struct ct_phases {
    int n;
    ct_phase ph[CT_MAX_PHASES];
    size_t per_group; /* packed bytes of one group, all phases */
    int64_t kc_max;
} ct_phases;

static int phase_ok(const ct_geom *g)
{
    int64_t n = 1;
    for (int d = 0; d < 3; d++) {
        if (g->dil[d] != 1)
            return 0;
        n *= g->stride[d];
    }
    return n <= CT_MAX_PHASES;
}

/* The phases for begin pads `pad` (the geometry's, or the ones packed at load). */
static void make_phases(const ct_geom *g, const int64_t *pad, const odet_kernels *kern,
                        ct_phases *P)
{
    P->n = 0;
    P->per_group = 0;
    P->kc_max = 0;
    int64_t yoff = 0;
    for (int64_t a0 = 0; a0 < g->stride[0]; a0++)
        for (int64_t a1 = 0; a1 < g->stride[1]; a1++)
            for (int64_t a2 = 0; a2 < g->stride[2]; a2++) {
                ct_phase *ph = &P->ph[P->n++];
                const int64_t a[3] = {a0, a1, a2};
                ph->Kc = g->Cg;
                ph->Qsp = 1;
                for (int d = 0; d < 3; d++) {
                    const int64_t s = g->stride[d], K = g->k[d], out = g->out[d];
                    ph->a[d] = a[d];
                    ph->Q[d] = a[d] < out ? (out - a[d] + s - 1) / s : 0;
                    ph->k0[d] = (a[d] + pad[d]) % s;
                    ph->T[d] = ph->k0[d] < K ? (K - ph->k0[d] + s - 1) / s : 0;
                    ph->pad[d] = ph->T[d] - 1 - (a[d] + pad[d] - ph->k0[d]) / s;
                    ph->Kc *= ph->T[d];
                    ph->Qsp *= ph->Q[d];
                }
                ph->off = P->per_group;
                ph->yoff = yoff;
                yoff += g->Mg * ph->Qsp;
                P->per_group += kern->f32_gemm_packed_size(g->Mg, ph->Kc);
                if (ph->Kc > P->kc_max)
                    P->kc_max = ph->Kc;
            }
}

/* Row-major [Mg, Kc] weights of phase ph for group grp, from W [C, Mg, k0, k1, k2]. */
static void phase_weights(const ct_geom *g, const ct_phase *ph, const float *W, int64_t grp,
                          float *out)
{
    const int64_t T0 = ph->T[0], T1 = ph->T[1], T2 = ph->T[2];
    for (int64_t m = 0; m < g->Mg; m++)
        for (int64_t c = 0; c < g->Cg; c++) {
            const float *w = W + ((grp * g->Cg + c) * g->Mg + m) * g->k_sp;
            float *o = out + m * ph->Kc + c * T0 * T1 * T2;
            for (int64_t t0 = 0; t0 < T0; t0++)
                for (int64_t t1 = 0; t1 < T1; t1++)
                    for (int64_t t2 = 0; t2 < T2; t2++) {
                        const int64_t k0 = ph->k0[0] + (T0 - 1 - t0) * g->stride[0];
                        const int64_t k1 = ph->k0[1] + (T1 - 1 - t1) * g->stride[1];
                        const int64_t k2 = ph->k0[2] + (T2 - 1 - t2) * g->stride[2];
                        *o++ = w[(k0 * g->k[1] + k1) * g->k[2] + k2];
                    }
        }
}

/* Pack the phase weights of every group into dst (P->per_group bytes per group). */
static void pack_phases(const ct_geom *g, const ct_phases *P, const odet_kernels *kern,
                        const float *W, float *tmp, char *dst)
{
    for (int64_t grp = 0; grp < g->group; grp++)
        for (int i = 0; i < P->n; i++) {
            const ct_phase *ph = &P->ph[i];
            if (ph->Kc == 0)
                continue;
            phase_weights(g, ph, W, grp, tmp);
            kern->f32_gemm_pack_a(0, g->Mg, ph->Kc, 1.0f, tmp, ph->Kc,
                                  dst + (size_t)grp * P->per_group + ph->off, 1);
        }
}

/* Pads the load-time packing assumed match the geometry's. */
static int prepacked(const ct_params *p, const ct_geom *g, const float *W)
{
    if (!p->packed || (p->packed_src != (const void *)W && W != NULL) ||
        p->kern != odet_kernels_get())
        return 0;
    for (int d = 0; d < 3; d++)
        if (p->packed_pad[d] != g->pad[d])
            return 0;
    return 1;
}

/* Scratch layout, all parts multiples of 64 bytes.
 * Phases: packed phase weights (unless packed at load) and one phase's
 * row-major weights, the GEMM workspace, the phase outputs of one group.
 * Columns: W_g^T of every group packed, then one column block. */
typedef struct ct_scratch_layout {
    int phases;
    int64_t chunk; /* output columns per GEMM task of the phases */
    size_t packed, wtmp, ws, ws_per, ytmp;
    size_t packed_per_group, col;
} ct_scratch_layout;

/* Columns per GEMM task: all phases are one parallel job of tasks that each
 * multiply one phase's weights by a chunk of its columns (a few per thread). */
static int64_t phase_chunk(const ct_geom *g, const ct_phases *P, int threads)
{
    int64_t qmax = 1;
    for (int i = 0; i < P->n; i++)
        if (P->ph[i].Qsp > qmax)
            qmax = P->ph[i].Qsp;
    if (threads <= 1)
        return qmax;
    const int64_t want = 4 * (int64_t)threads;
    int64_t chunk = (g->out_sp + want - 1) / want;
    chunk = (chunk + 63) / 64 * 64;
    return chunk < qmax ? chunk : qmax;
}

static size_t round64(size_t b)
{
    return (b + 63) / 64 * 64;
}

static ct_scratch_layout scratch_layout(const ct_geom *g, const ct_params *p, const float *W,
                                        int threads, ct_phases *P)
{
    ct_scratch_layout l;
    memset(&l, 0, sizeof l);
    const odet_kernels *kern = odet_kernels_get();
    if (phase_ok(g)) {
        l.phases = 1;
        make_phases(g, g->pad, kern, P);
        if (!prepacked(p, g, W)) {
            l.packed = round64(P->per_group * (size_t)g->group);
            l.wtmp = round64((size_t)(g->Mg * P->kc_max) * sizeof(float));
        }
        l.chunk = phase_chunk(g, P, threads);
        l.ws_per = round64(kern->f32_gemm_packed_ex_ws(g->Mg, l.chunk, P->kc_max, 1));
        l.ws = l.ws_per * (size_t)threads;
        if (P->n > 1)
            l.ytmp = round64((size_t)(g->Mg * g->out_sp) * sizeof(float));
        return l;
    }
    l.packed_per_group = kern->f32_gemm_packed_size(g->R, g->Cg);
    l.packed = l.packed_per_group * (size_t)g->group;
    l.col = is_pointwise(g) ? 0 : round64((size_t)g->R * (size_t)col_block(g) * sizeof(float));
    return l;
}

static size_t layout_bytes(const ct_scratch_layout *l)
{
    return l->packed + l->wtmp + l->ws + l->ytmp + l->col;
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
    ct_phases P;
    ct_scratch_layout l = scratch_layout(&g, ctx->params, ctx->in[1]->data,
                                         ctx->threads < 1 ? 1 : ctx->threads, &P);
    return layout_bytes(&l);
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
typedef struct c2i_job {
    const ct_geom *g;
    const float *col;
    int64_t p0, nb, per;
    float *y;
} c2i_job;

static void col2im_task(void *ctx, int64_t task, int worker)
{
    (void)worker;
    const c2i_job *jb = ctx;
    const ct_geom *g = jb->g;
    const float *col = jb->col;
    const int64_t p0 = jb->p0, nb = jb->nb;
    float *y = jb->y;
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const int64_t IH = g->in[1], IW = g->in[2];
    const int64_t KH = g->k[1], KW = g->k[2];
    const int64_t m0 = task * jb->per, m1 = m0 + jb->per < g->Mg ? m0 + jb->per : g->Mg;
    for (int64_t m = m0; m < m1; m++) {
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

/* Tasks of `per` channels, a few per thread (one thread for small work). */
static int64_t channel_tasks(int64_t channels, int64_t work, int *threads, int64_t *per)
{
    if (work <= 32768)
        *threads = 1;
    int64_t tasks = 4 * (int64_t)*threads;
    if (tasks > channels)
        tasks = channels;
    *per = (channels + tasks - 1) / tasks;
    return (channels + *per - 1) / *per;
}

static void col2im(const ct_geom *g, const float *col, int64_t p0, int64_t nb, float *y,
                   int threads)
{
    c2i_job j = {g, col, p0, nb, 0, y};
    int64_t n = channel_tasks(g->Mg, g->R * nb, &threads, &j.per);
    odet_parallel_for(threads, n, col2im_task, &j);
}

/* Interleave the phase outputs of one group (ytmp, phase after phase) into y. */
typedef struct scatter_job {
    const ct_geom *g;
    const ct_phases *P;
    const float *ytmp;
    float *y;
    int64_t per;
} scatter_job;

static void scatter_task(void *ctx, int64_t task, int worker)
{
    (void)worker;
    const scatter_job *j = ctx;
    const ct_geom *g = j->g;
    const ct_phases *P = j->P;
    const int64_t OH = g->out[1], OW = g->out[2], s2 = g->stride[2];
    const int64_t m0 = task * j->per, m1 = m0 + j->per < g->Mg ? m0 + j->per : g->Mg;
    for (int64_t m = m0; m < m1; m++) {
        float *ym = j->y + m * g->out_sp;
        for (int i = 0; i < P->n; i++) {
            const ct_phase *ph = &P->ph[i];
            const float *src = j->ytmp + ph->yoff + m * ph->Qsp;
            for (int64_t q0 = 0; q0 < ph->Q[0]; q0++)
                for (int64_t q1 = 0; q1 < ph->Q[1]; q1++) {
                    const int64_t o0 = q0 * g->stride[0] + ph->a[0];
                    const int64_t o1 = q1 * g->stride[1] + ph->a[1];
                    float *yr = ym + (o0 * OH + o1) * OW + ph->a[2];
                    for (int64_t q2 = 0; q2 < ph->Q[2]; q2++)
                        yr[q2 * s2] = src[q2];
                    src += ph->Q[2];
                }
        }
    }
}

static void scatter_phases(const ct_geom *g, const ct_phases *P, const float *ytmp, float *y,
                           int threads)
{
    scatter_job j = {g, P, ytmp, y, 0};
    int64_t n = channel_tasks(g->Mg, g->Mg * g->out_sp / 2, &threads, &j.per);
    odet_parallel_for(threads, n, scatter_task, &j);
}

/* The phase GEMMs of one batch item and group, as one parallel job. */
typedef struct phase_job {
    const ct_geom *g;
    const ct_phases *P;
    const odet_kernels *kern;
    const char *packed; /* this group's phase weights */
    const float *x;     /* this group's input */
    float *out;         /* ytmp (several phases) or y */
    const odet_f32_epilogue *ep;
    int64_t chunk;
    int64_t first[CT_MAX_PHASES + 1]; /* first task of each phase */
    char *ws;
    size_t ws_per;
} phase_job;

static void phase_task(void *ctx, int64_t task, int worker)
{
    const phase_job *j = ctx;
    const ct_geom *g = j->g;
    int i = 0;
    while (j->first[i + 1] <= task)
        i++;
    const ct_phase *ph = &j->P->ph[i];
    const int64_t c0 = (task - j->first[i]) * j->chunk;
    const int64_t nc = ph->Qsp - c0 < j->chunk ? ph->Qsp - c0 : j->chunk;
    odet_im2col ic;
    memset(&ic, 0, sizeof ic);
    ic.x = j->x;
    ic.in_sp = g->in_sp;
    ic.pos0 = c0;
    for (int d = 0; d < 3; d++) {
        ic.in[d] = g->in[d];
        ic.k[d] = ph->T[d];
        ic.out[d] = ph->Q[d];
        ic.stride[d] = 1;
        ic.dil[d] = 1;
        ic.pad[d] = ph->pad[d];
    }
    odet_f32_bsrc src = {0};
    if (ph->T[0] == 1 && ph->T[1] == 1 && ph->T[2] == 1 && ph->pad[0] == 0 && ph->pad[1] == 0 &&
        ph->pad[2] == 0 && ph->Qsp == g->in_sp && ph->Q[1] == g->in[1] && ph->Q[2] == g->in[2]) {
        src.B = j->x + c0; /* one tap reading X in place */
        src.ldb = g->in_sp;
    } else {
        src.conv = &ic;
    }
    float *dst = (j->P->n > 1 ? j->out + ph->yoff : j->out) + c0;
    j->kern->f32_gemm_packed_ex(g->Mg, nc, ph->Kc, j->packed + ph->off, &src, dst, ph->Qsp, j->ep,
                                j->ws + (size_t)worker * j->ws_per, 1);
}

static odet_status run_phases(odet_op_ctx *ctx, const ct_geom *g, const ct_phases *P,
                              const ct_scratch_layout *l, int threads)
{
    const ct_params *p = ctx->params;
    const float *X = ctx->in[0]->data, *W = ctx->in[1]->data;
    const float *B = ctx->n_in > 2 && ctx->in[2] ? ctx->in[2]->data : NULL;
    float *Y = ctx->out[0]->data;
    const odet_kernels *kern = odet_kernels_get();
    char *sc = ctx->scratch;
    const char *packed = p->packed;
    if (!prepacked(p, g, W)) {
        pack_phases(g, P, kern, W, (float *)(void *)(sc + l->packed), sc);
        packed = sc;
    }
    float *ytmp = (float *)(void *)(sc + l->packed + l->wtmp + l->ws);
    phase_job j;
    j.g = g;
    j.P = P;
    j.kern = kern;
    j.chunk = l->chunk;
    j.ws = sc + l->packed + l->wtmp;
    j.ws_per = l->ws_per;
    j.first[0] = 0;
    for (int i = 0; i < P->n; i++)
        j.first[i + 1] = j.first[i] + (P->ph[i].Qsp + l->chunk - 1) / l->chunk;
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t grp = 0; grp < g->group; grp++) {
            float *y = Y + (n * g->M + grp * g->Mg) * g->out_sp;
            const odet_f32_epilogue ep = {
                .bias = B ? B + grp * g->Mg : NULL,
                .act = p->act,
                .a = p->act_a,
                .b = p->act_b,
            };
            j.packed = packed + (size_t)grp * P->per_group;
            j.x = X + (n * g->C + grp * g->Cg) * g->in_sp;
            j.out = P->n > 1 ? ytmp : y;
            j.ep = &ep;
            odet_parallel_for(threads, j.first[P->n], phase_task, &j);
            if (P->n > 1)
                scatter_phases(g, P, ytmp, y, threads);
        }
    return ODET_OK;
}

static odet_status ct_run(odet_op_ctx *ctx)
{
    const ct_params *p = ctx->params;
    ct_geom g;
    odet_status st = ct_geometry(ctx, &g);
    if (st != ODET_OK)
        return st;
    const float *X = ctx->in[0]->data, *W = ctx->in[1]->data;
    const float *B = ctx->n_in > 2 && ctx->in[2] ? ctx->in[2]->data : NULL;
    float *Y = ctx->out[0]->data;
    const int threads = ctx->threads < 1 ? 1 : ctx->threads;
    if (g.N == 0 || g.M == 0 || g.out_sp == 0)
        return ODET_OK;
    const odet_kernels *kern = odet_kernels_get();
    ct_phases P;
    const ct_scratch_layout l = scratch_layout(&g, p, W, threads, &P);
    if (!W && !(l.phases && prepacked(p, &g, W)))
        return odet_op_fail(ctx, ODET_ERR_INTERNAL,
                            "the weights were released at load but the packed copy does not "
                            "apply to this call");
    if (layout_bytes(&l) && (!ctx->scratch || ctx->scratch_bytes < layout_bytes(&l)))
        return odet_op_fail(ctx, ODET_ERR_INTERNAL, "scratch buffer missing or too small");
    if (l.phases)
        return run_phases(ctx, &g, &P, &l, threads);
    const int pointwise = is_pointwise(&g);
    const int64_t nb_max = pointwise ? g.in_sp : col_block(&g);
    char *packed = ctx->scratch;
    float *col = (float *)(void *)(packed + l.packed);
    /* W_g is [Cg, Mg * k]; the GEMM needs its transpose, packed once per run. */
    for (int64_t grp = 0; grp < g.group; grp++)
        kern->f32_gemm_pack_a(1, g.R, g.Cg, 1.0f, W + grp * g.Cg * g.R, g.R,
                              packed + (size_t)grp * l.packed_per_group, threads);
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
                                      threads);
            } else {
                for (int64_t p0 = 0; p0 < g.in_sp; p0 += nb_max) {
                    int64_t nb = g.in_sp - p0 < nb_max ? g.in_sp - p0 : nb_max;
                    kern->f32_gemm_packed(0, g.R, nb, g.Cg, w, x + p0, g.in_sp, 0.0f, col, nb,
                                          threads);
                    col2im(&g, col, p0, nb, y, threads);
                }
            }
            if (p->act != ODET_ACT_NONE)
                kern->f32_bias_act(y, g.Mg * g.out_sp, 0.0f, p->act, p->act_a, p->act_b);
        }
    }
    return ODET_OK;
}

/* Parameters and their reference to the shared packed weights. */
static void ct_release(void *params)
{
    ct_params *p = params;
    if (p)
        odet_packed_unref(p->pack_buf);
    free(p);
}

/* Pack constant phase weights once when the pads are fixed by the attributes.
 * Nodes reading the same W with the same groups, strides, dilations and pads
 * share one packed buffer (model pack cache): the phase weights depend on
 * nothing else. */
static odet_status ct_pack(odet_node *node, const odet_tensor *const *constants,
                           odet_pack_cache *cache, uint32_t *replaced, char *err, size_t errlen)
{
    ct_params *p = node->params;
    const odet_tensor *W = node->n_in > 1 ? constants[1] : NULL;
    if (!p || p->pack_buf || !W || W->dtype != ODET_FLOAT || W->rank < 3 || W->rank > 2 + CT_MAX_SP ||
        !W->data || p->n_outshape || p->auto_pad == AUTOPAD_SAME_UPPER ||
        p->auto_pad == AUTOPAD_SAME_LOWER)
        return ODET_OK;
    const int nsp = W->rank - 2;
    if ((p->n_kernel && p->n_kernel != nsp) || (p->n_strides && p->n_strides != nsp) ||
        (p->n_dil && p->n_dil != nsp) || (p->n_pads && p->n_pads != 2 * nsp) ||
        W->dims[0] % p->group || W->dims[0] == 0 || W->dims[1] == 0)
        return ODET_OK; /* infer reports it */
    /* The geometry of W alone (input sizes do not matter for the weights). */
    ct_geom g;
    memset(&g, 0, sizeof g);
    g.group = p->group;
    g.C = W->dims[0];
    g.Cg = g.C / g.group;
    g.Mg = W->dims[1];
    g.k_sp = 1;
    for (int d = 0; d < 3; d++) {
        g.k[d] = g.stride[d] = g.dil[d] = g.in[d] = g.out[d] = 1;
        g.pad[d] = 0;
    }
    for (int i = 0; i < nsp; i++) {
        int d = 3 - nsp + i;
        g.k[d] = W->dims[2 + i];
        g.stride[d] = p->n_strides ? p->strides[i] : 1;
        g.dil[d] = p->n_dil ? p->dil[i] : 1;
        g.pad[d] = p->auto_pad == AUTOPAD_NOTSET && p->n_pads ? p->pads[i] : 0;
        g.k_sp *= g.k[d];
        if (g.k[d] < 1)
            return ODET_OK;
    }
    if (!phase_ok(&g))
        return ODET_OK;
    const odet_kernels *kern = odet_kernels_get();
    ct_phases *P = malloc(sizeof *P);
    if (!P)
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM, "out of memory");
    make_phases(&g, g.pad, kern, P);
    const size_t bytes = P->per_group * (size_t)g.group;
    odet_pack_key key;
    odet_pack_key_init(&key, node->in[1], kern, "ConvTranspose");
    key.p[0] = g.group;
    for (int d = 0; d < 3; d++) {
        key.p[1 + d] = g.stride[d];
        key.p[4 + d] = g.dil[d];
        key.p[7 + d] = g.pad[d];
    }
    /* tmp first: a fresh cached buffer must not stay unfilled. */
    float *tmp = malloc((size_t)(g.Mg * P->kc_max + 1) * sizeof(float));
    odet_packed *buf = NULL;
    int fresh = 0;
    if (!tmp || odet_packed_get(cache, &key, bytes, &buf, &fresh) != ODET_OK) {
        free(tmp);
        free(P);
        return odet_node_fail(node, err, errlen, ODET_ERR_NOMEM,
                              "out of memory packing the weights (%zu bytes)", bytes);
    }
    if (fresh)
        pack_phases(&g, P, kern, W->data, tmp, buf->data);
    free(tmp);
    free(P);
    p->kern = kern;
    p->packed_src = W->data;
    p->pack_buf = buf;
    p->packed = buf->data;
    for (int d = 0; d < 3; d++)
        p->packed_pad[d] = g.pad[d];
    /* Pads, strides and dilations come from the attributes alone, so run()
     * takes the phase path with exactly these pads for every input size. */
    *replaced |= 1u << 1;
    return ODET_OK;
}

const odet_op_def odet_ops_conv_transpose[] = {
    {
        .op_type = "ConvTranspose",
        .domain = "",
        .min_opset = 1,
        .prepare = ct_prepare,
        .release = ct_release,
        .infer = ct_infer,
        .scratch = ct_scratch,
        .run = ct_run,
        .pack = ct_pack,
    },
    {0},
};
