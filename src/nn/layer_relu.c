/* ReLU on oneDNN's eltwise primitive, in the previous layer's layout.
 *   src [B,C,H,W] -> dst [B,C,H,W]; backward uses src (dx = dy * (x > 0)).
 * Variants (netdef.h): leaky, slope = a: y = a x for x <= 0 (oneDNN's relu
 * with alpha = a); clipped, max = m: y = min(max(x, 0), m) (clip on [0, m]),
 * so relu6 is max = 6. Only the plain ReLU is fused.
 * After a convolution the ReLU runs as the convolution's post-op: this layer
 * then aliases its input (already rectified) and its backward reads the
 * output instead (dx = dy * (y > 0), the same mask). After a batchnorm
 * (training and inference) the batchnorm applies it forward and its mask
 * backward: this layer aliases both its output and its input gradient. */
#include <stdlib.h>

#include "core/error.h"
#include "nn/net.h"

typedef struct {
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    dnnl_primitive_t fwd, bwd;
} relu_impl;

static int after_batchnorm(const rm_layer *l, const rm_net *net)
{
    int j = l->def->inputs[0];
    return j >= 0 && net->layers[j].def->type == RM_LAYER_BATCHNORM;
}

static int build_fused(rm_layer *l, rm_net *net, relu_impl *r)
{
    l->dst_md = l->src_md;
    l->dst = l->src;
    if (!rm_layer_wants_diff(l, net, 0) || after_batchnorm(l, net)) return 0;
    /* The backward needs a forward hint describing the same operation. */
    dnnl_eltwise_desc_t desc;
    RM_DNNL_TRY(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd,
                                               &l->src_md, 0.f, 0.f));
    RM_TRY(rm_net_pd(net, &r->fwd_pd, &desc, NULL));
    RM_DNNL_TRY(dnnl_eltwise_backward_desc_init(&desc, dnnl_eltwise_relu_use_dst_for_bwd, &l->src_md, &l->src_md,
                                                0.f, 0.f));
    RM_TRY(rm_net_pd(net, &r->bwd_pd, &desc, r->fwd_pd));
    RM_TRY(rm_primitive(&r->bwd, r->bwd_pd));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, &l->diff_src));
    l->owns_diff_src = 1;
    return 0;
}

/* The eltwise algorithm and its alpha, beta for this layer's variant. */
static dnnl_alg_kind_t relu_alg(const rm_layer_def *d, float *alpha, float *beta)
{
    *alpha = (float)d->slope;
    *beta = (float)d->max;
    if (d->max > 0) {
        *alpha = 0.f;
        return dnnl_eltwise_clip;
    }
    return dnnl_eltwise_relu;
}

static int relu_build(rm_layer *l, rm_net *net)
{
    relu_impl *r = rm_calloc(1, sizeof *r, "relu layer");
    if (!r) return -1;
    l->impl = r;
    dnnl_eltwise_desc_t desc;
    if (l->fused_relu) return build_fused(l, net, r);
    float alpha, beta;
    dnnl_alg_kind_t alg = relu_alg(l->def, &alpha, &beta);
    RM_DNNL_TRY(dnnl_eltwise_forward_desc_init(
        &desc, net->mode == RM_MODE_TRAIN ? dnnl_forward_training : dnnl_forward_inference, alg, &l->src_md, alpha,
        beta));
    RM_TRY(rm_net_pd(net, &r->fwd_pd, &desc, NULL));
    RM_TRY(rm_primitive(&r->fwd, r->fwd_pd));
    l->dst_md = rm_pd_md(r->fwd_pd, dnnl_query_dst_md, 0);
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
    l->owns_dst = 1;
    if (!rm_layer_wants_diff(l, net, 0)) return 0;
    RM_DNNL_TRY(dnnl_eltwise_backward_desc_init(&desc, alg, &l->src_md, &l->src_md, alpha, beta));
    RM_TRY(rm_net_pd(net, &r->bwd_pd, &desc, r->fwd_pd));
    RM_TRY(rm_primitive(&r->bwd, r->bwd_pd));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, &l->diff_src));
    l->owns_diff_src = 1;
    return 0;
}

static int relu_forward(rm_layer *l, rm_net *net)
{
    relu_impl *r = l->impl;
    if (l->fused_relu) return 0;
    return rm_exec(&net->dnn, r->fwd, 2, DNNL_ARG_SRC, l->src, DNNL_ARG_DST, l->dst);
}

/* Fused after a batchnorm: the gradient passes to it unchanged, in place. */
static int relu_link(rm_layer *l, rm_net *net)
{
    if (l->fused_relu && after_batchnorm(l, net)) l->diff_src = l->diff_dst;
    return 0;
}

static int relu_backward(rm_layer *l, rm_net *net)
{
    relu_impl *r = l->impl;
    if (!l->diff_src || !r->bwd) return 0;
    if (l->fused_relu)
        return rm_exec(&net->dnn, r->bwd, 3, DNNL_ARG_DST, l->dst, DNNL_ARG_DIFF_DST, l->diff_dst, DNNL_ARG_DIFF_SRC,
                       l->diff_src);
    return rm_exec(&net->dnn, r->bwd, 3, DNNL_ARG_SRC, l->src, DNNL_ARG_DIFF_DST, l->diff_dst, DNNL_ARG_DIFF_SRC,
                   l->diff_src);
}

static void relu_destroy(rm_layer *l)
{
    relu_impl *r = l->impl;
    if (!r) return;
    rm_primitive_destroy(&r->fwd);
    rm_primitive_destroy(&r->bwd);
    rm_pd_destroy(&r->fwd_pd);
    rm_pd_destroy(&r->bwd_pd);
    free(r);
    l->impl = NULL;
}

const rm_layer_ops rm_relu_ops = {relu_build, relu_forward, relu_backward, relu_destroy, relu_link};
