/* relmask relevance end to end: the file matches the library's LRP on the
 * same records, targets, record selection, resume after a stop, refusing to
 * overwrite, usage errors and provenance. A tiny network trained for one
 * epoch on 16x16 synthetic faces. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/dataset.h"
#include "core/pixels.h"
#include "core/error.h"
#include "relevance/lrp.h"
#include "nn/model_file.h"
#include "core/relevance_file.h"
#include "report/font5x7.h"
#include "report/heatmap.h"
#include "test_util.h"

static char *dir;

static const char net_text[] =
    "[net]\ninput = 1x16x16\nclasses = 7\n"
    "[conv]\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n"
    "[conv]\nfilters = 6\nsize = 3\npad = 1\nactivation = relu\n"
    "[dense]\nunits = 7\n";

static char *run(int want_code, const char *want_text, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static char *run(int want_code, const char *want_text, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *out;
    int code = tu_run_cli(&out, "%s", args);
    cr_assert_eq(code, want_code, "relmask %s exited %d, expected %d:\n%s", args, code, want_code, out);
    if (want_text) cr_assert(strstr(out, want_text), "expected '%s' in:\n%s", want_text, out);
    return out;
}

#define EXPECT(code, text, ...) free(run(code, text, __VA_ARGS__))

static void setup(void)
{
    dir = tu_scratch_dir();
    tu_write_text(tu_path(dir, "net.cfg"), net_text);
    EXPECT(0, NULL, "synth -q -n 140 --size 16 -o %s", tu_path(dir, "d.h5"));
    EXPECT(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16", tu_path(dir, "d.h5"),
           tu_path(dir, "net.cfg"), tu_path(dir, "m.h5"));
}

static void teardown(void) { tu_rmtree(dir); }

TestSuite(relevance_cmd, .init = setup, .fini = teardown, .timeout = 120);

/* The library's LRP on the given records (batch `b`), channel-summed. */
static void library_heatmaps(const char *composite, const int64_t *idx, int64_t n, float *heat, int32_t *explained,
                             float *logit)
{
    rm_model m;
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "d.h5")), 0, "%s", rm_error_message());
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, composite, NULL, 0, 1e-6, 0.25), 0, "%s", rm_error_message());
    rm_lrp *lrp;
    cr_assert_eq(rm_lrp_create(&lrp, &m, 1, &cfg), 0, "%s", rm_error_message());
    uint8_t img[256];
    float rel[256], l;
    int32_t e, p;
    /* The stage's own input normalization, so that only the batching
     * differs (a hand-written (x/255 - mean)/std differs from it in the last
     * bit, which the epsilon rule can amplify past the tolerance). */
    rm_pixel_norm norm;
    cr_assert_eq(rm_pixel_norm_init(&norm, 1, m.norm_mean, m.norm_std), 0);
    for (int64_t i = 0; i < n; i++) {
        cr_assert_eq(rm_dataset_read_images(&ds, (size_t)idx[i], 1, img), 0);
        rm_pixel_norm_image_affine(&norm, img, rm_lrp_input(lrp), 256);
        cr_assert_eq(rm_lrp_run(lrp, NULL, rel, &e, &l, &p), 0, "%s", rm_error_message());
        memcpy(heat + i * 256, rel, sizeof rel);
        explained[i] = e;
        logit[i] = l;
    }
    rm_lrp_destroy(lrp);
    rm_lrp_config_free(&cfg);
    rm_dataset_close(&ds);
    rm_model_free(&m);
}

Test(relevance_cmd, file_matches_the_library_on_the_same_records)
{
    char out[4096];
    snprintf(out, sizeof out, "%s", tu_path(dir, "r.h5"));
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --split test --composite epsilon --batch 5",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    rm_relevance r;
    cr_assert_eq(rm_relevance_open(&r, out), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "d.h5")), 0);
    int64_t want = 0;
    for (size_t i = 0; i < ds.count; i++) want += ds.split[i] == RM_SPLIT_TEST;
    cr_assert_eq(r.count, want);
    for (int64_t i = 0; i < r.count; i++) {
        cr_assert_eq(ds.split[r.index[i]], RM_SPLIT_TEST);
        cr_assert_eq(r.label[i], ds.labels[r.index[i]]);
        cr_assert_eq(r.explained[i], r.predicted[i], "--target pred explains the prediction");
    }
    float *heat = malloc(sizeof(float) * 256 * (size_t)r.count), *lib = malloc(sizeof(float) * 256 * (size_t)r.count);
    int32_t *e = malloc(sizeof(int32_t) * (size_t)r.count);
    float *l = malloc(sizeof(float) * (size_t)r.count);
    cr_assert_eq(rm_relevance_read_heatmaps(&r, 0, r.count, heat), 0);
    library_heatmaps("epsilon", r.index, r.count, lib, e, l);
    double peak = 0, err = 0;
    for (int64_t k = 0; k < 256 * r.count; k++) {
        peak = fmax(peak, fabs(lib[k]));
        err = fmax(err, fabs(heat[k] - lib[k]));
    }
    cr_assert(err <= 1e-5 * peak, "max error %g of peak %g", err, peak);
    for (int64_t i = 0; i < r.count; i++) {
        cr_assert_eq(r.explained[i], e[i]);
        cr_assert(fabsf(r.score[i] - l[i]) <= 1e-5f * (1 + fabsf(l[i])));
        double s = 0;
        for (int k = 0; k < 256; k++) s += heat[i * 256 + k];
        cr_assert(fabs(r.sum[i] - s) <= 1e-4 * (1 + fabs(s)));
    }
    free(heat);
    free(lib);
    free(e);
    free(l);
    rm_dataset_close(&ds);
    rm_relevance_close(&r);
}

Test(relevance_cmd, targets_and_record_selection)
{
    char out[4096];
    snprintf(out, sizeof out, "%s", tu_path(dir, "r.h5"));
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --split train --start 5 --count 10 --target true",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    rm_relevance r;
    cr_assert_eq(rm_relevance_open(&r, out), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "d.h5")), 0);
    int64_t seen = 0, k = 0;
    for (size_t i = 0; i < ds.count && k < 10; i++)
        if (ds.split[i] == RM_SPLIT_TRAIN && seen++ >= 5) {
            cr_assert_eq(r.index[k], (int64_t)i, "entry %lld", (long long)k);
            cr_assert_eq(r.explained[k], ds.labels[i]);
            k++;
        }
    cr_assert_eq(r.count, 10);
    rm_relevance_close(&r);
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --count 7 --target %s --force", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), out, ds.class_names[3]);
    cr_assert_eq(rm_relevance_open(&r, out), 0, "%s", rm_error_message());
    for (int64_t i = 0; i < r.count; i++) cr_assert_eq(r.explained[i], 3);
    rm_relevance_close(&r);
    rm_dataset_close(&ds);
    /* A --target that names no class is a usage error like other bad option
     * values (exit 2, a hint to --help), and suggests the nearest class. */
    EXPECT(2, "--target 'nope'", "relevance -q --model %s --data %s --out %s --force --target nope",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    char *msg = run(2, "did you mean 'anger'?", "relevance -q --model %s --data %s --out %s --force --target angry",
                    tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    cr_assert(strstr(msg, "relmask relevance: --target 'angry'") && strstr(msg, "Try 'relmask relevance --help'") &&
              strstr(msg, "(neutral, happy, sad, surprise, fear, disgust, anger)"), "%s", msg);
    cr_assert(!strstr(msg, "relmask: error:"), "%s", msg);
    free(msg);
    msg = run(2, "--target 'nope'", "relevance -q --model %s --data %s --out %s --force --target nope",
              tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    cr_assert(!strstr(msg, "did you mean"), "nothing near 'nope': %s", msg);
    free(msg);
    EXPECT(1, "--start 100000 is past", "relevance -q --model %s --data %s --out %s --force --start 100000",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
}

/* --force discards an interrupted run's partial file and starts afresh. */
Test(relevance_cmd, force_starts_afresh_over_a_partial_file)
{
    char *part = strdup(tu_path(dir, "p.h5"));
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --batch 16 --stop-after 2", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), part);
    char *out = run(0, NULL, "relevance --model %s --data %s --out %s --batch 16 --force", tu_path(dir, "m.h5"),
                    tu_path(dir, "d.h5"), part);
    cr_assert(!strstr(out, "resuming"), "--force started afresh:\n%s", out);
    free(out);
    cr_assert(tu_file_exists(part));
    cr_assert(!tu_file_exists(tu_path(dir, ".p.h5.partial")));
    free(part);
}

Test(relevance_cmd, resume_after_a_stop_gives_the_same_file_contents)
{
    char *full = strdup(tu_path(dir, "full.h5")), *part = strdup(tu_path(dir, "part.h5"));
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --batch 16 --channels", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), full);
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --batch 16 --channels --stop-after 3",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), part);
    cr_assert(!tu_file_exists(part), "no final file after a stop");
    cr_assert(tu_file_exists(tu_path(dir, ".part.h5.partial")));
    /* A run without --resume neither continues nor silently discards it. */
    EXPECT(1, "an interrupted run left 48 of 140 records in", "relevance -q --model %s --data %s --out %s --batch 16 "
           "--channels", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), part);
    EXPECT(1, "continue it with --resume, or start afresh with --force", "relevance -q --model %s --data %s --out %s "
           "--batch 16 --channels", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), part);
    cr_assert(tu_file_exists(tu_path(dir, ".part.h5.partial")), "the refusal keeps the partial file");
    /* Other settings cannot continue it: the error names only the settings
     * that differ and the way to start afresh (--force, not a rerun without
     * --resume, which the refusal above stops). */
    EXPECT(1, "other settings", "relevance -q --model %s --data %s --out %s --batch 16 --channels --resume --eps 0.5",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), part);
    char *out = run(1, "\n  target: pred in the partial file, true now", "relevance -q --model %s --data %s --out %s "
                    "--batch 16 --channels --resume --target true", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), part);
    cr_assert(strstr(out, "rerun with --force instead of --resume to start afresh"), "%s", out);
    cr_assert(!strstr(out, "data_fingerprint") && !strstr(out, "composite") && !strstr(out, "eps:"),
              "only the settings that differ: %s", out);
    free(out);
    out = run(1, "\n  eps: 1e-06 in the partial file, 0.5 now", "relevance -q --model %s --data %s --out %s --batch 16 "
              "--channels --resume --eps 0.5", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), part);
    cr_assert(!strstr(out, "target:"), "%s", out);
    free(out);
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --batch 16 --channels --resume", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), part);
    cr_assert(!tu_file_exists(tu_path(dir, ".part.h5.partial")));
    rm_relevance a, b;
    cr_assert_eq(rm_relevance_open(&a, full), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&b, part), 0, "%s", rm_error_message());
    cr_assert_eq(a.count, 140);
    cr_assert_eq(b.count, 140);
    size_t n = 140 * 256;
    float *ha = malloc(sizeof(float) * n), *hb = malloc(sizeof(float) * n);
    cr_assert_eq(rm_relevance_read_channels(&a, 0, 140, ha), 0);
    cr_assert_eq(rm_relevance_read_channels(&b, 0, 140, hb), 0);
    cr_assert_eq(memcmp(ha, hb, sizeof(float) * n), 0, "a resumed run writes exactly what an uninterrupted one does");
    cr_assert_eq(memcmp(a.explained, b.explained, sizeof(int32_t) * 140), 0);
    free(ha);
    free(hb);
    rm_relevance_close(&a);
    rm_relevance_close(&b);
    free(full);
    free(part);
}

Test(relevance_cmd, existing_output_and_usage_errors)
{
    char out[4096];
    snprintf(out, sizeof out, "%s", tu_path(dir, "r.h5"));
    tu_write_text(out, "precious");
    EXPECT(1, "--force", "relevance -q --model %s --data %s --out %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"),
           out);
    FILE *f = fopen(out, "r");
    char buf[16] = {0};
    cr_assert(fgets(buf, sizeof buf, f));
    fclose(f);
    cr_assert_str_eq(buf, "precious");
    EXPECT(2, "--model FILE is required", "relevance --data %s --out %s", tu_path(dir, "d.h5"), out);
    EXPECT(2, "need --method occlusion", "relevance --model %s --data %s --out %s --patch 4", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), out);
    EXPECT(2, "--method 'shap'", "relevance --model %s --data %s --out %s --method shap", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), out);
    EXPECT(1, "no conv or dense layer is named 'convX'", "relevance -q --model %s --data %s --out %s --force --rule convX=zbox",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    /* Option values wrong in themselves are usage errors (exit 2), before any file is read. */
    EXPECT(2, "unknown composite 'fancy' (expected epsilon-plus-flat", "relevance -q --model %s --data %s --out %s "
           "--force --composite fancy", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    EXPECT(2, "--rule 'conv1': expected LAYER=RULE", "relevance -q --model %s --data %s --out %s --force --rule conv1",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    EXPECT(2, "--rule 'conv1=zzz': unknown LRP rule 'zzz'", "relevance -q --model %s --data %s --out %s --force "
           "--rule conv1=zzz", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    EXPECT(2, "alpha and beta must be >= 0 with alpha - beta = 1", "relevance -q --model %s --data %s --out %s "
           "--force --rule conv1=alpha3-beta1", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    EXPECT(0, "usage: relmask relevance", "relevance --help");
    cr_assert_eq(tu_dir_entries(dir), 4, "no stray files (net.cfg, d.h5, m.h5, r.h5)");
}

Test(relevance_cmd, provenance_and_info)
{
    char out[4096];
    snprintf(out, sizeof out, "%s", tu_path(dir, "r.h5"));
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --start 30 --count 20 --rule 'conv*=alpha2-beta1'",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out);
    char *text = run(0, "schema: relmask.relevance version 1", "info %s", out);
    cr_assert(strstr(text, "rule.conv1=alpha2-beta1"), "%s", text);
    cr_assert(strstr(text, "rule.conv2=alpha2-beta1"), "%s", text);
    cr_assert(strstr(text, "rule.dense1=epsilon(1e-06)"), "%s", text);
    cr_assert(strstr(text, "model_fingerprint"), "%s", text);
    cr_assert(strstr(text, "dataset_fingerprint"), "%s", text);
    free(text);

    /* --record N finds dataset record N through /index: entry 2 is record
     * 32 here. */
    rm_relevance r;
    cr_assert_eq(rm_relevance_open(&r, out), 0, "%s", rm_error_message());
    float heat[256];
    cr_assert_eq(rm_relevance_read_heatmaps(&r, 2, 1, heat), 0, "%s", rm_error_message());
    double pos = 0, neg = 0;
    for (int p = 0; p < 256; p++) pos += heat[p] > 0 ? heat[p] : 0, neg += heat[p] < 0 ? -heat[p] : 0;
    cr_assert_eq(r.index[2], 32);
    char want[512];
    snprintf(want, sizeof want, " record %lld (entry 2): label %d (%s), predicted %d (%s), explained %d (%s), logit "
             "%.6g\n  heatmap sum %.6g: positive %.6g, negative %.6g (%.1f%% of the absolute mass positive)\n",
             (long long)r.index[2], r.label[2], r.class_names[r.label[2]], r.predicted[2],
             r.class_names[r.predicted[2]], r.explained[2], r.class_names[r.explained[2]], r.score[2], r.sum[2], pos,
             -neg, 100 * pos / (pos + neg));
    text = run(0, want, "info --record %lld %s", (long long)r.index[2], out);
    free(text);
    text = run(1, "--record 2: no heatmap of that dataset record; the file explains 20 records (dataset indices "
               "30..49, in /index)", "info --record 2 %s", out);
    free(text);
    rm_relevance_close(&r);
}

Test(relevance_cmd, occlusion_in_process_and_external_command_agree)
{
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", tu_path(dir, "occ_in.h5"));
    snprintf(b, sizeof b, "%s", tu_path(dir, "occ_cmd.h5"));
    EXPECT(0, NULL, "relevance -q --method occlusion --patch 4 --stride 2 --model %s --data %s --out %s --count 9 --batch 4",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), a);
    char *bin = getenv("RELMASK_BIN");
    EXPECT(0, NULL,
           "relevance -q --method occlusion --patch 4 --stride 2 --data %s --out %s --count 9 --batch 4 "
           "--predict-cmd \"%s predict --model %s --npy-in {in} --npy-out {out}\"",
           tu_path(dir, "d.h5"), b, bin, tu_path(dir, "m.h5"));
    rm_relevance ra, rb;
    cr_assert_eq(rm_relevance_open(&ra, a), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&rb, b), 0, "%s", rm_error_message());
    cr_assert_str_eq(ra.method, "occlusion");
    cr_assert_str_eq(ra.score_kind, "probability");
    cr_assert_eq(ra.count, 9);
    float ha[9 * 256], hb[9 * 256];
    cr_assert_eq(rm_relevance_read_heatmaps(&ra, 0, 9, ha), 0);
    cr_assert_eq(rm_relevance_read_heatmaps(&rb, 0, 9, hb), 0);
    double peak = 0;
    for (int k = 0; k < 9 * 256; k++) {
        cr_assert(fabsf(ha[k] - hb[k]) <= 1e-5f, "pixel %d: %g vs %g", k, ha[k], hb[k]);
        peak = fmax(peak, fabs(ha[k]));
    }
    cr_assert_gt(peak, 0, "occlusion changed some probability");
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(ra.explained[i], rb.explained[i]);
        cr_assert(ra.score[i] > 0 && ra.score[i] <= 1, "score is the explained class's probability");
    }
    rm_relevance_close(&ra);
    rm_relevance_close(&rb);
    EXPECT(2, "need --method lrp", "relevance --method occlusion --composite epsilon --model %s --data %s --out %s",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), a);
    EXPECT(2, "exclude each other", "relevance --method occlusion --predict-cmd true --model %s --data %s --out %s",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), a);
    EXPECT(1, "--baseline 'grey'", "relevance -q --method occlusion --baseline grey --model %s --data %s --out %s --force",
           tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), a);
    EXPECT(1, "exit", "relevance -q --method occlusion --predict-cmd 'exit 3' --data %s --out %s --force --count 2",
           tu_path(dir, "d.h5"), a);
}

/* SIGINT or SIGTERM while the external command runs: relmask ends by the
 * signal and removes the command's scratch directory (under TMPDIR). */
static void interrupt_predict_cmd(int sig)
{
    char tmp[4096], marker[4200], cmd[8400];
    snprintf(tmp, sizeof tmp, "%s", tu_path(dir, sig == SIGINT ? "tmp-int" : "tmp-term"));
    cr_assert_eq(mkdir(tmp, 0700), 0);
    snprintf(marker, sizeof marker, "%s/started", tmp);
    snprintf(cmd, sizeof cmd, "touch %s; sleep 20; : {in} {out}", marker);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        setenv("TMPDIR", tmp, 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1), dup2(devnull, 2);
        execl(getenv("RELMASK_BIN"), "relmask", "relevance", "-q", "--method", "occlusion", "--data",
              tu_path(dir, "d.h5"), "--out", tu_path(dir, "occ_int.h5"), "--force", "--count", "2",
              "--predict-cmd", cmd, (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 60000 && stat(marker, &st) != 0; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    cr_assert_eq(stat(marker, &st), 0, "the predict command never started");
    unlink(marker);
    cr_assert_eq(kill(pid, sig), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig, "relmask ended by signal %d (status 0x%x)", sig,
              status);
    DIR *d = opendir(tmp);
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d)))
        cr_assert(e->d_name[0] == '.', "%s left in TMPDIR after the signal", e->d_name);
    closedir(d);
    cr_assert_neq(stat(tu_path(dir, "occ_int.h5"), &st), 0, "no output");
}

Test(relevance_cmd, interrupting_an_external_command_removes_its_directory)
{
    interrupt_predict_cmd(SIGINT);
    interrupt_predict_cmd(SIGTERM);
}

/* --sample N --seed S: a class-stratified seeded draw, in record order; a
 * selection covering fewer than half of the classes warns with the counts. */
Test(relevance_cmd, sample_is_stratified_seeded_and_narrow_selections_warn)
{
    char a[4096], b[4096], c[4096];
    snprintf(a, sizeof a, "%s", tu_path(dir, "a.h5"));
    snprintf(b, sizeof b, "%s", tu_path(dir, "b.h5"));
    snprintf(c, sizeof c, "%s", tu_path(dir, "c.h5"));
    const char *m = tu_path(dir, "m.h5"), *d = tu_path(dir, "d.h5");
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --sample 70 --seed 5", m, d, a);
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --sample 70 --seed 5 --batch 7", m, d, b);
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --sample 70 --seed 6", m, d, c);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, d), 0);
    rm_relevance ra, rb, rc;
    cr_assert_eq(rm_relevance_open(&ra, a), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&rb, b), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&rc, c), 0, "%s", rm_error_message());
    cr_assert_eq(ra.count, 70);
    int per[7] = {0}, same_c = 1;
    for (int64_t i = 0; i < ra.count; i++) {
        per[ds.labels[ra.index[i]]]++;
        if (i) cr_assert_gt(ra.index[i], ra.index[i - 1], "record order");
        cr_assert_eq(ra.index[i], rb.index[i], "the same seed draws the same records");
        same_c &= ra.index[i] == rc.index[i];
    }
    cr_assert_not(same_c, "another seed draws other records");
    int per_class[7] = {0};
    for (size_t i = 0; i < ds.count; i++) per_class[ds.labels[i]]++;
    for (int k = 0; k < 7; k++) cr_assert_eq(per[k], per_class[k] / 2, "class %d: %d of %d", k, per[k], per_class[k]);
    rm_relevance_close(&ra);
    rm_relevance_close(&rb);
    rm_relevance_close(&rc);

    /* Three records of seven equal classes: one each of the first three. */
    EXPECT(0, "cover 3 of 7 classes", "relevance --model %s --data %s --out %s --sample 3 --force", m, d, a);
    cr_assert_eq(rm_relevance_open(&ra, a), 0, "%s", rm_error_message());
    cr_assert_eq(ra.count, 3);
    for (int64_t i = 0; i < 3; i++) per[i] = ds.labels[ra.index[i]];
    cr_assert(per[0] != per[1] && per[1] != per[2] && per[0] != per[2] && per[0] + per[1] + per[2] == 3,
              "classes %d %d %d", per[0], per[1], per[2]);
    rm_relevance_close(&ra);
    EXPECT(0, "the 2 records selected cover 2 of 7 classes (neutral ",
           "relevance --model %s --data %s --out %s --count 2 --force", m, d, a);
    EXPECT(2, "leave out --start and --count", "relevance --model %s --data %s --out %s --sample 3 --count 2 --force",
           m, d, a);
    EXPECT(0, "--sample 500: split all has only 140 records; explaining all of them",
           "relevance --model %s --data %s --out %s --sample 500 --force", m, d, a);
    rm_dataset_close(&ds);
}

/* Reads the whole relevance file: heatmaps [count,H,W] and the reader. */
static float *read_all(rm_relevance *r, const char *path)
{
    cr_assert_eq(rm_relevance_open(r, path), 0, "%s", rm_error_message());
    float *h = malloc(sizeof *h * (size_t)r->count * (size_t)r->height * (size_t)r->width);
    cr_assert_eq(rm_relevance_read_heatmaps(r, 0, r->count, h), 0, "%s", rm_error_message());
    return h;
}

/* The label-free targets through the command: all equals the sum of the
 * seven single-class maps (float32 sums; 1e-4 of the largest magnitude),
 * top:1 equals pred bit for bit, contrast explains the predicted class,
 * and the file says what was explained. */
Test(relevance_cmd, label_free_targets)
{
    char m[4096], d[4096], out[4096], cls[4096];
    snprintf(m, sizeof m, "%s", tu_path(dir, "m.h5"));
    snprintf(d, sizeof d, "%s", tu_path(dir, "d.h5"));
    snprintf(out, sizeof out, "%s", tu_path(dir, "all.h5"));
    snprintf(cls, sizeof cls, "%s", tu_path(dir, "class.h5"));
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --count 12 -b 8 --target all", m, d, out);
    rm_relevance all, one;
    float *h_all = read_all(&all, out);
    const size_t hw = (size_t)all.height * (size_t)all.width, total = (size_t)all.count * hw;
    double *sum = calloc(total, sizeof *sum), scale = 0;
    for (int c = 0; c < all.num_classes; c++) {
        EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --count 12 -b 8 --target %d --force", m, d, cls,
               c);
        float *h = read_all(&one, cls);
        for (size_t i = 0; i < total; i++) sum[i] += h[i];
        free(h);
        rm_relevance_close(&one);
    }
    for (size_t i = 0; i < total; i++) scale = fmax(scale, fabs(sum[i]));
    cr_assert_gt(scale, 0);
    for (size_t i = 0; i < total; i++)
        cr_assert(fabs(h_all[i] - sum[i]) <= 1e-4 * scale, "pixel %zu: all %.8g, sum of classes %.8g", i, h_all[i],
                  sum[i]);
    for (int64_t i = 0; i < all.count; i++) cr_assert_eq(all.explained[i], -1);
    char *attr = NULL;
    cr_assert_eq(rm_relevance_read_attr(&all, "target", &attr), 0);
    cr_assert_str_eq(attr, "all");
    free(attr);
    cr_assert_eq(rm_relevance_read_attr(&all, "explained_classes", &attr), 0);
    cr_assert(attr && strstr(attr, "all classes"), "%s", attr ? attr : "(none)");
    free(attr);
    cr_assert(strstr(all.parameters, "target=all\n"), "%s", all.parameters);
    rm_relevance_close(&all);
    free(h_all), free(sum);

    /* top:1 and pred: the same seed, the same file contents */
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --count 12 -b 8 --force", m, d, cls);
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --count 12 -b 8 --target top:1 --force", m, d, out);
    rm_relevance pred;
    float *h_pred = read_all(&pred, cls), *h_top = read_all(&one, out);
    cr_assert_arr_eq(h_top, h_pred, sizeof(float) * total, "top:1 differs from pred");
    cr_assert_arr_eq(one.explained, pred.explained, sizeof(int32_t) * (size_t)pred.count);
    cr_assert_arr_eq(one.score, pred.score, sizeof(float) * (size_t)pred.count);
    rm_relevance_close(&one);
    free(h_top), free(h_pred);

    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --count 12 -b 8 --target contrast --force", m, d, out);
    float *h_con = read_all(&one, out);
    for (int64_t i = 0; i < one.count; i++) {
        cr_assert_eq(one.explained[i], one.predicted[i], "contrast explains the predicted class");
        cr_assert_eq(one.explained[i], pred.explained[i]);
    }
    cr_assert_eq(rm_relevance_read_attr(&one, "explained_classes", &attr), 0);
    cr_assert(attr && strstr(attr, "contrast"), "%s", attr ? attr : "(none)");
    free(attr);
    rm_relevance_close(&one);
    rm_relevance_close(&pred);
    free(h_con);

    EXPECT(2, "expected top:1..top:7", "relevance -q --model %s --data %s --out %s --force --target top:8", m, d, out);
    EXPECT(2, "expected top:K", "relevance -q --model %s --data %s --out %s --force --target top:0", m, d, out);
    EXPECT(2, "needs --method lrp", "relevance -q --model %s --data %s --out %s --force --method occlusion "
                                    "--target contrast", m, d, out);
}

/* A relevance file of a --sample draw leads back to each record's source:
 * through /index, relevance-eval --records names the dataset's /source of
 * every entry, and the montage caption of each tile shows it. */
static const char *sample_source(const rm_dataset *ds, int64_t i)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "faces/%s/img%04lld.png", ds->class_names[ds->labels[i]], (long long)i);
    return buf;
}

Test(relevance_cmd, sample_traces_back_to_the_sources)
{
    /* d.h5 with /source, as an ingested folder would have it. */
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "d.h5")), 0, "%s", rm_error_message());
    char src[4096];
    snprintf(src, sizeof src, "%s", tu_path(dir, "src.h5"));
    rm_dataset_spec spec = {.channels = ds.channels, .height = ds.height, .width = ds.width,
                            .num_classes = ds.num_classes, .class_names = (const char *const *)ds.class_names,
                            .source_format = "folder", .source_path = "faces", .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, src, &spec, 0), 0, "%s", rm_error_message());
    uint8_t *img = malloc((size_t)ds.channels * ds.height * ds.width);
    for (size_t i = 0; i < ds.count; i++) {
        cr_assert_eq(rm_dataset_read_images(&ds, i, 1, img), 0, "%s", rm_error_message());
        cr_assert_eq(rm_dataset_writer_append(w, img, ds.labels[i], ds.split[i], NULL), 0, "%s", rm_error_message());
        cr_assert_eq(rm_dataset_writer_set_source(w, sample_source(&ds, (int64_t)i)), 0, "%s", rm_error_message());
    }
    free(img);
    rm_split_spec split = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &split), 0, "%s", rm_error_message());
    char rel[4096], records[4096];
    snprintf(rel, sizeof rel, "%s", tu_path(dir, "sample.h5"));
    snprintf(records, sizeof records, "%s", tu_path(dir, "records.csv"));
    const char *m = tu_path(dir, "m.h5");
    EXPECT(0, NULL, "relevance -q --model %s --data %s --out %s --sample 21 --seed 4", m, src, rel);
    EXPECT(0, NULL, "relevance-eval -q -r %s -d %s -m %s --steps 2 --records %s --out %s", rel, src, m, records,
           tu_path(dir, "q.json"));
    rm_relevance r;
    cr_assert_eq(rm_relevance_open(&r, rel), 0, "%s", rm_error_message());
    cr_assert_eq(r.count, 21);
    char *text = tu_read_text(records);
    const char *line = strchr(strchr(text, '\n') + 1, '\n') + 1;   /* past the comment and the header */
    int rows = 0;
    for (; *line; line = strchr(line, '\n') + 1, rows++) {
        long long entry, index;
        char source[128];
        cr_assert_eq(sscanf(line, "%lld,%lld,%127[^,],", &entry, &index, source), 3, "row: %.80s", line);
        cr_assert_eq(entry, rows);
        cr_assert_eq(index, r.index[entry], "entry %lld explains record %lld", entry, (long long)r.index[entry]);
        cr_assert_str_eq(source, sample_source(&ds, index));
    }
    cr_assert_eq(rows, 21);
    free(text);

    /* The montage of the first 3 entries: each tile's source line. */
    rm_dataset sds;
    cr_assert_eq(rm_dataset_open(&sds, src), 0, "%s", rm_error_message());
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    o.selection = RM_HEATMAP_FIRST;
    o.first = 3;
    o.scale = 4;   /* 64-px tiles: 10 characters, the file name is 11: "...g0012.png" does not fit either */
    rm_image mont;
    cr_assert_eq(rm_heatmap_render(&o, &sds, &r, &mont), 0, "%s", rm_error_message());
    int tile_w = sds.width * 4, M = RM_HEATMAP_MARGIN, y = M + sds.height * 4 + 2 + 2 * RM_FONT_LINE;
    cr_assert_eq(mont.height, M + sds.height * 4 + RM_HEATMAP_CAPTION_H + RM_HEATMAP_SOURCE_H + M);
    for (int t = 0; t < 3; t++) {
        char want_text[64];
        rm_heatmap_fit_source(sample_source(&ds, r.index[t]), tile_w, want_text, sizeof want_text);
        cr_assert(!strncmp(want_text, "...", 3) && strstr(sample_source(&ds, r.index[t]), want_text + 3),
                  "'%s' is the end of the file name", want_text);
        rm_image want;
        cr_assert_eq(rm_image_alloc(&want, tile_w, RM_FONT_LINE, 3), 0);
        memset(want.pixels, RM_HEATMAP_BACKGROUND, (size_t)tile_w * RM_FONT_LINE * 3);
        const uint8_t white[3] = {RM_HEATMAP_TEXT, RM_HEATMAP_TEXT, RM_HEATMAP_TEXT};
        rm_font_draw(&want, 0, 0, want_text, 1, white);
        int x0 = M + t * (tile_w + M), differ = 0;
        size_t plane = (size_t)mont.width * mont.height, wplane = (size_t)tile_w * RM_FONT_LINE;
        for (int c = 0; c < 3; c++)
            for (int yy = 0; yy < RM_FONT_LINE; yy++)
                for (int xx = 0; xx < tile_w; xx++)
                    differ += mont.pixels[c * plane + (size_t)(y + yy) * mont.width + x0 + xx] !=
                              want.pixels[c * wplane + (size_t)yy * tile_w + xx];
        cr_assert_eq(differ, 0, "tile %d (record %lld): the caption is not '%s'", t, (long long)r.index[t], want_text);
        rm_image_free(&want);
    }
    rm_image_free(&mont);
    rm_dataset_close(&sds);
    rm_relevance_close(&r);
    rm_dataset_close(&ds);
}
