/* cli_parse: reads argv from a command's option table (cli.h) and prints
 * its --help from the same rows, so an option is written in one place. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/dataset.h"
#include "core/error.h"
#include "core/nearest.h"

enum { LONG_ONLY_BASE = 1000, DEFAULT_HELP_COLUMN = 25, MAX_OPTIONS = 128 };

#define FIELD(target, row, type) ((type *)((char *)(target) + (row)->offset))

static int row_count(const cli_option *rows)
{
    int n = 0;
    while (rows[n].type != CLI_TEXT || rows[n].help) n++;
    return n;
}

static int takes_value(const cli_option *o)
{
    return o->type != CLI_FLAG && o->type != CLI_TEXT && !(o->type == CLI_CALL && !o->value_name);
}

/* The "did you mean" of core/nearest.c, which the library's value checks
 * (class names) share. */
int cli_edit_distance(const char *a, const char *b) { return rm_edit_distance(a, b); }

const char *cli_nearest(const char *word, const char *const *names, int n)
{
    return rm_nearest_name(word, names, n);
}

/* The long option nearest to `text` ("--epoch" -> "epochs"), or NULL. */
static const char *closest_option(const cli_option *rows, const char *text)
{
    if (strncmp(text, "--", 2) != 0) return NULL;
    char word[64];
    snprintf(word, sizeof word, "%s", text + 2);
    char *eq = strchr(word, '=');
    if (eq) *eq = 0;
    const char *names[MAX_OPTIONS];
    int n = 0;
    for (int i = 0; (rows[i].type != CLI_TEXT || rows[i].help) && n < MAX_OPTIONS; i++)
        if (rows[i].name) names[n++] = rows[i].name;
    return cli_nearest(word, names, n);
}

static int bad_option(const cli_command *cmd, int c, char **argv)
{
    const char *text = argv[optind - 1];
    if (c == ':') return cli_usage_error(cmd->name, "option '%s' needs a value", text);
    const char *near = closest_option(cmd->options, text);
    if (near) return cli_usage_error(cmd->name, "unknown option '%s'; did you mean '--%s'?", text, near);
    return cli_usage_error(cmd->name, "unknown option '%s'", text);
}

/* "a|b|c" -> the index of value, or -1. */
static int choice_index(const char *choices, const char *value)
{
    int k = 0;
    size_t n = strlen(value);
    for (const char *p = choices; *p; k++) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0) return k;
        p += len + (end != NULL);
    }
    return -1;
}

/* "a|b|c" -> "a, b or c". */
static void choice_text(const char *choices, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (const char *p = choices; *p && len < cap;) {
        const char *end = strchr(p, '|');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *sep = p == choices ? "" : end ? ", " : " or ";
        len += (size_t)snprintf(out + len, cap - len, "%s%.*s", sep, (int)n, p);
        p += n + (end != NULL);
    }
}

static int store(const cli_command *cmd, const cli_option *o, void *target, const char *value)
{
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", o->name);
    long v;
    switch (o->type) {
    case CLI_FLAG: *FIELD(target, o, int) = 1; return RM_EXIT_OK;
    case CLI_STRING: *FIELD(target, o, const char *) = value; return RM_EXIT_OK;
    case CLI_INT:
        if (cli_parse_int(cmd->name, opt, value, (long)o->lo, (long)o->hi, &v)) return RM_EXIT_USAGE;
        *FIELD(target, o, int) = (int)v;
        return RM_EXIT_OK;
    case CLI_LLONG:
        if (cli_parse_int(cmd->name, opt, value, (long)o->lo, (long)o->hi, &v)) return RM_EXIT_USAGE;
        *FIELD(target, o, long long) = v;
        return RM_EXIT_OK;
    case CLI_U64: return cli_parse_u64(cmd->name, opt, value, FIELD(target, o, uint64_t)) ? RM_EXIT_USAGE : RM_EXIT_OK;
    case CLI_DOUBLE:
        return cli_parse_double(cmd->name, opt, value, o->lo, o->hi, FIELD(target, o, double)) ? RM_EXIT_USAGE
                                                                                               : RM_EXIT_OK;
    case CLI_SIZE:
        return cli_parse_size(cmd->name, opt, value, FIELD(target, o, int),
                              (int *)((char *)target + o->offset2)) ? RM_EXIT_USAGE : RM_EXIT_OK;
    case CLI_SPLIT:
        if (rm_split_parse(value, FIELD(target, o, int)) != 0)
            return cli_usage_error(cmd->name, "%s: %s", opt, rm_error_message());
        return RM_EXIT_OK;
    case CLI_CHOICE: {
        int k = choice_index(o->choices, value);
        if (k < 0) {
            char list[256];
            choice_text(o->choices, list, sizeof list);
            return cli_usage_error(cmd->name, "%s '%s': expected %s", opt, value, list);
        }
        *FIELD(target, o, int) = k;
        return RM_EXIT_OK;
    }
    case CLI_THREADS:
        if (cli_parse_int(cmd->name, opt, value, (long)o->lo, (long)o->hi, &v)) return RM_EXIT_USAGE;
        cli_set_threads(v);
        return RM_EXIT_OK;
    case CLI_CALL: return o->set(target, value, cmd->name);
    case CLI_TEXT: break;
    }
    return RM_EXIT_OK;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, void *target, int *done, int *first_arg)
{
    const cli_option *rows = cmd->options;
    int n = row_count(rows);
    if (n > MAX_OPTIONS) return cli_usage_error(cmd->name, "internal: more than %d option rows", MAX_OPTIONS);
    struct option longopts[MAX_OPTIONS + 2];
    char shortopts[2 * MAX_OPTIONS + 4] = ":h";
    size_t ns = 2;
    int k = 0;
    longopts[k++] = (struct option){"help", no_argument, NULL, 'h'};
    for (int i = 0; i < n; i++) {
        const cli_option *o = &rows[i];
        if (o->type == CLI_TEXT) continue;
        int arg = takes_value(o) ? required_argument : no_argument;
        longopts[k++] = (struct option){o->name, arg, NULL, o->short_name ? o->short_name : LONG_ONLY_BASE + i};
        if (o->short_name) {
            shortopts[ns++] = o->short_name;
            if (arg == required_argument) shortopts[ns++] = ':';
        }
    }
    longopts[k] = (struct option){NULL, 0, NULL, 0};
    shortopts[ns] = 0;

    *done = 0;
    opterr = 0;
    optind = 0;   /* rescan from argv[1], also when a command parses twice */
    int ch;
    while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (ch == 'h') {
            cli_print_help(cmd, stdout);
            *done = 1;
            return RM_EXIT_OK;
        }
        if (ch == '?' || ch == ':') return bad_option(cmd, ch, argv);
        const cli_option *o = NULL;
        if (ch >= LONG_ONLY_BASE) {
            o = &rows[ch - LONG_ONLY_BASE];
        } else {
            for (int i = 0; i < n && !o; i++)
                if (rows[i].type != CLI_TEXT && rows[i].short_name == ch) o = &rows[i];
        }
        if (!o) return bad_option(cmd, '?', argv);
        int rc = store(cmd, o, target, takes_value(o) ? optarg : NULL);
        if (rc != RM_EXIT_OK) return rc;
    }
    if (argc - optind > cmd->max_args)
        return cli_usage_error(cmd->name, "unexpected argument '%s'", argv[optind + cmd->max_args]);
    for (int i = 0; i < n; i++)
        if (rows[i].required && !*FIELD(target, &rows[i], const char *))
            return cli_usage_error(cmd->name, "--%s %s is required", rows[i].name, rows[i].value_name);
    if (first_arg) *first_arg = optind;
    return cmd->check ? cmd->check(target, cmd->name) : RM_EXIT_OK;
}

void cli_print_help(const cli_command *cmd, FILE *out)
{
    int col = cmd->help_column ? cmd->help_column : DEFAULT_HELP_COLUMN;
    fputs(cmd->usage, out);
    for (const cli_option *o = cmd->options; o->type != CLI_TEXT || o->help; o++) {
        if (o->type == CLI_TEXT) {
            fprintf(out, "%s\n", o->help);
            continue;
        }
        char left[160];
        int len = snprintf(left, sizeof left, "  %c%c%c --%s%s%s", o->short_name ? '-' : ' ',
                           o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name,
                           o->value_name ? " " : "", o->value_name ? o->value_name : "");
        fputs(left, out);
        if (len > col - 1) fprintf(out, "\n%*s", col, "");
        else fprintf(out, "%*s", col - len, "");
        for (const char *p = o->help; *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(out, "%.*s\n", (int)n, p);
            if (!nl) break;
            p = nl + 1;
            fprintf(out, "%*s", col, "");
        }
    }
    if (cmd->epilog) fputs(cmd->epilog, out);
}
