#include "op_harness.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

test_node *node_new(const char *op, int opset, int n_in, int n_out)
{
    test_node *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->node.name = "n";
    t->node.op_type = (char *)op;
    t->node.domain = "";
    t->node.opset = opset;
    t->node.n_in = n_in;
    t->node.n_out = n_out;
    t->node.in = t->ins;
    t->node.out = t->outs;
    t->node.attrs = t->attrs;
    for (int i = 0; i < TEST_NODE_MAX_IO; i++)
        t->ins[i] = t->outs[i] = i;
    return t;
}

test_node *node_new1(const char *op, int opset, int n_in)
{
    return node_new(op, opset, n_in, 1);
}

odet_attr *attr_add(test_node *t, const char *name, odet_attr_type type)
{
    ck_assert_int_lt(t->node.n_attr, TEST_NODE_MAX_ATTRS);
    odet_attr *a = &t->attrs[t->node.n_attr++];
    memset(a, 0, sizeof *a);
    a->name = (char *)name;
    a->type = type;
    return a;
}

void attr_int(test_node *t, const char *name, int64_t v)
{
    attr_add(t, name, ODET_ATTR_INT)->i = v;
}

void attr_float(test_node *t, const char *name, float v)
{
    attr_add(t, name, ODET_ATTR_FLOAT)->f = v;
}

void attr_string(test_node *t, const char *name, const char *s)
{
    odet_attr *a = attr_add(t, name, ODET_ATTR_STRING);
    a->s = (char *)s;
    a->s_len = strlen(s);
}

void attr_ints(test_node *t, const char *name, const int64_t *v, size_t n)
{
    int slot = t->node.n_attr;
    ck_assert_uint_le(n, TEST_NODE_MAX_VALUES);
    odet_attr *a = attr_add(t, name, ODET_ATTR_INTS);
    if (n)
        memcpy(t->ints[slot], v, n * sizeof *v);
    a->ints = t->ints[slot];
    a->n = n;
}

void attr_floats(test_node *t, const char *name, const float *v, size_t n)
{
    int slot = t->node.n_attr;
    ck_assert_uint_le(n, TEST_NODE_MAX_VALUES);
    odet_attr *a = attr_add(t, name, ODET_ATTR_FLOATS);
    if (n)
        memcpy(t->floats[slot], v, n * sizeof *v);
    a->floats = t->floats[slot];
    a->n = n;
}

odet_tensor tensor(odet_dtype dt, int rank, const int64_t *dims)
{
    odet_tensor x;
    memset(&x, 0, sizeof x);
    x.dtype = dt;
    x.rank = rank;
    for (int i = 0; i < rank; i++)
        x.dims[i] = dims[i];
    size_t bytes = odet_tensor_bytes(&x);
    x.data = calloc(bytes ? bytes : 1, 1);
    return x;
}

odet_tensor tensor_f32(int rank, const int64_t *dims, const float *v)
{
    odet_tensor x = tensor(ODET_FLOAT, rank, dims);
    memcpy(x.data, v, odet_tensor_bytes(&x));
    return x;
}

odet_tensor ints_tensor(const int64_t *v, int64_t n)
{
    odet_tensor x = tensor(ODET_INT64, 1, &n);
    memcpy(x.data, v, (size_t)n * sizeof *v);
    return x;
}

odet_tensor floats_tensor(const float *v, int64_t n)
{
    odet_tensor x = tensor(ODET_FLOAT, 1, &n);
    memcpy(x.data, v, (size_t)n * sizeof *v);
    return x;
}

odet_tensor scalar_tensor(odet_dtype dt, const void *v)
{
    odet_tensor x = tensor(dt, 0, NULL);
    memcpy(x.data, v, odet_dtype_size(dt));
    return x;
}

void tensor_free(odet_tensor *x)
{
    free(x->data);
    x->data = NULL;
}

unsigned lcg(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

run_result op_run(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor **out,
                  int n_out, const op_run_opts *opts)
{
    run_result r;
    memset(&r, 0, sizeof r);
    const odet_op_def *def = odet_op_lookup("", t->node.op_type, t->node.opset);
    if (!def && opts->missing_ok) {
        r.st = ODET_ERR_UNSUPPORTED;
        return r;
    }
    ck_assert_msg(def != NULL, "op %s-%d not registered", t->node.op_type, t->node.opset);
    t->node.def = def;
    t->node.params = NULL;
    if (def->prepare) {
        r.st = def->prepare(&t->node, r.err, sizeof r.err);
        if (r.st != ODET_OK)
            return r;
    }
    odet_op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.node = &t->node;
    ctx.params = t->node.params;
    ctx.n_in = n_in;
    ctx.n_out = n_out;
    ctx.in = in;
    ctx.out = out;
    ctx.threads = opts->threads;
    ctx.err = r.err;
    ctx.errlen = sizeof r.err;
    r.st = def->infer(&ctx);
    if (r.st == ODET_OK) {
        int inplace = opts->inplace_input;
        for (int i = 0; i < n_out; i++) {
            if (!out[i])
                continue;
            size_t bytes = odet_tensor_bytes(out[i]);
            if (i == 0 && inplace >= 0) {
                ck_assert_uint_eq(bytes, odet_tensor_bytes(in[inplace]));
                out[i]->data = in[inplace]->data;
            } else {
                out[i]->data = malloc(bytes ? bytes : 1);
                ck_assert_ptr_nonnull(out[i]->data);
                memset(out[i]->data, opts->out_fill, bytes ? bytes : 1);
            }
        }
        if (inplace < 0 && (def->flags & ODET_OP_ALIAS) && n_out > 0 && out[0] && n_in > 0 &&
            in[0])
            memcpy(out[0]->data, in[0]->data, odet_tensor_bytes(out[0]));
        size_t sb = def->scratch ? def->scratch(&ctx) : 0;
        void *scratch = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
        ctx.scratch = scratch;
        ctx.scratch_bytes = sb;
        if (def->run)
            r.st = def->run(&ctx);
        free(scratch);
    }
    if (t->node.params) {
        if (def->release)
            def->release(t->node.params);
        else
            free(t->node.params);
        t->node.params = NULL;
    }
    return r;
}

run_result run_node(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor **out,
                    int n_out, int threads)
{
    op_run_opts o = {.threads = threads, .inplace_input = -1};
    return op_run(t, in, n_in, out, n_out, &o);
}

run_result run_node_alias(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor *out,
                          int threads, int alias)
{
    odet_tensor *outs[1] = {out};
    op_run_opts o = {.threads = threads, .inplace_input = alias};
    return op_run(t, in, n_in, outs, 1, &o);
}

run_result run_node1(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor *out,
                     int threads)
{
    return run_node_alias(t, in, n_in, out, threads, -1);
}
