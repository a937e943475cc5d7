/* Subcommands and their shared option parsing. Each command returns an
 * exit code: RM_EXIT_OK, RM_EXIT_RUNTIME or RM_EXIT_USAGE. */
#ifndef RELMASK_CLI_H
#define RELMASK_CLI_H

#include <stdint.h>

int cmd_encode(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_heatmap(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_relevance(int argc, char **argv);
int cmd_subset(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_relevance_eval(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_net(int argc, char **argv);
/* "relmask relevance import ..." (argv[0] = "import"), from cmd_relevance. */
int cmd_relevance_import(int argc, char **argv);

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
/* Applies --threads (0 = all cores) to OpenMP. */
void cli_set_threads(long threads);
/* The command line as one string, for provenance attributes. */
const char *cli_command_line(void);
void cli_set_command_line(int argc, char **argv);

#endif
