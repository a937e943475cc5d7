/* relmask report: the experiment's results as markdown, HTML, CSV, SVG
 * plots and PNG montages (docs/report.md). The building blocks are public
 * so the tests can check each one: statistics (src/report/stats.c),
 * learning-curve metrics (curves.c), the SVG plot writer (plot_svg.c) and
 * image montages (montage.c). */
#ifndef RELMASK_REPORT_H
#define RELMASK_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "report/canvas.h"

/* --- statistics (stats.c) ---------------------------------------------------- */

/* Arithmetic mean; NaN for n = 0. */
double rm_stat_mean(const double *x, int n);
/* Sample standard deviation (divisor n - 1); NaN for n < 2. */
double rm_stat_std(const double *x, int n);
double rm_stat_min(const double *x, int n);
double rm_stat_max(const double *x, int n);

/* Largest n for which the exact distribution is enumerated. */
#define RM_WILCOXON_EXACT_MAX 20

typedef enum {
    RM_WILCOXON_NONE,     /* no nonzero difference: no test (p is NaN) */
    RM_WILCOXON_EXACT,    /* all 2^n sign assignments enumerated */
    RM_WILCOXON_NORMAL,   /* normal approximation with tie correction */
} rm_wilcoxon_method;

typedef struct {
    int n;                /* pairs with a nonzero difference (zeros dropped) */
    int zeros;            /* pairs dropped because the difference was 0 */
    int tie_groups;       /* groups of equal |d| with more than one member */
    double w_plus, w_minus;   /* rank sums of the positive / negative differences */
    double statistic;     /* min(w_plus, w_minus), scipy's two-sided statistic */
    double z;             /* normal approximation only, else NaN */
    double p;             /* two-sided p-value; NaN when method is NONE */
    rm_wilcoxon_method method;
} rm_wilcoxon_result;

/* Paired Wilcoxon signed-rank test of x against y (d = x - y), two-sided.
 * Zero differences are dropped (scipy's zero_method="wilcox"); tied |d|
 * get the average of their ranks. For 1 <= n <= RM_WILCOXON_EXACT_MAX the
 * p-value is exact: the share of the 2^n sign assignments of the (tied)
 * ranks whose W+ lies at least as far from n(n+1)/4 as the observed one
 * (= 2 min(P(W+ <= w), P(W+ >= w)), at most 1). Beyond, the normal
 * approximation z = (min(W+, W-) - n(n+1)/4) / sigma, sigma^2 =
 * n(n+1)(2n+1)/24 - sum(t^3 - t)/48 over tie groups of size t, without
 * continuity correction (scipy's default), p = erfc(|z| / sqrt 2).
 * Differences within 1e-12 * max(|x|,|y|) count as equal (as zeros and as
 * ties), so 0.6 - 0.5 and 0.7 - 0.6 tie despite rounding. Returns 0, or
 * -1 on a bad argument (n < 0, n > 1e6, non-finite input). */
int rm_wilcoxon_signed_rank(const double *x, const double *y, int n, rm_wilcoxon_result *out);
/* The smallest two-sided p the exact test can give with n nonzero pairs:
 * 2 / 2^n (1 for n = 1, 0.0625 for n = 5). */
double rm_wilcoxon_min_p(int n);

/* Holm-Bonferroni step-down adjustment of a family of m p-values: with the
 * finite p sorted ascending, p_(1) <= ... <= p_(m), the adjusted value of
 * p_(i) is max over j <= i of min(1, (m - j + 1) p_(j)) (monotone in p,
 * capped at 1; equal p get equal adjusted p). NaN entries (no test) are not
 * members of the family and stay NaN; m counts the finite ones. Writes
 * adjusted[0..n-1] (may alias p). Returns 0, or -1 for n < 0, a p outside
 * [0, 1], or no memory. */
int rm_holm_adjust(const double *p, int n, double *adjusted);

/* Median of x[0..n-1] (the mean of the two middle values for even n); NaN
 * for n = 0. Sorts x in place. */
double rm_stat_median_inplace(double *x, int n);

/* The default number of bootstrap resamples and the fixed seed. */
#define RM_BOOTSTRAP_RESAMPLES 10000
#define RM_BOOTSTRAP_SEED 20240601u

typedef struct {
    int n;                /* pairs */
    double median;        /* median of d = x - y; NaN for n = 0 */
    double lo, hi;        /* percentile 95% interval of the resampled medians; NaN for n = 0 */
    int resamples;
    uint64_t seed;
} rm_bootstrap_result;

/* The median paired difference d_i = x_i - y_i with a percentile bootstrap
 * 95% interval: `resamples` times, n indices are drawn uniformly with
 * replacement (index = splitmix64() % n, splitmix64 seeded with `seed`, one
 * stream for all resamples in order), and the median of the drawn d is
 * kept; lo / hi are the 2.5% / 97.5% quantiles of those medians with
 * linear interpolation (numpy's default: position q (B - 1) in the sorted
 * medians). Deterministic for a given seed. Returns 0, or -1 for n < 0,
 * resamples < 1, non-finite input, or no memory. */
int rm_bootstrap_median_diff(const double *x, const double *y, int n, int resamples, uint64_t seed,
                             rm_bootstrap_result *out);

/* The smallest true mean paired difference that n seed pairs with paired
 * differences of sample standard deviation sd detect with the exact
 * two-sided Wilcoxon signed-rank test at alpha = 0.05 with 80% power:
 *   delta = (z_0.975 + z_0.80) * sd / sqrt(n * 3 / pi)
 * (the normal approximation of the paired t test, n reduced by the
 * Wilcoxon's asymptotic relative efficiency 3/pi against it; z_0.975 =
 * 1.959963984540054, z_0.80 = 0.8416212335729143). NaN ("not detectable")
 * when the exact test can never reach p < 0.05 with n pairs
 * (rm_wilcoxon_min_p(n) >= 0.05, i.e. n <= 5) or sd is not finite. */
double rm_min_detectable_diff(int n, double sd);
#define RM_MDD_ALPHA 0.05
#define RM_MDD_POWER 0.80

/* --- learning curves (curves.c) -------------------------------------------- */

/* Metrics of one training run's history. Accuracies are fractions 0..1. */
typedef struct {
    int epochs;                   /* history length E */
    double final_val;             /* val accuracy of the last epoch */
    double best_val;              /* highest val accuracy of any epoch */
    double aulc;                  /* mean val accuracy over the E epochs */
    double total_seconds;         /* sum of the epochs' seconds */
    int epochs_to[2];             /* first epoch (1-based) with val >= threshold[i]; 0: not reached */
    double seconds_to[2];         /* cumulative seconds through that epoch; NaN: not reached */
} rm_curve_metrics;

/* Computes the metrics of val[0..E-1] (accuracy after each epoch) and
 * seconds[0..E-1] (each epoch's wall time) for two thresholds (fractions,
 * e.g. 0.9 and 0.95 of the baseline's final accuracy). E must be >= 1. */
int rm_curve_compute(const double *val, const double *seconds, int epochs, const double thresholds[2],
                     rm_curve_metrics *out);

/* --- plots as SVG and PNG (plot_svg.c, plot_grid.c, canvas*.c) --------------- */

/* Layout of every plot: the plot area is the rectangle
 *   [RM_PLOT_MARGIN_LEFT, width - RM_PLOT_MARGIN_RIGHT] x
 *   [RM_PLOT_MARGIN_TOP, height - RM_PLOT_MARGIN_BOTTOM]
 * with the axis minimum at the left / bottom edge; the legend sits in the
 * right margin. */
#define RM_PLOT_MARGIN_LEFT 78
#define RM_PLOT_MARGIN_RIGHT 190
#define RM_PLOT_MARGIN_TOP 46
#define RM_PLOT_MARGIN_BOTTOM 62

/* One line: the mean y[i] at x[i], and, where lo and hi are given, a shaded
 * band from lo[i] to hi[i]. Non-finite points break the line. */
typedef struct {
    const char *label;
    int n;
    const double *x, *y, *lo, *hi;
    int color;                    /* palette index (rm_plot_color) */
} rm_plot_series;

/* A horizontal reference line across the plot area, grey, named in the
 * legend; style 0 solid, 1 dashed, 2 dotted. */
typedef struct {
    double y;
    const char *label;
    int style;
} rm_plot_hline;

/* One bar: its height and an error bar from lo to hi (NaN: none), and
 * optional individual points (e.g. one per seed) drawn over it. */
typedef struct {
    const char *label;
    double value, lo, hi;
    int npoints;
    const double *points;
    int color;                    /* palette index (rm_plot_color) */
} rm_plot_bar;

typedef struct {
    int width, height;            /* pixels; 0 -> 800 x 500 */
    const char *title, *xlabel, *ylabel;
    /* Axis ranges; when min >= max the range is chosen from the data and
     * widened to "nice" tick values (1, 2, 2.5 or 5 times a power of 10). */
    double xmin, xmax, ymin, ymax;
    int integer_x;                /* x ticks on integers only (epochs) */
    double clamp_ymin, clamp_ymax;/* automatic y ranges stay inside these when clamp_ymin < clamp_ymax */
} rm_plot_spec;

/* The mapping from data to pixels of a finished layout. */
typedef struct {
    double left, right, top, bottom;      /* plot area in pixels */
    double xmin, xmax, ymin, ymax;        /* data range shown */
    double xstep, ystep;                  /* tick spacing */
} rm_plot_frame;

double rm_plot_px(const rm_plot_frame *f, double x);
double rm_plot_py(const rm_plot_frame *f, double y);
/* A tick spacing of 1, 2, 2.5 or 5 times a power of ten giving at most
 * `max_ticks` intervals over `span`. */
double rm_plot_nice_step(double span, int max_ticks);

/* Writes a complete SVG document; `frame` (may be NULL) receives the
 * mapping used. Colours come from a fixed 10-colour palette (Tableau 10);
 * lines of colour index 10 and up are also dashed, so that up to 30 stay
 * distinct. */
int rm_svg_line_plot(FILE *f, const rm_plot_spec *spec, const rm_plot_series *series, int nseries,
                     const rm_plot_hline *hlines, int nhlines, rm_plot_frame *frame);
int rm_svg_bar_chart(FILE *f, const rm_plot_spec *spec, const rm_plot_bar *bars, int nbars,
                     const rm_plot_hline *hlines, int nhlines, rm_plot_frame *frame);
/* The same plots drawn on any canvas (report/canvas.h): SVG or PNG raster.
 * The canvas's begin and end are called here. */
int rm_plot_line(rm_canvas *c, const rm_plot_spec *spec, const rm_plot_series *series, int nseries,
                 const rm_plot_hline *hlines, int nhlines, rm_plot_frame *frame);
int rm_plot_bars(rm_canvas *c, const rm_plot_spec *spec, const rm_plot_bar *bars, int nbars,
                 const rm_plot_hline *hlines, int nhlines, rm_plot_frame *frame);
/* The palette colour of series i ("#4e79a7", ...). */
const char *rm_plot_color(int i);
/* Writes s with &, <, >, " and ' escaped for XML/HTML. */
void rm_xml_escape(FILE *f, const char *s);

/* A grid of coloured cells (plot_grid.c): rows x cols values, row-major,
 * on a diverging blue-white-red scale centred on 0 and saturated at
 * +-vmax (vmax <= 0: the largest |value|); NaN cells grey. Each cell shows
 * cell_text[i] (NULL: the value as "%+.1f", or "n/a"). */
typedef struct {
    const char *title, *xlabel, *ylabel;
    int rows, cols;
    const char *const *row_labels, *const *col_labels;
    const double *values;
    const char *const *cell_text;
    double vmax;
} rm_plot_grid;
int rm_svg_grid(FILE *f, const rm_plot_grid *g);
int rm_plot_grid_draw(rm_canvas *c, const rm_plot_grid *g);
/* The diverging colour of t in [-1, 1] ("#ffffff" at 0; grey for NaN). */
void rm_plot_diverging(double t, char out[8]);

/* --- image montages (montage.c) ---------------------------------------------- */

/* A grid of rows x cols tiles, each tile_w x tile_h pixels, separated by
 * `gap` pixels of `background`; 1 (gray) or 3 (RGB) channels. */
typedef struct {
    int rows, cols, tile_w, tile_h, gap, channels;
    int width, height;
    uint8_t *pixels;              /* planar [channels][height][width] */
} rm_montage;

int rm_montage_init(rm_montage *m, int rows, int cols, int tile_w, int tile_h, int gap, int channels,
                    uint8_t background);
/* Draws a planar image [channels][h][w] (1 or 3 channels; gray is
 * replicated into RGB montages) into tile (row, col), scaled to the tile
 * by nearest neighbour: tile pixel (tx, ty) shows source pixel
 * (floor(tx * w / tile_w), floor(ty * h / tile_h)). */
int rm_montage_put(rm_montage *m, int row, int col, const uint8_t *image, int channels, int h, int w);
/* Writes the montage as an 8-bit PNG (atomically). */
int rm_montage_save_png(const rm_montage *m, const char *path);
void rm_montage_free(rm_montage *m);

/* --- the report (report.c) ---------------------------------------------------- */

typedef struct {
    const char *dir;              /* experiment directory */
    const char *out;              /* report.md path (NULL: DIR/report.md) */
    const char *title;            /* NULL: "relmask experiment report: DIR" */
    const char *baseline;         /* NULL: "raw" */
    const char *const *conditions;/* NULL: every DIR/runs/<name>/ */
    int nconditions;
    const int *seeds;             /* NULL: every seed<k> directory of each condition */
    int nseeds;
    int force;                    /* replace existing report files */
    FILE *echo;                   /* if set, the results table is printed here too */
} rm_report_config;

/* Everything NULL / 0: DIR still to set. */
void rm_report_config_defaults(rm_report_config *cfg);
/* The stage: reads the experiment directory, computes every metric and
 * test, and writes <stem>.md and <stem>.html (stem: the out path without
 * ".md") and, in the folder <stem>/, results.csv and the figures. Returns 0
 * or -1 with an error. */
int rm_report(const rm_report_config *cfg);

#endif
