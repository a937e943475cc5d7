/* The study's tables, shared by study.c (reading, statistics, md/csv) and
 * study_figures.c (SVG figures, study.html). */
#ifndef RELMASK_STUDY_INTERNAL_H
#define RELMASK_STUDY_INTERNAL_H

#include <stdio.h>

#include "report/study.h"

#define STUDY_ALPHA 0.05

typedef struct {
    char *name;
    int nkv;
    char **keys, **values;
} study_cell;

typedef struct {
    int cell;
    char *condition;
    int baseline;
    int nseeds, pairs;
    char seeds[256];
    double mean, std, med, lo, hi, p, holm, mdd, ep90;
    int reached, curves;
    int num_classes;           /* of the cell's data (chance = 1/K) */
    int direction;             /* +1 W+ > W-, -1 W+ < W-, 0 equal or no test */
} study_row;

typedef struct {
    const rm_study_config *opt;
    char *dir, *baseline;
    int ncells;
    study_cell *cells;
    int nrows;
    study_row *rows;
    int nkeys;
    char **keys;               /* every setting key, in order of first appearance */
    int nmissing;
    char **missing;            /* one line per missing run or unusable cell */
} study_ctx;

/* One figure of the study: its file below SWEEP_DIR, a title and a
 * caption, and the SVG text (for study.html). */
typedef struct {
    char *file, *title, *caption, *svg;
} study_figure;

/* The value of `key` in a cell, or NULL. */
const char *study_cell_value(const study_cell *cell, const char *key);
/* The figures: accuracy and epochs to 90% against the first numeric axis
 * with at least 2 values ("size" first), one line per condition, and for
 * each condition a grid of its gain over the baseline across two numeric
 * axes ("size" x "keep" first). Writes the SVG files in SWEEP_DIR/study/; *figs is
 * malloc'd (study_figures_free). */
int study_figures(const study_ctx *ctx, study_figure **figs, int *nfigs);
void study_figures_free(study_figure *figs, int nfigs);
/* study.html: self-contained (figures inline), readable on a phone. */
int study_write_html(FILE *f, const study_ctx *ctx, int family, const study_figure *figs, int nfigs);
/* The findings, one markdown list item per condition. */
void study_write_findings(FILE *f, const study_ctx *ctx);
/* The mask-shape leak, one markdown list item per relevance setting: the
 * mask-only control ("mask") against chance and the baseline, and the
 * gains of "mean" and "mean-shuffled" side by side. Nothing when the study
 * has no "mask" condition. */
void study_write_leak(FILE *f, const study_ctx *ctx);
/* "0.0312", "n/a" */
const char *study_fmt_p(char *buf, size_t n, double p);

#endif
