/* make sweep: the default study in miniature (SWEEP_TINY=1, sweeps/default-tiny.mk)
 * into a scratch directory. Checks every cell ran every condition, that
 * cells share the stages they have in common (one raw baseline per target
 * set and student, not one per cell), that the study compares them, that a
 * rerun trains nothing, and that bad sweep files are refused by name. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "png_check.h"
#include "test_util.h"

static char *dir;

static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 900);

/* Runs `make sweep` with `args` in the repository, with the binary make
 * check built: its build directory, and -o so that make never relinks it
 * while other tests run it; returns the exit code and the output. */
static int run_make(char **output, const char *args)
{
    const char *root = getenv("RELMASK_ROOT"), *bin = getenv("RELMASK_BIN");
    cr_assert(root && bin, "RELMASK_ROOT and RELMASK_BIN are not set (make check sets them)");
    char bin_copy[4096];
    snprintf(bin_copy, sizeof bin_copy, "%s", bin);
    return tu_run_sh(output, "make -s -C '%s' sweep BUILD='%s' -o '%s' SWEEP_DIR='%s' %s", root, dirname(bin_copy), bin,
                     dir, args);
}

/* Entries of `path` whose names start with `prefix`. */
static int count_prefixed(const char *path, const char *prefix)
{
    DIR *d = opendir(path);
    cr_assert(d, "cannot open %s", path);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "missing %s", path);
    int n = 0;
    for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
    fclose(f);
    return n;
}

static int count_substr(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

Test(sweep, tiny_sweep_runs_every_cell_shares_stages_and_reruns_nothing)
{
    char *out;
    int code = run_make(&out, "SWEEP_TINY=1 THREADS=1 JOBS=2");
    cr_assert_eq(code, 0, "make sweep SWEEP_TINY=1 failed:\n%s", out);
    /* sweeps/default-tiny.mk: 2 sizes x 2 keeps crossed, plus one more value of
     * relevance, schedule, source and student around the base cell. */
    cr_assert_eq(count_substr(out, "make sweep: cell "), 8, "%s", out);
    /* Each stage ran once, however many cells share it ("job: done   <target>
     * ..." per stage). */
    for (const char *p = out; (p = strstr(p, "job: done")); p++) {
        const char *t = p + strlen("job: done");
        while (*t == ' ') t++;
        size_t len = strcspn(t, " \n");
        char target[2048];
        snprintf(target, sizeof target, "job: done   %.*s ", (int)len, t);
        cr_assert_eq(count_substr(out, target), 1, "%.*s ran more than once", (int)len, t);
    }
    free(out);
    char cells[4096], store[4096], runs[4200];
    snprintf(cells, sizeof cells, "%s/cells", dir);
    snprintf(store, sizeof store, "%s/stages", dir);
    snprintf(runs, sizeof runs, "%s/runs", store);
    cr_assert_eq(tu_dir_entries(cells), 8);

    const char *conditions[] = {"raw", "finetune", "mean", "mask", "mean-shuffled", "kd", "kd-mean"};
    const char *base = "size-70_keep-0.3_relevance-pred_schedule-masked1_source-style_student-mini";
    const char *others[] = {"size-40_keep-0.6_relevance-pred_schedule-masked1_source-style_student-mini",
                            "size-70_keep-0.3_relevance-true_schedule-masked1_source-style_student-mini",
                            "size-70_keep-0.3_relevance-pred_schedule-decay_source-style_student-mini",
                            "size-70_keep-0.3_relevance-pred_schedule-masked1_source-domain_student-mini",
                            "size-70_keep-0.3_relevance-pred_schedule-masked1_source-style_student-mini-gap", base};
    for (size_t c = 0; c < sizeof others / sizeof others[0]; c++) {
        char cell[8192];
        snprintf(cell, sizeof cell, "%s/%s", cells, others[c]);
        cr_assert_eq(count_lines(tu_path(cell, "conditions.txt")), 7, "%s", cell);
        cr_assert_eq(count_lines(tu_path(cell, "seeds.txt")), 2, "%s", cell);
        cr_assert_eq(count_lines(tu_path(cell, "cell.txt")), 6, "%s", cell);
        for (size_t k = 0; k < sizeof conditions / sizeof conditions[0]; k++)
            for (int s = 1; s <= 2; s++) {
                char run[256];
                snprintf(run, sizeof run, "runs/%s/seed%d/test.json", conditions[k], s);
                cr_assert(tu_file_exists(tu_path(cell, run)), "%s: missing %s", cell, run);
            }
    }

    /* The store: one source model per source setting, one target set per
     * size, one relevance file per (source, target, relevance target), and
     * one raw baseline per (target set, student): 3 for 8 cells. */
    cr_assert_eq(count_prefixed(store, "source-"), 2);
    cr_assert_eq(count_prefixed(store, "target-"), 2);
    cr_assert_eq(count_prefixed(store, "relevance-"), 4);
    cr_assert_eq(count_prefixed(runs, "raw-"), 3);
    cr_assert_eq(count_prefixed(runs, "finetune-"), 3, "finetune depends on the source model and target set only");
    cr_assert_eq(count_prefixed(runs, "kd-"), 4 + 8, "kd: one per (target set, student, source); kd-mean: one per cell");
    cr_assert_eq(count_prefixed(runs, "mask-"), 7, "the mask-only control does not depend on the schedule");
    cr_assert_eq(count_prefixed(runs, "mean-"), 8 + 8, "mean and mean-shuffled: one per cell");

    cr_assert(tu_file_exists(tu_path(dir, "study.md")));
    cr_assert(tu_file_exists(tu_path(dir, "study.csv")));
    const char *figures[] = {"study/accuracy_vs_size.svg", "study/epochs_vs_size.svg", "study/gain_mean.svg",
                             "study/gain_mask.svg", "study/gain_kd.svg"};
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++) {
        cr_assert(tu_file_exists(tu_path(dir, figures[i])), "missing %s", figures[i]);
        pc_assert_png_beside(tu_path(dir, figures[i]));
    }
    /* study.md: one row per cell x condition, the leak of each relevance
     * setting; study.html stands alone with the figures inline. */
    char *md = tu_read_text(tu_path(dir, "study.md"));
    cr_assert_eq(count_substr(md, "\n| size-"), 8 * 7, "%s", md);
    cr_assert(strstr(md, "- **relevance=pred** (7 cells): masks alone "), "%s", md);
    cr_assert(strstr(md, "- **relevance=true** (1 cell): masks alone "), "%s", md);
    free(md);
    char *html = tu_read_text(tu_path(dir, "study.html"));
    cr_assert_eq(count_substr(html, "<svg"), 2 + 6, "two line figures and a gain grid per non-baseline condition");
    cr_assert_null(strstr(html, "src="), "study.html refers to no other file");
    cr_assert(strstr(html, "<h2>The mask-shape leak</h2>"));
    free(html);

    /* A rerun trains and evaluates nothing, and drops a cell folder the
     * sweep file no longer describes (left by an edited axis). */
    char stale[8192];
    snprintf(stale, sizeof stale, "%s/size-999_keep-0.3", cells);
    cr_assert_eq(tu_run_sh(&out, "mkdir -p %s && cp %s/%s/*.txt %s/", stale, cells, base, stale), 0, "%s", out);
    free(out);
    code = run_make(&out, "SWEEP_TINY=1 THREADS=1 JOBS=2");
    cr_assert_eq(code, 0, "%s", out);
    cr_assert_null(strstr(out, "relmask train"), "a rerun trained again:\n%s", out);
    cr_assert_null(strstr(out, "relmask eval"), "a rerun evaluated again:\n%s", out);
    cr_assert(strstr(out, "make sweep: cell size-999_keep-0.3 is no longer in sweeps/default.mk"), "%s", out);
    free(out);
    cr_assert_not(tu_file_exists(stale));
    cr_assert_eq(tu_dir_entries(cells), 8);
    md = tu_read_text(tu_path(dir, "study.md"));
    cr_assert_null(strstr(md, "size-999"), "the study left the stale cell out");
    free(md);
}

Test(sweep, bad_sweep_files_are_refused_by_name)
{
    char *out;
    int code = run_make(&out, "SWEEP=no-such-sweep");
    cr_assert_eq(code, 2, "%s", out);
    cr_assert(strstr(out, "no such sweep file sweeps/no-such-sweep.mk"), "%s", out);
    cr_assert(strstr(out, "(sweeps/ has: default"), "the message lists the sweeps there are:\n%s", out);
    free(out);

    char bad[4096];
    snprintf(bad, sizeof bad, "%s/bad.mk", dir);
    tu_write_text(bad, "SWEEP_CROSS := size\nsize.values := 100 250\nsize.base := 1000\nsize.set = TARGET_TRAIN := $(1)\n");
    char args[8192];
    snprintf(args, sizeof args, "SWEEP='%s'", bad);
    code = run_make(&out, args);
    cr_assert_eq(code, 2, "%s", out);
    cr_assert(strstr(out, "axis size: the base value '1000' is not among its values '100 250'"), "%s", out);
    free(out);

    tu_write_text(bad, "SEEDS := 1\n");
    code = run_make(&out, args);
    cr_assert_eq(code, 2, "%s", out);
    cr_assert(strstr(out, "no axes"), "%s", out);
    free(out);
}
