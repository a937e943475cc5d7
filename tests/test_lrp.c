/* LRP on oneDNN: properties that hold whatever the weights (LRP-0 equals
 * gradient x input, conservation, batch independence, batchnorm folding,
 * z-box/z+/flat/w-square conservation), and the composites' rule choice.
 * Tolerances: float32 sums over a few thousand terms, 1e-4 relative to the
 * largest magnitude unless stated. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "relevance/lrp.h"
#include "oracle/lrp_reference.h"
#include "core/rng.h"
#include "train/train.h"

static const char *const plain_net =
    "[net]\ninput = 2x12x10\nclasses = 5\n[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n[conv]\nfilters = 17\nsize = 3\nstride = 2\npad = 1\nactivation = relu\n"
    "[avgpool]\nsize = 3\nstride = 1\npad = 1\n[dense]\nunits = 12\nactivation = relu\n[dense]\nunits = 5\n";

static const char *const bn_net =
    "[net]\ninput = 1x10x10\nclasses = 4\n[conv]\nfilters = 16\nsize = 3\npad = 1\nbias = 0\n[batchnorm]\n[relu]\n"
    "[maxpool]\nsize = 2\n[conv]\nfilters = 8\nsize = 3\npad = 1\n[batchnorm]\n[relu]\n[dense]\nunits = 4\n";

enum { B = 4 };

/* A model with random weights (and batchnorm statistics), biases optional. */
static void make_model(rm_model *m, const char *text, int zero_bias, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    cr_assert_eq(rm_netdef_parse(&m->def, text, "t.cfg"), 0, "%s", rm_error_message());
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
                if (!strcmp(prm->name, "gamma") || !strcmp(prm->name, "running_var"))
                    v[k] = (float)rm_rng_range(&rng, 0.5, 1.5);
                if (!strcmp(prm->name, "beta") || !strcmp(prm->name, "running_mean"))
                    v[k] = (float)rm_rng_range(&rng, -0.3, 0.3);
            }
            cr_assert_eq(rm_net_param_write(&net, prm, v), 0);
            free(v);
        }
    cr_assert_eq(rm_model_capture(m, &net), 0);
    rm_net_destroy(&net);
    char *names[5] = {"a", "b", "c", "d", "e"};
    cr_assert_eq(rm_model_set_classes(m, m->def.classes, names), 0);
    m->channels = m->def.input.c;
    m->norm_mean = calloc((size_t)m->channels, sizeof(float));
    m->norm_std = malloc(sizeof(float) * (size_t)m->channels);
    for (int c = 0; c < m->channels; c++) m->norm_std[c] = 0.5f;
}

static int64_t input_size(const rm_model *m) { return (int64_t)m->def.input.c * m->def.input.h * m->def.input.w; }

static void fill_input(float *x, int64_t n, uint64_t seed, double lo)
{
    rm_rng rng;
    rm_rng_seed(&rng, seed, 3, 0);
    for (int64_t i = 0; i < n; i++) x[i] = (float)rm_rng_range(&rng, lo, 1);
}

static void run_lrp_biased(const rm_model *m, const char *composite, const char *const *overrides, int noverrides,
                           double eps, int ignore_bias, int batch, const float *x, float *rel, int32_t *expl,
                           float *logit)
{
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m->def, composite, overrides, noverrides, eps, 0.25), 0, "%s",
                 rm_error_message());
    cfg.ignore_bias = ignore_bias;
    rm_lrp *e;
    cr_assert_eq(rm_lrp_create(&e, m, batch, &cfg), 0, "%s", rm_error_message());
    memcpy(rm_lrp_input(e), x, sizeof(float) * (size_t)(batch * input_size(m)));
    cr_assert_eq(rm_lrp_run(e, NULL, rel, expl, logit, NULL), 0, "%s", rm_error_message());
    rm_lrp_destroy(e);
    rm_lrp_config_free(&cfg);
}

static void run_lrp(const rm_model *m, const char *composite, const char *const *overrides, int noverrides,
                    double eps, int batch, const float *x, float *rel, int32_t *expl, float *logit)
{
    run_lrp_biased(m, composite, overrides, noverrides, eps, 0, batch, x, rel, expl, logit);
}

static void assert_close(const float *a, const float *b, int64_t n, double rtol, const char *what)
{
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (int64_t i = 0; i < n; i++)
        cr_assert(fabs(a[i] - b[i]) <= rtol * scale + 1e-12, "%s: [%lld] %.8g vs %.8g (scale %.3g)", what,
                  (long long)i, a[i], b[i], scale);
}

Test(lrp, lrp0_equals_gradient_times_input)
{
    rm_model m;
    make_model(&m, plain_net, 0, 1);
    int64_t n = input_size(&m);
    float *x = malloc(sizeof *x * (size_t)(B * n)), *rel = malloc(sizeof *rel * (size_t)(B * n));
    fill_input(x, B * n, 5, -1);
    int32_t expl[B];
    float logit[B];
    const char *const all_zero[] = {"conv*=zero", "dense*=zero"};
    run_lrp(&m, "epsilon", all_zero, 2, 0, B, x, rel, expl, logit);

    rm_net net;
    cr_assert_eq(rm_net_create(&net, &m.def, B, RM_MODE_TRAIN, 1), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_apply(&m, &net), 0);
    memcpy(rm_net_input(&net), x, sizeof *x * (size_t)(B * n));
    cr_assert_eq(rm_net_forward(&net), 0);
    float dz[B * 5] = {0};
    for (int b = 0; b < B; b++) dz[b * 5 + expl[b]] = 1;
    cr_assert_eq(rm_net_backward(&net, dz), 0, "%s", rm_error_message());
    const float *g = rm_net_input_grad(&net);
    float *gx = malloc(sizeof *gx * (size_t)(B * n));
    for (int64_t i = 0; i < B * n; i++) gx[i] = g[i] * x[i];
    /* LRP-0 divides by z at every layer, so float32 rounding in the
     * (Winograd) forward is amplified where z is small: 1e-3 of the largest
     * magnitude. The average pool's stabilizer (1e-6) adds nothing visible. */
    assert_close(rel, gx, B * n, 1e-3, "LRP-0 vs gradient x input");
    rm_net_destroy(&net);
    free(x), free(rel), free(gx);
    rm_model_free(&m);
}

static void check_conservation(const char *composite, const char *const *ov, int nov, double lo, double rtol)
{
    rm_model m;
    make_model(&m, plain_net, 1, 2);
    int64_t n = input_size(&m);
    float *x = malloc(sizeof *x * (size_t)(B * n)), *rel = malloc(sizeof *rel * (size_t)(B * n));
    fill_input(x, B * n, 6, lo);
    int32_t expl[B];
    float logit[B];
    run_lrp(&m, composite, ov, nov, 1e-9, B, x, rel, expl, logit);
    for (int b = 0; b < B; b++) {
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += rel[b * n + i];
        cr_assert(fabs(sum - logit[b]) <= rtol * fabs(logit[b]), "%s: image %d sums to %.8g, logit %.8g", composite, b,
                  sum, logit[b]);
    }
    free(x), free(rel);
    rm_model_free(&m);
}

Test(lrp, epsilon_conserves_with_zero_bias) { check_conservation("epsilon", NULL, 0, -1, 1e-4); }
Test(lrp, zplus_conserves_on_nonnegative_input)
{
    const char *const ov[] = {"conv1=zplus"};
    check_conservation("epsilon-plus", ov, 1, 0, 1e-4);
}
Test(lrp, flat_first_layer_conserves) { check_conservation("epsilon-plus-flat", NULL, 0, -1, 1e-4); }
Test(lrp, wsquare_first_layer_conserves)
{
    const char *const ov[] = {"conv1=wsquare"};
    check_conservation("epsilon-plus", ov, 1, -1, 1e-4);
}
Test(lrp, zbox_first_layer_conserves)
{
    /* bounds: normalized 0 and 255 = (0 - 0) / 0.5 and (1 - 0) / 0.5 */
    check_conservation("epsilon-gamma-box", NULL, 0, 0, 1e-3);
}

Test(lrp, heatmap_is_the_same_alone_and_in_a_batch)
{
    rm_model m;
    make_model(&m, plain_net, 0, 3);
    int64_t n = input_size(&m);
    enum { N8 = 8 };
    float *x = malloc(sizeof *x * (size_t)(N8 * n)), *rel = malloc(sizeof *rel * (size_t)(N8 * n));
    float *one = malloc(sizeof *one * (size_t)n);
    fill_input(x, N8 * n, 7, -1);
    int32_t expl[N8], e1;
    float logit[N8], l1;
    run_lrp(&m, "epsilon-gamma-box", NULL, 0, 1e-2, N8, x, rel, expl, logit);
    run_lrp(&m, "epsilon-gamma-box", NULL, 0, 1e-2, 1, x + 5 * n, one, &e1, &l1);
    cr_assert_eq(e1, expl[5]);
    assert_close(one, rel + 5 * n, n, 1e-5, "image 5 alone vs in a batch of 8");
    free(x), free(rel), free(one);
    rm_model_free(&m);
}

Test(lrp, batchnorm_folding_keeps_the_outputs)
{
    rm_model m;
    make_model(&m, bn_net, 0, 4);
    int64_t n = input_size(&m);
    float *x = malloc(sizeof *x * (size_t)(B * n));
    fill_input(x, B * n, 8, -1);
    rm_net net;
    cr_assert_eq(rm_net_create(&net, &m.def, B, RM_MODE_INFER, 0), 0);
    cr_assert_eq(rm_model_apply(&m, &net), 0);
    memcpy(rm_net_input(&net), x, sizeof *x * (size_t)(B * n));
    cr_assert_eq(rm_net_forward(&net), 0);
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, "epsilon", NULL, 0, 1e-2, 0.25), 0);
    rm_lrp *e;
    cr_assert_eq(rm_lrp_create(&e, &m, B, &cfg), 0, "%s", rm_error_message());
    memcpy(rm_lrp_input(e), x, sizeof *x * (size_t)(B * n));
    float *rel = malloc(sizeof *rel * (size_t)(B * n));
    cr_assert_eq(rm_lrp_run(e, NULL, rel, NULL, NULL, NULL), 0, "%s", rm_error_message());
    assert_close(rm_lrp_logits(e), rm_net_logits(&net), B * 4, 1e-5, "folded vs batchnorm logits");
    rm_lrp_destroy(e);
    rm_lrp_config_free(&cfg);
    rm_net_destroy(&net);
    free(x), free(rel);
    rm_model_free(&m);
}

Test(lrp, composites_and_overrides)
{
    rm_netdef d;
    cr_assert_eq(rm_netdef_parse(&d, plain_net, "t.cfg"), 0);
    rm_lrp_config c;
    cr_assert_eq(rm_lrp_composite(&c, &d, "epsilon-plus-flat", NULL, 0, 0.01, 0.25), 0);
    cr_assert_eq(c.rules[0].kind, RM_RULE_FLAT, "first layer flat");
    cr_assert_eq(c.rules[3].kind, RM_RULE_ZPLUS, "convolutions z+");
    cr_assert_eq(c.rules[6].kind, RM_RULE_EPSILON, "dense epsilon");
    cr_assert_eq(c.rules[2].kind, RM_RULE_PASS, "pooling passes to its own treatment");
    rm_lrp_config_free(&c);
    const char *const ov[] = {"conv1=zbox", "dense*=alpha2-beta1"};
    cr_assert_eq(rm_lrp_composite(&c, &d, "epsilon", ov, 2, 0.01, 0.25), 0, "%s", rm_error_message());
    cr_assert_eq(c.rules[0].kind, RM_RULE_ZBOX);
    cr_assert_eq(c.rules[6].kind, RM_RULE_ALPHABETA);
    cr_assert_eq(c.rules[6].alpha, 2);
    rm_lrp_config_free(&c);
    const char *const bad1[] = {"conv9=zplus"};
    cr_assert_neq(rm_lrp_composite(&c, &d, "epsilon", bad1, 1, 0.01, 0.25), 0);
    cr_assert(strstr(rm_error_message(), "no conv or dense layer is named 'conv9'"), "%s", rm_error_message());
    const char *const bad2[] = {"conv1=alpha2-beta2"};
    cr_assert_neq(rm_lrp_composite(&c, &d, "epsilon", bad2, 1, 0.01, 0.25), 0);
    cr_assert(strstr(rm_error_message(), "alpha - beta = 1"), "%s", rm_error_message());
    const char *const bad3[] = {"maxpool1=epsilon"};
    cr_assert_neq(rm_lrp_composite(&c, &d, "epsilon", bad3, 1, 0.01, 0.25), 0);
    cr_assert_neq(rm_lrp_composite(&c, &d, "nonsense", NULL, 0, 0.01, 0.25), 0);
    cr_assert(strstr(rm_error_message(), "unknown composite"), "%s", rm_error_message());
    rm_netdef_free(&d);
}

Test(lrp, zbox_is_refused_past_the_first_layer)
{
    rm_model m;
    make_model(&m, plain_net, 0, 1);
    const char *const ov[] = {"conv2=zbox"};
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, "epsilon", ov, 1, 0.01, 0.25), 0);
    rm_lrp *e;
    cr_assert_neq(rm_lrp_create(&e, &m, 2, &cfg), 0);
    cr_assert(strstr(rm_error_message(), "first layer only"), "%s", rm_error_message());
    rm_lrp_config_free(&cfg);
    rm_model_free(&m);
}

/* --- the fast engine against the double-precision matrix-form reference ---- */

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
    p.low = 0, p.high = 2;   /* normalized 0 and 255: (0 - 0) / 0.5, (1 - 0) / 0.5 */
    return p;
}

/* Runs both on the same model (network text `net`) and input; compares
 * heatmaps within rtol of the largest magnitude. */
static void check_net_against_reference(const char *net, const char *composite, const char *const *ov, int nov,
                                        double lo, double rtol, int ignore_bias)
{
    rm_model m;
    make_model(&m, net, 0, 11);
    int64_t n = input_size(&m);
    float *x = malloc(sizeof *x * (size_t)(B * n)), *rel = malloc(sizeof *rel * (size_t)(B * n));
    fill_input(x, B * n, 12, lo);
    int32_t expl[B];
    float logit[B];
    run_lrp_biased(&m, composite, ov, nov, 1e-2, ignore_bias, B, x, rel, expl, logit);

    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, composite, ov, nov, 1e-2, 0.25), 0);
    rm_lrp_ref_layer layers[32];
    double *owned[64];
    int nl = 0, no = 0;
    for (int i = 0; i < m.def.num_layers; i++) {
        const rm_layer_def *d = &m.def.layers[i];
        rm_lrp_ref_layer *L = &layers[nl++];
        memset(L, 0, sizeof *L);
        L->rule = ref_params(&cfg.rules[i]);
        L->rule.eps = cfg.rules[i].kind == RM_RULE_PASS ? 1e-2 : L->rule.eps;
        L->rule.ignore_bias = ignore_bias;
        L->size = d->size, L->stride = d->stride, L->pad = d->pad;
        switch (d->type) {
        case RM_LAYER_CONV:
        case RM_LAYER_DENSE:
            L->type = d->type == RM_LAYER_CONV ? RM_LRP_REF_CONV : RM_LRP_REF_DENSE;
            L->units = d->type == RM_LAYER_CONV ? d->filters : d->units;
            L->w = owned[no++] = tensor_doubles(&m, d->name, "weight");
            L->b = owned[no++] = tensor_doubles(&m, d->name, "bias");
            break;
        case RM_LAYER_RELU: L->type = RM_LRP_REF_RELU; break;
        case RM_LAYER_MAXPOOL: L->type = RM_LRP_REF_MAXPOOL; break;
        case RM_LAYER_AVGPOOL: L->type = RM_LRP_REF_AVGPOOL; break;
        case RM_LAYER_FLATTEN: nl--; break;   /* the reference's dense layer reads C,H,W in order */
        default: cr_assert_fail("layer type not mapped");
        }
    }
    double *xd = malloc(sizeof *xd * (size_t)(B * n)), *want = malloc(sizeof *want * (size_t)(B * n));
    for (int64_t i = 0; i < B * n; i++) xd[i] = x[i];
    int32_t ref_expl[B];
    cr_assert_eq(rm_lrp_ref_net_run(layers, nl, m.def.input.c, m.def.input.h, m.def.input.w, B, xd, NULL, want, NULL,
                                    NULL, ref_expl), 0, "%s", rm_error_message());
    float *wantf = malloc(sizeof *wantf * (size_t)(B * n));
    for (int64_t i = 0; i < B * n; i++) wantf[i] = (float)want[i];
    for (int b = 0; b < B; b++) cr_assert_eq(expl[b], ref_expl[b], "image %d explains another class", b);
    assert_close(rel, wantf, B * n, rtol, composite);
    for (int k = 0; k < no; k++) free(owned[k]);
    free(x), free(rel), free(xd), free(want), free(wantf);
    rm_lrp_config_free(&cfg);
    rm_model_free(&m);
}

static void check_against_reference(const char *composite, const char *const *ov, int nov, double lo, double rtol)
{
    check_net_against_reference(plain_net, composite, ov, nov, lo, rtol, 0);
}

Test(lrp_vs_reference, epsilon) { check_against_reference("epsilon", NULL, 0, -1, 1e-4); }
Test(lrp_vs_reference, epsilon_plus_flat) { check_against_reference("epsilon-plus-flat", NULL, 0, -1, 1e-4); }
Test(lrp_vs_reference, epsilon_gamma_box) { check_against_reference("epsilon-gamma-box", NULL, 0, 0, 1e-4); }
Test(lrp_vs_reference, alpha2_beta1) { check_against_reference("alpha2-beta1", NULL, 0, -1, 1e-4); }
Test(lrp_vs_reference, gamma_on_signed_input)
{
    const char *const ov[] = {"conv1=gamma"};
    check_against_reference("epsilon", ov, 1, -1, 1e-4);
}
Test(lrp_vs_reference, zplus_and_wsquare)
{
    const char *const ov[] = {"conv1=wsquare", "conv2=zplus", "dense1=zplus"};
    check_against_reference("epsilon", ov, 3, -1, 1e-4);
}

/* The input layer's own kernel (src/relevance/lrp_first.c: input channels
 * <= 4 read in the plain layout) for every rule it serves, on 1 and 3 input
 * channels, stride 1 and 2, padding 0, 1 and 2, odd sizes and an output
 * channel count that fills one blocked group and part of the next; and a
 * 5-channel input, which takes oneDNN's backward-data instead. */
static const char *const first_nets[] = {
    /* 1 channel, stride 2, pad 0, 5 filters (part of one block) */
    "[net]\ninput = 1x11x9\nclasses = 4\n[conv]\nfilters = 5\nsize = 3\nstride = 2\npad = 0\nactivation = relu\n"
    "[conv]\nfilters = 6\nsize = 3\npad = 1\nactivation = relu\n[dense]\nunits = 4\n",
    /* 3 channels, stride 1, pad 1, 20 filters (a full block and part of another), max pool above */
    "[net]\ninput = 3x10x7\nclasses = 3\n[conv]\nfilters = 20\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n[dense]\nunits = 3\n",
    /* 3 channels, 5x5 kernel, stride 2, pad 2 */
    "[net]\ninput = 3x13x12\nclasses = 3\n[conv]\nfilters = 16\nsize = 5\nstride = 2\npad = 2\nactivation = relu\n"
    "[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n[dense]\nunits = 3\n",
    /* 1 channel, 1x1 kernel, pad 0 */
    "[net]\ninput = 1x8x8\nclasses = 3\n[conv]\nfilters = 4\nsize = 1\nactivation = relu\n"
    "[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n[dense]\nunits = 3\n",
    /* 5 channels: oneDNN's backward-data */
    "[net]\ninput = 5x9x9\nclasses = 3\n[conv]\nfilters = 12\nsize = 3\nstride = 2\npad = 1\nactivation = relu\n"
    "[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n[dense]\nunits = 3\n",
};

static void check_first_layer_rule(const char *rule, double lo)
{
    char ov[64];
    snprintf(ov, sizeof ov, "conv1=%s", rule);
    const char *const ovs[] = {ov};
    for (size_t i = 0; i < sizeof first_nets / sizeof *first_nets; i++) {
        cr_log_info("first-layer net %zu, %s", i, rule);
        check_net_against_reference(first_nets[i], "epsilon-plus", ovs, 1, lo, 1e-4, 0);
    }
}

Test(lrp_first_layer, epsilon) { check_first_layer_rule("epsilon", -1); }
Test(lrp_first_layer, zplus) { check_first_layer_rule("zplus", -1); }
Test(lrp_first_layer, alpha2_beta1) { check_first_layer_rule("alpha2-beta1", -1); }
Test(lrp_first_layer, gamma) { check_first_layer_rule("gamma", -1); }
Test(lrp_first_layer, wsquare) { check_first_layer_rule("wsquare", -1); }
Test(lrp_first_layer, flat) { check_first_layer_rule("flat", -1); }
Test(lrp_first_layer, zbox) { check_first_layer_rule("zbox", 0); }

/* --ignore-bias: every rule's z' without biases (epsilon then reuses the
 * layer's z less its bias, z-box and flat compute it from constants). */
Test(lrp_vs_reference, ignore_bias)
{
    const char *const ov[] = {"conv2=alpha2-beta1"};
    check_net_against_reference(plain_net, "epsilon-gamma-box", NULL, 0, 0, 1e-4, 1);
    check_net_against_reference(plain_net, "epsilon-plus-flat", ov, 1, -1, 1e-4, 1);
    check_net_against_reference(plain_net, "epsilon", NULL, 0, -1, 1e-4, 1);
    check_net_against_reference(first_nets[4], "epsilon", NULL, 0, -1, 1e-4, 1);
}

/* A convolution's ReLU runs fused into it unless a rule above ignores its
 * input (flat, w-square), which would hand relevance to outputs the ReLU
 * zeroed, where the divide needs the pre-activation z. */
Test(lrp_vs_reference, flat_and_wsquare_above_a_convolution)
{
    const char *const flat[] = {"conv2=flat"}, *const wsq[] = {"conv2=wsquare", "conv1=gamma"};
    check_net_against_reference(plain_net, "epsilon", flat, 1, -1, 1e-4, 0);
    check_net_against_reference(plain_net, "epsilon", wsq, 2, -1, 1e-4, 0);
    const char *const dense_flat[] = {"dense1=flat"};
    check_net_against_reference(first_nets[0], "epsilon", dense_flat, 1, -1, 1e-4, 0);
}

/* With several threads the batch runs as one slice per thread, each in its
 * own engine: heatmaps, explained classes (per-image targets included) and
 * logits match one engine over the whole batch, and an error in one slice
 * reaches the caller. */
Test(lrp, batch_split_over_threads_matches_one_engine)
{
    rm_model m;
    make_model(&m, plain_net, 0, 5);
    enum { N = 48 };
    int64_t n = input_size(&m);
    float *x = malloc(sizeof *x * (size_t)(N * n));
    fill_input(x, N * n, 13, -1);
    int32_t target[N];
    for (int b = 0; b < N; b++) target[b] = b % 3 == 0 ? -1 : b % 5;
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, "epsilon-gamma-box", NULL, 0, 1e-2, 0.25), 0);
    float *rel[2], logits[2][N * 5], logit[2][N];
    int32_t expl[2][N], pred[2][N];
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k == 0 ? 1 : 3);   /* one engine; three slices of 16 */
        rm_lrp *e;
        cr_assert_eq(rm_lrp_create(&e, &m, N, &cfg), 0, "%s", rm_error_message());
        memcpy(rm_lrp_input(e), x, sizeof *x * (size_t)(N * n));
        rel[k] = malloc(sizeof *rel[k] * (size_t)(N * n));
        cr_assert_eq(rm_lrp_run(e, target, rel[k], expl[k], logit[k], pred[k]), 0, "%s", rm_error_message());
        memcpy(logits[k], rm_lrp_logits(e), sizeof logits[k]);
        if (k == 1) {
            int32_t bad[N];
            memcpy(bad, target, sizeof bad);
            bad[40] = 7;
            cr_assert_neq(rm_lrp_run(e, bad, rel[k], NULL, NULL, NULL), 0);
            cr_assert(strstr(rm_error_message(), "explained class 7 out of range"), "%s", rm_error_message());
        }
        rm_lrp_destroy(e);
    }
    for (int b = 0; b < N; b++) {
        cr_assert_eq(expl[0][b], expl[1][b], "image %d", b);
        cr_assert_eq(pred[0][b], pred[1][b], "image %d", b);
        cr_assert_eq(expl[0][b], target[b] >= 0 ? target[b] : pred[0][b], "image %d", b);
        for (int k = 0; k < 2; k++) cr_assert_eq(logits[k][b * 5 + expl[k][b]], logit[k][b], "image %d", b);
    }
    assert_close(logits[1], logits[0], N * 5, 1e-5, "logits, sliced vs one engine");
    assert_close(logit[1], logit[0], N, 1e-5, "explained logits, sliced vs one engine");
    assert_close(rel[1], rel[0], N * n, 1e-5, "heatmaps, sliced vs one engine");
    free(rel[0]), free(rel[1]), free(x);
    rm_lrp_config_free(&cfg);
    rm_model_free(&m);
}

/* Max pooling between convolutions that run through oneDNN (not the input
 * kernel), with every composite: 12 channels (a partial blocked group),
 * sizes that leave rows and columns outside every window, 2x2 and 3x3
 * windows, a dense layer right above a pooling, an overlapping pooling (3,
 * stride 2), flat above a pooled convolution, LRP-0 with --ignore-bias. */
static const char *const pool_net =
    "[net]\ninput = 1x13x11\nclasses = 3\n[conv]\nfilters = 6\nsize = 3\npad = 1\nactivation = relu\n"
    "[conv]\nfilters = 12\nsize = 3\npad = 1\nactivation = relu\n[maxpool]\nsize = 2\n"
    "[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n[maxpool]\nsize = 3\n[dense]\nunits = 3\n";
static const char *const overlap_net =
    "[net]\ninput = 1x12x12\nclasses = 3\n[conv]\nfilters = 6\nsize = 3\npad = 1\nactivation = relu\n"
    "[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n[maxpool]\nsize = 3\nstride = 2\n"
    "[dense]\nunits = 3\n";

Test(lrp_vs_reference, max_pooling_between_convolutions)
{
    const char *const composites[] = {"epsilon", "epsilon-plus-flat", "epsilon-gamma-box", "alpha2-beta1"};
    for (int i = 0; i < 4; i++) {
        cr_log_info("%s", composites[i]);
        check_net_against_reference(pool_net, composites[i], NULL, 0, i == 2 ? 0 : -1, 1e-4, 0);
        check_net_against_reference(overlap_net, composites[i], NULL, 0, i == 2 ? 0 : -1, 1e-4, 0);
    }
    const char *const flat_above[] = {"conv3=flat"}, *const zero_bias[] = {"conv2=zero"};
    check_net_against_reference(pool_net, "epsilon-plus", flat_above, 1, -1, 1e-4, 0);
    check_net_against_reference(pool_net, "epsilon-plus", zero_bias, 1, -1, 1e-4, 1);
}
