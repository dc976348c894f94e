/* Shared fixtures of the operator unit suites: a node built in memory, its
 * attributes, test tensors, and a driver that runs one node through its op
 * definition (lookup -> prepare -> infer -> allocate outputs -> scratch ->
 * run -> release) the way the runtime would. */
#ifndef ODET_TESTS_OP_HARNESS_H
#define ODET_TESTS_OP_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"
#include "ops/op.h"

#define TEST_NODE_MAX_ATTRS 16
#define TEST_NODE_MAX_VALUES 16 /* per INTS / FLOATS attribute */
#define TEST_NODE_MAX_IO 16

/* A node with its own storage for attributes and input / output indices
 * (input i and output i are value i). Free with free(). */
typedef struct test_node {
    odet_node node;
    odet_attr attrs[TEST_NODE_MAX_ATTRS];
    int64_t ints[TEST_NODE_MAX_ATTRS][TEST_NODE_MAX_VALUES]; /* INTS storage, by attribute slot */
    float floats[TEST_NODE_MAX_ATTRS][TEST_NODE_MAX_VALUES]; /* FLOATS storage, by slot */
    int ins[TEST_NODE_MAX_IO], outs[TEST_NODE_MAX_IO];
} test_node;

test_node *node_new(const char *op, int opset, int n_in, int n_out);
/* A node with one output. */
test_node *node_new1(const char *op, int opset, int n_in);

odet_attr *attr_add(test_node *t, const char *name, odet_attr_type type);
void attr_int(test_node *t, const char *name, int64_t v);
void attr_float(test_node *t, const char *name, float v);
void attr_string(test_node *t, const char *name, const char *s);
/* INTS / FLOATS values are copied into storage owned by the node. */
void attr_ints(test_node *t, const char *name, const int64_t *v, size_t n);
void attr_floats(test_node *t, const char *name, const float *v, size_t n);

/* Zero-filled tensor (data is never NULL, even when empty). */
odet_tensor tensor(odet_dtype dt, int rank, const int64_t *dims);
/* Float tensor holding v (numel values). */
odet_tensor tensor_f32(int rank, const int64_t *dims, const float *v);
/* 1-D tensors holding v[0..n). */
odet_tensor ints_tensor(const int64_t *v, int64_t n);
odet_tensor floats_tensor(const float *v, int64_t n);
/* Rank-0 tensor holding one element of dt read from v. */
odet_tensor scalar_tensor(odet_dtype dt, const void *v);
void tensor_free(odet_tensor *x);

/* Linear congruential step; returns the state's upper 24 bits. */
unsigned lcg(unsigned *seed);

typedef struct run_result {
    odet_status st;
    char err[512];
} run_result;

typedef struct op_run_opts {
    int threads;
    /* >= 0: output 0 shares that input's buffer (in-place execution). */
    int inplace_input;
    /* Byte the fresh output buffers are filled with (0: zeroed). */
    int out_fill;
    /* An unregistered op returns ODET_ERR_UNSUPPORTED instead of failing. */
    int missing_ok;
} op_run_opts;

/* Lookup, prepare, infer, allocate outputs (out[i] == NULL: absent output),
 * scratch, run, release. ALIAS ops get a copy of input 0 in output 0, as the
 * runtime's view would hold. Returns the first non-OK status. */
run_result op_run(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor **out,
                  int n_out, const op_run_opts *opts);

/* op_run with zeroed outputs and `threads` threads. */
run_result run_node(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor **out,
                    int n_out, int threads);
/* One output, allocated here. */
run_result run_node1(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor *out,
                     int threads);
/* One output, allocated here, or shared with input `alias` when alias >= 0. */
run_result run_node_alias(test_node *t, const odet_tensor *const *in, int n_in, odet_tensor *out,
                          int threads, int alias);

#endif
