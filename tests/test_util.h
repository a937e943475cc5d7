/* Helpers shared by the Criterion tests: scratch directories, fixtures,
 * writing files and running the relmask CLI as a child process. */
#ifndef RELMASK_TEST_UTIL_H
#define RELMASK_TEST_UTIL_H

#include <stddef.h>

/* A network small enough for tests that train: 1x16x16 gray input, 7
 * classes, one 3x3 convolution of 4 filters, a 2x2 max pool, a dense layer. */
extern const char tu_tiny_net_text[];

/* A fresh empty directory under $TMPDIR; tu_rmtree removes it and frees
 * the returned string. */
char *tu_scratch_dir(void);
void tu_rmtree(const char *path);
/* "<a>/<b>" in a static ring of buffers (valid for a few calls). */
const char *tu_path(const char *dir, const char *name);
/* tests/fixtures/<name>, from $RELMASK_FIXTURES (set by make check). */
const char *tu_fixture(const char *name);
void tu_write_file(const char *path, const void *data, size_t size);
void tu_write_text(const char *path, const char *text);
int tu_file_exists(const char *path);
/* Number of entries in a directory, excluding . and .. */
int tu_dir_entries(const char *dir);

/* Runs "$RELMASK_BIN <args>" through /bin/sh; captures stdout+stderr into
 * a malloc'd string (*output, may be NULL) and returns the exit code. */
int tu_run_cli(char **output, const char *args_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs a shell command line (e.g. make), the same way. */
int tu_run_sh(char **output, const char *cmd_fmt, ...) __attribute__((format(printf, 2, 3)));
/* A whole file as a malloc'd string (the test fails if it is missing). */
char *tu_read_text(const char *path);

#endif
