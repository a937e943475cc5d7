/* relmask import onnx|tfjs MODEL --out MODEL.h5: the options, over
 * rm_import_onnx and rm_import_tfjs (src/import/import.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "import/import.h"

typedef struct {
    rm_import_options o;
    const char *mean, *std;
} import_options;

/* "0.5" or "0.485,0.456,0.406": 1 to RM_IMPORT_MAX_CHANNELS finite numbers */
static int parse_values(const char *text, const char *opt, double *out, int *count, int positive)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        if (n == RM_IMPORT_MAX_CHANNELS)
            return cli_usage_error("import", "%s '%s': at most %d values (one per channel)", opt, text,
                                   RM_IMPORT_MAX_CHANNELS);
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !(v == v) || v > 1e30 || v < -1e30 || (*end && *end != ','))
            return cli_usage_error("import", "%s '%s': expected numbers separated by commas", opt, text);
        if (positive && !(v > 0)) return cli_usage_error("import", "%s '%s': every value must be > 0", opt, text);
        out[n++] = v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return cli_usage_error("import", "%s '%s': a value is missing after the last comma", opt, text);
    }
    if (n == 0) return cli_usage_error("import", "%s: no value", opt);
    *count = n;
    return RM_EXIT_OK;
}

static int check(void *t, const char *cmd)
{
    import_options *io = t;
    if (!io->o.out_path) return cli_usage_error(cmd, "--out FILE.h5 is required");
    if (io->mean && parse_values(io->mean, "--mean", io->o.mean, &io->o.num_mean, 0)) return RM_EXIT_USAGE;
    if (io->std && parse_values(io->std, "--std", io->o.std, &io->o.num_std, 1)) return RM_EXIT_USAGE;
    return RM_EXIT_OK;
}

#define CLI_TARGET import_options
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_STRING('o', "out", "FILE.h5", o.out_path, "the relmask model file (written atomically)"),
    CLI_OPT_FLAG('f', "force", o.force, "overwrite an existing output"),
    CLI_OPT_STRING(0, "classes", "LIST", o.classes, "the model's classes in output order: names, comma-separated,\n"
                                                   "or fer2013, fer7, jaffe, synth, ckplus, mnist, fashion-mnist\n"
                                                   "(default: 0, 1, ...; they must match a dataset's to use it)"),
    CLI_OPT_STRING(0, "class-order", "LIST", o.class_order,
                   "reorder the outputs to these classes, the order of the data\n"
                   "the model will meet (names or a preset; anger = angry,\n"
                   "sadness = sad, ...); the model takes these names"),
    CLI_OPT_STRING(0, "mean", "M[,M...]", mean, "what the model expects of an image x: (x/255 - mean) / std,\n"
                                                "one value or one per channel (default 0)"),
    CLI_OPT_STRING(0, "std", "S[,S...]", std, "(default 1)"),
    CLI_OPT_SIZE('s', "size", "N|WxH", o.width, o.height, "the input size: needed when the model's is symbolic;\n"
                                                  "another size runs a fully convolutional model"),
    CLI_OPT_STRING(0, "name", "NAME", o.name, "the network's name (default: the file name)"),
    CLI_OPT_QUIET("no log line"),
    CLI_END,
};
#undef CLI_TARGET

static const cli_command command = {
    .name = "import",
    .usage = "usage: relmask import onnx MODEL.onnx --out MODEL.h5 [options]\n"
             "       relmask import tfjs model.json --out MODEL.h5 [options]\n"
             "\n"
             "Makes a network trained elsewhere a relmask model: predict, explain (LRP),\n"
             "fine-tune it, or use it as the source model of make experiment.\n"
             "\n"
             "formats:\n"
             "  onnx   ONNX opsets 9-17 as torch.onnx.export writes them: a chain or graph of\n"
             "         Conv (grouped too), Add and Concat of tensors,\n"
             "         BatchNormalization, Relu, Clip(0, max), LeakyRelu, MaxPool, AveragePool,\n"
             "         GlobalAveragePool, ReduceMean over H and W,\n"
             "         Flatten/Reshape, Gemm or MatMul (+ Add), Dropout; a final Softmax is\n"
             "         dropped (relmask models output logits); constant arithmetic before the\n"
             "         first layer becomes the input normalization\n"
             "  tfjs   a TensorFlow.js graph model (model.json, its weights manifest and\n"
             "         .bin shards beside it; float32, or uint8/uint16/float16 quantized):\n"
             "         Conv2D, _FusedConv2D (BiasAdd, Relu|Relu6|LeakyRelu), DepthwiseConv2dNative,\n"
             "         MaxPool, AvgPool, AddV2, Relu, Relu6, LeakyRelu, Mean (global pooling),\n"
             "         MatMul, BiasAdd; NHWC\n"
             "         becomes NCHW, 'SAME' padding a symmetric pad\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "Exit codes: 0 ok, 1 a model it cannot import (the message names the node)\n"
              "or an I/O error (nothing is written), 2 usage error.\n",
    .help_column = 24,
    .max_args = INT_MAX,
    .check = check,
};

int cmd_import(int argc, char **argv)
{
    import_options io = {0};
    io.o.command_line = cli_command_line();
    int done, first, rc = cli_parse(&command, argc, argv, &io, &done, &first);
    if (rc != RM_EXIT_OK || done) return rc;
    if (argc - first != 2)
        return cli_usage_error("import", "expected FORMAT and MODEL, got %d argument(s)", argc - first);
    int onnx = !strcmp(argv[first], "onnx"), tfjs = !strcmp(argv[first], "tfjs");
    if (!onnx && !tfjs) return cli_usage_error("import", "unknown format '%s': expected onnx or tfjs", argv[first]);
    io.o.input = argv[first + 1];
    if ((onnx ? rm_import_onnx(&io.o) : rm_import_tfjs(&io.o)) != 0) return cli_runtime_error();
    rm_log("imported %s into %s", io.o.input, io.o.out_path);
    return RM_EXIT_OK;
}
