/* relmask study --dir SWEEP_DIR: the options, over rm_study (docs/report.md). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "report/study.h"

typedef struct {
    rm_study_config cfg;
    int quiet;
} study_options;

static int set_baseline(void *t, const char *value, const char *cmd)
{
    if (!*value || strchr(value, '/')) return cli_usage_error(cmd, "--baseline '%s': not a condition name", value);
    ((study_options *)t)->cfg.baseline = value;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    study_options *o = t;
    o->cfg.echo = o->quiet ? NULL : stdout;
    return RM_EXIT_OK;
}

#define CLI_TARGET study_options
static const cli_option options[] = {
    CLI_OPT_REQUIRED('d', "dir", "SWEEP_DIR", cfg.dir, "the sweep directory, holding cells/<cell>/ (required)"),
    CLI_OPT_CALL('b', "baseline", "NAME", set_baseline, "the reference condition of every cell (raw)"),
    CLI_OPT_FLAG('f', "force", cfg.force, "replace an existing study.csv / study.md"),
    CLI_OPT_FLAG('q', "quiet", quiet, "do not print the findings"),
    CLI_END,
};

static const cli_command command = {
    .name = "study",
    .usage = "usage: relmask study --dir SWEEP_DIR [options]\n"
             "\n"
             "Summarizes a sweep: every SWEEP_DIR/cells/<cell>/ is an experiment directory\n"
             "(runs/<condition>/seed<k>/ with test.json and model.h5) with cell.txt\n"
             "(key=value settings), conditions.txt and seeds.txt. Writes SWEEP_DIR/study.csv\n"
             "(one row per cell x condition: settings, test accuracy, median paired\n"
             "difference with a bootstrap 95% interval, Wilcoxon p, Holm-adjusted p over\n"
             "every comparison of the study, smallest detectable difference, epochs to\n"
             "90%) and study.md (the table and findings counted from it).\n"
             "\n"
             "options:\n",
    .options = options,
    .epilog = "\n"
              "Missing runs are listed in study.md and left out; it fails only when no\n"
              "cell has a complete comparison. Exit codes: 0 ok, 1 error, 2 usage error.\n",
    .check = check,
};

int cmd_study(int argc, char **argv)
{
    study_options o = {0};
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc == RM_EXIT_OK && !done) rc = rm_study(&o.cfg) == 0 ? RM_EXIT_OK : cli_runtime_error();
    return rc;
}
