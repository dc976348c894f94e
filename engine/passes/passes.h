/* Load-time graph rewrites. Each pass keeps the graph's results unchanged (up
 * to float rounding), runs after constant folding and leaves the graph
 * finalized (sorted, producers and consumers up to date). */
#ifndef ODET_PASSES_H
#define ODET_PASSES_H

#include "ir/graph.h"

/* Conv/ConvTranspose followed by inference BatchNormalization: scale the
 * weights and bias, drop the BatchNormalization node. */
odet_status odet_pass_fuse_conv_bn(odet_graph *g, char *err, size_t errlen);

/* Conv/ConvTranspose followed by an activation (Relu, LeakyRelu, Clip with
 * constant bounds, Sigmoid, HardSigmoid, HardSwish, x * Sigmoid(x)) and Conv
 * followed by a residual Add: fold them into the convolution's epilogue. */
odet_status odet_pass_fuse_conv_act(odet_graph *g, char *err, size_t errlen);

/* Free constants that no node reads and that are not graph outputs. */
void odet_graph_drop_unused_constants(odet_graph *g);

/* Run every pass in order. */
odet_status odet_passes_run(odet_graph *g, char *err, size_t errlen);

#endif
