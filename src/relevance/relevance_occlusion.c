/* The relevance stage's occlusion method: the model in-process or an
 * external command; the fill is a pixel value or the train split's mean
 * pixel per channel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "relevance/relevance_internal.h"
#include "train/loader.h"

int relevance_occlusion_prepare(relevance_job *j)
{
    const rm_relevance_config *c = j->cfg;
    rm_occlusion_config oc;
    rm_occlusion_config_defaults(&oc);
    if (c->patch) oc.patch = c->patch;
    if (c->stride) oc.stride = c->stride;
    if (oc.stride > oc.patch)
        return rm_error("--stride %d is larger than the patch (%d): pixels would be skipped", oc.stride, oc.patch);
    char baseline[64];
    if (!c->baseline || !strcmp(c->baseline, "mean")) {
        float mean[RM_DATASET_MAX_CHANNELS], std[RM_DATASET_MAX_CHANNELS];
        int split = RM_SPLIT_TRAIN;
        size_t train = 0;
        for (size_t i = 0; i < j->ds.count; i++) train += j->ds.split[i] == RM_SPLIT_TRAIN;
        if (!train) split = -1;
        RM_TRY(rm_dataset_channel_stats(&j->ds, split, mean, std));
        for (int k = 0; k < j->ds.channels; k++) j->baseline_mean[k] = 255.0f * mean[k];
        oc.baseline_mean = j->baseline_mean;
        snprintf(baseline, sizeof baseline, "mean(%s)", split < 0 ? "all" : "train");
    } else {
        char *end;
        double v = strtod(c->baseline, &end);
        if (*end || end == c->baseline || !(v >= 0 && v <= 255))
            return rm_error("--baseline '%s': expected a pixel value 0..255 or 'mean'", c->baseline);
        oc.baseline = v;
        snprintf(baseline, sizeof baseline, "%g", v);
    }
    if (c->predict_cmd)
        RM_TRY(rm_predictor_from_command(&j->pred, c->predict_cmd, j->ds.channels, j->ds.height, j->ds.width,
                                         j->ds.num_classes));
    else
        RM_TRY(rm_predictor_from_model(&j->pred, &j->model, 256));
    if (j->resizer) {   /* occlusion stays on the data's grid: the predictor converts what it is given */
        rm_predictor *model = j->pred;
        j->pred = NULL;
        RM_TRY(rm_predictor_resized(&j->pred, model, j->ds.channels, j->ds.height, j->ds.width, 256));
    }
    RM_TRY(rm_occlusion_create(&j->occ, j->pred, &oc, j->ds.channels, j->ds.height, j->ds.width));
    int w = snprintf(j->params, sizeof j->params,
                     "method=occlusion\npatch=%d\nstride=%d\nbaseline=%s\ntarget=%s\nsplit=%s\nstart=%lld\n"
                     "count=%lld\nmodel=%s\nmodel_fingerprint=%s\npredict_cmd=%s\ndata=%s\ndata_fingerprint=%s\n",
                     oc.patch, oc.stride, baseline, c->target ? c->target : "pred", rm_split_label(c->split),
                     c->start, (long long)j->n, c->model_path ? c->model_path : "", j->model_fp,
                     c->predict_cmd ? c->predict_cmd : "", c->data_path, j->data_fp);
    if (w < 0 || (size_t)w >= sizeof j->params) return rm_error("parameter description too long");
    return 0;
}

int relevance_occlusion_block(relevance_job *j, int64_t n)
{
    return rm_occlusion_explain(j->occ, j->images, (int)n, j->targets, j->heat, j->explained, j->score,
                                j->predicted);
}
