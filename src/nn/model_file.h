/* Model files, schema "relmask.model" version 1 (docs/formats.md): the
 * network text, input shape, classes, input normalization and training
 * parameters as attributes; weights under /params/<layer>/<name> in
 * PyTorch's conventions (conv [O,I,KH,KW], dense [O,I], batchnorm gamma,
 * beta, running_mean, running_var), float32; the per-epoch history under
 * /history. A model file is self-contained: h5py + numpy can rebuild it. */
#ifndef RELMASK_MODEL_H
#define RELMASK_MODEL_H

#include <stdint.h>

#include "nn/net.h"

#define RM_MODEL_SCHEMA "relmask.model"
#define RM_MODEL_SCHEMA_VERSION 1

typedef struct {
    int epoch;                 /* 1-based */
    double train_loss, train_acc, val_loss, val_acc, seconds, lr;
    double encoded_share;      /* training samples taken from the encoded copy (0 without one) */
} rm_epoch_record;

typedef struct {
    char key[64];              /* "conv1/weight" */
    int64_t count;
    float *data;               /* plain layout */
} rm_model_tensor;

typedef struct {
    rm_netdef def;             /* parsed from the stored text */
    int num_classes;
    char **class_names;
    int channels;
    float *norm_mean, *norm_std;   /* per input channel: x' = (x/255 - mean) / std */
    char *train_params;        /* "key=value" lines */
    char *dataset_path, *dataset_fingerprint;
    int num_epochs;            /* history length */
    rm_epoch_record *history;
    int best_epoch;
    double best_val_acc;
    /* plain parameters, keyed "layer/name", loaded from the file */
    int num_tensors;
    rm_model_tensor *tensors;
} rm_model;

/* Copies a network's parameters (plain layout) into the model. */
int rm_model_capture(rm_model *m, rm_net *net);
/* Writes every parameter of the model into a network built from m->def. */
int rm_model_apply(const rm_model *m, rm_net *net);
/* Writes the model atomically (temporary file + rename). */
int rm_model_save(const rm_model *m, const char *path, int force, const char *command_line);
/* The same, calling extra(file hid_t, ctx) before closing, for checkpoints
 * that add the optimizer state. */
int rm_model_save_ex(const rm_model *m, const char *path, int force, const char *command_line,
                     int (*extra)(int64_t file, void *ctx), void *ctx);
/* Reads and validates a model file; errors name the file and what is wrong. */
int rm_model_load(rm_model *m, const char *path);
void rm_model_free(rm_model *m);
/* The epochs its training run was set to (epochs= of the training
 * parameters), 0 when unknown (an imported model). A model file whose
 * history is shorter is the best-so-far model of an interrupted run. */
int rm_model_planned_epochs(const rm_model *m);
/* Fills the normalization / class fields. */
int rm_model_set_classes(rm_model *m, int count, char *const *names);
/* FNV-1a over a dataset's shape, labels and split, as 16 hex digits. */
void rm_dataset_fingerprint(char out[17], int64_t count, int c, int h, int w, const int32_t *labels,
                            const uint8_t *split);

/* FNV-1a over the network text, every parameter and the normalization, as
 * 16 hex digits: names the exact weights a relevance file came from. */
void rm_model_fingerprint(char out[17], const rm_model *m);

#endif
