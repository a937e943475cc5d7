/* relmask report --dir DIR: the experiment's learning curves, tables,
 * significance tests, montages and reproducibility details as markdown,
 * HTML and CSV (docs/report.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "report/report.h"

static const char help[] =
    "usage: relmask report --dir DIR [options]\n"
    "\n"
    "Summarizes an experiment directory (make experiment): for every condition\n"
    "(DIR/runs/<condition>/seed<k>/ with model.h5 and test.json) the learning\n"
    "curve, epochs and seconds to 90% and 95% of the baseline's final validation\n"
    "accuracy, the area under the learning curve and the final test accuracy,\n"
    "as mean and sample std over seeds, with paired Wilcoxon signed-rank tests\n"
    "against the baseline; SVG plots, montages of the encoded training images,\n"
    "confusion matrices, findings and the details needed to reproduce it.\n"
    "\n"
    "options:\n"
    "  -d, --dir DIR          the experiment directory (required)\n"
    "  -c, --conditions LIST  comma-separated conditions in table order (default:\n"
    "                         every DIR/runs/* directory: the baseline, finetune,\n"
    "                         the rest alphabetically, fuse-* last); the baseline\n"
    "                         is added when missing\n"
    "  -s, --seeds LIST       comma-separated seeds every condition must have\n"
    "                         (default: each condition's seed<k> directories)\n"
    "  -b, --baseline NAME    the reference condition (raw)\n"
    "      --title TEXT       the report's title\n"
    "  -o, --out FILE.md      the markdown report (DIR/report.md); FILE.html is\n"
    "                         written beside it, results.csv and the figures in\n"
    "                         the folder FILE/ (DIR/report/)\n"
    "  -f, --force            replace an existing report\n"
    "  -q, --quiet            do not print the summary table\n"
    "\n"
    "A seed directory without test.json is an error naming the file; leave\n"
    "unfinished runs out with --seeds or --conditions. A run without model.h5\n"
    "(e.g. a fused condition) has test metrics but no learning curve; the\n"
    "baseline's runs need model.h5. Exit codes: 0 ok, 1 error, 2 usage error.\n";

typedef struct {
    rm_report_options opt;
    char **conditions;
    int *seeds;
    int quiet;
} report_args;

static void free_args(report_args *a)
{
    for (int i = 0; i < a->opt.nconditions; i++) free(a->conditions[i]);
    free(a->conditions);
    free(a->seeds);
}

static int parse_conditions(report_args *a, const char *list)
{
    for (int i = 0; i < a->opt.nconditions; i++) free(a->conditions[i]);
    free(a->conditions);
    a->conditions = NULL;
    a->opt.nconditions = 0;
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 0) return cli_usage_error("report", "--conditions '%s': empty condition name", list);
        char *name = malloc(n + 1);
        char **grown = realloc(a->conditions, sizeof *grown * (size_t)(a->opt.nconditions + 1));
        if (!name || !grown) {
            free(name);
            if (grown) a->conditions = grown;
            fprintf(stderr, "relmask: error: out of memory\n");
            return RM_EXIT_RUNTIME;
        }
        memcpy(name, p, n);
        name[n] = 0;
        if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
            free(name);
            a->conditions = grown;
            return cli_usage_error("report", "--conditions: '%.*s' is not a condition name", (int)n, p);
        }
        a->conditions = grown;
        a->conditions[a->opt.nconditions++] = name;
        if (!p[n]) break;
        p += n + 1;
    }
    return RM_EXIT_OK;
}

static int parse_seeds(report_args *a, const char *list)
{
    free(a->seeds);
    a->seeds = NULL;
    a->opt.nseeds = 0;
    const char *p = list;
    for (;;) {
        char item[32];
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof item) return cli_usage_error("report", "--seeds '%s': expected numbers like 1,2,3", list);
        memcpy(item, p, n);
        item[n] = 0;
        long v;
        if (cli_parse_int("report", "--seeds", item, 0, 1000000000, &v)) return RM_EXIT_USAGE;
        for (int i = 0; i < a->opt.nseeds; i++)
            if (a->seeds[i] == v) return cli_usage_error("report", "--seeds: seed %ld is listed twice", v);
        int *grown = realloc(a->seeds, sizeof *grown * (size_t)(a->opt.nseeds + 1));
        if (!grown) {
            fprintf(stderr, "relmask: error: out of memory\n");
            return RM_EXIT_RUNTIME;
        }
        a->seeds = grown;
        a->seeds[a->opt.nseeds++] = (int)v;
        if (!p[n]) break;
        p += n + 1;
    }
    return RM_EXIT_OK;
}

static int parse(int argc, char **argv, report_args *a, int *done)
{
    enum { OPT_TITLE = 1000 };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},           {"dir", required_argument, NULL, 'd'},
        {"conditions", required_argument, NULL, 'c'}, {"seeds", required_argument, NULL, 's'},
        {"baseline", required_argument, NULL, 'b'}, {"title", required_argument, NULL, OPT_TITLE},
        {"out", required_argument, NULL, 'o'},      {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},          {NULL, 0, NULL, 0},
    };
    int ch, rc;
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hd:c:s:b:o:fq", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'd': a->opt.dir = optarg; break;
        case 'c':
            if ((rc = parse_conditions(a, optarg)) != RM_EXIT_OK) return rc;
            break;
        case 's':
            if ((rc = parse_seeds(a, optarg)) != RM_EXIT_OK) return rc;
            break;
        case 'b':
            if (!*optarg || strchr(optarg, '/')) return cli_usage_error("report", "--baseline '%s': not a condition name", optarg);
            a->opt.baseline = optarg;
            break;
        case OPT_TITLE: a->opt.title = optarg; break;
        case 'o': a->opt.out = optarg; break;
        case 'f': a->opt.force = 1; break;
        case 'q': a->quiet = 1; break;
        default: return cli_bad_option("report", ch, argv);
        }
    }
    if (optind < argc) return cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
    if (!a->opt.dir) return cli_usage_error("report", "--dir DIR is required");
    if (a->opt.out) {
        size_t n = strlen(a->opt.out);
        if (n < 4 || strcmp(a->opt.out + n - 3, ".md") != 0 || a->opt.out[n - 4] == '/')
            return cli_usage_error("report", "--out '%s': expected a file name ending in .md", a->opt.out);
    }
    return RM_EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
    report_args a = {0};
    int done, rc = parse(argc, argv, &a, &done);
    if (rc == RM_EXIT_OK && !done) {
        a.opt.conditions = a.conditions;
        a.opt.seeds = a.seeds;
        a.opt.echo = a.quiet ? NULL : stdout;
        rc = rm_report_write(&a.opt) == 0 ? RM_EXIT_OK : cli_runtime_error();
    }
    free_args(&a);
    return rc;
}
