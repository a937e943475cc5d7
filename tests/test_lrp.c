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

/* The reference's layer list for model m under cfg's rules; the weight
 * copies go to owned[*no...] for the caller to free. */
static void ref_layers(const rm_model *m, const rm_lrp_config *cfg, double pass_eps, int ignore_bias,
                       rm_lrp_ref_layer *layers, int *nl_out, double **owned, int *no_out)
{
    int nl = 0, no = 0;
    for (int i = 0; i < m->def.num_layers; i++) {
        const rm_layer_def *d = &m->def.layers[i];
        rm_lrp_ref_layer *L = &layers[nl++];
        memset(L, 0, sizeof *L);
        L->rule = ref_params(&cfg->rules[i]);
        L->rule.eps = cfg->rules[i].kind == RM_RULE_PASS ? pass_eps : L->rule.eps;
        L->rule.ignore_bias = ignore_bias;
        L->size = d->size, L->stride = d->stride, L->pad = d->pad;
        switch (d->type) {
        case RM_LAYER_CONV:
        case RM_LAYER_DENSE:
            L->type = d->type == RM_LAYER_CONV ? RM_LRP_REF_CONV : RM_LRP_REF_DENSE;
            L->units = d->type == RM_LAYER_CONV ? d->filters : d->units;
            L->w = owned[no++] = tensor_doubles(m, d->name, "weight");
            L->b = owned[no++] = tensor_doubles(m, d->name, "bias");
            break;
        case RM_LAYER_RELU: L->type = RM_LRP_REF_RELU, L->slope = d->slope, L->max = d->max; break;
        case RM_LAYER_MAXPOOL: L->type = RM_LRP_REF_MAXPOOL; break;
        case RM_LAYER_AVGPOOL: L->type = RM_LRP_REF_AVGPOOL; break;
        case RM_LAYER_FLATTEN: nl--; break;   /* the reference's dense layer reads C,H,W in order */
        default: cr_assert_fail("layer type not mapped");
        }
    }
    *nl_out = nl;
    *no_out = no;
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
    ref_layers(&m, &cfg, 1e-2, ignore_bias, layers, &nl, owned, &no);
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

/* --- class-set seeds (rm_lrp_seed): all, top:K, contrast ------------------
 * Every rule is linear in the relevance for a fixed forward pass, so a
 * seed vector's map is the seed-weighted sum of the single-class maps. */

Test(lrp_seed, seed_vectors_by_definition)
{
    const float z[5] = {1, 3, -2, 3, 0.5f};
    float seed[5], score;
    int32_t ex;
    rm_lrp_seed one = {RM_SEED_CLASS, 0};
    cr_assert_eq(rm_lrp_seed_vector(&one, z, 5, 2, seed, &ex, &score), 0);
    const float want_class[5] = {0, 0, -2, 0, 0};
    cr_assert_arr_eq(seed, want_class, sizeof seed);
    cr_assert(ex == 2 && score == -2);
    cr_assert_eq(rm_lrp_seed_vector(NULL, z, 5, -1, seed, &ex, &score), 0);
    const float want_pred[5] = {0, 3, 0, 0, 0};   /* the first of two maxima */
    cr_assert_arr_eq(seed, want_pred, sizeof seed);
    cr_assert(ex == 1 && score == 3);

    rm_lrp_seed all = {RM_SEED_ALL, 0};
    cr_assert_eq(rm_lrp_seed_vector(&all, z, 5, 4, seed, &ex, &score), 0);   /* the target is ignored */
    cr_assert_arr_eq(seed, z, sizeof seed);
    cr_assert(ex == -1 && score == 5.5f);

    rm_lrp_seed top = {RM_SEED_TOP, 1};
    cr_assert_eq(rm_lrp_seed_vector(&top, z, 5, 2, seed, &ex, &score), 0);
    cr_assert_arr_eq(seed, want_pred, sizeof seed);
    cr_assert(ex == 1 && score == 3, "top:1 is pred: explained %d, score %g", ex, score);
    top.top = 2;
    cr_assert_eq(rm_lrp_seed_vector(&top, z, 5, -1, seed, &ex, &score), 0);
    const float want_top2[5] = {0, 3, 0, 3, 0};
    cr_assert_arr_eq(seed, want_top2, sizeof seed);
    cr_assert(ex == -1 && score == 6);
    top.top = 3;
    cr_assert_eq(rm_lrp_seed_vector(&top, z, 5, -1, seed, &ex, &score), 0);
    const float want_top3[5] = {1, 3, 0, 3, 0};
    cr_assert_arr_eq(seed, want_top3, sizeof seed);
    top.top = 5;
    cr_assert_eq(rm_lrp_seed_vector(&top, z, 5, -1, seed, &ex, &score), 0);
    cr_assert_arr_eq(seed, z, sizeof seed);

    rm_lrp_seed con = {RM_SEED_CONTRAST, 0};
    cr_assert_eq(rm_lrp_seed_vector(&con, z, 5, 0, seed, &ex, &score), 0);
    const float want_con[5] = {-0.25f, 3, 0.5f, -0.75f, -0.125f};   /* c = 1, others -z_j / 4 (exact in binary) */
    cr_assert_arr_eq(seed, want_con, sizeof seed);
    cr_assert(ex == 1 && score == 2.375f, "contrast margin %g, want 3 - 2.5/4", score);

    top.top = 0;
    cr_assert_neq(rm_lrp_seed_vector(&top, z, 5, -1, seed, &ex, &score), 0);
    top.top = 6;
    cr_assert_neq(rm_lrp_seed_vector(&top, z, 5, -1, seed, &ex, &score), 0);
    cr_assert(strstr(rm_error_message(), "expected 1..5"), "%s", rm_error_message());
}

enum { SK = 5 };   /* plain_net's classes */

/* One engine over B images of plain_net with biases, the default
 * composite: the single-class maps per[c] (every image explains class c),
 * and the maps of `seed`, with its explained classes and scores. */
typedef struct {
    rm_model m;
    int64_t n;
    float *x, *per[SK], *rel, logits[B * SK], score[B];
    int32_t expl[B];
    rm_lrp *e;
    rm_lrp_config cfg;
} seed_run;

static void seed_setup(seed_run *s, const char *composite, int zero_bias, double eps)
{
    memset(s, 0, sizeof *s);
    make_model(&s->m, plain_net, zero_bias, 21);
    s->n = input_size(&s->m);
    s->x = malloc(sizeof(float) * (size_t)(B * s->n));
    s->rel = malloc(sizeof(float) * (size_t)(B * s->n));
    fill_input(s->x, B * s->n, 22, -1);
    cr_assert_eq(rm_lrp_composite(&s->cfg, &s->m.def, composite, NULL, 0, eps, 0.25), 0, "%s", rm_error_message());
    cr_assert_eq(rm_lrp_create(&s->e, &s->m, B, &s->cfg), 0, "%s", rm_error_message());
    for (int c = 0; c < SK; c++) {
        s->per[c] = malloc(sizeof(float) * (size_t)(B * s->n));
        int32_t t[B] = {c, c, c, c};
        memcpy(rm_lrp_input(s->e), s->x, sizeof(float) * (size_t)(B * s->n));
        cr_assert_eq(rm_lrp_run(s->e, t, s->per[c], NULL, NULL, NULL), 0, "%s", rm_error_message());
    }
    memcpy(s->logits, rm_lrp_logits(s->e), sizeof s->logits);
}

static void seed_run_once(seed_run *s, rm_seed_kind kind, int top)
{
    rm_lrp_seed seed = {kind, top};
    memcpy(rm_lrp_input(s->e), s->x, sizeof(float) * (size_t)(B * s->n));
    cr_assert_eq(rm_lrp_run_seeded(s->e, &seed, NULL, s->rel, s->expl, s->score, NULL), 0, "%s", rm_error_message());
    cr_assert_arr_eq(rm_lrp_logits(s->e), s->logits, sizeof s->logits, "the forward pass changed between runs");
}

static void seed_teardown(seed_run *s)
{
    rm_lrp_destroy(s->e);
    rm_lrp_config_free(&s->cfg);
    for (int c = 0; c < SK; c++) free(s->per[c]);
    free(s->x), free(s->rel);
    rm_model_free(&s->m);
}

/* want[b] = sum_c w[b][c] / z[b][c] * per[c][b]: the seed r_c = w z_c
 * weights the map seeded with z_c by w (w = seed / logit). */
static void combine(const seed_run *s, rm_seed_kind kind, int top, float *want)
{
    for (int b = 0; b < B; b++) {
        float seed[SK], sc;
        int32_t ex;
        rm_lrp_seed how = {kind, top};
        cr_assert_eq(rm_lrp_seed_vector(&how, s->logits + b * SK, SK, -1, seed, &ex, &sc), 0);
        for (int64_t i = 0; i < s->n; i++) {
            double v = 0;
            for (int c = 0; c < SK; c++)
                if (seed[c] != 0) v += (double)seed[c] / s->logits[b * SK + c] * s->per[c][b * s->n + i];
            want[b * s->n + i] = (float)v;
        }
    }
}

/* The sets' maps against the weighted sums of the single-class maps:
 * float32 maps of a few thousand terms each, summed over 5 classes,
 * within 1e-4 of the largest magnitude. */
static void check_linear(rm_seed_kind kind, int top)
{
    seed_run s;
    seed_setup(&s, "epsilon-plus-flat", 0, 1e-6);
    float *want = malloc(sizeof *want * (size_t)(B * s.n));
    seed_run_once(&s, kind, top);
    combine(&s, kind, top, want);
    assert_close(s.rel, want, B * s.n, 1e-4, "seed map vs weighted sum of class maps");
    free(want);
    seed_teardown(&s);
}

Test(lrp_seed, all_is_the_sum_of_the_single_class_maps)
{
    /* combine() for all is sum_c per[c]; say so directly as well */
    seed_run s;
    seed_setup(&s, "epsilon-plus-flat", 0, 1e-6);
    float *sum = calloc((size_t)(B * s.n), sizeof *sum);
    for (int c = 0; c < SK; c++)
        for (int64_t i = 0; i < B * s.n; i++) sum[i] += s.per[c][i];
    seed_run_once(&s, RM_SEED_ALL, 0);
    assert_close(s.rel, sum, B * s.n, 1e-4, "all vs sum of the 5 class maps");
    for (int b = 0; b < B; b++) cr_assert_eq(s.expl[b], -1, "all explains no single class");
    free(sum);
    seed_teardown(&s);
}
Test(lrp_seed, top2_is_the_sum_of_the_two_best_class_maps) { check_linear(RM_SEED_TOP, 2); }
Test(lrp_seed, contrast_is_the_class_map_less_the_others_over_k_minus_1) { check_linear(RM_SEED_CONTRAST, 0); }

Test(lrp_seed, top1_is_pred_bit_for_bit)
{
    seed_run s;
    seed_setup(&s, "epsilon-plus-flat", 0, 1e-6);
    float *pred = malloc(sizeof *pred * (size_t)(B * s.n));
    int32_t pexpl[B];
    float plogit[B];
    memcpy(rm_lrp_input(s.e), s.x, sizeof(float) * (size_t)(B * s.n));
    cr_assert_eq(rm_lrp_run(s.e, NULL, pred, pexpl, plogit, NULL), 0);
    seed_run_once(&s, RM_SEED_TOP, 1);
    cr_assert_arr_eq(s.rel, pred, sizeof(float) * (size_t)(B * s.n), "top:1 differs from pred");
    cr_assert_arr_eq(s.expl, pexpl, sizeof pexpl);
    cr_assert_arr_eq(s.score, plogit, sizeof plogit);
    free(pred);
    seed_teardown(&s);
}

/* Conservation: with biases zero and the epsilon rule at eps 1e-9, the map
 * sums to the seed's sum (the score) within 1e-4 of the seed's absolute
 * sum (the contrast margin itself may be near 0). */
static void check_seed_conservation(rm_seed_kind kind, int top)
{
    seed_run s;
    seed_setup(&s, "epsilon", 1, 1e-9);
    seed_run_once(&s, kind, top);
    for (int b = 0; b < B; b++) {
        float seed[SK], sc;
        int32_t ex;
        rm_lrp_seed how = {kind, top};
        cr_assert_eq(rm_lrp_seed_vector(&how, s.logits + b * SK, SK, -1, seed, &ex, &sc), 0);
        double abs_sum = 0, sum = 0;
        for (int c = 0; c < SK; c++) abs_sum += fabs(seed[c]);
        for (int64_t i = 0; i < s.n; i++) sum += s.rel[b * s.n + i];
        cr_assert_eq(sc, s.score[b]);
        cr_assert(fabs(sum - s.score[b]) <= 1e-4 * abs_sum, "seed %d: image %d sums to %.8g, score %.8g", (int)kind, b,
                  sum, s.score[b]);
    }
    seed_teardown(&s);
}
Test(lrp_seed, all_conserves) { check_seed_conservation(RM_SEED_ALL, 0); }
Test(lrp_seed, top3_conserves) { check_seed_conservation(RM_SEED_TOP, 3); }
Test(lrp_seed, contrast_conserves) { check_seed_conservation(RM_SEED_CONTRAST, 0); }

/* Against the float64 reference seeded with the same vector (weights
 * chosen from the engine's logits): within 1e-4 of the largest magnitude,
 * as the single-class comparisons. */
static void check_seed_reference(const char *composite, rm_seed_kind kind, int top)
{
    rm_model m;
    make_model(&m, plain_net, 0, 11);
    int64_t n = input_size(&m);
    float *x = malloc(sizeof *x * (size_t)(B * n)), *rel = malloc(sizeof *rel * (size_t)(B * n));
    fill_input(x, B * n, 12, -1);
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, composite, NULL, 0, 1e-2, 0.25), 0);
    rm_lrp *e;
    cr_assert_eq(rm_lrp_create(&e, &m, B, &cfg), 0, "%s", rm_error_message());
    memcpy(rm_lrp_input(e), x, sizeof *x * (size_t)(B * n));
    rm_lrp_seed how = {kind, top};
    float score[B];
    cr_assert_eq(rm_lrp_run_seeded(e, &how, NULL, rel, NULL, score, NULL), 0, "%s", rm_error_message());
    const float *z = rm_lrp_logits(e);
    double weight[B * SK];
    for (int b = 0; b < B; b++) {
        float seed[SK], sc;
        int32_t ex;
        cr_assert_eq(rm_lrp_seed_vector(&how, z + b * SK, SK, -1, seed, &ex, &sc), 0);
        for (int c = 0; c < SK; c++) weight[b * SK + c] = z[b * SK + c] != 0 ? (double)seed[c] / z[b * SK + c] : 0;
    }
    rm_lrp_ref_layer layers[32];
    double *owned[64];
    int nl = 0, no = 0;
    ref_layers(&m, &cfg, 1e-2, 0, layers, &nl, owned, &no);
    double *xd = malloc(sizeof *xd * (size_t)(B * n)), *want = malloc(sizeof *want * (size_t)(B * n));
    for (int64_t i = 0; i < B * n; i++) xd[i] = x[i];
    cr_assert_eq(rm_lrp_ref_net_run_weighted(layers, nl, m.def.input.c, m.def.input.h, m.def.input.w, B, xd, weight,
                                             want, NULL, NULL), 0, "%s", rm_error_message());
    float *wantf = malloc(sizeof *wantf * (size_t)(B * n));
    for (int64_t i = 0; i < B * n; i++) wantf[i] = (float)want[i];
    assert_close(rel, wantf, B * n, 1e-4, composite);
    for (int k = 0; k < no; k++) free(owned[k]);
    rm_lrp_destroy(e);
    free(x), free(rel), free(xd), free(want), free(wantf);
    rm_lrp_config_free(&cfg);
    rm_model_free(&m);
}
Test(lrp_seed_vs_reference, all_epsilon_plus_flat) { check_seed_reference("epsilon-plus-flat", RM_SEED_ALL, 0); }
Test(lrp_seed_vs_reference, top2_epsilon) { check_seed_reference("epsilon", RM_SEED_TOP, 2); }
Test(lrp_seed_vs_reference, contrast_alpha2_beta1) { check_seed_reference("alpha2-beta1", RM_SEED_CONTRAST, 0); }

/* Sliced over threads, each slice reads its own images' seeds. */
Test(lrp_seed, batch_split_over_threads_matches_one_engine)
{
    rm_model m;
    make_model(&m, plain_net, 0, 31);
    int64_t n = input_size(&m);
    const int N = 32;
    float *x = malloc(sizeof *x * (size_t)(N * n)), *rel[2];
    fill_input(x, N * n, 32, -1);
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, "epsilon-plus-flat", NULL, 0, 1e-6, 0.25), 0);
    rm_lrp_seed how = {RM_SEED_CONTRAST, 0};
    float score[2][32];
    int32_t expl[2][32];
    int threads = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k == 0 ? 1 : 2);
        rm_lrp *e;
        rel[k] = malloc(sizeof(float) * (size_t)(N * n));
        cr_assert_eq(rm_lrp_create(&e, &m, N, &cfg), 0, "%s", rm_error_message());
        memcpy(rm_lrp_input(e), x, sizeof *x * (size_t)(N * n));
        cr_assert_eq(rm_lrp_run_seeded(e, &how, NULL, rel[k], expl[k], score[k], NULL), 0, "%s", rm_error_message());
        rm_lrp_destroy(e);
    }
    omp_set_num_threads(threads);
    cr_assert_arr_eq(expl[0], expl[1], sizeof expl[0]);
    assert_close(rel[1], rel[0], N * n, 1e-5, "contrast, 2 slices vs 1");
    free(x), free(rel[0]), free(rel[1]);
    rm_lrp_config_free(&cfg);
    rm_model_free(&m);
}
