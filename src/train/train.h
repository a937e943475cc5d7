/* Training, evaluation and prediction on datasets (the train stage). */
#ifndef RELMASK_TRAIN_H
#define RELMASK_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "train/loader.h"
#include "nn/model_file.h"
#include "train/optimizer.h"

typedef enum { RM_INIT_HE = 0, RM_INIT_GLOROT = 1 } rm_init_kind;

/* --- training on encoded data (encoded_schedule.c; docs/train.md) -------
 * Which epochs, or which share of the training samples, take their image
 * from the encoded copy of the dataset instead of the raw one. */
typedef enum {
    RM_ENCODED_NONE = 0,    /* raw only (no --encoded) */
    RM_ENCODED_EPOCHS = 1,  /* epochs 1..K encoded, later ones raw */
    RM_ENCODED_SHARE = 2,   /* each sample encoded with probability s(e) */
} rm_encoded_kind;

typedef struct {
    rm_encoded_kind kind;
    int epochs;             /* EPOCHS: K */
    double share0, share1;  /* SHARE: s(1) and s(E), linear in between */
    int total_epochs;       /* E */
    uint64_t seed;          /* SHARE: the run's --seed */
} rm_encoded_schedule;

/* The share of encoded samples the schedule asks for in epoch `epoch`
 * (0-based): EPOCHS 1 or 0; SHARE s(e) = S0 + (S1 - S0) (e-1)/(E-1) for
 * the 1-based e = epoch + 1 (S0 when E = 1); NONE 0. */
double rm_encoded_share(const rm_encoded_schedule *s, int epoch);
/* An rm_source_chooser (ctx: the schedule): SHARE takes record r from the
 * encoded file in epoch e when u(seed, e, r) < s(e), u uniform in [0, 1)
 * from a seeded hash, so the choice is reproducible and independent of the
 * order, batch size and thread count. */
int rm_encoded_choose(const void *schedule, int epoch, int64_t record);
/* "S0:S1" with both in [0, 1]. */
int rm_encoded_share_parse(const char *text, double *s0, double *s1);
/* "epochs:K/E" or "share:S0:S1/E" (the `encoded_schedule` parameter). */
void rm_encoded_schedule_text(const rm_encoded_schedule *s, char *out, size_t size);

typedef struct {
    const char *data_path;      /* dataset file */
    const char *net;            /* built-in name (nets/<name>.cfg) or path; NULL with init_from: its network */
    const char *out_path;       /* best model; checkpoint at <out>.ckpt */
    int force, resume;
    int stop_after;             /* stop after this many epochs in this run, keeping the checkpoint (0: never) */
    int epochs, batch, eval_batch;
    rm_optim_config optim;
    rm_augment augment;
    rm_init_kind init;
    uint64_t seed;
    size_t cache_bytes;
    /* --encoded E.h5: an encoded copy of data_path whose train records are
     * used per `encoded` (kind NONE: every epoch); validation stays raw. */
    const char *encoded_path;
    rm_encoded_schedule encoded;   /* NONE with encoded_path: every epoch; rm_train fills in
                                      total_epochs and seed */
    const char *init_from;         /* --init-from MODEL.h5: initial weights */
    int input_channels;            /* --input-channels N: the net with N input channels (0: as defined) */
    int allow_missing_relevance;   /* channel mode: accept val/test records without relevance (a zero plane) */
    int strict_net;                /* refuse a network whose output count differs from the classes (else the
                                      last dense layer is adapted) */
    /* --distill SOURCE: knowledge distillation from a teacher model file or
     * predictions file (train/distill.h); kd_temperature T > 0 (4) and
     * kd_alpha A in [0, 1] (0.5) weigh the loss (docs/train.md). */
    const char *distill_path;
    double kd_temperature, kd_alpha;
    int quiet;
    const char *command_line;
} rm_train_config;

void rm_train_config_defaults(rm_train_config *cfg);
int rm_train(const rm_train_config *cfg);

/* Seeded initialization: conv/dense weights He-uniform (bound sqrt(6/fan_in))
 * or Glorot-uniform (sqrt(6/(fan_in+fan_out))), biases 0; batchnorm gamma 1,
 * beta 0, running mean 0, running var 1. */
int rm_net_init_params(rm_net *net, rm_init_kind kind, uint64_t seed);

/* Copies every parameter of model `src` (read from src_path) into `net`,
 * matched by layer and parameter name with the same shape. When the class
 * counts differ, the last dense layer keeps its values (*kept_last = 1) and
 * everything else must match. Errors name src_path and the parameter:
 * "M.h5 cannot initialize network small: conv2/weight is [16,8,3,3] in the
 * network but [16,4,3,3] in M.h5". */
int rm_net_init_from_model(rm_net *net, const rm_model *src, const char *src_path, int *kept_last);

typedef struct {
    int num_classes;
    int64_t count;
    int64_t labeled;            /* records with a label (>= 0): loss, accuracy and
                                   confusion count only these; NaN when none */
    double loss, accuracy;
    int64_t *confusion;         /* [K][K]: row = true class, column = predicted */
} rm_eval_result;

/* Runs an inference net over every batch of the loader's epoch 0. If
 * logits is not NULL it receives [N,K] in loader order. */
int rm_evaluate(rm_net *net, rm_loader *loader, rm_eval_result *out, float *logits);
/* rm_evaluate for a data-parallel loader part, which may hold no rows. */
int rm_evaluate_part(rm_net *net, rm_loader *loader, rm_eval_result *out, float *logits);
/* The same result from logits [n,K] and their labels (-1: unlabeled). */
int rm_eval_logits(rm_eval_result *out, const float *logits, const int32_t *labels, int64_t n, int k);
void rm_eval_result_free(rm_eval_result *r);

/* --- inference of a saved model (relmask eval / predict; inference.c) --- */

/* Files written by relmask predict (docs/formats.md). */
#define RM_PREDICTIONS_SCHEMA "relmask.predictions"
#define RM_PREDICTIONS_SCHEMA_VERSION 1

/* What rm_model_check_dataset does with images of another size or
 * channel count than the model's input. */
typedef enum {
    RM_SHAPE_MATCH = 0,         /* refuse, saying what to ingest (a command without --resize) */
    RM_SHAPE_OFFER_RESIZE = 1,  /* refuse, and name --resize too */
    RM_SHAPE_RESIZE = 2,        /* accept gray or RGB of any size (--resize: converted on the fly) */
} rm_shape_policy;

/* Checks that a dataset fits a model: input shape (per `shape`), class
 * count, class names. "M.h5 expects 1x48x48 inputs but D.h5 holds 1x28x28
 * images (channels x height x width); ingest the images again ...". */
int rm_model_check_dataset(const rm_model *m, const char *model_path, const rm_dataset *ds, rm_shape_policy shape);
/* "3x64x64 from 1x48x48" (the model's input from the data's images) when
 * they differ, else "": the provenance of a --resize run. */
void rm_resize_describe(const rm_model *m, const rm_dataset *ds, char *out, size_t size);

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
    int unlabeled;              /* the dataset is unlabeled (labels -1) */
    char resize[64];            /* rm_resize_describe: "" unless the images were converted (--resize) */
} rm_inference;

typedef struct {
    int split;                  /* RM_SPLIT_*, or -1 for all records */
    int batch;
    int want_logits;
    int allow_unlabeled;        /* as rm_inference_run_unlabeled_ok */
    int resize;                 /* convert the images to the model's input size and channels (--resize) */
} rm_inference_options;

/* Loads the model, checks the dataset against it and runs the network over
 * the split (-1: all records) in file order, normalized with the model's
 * mean/std. Call rm_inference_free whatever the result. */
int rm_inference_run(rm_inference *inf, const char *model_path, const char *data_path, int split, int batch,
                     int want_logits);
/* As rm_inference_run, but an unlabeled dataset (ingest --unlabeled) is
 * accepted (relmask predict): its labels are -1, result.labeled is 0 and
 * accuracy and loss are NaN. Without class names it takes the model's. */
int rm_inference_run_unlabeled_ok(rm_inference *inf, const char *model_path, const char *data_path, int split,
                                  int batch, int want_logits);
/* Both of the above, and --resize. */
int rm_inference_run_with(rm_inference *inf, const char *model_path, const char *data_path,
                          const rm_inference_options *opt);
void rm_inference_free(rm_inference *inf);

/* Softmax of one row of logits z [k] into p [k], in double precision after
 * subtracting the row maximum (p sums to 1). */
void rm_softmax_row(const float *z, int k, double *p);

/* --- decision-level fusion (relmask eval --fuse; fusion.c) --------------- */

typedef struct {
    int num_models;
    rm_inference *members;      /* [num_models]: each model's own run (its normalization), logits kept */
    double *weights;            /* [num_models], normalized to sum 1 */
    int num_classes;
    int64_t count;              /* records of the split */
    double *probs;              /* [count, K] fused: sum_m weights[m] softmax(logits_m) */
    int32_t *predicted;         /* [count] argmax of probs (the first on ties) */
    rm_eval_result result;      /* of the fused prediction: accuracy, confusion, loss = mean -ln probs[label] */
} rm_fusion;

/* Runs every model over the split and averages their class probabilities
 * with `weights` (NULL: equal; else non-negative with a positive sum, then
 * normalized). The models must agree on input shape and class names
 * (errors name the file that differs); each is checked against the
 * dataset as rm_inference_run does (resize: as --resize). Call
 * rm_fusion_free whatever the result. */
int rm_fusion_run(rm_fusion *f, const char *const *model_paths, const double *weights, int num_models,
                  const char *data_path, int split, int batch, int resize);
void rm_fusion_free(rm_fusion *f);

#endif
