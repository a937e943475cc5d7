/* Training and inference throughput of fer-small (the peers' reference
 * network) on random data, as the PyTorch peer measures it: training =
 * forward + softmax cross-entropy + backward + SGD momentum step, batch 64;
 * inference = forward of the batchnorm-folded model, batch 256. Median
 * of 7 timed blocks after one warm-up block. One JSON line per figure. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/model_fold.h"
#include "train/optimizer.h"
#include "core/progress.h"
#include "core/rng.h"
#include "train/train.h"

enum { BLOCKS = 7, TRAIN_ITERS = 10, INFER_ITERS = 4 };

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fill(rm_net *net, const rm_netdef *def, rm_rng *rng)
{
    size_t n = (size_t)net->batch * def->input.c * def->input.h * def->input.w;
    float *x = rm_net_input(net);
    for (size_t i = 0; i < n; i++) x[i] = (float)rm_rng_uniform(rng);
}

static double median_rate(double *secs, int images)
{
    qsort(secs, BLOCKS, sizeof *secs, cmp);
    return images / secs[BLOCKS / 2];
}

static int bench_train(const rm_netdef *def, const char *name)
{
    rm_net net;
    RM_TRY(rm_net_create(&net, def, 64, RM_MODE_TRAIN, 0));
    RM_TRY(rm_net_init_params(&net, RM_INIT_HE, 1));
    rm_optim_config cfg;
    rm_optim_config_defaults(&cfg, RM_OPT_SGD);
    rm_optimizer opt;
    RM_TRY(rm_optimizer_create(&opt, &net, &cfg));
    rm_rng rng;
    rm_rng_seed(&rng, 1234, 0, 0);
    int32_t labels[64];
    for (int i = 0; i < 64; i++) labels[i] = (int32_t)rm_rng_below(&rng, (uint64_t)def->classes);
    fill(&net, def, &rng);
    double secs[BLOCKS];
    for (int block = -1; block < BLOCKS; block++) {
        double t0 = rm_now();
        for (int it = 0; it < TRAIN_ITERS; it++) {
            double loss;
            RM_TRY(rm_net_forward(&net));
            RM_TRY(rm_net_loss_backward(&net, labels, 64, &loss));
            rm_optimizer_step(&opt, cfg.lr);
        }
        if (block >= 0) secs[block] = rm_now() - t0;
    }
    double rate = median_rate(secs, 64 * TRAIN_ITERS);
    double gflops = rate * 3.0 * (double)rm_netdef_flops(def) / 1e9;
    printf("{\"bench\":\"train\",\"net\":\"%s\",\"batch\":64,\"threads\":%d,\"img_per_s\":%.1f,"
           "\"gflop_s\":%.1f,\"flop_model\":\"3x forward\",\"stat\":\"median of %d\"}\n",
           name, omp_get_max_threads(), rate, gflops, BLOCKS);
    fflush(stdout);
    rm_optimizer_destroy(&opt);
    rm_net_destroy(&net);
    return 0;
}

/* Inference runs what eval and predict run: the model with its batchnorm
 * folded into the convolutions, batches of 256 in cache-sized slices
 * (nn/model_fold.h), from He-initialized weights. */
static int bench_infer(const rm_netdef *def, const char *name)
{
    rm_net init;
    RM_TRY(rm_net_create(&init, def, 1, RM_MODE_INFER, 0));
    rm_model model;
    memset(&model, 0, sizeof model);
    int rc = rm_net_init_params(&init, RM_INIT_HE, 1);
    if (rc == 0) rc = rm_model_capture(&model, &init);
    rm_net_destroy(&init);
    model.def = *def;   /* borrowed: not freed with the model */
    rm_infer_net infer;
    if (rc == 0) rc = rm_infer_net_create(&infer, &model, 256);
    memset(&model.def, 0, sizeof model.def);
    rm_model_free(&model);
    RM_TRY(rc);
    rm_rng rng;
    rm_rng_seed(&rng, 1234, 1, 0);
    size_t n = (size_t)infer.batch * def->input.c * def->input.h * def->input.w;
    for (size_t i = 0; i < n; i++) infer.input[i] = (float)rm_rng_uniform(&rng);
    double secs[BLOCKS];
    for (int block = -1; block < BLOCKS; block++) {
        double t0 = rm_now();
        for (int it = 0; it < INFER_ITERS; it++) RM_TRY(rm_infer_net_forward(&infer, infer.batch));
        if (block >= 0) secs[block] = rm_now() - t0;
    }
    double rate = median_rate(secs, 256 * INFER_ITERS);
    printf("{\"bench\":\"infer\",\"net\":\"%s\",\"batch\":256,\"threads\":%d,\"img_per_s\":%.1f,"
           "\"gflop_s\":%.1f,\"batchnorm\":\"folded\",\"stat\":\"median of %d\"}\n",
           name, omp_get_max_threads(), rate, rate * (double)rm_netdef_flops(def) / 1e9, BLOCKS);
    fflush(stdout);
    rm_infer_net_destroy(&infer);
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "fer-small";
    rm_netdef def;
    if (rm_netdef_find(&def, name) != 0 || bench_train(&def, name) != 0 || bench_infer(&def, name) != 0) {
        fprintf(stderr, "bench_train: %s\n", rm_error_message());
        return 1;
    }
    rm_netdef_free(&def);
    return 0;
}
