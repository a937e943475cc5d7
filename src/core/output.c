#include "core/output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"

/* Temporary files to remove if a signal ends the process. Paths are copied
 * into fixed buffers so the handler needs no allocation. */
enum { MAX_PENDING = 16, PATH_CAP = 4096 };
static char pending[MAX_PENDING][PATH_CAP];
static volatile sig_atomic_t pending_used[MAX_PENDING];

/* While signals are held (a checkpoint being written), the handler only
 * records the signal; rm_output_release_signals acts on it. A flag rather
 * than a signal mask, because a process-directed signal goes to any thread
 * that does not block it (OpenMP workers, the loader thread), and only the
 * holding thread's mask would change. */
static volatile sig_atomic_t held, deferred;

/* A line for the user when a signal ends the process (how to continue),
 * written with write(2), which a handler may call. */
static char signal_note[PATH_CAP];
static volatile sig_atomic_t signal_note_len;

void rm_output_set_signal_note(const char *text)
{
    signal_note_len = 0;
    if (!text) return;
    size_t n = strlen(text);
    if (n > sizeof signal_note) n = sizeof signal_note;
    memcpy(signal_note, text, n);
    signal_note_len = (sig_atomic_t)n;
}

static void die_by(int sig)
{
    if (signal_note_len > 0 && write(STDERR_FILENO, signal_note, (size_t)signal_note_len) < 0) {
        /* nothing to do: the process ends either way */
    }
    /* Files first, then the (now empty) directories that held them. */
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_used[i]) unlink(pending[i]);
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_used[i]) rmdir(pending[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_signal(int sig)
{
    if (held) {
        if (!deferred) deferred = sig;
        return;
    }
    die_by(sig);
}

void rm_output_install_signal_handlers(void)
{
    static int installed;
    if (installed) return;
    installed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static int register_pending(const char *path)
{
    if (strlen(path) >= PATH_CAP) return -1;
    for (int i = 0; i < MAX_PENDING; i++) {
        if (!pending_used[i]) {
            memcpy(pending[i], path, strlen(path) + 1);
            pending_used[i] = 1;
            return i;
        }
    }
    return -1;
}

int rm_output_remove_on_signal(const char *path)
{
    return register_pending(path);
}

void rm_output_forget(int slot)
{
    if (slot >= 0 && slot < MAX_PENDING) pending_used[slot] = 0;
}

static char *dir_of(const char *path)
{
    char *copy = rm_strdup(path);
    if (!copy) return NULL;
    char *d = rm_strdup(dirname(copy));
    free(copy);
    return d;
}

/* A kill -9 (or a crash) leaves ".<base>.tmp-<pid>" behind. Remove those
 * of processes that are gone, when they are over a minute old: a pid from
 * another pid namespace or host sharing the directory looks gone too, and
 * its live temporary file is minutes old only if that writer is stuck. */
static void remove_stale(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char prefix[PATH_CAP], path[PATH_CAP];
    int n = snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
    struct dirent *e;
    while (n > 0 && (size_t)n < sizeof prefix && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, (size_t)n) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + n, &end, 10);
        if (pid <= 0 || *end || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && time(NULL) - st.st_mtime > 60 && unlink(path) == 0)
            rm_warn("removed %s, left by process %ld, which is gone", path, pid);
    }
    closedir(d);
}

static int begin(rm_output *out, const char *path, int force, int resumable)
{
    memset(out, 0, sizeof *out);
    out->slot = -1;
    if (!path || !*path) return rm_error("no output path given");
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return rm_error("%s: is a directory, expected an output file path", path);
        if (!force) return rm_error("%s: already exists; use --force to overwrite it", path);
    }
    char *dir = dir_of(path);
    if (!dir) return -1;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rm_error("%s: directory %s does not exist", path, dir);
        free(dir);
        return -1;
    }
    if (access(dir, W_OK) != 0) {
        rm_error("%s: directory %s is not writable: %s", path, dir, strerror(errno));
        free(dir);
        return -1;
    }
    char *copy = rm_strdup(path);
    if (!copy) { free(dir); return -1; }
    const char *base = basename(copy);
    size_t n = strlen(dir) + strlen(base) + 64;
    out->tmp_path = rm_malloc(n, "temporary path");
    out->final_path = rm_strdup(path);
    if (!out->tmp_path || !out->final_path) {
        free(copy);
        free(dir);
        rm_output_abort(out);
        return -1;
    }
    remove_stale(dir, base);
    if (resumable)
        snprintf(out->tmp_path, n, "%s/.%s.partial", dir, base);
    else
        snprintf(out->tmp_path, n, "%s/.%s.tmp-%ld", dir, base, (long)getpid());
    free(copy);
    free(dir);
    rm_output_install_signal_handlers();
    if (!resumable) out->slot = register_pending(out->tmp_path);
    return 0;
}

int rm_output_begin(rm_output *out, const char *path, int force) { return begin(out, path, force, 0); }

int rm_output_begin_resumable(rm_output *out, const char *path, int force)
{
    return begin(out, path, force, 1);
}

void rm_output_keep(rm_output *out)
{
    if (out->slot >= 0) pending_used[out->slot] = 0;
    free(out->tmp_path);
    free(out->final_path);
    memset(out, 0, sizeof *out);
    out->slot = -1;
}

static int held_depth;

void rm_output_hold_signals(void)
{
    if (held_depth++) return;
    if (deferred) die_by(deferred);   /* one that raced the last release */
    held = 1;
}

void rm_output_release_signals(void)
{
    if (held_depth <= 0 || --held_depth) return;
    held = 0;
    int sig = deferred;
    if (sig) die_by(sig);
}

static int fsync_path(const char *path, int directory)
{
    int fd = open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int rm_output_commit(rm_output *out)
{
    if (fsync_path(out->tmp_path, 0) != 0) {
        rm_error("%s: cannot sync temporary file %s: %s", out->final_path, out->tmp_path, strerror(errno));
        rm_output_abort(out);
        return -1;
    }
    if (rename(out->tmp_path, out->final_path) != 0) {
        rm_error("%s: cannot rename %s into place: %s", out->final_path, out->tmp_path, strerror(errno));
        rm_output_abort(out);
        return -1;
    }
    char *dir = dir_of(out->final_path);
    if (dir) {
        fsync_path(dir, 1);   /* best effort: the rename is already visible */
        free(dir);
    }
    if (out->slot >= 0) pending_used[out->slot] = 0;
    free(out->tmp_path);
    free(out->final_path);
    memset(out, 0, sizeof *out);
    out->slot = -1;
    return 0;
}

void rm_output_abort(rm_output *out)
{
    if (out->tmp_path) unlink(out->tmp_path);
    if (out->slot >= 0) pending_used[out->slot] = 0;
    free(out->tmp_path);
    free(out->final_path);
    memset(out, 0, sizeof *out);
    out->slot = -1;
}
