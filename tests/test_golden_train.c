/* The whole network against PyTorch (tests/fixtures/golden_train.h5, made
 * by tests/fixtures/make_golden.py in float64 from float32 weights and
 * inputs): logits, loss, every parameter gradient and the input gradient,
 * batchnorm running statistics and eval-mode logits, and 5 SGD steps.
 * Tolerance: max|ours - torch| <= 1e-4 * max|torch| (+1e-12) for the forward
 * pass, gradients and SGD losses; the parameter change over 5 SGD steps
 * within 1e-3 of its largest magnitude (the change is ~1e-3 of the weights,
 * so float32 rounding of the weights themselves dominates). */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/h5util.h"
#include "nn/net.h"
#include "train/optimizer.h"
#include "test_util.h"

static hid_t open_golden(void)
{
    rm_h5_init();
    hid_t f = H5Fopen(tu_fixture("golden_train.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open %s", tu_fixture("golden_train.h5"));
    return f;
}

/* Reads a dataset as doubles; *n gets the element count. */
static double *read_doubles(hid_t f, const char *path, int64_t *n)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert(d >= 0, "golden file lacks %s", path);
    hid_t s = H5Dget_space(d);
    int64_t count = H5Sget_simple_extent_npoints(s);
    double *v = malloc(sizeof *v * (size_t)(count ? count : 1));
    cr_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    if (n) *n = count;
    return v;
}

static float *read_floats(hid_t f, const char *path, int64_t *n)
{
    double *d = read_doubles(f, path, n);
    float *v = malloc(sizeof *v * (size_t)(*n ? *n : 1));
    for (int64_t i = 0; i < *n; i++) v[i] = (float)d[i];
    free(d);
    return v;
}

static void assert_close(const float *got, const double *want, int64_t n, double rtol, const char *what)
{
    double scale = 0, worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > worst) worst = fabs(got[i] - want[i]), at = i;
    cr_assert(worst <= rtol * scale + 1e-12, "%s: index %lld: got %.9g, torch %.9g (max |torch| %.3g, rtol %g)", what,
              (long long)at, got[at], want[at], scale, rtol);
}

typedef struct {
    hid_t f;
    char group[32];
    rm_netdef def;
    rm_net net;
    int batch;
    int32_t *labels;
} golden;

static void load_params(golden *g, rm_net *net, const char *prefix)
{
    for (int i = 0; i < net->num_layers; i++)
        for (int p = 0; p < net->layers[i].num_params; p++) {
            rm_param *prm = &net->layers[i].params[p];
            char path[128];
            snprintf(path, sizeof path, "/%s/%s/%s/%s", g->group, prefix, net->layers[i].def->name, prm->name);
            int64_t n;
            float *v = read_floats(g->f, path, &n);
            cr_assert_eq(n, rm_param_plain_count(prm), "%s: %lld values, expected %lld", path, (long long)n,
                         (long long)rm_param_plain_count(prm));
            cr_assert_eq(rm_net_param_write(net, prm, v), 0, "%s", rm_error_message());
            free(v);
        }
}

static void load_input(golden *g, rm_net *net)
{
    char path[64];
    snprintf(path, sizeof path, "/%s/input", g->group);
    int64_t n;
    float *x = read_floats(g->f, path, &n);
    memcpy(rm_net_input(net), x, sizeof *x * (size_t)n);
    free(x);
}

static void setup(golden *g, const char *name, rm_mode mode)
{
    memset(g, 0, sizeof *g);
    g->f = open_golden();
    snprintf(g->group, sizeof g->group, "%s", name);
    hid_t grp = H5Gopen2(g->f, name, H5P_DEFAULT);
    char *text;
    cr_assert_eq(rm_h5_attr_get_string(grp, "net_text", &text), 0);
    int64_t batch;
    cr_assert_eq(rm_h5_attr_get_int(grp, "batch", &batch), 0);
    H5Gclose(grp);
    g->batch = (int)batch;
    cr_assert_eq(rm_netdef_parse(&g->def, text, name), 0, "%s", rm_error_message());
    free(text);
    cr_assert_eq(rm_net_create(&g->net, &g->def, g->batch, mode, 1), 0, "%s", rm_error_message());
    load_params(g, &g->net, "params");
    load_input(g, &g->net);
    char path[64];
    snprintf(path, sizeof path, "/%s/labels", name);
    int64_t n;
    double *l = read_doubles(g->f, path, &n);
    g->labels = malloc(sizeof *g->labels * (size_t)n);
    for (int64_t i = 0; i < n; i++) g->labels[i] = (int32_t)l[i];
    free(l);
}

static void teardown(golden *g)
{
    rm_net_destroy(&g->net);
    rm_netdef_free(&g->def);
    free(g->labels);
    H5Fclose(g->f);
}

static void check_value(golden *g, const char *what, const float *got, double rtol)
{
    char path[128];
    snprintf(path, sizeof path, "/%s/%s", g->group, what);
    int64_t n;
    double *want = read_doubles(g->f, path, &n);
    assert_close(got, want, n, rtol, path);
    free(want);
}

static void check_forward_backward(const char *name)
{
    golden g;
    setup(&g, name, RM_MODE_TRAIN);
    cr_assert_eq(rm_net_forward(&g.net), 0, "%s", rm_error_message());
    check_value(&g, "logits", rm_net_logits(&g.net), 1e-4);
    double loss;
    cr_assert_eq(rm_net_loss_backward(&g.net, g.labels, g.batch, &loss), 0, "%s", rm_error_message());
    float lossf = (float)loss;
    check_value(&g, "loss", &lossf, 1e-5);
    for (int i = 0; i < g.net.num_layers; i++)
        for (int p = 0; p < g.net.layers[i].num_params; p++) {
            rm_param *prm = &g.net.layers[i].params[p];
            char what[96];
            if (prm->learnable) {
                float *grad = malloc(sizeof *grad * (size_t)rm_param_plain_count(prm));
                cr_assert_eq(rm_net_grad_read(&g.net, prm, grad), 0);
                snprintf(what, sizeof what, "grads/%s/%s", g.net.layers[i].def->name, prm->name);
                check_value(&g, what, grad, 1e-4);
                free(grad);
            } else {
                float *v = malloc(sizeof *v * (size_t)rm_param_plain_count(prm));
                cr_assert_eq(rm_net_param_read(&g.net, prm, v), 0);
                snprintf(what, sizeof what, "running_after/%s/%s", g.net.layers[i].def->name, prm->name);
                check_value(&g, what, v, 1e-5);
                free(v);
            }
        }
    check_value(&g, "grads/input", rm_net_input_grad(&g.net), 1e-4);
    teardown(&g);
}

Test(golden_train, fer_small_forward_backward) { check_forward_backward("fer-small"); }
Test(golden_train, bn_small_forward_backward) { check_forward_backward("bn-small"); }
Test(golden_train, gap_small_forward_backward) { check_forward_backward("gap-small"); }

Test(golden_train, bn_small_eval_mode_uses_running_statistics)
{
    golden g;
    setup(&g, "bn-small", RM_MODE_INFER);
    cr_assert_eq(rm_net_forward(&g.net), 0, "%s", rm_error_message());
    check_value(&g, "logits_eval", rm_net_logits(&g.net), 1e-4);
    for (int i = 0; i < g.net.num_layers; i++)
        for (int p = 0; p < g.net.layers[i].num_params; p++) {
            rm_param *prm = &g.net.layers[i].params[p];
            if (prm->learnable) continue;
            char path[128];
            snprintf(path, sizeof path, "/bn-small/running_after/%s/%s", g.net.layers[i].def->name, prm->name);
            int64_t n;
            float *v = read_floats(g.f, path, &n);
            cr_assert_eq(rm_net_param_write(&g.net, prm, v), 0);
            free(v);
        }
    cr_assert_eq(rm_net_forward(&g.net), 0, "%s", rm_error_message());
    check_value(&g, "logits_eval_after", rm_net_logits(&g.net), 1e-4);
    teardown(&g);
}

static void check_sgd(const char *name)
{
    golden g;
    setup(&g, name, RM_MODE_TRAIN);
    rm_optim_config cfg;
    rm_optim_config_defaults(&cfg, RM_OPT_SGD);
    cfg.lr = 0.01;
    cfg.momentum = 0.9;
    cfg.weight_decay = 5e-4;
    rm_optimizer opt;
    cr_assert_eq(rm_optimizer_create(&opt, &g.net, &cfg), 0, "%s", rm_error_message());
    /* Initial values, to compare the change made by the 5 steps. */
    int np = 0;
    float *initial[64];
    rm_param *params[64];
    for (int i = 0; i < g.net.num_layers; i++)
        for (int p = 0; p < g.net.layers[i].num_params; p++) {
            rm_param *prm = &g.net.layers[i].params[p];
            params[np] = prm;
            initial[np] = malloc(sizeof(float) * (size_t)rm_param_plain_count(prm));
            cr_assert_eq(rm_net_param_read(&g.net, prm, initial[np]), 0);
            np++;
        }
    float losses[5];
    for (int s = 0; s < 5; s++) {
        double loss;
        cr_assert_eq(rm_net_forward(&g.net), 0, "%s", rm_error_message());
        cr_assert_eq(rm_net_loss_backward(&g.net, g.labels, g.batch, &loss), 0, "%s", rm_error_message());
        losses[s] = (float)loss;
        rm_optimizer_step(&opt, cfg.lr);
    }
    check_value(&g, "sgd_losses", losses, 1e-5);
    for (int k = 0; k < np; k++) {
        int64_t n = rm_param_plain_count(params[k]);
        float *now = malloc(sizeof *now * (size_t)n);
        cr_assert_eq(rm_net_param_read(&g.net, params[k], now), 0);
        char path[160];
        const char *layer = NULL;
        for (int i = 0; i < g.net.num_layers; i++)
            for (int p = 0; p < g.net.layers[i].num_params; p++)
                if (&g.net.layers[i].params[p] == params[k]) layer = g.net.layers[i].def->name;
        snprintf(path, sizeof path, "/%s/sgd_final/%s/%s", name, layer, params[k]->name);
        if (H5Lexists(g.f, path, H5P_DEFAULT) > 0) {
            int64_t m;
            double *want = read_doubles(g.f, path, &m);
            for (int64_t j = 0; j < m; j++) want[j] -= initial[k][j];
            for (int64_t j = 0; j < n; j++) now[j] -= initial[k][j];
            assert_close(now, want, n, 1e-3, path);
            free(want);
        } else {   /* large tensors: sampled entries */
            char ipath[192], spath[192];
            snprintf(ipath, sizeof ipath, "%s_indices", path);
            snprintf(spath, sizeof spath, "%s_sample", path);
            int64_t m;
            double *idx = read_doubles(g.f, ipath, &m), *want = read_doubles(g.f, spath, &m);
            float *got = malloc(sizeof *got * (size_t)m);
            for (int64_t j = 0; j < m; j++) {
                int64_t at = (int64_t)idx[j];
                got[j] = now[at] - initial[k][at];
                want[j] -= initial[k][at];
            }
            assert_close(got, want, m, 1e-3, spath);
            free(idx);
            free(want);
            free(got);
        }
        free(now);
        free(initial[k]);
    }
    rm_optimizer_destroy(&opt);
    teardown(&g);
}

Test(golden_train, fer_small_five_sgd_steps) { check_sgd("fer-small"); }
Test(golden_train, bn_small_five_sgd_steps) { check_sgd("bn-small"); }
Test(golden_train, gap_small_five_sgd_steps) { check_sgd("gap-small"); }
