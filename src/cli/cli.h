/* Subcommands and their shared option parsing. Each command returns an
 * exit code: RM_EXIT_OK, RM_EXIT_RUNTIME or RM_EXIT_USAGE. */
#ifndef RELMASK_CLI_H
#define RELMASK_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/netdef.h"

int cmd_encode(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_heatmap(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_relevance(int argc, char **argv);
int cmd_subset(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_study(int argc, char **argv);
int cmd_relevance_eval(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_net(int argc, char **argv);
/* "relmask relevance import ..." (argv[0] = "import"), from cmd_relevance. */
int cmd_relevance_import(int argc, char **argv);

/* --- one option table per command ----------------------------------------
 * Each row names an option once: cli_parse reads argv from the rows, checks
 * ranges with the messages below, and prints --help from the same rows.
 * A command file defines CLI_TARGET (its options struct) before its table
 * and writes rows with the CLI_* macros; offsets are into that struct. */
typedef enum {
    CLI_FLAG,      /* no value: int field = 1 */
    CLI_STRING,    /* const char * field */
    CLI_INT,       /* int field in [lo, hi] */
    CLI_LLONG,     /* long long field in [lo, hi] */
    CLI_U64,       /* uint64_t field */
    CLI_DOUBLE,    /* double field in [lo, hi] */
    CLI_SIZE,      /* "48" or "64x48": int width and height fields */
    CLI_SPLIT,     /* train, val, test or all: int field (RM_SPLIT_*, -1 = all) */
    CLI_CHOICE,    /* one word of `choices` ("he|glorot"): int field = its index */
    CLI_THREADS,   /* 0..4096 threads (0 = all cores), applied at once */
    CLI_CALL,      /* set() stores the value (NULL for an option without one) */
    CLI_TEXT,      /* not an option: a line of the help between option rows */
} cli_type;

typedef struct {
    cli_type type;
    char short_name;              /* 0: none */
    const char *name;             /* the long name, without "--" */
    const char *value_name;       /* "N", "FILE", ...; NULL: takes no value */
    size_t offset, offset2;       /* the field(s) in the command's struct */
    double lo, hi;                /* CLI_INT, CLI_LLONG, CLI_DOUBLE: accepted range */
    const char *choices;          /* CLI_CHOICE */
    /* CLI_CALL: returns RM_EXIT_OK, or RM_EXIT_USAGE after cli_usage_error. */
    int (*set)(void *target, const char *value, const char *cmd);
    int required;                 /* "--NAME VALUE is required" when absent */
    const char *help;             /* '\n' continues on an indented line */
} cli_option;

typedef struct {
    const char *name;             /* "train", "relevance import": for messages */
    const char *usage;            /* the help before the option rows */
    const cli_option *options;    /* ends with CLI_END */
    const char *epilog;           /* the help after them */
    int help_column;              /* where option help starts (0: 25) */
    int max_args;                 /* positional arguments allowed */
    /* Checks across options after parsing; RM_EXIT_OK or RM_EXIT_USAGE. */
    int (*check)(void *target, const char *cmd);
} cli_command;

#define CLI_OFF(field) offsetof(CLI_TARGET, field)
#define CLI_ROW(type, sh, name, meta, off, off2, lo, hi, choices, set, req, help) \
    {type, sh, name, meta, off, off2, lo, hi, choices, set, req, help}
#define CLI_OPT_FLAG(sh, name, field, help) CLI_ROW(CLI_FLAG, sh, name, NULL, CLI_OFF(field), 0, 0, 0, NULL, NULL, 0, help)
#define CLI_OPT_STRING(sh, name, meta, field, help) CLI_ROW(CLI_STRING, sh, name, meta, CLI_OFF(field), 0, 0, 0, NULL, NULL, 0, help)
#define CLI_OPT_REQUIRED(sh, name, meta, field, help) CLI_ROW(CLI_STRING, sh, name, meta, CLI_OFF(field), 0, 0, 0, NULL, NULL, 1, help)
#define CLI_OPT_INT(sh, name, meta, field, lo, hi, help) CLI_ROW(CLI_INT, sh, name, meta, CLI_OFF(field), 0, lo, hi, NULL, NULL, 0, help)
#define CLI_OPT_LLONG(sh, name, meta, field, lo, hi, help) CLI_ROW(CLI_LLONG, sh, name, meta, CLI_OFF(field), 0, lo, hi, NULL, NULL, 0, help)
#define CLI_OPT_U64(sh, name, meta, field, help) CLI_ROW(CLI_U64, sh, name, meta, CLI_OFF(field), 0, 0, 0, NULL, NULL, 0, help)
#define CLI_OPT_DOUBLE(sh, name, meta, field, lo, hi, help) CLI_ROW(CLI_DOUBLE, sh, name, meta, CLI_OFF(field), 0, lo, hi, NULL, NULL, 0, help)
#define CLI_OPT_SIZE(sh, name, meta, wfield, hfield, help) CLI_ROW(CLI_SIZE, sh, name, meta, CLI_OFF(wfield), CLI_OFF(hfield), 0, 0, NULL, NULL, 0, help)
#define CLI_OPT_SPLIT(sh, name, field, help) CLI_ROW(CLI_SPLIT, sh, name, "NAME", CLI_OFF(field), 0, 0, 0, NULL, NULL, 0, help)
#define CLI_OPT_CHOICE(sh, name, meta, field, choices, help) CLI_ROW(CLI_CHOICE, sh, name, meta, CLI_OFF(field), 0, 0, 0, choices, NULL, 0, help)
#define CLI_OPT_THREADS(help) CLI_ROW(CLI_THREADS, 't', "threads", "N", 0, 0, 0, 4096, NULL, NULL, 0, help)
#define CLI_OPT_CALL(sh, name, meta, fn, help) CLI_ROW(CLI_CALL, sh, name, meta, 0, 0, 0, 0, NULL, fn, 0, help)
/* -q, --quiet: no progress bar and no log lines on stderr (errors still). */
#define CLI_OPT_QUIET(help) CLI_OPT_CALL('q', "quiet", NULL, cli_set_quiet, help)
#define CLI_HELP_TEXT(text) CLI_ROW(CLI_TEXT, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL, 0, text)
#define CLI_END CLI_ROW(CLI_TEXT, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL, 0, NULL)

/* Parses argv (argv[0] is the command) into `target`, whose defaults are
 * set. Returns RM_EXIT_OK, with *done = 1 when --help was printed, or
 * RM_EXIT_USAGE after a message. Positional arguments are left in
 * argv[*first_arg .. argc-1] (getopt's order: options may come between). */
int cli_parse(const cli_command *cmd, int argc, char **argv, void *target, int *done, int *first_arg);
/* Prints the command's help, as --help does. */
void cli_print_help(const cli_command *cmd, FILE *out);
/* Levenshtein distance of two short strings (capped at 9). */
int cli_edit_distance(const char *a, const char *b);
/* The name nearest to `word` for a "did you mean": at most two edits away,
 * or one that `word` (3 letters or more) begins; NULL if none. */
const char *cli_nearest(const char *word, const char *const *names, int n);

/* Prints "relmask <cmd>: <message>" and a hint to --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For getopt_long with opterr = 0 and an optstring starting with ':':
 * reports the unknown option or missing value (c is '?' or ':'). */
int cli_bad_option(const char *cmd, int c, char **argv);
/* Prints "relmask: error: <rm_error_message()>"; returns 1. */
int cli_runtime_error(void);

/* Strict number parsing for option values; 0 ok, -1 (after a usage error
 * message naming the option) when malformed or out of range. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
/* "48" or "64x48" (width x height). */
int cli_parse_size(const char *cmd, const char *opt, const char *s, int *width, int *height);
/* The setter of CLI_OPT_QUIET. */
int cli_set_quiet(void *target, const char *value, const char *cmd);
/* Applies --threads (0 = all cores) to OpenMP. */
void cli_set_threads(long threads);
/* The command line as one string, for provenance attributes: each word
 * shell-quoted where needed, so it can be pasted back into a shell. */
const char *cli_command_line(void);

/* The layer table of `net` and `info MODEL.h5` (cli_layers.c): type with
 * kernel, stride, groups or activation variant, output shape, parameters,
 * MFLOP per image, and the layers read when not the one before. */
void cli_print_layers(const rm_netdef *d);
void cli_set_command_line(int argc, char **argv);

#endif
