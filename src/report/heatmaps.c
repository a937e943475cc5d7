/* Heatmap montages per class for the report.
 *
 * INTEGRATION POINT: the montages come from rm_heatmap_montage
 * (include/relmask/heatmap.h), which is being written on another branch and
 * is not on main yet. When it lands, wire it here and nowhere else:
 *
 *   for each class k of ctx->classes:
 *       rm_heatmap_montage(<DIR>/relevance.h5, <DIR>/target.h5, class k, ...)
 *           -> <ctx->assets_dir>/heatmaps_<class>.png
 *       append {path = "<ctx->assets_rel>/heatmaps_<class>.png",
 *               caption = "<class>: ..."} to ctx->heatmaps (ctx->nheatmaps++)
 *   return 0;
 *
 * The writers (report_md.c, report_html.c) already show ctx->heatmaps as
 * figures, and print *why as a line when this returns 1. The report never
 * colours heatmaps itself: one colormap, owned by the heatmap library. */
#include <stdlib.h>
#include <sys/stat.h>

#include "relmask/error.h"
#include "report_internal.h"

int report_heatmaps(report_ctx *ctx, char **why)
{
    struct stat st;
    char *relevance = report_strf("%s/relevance.h5", ctx->dir);
    if (!relevance) return -1;
    int present = stat(relevance, &st) == 0;
    free(relevance);
    *why = rm_strdup(present ? "not available in this build of relmask (rm_heatmap_montage is not "
                               "wired into the report yet)"
                             : "not available: the experiment has no relevance.h5");
    return *why ? 1 : -1;
}
