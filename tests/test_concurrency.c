/* Concurrency, with real processes: relmask processes writing different
 * outputs in one directory at the same time each produce what they produce
 * alone; two writing the same output leave one complete version; and a
 * reader of a file that another process replaces (synth --force, or train
 * rewriting its model every epoch) only ever sees a complete version. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fault_util.h"
#include "core/dataset.h"
#include "core/error.h"
#include "nn/model_file.h"
#include "core/relevance_file.h"
#include "test_util.h"

static char *dir;
static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(concurrency, .init = setup, .fini = teardown, .timeout = 180);

static const char *const net_text =
    "[net]\ninput = 1x16x16\nclasses = 7\n[dense]\nunits = 64\nactivation = relu\n[dense]\nunits = 7\n";

static void cli_ok(const char *cmd)
{
    char *out;
    int rc = tu_run_cli(&out, "%s", cmd);
    cr_assert_eq(rc, 0, "%s: exit %d\n%s", cmd, rc, out);
    free(out);
}

/* The content fingerprint of a dataset file, or "" with the error. */
static int dataset_fp(const char *path, char fp[17])
{
    rm_dataset ds;
    fp[0] = 0;
    if (rm_dataset_open(&ds, path) != 0) return -1;
    int rc = rm_dataset_content_fingerprint(&ds, fp);
    rm_dataset_close(&ds);
    return rc;
}

static void model_fp(const char *path, char fp[17])
{
    rm_model m;
    cr_assert_eq(rm_model_load(&m, path), 0, "%s", rm_error_message());
    rm_model_fingerprint(fp, &m);
    rm_model_free(&m);
}

/* Starts the commands at once, waits for all; each must succeed. */
static void run_together(int n, char cmds[][16384])
{
    pid_t pids[4];
    char logs[4][4200];
    for (int i = 0; i < n; i++) {
        snprintf(logs[i], sizeof logs[i], "%s/log%d", dir, i);
        pids[i] = fu_spawn(logs[i], NULL, "%s", cmds[i]);
    }
    for (int i = 0; i < n; i++) {
        int status = fu_wait(pids[i]);
        char *text = fu_read_file(logs[i], NULL);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s\n%s", cmds[i], fu_status_text(status), text);
        free(text);
    }
}

Test(concurrency, processes_writing_different_outputs_in_one_directory)
{
    const char *net = strdup(tu_path(dir, "net.cfg"));
    tu_write_text(net, net_text);
    /* alone first, in a subdirectory, for reference */
    char ref[1024], cmd[4][16384];
    snprintf(ref, sizeof ref, "%s/ref", dir);
    cr_assert_eq(mkdir(ref, 0755), 0);
    snprintf(cmd[0], sizeof cmd[0], "synth -t 1 -n 1500 --size 16 --seed 1 -o %s/a.h5", ref);
    snprintf(cmd[1], sizeof cmd[1], "synth -t 1 -n 1500 --size 16 --seed 2 -o %s/b.h5", ref);
    cli_ok(cmd[0]);
    cli_ok(cmd[1]);
    snprintf(cmd[0], sizeof cmd[0], "train -t 1 --data %s/a.h5 --net %s --epochs 3 --batch 8 --out %s/ma.h5", ref, net, ref);
    snprintf(cmd[1], sizeof cmd[1], "train -t 1 --data %s/b.h5 --net %s --epochs 3 --batch 8 --out %s/mb.h5", ref, net, ref);
    cli_ok(cmd[0]);
    cli_ok(cmd[1]);
    snprintf(cmd[0], sizeof cmd[0], "relevance -t 1 --model %s/ma.h5 --data %s/a.h5 --batch 4 --out %s/ra.h5", ref, ref, ref);
    cli_ok(cmd[0]);

    /* the same, two (or three) at a time in one directory */
    snprintf(cmd[0], sizeof cmd[0], "synth -t 1 -n 1500 --size 16 --seed 1 -o %s/a.h5", dir);
    snprintf(cmd[1], sizeof cmd[1], "synth -t 1 -n 1500 --size 16 --seed 2 -o %s/b.h5", dir);
    run_together(2, cmd);
    snprintf(cmd[0], sizeof cmd[0], "train -t 1 --data %s/a.h5 --net %s --epochs 3 --batch 8 --out %s/ma.h5", dir, net, dir);
    snprintf(cmd[1], sizeof cmd[1], "train -t 1 --data %s/b.h5 --net %s --epochs 3 --batch 8 --out %s/mb.h5", dir, net, dir);
    snprintf(cmd[2], sizeof cmd[2], "relevance -t 1 --model %s/ma.h5 --data %s/a.h5 --batch 4 --out %s/ra.h5", ref, dir, dir);
    run_together(3, cmd);

    const char *names[] = {"a.h5", "b.h5"};
    for (int i = 0; i < 2; i++) {
        char x[17], y[17];
        cr_assert_eq(dataset_fp(tu_path(ref, names[i]), x), 0, "%s", rm_error_message());
        cr_assert_eq(dataset_fp(tu_path(dir, names[i]), y), 0, "%s", rm_error_message());
        cr_assert_str_eq(x, y, "%s written beside another writer differs from one written alone", names[i]);
    }
    const char *models[] = {"ma.h5", "mb.h5"};
    for (int i = 0; i < 2; i++) {
        char x[17], y[17];
        model_fp(tu_path(ref, models[i]), x);
        model_fp(tu_path(dir, models[i]), y);
        cr_assert_str_eq(x, y, "%s trained beside other writers differs from one trained alone", models[i]);
        char ck[64];
        snprintf(ck, sizeof ck, "%s.ckpt", models[i]);
        cr_assert(!tu_file_exists(tu_path(dir, ck)));
    }
    rm_relevance p, q;
    cr_assert_eq(rm_relevance_open(&p, tu_path(ref, "ra.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&q, tu_path(dir, "ra.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(p.count, q.count);
    cr_assert_eq(memcmp(p.sum, q.sum, sizeof(float) * (size_t)p.count), 0);
    rm_relevance_close(&p);
    rm_relevance_close(&q);
    cr_assert(!fu_temp_file(dir), "temporary file %s left behind", fu_temp_file(dir));
    cr_assert(!tu_file_exists(tu_path(dir, ".ra.h5.partial")));
}

Test(concurrency, two_writers_of_one_output_leave_one_complete_version)
{
    char cmd[2][16384], fp[2][17], got[17];
    for (int i = 0; i < 2; i++) {
        snprintf(cmd[i], sizeof cmd[i], "synth -t 1 -n 1200 --size 16 --seed %d -o %s/v%d.h5", i + 1, dir, i);
        cli_ok(cmd[i]);
        cr_assert_eq(dataset_fp(tu_path(dir, i ? "v1.h5" : "v0.h5"), fp[i]), 0, "%s", rm_error_message());
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2; i++)
            snprintf(cmd[i], sizeof cmd[i], "synth -t 1 -n 1200 --size 16 --seed %d -o %s/x.h5 --force", i + 1, dir);
        run_together(2, cmd);
        cr_assert_eq(dataset_fp(tu_path(dir, "x.h5"), got), 0, "%s", rm_error_message());
        cr_assert(!strcmp(got, fp[0]) || !strcmp(got, fp[1]), "x.h5 is neither writer's version");
        cr_assert(!fu_temp_file(dir), "temporary file %s left behind", fu_temp_file(dir));
    }
}

/* Reads `path` in a loop while `pid` runs; every read must give one of the
 * complete versions in fps (or, for a file not yet there, a clean error). */
static void read_while_running(pid_t pid, const char *path, char fps[][17], int nfp, int *reads)
{
    char got[17];
    while (fu_running(pid)) {
        cr_assert_eq(dataset_fp(path, got), 0, "a read while %s was replaced failed: %s", path, rm_error_message());
        int known = 0;
        for (int i = 0; i < nfp; i++) known |= !strcmp(got, fps[i]);
        cr_assert(known, "read a version of %s that no writer wrote (fingerprint %s)", path, got);
        (*reads)++;
    }
}

Test(concurrency, a_reader_never_sees_a_torn_dataset_while_it_is_replaced)
{
    char fps[2][17], cmd[16384];
    const char *x = strdup(tu_path(dir, "x.h5")), *log = strdup(tu_path(dir, "log"));
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "synth -t 1 -n %d --size 24 --seed %d -o %s/v%d.h5", 800 + 400 * i, i + 1, dir, i);
        cli_ok(cmd);
        cr_assert_eq(dataset_fp(tu_path(dir, i ? "v1.h5" : "v0.h5"), fps[i]), 0, "%s", rm_error_message());
    }
    fu_copy(tu_path(dir, "v0.h5"), x);
    int reads = 0;
    for (int k = 0; k < 6; k++) {
        pid_t pid = fu_spawn(log, NULL, "synth -t 1 -n %d --size 24 --seed %d -o %s --force", 800 + 400 * (k % 2),
                             k % 2 + 1, x);
        read_while_running(pid, x, fps, 2, &reads);
        int status = fu_wait(pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer: %s", fu_status_text(status));
    }
    cr_log_info("%d complete reads while x.h5 was replaced 6 times", reads);
    cr_assert_gt(reads, 0, "the reader read complete versions (%d reads)", reads);
}

Test(concurrency, a_reader_never_sees_a_torn_model_while_train_rewrites_it)
{
    const char *net = strdup(tu_path(dir, "net.cfg")), *data = strdup(tu_path(dir, "d.h5"));
    const char *m = strdup(tu_path(dir, "m.h5")), *ckpt = strdup(tu_path(dir, "m.h5.ckpt"));
    const char *log = strdup(tu_path(dir, "log"));
    tu_write_text(net, net_text);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "synth -q -t 1 -n 1200 --size 16 -o %s", data);
    cli_ok(cmd);
    pid_t pid = fu_spawn(log, NULL, "train -t 1 --data %s --net %s --epochs 25 --batch 4 --out %s", data, net, m);
    cr_assert(fu_wait_for_file(pid, m, 60), "no model appeared");
    int reads = 0, last_epochs = 0;
    while (fu_running(pid)) {
        const char *paths[2] = {m, ckpt};
        for (int i = 0; i < 2; i++) {
            /* Only the checkpoint may be missing: the first epoch writes it
             * just after the model file, and the finished run removes it.
             * It may appear or vanish during the load, so a failed load is
             * a torn read only when the file was there before and after. */
            int was_there = tu_file_exists(paths[i]);
            rm_model mod;
            if (rm_model_load(&mod, paths[i]) != 0) {
                cr_assert(i == 1 && (!was_there || !tu_file_exists(ckpt)), "%s: %s", paths[i], rm_error_message());
                continue;
            }
            cr_assert(mod.num_epochs >= 1 && mod.num_epochs <= 25 && mod.best_epoch >= 1);
            if (i == 0) {
                cr_assert_geq(mod.num_epochs, last_epochs, "epochs never go backwards");
                last_epochs = mod.num_epochs;
            }
            for (int t = 0; t < mod.num_tensors; t++)
                for (int64_t j = 0; j < mod.tensors[t].count; j++)
                    cr_assert(isfinite(mod.tensors[t].data[j]));
            rm_model_free(&mod);
            reads++;
        }
    }
    int status = fu_wait(pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "train: %s", fu_status_text(status));
    cr_log_info("%d complete model reads while train rewrote them", reads);
    cr_assert_gt(reads, 0, "%d reads", reads);
    rm_model fin;
    cr_assert_eq(rm_model_load(&fin, m), 0, "%s", rm_error_message());
    cr_assert_eq(fin.num_epochs, 25);
    rm_model_free(&fin);
}

Test(concurrency, a_second_relevance_run_on_the_same_output_stops_without_harming_the_first)
{
    const char *net = strdup(tu_path(dir, "net.cfg")), *data = strdup(tu_path(dir, "d.h5"));
    const char *m = strdup(tu_path(dir, "m.h5")), *r = strdup(tu_path(dir, "r.h5"));
    const char *ref = strdup(tu_path(dir, "ref.h5")), *partial = strdup(tu_path(dir, ".r.h5.partial"));
    const char *log = strdup(tu_path(dir, "log")), *log2 = strdup(tu_path(dir, "log2"));
    tu_write_text(net, net_text);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "synth -q -t 1 -n 1500 --size 16 -o %s", data);
    cli_ok(cmd);
    snprintf(cmd, sizeof cmd, "train -q -t 1 --data %s --net %s --epochs 1 --batch 32 --out %s", data, net, m);
    cli_ok(cmd);
    snprintf(cmd, sizeof cmd, "relevance -q -t 1 --model %s --data %s --batch 1 --out %s", m, data, ref);
    cli_ok(cmd);
    fu_opts o = {.show_progress = 1};
    pid_t first = fu_spawn(log, &o, "relevance -t 1 --model %s --data %s --batch 1 --out %s", m, data, r);
    cr_assert(fu_wait_for_text(first, log, "(10%)", 60), "no progress line");
    /* a fresh run, and one that tries to resume the running one's partial file */
    const char *extra[2] = {"", " --resume"};
    for (int i = 0; i < 2; i++) {
        remove(log2);
        int status = fu_wait(fu_spawn(log2, NULL, "relevance -t 1 --model %s --data %s --batch 1 --out %s%s", m, data,
                                      r, extra[i]));
        char *text = fu_read_file(log2, NULL);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "second writer: %s\n%s", fu_status_text(status),
                  text);
        cr_assert(strstr(text, "another process is writing it"), "%s", text);
        free(text);
        cr_assert(tu_file_exists(partial), "the first run's partial file is still there");
    }
    int status = fu_wait(first);
    char *text = fu_read_file(log, NULL);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "first writer: %s\n%s", fu_status_text(status), text);
    free(text);
    rm_relevance p, q;
    cr_assert_eq(rm_relevance_open(&p, ref), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&q, r), 0, "%s", rm_error_message());
    cr_assert_eq(memcmp(p.sum, q.sum, sizeof(float) * (size_t)p.count), 0, "the first run's output is complete");
    rm_relevance_close(&p);
    rm_relevance_close(&q);
}
