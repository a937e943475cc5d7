/* relmask heatmap --relevance R.h5 --data D.h5 --out montage.png: a PNG
 * montage of dataset images with their heatmaps (src/report/heatmap.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/dataset.h"
#include "core/error.h"
#include "report/heatmap.h"
#include "core/relevance_file.h"

static const char help[] =
    "usage: relmask heatmap --relevance R.h5 --data D.h5 --out MONTAGE.png [options]\n"
    "\n"
    "Draws dataset images with their relevance maps into one PNG. Colours: blue\n"
    "negative, white zero, red positive, normalized per image so that the\n"
    "largest |relevance| reaches the ends of the scale. The relevance file must\n"
    "explain records of this dataset (same image size, labels and classes).\n"
    "\n"
    "what to show (one of):\n"
    "  -k, --per-class K      one row per class (by dataset label), its first K\n"
    "                         records of the relevance file (default, K = 8)\n"
    "  -i, --indices LIST     these dataset records, e.g. 3,17,42\n"
    "  -n, --first N          the first N records of the relevance file\n"
    "\n"
    "how:\n"
    "      --overlay          heatmap blended over the gray image (default)\n"
    "      --side-by-side     image and heatmap next to each other\n"
    "  -a, --alpha A          overlay weight of the heatmap colour, 0..1 (0.5)\n"
    "  -s, --scale S          pixel replication factor 1..64 (default: the\n"
    "                         smallest that makes images at least 96 px)\n"
    "  -c, --columns N        tiles per row for --indices/--first (8)\n"
    "\n"
    "  -r, --relevance FILE   relevance file (relmask relevance, or an import)\n"
    "  -d, --data FILE        the dataset it explains\n"
    "  -o, --out FILE.png     the montage\n"
    "  -f, --force            overwrite an existing montage\n"
    "  -q, --quiet            no summary line on stderr\n"
    "\n"
    "Under each tile: '#record label' and 'e:explained p:predicted' where they\n"
    "fit. The same inputs give the same bytes. The PNG is written to a temporary\n"
    "name and renamed when complete. See docs/relevance.md (Heatmap montages).\n"
    "Exit codes: 0 ok, 1 error, 2 usage error.\n";

typedef struct {
    const char *relevance_path, *data_path, *out_path;
    rm_heatmap_options opt;
    int64_t *indices;
    int selections, force;
} heatmap_args;

/* "3,17,42" -> a malloc'd array. */
static int parse_indices(const char *s, heatmap_args *a)
{
    int64_t n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    a->indices = rm_malloc((size_t)n * sizeof *a->indices, "record indices");
    if (!a->indices) return cli_runtime_error();
    const char *p = s;
    for (int64_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || (*end != ',' && *end)) {
            return cli_usage_error("heatmap", "--indices '%s': expected record indices like 3,17,42 (entry %lld)",
                                   s, (long long)i + 1);
        }
        a->indices[i] = v;
        p = end + 1;
    }
    a->opt.indices = a->indices;
    a->opt.num_indices = n;
    return RM_EXIT_OK;
}

static int parse(int argc, char **argv, heatmap_args *a, int *done)
{
    enum { OPT_OVERLAY = 256, OPT_SIDE };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},          {"relevance", required_argument, NULL, 'r'},
        {"data", required_argument, NULL, 'd'},    {"out", required_argument, NULL, 'o'},
        {"per-class", required_argument, NULL, 'k'}, {"indices", required_argument, NULL, 'i'},
        {"first", required_argument, NULL, 'n'},   {"overlay", no_argument, NULL, OPT_OVERLAY},
        {"side-by-side", no_argument, NULL, OPT_SIDE}, {"alpha", required_argument, NULL, 'a'},
        {"scale", required_argument, NULL, 's'},   {"columns", required_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'},         {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    int ch, styles = 0;
    long v;
    double d;
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hr:d:o:k:i:n:a:s:c:fq", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'r': a->relevance_path = optarg; break;
        case 'd': a->data_path = optarg; break;
        case 'o': a->out_path = optarg; break;
        case 'k':
            if (cli_parse_int("heatmap", "--per-class", optarg, 1, 1000, &v)) return RM_EXIT_USAGE;
            a->opt.selection = RM_HEATMAP_PER_CLASS;
            a->opt.per_class = (int)v;
            a->selections++;
            break;
        case 'i':
            if (a->indices) return cli_usage_error("heatmap", "--indices given twice");
            if ((v = parse_indices(optarg, a)) != RM_EXIT_OK) return (int)v;
            a->opt.selection = RM_HEATMAP_INDICES;
            a->selections++;
            break;
        case 'n':
            if (cli_parse_int("heatmap", "--first", optarg, 1, 100000, &v)) return RM_EXIT_USAGE;
            a->opt.selection = RM_HEATMAP_FIRST;
            a->opt.first = v;
            a->selections++;
            break;
        case OPT_OVERLAY: a->opt.style = RM_HEATMAP_OVERLAY; styles |= 1; break;
        case OPT_SIDE: a->opt.style = RM_HEATMAP_SIDE_BY_SIDE; styles |= 2; break;
        case 'a':
            if (cli_parse_double("heatmap", "--alpha", optarg, 0, 1, &d)) return RM_EXIT_USAGE;
            a->opt.alpha = d;
            break;
        case 's':
            if (cli_parse_int("heatmap", "--scale", optarg, 1, 64, &v)) return RM_EXIT_USAGE;
            a->opt.scale = (int)v;
            break;
        case 'c':
            if (cli_parse_int("heatmap", "--columns", optarg, 1, 1000, &v)) return RM_EXIT_USAGE;
            a->opt.columns = (int)v;
            break;
        case 'f': a->force = 1; break;
        case 'q': rm_log_set_quiet(1); break;
        default: return cli_bad_option("heatmap", ch, argv);
        }
    }
    if (optind < argc) return cli_usage_error("heatmap", "unexpected argument '%s'", argv[optind]);
    if (a->selections > 1)
        return cli_usage_error("heatmap", "choose one of --per-class, --indices and --first");
    if (styles == 3) return cli_usage_error("heatmap", "choose one of --overlay and --side-by-side");
    if (!a->relevance_path) return cli_usage_error("heatmap", "--relevance FILE is required");
    if (!a->data_path) return cli_usage_error("heatmap", "--data FILE is required");
    if (!a->out_path) return cli_usage_error("heatmap", "--out FILE.png is required");
    return RM_EXIT_OK;
}

int cmd_heatmap(int argc, char **argv)
{
    heatmap_args a = {0};
    rm_heatmap_options_defaults(&a.opt);
    int done, rc = parse(argc, argv, &a, &done);
    if (rc != RM_EXIT_OK || done) {
        free(a.indices);
        return rc;
    }
    rm_dataset ds;
    rm_relevance r;
    int have_ds = 0, have_r = 0;
    rc = rm_dataset_open(&ds, a.data_path);
    have_ds = rc == 0;
    if (rc == 0) rc = rm_relevance_open(&r, a.relevance_path);
    have_r = have_ds && rc == 0;
    if (rc == 0) rc = rm_heatmap_montage(&a.opt, &ds, &r, a.out_path, a.force);
    if (rc == 0) rm_log("%s: heatmap montage of %s", a.out_path, a.relevance_path);
    if (have_r) rm_relevance_close(&r);
    if (have_ds) rm_dataset_close(&ds);
    free(a.indices);
    return rc == 0 ? RM_EXIT_OK : cli_runtime_error();
}
