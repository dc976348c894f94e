/* Conv / ConvTranspose + BatchNormalization (inference) -> Conv with scaled
 * weights and a new bias:  s = scale / sqrt(var + eps),
 *   W'[oc] = W[oc] * s[oc],  b'[oc] = (b[oc] - mean[oc]) * s[oc] + beta[oc]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "passes/passes.h"

static const odet_tensor *const_f32(const odet_graph *g, const odet_node *n, int k, int64_t len)
{
    if (k >= n->n_in || n->in[k] < 0)
        return NULL;
    const odet_value *v = &g->values[n->in[k]];
    if (v->kind != ODET_VALUE_CONSTANT || !v->constant || v->constant->dtype != ODET_FLOAT)
        return NULL;
    if (len >= 0 && (v->constant->rank != 1 || v->constant->dims[0] != len))
        return NULL;
    return v->constant;
}

/* New constant value holding `t` (ownership taken); returns its id or -1. */
static int add_constant(odet_graph *g, const char *base, const char *suffix, odet_tensor *t)
{
    char name[512];
    for (int k = 0; k < 1000; k++) {
        snprintf(name, sizeof name, "%s%s%s%d", base, suffix, k ? "_" : "", k);
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

/* Try to fuse BN node `bi` into its producer; returns 1 when fused. */
static int fuse_one(odet_graph *g, int bi, int *dead)
{
    odet_node *bn = &g->nodes[bi];
    if (strcmp(bn->op_type, "BatchNormalization") || bn->domain[0] || bn->n_in < 5 ||
        bn->in[0] < 0 || bn->out[0] < 0 || odet_attr_int(bn, "training_mode", 0))
        return 0;
    for (int k = 1; k < bn->n_out; k++)
        if (bn->out[k] >= 0)
            return 0;
    const odet_value *x = &g->values[bn->in[0]];
    if (x->producer < 0 || x->n_consumers != 1 || x->is_output)
        return 0;
    odet_node *cv = &g->nodes[x->producer];
    int transpose = !strcmp(cv->op_type, "ConvTranspose");
    if ((!transpose && strcmp(cv->op_type, "Conv")) || cv->domain[0] || cv->n_out != 1)
        return 0;
    const odet_tensor *w = const_f32(g, cv, 1, -1);
    if (!w || w->rank < 3)
        return 0;
    int64_t groups = odet_attr_int(cv, "group", 1);
    if (groups < 1)
        return 0;
    int64_t oc = transpose ? w->dims[1] * groups : w->dims[0];
    if (transpose && w->dims[0] % groups)
        return 0;
    const odet_tensor *b = cv->n_in > 2 ? const_f32(g, cv, 2, oc) : NULL;
    if (cv->n_in > 2 && cv->in[2] >= 0 && !b)
        return 0;
    const odet_tensor *scale = const_f32(g, bn, 1, oc), *beta = const_f32(g, bn, 2, oc),
                      *mean = const_f32(g, bn, 3, oc), *var = const_f32(g, bn, 4, oc);
    if (!scale || !beta || !mean || !var)
        return 0;
    double eps = odet_attr_float(bn, "epsilon", 1e-5f);
    odet_tensor *nw = odet_tensor_alloc(ODET_FLOAT, w->rank, w->dims);
    odet_tensor *nb = odet_tensor_alloc(ODET_FLOAT, 1, &oc);
    double *s = malloc((size_t)oc * sizeof *s);
    if (!nw || !nb || !s) {
        odet_tensor_free(nw);
        odet_tensor_free(nb);
        free(s);
        return 0;
    }
    const float *sc = scale->data, *be = beta->data, *mu = mean->data, *va = var->data;
    for (int64_t c = 0; c < oc; c++) {
        s[c] = sc[c] / sqrt((double)va[c] + eps);
        double bias = b ? ((const float *)b->data)[c] : 0.0;
        ((float *)nb->data)[c] = (float)((bias - mu[c]) * s[c] + be[c]);
    }
    int64_t spatial = odet_dims_prod(w->dims, 2, w->rank);
    const float *wi = w->data;
    float *wo = nw->data;
    if (!transpose) {
        int64_t per = odet_dims_prod(w->dims, 1, w->rank);
        for (int64_t c = 0; c < oc; c++)
            for (int64_t i = 0; i < per; i++)
                wo[c * per + i] = (float)(wi[c * per + i] * s[c]);
    } else {
        int64_t ic = w->dims[0], ocg = w->dims[1], icg = ic / groups;
        for (int64_t i = 0; i < ic; i++)
            for (int64_t j = 0; j < ocg; j++) {
                double f = s[(i / icg) * ocg + j];
                for (int64_t k = 0; k < spatial; k++) {
                    int64_t at = (i * ocg + j) * spatial + k;
                    wo[at] = (float)(wi[at] * f);
                }
            }
    }
    free(s);
    int vw = add_constant(g, g->values[cv->in[1]].name, "_bnfused", nw);
    if (vw < 0) {
        odet_tensor_free(nw);
        odet_tensor_free(nb);
        return 0;
    }
    int vb = add_constant(g, g->values[cv->in[1]].name, "_bnbias", nb);
    if (vb < 0) {
        odet_tensor_free(nb);
        return 0;
    }
    /* the graph's arrays may have moved: re-fetch the nodes */
    bn = &g->nodes[bi];
    cv = &g->nodes[g->values[bn->in[0]].producer];
    if (cv->n_in < 3) {
        int *in = realloc(cv->in, 3 * sizeof *in);
        if (!in)
            return 0;
        cv->in = in;
        cv->in[2] = -1;
        cv->n_in = 3;
    }
    cv->in[1] = vw;
    cv->in[2] = vb;
    cv->out[0] = bn->out[0];
    dead[bi] = 1;
    return 1;
}

odet_status odet_pass_fuse_conv_bn(odet_graph *g, char *err, size_t errlen)
{
    int *dead = calloc((size_t)g->n_nodes + 1, sizeof *dead);
    if (!dead)
        return ODET_ERR_NOMEM;
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++)
        fused += fuse_one(g, i, dead);
    if (!fused) {
        free(dead);
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
    /* the old conv outputs lost their producer: reset them */
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].kind == ODET_VALUE_ACTIVATION)
            g->values[v].producer = -1;
    odet_status st = odet_graph_finalize(g, err, errlen);
    if (st == ODET_OK)
        odet_graph_drop_unused_constants(g);
    return st;
}
