/* report.md: the report as GitHub-flavoured markdown. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "report/report_internal.h"

/* Text with markdown's active characters escaped (table cells included). */
static void md_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("\\`*_[]<>|#", *s)) fputc('\\', f);
        if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
}

static void md_row(FILE *f, char (*cells)[REPORT_CELL], int n)
{
    fputs("|", f);
    for (int i = 0; i < n; i++) {
        fputc(' ', f);
        md_text(f, cells[i]);
        fputs(" |", f);
    }
    fputc('\n', f);
}

static void md_header(FILE *f, const char *const *headers, int n, int first_left)
{
    fputs("|", f);
    for (int i = 0; i < n; i++) {
        fputc(' ', f);
        md_text(f, headers[i]);
        fputs(" |", f);
    }
    fputs("\n|", f);
    for (int i = 0; i < n; i++) fputs(i < first_left ? " --- |" : " ---: |", f);
    fputc('\n', f);
}

static void figure(FILE *f, const report_figure *fig)
{
    fputs("![", f);
    md_text(f, fig->caption);
    fprintf(f, "](%s)\n\n*", fig->path);
    md_text(f, fig->caption);
    fputs("*\n\n", f);
}

/* A fence longer than any backtick run in the text. */
static void code_block(FILE *f, const char *text)
{
    int longest = 0, run = 0;
    for (const char *p = text; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    int fence = longest >= 3 ? longest + 1 : 3;
    for (int i = 0; i < fence; i++) fputc('`', f);
    fputc('\n', f);
    fputs(text, f);
    if (!*text || text[strlen(text) - 1] != '\n') fputc('\n', f);
    for (int i = 0; i < fence; i++) fputc('`', f);
    fputs("\n\n", f);
}

static void findings(FILE *f, const report_ctx *ctx)
{
    const char *b = ctx->cond[ctx->baseline].name;
    fputs("## Findings\n\n", f);
    fputs("*Written from the numbers below. Each condition is compared with the baseline `", f);
    md_text(f, b);
    fputs("`; p-values are two-sided paired Wilcoxon signed-rank tests, paired by seed, and a difference is called "
          "significant only when p < 0.05. With 5 seeds the smallest possible two-sided p is 0.0625 (2 / 2^n for n "
          "seed pairs), so 5 seeds cannot show a difference significant at the 0.05 level.*\n\n",
          f);
    if (ctx->nfindings == 0) fputs("There is only the baseline condition; nothing is compared.\n\n", f);
    for (int i = 0; i < ctx->nfindings; i++) {
        fputs("- **", f);
        md_text(f, ctx->findings[i].name);
        fputs("**: ", f);
        md_text(f, ctx->findings[i].text);
        fputc('\n', f);
    }
    if (ctx->nfindings) fputc('\n', f);
}

static void results(FILE *f, const report_ctx *ctx)
{
    const report_condition *b = &ctx->cond[ctx->baseline];
    char cells[REPORT_RESULT_COLS][REPORT_CELL];
    fputs("## Results\n\n", f);
    fprintf(f, "Baseline `");
    md_text(f, b->name);
    fprintf(f, "`: final validation accuracy **%.2f%%** (the mean over its %d seeds of the last epoch's validation "
               "accuracy); 90%% of it is %.2f%%, 95%% is %.2f%%.\n\n",
            100 * ctx->baseline_final, b->nruns, 100 * ctx->thresholds[0], 100 * ctx->thresholds[1]);
    md_header(f, report_result_headers, REPORT_RESULT_COLS, 1);
    for (int c = 0; c < ctx->ncond; c++) {
        report_result_cells(ctx, c, cells);
        md_row(f, cells, REPORT_RESULT_COLS);
    }
    fputs("\nEach cell is the mean ± the sample standard deviation (n - 1) over seeds. *final val acc*: the "
          "validation accuracy after the last epoch. *AULC*: the area under the learning curve, normalized: the "
          "mean validation accuracy over all epochs (100% would mean perfect from the first epoch on). *epochs to "
          "90%* / *95%*: the first epoch whose validation accuracy reaches 90% / 95% of the baseline's final "
          "validation accuracy, averaged over the seeds that reached it; (k/n) counts them; *time to*: the "
          "cumulative epoch seconds of the history up to that epoch. *test acc*: accuracy of the saved model (the "
          "epoch with the best validation accuracy) on the raw target test split, from test.json. *p*: two-sided "
          "paired Wilcoxon signed-rank test against the baseline, paired by seed (exact for up to 20 pairs; zero "
          "differences dropped, ties averaged); with 5 seeds the smallest possible p is 0.0625. Definitions: "
          "docs/report.md. ",
          f);
    fprintf(f, "The same table as CSV: %s.", ctx->csv_rel);
    for (int c = 0, first = 1; c < ctx->ncond; c++)
        if (ctx->cond[c].other_test_data) {
            fprintf(f, "%s`%s` on %s", first ? " Tested on another file's test split, not the raw target.h5: " : "; ",
                    ctx->cond[c].name, ctx->cond[c].other_test_data);
            first = 0;
        }
    fputs("\n\n", f);
    fputs("### Per seed\n\n", f);
    char seed_cells[REPORT_SEED_COLS][REPORT_CELL];
    md_header(f, report_seed_headers, REPORT_SEED_COLS, 1);
    for (int c = 0; c < ctx->ncond; c++)
        for (int r = 0; r < ctx->cond[c].nruns; r++) {
            report_seed_cells(ctx, c, r, seed_cells);
            md_row(f, seed_cells, REPORT_SEED_COLS);
        }
    fputc('\n', f);
}

static void figures(FILE *f, const report_ctx *ctx)
{
    fputs("## Learning curves and test accuracy\n\n", f);
    for (int i = 0; i < ctx->ncurves; i++) figure(f, &ctx->curves[i]);
    fputs("## Encoded training samples\n\n", f);
    if (ctx->nmontages == 0 && ctx->nmontage_notes == 0)
        fputs("No encoded datasets (encoded_<mode>.h5) in the experiment directory.\n\n", f);
    for (int i = 0; i < ctx->nmontages; i++) figure(f, &ctx->montages[i]);
    for (int i = 0; i < ctx->nmontage_notes; i++) {
        fputs("- encoded\\_", f);
        md_text(f, ctx->montage_notes[i].name);
        fputs(".h5 ", f);
        md_text(f, ctx->montage_notes[i].text);
        fputc('\n', f);
    }
    if (ctx->nmontage_notes) fputc('\n', f);
    fputs("## Relevance heatmaps\n\n", f);
    for (int i = 0; i < ctx->nheatmaps; i++) figure(f, &ctx->heatmaps[i]);
    if (ctx->heatmap_note) {
        fputs("Heatmap montages: ", f);
        md_text(f, ctx->heatmap_note);
        fputs(".\n\n", f);
    }
}

static void relevance_quality(FILE *f, const report_ctx *ctx)
{
    if (!ctx->relevance_eval) return;
    fputs("## Relevance quality\n\nThe numeric top-level fields of relevance_eval.json (relmask relevance-eval):\n\n"
          "| metric | value |\n| --- | ---: |\n",
          f);
    const rm_json *j = ctx->relevance_eval;
    for (size_t i = 0; i < j->count; i++) {
        if (j->items[i].type != RM_JSON_NUMBER) continue;
        fputs("| ", f);
        md_text(f, j->keys[i]);
        fprintf(f, " | %.6g |\n", j->items[i].number);
    }
    fputc('\n', f);
}

static void confusions(FILE *f, const report_ctx *ctx)
{
    int k = ctx->num_classes;
    fputs("## Confusion matrices\n\nOn the target test split (the file each test.json names), summed over seeds; rows: true class, columns: "
          "predicted class.\n\n",
          f);
    for (int c = 0; c < ctx->ncond; c++) {
        const report_condition *cond = &ctx->cond[c];
        int64_t total = 0, correct = 0;
        for (int i = 0; i < k * k; i++) total += cond->confusion[i];
        for (int i = 0; i < k; i++) correct += cond->confusion[(size_t)i * k + i];
        fputs("### ", f);
        md_text(f, cond->name);
        fprintf(f, "\n\n%d seed%s, %lld test predictions, %lld correct (%.2f%%).\n\n", cond->nruns,
                cond->nruns == 1 ? "" : "s", (long long)total, (long long)correct,
                total ? 100.0 * correct / total : 0.0);
        fputs("| true \\\\ predicted |", f);
        for (int p = 0; p < k; p++) {
            fputc(' ', f);
            md_text(f, ctx->classes[p]);
            fputs(" |", f);
        }
        fputs("\n| --- |", f);
        for (int p = 0; p < k; p++) fputs(" ---: |", f);
        fputc('\n', f);
        for (int t = 0; t < k; t++) {
            fputs("| **", f);
            md_text(f, ctx->classes[t]);
            fputs("** |", f);
            for (int p = 0; p < k; p++) {
                int64_t v = cond->confusion[(size_t)t * k + p];
                fprintf(f, t == p ? " **%lld** |" : " %lld |", (long long)v);
            }
            fputc('\n', f);
        }
        fputc('\n', f);
    }
}

static void reproducibility(FILE *f, const report_ctx *ctx)
{
    const report_sysinfo *s = &ctx->sys;
    char buf[128], seeds[512];
    fputs("## Reproducibility\n\n", f);
    fprintf(f, "- report generated: %s by %s\n", s->date, s->tool);
    fprintf(f, "- libraries: %s, %s\n", s->dnnl, s->hdf5);
    fputs("- machine: ", f);
    md_text(f, s->cpu);
    fprintf(f, ", %ld cores online, %s memory, ", s->cores, s->memory);
    md_text(f, s->os);
    fputs(" (the machine that wrote the report; the runs' timings come from their histories)\n", f);
    fputs("- seeds:", f);
    for (int c = 0; c < ctx->ncond; c++) {
        fputs(c ? "; " : " ", f);
        md_text(f, ctx->cond[c].name);
        fputs(" ", f);
        md_text(f, report_fmt_seeds(seeds, sizeof seeds, &ctx->cond[c]));
    }
    fputc('\n', f);
    fprintf(f, "- total training time: %s (the epoch seconds of %d student run%s' histories%s)\n",
            report_fmt_duration(buf, sizeof buf, ctx->total_seconds), ctx->total_runs, ctx->total_runs == 1 ? "" : "s",
            ctx->has_source_history ? " and of the source model" : "; no source_model.h5");
    if (ctx->has_source_eval)
        fprintf(f, "- source model test accuracy (source_model_eval.json): %.2f%%\n", 100 * ctx->source_test_acc);
    else
        fputs("- source model test accuracy: n/a (no source_model_eval.json)\n", f);
    if (s->relevance_method) {
        fputs("- relevance (relevance.h5): method ", f);
        md_text(f, s->relevance_method);
        fputc('\n', f);
    }
    fputc('\n', f);
    if (s->relevance_parameters) {
        fputs("Relevance parameters (relevance.h5):\n\n", f);
        code_block(f, s->relevance_parameters);
    }
    fputs("### Stage parameters\n\n", f);
    if (s->nparams == 0) fputs("No *.params files in the experiment directory.\n\n", f);
    for (int i = 0; i < s->nparams; i++) {
        md_text(f, s->param_names[i]);
        fputs(":\n\n", f);
        code_block(f, s->param_texts[i]);
    }
}

int report_write_md(FILE *f, const report_ctx *ctx)
{
    fputs("# ", f);
    md_text(f, ctx->title);
    fputs("\n\n", f);
    fprintf(f, "Generated %s by %s from `", ctx->sys.date, ctx->sys.tool);
    md_text(f, ctx->dir);
    fprintf(f, "`: %d condition%s, baseline `", ctx->ncond, ctx->ncond == 1 ? "" : "s");
    md_text(f, ctx->cond[ctx->baseline].name);
    fprintf(f, "`. The same report as HTML: [%s](%s); the results table as CSV: [%s](%s); the figures are in `",
            ctx->html_rel, ctx->html_rel, ctx->csv_rel, ctx->csv_rel);
    md_text(f, ctx->assets_rel);
    fputs("/`.\n\n", f);
    findings(f, ctx);
    results(f, ctx);
    figures(f, ctx);
    relevance_quality(f, ctx);
    confusions(f, ctx);
    reproducibility(f, ctx);
    return ferror(f) ? rm_error("writing the markdown report failed") : 0;
}
