/* Training, evaluation and prediction on datasets (the train stage). */
#ifndef RELMASK_TRAIN_H
#define RELMASK_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "relmask/loader.h"
#include "relmask/model.h"
#include "relmask/optim.h"

typedef enum { RM_INIT_HE = 0, RM_INIT_GLOROT = 1 } rm_init_kind;

typedef struct {
    const char *data_path;      /* dataset file */
    const char *net;            /* built-in name (nets/<name>.cfg) or path */
    const char *out_path;       /* best model; checkpoint at <out>.ckpt */
    int force, resume;
    int stop_after;             /* stop after this many epochs in this run, keeping the checkpoint (0: never) */
    int epochs, batch, eval_batch;
    rm_optim_config optim;
    rm_augment augment;
    rm_init_kind init;
    uint64_t seed;
    size_t cache_bytes;
    int quiet;
    const char *command_line;
} rm_train_config;

void rm_train_config_defaults(rm_train_config *cfg);
int rm_train(const rm_train_config *cfg);

/* Seeded initialization: conv/dense weights He-uniform (bound sqrt(6/fan_in))
 * or Glorot-uniform (sqrt(6/(fan_in+fan_out))), biases 0; batchnorm gamma 1,
 * beta 0, running mean 0, running var 1. */
int rm_net_init_params(rm_net *net, rm_init_kind kind, uint64_t seed);

typedef struct {
    int num_classes;
    int64_t count;
    double loss, accuracy;
    int64_t *confusion;         /* [K][K]: row = true class, column = predicted */
} rm_eval_result;

/* Runs an inference net over every batch of the loader's epoch 0. If
 * logits is not NULL it receives [N,K] in loader order. */
int rm_evaluate(rm_net *net, rm_loader *loader, rm_eval_result *out, float *logits);
void rm_eval_result_free(rm_eval_result *r);

/* --- inference of a saved model (relmask eval / predict; inference.c) --- */

/* Files written by relmask predict (docs/formats.md). */
#define RM_PREDICTIONS_SCHEMA "relmask.predictions"
#define RM_PREDICTIONS_SCHEMA_VERSION 1

/* "train", "val", "test" -> RM_SPLIT_*, "all" -> -1; else an error. */
int rm_split_parse(const char *name, int *split);
/* The inverse: "train", "val", "test" or "all". */
const char *rm_split_label(int split);
/* Checks that a dataset fits a model: input shape, class count, class
 * names. "M.h5 expects 1x48x48 inputs with 7 classes but D.h5 holds
 * 1x28x28 images with 10 classes". */
int rm_model_check_dataset(const rm_model *m, const char *model_path, const rm_dataset *ds);

typedef struct {
    const char *model_path;
    rm_model model;
    rm_eval_result result;      /* loss, accuracy, confusion */
    int64_t count;              /* records of the split */
    float *logits;              /* [count, K] when asked, in the order of indices */
    int32_t *labels;            /* [count] */
    int64_t *indices;           /* [count] record indices in the dataset, ascending */
    char data_fingerprint[17];  /* rm_dataset_fingerprint of the whole dataset */
    char net_name[64];          /* the model's net_name attribute */
} rm_inference;

/* Loads the model, checks the dataset against it and runs the network over
 * the split (-1: all records) in file order, normalized with the model's
 * mean/std. Call rm_inference_free whatever the result. */
int rm_inference_run(rm_inference *inf, const char *model_path, const char *data_path, int split, int batch,
                     int want_logits);
void rm_inference_free(rm_inference *inf);

#endif
