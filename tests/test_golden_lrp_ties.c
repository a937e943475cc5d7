/* Max-pool ties against PyTorch (tests/fixtures/golden_lrp_ties.h5, made by
 * tests/fixtures/make_golden_lrp.py with the weights of golden_lrp.h5, whose
 * model this test loads). Three faces on saturated backgrounds (exact 255,
 * exact 0, 255 with a 0 band): inside a saturated area every receptive field
 * is the same, so neighbouring activations are mathematically equal and
 * many max-pool windows tie exactly (the file's /lrp_ties/tied_windows
 * counts them per pool layer and image, /lrp_ties/tied/<pool> marks them).
 * PyTorch's max_pool2d, its backward and so zennit send a tied window's
 * relevance to the FIRST maximum in row-major window order; the reference
 * does too (the generator asserts it at every window).
 *
 * What is checked, at batch 3 and at batch 16 (the 3 images repeated: oneDNN
 * chooses its convolution implementation by batch size, and rm_lrp splits
 * large batches into slices of at least 16 images):
 *   - relmask's own float32 forward pass (a network built like rm_lrp's
 *     engine: RM_MODE_LRP, ReLU fused into every convolution as rm_lrp does
 *     for these composites) ties exactly the windows the reference ties in
 *     maxpool1 (the first max-pool layer): same windows, same count. An
 *     implementation whose arithmetic depends on the output position
 *     (Winograd tiles) turns them into near-ties and fails here;
 *   - the pooling backward that rm_lrp routes relevance through (the layer's
 *     own LRP primitive, with the forward's workspace) sends each maxpool1
 *     window's relevance to the first maximum of relmask's own values in
 *     row-major order, at every window (tied or not);
 *   - every composite's heatmap against the reference with golden_lrp.h5's
 *     tolerance: max|ours - ref| <= rtol_relevance (1e-4) max|ref| + atol.
 *     Sending ties to the last maximum instead moves the heatmaps by the
 *     last_max_error attribute of each case (0.31 to 1.0 of their maximum),
 *     and the Winograd convolutions LRP used from batch 16 on before by 0.14.
 * Each test prints its measurements under --verbose. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/h5util.h"
#include "nn/model_file.h"
#include "nn/net.h"
#include "relevance/lrp.h"
#include "test_util.h"

#define MODEL "golden_lrp.h5"
#define FIXTURE "golden_lrp_ties.h5"
#define POOL "maxpool1"

typedef struct {
    rm_model model;
    hid_t f;
    int batch, classes;          /* batch: images in the file (3) */
    int64_t pixels;              /* C*H*W per image */
    float *input;                /* [batch,C,H,W] normalized */
    double eps, gamma, rtol_relevance, rtol_logits, atol;
} ties;

static double *read_doubles(hid_t f, const char *path, int64_t *n)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert(d >= 0, "%s lacks %s", FIXTURE, path);
    hid_t s = H5Dget_space(d);
    int64_t count = H5Sget_simple_extent_npoints(s);
    double *v = malloc(sizeof *v * (size_t)(count ? count : 1));
    cr_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0, "reading %s", path);
    H5Sclose(s);
    H5Dclose(d);
    *n = count;
    return v;
}

static double attr_double(hid_t loc, const char *name)
{
    double v = NAN;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    cr_assert(a >= 0, "%s: /lrp_ties lacks attribute %s", FIXTURE, name);
    cr_assert(H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    return v;
}

static void setup(ties *g)
{
    memset(g, 0, sizeof *g);
    rm_h5_init();
    cr_assert_eq(rm_model_load(&g->model, tu_fixture(MODEL)), 0, "%s", rm_error_message());
    const char *path = tu_fixture(FIXTURE);
    g->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(g->f >= 0, "cannot open %s", path);
    hid_t grp = H5Gopen2(g->f, "/lrp_ties", H5P_DEFAULT);
    cr_assert(grp >= 0, "%s has no /lrp_ties group", path);
    char *s;
    cr_assert_eq(rm_h5_attr_get_string(grp, "schema", &s), 0);
    cr_assert_str_eq(s, "relmask-golden-lrp-ties");
    free(s);
    cr_assert_eq(rm_h5_attr_get_string(grp, "model", &s), 0);
    cr_assert_str_eq(s, MODEL);
    free(s);
    int64_t batch;
    cr_assert_eq(rm_h5_attr_get_int(grp, "batch", &batch), 0);
    g->batch = (int)batch;
    g->eps = attr_double(grp, "eps");
    g->gamma = attr_double(grp, "gamma");
    g->rtol_relevance = attr_double(grp, "rtol_relevance");
    g->rtol_logits = attr_double(grp, "rtol_logits");
    g->atol = attr_double(grp, "atol");
    H5Gclose(grp);
    g->classes = g->model.def.classes;
    g->pixels = (int64_t)g->model.def.input.c * g->model.def.input.h * g->model.def.input.w;
    int64_t n;
    double *x = read_doubles(g->f, "/lrp_ties/input", &n);
    cr_assert_eq(n, g->batch * g->pixels);
    g->input = malloc(sizeof *g->input * (size_t)n);
    for (int64_t i = 0; i < n; i++) g->input[i] = (float)x[i];   /* float32 values: exact */
    free(x);
}

static void teardown(ties *g)
{
    free(g->input);
    H5Fclose(g->f);
    rm_model_free(&g->model);
}

/* The batch of `batch` images: the file's images repeated. */
static void fill_batch(const ties *g, float *dst, int batch)
{
    for (int b = 0; b < batch; b++)
        memcpy(dst + b * g->pixels, g->input + (b % g->batch) * g->pixels, sizeof *dst * (size_t)g->pixels);
}

static int layer_index(const rm_netdef *def, const char *name)
{
    for (int i = 0; i < def->num_layers; i++)
        if (strcmp(def->layers[i].name, name) == 0) return i;
    cr_assert_fail("the model has no layer %s", name);
    return -1;
}

/* --- ties in relmask's own forward pass, and the routing ------------------ */

/* Checks maxpool1 at `batch` images: the exactly tied windows of relmask's
 * float32 forward against the reference's, and the pooling backward's
 * routing against the first maximum in row-major order. */
static void check_ties(int batch)
{
    ties g;
    setup(&g);
    const rm_netdef *def = &g.model.def;
    int p = layer_index(def, POOL);
    const rm_layer_def *pd = &def->layers[p];
    cr_assert_eq(pd->type, RM_LAYER_MAXPOOL);
    cr_assert_eq(pd->pad, 0);
    int C = pd->in.c, H = pd->in.h, W = pd->in.w, OH = pd->out.h, OW = pd->out.w, k = pd->size, st = pd->stride;

    /* The reference's tied windows [3, C, OH, OW] and their counts per image. */
    int64_t n;
    double *want_tied = read_doubles(g.f, "/lrp_ties/tied/" POOL, &n);
    cr_assert_eq(n, (int64_t)g.batch * C * OH * OW);
    double *counts = read_doubles(g.f, "/lrp_ties/tied_windows", &n);   /* [pools, 3], maxpool1 first */
    cr_assert(n >= g.batch);

    /* A network as rm_lrp builds it: RM_MODE_LRP, every convolution with
     * its ReLU as a post-op (what relu_fusable picks for the composites of
     * this file: every layer above a ReLU is z+, gamma or epsilon). */
    unsigned char *fuse = calloc((size_t)def->num_layers + 1, 1);
    for (int i = 0; i < def->num_layers; i++) fuse[i] = def->layers[i].type == RM_LAYER_CONV;
    rm_net net;
    cr_assert_eq(rm_net_create_lrp(&net, def, batch, fuse), 0, "%s", rm_error_message());
    free(fuse);
    cr_assert_eq(rm_model_apply(&g.model, &net), 0, "%s", rm_error_message());
    fill_batch(&g, rm_net_input(&net), batch);
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());

    rm_layer *l = &net.layers[p];
    size_t nin = (size_t)batch * C * H * W, nout = (size_t)batch * C * OH * OW;
    float *x = malloc(sizeof *x * nin), *ones = malloc(sizeof *ones * nout), *routed = malloc(sizeof *routed * nin);
    cr_assert_eq(rm_memory_read(&net.dnn, l->src, x, dnnl_nchw), 0, "%s", rm_error_message());

    /* The routing: relevance 1 at every window, through the layer's LRP
     * backward (the primitive rm_lrp runs) with the forward's workspace. */
    dnnl_memory_t diff_dst, diff_src;
    cr_assert_eq(dnnl_memory_create(&diff_dst, &l->dst_md, net.dnn.engine, DNNL_MEMORY_ALLOCATE), dnnl_success);
    cr_assert_eq(dnnl_memory_create(&diff_src, &l->src_md, net.dnn.engine, DNNL_MEMORY_ALLOCATE), dnnl_success);
    for (size_t i = 0; i < nout; i++) ones[i] = 1.f;
    cr_assert_eq(rm_memory_write(&net.dnn, diff_dst, ones, dnnl_nchw), 0, "%s", rm_error_message());
    cr_assert_eq(rm_exec(&net.dnn, l->lrp.bwd, 4, DNNL_ARG_DIFF_DST, diff_dst, DNNL_ARG_DIFF_SRC, diff_src,
                         DNNL_ARG_WORKSPACE, l->lrp.workspace, DNNL_ARG_SCRATCHPAD, l->lrp.bwd_scratch),
                 0, "%s", rm_error_message());
    cr_assert_eq(dnnl_stream_wait(net.dnn.stream), dnnl_success);
    cr_assert_eq(rm_memory_read(&net.dnn, diff_src, routed, dnnl_nchw), 0, "%s", rm_error_message());

    int64_t tied_total = 0, near = 0, missing = 0, extra = 0, misrouted = 0, tied_img[64] = {0};
    float worst_near = 0;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    const float *xb = x + ((size_t)b * C + c) * H * W;
                    const float *rb = routed + ((size_t)b * C + c) * H * W;
                    float top = -INFINITY, second = -INFINITY;
                    int first = -1, equal = 0, got = -1, got_n = 0;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) {
                            int at = (oy * st + i) * W + ox * st + j;
                            float v = xb[at];
                            if (v > top) second = top, top = v, first = at, equal = 1;
                            else if (v == top) equal++;
                            else if (v > second) second = v;
                            if (rb[at] != 0.f) got = at, got_n++;
                        }
                    int tied = equal >= 2 && top > 0;
                    int want = want_tied[(((size_t)(b % g.batch) * C + c) * OH + oy) * OW + ox] != 0;
                    tied_total += tied;
                    if (b < 64) tied_img[b] += tied;
                    if (want && !tied) {
                        missing++;
                        /* the reference's tie became a near-tie: how near */
                        if (equal == 1 && top > 0) near++, worst_near = fmaxf(worst_near, (top - second) / top);
                    }
                    if (tied && !want) extra++;
                    if (got_n != 1 || got != first || rb[got] != 1.f) {
                        if (misrouted++ < 5)
                            cr_log_error("batch %d: %s window [b %d, c %d, y %d, x %d]: %d elements equal the "
                                         "maximum %.9g, the first at (%d, %d); relevance went to (%d, %d) (%d elements)",
                                         batch, POOL, b, c, oy, ox, equal, top, first / W, first % W,
                                         got < 0 ? -1 : got / W, got < 0 ? -1 : got % W, got_n);
                    }
                }
    int64_t want_total = 0;
    for (int b = 0; b < batch; b++) want_total += (int64_t)counts[b % g.batch];
    cr_log_info("golden LRP ties, batch %d: %s windows tied exactly: relmask %lld (images 0..2: %lld %lld %lld), "
                "reference %lld; reference ties that are near-ties in relmask: %lld (largest gap %.2e of the max); "
                "windows not routed to the first maximum: %lld",
                batch, POOL, (long long)tied_total, (long long)tied_img[0], (long long)tied_img[1],
                (long long)tied_img[2], (long long)want_total, (long long)near, worst_near, (long long)misrouted);
    cr_expect_eq(misrouted, 0, "batch %d: %lld %s windows did not route their relevance to the first maximum", batch,
                 (long long)misrouted, POOL);
    cr_expect_eq(missing, 0, "batch %d: %lld windows the reference ties exactly are not tied in relmask's forward "
                 "(%lld near-ties, largest gap %.2e of the window's maximum)", batch, (long long)missing,
                 (long long)near, worst_near);
    cr_expect_eq(extra, 0, "batch %d: relmask ties %lld windows the reference does not", batch, (long long)extra);
    cr_expect_eq(tied_total, want_total, "batch %d: %lld tied windows, reference %lld", batch, (long long)tied_total,
                 (long long)want_total);
    cr_assert(want_total > 0, "the fixture has no tied window");

    dnnl_memory_destroy(diff_dst);
    dnnl_memory_destroy(diff_src);
    free(x);
    free(ones);
    free(routed);
    free(want_tied);
    free(counts);
    rm_net_destroy(&net);
    teardown(&g);
}

Test(golden_lrp_ties, maxpool1_ties_and_routing_batch_3) { check_ties(3); }
Test(golden_lrp_ties, maxpool1_ties_and_routing_batch_16) { check_ties(16); }

/* --- heatmaps against the reference ------------------------------------------ */

static double rel_error(const float *got, const double *want, int64_t n, double *scale_out, int64_t *at_out)
{
    double scale = 0, worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (!(d <= worst)) worst = d, at = i;   /* NaN counts as worst */
    }
    *scale_out = scale;
    *at_out = at;
    return worst;
}

static int32_t *read_ints(hid_t f, const char *path, int expect)
{
    int64_t n;
    double *d = read_doubles(f, path, &n);
    cr_assert_eq(n, expect, "%s: %lld values, expected %d", path, (long long)n, expect);
    int32_t *v = malloc(sizeof *v * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = (int32_t)d[i];
    free(d);
    return v;
}

/* Runs the engine on `batch` images (the file's repeated) for case `name`. */
static void check_case(const char *name, int batch)
{
    ties g;
    setup(&g);
    char path[160];
    snprintf(path, sizeof path, "/lrp_ties/%s", name);
    hid_t grp = H5Gopen2(g.f, path, H5P_DEFAULT);
    cr_assert(grp >= 0, "%s has no case %s", FIXTURE, name);
    char *composite;
    cr_assert_eq(rm_h5_attr_get_string(grp, "composite", &composite), 0);
    double last_max_error = attr_double(grp, "last_max_error");
    H5Gclose(grp);

    snprintf(path, sizeof path, "/lrp_ties/%s/target", name);
    int32_t *target3 = read_ints(g.f, path, g.batch);
    snprintf(path, sizeof path, "/lrp_ties/%s/explained", name);
    int32_t *want_explained = read_ints(g.f, path, g.batch);
    int any_target = 0;
    int32_t *target = malloc(sizeof *target * (size_t)batch);
    for (int b = 0; b < batch; b++) any_target |= (target[b] = target3[b % g.batch]) >= 0;

    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &g.model.def, composite, NULL, 0, g.eps, g.gamma), 0, "%s",
                 rm_error_message());
    rm_lrp *e;
    cr_assert_eq(rm_lrp_create(&e, &g.model, batch, &cfg), 0, "%s", rm_error_message());
    fill_batch(&g, rm_lrp_input(e), batch);
    float *rel = malloc(sizeof *rel * (size_t)(batch * g.pixels));
    int32_t *explained = malloc(sizeof *explained * (size_t)batch);
    cr_assert_eq(rm_lrp_run(e, any_target ? target : NULL, rel, explained, NULL, NULL), 0, "%s",
                 rm_error_message());

    int64_t n;
    double *want_logits = read_doubles(g.f, "/lrp_ties/logits", &n);
    cr_assert_eq(n, (int64_t)g.batch * g.classes);
    snprintf(path, sizeof path, "/lrp_ties/%s/relevance", name);
    double *want = read_doubles(g.f, path, &n);
    cr_assert_eq(n, g.batch * g.pixels);
    double worst_logits = 0, logit_scale = 0, worst = 0, scale = 0;
    for (int64_t i = 0; i < (int64_t)g.batch * g.classes; i++) logit_scale = fmax(logit_scale, fabs(want_logits[i]));
    for (int b = 0; b < batch; b++) {
        int r = b % g.batch;
        for (int j = 0; j < g.classes; j++)
            worst_logits = fmax(worst_logits, fabs(rm_lrp_logits(e)[b * g.classes + j] - want_logits[r * g.classes + j]));
        cr_assert_eq(explained[b], want_explained[r], "%s, batch %d: image %d: explained class %d, reference %d", name,
                     batch, b, explained[b], want_explained[r]);
        double s;
        int64_t at;
        double d = rel_error(rel + b * g.pixels, want + r * g.pixels, g.pixels, &s, &at);
        scale = fmax(scale, s);
        if (d > worst) worst = d;
    }
    cr_assert(worst_logits <= g.rtol_logits * logit_scale + g.atol, "%s, batch %d: logits off by %.3g (max |ref| %.4g)",
              name, batch, worst_logits, logit_scale);
    /* The tolerance over all images of the case at once, as in test_golden_lrp.c. */
    double bound = g.rtol_relevance * scale + g.atol;
    if (!(worst <= bound)) {
        for (int b = 0; b < batch; b++) {
            double s;
            int64_t at;
            double d = rel_error(rel + b * g.pixels, want + (b % g.batch) * g.pixels, g.pixels, &s, &at);
            if (d > bound)
                cr_log_error("%s, batch %d: image %d: worst at [y %lld, x %lld]: got %.9g, reference %.9g", name,
                             batch, b, (long long)(at / g.model.def.input.w), (long long)(at % g.model.def.input.w),
                             rel[b * g.pixels + at], want[(b % g.batch) * g.pixels + at]);
        }
        cr_assert_fail("%s, batch %d: heatmap max error %.3g = %.2e of max |ref| %.4g > rtol %g (ties routed to the "
                       "last maximum would be %.2e)", name, batch, worst, worst / scale, scale, g.rtol_relevance,
                       last_max_error);
    }
    cr_log_info("golden LRP ties %s, batch %d: heatmap max error %.2e of max |ref| (rtol %g; ties to the last "
                "maximum: %.2e), logits %.2e", name, batch, worst / scale, g.rtol_relevance, last_max_error,
                worst_logits / logit_scale);

    free(want);
    free(want_logits);
    free(rel);
    free(explained);
    free(target);
    free(target3);
    free(want_explained);
    free(composite);
    rm_lrp_destroy(e);
    rm_lrp_config_free(&cfg);
    teardown(&g);
}

Test(golden_lrp_ties, epsilon_plus_flat) { check_case("epsilon-plus-flat", 3); }
Test(golden_lrp_ties, epsilon) { check_case("epsilon", 3); }
Test(golden_lrp_ties, epsilon_gamma_box) { check_case("epsilon-gamma-box", 3); }
Test(golden_lrp_ties, epsilon_plus_flat_given_targets) { check_case("epsilon-plus-flat-target", 3); }
Test(golden_lrp_ties, epsilon_plus_flat_batch_16) { check_case("epsilon-plus-flat", 16); }
Test(golden_lrp_ties, epsilon_gamma_box_batch_16) { check_case("epsilon-gamma-box", 16); }

/* Every case of the file is tested above, and the counts are what the
 * README and docs/relevance.md report. */
Test(golden_lrp_ties, fixture_lists_the_tested_cases)
{
    ties g;
    setup(&g);
    hid_t grp = H5Gopen2(g.f, "/lrp_ties", H5P_DEFAULT);
    char *s;
    cr_assert_eq(rm_h5_attr_get_string(grp, "cases", &s), 0);
    cr_assert_str_eq(s, "epsilon-plus-flat epsilon epsilon-gamma-box epsilon-plus-flat-target");
    free(s);
    cr_assert_eq(rm_h5_attr_get_string(grp, "pools", &s), 0);
    cr_assert_str_eq(s, "maxpool1 maxpool2 maxpool3");
    free(s);
    H5Gclose(grp);
    cr_assert_eq(g.batch, 3);
    teardown(&g);
}
