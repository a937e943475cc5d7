/* Occlusion relevance in-process on fer-small (48x48, random He weights,
 * uniform random pixels): patch 8, stride 4 (11 x 11 = 121 occluded images
 * + the original per heatmap), max_batch 4096, predictor batch 256. Prints
 * occluded images/s (originals counted too) and heatmaps/s, and the
 * predictor alone on the same number of images, so the cost of assembling
 * the occluded batches shows as the difference. Median of 5 runs of 64
 * images (7,808 network images each) after a warm-up. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "relevance/occlusion.h"
#include "core/progress.h"
#include "core/rng.h"
#include "train/train.h"

enum { IMAGES = 64, RUNS = 5, PRED_BATCH = 256, SIDE = 48 };

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int make_model(rm_model *m)
{
    memset(m, 0, sizeof *m);
    RM_TRY(rm_netdef_find(&m->def, "fer-small"));
    rm_net net;
    RM_TRY(rm_net_create(&net, &m->def, 1, RM_MODE_INFER, 0));
    int rc = rm_net_init_params(&net, RM_INIT_HE, 1);
    if (rc == 0) rc = rm_model_capture(m, &net);
    rm_net_destroy(&net);
    char *names[7] = {"0", "1", "2", "3", "4", "5", "6"};
    if (rc == 0) rc = rm_model_set_classes(m, 7, names);
    m->channels = 1;
    m->norm_mean = calloc(1, sizeof(float));
    m->norm_std = malloc(sizeof(float));
    m->norm_mean[0] = 0.5f;
    m->norm_std[0] = 0.25f;
    return rc;
}

int main(void)
{
    rm_model m;
    rm_predictor *p = NULL;
    rm_occlusion *occ = NULL;
    rm_occlusion_config cfg;
    rm_occlusion_config_defaults(&cfg);   /* patch 8, stride 4, max_batch 4096 */
    uint8_t *img = malloc((size_t)IMAGES * SIDE * SIDE);
    float *heat = malloc(sizeof *heat * IMAGES * SIDE * SIDE), *probs = NULL;
    rm_rng rng;
    rm_rng_seed(&rng, 77, 0, 0);
    for (int i = 0; i < IMAGES * SIDE * SIDE; i++) img[i] = (uint8_t)rm_rng_range(&rng, 0, 256);
    int rc = make_model(&m);
    if (rc == 0) rc = rm_predictor_from_model(&p, &m, PRED_BATCH);
    if (rc == 0) rc = rm_occlusion_create(&occ, p, &cfg, 1, SIDE, SIDE);
    int per = rc == 0 ? rm_occlusion_patches(occ) + 1 : 0, total = IMAGES * per;
    double occ_s[RUNS], pred_s[RUNS];
    uint8_t *flat = NULL;
    if (rc == 0 && (!(flat = rm_malloc((size_t)total * SIDE * SIDE, "bench images")) ||
                    !(probs = rm_malloc(sizeof *probs * (size_t)total * 7, "bench probabilities"))))
        rc = -1;
    for (int i = 0; rc == 0 && i < total; i++)
        memcpy(flat + (size_t)i * SIDE * SIDE, img + (size_t)(i % IMAGES) * SIDE * SIDE, SIDE * SIDE);
    for (int r = -1; rc == 0 && r < RUNS; r++) {
        double t0 = rm_now();
        rc = rm_occlusion_explain(occ, img, IMAGES, NULL, heat, NULL, NULL, NULL);
        double t1 = rm_now();
        if (rc == 0) rc = rm_predictor_run(p, flat, total, probs);
        if (r >= 0) occ_s[r] = t1 - t0, pred_s[r] = rm_now() - t1;
    }
    if (rc == 0) {
        qsort(occ_s, RUNS, sizeof *occ_s, cmp);
        qsort(pred_s, RUNS, sizeof *pred_s, cmp);
        printf("{\"bench\":\"occlusion\",\"net\":\"fer-small\",\"patch\":%d,\"stride\":%d,\"images_per_heatmap\":%d,"
               "\"max_batch\":%d,\"predictor_batch\":%d,\"threads\":%d,\"occluded_images_per_s\":%.1f,"
               "\"heatmaps_per_s\":%.2f,\"predictor_only_images_per_s\":%.1f,\"stat\":\"median of %d\"}\n",
               cfg.patch, cfg.stride, per, cfg.max_batch, PRED_BATCH, omp_get_max_threads(),
               total / occ_s[RUNS / 2], IMAGES / occ_s[RUNS / 2], total / pred_s[RUNS / 2], RUNS);
    }
    rm_occlusion_destroy(occ);
    rm_predictor_destroy(p);
    rm_model_free(&m);
    free(img), free(heat), free(flat), free(probs);
    if (rc != 0) {
        fprintf(stderr, "bench_occlusion: %s\n", rm_error_message());
        return 1;
    }
    return 0;
}
