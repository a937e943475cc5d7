/* relmask study on a fake sweep (fake_runs.h): the csv numbers, Holm across
 * every comparison of the study, the findings counted from them, missing
 * runs, and bad inputs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fake_runs.h"
#include "png_check.h"
#include "test_util.h"

static char *sweep;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert(s && fread(s, 1, (size_t)n, f) == (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static void cli(int want, const char *want_text, const char *fmt, const char *a, const char *b)
{
    char *out;
    int code = tu_run_cli(&out, fmt, a, b);
    cr_assert_eq(code, want, "relmask exited %d, expected %d:\n%s", code, want, out);
    if (want_text) cr_assert(strstr(out, want_text), "expected '%s' in:\n%s", want_text, out);
    free(out);
}

/* cells/k03 (keep=0.3, 8 seeds): mean = raw + 2 points, soft = raw - 1
 * point on every seed; cells/k05 (keep=0.5, seeds 1-6 listed): mean = raw +
 * d, d = 1.2, -0.4, 2.0, 0.7, 1.5, 1.0 points, soft = raw - 0.5 point, and
 * soft's seed 6 is missing, so k05 uses seeds 1-5. soft has no model.h5.
 * Expected by hand:
 *   k03 mean, k03 soft: all 8 one way, exact p = 2/256 = 0.0078125
 *   k05 mean (seeds 1-5): W- = 1, p = 2 * 2/32 = 0.125; k05 soft: 2/32 = 0.0625
 *   Holm over the study's 4 comparisons: 4 x 0.0078125 = 0.03125,
 *   3 x 0.0078125 -> 0.03125 (monotone), 2 x 0.0625 = 0.125, 0.125
 *   k05 mean: median 1.2 points, bootstrap interval [-0.4, 2.0] (oracle) */
static const double raw_acc[8] = {0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.53, 0.47};
static const double k05_d[6] = {0.012, -0.004, 0.020, 0.007, 0.015, 0.010};

static void write_cell(const char *name, const char *settings, int nseeds, rm_model *tmpl)
{
    const char *cell = tu_path(tu_path(sweep, "cells"), name);
    char cdir[4096];
    snprintf(cdir, sizeof cdir, "%s", cell);
    fr_mkdirs(cdir);
    tu_write_text(tu_path(cdir, "cell.txt"), settings);
    tu_write_text(tu_path(cdir, "conditions.txt"), "raw\nmean\nsoft\n");
    char seeds[128] = "";
    for (int s = 1; s <= nseeds; s++) snprintf(seeds + strlen(seeds), sizeof seeds - strlen(seeds), "%d\n", s);
    tu_write_text(tu_path(cdir, "seeds.txt"), seeds);
    static const double raw_curve[2] = {0.3, 0.5}, mean_curve[2] = {0.46, 0.55};
    int k05 = !strcmp(name, "k05");
    for (int s = 0; s < nseeds; s++) {
        fr_write_run(cdir, "raw", s + 1, raw_acc[s], raw_curve, 2, tmpl);
        fr_write_run(cdir, "mean", s + 1, raw_acc[s] + (k05 ? k05_d[s] : 0.02), mean_curve, 2, tmpl);
        if (!(k05 && s == 5)) fr_write_run(cdir, "soft", s + 1, raw_acc[s] - (k05 ? 0.005 : 0.01), NULL, 0, tmpl);
    }
}

static void build_sweep(void)
{
    sweep = tu_scratch_dir();
    rm_model tmpl;
    fr_template(sweep, &tmpl);
    write_cell("k03", "keep=0.3\ntarget_train=100\n", 8, &tmpl);
    write_cell("k05", "# comment\nkeep = 0.5\ntarget_train=100\nschedule=epochs:5\n", 6, &tmpl);
    rm_model_free(&tmpl);
}

static void remove_sweep(void) { tu_rmtree(sweep); }

TestSuite(study, .init = build_sweep, .fini = remove_sweep, .timeout = 120);

/* The field `name` of the row whose first two fields are cell,...,condition. */
static const char *row_of(const char *csv, const char *cell, const char *cond)
{
    for (const char *p = strchr(csv, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        const char *r = p + 1;
        size_t n = strlen(cell);
        if (strncmp(r, cell, n) || r[n] != ',') continue;
        /* the condition is the column after the settings: find ",cond," */
        char needle[64];
        snprintf(needle, sizeof needle, ",%s,", cond);
        const char *e = strchr(r, '\n'), *c = strstr(r, needle);
        if (c && (!e || c < e)) return r;
    }
    cr_assert_fail("no row %s/%s in:\n%s", cell, cond, csv);
    return NULL;
}

static double field(const char *csv, const char *cell, const char *cond, const char *name)
{
    int col = 0;
    size_t k = strlen(name);
    const char *p = csv;
    while (strncmp(p, name, k) || (p[k] != ',' && p[k] != '\n')) {
        p = strchr(p, ',');
        cr_assert(p && p < strchr(csv, '\n'), "no column %s", name);
        p++;
        col++;
    }
    const char *r = row_of(csv, cell, cond);
    for (int i = 0; i < col; i++) r = strchr(r, ',') + 1;
    if (*r == ',' || *r == '\n') return NAN;
    return strtod(r, NULL);
}

Test(study, csv_numbers_holm_across_cells_and_findings)
{
    cli(0, "Findings (Holm-adjusted over 4 comparisons", "study --dir %s%s", sweep, "");
    char *csv = read_text(tu_path(sweep, "study.csv"));
    static const char header[] = "cell,keep,target_train,schedule,condition,baseline,n_seeds,seeds,test_acc_pct_mean,";
    cr_assert(!strncmp(csv, header, strlen(header)), "%s", csv);
    cr_assert(strstr(csv, "\nk03,0.3,100,,raw,1,8,1-8,"), "%s", csv);
    cr_assert(strstr(csv, "\nk05,0.5,100,epochs:5,mean,0,5,1-5,"), "seed 6 left out of k05:\n%s", csv);
    /* exact p and Holm (tolerance 1e-12) */
    cr_assert_float_eq(field(csv, "k03", "mean", "test_acc_p"), 0.0078125, 1e-12);
    cr_assert_float_eq(field(csv, "k03", "soft", "test_acc_p"), 0.0078125, 1e-12);
    cr_assert_float_eq(field(csv, "k05", "mean", "test_acc_p"), 0.125, 1e-12);
    cr_assert_float_eq(field(csv, "k05", "soft", "test_acc_p"), 0.0625, 1e-12);
    cr_assert_float_eq(field(csv, "k03", "mean", "test_acc_p_holm"), 0.03125, 1e-12);
    cr_assert_float_eq(field(csv, "k03", "soft", "test_acc_p_holm"), 0.03125, 1e-12);
    cr_assert_float_eq(field(csv, "k05", "mean", "test_acc_p_holm"), 0.125, 1e-12);
    cr_assert_float_eq(field(csv, "k05", "soft", "test_acc_p_holm"), 0.125, 1e-12);
    cr_assert(isnan(field(csv, "k03", "raw", "test_acc_p_holm")));
    /* effect sizes in points (tolerance 1e-9) */
    cr_assert_float_eq(field(csv, "k03", "mean", "test_acc_diff_median_pp"), 2.0, 1e-9);
    cr_assert_float_eq(field(csv, "k03", "mean", "test_acc_diff_ci_lo_pp"), 2.0, 1e-9);
    cr_assert_float_eq(field(csv, "k05", "mean", "test_acc_diff_median_pp"), 1.2, 1e-9);
    cr_assert_float_eq(field(csv, "k05", "mean", "test_acc_diff_ci_lo_pp"), -0.4, 1e-9);
    cr_assert_float_eq(field(csv, "k05", "mean", "test_acc_diff_ci_hi_pp"), 2.0, 1e-9);
    cr_assert(isnan(field(csv, "k05", "mean", "test_acc_min_detectable_pp")), "5 pairs: not detectable");
    cr_assert(field(csv, "k03", "mean", "test_acc_min_detectable_pp") < 1e-9, "8 equal differences: sd 0");
    /* mean and std of test accuracy, epochs to 90% of 50% = 45% */
    cr_assert_float_eq(field(csv, "k03", "raw", "test_acc_pct_mean"), 50.0, 1e-9);
    cr_assert_float_eq(field(csv, "k03", "raw", "test_acc_pct_std"), 2.0, 1e-9, "by hand: sqrt(28e-4 / 7) = 0.02");
    cr_assert_float_eq(field(csv, "k03", "raw", "epochs_to_90_mean"), 2, 0);
    cr_assert_float_eq(field(csv, "k03", "mean", "epochs_to_90_mean"), 1, 0);
    cr_assert(isnan(field(csv, "k03", "soft", "epochs_to_90_mean")), "no model.h5, no curve");

    char *md = read_text(tu_path(sweep, "study.md"));
    static const char *const want[] = {
        "## Findings",
        "- **mean** (in 2 of 2 cells): helped in 1, hurt in 0, indistinguishable in 1. Largest gain: +2.00 points "
        "(median paired difference in test accuracy) in cell `k03` (Holm-adjusted p = 0.03125). No cell with a "
        "negative median difference.",
        "- **soft** (in 2 of 2 cells): helped in 0, hurt in 1, indistinguishable in 1. No cell with a positive median "
        "difference. Largest loss: -1.00 points in cell `k03` (Holm-adjusted p = 0.03125).",
        "all 4 cell x condition comparisons of this study",
        "| k05 | 0.5 | 100 | epochs:5 | mean | 5 |",
        "## Missing runs", "- cell k05: soft seed 6: no test.json (seed left out of the cell)", NULL};
    for (int i = 0; want[i]; i++) cr_assert(strstr(md, want[i]), "expected '%s' in study.md:\n%s", want[i], md);
    cr_assert(!strstr(md, "cannot call any comparison"), "8 pairs can pass Holm over 4:\n%s", md);
    free(csv), free(md);
    /* the two line figures (one numeric axis: keep), each as SVG and PNG */
    cr_assert_eq(pc_assert_png_beside_every_svg(tu_path(sweep, "study")), 2);

    cli(1, "study.md: already exists; use --force", "study --dir %s%s", sweep, "");
    cli(0, NULL, "study -q --dir %s --force%s", sweep, "");
}

/* Only cell k05 (5 seed pairs at most, 2 comparisons): the exact test's
 * smallest p, 2/32 = 0.0625, can never pass Holm's first step, 0.05/2;
 * the findings say so and how many seeds would (2/2^7 < 0.025). */
static void build_small_sweep(void)
{
    sweep = tu_scratch_dir();
    rm_model tmpl;
    fr_template(sweep, &tmpl);
    write_cell("k05", "keep=0.5\n", 6, &tmpl);
    rm_model_free(&tmpl);
}

Test(study, a_design_too_small_for_its_comparisons_says_so, .init = build_small_sweep)
{
    cli(0, "This design cannot call any comparison helped or hurt.** With 5 seed pairs the exact test's smallest p "
           "is 0.0625, and Holm over 2 comparisons needs p < 0.025 for the first",
        "study --dir %s%s", sweep, "");
    char *md = read_text(tu_path(sweep, "study.md"));
    cr_assert(strstr(md, "Such a study needs at least 7 seeds"), "%s", md);
    free(md);
}

Test(study, bad_inputs_have_clear_messages)
{
    char *d = tu_scratch_dir();
    cli(1, "cells: no such directory (expected a sweep", "study --dir %s%s", d, "");
    fr_mkdirs(tu_path(d, "cells"));
    cli(1, "cells: no cell directories", "study --dir %s%s", d, "");
    const char *c = tu_path(tu_path(d, "cells"), "bad");
    char cell[4096];
    snprintf(cell, sizeof cell, "%s", c);
    fr_mkdirs(cell);
    tu_write_text(tu_path(cell, "cell.txt"), "keep=0.3\nkeep0.5\n");
    tu_write_text(tu_path(cell, "conditions.txt"), "raw\nmean\n");
    tu_write_text(tu_path(cell, "seeds.txt"), "1\n2\n");
    cli(1, "cell.txt: line 'keep0.5': expected key=value", "study --dir %s%s", d, "");
    tu_write_text(tu_path(cell, "cell.txt"), "keep=0.3\n");
    tu_write_text(tu_path(cell, "seeds.txt"), "1\none\n");
    cli(1, "seeds.txt: 'one' is not a seed", "study --dir %s%s", d, "");
    tu_write_text(tu_path(cell, "seeds.txt"), "1\n2\n");
    cli(1, "no cell has a complete comparison; missing: cell bad: the baseline raw has no complete run of seeds 1..2 "
           "(seed 1: no test.json and no model.h5; cell left out)",
        "study --dir %s%s", d, "");
    /* the baseline's test.json without model.h5 is named as such */
    char run[4200];
    snprintf(run, sizeof run, "%s/runs/raw/seed1", cell);
    fr_mkdirs(run);
    tu_write_text(tu_path(run, "test.json"), "{}");
    cli(1, "cell bad: the baseline raw has no complete run of seeds 1..2 (seed 1: no model.h5 (the baseline's",
        "study --dir %s%s", d, "");
    cr_assert(!tu_file_exists(tu_path(d, "study.md")) && !tu_file_exists(tu_path(d, "study.csv")));
    cli(2, "--dir", "study%s%s", "", "");
    tu_rmtree(d);
}
