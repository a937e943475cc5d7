/* relmask ingest FORMAT INPUT --out FILE.h5: the options, over rm_ingest. */
#include <limits.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "ingest/ingest.h"

static int set_channels(void *t, const char *value, const char *cmd)
{
    long v;
    if (cli_parse_int(cmd, "--channels", value, 1, 3, &v)) return RM_EXIT_USAGE;
    if (v == 2) return cli_usage_error(cmd, "--channels 2: expected 1 or 3");
    ((rm_ingest_options *)t)->channels = (int)v;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    const rm_ingest_options *o = t;
    if (o->split.val_fraction + o->split.test_fraction >= 1.0)
        return cli_usage_error(cmd, "--val %g plus --test %g must be below 1", o->split.val_fraction,
                               o->split.test_fraction);
    return RM_EXIT_OK;
}

#define CLI_TARGET rm_ingest_options
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_STRING('o', "out", "FILE.h5", out_path, "output dataset (written atomically)"),
    CLI_OPT_FLAG('f', "force", force, "overwrite an existing output"),
    CLI_OPT_SIZE('s', "size", "N|WxH", width, height, "output image size (default: the format's own, else 48)"),
    CLI_OPT_CALL(0, "channels", "1|3", set_channels, "1 = grayscale (default), 3 = RGB"),
    CLI_OPT_DOUBLE(0, "val", "F", split.val_fraction, 0, 0.99, "validation fraction for records without a split (0.1)"),
    CLI_OPT_DOUBLE(0, "test", "F", split.test_fraction, 0, 0.99, "test fraction for records without a split (0.1)"),
    CLI_OPT_U64(0, "seed", "N", split.seed, "seed of the stratified split (1)"),
    CLI_OPT_STRING(0, "classes", "LIST", classes, "the dataset's classes, in order: names, comma-separated,\n"
                                                  "or a preset: fer2013, fer7, jaffe, synth, ckplus, mnist,\n"
                                                  "fashion-mnist. folder/jaffe/ckplus: each class folder or\n"
                                                  "code goes to the entry of its name; fer2013/idx/npy: the\n"
                                                  "names of labels 0, 1, ..."),
    CLI_OPT_FLAG(0, "skip-bad", skip_bad, "skip bad records (counted and reported) instead of failing"),
    CLI_OPT_INT(0, "deflate", "N", deflate_level, 0, 9, "compression level 0-9 (4)"),
    CLI_OPT_THREADS("threads decoding images (0 = all cores): folder,\n"
                    "jaffe and ckplus decode in parallel, same output;\n"
                    "fer2013, idx and npy have nothing to decode (no effect)"),
    CLI_OPT_QUIET("no progress output"),
    CLI_HELP_TEXT("format options:"),
    CLI_OPT_STRING(0, "class-map", "FILE", class_map, "folder: lines 'folder' or 'folder=class name', in class order"),
    CLI_OPT_FLAG(0, "unlabeled", unlabeled, "folder: INPUT is a flat folder of images without labels\n"
                                            "(labels -1, split 'unlabeled'); for predict, relevance\n"
                                            "--target pred/all/top:K/contrast and heatmap. --classes\n"
                                            "names the classes (a model's must match); without it the\n"
                                            "file names none and takes the model's"),
    CLI_OPT_FLAG(0, "ck-neutral", ck_neutral_first, "ckplus: add each sequence's first frame as neutral"),
    CLI_OPT_INT(0, "ck-peak-frames", "K", ck_peak_frames, 1, 100, "ckplus: label the last K frames of a sequence (1)"),
    CLI_OPT_STRING(0, "labels", "FILE", labels_path, "idx/npy: the labels file (required)"),
    CLI_OPT_STRING(0, "test-images", "FILE", test_images, "idx: test images (their split is test)"),
    CLI_OPT_STRING(0, "test-labels", "FILE", test_labels, "idx: test labels"),
    CLI_OPT_DOUBLE(0, "float-max", "X", float_max, 1e-30, 1e30, "npy float input: the value that maps to 255 (1.0)"),
    CLI_END,
};

static const cli_command command = {
    .name = "ingest",
    .usage = "usage: relmask ingest FORMAT INPUT --out FILE.h5 [options]\n"
             "\n"
             "Converts a facial expression (or digit) dataset into a relmask dataset file.\n"
             "\n"
             "formats:\n"
             "  fer2013  INPUT is the CSV (emotion,pixels,Usage); Usage gives the split\n"
             "  folder   INPUT is root/<class>/*.{png,jpg,jpeg,pgm,ppm,tif,tiff}, or\n"
             "           root/{train,val,test}/<class>/* (splits from the folders), or\n"
             "           with --unlabeled a flat folder root/*.{png,...} without labels\n"
             "  jaffe    INPUT is the folder of JAFFE TIFFs (KA.HA1.29.tiff: code HA = happy)\n"
             "  ckplus   INPUT holds cohn-kanade-images/ and Emotion/ (CK+)\n"
             "  idx      INPUT is an IDX image file, plain or .gz (MNIST, Fashion-MNIST)\n"
             "  npy      INPUT is an NPY array [N,H,W], [N,H,W,C] or [N,C,H,W] (uint8 or float)\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "Records of formats without a split are split per class (stratified) into\n"
              "train/val/test by --val/--test. Exit codes: 0 ok, 1 bad input or I/O error\n"
              "(nothing is written), 2 usage error.\n",
    .help_column = 26,
    .max_args = INT_MAX,   /* counted below, with the message of the old parser */
    .check = check,
};

int cmd_ingest(int argc, char **argv)
{
    rm_ingest_options opt;
    rm_ingest_options_init(&opt);
    opt.command_line = cli_command_line();
    int done, first, rc = cli_parse(&command, argc, argv, &opt, &done, &first);
    if (rc != RM_EXIT_OK || done) return rc;
    if (argc - first != 2)
        return cli_usage_error("ingest", "expected FORMAT and INPUT, got %d argument(s)", argc - first);
    if (!opt.out_path) return cli_usage_error("ingest", "--out FILE.h5 is required");
    opt.format = argv[first];
    opt.input = argv[first + 1];
    if (rm_ingest_check(&opt) != 0) return cli_usage_error("ingest", "%s", rm_error_message());
    return rm_ingest(&opt) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
