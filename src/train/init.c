/* Seeded parameter initialization; every tensor draws from its own stream
 * (seed, layer index, parameter index), so results do not depend on order
 * or thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "relmask/error.h"
#include "relmask/rng.h"
#include "relmask/train.h"

static double fan_in(const rm_layer_def *d)
{
    if (d->type == RM_LAYER_CONV) return (double)d->in.c * d->size * d->size;
    return (double)d->in.c * d->in.h * d->in.w;
}

static double fan_out(const rm_layer_def *d)
{
    if (d->type == RM_LAYER_CONV) return (double)d->filters * d->size * d->size;
    return d->units;
}

static double constant_for(const char *name)
{
    return !strcmp(name, "gamma") || !strcmp(name, "running_var") ? 1.0 : 0.0;
}

int rm_net_init_params(rm_net *net, rm_init_kind kind, uint64_t seed)
{
    for (int i = 0; i < net->num_layers; i++) {
        rm_layer *l = &net->layers[i];
        for (int p = 0; p < l->num_params; p++) {
            rm_param *prm = &l->params[p];
            int64_t n = rm_param_plain_count(prm);
            float *v = rm_malloc(sizeof *v * (size_t)n, "initial parameters");
            if (!v) return -1;
            if (!strcmp(prm->name, "weight")) {
                double bound = kind == RM_INIT_GLOROT ? sqrt(6.0 / (fan_in(l->def) + fan_out(l->def)))
                                                      : sqrt(6.0 / fan_in(l->def));
                rm_rng rng;
                rm_rng_seed(&rng, seed, 0x494e4954ULL, (uint64_t)i * 16 + (uint64_t)p);
                for (int64_t k = 0; k < n; k++) v[k] = (float)rm_rng_range(&rng, -bound, bound);
            } else {
                float c = (float)constant_for(prm->name);
                for (int64_t k = 0; k < n; k++) v[k] = c;
            }
            int rc = rm_net_param_write(net, prm, v);
            free(v);
            RM_TRY(rc);
        }
    }
    return 0;
}
