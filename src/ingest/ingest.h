/* Ingestion of real FER data formats into the dataset schema. Every
 * ingester streams records into an rm_ingest_sink, which converts them to
 * the requested size and channels, counts bad records and writes the file
 * atomically. */
#ifndef RELMASK_INGEST_H
#define RELMASK_INGEST_H

#include <stdint.h>
#include "core/dataset.h"
#include "core/image.h"

typedef struct {
    const char *out_path;
    int force;
    int width, height;          /* 0: the format's native size, else 48x48 */
    int channels;               /* 1 gray (default) or 3 RGB */
    int skip_bad;               /* skip and count bad records */
    rm_split_spec split;        /* for records the format leaves unsplit */
    const char *classes;        /* "a,b,c" or a preset name; NULL: format's */
    int deflate_level;
    const char *command_line;   /* stored as provenance */

    /* format-specific */
    const char *class_map;      /* folder: file mapping folder -> class */
    int ck_neutral_first;       /* CK+: first frame of a sequence as neutral */
    int ck_peak_frames;         /* CK+: last K frames carry the label (1) */
    const char *labels_path;    /* npy: labels .npy; idx: labels file */
    const char *test_images;    /* idx: test images file (split = test) */
    const char *test_labels;    /* idx: test labels file */
    double float_max;           /* npy float input: value mapped to 255 */
} rm_ingest_options;

void rm_ingest_options_init(rm_ingest_options *opt);

/* Class-name presets accepted by --classes. */
int rm_class_preset(const char *name, int *count, const char *const **names);

/* The ingesters. Each writes opt->out_path or fails with nothing written. */
int rm_ingest_fer2013(const char *csv_path, const rm_ingest_options *opt);
int rm_ingest_folder(const char *root, const rm_ingest_options *opt);
int rm_ingest_jaffe(const char *dir, const rm_ingest_options *opt);
int rm_ingest_ckplus(const char *root, const rm_ingest_options *opt);
int rm_ingest_idx(const char *images_path, const rm_ingest_options *opt);
int rm_ingest_npy(const char *images_path, const rm_ingest_options *opt);

#endif
