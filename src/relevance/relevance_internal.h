/* Shared by the relevance stage's files (relevance.c: the records, the file
 * and the run; relevance_lrp.c and relevance_occlusion.c: the two methods). */
#ifndef RELMASK_RELEVANCE_INTERNAL_H
#define RELMASK_RELEVANCE_INTERNAL_H

#include <stdint.h>

#include "core/dataset.h"
#include "core/image.h"
#include "core/pixels.h"
#include "nn/model_file.h"
#include "relevance/lrp.h"
#include "relevance/occlusion.h"
#include "relevance/relevance.h"

/* Reads records idx[0..n) (ascending) in as few HDF5 reads as the window
 * buffer allows: a block's records are read as one covering range. */
typedef struct {
    const rm_dataset *ds;
    size_t record_bytes;
    int64_t window_cap;
    uint8_t *window;         /* [window_cap, C,H,W] */
} record_reader;

typedef struct {
    const rm_relevance_config *cfg;
    rm_dataset ds;
    rm_model model;
    int have_model;
    char model_fp[17], data_fp[17];
    int target;                       /* -1 pred, -2 true, else a class */
    rm_lrp_seed seed;                 /* the LRP seed: one class or a class set */
    /* --resize: the data's grid to the model's input (NULL when they agree) */
    rm_image_resizer *resizer;
    char resize[64];                  /* rm_resize_describe */
    int in_c, in_h, in_w;             /* the model's input: LRP runs there */
    int64_t *indices, n;
    /* LRP */
    rm_lrp_config lrp_cfg;
    rm_lrp *lrp;
    rm_pixel_norm norm;
    /* occlusion */
    rm_predictor *pred;
    rm_occlusion *occ;
    float baseline_mean[RM_DATASET_MAX_CHANNELS];
    /* per block, allocated once */
    uint8_t *images;                  /* [batch,C,H,W] */
    float *chan, *heat, *score;       /* [batch,C,H,W], [batch,H,W], [batch] */
    uint8_t *in_images;               /* with a resizer: [batch, in_c,in_h,in_w] */
    float *in_chan;                   /* with a resizer (LRP): [batch, in_c,in_h,in_w] */
    int32_t *explained, *predicted, *label, *targets;
    int64_t *block_index;
    record_reader reader;
    char params[8192];                /* the file's parameters attribute */
    int stopped;
} relevance_job;

/* After the dataset, model, target and records: builds the method's engine
 * and writes j->params. */
int relevance_lrp_prepare(relevance_job *j);
int relevance_occlusion_prepare(relevance_job *j);
/* Explains the block's n images (j->images, j->targets) into j->heat,
 * j->explained, j->score, j->predicted (and j->chan for LRP). */
int relevance_lrp_block(relevance_job *j, int64_t n);
int relevance_occlusion_block(relevance_job *j, int64_t n);

#endif
