/* Number formatting shared by the report's writers: percentages with their
 * spread, p-values, durations; "n/a" wherever a value is undefined. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "report/report_internal.h"

const char *report_fmt_num(char *buf, size_t n, const report_stat *s, int decimals)
{
    if (s->n == 0 || !isfinite(s->mean)) snprintf(buf, n, "n/a");
    else if (!isfinite(s->std)) snprintf(buf, n, "%.*f", decimals, s->mean);
    else snprintf(buf, n, "%.*f ± %.*f", decimals, s->mean, decimals, s->std);
    return buf;
}

const char *report_fmt_pct(char *buf, size_t n, const report_stat *s)
{
    report_stat pct = *s;
    pct.mean *= 100;
    pct.std *= 100;
    return report_fmt_num(buf, n, &pct, 2);
}

const char *report_fmt_p(char *buf, size_t n, const rm_wilcoxon_result *w)
{
    if (w->method == RM_WILCOXON_NONE || !isfinite(w->p)) snprintf(buf, n, "n/a");
    else if (w->p < 1e-4) snprintf(buf, n, "%.2e", w->p);
    else snprintf(buf, n, "%.4g", w->p);
    return buf;
}

const char *report_fmt_reach(char *buf, size_t n, const report_stat *s, int reached, int runs, int decimals)
{
    if (runs == 0) {
        snprintf(buf, n, "n/a");
    } else if (reached == 0) {
        snprintf(buf, n, "not reached (0/%d)", runs);
    } else {
        char num[64];
        snprintf(buf, n, "%s (%d/%d)", report_fmt_num(num, sizeof num, s, decimals), reached, runs);
    }
    return buf;
}

const char *report_fmt_duration(char *buf, size_t n, double seconds)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, n, "n/a");
        return buf;
    }
    long long s = llround(seconds);
    if (s < 60) snprintf(buf, n, "%.1f s", seconds);
    else if (s < 3600) snprintf(buf, n, "%lld min %02lld s", s / 60, s % 60);
    else snprintf(buf, n, "%lld h %02lld min %02lld s", s / 3600, s / 60 % 60, s % 60);
    return buf;
}

char *report_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        rm_error("formatting failed");
        return NULL;
    }
    char *s = rm_malloc((size_t)n + 1, "string");
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* --- table rows shared by the markdown and HTML writers ------------------------- */

const char *const report_result_headers[REPORT_RESULT_COLS] = {
    "condition",       "seeds",         "final val acc (%)", "AULC (%)",     "p (AULC)",
    "Holm p (AULC)",   "epochs to 90%", "time to 90% (s)",   "epochs to 95%", "time to 95% (s)",
    "test acc (%)",    "p (test acc)",  "Holm p (test acc)", "median Δ test acc (pp) [95% CI]",
    "min. detectable Δ (pp)"};

static const char *fmt_adjusted(char *buf, size_t n, const rm_wilcoxon_result *w, double adjusted)
{
    rm_wilcoxon_result a = *w;
    a.p = adjusted;
    return report_fmt_p(buf, n, &a);
}

const char *report_fmt_diff_ci(char *buf, size_t n, const rm_bootstrap_result *b)
{
    if (b->n == 0 || !isfinite(b->median)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%+.2f [%+.2f, %+.2f]", 100 * b->median, 100 * b->lo, 100 * b->hi);
    return buf;
}

const char *report_fmt_mdd(char *buf, size_t n, int pairs, double mdd)
{
    if (pairs == 0) snprintf(buf, n, "n/a");
    else if (!(rm_wilcoxon_min_p(pairs) < RM_MDD_ALPHA)) snprintf(buf, n, "not detectable (%d pair%s)", pairs, pairs == 1 ? "" : "s");
    else if (!isfinite(mdd)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.2f", 100 * mdd);
    return buf;
}

void report_result_cells(const report_ctx *ctx, int c, char cells[REPORT_RESULT_COLS][REPORT_CELL])
{
    const report_condition *cond = &ctx->cond[c];
    const report_summary *s = &cond->s;
    int base = c == ctx->baseline;
    snprintf(cells[0], REPORT_CELL, "%s%s", cond->name, base ? " (baseline)" : "");
    snprintf(cells[1], REPORT_CELL, "%d", cond->nruns);
    report_fmt_pct(cells[2], REPORT_CELL, &s->final_val);
    report_fmt_pct(cells[3], REPORT_CELL, &s->aulc);
    for (int t = 0; t < 2; t++) {
        report_fmt_reach(cells[6 + 2 * t], REPORT_CELL, &s->epochs_to[t], s->reached[t], s->curve_runs, 2);
        report_fmt_reach(cells[7 + 2 * t], REPORT_CELL, &s->seconds_to[t], s->reached[t], s->curve_runs, 1);
    }
    report_fmt_pct(cells[10], REPORT_CELL, &s->test);
    if (base) {
        static const int dash[] = {4, 5, 11, 12, 13, 14};
        for (size_t i = 0; i < sizeof dash / sizeof dash[0]; i++) snprintf(cells[dash[i]], REPORT_CELL, "—");
        return;
    }
    report_fmt_p(cells[4], REPORT_CELL, &s->w_aulc);
    fmt_adjusted(cells[5], REPORT_CELL, &s->w_aulc, s->holm_aulc);
    report_fmt_p(cells[11], REPORT_CELL, &s->w_test);
    fmt_adjusted(cells[12], REPORT_CELL, &s->w_test, s->holm_test);
    report_fmt_diff_ci(cells[13], REPORT_CELL, &s->boot_test);
    report_fmt_mdd(cells[14], REPORT_CELL, s->pairs_test, s->mdd_test);
}

const char *const report_seed_headers[REPORT_SEED_COLS] = {
    "condition", "seed", "epochs", "final val acc (%)", "best val acc (%)", "AULC (%)", "epochs to 90%",
    "epochs to 95%", "training time (s)", "test acc (%)"};

void report_seed_cells(const report_ctx *ctx, int c, int r, char cells[REPORT_SEED_COLS][REPORT_CELL])
{
    const report_condition *cond = &ctx->cond[c];
    const report_run *run = &cond->runs[r];
    snprintf(cells[0], REPORT_CELL, "%s", cond->name);
    snprintf(cells[1], REPORT_CELL, "%d", run->seed);
    if (run->has_curve) {
        const rm_curve_metrics *m = &run->curve;
        snprintf(cells[2], REPORT_CELL, "%d", m->epochs);
        snprintf(cells[3], REPORT_CELL, "%.2f", 100 * m->final_val);
        snprintf(cells[4], REPORT_CELL, "%.2f", 100 * m->best_val);
        snprintf(cells[5], REPORT_CELL, "%.2f", 100 * m->aulc);
        for (int t = 0; t < 2; t++) {
            if (m->epochs_to[t] > 0) snprintf(cells[6 + t], REPORT_CELL, "%d", m->epochs_to[t]);
            else snprintf(cells[6 + t], REPORT_CELL, "not reached");
        }
        snprintf(cells[8], REPORT_CELL, "%.1f", m->total_seconds);
    } else {
        for (int k = 2; k <= 8; k++) snprintf(cells[k], REPORT_CELL, "n/a");
    }
    snprintf(cells[9], REPORT_CELL, "%.2f", 100 * run->test_acc);
}

/* "1, 2, 3" or "1-5" for consecutive seeds. */
const char *report_fmt_seeds(char *buf, size_t n, const report_condition *c)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < c->nruns && used < n; i++) {
        int j = i;
        while (j + 1 < c->nruns && c->runs[j + 1].seed == c->runs[j].seed + 1) j++;
        int w = j - i >= 2 ? snprintf(buf + used, n - used, "%s%d-%d", i ? ", " : "", c->runs[i].seed, c->runs[j].seed)
                           : snprintf(buf + used, n - used, "%s%d", i ? ", " : "", c->runs[i].seed);
        if (w < 0) break;
        used += (size_t)w;
        if (j - i >= 2) i = j;
    }
    return buf;
}
