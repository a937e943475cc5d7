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

#endif
