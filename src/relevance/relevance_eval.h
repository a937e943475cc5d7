/* The relevance-eval stage as a library call (relevance_eval.c): the
 * quality metrics of a relevance file (quality.h) written as JSON or CSV
 * (docs/formats.md), with a summary on the log. */
#ifndef RELMASK_RELEVANCE_EVAL_H
#define RELMASK_RELEVANCE_EVAL_H

#include <stdio.h>

#include "relevance/quality.h"

typedef enum {
    RM_RELEVANCE_EVAL_JSON = 0,
    RM_RELEVANCE_EVAL_CSV = 1,
    RM_RELEVANCE_EVAL_AUTO = 2,   /* CSV when out_path ends in .csv, else JSON */
} rm_relevance_eval_format;

typedef struct {
    rm_quality_config quality;        /* what to measure, on which files */
    const char *out_path;             /* the results file; NULL: the stream `out` */
    FILE *out;                        /* stdout */
    rm_relevance_eval_format format;  /* AUTO */
    int force;                        /* overwrite existing out_path and records_path files */
    const char *records_path;         /* NULL, or a CSV of one row per evaluated record */
} rm_relevance_eval_config;

void rm_relevance_eval_config_defaults(rm_relevance_eval_config *cfg);
/* Computes the metrics, logs the notes and a summary, and writes the
 * results (out_path and records_path atomically: on an error an existing
 * file stays). */
int rm_relevance_eval(const rm_relevance_eval_config *cfg);

#endif
