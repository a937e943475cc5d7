/* External relevance into the relevance-file schema: heatmap images, NPY
 * arrays and HDF5 datasets (fixations: import_fixations.c). Every source is
 * streamed into the file in blocks of o->block records. */
#include "relevance/import.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/dir_list.h"
#include "core/npy.h"
#include "relevance/import_internal.h"
#include "core/error.h"
#include "core/h5util.h"
#include "core/image.h"
#include "nn/model_file.h"
#include "core/textio.h"
#include "train/train.h"

enum { NAMES_MAX_LINE = 4096 };

void rm_import_options_defaults(rm_import_options *o)
{
    memset(o, 0, sizeof *o);
    o->split = -1;
    o->deflate_level = 4;
    o->block = 256;
}

const char *rm_import_method(rm_import_source source)
{
    switch (source) {
    case RM_IMPORT_PNG: return "import-png";
    case RM_IMPORT_NPY: return "import-npy";
    case RM_IMPORT_HDF5: return "import-hdf5";
    case RM_IMPORT_FIXATIONS: return "import-fixations";
    }
    return "import";
}

/* --- the block sink --------------------------------------------------------*/

int import_sink_open(import_sink *s, const rm_import_options *o, const rm_dataset *ds, int64_t total,
                     const char *params)
{
    memset(s, 0, sizeof *s);
    s->ds = ds;
    s->out_path = o->out_path;
    s->total = total;
    s->block = o->block > 0 ? o->block : 256;
    if (s->block > total) s->block = total;
    s->hw = (size_t)ds->height * ds->width;
    size_t b = (size_t)s->block;
    s->index = rm_malloc(b * sizeof *s->index, "import indices");
    s->label = rm_malloc(b * sizeof *s->label, "import labels");
    s->explained = rm_malloc(b * sizeof *s->explained, "import labels");
    s->predicted = rm_malloc(b * sizeof *s->predicted, "import labels");
    s->score = rm_malloc(b * sizeof *s->score, "import scores");
    size_t bytes;
    if (rm_size_mul(&bytes, b * s->hw, sizeof *s->heat, SIZE_MAX, "import heatmaps") == 0)
        s->heat = rm_malloc(bytes, "import heatmaps");
    if (!s->index || !s->label || !s->explained || !s->predicted || !s->score || !s->heat) {
        import_sink_abort(s);
        return -1;
    }
    rm_relevance_spec spec = {.count = total, .channels = 1, .height = ds->height, .width = ds->width,
                              .num_classes = ds->num_classes, .class_names = (const char *const *)ds->class_names,
                              .store_channels = 0, .deflate_level = o->deflate_level,
                              .method = rm_import_method(o->source), .score_kind = "none", .parameters = params};
    int64_t done;
    if (rm_relevance_writer_open(&s->w, o->out_path, &spec, o->force, 0, &done) != 0) {
        s->w = NULL;
        import_sink_abort(s);
        return -1;
    }
    char fp[17];
    rm_dataset_fingerprint(fp, (int64_t)ds->count, ds->channels, ds->height, ds->width, ds->labels, ds->split);
    if (rm_relevance_writer_set_attr(s->w, "dataset_path", o->data_path) != 0 ||
        rm_relevance_writer_set_attr(s->w, "dataset_fingerprint", fp) != 0 ||
        rm_relevance_writer_set_attr(s->w, "source_path", o->input) != 0 ||
        rm_relevance_writer_set_attr(s->w, "command_line", o->command_line ? o->command_line : "") != 0) {
        import_sink_abort(s);
        return -1;
    }
    rm_progress_start(&s->progress, "import", "img", (size_t)total);
    return 0;
}

float *import_sink_row(import_sink *s, int64_t record)
{
    int64_t i = s->n;
    s->index[i] = record;
    s->label[i] = s->explained[i] = s->ds->labels[record];
    s->predicted[i] = -1;
    s->score[i] = NAN;
    return s->heat + (size_t)i * s->hw;
}

static int sink_flush(import_sink *s)
{
    if (s->n == 0) return 0;
    if (s->written + s->n > s->total)
        return rm_error("%s: more maps than the %lld planned (internal error)", s->out_path, (long long)s->total);
    rm_relevance_block b = {.n = s->n, .index = s->index, .label = s->label, .explained = s->explained,
                            .predicted = s->predicted, .score = s->score, .heatmap = s->heat};
    RM_TRY(rm_relevance_writer_write(s->w, &b));
    s->written += s->n;
    s->n = 0;
    rm_progress_update(&s->progress, (size_t)s->written);
    return 0;
}

int import_sink_push(import_sink *s)
{
    s->n++;
    return s->n == s->block ? sink_flush(s) : 0;
}

static void sink_free(import_sink *s)
{
    free(s->index);
    free(s->label);
    free(s->explained);
    free(s->predicted);
    free(s->score);
    free(s->heat);
    memset(s, 0, sizeof *s);
}

int import_sink_finish(import_sink *s)
{
    if (sink_flush(s) != 0) {
        import_sink_abort(s);
        return -1;
    }
    rm_progress_finish(&s->progress);
    int rc = 0;
    if (s->written != s->total) {
        rc = rm_error("%s: %lld of %lld maps written (internal error)", s->out_path, (long long)s->written,
                      (long long)s->total);
        rm_relevance_writer_abort(s->w);
    } else {
        rc = rm_relevance_writer_finish(s->w);
    }
    s->w = NULL;
    sink_free(s);
    return rc;
}

void import_sink_abort(import_sink *s)
{
    if (s->w) rm_relevance_writer_abort(s->w);
    sink_free(s);
}

/* --- parameters (every option, key=value lines) ---------------------------*/

typedef struct {
    char *text;
    size_t len, cap;
} text_buf;

static int tb_add(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int tb_add(text_buf *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return rm_error("formatting the parameters");
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2;
        char *p = rm_realloc(t->text, cap, "parameters");
        if (!p) return -1;
        t->text = p;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->text + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
    return 0;
}

static int build_params(const rm_import_options *o, double sigma, char **out)
{
    static const char *const sources[] = {"png", "npy", "hdf5", "fixations"};
    text_buf t = {0};
    int rc = tb_add(&t, "source=%s\ninput=%s\ndata=%s\nsplit=%s\n", sources[o->source], o->input, o->data_path,
                    rm_split_label(o->split));
    switch (o->source) {
    case RM_IMPORT_PNG:
        if (rc == 0)
            rc = tb_add(&t, "names=%s\nsigned=%d\nallow_missing=%d\n", o->names_path ? o->names_path : "",
                        o->png_signed, o->allow_missing);
        break;
    case RM_IMPORT_NPY:
        if (rc == 0) rc = tb_add(&t, "indices_npy=%s\n", o->indices_npy ? o->indices_npy : "");
        break;
    case RM_IMPORT_HDF5:
        if (rc == 0)
            rc = tb_add(&t, "dataset=%s\nindices_dataset=%s\n", o->hdf5_dataset,
                        o->indices_dataset ? o->indices_dataset : "");
        break;
    case RM_IMPORT_FIXATIONS:
        if (rc == 0) rc = tb_add(&t, "normalized=%d\nsigma=%.17g\n", o->normalized, sigma);
        break;
    }
    if (rc == 0) rc = tb_add(&t, "deflate=%d\n", o->deflate_level);
    if (rc != 0) {
        free(t.text);
        return -1;
    }
    *out = t.text;
    return 0;
}

/* --- heatmap images ------------------------------------------------------*/

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* --names: "index,filename" lines (an optional header "index,filename");
 * names[record] is a malloc'd name, lines[record] its line. */
static int read_names(const char *path, const rm_dataset *ds, char **names, size_t *lines)
{
    rm_line_reader lr;
    RM_TRY(rm_line_reader_open(&lr, path, NAMES_MAX_LINE));
    char *line;
    size_t len;
    int got, rc = 0;
    while (rc == 0 && (got = rm_line_reader_next(&lr, &line, &len)) == 1) {
        char *comma = strchr(line, ',');
        if (lr.line_no == 1 && comma) {
            *comma = 0;
            int header = strcasecmp(trim(line), "index") == 0 && strcasecmp(trim(comma + 1), "filename") == 0;
            *comma = ',';
            if (header) continue;
        }
        if (!*trim(line)) continue;
        if (!comma) {
            rc = rm_error("%s:%zu: expected 'index,filename', got '%s'", path, lr.line_no, line);
            break;
        }
        *comma = 0;
        char *idx = trim(line), *name = trim(comma + 1), *end;
        errno = 0;
        long long rec = strtoll(idx, &end, 10);
        if (end == idx || *end || errno)
            rc = rm_error("%s:%zu: index '%s' is not a record index (an integer)", path, lr.line_no, idx);
        else if (rec < 0 || rec >= (long long)ds->count)
            rc = rm_error("%s:%zu: record %lld is out of range: %s has records 0..%zu", path, lr.line_no, rec,
                          ds->path, ds->count - 1);
        else if (!*name)
            rc = rm_error("%s:%zu: no file name for record %lld", path, lr.line_no, rec);
        else if (names[rec])
            rc = rm_error("%s:%zu: record %lld is listed twice (first on line %zu)", path, lr.line_no, rec,
                          lines[rec]);
        else if (!(names[rec] = rm_strdup(name)))
            rc = -1;
        else
            lines[rec] = lr.line_no;
    }
    if (got < 0) rc = -1;
    rm_line_reader_close(&lr);
    return rc;
}

/* The file expected for each record of the split (NULL: none), counting
 * those that exist; a missing one is an error unless allow_missing. */
static int png_plan(const rm_import_options *o, const rm_dataset *ds, char **paths, int64_t *present,
                    int64_t *missing)
{
    char **names = NULL;
    size_t *lines = NULL;
    int rc = 0;
    *present = *missing = 0;
    if (o->names_path) {
        names = rm_calloc(ds->count, sizeof *names, "file names");
        lines = rm_calloc(ds->count, sizeof *lines, "file name lines");
        if (!names || !lines) rc = -1;
        else rc = read_names(o->names_path, ds, names, lines);
    }
    for (size_t i = 0; rc == 0 && i < ds->count; i++) {
        if (!import_in_split(ds, (int64_t)i, o->split)) continue;
        char own[32];
        snprintf(own, sizeof own, "%zu.png", i);
        const char *name = names ? names[i] : own;
        char *path = NULL;
        if (name && !(path = name[0] == '/' ? rm_strdup(name) : rm_path_join(o->input, name))) {
            rc = -1;
            break;
        }
        if (path && rm_path_exists(path)) {
            paths[i] = path;
            (*present)++;
            continue;
        }
        (*missing)++;
        if (!o->allow_missing) {
            if (!name)
                rc = rm_error("record %zu has no heatmap: it is not listed in %s (--allow-missing leaves such "
                              "records out)",
                              i, o->names_path);
            else if (names)
                rc = rm_error("record %zu: expected heatmap file %s (%s line %zu) does not exist (--allow-missing "
                              "leaves such records out)",
                              i, path, o->names_path, lines[i]);
            else
                rc = rm_error("record %zu: expected heatmap file %s does not exist (--allow-missing leaves such "
                              "records out)",
                              i, path);
        }
        free(path);
    }
    if (names)
        for (size_t i = 0; i < ds->count; i++) free(names[i]);
    free(names);
    free(lines);
    return rc;
}

static int import_png(const rm_import_options *o, const rm_dataset *ds, const char *params)
{
    if (!rm_path_is_dir(o->input)) return rm_error("%s: not a directory (--png expects a folder of heatmap images)", o->input);
    char **paths = rm_calloc(ds->count, sizeof *paths, "heatmap paths");
    if (!paths) return -1;
    int64_t present = 0, missing = 0;
    int rc = png_plan(o, ds, paths, &present, &missing);
    if (rc == 0 && present == 0)
        rc = rm_error("%s: no heatmap file for any record of %s%s%s (expected names like 0.png)", o->input,
                      ds->path, o->split >= 0 ? " in split " : "", o->split >= 0 ? rm_split_label(o->split) : "");
    rm_image img = {0}, gray = {0};
    import_sink sink;
    int sink_open = 0;
    if (rc == 0) rc = rm_image_alloc(&gray, ds->width, ds->height, 1);
    if (rc == 0) rc = import_sink_open(&sink, o, ds, present, params);
    sink_open = rc == 0;
    if (rc == 0 && missing > 0)
        rm_log("%s: %lld records without a heatmap file left out", o->out_path, (long long)missing);
    for (size_t i = 0; rc == 0 && i < ds->count; i++) {
        if (!paths[i]) continue;
        rc = rm_image_load(&img, paths[i]);
        if (rc == 0) rc = rm_image_convert(&img, &gray);
        rm_image_free(&img);
        if (rc != 0) {
            rm_error_prefix("record %zu", i);
            break;
        }
        float *row = import_sink_row(&sink, (int64_t)i);
        for (size_t k = 0; k < sink.hw; k++) {
            int v = gray.pixels[k];
            row[k] = o->png_signed ? fmaxf(-1.0f, (float)(v - 128) / 127.0f) : (float)v / 255.0f;
        }
        rc = import_sink_push(&sink);
    }
    if (sink_open) rc = rc == 0 ? import_sink_finish(&sink) : (import_sink_abort(&sink), -1);
    rm_image_free(&gray);
    for (size_t i = 0; i < ds->count; i++) free(paths[i]);
    free(paths);
    return rc;
}

/* --- arrays: NPY and HDF5 ------------------------------------------------*/

/* Which rows to import: row r explains record idx[r] (r itself without an
 * index array); records must exist and appear once; rows of records
 * outside the split are skipped. */
static int plan_rows(const rm_import_options *o, const rm_dataset *ds, const char *what, const char *idx_what,
                     int64_t rows, const int64_t *idx, uint8_t *take, int64_t *total)
{
    *total = 0;
    if (!idx && rows != (int64_t)ds->count)
        return rm_error("%s holds %lld maps but %s has %zu records (give the record index of each map with %s)", what,
                        (long long)rows, ds->path, ds->count,
                        o->source == RM_IMPORT_NPY ? "--indices-npy" : "--indices-dataset");
    int64_t *seen = NULL;
    if (idx) {
        seen = rm_malloc(ds->count * sizeof *seen, "record index check");
        if (!seen) return -1;
        for (size_t i = 0; i < ds->count; i++) seen[i] = -1;
    }
    int rc = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t rec = idx ? idx[r] : r;
        if (idx) {
            if (rec < 0 || rec >= (int64_t)ds->count) {
                rc = rm_error("%s: entry %lld: record %lld is out of range: %s has records 0..%zu", idx_what,
                              (long long)r, (long long)rec, ds->path, ds->count - 1);
                break;
            }
            if (seen[rec] >= 0) {
                rc = rm_error("%s: record %lld appears twice (entries %lld and %lld)", idx_what, (long long)rec,
                              (long long)seen[rec], (long long)r);
                break;
            }
            seen[rec] = r;
        }
        take[r] = (uint8_t)import_in_split(ds, rec, o->split);
        *total += take[r];
    }
    free(seen);
    if (rc == 0 && *total == 0)
        rc = rm_error("%s: no map belongs to a record of split %s of %s", what, rm_split_label(o->split), ds->path);
    return rc;
}

/* Copies one map into the sink, refusing values that are not finite (or
 * too large for float32). */
static int put_map(import_sink *s, const char *what, int64_t row, int64_t record, const double *v)
{
    float *dst = import_sink_row(s, record);
    for (size_t k = 0; k < s->hw; k++) {
        if (!isfinite(v[k]) || fabs(v[k]) > FLT_MAX)
            return rm_error("%s: map %lld (record %lld): value %g at pixel (%zu,%zu) is not a finite float32", what,
                            (long long)row, (long long)record, v[k], k % (size_t)s->ds->width,
                            k / (size_t)s->ds->width);
        dst[k] = (float)v[k];
    }
    return import_sink_push(s);
}

static int check_map_shape(const char *what, int rank, const uint64_t *dims, const rm_dataset *ds)
{
    if (!(rank == 3 || (rank == 4 && dims[1] == 1))) {
        char shape[160] = "";
        for (int i = 0; i < rank; i++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", i ? ", " : "",
                     (unsigned long long)dims[i]);
        return rm_error("%s: shape (%s), expected (N, H, W) or (N, 1, H, W)", what, shape);
    }
    uint64_t h = dims[rank - 2], w = dims[rank - 1];
    if (h != (uint64_t)ds->height || w != (uint64_t)ds->width)
        return rm_error("%s: maps are %llux%llu (WxH) but the images of %s are %dx%d", what, (unsigned long long)w,
                        (unsigned long long)h, ds->path, ds->width, ds->height);
    if (dims[0] == 0) return rm_error("%s: holds no maps (first dimension 0)", what);
    return 0;
}

static int import_npy(const rm_import_options *o, const rm_dataset *ds, const char *params)
{
    rm_npy_file f = {0}, fi = {0};
    int64_t *idx = NULL, total = 0;
    uint8_t *take = NULL, *raw = NULL;
    double *vals = NULL;
    import_sink sink;
    int sink_open = 0, rc = rm_npy_open(&f, o->input);
    if (rc == 0) {
        uint64_t dims[NPY_MAX_DIMS];
        for (int i = 0; i < f.ndims; i++) dims[i] = f.shape[i];
        rc = check_map_shape(o->input, f.ndims, dims, ds);
        if (rc == 0 && f.kind == 'f' && f.itemsize < 4)
            rc = rm_error("%s: unsupported dtype '%s' (expected float32, float64 or an integer type)", o->input,
                          f.descr);
    }
    if (rc == 0 && o->indices_npy) {
        rc = rm_npy_open(&fi, o->indices_npy);
        if (rc == 0 && !(fi.ndims == 1 || (fi.ndims == 2 && fi.shape[1] == 1)))
            rc = rm_error("%s: expected a 1-D integer array of record indices, got %d dimensions", o->indices_npy,
                          fi.ndims);
        if (rc == 0 && fi.count != f.count)
            rc = rm_error("%s has %zu indices but %s has %zu maps", o->indices_npy, fi.count, o->input, f.count);
        if (rc == 0) rc = rm_npy_read_ints(&fi, &idx);
    }
    if (rc == 0 && !(take = rm_malloc(f.count, "row selection"))) rc = -1;
    if (rc == 0) rc = plan_rows(o, ds, o->input, o->indices_npy, (int64_t)f.count, idx, take, &total);
    size_t hw = (size_t)ds->height * ds->width;
    if (rc == 0 && (!(raw = rm_malloc(f.record_bytes, "an NPY map")) || !(vals = rm_malloc(hw * sizeof *vals, "a map"))))
        rc = -1;
    if (rc == 0) rc = import_sink_open(&sink, o, ds, total, params);
    sink_open = rc == 0;
    for (size_t r = 0; rc == 0 && r < f.count; r++) {
        rc = rm_npy_read_record(&f, raw, r);
        if (rc != 0 || !take[r]) continue;
        for (size_t k = 0; k < hw; k++) vals[k] = rm_npy_value(&f, raw, k);
        rc = put_map(&sink, o->input, (int64_t)r, idx ? idx[r] : (int64_t)r, vals);
    }
    if (sink_open) rc = rc == 0 ? import_sink_finish(&sink) : (import_sink_abort(&sink), -1);
    rm_npy_close(&f);
    rm_npy_close(&fi);
    free(idx);
    free(take);
    free(raw);
    free(vals);
    return rc;
}

/* Opens a numeric dataset and reads its shape. */
static int h5_open_array(hid_t file, const char *file_path, const char *name, hid_t *d, int *rank, uint64_t *dims)
{
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return rm_error("%s: no dataset '%s'", file_path, name);
    *d = H5Dopen2(file, name, H5P_DEFAULT);
    if (*d < 0) return rm_h5_error("%s: cannot open dataset '%s'", file_path, name);
    hid_t space = H5Dget_space(*d), type = H5Dget_type(*d);
    H5T_class_t cls = H5Tget_class(type);
    *rank = H5Sget_simple_extent_ndims(space);
    int rc = 0;
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
        rc = rm_error("%s: dataset '%s' is not numeric (expected float or integer elements)", file_path, name);
    else if (*rank < 1 || *rank > 4)
        rc = rm_error("%s: dataset '%s' has rank %d, expected 1 to 4", file_path, name, *rank);
    else {
        hsize_t hd[4];
        H5Sget_simple_extent_dims(space, hd, NULL);
        for (int i = 0; i < *rank; i++) dims[i] = hd[i];
    }
    H5Tclose(type);
    H5Sclose(space);
    if (rc != 0) {
        H5Dclose(*d);
        *d = -1;
    }
    return rc;
}

static int h5_read_rows(hid_t d, int rank, const uint64_t *dims, hid_t mem_type, int64_t start, int64_t n, void *out)
{
    hid_t space = H5Dget_space(d);
    hsize_t st[4] = {(hsize_t)start, 0, 0, 0}, cnt[4];
    for (int i = 0; i < rank; i++) cnt[i] = dims[i];
    cnt[0] = (hsize_t)n;
    H5Sselect_hyperslab(space, H5S_SELECT_SET, st, NULL, cnt, NULL);
    hid_t mem = H5Screate_simple(rank, cnt, NULL);
    herr_t rc = H5Dread(d, mem_type, mem, space, H5P_DEFAULT, out);
    H5Sclose(mem);
    H5Sclose(space);
    if (rc < 0) return rm_h5_error("reading maps %lld..%lld", (long long)start, (long long)(start + n - 1));
    return 0;
}

static int import_hdf5(const rm_import_options *o, const rm_dataset *ds, const char *params)
{
    char what[4200];
    snprintf(what, sizeof what, "%s:%s", o->input, o->hdf5_dataset);
    hid_t file = rm_h5_open_read(o->input, NULL);
    if (file < 0) return -1;
    hid_t d = -1, di = -1;
    int rank = 0, irank = 0;
    uint64_t dims[4], idims[4];
    int64_t *idx = NULL, total = 0;
    uint8_t *take = NULL;
    double *vals = NULL;
    import_sink sink;
    int sink_open = 0;
    int rc = h5_open_array(file, o->input, o->hdf5_dataset, &d, &rank, dims);
    if (rc == 0) rc = check_map_shape(what, rank, dims, ds);
    char iwhat[4200] = "";
    if (rc == 0 && o->indices_dataset) {
        snprintf(iwhat, sizeof iwhat, "%s:%s", o->input, o->indices_dataset);
        rc = h5_open_array(file, o->input, o->indices_dataset, &di, &irank, idims);
        if (rc == 0 && !(irank == 1 || (irank == 2 && idims[1] == 1)))
            rc = rm_error("%s: expected a 1-D integer array of record indices, got rank %d", iwhat, irank);
        if (rc == 0 && idims[0] != dims[0])
            rc = rm_error("%s has %llu indices but %s has %llu maps", iwhat, (unsigned long long)idims[0], what,
                          (unsigned long long)dims[0]);
        if (rc == 0) {
            hid_t type = H5Dget_type(di);
            if (H5Tget_class(type) != H5T_INTEGER) rc = rm_error("%s: record indices must be integers", iwhat);
            H5Tclose(type);
        }
        if (rc == 0 && !(idx = rm_malloc((size_t)dims[0] * sizeof *idx, "record indices"))) rc = -1;
        if (rc == 0 && h5_read_rows(di, irank, idims, H5T_NATIVE_INT64, 0, (int64_t)dims[0], idx) != 0)
            rc = rm_error_prefix("%s", iwhat);
    }
    int64_t rows = rc == 0 ? (int64_t)dims[0] : 0;
    if (rc == 0 && !(take = rm_malloc((size_t)rows, "row selection"))) rc = -1;
    if (rc == 0) rc = plan_rows(o, ds, what, iwhat, rows, idx, take, &total);
    size_t hw = (size_t)ds->height * ds->width;
    int64_t block = o->block > 0 ? o->block : 256;
    if (rc == 0) {
        size_t bytes;
        rc = rm_size_mul(&bytes, (size_t)block * hw, sizeof *vals, SIZE_MAX, "HDF5 map block");
        if (rc == 0 && !(vals = rm_malloc(bytes, "HDF5 map block"))) rc = -1;
    }
    if (rc == 0) rc = import_sink_open(&sink, o, ds, total, params);
    sink_open = rc == 0;
    for (int64_t start = 0; rc == 0 && start < rows; start += block) {
        int64_t n = rows - start < block ? rows - start : block;
        if (h5_read_rows(d, rank, dims, H5T_NATIVE_DOUBLE, start, n, vals) != 0) {
            rc = rm_error_prefix("%s", what);
            break;
        }
        for (int64_t r = start; rc == 0 && r < start + n; r++)
            if (take[r]) rc = put_map(&sink, what, r, idx ? idx[r] : r, vals + (size_t)(r - start) * hw);
    }
    if (sink_open) rc = rc == 0 ? import_sink_finish(&sink) : (import_sink_abort(&sink), -1);
    if (d >= 0) H5Dclose(d);
    if (di >= 0) H5Dclose(di);
    H5Fclose(file);
    free(idx);
    free(take);
    free(vals);
    return rc;
}

/* --- entry point ---------------------------------------------------------*/

int rm_relevance_import(const rm_import_options *o)
{
    if (!o->input || !o->data_path || !o->out_path) return rm_error("import: input, dataset and output are required");
    if (o->source == RM_IMPORT_HDF5 && !o->hdf5_dataset)
        return rm_error("import: an HDF5 source needs the name of the dataset holding the maps");
    rm_h5_init();
    rm_dataset ds;
    RM_TRY(rm_dataset_open_unlabeled_ok(&ds, o->data_path));
    if (ds.unlabeled) {   /* imported maps are stored with their records' labels */
        rm_dataset_close(&ds);
        return rm_dataset_refuse_unlabeled(o->data_path, "relmask relevance import");
    }
    double sigma = o->sigma > 0 ? o->sigma : ds.width / 16.0;
    char *params = NULL;
    int rc = build_params(o, sigma, &params);
    if (rc == 0) {
        switch (o->source) {
        case RM_IMPORT_PNG: rc = import_png(o, &ds, params); break;
        case RM_IMPORT_NPY: rc = import_npy(o, &ds, params); break;
        case RM_IMPORT_HDF5: rc = import_hdf5(o, &ds, params); break;
        case RM_IMPORT_FIXATIONS: rc = import_fixations(o, &ds, sigma, params); break;
        default: rc = rm_error("import: unknown source %d", (int)o->source);
        }
    }
    free(params);
    rm_dataset_close(&ds);
    if (rc == 0) rm_log("%s: relevance imported (%s) from %s", o->out_path, rm_import_method(o->source), o->input);
    return rc;
}
