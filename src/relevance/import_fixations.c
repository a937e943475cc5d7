/* Eye-tracking fixations -> fixation density maps. The CSV (a header naming
 * the columns image, x, y, duration in any order, other columns ignored)
 * is read whole: fixation lists are small next to the images. Fixations
 * are grouped by record, each record's density is a duration-weighted sum
 * of isotropic Gaussians normalized to sum 1, written in record order. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "relevance/import_internal.h"
#include "core/error.h"
#include "core/textio.h"
#include "train/train.h"

enum { FIX_MAX_LINE = 4096, FIX_MAX_COLUMNS = 256 };
enum { COL_IMAGE, COL_X, COL_Y, COL_DURATION, NUM_COLS };
static const char *const col_names[NUM_COLS] = {"image", "x", "y", "duration"};

int rm_fixation_density(const rm_fixation *f, int64_t n, int h, int w, double sigma, float *out)
{
    if (n < 1) return rm_error("fixation density: no fixations");
    if (h < 1 || w < 1) return rm_error("fixation density: image size %dx%d", w, h);
    if (!(sigma > 0) || !isfinite(sigma)) return rm_error("fixation density: sigma %g, expected > 0", sigma);
    double peak = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(f[i].weight >= 0) || !isfinite(f[i].weight) || !isfinite(f[i].x) || !isfinite(f[i].y))
            return rm_error("fixation density: fixation %lld has position (%g,%g) and weight %g", (long long)i, f[i].x,
                            f[i].y, f[i].weight);
        if (f[i].weight > peak) peak = f[i].weight;
    }
    if (peak == 0) return rm_error("fixation density: every fixation has weight 0");
    size_t hw = (size_t)h * w;
    double *acc = rm_calloc(hw, sizeof *acc, "fixation density");
    double *gx = rm_malloc((size_t)w * sizeof *gx, "fixation density"), *gy = rm_malloc((size_t)h * sizeof *gy, "fixation density");
    if (!acc || !gx || !gy) {
        free(acc);
        free(gx);
        free(gy);
        return -1;
    }
    double k = -1 / (2 * sigma * sigma);
    for (int64_t i = 0; i < n; i++) {
        double wi = f[i].weight / peak;   /* in (0, 1]: no overflow whatever the durations */
        if (wi == 0) continue;
        for (int x = 0; x < w; x++) gx[x] = exp(k * (x - f[i].x) * (x - f[i].x));
        for (int y = 0; y < h; y++) gy[y] = wi * exp(k * (y - f[i].y) * (y - f[i].y));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) acc[(size_t)y * w + x] += gy[y] * gx[x];
    }
    double sum = 0;
    for (size_t i = 0; i < hw; i++) sum += acc[i];
    int rc = 0;
    if (!(sum > 0) || !isfinite(sum))
        rc = rm_error("fixation density: the Gaussians vanish on every pixel (sigma %g too small?)", sigma);
    for (size_t i = 0; rc == 0 && i < hw; i++) out[i] = (float)(acc[i] / sum);
    free(acc);
    free(gx);
    free(gy);
    return rc;
}

typedef struct {
    int64_t image;
    double x, y, weight;      /* pixels */
    size_t line;
} fixation_row;

static int by_image_then_line(const void *a, const void *b)
{
    const fixation_row *p = a, *q = b;
    if (p->image != q->image) return p->image < q->image ? -1 : 1;
    return p->line < q->line ? -1 : p->line > q->line;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* Splits line at commas in place; fields are trimmed. */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    for (char *p = line;;) {
        if (n == max) return max + 1;
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        fields[n++] = trim(p);
        if (!comma) break;
        p = comma + 1;
    }
    return n;
}

static int parse_header(const char *path, char *line, int *cols, int *ncols)
{
    if (!strncmp(line, "\xEF\xBB\xBF", 3)) line += 3;   /* a UTF-8 byte order mark */
    char *fields[FIX_MAX_COLUMNS + 1];
    int n = split_fields(line, fields, FIX_MAX_COLUMNS);
    if (n > FIX_MAX_COLUMNS) return rm_error("%s:1: more than %d columns", path, FIX_MAX_COLUMNS);
    for (int c = 0; c < NUM_COLS; c++) cols[c] = -1;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < NUM_COLS; c++)
            if (!strcasecmp(fields[i], col_names[c])) {
                if (cols[c] >= 0) return rm_error("%s:1: column '%s' appears twice in the header", path, col_names[c]);
                cols[c] = i;
            }
    for (int c = 0; c < NUM_COLS; c++)
        if (cols[c] < 0)
            return rm_error("%s:1: expected a header naming the columns image,x,y,duration; '%s' is missing", path,
                            col_names[c]);
    *ncols = n;
    return 0;
}

static int parse_double(const char *path, size_t line, const char *name, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return rm_error("%s:%zu: %s '%s' is not a finite number", path, line, name, s);
    *out = v;
    return 0;
}

/* One data line -> a fixation in pixel coordinates. */
static int parse_line(const rm_import_options *o, const rm_dataset *ds, size_t line_no, char *line, const int *cols,
                      int ncols, fixation_row *out)
{
    const char *path = o->input;
    char *fields[FIX_MAX_COLUMNS + 1];
    int n = split_fields(line, fields, FIX_MAX_COLUMNS);
    if (n != ncols)
        return rm_error("%s:%zu: expected %d comma-separated fields as in the header, got %d", path, line_no, ncols,
                        n > FIX_MAX_COLUMNS ? n - 1 : n);
    const char *img = fields[cols[COL_IMAGE]];
    char *end;
    errno = 0;
    long long rec = strtoll(img, &end, 10);
    if (end == img || *end || errno)
        return rm_error("%s:%zu: image '%s' is not a record index (an integer)", path, line_no, img);
    if (rec < 0 || rec >= (long long)ds->count)
        return rm_error("%s:%zu: image %lld is out of range: %s has records 0..%zu", path, line_no, rec, ds->path,
                        ds->count - 1);
    double x, y, d;
    RM_TRY(parse_double(path, line_no, "x", fields[cols[COL_X]], &x));
    RM_TRY(parse_double(path, line_no, "y", fields[cols[COL_Y]], &y));
    RM_TRY(parse_double(path, line_no, "duration", fields[cols[COL_DURATION]], &d));
    if (d < 0) return rm_error("%s:%zu: duration %g is negative", path, line_no, d);
    const double sides[2] = {ds->width, ds->height};
    double *coords[2] = {&x, &y};
    for (int a = 0; a < 2; a++) {
        double v = *coords[a], side = sides[a];
        if (o->normalized) {
            if (!(v >= 0 && v <= 1))
                return rm_error("%s:%zu: %s %g is outside [0, 1] (--normalized coordinates)", path, line_no,
                                a ? "y" : "x", v);
            *coords[a] = v * side - 0.5;
        } else if (!(v >= -0.5 && v <= side - 0.5)) {
            return rm_error("%s:%zu: %s %g is outside the image: pixel coordinates of a %s of %g pixels run from "
                            "-0.5 to %g (pixel centres at 0..%g; --normalized for [0, 1])",
                            path, line_no, a ? "y" : "x", v, a ? "height" : "width", side, side - 0.5, side - 1);
        }
    }
    *out = (fixation_row){.image = rec, .x = x, .y = y, .weight = d, .line = line_no};
    return 0;
}

static int read_fixations(const rm_import_options *o, const rm_dataset *ds, fixation_row **rows, size_t *count,
                          size_t *outside_split)
{
    rm_line_reader lr;
    RM_TRY(rm_line_reader_open(&lr, o->input, FIX_MAX_LINE));
    char *line;
    size_t len, cap = 0;
    int cols[NUM_COLS], ncols = 0, got, rc = 0;
    *rows = NULL;
    *count = *outside_split = 0;
    got = rm_line_reader_next(&lr, &line, &len);
    if (got == 0) rc = rm_error("%s: empty file, expected a header line image,x,y,duration", o->input);
    else if (got < 0) rc = -1;
    else rc = parse_header(o->input, line, cols, &ncols);
    while (rc == 0 && (got = rm_line_reader_next(&lr, &line, &len)) == 1) {
        if (!*trim(line)) continue;
        fixation_row fr;
        if ((rc = parse_line(o, ds, lr.line_no, line, cols, ncols, &fr)) != 0) break;
        if (!import_in_split(ds, fr.image, o->split)) {
            (*outside_split)++;
            continue;
        }
        if (*count == cap) {
            cap = cap ? 2 * cap : 1024;
            fixation_row *p = rm_realloc(*rows, cap * sizeof *p, "fixations");
            if (!p) {
                rc = -1;
                break;
            }
            *rows = p;
        }
        (*rows)[(*count)++] = fr;
    }
    if (rc == 0 && got < 0) rc = -1;
    rm_line_reader_close(&lr);
    if (rc != 0) {
        free(*rows);
        *rows = NULL;
    }
    return rc;
}

int import_fixations(const rm_import_options *o, const rm_dataset *ds, double sigma, const char *params)
{
    if (!(sigma > 0) || !isfinite(sigma)) return rm_error("fixations: sigma %g, expected a positive number of pixels", sigma);
    fixation_row *rows;
    size_t n, outside;
    RM_TRY(read_fixations(o, ds, &rows, &n, &outside));
    if (n > 1) qsort(rows, n, sizeof *rows, by_image_then_line);   /* rows is NULL when n is 0 */
    /* Records with fixations; those whose durations are all 0 have no density. */
    int64_t total = 0, zero_weight = 0, in_split = 0;
    for (size_t i = 0; i < ds->count; i++) in_split += import_in_split(ds, (int64_t)i, o->split);
    for (size_t i = 0, j; i < n; i = j) {
        double wsum = 0;
        for (j = i; j < n && rows[j].image == rows[i].image; j++) wsum += rows[j].weight;
        if (wsum > 0) total++;
        else zero_weight++;
    }
    int rc = 0;
    if (total == 0)
        rc = rm_error("%s: no fixation with a positive duration on a record of %s%s%s", o->input, ds->path,
                      o->split >= 0 ? " in split " : "", o->split >= 0 ? rm_split_label(o->split) : "");
    rm_fixation *group = NULL;
    import_sink sink;
    int sink_open = 0;
    if (rc == 0 && !(group = rm_malloc(n * sizeof *group, "fixations"))) rc = -1;
    if (rc == 0) rc = import_sink_open(&sink, o, ds, total, params);
    sink_open = rc == 0;
    for (size_t i = 0, j; rc == 0 && i < n; i = j) {
        double wsum = 0;
        for (j = i; j < n && rows[j].image == rows[i].image; j++) {
            group[j - i] = (rm_fixation){.x = rows[j].x, .y = rows[j].y, .weight = rows[j].weight};
            wsum += rows[j].weight;
        }
        if (wsum == 0) continue;
        float *row = import_sink_row(&sink, rows[i].image);
        if (rm_fixation_density(group, (int64_t)(j - i), ds->height, ds->width, sigma, row) != 0) {
            rc = rm_error_prefix("%s: record %lld (first fixation on line %zu)", o->input, (long long)rows[i].image,
                                 rows[i].line);
            break;
        }
        rc = import_sink_push(&sink);
    }
    if (sink_open) rc = rc == 0 ? import_sink_finish(&sink) : (import_sink_abort(&sink), -1);
    if (rc == 0) {
        rm_log("%s: %lld records with fixation maps from %zu fixations (sigma %g px)", o->out_path, (long long)total,
               n, sigma);
        int64_t without = in_split - total - zero_weight;
        if (without > 0) rm_log("%lld records without any fixation left out", (long long)without);
        if (zero_weight > 0) rm_log("%lld records whose fixations all have duration 0 left out", (long long)zero_weight);
        if (outside > 0) rm_log("%zu fixations on records outside split %s ignored", outside, rm_split_label(o->split));
    }
    free(group);
    free(rows);
    return rc;
}
