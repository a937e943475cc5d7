/* The relevance stage (relevance.h): selects the records, opens or resumes
 * the relevance file, explains block after block with the chosen method
 * (relevance_lrp.c, relevance_occlusion.c) and writes each block. */
#include "relevance/relevance.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/output.h"
#include "core/h5util.h"
#include "core/nearest.h"
#include "core/progress.h"
#include "core/ranks.h"
#include "core/rng.h"
#include "core/relevance_file.h"
#include "relevance/relevance_internal.h"
#include "train/train.h"

static const char *const method_names[] = {"lrp", "occlusion"};

void rm_relevance_config_defaults(rm_relevance_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->split = -1;
    cfg->method = RM_RELEVANCE_LRP;
    cfg->batch = 64;
    cfg->composite = "epsilon-plus-flat";
    cfg->eps = 1e-6;
    cfg->gamma = 0.25;
    cfg->sample_seed = 1;
}

/* What relmask relevance's options rule out already, for other callers. */
static int check_config(const rm_relevance_config *c)
{
    if (!c->data_path || !c->out_path) return rm_error("relevance: a dataset and an output path are required");
    if (c->method != RM_RELEVANCE_LRP && c->method != RM_RELEVANCE_OCCLUSION)
        return rm_error("relevance: method %d, expected LRP or occlusion", (int)c->method);
    if (c->method == RM_RELEVANCE_LRP && (!c->model_path || c->predict_cmd))
        return rm_error("relevance: LRP needs a model file and no prediction command");
    if (c->method == RM_RELEVANCE_OCCLUSION && !c->model_path == !c->predict_cmd)
        return rm_error("relevance: occlusion needs a model file or a prediction command, not both");
    if (c->batch < 1 || c->batch > 4096) return rm_error("relevance: batch %d, expected 1..4096", c->batch);
    if (c->num_rules < 0 || c->num_rules > RM_RELEVANCE_MAX_RULES)
        return rm_error("relevance: %d rule overrides, expected 0..%d", c->num_rules, RM_RELEVANCE_MAX_RULES);
    if (c->resize && !c->model_path)
        return rm_error("relevance: --resize converts images for a model file; --predict-cmd gets the data's images");
    if (c->start < 0 || c->count < 0 || c->sample < 0 || c->patch < 0 || c->stride < 0 || c->stop_after < 0)
        return rm_error("relevance: negative start, count, sample, patch, stride or stop_after");
    if (c->sample > 0 && (c->start > 0 || c->count > 0))
        return rm_error("relevance: choose --sample or --start/--count, not both");
    int kind, top, set = rm_relevance_target_set(c->target, &kind, &top);
    if (set < 0) return -1;
    if (set && c->method != RM_RELEVANCE_LRP)
        return rm_error("relevance: --target %s needs --method lrp (occlusion explains one class per image)",
                        c->target);
    return 0;
}

int rm_relevance_target_set(const char *target, int *kind, int *top)
{
    *kind = RM_SEED_CLASS;
    *top = 0;
    if (!target) return 0;
    if (!strcmp(target, "all")) return *kind = RM_SEED_ALL, 1;
    if (!strcmp(target, "contrast")) return *kind = RM_SEED_CONTRAST, 1;
    if (strncmp(target, "top:", 4) != 0) return 0;
    char *end;
    long v = strtol(target + 4, &end, 10);
    if (target[4] < '0' || target[4] > '9' || *end || v < 1 || v > 1 << 20)
        return rm_error("--target '%s': expected top:K with K a class count >= 1", target);
    *kind = RM_SEED_TOP;
    *top = (int)v;
    return 1;
}

/* "pred" -> -1, "true" -> -2, a class name or index -> the class; the
 * class sets (all, top:K, contrast) -> -1 with their seed. */
static int parse_target(const char *text, const char *path, char *const *names, int k, int *target,
                        rm_lrp_seed *seed)
{
    int kind, top, set = rm_relevance_target_set(text, &kind, &top);
    if (set < 0) return -1;
    *seed = (rm_lrp_seed){.kind = (rm_seed_kind)kind, .top = top};
    if (set) {
        if (kind == RM_SEED_TOP && top > k) {
            rm_error("--target '%s': %s has %d classes, expected top:1..top:%d", text, path, k, k);
            return rm_error_mark_usage();
        }
        return *target = -1, 0;
    }
    if (!text || !strcmp(text, "pred")) return *target = -1, 0;
    if (!strcmp(text, "true")) return *target = -2, 0;
    for (int i = 0; i < k; i++)
        if (!strcmp(text, names[i])) return *target = i, 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (*text && !*end && v >= 0 && v < k) return *target = (int)v, 0;
    /* A bad value of the option, though only the classes tell: a usage
     * error, with the class names and the nearest of them. */
    char list[1024] = "";
    for (int i = 0; i < k; i++) {
        size_t at = strlen(list);
        snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", names[i]);
    }
    const char *near = rm_nearest_name(text, (const char *const *)names, k);
    char hint[256] = "";
    if (near) snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
    rm_error("--target '%s': expected pred, true, all, top:K, contrast, a class index 0..%d or a class name of %s "
             "(%s)%s", text, k - 1, path, list, hint);
    return rm_error_mark_usage();
}

static int ascending(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A class-stratified seeded draw of `want` of the m records idx[0..m):
 * each class gets floor(want m_c / m) records, and the remainder goes to
 * the classes with the largest fractional parts (the lower class first on
 * a tie); each class's records are shuffled from (seed, class) and its
 * first ones kept; the result is in ascending record order. */
static int sample_records(const rm_dataset *ds, int64_t *idx, int64_t m, int64_t want, uint64_t seed, int64_t *n)
{
    int k = ds->num_classes;
    int64_t *per = rm_calloc((size_t)k, sizeof *per, "class counts"), *take = rm_calloc((size_t)k, sizeof *take, "");
    int32_t *members = rm_malloc(sizeof *members * (size_t)(m ? m : 1), "class members");
    int rc = per && take && members ? 0 : -1;
    if (rc == 0 && m > INT32_MAX) rc = rm_error("%s: %lld records are too many to sample", ds->path, (long long)m);
    for (int64_t i = 0; rc == 0 && i < m; i++) per[ds->labels[idx[i]]]++;
    int64_t given = 0;
    for (int c = 0; rc == 0 && c < k; c++) given += take[c] = want * per[c] / m;
    /* The remainder: one more record for each of the classes with the
     * largest (want m_c) mod m, the lower class first on a tie. */
    unsigned char *extra = rc == 0 ? rm_calloc((size_t)k, 1, "class remainders") : NULL;
    if (!extra) rc = -1;
    while (rc == 0 && given < want) {
        int best = -1;
        for (int c = 0; c < k; c++)
            if (!extra[c] && take[c] < per[c] && (best < 0 || (want * per[c]) % m > (want * per[best]) % m)) best = c;
        if (best < 0) break;
        extra[best] = 1, take[best]++, given++;
    }
    free(extra);
    int64_t out = 0, *chosen = rc == 0 ? rm_malloc(sizeof *chosen * (size_t)(want ? want : 1), "sample") : NULL;
    if (!chosen) rc = -1;
    for (int c = 0; rc == 0 && c < k; c++) {
        size_t mc = 0;
        for (int64_t i = 0; i < m; i++)
            if (ds->labels[idx[i]] == c) members[mc++] = (int32_t)i;
        rm_rng rng;
        rm_rng_seed(&rng, seed, 0x53414d504c45ULL, (uint64_t)c);
        rm_rng_shuffle_i32(&rng, members, mc);
        for (int64_t t = 0; t < take[c]; t++) chosen[out++] = idx[members[t]];
    }
    if (rc == 0) memcpy(idx, chosen, sizeof *idx * (size_t)out);
    free(chosen);
    if (rc == 0) qsort(idx, (size_t)out, sizeof *idx, ascending);
    *n = out;
    free(per);
    free(take);
    free(members);
    return rc;
}

/* Warns when the selection covers fewer than half of the classes (records
 * of a folder dataset are sorted by class, so --count 200 can take one or
 * two classes only), with the counts. */
static void warn_narrow_selection(const rm_dataset *ds, const int64_t *idx, int64_t n)
{
    int k = ds->num_classes, covered = 0;
    if (ds->unlabeled) return;   /* no classes to cover */
    int64_t *per = rm_calloc((size_t)k, sizeof *per, "class counts");
    if (!per) return;
    for (int64_t i = 0; i < n; i++) per[ds->labels[idx[i]]]++;
    for (int c = 0; c < k; c++) covered += per[c] > 0;
    if (2 * covered < k) {
        char counts[1024];
        size_t used = 0;
        for (int c = 0; c < k && used < sizeof counts; c++)
            used += (size_t)snprintf(counts + used, sizeof counts - used, "%s%s %lld", c ? ", " : "",
                                     ds->class_names[c], (long long)per[c]);
        rm_warn("the %lld records selected cover %d of %d classes (%s); --sample N draws a class-stratified "
                "random subset", (long long)n, covered, k, counts);
    }
    free(per);
}

/* The records to explain: the split's indices, then start/count, or a
 * stratified sample. */
static int select_records(const rm_dataset *ds, const rm_relevance_config *c, int64_t **indices, int64_t *n)
{
    int64_t *idx = rm_malloc(sizeof *idx * (ds->count ? ds->count : 1), "record indices");
    if (!idx) return -1;
    int64_t m = 0;
    for (size_t i = 0; i < ds->count; i++)
        if (c->split < 0 || ds->split[i] == c->split) idx[m++] = (int64_t)i;
    if (c->sample > 0) {
        if (m == 0) {
            free(idx);
            return rm_error("%s: split %s has no records to sample", ds->path, rm_split_label(c->split));
        }
        if (c->sample > m)
            rm_warn("--sample %lld: split %s has only %lld records; explaining all of them", (long long)c->sample,
                    c->split < 0 ? "all" : rm_split_label(c->split), (long long)m);
        int rc = sample_records(ds, idx, m, c->sample < m ? c->sample : m, c->sample_seed, n);
        if (rc != 0) free(idx);
        else *indices = idx, warn_narrow_selection(ds, idx, *n);
        return rc;
    }
    if (c->start >= m) {
        free(idx);
        return rm_error("%s: --start %lld is past the %lld records of split %s%s", ds->path, c->start, (long long)m,
                        rm_split_label(c->split),
                        ds->unlabeled && m == 0 ? " (the file is unlabeled: all its records are in split "
                                                  "unlabeled; use --split all or unlabeled)" : "");
    }
    int64_t end = c->count > 0 && c->start + c->count < m ? c->start + c->count : m;
    memmove(idx, idx + c->start, sizeof *idx * (size_t)(end - c->start));
    *indices = idx;
    *n = end - c->start;
    warn_narrow_selection(ds, idx, *n);
    return 0;
}

/* How many of idx[0..n) fit one window (at least 1). */
static int64_t window_fit(const record_reader *r, const int64_t *idx, int64_t n)
{
    int64_t k = 1;
    while (k < n && idx[k] - idx[0] + 1 <= r->window_cap) k++;
    return k;
}

static int read_records(record_reader *r, const int64_t *idx, int64_t n, uint8_t *out)
{
    int64_t span = idx[n - 1] - idx[0] + 1;
    RM_TRY(rm_dataset_read_images(r->ds, (size_t)idx[0], (size_t)span, r->window));
    for (int64_t i = 0; i < n; i++)
        memcpy(out + (size_t)i * r->record_bytes, r->window + (size_t)(idx[i] - idx[0]) * r->record_bytes,
               r->record_bytes);
    return 0;
}

static void job_free(relevance_job *j)
{
    rm_occlusion_destroy(j->occ);
    rm_predictor_destroy(j->pred);
    rm_lrp_destroy(j->lrp);
    rm_lrp_config_free(&j->lrp_cfg);
    if (j->have_model) rm_model_free(&j->model);
    rm_dataset_close(&j->ds);
    rm_image_resizer_destroy(j->resizer);
    free(j->in_images);
    free(j->in_chan);
    free(j->indices);
    free(j->images);
    free(j->chan);
    free(j->heat);
    free(j->score);
    free(j->explained);
    free(j->predicted);
    free(j->label);
    free(j->targets);
    free(j->block_index);
    free(j->reader.window);
}

static int job_allocate(relevance_job *j)
{
    size_t b = (size_t)j->cfg->batch, hw = (size_t)j->ds.height * (size_t)j->ds.width;
    size_t chw = hw * (size_t)j->ds.channels;
    j->reader.ds = &j->ds;
    j->reader.record_bytes = chw;
    j->reader.window_cap = 8 * (int64_t)b > 1024 ? 8 * (int64_t)b : 1024;
    j->reader.window = rm_malloc(chw * (size_t)j->reader.window_cap, "record window");
    j->images = rm_malloc(chw * b, "image batch");
    j->chan = rm_malloc(sizeof *j->chan * chw * b, "relevance batch");
    j->heat = rm_malloc(sizeof *j->heat * hw * b, "heatmap batch");
    j->score = rm_malloc(sizeof *j->score * b, "scores");
    j->explained = rm_malloc(sizeof *j->explained * b, "explained classes");
    j->predicted = rm_malloc(sizeof *j->predicted * b, "predicted classes");
    j->label = rm_malloc(sizeof *j->label * b, "labels");
    j->targets = rm_malloc(sizeof *j->targets * b, "targets");
    j->block_index = rm_malloc(sizeof *j->block_index * b, "indices");
    if (!j->reader.window || !j->images || !j->chan || !j->heat || !j->score || !j->explained || !j->predicted ||
        !j->label || !j->targets || !j->block_index)
        return -1;
    if (!j->resizer || j->cfg->method != RM_RELEVANCE_LRP) return 0;
    size_t in = (size_t)j->in_c * (size_t)j->in_h * (size_t)j->in_w;
    j->in_images = rm_malloc(in * b, "resized image batch");
    j->in_chan = rm_malloc(sizeof *j->in_chan * in * b, "relevance batch on the model's input");
    return j->in_images && j->in_chan ? 0 : -1;
}

static int job_prepare(relevance_job *j)
{
    const rm_relevance_config *c = j->cfg;
    RM_TRY(rm_dataset_open_unlabeled_ok(&j->ds, c->data_path));
    rm_dataset_fingerprint(j->data_fp, (int64_t)j->ds.count, j->ds.channels, j->ds.height, j->ds.width,
                           j->ds.labels, j->ds.split);
    if (j->ds.unlabeled) {   /* what needs a label is refused; the predicted class and class sets need none */
        if (c->target && !strcmp(c->target, "true"))
            return rm_dataset_refuse_unlabeled(c->data_path, "relevance --target true (the labelled class)");
        if (c->sample > 0)
            return rm_dataset_refuse_unlabeled(c->data_path, "relevance --sample (a class-stratified draw; "
                                               "--start/--count select unlabeled records)");
        if (!c->model_path && j->ds.num_classes == 0)
            return rm_error("%s is unlabeled and names no classes, and --predict-cmd gives none: ingest it with "
                            "--classes LIST (the external model's classes, in its output order)", c->data_path);
    }
    if (c->model_path) {
        RM_TRY(rm_model_load(&j->model, c->model_path));
        j->have_model = 1;
        RM_TRY(rm_dataset_adopt_class_names(&j->ds, j->model.num_classes,
                                            (const char *const *)j->model.class_names, c->model_path));
        RM_TRY(rm_model_check_dataset(&j->model, c->model_path, &j->ds,
                                      c->resize ? RM_SHAPE_RESIZE : RM_SHAPE_OFFER_RESIZE));
        rm_model_fingerprint(j->model_fp, &j->model);
        rm_resize_describe(&j->model, &j->ds, j->resize, sizeof j->resize);
        const rm_shape *in = &j->model.def.input;
        j->in_c = in->c, j->in_h = in->h, j->in_w = in->w;
        if (*j->resize)
            RM_TRY(rm_image_resizer_create(&j->resizer, j->ds.channels, j->ds.height, j->ds.width, in->c, in->h,
                                           in->w));
    }
    RM_TRY(parse_target(c->target, c->data_path, j->ds.class_names, j->ds.num_classes, &j->target, &j->seed));
    RM_TRY(select_records(&j->ds, c, &j->indices, &j->n));
    RM_TRY(job_allocate(j));
    RM_TRY(c->method == RM_RELEVANCE_LRP ? relevance_lrp_prepare(j) : relevance_occlusion_prepare(j));
    if (c->sample > 0) {
        size_t used = strlen(j->params);
        int w = snprintf(j->params + used, sizeof j->params - used, "sample=%lld\nsample_seed=%llu\n", c->sample,
                         c->sample_seed);
        if (w < 0 || (size_t)w >= sizeof j->params - used) return rm_error("parameter description too long");
    }
    if (*j->resize) {   /* only then: files of runs without it keep their parameters, and --resume compares them */
        size_t used = strlen(j->params);
        int w = snprintf(j->params + used, sizeof j->params - used, "resize=%s\n", j->resize);
        if (w < 0 || (size_t)w >= sizeof j->params - used) return rm_error("parameter description too long");
    }
    return 0;
}

/* Reads the records of the block at `first` and explains them. */
static int explain_block(relevance_job *j, int64_t first, int64_t n)
{
    for (int64_t done = 0; done < n;) {
        int64_t k = window_fit(&j->reader, j->indices + first + done, n - done);
        RM_TRY(read_records(&j->reader, j->indices + first + done, k,
                            j->images + (size_t)done * j->reader.record_bytes));
        done += k;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t rec = j->indices[first + i];
        j->block_index[i] = rec;
        j->label[i] = j->ds.labels[rec];
        j->targets[i] = j->target == -2 ? j->label[i] : j->target;
    }
    return j->occ ? relevance_occlusion_block(j, n) : relevance_lrp_block(j, n);
}

/* A failed run keeps its partial file only when it holds records that
 * --resume can continue from; an empty one would just be left behind. */
static int fail_partial(rm_relevance_writer *w, int64_t done)
{
    if (done == 0) {
        rm_relevance_writer_abort(w);
        return -1;
    }
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", rm_error_message());
    rm_relevance_writer_close_partial(w);
    return rm_error("%s (the %lld records done are kept; --resume continues after them)", msg, (long long)done);
}

/* What SIGINT/SIGTERM prints once the partial file exists: how far the run
 * got and how to continue (train says the same of its checkpoint). */
static void set_interrupt_note(int64_t done, int64_t total)
{
    char note[256];
    snprintf(note, sizeof note, "relmask: relevance: interrupted after %lld of %lld records; continue with --resume "
             "(the same command plus --resume)\n", (long long)done, (long long)total);
    rm_output_set_signal_note(note);
}

static int run_job(relevance_job *j)
{
    const rm_relevance_config *c = j->cfg;
    rm_relevance_spec spec = {.count = j->n, .channels = j->ds.channels, .height = j->ds.height,
                              .width = j->ds.width, .num_classes = j->ds.num_classes,
                              .class_names = (const char *const *)j->ds.class_names,
                              .store_channels = c->channels, .deflate_level = 4, .method = method_names[c->method],
                              .score_kind = j->occ ? "probability" : "logit", .parameters = j->params,
                              .shared = rm_ranks_size() > 1};
    rm_relevance_writer *w;
    int64_t done;
    RM_TRY(rm_relevance_writer_open(&w, c->out_path, &spec, c->force, c->resume, &done));
    char set_text[96];
    const char *set = "one class per record: /explained";
    if (j->seed.kind == RM_SEED_ALL) set = "all classes: /explained is -1, /score the sum of all logits";
    if (j->seed.kind == RM_SEED_TOP) {
        snprintf(set_text, sizeof set_text, "the %d highest-scoring classes: /explained is %s, /score their logit sum",
                 j->seed.top, j->seed.top == 1 ? "that class" : "-1");
        set = set_text;
    }
    if (j->seed.kind == RM_SEED_CONTRAST)
        set = "contrast: /explained (the predicted class) against the others, /score its logit margin";
    const char *attrs[][2] = {
        {"explained_classes", set},
        {"model_path", c->model_path ? c->model_path : ""}, {"model_fingerprint", j->model_fp},
        {"dataset_path", c->data_path}, {"dataset_fingerprint", j->data_fp},
        {j->occ ? "predict_cmd" : "composite", j->occ ? (c->predict_cmd ? c->predict_cmd : "") : c->composite},
        {"target", c->target ? c->target : "pred"}, {"split", rm_split_label(c->split)},
        {"command_line", c->command_line ? c->command_line : ""},
    };
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (rm_relevance_writer_set_attr(w, attrs[i][0], attrs[i][1]) != 0) return fail_partial(w, done);
    if (*j->resize && rm_relevance_writer_set_attr(w, "resize", j->resize) != 0) return fail_partial(w, done);
    set_interrupt_note(done, j->n);
    rm_progress prog;
    rm_progress_start(&prog, "relevance", "img", (size_t)j->n);
    rm_progress_resume(&prog, (size_t)done);   /* the rate counts this run's records */
    double sum_gap = 0;
    int64_t explained_count = 0;
    /* Under mpirun, each round gives rank r the block that one process
     * would explain r-th from here: the same blocks, so the same heatmaps,
     * and the file always holds a prefix of the records. */
    const int ranks = rm_ranks_size(), rank = rm_ranks_rank();
    for (int rounds = 0; done < j->n; rounds++) {
        if (c->stop_after && rounds == c->stop_after) {
            rm_progress_finish(&prog);
            if (!c->quiet)
                rm_log("%s: stopped after %d blocks (%lld of %lld records); continue with --resume", c->out_path,
                       rounds * ranks, (long long)done, (long long)j->n);
            rm_relevance_writer_close_partial(w);
            j->stopped = 1;
            return 0;
        }
        int64_t round = (int64_t)c->batch * ranks, end = j->n - done < round ? j->n : done + round;
        int64_t at = done + (int64_t)rank * c->batch;
        if (at > end) at = end;
        int64_t n = end - at < c->batch ? end - at : c->batch;
        rm_relevance_block blk = {.n = n, .index = j->block_index, .label = j->label, .explained = j->explained,
                                  .predicted = j->predicted, .score = j->score, .heatmap = j->heat,
                                  .channels = j->chan};
        int rc = n > 0 ? explain_block(j, at, n) : 0;
        if (rc != 0) rm_error_prefix("record %lld", (long long)j->indices[at]);
        rc = rm_ranks_agree(rc);
        if (rc == 0) {   /* the note promises what the partial file holds */
            rm_output_hold_signals();
            rc = rm_relevance_writer_write_at(w, &blk, at, end);
            if (rc == 0) set_interrupt_note(end, j->n);
            rm_output_release_signals();
        }
        if (rc != 0) {
            rm_progress_finish(&prog);
            return fail_partial(w, done);
        }
        /* how far LRP's heatmaps are from summing to the explained logit
         * (this rank's records) */
        size_t hw = (size_t)j->ds.height * (size_t)j->ds.width;
        for (int64_t i = 0; i < n && !j->occ; i++) {
            double s = 0;
            for (size_t p = 0; p < hw; p++) s += j->heat[(size_t)i * hw + p];
            sum_gap += fabs(s - j->score[i]) / (fabs(j->score[i]) + 1e-12);
            explained_count++;
        }
        done = end;
        if (explained_count)
            snprintf(prog.note, sizeof prog.note, "mean |sum-logit|/|logit| %.3g", sum_gap / (double)explained_count);
        rm_progress_update(&prog, (size_t)done);
    }
    rm_progress_finish(&prog);
    return rm_relevance_writer_finish(w);
}

int rm_relevance_run(const rm_relevance_config *cfg)
{
    RM_TRY(check_config(cfg));
    rm_h5_init();
    relevance_job j;
    memset(&j, 0, sizeof j);
    j.cfg = cfg;
    j.ds.hfile = -1;
    int rc = rm_ranks_agree(job_prepare(&j));
    char seen[512];
    snprintf(seen, sizeof seen, "%s, fingerprint %s", cfg->data_path, j.data_fp);
    if (rc == 0) rc = rm_ranks_check_same(seen, "dataset");
    snprintf(seen, sizeof seen, "%s, fingerprint %s", cfg->model_path ? cfg->model_path : "", j.model_fp);
    if (rc == 0 && cfg->model_path) rc = rm_ranks_check_same(seen, "model");
    if (rc == 0) rc = run_job(&j);
    rm_output_set_signal_note(NULL);
    if (rc == 0 && !j.stopped && !cfg->quiet)
        rm_log("%s: %lld heatmaps (%s%s%s)", cfg->out_path, (long long)j.n, method_names[cfg->method],
               j.occ ? "" : ", ", j.occ ? "" : cfg->composite);
    job_free(&j);
    return rc;
}
