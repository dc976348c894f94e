/* Reference-counted packed constants and the load-time cache (ir/packed.h). */
#include <stdlib.h>
#include <string.h>

#include "ir/packed.h"

void odet_pack_key_init(odet_pack_key *k, int value, const void *kern, const char *kind)
{
    memset(k, 0, sizeof *k);
    k->value = value;
    k->kern = kern;
    k->kind = kind;
}

odet_packed *odet_packed_ref(odet_packed *b)
{
    if (b)
        b->refs++;
    return b;
}

void odet_packed_unref(odet_packed *b)
{
    if (b && --b->refs == 0)
        free(b);
}

static int key_equal(const odet_pack_key *a, const odet_pack_key *b)
{
    if (a->value != b->value || a->kern != b->kern)
        return 0;
    if ((a->kind == NULL) != (b->kind == NULL) || (a->kind && strcmp(a->kind, b->kind) != 0))
        return 0;
    for (int i = 0; i < ODET_PACK_KEY_PARAMS; i++)
        if (a->p[i] != b->p[i])
            return 0;
    return 1;
}

static odet_packed *packed_new(const odet_pack_key *key, size_t bytes)
{
    const size_t head = (sizeof(odet_packed) + 63) / 64 * 64;
    const size_t body = (bytes + 63) / 64 * 64;
    if (bytes > SIZE_MAX - head - 63)
        return NULL;
    odet_packed *b = aligned_alloc(64, head + (body ? body : 64));
    if (!b)
        return NULL;
    b->refs = 1;
    b->bytes = bytes;
    b->key = *key;
    b->data = (char *)b + head;
    return b;
}

odet_status odet_packed_get(odet_pack_cache *cache, const odet_pack_key *key, size_t bytes,
                            odet_packed **out, int *fresh)
{
    *out = NULL;
    *fresh = 1;
    const int shareable = cache && key->value >= 0;
    if (shareable) {
        for (int i = 0; i < cache->n; i++) {
            odet_packed *b = cache->items[i];
            if (b->bytes == bytes && key_equal(&b->key, key)) {
                *out = odet_packed_ref(b);
                *fresh = 0;
                return ODET_OK;
            }
        }
    }
    odet_packed *b = packed_new(key, bytes);
    if (!b)
        return ODET_ERR_NOMEM;
    if (shareable) {
        if (cache->n == cache->cap) {
            int cap = cache->cap ? 2 * cache->cap : 16;
            odet_packed **items = realloc(cache->items, (size_t)cap * sizeof *items);
            if (!items) {
                free(b);
                return ODET_ERR_NOMEM;
            }
            cache->items = items;
            cache->cap = cap;
        }
        cache->items[cache->n++] = odet_packed_ref(b); /* the cache's reference */
    }
    *out = b;
    return ODET_OK;
}

void odet_pack_cache_clear(odet_pack_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        odet_packed_unref(c->items[i]);
    free(c->items);
    c->items = NULL;
    c->n = c->cap = 0;
}

size_t odet_pack_cache_bytes(const odet_pack_cache *c)
{
    size_t s = 0;
    if (c)
        for (int i = 0; i < c->n; i++)
            s += c->items[i]->bytes;
    return s;
}
