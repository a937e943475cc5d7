/* relmask info FILE...: a human summary of any relmask HDF5 file. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/dataset.h"
#include "core/error.h"
#include "core/file_schema.h"
#include "core/h5util.h"
#include "core/relevance_file.h"
#include "core/resume_command.h"
#include "nn/model_file.h"
#include "train/predict.h"
#include "train/train.h"

typedef struct {
    long long record;   /* --record N: one dataset record (-1: none) */
} info_options;
#define CLI_TARGET info_options

/* Prints an attribute unless ctx (a NULL-terminated list) names it as shown
 * elsewhere in the summary. */
static void print_attr(const char *name, const char *text, void *ctx)
{
    const char *const *shown_elsewhere = ctx;
    for (int i = 0; shown_elsewhere[i]; i++)
        if (!strcmp(name, shown_elsewhere[i])) return;
    /* Multi-line values (ingest parameters) are indented under the name. */
    printf("  %-22s ", name);
    for (const char *p = text; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1]) printf("  %-22s ", "");
    }
    if (!*text || text[strlen(text) - 1] != '\n') putchar('\n');
}

static void print_counts(const rm_dataset *ds)
{
    size_t *counts = calloc((size_t)ds->num_classes * RM_SPLIT_COUNT, sizeof *counts);
    if (!counts) return;
    for (size_t i = 0; i < ds->count; i++) counts[(size_t)ds->labels[i] * RM_SPLIT_COUNT + ds->split[i]]++;
    int width = 12;
    for (int c = 0; c < ds->num_classes; c++)
        if ((int)strlen(ds->class_names[c]) > width) width = (int)strlen(ds->class_names[c]);
    printf("records per class and split:\n  %-*s %8s %8s %8s %8s\n", width, "class", "train", "val", "test",
           "total");
    size_t totals[RM_SPLIT_COUNT] = {0};
    for (int c = 0; c < ds->num_classes; c++) {
        size_t *row = counts + (size_t)c * RM_SPLIT_COUNT;
        printf("  %-*s %8zu %8zu %8zu %8zu\n", width, ds->class_names[c], row[0], row[1], row[2],
               row[0] + row[1] + row[2]);
        for (int s = 0; s < RM_SPLIT_COUNT; s++) totals[s] += row[s];
    }
    printf("  %-*s %8zu %8zu %8zu %8zu\n", width, "total", totals[0], totals[1], totals[2], ds->count);
    free(counts);
}

/* Where the split came from: the input's own (FER2013's Usage column, IDX
 * test files, train/val/test folders), or drawn with --val/--test/--seed;
 * the fractions are printed only for the records they applied to. Returns
 * 1 when the file has the counts (older datasets lack them; their split
 * attributes are then printed as they are). */
static int print_split_origin(hid_t f)
{
    int64_t given, pooled, drawn, seed;
    double val, test;
    if (!rm_h5_attr_exists(f, "split_records_given") || rm_h5_attr_get_int(f, "split_records_given", &given) ||
        rm_h5_attr_get_int(f, "split_records_pooled", &pooled) ||
        rm_h5_attr_get_int(f, "split_records_drawn", &drawn) || rm_h5_attr_get_double(f, "split_val_fraction", &val) ||
        rm_h5_attr_get_double(f, "split_test_fraction", &test) || rm_h5_attr_get_int(f, "split_seed", &seed))
        return 0;
    /* a subset's or an encoded copy's records have the splits that made them */
    char *format = NULL;
    if (rm_h5_attr_exists(f, "source_format") && rm_h5_attr_get_string(f, "source_format", &format) != 0)
        rm_error_clear();
    const char *from = format && !strcmp(format, "subset")    ? "as subset drew them (subset_parameters)"
                       : format && !strcmp(format, "encoded") ? "as in the dataset encoded (source_path)"
                                                              : "as the input split them";
    printf("split:");
    const char *sep = " ";
    if (given) printf("%s%lld records %s", sep, (long long)given, from), sep = "; ";
    free(format);
    if (pooled)
        printf("%s%lld training records split into train/val (val fraction %g, seed %lld)", sep, (long long)pooled,
               val, (long long)seed), sep = "; ";
    if (drawn)
        printf("%s%lld records split into train/val/test (val %g, test %g, seed %lld)", sep, (long long)drawn, val,
               test, (long long)seed);
    printf("\n");
    return 1;
}

static int info_dataset(const char *path)
{
    rm_dataset ds;
    RM_TRY(rm_dataset_open_unlabeled_ok(&ds, path));
    printf("%s\n", path);
    printf("schema: %s version %d\n", RM_DATASET_SCHEMA, RM_DATASET_SCHEMA_VERSION);
    static const char *const kinds[RM_DATASET_MAX_CHANNELS + 1] = {
        "", "grayscale", "grayscale + relevance channel", "RGB", "RGB + relevance channel"};
    printf("images: uint8 [%zu, %d, %d, %d] (N, C, H, W), %s\n", ds.count, ds.channels, ds.height, ds.width,
           kinds[ds.channels]);
    printf("regions: %s\n", ds.has_regions ? "yes, uint8 [N, H, W] expression-region masks" : "no");
    if (ds.unlabeled)
        printf("labels: none, unlabeled (ingest --unlabeled): every label is -1 and all %zu records are in split "
               "'unlabeled'; predict, relevance --target pred/all/top:K/contrast and heatmap work on it, commands "
               "that need labels refuse it\n", ds.count);
    printf("classes (%d):", ds.num_classes);
    for (int c = 0; c < ds.num_classes; c++) printf(" %d=%s", c, ds.class_names[c]);
    if (ds.unlabeled && ds.num_classes == 0) printf(" none named (predict and relevance take the model's)");
    else if (ds.unlabeled) printf(" (names only, to match a model's)");
    printf("\n");
    if (!ds.unlabeled) print_counts(&ds);
    int explained = print_split_origin((hid_t)ds.hfile);
    printf("provenance:\n");
    static const char *const shown[] = {"schema", "schema_version", "class_names", "num_classes", "split_names", NULL};
    static const char *const shown_split[] = {"schema", "schema_version", "class_names", "num_classes", "split_names",
                                              "split_records_given", "split_records_pooled", "split_records_drawn",
                                              "split_val_fraction", "split_test_fraction", "split_seed", NULL};
    int rc = rm_h5_attr_visit((hid_t)ds.hfile, print_attr, (void *)(explained ? shown_split : shown));
    rm_dataset_close(&ds);
    return rc;
}

static void print_classes(int count, char *const *names)
{
    printf("classes (%d):", count);
    for (int c = 0; c < count; c++) printf(" %d=%s", c, names[c]);
    printf("\n");
}

/* --- models ------------------------------------------------------------------ */

static void print_history_row(const rm_epoch_record *r, int best, int encoded)
{
    printf("  %5d%c %10.4f %9.4f %10.4f %9.4f %8.1f", r->epoch, best ? '*' : ' ', r->train_loss, r->train_acc,
           r->val_loss, r->val_acc, r->seconds);
    if (encoded) printf(" %8.3f", r->encoded_share);
    printf("\n");
}

/* Every epoch up to 20, else the first and last 8 around an ellipsis; the
 * share of encoded training samples when any epoch had some. */
static void print_history(const rm_model *m)
{
    int n = m->num_epochs, head = n <= 20 ? n : 8, encoded = 0;
    for (int e = 0; e < n; e++) encoded |= m->history[e].encoded_share > 0;
    printf("history (%d epoch%s, * best):\n  %5s  %10s %9s %10s %9s %8s%s\n", n, n == 1 ? "" : "s", "epoch",
           "train loss", "train acc", "val loss", "val acc", "seconds", encoded ? "  encoded" : "");
    for (int e = 0; e < head; e++)
        print_history_row(&m->history[e], m->history[e].epoch == m->best_epoch, encoded);
    if (head == n) return;
    printf("  %6s\n", "...");
    for (int e = n - 8; e < n; e++) print_history_row(&m->history[e], m->history[e].epoch == m->best_epoch, encoded);
}

static void print_indented(const char *title, const char *text)
{
    printf("%s:\n", title);
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        int len = end ? (int)(end - p) : (int)strlen(p);
        if (len) printf("  %.*s\n", len, p);
        p += len + (end != NULL);
    }
}

/* A checkpoint says how far its run got; a model file whose history is
 * shorter than its --epochs is the best-so-far model of a run that was
 * interrupted (or stopped with --stop-after), and says whether the
 * checkpoint to continue it is still beside it. */
static void print_checkpoint(hid_t f, const char *path, const rm_model *m)
{
    int64_t done = 0, step = 0;
    if (rm_h5_attr_exists(f, "checkpoint_epochs_done") && !rm_h5_attr_get_int(f, "checkpoint_epochs_done", &done) &&
        !rm_h5_attr_get_int(f, "checkpoint_optimizer_step", &step)) {
        printf("checkpoint: yes, %lld epoch%s done, optimizer step %lld: the latest weights and the optimizer\n"
               "            state; continue the run with relmask train --resume\n", (long long)done,
               done == 1 ? "" : "s", (long long)step);
        return;
    }
    rm_error_clear();
    int epochs = rm_model_planned_epochs(m);
    if (m->num_epochs == 0 || epochs <= m->num_epochs) {
        printf("checkpoint: no (a finished model: the weights of the best epoch)\n");
        return;
    }
    printf("checkpoint: no; an incomplete run: %d of %d epochs (the weights of the best epoch so far)\n",
           m->num_epochs, epochs);
    char ckpt[PATH_MAX];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", path);
    FILE *probe = fopen(ckpt, "rb");
    if (!probe) {
        printf("            no checkpoint beside it (%s): the run cannot be continued; train again\n", ckpt);
        return;
    }
    fclose(probe);
    char *command = NULL;
    if (rm_h5_attr_get_string(f, "command_line", &command) != 0) rm_error_clear();
    if (command && *command) {
        char resume[4096 + 16];
        rm_resume_command(resume, sizeof resume, command);
        printf("            a checkpoint exists (%s); continue the run with the same command plus --resume:\n"
               "              %s\n", ckpt, resume);
    } else
        printf("            a checkpoint exists (%s); continue the run with relmask train ... --resume\n", ckpt);
    free(command);
}

static void print_model(const rm_model *m, const char *net_name)
{
    const rm_shape *in = &m->def.input;
    printf("network: %s, %d layers, %lld parameters, %.3g MFLOP per image\n", net_name, m->def.num_layers,
           (long long)rm_netdef_params(&m->def), (double)rm_netdef_flops(&m->def) / 1e6);
    printf("input: float32 [%d, %d, %d] (C, H, W), x' = (x/255 - mean) / std with mean", in->c, in->h, in->w);
    for (int c = 0; c < m->channels; c++) printf(" %.4f", m->norm_mean[c]);
    printf(", std");
    for (int c = 0; c < m->channels; c++) printf(" %.4f", m->norm_std[c]);
    printf("\n");
    print_classes(m->num_classes, m->class_names);
    cli_print_layers(&m->def);
    if (m->num_epochs == 0 && m->train_params && strstr(m->train_params, "imported_from=")) {
        printf("trained: elsewhere, imported (no relmask training history)\n");
        print_indented("import", m->train_params);
        return;
    }
    printf("best: epoch %d, val accuracy %.4f\n", m->best_epoch, m->best_val_acc);
    printf("trained on: %s (dataset fingerprint %s)\n", m->dataset_path, m->dataset_fingerprint);
    print_history(m);
    print_indented("training parameters", m->train_params);
}

static int info_model(const char *path)
{
    rm_model m;
    RM_TRY(rm_model_load(&m, path));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int rc = f < 0 ? rm_h5_error("%s: cannot open HDF5 file", path) : 0;
    char *net_name = NULL;
    if (rc == 0 && rm_h5_attr_get_string(f, "net_name", &net_name) != 0) rc = rm_error_prefix("%s", path);
    if (rc == 0) {
        printf("%s\nschema: %s version %d\n", path, RM_MODEL_SCHEMA, RM_MODEL_SCHEMA_VERSION);
        print_model(&m, net_name);
        print_checkpoint(f, path, &m);
        printf("provenance:\n");
        static const char *const shown[] = {
            "schema", "schema_version", "class_names", "num_classes", "net_name", "net_text", "input_shape",
            "normalization_mean", "normalization_std", "training_parameters", "dataset_path",
            "dataset_fingerprint", "best_epoch", "best_val_accuracy", "checkpoint_epochs_done",
            "checkpoint_optimizer_step", NULL};
        rc = rm_h5_attr_visit(f, print_attr, (void *)shown);
    }
    free(net_name);
    if (f >= 0) H5Fclose(f);
    rm_model_free(&m);
    return rc;
}

/* --- predictions ------------------------------------------------------------- */

static int info_predictions(const char *path)
{
    rm_predictions_summary p;
    RM_TRY(rm_predictions_summarize(path, &p));
    printf("%s\nschema: %s version %d\n", path, RM_PREDICTIONS_SCHEMA, RM_PREDICTIONS_SCHEMA_VERSION);
    printf("records: %lld (split: %s); logits and probabilities float32 [%lld, %lld]\n", p.count, p.split,
           p.count, p.classes);
    print_classes(p.num_classes, p.class_names);
    if (p.labeled == 0)
        printf("accuracy: none (the records are unlabeled: /labels is -1)\n");
    else
        printf("accuracy: %.4f (%lld of %lld predicted classes match the labels)\n",
               (double)p.correct / (double)p.labeled, p.correct, p.labeled);
    rm_predictions_summary_free(&p);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return rm_h5_error("%s: cannot open HDF5 file", path);
    printf("provenance:\n");
    static const char *const shown[] = {"schema", "schema_version", "class_names", "num_classes", "split", NULL};
    int rc = rm_h5_attr_visit(f, print_attr, (void *)shown);
    H5Fclose(f);
    return rc ? rm_error_prefix("%s", path) : 0;
}

/* --- relevance files --------------------------------------------------------- */

static int info_relevance(const char *path)
{
    rm_relevance r;
    RM_TRY(rm_relevance_open(&r, path));
    printf("%s\nschema: %s version %d\n", path, RM_RELEVANCE_SCHEMA, RM_RELEVANCE_SCHEMA_VERSION);
    printf("method: %s\n", r.method ? r.method : "?");
    printf("heatmap: float32 [%lld, %d, %d] (N, H, W), summed over %d input channel%s; heatmap_image: uint8 with "
           "the blue-white-red palette\n", (long long)r.count, r.height, r.width, r.channels, r.channels == 1 ? "" : "s");
    printf("per-channel relevance: %s\n", r.has_channels ? "yes, float32 [N, C, H, W]" : "no");
    print_classes(r.num_classes, r.class_names);
    int64_t agree = 0, positive = 0, with_pred = 0;
    double sum_gap = 0;
    for (int64_t i = 0; i < r.count; i++) {
        if (r.predicted[i] >= 0 && r.label[i] >= 0) {   /* label -1: an unlabeled record */
            with_pred++;
            agree += r.predicted[i] == r.label[i];
        }
        positive += r.sum[i] > 0;
        if (r.score_kind && !strcmp(r.score_kind, "logit"))
            sum_gap += fabs(r.sum[i] - r.score[i]) / (fabs(r.score[i]) + 1e-12);
    }
    printf("records: %lld explained (dataset indices %lld..%lld); heatmap sum > 0 for %lld\n", (long long)r.count,
           (long long)r.index[0], (long long)r.index[r.count - 1], (long long)positive);
    if (with_pred) printf("model accuracy on these records: %.4f\n", (double)agree / (double)with_pred);
    else if (r.count > 0 && r.label[0] < 0) printf("model accuracy on these records: none (unlabeled records)\n");
    if (r.score_kind && !strcmp(r.score_kind, "logit"))
        printf("conservation: mean |heatmap sum - logit| / |logit| = %.3g\n"
               "  (0: each heatmap sums to the logit it explains; the layers' biases and the epsilon stabilizer\n"
               "  take a share, so a few tenths is usual for networks with biases; docs/relevance.md, Conservation)\n",
               sum_gap / (double)r.count);
    printf("attributes:\n");
    static const char *const shown[] = {"schema", "schema_version", "class_names", "num_classes", NULL};
    int rc = rm_h5_attr_visit((hid_t)r.hfile, print_attr, (void *)shown);
    rm_relevance_close(&r);
    return rc;
}

/* Any file: dispatch on the schema attribute. */
static int info_file(const char *path)
{
    char *schema;
    RM_TRY(rm_file_schema(path, &schema));
    int rc;
    if (!strcmp(schema, RM_DATASET_SCHEMA)) rc = info_dataset(path);
    else if (!strcmp(schema, RM_MODEL_SCHEMA)) rc = info_model(path);
    else if (!strcmp(schema, RM_PREDICTIONS_SCHEMA)) rc = info_predictions(path);
    else if (!strcmp(schema, RM_RELEVANCE_SCHEMA)) rc = info_relevance(path);
    else rc = rm_error("%s: unknown relmask schema '%s'", path, schema);
    free(schema);
    return rc;
}

static const cli_option options[] = {
    CLI_OPT_LLONG('r', "record", "N", record, 0, 1LL << 50, "show dataset record N: its label, split and\n"
                "source (a dataset), or what was explained and\n"
                "its heatmap's sums (a relevance file)"),
    CLI_END,
};

static const char *class_name(const rm_relevance *r, int32_t c)
{
    return c >= 0 && c < r->num_classes ? r->class_names[c] : "none";
}

/* A dataset record's entry in a relevance file (/index maps entries to
 * records): what was explained, the score, and its heatmap's sums. */
static int info_relevance_record(const char *path, long long record)
{
    rm_relevance r;
    RM_TRY(rm_relevance_open(&r, path));
    int64_t e = 0;
    while (e < r.count && r.index[e] != record) e++;
    int rc = 0;
    float *heat = NULL;
    if (e == r.count) {
        rc = rm_error("%s: --record %lld: no heatmap of that dataset record; the file explains %lld records "
                      "(dataset indices %lld..%lld, in /index)", path, record, (long long)r.count,
                      (long long)r.index[0], (long long)r.index[r.count - 1]);
    } else {
        size_t hw = (size_t)r.height * (size_t)r.width;
        heat = rm_malloc(hw * sizeof *heat, "heatmap");
        rc = heat ? rm_relevance_read_heatmaps(&r, e, 1, heat) : -1;
        double pos = 0, neg = 0;
        for (size_t p = 0; rc == 0 && p < hw; p++) {
            if (heat[p] > 0) pos += heat[p];
            else neg -= heat[p];
        }
        if (rc == 0) {
            printf("%s record %lld (entry %lld): label %d (%s), predicted %d (%s), explained %d (%s), %s %.6g\n",
                   path, record, (long long)e, r.label[e], r.label[e] < 0 ? "unlabeled" : class_name(&r, r.label[e]),
                   r.predicted[e], class_name(&r, r.predicted[e]), r.explained[e],
                   r.explained[e] < 0 ? "several classes: see explained_classes" : class_name(&r, r.explained[e]),
                   r.score_kind ? r.score_kind : "score", r.score[e]);
            printf("  heatmap sum %.6g: positive %.6g, negative %.6g (%.1f%% of the absolute mass positive)\n",
                   r.sum[e], pos, -neg, pos + neg > 0 ? 100.0 * pos / (pos + neg) : 0.0);
        }
    }
    free(heat);
    rm_relevance_close(&r);
    return rc;
}

/* One record of a dataset (its label, split and /source) or of a relevance
 * file. */
static int info_record(const char *path, long long record)
{
    char *schema;
    RM_TRY(rm_file_schema(path, &schema));
    int relevance = !strcmp(schema, RM_RELEVANCE_SCHEMA);
    free(schema);
    if (relevance) return info_relevance_record(path, record);
    rm_dataset ds;
    RM_TRY(rm_dataset_open_unlabeled_ok(&ds, path));
    int rc = 0;
    if ((size_t)record >= ds.count) {
        rc = rm_error("%s: --record %lld: the dataset has records 0..%zu", path, record, ds.count - 1);
    } else {
        char source[4096];
        rc = rm_dataset_read_source(&ds, (size_t)record, source, sizeof source);
        if (rc == 0)
            printf("%s record %lld: label %d (%s), split %s, source %s\n", path, record, ds.labels[record],
                   ds.unlabeled ? "unlabeled" : ds.class_names[ds.labels[record]], rm_split_label(ds.split[record]),
                   ds.has_source ? source : "not recorded (generated data, or written before relmask kept sources)");
    }
    rm_dataset_close(&ds);
    return rc;
}

static const cli_command command = {
    .name = "info",
    .usage = "usage: relmask info [--record N] FILE.h5...\n"
             "\n"
             "Prints a summary of relmask files and their provenance (inputs, parameters,\n"
             "tool version):\n"
             "  datasets     shapes, classes, record counts per split and class\n"
             "  models       network, input shape, classes, parameter count, normalization,\n"
             "               best epoch, training history and parameters, the dataset\n"
             "               trained on, and whether the file is a checkpoint\n"
             "  predictions  shape, split, classes, accuracy of the predicted classes\n"
             "  relevance    method, classes, records explained, the model's accuracy on\n"
             "               them, conservation\n"
             "Exits 1 with a message if a file is not a relmask file.\n",
    .options = options,
    .max_args = INT_MAX,
};

int cmd_info(int argc, char **argv)
{
    info_options o = {.record = -1};
    int done, first, rc = cli_parse(&command, argc, argv, &o, &done, &first);
    if (rc != RM_EXIT_OK || done) return rc;
    if (first >= argc) return cli_usage_error("info", "expected at least one FILE.h5");
    for (int i = first; i < argc; i++) {
        if (o.record >= 0) {
            if (info_record(argv[i], o.record) != 0) return cli_runtime_error();
            continue;
        }
        if (i > first) putchar('\n');
        if (info_file(argv[i]) != 0) return cli_runtime_error();
    }
    return RM_EXIT_OK;
}
