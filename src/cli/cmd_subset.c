/* relmask subset --data D.h5 --out O.h5 --take SPLIT:COUNT[:AS] ...: the
 * options, over rm_subset. */
#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "ingest/subset.h"

static int set_take(void *t, const char *value, const char *cmd)
{
    rm_subset_config *c = t;
    if (c->num_takes == RM_SUBSET_MAX_TAKES)
        return cli_usage_error(cmd, "more than %d --take options", RM_SUBSET_MAX_TAKES);
    if (rm_take_parse(value, &c->takes[c->num_takes]) != 0) return cli_usage_error(cmd, "%s", rm_error_message());
    c->take_text[c->num_takes++] = value;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    if (!((rm_subset_config *)t)->num_takes)
        return cli_usage_error(cmd, "at least one --take SPLIT:COUNT[:AS] is required");
    return RM_EXIT_OK;
}

#define CLI_TARGET rm_subset_config
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_REQUIRED('d', "data", "FILE", data_path, "input dataset"),
    CLI_OPT_REQUIRED('o', "out", "FILE", out_path, "output dataset (written atomically)"),
    CLI_OPT_CALL('T', "take", "SPEC", set_take, "SPLIT:COUNT[:AS]; SPLIT train, val, test or all (all\n"
                                                "needs AS); COUNT a number or 'all'; repeatable, drawn\n"
                                                "in order, a record at most once"),
    CLI_OPT_FLAG('c', "complement", complement, "write the records NOT drawn, with their own split"),
    CLI_OPT_U64(0, "seed", "N", seed, "seed of the draws (1)"),
    CLI_OPT_INT(0, "deflate", "N", deflate_level, 0, 9, "compression level 0-9 (4)"),
    CLI_OPT_FLAG('f', "force", force, "overwrite an existing output"),
    CLI_OPT_QUIET("no progress output"),
    CLI_END,
};

static const cli_command command = {
    .name = "subset",
    .usage = "usage: relmask subset --data D.h5 --out O.h5 --take SPLIT:COUNT[:AS] ... [options]\n"
             "\n"
             "Draws records from a dataset's splits into a new dataset, stratified by\n"
             "class and seeded: e.g. a scarce target set and, with --complement and the\n"
             "same takes and seed, the disjoint rest as a source set.\n"
             "\n"
             "  --take train:1000          1000 records of the train split, kept as train\n"
             "  --take train:500:val       500 more train records (not drawn before), as val\n"
             "  --take test:all            every test record left\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "Per class, each take draws round(COUNT x the class's share of the pool) by\n"
              "largest remainders. Records keep their order; regions are copied. Exit\n"
              "codes: 0 ok, 1 error, 2 usage error.\n",
    .check = check,
};

int cmd_subset(int argc, char **argv)
{
    rm_subset_config c;
    rm_subset_config_defaults(&c);
    int done, rc = cli_parse(&command, argc, argv, &c, &done, NULL);
    if (rc != RM_EXIT_OK || done) return rc;
    c.command_line = cli_command_line();
    return rm_subset(&c) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
