/* Unit tests of Conv, ConvTranspose and the deformable convolutions, called
 * directly through their op definitions (prepare -> infer -> scratch -> run).
 *
 * Each op is checked against a naive implementation written here from the
 * ONNX / torchvision definitions (every tap of every window, bounds checked,
 * double accumulation) over random 1-D/2-D/3-D configurations: groups,
 * depthwise with multipliers, strides, dilations, asymmetric pads, every
 * auto_pad, output_padding / output_shape, offset groups, masks, samples
 * outside the image, shapes large enough to split im2col into column
 * blocks, 1 and 2 threads; every case runs twice, with the weights packed
 * per run and packed once by the op's load-time pack hook. Conv and
 * ConvTranspose also run with the internal attributes of the load-time
 * fusion (odet.activation*, odet.residual + input 3). The DeformConv goldens
 * made by make_deform_goldens.py (torchvision) run through the public API
 * when ODET_TEST_DATA points at tests/engine/data. Error reporting is checked
 * too.
 *
 * The kernels are whatever odet_kernels_get() picks; run once more with
 * ODET_ISA=scalar to cover the portable GEMM. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "kernels/kernels.h"
#include "odet/engine.h"
#include "odet/tensor_io.h"
#include "ops/op.h"

/* ------------------------------------------------------------------ fixtures */

typedef struct test_node {
    odet_node node;
    odet_attr attrs[16];
    int64_t ints[16][8]; /* storage of INTS attributes, by attribute slot */
    int ins[8], outs[8];
    uint32_t replaced; /* inputs the last pack hook call reported as replaced */
} test_node;

static test_node *node_new(const char *domain, const char *op, int opset, int n_in)
{
    test_node *t = calloc(1, sizeof *t);
    ck_assert(t != NULL);
    t->node.name = "n";
    t->node.op_type = (char *)op;
    t->node.domain = (char *)domain;
    t->node.opset = opset;
    t->node.n_in = n_in;
    t->node.n_out = 1;
    t->node.in = t->ins;
    t->node.out = t->outs;
    t->node.attrs = t->attrs;
    for (int i = 0; i < 8; i++)
        t->ins[i] = t->outs[i] = i;
    return t;
}

static odet_attr *attr_add(test_node *t, const char *name, odet_attr_type type)
{
    odet_attr *a = &t->attrs[t->node.n_attr++];
    memset(a, 0, sizeof *a);
    a->name = (char *)name;
    a->type = type;
    return a;
}

static void attr_int(test_node *t, const char *name, int64_t v)
{
    attr_add(t, name, ODET_ATTR_INT)->i = v;
}

static void attr_float(test_node *t, const char *name, float v)
{
    attr_add(t, name, ODET_ATTR_FLOAT)->f = v;
}

static void attr_string(test_node *t, const char *name, const char *s)
{
    odet_attr *a = attr_add(t, name, ODET_ATTR_STRING);
    a->s = (char *)s;
    a->s_len = strlen(s);
}

static void attr_ints(test_node *t, const char *name, const int64_t *v, size_t n)
{
    int slot = t->node.n_attr;
    memcpy(t->ints[slot], v, n * sizeof *v);
    odet_attr *a = attr_add(t, name, ODET_ATTR_INTS);
    a->ints = t->ints[slot];
    a->n = n;
}

static odet_tensor tensor(odet_dtype dt, int rank, const int64_t *dims)
{
    odet_tensor x;
    memset(&x, 0, sizeof x);
    x.dtype = dt;
    x.rank = rank;
    for (int i = 0; i < rank; i++)
        x.dims[i] = dims[i];
    size_t bytes = odet_tensor_bytes(&x);
    x.data = calloc(bytes ? bytes : 1, 1);
    ck_assert(x.data != NULL);
    return x;
}

static unsigned rng = 12345u;

static unsigned next_u(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/* Uniform integer in [lo, hi]. */
static int64_t irand(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_u() % (unsigned)(hi - lo + 1));
}

static float frand(float scale)
{
    return ((float)(next_u() & 0xffff) / 65536.0f - 0.5f) * 2.0f * scale;
}

static void fill(odet_tensor *x, float scale)
{
    int64_t n = odet_tensor_numel(x);
    for (int64_t i = 0; i < n; i++)
        ((float *)x->data)[i] = frand(scale);
}

typedef struct run_result {
    odet_status st;
    char err[512];
} run_result;

/* Prepare + infer + run one node; the output is allocated here. With `pack`,
 * the op's pack hook runs after prepare with every input but X as a constant,
 * and the inputs it reports as replaced then run with data == NULL, as after
 * the runtime released them (odet_graph_release_constant_data). */
static run_result run_node_packed(test_node *t, const odet_tensor *const *in, int n_in,
                                  odet_tensor *out, int threads, int pack);

static run_result run_node(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor *out,
                           int threads)
{
    return run_node_packed(t, in, n_in, out, threads, 0);
}

/* Free a node's params through the op's release hook (packed weights). */
static void release_params(const odet_op_def *def, odet_node *node)
{
    if (def->release)
        def->release(node->params);
    else
        free(node->params);
    node->params = NULL;
}

static run_result run_node_packed(test_node *t, const odet_tensor *const *in, int n_in,
                                  odet_tensor *out, int threads, int pack)
{
    run_result r;
    memset(&r, 0, sizeof r);
    const odet_op_def *def = odet_op_lookup(t->node.domain, t->node.op_type, t->node.opset);
    ck_assert_msg(def != NULL, "op %s::%s not registered", t->node.domain, t->node.op_type);
    t->node.params = NULL;
    if (def->prepare) {
        r.st = def->prepare(&t->node, r.err, sizeof r.err);
        if (r.st != ODET_OK)
            return r;
    }
    odet_tensor released[8];
    const odet_tensor *in_run[8];
    ck_assert(n_in <= 8);
    for (int i = 0; i < n_in; i++)
        in_run[i] = in[i];
    if (pack && def->pack) {
        const odet_tensor *consts[8] = {NULL};
        for (int i = 1; i < n_in && i < 8; i++)
            consts[i] = in[i];
        uint32_t replaced = 0;
        r.st = def->pack(&t->node, consts, NULL, &replaced, r.err, sizeof r.err);
        if (r.st != ODET_OK) {
            release_params(def, &t->node);
            return r;
        }
        ck_assert_msg((replaced & 1u) == 0, "input 0 is not a constant but was replaced");
        for (int i = 1; i < n_in; i++)
            if (((replaced >> i) & 1u) && in[i]) {
                released[i] = *in[i];
                released[i].data = NULL;
                in_run[i] = &released[i];
            }
        t->replaced = replaced;
    }
    odet_tensor *outs[1] = {out};
    odet_op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.node = &t->node;
    ctx.params = t->node.params;
    ctx.n_in = n_in;
    ctx.n_out = 1;
    ctx.in = in_run;
    ctx.out = outs;
    ctx.threads = threads;
    ctx.err = r.err;
    ctx.errlen = sizeof r.err;
    r.st = def->infer(&ctx);
    if (r.st == ODET_OK) {
        size_t bytes = odet_tensor_bytes(out);
        out->data = malloc(bytes ? bytes : 1);
        ck_assert(out->data != NULL);
        /* NaN fill: every output element must be written. */
        for (int64_t i = 0; i < odet_tensor_numel(out); i++)
            ((float *)out->data)[i] = NAN;
        size_t sb = def->scratch ? def->scratch(&ctx) : 0;
        void *scratch = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
        if (scratch) /* garbage in scratch must not matter */
            memset(scratch, 0xff, sb);
        ctx.scratch = scratch;
        ctx.scratch_bytes = sb;
        r.st = def->run(&ctx);
        free(scratch);
    }
    release_params(def, &t->node);
    return r;
}

/* Compare with a double reference; returns the index of the first mismatch or -1. */
static int64_t mismatch(const odet_tensor *got, const double *want, int64_t n, double *got_v)
{
    for (int64_t i = 0; i < n; i++) {
        double g = ((const float *)got->data)[i];
        if (!(fabs(g - want[i]) <= 1e-4 * (1.0 + fabs(want[i])))) {
            *got_v = g;
            return i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ Conv */

enum { AP_NOTSET, AP_SAME_UPPER, AP_SAME_LOWER, AP_VALID };
static const char *const ap_names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

typedef struct conv_cfg {
    int nsp;
    int64_t N, C, M, group;
    int64_t in[3], k[3], s[3], d[3], pads[6];
    int auto_pad, bias, kernel_attr, threads;
    /* ConvTranspose only */
    int64_t outpad[3], outshape[3];
    int has_outpad, has_outshape;
    /* Fused epilogue (internal attributes): act index into act_names (0 = none),
     * residual input 3 (Conv only). */
    int act, residual;
    float act_a, act_b;
} conv_cfg;

static const char *const act_names[] = {"",        "Relu",        "LeakyRelu", "Clip",
                                        "Sigmoid", "HardSigmoid", "HardSwish", "Silu"};
#define N_ACTS 8

static double ref_act(double x, int act, double a, double b)
{
    switch (act) {
    case 1: return x < 0 ? 0 : x;
    case 2: return x < 0 ? a * x : x;
    case 3: return x < a ? a : x > b ? b : x;
    case 4: return 1.0 / (1.0 + exp(-x));
    case 5: return fmax(0.0, fmin(1.0, a * x + b));
    case 6: return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    case 7: return x / (1.0 + exp(-x));
    default: return x;
    }
}

static void random_act(conv_cfg *c)
{
    c->act = (int)irand(0, N_ACTS - 1);
    c->act_a = c->act == 3 ? -0.5f : c->act == 5 ? 0.3f : 0.1f;
    c->act_b = c->act == 3 ? 0.75f : 0.45f;
}

static void set_act_attrs(test_node *t, const conv_cfg *c)
{
    if (!c->act)
        return;
    attr_string(t, "odet.activation", act_names[c->act]);
    attr_float(t, "odet.activation_alpha", c->act_a);
    attr_float(t, "odet.activation_beta", c->act_b);
}

static void describe(const conv_cfg *c, char *buf, size_t len)
{
    snprintf(buf, len,
             "nsp=%d N=%lld C=%lld M=%lld group=%lld in=[%lld %lld %lld] k=[%lld %lld %lld] "
             "s=[%lld %lld %lld] d=[%lld %lld %lld] pads=[%lld %lld %lld %lld %lld %lld] "
             "auto_pad=%s bias=%d outpad=%d [%lld %lld %lld] outshape=%d [%lld %lld %lld] "
             "threads=%d act=%s residual=%d",
             c->nsp, (long long)c->N, (long long)c->C, (long long)c->M, (long long)c->group,
             (long long)c->in[0], (long long)c->in[1], (long long)c->in[2], (long long)c->k[0],
             (long long)c->k[1], (long long)c->k[2], (long long)c->s[0], (long long)c->s[1],
             (long long)c->s[2], (long long)c->d[0], (long long)c->d[1], (long long)c->d[2],
             (long long)c->pads[0], (long long)c->pads[1], (long long)c->pads[2],
             (long long)c->pads[3], (long long)c->pads[4], (long long)c->pads[5],
             ap_names[c->auto_pad], c->bias, c->has_outpad, (long long)c->outpad[0],
             (long long)c->outpad[1], (long long)c->outpad[2], c->has_outshape,
             (long long)c->outshape[0], (long long)c->outshape[1], (long long)c->outshape[2],
             c->threads, act_names[c->act], c->residual);
}

/* Conv output size and begin pad per dim, straight from the spec; 0 if invalid. */
static int conv_out(const conv_cfg *c, int i, int64_t *out, int64_t *pb)
{
    int64_t ext = (c->k[i] - 1) * c->d[i] + 1, n = c->in[i];
    switch (c->auto_pad) {
    case AP_NOTSET:
        *pb = c->pads[i];
        if (n + c->pads[i] + c->pads[c->nsp + i] < ext)
            return 0;
        *out = (n + c->pads[i] + c->pads[c->nsp + i] - ext) / c->s[i] + 1;
        return 1;
    case AP_VALID:
        *pb = 0;
        if (n < ext)
            return 0;
        *out = (n - ext) / c->s[i] + 1;
        return 1;
    default: {
        *out = (n + c->s[i] - 1) / c->s[i];
        int64_t total = (*out - 1) * c->s[i] + ext - n;
        if (total < 0)
            total = 0;
        *pb = c->auto_pad == AP_SAME_UPPER ? total / 2 : (total + 1) / 2;
        return 1;
    }
    }
}

static int64_t prod3(const int64_t *v, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= v[i];
    return p;
}

/* Unflatten a position into n coordinates of shape dims. */
static void unflat(int64_t p, const int64_t *dims, int n, int64_t *co)
{
    for (int i = n - 1; i >= 0; i--) {
        co[i] = p % dims[i];
        p /= dims[i];
    }
}

/* mag (optional): sum of |x * w| over each output's terms, for error bounds. */
static double *naive_conv_mag(const conv_cfg *c, const float *x, const float *w, const float *b,
                              int64_t *out, double **mag);

static double *naive_conv(const conv_cfg *c, const float *x, const float *w, const float *b,
                          int64_t *out)
{
    return naive_conv_mag(c, x, w, b, out, NULL);
}

static double *naive_conv_mag(const conv_cfg *c, const float *x, const float *w, const float *b,
                              int64_t *out, double **mag)
{
    int64_t pb[3];
    for (int i = 0; i < c->nsp; i++)
        ck_assert(conv_out(c, i, &out[i], &pb[i]));
    const int64_t isp = prod3(c->in, c->nsp), osp = prod3(out, c->nsp), ksp = prod3(c->k, c->nsp);
    const int64_t Cg = c->C / c->group, Mg = c->M / c->group;
    double *y = calloc((size_t)(c->N * c->M * osp) + 1, sizeof *y);
    double *mg = mag ? calloc((size_t)(c->N * c->M * osp) + 1, sizeof *mg) : NULL;
    if (mag)
        *mag = mg;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t op = 0; op < osp; op++) {
                int64_t oc[3], kc[3];
                unflat(op, out, c->nsp, oc);
                double acc = b ? b[m] : 0.0, am = 0.0;
                int64_t g = m / Mg;
                for (int64_t ci = 0; ci < Cg; ci++)
                    for (int64_t kp = 0; kp < ksp; kp++) {
                        unflat(kp, c->k, c->nsp, kc);
                        int64_t ip = 0, ok = 1;
                        for (int i = 0; i < c->nsp; i++) {
                            int64_t v = oc[i] * c->s[i] - pb[i] + kc[i] * c->d[i];
                            if (v < 0 || v >= c->in[i])
                                ok = 0;
                            ip = ip * c->in[i] + v;
                        }
                        if (!ok)
                            continue;
                        const double t = (double)x[(n * c->C + g * Cg + ci) * isp + ip] *
                                         w[(m * Cg + ci) * ksp + kp];
                        acc += t;
                        am += fabs(t);
                    }
                y[(n * c->M + m) * osp + op] = acc;
                if (mg)
                    mg[(n * c->M + m) * osp + op] = am;
            }
    return y;
}

static void set_conv_attrs(test_node *t, const conv_cfg *c)
{
    if (c->kernel_attr)
        attr_ints(t, "kernel_shape", c->k, (size_t)c->nsp);
    if (c->group != 1)
        attr_int(t, "group", c->group);
    attr_ints(t, "strides", c->s, (size_t)c->nsp);
    attr_ints(t, "dilations", c->d, (size_t)c->nsp);
    if (c->auto_pad == AP_NOTSET)
        attr_ints(t, "pads", c->pads, (size_t)(2 * c->nsp));
    else
        attr_string(t, "auto_pad", ap_names[c->auto_pad]);
}

static void check_conv(const conv_cfg *c)
{
    char desc[768];
    describe(c, desc, sizeof desc);
    int64_t xd[5] = {c->N, c->C}, wd[5] = {c->M, c->C / c->group}, bd[1] = {c->M};
    int64_t out[3], yd[5] = {c->N, c->M};
    double *want = NULL;
    for (int i = 0; i < c->nsp; i++) {
        xd[2 + i] = c->in[i];
        wd[2 + i] = c->k[i];
    }
    odet_tensor X = tensor(ODET_FLOAT, 2 + c->nsp, xd), W = tensor(ODET_FLOAT, 2 + c->nsp, wd);
    odet_tensor B = tensor(ODET_FLOAT, 1, bd), R;
    fill(&X, 1.0f);
    fill(&W, 1.0f);
    fill(&B, 1.0f);
    double *mag = NULL;
    want = naive_conv_mag(c, X.data, W.data, c->bias ? B.data : NULL, out, &mag);
    for (int i = 0; i < c->nsp; i++)
        yd[2 + i] = out[i];
    R = tensor(ODET_FLOAT, 2 + c->nsp, yd);
    fill(&R, 1.0f);
    const int64_t ny = odet_tensor_numel(&R);
    for (int64_t i = 0; i < ny; i++)
        want[i] = ref_act(want[i] + (c->residual ? ((const float *)R.data)[i] : 0.0), c->act,
                          c->act_a, c->act_b);
    const int n_in = c->residual ? 4 : c->bias ? 3 : 2;
    for (int pack = 0; pack < 2; pack++) {
        odet_tensor Y;
        memset(&Y, 0, sizeof Y);
        test_node *t = node_new("", "Conv", 11, n_in);
        set_conv_attrs(t, c);
        set_act_attrs(t, c);
        if (c->residual)
            attr_int(t, "odet.residual", 1);
        const odet_tensor *in[4] = {&X, &W, c->bias ? &B : NULL, &R};
        run_result r = run_node_packed(t, in, n_in, &Y, c->threads, pack);
        ck_assert_msg(r.st == ODET_OK, "%s pack=%d: %s", desc, pack, r.err);
        ck_assert_int_eq(Y.rank, 2 + c->nsp);
        ck_assert_int_eq(Y.dims[0], c->N);
        ck_assert_int_eq(Y.dims[1], c->M);
        for (int i = 0; i < c->nsp; i++)
            ck_assert_msg(Y.dims[2 + i] == out[i], "%s: dim %d = %lld, want %lld", desc, 2 + i,
                          (long long)Y.dims[2 + i], (long long)out[i]);
        /* Winograd's error grows with the magnitude of the terms, not of their
         * sum: allow a few ulps of that where the op may take that path. */
        const int wino = c->nsp == 2 && c->k[0] == 3 && c->k[1] == 3 && c->s[0] == 1 &&
                         c->s[1] == 1 && c->d[0] == 1 && c->d[1] == 1;
        double g = 0.0;
        int64_t bad = -1;
        for (int64_t i = 0; i < ny && bad < 0; i++) {
            g = ((const float *)Y.data)[i];
            double tol = 1e-4 * (1.0 + fabs(want[i])) + (wino ? 2e-6 * mag[i] : 0.0);
            if (!(fabs(g - want[i]) <= tol))
                bad = i;
        }
        ck_assert_msg(bad < 0, "%s pack=%d: Y[%lld] = %.7g, want %.7g (terms %.4g)", desc, pack,
                      (long long)bad, g, bad < 0 ? 0.0 : want[bad], bad < 0 ? 0.0 : mag[bad]);
        if (pack) {
            /* W is replaced by its packed copy (and ran released above) unless
             * depthwise (never packed) or a 3-D 1x3x3 kernel whose layout
             * (Winograd at depth 1, else GEMM) depends on the input. */
            const int64_t cg = c->C / c->group, mg = c->M / c->group;
            int want_rep = cg > 1 && c->M > 0;
            if (c->nsp == 3 && c->k[0] == 1 && c->k[1] == 3 && c->k[2] == 3 && c->s[1] == 1 &&
                c->s[2] == 1 && c->d[1] == 1 && c->d[2] == 1 && cg >= 8 && mg >= 8 &&
                odet_kernels_get()->f32_wino43_conv)
                want_rep = 0;
            ck_assert_msg(t->replaced == (want_rep ? 2u : 0u), "%s: pack replaced 0x%x", desc,
                          (unsigned)t->replaced);
        }
        free(Y.data);
        free(t);
    }
    free(want);
    free(mag);
    free(X.data);
    free(W.data);
    free(B.data);
    free(R.data);
}

/* A random valid Conv configuration with small sizes. */
static conv_cfg random_conv(int nsp)
{
    conv_cfg c;
    for (;;) {
        memset(&c, 0, sizeof c);
        c.nsp = nsp;
        c.N = irand(1, 2);
        switch (irand(0, 3)) {
        case 0: c.group = 1; break;
        case 1: c.group = irand(2, 3); break;
        default: c.group = irand(2, 6); break; /* depthwise below */
        }
        int depthwise = c.group > 3 || irand(0, 3) == 0;
        int64_t cg = depthwise ? 1 : irand(1, 5), mg = irand(1, 4);
        c.C = cg * c.group;
        c.M = mg * c.group;
        for (int i = 0; i < nsp; i++) {
            c.in[i] = irand(1, nsp == 3 ? 7 : 13);
            c.k[i] = irand(1, nsp == 3 ? 3 : 5);
            c.s[i] = irand(1, 3);
            c.d[i] = irand(1, 3);
            c.pads[i] = irand(0, 2);
            c.pads[nsp + i] = irand(0, 2);
        }
        c.auto_pad = (int)irand(0, 5);
        if (c.auto_pad > AP_VALID)
            c.auto_pad = AP_NOTSET;
        c.bias = (int)irand(0, 1);
        c.kernel_attr = (int)irand(0, 1);
        c.threads = (int)irand(1, 2);
        random_act(&c);
        c.residual = irand(0, 3) == 0;
        int ok = 1;
        for (int i = 0; i < nsp; i++) {
            int64_t o, pb;
            ok &= conv_out(&c, i, &o, &pb) && o > 0;
        }
        if (ok)
            return c;
    }
}

START_TEST(test_conv_random)
{
    rng = 1000u + (unsigned)_i;
    const int nsp = _i == 0 ? 1 : _i == 2 ? 3 : 2;
    for (int n = 0; n < (nsp == 2 ? 300 : 120); n++) {
        conv_cfg c = random_conv(nsp);
        check_conv(&c);
    }
}
END_TEST

/* Shapes that exercise the fast paths and the im2col column blocks. */
START_TEST(test_conv_large)
{
    rng = 77u;
    static const struct {
        int64_t C, M, group, H, W, k, s, d, pad;
    } shapes[] = {
        {128, 8, 1, 30, 31, 3, 1, 1, 1},  /* Kc = 1152: several column blocks, ragged rows */
        {256, 4, 1, 24, 25, 3, 1, 2, 2},  /* Kc = 2304, dilated */
        {64, 24, 1, 33, 35, 1, 1, 1, 0},  /* pointwise: one GEMM */
        {48, 16, 1, 33, 35, 1, 2, 1, 0},  /* 1x1 strided: im2col */
        {32, 32, 32, 41, 37, 3, 2, 1, 1}, /* depthwise, stride 2 */
        {16, 48, 16, 23, 29, 5, 1, 2, 4}, /* depthwise multiplier 3, dilated */
        {3, 16, 1, 64, 63, 7, 2, 1, 3},   /* stem */
        {64, 64, 4, 21, 22, 3, 1, 1, 1},  /* grouped */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        for (int threads = 1; threads <= 2; threads++) {
            conv_cfg c;
            memset(&c, 0, sizeof c);
            c.nsp = 2;
            c.N = 1;
            c.C = shapes[i].C;
            c.M = shapes[i].M;
            c.group = shapes[i].group;
            c.in[0] = shapes[i].H;
            c.in[1] = shapes[i].W;
            c.k[0] = c.k[1] = shapes[i].k;
            c.s[0] = c.s[1] = shapes[i].s;
            c.d[0] = c.d[1] = shapes[i].d;
            for (int j = 0; j < 4; j++)
                c.pads[j] = shapes[i].pad;
            c.bias = (int)(i % 2);
            c.threads = threads;
            c.act = (int)((i + (size_t)threads) % N_ACTS);
            c.act_a = c.act == 3 ? -0.5f : 0.1f;
            c.act_b = c.act == 3 ? 0.75f : 0.45f;
            c.residual = (int)(i % 3 == 1);
            check_conv(&c);
        }
    }
}
END_TEST

/* 3x3 stride-1 convolutions with enough channels take the Winograd path:
 * partial tiles, tile groups across rows, asymmetric and SAME pads, depth
 * blocks (C > 256), groups, batches, residual and activations, threads. */
START_TEST(test_conv_winograd)
{
    rng = 78u;
    static const struct {
        int64_t N, C, M, group, H, W, pt, pl, pb, pr;
        int auto_pad, act, residual;
    } shapes[] = {
        {1, 8, 8, 1, 5, 5, 1, 1, 1, 1, AP_NOTSET, 0, 0},
        {1, 16, 24, 1, 37, 70, 1, 1, 1, 1, AP_NOTSET, 1, 1},
        {1, 9, 17, 1, 4, 4, 0, 0, 0, 0, AP_NOTSET, 4, 0},
        {2, 32, 40, 1, 19, 23, 0, 2, 1, 0, AP_NOTSET, 2, 1},
        {1, 300, 8, 1, 9, 9, 1, 1, 1, 1, AP_NOTSET, 3, 0},
        {1, 64, 64, 1, 66, 66, 1, 1, 1, 1, AP_NOTSET, 7, 1},
        {1, 24, 16, 1, 13, 29, 0, 0, 0, 0, AP_SAME_LOWER, 5, 0},
        {2, 48, 32, 2, 17, 9, 2, 2, 2, 2, AP_NOTSET, 6, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        for (int threads = 1; threads <= 2; threads++) {
            conv_cfg c;
            memset(&c, 0, sizeof c);
            c.nsp = 2;
            c.N = shapes[i].N;
            c.C = shapes[i].C;
            c.M = shapes[i].M;
            c.group = shapes[i].group;
            c.in[0] = shapes[i].H;
            c.in[1] = shapes[i].W;
            c.k[0] = c.k[1] = 3;
            c.s[0] = c.s[1] = 1;
            c.d[0] = c.d[1] = 1;
            c.pads[0] = shapes[i].pt;
            c.pads[1] = shapes[i].pl;
            c.pads[2] = shapes[i].pb;
            c.pads[3] = shapes[i].pr;
            c.auto_pad = shapes[i].auto_pad;
            c.bias = (int)((i + (size_t)threads) % 2);
            c.threads = threads;
            c.act = shapes[i].act;
            c.act_a = c.act == 3 ? -0.5f : 0.1f;
            c.act_b = c.act == 3 ? 0.75f : 0.45f;
            c.residual = shapes[i].residual;
            check_conv(&c);
        }
    }
}
END_TEST

START_TEST(test_conv_opset1_and_zero_batch)
{
    rng = 5u;
    /* Opset 1 node, no kernel_shape / strides / pads attributes at all. */
    int64_t xd[4] = {1, 2, 5, 4}, wd[4] = {3, 2, 2, 3};
    odet_tensor X = tensor(ODET_FLOAT, 4, xd), W = tensor(ODET_FLOAT, 4, wd), Y;
    fill(&X, 1.0f);
    fill(&W, 1.0f);
    memset(&Y, 0, sizeof Y);
    test_node *t = node_new("", "Conv", 1, 2);
    const odet_tensor *in[2] = {&X, &W};
    run_result r = run_node(t, in, 2, &Y, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    conv_cfg c;
    memset(&c, 0, sizeof c);
    c.nsp = 2;
    c.N = 1;
    c.C = 2;
    c.M = 3;
    c.group = 1;
    c.in[0] = 5;
    c.in[1] = 4;
    c.k[0] = 2;
    c.k[1] = 3;
    c.s[0] = c.s[1] = c.d[0] = c.d[1] = 1;
    int64_t out[3];
    double *want = naive_conv(&c, X.data, W.data, NULL, out);
    ck_assert_int_eq(Y.dims[2], 4);
    ck_assert_int_eq(Y.dims[3], 2);
    double g;
    ck_assert(mismatch(&Y, want, odet_tensor_numel(&Y), &g) < 0);
    free(want);
    free(Y.data);
    free(X.data);
    free(t);

    /* Zero batch: shape [0, M, ...], nothing to compute. */
    xd[0] = 0;
    X = tensor(ODET_FLOAT, 4, xd);
    memset(&Y, 0, sizeof Y);
    t = node_new("", "Conv", 11, 2);
    r = run_node(t, in, 2, &Y, 1);
    ck_assert_msg(r.st == ODET_OK, "%s", r.err);
    ck_assert_int_eq(Y.dims[0], 0);
    ck_assert_int_eq(Y.dims[1], 3);
    free(Y.data);
    free(X.data);
    free(W.data);
    free(t);
}
END_TEST

static run_result conv_error(int64_t *xd, int xr, int64_t *wd, int wr, odet_dtype dt,
                             const char *auto_pad, int64_t group)
{
    odet_tensor X = tensor(dt, xr, xd), W = tensor(ODET_FLOAT, wr, wd), Y;
    memset(&Y, 0, sizeof Y);
    test_node *t = node_new("", "Conv", 11, 2);
    if (auto_pad)
        attr_string(t, "auto_pad", auto_pad);
    if (group != 1)
        attr_int(t, "group", group);
    const odet_tensor *in[2] = {&X, &W};
    run_result r = run_node(t, in, 2, &Y, 1);
    free(X.data);
    free(W.data);
    free(Y.data);
    free(t);
    return r;
}

START_TEST(test_conv_errors)
{
    int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {2, 4, 3, 3}, w3[3] = {2, 4, 3};
    run_result r = conv_error(xd, 4, w3, 3, ODET_FLOAT, NULL, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    ck_assert_msg(strstr(r.err, "'W'") && strstr(r.err, "rank"), "%s", r.err);
    r = conv_error(xd, 4, wd, 4, ODET_FLOAT, "FOO", 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(r.err, "FOO"), "%s", r.err);
    r = conv_error(xd, 4, wd, 4, ODET_FLOAT, NULL, 2); /* W has 4 channels per group, X 4 total */
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    r = conv_error(xd, 4, wd, 4, ODET_DOUBLE, NULL, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(r.err, "double"), "%s", r.err);
    int64_t small[4] = {1, 4, 2, 2};
    r = conv_error(small, 4, wd, 4, ODET_FLOAT, NULL, 1); /* 3x3 kernel on 2x2 without pads */
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE);
    int64_t x6[6] = {1, 1, 2, 2, 2, 2}, w6[6] = {1, 1, 1, 1, 1, 1};
    r = conv_error(x6, 6, w6, 6, ODET_FLOAT, NULL, 1); /* 4 spatial dims */
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
}
END_TEST

/* Weights whose data is gone (released at load) where no packed copy applies:
 * an error from run(), never a crash. Depthwise is never packed; a GEMM Conv,
 * ConvTranspose and DeformConv here were not packed either. */
START_TEST(test_released_weights_without_packed_copy)
{
    static const struct {
        const char *op;
        int64_t group, wd[4];
    } cases[] = {
        {"Conv", 4, {4, 1, 3, 3}},
        {"Conv", 1, {2, 4, 3, 3}},
        {"ConvTranspose", 1, {4, 2, 3, 3}},
        {"DeformConv", 1, {2, 4, 3, 3}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int deform = !strcmp(cases[i].op, "DeformConv");
        int64_t xd[4] = {1, 4, 5, 5}, od[4] = {1, 18, 3, 3};
        odet_tensor X = tensor(ODET_FLOAT, 4, xd), W = tensor(ODET_FLOAT, 4, cases[i].wd);
        odet_tensor O = tensor(ODET_FLOAT, 4, od), Y;
        memset(&Y, 0, sizeof Y);
        free(W.data);
        W.data = NULL;
        test_node *t = node_new("", cases[i].op, deform ? 19 : 11, deform ? 3 : 2);
        if (cases[i].group != 1)
            attr_int(t, "group", cases[i].group);
        const odet_tensor *in[3] = {&X, &W, &O};
        run_result r = run_node(t, in, deform ? 3 : 2, &Y, 1);
        ck_assert_msg(r.st == ODET_ERR_INTERNAL && strstr(r.err, "released"), "%s: %s (%s)",
                      cases[i].op, r.err, odet_status_str(r.st));
        free(X.data);
        free(O.data);
        free(Y.data);
        free(t);
    }
}
END_TEST

/* ------------------------------------------------------------------ ConvTranspose */

/* Output size and begin pad per dim, straight from the spec; 0 if invalid. */
static int ct_out(const conv_cfg *c, int i, int64_t *out, int64_t *pb)
{
    int64_t op = c->has_outpad ? c->outpad[i] : 0;
    int64_t full = c->s[i] * (c->in[i] - 1) + op + (c->k[i] - 1) * c->d[i] + 1;
    if (c->has_outshape || c->auto_pad == AP_SAME_UPPER || c->auto_pad == AP_SAME_LOWER) {
        *out = c->has_outshape ? c->outshape[i] : c->in[i] * c->s[i];
        int64_t total = full - *out;
        if (total < 0)
            total = 0; /* a larger output_shape leaves extra (bias-only) cells at the end */
        *pb = c->auto_pad == AP_SAME_UPPER ? total / 2 : total - total / 2;
        return *out >= 0;
    }
    if (c->auto_pad == AP_VALID) {
        *out = full;
        *pb = 0;
        return 1;
    }
    *pb = c->pads[i];
    *out = full - c->pads[i] - c->pads[c->nsp + i];
    return *out >= 1;
}

static double *naive_ct(const conv_cfg *c, const float *x, const float *w, const float *b,
                        int64_t *out)
{
    int64_t pb[3];
    for (int i = 0; i < c->nsp; i++)
        ck_assert(ct_out(c, i, &out[i], &pb[i]));
    const int64_t isp = prod3(c->in, c->nsp), osp = prod3(out, c->nsp), ksp = prod3(c->k, c->nsp);
    const int64_t Cg = c->C / c->group, Mg = c->M / c->group;
    double *y = calloc((size_t)(c->N * c->M * osp) + 1, sizeof *y);
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t p = 0; p < osp; p++)
                y[(n * c->M + m) * osp + p] = b ? b[m] : 0.0;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t ch = 0; ch < c->C; ch++)
            for (int64_t ip = 0; ip < isp; ip++) {
                int64_t ic[3], kc[3];
                unflat(ip, c->in, c->nsp, ic);
                double xv = x[(n * c->C + ch) * isp + ip];
                int64_t g = ch / Cg;
                for (int64_t mi = 0; mi < Mg; mi++)
                    for (int64_t kp = 0; kp < ksp; kp++) {
                        unflat(kp, c->k, c->nsp, kc);
                        int64_t opos = 0, ok = 1;
                        for (int i = 0; i < c->nsp; i++) {
                            int64_t v = ic[i] * c->s[i] - pb[i] + kc[i] * c->d[i];
                            if (v < 0 || v >= out[i])
                                ok = 0;
                            opos = opos * out[i] + v;
                        }
                        if (ok)
                            y[(n * c->M + g * Mg + mi) * osp + opos] +=
                                xv * w[(ch * Mg + mi) * ksp + kp];
                    }
            }
    return y;
}

static void check_ct(const conv_cfg *c)
{
    char desc[768];
    describe(c, desc, sizeof desc);
    int64_t xd[5] = {c->N, c->C}, wd[5] = {c->C, c->M / c->group}, bd[1] = {c->M};
    for (int i = 0; i < c->nsp; i++) {
        xd[2 + i] = c->in[i];
        wd[2 + i] = c->k[i];
    }
    odet_tensor X = tensor(ODET_FLOAT, 2 + c->nsp, xd), W = tensor(ODET_FLOAT, 2 + c->nsp, wd);
    odet_tensor B = tensor(ODET_FLOAT, 1, bd);
    fill(&X, 1.0f);
    fill(&W, 1.0f);
    fill(&B, 1.0f);
    int64_t out[3];
    double *want = naive_ct(c, X.data, W.data, c->bias ? B.data : NULL, out);
    const int64_t ny = c->N * c->M * prod3(out, c->nsp);
    for (int64_t i = 0; i < ny; i++)
        want[i] = ref_act(want[i], c->act, c->act_a, c->act_b);
    for (int pack = 0; pack < 2; pack++) {
        odet_tensor Y;
        memset(&Y, 0, sizeof Y);
        test_node *t = node_new("", "ConvTranspose", 11, c->bias ? 3 : 2);
        set_conv_attrs(t, c);
        set_act_attrs(t, c);
        if (c->has_outpad)
            attr_ints(t, "output_padding", c->outpad, (size_t)c->nsp);
        if (c->has_outshape)
            attr_ints(t, "output_shape", c->outshape, (size_t)c->nsp);
        const odet_tensor *in[3] = {&X, &W, &B};
        run_result r = run_node_packed(t, in, c->bias ? 3 : 2, &Y, c->threads, pack);
        ck_assert_msg(r.st == ODET_OK, "%s pack=%d: %s", desc, pack, r.err);
        for (int i = 0; i < c->nsp; i++)
            ck_assert_msg(Y.dims[2 + i] == out[i], "%s: dim %d = %lld, want %lld", desc, 2 + i,
                          (long long)Y.dims[2 + i], (long long)out[i]);
        double g = 0.0;
        int64_t bad = mismatch(&Y, want, odet_tensor_numel(&Y), &g);
        ck_assert_msg(bad < 0, "%s pack=%d: Y[%lld] = %.7g, want %.7g", desc, pack,
                      (long long)bad, g, bad < 0 ? 0.0 : want[bad]);
        ck_assert_msg(t->replaced == 0u || t->replaced == 2u, "%s: replaced 0x%x", desc,
                      (unsigned)t->replaced);
        free(Y.data);
        free(t);
    }
    free(want);
    free(X.data);
    free(W.data);
    free(B.data);
}

static conv_cfg random_ct(int nsp)
{
    conv_cfg c;
    for (;;) {
        memset(&c, 0, sizeof c);
        c.nsp = nsp;
        c.N = irand(1, 2);
        c.group = irand(0, 2) ? 1 : irand(2, 3);
        c.C = irand(1, 4) * c.group;
        c.M = irand(1, 4) * c.group;
        for (int i = 0; i < nsp; i++) {
            c.in[i] = irand(1, nsp == 3 ? 5 : 9);
            c.k[i] = irand(1, 4);
            c.s[i] = irand(1, 3);
            c.d[i] = irand(1, 2);
            c.pads[i] = irand(0, 2);
            c.pads[nsp + i] = irand(0, 2);
        }
        int kind = (int)irand(0, 5);
        c.auto_pad = kind == 1 ? AP_SAME_UPPER : kind == 2 ? AP_SAME_LOWER : AP_NOTSET;
        if (kind == 3) { /* output_padding < stride */
            c.has_outpad = 1;
            for (int i = 0; i < nsp; i++)
                c.outpad[i] = irand(0, c.s[i] - 1);
        }
        if (kind == 4) {
            c.has_outshape = 1;
            for (int i = 0; i < nsp; i++)
                c.outshape[i] = c.in[i] * c.s[i] + irand(-2, 2);
        }
        if (kind == 5)
            c.auto_pad = AP_VALID;
        random_act(&c);
        c.bias = (int)irand(0, 1);
        c.kernel_attr = (int)irand(0, 1);
        c.threads = (int)irand(1, 2);
        int ok = 1;
        for (int i = 0; i < nsp; i++) {
            int64_t o, pb;
            ok &= ct_out(&c, i, &o, &pb) && o > 0;
        }
        if (ok)
            return c;
    }
}

START_TEST(test_ct_random)
{
    rng = 2000u + (unsigned)_i;
    const int nsp = _i == 0 ? 1 : _i == 2 ? 3 : 2;
    for (int n = 0; n < (nsp == 2 ? 300 : 120); n++) {
        conv_cfg c = random_ct(nsp);
        check_ct(&c);
    }
}
END_TEST

START_TEST(test_ct_large)
{
    rng = 99u;
    static const struct {
        int64_t C, M, group, H, W, k, s, pad;
    } shapes[] = {
        {64, 48, 1, 37, 41, 4, 2, 1}, /* R = 768: several column blocks */
        {32, 16, 1, 29, 31, 1, 1, 0}, /* pointwise */
        {16, 16, 16, 20, 21, 4, 2, 1}, /* depthwise upsampling */
        {8, 600, 1, 5, 7, 3, 2, 1},   /* R = 5400: column blocks of 256 */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        for (int threads = 1; threads <= 2; threads++) {
            conv_cfg c;
            memset(&c, 0, sizeof c);
            c.nsp = 2;
            c.N = 1;
            c.C = shapes[i].C;
            c.M = shapes[i].M;
            c.group = shapes[i].group;
            c.in[0] = shapes[i].H;
            c.in[1] = shapes[i].W;
            c.k[0] = c.k[1] = shapes[i].k;
            c.s[0] = c.s[1] = shapes[i].s;
            c.d[0] = c.d[1] = 1;
            for (int j = 0; j < 4; j++)
                c.pads[j] = shapes[i].pad;
            c.bias = (int)(i % 2);
            c.threads = threads;
            check_ct(&c);
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ deformable */

typedef struct dc_cfg {
    int64_t N, C, H, W, M, KH, KW, group, og;
    int64_t s[2], d[2], pads[4];
    int mask, bias, threads;
    float offset_scale;
} dc_cfg;

/* torchvision's bilinear_interpolate, in double. */
static double bilinear(const float *img, int64_t H, int64_t W, double y, double x)
{
    if (y <= -1.0 || y >= (double)H || x <= -1.0 || x >= (double)W)
        return 0.0;
    int64_t y0 = (int64_t)floor(y), x0 = (int64_t)floor(x);
    double ly = y - (double)y0, lx = x - (double)x0, v = 0.0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int64_t yy = y0 + a, xx = x0 + b;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                continue;
            v += (a ? ly : 1.0 - ly) * (b ? lx : 1.0 - lx) * img[yy * W + xx];
        }
    return v;
}

static double *naive_deform(const dc_cfg *c, const float *x, const float *w, const float *off,
                            const float *mask, const float *b, int64_t OH, int64_t OW)
{
    const int64_t Cg = c->C / c->group, Mg = c->M / c->group, Cog = c->C / c->og;
    const int64_t KK = c->KH * c->KW, P = OH * OW;
    double *y = calloc((size_t)(c->N * c->M * P) + 1, sizeof *y);
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double acc = b ? b[m] : 0.0;
                    int64_t g = m / Mg;
                    for (int64_t ci = 0; ci < Cg; ci++) {
                        int64_t ch = g * Cg + ci, og = ch / Cog;
                        for (int64_t i = 0; i < c->KH; i++)
                            for (int64_t j = 0; j < c->KW; j++) {
                                int64_t k = i * c->KW + j;
                                const float *o = off + ((n * c->og + og) * KK + k) * 2 * P;
                                double yy = (double)(oh * c->s[0] - c->pads[0] + i * c->d[0]) +
                                            o[oh * OW + ow];
                                double xx = (double)(ow * c->s[1] - c->pads[1] + j * c->d[1]) +
                                            o[P + oh * OW + ow];
                                double mk =
                                    mask ? mask[((n * c->og + og) * KK + k) * P + oh * OW + ow]
                                         : 1.0;
                                acc += mk * w[((m * Cg + ci) * c->KH + i) * c->KW + j] *
                                       bilinear(x + (n * c->C + ch) * c->H * c->W, c->H, c->W, yy,
                                                xx);
                            }
                    }
                    y[((n * c->M + m) * OH + oh) * OW + ow] = acc;
                }
    return y;
}

/* variant 0: ONNX DeformConv, 1: mmcv::MMCVDeformConv2d, 2: mmdeploy::MMCVModulatedDeformConv2d */
static void check_deform(const dc_cfg *c, int variant)
{
    const int64_t OH = (c->H + c->pads[0] + c->pads[2] - (c->KH - 1) * c->d[0] - 1) / c->s[0] + 1;
    const int64_t OW = (c->W + c->pads[1] + c->pads[3] - (c->KW - 1) * c->d[1] - 1) / c->s[1] + 1;
    const int64_t KK = c->KH * c->KW;
    int64_t xd[4] = {c->N, c->C, c->H, c->W}, wd[4] = {c->M, c->C / c->group, c->KH, c->KW};
    int64_t od[4] = {c->N, 2 * c->og * KK, OH, OW}, md[4] = {c->N, c->og * KK, OH, OW};
    int64_t bd[1] = {c->M};
    odet_tensor X = tensor(ODET_FLOAT, 4, xd), W = tensor(ODET_FLOAT, 4, wd);
    odet_tensor O = tensor(ODET_FLOAT, 4, od), Mk = tensor(ODET_FLOAT, 4, md);
    odet_tensor B = tensor(ODET_FLOAT, 1, bd), Y;
    fill(&X, 1.0f);
    fill(&W, 1.0f);
    fill(&O, c->offset_scale);
    fill(&Mk, 1.0f);
    fill(&B, 1.0f);
    memset(&Y, 0, sizeof Y);
    test_node *t;
    const odet_tensor *in[5];
    int n_in;
    if (variant == 0) {
        t = node_new("", "DeformConv", 19, 5);
        in[0] = &X;
        in[1] = &W;
        in[2] = &O;
        in[3] = c->bias ? &B : NULL;
        in[4] = c->mask ? &Mk : NULL;
        n_in = c->mask ? 5 : c->bias ? 4 : 3;
        attr_ints(t, "strides", c->s, 2);
        attr_ints(t, "dilations", c->d, 2);
        attr_ints(t, "pads", c->pads, 4);
        attr_int(t, "group", c->group);
        attr_int(t, "offset_group", c->og);
        int64_t ks[2] = {c->KH, c->KW};
        attr_ints(t, "kernel_shape", ks, 2);
    } else {
        ck_assert(c->pads[0] == c->pads[2] && c->pads[1] == c->pads[3]);
        int64_t pad2[2] = {c->pads[0], c->pads[1]};
        if (variant == 1) {
            ck_assert(!c->mask && !c->bias);
            t = node_new("mmcv", "MMCVDeformConv2d", 1, 3);
            in[0] = &X;
            in[1] = &O;
            in[2] = &W;
            n_in = 3;
            attr_int(t, "bias", 0);
            attr_int(t, "im2col_step", 32);
            attr_int(t, "deformable_groups", c->og); /* the older attribute name */
        } else {
            ck_assert(c->mask);
            t = node_new("mmdeploy", "MMCVModulatedDeformConv2d", 1, 5);
            in[0] = &X;
            in[1] = &O;
            in[2] = &Mk;
            in[3] = &W;
            in[4] = c->bias ? &B : NULL;
            n_in = c->bias ? 5 : 4;
            attr_int(t, "deform_groups", c->og);
        }
        attr_ints(t, "stride", c->s, 2);
        attr_ints(t, "padding", pad2, 2);
        attr_ints(t, "dilation", c->d, 2);
        attr_int(t, "groups", c->group);
    }
    run_result r = run_node_packed(t, in, n_in, &Y, c->threads, c->threads == 2);
    ck_assert_msg(r.st == ODET_OK, "variant %d: %s", variant, r.err);
    if (c->threads == 2) { /* packed: exactly W (wherever the variant has it) is replaced */
        int wi = 0;
        while (in[wi] != &W)
            wi++;
        ck_assert_msg(t->replaced == 1u << wi, "variant %d: replaced 0x%x, W is input %d",
                      variant, (unsigned)t->replaced, wi);
    }
    ck_assert_int_eq(Y.dims[2], OH);
    ck_assert_int_eq(Y.dims[3], OW);
    double *want = naive_deform(c, X.data, W.data, O.data, c->mask ? Mk.data : NULL,
                                c->bias ? B.data : NULL, OH, OW);
    double g = 0.0;
    int64_t bad = mismatch(&Y, want, odet_tensor_numel(&Y), &g);
    ck_assert_msg(bad < 0,
                  "variant %d N=%lld C=%lld %lldx%lld M=%lld k=%lldx%lld group=%lld og=%lld "
                  "mask=%d bias=%d threads=%d: Y[%lld] = %.7g, want %.7g",
                  variant, (long long)c->N, (long long)c->C, (long long)c->H, (long long)c->W,
                  (long long)c->M, (long long)c->KH, (long long)c->KW, (long long)c->group,
                  (long long)c->og, c->mask, c->bias, c->threads, (long long)bad, g,
                  bad < 0 ? 0.0 : want[bad]);
    free(want);
    free(X.data);
    free(W.data);
    free(O.data);
    free(Mk.data);
    free(B.data);
    free(Y.data);
    free(t);
}

START_TEST(test_deform_random)
{
    rng = 3000u;
    for (int n = 0; n < 150; n++) {
        dc_cfg c;
        memset(&c, 0, sizeof c);
        c.N = irand(1, 2);
        c.group = irand(1, 2);
        c.og = irand(1, 3);
        /* channels divisible by both group and offset group */
        c.C = c.group * c.og * irand(1, 2);
        c.M = c.group * irand(1, 3);
        c.H = irand(3, 9);
        c.W = irand(3, 9);
        c.KH = irand(1, 3);
        c.KW = irand(1, 3);
        c.s[0] = irand(1, 2);
        c.s[1] = irand(1, 2);
        c.d[0] = irand(1, 2);
        c.d[1] = irand(1, 2);
        int variant = (int)irand(0, 2);
        for (int i = 0; i < 2; i++)
            c.pads[i] = c.pads[i + 2] = irand(0, 2);
        if (variant == 0) {
            c.pads[2] = irand(0, 2);
            c.pads[3] = irand(0, 2);
        }
        c.mask = variant == 2 || (variant == 0 && irand(0, 1));
        c.bias = variant != 1 && irand(0, 1);
        c.threads = (int)irand(1, 2);
        c.offset_scale = n % 5 == 0 ? 8.0f : 2.0f; /* many samples outside the image */
        if (c.H + c.pads[0] + c.pads[2] < (c.KH - 1) * c.d[0] + 1 ||
            c.W + c.pads[1] + c.pads[3] < (c.KW - 1) * c.d[1] + 1)
            continue;
        check_deform(&c, variant);
    }
}
END_TEST

START_TEST(test_deform_large)
{
    rng = 31u;
    /* Kc = 64 * 9 = 576: several column blocks, positions not a multiple of the chunk. */
    dc_cfg c = {1, 64, 45, 41, 8, 3, 3, 1, 4, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, 1, 1, 3.0f};
    check_deform(&c, 0);
    c.threads = 2;
    c.group = 2;
    check_deform(&c, 0);
    dc_cfg big = {1, 600, 9, 8, 4, 3, 3, 1, 2, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, 0, 2, 2.0f};
    check_deform(&big, 0); /* Kc = 5400: blocks of 256 columns */
}
END_TEST

START_TEST(test_deform_errors)
{
    int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {2, 4, 3, 3}, od[4] = {1, 16, 4, 4};
    odet_tensor X = tensor(ODET_FLOAT, 4, xd), W = tensor(ODET_FLOAT, 4, wd);
    odet_tensor O = tensor(ODET_FLOAT, 4, od), Y;
    memset(&Y, 0, sizeof Y);
    test_node *t = node_new("", "DeformConv", 19, 3);
    const odet_tensor *in[3] = {&X, &W, &O};
    run_result r = run_node(t, in, 3, &Y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_SHAPE); /* offset needs 18 channels */
    ck_assert_msg(strstr(r.err, "offset"), "%s", r.err);
    free(t);
    t = node_new("", "DeformConv", 19, 3);
    int64_t pads6[6] = {0, 0, 0, 0, 0, 0};
    attr_ints(t, "pads", pads6, 6);
    r = run_node(t, in, 3, &Y, 1);
    ck_assert_int_eq(r.st, ODET_ERR_UNSUPPORTED);
    free(t);
    free(X.data);
    free(W.data);
    free(O.data);
    free(Y.data);
}
END_TEST

/* The torchvision goldens (make_deform_goldens.py) through the public API. */
START_TEST(test_deform_goldens)
{
    const char *root = getenv("ODET_TEST_DATA");
    if (!root) {
        fprintf(stderr, "test_ops_conv: ODET_TEST_DATA not set: golden cases skipped\n");
        return;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/deform", root);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int cases = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1400], err[ODET_ERRBUF_SIZE];
        snprintf(path, sizeof path, "%s/%s/model.onnx", dir, e->d_name);
        odet_model *m = NULL;
        odet_status st = odet_model_load(path, &m, err, sizeof err);
        ck_assert_msg(st == ODET_OK, "%s: %s", e->d_name, err);
        odet_session_options opt = {.threads = 2};
        odet_session *s = NULL;
        st = odet_session_create(m, &opt, &s, err, sizeof err);
        ck_assert_msg(st == ODET_OK, "%s: %s", e->d_name, err);
        size_t n_in = odet_model_input_count(m);
        odet_tensor in[5];
        ck_assert(n_in <= 5);
        for (size_t i = 0; i < n_in; i++) {
            snprintf(path, sizeof path, "%s/%s/test_data_set_0/input_%zu.pb", dir, e->d_name, i);
            st = odet_tensor_read_pb(path, &in[i], NULL, 0, err, sizeof err);
            ck_assert_msg(st == ODET_OK, "%s", err);
        }
        st = odet_session_run(s, in, n_in, err, sizeof err);
        ck_assert_msg(st == ODET_OK, "%s: %s", e->d_name, err);
        odet_tensor want;
        snprintf(path, sizeof path, "%s/%s/test_data_set_0/output_0.pb", dir, e->d_name);
        st = odet_tensor_read_pb(path, &want, NULL, 0, err, sizeof err);
        ck_assert_msg(st == ODET_OK, "%s", err);
        const odet_tensor *got = odet_session_output(s, 0);
        ck_assert(got != NULL);
        ck_assert_int_eq(got->rank, want.rank);
        for (int i = 0; i < want.rank; i++)
            ck_assert_int_eq(got->dims[i], want.dims[i]);
        const float *g = got->data, *w = want.data;
        for (int64_t i = 0; i < odet_tensor_numel(&want); i++)
            ck_assert_msg(fabsf(g[i] - w[i]) <= 1e-5f + 1e-4f * fabsf(w[i]),
                          "%s: Y[%lld] = %.7g, want %.7g", e->d_name, (long long)i, g[i], w[i]);
        odet_tensor_release(&want);
        for (size_t i = 0; i < n_in; i++)
            odet_tensor_release(&in[i]);
        odet_session_free(s);
        odet_model_free(m);
        cases++;
    }
    closedir(d);
    ck_assert_msg(cases >= 10, "only %d golden cases in %s", cases, dir);
}
END_TEST

static Suite *conv_suite(void)
{
    Suite *s = suite_create("ops_conv");
    TCase *tc = tcase_create("conv");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_conv_random, 0, 3);
    tcase_add_test(tc, test_conv_large);
    tcase_add_test(tc, test_conv_winograd);
    tcase_add_test(tc, test_conv_opset1_and_zero_batch);
    tcase_add_test(tc, test_conv_errors);
    tcase_add_test(tc, test_released_weights_without_packed_copy);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("conv_transpose");
    tcase_set_timeout(tt, 300);
    tcase_add_loop_test(tt, test_ct_random, 0, 3);
    tcase_add_test(tt, test_ct_large);
    suite_add_tcase(s, tt);
    TCase *td = tcase_create("deform_conv");
    tcase_set_timeout(td, 300);
    tcase_add_test(td, test_deform_random);
    tcase_add_test(td, test_deform_large);
    tcase_add_test(td, test_deform_errors);
    tcase_add_test(td, test_deform_goldens);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
