#include "golden.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = 0;
    fclose(f);
    return buf;
}

/* Next whitespace-separated token; comment lines start with '#'. */
static char *next_token(char **p)
{
    char *s = *p;
    for (;;) {
        while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
            s++;
        if (*s == '#') {
            while (*s && *s != '\n')
                s++;
            continue;
        }
        break;
    }
    if (!*s)
        return NULL;
    char *t = s;
    while (*s && *s != ' ' && *s != '\n' && *s != '\r' && *s != '\t')
        s++;
    if (*s)
        *s++ = 0;
    *p = s;
    return t;
}

gold_file *gold_open(const char *file)
{
    const char *dir = getenv("ODET_PP_DATA");
    ck_assert_msg(dir != NULL, "ODET_PP_DATA is not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = read_all(path);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    gold_file *g = calloc(1, sizeof *g);
    ck_assert_ptr_nonnull(g);
    char *p = text, *tok;
    gold_case *cur = NULL;
    while ((tok = next_token(&p)) != NULL) {
        if (strcmp(tok, "@case") == 0) {
            g->cases = realloc(g->cases, (g->n + 1) * sizeof *g->cases);
            ck_assert_ptr_nonnull(g->cases);
            cur = &g->cases[g->n++];
            memset(cur, 0, sizeof *cur);
            char *name = next_token(&p);
            ck_assert_ptr_nonnull(name);
            snprintf(cur->name, sizeof cur->name, "%s", name);
        } else if (strcmp(tok, "@end") == 0) {
            cur = NULL;
        } else {
            ck_assert_msg(cur != NULL, "array outside a case in %s", path);
            char *type = next_token(&p), *count = next_token(&p);
            ck_assert_msg(type && count, "truncated header in %s", path);
            cur->arr = realloc(cur->arr, (cur->n + 1) * sizeof *cur->arr);
            ck_assert_ptr_nonnull(cur->arr);
            gold_array *a = &cur->arr[cur->n++];
            snprintf(a->name, sizeof a->name, "%s", tok);
            a->type = type[0];
            a->n = (size_t)strtoull(count, NULL, 10);
            a->v = malloc((a->n ? a->n : 1) * sizeof(double));
            ck_assert_ptr_nonnull(a->v);
            for (size_t i = 0; i < a->n; i++) {
                char *v = next_token(&p);
                ck_assert_msg(v != NULL, "truncated array %s in %s", a->name, path);
                a->v[i] = strtod(v, NULL);
            }
        }
    }
    free(text);
    return g;
}

void gold_free(gold_file *g)
{
    if (!g)
        return;
    for (size_t c = 0; c < g->n; c++) {
        for (size_t a = 0; a < g->cases[c].n; a++)
            free(g->cases[c].arr[a].v);
        free(g->cases[c].arr);
    }
    free(g->cases);
    free(g);
}

const gold_case *gold_case_get(const gold_file *g, const char *name)
{
    for (size_t c = 0; c < g->n; c++)
        if (strcmp(g->cases[c].name, name) == 0)
            return &g->cases[c];
    ck_abort_msg("golden case %s missing", name);
    return NULL;
}

const gold_array *gold_find(const gold_case *c, const char *name)
{
    for (size_t a = 0; a < c->n; a++)
        if (strcmp(c->arr[a].name, name) == 0)
            return &c->arr[a];
    return NULL;
}

const gold_array *gold_get(const gold_case *c, const char *name)
{
    const gold_array *a = gold_find(c, name);
    ck_assert_msg(a != NULL, "golden array %s missing in case %s", name, c->name);
    return a;
}

float *gold_f32(const gold_array *a)
{
    float *f = malloc((a->n ? a->n : 1) * sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < a->n; i++)
        f[i] = (float)a->v[i];
    return f;
}

odet_box *gold_boxes(const gold_array *a)
{
    ck_assert_uint_eq(a->n % 4, 0);
    return (odet_box *)gold_f32(a);
}

int32_t *gold_i32(const gold_array *a)
{
    int32_t *f = malloc((a->n ? a->n : 1) * sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < a->n; i++)
        f[i] = (int32_t)a->v[i];
    return f;
}

int close_enough(double got, double ref, double atol, double rtol)
{
    if (isnan(ref))
        return isnan(got);
    if (isinf(ref))
        return got == ref;
    if (!isfinite(got))
        return 0;
    return fabs(got - ref) <= atol + rtol * fabs(ref);
}

uint64_t rng_next(test_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double rng_uniform(test_rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
