/* relmask study: every cell of a sweep read as an experiment (experiment.c,
 * summary.c), one row per cell x condition, the Holm adjustment across all
 * of the study's comparisons, and findings counted from the numbers
 * (docs/report.md, "relmask study"). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/dir_list.h"
#include "core/error.h"
#include "core/output.h"
#include "core/textio.h"
#include "report/report_internal.h"
#include "report/study.h"

#include "report/study_internal.h"

static int push_str(char ***list, int *n, char *s)
{
    if (!s) return -1;
    char **grown = rm_realloc(*list, sizeof **list * (size_t)(*n + 1), "study list");
    if (!grown) {
        free(s);
        return -1;
    }
    *list = grown;
    grown[(*n)++] = s;
    return 0;
}

static void free_strs(char **list, int n)
{
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* The non-blank, non-'#' lines of a text file, trimmed. */
static int read_lines(const char *path, char ***lines, int *n)
{
    *lines = NULL;
    *n = 0;
    rm_line_reader r;
    RM_TRY(rm_line_reader_open(&r, path, 4096));
    char *line;
    size_t len;
    int got, rc = 0;
    while (rc == 0 && (got = rm_line_reader_next(&r, &line, &len)) == 1) {
        char *t = trim(line);
        if (*t && *t != '#') rc = push_str(lines, n, rm_strdup(t));
    }
    if (rc == 0 && got < 0) rc = -1;
    rm_line_reader_close(&r);
    if (rc != 0) {
        free_strs(*lines, *n);
        *lines = NULL, *n = 0;
    }
    return rc;
}

static int add_key(study_ctx *ctx, const char *key)
{
    for (int i = 0; i < ctx->nkeys; i++)
        if (!strcmp(ctx->keys[i], key)) return 0;
    return push_str(&ctx->keys, &ctx->nkeys, rm_strdup(key));
}

static int read_cell_txt(study_ctx *ctx, study_cell *cell, const char *path)
{
    char **lines;
    int n;
    RM_TRY(read_lines(path, &lines, &n));
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        char *eq = strchr(lines[i], '=');
        if (!eq) {
            rc = rm_error("%s: line '%s': expected key=value (e.g. keep=0.3)", path, lines[i]);
            break;
        }
        *eq = 0;
        char *key = trim(lines[i]), *value = trim(eq + 1);
        if (!*key || strpbrk(key, ",\"")) {
            rc = rm_error("%s: line '%s=%s': expected a key (no comma or quote) before '='", path, key, value);
            break;
        }
        for (int k = 0; k < cell->nkv; k++)
            if (!strcmp(cell->keys[k], key)) rc = rm_error("%s: key '%s' appears twice", path, key);
        int nk = cell->nkv;
        if (rc == 0) rc = push_str(&cell->keys, &nk, rm_strdup(key));
        if (rc == 0) rc = push_str(&cell->values, &cell->nkv, rm_strdup(value));
        if (rc == 0) rc = add_key(ctx, key);
    }
    free_strs(lines, n);
    return rc;
}

static int missing(study_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int missing(study_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? rm_malloc((size_t)n + 1, "missing runs") : NULL;
    if (!s) return -1;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return push_str(&ctx->missing, &ctx->nmissing, s);
}

/* What a run lacks: NULL when complete (test.json, and for the baseline
 * also model.h5), else a description. */
static const char *run_lacks(const char *cdir, const char *cond, int seed, int need_model)
{
    char *t = report_strf("%s/runs/%s/seed%d/test.json", cdir, cond, seed);
    char *m = report_strf("%s/runs/%s/seed%d/model.h5", cdir, cond, seed);
    int has_t = t && rm_path_exists(t), has_m = m && rm_path_exists(m);
    free(t), free(m);
    if (!has_t && need_model && !has_m) return "no test.json and no model.h5";
    if (!has_t) return "no test.json";
    if (need_model && !has_m) return "no model.h5 (the baseline's learning curves define the thresholds)";
    return NULL;
}

/* One cell: the complete runs, then the experiment's analysis over the
 * seeds every kept condition has; rows appended. */
static int study_cell_rows(study_ctx *ctx, int ci)
{
    study_cell *cell = &ctx->cells[ci];
    char *cdir = report_strf("%s/cells/%s", ctx->dir, cell->name);
    char *ctxt = report_strf("%s/cell.txt", cdir ? cdir : "");
    char *cond_txt = report_strf("%s/conditions.txt", cdir ? cdir : "");
    char *seed_txt = report_strf("%s/seeds.txt", cdir ? cdir : "");
    char **conds = NULL, **seed_lines = NULL;
    int nconds = 0, nseed_lines = 0, rc = cdir && ctxt && cond_txt && seed_txt ? 0 : -1;
    int *seeds = NULL, nseeds = 0, *use = NULL, nuse = 0;
    char **kept = NULL;
    int nkept = 0;
    const char *absent = NULL;
    if (rc == 0) {
        if (!rm_path_exists(ctxt)) absent = "cell.txt";
        else if (!rm_path_exists(cond_txt)) absent = "conditions.txt";
        else if (!rm_path_exists(seed_txt)) absent = "seeds.txt";
    }
    if (rc == 0 && absent) {
        rc = missing(ctx, "cell %s: no %s (cell left out)", cell->name, absent);
        goto done;
    }
    if (rc == 0) rc = read_cell_txt(ctx, cell, ctxt);
    if (rc == 0) rc = read_lines(cond_txt, &conds, &nconds);
    if (rc == 0) rc = read_lines(seed_txt, &seed_lines, &nseed_lines);
    if (rc == 0 && nconds == 0) rc = rm_error("%s: no condition names", cond_txt);
    if (rc == 0 && nseed_lines == 0) rc = rm_error("%s: no seeds", seed_txt);
    if (rc == 0) {
        seeds = rm_malloc(sizeof *seeds * (size_t)nseed_lines, "seeds");
        use = rm_malloc(sizeof *use * (size_t)nseed_lines, "seeds");
        if (!seeds || !use) rc = -1;
    }
    for (int i = 0; rc == 0 && i < nseed_lines; i++) {
        char *end;
        errno = 0;
        long v = strtol(seed_lines[i], &end, 10);
        if (errno || *end || end == seed_lines[i] || v < 0 || v > 1000000000)
            rc = rm_error("%s: '%s' is not a seed (one non-negative integer per line)", seed_txt, seed_lines[i]);
        for (int j = 0; rc == 0 && j < nseeds; j++)
            if (seeds[j] == v) rc = rm_error("%s: seed %ld is listed twice", seed_txt, v);
        if (rc == 0) seeds[nseeds++] = (int)v;
    }
    int has_base = 0;
    for (int c = 0; rc == 0 && c < nconds; c++) {
        if (strchr(conds[c], '/') || !strcmp(conds[c], "..") || !strcmp(conds[c], "."))
            rc = rm_error("%s: '%s' is not a condition name", cond_txt, conds[c]);
        has_base |= rc == 0 && !strcmp(conds[c], ctx->baseline);
    }
    if (rc == 0 && !has_base) {
        rc = missing(ctx, "cell %s: the baseline '%s' is not in conditions.txt (cell left out)", cell->name,
                     ctx->baseline);
        goto done;
    }
    /* the seeds every condition with any complete run has; conditions without any are left out */
    for (int s = 0; rc == 0 && s < nseeds; s++) use[s] = 1;
    for (int c = 0; rc == 0 && c < nconds; c++) {
        int base = !strcmp(conds[c], ctx->baseline), any = 0;
        for (int s = 0; s < nseeds; s++) any |= !run_lacks(cdir, conds[c], seeds[s], base);
        if (!any) {   /* one line for a condition that has nothing */
            rc = missing(ctx, "cell %s: %s %s has no complete run of seeds %s..%s (seed %d: %s; %s)", cell->name,
                         base ? "the baseline" : "condition", conds[c], seed_lines[0], seed_lines[nseeds - 1],
                         seeds[0], run_lacks(cdir, conds[c], seeds[0], base), base ? "cell left out" : "left out");
            if (base) goto done;
            continue;
        }
        for (int s = 0; rc == 0 && s < nseeds; s++) {
            const char *why = run_lacks(cdir, conds[c], seeds[s], base);
            if (!why) continue;
            rc = missing(ctx, "cell %s: %s seed %d: %s (seed left out of the cell)", cell->name, conds[c], seeds[s],
                         why);
            use[s] = 0;
        }
        if (rc == 0) rc = push_str(&kept, &nkept, rm_strdup(conds[c]));
    }
    for (int s = 0; rc == 0 && s < nseeds; s++)
        if (use[s]) use[nuse++] = seeds[s];
    if (rc == 0 && nuse == 0) {
        rc = missing(ctx, "cell %s: no seed is complete for the baseline and every condition (cell left out)",
                     cell->name);
        goto done;
    }
    if (rc == 0) {
        rm_report_config cfg;
        rm_report_config_defaults(&cfg);
        cfg.dir = cdir;
        cfg.baseline = ctx->baseline;
        cfg.conditions = (const char *const *)kept;
        cfg.nconditions = nkept;
        cfg.seeds = use;
        cfg.nseeds = nuse;
        report_ctx rc_ctx = {.opt = &cfg};
        rc_ctx.dir = rm_strdup(cdir);
        rc_ctx.baseline_name = rm_strdup(ctx->baseline);
        rc = rc_ctx.dir && rc_ctx.baseline_name ? 0 : -1;
        if (rc == 0) rc = report_load(&rc_ctx);
        if (rc == 0) rc = report_analyze(&rc_ctx);
        if (rc != 0) rm_error_prefix("cell %s", cell->name);
        for (int c = 0; rc == 0 && c < rc_ctx.ncond; c++) {
            const report_condition *cond = &rc_ctx.cond[c];
            const report_summary *s = &cond->s;
            study_row *grown = rm_realloc(ctx->rows, sizeof *grown * (size_t)(ctx->nrows + 1), "study rows");
            if (!grown) {
                rc = -1;
                break;
            }
            ctx->rows = grown;
            study_row *r = &grown[ctx->nrows];
            memset(r, 0, sizeof *r);
            r->cell = ci;
            r->baseline = c == rc_ctx.baseline;
            if (!(r->condition = rm_strdup(cond->name))) {
                rc = -1;
                break;
            }
            ctx->nrows++;
            r->nseeds = cond->nruns;
            r->pairs = s->pairs_test;
            report_fmt_seeds(r->seeds, sizeof r->seeds, cond);
            r->mean = s->test.mean;
            r->std = s->test.std;
            r->ep90 = s->reached[0] ? s->epochs_to[0].mean : NAN;
            r->reached = s->reached[0];
            r->curves = s->curve_runs;
            r->num_classes = rc_ctx.num_classes;
            if (r->baseline) {
                r->med = r->lo = r->hi = r->p = r->holm = r->mdd = NAN;
            } else {
                r->med = s->boot_test.median;
                r->lo = s->boot_test.lo;
                r->hi = s->boot_test.hi;
                r->p = s->w_test.method == RM_WILCOXON_NONE ? NAN : s->w_test.p;
                r->holm = NAN;
                r->mdd = s->mdd_test;
                r->direction = s->w_test.method == RM_WILCOXON_NONE ? 0
                               : s->w_test.w_plus > s->w_test.w_minus ? 1
                               : s->w_test.w_plus < s->w_test.w_minus ? -1
                                                                      : 0;
            }
        }
        report_ctx_free(&rc_ctx);
    }
done:
    free(cdir), free(ctxt), free(cond_txt), free(seed_txt);
    free_strs(conds, nconds), free_strs(seed_lines, nseed_lines), free_strs(kept, nkept);
    free(seeds), free(use);
    return rc;
}

const char *study_cell_value(const study_cell *cell, const char *key)
{
    for (int k = 0; k < cell->nkv; k++)
        if (!strcmp(cell->keys[k], key)) return cell->values[k];
    return NULL;
}

static void num(FILE *f, double v)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.10g", v);
}

static int write_csv(FILE *f, const study_ctx *ctx)
{
    fputs("cell", f);
    for (int k = 0; k < ctx->nkeys; k++) {
        fputc(',', f);
        rm_csv_write_field(f, ctx->keys[k]);
    }
    fputs(",condition,baseline,n_seeds,seeds,test_acc_pct_mean,test_acc_pct_std,test_acc_pairs,"
          "test_acc_diff_median_pp,test_acc_diff_ci_lo_pp,test_acc_diff_ci_hi_pp,test_acc_p,test_acc_p_holm,"
          "test_acc_min_detectable_pp,epochs_to_90_mean,epochs_to_90_reached,n_curves\n",
          f);
    for (int i = 0; i < ctx->nrows; i++) {
        const study_row *r = &ctx->rows[i];
        const study_cell *cell = &ctx->cells[r->cell];
        rm_csv_write_field(f, cell->name);
        for (int k = 0; k < ctx->nkeys; k++) {
            const char *v = study_cell_value(cell, ctx->keys[k]);
            fputc(',', f);
            if (v) rm_csv_write_field(f, v);
        }
        fputc(',', f);
        rm_csv_write_field(f, r->condition);
        fprintf(f, ",%d,%d,", r->baseline, r->nseeds);
        rm_csv_write_field(f, r->seeds);
        num(f, 100 * r->mean);
        num(f, 100 * r->std);
        if (r->baseline) fputc(',', f);
        else fprintf(f, ",%d", r->pairs);
        num(f, 100 * r->med);
        num(f, 100 * r->lo);
        num(f, 100 * r->hi);
        num(f, r->p);
        num(f, r->holm);
        num(f, 100 * r->mdd);
        num(f, r->ep90);
        fprintf(f, ",%d,%d\n", r->reached, r->curves);
    }
    return ferror(f) ? rm_error("writing study.csv failed") : 0;
}

/* markdown text: '|' and '\' escaped, newlines flattened */
static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '[' || *s == ']') fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static const char *fmt_or_na(char *buf, size_t n, const char *fmt, double v)
{
    if (isfinite(v)) snprintf(buf, n, fmt, v);
    else snprintf(buf, n, "n/a");
    return buf;
}

const char *study_fmt_p(char *buf, size_t n, double p)
{
    if (!isfinite(p)) snprintf(buf, n, "n/a");
    else if (p < 1e-4) snprintf(buf, n, "%.2e", p);
    else snprintf(buf, n, "%.4g", p);
    return buf;
}

/* helped / hurt / indistinguishable at the Holm-adjusted alpha */
static int verdict(const study_row *r)
{
    if (!(r->holm < STUDY_ALPHA)) return 0;
    return r->direction;
}

/* Whether the design can call anything helped or hurt: the exact two-sided
 * Wilcoxon test's smallest p with n pairs is 2 / 2^n (all differences of
 * one sign), and Holm's first step needs p < alpha / m. */
static void write_design_power(FILE *f, const study_ctx *ctx)
{
    int family = 0, pairs = 0;   /* the most pairs of any comparison: its smallest p is the smallest */
    for (int i = 0; i < ctx->nrows; i++) {
        const study_row *r = &ctx->rows[i];
        if (r->baseline || !isfinite(r->holm)) continue;
        family++;
        if (r->pairs > pairs) pairs = r->pairs;
    }
    if (family == 0 || pairs > 20) return;
    double smallest = ldexp(1.0, 1 - pairs), needed = STUDY_ALPHA / family;
    if (smallest < needed) return;
    int seeds = 1;
    while (ldexp(1.0, 1 - seeds) >= needed) seeds++;
    fprintf(f, "- **This design cannot call any comparison helped or hurt.** With %d seed pairs the exact test's "
               "smallest p is %.3g, and Holm over %d comparisons needs p < %.3g for the first: whatever the data, "
               "every cell reads *indistinguishable*. Such a study needs at least %d seeds (the effect sizes below "
               "still say which way the conditions lean).\n",
            pairs, smallest, family, needed, seeds);
}

void study_write_findings(FILE *f, const study_ctx *ctx)
{
    write_design_power(f, ctx);
    int ncells_used = 0;
    for (int ci = 0; ci < ctx->ncells; ci++) {
        int any = 0;
        for (int i = 0; i < ctx->nrows; i++) any |= ctx->rows[i].cell == ci;
        ncells_used += any;
    }
    for (int i = 0; i < ctx->nrows; i++) {
        const study_row *r = &ctx->rows[i];
        if (r->baseline || report_is_control(r->condition)) continue;   /* the control: in the leak section */
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= !ctx->rows[j].baseline && !strcmp(ctx->rows[j].condition, r->condition);
        if (seen) continue;
        int n = 0, helped = 0, hurt = 0, untested = 0, gain = -1, loss = -1;
        for (int j = i; j < ctx->nrows; j++) {
            const study_row *q = &ctx->rows[j];
            if (q->baseline || strcmp(q->condition, r->condition)) continue;
            n++;
            int v = verdict(q);
            helped += v > 0;
            hurt += v < 0;
            untested += !isfinite(q->holm);
            if (isfinite(q->med) && q->med > 0 && (gain < 0 || q->med > ctx->rows[gain].med)) gain = j;
            if (isfinite(q->med) && q->med < 0 && (loss < 0 || q->med < ctx->rows[loss].med)) loss = j;
        }
        char a[32], b[32];
        fputs("- **", f);
        md_text(f, r->condition);
        fprintf(f, "** (in %d of %d cells): helped in %d, hurt in %d, indistinguishable in %d", n, ncells_used, helped,
                hurt, n - helped - hurt);
        if (untested) fprintf(f, " (%d of them without a test: every paired difference zero)", untested);
        fputs(". ", f);
        if (gain >= 0) {
            const study_row *g = &ctx->rows[gain];
            fprintf(f, "Largest gain: %+.2f points (median paired difference in test accuracy) in cell `", 100 * g->med);
            md_text(f, ctx->cells[g->cell].name);
            fprintf(f, "` (Holm-adjusted p = %s). ", study_fmt_p(a, sizeof a, g->holm));
        } else {
            fputs("No cell with a positive median difference. ", f);
        }
        if (loss >= 0) {
            const study_row *l = &ctx->rows[loss];
            fprintf(f, "Largest loss: %+.2f points in cell `", 100 * l->med);
            md_text(f, ctx->cells[l->cell].name);
            fprintf(f, "` (Holm-adjusted p = %s).", study_fmt_p(b, sizeof b, l->holm));
        } else {
            fputs("No cell with a negative median difference.", f);
        }
        fputc('\n', f);
    }
}

static int write_md(FILE *f, const study_ctx *ctx, int family, const study_figure *figs, int nfigs)
{
    fputs("# relmask study: ", f);
    md_text(f, ctx->dir);
    fprintf(f, "\n\n%d cell%s, baseline `", ctx->ncells, ctx->ncells == 1 ? "" : "s");
    md_text(f, ctx->baseline);
    fprintf(f,
            "`. Each condition is compared with the baseline of its own cell on final test accuracy, paired by "
            "seed: a two-sided Wilcoxon signed-rank test (exact for up to 20 pairs), Holm-adjusted over **all %d "
            "cell x condition comparisons of this study** (the mask-only control `mask` is a measurement of the "
            "masks, not a member); the median paired difference in percentage points "
            "with a percentile bootstrap 95%% interval (%d resamples, seed %u); the smallest difference "
            "detectable at the 0.05 level with 80%% power (docs/report.md). The same table as CSV: study.csv.\n\n",
            family, RM_BOOTSTRAP_RESAMPLES, (unsigned)RM_BOOTSTRAP_SEED);
    fputs("## Findings\n\n", f);
    fprintf(f, "Counted from the table: a condition *helped* (*hurt*) in a cell when its Holm-adjusted p < %.2f "
               "and the signed-rank sums point up (down); otherwise it is *indistinguishable* there, which is not "
               "evidence of no effect (see the smallest detectable difference).\n\n",
            STUDY_ALPHA);
    if (family == 0) fputs("No condition other than the baseline was compared.\n", f);
    else study_write_findings(f, ctx);
    study_write_leak(f, ctx);
    if (nfigs) fputs("\n## Figures\n\nAlso in study.html, with the figures inline.\n", f);
    for (int i = 0; i < nfigs; i++) {
        fputs("\n![", f);
        md_text(f, figs[i].title);
        fprintf(f, "](%s)\n\n*", figs[i].file);
        md_text(f, figs[i].title);
        fputs(".* ", f);
        md_text(f, figs[i].caption);
        fputc('\n', f);
    }
    fputs("\n## Results\n\n| cell |", f);
    for (int k = 0; k < ctx->nkeys; k++) {
        fputc(' ', f);
        md_text(f, ctx->keys[k]);
        fputs(" |", f);
    }
    fputs(" condition | seeds | test acc (%) | median Δ (pp) [95% CI] | p | Holm p | min. detectable Δ (pp) | "
          "epochs to 90% |\n|",
          f);
    for (int k = 0; k < ctx->nkeys + 9; k++) fputs(" --- |", f);
    fputc('\n', f);
    for (int i = 0; i < ctx->nrows; i++) {
        const study_row *r = &ctx->rows[i];
        const study_cell *cell = &ctx->cells[r->cell];
        char m[32], s[32], d[96], p[32], h[32], e[48];
        fputs("| ", f);
        md_text(f, cell->name);
        fputs(" |", f);
        for (int k = 0; k < ctx->nkeys; k++) {
            const char *v = study_cell_value(cell, ctx->keys[k]);
            fputc(' ', f);
            md_text(f, v ? v : "");
            fputs(" |", f);
        }
        fputc(' ', f);
        md_text(f, r->condition);
        if (r->baseline) fputs(" (baseline)", f);
        fmt_or_na(m, sizeof m, "%.2f", 100 * r->mean);
        fmt_or_na(s, sizeof s, "%.2f", 100 * r->std);
        fprintf(f, " | %d | %s%s%s |", r->nseeds, m, isfinite(r->std) ? " ± " : "", isfinite(r->std) ? s : "");
        if (r->baseline) {
            fputs(" — | — | — | — |", f);
        } else {
            if (isfinite(r->med)) snprintf(d, sizeof d, "%+.2f \\[%+.2f, %+.2f\\]", 100 * r->med, 100 * r->lo, 100 * r->hi);
            else snprintf(d, sizeof d, "n/a");
            report_fmt_mdd(e, sizeof e, r->pairs, r->mdd);
            fprintf(f, " %s | %s | %s | %s |", d, study_fmt_p(p, sizeof p, r->p), study_fmt_p(h, sizeof h, r->holm), e);
        }
        if (r->reached) fprintf(f, " %.2f (%d/%d) |\n", r->ep90, r->reached, r->curves);
        else if (r->curves) fprintf(f, " not reached (0/%d) |\n", r->curves);
        else fputs(" n/a |\n", f);
    }
    fputs("\n*epochs to 90%*: the first epoch whose validation accuracy reaches 90% of the cell baseline's mean "
          "final validation accuracy, averaged over the seeds that reached it (k/n).\n",
          f);
    if (ctx->nmissing) {
        fputs("\n## Missing runs\n\nLeft out of the table above:\n\n", f);
        for (int i = 0; i < ctx->nmissing; i++) {
            fputs("- ", f);
            md_text(f, ctx->missing[i]);
            fputc('\n', f);
        }
    }
    return ferror(f) ? rm_error("writing study.md failed") : 0;
}

/* kind 0 csv, 1 md, 2 html */
static int write_file(rm_output *out, const study_ctx *ctx, int family, int kind, const study_figure *figs,
                      int nfigs)
{
    FILE *f = fopen(out->tmp_path, "w");
    if (!f) return rm_error("%s: cannot create: %s", out->tmp_path, strerror(errno));
    int rc = kind == 1 ? write_md(f, ctx, family, figs, nfigs)
           : kind == 2 ? study_write_html(f, ctx, family, figs, nfigs)
                       : write_csv(f, ctx);
    if (fclose(f) != 0 && rc == 0) rc = rm_error("%s: write failed: %s", out->final_path, strerror(errno));
    return rc;
}

static void study_free(study_ctx *ctx)
{
    for (int i = 0; i < ctx->ncells; i++) {
        free(ctx->cells[i].name);
        free_strs(ctx->cells[i].keys, ctx->cells[i].nkv);
        free_strs(ctx->cells[i].values, ctx->cells[i].nkv);
    }
    free(ctx->cells);
    for (int i = 0; i < ctx->nrows; i++) free(ctx->rows[i].condition);
    free(ctx->rows);
    free_strs(ctx->keys, ctx->nkeys);
    free_strs(ctx->missing, ctx->nmissing);
    free(ctx->dir), free(ctx->baseline);
}

int rm_study(const rm_study_config *opt)
{
    study_ctx ctx = {.opt = opt};
    rm_output out[3] = {{.slot = -1}, {.slot = -1}, {.slot = -1}};
    study_figure *figs = NULL;
    int nfigs = 0;
    size_t dl = strlen(opt->dir);
    while (dl > 1 && opt->dir[dl - 1] == '/') dl--;
    ctx.dir = report_strf("%.*s", (int)dl, opt->dir);
    ctx.baseline = rm_strdup(opt->baseline ? opt->baseline : "raw");
    char *cells_dir = report_strf("%s/cells", ctx.dir ? ctx.dir : "");
    char *csv_path = report_strf("%s/study.csv", ctx.dir ? ctx.dir : "");
    char *md_path = report_strf("%s/study.md", ctx.dir ? ctx.dir : "");
    char *html_path = report_strf("%s/study.html", ctx.dir ? ctx.dir : "");
    int rc = ctx.dir && ctx.baseline && cells_dir && csv_path && md_path && html_path ? 0 : -1;
    if (rc == 0 && !rm_path_is_dir(ctx.dir)) rc = rm_error("%s: no such sweep directory", ctx.dir);
    if (rc == 0 && !rm_path_is_dir(cells_dir))
        rc = rm_error("%s: no such directory (expected a sweep: %s/cells/<cell>/ per experiment)", cells_dir, ctx.dir);
    if (rc == 0) rc = rm_output_begin(&out[0], md_path, opt->force);
    if (rc == 0) rc = rm_output_begin(&out[1], csv_path, opt->force);
    if (rc == 0) rc = rm_output_begin(&out[2], html_path, opt->force);
    rm_dir_list list = {0};
    if (rc == 0) rc = rm_dir_list_read(&list, cells_dir, RM_DIR_DIRS, NULL);
    if (rc == 0 && list.count == 0) rc = rm_error("%s: no cell directories", cells_dir);
    if (rc == 0) {
        ctx.cells = rm_calloc(list.count, sizeof *ctx.cells, "cells");
        if (!ctx.cells) rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < list.count; i++) {
        if (!(ctx.cells[i].name = rm_strdup(list.names[i]))) rc = -1;
        else ctx.ncells++;
    }
    rm_dir_list_free(&list);
    for (int ci = 0; rc == 0 && ci < ctx.ncells; ci++) rc = study_cell_rows(&ctx, ci);
    if (rc == 0 && ctx.nrows == 0) {
        char list_text[1536] = "";
        size_t used = 0;
        for (int i = 0; i < ctx.nmissing && used < sizeof list_text; i++) {
            int w = snprintf(list_text + used, sizeof list_text - used, "%s%s", i ? "; " : "", ctx.missing[i]);
            if (w < 0) break;
            used += (size_t)w;
        }
        rc = rm_error("%s: no cell has a complete comparison; missing: %s", ctx.dir, list_text);
    }
    /* Holm over every cell x condition comparison of the study; the
     * mask-only control measures the masks, not a method: not a member */
    int family = 0;
    double *p = rc == 0 ? rm_malloc(sizeof *p * (size_t)ctx.nrows, "p-values") : NULL;
    if (rc == 0 && !p) rc = -1;
    if (rc == 0) {
        for (int i = 0; i < ctx.nrows; i++) {
            p[i] = report_is_control(ctx.rows[i].condition) ? NAN : ctx.rows[i].p;
            family += isfinite(p[i]);
        }
        rc = rm_holm_adjust(p, ctx.nrows, p);
        for (int i = 0; rc == 0 && i < ctx.nrows; i++) ctx.rows[i].holm = p[i];
    }
    free(p);
    if (rc == 0) rc = study_figures(&ctx, &figs, &nfigs);
    if (rc == 0) rc = write_file(&out[1], &ctx, family, 0, figs, nfigs);
    if (rc == 0) rc = write_file(&out[0], &ctx, family, 1, figs, nfigs);
    if (rc == 0) rc = write_file(&out[2], &ctx, family, 2, figs, nfigs);
    if (rc == 0) rc = rm_output_commit(&out[1]);
    if (rc == 0) rc = rm_output_commit(&out[0]);
    if (rc == 0) rc = rm_output_commit(&out[2]);
    study_figures_free(figs, nfigs);
    for (int d = 0; d < 3; d++)
        if (out[d].tmp_path) rm_output_abort(&out[d]);
    if (rc == 0) {
        rm_log("study: %d cells, %d rows, %d comparisons, %d missing; wrote %s, %s and %s (%d figures)", ctx.ncells,
               ctx.nrows, family, ctx.nmissing, md_path, html_path, csv_path, nfigs);
        if (opt->echo) {
            fprintf(opt->echo, "Findings (Holm-adjusted over %d comparisons, alpha %.2f):\n", family, STUDY_ALPHA);
            study_write_findings(opt->echo, &ctx);
            if (ctx.nmissing) fprintf(opt->echo, "%d missing runs or cells are listed in %s\n", ctx.nmissing, md_path);
        }
    }
    free(cells_dir), free(csv_path), free(md_path), free(html_path);
    study_free(&ctx);
    return rc;
}
