/* The relmask dataset schema v1 (docs/formats.md):
 *   /images  uint8 [N,C,H,W], chunked by a minibatch block, shuffle+deflate,
 *            HDF5 Image attributes (HDFView shows it); C is 1 (gray),
 *            3 (RGB), or 2 / 4 when `relmask encode --mode channel` has
 *            appended a relevance channel (root attribute relevance_channel);
 *   /labels  int32 [N];
 *   /split   uint8 [N] (0 train, 1 val, 2 test; 3 unlabeled);
 *   /regions uint8 [N,H,W] (optional: ground-truth expression regions);
 *   root attributes: schema, schema_version, class_names, provenance.
 * An unlabeled dataset (`ingest folder --unlabeled`, root attribute
 * unlabeled = 1) has every label -1 and every split 3 (unlabeled); its
 * class_names are optional (num_classes 0 without them). */
#ifndef RELMASK_DATASET_H
#define RELMASK_DATASET_H

#include <stddef.h>
#include <stdint.h>

#define RM_DATASET_SCHEMA "relmask.dataset"
#define RM_DATASET_SCHEMA_VERSION 1
#define RM_MAX_CLASSES 1000
/* Gray or RGB, plus at most one appended relevance channel. */
#define RM_DATASET_MAX_CHANNELS 4

enum {
    RM_SPLIT_TRAIN = 0,
    RM_SPLIT_VAL = 1,
    RM_SPLIT_TEST = 2,
    RM_SPLIT_COUNT = 3,        /* the labeled splits */
    RM_SPLIT_UNLABELED = 3,    /* every record of an unlabeled dataset */
    RM_SPLIT_NAMES = 4,
    /* Record states before rm_dataset_writer_finish assigns them: */
    RM_SPLIT_POOL = 254,       /* train or val: --val fraction goes to val */
    RM_SPLIT_UNASSIGNED = 255, /* train, val or test by --val/--test */
};
extern const char *const rm_split_names[RM_SPLIT_NAMES];
/* "train", "val", "test", "unlabeled" -> RM_SPLIT_*, "all" -> -1; else an
 * error. */
int rm_split_parse(const char *name, int *split);
/* The inverse: "train", "val", "test", "unlabeled" or "all". */
const char *rm_split_label(int split);

typedef struct {
    int channels, height, width;
    int num_classes;
    const char *const *class_names;   /* num_classes entries */
    int unlabeled;                    /* labels -1, split RM_SPLIT_UNLABELED;
                                         num_classes may be 0 (no names) */
    int has_regions;                  /* write /regions [N,H,W] */
    const char *source_format;        /* "fer2013-csv", "synth", ... */
    const char *source_path;          /* input file or folder */
    int deflate_level;                /* 0-9 */
    int shared;                       /* under mpirun: every rank opens, appends blocks
                                         (rm_dataset_writer_append_block) and finishes the file
                                         together (parallel HDF5) */
} rm_dataset_spec;

typedef struct {
    double val_fraction, test_fraction;   /* of the records being split */
    uint64_t seed;
} rm_split_spec;

typedef struct rm_dataset_writer rm_dataset_writer;

/* Starts writing to a temporary file beside `path`; the real file appears
 * only when rm_dataset_writer_finish succeeds. Fails if `path` exists and
 * `force` is 0. A shared spec makes open, append_block, finish and abort
 * collective: rank 0 checks and renames the output, every rank writes its
 * records, and a failure on any rank fails every rank. */
int rm_dataset_writer_open(rm_dataset_writer **w, const char *path,
                           const rm_dataset_spec *spec, int force);
/* Appends one record. image: [C,H,W]; region: [H,W] or NULL. split: an
 * RM_SPLIT_* value. label must be in [0, num_classes); in an unlabeled
 * dataset label is -1 and split RM_SPLIT_UNLABELED. */
int rm_dataset_writer_append(rm_dataset_writer *w, const uint8_t *image,
                             int32_t label, uint8_t split,
                             const uint8_t *region);
/* A provenance attribute (string) on the root group, e.g. the ingest
 * parameters or the command line. */
int rm_dataset_writer_set_attr(rm_dataset_writer *w, const char *name,
                               const char *value);
/* Numeric root attributes: an int64 scalar, a float64 vector. */
int rm_dataset_writer_set_attr_int(rm_dataset_writer *w, const char *name, int64_t value);
int rm_dataset_writer_set_attr_doubles(rm_dataset_writer *w, const char *name, int count,
                                       const double *values);
/* A per-record uint8 vector /name [N] (e.g. /encoded), copied now and
 * written at finish, where count must equal the number of records. */
int rm_dataset_writer_set_flags(rm_dataset_writer *w, const char *name, const uint8_t *values,
                                size_t count, const char *description);
/* Where the last appended record came from ("faces/anger/01.png",
 * "fer2013.csv:1234", "train-images-idx3-ubyte:59999"); written as /source
 * [N] when any record has one. */
int rm_dataset_writer_set_source(rm_dataset_writer *w, const char *source);
/* Appends n records: images [n,C,H,W], labels and split [n], regions
 * [n,H,W] (or NULL without regions), sources [n] (or NULL; a NULL entry:
 * unknown). The same as n appends, each followed by its set_source. A
 * shared writer takes only blocks (collective): each rank gives its own n
 * (0 too), and the ranks' records follow those written so far in rank
 * order. */
int rm_dataset_writer_append_block(rm_dataset_writer *w, size_t n, const uint8_t *images, const int32_t *labels,
                                   const uint8_t *split, const uint8_t *regions, const char *const *sources);
size_t rm_dataset_writer_count(const rm_dataset_writer *w);
/* Assigns POOL/UNASSIGNED records with a stratified split, writes labels,
 * split and attributes, closes and renames into place. Frees w. */
int rm_dataset_writer_finish(rm_dataset_writer *w, const rm_split_spec *split);
/* Discards everything written (removes the temporary file). Frees w. */
void rm_dataset_writer_abort(rm_dataset_writer *w);

/* Stratified split of `n` records: records whose split is POOL or
 * UNASSIGNED are shuffled per class (seeded) and the first
 * round(fraction * class count) go to test, then val; the rest to train.
 * Deterministic for a given seed. */
int rm_split_assign(uint8_t *split, const int32_t *labels, size_t n,
                    int num_classes, const rm_split_spec *spec);

/* --- reading -------------------------------------------------------------*/
typedef struct {
    char *path;
    int64_t hfile;                 /* hid_t */
    size_t count;
    int channels, height, width;
    int num_classes;               /* 0: an unlabeled file without class names */
    char **class_names;
    int32_t *labels;               /* [count]; all -1 when unlabeled */
    uint8_t *split;                /* [count]; all RM_SPLIT_UNLABELED when unlabeled */
    int unlabeled;                 /* root attribute unlabeled = 1 */
    int has_regions;
    int has_source;                /* /source [N]: each record's origin */
} rm_dataset;

/* Opens and validates a dataset file (schema, version, shapes, labels in
 * range, split values); the error names the file and what is wrong. An
 * unlabeled dataset is refused (rm_dataset_refuse_unlabeled's message):
 * every reader that needs labels gets a clear error, not label -1. */
int rm_dataset_open(rm_dataset *ds, const char *path);
/* As rm_dataset_open, but accepts unlabeled datasets (ds->unlabeled): for
 * the stages that need no label (predict, relevance of the predicted class,
 * heatmap, info). */
int rm_dataset_open_unlabeled_ok(rm_dataset *ds, const char *path);
/* Records the refusal of an unlabeled dataset by `what` ("train",
 * "relevance --target true", NULL: "this command") and returns -1:
 * "D.h5 is unlabeled (...): train needs labels; ...". */
int rm_dataset_refuse_unlabeled(const char *path, const char *what);
/* The command rm_dataset_open's refusal names ("relmask train"); set by
 * the CLI before it runs a command. NULL: "this command". */
void rm_dataset_set_command(const char *name);
/* An unlabeled dataset without class names takes a model's (`from` names
 * it in the one-line note); a dataset with names is left alone (the model
 * check compares them). */
int rm_dataset_adopt_class_names(rm_dataset *ds, int count, const char *const *names, const char *from);
/* Reads images [start, start+count) into out [count,C,H,W]. */
int rm_dataset_read_images(const rm_dataset *ds, size_t start, size_t count,
                           uint8_t *out);
int rm_dataset_read_regions(const rm_dataset *ds, size_t start, size_t count,
                            uint8_t *out);
/* Record `index`'s /source into out ("" when the file has none). */
int rm_dataset_read_source(const rm_dataset *ds, size_t index, char *out, size_t size);
/* Reads a root string attribute; *value is malloc'd (NULL if absent). */
int rm_dataset_read_attr(const rm_dataset *ds, const char *name, char **value);
void rm_dataset_close(rm_dataset *ds);

/* --- comparing a dataset with a derived copy (src/core/dataset_checks.c) --
 * An encoded dataset (relmask encode) keeps its raw dataset's records: the
 * same count, order, labels, split and class names, and the same image shape
 * except that `relmask encode --mode channel` appends one channel. */

/* Checks that `copy` holds the records of `raw`; with compare_channels 0 the
 * channel counts may differ. The error names both files and the first
 * differing record: "E.h5 does not match D.h5: record 7 has label 2 in
 * E.h5 but 3 in D.h5". */
int rm_dataset_check_same_records(const rm_dataset *raw, const rm_dataset *copy, int compare_channels);
/* Counts the records of `split` (-1: all) whose per-record uint8 flag vector
 * /name [N] is nonzero, e.g. /encoded. *present is 0 (and the counts 0) when
 * the file has no such dataset; a dataset of another shape is an error. */
int rm_dataset_count_flags(const rm_dataset *ds, const char *name, int split, int64_t *flagged, int64_t *total,
                           int *present);
/* FNV-1a over the shape (int64 [N, C, H, W]), /labels, /split and every
 * image byte, as 16 hex digits: names the exact pixels a model was trained
 * on (rm_dataset_fingerprint leaves the images out). Reads the whole file. */
int rm_dataset_content_fingerprint(const rm_dataset *ds, char out[17]);

#endif
