/* relmask train --data D.h5 --net NAME --out M.h5 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "train/train.h"

static const char help[] =
    "usage: relmask train --data D.h5 --net NAME --out MODEL.h5 [options]\n"
    "\n"
    "Trains a network on the dataset's train split, validating on its val split\n"
    "after every epoch. MODEL.h5 holds the best model by validation accuracy and\n"
    "the full history; MODEL.h5.ckpt is rewritten atomically after every epoch and\n"
    "--resume continues from it after an interruption (same batches, same result).\n"
    "\n"
    "options:\n"
    "  -d, --data FILE        dataset (relmask synth / ingest)\n"
    "  -n, --net NAME|FILE    network: a name under nets/ (fer-small, fer-vgg, lenet,\n"
    "                         fer-small-28, tiny) or a .cfg path\n"
    "  -o, --out FILE         model file\n"
    "  -e, --epochs N         epochs (10)\n"
    "  -b, --batch N          minibatch size (64)\n"
    "      --optimizer NAME   sgd (default) or adam\n"
    "      --lr X             learning rate (sgd 0.01, adam 0.001)\n"
    "      --momentum X       sgd momentum (0.9)\n"
    "      --nesterov         sgd with Nesterov momentum\n"
    "      --weight-decay X   L2 weight decay (0)\n"
    "      --schedule NAME    constant, step or cosine (constant)\n"
    "      --step-every N     step schedule: epochs between decays (10)\n"
    "      --step-gamma X     step schedule: decay factor (0.1)\n"
    "      --min-lr X         cosine schedule: final rate (0)\n"
    "      --warmup N         epochs of linear warm-up (0)\n"
    "      --hflip            augment: random horizontal flips\n"
    "      --shift N          augment: random shifts up to N pixels\n"
    "      --rotate DEG       augment: random rotations up to DEG degrees\n"
    "      --init NAME        he (default) or glorot\n"
    "      --seed N           seed of initialization, shuffling, augmentation, dropout (1)\n"
    "      --cache-mb N       keep the train split in memory up to N MiB, else stream (2048)\n"
    "  -t, --threads N        threads (0 = all cores)\n"
    "  -f, --force            overwrite an existing model file\n"
    "      --resume           continue from MODEL.h5.ckpt\n"
    "      --stop-after N     stop after N epochs of this run, keeping the checkpoint\n"
    "                         (time-sliced runs: continue later with --resume)\n"
    "      --init-from FILE   start from the weights of another model file with the\n"
    "                         same network (classic fine-tuning); with another class\n"
    "                         count the last dense layer keeps its seeded values\n"
    "  -q, --quiet            no progress bar\n"
    "\n"
    "training on encoded data (relmask encode; docs/train.md):\n"
    "      --encoded FILE     an encoded copy of --data (same records, labels, split);\n"
    "                         its train images replace the raw ones per the schedule,\n"
    "                         validation always uses raw --data\n"
    "      --encoded-epochs K epochs 1..K train on encoded images, later ones on raw\n"
    "                         (default without a schedule: every epoch encoded)\n"
    "      --encoded-share S0:S1\n"
    "                         in epoch e of E each sample is encoded with probability\n"
    "                         S0 + (S1 - S0) (e-1)/(E-1), e.g. 1.0:0.0 (a seeded,\n"
    "                         per-record choice: reproducible and resumable)\n"
    "      --input-channels N the network with N input channels instead of its own\n"
    "                         (e.g. 2 for gray images plus a relevance channel)\n"
    "  An encoded file with an extra relevance channel (encode --mode channel) needs a\n"
    "  network with that many input channels (a net file's, or --input-channels);\n"
    "  training and validation then both use it in every epoch.\n"
    "\n"
    "The same seed and thread count give the same model. Exit codes: 0 ok,\n"
    "1 error (bad data, diverged training), 2 usage error.\n";

enum {
    OPT_OPTIMIZER = 256, OPT_LR, OPT_MOMENTUM, OPT_NESTEROV, OPT_WD, OPT_SCHEDULE, OPT_STEP_EVERY, OPT_STEP_GAMMA,
    OPT_MIN_LR, OPT_WARMUP, OPT_HFLIP, OPT_SHIFT, OPT_ROTATE, OPT_INIT, OPT_SEED, OPT_CACHE, OPT_RESUME, OPT_STOP_AFTER,
    OPT_ENCODED, OPT_ENCODED_EPOCHS, OPT_ENCODED_SHARE, OPT_INIT_FROM, OPT_INPUT_CHANNELS,
};

static const struct option longopts[] = {
    {"help", no_argument, NULL, 'h'},        {"data", required_argument, NULL, 'd'},
    {"net", required_argument, NULL, 'n'},   {"out", required_argument, NULL, 'o'},
    {"epochs", required_argument, NULL, 'e'}, {"batch", required_argument, NULL, 'b'},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER}, {"lr", required_argument, NULL, OPT_LR},
    {"momentum", required_argument, NULL, OPT_MOMENTUM}, {"nesterov", no_argument, NULL, OPT_NESTEROV},
    {"weight-decay", required_argument, NULL, OPT_WD}, {"schedule", required_argument, NULL, OPT_SCHEDULE},
    {"step-every", required_argument, NULL, OPT_STEP_EVERY}, {"step-gamma", required_argument, NULL, OPT_STEP_GAMMA},
    {"min-lr", required_argument, NULL, OPT_MIN_LR}, {"warmup", required_argument, NULL, OPT_WARMUP},
    {"hflip", no_argument, NULL, OPT_HFLIP},  {"shift", required_argument, NULL, OPT_SHIFT},
    {"rotate", required_argument, NULL, OPT_ROTATE}, {"init", required_argument, NULL, OPT_INIT},
    {"seed", required_argument, NULL, OPT_SEED}, {"cache-mb", required_argument, NULL, OPT_CACHE},
    {"threads", required_argument, NULL, 't'}, {"force", no_argument, NULL, 'f'},
    {"resume", no_argument, NULL, OPT_RESUME}, {"stop-after", required_argument, NULL, OPT_STOP_AFTER}, {"quiet", no_argument, NULL, 'q'},
    {"encoded", required_argument, NULL, OPT_ENCODED}, {"encoded-epochs", required_argument, NULL, OPT_ENCODED_EPOCHS},
    {"encoded-share", required_argument, NULL, OPT_ENCODED_SHARE}, {"init-from", required_argument, NULL, OPT_INIT_FROM},
    {"input-channels", required_argument, NULL, OPT_INPUT_CHANNELS},
    {NULL, 0, NULL, 0},
};

static int parse(int argc, char **argv, rm_train_config *c, int *done)
{
    int ch;
    long v;
    double lr = 0;   /* 0: the optimizer's default */
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hd:n:o:e:b:t:fq", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'd': c->data_path = optarg; break;
        case 'n': c->net = optarg; break;
        case 'o': c->out_path = optarg; break;
        case 'e':
            if (cli_parse_int("train", "--epochs", optarg, 1, 100000, &v)) return RM_EXIT_USAGE;
            c->epochs = (int)v;
            break;
        case 'b':
            if (cli_parse_int("train", "--batch", optarg, 1, 65536, &v)) return RM_EXIT_USAGE;
            c->batch = (int)v;
            break;
        case OPT_OPTIMIZER: {
            rm_opt_kind k;
            if (rm_optim_kind_parse(optarg, &k) != 0) return cli_usage_error("train", "--optimizer: %s", rm_error_message());
            double keep_mom = c->optim.momentum;
            rm_optim_config_defaults(&c->optim, k);
            c->optim.momentum = keep_mom;
            break;
        }
        case OPT_LR:
            if (cli_parse_double("train", "--lr", optarg, 1e-12, 100, &lr)) return RM_EXIT_USAGE;
            break;
        case OPT_MOMENTUM:
            if (cli_parse_double("train", "--momentum", optarg, 0, 0.9999, &c->optim.momentum)) return RM_EXIT_USAGE;
            break;
        case OPT_NESTEROV: c->optim.nesterov = 1; break;
        case OPT_WD:
            if (cli_parse_double("train", "--weight-decay", optarg, 0, 1, &c->optim.weight_decay)) return RM_EXIT_USAGE;
            break;
        case OPT_SCHEDULE:
            if (rm_lr_schedule_parse(optarg, &c->optim.schedule) != 0)
                return cli_usage_error("train", "--schedule: %s", rm_error_message());
            break;
        case OPT_STEP_EVERY:
            if (cli_parse_int("train", "--step-every", optarg, 1, 100000, &v)) return RM_EXIT_USAGE;
            c->optim.step_every = (int)v;
            break;
        case OPT_STEP_GAMMA:
            if (cli_parse_double("train", "--step-gamma", optarg, 0, 1, &c->optim.step_gamma)) return RM_EXIT_USAGE;
            break;
        case OPT_MIN_LR:
            if (cli_parse_double("train", "--min-lr", optarg, 0, 100, &c->optim.min_lr)) return RM_EXIT_USAGE;
            break;
        case OPT_WARMUP:
            if (cli_parse_int("train", "--warmup", optarg, 0, 100000, &v)) return RM_EXIT_USAGE;
            c->optim.warmup_epochs = (int)v;
            break;
        case OPT_HFLIP: c->augment.hflip = 1; break;
        case OPT_SHIFT:
            if (cli_parse_int("train", "--shift", optarg, 0, 64, &v)) return RM_EXIT_USAGE;
            c->augment.shift = (int)v;
            break;
        case OPT_ROTATE:
            if (cli_parse_double("train", "--rotate", optarg, 0, 180, &c->augment.rotate_deg)) return RM_EXIT_USAGE;
            break;
        case OPT_INIT:
            if (!strcmp(optarg, "he")) c->init = RM_INIT_HE;
            else if (!strcmp(optarg, "glorot")) c->init = RM_INIT_GLOROT;
            else return cli_usage_error("train", "--init '%s': expected he or glorot", optarg);
            break;
        case OPT_SEED:
            if (cli_parse_u64("train", "--seed", optarg, &c->seed)) return RM_EXIT_USAGE;
            break;
        case OPT_CACHE:
            if (cli_parse_int("train", "--cache-mb", optarg, 1, 1L << 24, &v)) return RM_EXIT_USAGE;
            c->cache_bytes = (size_t)v << 20;
            break;
        case 't':
            if (cli_parse_int("train", "--threads", optarg, 0, 4096, &v)) return RM_EXIT_USAGE;
            cli_set_threads(v);
            break;
        case 'f': c->force = 1; break;
        case OPT_RESUME: c->resume = 1; break;
        case OPT_STOP_AFTER:
            if (cli_parse_int("train", "--stop-after", optarg, 1, 100000, &v)) return RM_EXIT_USAGE;
            c->stop_after = (int)v;
            break;
        case 'q': rm_progress_set_quiet(1); c->quiet = 1; break;
        case OPT_ENCODED: c->encoded_path = optarg; break;
        case OPT_ENCODED_EPOCHS:
            if (c->encoded.kind == RM_ENCODED_SHARE)
                return cli_usage_error("train", "--encoded-epochs and --encoded-share exclude each other");
            if (cli_parse_int("train", "--encoded-epochs", optarg, 1, 100000, &v)) return RM_EXIT_USAGE;
            c->encoded.kind = RM_ENCODED_EPOCHS;
            c->encoded.epochs = (int)v;
            break;
        case OPT_ENCODED_SHARE:
            if (c->encoded.kind == RM_ENCODED_EPOCHS)
                return cli_usage_error("train", "--encoded-epochs and --encoded-share exclude each other");
            if (rm_encoded_share_parse(optarg, &c->encoded.share0, &c->encoded.share1) != 0)
                return cli_usage_error("train", "--encoded-share %s", rm_error_message());
            c->encoded.kind = RM_ENCODED_SHARE;
            break;
        case OPT_INIT_FROM: c->init_from = optarg; break;
        case OPT_INPUT_CHANNELS:
            if (cli_parse_int("train", "--input-channels", optarg, 1, 4, &v)) return RM_EXIT_USAGE;
            c->input_channels = (int)v;
            break;
        default: return cli_bad_option("train", ch, argv);
        }
    }
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!c->data_path) return cli_usage_error("train", "--data FILE is required");
    if (!c->net) return cli_usage_error("train", "--net NAME is required");
    if (!c->out_path) return cli_usage_error("train", "--out FILE is required");
    if (c->encoded.kind != RM_ENCODED_NONE && !c->encoded_path)
        return cli_usage_error("train", "--encoded-epochs and --encoded-share need --encoded FILE");
    if (c->encoded.kind == RM_ENCODED_EPOCHS && c->encoded.epochs > c->epochs)
        return cli_usage_error("train", "--encoded-epochs %d exceeds --epochs %d", c->encoded.epochs, c->epochs);
    if (lr > 0) c->optim.lr = lr;
    c->optim.epochs = c->epochs;
    return RM_EXIT_OK;
}

int cmd_train(int argc, char **argv)
{
    rm_train_config c;
    rm_train_config_defaults(&c);
    c.command_line = cli_command_line();
    int done, rc = parse(argc, argv, &c, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    return rm_train(&c) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
