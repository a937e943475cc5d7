/* Timing a network's inference or training steps on made-up data, for
 * `relmask net --speed`. */
#include <stdlib.h>

#include "core/error.h"
#include "core/progress.h"
#include "train/net_speed.h"
#include "train/optimizer.h"
#include "train/train.h"

int rm_net_speed(const rm_netdef *d, int batch, rm_mode mode, double *img_per_s)
{
    rm_net net;
    RM_TRY(rm_net_create(&net, d, batch, mode, 0));
    int rc = rm_net_init_params(&net, RM_INIT_HE, 1);
    rm_optimizer opt = {0};
    rm_optim_config cfg;
    rm_optim_config_defaults(&cfg, RM_OPT_SGD);
    if (rc == 0 && mode == RM_MODE_TRAIN) rc = rm_optimizer_create(&opt, &net, &cfg);
    int32_t *labels = rm_calloc((size_t)batch, sizeof *labels, "labels");
    if (!labels) rc = -1;
    size_t n = (size_t)batch * d->input.c * d->input.h * d->input.w;
    for (size_t i = 0; i < n; i++) rm_net_input(&net)[i] = (float)(i % 251) / 251.0f;
    double best = 1e30;
    for (int rep = 0; rc == 0 && rep < 6; rep++) {
        double t0 = rm_now(), loss;
        rc = rm_net_forward(&net);
        if (rc == 0 && mode == RM_MODE_TRAIN) {
            rc = rm_net_loss_backward(&net, labels, batch, &loss);
            rm_optimizer_step(&opt, cfg.lr);
        }
        double t = rm_now() - t0;
        if (rep > 0 && t < best) best = t;   /* the first run includes JIT warm-up */
    }
    *img_per_s = batch / best;
    free(labels);
    rm_optimizer_destroy(&opt);
    rm_net_destroy(&net);
    return rc;
}
