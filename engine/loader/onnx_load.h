/* ModelProto -> odet_graph (internal). */
#ifndef ODET_LOADER_ONNX_LOAD_H
#define ODET_LOADER_ONNX_LOAD_H

#include "ir/graph.h"

/* Parse a serialized ModelProto into a finalized graph with every node's op
 * resolved and prepared. All unsupported ops are reported in one message. */
odet_status odet_onnx_parse(const void *buf, size_t len, const char *base_dir, odet_graph **out,
                            char *err, size_t errlen);

#endif
