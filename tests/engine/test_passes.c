/* Load-time graph passes, checked end to end through the public API.
 *
 * Each case builds a small ONNX model here (protobuf-c), loads it (which runs
 * the passes) and runs it; its "twin" is the same graph with the intermediate
 * values also listed as graph outputs, which keeps every node (a value that is
 * a graph output is never folded away). The first output of both must agree,
 * and the fused model must have fewer nodes. Cases: Conv / ConvTranspose
 * followed by each activation the fusion knows, per-channel Mul / Add
 * constants folded into the weights (frozen batch norm), Conv + residual Add (+ Relu),
 * Add of two Conv outputs, residuals that broadcast, and graphs that must not
 * be fused.
 *
 * Release of packed weights (TCase "release"): after packing, the data of a
 * constant every consumer replaced with its packed copy is freed. Models with
 * Conv (GEMM and Winograd layouts), ConvTranspose, depthwise Conv and shared
 * weights run on several input sizes in one session, bit-identical to twins
 * that keep the weights (listed as graph outputs) and to twins that feed them
 * as graph inputs (packed per run); odet_graph_constant_bytes() shows the
 * bytes released. The suite also runs with ODET_ISA=scalar (meson). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "kernels/kernels.h"
#include "odet/engine.h"
#include "onnx.pb-c.h"
#include "runtime/runtime.h"

/* ------------------------------------------------------------------ model builder */

#define MB_MAX 64

typedef struct mbuild {
    void *allocs[4096];
    int n_allocs;
    Onnx__NodeProto *nodes[MB_MAX];
    int n_nodes;
    Onnx__TensorProto *inits[MB_MAX];
    int n_inits;
    Onnx__ValueInfoProto *ins[MB_MAX], *outs[MB_MAX];
    int n_ins, n_outs;
    int opset;
} mbuild;

static void *mb_alloc(mbuild *b, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    ck_assert(p != NULL && b->n_allocs < 4096);
    b->allocs[b->n_allocs++] = p;
    return p;
}

static char *mb_str(mbuild *b, const char *s)
{
    char *p = mb_alloc(b, strlen(s) + 1);
    memcpy(p, s, strlen(s) + 1);
    return p;
}

static void mb_free(mbuild *b)
{
    for (int i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    b->n_allocs = 0;
}

/* Node with comma-separated inputs / outputs ("" entries = absent inputs). */
static Onnx__NodeProto *mb_node(mbuild *b, const char *op, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = mb_alloc(b, sizeof *n);
    Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;
    *n = init;
    n->op_type = mb_str(b, op);
    char name[64];
    snprintf(name, sizeof name, "%s_%d", op, b->n_nodes);
    n->name = mb_str(b, name);
    n->domain = mb_str(b, "");
    const char *lists[2] = {ins, outs};
    for (int l = 0; l < 2; l++) {
        char **arr = mb_alloc(b, 16 * sizeof *arr);
        size_t cnt = 0;
        const char *s = lists[l];
        while (s && *s) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            char *v = mb_alloc(b, len + 1);
            memcpy(v, s, len);
            arr[cnt++] = v;
            s = e ? e + 1 : s + len;
        }
        if (l == 0) {
            n->input = arr;
            n->n_input = cnt;
        } else {
            n->output = arr;
            n->n_output = cnt;
        }
    }
    ck_assert(b->n_nodes < MB_MAX);
    b->nodes[b->n_nodes++] = n;
    return n;
}

static Onnx__AttributeProto *mb_attr(mbuild *b, Onnx__NodeProto *n, const char *name)
{
    Onnx__AttributeProto *a = mb_alloc(b, sizeof *a);
    Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;
    *a = init;
    a->name = mb_str(b, name);
    a->has_type = 1;
    Onnx__AttributeProto **arr = mb_alloc(b, (n->n_attribute + 1) * sizeof *arr);
    if (n->n_attribute)
        memcpy(arr, n->attribute, n->n_attribute * sizeof *arr);
    arr[n->n_attribute++] = a;
    n->attribute = arr;
    return a;
}

static void mb_attr_ints(mbuild *b, Onnx__NodeProto *n, const char *name, const int64_t *v,
                         size_t cnt)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->ints = mb_alloc(b, cnt * sizeof *a->ints);
    memcpy(a->ints, v, cnt * sizeof *v);
    a->n_ints = cnt;
}

static void mb_attr_float(mbuild *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = v;
}

static Onnx__TypeProto *mb_type(mbuild *b, int rank, const int64_t *dims)
{
    Onnx__TypeProto *t = mb_alloc(b, sizeof *t);
    Onnx__TypeProto ti = ONNX__TYPE_PROTO__INIT;
    *t = ti;
    Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof *tt);
    Onnx__TypeProto__Tensor tti = ONNX__TYPE_PROTO__TENSOR__INIT;
    *tt = tti;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    Onnx__TensorShapeProto *sh = mb_alloc(b, sizeof *sh);
    Onnx__TensorShapeProto shi = ONNX__TENSOR_SHAPE_PROTO__INIT;
    *sh = shi;
    sh->dim = mb_alloc(b, (size_t)(rank + 1) * sizeof *sh->dim);
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof *d);
        Onnx__TensorShapeProto__Dimension di = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        *d = di;
        if (dims[i] >= 0) { /* else a dynamic dim */
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        }
        sh->dim[i] = d;
    }
    sh->n_dim = (size_t)rank;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    return t;
}

/* Graph input (out == 0) or output (out != 0); rank < 0: no type. */
static void mb_value(mbuild *b, const char *name, int rank, const int64_t *dims, int out)
{
    Onnx__ValueInfoProto *v = mb_alloc(b, sizeof *v);
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    *v = vi;
    v->name = mb_str(b, name);
    if (rank >= 0)
        v->type = mb_type(b, rank, dims);
    if (out)
        b->outs[b->n_outs++] = v;
    else
        b->ins[b->n_ins++] = v;
}

static unsigned rng = 1u;

static float frand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Float initializer with random values in [-scale, scale] (or `v` when not NULL). */
static void mb_init(mbuild *b, const char *name, int rank, const int64_t *dims, float scale,
                    const float *v)
{
    Onnx__TensorProto *t = mb_alloc(b, sizeof *t);
    Onnx__TensorProto ti = ONNX__TENSOR_PROTO__INIT;
    *t = ti;
    t->name = mb_str(b, name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->dims = mb_alloc(b, (size_t)(rank + 1) * sizeof *t->dims);
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        n *= (size_t)dims[i];
    }
    t->n_dims = (size_t)rank;
    t->float_data = mb_alloc(b, n * sizeof *t->float_data);
    for (size_t i = 0; i < n; i++)
        t->float_data[i] = v ? v[i] : scale * frand();
    t->n_float_data = n;
    b->inits[b->n_inits++] = t;
}

static uint8_t *mb_pack(mbuild *b, size_t *len)
{
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "g";
    g.node = b->nodes;
    g.n_node = (size_t)b->n_nodes;
    g.initializer = b->inits;
    g.n_initializer = (size_t)b->n_inits;
    g.input = b->ins;
    g.n_input = (size_t)b->n_ins;
    g.output = b->outs;
    g.n_output = (size_t)b->n_outs;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    op.domain = "";
    op.has_version = 1;
    op.version = b->opset ? b->opset : 13;
    Onnx__OperatorSetIdProto *ops[1] = {&op};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.opset_import = ops;
    m.n_opset_import = 1;
    m.graph = &g;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = mb_alloc(b, *len);
    onnx__model_proto__pack(&m, buf);
    return buf;
}

/* ------------------------------------------------------------------ running */

typedef struct result {
    size_t nodes;
    int64_t numel;
    float *y;
    int64_t dims[ODET_MAX_RANK];
    int rank;
} result;

/* Load the model, run it on the inputs, keep a copy of output 0. */
static result run_model(mbuild *b, const odet_tensor *in, size_t n_in, int threads)
{
    size_t len;
    uint8_t *buf = mb_pack(b, &len);
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    ck_assert_msg(odet_model_load_buffer(buf, len, NULL, &m, err, sizeof err) == ODET_OK, "%s",
                  err);
    result r;
    memset(&r, 0, sizeof r);
    odet_model_stats st;
    odet_model_get_stats(m, &st);
    r.nodes = st.nodes;
    odet_session *s = NULL;
    odet_session_options opt = {threads};
    ck_assert_int_eq(odet_session_create(m, &opt, &s, err, sizeof err), ODET_OK);
    ck_assert_msg(odet_session_run(s, in, n_in, err, sizeof err) == ODET_OK, "%s", err);
    /* twice: the second run reuses the plan and must give the same result */
    ck_assert_msg(odet_session_run(s, in, n_in, err, sizeof err) == ODET_OK, "%s", err);
    const odet_tensor *y = odet_session_output(s, 0);
    ck_assert(y != NULL && y->dtype == ODET_FLOAT);
    r.numel = odet_tensor_numel(y);
    r.rank = y->rank;
    memcpy(r.dims, y->dims, sizeof r.dims);
    r.y = malloc((size_t)(r.numel + 1) * sizeof(float));
    ck_assert(r.y != NULL);
    memcpy(r.y, y->data, (size_t)r.numel * sizeof(float));
    odet_session_free(s);
    odet_model_free(m);
    return r;
}

static odet_tensor input(int rank, const int64_t *dims)
{
    odet_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = ODET_FLOAT;
    t.rank = rank;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        t.dims[i] = dims[i];
        n *= dims[i];
    }
    t.data = malloc((size_t)n * sizeof(float));
    ck_assert(t.data != NULL);
    for (int64_t i = 0; i < n; i++)
        ((float *)t.data)[i] = 2.0f * frand();
    return t;
}

/* A model builder: twin != 0 lists the intermediate values as outputs too. */
typedef void (*build_fn)(mbuild *b, int variant, int twin);

/* Build fused and twin, run both, compare; returns the fused node count. */
static size_t check_case(const char *what, build_fn fn, int variant, const odet_tensor *in,
                         size_t n_in, size_t want_nodes)
{
    size_t nodes = 0;
    for (int threads = 1; threads <= 2; threads++) {
        mbuild *fb = calloc(1, sizeof *fb), *tb = calloc(1, sizeof *tb);
        ck_assert(fb && tb);
        unsigned seed = 1000u + (unsigned)variant;
        rng = seed;
        fn(fb, variant, 0);
        rng = seed;
        fn(tb, variant, 1);
        result f = run_model(fb, in, n_in, threads), t = run_model(tb, in, n_in, threads);
        ck_assert_msg(f.nodes == want_nodes, "%s (%d): %zu nodes after the passes, want %zu", what,
                      variant, f.nodes, want_nodes);
        ck_assert_msg(t.nodes > f.nodes, "%s (%d): the twin has %zu nodes, fused %zu", what,
                      variant, t.nodes, f.nodes);
        ck_assert_int_eq(f.rank, t.rank);
        for (int d = 0; d < f.rank; d++)
            ck_assert_int_eq(f.dims[d], t.dims[d]);
        ck_assert_int_eq(f.numel, t.numel);
        for (int64_t i = 0; i < f.numel; i++)
            ck_assert_msg(fabsf(f.y[i] - t.y[i]) <= 2e-5f * (1.0f + fabsf(t.y[i])),
                          "%s (%d), %d threads: y[%lld] = %.7g fused, %.7g unfused", what, variant,
                          threads, (long long)i, f.y[i], t.y[i]);
        nodes = f.nodes;
        free(f.y);
        free(t.y);
        mb_free(fb);
        mb_free(tb);
        free(fb);
        free(tb);
    }
    return nodes;
}

/* ------------------------------------------------------------------ cases */

static const int64_t x_dims[4] = {1, 5, 9, 11};

enum {
    A_RELU,
    A_LEAKY,
    A_CLIP13,
    A_CLIP6,
    A_CLIP_MIN_ONLY,
    A_SIGMOID,
    A_HSIGMOID,
    A_HSWISH,
    A_SILU,
    A_COUNT
};

/* X -> Conv (3x3, pad 1, stride 1 + variant % 2, bias unless variant is odd) -> activation. */
static void build_conv_act(mbuild *b, int variant, int twin)
{
    const int act = variant / 2, stride = 1 + variant % 2;
    b->opset = act == A_CLIP6 ? 6 : 14;
    const int64_t wd[4] = {7, 5, 3, 3}, bd[1] = {7}, pads[4] = {1, 1, 1, 1};
    const int64_t st[2] = {stride, stride};
    mb_value(b, "X", 4, x_dims, 0);
    mb_init(b, "W", 4, wd, 0.5f, NULL);
    mb_init(b, "B", 1, bd, 0.5f, NULL);
    Onnx__NodeProto *c = mb_node(b, "Conv", variant % 2 ? "X,W" : "X,W,B", "c");
    mb_attr_ints(b, c, "pads", pads, 4);
    mb_attr_ints(b, c, "strides", st, 2);
    switch (act) {
    case A_RELU: mb_node(b, "Relu", "c", "Y"); break;
    case A_LEAKY: mb_attr_float(b, mb_node(b, "LeakyRelu", "c", "Y"), "alpha", 0.15f); break;
    case A_CLIP13: {
        const float lo = -0.3f, hi = 0.4f;
        mb_init(b, "lo", 0, NULL, 0.0f, &lo);
        mb_init(b, "hi", 0, NULL, 0.0f, &hi);
        mb_node(b, "Clip", "c,lo,hi", "Y");
        break;
    }
    case A_CLIP6: {
        Onnx__NodeProto *n = mb_node(b, "Clip", "c", "Y");
        mb_attr_float(b, n, "min", 0.0f);
        mb_attr_float(b, n, "max", 6.0f);
        break;
    }
    case A_CLIP_MIN_ONLY: {
        const float lo = -0.1f;
        mb_init(b, "lo", 0, NULL, 0.0f, &lo);
        mb_node(b, "Clip", "c,lo", "Y");
        break;
    }
    case A_SIGMOID: mb_node(b, "Sigmoid", "c", "Y"); break;
    case A_HSIGMOID: {
        Onnx__NodeProto *n = mb_node(b, "HardSigmoid", "c", "Y");
        mb_attr_float(b, n, "alpha", 0.3f);
        mb_attr_float(b, n, "beta", 0.4f);
        break;
    }
    case A_HSWISH: mb_node(b, "HardSwish", "c", "Y"); break;
    case A_SILU:
        mb_node(b, "Sigmoid", "c", "s");
        mb_node(b, "Mul", "s,c", "Y");
        break;
    }
    mb_value(b, "Y", -1, NULL, 1);
    if (twin)
        mb_value(b, "c", -1, NULL, 1);
}

START_TEST(test_conv_activations)
{
    rng = 7u;
    odet_tensor x = input(4, x_dims);
    for (int v = 0; v < 2 * A_COUNT; v++)
        check_case("Conv + activation", build_conv_act, v, &x, 1, 1);
    free(x.data);
}
END_TEST

/* X -> ConvTranspose (4x4, stride 2, pad 1; variant 1: stride 3, output_padding) -> Relu. */
static void build_ct_act(mbuild *b, int variant, int twin)
{
    const int64_t wd[4] = {5, 3, 4, 4}, bd[1] = {3}, pads[4] = {1, 1, 1, 1};
    const int64_t st[2] = {2 + variant, 2 + variant}, op[2] = {1, 0};
    mb_value(b, "X", 4, x_dims, 0);
    mb_init(b, "W", 4, wd, 0.5f, NULL);
    mb_init(b, "B", 1, bd, 0.5f, NULL);
    Onnx__NodeProto *c = mb_node(b, "ConvTranspose", "X,W,B", "c");
    mb_attr_ints(b, c, "pads", pads, 4);
    mb_attr_ints(b, c, "strides", st, 2);
    if (variant)
        mb_attr_ints(b, c, "output_padding", op, 2);
    mb_node(b, variant ? "Sigmoid" : "Relu", "c", "Y");
    mb_value(b, "Y", -1, NULL, 1);
    if (twin)
        mb_value(b, "c", -1, NULL, 1);
}

START_TEST(test_conv_transpose_activation)
{
    rng = 8u;
    odet_tensor x = input(4, x_dims);
    for (int v = 0; v < 2; v++)
        check_case("ConvTranspose + activation", build_ct_act, v, &x, 1, 1);
    free(x.data);
}
END_TEST

/* Frozen batch norm: X -> Conv | ConvTranspose -> Mul(s) -> Add(t) -> Relu, with s
 * and t per channel ([1,C,1,1], [C,1,1] or a scalar). Variant: 0 Conv with
 * bias, 1 Conv without bias (Add first, then Mul), 2 ConvTranspose. */
static void build_affine(mbuild *b, int variant, int twin)
{
    const int64_t wd[4] = {7, 5, 3, 3}, wt[4] = {5, 7, 3, 3}, bd[1] = {7};
    const int64_t s4[4] = {1, 7, 1, 1}, s3[3] = {7, 1, 1}, pads[4] = {1, 1, 1, 1};
    mb_value(b, "X", 4, x_dims, 0);
    mb_init(b, "W", 4, variant == 2 ? wt : wd, 0.5f, NULL);
    mb_init(b, "B", 1, bd, 0.5f, NULL);
    mb_init(b, "S", 4, s4, 1.5f, NULL);
    if (variant == 2)
        mb_init(b, "T", 0, NULL, 0.5f, NULL);
    else
        mb_init(b, "T", 3, s3, 0.5f, NULL);
    Onnx__NodeProto *c =
        mb_node(b, variant == 2 ? "ConvTranspose" : "Conv", variant == 1 ? "X,W" : "X,W,B", "c");
    mb_attr_ints(b, c, "pads", pads, 4);
    if (variant == 1) {
        mb_node(b, "Add", "T,c", "m");
        mb_node(b, "Mul", "m,S", "a");
    } else {
        mb_node(b, "Mul", "c,S", "m");
        mb_node(b, "Add", "m,T", "a");
    }
    mb_node(b, "Relu", "a", "Y");
    mb_value(b, "Y", -1, NULL, 1);
    if (twin) {
        mb_value(b, "c", -1, NULL, 1);
        mb_value(b, "m", -1, NULL, 1);
        mb_value(b, "a", -1, NULL, 1);
    }
}

START_TEST(test_affine_fold)
{
    rng = 13u;
    odet_tensor x = input(4, x_dims);
    for (int v = 0; v < 3; v++)
        check_case("per-channel affine", build_affine, v, &x, 1, 1);
    free(x.data);
}
END_TEST

static const int64_t r_dims[4] = {1, 6, 8, 10};

/* ResNet basic block: X -> Conv -> Relu -> Conv -> Add(., X) -> Relu.
 * Variant 1: Add(X, .) and no final Relu; variant 2: the 3x3 convs have no bias. */
static void build_block(mbuild *b, int variant, int twin)
{
    const int64_t wd[4] = {6, 6, 3, 3}, bd[1] = {6}, pads[4] = {1, 1, 1, 1};
    mb_value(b, "X", 4, r_dims, 0);
    mb_init(b, "W1", 4, wd, 0.3f, NULL);
    mb_init(b, "B1", 1, bd, 0.3f, NULL);
    mb_init(b, "W2", 4, wd, 0.3f, NULL);
    mb_init(b, "B2", 1, bd, 0.3f, NULL);
    mb_attr_ints(b, mb_node(b, "Conv", variant == 2 ? "X,W1" : "X,W1,B1", "c1"), "pads", pads, 4);
    mb_node(b, "Relu", "c1", "r1");
    mb_attr_ints(b, mb_node(b, "Conv", variant == 2 ? "r1,W2" : "r1,W2,B2", "c2"), "pads", pads, 4);
    if (variant == 1) {
        mb_node(b, "Add", "X,c2", "Y");
    } else {
        mb_node(b, "Add", "c2,X", "s");
        mb_node(b, "Relu", "s", "Y");
    }
    mb_value(b, "Y", -1, NULL, 1);
    if (twin) {
        mb_value(b, "c1", -1, NULL, 1);
        mb_value(b, "c2", -1, NULL, 1);
    }
}

START_TEST(test_residual_block)
{
    rng = 9u;
    odet_tensor x = input(4, r_dims);
    for (int v = 0; v < 3; v++)
        check_case("residual block", build_block, v, &x, 1, 2);
    free(x.data);
}
END_TEST

/* Add of two Conv outputs (downsample branch): the later Conv takes the other
 * as its residual. Variant 1 lists the Add operands the other way round. */
static void build_two_convs(mbuild *b, int variant, int twin)
{
    const int64_t wa[4] = {4, 6, 1, 1}, wb[4] = {4, 6, 3, 3}, bd[1] = {4};
    const int64_t pads[4] = {1, 1, 1, 1}, st[2] = {2, 2};
    mb_value(b, "X", 4, r_dims, 0);
    mb_init(b, "WA", 4, wa, 0.3f, NULL);
    mb_init(b, "BA", 1, bd, 0.3f, NULL);
    mb_init(b, "WB", 4, wb, 0.3f, NULL);
    Onnx__NodeProto *a = mb_node(b, "Conv", "X,WA,BA", "a");
    mb_attr_ints(b, a, "strides", st, 2);
    Onnx__NodeProto *c = mb_node(b, "Conv", "X,WB", "c");
    mb_attr_ints(b, c, "strides", st, 2);
    mb_attr_ints(b, c, "pads", pads, 4);
    mb_node(b, "Add", variant ? "c,a" : "a,c", "s");
    mb_node(b, "Relu", "s", "Y");
    mb_value(b, "Y", -1, NULL, 1);
    if (twin) {
        mb_value(b, "a", -1, NULL, 1);
        mb_value(b, "c", -1, NULL, 1);
    }
}

START_TEST(test_add_of_two_convs)
{
    rng = 10u;
    odet_tensor x = input(4, r_dims);
    for (int v = 0; v < 2; v++)
        check_case("Add of two convs", build_two_convs, v, &x, 1, 2);
    free(x.data);
}
END_TEST

/* Residuals that broadcast: variant 0: Conv [1,4,8,10] + R [1,4,1,1];
 * variant 1: Conv [1,4,1,1] + R [1,4,8,10] (the result grows). Both + Relu. */
static const int64_t rb_small[4] = {1, 4, 1, 1}, rb_big[4] = {1, 4, 8, 10};
static const int64_t xb_small[4] = {1, 6, 1, 1};

static void build_broadcast(mbuild *b, int variant, int twin)
{
    const int64_t wd[4] = {4, 6, 1, 1}, bd[1] = {4};
    mb_value(b, "X", 4, variant ? xb_small : r_dims, 0);
    mb_value(b, "R", 4, variant ? rb_big : rb_small, 0);
    mb_init(b, "W", 4, wd, 0.5f, NULL);
    mb_init(b, "B", 1, bd, 0.5f, NULL);
    mb_node(b, "Conv", "X,W,B", "c");
    mb_node(b, "Add", "c,R", "s");
    mb_node(b, "Relu", "s", "Y");
    mb_value(b, "Y", -1, NULL, 1);
    if (twin)
        mb_value(b, "c", -1, NULL, 1);
}

START_TEST(test_broadcast_residual)
{
    rng = 11u;
    for (int v = 0; v < 2; v++) {
        odet_tensor in[2] = {input(4, v ? xb_small : r_dims), input(4, v ? rb_big : rb_small)};
        check_case("broadcast residual", build_broadcast, v, in, 2, 1);
        free(in[0].data);
        free(in[1].data);
    }
}
END_TEST

/* Graphs that must keep their nodes: the Conv output has a second consumer,
 * is a graph output, or the activation's bounds are not constants. */
START_TEST(test_not_fused)
{
    rng = 12u;
    const int64_t wd[4] = {6, 6, 1, 1};
    odet_tensor x = input(4, r_dims);
    for (int v = 0; v < 3; v++) {
        mbuild *b = calloc(1, sizeof *b);
        ck_assert(b != NULL);
        mb_value(b, "X", 4, r_dims, 0);
        mb_init(b, "W", 4, wd, 0.5f, NULL);
        mb_node(b, "Conv", "X,W", "c");
        size_t want = 3;
        if (v == 0) { /* c read by Relu and by Add */
            mb_node(b, "Relu", "c", "r");
            mb_node(b, "Add", "r,c", "Y");
            mb_value(b, "Y", -1, NULL, 1);
        } else if (v == 1) { /* c is an output */
            mb_node(b, "Relu", "c", "Y");
            mb_value(b, "Y", -1, NULL, 1);
            mb_value(b, "c", -1, NULL, 1);
            want = 2;
        } else { /* Clip bound from a graph input */
            mb_value(b, "lo", 0, NULL, 0);
            mb_node(b, "Clip", "c,lo", "Y");
            mb_value(b, "Y", -1, NULL, 1);
            want = 2;
        }
        odet_tensor in[2] = {x, {0}};
        float lo = -0.25f;
        in[1].dtype = ODET_FLOAT;
        in[1].rank = 0;
        in[1].data = &lo;
        result r = run_model(b, in, v == 2 ? 2 : 1, 1);
        ck_assert_msg(r.nodes == want, "case %d: %zu nodes, want %zu", v, r.nodes, want);
        free(r.y);
        mb_free(b);
        free(b);
    }
    free(x.data);
}
END_TEST

/* ------------------------------------------------------------------ release of packed weights */

/* How a release case builds its weights. */
enum { REL_CONST = 0, /* initializers: released where every consumer packed them */
       REL_KEPT,      /* initializers also listed as graph outputs: never released */
       REL_INPUTS,    /* graph inputs fed at run time: packed per run */
       REL_MODES };

#define REL_MAX_W 8

typedef struct relcase {
    int mode;
    int n_w;
    const char *name[REL_MAX_W];
    odet_tensor w[REL_MAX_W]; /* values (owned) */
    int released[REL_MAX_W];  /* expected after load in REL_CONST */
} relcase;

/* A weight of the case: random values from rng, added as the mode wants. */
static void rel_weight(mbuild *b, relcase *c, const char *name, int rank, const int64_t *dims,
                       float scale, int released)
{
    ck_assert(c->n_w < REL_MAX_W);
    odet_tensor t = input(rank, dims); /* values 2 * frand() */
    int64_t n = odet_tensor_numel(&t);
    for (int64_t i = 0; i < n; i++)
        ((float *)t.data)[i] *= 0.5f * scale;
    c->name[c->n_w] = name;
    c->w[c->n_w] = t;
    c->released[c->n_w] = released;
    c->n_w++;
    if (c->mode == REL_INPUTS)
        mb_value(b, name, rank, dims, 0);
    else
        mb_init(b, name, rank, dims, 0.0f, t.data);
}

/* After the model's own outputs: the weights as outputs too in REL_KEPT. */
static void rel_finish(mbuild *b, relcase *c)
{
    if (c->mode == REL_KEPT)
        for (int i = 0; i < c->n_w; i++)
            mb_value(b, c->name[i], -1, NULL, 1);
}

static void rel_free(relcase *c)
{
    for (int i = 0; i < c->n_w; i++)
        free(c->w[i].data);
}

typedef void (*rel_build_fn)(mbuild *b, relcase *c);

/* Outputs [0, n_cmp) of every run, concatenated, of one mode. */
typedef struct relrun {
    float *y;
    size_t n;
} relrun;

/* Build the case in `mode`, load it, check what was released (REL_CONST),
 * run it on every input shape in one session (twice per shape) and collect
 * outputs [0, n_cmp). */
static relrun rel_run(rel_build_fn fn, int mode, int xrank, const int64_t (*xdims)[5],
                      int n_sizes, int n_cmp, int threads)
{
    mbuild *b = calloc(1, sizeof *b);
    relcase c;
    memset(&c, 0, sizeof c);
    ck_assert(b != NULL);
    c.mode = mode;
    rng = 4242u;
    fn(b, &c);
    rel_finish(b, &c);
    size_t len;
    uint8_t *buf = mb_pack(b, &len);
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    ck_assert_msg(odet_model_load_buffer(buf, len, NULL, &m, err, sizeof err) == ODET_OK, "%s",
                  err);
    const odet_graph *g = odet_model_graph(m);
    odet_model_stats ms;
    odet_model_get_stats(m, &ms);
    /* Every constant's bytes before packing (stats count dims, data or not),
     * minus the released ones, is what the graph still holds. */
    size_t released = 0;
    for (int i = 0; i < c.n_w; i++) {
        if (mode == REL_INPUTS)
            continue;
        int v = odet_graph_find_value(g, c.name[i]);
        ck_assert_msg(v >= 0, "%s not found", c.name[i]);
        const odet_value *val = &g->values[v];
        ck_assert_msg(val->kind == ODET_VALUE_CONSTANT && val->constant, "%s", c.name[i]);
        const int want = mode == REL_CONST && c.released[i];
        ck_assert_msg(val->data_released == want, "mode %d: %s released = %d, want %d", mode,
                      c.name[i], val->data_released, want);
        ck_assert_msg((val->constant->data == NULL) == want, "%s: data %p", c.name[i],
                      val->constant->data);
        /* shapes stay for shape inference and tools */
        ck_assert_int_eq(val->constant->rank, c.w[i].rank);
        for (int d = 0; d < c.w[i].rank; d++)
            ck_assert_int_eq(val->constant->dims[d], c.w[i].dims[d]);
        if (want)
            released += odet_tensor_bytes(&c.w[i]);
    }
    ck_assert_uint_eq(odet_graph_constant_bytes(g), ms.weight_bytes - released);

    odet_session *s = NULL;
    odet_session_options opt = {threads};
    ck_assert_int_eq(odet_session_create(m, &opt, &s, err, sizeof err), ODET_OK);
    relrun r = {NULL, 0};
    for (int k = 0; k < n_sizes; k++) {
        odet_tensor in[1 + REL_MAX_W];
        rng = 777u + (unsigned)k;
        in[0] = input(xrank, xdims[k]);
        size_t n_in = 1;
        if (mode == REL_INPUTS)
            for (int i = 0; i < c.n_w; i++)
                in[n_in++] = c.w[i];
        for (int rep = 0; rep < 2; rep++) {
            ck_assert_msg(odet_session_run(s, in, n_in, err, sizeof err) == ODET_OK,
                          "mode %d size %d: %s", mode, k, err);
            for (int o = 0; o < n_cmp; o++) {
                const odet_tensor *y = odet_session_output(s, (size_t)o);
                ck_assert(y != NULL && y->dtype == ODET_FLOAT);
                size_t n = (size_t)odet_tensor_numel(y);
                r.y = realloc(r.y, (r.n + n + 1) * sizeof(float));
                ck_assert(r.y != NULL);
                memcpy(r.y + r.n, y->data, n * sizeof(float));
                r.n += n;
            }
        }
        free(in[0].data);
    }
    odet_session_free(s);
    odet_model_free(m);
    rel_free(&c);
    mb_free(b);
    free(b);
    return r;
}

/* Run the case in every mode: outputs must be bit-identical. */
static void rel_check(const char *what, rel_build_fn fn, int xrank, const int64_t (*xdims)[5],
                      int n_sizes, int n_cmp)
{
    for (int threads = 1; threads <= 2; threads++) {
        relrun r[REL_MODES];
        for (int mode = 0; mode < REL_MODES; mode++)
            r[mode] = rel_run(fn, mode, xrank, xdims, n_sizes, n_cmp, threads);
        for (int mode = 1; mode < REL_MODES; mode++) {
            ck_assert_uint_eq(r[mode].n, r[0].n);
            for (size_t i = 0; i < r[0].n; i++)
                ck_assert_msg(memcmp(&r[0].y[i], &r[mode].y[i], sizeof(float)) == 0,
                              "%s, %d threads: value %zu is %.9g with released weights, %.9g "
                              "in mode %d",
                              what, threads, i, r[0].y[i], r[mode].y[i], mode);
        }
        for (int mode = 0; mode < REL_MODES; mode++)
            free(r[mode].y);
    }
}

static void rel_pads(mbuild *b, Onnx__NodeProto *n, int nsp, int64_t p)
{
    int64_t pads[6] = {p, p, p, p, p, p};
    mb_attr_ints(b, n, "pads", pads, (size_t)(2 * nsp));
}

/* Conv 3x3 (Winograd where the kernels have it) + bias + Relu, pointwise Conv,
 * depthwise Conv (kept), ConvTranspose stride 2, Conv 3x3 stride 2. */
static void build_rel_chain(mbuild *b, relcase *c)
{
    const int64_t xd[4] = {1, 16, -1, -1};
    const int64_t wa[4] = {16, 16, 3, 3}, ba[1] = {16}, wb[4] = {8, 16, 1, 1};
    const int64_t wd[4] = {8, 1, 3, 3}, wt[4] = {8, 8, 4, 4}, ws[4] = {8, 8, 3, 3};
    const int64_t s2[2] = {2, 2};
    mb_value(b, "X", 4, xd, 0);
    rel_weight(b, c, "Wa", 4, wa, 0.3f, 1);
    rel_weight(b, c, "Ba", 1, ba, 0.5f, 0); /* bias: read by run() */
    rel_weight(b, c, "Wb", 4, wb, 0.5f, 1);
    rel_weight(b, c, "Wd", 4, wd, 0.5f, 0); /* depthwise: never packed */
    rel_weight(b, c, "Wt", 4, wt, 0.3f, 1);
    rel_weight(b, c, "Ws", 4, ws, 0.3f, 1);
    rel_pads(b, mb_node(b, "Conv", "X,Wa,Ba", "a"), 2, 1);
    mb_node(b, "Relu", "a", "ar");
    mb_node(b, "Conv", "ar,Wb", "bb");
    Onnx__NodeProto *n = mb_node(b, "Conv", "bb,Wd", "d");
    rel_pads(b, n, 2, 1);
    Onnx__AttributeProto *ga = mb_attr(b, n, "group");
    ga->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    ga->has_i = 1;
    ga->i = 8;
    n = mb_node(b, "ConvTranspose", "d,Wt", "t");
    mb_attr_ints(b, n, "strides", s2, 2);
    rel_pads(b, n, 2, 1);
    n = mb_node(b, "Conv", "t,Ws", "Y");
    mb_attr_ints(b, n, "strides", s2, 2);
    rel_pads(b, n, 2, 1);
    mb_value(b, "Y", -1, NULL, 1);
}

/* Shared weights: Wsh feeds two Convs (both pack it: released); Wk feeds a
 * Conv and a Mul (kept); Wo feeds a Conv and is a graph output (kept). */
static void build_rel_shared(mbuild *b, relcase *c)
{
    const int64_t xd[4] = {1, 8, -1, -1}, w3[4] = {8, 8, 3, 3}, w1[4] = {8, 8, 1, 1};
    mb_value(b, "X", 4, xd, 0);
    rel_weight(b, c, "Wsh", 4, w3, 0.3f, 1);
    rel_weight(b, c, "Wk", 4, w1, 0.5f, 0);
    rel_weight(b, c, "Wo", 4, w1, 0.5f, 0);
    rel_pads(b, mb_node(b, "Conv", "X,Wsh", "c1"), 2, 1);
    rel_pads(b, mb_node(b, "Conv", "c1,Wsh", "c2"), 2, 1);
    mb_node(b, "Conv", "c2,Wk", "c3");
    mb_node(b, "Mul", "c3,Wk", "Y");
    mb_node(b, "Conv", "c2,Wo", "Y2");
    mb_value(b, "Y", -1, NULL, 1);
    mb_value(b, "Y2", -1, NULL, 1);
    if (c->mode == REL_CONST)
        mb_value(b, "Wo", -1, NULL, 1);
}

/* 3-D: a 1x3x3 kernel runs Winograd at depth 1 and GEMM otherwise when the
 * kernels have Winograd, so its weights stay then; a 3x3x3 kernel is GEMM at
 * every size (released). */
static void build_rel_3d(mbuild *b, relcase *c)
{
    const int64_t xd[5] = {1, 8, -1, -1, -1}, w133[5] = {8, 8, 1, 3, 3};
    const int64_t w333[5] = {8, 8, 3, 3, 3};
    const int64_t pads[6] = {0, 1, 1, 0, 1, 1};
    mb_value(b, "X", 5, xd, 0);
    rel_weight(b, c, "W133", 5, w133, 0.3f, odet_kernels_get()->f32_wino43_conv == NULL);
    rel_weight(b, c, "W333", 5, w333, 0.2f, 1);
    Onnx__NodeProto *n = mb_node(b, "Conv", "X,W133", "a");
    mb_attr_ints(b, n, "pads", pads, 6);
    rel_pads(b, mb_node(b, "Conv", "a,W333", "Y"), 3, 1);
    mb_value(b, "Y", -1, NULL, 1);
}

START_TEST(test_release_chain)
{
    /* sizes in one session: re-plans each time, back to an earlier size last */
    static const int64_t sizes[][5] = {{1, 16, 16, 16}, {1, 16, 5, 7}, {1, 16, 1, 1},
                                       {1, 16, 9, 4},   {1, 16, 33, 20}, {1, 16, 16, 16}};
    rel_check("chain", build_rel_chain, 4, sizes, 6, 1);
}
END_TEST

START_TEST(test_release_shared)
{
    static const int64_t sizes[][5] = {{1, 8, 12, 12}, {1, 8, 3, 5}, {1, 8, 12, 12}};
    rel_check("shared", build_rel_shared, 4, sizes, 3, 2);
}
END_TEST

START_TEST(test_release_3d_layout_choice)
{
    static const int64_t sizes[][5] = {
        {1, 8, 1, 10, 9}, {1, 8, 3, 10, 9}, {1, 8, 1, 6, 6}, {1, 8, 2, 5, 5}};
    rel_check("3-D", build_rel_3d, 5, sizes, 4, 1);
}
END_TEST

/* ------------------------------------------------------------------ shared packed weights */

/* Weights read by several packing nodes. `shared`: each weight is one
 * initializer; else every consumer gets its own initializer with the same
 * values. Consumers of one weight with the same packed layout must share one
 * buffer; differing layouts (Winograd vs GEMM, groups, ConvTranspose pads)
 * must not. */
#define SH_W 7
static const char *const sh_names[SH_W] = {"W3", "Wg", "W1", "Wt", "Wr", "Wo", "Wd"};

static void sh_weights(mbuild *b, int shared, const char *name, int rank, const int64_t *dims,
                       float scale, int uses)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    float *v = malloc((size_t)n * sizeof *v);
    ck_assert(v != NULL);
    for (int64_t i = 0; i < n; i++)
        v[i] = scale * frand();
    char nm[32];
    for (int u = 0; u < (shared ? 1 : uses); u++) {
        snprintf(nm, sizeof nm, shared ? "%s" : "%s_%d", name, u);
        mb_init(b, nm, rank, dims, 0.0f, v);
    }
    free(v);
}

/* Name of use u of weight `name`. */
static const char *sh_use(char *buf, int shared, const char *name, int u)
{
    if (shared)
        snprintf(buf, 32, "%s", name);
    else
        snprintf(buf, 32, "%s_%d", name, u);
    return buf;
}

static Onnx__NodeProto *sh_node(mbuild *b, int shared, const char *op, const char *x,
                                const char *w, int u, const char *extra, const char *out)
{
    char wn[32], ins[128];
    snprintf(ins, sizeof ins, "%s,%s%s", x, sh_use(wn, shared, w, u), extra ? extra : "");
    return mb_node(b, op, ins, out);
}

static void sh_int(mbuild *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
}

static void build_shared(mbuild *b, int shared)
{
    const int64_t xd[4] = {1, 16, -1, -1};
    const int64_t w3[4] = {16, 16, 3, 3}, wg[4] = {16, 8, 3, 3}, w1[4] = {16, 8, 1, 1};
    const int64_t wt[4] = {16, 8, 4, 4}, wr[4] = {8, 16, 1, 1}, wo[4] = {18, 16, 3, 3};
    const int64_t wd[4] = {16, 16, 3, 3}, s2[2] = {2, 2}, d2[2] = {2, 2};
    b->opset = 19;
    mb_value(b, "X", 4, xd, 0);
    rng = 99u;
    sh_weights(b, shared, "W3", 4, w3, 0.2f, 5);
    sh_weights(b, shared, "Wg", 4, wg, 0.2f, 2);
    sh_weights(b, shared, "W1", 4, w1, 0.3f, 2);
    sh_weights(b, shared, "Wt", 4, wt, 0.2f, 3);
    sh_weights(b, shared, "Wr", 4, wr, 0.3f, 1);
    sh_weights(b, shared, "Wo", 4, wo, 0.05f, 1);
    sh_weights(b, shared, "Wd", 4, wd, 0.2f, 2);
    /* W3: two 3x3 stride-1 (Winograd where the kernels have it), three GEMM
     * (stride 2, stride 2 unpadded, dilation 2). */
    rel_pads(b, sh_node(b, shared, "Conv", "X", "W3", 0, NULL, "c1"), 2, 1);
    rel_pads(b, sh_node(b, shared, "Conv", "c1", "W3", 1, NULL, "c2"), 2, 1);
    Onnx__NodeProto *n = sh_node(b, shared, "Conv", "c2", "W3", 2, NULL, "c3");
    rel_pads(b, n, 2, 1);
    mb_attr_ints(b, n, "strides", s2, 2);
    n = sh_node(b, shared, "Conv", "c3", "W3", 3, NULL, "Y1");
    mb_attr_ints(b, n, "strides", s2, 2);
    n = sh_node(b, shared, "Conv", "c2", "W3", 4, NULL, "Y2");
    rel_pads(b, n, 2, 2);
    mb_attr_ints(b, n, "dilations", d2, 2);
    /* Wg, 2 groups: Winograd-able and stride 2 */
    n = sh_node(b, shared, "Conv", "c1", "Wg", 0, NULL, "Y3");
    rel_pads(b, n, 2, 1);
    sh_int(b, n, "group", 2);
    n = sh_node(b, shared, "Conv", "c1", "Wg", 1, NULL, "Y4");
    rel_pads(b, n, 2, 1);
    sh_int(b, n, "group", 2);
    mb_attr_ints(b, n, "strides", s2, 2);
    /* W1 [16, 8, 1, 1]: group 1 on 8 channels and group 2 on 16 (other layout) */
    sh_node(b, shared, "Conv", "c1", "Wr", 0, NULL, "r");
    sh_node(b, shared, "Conv", "r", "W1", 0, NULL, "Y5");
    n = sh_node(b, shared, "Conv", "c1", "W1", 1, NULL, "Y6");
    sh_int(b, n, "group", 2);
    /* ConvTranspose stride 2: pads 1 twice (shared), pads 0 (other phases) */
    n = sh_node(b, shared, "ConvTranspose", "c1", "Wt", 0, NULL, "Y7");
    mb_attr_ints(b, n, "strides", s2, 2);
    rel_pads(b, n, 2, 1);
    n = sh_node(b, shared, "ConvTranspose", "c2", "Wt", 1, NULL, "Y8");
    mb_attr_ints(b, n, "strides", s2, 2);
    rel_pads(b, n, 2, 1);
    n = sh_node(b, shared, "ConvTranspose", "c2", "Wt", 2, NULL, "Y9");
    mb_attr_ints(b, n, "strides", s2, 2);
    /* DeformConv twice with the same weights */
    rel_pads(b, sh_node(b, shared, "Conv", "c1", "Wo", 0, NULL, "off"), 2, 1);
    rel_pads(b, sh_node(b, shared, "DeformConv", "c1", "Wd", 0, ",off", "Y10"), 2, 1);
    rel_pads(b, sh_node(b, shared, "DeformConv", "c2", "Wd", 1, ",off", "Y11"), 2, 1);
    char nm[8];
    for (int i = 1; i <= 11; i++) {
        snprintf(nm, sizeof nm, "Y%d", i);
        mb_value(b, nm, -1, NULL, 1);
    }
}

/* Conv 11, ConvTranspose 3, DeformConv 2 */
#define SH_PACKING_NODES 16

static relrun sh_run(int shared, int threads, size_t *n_bufs, size_t *bytes)
{
    mbuild *b = calloc(1, sizeof *b);
    ck_assert(b != NULL);
    build_shared(b, shared);
    size_t len;
    uint8_t *buf = mb_pack(b, &len);
    char err[ODET_ERRBUF_SIZE];
    odet_model *m = NULL;
    ck_assert_msg(odet_model_load_buffer(buf, len, NULL, &m, err, sizeof err) == ODET_OK, "%s",
                  err);
    const odet_graph *g = odet_model_graph(m);
    /* Every packing node holds one reference to a buffer, the cache one more. */
    size_t node_refs = 0;
    for (int i = 0; i < g->packs.n; i++) {
        ck_assert(g->packs.items[i]->refs >= 2);
        node_refs += g->packs.items[i]->refs - 1;
        for (int j = 0; j < i; j++) /* never two buffers for one key */
            ck_assert(g->packs.items[i]->key.value != g->packs.items[j]->key.value ||
                      memcmp(g->packs.items[i]->key.p, g->packs.items[j]->key.p,
                             sizeof g->packs.items[i]->key.p) != 0 ||
                      strcmp(g->packs.items[i]->key.kind, g->packs.items[j]->key.kind) != 0);
    }
    ck_assert_uint_eq(node_refs, SH_PACKING_NODES);
    *n_bufs = (size_t)g->packs.n;
    *bytes = odet_graph_packed_bytes(g);
    /* The shared weights are released (every consumer packed them). */
    if (shared)
        for (int i = 0; i < SH_W; i++) {
            int v = odet_graph_find_value(g, sh_names[i]);
            ck_assert_msg(v >= 0 && g->values[v].data_released, "%s kept", sh_names[i]);
        }
    odet_session *s = NULL;
    odet_session_options opt = {threads};
    ck_assert_int_eq(odet_session_create(m, &opt, &s, err, sizeof err), ODET_OK);
    static const int64_t sizes[][4] = {{1, 16, 12, 12}, {1, 16, 7, 9}, {1, 16, 12, 12}};
    relrun r = {NULL, 0};
    for (int k = 0; k < 3; k++) {
        rng = 555u + (unsigned)k;
        odet_tensor in = input(4, sizes[k]);
        ck_assert_msg(odet_session_run(s, &in, 1, err, sizeof err) == ODET_OK, "%s", err);
        for (size_t o = 0; o < odet_model_output_count(m); o++) {
            const odet_tensor *y = odet_session_output(s, o);
            size_t n = (size_t)odet_tensor_numel(y);
            r.y = realloc(r.y, (r.n + n + 1) * sizeof(float));
            ck_assert(r.y != NULL);
            memcpy(r.y + r.n, y->data, n * sizeof(float));
            r.n += n;
        }
        free(in.data);
    }
    odet_session_free(s);
    odet_model_free(m); /* ASan/LSan: every packed buffer released */
    mb_free(b);
    free(b);
    return r;
}

START_TEST(test_shared_packed_weights)
{
    const int wino = odet_kernels_get()->f32_wino43_conv != NULL;
    for (int threads = 1; threads <= 2; threads++) {
        size_t nb_s, nb_u, by_s, by_u;
        relrun rs = sh_run(1, threads, &nb_s, &by_s);
        relrun ru = sh_run(0, threads, &nb_u, &by_u);
        /* unshared: one buffer per packing node */
        ck_assert_uint_eq(nb_u, SH_PACKING_NODES);
        /* shared: W3 wino + GEMM, Wg wino + GEMM (one each without Winograd),
         * W1 two groupings, Wt two pad sets, Wr, Wo, Wd */
        ck_assert_uint_eq(nb_s, wino ? 11 : 9);
        ck_assert_msg(by_s < by_u, "shared %zu bytes, unshared %zu", by_s, by_u);
        ck_assert_uint_eq(rs.n, ru.n);
        for (size_t i = 0; i < rs.n; i++)
            ck_assert_msg(memcmp(&rs.y[i], &ru.y[i], sizeof(float)) == 0,
                          "%d threads: value %zu is %.9g shared, %.9g unshared", threads, i,
                          rs.y[i], ru.y[i]);
        free(rs.y);
        free(ru.y);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("passes");
    TCase *tc = tcase_create("fuse_conv_act");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_conv_activations);
    tcase_add_test(tc, test_conv_transpose_activation);
    tcase_add_test(tc, test_affine_fold);
    tcase_add_test(tc, test_residual_block);
    tcase_add_test(tc, test_add_of_two_convs);
    tcase_add_test(tc, test_broadcast_residual);
    tcase_add_test(tc, test_not_fused);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("release");
    tcase_set_timeout(tr, 120);
    tcase_add_test(tr, test_release_chain);
    tcase_add_test(tr, test_release_shared);
    tcase_add_test(tr, test_release_3d_layout_choice);
    tcase_add_test(tr, test_shared_packed_weights);
    suite_add_tcase(s, tr);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
