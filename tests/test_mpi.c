/* relmask relevance and train under mpirun (docs/scale.md, "MPI"). With 2
 * and 3 ranks (oversubscribed on a small machine) the relevance file equals
 * one process's bit for bit, with an uneven record count, with more ranks
 * than records, and after a rank is killed and the run resumed; training
 * equals one process of the same global batch within float tolerance, and
 * resumes on the same ranks bit for bit; predictions equal one process's
 * bit for bit, also when a rank has no records; encoded datasets equal one
 * process's value for value, also with more ranks than blocks, and a
 * failure on one rank leaves nothing behind; ranks reading other inputs, and
 * commands that do not shard, are refused with one clear message. These
 * tests need the MPI build (make check MPI=1); in the plain build they are
 * skipped. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "core/ranks.h"
#include "core/relevance_file.h"
#include "nn/model_file.h"
#include "test_util.h"

static char *dir;

/* Local shared memory only, any number of ranks on any core count, and
 * root allowed (CI runs as root). */
static const char mpirun[] = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                             "mpirun --oversubscribe --bind-to none --mca btl self,vader";

static const char *bin(void)
{
    const char *b = getenv("RELMASK_BIN");
    return b && *b ? b : "build-mpi/relmask";
}

static void cli_ok(const char *args)
{
    char *out;
    int code = tu_run_cli(&out, "%s", args);
    cr_assert_eq(code, 0, "relmask %s exited %d:\n%s", args, code, out);
    free(out);
}

/* Runs `mpirun -np ranks relmask <args>`; returns the exit code. */
static int run_ranks(char **out, int ranks, const char *args)
{
    return tu_run_sh(out, "%s -np %d %s %s", mpirun, ranks, bin(), args);
}

static void setup(void)
{
    if (!rm_ranks_built_with_mpi()) return;
    dir = tu_scratch_dir();
    tu_write_text(tu_path(dir, "net.cfg"), tu_tiny_net_text);
    char args[4096];
    snprintf(args, sizeof args, "synth -q -n 203 --size 16 --seed 2 -o %s", tu_path(dir, "d.h5"));
    cli_ok(args);
    snprintf(args, sizeof args, "train -q -t 1 --data %s --net %s --out %s --epochs 1 --batch 16",
             tu_path(dir, "d.h5"), tu_path(dir, "net.cfg"), tu_path(dir, "m.h5"));
    cli_ok(args);
    rm_log_set_quiet(1);
}

static void teardown(void)
{
    if (dir) tu_rmtree(dir);
    dir = NULL;
}

TestSuite(mpi, .init = setup, .fini = teardown, .timeout = 180);

#define NEED_MPI()                                                                           \
    do {                                                                                     \
        if (!rm_ranks_built_with_mpi()) cr_skip_test("needs the MPI build (make check MPI=1)"); \
    } while (0)

/* The same records, classes, scores, sums and heatmaps, bit for bit, and
 * the same parameters. */
static void assert_same_file(const char *a_path, const char *b_path)
{
    rm_relevance a, b;
    cr_assert_eq(rm_relevance_open(&a, a_path), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&b, b_path), 0, "%s", rm_error_message());
    cr_assert_eq(a.count, b.count, "%s: %lld records, %s: %lld", a_path, (long long)a.count, b_path,
                 (long long)b.count);
    cr_assert_str_eq(a.parameters, b.parameters);
    size_t n = (size_t)a.count, hw = (size_t)a.height * (size_t)a.width;
    cr_assert_eq(memcmp(a.index, b.index, sizeof *a.index * n), 0, "/index differs");
    cr_assert_eq(memcmp(a.label, b.label, sizeof *a.label * n), 0, "/label differs");
    cr_assert_eq(memcmp(a.explained, b.explained, sizeof *a.explained * n), 0, "/explained differs");
    cr_assert_eq(memcmp(a.predicted, b.predicted, sizeof *a.predicted * n), 0, "/predicted differs");
    cr_assert_eq(memcmp(a.score, b.score, sizeof *a.score * n), 0, "/score differs");
    cr_assert_eq(memcmp(a.sum, b.sum, sizeof *a.sum * n), 0, "/sum differs");
    float *ha = malloc(sizeof *ha * hw * n), *hb = malloc(sizeof *hb * hw * n);
    cr_assert(ha && hb);
    cr_assert_eq(rm_relevance_read_heatmaps(&a, 0, (int64_t)n, ha), 0);
    cr_assert_eq(rm_relevance_read_heatmaps(&b, 0, (int64_t)n, hb), 0);
    for (size_t i = 0; i < hw * n; i++)
        cr_assert_eq(memcmp(&ha[i], &hb[i], sizeof *ha), 0, "%s and %s: record %zu pixel %zu: %.9g vs %.9g", a_path,
                     b_path, i / hw, i % hw, (double)ha[i], (double)hb[i]);
    free(ha);
    free(hb);
    rm_relevance_close(&a);
    rm_relevance_close(&b);
}

static const char *relevance_args(const char *out, const char *extra)
{
    static char args[4096];
    snprintf(args, sizeof args, "relevance -q -t 1 --model %s --data %s --out %s --split all %s",
             tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), out, extra);
    return args;
}

static int count_of(const char *text, const char *needle)
{
    int k = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) k++;
    return k;
}

/* 203 records in blocks of 16: the last round is uneven for 2 and 3 ranks. */
Test(mpi, relevance_on_2_and_3_ranks_equals_one_process)
{
    NEED_MPI();
    char *one = strdup(tu_path(dir, "one.h5"));
    cli_ok(relevance_args(one, "--batch 16"));   /* the MPI binary without mpirun: one process */
    for (int ranks = 2; ranks <= 3; ranks++) {
        char name[32], *out;
        snprintf(name, sizeof name, "np%d.h5", ranks);
        char *path = strdup(tu_path(dir, name));
        int rc = run_ranks(&out, ranks, relevance_args(path, "--batch 16"));
        cr_assert_eq(rc, 0, "mpirun -np %d exited %d:\n%s", ranks, rc, out);
        free(out);
        assert_same_file(one, path);
        free(path);
    }
    free(one);
}

/* 5 records in blocks of 2 on 3 ranks: 3 blocks, the last of one record;
 * with blocks of 4 two ranks have nothing to explain at all. */
Test(mpi, more_ranks_than_blocks)
{
    NEED_MPI();
    for (int batch = 2; batch <= 4; batch += 2) {
        char extra[64], *out;
        snprintf(extra, sizeof extra, "--count 5 --batch %d --force", batch);
        char *one = strdup(tu_path(dir, "one.h5")), *three = strdup(tu_path(dir, "three.h5"));
        cli_ok(relevance_args(one, extra));
        int rc = run_ranks(&out, 3, relevance_args(three, extra));
        cr_assert_eq(rc, 0, "mpirun -np 3 exited %d:\n%s", rc, out);
        free(out);
        assert_same_file(one, three);
        free(one);
        free(three);
    }
}

/* records_done of a partial file, or -1 while it cannot be read. */
static long long records_done(const char *partial)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    hid_t f = H5Fopen(partial, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0) return -1;
    int64_t done = -1;
    if (rm_h5_attr_get_int(f, "records_done", &done) != 0) done = -1;
    H5Fclose(f);
    return (long long)done;
}

/* kill -9 of rank 1 once records are on disk; mpirun ends the other rank.
 * A resume on 3 ranks (another count) then finishes the same file as one
 * process writes. */
Test(mpi, a_killed_rank_then_resume_on_other_ranks)
{
    NEED_MPI();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char *one = strdup(tu_path(dir, "one.h5")), *par = strdup(tu_path(dir, "par.h5"));
    char *partial = strdup(tu_path(dir, ".par.h5.partial")), *log = strdup(tu_path(dir, "run.log"));
    cli_ok(relevance_args(one, "--batch 1"));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s -np 2 %s %s > %s 2>&1 &", mpirun, bin(), relevance_args(par, "--batch 1"), log);
    cr_assert_eq(system(cmd), 0);
    long long done = -1;
    for (int tries = 0; tries < 3000 && done < 20; tries++) {
        struct timespec ms10 = {0, 10000000};
        nanosleep(&ms10, NULL);
        done = records_done(partial);
    }
    cr_assert_geq(done, 20, "the run wrote no records in 30 s");
    char *pids;   /* the ranks' command lines begin with the binary (mpirun's and the shell's do not) */
    snprintf(cmd, sizeof cmd, "pgrep -f -- '^%s relevance .*--out %s'", bin(), par);
    cr_assert_eq(tu_run_sh(&pids, "%s", cmd), 0, "no rank to kill");
    long victim = strtol(pids, NULL, 10);
    free(pids);
    cr_assert_eq(kill((pid_t)victim, SIGKILL), 0);
    for (int tries = 0; tries < 3000; tries++) {   /* until mpirun has ended every rank */
        char *left;
        snprintf(cmd, sizeof cmd, "pgrep -f -- '--out %s'", par);
        int rc = tu_run_sh(&left, "%s", cmd);
        free(left);
        if (rc != 0) break;
        struct timespec ms10 = {0, 10000000};
        nanosleep(&ms10, NULL);
    }
    cr_assert_not(tu_file_exists(par), "no final file after the kill");
    long long kept = records_done(partial);
    cr_assert_geq(kept, 20, "the partial file keeps the records done (%lld)", kept);
    cr_assert_lt(kept, 203, "killed before the end");
    char *out;
    int rc = run_ranks(&out, 3, relevance_args(par, "--batch 1 --resume"));
    cr_assert_eq(rc, 0, "resume exited %d:\n%s", rc, out);
    free(out);
    assert_same_file(one, par);
    cr_assert_not(tu_file_exists(partial));
    free(one);
    free(par);
    free(partial);
    free(log);
}

/* mpirun's MPMD form gives each rank other arguments: rank 1 reads another
 * dataset. Nothing is written, and rank 0 says so once. */
Test(mpi, ranks_reading_another_dataset_are_refused)
{
    NEED_MPI();
    char args[4096];
    snprintf(args, sizeof args, "synth -q -n 203 --size 16 --seed 3 -o %s", tu_path(dir, "other.h5"));
    cli_ok(args);
    char *out;
    int rc = tu_run_sh(&out, "%s -np 1 %s %s : -np 1 %s relevance -q -t 1 --model %s --data %s --out %s --split all",
                       mpirun, bin(), relevance_args(tu_path(dir, "r.h5"), ""), bin(), tu_path(dir, "m.h5"),
                       tu_path(dir, "other.h5"), tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 1, "exit %d:\n%s", rc, out);
    cr_assert(strstr(out, "rank 1 reads another dataset than rank 0"), "%s", out);
    cr_assert(strstr(out, "other.h5"), "names the file:\n%s", out);
    cr_assert_eq(count_of(out, "relmask: error:"), 1, "one message:\n%s", out);
    cr_assert_not(tu_file_exists(tu_path(dir, "r.h5")));
    cr_assert_not(tu_file_exists(tu_path(dir, ".r.h5.partial")));
    free(out);
}

/* An existing output: the error comes once, from rank 0, and the file is
 * untouched; a usage error is exit 2 on every rank. */
Test(mpi, errors_are_said_once_with_the_usual_exit_codes)
{
    NEED_MPI();
    char *path = strdup(tu_path(dir, "r.h5")), *copy = strdup(tu_path(dir, "copy.h5")), *out;
    cli_ok(relevance_args(path, "--count 3"));
    cr_assert_eq(tu_run_sh(&out, "cp %s %s", path, copy), 0);
    free(out);
    int rc = run_ranks(&out, 2, relevance_args(path, "--count 3"));
    cr_assert_eq(rc, 1, "exit %d:\n%s", rc, out);
    cr_assert(strstr(out, "already exists; use --force"), "%s", out);
    cr_assert_eq(count_of(out, "relmask: error:"), 1, "one message:\n%s", out);
    free(out);
    cr_assert_eq(tu_run_sh(&out, "cmp %s %s", path, copy), 0, "the existing file is untouched:\n%s", out);
    free(out);
    rc = run_ranks(&out, 3, relevance_args(path, "--target angry --force"));
    cr_assert_eq(rc, 2, "exit %d:\n%s", rc, out);
    cr_assert_eq(count_of(out, "did you mean 'anger'?"), 1, "one message:\n%s", out);
    free(out);
    free(copy);
    free(path);
}

/* A command that does not share its work would run whole on every rank,
 * each writing the same output: refused, once. */
Test(mpi, commands_that_do_not_shard_refuse_several_ranks)
{
    NEED_MPI();
    char args[4096], *out;
    snprintf(args, sizeof args, "eval --model %s --data %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"));
    int rc = run_ranks(&out, 2, args);
    cr_assert_eq(rc, 2, "exit %d:\n%s", rc, out);
    cr_assert_eq(count_of(out, "relmask eval: runs as one process, but mpirun started 2"), 1, "%s", out);
    free(out);
}

/* --- data-parallel training -------------------------------------------------- */

static const char bn_net_text[] =
    "[net]\ninput = 1x16x16\nclasses = 7\n"
    "[conv]\nfilters = 4\nsize = 3\npad = 1\n"
    "[batchnorm]\n[relu]\n"
    "[maxpool]\nsize = 2\n"
    "[dropout]\np = 0.3\n"
    "[dense]\nunits = 7\n";

static const char *train_args(const char *net, const char *out, const char *extra)
{
    static char args[4096];
    snprintf(args, sizeof args, "train -q -t 1 --data %s --net %s --out %s --epochs 3 --hflip --shift 1 %s",
             tu_path(dir, "d.h5"), net, out, extra);
    return args;
}

/* Every parameter tensor of b within tol x the largest |value| of a's
 * tensor; tol 0: bit for bit. */
static void assert_same_weights(const char *a_path, const char *b_path, double tol)
{
    rm_model a, b;
    cr_assert_eq(rm_model_load(&a, a_path), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_load(&b, b_path), 0, "%s", rm_error_message());
    cr_assert_eq(a.num_tensors, b.num_tensors);
    for (int i = 0; i < a.num_tensors; i++) {
        cr_assert_str_eq(a.tensors[i].key, b.tensors[i].key);
        cr_assert_eq(a.tensors[i].count, b.tensors[i].count);
        double peak = 0;
        for (int64_t k = 0; k < a.tensors[i].count; k++) peak = fmax(peak, fabs(a.tensors[i].data[k]));
        for (int64_t k = 0; k < a.tensors[i].count; k++) {
            double d = fabs((double)a.tensors[i].data[k] - b.tensors[i].data[k]);
            cr_assert(d <= tol * peak, "%s[%lld]: %.9g vs %.9g (tolerance %.3g of %.3g)", a.tensors[i].key,
                      (long long)k, (double)a.tensors[i].data[k], (double)b.tensors[i].data[k], tol, peak);
        }
    }
    cr_assert_eq(a.num_epochs, b.num_epochs);
    for (int e = 0; e < a.num_epochs; e++)
        cr_assert(fabs(a.history[e].train_loss - b.history[e].train_loss) <= tol * 10 * a.history[e].train_loss,
                  "epoch %d train loss %.9g vs %.9g", e + 1, a.history[e].train_loss, b.history[e].train_loss);
    rm_model_free(&a);
    rm_model_free(&b);
}

/* Synchronous data-parallel SGD: each of R ranks takes 1/R of every batch
 * of 24 and the gradients are averaged, so 2 and 3 ranks train the model one
 * process trains with batches of 24, up to the order of float sums (a net
 * without batchnorm and dropout, whose batch statistics and masks depend
 * on the rows a rank holds). */
Test(mpi, training_on_2_and_3_ranks_equals_one_process_within_float_tolerance)
{
    NEED_MPI();
    const char *net = tu_path(dir, "net.cfg");
    char *one = strdup(tu_path(dir, "one.h5"));
    cli_ok(train_args(net, one, "--batch 24"));
    for (int ranks = 2; ranks <= 3; ranks++) {
        char name[32], *out;
        snprintf(name, sizeof name, "np%d.h5", ranks);
        char *path = strdup(tu_path(dir, name));
        int rc = run_ranks(&out, ranks, train_args(net, path, "--batch 24"));
        cr_assert_eq(rc, 0, "mpirun -np %d train exited %d:\n%s", ranks, rc, out);
        free(out);
        assert_same_weights(one, path, 1e-5);
        free(path);
    }
    free(one);
}

/* Batchnorm and dropout on 2 ranks: stopped after an epoch and resumed on
 * 2 ranks, the model equals the uninterrupted run bit for bit; the
 * checkpoint refuses another rank count. */
Test(mpi, training_resumes_on_the_same_ranks)
{
    NEED_MPI();
    tu_write_text(tu_path(dir, "bn.cfg"), bn_net_text);
    char *net = strdup(tu_path(dir, "bn.cfg")), *whole = strdup(tu_path(dir, "whole.h5"));
    char *parts = strdup(tu_path(dir, "parts.h5")), *out;
    int rc = run_ranks(&out, 2, train_args(net, whole, "--batch 18"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = run_ranks(&out, 2, train_args(net, parts, "--batch 18 --stop-after 1"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = run_ranks(&out, 3, train_args(net, parts, "--batch 18 --resume"));
    cr_assert_eq(rc, 1, "another rank count: exit %d\n%s", rc, out);
    cr_assert(strstr(out, "was made by 2 ranks and this run has 3: resume it with mpirun -np 2"), "%s", out);
    cr_assert_eq(count_of(out, "relmask: error:"), 1, "one message:\n%s", out);
    free(out);
    rc = run_ranks(&out, 2, train_args(net, parts, "--batch 18 --resume"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    assert_same_weights(whole, parts, 0);
    cr_assert_not(tu_file_exists(tu_path(dir, "parts.h5.ckpt")), "a finished run leaves no checkpoint");
    free(net);
    free(whole);
    free(parts);
}

/* A batch the ranks cannot share equally is a usage error, said once. */
Test(mpi, a_batch_the_ranks_cannot_share_is_a_usage_error)
{
    NEED_MPI();
    char *out;
    int rc = run_ranks(&out, 3, train_args(tu_path(dir, "net.cfg"), tu_path(dir, "x.h5"), "--batch 16"));
    cr_assert_eq(rc, 2, "exit %d:\n%s", rc, out);
    cr_assert_eq(count_of(out, "--batch 16: each of the 3 ranks takes an equal share of every batch; give a multiple "
                               "of 3"), 1, "%s", out);
    cr_assert_not(tu_file_exists(tu_path(dir, "x.h5")));
    free(out);
}

/* --- predict ------------------------------------------------------------------ */

/* h5diff OPTIONS A B OBJECT with its list of differences cut short:
 * megabytes of it stall the test. The list goes through B.diff. */
static int h5diff_short(char **out, const char *options, const char *a, const char *b, const char *object)
{
    return tu_run_sh(out, "h5diff %s %s %s %s > %s.diff; rc=$?; head -c 4000 %s.diff; exit $rc", options, a, b,
                     object, b, b);
}

static void assert_same_dataset(const char *a, const char *b, const char *name)
{
    char *out;
    int rc = h5diff_short(&out, "", a, b, name);
    cr_assert_eq(rc, 0, "%s differs between %s and %s:\n%s", name, a, b, out);
    free(out);
}

/* Each rank predicts its share of every R batches, and rank 0 writes every
 * record's logits in order: the file equals one process's. 203 records in
 * batches of 16 (uneven), and of 128 on 3 ranks (rank 2 has no records). */
Test(mpi, predict_on_2_and_3_ranks_equals_one_process)
{
    NEED_MPI();
    char *one = strdup(tu_path(dir, "p1.h5"));
    char args[4096];
    snprintf(args, sizeof args, "predict -q -t 1 --model %s --data %s --split all --out %s", tu_path(dir, "m.h5"),
             tu_path(dir, "d.h5"), one);
    cli_ok(args);
    const int ranks[3] = {2, 3, 3}, batch[3] = {16, 16, 128};
    for (int t = 0; t < 3; t++) {
        char *path = strdup(tu_path(dir, "pr.h5")), *out;
        snprintf(args, sizeof args, "predict -q -t 1 --model %s --data %s --split all --batch %d --out %s --force",
                 tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), batch[t], path);
        int rc = run_ranks(&out, ranks[t], args);
        cr_assert_eq(rc, 0, "mpirun -np %d predict --batch %d exited %d:\n%s", ranks[t], batch[t], rc, out);
        free(out);
        const char *names[] = {"/logits", "/probabilities", "/predicted", "/labels", "/indices"};
        for (int i = 0; i < 5; i++) assert_same_dataset(one, path, names[i]);
        free(path);
    }
    free(one);
}

/* --- encode ------------------------------------------------------------------ */

static const char *const classes3[3] = {"a", "b", "c"};

/* <name>.h5: n gray 8x8 records in 3 classes and every split, with regions
 * and sources; <name>_r.h5: relevance for all records but every fourth
 * (pseudo-random maps from `seed`); with bad >= 0, record bad's map holds
 * a NaN. */
static void write_encode_inputs(const char *name, int n, uint32_t seed, int bad)
{
    enum { HW = 64 };
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    rm_dataset_spec spec = {.channels = 1, .height = 8, .width = 8, .num_classes = 3, .class_names = classes3,
                            .has_regions = 1, .source_format = "test", .source_path = "memory", .deflate_level = 4};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, path, &spec, 1), 0, "%s", rm_error_message());
    int32_t *labels = malloc(sizeof *labels * (size_t)n);
    uint8_t *split = malloc((size_t)n), image[HW], region[HW];
    int64_t *index = malloc(sizeof *index * (size_t)n);
    int32_t *rlabels = malloc(sizeof *rlabels * (size_t)n);
    float *heat = malloc(sizeof *heat * HW * (size_t)n), *score = calloc((size_t)n, sizeof *score);
    cr_assert(labels && split && index && rlabels && heat && score);
    uint32_t x = seed;
    int m = 0;
    for (int i = 0; i < n; i++) {
        labels[i] = (i * 7 + i / 3) % 3;
        split[i] = (uint8_t)(i % 5 == 3 ? RM_SPLIT_VAL : i % 5 == 4 ? RM_SPLIT_TEST : RM_SPLIT_TRAIN);
        for (int k = 0; k < HW; k++) {
            x = x * 1664525u + 1013904223u;
            image[k] = (uint8_t)(x >> 24);
            region[k] = (uint8_t)((x >> 8) & 1);
        }
        cr_assert_eq(rm_dataset_writer_append(w, image, labels[i], split[i], region), 0, "%s", rm_error_message());
        char source[32];
        snprintf(source, sizeof source, "faces/%d.png", i);
        cr_assert_eq(rm_dataset_writer_set_source(w, source), 0);
        if (i % 4 == 1) continue;
        index[m] = i;
        rlabels[m] = labels[i];
        for (int k = 0; k < HW; k++) {
            x = x * 1664525u + 1013904223u;
            heat[(size_t)m * HW + k] = (float)((int)(x >> 16) - 32768) / 32768.0f;
        }
        m++;
    }
    rm_split_spec sp = {.val_fraction = 0.2, .test_fraction = 0.2, .seed = 1};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
    char fp[17];
    rm_dataset_fingerprint(fp, n, 1, 8, 8, labels, split);
    snprintf(path, sizeof path, "%s/%s_r.h5", dir, name);
    rm_relevance_spec rs = {.count = m, .channels = 1, .height = 8, .width = 8, .num_classes = 3,
                            .class_names = classes3, .deflate_level = 4, .method = "test", .score_kind = "none",
                            .parameters = "source=hand-made\n"};
    rm_relevance_writer *rw;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&rw, path, &rs, 1, 0, &done), 0, "%s", rm_error_message());
    rm_relevance_block b = {.n = m, .index = index, .label = rlabels, .explained = rlabels, .predicted = rlabels,
                            .score = score, .heatmap = heat};
    cr_assert_eq(rm_relevance_writer_write(rw, &b), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_writer_set_attr(rw, "dataset_fingerprint", fp), 0);
    cr_assert_eq(rm_relevance_writer_finish(rw), 0, "%s", rm_error_message());
    if (bad >= 0) {   /* the writer refuses non-finite maps: patched in afterwards */
        int64_t entry = 0;
        while (entry < m && index[entry] != bad) entry++;
        cr_assert_lt(entry, m, "record %d has relevance", bad);
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), d = H5Dopen2(f, "heatmap", H5P_DEFAULT);
        hid_t space = H5Dget_space(d);
        hsize_t at[3] = {(hsize_t)entry, 2, 3}, one[3] = {1, 1, 1};
        H5Sselect_hyperslab(space, H5S_SELECT_SET, at, NULL, one, NULL);
        hid_t mem = H5Screate_simple(3, one, NULL);
        float nan = NAN;
        cr_assert_geq(H5Dwrite(d, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, &nan), 0);
        H5Sclose(mem);
        H5Sclose(space);
        H5Dclose(d);
        H5Fclose(f);
    }
    free(labels);
    free(split);
    free(index);
    free(rlabels);
    free(heat);
    free(score);
}

static const char *encode_args(const char *name, const char *out, const char *extra)
{
    static char args[4096];
    snprintf(args, sizeof args, "encode -q -t 1 --data %s/%s.h5 --relevance %s/%s_r.h5 --out %s %s", dir, name, dir,
             name, out, extra);
    return args;
}

/* Every dataset and every attribute of the two files holds the same values
 * (h5diff), but the root attributes created and command_line. */
static void assert_same_encoded(const char *a, const char *b)
{
    char *out;
    int rc = h5diff_short(&out, "-r --exclude-attribute /", a, b, "");
    cr_assert_eq(rc, 0, "%s and %s differ:\n%s", a, b, out);
    free(out);
    const char *keep = "sed -e 1d -e '/ATTRIBUTE \"created\"/,/^   }$/d' -e '/ATTRIBUTE \"command_line\"/,/^   }$/d'";
    rc = tu_run_sh(&out, "h5dump -A %s | %s > %s.attrs && h5dump -A %s | %s > %s.attrs && diff %s.attrs %s.attrs", a,
                   keep, a, b, keep, b, a, b);
    cr_assert_eq(rc, 0, "the root attributes of %s and %s differ:\n%s", a, b, out);
    free(out);
}

/* 1100 records in blocks of 256: the last round is uneven on 2 and 3 ranks
 * (a rank with a part of a block, a rank with none). The modes that sum
 * over the train split (mean, the channel's train mean), records without
 * relevance copied or left out, and masks moved to other records. */
Test(mpi, encode_on_2_and_3_ranks_equals_one_process)
{
    NEED_MPI();
    write_encode_inputs("e", 1100, 7, -1);
    const char *modes[] = {"--mode mean", "--mode channel --channel-constant train-mean", "--mode channel",
                           "--mode blur --only-explained --shuffle-masks 3"};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        char *one = strdup(tu_path(dir, "one.h5"));
        char extra[256];
        snprintf(extra, sizeof extra, "%s --force", modes[m]);
        cli_ok(encode_args("e", one, extra));
        for (int ranks = 2; ranks <= 3; ranks++) {
            char *path = strdup(tu_path(dir, "np.h5")), *out;
            int rc = run_ranks(&out, ranks, encode_args("e", path, extra));
            cr_assert_eq(rc, 0, "mpirun -np %d encode %s exited %d:\n%s", ranks, modes[m], rc, out);
            free(out);
            assert_same_encoded(one, path);
            free(path);
        }
        free(one);
    }
}

/* 5 records are one block: on 3 ranks two have nothing to encode, and
 * with --only-explained the one writing rank writes 4 records. */
Test(mpi, encode_with_more_ranks_than_blocks)
{
    NEED_MPI();
    write_encode_inputs("tiny", 5, 11, -1);
    const char *modes[] = {"--mode mean", "--mode zero --only-explained"};
    for (int m = 0; m < 2; m++) {
        char extra[128], *out;
        snprintf(extra, sizeof extra, "%s --force", modes[m]);
        char *one = strdup(tu_path(dir, "one.h5")), *three = strdup(tu_path(dir, "three.h5"));
        cli_ok(encode_args("tiny", one, extra));
        int rc = run_ranks(&out, 3, encode_args("tiny", three, extra));
        cr_assert_eq(rc, 0, "mpirun -np 3 encode %s exited %d:\n%s", modes[m], rc, out);
        free(out);
        assert_same_encoded(one, three);
        free(one);
        free(three);
    }
}

/* MPMD: rank 1 reads another relevance file, then another dataset (with
 * its own relevance, so each rank's inputs belong together). Refused
 * before anything is written, said once by rank 0. */
Test(mpi, encode_ranks_reading_other_inputs_are_refused)
{
    NEED_MPI();
    write_encode_inputs("e", 300, 7, -1);
    write_encode_inputs("f", 300, 8, -1);
    char *out_dir = strdup(tu_path(dir, "out")), *out;
    cr_assert_eq(tu_run_sh(&out, "mkdir %s", out_dir), 0);
    free(out);
    char *e = strdup(tu_path(out_dir, "e.h5"));
    char rank0[4096];
    snprintf(rank0, sizeof rank0, "%s", encode_args("e", e, "--mode mean"));
    const char *rank1[2], *want[2] = {"rank 1 reads another relevance file than rank 0",
                                      "rank 1 reads another dataset than rank 0"};
    char other_relevance[4096];
    snprintf(other_relevance, sizeof other_relevance,
             "encode -q -t 1 --data %s/e.h5 --relevance %s/f_r.h5 --out %s --mode mean", dir, dir, e);
    rank1[0] = other_relevance;
    rank1[1] = encode_args("f", e, "--mode mean");
    const char *named[2] = {"f_r.h5", "f.h5"};
    for (int t = 0; t < 2; t++) {
        int rc = tu_run_sh(&out, "%s -np 1 %s %s : -np 1 %s %s", mpirun, bin(), rank0, bin(), rank1[t]);
        cr_assert_eq(rc, 1, "exit %d:\n%s", rc, out);
        cr_assert(strstr(out, want[t]), "%s", out);
        cr_assert(strstr(out, named[t]), "names the file:\n%s", out);
        cr_assert_eq(count_of(out, "relmask: error:"), 1, "one message:\n%s", out);
        cr_assert_eq(tu_dir_entries(out_dir), 0, "nothing written");
        free(out);
    }
    free(e);
    free(out_dir);
}

/* A NaN in the map of record 300, in the second block: rank 1 reads it on
 * 2 ranks. Every rank stops, rank 0 says it once, naming the record as one
 * process does, and no file (final or temporary) is left behind. */
Test(mpi, encode_failure_on_one_rank_is_said_once_and_leaves_nothing)
{
    NEED_MPI();
    write_encode_inputs("bad", 600, 9, 300);
    char *out_dir = strdup(tu_path(dir, "out")), *out;
    cr_assert_eq(tu_run_sh(&out, "mkdir %s", out_dir), 0);
    free(out);
    char *e = strdup(tu_path(out_dir, "e.h5"));
    int rc = tu_run_cli(&out, "%s", encode_args("bad", e, "--mode mean"));
    cr_assert_eq(rc, 1, "one process: exit %d:\n%s", rc, out);
    cr_assert(strstr(out, "(dataset index 300)"), "%s", out);
    free(out);
    /* ranks that do not agree would wait for each other: a time limit */
    rc = tu_run_sh(&out, "timeout 60 env %s -np 2 %s %s", mpirun, bin(), encode_args("bad", e, "--mode mean"));
    cr_assert_eq(rc, 1, "exit %d (124: stuck):\n%s", rc, out);
    cr_assert(strstr(out, "relmask: error: rank 1: ") && strstr(out, "(dataset index 300)"), "%s", out);
    cr_assert(strstr(out, "expected a finite number"), "%s", out);
    cr_assert_eq(count_of(out, "relmask: error:"), 1, "one message:\n%s", out);
    free(out);
    cr_assert_eq(tu_dir_entries(out_dir), 0, "nothing left behind");
    free(e);
    free(out_dir);
}
