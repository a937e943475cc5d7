/* Dense (inner product) on oneDNN. The input may be 4D in a blocked layout
 * (after convolutions): oneDNN then picks matching 4D weights, which are
 * the plain [O, C*H*W] matrix in C,H,W order (PyTorch's flatten order).
 *   src [B,C,H,W] or [B,I], weights [O,I], bias [O], dst [B,O]. */
#include <stdlib.h>

#include "core/error.h"
#include "nn/net.h"
#include "nn/linear.h"

typedef rm_linear dense_impl;

/* Weight dims follow the source rank: [O,C,H,W] for 4D sources, [O,I] for 2D. */
static void weight_dims(const rm_layer *l, dnnl_dims_t dims)
{
    const dnnl_memory_desc_t *s = &l->src_md;
    dims[0] = l->def->units;
    for (int i = 1; i < s->ndims; i++) dims[i] = s->dims[i];
}

static int build_forward(rm_layer *l, rm_net *net, dense_impl *d, dnnl_memory_desc_t *wmd, dnnl_memory_desc_t *bmd)
{
    dnnl_dims_t wdims, bdims = {l->def->units}, ddims = {net->batch, l->def->units};
    weight_dims(l, wdims);
    dnnl_memory_desc_t w_any, dst_any;
    RM_TRY(rm_md_init(&w_any, l->src_md.ndims, wdims, dnnl_format_tag_any));
    RM_TRY(rm_md_init(bmd, 1, bdims, dnnl_x));
    RM_TRY(rm_md_init(&dst_any, 2, ddims, dnnl_format_tag_any));
    dnnl_inner_product_desc_t desc;
    RM_DNNL_TRY(dnnl_inner_product_forward_desc_init(
        &desc, net->mode == RM_MODE_TRAIN ? dnnl_forward_training : dnnl_forward_inference, &l->src_md, &w_any,
        l->def->bias ? bmd : NULL, &dst_any));
    RM_TRY(rm_net_pd(net, &d->fwd_pd, &desc, NULL));
    dnnl_memory_desc_t chosen_src = rm_pd_md(d->fwd_pd, dnnl_query_src_md, 0);
    if (!rm_md_equal(&chosen_src, &l->src_md))
        return rm_error("oneDNN chose another input layout than the previous layer's output");
    l->dst_md = rm_pd_md(d->fwd_pd, dnnl_query_dst_md, 0);
    *wmd = rm_pd_md(d->fwd_pd, dnnl_query_weights_md, 0);
    RM_TRY(rm_primitive(&d->fwd, d->fwd_pd));
    return rm_net_scratchpad(net, d->fwd_pd, &d->fwd_scratch);
}

static int build_backward(rm_layer *l, rm_net *net, dense_impl *d, const dnnl_memory_desc_t *wmd,
                          const dnnl_memory_desc_t *bmd)
{
    dnnl_inner_product_desc_t desc;
    if (rm_layer_wants_diff(l, net, 0)) {
        RM_DNNL_TRY(dnnl_inner_product_backward_data_desc_init(&desc, &l->src_md, wmd, &l->dst_md));
        RM_TRY(rm_net_pd(net, &d->bwd_data_pd, &desc, d->fwd_pd));
        RM_TRY(rm_primitive(&d->bwd_data, d->bwd_data_pd));
        RM_TRY(rm_net_scratchpad(net, d->bwd_data_pd, &d->bwd_data_scratch));
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, &l->diff_src));
        l->owns_diff_src = 1;
    }
    dnnl_dims_t wdims;
    weight_dims(l, wdims);
    dnnl_memory_desc_t dw_any;
    RM_TRY(rm_md_init(&dw_any, l->src_md.ndims, wdims, dnnl_format_tag_any));
    RM_DNNL_TRY(dnnl_inner_product_backward_weights_desc_init(&desc, &l->src_md, &dw_any,
                                                              l->def->bias ? bmd : NULL, &l->dst_md));
    RM_TRY(rm_net_pd(net, &d->bwd_weights_pd, &desc, d->fwd_pd));
    RM_TRY(rm_primitive(&d->bwd_weights, d->bwd_weights_pd));
    RM_TRY(rm_net_scratchpad(net, d->bwd_weights_pd, &d->bwd_weights_scratch));
    return rm_linear_bind_diff_weights(d, net, wmd);
}

/* Relevance propagation: the inference forward and a backward-data that the
 * LRP engine runs with modified weights (see layer_conv.c). */
static int build_lrp(rm_layer *l, rm_net *net, dense_impl *d, const dnnl_memory_desc_t *wmd)
{
    dnnl_inner_product_desc_t desc;
    RM_DNNL_TRY(dnnl_inner_product_backward_data_desc_init(&desc, &l->src_md, wmd, &l->dst_md));
    RM_TRY(rm_net_pd(net, &d->bwd_data_pd, &desc, d->fwd_pd));
    RM_TRY(rm_primitive(&d->bwd_data, d->bwd_data_pd));
    RM_TRY(rm_net_scratchpad(net, d->bwd_data_pd, &d->bwd_data_scratch));
    l->lrp.fwd = d->fwd;
    l->lrp.bwd = d->bwd_data;
    l->lrp.fwd_scratch = d->fwd_scratch;
    l->lrp.bwd_scratch = d->bwd_data_scratch;
    l->lrp.weights_md = *wmd;
    l->lrp.bwd_weights_md = *wmd;
    l->lrp.bwd_diff_src_md = l->src_md;
    return 0;
}

static int dense_build(rm_layer *l, rm_net *net)
{
    dense_impl *d = rm_calloc(1, sizeof *d, "dense layer");
    if (!d) return -1;
    l->impl = d;
    dnnl_memory_desc_t wmd, bmd;
    RM_TRY(build_forward(l, net, d, &wmd, &bmd));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
    l->owns_dst = 1;
    int64_t in_features = (int64_t)l->def->in.c * l->def->in.h * l->def->in.w;
    dnnl_dims_t wplain = {l->def->units, in_features}, bplain = {l->def->units};
    RM_TRY(rm_layer_add_param(l, net, "weight", 1, &wmd, 2, wplain, dnnl_oi));
    d->weight = &l->params[0];
    if (l->def->bias) {
        RM_TRY(rm_layer_add_param(l, net, "bias", 1, &bmd, 1, bplain, dnnl_x));
        d->bias = &l->params[1];
    }
    if (net->mode == RM_MODE_TRAIN) RM_TRY(build_backward(l, net, d, &wmd, &bmd));
    if (net->mode == RM_MODE_LRP) RM_TRY(build_lrp(l, net, d, &wmd));
    return 0;
}

const rm_layer_ops rm_dense_ops = {dense_build, rm_linear_forward, rm_linear_backward, rm_linear_destroy, NULL};
