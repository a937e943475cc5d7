/* relmask report --dir DIR: the options, over rm_report (docs/report.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "report/report.h"

typedef struct {
    rm_report_config cfg;
    char **conditions;          /* --conditions and --seeds, owned here */
    int *seeds;
    int quiet;
} report_options;

static void free_lists(report_options *o)
{
    for (int i = 0; i < o->cfg.nconditions; i++) free(o->conditions[i]);
    free(o->conditions);
    free(o->seeds);
}

static int set_conditions(void *t, const char *list, const char *cmd)
{
    report_options *o = t;
    for (int i = 0; i < o->cfg.nconditions; i++) free(o->conditions[i]);
    free(o->conditions);
    o->conditions = NULL;
    o->cfg.nconditions = 0;
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        if (n == 0) return cli_usage_error(cmd, "--conditions '%s': empty condition name", list);
        if (memchr(p, '/', n) || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)))
            return cli_usage_error(cmd, "--conditions: '%.*s' is not a condition name", (int)n, p);
        char **grown = rm_realloc(o->conditions, sizeof *grown * (size_t)(o->cfg.nconditions + 1), "conditions");
        if (!grown) return cli_runtime_error();
        o->conditions = grown;
        char *name = rm_malloc(n + 1, "a condition name");
        if (!name) return cli_runtime_error();
        memcpy(name, p, n);
        name[n] = 0;
        o->conditions[o->cfg.nconditions++] = name;
        if (!p[n]) break;
        p += n + 1;
    }
    o->cfg.conditions = (const char *const *)o->conditions;
    return RM_EXIT_OK;
}

static int set_seeds(void *t, const char *list, const char *cmd)
{
    report_options *o = t;
    free(o->seeds);
    o->seeds = NULL;
    o->cfg.nseeds = 0;
    for (const char *p = list;;) {
        char item[32];
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof item) return cli_usage_error(cmd, "--seeds '%s': expected numbers like 1,2,3", list);
        memcpy(item, p, n);
        item[n] = 0;
        long v;
        if (cli_parse_int(cmd, "--seeds", item, 0, 1000000000, &v)) return RM_EXIT_USAGE;
        for (int i = 0; i < o->cfg.nseeds; i++)
            if (o->seeds[i] == v) return cli_usage_error(cmd, "--seeds: seed %ld is listed twice", v);
        int *grown = rm_realloc(o->seeds, sizeof *grown * (size_t)(o->cfg.nseeds + 1), "seeds");
        if (!grown) return cli_runtime_error();
        o->seeds = grown;
        o->seeds[o->cfg.nseeds++] = (int)v;
        if (!p[n]) break;
        p += n + 1;
    }
    o->cfg.seeds = o->seeds;
    return RM_EXIT_OK;
}

static int set_baseline(void *t, const char *value, const char *cmd)
{
    if (!*value || strchr(value, '/')) return cli_usage_error(cmd, "--baseline '%s': not a condition name", value);
    ((report_options *)t)->cfg.baseline = value;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    report_options *o = t;
    const char *out = o->cfg.out;
    if (out) {
        size_t n = strlen(out);
        if (n < 4 || strcmp(out + n - 3, ".md") != 0 || out[n - 4] == '/')
            return cli_usage_error(cmd, "--out '%s': expected a file name ending in .md", out);
    }
    o->cfg.echo = o->quiet ? NULL : stdout;
    return RM_EXIT_OK;
}

#define CLI_TARGET report_options
static const cli_option options[] = {
    CLI_OPT_REQUIRED('d', "dir", "DIR", cfg.dir, "the experiment directory (required)"),
    CLI_OPT_CALL('c', "conditions", "LIST", set_conditions, "comma-separated conditions in table order (default:\n"
                                                           "every DIR/runs/* directory: the baseline, finetune,\n"
                                                           "the rest alphabetically, fuse-* last); the baseline\n"
                                                           "is added when missing"),
    CLI_OPT_CALL('s', "seeds", "LIST", set_seeds, "comma-separated seeds every condition must have\n"
                                                 "(default: each condition's seed<k> directories)"),
    CLI_OPT_CALL('b', "baseline", "NAME", set_baseline, "the reference condition (raw)"),
    CLI_OPT_STRING(0, "title", "TEXT", cfg.title, "the report's title"),
    CLI_OPT_STRING('o', "out", "FILE.md", cfg.out, "the markdown report (DIR/report.md); FILE.html is\n"
                                                   "written beside it, results.csv and the figures in\n"
                                                   "the folder FILE/ (DIR/report/)"),
    CLI_OPT_FLAG('f', "force", cfg.force, "replace an existing report"),
    CLI_OPT_FLAG('q', "quiet", quiet, "do not print the summary table"),
    CLI_END,
};

static const cli_command command = {
    .name = "report",
    .usage = "usage: relmask report --dir DIR [options]\n"
             "\n"
             "Summarizes an experiment directory (make experiment): for every condition\n"
             "(DIR/runs/<condition>/seed<k>/ with model.h5 and test.json) the learning\n"
             "curve, epochs and seconds to 90% and 95% of the baseline's final validation\n"
             "accuracy, the area under the learning curve and the final test accuracy,\n"
             "as mean and sample std over seeds, with paired Wilcoxon signed-rank tests\n"
             "against the baseline; SVG plots, montages of the encoded training images,\n"
             "confusion matrices, findings and the details needed to reproduce it.\n"
             "\n"
             "options:\n",
    .options = options,
    .epilog = "\n"
              "A seed directory without test.json is an error naming the file; leave\n"
              "unfinished runs out with --seeds or --conditions. A run without model.h5\n"
              "(e.g. a fused condition) has test metrics but no learning curve; the\n"
              "baseline's runs need model.h5. Exit codes: 0 ok, 1 error, 2 usage error.\n",
    .check = check,
};

int cmd_report(int argc, char **argv)
{
    report_options o = {0};
    rm_report_config_defaults(&o.cfg);
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc == RM_EXIT_OK && !done) rc = rm_report(&o.cfg) == 0 ? RM_EXIT_OK : cli_runtime_error();
    free_lists(&o);
    return rc;
}
