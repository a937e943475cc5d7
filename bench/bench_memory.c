/* Peak memory of every stage against the record count: `make bench-memory`.
 * Runs the relmask binary's stages, as `make experiment` chains them, on
 * synthetic source faces at each record count (default 20,000, the
 * experiment's source set, and 200,000, ten times it) and prints one JSON
 * line per stage and count: peak RSS (the child's ru_maxrss), wall and CPU
 * seconds. Then one line per stage with the ratio of the peaks, the figure
 * the memory goal is about: no stage may grow with the data beyond the
 * cache it is given (train's --cache-mb; the others stream in blocks).
 *
 * bench_memory [--records N,N,...] [--dir DIR] [--threads T] [--relmask PATH]
 * DIR (default a temporary folder, removed after) holds the files; PATH
 * defaults to the relmask binary beside the bench folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_COUNTS = 8, MAX_STAGES = 16, MAX_ARGS = 32 };

typedef struct {
    const char *name;
    double peak_mib[MAX_COUNTS];
} stage_result;

static stage_result stages[MAX_STAGES];
static int num_stages;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double file_mib(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / (1024.0 * 1024.0) : 0;
}

/* Runs argv (NULL-terminated) with stdout and stderr to DIR/log; the
 * child's peak RSS in MiB, wall and CPU seconds. Returns its exit status. */
static int run(char *const *argv, const char *log, double *peak_mib, double *wall, double *cpu)
{
    fflush(stdout);
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench_memory: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(127);
        execv(argv[0], argv);
        fprintf(stderr, "bench_memory: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        fprintf(stderr, "bench_memory: wait4: %s\n", strerror(errno));
        return -1;
    }
    *wall = now() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
    *peak_mib = (double)ru.ru_maxrss / 1024.0;   /* Linux: KiB */
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static stage_result *stage(const char *name)
{
    for (int i = 0; i < num_stages; i++)
        if (!strcmp(stages[i].name, name)) return &stages[i];
    stages[num_stages].name = name;
    return &stages[num_stages++];
}

/* One stage at record count index k: runs it and prints its line. */
static int measure(const char *name, int k, long records, const char *input, char *const *argv, const char *log)
{
    double peak, wall, cpu;
    int rc = run(argv, log, &peak, &wall, &cpu);
    if (rc != 0) {
        fprintf(stderr, "bench_memory: %s on %ld records exited with %d; its output is in %s\n", name, records, rc,
                log);
        return -1;
    }
    stage(name)->peak_mib[k] = peak;
    printf("{\"bench\":\"memory\",\"stage\":\"%s\",\"records\":%ld,\"input_mib\":%.1f,\"peak_rss_mib\":%.1f,"
           "\"wall_s\":%.2f,\"cpu_s\":%.2f}\n",
           name, records, file_mib(input), peak, wall, cpu);
    fflush(stdout);
    return 0;
}

#define ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

static int stages_at(const char *relmask, const char *dir, int k, long n, const char *threads)
{
    char data[PATH_MAX], model[PATH_MAX], small_model[PATH_MAX], pred[PATH_MAX], rel[PATH_MAX], enc[PATH_MAX],
        png[PATH_MAX], log[PATH_MAX], count[32], quality[PATH_MAX];
    snprintf(data, sizeof data, "%s/faces-%ld.h5", dir, n);
    snprintf(model, sizeof model, "%s/model-%ld.h5", dir, n);
    snprintf(small_model, sizeof small_model, "%s/model-stream-%ld.h5", dir, n);
    snprintf(pred, sizeof pred, "%s/pred-%ld.h5", dir, n);
    snprintf(rel, sizeof rel, "%s/relevance-%ld.h5", dir, n);
    snprintf(enc, sizeof enc, "%s/encoded-%ld.h5", dir, n);
    snprintf(png, sizeof png, "%s/heatmap-%ld.png", dir, n);
    snprintf(quality, sizeof quality, "%s/quality-%ld.json", dir, n);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(count, sizeof count, "%ld", n);
    char *r = (char *)relmask, *t = (char *)threads;
    if (measure("synth", k, n, "", ARGV(r, "synth", "-q", "-f", "-o", data, "-n", count, "-t", t), log) ||
        measure("train", k, n, data,
                ARGV(r, "train", "-q", "-f", "--data", data, "--net", "fer-small", "--epochs", "1", "--out", model,
                     "--threads", t),
                log) ||
        measure("train_cache_64mb", k, n, data,
                ARGV(r, "train", "-q", "-f", "--data", data, "--net", "fer-small", "--epochs", "1", "--out",
                     small_model, "--cache-mb", "64", "--threads", t),
                log) ||
        measure("eval", k, n, data, ARGV(r, "eval", "-q", "--data", data, "--model", model, "--split", "all",
                                         "--threads", t), log) ||
        measure("predict", k, n, data, ARGV(r, "predict", "-q", "-f", "--data", data, "--model", model, "--split",
                                            "all", "--out", pred, "--threads", t), log) ||
        measure("relevance", k, n, data, ARGV(r, "relevance", "-q", "-f", "--data", data, "--model", model,
                                              "--split", "all", "--out", rel, "--threads", t), log) ||
        measure("relevance_eval", k, n, rel, ARGV(r, "relevance-eval", "-q", "-f", "--data", data, "--model", model,
                                                  "--relevance", rel, "--out", quality, "--max-images", "500",
                                                  "--threads", t), log) ||
        measure("encode", k, n, rel, ARGV(r, "encode", "-q", "-f", "--data", data, "--relevance", rel, "--mode",
                                          "mean", "--out", enc, "--threads", t), log) ||
        measure("heatmap", k, n, rel, ARGV(r, "heatmap", "-q", "-f", "--data", data, "--relevance", rel, "--out",
                                           png), log))
        return -1;
    const char *outs[] = {data, model, small_model, pred, rel, enc, png, quality};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) remove(outs[i]);
    return 0;
}

static int parse_counts(const char *s, long *counts)
{
    int n = 0;
    char *end;
    while (*s && n < MAX_COUNTS) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 100) return -1;
        counts[n++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return *s ? -1 : n;
}

int main(int argc, char **argv)
{
    long counts[MAX_COUNTS] = {20000, 200000};
    int ncounts = 2;
    const char *dir = NULL, *threads = "2";
    char relmask[PATH_MAX], tmpdir[] = "/tmp/relmask-bench-memory.XXXXXX";
    snprintf(relmask, sizeof relmask, "%s", argv[0]);
    char *slash = strrchr(relmask, '/');
    snprintf(slash ? slash + 1 : relmask, sizeof relmask - (size_t)(slash ? slash + 1 - relmask : 0), "../relmask");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--records") && i + 1 < argc) {
            ncounts = parse_counts(argv[++i], counts);
            if (ncounts <= 0) {
                fprintf(stderr, "bench_memory: --records takes counts of at least 100 separated by commas, "
                                "not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = argv[++i];
        } else if (!strcmp(argv[i], "--relmask") && i + 1 < argc) {
            snprintf(relmask, sizeof relmask, "%s", argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_memory [--records N,N,...] [--dir DIR] [--threads T] [--relmask PATH]\n");
            return 2;
        }
    }
    if (access(relmask, X_OK) != 0) {
        fprintf(stderr, "bench_memory: no relmask binary at %s (build it, or pass --relmask PATH)\n", relmask);
        return 2;
    }
    if (!dir) {
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "bench_memory: %s: %s\n", tmpdir, strerror(errno));
            return 1;
        }
        dir = tmpdir;
    }
    int rc = 0;
    for (int k = 0; rc == 0 && k < ncounts; k++) rc = stages_at(relmask, dir, k, counts[k], threads);
    for (int s = 0; rc == 0 && ncounts > 1 && s < num_stages; s++)
        printf("{\"ratio\":\"memory_growth\",\"stage\":\"%s\",\"records\":\"%ld/%ld\",\"peak_rss_ratio\":%.2f}\n",
               stages[s].name, counts[ncounts - 1], counts[0],
               stages[s].peak_mib[ncounts - 1] / stages[s].peak_mib[0]);
    if (dir == tmpdir) {
        char log[PATH_MAX];
        snprintf(log, sizeof log, "%s/log", dir);
        if (rc == 0) remove(log), rmdir(dir);
    }
    return rc == 0 ? 0 : 1;
}
