/* --shuffle-masks (encode.h, rm_encode_shuffle_map): each record's
 * relevance entry is swapped for another record's of the same split and
 * class. The mask keeps its class-typical shape but no longer belongs to
 * its image, which separates what the mask shape says about the label from
 * what the kept pixels show (docs/encode.md). */
#include <stdlib.h>

#include "core/rng.h"
#include "encode/encode.h"

/* Sort key: split, then label, then record index, in one int64 (records
 * < 2^40, labels < 2^20, splits < 8). */
static int64_t group_key(const int32_t *labels, const uint8_t *split, size_t i)
{
    return ((int64_t)split[i] << 60) | ((int64_t)(labels[i] & 0xfffff) << 40) | (int64_t)i;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void rm_encode_shuffle_map(int64_t *map, int64_t *order, size_t n, const int32_t *labels, const uint8_t *split,
                           uint64_t seed)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (map[i] >= 0) order[m++] = group_key(labels, split, i);
    qsort(order, m, sizeof *order, compare_i64);
    for (size_t i = 0; i < m; i++) order[i] &= ((int64_t)1 << 40) - 1;   /* the record index */
    rm_rng rng;
    rm_rng_seed(&rng, seed, 0x5eed3a5c, 0);
    for (size_t g = 0; g < m;) {
        size_t e = g + 1;
        while (e < m && split[order[e]] == split[order[g]] && labels[order[e]] == labels[order[g]]) e++;
        /* Sattolo: a random n-cycle over the group's entries, applied in
         * place: record order[g+i] takes the entry record order[g+j] had. */
        for (size_t i = e - g; i > 1; i--) {
            size_t j = (size_t)rm_rng_below(&rng, i - 1);
            int64_t *a = &map[order[g + i - 1]], *b = &map[order[g + j]];
            int64_t t = *a;
            *a = *b;
            *b = t;
        }
        g = e;
    }
}
