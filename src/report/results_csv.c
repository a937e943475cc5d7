/* results.csv: one row per condition with every metric's mean and sample
 * standard deviation over seeds, the seeds that reached each threshold and
 * the Wilcoxon tests against the baseline with their Holm-adjusted p, the
 * median paired test-accuracy difference with its bootstrap interval and the
 * smallest detectable difference (docs/report.md). Accuracies are
 * in percent; undefined values are empty fields. */
#include <math.h>
#include <stdio.h>

#include "core/csv.h"
#include "core/error.h"
#include "report/report_internal.h"

static void num(FILE *f, double v)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.10g", v);
}

static void stat(FILE *f, const report_stat *s, double scale)
{
    num(f, s->n ? s->mean * scale : NAN);
    num(f, s->n ? s->std * scale : NAN);
}

static void test(FILE *f, const rm_wilcoxon_result *w, int pairs, int baseline)
{
    if (baseline) {
        fputs(",,,,", f);
        return;
    }
    fprintf(f, ",%d,%d", pairs, w->n);
    num(f, w->method == RM_WILCOXON_NONE ? NAN : w->statistic);
    num(f, w->method == RM_WILCOXON_NONE ? NAN : w->p);
}

int report_write_csv(FILE *f, const report_ctx *ctx)
{
    fputs("condition,baseline,n_seeds,n_curves,"
          "final_val_acc_pct_mean,final_val_acc_pct_std,best_val_acc_pct_mean,best_val_acc_pct_std,aulc_pct_mean,aulc_pct_std,"
          "epochs_to_90_mean,epochs_to_90_std,epochs_to_90_reached,seconds_to_90_mean,seconds_to_90_std,"
          "epochs_to_95_mean,epochs_to_95_std,epochs_to_95_reached,seconds_to_95_mean,seconds_to_95_std,"
          "train_seconds_mean,train_seconds_std,test_acc_pct_mean,test_acc_pct_std,"
          "test_acc_pairs,test_acc_wilcoxon_n,test_acc_wilcoxon_w,test_acc_p,"
          "aulc_pairs,aulc_wilcoxon_n,aulc_wilcoxon_w,aulc_p,"
          "threshold_90_pct,threshold_95_pct,"
          "test_acc_p_holm,aulc_p_holm,holm_family,"
          "test_acc_diff_median_pp,test_acc_diff_ci_lo_pp,test_acc_diff_ci_hi_pp,test_acc_diff_sd_pp,"
          "test_acc_min_detectable_pp,bootstrap_resamples,bootstrap_seed\n",
          f);
    for (int c = 0; c < ctx->ncond; c++) {
        const report_condition *cond = &ctx->cond[c];
        const report_summary *s = &cond->s;
        int base = c == ctx->baseline;
        rm_csv_write_field(f, cond->name);
        fprintf(f, ",%d,%d,%d", base, cond->nruns, s->curve_runs);
        stat(f, &s->final_val, 100);
        stat(f, &s->best_val, 100);
        stat(f, &s->aulc, 100);
        for (int t = 0; t < 2; t++) {
            stat(f, &s->epochs_to[t], 1);
            fprintf(f, ",%d", s->reached[t]);
            stat(f, &s->seconds_to[t], 1);
        }
        stat(f, &s->total_seconds, 1);
        stat(f, &s->test, 100);
        test(f, &s->w_test, s->pairs_test, base);
        test(f, &s->w_aulc, s->pairs_aulc, base);
        num(f, 100 * ctx->thresholds[0]);
        num(f, 100 * ctx->thresholds[1]);
        if (base) {
            fputs(",,,,,,,,,,", f);
        } else {
            num(f, s->holm_test);
            num(f, s->holm_aulc);
            fprintf(f, ",%d", s->holm_family);
            num(f, 100 * s->boot_test.median);
            num(f, 100 * s->boot_test.lo);
            num(f, 100 * s->boot_test.hi);
            num(f, 100 * s->sd_diff_test);
            num(f, 100 * s->mdd_test);
            fprintf(f, ",%d,%llu", s->boot_test.resamples, (unsigned long long)s->boot_test.seed);
        }
        fputc('\n', f);
    }
    return ferror(f) ? rm_error("writing results.csv failed") : 0;
}
