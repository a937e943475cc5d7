/* Full disk and read-only places, for real: ingest, synth, train, relevance
 * and encode under RLIMIT_FSIZE (writes fail with EFBIG, as on a full
 * filesystem) and into a read-only directory exit 1 with a message naming
 * the output, leave no temporary file, and keep the previous output
 * byte-identical. As root, file modes do not stop writes, so the read-only
 * cases run the child as nobody. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault_util.h"
#include "test_util.h"

static char *dir;
static char mounted[4200];
static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void)
{
    if (mounted[0]) umount2(mounted, MNT_DETACH);
    tu_rmtree(dir);
}
TestSuite(disk_faults, .init = setup, .fini = teardown, .timeout = 120);

static char data[4096], net[4096], model[4096], rel[4096];

static void cli_ok(const char *cmd)
{
    char *out;
    int rc = tu_run_cli(&out, "%s", cmd);
    cr_assert_eq(rc, 0, "%s: exit %d\n%s", cmd, rc, out);
    free(out);
}

/* A dataset, a model and a relevance file, all small. */
static void make_inputs(void)
{
    snprintf(data, sizeof data, "%s", tu_path(dir, "d.h5"));
    snprintf(net, sizeof net, "%s", tu_path(dir, "net.cfg"));
    snprintf(model, sizeof model, "%s", tu_path(dir, "m.h5"));
    snprintf(rel, sizeof rel, "%s", tu_path(dir, "r.h5"));
    tu_write_text(net, "[net]\ninput = 1x16x16\nclasses = 7\n[dense]\nunits = 64\nactivation = relu\n[dense]\nunits = 7\n");
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "synth -q -t 1 -n 700 --size 16 -o %s", data);
    cli_ok(cmd);
    snprintf(cmd, sizeof cmd, "train -q -t 1 --data %s --net %s --epochs 2 --batch 16 --out %s", data, net, model);
    cli_ok(cmd);
    snprintf(cmd, sizeof cmd, "relevance -q -t 1 --model %s --data %s --out %s", model, data, rel);
    cli_ok(cmd);
}

/* Runs `args` (whose output is `out`, written before by a normal run and
 * copied to keep) under `opts` and checks the failure is clean. */
static void expect_clean_failure(const fu_opts *opts, const char *out, const char *args)
{
    char keep[4200], log[4200], outdir[4096];
    snprintf(keep, sizeof keep, "%s/keep.h5", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(outdir, sizeof outdir, "%s", out);
    *strrchr(outdir, '/') = 0;
    fu_copy(out, keep);
    remove(log);
    int status = fu_wait(fu_spawn(log, opts, "%s", args));
    char *text = fu_read_file(log, NULL);
    if (opts->as_nobody && WIFEXITED(status) && WEXITSTATUS(status) == 124) {
        free(text);
        cr_skip("cannot run a child as nobody here (%s)", args);
    }
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s: expected exit 1, got %s\n%s", args,
              fu_status_text(status), text);
    cr_assert(strstr(text, out) && strstr(text, "relmask: error:"), "the message must name %s:\n%s", out, text);
    cr_assert(!strstr(text, "HDF5-DIAG"), "no raw HDF5 error stack:\n%s", text);
    const char *t = fu_temp_file(outdir);
    cr_assert(!t, "%s: temporary file %s left behind", args, t);
    cr_assert(fu_same_bytes(out, keep), "%s: the previous %s must be untouched", args, out);
    free(text);
}

/* An NPY file: magic, version 1.0, header padded to 64 bytes, data. */
static void write_npy(const char *path, const char *descr, const char *shape, const void *body, size_t size)
{
    char header[128];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    int total = (10 + n + 1 + 63) / 64 * 64;
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    uint16_t hlen = (uint16_t)(total - 10);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fwrite(&hlen, 2, 1, f);
    fwrite(header, 1, (size_t)n, f);
    for (int i = 10 + n; i < total - 1; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(body, 1, size, f);
    fclose(f);
}

static const fu_opts full = {.fsize_limit = 12 * 1024};

Test(disk_faults, full_disk_ingest_and_synth)
{
    enum { N = 400 };
    static uint8_t images[N * 32 * 32];
    int64_t labels[N];
    for (int i = 0; i < N * 32 * 32; i++) images[i] = (uint8_t)(i * 2654435761u >> 24);
    for (int i = 0; i < N; i++) labels[i] = i % 4;
    const char *npy = strdup(tu_path(dir, "x.npy")), *lab = strdup(tu_path(dir, "y.npy"));
    const char *out = strdup(tu_path(dir, "ing.h5")), *syn = strdup(tu_path(dir, "s.h5"));
    write_npy(npy, "|u1", "(400, 32, 32)", images, sizeof images);
    write_npy(lab, "<i8", "(400,)", labels, sizeof labels);
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "ingest npy %s --labels %s -q -o %s --deflate 0", npy, lab, out);
    cli_ok(cmd);
    snprintf(cmd, sizeof cmd, "ingest npy %s --labels %s -q -o %s --deflate 0 --force --seed 2", npy, lab, out);
    expect_clean_failure(&full, out, cmd);
    snprintf(cmd, sizeof cmd, "synth -q -t 1 -n 300 --size 32 -o %s", syn);
    cli_ok(cmd);
    snprintf(cmd, sizeof cmd, "synth -q -t 1 -n 300 --size 32 -o %s --force --seed 2", syn);
    expect_clean_failure(&full, syn, cmd);
}

Test(disk_faults, full_disk_train_relevance_encode)
{
    make_inputs();
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "train -q -t 1 --data %s --net %s --epochs 2 --batch 16 --seed 5 --force --out %s",
             data, net, model);
    expect_clean_failure(&full, model, cmd);
    cr_assert(!tu_file_exists(tu_path(dir, "m.h5.ckpt")));
    snprintf(cmd, sizeof cmd, "relevance -q -t 1 --model %s --data %s --force --composite epsilon --out %s", model,
             data, rel);
    expect_clean_failure(&full, rel, cmd);
    const char *enc = strdup(tu_path(dir, "e.h5"));
    char first[20000];
    snprintf(first, sizeof first, "encode -q -t 1 --data %s --relevance %s --mode mean --out %s", data, rel, enc);
    cli_ok(first);
    snprintf(cmd, sizeof cmd, "encode -q -t 1 --data %s --relevance %s --mode zero --force --out %s", data, rel, enc);
    expect_clean_failure(&full, enc, cmd);
}

/* A read-only directory holding the previous outputs. */
static const char *read_only_dir(fu_opts *opts)
{
    const char *ro = strdup(tu_path(dir, "ro"));
    cr_assert_eq(mkdir(ro, 0755), 0);
    const char *names[] = {"d.h5", "m.h5", "r.h5", "e.h5"};
    for (int i = 0; i < 4; i++) fu_copy(tu_path(dir, names[i]), tu_path(ro, names[i]));
    cr_assert_eq(chmod(ro, 0555), 0);
    opts->as_nobody = geteuid() == 0;
    if (opts->as_nobody) {
        /* nobody must reach the inputs */
        cr_assert_eq(chmod(dir, 0755), 0);
        for (int i = 0; i < 4; i++) chmod(tu_path(dir, names[i]), 0644);
        chmod(net, 0644);
        /* a checkout under /root is out of nobody's reach: use a copy of
         * the binary in the scratch directory, or skip */
        fu_opts probe = {.as_nobody = 1};
        int status = fu_wait(fu_spawn(tu_path(dir, "probe.log"), &probe, "info %s", data));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            const char *bin = getenv("RELMASK_BIN"), *copy = strdup(tu_path(dir, "relmask"));
            fu_copy(bin && *bin ? bin : "build/relmask", copy);
            chmod(copy, 0755);
            setenv("RELMASK_BIN", copy, 1);   /* this test's process only */
            status = fu_wait(fu_spawn(tu_path(dir, "probe.log"), &probe, "info %s", data));
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            chmod(ro, 0755);
            cr_skip("running relmask as nobody here fails (%s): the binary or %s is out of its reach",
                    fu_status_text(status), dir);
        }
    }
    return ro;
}

Test(disk_faults, read_only_directory)
{
    make_inputs();
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "encode -q -t 1 --data %s --relevance %s --mode mean --out %s", data, rel,
             tu_path(dir, "e.h5"));
    cli_ok(cmd);
    fu_opts ro_opts = {0};
    const char *ro = read_only_dir(&ro_opts);
    char out[4200];
    snprintf(out, sizeof out, "%s/d.h5", ro);
    snprintf(cmd, sizeof cmd, "synth -q -t 1 -n 100 --size 16 --force -o %s", out);
    expect_clean_failure(&ro_opts, out, cmd);
    snprintf(out, sizeof out, "%s/m.h5", ro);
    snprintf(cmd, sizeof cmd, "train -q -t 1 --data %s --net %s --epochs 1 --batch 16 --force --out %s", data, net, out);
    expect_clean_failure(&ro_opts, out, cmd);
    snprintf(out, sizeof out, "%s/r.h5", ro);
    snprintf(cmd, sizeof cmd, "relevance -q -t 1 --model %s --data %s --force --out %s", model, data, out);
    expect_clean_failure(&ro_opts, out, cmd);
    snprintf(out, sizeof out, "%s/e.h5", ro);
    snprintf(cmd, sizeof cmd, "encode -q -t 1 --data %s --relevance %s --mode zero --force --out %s", data, rel, out);
    expect_clean_failure(&ro_opts, out, cmd);
    chmod(ro, 0755);
}

/* A really full filesystem (ENOSPC): a 64 KiB tmpfs, where mounting one is
 * allowed (root with CAP_SYS_ADMIN); skipped elsewhere. */
Test(disk_faults, full_tmpfs)
{
    make_inputs();
    snprintf(mounted, sizeof mounted, "%s/small", dir);
    cr_assert_eq(mkdir(mounted, 0755), 0);
    if (mount("tmpfs", mounted, "tmpfs", 0, "size=64k") != 0) {
        mounted[0] = 0;
        cr_skip("cannot mount a tmpfs here");
    }
    const char *s = strdup(tu_path(mounted, "s.h5"));
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "synth -q -t 1 -n 20 --size 16 -o %s", s);
    cli_ok(cmd);
    fu_opts none = {0};
    snprintf(cmd, sizeof cmd, "synth -q -t 1 -n 300 --size 32 --seed 2 --force -o %s", s);
    expect_clean_failure(&none, s, cmd);
    char *out;
    const char *m = tu_path(mounted, "m.h5");
    int rc = tu_run_cli(&out, "train -q -t 1 --data %s --net %s --epochs 1 --batch 16 --out %s", data, net, m);
    cr_assert(rc == 1 && strstr(out, m) && strstr(out, "No space left on device"), "exit %d: %s", rc, out);
    free(out);
    cr_assert(!fu_temp_file(mounted), "temporary file %s left behind", fu_temp_file(mounted));
    cr_assert(!tu_file_exists(m));
}
