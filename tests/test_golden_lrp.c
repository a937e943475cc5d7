/* The LRP engine against an independent PyTorch reference
 * (tests/fixtures/golden_lrp.h5, made by tests/fixtures/make_golden_lrp.py:
 * the rules of docs/method.md written per zennit's conventions, in
 * float64 from float32 weights and inputs). The fixture is itself a relmask
 * model file for nets/fer-small.cfg (random weights, nonzero biases,
 * normalization mean 0.4821 std 0.2417) with the reference under /lrp: three
 * 48x48 images (4% of the pixels at 0 and 4% at 255, i.e. on the z-box
 * bounds), their logits and, per case, the explained class and the input
 * heatmap. Cases: epsilon-plus-flat, epsilon (1e-2 on every layer),
 * epsilon-gamma-box (gamma 0.25), and epsilon-plus-flat with given targets
 * (a negative logit, a second-ranked class, -1 = predicted).
 *
 * Tolerance (attributes of /lrp): a heatmap matches when
 *   max |ours - ref| <= rtol_relevance * max |ref| + atol
 * over all its images, rtol_relevance = 1e-4: the only legitimate difference
 * is float32 rounding (oneDNN's blocked kernels, the division by z' in float),
 * which stays at a few 1e-6 (measured; each test prints it under --verbose); a wrong rule,
 * bias term, stabilizer sign, z-box bound or pooling route costs 1e-2 .. 1.
 * Logits within rtol_logits = 1e-5; explained classes exactly. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/h5util.h"
#include "relevance/lrp.h"
#include "nn/model_file.h"
#include "test_util.h"

#define FIXTURE "golden_lrp.h5"

typedef struct {
    rm_model model;
    hid_t f;
    int batch, classes;
    int64_t pixels;             /* C*H*W per image */
    float *input;               /* [B,C,H,W] normalized */
    double eps, gamma, rtol_relevance, rtol_logits, atol;
} golden;

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
    cr_assert(a >= 0, "%s: /lrp lacks attribute %s", FIXTURE, name);
    cr_assert(H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    return v;
}

static void setup(golden *g)
{
    memset(g, 0, sizeof *g);
    rm_h5_init();
    const char *path = tu_fixture(FIXTURE);
    cr_assert_eq(rm_model_load(&g->model, path), 0, "%s", rm_error_message());
    g->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(g->f >= 0, "cannot open %s", path);
    hid_t grp = H5Gopen2(g->f, "/lrp", H5P_DEFAULT);
    cr_assert(grp >= 0, "%s has no /lrp group", path);
    char *schema;
    cr_assert_eq(rm_h5_attr_get_string(grp, "schema", &schema), 0);
    cr_assert_str_eq(schema, "relmask-golden-lrp");
    free(schema);
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
    double *x = read_doubles(g->f, "/lrp/input", &n);
    cr_assert_eq(n, g->batch * g->pixels);
    g->input = malloc(sizeof *g->input * (size_t)n);
    for (int64_t i = 0; i < n; i++) g->input[i] = (float)x[i];   /* float32 values: exact */
    free(x);
}

static void teardown(golden *g)
{
    free(g->input);
    H5Fclose(g->f);
    rm_model_free(&g->model);
}

/* max|got - want| <= rtol max|want| + atol; names the first offending
 * element (and the worst) as [b, c, y, x] when shape is given. Returns the
 * measured max|got - want| / max|want|. */
static double assert_close(const float *got, const double *want, int64_t n, double rtol, double atol,
                           const rm_shape *shape, const char *what)
{
    double scale = 0, worst = 0;
    int64_t at = 0, first = -1;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    double bound = rtol * scale + atol;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (!(d <= worst)) worst = d, at = i;   /* NaN counts as worst */
        if (first < 0 && !(d <= bound)) first = i;
    }
    if (first >= 0) {
        char where[96] = "";
        if (shape) {
            int64_t hw = (int64_t)shape->h * shape->w, chw = shape->c * hw;
            snprintf(where, sizeof where, " = [b %lld, c %lld, y %lld, x %lld]", (long long)(first / chw),
                     (long long)(first % chw / hw), (long long)(first % hw / shape->w), (long long)(first % shape->w));
        }
        cr_assert_fail("%s: first mismatch at index %lld%s: got %.9g, reference %.9g; worst at %lld: got %.9g, "
                       "reference %.9g; max |ref| %.4g, max error %.3g > rtol %g * max |ref| + atol %g",
                       what, (long long)first, where, got[first], want[first], (long long)at, got[at], want[at],
                       scale, worst, rtol, atol);
    }
    return scale > 0 ? worst / scale : worst;
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

/* Runs the engine for /lrp/<name> and compares with the reference. */
static void check_case(const char *name)
{
    golden g;
    setup(&g);
    char path[160], composite_attr[96];
    snprintf(composite_attr, sizeof composite_attr, "/lrp/%s", name);
    hid_t grp = H5Gopen2(g.f, composite_attr, H5P_DEFAULT);
    cr_assert(grp >= 0, "%s has no case %s", FIXTURE, name);
    char *composite;
    cr_assert_eq(rm_h5_attr_get_string(grp, "composite", &composite), 0);
    H5Gclose(grp);

    snprintf(path, sizeof path, "/lrp/%s/target", name);
    int32_t *target = read_ints(g.f, path, g.batch);
    int any_target = 0;
    for (int b = 0; b < g.batch; b++) any_target |= target[b] >= 0;
    snprintf(path, sizeof path, "/lrp/%s/explained", name);
    int32_t *want_explained = read_ints(g.f, path, g.batch);

    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &g.model.def, composite, NULL, 0, g.eps, g.gamma), 0, "%s",
                 rm_error_message());
    rm_lrp *e;
    cr_assert_eq(rm_lrp_create(&e, &g.model, g.batch, &cfg), 0, "%s", rm_error_message());
    memcpy(rm_lrp_input(e), g.input, sizeof *g.input * (size_t)(g.batch * g.pixels));
    float *rel = malloc(sizeof *rel * (size_t)(g.batch * g.pixels));
    int32_t *explained = malloc(sizeof *explained * (size_t)g.batch);
    float *logit = malloc(sizeof *logit * (size_t)g.batch);
    /* Predicted-class cases go through target = NULL, the given-target case
     * through the array (which mixes classes and -1). */
    cr_assert_eq(rm_lrp_run(e, any_target ? target : NULL, rel, explained, logit, NULL), 0, "%s",
                 rm_error_message());

    int64_t n;
    double *want_logits = read_doubles(g.f, "/lrp/logits", &n);
    cr_assert_eq(n, (int64_t)g.batch * g.classes);
    double e_logits = assert_close(rm_lrp_logits(e), want_logits, n, g.rtol_logits, g.atol, NULL, "logits");
    for (int b = 0; b < g.batch; b++)
        cr_assert_eq(explained[b], want_explained[b], "%s: image %d: explained class %d, reference %d", name, b,
                     explained[b], want_explained[b]);
    snprintf(path, sizeof path, "/lrp/%s/explained_logit", name);
    double *want_logit = read_doubles(g.f, path, &n);
    assert_close(logit, want_logit, g.batch, g.rtol_logits, g.atol, NULL, "explained logit");

    snprintf(path, sizeof path, "/lrp/%s/relevance", name);
    double *want = read_doubles(g.f, path, &n);
    cr_assert_eq(n, g.batch * g.pixels);
    double e_rel = assert_close(rel, want, n, g.rtol_relevance, g.atol, &g.model.def.input, path);
    cr_log_info("golden LRP %s: heatmap max error %.2e of max |ref| (rtol %g), logits %.2e", name, e_rel,
                g.rtol_relevance, e_logits);

    free(want);
    free(want_logit);
    free(want_logits);
    free(rel);
    free(explained);
    free(logit);
    free(target);
    free(want_explained);
    free(composite);
    rm_lrp_destroy(e);
    rm_lrp_config_free(&cfg);
    teardown(&g);
}

Test(golden_lrp, epsilon_plus_flat) { check_case("epsilon-plus-flat"); }
Test(golden_lrp, epsilon) { check_case("epsilon"); }
Test(golden_lrp, epsilon_gamma_box) { check_case("epsilon-gamma-box"); }
Test(golden_lrp, epsilon_plus_flat_given_targets) { check_case("epsilon-plus-flat-target"); }

/* The fixture's own consistency: every case of the reference is one of the
 * tests above, and the file loads as a model with the advertised layers. */
Test(golden_lrp, fixture_lists_the_tested_cases)
{
    golden g;
    setup(&g);
    hid_t grp = H5Gopen2(g.f, "/lrp", H5P_DEFAULT);
    char *cases;
    cr_assert_eq(rm_h5_attr_get_string(grp, "cases", &cases), 0);
    cr_assert_str_eq(cases, "epsilon-plus-flat epsilon epsilon-gamma-box epsilon-plus-flat-target");
    free(cases);
    H5Gclose(grp);
    cr_assert_str_eq(g.model.def.name, "fer-small");
    cr_assert_eq(g.batch, 3);
    teardown(&g);
}
