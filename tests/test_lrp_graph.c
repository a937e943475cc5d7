/* LRP through graph networks (docs/relevance.md, "Graphs"): a small
 * network with a residual add whose skip fans out, a depthwise-separable
 * block, an unfoldable batchnorm after the add, a grouped convolution and a
 * three-way concat (one input read straight from the network input, which
 * then fans out too). The engine against the double-precision graph
 * reference (tests/oracle/lrp_reference.c, rm_lrp_ref_graph_run) for every
 * composite, per-layer rules on the grouped layers and --ignore-bias;
 * conservation with zero biases; LRP-0 = gradient x input; the errors that
 * remain. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "oracle/lrp_reference.h"
#include "relevance/lrp.h"
#include "train/train.h"

/* BN: the batchnorm sections, or nothing (the LRP-0 test trains-mode
 * gradient would see batch statistics). */
#define GRAPH_NET(BN1, BN2)                                                                                           \
    "[net]\ninput = 3x10x10\nclasses = 4\n"                                                                           \
    "[conv]\nname = stem\nfilters = 8\nsize = 3\npad = 1\nbias = 0\n" BN1                                             \
    "[relu]\nname = r0\n"                                  /* read by dw and by the add */                            \
    "[conv]\nname = dw\nfilters = 8\nsize = 3\npad = 1\ngroups = 8\n[relu]\n" /* depthwise */                         \
    "[conv]\nname = pw\nfilters = 8\nsize = 1\n"                               /* pointwise */                        \
    "[add]\nname = res\nfrom = pw, r0\n" BN2 "[relu]\nname = r1\n"             /* r1: read by g2 and the concat */    \
    "[conv]\nname = g2\nfilters = 8\nsize = 3\npad = 1\ngroups = 2\n[relu]\nname = r2\n"                              \
    "[conv]\nname = side\nfrom = input\nfilters = 4\nsize = 1\n"               /* the input: read by stem and side */ \
    "[concat]\nname = cat\nfrom = r2, r1, side\n"                              /* 20 x 10 x 10 */                     \
    "[maxpool]\nsize = 2\n"                                                                                           \
    "[conv]\nname = c3\nfilters = 12\nsize = 3\npad = 1\n[relu]\n"                                                    \
    "[globalavgpool]\n[dense]\nname = fc\nunits = 4\n"

static const char *const graph_net = GRAPH_NET("[batchnorm]\n", "[batchnorm]\nname = bnres\n");
static const char *const graph_net_nobn = GRAPH_NET("", "");

enum { B = 3, MAXL = 32 };

/* Random weights; biases uniform(-0.2, 0.2) or zero; batchnorm statistics
 * random, with zero beta and mean when zero_bias (so folding adds none). */
static void make_model(rm_model *m, const char *text, int zero_bias, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    cr_assert_eq(rm_netdef_parse(&m->def, text, "g.cfg"), 0, "%s", rm_error_message());
    rm_net net;
    cr_assert_eq(rm_net_create(&net, &m->def, 1, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_init_params(&net, RM_INIT_HE, seed), 0);
    rm_rng rng;
    rm_rng_seed(&rng, seed, 9, 0);
    for (int i = 0; i < net.num_layers; i++)
        for (int p = 0; p < net.layers[i].num_params; p++) {
            rm_param *prm = &net.layers[i].params[p];
            int64_t n = rm_param_plain_count(prm);
            float *v = malloc(sizeof *v * (size_t)n);
            cr_assert_eq(rm_net_param_read(&net, prm, v), 0);
            for (int64_t k = 0; k < n; k++) {
                if (!strcmp(prm->name, "bias")) v[k] = zero_bias ? 0 : (float)rm_rng_range(&rng, -0.2, 0.2);
                if (!strcmp(prm->name, "gamma") || !strcmp(prm->name, "running_var") || !strcmp(prm->name, "scale"))
                    v[k] = (float)rm_rng_range(&rng, 0.5, 1.5);
                if (!strcmp(prm->name, "beta") || !strcmp(prm->name, "running_mean") || !strcmp(prm->name, "shift"))
                    v[k] = zero_bias ? 0 : (float)rm_rng_range(&rng, -0.3, 0.3);
            }
            cr_assert_eq(rm_net_param_write(&net, prm, v), 0);
            free(v);
        }
    cr_assert_eq(rm_model_capture(m, &net), 0);
    rm_net_destroy(&net);
    char *names[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    cr_assert(m->def.classes <= 8);
    cr_assert_eq(rm_model_set_classes(m, m->def.classes, names), 0);
    m->channels = m->def.input.c;
    m->norm_mean = calloc((size_t)m->channels, sizeof(float));
    m->norm_std = malloc(sizeof(float) * (size_t)m->channels);
    for (int c = 0; c < m->channels; c++) m->norm_std[c] = 0.5f;
}

static int64_t input_size(const rm_model *m) { return (int64_t)m->def.input.c * m->def.input.h * m->def.input.w; }

static float *random_input(const rm_model *m, uint64_t seed, double lo)
{
    int64_t n = B * input_size(m);
    float *x = malloc(sizeof *x * (size_t)n);
    rm_rng rng;
    rm_rng_seed(&rng, seed, 3, 0);
    for (int64_t i = 0; i < n; i++) x[i] = (float)rm_rng_range(&rng, lo, 1);
    return x;
}

static void run_engine(const rm_model *m, const rm_lrp_config *cfg, const float *x, float *rel, int32_t *expl,
                       float *logit)
{
    rm_lrp *e;
    cr_assert_eq(rm_lrp_create(&e, m, B, cfg), 0, "%s", rm_error_message());
    memcpy(rm_lrp_input(e), x, sizeof(float) * (size_t)(B * input_size(m)));
    cr_assert_eq(rm_lrp_run(e, NULL, rel, expl, logit, NULL), 0, "%s", rm_error_message());
    rm_lrp_destroy(e);
}

static void assert_close(const float *a, const float *b, int64_t n, double rtol, const char *what)
{
    double scale = 0, worst = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    cr_assert(scale > 0, "%s: the expected relevance is all zero", what);
    for (int64_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(a[i] - b[i]));
        cr_assert(fabs(a[i] - b[i]) <= rtol * scale, "%s: [%lld] %.8g vs %.8g (scale %.3g)", what, (long long)i, a[i],
                  b[i], scale);
    }
    cr_log_info("%s: largest difference %.2g of the largest relevance", what, worst / scale);
}

/* --- the reference's graph from the model ------------------------------------ */

static double *tensor_doubles(const rm_model *m, const char *layer, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "%s/%s", layer, name);
    for (int i = 0; i < m->num_tensors; i++)
        if (!strcmp(m->tensors[i].key, key)) {
            double *d = malloc(sizeof *d * (size_t)m->tensors[i].count);
            for (int64_t k = 0; k < m->tensors[i].count; k++) d[k] = m->tensors[i].data[k];
            return d;
        }
    return NULL;
}

static rm_lrp_params ref_params(const rm_rule *r)
{
    static const rm_lrp_rule kinds[] = {RM_LRP_ZERO, RM_LRP_EPSILON, RM_LRP_ZPLUS, RM_LRP_ALPHABETA, RM_LRP_GAMMA,
                                        RM_LRP_WSQUARE, RM_LRP_FLAT, RM_LRP_ZBOX};
    rm_lrp_params p = rm_lrp_params_default(r->kind == RM_RULE_PASS ? RM_LRP_EPSILON : kinds[r->kind]);
    if (r->kind == RM_RULE_EPSILON) p.eps = r->eps;
    p.gamma = r->gamma;
    if (r->kind == RM_RULE_ALPHABETA) p.alpha = r->alpha, p.beta = r->beta;
    p.low = 0, p.high = 2;   /* normalized pixel 0 and 255: (0 - 0) / 0.5, (1 - 0) / 0.5 */
    return p;
}

typedef struct {
    rm_lrp_ref_layer layers[MAXL];
    int num_layers;
    double *owned[4 * MAXL];
    int num_owned;
} ref_graph;

/* The model's graph for the reference, written from the original
 * definition: a batchnorm that reads a convolution read by nothing else is
 * folded into it with the oracle's own fold; any other becomes an affine
 * layer; flatten is dropped (the reference's dense reads C,H,W). Rules as
 * the engine's: the add's stabilizer is its fixed 1e-6, pools and the
 * affine layer take the pass layers' eps (1e-6 when 0). */
static void build_ref(ref_graph *g, const rm_model *m, const rm_lrp_config *cfg, int ignore_bias)
{
    const rm_netdef *d = &m->def;
    int map[MAXL];
    memset(g, 0, sizeof *g);
    for (int i = 0; i < d->num_layers; i++) {
        const rm_layer_def *l = &d->layers[i];
        int j = l->inputs[0];
        if (l->type == RM_LAYER_FLATTEN) {
            map[i] = map[j];
            continue;
        }
        double *own[4] = {0};
        if (l->type == RM_LAYER_BATCHNORM) {
            for (int k = 0; k < 4; k++)
                own[k] = g->owned[g->num_owned++] = tensor_doubles(m, l->name, (const char *[]){"gamma", "beta",
                                                                                 "running_mean", "running_var"}[k]);
            if (j >= 0 && d->layers[j].type == RM_LAYER_CONV && rm_netdef_consumers(d, j) == 1) {
                rm_lrp_ref_layer *conv = &g->layers[map[j]];
                int O = d->layers[j].filters;
                double *b = g->owned[g->num_owned++] = calloc((size_t)O, sizeof *b);
                if (conv->b) memcpy(b, conv->b, sizeof *b * (size_t)O);
                rm_lrp_ref_fold_bn((double *)conv->w, b, conv->w, b, own[0], own[1], own[2], own[3], l->eps, O,
                                   (d->layers[j].in.c / (d->layers[j].groups > 1 ? d->layers[j].groups : 1)) *
                                       d->layers[j].size * d->layers[j].size);
                conv->b = b;
                map[i] = map[j];
                continue;
            }
        }
        rm_lrp_ref_layer *L = &g->layers[g->num_layers];
        map[i] = g->num_layers++;
        L->rule = ref_params(&cfg->rules[i]);
        L->rule.ignore_bias = ignore_bias;
        double pass_eps = cfg->rules[i].eps > 0 ? cfg->rules[i].eps : 1e-6;
        L->size = l->size, L->stride = l->stride, L->pad = l->pad, L->dilation = l->dilation;
        for (int k = 0; k < 4; k++) L->pads[k] = l->pads[k];
        L->num_inputs = l->num_inputs;
        for (int k = 0; k < l->num_inputs; k++) L->inputs[k] = l->inputs[k] < 0 ? -1 : map[l->inputs[k]];
        switch (l->type) {
        case RM_LAYER_CONV:
        case RM_LAYER_DENSE:
            L->type = l->type == RM_LAYER_CONV ? RM_LRP_REF_CONV : RM_LRP_REF_DENSE;
            L->units = l->type == RM_LAYER_CONV ? l->filters : l->units;
            L->groups = l->groups;
            L->w = g->owned[g->num_owned++] = tensor_doubles(m, l->name, "weight");
            L->b = g->owned[g->num_owned++] = tensor_doubles(m, l->name, "bias");
            break;
        case RM_LAYER_RELU: L->type = RM_LRP_REF_RELU, L->slope = l->slope, L->max = l->max; break;
        case RM_LAYER_MAXPOOL: L->type = RM_LRP_REF_MAXPOOL; break;
        case RM_LAYER_AVGPOOL:
            L->type = RM_LRP_REF_AVGPOOL, L->rule.eps = pass_eps, L->exclude_pad = !l->count_pad;
            break;
        case RM_LAYER_GLOBALAVGPOOL: L->type = RM_LRP_REF_GLOBAL_AVGPOOL, L->rule.eps = pass_eps; break;
        case RM_LAYER_ADD: L->type = RM_LRP_REF_ADD, L->rule.eps = 1e-6; break;
        case RM_LAYER_CONCAT: L->type = RM_LRP_REF_CONCAT; break;
        case RM_LAYER_BATCHNORM: {
            int C = l->in.c;
            double *scale = g->owned[g->num_owned++] = malloc(sizeof *scale * (size_t)C);
            double *shift = g->owned[g->num_owned++] = malloc(sizeof *shift * (size_t)C);
            for (int c = 0; c < C; c++) {
                scale[c] = own[0][c] / sqrt(own[3][c] + l->eps);
                shift[c] = own[1][c] - own[2][c] * scale[c];
            }
            L->type = RM_LRP_REF_AFFINE, L->scale = scale, L->shift = shift, L->rule.eps = pass_eps;
            break;
        }
        case RM_LAYER_SCALE:
            L->type = RM_LRP_REF_AFFINE, L->rule.eps = pass_eps;
            L->scale = g->owned[g->num_owned++] = tensor_doubles(m, l->name, "scale");
            L->shift = g->owned[g->num_owned++] = tensor_doubles(m, l->name, "shift");
            break;
        default: cr_assert_fail("layer type %d not mapped", (int)l->type);
        }
    }
}

static void free_ref(ref_graph *g)
{
    for (int k = 0; k < g->num_owned; k++) free(g->owned[k]);
}

/* The engine and the reference on the same model and input: heatmaps
 * within rtol of the largest magnitude, the same explained classes. */
static void check_net_against_reference(const char *text, const char *composite, const char *const *ov, int nov,
                                        double eps, double lo, int ignore_bias, double rtol)
{
    rm_model m;
    make_model(&m, text, 0, 21);
    int64_t n = input_size(&m);
    float *x = random_input(&m, 22, lo), *rel = malloc(sizeof *rel * (size_t)(B * n));
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, composite, ov, nov, eps, 0.25), 0, "%s", rm_error_message());
    cfg.ignore_bias = ignore_bias;
    int32_t expl[B], ref_expl[B];
    float logit[B];
    run_engine(&m, &cfg, x, rel, expl, logit);

    ref_graph g;
    build_ref(&g, &m, &cfg, ignore_bias);
    double *xd = malloc(sizeof *xd * (size_t)(B * n)), *want = malloc(sizeof *want * (size_t)(B * n));
    double logits[B * 8];
    int K = m.def.classes;
    for (int64_t i = 0; i < B * n; i++) xd[i] = x[i];
    cr_assert_eq(rm_lrp_ref_graph_run(g.layers, g.num_layers, m.def.input.c, m.def.input.h, m.def.input.w, B, xd,
                                      NULL, want, logits, ref_expl),
                 0, "%s", rm_error_message());
    float *wantf = malloc(sizeof *wantf * (size_t)(B * n));
    for (int64_t i = 0; i < B * n; i++) wantf[i] = (float)want[i];
    for (int b = 0; b < B; b++) {
        cr_assert_eq(expl[b], ref_expl[b], "image %d explains another class (%d %g vs %d; ref logits %g %g %g %g)", b, expl[b], logit[b], ref_expl[b], logits[b*K], logits[b*K+1], logits[b*K+2], logits[b*K+3]);
        cr_assert(fabs(logit[b] - logits[b * K + expl[b]]) <= 1e-5 * fmax(1, fabs(logit[b])), "image %d logit %g vs %g",
                  b, logit[b], logits[b * K + expl[b]]);
    }
    double total = 0;
    for (int64_t i = 0; i < B * n; i++) total += fabs(rel[i]);
    cr_log_info("%s%s%s: sum |R| %.6g", composite, nov ? " " : "", nov ? ov[0] : "", total);
    assert_close(rel, wantf, B * n, rtol, composite);
    free_ref(&g);
    free(x), free(rel), free(xd), free(want), free(wantf);
    rm_lrp_config_free(&cfg);
    rm_model_free(&m);
}

static void check_against_reference(const char *composite, const char *const *ov, int nov, double eps, double lo,
                                    int ignore_bias, double rtol)
{
    check_net_against_reference(graph_net, composite, ov, nov, eps, lo, ignore_bias, rtol);
}

/* 1e-4 of the largest relevance, as for the sequential networks
 * (tests/test_lrp.c): float32 against float64 through 9 rule layers. */
Test(lrp_graph, epsilon_matches_reference) { check_against_reference("epsilon", NULL, 0, 1e-2, -1, 0, 1e-4); }
Test(lrp_graph, epsilon_plus_flat_matches_reference)
{
    check_against_reference("epsilon-plus-flat", NULL, 0, 1e-2, -1, 0, 1e-4);
}
Test(lrp_graph, epsilon_gamma_box_matches_reference)
{
    check_against_reference("epsilon-gamma-box", NULL, 0, 1e-2, 0, 0, 1e-4);
}
Test(lrp_graph, alpha2_beta1_matches_reference) { check_against_reference("alpha2-beta1", NULL, 0, 1e-2, -1, 0, 1e-4); }
Test(lrp_graph, ignore_bias_matches_reference) { check_against_reference("epsilon-plus", NULL, 0, 1e-2, -1, 1, 1e-4); }
/* every rule on the depthwise and the grouped convolution; w-square and
 * flat above the stem keep its z unfused */
Test(lrp_graph, grouped_convolutions_under_every_rule)
{
    static const char *const rules[] = {"zero", "epsilon", "zplus", "alpha2-beta1", "gamma", "wsquare", "flat"};
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        char dw[64], g2[64];
        snprintf(dw, sizeof dw, "dw=%s", rules[r]);
        snprintf(g2, sizeof g2, "g2=%s", rules[r]);
        const char *const ov[] = {dw, g2};
        cr_log_info("rule %s", rules[r]);
        /* LRP-0 on signed sums can divide by near-zero z: a looser bound */
        check_against_reference("epsilon-gamma-box", ov, 2, 1e-2, 0, 0, r == 0 ? 1e-3 : 1e-4);
    }
}

/* --- properties ------------------------------------------------------------- */

/* Zero biases (zero batchnorm shifts, so folding adds none): each heatmap
 * sums to its logit. The add's stabilizer (1e-6) and eps = 1e-9 keep all
 * but ~1e-6 of it. */
static void check_conservation(const char *composite, const char *const *ov, int nov, double lo)
{
    rm_model m;
    make_model(&m, graph_net, 1, 31);
    int64_t n = input_size(&m);
    float *x = random_input(&m, 32, lo), *rel = malloc(sizeof *rel * (size_t)(B * n));
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, composite, ov, nov, 1e-9, 0.25), 0, "%s", rm_error_message());
    int32_t expl[B];
    float logit[B];
    run_engine(&m, &cfg, x, rel, expl, logit);
    for (int b = 0; b < B; b++) {
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += rel[b * n + i];
        cr_assert(fabs(logit[b]) > 1e-3, "image %d: logit %g too small to test", b, logit[b]);
        cr_assert(fabs(sum - logit[b]) <= 1e-4 * fabs(logit[b]), "%s: image %d sums to %.8g, logit %.8g", composite, b,
                  sum, logit[b]);
    }
    free(x), free(rel);
    rm_lrp_config_free(&cfg);
    rm_model_free(&m);
}

Test(lrp_graph, epsilon_conserves_with_zero_bias) { check_conservation("epsilon", NULL, 0, -1); }
/* flat on both layers that read the input (the second one adds to the
 * first one's input relevance). z+ is left out: where an output has no
 * positive contribution (z+ = 0, e.g. a depthwise window of negative
 * weights) its relevance is dropped, which the reference does too. */
Test(lrp_graph, flat_on_the_input_layers_conserves)
{
    const char *const ov[] = {"stem=flat", "side=flat"};
    check_conservation("epsilon", ov, 2, -1);
}
Test(lrp_graph, wsquare_on_grouped_layers_conserves)
{
    const char *const ov[] = {"dw=wsquare", "g2=wsquare"};
    check_conservation("epsilon", ov, 2, -1);
}

/* LRP-0 on every conv and dense layer equals gradient x input (the graph
 * without batchnorm, whose training-mode gradient would use batch
 * statistics): zero biases, relevance seeded with the logit. The add and
 * the global average pool stabilize with 1e-6. 1e-3 of the largest
 * magnitude, as for the sequential network (LRP-0 divides by small z). */
/* LRP-0 (the given rule overrides) against gradient x input of the
 * explained logit, 1e-3 of the largest magnitude. */
static void assert_lrp0_is_gradient_x_input(const char *net_text, int zero_bias, uint64_t seed,
                                            const char *const *ov, int nov, const char *what)
{
    rm_model m;
    make_model(&m, net_text, zero_bias, seed);
    int64_t n = input_size(&m);
    int k = m.def.classes;
    float *x = random_input(&m, seed + 1, -1), *rel = malloc(sizeof *rel * (size_t)(B * n));
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, "epsilon", ov, nov, 0, 0.25), 0, "%s", rm_error_message());
    int32_t expl[B];
    float logit[B];
    run_engine(&m, &cfg, x, rel, expl, logit);

    rm_net net;
    cr_assert_eq(rm_net_create(&net, &m.def, B, RM_MODE_TRAIN, 1), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_apply(&m, &net), 0);
    memcpy(rm_net_input(&net), x, sizeof *x * (size_t)(B * n));
    cr_assert_eq(rm_net_forward(&net), 0);
    float *dz = calloc((size_t)(B * k), sizeof *dz);
    for (int b = 0; b < B; b++) dz[b * k + expl[b]] = 1;
    cr_assert_eq(rm_net_backward(&net, dz), 0, "%s", rm_error_message());
    const float *g = rm_net_input_grad(&net);
    float *gx = malloc(sizeof *gx * (size_t)(B * n));
    for (int64_t i = 0; i < B * n; i++) gx[i] = g[i] * x[i];
    assert_close(rel, gx, B * n, 1e-3, what);
    rm_net_destroy(&net);
    rm_lrp_config_free(&cfg);
    free(x), free(rel), free(gx), free(dz);
    rm_model_free(&m);
}

Test(lrp_graph, lrp0_equals_gradient_times_input)
{
    const char *const ov[] = {"stem=zero", "dw=zero", "pw=zero", "g2=zero", "side=zero", "c3=zero", "fc=zero"};
    assert_lrp0_is_gradient_x_input(graph_net_nobn, 1, 41, ov, 7, "LRP-0 vs gradient x input");
}

/* Leaky and clipped ReLUs (relu6-like, clipped low at 0.5 so that random
 * weights reach it): relevance passes them unchanged, and the layer above a
 * leaky one sees negative inputs, so its z+ and alpha-beta rules need their
 * x- terms (what the plain ReLU lets them skip). */
static const char act_net[] = "[net]\ninput = 3x8x8\nclasses = 4\n"
                              "[conv]\nname = c1\nfilters = 6\nsize = 3\npad = 1\n[relu]\nslope = 0.1\n"
                              "[conv]\nname = c2\nfilters = 6\nsize = 3\npad = 1\n[relu]\nmax = 0.5\n"
                              "[conv]\nname = c3\nfilters = 6\nsize = 3\npad = 1\ngroups = 2\n[relu]\nslope = 0.2\n"
                              "[add]\nfrom = relu3, relu1\n"
                              "[globalavgpool]\n[dense]\nname = fc\nunits = 4\n";

Test(lrp_graph, leaky_and_clipped_relus_match_reference_under_every_composite)
{
    static const char *const composites[] = {"epsilon", "epsilon-plus", "alpha2-beta1", "epsilon-gamma-box"};
    for (size_t c = 0; c < sizeof composites / sizeof composites[0]; c++)
        check_net_against_reference(act_net, composites[c], NULL, 0, 1e-2, c == 3 ? 0 : -1, 0, 1e-4);
}

/* TensorFlow-style geometry: 'SAME' at stride 2 with the odd pad at the
 * bottom/right (on the input layer, which then skips the input-layer
 * kernel), a dilated convolution, and a dilated grouped one with uneven
 * pads. */
static const char geom_net[] = "[net]\ninput = 2x10x10\nclasses = 4\n"
                               "[conv]\nname = c1\nfilters = 6\nsize = 3\nstride = 2\npad = 0, 0, 1, 1\n[relu]\n"
                               "[conv]\nname = c2\nfilters = 6\nsize = 3\ndilation = 2\npad = 2\n[relu]\n"
                               "[conv]\nname = c3\nfilters = 6\nsize = 2\ndilation = 2\ngroups = 2\n"
                               "pad = 1, 0, 0, 1\n[relu]\n"
                               "[globalavgpool]\n[dense]\nname = fc\nunits = 4\n";

Test(lrp_graph, dilated_and_asymmetric_convolutions_match_reference_under_every_composite)
{
    static const char *const composites[] = {"epsilon", "epsilon-plus", "alpha2-beta1", "epsilon-gamma-box"};
    for (size_t c = 0; c < sizeof composites / sizeof composites[0]; c++)
        check_net_against_reference(geom_net, composites[c], NULL, 0, 1e-2, c == 3 ? 0 : -1, 0, 1e-4);
}

Test(lrp_graph, lrp0_equals_gradient_times_input_through_dilated_asymmetric_convolutions)
{
    const char *const ov[] = {"c1=zero", "c2=zero", "c3=zero", "fc=zero"};
    assert_lrp0_is_gradient_x_input(geom_net, 1, 47, ov, 4, "LRP-0 vs gradient x input, dilated");
}

/* Pooling with asymmetric pads: 'SAME' 3x3 /2 max pooling on 10x10 (pads
 * 0,0,1,1), an average over the real cells (count_pad = 0, pads 1,0,1,1,
 * ceil_mode's kind of extra end pad), and one counting its padding cells
 * (pads 0,1,1,0). Winner-takes-all and the epsilon rule with each window's
 * own weights. */
static const char pool_net[] = "[net]\ninput = 2x10x10\nclasses = 4\n"
                               "[conv]\nname = c1\nfilters = 6\nsize = 3\npad = 1\n[relu]\n"
                               "[maxpool]\nsize = 3\nstride = 2\npad = 0, 0, 1, 1\n"
                               "[conv]\nname = c2\nfilters = 6\nsize = 3\npad = 1\n[relu]\n"
                               "[avgpool]\nsize = 3\nstride = 2\npad = 1, 0, 1, 1\ncount_pad = 0\n"
                               "[conv]\nname = c3\nfilters = 5\nsize = 1\n[relu]\n"
                               "[avgpool]\nsize = 2\nstride = 1\npad = 0, 1, 1, 0\n"
                               "[flatten]\n[dense]\nname = fc\nunits = 4\n";

Test(lrp_graph, asymmetric_and_exclude_padding_pools_match_reference_under_every_composite)
{
    static const char *const composites[] = {"epsilon", "epsilon-plus", "alpha2-beta1", "epsilon-gamma-box"};
    for (size_t c = 0; c < sizeof composites / sizeof composites[0]; c++)
        check_net_against_reference(pool_net, composites[c], NULL, 0, 1e-2, c == 3 ? 0 : -1, 0, 1e-4);
}

Test(lrp_graph, lrp0_equals_gradient_times_input_through_asymmetric_pools)
{
    const char *const ov[] = {"c1=zero", "c2=zero", "c3=zero", "fc=zero"};
    assert_lrp0_is_gradient_x_input(pool_net, 1, 53, ov, 4, "LRP-0 vs gradient x input, padded pools");
}

/* [scale] layers (a normalization baked into a model) after a residual sum
 * and before the dense head, and one on the input: each the epsilon rule
 * of its per-channel affine map, as the oracle's affine layer. */
static const char scale_net[] = "[net]\ninput = 2x8x8\nclasses = 4\n"
                                "[scale]\nname = s0\n"
                                "[conv]\nname = c1\nfilters = 6\nsize = 3\npad = 1\n[relu]\nname = r1\n"
                                "[conv]\nname = c2\nfilters = 6\nsize = 3\npad = 1\n"
                                "[add]\nfrom = c2, r1\n[scale]\nname = s1\n[relu]\n"
                                "[globalavgpool]\n[flatten]\n[scale]\nname = s2\n[dense]\nname = fc\nunits = 4\n";

Test(lrp_graph, scale_layers_match_reference_under_every_composite)
{
    static const char *const composites[] = {"epsilon", "epsilon-plus", "alpha2-beta1"};
    for (size_t c = 0; c < sizeof composites / sizeof composites[0]; c++)
        check_net_against_reference(scale_net, composites[c], NULL, 0, 1e-2, c == 3 ? 0 : -1, 0, 1e-4);
    check_net_against_reference(scale_net, "epsilon", NULL, 0, 1e-2, -1, 1, 1e-4);   /* --ignore-bias */
}

/* Leaky ReLUs keep the network positively homogeneous: with zero biases,
 * LRP-0 is still gradient x input. */
Test(lrp_graph, lrp0_equals_gradient_times_input_through_leaky_relus)
{
    static const char leaky_net[] = "[net]\ninput = 3x8x8\nclasses = 4\n"
                                    "[conv]\nname = c1\nfilters = 6\nsize = 3\npad = 1\n[relu]\nslope = 0.1\n"
                                    "[conv]\nname = c2\nfilters = 6\nsize = 3\npad = 1\ngroups = 3\n"
                                    "[relu]\nslope = 0.3\n"
                                    "[add]\nfrom = relu2, relu1\n"
                                    "[globalavgpool]\n[dense]\nname = fc\nunits = 4\n";
    const char *const ov[] = {"c1=zero", "c2=zero", "fc=zero"};
    assert_lrp0_is_gradient_x_input(leaky_net, 1, 43, ov, 3, "LRP-0 vs gradient x input, leaky");
}

/* A classifier head without a dense layer (mini-Xception's: a convolution to
 * the classes, global average pooling, flatten): the seed enters at the
 * flatten, reordered from plain [B,K] into the pooled output's layout
 * (plain on this development machine, blocked on others), and LRP-0 is
 * still gradient x input. */
static const char conv_head_net[] = "[net]\ninput = 2x8x8\nclasses = 8\n"
                                    "[conv]\nname = c1\nfilters = 8\nsize = 3\npad = 1\n[relu]\n"
                                    "[maxpool]\nsize = 2\n"
                                    "[conv]\nname = c2\nfilters = 8\nsize = 3\npad = 1\n"
                                    "[globalavgpool]\n[flatten]\n";

Test(lrp_graph, a_convolution_head_without_dense_layer_is_explained)
{
    const char *const ov[] = {"c1=zero", "c2=zero"};
    assert_lrp0_is_gradient_x_input(conv_head_net, 0, 51, ov, 2, "LRP-0 vs gradient x input, conv head");
}

/* --- what is still refused ------------------------------------------------------ */

Test(lrp_graph, a_network_ending_in_pooling_is_refused_by_name)
{
    rm_netdef def;
    cr_assert_eq(rm_netdef_parse(&def, "[net]\ninput = 1x6x6\nclasses = 3\n[conv]\nfilters = 3\nsize = 3\n"
                                       "[globalavgpool]\nname = gap\n", "gap.cfg"),
                 0, "%s", rm_error_message());
    rm_lrp_config cfg;
    rm_error_clear();
    cr_assert_neq(rm_lrp_composite(&cfg, &def, "epsilon", NULL, 0, 1e-2, 0.25), 0);
    cr_expect(strstr(rm_error_message(), "layer gap (line 7): LRP needs a dense or flatten last layer"), "%s",
              rm_error_message());
    rm_netdef_free(&def);
}

/* --- the shipped residual network ------------------------------------------------ */

static char *read_net(const char *name)
{
    const char *dir = getenv("RELMASK_NETS");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.cfg", dir && *dir ? dir : "nets", name);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    static char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return text;
}

/* nets/fer-resnet-mini with random weights: three adds (the skips fan out
 * from maxpool1, b1out and b2out), 1x1 projection skips, every batchnorm
 * folded, global average pooling. */
Test(lrp_graph, fer_resnet_mini_matches_reference, .timeout = 120)
{
    check_net_against_reference(read_net("fer-resnet-mini"), "epsilon-plus-flat", NULL, 0, 1e-2, 0, 0, 1e-4);
    check_net_against_reference(read_net("fer-resnet-mini"), "epsilon", NULL, 0, 1e-9, 0, 0, 1e-4);
    /* without biases the random network's sums come near 0 (the heatmap's
     * mass is 5x the epsilon-with-bias one's) and float32 noise grows like
     * LRP-0's: measured 6e-5, so 1e-3 as for LRP-0 */
    check_net_against_reference(read_net("fer-resnet-mini"), "epsilon", NULL, 0, 1e-2, 0, 1, 1e-3);
    check_net_against_reference(read_net("fer-resnet-mini"), "epsilon-gamma-box", NULL, 0, 1e-2, 0, 1, 1e-4);
}
