/* A model with its batch normalization folded into the convolutions it
 * reads: the same function with fewer layers and passes over the data.
 * Inference runs it (a convolution followed by a ReLU then fuses), and LRP
 * explains it (a folded batchnorm is part of its convolution's rule). */
#ifndef RELMASK_MODEL_FOLD_H
#define RELMASK_MODEL_FOLD_H

#include "nn/model_file.h"
#include "nn/net.h"

/* Batch normalization folded into the convolution it reads when nothing
 * else reads that convolution: a definition without those batchnorm layers
 * (the convolutions gain a bias; `from` indices renumbered) and the model's
 * tensors rewritten accordingly (W' = W g/sqrt(v+e), b' = (b - m) g/sqrt(v+e)
 * + beta, in double). Other batchnorm layers stay, with their tensors.
 * `layer_map[i]` (optional, room for every original layer) gives, for each
 * layer of the folded definition, the index of the same layer in the
 * original one. `folded` holds only tensors; free both with
 * rm_netdef_free and rm_model_free. */
int rm_model_fold_batchnorm(const rm_model *model, rm_netdef *folded_def, rm_model *folded, int *layer_map);

/* What eval, predict, relevance-eval and in-process occlusion run: an
 * RM_MODE_INFER network of a model's folded form with the weights applied,
 * taking `batch` images at a time and running them through the network in
 * slices of at most RM_INFER_SLICE, whose activations stay in cache. The
 * network keeps pointers into def, so they live together. */
#ifndef RM_INFER_SLICE
#define RM_INFER_SLICE 64
#endif
typedef struct {
    rm_netdef def;
    rm_model params;
    rm_net net;        /* built for min(batch, RM_INFER_SLICE) images */
    int batch;
    float *input;      /* [batch,C,H,W] */
    float *logits;     /* [batch,K] */
} rm_infer_net;

int rm_infer_net_create(rm_infer_net *n, const rm_model *model, int batch);
/* The first `count` (<= batch) images of input through the network. */
int rm_infer_net_forward(rm_infer_net *n, int count);
void rm_infer_net_destroy(rm_infer_net *n);

#endif
