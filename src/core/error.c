#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char error_buf[2048];
/* Whether the current message is a usage mistake (rm_error_mark_usage). */
static _Thread_local int error_usage;
/* -1: not decided yet; RELMASK_QUIET=1 in the environment silences logs
 * (make check sets it so test output shows only failures and warnings). */
static int log_quiet = -1;
static int warn_quiet;

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static int utf8_length(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
          : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* Messages quote pieces of bad input (a CSV field, a network key): bytes
 * that are not valid UTF-8, and control characters, are written as \xNN so
 * the message stays readable and safe to print on a terminal. */
static void escape_message(void)
{
    char in[sizeof error_buf];
    memcpy(in, error_buf, sizeof in);
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    while (*p && o + 5 < sizeof error_buf) {
        int n = utf8_length(p);
        if (n == 1 && *p < 0x20 && *p != '\n' && *p != '\t') n = 0;
        if (n == 0) {
            o += (size_t)snprintf(error_buf + o, sizeof error_buf - o, "\\x%02X", *p++);
            continue;
        }
        memcpy(error_buf + o, p, (size_t)n);
        o += (size_t)n;
        p += n;
    }
    error_buf[o] = 0;
}

int rm_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_buf, sizeof error_buf, fmt, ap);
    va_end(ap);
    escape_message();
    error_usage = 0;
    return -1;
}

int rm_error_mark_usage(void)
{
    error_usage = 1;
    return -1;
}

int rm_error_is_usage(void) { return error_usage; }

int rm_error_prefix(const char *fmt, ...)
{
    char prefix[1024], old[sizeof error_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, error_buf, sizeof old);
    if (snprintf(error_buf, sizeof error_buf, "%s: %s", prefix, old) >= (int)sizeof error_buf)
        error_buf[sizeof error_buf - 1] = 0;   /* truncated is fine */
    escape_message();
    return -1;
}

const char *rm_error_message(void) { return error_buf[0] ? error_buf : "unknown error"; }
void rm_error_clear(void)
{
    error_buf[0] = 0;
    error_usage = 0;
}

void *rm_malloc(size_t bytes, const char *what)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) rm_error("out of memory: %zu bytes for %s", bytes, what);
    return p;
}

void *rm_calloc(size_t count, size_t size, const char *what)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) rm_error("out of memory: %zu x %zu bytes for %s", count, size, what);
    return p;
}

void *rm_realloc(void *ptr, size_t bytes, const char *what)
{
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p) rm_error("out of memory: %zu bytes for %s", bytes, what);
    return p;
}

int rm_size_mul(size_t *out, size_t a, size_t b, size_t limit, const char *what)
{
    if (a != 0 && b > SIZE_MAX / a)
        return rm_error("%s: size %zu x %zu overflows", what, a, b);
    if (a * b > limit)
        return rm_error("%s: %zu bytes exceeds the limit of %zu", what, a * b, limit);
    *out = a * b;
    return 0;
}

char *rm_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = rm_malloc(n, "string");
    if (p) memcpy(p, s, n);
    return p;
}

void rm_warn(const char *fmt, ...)
{
    if (warn_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("relmask: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void rm_log(const char *fmt, ...)
{
    if (log_quiet < 0) {
        const char *env = getenv("RELMASK_QUIET");
        log_quiet = env && *env && strcmp(env, "0") != 0;
    }
    if (log_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("relmask: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void rm_log_set_quiet(int quiet) { log_quiet = quiet; }
void rm_warn_set_quiet(int quiet) { warn_quiet = quiet; }
