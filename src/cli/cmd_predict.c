/* relmask predict --model M.h5 --data D.h5 --out P.h5 (rm_predict), or
 * --npy-in X.npy --npy-out P.npy (rm_predict_npy): the options. */
#include "cli/cli.h"
#include "core/error.h"
#include "relevance/predict_npy.h"
#include "train/predict.h"

enum { SPLIT_NOT_GIVEN = -2 };

typedef struct {
    rm_predict_config cfg;
    rm_predict_npy_config npy;
} predict_options;

static int check(void *t, const char *cmd)
{
    predict_options *o = t;
    rm_predict_config *c = &o->cfg;
    if (o->npy.in_path || o->npy.out_path) {
        if (!o->npy.in_path || !o->npy.out_path) return cli_usage_error(cmd, "--npy-in and --npy-out go together");
        if (c->data_path || c->out_path || c->split != SPLIT_NOT_GIVEN || c->resize)
            return cli_usage_error(cmd, "--npy-in/--npy-out replace --data, --out, --split and --resize (the "
                                        "arrays have the model's input shape)");
        o->npy.model_path = c->model_path;
        o->npy.batch = c->batch;
        o->npy.force = c->force;
        return RM_EXIT_OK;
    }
    if (!c->data_path) return cli_usage_error(cmd, "--data FILE is required");
    if (!c->out_path) return cli_usage_error(cmd, "--out FILE is required");
    if (c->split == SPLIT_NOT_GIVEN) c->split = -1;
    return RM_EXIT_OK;
}

#define CLI_TARGET predict_options
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_REQUIRED('m', "model", "FILE", cfg.model_path, "model file (relmask train)"),
    CLI_OPT_STRING('d', "data", "FILE", cfg.data_path, "dataset (relmask synth / ingest)"),
    CLI_OPT_STRING('o', "out", "FILE", cfg.out_path, "predictions file"),
    CLI_OPT_SPLIT('s', "split", cfg.split, "all (default), train, val or test"),
    CLI_OPT_STRING(0, "npy-in", "FILE", npy.in_path, "uint8 images (n, C, H, W) instead of --data"),
    CLI_OPT_STRING(0, "npy-out", "FILE", npy.out_path, "float32 probabilities (n, K) instead of --out"),
    CLI_OPT_FLAG(0, "resize", cfg.resize, "convert images of another size or channel count\n"
                                          "than the model's input as they are read (as ingest\n"
                                          "--size --channels would)"),
    CLI_OPT_INT('b', "batch", "N", cfg.batch, 1, 65536, "records per forward pass (256)"),
    CLI_OPT_FLAG('f', "force", cfg.force, "overwrite an existing predictions file"),
    CLI_OPT_THREADS("threads (0 = all cores)"),
    CLI_OPT_QUIET("no summary line on stderr"),
    CLI_END,
};

static const cli_command command = {
    .name = "predict",
    .usage = "usage: relmask predict --model MODEL.h5 --data D.h5 --out P.h5 [options]\n"
             "       relmask predict --model MODEL.h5 --npy-in X.npy --npy-out P.npy [options]\n"
             "\n"
             "Runs a trained model over a dataset split and writes, per record, the\n"
             "logits, the softmax probabilities, the predicted class, the true label and\n"
             "the record's index in the dataset (schema relmask.predictions, see\n"
             "docs/formats.md). The dataset must have the model's input shape, or\n"
             "--resize converts its images to it (bilinear up, area down, gray <-> RGB,\n"
             "as ingest --size --channels), and the same classes in the same order.\n"
             "An unlabeled dataset (ingest --unlabeled) gets labels -1 and no accuracy;\n"
             "without class names it takes the model's.\n"
             "\n"
             "With --npy-in/--npy-out it reads a uint8 NPY array of raw pixels shaped\n"
             "(n, C, H, W) (or (n, H, W) for one channel) and writes the probabilities\n"
             "as a float32 NPY array (n, K): the exchange format of external models\n"
             "for occlusion (docs/relevance.md), so relmask itself can be the command:\n"
             "  --predict-cmd 'relmask predict -q --model M.h5 --npy-in {in} --npy-out {out}'\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "The file is written to a temporary name and renamed when complete; on an\n"
              "error an existing file is left as it was. Exit codes: 0 ok, 1 error,\n"
              "2 usage error.\n",
    .check = check,
};

int cmd_predict(int argc, char **argv)
{
    predict_options o;
    rm_predict_config_defaults(&o.cfg);
    rm_predict_npy_config_defaults(&o.npy);
    o.cfg.split = SPLIT_NOT_GIVEN;
    o.cfg.command_line = cli_command_line();
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc != RM_EXIT_OK || done) return rc;
    rc = o.npy.in_path ? rm_predict_npy(&o.npy) : rm_predict(&o.cfg);
    return rc == 0 ? RM_EXIT_OK : cli_runtime_error();
}
