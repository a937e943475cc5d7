/* Batch normalization folded into the convolution it reads, when nothing
 * else reads that convolution (LRP explains the equivalent affine layer):
 *   W'[o] = W[o] * g[o] / sqrt(v[o] + e),  b'[o] = (b[o] - m[o]) * g[o] / sqrt(v[o] + e) + beta[o]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/model_fold.h"

static const rm_model_tensor *tensor(const rm_model *m, const char *layer, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "%s/%s", layer, name);
    for (int i = 0; i < m->num_tensors; i++)
        if (!strcmp(m->tensors[i].key, key)) return &m->tensors[i];
    return NULL;
}

static int add_copy(rm_model *out, const char *layer, const char *name, int64_t count, const float *data)
{
    rm_model_tensor *t = rm_realloc(out->tensors, sizeof *t * (size_t)(out->num_tensors + 1), "folded tensors");
    if (!t) return -1;
    out->tensors = t;
    t = &out->tensors[out->num_tensors];
    snprintf(t->key, sizeof t->key, "%s/%s", layer, name);
    t->count = count;
    t->data = rm_malloc(sizeof(float) * (size_t)count, "folded tensor");
    if (!t->data) return -1;
    if (data) memcpy(t->data, data, sizeof(float) * (size_t)count);
    else memset(t->data, 0, sizeof(float) * (size_t)count);
    out->num_tensors++;
    return 0;
}

static int copy_layer_tensors(rm_model *out, const rm_model *m, const char *layer)
{
    static const char *const names[] = {"weight", "bias", "scale", "shift"};
    for (int k = 0; k < 4; k++) {
        const rm_model_tensor *t = tensor(m, layer, names[k]);
        if (t) RM_TRY(add_copy(out, layer, names[k], t->count, t->data));
    }
    return 0;
}

/* Rewrites the conv's weight/bias (already copied into out) with the BN. */
static int fold_one(rm_model *out, const rm_model *m, const rm_layer_def *conv, const rm_layer_def *bn)
{
    const rm_model_tensor *g = tensor(m, bn->name, "gamma"), *beta = tensor(m, bn->name, "beta"),
                          *mean = tensor(m, bn->name, "running_mean"), *var = tensor(m, bn->name, "running_var");
    if (!g || !beta || !mean || !var) return rm_error("%s: batchnorm parameters missing", bn->name);
    rm_model_tensor *w = NULL, *b = NULL;
    for (int i = 0; i < out->num_tensors; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s/weight", conv->name);
        if (!strcmp(out->tensors[i].key, key)) w = &out->tensors[i];
    }
    if (!w) return rm_error("%s: weights missing", conv->name);
    if (!conv->bias) RM_TRY(add_copy(out, conv->name, "bias", conv->filters, NULL));
    for (int i = 0; i < out->num_tensors; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s/bias", conv->name);
        if (!strcmp(out->tensors[i].key, key)) b = &out->tensors[i];
        snprintf(key, sizeof key, "%s/weight", conv->name);
        if (!strcmp(out->tensors[i].key, key)) w = &out->tensors[i];
    }
    int64_t per_filter = w->count / conv->filters;
    for (int o = 0; o < conv->filters; o++) {
        double scale = g->data[o] / sqrt((double)var->data[o] + bn->eps);
        for (int64_t k = 0; k < per_filter; k++) w->data[o * per_filter + k] = (float)(w->data[o * per_filter + k] * scale);
        b->data[o] = (float)(((double)b->data[o] - mean->data[o]) * scale + beta->data[o]);
    }
    return 0;
}

/* Whether batchnorm layer i of d folds: it reads a convolution that no
 * other layer reads. */
static int foldable(const rm_netdef *d, int i)
{
    int j = d->layers[i].inputs[0];
    return j >= 0 && d->layers[j].type == RM_LAYER_CONV && rm_netdef_consumers(d, j) == 1;
}

static int copy_bn_tensors(rm_model *out, const rm_model *m, const rm_layer_def *bn)
{
    static const char *const names[] = {"gamma", "beta", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        const rm_model_tensor *t = tensor(m, bn->name, names[k]);
        if (!t) return rm_error("%s: batchnorm parameter %s missing", bn->name, names[k]);
        RM_TRY(add_copy(out, bn->name, names[k], t->count, t->data));
    }
    return 0;
}

int rm_model_fold_batchnorm(const rm_model *m, rm_netdef *fd, rm_model *out, int *layer_map)
{
    memset(fd, 0, sizeof *fd);
    memset(out, 0, sizeof *out);
    const rm_netdef *d = &m->def;
    *fd = *d;
    fd->layers = rm_calloc((size_t)d->num_layers, sizeof *fd->layers, "folded layers");
    fd->text = rm_strdup(d->text);
    /* folded_of[i]: the folded layer holding original layer i (a folded
     * batchnorm: its convolution) */
    int *folded_of = rm_calloc((size_t)d->num_layers + 1, sizeof *folded_of, "layer map");
    if (!fd->layers || !fd->text || !folded_of) goto fail;
    fd->num_layers = 0;
    for (int i = 0; i < d->num_layers; i++) {
        const rm_layer_def *l = &d->layers[i];
        if (l->type == RM_LAYER_BATCHNORM && foldable(d, i)) {
            int c = folded_of[l->inputs[0]];
            rm_layer_def *conv = &fd->layers[c];
            if (fold_one(out, m, conv, l) != 0) goto fail;
            if (!conv->bias) conv->params += conv->filters;
            conv->bias = 1;
            folded_of[i] = c;
            continue;
        }
        /* A batchnorm that follows something else (an add, a ReLU, the
         * input) stays: the engine explains it as a per-channel affine
         * layer with the epsilon rule (lrp.c, bn_relevance). */
        if (layer_map) layer_map[fd->num_layers] = i;
        folded_of[i] = fd->num_layers;
        rm_layer_def *f = &fd->layers[fd->num_layers++];
        *f = *l;
        for (int k = 0; k < f->num_inputs; k++)
            if (f->inputs[k] != RM_INPUT_NETWORK) f->inputs[k] = folded_of[l->inputs[k]];
        if ((l->type == RM_LAYER_BATCHNORM ? copy_bn_tensors(out, m, l) : copy_layer_tensors(out, m, l->name)) != 0)
            goto fail;
    }
    free(folded_of);
    return 0;
fail:
    free(folded_of);
    rm_netdef_free(fd);
    for (int i = 0; i < out->num_tensors; i++) free(out->tensors[i].data);
    free(out->tensors);
    memset(out, 0, sizeof *out);
    return -1;
}
