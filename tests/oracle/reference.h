/* Slow, obviously-correct double-precision reference kernels: the test
 * oracles for the fast oneDNN layers. Plain NCHW layout, direct loops.
 *
 * Conventions (llm.c style):
 * - every layer is a <layer>_forward / <layer>_backward pair; arguments are
 *   outputs first, then inputs, then sizes;
 * - forward functions OVERWRITE their outputs;
 * - backward functions ACCUMULATE (+=) into every gradient they are given
 *   (rm_ref_softmax_xent is the one exception: it overwrites dlogits);
 * - pooled/convolved sizes: OH = (H + 2*pad - K) / stride + 1 (floor, zero
 *   padding), OW likewise; see rm_ref_out_size.
 * No function can fail; sizes must be positive and pointers valid unless a
 * comment says NULL is allowed. */
#ifndef RELMASK_REFERENCE_H
#define RELMASK_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

/* (in + 2*pad - k) / stride + 1, the output side of a conv or pooling. */
int rm_ref_out_size(int in, int k, int stride, int pad);

/* ---- convolution (cross-correlation, as in PyTorch) ---------------------
 * y [N,O,OH,OW], x [N,C,H,W], w [O,C,K,K], b [O] or NULL (no bias).
 * y[n,o,i,j] = b[o] + sum_{c,a,e} w[o,c,a,e] * x[n,c,i*stride-pad+a, j*stride-pad+e]
 * where x outside [0,H)x[0,W) is 0. */
void rm_ref_conv_forward(double *y, const double *x, const double *w, const double *b,
                         int N, int C, int H, int W, int O, int K, int stride, int pad);
/* dx [N,C,H,W] (NULL: skip), dw [O,C,K,K], db [O] (NULL: no bias),
 * dy [N,O,OH,OW], x [N,C,H,W], w [O,C,K,K]. Accumulates. */
void rm_ref_conv_backward(double *dx, double *dw, double *db, const double *dy,
                          const double *x, const double *w,
                          int N, int C, int H, int W, int O, int K, int stride, int pad);

/* The same with dilation (taps spaced `dilation` apart: x[i*stride -
 * top + ki*dilation]) and padding top, left, bottom, right:
 * OH = (H + top + bottom - ((K-1)*dilation + 1)) / stride + 1. */
typedef struct {
    int stride, dilation, pads[4];
} rm_ref_conv_geom;
rm_ref_conv_geom rm_ref_conv_sym(int stride, int pad);
void rm_ref_conv_geom_forward(double *y, const double *x, const double *w, const double *b, int N, int C, int H,
                              int W, int O, int K, rm_ref_conv_geom g);
void rm_ref_conv_geom_backward(double *dx, double *dw, double *db, const double *dy, const double *x, const double *w,
                               int N, int C, int H, int W, int O, int K, rm_ref_conv_geom g);

/* ---- dense (fully connected, PyTorch nn.Linear layout) ------------------
 * y [N,O], x [N,I], w [O,I], b [O] or NULL.  y[n,o] = b[o] + sum_i w[o,i] x[n,i] */
void rm_ref_dense_forward(double *y, const double *x, const double *w, const double *b,
                          int N, int I, int O);
/* dx [N,I] (NULL: skip), dw [O,I], db [O] (NULL: no bias), dy [N,O],
 * x [N,I], w [O,I]. Accumulates. */
void rm_ref_dense_backward(double *dx, double *dw, double *db, const double *dy,
                           const double *x, const double *w, int N, int I, int O);

/* ---- ReLU ---------------------------------------------------------------
 * y [n], x [n]: y = x > 0 ? x : +0 (NaN propagates, as in PyTorch and oneDNN).
 * Backward: dx [n] += dy [n] * (x > 0). */
void rm_ref_relu_forward(double *y, const double *x, size_t n);
void rm_ref_relu_backward(double *dx, const double *dy, const double *x, size_t n);
/* The [relu] layer's variants: y = x for 0 < x, min(x, max) when max > 0
 * (clipped: relu6 is max = 6), slope * x for x <= 0 (leaky). The backward
 * adds dy times 1 on (0, max), 0 at or above max, slope at or below 0. */
void rm_ref_leaky_clip_forward(double *y, const double *x, size_t n, double slope, double max);
void rm_ref_leaky_clip_backward(double *dx, const double *dy, const double *x, size_t n, double slope, double max);

/* ---- max pooling --------------------------------------------------------
 * y [N,C,OH,OW], argmax [N,C,OH,OW] (NULL: not wanted), x [N,C,H,W].
 * argmax holds the flat index into x ((n*C + c)*H + h)*W + w of each
 * window's winner. Padding cells never win (they act as -inf); ties go to
 * the first cell in row-major window order; a NaN in a window wins (the
 * first NaN), so NaNs propagate. Requires pad < K, so that every window
 * holds at least one real cell. */
void rm_ref_maxpool_forward(double *y, int64_t *argmax, const double *x,
                            int N, int C, int H, int W, int K, int stride, int pad);
/* The same with padding top, left, bottom, right (g.pads; g.dilation
 * unused): OH = (H + top + bottom - K) / stride + 1. Every pad < K. */
void rm_ref_maxpool_geom_forward(double *y, int64_t *argmax, const double *x, int N, int C, int H, int W, int K,
                                 rm_ref_conv_geom g);
/* dx [N,C,H,W] += dy [N,C,OH,OW] routed to the winners in argmax
 * [N,C,OH,OW]; cells that win several overlapping windows accumulate. */
void rm_ref_maxpool_backward(double *dx, const double *dy, const int64_t *argmax,
                             int N, int C, int OH, int OW);

/* ---- average pooling ----------------------------------------------------
 * y [N,C,OH,OW], x [N,C,H,W]. Each output is the sum of the real cells in
 * its window divided by K*K (include_pad = 1, PyTorch's default
 * count_include_pad=True) or by the number of real cells (include_pad = 0).
 * Requires pad < K. */
void rm_ref_avgpool_forward(double *y, const double *x, int N, int C, int H, int W,
                            int K, int stride, int pad, int include_pad);
/* dx [N,C,H,W] += (the transpose of the above) dy [N,C,OH,OW]. */
void rm_ref_avgpool_backward(double *dx, const double *dy, int N, int C, int H, int W,
                             int K, int stride, int pad, int include_pad);
/* The same with padding top, left, bottom, right (g.pads; g.dilation
 * unused). Every pad < K. */
void rm_ref_avgpool_geom_forward(double *y, const double *x, int N, int C, int H, int W, int K, rm_ref_conv_geom g,
                                 int include_pad);
void rm_ref_avgpool_geom_backward(double *dx, const double *dy, int N, int C, int H, int W, int K, rm_ref_conv_geom g,
                                  int include_pad);

/* ---- global average pooling ---------------------------------------------
 * y [N,C] = mean over H,W of x [N,C,H,W].  Backward: dx [N,C,H,W] += dy [N,C] / (H*W). */
void rm_ref_global_avgpool_forward(double *y, const double *x, int N, int C, int H, int W);
void rm_ref_global_avgpool_backward(double *dx, const double *dy, int N, int C, int H, int W);

/* ---- batch normalization (per channel, statistics over N,H,W) -----------
 * Training: y [N,C,H,W], mean [C], var [C] (outputs), x [N,C,H,W],
 * gamma [C], beta [C].  M = N*H*W,
 *   mean[c] = sum x / M,  var[c] = sum (x - mean)^2 / M  (biased),
 *   y = gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c]. */
void rm_ref_batchnorm_train_forward(double *y, double *mean, double *var, const double *x,
                                    const double *gamma, const double *beta,
                                    int N, int C, int H, int W, double eps);
/* The exact gradient of the training forward, through the batch statistics.
 * dx [N,C,H,W], dgamma [C], dbeta [C] (each may be NULL: skip) accumulate;
 * dy, x [N,C,H,W]; mean, var [C] as returned by the forward; gamma [C].
 * With xhat = (x - mean) / sqrt(var + eps):
 *   dbeta  += sum dy,   dgamma += sum dy * xhat,
 *   dx     += gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat)). */
void rm_ref_batchnorm_backward(double *dx, double *dgamma, double *dbeta, const double *dy,
                               const double *x, const double *mean, const double *var,
                               const double *gamma, int N, int C, int H, int W, double eps);
/* Inference: y [N,C,H,W] = gamma[c] * (x - running_mean[c]) /
 * sqrt(running_var[c] + eps) + beta[c]; all per-channel arrays are [C]. */
void rm_ref_batchnorm_infer_forward(double *y, const double *x, const double *gamma,
                                    const double *beta, const double *running_mean,
                                    const double *running_var,
                                    int N, int C, int H, int W, double eps);

/* ---- dropout with a given mask (inverted scaling) -----------------------
 * y [n], x [n], mask [n] (nonzero = keep), p = drop probability in [0, 1].
 * y = mask ? x * (1 / (1 - p)) : 0 (p = 1 gives all zeros).
 * Backward: dx [n] += mask ? dy * (1 / (1 - p)) : 0. */
void rm_ref_dropout_forward(double *y, const double *x, const uint8_t *mask, size_t n, double p);
void rm_ref_dropout_backward(double *dx, const double *dy, const uint8_t *mask, size_t n,
                             double p);

/* ---- softmax + cross-entropy (mean over the batch) ----------------------
 * probs [N,K] (overwritten), dlogits [N,K] (OVERWRITTEN, not accumulated;
 * NULL: skip), *loss_out (NULL: skip), logits [N,K], labels [N] in [0,K).
 *   probs = softmax(logits) per row (max subtracted first),
 *   loss  = mean_n (logsumexp(logits[n]) - logits[n, labels[n]]),
 *   dlogits = (probs - onehot(labels)) / N. */
void rm_ref_softmax_xent(double *probs, double *dlogits, double *loss_out,
                         const double *logits, const int32_t *labels, int N, int K);

/* ---- optimizers (in place, matching PyTorch 2.x single-tensor code) -----
 * SGD, torch.optim.SGD with dampening 0. w [n], v [n] (momentum buffer,
 * start it at 0; NULL allowed when momentum == 0), g [n].
 *   g' = g + weight_decay * w
 *   v  = momentum * v + g'           (PyTorch sets v = g' on the first step;
 *                                     with v starting at 0 this is identical)
 *   u  = nesterov ? g' + momentum * v : v      (u = g' when momentum == 0)
 *   w -= lr * u */
void rm_ref_sgd_step(double *w, double *v, const double *g, size_t n, double lr,
                     double momentum, double weight_decay, int nesterov);
/* Adam, torch.optim.Adam (amsgrad off; weight decay is L2 added to the
 * gradient, not AdamW). w, m, v, g [n]; m and v start at 0; step counts
 * from 1 (the number of this update).
 *   g' = g + weight_decay * w
 *   m  = beta1 * m + (1 - beta1) * g'
 *   v  = beta2 * v + (1 - beta2) * g'^2
 *   w -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps) */
void rm_ref_adam_step(double *w, double *m, double *v, const double *g, size_t n,
                      double lr, double beta1, double beta2, double eps,
                      double weight_decay, int step);

#endif
