#include "nn/linear.h"

#include <stdlib.h>

#include "core/error.h"

int rm_linear_bind_diff_weights(rm_linear *k, rm_net *net, const dnnl_memory_desc_t *wmd)
{
    dnnl_memory_desc_t dw = rm_pd_md(k->bwd_weights_pd, dnnl_query_diff_weights_md, 0);
    if (rm_md_equal(&dw, wmd)) return 0;
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &dw, &k->diff_weights_tmp));
    return rm_reorder_create(&k->diff_weights_reorder, &net->dnn, &dw, wmd);
}

int rm_linear_forward(rm_layer *l, rm_net *net)
{
    rm_linear *k = l->impl;
    RM_TRY(rm_reorder_run(&net->dnn, k->src_to_fwd_copy, l->src, k->fwd_src_copy));
    return rm_exec(&net->dnn, k->fwd, 5, DNNL_ARG_SRC, k->fwd_src_copy ? k->fwd_src_copy : l->src, DNNL_ARG_WEIGHTS,
                   k->weight->value, DNNL_ARG_BIAS,
                   k->bias ? k->bias->value : NULL, DNNL_ARG_DST, l->dst, DNNL_ARG_SCRATCHPAD, k->fwd_scratch);
}

int rm_linear_backward(rm_layer *l, rm_net *net)
{
    rm_linear *k = l->impl;
    dnnl_memory_t dw = k->diff_weights_tmp ? k->diff_weights_tmp : k->weight->grad;
    dnnl_memory_t diff_dst_copy = k->diff_dst_copy ? k->diff_dst_copy : l->diff_dst;
    RM_TRY(rm_reorder_run(&net->dnn, k->diff_dst_to_copy, l->diff_dst, k->diff_dst_copy));
    RM_TRY(rm_reorder_run(&net->dnn, k->src_to_copy, l->src, k->src_copy));
    RM_TRY(rm_exec(&net->dnn, k->bwd_weights, 5, DNNL_ARG_SRC,
                   k->bwd_weights_on_copy && k->src_copy ? k->src_copy : l->src, DNNL_ARG_DIFF_DST,
                   k->bwd_weights_on_copy ? diff_dst_copy : l->diff_dst, DNNL_ARG_DIFF_WEIGHTS, dw, DNNL_ARG_DIFF_BIAS,
                   k->bias ? k->bias->grad : NULL, DNNL_ARG_SCRATCHPAD, k->bwd_weights_scratch));
    RM_TRY(rm_reorder_run(&net->dnn, k->diff_weights_reorder, dw, k->weight->grad));
    if (!l->diff_src) return 0;
    dnnl_memory_t w = k->weight->value;
    if (k->bwd_data_weights) {
        RM_TRY(rm_reorder_run(&net->dnn, k->bwd_data_weights_reorder, w, k->bwd_data_weights));
        w = k->bwd_data_weights;
    }
    dnnl_memory_t diff_src = k->diff_src_copy ? k->diff_src_copy : l->diff_src;
    RM_TRY(rm_exec(&net->dnn, k->bwd_data, 4, DNNL_ARG_DIFF_DST, k->bwd_data_on_copy ? diff_dst_copy : l->diff_dst,
                   DNNL_ARG_WEIGHTS, w, DNNL_ARG_DIFF_SRC, diff_src, DNNL_ARG_SCRATCHPAD, k->bwd_data_scratch));
    return rm_reorder_run(&net->dnn, k->diff_src_from_copy, k->diff_src_copy, l->diff_src);
}

void rm_linear_destroy(rm_layer *l)
{
    rm_linear *k = l->impl;
    if (!k) return;
    rm_primitive_destroy(&k->fwd);
    rm_primitive_destroy(&k->lrp_fwd);
    rm_pd_destroy(&k->lrp_fwd_pd);
    rm_primitive_destroy(&k->bwd_data);
    rm_primitive_destroy(&k->bwd_weights);
    rm_primitive_destroy(&k->diff_weights_reorder);
    rm_primitive_destroy(&k->bwd_data_weights_reorder);
    rm_primitive_destroy(&k->diff_dst_to_copy);
    rm_primitive_destroy(&k->src_to_copy);
    rm_primitive_destroy(&k->diff_src_from_copy);
    rm_primitive_destroy(&k->src_to_fwd_copy);
    rm_memory_destroy(&k->fwd_src_copy);
    rm_memory_destroy(&k->diff_dst_copy);
    rm_memory_destroy(&k->src_copy);
    rm_memory_destroy(&k->diff_src_copy);
    rm_pd_destroy(&k->fwd_pd);
    rm_pd_destroy(&k->bwd_data_pd);
    rm_pd_destroy(&k->bwd_weights_pd);
    rm_memory_destroy(&k->diff_weights_tmp);
    rm_memory_destroy(&k->bwd_data_weights);
    if (k->relu_attr) dnnl_primitive_attr_destroy(k->relu_attr);
    free(k);
    l->impl = NULL;
}
