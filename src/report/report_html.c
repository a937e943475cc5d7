/* report.html: the report as one self-contained HTML page (inline style,
 * no scripts); only the figures are separate files, in <stem>/. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "report/report_internal.h"

#define esc rm_xml_escape

static const char style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.45}\n"
    "h1{font-size:1.6em;border-bottom:2px solid #4e79a7;padding-bottom:.2em}\n"
    "h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #ccc}\n"
    "h3{font-size:1.1em}\n"
    "table{border-collapse:collapse;margin:.8em 0;font-size:.9em}\n"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right;white-space:nowrap}\n"
    "th{background:#f0f3f7}\n"
    "td.name,th.name{text-align:left}\n"
    "tr.baseline td{background:#f7f7f2}\n"
    ".note{color:#555;font-size:.9em;max-width:60em}\n"
    "figure{margin:1em 0}\n"
    "figure img{max-width:100%;border:1px solid #ddd}\n"
    "figcaption{color:#555;font-size:.9em;max-width:60em}\n"
    "pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}\n"
    "ul.findings li{margin-bottom:.5em}\n"
    "table.confusion td{min-width:3em}\n";

static void table(FILE *f, const char *const *headers, int n)
{
    fputs("<table>\n<tr>", f);
    for (int i = 0; i < n; i++) {
        fputs(i == 0 ? "<th class=\"name\">" : "<th>", f);
        esc(f, headers[i]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
}

static void row(FILE *f, char (*cells)[REPORT_CELL], int n, int baseline)
{
    fputs(baseline ? "<tr class=\"baseline\">" : "<tr>", f);
    for (int i = 0; i < n; i++) {
        fputs(i == 0 ? "<td class=\"name\">" : "<td>", f);
        esc(f, cells[i]);
        fputs("</td>", f);
    }
    fputs("</tr>\n", f);
}

static void figure(FILE *f, const report_figure *fig)
{
    fputs("<figure><img src=\"", f);
    esc(f, fig->path);
    fputs("\" alt=\"", f);
    esc(f, fig->caption);
    fputs("\"><figcaption>", f);
    esc(f, fig->caption);
    fputs("</figcaption></figure>\n", f);
}

static void findings(FILE *f, const report_ctx *ctx)
{
    fputs("<h2 id=\"findings\">Findings</h2>\n<p class=\"note\">Written from the numbers below. Each condition is "
          "compared with the baseline <code>",
          f);
    esc(f, ctx->cond[ctx->baseline].name);
    fputs("</code>; p-values are two-sided paired Wilcoxon signed-rank tests, paired by seed, and a difference is "
          "called significant only when p &lt; 0.05. With 5 seeds the smallest possible two-sided p is 0.0625 "
          "(2 / 2<sup>n</sup> for n seed pairs), so 5 seeds cannot show a difference significant at the 0.05 "
          "level.</p>\n",
          f);
    if (ctx->nfindings == 0) fputs("<p>There is only the baseline condition; nothing is compared.</p>\n", f);
    else fputs("<ul class=\"findings\">\n", f);
    for (int i = 0; i < ctx->nfindings; i++) {
        fputs("<li><b>", f);
        esc(f, ctx->findings[i].name);
        fputs("</b>: ", f);
        esc(f, ctx->findings[i].text);
        fputs("</li>\n", f);
    }
    if (ctx->nfindings) fputs("</ul>\n", f);
}

static void results(FILE *f, const report_ctx *ctx)
{
    const report_condition *b = &ctx->cond[ctx->baseline];
    fputs("<h2 id=\"results\">Results</h2>\n<p>Baseline <code>", f);
    esc(f, b->name);
    fprintf(f, "</code>: final validation accuracy <b>%.2f%%</b> (the mean over its %d seeds of the last epoch's "
               "validation accuracy); 90%% of it is %.2f%%, 95%% is %.2f%%.</p>\n",
            100 * ctx->baseline_final, b->nruns, 100 * ctx->thresholds[0], 100 * ctx->thresholds[1]);
    char cells[REPORT_RESULT_COLS][REPORT_CELL];
    table(f, report_result_headers, REPORT_RESULT_COLS);
    for (int c = 0; c < ctx->ncond; c++) {
        report_result_cells(ctx, c, cells);
        row(f, cells, REPORT_RESULT_COLS, c == ctx->baseline);
    }
    fputs("</table>\n", f);
    fputs("<p class=\"note\">Each cell is the mean ± the sample standard deviation (n − 1) over seeds. "
          "<i>final val acc</i>: the validation accuracy after the last epoch. <i>AULC</i>: the area under the "
          "learning curve, normalized: the mean validation accuracy over all epochs (100% would mean perfect from "
          "the first epoch on). <i>epochs to 90%</i> / <i>95%</i>: the first epoch whose validation accuracy "
          "reaches 90% / 95% of the baseline's final validation accuracy, averaged over the seeds that reached it; "
          "(k/n) counts them; <i>time to</i>: the cumulative epoch seconds of the history up to that epoch. "
          "<i>test acc</i>: accuracy of the saved model (the epoch with the best validation accuracy) on the raw "
          "target test split, from test.json. <i>p</i>: two-sided paired Wilcoxon signed-rank test against the "
          "baseline, paired by seed (exact for up to 20 pairs; zero differences dropped, ties averaged); with 5 "
          "seeds the smallest possible p is 0.0625. Definitions: docs/report.md. The same table: <a href=\"",
          f);
    esc(f, ctx->csv_rel);
    fputs("\">", f);
    esc(f, ctx->csv_rel);
    fputs("</a>.", f);
    for (int c = 0, first = 1; c < ctx->ncond; c++)
        if (ctx->cond[c].other_test_data) {
            fputs(first ? " Tested on another file's test split, not the raw target.h5: " : "; ", f);
            fputs("<code>", f);
            esc(f, ctx->cond[c].name);
            fputs("</code> on ", f);
            esc(f, ctx->cond[c].other_test_data);
            first = 0;
        }
    fputs("</p>\n<h3>Per seed</h3>\n", f);
    char seed_cells[REPORT_SEED_COLS][REPORT_CELL];
    table(f, report_seed_headers, REPORT_SEED_COLS);
    for (int c = 0; c < ctx->ncond; c++)
        for (int r = 0; r < ctx->cond[c].nruns; r++) {
            report_seed_cells(ctx, c, r, seed_cells);
            row(f, seed_cells, REPORT_SEED_COLS, c == ctx->baseline);
        }
    fputs("</table>\n", f);
}

static void figures(FILE *f, const report_ctx *ctx)
{
    fputs("<h2 id=\"curves\">Learning curves and test accuracy</h2>\n", f);
    for (int i = 0; i < ctx->ncurves; i++) figure(f, &ctx->curves[i]);
    fputs("<h2 id=\"encoded\">Encoded training samples</h2>\n", f);
    if (ctx->nmontages == 0 && ctx->nmontage_notes == 0)
        fputs("<p>No encoded datasets (encoded_&lt;mode&gt;.h5) in the experiment directory.</p>\n", f);
    for (int i = 0; i < ctx->nmontages; i++) figure(f, &ctx->montages[i]);
    if (ctx->nmontage_notes) fputs("<ul>\n", f);
    for (int i = 0; i < ctx->nmontage_notes; i++) {
        fputs("<li>encoded_", f);
        esc(f, ctx->montage_notes[i].name);
        fputs(".h5 ", f);
        esc(f, ctx->montage_notes[i].text);
        fputs("</li>\n", f);
    }
    if (ctx->nmontage_notes) fputs("</ul>\n", f);
    fputs("<h2 id=\"heatmaps\">Relevance heatmaps</h2>\n", f);
    for (int i = 0; i < ctx->nheatmaps; i++) figure(f, &ctx->heatmaps[i]);
    if (ctx->heatmap_note) {
        fputs("<p>Heatmap montages: ", f);
        esc(f, ctx->heatmap_note);
        fputs(".</p>\n", f);
    }
}

static void relevance_quality(FILE *f, const report_ctx *ctx)
{
    if (!ctx->relevance_eval) return;
    fputs("<h2 id=\"relevance-quality\">Relevance quality</h2>\n<p>The numeric top-level fields of "
          "relevance_eval.json (relmask relevance-eval):</p>\n<table>\n<tr><th class=\"name\">metric</th><th>value"
          "</th></tr>\n",
          f);
    const rm_json *j = ctx->relevance_eval;
    for (size_t i = 0; i < j->count; i++) {
        if (j->items[i].type != RM_JSON_NUMBER) continue;
        fputs("<tr><td class=\"name\">", f);
        esc(f, j->keys[i]);
        fprintf(f, "</td><td>%.6g</td></tr>\n", j->items[i].number);
    }
    fputs("</table>\n", f);
}

/* Cells shaded by their share of the row (the recall of the true class
 * for the diagonal): white at 0, dark blue at 1. */
static void confusions(FILE *f, const report_ctx *ctx)
{
    int k = ctx->num_classes;
    fputs("<h2 id=\"confusion\">Confusion matrices</h2>\n<p>On the target test split (the file each test.json names), summed over seeds; rows: "
          "true class, columns: predicted class; shading: the cell's share of its row.</p>\n",
          f);
    for (int c = 0; c < ctx->ncond; c++) {
        const report_condition *cond = &ctx->cond[c];
        int64_t total = 0, correct = 0;
        for (int i = 0; i < k * k; i++) total += cond->confusion[i];
        for (int i = 0; i < k; i++) correct += cond->confusion[(size_t)i * k + i];
        fputs("<h3>", f);
        esc(f, cond->name);
        fprintf(f, "</h3>\n<p>%d seed%s, %lld test predictions, %lld correct (%.2f%%).</p>\n", cond->nruns,
                cond->nruns == 1 ? "" : "s", (long long)total, (long long)correct,
                total ? 100.0 * correct / total : 0.0);
        fputs("<table class=\"confusion\">\n<tr><th class=\"name\">true \\ predicted</th>", f);
        for (int p = 0; p < k; p++) {
            fputs("<th>", f);
            esc(f, ctx->classes[p]);
            fputs("</th>", f);
        }
        fputs("</tr>\n", f);
        for (int t = 0; t < k; t++) {
            int64_t row_sum = 0;
            for (int p = 0; p < k; p++) row_sum += cond->confusion[(size_t)t * k + p];
            fputs("<tr><th class=\"name\">", f);
            esc(f, ctx->classes[t]);
            fputs("</th>", f);
            for (int p = 0; p < k; p++) {
                int64_t v = cond->confusion[(size_t)t * k + p];
                double share = row_sum ? (double)v / row_sum : 0;
                int r = (int)lround(255 - share * (255 - 33)), g = (int)lround(255 - share * (255 - 84)),
                    bl = (int)lround(255 - share * (255 - 141));
                fprintf(f, "<td style=\"background:#%02x%02x%02x;color:%s%s\" title=\"%.1f%% of the row\">%lld</td>",
                        r, g, bl, share > 0.5 ? "#ffffff" : "#222222", t == p ? ";font-weight:bold" : "", 100 * share,
                        (long long)v);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

static void reproducibility(FILE *f, const report_ctx *ctx)
{
    const report_sysinfo *s = &ctx->sys;
    char buf[128], seeds[512];
    fputs("<h2 id=\"reproducibility\">Reproducibility</h2>\n<ul>\n<li>report generated: ", f);
    esc(f, s->date);
    fputs(" by ", f);
    esc(f, s->tool);
    fputs("</li>\n<li>libraries: ", f);
    esc(f, s->dnnl);
    fputs(", ", f);
    esc(f, s->hdf5);
    fputs("</li>\n<li>machine: ", f);
    esc(f, s->cpu);
    fprintf(f, ", %ld cores online, ", s->cores);
    esc(f, s->memory);
    fputs(" memory, ", f);
    esc(f, s->os);
    fputs(" (the machine that wrote the report; the runs' timings come from their histories)</li>\n<li>seeds:", f);
    for (int c = 0; c < ctx->ncond; c++) {
        fputs(c ? "; " : " ", f);
        esc(f, ctx->cond[c].name);
        fputs(" ", f);
        esc(f, report_fmt_seeds(seeds, sizeof seeds, &ctx->cond[c]));
    }
    fprintf(f, "</li>\n<li>total training time: %s (the epoch seconds of %d student run%s' histories%s)</li>\n",
            report_fmt_duration(buf, sizeof buf, ctx->total_seconds), ctx->total_runs, ctx->total_runs == 1 ? "" : "s",
            ctx->has_source_history ? " and of the source model" : "; no source_model.h5");
    if (ctx->has_source_eval)
        fprintf(f, "<li>source model test accuracy (source_model_eval.json): %.2f%%</li>\n", 100 * ctx->source_test_acc);
    else
        fputs("<li>source model test accuracy: n/a (no source_model_eval.json)</li>\n", f);
    if (s->relevance_method) {
        fputs("<li>relevance (relevance.h5): method ", f);
        esc(f, s->relevance_method);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
    if (s->relevance_parameters) {
        fputs("<p>Relevance parameters (relevance.h5):</p>\n<pre>", f);
        esc(f, s->relevance_parameters);
        fputs("</pre>\n", f);
    }
    fputs("<h3>Stage parameters</h3>\n", f);
    if (s->nparams == 0) fputs("<p>No *.params files in the experiment directory.</p>\n", f);
    for (int i = 0; i < s->nparams; i++) {
        fputs("<p>", f);
        esc(f, s->param_names[i]);
        fputs(":</p>\n<pre>", f);
        esc(f, s->param_texts[i]);
        fputs("</pre>\n", f);
    }
}

int report_write_html(FILE *f, const report_ctx *ctx)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    esc(f, ctx->title);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", style);
    esc(f, ctx->title);
    fputs("</h1>\n<p>Generated ", f);
    esc(f, ctx->sys.date);
    fputs(" by ", f);
    esc(f, ctx->sys.tool);
    fputs(" from <code>", f);
    esc(f, ctx->dir);
    fprintf(f, "</code>: %d condition%s, baseline <code>", ctx->ncond, ctx->ncond == 1 ? "" : "s");
    esc(f, ctx->cond[ctx->baseline].name);
    fputs("</code>. The results table as CSV: <a href=\"", f);
    esc(f, ctx->csv_rel);
    fputs("\">", f);
    esc(f, ctx->csv_rel);
    fputs("</a>; the figures are in <code>", f);
    esc(f, ctx->assets_rel);
    fputs("/</code>.</p>\n", f);
    fputs("<p><a href=\"#findings\">Findings</a> · <a href=\"#results\">Results</a> · <a href=\"#curves\">Learning "
          "curves</a> · <a href=\"#encoded\">Encoded samples</a> · <a href=\"#heatmaps\">Heatmaps</a> · <a "
          "href=\"#confusion\">Confusion matrices</a> · <a href=\"#reproducibility\">Reproducibility</a></p>\n",
          f);
    findings(f, ctx);
    results(f, ctx);
    figures(f, ctx);
    relevance_quality(f, ctx);
    confusions(f, ctx);
    reproducibility(f, ctx);
    fputs("</body>\n</html>\n", f);
    return ferror(f) ? rm_error("writing the HTML report failed") : 0;
}
