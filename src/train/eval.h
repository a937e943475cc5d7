/* The eval stage as a library call (eval.c): accuracy, loss, per-class
 * precision/recall/F1 and the confusion matrix of a model on a dataset
 * split, or of several models' fused class probabilities, as a text report
 * and optionally a JSON or CSV file (docs/formats.md). */
#ifndef RELMASK_EVAL_H
#define RELMASK_EVAL_H

#include <stdio.h>

enum { RM_EVAL_MAX_FUSE = 64 };

typedef struct {
    const char *model_path;         /* the model, or NULL to fuse fuse_paths */
    const char *const *fuse_paths;  /* [num_fuse]: decision-level fusion of these models */
    int num_fuse;                   /* 0 with model_path, else 2..RM_EVAL_MAX_FUSE */
    const double *weights;          /* [num_fuse] fusion weights (normalized to sum 1); NULL: equal */
    const char *fuse_label;         /* the fusion's name in the results (the --fuse list);
                                       NULL: the paths joined by commas */
    const char *data_path;
    int split;                      /* RM_SPLIT_* (RM_SPLIT_TEST), or -1 for all records */
    int batch;                      /* records per forward pass (256) */
    FILE *report;                   /* the text report (stdout); NULL: none */
    int summary_only;               /* the report without the class table and confusion matrix */
    const char *out_path;           /* also write the results: JSON if it ends in .json, else CSV */
    int force;                      /* overwrite an existing out_path */
    int resize;                     /* images of another size or channel count than the model's input are
                                       converted as they are read (--resize; recorded in the results) */
} rm_eval_config;

void rm_eval_config_defaults(rm_eval_config *cfg);
/* Runs the model (or fusion) over the split and writes the report and
 * out_path (atomically: on an error an existing file stays as it was). */
int rm_eval(const rm_eval_config *cfg);

#endif
