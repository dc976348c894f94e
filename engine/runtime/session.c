/* Sessions: plan (shapes, plan-time folding, arena) and run.
 *
 * Planning happens on the first run and whenever input shapes change. Each
 * value then is one of:
 *   CONST   model constant (shared, read-only)
 *   FOLDED  computed at plan time (depends only on constants and input shapes)
 *   ARENA   static shape; lives in the session arena at a planned offset
 *   ALIAS   same bytes as another value (Reshape, Squeeze, ...)
 *   DYNAMIC shape known only at run time; own buffer, grown when needed
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plan/planner.h"
#include "runtime/runtime.h"

enum { VS_NONE = 0, VS_CONST, VS_FOLDED, VS_ARENA, VS_ALIAS, VS_DYNAMIC };

typedef struct vslot {
    odet_tensor t;       /* current shape and data */
    int state;
    int known;           /* shape known at plan time */
    int data_known;      /* data known at plan time (CONST/FOLDED) */
    int alias_of;        /* ALIAS: the value whose bytes this one shares */
    int first, last;     /* lifetime in steps (ARENA roots) */
    size_t offset;
    odet_tensor *folded; /* FOLDED: owned tensor */
    void *dyn;           /* DYNAMIC: owned buffer */
    size_t dyn_cap;
} vslot;

struct odet_session {
    const odet_model *m;
    const odet_graph *g;
    int threads;
    vslot *vs;
    unsigned char *skip;     /* node folded at plan time */
    unsigned char *dyn;      /* node needs infer at run time */
    void *arena;
    size_t arena_cap;
    void *scratch;
    size_t scratch_cap;
    int planned;
    odet_tensor *plan_inputs; /* shapes the plan was made for */
    odet_plan_stats stats;
    const odet_tensor **in_ptrs;
    odet_tensor **out_ptrs;
    int max_in, max_out;
    int profiling;
    odet_node_profile *prof;
};

static odet_status sfail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static odet_status sfail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

odet_status odet_session_create(const odet_model *m, const odet_session_options *opt,
                                odet_session **out, char *err, size_t errlen)
{
    if (!m || !out)
        return sfail(err, errlen, ODET_ERR_INVALID_ARG, "odet_session_create: NULL argument");
    *out = NULL;
    const odet_graph *g = m->g;
    odet_session *s = calloc(1, sizeof *s);
    if (!s)
        return sfail(err, errlen, ODET_ERR_NOMEM, "out of memory");
    s->m = m;
    s->g = g;
    s->threads = opt && opt->threads > 0 ? opt->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (s->threads < 1)
        s->threads = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_in > s->max_in)
            s->max_in = g->nodes[i].n_in;
        if (g->nodes[i].n_out > s->max_out)
            s->max_out = g->nodes[i].n_out;
    }
    s->vs = calloc((size_t)g->n_values + 1, sizeof *s->vs);
    s->skip = calloc((size_t)g->n_nodes + 1, 1);
    s->dyn = calloc((size_t)g->n_nodes + 1, 1);
    s->plan_inputs = calloc((size_t)g->n_inputs + 1, sizeof *s->plan_inputs);
    s->in_ptrs = calloc((size_t)s->max_in + 1, sizeof *s->in_ptrs);
    s->out_ptrs = calloc((size_t)s->max_out + 1, sizeof *s->out_ptrs);
    s->prof = calloc((size_t)g->n_nodes + 1, sizeof *s->prof);
    if (!s->vs || !s->skip || !s->dyn || !s->plan_inputs || !s->in_ptrs || !s->out_ptrs ||
        !s->prof) {
        odet_session_free(s);
        return sfail(err, errlen, ODET_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        s->prof[i].name = g->nodes[i].name;
        s->prof[i].op_type = g->nodes[i].op_type;
    }
    *out = s;
    return ODET_OK;
}

static void drop_folded(odet_session *s)
{
    for (int v = 0; v < s->g->n_values; v++) {
        odet_tensor_free(s->vs[v].folded);
        s->vs[v].folded = NULL;
    }
}

void odet_session_free(odet_session *s)
{
    if (!s)
        return;
    if (s->vs) {
        drop_folded(s);
        for (int v = 0; v < s->g->n_values; v++)
            odet_aligned_free(s->vs[v].dyn);
    }
    free(s->vs);
    free(s->skip);
    free(s->dyn);
    free(s->plan_inputs);
    free(s->in_ptrs);
    free(s->out_ptrs);
    free(s->prof);
    odet_aligned_free(s->arena);
    odet_aligned_free(s->scratch);
    free(s);
}

static int root_of(const odet_session *s, int v)
{
    while (s->vs[v].state == VS_ALIAS)
        v = s->vs[v].alias_of;
    return v;
}

static void gather_ptrs(odet_session *s, const odet_node *n, odet_op_ctx *ctx, char *err,
                        size_t errlen)
{
    for (int k = 0; k < n->n_in; k++)
        s->in_ptrs[k] = n->in[k] >= 0 ? &s->vs[n->in[k]].t : NULL;
    for (int k = 0; k < n->n_out; k++)
        s->out_ptrs[k] = n->out[k] >= 0 ? &s->vs[n->out[k]].t : NULL;
    memset(ctx, 0, sizeof *ctx);
    ctx->node = n;
    ctx->params = n->params;
    ctx->n_in = n->n_in;
    ctx->n_out = n->n_out;
    ctx->in = s->in_ptrs;
    ctx->out = s->out_ptrs;
    ctx->threads = s->threads;
    ctx->err = err;
    ctx->errlen = errlen;
}

static int grow_scratch(odet_session *s, size_t need)
{
    if (need <= s->scratch_cap)
        return 0;
    void *p = odet_aligned_alloc(need);
    if (!p)
        return -1;
    odet_aligned_free(s->scratch);
    s->scratch = p;
    s->scratch_cap = need;
    return 0;
}

static odet_status plan(odet_session *s, const odet_tensor *inputs, char *err, size_t errlen)
{
    const odet_graph *g = s->g;
    const int nv = g->n_values, nn = g->n_nodes;
    const int end_step = nn + 1;
    odet_status st = ODET_OK;
    s->planned = 0;
    drop_folded(s);
    memset(&s->stats, 0, sizeof s->stats);

    for (int v = 0; v < nv; v++) {
        vslot *x = &s->vs[v];
        void *dyn = x->dyn;
        size_t cap = x->dyn_cap;
        memset(x, 0, sizeof *x);
        x->dyn = dyn;
        x->dyn_cap = cap;
        x->alias_of = -1;
        x->first = x->last = -1;
        const odet_value *val = &g->values[v];
        if (val->kind == ODET_VALUE_CONSTANT && val->constant) {
            x->t = *val->constant;
            x->state = VS_CONST;
            x->known = x->data_known = 1;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        vslot *x = &s->vs[g->inputs[i]];
        x->t = inputs[i];
        x->t.data = NULL;
        x->state = VS_ARENA;
        x->known = 1;
        x->first = 0;
        x->last = 0;
    }

    /* shapes, plan-time folding, dynamic marking */
    for (int i = 0; i < nn; i++) {
        const odet_node *n = &g->nodes[i];
        const odet_op_def *d = n->def;
        s->skip[i] = s->dyn[i] = 0;
        int shapes = 1, data = 1, need_data = 1;
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0)
                continue;
            const vslot *x = &s->vs[n->in[k]];
            shapes &= x->known;
            data &= x->data_known;
            if (k < 32 && (d->data_inputs >> k) & 1u)
                need_data &= x->data_known;
        }
        odet_op_ctx ctx;
        gather_ptrs(s, n, &ctx, err, errlen);
        if ((data && !(d->flags & ODET_OP_NO_FOLD)) || ((d->flags & ODET_OP_SHAPE_ONLY) && shapes)) {
            odet_tensor *res[16];
            if (n->n_out > 16)
                return sfail(err, errlen, ODET_ERR_LIMIT, "node '%s': too many outputs", n->name);
            st = odet_exec_owned(n, s->in_ptrs, res, s->threads, err, errlen);
            if (st != ODET_OK)
                return st;
            for (int k = 0; k < n->n_out; k++) {
                if (n->out[k] < 0)
                    continue;
                vslot *x = &s->vs[n->out[k]];
                x->state = VS_FOLDED;
                x->folded = res[k];
                x->t = *res[k];
                x->known = x->data_known = 1;
            }
            s->skip[i] = 1;
            s->stats.folded_nodes++;
            continue;
        }
        if (shapes && need_data) {
            st = d->infer(&ctx);
            if (st != ODET_OK)
                return st;
            for (int k = 0; k < n->n_out; k++) {
                if (n->out[k] < 0)
                    continue;
                vslot *x = &s->vs[n->out[k]];
                if (odet_dims_numel_checked(x->t.rank, x->t.dims) < 0 ||
                    odet_dtype_size(x->t.dtype) == 0)
                    return sfail(err, errlen, ODET_ERR_LIMIT,
                                 "node '%s' (%s): output %d has an invalid or too large shape",
                                 n->name, n->op_type, k);
                x->known = 1;
                x->t.data = NULL;
                if (k == 0 && (d->flags & ODET_OP_ALIAS) && n->in[0] >= 0) {
                    x->state = VS_ALIAS;
                    x->alias_of = n->in[0];
                } else {
                    x->state = VS_ARENA;
                    x->first = x->last = i + 1;
                }
            }
        } else {
            s->dyn[i] = 1;
            for (int k = 0; k < n->n_out; k++) {
                if (n->out[k] < 0)
                    continue;
                vslot *x = &s->vs[n->out[k]];
                x->known = 0;
                if (k == 0 && (d->flags & ODET_OP_ALIAS) && n->in[0] >= 0) {
                    x->state = VS_ALIAS;
                    x->alias_of = n->in[0];
                } else {
                    x->state = VS_DYNAMIC;
                    s->stats.dynamic_values++;
                }
            }
        }
    }

    /* lifetimes: extend each buffer's root to its last reader */
    for (int i = 0; i < nn; i++) {
        if (s->skip[i])
            continue;
        const odet_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0)
                continue;
            int r = root_of(s, n->in[k]);
            if (s->vs[r].state == VS_ARENA && s->vs[r].last < i + 1)
                s->vs[r].last = i + 1;
        }
    }
    for (int o = 0; o < g->n_outputs; o++) {
        int r = root_of(s, g->outputs[o]);
        if (s->vs[r].state == VS_ARENA)
            s->vs[r].last = end_step;
    }

    /* arena */
    int nb = 0;
    for (int v = 0; v < nv; v++)
        nb += s->vs[v].state == VS_ARENA;
    odet_plan_buf *bufs = calloc((size_t)nb + 1, sizeof *bufs);
    int *ids = calloc((size_t)nb + 1, sizeof *ids);
    if (!bufs || !ids) {
        free(bufs);
        free(ids);
        return sfail(err, errlen, ODET_ERR_NOMEM, "out of memory while planning");
    }
    nb = 0;
    for (int v = 0; v < nv; v++) {
        vslot *x = &s->vs[v];
        if (x->state != VS_ARENA)
            continue;
        bufs[nb].size = odet_tensor_bytes(&x->t);
        bufs[nb].first = x->first;
        bufs[nb].last = x->last;
        s->stats.activation_bytes += bufs[nb].size;
        ids[nb++] = v;
    }
    size_t total = odet_plan_arena(bufs, nb);
    if (total == (size_t)-1) {
        free(bufs);
        free(ids);
        return sfail(err, errlen, ODET_ERR_NOMEM, "out of memory while planning");
    }
    if (total > s->arena_cap) {
        odet_aligned_free(s->arena);
        s->arena_cap = 0;
        s->arena = odet_aligned_alloc(total);
        if (!s->arena) {
            free(bufs);
            free(ids);
            return sfail(err, errlen, ODET_ERR_NOMEM,
                         "cannot allocate the activation arena (%zu bytes)", total);
        }
        s->arena_cap = total;
    }
    for (int b = 0; b < nb; b++) {
        s->vs[ids[b]].offset = bufs[b].offset;
        s->vs[ids[b]].t.data = (char *)s->arena + bufs[b].offset;
    }
    free(bufs);
    free(ids);
    s->stats.arena_bytes = total;
    for (int v = 0; v < nv; v++)
        if (s->vs[v].state == VS_ALIAS && s->vs[root_of(s, v)].state != VS_DYNAMIC)
            s->vs[v].t.data = s->vs[root_of(s, v)].t.data;

    /* scratch for static nodes */
    size_t scratch = 0;
    for (int i = 0; i < nn; i++) {
        const odet_node *n = &g->nodes[i];
        if (s->skip[i] || s->dyn[i] || !n->def->scratch)
            continue;
        odet_op_ctx ctx;
        gather_ptrs(s, n, &ctx, err, errlen);
        size_t b = n->def->scratch(&ctx);
        if (b > scratch)
            scratch = b;
    }
    if (grow_scratch(s, scratch) != 0)
        return sfail(err, errlen, ODET_ERR_NOMEM, "cannot allocate %zu bytes of scratch", scratch);
    s->stats.scratch_bytes = scratch;
    for (int i = 0; i < g->n_inputs; i++)
        s->plan_inputs[i] = inputs[i];
    s->planned = 1;
    return ODET_OK;
}

static odet_status check_inputs(const odet_session *s, const odet_tensor *inputs, size_t n,
                                int *same, char *err, size_t errlen)
{
    const odet_graph *g = s->g;
    if (n != (size_t)g->n_inputs)
        return sfail(err, errlen, ODET_ERR_INVALID_ARG, "the model has %d inputs, %zu given",
                     g->n_inputs, n);
    *same = s->planned;
    for (int i = 0; i < g->n_inputs; i++) {
        const odet_value *v = &g->values[g->inputs[i]];
        const odet_tensor *t = &inputs[i];
        if (t->dtype != v->dtype)
            return sfail(err, errlen, ODET_ERR_DTYPE, "input '%s' must be %s, got %s", v->name,
                         odet_dtype_name(v->dtype), odet_dtype_name(t->dtype));
        if (t->rank < 0 || t->rank > ODET_MAX_RANK)
            return sfail(err, errlen, ODET_ERR_SHAPE, "input '%s': invalid rank %d", v->name,
                         t->rank);
        if (v->rank >= 0 && t->rank != v->rank)
            return sfail(err, errlen, ODET_ERR_SHAPE, "input '%s' must have rank %d, got %d",
                         v->name, v->rank, t->rank);
        for (int d = 0; d < t->rank; d++) {
            if (t->dims[d] < 0)
                return sfail(err, errlen, ODET_ERR_SHAPE, "input '%s': negative dimension %d",
                             v->name, d);
            if (v->rank >= 0 && v->dims[d] >= 0 && v->dims[d] != t->dims[d])
                return sfail(err, errlen, ODET_ERR_SHAPE,
                             "input '%s': dimension %d must be %lld, got %lld", v->name, d,
                             (long long)v->dims[d], (long long)t->dims[d]);
        }
        int64_t numel = odet_dims_numel_checked(t->rank, t->dims);
        if (numel < 0)
            return sfail(err, errlen, ODET_ERR_LIMIT, "input '%s': shape is too large", v->name);
        if (numel > 0 && !t->data)
            return sfail(err, errlen, ODET_ERR_INVALID_ARG, "input '%s': data is NULL", v->name);
        const odet_tensor *p = &s->plan_inputs[i];
        if (p->rank != t->rank || memcmp(p->dims, t->dims, sizeof(int64_t) * (size_t)t->rank))
            *same = 0;
    }
    return ODET_OK;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static odet_status run_dynamic(odet_session *s, const odet_node *n, odet_op_ctx *ctx)
{
    odet_status st = n->def->infer(ctx);
    if (st != ODET_OK)
        return st;
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        vslot *x = &s->vs[n->out[k]];
        if (odet_dims_numel_checked(x->t.rank, x->t.dims) < 0 || !odet_dtype_size(x->t.dtype))
            return odet_op_fail(ctx, ODET_ERR_LIMIT, "output %d has an invalid or too large shape",
                                k);
        if (x->state == VS_ALIAS) {
            x->t.data = s->vs[x->alias_of].t.data;
            continue;
        }
        size_t bytes = odet_tensor_bytes(&x->t);
        if (bytes > x->dyn_cap || !x->dyn) {
            void *p = odet_aligned_alloc(bytes);
            if (!p)
                return odet_op_fail(ctx, ODET_ERR_NOMEM, "cannot allocate output %d (%zu bytes)",
                                    k, bytes);
            odet_aligned_free(x->dyn);
            x->dyn = p;
            x->dyn_cap = bytes;
        }
        x->t.data = x->dyn;
    }
    size_t sb = n->def->scratch ? n->def->scratch(ctx) : 0;
    if (grow_scratch(s, sb) != 0)
        return odet_op_fail(ctx, ODET_ERR_NOMEM, "cannot allocate %zu bytes of scratch", sb);
    return ODET_OK;
}

odet_status odet_session_run(odet_session *s, const odet_tensor *inputs, size_t n_inputs,
                             char *err, size_t errlen)
{
    if (!s || (!inputs && n_inputs))
        return sfail(err, errlen, ODET_ERR_INVALID_ARG, "odet_session_run: NULL argument");
    const odet_graph *g = s->g;
    int same = 0;
    odet_status st = check_inputs(s, inputs, n_inputs, &same, err, errlen);
    if (st != ODET_OK)
        return st;
    if (!same) {
        st = plan(s, inputs, err, errlen);
        if (st != ODET_OK)
            return st;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        vslot *x = &s->vs[g->inputs[i]];
        size_t bytes = odet_tensor_bytes(&inputs[i]);
        if (bytes)
            memcpy(x->t.data, inputs[i].data, bytes);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        if (s->skip[i]) {
            s->prof[i].ms = 0;
            continue;
        }
        const odet_node *n = &g->nodes[i];
        double t0 = s->profiling ? now_ms() : 0;
        odet_op_ctx ctx;
        gather_ptrs(s, n, &ctx, err, errlen);
        if (s->dyn[i]) {
            st = run_dynamic(s, n, &ctx);
            if (st != ODET_OK)
                return st;
        }
        if ((n->def->flags & ODET_OP_ALIAS) && s->out_ptrs[0] && s->in_ptrs[0])
            s->out_ptrs[0]->data = s->in_ptrs[0]->data;
        ctx.scratch = s->scratch;
        ctx.scratch_bytes = s->scratch_cap;
        if (n->def->run) {
            st = n->def->run(&ctx);
            if (st != ODET_OK)
                return st;
        }
        if (s->profiling)
            s->prof[i].ms = now_ms() - t0;
    }
    return ODET_OK;
}

const odet_tensor *odet_session_output(const odet_session *s, size_t i)
{
    if (!s || !s->planned || i >= (size_t)s->g->n_outputs)
        return NULL;
    return &s->vs[s->g->outputs[i]].t;
}

void odet_session_plan_stats(const odet_session *s, odet_plan_stats *st)
{
    if (s)
        *st = s->stats;
    else
        memset(st, 0, sizeof *st);
}

void odet_session_set_profiling(odet_session *s, int enabled)
{
    if (s)
        s->profiling = enabled;
}

size_t odet_session_profile(const odet_session *s, const odet_node_profile **out)
{
    if (!s) {
        *out = NULL;
        return 0;
    }
    *out = s->prof;
    return (size_t)s->g->n_nodes;
}

const odet_tensor *odet_session_value(const odet_session *s, int v)
{
    if (!s || !s->planned || v < 0 || v >= s->g->n_values || s->vs[v].state == VS_NONE)
        return NULL;
    return &s->vs[v].t;
}
