/* Minibatches from a dataset file for training and evaluation: a per-epoch
 * shuffle, normalization to float, augmentation, and a background thread
 * that prepares the next batch while the current one is computed. All
 * randomness is a function of (seed, epoch, position), so a run is
 * reproducible and a resumed run sees the same batches.
 *
 * Memory: a split whose images fit in `cache_bytes` is read into memory
 * once; a larger one is streamed by HDF5 chunk, shuffling the chunk order
 * and the images within a window of chunks (bounded memory).
 *
 * Two sources: with `alt_path` (e.g. an encoded copy of the dataset) each
 * record's image comes, per epoch, from the file the chooser names; the
 * order, labels, augmentation and normalization do not depend on the
 * choice. Both files are cached when both fit in `cache_bytes`, else both
 * are streamed. */
#ifndef RELMASK_LOADER_H
#define RELMASK_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "core/dataset.h"

typedef struct {
    int hflip;              /* random horizontal flip with probability 1/2 */
    int shift;              /* random translation by up to +-shift pixels (edge padding) */
    double rotate_deg;      /* random rotation in [-r, r] degrees (bilinear) */
} rm_augment;

/* The source of record `record` (its index in the file) in epoch `epoch`
 * (0-based): nonzero = the alternate file. Called for every record of the
 * split at the start of each epoch, in the caller's thread; it must be a
 * pure function of its arguments so that runs are reproducible and a
 * resumed run sees the same choices. */
typedef int (*rm_source_chooser)(const void *ctx, int epoch, int64_t record);

typedef struct {
    const char *path;       /* dataset file */
    int split;              /* RM_SPLIT_TRAIN / VAL / TEST, or -1 for all records */
    int batch;
    int shuffle;            /* per-epoch shuffle (training) */
    int drop_last;          /* skip the final partial batch (training) */
    rm_augment augment;     /* all zero: none */
    const float *mean, *std;/* per channel: x' = (x/255 - mean) / std */
    /* The network's input when it differs from the dataset's images
     * (--resize): each image is converted as rm_image_convert does, as
     * ingest --size --channels would have, before augmentation and
     * normalization; mean/std are then per input channel. 0: the data's. */
    int input_channels, input_height, input_width;
    uint64_t seed;
    size_t cache_bytes;     /* default 2 GiB when 0 */
    /* Optional second source with the same records (count, shape, labels,
     * split, class names; checked at open): NULL for `path` only. */
    const char *alt_path;
    rm_source_chooser choose;   /* required with alt_path */
    const void *choose_ctx;
    int allow_unlabeled;        /* accept an unlabeled dataset (labels -1): inference only */
    /* Data-parallel training (parts > 1, dividing batch): the batches are
     * the same as with one part, and this loader delivers rows
     * [part * batch / parts, (part + 1) * batch / parts) of each, with the
     * same images and augmentation. 0 and 1: the whole batch. */
    int part, parts;
} rm_loader_config;

typedef struct {
    /* batch rows: the batch, or batch / parts */
    float *images;          /* [rows, C, H, W] normalized (the input shape); rows >= count are zero */
    int32_t *labels;        /* [rows]; rows >= count are 0 */
    int64_t *indices;       /* [rows] record indices in the file */
    uint8_t *from_alt;      /* [rows] 1: the row's image came from alt_path */
    int count;              /* valid rows (the last batch may be partial) */
} rm_batch;

typedef struct rm_loader rm_loader;

int rm_loader_open(rm_loader **l, const rm_loader_config *cfg);
/* Records in the selected split and batches per epoch. */
size_t rm_loader_size(const rm_loader *l);
size_t rm_loader_batches(const rm_loader *l);
const rm_dataset *rm_loader_dataset(const rm_loader *l);
/* Starts epoch `epoch` (0-based): shuffles and starts the prefetch thread. */
int rm_loader_start_epoch(rm_loader *l, int epoch);
/* The next batch of the epoch (valid until the next call); returns 1 with
 * *batch set, 0 at the end of the epoch, -1 on error (read failure). */
int rm_loader_next(rm_loader *l, const rm_batch **batch);
/* After rm_loader_start_epoch: how many of the samples the epoch's batches
 * deliver (*samples; drop_last leaves the remainder out) come from
 * alt_path (0 without one). */
size_t rm_loader_epoch_alt(const rm_loader *l, size_t *samples);
void rm_loader_close(rm_loader *l);

/* Per-channel mean and standard deviation of x/255 over a split, computed
 * in double precision in one pass over the file. */
int rm_dataset_channel_stats(const rm_dataset *ds, int split, float *mean, float *std);

#endif
