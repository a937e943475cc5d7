/* relmask relevance --model M.h5 --data D.h5 --out R.h5: a heatmap for every
 * selected record, streamed to a relevance file (schema relmask.relevance)
 * in blocks, resumable. `relmask relevance import ...` brings in external
 * maps (cmd_relevance_import.c). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "relevance/lrp.h"
#include "train/loader.h"
#include "nn/model_file.h"
#include "relevance/occlusion.h"
#include "core/progress.h"
#include "core/relevance_file.h"
#include "train/train.h"

static const char help[] =
    "usage: relmask relevance --model M.h5 --data D.h5 --out R.h5 [options]\n"
    "       relmask relevance import --help\n"
    "\n"
    "Explains a model's decisions: one relevance map (heatmap) per record of a\n"
    "dataset, written to a relevance file (schema relmask.relevance, see\n"
    "docs/formats.md) in blocks, so an interrupted run continues with --resume.\n"
    "Under conservative rules a heatmap sums to the explained logit.\n"
    "\n"
    "what is explained:\n"
    "  -m, --model FILE       model file (relmask train)\n"
    "  -d, --data FILE        dataset with the model's input shape and classes\n"
    "  -o, --out FILE         relevance file\n"
    "  -s, --split NAME       all (default), train, val or test\n"
    "      --start I          skip the first I records of the split (0)\n"
    "      --count N          explain at most N records (all)\n"
    "  -T, --target WHAT      pred (the predicted class, default), true (the\n"
    "                         label) or a class name or index\n"
    "\n"
    "LRP (--method lrp, the default; docs/relevance.md):\n"
    "  -c, --composite NAME   epsilon-plus-flat (default: flat first layer, z+\n"
    "                         convolutions, epsilon dense), epsilon-gamma-box,\n"
    "                         epsilon, alpha2-beta1, epsilon-plus\n"
    "  -r, --rule LAYER=RULE  override a layer's rule (repeatable; LAYER may end\n"
    "                         in '*'): zero, epsilon, zplus, alphaA-betaB, gamma,\n"
    "                         wsquare, flat, zbox\n"
    "      --eps E            epsilon of the epsilon rule (1e-6)\n"
    "      --gamma G          gamma of the gamma rule (0.25)\n"
    "      --ignore-bias      biases take no part in the rules\n"
    "      --channels         also store the per-channel relevance [N,C,H,W]\n"
    "\n"
    "occlusion (--method occlusion; needs only class probabilities):\n"
    "      --patch P          occluding square patch, pixels (8)\n"
    "      --stride S         patch step, pixels (4)\n"
    "      --baseline V       fill: a pixel value 0..255 or 'mean' (the train\n"
    "                         split's mean pixel, default)\n"
    "      --predict-cmd CMD  an external model instead of --model: CMD reads a\n"
    "                         batch {in} (NPY uint8 [n,C,H,W]) and writes {out}\n"
    "                         (NPY float [n,K] probabilities); see\n"
    "                         docs/relevance.md and examples/external-model\n"
    "\n"
    "running:\n"
    "  -M, --method NAME      lrp (default) or occlusion\n"
    "  -b, --batch N          images per pass (64)\n"
    "      --resume           continue the partial file an interrupted run left\n"
    "      --stop-after N     stop after N blocks of this run, keeping the partial\n"
    "                         file for --resume (time-sliced runs)\n"
    "  -f, --force            overwrite an existing relevance file\n"
    "  -t, --threads N        threads (0 = all cores)\n"
    "  -q, --quiet            no progress or summary\n"
    "\n"
    "The file is written as a hidden partial file beside --out and renamed when\n"
    "complete; an existing file is left as it was on any error. Exit codes:\n"
    "0 ok, 1 error, 2 usage error.\n";

enum { MAX_RULES = 64 };

typedef struct {
    const char *model_path, *data_path, *out_path, *method, *composite, *target, *predict_cmd, *baseline;
    const char *rules[MAX_RULES];
    int num_rules;
    double eps, gamma;
    int ignore_bias, split, channels, batch, force, resume, patch, stride, stop_after;
    long long start, count;
} relevance_args;

enum {
    OPT_START = 1000, OPT_COUNT, OPT_EPS, OPT_GAMMA, OPT_IGNORE_BIAS, OPT_CHANNELS, OPT_PATCH, OPT_STRIDE,
    OPT_BASELINE, OPT_PREDICT_CMD, OPT_RESUME, OPT_STOP_AFTER
};

static int parse(int argc, char **argv, relevance_args *a, int *done)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},          {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},    {"out", required_argument, NULL, 'o'},
        {"split", required_argument, NULL, 's'},   {"start", required_argument, NULL, OPT_START},
        {"count", required_argument, NULL, OPT_COUNT}, {"target", required_argument, NULL, 'T'},
        {"composite", required_argument, NULL, 'c'}, {"rule", required_argument, NULL, 'r'},
        {"eps", required_argument, NULL, OPT_EPS}, {"gamma", required_argument, NULL, OPT_GAMMA},
        {"ignore-bias", no_argument, NULL, OPT_IGNORE_BIAS}, {"channels", no_argument, NULL, OPT_CHANNELS},
        {"patch", required_argument, NULL, OPT_PATCH}, {"stride", required_argument, NULL, OPT_STRIDE},
        {"baseline", required_argument, NULL, OPT_BASELINE},
        {"predict-cmd", required_argument, NULL, OPT_PREDICT_CMD},
        {"method", required_argument, NULL, 'M'},  {"batch", required_argument, NULL, 'b'},
        {"resume", no_argument, NULL, OPT_RESUME}, {"stop-after", required_argument, NULL, OPT_STOP_AFTER},
        {"force", no_argument, NULL, 'f'},
        {"threads", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    long v;
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hm:d:o:s:T:c:r:M:b:ft:q", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'm': a->model_path = optarg; break;
        case 'd': a->data_path = optarg; break;
        case 'o': a->out_path = optarg; break;
        case 's':
            if (rm_split_parse(optarg, &a->split) != 0)
                return cli_usage_error("relevance", "--split: %s", rm_error_message());
            break;
        case OPT_START:
            if (cli_parse_int("relevance", "--start", optarg, 0, 1L << 40, &v)) return RM_EXIT_USAGE;
            a->start = v;
            break;
        case OPT_COUNT:
            if (cli_parse_int("relevance", "--count", optarg, 1, 1L << 40, &v)) return RM_EXIT_USAGE;
            a->count = v;
            break;
        case 'T': a->target = optarg; break;
        case 'c': a->composite = optarg; break;
        case 'r':
            if (a->num_rules == MAX_RULES) return cli_usage_error("relevance", "more than %d --rule options", MAX_RULES);
            a->rules[a->num_rules++] = optarg;
            break;
        case OPT_EPS:
            if (cli_parse_double("relevance", "--eps", optarg, 0, 1e6, &a->eps)) return RM_EXIT_USAGE;
            break;
        case OPT_GAMMA:
            if (cli_parse_double("relevance", "--gamma", optarg, 0, 1e6, &a->gamma)) return RM_EXIT_USAGE;
            break;
        case OPT_IGNORE_BIAS: a->ignore_bias = 1; break;
        case OPT_CHANNELS: a->channels = 1; break;
        case OPT_PATCH:
            if (cli_parse_int("relevance", "--patch", optarg, 1, 4096, &v)) return RM_EXIT_USAGE;
            a->patch = (int)v;
            break;
        case OPT_STRIDE:
            if (cli_parse_int("relevance", "--stride", optarg, 1, 4096, &v)) return RM_EXIT_USAGE;
            a->stride = (int)v;
            break;
        case OPT_BASELINE: a->baseline = optarg; break;
        case OPT_PREDICT_CMD: a->predict_cmd = optarg; break;
        case 'M': a->method = optarg; break;
        case 'b':
            if (cli_parse_int("relevance", "--batch", optarg, 1, 4096, &v)) return RM_EXIT_USAGE;
            a->batch = (int)v;
            break;
        case OPT_RESUME: a->resume = 1; break;
        case OPT_STOP_AFTER:
            if (cli_parse_int("relevance", "--stop-after", optarg, 1, 1L << 30, &v)) return RM_EXIT_USAGE;
            a->stop_after = (int)v;
            break;
        case 'f': a->force = 1; break;
        case 't':
            if (cli_parse_int("relevance", "--threads", optarg, 0, 4096, &v)) return RM_EXIT_USAGE;
            cli_set_threads(v);
            break;
        case 'q':
            rm_log_set_quiet(1);
            rm_progress_set_quiet(1);
            break;
        default: return cli_bad_option("relevance", ch, argv);
        }
    }
    if (optind < argc) return cli_usage_error("relevance", "unexpected argument '%s'", argv[optind]);
    if (strcmp(a->method, "lrp") != 0 && strcmp(a->method, "occlusion") != 0)
        return cli_usage_error("relevance", "--method '%s': expected lrp or occlusion", a->method);
    int lrp = !strcmp(a->method, "lrp");
    if (lrp && (a->predict_cmd || a->patch || a->stride || a->baseline))
        return cli_usage_error("relevance", "--patch, --stride, --baseline and --predict-cmd need --method occlusion");
    if (!lrp && (a->composite || a->num_rules || a->eps >= 0 || a->gamma >= 0 || a->ignore_bias || a->channels))
        return cli_usage_error("relevance", "--composite, --rule, --eps, --gamma, --ignore-bias and --channels "
                                            "need --method lrp");
    if (!a->model_path && !a->predict_cmd)
        return cli_usage_error("relevance", lrp ? "--model FILE is required" : "--model FILE or --predict-cmd CMD is required");
    if (a->model_path && a->predict_cmd)
        return cli_usage_error("relevance", "--model and --predict-cmd exclude each other");
    if (!a->data_path) return cli_usage_error("relevance", "--data FILE is required");
    if (!a->out_path) return cli_usage_error("relevance", "--out FILE is required");
    if (a->patch && a->stride > a->patch)
        return cli_usage_error("relevance", "--stride %d is larger than --patch %d: pixels would be skipped",
                               a->stride, a->patch);
    return RM_EXIT_OK;
}

/* "pred" -> -1, "true" -> -2, a class name or index -> the class. */
static int parse_target(const char *text, char *const *names, int k, int *target)
{
    if (!text || !strcmp(text, "pred")) return *target = -1, 0;
    if (!strcmp(text, "true")) return *target = -2, 0;
    for (int i = 0; i < k; i++)
        if (!strcmp(text, names[i])) return *target = i, 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (*text && !*end && v >= 0 && v < k) return *target = (int)v, 0;
    return rm_error("--target '%s': expected pred, true, a class index 0..%d or a class name", text, k - 1);
}

/* The records to explain: the split's indices, then --start/--count. */
static int select_records(const rm_dataset *ds, const relevance_args *a, int64_t **indices, int64_t *n)
{
    int64_t *idx = rm_malloc(sizeof *idx * (ds->count ? ds->count : 1), "record indices");
    if (!idx) return -1;
    int64_t m = 0;
    for (size_t i = 0; i < ds->count; i++)
        if (a->split < 0 || ds->split[i] == a->split) idx[m++] = (int64_t)i;
    if (a->start >= m) {
        free(idx);
        return rm_error("%s: --start %lld is past the %lld records of split %s", ds->path, a->start, (long long)m,
                        rm_split_label(a->split));
    }
    int64_t end = a->count > 0 && a->start + a->count < m ? a->start + a->count : m;
    memmove(idx, idx + a->start, sizeof *idx * (size_t)(end - a->start));
    *indices = idx;
    *n = end - a->start;
    return 0;
}

/* Reads records idx[0..n) (ascending) in as few HDF5 reads as the window
 * buffer allows: a block's records are read as one covering range. */
typedef struct {
    const rm_dataset *ds;
    size_t record_bytes;
    int64_t window_cap;
    uint8_t *window;         /* [window_cap, C,H,W] */
} record_reader;

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

/* "conv1=flat\nconv2=zplus\n..." for the parameters attribute. */
static int describe_rules(const rm_lrp_config *cfg, const rm_netdef *def, char *buf, size_t size)
{
    size_t at = 0;
    for (int i = 0; i < cfg->num_rules && i < def->num_layers; i++) {
        const rm_rule *r = &cfg->rules[i];
        if (r->kind == RM_RULE_PASS) continue;
        int w;
        if (r->kind == RM_RULE_ALPHABETA)
            w = snprintf(buf + at, size - at, "rule.%s=alpha%g-beta%g\n", def->layers[i].name, r->alpha, r->beta);
        else if (r->kind == RM_RULE_EPSILON)
            w = snprintf(buf + at, size - at, "rule.%s=epsilon(%g)\n", def->layers[i].name, r->eps);
        else if (r->kind == RM_RULE_GAMMA)
            w = snprintf(buf + at, size - at, "rule.%s=gamma(%g)\n", def->layers[i].name, r->gamma);
        else
            w = snprintf(buf + at, size - at, "rule.%s=%s\n", def->layers[i].name, rm_rule_names[r->kind]);
        if (w < 0 || (size_t)w >= size - at) return rm_error("rule description too long");
        at += (size_t)w;
    }
    return 0;
}

typedef struct {
    relevance_args *a;
    rm_dataset ds;
    rm_model model;
    int have_model;
    char model_fp[17], data_fp[17];
    int target;                       /* -1 pred, -2 true, else a class */
    int64_t *indices, n;
    rm_lrp_config cfg;
    rm_lrp *lrp;
    rm_predictor *pred;               /* occlusion */
    rm_occlusion *occ;
    float baseline_mean[4];
    /* per block, allocated once */
    uint8_t *images;                  /* [batch,C,H,W] */
    float *chan, *heat, *score;       /* [batch,C,H,W], [batch,H,W], [batch] */
    int32_t *explained, *predicted, *label, *targets;
    int64_t *block_index;
    record_reader reader;
    char params[8192];
    int stopped;
} relevance_job;

static void job_free(relevance_job *j)
{
    rm_occlusion_destroy(j->occ);
    rm_predictor_destroy(j->pred);
    rm_lrp_destroy(j->lrp);
    rm_lrp_config_free(&j->cfg);
    if (j->have_model) rm_model_free(&j->model);
    rm_dataset_close(&j->ds);
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
    size_t b = (size_t)j->a->batch, hw = (size_t)j->ds.height * (size_t)j->ds.width;
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
    return 0;
}

static int prepare_lrp(relevance_job *j)
{
    relevance_args *a = j->a;
    RM_TRY(rm_lrp_composite(&j->cfg, &j->model.def, a->composite, a->rules, a->num_rules, a->eps, a->gamma));
    j->cfg.ignore_bias = a->ignore_bias;
    char rules[4096];
    RM_TRY(describe_rules(&j->cfg, &j->model.def, rules, sizeof rules));
    int w = snprintf(j->params, sizeof j->params,
                     "method=lrp\ncomposite=%s\neps=%g\ngamma=%g\nignore_bias=%d\ntarget=%s\nsplit=%s\nstart=%lld\n"
                     "count=%lld\nchannels=%d\nmodel=%s\nmodel_fingerprint=%s\ndata=%s\ndata_fingerprint=%s\n%s",
                     a->composite, a->eps, a->gamma, a->ignore_bias, a->target ? a->target : "pred",
                     rm_split_label(a->split), a->start, (long long)j->n, a->channels, a->model_path, j->model_fp,
                     a->data_path, j->data_fp, rules);
    if (w < 0 || (size_t)w >= sizeof j->params) return rm_error("parameter description too long");
    return rm_lrp_create(&j->lrp, &j->model, a->batch, &j->cfg);
}

/* Occlusion with the model in-process or an external command; the fill is
 * a pixel value or the train split's mean pixel per channel. */
static int prepare_occlusion(relevance_job *j)
{
    relevance_args *a = j->a;
    rm_occlusion_config oc;
    rm_occlusion_config_defaults(&oc);
    if (a->patch) oc.patch = a->patch;
    if (a->stride) oc.stride = a->stride;
    if (oc.stride > oc.patch)
        return rm_error("--stride %d is larger than the patch (%d): pixels would be skipped", oc.stride, oc.patch);
    char baseline[64];
    if (!a->baseline || !strcmp(a->baseline, "mean")) {
        float mean[4], std[4];
        int split = RM_SPLIT_TRAIN;
        size_t train = 0;
        for (size_t i = 0; i < j->ds.count; i++) train += j->ds.split[i] == RM_SPLIT_TRAIN;
        if (!train) split = -1;
        RM_TRY(rm_dataset_channel_stats(&j->ds, split, mean, std));
        for (int c = 0; c < j->ds.channels; c++) j->baseline_mean[c] = 255.0f * mean[c];
        oc.baseline_mean = j->baseline_mean;
        snprintf(baseline, sizeof baseline, "mean(%s)", split < 0 ? "all" : "train");
    } else {
        char *end;
        double v = strtod(a->baseline, &end);
        if (*end || end == a->baseline || !(v >= 0 && v <= 255))
            return rm_error("--baseline '%s': expected a pixel value 0..255 or 'mean'", a->baseline);
        oc.baseline = v;
        snprintf(baseline, sizeof baseline, "%g", v);
    }
    if (a->predict_cmd)
        RM_TRY(rm_predictor_from_command(&j->pred, a->predict_cmd, j->ds.channels, j->ds.height, j->ds.width,
                                         j->ds.num_classes));
    else
        RM_TRY(rm_predictor_from_model(&j->pred, &j->model, 256));
    RM_TRY(rm_occlusion_create(&j->occ, j->pred, &oc, j->ds.channels, j->ds.height, j->ds.width));
    int w = snprintf(j->params, sizeof j->params,
                     "method=occlusion\npatch=%d\nstride=%d\nbaseline=%s\ntarget=%s\nsplit=%s\nstart=%lld\n"
                     "count=%lld\nmodel=%s\nmodel_fingerprint=%s\npredict_cmd=%s\ndata=%s\ndata_fingerprint=%s\n",
                     oc.patch, oc.stride, baseline, a->target ? a->target : "pred", rm_split_label(a->split),
                     a->start, (long long)j->n, a->model_path ? a->model_path : "", j->model_fp,
                     a->predict_cmd ? a->predict_cmd : "", a->data_path, j->data_fp);
    if (w < 0 || (size_t)w >= sizeof j->params) return rm_error("parameter description too long");
    return 0;
}

static int job_prepare(relevance_job *j)
{
    relevance_args *a = j->a;
    RM_TRY(rm_dataset_open(&j->ds, a->data_path));
    rm_dataset_fingerprint(j->data_fp, (int64_t)j->ds.count, j->ds.channels, j->ds.height, j->ds.width,
                           j->ds.labels, j->ds.split);
    if (a->model_path) {
        RM_TRY(rm_model_load(&j->model, a->model_path));
        j->have_model = 1;
        RM_TRY(rm_model_check_dataset(&j->model, a->model_path, &j->ds));
        rm_model_fingerprint(j->model_fp, &j->model);
    }
    RM_TRY(parse_target(a->target, j->ds.class_names, j->ds.num_classes, &j->target));
    RM_TRY(select_records(&j->ds, a, &j->indices, &j->n));
    RM_TRY(job_allocate(j));
    return !strcmp(a->method, "lrp") ? prepare_lrp(j) : prepare_occlusion(j);
}

/* Normalizes the block's images into the LRP input (unused rows zero). */
static void fill_input(relevance_job *j, int64_t n)
{
    float *in = rm_lrp_input(j->lrp);
    int c = j->ds.channels;
    size_t hw = (size_t)j->ds.height * (size_t)j->ds.width, chw = hw * (size_t)c;
    float scale[4], shift[4];
    for (int k = 0; k < c; k++) {
        scale[k] = (float)(1.0 / (255.0 * j->model.norm_std[k]));
        shift[k] = (float)(-j->model.norm_mean[k] / j->model.norm_std[k]);
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < c; k++) {
            const uint8_t *src = j->images + (size_t)i * chw + (size_t)k * hw;
            float *dst = in + (size_t)i * chw + (size_t)k * hw;
            for (size_t p = 0; p < hw; p++) dst[p] = (float)src[p] * scale[k] + shift[k];
        }
    memset(in + (size_t)n * chw, 0, sizeof *in * chw * (size_t)(j->a->batch - n));
}

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
    if (j->occ)
        return rm_occlusion_explain(j->occ, j->images, (int)n, j->targets, j->heat, j->explained, j->score,
                                    j->predicted);
    for (int64_t i = n; i < j->a->batch; i++) j->targets[i] = -1;
    fill_input(j, n);
    RM_TRY(rm_lrp_run(j->lrp, j->targets, j->chan, j->explained, j->score, j->predicted));
    int c = j->ds.channels;
    size_t hw = (size_t)j->ds.height * (size_t)j->ds.width;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *h = j->heat + (size_t)i * hw;
        const float *r = j->chan + (size_t)i * hw * (size_t)c;
        memcpy(h, r, sizeof *h * hw);
        for (int k = 1; k < c; k++)
            for (size_t p = 0; p < hw; p++) h[p] += r[(size_t)k * hw + p];
    }
    return 0;
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

static int run_job(relevance_job *j)
{
    relevance_args *a = j->a;
    rm_relevance_spec spec = {.count = j->n, .channels = j->ds.channels, .height = j->ds.height,
                              .width = j->ds.width, .num_classes = j->ds.num_classes,
                              .class_names = (const char *const *)j->ds.class_names,
                              .store_channels = a->channels, .deflate_level = 4, .method = a->method,
                              .score_kind = j->occ ? "probability" : "logit", .parameters = j->params};
    rm_relevance_writer *w;
    int64_t done;
    RM_TRY(rm_relevance_writer_open(&w, a->out_path, &spec, a->force, a->resume, &done));
    const char *attrs[][2] = {
        {"model_path", a->model_path ? a->model_path : ""}, {"model_fingerprint", j->model_fp},
        {"dataset_path", a->data_path}, {"dataset_fingerprint", j->data_fp},
        {j->occ ? "predict_cmd" : "composite", j->occ ? (a->predict_cmd ? a->predict_cmd : "") : a->composite},
        {"target", a->target ? a->target : "pred"}, {"split", rm_split_label(a->split)},
        {"command_line", cli_command_line()},
    };
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (rm_relevance_writer_set_attr(w, attrs[i][0], attrs[i][1]) != 0) return fail_partial(w, done);
    rm_progress prog;
    rm_progress_start(&prog, "relevance", "img", (size_t)j->n);
    rm_progress_update(&prog, (size_t)done);
    double sum_gap = 0;
    int64_t explained_count = 0;
    for (int blocks = 0; done < j->n; blocks++) {
        if (a->stop_after && blocks == a->stop_after) {
            rm_progress_finish(&prog);
            rm_log("%s: stopped after %d blocks (%lld of %lld records); continue with --resume", a->out_path,
                   blocks, (long long)done, (long long)j->n);
            rm_relevance_writer_close_partial(w);
            j->stopped = 1;
            return 0;
        }
        int64_t n = j->n - done < a->batch ? j->n - done : a->batch;
        rm_relevance_block blk = {.n = n, .index = j->block_index, .label = j->label, .explained = j->explained,
                                  .predicted = j->predicted, .score = j->score, .heatmap = j->heat,
                                  .channels = j->chan};
        if (explain_block(j, done, n) != 0 || rm_relevance_writer_write(w, &blk) != 0) {
            rm_progress_finish(&prog);
            rm_error_prefix("record %lld", (long long)j->indices[done]);
            return fail_partial(w, done);
        }
        size_t hw = (size_t)j->ds.height * (size_t)j->ds.width;
        for (int64_t i = 0; i < n && !j->occ; i++) {
            double s = 0;
            for (size_t p = 0; p < hw; p++) s += j->heat[(size_t)i * hw + p];
            sum_gap += fabs(s - j->score[i]) / (fabs(j->score[i]) + 1e-12);
            explained_count++;
        }
        done += n;
        if (explained_count)
            snprintf(prog.note, sizeof prog.note, "mean |sum-logit|/|logit| %.3g", sum_gap / (double)explained_count);
        rm_progress_update(&prog, (size_t)done);
    }
    rm_progress_finish(&prog);
    return rm_relevance_writer_finish(w);
}

int cmd_relevance(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "import")) return cmd_relevance_import(argc - 1, argv + 1);
    relevance_args a = {.split = -1, .batch = 64, .method = "lrp", .eps = -1, .gamma = -1};
    int done, rc = parse(argc, argv, &a, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    if (!a.composite) a.composite = "epsilon-plus-flat";
    if (a.eps < 0) a.eps = 1e-6;
    if (a.gamma < 0) a.gamma = 0.25;
    rm_h5_init();
    relevance_job j;
    memset(&j, 0, sizeof j);
    j.a = &a;
    j.ds.hfile = -1;
    rc = job_prepare(&j);
    if (rc == 0) rc = run_job(&j);
    if (rc == 0 && !j.stopped)
        rm_log("%s: %lld heatmaps (%s%s%s)", a.out_path, (long long)j.n, a.method, j.occ ? "" : ", ",
               j.occ ? "" : a.composite);
    job_free(&j);
    return rc == 0 ? RM_EXIT_OK : cli_runtime_error();
}
