/* Knowledge distillation's teacher (relmask train --distill; docs/train.md):
 * the teacher's logits for every train record of a dataset, from a model
 * file run once in inference mode on the raw images, or from a predictions
 * file (relmask predict, or any black-box model; docs/formats.md). */
#ifndef RELMASK_DISTILL_H
#define RELMASK_DISTILL_H

#include <stddef.h>
#include <stdint.h>

#include "core/dataset.h"

typedef struct {
    int num_classes;
    size_t count;                   /* records of the dataset */
    size_t train;                   /* records of its train split */
    float *logits;                  /* [train, K] teacher logits of the train records, in file order */
    int64_t *row;                   /* [count] a record's row in logits; -1 outside the train split */
    const char *kind;               /* "model" or "predictions" */
    char source_fingerprint[17];    /* model: rm_model_fingerprint; predictions: FNV-1a of /indices and
                                       the values read (/logits or /probabilities) */
    char targets_fingerprint[17];   /* FNV-1a of logits [train, K]: the soft targets themselves */
} rm_teacher;

/* Loads the teacher for dataset `ds` (opened from data_path). A model runs
 * over every record in batches of `batch` (as relmask predict does),
 * normalized with its own mean/std, and the train rows are kept; a
 * predictions file must cover every train record (/indices), with its
 * class count and names (when stored) equal to the dataset's and its
 * data_fingerprint (when stored) equal to the dataset's. Errors name the
 * file: "P.h5 does not cover train record 12 of D.h5". Call
 * rm_teacher_free whatever the result. */
int rm_teacher_load(rm_teacher *t, const char *source, const char *data_path, const rm_dataset *ds, int batch);
void rm_teacher_free(rm_teacher *t);

/* FNV-1a over `n` bytes, continuing from `hash` (start: 0xcbf29ce484222325). */
uint64_t rm_fnv1a(uint64_t hash, const void *data, size_t n);

#endif
