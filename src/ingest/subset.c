#include "ingest/subset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"

int rm_take_parse(const char *text, rm_take *take)
{
    char from[16], count[32], as[16];
    as[0] = 0;
    int n = sscanf(text, "%15[^:]:%31[^:]:%15s", from, count, as);
    if (n < 2) return rm_error("--take '%s': expected SPLIT:COUNT[:AS], e.g. train:1000 or train:500:val", text);
    if (rm_split_parse(from, &take->from) != 0) return rm_error("--take '%s': %s", text, rm_error_message());
    if (!strcmp(count, "all")) take->count = -1;
    else {
        char *end;
        long long v = strtoll(count, &end, 10);
        if (*end || v < 1) return rm_error("--take '%s': count '%s' is not a positive number or 'all'", text, count);
        take->count = v;
    }
    if (n == 3) {
        if (rm_split_parse(as, &take->as) != 0 || take->as < 0)
            return rm_error("--take '%s': the output split must be train, val or test", text);
    } else {
        if (take->from < 0) return rm_error("--take '%s': drawing from all splits needs an output split (all:N:AS)", text);
        take->as = take->from;
    }
    return 0;
}

/* Largest-remainder apportionment of `count` over the class sizes. */
static void apportion(const int64_t *sizes, int k, int64_t total, int64_t count, int64_t *quota, double *rem)
{
    int64_t given = 0;
    for (int c = 0; c < k; c++) {
        double exact = total ? (double)count * (double)sizes[c] / (double)total : 0;
        quota[c] = (int64_t)exact;
        if (quota[c] > sizes[c]) quota[c] = sizes[c];
        rem[c] = exact - (double)quota[c];
        given += quota[c];
    }
    while (given < count) {
        int best = -1;
        for (int c = 0; c < k; c++)
            if (quota[c] < sizes[c] && (best < 0 || rem[c] > rem[best])) best = c;
        if (best < 0) break;
        quota[best]++;
        rem[best] = -1;
        given++;
    }
}

int rm_subset_select(const rm_dataset *ds, const rm_take *takes, int num_takes, uint64_t seed, uint8_t *out_split)
{
    size_t n = ds->count;
    int k = ds->num_classes;
    memset(out_split, RM_SPLIT_UNASSIGNED, n);
    int32_t *pool = rm_malloc(sizeof *pool * (n ? n : 1), "subset pool");
    int64_t *sizes = rm_calloc((size_t)k, sizeof *sizes, "class sizes"), *quota = rm_calloc((size_t)k, sizeof *quota, "quota");
    int64_t *start = rm_calloc((size_t)k + 1, sizeof *start, "class offsets");
    double *rem = rm_malloc(sizeof *rem * (size_t)k, "remainders");
    int rc = pool && sizes && quota && start && rem ? 0 : -1;
    for (int t = 0; t < num_takes && rc == 0; t++) {
        const rm_take *tk = &takes[t];
        memset(sizes, 0, sizeof *sizes * (size_t)k);
        for (size_t i = 0; i < n; i++)
            if (out_split[i] == RM_SPLIT_UNASSIGNED && (tk->from < 0 || ds->split[i] == tk->from)) sizes[ds->labels[i]]++;
        int64_t total = 0;
        for (int c = 0; c < k; c++) {
            start[c + 1] = start[c] + sizes[c];
            total += sizes[c];
        }
        int64_t want = tk->count < 0 ? total : tk->count;
        if (want > total) {
            rc = rm_error("%s: take %d asks for %lld records of split %s, but only %lld are left", ds->path, t + 1,
                          (long long)want, rm_split_label(tk->from), (long long)total);
            break;
        }
        /* pool: the candidates grouped by class, in record order */
        int64_t *fill = quota;
        for (int c = 0; c < k; c++) fill[c] = start[c];
        for (size_t i = 0; i < n; i++)
            if (out_split[i] == RM_SPLIT_UNASSIGNED && (tk->from < 0 || ds->split[i] == tk->from))
                pool[fill[ds->labels[i]]++] = (int32_t)i;
        apportion(sizes, k, total, want, quota, rem);
        for (int c = 0; c < k; c++) {
            rm_rng rng;
            rm_rng_seed(&rng, seed, 0x5b5e7ULL + (uint64_t)t, (uint64_t)c);
            rm_rng_shuffle_i32(&rng, pool + start[c], (size_t)sizes[c]);
            for (int64_t j = 0; j < quota[c]; j++) out_split[pool[start[c] + j]] = (uint8_t)tk->as;
        }
    }
    free(pool);
    free(sizes);
    free(quota);
    free(start);
    free(rem);
    return rc;
}
