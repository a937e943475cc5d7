/* Helpers for the fault tests (interrupt, disk_faults, concurrency): the
 * relmask CLI as a real child process that can be signalled, killed or
 * limited, and checks on what it leaves in a directory. */
#ifndef RELMASK_FAULT_UTIL_H
#define RELMASK_FAULT_UTIL_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    int show_progress;         /* unset RELMASK_QUIET so progress lines reach the log */
    long long fsize_limit;     /* > 0: RLIMIT_FSIZE in bytes, SIGXFSZ ignored (write fails with EFBIG) */
    int as_nobody;             /* run as uid/gid 65534 (root ignores file modes); exit 124 if that
                                * or the exec fails */
} fu_opts;

/* Starts "$RELMASK_BIN <args>" (args split on spaces; paths must not hold
 * any) with stdout and stderr appended to `log`. */
pid_t fu_spawn(const char *log, const fu_opts *opts, const char *args_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Waits for the child and returns its raw wait status. */
int fu_wait(pid_t pid);
/* Whether the child is still running (it is not reaped). */
int fu_running(pid_t pid);
/* Polls (every 2 ms, up to timeout_s) until `path` exists / `log` contains
 * `text`; returns 0 early (and without reaping it) if the child ends. */
int fu_wait_for_file(pid_t pid, const char *path, double timeout_s);
int fu_wait_for_text(pid_t pid, const char *log, const char *text, double timeout_s);
/* Whole file as a malloc'd NUL-terminated string (NULL if unreadable). */
char *fu_read_file(const char *path, size_t *size);
/* Whether two files have the same bytes. */
int fu_same_bytes(const char *a, const char *b);
/* Copies a file. */
void fu_copy(const char *from, const char *to);
/* The first entry of `dir` that is a relmask temporary file (".X.tmp-PID"),
 * or NULL; a static buffer. */
const char *fu_temp_file(const char *dir);
/* "exit N" / "signal N (NAME)" for messages; a static buffer. */
const char *fu_status_text(int status);
/* Sleeps for `s` seconds. */
void fu_sleep(double s);
/* Seconds since an arbitrary start. */
double fu_now(void);

#endif
