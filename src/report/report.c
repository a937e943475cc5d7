/* rm_report: read the experiment, compute, draw, write the three
 * documents atomically (docs/report.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/output.h"
#include "report/report_internal.h"

enum { DOC_MD, DOC_HTML, DOC_CSV, NUM_DOCS };

static int set_paths(report_ctx *ctx)
{
    const rm_report_config *opt = ctx->opt;
    ctx->md_path = opt->out ? rm_strdup(opt->out) : report_strf("%s/report.md", ctx->dir);
    if (!ctx->md_path) return -1;
    size_t n = strlen(ctx->md_path);
    if (n < 4 || strcmp(ctx->md_path + n - 3, ".md") != 0 || ctx->md_path[n - 4] == '/')
        return rm_error("%s: the report's file name must end in .md", ctx->md_path);
    const char *slash = strrchr(ctx->md_path, '/');
    const char *base = slash ? slash + 1 : ctx->md_path;
    int stem_len = (int)n - 3, base_stem = (int)strlen(base) - 3;
    ctx->html_path = report_strf("%.*s.html", stem_len, ctx->md_path);
    ctx->csv_path = report_strf("%.*s/results.csv", stem_len, ctx->md_path);
    ctx->assets_dir = report_strf("%.*s", stem_len, ctx->md_path);
    ctx->assets_rel = report_strf("%.*s", base_stem, base);
    ctx->html_rel = report_strf("%.*s.html", base_stem, base);
    ctx->csv_rel = report_strf("%.*s/results.csv", base_stem, base);
    return ctx->html_path && ctx->csv_path && ctx->assets_dir && ctx->assets_rel && ctx->html_rel && ctx->csv_rel
               ? 0
               : -1;
}

static int make_assets_dir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0777) == 0) return 0;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    if (errno == EEXIST) return rm_error("%s: exists and is not a directory (the report's figures go there)", path);
    return rm_error("%s: cannot create the figure directory: %s", path, strerror(errno));
}

typedef int (*doc_writer)(FILE *f, const report_ctx *ctx);

static int write_doc(rm_output *out, const report_ctx *ctx, doc_writer write)
{
    FILE *f = fopen(out->tmp_path, "w");
    if (!f) return rm_error("%s: cannot create %s: %s", out->final_path, out->tmp_path, strerror(errno));
    int rc = write(f, ctx);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) rc = rc ? rc : rm_error("%s: writing failed (disk full?)", out->final_path);
    return rc;
}

/* The main columns of the results table, aligned, for the terminal. */
static void echo_table(FILE *f, const report_ctx *ctx)
{
    static const int cols[] = {0, 1, 3, 4, 6, 8, 10, 11, 12, 13};
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    char cells[REPORT_RESULT_COLS][REPORT_CELL];
    int width[NCOLS];
    for (int i = 0; i < NCOLS; i++) width[i] = (int)strlen(report_result_headers[cols[i]]);
    for (int c = 0; c < ctx->ncond; c++) {
        report_result_cells(ctx, c, cells);
        for (int i = 0; i < NCOLS; i++)
            if ((int)strlen(cells[cols[i]]) > width[i]) width[i] = (int)strlen(cells[cols[i]]);
    }
    for (int c = -1; c < ctx->ncond; c++) {
        if (c >= 0) report_result_cells(ctx, c, cells);
        for (int i = 0; i < NCOLS; i++) {
            const char *text = c < 0 ? report_result_headers[cols[i]] : cells[cols[i]];
            /* "±" and "—" are two and three bytes but one column wide */
            int extra = 0;
            for (const unsigned char *p = (const unsigned char *)text; *p; p++) extra += (*p & 0xC0) == 0x80;
            fprintf(f, "%s%-*s", i ? "  " : "", width[i] + extra, text);
        }
        fputc('\n', f);
    }
}

void rm_report_config_defaults(rm_report_config *cfg) { memset(cfg, 0, sizeof *cfg); }

int rm_report(const rm_report_config *opt)
{
    report_ctx ctx = {.opt = opt};
    rm_output out[NUM_DOCS];
    for (int d = 0; d < NUM_DOCS; d++) out[d] = (rm_output){.slot = -1};
    size_t dl = strlen(opt->dir);
    while (dl > 1 && opt->dir[dl - 1] == '/') dl--;
    ctx.dir = report_strf("%.*s", (int)dl, opt->dir);
    ctx.baseline_name = rm_strdup(opt->baseline ? opt->baseline : "raw");
    ctx.title = opt->title ? rm_strdup(opt->title) : report_strf("relmask experiment report: %s", ctx.dir ? ctx.dir : "");
    int rc = ctx.dir && ctx.baseline_name && ctx.title ? 0 : -1;
    if (rc == 0) rc = set_paths(&ctx);
    /* claim the documents first: a report that exists stops us before any
     * work. results.csv lives in the figure folder, which is made only
     * once the experiment has been read, so a failed run leaves nothing. */
    struct stat st;
    if (rc == 0 && (stat(ctx.dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = rm_error("%s: no such experiment directory", ctx.dir);
    if (rc == 0) rc = rm_output_begin(&out[DOC_MD], ctx.md_path, opt->force);
    if (rc == 0) rc = rm_output_begin(&out[DOC_HTML], ctx.html_path, opt->force);
    if (rc == 0 && !opt->force && stat(ctx.csv_path, &st) == 0)
        rc = rm_error("%s: already exists; use --force to overwrite it", ctx.csv_path);
    if (rc == 0) rc = report_load(&ctx);
    if (rc == 0) rc = report_analyze(&ctx);
    if (rc == 0) rc = report_findings(&ctx);
    if (rc == 0) rc = make_assets_dir(ctx.assets_dir);
    if (rc == 0) rc = rm_output_begin(&out[DOC_CSV], ctx.csv_path, 1);
    if (rc == 0) rc = report_figures(&ctx);
    if (rc == 0) rc = report_montages(&ctx);
    if (rc == 0) {
        int h = report_heatmaps(&ctx, &ctx.heatmap_note);
        rc = h < 0 ? -1 : 0;
    }
    if (rc == 0) rc = report_sysinfo_collect(&ctx);
    static const doc_writer writers[NUM_DOCS] = {report_write_md, report_write_html, report_write_csv};
    for (int d = 0; rc == 0 && d < NUM_DOCS; d++) rc = write_doc(&out[d], &ctx, writers[d]);
    /* the markdown report last: its presence means the set is complete */
    for (int d = NUM_DOCS - 1; rc == 0 && d >= 0; d--) rc = rm_output_commit(&out[d]);
    for (int d = 0; d < NUM_DOCS; d++)
        if (out[d].tmp_path) rm_output_abort(&out[d]);
    if (rc == 0) {
        rm_log("report: wrote %s, %s, %s and %d figures", ctx.md_path, ctx.html_path, ctx.csv_path,
               ctx.ncurves + ctx.nmontages + ctx.nheatmaps);
        if (opt->echo) {
            echo_table(opt->echo, &ctx);
            fprintf(opt->echo, "\nreport: %s (also %s, %s)\n", ctx.md_path, ctx.html_path, ctx.csv_path);
        }
    }
    report_ctx_free(&ctx);
    return rc;
}

static void free_figures(report_figure *f, int n)
{
    for (int i = 0; i < n; i++) free(f[i].path), free(f[i].caption);
}

static void free_notes(report_note *n, int count)
{
    for (int i = 0; n && i < count; i++) free(n[i].name), free(n[i].text);
    free(n);
}

void report_ctx_free(report_ctx *ctx)
{
    for (int c = 0; ctx->cond && c < ctx->ncond; c++) {
        report_condition *cond = &ctx->cond[c];
        for (int r = 0; r < cond->nruns; r++) {
            report_run *run = &cond->runs[r];
            free(run->dir), free(run->val), free(run->seconds), free(run->confusion), free(run->test_data);
        }
        free(cond->runs), free(cond->name), free(cond->confusion);
        free(cond->cx), free(cond->ct), free(cond->cy), free(cond->clo), free(cond->chi);
    }
    free(ctx->cond);
    for (int k = 0; ctx->classes && k < ctx->num_classes; k++) free(ctx->classes[k]);
    free(ctx->classes);
    free(ctx->classes_source);
    free(ctx->dir), free(ctx->title), free(ctx->baseline_name);
    free(ctx->md_path), free(ctx->html_path), free(ctx->csv_path);
    free(ctx->assets_dir), free(ctx->assets_rel), free(ctx->html_rel), free(ctx->csv_rel);
    rm_json_free(ctx->relevance_eval);
    free_figures(ctx->curves, ctx->ncurves);
    free_figures(ctx->montages, ctx->nmontages);
    free(ctx->montages);
    free_figures(ctx->heatmaps, ctx->nheatmaps);
    free(ctx->heatmaps);
    free_notes(ctx->montage_notes, ctx->nmontage_notes);
    free(ctx->heatmap_note);
    free_notes(ctx->findings, ctx->nfindings);
    report_sysinfo *s = &ctx->sys;
    free(s->cpu), free(s->os), free(s->memory), free(s->dnnl), free(s->hdf5), free(s->tool), free(s->date);
    for (int i = 0; i < s->nparams; i++) free(s->param_names[i]), free(s->param_texts[i]);
    free(s->param_names), free(s->param_texts);
    free(s->relevance_method), free(s->relevance_parameters);
    memset(ctx, 0, sizeof *ctx);
}
