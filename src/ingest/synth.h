/* The synth stage: renders synthetic faces (synth_faces.h) into a dataset
 * file with their region masks and a stratified split. Images are rendered
 * in parallel blocks and appended in index order, so the file is
 * byte-identical whatever the thread count. */
#ifndef RELMASK_SYNTH_H
#define RELMASK_SYNTH_H

#include <stdint.h>

#include "core/dataset.h"
#include "ingest/synth_faces.h"

typedef struct {
    const char *out_path;      /* written atomically */
    int force;                 /* overwrite an existing output */
    long long count;           /* images, 1..100000000 (7000); classes balanced */
    uint64_t start;            /* index of the first image (0): disjoint ranges, disjoint sets */
    rm_synth_params params;    /* size 48, domain source, intensity 0.6, seed 1 */
    rm_split_spec split;       /* val 0.1, test 0.1, seed 1 (by convention the generator seed) */
    int deflate_level;         /* 0-9 (4) */
    const char *command_line;  /* stored as provenance; NULL: not stored */
} rm_synth_config;

void rm_synth_config_defaults(rm_synth_config *cfg);
/* Writes cfg->out_path, or fails with nothing written. */
int rm_synth(const rm_synth_config *cfg);

#endif
