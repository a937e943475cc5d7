/* Shared by the relevance importers (import.c, import_fixations.c): a
 * block buffer in front of rm_relevance_writer that fills the per-record
 * vectors (index, label, explained = label, predicted = -1, score = NaN). */
#ifndef RELMASK_RELEVANCE_IMPORT_INTERNAL_H
#define RELMASK_RELEVANCE_IMPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/dataset.h"
#include "core/progress.h"
#include "core/relevance_file.h"
#include "relevance/import.h"

typedef struct {
    rm_relevance_writer *w;
    const rm_dataset *ds;
    const char *out_path;
    int64_t block, n, total, written;
    size_t hw;
    int64_t *index;
    int32_t *label, *explained, *predicted;
    float *score, *heat;        /* [block], [block,H,W] */
    rm_progress progress;
} import_sink;

/* Opens the relevance file for `total` records with the options' method and
 * the parameter text; stores dataset_path, dataset_fingerprint, source_path
 * and command_line as attributes. */
int import_sink_open(import_sink *s, const rm_import_options *o, const rm_dataset *ds, int64_t total,
                     const char *params);
/* The heatmap row [H,W] of the next entry, which explains `record`. */
float *import_sink_row(import_sink *s, int64_t record);
/* The row is complete; writes the block when it is full. */
int import_sink_push(import_sink *s);
/* Writes what is left, checks all `total` records came, renames the file
 * into place. Frees the sink. */
int import_sink_finish(import_sink *s);
/* Removes the partial file. Frees the sink. */
void import_sink_abort(import_sink *s);

/* 1 if record `rec` belongs to the selected split (-1: all). */
static inline int import_in_split(const rm_dataset *ds, int64_t rec, int split)
{
    return split < 0 || ds->split[rec] == split;
}

int import_fixations(const rm_import_options *o, const rm_dataset *ds, double sigma, const char *params);

#endif
