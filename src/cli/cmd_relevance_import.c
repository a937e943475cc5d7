/* relmask relevance import (--png DIR | --npy FILE | --hdf5 FILE --dataset
 * NAME | --fixations FILE.csv) --data D.h5 --out R.h5: external relevance
 * into the relevance-file schema (src/relevance/import.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "relevance/import.h"
#include "train/train.h"

static const char help[] =
    "usage: relmask relevance import SOURCE --data D.h5 --out R.h5 [options]\n"
    "\n"
    "Imports relevance computed elsewhere, or human attention, as a relevance\n"
    "file (schema relmask.relevance) that encoding and heatmaps use like LRP\n"
    "output. Each map explains one dataset record: explained = its label,\n"
    "predicted = -1, score = NaN.\n"
    "\n"
    "SOURCE, one of:\n"
    "      --png DIR          heatmap images (gray or RGB -> BT.601 luma) named\n"
    "                         <record>.png, resized to the dataset's size;\n"
    "                         value v/255, or (v-128)/127 with --signed\n"
    "      --npy FILE         float32/float64 (or integer) array [N,H,W] or\n"
    "                         [N,1,H,W]; row i explains record i\n"
    "      --hdf5 FILE        the same from an HDF5 file, with --dataset NAME\n"
    "      --fixations CSV    eye-tracking fixations: a header naming image, x,\n"
    "                         y, duration (any order, other columns ignored);\n"
    "                         image = record index, x/y in pixels (pixel i is\n"
    "                         centred at i), duration in ms weighs the fixation;\n"
    "                         density = sum of Gaussians, summing to 1 per image\n"
    "\n"
    "options:\n"
    "  -d, --data FILE        the dataset the maps belong to (required)\n"
    "  -o, --out FILE         the relevance file (required)\n"
    "  -s, --split NAME       all (default), train, val or test: import only\n"
    "                         maps of records of this split\n"
    "      --names FILE       --png: CSV 'index,filename' (optional header line\n"
    "                         'index,filename'; names relative to DIR)\n"
    "      --signed           --png: 128 is zero, 0 is -1, 255 is +1\n"
    "      --allow-missing    --png: leave out records without a file instead\n"
    "                         of stopping\n"
    "      --dataset NAME     --hdf5: path of the array in the file\n"
    "      --indices-npy FILE --npy: int array, the record index of each row\n"
    "      --indices-dataset NAME  --hdf5: the same as a dataset in the file\n"
    "      --normalized       --fixations: x, y in [0, 1] of width and height\n"
    "      --sigma PX         --fixations: Gaussian sigma in pixels\n"
    "                         (default: image width / 16)\n"
    "      --deflate N        compression level 0-9 (4)\n"
    "      --block N          maps per write (256)\n"
    "  -f, --force            overwrite an existing relevance file\n"
    "  -q, --quiet            no progress or summary on stderr\n"
    "\n"
    "Every option is stored in the file's 'parameters' attribute with the\n"
    "dataset's path and fingerprint. Bad input stops the import with the file\n"
    "and line or record named, and nothing is written. See docs/relevance.md\n"
    "(Importing external relevance). Exit codes: 0 ok, 1 error, 2 usage error.\n";

static const char *const cmd = "relevance import";

static int set_source(rm_import_options *o, int *sources, rm_import_source s, const char *input)
{
    (*sources)++;
    o->source = s;
    o->input = input;
    return 0;
}

static int parse(int argc, char **argv, rm_import_options *o, int *done)
{
    enum {
        OPT_PNG = 256, OPT_NPY, OPT_HDF5, OPT_FIX, OPT_NAMES, OPT_SIGNED, OPT_MISSING, OPT_DATASET,
        OPT_INDICES_NPY, OPT_INDICES_DATASET, OPT_NORMALIZED, OPT_SIGMA, OPT_DEFLATE, OPT_BLOCK,
    };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"png", required_argument, NULL, OPT_PNG},
        {"npy", required_argument, NULL, OPT_NPY},
        {"hdf5", required_argument, NULL, OPT_HDF5},
        {"fixations", required_argument, NULL, OPT_FIX},
        {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"split", required_argument, NULL, 's'},
        {"names", required_argument, NULL, OPT_NAMES},
        {"signed", no_argument, NULL, OPT_SIGNED},
        {"allow-missing", no_argument, NULL, OPT_MISSING},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"indices-npy", required_argument, NULL, OPT_INDICES_NPY},
        {"indices-dataset", required_argument, NULL, OPT_INDICES_DATASET},
        {"normalized", no_argument, NULL, OPT_NORMALIZED},
        {"sigma", required_argument, NULL, OPT_SIGMA},
        {"deflate", required_argument, NULL, OPT_DEFLATE},
        {"block", required_argument, NULL, OPT_BLOCK},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    int ch, sources = 0;
    long v;
    double d;
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hd:o:s:fq", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case OPT_PNG: set_source(o, &sources, RM_IMPORT_PNG, optarg); break;
        case OPT_NPY: set_source(o, &sources, RM_IMPORT_NPY, optarg); break;
        case OPT_HDF5: set_source(o, &sources, RM_IMPORT_HDF5, optarg); break;
        case OPT_FIX: set_source(o, &sources, RM_IMPORT_FIXATIONS, optarg); break;
        case 'd': o->data_path = optarg; break;
        case 'o': o->out_path = optarg; break;
        case 's':
            if (rm_split_parse(optarg, &o->split) != 0) return cli_usage_error(cmd, "--split: %s", rm_error_message());
            break;
        case OPT_NAMES: o->names_path = optarg; break;
        case OPT_SIGNED: o->png_signed = 1; break;
        case OPT_MISSING: o->allow_missing = 1; break;
        case OPT_DATASET: o->hdf5_dataset = optarg; break;
        case OPT_INDICES_NPY: o->indices_npy = optarg; break;
        case OPT_INDICES_DATASET: o->indices_dataset = optarg; break;
        case OPT_NORMALIZED: o->normalized = 1; break;
        case OPT_SIGMA:
            if (cli_parse_double(cmd, "--sigma", optarg, 0.1, 4096, &d)) return RM_EXIT_USAGE;
            o->sigma = d;
            break;
        case OPT_DEFLATE:
            if (cli_parse_int(cmd, "--deflate", optarg, 0, 9, &v)) return RM_EXIT_USAGE;
            o->deflate_level = (int)v;
            break;
        case OPT_BLOCK:
            if (cli_parse_int(cmd, "--block", optarg, 1, 65536, &v)) return RM_EXIT_USAGE;
            o->block = v;
            break;
        case 'f': o->force = 1; break;
        case 'q': rm_progress_set_quiet(1); rm_log_set_quiet(1); break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (sources != 1) return cli_usage_error(cmd, "give exactly one of --png, --npy, --hdf5 and --fixations");
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
    return RM_EXIT_OK;
}

int cmd_relevance_import(int argc, char **argv)
{
    rm_import_options o;
    rm_import_options_defaults(&o);
    o.command_line = cli_command_line();
    int done, rc = parse(argc, argv, &o, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    if (rm_relevance_import(&o) != 0) return cli_runtime_error();
    rm_log("%s: relevance imported (%s) from %s", o.out_path, rm_import_method(o.source), o.input);
    return RM_EXIT_OK;
}
