/* The network eval, predict and in-process occlusion run: the model with its
 * batchnorm folded (model_fold.h). On mini-Xception this removes 9 batchnorm
 * passes and lets 2 convolutions carry their ReLU, the two being a third of
 * the forward time in oneDNN's verbose profile. */
#include <string.h>

#include "core/error.h"
#include "nn/model_fold.h"

int rm_infer_net_create(rm_infer_net *n, const rm_model *model, int batch)
{
    memset(n, 0, sizeof *n);
    int rc = rm_model_fold_batchnorm(model, &n->def, &n->params, NULL);
    if (rc == 0) rc = rm_net_create(&n->net, &n->def, batch, RM_MODE_INFER, 0);
    if (rc == 0) rc = rm_model_apply(&n->params, &n->net);
    if (rc != 0) rm_infer_net_destroy(n);
    return rc;
}

void rm_infer_net_destroy(rm_infer_net *n)
{
    rm_net_destroy(&n->net);
    rm_netdef_free(&n->def);
    rm_model_free(&n->params);
    memset(n, 0, sizeof *n);
}
