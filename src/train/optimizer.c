#include "train/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void rm_optim_config_defaults(rm_optim_config *cfg, rm_opt_kind kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->lr = kind == RM_OPT_ADAM ? 1e-3 : 0.01;
    cfg->momentum = 0.9;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->schedule = RM_LR_CONSTANT;
    cfg->step_every = 10;
    cfg->step_gamma = 0.1;
    cfg->epochs = 1;
}

int rm_optim_kind_parse(const char *s, rm_opt_kind *kind)
{
    if (!strcmp(s, "sgd")) *kind = RM_OPT_SGD;
    else if (!strcmp(s, "adam")) *kind = RM_OPT_ADAM;
    else return rm_error("unknown optimizer '%s' (expected sgd or adam)", s);
    return 0;
}

int rm_lr_schedule_parse(const char *s, rm_lr_schedule *sched)
{
    if (!strcmp(s, "constant")) *sched = RM_LR_CONSTANT;
    else if (!strcmp(s, "step")) *sched = RM_LR_STEP;
    else if (!strcmp(s, "cosine")) *sched = RM_LR_COSINE;
    else return rm_error("unknown schedule '%s' (expected constant, step or cosine)", s);
    return 0;
}

double rm_lr_at(const rm_optim_config *cfg, double epoch)
{
    if (cfg->warmup_epochs > 0 && epoch < cfg->warmup_epochs)
        return cfg->lr * (0.1 + 0.9 * epoch / cfg->warmup_epochs);
    switch (cfg->schedule) {
    case RM_LR_STEP: return cfg->lr * pow(cfg->step_gamma, floor(epoch / (cfg->step_every > 0 ? cfg->step_every : 1)));
    case RM_LR_COSINE: {
        double span = cfg->epochs - cfg->warmup_epochs;
        double t = span > 0 ? (epoch - cfg->warmup_epochs) / span : 1.0;
        if (t > 1) t = 1;
        return cfg->min_lr + 0.5 * (cfg->lr - cfg->min_lr) * (1 + cos(3.14159265358979323846 * t));
    }
    default: return cfg->lr;
    }
}

int rm_optimizer_create(rm_optimizer *o, rm_net *net, const rm_optim_config *cfg)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    if (net->mode != RM_MODE_TRAIN) return rm_error("optimizer needs a network built for training");
    int count = 0;
    size_t total = 0;
    for (int i = 0; i < net->num_layers; i++)
        for (int p = 0; p < net->layers[i].num_params; p++)
            if (net->layers[i].params[p].learnable) {
                count++;
                total += rm_memory_floats(net->layers[i].params[p].value);
            }
    int moments = cfg->kind == RM_OPT_ADAM ? 2 : 1;
    o->slots = rm_calloc((size_t)(count ? count : 1), sizeof *o->slots, "optimizer slots");
    o->state = rm_calloc(total * (size_t)moments + 1, sizeof *o->state, "optimizer state");
    if (!o->slots || !o->state) {
        rm_optimizer_destroy(o);
        return -1;
    }
    float *next = o->state;
    for (int i = 0; i < net->num_layers; i++)
        for (int p = 0; p < net->layers[i].num_params; p++) {
            rm_param *prm = &net->layers[i].params[p];
            if (!prm->learnable) continue;
            rm_opt_slot *s = &o->slots[o->num_slots++];
            s->w = rm_memory_ptr(prm->value);
            s->g = rm_memory_ptr(prm->grad);
            s->n = rm_memory_floats(prm->value);
            s->m = next;
            next += s->n;
            if (moments == 2) {
                s->v = next;
                next += s->n;
            }
        }
    return 0;
}

static void sgd_update(const rm_opt_slot *s, const rm_optim_config *c, float lr)
{
    const float mu = (float)c->momentum, wd = (float)c->weight_decay;
    const int nesterov = c->nesterov;
#pragma omp parallel for schedule(static) if (s->n > 65536)
    for (size_t i = 0; i < s->n; i++) {
        float g = s->g[i] + wd * s->w[i];
        float v = mu * s->m[i] + g;
        s->m[i] = v;
        s->w[i] -= lr * (nesterov ? g + mu * v : v);
    }
}

static void adam_update(const rm_opt_slot *s, const rm_optim_config *c, float lr, int64_t step)
{
    const float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps, wd = (float)c->weight_decay;
    const float c1 = (float)(1.0 - pow(c->beta1, (double)step)), c2 = (float)(1.0 - pow(c->beta2, (double)step));
    const float step_size = lr / c1, root_c2 = sqrtf(c2);
#pragma omp parallel for schedule(static) if (s->n > 65536)
    for (size_t i = 0; i < s->n; i++) {
        float g = s->g[i] + wd * s->w[i];
        float m = b1 * s->m[i] + (1 - b1) * g;
        float v = b2 * s->v[i] + (1 - b2) * g * g;
        s->m[i] = m;
        s->v[i] = v;
        s->w[i] -= step_size * m / (sqrtf(v) / root_c2 + eps);
    }
}

void rm_optimizer_step(rm_optimizer *o, double lr)
{
    o->step++;
    for (int k = 0; k < o->num_slots; k++) {
        if (o->cfg.kind == RM_OPT_ADAM) adam_update(&o->slots[k], &o->cfg, (float)lr, o->step);
        else sgd_update(&o->slots[k], &o->cfg, (float)lr);
    }
}

void rm_optimizer_destroy(rm_optimizer *o)
{
    free(o->slots);
    free(o->state);
    memset(o, 0, sizeof *o);
}
