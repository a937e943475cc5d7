/* Seeded parameter initialization; every tensor draws from its own stream
 * (seed, layer index, parameter index), so results do not depend on order
 * or thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "train/train.h"

#define LOGIT_INIT_SCALE 0.1

static double fan_in(const rm_layer_def *d)
{
    if (d->type == RM_LAYER_CONV) return (double)(d->in.c / d->groups) * d->size * d->size;
    return (double)d->in.c * d->in.h * d->in.w;
}

static double fan_out(const rm_layer_def *d)
{
    if (d->type == RM_LAYER_CONV) return (double)d->filters * d->size * d->size;
    return d->units;
}

static double constant_for(const char *name)
{
    return !strcmp(name, "gamma") || !strcmp(name, "running_var") || !strcmp(name, "scale") ? 1.0 : 0.0;
}

/* The index of the layer whose weights produce the logits: the last one
 * with weights. */
static int logits_layer(const rm_net *net)
{
    for (int i = net->num_layers - 1; i >= 0; i--)
        if (net->layers[i].def->type == RM_LAYER_DENSE || net->layers[i].def->type == RM_LAYER_CONV) return i;
    return -1;
}

int rm_net_init_params(rm_net *net, rm_init_kind kind, uint64_t seed)
{
    int last = logits_layer(net);
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
                /* The logits start small, so the untrained loss is about
                 * ln K: PyTorch's default Linear bound, 1/sqrt(fan_in),
                 * times LOGIT_INIT_SCALE. He-sized logits gave fer-small an
                 * initial loss of 3.5-7.5 (ln 7 = 1.95). */
                if (i == last) bound = LOGIT_INIT_SCALE / sqrt(fan_in(l->def));
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

/* "[16,8,3,3]" */
static void dims_text(char *out, size_t size, int ndims, const int64_t *dims)
{
    size_t k = (size_t)snprintf(out, size, "[");
    for (int d = 0; d < ndims && k < size; d++) k += (size_t)snprintf(out + k, size - k, "%s%lld", d ? "," : "", (long long)dims[d]);
    if (k < size) snprintf(out + k, size - k, "]");
}

/* The plain shape of parameter `name` of layer `d` in a definition. */
static int def_param_dims(const rm_layer_def *d, const char *name, int64_t *dims)
{
    if (!strcmp(name, "weight") && d->type == RM_LAYER_CONV) {
        dims[0] = d->filters, dims[1] = d->in.c / d->groups, dims[2] = dims[3] = d->size;
        return 4;
    }
    if (!strcmp(name, "weight") && d->type == RM_LAYER_DENSE) {
        dims[0] = d->units, dims[1] = (int64_t)d->in.c * d->in.h * d->in.w;
        return 2;
    }
    dims[0] = d->type == RM_LAYER_CONV ? d->filters : d->type == RM_LAYER_DENSE ? d->units : d->in.c;
    return 1;
}

static const rm_layer_def *find_layer(const rm_netdef *def, const char *name)
{
    for (int i = 0; i < def->num_layers; i++)
        if (!strcmp(def->layers[i].name, name)) return &def->layers[i];
    return NULL;
}

static int last_dense(const rm_netdef *def)
{
    for (int i = def->num_layers - 1; i >= 0; i--)
        if (def->layers[i].type == RM_LAYER_DENSE) return i;
    return -1;
}

int rm_net_init_from_model(rm_net *net, const rm_model *src, const char *src_path, int *kept_last)
{
    const char *net_name = net->def->name;
    *kept_last = 0;
    int skip = -1;
    if (src->num_classes != net->def->classes) {
        skip = last_dense(net->def);
        int src_last = last_dense(&src->def);
        if (skip < 0 || src_last < 0 || strcmp(net->def->layers[skip].name, src->def.layers[src_last].name) != 0)
            return rm_error("%s cannot initialize network %s: %d classes in %s but %d in the network, and the "
                            "networks do not both end in the same dense layer", src_path, net_name,
                            src->num_classes, src_path, net->def->classes);
        *kept_last = 1;
    }
    int used = 0;
    for (int i = 0; i < net->num_layers; i++) {
        rm_layer *l = &net->layers[i];
        int skipped = skip >= 0 && !strcmp(l->def->name, net->def->layers[skip].name);
        for (int p = 0; p < l->num_params; p++) {
            rm_param *prm = &l->params[p];
            char key[64];
            snprintf(key, sizeof key, "%s/%s", l->def->name, prm->name);
            const rm_model_tensor *t = NULL;
            for (int k = 0; k < src->num_tensors && !t; k++)
                if (!strcmp(src->tensors[k].key, key)) t = &src->tensors[k];
            if (skipped) {
                used += t != NULL;
                continue;
            }
            char want[96], have[96];
            int64_t dims[4];
            dims_text(want, sizeof want, def_param_dims(l->def, prm->name, dims), dims);
            if (!t)
                return rm_error("%s cannot initialize network %s: it has no parameter %s %s (the model holds "
                                "network %s)", src_path, net_name, key, want, src->def.name);
            const rm_layer_def *sd = find_layer(&src->def, l->def->name);
            if (sd) {
                dims_text(have, sizeof have, def_param_dims(sd, prm->name, dims), dims);
            } else {
                dims[0] = t->count;
                dims_text(have, sizeof have, 1, dims);
            }
            if (t->count != rm_param_plain_count(prm) || !sd || sd->type != l->def->type || strcmp(want, have) != 0)
                return rm_error("%s cannot initialize network %s: %s is %s in the network but %s in %s", src_path,
                                net_name, key, want, have, src_path);
            RM_TRY(rm_net_param_write(net, prm, t->data));
            used++;
        }
    }
    if (used != src->num_tensors) {
        for (int k = 0; k < src->num_tensors; k++) {
            char layer[64];
            snprintf(layer, sizeof layer, "%s", src->tensors[k].key);
            char *slash = strchr(layer, '/');
            if (slash) *slash = 0;
            if (!find_layer(net->def, layer) || !rm_net_param(net, layer, slash ? slash + 1 : ""))
                return rm_error("%s cannot initialize network %s: %s has parameter %s, which the network lacks",
                                src_path, net_name, src_path, src->tensors[k].key);
        }
    }
    return 0;
}
