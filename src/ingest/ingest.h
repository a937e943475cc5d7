/* Ingestion of real FER data formats into the dataset schema (the ingest
 * stage: rm_ingest). Every ingester streams records into an rm_ingest_sink,
 * which converts them to the requested size and channels, counts bad
 * records and writes the file atomically. */
#ifndef RELMASK_INGEST_H
#define RELMASK_INGEST_H

#include <stdint.h>
#include "core/dataset.h"
#include "core/image.h"

typedef struct {
    const char *format;         /* rm_ingest: one of rm_ingest_format_names */
    const char *input;          /* rm_ingest: the format's INPUT file or folder */
    const char *out_path;
    int force;
    int width, height;          /* 0: the format's native size, else 48x48 */
    int channels;               /* 1 gray (default) or 3 RGB */
    int skip_bad;               /* skip and count bad records */
    rm_split_spec split;        /* for records the format leaves unsplit */
    const char *classes;        /* "a,b,c" or a preset name; NULL: format's */
    int deflate_level;
    const char *command_line;   /* stored as provenance */
    int unlabeled;              /* folder: a flat folder of images without labels
                                   (labels -1, split unlabeled; --classes names only) */

    /* format-specific */
    const char *class_map;      /* folder: file mapping folder -> class */
    int ck_neutral_first;       /* CK+: first frame of a sequence as neutral */
    int ck_peak_frames;         /* CK+: last K frames carry the label (1) */
    const char *labels_path;    /* npy: labels .npy; idx: labels file */
    const char *test_images;    /* idx: test images file (split = test) */
    const char *test_labels;    /* idx: test labels file */
    double float_max;           /* npy float input: value mapped to 255 */
} rm_ingest_options;

/* The defaults: gray, the format's size, val 0.1, test 0.1, seed 1,
 * deflate 4, CK+ peak frames 1, float max 1. */
void rm_ingest_options_init(rm_ingest_options *opt);

enum { RM_INGEST_FORMATS = 6 };
/* fer2013, folder, jaffe, ckplus, idx, npy */
extern const char *const rm_ingest_format_names[RM_INGEST_FORMATS];

/* 0 if opt names a known format, an input and an output, with the options
 * that format needs (idx/npy: labels_path; test_images with test_labels);
 * else -1 with rm_error saying what is missing. */
int rm_ingest_check(const rm_ingest_options *opt);
/* The ingest stage: checks opt, then runs the ingester of opt->format on
 * opt->input. Writes opt->out_path, or fails with nothing written. */
int rm_ingest(const rm_ingest_options *opt);

/* Class-name presets accepted by --classes. */
int rm_class_preset(const char *name, int *count, const char *const **names);
/* --classes: a preset name or a comma-separated list of distinct names
 * (malloc'd; free each and the array). */
int rm_classes_parse(const char *spec, int *count, char ***names);

/* The ingesters. Each writes opt->out_path or fails with nothing written. */
int rm_ingest_fer2013(const char *csv_path, const rm_ingest_options *opt);
int rm_ingest_folder(const char *root, const rm_ingest_options *opt);
int rm_ingest_jaffe(const char *dir, const rm_ingest_options *opt);
int rm_ingest_ckplus(const char *root, const rm_ingest_options *opt);
int rm_ingest_idx(const char *images_path, const rm_ingest_options *opt);
int rm_ingest_npy(const char *images_path, const rm_ingest_options *opt);

#endif
