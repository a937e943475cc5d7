/* Elementwise sum of 2..RM_MAX_INPUTS inputs of identical shape (residual
 * connections), on oneDNN's sum primitive.
 *   in[k] [B,C,H,W], each in its producer's layout -> dst [B,C,H,W] in the
 *   first input's layout.
 * Backward: every input's gradient is diff_dst. An input in dst's layout
 * takes diff_dst's buffer itself (an alias linked in add_link, nothing
 * moves); another gets its own buffer and a reorder. */
#include <stdlib.h>

#include "core/error.h"
#include "nn/net.h"

typedef struct {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t fwd;
    dnnl_memory_t scratch;
    int nargs;
    dnnl_exec_arg_t args[RM_MAX_INPUTS + 2];
    dnnl_primitive_t bwd[RM_MAX_INPUTS];   /* diff_dst -> diff_in[k] where the layouts differ */
    int alias[RM_MAX_INPUTS];              /* diff_in[k] is diff_dst */
} add_impl;

static int build_backward(rm_layer *l, rm_net *net, add_impl *a)
{
    for (int k = 0; k < l->num_inputs; k++) {
        if (!rm_layer_wants_diff(l, net, k)) continue;
        if (rm_md_equal(l->in_md[k], &l->dst_md)) {
            a->alias[k] = 1;
            continue;
        }
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, l->in_md[k], &l->diff_in[k]));
        RM_TRY(rm_reorder_create(&a->bwd[k], &net->dnn, &l->dst_md, l->in_md[k]));
    }
    l->diff_src = l->diff_in[0];
    return 0;
}

static int add_build(rm_layer *l, rm_net *net)
{
    add_impl *a = rm_calloc(1, sizeof *a, "add layer");
    if (!a) return -1;
    l->impl = a;
    dnnl_memory_desc_t mds[RM_MAX_INPUTS];
    float scales[RM_MAX_INPUTS];
    for (int k = 0; k < l->num_inputs; k++) {
        mds[k] = *l->in_md[k];
        scales[k] = 1.f;
    }
    RM_DNNL_TRY(dnnl_sum_primitive_desc_create(&a->pd, l->in_md[0], l->num_inputs, scales, mds, net->attr,
                                               net->dnn.engine));
    RM_TRY(rm_primitive(&a->fwd, a->pd));
    RM_TRY(rm_net_scratchpad(net, a->pd, &a->scratch));
    l->dst_md = rm_pd_md(a->pd, dnnl_query_dst_md, 0);
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
    l->owns_dst = 1;
    for (int k = 0; k < l->num_inputs; k++)
        a->args[a->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + k, l->in[k]};
    a->args[a->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DST, l->dst};
    if (a->scratch) a->args[a->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, a->scratch};
    return net->mode == RM_MODE_TRAIN ? build_backward(l, net, a) : 0;
}

static int add_link(rm_layer *l, rm_net *net)
{
    add_impl *a = l->impl;
    for (int k = 0; k < l->num_inputs; k++)
        if (a->alias[k]) l->diff_in[k] = l->diff_dst;
    l->diff_src = l->diff_in[0];
    return 0;
}

static int add_forward(rm_layer *l, rm_net *net)
{
    add_impl *a = l->impl;
    return RM_DNNL(dnnl_primitive_execute(a->fwd, net->dnn.stream, a->nargs, a->args));
}

static int add_backward(rm_layer *l, rm_net *net)
{
    add_impl *a = l->impl;
    for (int k = 0; k < l->num_inputs; k++)
        if (a->bwd[k]) RM_TRY(rm_reorder_run(&net->dnn, a->bwd[k], l->diff_dst, l->diff_in[k]));
    return 0;
}

static void add_destroy(rm_layer *l)
{
    add_impl *a = l->impl;
    if (!a) return;
    for (int k = 0; k < l->num_inputs; k++) {
        rm_primitive_destroy(&a->bwd[k]);
        if (a->alias[k]) l->diff_in[k] = NULL;
        else rm_memory_destroy(&l->diff_in[k]);
    }
    l->diff_src = NULL;
    rm_primitive_destroy(&a->fwd);
    rm_pd_destroy(&a->pd);
    free(a);
    l->impl = NULL;
}

const rm_layer_ops rm_add_ops = {add_build, add_forward, add_backward, add_destroy, add_link};
