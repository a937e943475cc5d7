#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/ranks.h"
#include "core/textio.h"

static char command_line[4096];

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    if (rm_ranks_rank() > 0) return RM_EXIT_USAGE;   /* every rank sees the same arguments: rank 0 says it */
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "relmask %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'relmask %s --help'.\n", cmd);
    va_end(ap);
    return RM_EXIT_USAGE;
}

int cli_runtime_error(void)
{
    /* Under mpirun, rank 0 prints what every rank agreed on; another rank
     * speaks only of a failure of its own the others do not know of. */
    if (rm_ranks_rank() == 0) fprintf(stderr, "relmask: error: %s\n", rm_error_message());
    else if (!rm_ranks_failure_agreed())
        fprintf(stderr, "relmask (rank %d): error: %s\n", rm_ranks_rank(), rm_error_message());
    return RM_EXIT_RUNTIME;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        cli_usage_error(cmd, "%s '%s': expected an integer in %ld..%ld", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-') {
        cli_usage_error(cmd, "%s '%s': expected a non-negative integer", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        cli_usage_error(cmd, "%s '%s': expected a number in [%g, %g]", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_size(const char *cmd, const char *opt, const char *s, int *width, int *height)
{
    char *end;
    long w = strtol(s, &end, 10), h = w;
    if (end != s && (*end == 'x' || *end == 'X')) {
        const char *hs = end + 1;
        h = strtol(hs, &end, 10);
        if (end == hs) h = -1;
    }
    if (end == s || *end || w < 1 || h < 1 || w > 4096 || h > 4096) {
        cli_usage_error(cmd, "%s '%s': expected a size like 48 or 64x48 (1..4096)", opt, s);
        return -1;
    }
    *width = (int)w;
    *height = (int)h;
    return 0;
}

int cli_set_quiet(void *target, const char *value, const char *cmd)
{
    rm_progress_set_quiet(1);
    rm_log_set_quiet(1);
    return RM_EXIT_OK;
}

void cli_set_threads(long threads)
{
    if (threads > 0) omp_set_num_threads((int)threads);
}

/* Appends `arg` as a POSIX shell word: as it is when every byte is safe,
 * else in single quotes with each ' written as '\''. */
static void put_shell_word(char *out, size_t *used, size_t cap, const char *arg)
{
    int safe = *arg != 0;
    for (const char *p = arg; *p && safe; p++)
        safe = isalnum((unsigned char)*p) || strchr("_@%+=:,./-", *p);
    if (safe) {
        rm_text_append(out, used, cap, arg, strlen(arg));
        return;
    }
    rm_text_append(out, used, cap, "'", 1);
    for (const char *p = arg; *p; p++)
        if (*p == '\'') rm_text_append(out, used, cap, "'\\''", 4);
        else rm_text_append(out, used, cap, p, 1);
    rm_text_append(out, used, cap, "'", 1);
}

void cli_set_command_line(int argc, char **argv)
{
    size_t used = 0;
    command_line[0] = 0;
    for (int i = 0; i < argc; i++) {
        if (i) rm_text_append(command_line, &used, sizeof command_line, " ", 1);
        put_shell_word(command_line, &used, sizeof command_line, argv[i]);
    }
}

const char *cli_command_line(void) { return command_line; }

int cli_bad_option(const char *cmd, int c, char **argv)
{
    const char *text = argv[optind - 1];
    if (c == ':') return cli_usage_error(cmd, "option '%s' needs a value", text);
    return cli_usage_error(cmd, "unknown option '%s'", text);
}
