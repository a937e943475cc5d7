/* Graph networks (netdef.h `from`, [add], [concat]): parse errors name the
 * file, line and layer; a small residual network with a concatenated
 * branch matches a double-precision reference built from the oracles
 * (forward, every parameter gradient and the input gradient), agrees with
 * finite differences of its loss, learns, and survives a model file round
 * trip; every shipped sequential network still reads layer i-1 in layer
 * i; LRP builds on graphs (tests/test_lrp_graph.c checks its relevance)
 * and explains nets/fer-resnet-mini from the command line. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/model_file.h"
#include "nn/net.h"
#include "nn/netdef.h"
#include "core/relevance_file.h"
#include "oracle/reference.h"
#include "relevance/lrp.h"
#include "layer_harness.h"
#include "test_util.h"

#define HEADER "[net]\ninput = 1x8x8\nclasses = 3\n"

/* Parsing fails, leaves nothing, and the message holds every string of
 * the NULL-terminated list. */
static void expect_error(const char *text, ...)
{
    rm_netdef def;
    rm_error_clear();
    cr_assert_eq(rm_netdef_parse(&def, text, "g.cfg"), -1, "parsed:\n%s", text);
    cr_assert_null(def.layers);
    const char *msg = rm_error_message();
    va_list ap;
    va_start(ap, text);
    for (const char *want; (want = va_arg(ap, const char *));)
        cr_expect(strstr(msg, want), "message '%s' lacks '%s'", msg, want);
    va_end(ap);
}

Test(graph_netdef, unknown_from_names_file_line_and_name)
{
    expect_error(HEADER "[conv]\nfilters = 2\nsize = 3\n\nfrom = nope\n[dense]\nunits = 3\n",
                 "g.cfg:8: [conv] 'conv1': from names an unknown layer 'nope'", "'input'", NULL);
}

Test(graph_netdef, forward_reference_and_self_reference)
{
    expect_error(HEADER "[conv]\nfilters = 2\nsize = 3\nfrom = later\n[dense]\nname = later\nunits = 3\n",
                 "g.cfg:7: [conv] 'conv1': from names 'later', a later layer (line 8); from may only name earlier",
                 NULL);
    expect_error(HEADER "[conv]\nname = me\nfilters = 2\nsize = 3\nfrom = me\n[dense]\nunits = 3\n",
                 "g.cfg:8: [conv] 'me': from names 'me', the layer itself", NULL);
}

Test(graph_netdef, duplicate_and_reserved_names)
{
    expect_error(HEADER "[conv]\nname = a\nfilters = 2\nsize = 3\n[conv]\nname = a\nfilters = 2\nsize = 3\n"
                 "[dense]\nunits = 3\n",
                 "g.cfg:8: layer name 'a' is already used at line 4", NULL);
    expect_error(HEADER "[conv]\nname = input\nfilters = 2\nsize = 3\n[dense]\nunits = 3\n",
                 "g.cfg:4: layer name 'input' is reserved", NULL);
}

Test(graph_netdef, add_with_mismatched_shapes_names_both)
{
    expect_error(HEADER "[conv]\nname = a\nfilters = 4\nsize = 3\npad = 1\n"
                 "[conv]\nname = b\nfrom = input\nfilters = 2\nsize = 3\npad = 1\n"
                 "[add]\nfrom = a, b\n[dense]\nunits = 3\n",
                 "g.cfg:15: [add] 'add1': input 'a' is 4x8x8 but 'b' is 2x8x8 (add needs identical shapes)", NULL);
    expect_error(HEADER "[conv]\nname = a\nfilters = 4\nsize = 3\n"
                 "[conv]\nname = b\nfrom = input\nfilters = 2\nsize = 3\npad = 1\n"
                 "[concat]\nfrom = a, b\n[dense]\nunits = 3\n",
                 "[concat] 'concat1': input 'a' is 4x6x6 but 'b' is 2x8x8 (concat needs equal height and width)",
                 NULL);
}

Test(graph_netdef, input_counts_repeats_and_unread_outputs)
{
    expect_error(HEADER "[conv]\nfilters = 1\nsize = 1\n[add]\nfrom = conv1\n[dense]\nunits = 3\n",
                 "g.cfg:8: [add] 'add1': from names 1 layer; [add] needs 2..8", NULL);
    expect_error(HEADER "[conv]\nfilters = 1\nsize = 1\n[add]\n[dense]\nunits = 3\n", "g.cfg:7: [add] needs 'from'",
                 NULL);
    expect_error(HEADER "[conv]\nfilters = 1\nsize = 1\n[conv]\nfilters = 1\nsize = 1\nfrom = conv1, input\n"
                 "[dense]\nunits = 3\n",
                 "[conv] 'conv2': from names 2 layers; only [add] and [concat] take several", NULL);
    expect_error(HEADER "[conv]\nfilters = 1\nsize = 1\n[add]\nfrom = conv1, conv1\n[dense]\nunits = 3\n",
                 "[add] 'add1': from names 'conv1' twice", NULL);
    expect_error(HEADER "[conv]\nfilters = 1\nsize = 1\n[dense]\nfrom = input\nunits = 3\n",
                 "g.cfg:4: the output of [conv] 'conv1' is not read by any later layer", NULL);
    expect_error(HEADER "[conv]\nfilters = 1\nsize = 1\n[add]\nfrom = conv1, \n[dense]\nunits = 3\n",
                 "from = conv1,': an empty layer name", NULL);
}

Test(graph_netdef, groups_must_divide_channels_and_filters)
{
    expect_error("[net]\ninput = 6x8x8\nclasses = 3\n[conv]\nfilters = 8\nsize = 3\ngroups = 4\n[dense]\nunits = 3\n",
                 "g.cfg:4: [conv] 'conv1': groups = 4 must divide its 6 input channels and filters = 8", NULL);
    expect_error("[net]\ninput = 4x8x8\nclasses = 3\n[conv]\nfilters = 6\nsize = 3\ngroups = 4\n[dense]\nunits = 3\n",
                 "groups = 4 must divide its 4 input channels and filters = 6", NULL);
    rm_netdef def;
    cr_assert_eq(rm_netdef_parse(&def, "[net]\ninput = 4x8x8\nclasses = 3\n[conv]\nfilters = 8\nsize = 3\n"
                                       "groups = 4\n[dense]\nunits = 3\n", "g.cfg"), 0, "%s", rm_error_message());
    cr_expect_eq(def.layers[0].params, 8 * 1 * 9 + 8, "weights [8, 4/4, 3, 3] and 8 biases");
    cr_expect_eq(def.layers[0].flops, 2 * 8 * 6 * 6 * 9);
    rm_netdef_free(&def);
}

Test(graph_netdef, error_in_a_file_names_the_path)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "bad.cfg");
    tu_write_text(path, HEADER "[conv]\nfilters = 2\nsize = 3\nfrom = nope\n[dense]\nunits = 3\n");
    rm_netdef def;
    cr_assert_eq(rm_netdef_load(&def, path), -1);
    char want[4200];
    snprintf(want, sizeof want, "%s:7: [conv] 'conv1': from names an unknown layer 'nope'", path);
    cr_expect(strstr(rm_error_message(), want), "%s", rm_error_message());
    tu_rmtree(dir);
}

/* Without `from`, layer i reads layer i-1: every shipped network is
 * sequential, and each layer's input shape is the previous output. */
Test(graph_netdef, shipped_sequential_nets_read_the_previous_layer)
{
    const char *dir = getenv("RELMASK_NETS");
    if (!dir || !*dir) dir = "nets";
    const char *names[] = {"fer-gap", "fer-small-28-bn", "fer-small-28", "fer-small", "fer-vgg", "lenet",
                           "tiny-bn", "tiny"};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.cfg", dir, names[n]);
        rm_netdef def;
        cr_assert_eq(rm_netdef_load(&def, path), 0, "%s", rm_error_message());
        cr_expect(rm_netdef_is_sequential(&def), "%s", names[n]);
        for (int i = 0; i < def.num_layers; i++) {
            const rm_layer_def *l = &def.layers[i];
            cr_expect(l->num_inputs == 1 && l->inputs[0] == i - 1, "%s layer %s", names[n], l->name);
            rm_shape want = i ? def.layers[i - 1].out : def.input;
            cr_expect(l->in.c == want.c && l->in.h == want.h && l->in.w == want.w, "%s layer %s", names[n], l->name);
            cr_expect_eq(rm_netdef_consumers(&def, i), i + 1 < def.num_layers, "%s layer %s", names[n], l->name);
        }
        rm_netdef_free(&def);
    }
}

/* ---- the residual network ------------------------------------------------- */

/* 16 and 8 channels: oneDNN picks blocked layouts for the convolutions
 * (8 or 16 channels a block), the concat's 24 are plain NCHW. */
#define GF 16
#define GS 8
#define STR2(x) #x
#define STR(x) STR2(x)

/* c1 is read by r1 and by the add (two gradients summed, no fused ReLU);
 * the input by c1 and side (the input gradient is a sum too); c3's ReLU
 * is fused; flatten aliases. */
static const char *const resnet_text =
    "[net]\ninput = 2x6x6\nclasses = 3\n"
    "[conv]\nname = c1\nfilters = " STR(GF) "\nsize = 3\npad = 1\n"
    "[relu]\nname = r1\n"
    "[conv]\nname = c2\nfilters = " STR(GF) "\nsize = 3\npad = 1\n"
    "[add]\nname = res\nfrom = c2, c1\n"
    "[relu]\nname = r2\n"
    "[conv]\nname = side\nfrom = input\nfilters = " STR(GS) "\nsize = 1\n"
    "[concat]\nname = cat\nfrom = r2, side\n"
    "[conv]\nname = c3\nfilters = " STR(GF) "\nsize = 3\npad = 1\nactivation = relu\n"
    "[avgpool]\nsize = 2\n"
    "[flatten]\n"
    "[dense]\nname = fc\nunits = 3\n";

enum { NB = 2, CI = 2, HW = 6, F = GF, S = GS, K = 3 };

static const char *const param_layers[] = {"c1", "c2", "side", "c3", "fc"};
enum { NUM_PARAM_LAYERS = 5 };

typedef struct {
    double *w[NUM_PARAM_LAYERS], *b[NUM_PARAM_LAYERS];
    double *dw[NUM_PARAM_LAYERS], *db[NUM_PARAM_LAYERS];
} ref_params;

static double *dalloc(size_t n) { return calloc(n, sizeof(double)); }

/* Fills the network input and every parameter with uniform(-scale, scale). */
static void randomize(rm_net *net, uint64_t seed, double scale, float *x)
{
    rm_rng rng;
    rm_rng_seed(&rng, seed, 0, 0);
    int64_t nx = (int64_t)net->batch * net->def->input.c * net->def->input.h * net->def->input.w;
    for (int64_t i = 0; i < nx; i++) x[i] = (float)rm_rng_range(&rng, -1, 1);
    memcpy(rm_net_input(net), x, sizeof(float) * (size_t)nx);
    for (int i = 0; i < net->num_layers; i++)
        for (int p = 0; p < net->layers[i].num_params; p++) {
            rm_param *prm = &net->layers[i].params[p];
            int64_t n = rm_param_plain_count(prm);
            float *v = malloc(sizeof *v * (size_t)n);
            for (int64_t k = 0; k < n; k++) v[k] = (float)rm_rng_range(&rng, -scale, scale);
            cr_assert_eq(rm_net_param_write(net, prm, v), 0, "%s", rm_error_message());
            free(v);
        }
}

static double *read_param(rm_net *net, const char *layer, const char *name, int grad)
{
    rm_param *p = rm_net_param(net, layer, name);
    cr_assert(p, "%s/%s", layer, name);
    int64_t n = rm_param_plain_count(p);
    float *v = malloc(sizeof *v * (size_t)n);
    cr_assert_eq(grad ? rm_net_grad_read(net, p, v) : rm_net_param_read(net, p, v), 0, "%s", rm_error_message());
    double *d = dalloc((size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = v[i];
    free(v);
    return d;
}

/* The network in double precision from the oracles: logits [NB,3], loss,
 * every parameter gradient (r->dw, r->db) and dx [NB,CI,HW,HW]. */
static double reference(ref_params *r, const double *x, const int32_t *labels, double *logits, double *dx)
{
    const size_t img = (size_t)HW * HW, nf = (size_t)NB * F * img;
    double *c1 = dalloc(nf), *r1 = dalloc(nf), *c2 = dalloc(nf), *res = dalloc(nf), *r2 = dalloc(nf);
    double *side = dalloc((size_t)NB * S * img), *cat = dalloc((size_t)NB * (F + S) * img);
    double *c3 = dalloc(nf), *r3 = dalloc(nf), *ap = dalloc((size_t)NB * F * 9);
    rm_ref_conv_forward(c1, x, r->w[0], r->b[0], NB, CI, HW, HW, F, K, 1, 1);
    rm_ref_relu_forward(r1, c1, nf);
    rm_ref_conv_forward(c2, r1, r->w[1], r->b[1], NB, F, HW, HW, F, K, 1, 1);
    for (size_t i = 0; i < nf; i++) res[i] = c2[i] + c1[i];
    rm_ref_relu_forward(r2, res, nf);
    rm_ref_conv_forward(side, x, r->w[2], r->b[2], NB, CI, HW, HW, S, 1, 1, 0);
    for (int n = 0; n < NB; n++) {
        memcpy(cat + (size_t)n * (F + S) * img, r2 + (size_t)n * F * img, sizeof(double) * F * img);
        memcpy(cat + ((size_t)n * (F + S) + F) * img, side + (size_t)n * S * img, sizeof(double) * S * img);
    }
    rm_ref_conv_forward(c3, cat, r->w[3], r->b[3], NB, F + S, HW, HW, F, K, 1, 1);
    rm_ref_relu_forward(r3, c3, nf);
    rm_ref_avgpool_forward(ap, r3, NB, F, HW, HW, 2, 2, 0, 1);
    rm_ref_dense_forward(logits, ap, r->w[4], r->b[4], NB, F * 9, 3);
    double probs[NB * 3], dlogits[NB * 3], loss;
    rm_ref_softmax_xent(probs, dlogits, &loss, logits, labels, NB, 3);

    double *dap = dalloc((size_t)NB * F * 9), *dr3 = dalloc(nf), *dc3 = dalloc(nf);
    double *dcat = dalloc((size_t)NB * (F + S) * img), *dr2 = dalloc(nf), *dside = dalloc((size_t)NB * S * img);
    double *dres = dalloc(nf), *dr1 = dalloc(nf), *dc1 = dalloc(nf);
    rm_ref_dense_backward(dap, r->dw[4], r->db[4], dlogits, ap, r->w[4], NB, F * 9, 3);
    rm_ref_avgpool_backward(dr3, dap, NB, F, HW, HW, 2, 2, 0, 1);
    rm_ref_relu_backward(dc3, dr3, c3, nf);
    rm_ref_conv_backward(dcat, r->dw[3], r->db[3], dc3, cat, r->w[3], NB, F + S, HW, HW, F, K, 1, 1);
    for (int n = 0; n < NB; n++) {
        memcpy(dr2 + (size_t)n * F * img, dcat + (size_t)n * (F + S) * img, sizeof(double) * F * img);
        memcpy(dside + (size_t)n * S * img, dcat + ((size_t)n * (F + S) + F) * img, sizeof(double) * S * img);
    }
    rm_ref_conv_backward(dx, r->dw[2], r->db[2], dside, x, r->w[2], NB, CI, HW, HW, S, 1, 1, 0);
    rm_ref_relu_backward(dres, dr2, res, nf);
    for (size_t i = 0; i < nf; i++) dc1[i] += dres[i];   /* the skip */
    rm_ref_conv_backward(dr1, r->dw[1], r->db[1], dres, r1, r->w[1], NB, F, HW, HW, F, K, 1, 1);
    rm_ref_relu_backward(dc1, dr1, c1, nf);
    rm_ref_conv_backward(dx, r->dw[0], r->db[0], dc1, x, r->w[0], NB, CI, HW, HW, F, K, 1, 1);
    double *all[] = {c1, r1, c2, res, r2, side, cat, c3, r3, ap, dap, dr3, dc3, dcat, dr2, dside, dres, dr1, dc1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    return loss;
}

typedef struct {
    rm_netdef def;
    rm_net net;
    float x[NB * CI * HW * HW];
    int32_t labels[NB];
} resnet;

static void resnet_setup(resnet *g, rm_mode mode, uint64_t seed, double scale)
{
    cr_assert_eq(rm_netdef_parse(&g->def, resnet_text, "resnet.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&g->net, &g->def, NB, mode, mode == RM_MODE_TRAIN), 0, "%s", rm_error_message());
    randomize(&g->net, seed, scale, g->x);
    g->labels[0] = 2;
    g->labels[1] = 0;
}

static void resnet_teardown(resnet *g)
{
    rm_net_destroy(&g->net);
    rm_netdef_free(&g->def);
}

static double net_loss(resnet *g)
{
    double loss;
    memcpy(rm_net_input(&g->net), g->x, sizeof g->x);
    cr_assert_eq(rm_net_forward(&g->net), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_loss_backward(&g->net, g->labels, NB, &loss), 0, "%s", rm_error_message());
    return loss;
}

Test(graph, structure_links_shared_outputs)
{
    resnet g;
    resnet_setup(&g, RM_MODE_TRAIN, 1, 0.5);
    rm_net *net = &g.net;
    cr_expect(!rm_netdef_is_sequential(&g.def));
    cr_expect_eq(net->layers[0].consumers, 2, "c1 feeds r1 and the add");
    cr_expect(!net->layers[0].fused_relu, "c1's ReLU must not be fused: the add reads c1's output");
    cr_expect(net->layers[0].grad_sum, "c1's gradient is the sum of two");
    cr_expect(net->input_sum, "the input's gradient is the sum of two");
    cr_expect(net->layers[7].fused_relu && net->layers[8].fused_relu, "c3 and its ReLU fuse");
    cr_expect_null(net->layers[1].grad_sum, "single consumer: no sum");
    resnet_teardown(&g);
}

Test(graph, matches_the_double_reference)
{
    resnet g;
    resnet_setup(&g, RM_MODE_TRAIN, 11, 0.5);
    double loss = net_loss(&g);
    ref_params r;
    for (int i = 0; i < NUM_PARAM_LAYERS; i++) {
        r.w[i] = read_param(&g.net, param_layers[i], "weight", 0);
        r.b[i] = read_param(&g.net, param_layers[i], "bias", 0);
        r.dw[i] = dalloc((size_t)rm_param_plain_count(rm_net_param(&g.net, param_layers[i], "weight")));
        r.db[i] = dalloc((size_t)rm_param_plain_count(rm_net_param(&g.net, param_layers[i], "bias")));
    }
    double xd[NB * CI * HW * HW], logits[NB * 3], dx[NB * CI * HW * HW] = {0}, got_logits[NB * 3];
    for (size_t i = 0; i < sizeof xd / sizeof xd[0]; i++) xd[i] = g.x[i];
    double ref_loss = reference(&r, xd, g.labels, logits, dx);
    for (int i = 0; i < NB * 3; i++) got_logits[i] = rm_net_logits(&g.net)[i];
    /* Tolerances: float32 kernels (Winograd possible) against float64 on
     * values of order 1: 1e-4 of the largest reference value. */
    lh_assert_close(got_logits, logits, NB * 3, 1e-4, 1e-6, "logits");
    cr_expect(fabs(loss - ref_loss) <= 1e-4 * fabs(ref_loss) + 1e-6, "loss %g vs %g", loss, ref_loss);
    for (int i = 0; i < NUM_PARAM_LAYERS; i++) {
        char what[64];
        double *dw = read_param(&g.net, param_layers[i], "weight", 1);
        double *db = read_param(&g.net, param_layers[i], "bias", 1);
        snprintf(what, sizeof what, "%s/weight grad", param_layers[i]);
        lh_assert_close(dw, r.dw[i], rm_param_plain_count(rm_net_param(&g.net, param_layers[i], "weight")), 1e-4,
                        1e-6, what);
        snprintf(what, sizeof what, "%s/bias grad", param_layers[i]);
        lh_assert_close(db, r.db[i], rm_param_plain_count(rm_net_param(&g.net, param_layers[i], "bias")), 1e-4,
                        1e-6, what);
        free(dw);
        free(db);
        free(r.w[i]);
        free(r.b[i]);
        free(r.dw[i]);
        free(r.db[i]);
    }
    const float *gx = rm_net_input_grad(&g.net);
    double gxd[NB * CI * HW * HW];
    for (size_t i = 0; i < sizeof gxd / sizeof gxd[0]; i++) gxd[i] = gx[i];
    lh_assert_close(gxd, dx, NB * CI * HW * HW, 1e-4, 1e-6, "input grad");
    resnet_teardown(&g);
}

/* Central differences of the float network's loss (h = 1e-3) against its
 * gradients, for entries of every parameter tensor and of the input.
 * Tolerance: 1e-3 + 3% of the gradient (float32 loss differences, and a
 * ReLU kink crossed within h). */
Test(graph, gradients_match_finite_differences)
{
    resnet g;
    resnet_setup(&g, RM_MODE_TRAIN, 5, 0.2);   /* logits of order 1: float32 loss differences resolve h */
    net_loss(&g);
    const double h = 1e-3;
    struct { const char *layer, *name; int index; } probes[] = {
        {"c1", "weight", 3}, {"c1", "bias", 1}, {"c2", "weight", 40}, {"side", "weight", 1},
        {"side", "bias", 0}, {"c3", "weight", 100}, {"c3", "bias", 2}, {"fc", "weight", 17}, {"fc", "bias", 1},
    };
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        rm_param *p = rm_net_param(&g.net, probes[k].layer, probes[k].name);
        int64_t n = rm_param_plain_count(p);
        float *v = malloc(sizeof *v * (size_t)n), *gr = malloc(sizeof *gr * (size_t)n);
        net_loss(&g);
        cr_assert_eq(rm_net_param_read(&g.net, p, v), 0);
        cr_assert_eq(rm_net_grad_read(&g.net, p, gr), 0);
        float keep = v[probes[k].index];
        v[probes[k].index] = keep + (float)h;
        cr_assert_eq(rm_net_param_write(&g.net, p, v), 0);
        double up = net_loss(&g);
        v[probes[k].index] = keep - (float)h;
        cr_assert_eq(rm_net_param_write(&g.net, p, v), 0);
        double down = net_loss(&g);
        v[probes[k].index] = keep;
        cr_assert_eq(rm_net_param_write(&g.net, p, v), 0);
        double fd = (up - down) / (2 * h), an = gr[probes[k].index];
        cr_expect(fabs(fd - an) <= 1e-3 + 0.03 * fabs(an), "%s/%s[%d]: finite difference %g, gradient %g",
                  probes[k].layer, probes[k].name, probes[k].index, fd, an);
        free(v);
        free(gr);
    }
    const int xi[] = {0, 37, 71, 100, 143};
    for (size_t k = 0; k < sizeof xi / sizeof xi[0]; k++) {
        net_loss(&g);
        double an = rm_net_input_grad(&g.net)[xi[k]];
        float keep = g.x[xi[k]];
        g.x[xi[k]] = keep + (float)h;
        double up = net_loss(&g);
        g.x[xi[k]] = keep - (float)h;
        double down = net_loss(&g);
        g.x[xi[k]] = keep;
        double fd = (up - down) / (2 * h);
        cr_expect(fabs(fd - an) <= 1e-3 + 0.03 * fabs(an), "input[%d]: finite difference %g, gradient %g", xi[k], fd,
                  an);
    }
    resnet_teardown(&g);
}

/* Plain gradient descent on one batch: the loss falls to under half. */
Test(graph, training_steps_reduce_the_loss)
{
    resnet g;
    resnet_setup(&g, RM_MODE_TRAIN, 3, 0.3);
    double first = net_loss(&g), last = first;
    for (int step = 0; step < 40; step++) {
        for (int i = 0; i < g.net.num_layers; i++)
            for (int p = 0; p < g.net.layers[i].num_params; p++) {
                rm_param *prm = &g.net.layers[i].params[p];
                int64_t n = rm_param_plain_count(prm);
                float *v = malloc(sizeof *v * (size_t)n), *gr = malloc(sizeof *gr * (size_t)n);
                cr_assert_eq(rm_net_param_read(&g.net, prm, v), 0);
                cr_assert_eq(rm_net_grad_read(&g.net, prm, gr), 0);
                for (int64_t k = 0; k < n; k++) v[k] -= 0.05f * gr[k];
                cr_assert_eq(rm_net_param_write(&g.net, prm, v), 0);
                free(v);
                free(gr);
            }
        last = net_loss(&g);
    }
    cr_expect(last < 0.5 * first, "loss %g after 40 steps, %g before", last, first);
    resnet_teardown(&g);
}

static void round_trip(const char *text, int channels)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "g.h5");
    rm_model m, back;
    memset(&m, 0, sizeof m);
    rm_net net, net2;
    float x[NB * 64 * HW * HW];
    cr_assert_eq(rm_netdef_parse(&m.def, text, "round.cfg"), 0, "%s", rm_error_message());
    cr_assert(m.def.input.c * m.def.input.h * m.def.input.w <= 64 * HW * HW);
    cr_assert_eq(rm_net_create(&net, &m.def, NB, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    randomize(&net, 9, 0.5, x);
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_capture(&m, &net), 0, "%s", rm_error_message());
    char *names[3] = {"a", "b", "c"};
    cr_assert_eq(rm_model_set_classes(&m, 3, names), 0, "%s", rm_error_message());
    m.norm_mean = calloc((size_t)channels, sizeof(float));
    m.norm_std = malloc((size_t)channels * sizeof(float));
    for (int c = 0; c < channels; c++) m.norm_std[c] = 1.f;
    cr_assert_eq(rm_model_save(&m, path, 0, "relmask test"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_load(&back, path), 0, "%s", rm_error_message());
    cr_assert_eq(back.def.num_layers, m.def.num_layers);
    for (int i = 0; i < m.def.num_layers; i++) {
        cr_expect_str_eq(back.def.layers[i].name, m.def.layers[i].name);
        cr_expect_eq(back.def.layers[i].num_inputs, m.def.layers[i].num_inputs);
        cr_expect(!memcmp(back.def.layers[i].inputs, m.def.layers[i].inputs, sizeof m.def.layers[i].inputs));
    }
    cr_assert_eq(rm_net_create(&net2, &back.def, NB, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_apply(&back, &net2), 0, "%s", rm_error_message());
    memcpy(rm_net_input(&net2), x, sizeof(float) * (size_t)NB * channels * m.def.input.h * m.def.input.w);
    cr_assert_eq(rm_net_forward(&net2), 0, "%s", rm_error_message());
    cr_expect(!memcmp(rm_net_logits(&net), rm_net_logits(&net2), sizeof(float) * NB * 3),
              "logits differ after the round trip");
    rm_net_destroy(&net);
    rm_net_destroy(&net2);
    rm_model_free(&m);
    rm_model_free(&back);
    tu_rmtree(dir);
}

Test(graph, model_file_round_trip_gives_the_same_logits) { round_trip(resnet_text, CI); }

/* A depthwise-separable block: weights stored as PyTorch's [O, C/G, K, K]. */
Test(graph, depthwise_model_file_round_trip_gives_the_same_logits)
{
    round_trip("[net]\ninput = 4x6x6\nclasses = 3\n[conv]\nfilters = 16\nsize = 3\npad = 1\nactivation = relu\n"
               "[conv]\nname = dw\nfilters = 16\nsize = 3\npad = 1\ngroups = 16\nactivation = relu\n"
               "[conv]\nname = pw\nfilters = 4\nsize = 1\n[add]\nfrom = pw, input\n"
               "[globalavgpool]\n[dense]\nunits = 3\n",
               4);
}

Test(graph, lrp_builds_on_a_graph_network)
{
    rm_netdef def;
    cr_assert_eq(rm_netdef_parse(&def, resnet_text, "resnet.cfg"), 0, "%s", rm_error_message());
    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &def, "epsilon", NULL, 0, 0.25, 0.25), 0, "%s", rm_error_message());
    rm_lrp_config_free(&cfg);
    rm_net net;
    cr_assert_eq(rm_net_create_lrp(&net, &def, 1, NULL), 0, "%s", rm_error_message());
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}

/* Heatmap sums against the explained logits of a relevance file: the
 * largest |sum - score| / |score| over its records. */
static double worst_gap(const char *path, int64_t want_count)
{
    rm_relevance r;
    cr_assert_eq(rm_relevance_open(&r, path), 0, "%s", rm_error_message());
    cr_assert_eq(r.count, want_count);
    cr_expect_str_eq(r.score_kind, "logit");
    int64_t hw = (int64_t)r.height * r.width;
    float *heat = malloc(sizeof *heat * (size_t)(r.count * hw));
    cr_assert_eq(rm_relevance_read_heatmaps(&r, 0, r.count, heat), 0, "%s", rm_error_message());
    double worst = 0;
    for (int64_t i = 0; i < r.count; i++) {
        double sum = 0, mass = 0;
        for (int64_t p = 0; p < hw; p++) sum += heat[i * hw + p], mass += fabs(heat[i * hw + p]);
        cr_expect(isfinite(sum) && mass > 0, "record %lld: heatmap sum %g, mass %g", (long long)i, sum, mass);
        cr_expect(fabs(sum - r.sum[i]) <= 1e-4 * mass, "record %lld: /sum %g, heatmap %g", (long long)i, r.sum[i],
                  sum);
        worst = fmax(worst, fabs(sum - r.score[i]) / fmax(fabs(r.score[i]), 1e-6));
    }
    free(heat);
    rm_relevance_close(&r);
    return worst;
}

/* nets/fer-resnet-mini end to end through the command line: one epoch of
 * training on a tiny synthetic set, eval, LRP relevance with the default
 * composite and a conserving one, occlusion. */
Test(graph, resnet_mini_trains_evaluates_and_explains, .timeout = 300)
{
    char *dir = tu_scratch_dir(), *out;
    char data[4096], model[4096], rel[4096], cons[4096], occ[4096];
    snprintf(data, sizeof data, "%s/faces.h5", dir);
    snprintf(model, sizeof model, "%s/m.h5", dir);
    snprintf(rel, sizeof rel, "%s/r.h5", dir);
    snprintf(cons, sizeof cons, "%s/c.h5", dir);
    snprintf(occ, sizeof occ, "%s/o.h5", dir);
    int rc = tu_run_cli(&out, "synth -q -n 140 --size 48 --intensity 1 --val 0.2 --test 0.2 -o %s", data);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "train -q --data %s --net fer-resnet-mini --out %s --epochs 1 --batch 16", data, model);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m;
    cr_assert_eq(rm_model_load(&m, model), 0, "%s", rm_error_message());
    cr_expect_eq(m.num_epochs, 1);
    cr_expect(isfinite(m.history[0].train_loss));
    cr_expect(!rm_netdef_is_sequential(&m.def));
    rm_model_free(&m);
    rc = tu_run_cli(&out, "eval -m %s -d %s", model, data);
    cr_expect_eq(rc, 0, "%s", out);
    free(out);
    /* the default composite (biases from the folded batchnorms absorb part
     * of each logit: only finite, nonzero maps are asked for) */
    rc = tu_run_cli(&out, "relevance -m %s -d %s -o %s --count 6", model, data, rel);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    cr_expect(tu_file_exists(rel));
    double gap = worst_gap(rel, 6);
    cr_log_info("fer-resnet-mini, epsilon-plus-flat: largest |sum - logit| / |logit| %.3g", gap);
    /* nearly conserving: biases left out, epsilon 1e-9 on the dense layer,
     * flat first layer, z+ convolutions: each map sums to its logit but for
     * what z+ drops where an output has no positive contribution and the
     * adds' 1e-6 stabilizer keeps where a sum is near 0 (measured: up to
     * 0.6% of these small logits, 1e-5 for most records) */
    rc = tu_run_cli(&out, "relevance -m %s -d %s -o %s --count 6 --composite epsilon-plus-flat --eps 1e-9 "
                          "--ignore-bias", model, data, cons);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    gap = worst_gap(cons, 6);
    cr_log_info("fer-resnet-mini, epsilon-plus-flat --ignore-bias: largest |sum - logit| / |logit| %.3g", gap);
    cr_expect(gap <= 1e-2, "fer-resnet-mini, epsilon-plus-flat --ignore-bias: largest |sum - logit| / |logit| %.3g",
              gap);
    rc = tu_run_cli(&out, "relevance --method occlusion --patch 8 --stride 8 -m %s -d %s -o %s --count 4", model,
                    data, occ);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(tu_file_exists(occ));
    free(out);
    tu_rmtree(dir);
}

/* nets/fer-mini-xception (depthwise-separable residual modules, a head
 * without a dense layer) trains, evaluates and is explained by LRP. */
Test(graph, mini_xception_trains_evaluates_and_explains, .timeout = 300)
{
    char *dir = tu_scratch_dir(), *out;
    char data[4096], model[4096], rel[4096];
    snprintf(data, sizeof data, "%s/faces.h5", dir);
    snprintf(model, sizeof model, "%s/m.h5", dir);
    snprintf(rel, sizeof rel, "%s/r.h5", dir);
    int rc = tu_run_cli(&out, "synth -q -n 140 --size 48 --intensity 1 --val 0.2 --test 0.2 -o %s", data);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "train -q --data %s --net fer-mini-xception --out %s --epochs 1 --batch 16", data, model);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m;
    cr_assert_eq(rm_model_load(&m, model), 0, "%s", rm_error_message());
    cr_expect(isfinite(m.history[0].train_loss));
    int depthwise = 0;
    for (int i = 0; i < m.def.num_layers; i++)
        depthwise += m.def.layers[i].type == RM_LAYER_CONV && m.def.layers[i].groups == m.def.layers[i].in.c &&
                     m.def.layers[i].groups > 1;
    cr_expect_eq(depthwise, 8);
    cr_expect_eq(m.def.layers[m.def.num_layers - 1].type, RM_LAYER_FLATTEN);
    rm_model_free(&m);
    rc = tu_run_cli(&out, "eval -m %s -d %s", model, data);
    cr_expect_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "relevance -m %s -d %s -o %s --count 6", model, data, rel);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    double gap = worst_gap(rel, 6);
    cr_log_info("fer-mini-xception, epsilon-plus-flat: largest |sum - logit| / |logit| %.3g", gap);
    cr_expect(isfinite(gap), "non-finite heatmap sums");
    tu_rmtree(dir);
}
