/* FER2013 CSV: a header "emotion,pixels,Usage" (column order free, Usage
 * optional), then one row per 48x48 grayscale face: the emotion code 0..6,
 * 2304 space-separated pixel values, and Training/PublicTest/PrivateTest.
 * Streamed line by line; memory does not grow with the file. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ingest/ingest.h"
#include "ingest/sink.h"
#include "core/textio.h"

enum { SIDE = 48, PIXELS = SIDE * SIDE, CLASSES = 7, MAX_LINE = 64 * 1024, MAX_COLUMNS = 16 };

typedef struct { char *field[MAX_COLUMNS]; int count; } csv_row;

/* Splits a line in place on commas; surrounding double quotes are removed.
 * FER2013 has no quoted commas, so no escape handling is needed. */
static void split_row(char *line, csv_row *row)
{
    row->count = 0;
    char *p = line;
    for (;;) {
        char *end = strchr(p, ',');
        if (end) *end = 0;
        size_t len = strlen(p);
        if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
            p[len - 1] = 0;
            p++;
        }
        if (row->count < MAX_COLUMNS) row->field[row->count] = p;
        row->count++;
        if (!end) break;
        p = end + 1;
    }
}

typedef struct { int emotion, pixels, usage, columns; } header_cols;

static int parse_header(char *line, const char *path, header_cols *h)
{
    csv_row row;
    split_row(line, &row);
    h->emotion = h->pixels = h->usage = -1;
    h->columns = row.count;
    for (int i = 0; i < row.count && i < MAX_COLUMNS; i++) {
        const char *f = row.field[i];
        while (*f == ' ' || *f == '\xef' || *f == '\xbb' || *f == '\xbf') f++;   /* BOM */
        if (!strcasecmp(f, "emotion")) h->emotion = i;
        else if (!strcasecmp(f, "pixels")) h->pixels = i;
        else if (!strcasecmp(f, "usage")) h->usage = i;
    }
    if (h->emotion < 0 || h->pixels < 0)
        return rm_error("%s:1: expected a header with columns 'emotion' and 'pixels' (and optionally "
                        "'Usage'), got '%.80s'", path, line);
    return 0;
}

/* Parses exactly PIXELS values 0..255; on failure describes the problem. */
static int parse_pixels(const char *s, uint8_t *out, char *why, size_t why_size)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (*p < '0' || *p > '9') {
            const char *end = p;
            while (*end && *end != ' ') end++;
            snprintf(why, why_size, "pixel %d '%.*s' is not an integer 0..255", n + 1,
                     (int)(end - p > 20 ? 20 : end - p), p);
            return -1;
        }
        unsigned v = 0;
        const char *start = p;
        while (*p >= '0' && *p <= '9' && p - start < 4) v = v * 10 + (unsigned)(*p++ - '0');
        if (v > 255 || (*p && *p != ' ' && *p != '\t')) {
            const char *end = p;
            while (*end && *end != ' ') end++;
            snprintf(why, why_size, "pixel %d '%.*s' is not an integer 0..255", n + 1,
                     (int)(end - start > 20 ? 20 : end - start), start);
            return -1;
        }
        if (n < PIXELS) out[n] = (uint8_t)v;
        n++;
    }
    if (n != PIXELS) {
        snprintf(why, why_size, "expected %d pixels, got %d", PIXELS, n);
        return -1;
    }
    return 0;
}

static int parse_usage(const char *s, uint8_t *split)
{
    if (!strcmp(s, "Training")) *split = RM_SPLIT_TRAIN;
    else if (!strcmp(s, "PublicTest")) *split = RM_SPLIT_VAL;
    else if (!strcmp(s, "PrivateTest")) *split = RM_SPLIT_TEST;
    else return -1;
    return 0;
}

static int parse_emotion(const char *s, int32_t *label)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v >= CLASSES) return -1;
    *label = (int32_t)v;
    return 0;
}

/* One data row: returns 0 (added or skipped), -1 on a fatal error. */
static int ingest_row(rm_ingest_sink *sink, const char *path, size_t line_no, char *line,
                      const header_cols *h, rm_image *img)
{
    csv_row row;
    split_row(line, &row);
    if (row.count != h->columns)
        return rm_sink_bad(sink, "%s:%zu: expected %d comma-separated fields, got %d", path, line_no,
                           h->columns, row.count);
    int32_t label;
    if (parse_emotion(row.field[h->emotion], &label) != 0)
        return rm_sink_bad(sink, "%s:%zu: emotion '%.20s' is not an integer 0..6", path, line_no,
                           row.field[h->emotion]);
    if (label >= rm_sink_classes(sink))   /* a shorter --classes list */
        return rm_sink_bad(sink, "%s:%zu: label %d out of range 0..%d (%d classes given)", path, line_no, label,
                           rm_sink_classes(sink) - 1, rm_sink_classes(sink));
    uint8_t split = RM_SPLIT_UNASSIGNED;
    if (h->usage >= 0 && parse_usage(row.field[h->usage], &split) != 0)
        return rm_sink_bad(sink, "%s:%zu: Usage '%.30s', expected Training, PublicTest or PrivateTest",
                           path, line_no, row.field[h->usage]);
    char why[128];
    if (parse_pixels(row.field[h->pixels], img->pixels, why, sizeof why) != 0)
        return rm_sink_bad(sink, "%s:%zu: %s", path, line_no, why);
    char source[512];
    const char *base = strrchr(path, '/');
    snprintf(source, sizeof source, "%s:%zu", base ? base + 1 : path, line_no);
    return rm_sink_add(sink, img, label, split, source);
}

int rm_ingest_fer2013(const char *csv_path, const rm_ingest_options *opt)
{
    rm_line_reader reader;
    RM_TRY(rm_line_reader_open(&reader, csv_path, MAX_LINE));
    rm_image img = {0};
    rm_ingest_sink *sink = NULL;
    char *line;
    size_t len;
    header_cols h;
    int got = rm_line_reader_next(&reader, &line, &len);
    if (got == 0) rm_error("%s: empty file, expected a header 'emotion,pixels,Usage'", csv_path);
    if (got != 1 || parse_header(line, csv_path, &h) != 0) goto fail;
    const char *const *names;
    int n;
    rm_class_preset("fer2013", &n, &names);
    if (rm_image_alloc(&img, SIDE, SIDE, 1) != 0 ||
        rm_sink_open(&sink, opt, "fer2013-csv", csv_path, SIDE, SIDE, RM_LABELS_NUMBERED, CLASSES, names) != 0)
        goto fail;
    rm_sink_param(sink, "usage_column", "%s", h.usage >= 0 ? "yes" : "no");
    while ((got = rm_line_reader_next(&reader, &line, &len)) == 1) {
        if (len == 0) continue;
        if (ingest_row(sink, csv_path, reader.line_no, line, &h, &img) != 0) goto fail;
    }
    if (got < 0) goto fail;
    rm_line_reader_close(&reader);
    rm_image_free(&img);
    return rm_sink_finish(sink);
fail:
    rm_sink_abort(sink);
    rm_line_reader_close(&reader);
    rm_image_free(&img);
    return -1;
}
