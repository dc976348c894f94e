/* Operator interface. Every ONNX operator is one odet_op_def in a family
 * table (engine/ops/<family>.c, listed in registry.c). The runtime calls:
 *
 *   prepare(node)  once at load: parse + validate attributes into node->params.
 *   infer(ctx)     set dtype/rank/dims of every present output from the inputs.
 *                  Inputs listed in `data_inputs` always have data; other inputs
 *                  may have data == NULL (at plan time). Must not read those.
 *   scratch(ctx)   optional: bytes of temporary memory run() needs (shapes set).
 *   run(ctx)       compute. Outputs are allocated with the shapes infer() set.
 *   pack(node)     optional, once at load: precompute from constant inputs
 *                  (shared between nodes through the model's pack cache); may
 *                  report inputs whose data the runtime then releases.
 *
 * Error messages go through odet_op_fail(), which prefixes the node name and
 * op type, so users see e.g. "node 'conv1' (Conv): weight must be rank 4".
 */
#ifndef ODET_OPS_OP_H
#define ODET_OPS_OP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"
#include "odet/engine.h"

typedef struct odet_op_ctx {
    const odet_node *node;
    const void *params;             /* node->params */
    int n_in, n_out;
    const odet_tensor *const *in;   /* in[i] == NULL: optional input absent */
    odet_tensor *const *out;        /* out[i] == NULL: optional output absent */
    void *scratch;                  /* scratch(ctx) bytes, 64-byte aligned */
    size_t scratch_bytes;
    int threads;                    /* >= 1; use num_threads(ctx->threads) */
    char *err;
    size_t errlen;
} odet_op_ctx;

/* Flags of an op definition. */
enum {
    ODET_OP_ALIAS = 1u << 0,      /* output 0 is a view of input 0 (same bytes):
                                     the runtime sets out[0]->data, run may be NULL */
    ODET_OP_SHAPE_ONLY = 1u << 1, /* outputs depend on input shapes only (Shape, Size) */
    ODET_OP_NO_FOLD = 1u << 2     /* never evaluate at load/plan time (random ops) */
};

typedef struct odet_op_def {
    const char *op_type;
    const char *domain;           /* "" = default ONNX domain */
    int min_opset;                /* oldest opset version implemented */
    unsigned flags;
    uint32_t data_inputs;         /* bit i: infer() needs the data of input i */
    odet_status (*prepare)(odet_node *node, char *err, size_t errlen); /* may be NULL */
    void (*release)(void *params);                                      /* NULL = free() */
    odet_status (*infer)(odet_op_ctx *ctx);
    size_t (*scratch)(const odet_op_ctx *ctx);                          /* may be NULL */
    odet_status (*run)(odet_op_ctx *ctx);
    /* Optional, called once at load after constant folding and graph passes:
     * constants[i] is input i when it is a model constant, else NULL. May
     * precompute into node->params (e.g. pack weights in a kernel's layout),
     * which every session then shares read-only.
     * *replaced (zeroed by the caller) gets bit i set when the precomputed
     * copy fully replaces constant input i: for every input shape infer()
     * accepts, neither infer, scratch nor run reads that input's data again
     * (they may still read its dims/dtype). The runtime then may release the
     * data (the tensor keeps its shape, data == NULL); run() must report an
     * error, never crash, if it finds the data gone where it needs it.
     * cache: the model's packed constants (ir/packed.h), or NULL (no sharing).
     * A hook gets its buffer from odet_packed_get() with a key that fully
     * determines the packed bytes (node->in[i] as the value id), fills it
     * only when fresh, and keeps the reference in node->params (its release
     * hook drops it), so nodes packing one constant alike share one copy. */
    odet_status (*pack)(odet_node *node, const odet_tensor *const *constants,
                        odet_pack_cache *cache, uint32_t *replaced, char *err, size_t errlen);
} odet_op_def;

/* Look up an op; NULL when unsupported. */
const odet_op_def *odet_op_lookup(const char *domain, const char *op_type, int opset);
/* Iterate over all registered ops (for docs / onnx-info). Returns NULL at end. */
const odet_op_def *odet_op_at(size_t i);

/* ---- helpers for op implementations (engine/ops/op_util.c) ---- */

/* Format "node 'NAME' (OpType): <message>" into ctx->err; returns `st`. */
odet_status odet_op_fail(const odet_op_ctx *ctx, odet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same for prepare(), which has a node but no ctx. */
odet_status odet_node_fail(const odet_node *node, char *err, size_t errlen, odet_status st,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Set an output's dtype and shape. */
void odet_set_shape(odet_tensor *t, odet_dtype dt, int rank, const int64_t *dims);
/* Normalise an axis in [-rank, rank) to [0, rank); returns 0 on success, -1 if out of range. */
int odet_norm_axis(int64_t axis, int rank, int *out);
/* numpy broadcasting of two shapes; returns 0 or -1 when incompatible. */
int odet_broadcast_shape(int ra, const int64_t *a, int rb, const int64_t *b, int *rout,
                         int64_t *out);
/* Element i of an integer tensor (int32/int64/int8/uint8/int16/uint16/bool) as int64. */
int64_t odet_tensor_get_i64(const odet_tensor *t, int64_t i);
/* Element i of a float/double/integer tensor as double. */
double odet_tensor_get_f64(const odet_tensor *t, int64_t i);
/* Read all elements of a 0-D/1-D integer tensor into out[0..max). Returns the count,
 * or -1 if the tensor is not integer / has more than max elements. */
int odet_tensor_read_ints(const odet_tensor *t, int64_t *out, int max);
/* Row-major strides (in elements) of a shape. */
void odet_strides(int rank, const int64_t *dims, int64_t *strides);
/* Product of dims[lo..hi). */
int64_t odet_dims_prod(const int64_t *dims, int lo, int hi);
/* Whether a dtype is a float type odet computes in (float, double). */
int odet_dtype_is_float(odet_dtype t);
int odet_dtype_is_int(odet_dtype t); /* signed/unsigned integers (not bool) */

#endif
