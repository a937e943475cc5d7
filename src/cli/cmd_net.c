/* relmask net NAME|FILE|MODEL.h5 [--speed]: a network's layers, shapes, parameters
 * and FLOPs; --speed also times inference and training steps (rm_net_speed). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "nn/model_file.h"
#include "nn/netdef.h"
#include "train/net_speed.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static void print_table(const rm_netdef *d)
{
    printf("%s: input %dx%dx%d, %d classes\n\n", d->name, d->input.c, d->input.h, d->input.w, d->classes);
    cli_print_layers(d);
}

typedef struct {
    int speed, batch;
} net_options;

#define CLI_TARGET net_options
static const cli_option options[] = {
    CLI_HELP_TEXT("options:"),
    CLI_OPT_FLAG('s', "speed", speed, "also time inference and training steps"),
    CLI_OPT_INT('b', "batch", "N", batch, 1, 65536, "batch of the timed training steps (64)"),
    CLI_OPT_THREADS("threads (0 = all cores)"),
    CLI_END,
};

static const cli_command command = {
    .name = "net",
    .usage = "usage: relmask net NAME|FILE.cfg|MODEL.h5 [--speed] [--batch N] [--threads N]\n"
             "\n"
             "Prints the layers of a network definition (or a model file's network, an\n"
             "imported graph too) with their output shapes, parameter counts and\n"
             "forward FLOPs. --speed builds the network and times\n"
             "inference (batch 256) and training steps (--batch, 64) on random data.\n"
             "\n",
    .options = options,
    .max_args = INT_MAX,   /* counted below, with the message of the old parser */
};

int cmd_net(int argc, char **argv)
{
    net_options o = {.batch = 64};
    int done, first, rc = cli_parse(&command, argc, argv, &o, &done, &first);
    if (rc != RM_EXIT_OK || done) return rc;
    if (argc - first != 1) return cli_usage_error("net", "expected one network name or .cfg file");
    rm_netdef d;
    if (ends_with(argv[first], ".h5")) {
        /* a model file: its network, e.g. an imported graph */
        rm_model m;
        if (rm_model_load(&m, argv[first]) != 0) return cli_runtime_error();
        rc = rm_netdef_parse(&d, m.def.text, argv[first]);
        rm_model_free(&m);
        if (rc != 0) return cli_runtime_error();
    } else if (rm_netdef_find(&d, argv[first]) != 0) {
        return cli_runtime_error();
    }
    print_table(&d);
    if (o.speed) {
        double infer, train;
        rc = rm_net_speed(&d, 256, RM_MODE_INFER, &infer);
        if (rc == 0) rc = rm_net_speed(&d, o.batch, RM_MODE_TRAIN, &train);
        if (rc == 0)
            printf("\nspeed: inference %.0f img/s (batch 256, %.1f GFLOP/s), training %.0f img/s (batch %d, "
                   "%.1f GFLOP/s counting 3x forward)\n",
                   infer, infer * (double)rm_netdef_flops(&d) / 1e9, train, o.batch,
                   3 * train * (double)rm_netdef_flops(&d) / 1e9);
    }
    rm_netdef_free(&d);
    return rc == 0 ? RM_EXIT_OK : cli_runtime_error();
}
