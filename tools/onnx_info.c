/* onnx-info MODEL.onnx [--shape NAME=1x3x512x512 ...]
 * Inputs/outputs with shapes, op histogram, parameter count, estimated MACs per
 * op type (from one run on zero inputs) and unsupported ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/tensor_proto.h"
#include "odet/engine.h"
#include "onnx.pb-c.h"
#include "ops/op.h"
#include "runtime/runtime.h"

typedef struct hist {
    char op[64];
    int count;
    double macs;
} hist;

static hist *hist_get(hist *h, int *n, const char *op)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(h[i].op, op))
            return &h[i];
    snprintf(h[*n].op, sizeof h[*n].op, "%s", op);
    h[*n].count = 0;
    h[*n].macs = 0;
    return &h[(*n)++];
}

static void print_dims(int rank, const int64_t *dims)
{
    printf("[");
    for (int d = 0; d < rank; d++)
        printf(d ? ",%lld" : "%lld", (long long)dims[d]);
    printf("]");
}

/* Multiply-accumulates of one node given its current tensors. */
static double node_macs(const odet_session *s, const odet_node *n)
{
    const odet_tensor *out = n->n_out > 0 ? odet_session_value(s, n->out[0]) : NULL;
    const odet_tensor *w = n->n_in > 1 ? odet_session_value(s, n->in[1]) : NULL;
    const odet_tensor *a = n->n_in > 0 ? odet_session_value(s, n->in[0]) : NULL;
    if (!out || !a)
        return 0;
    const char *op = n->op_type;
    double outn = (double)odet_tensor_numel(out);
    if ((!strcmp(op, "Conv") || !strcmp(op, "DeformConv")) && w && w->rank >= 3) {
        double k = 1;
        for (int d = 1; d < w->rank; d++)
            k *= (double)w->dims[d];
        return outn * k;
    }
    if (!strcmp(op, "ConvTranspose") && w && w->rank >= 3) {
        double k = (double)w->dims[1];
        for (int d = 2; d < w->rank; d++)
            k *= (double)w->dims[d];
        return (double)odet_tensor_numel(a) * k;
    }
    if ((!strcmp(op, "MatMul") || !strcmp(op, "Gemm")) && a->rank >= 1) {
        int64_t kdim = a->dims[a->rank - 1];
        if (!strcmp(op, "Gemm") && odet_attr_int(n, "transA", 0))
            kdim = a->dims[0];
        return outn * (double)kdim;
    }
    if (!strncmp(op, "MMCV", 4) && n->n_in > 2) {
        const odet_tensor *ww = odet_session_value(s, n->in[!strcmp(op, "MMCVDeformConv2d") ? 2 : 3]);
        if (ww && ww->rank == 4)
            return outn * (double)(ww->dims[1] * ww->dims[2] * ww->dims[3]);
    }
    return 0;
}

static int parse_shape(const char *spec, char *name, size_t nlen, int64_t *dims, int *rank)
{
    const char *eq = strchr(spec, '=');
    if (!eq || (size_t)(eq - spec) >= nlen)
        return -1;
    memcpy(name, spec, (size_t)(eq - spec));
    name[eq - spec] = '\0';
    *rank = 0;
    const char *p = eq + 1;
    while (*p && *rank < ODET_MAX_RANK) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0)
            return -1;
        dims[(*rank)++] = v;
        p = *end == 'x' || *end == ',' ? end + 1 : end;
        if (*end && *end != 'x' && *end != ',')
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    const char *shapes[32];
    int n_shapes = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: onnx-info MODEL.onnx [--shape INPUT=1x3x512x512 ...]\n"
                   "       onnx-info --list-ops\n"
                   "Prints inputs/outputs, op histogram, parameters, estimated MACs per op\n"
                   "type (dynamic dims default to 1 unless --shape is given) and any\n"
                   "unsupported operators.\n");
            return 0;
        } else if (!strcmp(argv[i], "--list-ops")) {
            /* registered operators: domain, op type, oldest opset implemented */
            for (size_t k = 0; odet_op_at(k); k++) {
                const odet_op_def *d = odet_op_at(k);
                printf("%s\t%s\t%d\n", d->domain && d->domain[0] ? d->domain : "ai.onnx",
                       d->op_type, d->min_opset);
            }
            return 0;
        } else if (!strcmp(argv[i], "--shape") && i + 1 < argc && n_shapes < 32) {
            shapes[n_shapes++] = argv[++i];
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "onnx-info: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: onnx-info MODEL.onnx [--shape INPUT=DIMS ...]\n");
        return 2;
    }
    char err[ODET_ERRBUF_SIZE];
    uint8_t *buf;
    size_t len;
    if (odet_read_file(path, &buf, &len, err, sizeof err) != ODET_OK) {
        fprintf(stderr, "onnx-info: %s\n", err);
        return 1;
    }
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!mp || !mp->graph) {
        fprintf(stderr, "onnx-info: %s: not a valid ONNX model\n", path);
        if (mp)
            onnx__model_proto__free_unpacked(mp, NULL);
        return 1;
    }
    const Onnx__GraphProto *gp = mp->graph;
    printf("model: %s\nproducer: %s %s, ir_version %lld\nopsets:", path,
           mp->producer_name ? mp->producer_name : "?",
           mp->producer_version ? mp->producer_version : "", (long long)mp->ir_version);
    for (size_t i = 0; i < mp->n_opset_import; i++)
        printf(" %s:%lld", mp->opset_import[i]->domain && mp->opset_import[i]->domain[0]
                               ? mp->opset_import[i]->domain : "ai.onnx",
               (long long)mp->opset_import[i]->version);
    printf("\n");
    for (size_t i = 0; i < mp->n_metadata_props; i++)
        printf("metadata: %s = %s\n", mp->metadata_props[i]->key, mp->metadata_props[i]->value);
    hist *h = calloc(gp->n_node + 1, sizeof *h);
    int nh = 0;
    for (size_t i = 0; i < gp->n_node && h; i++)
        hist_get(h, &nh, gp->node[i]->op_type ? gp->node[i]->op_type : "?")->count++;

    odet_model *m = NULL;
    odet_status st = odet_model_load(path, &m, err, sizeof err);
    if (st != ODET_OK) {
        printf("load: %s\n", err);
    } else {
        odet_model_stats ms;
        odet_model_get_stats(m, &ms);
        printf("parameters: %lld (%.2f MB of constants), %zu nodes after load-time folding\n",
               (long long)ms.parameters, ms.weight_bytes / 1e6, ms.nodes);
        odet_tensor *in = calloc(odet_model_input_count(m) + 1, sizeof *in);
        int ok = in != NULL;
        for (size_t i = 0; ok && i < odet_model_input_count(m); i++) {
            odet_dtype dt;
            int rank;
            int64_t dims[ODET_MAX_RANK];
            odet_model_input_info(m, i, &dt, &rank, dims);
            printf("input  %zu: %s %s ", i, odet_model_input_name(m, i), odet_dtype_name(dt));
            print_dims(rank, dims);
            printf("\n");
            for (int k = 0; k < n_shapes; k++) {
                char name[256];
                int64_t sd[ODET_MAX_RANK];
                int sr;
                if (parse_shape(shapes[k], name, sizeof name, sd, &sr) == 0 &&
                    !strcmp(name, odet_model_input_name(m, i))) {
                    rank = sr;
                    memcpy(dims, sd, sizeof sd);
                }
            }
            if (rank < 0) {
                ok = 0;
                break;
            }
            for (int d = 0; d < rank; d++)
                if (dims[d] < 0)
                    dims[d] = 1;
            in[i].dtype = dt;
            in[i].rank = rank;
            memcpy(in[i].dims, dims, sizeof dims);
            int64_t numel = odet_tensor_numel(&in[i]);
            in[i].data = calloc((size_t)(numel > 0 ? numel : 1), odet_dtype_size(dt));
            ok = in[i].data != NULL;
        }
        for (size_t i = 0; i < odet_model_output_count(m); i++) {
            odet_dtype dt;
            int rank;
            int64_t dims[ODET_MAX_RANK];
            odet_model_output_info(m, i, &dt, &rank, dims);
            printf("output %zu: %s %s ", i, odet_model_output_name(m, i), odet_dtype_name(dt));
            print_dims(rank, dims);
            printf("\n");
        }
        odet_session *s = NULL;
        odet_session_options opt = {.threads = 0};
        if (ok && odet_session_create(m, &opt, &s, err, sizeof err) == ODET_OK &&
            odet_session_run(s, in, odet_model_input_count(m), err, sizeof err) == ODET_OK) {
            const odet_graph *g = odet_model_graph(m);
            double total = 0;
            for (int i = 0; i < g->n_nodes; i++) {
                double mac = node_macs(s, &g->nodes[i]);
                hist_get(h, &nh, g->nodes[i].op_type)->macs += mac;
                total += mac;
            }
            for (size_t i = 0; i < odet_model_output_count(m); i++) {
                const odet_tensor *t = odet_session_output(s, i);
                printf("output %zu shape at these inputs: ", i);
                print_dims(t->rank, t->dims);
                printf("\n");
            }
            odet_plan_stats ps;
            odet_session_plan_stats(s, &ps);
            printf("estimated MACs: %.3f G\n", total / 1e9);
            printf("memory plan: arena %.2f MB (activations %.2f MB without reuse), scratch "
                   "%.2f MB\n", ps.arena_bytes / 1e6, ps.activation_bytes / 1e6,
                   ps.scratch_bytes / 1e6);
        } else if (ok) {
            printf("run on zero inputs failed: %s\n", err);
        }
        odet_session_free(s);
        for (size_t i = 0; in && i < odet_model_input_count(m); i++)
            free(in[i].data);
        free(in);
    }
    printf("%-28s %6s %12s\n", "op", "nodes", "GMACs");
    for (int i = 0; i < nh; i++)
        printf("%-28s %6d %12.4f\n", h[i].op, h[i].count, h[i].macs / 1e9);
    free(h);
    odet_model_free(m);
    onnx__model_proto__free_unpacked(mp, NULL);
    return st == ODET_OK ? 0 : 1;
}
