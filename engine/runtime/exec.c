/* One-off node evaluation into owned tensors (used for constant folding). */
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

void *odet_aligned_alloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? (bytes + 63) & ~(size_t)63 : 64) != 0)
        return NULL;
    return p;
}

void odet_aligned_free(void *p)
{
    free(p);
}

odet_status odet_exec_owned(const odet_node *n, const odet_tensor *const *in, odet_tensor **out,
                            int threads, char *err, size_t errlen)
{
    odet_tensor shapes[16];
    odet_tensor *outp[16];
    if (n->n_out > 16)
        return odet_node_fail(n, err, errlen, ODET_ERR_LIMIT, "too many outputs (%d)", n->n_out);
    for (int k = 0; k < n->n_out; k++) {
        out[k] = NULL;
        memset(&shapes[k], 0, sizeof shapes[k]);
        outp[k] = n->out[k] >= 0 ? &shapes[k] : NULL;
    }
    odet_op_ctx ctx = {
        .node = n, .params = n->params, .n_in = n->n_in, .n_out = n->n_out, .in = in,
        .out = outp, .threads = threads, .err = err, .errlen = errlen,
    };
    odet_status st = n->def->infer(&ctx);
    if (st != ODET_OK)
        return st;
    for (int k = 0; k < n->n_out; k++) {
        if (!outp[k])
            continue;
        out[k] = odet_tensor_alloc(shapes[k].dtype, shapes[k].rank, shapes[k].dims);
        if (!out[k]) {
            st = odet_node_fail(n, err, errlen, ODET_ERR_NOMEM,
                                "cannot allocate output %d (%s, rank %d)", k,
                                odet_dtype_name(shapes[k].dtype), shapes[k].rank);
            goto fail;
        }
        outp[k] = out[k];
    }
    if ((n->def->flags & ODET_OP_ALIAS) && outp[0] && in[0])
        memcpy(outp[0]->data, in[0]->data, odet_tensor_bytes(outp[0]));
    if (n->def->run) {
        size_t sb = n->def->scratch ? n->def->scratch(&ctx) : 0;
        void *scratch = sb ? odet_aligned_alloc(sb) : NULL;
        if (sb && !scratch) {
            st = odet_node_fail(n, err, errlen, ODET_ERR_NOMEM, "cannot allocate %zu bytes of scratch",
                                sb);
            goto fail;
        }
        ctx.scratch = scratch;
        ctx.scratch_bytes = sb;
        st = n->def->run(&ctx);
        odet_aligned_free(scratch);
        if (st != ODET_OK)
            goto fail;
    }
    return ODET_OK;
fail:
    for (int k = 0; k < n->n_out; k++) {
        odet_tensor_free(out[k]);
        out[k] = NULL;
    }
    return st;
}
