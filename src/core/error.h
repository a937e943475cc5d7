/* Errors: functions that can fail return 0 on success and -1 on failure,
 * after recording a message a user can act on with rm_error(). The CLI
 * prints it as "relmask: error: <message>" and exits with RM_EXIT_RUNTIME. */
#ifndef RELMASK_ERROR_H
#define RELMASK_ERROR_H

#include <stddef.h>

enum { RM_EXIT_OK = 0, RM_EXIT_RUNTIME = 1, RM_EXIT_USAGE = 2 };

/* Records a printf-style message (thread-local; the last one wins). */
int rm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefixes the current message: "context: previous message". */
int rm_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *rm_error_message(void);
void rm_error_clear(void);
/* Marks the current message as a usage mistake found only once the inputs
 * are read (an option value that names no class of the data): the CLI then
 * exits with RM_EXIT_USAGE and a hint to --help. Returns -1; a later
 * rm_error clears the mark, rm_error_prefix keeps it. */
int rm_error_mark_usage(void);
int rm_error_is_usage(void);

/* Propagates a failure: RM_TRY(f(x)); returns -1 from the caller. */
#define RM_TRY(expr) do { if ((expr) != 0) return -1; } while (0)

/* Checking allocation wrappers: on failure they record
 * "out of memory: <bytes> bytes for <what>" and return NULL. */
void *rm_malloc(size_t bytes, const char *what);
void *rm_calloc(size_t count, size_t size, const char *what);
void *rm_realloc(void *ptr, size_t bytes, const char *what);
/* Multiplies sizes, failing (with a message naming `what`) on overflow or
 * when the product exceeds `limit` bytes; guards header-driven allocations. */
int rm_size_mul(size_t *out, size_t a, size_t b, size_t limit, const char *what);
char *rm_strdup(const char *s);

/* Warnings and log lines go to stderr, prefixed with "relmask: ". */
void rm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Silences rm_log (not warnings); for --quiet and tests. */
void rm_log_set_quiet(int quiet);
/* Silences warnings too; for the fuzz targets, which see millions of odd
 * inputs. */
void rm_warn_set_quiet(int quiet);

#endif
