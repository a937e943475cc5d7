/* The miniature experiment: the real `make experiment` chain (synth, source
 * model, relevance, relevance-eval, encodings, students, fine-tuning,
 * fusion, report) at tiny sizes and one epoch, into a scratch directory.
 * Checks the report is complete, that a rerun does nothing, that a
 * changed parameter reruns exactly what depends on it, and that JOBS=2
 * (concurrent, pinned stages) gives the same models as JOBS=1. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/model_file.h"
#include "test_util.h"

static char *dir;

static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(experiment, .init = setup, .fini = teardown, .timeout = 600);

/* Runs make with the miniature settings into `exp_dir`, plus `extra`, with
 * the binary under test (RELMASK_BIN): its build directory, and -o so that
 * make never relinks it while other tests run it; returns the exit code and
 * the output. */
static int run_make_in(char **output, const char *exp_dir, const char *extra)
{
    const char *root = getenv("RELMASK_ROOT"), *bin = getenv("RELMASK_BIN");
    cr_assert(root && bin, "RELMASK_ROOT and RELMASK_BIN are not set (make check sets them)");
    char cmd[16384], bin_copy[4096];
    snprintf(bin_copy, sizeof bin_copy, "%s", bin);
    snprintf(cmd, sizeof cmd,
             "make -s -C '%s' experiment BUILD='%s' -o '%s' EXP_DIR='%s' THREADS=2 SYNTH_SIZE=16 SOURCE_IMAGES=560 TARGET_TRAIN=70 "
             "TARGET_VAL=35 TARGET_TEST=70 SOURCE_NET='%s/tests/fixtures/nets/mini16.cfg' SOURCE_EPOCHS=2 "
             "STUDENT_NET='%s/tests/fixtures/nets/mini16.cfg' STUDENT_EPOCHS=2 STUDENT_BATCH=16 "
             "ENCODED_SCHEDULE='--encoded-epochs 1' QUALITY_IMAGES=20 SEEDS='1 2' ENCODINGS='mean negative channel' %s 2>&1",
             root, dirname(bin_copy), bin, exp_dir, root, root, extra);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run make");
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 4096) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int status = pclose(p);
    *output = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_make(char **output, const char *extra) { return run_make_in(output, dir, extra); }

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "missing %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static double mtime(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "missing %s", path);
    return (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec;
}

Test(experiment, miniature_run_writes_a_complete_report_and_reruns_only_what_changed)
{
    char *out;
    int code = run_make(&out, "");
    cr_assert_eq(code, 0, "make experiment failed:\n%s", out);
    free(out);
    const char *files[] = {"source.h5", "target.h5", "source_model.h5", "source_model_eval.json", "relevance.h5",
                           "relevance_eval.json", "encoded_mean.h5", "encoded_negative.h5",
                           "runs/raw/seed1/test.json", "runs/finetune/seed2/test.json", "runs/mean/seed1/model.h5",
                           "runs/fuse-negative/seed2/test.json", "encoded_channel.h5", "encoded_channel-const.h5",
                           "runs/channel/seed2/model.h5", "runs/channel-const/seed1/test.json", "report.md", "report.html",
                           "report/results.csv", "report/learning_curves.svg", "report/heatmaps_per_class.png",
                           "report/encoded_mean.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        cr_assert(tu_file_exists(tu_path(dir, files[i])), "missing %s", files[i]);
    /* The channel encodings explain the prediction, as relevance.h5 does by default: computed once. */
    cr_assert(!tu_file_exists(tu_path(dir, "relevance_channel.h5")), "the prediction's maps were computed twice");
    char *md = slurp(tu_path(dir, "report.md"));
    const char *rows[] = {"raw", "finetune", "mean", "negative", "fuse-negative", "| channel |", "| channel-const |",
                          "Wilcoxon", "heatmaps_per_class.png", "encoded_channel.png",
                          "Tested on another file's test split, not the raw target.h5: `channel` on "};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cr_assert(strstr(md, rows[i]), "report.md lacks '%s'", rows[i]);
    free(md);

    /* A rerun with the same settings does nothing. */
    double report_time = mtime(tu_path(dir, "report.md")), source_time = mtime(tu_path(dir, "source_model.h5"));
    double mean_time = mtime(tu_path(dir, "encoded_mean.h5")), raw_time = mtime(tu_path(dir, "runs/raw/seed1/model.h5"));
    code = run_make(&out, "");
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    cr_assert_eq(mtime(tu_path(dir, "report.md")), report_time, "a rerun rewrote the report");

    /* A changed encoding parameter reruns the encodings, their students and
     * the report, not the source model or the raw baseline. */
    code = run_make(&out, "ENCODE_KEEP=0.5");
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    cr_assert_eq(mtime(tu_path(dir, "source_model.h5")), source_time);
    cr_assert_eq(mtime(tu_path(dir, "runs/raw/seed1/model.h5")), raw_time);
    cr_assert_gt(mtime(tu_path(dir, "encoded_mean.h5")), mean_time);
    cr_assert_gt(mtime(tu_path(dir, "report.md")), report_time);

    /* True-class maps for the masks: the channel encodings get their own prediction maps (make -n: planned). */
    code = run_make(&out, "ENCODE_KEEP=0.5 RELEVANCE_TARGET=true -n");
    cr_assert_eq(code, 0, "%s", out);
    cr_assert(strstr(out, "relevance_channel.h5") && strstr(out, "--target pred"),
              "with RELEVANCE_TARGET=true the channel encodings need maps of the prediction:\n%s", out);
    free(out);
}

static void model_fingerprint(char out[17], const char *path)
{
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, path), 0, "cannot load %s", path);
    rm_model_fingerprint(out, &m);
    rm_model_free(&m);
}

/* Two students at a time, each pinned to a core of its own, train exactly
 * the models one at a time does (same THREADS), and the progress lines say
 * what finished, where, and how many students are left. */
Test(experiment, concurrent_pinned_jobs_give_the_same_models_as_one_at_a_time)
{
    static const char *const settings = "THREADS=1 ENCODINGS=mean SEEDS='1 2'";
    char one_dir[4096], two_dir[4096], extra[256];
    snprintf(one_dir, sizeof one_dir, "%s/jobs1", dir);
    snprintf(two_dir, sizeof two_dir, "%s/jobs2", dir);
    char *out;
    snprintf(extra, sizeof extra, "%s JOBS=1", settings);
    int code = run_make_in(&out, one_dir, extra);
    cr_assert_eq(code, 0, "make experiment JOBS=1 failed:\n%s", out);
    cr_assert(strstr(out, "students: 6 done, 0 running, 0 left"), "no final progress line:\n%s", out);
    free(out);
    snprintf(extra, sizeof extra, "%s JOBS=2", settings);
    code = run_make_in(&out, two_dir, extra);
    cr_assert_eq(code, 0, "make experiment JOBS=2 failed:\n%s", out);
    cr_assert(strstr(out, "job: done   "), "no per-stage line:\n%s", out);
    cr_assert(strstr(out, "students: 6 done, 0 running, 0 left"), "no final progress line:\n%s", out);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores >= 2) {
        cr_assert(strstr(out, " on cores {"), "JOBS=2 THREADS=1 on %ld cores pinned nothing:\n%s", cores, out);
        /* the two slots are pinned to two different cores */
        const char *a = strstr(out, " on cores {");
        int first = atoi(a + strlen(" on cores {")), other = 0;
        for (const char *p = a; (p = strstr(p + 1, " on cores {"));)
            if (atoi(p + strlen(" on cores {")) != first) other = 1;
        cr_assert(other, "every job ran on core %d:\n%s", first, out);
    }
    free(out);
    static const char *const runs[] = {"raw", "finetune", "mean"};
    for (int r = 0; r < 3; r++)
        for (int seed = 1; seed <= 2; seed++) {
            char path[4200], a[17], b[17];
            snprintf(path, sizeof path, "%s/runs/%s/seed%d/model.h5", one_dir, runs[r], seed);
            model_fingerprint(a, path);
            snprintf(path, sizeof path, "%s/runs/%s/seed%d/model.h5", two_dir, runs[r], seed);
            model_fingerprint(b, path);
            cr_assert_str_eq(a, b, "runs/%s/seed%d: JOBS=2 trained other weights than JOBS=1", runs[r], seed);
        }
}

/* SOURCE_MODEL=model.onnx: the source model is imported instead of trained
 * (no source data, no source training), evaluated on the target test split,
 * fine-tuned as its own network, explained and reported as trained
 * elsewhere; a missing file stops make before anything runs. */
Test(experiment, onnx_source_model_replaces_source_training)
{
    char extra[4096], *out;
    snprintf(extra, sizeof extra, "SEEDS=1 ENCODINGS=mean SOURCE_MODEL='%s/onnx/source7_opset13.onnx'",
             getenv("RELMASK_FIXTURES"));
    int code = run_make(&out, extra);
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    cr_assert(!tu_file_exists(tu_path(dir, "source.h5")), "source data was made for an imported source model");
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "source_model.h5")), 0);
    cr_assert(m.train_params && strstr(m.train_params, "imported_from=") && strstr(m.train_params, "source7_opset13"),
              "%s", m.train_params ? m.train_params : "(none)");
    cr_assert_eq(m.num_epochs, 0);
    rm_model_free(&m);
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "runs/finetune/seed1/model.h5")), 0);
    cr_assert_str_eq(m.def.name, "source7_opset13", "fine-tuning did not keep the imported network");
    rm_model_free(&m);
    char *eval = slurp(tu_path(dir, "source_model_eval.json"));
    cr_assert(strstr(eval, "target.h5"), "the imported source model was not evaluated on the target:\n%s", eval);
    free(eval);
    char *report = slurp(tu_path(dir, "report.md"));
    cr_assert(strstr(report, "source model (trained elsewhere) target test accuracy"), "%s", report);
    free(report);

    code = run_make(&out, "SOURCE_MODEL=/nonexistent/model.onnx");
    cr_assert_eq(code, 2, "%s", out);
    cr_assert(strstr(out, "SOURCE_MODEL=/nonexistent/model.onnx: no such file"), "%s", out);
    free(out);
}

/* SOURCE_MODEL=model.json: a TF.js graph model from npm (the FER2013
 * mini-Xception) as the source, imported with its normalization, at the
 * miniature's 16x16 (it is fully convolutional) and with its FER2013 outputs
 * permuted to the synthetic faces' class order; fine-tuned (at a learning
 * rate a pretrained network of this size takes) and reported. */
Test(experiment, tfjs_source_model_from_npm_runs_the_pipeline)
{
    char extra[4096], *out;
    snprintf(extra, sizeof extra,
             "SEEDS=1 ENCODINGS=mean FINETUNE_LR=0.0005 SOURCE_MODEL='%s/tfjs/emotion/emotion.json' "
             "SOURCE_IMPORT_ARGS='--classes fer2013 --class-order synth --mean 0.5 --std 0.5 --size 16'",
             getenv("RELMASK_FIXTURES"));
    int code = run_make(&out, extra);
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "source_model.h5")), 0);
    cr_assert(m.train_params && strstr(m.train_params, "format=tfjs-graph-model"), "%s",
              m.train_params ? m.train_params : "(none)");
    cr_assert(m.def.input.h == 16 && !strcmp(m.class_names[0], "neutral"), "%dx%d, class 0 '%s'", m.def.input.w,
              m.def.input.h, m.class_names[0]);
    rm_model_free(&m);
    cr_assert(tu_file_exists(tu_path(dir, "runs/finetune/seed1/test.json")));
    cr_assert(tu_file_exists(tu_path(dir, "encoded_mean.h5")));
    char *report = slurp(tu_path(dir, "report.md"));
    cr_assert(strstr(report, "source model (trained elsewhere) target test accuracy"), "%s", report);
    free(report);
}
