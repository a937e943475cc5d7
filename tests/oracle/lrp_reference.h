/* Slow, obviously-correct double-precision Layer-wise Relevance Propagation:
 * the test oracle for the fast four-step LRP on oneDNN (src/relevance/lrp.h).
 *
 * The dense and convolution rules are written in plain MATRIX FORM, not with
 * the four-step trick: for every output k the layer's contributing inputs j
 * are enumerated explicitly (dense: every input; convolution: every real,
 * non-padding cell of the output's window over all channels), each rule
 * names a contribution a_jk and a bias term b'_k, and
 *
 *     z'_k = sum_j a_jk + b'_k,       R_j = sum_k a_jk / stab(z'_k) * R_k,
 *     alpha-beta: R_j = sum_k [alpha a+_jk / stab(z'+_k) - beta a-_jk / stab(z'-_k)] R_k,
 *     stab(z) = z + eps * sign0(z),   sign0(z) = z >= 0 ? +1 : -1.
 *
 * Conventions (the same as reference.h): plain NCHW, x [N,C,H,W] / [N,I],
 * w [O,C,K,K] / [O,I] (PyTorch layouts), b [O] or NULL (no bias); outputs
 * first, then inputs, then sizes; OH = (H + 2*pad - K) / stride + 1.
 * Unlike the gradient kernels, every relevance function OVERWRITES its output
 * (rin is set, not accumulated). Writing j for an input, k for an output,
 * z_jk = x_j w_jk, and p+ = max(p, 0), p- = min(p, 0):
 *
 *   rule        a_jk                                   b'_k           stabilizer
 *   ZERO        x_j w_jk                               b_k            0 (eps ignored)
 *   EPSILON     x_j w_jk                               b_k            eps
 *   ZPLUS       x_j+ w_jk+ + x_j- w_jk-                b_k+           eps
 *   ALPHABETA   two terms with their own denominators:                eps
 *               alpha * [a+_jk = x+ w+ + x- w-,  b'_k = b+]
 *             - beta  * [a-_jk = x+ w- + x- w+,  b'_k = b-]
 *   GAMMA       z_k >= 0: z_jk + gamma z_jk+           b + gamma b+   eps
 *               z_k <  0: z_jk + gamma z_jk-           b + gamma b-
 *   WSQUARE     w_jk^2                                 0              eps
 *   FLAT        1                                      0              eps
 *   ZBOX        x_j w_jk - l_j w_jk+ - h_j w_jk-       0              eps
 *
 * Bias conventions (docs/method.md; bench/peers/torch_peer.py; zennit):
 * - z+ puts b+ (the positive part of the bias) into the denominator only:
 *   z+ = x+W+ + x-W- + b+ (zennit's ZPlus; torch_peer.py's F.conv2d(a, W+,
 *   b+)). Alpha-beta likewise: b+ in the positive, b- in the negative part.
 * - z-box has no bias: zennit's ZBox carries b through all three terms,
 *   b - b+ - b- = 0, so it cancels (torch_peer.py passes None).
 * - w-square and flat ignore the bias (method.md's formula; zennit's Flat
 *   zeroes it; zennit's WSquare would add b^2 to the denominator, which we do
 *   not, so that both rules always conserve).
 * - ignore_bias = 1 sets every b'_k above to 0 (not the gamma rule's choice
 *   of branch, which always looks at the layer's real output z_k).
 *
 * Gamma convention. method.md: "weights W + gamma W+ for positive outputs,
 * mirrored for negative ones". We implement zennit's generalized Gamma
 * (rules.Gamma: x+ (W + gamma W+) + x- (W + gamma W-) and bias b + gamma b+
 * where the layer's real output z_k = xW + b is positive; x+ (W + gamma W-)
 * + x- (W + gamma W+) and b + gamma b- where it is negative). Per connection
 * this is z_jk + gamma z_jk+ (resp. z_jk + gamma z_jk-): the contributions
 * that share the output's sign are amplified. For nonnegative inputs (every
 * layer after a ReLU) it is exactly x (W + gamma W+) resp. x (W + gamma W-),
 * i.e. method.md's formula; for negative inputs it keeps "amplify the
 * contributions that agree with the output" true, which plain W + gamma W+
 * would not (x- w+ < 0 would be amplified in a positive output).
 * The branch is chosen with sign0: z_k == 0 exactly counts as positive (the
 * project's sign0 convention; zennit gives such an output no relevance).
 *
 * Zero denominators: stab(z'_k) can only be 0 when the stabilizer is 0
 * (LRP-0, or a rule run with eps = 0) and z'_k == 0; such an output passes
 * no relevance (instead of producing inf/NaN). */
#ifndef RELMASK_LRP_REFERENCE_H
#define RELMASK_LRP_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "oracle/reference.h"

typedef enum {
    RM_LRP_ZERO = 0,    /* LRP-0 */
    RM_LRP_EPSILON,     /* LRP-epsilon */
    RM_LRP_ZPLUS,       /* z+ = alpha1-beta0 */
    RM_LRP_ALPHABETA,   /* alpha-beta, alpha - beta = 1, both >= 0 */
    RM_LRP_GAMMA,       /* generalized gamma (zennit) */
    RM_LRP_WSQUARE,     /* w^2 / sum w^2, input ignored */
    RM_LRP_FLAT,        /* 1 / fan-in, input ignored */
    RM_LRP_ZBOX,        /* z^B with bounds l <= x <= h (input layer) */
    RM_LRP_RULE_COUNT
} rm_lrp_rule;

/* The stabilizer of the non-epsilon rules in rm_lrp_params_default
 * (zennit's default, torch_peer.py's STAB). */
#define RM_LRP_STAB_EPS 1e-6
/* The epsilon of the epsilon rule in rm_lrp_params_default (torch_peer.py). */
#define RM_LRP_DEFAULT_EPS 1e-2

typedef struct {
    rm_lrp_rule rule;
    /* EPSILON: the epsilon; every other rule except ZERO: the stabilizer
     * (ZERO always uses 0). Must be >= 0. */
    double eps;
    double gamma;           /* GAMMA, >= 0 */
    double alpha, beta;     /* ALPHABETA: alpha, beta >= 0, alpha - beta = 1 */
    /* ZBOX bounds: scalars, or (when the map is not NULL) one value per input
     * element of ONE sample ([C,H,W] or [I]), the same for every n. */
    double low, high;
    const double *low_map, *high_map;
    int ignore_bias;        /* 1: b'_k = 0 in every rule */
} rm_lrp_params;

/* "zero", "epsilon", "zplus", "alphabeta", "gamma", "wsquare", "flat", "zbox". */
const char *rm_lrp_rule_name(rm_lrp_rule rule);

/* Defaults: eps = 0 (ZERO), RM_LRP_DEFAULT_EPS (EPSILON), RM_LRP_STAB_EPS
 * (others); gamma 0.25; alpha 2, beta 1 for ALPHABETA (alpha 1, beta 0
 * otherwise); low 0, high 1, no maps; ignore_bias 0. */
rm_lrp_params rm_lrp_params_default(rm_lrp_rule rule);

/* 0 if the parameters are usable, else -1 with a message: unknown rule,
 * eps < 0 or not finite, gamma < 0, alpha/beta negative or alpha - beta != 1
 * (|alpha - beta - 1| > 1e-12) for ALPHABETA, low > high (scalars) for ZBOX. */
int rm_lrp_params_check(const rm_lrp_params *p);

/* stab(z) = z + eps * sign0(z), sign0(0) = +1. */
double rm_lrp_stab(double z, double eps);

/* ---- dense: rin [N,I] (overwritten), rout [N,O], x [N,I], w [O,I], b [O]
 * or NULL. Returns 0, or -1 (message) for invalid parameters or sizes. */
int rm_lrp_ref_dense(double *rin, const double *rout, const double *x, const double *w,
                     const double *b, int N, int I, int O, const rm_lrp_params *p);

/* ---- convolution: rin [N,C,H,W] (overwritten), rout [N,O,OH,OW],
 * x [N,C,H,W], w [O,C,K,K], b [O] or NULL; zero padding (padding cells are
 * not inputs: they contribute nothing and receive nothing, also under FLAT
 * and WSQUARE). Returns 0 or -1 (message; also out of memory). */
int rm_lrp_ref_conv(double *rin, const double *rout, const double *x, const double *w,
                    const double *b, int N, int C, int H, int W, int O, int K, int stride, int pad,
                    const rm_lrp_params *p);
/* The same with dilation and asymmetric padding (reference.h's geometry). */
int rm_lrp_ref_conv_geom(double *rin, const double *rout, const double *x, const double *w, const double *b, int N,
                         int C, int H, int W, int O, int K, rm_ref_conv_geom g, const rm_lrp_params *p);

/* ---- max pooling: winner takes all. rin [N,C,H,W] (overwritten) receives
 * each output's rout [N,C,OH,OW] at the cell rm_ref_maxpool_forward names
 * as the window's winner (ties: first cell in row-major window order;
 * padding never wins); a cell winning several overlapping windows
 * accumulates them all. Requires pad < K. Returns 0 or -1 (out of memory). */
int rm_lrp_ref_maxpool(double *rin, const double *rout, const double *x, int N, int C, int H,
                       int W, int K, int stride, int pad);
/* The same with padding top, left, bottom, right (g.pads, each < K; g.dilation unused). */
int rm_lrp_ref_maxpool_geom(double *rin, const double *rout, const double *x, int N, int C, int H, int W, int K,
                            rm_ref_conv_geom g);

/* ---- average pooling: the epsilon rule with the pooling's own weights,
 * include-padding convention (every weight 1/(K*K), padding cells are zero
 * inputs): z_k = sum_{j in window} x_j / (K*K),
 * R_j = sum_k (x_j / (K*K)) / stab(z_k, eps) * R_k.
 * rin [N,C,H,W] (overwritten), rout [N,C,OH,OW], x [N,C,H,W]. pad < K. */
void rm_lrp_ref_avgpool(double *rin, const double *rout, const double *x, int N, int C, int H,
                        int W, int K, int stride, int pad, double eps);
/* The same with padding top, left, bottom, right (g.pads, each < K; g.dilation
 * unused); include_pad 0: each window's weights are 1 / (its real cells). */
void rm_lrp_ref_avgpool_geom(double *rin, const double *rout, const double *x, int N, int C, int H, int W, int K,
                             rm_ref_conv_geom g, int include_pad, double eps);
/* ---- global average pooling: the same with one window of H*W cells:
 * z_c = sum_j x_j / (H*W), R_j = (x_j / (H*W)) / stab(z_c, eps) * R_c.
 * rin [N,C,H,W] (overwritten), rout [N,C], x [N,C,H,W]. */
void rm_lrp_ref_global_avgpool(double *rin, const double *rout, const double *x, int N, int C,
                               int H, int W, double eps);

/* ---- batch normalization folded into the preceding convolution or dense
 * layer (inference mode, PyTorch semantics: y = g (z - m) / sqrt(v + e) + beta):
 *   w_out[o,:] = w[o,:] * g[o] / sqrt(v[o] + e)
 *   b_out[o]   = (b[o] - m[o]) * g[o] / sqrt(v[o] + e) + beta[o]   (b NULL: 0)
 * w_out, w [O, fan_in] (fan_in = C*K*K for a convolution); b_out, b, gamma,
 * beta, mean, var [O]. w_out may be w and b_out may be b (in place). */
void rm_lrp_ref_fold_bn(double *w_out, double *b_out, const double *w, const double *b,
                        const double *gamma, const double *beta, const double *mean,
                        const double *var, double eps, int O, int fan_in);

/* ---- a whole sequential network --------------------------------------------
 * Layers act on one image shape (C,H,W) at a time; dense layers read the
 * input flattened in C,H,W order (flatten is then a no-op) and produce
 * (O,1,1). The last layer's output, flattened, is the logits [N,K]. */
typedef enum {
    RM_LRP_REF_CONV,            /* units = O, size = K, stride, pad, w, b, rule */
    RM_LRP_REF_DENSE,           /* units = O, w [O, C*H*W], b, rule */
    RM_LRP_REF_RELU,            /* slope, max (leaky, clipped; 0: plain); relevance passes unchanged */
    RM_LRP_REF_MAXPOOL,         /* size, stride, pad or pads: winner takes all */
    RM_LRP_REF_AVGPOOL,         /* size, stride, pad or pads, exclude_pad: epsilon rule, rule.eps */
    RM_LRP_REF_GLOBAL_AVGPOOL,  /* -> (C,1,1): epsilon rule, rule.eps */
    RM_LRP_REF_FLATTEN,         /* -> (C*H*W,1,1): relevance passes unchanged */
    /* graphs only (rm_lrp_ref_graph_run): */
    RM_LRP_REF_ADD,             /* sum of the inputs; zennit's Norm: R_k = x_k / stab(z, rule.eps) * R */
    RM_LRP_REF_CONCAT,          /* channels of the inputs in order; each gets its channels' R */
    RM_LRP_REF_AFFINE           /* y = scale_c x + shift_c (an unfolded batchnorm): the epsilon
                                   rule of that layer, R_in = scale_c x / stab(y, rule.eps) * R
                                   (shift left out of y with rule.ignore_bias) */
} rm_lrp_ref_layer_type;

enum { RM_LRP_REF_MAX_INPUTS = 8 };

typedef struct {
    rm_lrp_ref_layer_type type;
    int units;                  /* CONV, DENSE: output channels / features */
    int size, stride, pad;      /* CONV kernel, pooling window (stride >= 1) */
    int dilation;               /* CONV: 0 or 1 none */
    int pads[4];                /* CONV, pools: top, left, bottom, right when any is set (else pad on every side) */
    int exclude_pad;            /* AVGPOOL: 1 divides by the window's real cells ([avgpool] count_pad = 0) */
    const double *w, *b;        /* CONV [O,C/G,K,K], DENSE [O, C*H*W]; b [O] or NULL */
    rm_lrp_params rule;         /* CONV, DENSE: the rule; pools, ADD, AFFINE: rule.eps */
    /* CONV: groups (0 or 1: none). Group g maps input channels
     * [g C/G, (g+1) C/G) to outputs [g O/G, (g+1) O/G) with weights
     * w[g O/G .. (g+1) O/G); the reference runs rm_lrp_ref_conv on each
     * group's channels separately (a z-box rule then needs scalar bounds). */
    int groups;
    /* graphs: the layers read (earlier indices, -1 the network input);
     * num_inputs 0 reads layer i-1 (the input for layer 0). Sequential
     * runs ignore them. */
    int num_inputs;
    int inputs[RM_LRP_REF_MAX_INPUTS];
    const double *scale, *shift;   /* AFFINE [C] */
    double slope, max;             /* RELU: rm_ref_leaky_clip_forward */
} rm_lrp_ref_layer;

/* Checks the layer list against the input shape (C,H,W); returns the
 * number of logits K (> 0), or -1 with a message naming the layer. */
int rm_lrp_ref_net_classes(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W);

/* Forward pass of x [N,C,H,W], then for each image n relevance seeded with
 * the explained logit (R = onehot(class) * logit[class]; class = target[n],
 * or the predicted class, the first maximal logit, when target is NULL or
 * target[n] < 0), propagated down to the input.
 * Outputs (each may be NULL except relevance):
 *   relevance  [N,C,H,W]  input relevance (the heatmap before summing channels)
 *   layer_sums [N, num_layers+1]: layer_sums[n*(L+1) + i] = sum of the
 *              relevance at the INPUT of layer i (i = 0: the heatmap's sum),
 *              layer_sums[n*(L+1) + L] = the seed's sum = the explained logit
 *   logits     [N,K], explained [N] (the class explained).
 * Returns 0, or -1 with a message (invalid net or rule, bad target, memory). */
int rm_lrp_ref_net_run(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W,
                       int N, const double *x, const int32_t *target, double *relevance,
                       double *layer_sums, double *logits, int32_t *explained);

/* The same with a seed vector per image: R_k = weight[n*K+k] * logit[k]
 * (one-hot weights give rm_lrp_ref_net_run; all ones, the top classes or
 * 1 and -1/(K-1) give the engine's class-set seeds, relevance/lrp.h).
 * layer_sums[n*(L+1) + L] is the seed's sum. */
int rm_lrp_ref_net_run_weighted(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W, int N,
                                const double *x, const double *weight, double *relevance, double *layer_sums,
                                double *logits);

/* ---- a graph network ----------------------------------------------------------
 * The same with every layer reading the layers its `inputs` name (ADD: all
 * of one shape; CONCAT: equal H and W). A layer output read by several
 * layers receives the sum of their relevances; the layers run from the last
 * to the first (the list is in topological order). The last layer's output,
 * flattened, is the logits. Relevance, logits, explained as in
 * rm_lrp_ref_net_run. Returns 0, or -1 with a message. */
int rm_lrp_ref_graph_run(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W, int N,
                         const double *x, const int32_t *target, double *relevance, double *logits,
                         int32_t *explained);

#endif
