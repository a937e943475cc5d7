/* The study's figures (each as SVG and as PNG beside it) and study.html: accuracy and epochs to 90% of the
 * baseline against a numeric axis (the target-set size), one line per
 * condition with a band of one standard deviation over the seeds; a grid of
 * each condition's gain over the baseline across two numeric axes (size x
 * keep); and one self-contained HTML page with the figures inline. Each
 * figure is a slice of the sweep: the cells that agree on every other
 * setting, choosing the slice with the most cells. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/output.h"
#include "report/report.h"
#include "report/report_internal.h"
#include "report/study_internal.h"

static int is_number(const char *s, double *v)
{
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return !*end && !errno && isfinite(*v);
}

/* Distinct numeric values of `key` over all cells; -1 when a cell's value
 * is missing or not a number. */
static int numeric_levels(const study_ctx *ctx, const char *key)
{
    double seen[256];
    int n = 0;
    for (int c = 0; c < ctx->ncells; c++) {
        double v;
        if (!is_number(study_cell_value(&ctx->cells[c], key), &v)) return -1;
        int known = 0;
        for (int i = 0; i < n; i++) known |= seen[i] == v;
        if (!known && n < 256) seen[n++] = v;
    }
    return n;
}

/* The preferred key if numeric with >= min levels, else the first such
 * key other than `not`; NULL when there is none. */
static const char *pick_axis(const study_ctx *ctx, const char *preferred, int min, const char *not)
{
    if (numeric_levels(ctx, preferred) >= min) return preferred;
    for (int k = 0; k < ctx->nkeys; k++)
        if ((!not || strcmp(ctx->keys[k], not)) && numeric_levels(ctx, ctx->keys[k]) >= min) return ctx->keys[k];
    return NULL;
}

/* Whether cells a and b agree on every key except x and y. */
static int same_elsewhere(const study_ctx *ctx, int a, int b, const char *x, const char *y)
{
    for (int k = 0; k < ctx->nkeys; k++) {
        const char *key = ctx->keys[k];
        if (!strcmp(key, x) || (y && !strcmp(key, y))) continue;
        const char *va = study_cell_value(&ctx->cells[a], key), *vb = study_cell_value(&ctx->cells[b], key);
        if (!va != !vb || (va && strcmp(va, vb))) return 0;
    }
    return 1;
}

/* The slice with the most cells: in[c] = 1 for its cells; returns a
 * representative cell. */
static int best_slice(const study_ctx *ctx, const char *x, const char *y, unsigned char *in)
{
    int best = -1, best_n = 0;
    for (int a = 0; a < ctx->ncells; a++) {
        int n = 0;
        for (int b = 0; b < ctx->ncells; b++) n += same_elsewhere(ctx, a, b, x, y);
        if (n > best_n) best = a, best_n = n;
    }
    for (int b = 0; b < ctx->ncells; b++) in[b] = best >= 0 && same_elsewhere(ctx, best, b, x, y);
    return best;
}

/* "keep=0.3, source=style" for the settings the slice holds fixed. */
static void fixed_text(const study_ctx *ctx, int cell, const char *x, const char *y, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (int k = 0; k < ctx->nkeys && used < size; k++) {
        const char *key = ctx->keys[k];
        if (!strcmp(key, x) || (y && !strcmp(key, y))) continue;
        const char *v = study_cell_value(&ctx->cells[cell], key);
        int w = snprintf(out + used, size - used, "%s%s=%s", used ? ", " : "", key, v ? v : "");
        if (w < 0) break;
        used += (size_t)w;
    }
}

static const study_row *find_row(const study_ctx *ctx, int cell, const char *condition)
{
    for (int i = 0; i < ctx->nrows; i++)
        if (ctx->rows[i].cell == cell && !strcmp(ctx->rows[i].condition, condition)) return &ctx->rows[i];
    return NULL;
}

/* The conditions in order of first appearance. */
static int conditions(const study_ctx *ctx, const char **out, int cap)
{
    int n = 0;
    for (int i = 0; i < ctx->nrows && n < cap; i++) {
        int known = 0;
        for (int j = 0; j < n; j++) known |= !strcmp(out[j], ctx->rows[i].condition);
        if (!known) out[n++] = ctx->rows[i].condition;
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct values of key over the cells in[]. */
static int levels_in(const study_ctx *ctx, const unsigned char *in, const char *key, double *out, int cap)
{
    int n = 0;
    for (int c = 0; c < ctx->ncells; c++) {
        double v;
        if (!in[c] || !is_number(study_cell_value(&ctx->cells[c], key), &v)) continue;
        int known = 0;
        for (int i = 0; i < n; i++) known |= out[i] == v;
        if (!known && n < cap) out[n++] = v;
    }
    qsort(out, (size_t)n, sizeof *out, cmp_double);
    return n;
}

static int cell_at(const study_ctx *ctx, const unsigned char *in, const char *x, double xv, const char *y, double yv)
{
    for (int c = 0; c < ctx->ncells; c++) {
        double a, b;
        if (!in[c] || !is_number(study_cell_value(&ctx->cells[c], x), &a) || a != xv) continue;
        if (y && (!is_number(study_cell_value(&ctx->cells[c], y), &b) || b != yv)) continue;
        return c;
    }
    return -1;
}

/* A figure's drawing, for either canvas. */
typedef int (*figure_draw)(rm_canvas *c, void *arg);

typedef struct {
    const rm_plot_spec *spec;
    const rm_plot_series *series;
    int n;
} line_job;

static int draw_line(rm_canvas *c, void *arg)
{
    const line_job *j = arg;
    return rm_plot_line(c, j->spec, j->series, j->n, NULL, 0, NULL);
}

static int draw_grid(rm_canvas *c, void *arg) { return rm_plot_grid_draw(c, arg); }

/* The SVG text of a drawing (malloc'd), or NULL with an error. */
static char *svg_of(figure_draw draw, void *arg)
{
    char *svg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&svg, &len);
    if (!f) {
        rm_error("no memory for a figure");
        return NULL;
    }
    rm_canvas c;
    rm_canvas_svg(&c, f);
    int rc = draw(&c, arg);
    if (fclose(f) != 0 && rc == 0) rc = rm_error("no memory for a figure");
    if (rc != 0) {
        free(svg);
        return NULL;
    }
    return svg;
}

/* Writes the SVG text in `svg` to SWEEP_DIR/study/<file> (an .svg), the
 * same drawing as PNG beside it, and records the figure. */
static int add_figure(const study_ctx *ctx, study_figure **figs, int *n, const char *file, char *title, char *caption,
                      char *svg, figure_draw draw, void *arg)
{
    study_figure *f = rm_realloc(*figs, sizeof **figs * (size_t)(*n + 1), "study figures");
    char *path = report_strf("%s/study/%s", ctx->dir, file);
    int rc = f && path && title && caption && svg ? 0 : -1;
    if (f) *figs = f;
    rm_output out = {.slot = -1};
    if (rc == 0) rc = rm_output_begin(&out, path, 1);
    if (rc == 0) {
        FILE *o = fopen(out.tmp_path, "w");
        if (!o) rc = rm_error("%s: cannot create: %s", out.tmp_path, strerror(errno));
        else {
            fputs(svg, o);
            if (fclose(o) != 0) rc = rm_error("%s: write failed", path);
        }
        rc = rc == 0 ? rm_output_commit(&out) : (rm_output_abort(&out), rc);
    }
    size_t len = path ? strlen(path) : 0;
    if (rc == 0 && len > 4 && !strcmp(path + len - 4, ".svg")) {
        memcpy(path + len - 4, ".png", 4);
        rc = rm_canvas_save_png(path, draw, arg);
    }
    if (rc == 0) {
        (*figs)[*n] = (study_figure){.file = report_strf("study/%s", file), .title = title, .caption = caption,
                                     .svg = svg};
        if (!(*figs)[*n].file) rc = -1;
        else (*n)++;
    }
    if (rc != 0) free(title), free(caption), free(svg);
    free(path);
    return rc;
}

/* Accuracy (what = 0) or epochs to 90% (what = 1) against axis x. */
static int line_figure(const study_ctx *ctx, const char *x, int what, study_figure **figs, int *nfigs)
{
    unsigned char *in = rm_calloc((size_t)ctx->ncells, 1, "study slice");
    if (!in) return -1;
    int rep = best_slice(ctx, x, NULL, in);
    double xs[256];
    int nx = levels_in(ctx, in, x, xs, 256);
    const char *conds[64];
    int nc = conditions(ctx, conds, 64);
    double *ys = rm_malloc(sizeof *ys * (size_t)(3 * nc * nx + 1), "figure values");
    rm_plot_series *series = rm_calloc((size_t)nc + 1, sizeof *series, "figure series");
    int rc = ys && series ? 0 : -1;
    for (int c = 0; rc == 0 && c < nc; c++) {
        double *y = ys + (size_t)3 * c * nx, *lo = y + nx, *hi = lo + nx;
        for (int i = 0; i < nx; i++) {
            int cell = cell_at(ctx, in, x, xs[i], NULL, 0);
            const study_row *r = cell >= 0 ? find_row(ctx, cell, conds[c]) : NULL;
            double v = !r ? NAN : what == 0 ? 100 * r->mean : r->reached ? r->ep90 : NAN;
            y[i] = v;
            lo[i] = what == 0 && r && isfinite(r->std) ? v - 100 * r->std : NAN;
            hi[i] = what == 0 && r && isfinite(r->std) ? v + 100 * r->std : NAN;
        }
        series[c] = (rm_plot_series){.label = conds[c], .n = nx, .x = xs, .y = y, .lo = what == 0 ? lo : NULL,
                                     .hi = what == 0 ? hi : NULL, .color = c};
    }
    char fixed[1024];
    fixed_text(ctx, rep, x, NULL, fixed, sizeof fixed);
    char *svg = NULL;
    rm_plot_spec spec = {.width = 820, .height = 460, .xlabel = x,
                         .ylabel = what == 0 ? "test accuracy (%)" : "epochs to 90% of the baseline"};
    line_job job = {&spec, series, nc};
    if (rc == 0) {
        svg = svg_of(draw_line, &job);
        if (!svg) rc = -1;
    }
    if (rc == 0)
        rc = add_figure(ctx, figs, nfigs, what == 0 ? "accuracy_vs_size.svg" : "epochs_vs_size.svg",
                        report_strf("%s against %s", what == 0 ? "Test accuracy" : "Epochs to 90%", x),
                        report_strf(what == 0 ? "Mean final test accuracy over the seeds, band: one standard "
                                                "deviation; one line per condition. Cells with %s."
                                              : "Mean epoch at which validation accuracy first reached 90%% of "
                                                "the baseline's final validation accuracy (seeds that reached "
                                                "it); a gap means no seed reached it. Cells with %s.",
                                    fixed[0] ? fixed : "no other setting"),
                        svg, draw_line, &job);
    else free(svg);
    free(ys), free(series), free(in);
    return rc;
}

/* For each condition: its median gain over the baseline across x (rows) and
 * y (columns); "*" marks a Holm-adjusted p < alpha. */
static int grid_figures(const study_ctx *ctx, const char *x, const char *y, study_figure **figs, int *nfigs)
{
    unsigned char *in = rm_calloc((size_t)ctx->ncells, 1, "study slice");
    if (!in) return -1;
    int rep = best_slice(ctx, x, y, in);
    double xs[64], ys[64];
    int nx = levels_in(ctx, in, x, xs, 64), ny = levels_in(ctx, in, y, ys, 64);
    const char *conds[64];
    int nc = conditions(ctx, conds, 64), rc = 0;
    char fixed[1024];
    fixed_text(ctx, rep, x, y, fixed, sizeof fixed);
    char rowl[64][32], coll[64][32], cellt[64 * 64][32];
    const char *rows[64], *cols[64], *texts[64 * 64];
    double values[64 * 64];
    for (int i = 0; i < nx; i++) snprintf(rowl[i], sizeof rowl[i], "%g", xs[i]), rows[i] = rowl[i];
    for (int j = 0; j < ny; j++) snprintf(coll[j], sizeof coll[j], "%g", ys[j]), cols[j] = coll[j];
    for (int c = 0; rc == 0 && c < nc; c++) {
        if (!strcmp(conds[c], ctx->baseline)) continue;
        int any = 0;
        for (int i = 0; i < nx; i++)
            for (int j = 0; j < ny; j++) {
                int cell = cell_at(ctx, in, x, xs[i], y, ys[j]);
                const study_row *r = cell >= 0 ? find_row(ctx, cell, conds[c]) : NULL;
                double v = r && isfinite(r->med) ? 100 * r->med : NAN;
                values[i * ny + j] = v;
                if (isfinite(v)) {
                    snprintf(cellt[i * ny + j], sizeof cellt[0], "%+.1f%s", v, r->holm < STUDY_ALPHA ? "*" : "");
                    any = 1;
                } else {
                    snprintf(cellt[i * ny + j], sizeof cellt[0], "n/a");
                }
                texts[i * ny + j] = cellt[i * ny + j];
            }
        if (!any) continue;
        char *title = report_strf("%s: gain over %s (points)", conds[c], ctx->baseline);
        rm_plot_grid g = {.title = title, .xlabel = y, .ylabel = x, .rows = nx, .cols = ny, .row_labels = rows,
                          .col_labels = cols, .values = values, .cell_text = texts};
        char *svg = title ? svg_of(draw_grid, &g) : NULL;
        rc = svg ? 0 : -1;
        char *file = report_strf("gain_%s.svg", conds[c]);
        if (rc == 0 && file)
            rc = add_figure(ctx, figs, nfigs, file, title,
                            report_strf("Median paired difference in test accuracy of %s minus %s, in percentage "
                                        "points, by %s (rows) and %s (columns); red: %s better, blue: worse; * "
                                        "Holm-adjusted p < %.2f. Cells with %s.",
                                        conds[c], ctx->baseline, x, y, conds[c], STUDY_ALPHA,
                                        fixed[0] ? fixed : "no other setting"),
                            svg, draw_grid, &g);
        else free(title), free(svg), rc = rc ? rc : -1;
        free(file);
    }
    free(in);
    return rc;
}

int study_figures(const study_ctx *ctx, study_figure **figs, int *nfigs)
{
    *figs = NULL;
    *nfigs = 0;
    char *dir = report_strf("%s/study", ctx->dir);
    if (!dir) return -1;
    int rc = mkdir(dir, 0755) != 0 && errno != EEXIST ? rm_error("%s: cannot create: %s", dir, strerror(errno)) : 0;
    free(dir);
    const char *x = pick_axis(ctx, "size", 2, NULL);
    if (rc == 0 && x) rc = line_figure(ctx, x, 0, figs, nfigs);
    if (rc == 0 && x) rc = line_figure(ctx, x, 1, figs, nfigs);
    const char *gx = pick_axis(ctx, "size", 2, NULL), *gy = gx ? pick_axis(ctx, "keep", 2, gx) : NULL;
    if (rc == 0 && gx && gy && strcmp(gx, gy)) rc = grid_figures(ctx, gx, gy, figs, nfigs);
    return rc;
}

void study_figures_free(study_figure *figs, int nfigs)
{
    for (int i = 0; i < nfigs; i++) free(figs[i].file), free(figs[i].title), free(figs[i].caption), free(figs[i].svg);
    free(figs);
}

/* --- the mask-shape leak ------------------------------------------------- */

static const study_row *row_of(const study_ctx *ctx, int cell, const char *condition)
{
    return find_row(ctx, cell, condition);
}

void study_write_leak(FILE *f, const study_ctx *ctx)
{
    int any = 0;
    for (int i = 0; i < ctx->nrows && !any; i++) any = !strcmp(ctx->rows[i].condition, "mask");
    if (!any) return;
    fputs("\n## The mask-shape leak\n\nThe mask-only control (`mask`) trains and tests a student on binary masks "
          "without image content: above chance, the mask's shape alone tells the label, and a masked student can "
          "learn that instead of the images. Leak = (mask accuracy - chance) / (1 - chance): 0 at chance, 1 when "
          "the masks give every label away. `mean-shuffled` moves each mask to another image of the same class: "
          "where its gain over the baseline equals `mean`'s, the class-typical mask shape explains the effect, "
          "not the mask of each image. Averages over the cells of each relevance setting:\n\n",
          f);
    /* groups: the values of "relevance" (or one group) */
    const char *groups[64];
    int ng = 0;
    for (int c = 0; c < ctx->ncells; c++) {
        const char *v = study_cell_value(&ctx->cells[c], "relevance");
        if (!v) v = "";
        int known = 0;
        for (int g = 0; g < ng; g++) known |= !strcmp(groups[g], v);
        if (!known && ng < 64) groups[ng++] = v;
    }
    for (int g = 0; g < ng; g++) {
        double mask = 0, chance = 0, base = 0, mean_gain = 0, shuf_gain = 0;
        int n = 0, nm = 0, ns = 0;
        for (int c = 0; c < ctx->ncells; c++) {
            const char *v = study_cell_value(&ctx->cells[c], "relevance");
            if (strcmp(v ? v : "", groups[g])) continue;
            const study_row *m = row_of(ctx, c, "mask"), *b = row_of(ctx, c, ctx->baseline);
            if (!m || !b || m->num_classes < 1) continue;
            n++;
            mask += m->mean;
            chance += 1.0 / m->num_classes;
            base += b->mean;
            const study_row *me = row_of(ctx, c, "mean"), *sh = row_of(ctx, c, "mean-shuffled");
            if (me && isfinite(me->med)) mean_gain += me->med, nm++;
            if (sh && isfinite(sh->med)) shuf_gain += sh->med, ns++;
        }
        if (!n) continue;
        mask /= n, chance /= n, base /= n;
        double leak = chance < 1 ? (mask - chance) / (1 - chance) : NAN;
        fputs("- ", f);
        if (groups[g][0]) fprintf(f, "**relevance=%s** (%d cell%s): ", groups[g], n, n == 1 ? "" : "s");
        else fprintf(f, "%d cell%s: ", n, n == 1 ? "" : "s");
        fprintf(f, "masks alone %.1f%% against chance %.1f%% and %.1f%% for `%s` on the images; leak %.2f (%s).",
                100 * mask, 100 * chance, 100 * base, ctx->baseline, leak,
                leak < 0.1 ? "near chance: the masks hardly carry the label"
                : leak < 0.5 ? "the masks carry part of the label"
                             : "the masks carry most of the label");
        if (nm && ns)
            fprintf(f, " Gain over `%s` (the cells' median paired differences, averaged): `mean` %+.2f points, "
                       "`mean-shuffled` %+.2f points.",
                    ctx->baseline, 100 * mean_gain / nm, 100 * shuf_gain / ns);
        fputc('\n', f);
    }
}

/* --- study.html ----------------------------------------------------------- */

static void html_text(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        char c = s[i];
        if (c == '&') fputs("&amp;", f);
        else if (c == '<') fputs("&lt;", f);
        else if (c == '>') fputs("&gt;", f);
        else if (c == '"') fputs("&quot;", f);
        else fputc(c, f);
    }
}

/* The findings' markdown (**bold**, `code`, backslash escapes) as HTML. */
static void md_inline(FILE *f, const char *s)
{
    int bold = 0, code = 0;
    for (const char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1]) html_text(f, ++p, 1);
        else if (p[0] == '*' && p[1] == '*') fputs((bold = !bold) ? "<b>" : "</b>", f), p++;
        else if (*p == '`') fputs((code = !code) ? "<code>" : "</code>", f);
        else html_text(f, p, 1);
    }
}

int study_write_html(FILE *f, const study_ctx *ctx, int family, const study_figure *figs, int nfigs)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>relmask study</title>\n"
          "<style>\nbody{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1100px;margin:0 auto;"
          "padding:12px;line-height:1.45;color:#222;overflow-wrap:anywhere}\n"
          "figure{margin:16px 0}figure svg{max-width:100%;height:auto}figcaption{font-size:90%;color:#444}\n"
          ".scroll{overflow-x:auto}table{border-collapse:collapse;font-size:85%}"
          "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right;white-space:nowrap}"
          "td:first-child,th:first-child{text-align:left}\ncode{font-size:90%}\n</style>\n</head>\n<body>\n",
          f);
    fputs("<h1>relmask study</h1>\n<p>", f);
    html_text(f, ctx->dir, (size_t)-1);
    fprintf(f, ": %d cells, baseline <code>", ctx->ncells);
    html_text(f, ctx->baseline, (size_t)-1);
    fprintf(f, "</code>. Each condition is compared with its own cell's baseline on final test accuracy, paired by "
               "seed (Wilcoxon signed-rank), Holm-adjusted over all %d comparisons of the study; median paired "
               "differences with bootstrap 95%% intervals. The same numbers: study.md, study.csv.</p>\n",
            family);
    fputs("<h2>Findings</h2>\n<ul>\n", f);
    char *md = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&md, &len);
    if (!m) return rm_error("no memory for the findings");
    if (family) study_write_findings(m, ctx);
    fclose(m);
    for (char *line = md, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (!strncmp(line, "- ", 2)) line += 2;
        if (!*line) continue;
        fputs("<li>", f);
        md_inline(f, line);
        fputs("</li>\n", f);
    }
    free(md);
    fputs("</ul>\n", f);
    md = NULL;
    m = open_memstream(&md, &len);
    if (!m) return rm_error("no memory for the leak section");
    study_write_leak(m, ctx);
    fclose(m);
    for (char *line = md, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (!*line) continue;
        if (!strncmp(line, "## ", 3)) {
            fputs("<h2>", f);
            html_text(f, line + 3, (size_t)-1);
            fputs("</h2>\n", f);
            continue;
        }
        fputs(!strncmp(line, "- ", 2) ? "<p>&bull; " : "<p>", f);
        md_inline(f, !strncmp(line, "- ", 2) ? line + 2 : line);
        fputs("</p>\n", f);
    }
    free(md);
    if (nfigs) fputs("<h2>Figures</h2>\n", f);
    for (int i = 0; i < nfigs; i++) {
        fputs("<figure>\n", f);
        const char *svg = strstr(figs[i].svg, "<svg");
        fputs(svg ? svg : "", f);
        fputs("<figcaption><b>", f);
        html_text(f, figs[i].title, (size_t)-1);
        fputs(".</b> ", f);
        html_text(f, figs[i].caption, (size_t)-1);
        fputs("</figcaption>\n</figure>\n", f);
    }
    fputs("<h2>Results</h2>\n<div class=\"scroll\"><table>\n<tr><th>cell</th>", f);
    for (int k = 0; k < ctx->nkeys; k++) {
        fputs("<th>", f);
        html_text(f, ctx->keys[k], (size_t)-1);
        fputs("</th>", f);
    }
    fputs("<th>condition</th><th>seeds</th><th>test acc (%)</th><th>median &Delta; (pp) [95% CI]</th><th>p</th>"
          "<th>Holm p</th><th>epochs to 90%</th></tr>\n",
          f);
    for (int i = 0; i < ctx->nrows; i++) {
        const study_row *r = &ctx->rows[i];
        const study_cell *cell = &ctx->cells[r->cell];
        fputs("<tr><td>", f);
        html_text(f, cell->name, (size_t)-1);
        fputs("</td>", f);
        for (int k = 0; k < ctx->nkeys; k++) {
            const char *v = study_cell_value(cell, ctx->keys[k]);
            fputs("<td>", f);
            html_text(f, v ? v : "", (size_t)-1);
            fputs("</td>", f);
        }
        fputs("<td>", f);
        html_text(f, r->condition, (size_t)-1);
        fprintf(f, "%s</td><td>%d</td><td>%.2f &plusmn; %.2f</td>", r->baseline ? " (baseline)" : "", r->nseeds,
                100 * r->mean, isfinite(r->std) ? 100 * r->std : 0.0);
        char p[32], h[32];
        if (r->baseline) fputs("<td>&mdash;</td><td>&mdash;</td><td>&mdash;</td>", f);
        else if (isfinite(r->med))
            fprintf(f, "<td>%+.2f [%+.2f, %+.2f]</td><td>%s</td><td>%s</td>", 100 * r->med, 100 * r->lo, 100 * r->hi,
                    study_fmt_p(p, sizeof p, r->p), study_fmt_p(h, sizeof h, r->holm));
        else fprintf(f, "<td>n/a</td><td>%s</td><td>%s</td>", study_fmt_p(p, sizeof p, r->p), study_fmt_p(h, sizeof h, r->holm));
        if (r->reached) fprintf(f, "<td>%.2f (%d/%d)</td></tr>\n", r->ep90, r->reached, r->curves);
        else fprintf(f, "<td>%s</td></tr>\n", r->curves ? "not reached" : "n/a");
    }
    fputs("</table></div>\n</body>\n</html>\n", f);
    return ferror(f) ? rm_error("writing study.html failed") : 0;
}
