/* relmask relevance import (--png DIR | --npy FILE | --hdf5 FILE --dataset
 * NAME | --fixations FILE.csv) --data D.h5 --out R.h5: the options, over
 * rm_relevance_import (src/relevance/import.h). */
#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "relevance/import.h"

typedef struct {
    rm_import_options o;
    int sources;                  /* --png, --npy, --hdf5 and --fixations given */
    long long block;
} import_options;

static int set_source(void *t, rm_import_source s, const char *input)
{
    import_options *io = t;
    io->sources++;
    io->o.source = s;
    io->o.input = input;
    return RM_EXIT_OK;
}

static int set_png(void *t, const char *value, const char *cmd) { return set_source(t, RM_IMPORT_PNG, value); }
static int set_npy(void *t, const char *value, const char *cmd) { return set_source(t, RM_IMPORT_NPY, value); }
static int set_hdf5(void *t, const char *value, const char *cmd) { return set_source(t, RM_IMPORT_HDF5, value); }
static int set_fixations(void *t, const char *value, const char *cmd)
{
    return set_source(t, RM_IMPORT_FIXATIONS, value);
}

static int check(void *t, const char *cmd)
{
    import_options *io = t;
    rm_import_options *o = &io->o;
    if (io->sources != 1) return cli_usage_error(cmd, "give exactly one of --png, --npy, --hdf5 and --fixations");
    if (!o->data_path) return cli_usage_error(cmd, "--data FILE is required");
    if (!o->out_path) return cli_usage_error(cmd, "--out FILE is required");
    rm_import_source s = o->source;
    if (s == RM_IMPORT_HDF5 && !o->hdf5_dataset) return cli_usage_error(cmd, "--hdf5 needs --dataset NAME");
    if (s != RM_IMPORT_HDF5 && o->hdf5_dataset) return cli_usage_error(cmd, "--dataset belongs to --hdf5");
    if (s != RM_IMPORT_HDF5 && o->indices_dataset) return cli_usage_error(cmd, "--indices-dataset belongs to --hdf5");
    if (s != RM_IMPORT_NPY && o->indices_npy) return cli_usage_error(cmd, "--indices-npy belongs to --npy");
    if (s != RM_IMPORT_PNG && (o->names_path || o->png_signed || o->allow_missing))
        return cli_usage_error(cmd, "--names, --signed and --allow-missing belong to --png");
    if (s != RM_IMPORT_FIXATIONS && (o->normalized || o->sigma > 0))
        return cli_usage_error(cmd, "--normalized and --sigma belong to --fixations");
    o->block = (int64_t)io->block;
    return RM_EXIT_OK;
}

#define CLI_TARGET import_options
static const cli_option options[] = {
    CLI_HELP_TEXT("SOURCE, one of:"),
    CLI_OPT_CALL(0, "png", "DIR", set_png, "heatmap images (gray or RGB -> BT.601 luma) named\n"
                                           "<record>.png, resized to the dataset's size;\n"
                                           "value v/255, or (v-128)/127 with --signed"),
    CLI_OPT_CALL(0, "npy", "FILE", set_npy, "float32/float64 (or integer) array [N,H,W] or\n"
                                            "[N,1,H,W]; row i explains record i"),
    CLI_OPT_CALL(0, "hdf5", "FILE", set_hdf5, "the same from an HDF5 file, with --dataset NAME"),
    CLI_OPT_CALL(0, "fixations", "CSV", set_fixations, "eye-tracking fixations: a header naming image, x,\n"
                                                       "y, duration (any order, other columns ignored);\n"
                                                       "image = record index, x/y in pixels (pixel i is\n"
                                                       "centred at i), duration in ms weighs the fixation;\n"
                                                       "density = sum of Gaussians, summing to 1 per image"),
    CLI_HELP_TEXT("\noptions:"),
    CLI_OPT_STRING('d', "data", "FILE", o.data_path, "the dataset the maps belong to (required)"),
    CLI_OPT_STRING('o', "out", "FILE", o.out_path, "the relevance file (required)"),
    CLI_OPT_SPLIT('s', "split", o.split, "all (default), train, val or test: import only\n"
                                         "maps of records of this split"),
    CLI_OPT_STRING(0, "names", "FILE", o.names_path, "--png: CSV 'index,filename' (optional header line\n"
                                                     "'index,filename'; names relative to DIR)"),
    CLI_OPT_FLAG(0, "signed", o.png_signed, "--png: 128 is zero, 0 is -1, 255 is +1"),
    CLI_OPT_FLAG(0, "allow-missing", o.allow_missing, "--png: leave out records without a file instead\n"
                                                      "of stopping"),
    CLI_OPT_STRING(0, "dataset", "NAME", o.hdf5_dataset, "--hdf5: path of the array in the file"),
    CLI_OPT_STRING(0, "indices-npy", "FILE", o.indices_npy, "--npy: int array, the record index of each row"),
    CLI_OPT_STRING(0, "indices-dataset", "NAME", o.indices_dataset, "--hdf5: the same as a dataset in the file"),
    CLI_OPT_FLAG(0, "normalized", o.normalized, "--fixations: x, y in [0, 1] of width and height"),
    CLI_OPT_DOUBLE(0, "sigma", "PX", o.sigma, 0.1, 4096, "--fixations: Gaussian sigma in pixels\n"
                                                         "(default: image width / 16)"),
    CLI_OPT_INT(0, "deflate", "N", o.deflate_level, 0, 9, "compression level 0-9 (4)"),
    CLI_OPT_LLONG(0, "block", "N", block, 1, 65536, "maps per write (256)"),
    CLI_OPT_FLAG('f', "force", o.force, "overwrite an existing relevance file"),
    CLI_OPT_QUIET("no progress or summary on stderr"),
    CLI_END,
};

static const cli_command command = {
    .name = "relevance import",
    .usage = "usage: relmask relevance import SOURCE --data D.h5 --out R.h5 [options]\n"
             "\n"
             "Imports relevance computed elsewhere, or human attention, as a relevance\n"
             "file (schema relmask.relevance) that encoding and heatmaps use like LRP\n"
             "output. Each map explains one dataset record: explained = its label,\n"
             "predicted = -1, score = NaN.\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "Every option is stored in the file's 'parameters' attribute with the\n"
              "dataset's path and fingerprint. Bad input stops the import with the file\n"
              "and line or record named, and nothing is written. See docs/relevance.md\n"
              "(Importing external relevance). Exit codes: 0 ok, 1 error, 2 usage error.\n",
    .check = check,
};

int cmd_relevance_import(int argc, char **argv)
{
    import_options io = {0};
    rm_import_options_defaults(&io.o);
    io.o.command_line = cli_command_line();
    io.block = io.o.block;
    int done, rc = cli_parse(&command, argc, argv, &io, &done, NULL);
    if (rc != RM_EXIT_OK || done) return rc;
    return rm_relevance_import(&io.o) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
