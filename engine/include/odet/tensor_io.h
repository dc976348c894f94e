/* Reading and writing tensors as ONNX TensorProto files (.pb), the format of
 * ONNX's test data and of the onnx-run tool. */
#ifndef ODET_TENSOR_IO_H
#define ODET_TENSOR_IO_H

#include "odet/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Read a serialized TensorProto. On success `out->data` is malloc'd and
 *  owned by the caller (release with odet_tensor_release). If `name` is not
 *  NULL the tensor's name is copied into name[0..name_len). */
odet_status odet_tensor_read_pb(const char *path, odet_tensor *out, char *name, size_t name_len,
                                char *err, size_t errlen);

/** Write a tensor as a serialized TensorProto (raw_data encoding). */
odet_status odet_tensor_write_pb(const char *path, const odet_tensor *t, const char *name,
                                 char *err, size_t errlen);

/** Free the data of a tensor returned by odet_tensor_read_pb and clear it. */
void odet_tensor_release(odet_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
