/* The network eval, predict and in-process occlusion run: the model with its
 * batchnorm folded (model_fold.h). On mini-Xception this removes 14
 * batchnorm passes and lets the convolutions before a ReLU carry it, the
 * two being a third of the forward time in oneDNN's verbose profile. Large
 * batches run in slices whose activations stay in cache. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/model_fold.h"

int rm_infer_net_create(rm_infer_net *n, const rm_model *model, int batch)
{
    memset(n, 0, sizeof *n);
    if (batch < 1) return rm_error("batch size %d, expected >= 1", batch);
    const rm_shape *s = &model->def.input;
    n->batch = batch;
    int rc = rm_model_fold_batchnorm(model, &n->def, &n->params, NULL);
    int slice = batch < RM_INFER_SLICE ? batch : RM_INFER_SLICE;
    if (rc == 0) rc = rm_net_create(&n->net, &n->def, slice, RM_MODE_INFER, 0);
    if (rc == 0) rc = rm_model_apply(&n->params, &n->net);
    if (rc == 0 && !(n->input = rm_calloc((size_t)batch * s->c * s->h * s->w, sizeof *n->input, "network input")))
        rc = -1;
    if (rc == 0 && !(n->logits = rm_calloc((size_t)batch * model->def.classes, sizeof *n->logits, "logits")))
        rc = -1;
    if (rc != 0) rm_infer_net_destroy(n);
    return rc;
}

int rm_infer_net_forward(rm_infer_net *n, int count)
{
    if (count < 0 || count > n->batch) return rm_error("forward of %d images on a network for %d", count, n->batch);
    return rm_net_forward_images(&n->net, n->input, count, n->logits);
}

void rm_infer_net_destroy(rm_infer_net *n)
{
    rm_net_destroy(&n->net);
    rm_netdef_free(&n->def);
    rm_model_free(&n->params);
    free(n->input);
    free(n->logits);
    memset(n, 0, sizeof *n);
}
