/* Internal runtime structures shared by model.c, session.c and exec.c. */
#ifndef ODET_RUNTIME_H
#define ODET_RUNTIME_H

#include "ir/graph.h"
#include "ops/op.h"

struct odet_model {
    odet_graph *g;
    char *path; /* for messages; may be "<memory>" */
};

/* Evaluate one node outside any plan (constant folding): runs infer, allocates
 * owned outputs (odet_tensor_alloc) and runs. out[k] is NULL for absent outputs.
 * On failure nothing is left allocated. */
odet_status odet_exec_owned(const odet_node *n, const odet_tensor *const *in, odet_tensor **out,
                            int threads, char *err, size_t errlen);

/* The model's graph (tools and tests inspect it). */
const odet_graph *odet_model_graph(const odet_model *m);

/* Current tensor of value `v` (shape and data of the last run), or NULL. */
const odet_tensor *odet_session_value(const odet_session *s, int v);

/* 64-byte aligned allocation helpers. */
void *odet_aligned_alloc(size_t bytes);
void odet_aligned_free(void *p);

#endif
