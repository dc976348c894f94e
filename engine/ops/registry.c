/* Operator registry: every family table, searched by (domain, op_type, opset). */
#include <string.h>

#include "ops/op.h"

#define ODET_FAMILIES(X) \
    X(conv) \
    X(conv_transpose) \
    X(deform_conv) \
    X(norm) \
    X(pool) \
    X(resize) \
    X(space_depth) \
    X(grid_sample) \
    X(matmul) \
    X(einsum) \
    X(softmax) \
    X(reduce) \
    X(topk) \
    X(nms) \
    X(roi_align) \
    X(unary) \
    X(binary) \
    X(movement) \
    X(gather) \
    X(generate) \

#define DECLARE(f) extern const odet_op_def odet_ops_##f[];
ODET_FAMILIES(DECLARE)
#undef DECLARE

#define ENTRY(f) odet_ops_##f,
static const odet_op_def *const families[] = {ODET_FAMILIES(ENTRY)};
#undef ENTRY

static int same_domain(const char *a, const char *b)
{
    if (!a) a = "";
    if (!b) b = "";
    if (strcmp(a, "ai.onnx") == 0) a = "";
    if (strcmp(b, "ai.onnx") == 0) b = "";
    return strcmp(a, b) == 0;
}

const odet_op_def *odet_op_lookup(const char *domain, const char *op_type, int opset)
{
    const odet_op_def *best = NULL;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        for (const odet_op_def *d = families[f]; d->op_type; d++) {
            if (strcmp(d->op_type, op_type) != 0 || !same_domain(d->domain, domain))
                continue;
            /* Custom domains carry their own versions: accept any. */
            if (d->domain && d->domain[0] == '\0' && d->min_opset > opset)
                continue;
            if (!best || d->min_opset > best->min_opset)
                best = d;
        }
    }
    return best;
}

const odet_op_def *odet_op_at(size_t i)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        for (const odet_op_def *d = families[f]; d->op_type; d++) {
            if (i == 0)
                return d;
            i--;
        }
    }
    return NULL;
}
