/* The sections of report.md and report.html, written once: what each says,
 * in the order of the list below; report_md.c and report_html.c draw it. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "report/report_render.h"

static void say(report_renderer *r, const char *s) { r->ops->prose(r, s); }

/* Prose with numbers: only numbers go through the format. */
static void sayf(report_renderer *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sayf(report_renderer *r, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->ops->prose(r, buf);
}

static void text(report_renderer *r, const char *s) { r->ops->text(r, s); }
static void verbatim(report_renderer *r, const char *s) { r->ops->verbatim(r, s); }
static void begin(report_renderer *r, report_block kind) { r->ops->block_begin(r, kind, NULL); }
static void end(report_renderer *r, report_block kind) { r->ops->block_end(r, kind); }

static void paragraph(report_renderer *r, const char *prose)
{
    begin(r, REPORT_PARA);
    say(r, prose);
    end(r, REPORT_PARA);
}

static void figures(report_renderer *r, const report_figure *figs, int n)
{
    for (int i = 0; i < n; i++) r->ops->figure(r, &figs[i]);
}

/* One table row of text cells; the first names the row. */
static void text_row(report_renderer *r, char (*texts)[REPORT_CELL], int n, int highlight)
{
    report_cell cells[REPORT_RESULT_COLS > REPORT_SEED_COLS ? REPORT_RESULT_COLS : REPORT_SEED_COLS];
    for (int i = 0; i < n; i++) cells[i] = (report_cell){.text = texts[i], .flags = i ? 0 : REPORT_CELL_NAME};
    r->ops->table_row(r, cells, n, highlight);
}

/* The documents of the report besides this one, and where the figures are. */
static void siblings(report_renderer *r, const report_ctx *ctx)
{
    const struct {
        int format;   /* -1: neither document */
        const char *label, *href;
    } docs[] = {
        {REPORT_HTML, "the same report as HTML: ", ctx->html_rel},
        {-1, "the results table as CSV: ", ctx->csv_rel},
    };
    int first = 1;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        if (docs[i].format == (int)r->format) continue;
        char label[64];
        snprintf(label, sizeof label, "%s%s", first ? "" : "; ", docs[i].label);
        if (first) label[0] = (char)toupper((unsigned char)label[0]);
        say(r, label);
        r->ops->link(r, docs[i].href, docs[i].href);
        first = 0;
    }
    say(r, "; the figures are in `");
    text(r, ctx->assets_rel);
    say(r, "/`.");
}

static void intro(report_renderer *r, const report_ctx *ctx)
{
    begin(r, REPORT_PARA);
    say(r, "Generated ");
    verbatim(r, ctx->sys.date);
    say(r, " by ");
    verbatim(r, ctx->sys.tool);
    say(r, " from `");
    text(r, ctx->dir);
    sayf(r, "`: %d condition%s, baseline `", ctx->ncond, ctx->ncond == 1 ? "" : "s");
    text(r, ctx->cond[ctx->baseline].name);
    say(r, "`. ");
    siblings(r, ctx);
    end(r, REPORT_PARA);
}

/* Five lines and the learning curves before any prose: the baseline, the
 * best and the worst condition on test accuracy, the fastest to 90% of the
 * baseline, and what survives the Holm adjustment. */
static int glance(report_renderer *r, const report_ctx *ctx)
{
    const report_condition *b = &ctx->cond[ctx->baseline];
    int best = -1, worst = -1, fastest = -1, significant = 0, tested = 0, control = -1;
    for (int c = 0; c < ctx->ncond; c++) {
        if (c == ctx->baseline) continue;
        if (report_is_control(ctx->cond[c].name)) {
            control = c;
            continue;
        }
        const report_summary *s = &ctx->cond[c].s;
        if (isfinite(s->test.mean)) {
            if (best < 0 || s->test.mean > ctx->cond[best].s.test.mean) best = c;
            if (worst < 0 || s->test.mean < ctx->cond[worst].s.test.mean) worst = c;
        }
        if (s->reached[0] && (fastest < 0 || s->epochs_to[0].mean < ctx->cond[fastest].s.epochs_to[0].mean))
            fastest = c;
        tested += isfinite(s->holm_test);
        significant += s->holm_test < 0.05;
    }
    r->ops->block_begin(r, REPORT_LIST, "glance");
    begin(r, REPORT_ITEM);
    say(r, "Baseline `");
    text(r, b->name);
    sayf(r, "`: test accuracy %.2f%% (%d seed%s), final validation accuracy %.2f%%", 100 * b->s.test.mean, b->nruns,
         b->nruns == 1 ? "" : "s", 100 * ctx->baseline_final);
    if (b->s.reached[0]) sayf(r, ", 90%% of it reached after %.1f epochs", b->s.epochs_to[0].mean);
    say(r, ".");
    end(r, REPORT_ITEM);
    const int ends[2] = {best, worst};
    for (int k = 0; k < 2; k++) {
        begin(r, REPORT_ITEM);
        if (ends[k] < 0) {
            say(r, k ? "No condition to rank." : "No condition other than the baseline.");
        } else {
            const report_condition *c = &ctx->cond[ends[k]];
            say(r, k ? "Lowest test accuracy: `" : "Highest test accuracy: `");
            text(r, c->name);
            double d = 100 * (c->s.test.mean - b->s.test.mean);
            sayf(r, "`, %.2f%% (%+.2f points against the baseline", 100 * c->s.test.mean, fabs(d) < 0.005 ? 0.0 : d);
            if (isfinite(c->s.holm_test)) sayf(r, ", Holm-adjusted p %.3g", c->s.holm_test);
            say(r, ").");
        }
        end(r, REPORT_ITEM);
    }
    begin(r, REPORT_ITEM);
    if (fastest < 0) {
        say(r, "No condition reached 90% of the baseline's final validation accuracy.");
    } else {
        const report_condition *c = &ctx->cond[fastest];
        say(r, "Fastest to 90% of the baseline: `");
        text(r, c->name);
        sayf(r, "`, %.1f epochs (%d of %d seeds reached it).", c->s.epochs_to[0].mean, c->s.reached[0],
             c->s.curve_runs);
    }
    end(r, REPORT_ITEM);
    begin(r, REPORT_ITEM);
    sayf(r, "Test-accuracy differences significant after the Holm adjustment: %d of %d.", significant, tested);
    end(r, REPORT_ITEM);
    if (control >= 0 && ctx->num_classes > 1) {
        const report_condition *c = &ctx->cond[control];
        double leak = report_leak(c->s.test.mean, ctx->num_classes);
        begin(r, REPORT_ITEM);
        say(r, "Mask-shape leak (the `");
        text(r, c->name);
        sayf(r, "` control): the masks alone give %.2f%% against chance %.2f%%, leak %.2f (0: none, 1: the label).",
             100 * c->s.test.mean, 100.0 / ctx->num_classes, leak);
        end(r, REPORT_ITEM);
    }
    end(r, REPORT_LIST);
    if (ctx->ncurves > 0) figures(r, ctx->curves, 1);
    return 0;
}

static int findings(report_renderer *r, const report_ctx *ctx)
{
    begin(r, REPORT_ASIDE);
    say(r, "Written from the numbers below. Each condition is compared with the baseline `");
    text(r, ctx->cond[ctx->baseline].name);
    say(r, "`; p-values are two-sided paired Wilcoxon signed-rank tests, paired by seed. ");
    int family = 0;
    for (int c = 0; c < ctx->ncond; c++)
        if (c != ctx->baseline) family = ctx->cond[c].s.holm_family;
    sayf(r, "Because this report makes %d such test%s (test accuracy and AULC of every condition against the "
            "baseline), each p is also Holm-adjusted over that family, and a difference is called significant only "
            "when the adjusted p < 0.05. ",
         family, family == 1 ? "" : "s");
    int n = ctx->cond[ctx->baseline].nruns;
    double min_p = rm_wilcoxon_min_p(n);
    sayf(r, "With %d seed%s the smallest possible two-sided p is %.4g (2 / 2^n for n seed pairs)", n,
         n == 1 ? "" : "s", min_p);
    if (min_p >= 0.05) sayf(r, ", so %d seed%s cannot show a difference significant at the 0.05 level.", n,
                            n == 1 ? "" : "s");
    else say(r, ".");
    end(r, REPORT_ASIDE);
    if (ctx->nfindings == 0) {
        paragraph(r, "There is only the baseline condition; nothing is compared.");
        return 0;
    }
    r->ops->block_begin(r, REPORT_LIST, "findings");
    for (int i = 0; i < ctx->nfindings; i++) {
        begin(r, REPORT_ITEM);
        say(r, "**");
        text(r, ctx->findings[i].name);
        say(r, "**: ");
        text(r, ctx->findings[i].text);
        end(r, REPORT_ITEM);
    }
    end(r, REPORT_LIST);
    return 0;
}

static int results(report_renderer *r, const report_ctx *ctx)
{
    const report_condition *b = &ctx->cond[ctx->baseline];
    begin(r, REPORT_PARA);
    say(r, "Baseline `");
    text(r, b->name);
    sayf(r, "`: final validation accuracy **%.2f%%** (the mean over its %d seeds of the last epoch's validation "
            "accuracy); 90%% of it is %.2f%%, 95%% is %.2f%%.",
         100 * ctx->baseline_final, b->nruns, 100 * ctx->thresholds[0], 100 * ctx->thresholds[1]);
    end(r, REPORT_PARA);

    char cells[REPORT_RESULT_COLS][REPORT_CELL];
    r->ops->table_begin(r, NULL, report_result_headers, REPORT_RESULT_COLS);
    for (int c = 0; c < ctx->ncond; c++) {
        report_result_cells(ctx, c, cells);
        text_row(r, cells, REPORT_RESULT_COLS, c == ctx->baseline);
    }
    r->ops->table_end(r);

    begin(r, REPORT_NOTE);
    say(r, "Each cell is the mean ± the sample standard deviation (n {-|−} 1) over seeds. *final val acc*: the "
           "validation accuracy after the last epoch. *AULC*: the area under the learning curve, normalized: the "
           "mean validation accuracy over all epochs (100% would mean perfect from the first epoch on). *epochs to "
           "90%* / *95%*: the first epoch whose validation accuracy reaches 90% / 95% of the baseline's final "
           "validation accuracy, averaged over the seeds that reached it; (k/n) counts them; *time to*: the "
           "cumulative epoch seconds of the history up to that epoch. *test acc*: accuracy of the saved model (the "
           "epoch with the best validation accuracy) on the raw target test split, from test.json. *p*: two-sided "
           "paired Wilcoxon signed-rank test against the baseline, paired by seed (exact for up to 20 pairs; zero "
           "differences dropped, ties averaged)");
    int n = ctx->cond[ctx->baseline].nruns;
    sayf(r, "; with %d seed%s the smallest possible p is %.4g. ", n, n == 1 ? "" : "s", rm_wilcoxon_min_p(n));
    say(r, "*Holm p*: the p-value after Holm-Bonferroni step-down adjustment over the family of all tests of this "
           "table (test accuracy and AULC of every condition against the baseline). *median Δ test acc*: the median "
           "over seeds of the paired difference (condition {-|−} baseline) in test accuracy, in percentage points, "
           "with a percentile bootstrap 95% interval (");
    sayf(r, "%d resamples, seed %u). *min. detectable Δ*: the smallest true mean difference in test accuracy that "
            "this many seed pairs, with the observed spread of the paired differences, would detect at the 0.05 "
            "level with 80%% power (normal approximation of the paired t test, divided by the Wilcoxon's efficiency "
            "3/π); *not detectable* when the exact test cannot reach p < 0.05 with so few pairs. ",
         RM_BOOTSTRAP_RESAMPLES, (unsigned)RM_BOOTSTRAP_SEED);
    say(r, "Definitions: docs/report.md. The same table{ as CSV|}: ");
    r->ops->link(r, ctx->csv_rel, NULL);
    say(r, ".");
    for (int c = 0, first = 1; c < ctx->ncond; c++)
        if (ctx->cond[c].other_test_data) {
            say(r, first ? " Tested on another file's test split, not the raw target.h5: `" : "; `");
            verbatim(r, ctx->cond[c].name);
            say(r, "` on ");
            verbatim(r, ctx->cond[c].other_test_data);
            first = 0;
        }
    end(r, REPORT_NOTE);

    r->ops->heading(r, 3, NULL, "Per seed");
    char seed_cells[REPORT_SEED_COLS][REPORT_CELL];
    r->ops->table_begin(r, NULL, report_seed_headers, REPORT_SEED_COLS);
    for (int c = 0; c < ctx->ncond; c++)
        for (int k = 0; k < ctx->cond[c].nruns; k++) {
            report_seed_cells(ctx, c, k, seed_cells);
            text_row(r, seed_cells, REPORT_SEED_COLS, c == ctx->baseline);
        }
    r->ops->table_end(r);
    return 0;
}

static int curves(report_renderer *r, const report_ctx *ctx)
{
    /* The first figure, the learning curves, is at the top (glance). */
    if (ctx->ncurves > 0) paragraph(r, "The learning curves are at the top of the report.");
    if (ctx->ncurves > 1) figures(r, ctx->curves + 1, ctx->ncurves - 1);
    return 0;
}

static int encoded(report_renderer *r, const report_ctx *ctx)
{
    if (ctx->nmontages == 0 && ctx->nmontage_notes == 0)
        paragraph(r, "No encoded datasets (encoded_<mode>.h5) in the experiment directory.");
    figures(r, ctx->montages, ctx->nmontages);
    if (ctx->nmontage_notes == 0) return 0;
    begin(r, REPORT_LIST);
    for (int i = 0; i < ctx->nmontage_notes; i++) {
        begin(r, REPORT_ITEM);
        text(r, "encoded_");
        text(r, ctx->montage_notes[i].name);
        text(r, ".h5 ");
        text(r, ctx->montage_notes[i].text);
        end(r, REPORT_ITEM);
    }
    end(r, REPORT_LIST);
    return 0;
}

static int heatmaps(report_renderer *r, const report_ctx *ctx)
{
    figures(r, ctx->heatmaps, ctx->nheatmaps);
    if (ctx->heatmap_note) {
        begin(r, REPORT_PARA);
        say(r, "Heatmap montages: ");
        text(r, ctx->heatmap_note);
        say(r, ".");
        end(r, REPORT_PARA);
    }
    return 0;
}

static int has_relevance_eval(const report_ctx *ctx) { return ctx->relevance_eval != NULL; }

/* The number at a path of nested members ("perturbation", "logit", ...), or
 * NaN when any step is missing or not a number. */
static double json_at(const rm_json *j, const char *const *path)
{
    for (; *path && j; path++) j = rm_json_get(j, *path);
    return j && j->type == RM_JSON_NUMBER ? j->number : NAN;
}

static void format_stat(char *out, size_t n, double mean, double sem, double scale)
{
    if (!isfinite(mean)) snprintf(out, n, "n/a");
    else if (isfinite(sem)) snprintf(out, n, "%.4g ± %.2g", mean * scale, sem * scale);
    else snprintf(out, n, "%.4g", mean * scale);
}

/* One row: the maps' figure (mean ± sem), the chance reference and their
 * ratio. */
static void quality_row(report_renderer *r, const char *name, const rm_json *map_stat, const rm_json *chance_stat,
                        double scale)
{
    static const char *const mean_key[] = {"mean", NULL}, *const sem_key[] = {"sem", NULL};
    double m = json_at(map_stat, mean_key), c = json_at(chance_stat, mean_key);
    char value[64], chance[64], ratio[32];
    format_stat(value, sizeof value, m, json_at(map_stat, sem_key), scale);
    format_stat(chance, sizeof chance, c, json_at(chance_stat, sem_key), scale);
    if (isfinite(m) && isfinite(c) && c > 0) snprintf(ratio, sizeof ratio, "%.2f", m / c);
    else snprintf(ratio, sizeof ratio, "n/a");
    report_cell cells[4] = {{.text = name, .flags = REPORT_CELL_NAME}, {.text = value}, {.text = chance},
                            {.text = ratio}};
    r->ops->table_row(r, cells, 4, 0);
}

static const rm_json *json_path(const rm_json *j, const char *a, const char *b, const char *c)
{
    j = rm_json_get(j, a);
    if (j && b) j = rm_json_get(j, b);
    if (j && c) j = rm_json_get(j, c);
    return j;
}

static int relevance_quality(report_renderer *r, const report_ctx *ctx)
{
    const rm_json *j = ctx->relevance_eval;
    paragraph(r, "From relevance_eval.json (relmask relevance-eval; docs/relevance.md): each figure of the maps "
                 "(mean ± standard error over images) beside what chance gives, and their ratio. A ratio above 1 "
                 "means the maps do better than chance.");
    static const char *const headers[] = {"metric", "relevance maps", "chance", "ratio"};
    r->ops->table_begin(r, NULL, headers, 4);
    static const char *const kinds[] = {"logit", "probability"};
    for (int k = 0; k < 2; k++) {
        char name[48];
        snprintf(name, sizeof name, "AOPC (%s)", kinds[k]);
        quality_row(r, name, json_path(j, "perturbation", kinds[k], "aopc_relevance"),
                    json_path(j, "perturbation", kinds[k], "aopc_random"), 1);
    }
    static const char *const region_kinds[] = {"positive", "absolute"};
    for (int k = 0; k < 2; k++) {
        const rm_json *regions = rm_json_get(j, "regions"), *kind = json_path(regions, region_kinds[k], NULL, NULL);
        char name[64];
        snprintf(name, sizeof name, "region mass, %% (%s)", region_kinds[k]);
        quality_row(r, name, rm_json_get(kind, "mass"), rm_json_get(regions, "area"), 100);
        snprintf(name, sizeof name, "pointing game, %% (%s)", region_kinds[k]);
        quality_row(r, name, rm_json_get(kind, "pointing"), rm_json_get(regions, "pointing_chance"), 100);
    }
    r->ops->table_end(r);
    begin(r, REPORT_NOTE);
    say(r, "*AOPC*: the mean drop of the explained class's logit (or probability) as image regions are replaced, "
           "most relevant first; chance: in random order. *Region mass*: the share of the relevance inside the "
           "ground-truth regions that carry the expression; chance: their share of the image. *Pointing game*: the "
           "share of images whose most relevant pixel lies in those regions; chance: that a random pixel does. "
           "*positive* counts positive relevance, *absolute* its magnitude.");
    end(r, REPORT_NOTE);
    if (!rm_json_get(j, "perturbation") || rm_json_get(j, "perturbation")->type == RM_JSON_NULL)
        paragraph(r, "No region perturbation was run (relevance-eval without a model), so AOPC is n/a.");
    if (!rm_json_get(j, "regions") || rm_json_get(j, "regions")->type == RM_JSON_NULL)
        paragraph(r, "The dataset has no ground-truth regions, so region mass and the pointing game are n/a.");
    return 0;
}

static int confusion_matrix(report_renderer *r, const report_ctx *ctx, const report_condition *cond,
                            const char **headers, report_cell *cells, char (*numbers)[24])
{
    int k = ctx->num_classes;
    int64_t total = 0, correct = 0;
    for (int i = 0; i < k * k; i++) total += cond->confusion[i];
    for (int i = 0; i < k; i++) correct += cond->confusion[(size_t)i * k + i];
    r->ops->heading(r, 3, NULL, cond->name);
    begin(r, REPORT_PARA);
    sayf(r, "%d seed%s, %lld test predictions, %lld correct (%.2f%%).", cond->nruns, cond->nruns == 1 ? "" : "s",
         (long long)total, (long long)correct, total ? 100.0 * correct / total : 0.0);
    end(r, REPORT_PARA);
    r->ops->table_begin(r, "confusion", headers, k + 1);
    for (int t = 0; t < k; t++) {
        const int64_t *row = cond->confusion + (size_t)t * k;
        int64_t row_sum = 0;
        for (int p = 0; p < k; p++) row_sum += row[p];
        cells[0] = (report_cell){.text = ctx->classes[t], .flags = REPORT_CELL_LABEL};
        for (int p = 0; p < k; p++) {
            snprintf(numbers[p], sizeof numbers[p], "%lld", (long long)row[p]);
            cells[p + 1] = (report_cell){.text = numbers[p],
                                         .flags = REPORT_CELL_SHADE | (t == p ? REPORT_CELL_STRONG : 0),
                                         .share = row_sum ? (double)row[p] / row_sum : 0};
        }
        r->ops->table_row(r, cells, k + 1, 0);
    }
    r->ops->table_end(r);
    return 0;
}

static int confusions(report_renderer *r, const report_ctx *ctx)
{
    int k = ctx->num_classes;
    paragraph(r, "On the target test split (the file each test.json names), summed over seeds; rows: true class, "
                 "columns: predicted class{|; shading: the cell's share of its row}.");
    const char **headers = rm_malloc(sizeof *headers * (size_t)(k + 1), "confusion headers");
    report_cell *cells = rm_malloc(sizeof *cells * (size_t)(k + 1), "confusion cells");
    char(*numbers)[24] = rm_malloc(sizeof *numbers * (size_t)k, "confusion cells");
    int rc = headers && cells && numbers ? 0 : -1;
    if (rc == 0) {
        headers[0] = "true \\ predicted";
        for (int p = 0; p < k; p++) headers[p + 1] = ctx->classes[p];
    }
    for (int c = 0; rc == 0 && c < ctx->ncond; c++) rc = confusion_matrix(r, ctx, &ctx->cond[c], headers, cells, numbers);
    free(headers);
    free(cells);
    free(numbers);
    return rc;
}

static int reproducibility(report_renderer *r, const report_ctx *ctx)
{
    const report_sysinfo *s = &ctx->sys;
    char buf[128], seeds[512];
    begin(r, REPORT_LIST);
    begin(r, REPORT_ITEM);
    say(r, "report generated: ");
    verbatim(r, s->date);
    say(r, " by ");
    verbatim(r, s->tool);
    end(r, REPORT_ITEM);
    begin(r, REPORT_ITEM);
    say(r, "libraries: ");
    verbatim(r, s->dnnl);
    say(r, ", ");
    verbatim(r, s->hdf5);
    end(r, REPORT_ITEM);
    begin(r, REPORT_ITEM);
    say(r, "machine: ");
    text(r, s->cpu);
    sayf(r, ", %ld cores online, ", s->cores);
    verbatim(r, s->memory);
    say(r, " memory, ");
    text(r, s->os);
    say(r, " (the machine that wrote the report; the runs' timings come from their histories)");
    end(r, REPORT_ITEM);
    begin(r, REPORT_ITEM);
    say(r, "seeds:");
    for (int c = 0; c < ctx->ncond; c++) {
        say(r, c ? "; " : " ");
        text(r, ctx->cond[c].name);
        say(r, " ");
        text(r, report_fmt_seeds(seeds, sizeof seeds, &ctx->cond[c]));
    }
    end(r, REPORT_ITEM);
    begin(r, REPORT_ITEM);
    sayf(r, "total training time: %s (the epoch seconds of %d student run%s' histories%s)",
         report_fmt_duration(buf, sizeof buf, ctx->total_seconds), ctx->total_runs, ctx->total_runs == 1 ? "" : "s",
         ctx->has_source_history ? " and of the source model"
         : ctx->source_imported ? "; the source model was trained elsewhere"
                                : "; no source_model.h5");
    end(r, REPORT_ITEM);
    begin(r, REPORT_ITEM);
    if (ctx->has_source_eval)
        sayf(r, "source model %s accuracy (source_model_eval.json): %.2f%%",
             ctx->source_eval_on_target && ctx->source_imported ? "(trained elsewhere) target test" : "test", 100 * ctx->source_test_acc);
    else
        say(r, "source model test accuracy: n/a (no source_model_eval.json)");
    end(r, REPORT_ITEM);
    if (s->relevance_method) {
        begin(r, REPORT_ITEM);
        say(r, "relevance (relevance.h5): method ");
        text(r, s->relevance_method);
        end(r, REPORT_ITEM);
    }
    end(r, REPORT_LIST);
    if (s->relevance_parameters) {
        paragraph(r, "Relevance parameters (relevance.h5):");
        r->ops->pre(r, s->relevance_parameters);
    }
    r->ops->heading(r, 3, NULL, "Stage parameters");
    if (s->nparams == 0) paragraph(r, "No \\*.params files in the experiment directory.");
    for (int i = 0; i < s->nparams; i++) {
        begin(r, REPORT_PARA);
        text(r, s->param_names[i]);
        say(r, ":");
        end(r, REPORT_PARA);
        r->ops->pre(r, s->param_texts[i]);
    }
    return 0;
}

static const report_section sections[] = {
    {"glance", "At a glance", "At a glance", NULL, glance},
    {"findings", "Findings", "Findings", NULL, findings},
    {"results", "Results", "Results", NULL, results},
    {"curves", "Learning curves and test accuracy", "Learning curves", NULL, curves},
    {"encoded", "Encoded training samples", "Encoded samples", NULL, encoded},
    {"heatmaps", "Relevance heatmaps", "Heatmaps", NULL, heatmaps},
    {"relevance-quality", "Relevance quality", NULL, has_relevance_eval, relevance_quality},
    {"confusion", "Confusion matrices", "Confusion matrices", NULL, confusions},
    {"reproducibility", "Reproducibility", "Reproducibility", NULL, reproducibility},
};
enum { NUM_SECTIONS = sizeof sections / sizeof sections[0] };

int report_render(report_renderer *r, const report_ctx *ctx)
{
    r->ops->begin(r, ctx->title);
    intro(r, ctx);
    r->ops->contents(r, sections, NUM_SECTIONS);
    for (int i = 0; i < NUM_SECTIONS; i++) {
        const report_section *s = &sections[i];
        if (s->present && !s->present(ctx)) continue;
        r->ops->heading(r, 2, s->id, s->heading);
        if (s->write(r, ctx) != 0) return -1;
    }
    r->ops->end(r);
    return 0;
}
