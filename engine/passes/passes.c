/* Pass pipeline and shared graph clean-up. */
#include "passes/passes.h"

void odet_graph_drop_unused_constants(odet_graph *g)
{
    for (int v = 0; v < g->n_values; v++) {
        odet_value *val = &g->values[v];
        if (val->kind == ODET_VALUE_CONSTANT && val->n_consumers == 0 && !val->is_output) {
            odet_tensor_free(val->constant);
            val->constant = NULL;
            val->kind = ODET_VALUE_ACTIVATION; /* unused, never read */
        }
    }
}

odet_status odet_passes_run(odet_graph *g, char *err, size_t errlen)
{
    odet_status st = odet_pass_fuse_conv_bn(g, err, errlen);
    if (st == ODET_OK)
        st = odet_pass_fuse_conv_act(g, err, errlen);
    return st;
}
