/* Relevance files, schema "relmask.relevance" version 1 (docs/formats.md):
 * one heatmap per explained record of a dataset, whatever produced it (LRP,
 * occlusion, imported maps or fixations).
 *   /heatmap        float32 [N,H,W]   relevance summed over input channels
 *   /heatmap_image  uint8   [N,H,W]   the same, 128 + 127 r / max|r| per
 *                                     image, an HDF5 indexed image with the
 *                                     blue-white-red /palette (HDFView)
 *   /relevance      float32 [N,C,H,W] per-channel relevance (optional)
 *   /index          int64   [N]       record index in the dataset
 *   /label          int32   [N]       the dataset's label
 *   /explained      int32   [N]       the class explained (-1: none)
 *   /predicted      int32   [N]       the model's predicted class (-1: none)
 *   /score          float32 [N]       the explained class's logit (LRP),
 *                                     probability (occlusion), or NaN
 *   /sum            float32 [N]       sum of the heatmap
 * Root attributes: schema, schema_version, method, parameters (every
 * setting as key=value lines), class_names, dataset path and fingerprint,
 * model path and fingerprint, tool version, creation time, command line,
 * records_done.
 *
 * Writing is resumable: records go, in order, to "<dir>/.<name>.partial",
 * flushed after every block together with the count done; the finished file
 * is renamed into place. A run with resume on continues a partial file
 * written with the same parameters. */
#ifndef RELMASK_RELEVANCE_FILE_H
#define RELMASK_RELEVANCE_FILE_H

#include <stddef.h>
#include <stdint.h>

#define RM_RELEVANCE_SCHEMA "relmask.relevance"
#define RM_RELEVANCE_SCHEMA_VERSION 1

typedef struct {
    int64_t count;                    /* records N (> 0) */
    int channels, height, width;
    int num_classes;
    const char *const *class_names;
    int store_channels;               /* also write /relevance [N,C,H,W] */
    int deflate_level;                /* 0-9 */
    const char *method;               /* "lrp", "occlusion", "import-png", ... */
    const char *score_kind;           /* "logit", "probability", "none" */
    const char *parameters;           /* key=value lines; must match on resume */
    int shared;                       /* under mpirun: every rank opens, writes and finishes the file
                                         together (parallel HDF5), with rm_relevance_writer_write_at */
} rm_relevance_spec;

/* One block of consecutive records for rm_relevance_writer_write. Arrays
 * have n entries; heatmap is [n,H,W]; channels [n,C,H,W] (only when the spec
 * stores channels). */
typedef struct {
    int64_t n;
    const int64_t *index;
    const int32_t *label, *explained, *predicted;
    const float *score;
    const float *heatmap;
    const float *channels;
} rm_relevance_block;

typedef struct rm_relevance_writer rm_relevance_writer;

/* Opens the partial file for `path`. Fails if `path` exists and force is 0.
 * A shared spec makes every open, write, finish, close_partial and abort
 * collective: rank 0 checks, locks and renames the output, and every rank
 * learns its decisions and failures.
 * With resume set and a partial file written with the same spec
 * (method, parameters, shape, count), continues it: *records_done tells
 * how many records are already stored. Without resume, a partial file
 * holding records of an interrupted run is an error naming --resume and
 * --force, unless force is set; otherwise it starts afresh. */
int rm_relevance_writer_open(rm_relevance_writer **w, const char *path, const rm_relevance_spec *spec,
                             int force, int resume, int64_t *records_done);
/* Appends the next block (its first record is record *records_done); the
 * block is on disk, flushed, when this returns. Non-finite heatmap values
 * are refused with the record named. */
int rm_relevance_writer_write(rm_relevance_writer *w, const rm_relevance_block *block);
/* A shared writer's round (collective): each rank gives its own block of
 * records [at, at + block->n) (n may be 0), and the ranks' blocks together
 * cover [done, end) exactly, end being the same on every rank. When it
 * returns, every rank's records are on disk and records_done is end; a
 * failure on any rank fails it on all. Without sharing: at = done and
 * end = done + n, as rm_relevance_writer_write. */
int rm_relevance_writer_write_at(rm_relevance_writer *w, const rm_relevance_block *block, int64_t at, int64_t end);
/* A provenance attribute (string) on the root group, written at finish. */
int rm_relevance_writer_set_attr(rm_relevance_writer *w, const char *name, const char *value);
/* All N records must have been written; writes the attributes, closes and
 * renames the file into place. Frees w. */
int rm_relevance_writer_finish(rm_relevance_writer *w);
/* Stops writing but keeps the partial file for a later resume. Frees w. */
void rm_relevance_writer_close_partial(rm_relevance_writer *w);
/* Removes the partial file. Frees w. */
void rm_relevance_writer_abort(rm_relevance_writer *w);

/* --- reading -------------------------------------------------------------*/
typedef struct {
    char *path;
    int64_t hfile;                    /* hid_t */
    int64_t count;
    int channels, height, width;
    int num_classes;
    char **class_names;
    int has_channels;
    char *method, *score_kind, *parameters;
    char *dataset_path, *dataset_fingerprint;   /* NULL when absent */
    int64_t *index;                   /* [count] */
    int32_t *label, *explained, *predicted;
    float *score, *sum;
} rm_relevance;

/* Opens and validates a relevance file (schema, version, shapes, complete);
 * the error names the file and what is wrong. */
int rm_relevance_open(rm_relevance *r, const char *path);
/* Reads heatmaps of entries [start, start+count) into out [count,H,W]. */
int rm_relevance_read_heatmaps(const rm_relevance *r, int64_t start, int64_t count, float *out);
/* Reads per-channel relevance [count,C,H,W] (has_channels only). */
int rm_relevance_read_channels(const rm_relevance *r, int64_t start, int64_t count, float *out);
/* A root string attribute, malloc'd (NULL when absent). */
int rm_relevance_read_attr(const rm_relevance *r, const char *name, char **value);
/* Checks the file explains records of a dataset with `count` records of
 * HxW and these labels: every index in range, shapes equal, labels equal.
 * The error names both files. */
int rm_relevance_check_dataset(const rm_relevance *r, const char *data_path, int64_t count, int height,
                               int width, const int32_t *labels);
/* For each dataset record, the entry that explains it, or -1: map[count]. */
int rm_relevance_index_map(const rm_relevance *r, int64_t dataset_count, int64_t *map);
void rm_relevance_close(rm_relevance *r);
/* FNV-1a over the shape, method, parameters and every per-record vector
 * (index, label, explained, predicted, score, heatmap sum), as 16 hex
 * digits: tells relevance files apart without reading their heatmaps. */
void rm_relevance_fingerprint(const rm_relevance *r, char out[17]);

/* The signed blue-white-red palette (256 RGB entries, 128 = white = zero)
 * used by /palette and by heatmap PNGs. */
void rm_relevance_palette(uint8_t rgb[256 * 3]);
/* 128 + 127 r / max|r| rounded, per image ([n] images of hw pixels). */
void rm_relevance_to_index_image(const float *heat, int64_t hw, uint8_t *out);

#endif
