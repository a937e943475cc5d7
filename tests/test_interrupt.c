/* Interruption, for real, with child processes: SIGINT and SIGTERM (and
 * SIGHUP) during train, relevance and encode end the process by that signal
 * (the shell shows 130 / 143 / 129) after removing its temporary files,
 * keep the checkpoint or partial file complete, and leave an earlier output
 * byte-identical; a kill -9 at seeded pseudo-random moments leaves every
 * earlier output readable, --resume then finishes with the model (weights,
 * history, best epoch) or heatmaps an uninterrupted run gives, bit for bit,
 * and a later write removes the temporary files the killed ones left. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault_util.h"
#include "core/dataset.h"
#include "core/error.h"
#include "nn/model_file.h"
#include "core/relevance_file.h"
#include "test_util.h"

static char *dir;
static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(interrupt, .init = setup, .fini = teardown, .timeout = 240);

/* A dense network: fast everywhere, and slow enough per epoch with batch 2. */
static const char *const net_text =
    "[net]\ninput = 1x16x16\nclasses = 7\n[dense]\nunits = 128\nactivation = relu\n[dense]\nunits = 7\n";

static char data[4096], net[4096];

static void make_data(int count, int size)
{
    snprintf(data, sizeof data, "%s", tu_path(dir, "d.h5"));
    snprintf(net, sizeof net, "%s", tu_path(dir, "net.cfg"));
    tu_write_text(net, net_text);
    char *out;
    int rc = tu_run_cli(&out, "synth -q -t 1 -n %d --size %d -o %s", count, size, data);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
}

static void assert_killed_by(int status, int sig, const char *log)
{
    char *text = fu_read_file(log, NULL);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig, "expected death by signal %d, got %s\n%s", sig,
              fu_status_text(status), text ? text : "");
    free(text);
}

static void assert_no_temp_files(void)
{
    const char *t = fu_temp_file(dir);
    cr_assert(!t, "temporary file %s left behind", t);
}

/* After kill -9 only the killed processes' temporary files may remain
 * (the next write removes them once they are a minute old). */
static void assert_temp_files_only_of(const pid_t *pids, int n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp-");
        if (e->d_name[0] != '.' || !t) continue;
        long pid = atol(t + 5);
        int ok = 0;
        for (int i = 0; i < n; i++) ok |= pid == (long)pids[i];
        cr_assert(ok, "temporary file %s is not a killed process's", e->d_name);
    }
    closedir(d);
}

/* Weights (through the fingerprint), normalization, history without the
 * wall times, and best epoch: what --resume promises to reproduce. */
static void assert_same_model(const char *a, const char *b)
{
    rm_model x, y;
    cr_assert_eq(rm_model_load(&x, a), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_load(&y, b), 0, "%s", rm_error_message());
    char fx[17], fy[17];
    rm_model_fingerprint(fx, &x);
    rm_model_fingerprint(fy, &y);
    cr_assert_str_eq(fx, fy, "%s and %s hold different weights", a, b);
    cr_assert_eq(x.num_tensors, y.num_tensors);
    for (int i = 0; i < x.num_tensors; i++)
        cr_assert_eq(memcmp(x.tensors[i].data, y.tensors[i].data, sizeof(float) * (size_t)x.tensors[i].count), 0,
                     "%s differs", x.tensors[i].key);
    cr_assert_eq(x.num_epochs, y.num_epochs);
    cr_assert_eq(x.best_epoch, y.best_epoch);
    for (int e = 0; e < x.num_epochs; e++) {
        const rm_epoch_record *p = &x.history[e], *q = &y.history[e];
        cr_assert(p->train_loss == q->train_loss && p->train_acc == q->train_acc && p->val_loss == q->val_loss &&
                  p->val_acc == q->val_acc && p->lr == q->lr, "history of epoch %d differs", e + 1);
    }
    rm_model_free(&x);
    rm_model_free(&y);
}

static int model_epochs(const char *path)
{
    rm_model m;
    cr_assert_eq(rm_model_load(&m, path), 0, "%s must stay readable: %s", path, rm_error_message());
    int n = m.num_epochs;
    rm_model_free(&m);
    return n;
}

/* records_done of a partial relevance file, -1 when it cannot be read. */
static long long partial_done(const char *path)
{
    H5E_auto2_t fn;
    void *data_;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data_);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    long long done = -1;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
        hid_t a = H5Aopen(f, "records_done", H5P_DEFAULT);
        int64_t v;
        if (a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &v) >= 0) done = v;
        if (a >= 0) H5Aclose(a);
        H5Fclose(f);
    }
    H5Eset_auto2(H5E_DEFAULT, fn, data_);
    return done;
}

static void assert_same_heatmaps(const char *a, const char *b)
{
    rm_relevance x, y;
    cr_assert_eq(rm_relevance_open(&x, a), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&y, b), 0, "%s", rm_error_message());
    cr_assert_eq(x.count, y.count);
    size_t n = (size_t)x.count * (size_t)x.height * (size_t)x.width;
    float *hx = malloc(sizeof(float) * n), *hy = malloc(sizeof(float) * n);
    cr_assert_eq(rm_relevance_read_heatmaps(&x, 0, x.count, hx), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_read_heatmaps(&y, 0, y.count, hy), 0, "%s", rm_error_message());
    cr_assert_eq(memcmp(hx, hy, sizeof(float) * n), 0, "the resumed run's heatmaps differ");
    cr_assert_eq(memcmp(x.index, y.index, sizeof(int64_t) * (size_t)x.count), 0);
    cr_assert_eq(memcmp(x.explained, y.explained, sizeof(int32_t) * (size_t)x.count), 0);
    cr_assert_eq(memcmp(x.score, y.score, sizeof(float) * (size_t)x.count), 0);
    free(hx);
    free(hy);
    rm_relevance_close(&x);
    rm_relevance_close(&y);
}

#define TRAIN_ARGS "train -t 1 --data %s --net %s --epochs %d --batch %d --seed 3 --lr 0.02"

Test(interrupt, train_sigint_and_sigterm_keep_a_consistent_checkpoint_and_resume_exactly)
{
    make_data(1200, 16);
    const char *ref = strdup(tu_path(dir, "ref.h5")), *m = strdup(tu_path(dir, "m.h5"));
    const char *ckpt = strdup(tu_path(dir, "m.h5.ckpt")), *log = strdup(tu_path(dir, "log"));
    char *out;
    int rc = tu_run_cli(&out, TRAIN_ARGS " --out %s", data, net, 30, 2, ref);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    /* SIGINT once the first checkpoint exists, SIGTERM during the resumed run */
    int sigs[2] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; k++) {
        int before = k ? model_epochs(ckpt) : 0;
        fu_opts o = {.show_progress = 1};
        pid_t pid = fu_spawn(log, &o, TRAIN_ARGS " --out %s%s", data, net, 30, 2, m, k ? " --resume" : "");
        if (k == 0) cr_assert(fu_wait_for_file(pid, ckpt, 60), "no checkpoint appeared");
        else cr_assert(fu_wait_for_text(pid, log, "resuming", 60), "the run did not resume");
        /* with --resume the checkpoint already exists: let an epoch pass */
        double t0 = fu_now();
        while (k && model_epochs(ckpt) == before && fu_now() - t0 < 60) fu_sleep(0.005);
        kill(pid, sigs[k]);
        assert_killed_by(fu_wait(pid), sigs[k], log);
        assert_no_temp_files();
        /* It says how to continue: the same command with --resume, once. */
        char *text = fu_read_file(log, NULL);
        cr_assert(text && strstr(text, "relmask: interrupted after a checkpoint; continue with:\n  "), "%s", text);
        char want[8192];
        snprintf(want, sizeof want, "--out %s --resume\n", m);
        cr_assert(strstr(text, want), "no '%s' in:\n%s", want, text);
        cr_assert(!strstr(text, "--resume --resume"), "%s", text);
        free(text);
        int done = model_epochs(ckpt);
        cr_assert(done > before && done < 30, "checkpoint after %d epochs (before: %d)", done, before);
        cr_assert_eq(model_epochs(m), done, "the model file and the checkpoint are of the same epoch");
    }
    rc = tu_run_cli(&out, TRAIN_ARGS " --out %s --resume", data, net, 30, 2, m);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    cr_assert(!tu_file_exists(ckpt), "a finished run removes its checkpoint");
    assert_same_model(ref, m);
    assert_no_temp_files();
}

Test(interrupt, train_stopped_in_its_first_epoch_leaves_the_earlier_model_byte_identical)
{
    make_data(9000, 16);
    const char *m = strdup(tu_path(dir, "m.h5")), *keep = strdup(tu_path(dir, "keep.h5"));
    const char *log = strdup(tu_path(dir, "log"));
    char *out;
    int rc = tu_run_cli(&out, TRAIN_ARGS " --out %s --force", data, net, 1, 64, m);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    fu_copy(m, keep);
    int sigs[2] = {SIGINT, SIGTERM};
    const char *ckpt = strdup(tu_path(dir, "m.h5.ckpt"));
    for (int k = 0; k < 2; k++) {
        /* A very slow test process may signal only after the first epoch
         * ended; then the run has replaced m.h5 as it should: try again. */
        for (int attempt = 0; attempt < 3; attempt++) {
            fu_opts o = {.show_progress = 1};
            remove(log);
            pid_t pid = fu_spawn(log, &o, TRAIN_ARGS " --out %s --force", data, net, 2, 1, m);
            cr_assert(fu_wait_for_text(pid, log, "(10%)", 60), "no progress line");
            kill(pid, sigs[k]);
            assert_killed_by(fu_wait(pid), sigs[k], log);
            assert_no_temp_files();
            if (!tu_file_exists(ckpt)) {
                /* Not silent: it says nothing was saved. */
                char *text = fu_read_file(log, NULL);
                cr_assert(text && strstr(text, "relmask: interrupted before the first epoch ended: nothing of this "
                                          "run was saved"), "%s", text ? text : "");
                cr_assert(!strstr(text, "--resume"), "%s", text);
                free(text);
                break;
            }
            cr_assert_lt(attempt, 2, "the first epoch always ended before the signal");
            remove(ckpt);
            fu_copy(keep, m);
        }
        cr_assert(fu_same_bytes(m, keep), "the earlier model must be untouched");
    }
}

#define REL_ARGS "relevance -t 1 --model %s --data %s --batch %d --out %s"

static void make_model(char *model, size_t size)
{
    snprintf(model, size, "%s", tu_path(dir, "model.h5"));
    char *out;
    int rc = tu_run_cli(&out, TRAIN_ARGS " --out %s", data, net, 1, 32, model);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
}

Test(interrupt, relevance_sigint_and_sigterm_keep_the_partial_file_and_resume_exactly)
{
    make_data(3000, 16);
    char model[4096];
    make_model(model, sizeof model);
    const char *ref = strdup(tu_path(dir, "ref.h5")), *r = strdup(tu_path(dir, "r.h5"));
    const char *keep = strdup(tu_path(dir, "keep.h5")), *partial = strdup(tu_path(dir, ".r.h5.partial"));
    const char *log = strdup(tu_path(dir, "log"));
    char *out;
    int rc = tu_run_cli(&out, REL_ARGS, model, data, 1, ref);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, REL_ARGS " --count 40", model, data, 8, r);   /* the earlier output */
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    fu_copy(r, keep);
    int sigs[2] = {SIGINT, SIGTERM};
    long long before = 0;
    for (int k = 0; k < 2; k++) {
        fu_opts o = {.show_progress = 1};
        remove(log);
        pid_t pid = fu_spawn(log, &o, REL_ARGS " --force%s", model, data, 1, r, k ? " --resume" : "");
        cr_assert(fu_wait_for_text(pid, log, k ? "(50%)" : "(10%)", 60), "no progress line");
        kill(pid, sigs[k]);
        assert_killed_by(fu_wait(pid), sigs[k], log);
        assert_no_temp_files();
        cr_assert(fu_same_bytes(r, keep), "the earlier output must be untouched");
        long long done = partial_done(partial);
        /* It says how far it got and how to continue, as train does. */
        char *note = fu_read_file(log, NULL), want[256];
        snprintf(want, sizeof want, "relmask: relevance: interrupted after %lld of 3000 records; continue with "
                 "--resume (the same command plus --resume)\n", done);
        cr_assert(note && strstr(note, want), "no '%s' in:\n%s", want, note ? note : "");
        free(note);
        if (k) {
            char *text = fu_read_file(log, NULL);
            cr_assert(strstr(text, "resuming after") && !strstr(text, "afresh"), "the partial file was usable:\n%s",
                      text);
            free(text);
        }
        cr_assert(done > before && done < 3000, "partial file: records_done %lld (before %lld)", done, before);
        before = done;
    }
    rc = tu_run_cli(&out, REL_ARGS " --force --resume", model, data, 1, r);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(!strstr(out, "afresh"), "a partial file left by a signal is never damaged:\n%s", out);
    free(out);
    cr_assert(!tu_file_exists(partial));
    assert_same_heatmaps(ref, r);
    assert_no_temp_files();
}

Test(interrupt, encode_sigint_sigterm_and_sighup_remove_the_temporary_file_and_keep_the_earlier_output)
{
    make_data(4000, 48);
    char model[4096];
    snprintf(net, sizeof net, "%s", tu_path(dir, "net48.cfg"));
    tu_write_text(net, "[net]\ninput = 1x48x48\nclasses = 7\n[dense]\nunits = 7\n");
    make_model(model, sizeof model);
    const char *rel = strdup(tu_path(dir, "rel.h5")), *e = strdup(tu_path(dir, "e.h5"));
    const char *keep = strdup(tu_path(dir, "keep.h5")), *log = strdup(tu_path(dir, "log"));
    char *out;
    int rc = tu_run_cli(&out, REL_ARGS, model, data, 256, rel);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "encode -q -t 1 --data %s --relevance %s --mode mean --out %s", data, rel, e);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    fu_copy(e, keep);
    int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int k = 0; k < 3; k++) {
        fu_opts o = {.show_progress = 1};
        remove(log);
        pid_t pid = fu_spawn(log, &o, "encode -t 1 --data %s --relevance %s --mode blur --blur-sigma 6 --out %s --force",
                             data, rel, e);
        cr_assert(fu_wait_for_text(pid, log, "img (", 60), "no progress line");
        kill(pid, sigs[k]);
        assert_killed_by(fu_wait(pid), sigs[k], log);
        assert_no_temp_files();
        cr_assert(fu_same_bytes(e, keep), "the earlier output must be untouched");
    }
}

/* kill -9 at `kills` moments drawn from `seed` over a run that takes about
 * `span` seconds; after each, every file in `check` that exists must open. */
static double uniform(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / 9007199254740992.0;
}

Test(interrupt, train_killed_at_random_moments_resumes_to_the_uninterrupted_model)
{
    make_data(1200, 16);
    const char *ref = strdup(tu_path(dir, "ref.h5")), *m = strdup(tu_path(dir, "m.h5"));
    const char *ckpt = strdup(tu_path(dir, "m.h5.ckpt")), *log = strdup(tu_path(dir, "log"));
    const char *dcopy = strdup(tu_path(dir, "d-copy.h5"));
    fu_copy(data, dcopy);
    char *out;
    double t0 = fu_now();
    int rc = tu_run_cli(&out, TRAIN_ARGS " --out %s", data, net, 12, 2, ref);
    double span = fu_now() - t0;
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    uint64_t rng = 20261125;
    int killed = 0;
    pid_t pids[5];
    for (int k = 0; k < 5; k++) {
        int resume = tu_file_exists(ckpt);
        pid_t pid = pids[k] = fu_spawn(log, NULL, TRAIN_ARGS " --out %s %s", data, net, 12, 2, m, resume ? "--resume" : "--force");
        fu_sleep((0.05 + 0.4 * uniform(&rng)) * span);
        killed += kill(pid, SIGKILL) == 0;
        fu_wait(pid);
        cr_assert(fu_same_bytes(data, dcopy), "the input is untouched");
        if (tu_file_exists(m)) model_epochs(m);
        if (tu_file_exists(ckpt)) model_epochs(ckpt);
    }
    cr_assert_geq(killed, 4);
    rc = tu_run_cli(&out, TRAIN_ARGS " --out %s %s", data, net, 12, 2, m, tu_file_exists(ckpt) ? "--resume" : "--force");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    assert_same_model(ref, m);
    cr_assert(!tu_file_exists(ckpt));
    assert_temp_files_only_of(pids, 5);
}

Test(interrupt, relevance_killed_at_random_moments_resumes_to_the_same_heatmaps)
{
    make_data(1500, 16);
    char model[4096];
    make_model(model, sizeof model);
    const char *ref = strdup(tu_path(dir, "ref.h5")), *r = strdup(tu_path(dir, "r.h5"));
    const char *partial = strdup(tu_path(dir, ".r.h5.partial")), *log = strdup(tu_path(dir, "log"));
    const char *mcopy = strdup(tu_path(dir, "model-copy.h5"));
    fu_copy(model, mcopy);
    char *out;
    double t0 = fu_now();
    int rc = tu_run_cli(&out, REL_ARGS, model, data, 1, ref);
    double span = fu_now() - t0;
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    uint64_t rng = 6;
    /* each run continues the last: short delays, so that all five land */
    int killed = 0;
    for (int k = 0; k < 5 && !tu_file_exists(r); k++) {
        pid_t pid = fu_spawn(log, NULL, REL_ARGS " --resume", model, data, 1, r);
        fu_sleep((0.03 + 0.15 * uniform(&rng)) * span);
        killed += kill(pid, SIGKILL) == 0;
        fu_wait(pid);
        cr_assert(fu_same_bytes(model, mcopy), "the input is untouched");
    }
    cr_assert_geq(killed, 4);
    rc = tu_run_cli(&out, REL_ARGS " --resume --force", model, data, 1, r);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    cr_assert(!tu_file_exists(partial));
    assert_same_heatmaps(ref, r);
    assert_no_temp_files();
}

Test(interrupt, stale_temporary_files_of_killed_processes_are_removed_by_the_next_write)
{
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    fu_wait(gone);
    char old_dead[256], new_dead[256], old_live[256];
    snprintf(old_dead, sizeof old_dead, ".x.h5.tmp-%ld", (long)gone);
    snprintf(new_dead, sizeof new_dead, ".x.h5.tmp-%ld", (long)gone + 1000000);
    snprintf(old_live, sizeof old_live, ".x.h5.tmp-%ld", (long)getpid());
    const char *names[3] = {old_dead, new_dead, old_live};
    for (int i = 0; i < 3; i++) {
        tu_write_text(tu_path(dir, names[i]), "half a file");
        if (i != 1) {
            struct timeval tv[2] = {{time(NULL) - 120, 0}, {time(NULL) - 120, 0}};
            cr_assert_eq(utimes(tu_path(dir, names[i]), tv), 0);
        }
    }
    char *out;
    int rc = tu_run_cli(&out, "synth -q -t 1 -n 20 --size 16 -o %s", tu_path(dir, "x.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    cr_assert(!tu_file_exists(tu_path(dir, old_dead)), "a dead process's old temporary file is removed");
    cr_assert(tu_file_exists(tu_path(dir, new_dead)), "a recent one is kept (it may be another namespace's)");
    cr_assert(tu_file_exists(tu_path(dir, old_live)), "a live process's is kept");
}

Test(interrupt, encode_killed_at_random_moments_leaves_the_earlier_output_byte_identical)
{
    make_data(3000, 48);
    char model[4096];
    snprintf(net, sizeof net, "%s", tu_path(dir, "net48.cfg"));
    tu_write_text(net, "[net]\ninput = 1x48x48\nclasses = 7\n[dense]\nunits = 7\n");
    make_model(model, sizeof model);
    const char *rel = strdup(tu_path(dir, "rel.h5")), *e = strdup(tu_path(dir, "e.h5"));
    const char *keep = strdup(tu_path(dir, "keep.h5")), *log = strdup(tu_path(dir, "log"));
    char *out;
    int rc = tu_run_cli(&out, REL_ARGS, model, data, 256, rel);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "encode -q -t 1 --data %s --relevance %s --mode mean --out %s", data, rel, e);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    fu_copy(e, keep);
    double t0 = fu_now();
    rc = tu_run_cli(&out, "encode -q -t 1 --data %s --relevance %s --mode blur --blur-sigma 6 --out %s", data, rel,
                    tu_path(dir, "timing.h5"));
    double span = fu_now() - t0;
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    uint64_t rng = 48;
    pid_t pids[3];
    for (int k = 0; k < 3; k++) {
        pids[k] = fu_spawn(log, NULL, "encode -t 1 --data %s --relevance %s --mode blur --blur-sigma 6 --out %s --force",
                           data, rel, e);
        fu_sleep((0.1 + 0.6 * uniform(&rng)) * span);
        kill(pids[k], SIGKILL);
        fu_wait(pids[k]);
        if (fu_same_bytes(e, keep)) continue;
        /* the run finished before the kill: a complete new version */
        rm_dataset ds;
        cr_assert_eq(rm_dataset_open(&ds, e), 0, "%s", rm_error_message());
        rm_dataset_close(&ds);
        fu_copy(e, keep);
    }
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, e), 0, "the earlier output stays readable: %s", rm_error_message());
    rm_dataset_close(&ds);
    assert_temp_files_only_of(pids, 3);
}
