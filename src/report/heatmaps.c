/* Heatmap montages per class for the report: the source model's relevance
 * on the target data, one row per class, drawn by the heatmap library (one
 * colour map for the whole project). */
#include <stdlib.h>
#include <sys/stat.h>

#include "core/dataset.h"
#include "core/error.h"
#include "report/heatmap.h"
#include "core/relevance_file.h"
#include "report/report_internal.h"

static int add_figure(report_ctx *ctx, const char *file, const char *caption)
{
    report_figure *grown = rm_realloc(ctx->heatmaps, sizeof *grown * (size_t)(ctx->nheatmaps + 1), "figures");
    if (!grown) return -1;
    ctx->heatmaps = grown;
    report_figure *fig = &ctx->heatmaps[ctx->nheatmaps];
    fig->path = report_strf("%s/%s", ctx->assets_rel, file);
    fig->caption = rm_strdup(caption);
    if (!fig->path || !fig->caption) {
        free(fig->path), free(fig->caption);
        return -1;
    }
    ctx->nheatmaps++;
    return 0;
}

int report_heatmaps(report_ctx *ctx, char **why)
{
    struct stat st;
    char *relevance = report_strf("%s/relevance.h5", ctx->dir), *target = report_strf("%s/target.h5", ctx->dir);
    char *out = report_strf("%s/heatmaps_per_class.png", ctx->assets_dir);
    int rc = relevance && target && out ? 0 : -1;
    if (rc == 0 && (stat(relevance, &st) != 0 || stat(target, &st) != 0)) {
        *why = rm_strdup("not available: the experiment has no relevance.h5 or target.h5");
        rc = *why ? 1 : -1;
    }
    rm_dataset ds = {.hfile = -1};
    rm_relevance rel = {.hfile = -1};
    if (rc == 0 && (rm_dataset_open(&ds, target) != 0 || rm_relevance_open(&rel, relevance) != 0)) rc = -1;
    if (rc == 0) {
        rm_heatmap_options o;
        rm_heatmap_options_defaults(&o);
        o.selection = RM_HEATMAP_PER_CLASS;
        o.per_class = 8;
        o.style = RM_HEATMAP_SIDE_BY_SIDE;
        rc = rm_heatmap_montage(&o, &ds, &rel, out, 1);
    }
    if (rc == 0) {
        char *caption = report_strf("The source model's relevance on target images (%s, %s): one row per class, "
                                    "image and heatmap side by side; red supports the explained class (e), blue "
                                    "speaks against it, white is zero; each map is scaled to its own maximum |r|. "
                                    "p: the source model's prediction.",
                                    rel.method ? rel.method : "?", relevance);
        rc = caption ? add_figure(ctx, "heatmaps_per_class.png", caption) : -1;
        free(caption);
    }
    if (rel.path) rm_relevance_close(&rel);
    if (ds.path) rm_dataset_close(&ds);
    free(relevance);
    free(target);
    free(out);
    return rc;
}
