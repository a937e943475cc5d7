/* Summary statistics and the paired Wilcoxon signed-rank test. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "report/report.h"

double rm_stat_mean(const double *x, int n)
{
    if (n <= 0) return NAN;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

double rm_stat_std(const double *x, int n)
{
    if (n < 2) return NAN;
    double m = rm_stat_mean(x, n), ss = 0;
    for (int i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
    return sqrt(ss / (n - 1));
}

double rm_stat_min(const double *x, int n)
{
    if (n <= 0) return NAN;
    double v = x[0];
    for (int i = 1; i < n; i++) v = x[i] < v ? x[i] : v;
    return v;
}

double rm_stat_max(const double *x, int n)
{
    if (n <= 0) return NAN;
    double v = x[0];
    for (int i = 1; i < n; i++) v = x[i] > v ? x[i] : v;
    return v;
}

double rm_wilcoxon_min_p(int n)
{
    if (n < 1) return NAN;
    double p = 2.0 * ldexp(1.0, -n);
    return p > 1 ? 1 : p;
}

typedef struct {
    double abs;
    int positive;
} signed_diff;

static int by_abs(const void *a, const void *b)
{
    double x = ((const signed_diff *)a)->abs, y = ((const signed_diff *)b)->abs;
    return (x > y) - (x < y);
}

/* Counts the sign assignments of the doubled ranks r2[0..n-1] whose doubled
 * W+ is <= w2 and >= w2, visiting all 2^n of them in Gray-code order (one
 * sign flips per step, so each step costs O(1)). */
static void enumerate_signs(const int64_t *r2, int n, int64_t w2, uint64_t *le, uint64_t *ge)
{
    uint64_t total = (uint64_t)1 << n, c_le = 0, c_ge = 0;
    int64_t sum = 0;             /* the empty set: every sign negative */
    for (uint64_t k = 0; k < total; k++) {
        if (k) {
            int bit = __builtin_ctzll(k);        /* Gray code k ^ (k >> 1) flips this bit */
            uint64_t gray = k ^ (k >> 1);
            sum += (gray >> bit) & 1 ? r2[bit] : -r2[bit];
        }
        c_le += sum <= w2;
        c_ge += sum >= w2;
    }
    *le = c_le;
    *ge = c_ge;
}

int rm_wilcoxon_signed_rank(const double *x, const double *y, int n, rm_wilcoxon_result *out)
{
    memset(out, 0, sizeof *out);
    out->z = out->p = out->statistic = NAN;
    if (n < 0 || n > 1000000) return rm_error("Wilcoxon test: %d pairs is out of range", n);
    double scale = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) return rm_error("Wilcoxon test: pair %d is not finite", i + 1);
        scale = fmax(scale, fmax(fabs(x[i]), fabs(y[i])));
    }
    double tol = 1e-12 * scale;
    signed_diff *d = rm_malloc(sizeof *d * (size_t)(n ? n : 1), "Wilcoxon differences");
    int64_t *r2 = rm_malloc(sizeof *r2 * (size_t)(n ? n : 1), "Wilcoxon ranks");
    if (!d || !r2) {
        free(d), free(r2);
        return -1;
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        double diff = x[i] - y[i];
        if (fabs(diff) <= tol) {
            out->zeros++;
            continue;
        }
        d[m].abs = fabs(diff);
        d[m].positive = diff > 0;
        m++;
    }
    out->n = m;
    out->w_plus = out->w_minus = 0;
    if (m == 0) {
        out->method = RM_WILCOXON_NONE;
        out->statistic = 0;
        free(d), free(r2);
        return 0;
    }
    qsort(d, (size_t)m, sizeof *d, by_abs);
    /* average ranks; ranks are 1-based, doubled so ties stay integers */
    double tie_sum = 0;       /* sum of t^3 - t */
    int64_t w2_plus = 0;
    for (int i = 0; i < m;) {
        int j = i + 1;
        while (j < m && d[j].abs - d[i].abs <= tol) j++;
        int64_t t = j - i, doubled = (int64_t)i + 1 + j;   /* 2 * average of ranks i+1..j */
        if (t > 1) out->tie_groups++;
        tie_sum += (double)(t * t * t - t);
        for (int k = i; k < j; k++) {
            r2[k] = doubled;
            if (d[k].positive) w2_plus += doubled;
        }
        i = j;
    }
    int64_t w2_total = (int64_t)m * (m + 1);
    out->w_plus = w2_plus / 2.0;
    out->w_minus = (w2_total - w2_plus) / 2.0;
    out->statistic = fmin(out->w_plus, out->w_minus);
    if (m <= RM_WILCOXON_EXACT_MAX) {
        uint64_t le, ge;
        enumerate_signs(r2, m, w2_plus, &le, &ge);
        double p = 2.0 * (double)(le < ge ? le : ge) / (double)((uint64_t)1 << m);
        out->p = p > 1 ? 1 : p;
        out->method = RM_WILCOXON_EXACT;
    } else {
        double mean = m * (m + 1) / 4.0;
        double var = m * (m + 1.0) * (2.0 * m + 1) / 24.0 - tie_sum / 48.0;
        out->z = (out->statistic - mean) / sqrt(var);
        out->p = erfc(fabs(out->z) / sqrt(2.0));
        if (out->p > 1) out->p = 1;
        out->method = RM_WILCOXON_NORMAL;
    }
    free(d), free(r2);
    return 0;
}

/* --- multiple comparisons, bootstrap, detectable difference ----------------- */

typedef struct {
    double p;
    int index;
} indexed_p;

static int by_p(const void *a, const void *b)
{
    const indexed_p *x = a, *y = b;
    if (x->p != y->p) return (x->p > y->p) - (x->p < y->p);
    return (x->index > y->index) - (x->index < y->index);
}

int rm_holm_adjust(const double *p, int n, double *adjusted)
{
    if (n < 0) return rm_error("Holm adjustment: %d p-values is out of range", n);
    for (int i = 0; i < n; i++)
        if (!isnan(p[i]) && !(p[i] >= 0 && p[i] <= 1))
            return rm_error("Holm adjustment: p-value %d is %g, expected a value in [0, 1]", i + 1, p[i]);
    indexed_p *s = rm_malloc(sizeof *s * (size_t)(n ? n : 1), "Holm adjustment");
    if (!s) return -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(p[i])) s[m].p = p[i], s[m].index = i, m++;
    qsort(s, (size_t)m, sizeof *s, by_p);
    for (int i = 0; i < n; i++)
        if (isnan(p[i])) adjusted[i] = NAN;
    double running = 0;
    for (int j = 0; j < m; j++) {
        double a = (double)(m - j) * s[j].p;
        if (a > 1) a = 1;
        if (a > running) running = a;
        adjusted[s[j].index] = running;
    }
    free(s);
    return 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rm_stat_median_inplace(double *x, int n)
{
    if (n <= 0) return NAN;
    qsort(x, (size_t)n, sizeof *x, by_value);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* numpy's default ("linear") quantile of sorted v[0..n-1]. */
static double quantile_sorted(const double *v, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1) return v[n - 1];
    double frac = pos - lo;
    return v[lo] + frac * (v[lo + 1] - v[lo]);
}

int rm_bootstrap_median_diff(const double *x, const double *y, int n, int resamples, uint64_t seed,
                             rm_bootstrap_result *out)
{
    memset(out, 0, sizeof *out);
    out->median = out->lo = out->hi = NAN;
    out->n = n;
    out->resamples = resamples;
    out->seed = seed;
    if (n < 0 || n > 1000000) return rm_error("bootstrap: %d pairs is out of range", n);
    if (resamples < 1 || resamples > 10000000) return rm_error("bootstrap: %d resamples is out of range", resamples);
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i])) return rm_error("bootstrap: pair %d is not finite", i + 1);
    if (n == 0) return 0;
    /* one block: the differences, one resample, the resampled medians */
    double *d = rm_malloc(sizeof *d * ((size_t)2 * n + (size_t)resamples), "bootstrap");
    if (!d) return -1;
    double *draw = d + n, *medians = draw + n;
    for (int i = 0; i < n; i++) d[i] = x[i] - y[i];
    uint64_t state = seed;
    for (int b = 0; b < resamples; b++) {
        for (int i = 0; i < n; i++) draw[i] = d[splitmix64(&state) % (uint64_t)n];
        medians[b] = rm_stat_median_inplace(draw, n);
    }
    qsort(medians, (size_t)resamples, sizeof *medians, by_value);
    out->lo = quantile_sorted(medians, resamples, 0.025);
    out->hi = quantile_sorted(medians, resamples, 0.975);
    out->median = rm_stat_median_inplace(d, n);
    free(d);
    return 0;
}

double rm_min_detectable_diff(int n, double sd)
{
    const double z_alpha = 1.959963984540054;   /* Phi^-1(1 - 0.05 / 2) */
    const double z_power = 0.8416212335729143;  /* Phi^-1(0.80) */
    if (n < 1 || !(rm_wilcoxon_min_p(n) < RM_MDD_ALPHA) || !isfinite(sd) || sd < 0) return NAN;
    return (z_alpha + z_power) * sd / sqrt(n * 3.0 / M_PI);
}
