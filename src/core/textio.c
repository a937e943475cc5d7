#include "core/textio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int rm_line_reader_open(rm_line_reader *r, const char *path, size_t max_line)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->cap = max_line + 2;
    r->file = fopen(path, "rb");
    if (!r->file) return rm_error("%s: cannot open: %s", path, strerror(errno));
    r->buf = rm_malloc(r->cap, "line buffer");
    if (!r->buf) {
        fclose(r->file);
        r->file = NULL;
        return -1;
    }
    return 0;
}

int rm_line_reader_next(rm_line_reader *r, char **line, size_t *len)
{
    if (!fgets(r->buf, (int)r->cap, r->file)) {
        if (ferror(r->file)) return rm_error("%s:%zu: read error: %s", r->path, r->line_no + 1, strerror(errno));
        return 0;
    }
    r->line_no++;
    size_t n = strlen(r->buf);
    r->bytes_read += n;
    if (n == r->cap - 1 && r->buf[n - 1] != '\n' && !feof(r->file))
        return rm_error("%s:%zu: line longer than %zu bytes", r->path, r->line_no, r->cap - 2);
    /* fgets stops at NUL silently; a NUL shows up as a short strlen. */
    if (n > 0 && r->buf[n - 1] != '\n' && !feof(r->file))
        return rm_error("%s:%zu: NUL byte in text line", r->path, r->line_no);
    while (n > 0 && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r')) r->buf[--n] = 0;
    *line = r->buf;
    *len = n;
    return 1;
}

void rm_line_reader_close(rm_line_reader *r)
{
    if (r->file) fclose(r->file);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

void rm_text_append(char *out, size_t *used, size_t cap, const char *s, size_t n)
{
    if (*used + 1 >= cap) return;
    if (n > cap - 1 - *used) n = cap - 1 - *used;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = 0;
}
