/* Convolution on oneDNN: forward, backward-data, backward-weights.
 *   src [B,C,H,W] (previous layer's layout), weights [O,C,K,K], bias [O],
 *   dst [B,O,OH,OW] (layout chosen by oneDNN), OH = (H + top + bottom -
 *   ((K - 1) * dilation + 1)) / stride + 1 (OW likewise).
 * Grouped (groups = G > 1; depthwise: G = C): output channels
 * [g*O/G, (g+1)*O/G) see only input channels [g*C/G, (g+1)*C/G); oneDNN's
 * weights are [G,O/G,C/G,K,K], in plain goihw the same bytes as PyTorch's
 * [O,C/G,K,K]. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/net.h"
#include "nn/linear.h"

#ifndef RM_CONV_ALG
#define RM_CONV_ALG dnnl_convolution_auto
#endif

typedef rm_linear conv_impl;

static int relu_post_op_attr(rm_net *net, dnnl_primitive_attr_t *attr)
{
    dnnl_post_ops_t ops;
    RM_DNNL_TRY(dnnl_primitive_attr_clone(attr, net->attr));
    RM_DNNL_TRY(dnnl_post_ops_create(&ops));
    int rc = RM_DNNL(dnnl_post_ops_append_eltwise(ops, 1.f, dnnl_eltwise_relu, 0.f, 0.f));
    if (rc == 0) rc = RM_DNNL(dnnl_primitive_attr_set_post_ops(*attr, ops));
    dnnl_post_ops_destroy(ops);
    return rc;
}

/* oneDNN's weight dims: [O,C,K,K], or [G,O/G,C/G,K,K] grouped; returns ndims. */
static int weight_dims(const rm_layer_def *d, dnnl_dims_t dims)
{
    int g = d->groups > 1 ? d->groups : 1, n = 0;
    if (g > 1) dims[n++] = g;
    dims[n++] = d->filters / g;
    dims[n++] = d->in.c / g;
    dims[n++] = d->size;
    dims[n++] = d->size;
    return n;
}

/* oneDNN's strides, dilations (taps spaced dilation apart: dilates
 * dilation - 1) and padding before (top, left) and after (bottom, right). */
typedef struct {
    dnnl_dims_t strides, dilates, pad_l, pad_r;
} conv_geom;

static conv_geom conv_geometry(const rm_layer *l)
{
    const rm_layer_def *d = l->def;
    conv_geom g = {{d->stride, d->stride}, {d->dilation - 1, d->dilation - 1}, {d->pads[0], d->pads[1]},
                   {d->pads[2], d->pads[3]}};
    return g;
}

static int plain_reorder_exists(rm_net *net, const dnnl_memory_desc_t *md)
{
    dnnl_memory_desc_t plain;
    if (rm_md_init(&plain, 4, md->dims, dnnl_oihw) != 0) return 0;
    dnnl_primitive_desc_t to, from;
    if (dnnl_reorder_primitive_desc_create(&to, &plain, net->dnn.engine, md, net->dnn.engine, NULL) != dnnl_success)
        return 0;
    dnnl_primitive_desc_destroy(to);
    if (dnnl_reorder_primitive_desc_create(&from, md, net->dnn.engine, &plain, net->dnn.engine, NULL) != dnnl_success)
        return 0;
    dnnl_primitive_desc_destroy(from);
    return 1;
}

/* The forward primitive descriptor for alg on input layout src_md, with the
 * ReLU post-op or not. */
static int forward_pd(rm_layer *l, rm_net *net, conv_impl *c, const dnnl_memory_desc_t *src_md, dnnl_alg_kind_t alg,
                      int relu, dnnl_primitive_desc_t *pd)
{
    const rm_layer_def *d = l->def;
    dnnl_dims_t wdims, bdims = {d->filters};
    int wn = weight_dims(d, wdims);
    dnnl_dims_t ddims = {net->batch, d->out.c, d->out.h, d->out.w};
    conv_geom g = conv_geometry(l);
    dnnl_memory_desc_t w_any, b_any, dst_any;
    RM_TRY(rm_md_init(&w_any, wn, wdims, dnnl_format_tag_any));
    RM_TRY(rm_md_init(&b_any, 1, bdims, dnnl_x));
    RM_TRY(rm_md_init(&dst_any, 4, ddims, l->plain_dst ? dnnl_nchw : dnnl_format_tag_any));
    /* Every mode asks for the training propagation kind: it computes the
     * same thing, and its Winograd kernel takes ordinary blocked weights,
     * where inference Winograd wants a weight layout oneDNN 2.6 cannot fill
     * from plain weights (see below) and would fall back to direct, 1.5-2x
     * slower here (LRP also runs it with modified weights). */
    dnnl_prop_kind_t prop = dnnl_forward_training;
    dnnl_convolution_desc_t desc;
    RM_DNNL_TRY(dnnl_dilated_convolution_forward_desc_init(&desc, prop, alg, src_md, &w_any,
                                                           d->bias ? &b_any : NULL, &dst_any, g.strides, g.dilates,
                                                           g.pad_l, g.pad_r));
    if (!relu) return rm_net_pd(net, pd, &desc, NULL);
    if (!c->relu_attr) RM_TRY(relu_post_op_attr(net, &c->relu_attr));
    return RM_DNNL(dnnl_primitive_desc_create(pd, &desc, c->relu_attr, net->dnn.engine, NULL));
}

/* Fewer than 16 input channels per group: direct. oneDNN 2.6's heuristic
 * picks Winograd there, which pads the channels to its 16-channel blocks:
 * mini-Xception's 8-to-8 convolution took 15.5 ms per 256 images forward
 * against 3.9 ms direct, and its LRP backward-data 4.8 ms per 32 against
 * 1.9 ms (DNNL_VERBOSE, 2 threads). */
static dnnl_alg_kind_t narrow_alg(const rm_layer *l)
{
    int per_group = (int)(l->def->in.c / (l->def->groups > 1 ? l->def->groups : 1));
    return per_group < 16 ? dnnl_convolution_direct : RM_CONV_ALG;
}

static int is_reference(dnnl_primitive_desc_t pd);

/* Inference and LRP: a forward that oneDNN 2.6 has only its reference
 * kernel for on the blocked input (fewer than 16 input channels per group)
 * reads a plain NCHW copy instead, so the layer below keeps its fast blocked
 * kernel. On mini-Xception the first convolution writing plain NCHW for the
 * second ran gemm, 2.3 ms per 64 images against 0.8 ms blocked (DNNL_VERBOSE,
 * 2 threads); the copy is one reorder. LRP's backward-data picks its own
 * layouts (build_lrp). Training, whose backward passes read the layers'
 * layouts, asks the layer below for plain output instead (net.c,
 * plain_layouts). */
static int forward_on_plain_copy(rm_layer *l, rm_net *net, conv_impl *c)
{
    if (net->mode == RM_MODE_TRAIN || !is_reference(c->fwd_pd) || l->src_md.format_kind != dnnl_blocked ||
        l->src_md.format_desc.blocking.inner_nblks == 0)
        return 0;
    dnnl_memory_desc_t plain;
    RM_TRY(rm_md_init(&plain, 4, l->src_md.dims, dnnl_nchw));
    dnnl_primitive_desc_t pd = NULL;
    RM_TRY(forward_pd(l, net, c, &plain, c->fwd_alg, l->fused_relu, &pd));
    if (is_reference(pd)) {
        rm_pd_destroy(&pd);
        return 0;
    }
    rm_pd_destroy(&c->fwd_pd);
    c->fwd_pd = pd;
    c->fwd_src_copy_md = plain;
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &plain, &c->fwd_src_copy));
    return rm_reorder_create(&c->src_to_fwd_copy, &net->dnn, &l->src_md, &plain);
}

static int build_forward(rm_layer *l, rm_net *net, conv_impl *c, dnnl_memory_desc_t *wmd, dnnl_memory_desc_t *bmd)
{
    /* LRP: direct. Its max-pool winners must be those of the exact
     * activations: where identical receptive fields (saturated image areas)
     * give mathematically equal outputs, a tie goes to the first maximum,
     * as in PyTorch. Direct computes every output position with the same
     * arithmetic, so equal patches give bit-identical outputs; Winograd's
     * 4x4 output tiles compute each position within a tile with other
     * transform coefficients, which turns exact ties into near-ties (up to
     * 8.4e-5 of the window's maximum, measured) that the pooling routes to
     * whichever rounded highest (tests/test_golden_lrp_ties.c). */
    dnnl_alg_kind_t alg = net->mode == RM_MODE_LRP ? dnnl_convolution_direct : narrow_alg(l);
    for (;;) {
        RM_TRY(forward_pd(l, net, c, &l->src_md, alg, l->fused_relu, &c->fwd_pd));
        /* Inference Winograd may pick a weight layout that oneDNN 2.6 cannot
         * convert to or from plain weights (model files): use direct there. */
        dnnl_memory_desc_t w = rm_pd_md(c->fwd_pd, dnnl_query_weights_md, 0);
        if (alg == dnnl_convolution_direct || w.format_kind != dnnl_format_kind_wino || plain_reorder_exists(net, &w))
            break;
        rm_pd_destroy(&c->fwd_pd);
        alg = dnnl_convolution_direct;
    }
    c->fwd_alg = alg;
    RM_TRY(forward_on_plain_copy(l, net, c));
    l->dst_md = rm_pd_md(c->fwd_pd, dnnl_query_dst_md, 0);
    *wmd = rm_pd_md(c->fwd_pd, dnnl_query_weights_md, 0);
    dnnl_dims_t bdims = {l->def->filters};
    RM_TRY(rm_md_init(bmd, 1, bdims, dnnl_x));
    dnnl_memory_desc_t chosen_src = rm_pd_md(c->fwd_pd, dnnl_query_src_md, 0);
    if (!rm_md_equal(c->fwd_src_copy ? &c->fwd_src_copy_md : &l->src_md, &chosen_src))
        return rm_error("oneDNN chose another input layout than the previous layer's output");
    RM_TRY(rm_primitive(&c->fwd, c->fwd_pd));
    return rm_net_scratchpad(net, c->fwd_pd, &c->fwd_scratch);
}

static int is_reference(dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return pd && dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
           !strncmp(impl, "ref", 3);
}

/* A copy of an activation in layout `tag`, and the reorder that fills it
 * (or writes it back), unless md is in that layout already. */
static int layout_copy(rm_net *net, const dnnl_memory_desc_t *md, dnnl_format_tag_t tag, int to_copy,
                       dnnl_memory_t *copy, dnnl_primitive_t *reorder)
{
    dnnl_memory_desc_t other;
    RM_TRY(rm_md_init(&other, 4, md->dims, tag));
    if (rm_md_equal(&other, md)) return 0;
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &other, copy));
    return to_copy ? rm_reorder_create(reorder, &net->dnn, md, &other)
                   : rm_reorder_create(reorder, &net->dnn, &other, md);
}

/* Where the layers' layouts leave a backward pass to oneDNN's reference
 * kernel (fewer than 16 input channels per group in 16-channel blocks:
 * 100-1000x slower), it runs on copies: 8-channel blocks (jit), else plain
 * NCHW (gemm, 6x slower than the 8-channel jit on mini-Xception's second
 * convolution). Both passes use the same layout, so diff_dst is copied
 * once. */
static const dnnl_format_tag_t copy_tags[] = {dnnl_nChw8c, dnnl_nchw};
enum { NUM_COPY_TAGS = sizeof copy_tags / sizeof copy_tags[0] };

/* Backward-data (weights_pass 0) or backward-weights (1) with src and dst
 * in tag (0: the layers' own); *pd replaced. */
static int backward_pd(rm_layer *l, rm_net *net, conv_impl *c, int weights_pass, dnnl_format_tag_t tag,
                       const dnnl_memory_desc_t *bmd, dnnl_primitive_desc_t *pd)
{
    const rm_layer_def *d = l->def;
    dnnl_dims_t wdims;
    int wn = weight_dims(d, wdims);
    conv_geom g = conv_geometry(l);
    dnnl_memory_desc_t w_any, src = l->src_md, dst = l->dst_md;
    RM_TRY(rm_md_init(&w_any, wn, wdims, dnnl_format_tag_any));
    if (tag) {
        RM_TRY(rm_md_init(&src, 4, l->src_md.dims, tag));
        RM_TRY(rm_md_init(&dst, 4, l->dst_md.dims, tag));
    }
    rm_pd_destroy(pd);
    dnnl_convolution_desc_t desc;
    if (weights_pass)
        RM_DNNL_TRY(dnnl_dilated_convolution_backward_weights_desc_init(&desc, RM_CONV_ALG, &src, &w_any,
                                                                         d->bias ? bmd : NULL, &dst, g.strides,
                                                                         g.dilates, g.pad_l, g.pad_r));
    else
        RM_DNNL_TRY(dnnl_dilated_convolution_backward_data_desc_init(&desc, RM_CONV_ALG, &src, &w_any, &dst,
                                                                      g.strides, g.dilates, g.pad_l, g.pad_r));
    return rm_net_pd(net, pd, &desc, c->fwd_pd);
}

/* The pass on the layers' layouts, or on copies in the first layout of
 * copy_tags (*tag, when not yet chosen) that has a kernel other than the
 * reference; returns whether it runs on copies. */
static int choose_backward(rm_layer *l, rm_net *net, conv_impl *c, int weights_pass, const dnnl_memory_desc_t *bmd,
                           dnnl_primitive_desc_t *pd, dnnl_format_tag_t *tag)
{
    RM_TRY(backward_pd(l, net, c, weights_pass, 0, bmd, pd));
    if (!is_reference(*pd)) return 0;
    for (int i = 0; i < NUM_COPY_TAGS; i++) {
        if (*tag && copy_tags[i] != *tag) continue;
        RM_TRY(backward_pd(l, net, c, weights_pass, copy_tags[i], bmd, pd));
        if (!is_reference(*pd)) {
            *tag = copy_tags[i];
            return 1;
        }
    }
    RM_TRY(backward_pd(l, net, c, weights_pass, 0, bmd, pd));   /* no better kernel: the reference */
    return 0;
}

static int build_backward(rm_layer *l, rm_net *net, conv_impl *c, const dnnl_memory_desc_t *wmd,
                          const dnnl_memory_desc_t *bmd)
{
    dnnl_format_tag_t tag = 0;
    if (rm_layer_wants_diff(l, net, 0)) {
        int copy = choose_backward(l, net, c, 0, bmd, &c->bwd_data_pd, &tag);
        if (copy < 0) return -1;
        c->bwd_data_on_copy = copy;
        RM_TRY(rm_primitive(&c->bwd_data, c->bwd_data_pd));
        dnnl_memory_desc_t bw = rm_pd_md(c->bwd_data_pd, dnnl_query_weights_md, 0);
        if (!rm_md_equal(&bw, wmd)) {
            RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &bw, &c->bwd_data_weights));
            RM_TRY(rm_reorder_create(&c->bwd_data_weights_reorder, &net->dnn, wmd, &bw));
        }
        RM_TRY(rm_net_scratchpad(net, c->bwd_data_pd, &c->bwd_data_scratch));
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, &l->diff_src));
        l->owns_diff_src = 1;
        if (copy) RM_TRY(layout_copy(net, &l->src_md, tag, 0, &c->diff_src_copy, &c->diff_src_from_copy));
    }
    int copy = choose_backward(l, net, c, 1, bmd, &c->bwd_weights_pd, &tag);
    if (copy < 0) return -1;
    c->bwd_weights_on_copy = copy;
    RM_TRY(rm_primitive(&c->bwd_weights, c->bwd_weights_pd));
    RM_TRY(rm_net_scratchpad(net, c->bwd_weights_pd, &c->bwd_weights_scratch));
    if (copy) RM_TRY(layout_copy(net, &l->src_md, tag, 1, &c->src_copy, &c->src_to_copy));
    if (c->bwd_data_on_copy || c->bwd_weights_on_copy)
        RM_TRY(layout_copy(net, &l->dst_md, tag, 1, &c->diff_dst_copy, &c->diff_dst_to_copy));
    return rm_linear_bind_diff_weights(c, net, wmd);
}

/* Relevance propagation runs the inference forward and a backward-data with
 * modified weights; the LRP engine prepares those in each one's layout. */
static int build_lrp(rm_layer *l, rm_net *net, conv_impl *c, const dnnl_memory_desc_t *wmd)
{
    const rm_layer_def *d = l->def;
    dnnl_dims_t wdims;
    int wn = weight_dims(d, wdims);
    conv_geom g = conv_geometry(l);
    dnnl_memory_desc_t w_any, src_any;
    RM_TRY(rm_md_init(&w_any, wn, wdims, dnnl_format_tag_any));
    /* Free output layout: for a plain 1-channel input the only backward-data
     * with a plain diff_src is oneDNN's reference kernel (100x slower). */
    dnnl_dims_t sdims = {net->batch, d->in.c, d->in.h, d->in.w};
    RM_TRY(rm_md_init(&src_any, 4, sdims, dnnl_format_tag_any));
    dnnl_convolution_desc_t desc;
    RM_DNNL_TRY(dnnl_dilated_convolution_backward_data_desc_init(&desc, narrow_alg(l), &src_any, &w_any,
                                                                 &l->dst_md, g.strides, g.dilates, g.pad_l, g.pad_r));
    RM_TRY(rm_net_pd(net, &c->bwd_data_pd, &desc, c->fwd_pd));
    RM_TRY(rm_primitive(&c->bwd_data, c->bwd_data_pd));
    RM_TRY(rm_net_scratchpad(net, c->bwd_data_pd, &c->bwd_data_scratch));
    l->lrp.fwd = c->fwd;
    l->lrp.fwd_scratch = c->fwd_scratch;
    if (l->fused_relu) {
        RM_TRY(forward_pd(l, net, c, c->fwd_src_copy ? &c->fwd_src_copy_md : &l->src_md, c->fwd_alg, 0,
                          &c->lrp_fwd_pd));
        const dnnl_query_t what[] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
        for (int i = 0; i < 3; i++) {
            dnnl_memory_desc_t a = rm_pd_md(c->fwd_pd, what[i], 0), b = rm_pd_md(c->lrp_fwd_pd, what[i], 0);
            if (!rm_md_equal(&a, &b)) return rm_error("oneDNN chose other layouts for the forward without its ReLU");
        }
        RM_TRY(rm_primitive(&c->lrp_fwd, c->lrp_fwd_pd));
        RM_TRY(rm_net_scratchpad(net, c->lrp_fwd_pd, &c->lrp_fwd_scratch));
        l->lrp.fwd = c->lrp_fwd;
        l->lrp.fwd_scratch = c->lrp_fwd_scratch;
    }
    l->lrp.src_copy = c->fwd_src_copy;
    l->lrp.src_to_copy = c->src_to_fwd_copy;
    l->lrp.bwd = c->bwd_data;
    l->lrp.bwd_scratch = c->bwd_data_scratch;
    l->lrp.weights_md = *wmd;
    l->lrp.bwd_weights_md = rm_pd_md(c->bwd_data_pd, dnnl_query_weights_md, 0);
    l->lrp.bwd_diff_src_md = rm_pd_md(c->bwd_data_pd, dnnl_query_diff_src_md, 0);
    return 0;
}

/* oneDNN 2.6 has no optimized kernel for a convolution of fewer than 16
 * input channels per group (not depthwise, not 1x1) reading 16-channel
 * blocks: it falls back to its reference kernel, 100-1000x slower (the
 * 8-channel second convolution of mini-Xception). From plain NCHW input
 * it has jit and gemm kernels. Training's backward passes switch to copies
 * in another layout themselves (build_backward); for the forward and LRP's
 * backward-data, net.c asks the writer of the input for plain output. */
static int uses_reference_kernel(const conv_impl *c)
{
    return is_reference(c->fwd_pd) || is_reference(c->lrp_fwd_pd) || is_reference(c->bwd_data_pd) ||
           is_reference(c->bwd_weights_pd);
}

static int conv_build(rm_layer *l, rm_net *net)
{
    conv_impl *c = rm_calloc(1, sizeof *c, "conv layer");
    if (!c) return -1;
    l->impl = c;
    const rm_layer_def *d = l->def;
    dnnl_memory_desc_t wmd, bmd;
    RM_TRY(build_forward(l, net, c, &wmd, &bmd));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
    l->owns_dst = 1;
    int g = d->groups > 1 ? d->groups : 1;
    dnnl_dims_t wplain = {d->filters, d->in.c / g, d->size, d->size}, bplain = {d->filters};
    RM_TRY(rm_layer_add_param(l, net, "weight", 1, &wmd, 4, wplain, dnnl_oihw));
    c->weight = &l->params[0];
    if (d->bias) {
        RM_TRY(rm_layer_add_param(l, net, "bias", 1, &bmd, 1, bplain, dnnl_x));
        c->bias = &l->params[1];
    }
    if (net->mode == RM_MODE_TRAIN) RM_TRY(build_backward(l, net, c, &wmd, &bmd));
    if (net->mode == RM_MODE_LRP) RM_TRY(build_lrp(l, net, c, &wmd));
    l->slow_src = uses_reference_kernel(c) && l->src_md.format_desc.blocking.inner_nblks > 0;
    return 0;
}

const rm_layer_ops rm_conv_ops = {conv_build, rm_linear_forward, rm_linear_backward, rm_linear_destroy, NULL};
