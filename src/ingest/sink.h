/* The sink every ingester streams its records into: it converts images to
 * the requested size and channels, maps the format's labels to the
 * dataset's classes (--classes), counts bad records and writes the file
 * atomically. Internal to src/ingest/. */
#ifndef RELMASK_INGEST_SINK_H
#define RELMASK_INGEST_SINK_H

#include <stdint.h>

#include "core/image.h"
#include "ingest/ingest.h"

typedef struct rm_ingest_sink rm_ingest_sink;

/* What a format's labels are, and so what --classes does with them. */
typedef enum {
    RM_LABELS_NUMBERED,  /* integers (FER2013 CSV, IDX, NPY): --classes names
                            label 0, 1, ...; a label beyond the list is bad */
    RM_LABELS_NAMED,     /* class names (folders, JAFFE and CK+ codes):
                            --classes gives each the label of the list entry
                            of the same name (exact, else ignoring case); a
                            class not in the list is bad */
} rm_label_kind;

/* native_*: the format's own image size (0 if images vary); they decide the
 * output size when opt->width/height are 0 (48x48 when both are 0).
 * class_names are the format's num_classes classes (NULL: numbered classes
 * named "0", "1", ...); opt->classes, when set, replaces them as `kind`
 * says. */
int rm_sink_open(rm_ingest_sink **sink, const rm_ingest_options *opt,
                 const char *format, const char *input_path,
                 int native_width, int native_height, rm_label_kind kind,
                 int num_classes, const char *const *class_names);
/* The number of classes of --classes (a preset or a list), or `fallback`
 * without it: numbered formats size their label range with it before the
 * sink opens (e.g. more than IDX's 10 classes for EMNIST). */
int rm_classes_count(const rm_ingest_options *opt, int fallback);
/* The dataset label of a record of the format's class `format_class`
 * (0 .. num_classes-1 of rm_sink_open, or any integer for a numbered
 * format). A class that has no label (out of range, or not named in
 * --classes) is a bad record named by `where` ("file: ..."; NULL: the
 * input and record number): *label = -1 when it is skipped, and -1 is
 * returned when it is fatal. */
int rm_sink_label(rm_ingest_sink *sink, int64_t format_class, const char *where,
                  int32_t *label);
/* 1 if the format's class `format_class` has a dataset label (always, but
 * for a named class missing from --classes). */
int rm_sink_class_listed(const rm_ingest_sink *sink, int format_class);
/* Adds an image of any size/channels (converted to the output shape);
 * `label` is a dataset label (rm_sink_label); `source` says where it came
 * from (a path relative to the input folder, "file.csv:line",
 * "file:index"), stored in /source. */
int rm_sink_add(rm_ingest_sink *sink, const rm_image *img, int32_t label,
                uint8_t split, const char *source);
/* Reports a bad record: "<where>: <what>". With --skip-bad it is counted,
 * the first few are printed, and 0 is returned so the caller goes on;
 * otherwise the error is recorded and -1 returned. */
int rm_sink_bad(rm_ingest_sink *sink, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends "key=value" to the stored ingest parameters. */
int rm_sink_param(rm_ingest_sink *sink, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t rm_sink_count(const rm_ingest_sink *sink);
/* The number of classes; labels must be below it. */
int rm_sink_classes(const rm_ingest_sink *sink);
size_t rm_sink_bad_count(const rm_ingest_sink *sink);
/* Fails if no record was added; otherwise writes and renames the file and
 * logs a one-line summary (records written, records skipped). */
int rm_sink_finish(rm_ingest_sink *sink);
void rm_sink_abort(rm_ingest_sink *sink);

/* One image file of rm_ingest_add_image_files. */
typedef struct {
    const char *path;
    int format_class;        /* the format's class (rm_sink_label); ignored when unlabeled */
    uint8_t split;           /* ignored when unlabeled */
    const char *bad;         /* non-NULL: a bad record with this message, reported in order, not read */
    int64_t tag;             /* the caller's (e.g. a CK+ sequence number) */
    int added;               /* out: 1 when the record was written */
} rm_ingest_file;

/* The files of a run in the order they are written: paths and bad-record
 * messages are owned by the list. */
typedef struct {
    rm_ingest_file *files;
    char **owned;
    size_t count, capacity, owned_count;
} rm_ingest_file_list;

/* Appends a file; `path` (malloc'd) is taken over, and NULL (a failed
 * allocation) returns -1. */
int rm_ingest_list_add(rm_ingest_file_list *l, char *path, int format_class, uint8_t split, int64_t tag);
/* Appends a bad record "<message>", reported in its place (rm_sink_bad). */
int rm_ingest_list_bad(rm_ingest_file_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rm_ingest_list_free(rm_ingest_file_list *l);

/* Adds files[0..n) in order. Blocks of files are decoded and converted in
 * parallel (OpenMP, omp_get_max_threads() threads: `ingest -t N`) into a
 * block buffer allocated once, then written in file order, so the output,
 * the skipped records and the first bad file reported are those of one
 * thread. Returns -1 on the first fatal bad record or failure. */
int rm_ingest_add_image_files(rm_ingest_sink *sink, rm_ingest_file *files, size_t n);

#endif
