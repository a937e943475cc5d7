/* Pooling on oneDNN (pooling_v2, no dilation), in the previous layer's
 * layout (dst format_tag_any: oneDNN keeps the src layout).
 *   [maxpool]       src [B,C,H,W] -> dst [B,C,OH,OW],
 *                   OH = (H + top + bottom - size) / stride + 1, OW likewise
 *                   with left and right; padding cells never win
 *   [avgpool]       likewise; the divisor is size*size with padding cells
 *                   counting as zeros (count_pad = 1: dnnl_pooling_avg_
 *                   include_padding, PyTorch's default count_include_pad=True),
 *                   or the window's real cells (count_pad = 0:
 *                   dnnl_pooling_avg_exclude_padding, TensorFlow's 'SAME')
 *   [globalavgpool] src [B,C,H,W] -> dst [B,C,1,1]: an average pool with
 *                   kernel H x W, stride 1, pad 0
 * padding_l = (top, left), padding_r = (bottom, right); the netdef requires
 * every pad < size, so no window lies wholly in the padding.
 * Training: max pooling's forward writes a workspace (the winners) that the
 * backward reads, so the gradient goes to the forward's winners and cells
 * that win several overlapping windows accumulate. The workspace is kept in
 * the layer (LRP's winner-takes-all uses the same backward). */
#include <stdlib.h>

#include "core/error.h"
#include "nn/net.h"

typedef struct {
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t fwd_scratch, bwd_scratch;   /* the net's; not owned */
    dnnl_memory_t workspace;                  /* max pooling in training; NULL otherwise */
} pool_impl;

typedef struct {
    dnnl_alg_kind_t alg;
    dnnl_dims_t kernel, strides, dilation, pad_l, pad_r;
} pool_geometry;

static void geometry(const rm_layer *l, pool_geometry *g)
{
    const rm_layer_def *d = l->def;
    int global = d->type == RM_LAYER_GLOBALAVGPOOL;
    g->alg = d->type == RM_LAYER_MAXPOOL                        ? dnnl_pooling_max
             : d->type == RM_LAYER_AVGPOOL && d->count_pad == 0 ? dnnl_pooling_avg_exclude_padding
                                                                : dnnl_pooling_avg_include_padding;
    g->kernel[0] = global ? d->in.h : d->size;
    g->kernel[1] = global ? d->in.w : d->size;
    g->strides[0] = g->strides[1] = global ? 1 : d->stride;
    g->dilation[0] = g->dilation[1] = 0;
    for (int i = 0; i < 2; i++) {
        g->pad_l[i] = global ? 0 : d->pads[i];
        g->pad_r[i] = global ? 0 : d->pads[i + 2];
    }
}

static int build_forward(rm_layer *l, rm_net *net, pool_impl *p, const pool_geometry *g)
{
    const rm_layer_def *d = l->def;
    dnnl_dims_t ddims = {net->batch, d->out.c, d->out.h, d->out.w};
    dnnl_memory_desc_t dst_any;
    RM_TRY(rm_md_init(&dst_any, 4, ddims, dnnl_format_tag_any));
    /* LRP routes relevance through the backward, which needs the workspace. */
    int train = net->mode == RM_MODE_TRAIN || net->mode == RM_MODE_LRP;
    dnnl_pooling_v2_desc_t desc;
    RM_DNNL_TRY(dnnl_pooling_v2_forward_desc_init(&desc, train ? dnnl_forward_training : dnnl_forward_inference,
                                                  g->alg, &l->src_md, &dst_any, g->strides, g->kernel,
                                                  g->dilation, g->pad_l, g->pad_r));
    RM_TRY(rm_net_pd(net, &p->fwd_pd, &desc, NULL));
    RM_TRY(rm_primitive(&p->fwd, p->fwd_pd));
    RM_TRY(rm_net_scratchpad(net, p->fwd_pd, &p->fwd_scratch));
    l->dst_md = rm_pd_md(p->fwd_pd, dnnl_query_dst_md, 0);
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
    l->owns_dst = 1;
    dnnl_memory_desc_t ws = rm_pd_md(p->fwd_pd, dnnl_query_workspace_md, 0);
    if (train && dnnl_memory_desc_get_size(&ws) > 0)
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &ws, &p->workspace));
    return 0;
}

static int build_backward(rm_layer *l, rm_net *net, pool_impl *p, const pool_geometry *g)
{
    dnnl_pooling_v2_desc_t desc;
    RM_DNNL_TRY(dnnl_pooling_v2_backward_desc_init(&desc, g->alg, &l->src_md, &l->dst_md, g->strides, g->kernel,
                                                   g->dilation, g->pad_l, g->pad_r));
    RM_TRY(rm_net_pd(net, &p->bwd_pd, &desc, p->fwd_pd));
    RM_TRY(rm_primitive(&p->bwd, p->bwd_pd));
    RM_TRY(rm_net_scratchpad(net, p->bwd_pd, &p->bwd_scratch));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, &l->diff_src));
    l->owns_diff_src = 1;
    return 0;
}

static int build_lrp(rm_layer *l, rm_net *net, pool_impl *p, const pool_geometry *g)
{
    dnnl_pooling_v2_desc_t desc;
    RM_DNNL_TRY(dnnl_pooling_v2_backward_desc_init(&desc, g->alg, &l->src_md, &l->dst_md, g->strides, g->kernel,
                                                   g->dilation, g->pad_l, g->pad_r));
    RM_TRY(rm_net_pd(net, &p->bwd_pd, &desc, p->fwd_pd));
    RM_TRY(rm_primitive(&p->bwd, p->bwd_pd));
    RM_TRY(rm_net_scratchpad(net, p->bwd_pd, &p->bwd_scratch));
    l->lrp.fwd = p->fwd;
    l->lrp.bwd = p->bwd;
    l->lrp.fwd_scratch = p->fwd_scratch;
    l->lrp.bwd_scratch = p->bwd_scratch;
    l->lrp.workspace = p->workspace;
    return 0;
}

static int pool_build(rm_layer *l, rm_net *net)
{
    pool_impl *p = rm_calloc(1, sizeof *p, "pooling layer");
    if (!p) return -1;
    l->impl = p;
    pool_geometry g;
    geometry(l, &g);
    RM_TRY(build_forward(l, net, p, &g));
    if (net->mode == RM_MODE_LRP) return build_lrp(l, net, p, &g);
    if (!rm_layer_wants_diff(l, net, 0)) return 0;
    return build_backward(l, net, p, &g);
}

static int pool_forward(rm_layer *l, rm_net *net)
{
    pool_impl *p = l->impl;
    return rm_exec(&net->dnn, p->fwd, 4, DNNL_ARG_SRC, l->src, DNNL_ARG_DST, l->dst, DNNL_ARG_WORKSPACE,
                   p->workspace, DNNL_ARG_SCRATCHPAD, p->fwd_scratch);
}

static int pool_backward(rm_layer *l, rm_net *net)
{
    pool_impl *p = l->impl;
    if (!l->diff_src) return 0;
    return rm_exec(&net->dnn, p->bwd, 4, DNNL_ARG_DIFF_DST, l->diff_dst, DNNL_ARG_DIFF_SRC, l->diff_src,
                   DNNL_ARG_WORKSPACE, p->workspace, DNNL_ARG_SCRATCHPAD, p->bwd_scratch);
}

static void pool_destroy(rm_layer *l)
{
    pool_impl *p = l->impl;
    if (!p) return;
    rm_primitive_destroy(&p->fwd);
    rm_primitive_destroy(&p->bwd);
    rm_pd_destroy(&p->fwd_pd);
    rm_pd_destroy(&p->bwd_pd);
    rm_memory_destroy(&p->workspace);
    free(p);
    l->impl = NULL;
}

const rm_layer_ops rm_pool_ops = {pool_build, pool_forward, pool_backward, pool_destroy, NULL};
