/* Per-channel scale and shift, y = scale_c x + shift_c, in the previous
 * layer's layout:
 *   src [B,C,H,W] (or [B,C]) -> dst same md; scale, shift [C] learnable
 *   (initialized to the identity: 1 and 0).
 * A normalization baked into an imported model where no convolution or
 * dense layer before it can absorb it. It runs as oneDNN's batch
 * normalization with fixed statistics (mean 0, variance + epsilon = 1), so
 * (x - 0) / sqrt(1) is x exactly and the backward with global statistics
 * is exactly d/dx = scale, d/dscale = sum dy x, d/dshift = sum dy. */
#include <stdlib.h>

#include "core/error.h"
#include "nn/net.h"

typedef struct {
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t fwd_scratch, bwd_scratch;
    dnnl_memory_t mean, var;          /* the fixed statistics, in stats */
    float *stats;                     /* [C means | C variances] */
    dnnl_memory_t diff_src_unused;    /* first layer without input grads: oneDNN still writes one */
    rm_param *scale, *shift;
} scale_impl;

static const unsigned FLAGS = dnnl_use_scale | dnnl_use_shift | dnnl_use_global_stats;
/* variance + epsilon is exactly 1 in float, and epsilon > 0: oneDNN runs
 * the padding channels of a blocked layout with variance 0 of its own, and
 * 0 / sqrt(0 + 0) would write NaN there (read by the next layer's zero
 * weights: NaN logits). */
static const float STAT_EPS = 0x1p-24f, STAT_VAR = 1.0f - 0x1p-24f;

static int scale_build(rm_layer *l, rm_net *net)
{
    scale_impl *s = rm_calloc(1, sizeof *s, "scale layer");
    if (!s) return -1;
    l->impl = s;
    if (l->src_md.ndims < 2) return rm_error("scale needs an input with a channel dimension");
    int train = net->mode == RM_MODE_TRAIN;
    dnnl_batch_normalization_desc_t desc;
    RM_DNNL_TRY(dnnl_batch_normalization_forward_desc_init(
        &desc, train ? dnnl_forward_training : dnnl_forward_inference, &l->src_md, STAT_EPS, FLAGS));
    RM_TRY(rm_net_pd(net, &s->fwd_pd, &desc, NULL));
    RM_TRY(rm_primitive(&s->fwd, s->fwd_pd));
    RM_TRY(rm_net_scratchpad(net, s->fwd_pd, &s->fwd_scratch));
    l->dst_md = rm_pd_md(s->fwd_pd, dnnl_query_dst_md, 0);
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
    l->owns_dst = 1;

    dnnl_dims_t cdims = {l->src_md.dims[1]};
    dnnl_memory_desc_t stat_md;
    RM_TRY(rm_md_init(&stat_md, 1, cdims, dnnl_x));
    RM_TRY(rm_layer_add_param(l, net, "scale", 1, &stat_md, 1, cdims, dnnl_x));
    RM_TRY(rm_layer_add_param(l, net, "shift", 1, &stat_md, 1, cdims, dnnl_x));
    s->scale = &l->params[0];
    s->shift = &l->params[1];
    /* constants, filled now: the arena is bound after every layer is built */
    size_t cap = (size_t)cdims[0];
    if (!(s->stats = rm_malloc(sizeof *s->stats * 2 * cap, "scale statistics"))) return -1;
    for (size_t c = 0; c < cap; c++) s->stats[c] = 0.f, s->stats[cap + c] = STAT_VAR;
    RM_DNNL_TRY(dnnl_memory_create(&s->mean, &stat_md, net->dnn.engine, s->stats));
    RM_DNNL_TRY(dnnl_memory_create(&s->var, &stat_md, net->dnn.engine, s->stats + cap));
    if (!train) return 0;

    RM_DNNL_TRY(dnnl_batch_normalization_backward_desc_init(&desc, dnnl_backward, &l->src_md, &l->src_md, STAT_EPS,
                                                            FLAGS));
    RM_TRY(rm_net_pd(net, &s->bwd_pd, &desc, s->fwd_pd));
    RM_TRY(rm_primitive(&s->bwd, s->bwd_pd));
    RM_TRY(rm_net_scratchpad(net, s->bwd_pd, &s->bwd_scratch));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, rm_layer_wants_diff(l, net, 0) ? &l->diff_src
                                                                                               : &s->diff_src_unused));
    l->owns_diff_src = l->diff_src != NULL;
    return 0;
}

static int scale_forward(rm_layer *l, rm_net *net)
{
    scale_impl *s = l->impl;
    return rm_exec(&net->dnn, s->fwd, 7, DNNL_ARG_SRC, l->src, DNNL_ARG_MEAN, s->mean, DNNL_ARG_VARIANCE, s->var,
                   DNNL_ARG_SCALE, s->scale->value, DNNL_ARG_SHIFT, s->shift->value, DNNL_ARG_DST, l->dst,
                   DNNL_ARG_SCRATCHPAD, s->fwd_scratch);
}

static int scale_backward(rm_layer *l, rm_net *net)
{
    scale_impl *s = l->impl;
    /* more arguments than rm_exec takes; oneDNN 2.6 wants SHIFT among them */
    dnnl_exec_arg_t args[10];
    int n = 0;
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, l->src};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_MEAN, s->mean};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_VARIANCE, s->var};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, l->diff_dst};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, s->scale->value};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, s->shift->value};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, l->diff_src ? l->diff_src : s->diff_src_unused};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SCALE, s->scale->grad};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SHIFT, s->shift->grad};
    if (s->bwd_scratch) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->bwd_scratch};
    return RM_DNNL(dnnl_primitive_execute(s->bwd, net->dnn.stream, n, args));
}

static void scale_destroy(rm_layer *l)
{
    scale_impl *s = l->impl;
    if (!s) return;
    rm_primitive_destroy(&s->fwd);
    rm_primitive_destroy(&s->bwd);
    rm_pd_destroy(&s->fwd_pd);
    rm_pd_destroy(&s->bwd_pd);
    rm_memory_destroy(&s->mean);
    rm_memory_destroy(&s->var);
    rm_memory_destroy(&s->diff_src_unused);
    free(s->stats);
    free(s);
    l->impl = NULL;
}

const rm_layer_ops rm_scale_ops = {scale_build, scale_forward, scale_backward, scale_destroy, NULL};
