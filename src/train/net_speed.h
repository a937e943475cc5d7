/* How fast a network runs here: `relmask net --speed`. */
#ifndef RELMASK_TRAIN_NET_SPEED_H
#define RELMASK_TRAIN_NET_SPEED_H

#include "nn/net.h"
#include "nn/netdef.h"

/* Builds `d` for `batch` images in `mode` (RM_MODE_INFER: forward passes;
 * RM_MODE_TRAIN: forward, loss, backward and an SGD step) on fixed inputs,
 * and gives the best of 5 timed steps after one warm-up as images/s. */
int rm_net_speed(const rm_netdef *d, int batch, rm_mode mode, double *img_per_s);

#endif
