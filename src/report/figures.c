/* The report's pictures: learning curves (per epoch and over time) and the
 * final test accuracies as SVG and, drawn the same way, as PNG beside each
 * SVG (at RM_PLOT_PNG_SCALE times its size), and a montage of encoded training images
 * per encoding mode as PNG. */
#include <ctype.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/output.h"
#include "report/report_internal.h"

enum { MONTAGE_COLS = 8, MONTAGE_MIN_TILE = 96, MONTAGE_GAP = 4 };

typedef int (*figure_drawer)(rm_canvas *c, const report_ctx *ctx, void *arg);

typedef struct {
    figure_drawer draw;
    const report_ctx *ctx;
    void *arg;
} figure_job;

static int draw_job(rm_canvas *c, void *job)
{
    const figure_job *j = job;
    return j->draw(c, j->ctx, j->arg);
}

/* Writes <assets>/<name> (an .svg) and the same picture as PNG beside it
 * (<name> with .png), each atomically (replacing an older figure), and
 * lists the SVG. */
static int write_figure(report_ctx *ctx, const char *name, const char *caption, figure_drawer draw, void *arg)
{
    char *path = report_strf("%s/%s", ctx->assets_dir, name);
    if (!path) return -1;
    rm_output out;
    int rc = rm_output_begin(&out, path, 1);
    if (rc != 0) {
        free(path);
        return -1;
    }
    FILE *f = fopen(out.tmp_path, "w");
    if (!f) {
        rm_error("%s: cannot create %s", out.final_path, out.tmp_path);
        rm_output_abort(&out);
        free(path);
        return -1;
    }
    rm_canvas svg;
    rm_canvas_svg(&svg, f);
    rc = draw(&svg, ctx, arg);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) rc = rc ? rc : rm_error("%s: writing failed (disk full?)", out.final_path);
    if (rc == 0) rc = rm_output_commit(&out);
    else rm_output_abort(&out);
    if (rc == 0) {
        size_t n = strlen(path);
        if (n > 4 && !strcmp(path + n - 4, ".svg")) {
            memcpy(path + n - 4, ".png", 4);
            figure_job job = {draw, ctx, arg};
            rc = rm_canvas_save_png(path, draw_job, &job);
        }
    }
    free(path);
    RM_TRY(rc);
    report_figure *fig = &ctx->curves[ctx->ncurves];
    fig->path = report_strf("%s/%s", ctx->assets_rel, name);
    fig->caption = rm_strdup(caption);
    if (!fig->path || !fig->caption) {
        free(fig->path), free(fig->caption);
        return -1;
    }
    ctx->ncurves++;
    return 0;
}

static int threshold_lines(const report_ctx *ctx, rm_plot_hline h[2], char labels[2][96])
{
    const char *b = ctx->cond[ctx->baseline].name;
    for (int t = 0; t < 2; t++) {
        snprintf(labels[t], sizeof labels[t], "%d%% of %s: %.1f%%", (int)lround(100 * report_threshold_share[t]), b,
                 100 * ctx->thresholds[t]);
        h[t] = (rm_plot_hline){.y = 100 * ctx->thresholds[t], .label = labels[t], .style = t + 1};
    }
    return 2;
}

/* arg: non-NULL for the time axis */
static int write_curves(rm_canvas *canvas, const report_ctx *ctx, void *arg)
{
    int by_time = arg != NULL;
    rm_plot_series *s = rm_calloc((size_t)ctx->ncond, sizeof *s, "plot series");
    if (!s) return -1;
    int n = 0;
    for (int c = 0; c < ctx->ncond; c++) {
        const report_condition *cond = &ctx->cond[c];
        if (!cond->curve_len) continue;
        s[n++] = (rm_plot_series){.label = cond->name, .n = cond->curve_len, .x = by_time ? cond->ct : cond->cx,
                                  .y = cond->cy, .lo = cond->clo, .hi = cond->chi, .color = c};
    }
    rm_plot_hline h[2];
    char labels[2][96];
    int nh = threshold_lines(ctx, h, labels);
    rm_plot_spec spec = {
        .title = by_time ? "Validation accuracy over training time (mean of seeds)"
                         : "Validation accuracy per epoch (mean of seeds)",
        .xlabel = by_time ? "training time (s, cumulative)" : "epoch",
        .ylabel = "validation accuracy (%)",
        .integer_x = !by_time,
        .clamp_ymin = 0,
        .clamp_ymax = 100,
    };
    if (by_time) {   /* time starts at 0 */
        spec.xmin = 0;
        for (int i = 0; i < n; i++)
            if (s[i].n > 0 && s[i].x[s[i].n - 1] > spec.xmax) spec.xmax = s[i].x[s[i].n - 1];
        if (!(spec.xmax > 0)) spec.xmax = 1;
        double step = rm_plot_nice_step(spec.xmax, 8);
        spec.xmax = ceil(spec.xmax / step - 1e-9) * step;
    }
    int rc = rm_plot_line(canvas, &spec, s, n, h, nh, NULL);
    free(s);
    return rc;
}

static int write_bars(rm_canvas *canvas, const report_ctx *ctx, void *arg)
{
    (void)arg;
    rm_plot_bar *bars = rm_calloc((size_t)ctx->ncond, sizeof *bars, "bars");
    double **points = rm_calloc((size_t)ctx->ncond, sizeof *points, "bar points");
    int rc = bars && points ? 0 : -1;
    for (int c = 0; rc == 0 && c < ctx->ncond; c++) {
        const report_condition *cond = &ctx->cond[c];
        const report_stat *t = &cond->s.test;
        points[c] = rm_malloc(sizeof **points * (size_t)(cond->nruns ? cond->nruns : 1), "bar points");
        if (!points[c]) {
            rc = -1;
            break;
        }
        for (int i = 0; i < cond->nruns; i++) points[c][i] = 100 * cond->runs[i].test_acc;
        double sd = isfinite(t->std) ? t->std : NAN;
        bars[c] = (rm_plot_bar){.label = cond->name, .value = 100 * t->mean, .lo = 100 * (t->mean - sd),
                                .hi = 100 * (t->mean + sd), .npoints = cond->nruns, .points = points[c], .color = c};
    }
    if (rc == 0) {
        char label[96];
        const report_condition *b = &ctx->cond[ctx->baseline];
        snprintf(label, sizeof label, "%s mean: %.1f%%", b->name, 100 * b->s.test.mean);
        rm_plot_hline h = {.y = 100 * b->s.test.mean, .label = label, .style = 1};
        rm_plot_spec spec = {.title = "Final test accuracy (mean ± 1 std of seeds)",
                             .ylabel = "test accuracy (%)", .clamp_ymin = 0, .clamp_ymax = 100};
        rc = rm_plot_bars(canvas, &spec, bars, ctx->ncond, &h, 1, NULL);
    }
    for (int c = 0; points && c < ctx->ncond; c++) free(points[c]);
    free(points);
    free(bars);
    return rc;
}

int report_figures(report_ctx *ctx)
{
    int any_curve = 0;
    for (int c = 0; c < ctx->ncond; c++) any_curve |= ctx->cond[c].curve_len > 0;
    if (any_curve) {
        RM_TRY(write_figure(ctx, "learning_curves.svg",
                            "Validation accuracy per epoch: the mean over seeds, the band from the lowest to the "
                            "highest seed, dashed lines at 90% and 95% of the baseline's final validation accuracy.",
                            write_curves, NULL));
        RM_TRY(write_figure(ctx, "learning_curves_time.svg",
                            "The same curves against cumulative training time (epoch seconds from the history, "
                            "mean over seeds).",
                            write_curves, ctx));
    }
    return write_figure(ctx, "test_accuracy.svg",
                        "Final test accuracy per condition: mean (bar and number), one standard deviation (whisker) "
                        "and every seed (dots).",
                        write_bars, NULL);
}

/* --- montages of encoded samples ------------------------------------------------- */

static int add_note(report_ctx *ctx, const char *name, const char *text)
{
    report_note *grown = rm_realloc(ctx->montage_notes, sizeof *grown * (size_t)(ctx->nmontage_notes + 1), "notes");
    if (!grown) return -1;
    ctx->montage_notes = grown;
    report_note *n = &grown[ctx->nmontage_notes];
    n->name = rm_strdup(name);
    n->text = rm_strdup(text);
    if (!n->name || !n->text) {
        free(n->name), free(n->text);
        return -1;
    }
    ctx->nmontage_notes++;
    return 0;
}

/* /encoded [N] (uint8 flags written by relmask encode), or NULL if absent. */
static uint8_t *read_flags(const rm_dataset *ds)
{
    hid_t f = (hid_t)ds->hfile;
    if (H5Lexists(f, "encoded", H5P_DEFAULT) <= 0) return NULL;
    hid_t d = H5Dopen2(f, "encoded", H5P_DEFAULT);
    if (d < 0) return NULL;
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    uint8_t *flags = NULL;
    if (n == (hssize_t)ds->count) {
        flags = malloc(ds->count ? ds->count : 1);
        if (flags && H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags) < 0) {
            free(flags);
            flags = NULL;
        }
    }
    H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    return flags;
}

/* Up to MONTAGE_COLS training records: one per class (an encoded one where
 * the file marks which records were encoded), then further records in
 * file order, encoded ones first. */
static int pick_records(const rm_dataset *ds, const uint8_t *flags, size_t *pick)
{
    int n = 0;
    for (int c = 0; c < ds->num_classes && n < MONTAGE_COLS; c++) {
        size_t any = ds->count, marked = ds->count;
        for (size_t i = 0; i < ds->count && marked == ds->count; i++) {
            if (ds->split[i] != RM_SPLIT_TRAIN || ds->labels[i] != c) continue;
            if (any == ds->count) any = i;
            if (!flags || flags[i]) marked = i;
        }
        if (marked < ds->count) pick[n++] = marked;
        else if (any < ds->count) pick[n++] = any;
    }
    for (int want_marked = flags ? 1 : 0; want_marked >= 0; want_marked--) {
        for (size_t i = 0; i < ds->count && n < MONTAGE_COLS; i++) {
            if (ds->split[i] != RM_SPLIT_TRAIN || (want_marked && !flags[i])) continue;
            int seen = 0;
            for (int k = 0; k < n; k++) seen |= pick[k] == i;
            if (!seen) pick[n++] = i;
        }
    }
    return n;
}

static void safe_name(char *dst, size_t n, const char *src)
{
    size_t k = 0;
    for (; *src && k + 1 < n; src++)
        dst[k++] = (isalnum((unsigned char)*src) || *src == '-' || *src == '_' || *src == '.') ? *src : '_';
    dst[k] = 0;
}

/* One PNG per mode: the raw records on top (when target.h5 has the same
 * records), the encoded images below, the relevance channel (if any) last. */
static int montage_mode(report_ctx *ctx, const char *mode, const char *path, const rm_dataset *raw, char **note)
{
    *note = NULL;
    rm_dataset ds;
    if (rm_dataset_open(&ds, path) != 0) {
        *note = report_strf("could not be read: %s", rm_error_message());
        return *note ? 0 : -1;
    }
    int rc = 0, image_c = ds.channels >= 3 ? 3 : 1, extra = ds.channels - image_c;
    int raw_ok = raw && raw->count == ds.count && raw->height == ds.height && raw->width == ds.width &&
                 !memcmp(raw->labels, ds.labels, sizeof *ds.labels * ds.count);
    uint8_t *flags = read_flags(&ds);
    size_t pick[MONTAGE_COLS];
    int n = pick_records(&ds, flags, pick);
    free(flags);
    size_t rec = (size_t)ds.channels * ds.height * ds.width;
    uint8_t *img = rm_malloc(rec + (raw_ok ? (size_t)raw->channels * raw->height * raw->width : 0), "montage record");
    if (!img) rc = -1;
    if (rc == 0 && n == 0) *note = report_strf("has no training records to show");
    if (rc == 0 && n > 0) {
        int side = ds.width > ds.height ? ds.width : ds.height;
        int scale = (MONTAGE_MIN_TILE + side - 1) / side;
        int rows = raw_ok + 1 + (extra > 0), channels = image_c == 3 || (raw_ok && raw->channels == 3) ? 3 : 1;
        rm_montage m;
        rc = rm_montage_init(&m, rows, MONTAGE_COLS, ds.width * scale, ds.height * scale, MONTAGE_GAP, channels, 255);
        for (int k = 0; rc == 0 && k < n; k++) {
            int row = 0;
            if (raw_ok) {
                uint8_t *r = img + rec;
                rc = rm_dataset_read_images(raw, pick[k], 1, r);
                if (rc == 0) rc = rm_montage_put(&m, row++, k, r, raw->channels >= 3 ? 3 : 1, raw->height, raw->width);
            }
            if (rc == 0) rc = rm_dataset_read_images(&ds, pick[k], 1, img);
            if (rc == 0) rc = rm_montage_put(&m, row++, k, img, image_c, ds.height, ds.width);
            if (rc == 0 && extra > 0)
                rc = rm_montage_put(&m, row, k, img + (size_t)image_c * ds.height * ds.width, 1, ds.height, ds.width);
        }
        char file[160], safe[100];
        safe_name(safe, sizeof safe, mode);
        snprintf(file, sizeof file, "encoded_%s.png", safe);
        char *out = rc == 0 ? report_strf("%s/%s", ctx->assets_dir, file) : NULL;
        if (rc == 0 && !out) rc = -1;
        if (rc == 0) rc = rm_montage_save_png(&m, out);
        free(out);
        rm_montage_free(&m);
        if (rc == 0) {
            report_figure *grown = rm_realloc(ctx->montages, sizeof *grown * (size_t)(ctx->nmontages + 1), "figures");
            if (!grown) rc = -1;
            else ctx->montages = grown;
        }
        if (rc == 0) {
            report_figure *fig = &ctx->montages[ctx->nmontages];
            fig->path = report_strf("%s/%s", ctx->assets_rel, file);
            fig->caption = report_strf("%s: %d training records%s%s%s", mode, n,
                                       raw_ok ? "; top row raw (target.h5), below encoded" : "; encoded images",
                                       extra > 0 ? "; bottom row the appended relevance channel" : "",
                                       raw_ok ? "" : " (no raw row: target.h5 is missing or holds other records)");
            if (!fig->path || !fig->caption) {
                free(fig->path), free(fig->caption);
                rc = -1;
            } else {
                ctx->nmontages++;
            }
        }
    }
    free(img);
    rm_dataset_close(&ds);
    return rc;
}

int report_montages(report_ctx *ctx)
{
    char *pattern = report_strf("%s/encoded_*.h5", ctx->dir);
    char *target = report_strf("%s/target.h5", ctx->dir);
    if (!pattern || !target) {
        free(pattern), free(target);
        return -1;
    }
    glob_t g;
    int found = glob(pattern, 0, NULL, &g) == 0;
    free(pattern);
    rm_dataset raw;
    int have_raw = 0, rc = 0;
    if (found) {
        have_raw = rm_dataset_open(&raw, target) == 0;
        if (!have_raw) rm_warn("report: %s: %s (montages without the raw row)", target, rm_error_message());
    }
    for (size_t i = 0; found && rc == 0 && i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i], *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char mode[256];
        snprintf(mode, sizeof mode, "%.*s", (int)(strlen(base) - strlen("encoded_") - strlen(".h5")),
                 base + strlen("encoded_"));
        char *note = NULL;
        rc = montage_mode(ctx, mode, path, have_raw ? &raw : NULL, &note);
        if (rc == 0 && note) {
            rm_warn("report: %s %s", path, note);
            rc = add_note(ctx, mode, note);
        }
        free(note);
    }
    if (have_raw) rm_dataset_close(&raw);
    if (found) globfree(&g);
    free(target);
    return rc;
}
