#include "test_util.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_scratch_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/relmask-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *dir = mkdtemp(tmpl);
    if (!dir) { perror("mkdtemp"); abort(); }
    return strdup(dir);
}

void tu_rmtree(const char *path)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "tu_rmtree: could not remove %s\n", path);
    free((void *)path);
}

const char *tu_path(const char *dir, const char *name)
{
    static char ring[8][4096];
    static int next;
    char *buf = ring[next++ % 8];
    snprintf(buf, sizeof ring[0], "%s/%s", dir, name);
    return buf;
}

const char *tu_fixture(const char *name)
{
    const char *dir = getenv("RELMASK_FIXTURES");
    return tu_path(dir && *dir ? dir : "tests/fixtures", name);
}

void tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

void tu_write_text(const char *path, const char *text) { tu_write_file(path, text, strlen(text)); }

int tu_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int tu_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Runs `cmd` through /bin/sh with stderr joined to stdout. */
static int run_captured(char **output, const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p) { perror("popen"); abort(); }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int status = pclose(p);
    if (output) *output = buf; else free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int tu_run_cli(char **output, const char *args_fmt, ...)
{
    const char *bin = getenv("RELMASK_BIN");
    if (!bin || !*bin) bin = "build/relmask";
    char args[16384], cmd[20000];
    va_list ap;
    va_start(ap, args_fmt);
    vsnprintf(args, sizeof args, args_fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", bin, args);
    return run_captured(output, cmd);
}

int tu_run_sh(char **output, const char *cmd_fmt, ...)
{
    char line[16384], cmd[16400];
    va_list ap;
    va_start(ap, cmd_fmt);
    vsnprintf(line, sizeof line, cmd_fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s 2>&1", line);
    return run_captured(output, cmd);
}

char *tu_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "missing %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    cr_assert(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n, "%s: short read", path);
    s[n] = 0;
    fclose(f);
    return s;
}

const char tu_tiny_net_text[] =
    "[net]\ninput = 1x16x16\nclasses = 7\n"
    "[conv]\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n"
    "[dense]\nunits = 7\n";
