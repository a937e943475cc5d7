/* relmask synth --out FILE.h5: the embedded default dataset. Images are
 * rendered in parallel blocks and appended in index order, so the file is
 * byte-identical whatever the thread count. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/dataset.h"
#include "core/error.h"
#include "core/progress.h"
#include "ingest/synth_faces.h"

static const char help[] =
    "usage: relmask synth --out FILE.h5 [options]\n"
    "\n"
    "Renders synthetic grayscale faces showing the 7 basic expressions (neutral,\n"
    "happy, sad, surprise, fear, disgust, anger) from facial action units, with\n"
    "varied identity, pose, lighting, noise and distractors, plus each image's\n"
    "ground-truth expression-region mask (/regions). Same options, same bytes.\n"
    "\n"
    "options:\n"
    "  -o, --out FILE.h5     output dataset (written atomically)\n"
    "  -f, --force           overwrite an existing output\n"
    "  -n, --count N         number of images (7000); classes are balanced\n"
    "      --start I         index of the first image (0): disjoint sets of one\n"
    "                        domain come from disjoint index ranges\n"
    "  -d, --domain NAME     rendering style: source, target or sketch (source)\n"
    "      --intensity X     expression strength in (0, 1] (0.6)\n"
    "  -s, --size N          width = height in pixels, 16..256 (48)\n"
    "      --seed N          generator seed (1)\n"
    "      --val F           validation fraction, stratified (0.1)\n"
    "      --test F          test fraction, stratified (0.1)\n"
    "      --split-seed N    seed of the split (the generator seed)\n"
    "  -t, --threads N       threads (0 = all cores)\n"
    "      --deflate N       compression level 0-9 (4)\n"
    "  -q, --quiet           no progress output\n"
    "\n"
    "See docs/synth.md for what is rendered. Exit codes: 0 ok, 1 error, 2 usage.\n";

enum { OPT_START = 256, OPT_INTENSITY, OPT_SEED, OPT_VAL, OPT_TEST, OPT_SPLIT_SEED, OPT_DEFLATE };
enum { BLOCK = 512 };

typedef struct {
    const char *out;
    int force, deflate;
    uint64_t count, start, split_seed;
    int have_split_seed;
    rm_synth_params params;
    rm_split_spec split;
} synth_options;

static int parse(int argc, char **argv, synth_options *o, int *done)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},          {"out", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},         {"count", required_argument, NULL, 'n'},
        {"start", required_argument, NULL, OPT_START}, {"domain", required_argument, NULL, 'd'},
        {"intensity", required_argument, NULL, OPT_INTENSITY}, {"size", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, OPT_SEED}, {"val", required_argument, NULL, OPT_VAL},
        {"test", required_argument, NULL, OPT_TEST}, {"split-seed", required_argument, NULL, OPT_SPLIT_SEED},
        {"threads", required_argument, NULL, 't'}, {"deflate", required_argument, NULL, OPT_DEFLATE},
        {"quiet", no_argument, NULL, 'q'},         {NULL, 0, NULL, 0},
    };
    int c;
    long v;
    opterr = 0;
    *done = 0;
    while ((c = getopt_long(argc, argv, ":ho:fn:d:s:t:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'o': o->out = optarg; break;
        case 'f': o->force = 1; break;
        case 'n':
            if (cli_parse_int("synth", "--count", optarg, 1, 100000000, &v)) return RM_EXIT_USAGE;
            o->count = (uint64_t)v;
            break;
        case OPT_START:
            if (cli_parse_u64("synth", "--start", optarg, &o->start)) return RM_EXIT_USAGE;
            break;
        case 'd':
            if (rm_synth_domain_parse(optarg, &o->params.domain) != 0)
                return cli_usage_error("synth", "--domain: %s", rm_error_message());
            break;
        case OPT_INTENSITY:
            if (cli_parse_double("synth", "--intensity", optarg, 0.01, 1.0, &o->params.intensity)) return RM_EXIT_USAGE;
            break;
        case 's':
            if (cli_parse_int("synth", "--size", optarg, 16, 256, &v)) return RM_EXIT_USAGE;
            o->params.size = (int)v;
            break;
        case OPT_SEED:
            if (cli_parse_u64("synth", "--seed", optarg, &o->params.seed)) return RM_EXIT_USAGE;
            break;
        case OPT_VAL:
            if (cli_parse_double("synth", "--val", optarg, 0, 0.99, &o->split.val_fraction)) return RM_EXIT_USAGE;
            break;
        case OPT_TEST:
            if (cli_parse_double("synth", "--test", optarg, 0, 0.99, &o->split.test_fraction)) return RM_EXIT_USAGE;
            break;
        case OPT_SPLIT_SEED:
            if (cli_parse_u64("synth", "--split-seed", optarg, &o->split_seed)) return RM_EXIT_USAGE;
            o->have_split_seed = 1;
            break;
        case 't':
            if (cli_parse_int("synth", "--threads", optarg, 0, 4096, &v)) return RM_EXIT_USAGE;
            cli_set_threads(v);
            break;
        case OPT_DEFLATE:
            if (cli_parse_int("synth", "--deflate", optarg, 0, 9, &v)) return RM_EXIT_USAGE;
            o->deflate = (int)v;
            break;
        case 'q': rm_progress_set_quiet(1); rm_log_set_quiet(1); break;
        default: return cli_bad_option("synth", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
    if (!o->out) return cli_usage_error("synth", "--out FILE.h5 is required");
    if (o->split.val_fraction + o->split.test_fraction >= 1.0)
        return cli_usage_error("synth", "--val plus --test must be below 1");
    o->split.seed = o->have_split_seed ? o->split_seed : o->params.seed;
    return RM_EXIT_OK;
}

static int record_params(rm_dataset_writer *w, const synth_options *o)
{
    char text[1024];
    snprintf(text, sizeof text,
             "domain=%s\nintensity=%g\nsize=%d\nseed=%llu\ncount=%llu\nstart=%llu\nval=%g\ntest=%g\nsplit_seed=%llu\n",
             rm_synth_domain_names[o->params.domain], o->params.intensity, o->params.size,
             (unsigned long long)o->params.seed, (unsigned long long)o->count, (unsigned long long)o->start,
             o->split.val_fraction, o->split.test_fraction, (unsigned long long)o->split.seed);
    RM_TRY(rm_dataset_writer_set_attr(w, "ingest_parameters", text));
    RM_TRY(rm_dataset_writer_set_attr(w, "synth_domain", rm_synth_domain_names[o->params.domain]));
    return rm_dataset_writer_set_attr(w, "command_line", cli_command_line());
}

static int generate(const synth_options *o)
{
    const rm_synth_params *p = &o->params;
    size_t pixels = (size_t)p->size * (size_t)p->size;
    rm_dataset_spec spec = {
        .channels = 1, .height = p->size, .width = p->size, .num_classes = RM_SYNTH_CLASSES,
        .class_names = rm_synth_class_names, .has_regions = 1, .source_format = "synth",
        .source_path = "", .deflate_level = o->deflate,
    };
    uint8_t *images = rm_malloc(BLOCK * pixels, "synth image block");
    uint8_t *regions = rm_malloc(BLOCK * pixels, "synth region block");
    rm_dataset_writer *w = NULL;
    if (!images || !regions || rm_dataset_writer_open(&w, o->out, &spec, o->force) != 0 ||
        record_params(w, o) != 0)
        goto fail;
    rm_progress progress;
    rm_progress_start(&progress, "synth", "img", (size_t)o->count);
    double t0 = rm_now();
    for (uint64_t first = 0; first < o->count; first += BLOCK) {
        int n = (int)(o->count - first < BLOCK ? o->count - first : BLOCK);
#pragma omp parallel for schedule(dynamic, 16)
        for (int i = 0; i < n; i++)
            rm_synth_render(p, o->start + first + (uint64_t)i, images + (size_t)i * pixels,
                            regions + (size_t)i * pixels);
        for (int i = 0; i < n; i++) {
            int32_t label = rm_synth_label(p, o->start + first + (uint64_t)i);
            if (rm_dataset_writer_append(w, images + (size_t)i * pixels, label, RM_SPLIT_UNASSIGNED,
                                         regions + (size_t)i * pixels) != 0)
                goto fail;
        }
        rm_progress_update(&progress, (size_t)(first + (uint64_t)n));
    }
    rm_progress_finish(&progress);
    if (rm_dataset_writer_finish(w, &o->split) != 0) {
        w = NULL;
        goto fail;
    }
    rm_log("wrote %s: %llu %s-domain faces at %dx%d in %.1f s", o->out, (unsigned long long)o->count,
           rm_synth_domain_names[p->domain], p->size, p->size, rm_now() - t0);
    free(images);
    free(regions);
    return 0;
fail:
    rm_dataset_writer_abort(w);
    free(images);
    free(regions);
    return -1;
}

int cmd_synth(int argc, char **argv)
{
    synth_options o = {
        .count = 7000, .deflate = 4,
        .params = {.size = 48, .domain = RM_DOMAIN_SOURCE, .intensity = 0.6, .seed = 1},
        .split = {.val_fraction = 0.1, .test_fraction = 0.1},
    };
    int done, rc = parse(argc, argv, &o, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    return generate(&o) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
