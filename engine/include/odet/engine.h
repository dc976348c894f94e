/* odet engine: load ONNX models and run them on the CPU.
 *
 * Life cycle:
 *   odet_model_load()      parse + validate the file, fold constants, pack weights
 *                          (a weight only read through its packed copy is not
 *                          kept twice: its original data is freed).
 *                          A model is immutable afterwards and may be shared by
 *                          any number of sessions (also from several threads).
 *   odet_session_create()  per-caller execution state (arena, scratch, threads).
 *   odet_session_run()     run on input tensors. Re-plans memory only when the
 *                          input shapes differ from the previous run; a run with
 *                          unchanged shapes allocates nothing.
 *   odet_session_output()  borrow an output (valid until the next run/free).
 *
 * Every fallible function returns an odet_status and, when `err` is not NULL,
 * writes a one-line human-readable message (naming the file, node or tensor at
 * fault) into err[0..errlen). The library never prints and never exits.
 */
#ifndef ODET_ENGINE_H
#define ODET_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes returned by every fallible odet function. */
typedef enum odet_status {
    ODET_OK = 0,
    ODET_ERR_INVALID_ARG,  /**< a caller-supplied argument is invalid */
    ODET_ERR_IO,           /**< a file could not be opened or read */
    ODET_ERR_PARSE,        /**< malformed or truncated model / tensor file */
    ODET_ERR_UNSUPPORTED,  /**< unsupported operator, attribute or dtype */
    ODET_ERR_SHAPE,        /**< shapes do not match what an operator needs */
    ODET_ERR_DTYPE,        /**< element types do not match */
    ODET_ERR_NOMEM,        /**< an allocation failed */
    ODET_ERR_LIMIT,        /**< a size exceeds what odet accepts (e.g. absurd dims) */
    ODET_ERR_GRAPH,        /**< invalid graph: cycle, dangling input, duplicate name */
    ODET_ERR_INTERNAL      /**< a bug in odet; please report it */
} odet_status;

/** Short constant name of a status ("ODET_ERR_SHAPE", ...). */
const char *odet_status_str(odet_status s);

/** Recommended size of the caller's error buffer. */
#define ODET_ERRBUF_SIZE 512

/** Element types; the values equal ONNX TensorProto.DataType. */
typedef enum odet_dtype {
    ODET_UNDEFINED = 0,
    ODET_FLOAT = 1,
    ODET_UINT8 = 2,
    ODET_INT8 = 3,
    ODET_UINT16 = 4,
    ODET_INT16 = 5,
    ODET_INT32 = 6,
    ODET_INT64 = 7,
    ODET_STRING = 8, /**< not supported as tensor data */
    ODET_BOOL = 9,   /**< one byte per element, 0 or 1 */
    ODET_FLOAT16 = 10,
    ODET_DOUBLE = 11,
    ODET_UINT32 = 12,
    ODET_UINT64 = 13
} odet_dtype;

/** Bytes per element, 0 for unsupported types. */
size_t odet_dtype_size(odet_dtype t);
/** Lower-case ONNX name of a dtype ("float", "int64", ...). */
const char *odet_dtype_name(odet_dtype t);

/** Maximum tensor rank odet handles. */
#define ODET_MAX_RANK 8

/** A dense, row-major tensor. `data` is not owned by the struct. */
typedef struct odet_tensor {
    odet_dtype dtype;
    int rank;                      /**< 0 for a scalar */
    int64_t dims[ODET_MAX_RANK];
    void *data;
} odet_tensor;

/** Number of elements (1 for a scalar). */
int64_t odet_tensor_numel(const odet_tensor *t);
/** Number of bytes of the data. */
size_t odet_tensor_bytes(const odet_tensor *t);

typedef struct odet_model odet_model;
typedef struct odet_session odet_session;

/** Load an ONNX model file. External data files are resolved relative to
 *  the model's folder. */
odet_status odet_model_load(const char *path, odet_model **out, char *err, size_t errlen);

/** Load an ONNX model from memory. `base_dir` (may be NULL) resolves external
 *  data. The buffer may be freed after the call. */
odet_status odet_model_load_buffer(const void *buf, size_t len, const char *base_dir,
                                   odet_model **out, char *err, size_t errlen);

/** Free a model. All its sessions must have been freed first. NULL is a no-op. */
void odet_model_free(odet_model *m);

/** Graph inputs (initializers excluded) and outputs, in graph order. */
size_t odet_model_input_count(const odet_model *m);
size_t odet_model_output_count(const odet_model *m);
const char *odet_model_input_name(const odet_model *m, size_t i);
const char *odet_model_output_name(const odet_model *m, size_t i);

/** Declared type/shape of an input or output. Dynamic dims are reported as -1,
 *  unknown rank as *rank = -1. Returns ODET_ERR_INVALID_ARG for a bad index. */
odet_status odet_model_input_info(const odet_model *m, size_t i, odet_dtype *dtype, int *rank,
                                  int64_t dims[ODET_MAX_RANK]);
odet_status odet_model_output_info(const odet_model *m, size_t i, odet_dtype *dtype, int *rank,
                                   int64_t dims[ODET_MAX_RANK]);

/** Value of a metadata_props entry, or NULL. */
const char *odet_model_metadata(const odet_model *m, const char *key);
/** Number of metadata entries and access by index (key and value). */
size_t odet_model_metadata_count(const odet_model *m);
odet_status odet_model_metadata_at(const odet_model *m, size_t i, const char **key,
                                   const char **value);

/** Counts of the loaded graph (after load-time folding). */
typedef struct odet_model_stats {
    size_t nodes;          /**< nodes executed per run before plan-time folding */
    size_t initializers;
    int64_t parameters;    /**< elements in all initializers */
    size_t weight_bytes;   /**< their bytes by shape (also of those whose data was
                                freed at load, held only as packed copies) */
} odet_model_stats;
void odet_model_get_stats(const odet_model *m, odet_model_stats *st);

/** Session options; zero-initialise and set what you need. */
typedef struct odet_session_options {
    int threads;  /**< worker threads; 0 = number of online CPUs */
} odet_session_options;

odet_status odet_session_create(const odet_model *m, const odet_session_options *opt,
                                odet_session **out, char *err, size_t errlen);
void odet_session_free(odet_session *s);

/** Run the model. inputs[i] feeds graph input i (see odet_model_input_name).
 *  Input data is copied; the caller keeps ownership. */
odet_status odet_session_run(odet_session *s, const odet_tensor *inputs, size_t n_inputs,
                             char *err, size_t errlen);

/** Output i of the last successful run, or NULL. Owned by the session and
 *  valid until the next run or odet_session_free(). */
const odet_tensor *odet_session_output(const odet_session *s, size_t i);

/** Memory plan of the last run's shapes. */
typedef struct odet_plan_stats {
    size_t arena_bytes;        /**< planned peak of the activation arena */
    size_t activation_bytes;   /**< sum of all planned activation sizes (no reuse) */
    size_t scratch_bytes;      /**< largest per-node scratch buffer */
    size_t folded_nodes;       /**< nodes evaluated once at plan time */
    size_t dynamic_values;     /**< values whose shape is only known at run time */
} odet_plan_stats;
void odet_session_plan_stats(const odet_session *s, odet_plan_stats *st);

/** Per-node profiling. When enabled, each run records the wall time of every
 *  executed node (ordered as the graph). */
void odet_session_set_profiling(odet_session *s, int enabled);
typedef struct odet_node_profile {
    const char *name;
    const char *op_type;
    double ms; /**< time of the last run */
} odet_node_profile;
/** Returns the number of entries; *out points into session storage. */
size_t odet_session_profile(const odet_session *s, const odet_node_profile **out);

/** The instruction set the kernels were chosen for ("avx512", "avx2", "scalar").
 *  The environment variable ODET_ISA=scalar|avx2|avx512 caps the choice. */
const char *odet_cpu_isa(void);

#ifdef __cplusplus
}
#endif
#endif
