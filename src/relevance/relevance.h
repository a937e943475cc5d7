/* The relevance stage as one library call: a heatmap for every selected
 * record of a dataset, by LRP (lrp.h) or occlusion (occlusion.h), streamed
 * to a relevance file (schema relmask.relevance, core/relevance_file.h) in
 * blocks. The file is built as a hidden partial file beside out_path and
 * renamed when complete; an interrupted or stopped run continues from it
 * with `resume`. relmask relevance is this call behind its options
 * (docs/relevance.md). */
#ifndef RELMASK_RELEVANCE_H
#define RELMASK_RELEVANCE_H

enum { RM_RELEVANCE_MAX_RULES = 64 };

typedef enum {
    RM_RELEVANCE_LRP = 0,
    RM_RELEVANCE_OCCLUSION = 1,
} rm_relevance_method;

typedef struct {
    /* what is explained */
    const char *model_path;     /* model file; NULL for occlusion with predict_cmd */
    const char *data_path;      /* dataset with the model's input shape (or resize) and classes */
    const char *out_path;       /* relevance file */
    int split;                  /* -1: all records (default), else RM_SPLIT_* */
    long long start;            /* skip the first `start` records of the split (0) */
    long long count;            /* explain at most `count` records (0: all) */
    long long sample;           /* instead: a class-stratified random draw of this many records (0: none) */
    unsigned long long sample_seed;   /* its seed (1) */
    const char *target;         /* "pred" (NULL: the same), "true", a class name or index,
                                   or label-free class sets (LRP only): "all", "top:K",
                                   "contrast" (rm_relevance_target_set) */
    rm_relevance_method method; /* (LRP) */
    int batch;                  /* images per pass, 1..4096 (64) */
    /* LRP */
    const char *composite;      /* (epsilon-plus-flat) */
    const char *rules[RM_RELEVANCE_MAX_RULES];   /* "LAYER=RULE" overrides */
    int num_rules;
    double eps, gamma;          /* epsilon and gamma rules (1e-6, 0.25) */
    int ignore_bias;            /* biases take no part in the rules */
    int channels;               /* also store the per-channel relevance [N,C,H,W] */
    /* occlusion */
    int patch, stride;          /* pixels (0: the occlusion defaults, 8 and 4) */
    const char *baseline;       /* fill: a pixel value 0..255 or "mean" (NULL: mean) */
    const char *predict_cmd;    /* an external model instead of model_path */
    /* images of another size or channel count than the model's input
     * (--resize; a model file only): converted as they are read, as ingest
     * --size --channels would; LRP maps the relevance back to the data's
     * grid with the conversion's adjoint (docs/relevance.md) */
    int resize;
    /* running */
    int force;                  /* overwrite an existing relevance file */
    int resume;                 /* continue the partial file an interrupted run left */
    int stop_after;             /* stop after this many blocks of this run, keeping
                                   the partial file for resume (0: never) */
    int quiet;                  /* no log lines (progress: rm_progress_set_quiet) */
    const char *command_line;   /* provenance, may be NULL */
} rm_relevance_config;

void rm_relevance_config_defaults(rm_relevance_config *cfg);
/* Whether target names a class set rather than one class: 1 for "all",
 * "top:K" (*top = K) and "contrast" (the seed kind in *kind, lrp.h's
 * rm_seed_kind), 0 for a single-class target, -1 with a message for a
 * malformed "top:..." (K must be an integer >= 1; its upper bound, the
 * number of classes, is checked against the dataset). */
int rm_relevance_target_set(const char *target, int *kind, int *top);
/* Runs the stage. A run stopped by stop_after returns 0 with the partial
 * file kept. On an error an existing relevance file is left as it was; a
 * partial file is kept only when it holds records that resume can
 * continue from (the message says so). */
int rm_relevance_run(const rm_relevance_config *cfg);

#endif
