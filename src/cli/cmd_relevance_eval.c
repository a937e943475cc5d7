/* relmask relevance-eval --relevance R.h5 --data D.h5 [--model M.h5]: the
 * options, over rm_relevance_eval. */
#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "relevance/relevance_eval.h"

typedef struct {
    rm_relevance_eval_config cfg;
    int format;                   /* RM_RELEVANCE_EVAL_* */
    long long max_images;
    const char *perturb_option;   /* the first perturbation option given */
} re_options;

#define QUALITY(t) (&((re_options *)(t))->cfg.quality)

/* The perturbation options need --model; check names the first one given. */
static void perturbation_option(void *t, const char *name)
{
    re_options *o = t;
    if (!o->perturb_option) o->perturb_option = name;
}

static int set_int(void *t, const char *name, const char *value, const char *cmd, long lo, long hi, int *field)
{
    char opt[32];
    long v;
    perturbation_option(t, name);
    snprintf(opt, sizeof opt, "--%s", name);
    if (cli_parse_int(cmd, opt, value, lo, hi, &v)) return RM_EXIT_USAGE;
    *field = (int)v;
    return RM_EXIT_OK;
}

static int set_double(void *t, const char *name, const char *value, const char *cmd, double lo, double hi,
                      double *field)
{
    char opt[32];
    perturbation_option(t, name);
    snprintf(opt, sizeof opt, "--%s", name);
    return cli_parse_double(cmd, opt, value, lo, hi, field) ? RM_EXIT_USAGE : RM_EXIT_OK;
}

static int set_steps(void *t, const char *v, const char *cmd)
{
    return set_int(t, "steps", v, cmd, 1, 1000, &QUALITY(t)->steps);
}

static int set_region(void *t, const char *v, const char *cmd)
{
    return set_int(t, "region", v, cmd, 1, 4096, &QUALITY(t)->region);
}

static int set_fraction(void *t, const char *v, const char *cmd)
{
    return set_double(t, "fraction", v, cmd, 1e-9, 1, &QUALITY(t)->fraction);
}

static int set_blur_sigma(void *t, const char *v, const char *cmd)
{
    return set_double(t, "blur-sigma", v, cmd, 1e-3, 64, &QUALITY(t)->blur_sigma);
}

static int set_random_orders(void *t, const char *v, const char *cmd)
{
    return set_int(t, "random-orders", v, cmd, 1, 1000, &QUALITY(t)->random_orders);
}

static int set_baseline(void *t, const char *v, const char *cmd)
{
    perturbation_option(t, "baseline");
    if (rm_baseline_parse(v, &QUALITY(t)->baseline) != 0)
        return cli_usage_error(cmd, "--baseline: %s", rm_error_message());
    return RM_EXIT_OK;
}

static int set_seed(void *t, const char *v, const char *cmd)
{
    perturbation_option(t, "seed");
    return cli_parse_u64(cmd, "--seed", v, &QUALITY(t)->seed) ? RM_EXIT_USAGE : RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    re_options *o = t;
    rm_quality_config *q = &o->cfg.quality;
    if (q->resize && !q->model_path)
        return cli_usage_error(cmd, "--resize converts the perturbed images for --model, and none was given");
    if (o->perturb_option && !q->model_path)
        return cli_usage_error(cmd, "--%s asks for region perturbation, which needs --model FILE", o->perturb_option);
    q->max_images = o->max_images;
    o->cfg.format = (rm_relevance_eval_format)o->format;
    return RM_EXIT_OK;
}

#define CLI_TARGET re_options
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_REQUIRED('r', "relevance", "FILE", cfg.quality.relevance_path, "relevance file (schema relmask.relevance)"),
    CLI_OPT_REQUIRED('d', "data", "FILE", cfg.quality.data_path, "the dataset it explains"),
    CLI_OPT_STRING('m', "model", "FILE", cfg.quality.model_path, "model to perturb (needed for the AOPC metrics)"),
    CLI_OPT_STRING('o', "out", "FILE", cfg.out_path, "write the results here (default: stdout)"),
    CLI_OPT_CHOICE(0, "format", "json|csv", format, "json|csv", "output format (default: csv if --out ends in\n"
                                                                ".csv, else json)"),
    CLI_OPT_STRING(0, "records", "FILE", cfg.records_path, "also write one CSV row per record: its entry,\n"
                                                             "dataset index, source, classes and metrics"),
    CLI_OPT_FLAG('f', "force", cfg.force, "overwrite existing --out and --records files"),
    CLI_OPT_CALL(0, "steps", "N", set_steps, "perturbation steps (20)"),
    CLI_OPT_CALL(0, "region", "N", set_region, "region size in pixels; 1 = pixel flipping (4)"),
    CLI_OPT_CALL(0, "fraction", "F", set_fraction, "share of the regions replaced at the last step,\n"
                                                   "(0, 1] (0.5)"),
    CLI_OPT_CALL(0, "baseline", "NAME", set_baseline, "replacement: mean (the train split's mean pixel),\n"
                                                      "zero (black), blur (Gaussian-blurred copy) or\n"
                                                      "uniform (seeded noise in [0, 255)) (mean)"),
    CLI_OPT_CALL(0, "blur-sigma", "S", set_blur_sigma, "sigma of the blur baseline in pixels (3)"),
    CLI_OPT_CALL(0, "random-orders", "N", set_random_orders, "random region orders per image (3)"),
    CLI_OPT_CALL(0, "seed", "N", set_seed, "seed of the random orders and the noise (1)"),
    CLI_OPT_FLAG(0, "resize", cfg.quality.resize, "run a --model of another input size or channel\n"
                                                   "count: each perturbed image is converted to it\n"
                                                   "(the regions stay the data's)"),
    CLI_OPT_LLONG(0, "max-images", "N", max_images, 1, 1LL << 40, "only the first N records of the relevance file"),
    CLI_OPT_INT(0, "pointing-tolerance", "N", cfg.quality.pointing_tolerance, 0, 4096,
                "a pointing-game hit may lie up to N pixels\n"
                "(Euclidean) from the region (0)"),
    CLI_OPT_INT('b', "batch", "N", cfg.quality.batch, 1, 1 << 20, "network inputs per forward pass; all steps of\n"
                                                                  "an image go in one pass (256)"),
    CLI_OPT_THREADS("threads (0 = all cores)"),
    CLI_OPT_QUIET("no progress and no summary on stderr"),
    CLI_END,
};

static const cli_command command = {
    .name = "relevance-eval",
    .usage = "usage: relmask relevance-eval --relevance R.h5 --data D.h5 [--model M.h5] [options]\n"
             "\n"
             "Measures how good the heatmaps of a relevance file are, on the records it\n"
             "explains (docs/relevance.md, \"Quality metrics\"):\n"
             "\n"
             "  region perturbation (with --model): the r x r regions of each image are\n"
             "    replaced by a baseline, most relevant first, in equal steps; the model's\n"
             "    logit and probability of the explained class are recorded after each\n"
             "    step. AOPC = mean over steps of f(x) - f(x_k), against the same for\n"
             "    seeded random region orders (difference with its standard error, ratio)\n"
             "    and the mean curves of both;\n"
             "  ground-truth regions (datasets with /regions, e.g. synthetic faces): the\n"
             "    share of positive (and absolute) relevance inside the region against its\n"
             "    area, and the pointing game against its chance, overall and per class.\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "The explained class is the relevance file's /explained (the model's\n"
              "prediction where it is -1). A dataset without /regions gives the\n"
              "perturbation metrics only, with a note. The JSON names the records of\n"
              "lowest and highest score (\"extremes\"), with their /source when the\n"
              "dataset has one. Exit codes: 0 ok, 1 error, 2 usage error.\n",
    .help_column = 29,
    .check = check,
};

int cmd_relevance_eval(int argc, char **argv)
{
    re_options o = {.format = RM_RELEVANCE_EVAL_AUTO};
    rm_relevance_eval_config_defaults(&o.cfg);
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc != RM_EXIT_OK || done) return rc;
    return rm_relevance_eval(&o.cfg) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
