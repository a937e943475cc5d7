/* Fake experiment runs (fake_runs.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fake_runs.h"
#include "test_util.h"

void fr_mkdirs(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

void fr_template(const char *dir, rm_model *m)
{
    static const char net[] = "[net]\ninput = 1x16x16\nclasses = 7\n"
                              "[conv]\nfilters = 2\nsize = 3\npad = 1\nactivation = relu\n"
                              "[maxpool]\nsize = 2\n"
                              "[dense]\nunits = 7\n";
    char *out;
    tu_write_text(tu_path(dir, "fake_net.cfg"), net);
    int code = tu_run_cli(&out, "synth -q -n 70 --size 16 --domain target -o %s", tu_path(dir, "fake_data.h5"));
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    code = tu_run_cli(&out, "train -q --data %s --net %s --out %s --epochs 1 --batch 16", tu_path(dir, "fake_data.h5"),
                      tu_path(dir, "fake_net.cfg"), tu_path(dir, "fake_model.h5"));
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    cr_assert_eq(rm_model_load(m, tu_path(dir, "fake_model.h5")), 0, "%s", rm_error_message());
}

void fr_write_run(const char *exp, const char *cond, int seed, double acc, const double *val, int epochs,
                  rm_model *tmpl)
{
    char run[4096];
    snprintf(run, sizeof run, "%s/runs/%s/seed%d", exp, cond, seed);
    fr_mkdirs(run);
    int correct = (int)lround(acc * 1000), c0 = correct / 2, c1 = correct - c0;
    char json[512];
    snprintf(json, sizeof json,
             "{\"accuracy\": %.17g, \"classes\": [\"a\", \"b\"], \"confusion\": [[%d, %d], [%d, %d]]}\n", acc, c0,
             500 - c0, 500 - c1, c1);
    tu_write_text(tu_path(run, "test.json"), json);
    if (!val) return;
    rm_epoch_record hist[64];
    cr_assert(epochs >= 1 && epochs <= 64);
    memset(hist, 0, sizeof hist);
    int best = 0;
    for (int e = 0; e < epochs; e++) {
        hist[e].epoch = e + 1;
        hist[e].val_acc = val[e];
        hist[e].train_acc = val[e];
        hist[e].seconds = 1;
        hist[e].lr = 0.01;
        if (val[e] > val[best]) best = e;
    }
    int saved_n = tmpl->num_epochs, saved_best = tmpl->best_epoch;
    double saved_acc = tmpl->best_val_acc;
    rm_epoch_record *saved = tmpl->history;
    tmpl->num_epochs = epochs;
    tmpl->history = hist;
    tmpl->best_epoch = best + 1;
    tmpl->best_val_acc = val[best];
    int rc = rm_model_save(tmpl, tu_path(run, "model.h5"), 1, "fake_runs");
    tmpl->num_epochs = saved_n;
    tmpl->history = saved;
    tmpl->best_epoch = saved_best;
    tmpl->best_val_acc = saved_acc;
    cr_assert_eq(rc, 0, "%s", rm_error_message());
}
