/* relmask synth --out FILE.h5: the options, over rm_synth. */
#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "ingest/synth.h"

typedef struct {
    rm_synth_config cfg;
    uint64_t split_seed;
    int have_split_seed;   /* else the split takes the generator seed */
} synth_options;

static int set_domain(void *t, const char *value, const char *cmd)
{
    if (rm_synth_domain_parse(value, &((synth_options *)t)->cfg.params.domain) != 0)
        return cli_usage_error(cmd, "--domain: %s", rm_error_message());
    return RM_EXIT_OK;
}

static int set_split_seed(void *t, const char *value, const char *cmd)
{
    synth_options *o = t;
    if (cli_parse_u64(cmd, "--split-seed", value, &o->split_seed)) return RM_EXIT_USAGE;
    o->have_split_seed = 1;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    synth_options *o = t;
    rm_synth_config *c = &o->cfg;
    if (c->split.val_fraction + c->split.test_fraction >= 1.0)
        return cli_usage_error(cmd, "--val plus --test must be below 1");
    c->split.seed = o->have_split_seed ? o->split_seed : c->params.seed;
    return RM_EXIT_OK;
}

#define CLI_TARGET synth_options
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_REQUIRED('o', "out", "FILE.h5", cfg.out_path, "output dataset (written atomically)"),
    CLI_OPT_FLAG('f', "force", cfg.force, "overwrite an existing output"),
    CLI_OPT_LLONG('n', "count", "N", cfg.count, 1, 100000000, "number of images (7000); classes are balanced"),
    CLI_OPT_U64(0, "start", "I", cfg.start, "index of the first image (0): disjoint sets of one\n"
                                            "domain come from disjoint index ranges"),
    CLI_OPT_CALL('d', "domain", "NAME", set_domain, "rendering style: source, target or sketch (source)"),
    CLI_OPT_DOUBLE(0, "intensity", "X", cfg.params.intensity, 0.01, 1.0, "expression strength in (0, 1] (0.6)"),
    CLI_OPT_INT('s', "size", "N", cfg.params.size, 16, 256, "width = height in pixels, 16..256 (48)"),
    CLI_OPT_U64(0, "seed", "N", cfg.params.seed, "generator seed (1)"),
    CLI_OPT_DOUBLE(0, "val", "F", cfg.split.val_fraction, 0, 0.99, "validation fraction, stratified (0.1)"),
    CLI_OPT_DOUBLE(0, "test", "F", cfg.split.test_fraction, 0, 0.99, "test fraction, stratified (0.1)"),
    CLI_OPT_CALL(0, "split-seed", "N", set_split_seed, "seed of the split (the generator seed)"),
    CLI_OPT_THREADS("threads (0 = all cores)"),
    CLI_OPT_INT(0, "deflate", "N", cfg.deflate_level, 0, 9, "compression level 0-9 (4)"),
    CLI_OPT_QUIET("no progress output"),
    CLI_END,
};

static const cli_command command = {
    .name = "synth",
    .usage = "usage: relmask synth --out FILE.h5 [options]\n"
             "\n"
             "Renders synthetic grayscale faces showing the 7 basic expressions (neutral,\n"
             "happy, sad, surprise, fear, disgust, anger) from facial action units, with\n"
             "varied identity, pose, lighting, noise and distractors, plus each image's\n"
             "ground-truth expression-region mask (/regions). Same options, same bytes.\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "See docs/synth.md for what is rendered. Exit codes: 0 ok, 1 error, 2 usage.\n",
    .help_column = 24,
    .check = check,
};

int cmd_synth(int argc, char **argv)
{
    synth_options o = {0};
    rm_synth_config_defaults(&o.cfg);
    o.cfg.command_line = cli_command_line();
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc != RM_EXIT_OK || done) return rc;
    return rm_synth(&o.cfg) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
