/* Packed constant weights shared between nodes.
 *
 * A pack hook (ops/op.h) precomputes from a constant input, e.g. W packed in
 * the GEMM's or Winograd's layout. When several nodes read the same constant
 * with the same packing parameters (a detector head applied to every FPN
 * level), they share one read-only odet_packed buffer instead of each holding
 * its own copy.
 *
 * Ownership: an odet_packed is reference counted. Each node params that uses
 * it holds one reference (dropped by the op's release hook); the graph's pack
 * cache holds one more, dropped when the graph is freed. Counts only change
 * at load and free (single-threaded); sessions only read the data.
 *
 * Sharing is keyed by (constant value id, kernel table, layout family, layout
 * parameters): two nodes share exactly when their keys are equal, so the key
 * must determine the packed bytes completely given the constant's data. */
#ifndef ODET_IR_PACKED_H
#define ODET_IR_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "odet/engine.h"

#define ODET_PACK_KEY_PARAMS 12

typedef struct odet_pack_key {
    int value;        /* constant value id; < 0: never shared */
    const void *kern; /* kernel table the layout belongs to */
    const char *kind; /* layout family, e.g. "Conv"; compared with strcmp */
    int64_t p[ODET_PACK_KEY_PARAMS]; /* layout parameters; unused entries 0 */
} odet_pack_key;

typedef struct odet_packed {
    size_t refs;
    size_t bytes;      /* usable bytes at data */
    odet_pack_key key;
    char *data;        /* 64-byte aligned */
} odet_packed;

typedef struct odet_pack_cache {
    int n, cap;
    odet_packed **items; /* each holds one reference */
} odet_pack_cache;

/* A key with every field zeroed except value, kern and kind. */
void odet_pack_key_init(odet_pack_key *k, int value, const void *kern, const char *kind);

/* Take / drop a reference (NULL is ignored); the last unref frees. */
odet_packed *odet_packed_ref(odet_packed *b);
void odet_packed_unref(odet_packed *b);

/* The buffer for `key` holding `bytes`, as a new reference in *out. When
 * *fresh is set, the buffer is new and the caller must fill it; otherwise it
 * was packed by an earlier node with an equal key and must not be written.
 * cache == NULL or key->value < 0: always a fresh, unshared buffer. A cached
 * buffer with an equal key but another size is never returned (fresh then). */
odet_status odet_packed_get(odet_pack_cache *cache, const odet_pack_key *key, size_t bytes,
                            odet_packed **out, int *fresh);

/* Drop the cache's references and its storage (the struct itself stays). */
void odet_pack_cache_clear(odet_pack_cache *c);
/* Bytes of packed data held by the cache (each shared buffer counted once). */
size_t odet_pack_cache_bytes(const odet_pack_cache *c);

#endif
