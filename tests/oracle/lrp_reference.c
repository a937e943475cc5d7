/* Slow double-precision LRP in matrix form (see tests/oracle/lrp_reference.h).
 * Every dense/convolution rule goes through one routine, spread(): for one
 * output k with its explicitly listed connections (input j, weight w_jk) it
 * computes z'_k = sum_j a_jk + b'_k and adds a_jk / stab(z'_k) * R_k to R_j.
 * The layer functions only enumerate connections; the rules only name a_jk
 * and b'_k. No four-step trick, no modified weight tensors. */
#include "oracle/lrp_reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "oracle/reference.h"

static double pos(double v) { return v > 0 ? v : 0.0; }
static double neg(double v) { return v < 0 ? v : 0.0; }

double rm_lrp_stab(double z, double eps) { return z + (z >= 0 ? eps : -eps); }

static const char *const rule_names[RM_LRP_RULE_COUNT] = {
    "zero", "epsilon", "zplus", "alphabeta", "gamma", "wsquare", "flat", "zbox"};

const char *rm_lrp_rule_name(rm_lrp_rule rule)
{
    return (int)rule >= 0 && rule < RM_LRP_RULE_COUNT ? rule_names[rule] : "unknown";
}

rm_lrp_params rm_lrp_params_default(rm_lrp_rule rule)
{
    rm_lrp_params p;
    memset(&p, 0, sizeof p);
    p.rule = rule;
    p.eps = rule == RM_LRP_ZERO ? 0.0 : rule == RM_LRP_EPSILON ? RM_LRP_DEFAULT_EPS : RM_LRP_STAB_EPS;
    p.gamma = 0.25;
    p.alpha = rule == RM_LRP_ALPHABETA ? 2.0 : 1.0;
    p.beta = rule == RM_LRP_ALPHABETA ? 1.0 : 0.0;
    p.low = 0.0;
    p.high = 1.0;
    return p;
}

int rm_lrp_params_check(const rm_lrp_params *p)
{
    if ((int)p->rule < 0 || p->rule >= RM_LRP_RULE_COUNT)
        return rm_error("LRP: unknown rule %d", (int)p->rule);
    const char *name = rm_lrp_rule_name(p->rule);
    if (!(p->eps >= 0) || isinf(p->eps))
        return rm_error("LRP %s rule: eps must be finite and >= 0 (got %g)", name, p->eps);
    if (p->rule == RM_LRP_GAMMA && (!(p->gamma >= 0) || isinf(p->gamma)))
        return rm_error("LRP gamma rule: gamma must be finite and >= 0 (got %g)", p->gamma);
    if (p->rule == RM_LRP_ALPHABETA) {
        if (!(p->alpha >= 0) || !(p->beta >= 0))
            return rm_error("LRP alpha-beta rule: alpha and beta must both be >= 0 (got alpha %g, "
                            "beta %g)", p->alpha, p->beta);
        if (!(fabs(p->alpha - p->beta - 1.0) <= 1e-12))
            return rm_error("LRP alpha-beta rule: alpha - beta must equal 1 (got alpha %g, beta %g, "
                            "alpha - beta = %g); e.g. alpha 2, beta 1", p->alpha, p->beta,
                            p->alpha - p->beta);
    }
    if (p->rule == RM_LRP_ZBOX && !p->low_map && !p->high_map && !(p->low <= p->high))
        return rm_error("LRP z-box rule: low must be <= high (got low %g, high %g)", p->low, p->high);
    return 0;
}

/* ---- one output: the matrix form ------------------------------------------ */

/* One input j feeding the output: its flat index into x (and rin), its index
 * within the sample (for per-element bounds) and the flat weight index. */
typedef struct { size_t x, xs, w; } conn;

/* The contributions a_jk a rule is built from. */
typedef enum {
    PART_PLAIN,       /* x w */
    PART_POS,         /* x+ w+ + x- w-   (z+ and alpha-beta's positive part) */
    PART_NEG,         /* x+ w- + x- w+   (alpha-beta's negative part) */
    PART_GAMMA_POS,   /* x w + gamma (x w)+ = x+ (w + gamma w+) + x- (w + gamma w-) */
    PART_GAMMA_NEG,   /* x w + gamma (x w)- = x+ (w + gamma w-) + x- (w + gamma w+) */
    PART_WSQUARE,     /* w^2 */
    PART_FLAT,        /* 1 */
    PART_ZBOX         /* x w - l w+ - h w- */
} part;

typedef struct {
    const double *x, *w;
    const rm_lrp_params *p;
} layer_in;

static double contribution(part kind, const layer_in *L, const conn *c)
{
    double x = L->x[c->x], w = L->w[c->w], g = L->p->gamma;
    switch (kind) {
    case PART_PLAIN: return x * w;
    case PART_POS: return pos(x) * pos(w) + neg(x) * neg(w);
    case PART_NEG: return pos(x) * neg(w) + neg(x) * pos(w);
    case PART_GAMMA_POS: return x * w + g * pos(x * w);
    case PART_GAMMA_NEG: return x * w + g * neg(x * w);
    case PART_WSQUARE: return w * w;
    case PART_FLAT: return 1.0;
    case PART_ZBOX: {
        double l = L->p->low_map ? L->p->low_map[c->xs] : L->p->low;
        double h = L->p->high_map ? L->p->high_map[c->xs] : L->p->high;
        return x * w - l * pos(w) - h * neg(w);
    }
    }
    return 0.0;
}

/* R_j += scale * a_jk / stab(z'_k) * R_k over the m connections of output k,
 * z'_k = sum_j a_jk + bias. */
static void spread(double *rin, const layer_in *L, const conn *cs, int m, part kind, double bias,
                   double eps, double scale, double Rk)
{
    double z = bias;
    for (int t = 0; t < m; t++) z += contribution(kind, L, &cs[t]);
    double d = rm_lrp_stab(z, eps);
    if (d == 0) return;   /* eps = 0 and z' = 0: the output passes nothing */
    for (int t = 0; t < m; t++) rin[cs[t].x] += scale * (contribution(kind, L, &cs[t]) / d) * Rk;
}

/* The rule for one output k: b is the layer's bias b_k (0 without bias). */
static void relevance_of_output(double *rin, const layer_in *L, const conn *cs, int m, double b,
                                double Rk)
{
    const rm_lrp_params *p = L->p;
    double bb = p->ignore_bias ? 0.0 : b;   /* the bias as the rule sees it */
    double eps = p->eps;
    switch (p->rule) {
    case RM_LRP_ZERO: spread(rin, L, cs, m, PART_PLAIN, bb, 0.0, 1.0, Rk); break;
    case RM_LRP_EPSILON: spread(rin, L, cs, m, PART_PLAIN, bb, eps, 1.0, Rk); break;
    case RM_LRP_ZPLUS: spread(rin, L, cs, m, PART_POS, pos(bb), eps, 1.0, Rk); break;
    case RM_LRP_ALPHABETA:
        spread(rin, L, cs, m, PART_POS, pos(bb), eps, p->alpha, Rk);
        spread(rin, L, cs, m, PART_NEG, neg(bb), eps, -p->beta, Rk);
        break;
    case RM_LRP_GAMMA: {
        /* The branch follows the layer's real output z_k = sum x w + b_k. */
        double z = b;
        for (int t = 0; t < m; t++) z += contribution(PART_PLAIN, L, &cs[t]);
        if (z >= 0) spread(rin, L, cs, m, PART_GAMMA_POS, bb + p->gamma * pos(bb), eps, 1.0, Rk);
        else spread(rin, L, cs, m, PART_GAMMA_NEG, bb + p->gamma * neg(bb), eps, 1.0, Rk);
        break;
    }
    case RM_LRP_WSQUARE: spread(rin, L, cs, m, PART_WSQUARE, 0.0, eps, 1.0, Rk); break;
    case RM_LRP_FLAT: spread(rin, L, cs, m, PART_FLAT, 0.0, eps, 1.0, Rk); break;
    case RM_LRP_ZBOX: spread(rin, L, cs, m, PART_ZBOX, 0.0, eps, 1.0, Rk); break;
    case RM_LRP_RULE_COUNT: break;
    }
}

/* ---- dense ------------------------------------------------------------------ */

int rm_lrp_ref_dense(double *rin, const double *rout, const double *x, const double *w,
                     const double *b, int N, int I, int O, const rm_lrp_params *p)
{
    RM_TRY(rm_lrp_params_check(p));
    if (N <= 0 || I <= 0 || O <= 0)
        return rm_error("LRP dense: sizes must be positive (N %d, I %d, O %d)", N, I, O);
    conn *cs = rm_malloc(sizeof *cs * (size_t)I, "LRP dense connections");
    if (!cs) return -1;
    layer_in L = {x, w, p};
    memset(rin, 0, sizeof *rin * (size_t)N * I);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            /* output (n, o) is fed by every input i through w[o,i] */
            for (int i = 0; i < I; i++)
                cs[i] = (conn){(size_t)n * I + i, (size_t)i, (size_t)o * I + i};
            relevance_of_output(rin, &L, cs, I, b ? b[o] : 0.0, rout[(size_t)n * O + o]);
        }
    free(cs);
    return 0;
}

/* ---- convolution ------------------------------------------------------------ */

int rm_lrp_ref_conv(double *rin, const double *rout, const double *x, const double *w,
                    const double *b, int N, int C, int H, int W, int O, int K, int stride, int pad,
                    const rm_lrp_params *p)
{
    return rm_lrp_ref_conv_geom(rin, rout, x, w, b, N, C, H, W, O, K, rm_ref_conv_sym(stride, pad), p);
}

int rm_lrp_ref_conv_geom(double *rin, const double *rout, const double *x, const double *w, const double *b, int N,
                         int C, int H, int W, int O, int K, rm_ref_conv_geom g, const rm_lrp_params *p)
{
    RM_TRY(rm_lrp_params_check(p));
    int stride = g.stride, d = g.dilation, top = g.pads[0], left = g.pads[1];
    if (N <= 0 || C <= 0 || H <= 0 || W <= 0 || O <= 0 || K <= 0 || stride <= 0 || d <= 0 || g.pads[0] < 0 ||
        g.pads[1] < 0 || g.pads[2] < 0 || g.pads[3] < 0)
        return rm_error("LRP conv: invalid sizes (N %d, C %d, H %d, W %d, O %d, K %d, stride %d, dilation %d, "
                        "pads %d,%d,%d,%d)", N, C, H, W, O, K, stride, d, g.pads[0], g.pads[1], g.pads[2], g.pads[3]);
    int span = (K - 1) * d + 1;
    if (H + g.pads[0] + g.pads[2] < span || W + g.pads[1] + g.pads[3] < span)
        return rm_error("LRP conv: kernel %d (dilation %d) with padding %d,%d,%d,%d does not fit a %dx%d input", K, d,
                        g.pads[0], g.pads[1], g.pads[2], g.pads[3], H, W);
    int OH = (H + g.pads[0] + g.pads[2] - span) / stride + 1, OW = (W + g.pads[1] + g.pads[3] - span) / stride + 1;
    conn *cs = rm_malloc(sizeof *cs * (size_t)C * K * K, "LRP conv connections");
    if (!cs) return -1;
    layer_in L = {x, w, p};
    size_t sample = (size_t)C * H * W;
    memset(rin, 0, sizeof *rin * (size_t)N * sample);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    /* output (n, o, i, j) is fed by x[n, c, i*stride-top+a*d, j*stride-left+e*d]
                     * through w[o, c, a, e], for the cells inside the image */
                    int m = 0;
                    for (int c = 0; c < C; c++)
                        for (int a = 0; a < K; a++)
                            for (int e = 0; e < K; e++) {
                                int h = i * stride - top + a * d, v = j * stride - left + e * d;
                                if (h < 0 || h >= H || v < 0 || v >= W) continue;   /* padding */
                                size_t xs = ((size_t)c * H + h) * W + v;
                                cs[m++] = (conn){(size_t)n * sample + xs, xs,
                                                 (((size_t)o * C + c) * K + a) * K + e};
                            }
                    double Rk = rout[(((size_t)n * O + o) * OH + i) * OW + j];
                    relevance_of_output(rin, &L, cs, m, b ? b[o] : 0.0, Rk);
                }
    free(cs);
    return 0;
}

/* ---- pooling ---------------------------------------------------------------- */

int rm_lrp_ref_maxpool_geom(double *rin, const double *rout, const double *x, int N, int C, int H, int W, int K,
                            rm_ref_conv_geom g)
{
    int OH = (H + g.pads[0] + g.pads[2] - K) / g.stride + 1, OW = (W + g.pads[1] + g.pads[3] - K) / g.stride + 1;
    size_t nout = (size_t)N * C * OH * OW;
    double *y = rm_malloc(sizeof *y * nout, "LRP max-pool output");
    int64_t *winner = rm_malloc(sizeof *winner * nout, "LRP max-pool winners");
    if (!y || !winner) {
        free(y), free(winner);
        return -1;
    }
    rm_ref_maxpool_geom_forward(y, winner, x, N, C, H, W, K, g);
    memset(rin, 0, sizeof *rin * (size_t)N * C * H * W);
    for (size_t k = 0; k < nout; k++)
        if (winner[k] >= 0) rin[winner[k]] += rout[k];   /* overlapping windows accumulate */
    free(y), free(winner);
    return 0;
}

int rm_lrp_ref_maxpool(double *rin, const double *rout, const double *x, int N, int C, int H,
                       int W, int K, int stride, int pad)
{
    return rm_lrp_ref_maxpool_geom(rin, rout, x, N, C, H, W, K, rm_ref_conv_sym(stride, pad));
}

void rm_lrp_ref_avgpool_geom(double *rin, const double *rout, const double *x, int N, int C, int H, int W, int K,
                             rm_ref_conv_geom g, int include_pad, double eps)
{
    int OH = (H + g.pads[0] + g.pads[2] - K) / g.stride + 1, OW = (W + g.pads[1] + g.pads[3] - K) / g.stride + 1;
    memset(rin, 0, sizeof *rin * (size_t)N * C * H * W);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    int real = 0;
                    for (int a = 0; a < K; a++)
                        for (int e = 0; e < K; e++) {
                            int h = i * g.stride - g.pads[0] + a, v = j * g.stride - g.pads[1] + e;
                            real += h >= 0 && h < H && v >= 0 && v < W;
                        }
                    /* include-padding: padding cells are zero inputs; else only the real cells are inputs */
                    double weight = 1.0 / (include_pad ? (double)K * K : (double)real);
                    double z = 0.0;
                    for (int a = 0; a < K; a++)
                        for (int e = 0; e < K; e++) {
                            int h = i * g.stride - g.pads[0] + a, v = j * g.stride - g.pads[1] + e;
                            if (h < 0 || h >= H || v < 0 || v >= W) continue;
                            z += x[(((size_t)n * C + c) * H + h) * W + v] * weight;
                        }
                    double d = rm_lrp_stab(z, eps);
                    if (d == 0) continue;
                    double Rk = rout[(((size_t)n * C + c) * OH + i) * OW + j];
                    for (int a = 0; a < K; a++)
                        for (int e = 0; e < K; e++) {
                            int h = i * g.stride - g.pads[0] + a, v = j * g.stride - g.pads[1] + e;
                            if (h < 0 || h >= H || v < 0 || v >= W) continue;
                            size_t xi = (((size_t)n * C + c) * H + h) * W + v;
                            rin[xi] += (x[xi] * weight / d) * Rk;
                        }
                }
}

void rm_lrp_ref_avgpool(double *rin, const double *rout, const double *x, int N, int C, int H,
                        int W, int K, int stride, int pad, double eps)
{
    rm_lrp_ref_avgpool_geom(rin, rout, x, N, C, H, W, K, rm_ref_conv_sym(stride, pad), 1, eps);
}

void rm_lrp_ref_global_avgpool(double *rin, const double *rout, const double *x, int N, int C,
                               int H, int W, double eps)
{
    size_t cells = (size_t)H * W;
    double weight = 1.0 / (double)cells;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const double *xc = x + ((size_t)n * C + c) * cells;
            double *rc = rin + ((size_t)n * C + c) * cells;
            double z = 0.0;
            for (size_t j = 0; j < cells; j++) z += xc[j] * weight;
            double d = rm_lrp_stab(z, eps), Rk = rout[(size_t)n * C + c];
            for (size_t j = 0; j < cells; j++) rc[j] = d == 0 ? 0.0 : (xc[j] * weight / d) * Rk;
        }
}

/* ---- batch normalization folding -------------------------------------------- */

void rm_lrp_ref_fold_bn(double *w_out, double *b_out, const double *w, const double *b,
                        const double *gamma, const double *beta, const double *mean,
                        const double *var, double eps, int O, int fan_in)
{
    for (int o = 0; o < O; o++) {
        double scale = gamma[o] / sqrt(var[o] + eps);
        for (int i = 0; i < fan_in; i++)
            w_out[(size_t)o * fan_in + i] = w[(size_t)o * fan_in + i] * scale;
        b_out[o] = ((b ? b[o] : 0.0) - mean[o]) * scale + beta[o];
    }
}

/* ---- whole network ---------------------------------------------------------- */

typedef struct { int C, H, W; } shape;

static size_t shape_count(shape s) { return (size_t)s.C * s.H * s.W; }

/* A convolution layer's geometry: its pads when any is set, else pad on
 * every side; dilation 0 is 1. */
static rm_ref_conv_geom conv_geom_of(const rm_lrp_ref_layer *l)
{
    int any = l->pads[0] | l->pads[1] | l->pads[2] | l->pads[3];
    rm_ref_conv_geom g = any ? (rm_ref_conv_geom){l->stride, 1, {l->pads[0], l->pads[1], l->pads[2], l->pads[3]}}
                             : rm_ref_conv_sym(l->stride, l->pad);
    g.dilation = l->dilation > 1 ? l->dilation : 1;
    return g;
}

/* A pooling layer's: the same without dilation. */
static rm_ref_conv_geom pool_geom_of(const rm_lrp_ref_layer *l)
{
    rm_ref_conv_geom g = conv_geom_of(l);
    g.dilation = 1;
    return g;
}

static int conv_out(int in, int K, rm_ref_conv_geom g, int begin, int end)
{
    return (in + begin + end - ((K - 1) * g.dilation + 1)) / g.stride + 1;
}

/* The output shape of layer l for input shape in; -1 (message) if invalid. */
static int layer_out_shape(const rm_lrp_ref_layer *l, int index, shape in, shape *out)
{
    *out = in;
    switch (l->type) {
    case RM_LRP_REF_CONV: {
        rm_ref_conv_geom g = conv_geom_of(l);
        if (l->units <= 0 || l->size <= 0 || l->stride <= 0 || l->pad < 0 || !l->w || g.pads[0] < 0 ||
            g.pads[1] < 0 || g.pads[2] < 0 || g.pads[3] < 0)
            return rm_error("LRP net layer %d (conv): needs units, size, stride >= 1, pad >= 0 "
                            "and weights", index);
        out->C = l->units;
        if (in.H + g.pads[0] + g.pads[2] < (l->size - 1) * g.dilation + 1 ||
            in.W + g.pads[1] + g.pads[3] < (l->size - 1) * g.dilation + 1)
            return rm_error("LRP net layer %d: kernel %d (dilation %d) does not fit a %dx%d input", index, l->size,
                            g.dilation, in.H, in.W);
        out->H = conv_out(in.H, l->size, g, g.pads[0], g.pads[2]);
        out->W = conv_out(in.W, l->size, g, g.pads[1], g.pads[3]);
        break;
    }
    case RM_LRP_REF_DENSE:
        if (l->units <= 0 || !l->w)
            return rm_error("LRP net layer %d (dense): needs units and weights", index);
        *out = (shape){l->units, 1, 1};
        break;
    case RM_LRP_REF_MAXPOOL:
    case RM_LRP_REF_AVGPOOL:
    {
        rm_ref_conv_geom g = pool_geom_of(l);
        int bad = l->size <= 0 || l->stride <= 0;
        for (int k = 0; k < 4; k++) bad |= g.pads[k] < 0 || g.pads[k] >= l->size;
        if (bad) return rm_error("LRP net layer %d (pool): needs size, stride >= 1 and 0 <= each pad < size", index);
        out->H = conv_out(in.H, l->size, g, g.pads[0], g.pads[2]);
        out->W = conv_out(in.W, l->size, g, g.pads[1], g.pads[3]);
        break;
    }
    case RM_LRP_REF_GLOBAL_AVGPOOL: *out = (shape){in.C, 1, 1}; break;
    case RM_LRP_REF_FLATTEN: *out = (shape){in.C * in.H * in.W, 1, 1}; break;
    case RM_LRP_REF_RELU: break;
    default: return rm_error("LRP net layer %d: layer type %d is not one of a sequential net", index, (int)l->type);
    }
    int windowed = l->type == RM_LRP_REF_MAXPOOL || l->type == RM_LRP_REF_AVGPOOL;
    rm_ref_conv_geom pg = pool_geom_of(l);
    if (windowed && (in.H + pg.pads[0] + pg.pads[2] < l->size || in.W + pg.pads[1] + pg.pads[3] < l->size))
        return rm_error("LRP net layer %d: window %d with padding %d,%d,%d,%d does not fit a %dx%d input", index,
                        l->size, pg.pads[0], pg.pads[1], pg.pads[2], pg.pads[3], in.H, in.W);
    if (l->type == RM_LRP_REF_CONV && l->groups > 1 && (in.C % l->groups || l->units % l->groups))
        return rm_error("LRP net layer %d: %d groups do not divide %d inputs and %d outputs", index, l->groups, in.C,
                        l->units);
    if (out->C <= 0 || out->H <= 0 || out->W <= 0)
        return rm_error("LRP net layer %d: input %dx%dx%d is too small", index, in.C, in.H, in.W);
    if ((l->type == RM_LRP_REF_CONV || l->type == RM_LRP_REF_DENSE) && rm_lrp_params_check(&l->rule))
        return rm_error_prefix("LRP net layer %d", index);
    if ((l->type == RM_LRP_REF_AVGPOOL || l->type == RM_LRP_REF_GLOBAL_AVGPOOL) &&
        !(l->rule.eps >= 0))
        return rm_error("LRP net layer %d (avgpool): eps must be >= 0", index);
    return 0;
}

int rm_lrp_ref_net_classes(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W)
{
    if (num_layers <= 0 || C <= 0 || H <= 0 || W <= 0)
        return rm_error("LRP net: needs layers and a positive input shape");
    shape s = {C, H, W};
    for (int i = 0; i < num_layers; i++) RM_TRY(layer_out_shape(&layers[i], i, s, &s));
    return (int)shape_count(s);
}

/* A grouped convolution as G ordinary ones, each on its group's channels
 * copied out: forward (rout NULL) into out [N,O,OH,OW], or relevance
 * (rin = out [N,C,H,W], overwritten) through rm_lrp_ref_conv. */
static int grouped_conv(double *out, const double *rout, const double *x, const rm_lrp_ref_layer *l, int N, shape s)
{
    int G = l->groups, Cg = s.C / G, Og = l->units / G, K = l->size;
    rm_ref_conv_geom geom = conv_geom_of(l);
    int OH = conv_out(s.H, K, geom, geom.pads[0], geom.pads[2]), OW = conv_out(s.W, K, geom, geom.pads[1], geom.pads[3]);
    size_t in_img = (size_t)s.H * s.W, out_img = (size_t)OH * OW;
    if (l->rule.low_map || l->rule.high_map) return rm_error("grouped convolution: z-box maps are not supported");
    double *xg = rm_malloc(sizeof *xg * (size_t)N * Cg * in_img, "group input");
    double *yg = rm_malloc(sizeof *yg * (size_t)N * Og * out_img, "group output");
    double *rg = rm_malloc(sizeof *rg * (size_t)N * Cg * in_img, "group relevance");
    int rc = xg && yg && rg ? 0 : -1;
    for (int g = 0; rc == 0 && g < G; g++) {
        const double *wg = l->w + (size_t)g * Og * Cg * K * K, *bg = l->b ? l->b + (size_t)g * Og : NULL;
        for (int n = 0; n < N; n++)
            memcpy(xg + (size_t)n * Cg * in_img, x + ((size_t)n * s.C + (size_t)g * Cg) * in_img,
                   sizeof *xg * Cg * in_img);
        if (!rout) {
            rm_ref_conv_geom_forward(yg, xg, wg, bg, N, Cg, s.H, s.W, Og, K, geom);
            for (int n = 0; n < N; n++)
                memcpy(out + ((size_t)n * l->units + (size_t)g * Og) * out_img, yg + (size_t)n * Og * out_img,
                       sizeof *yg * Og * out_img);
            continue;
        }
        for (int n = 0; n < N; n++)
            memcpy(yg + (size_t)n * Og * out_img, rout + ((size_t)n * l->units + (size_t)g * Og) * out_img,
                   sizeof *yg * Og * out_img);
        rc = rm_lrp_ref_conv_geom(rg, yg, xg, wg, bg, N, Cg, s.H, s.W, Og, K, geom, &l->rule);
        for (int n = 0; rc == 0 && n < N; n++)
            memcpy(out + ((size_t)n * s.C + (size_t)g * Cg) * in_img, rg + (size_t)n * Cg * in_img,
                   sizeof *rg * Cg * in_img);
    }
    free(xg), free(yg), free(rg);
    return rc;
}

/* Forward of layer l: out from in (shape s in, t out), for N images. */
static int layer_forward(const rm_lrp_ref_layer *l, double *out, const double *in, int N, shape s)
{
    size_t n_in = (size_t)N * shape_count(s);
    switch (l->type) {
    case RM_LRP_REF_CONV:
        if (l->groups > 1) return grouped_conv(out, NULL, in, l, N, s);
        rm_ref_conv_geom_forward(out, in, l->w, l->b, N, s.C, s.H, s.W, l->units, l->size, conv_geom_of(l));
        break;
    case RM_LRP_REF_DENSE:
        rm_ref_dense_forward(out, in, l->w, l->b, N, (int)shape_count(s), l->units);
        break;
    case RM_LRP_REF_RELU:
        if (l->slope > 0 || l->max > 0) rm_ref_leaky_clip_forward(out, in, n_in, l->slope, l->max);
        else rm_ref_relu_forward(out, in, n_in);
        break;
    case RM_LRP_REF_MAXPOOL:
        rm_ref_maxpool_geom_forward(out, NULL, in, N, s.C, s.H, s.W, l->size, pool_geom_of(l));
        break;
    case RM_LRP_REF_AVGPOOL:
        rm_ref_avgpool_geom_forward(out, in, N, s.C, s.H, s.W, l->size, pool_geom_of(l), !l->exclude_pad);
        break;
    case RM_LRP_REF_GLOBAL_AVGPOOL: rm_ref_global_avgpool_forward(out, in, N, s.C, s.H, s.W); break;
    case RM_LRP_REF_FLATTEN: memcpy(out, in, sizeof *out * n_in); break;
    default: return rm_error("LRP net: layer type %d needs rm_lrp_ref_graph_run", (int)l->type);
    }
    return 0;
}

/* Relevance of layer l: rin (shape s) from rout, with the layer's input x. */
static int layer_relevance(const rm_lrp_ref_layer *l, double *rin, const double *rout,
                           const double *x, int N, shape s)
{
    size_t n_in = (size_t)N * shape_count(s);
    switch (l->type) {
    case RM_LRP_REF_CONV:
        if (l->groups > 1) return grouped_conv(rin, rout, x, l, N, s);
        return rm_lrp_ref_conv_geom(rin, rout, x, l->w, l->b, N, s.C, s.H, s.W, l->units, l->size, conv_geom_of(l),
                                    &l->rule);
    case RM_LRP_REF_DENSE:
        return rm_lrp_ref_dense(rin, rout, x, l->w, l->b, N, (int)shape_count(s), l->units,
                                &l->rule);
    case RM_LRP_REF_RELU:
    case RM_LRP_REF_FLATTEN: memcpy(rin, rout, sizeof *rin * n_in); return 0;
    case RM_LRP_REF_MAXPOOL:
        return rm_lrp_ref_maxpool_geom(rin, rout, x, N, s.C, s.H, s.W, l->size, pool_geom_of(l));
    case RM_LRP_REF_AVGPOOL:
        rm_lrp_ref_avgpool_geom(rin, rout, x, N, s.C, s.H, s.W, l->size, pool_geom_of(l), !l->exclude_pad,
                                l->rule.eps);
        return 0;
    case RM_LRP_REF_GLOBAL_AVGPOOL:
        rm_lrp_ref_global_avgpool(rin, rout, x, N, s.C, s.H, s.W, l->rule.eps);
        return 0;
    default: return rm_error("LRP net: layer type %d needs rm_lrp_ref_graph_run", (int)l->type);
    }
    return 0;
}

static int net_run(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W, int N, const double *x,
                   const int32_t *target, const double *weight, double *relevance, double *layer_sums,
                   double *logits, int32_t *explained)
{
    int K = rm_lrp_ref_net_classes(layers, num_layers, C, H, W);
    if (K < 0) return -1;
    if (N <= 0) return rm_error("LRP net: batch size must be positive (got %d)", N);
    int L = num_layers, rc = -1;
    /* shapes[i]: input shape of layer i; shapes[L]: the logits' shape.
     * acts[i]: input activation of layer i (acts[0] = x), acts[L]: logits. */
    shape *shapes = rm_calloc((size_t)L + 1, sizeof *shapes, "LRP net shapes");
    double **acts = rm_calloc((size_t)L + 1, sizeof *acts, "LRP net activations");
    double *rbuf[2] = {NULL, NULL};
    if (!shapes || !acts) goto out;
    shapes[0] = (shape){C, H, W};
    size_t biggest = shape_count(shapes[0]);
    for (int i = 0; i < L; i++) {
        layer_out_shape(&layers[i], i, shapes[i], &shapes[i + 1]);   /* checked above */
        if (shape_count(shapes[i + 1]) > biggest) biggest = shape_count(shapes[i + 1]);
    }

    /* forward */
    acts[0] = (double *)x;   /* never written */
    for (int i = 0; i < L; i++) {
        acts[i + 1] = rm_malloc(sizeof(double) * (size_t)N * shape_count(shapes[i + 1]),
                                "LRP net activation");
        if (!acts[i + 1]) goto out;
        layer_forward(&layers[i], acts[i + 1], acts[i], N, shapes[i]);
    }
    const double *z = acts[L];

    /* seed: R = onehot(class) * logit[class] */
    for (int k = 0; k < 2; k++) {
        rbuf[k] = rm_malloc(sizeof(double) * (size_t)N * biggest, "LRP net relevance");
        if (!rbuf[k]) goto out;
    }
    double *rout = rbuf[0], *rin = rbuf[1];
    memset(rout, 0, sizeof *rout * (size_t)N * K);
    for (int n = 0; weight && n < N; n++) {
        const double *zn = z + (size_t)n * K;
        double sum = 0;
        for (int k = 0; k < K; k++) sum += rout[(size_t)n * K + k] = weight[(size_t)n * K + k] * zn[k];
        if (explained) explained[n] = -1;
        if (layer_sums) layer_sums[(size_t)n * (L + 1) + L] = sum;
    }
    for (int n = 0; !weight && n < N; n++) {
        const double *zn = z + (size_t)n * K;
        int cls = 0;
        if (target && target[n] >= 0) {
            if (target[n] >= K) {
                rm_error("LRP net: target class %d of image %d is out of range [0, %d)",
                         (int)target[n], n, K);
                goto out;
            }
            cls = target[n];
        } else {
            for (int k = 1; k < K; k++)
                if (zn[k] > zn[cls]) cls = k;
        }
        rout[(size_t)n * K + cls] = zn[cls];
        if (explained) explained[n] = cls;
        if (layer_sums) layer_sums[(size_t)n * (L + 1) + L] = zn[cls];
    }
    if (logits) memcpy(logits, z, sizeof *logits * (size_t)N * K);

    /* relevance, top to bottom */
    for (int i = L - 1; i >= 0; i--) {
        if (layer_relevance(&layers[i], rin, rout, acts[i], N, shapes[i]))
            goto out;
        size_t per = shape_count(shapes[i]);
        if (layer_sums)
            for (int n = 0; n < N; n++) {
                double sum = 0.0;
                for (size_t j = 0; j < per; j++) sum += rin[(size_t)n * per + j];
                layer_sums[(size_t)n * (L + 1) + i] = sum;
            }
        double *t = rin;
        rin = rout;
        rout = t;
    }
    memcpy(relevance, rout, sizeof *relevance * (size_t)N * C * H * W);
    rc = 0;

out:
    if (acts)
        for (int i = 1; i <= L; i++) free(acts[i]);
    free(acts), free(shapes), free(rbuf[0]), free(rbuf[1]);
    return rc;
}

int rm_lrp_ref_net_run(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W,
                       int N, const double *x, const int32_t *target, double *relevance,
                       double *layer_sums, double *logits, int32_t *explained)
{
    return net_run(layers, num_layers, C, H, W, N, x, target, NULL, relevance, layer_sums, logits, explained);
}

int rm_lrp_ref_net_run_weighted(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W, int N,
                                const double *x, const double *weight, double *relevance, double *layer_sums,
                                double *logits)
{
    return net_run(layers, num_layers, C, H, W, N, x, NULL, weight, relevance, layer_sums, logits, NULL);
}

/* ---- graph network ---------------------------------------------------------- */

static int graph_input(const rm_lrp_ref_layer *l, int i, int k) { return l->num_inputs ? l->inputs[k] : i - 1; }

int rm_lrp_ref_graph_run(const rm_lrp_ref_layer *layers, int num_layers, int C, int H, int W, int N,
                         const double *x, const int32_t *target, double *relevance, double *logits,
                         int32_t *explained)
{
    if (num_layers <= 0 || C <= 0 || H <= 0 || W <= 0 || N <= 0)
        return rm_error("LRP graph: needs layers, a positive input shape and batch");
    int L = num_layers, rc = -1;
    /* index i + 1: layer i's output (shape, activation, relevance); 0: the input */
    shape *sh = rm_calloc((size_t)L + 1, sizeof *sh, "LRP graph shapes");
    double **act = rm_calloc((size_t)L + 1, sizeof *act, "LRP graph activations");
    double **rel = rm_calloc((size_t)L + 1, sizeof *rel, "LRP graph relevance");
    double *tmp = NULL;
    if (!sh || !act || !rel) goto out;
    sh[0] = (shape){C, H, W};
    size_t biggest = shape_count(sh[0]);
    for (int i = 0; i < L; i++) {
        const rm_lrp_ref_layer *l = &layers[i];
        int n_in = l->num_inputs ? l->num_inputs : 1;
        if (n_in > RM_LRP_REF_MAX_INPUTS) {
            rm_error("LRP graph layer %d: %d inputs", i, n_in);
            goto out;
        }
        for (int k = 0; k < n_in; k++)
            if (graph_input(l, i, k) < -1 || graph_input(l, i, k) >= i) {
                rm_error("LRP graph layer %d: input %d is not an earlier layer", i, graph_input(l, i, k));
                goto out;
            }
        shape in = sh[graph_input(l, i, 0) + 1], o = in;
        if (l->type == RM_LRP_REF_ADD || l->type == RM_LRP_REF_CONCAT) {
            if (n_in < 2) {
                rm_error("LRP graph layer %d: add and concat need 2 or more inputs", i);
                goto out;
            }
            o.C = 0;
            for (int k = 0; k < n_in; k++) {
                shape t = sh[graph_input(l, i, k) + 1];
                int same = l->type == RM_LRP_REF_ADD ? t.C == in.C && t.H == in.H && t.W == in.W
                                                     : t.H == in.H && t.W == in.W;
                if (!same) {
                    rm_error("LRP graph layer %d: input %d has another shape", i, k);
                    goto out;
                }
                o.C += l->type == RM_LRP_REF_ADD ? (k == 0 ? t.C : 0) : t.C;
            }
        } else if (l->type == RM_LRP_REF_AFFINE) {
            if (!l->scale || !l->shift) {
                rm_error("LRP graph layer %d (affine): needs scale and shift", i);
                goto out;
            }
        } else if (layer_out_shape(l, i, in, &o) != 0)
            goto out;
        sh[i + 1] = o;
        if (shape_count(o) > biggest) biggest = shape_count(o);
    }

    act[0] = (double *)x;   /* never written */
    for (int i = 0; i < L; i++) {
        const rm_lrp_ref_layer *l = &layers[i];
        int n_in = l->num_inputs ? l->num_inputs : 1, i0 = graph_input(l, i, 0) + 1;
        size_t per = shape_count(sh[i + 1]), img = (size_t)sh[i + 1].H * sh[i + 1].W;
        double *y = act[i + 1] = rm_calloc((size_t)N * per, sizeof *y, "LRP graph activation");
        rel[i + 1] = rm_calloc((size_t)N * per, sizeof *y, "LRP graph relevance");
        if (!y || !rel[i + 1]) goto out;
        switch (l->type) {
        case RM_LRP_REF_ADD:
            for (int k = 0; k < n_in; k++)
                for (size_t j = 0; j < (size_t)N * per; j++) y[j] += act[graph_input(l, i, k) + 1][j];
            break;
        case RM_LRP_REF_CONCAT:
            for (int n = 0, off = 0; n < N; n++, off = 0)
                for (int k = 0; k < n_in; k++) {
                    int p = graph_input(l, i, k) + 1;
                    size_t chunk = (size_t)sh[p].C * img;
                    memcpy(y + (size_t)n * per + (size_t)off * img, act[p] + (size_t)n * chunk, sizeof *y * chunk);
                    off += sh[p].C;
                }
            break;
        case RM_LRP_REF_AFFINE:
            for (size_t j = 0; j < (size_t)N * per; j++) {
                int c = (int)(j / img % (size_t)sh[i + 1].C);
                y[j] = l->scale[c] * act[i0][j] + l->shift[c];
            }
            break;
        default:
            if (layer_forward(l, y, act[i0], N, sh[i0]) != 0) goto out;
        }
    }
    rel[0] = rm_calloc((size_t)N * shape_count(sh[0]), sizeof *rel[0], "LRP graph relevance");
    tmp = rm_malloc(sizeof *tmp * (size_t)N * biggest, "LRP graph relevance");
    if (!rel[0] || !tmp) goto out;

    /* seed: R = onehot(class) * logit[class] */
    int K = (int)shape_count(sh[L]);
    const double *z = act[L];
    for (int n = 0; n < N; n++) {
        const double *zn = z + (size_t)n * K;
        int cls = 0;
        if (target && target[n] >= 0) {
            if (target[n] >= K) {
                rm_error("LRP graph: target class %d of image %d is out of range [0, %d)", (int)target[n], n, K);
                goto out;
            }
            cls = target[n];
        } else {
            for (int k = 1; k < K; k++)
                if (zn[k] > zn[cls]) cls = k;
        }
        rel[L][(size_t)n * K + cls] = zn[cls];
        if (explained) explained[n] = cls;
    }
    if (logits) memcpy(logits, z, sizeof *logits * (size_t)N * K);

    /* relevance, last layer first; every input's share is added to what
     * its other readers gave it */
    for (int i = L - 1; i >= 0; i--) {
        const rm_lrp_ref_layer *l = &layers[i];
        int n_in = l->num_inputs ? l->num_inputs : 1, i0 = graph_input(l, i, 0) + 1;
        size_t per = shape_count(sh[i + 1]), img = (size_t)sh[i + 1].H * sh[i + 1].W;
        const double *R = rel[i + 1], *y = act[i + 1];
        switch (l->type) {
        case RM_LRP_REF_ADD:
            for (int k = 0; k < n_in; k++) {
                int p = graph_input(l, i, k) + 1;
                for (size_t j = 0; j < (size_t)N * per; j++)
                    rel[p][j] += act[p][j] / rm_lrp_stab(y[j], l->rule.eps) * R[j];
            }
            break;
        case RM_LRP_REF_CONCAT:
            for (int n = 0, off = 0; n < N; n++, off = 0)
                for (int k = 0; k < n_in; k++) {
                    int p = graph_input(l, i, k) + 1;
                    size_t chunk = (size_t)sh[p].C * img;
                    for (size_t j = 0; j < chunk; j++)
                        rel[p][(size_t)n * chunk + j] += R[(size_t)n * per + (size_t)off * img + j];
                    off += sh[p].C;
                }
            break;
        case RM_LRP_REF_AFFINE:
            for (size_t j = 0; j < (size_t)N * per; j++) {
                int c = (int)(j / img % (size_t)sh[i + 1].C);
                double a = l->scale[c] * act[i0][j], zj = l->rule.ignore_bias ? a : y[j];
                rel[i0][j] += a / rm_lrp_stab(zj, l->rule.eps) * R[j];
            }
            break;
        default: {
            size_t n_below = (size_t)N * shape_count(sh[i0]);
            if (layer_relevance(l, tmp, R, act[i0], N, sh[i0]) != 0) goto out;
            for (size_t j = 0; j < n_below; j++) rel[i0][j] += tmp[j];
        }
        }
    }
    memcpy(relevance, rel[0], sizeof *relevance * (size_t)N * C * H * W);
    rc = 0;
out:
    for (int i = 0; i <= L; i++) {
        if (act && i > 0) free(act[i]);
        if (rel) free(rel[i]);
    }
    free(act), free(rel), free(sh), free(tmp);
    return rc;
}
