/* Fake experiment runs for the report and study tests: test.json files with
 * chosen accuracies and model.h5 files with chosen validation histories,
 * written the way `relmask eval --out` and `relmask train` write them. */
#ifndef RELMASK_TESTS_FAKE_RUNS_H
#define RELMASK_TESTS_FAKE_RUNS_H

#include "nn/model_file.h"

/* Trains a one-epoch model on a tiny synthetic set in `dir` and loads it as
 * the template whose parameters every fake model.h5 shares. */
void fr_template(const char *dir, rm_model *m);
/* EXP/runs/COND/seed<SEED>/test.json with "accuracy" = acc (two classes,
 * 1000 test records) and, when val is not NULL, model.h5: the template with
 * the history val[0..epochs-1] (1 second per epoch). */
void fr_write_run(const char *exp, const char *cond, int seed, double acc, const double *val, int epochs,
                  rm_model *tmpl);
/* mkdir -p */
void fr_mkdirs(const char *path);

#endif
