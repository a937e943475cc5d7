/* The relevance stage's LRP method: the composite and rule overrides, the
 * normalized input of each block and the channel-summed heatmaps. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "relevance/relevance_internal.h"

/* "conv1=flat\nconv2=zplus\n..." for the parameters attribute. */
static int describe_rules(const rm_lrp_config *cfg, const rm_netdef *def, char *buf, size_t size)
{
    size_t at = 0;
    for (int i = 0; i < cfg->num_rules && i < def->num_layers; i++) {
        const rm_rule *r = &cfg->rules[i];
        if (r->kind == RM_RULE_PASS) continue;
        int w;
        if (r->kind == RM_RULE_ALPHABETA)
            w = snprintf(buf + at, size - at, "rule.%s=alpha%g-beta%g\n", def->layers[i].name, r->alpha, r->beta);
        else if (r->kind == RM_RULE_EPSILON)
            w = snprintf(buf + at, size - at, "rule.%s=epsilon(%g)\n", def->layers[i].name, r->eps);
        else if (r->kind == RM_RULE_GAMMA)
            w = snprintf(buf + at, size - at, "rule.%s=gamma(%g)\n", def->layers[i].name, r->gamma);
        else
            w = snprintf(buf + at, size - at, "rule.%s=%s\n", def->layers[i].name, rm_rule_names[r->kind]);
        if (w < 0 || (size_t)w >= size - at) return rm_error("rule description too long");
        at += (size_t)w;
    }
    return 0;
}

int relevance_lrp_prepare(relevance_job *j)
{
    const rm_relevance_config *c = j->cfg;
    RM_TRY(rm_lrp_composite(&j->lrp_cfg, &j->model.def, c->composite, c->rules, c->num_rules, c->eps, c->gamma));
    j->lrp_cfg.ignore_bias = c->ignore_bias;
    char rules[4096];
    RM_TRY(describe_rules(&j->lrp_cfg, &j->model.def, rules, sizeof rules));
    int w = snprintf(j->params, sizeof j->params,
                     "method=lrp\ncomposite=%s\neps=%g\ngamma=%g\nignore_bias=%d\ntarget=%s\nsplit=%s\nstart=%lld\n"
                     "count=%lld\nchannels=%d\nmodel=%s\nmodel_fingerprint=%s\ndata=%s\ndata_fingerprint=%s\n%s",
                     c->composite, c->eps, c->gamma, c->ignore_bias, c->target ? c->target : "pred",
                     rm_split_label(c->split), c->start, (long long)j->n, c->channels, c->model_path, j->model_fp,
                     c->data_path, j->data_fp, rules);
    if (w < 0 || (size_t)w >= sizeof j->params) return rm_error("parameter description too long");
    RM_TRY(rm_pixel_norm_init(&j->norm, j->in_c, j->model.norm_mean, j->model.norm_std));
    return rm_lrp_create(&j->lrp, &j->model, c->batch, &j->lrp_cfg);
}

/* --resize: the block's images onto the model's grid, and after the run
 * its relevance back onto the data's with the conversion's adjoint (the
 * resizer's scratch is its own: one image at a time). */
static void to_model_grid(relevance_job *j, int64_t n)
{
    const size_t from = (size_t)j->ds.channels * j->ds.height * j->ds.width;
    const size_t to = (size_t)j->in_c * j->in_h * j->in_w;
    for (int64_t i = 0; i < n; i++)
        rm_image_resizer_apply(j->resizer, j->images + (size_t)i * from, j->in_images + (size_t)i * to);
}

static void to_data_grid(relevance_job *j, int64_t n)
{
    const size_t from = (size_t)j->in_c * j->in_h * j->in_w;
    const size_t to = (size_t)j->ds.channels * j->ds.height * j->ds.width;
    for (int64_t i = 0; i < n; i++)
        rm_image_resizer_adjoint(j->resizer, j->in_chan + (size_t)i * from, j->chan + (size_t)i * to);
}

int relevance_lrp_block(relevance_job *j, int64_t n)
{
    const int batch = j->cfg->batch, c = j->ds.channels;
    const size_t hw = (size_t)j->ds.height * (size_t)j->ds.width, chw = hw * (size_t)c;
    const size_t in_hw = (size_t)j->in_h * (size_t)j->in_w, in_chw = in_hw * (size_t)j->in_c;
    for (int64_t i = n; i < batch; i++) j->targets[i] = -1;
    const uint8_t *images = j->images;
    if (j->resizer) {
        to_model_grid(j, n);
        images = j->in_images;
    }
    /* the normalized block; unused rows zero */
    float *in = rm_lrp_input(j->lrp);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        rm_pixel_norm_image_affine(&j->norm, images + (size_t)i * in_chw, in + (size_t)i * in_chw, in_hw);
    memset(in + (size_t)n * in_chw, 0, sizeof *in * in_chw * (size_t)(batch - n));
    RM_TRY(rm_lrp_run_seeded(j->lrp, &j->seed, j->targets, j->resizer ? j->in_chan : j->chan, j->explained,
                             j->score, j->predicted));
    if (j->resizer) to_data_grid(j, n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *h = j->heat + (size_t)i * hw;
        const float *r = j->chan + (size_t)i * chw;
        memcpy(h, r, sizeof *h * hw);
        for (int k = 1; k < c; k++)
            for (size_t p = 0; p < hw; p++) h[p] += r[(size_t)k * hw + p];
    }
    return 0;
}
