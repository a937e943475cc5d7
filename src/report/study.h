/* relmask study: the statistics of a sweep of experiments ("cells") in one
 * table, with the Holm adjustment across every comparison of the study
 * (docs/report.md, "relmask study"). */
#ifndef RELMASK_STUDY_H
#define RELMASK_STUDY_H

#include <stdio.h>

typedef struct {
    const char *dir;              /* SWEEP_DIR, holding cells/<cell>/ */
    const char *baseline;         /* NULL: "raw" */
    int force;                    /* replace study.csv / study.md */
    FILE *echo;                   /* if set, the findings are printed here */
} rm_study_config;

/* Reads every SWEEP_DIR/cells/<cell>/ (cell.txt, conditions.txt, seeds.txt,
 * runs/<condition>/seed<k>/{test.json,model.h5}) and writes
 * SWEEP_DIR/study.csv and SWEEP_DIR/study.md (temporary file + rename).
 * Runs that are missing are listed in study.md and left out; it fails only
 * when no cell has a complete comparison, naming what is missing. Returns 0
 * or -1 with an error. */
int rm_study(const rm_study_config *cfg);

#endif
