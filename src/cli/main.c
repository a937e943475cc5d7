/* relmask: relevance-based data masking. `relmask <command> [options]`;
 * exit codes 0 ok, 1 runtime error, 2 usage error; SIGINT/SIGTERM/SIGHUP end
 * the process by that signal (src/core/output.c). */
#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "cli/cli.h"
#include "core/dataset.h"
#include "core/error.h"
#include "core/output.h"
#include "core/ranks.h"
#include "core/version.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"synth", cmd_synth, "render synthetic expression faces (the embedded default dataset)"},
    {"ingest", cmd_ingest, "convert FER2013 CSV, image folders, JAFFE, CK+, IDX or NPY to a dataset"},
    {"subset", cmd_subset, "draw class-stratified subsets of a dataset (scarce target / source sets)"},
    {"import", cmd_import, "make an ONNX or TF.js network a relmask model (to predict, explain, fine-tune)"},
    {"train", cmd_train, "train a network on a dataset (best model, history, checkpoints)"},
    {"eval", cmd_eval, "evaluate a model on a dataset split (accuracy, per-class metrics, confusion)"},
    {"predict", cmd_predict, "write a model's logits, probabilities and predicted classes for a dataset"},
    {"relevance", cmd_relevance, "a relevance map per record: LRP, occlusion; 'relevance import' for external maps"},
    {"relevance-eval", cmd_relevance_eval, "quality of relevance maps: region perturbation (AOPC), ground-truth regions"},
    {"heatmap", cmd_heatmap, "draw PNG montages of images with their relevance heatmaps"},
    {"encode", cmd_encode, "encode relevance maps into a dataset's images (masking, blur, relevance channel)"},
    {"report", cmd_report, "summarize an experiment: learning curves, tables, tests, montages (md/html/csv)"},
    {"study", cmd_study, "summarize a sweep of experiments: one table, Holm across all comparisons, findings"},
    {"net", cmd_net, "show a network's layers, shapes, parameters, FLOPs (--speed: timings)"},
    {"info", cmd_info, "summarize any relmask HDF5 file"},
};
enum { NUM_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: relmask <command> [options]\n"
            "\n"
            "Relevance-based data masking: transfer a model's knowledge to a new model\n"
            "through the training data. Every stage reads and writes HDF5 files.\n"
            "\n"
            "commands:\n");
    for (int i = 0; i < (int)NUM_COMMANDS; i++)
        fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "'relmask <command> --help' (or 'relmask help <command>') describes each\n"
            "command.\n"
            "Exit codes: 0 success, 1 runtime error, 2 usage error. SIGINT, SIGTERM and\n"
            "SIGHUP end a command by that signal (130, 143, 129 in a shell) after removing\n"
            "its temporary files; checkpoints and partial files stay for --resume.\n");
}

/* The commands that divide their work among MPI ranks; any other would
 * run whole on every rank, each writing the same output. */
static int sharded(int argc, char **argv)
{
    if (!strcmp(argv[0], "train") || !strcmp(argv[0], "predict") || !strcmp(argv[0], "encode")) return 1;
    return !strcmp(argv[0], "relevance") && (argc < 2 || strcmp(argv[1], "import") != 0);
}

static int run_command(int argc, char **argv);

int main(int argc, char **argv)
{
    if (rm_ranks_init(&argc, &argv) != 0) {
        fprintf(stderr, "relmask: error: %s\n", rm_error_message());
        return RM_EXIT_RUNTIME;
    }
    int rc = run_command(argc, argv);
    rm_ranks_finalize(rc);
    return rc;
}

static int run_command(int argc, char **argv)
{
    /* HDF5 1.10 keeps a file whose H5Fclose failed (a full disk) in its
     * table and crashes closing it again in its exit handler
     * (HDFFV-11052): shut it down ourselves, and only after a success. */
    H5dont_atexit();
    cli_set_command_line(argc, argv);
    rm_output_install_signal_handlers();
    if (argc < 2) {
        usage(stderr);
        return RM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || (!strcmp(cmd, "help") && argc == 2)) {
        usage(stdout);
        return RM_EXIT_OK;
    }
    /* help CMD [SUB...]: what CMD [SUB...] --help prints. */
    static char help_flag[] = "--help";
    char *help_argv[18];
    if (!strcmp(cmd, "help")) {
        int k = 0;
        help_argv[k++] = argv[0];
        for (int i = 2; i < argc && k < 16; i++) help_argv[k++] = argv[i];
        help_argv[k++] = help_flag;
        help_argv[k] = NULL;
        argc = k;
        argv = help_argv;
        cmd = argv[1];
        if (!strcmp(cmd, "help") || !strcmp(cmd, "--help")) {   /* help help */
            usage(stdout);
            return RM_EXIT_OK;
        }
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("%s\n", rm_version_string());
        return RM_EXIT_OK;
    }
    for (int i = 0; i < (int)NUM_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) {
            if (rm_ranks_size() > 1 && !sharded(argc - 1, argv + 1)) {
                if (rm_ranks_rank() == 0)
                    fprintf(stderr, "relmask %s: runs as one process, but mpirun started %d; under mpirun only "
                            "'relmask relevance', 'train', 'predict' and 'encode' share their work among the ranks "
                            "(docs/scale.md)\n", cmd,
                            rm_ranks_size());
                return RM_EXIT_USAGE;
            }
            rm_dataset_set_command(commands[i].name);   /* names the command refusing an unlabeled file */
            int rc = commands[i].run(argc - 1, argv + 1);
            if (rc == RM_EXIT_OK) H5close();
            return rc;
        }
    const char *names[NUM_COMMANDS];
    for (int i = 0; i < (int)NUM_COMMANDS; i++) names[i] = commands[i].name;
    const char *near = cli_nearest(cmd, names, NUM_COMMANDS);
    /* a likely typo gets the suggestion alone; otherwise the list of commands */
    if (near) {
        fprintf(stderr, "relmask: unknown command '%s'; did you mean '%s'?\nTry 'relmask --help'.\n", cmd, near);
        return RM_EXIT_USAGE;
    }
    fprintf(stderr, "relmask: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return RM_EXIT_USAGE;
}
