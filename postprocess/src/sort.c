/* Stable LSD radix sort of 32-bit keys with a 32-bit payload. */
#include <string.h>

#include "pp_internal.h"

#define PP_SMALL_SORT 48

static void insertion_sort(uint32_t *keys, uint32_t *vals, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t k = keys[i], v = vals[i];
        size_t j = i;
        while (j > 0 && keys[j - 1] > k) {
            keys[j] = keys[j - 1];
            vals[j] = vals[j - 1];
            j--;
        }
        keys[j] = k;
        vals[j] = v;
    }
}

void pp_radix_sort(uint32_t *keys, uint32_t *vals, uint32_t *tmp_keys, uint32_t *tmp_vals,
                   size_t n)
{
    if (n < 2)
        return;
    if (n <= PP_SMALL_SORT) {
        insertion_sort(keys, vals, n);
        return;
    }
    /* All four byte histograms in one pass; a pass whose byte is the same for
     * every key is skipped (small class ids sort in one pass). */
    uint32_t hist[4][256];
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = keys[i];
        hist[0][k & 0xffu]++;
        hist[1][(k >> 8) & 0xffu]++;
        hist[2][(k >> 16) & 0xffu]++;
        hist[3][k >> 24]++;
    }
    uint32_t *src_k = keys, *src_v = vals, *dst_k = tmp_keys, *dst_v = tmp_vals;
    for (int pass = 0; pass < 4; pass++) {
        uint32_t *h = hist[pass];
        unsigned shift = 8u * (unsigned)pass;
        if (h[(src_k[0] >> shift) & 0xffu] == n)
            continue;
        uint32_t sum = 0;
        for (int b = 0; b < 256; b++) {
            uint32_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t k = src_k[i];
            uint32_t pos = h[(k >> shift) & 0xffu]++;
            dst_k[pos] = k;
            dst_v[pos] = src_v[i];
        }
        uint32_t *t = src_k;
        src_k = dst_k;
        dst_k = t;
        t = src_v;
        src_v = dst_v;
        dst_v = t;
    }
    if (src_k != keys) {
        memcpy(keys, src_k, n * sizeof *keys);
        memcpy(vals, src_v, n * sizeof *vals);
    }
}
