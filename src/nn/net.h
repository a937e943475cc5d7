/* A network built from a definition for a fixed batch size: every layer's
 * oneDNN primitives are created once (layouts chosen by oneDNN through
 * format_tag_any, reorders only at the input edge) and every buffer lives
 * in one arena allocated up front. forward/backward then only execute.
 *
 * Data flow: the caller writes a plain NCHW float batch into
 * rm_net_input(net) [B,C,H,W]; rm_net_forward fills rm_net_logits(net)
 * [B,K] (plain); rm_net_loss_backward computes the softmax cross-entropy
 * and every parameter gradient (overwritten each call, not accumulated). */
#ifndef RELMASK_NET_H
#define RELMASK_NET_H

#include <stdint.h>

#include "nn/dnn.h"
#include "nn/netdef.h"

/* INFER: forward only. TRAIN: forward (batch statistics, dropout) and every
 * backward. LRP: forward as INFER (a batchnorm the engine cannot fold runs as
 * in inference), plus the primitives relevance propagation needs
 * (rm_lrp_prims). */
typedef enum { RM_MODE_INFER = 0, RM_MODE_TRAIN = 1, RM_MODE_LRP = 2 } rm_mode;

/* What a layer built for RM_MODE_LRP exposes: convolution and dense give
 * their inference forward and backward-data primitives (the same primitive
 * runs with modified weights and inputs) and the weight layout each expects;
 * max/avg pooling give the forward (with workspace) and backward. */
typedef struct {
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t fwd_scratch, bwd_scratch, workspace;
    dnnl_memory_desc_t weights_md, bwd_weights_md;
    dnnl_memory_desc_t bwd_diff_src_md;   /* backward-data's output layout (may differ from src) */
    /* conv: fwd reads its input through this copy (another layout), which
     * src_to_copy fills from any tensor in the src layout; NULL: directly */
    dnnl_memory_t src_copy;
    dnnl_primitive_t src_to_copy;
} rm_lrp_prims;

/* A parameter tensor. value/grad share oneDNN's chosen layout (so an
 * optimizer can update them elementwise, padding included: padded entries
 * stay zero); plain_tag/dims give the PyTorch-convention layout used in
 * model files: conv [O,I,KH,KW], dense [O,I] (I in C,H,W order), vectors [C]. */
typedef struct {
    char name[16];              /* weight, bias, gamma, beta, running_mean, running_var */
    int learnable;              /* 0: running statistics (saved, not optimized) */
    int ndims;
    dnnl_dims_t dims;           /* plain dims, PyTorch convention */
    dnnl_format_tag_t plain_tag;
    dnnl_memory_t value, grad;  /* grad NULL when not learnable or inference */
} rm_param;

typedef struct rm_net rm_net;
typedef struct rm_layer rm_layer;
typedef struct rm_grad_sum rm_grad_sum;   /* net.c: sums a shared output's gradients */

typedef struct {
    /* Creates primitive descriptors and memories (registered in the arena)
     * from l->src_md; sets l->dst_md and l->dst (and l->diff_src when
     * training). Primitives that need no storage are created here too. */
    int (*build)(rm_layer *l, rm_net *net);
    int (*forward)(rm_layer *l, rm_net *net);
    /* Uses l->diff_dst; writes parameter grads and, if l->diff_src, diff_src. */
    int (*backward)(rm_layer *l, rm_net *net);
    void (*destroy)(rm_layer *l);
    /* Optional, training: called once diff_dst is linked, before the layers
     * below link to this layer's input gradients; for layers whose input
     * gradients alias diff_dst (flatten, add). */
    int (*link)(rm_layer *l, rm_net *net);
} rm_layer_ops;

enum { RM_MAX_PARAMS = 4 };

/* Graphs (netdef.h, `from`): a layer reads the dst of the layers its
 * definition names (or the network input); src/src_md is its first input.
 * A layer output read by one input edge passes that consumer's input
 * gradient down as its diff_dst (no copy, the sequential case); one read
 * by several edges gets its own diff_dst and a sum primitive, created at
 * build, that adds the consumers' gradients before its backward.
 * Aliasing (flatten's views, a ReLU fused into the convolution before it)
 * never writes into another layer's output: a fused ReLU rectifies the
 * convolution's own output, so it is fused only when that convolution's
 * output has the ReLU as its single consumer and the ReLU is the next
 * layer. */
struct rm_layer {
    const rm_layer_def *def;
    const rm_layer_ops *ops;
    int index;
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_memory_t src, dst;            /* src: the first input's dst (not owned) */
    dnnl_memory_t diff_src, diff_dst;  /* diff_dst: the consumer's diff_src, or the sum of several (grad_sum) */
    int owns_dst, owns_diff_src;       /* 0 for layers that alias (flatten) */
    int fused_relu;                    /* conv: applies the next ReLU as a post-op;
                                          relu: already applied, dst aliases src */
    int plain_dst;                     /* conv: write dst as plain NCHW, for a reader that has no
                                          fast kernel for blocked input (net.c, plain_layouts) */
    int slow_src;                      /* conv: oneDNN has only its reference kernel for src_md */
    int num_inputs;                    /* def->num_inputs */
    dnnl_memory_t in[RM_MAX_INPUTS];   /* every input (in[0] = src; not owned) */
    const dnnl_memory_desc_t *in_md[RM_MAX_INPUTS];   /* their layouts (*in_md[0] = src_md) */
    dnnl_memory_t diff_in[RM_MAX_INPUTS];   /* add/concat: each input's gradient (diff_in[0] = diff_src) */
    int consumers;                     /* input edges reading dst; 0 for the last layer */
    rm_grad_sum *grad_sum;             /* consumers > 1 in training: owns diff_dst */
    rm_param params[RM_MAX_PARAMS];
    int num_params;
    rm_lrp_prims lrp;                  /* RM_MODE_LRP only */
    void *impl;
};

struct rm_net {
    const rm_netdef *def;              /* the caller's; must outlive the net */
    int batch;
    rm_mode mode;
    int input_grad;                    /* compute d loss / d input too */
    rm_dnn dnn;
    rm_arena arena;
    rm_layer *layers;
    int num_layers;
    dnnl_memory_t input_user, input;   /* plain NCHW batch; first layer's layout */
    dnnl_memory_desc_t input_md;       /* input's */
    dnnl_memory_t input_diff;          /* d loss / d input in input_md (input_grad) */
    rm_grad_sum *input_sum;            /* the input read by several layers (input_grad) */
    dnnl_primitive_t input_reorder;
    dnnl_memory_t input_grad_user;     /* plain NCHW d loss / d input (input_grad) */
    dnnl_primitive_t input_grad_reorder;
    dnnl_memory_t logits_user;         /* plain [B,K] */
    dnnl_primitive_t logits_reorder;
    float *probs, *diff_logits_user;   /* [B,K] */
    dnnl_memory_t diff_logits_mem;     /* wraps diff_logits_user */
    dnnl_memory_t last_dst_2d, last_diff_2d;   /* [B,K] views of the last layer's buffers */
    dnnl_primitive_t diff_logits_reorder;
    /* one scratchpad buffer shared by every primitive (user mode) */
    dnnl_primitive_attr_t attr;
    dnnl_memory_t *scratch;
    int num_scratch;
    size_t scratch_size;
    void *scratch_base;
    uint64_t seed, step;               /* dropout masks: f(seed, step, layer, element) */
    uint64_t sample_offset;            /* data-parallel: the batch row of this net's row 0 (dropout) */
    /* training, optional: called after each layer's backward, when that
     * layer's parameter gradients are final (data-parallel training starts
     * their sum over the ranks there, overlapping the layers below) */
    int (*backward_done)(void *ctx, rm_layer *layer);
    void *backward_done_ctx;
    const unsigned char *lrp_fuse_relu;   /* while building (rm_net_create_lrp) */
    const unsigned char *plain_dst;       /* while building: layers asked for plain NCHW output */
};

/* Builds a network. mode RM_MODE_TRAIN creates backward primitives too. */
int rm_net_create(rm_net *net, const rm_netdef *def, int batch, rm_mode mode, int input_grad);
/* RM_MODE_LRP. fuse_relu[i] = 1 lets convolution i apply the ReLU after it
 * as a post-op (its output is then max(z, 0), not z; its lrp.fwd stays
 * without the post-op for modified weights); NULL fuses none. */
int rm_net_create_lrp(rm_net *net, const rm_netdef *def, int batch, const unsigned char *fuse_relu);
void rm_net_destroy(rm_net *net);

float *rm_net_input(rm_net *net);            /* [B,C,H,W] plain, caller fills */
int rm_net_forward(rm_net *net);
const float *rm_net_logits(rm_net *net);     /* [B,K] after forward */
/* Any number of images x [count,C,H,W] through a net built for net->batch,
 * net->batch at a time (the last slice zero-padded): logits [count,K]. */
int rm_net_forward_images(rm_net *net, const float *x, int64_t count, float *logits);
/* Softmax cross-entropy over the first `valid` images of the batch (the
 * rest are padding and get zero gradient), mean over valid; then backward
 * through every layer. Returns the loss in *loss; probabilities in
 * net->probs. */
int rm_net_loss_backward(rm_net *net, const int32_t *labels, int valid, double *loss);
/* Knowledge distillation (Hinton et al. 2015; docs/train.md): per sample
 * (1-A) CE(y, softmax(z)) + A T^2 KL(softmax(t/T) || softmax(z/T)), z the
 * student's logits, t the teacher's (teacher [B,K], rows >= valid unused),
 * mean over valid; then backward. A = 0 is rm_net_loss_backward exactly. */
int rm_net_kd_loss_backward(rm_net *net, const int32_t *labels, const float *teacher, int valid, double T,
                            double A, double *loss);
/* The loss of rm_net_kd_loss_backward without a network: the batch mean over
 * `valid` rows of logits [batch,K]; writes probs (softmax(z)) and dlogits
 * (d mean loss / d z; rows >= valid zero). Softmaxes in double precision
 * after subtracting the row maximum. T > 0, A in [0, 1]. */
double rm_kd_xent(float *probs, float *dlogits, const float *logits, const float *teacher, const int32_t *labels,
                  int batch, int valid, int k, double T, double A);
const float *rm_net_input_grad(rm_net *net); /* [B,C,H,W] when input_grad */
/* Backward from a given gradient of the logits [B,K] (e.g. one-hot for
 * d logit / d input), after rm_net_forward. */
int rm_net_backward(rm_net *net, const float *dlogits);

/* Parameter access in the plain (PyTorch) layout, for model files/tests. */
rm_param *rm_net_param(rm_net *net, const char *layer, const char *name);
int rm_net_param_write(rm_net *net, rm_param *p, const float *plain);
int rm_net_param_read(rm_net *net, rm_param *p, float *plain);
int rm_net_grad_read(rm_net *net, rm_param *p, float *plain);
int64_t rm_param_plain_count(const rm_param *p);

/* Helpers for layer implementations. */
/* Whether backward must compute the gradient of input k (training; not
 * for the network input unless input_grad). */
int rm_layer_wants_diff(const rm_layer *l, const rm_net *net, int k);
int rm_net_scratchpad(rm_net *net, const_dnnl_primitive_desc_t pd, dnnl_memory_t *mem);
int rm_net_pd(rm_net *net, dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t desc,
              const_dnnl_primitive_desc_t hint);
int rm_layer_add_param(rm_layer *l, rm_net *net, const char *name, int learnable,
                       const dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t plain_dims,
                       dnnl_format_tag_t plain_tag);

/* The layer implementations, one file each (src/nn/layer_*.c). */
extern const rm_layer_ops rm_conv_ops, rm_relu_ops, rm_pool_ops, rm_flatten_ops, rm_dropout_ops,
    rm_batchnorm_ops, rm_dense_ops, rm_add_ops, rm_concat_ops, rm_scale_ops;

#endif
