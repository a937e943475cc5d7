/* relmask heatmap --relevance R.h5 --data D.h5 --out montage.png: the
 * options, over rm_heatmap (src/report/heatmap.h). */
#include <errno.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/error.h"
#include "report/heatmap.h"

typedef struct {
    rm_heatmap_config cfg;
    int64_t *indices;           /* --indices, owned here */
    int selections, styles;     /* how many of each group were given (styles: bits) */
    int export_format;          /* --format: rm_heatmap_export_format */
    int caption;                /* --caption: rm_heatmap_caption */
} heatmap_options;

static int set_per_class(void *t, const char *value, const char *cmd)
{
    heatmap_options *o = t;
    long v;
    if (cli_parse_int(cmd, "--per-class", value, 1, 1000, &v)) return RM_EXIT_USAGE;
    o->cfg.montage.selection = RM_HEATMAP_PER_CLASS;
    o->cfg.montage.per_class = (int)v;
    o->selections++;
    return RM_EXIT_OK;
}

/* "3,17,42" -> a malloc'd array. */
static int set_indices(void *t, const char *value, const char *cmd)
{
    heatmap_options *o = t;
    if (o->indices) return cli_usage_error(cmd, "--indices given twice");
    int64_t n = 1;
    for (const char *p = value; *p; p++) n += *p == ',';
    o->indices = rm_malloc((size_t)n * sizeof *o->indices, "record indices");
    if (!o->indices) return cli_runtime_error();
    const char *p = value;
    for (int64_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || (*end != ',' && *end))
            return cli_usage_error(cmd, "--indices '%s': expected record indices like 3,17,42 (entry %lld)", value,
                                   (long long)i + 1);
        o->indices[i] = v;
        p = end + 1;
    }
    o->cfg.montage.indices = o->indices;
    o->cfg.montage.num_indices = n;
    o->cfg.montage.selection = RM_HEATMAP_INDICES;
    o->selections++;
    return RM_EXIT_OK;
}

static int set_first(void *t, const char *value, const char *cmd)
{
    heatmap_options *o = t;
    long v;
    if (cli_parse_int(cmd, "--first", value, 1, 100000, &v)) return RM_EXIT_USAGE;
    o->cfg.montage.selection = RM_HEATMAP_FIRST;
    o->cfg.montage.first = v;
    o->selections++;
    return RM_EXIT_OK;
}

static int set_overlay(void *t, const char *value, const char *cmd)
{
    heatmap_options *o = t;
    o->cfg.montage.style = RM_HEATMAP_OVERLAY;
    o->styles |= 1;
    return RM_EXIT_OK;
}

static int set_side_by_side(void *t, const char *value, const char *cmd)
{
    heatmap_options *o = t;
    o->cfg.montage.style = RM_HEATMAP_SIDE_BY_SIDE;
    o->styles |= 2;
    return RM_EXIT_OK;
}

/* The files are checked after the choices, as they always were. */
static int check(void *t, const char *cmd)
{
    heatmap_options *o = t;
    if (o->selections > 1) return cli_usage_error(cmd, "choose one of --per-class, --indices and --first");
    if (o->styles == 3) return cli_usage_error(cmd, "choose one of --overlay and --side-by-side");
    if (!o->cfg.relevance_path) return cli_usage_error(cmd, "--relevance FILE is required");
    if (!o->cfg.data_path) return cli_usage_error(cmd, "--data FILE is required");
    if (!o->cfg.out_path && !o->cfg.export_dir)
        return cli_usage_error(cmd, "--out FILE.png (a montage) or --export DIR (a file per record) is required");
    if (o->cfg.out_path && o->cfg.export_dir) return cli_usage_error(cmd, "choose one of --out and --export");
    if (o->export_format >= 0 && !o->cfg.export_dir)
        return cli_usage_error(cmd, "--format chooses the files of --export; a montage (--out) is always PNG");
    return RM_EXIT_OK;
}

#define CLI_TARGET heatmap_options
static const cli_option options[] = {
    CLI_HELP_TEXT("what to show (one of):"),
    CLI_OPT_CALL('k', "per-class", "K", set_per_class, "one row per class (by dataset label; by predicted\n"
                                                      "class for an unlabeled dataset), its first K\n"
                                                      "records of the relevance file (default, K = 8)"),
    CLI_OPT_CALL('i', "indices", "LIST", set_indices, "these dataset records, e.g. 3,17,42"),
    CLI_OPT_CALL('n', "first", "N", set_first, "the first N records of the relevance file"),
    CLI_HELP_TEXT("\nhow:"),
    CLI_OPT_CALL(0, "overlay", NULL, set_overlay, "heatmap blended over the gray image (default)"),
    CLI_OPT_CALL(0, "side-by-side", NULL, set_side_by_side, "image and heatmap next to each other"),
    CLI_OPT_DOUBLE('a', "alpha", "A", cfg.montage.alpha, 0, 1, "overlay weight of the heatmap colour, 0..1 (0.5)"),
    CLI_OPT_INT('s', "scale", "S", cfg.montage.scale, 1, 64, "pixel replication factor 1..64 (default: the\n"
                                                             "smallest that makes images at least 96 px)"),
    CLI_OPT_INT('c', "columns", "N", cfg.montage.columns, 1, 1000, "tiles per row for --indices/--first (8)"),
    CLI_OPT_CHOICE(0, "caption", "source|record|none", caption, "source|record|none",
                   "under each tile: record, classes and, when the\n"
                   "dataset has /source, the record's source\n"
                   "(default); record: no source line; none: no\n"
                   "caption"),
    CLI_HELP_TEXT(""),
    CLI_OPT_STRING('r', "relevance", "FILE", cfg.relevance_path, "relevance file (relmask relevance, or an import)"),
    CLI_OPT_STRING('d', "data", "FILE", cfg.data_path, "the dataset it explains"),
    CLI_OPT_STRING('o', "out", "FILE.png", cfg.out_path, "the montage"),
    CLI_OPT_STRING('e', "export", "DIR", cfg.export_dir, "instead: one file per record in a new folder, named\n"
                                                        "after the record's source (all records, or those of\n"
                                                        "--indices/--first)"),
    CLI_OPT_CHOICE(0, "format", "png|npy", export_format, "png|npy", "--export: png (the heatmap over the\n"
                                                                           "image, default) or npy (float32 [H,W])"),
    CLI_OPT_FLAG('f', "force", cfg.force, "overwrite an existing montage or folder"),
    CLI_OPT_QUIET("no summary line on stderr"),
    CLI_END,
};

static const cli_command command = {
    .name = "heatmap",
    .usage = "usage: relmask heatmap --relevance R.h5 --data D.h5 --out MONTAGE.png [options]\n"
             "\n"
             "Draws dataset images with their relevance maps into one PNG. Colours: blue\n"
             "negative, white zero, red positive, normalized per image so that the\n"
             "largest |relevance| reaches the ends of the scale. The relevance file must\n"
             "explain records of this dataset (same image size, labels and classes).\n"
             "\n",
    .options = options,
    .epilog = "\n"
              "Under each tile: '#record label' and 'e:explained p:predicted' where they\n"
              "fit, and, when the dataset has /source, the record's source: the path, its\n"
              "file name, or '...' and the end of the name, whichever fits the tile. The\n"
              "relevance file's /index leads back to the dataset record. The same inputs\n"
              "give the same bytes. The PNG is written to a temporary name and renamed\n"
              "when complete. See docs/relevance.md (Heatmap montages).\n"
              "Exit codes: 0 ok, 1 error, 2 usage error.\n",
    .check = check,
};

int cmd_heatmap(int argc, char **argv)
{
    heatmap_options o = {0};
    o.export_format = -1;   /* not given: png */
    rm_heatmap_config_defaults(&o.cfg);
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    o.cfg.export_format = (rm_heatmap_export_format)(o.export_format < 0 ? 0 : o.export_format);
    o.cfg.montage.caption = (rm_heatmap_caption)o.caption;
    if (rc == RM_EXIT_OK && !done) rc = rm_heatmap(&o.cfg) == 0 ? RM_EXIT_OK : cli_runtime_error();
    free(o.indices);
    return rc;
}
