/* Streaming line reader with a bounded line length, for CSV-like inputs:
 * memory stays constant however large the file, and an overlong line is an
 * error naming the file and line instead of an unbounded allocation. */
#ifndef RELMASK_TEXTIO_H
#define RELMASK_TEXTIO_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *file;
    const char *path;
    char *buf;
    size_t cap;        /* max line length + 1 */
    size_t line_no;    /* 1-based number of the line last returned */
    size_t bytes_read;
} rm_line_reader;

int rm_line_reader_open(rm_line_reader *r, const char *path, size_t max_line);
/* Returns 1 and sets *line (NUL-terminated, without "\n" or "\r\n") and
 * *len; 0 at end of file; -1 on error (read error, line too long, NUL byte). */
int rm_line_reader_next(rm_line_reader *r, char **line, size_t *len);
void rm_line_reader_close(rm_line_reader *r);

/* Appends n bytes of s to out (cap bytes, *used of them filled, always
 * NUL-terminated), cutting off what does not fit. */
void rm_text_append(char *out, size_t *used, size_t cap, const char *s, size_t n);

#endif
