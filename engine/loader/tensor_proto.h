/* TensorProto <-> odet_tensor conversion (internal). */
#ifndef ODET_LOADER_TENSOR_PROTO_H
#define ODET_LOADER_TENSOR_PROTO_H

#include "ir/graph.h"
#include "onnx.pb-c.h"

/* Decode a TensorProto into a freshly allocated tensor (struct + data owned).
 * base_dir resolves external data (NULL: external data is an error).
 * `what` names the tensor in messages (e.g. "initializer 'conv1.weight'"). */
odet_status odet_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir,
                                   const char *what, odet_tensor **out, char *err, size_t errlen);

/* Read a whole file into memory (malloc). Fails with ODET_ERR_IO naming the path. */
odet_status odet_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen);

#endif
