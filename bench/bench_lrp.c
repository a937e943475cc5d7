/* LRP heatmaps/s for a network (argv[1], default fer-small; also a graph
 * such as fer-mini-xception), batch 64, as the PyTorch peer measures them:
 * epsilon (1e-2) on every layer, the composite z-box first convolution /
 * z+ other convolutions / epsilon dense, and epsilon-plus-flat (the
 * default: flat first convolution, z+ others, epsilon dense and pooling).
 * Random He-initialized weights and uniform [0,1) inputs; median of 7
 * blocks of 4 batches after a warm-up. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "relevance/lrp.h"
#include "core/progress.h"
#include "core/rng.h"
#include "train/train.h"

enum { BATCH = 64, BLOCKS = 7, ITERS = 4 };

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int make_model(rm_model *m, const char *net_name)
{
    memset(m, 0, sizeof *m);
    RM_TRY(rm_netdef_find(&m->def, net_name));
    rm_net net;
    RM_TRY(rm_net_create(&net, &m->def, 1, RM_MODE_INFER, 0));
    int rc = rm_net_init_params(&net, RM_INIT_HE, 1);
    if (rc == 0) rc = rm_model_capture(m, &net);
    rm_net_destroy(&net);
    char *names[7] = {"0", "1", "2", "3", "4", "5", "6"};
    if (rc == 0 && m->def.classes != 7) rc = rm_error("bench_lrp: %s has %d classes, not 7", net_name, m->def.classes);
    if (rc == 0) rc = rm_model_set_classes(m, 7, names);
    m->channels = 1;
    m->norm_mean = calloc(1, sizeof(float));
    m->norm_std = malloc(sizeof(float));
    m->norm_std[0] = 1;
    return rc;
}

static int bench(const rm_model *m, const char *name, const char *composite, const char *const *ov, int nov)
{
    rm_lrp_config cfg;
    RM_TRY(rm_lrp_composite(&cfg, &m->def, composite, ov, nov, 1e-2, 0.25));
    rm_lrp *e;
    RM_TRY(rm_lrp_create(&e, m, BATCH, &cfg));
    rm_rng rng;
    rm_rng_seed(&rng, 1234, 0, 0);
    float *x = rm_lrp_input(e);
    int64_t n = (int64_t)BATCH * m->def.input.c * m->def.input.h * m->def.input.w;
    for (int64_t i = 0; i < n; i++) x[i] = (float)rm_rng_uniform(&rng);
    float *rel = malloc(sizeof *rel * (size_t)n);
    double secs[BLOCKS];
    int rc = 0;
    for (int block = -1; rc == 0 && block < BLOCKS; block++) {
        double t0 = rm_now();
        for (int it = 0; rc == 0 && it < ITERS; it++) rc = rm_lrp_run(e, NULL, rel, NULL, NULL, NULL);
        if (block >= 0) secs[block] = rm_now() - t0;
    }
    if (rc == 0) {
        qsort(secs, BLOCKS, sizeof *secs, cmp);
        printf("{\"bench\":\"lrp_%s\",\"net\":\"%s\",\"batch\":%d,\"threads\":%d,\"heatmaps_per_s\":%.1f,"
               "\"stat\":\"median of %d\"}\n",
               name, m->def.name, BATCH, omp_get_max_threads(), BATCH * ITERS / secs[BLOCKS / 2], BLOCKS);
        fflush(stdout);
    }
    free(rel);
    rm_lrp_destroy(e);
    rm_lrp_config_free(&cfg);
    return rc;
}

/* bench_lrp [NET [ONLY]]: ONLY (epsilon, composite or epsilon-plus-flat)
 * runs one figure, for profiling it alone. */
int main(int argc, char **argv)
{
    rm_model m;
    const char *const box_first[] = {"conv1=zbox"};
    const char *only = argc > 2 ? argv[2] : NULL;
    int rc = make_model(&m, argc > 1 ? argv[1] : "fer-small");
    if (rc == 0 && (!only || !strcmp(only, "epsilon"))) rc = bench(&m, "epsilon", "epsilon", NULL, 0);
    if (rc == 0 && (!only || !strcmp(only, "composite"))) rc = bench(&m, "composite", "epsilon-plus", box_first, 1);
    if (rc == 0 && (!only || !strcmp(only, "epsilon-plus-flat")))
        rc = bench(&m, "epsilon-plus-flat", "epsilon-plus-flat", NULL, 0);
    if (rc != 0) {
        fprintf(stderr, "bench_lrp: %s\n", rm_error_message());
        return 1;
    }
    rm_model_free(&m);
    return 0;
}
