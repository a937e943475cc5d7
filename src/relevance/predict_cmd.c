/* The external-model predictor: a shell command that reads a uint8 NPY
 * batch and writes an NPY of class probabilities (docs/relevance.md,
 * "External models (--predict-cmd)"). Each run works in a fresh private
 * directory (mkdtemp) that is removed afterwards, whatever happened. The
 * buffers for paths and the expanded command are sized once, here. */
#include "relevance/predictor.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/output.h"
#include "core/npy.h"

extern char **environ;

#define PROB_SUM_TOL 1e-3

static const char dir_pattern[] = "/relmask-predict-XXXXXX", in_name[] = "/in.npy", out_name[] = "/out.npy";

typedef struct {
    rm_predictor base;
    char *cmd;          /* as given, for messages */
    int placeholders;   /* the command names {in} or {out} */
    char *tmpl;         /* "<tmpdir>/relmask-predict-XXXXXX" */
    char *dir;          /* the current run's directory (mkdtemp fills it) */
    char *in_path, *out_path;
    char *line;         /* the command with the paths substituted */
    size_t line_cap;
} command_predictor;

/* Appends s single-quoted for /bin/sh ('a'\''b'); the caller sized dst. */
static char *put_quoted(char *dst, const char *s)
{
    *dst++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            memcpy(dst, "'\\''", 4);
            dst += 4;
        } else {
            *dst++ = *s;
        }
    }
    *dst++ = '\'';
    return dst;
}

static void expand_command(command_predictor *cp)
{
    char *d = cp->line;
    for (const char *s = cp->cmd; *s;) {
        if (!strncmp(s, "{in}", 4)) {
            d = put_quoted(d, cp->in_path);
            s += 4;
        } else if (!strncmp(s, "{out}", 5)) {
            d = put_quoted(d, cp->out_path);
            s += 5;
        } else {
            *d++ = *s++;
        }
    }
    if (!cp->placeholders) {
        *d++ = ' ';
        d = put_quoted(d, cp->in_path);
        *d++ = ' ';
        d = put_quoted(d, cp->out_path);
    }
    *d = 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0) rm_warn("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* Removes the run's directory and whatever the command left in it; a
 * failure is a warning so that it does not hide the run's own error. */
static void remove_dir(const char *dir)
{
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        rm_warn("cannot remove the temporary directory %s: %s", dir, strerror(errno));
}

/* Runs the expanded command: /bin/sh -c LINE, stdin from /dev/null, stdout
 * onto stderr (relmask's stdout stays clean); waits for it. */
static int spawn_and_wait(command_predictor *cp)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return rm_error("predict command: cannot set up the child process");
    int err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!err) err = posix_spawn_file_actions_adddup2(&fa, 2, 1);
    pid_t pid = 0;
    char *argv[] = {"sh", "-c", cp->line, NULL};
    if (!err) err = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) return rm_error("predict command '%s': cannot start /bin/sh: %s", cp->cmd, strerror(err));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return rm_error("predict command '%s': waiting for it failed: %s", cp->cmd, strerror(errno));
    if (WIFSIGNALED(status))
        return rm_error("predict command '%s' was killed by signal %d (%s)", cp->cmd, WTERMSIG(status),
                        strsignal(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return rm_error("predict command '%s' exited with status %d", cp->cmd,
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

/* Reads {out}: float32/float64 [n,K], every row a probability vector. */
static int read_output(command_predictor *cp, int n, float *probs)
{
    const int K = cp->base.num_classes;
    struct stat st;
    if (stat(cp->out_path, &st) != 0)
        return rm_error("predict command '%s' exited with status 0 but wrote no output file {out} (%s)", cp->cmd,
                        cp->out_path);
    rm_npy_file f;
    if (rm_npy_open(&f, cp->out_path) != 0)
        return rm_error_prefix("predict command '%s': its output {out}", cp->cmd);
    int rc = 0;
    if (f.kind != 'f' || (f.itemsize != 4 && f.itemsize != 8)) {
        rc = rm_error("predict command '%s': its output %s has dtype '%s', expected float32 ('<f4') or float64 "
                      "('<f8') probabilities", cp->cmd, cp->out_path, f.descr);
    } else if (f.ndims != 2 || f.shape[0] != (size_t)n || f.shape[1] != (size_t)K) {
        char shape[256];
        rm_npy_shape_text(&f, shape, sizeof shape);
        rc = rm_error("predict command '%s': its output %s has shape %s, expected (%d, %d): one row of %d class "
                      "probabilities per input image", cp->cmd, cp->out_path, shape, n, K, K);
    }
    if (rc == 0 && rm_npy_read_floats(&f, probs, (size_t)n * K) != 0)
        rc = rm_error_prefix("predict command '%s': its output {out}", cp->cmd);
    rm_npy_close(&f);
    for (int i = 0; rc == 0 && i < n; i++) {
        const float *row = probs + (size_t)i * K;
        double sum = 0;
        for (int k = 0; k < K; k++) {
            if (!(row[k] >= 0) || isinf(row[k]))
                return rm_error("predict command '%s': its output %s, row %d, column %d: %g is not a "
                                "probability (rows must be non-negative and sum to 1)", cp->cmd, cp->out_path, i, k,
                                row[k]);
            sum += row[k];
        }
        if (fabs(sum - 1) > PROB_SUM_TOL)
            return rm_error("predict command '%s': its output %s, row %d sums to %.6g; rows must be class "
                            "probabilities summing to 1 (within %g), e.g. a softmax of the logits", cp->cmd,
                            cp->out_path, i, sum, PROB_SUM_TOL);
    }
    return rc;
}

static int command_run(rm_predictor *base, const uint8_t *images, int n, float *probs)
{
    command_predictor *cp = (command_predictor *)base;
    strcpy(cp->dir, cp->tmpl);
    if (!mkdtemp(cp->dir))
        return rm_error("predict command: cannot create a temporary directory %s: %s (set TMPDIR to a writable "
                        "directory)", cp->tmpl, strerror(errno));
    size_t dlen = strlen(cp->dir);
    memcpy(cp->in_path, cp->dir, dlen);
    memcpy(cp->in_path + dlen, in_name, sizeof in_name);
    memcpy(cp->out_path, cp->dir, dlen);
    memcpy(cp->out_path + dlen, out_name, sizeof out_name);
    expand_command(cp);
    /* Ctrl-C while the command runs removes the directory too. */
    const int slots[3] = {rm_output_remove_on_signal(cp->dir), rm_output_remove_on_signal(cp->in_path),
                          rm_output_remove_on_signal(cp->out_path)};
    size_t shape[4] = {(size_t)n, (size_t)base->channels, (size_t)base->height, (size_t)base->width};
    int rc = rm_npy_write(cp->in_path, "|u1", 4, shape, images);
    if (rc == 0) rc = spawn_and_wait(cp);
    if (rc == 0) rc = read_output(cp, n, probs);
    remove_dir(cp->dir);
    for (int i = 0; i < 3; i++) rm_output_forget(slots[i]);
    return rc;
}

static void command_destroy(rm_predictor *base)
{
    command_predictor *cp = (command_predictor *)base;
    free(cp->cmd);
    free(cp->tmpl);
    free(cp->dir);
    free(cp->in_path);
    free(cp->out_path);
    free(cp->line);
    free(cp);
}

static int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub)) n++;
    return n;
}

int rm_predictor_from_command(rm_predictor **out, const char *cmd, int channels, int height, int width,
                              int num_classes)
{
    *out = NULL;
    if (!cmd || !*cmd) return rm_error("predict command: empty command");
    if (channels < 1 || height < 1 || width < 1 || num_classes < 1)
        return rm_error("predict command '%s': input shape %dx%dx%d with %d classes, expected positive sizes", cmd,
                        channels, height, width, num_classes);
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    size_t tlen = strlen(tmp);
    while (tlen > 1 && tmp[tlen - 1] == '/') tlen--;
    size_t dir_cap = tlen + sizeof dir_pattern, path_cap = dir_cap + sizeof out_name;
    int in_count = count_substr(cmd, "{in}"), out_count = count_substr(cmd, "{out}");
    int subst = in_count + out_count ? in_count + out_count : 2;
    /* each quoted path: 2 quotes + at most 4 bytes per character; plus a
     * separating space when appended */
    size_t line_cap = strlen(cmd) + (size_t)subst * (4 * path_cap + 3) + 1;

    command_predictor *cp = rm_calloc(1, sizeof *cp, "a command predictor");
    if (!cp) return -1;
    cp->base = (rm_predictor){channels, height, width, num_classes, command_run, command_destroy};
    cp->placeholders = in_count + out_count > 0;
    cp->line_cap = line_cap;
    cp->cmd = rm_strdup(cmd);
    cp->tmpl = rm_malloc(dir_cap, "a temporary directory name");
    cp->dir = rm_malloc(dir_cap, "a temporary directory name");
    cp->in_path = rm_malloc(path_cap, "a temporary file name");
    cp->out_path = rm_malloc(path_cap, "a temporary file name");
    cp->line = rm_malloc(line_cap, "the predict command line");
    if (!cp->cmd || !cp->tmpl || !cp->dir || !cp->in_path || !cp->out_path || !cp->line) {
        command_destroy(&cp->base);
        return -1;
    }
    memcpy(cp->tmpl, tmp, tlen);
    memcpy(cp->tmpl + tlen, dir_pattern, sizeof dir_pattern);
    *out = &cp->base;
    return 0;
}
