/* Graph construction, name lookup, topological sort and attribute access. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ops/op.h"

/* ---- name -> value id hash (open addressing, rebuilt on growth) ---- */
typedef struct name_map {
    int cap;
    int *slots; /* value id + 1, 0 = empty */
} name_map;


static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* The map lives after the graph struct in one allocation. */
typedef struct graph_box {
    odet_graph g;
    name_map map;
} graph_box;

static name_map *map_of(const odet_graph *g)
{
    return &((graph_box *)(void *)g)->map;
}

static int map_rebuild(odet_graph *g, int cap)
{
    name_map *m = map_of(g);
    int *slots = calloc((size_t)cap, sizeof *slots);
    if (!slots)
        return -1;
    for (int v = 0; v < g->n_values; v++) {
        uint64_t h = hash_str(g->values[v].name) & (uint64_t)(cap - 1);
        while (slots[h])
            h = (h + 1) & (uint64_t)(cap - 1);
        slots[h] = v + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

odet_graph *odet_graph_new(void)
{
    graph_box *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->g.default_opset = 1;
    return &b->g;
}

static void free_attr(odet_attr *a)
{
    free(a->name);
    free(a->s);
    odet_tensor_free(a->t);
    free(a->floats);
    free(a->ints);
    if (a->strings)
        for (size_t i = 0; i < a->n; i++)
            free(a->strings[i]);
    free(a->strings);
}

void odet_node_clear(odet_node *n)
{
    if (n->params) {
        if (n->def && n->def->release)
            n->def->release(n->params);
        else
            free(n->params);
    }
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->in);
    free(n->out);
    for (int k = 0; k < n->n_attr; k++)
        free_attr(&n->attrs[k]);
    free(n->attrs);
    memset(n, 0, sizeof *n);
}

void odet_graph_free(odet_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++)
        odet_node_clear(&g->nodes[i]);
    free(g->nodes);
    odet_pack_cache_clear(&g->packs); /* after the nodes dropped theirs */
    for (int i = 0; i < g->n_values; i++) {
        free(g->values[i].name);
        odet_tensor_free(g->values[i].constant);
    }
    free(g->values);
    free(g->inputs);
    free(g->outputs);
    for (int i = 0; i < g->n_meta; i++) {
        free(g->meta[i].key);
        free(g->meta[i].value);
    }
    free(g->meta);
    free(map_of(g)->slots);
    free((graph_box *)(void *)g);
}

size_t odet_graph_packed_bytes(const odet_graph *g)
{
    return g ? odet_pack_cache_bytes(&g->packs) : 0;
}

size_t odet_graph_release_constant_data(odet_graph *g, int v)
{
    if (!g || v < 0 || v >= g->n_values)
        return 0;
    odet_value *val = &g->values[v];
    if (val->kind != ODET_VALUE_CONSTANT || !val->constant || !val->constant->data)
        return 0;
    size_t bytes = odet_tensor_bytes(val->constant);
    free(val->constant->data);
    val->constant->data = NULL;
    val->data_released = 1;
    return bytes;
}

size_t odet_graph_constant_bytes(const odet_graph *g)
{
    size_t total = 0;
    for (int v = 0; g && v < g->n_values; v++) {
        const odet_value *val = &g->values[v];
        if (val->kind == ODET_VALUE_CONSTANT && val->constant && val->constant->data)
            total += odet_tensor_bytes(val->constant);
    }
    return total;
}

int odet_graph_find_value(const odet_graph *g, const char *name)
{
    const name_map *m = map_of(g);
    if (!m->cap)
        return -1;
    uint64_t h = hash_str(name) & (uint64_t)(m->cap - 1);
    while (m->slots[h]) {
        int v = m->slots[h] - 1;
        if (strcmp(g->values[v].name, name) == 0)
            return v;
        h = (h + 1) & (uint64_t)(m->cap - 1);
    }
    return -1;
}

int odet_graph_intern_value(odet_graph *g, const char *name)
{
    int v = odet_graph_find_value(g, name);
    if (v >= 0)
        return v;
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        odet_value *nv = realloc(g->values, (size_t)cap * sizeof *nv);
        if (!nv)
            return -1;
        g->values = nv;
        g->cap_values = cap;
    }
    odet_value *val = &g->values[g->n_values];
    memset(val, 0, sizeof *val);
    val->name = strdup(name);
    if (!val->name)
        return -1;
    val->rank = -1;
    val->producer = -1;
    g->n_values++;
    name_map *m = map_of(g);
    if (g->n_values * 2 > m->cap) {
        if (map_rebuild(g, m->cap ? m->cap * 2 : 128) != 0) {
            g->n_values--;
            free(val->name);
            return -1;
        }
    } else {
        uint64_t h = hash_str(name) & (uint64_t)(m->cap - 1);
        while (m->slots[h])
            h = (h + 1) & (uint64_t)(m->cap - 1);
        m->slots[h] = g->n_values;
    }
    return g->n_values - 1;
}

static odet_status gfail(char *err, size_t errlen, odet_status st, const char *fmt, const char *a,
                         const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
    return st;
}

odet_status odet_graph_finalize(odet_graph *g, char *err, size_t errlen)
{
    int nn = g->n_nodes, nv = g->n_values;
    odet_status st = ODET_OK;
    int *pending = calloc((size_t)nn + 1, sizeof *pending);
    int *order = calloc((size_t)nn + 1, sizeof *order);
    int *cons_start = calloc((size_t)nv + 1, sizeof *cons_start);
    int *cons = NULL;
    if (!pending || !order || !cons_start) {
        st = ODET_ERR_NOMEM;
        goto done;
    }
    for (int v = 0; v < nv; v++) {
        g->values[v].producer = -1;
        g->values[v].n_consumers = 0;
    }
    /* producers; a value produced twice or both fed and produced is invalid */
    for (int i = 0; i < nn; i++) {
        odet_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0)
                continue;
            odet_value *val = &g->values[v];
            if (val->producer >= 0 || val->kind != ODET_VALUE_ACTIVATION) {
                st = gfail(err, errlen, ODET_ERR_GRAPH,
                           "node '%s': output '%s' is already defined by another node, an input "
                           "or an initializer", n->name, val->name);
                goto done;
            }
            val->producer = i;
        }
    }
    /* every input must have a source; count edges for Kahn's algorithm */
    int n_edges = 0;
    for (int i = 0; i < nn; i++) {
        odet_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v < 0)
                continue;
            odet_value *val = &g->values[v];
            if (val->kind == ODET_VALUE_ACTIVATION && val->producer < 0) {
                st = gfail(err, errlen, ODET_ERR_GRAPH,
                           "node '%s': input '%s' is not produced by any node and is neither a "
                           "graph input nor an initializer", n->name, val->name);
                goto done;
            }
            val->n_consumers++;
            if (val->producer >= 0) {
                pending[i]++;
                cons_start[v + 1]++;
                n_edges++;
            }
        }
    }
    for (int v = 0; v < nv; v++)
        cons_start[v + 1] += cons_start[v];
    cons = malloc(((size_t)n_edges + 1) * sizeof *cons);
    int *fill = calloc((size_t)nv + 1, sizeof *fill);
    if (!cons || !fill) {
        free(fill);
        st = ODET_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < nn; i++) {
        odet_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v >= 0 && g->values[v].producer >= 0)
                cons[cons_start[v] + fill[v]++] = i;
        }
    }
    free(fill);
    /* Kahn: stable (keeps file order among ready nodes as far as possible) */
    int head = 0, tail = 0;
    for (int i = 0; i < nn; i++)
        if (pending[i] == 0)
            order[tail++] = i;
    while (head < tail) {
        int i = order[head++];
        odet_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0)
                continue;
            for (int e = cons_start[v]; e < cons_start[v + 1]; e++)
                if (--pending[cons[e]] == 0)
                    order[tail++] = cons[e];
        }
    }
    if (tail != nn) {
        for (int i = 0; i < nn; i++)
            if (pending[i] > 0) {
                st = gfail(err, errlen, ODET_ERR_GRAPH,
                           "graph has a cycle: node '%s' (%s) depends on its own output",
                           g->nodes[i].name, g->nodes[i].op_type);
                goto done;
            }
    }
    /* permute nodes into topological order */
    {
        odet_node *sorted = malloc(((size_t)nn + 1) * sizeof *sorted);
        if (!sorted) {
            st = ODET_ERR_NOMEM;
            goto done;
        }
        for (int i = 0; i < nn; i++)
            sorted[i] = g->nodes[order[i]];
        free(g->nodes);
        g->nodes = sorted;
        g->cap_nodes = nn;
        for (int i = 0; i < nn; i++)
            for (int k = 0; k < g->nodes[i].n_out; k++)
                if (g->nodes[i].out[k] >= 0)
                    g->values[g->nodes[i].out[k]].producer = i;
    }
    /* every graph output needs a source */
    for (int o = 0; o < g->n_outputs; o++) {
        odet_value *val = &g->values[g->outputs[o]];
        if (val->kind == ODET_VALUE_ACTIVATION && val->producer < 0) {
            st = gfail(err, errlen, ODET_ERR_GRAPH,
                       "graph output '%s' is not produced by any node%s", val->name, "");
            goto done;
        }
    }
done:
    free(pending);
    free(order);
    free(cons_start);
    free(cons);
    if (st == ODET_ERR_NOMEM && err && errlen)
        snprintf(err, errlen, "out of memory while sorting the graph");
    return st;
}

/* ---- attributes ---- */
const odet_attr *odet_attr_find(const odet_node *n, const char *name)
{
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t odet_attr_int(const odet_node *n, const char *name, int64_t def)
{
    const odet_attr *a = odet_attr_find(n, name);
    if (!a)
        return def;
    if (a->type == ODET_ATTR_INT)
        return a->i;
    if (a->type == ODET_ATTR_FLOAT)
        return (int64_t)a->f;
    return def;
}

float odet_attr_float(const odet_node *n, const char *name, float def)
{
    const odet_attr *a = odet_attr_find(n, name);
    if (!a)
        return def;
    if (a->type == ODET_ATTR_FLOAT)
        return a->f;
    if (a->type == ODET_ATTR_INT)
        return (float)a->i;
    return def;
}

const char *odet_attr_string(const odet_node *n, const char *name, const char *def)
{
    const odet_attr *a = odet_attr_find(n, name);
    return a && a->type == ODET_ATTR_STRING ? a->s : def;
}

const int64_t *odet_attr_ints(const odet_node *n, const char *name, size_t *count)
{
    const odet_attr *a = odet_attr_find(n, name);
    if (!a || a->type != ODET_ATTR_INTS) {
        if (count)
            *count = 0;
        return NULL;
    }
    if (count)
        *count = a->n;
    static const int64_t empty_ints[1] = {0};
    return a->ints ? a->ints : empty_ints;
}

const float *odet_attr_floats(const odet_node *n, const char *name, size_t *count)
{
    const odet_attr *a = odet_attr_find(n, name);
    if (!a || a->type != ODET_ATTR_FLOATS) {
        if (count)
            *count = 0;
        return NULL;
    }
    if (count)
        *count = a->n;
    static const float empty_floats[1] = {0};
    return a->floats ? a->floats : empty_floats;
}

const odet_tensor *odet_attr_tensor(const odet_node *n, const char *name)
{
    const odet_attr *a = odet_attr_find(n, name);
    return a && a->type == ODET_ATTR_TENSOR ? a->t : NULL;
}
