#include "fault_util.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double fu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fu_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

pid_t fu_spawn(const char *log, const fu_opts *opts, const char *args_fmt, ...)
{
    const char *bin = getenv("RELMASK_BIN");
    if (!bin || !*bin) bin = "build/relmask";
    char args[16384];
    va_list ap;
    va_start(ap, args_fmt);
    vsnprintf(args, sizeof args, args_fmt, ap);
    va_end(ap);
    char *argv[256];
    int argc = 0;
    argv[argc++] = (char *)bin;
    for (char *tok = strtok(args, " "); tok && argc < 255; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); abort(); }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        /* the test runner may have these ignored or blocked; the CLI must see them */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (opts && opts->show_progress) unsetenv("RELMASK_QUIET");
        else setenv("RELMASK_QUIET", "1", 1);
        if (opts && opts->fsize_limit > 0) {
            struct rlimit rl = {(rlim_t)opts->fsize_limit, (rlim_t)opts->fsize_limit};
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(125);
        }
        if (opts && opts->as_nobody && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(124);
        execv(bin, argv);
        _exit(opts && opts->as_nobody ? 124 : 127);
    }
    return pid;
}

int fu_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) { perror("waitpid"); abort(); }
    return status;
}

static int child_ended(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

int fu_running(pid_t pid) { return !child_ended(pid); }

int fu_wait_for_file(pid_t pid, const char *path, double timeout_s)
{
    double end = fu_now() + timeout_s;
    while (fu_now() < end) {
        if (access(path, F_OK) == 0) return 1;
        if (child_ended(pid)) return access(path, F_OK) == 0;
        fu_sleep(0.002);
    }
    return 0;
}

int fu_wait_for_text(pid_t pid, const char *log, const char *text, double timeout_s)
{
    double end = fu_now() + timeout_s;
    while (fu_now() < end) {
        char *s = fu_read_file(log, NULL);
        int found = s && strstr(s, text);
        free(s);
        if (found) return 1;
        if (child_ended(pid)) return 0;
        fu_sleep(0.002);
    }
    return 0;
}

char *fu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap + 1);
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    buf[len] = 0;
    if (size) *size = len;
    return buf;
}

int fu_same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = fu_read_file(a, &na), *y = fu_read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

void fu_copy(const char *from, const char *to)
{
    size_t n;
    char *data = fu_read_file(from, &n);
    FILE *f = data ? fopen(to, "wb") : NULL;
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) { perror(to); abort(); }
    free(data);
}

const char *fu_temp_file(const char *dir)
{
    static char name[1024];
    DIR *d = opendir(dir);
    if (!d) return NULL;
    struct dirent *e;
    const char *found = NULL;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp-")) {
            snprintf(name, sizeof name, "%s", e->d_name);
            found = name;
            break;
        }
    closedir(d);
    return found;
}

const char *fu_status_text(int status)
{
    static char buf[64];
    if (WIFEXITED(status)) snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(buf, sizeof buf, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else snprintf(buf, sizeof buf, "status %#x", status);
    return buf;
}
