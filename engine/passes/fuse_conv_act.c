/* Conv / ConvTranspose + activation (and Conv + residual Add) -> one node whose
 * GEMM applies them on its final write-back:
 *
 *   Conv -> Mul / Add by per-channel constants  (folded into the weights and
 *           bias first: frozen batch norms export as x * scale + shift)
 *   Conv -> Relu | LeakyRelu | Clip (constant bounds) | Sigmoid | HardSigmoid | HardSwish
 *   Conv -> Sigmoid -> Mul(conv, sigmoid)      (SiLU)
 *   Conv -> Add(conv, r) [-> activation]       (residual; Conv only)
 *
 * The fused node gets internal attributes (read by the ops' prepare):
 *   odet.activation = "<op type>" or "Silu", odet.activation_alpha / _beta
 *   (LeakyRelu alpha; Clip min / max; HardSigmoid alpha / beta), and for a
 *   residual odet.residual = 1 with r as input 3.
 * A value is only folded away when the node reading it is its single consumer
 * and it is not a graph output. For Add(y1, y2) of two Conv outputs the later
 * Conv takes the earlier one's output as its residual, so the graph stays
 * acyclic. The Conv op handles a residual whose shape differs (broadcasting)
 * itself, so the rewrite needs no shapes. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "passes/passes.h"

static int is_op(const odet_node *n, const char *type)
{
    return n->op_type && strcmp(n->op_type, type) == 0 && n->domain && n->domain[0] == '\0';
}

static int is_conv(const odet_node *n);
static int sole_consumer(const odet_graph *g, const int *consumer, int v);

static int is_conv(const odet_node *n)
{
    return (is_op(n, "Conv") || is_op(n, "ConvTranspose")) && n->n_out == 1 && n->out[0] >= 0 &&
           n->def;
}

static int already_fused(const odet_node *n)
{
    return odet_attr_find(n, "odet.activation") != NULL;
}

/* Float value of a 1-element float constant input k, or `def` when absent. */
static int const_scalar(const odet_graph *g, const odet_node *n, int k, float def, float *out)
{
    if (k >= n->n_in || n->in[k] < 0) {
        *out = def;
        return 1;
    }
    const odet_value *v = &g->values[n->in[k]];
    if (v->kind != ODET_VALUE_CONSTANT || !v->constant || v->constant->dtype != ODET_FLOAT ||
        odet_tensor_numel(v->constant) != 1)
        return 0;
    *out = *(const float *)v->constant->data;
    return 1;
}

/* The only consumer of value v when v has exactly one and is not a graph
 * output; -1 otherwise. */
static int sole_consumer(const odet_graph *g, const int *consumer, int v)
{
    const odet_value *val = &g->values[v];
    if (val->n_consumers != 1 || val->is_output || val->kind != ODET_VALUE_ACTIVATION)
        return -1;
    return consumer[v];
}

static int add_attr(odet_node *n, const char *name, odet_attr_type type, odet_attr **out)
{
    odet_attr *a = realloc(n->attrs, ((size_t)n->n_attr + 1) * sizeof *a);
    if (!a)
        return -1;
    n->attrs = a;
    a = &n->attrs[n->n_attr];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    if (!a->name)
        return -1;
    a->type = type;
    n->n_attr++;
    *out = a;
    return 0;
}

/* Record the activation on the node: returns 0, or -1 when out of memory. */
static int set_activation(odet_node *n, const char *act, float alpha, float beta)
{
    odet_attr *a;
    if (add_attr(n, "odet.activation", ODET_ATTR_STRING, &a))
        return -1;
    a->s = strdup(act);
    if (!a->s)
        return -1;
    a->s_len = strlen(act);
    if (add_attr(n, "odet.activation_alpha", ODET_ATTR_FLOAT, &a))
        return -1;
    a->f = alpha;
    if (add_attr(n, "odet.activation_beta", ODET_ATTR_FLOAT, &a))
        return -1;
    a->f = beta;
    return 0;
}

/* Activation node `an` reading value x: its fused name and parameters, or 0. */
static int activation_of(const odet_graph *g, const odet_node *an, const char **name, float *alpha,
                         float *beta)
{
    *alpha = *beta = 0.0f;
    if (an->n_out < 1 || an->out[0] < 0 || an->n_in < 1)
        return 0;
    for (int k = 1; k < an->n_out; k++)
        if (an->out[k] >= 0)
            return 0;
    if (is_op(an, "Relu") || is_op(an, "Sigmoid") || is_op(an, "HardSwish")) {
        if (an->n_in != 1)
            return 0;
        *name = an->op_type;
        return 1;
    }
    if (is_op(an, "LeakyRelu")) {
        *name = "LeakyRelu";
        *alpha = odet_attr_float(an, "alpha", 0.01f);
        return an->n_in == 1;
    }
    if (is_op(an, "HardSigmoid")) {
        *name = "HardSigmoid";
        *alpha = odet_attr_float(an, "alpha", 0.2f);
        *beta = odet_attr_float(an, "beta", 0.5f);
        return an->n_in == 1;
    }
    if (is_op(an, "Clip")) {
        *name = "Clip";
        if (an->opset < 11) {
            *alpha = odet_attr_float(an, "min", -FLT_MAX);
            *beta = odet_attr_float(an, "max", FLT_MAX);
            return an->n_in == 1;
        }
        return an->n_in <= 3 && const_scalar(g, an, 1, -INFINITY, alpha) &&
               const_scalar(g, an, 2, INFINITY, beta);
    }
    return 0;
}

/* ---- per-channel affine folding ---- */

/* Float constant input k of node n, or NULL. */
static const odet_tensor *const_input(const odet_graph *g, const odet_node *n, int k)
{
    if (k >= n->n_in || n->in[k] < 0)
        return NULL;
    const odet_value *v = &g->values[n->in[k]];
    if (v->kind != ODET_VALUE_CONSTANT || !v->constant || v->constant->dtype != ODET_FLOAT)
        return NULL;
    return v->constant;
}

/* Whether constant c, broadcast against an output of rank `orank` with `oc`
 * channels (axis 1), is one value per channel (or a single value) and does
 * not grow the output. */
static int per_channel(const odet_tensor *c, int orank, int64_t oc)
{
    const int64_t n = odet_tensor_numel(c);
    if (c->rank > orank)
        return 0;
    if (n == 1)
        return 1;
    if (n != oc)
        return 0;
    const int ch = c->rank - orank + 1; /* index of the channel axis in c */
    if (ch < 0)
        return 0;
    for (int i = 0; i < c->rank; i++)
        if (c->dims[i] != (i == ch ? oc : 1))
            return 0;
    return 1;
}

/* New constant value holding `t` (ownership taken); returns its id or -1. */
static int new_constant(odet_graph *g, const char *base, odet_tensor *t)
{
    char name[512];
    for (int k = 0; k < 1000; k++) {
        snprintf(name, sizeof name, "%s_affine%s%d", base, k ? "_" : "", k);
        if (odet_graph_find_value(g, name) < 0)
            break;
    }
    int v = odet_graph_intern_value(g, name);
    if (v < 0)
        return -1;
    odet_value *val = &g->values[v];
    val->kind = ODET_VALUE_CONSTANT;
    val->constant = t;
    val->dtype = t->dtype;
    val->rank = t->rank;
    memcpy(val->dims, t->dims, sizeof val->dims);
    return v;
}

/* Fold Mul(y, s) or Add(y, t) with per-channel constants after conv node ci
 * into its weights and bias; 1 when done, -1 on OOM. */
static int fold_affine(odet_graph *g, int *consumer, int ci, unsigned char *dead)
{
    odet_node *cv = &g->nodes[ci];
    const int y = cv->out[0];
    const int ai = sole_consumer(g, consumer, y);
    if (ai < 0 || dead[ai])
        return 0;
    const odet_node *op = &g->nodes[ai];
    const int mul = is_op(op, "Mul");
    if ((!mul && !is_op(op, "Add")) || op->opset < 7 || op->n_in != 2 || op->n_out != 1 ||
        op->out[0] < 0 || (op->in[0] != y && op->in[1] != y) || op->in[0] == op->in[1])
        return 0;
    const odet_tensor *c = const_input(g, op, op->in[0] == y ? 1 : 0);
    const odet_tensor *W = const_input(g, cv, 1);
    const int transpose = is_op(cv, "ConvTranspose");
    const int64_t group = odet_attr_int(cv, "group", 1);
    if (!c || !W || W->rank < 3 || group < 1 || (transpose && W->dims[0] % group))
        return 0;
    const int64_t oc = transpose ? W->dims[1] * group : W->dims[0];
    const odet_tensor *B = cv->n_in > 2 ? const_input(g, cv, 2) : NULL;
    if (cv->n_in > 2 && cv->in[2] >= 0 && (!B || B->rank != 1 || B->dims[0] != oc))
        return 0;
    if (!per_channel(c, W->rank, oc))
        return 0;
    const float *cd = c->data;
    const int64_t cn = odet_tensor_numel(c);
    odet_tensor *nb = odet_tensor_alloc(ODET_FLOAT, 1, &oc);
    odet_tensor *nw = mul ? odet_tensor_alloc(ODET_FLOAT, W->rank, W->dims) : NULL;
    if (!nb || (mul && !nw)) {
        odet_tensor_free(nb);
        odet_tensor_free(nw);
        return -1;
    }
    float *bo = nb->data;
    for (int64_t o = 0; o < oc; o++) {
        const float k = cd[cn == 1 ? 0 : o], b = B ? ((const float *)B->data)[o] : 0.0f;
        bo[o] = mul ? b * k : b + k;
    }
    if (mul) {
        const float *wi = W->data;
        float *wo = nw->data;
        const int64_t sp = odet_dims_prod(W->dims, 2, W->rank);
        if (!transpose) {
            const int64_t per = W->dims[1] * sp;
            for (int64_t o = 0; o < oc; o++)
                for (int64_t i = 0; i < per; i++)
                    wo[o * per + i] = wi[o * per + i] * cd[cn == 1 ? 0 : o];
        } else {
            const int64_t ic = W->dims[0], ocg = W->dims[1], icg = ic / group;
            for (int64_t i = 0; i < ic; i++)
                for (int64_t j = 0; j < ocg; j++) {
                    const float k = cd[cn == 1 ? 0 : (i / icg) * ocg + j];
                    for (int64_t t = 0; t < sp; t++)
                        wo[(i * ocg + j) * sp + t] = wi[(i * ocg + j) * sp + t] * k;
                }
        }
    }
    char base[480];
    snprintf(base, sizeof base, "%s", g->values[cv->in[1]].name);
    int vw = -1;
    if (mul && (vw = new_constant(g, base, nw)) < 0) {
        odet_tensor_free(nw);
        odet_tensor_free(nb);
        return -1;
    }
    const int vb = new_constant(g, base, nb);
    if (vb < 0) {
        odet_tensor_free(nb);
        return -1;
    }
    cv = &g->nodes[ci];
    if (cv->n_in < 3) {
        int *in = realloc(cv->in, 3 * sizeof *in);
        if (!in)
            return -1;
        cv->in = in;
        cv->in[2] = -1;
        cv->n_in = 3;
    }
    if (mul)
        cv->in[1] = vw;
    cv->in[2] = vb;
    cv->out[0] = g->nodes[ai].out[0];
    dead[ai] = 1;
    return 1;
}

/* Re-parse the node's attributes after a rewrite. */
static odet_status reprepare(odet_node *n, char *err, size_t errlen)
{
    if (n->params) {
        if (n->def->release)
            n->def->release(n->params);
        else
            free(n->params);
        n->params = NULL;
    }
    return n->def->prepare ? n->def->prepare(n, err, errlen) : ODET_OK;
}

/* Fold the activation after conv node ci into it; 1 when done, -1 on OOM. */
static int fuse_activation(odet_graph *g, int *consumer, int ci, unsigned char *dead)
{
    odet_node *cv = &g->nodes[ci];
    const int y = cv->out[0];
    const int ai = sole_consumer(g, consumer, y);
    const char *name;
    float alpha, beta;
    if (ai >= 0 && !dead[ai] && g->nodes[ai].in[0] == y &&
        activation_of(g, &g->nodes[ai], &name, &alpha, &beta)) {
        if (set_activation(cv, name, alpha, beta))
            return -1;
        cv->out[0] = g->nodes[ai].out[0];
        dead[ai] = 1;
        return 1;
    }
    /* SiLU: y -> Sigmoid -> s, Mul(y, s) or Mul(s, y). */
    const odet_value *yv = &g->values[y];
    if (yv->n_consumers != 2 || yv->is_output)
        return 0;
    int si = -1, mi = -1;
    for (int i = ci + 1; i < g->n_nodes; i++) {
        const odet_node *n = &g->nodes[i];
        if (dead[i])
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == y) {
                if (is_op(n, "Sigmoid") && n->n_in == 1 && n->n_out == 1 && si < 0)
                    si = i;
                else if (is_op(n, "Mul") && n->n_in == 2 && n->n_out == 1 && mi < 0)
                    mi = i;
                else
                    return 0;
                break;
            }
    }
    if (si < 0 || mi < 0 || g->nodes[si].out[0] < 0 || g->nodes[mi].out[0] < 0)
        return 0;
    const int s = g->nodes[si].out[0];
    const odet_node *mul = &g->nodes[mi];
    if (sole_consumer(g, consumer, s) != mi ||
        !((mul->in[0] == y && mul->in[1] == s) || (mul->in[0] == s && mul->in[1] == y)))
        return 0;
    if (set_activation(cv, "Silu", 0.0f, 0.0f))
        return -1;
    cv->out[0] = mul->out[0];
    dead[si] = dead[mi] = 1;
    return 1;
}

/* Fold Add(y, r) after Conv node ci into it as residual r; 1 when done, -1 on OOM. */
static int fuse_residual(odet_graph *g, int *consumer, int ci, unsigned char *dead)
{
    odet_node *cv = &g->nodes[ci];
    if (!is_op(cv, "Conv") || cv->n_in > 3 || odet_attr_find(cv, "odet.residual"))
        return 0;
    const int y = cv->out[0];
    const int ai = sole_consumer(g, consumer, y);
    if (ai < 0 || dead[ai])
        return 0;
    const odet_node *add = &g->nodes[ai];
    if (!is_op(add, "Add") || add->opset < 7 || add->n_in != 2 || add->n_out != 1 ||
        add->out[0] < 0 || add->in[0] < 0 || add->in[1] < 0 || add->in[0] == add->in[1])
        return 0;
    const int r = add->in[0] == y ? add->in[1] : add->in[0];
    const odet_value *rv = &g->values[r];
    /* The residual must be a float activation or input computed before this node. */
    if (rv->kind == ODET_VALUE_CONSTANT || (rv->dtype != ODET_FLOAT && rv->dtype != ODET_UNDEFINED))
        return 0;
    if (rv->kind == ODET_VALUE_ACTIVATION && (rv->producer < 0 || rv->producer >= ci))
        return 0;
    int *in = realloc(cv->in, 4 * sizeof *in);
    if (!in)
        return -1;
    cv->in = in;
    for (int k = cv->n_in; k < 3; k++)
        cv->in[k] = -1;
    cv->in[3] = r;
    cv->n_in = 4;
    odet_attr *a;
    if (add_attr(cv, "odet.residual", ODET_ATTR_INT, &a))
        return -1;
    a->i = 1;
    cv->out[0] = add->out[0];
    consumer[r] = ci;
    dead[ai] = 1;
    return 1;
}

odet_status odet_pass_fuse_conv_act(odet_graph *g, char *err, size_t errlen)
{
    unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
    /* Folding adds two constants per folded node at most. */
    int *consumer = malloc(((size_t)g->n_values + 2 * (size_t)g->n_nodes + 1) * sizeof *consumer);
    unsigned char *touched = calloc((size_t)g->n_nodes + 1, 1);
    if (!dead || !consumer || !touched) {
        free(dead);
        free(consumer);
        free(touched);
        return ODET_ERR_NOMEM;
    }
    for (int v = 0; v < g->n_values + 2 * g->n_nodes; v++)
        consumer[v] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0)
                consumer[g->nodes[i].in[k]] = i;
    odet_status st = ODET_OK;
    int fused = 0;
    for (int i = 0; i < g->n_nodes && st == ODET_OK; i++) {
        odet_node *cv = &g->nodes[i];
        if (dead[i] || !is_conv(cv) || already_fused(cv))
            continue;
        int rc;
        while ((rc = fold_affine(g, consumer, i, dead)) > 0)
            touched[i] = 1;
        if (rc >= 0)
            rc = fuse_residual(g, consumer, i, dead);
        if (rc >= 0)
            touched[i] |= rc > 0;
        if (rc >= 0 && (rc = fuse_activation(g, consumer, i, dead)) >= 0)
            touched[i] |= rc > 0;
        if (rc < 0)
            st = ODET_ERR_NOMEM;
    }
    for (int i = 0; i < g->n_nodes && st == ODET_OK; i++)
        if (touched[i])
            st = reprepare(&g->nodes[i], err, errlen);
    free(consumer);
    if (st != ODET_OK) {
        free(dead);
        free(touched);
        return st;
    }
    for (int i = 0; i < g->n_nodes; i++)
        fused += dead[i];
    if (!fused) {
        free(dead);
        free(touched);
        return ODET_OK;
    }
    int kept = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (dead[i])
            odet_node_clear(&g->nodes[i]);
        else
            g->nodes[kept++] = g->nodes[i];
    }
    g->n_nodes = kept;
    free(dead);
    free(touched);
    st = odet_graph_finalize(g, err, errlen);
    if (st == ODET_OK)
        odet_graph_drop_unused_constants(g);
    return st;
}
