/* relmask ingest FORMAT INPUT --out FILE.h5: real FER data into the schema. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "ingest/ingest.h"
#include "core/progress.h"

static const char help[] =
    "usage: relmask ingest FORMAT INPUT --out FILE.h5 [options]\n"
    "\n"
    "Converts a facial expression (or digit) dataset into a relmask dataset file.\n"
    "\n"
    "formats:\n"
    "  fer2013  INPUT is the CSV (emotion,pixels,Usage); Usage gives the split\n"
    "  folder   INPUT is root/<class>/*.{png,jpg,jpeg,pgm,ppm,tif,tiff}, or\n"
    "           root/{train,val,test}/<class>/* (splits from the folders)\n"
    "  jaffe    INPUT is the folder of JAFFE TIFFs (KA.HA1.29.tiff: code HA = happy)\n"
    "  ckplus   INPUT holds cohn-kanade-images/ and Emotion/ (CK+)\n"
    "  idx      INPUT is an IDX image file, plain or .gz (MNIST, Fashion-MNIST)\n"
    "  npy      INPUT is an NPY array [N,H,W], [N,H,W,C] or [N,C,H,W] (uint8 or float)\n"
    "\n"
    "options:\n"
    "  -o, --out FILE.h5       output dataset (written atomically)\n"
    "  -f, --force             overwrite an existing output\n"
    "  -s, --size N|WxH        output image size (default: the format's own, else 48)\n"
    "      --channels 1|3      1 = grayscale (default), 3 = RGB\n"
    "      --val F             validation fraction for records without a split (0.1)\n"
    "      --test F            test fraction for records without a split (0.1)\n"
    "      --seed N            seed of the stratified split (1)\n"
    "      --classes LIST      the dataset's classes, in order: names, comma-separated,\n"
    "                          or a preset: fer2013, fer7, jaffe, synth, ckplus, mnist,\n"
    "                          fashion-mnist. folder/jaffe/ckplus: each class folder or\n"
    "                          code goes to the entry of its name; fer2013/idx/npy: the\n"
    "                          names of labels 0, 1, ...\n"
    "      --skip-bad          skip bad records (counted and reported) instead of failing\n"
    "      --deflate N         compression level 0-9 (4)\n"
    "  -q, --quiet             no progress output\n"
    "format options:\n"
    "      --class-map FILE    folder: lines 'folder' or 'folder=class name', in class order\n"
    "      --ck-neutral        ckplus: add each sequence's first frame as neutral\n"
    "      --ck-peak-frames K  ckplus: label the last K frames of a sequence (1)\n"
    "      --labels FILE       idx/npy: the labels file (required)\n"
    "      --test-images FILE  idx: test images (their split is test)\n"
    "      --test-labels FILE  idx: test labels\n"
    "      --float-max X       npy float input: the value that maps to 255 (1.0)\n"
    "\n"
    "Records of formats without a split are split per class (stratified) into\n"
    "train/val/test by --val/--test. Exit codes: 0 ok, 1 bad input or I/O error\n"
    "(nothing is written), 2 usage error.\n";

enum {
    OPT_CHANNELS = 256, OPT_VAL, OPT_TEST, OPT_SEED, OPT_CLASSES, OPT_SKIP_BAD, OPT_DEFLATE,
    OPT_CLASS_MAP, OPT_CK_NEUTRAL, OPT_CK_PEAK, OPT_LABELS, OPT_TEST_IMAGES, OPT_TEST_LABELS,
    OPT_FLOAT_MAX,
};

static const struct option longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"out", required_argument, NULL, 'o'},
    {"force", no_argument, NULL, 'f'},
    {"size", required_argument, NULL, 's'},
    {"quiet", no_argument, NULL, 'q'},
    {"channels", required_argument, NULL, OPT_CHANNELS},
    {"val", required_argument, NULL, OPT_VAL},
    {"test", required_argument, NULL, OPT_TEST},
    {"seed", required_argument, NULL, OPT_SEED},
    {"classes", required_argument, NULL, OPT_CLASSES},
    {"skip-bad", no_argument, NULL, OPT_SKIP_BAD},
    {"deflate", required_argument, NULL, OPT_DEFLATE},
    {"class-map", required_argument, NULL, OPT_CLASS_MAP},
    {"ck-neutral", no_argument, NULL, OPT_CK_NEUTRAL},
    {"ck-peak-frames", required_argument, NULL, OPT_CK_PEAK},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"test-images", required_argument, NULL, OPT_TEST_IMAGES},
    {"test-labels", required_argument, NULL, OPT_TEST_LABELS},
    {"float-max", required_argument, NULL, OPT_FLOAT_MAX},
    {NULL, 0, NULL, 0},
};

static const struct {
    const char *name;
    int (*ingest)(const char *input, const rm_ingest_options *opt);
} formats[] = {
    {"fer2013", rm_ingest_fer2013}, {"folder", rm_ingest_folder}, {"jaffe", rm_ingest_jaffe},
    {"ckplus", rm_ingest_ckplus},   {"idx", rm_ingest_idx},       {"npy", rm_ingest_npy},
};

/* Returns 0 to go on, or the exit code to stop with (help, usage error). */
static int parse_options(int argc, char **argv, rm_ingest_options *opt, int *done)
{
    int c;
    long v;
    opterr = 0;
    *done = 0;
    while ((c = getopt_long(argc, argv, ":ho:fs:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'o': opt->out_path = optarg; break;
        case 'f': opt->force = 1; break;
        case 's':
            if (cli_parse_size("ingest", "--size", optarg, &opt->width, &opt->height)) return RM_EXIT_USAGE;
            break;
        case 'q': rm_progress_set_quiet(1); rm_log_set_quiet(1); break;
        case OPT_CHANNELS:
            if (cli_parse_int("ingest", "--channels", optarg, 1, 3, &v) || v == 2)
                return v == 2 ? cli_usage_error("ingest", "--channels 2: expected 1 or 3") : RM_EXIT_USAGE;
            opt->channels = (int)v;
            break;
        case OPT_VAL:
            if (cli_parse_double("ingest", "--val", optarg, 0, 0.99, &opt->split.val_fraction)) return RM_EXIT_USAGE;
            break;
        case OPT_TEST:
            if (cli_parse_double("ingest", "--test", optarg, 0, 0.99, &opt->split.test_fraction)) return RM_EXIT_USAGE;
            break;
        case OPT_SEED:
            if (cli_parse_u64("ingest", "--seed", optarg, &opt->split.seed)) return RM_EXIT_USAGE;
            break;
        case OPT_CLASSES: opt->classes = optarg; break;
        case OPT_SKIP_BAD: opt->skip_bad = 1; break;
        case OPT_DEFLATE:
            if (cli_parse_int("ingest", "--deflate", optarg, 0, 9, &v)) return RM_EXIT_USAGE;
            opt->deflate_level = (int)v;
            break;
        case OPT_CLASS_MAP: opt->class_map = optarg; break;
        case OPT_CK_NEUTRAL: opt->ck_neutral_first = 1; break;
        case OPT_CK_PEAK:
            if (cli_parse_int("ingest", "--ck-peak-frames", optarg, 1, 100, &v)) return RM_EXIT_USAGE;
            opt->ck_peak_frames = (int)v;
            break;
        case OPT_LABELS: opt->labels_path = optarg; break;
        case OPT_TEST_IMAGES: opt->test_images = optarg; break;
        case OPT_TEST_LABELS: opt->test_labels = optarg; break;
        case OPT_FLOAT_MAX:
            if (cli_parse_double("ingest", "--float-max", optarg, 1e-30, 1e30, &opt->float_max)) return RM_EXIT_USAGE;
            break;
        default: return cli_bad_option("ingest", c, argv);
        }
    }
    if (opt->split.val_fraction + opt->split.test_fraction >= 1.0)
        return cli_usage_error("ingest", "--val %g plus --test %g must be below 1", opt->split.val_fraction,
                               opt->split.test_fraction);
    return RM_EXIT_OK;
}

int cmd_ingest(int argc, char **argv)
{
    rm_ingest_options opt;
    rm_ingest_options_init(&opt);
    opt.command_line = cli_command_line();
    int done, rc = parse_options(argc, argv, &opt, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    if (argc - optind != 2)
        return cli_usage_error("ingest", "expected FORMAT and INPUT, got %d argument(s)", argc - optind);
    if (!opt.out_path) return cli_usage_error("ingest", "--out FILE.h5 is required");
    const char *format = argv[optind], *input = argv[optind + 1];
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(format, formats[i].name) != 0) continue;
        if ((!strcmp(format, "idx") || !strcmp(format, "npy")) && !opt.labels_path)
            return cli_usage_error("ingest", "%s needs --labels FILE", format);
        if (!!opt.test_images != !!opt.test_labels)
            return cli_usage_error("ingest", "--test-images and --test-labels go together");
        if (formats[i].ingest(input, &opt) != 0) return cli_runtime_error();
        return RM_EXIT_OK;
    }
    return cli_usage_error("ingest", "unknown format '%s' (expected fer2013, folder, jaffe, ckplus, idx or npy)",
                           format);
}
