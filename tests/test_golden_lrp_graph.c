/* The LRP engine through a graph network against an independent PyTorch
 * reference (tests/fixtures/golden_lrp_graph.h5, made by
 * tests/fixtures/make_golden_lrp_graph.py: float64 from float32 weights and
 * inputs, zennit's conventions, the add by zennit's Norm rule, shared
 * outputs summed, grouped convolutions by F.conv2d(groups=G), written
 * without relmask's C code). The fixture is a relmask model file of its
 * network (a folded stem batchnorm, a depthwise-separable residual block
 * whose skip is read twice, a batchnorm after the add, a 2-group
 * convolution, a concat reading the block's output again, max pooling,
 * global average pooling) with the reference under /lrp_graph: three 12x12
 * images, their logits and per composite the explained classes and input
 * heatmaps.
 *
 * Tolerance: max |ours - ref| <= 1e-4 max |ref| per composite, as for
 * golden_lrp.h5 (float32 rounding stays at a few 1e-7; a wrong split at the
 * add, a missing fan-out sum or a rule run across groups costs 1e-2 .. 1);
 * logits within 1e-5; explained classes exactly. */
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
#include "relevance/lrp.h"
#include "test_util.h"

#define FIXTURE "golden_lrp_graph.h5"

static double *read_doubles(hid_t f, const char *path, int64_t expect)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert(d >= 0, "%s lacks %s", FIXTURE, path);
    hid_t s = H5Dget_space(d);
    int64_t count = H5Sget_simple_extent_npoints(s);
    cr_assert_eq(count, expect, "%s: %lld values, expected %lld", path, (long long)count, (long long)expect);
    double *v = malloc(sizeof *v * (size_t)count);
    cr_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0, "reading %s", path);
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

static void check_composite(const char *composite)
{
    rm_h5_init();
    const char *path = tu_fixture(FIXTURE);
    rm_model m;
    cr_assert_eq(rm_model_load(&m, path), 0, "%s", rm_error_message());
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open %s", path);
    const int B = 3, K = m.def.classes;
    const int64_t n = (int64_t)m.def.input.c * m.def.input.h * m.def.input.w;
    double *x = read_doubles(f, "/lrp_graph/input", B * n), *logits = read_doubles(f, "/lrp_graph/logits", B * K);
    char where[128];
    snprintf(where, sizeof where, "/lrp_graph/%s/relevance", composite);
    double *want = read_doubles(f, where, B * n);
    snprintf(where, sizeof where, "/lrp_graph/%s/explained", composite);
    double *want_cls = read_doubles(f, where, B);

    rm_lrp_config cfg;
    cr_assert_eq(rm_lrp_composite(&cfg, &m.def, composite, NULL, 0, 1e-2, 0.25), 0, "%s", rm_error_message());
    rm_lrp *e;
    cr_assert_eq(rm_lrp_create(&e, &m, B, &cfg), 0, "%s", rm_error_message());
    float *in = rm_lrp_input(e), *rel = malloc(sizeof *rel * (size_t)(B * n));
    for (int64_t i = 0; i < B * n; i++) in[i] = (float)x[i];   /* float32 values: exact */
    int32_t expl[3];
    float logit[3];
    cr_assert_eq(rm_lrp_run(e, NULL, rel, expl, logit, NULL), 0, "%s", rm_error_message());
    for (int b = 0; b < B; b++) {
        cr_assert_eq(expl[b], (int32_t)want_cls[b], "%s: image %d explains %d, the reference %d", composite, b,
                     expl[b], (int)want_cls[b]);
        double z = logits[b * K + expl[b]];
        cr_assert(fabs(logit[b] - z) <= 1e-5 * fmax(1, fabs(z)), "image %d: logit %.9g, reference %.9g", b, logit[b],
                  z);
    }
    double scale = 0, worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < B * n; i++) scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < B * n; i++)
        if (!(fabs(rel[i] - want[i]) <= worst)) worst = fabs(rel[i] - want[i]), at = i;
    cr_log_info("%s: max error %.3g of max |ref| %.4g", composite, worst / scale, scale);
    cr_assert(scale > 0 && worst <= 1e-4 * scale, "%s: worst at [b %lld, pixel %lld]: got %.9g, reference %.9g "
              "(max |ref| %.4g, error %.3g > 1e-4 of it)", composite, (long long)(at / n), (long long)(at % n),
              rel[at], want[at], scale, worst / scale);
    rm_lrp_destroy(e);
    rm_lrp_config_free(&cfg);
    free(x), free(logits), free(want), free(want_cls), free(rel);
    H5Fclose(f);
    rm_model_free(&m);
}

Test(golden_lrp_graph, epsilon_plus_flat) { check_composite("epsilon-plus-flat"); }
Test(golden_lrp_graph, epsilon_gamma_box) { check_composite("epsilon-gamma-box"); }
Test(golden_lrp_graph, epsilon) { check_composite("epsilon"); }
