/* Concatenation along channels of 2..RM_MAX_INPUTS inputs of equal height
 * and width, on oneDNN's concat primitive.
 *   in[k] [B,C_k,H,W], each in its producer's layout -> dst [B,sum C_k,H,W]
 *   in plain NCHW, so that each input's channel range is a sub-memory view
 *   of it at any channel offset (blocked layouts need block-aligned ones).
 * Backward: diff_in[k] = channels [off_k, off_k + C_k) of diff_dst, a
 * reorder from that view into input k's layout. */
#include <stdlib.h>

#include "core/error.h"
#include "nn/net.h"

typedef struct {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t fwd;
    dnnl_memory_t scratch;
    int nargs;
    dnnl_exec_arg_t args[RM_MAX_INPUTS + 2];
    dnnl_memory_t view[RM_MAX_INPUTS];     /* input k's channels of diff_dst (handle set in backward) */
    dnnl_primitive_t bwd[RM_MAX_INPUTS];   /* view[k] -> diff_in[k] */
} concat_impl;

static int build_backward(rm_layer *l, rm_net *net, concat_impl *c)
{
    dnnl_dim_t off = 0;
    for (int k = 0; k < l->num_inputs; k++) {
        const dnnl_memory_desc_t *in = l->in_md[k];
        dnnl_dims_t dims = {in->dims[0], in->dims[1], in->dims[2], in->dims[3]}, offsets = {0, off, 0, 0};
        off += in->dims[1];
        if (!rm_layer_wants_diff(l, net, k)) continue;
        dnnl_memory_desc_t sub;
        RM_DNNL_TRY(dnnl_memory_desc_init_submemory(&sub, &l->dst_md, dims, offsets));
        RM_DNNL_TRY(dnnl_memory_create(&c->view[k], &sub, net->dnn.engine, DNNL_MEMORY_NONE));
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, in, &l->diff_in[k]));
        dnnl_primitive_desc_t pd;
        RM_DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, &sub, net->dnn.engine, in, net->dnn.engine, NULL));
        int rc = rm_primitive(&c->bwd[k], pd);
        rm_pd_destroy(&pd);
        RM_TRY(rc);
    }
    l->diff_src = l->diff_in[0];
    return 0;
}

static int concat_build(rm_layer *l, rm_net *net)
{
    concat_impl *c = rm_calloc(1, sizeof *c, "concat layer");
    if (!c) return -1;
    l->impl = c;
    const rm_layer_def *d = l->def;
    dnnl_memory_desc_t mds[RM_MAX_INPUTS];
    for (int k = 0; k < l->num_inputs; k++) mds[k] = *l->in_md[k];
    dnnl_dims_t dims = {net->batch, d->out.c, d->out.h, d->out.w};
    RM_TRY(rm_md_init(&l->dst_md, 4, dims, dnnl_nchw));
    RM_DNNL_TRY(dnnl_concat_primitive_desc_create(&c->pd, &l->dst_md, l->num_inputs, 1, mds, net->attr,
                                                  net->dnn.engine));
    RM_TRY(rm_primitive(&c->fwd, c->pd));
    RM_TRY(rm_net_scratchpad(net, c->pd, &c->scratch));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
    l->owns_dst = 1;
    for (int k = 0; k < l->num_inputs; k++)
        c->args[c->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + k, l->in[k]};
    c->args[c->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DST, l->dst};
    if (c->scratch) c->args[c->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, c->scratch};
    return net->mode == RM_MODE_TRAIN ? build_backward(l, net, c) : 0;
}

/* The views read diff_dst in dst's layout (every consumer's input gradient
 * and a gradient sum use the layout of what they read). */
static int concat_link(rm_layer *l, rm_net *net)
{
    const dnnl_memory_desc_t *md;
    RM_DNNL_TRY(dnnl_memory_get_memory_desc(l->diff_dst, &md));
    if (!rm_md_equal(md, &l->dst_md)) return rm_error("the gradient from above is not in plain NCHW");
    return 0;
}

static int concat_forward(rm_layer *l, rm_net *net)
{
    concat_impl *c = l->impl;
    return RM_DNNL(dnnl_primitive_execute(c->fwd, net->dnn.stream, c->nargs, c->args));
}

static int concat_backward(rm_layer *l, rm_net *net)
{
    concat_impl *c = l->impl;
    void *base = rm_memory_ptr(l->diff_dst);
    for (int k = 0; k < l->num_inputs; k++) {
        if (!c->bwd[k]) continue;
        RM_DNNL_TRY(dnnl_memory_set_data_handle(c->view[k], base));
        RM_TRY(rm_reorder_run(&net->dnn, c->bwd[k], c->view[k], l->diff_in[k]));
    }
    return 0;
}

static void concat_destroy(rm_layer *l)
{
    concat_impl *c = l->impl;
    if (!c) return;
    for (int k = 0; k < l->num_inputs; k++) {
        rm_primitive_destroy(&c->bwd[k]);
        rm_memory_destroy(&c->view[k]);
        rm_memory_destroy(&l->diff_in[k]);
    }
    l->diff_src = NULL;
    rm_primitive_destroy(&c->fwd);
    rm_pd_destroy(&c->pd);
    free(c);
    l->impl = NULL;
}

const rm_layer_ops rm_concat_ops = {concat_build, concat_forward, concat_backward, concat_destroy, concat_link};
