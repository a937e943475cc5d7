/* relmask subset --data D.h5 --out O.h5 --take SPLIT:COUNT[:AS] ...:
 * seeded, class-stratified subsets (or their complement) as a new dataset. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/dataset.h"
#include "core/error.h"
#include "core/progress.h"
#include "ingest/subset.h"
#include "train/train.h"

static const char help[] =
    "usage: relmask subset --data D.h5 --out O.h5 --take SPLIT:COUNT[:AS] ... [options]\n"
    "\n"
    "Draws records from a dataset's splits into a new dataset, stratified by\n"
    "class and seeded: e.g. a scarce target set and, with --complement and the\n"
    "same takes and seed, the disjoint rest as a source set.\n"
    "\n"
    "  --take train:1000          1000 records of the train split, kept as train\n"
    "  --take train:500:val       500 more train records (not drawn before), as val\n"
    "  --take test:all            every test record left\n"
    "\n"
    "options:\n"
    "  -d, --data FILE        input dataset\n"
    "  -o, --out FILE         output dataset (written atomically)\n"
    "  -T, --take SPEC        SPLIT:COUNT[:AS]; SPLIT train, val, test or all (all\n"
    "                         needs AS); COUNT a number or 'all'; repeatable, drawn\n"
    "                         in order, a record at most once\n"
    "  -c, --complement       write the records NOT drawn, with their own split\n"
    "      --seed N           seed of the draws (1)\n"
    "      --deflate N        compression level 0-9 (4)\n"
    "  -f, --force            overwrite an existing output\n"
    "  -q, --quiet            no progress output\n"
    "\n"
    "Per class, each take draws round(COUNT x the class's share of the pool) by\n"
    "largest remainders. Records keep their order; regions are copied. Exit\n"
    "codes: 0 ok, 1 error, 2 usage error.\n";

enum { MAX_TAKES = 16, OPT_SEED = 256, OPT_DEFLATE, BLOCK = 1024 };

typedef struct {
    const char *data, *out;
    rm_take takes[MAX_TAKES];
    const char *take_text[MAX_TAKES];
    int num_takes, complement, force, deflate;
    uint64_t seed;
} subset_args;

static int parse(int argc, char **argv, subset_args *a, int *done)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},        {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},   {"take", required_argument, NULL, 'T'},
        {"complement", no_argument, NULL, 'c'},  {"seed", required_argument, NULL, OPT_SEED},
        {"deflate", required_argument, NULL, OPT_DEFLATE}, {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},       {NULL, 0, NULL, 0},
    };
    int ch;
    long v;
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hd:o:T:cfq", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'd': a->data = optarg; break;
        case 'o': a->out = optarg; break;
        case 'T':
            if (a->num_takes == MAX_TAKES) return cli_usage_error("subset", "more than %d --take options", MAX_TAKES);
            if (rm_take_parse(optarg, &a->takes[a->num_takes]) != 0)
                return cli_usage_error("subset", "%s", rm_error_message());
            a->take_text[a->num_takes++] = optarg;
            break;
        case 'c': a->complement = 1; break;
        case OPT_SEED:
            if (cli_parse_u64("subset", "--seed", optarg, &a->seed)) return RM_EXIT_USAGE;
            break;
        case OPT_DEFLATE:
            if (cli_parse_int("subset", "--deflate", optarg, 0, 9, &v)) return RM_EXIT_USAGE;
            a->deflate = (int)v;
            break;
        case 'f': a->force = 1; break;
        case 'q':
            rm_log_set_quiet(1);
            rm_progress_set_quiet(1);
            break;
        default: return cli_bad_option("subset", ch, argv);
        }
    }
    if (optind < argc) return cli_usage_error("subset", "unexpected argument '%s'", argv[optind]);
    if (!a->data) return cli_usage_error("subset", "--data FILE is required");
    if (!a->out) return cli_usage_error("subset", "--out FILE is required");
    if (!a->num_takes) return cli_usage_error("subset", "at least one --take SPLIT:COUNT[:AS] is required");
    return RM_EXIT_OK;
}

static int write_subset(const subset_args *a, const rm_dataset *ds, const uint8_t *chosen)
{
    rm_dataset_spec spec = {.channels = ds->channels, .height = ds->height, .width = ds->width,
                            .num_classes = ds->num_classes, .class_names = (const char *const *)ds->class_names,
                            .has_regions = ds->has_regions, .source_format = "subset", .source_path = a->data,
                            .deflate_level = a->deflate};
    size_t rec = (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width, hw = (size_t)ds->height * ds->width;
    uint8_t *images = rm_malloc(rec * BLOCK, "image block"), *regions = NULL;
    if (!images) return -1;
    if (ds->has_regions && !(regions = rm_malloc(hw * BLOCK, "region block"))) {
        free(images);
        return -1;
    }
    rm_dataset_writer *w;
    if (rm_dataset_writer_open(&w, a->out, &spec, a->force) != 0) {
        free(images);
        free(regions);
        return -1;
    }
    char params[2048];
    size_t at = (size_t)snprintf(params, sizeof params, "seed=%llu\ncomplement=%d\n", (unsigned long long)a->seed,
                                 a->complement);
    for (int t = 0; t < a->num_takes && at < sizeof params; t++)
        at += (size_t)snprintf(params + at, sizeof params - at, "take=%s\n", a->take_text[t]);
    rm_progress prog;
    rm_progress_start(&prog, "subset", "img", ds->count);
    int rc = rm_dataset_writer_set_attr(w, "subset_parameters", params);
    for (size_t first = 0; rc == 0 && first < ds->count; first += BLOCK) {
        size_t n = ds->count - first < BLOCK ? ds->count - first : BLOCK;
        int any = 0;
        for (size_t i = 0; i < n && !any; i++) any = chosen[first + i] != RM_SPLIT_UNASSIGNED;
        if (!any) continue;
        rc = rm_dataset_read_images(ds, first, n, images);
        if (rc == 0 && regions) rc = rm_dataset_read_regions(ds, first, n, regions);
        for (size_t i = 0; i < n && rc == 0; i++)
            if (chosen[first + i] != RM_SPLIT_UNASSIGNED)
                rc = rm_dataset_writer_append(w, images + i * rec, ds->labels[first + i], chosen[first + i],
                                              regions ? regions + i * hw : NULL);
        rm_progress_update(&prog, first + n);
    }
    rm_progress_finish(&prog);
    free(images);
    free(regions);
    if (rc != 0) {
        rm_dataset_writer_abort(w);
        return -1;
    }
    rm_split_spec none = {0, 0, a->seed};
    return rm_dataset_writer_finish(w, &none);
}

int cmd_subset(int argc, char **argv)
{
    subset_args a = {.deflate = 4, .seed = 1};
    int done, rc = parse(argc, argv, &a, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    rm_dataset ds;
    if (rm_dataset_open(&ds, a.data) != 0) return cli_runtime_error();
    uint8_t *chosen = rm_malloc(ds.count ? ds.count : 1, "selection");
    rc = chosen ? rm_subset_select(&ds, a.takes, a.num_takes, a.seed, chosen) : -1;
    size_t kept = 0;
    if (rc == 0) {
        for (size_t i = 0; i < ds.count; i++) {
            if (a.complement) chosen[i] = chosen[i] == RM_SPLIT_UNASSIGNED ? ds.split[i] : RM_SPLIT_UNASSIGNED;
            kept += chosen[i] != RM_SPLIT_UNASSIGNED;
        }
        if (!kept) rc = rm_error("%s: the subset is empty", a.data);
    }
    if (rc == 0) rc = write_subset(&a, &ds, chosen);
    if (rc == 0) rm_log("%s: %zu of %zu records of %s", a.out, kept, ds.count, a.data);
    free(chosen);
    rm_dataset_close(&ds);
    return rc == 0 ? RM_EXIT_OK : cli_runtime_error();
}
