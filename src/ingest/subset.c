#include "ingest/subset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/progress.h"
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
        if (rm_split_parse(as, &take->as) != 0 || take->as < 0 || take->as >= RM_SPLIT_COUNT)
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

/* --- the stage --------------------------------------------------------------- */

enum { BLOCK = 1024 };

void rm_subset_config_defaults(rm_subset_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->deflate_level = 4;
}

/* seed, complement and the takes: the subset_parameters attribute. */
static void parameters_text(const rm_subset_config *c, char *out, size_t cap)
{
    size_t at = (size_t)snprintf(out, cap, "seed=%llu\ncomplement=%d\n", (unsigned long long)c->seed, c->complement);
    for (int t = 0; t < c->num_takes && at < cap; t++) {
        const rm_take *tk = &c->takes[t];
        if (c->take_text[t]) {
            at += (size_t)snprintf(out + at, cap - at, "take=%s\n", c->take_text[t]);
            continue;
        }
        char count[32];
        if (tk->count < 0) snprintf(count, sizeof count, "all");
        else snprintf(count, sizeof count, "%lld", (long long)tk->count);
        at += (size_t)snprintf(out + at, cap - at, "take=%s:%s:%s\n", rm_split_label(tk->from), count,
                               rm_split_label(tk->as));
    }
}

static int write_subset(const rm_subset_config *c, const rm_dataset *ds, const uint8_t *chosen)
{
    rm_dataset_spec spec = {.channels = ds->channels, .height = ds->height, .width = ds->width,
                            .num_classes = ds->num_classes, .class_names = (const char *const *)ds->class_names,
                            .has_regions = ds->has_regions, .source_format = "subset", .source_path = c->data_path,
                            .deflate_level = c->deflate_level};
    size_t rec = (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width, hw = (size_t)ds->height * ds->width;
    uint8_t *images = rm_malloc(rec * BLOCK, "image block"), *regions = NULL;
    if (!images) return -1;
    if (ds->has_regions && !(regions = rm_malloc(hw * BLOCK, "region block"))) {
        free(images);
        return -1;
    }
    rm_dataset_writer *w;
    if (rm_dataset_writer_open(&w, c->out_path, &spec, c->force) != 0) {
        free(images);
        free(regions);
        return -1;
    }
    char params[2048];
    parameters_text(c, params, sizeof params);
    rm_progress prog;
    rm_progress_start(&prog, "subset", "img", ds->count);
    int rc = rm_dataset_writer_set_attr(w, "subset_parameters", params);
    if (rc == 0 && c->command_line) rc = rm_dataset_writer_set_attr(w, "command_line", c->command_line);
    for (size_t first = 0; rc == 0 && first < ds->count; first += BLOCK) {
        size_t n = ds->count - first < BLOCK ? ds->count - first : BLOCK;
        int any = 0;
        for (size_t i = 0; i < n && !any; i++) any = chosen[first + i] != RM_SPLIT_UNASSIGNED;
        if (!any) continue;
        rc = rm_dataset_read_images(ds, first, n, images);
        if (rc == 0 && regions) rc = rm_dataset_read_regions(ds, first, n, regions);
        for (size_t i = 0; i < n && rc == 0; i++)
            if (chosen[first + i] != RM_SPLIT_UNASSIGNED) {
                rc = rm_dataset_writer_append(w, images + i * rec, ds->labels[first + i], chosen[first + i],
                                              regions ? regions + i * hw : NULL);
                char source[4096];
                if (rc == 0 && ds->has_source) rc = rm_dataset_read_source(ds, first + i, source, sizeof source);
                if (rc == 0 && ds->has_source) rc = rm_dataset_writer_set_source(w, source);
            }
        rm_progress_update(&prog, first + n);
    }
    rm_progress_finish(&prog);
    free(images);
    free(regions);
    if (rc != 0) {
        rm_dataset_writer_abort(w);
        return -1;
    }
    rm_split_spec none = {0, 0, c->seed};
    return rm_dataset_writer_finish(w, &none);
}

int rm_subset(const rm_subset_config *c)
{
    if (!c->data_path || !c->out_path) return rm_error("subset: no input or output file");
    if (c->num_takes < 1 || c->num_takes > RM_SUBSET_MAX_TAKES)
        return rm_error("subset: %d takes, expected 1..%d", c->num_takes, RM_SUBSET_MAX_TAKES);
    if (c->deflate_level < 0 || c->deflate_level > 9)
        return rm_error("subset: deflate level %d is out of range (0..9)", c->deflate_level);
    rm_dataset ds;
    RM_TRY(rm_dataset_open(&ds, c->data_path));
    uint8_t *chosen = rm_malloc(ds.count ? ds.count : 1, "selection");
    int rc = chosen ? rm_subset_select(&ds, c->takes, c->num_takes, c->seed, chosen) : -1;
    size_t kept = 0;
    if (rc == 0) {
        for (size_t i = 0; i < ds.count; i++) {
            if (c->complement) chosen[i] = chosen[i] == RM_SPLIT_UNASSIGNED ? ds.split[i] : RM_SPLIT_UNASSIGNED;
            kept += chosen[i] != RM_SPLIT_UNASSIGNED;
        }
        if (!kept) rc = rm_error("%s: the subset is empty", c->data_path);
    }
    if (rc == 0) rc = write_subset(c, &ds, chosen);
    if (rc == 0) rm_log("%s: %zu of %zu records of %s", c->out_path, kept, ds.count, c->data_path);
    free(chosen);
    rm_dataset_close(&ds);
    return rc;
}
