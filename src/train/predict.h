/* The predict stage as a library call (predict.c): per-record logits,
 * softmax probabilities and predicted classes of a model on a dataset
 * split, in a predictions file (schema relmask.predictions, docs/formats.md).
 * The NPY exchange of external models is relevance/predict_npy.h. */
#ifndef RELMASK_PREDICT_H
#define RELMASK_PREDICT_H

typedef struct {
    const char *model_path, *data_path, *out_path;
    int split;                  /* RM_SPLIT_*, or -1 (default) for all records */
    int batch;                  /* records per forward pass (256) */
    int force;                  /* overwrite an existing out_path */
    int resize;                 /* convert images of another size or channel count than the model's input as
                                   they are read (--resize; the file's resize attribute says from what) */
    const char *command_line;   /* the file's command_line attribute (NULL: "") */
} rm_predict_config;

void rm_predict_config_defaults(rm_predict_config *cfg);
/* Writes out_path atomically (on an error an existing file stays as it
 * was) and logs "<out>: N predictions, accuracy A". */
int rm_predict(const rm_predict_config *cfg);

/* What `relmask info` shows of a predictions file. */
typedef struct {
    long long count;            /* records */
    long long classes;          /* logits per record */
    long long correct;          /* /predicted equal to /labels */
    long long labeled;          /* /labels >= 0 (-1: an unlabeled record) */
    char *split;                /* the split attribute */
    int num_classes;
    char **class_names;
} rm_predictions_summary;

/* Reads and checks a predictions file (schema version, shapes); errors
 * name the file. */
int rm_predictions_summarize(const char *path, rm_predictions_summary *s);
void rm_predictions_summary_free(rm_predictions_summary *s);

#endif
