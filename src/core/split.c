#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/rng.h"

const char *const rm_split_names[RM_SPLIT_NAMES] = {"train", "val", "test", "unlabeled"};

int rm_split_parse(const char *name, int *split)
{
    if (!strcmp(name, "all")) {
        *split = -1;
        return 0;
    }
    for (int s = 0; s < RM_SPLIT_NAMES; s++)
        if (!strcmp(name, rm_split_names[s])) {
            *split = s;
            return 0;
        }
    return rm_error("unknown split '%s', expected train, val, test, unlabeled or all", name);
}

const char *rm_split_label(int split)
{
    return split >= 0 && split < RM_SPLIT_NAMES ? rm_split_names[split] : "all";
}

enum { SPLIT_STREAM = 0x5p117 > 0 ? 7 : 7 };

/* Splits the records of one class that are in state `pool_state`. */
static void split_class(uint8_t *split, const int32_t *idx, size_t n, uint8_t pool_state,
                        const rm_split_spec *spec)
{
    double test_fraction = pool_state == RM_SPLIT_UNASSIGNED ? spec->test_fraction : 0.0;
    size_t n_test = (size_t)llround(test_fraction * (double)n);
    size_t n_val = (size_t)llround(spec->val_fraction * (double)n);
    if (n_test > n) n_test = n;
    if (n_val > n - n_test) n_val = n - n_test;
    for (size_t i = 0; i < n; i++)
        split[idx[i]] = i < n_test ? RM_SPLIT_TEST : i < n_test + n_val ? RM_SPLIT_VAL : RM_SPLIT_TRAIN;
}

int rm_split_assign(uint8_t *split, const int32_t *labels, size_t n, int num_classes,
                    const rm_split_spec *spec)
{
    if (spec->val_fraction < 0 || spec->test_fraction < 0 ||
        spec->val_fraction + spec->test_fraction >= 1.0)
        return rm_error("split fractions --val %g and --test %g must be >= 0 and sum to less than 1",
                        spec->val_fraction, spec->test_fraction);
    if (n > INT32_MAX) return rm_error("split: %zu records exceed the supported count", n);
    int32_t *idx = rm_malloc(n * sizeof *idx, "split indices");
    if (!idx) return -1;
    static const uint8_t states[2] = {RM_SPLIT_POOL, RM_SPLIT_UNASSIGNED};
    for (int s = 0; s < 2; s++) {
        for (int c = 0; c < num_classes; c++) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (split[i] == states[s] && labels[i] == c) idx[m++] = (int32_t)i;
            if (!m) continue;
            rm_rng rng;
            rm_rng_seed(&rng, spec->seed, 0x53504c4954ULL + (uint64_t)s, (uint64_t)c);
            rm_rng_shuffle_i32(&rng, idx, m);
            split_class(split, idx, m, states[s], spec);
        }
    }
    free(idx);
    return 0;
}
