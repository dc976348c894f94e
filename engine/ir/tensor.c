/* Tensor size arithmetic and owned-tensor allocation. */
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"

int64_t odet_tensor_numel(const odet_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

size_t odet_tensor_bytes(const odet_tensor *t)
{
    return (size_t)odet_tensor_numel(t) * odet_dtype_size(t->dtype);
}

int64_t odet_dims_numel_checked(int rank, const int64_t *dims)
{
    if (rank < 0 || rank > ODET_MAX_RANK)
        return -1;
    int64_t n = 1;
    int zero = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] == 0) {
            zero = 1;
            continue;
        }
        if (n > ODET_MAX_TENSOR_ELEMS / dims[i])
            return -1;
        n *= dims[i];
    }
    return zero ? 0 : n;
}

odet_tensor *odet_tensor_alloc(odet_dtype dt, int rank, const int64_t *dims)
{
    int64_t n = odet_dims_numel_checked(rank, dims);
    size_t es = odet_dtype_size(dt);
    if (n < 0 || es == 0)
        return NULL;
    odet_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    size_t bytes = (size_t)n * es;
    t->data = calloc(bytes ? bytes : 1, 1);
    if (!t->data) {
        free(t);
        return NULL;
    }
    return t;
}

void odet_tensor_free(odet_tensor *t)
{
    if (!t)
        return;
    free(t->data);
    free(t);
}
