/* Model loading, load-time constant folding and model queries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/onnx_load.h"
#include "loader/tensor_proto.h"
#include "passes/passes.h"
#include "runtime/runtime.h"

/* Evaluate every node whose inputs are all constants; its outputs become
 * constants shared by all sessions, and the node is dropped from the graph. */
static odet_status fold_constants(odet_graph *g, char *err, size_t errlen)
{
    int kept = 0, folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        odet_node *n = &g->nodes[i];
        int foldable = !(n->def->flags & ODET_OP_NO_FOLD) && n->n_out <= 16 && n->n_in <= 64;
        int any = 0;
        for (int k = 0; k < n->n_in && foldable; k++) {
            if (n->in[k] < 0)
                continue;
            any = 1;
            if (g->values[n->in[k]].kind != ODET_VALUE_CONSTANT)
                foldable = 0;
        }
        if (!foldable || !any) {
            g->nodes[kept++] = *n;
            continue;
        }
        const odet_tensor *in[64];
        odet_tensor *out[16];
        for (int k = 0; k < n->n_in; k++)
            in[k] = n->in[k] >= 0 ? g->values[n->in[k]].constant : NULL;
        odet_status st = odet_exec_owned(n, in, out, 1, err, errlen);
        if (st != ODET_OK) {
            g->nodes[kept++] = *n; /* keep it owned by the graph so it is freed */
            for (int j = i + 1; j < g->n_nodes; j++)
                g->nodes[kept++] = g->nodes[j];
            g->n_nodes = kept;
            return st;
        }
        for (int k = 0; k < n->n_out; k++) {
            if (n->out[k] < 0)
                continue;
            odet_value *v = &g->values[n->out[k]];
            v->kind = ODET_VALUE_CONSTANT;
            v->constant = out[k];
            v->producer = -1;
            v->dtype = out[k]->dtype;
            v->rank = out[k]->rank;
            memcpy(v->dims, out[k]->dims, sizeof v->dims);
        }
        odet_node_clear(n);
        folded++;
    }
    g->n_nodes = kept;
    if (!folded)
        return ODET_OK;
    odet_status st = odet_graph_finalize(g, err, errlen);
    if (st == ODET_OK)
        odet_graph_drop_unused_constants(g);
    return st;
}

/* Let ops precompute from their constant inputs (packed weights, ...).
 *
 * A pack hook reports the constant inputs its precomputed copy fully replaces
 * (see op.h). The data of a constant is released as soon as every use of it
 * has been packed by a node that replaced it; it stays when any consumer is
 * an op without a pack hook or did not replace it (e.g. depthwise Conv, a
 * layout that can change with the input size, a bias), and when it is a
 * graph output. Releasing right after the last consumer is packed lets
 * the next nodes' packed copies reuse that memory, which keeps the load peak
 * down too. The tensor keeps its dtype and dims (shape inference, onnx-info,
 * model stats); its data becomes NULL.
 *
 * Hooks get the graph's pack cache (ir/packed.h): nodes packing the same
 * constant with the same layout share one buffer, freed with the graph. */
static odet_status pack_nodes(odet_graph *g, char *err, size_t errlen)
{
    const odet_tensor *consts[64];
    int *left = calloc((size_t)g->n_values + 1, sizeof *left); /* uses not yet packed */
    unsigned char *keep = calloc((size_t)g->n_values + 1, 1);  /* a use needs the data */
    if (!left || !keep) {
        free(left);
        free(keep);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return ODET_ERR_NOMEM;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const odet_node *n = &g->nodes[i];
        const int packs = n->def->pack && n->n_in <= 64;
        for (int k = 0; k < n->n_in; k++) {
            const int v = n->in[k];
            if (v < 0 || g->values[v].kind != ODET_VALUE_CONSTANT)
                continue;
            if (packs && k < 32)
                left[v]++;
            else
                keep[v] = 1;
        }
    }
    odet_status st = ODET_OK;
    for (int i = 0; i < g->n_nodes && st == ODET_OK; i++) {
        odet_node *n = &g->nodes[i];
        if (!n->def->pack || n->n_in > 64)
            continue;
        for (int k = 0; k < n->n_in; k++) {
            const odet_value *v = n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
            consts[k] = v && v->kind == ODET_VALUE_CONSTANT ? v->constant : NULL;
        }
        uint32_t replaced = 0;
        st = n->def->pack(n, consts, &g->packs, &replaced, err, errlen);
        if (st != ODET_OK)
            break;
        /* An input slot listed twice keeps the data unless both were replaced;
         * any slot not replaced keeps it. */
        for (int k = 0; k < n->n_in && k < 32; k++) {
            const int v = n->in[k];
            if (v < 0 || g->values[v].kind != ODET_VALUE_CONSTANT)
                continue;
            if (!((replaced >> k) & 1u))
                keep[v] = 1;
            if (--left[v] == 0 && !keep[v] && !g->values[v].is_output)
                odet_graph_release_constant_data(g, v);
        }
    }
    free(left);
    free(keep);
    return st;
}

/* `owned`: NULL, or a buffer (holding the file) to free as soon as it has
 * been parsed, so the file's bytes are gone before packing allocates. */
static odet_status load_common(const void *buf, size_t len, const char *base_dir,
                               const char *label, void *owned, odet_model **out, char *err,
                               size_t errlen)
{
    odet_graph *g = NULL;
    odet_status st = odet_onnx_parse(buf, len, base_dir, &g, err, errlen);
    free(owned);
    if (st == ODET_OK)
        st = fold_constants(g, err, errlen);
    if (st == ODET_OK)
        st = odet_passes_run(g, err, errlen);
    if (st == ODET_OK)
        st = pack_nodes(g, err, errlen);
    if (st != ODET_OK) {
        odet_graph_free(g);
        if (err && errlen && label) {
            /* prefix the file name */
            char tmp[ODET_ERRBUF_SIZE];
            snprintf(tmp, sizeof tmp, "%s", err);
            snprintf(err, errlen, "%s: %s", label, tmp);
        }
        return st;
    }
    odet_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(label ? label : "<memory>"))) {
        free(m);
        odet_graph_free(g);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return ODET_ERR_NOMEM;
    }
    m->g = g;
    *out = m;
    return ODET_OK;
}

odet_status odet_model_load(const char *path, odet_model **out, char *err, size_t errlen)
{
    if (!out || !path) {
        if (err && errlen)
            snprintf(err, errlen, "odet_model_load: NULL argument");
        return ODET_ERR_INVALID_ARG;
    }
    *out = NULL;
    uint8_t *buf;
    size_t len;
    odet_status st = odet_read_file(path, &buf, &len, err, errlen);
    if (st != ODET_OK)
        return st;
    char *dir = strdup(path);
    if (!dir) {
        free(buf);
        return ODET_ERR_NOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        strcpy(dir, ".");
    st = load_common(buf, len, dir, path, buf, out, err, errlen); /* frees buf */
    free(dir);
    return st;
}

odet_status odet_model_load_buffer(const void *buf, size_t len, const char *base_dir,
                                   odet_model **out, char *err, size_t errlen)
{
    if (!out || (!buf && len)) {
        if (err && errlen)
            snprintf(err, errlen, "odet_model_load_buffer: NULL argument");
        return ODET_ERR_INVALID_ARG;
    }
    *out = NULL;
    return load_common(buf, len, base_dir, NULL, NULL, out, err, errlen);
}

void odet_model_free(odet_model *m)
{
    if (!m)
        return;
    odet_graph_free(m->g);
    free(m->path);
    free(m);
}

size_t odet_model_input_count(const odet_model *m)
{
    return m ? (size_t)m->g->n_inputs : 0;
}

size_t odet_model_output_count(const odet_model *m)
{
    return m ? (size_t)m->g->n_outputs : 0;
}

const char *odet_model_input_name(const odet_model *m, size_t i)
{
    return m && i < (size_t)m->g->n_inputs ? m->g->values[m->g->inputs[i]].name : NULL;
}

const char *odet_model_output_name(const odet_model *m, size_t i)
{
    return m && i < (size_t)m->g->n_outputs ? m->g->values[m->g->outputs[i]].name : NULL;
}

static odet_status value_info(const odet_value *v, odet_dtype *dtype, int *rank, int64_t *dims)
{
    if (dtype)
        *dtype = v->dtype;
    if (rank)
        *rank = v->rank;
    if (dims)
        for (int d = 0; d < ODET_MAX_RANK; d++)
            dims[d] = d < v->rank ? v->dims[d] : 0;
    return ODET_OK;
}

odet_status odet_model_input_info(const odet_model *m, size_t i, odet_dtype *dtype, int *rank,
                                  int64_t dims[ODET_MAX_RANK])
{
    if (!m || i >= (size_t)m->g->n_inputs)
        return ODET_ERR_INVALID_ARG;
    return value_info(&m->g->values[m->g->inputs[i]], dtype, rank, dims);
}

odet_status odet_model_output_info(const odet_model *m, size_t i, odet_dtype *dtype, int *rank,
                                   int64_t dims[ODET_MAX_RANK])
{
    if (!m || i >= (size_t)m->g->n_outputs)
        return ODET_ERR_INVALID_ARG;
    return value_info(&m->g->values[m->g->outputs[i]], dtype, rank, dims);
}

const char *odet_model_metadata(const odet_model *m, const char *key)
{
    if (!m || !key)
        return NULL;
    for (int i = 0; i < m->g->n_meta; i++)
        if (strcmp(m->g->meta[i].key, key) == 0)
            return m->g->meta[i].value;
    return NULL;
}

size_t odet_model_metadata_count(const odet_model *m)
{
    return m ? (size_t)m->g->n_meta : 0;
}

odet_status odet_model_metadata_at(const odet_model *m, size_t i, const char **key,
                                   const char **value)
{
    if (!m || i >= (size_t)m->g->n_meta)
        return ODET_ERR_INVALID_ARG;
    if (key)
        *key = m->g->meta[i].key;
    if (value)
        *value = m->g->meta[i].value;
    return ODET_OK;
}

void odet_model_get_stats(const odet_model *m, odet_model_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!m)
        return;
    st->nodes = (size_t)m->g->n_nodes;
    for (int v = 0; v < m->g->n_values; v++) {
        const odet_tensor *t = m->g->values[v].constant;
        if (m->g->values[v].kind != ODET_VALUE_CONSTANT || !t)
            continue;
        st->initializers++;
        st->parameters += odet_tensor_numel(t);
        st->weight_bytes += odet_tensor_bytes(t);
    }
}

const odet_graph *odet_model_graph(const odet_model *m)
{
    return m ? m->g : NULL;
}
