#include "nn/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static const rm_layer_ops *ops_for(rm_layer_type type)
{
    switch (type) {
    case RM_LAYER_CONV: return &rm_conv_ops;
    case RM_LAYER_RELU: return &rm_relu_ops;
    case RM_LAYER_MAXPOOL:
    case RM_LAYER_AVGPOOL:
    case RM_LAYER_GLOBALAVGPOOL: return &rm_pool_ops;
    case RM_LAYER_FLATTEN: return &rm_flatten_ops;
    case RM_LAYER_DROPOUT: return &rm_dropout_ops;
    case RM_LAYER_BATCHNORM: return &rm_batchnorm_ops;
    case RM_LAYER_DENSE: return &rm_dense_ops;
    case RM_LAYER_ADD: return &rm_add_ops;
    case RM_LAYER_CONCAT: return &rm_concat_ops;
    case RM_LAYER_SCALE: return &rm_scale_ops;
    default: return NULL;
    }
}

int rm_net_pd(rm_net *net, dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t desc,
              const_dnnl_primitive_desc_t hint)
{
    return RM_DNNL(dnnl_primitive_desc_create(pd, desc, net->attr, net->dnn.engine, hint));
}

int rm_net_scratchpad(rm_net *net, const_dnnl_primitive_desc_t pd, dnnl_memory_t *mem)
{
    dnnl_memory_desc_t md = rm_pd_md(pd, dnnl_query_scratchpad_md, 0);
    *mem = NULL;
    size_t size = dnnl_memory_desc_get_size(&md);
    if (size == 0) return 0;
    dnnl_memory_t *grown = rm_realloc(net->scratch, (size_t)(net->num_scratch + 1) * sizeof *grown, "scratchpads");
    if (!grown) return -1;
    net->scratch = grown;
    RM_DNNL_TRY(dnnl_memory_create(mem, &md, net->dnn.engine, DNNL_MEMORY_NONE));
    net->scratch[net->num_scratch++] = *mem;
    if (size > net->scratch_size) net->scratch_size = size;
    return 0;
}

int rm_layer_add_param(rm_layer *l, rm_net *net, const char *name, int learnable,
                       const dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t plain_dims,
                       dnnl_format_tag_t plain_tag)
{
    if (l->num_params == RM_MAX_PARAMS) return rm_error("%s: too many parameters", l->def->name);
    rm_param *p = &l->params[l->num_params++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->learnable = learnable;
    p->ndims = ndims;
    memcpy(p->dims, plain_dims, sizeof(dnnl_dim_t) * (size_t)ndims);
    p->plain_tag = plain_tag;
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, md, &p->value));
    if (learnable && net->mode == RM_MODE_TRAIN) RM_TRY(rm_arena_memory(&net->arena, &net->dnn, md, &p->grad));
    return 0;
}

int rm_layer_wants_diff(const rm_layer *l, const rm_net *net, int k)
{
    return net->mode == RM_MODE_TRAIN && (l->def->inputs[k] != RM_INPUT_NETWORK || net->input_grad);
}

int64_t rm_param_plain_count(const rm_param *p)
{
    int64_t n = 1;
    for (int i = 0; i < p->ndims; i++) n *= p->dims[i];
    return n;
}

static int build_layers(rm_net *net)
{
    const rm_netdef *def = net->def;
    dnnl_dims_t in_dims = {net->batch, def->input.c, def->input.h, def->input.w};
    RM_TRY(rm_md_init(&net->input_md, 4, in_dims, dnnl_nchw));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &net->input_md, &net->input_user));
    net->input = net->input_user;
    for (int i = 0; i < net->num_layers; i++) {
        rm_layer *l = &net->layers[i];
        l->def = &def->layers[i];
        l->index = i;
        l->ops = ops_for(l->def->type);
        if (!l->ops) return rm_error("%s: layer type not supported", l->def->name);
        l->num_inputs = l->def->num_inputs;
        for (int k = 0; k < l->num_inputs; k++) {
            int j = l->def->inputs[k];
            l->in[k] = j == RM_INPUT_NETWORK ? net->input : net->layers[j].dst;
            l->in_md[k] = j == RM_INPUT_NETWORK ? &net->input_md : &net->layers[j].dst_md;
        }
        l->src_md = *l->in_md[0];
        l->src = l->in[0];
        l->consumers = rm_netdef_consumers(def, i);
        l->plain_dst = net->plain_dst && net->plain_dst[i];
        /* conv + relu: one pass over the data instead of two, when the ReLU
         * is the convolution's only reader (net.h). */
        const rm_layer_def *next = i + 1 < net->num_layers ? &def->layers[i + 1] : NULL;
        int next_relu = next && rm_layer_is_plain_relu(next) && next->inputs[0] == i && l->consumers == 1;
        int fuse = net->mode != RM_MODE_LRP || (net->lrp_fuse_relu && net->lrp_fuse_relu[i]);
        if (l->def->type == RM_LAYER_CONV && next_relu && fuse) l->fused_relu = net->layers[i + 1].fused_relu = 1;
        /* batchnorm + relu on channel blocks: oneDNN's fused normalization
         * applies the ReLU forward and its mask backward (LRP explains the
         * two apart): about 0.95 ms per training step for the pair where
         * apart they took 1.6 on mini-Xception. On a plain layout its fused
         * kernel (ncsp) took 10.6 ms per step against 2.9 for the batchnorm
         * alone (DNNL_VERBOSE, 2 threads), so plain layouts stay apart. */
        int blocked = l->src_md.format_kind == dnnl_blocked && l->src_md.format_desc.blocking.inner_nblks > 0;
        if (l->def->type == RM_LAYER_BATCHNORM && next_relu && blocked && net->mode != RM_MODE_LRP)
            l->fused_relu = net->layers[i + 1].fused_relu = 1;
        if (l->ops->build(l, net) != 0) return rm_error_prefix("building layer %s", l->def->name);
    }
    return 0;
}

/* ---- gradients of shared outputs ------------------------------------------ */

struct rm_grad_sum {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t scratch;
    int nargs;
    dnnl_exec_arg_t args[];   /* MULTIPLE_SRC + e per consumer edge, DST, SCRATCHPAD */
};

static void grad_sum_destroy(rm_grad_sum **sum)
{
    if (!*sum) return;
    rm_primitive_destroy(&(*sum)->prim);
    rm_pd_destroy(&(*sum)->pd);
    free(*sum);
    *sum = NULL;
}

static int grad_sum_run(rm_net *net, const rm_grad_sum *sum)
{
    return RM_DNNL(dnnl_primitive_execute(sum->prim, net->dnn.stream, sum->nargs, sum->args));
}

/* The gradient that input k of layer c passes down (NULL: not computed). */
static dnnl_memory_t edge_diff(const rm_layer *c, int k) { return k == 0 ? c->diff_src : c->diff_in[k]; }

/* diff_dst of the output of layer `producer` (RM_INPUT_NETWORK: the
 * input), described by md: its one consumer's input gradient, or a buffer
 * of its own that *sum fills with the sum of its consumers' gradients. */
static int link_diff(rm_net *net, int producer, const dnnl_memory_desc_t *md, dnnl_memory_t *diff,
                     rm_grad_sum **sum)
{
    const char *name = producer == RM_INPUT_NETWORK ? "input" : net->layers[producer].def->name;
    int n = rm_netdef_consumers(net->def, producer), e = 0;
    if (n == 0) return rm_error("%s: no layer reads it", name);
    dnnl_memory_t *parts = rm_calloc((size_t)n, sizeof *parts, "gradients");
    if (!parts) return -1;
    for (int j = producer + 1; j < net->num_layers; j++) {
        const rm_layer *c = &net->layers[j];
        for (int k = 0; k < c->num_inputs; k++) {
            if (c->def->inputs[k] != producer) continue;
            if (!(parts[e++] = edge_diff(c, k))) {
                free(parts);
                return rm_error("%s: no gradient from layer %s", name, c->def->name);
            }
        }
    }
    if (n == 1) {
        *diff = parts[0];
        free(parts);
        return 0;
    }
    int rc = -1;
    dnnl_memory_desc_t *mds = rm_calloc((size_t)n, sizeof *mds, "gradient layouts");
    float *scales = rm_calloc((size_t)n, sizeof *scales, "gradient scales");
    rm_grad_sum *s = rm_calloc(1, sizeof *s + sizeof s->args[0] * (size_t)(n + 2), "gradient sum");
    if (mds && scales && s) {
        *sum = s;
        rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            const dnnl_memory_desc_t *pm;
            rc = RM_DNNL(dnnl_memory_get_memory_desc(parts[i], &pm));
            if (rc == 0) mds[i] = *pm;
            scales[i] = 1.f;
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + i, parts[i]};
        }
        if (rc == 0)
            rc = RM_DNNL(dnnl_sum_primitive_desc_create(&s->pd, md, n, scales, mds, net->attr, net->dnn.engine));
        if (rc == 0) rc = rm_primitive(&s->prim, s->pd);
        if (rc == 0) rc = rm_net_scratchpad(net, s->pd, &s->scratch);
        if (rc == 0) rc = rm_arena_memory(&net->arena, &net->dnn, md, diff);
        if (rc == 0) s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DST, *diff};
        if (rc == 0 && s->scratch) s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    }
    free(mds);
    free(scales);
    free(parts);
    if (rc != 0) return rm_error_prefix("summing the gradients of %s", name);
    return 0;
}

/* Links each layer's diff_dst to its consumers' input gradients, from the
 * top (consumers come later, so they are linked first); a layer whose
 * input gradient aliases diff_dst (flatten) sets it in its link hook. */
static int link_backward(rm_net *net)
{
    rm_layer *last = &net->layers[net->num_layers - 1];
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &last->dst_md, &last->diff_dst));
    for (int i = net->num_layers - 1; i >= 0; i--) {
        rm_layer *l = &net->layers[i];
        if (i < net->num_layers - 1) RM_TRY(link_diff(net, i, &l->dst_md, &l->diff_dst, &l->grad_sum));
        if (l->ops->link && l->ops->link(l, net) != 0) return rm_error_prefix("linking layer %s", l->def->name);
    }
    if (net->input_grad) RM_TRY(link_diff(net, RM_INPUT_NETWORK, &net->input_md, &net->input_diff, &net->input_sum));
    return 0;
}

static int build_edges(rm_net *net)
{
    rm_layer *last = &net->layers[net->num_layers - 1];
    int k = net->def->classes;
    dnnl_dims_t dims = {net->batch, k};
    dnnl_memory_desc_t plain;
    RM_TRY(rm_md_init(&plain, 2, dims, dnnl_nc));
    /* The last layer's dst may be 4D [B,K,1,1]; view it as [B,K] for reorders. */
    dnnl_memory_desc_t last2d = last->dst_md;
    if (last2d.ndims == 4) RM_DNNL_TRY(dnnl_memory_desc_reshape(&last2d, &last->dst_md, 2, dims));
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &plain, &net->logits_user));
    RM_TRY(rm_reorder_create(&net->logits_reorder, &net->dnn, &last2d, &plain));
    RM_TRY(rm_arena_raw(&net->arena, (size_t)net->batch * (size_t)k * sizeof(float), (void **)&net->probs));
    if (net->mode != RM_MODE_TRAIN) return 0;
    RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &plain, &net->diff_logits_mem));
    RM_TRY(rm_reorder_create(&net->diff_logits_reorder, &net->dnn, &plain, &last2d));
    if (net->input_grad) {
        dnnl_memory_desc_t in_md;
        dnnl_dims_t in_dims = {net->batch, net->def->input.c, net->def->input.h, net->def->input.w};
        RM_TRY(rm_md_init(&in_md, 4, in_dims, dnnl_nchw));
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &in_md, &net->input_grad_user));
        RM_TRY(rm_reorder_create(&net->input_grad_reorder, &net->dnn, &net->input_md, &in_md));
    }
    return 0;
}

/* A memory viewing `mem`'s storage with a 2D [B,K] descriptor. */
static int view_2d(rm_net *net, dnnl_memory_t mem, dnnl_memory_t *view)
{
    const dnnl_memory_desc_t *md;
    RM_DNNL_TRY(dnnl_memory_get_memory_desc(mem, &md));
    dnnl_memory_desc_t flat = *md;
    if (md->ndims == 4) {
        dnnl_dims_t dims = {md->dims[0], md->dims[1]};
        RM_DNNL_TRY(dnnl_memory_desc_reshape(&flat, md, 2, dims));
    }
    return RM_DNNL(dnnl_memory_create(view, &flat, net->dnn.engine, rm_memory_ptr(mem)));
}

static int bind(rm_net *net)
{
    void **scratch_ptr = &net->scratch_base;
    if (net->scratch_size) RM_TRY(rm_arena_raw(&net->arena, net->scratch_size, scratch_ptr));
    RM_TRY(rm_arena_bind(&net->arena));
    for (int i = 0; i < net->num_scratch; i++)
        RM_DNNL_TRY(dnnl_memory_set_data_handle(net->scratch[i], net->scratch_base));
    if (net->diff_logits_mem) net->diff_logits_user = rm_memory_ptr(net->diff_logits_mem);
    /* 2D views of the last layer's buffers for the logits reorders, made once. */
    rm_layer *last = &net->layers[net->num_layers - 1];
    RM_TRY(view_2d(net, last->dst, &net->last_dst_2d));
    if (last->diff_dst) RM_TRY(view_2d(net, last->diff_dst, &net->last_diff_2d));
    return 0;
}

/* The layer that chose the layout layer i reads: up through the layers
 * whose output keeps their input's layout; -1 if that is not a convolution
 * (the network input is plain already). */
static int layout_writer(const rm_net *net, int i)
{
    for (int j = net->layers[i].def->inputs[0]; j >= 0; j = net->layers[j].def->inputs[0]) {
        rm_layer_type t = net->layers[j].def->type;
        if (t == RM_LAYER_CONV) return j;
        if (t != RM_LAYER_RELU && t != RM_LAYER_BATCHNORM && t != RM_LAYER_SCALE && t != RM_LAYER_DROPOUT &&
            t != RM_LAYER_MAXPOOL &&
            t != RM_LAYER_AVGPOOL)
            return -1;
    }
    return -1;
}

/* Marks in plain[] the convolutions whose blocked output leaves a reader
 * with only oneDNN's reference kernel (layer_conv.c); returns how many. */
static int plain_layouts(const rm_net *net, unsigned char *plain)
{
    int n = 0;
    for (int i = 0; i < net->num_layers; i++) {
        if (!net->layers[i].slow_src) continue;
        int w = layout_writer(net, i);
        if (w >= 0 && !plain[w]) plain[w] = 1, n++;
    }
    return n;
}

static int net_build(rm_net *net, const rm_netdef *def, int batch, rm_mode mode, int input_grad,
                     const unsigned char *lrp_fuse_relu, const unsigned char *plain_dst)
{
    memset(net, 0, sizeof *net);
    net->lrp_fuse_relu = lrp_fuse_relu;
    net->plain_dst = plain_dst;
    if (batch < 1 || batch > 65536) return rm_error("batch size %d outside 1..65536", batch);
    net->def = def;
    net->batch = batch;
    net->mode = mode;
    net->input_grad = input_grad && mode == RM_MODE_TRAIN;
    net->num_layers = def->num_layers;
    net->seed = 1;
    RM_TRY(rm_dnn_create(&net->dnn));
    net->layers = rm_calloc((size_t)def->num_layers, sizeof *net->layers, "layers");
    if (!net->layers ||
        RM_DNNL(dnnl_primitive_attr_create(&net->attr)) != 0 ||
        RM_DNNL(dnnl_primitive_attr_set_scratchpad_mode(net->attr, dnnl_scratchpad_mode_user)) != 0 ||
        build_layers(net) != 0 || (mode == RM_MODE_TRAIN && link_backward(net) != 0) ||
        build_edges(net) != 0 || bind(net) != 0) {
        rm_net_destroy(net);
        return -1;
    }
    net->lrp_fuse_relu = NULL;
    net->plain_dst = NULL;
    return 0;
}

/* Builds, and builds again once if some convolution would run oneDNN's
 * reference kernel on a blocked input that a plain one avoids. */
static int net_create(rm_net *net, const rm_netdef *def, int batch, rm_mode mode, int input_grad,
                      const unsigned char *lrp_fuse_relu)
{
    RM_TRY(net_build(net, def, batch, mode, input_grad, lrp_fuse_relu, NULL));
    unsigned char *plain = rm_calloc((size_t)def->num_layers, 1, "layouts");
    if (!plain) {
        rm_net_destroy(net);
        return -1;
    }
    int rc = 0;
    if (plain_layouts(net, plain) > 0) {
        rm_net_destroy(net);
        rc = net_build(net, def, batch, mode, input_grad, lrp_fuse_relu, plain);
    }
    free(plain);
    return rc;
}

int rm_net_create(rm_net *net, const rm_netdef *def, int batch, rm_mode mode, int input_grad)
{
    return net_create(net, def, batch, mode, input_grad, NULL);
}

int rm_net_create_lrp(rm_net *net, const rm_netdef *def, int batch, const unsigned char *fuse_relu)
{
    return net_create(net, def, batch, RM_MODE_LRP, 0, fuse_relu);
}

void rm_net_destroy(rm_net *net)
{
    for (int i = 0; i < net->num_layers && net->layers; i++) {
        rm_layer *l = &net->layers[i];
        if (l->ops && l->ops->destroy) l->ops->destroy(l);
        if (l->owns_dst) rm_memory_destroy(&l->dst);
        if (l->owns_diff_src) rm_memory_destroy(&l->diff_src);
        if (l->grad_sum) rm_memory_destroy(&l->diff_dst);
        grad_sum_destroy(&l->grad_sum);
        for (int p = 0; p < l->num_params; p++) {
            rm_memory_destroy(&l->params[p].value);
            rm_memory_destroy(&l->params[p].grad);
        }
    }
    if (net->layers && net->num_layers && net->mode == RM_MODE_TRAIN)
        rm_memory_destroy(&net->layers[net->num_layers - 1].diff_dst);
    free(net->layers);
    for (int i = 0; i < net->num_scratch; i++) rm_memory_destroy(&net->scratch[i]);
    free(net->scratch);
    rm_memory_destroy(&net->input_user);
    if (net->input_sum) rm_memory_destroy(&net->input_diff);
    grad_sum_destroy(&net->input_sum);
    rm_memory_destroy(&net->logits_user);
    rm_memory_destroy(&net->diff_logits_mem);
    rm_memory_destroy(&net->last_dst_2d);
    rm_memory_destroy(&net->last_diff_2d);
    rm_memory_destroy(&net->input_grad_user);
    rm_primitive_destroy(&net->logits_reorder);
    rm_primitive_destroy(&net->diff_logits_reorder);
    rm_primitive_destroy(&net->input_grad_reorder);
    if (net->attr) dnnl_primitive_attr_destroy(net->attr);
    rm_arena_free(&net->arena);
    rm_dnn_destroy(&net->dnn);
    memset(net, 0, sizeof *net);
}

float *rm_net_input(rm_net *net) { return rm_memory_ptr(net->input_user); }

static int copy_logits(rm_net *net)
{
    rm_layer *last = &net->layers[net->num_layers - 1];
    if (!net->logits_reorder) {
        memcpy(rm_memory_ptr(net->logits_user), rm_memory_ptr(last->dst),
               (size_t)net->batch * (size_t)net->def->classes * sizeof(float));
        return 0;
    }
    return rm_reorder_run(&net->dnn, net->logits_reorder, net->last_dst_2d, net->logits_user);
}

int rm_net_forward(rm_net *net)
{
    for (int i = 0; i < net->num_layers; i++) {
        rm_layer *l = &net->layers[i];
        if (l->ops->forward(l, net) != 0) return rm_error_prefix("forward %s", l->def->name);
    }
    RM_TRY(copy_logits(net));
    return RM_DNNL(dnnl_stream_wait(net->dnn.stream));
}

const float *rm_net_logits(rm_net *net) { return rm_memory_ptr(net->logits_user); }

int rm_net_forward_images(rm_net *net, const float *x, int64_t count, float *logits)
{
    const rm_shape *s = &net->def->input;
    size_t per_image = (size_t)s->c * s->h * s->w, k = (size_t)net->def->classes;
    float *in = rm_net_input(net);
    for (int64_t b0 = 0; b0 < count; b0 += net->batch) {
        size_t m = (size_t)(count - b0 < net->batch ? count - b0 : net->batch);
        const float *src = x + (size_t)b0 * per_image;
        if (src != in) memcpy(in, src, sizeof *in * m * per_image);
        if (m < (size_t)net->batch) memset(in + m * per_image, 0, sizeof *in * ((size_t)net->batch - m) * per_image);
        RM_TRY(rm_net_forward(net));
        memcpy(logits + (size_t)b0 * k, rm_net_logits(net), sizeof *logits * m * k);
    }
    return 0;
}

/* Mean softmax cross-entropy over `valid` rows; writes probs and d/dlogits. */
static double softmax_xent(float *probs, float *dlogits, const float *logits, const int32_t *labels,
                           int batch, int valid, int k)
{
    double loss = 0;
    for (int n = 0; n < batch; n++) {
        const float *z = logits + (size_t)n * k;
        float *p = probs + (size_t)n * k, *d = dlogits + (size_t)n * k;
        double max = z[0], sum = 0;
        for (int j = 1; j < k; j++) max = z[j] > max ? z[j] : max;
        for (int j = 0; j < k; j++) sum += exp((double)z[j] - max);
        for (int j = 0; j < k; j++) p[j] = (float)(exp((double)z[j] - max) / sum);
        if (n >= valid) {
            memset(d, 0, sizeof(float) * (size_t)k);
            continue;
        }
        loss += log(sum) + max - z[labels[n]];
        for (int j = 0; j < k; j++) d[j] = (float)(((double)p[j] - (j == labels[n])) / valid);
    }
    return loss / valid;
}

double rm_kd_xent(float *probs, float *dlogits, const float *logits, const float *teacher, const int32_t *labels,
                  int batch, int valid, int k, double T, double A)
{
    /* A = 0 is the plain cross-entropy, bit for bit (the same code). */
    if (A == 0) return softmax_xent(probs, dlogits, logits, labels, batch, valid, k);
    double loss = 0;
    for (int n = 0; n < batch; n++) {
        const float *z = logits + (size_t)n * k, *t = teacher + (size_t)n * k;
        float *p = probs + (size_t)n * k, *d = dlogits + (size_t)n * k;
        double zmax = z[0], sum = 0;
        for (int j = 1; j < k; j++) zmax = z[j] > zmax ? z[j] : zmax;
        for (int j = 0; j < k; j++) sum += exp((double)z[j] - zmax);
        for (int j = 0; j < k; j++) p[j] = (float)(exp((double)z[j] - zmax) / sum);
        if (n >= valid) {
            memset(d, 0, sizeof(float) * (size_t)k);
            continue;
        }
        /* softmax(z/T) and softmax(t/T) through their log-normalizers: the
         * maximum of z/T is zmax/T since T > 0. */
        double tmax = t[0], sum_zt = 0, sum_tt = 0;
        for (int j = 1; j < k; j++) tmax = t[j] > tmax ? t[j] : tmax;
        for (int j = 0; j < k; j++) {
            sum_zt += exp(((double)z[j] - zmax) / T);
            sum_tt += exp(((double)t[j] - tmax) / T);
        }
        double log_zt = log(sum_zt), log_tt = log(sum_tt), kl = 0;
        double ce = log(sum) + zmax - z[labels[n]];
        for (int j = 0; j < k; j++) {
            double lq = ((double)z[j] - zmax) / T - log_zt;      /* log softmax(z/T)_j */
            double lpt = ((double)t[j] - tmax) / T - log_tt;     /* log softmax(t/T)_j */
            double pt = exp(lpt), q = exp(lq);
            if (pt > 0) kl += pt * (lpt - lq);
            double pz = exp((double)z[j] - zmax) / sum;
            double g = (1 - A) * (pz - (j == labels[n])) + A * T * (q - pt);
            d[j] = (float)(g / valid);
        }
        loss += (1 - A) * ce + A * T * T * kl;
    }
    return loss / valid;
}

/* Backward through every layer from net->diff_logits_user. */
static int backward_from_diff_logits(rm_net *net)
{
    int k = net->def->classes;
    rm_layer *last = &net->layers[net->num_layers - 1];
    if (net->diff_logits_reorder) {
        RM_TRY(rm_reorder_run(&net->dnn, net->diff_logits_reorder, net->diff_logits_mem, net->last_diff_2d));
    } else {
        memcpy(rm_memory_ptr(last->diff_dst), net->diff_logits_user, (size_t)net->batch * (size_t)k * sizeof(float));
    }
    for (int i = net->num_layers - 1; i >= 0; i--) {
        rm_layer *l = &net->layers[i];
        if (l->grad_sum && grad_sum_run(net, l->grad_sum) != 0) return rm_error_prefix("backward %s", l->def->name);
        if (l->ops->backward(l, net) != 0) return rm_error_prefix("backward %s", l->def->name);
        if (net->backward_done) {
            RM_TRY(RM_DNNL(dnnl_stream_wait(net->dnn.stream)));
            RM_TRY(net->backward_done(net->backward_done_ctx, l));
        }
    }
    if (net->input_sum) RM_TRY(grad_sum_run(net, net->input_sum));
    if (net->input_grad) RM_TRY(rm_reorder_run(&net->dnn, net->input_grad_reorder, net->input_diff,
                                               net->input_grad_user));
    net->step++;
    return RM_DNNL(dnnl_stream_wait(net->dnn.stream));
}

int rm_net_loss_backward(rm_net *net, const int32_t *labels, int valid, double *loss)
{
    if (net->mode != RM_MODE_TRAIN) return rm_error("network was built for inference only");
    int k = net->def->classes;
    for (int n = 0; n < valid; n++)
        if (labels[n] < 0 || labels[n] >= k) return rm_error("label %d out of range 0..%d", labels[n], k - 1);
    *loss = softmax_xent(net->probs, net->diff_logits_user, rm_net_logits(net), labels, net->batch, valid, k);
    return backward_from_diff_logits(net);
}

int rm_net_kd_loss_backward(rm_net *net, const int32_t *labels, const float *teacher, int valid, double T,
                            double A, double *loss)
{
    if (net->mode != RM_MODE_TRAIN) return rm_error("network was built for inference only");
    if (!(T > 0) || !(A >= 0 && A <= 1)) return rm_error("distillation: T %g must be > 0 and A %g in [0, 1]", T, A);
    int k = net->def->classes;
    for (int n = 0; n < valid; n++)
        if (labels[n] < 0 || labels[n] >= k) return rm_error("label %d out of range 0..%d", labels[n], k - 1);
    *loss = rm_kd_xent(net->probs, net->diff_logits_user, rm_net_logits(net), teacher, labels, net->batch, valid,
                       k, T, A);
    return backward_from_diff_logits(net);
}

int rm_net_backward(rm_net *net, const float *dlogits)
{
    if (net->mode != RM_MODE_TRAIN) return rm_error("network was built for inference only");
    memcpy(net->diff_logits_user, dlogits, sizeof(float) * (size_t)net->batch * (size_t)net->def->classes);
    return backward_from_diff_logits(net);
}

const float *rm_net_input_grad(rm_net *net)
{
    if (!net->input_grad) return NULL;
    return rm_memory_ptr(net->input_grad_reorder ? net->input_grad_user : net->input_diff);
}

rm_param *rm_net_param(rm_net *net, const char *layer, const char *name)
{
    for (int i = 0; i < net->num_layers; i++) {
        rm_layer *l = &net->layers[i];
        if (strcmp(l->def->name, layer) != 0) continue;
        for (int p = 0; p < l->num_params; p++)
            if (!strcmp(l->params[p].name, name)) return &l->params[p];
    }
    return NULL;
}

/* The parameter's memory seen with its plain dims (dense weights [O,I] vs a
 * 4D [O,C,H,W] layout are the same bytes in oihw order). */
static int plain_copy(rm_net *net, rm_param *p, dnnl_memory_t mem, float *plain, int to_mem)
{
    const dnnl_memory_desc_t *md;
    RM_DNNL_TRY(dnnl_memory_get_memory_desc(mem, &md));
    dnnl_format_tag_t tag = p->plain_tag;
    if (md->ndims == 4 && p->ndims == 2) tag = dnnl_oihw;
    if (md->ndims == 5 && p->ndims == 4) tag = dnnl_goihw;   /* grouped conv: [O,C/G,K,K] is goihw */
    return to_mem ? rm_memory_write(&net->dnn, mem, plain, tag) : rm_memory_read(&net->dnn, mem, plain, tag);
}

int rm_net_param_write(rm_net *net, rm_param *p, const float *plain) { return plain_copy(net, p, p->value, (float *)plain, 1); }
int rm_net_param_read(rm_net *net, rm_param *p, float *plain) { return plain_copy(net, p, p->value, plain, 0); }

int rm_net_grad_read(rm_net *net, rm_param *p, float *plain)
{
    if (!p->grad) return rm_error("%s has no gradient", p->name);
    return plain_copy(net, p, p->grad, plain, 0);
}
