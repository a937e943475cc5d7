/* The report's internal state, shared by its files:
 *   experiment.c  finds and reads the runs of an experiment directory
 *   summary.c     per-condition metrics, mean/std, Wilcoxon tests, findings
 *   figures.c     learning-curve and bar-chart SVGs, encoded-sample montages
 *   heatmaps.c    the heatmap montages (rm_heatmap_montage, per class)
 *   sysinfo.c     versions, machine, parameters for reproducibility
 *   report_sections.c   the sections of report.md and report.html, once
 *   report_md.c, report_html.c   their renderers (report_render.h)
 *   results_csv.c the results table as CSV
 *   report.c      rm_report: the order of the steps above */
#ifndef RELMASK_REPORT_INTERNAL_H
#define RELMASK_REPORT_INTERNAL_H

#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "report/report.h"

/* One trained student: DIR/runs/<condition>/seed<k>/. */
typedef struct {
    int seed;
    char *dir;
    int has_curve;              /* model.h5 present with a history */
    int epochs;
    double *val, *seconds;      /* [epochs]: val accuracy (fraction), epoch wall time */
    rm_curve_metrics curve;     /* valid when has_curve */
    double test_acc;            /* test.json "accuracy" */
    int64_t *confusion;         /* [k*k] from test.json */
    char *test_data;            /* test.json "data": the file tested on, or NULL */
} report_run;

typedef struct {
    double mean, std, min, max;
    int n;
} report_stat;

typedef struct {
    report_stat final_val, best_val, aulc, test, epochs_to[2], seconds_to[2], total_seconds;
    int curve_runs;             /* runs with a learning curve */
    int reached[2];             /* runs reaching each threshold */
    int pairs_test, pairs_aulc; /* seeds paired with the baseline */
    rm_wilcoxon_result w_test, w_aulc;
    /* Holm-adjusted p over the report's family: test accuracy and AULC of
     * every non-baseline condition against the baseline (NaN: no test) */
    double holm_test, holm_aulc;
    rm_bootstrap_result boot_test;  /* median paired test-accuracy difference (fraction) and its CI */
    double sd_diff_test;            /* sample std of the paired test-accuracy differences */
    double mdd_test;                /* smallest detectable difference (fraction); NaN: not detectable */
    int holm_family;                /* size of that family */
} report_summary;

typedef struct {
    char *name;
    int nruns;
    report_run *runs;
    int64_t *confusion;         /* [k*k] summed over seeds */
    const char *other_test_data; /* a run's test file when it is not target.h5, else NULL */
    report_summary s;
    /* mean curve over seeds, in percent: x = epoch, band = min..max */
    int curve_len;
    double *cx, *ct, *cy, *clo, *chi;   /* [curve_len]; ct: mean cumulative seconds */
} report_condition;

typedef struct {
    char *path;                 /* relative to the report, e.g. "report/learning_curves.svg" */
    char *caption;
} report_figure;

typedef struct {
    char *name;
    char *text;                 /* plain text, no markup */
} report_note;

typedef struct {
    char *cpu, *os, *memory, *dnnl, *hdf5, *tool, *date;
    long cores;
    int nparams;
    char **param_names, **param_texts;
    char *relevance_method, *relevance_parameters;   /* from relevance.h5, or NULL */
} report_sysinfo;

typedef struct {
    const rm_report_config *opt;
    char *dir, *title, *baseline_name;
    char *md_path, *html_path, *csv_path;   /* outputs */
    char *assets_dir, *assets_rel;          /* "<stem>/" on disk and as referenced */
    char *html_rel, *csv_rel;               /* the sibling documents as referenced */
    int ncond;
    report_condition *cond;
    int baseline;                           /* index into cond */
    int num_classes;
    char **classes;
    char *classes_source;                   /* the test.json the classes came from */
    double baseline_final;                  /* fraction */
    double thresholds[2];                   /* fractions: 0.9 and 0.95 of baseline_final */
    /* source model */
    int has_source_eval;
    double source_test_acc;
    int source_imported;         /* source_model.h5 has no history: trained elsewhere */
    int source_eval_on_target;   /* source_model_eval.json is on target.h5 (SOURCE_MODEL=) */
    int has_source_history;
    double source_seconds;
    double total_seconds;                   /* every run's history + the source model's */
    int total_runs;
    rm_json *relevance_eval;                /* NULL when absent */
    /* figures and notes */
    int ncurves, nmontages, nheatmaps;
    report_figure curves[4], *montages, *heatmaps;
    int nmontage_notes;
    report_note *montage_notes;
    char *heatmap_note;                     /* why heatmaps are missing, or NULL */
    int nfindings;
    report_note *findings;                  /* one per non-baseline condition */
    report_sysinfo sys;
} report_ctx;

static const double report_threshold_share[2] = {0.90, 0.95};

/* The mask-only control ("mask": trained and tested on binary masks): it
 * measures how much the mask shape tells about the label, so it is reported
 * as a leak, not ranked against the baseline or counted in the Holm family. */
static inline int report_is_control(const char *condition) { return condition && !strcmp(condition, "mask"); }
/* (control accuracy - chance) / (1 - chance), chance = 1/K: 0 at chance, 1
 * when the masks give every label away */
static inline double report_leak(double accuracy, int num_classes)
{
    return num_classes > 1 ? (accuracy - 1.0 / num_classes) / (1 - 1.0 / num_classes) : NAN;
}

/* experiment.c */
int report_load(report_ctx *ctx);
/* summary.c */
int report_analyze(report_ctx *ctx);
int report_findings(report_ctx *ctx);
/* figures.c */
int report_figures(report_ctx *ctx);
int report_montages(report_ctx *ctx);
/* heatmaps.c: 0 figures added, 1 not available (*why set, malloc'd), -1 error */
int report_heatmaps(report_ctx *ctx, char **why);
/* sysinfo.c */
int report_sysinfo_collect(report_ctx *ctx);
/* the documents, written to an open stream */
int report_write_md(FILE *f, const report_ctx *ctx);
int report_write_html(FILE *f, const report_ctx *ctx);
int report_write_csv(FILE *f, const report_ctx *ctx);
/* teardown */
void report_ctx_free(report_ctx *ctx);

/* format.c: shared number formatting ("n/a" for NaN) into buf */
const char *report_fmt_pct(char *buf, size_t n, const report_stat *s);      /* "61.23 ± 1.05" (fractions x100) */
const char *report_fmt_num(char *buf, size_t n, const report_stat *s, int decimals);
const char *report_fmt_p(char *buf, size_t n, const rm_wilcoxon_result *w);  /* "0.0625", "n/a" */
/* "+1.20 [-0.40, +2.00]": a bootstrap median difference and CI in percentage points */
const char *report_fmt_diff_ci(char *buf, size_t n, const rm_bootstrap_result *b);
/* the smallest detectable difference in percentage points, "not detectable (5 pairs)" or "n/a" */
const char *report_fmt_mdd(char *buf, size_t n, int pairs, double mdd);
const char *report_fmt_reach(char *buf, size_t n, const report_stat *s, int reached, int runs, int decimals);
const char *report_fmt_duration(char *buf, size_t n, double seconds);      /* "1 h 02 min 05 s" */
/* The rows of the results table and the per-seed table, as text cells. */
enum { REPORT_CELL = 96, REPORT_RESULT_COLS = 15, REPORT_SEED_COLS = 10 };
extern const char *const report_result_headers[REPORT_RESULT_COLS];
void report_result_cells(const report_ctx *ctx, int c, char cells[REPORT_RESULT_COLS][REPORT_CELL]);
extern const char *const report_seed_headers[REPORT_SEED_COLS];
void report_seed_cells(const report_ctx *ctx, int c, int r, char cells[REPORT_SEED_COLS][REPORT_CELL]);
/* The seeds of a condition: "1-5", "1, 3, 4". */
const char *report_fmt_seeds(char *buf, size_t n, const report_condition *c);
/* Allocating printf; NULL (with an error) when out of memory. */
char *report_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
