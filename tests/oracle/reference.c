/* Slow double-precision reference kernels (see tests/oracle/reference.h).
 * Written to be checked by eye: one direct loop nest per formula, no
 * blocking, no reuse of intermediate results beyond what the formula names. */
#include "oracle/reference.h"

#include <math.h>

int rm_ref_out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

/* Flat index of element (a, b, c, d) of a [A,B,C,D] tensor (A not needed). */
static size_t at4(int a, int b, int c, int d, int B, int C, int D)
{
    return (((size_t)a * B + b) * C + c) * D + d;
}

/* ---- convolution ---------------------------------------------------------- */

void rm_ref_conv_geom_forward(double *y, const double *x, const double *w, const double *b, int N, int C, int H,
                              int W, int O, int K, rm_ref_conv_geom g)
{
    int span = (K - 1) * g.dilation + 1;
    int OH = (H + g.pads[0] + g.pads[2] - span) / g.stride + 1, OW = (W + g.pads[1] + g.pads[3] - span) / g.stride + 1;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double sum = b ? b[o] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < K; ki++)
                            for (int kj = 0; kj < K; kj++) {
                                int h = i * g.stride - g.pads[0] + ki * g.dilation;
                                int v = j * g.stride - g.pads[1] + kj * g.dilation;
                                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                                sum += w[at4(o, c, ki, kj, C, K, K)] * x[at4(n, c, h, v, C, H, W)];
                            }
                    y[at4(n, o, i, j, O, OH, OW)] = sum;
                }
}

void rm_ref_conv_geom_backward(double *dx, double *dw, double *db, const double *dy, const double *x, const double *w,
                               int N, int C, int H, int W, int O, int K, rm_ref_conv_geom g)
{
    int span = (K - 1) * g.dilation + 1;
    int OH = (H + g.pads[0] + g.pads[2] - span) / g.stride + 1, OW = (W + g.pads[1] + g.pads[3] - span) / g.stride + 1;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double gy = dy[at4(n, o, i, j, O, OH, OW)];
                    if (db) db[o] += gy;
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < K; ki++)
                            for (int kj = 0; kj < K; kj++) {
                                int h = i * g.stride - g.pads[0] + ki * g.dilation;
                                int v = j * g.stride - g.pads[1] + kj * g.dilation;
                                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                                size_t wi = at4(o, c, ki, kj, C, K, K);
                                size_t xi = at4(n, c, h, v, C, H, W);
                                dw[wi] += gy * x[xi];
                                if (dx) dx[xi] += gy * w[wi];
                            }
                }
}

rm_ref_conv_geom rm_ref_conv_sym(int stride, int pad) { return (rm_ref_conv_geom){stride, 1, {pad, pad, pad, pad}}; }

void rm_ref_conv_forward(double *y, const double *x, const double *w, const double *b,
                         int N, int C, int H, int W, int O, int K, int stride, int pad)
{
    rm_ref_conv_geom_forward(y, x, w, b, N, C, H, W, O, K, rm_ref_conv_sym(stride, pad));
}

void rm_ref_conv_backward(double *dx, double *dw, double *db, const double *dy,
                          const double *x, const double *w,
                          int N, int C, int H, int W, int O, int K, int stride, int pad)
{
    rm_ref_conv_geom_backward(dx, dw, db, dy, x, w, N, C, H, W, O, K, rm_ref_conv_sym(stride, pad));
}

/* ---- dense ------------------------------------------------------------------ */

void rm_ref_dense_forward(double *y, const double *x, const double *w, const double *b,
                          int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double sum = b ? b[o] : 0.0;
            for (int i = 0; i < I; i++) sum += w[(size_t)o * I + i] * x[(size_t)n * I + i];
            y[(size_t)n * O + o] = sum;
        }
}

void rm_ref_dense_backward(double *dx, double *dw, double *db, const double *dy,
                           const double *x, const double *w, int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double g = dy[(size_t)n * O + o];
            if (db) db[o] += g;
            for (int i = 0; i < I; i++) {
                dw[(size_t)o * I + i] += g * x[(size_t)n * I + i];
                if (dx) dx[(size_t)n * I + i] += g * w[(size_t)o * I + i];
            }
        }
}

/* ---- ReLU ------------------------------------------------------------------- */

void rm_ref_relu_forward(double *y, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = (x[i] > 0 || isnan(x[i])) ? x[i] : 0.0;
}

void rm_ref_relu_backward(double *dx, const double *dy, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] > 0) dx[i] += dy[i];
}

void rm_ref_leaky_clip_forward(double *y, const double *x, size_t n, double slope, double max)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = v > 0 ? (max > 0 && v > max ? max : v) : slope * v;
    }
}

void rm_ref_leaky_clip_backward(double *dx, const double *dy, const double *x, size_t n, double slope, double max)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        dx[i] += dy[i] * (v > 0 ? (max > 0 && v >= max ? 0.0 : 1.0) : slope);
    }
}

/* ---- max pooling ------------------------------------------------------------ */

static int pool_out(int in, int K, int stride, int begin, int end) { return (in + begin + end - K) / stride + 1; }

void rm_ref_maxpool_geom_forward(double *y, int64_t *argmax, const double *x, int N, int C, int H, int W, int K,
                                 rm_ref_conv_geom g)
{
    int OH = pool_out(H, K, g.stride, g.pads[0], g.pads[2]), OW = pool_out(W, K, g.stride, g.pads[1], g.pads[3]);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double best = -INFINITY;
                    int64_t winner = -1;   /* stays -1 only if a pad >= K */
                    for (int ki = 0; ki < K; ki++)
                        for (int kj = 0; kj < K; kj++) {
                            int h = i * g.stride - g.pads[0] + ki, v = j * g.stride - g.pads[1] + kj;
                            if (h < 0 || h >= H || v < 0 || v >= W) continue;   /* padding */
                            size_t xi = at4(n, c, h, v, C, H, W);
                            if (isnan(best)) continue;             /* first NaN stays */
                            if (winner < 0 || x[xi] > best || isnan(x[xi])) {
                                best = x[xi];
                                winner = (int64_t)xi;
                            }
                        }
                    size_t yi = at4(n, c, i, j, C, OH, OW);
                    y[yi] = best;
                    if (argmax) argmax[yi] = winner;
                }
}

void rm_ref_maxpool_forward(double *y, int64_t *argmax, const double *x,
                            int N, int C, int H, int W, int K, int stride, int pad)
{
    rm_ref_maxpool_geom_forward(y, argmax, x, N, C, H, W, K, rm_ref_conv_sym(stride, pad));
}

void rm_ref_maxpool_backward(double *dx, const double *dy, const int64_t *argmax,
                             int N, int C, int OH, int OW)
{
    size_t count = (size_t)N * C * OH * OW;
    for (size_t k = 0; k < count; k++)
        if (argmax[k] >= 0) dx[argmax[k]] += dy[k];
}

/* ---- average pooling -------------------------------------------------------- */

/* The divisor of output (i, j): K*K, or the number of real cells. */
static double avgpool_divisor(int i, int j, int H, int W, int K, rm_ref_conv_geom g, int include_pad)
{
    if (include_pad) return (double)K * K;
    int real = 0;
    for (int ki = 0; ki < K; ki++)
        for (int kj = 0; kj < K; kj++) {
            int h = i * g.stride - g.pads[0] + ki, v = j * g.stride - g.pads[1] + kj;
            if (h >= 0 && h < H && v >= 0 && v < W) real++;
        }
    return (double)real;
}

void rm_ref_avgpool_geom_forward(double *y, const double *x, int N, int C, int H, int W, int K, rm_ref_conv_geom g,
                                 int include_pad)
{
    int OH = pool_out(H, K, g.stride, g.pads[0], g.pads[2]), OW = pool_out(W, K, g.stride, g.pads[1], g.pads[3]);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double sum = 0.0;
                    for (int ki = 0; ki < K; ki++)
                        for (int kj = 0; kj < K; kj++) {
                            int h = i * g.stride - g.pads[0] + ki, v = j * g.stride - g.pads[1] + kj;
                            if (h < 0 || h >= H || v < 0 || v >= W) continue;
                            sum += x[at4(n, c, h, v, C, H, W)];
                        }
                    y[at4(n, c, i, j, C, OH, OW)] = sum / avgpool_divisor(i, j, H, W, K, g, include_pad);
                }
}

void rm_ref_avgpool_geom_backward(double *dx, const double *dy, int N, int C, int H, int W, int K, rm_ref_conv_geom g,
                                  int include_pad)
{
    int OH = pool_out(H, K, g.stride, g.pads[0], g.pads[2]), OW = pool_out(W, K, g.stride, g.pads[1], g.pads[3]);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double gr = dy[at4(n, c, i, j, C, OH, OW)] / avgpool_divisor(i, j, H, W, K, g, include_pad);
                    for (int ki = 0; ki < K; ki++)
                        for (int kj = 0; kj < K; kj++) {
                            int h = i * g.stride - g.pads[0] + ki, v = j * g.stride - g.pads[1] + kj;
                            if (h < 0 || h >= H || v < 0 || v >= W) continue;
                            dx[at4(n, c, h, v, C, H, W)] += gr;
                        }
                }
}

void rm_ref_avgpool_forward(double *y, const double *x, int N, int C, int H, int W,
                            int K, int stride, int pad, int include_pad)
{
    rm_ref_avgpool_geom_forward(y, x, N, C, H, W, K, rm_ref_conv_sym(stride, pad), include_pad);
}

void rm_ref_avgpool_backward(double *dx, const double *dy, int N, int C, int H, int W,
                             int K, int stride, int pad, int include_pad)
{
    rm_ref_avgpool_geom_backward(dx, dy, N, C, H, W, K, rm_ref_conv_sym(stride, pad), include_pad);
}

/* ---- global average pooling ------------------------------------------------- */

void rm_ref_global_avgpool_forward(double *y, const double *x, int N, int C, int H, int W)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double sum = 0.0;
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) sum += x[at4(n, c, h, v, C, H, W)];
            y[(size_t)n * C + c] = sum / ((double)H * W);
        }
}

void rm_ref_global_avgpool_backward(double *dx, const double *dy, int N, int C, int H, int W)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double g = dy[(size_t)n * C + c] / ((double)H * W);
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) dx[at4(n, c, h, v, C, H, W)] += g;
        }
}

/* ---- batch normalization ---------------------------------------------------- */

void rm_ref_batchnorm_train_forward(double *y, double *mean, double *var, const double *x,
                                    const double *gamma, const double *beta,
                                    int N, int C, int H, int W, double eps)
{
    double M = (double)N * H * W;
    for (int c = 0; c < C; c++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) sum += x[at4(n, c, h, v, C, H, W)];
        double mu = sum / M;
        double sq = 0.0;
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) {
                    double d = x[at4(n, c, h, v, C, H, W)] - mu;
                    sq += d * d;
                }
        double sigma2 = sq / M;
        double invstd = 1.0 / sqrt(sigma2 + eps);
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) {
                    size_t k = at4(n, c, h, v, C, H, W);
                    y[k] = gamma[c] * (x[k] - mu) * invstd + beta[c];
                }
        mean[c] = mu;
        var[c] = sigma2;
    }
}

void rm_ref_batchnorm_backward(double *dx, double *dgamma, double *dbeta, const double *dy,
                               const double *x, const double *mean, const double *var,
                               const double *gamma, int N, int C, int H, int W, double eps)
{
    double M = (double)N * H * W;
    for (int c = 0; c < C; c++) {
        double invstd = 1.0 / sqrt(var[c] + eps);
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) {
                    size_t k = at4(n, c, h, v, C, H, W);
                    double xhat = (x[k] - mean[c]) * invstd;
                    sum_dy += dy[k];
                    sum_dy_xhat += dy[k] * xhat;
                }
        if (dbeta) dbeta[c] += sum_dy;
        if (dgamma) dgamma[c] += sum_dy_xhat;
        if (!dx) continue;
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) {
                    size_t k = at4(n, c, h, v, C, H, W);
                    double xhat = (x[k] - mean[c]) * invstd;
                    dx[k] += gamma[c] * invstd * (dy[k] - sum_dy / M - xhat * sum_dy_xhat / M);
                }
    }
}

void rm_ref_batchnorm_infer_forward(double *y, const double *x, const double *gamma,
                                    const double *beta, const double *running_mean,
                                    const double *running_var,
                                    int N, int C, int H, int W, double eps)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) {
                    size_t k = at4(n, c, h, v, C, H, W);
                    y[k] = gamma[c] * (x[k] - running_mean[c]) / sqrt(running_var[c] + eps) +
                           beta[c];
                }
}

/* ---- dropout ---------------------------------------------------------------- */

static double dropout_scale(double p) { return p >= 1.0 ? 0.0 : 1.0 / (1.0 - p); }

void rm_ref_dropout_forward(double *y, const double *x, const uint8_t *mask, size_t n, double p)
{
    double scale = dropout_scale(p);
    for (size_t i = 0; i < n; i++) y[i] = mask[i] ? x[i] * scale : 0.0;
}

void rm_ref_dropout_backward(double *dx, const double *dy, const uint8_t *mask, size_t n,
                             double p)
{
    double scale = dropout_scale(p);
    for (size_t i = 0; i < n; i++)
        if (mask[i]) dx[i] += dy[i] * scale;
}

/* ---- softmax + cross-entropy ------------------------------------------------ */

void rm_ref_softmax_xent(double *probs, double *dlogits, double *loss_out,
                         const double *logits, const int32_t *labels, int N, int K)
{
    double loss = 0.0;
    for (int n = 0; n < N; n++) {
        const double *z = logits + (size_t)n * K;
        double *p = probs + (size_t)n * K;
        double zmax = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > zmax) zmax = z[k];
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += exp(z[k] - zmax);
        for (int k = 0; k < K; k++) p[k] = exp(z[k] - zmax) / sum;
        /* -log p[label] = log(sum exp(z - zmax)) - (z[label] - zmax) */
        loss += log(sum) - (z[labels[n]] - zmax);
        if (dlogits)
            for (int k = 0; k < K; k++)
                dlogits[(size_t)n * K + k] = (p[k] - (k == labels[n] ? 1.0 : 0.0)) / N;
    }
    if (loss_out) *loss_out = loss / N;
}

/* ---- optimizers ------------------------------------------------------------- */

void rm_ref_sgd_step(double *w, double *v, const double *g, size_t n, double lr,
                     double momentum, double weight_decay, int nesterov)
{
    for (size_t i = 0; i < n; i++) {
        double gi = g[i] + weight_decay * w[i];
        double update = gi;
        if (momentum != 0.0) {
            v[i] = momentum * v[i] + gi;
            update = nesterov ? gi + momentum * v[i] : v[i];
        }
        w[i] -= lr * update;
    }
}

void rm_ref_adam_step(double *w, double *m, double *v, const double *g, size_t n,
                      double lr, double beta1, double beta2, double eps,
                      double weight_decay, int step)
{
    double bias_correction1 = 1.0 - pow(beta1, step);
    double bias_correction2 = 1.0 - pow(beta2, step);
    double step_size = lr / bias_correction1;
    for (size_t i = 0; i < n; i++) {
        double gi = g[i] + weight_decay * w[i];
        m[i] = beta1 * m[i] + (1.0 - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0 - beta2) * gi * gi;
        double denom = sqrt(v[i]) / sqrt(bias_correction2) + eps;
        w[i] -= step_size * m[i] / denom;
    }
}
