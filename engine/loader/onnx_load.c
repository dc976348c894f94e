/* ONNX ModelProto -> internal graph: values, initializers, Constant nodes,
 * attributes, opsets, metadata; op resolution and attribute validation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/onnx_load.h"
#include "loader/tensor_proto.h"
#include "ops/op.h"

static odet_status fail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static odet_status fail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

static char *dupn(const char *s)
{
    return strdup(s ? s : "");
}

typedef struct opset_map {
    size_t n;
    Onnx__OperatorSetIdProto **ids;
} opset_map;

static int domain_is_default(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

/* Version of a domain's opset, or -1 when the model does not import it. */
static int opset_of(const opset_map *m, const char *domain)
{
    for (size_t i = 0; i < m->n; i++) {
        const char *d = m->ids[i]->domain;
        if ((domain_is_default(d) && domain_is_default(domain)) ||
            (d && domain && strcmp(d, domain) == 0))
            return m->ids[i]->has_version ? (int)m->ids[i]->version : 1;
    }
    return -1;
}

static void read_declared_type(odet_value *v, const Onnx__TypeProto *tp)
{
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type)
        v->dtype = (odet_dtype)tt->elem_type;
    if (tt->shape && tt->shape->n_dim <= ODET_MAX_RANK) {
        v->rank = (int)tt->shape->n_dim;
        for (size_t d = 0; d < tt->shape->n_dim; d++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
            v->dims[d] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                             ? dim->dim_value
                             : -1;
        }
    }
}

static odet_status convert_attr(const Onnx__AttributeProto *ap, odet_attr *a, const char *node,
                                char *err, size_t errlen)
{
    a->name = dupn(ap->name);
    if (!a->name)
        return ODET_ERR_NOMEM;
    a->type = ap->has_type ? (odet_attr_type)ap->type : ODET_ATTR_UNDEFINED;
    if (a->type == ODET_ATTR_UNDEFINED) {
        /* pre-IR3 files may omit the type: infer it from the set field */
        if (ap->has_f) a->type = ODET_ATTR_FLOAT;
        else if (ap->has_i) a->type = ODET_ATTR_INT;
        else if (ap->has_s) a->type = ODET_ATTR_STRING;
        else if (ap->t) a->type = ODET_ATTR_TENSOR;
        else if (ap->n_floats) a->type = ODET_ATTR_FLOATS;
        else if (ap->n_ints) a->type = ODET_ATTR_INTS;
        else if (ap->n_strings) a->type = ODET_ATTR_STRINGS;
    }
    a->f = ap->f;
    a->i = ap->i;
    switch (a->type) {
    case ODET_ATTR_STRING:
        a->s = malloc(ap->s.len + 1);
        if (!a->s)
            return ODET_ERR_NOMEM;
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = '\0';
        a->s_len = ap->s.len;
        break;
    case ODET_ATTR_FLOATS:
        a->n = ap->n_floats;
        a->floats = malloc((a->n ? a->n : 1) * sizeof(float));
        if (!a->floats)
            return ODET_ERR_NOMEM;
        if (a->n)
            memcpy(a->floats, ap->floats, a->n * sizeof(float));
        break;
    case ODET_ATTR_INTS:
        a->n = ap->n_ints;
        a->ints = malloc((a->n ? a->n : 1) * sizeof(int64_t));
        if (!a->ints)
            return ODET_ERR_NOMEM;
        if (a->n)
            memcpy(a->ints, ap->ints, a->n * sizeof(int64_t));
        break;
    case ODET_ATTR_STRINGS:
        a->n = ap->n_strings;
        a->strings = calloc(a->n ? a->n : 1, sizeof(char *));
        if (!a->strings)
            return ODET_ERR_NOMEM;
        for (size_t i = 0; i < a->n; i++) {
            a->strings[i] = malloc(ap->strings[i].len + 1);
            if (!a->strings[i])
                return ODET_ERR_NOMEM;
            if (ap->strings[i].len)
                memcpy(a->strings[i], ap->strings[i].data, ap->strings[i].len);
            a->strings[i][ap->strings[i].len] = '\0';
        }
        break;
    case ODET_ATTR_TENSOR:
        if (ap->t) {
            char what[300];
            snprintf(what, sizeof what, "node '%s': attribute '%s'", node, a->name);
            odet_status st = odet_tensor_from_proto(ap->t, NULL, what, &a->t, err, errlen);
            if (st != ODET_OK)
                return st;
        }
        break;
    default:
        break; /* graphs etc.: kept as type only; no supported op uses them */
    }
    return ODET_OK;
}

/* Turn a Constant node into a constant value. Returns ODET_ERR_UNSUPPORTED
 * for the forms odet does not handle (sparse, strings). */
static odet_status constant_node_value(const Onnx__NodeProto *np, const char *name,
                                       odet_tensor **out, char *err, size_t errlen)
{
    char what[300];
    snprintf(what, sizeof what, "node '%s' (Constant)", name);
    *out = NULL;
    for (size_t k = 0; k < np->n_attribute; k++) {
        const Onnx__AttributeProto *ap = np->attribute[k];
        const char *an = ap->name ? ap->name : "";
        int64_t one = 1;
        if (strcmp(an, "value") == 0 && ap->t) {
            return odet_tensor_from_proto(ap->t, NULL, what, out, err, errlen);
        } else if (strcmp(an, "value_float") == 0) {
            *out = odet_tensor_alloc(ODET_FLOAT, 0, NULL);
            if (*out)
                *(float *)(*out)->data = ap->f;
        } else if (strcmp(an, "value_int") == 0) {
            *out = odet_tensor_alloc(ODET_INT64, 0, NULL);
            if (*out)
                *(int64_t *)(*out)->data = ap->i;
        } else if (strcmp(an, "value_floats") == 0) {
            one = (int64_t)ap->n_floats;
            *out = odet_tensor_alloc(ODET_FLOAT, 1, &one);
            if (*out && one)
                memcpy((*out)->data, ap->floats, ap->n_floats * sizeof(float));
        } else if (strcmp(an, "value_ints") == 0) {
            one = (int64_t)ap->n_ints;
            *out = odet_tensor_alloc(ODET_INT64, 1, &one);
            if (*out && one)
                memcpy((*out)->data, ap->ints, ap->n_ints * sizeof(int64_t));
        } else {
            continue;
        }
        if (!*out)
            return fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory", what);
        return ODET_OK;
    }
    return fail(err, errlen, ODET_ERR_UNSUPPORTED,
                "%s: only value/value_float(s)/value_int(s) constants are supported", what);
}

static odet_status add_node(odet_graph *g)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        odet_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn)
            return ODET_ERR_NOMEM;
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    memset(&g->nodes[g->n_nodes], 0, sizeof g->nodes[0]);
    g->n_nodes++;
    return ODET_OK;
}

/* Appends "OpType (domain, opset N): a, b, c" groups for all unsupported ops. */
static void report_unsupported(const odet_graph *g, char *err, size_t errlen)
{
    size_t pos = 0;
    int groups = 0, total = 0;
    char *seen = calloc((size_t)g->n_nodes + 1, 1);
    if (!seen) {
        fail(err, errlen, ODET_ERR_UNSUPPORTED, "unsupported operators");
        return;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].def)
            total++;
#define APPEND(...)                                                                           \
    do {                                                                                      \
        if (err && pos < errlen) {                                                            \
            int w_ = snprintf(err + pos, errlen - pos, __VA_ARGS__);                          \
            if (w_ > 0)                                                                       \
                pos += (size_t)w_;                                                            \
        }                                                                                     \
    } while (0)
    APPEND("%d node%s unsupported operators: ", total, total == 1 ? " uses" : "s use");
    for (int i = 0; i < g->n_nodes; i++) {
        const odet_node *n = &g->nodes[i];
        if (n->def || seen[i])
            continue;
        int known_domain = !n->domain[0];
        for (size_t k = 0; !known_domain && odet_op_at(k); k++)
            known_domain = odet_op_at(k)->domain && !strcmp(odet_op_at(k)->domain, n->domain);
        APPEND("%s%s%s%s (%s%s%sopset %d): ", groups ? "; " : "", n->domain[0] ? n->domain : "",
               n->domain[0] ? "::" : "", n->op_type, known_domain ? "" : "unknown domain '",
               known_domain ? "" : n->domain, known_domain ? "" : "', ", n->opset);
        groups++;
        int listed = 0;
        for (int j = i; j < g->n_nodes; j++) {
            const odet_node *m = &g->nodes[j];
            if (m->def || seen[j] || strcmp(m->op_type, n->op_type) != 0 ||
                strcmp(m->domain, n->domain) != 0)
                continue;
            seen[j] = 1;
            if (listed < 5)
                APPEND("%s'%s'", listed ? ", " : "", m->name);
            else if (listed == 5)
                APPEND(", ...");
            listed++;
        }
        if (listed > 5)
            APPEND(" (%d nodes)", listed);
    }
#undef APPEND
    if (err && errlen)
        err[errlen - 1] = '\0';
    free(seen);
}

static odet_status build_graph(const Onnx__ModelProto *mp, const char *base_dir, odet_graph *g,
                               char *err, size_t errlen)
{
    const Onnx__GraphProto *gp = mp->graph;
    odet_status st;
    opset_map om = {mp->n_opset_import, mp->opset_import};
    g->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    g->default_opset = opset_of(&om, "");
    if (g->default_opset < 0)
        g->default_opset = mp->n_opset_import ? 1 : 1;

    /* metadata */
    if (mp->n_metadata_props) {
        g->meta = calloc(mp->n_metadata_props, sizeof *g->meta);
        if (!g->meta)
            return ODET_ERR_NOMEM;
        for (size_t i = 0; i < mp->n_metadata_props; i++) {
            g->meta[i].key = dupn(mp->metadata_props[i]->key);
            g->meta[i].value = dupn(mp->metadata_props[i]->value);
            g->n_meta++;
            if (!g->meta[i].key || !g->meta[i].value)
                return ODET_ERR_NOMEM;
        }
    }

    /* initializers */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !tp->name[0])
            return fail(err, errlen, ODET_ERR_PARSE, "initializer #%zu has no name", i);
        int v = odet_graph_intern_value(g, tp->name);
        if (v < 0)
            return ODET_ERR_NOMEM;
        if (g->values[v].constant)
            return fail(err, errlen, ODET_ERR_GRAPH, "initializer '%s' is defined twice",
                        tp->name);
        char what[300];
        snprintf(what, sizeof what, "initializer '%s'", tp->name);
        st = odet_tensor_from_proto(tp, base_dir, what, &g->values[v].constant, err, errlen);
        if (st != ODET_OK)
            return st;
        odet_value *val = &g->values[v];
        val->kind = ODET_VALUE_CONSTANT;
        val->dtype = val->constant->dtype;
        val->rank = val->constant->rank;
        memcpy(val->dims, val->constant->dims, sizeof val->dims);
    }
    if (gp->n_sparse_initializer)
        return fail(err, errlen, ODET_ERR_UNSUPPORTED, "sparse initializers are not supported");

    /* graph inputs (initializers listed as inputs are constants, not inputs) */
    g->inputs = calloc(gp->n_input + 1, sizeof(int));
    g->outputs = calloc(gp->n_output + 1, sizeof(int));
    if (!g->inputs || !g->outputs)
        return ODET_ERR_NOMEM;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0])
            return fail(err, errlen, ODET_ERR_PARSE, "graph input #%zu has no name", i);
        int v = odet_graph_intern_value(g, vi->name);
        if (v < 0)
            return ODET_ERR_NOMEM;
        if (g->values[v].kind == ODET_VALUE_CONSTANT)
            continue;
        if (g->values[v].kind == ODET_VALUE_INPUT)
            return fail(err, errlen, ODET_ERR_GRAPH, "graph input '%s' is listed twice", vi->name);
        g->values[v].kind = ODET_VALUE_INPUT;
        read_declared_type(&g->values[v], vi->type);
        if (g->values[v].dtype == ODET_UNDEFINED || odet_dtype_size(g->values[v].dtype) == 0)
            return fail(err, errlen, ODET_ERR_UNSUPPORTED,
                        "graph input '%s' has unsupported or missing element type (%s)", vi->name,
                        odet_dtype_name(g->values[v].dtype));
        g->inputs[g->n_inputs++] = v;
    }

    /* nodes */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        const char *op = np->op_type ? np->op_type : "";
        char synth[64];
        const char *name = np->name && np->name[0] ? np->name : NULL;
        if (!name) {
            snprintf(synth, sizeof synth, "%s_%zu", op[0] ? op : "node", i);
            name = synth;
        }
        if (!op[0])
            return fail(err, errlen, ODET_ERR_PARSE, "node '%s' has no op_type", name);
        int opset = opset_of(&om, np->domain);
        if (strcmp(op, "Constant") == 0 && domain_is_default(np->domain)) {
            if (np->n_output != 1 || !np->output[0][0])
                return fail(err, errlen, ODET_ERR_PARSE, "node '%s' (Constant) needs one output",
                            name);
            int v = odet_graph_intern_value(g, np->output[0]);
            if (v < 0)
                return ODET_ERR_NOMEM;
            if (g->values[v].kind != ODET_VALUE_ACTIVATION || g->values[v].constant)
                return fail(err, errlen, ODET_ERR_GRAPH,
                            "node '%s': output '%s' is already defined", name, np->output[0]);
            st = constant_node_value(np, name, &g->values[v].constant, err, errlen);
            if (st != ODET_OK)
                return st;
            odet_value *val = &g->values[v];
            val->kind = ODET_VALUE_CONSTANT;
            val->dtype = val->constant->dtype;
            val->rank = val->constant->rank;
            memcpy(val->dims, val->constant->dims, sizeof val->dims);
            continue;
        }
        if ((st = add_node(g)) != ODET_OK)
            return st;
        odet_node *n = &g->nodes[g->n_nodes - 1];
        n->name = dupn(name);
        n->op_type = dupn(op);
        n->domain = dupn(domain_is_default(np->domain) ? "" : np->domain);
        n->opset = opset >= 0 ? opset : (domain_is_default(np->domain) ? g->default_opset : 1);
        n->in = malloc((np->n_input + 1) * sizeof(int));
        n->out = malloc((np->n_output + 1) * sizeof(int));
        if (!n->name || !n->op_type || !n->domain || !n->in || !n->out)
            return ODET_ERR_NOMEM;
        n->n_in = (int)np->n_input;
        n->n_out = (int)np->n_output;
        for (size_t k = 0; k < np->n_input; k++) {
            n->in[k] = -1;
            if (np->input[k] && np->input[k][0]) {
                n->in[k] = odet_graph_intern_value(g, np->input[k]);
                if (n->in[k] < 0)
                    return ODET_ERR_NOMEM;
            }
        }
        for (size_t k = 0; k < np->n_output; k++) {
            n->out[k] = -1;
            if (np->output[k] && np->output[k][0]) {
                n->out[k] = odet_graph_intern_value(g, np->output[k]);
                if (n->out[k] < 0)
                    return ODET_ERR_NOMEM;
            }
        }
        if (np->n_attribute) {
            n->attrs = calloc(np->n_attribute, sizeof *n->attrs);
            if (!n->attrs)
                return ODET_ERR_NOMEM;
            for (size_t k = 0; k < np->n_attribute; k++) {
                n->n_attr++;
                st = convert_attr(np->attribute[k], &n->attrs[k], n->name, err, errlen);
                if (st != ODET_OK)
                    return st;
            }
        }
        n->def = odet_op_lookup(n->domain, n->op_type, n->opset);
    }

    /* outputs */
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        if (!vi->name || !vi->name[0])
            return fail(err, errlen, ODET_ERR_PARSE, "graph output #%zu has no name", i);
        int v = odet_graph_find_value(g, vi->name);
        if (v < 0)
            return fail(err, errlen, ODET_ERR_GRAPH,
                        "graph output '%s' is not produced by any node", vi->name);
        odet_value *val = &g->values[v];
        if (val->kind == ODET_VALUE_ACTIVATION)
            read_declared_type(val, vi->type);
        val->is_output = (int)i + 1;
        g->outputs[g->n_outputs++] = v;
    }

    /* all unsupported ops at once */
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].def) {
            report_unsupported(g, err, errlen);
            return ODET_ERR_UNSUPPORTED;
        }

    st = odet_graph_finalize(g, err, errlen);
    if (st != ODET_OK)
        return st;

    for (int i = 0; i < g->n_nodes; i++) {
        odet_node *n = &g->nodes[i];
        if (n->def->prepare) {
            st = n->def->prepare(n, err, errlen);
            if (st != ODET_OK)
                return st;
        }
    }
    return ODET_OK;
}

odet_status odet_onnx_parse(const void *buf, size_t len, const char *base_dir, odet_graph **out,
                            char *err, size_t errlen)
{
    *out = NULL;
    if (len == 0)
        return fail(err, errlen, ODET_ERR_PARSE, "the model is empty (0 bytes)");
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    if (!mp)
        return fail(err, errlen, ODET_ERR_PARSE,
                    "not a valid ONNX model: protobuf parsing failed (truncated or not an ONNX "
                    "file)");
    if (!mp->graph) {
        onnx__model_proto__free_unpacked(mp, NULL);
        return fail(err, errlen, ODET_ERR_PARSE, "not a valid ONNX model: no graph");
    }
    odet_graph *g = odet_graph_new();
    if (!g) {
        onnx__model_proto__free_unpacked(mp, NULL);
        return fail(err, errlen, ODET_ERR_NOMEM, "out of memory");
    }
    if (err && errlen)
        err[0] = '\0';
    odet_status st = build_graph(mp, base_dir, g, err, errlen);
    onnx__model_proto__free_unpacked(mp, NULL);
    if (st != ODET_OK) {
        if (st == ODET_ERR_NOMEM && err && errlen && !err[0])
            snprintf(err, errlen, "out of memory while loading the model");
        odet_graph_free(g);
        return st;
    }
    *out = g;
    return ODET_OK;
}
