/* relmask relevance --model M.h5 --data D.h5 --out R.h5: the options, over
 * rm_relevance_run (src/relevance/relevance.h). `relmask relevance import
 * ...` brings in external maps (cmd_relevance_import.c). */
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "relevance/lrp.h"
#include "relevance/relevance.h"

typedef struct {
    rm_relevance_config cfg;
    const char *method;           /* lrp or occlusion, checked with the rest */
    const char *composite;        /* NULL: the default; LRP only */
    double eps, gamma;            /* < 0: the defaults; LRP only */
} relevance_options;

static int add_rule(void *t, const char *value, const char *cmd)
{
    rm_relevance_config *c = &((relevance_options *)t)->cfg;
    if (c->num_rules == RM_RELEVANCE_MAX_RULES)
        return cli_usage_error(cmd, "more than %d --rule options", RM_RELEVANCE_MAX_RULES);
    c->rules[c->num_rules++] = value;
    return RM_EXIT_OK;
}

static int set_quiet(void *t, const char *value, const char *cmd)
{
    rm_log_set_quiet(1);
    rm_progress_set_quiet(1);
    ((relevance_options *)t)->cfg.quiet = 1;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    relevance_options *o = t;
    rm_relevance_config *c = &o->cfg;
    if (strcmp(o->method, "lrp") != 0 && strcmp(o->method, "occlusion") != 0)
        return cli_usage_error(cmd, "--method '%s': expected lrp or occlusion", o->method);
    int lrp = !strcmp(o->method, "lrp");
    if (lrp && (c->predict_cmd || c->patch || c->stride || c->baseline))
        return cli_usage_error(cmd, "--patch, --stride, --baseline and --predict-cmd need --method occlusion");
    if (!lrp && (o->composite || c->num_rules || o->eps >= 0 || o->gamma >= 0 || c->ignore_bias || c->channels))
        return cli_usage_error(cmd, "--composite, --rule, --eps, --gamma, --ignore-bias and --channels "
                                    "need --method lrp");
    int seed_kind, top, set = rm_relevance_target_set(c->target, &seed_kind, &top);
    if (set < 0) return cli_usage_error(cmd, "%s", rm_error_message());
    if (set && !lrp)
        return cli_usage_error(cmd, "--target %s needs --method lrp: occlusion explains one class per image "
                                    "(pred, true or a class)", c->target);
    if (!c->model_path && !c->predict_cmd)
        return cli_usage_error(cmd, lrp ? "--model FILE is required" : "--model FILE or --predict-cmd CMD is required");
    if (c->model_path && c->predict_cmd) return cli_usage_error(cmd, "--model and --predict-cmd exclude each other");
    if (c->resize && c->predict_cmd)
        return cli_usage_error(cmd, "--resize converts images for --model; --predict-cmd gets the data's images "
                                    "as they are");
    if (!c->data_path) return cli_usage_error(cmd, "--data FILE is required");
    if (!c->out_path) return cli_usage_error(cmd, "--out FILE is required");
    if (c->sample > 0 && (c->start > 0 || c->count > 0))
        return cli_usage_error(cmd, "--sample draws its own records: leave out --start and --count");
    if (c->patch && c->stride > c->patch)
        return cli_usage_error(cmd, "--stride %d is larger than --patch %d: pixels would be skipped", c->stride,
                               c->patch);
    if (o->composite && rm_composite_check(o->composite) != 0) return cli_usage_error(cmd, "%s", rm_error_message());
    for (int k = 0; k < c->num_rules; k++)
        if (rm_rule_override_check(c->rules[k]) != 0) return cli_usage_error(cmd, "%s", rm_error_message());
    c->method = lrp ? RM_RELEVANCE_LRP : RM_RELEVANCE_OCCLUSION;
    if (o->composite) c->composite = o->composite;
    if (o->eps >= 0) c->eps = o->eps;
    if (o->gamma >= 0) c->gamma = o->gamma;
    return RM_EXIT_OK;
}

#define CLI_TARGET relevance_options
static const cli_option options[] = {
    CLI_HELP_TEXT("what is explained:"),
    CLI_OPT_STRING('m', "model", "FILE", cfg.model_path, "model file (relmask train)"),
    CLI_OPT_STRING('d', "data", "FILE", cfg.data_path, "dataset with the model's input shape and classes"),
    CLI_OPT_FLAG(0, "resize", cfg.resize, "convert images of another size or channel count\n"
                                          "than the model's input as they are read (as ingest\n"
                                          "--size --channels would); the relevance stays on\n"
                                          "the data's grid (LRP: the conversion's adjoint)"),
    CLI_OPT_STRING('o', "out", "FILE", cfg.out_path, "relevance file"),
    CLI_OPT_SPLIT('s', "split", cfg.split, "all (default), train, val or test"),
    CLI_OPT_LLONG(0, "start", "I", cfg.start, 0, 1LL << 40, "skip the first I records of the split (0)"),
    CLI_OPT_LLONG(0, "count", "N", cfg.count, 1, 1LL << 40, "explain at most N records (all)"),
    CLI_OPT_LLONG(0, "sample", "N", cfg.sample, 1, 1LL << 40, "instead of --start/--count: N records of the split\n"
                                                             "drawn at random, stratified by class"),
    CLI_OPT_U64(0, "seed", "S", cfg.sample_seed, "seed of --sample (1)"),
    CLI_OPT_STRING('T', "target", "WHAT", cfg.target, "pred (the predicted class, default), true (the\n"
                                                      "label), a class name or index, or label-free\n"
                                                      "class sets (LRP): all, top:K (the K highest\n"
                                                      "logits), contrast (pred against the others);\n"
                                                      "an unlabeled dataset takes all but true"),
    CLI_HELP_TEXT("\nLRP (--method lrp, the default; docs/relevance.md):"),
    CLI_OPT_STRING('c', "composite", "NAME", composite, "epsilon-plus-flat (default: flat first layer, z+\n"
                                                        "convolutions, epsilon dense), epsilon-gamma-box,\n"
                                                        "epsilon, alpha2-beta1, epsilon-plus"),
    CLI_OPT_CALL('r', "rule", "LAYER=RULE", add_rule, "override a layer's rule (repeatable; LAYER may end\n"
                                                      "in '*'): zero, epsilon, zplus, alphaA-betaB, gamma,\n"
                                                      "wsquare, flat, zbox"),
    CLI_OPT_DOUBLE(0, "eps", "E", eps, 0, 1e6, "epsilon of the epsilon rule (1e-6)"),
    CLI_OPT_DOUBLE(0, "gamma", "G", gamma, 0, 1e6, "gamma of the gamma rule (0.25)"),
    CLI_OPT_FLAG(0, "ignore-bias", cfg.ignore_bias, "biases take no part in the rules"),
    CLI_OPT_FLAG(0, "channels", cfg.channels, "also store the per-channel relevance [N,C,H,W]"),
    CLI_HELP_TEXT("\nocclusion (--method occlusion; needs only class probabilities):"),
    CLI_OPT_INT(0, "patch", "P", cfg.patch, 1, 4096, "occluding square patch, pixels (8)"),
    CLI_OPT_INT(0, "stride", "S", cfg.stride, 1, 4096, "patch step, pixels (4)"),
    CLI_OPT_STRING(0, "baseline", "V", cfg.baseline, "fill: a pixel value 0..255 or 'mean' (the train\n"
                                                     "split's mean pixel, default)"),
    CLI_OPT_STRING(0, "predict-cmd", "CMD", cfg.predict_cmd, "an external model instead of --model: CMD reads a\n"
                                                             "batch {in} (NPY uint8 [n,C,H,W]) and writes {out}\n"
                                                             "(NPY float [n,K] probabilities); see\n"
                                                             "docs/relevance.md and examples/external-model"),
    CLI_HELP_TEXT("\nrunning:"),
    CLI_OPT_STRING('M', "method", "NAME", method, "lrp (default) or occlusion"),
    CLI_OPT_INT('b', "batch", "N", cfg.batch, 1, 4096, "images per pass (64)"),
    CLI_OPT_FLAG(0, "resume", cfg.resume, "continue the partial file an interrupted run left"),
    CLI_OPT_INT(0, "stop-after", "N", cfg.stop_after, 1, 1 << 30, "stop after N blocks of this run, keeping the partial\n"
                                                                 "file for --resume (time-sliced runs)"),
    CLI_OPT_FLAG('f', "force", cfg.force, "overwrite an existing relevance file"),
    CLI_OPT_THREADS("threads (0 = all cores)"),
    CLI_OPT_CALL('q', "quiet", NULL, set_quiet, "no progress or summary"),
    CLI_END,
};

static const cli_command command = {
    .name = "relevance",
    .usage = "usage: relmask relevance --model M.h5 --data D.h5 --out R.h5 [options]\n"
             "       relmask relevance import --help\n"
             "\n"
             "Explains a model's decisions: one relevance map (heatmap) per record of a\n"
             "dataset, written to a relevance file (schema relmask.relevance, see\n"
             "docs/formats.md) in blocks, so an interrupted run continues with --resume.\n"
             "Under conservative rules a heatmap sums to the explained logit.\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "The file is written as a hidden partial file beside --out and renamed when\n"
              "complete; an existing file is left as it was on any error. Exit codes:\n"
              "0 ok, 1 error, 2 usage error.\n",
    .check = check,
};

int cmd_relevance(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "import")) return cmd_relevance_import(argc - 1, argv + 1);
    static const char *const subcommands[] = {"import"};
    if (argc > 1 && argv[1][0] != '-' && cli_nearest(argv[1], subcommands, 1))
        return cli_usage_error(command.name, "unexpected argument '%s'; did you mean 'relevance import'?", argv[1]);
    relevance_options o = {.method = "lrp", .eps = -1, .gamma = -1};
    rm_relevance_config_defaults(&o.cfg);
    o.cfg.command_line = cli_command_line();
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc != RM_EXIT_OK || done) return rc;
    if (rm_relevance_run(&o.cfg) == 0) return RM_EXIT_OK;
    /* --target naming no class of the data: a usage error like the others */
    return rm_error_is_usage() ? cli_usage_error(command.name, "%s", rm_error_message()) : cli_runtime_error();
}
