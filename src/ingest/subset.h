/* Subsets of a dataset: seeded, class-stratified draws of records from its
 * splits, written as a new dataset (or the records not drawn, its
 * complement). Makes a scarce target set and a disjoint source set from one
 * large dataset, e.g. `make experiment DATA=fashion-mnist`. */
#ifndef RELMASK_SUBSET_H
#define RELMASK_SUBSET_H

#include <stdint.h>

#include "core/dataset.h"

typedef struct {
    int from;            /* RM_SPLIT_* pool to draw from, or -1 for every split */
    int64_t count;       /* records to draw; -1 = all that are left */
    int as;              /* the records' split in the output */
} rm_take;

/* Marks the records each take draws, in order; a record is drawn at most
 * once. Each take is stratified: per class round(count * class share of the
 * pool) by largest remainders, chosen by a seeded shuffle per class.
 * out_split[i] is the output split of record i, or RM_SPLIT_UNASSIGNED when
 * not drawn. Fails when a pool holds fewer records than asked. */
int rm_subset_select(const rm_dataset *ds, const rm_take *takes, int num_takes, uint64_t seed, uint8_t *out_split);

/* "train:1000", "train:500:val", "test:all", "all:200:train". */
int rm_take_parse(const char *text, rm_take *take);

enum { RM_SUBSET_MAX_TAKES = 16 };

typedef struct {
    const char *data_path;     /* input dataset */
    const char *out_path;      /* written atomically */
    rm_take takes[RM_SUBSET_MAX_TAKES];
    /* Each take as the user wrote it, for the subset_parameters attribute;
     * NULL: written as FROM:COUNT:AS. */
    const char *take_text[RM_SUBSET_MAX_TAKES];
    int num_takes;             /* 1..RM_SUBSET_MAX_TAKES */
    int complement;            /* write the records NOT drawn, with their own split */
    uint64_t seed;             /* seed of the draws (1) */
    int deflate_level;         /* 0-9 (4) */
    int force;                 /* overwrite an existing output */
    const char *command_line;  /* stored as provenance; NULL: not stored */
} rm_subset_config;

void rm_subset_config_defaults(rm_subset_config *cfg);
/* The subset stage: draws the takes from cfg->data_path (rm_subset_select)
 * and writes the drawn records (or the complement) in their order, with
 * their regions, to cfg->out_path. Fails, with nothing written, when a take
 * asks for more than is left or the subset is empty. */
int rm_subset(const rm_subset_config *cfg);

#endif
