/* What convolution and dense layers share: their primitives, the weight
 * layouts each backward needs, and the forward/backward/destroy steps that
 * only execute them. Private to src/nn. */
#ifndef RELMASK_NN_LINEAR_H
#define RELMASK_NN_LINEAR_H

#include "nn/net.h"

typedef struct {
    dnnl_primitive_desc_t fwd_pd, bwd_data_pd, bwd_weights_pd;
    dnnl_primitive_t fwd, bwd_data, bwd_weights;
    dnnl_memory_t fwd_scratch, bwd_data_scratch, bwd_weights_scratch;
    /* When backward-weights picks another layout than forward: */
    dnnl_memory_t diff_weights_tmp;
    dnnl_primitive_t diff_weights_reorder;
    /* When backward-data wants the weights in another layout (conv: its fast
     * kernels want them blocked the other way round; forcing forward's
     * layout falls back to the reference kernel, 100x slower). */
    dnnl_memory_t bwd_data_weights;
    dnnl_primitive_t bwd_data_weights_reorder;
    /* conv: a backward that the layers' layouts would leave to oneDNN's
     * reference kernel runs on copies in another layout (layer_conv.c);
     * NULL when it runs on the layers' own buffers. */
    dnnl_memory_t diff_dst_copy, src_copy, diff_src_copy;
    dnnl_primitive_t diff_dst_to_copy, src_to_copy, diff_src_from_copy;
    int bwd_data_on_copy, bwd_weights_on_copy;
    dnnl_primitive_attr_t relu_attr;   /* conv: the net's attributes + a ReLU post-op */
    /* LRP with the ReLU fused into fwd: the same forward without it, for
     * the modified weights and inputs. */
    dnnl_primitive_desc_t lrp_fwd_pd;
    dnnl_primitive_t lrp_fwd;
    dnnl_memory_t lrp_fwd_scratch;
    dnnl_alg_kind_t fwd_alg;           /* conv: the algorithm the forward got */
    /* conv, inference: the forward reads a copy of its input in this layout
     * (layer_conv.c, forward_on_plain_copy); NULL: the input itself */
    dnnl_memory_t fwd_src_copy;
    dnnl_memory_desc_t fwd_src_copy_md;
    dnnl_primitive_t src_to_fwd_copy;
    rm_param *weight, *bias;
} rm_linear;

/* After the backward-weights pd exists: a temporary and a reorder when its
 * diff-weights layout differs from the weights' (wmd). */
int rm_linear_bind_diff_weights(rm_linear *k, rm_net *net, const dnnl_memory_desc_t *wmd);
int rm_linear_forward(rm_layer *l, rm_net *net);
int rm_linear_backward(rm_layer *l, rm_net *net);
void rm_linear_destroy(rm_layer *l);

#endif
