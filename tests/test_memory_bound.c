/* Relevance and predict (eval's inference) stream their records: their
 * memory does not grow with the dataset. The address-space limit (ulimit
 * -v) under which a stage runs on 2,000 records is found by bisection; it
 * then has to run on 160,000 records under that limit plus 24 MiB, while
 * the big file's images alone take 39 MiB as bytes (156 MiB as the
 * network's floats), so holding them whole fails. One thread and one malloc arena keep the
 * address space of the two runs comparable. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

enum { SMALL = 2000, BIG = 160000, SIDE = 16, MARGIN_MIB = 24 };

/* AddressSanitizer reserves terabytes of address space for its shadow. */
#if defined(__SANITIZE_ADDRESS__)
enum { UNDER_ASAN = 1 };
#else
enum { UNDER_ASAN = 0 };
#endif

static char *dir;

static void setup(void)
{
    dir = tu_scratch_dir();
    if (UNDER_ASAN) return;
    tu_write_text(tu_path(dir, "net.cfg"), tu_tiny_net_text);
    char *out = NULL;
    int rc = tu_run_cli(&out, "synth -q -t 1 -n %d --size %d -o %s", SMALL, SIDE, tu_path(dir, "small.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "synth -q -t 1 -n %d --size %d --start %d -o %s", BIG, SIDE, SMALL, tu_path(dir, "big.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "train -q -t 1 --data %s --net %s --out %s --epochs 1 --batch 32", tu_path(dir, "small.h5"),
                    tu_path(dir, "net.cfg"), tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
}

static void teardown(void) { tu_rmtree(dir); }

TestSuite(memory_bound, .init = setup, .fini = teardown, .timeout = 240);

/* relmask STAGE (relevance or predict) on DATA under an address-space
 * limit of limit_mib; its exit status (128 + signal if killed). */
static int stage_under(const char *stage, const char *data, long limit_mib)
{
    char bin[4096], data_path[4096], model[4096], out[4096], log[4096];
    snprintf(bin, sizeof bin, "%s", getenv("RELMASK_BIN") ? getenv("RELMASK_BIN") : "build/relmask");
    snprintf(data_path, sizeof data_path, "%s", tu_path(dir, data));
    snprintf(model, sizeof model, "%s", tu_path(dir, "m.h5"));
    snprintf(out, sizeof out, "%s", tu_path(dir, "r.h5"));
    snprintf(log, sizeof log, "%s", tu_path(dir, "log"));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        struct rlimit lim = {(rlim_t)limit_mib << 20, (rlim_t)limit_mib << 20};
        if (!freopen(log, "w", stdout) || dup2(fileno(stdout), STDERR_FILENO) < 0 || setrlimit(RLIMIT_AS, &lim) != 0)
            _exit(126);
        setenv("MALLOC_ARENA_MAX", "1", 1);
        setenv("OMP_NUM_THREADS", "1", 1);
        execl(bin, bin, stage, "-q", "-f", "-t", "1", "--data", data_path, "--model", model, "--split", "all",
              "--out", out, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    cr_assert(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The least limit (within 2 MiB) under which STAGE runs on the small
 * file; then it must run on the big one under that limit + MARGIN_MIB. */
static void assert_streams(const char *stage)
{
    if (UNDER_ASAN) cr_skip_test("an address-space limit cannot be set under AddressSanitizer");
    long ok = 4096, fail = 8;
    cr_assert_eq(stage_under(stage, "small.h5", ok), 0, "%s on %d records fails even under %ld MiB: %s", stage, SMALL,
                 ok, tu_read_text(tu_path(dir, "log")));
    cr_assert_neq(stage_under(stage, "small.h5", fail), 0, "%s ran under %ld MiB: the limit has no effect", stage,
                  fail);
    while (ok - fail > 2) {
        long mid = (ok + fail) / 2;
        if (stage_under(stage, "small.h5", mid) == 0) ok = mid;
        else fail = mid;
    }
    long big_bytes = (long)BIG * SIDE * SIDE;
    cr_assert_gt(big_bytes, (long)(MARGIN_MIB + 8) << 20, "the big dataset must not fit the margin");
    int rc = stage_under(stage, "big.h5", ok + MARGIN_MIB);
    cr_assert_eq(rc, 0,
                 "%s on %d records (%ld MiB of images) failed under %ld MiB, the %d-record run's %ld MiB + %d: "
                 "its memory grows with the data\n%s",
                 stage, BIG, big_bytes >> 20, ok + MARGIN_MIB, SMALL, ok, MARGIN_MIB,
                 tu_read_text(tu_path(dir, "log")));
    char *out = NULL;
    rc = tu_run_cli(&out, "info %s", tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "160000") || strstr(out, "160,000"), "the %s file does not hold every record:\n%s", stage,
              out);
    free(out);
}

Test(memory_bound, relevance_streams_a_dataset_larger_than_its_memory_limit) { assert_streams("relevance"); }

Test(memory_bound, predict_streams_a_dataset_larger_than_its_memory_limit) { assert_streams("predict"); }
