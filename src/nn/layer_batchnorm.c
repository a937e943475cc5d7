/* Batch normalization on oneDNN, in the previous layer's layout.
 *   src [B,C,H,W] (or [B,C]) -> dst same md; gamma, beta [C] learnable;
 *   running_mean, running_var [C] not learnable (PyTorch semantics).
 * Training: normalizes with the batch statistics (biased variance), keeps
 * them for the backward, and updates the running statistics with the
 * unbiased variance: r = (1-m) r + m s. Inference: uses the running ones.
 * Followed by a plain ReLU that nothing else reads (fused_relu), it applies
 * it too (dnnl_fuse_norm_relu): dst = max(bn(src), 0), with a workspace of
 * the mask that the backward applies; the ReLU layer then aliases both
 * directions (layer_relu.c). */
#include <stdlib.h>

#include "core/error.h"
#include "nn/net.h"

typedef struct {
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t fwd_scratch, bwd_scratch;
    dnnl_memory_t mean, var;          /* batch statistics (training) */
    dnnl_memory_t diff_src_unused;    /* layer 0 without input grads: oneDNN still writes one */
    dnnl_memory_t workspace;          /* training with a fused ReLU: its mask */
    unsigned flags;
    rm_param *gamma, *beta, *running_mean, *running_var;
    int channels;
    double count;                     /* values per channel in a batch: B*H*W */
} bn_impl;

static const unsigned BN_FLAGS = dnnl_use_scale | dnnl_use_shift;

static int build_backward(rm_layer *l, rm_net *net, bn_impl *b, const dnnl_memory_desc_t *stat_md)
{
    float eps = (float)l->def->eps;
    dnnl_batch_normalization_desc_t desc;
    RM_DNNL_TRY(dnnl_batch_normalization_backward_desc_init(&desc, dnnl_backward, &l->src_md, &l->src_md, eps,
                                                            b->flags));
    RM_TRY(rm_net_pd(net, &b->bwd_pd, &desc, b->fwd_pd));
    RM_TRY(rm_primitive(&b->bwd, b->bwd_pd));
    RM_TRY(rm_net_scratchpad(net, b->bwd_pd, &b->bwd_scratch));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, stat_md, &b->mean));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, stat_md, &b->var));
    if (rm_layer_wants_diff(l, net, 0)) {
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, &l->diff_src));
        l->owns_diff_src = 1;
    } else {
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, &b->diff_src_unused));
    }
    return 0;
}

static int bn_build(rm_layer *l, rm_net *net)
{
    bn_impl *b = rm_calloc(1, sizeof *b, "batchnorm layer");
    if (!b) return -1;
    l->impl = b;
    const dnnl_memory_desc_t *s = &l->src_md;
    if (s->ndims < 2) return rm_error("batchnorm needs an input with a channel dimension");
    b->channels = (int)s->dims[1];
    b->count = (double)s->dims[0];
    for (int i = 2; i < s->ndims; i++) b->count *= (double)s->dims[i];
    /* LRP: the engine folds a batchnorm into the convolution it reads; one
     * that reads anything else runs here as in inference. */
    int train = net->mode == RM_MODE_TRAIN;
    if (train && b->count < 2)
        return rm_error("batchnorm in training needs more than 1 value per channel (batch %lld x spatial size 1)",
                        (long long)s->dims[0]);

    b->flags = BN_FLAGS | (l->fused_relu ? (unsigned)dnnl_fuse_norm_relu : 0u);
    dnnl_batch_normalization_desc_t desc;
    RM_DNNL_TRY(dnnl_batch_normalization_forward_desc_init(
        &desc, train ? dnnl_forward_training : dnnl_forward_inference, &l->src_md, (float)l->def->eps,
        train ? b->flags : b->flags | dnnl_use_global_stats));
    RM_TRY(rm_net_pd(net, &b->fwd_pd, &desc, NULL));
    RM_TRY(rm_primitive(&b->fwd, b->fwd_pd));
    RM_TRY(rm_net_scratchpad(net, b->fwd_pd, &b->fwd_scratch));
    if (train && l->fused_relu) {
        dnnl_memory_desc_t ws = rm_pd_md(b->fwd_pd, dnnl_query_workspace_md, 0);
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &ws, &b->workspace));
    }
    l->dst_md = rm_pd_md(b->fwd_pd, dnnl_query_dst_md, 0);
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
    l->owns_dst = 1;

    dnnl_dims_t cdims = {b->channels};
    dnnl_memory_desc_t stat_md;
    RM_TRY(rm_md_init(&stat_md, 1, cdims, dnnl_x));
    RM_TRY(rm_layer_add_param(l, net, "gamma", 1, &stat_md, 1, cdims, dnnl_x));
    RM_TRY(rm_layer_add_param(l, net, "beta", 1, &stat_md, 1, cdims, dnnl_x));
    RM_TRY(rm_layer_add_param(l, net, "running_mean", 0, &stat_md, 1, cdims, dnnl_x));
    RM_TRY(rm_layer_add_param(l, net, "running_var", 0, &stat_md, 1, cdims, dnnl_x));
    b->gamma = &l->params[0];
    b->beta = &l->params[1];
    b->running_mean = &l->params[2];
    b->running_var = &l->params[3];
    if (train) RM_TRY(build_backward(l, net, b, &stat_md));
    return 0;
}

/* PyTorch's update: running = (1-m) running + m batch, variance unbiased. */
static void update_running(bn_impl *b, double momentum)
{
    const float *mean = rm_memory_ptr(b->mean), *var = rm_memory_ptr(b->var);
    float *rmean = rm_memory_ptr(b->running_mean->value), *rvar = rm_memory_ptr(b->running_var->value);
    double unbias = b->count / (b->count - 1);
    for (int c = 0; c < b->channels; c++) {
        rmean[c] = (float)((1 - momentum) * rmean[c] + momentum * mean[c]);
        rvar[c] = (float)((1 - momentum) * rvar[c] + momentum * var[c] * unbias);
    }
}

static int bn_forward(rm_layer *l, rm_net *net)
{
    bn_impl *b = l->impl;
    if (net->mode != RM_MODE_TRAIN)
        return rm_exec(&net->dnn, b->fwd, 7, DNNL_ARG_SRC, l->src, DNNL_ARG_MEAN, b->running_mean->value,
                       DNNL_ARG_VARIANCE, b->running_var->value, DNNL_ARG_SCALE, b->gamma->value, DNNL_ARG_SHIFT,
                       b->beta->value, DNNL_ARG_DST, l->dst, DNNL_ARG_SCRATCHPAD, b->fwd_scratch);
    RM_TRY(rm_exec(&net->dnn, b->fwd, 8, DNNL_ARG_SRC, l->src, DNNL_ARG_SCALE, b->gamma->value, DNNL_ARG_SHIFT,
                   b->beta->value, DNNL_ARG_DST, l->dst, DNNL_ARG_MEAN, b->mean, DNNL_ARG_VARIANCE, b->var,
                   DNNL_ARG_SCRATCHPAD, b->fwd_scratch, DNNL_ARG_WORKSPACE, b->workspace));
    RM_DNNL_TRY(dnnl_stream_wait(net->dnn.stream));   /* the statistics are read on the host */
    update_running(b, l->def->momentum);
    return 0;
}

static int bn_backward(rm_layer *l, rm_net *net)
{
    bn_impl *b = l->impl;
    /* Up to eleven arguments, more than rm_exec takes. oneDNN 2.6 counts
     * SHIFT among the backward's inputs (6) and rejects the call without it. */
    dnnl_exec_arg_t args[11];
    int n = 0;
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, l->src};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_MEAN, b->mean};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_VARIANCE, b->var};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, l->diff_dst};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, b->gamma->value};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, b->beta->value};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, l->diff_src ? l->diff_src : b->diff_src_unused};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SCALE, b->gamma->grad};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SHIFT, b->beta->grad};
    if (b->bwd_scratch) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, b->bwd_scratch};
    if (b->workspace) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, b->workspace};
    return RM_DNNL(dnnl_primitive_execute(b->bwd, net->dnn.stream, n, args));
}

static void bn_destroy(rm_layer *l)
{
    bn_impl *b = l->impl;
    if (!b) return;
    rm_primitive_destroy(&b->fwd);
    rm_primitive_destroy(&b->bwd);
    rm_pd_destroy(&b->fwd_pd);
    rm_pd_destroy(&b->bwd_pd);
    rm_memory_destroy(&b->mean);
    rm_memory_destroy(&b->var);
    rm_memory_destroy(&b->diff_src_unused);
    rm_memory_destroy(&b->workspace);
    free(b);
    l->impl = NULL;
}

const rm_layer_ops rm_batchnorm_ops = {bn_build, bn_forward, bn_backward, bn_destroy, NULL};
