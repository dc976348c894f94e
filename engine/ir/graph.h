/* Internal graph IR, independent of protobuf. */
#ifndef ODET_IR_GRAPH_H
#define ODET_IR_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "ir/packed.h"
#include "odet/engine.h"

struct odet_op_def;

/* Attribute kinds; values equal ONNX AttributeProto.AttributeType. */
typedef enum odet_attr_type {
    ODET_ATTR_UNDEFINED = 0,
    ODET_ATTR_FLOAT = 1,
    ODET_ATTR_INT = 2,
    ODET_ATTR_STRING = 3,
    ODET_ATTR_TENSOR = 4,
    ODET_ATTR_GRAPH = 5,
    ODET_ATTR_FLOATS = 6,
    ODET_ATTR_INTS = 7,
    ODET_ATTR_STRINGS = 8
} odet_attr_type;

typedef struct odet_attr {
    char *name;
    odet_attr_type type;
    float f;
    int64_t i;
    char *s;           /* STRING: NUL-terminated copy (s_len bytes + NUL) */
    size_t s_len;
    odet_tensor *t;    /* TENSOR: owned tensor + owned data */
    size_t n;          /* element count of floats / ints / strings */
    float *floats;
    int64_t *ints;
    char **strings;
} odet_attr;

typedef struct odet_node {
    char *name;        /* never NULL; synthesised "<op>_<index>" when empty */
    char *op_type;
    char *domain;      /* "" for the default ONNX domain */
    int opset;         /* opset version of the node's domain */
    int n_in, n_out;
    int *in;           /* value ids; -1 for an absent optional input */
    int *out;          /* value ids; -1 for an absent optional output */
    int n_attr;
    odet_attr *attrs;
    const struct odet_op_def *def; /* resolved at load */
    void *params;      /* op's parsed attributes (def->prepare) */
} odet_node;

typedef enum odet_value_kind {
    ODET_VALUE_ACTIVATION = 0, /* produced by a node */
    ODET_VALUE_INPUT,          /* graph input fed by the caller */
    ODET_VALUE_CONSTANT        /* initializer, Constant node or load-time fold */
} odet_value_kind;

typedef struct odet_value {
    char *name;
    odet_value_kind kind;
    odet_dtype dtype;          /* declared; ODET_UNDEFINED if unknown */
    int rank;                  /* declared; -1 if unknown */
    int64_t dims[ODET_MAX_RANK]; /* declared; -1 for symbolic/unknown */
    int producer;              /* node index or -1 */
    int n_consumers;
    int is_output;             /* graph output index + 1, 0 if not an output */
    odet_tensor *constant;     /* CONSTANT: owned tensor + data */
    int data_released;         /* CONSTANT: data freed at load because every consumer
                                  packed its own copy (constant->data == NULL; dtype
                                  and dims stay valid) */
} odet_value;

typedef struct odet_meta {
    char *key, *value;
} odet_meta;

typedef struct odet_graph {
    int n_values, cap_values;
    odet_value *values;
    int n_nodes, cap_nodes;
    odet_node *nodes;          /* topologically sorted after odet_graph_finalize */
    int n_inputs, n_outputs;
    int *inputs, *outputs;     /* value ids */
    int n_meta;
    odet_meta *meta;
    int64_t ir_version;
    int default_opset;
    /* Packed constants shared by nodes (ir/packed.h), filled at load by the
     * pack hooks; the graph holds one reference to each. */
    odet_pack_cache packs;
} odet_graph;

/* ---- construction (used by the loader and by tests) ---- */
odet_graph *odet_graph_new(void);
void odet_graph_free(odet_graph *g);
/* Free everything a node owns (params, names, attributes) and zero it. */
void odet_node_clear(odet_node *n);
/* Find a value by name, or -1. */
int odet_graph_find_value(const odet_graph *g, const char *name);
/* Find or create a value by name; returns id or -1 on OOM. */
int odet_graph_intern_value(odet_graph *g, const char *name);
/* Sort nodes topologically, compute producers/consumers, check every input has
 * a source. Reports the offending node by name. */
odet_status odet_graph_finalize(odet_graph *g, char *err, size_t errlen);

/* Free the data of constant value v (keeping its dtype and dims; data becomes
 * NULL and data_released is set). Only for constants no op reads the data of
 * any more. Returns the bytes released. */
size_t odet_graph_release_constant_data(odet_graph *g, int v);
/* Bytes of constant data the graph holds (released constants count 0). */
size_t odet_graph_constant_bytes(const odet_graph *g);
/* Bytes of packed constants the graph holds (each shared buffer once). */
size_t odet_graph_packed_bytes(const odet_graph *g);

/* ---- attribute access for ops ---- */
const odet_attr *odet_attr_find(const odet_node *n, const char *name);
int64_t odet_attr_int(const odet_node *n, const char *name, int64_t def);
float odet_attr_float(const odet_node *n, const char *name, float def);
/* NULL when absent. */
const char *odet_attr_string(const odet_node *n, const char *name, const char *def);
/* Returns element pointer and sets *count, or NULL (count 0) when absent. */
const int64_t *odet_attr_ints(const odet_node *n, const char *name, size_t *count);
const float *odet_attr_floats(const odet_node *n, const char *name, size_t *count);
const odet_tensor *odet_attr_tensor(const odet_node *n, const char *name);

/* Tensor helpers shared by loader and runtime. */
odet_tensor *odet_tensor_alloc(odet_dtype dt, int rank, const int64_t *dims); /* zeroed data */
void odet_tensor_free(odet_tensor *t); /* frees struct and data */
/* Checked product of dims; returns -1 on overflow / negative dims / > limit. */
int64_t odet_dims_numel_checked(int rank, const int64_t *dims);

/* Largest tensor odet will allocate (elements); guards absurd declared dims. */
#define ODET_MAX_TENSOR_ELEMS ((int64_t)1 << 34)

#endif
