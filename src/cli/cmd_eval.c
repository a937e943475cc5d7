/* relmask eval --model M.h5 --data D.h5 (or --fuse A.h5,B.h5): the options,
 * over rm_eval. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "train/eval.h"

typedef struct {
    rm_eval_config cfg;
    const char *fuse;                  /* --fuse as given */
    char *fuse_buf;                    /* its copy, split at the commas */
    const char *fuse_paths[RM_EVAL_MAX_FUSE];
    double weights[RM_EVAL_MAX_FUSE];
    int num_weights;
} eval_options;

/* "a,b,c" into out[]; 0, or a usage error naming the option. */
static int split_list(const char *cmd, char *text, const char *opt, const char **out, int *count)
{
    *count = 0;
    for (char *p = text;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (!*p) return cli_usage_error(cmd, "%s: empty entry in the list", opt);
        if (*count == RM_EVAL_MAX_FUSE) return cli_usage_error(cmd, "%s: more than %d entries", opt, RM_EVAL_MAX_FUSE);
        out[(*count)++] = p;
        if (!comma) return 0;
        p = comma + 1;
    }
}

static int set_weights(void *t, const char *value, const char *cmd)
{
    eval_options *o = t;
    char buf[4096];
    if (strlen(value) >= sizeof buf) return cli_usage_error(cmd, "--weights: list too long");
    snprintf(buf, sizeof buf, "%s", value);
    const char *items[RM_EVAL_MAX_FUSE];
    int n;
    if (split_list(cmd, buf, "--weights", items, &n) != 0) return RM_EXIT_USAGE;
    for (int i = 0; i < n; i++)
        if (cli_parse_double(cmd, "--weights", items[i], 0, 1e12, &o->weights[i])) return RM_EXIT_USAGE;
    o->num_weights = n;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    eval_options *o = t;
    rm_eval_config *c = &o->cfg;
    if (o->fuse && c->model_path) return cli_usage_error(cmd, "--model and --fuse exclude each other");
    if (!c->model_path && !o->fuse) return cli_usage_error(cmd, "--model FILE is required");
    if (!c->data_path) return cli_usage_error(cmd, "--data FILE is required");
    if (o->num_weights && !o->fuse) return cli_usage_error(cmd, "--weights needs --fuse");
    if (!o->fuse) return RM_EXIT_OK;
    if (!(o->fuse_buf = rm_strdup(o->fuse))) return cli_runtime_error();
    if (split_list(cmd, o->fuse_buf, "--fuse", o->fuse_paths, &c->num_fuse) != 0) return RM_EXIT_USAGE;
    if (c->num_fuse < 2) return cli_usage_error(cmd, "--fuse needs at least two model files, comma-separated");
    if (o->num_weights && o->num_weights != c->num_fuse)
        return cli_usage_error(cmd, "--weights has %d values for %d models", o->num_weights, c->num_fuse);
    double sum = 0;
    for (int i = 0; i < o->num_weights; i++) sum += o->weights[i];
    if (o->num_weights && !(sum > 0)) return cli_usage_error(cmd, "--weights must not all be 0");
    c->fuse_paths = o->fuse_paths;
    c->fuse_label = o->fuse;
    c->weights = o->num_weights ? o->weights : NULL;
    return RM_EXIT_OK;
}

#define CLI_TARGET eval_options
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_STRING('m', "model", "FILE", cfg.model_path, "model file (relmask train)"),
    CLI_OPT_STRING(0, "fuse", "A,B[,...]", fuse, "fuse these model files instead (comma-separated, 2..64)"),
    CLI_OPT_CALL(0, "weights", "W,...", set_weights, "one non-negative weight per --fuse model"),
    CLI_OPT_STRING('d', "data", "FILE", cfg.data_path, "dataset (relmask synth / ingest)"),
    CLI_OPT_SPLIT('s', "split", cfg.split, "test (default), val, train or all"),
    CLI_OPT_FLAG(0, "resize", cfg.resize, "convert images of another size or channel count\n"
                                          "than the model's input as they are read (as ingest\n"
                                          "--size --channels would)"),
    CLI_OPT_INT('b', "batch", "N", cfg.batch, 1, 65536, "records per forward pass (256)"),
    CLI_OPT_STRING('o', "out", "FILE", cfg.out_path, "also write the results: JSON if FILE ends in .json,\n"
                                                     "else CSV (docs/formats.md)"),
    CLI_OPT_FLAG('f', "force", cfg.force, "overwrite an existing --out file"),
    CLI_OPT_THREADS("threads (0 = all cores)"),
    CLI_OPT_FLAG('q', "quiet", cfg.summary_only, "print only the accuracy line (the full results go\n"
                                                 "to --out)"),
    CLI_END,
};

static const cli_command command = {
    .name = "eval",
    .usage = "usage: relmask eval --model MODEL.h5 --data D.h5 [options]\n"
             "       relmask eval --fuse A.h5,B.h5[,...] --data D.h5 [--weights WA,WB,...] [options]\n"
             "\n"
             "Evaluates a trained model on a dataset split: prints the accuracy, the mean\n"
             "cross-entropy loss and the record count, a per-class table (precision,\n"
             "recall, F1, support) with macro averages, and the confusion matrix (rows:\n"
             "true class, columns: predicted class). The dataset must have the model's\n"
             "input shape, or --resize converts its images to it (bilinear up, area down,\n"
             "gray <-> RGB, as ingest --size --channels), and the same classes in the\n"
             "same order.\n"
             "\n"
             "With --fuse the models' class probabilities (softmax, each model with its own\n"
             "input normalization) are averaged, weighted by --weights (default equal;\n"
             "normalized to sum 1), and the fused prediction is evaluated; each member's\n"
             "accuracy is reported too. The members must agree on input shape and classes.\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "Precision of a class that was never predicted is 0, recall of a class with\n"
              "no records is 0; macro averages are over the classes that occur as a true\n"
              "or predicted label. Exit codes: 0 ok, 1 error, 2 usage error.\n",
    .check = check,
};

int cmd_eval(int argc, char **argv)
{
    eval_options o = {0};
    rm_eval_config_defaults(&o.cfg);
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc == RM_EXIT_OK && !done) rc = rm_eval(&o.cfg) == 0 ? RM_EXIT_OK : cli_runtime_error();
    free(o.fuse_buf);
    return rc;
}
