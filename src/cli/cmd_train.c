/* relmask train --data D.h5 --net NAME --out M.h5: the options, over rm_train. */
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "nn/netdef.h"
#include "train/train.h"

typedef struct {
    rm_train_config cfg;
    double lr;   /* 0: the optimizer's default */
    int kd_set;  /* --kd-temperature or --kd-alpha given */
} train_options;

static int set_optimizer(void *t, const char *value, const char *cmd)
{
    rm_optim_config *o = &((train_options *)t)->cfg.optim;
    rm_opt_kind k;
    if (rm_optim_kind_parse(value, &k) != 0) return cli_usage_error(cmd, "--optimizer: %s", rm_error_message());
    double keep_momentum = o->momentum;
    rm_optim_config_defaults(o, k);
    o->momentum = keep_momentum;
    return RM_EXIT_OK;
}

static int set_schedule(void *t, const char *value, const char *cmd)
{
    if (rm_lr_schedule_parse(value, &((train_options *)t)->cfg.optim.schedule) != 0)
        return cli_usage_error(cmd, "--schedule: %s", rm_error_message());
    return RM_EXIT_OK;
}

static int set_cache_mb(void *t, const char *value, const char *cmd)
{
    long mb;
    if (cli_parse_int(cmd, "--cache-mb", value, 1, 1L << 24, &mb)) return RM_EXIT_USAGE;
    ((train_options *)t)->cfg.cache_bytes = (size_t)mb << 20;
    return RM_EXIT_OK;
}

static int set_quiet(void *t, const char *value, const char *cmd)
{
    rm_progress_set_quiet(1);
    ((train_options *)t)->cfg.quiet = 1;
    return RM_EXIT_OK;
}

static int set_encoded_epochs(void *t, const char *value, const char *cmd)
{
    rm_encoded_schedule *e = &((train_options *)t)->cfg.encoded;
    long v;
    if (e->kind == RM_ENCODED_SHARE) return cli_usage_error(cmd, "--encoded-epochs and --encoded-share exclude each other");
    if (cli_parse_int(cmd, "--encoded-epochs", value, 1, 100000, &v)) return RM_EXIT_USAGE;
    e->kind = RM_ENCODED_EPOCHS;
    e->epochs = (int)v;
    return RM_EXIT_OK;
}

static int set_encoded_share(void *t, const char *value, const char *cmd)
{
    rm_encoded_schedule *e = &((train_options *)t)->cfg.encoded;
    if (e->kind == RM_ENCODED_EPOCHS) return cli_usage_error(cmd, "--encoded-epochs and --encoded-share exclude each other");
    if (rm_encoded_share_parse(value, &e->share0, &e->share1) != 0)
        return cli_usage_error(cmd, "--encoded-share %s", rm_error_message());
    e->kind = RM_ENCODED_SHARE;
    return RM_EXIT_OK;
}

static int set_kd_temperature(void *t, const char *value, const char *cmd)
{
    train_options *o = t;
    double v;
    if (cli_parse_double(cmd, "--kd-temperature", value, -1e300, 1e300, &v)) return RM_EXIT_USAGE;
    if (!(v > 0)) return cli_usage_error(cmd, "--kd-temperature '%s': expected a temperature > 0", value);
    o->cfg.kd_temperature = v;
    o->kd_set = 1;
    return RM_EXIT_OK;
}

static int set_kd_alpha(void *t, const char *value, const char *cmd)
{
    train_options *o = t;
    if (cli_parse_double(cmd, "--kd-alpha", value, 0, 1, &o->cfg.kd_alpha)) return RM_EXIT_USAGE;
    o->kd_set = 1;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    train_options *o = t;
    rm_train_config *c = &o->cfg;
    if (!c->net && !c->init_from) return cli_usage_error(cmd, "--net NAME|FILE is required (or --init-from MODEL.h5)");
    if (c->net && !rm_netdef_is_path(c->net) && rm_netdef_name_check(c->net) != 0)
        return cli_usage_error(cmd, "--net: %s", rm_error_message());
    if (c->encoded.kind != RM_ENCODED_NONE && !c->encoded_path)
        return cli_usage_error(cmd, "--encoded-epochs and --encoded-share need --encoded FILE");
    if (c->encoded.kind == RM_ENCODED_EPOCHS && c->encoded.epochs > c->epochs)
        return cli_usage_error(cmd, "--encoded-epochs %d exceeds --epochs %d", c->encoded.epochs, c->epochs);
    if (o->kd_set && !c->distill_path)
        return cli_usage_error(cmd, "--kd-temperature and --kd-alpha need --distill SOURCE");
    if (o->lr > 0) c->optim.lr = o->lr;
    c->optim.epochs = c->epochs;
    return RM_EXIT_OK;
}

#define CLI_TARGET train_options
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_REQUIRED('d', "data", "FILE", cfg.data_path, "dataset (relmask synth / ingest)"),
    CLI_OPT_STRING('n', "net", "NAME|FILE", cfg.net, "network: a name under nets/ (fer-small, fer-vgg, lenet,\n"
                                                "fer-small-28, tiny) or a .cfg path; with --init-from\n"
                                                "the default is that model's network"),
    CLI_OPT_REQUIRED('o', "out", "FILE", cfg.out_path, "model file"),
    CLI_OPT_INT('e', "epochs", "N", cfg.epochs, 1, 100000, "epochs (10)"),
    CLI_OPT_INT('b', "batch", "N", cfg.batch, 1, 65536, "minibatch size (64)"),
    CLI_OPT_CALL(0, "optimizer", "NAME", set_optimizer, "sgd (default) or adam"),
    CLI_OPT_DOUBLE(0, "lr", "X", lr, 1e-12, 100, "learning rate (sgd 0.01, adam 0.001)"),
    CLI_OPT_DOUBLE(0, "momentum", "X", cfg.optim.momentum, 0, 0.9999, "sgd momentum (0.9)"),
    CLI_OPT_FLAG(0, "nesterov", cfg.optim.nesterov, "sgd with Nesterov momentum"),
    CLI_OPT_DOUBLE(0, "weight-decay", "X", cfg.optim.weight_decay, 0, 1, "L2 weight decay (0)"),
    CLI_OPT_CALL(0, "schedule", "NAME", set_schedule, "constant, step or cosine (constant)"),
    CLI_OPT_INT(0, "step-every", "N", cfg.optim.step_every, 1, 100000, "step schedule: epochs between decays (10)"),
    CLI_OPT_DOUBLE(0, "step-gamma", "X", cfg.optim.step_gamma, 0, 1, "step schedule: decay factor (0.1)"),
    CLI_OPT_DOUBLE(0, "min-lr", "X", cfg.optim.min_lr, 0, 100, "cosine schedule: final rate (0)"),
    CLI_OPT_INT(0, "warmup", "N", cfg.optim.warmup_epochs, 0, 100000, "epochs of linear warm-up (0)"),
    CLI_OPT_FLAG(0, "hflip", cfg.augment.hflip, "augment: random horizontal flips"),
    CLI_OPT_INT(0, "shift", "N", cfg.augment.shift, 0, 64, "augment: random shifts up to N pixels"),
    CLI_OPT_DOUBLE(0, "rotate", "DEG", cfg.augment.rotate_deg, 0, 180, "augment: random rotations up to DEG degrees"),
    CLI_OPT_CHOICE(0, "init", "NAME", cfg.init, "he|glorot", "he (default) or glorot"),
    CLI_OPT_U64(0, "seed", "N", cfg.seed, "seed of initialization, shuffling, augmentation, dropout (1)"),
    CLI_OPT_CALL(0, "cache-mb", "N", set_cache_mb, "keep the train split in memory up to N MiB, else stream (2048)"),
    CLI_OPT_THREADS("threads (0 = all cores)"),
    CLI_OPT_FLAG('f', "force", cfg.force, "overwrite an existing model file"),
    CLI_OPT_FLAG(0, "resume", cfg.resume, "continue from MODEL.h5.ckpt"),
    CLI_OPT_INT(0, "stop-after", "N", cfg.stop_after, 1, 100000, "stop after N epochs of this run, keeping the checkpoint\n"
                                                                  "(time-sliced runs: continue later with --resume)"),
    CLI_OPT_STRING(0, "init-from", "FILE", cfg.init_from, "start from the weights of another model file with the\n"
                                                          "same network (classic fine-tuning); with another class\n"
                                                          "count the last dense layer keeps its seeded values"),
    CLI_OPT_CALL('q', "quiet", NULL, set_quiet, "no progress bar"),
    CLI_HELP_TEXT("\nknowledge distillation (Hinton et al. 2015; docs/train.md):"),
    CLI_OPT_STRING(0, "distill", "SOURCE", cfg.distill_path, "a teacher: a model file (run once on the raw images\n"
                                                             "of --data) or a predictions file (relmask predict, or\n"
                                                             "any model's /logits or /probabilities with /indices)\n"
                                                             "covering every train record of --data"),
    CLI_OPT_CALL(0, "kd-temperature", "T", set_kd_temperature, "softmax temperature T > 0 of the soft targets (4)"),
    CLI_OPT_CALL(0, "kd-alpha", "A", set_kd_alpha, "weight A in [0, 1] of the distillation term; the loss is\n"
                                                   "(1-A) CE + A T^2 KL (0.5; 0: plain cross-entropy)"),
    CLI_HELP_TEXT("\ntraining on encoded data (relmask encode; docs/train.md):"),
    CLI_OPT_STRING(0, "encoded", "FILE", cfg.encoded_path, "an encoded copy of --data (same records, labels, split);\n"
                                                           "its train images replace the raw ones per the schedule,\n"
                                                           "validation always uses raw --data"),
    CLI_OPT_CALL(0, "encoded-epochs", "K", set_encoded_epochs, "epochs 1..K train on encoded images, later ones on raw\n"
                                                               "(default without a schedule: every epoch encoded)"),
    CLI_OPT_CALL(0, "encoded-share", "S0:S1", set_encoded_share,
                 "in epoch e of E each sample is encoded with probability\n"
                 "S0 + (S1 - S0) (e-1)/(E-1), e.g. 1.0:0.0 (a seeded,\n"
                 "per-record choice: reproducible and resumable)"),
    CLI_OPT_INT(0, "input-channels", "N", cfg.input_channels, 1, 4, "the network with N input channels instead of its own\n"
                                                                   "(e.g. 2 for gray images plus a relevance channel)"),
    CLI_OPT_FLAG(0, "strict-net", cfg.strict_net, "refuse a network whose outputs differ from the classes\n"
                                                    "(default: its last dense layer gets one per class)"),
    CLI_OPT_FLAG(0, "allow-missing-relevance", cfg.allow_missing_relevance, "channel mode: accept val/test records\n"
                                                                          "without relevance (a zero plane)"),
    CLI_END,
};

static const cli_command command = {
    .name = "train",
    .usage = "usage: relmask train --data D.h5 --net NAME --out MODEL.h5 [options]\n"
             "       relmask train --data D.h5 --init-from MODEL.h5 --out MODEL.h5 [options]\n"
             "\n"
             "Trains a network on the dataset's train split, validating on its val split\n"
             "after every epoch. MODEL.h5 holds the best model by validation accuracy and\n"
             "the full history; MODEL.h5.ckpt is rewritten atomically after every epoch and\n"
             "--resume continues from it after an interruption (same batches, same result).\n"
             "\n",
    .options = options,
    .epilog = "  An encoded file with an extra relevance channel (encode --mode channel) needs a\n"
              "  network with that many input channels (a net file's, or --input-channels);\n"
              "  training and validation then both use it in every epoch.\n"
              "\n"
              "The same seed and thread count give the same model. Exit codes: 0 ok,\n"
              "1 error (bad data, diverged training), 2 usage error.\n",
    .check = check,
};

int cmd_train(int argc, char **argv)
{
    train_options o = {0};
    rm_train_config_defaults(&o.cfg);
    o.cfg.command_line = cli_command_line();
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc != RM_EXIT_OK || done) return rc;
    if (rm_train(&o.cfg) == 0) return RM_EXIT_OK;
    return rm_error_is_usage() ? cli_usage_error(command.name, "%s", rm_error_message()) : cli_runtime_error();
}
