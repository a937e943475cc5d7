/* The report's statistics: mean/std, the paired Wilcoxon signed-rank test
 * against published and hand-enumerated values, and learning-curve metrics
 * on hand-made histories. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "report/report.h"

static rm_wilcoxon_result wilcoxon_d(const double *d, int n)
{
    double zero[64] = {0};
    rm_wilcoxon_result w;
    cr_assert(n <= 64);
    cr_assert_eq(rm_wilcoxon_signed_rank(d, zero, n, &w), 0, "%s", rm_error_message());
    return w;
}

Test(report_stats, mean_and_sample_std)
{
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    cr_assert_float_eq(rm_stat_mean(x, 8), 5.0, 1e-15);
    cr_assert_float_eq(rm_stat_std(x, 8), sqrt(32.0 / 7.0), 1e-14, "divisor n - 1");
    cr_assert_float_eq(rm_stat_min(x, 8), 2.0, 0);
    cr_assert_float_eq(rm_stat_max(x, 8), 9.0, 0);
    cr_assert(isnan(rm_stat_std(x, 1)), "one value has no sample std");
    cr_assert(isnan(rm_stat_mean(x, 0)));
    const double same[] = {0.61, 0.61, 0.61};
    cr_assert_float_eq(rm_stat_std(same, 3), 0.0, 1e-15);
}

/* Hollander & Wolfe (1973), p. 29, the depression scale example of R's
 * wilcox.test: x = first visit, y = second visit. R gives V = 40 and, with
 * alternative = "greater", p = 0.01953; two-sided p is twice that. By hand:
 * the differences' ranks are 8,3-,9,4,7,6,5,2-,1, so W- = 2 + 3 = 5, and
 * 10 of the 512 subsets of {1..9} sum to 5 or less: p = 20/512. */
Test(report_stats, wilcoxon_hollander_wolfe_depression_example)
{
    const double x[] = {1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
    const double y[] = {0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
    rm_wilcoxon_result w;
    cr_assert_eq(rm_wilcoxon_signed_rank(x, y, 9, &w), 0);
    cr_assert_eq(w.method, RM_WILCOXON_EXACT);
    cr_assert_eq(w.n, 9);
    cr_assert_float_eq(w.w_plus, 40.0, 0);
    cr_assert_float_eq(w.w_minus, 5.0, 0);
    cr_assert_float_eq(w.statistic, 5.0, 0);
    cr_assert_float_eq(w.p, 20.0 / 512.0, 1e-15, "p = %.17g", w.p);
    /* swapping the samples mirrors W+ and W- and keeps p */
    rm_wilcoxon_result m;
    cr_assert_eq(rm_wilcoxon_signed_rank(y, x, 9, &m), 0);
    cr_assert_float_eq(m.w_plus, 5.0, 0);
    cr_assert_float_eq(m.p, w.p, 0);
}

/* scipy.stats.wilcoxon's documented example (Fisher's corn heights,
 * differences d): WilcoxonResult(statistic=24.0, pvalue=0.041259765625). */
Test(report_stats, wilcoxon_scipy_documented_example)
{
    const double d[] = {6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75};
    rm_wilcoxon_result w = wilcoxon_d(d, 15);
    cr_assert_eq(w.method, RM_WILCOXON_EXACT);
    cr_assert_float_eq(w.statistic, 24.0, 0);
    cr_assert_float_eq(w.p, 0.041259765625, 1e-15, "p = %.17g", w.p);
}

Test(report_stats, wilcoxon_five_seeds_all_one_way_gives_0_0625)
{
    const double up[] = {0.01, 0.02, 0.03, 0.04, 0.05}, down[] = {-0.3, -0.1, -0.2, -0.5, -0.4};
    rm_wilcoxon_result w = wilcoxon_d(up, 5);
    cr_assert_eq(w.p, 0.0625, "2 of 32 sign assignments are this extreme: p = %.17g", w.p);
    cr_assert_float_eq(w.w_plus, 15.0, 0);
    w = wilcoxon_d(down, 5);
    cr_assert_eq(w.p, 0.0625);
    cr_assert_eq(rm_wilcoxon_min_p(5), 0.0625);
    cr_assert_eq(rm_wilcoxon_min_p(1), 1.0);
    cr_assert_eq(rm_wilcoxon_min_p(10), 2.0 / 1024);
}

/* d = 0, 1, -1, 2, 2, 3: the zero is dropped (n = 5); |d| = 1,1,2,2,3 get
 * ranks 1.5,1.5,3.5,3.5,5; W+ = 1.5 + 3.5 + 3.5 + 5 = 13.5, W- = 1.5.
 * Sign assignments with W- <= 1.5: none negative, or either 1.5 alone: 3
 * of 32, so p = 2 * 3/32 = 0.1875. */
Test(report_stats, wilcoxon_ties_and_zeros_by_hand)
{
    const double d[] = {0, 1, -1, 2, 2, 3};
    rm_wilcoxon_result w = wilcoxon_d(d, 6);
    cr_assert_eq(w.zeros, 1);
    cr_assert_eq(w.n, 5);
    cr_assert_eq(w.tie_groups, 2);
    cr_assert_float_eq(w.w_plus, 13.5, 0);
    cr_assert_float_eq(w.w_minus, 1.5, 0);
    cr_assert_float_eq(w.p, 0.1875, 1e-15, "p = %.17g", w.p);
}

/* Accuracies differ by the same amount up to rounding (0.7 - 0.6 and
 * 0.6 - 0.5 are not equal in binary); they must still tie, and equal
 * accuracies must count as zero differences. */
Test(report_stats, wilcoxon_rounding_noise_ties_and_zeros)
{
    const double x[] = {0.7, 0.6, 0.612, 0.3};
    const double y[] = {0.6, 0.5, 0.612, 0.1 + 0.2};
    rm_wilcoxon_result w;
    cr_assert_eq(rm_wilcoxon_signed_rank(x, y, 4, &w), 0);
    cr_assert_eq(w.zeros, 2, "0.612 - 0.612 and 0.3 - (0.1 + 0.2) are zero");
    cr_assert_eq(w.n, 2);
    cr_assert_eq(w.tie_groups, 1);
    cr_assert_float_eq(w.w_plus, 3.0, 0, "ranks 1.5 + 1.5");
    cr_assert_float_eq(w.p, 0.5, 1e-15);
}

Test(report_stats, wilcoxon_all_zero_differences_give_no_test)
{
    const double x[] = {0.5, 0.6, 0.7};
    rm_wilcoxon_result w;
    cr_assert_eq(rm_wilcoxon_signed_rank(x, x, 3, &w), 0);
    cr_assert_eq(w.method, RM_WILCOXON_NONE);
    cr_assert_eq(w.n, 0);
    cr_assert_eq(w.zeros, 3);
    cr_assert(isnan(w.p));
    const double bad[] = {0.5, NAN, 0.7};
    cr_assert_eq(rm_wilcoxon_signed_rank(bad, x, 3, &w), -1);
    cr_assert(strstr(rm_error_message(), "pair 2"), "%s", rm_error_message());
}

/* Independent oracle for the exact distribution without ties: the number
 * of subsets of {1..n} with sum s, by the usual counting recursion. */
static double exact_p_no_ties(int n, int w_plus)
{
    static uint64_t ways[256];
    int total = n * (n + 1) / 2;
    memset(ways, 0, sizeof ways);
    ways[0] = 1;
    for (int r = 1; r <= n; r++)
        for (int s = total; s >= r; s--) ways[s] += ways[s - r];
    uint64_t le = 0, ge = 0;
    for (int s = 0; s <= total; s++) {
        if (s <= w_plus) le += ways[s];
        if (s >= w_plus) ge += ways[s];
    }
    double p = 2.0 * (double)(le < ge ? le : ge) / ldexp(1.0, n);
    return p > 1 ? 1 : p;
}

Test(report_stats, wilcoxon_exact_matches_subset_counting_up_to_n_20)
{
    double d[20];
    for (int n = 1; n <= 20; n++) {
        int w_plus = 0;
        for (int i = 0; i < n; i++) {
            int negative = (i * 7 + n) % 3 == 0;
            d[i] = (negative ? -1 : 1) * (i + 1) * 0.01;
            if (!negative) w_plus += i + 1;
        }
        rm_wilcoxon_result w = wilcoxon_d(d, n);
        cr_assert_eq(w.method, RM_WILCOXON_EXACT, "n = %d", n);
        cr_assert_float_eq(w.w_plus, (double)w_plus, 0, "n = %d", n);
        double want = exact_p_no_ties(n, w_plus);
        cr_assert_float_eq(w.p, want, 1e-15, "n = %d: p %.17g, expected %.17g", n, w.p, want);
    }
}

/* n = 25, |d| = 1..25, negative at 3, 7, 12, 18, 22: W- = 62,
 * mean n(n+1)/4 = 162.5, variance n(n+1)(2n+1)/24 = 1381.25,
 * z = (62 - 162.5) / sqrt(1381.25) = -2.7042, p = 0.0068480 (two-sided
 * normal tail, no continuity correction, as scipy's method="approx"). */
Test(report_stats, wilcoxon_normal_approximation_n_25)
{
    double d[25];
    for (int i = 0; i < 25; i++) {
        int v = i + 1;
        d[i] = (v == 3 || v == 7 || v == 12 || v == 18 || v == 22) ? -v : v;
    }
    rm_wilcoxon_result w = wilcoxon_d(d, 25);
    cr_assert_eq(w.method, RM_WILCOXON_NORMAL);
    cr_assert_float_eq(w.w_minus, 62.0, 0);
    cr_assert_float_eq(w.statistic, 62.0, 0);
    double z = (62 - 162.5) / sqrt(1381.25);
    cr_assert_float_eq(w.z, z, 1e-12, "z %.10f, expected %.10f", w.z, z);
    cr_assert_float_eq(w.p, erfc(100.5 / sqrt(1381.25) / sqrt(2.0)), 1e-12);
    cr_assert_float_eq(w.p, 0.006848047504925529, 1e-12, "p = %.17g", w.p);
}

/* n = 25 with ties: |d| = 1 x4, 2 x3, then 3..20; negative: one 1, one 2,
 * 5 and 11. Ranks: the 1s 2.5, the 2s 6, value v >= 3 has rank v + 5.
 * W- = 2.5 + 6 + 10 + 16 = 34.5. Tie correction (4^3 - 4 + 3^3 - 3)/48 =
 * 1.75: variance 1381.25 - 1.75 = 1379.5, z = -128 / sqrt(1379.5). */
Test(report_stats, wilcoxon_normal_approximation_with_tie_correction)
{
    double d[25];
    int k = 0;
    for (int i = 0; i < 4; i++) d[k++] = i == 0 ? -1 : 1;
    for (int i = 0; i < 3; i++) d[k++] = i == 0 ? -2 : 2;
    for (int v = 3; v <= 20; v++) d[k++] = (v == 5 || v == 11) ? -v : v;
    cr_assert_eq(k, 25);
    rm_wilcoxon_result w = wilcoxon_d(d, 25);
    cr_assert_eq(w.method, RM_WILCOXON_NORMAL);
    cr_assert_eq(w.tie_groups, 2);
    cr_assert_float_eq(w.w_minus, 34.5, 0);
    cr_assert_float_eq(w.z, -128 / sqrt(1379.5), 1e-12);
    cr_assert_float_eq(w.p, 0.0005683852075349867, 1e-15, "p = %.17g", w.p);
}

Test(report_stats, curve_metrics_of_a_hand_made_history)
{
    const double val[] = {0.20, 0.50, 0.70, 0.80, 0.75};
    const double sec[] = {10, 11, 12, 13, 14};
    const double thr[2] = {0.70, 0.79};   /* reached exactly at epoch 3, then at epoch 4 */
    rm_curve_metrics m;
    cr_assert_eq(rm_curve_compute(val, sec, 5, thr, &m), 0, "%s", rm_error_message());
    cr_assert_eq(m.epochs, 5);
    cr_assert_float_eq(m.final_val, 0.75, 0);
    cr_assert_float_eq(m.best_val, 0.80, 0);
    cr_assert_float_eq(m.aulc, (0.2 + 0.5 + 0.7 + 0.8 + 0.75) / 5, 1e-15);
    cr_assert_float_eq(m.total_seconds, 60.0, 1e-12);
    cr_assert_eq(m.epochs_to[0], 3, ">= counts as reached");
    cr_assert_float_eq(m.seconds_to[0], 33.0, 1e-12);
    cr_assert_eq(m.epochs_to[1], 4);
    cr_assert_float_eq(m.seconds_to[1], 46.0, 1e-12);
}

Test(report_stats, curve_thresholds_not_reached)
{
    const double val[] = {0.1, 0.3, 0.2};
    const double sec[] = {1, 1, 1};
    const double thr[2] = {0.3, 0.95};
    rm_curve_metrics m;
    cr_assert_eq(rm_curve_compute(val, sec, 3, thr, &m), 0);
    cr_assert_eq(m.epochs_to[0], 2);
    cr_assert_eq(m.epochs_to[1], 0, "0 means not reached");
    cr_assert(isnan(m.seconds_to[1]));
    cr_assert_float_eq(m.aulc, 0.2, 1e-15);
    cr_assert_float_eq(m.final_val, 0.2, 0);
    cr_assert_eq(rm_curve_compute(val, sec, 0, thr, &m), -1, "an empty history is an error");
    const double nan_val[] = {0.1, NAN};
    cr_assert_eq(rm_curve_compute(nan_val, sec, 2, thr, &m), -1);
    cr_assert(strstr(rm_error_message(), "epoch 2"), "%s", rm_error_message());
}

/* --- Holm adjustment, bootstrap interval, smallest detectable difference ---------
 * Expected values by hand and from tests/oracle/stats_oracle.py (numpy),
 * whose printed numbers are pasted here. */

Test(report_stats, holm_by_hand_and_oracle)
{
    /* sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> monotone: 0.06 */
    const double p[] = {0.01, 0.04, 0.03, 0.005};
    const double want[] = {0.03, 0.06, 0.06, 0.02};
    double adj[4];
    cr_assert_eq(rm_holm_adjust(p, 4, adj), 0, "%s", rm_error_message());
    for (int i = 0; i < 4; i++) cr_assert_float_eq(adj[i], want[i], 1e-15, "p %d: %.17g", i, adj[i]);
    /* capped at 1: 0.2 x3 = 0.6, 0.5 x2 = 1.0, 0.9 x1 -> 1 */
    const double q[] = {0.2, 0.5, 0.9};
    cr_assert_eq(rm_holm_adjust(q, 3, adj), 0);
    cr_assert_float_eq(adj[0], 0.6, 1e-15);
    cr_assert_float_eq(adj[1], 1.0, 0);
    cr_assert_float_eq(adj[2], 1.0, 0);
}

Test(report_stats, holm_equal_p_single_and_nan)
{
    const double p[] = {0.02, 0.02, 0.02};
    double adj[3];
    cr_assert_eq(rm_holm_adjust(p, 3, adj), 0);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(adj[i], 0.06, 1e-15, "equal p get equal adjusted p");
    const double one = 0.037;
    cr_assert_eq(rm_holm_adjust(&one, 1, adj), 0);
    cr_assert_float_eq(adj[0], 0.037, 0, "a family of one is unadjusted");
    /* NaN (no test) is not a family member: m = 2 */
    const double r[] = {0.01, NAN, 0.04};
    cr_assert_eq(rm_holm_adjust(r, 3, adj), 0);
    cr_assert_float_eq(adj[0], 0.02, 1e-15);
    cr_assert(isnan(adj[1]));
    cr_assert_float_eq(adj[2], 0.04, 1e-15);
    /* in place, and n = 0 */
    double s[] = {0.5, 0.25};
    cr_assert_eq(rm_holm_adjust(s, 2, s), 0);
    cr_assert_float_eq(s[0], 0.5, 0);
    cr_assert_float_eq(s[1], 0.5, 0);
    cr_assert_eq(rm_holm_adjust(s, 0, s), 0);
    const double bad[] = {0.5, 1.5};
    cr_assert_eq(rm_holm_adjust(bad, 2, adj), -1);
    cr_assert(strstr(rm_error_message(), "p-value 2 is 1.5"), "%s", rm_error_message());
}

Test(report_stats, holm_is_monotone_in_p)
{
    double p[40], adj[40];
    uint64_t s = 12345;
    for (int i = 0; i < 40; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (double)(s >> 11) / 9007199254740992.0 * 0.2;
    }
    cr_assert_eq(rm_holm_adjust(p, 40, adj), 0);
    for (int i = 0; i < 40; i++) {
        cr_assert(adj[i] >= p[i] && adj[i] <= 1);
        for (int j = 0; j < 40; j++)
            if (p[i] < p[j]) cr_assert(adj[i] <= adj[j], "p %g < %g but adjusted %g > %g", p[i], p[j], adj[i], adj[j]);
    }
}

static rm_bootstrap_result boot_d(const double *d, int n, int b, uint64_t seed)
{
    double zero[16] = {0};
    rm_bootstrap_result r;
    cr_assert(n <= 16);
    cr_assert_eq(rm_bootstrap_median_diff(d, zero, n, b, seed, &r), 0, "%s", rm_error_message());
    return r;
}

Test(report_stats, bootstrap_matches_numpy_oracle)
{
    const double d5[] = {0.012, -0.004, 0.020, 0.007, 0.015};
    rm_bootstrap_result r = boot_d(d5, 5, 10000, RM_BOOTSTRAP_SEED);
    cr_assert_float_eq(r.median, 0.012, 1e-15);
    cr_assert_float_eq(r.lo, -0.004, 1e-15);
    cr_assert_float_eq(r.hi, 0.020, 1e-15);
    const double d8[] = {0.03, 0.01, -0.02, 0.05, 0.01, 0.00, 0.04, 0.02};
    r = boot_d(d8, 8, 2000, 7);
    cr_assert_float_eq(r.median, 0.015, 1e-15);
    cr_assert_float_eq(r.lo, 0.0, 1e-15);
    cr_assert_float_eq(r.hi, 0.04, 1e-15);
    /* B = 7: the quantiles fall between resampled medians (linear interpolation) */
    r = boot_d(d8, 8, 7, 3);
    cr_assert_float_eq(r.lo, 0.01, 1e-15, "%.17g", r.lo);
    cr_assert_float_eq(r.hi, 0.029249999999999998, 1e-15, "%.17g", r.hi);
    cr_assert_eq(r.resamples, 7);
    cr_assert_eq(r.seed, 3);
}

Test(report_stats, bootstrap_edge_cases_by_hand)
{
    /* n = 1: every resample is the one difference */
    const double one = 0.025;
    rm_bootstrap_result r = boot_d(&one, 1, 500, 1);
    cr_assert_float_eq(r.median, 0.025, 0);
    cr_assert_float_eq(r.lo, 0.025, 0);
    cr_assert_float_eq(r.hi, 0.025, 0);
    /* n = 2: resampled medians are d1 (1/4), the mean (1/2), d2 (1/4), so
     * with 10000 resamples the 2.5% / 97.5% quantiles are d1 / d2 */
    const double two[] = {0.03, 0.01};
    r = boot_d(two, 2, 10000, RM_BOOTSTRAP_SEED);
    cr_assert_float_eq(r.median, 0.02, 1e-15);
    cr_assert_float_eq(r.lo, 0.01, 1e-15);
    cr_assert_float_eq(r.hi, 0.03, 1e-15);
    /* n = 3 all zero differences (ties): a point interval at 0 */
    const double zeros[] = {0, 0, 0};
    r = boot_d(zeros, 3, 1000, 9);
    cr_assert(r.median == 0 && r.lo == 0 && r.hi == 0);
    /* deterministic: the same seed gives the same interval, another seed may not */
    const double d8[] = {0.03, 0.01, -0.02, 0.05, 0.01, 0.00, 0.04, 0.02};
    rm_bootstrap_result a = boot_d(d8, 8, 7, 3), b = boot_d(d8, 8, 7, 3);
    cr_assert(a.lo == b.lo && a.hi == b.hi);
    /* n = 0: NaN, no error; bad arguments */
    r = boot_d(d8, 0, 100, 1);
    cr_assert(isnan(r.median) && isnan(r.lo) && isnan(r.hi));
    cr_assert_eq(rm_bootstrap_median_diff(d8, d8, 8, 0, 1, &r), -1);
    const double inf[] = {0.1, INFINITY};
    cr_assert_eq(rm_bootstrap_median_diff(inf, d8, 2, 10, 1, &r), -1);
    cr_assert(strstr(rm_error_message(), "pair 2 is not finite"), "%s", rm_error_message());
}

Test(report_stats, median_even_and_odd)
{
    double a[] = {3, 1, 2};
    cr_assert_float_eq(rm_stat_median_inplace(a, 3), 2.0, 0);
    double b[] = {4, 1, 3, 2};
    cr_assert_float_eq(rm_stat_median_inplace(b, 4), 2.5, 0);
    cr_assert(isnan(rm_stat_median_inplace(b, 0)));
}

Test(report_stats, min_detectable_difference)
{
    /* (1.959963984540054 + 0.8416212335729143) * sd / sqrt(n * 3 / pi) */
    cr_assert_float_eq(rm_min_detectable_diff(6, 0.01), 0.011704221202517044, 1e-15);
    cr_assert_float_eq(rm_min_detectable_diff(10, 0.025), 0.022665126898838126, 1e-15);
    /* by hand for n = 6: 2.8015852181129683 * 0.01 / sqrt(5.729577951308232) */
    cr_assert_float_eq(rm_min_detectable_diff(6, 0.01), 2.8015852181129683 * 0.01 / sqrt(18.0 / M_PI), 1e-15);
    /* n <= 5: 2 / 2^n >= 0.05, the exact test can never reach p < 0.05 */
    for (int n = 1; n <= 5; n++) cr_assert(isnan(rm_min_detectable_diff(n, 0.01)), "n = %d", n);
    cr_assert(isnan(rm_min_detectable_diff(0, 0.01)));
    cr_assert(isnan(rm_min_detectable_diff(8, NAN)), "no spread (one pair) -> not detectable");
    cr_assert_float_eq(rm_min_detectable_diff(8, 0), 0.0, 0, "identical differences: any shift is seen");
}
