/* Per-condition metrics over seeds, the paired tests against the baseline,
 * the mean learning curves, and the "Findings" sentences (docs/report.md). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "report/report_internal.h"

static void stat_of(report_stat *s, const double *v, int n)
{
    s->n = n;
    s->mean = rm_stat_mean(v, n);
    s->std = rm_stat_std(v, n);
    s->min = rm_stat_min(v, n);
    s->max = rm_stat_max(v, n);
}

static const report_run *run_with_seed(const report_condition *c, int seed)
{
    for (int i = 0; i < c->nruns; i++)
        if (c->runs[i].seed == seed) return &c->runs[i];
    return NULL;
}

/* Paired test of c against the baseline b on test accuracy (aulc = 0) or
 * AULC (aulc = 1), over the seeds both have (with curves for AULC). */
static int paired_test(const report_condition *c, const report_condition *b, int aulc, double *x, double *y,
                       int *pairs, rm_wilcoxon_result *w)
{
    int n = 0;
    for (int i = 0; i < c->nruns; i++) {
        const report_run *rc = &c->runs[i], *rb = run_with_seed(b, rc->seed);
        if (!rb) continue;
        if (aulc && !(rc->has_curve && rb->has_curve)) continue;
        x[n] = aulc ? rc->curve.aulc : rc->test_acc;
        y[n] = aulc ? rb->curve.aulc : rb->test_acc;
        n++;
    }
    *pairs = n;
    return rm_wilcoxon_signed_rank(x, y, n, w);
}

/* The mean curve over the seeds that ran each epoch, in percent, with the
 * min..max band and the mean cumulative time. */
static int mean_curve(report_condition *c)
{
    int len = 0;
    for (int i = 0; i < c->nruns; i++)
        if (c->runs[i].has_curve && c->runs[i].epochs > len) len = c->runs[i].epochs;
    c->curve_len = len;
    if (!len) return 0;
    double **arrays[5] = {&c->cx, &c->ct, &c->cy, &c->clo, &c->chi};
    for (int a = 0; a < 5; a++)
        if (!(*arrays[a] = rm_calloc((size_t)len, sizeof(double), "mean curve"))) return -1;
    double *vals = rm_malloc(sizeof *vals * (size_t)c->nruns, "curve values");
    double *times = rm_malloc(sizeof *times * (size_t)c->nruns, "curve times");
    double *elapsed = rm_calloc((size_t)c->nruns, sizeof *elapsed, "curve times");
    if (!vals || !times || !elapsed) {
        free(vals), free(times), free(elapsed);
        return -1;
    }
    for (int e = 0; e < len; e++) {
        int n = 0;
        for (int i = 0; i < c->nruns; i++) {
            const report_run *r = &c->runs[i];
            if (!r->has_curve || e >= r->epochs) continue;
            elapsed[i] += r->seconds[e];
            vals[n] = 100 * r->val[e];
            times[n] = elapsed[i];
            n++;
        }
        c->cx[e] = e + 1;
        c->cy[e] = rm_stat_mean(vals, n);
        c->clo[e] = rm_stat_min(vals, n);
        c->chi[e] = rm_stat_max(vals, n);
        c->ct[e] = rm_stat_mean(times, n);
    }
    free(vals), free(times), free(elapsed);
    return 0;
}

static int summarize(report_ctx *ctx, report_condition *c)
{
    int n = c->nruns, k = ctx->num_classes;
    double *v[6];
    for (int a = 0; a < 6; a++)
        if (!(v[a] = rm_malloc(sizeof(double) * (size_t)(n ? n : 1), "condition values"))) {
            for (int b = 0; b < a; b++) free(v[b]);
            return -1;
        }
    double *test = v[0], *final_val = v[1], *best = v[2], *aulc = v[3], *secs = v[4], *tmp = v[5];
    int nc = 0;
    report_summary *s = &c->s;
    for (int i = 0; i < n; i++) {
        report_run *r = &c->runs[i];
        test[i] = r->test_acc;
        if (!r->has_curve) continue;
        if (rm_curve_compute(r->val, r->seconds, r->epochs, ctx->thresholds, &r->curve) != 0) {
            rm_error_prefix("%s/model.h5", r->dir);
            for (int a = 0; a < 6; a++) free(v[a]);
            return -1;
        }
        final_val[nc] = r->curve.final_val;
        best[nc] = r->curve.best_val;
        aulc[nc] = r->curve.aulc;
        secs[nc] = r->curve.total_seconds;
        nc++;
        ctx->total_seconds += r->curve.total_seconds;
    }
    ctx->total_runs += nc;
    s->curve_runs = nc;
    stat_of(&s->test, test, n);
    stat_of(&s->final_val, final_val, nc);
    stat_of(&s->best_val, best, nc);
    stat_of(&s->aulc, aulc, nc);
    stat_of(&s->total_seconds, secs, nc);
    for (int t = 0; t < 2; t++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (c->runs[i].has_curve && c->runs[i].curve.epochs_to[t] > 0) tmp[m++] = c->runs[i].curve.epochs_to[t];
        s->reached[t] = m;
        stat_of(&s->epochs_to[t], tmp, m);
        m = 0;
        for (int i = 0; i < n; i++)
            if (c->runs[i].has_curve && c->runs[i].curve.epochs_to[t] > 0) tmp[m++] = c->runs[i].curve.seconds_to[t];
        stat_of(&s->seconds_to[t], tmp, m);
    }
    for (int a = 0; a < 6; a++) free(v[a]);
    c->confusion = rm_calloc((size_t)k * k, sizeof *c->confusion, "confusion matrix");
    if (!c->confusion) return -1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k * k; j++) c->confusion[j] += c->runs[i].confusion[j];
    return mean_curve(c);
}

int report_analyze(report_ctx *ctx)
{
    const report_condition *b = &ctx->cond[ctx->baseline];
    double sum = 0;
    for (int i = 0; i < b->nruns; i++) sum += b->runs[i].val[b->runs[i].epochs - 1];
    ctx->baseline_final = sum / b->nruns;
    for (int t = 0; t < 2; t++) ctx->thresholds[t] = report_threshold_share[t] * ctx->baseline_final;
    ctx->total_seconds = ctx->source_seconds;
    for (int c = 0; c < ctx->ncond; c++) RM_TRY(summarize(ctx, &ctx->cond[c]));
    int most = 1;
    for (int c = 0; c < ctx->ncond; c++)
        if (ctx->cond[c].nruns > most) most = ctx->cond[c].nruns;
    double *x = rm_malloc(sizeof *x * (size_t)most, "paired values");
    double *y = rm_malloc(sizeof *y * (size_t)most, "paired values");
    int rc = x && y ? 0 : -1;
    for (int c = 0; rc == 0 && c < ctx->ncond; c++) {
        report_condition *cond = &ctx->cond[c];
        if (c == ctx->baseline) {
            cond->s.w_test.method = cond->s.w_aulc.method = RM_WILCOXON_NONE;
            cond->s.w_test.p = cond->s.w_aulc.p = NAN;
            cond->s.boot_test.median = cond->s.boot_test.lo = cond->s.boot_test.hi = NAN;
            cond->s.sd_diff_test = cond->s.mdd_test = NAN;
            continue;
        }
        report_summary *s = &cond->s;
        rc = paired_test(cond, b, 0, x, y, &s->pairs_test, &s->w_test);
        if (rc == 0)
            rc = rm_bootstrap_median_diff(x, y, s->pairs_test, RM_BOOTSTRAP_RESAMPLES, RM_BOOTSTRAP_SEED,
                                          &s->boot_test);
        if (rc == 0) {
            for (int i = 0; i < s->pairs_test; i++) x[i] -= y[i];
            s->sd_diff_test = rm_stat_std(x, s->pairs_test);
            s->mdd_test = rm_min_detectable_diff(s->pairs_test, s->sd_diff_test);
        }
        if (rc == 0) rc = paired_test(cond, b, 1, x, y, &s->pairs_aulc, &s->w_aulc);
    }
    free(x);
    free(y);
    /* Holm over every test of the report: two per non-baseline condition */
    double *p = rc == 0 ? rm_malloc(sizeof *p * (size_t)(2 * ctx->ncond), "p-values") : NULL;
    if (rc == 0 && !p) rc = -1;
    if (rc == 0) {
        int family = 0;
        for (int c = 0; c < ctx->ncond; c++) {
            const report_summary *s = &ctx->cond[c].s;
            int base = c == ctx->baseline || report_is_control(ctx->cond[c].name);
            p[2 * c] = base || s->w_test.method == RM_WILCOXON_NONE ? NAN : s->w_test.p;
            p[2 * c + 1] = base || s->w_aulc.method == RM_WILCOXON_NONE ? NAN : s->w_aulc.p;
            family += !isnan(p[2 * c]) + !isnan(p[2 * c + 1]);
        }
        rc = rm_holm_adjust(p, 2 * ctx->ncond, p);
        for (int c = 0; rc == 0 && c < ctx->ncond; c++) {
            report_summary *s = &ctx->cond[c].s;
            s->holm_test = p[2 * c];
            s->holm_aulc = p[2 * c + 1];
            s->holm_family = family;
        }
    }
    free(p);
    return rc;
}

/* --- findings ------------------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    if (t->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2;
        char *grown = rm_realloc(t->buf, cap, "findings");
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static const char *compare(double a, double b, const char *more, const char *less, const char *same)
{
    double tol = 1e-9 * fmax(1, fmax(fabs(a), fabs(b)));
    return a > b + tol ? more : a < b - tol ? less : same;
}

/* " (two-sided paired Wilcoxon signed-rank test over 6 seeds: p = 0.03125, Holm-adjusted over the report's 3
 * tests p = 0.09375; not significant at the 0.05 level after adjustment)": significance is judged on the
 * adjusted p */
static void add_test(text *t, const rm_wilcoxon_result *w, int pairs, double holm, int family)
{
    char p[32], q[32];
    if (pairs == 0) {
        add(t, " (no seed is shared with the baseline, so there is no paired test)");
        return;
    }
    if (w->method == RM_WILCOXON_NONE) {
        add(t, " (all %d paired differences are zero, so there is no test)", pairs);
        return;
    }
    rm_wilcoxon_result adjusted = *w;
    adjusted.p = holm;
    add(t,
        " (two-sided paired Wilcoxon signed-rank test over %d seed%s: p = %s, Holm-adjusted over the report's %d "
        "test%s p = %s; %s)",
        pairs, pairs == 1 ? "" : "s", report_fmt_p(p, sizeof p, w), family, family == 1 ? "" : "s",
        report_fmt_p(q, sizeof q, &adjusted),
        holm < 0.05 ? "significant at the 0.05 level after adjustment"
                    : "not significant at the 0.05 level after adjustment");
}

static void add_threshold(text *t, const report_ctx *ctx, const report_condition *c, const report_condition *b,
                          int k)
{
    const report_summary *s = &c->s, *bs = &b->s;
    int share = (int)lround(report_threshold_share[k] * 100);
    if (k == 0)
        add(t, "%d%% of the baseline's final validation accuracy (%.2f%%)", share, 100 * ctx->thresholds[k]);
    else
        add(t, "; %d%% of it (%.2f%%)", share, 100 * ctx->thresholds[k]);
    if (s->reached[k] == 0 && bs->reached[k] == 0) {
        add(t, " was reached neither by it nor by %s", b->name);
    } else if (s->reached[k] == 0) {
        add(t, " was not reached in any of its %d seeds (%s: after %.2f epochs on average, %d of %d seeds)",
            s->curve_runs, b->name, bs->epochs_to[k].mean, bs->reached[k], bs->curve_runs);
    } else if (bs->reached[k] == 0) {
        add(t, " was reached after %.2f epochs on average (%d of %d seeds), while %s never reached it",
            s->epochs_to[k].mean, s->reached[k], s->curve_runs, b->name);
    } else {
        add(t, " was reached after %.2f epochs on average (%d of %d seeds), %s %s (%.2f epochs, %d of %d seeds)",
            s->epochs_to[k].mean, s->reached[k], s->curve_runs,
            compare(s->epochs_to[k].mean, bs->epochs_to[k].mean, "later than", "sooner than", "as soon as"), b->name,
            bs->epochs_to[k].mean, bs->reached[k], bs->curve_runs);
    }
}

static const char *leak_words(double leak)
{
    return leak < 0.1 ? "near chance: the masks hardly carry the label"
           : leak < 0.5 ? "the masks carry part of the label"
                        : "the masks carry most of the label, so a masked student can learn the mask shape "
                          "instead of the images";
}

static void add_control(text *t, const report_ctx *ctx, const report_condition *c, const report_condition *b)
{
    double leak = report_leak(c->s.test.mean, ctx->num_classes);
    add(t, "The mask-only control: a student trained, validated and tested on the binary masks alone (no image "
           "content) reached %.2f%% test accuracy on masks, against chance %.2f%% (1/%d) and %.2f%% for %s on the "
           "images. Leak = (accuracy - chance) / (1 - chance) = %.2f: %s. It is a measurement of the masks, not a "
           "method, so it is not ranked against %s nor counted among the report's tests.",
        100 * c->s.test.mean, 100.0 / ctx->num_classes, ctx->num_classes, 100 * b->s.test.mean, b->name, leak,
        leak_words(leak), b->name);
}

static char *finding(const report_ctx *ctx, const report_condition *c)
{
    const report_condition *b = &ctx->cond[ctx->baseline];
    text t = {0};
    if (report_is_control(c->name) && ctx->num_classes > 1) {
        add_control(&t, ctx, c, b);
        if (t.failed) {
            free(t.buf);
            return NULL;
        }
        return t.buf;
    }
    if (c->s.curve_runs == 0) {
        add(&t, "It has no learning curve (no model.h5 in its runs), so only its test accuracy is "
                                "compared. ");
    } else {
        for (int k = 0; k < 2; k++) add_threshold(&t, ctx, c, b, k);
        add(&t, ". ");
    }
    add(&t, "Its final test accuracy is %.2f%% against %.2f%% for %s: %s", 100 * c->s.test.mean, 100 * b->s.test.mean,
        b->name, compare(c->s.test.mean, b->s.test.mean, "higher", "lower", "the same"));
    add_test(&t, &c->s.w_test, c->s.pairs_test, c->s.holm_test, c->s.holm_family);
    add(&t, ".");
    if (c->s.curve_runs > 0) {
        add(&t, " Its area under the learning curve (mean validation accuracy over the epochs) is %.2f%% against "
                "%.2f%%: %s",
            100 * c->s.aulc.mean, 100 * b->s.aulc.mean, compare(c->s.aulc.mean, b->s.aulc.mean, "higher", "lower",
                                                                 "the same"));
        add_test(&t, &c->s.w_aulc, c->s.pairs_aulc, c->s.holm_aulc, c->s.holm_family);
        add(&t, ".");
    }
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

int report_findings(report_ctx *ctx)
{
    ctx->findings = rm_calloc((size_t)ctx->ncond, sizeof *ctx->findings, "findings");
    if (!ctx->findings) return -1;
    for (int c = 0; c < ctx->ncond; c++) {
        if (c == ctx->baseline) continue;
        report_note *n = &ctx->findings[ctx->nfindings];
        n->name = rm_strdup(ctx->cond[c].name);
        n->text = finding(ctx, &ctx->cond[c]);
        if (!n->name || !n->text) {
            free(n->name);
            free(n->text);
            return -1;
        }
        ctx->nfindings++;
    }
    return 0;
}
