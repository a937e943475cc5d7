/* rm_encode: a dataset and its relevance file -> an encoded dataset.
 * Records are streamed in blocks (bounded memory); within a block the
 * images are encoded in parallel, each from its own inputs only, and
 * appended in record order, so the output does not depend on the thread
 * count. Records without relevance are copied raw (or left out with
 * only_explained) and flagged 0 in /encoded. Under mpirun each round of
 * blocks gives rank r the r-th, and the ranks write one file together
 * (docs/scale.md), the same as one process's. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "encode/encode.h"
#include "core/error.h"
#include "core/h5util.h"
#include "nn/model_file.h"
#include "core/progress.h"
#include "core/ranks.h"
#include "core/relevance_file.h"
#include "encode/scratch.h"

enum { BLOCK = 256, SOURCE_MAX = 4096 };

/* This rank's block of the round that starts at record `round`: round k
 * gives rank r block k R + r, the one a single process would encode r-th
 * from there. Its records are [start, start + *n), *n possibly 0. */
static size_t my_block(size_t round, size_t count, size_t *n)
{
    size_t start = round + (size_t)rm_ranks_rank() * BLOCK;
    if (start > count) start = count;
    *n = count - start < BLOCK ? count - start : BLOCK;
    return start;
}

static size_t round_records(void) { return (size_t)BLOCK * (size_t)rm_ranks_size(); }

typedef struct {
    const rm_encode_config *cfg;
    rm_dataset ds;
    rm_relevance rel;
    int ds_open, rel_open;
    int64_t *map;              /* [N] relevance entry of each record, or -1 */
    double mean[RM_DATASET_MAX_CHANNELS];
    rm_encoder enc;
    int enc_ready;
    /* block buffers */
    uint8_t *in, *out, *regions, *encoded;
    int32_t *labels;           /* [BLOCK] of the records written, */
    uint8_t *split;            /* in the order written */
    char *source_text;         /* [BLOCK * SOURCE_MAX] */
    const char **sources;      /* [BLOCK] into source_text */
    float *heat;
    int64_t *slot;             /* [BLOCK] row of heat for each record, or -1 */
    rm_encode_info *info;      /* [BLOCK] */
    int *status;               /* [BLOCK] */
    unsigned char *scratch;    /* [threads * enc.scratch_bytes] */
    rm_dataset_writer *w;
} job;

/* The relevance file must explain records of this very dataset: shapes,
 * classes, labels, and the dataset fingerprint when the file records one. */
static int check_match(job *j)
{
    const rm_dataset *ds = &j->ds;
    const rm_relevance *r = &j->rel;
    const char *data = j->cfg->data_path, *rpath = j->cfg->relevance_path;
    RM_TRY(rm_relevance_check_dataset(r, data, (int64_t)ds->count, ds->height, ds->width, ds->labels));
    if (r->num_classes != ds->num_classes)
        return rm_error("%s has %d classes but %s has %d (relevance computed for another dataset?)", rpath,
                        r->num_classes, data, ds->num_classes);
    for (int c = 0; c < ds->num_classes; c++)
        if (strcmp(r->class_names[c], ds->class_names[c]) != 0)
            return rm_error("class %d is '%s' in %s but '%s' in %s (relevance computed for another dataset?)", c,
                            r->class_names[c], rpath, ds->class_names[c], data);
    if (r->dataset_fingerprint) {
        char fp[17];
        rm_dataset_fingerprint(fp, (int64_t)ds->count, ds->channels, ds->height, ds->width, ds->labels, ds->split);
        if (strcmp(fp, r->dataset_fingerprint) != 0)
            return rm_error("%s was computed for the dataset %s (fingerprint %s), but %s has fingerprint %s: "
                            "another dataset, or the same one re-split",
                            rpath, r->dataset_path ? r->dataset_path : "(path not recorded)", r->dataset_fingerprint,
                            data, fp);
    }
    return rm_relevance_index_map(r, (int64_t)ds->count, j->map);
}

/* Mean pixel value (0..255) per channel over the train split, from exact
 * integer sums (each rank sums its blocks, and the sums are added). */
static int train_mean(job *j)
{
    const rm_dataset *ds = &j->ds;
    const size_t hw = (size_t)ds->height * ds->width, bytes = (size_t)ds->channels * hw;
    uint64_t sums[RM_DATASET_MAX_CHANNELS + 1] = {0}, n;   /* the last: train records */
    for (size_t round = 0; round < ds->count; round += round_records()) {
        size_t count, start = my_block(round, ds->count, &count), end = start + count, lo = end, hi = start;
        for (size_t i = start; i < end; i++)
            if (ds->split[i] == RM_SPLIT_TRAIN) {
                if (lo == end) lo = i;
                hi = i + 1;
            }
        RM_TRY(rm_ranks_agree(lo < end ? rm_dataset_read_images(ds, lo, hi - lo, j->in) : 0));
        for (size_t i = lo; i < hi; i++) {
            if (ds->split[i] != RM_SPLIT_TRAIN) continue;
            sums[RM_DATASET_MAX_CHANNELS]++;
            const uint8_t *img = j->in + (i - lo) * bytes;
            for (int c = 0; c < ds->channels; c++) {
                uint64_t s = 0;
                for (size_t p = 0; p < hw; p++) s += img[c * hw + p];
                sums[c] += s;
            }
        }
    }
    RM_TRY(rm_ranks_sum_u64(sums, RM_DATASET_MAX_CHANNELS + 1));
    n = sums[RM_DATASET_MAX_CHANNELS];
    if (n == 0)
        return rm_error("%s has no train records, whose mean mode %s needs as its fill (use --fill zero, or "
                        "another mode)", j->cfg->data_path, rm_encode_mode_names[j->cfg->params.mode]);
    for (int c = 0; c < ds->channels; c++) j->mean[c] = (double)sums[c] / ((double)n * (double)hw);
    return 0;
}

static int read_heat(job *j, size_t start, size_t n);

/* Record `record`'s relevance has a non-finite value at pixel p. */
static int not_finite(const job *j, size_t record, int64_t p)
{
    return rm_error("%s: entry %lld (record %zu of %s): relevance value at pixel (%lld,%lld) is not finite",
                    j->cfg->relevance_path, (long long)j->map[record], record, j->cfg->data_path,
                    (long long)(p % j->ds.width), (long long)(p / j->ds.width));
}

/* Channel mode's train-mean constant: the mean of the relevance plane's
 * bytes over the train split's explained records (exact integer sums,
 * rounded half up), what a channel model saw on average in training. */
static int channel_train_mean(job *j)
{
    const rm_dataset *ds = &j->ds;
    const size_t hw = (size_t)ds->height * ds->width;
    uint64_t tally[2] = {0, 0};   /* the bytes' sum, the records */
    rm_encode_scratch s = rm_encode_scratch_split(j->scratch, hw);
    for (size_t round = 0; round < ds->count; round += round_records()) {
        size_t count, start = my_block(round, ds->count, &count);
        int rc = count > 0 ? read_heat(j, start, count) : 0;
        for (size_t i = 0; rc == 0 && i < count; i++) {
            if (j->slot[i] < 0 || ds->split[start + i] != RM_SPLIT_TRAIN) continue;
            rm_encode_info info;
            if (rm_encoder_relevance(&j->enc, j->heat + (size_t)j->slot[i] * hw, s.rn, j->scratch, &info) != 0) {
                rc = not_finite(j, start + i, info.bad_pixel);
                break;
            }
            for (size_t p = 0; p < hw; p++) tally[0] += rm_encoder_channel_byte(s.rn[p]);
            tally[1]++;
        }
        RM_TRY(rm_ranks_agree(rc));   /* the first bad record in record order, as in one process */
    }
    RM_TRY(rm_ranks_sum_u64(tally, 2));
    const uint64_t sum = tally[0], n = tally[1];
    if (n == 0)
        return rm_error("%s explains no train record of %s, whose mean relevance --channel-constant train-mean needs",
                        j->cfg->relevance_path, j->cfg->data_path);
    const uint64_t pixels = n * hw;
    j->enc.channel_u8 = (uint8_t)((2 * sum + pixels) / (2 * pixels));
    rm_log("channel constant: %u (the mean relevance byte of %llu train records)", (unsigned)j->enc.channel_u8,
           (unsigned long long)n);
    return 0;
}

/* Heatmaps of the block's records that have one, packed in record order;
 * runs of consecutive entries are read at once. */
static int read_heat(job *j, size_t start, size_t n)
{
    const size_t hw = (size_t)j->ds.height * j->ds.width;
    const int64_t *map = j->map + start;
    int64_t m = 0;
    for (size_t i = 0; i < n; i++) j->slot[i] = map[i] >= 0 ? m++ : -1;
    for (size_t i = 0; i < n;) {
        if (map[i] < 0) {
            i++;
            continue;
        }
        int64_t first = map[i], len = 1;
        size_t k = i + 1;
        while (k < n && (map[k] < 0 || map[k] == first + len)) {
            if (map[k] >= 0) len++;
            k++;
        }
        RM_TRY(rm_relevance_read_heatmaps(&j->rel, first, len, j->heat + (size_t)j->slot[i] * hw));
        i = k;
    }
    return 0;
}

static int set_provenance(job *j, int64_t unencoded, int64_t empty)
{
    const rm_encode_config *cfg = j->cfg;
    rm_dataset_writer *w = j->w;
    char params[1024];
    rm_encode_params_text(&cfg->params, params, sizeof params);
    size_t len = strlen(params);
    snprintf(params + len, sizeof params - len, "only_explained=%d\n", cfg->only_explained != 0);
    len = strlen(params);
    if (cfg->shuffle_masks)
        snprintf(params + len, sizeof params - len, "shuffle_masks=%llu\n", (unsigned long long)cfg->shuffle_seed);
    char *model_path = NULL, *domain = NULL;
    if (rm_relevance_read_attr(&j->rel, "model_path", &model_path) != 0 ||
        rm_dataset_read_attr(&j->ds, "synth_domain", &domain) != 0)
        return -1;
    int rc = 0;
    if (rm_dataset_writer_set_attr(w, "command_line", cfg->command_line ? cfg->command_line : "") != 0 ||
        rm_dataset_writer_set_attr(w, "data_path", cfg->data_path) != 0 ||
        rm_dataset_writer_set_attr(w, "relevance_path", cfg->relevance_path) != 0 ||
        rm_dataset_writer_set_attr(w, "relevance_method", j->rel.method ? j->rel.method : "") != 0 ||
        rm_dataset_writer_set_attr(w, "relevance_parameters", j->rel.parameters ? j->rel.parameters : "") != 0 ||
        (model_path && rm_dataset_writer_set_attr(w, "relevance_model_path", model_path) != 0) ||
        (domain && rm_dataset_writer_set_attr(w, "synth_domain", domain) != 0) ||
        rm_dataset_writer_set_attr(w, "encode_mode", rm_encode_mode_names[cfg->params.mode]) != 0 ||
        rm_dataset_writer_set_attr(w, "encode_parameters", params) != 0 ||
        rm_dataset_writer_set_attr_int(w, "records_unencoded", unencoded) != 0 ||
        rm_dataset_writer_set_attr_int(w, "records_empty_relevance", empty) != 0 ||
        (rm_encode_needs_mean(&cfg->params) &&
         rm_dataset_writer_set_attr_doubles(w, "train_mean", j->ds.channels, j->mean) != 0) ||
        (cfg->params.mode == RM_ENCODE_CHANNEL &&
         rm_dataset_writer_set_attr_int(w, "relevance_channel", j->ds.channels) != 0) ||
        (rm_encoder_constant_channel(&j->enc) &&
         rm_dataset_writer_set_attr_int(w, "relevance_channel_constant", j->enc.channel_u8) != 0))
        rc = -1;
    free(model_path);
    free(domain);
    return rc;
}

/* The split fractions and seed the input recorded, carried over (the
 * split itself is copied record by record). */
static rm_split_spec input_split(const rm_dataset *ds)
{
    rm_split_spec sp = {0};
    hid_t f = (hid_t)ds->hfile;
    double seed = 0;
    if (rm_h5_attr_exists(f, "split_val_fraction")) rm_h5_attr_get_double(f, "split_val_fraction", &sp.val_fraction);
    if (rm_h5_attr_exists(f, "split_test_fraction"))
        rm_h5_attr_get_double(f, "split_test_fraction", &sp.test_fraction);
    if (rm_h5_attr_exists(f, "split_seed") && rm_h5_attr_get_double(f, "split_seed", &seed) == 0 && seed >= 0)
        sp.seed = (uint64_t)seed;
    rm_error_clear();
    return sp;
}

static int open_inputs(job *j)
{
    const rm_encode_config *cfg = j->cfg;
    RM_TRY(rm_dataset_open(&j->ds, cfg->data_path));
    j->ds_open = 1;
    RM_TRY(rm_relevance_open(&j->rel, cfg->relevance_path));
    j->rel_open = 1;
    return 0;
}

/* Under mpirun every rank must read the same dataset and relevance file
 * (compared by their fingerprints). */
static int same_inputs(const job *j)
{
    char fp[17], seen[512];
    rm_dataset_fingerprint(fp, (int64_t)j->ds.count, j->ds.channels, j->ds.height, j->ds.width, j->ds.labels,
                           j->ds.split);
    snprintf(seen, sizeof seen, "%s, fingerprint %s", j->cfg->data_path, fp);
    RM_TRY(rm_ranks_check_same(seen, "dataset"));
    rm_relevance_fingerprint(&j->rel, fp);
    snprintf(seen, sizeof seen, "%s, fingerprint %s", j->cfg->relevance_path, fp);
    return rm_ranks_check_same(seen, "relevance file");
}

/* The inputs belong together; map[] is each record's relevance entry. */
static int match_inputs(job *j)
{
    const rm_encode_config *cfg = j->cfg;
    if (cfg->params.mode == RM_ENCODE_CHANNEL && j->ds.channels != 1 && j->ds.channels != 3)
        return rm_error("%s has %d channels: --mode channel appends relevance to gray (1) or RGB (3) images only "
                        "(is it encoded already?)", cfg->data_path, j->ds.channels);
    if (!(j->map = rm_malloc(j->ds.count * sizeof *j->map, "relevance index map"))) return -1;
    RM_TRY(check_match(j));
    if (cfg->shuffle_masks) {
        int64_t *order = rm_malloc((j->ds.count ? j->ds.count : 1) * sizeof *order, "shuffle order");
        if (!order) return -1;
        rm_encode_shuffle_map(j->map, order, j->ds.count, j->ds.labels, j->ds.split, cfg->shuffle_seed);
        free(order);
    }
    return 0;
}

static int alloc_buffers(job *j)
{
    const rm_dataset *ds = &j->ds;
    const size_t hw = (size_t)ds->height * ds->width;
    const size_t threads = (size_t)omp_get_max_threads();
    j->out = rm_malloc(BLOCK * (size_t)j->enc.out_channels * hw, "encoded block");
    j->heat = rm_malloc(BLOCK * hw * sizeof *j->heat, "heatmap block");
    j->slot = rm_malloc(BLOCK * sizeof *j->slot, "heatmap slots");
    j->info = rm_malloc(BLOCK * sizeof *j->info, "encode results");
    j->status = rm_malloc(BLOCK * sizeof *j->status, "encode results");
    j->scratch = rm_malloc(threads * j->enc.scratch_bytes, "encode scratch");
    j->encoded = rm_malloc(ds->count ? ds->count : 1, "/encoded flags");
    j->labels = rm_malloc(BLOCK * sizeof *j->labels, "label block");
    j->split = rm_malloc(BLOCK, "split block");
    if (ds->has_regions) j->regions = rm_malloc(BLOCK * hw, "region block");
    if (ds->has_source) {
        j->source_text = rm_malloc((size_t)BLOCK * SOURCE_MAX, "source block");
        j->sources = rm_malloc(BLOCK * sizeof *j->sources, "source block");
    }
    if (!j->out || !j->heat || !j->slot || !j->info || !j->status || !j->scratch || !j->encoded || !j->labels ||
        !j->split || (ds->has_regions && !j->regions) || (ds->has_source && (!j->source_text || !j->sources)))
        return -1;
    return 0;
}

/* Encodes records [start, start+n) in parallel; the first failure (in
 * record order) is reported. */
static int encode_block(job *j, size_t start, size_t n)
{
    const size_t hw = (size_t)j->ds.height * j->ds.width;
    const size_t in_bytes = (size_t)j->ds.channels * hw, out_bytes = (size_t)j->enc.out_channels * hw;
    const int only = j->cfg->only_explained;
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t i = 0; i < n; i++) {
        j->status[i] = 0;
        if (only && j->slot[i] < 0) continue;
        void *scratch = j->scratch + (size_t)omp_get_thread_num() * j->enc.scratch_bytes;
        const float *heat = j->slot[i] >= 0 ? j->heat + (size_t)j->slot[i] * hw : NULL;
        j->status[i] = rm_encoder_apply(&j->enc, j->in + i * in_bytes, heat, j->out + i * out_bytes, scratch,
                                        &j->info[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (j->status[i] != 0) return not_finite(j, start + i, j->info[i].bad_pixel);
    return 0;
}

/* Records [start, start + n): read, encoded and gathered for the writer,
 * the records written packed at the front of the block buffers (*kept of
 * them); tally[] gains their empty maps [0] and selected pixels [1]. */
static int encode_records(job *j, size_t start, size_t n, int constant, size_t *kept, uint64_t tally[2])
{
    const rm_dataset *ds = &j->ds;
    const size_t hw = (size_t)ds->height * ds->width, out_bytes = (size_t)j->enc.out_channels * hw;
    RM_TRY(rm_dataset_read_images(ds, start, n, j->in));
    if (ds->has_regions) RM_TRY(rm_dataset_read_regions(ds, start, n, j->regions));
    RM_TRY(read_heat(j, start, n));
    RM_TRY(encode_block(j, start, n));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int with_heat = j->slot[i] >= 0;
        if (j->cfg->only_explained && !with_heat) continue;
        if (k != i) {
            memcpy(j->out + k * out_bytes, j->out + i * out_bytes, out_bytes);
            if (ds->has_regions) memcpy(j->regions + k * hw, j->regions + i * hw, hw);
        }
        j->labels[k] = ds->labels[start + i];
        j->split[k] = ds->split[start + i];
        if (ds->has_source) {
            char *text = j->source_text + k * SOURCE_MAX;
            RM_TRY(rm_dataset_read_source(ds, start + i, text, SOURCE_MAX));
            j->sources[k] = text;
        }
        if (with_heat || constant) {
            tally[0] += !constant && j->info[i].empty;
            tally[1] += (uint64_t)j->info[i].selected;
        }
        k++;
    }
    *kept = k;
    return 0;
}

/* A step that can fail on one rank alone is agreed on by every rank
 * (rm_ranks_agree) before the next collective one. */
static int run(job *j, rm_encode_summary *sum)
{
    const rm_encode_config *cfg = j->cfg;
    double t0 = rm_now();
    RM_TRY(rm_ranks_agree(open_inputs(j)));
    RM_TRY(same_inputs(j));
    RM_TRY(rm_ranks_agree(match_inputs(j)));
    const rm_dataset *ds = &j->ds;
    const size_t hw = (size_t)ds->height * ds->width;
    int64_t explained = 0;
    for (size_t i = 0; i < ds->count; i++) explained += j->map[i] >= 0;
    if (explained == 0 && cfg->only_explained)
        return rm_ranks_agree(rm_error("%s explains no record of %s, and --only-explained leaves nothing to write",
                                       cfg->relevance_path, cfg->data_path));
    /* The mean pass needs only the input block; the encoder needs the
     * mean, and the other buffers are sized by the encoder. */
    j->in = rm_malloc(BLOCK * (size_t)ds->channels * hw, "image block");
    RM_TRY(rm_ranks_agree(j->in ? 0 : -1));
    if (rm_encode_needs_mean(&cfg->params)) RM_TRY(rm_ranks_agree(train_mean(j)));
    int rc = rm_encoder_init(&j->enc, &cfg->params, ds->channels, ds->height, ds->width, j->mean);
    j->enc_ready = rc == 0;
    if (rc == 0) rc = alloc_buffers(j);
    RM_TRY(rm_ranks_agree(rc));
    if (cfg->params.mode == RM_ENCODE_CHANNEL && cfg->params.channel == RM_CHANNEL_TRAIN_MEAN)
        RM_TRY(rm_ranks_agree(channel_train_mean(j)));
    /* A constant plane is the same encoding for every record. */
    const int constant = rm_encoder_constant_channel(&j->enc);

    /* Which records are written and encoded follows from the map alone. */
    int64_t written = 0, encoded = 0, missing[RM_SPLIT_COUNT] = {0};
    for (size_t i = 0; i < ds->count; i++) {
        int with_heat = j->map[i] >= 0, has = with_heat || constant;
        if (cfg->only_explained && !with_heat) continue;
        if (!has && ds->split[i] < RM_SPLIT_COUNT) missing[ds->split[i]]++;
        j->encoded[written++] = (uint8_t)has;
        encoded += has;
    }

    rm_dataset_spec spec = {
        .channels = j->enc.out_channels, .height = ds->height, .width = ds->width, .num_classes = ds->num_classes,
        .class_names = (const char *const *)ds->class_names, .has_regions = ds->has_regions,
        .source_format = "encoded", .source_path = cfg->data_path, .deflate_level = cfg->deflate_level,
        .shared = rm_ranks_size() > 1,
    };
    RM_TRY(rm_dataset_writer_open(&j->w, cfg->out_path, &spec, cfg->force));

    uint64_t tally[2] = {0, 0};   /* empty maps, selected pixels (this rank's records) */
    rm_progress progress;
    rm_progress_start(&progress, "encode", "img", ds->count);
    for (size_t round = 0; round < ds->count; round += round_records()) {
        size_t n, kept = 0, start = my_block(round, ds->count, &n);
        RM_TRY(rm_ranks_agree(n > 0 ? encode_records(j, start, n, constant, &kept, tally) : 0));
        RM_TRY(rm_dataset_writer_append_block(j->w, kept, j->out, j->labels, j->split,
                                              ds->has_regions ? j->regions : NULL,
                                              ds->has_source ? j->sources : NULL));
        rm_progress_update(&progress, ds->count - round < round_records() ? ds->count : round + round_records());
    }
    rm_progress_finish(&progress);
    RM_TRY(rm_ranks_sum_u64(tally, 2));
    const int64_t empty = (int64_t)tally[0];
    rc = set_provenance(j, written - encoded, empty);
    if (rc == 0)
        rc = rm_dataset_writer_set_flags(j->w, "encoded", j->encoded, (size_t)written,
                                         constant ? "1: the record has the constant relevance channel (every record)"
                                                  : "1: the record was encoded from its relevance; 0: copied raw "
                                                    "(no relevance)");
    RM_TRY(rm_ranks_agree(rc));
    rm_split_spec split = input_split(ds);
    rc = rm_dataset_writer_finish(j->w, &split);
    j->w = NULL;
    RM_TRY(rc);

    double seconds = rm_now() - t0;
    rm_log("wrote %s: %lld records, %lld encoded (mode %s), %lld copied raw, in %.2f s (%.0f img/s)", cfg->out_path,
           (long long)written, (long long)encoded, rm_encode_mode_names[cfg->params.mode],
           (long long)(written - encoded), seconds, seconds > 0 ? (double)written / seconds : 0.0);
    if (encoded > 0 && rm_encode_mode_selects(cfg->params.mode))
        rm_log("selected %.1f%% of the pixels of an encoded image on average",
               100 * (double)tally[1] / ((double)hw * (double)encoded));
    if (empty > 0)
        rm_warn("%lld records have no %s relevance after processing (their map is all zero)", (long long)empty,
                rm_encode_sign_names[cfg->params.sign]);
    /* A channel student reads the relevance plane at validation and test
     * time too: records without relevance get a zero plane there. */
    if (cfg->params.mode == RM_ENCODE_CHANNEL && !constant && written > encoded)
        rm_warn("%lld records have no relevance in %s and got a zero relevance plane: train %lld, val %lld, test "
                "%lld; a channel student validated or tested on them sees no relevance (relmask train refuses "
                "val/test records without it unless --allow-missing-relevance; explain every split: relmask "
                "relevance --split all)",
                (long long)(written - encoded), cfg->relevance_path, (long long)missing[RM_SPLIT_TRAIN],
                (long long)missing[RM_SPLIT_VAL], (long long)missing[RM_SPLIT_TEST]);
    if (sum) *sum = (rm_encode_summary){.written = written, .encoded = encoded, .unencoded = written - encoded,
                                        .empty = empty, .seconds = seconds};
    return 0;
}

int rm_encode_file(const rm_encode_config *cfg, rm_encode_summary *summary)
{
    job j = {.cfg = cfg};
    RM_TRY(rm_ranks_agree(rm_encode_params_check(&cfg->params)));
    int rc = run(&j, summary);
    if (j.w) rm_dataset_writer_abort(j.w);
    if (j.enc_ready) rm_encoder_free(&j.enc);
    if (j.rel_open) rm_relevance_close(&j.rel);
    if (j.ds_open) rm_dataset_close(&j.ds);
    free(j.map);
    free(j.in);
    free(j.out);
    free(j.regions);
    free(j.encoded);
    free(j.labels);
    free(j.split);
    free(j.source_text);
    free(j.sources);
    free(j.heat);
    free(j.slot);
    free(j.info);
    free(j.status);
    free(j.scratch);
    return rc;
}

void rm_encode_config_defaults(rm_encode_config *cfg)
{
    *cfg = (rm_encode_config){.deflate_level = 4};
    rm_encode_params_defaults(&cfg->params, RM_ENCODE_MEAN);
}

int rm_encode(const rm_encode_config *cfg) { return rm_encode_file(cfg, NULL); }
