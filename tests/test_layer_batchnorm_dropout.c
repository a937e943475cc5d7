/* Batch normalization and dropout against the double-precision reference.
 * BN: training forward (batch statistics), backward (dx, dgamma, dbeta,
 * through the statistics), PyTorch's running-statistics update, inference
 * with the running statistics; on the input (layer 0, plain layout) and
 * after a convolution (blocked layout, padded channels), batch 1.
 * Tolerances: forward 1e-5 of the largest magnitude; backward 1e-4 (its
 * sums run over N*H*W terms in float). Dropout: kept fraction, exact
 * scaling, backward with the forward's mask, reproducibility from
 * (seed, step), thread-count independence, identity for p = 0 and in
 * inference, padded entries of blocked layouts staying zero. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_harness.h"
#include "core/error.h"
#include "oracle/reference.h"
#include "core/rng.h"

enum { TEXT_CAP = 1024 };

static void bn_text(char *text, size_t cap, const char *in, const char *prefix, const char *bn_opts)
{
    snprintf(text, cap, "[net]\ninput = %s\nclasses = 3\n%s[batchnorm]\nname = probe\n%s[dense]\nunits = 3\n", in,
             prefix, bn_opts);
}

static void check_bn_train(const char *in, const char *prefix, const char *bn_opts, int batch)
{
    char text[TEXT_CAP];
    bn_text(text, sizeof text, in, prefix, bn_opts);
    lh_case t;
    lh_setup(&t, text, "probe", batch, 17);
    const rm_layer_def *d = t.layer->def;
    int C = d->in.c, H = d->in.h, W = d->in.w;
    double eps = d->eps, m = d->momentum, n = (double)batch * H * W;
    double *gamma = lh_param(&t, "gamma"), *beta = lh_param(&t, "beta");
    double *rmean0 = lh_param(&t, "running_mean"), *rvar0 = lh_param(&t, "running_var");
    lh_forward(&t);

    double *want = malloc(sizeof *want * (size_t)t.out_count), *got = lh_output(&t);
    double *mean = malloc(sizeof *mean * (size_t)C), *var = malloc(sizeof *var * (size_t)C);
    rm_ref_batchnorm_train_forward(want, mean, var, t.xd, gamma, beta, batch, C, H, W, eps);
    lh_assert_close(got, want, t.out_count, 1e-5, 1e-6, "batchnorm training forward");

    /* PyTorch: running = (1-m) running + m batch, the variance unbiased. */
    double *rmean = lh_param(&t, "running_mean"), *rvar = lh_param(&t, "running_var");
    double *want_rmean = malloc(sizeof *want_rmean * (size_t)C), *want_rvar = malloc(sizeof *want_rvar * (size_t)C);
    for (int c = 0; c < C; c++) {
        want_rmean[c] = (1 - m) * rmean0[c] + m * mean[c];
        want_rvar[c] = (1 - m) * rvar0[c] + m * var[c] * n / (n - 1);
    }
    lh_assert_close(rmean, want_rmean, C, 1e-5, 1e-6, "running mean");
    lh_assert_close(rvar, want_rvar, C, 1e-5, 1e-6, "running variance");

    lh_backward(&t, 9);
    double *dx = calloc((size_t)t.in_count, sizeof *dx);
    double *dgamma = calloc((size_t)C, sizeof *dgamma), *dbeta = calloc((size_t)C, sizeof *dbeta);
    rm_ref_batchnorm_backward(dx, dgamma, dbeta, t.dyd, t.xd, mean, var, gamma, batch, C, H, W, eps);
    double *got_dx = lh_input_grad(&t), *got_dgamma = lh_param_grad(&t, "gamma");
    double *got_dbeta = lh_param_grad(&t, "beta");
    lh_assert_close(got_dx, dx, t.in_count, 1e-4, 1e-6, "batchnorm backward data");
    lh_assert_close(got_dgamma, dgamma, C, 1e-4, 1e-6, "batchnorm backward gamma");
    lh_assert_close(got_dbeta, dbeta, C, 1e-4, 1e-6, "batchnorm backward beta");

    /* The backward leaves the parameters and running statistics alone. */
    double *rmean2 = lh_param(&t, "running_mean"), *gamma2 = lh_param(&t, "gamma");
    lh_assert_close(rmean2, rmean, C, 0, 0, "running mean after backward");
    lh_assert_close(gamma2, gamma, C, 0, 0, "gamma after backward");

    double *bufs[] = {gamma,  beta,  rmean0, rvar0,  want,   got,       mean,       var,       rmean, rvar, want_rmean,
                      want_rvar, dx, dgamma, dbeta, got_dx, got_dgamma, got_dbeta, rmean2, gamma2};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    lh_teardown(&t);
}

Test(layer_batchnorm, train_after_conv_blocked)
{
    check_bn_train("3x6x5", "[conv]\nfilters = 16\nsize = 3\npad = 1\nbias = 0\n", "", 2);
}

Test(layer_batchnorm, train_after_conv_odd_channels_padded_block)
{
    check_bn_train("2x7x5", "[conv]\nfilters = 17\nsize = 3\npad = 1\nactivation = relu\n",
                   "eps = 0.001\nmomentum = 0.3\n", 3);
}

Test(layer_batchnorm, train_on_input_layer0) { check_bn_train("3x4x5", "", "", 2); }

/* A ReLU after a batchnorm on channel blocks runs inside it (oneDNN's fused
 * normalization, net.c): its output is max(bn(x), 0) and its backward
 * applies the ReLU's mask before the batchnorm's own. */
Test(layer_batchnorm, train_with_fused_relu_on_channel_blocks)
{
    const char *text = "[net]\ninput = 3x6x5\nclasses = 3\n[conv]\nfilters = 16\nsize = 3\npad = 1\n"
                       "[batchnorm]\nname = probe\n[relu]\n[dense]\nunits = 3\n";
    int batch = 3;
    lh_case t;
    lh_setup(&t, text, "probe", batch, 23);
    cr_assert(t.layer->fused_relu, "the batchnorm does not carry the ReLU");
    const rm_layer_def *d = t.layer->def;
    int C = d->in.c, H = d->in.h, W = d->in.w;
    double *gamma = lh_param(&t, "gamma"), *beta = lh_param(&t, "beta");
    lh_forward(&t);
    double *want = malloc(sizeof *want * (size_t)t.out_count), *got = lh_output(&t);
    double *mean = malloc(sizeof *mean * (size_t)C), *var = malloc(sizeof *var * (size_t)C);
    rm_ref_batchnorm_train_forward(want, mean, var, t.xd, gamma, beta, batch, C, H, W, d->eps);
    int negative = 0;
    for (int64_t i = 0; i < t.out_count; i++) {
        negative += want[i] < 0;
        if (want[i] < 0) want[i] = 0;
    }
    cr_assert(negative > t.out_count / 4, "the ReLU has little to do (%d of %lld)", negative, (long long)t.out_count);
    lh_assert_close(got, want, t.out_count, 1e-5, 1e-6, "batchnorm + relu forward");

    lh_backward(&t, 9);
    double *masked = malloc(sizeof *masked * (size_t)t.out_count);
    for (int64_t i = 0; i < t.out_count; i++) masked[i] = want[i] > 0 ? t.dyd[i] : 0;
    double *dx = calloc((size_t)t.in_count, sizeof *dx);
    double *dgamma = calloc((size_t)C, sizeof *dgamma), *dbeta = calloc((size_t)C, sizeof *dbeta);
    rm_ref_batchnorm_backward(dx, dgamma, dbeta, masked, t.xd, mean, var, gamma, batch, C, H, W, d->eps);
    double *got_dx = lh_input_grad(&t), *got_dgamma = lh_param_grad(&t, "gamma");
    double *got_dbeta = lh_param_grad(&t, "beta");
    lh_assert_close(got_dx, dx, t.in_count, 1e-4, 1e-6, "batchnorm + relu backward data");
    lh_assert_close(got_dgamma, dgamma, C, 1e-4, 1e-6, "batchnorm + relu backward gamma");
    lh_assert_close(got_dbeta, dbeta, C, 1e-4, 1e-6, "batchnorm + relu backward beta");
    double *bufs[] = {gamma, beta, want, got, mean, var, masked, dx, dgamma, dbeta, got_dx, got_dgamma, got_dbeta};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    lh_teardown(&t);
}

Test(layer_batchnorm, train_batch1) { check_bn_train("3x6x5", "[conv]\nfilters = 16\nsize = 3\npad = 1\n", "", 1); }

Test(layer_batchnorm, train_batch1_on_input) { check_bn_train("2x3x4", "", "momentum = 1\n", 1); }

/* ---- own set-ups: inference nets and whole-net runs ---------------------- */

static void fill_net(rm_net *net, uint64_t seed)
{
    rm_rng rng;
    rm_rng_seed(&rng, seed, 3, 0);
    int64_t n = (int64_t)net->batch * net->def->input.c * net->def->input.h * net->def->input.w;
    float *in = rm_net_input(net);
    for (int64_t i = 0; i < n; i++) in[i] = (float)rm_rng_range(&rng, -1, 1);
    for (int i = 0; i < net->num_layers; i++) {
        rm_layer *l = &net->layers[i];
        for (int p = 0; p < l->num_params; p++) {
            int64_t count = rm_param_plain_count(&l->params[p]);
            float *v = malloc(sizeof *v * (size_t)count);
            int positive = !strcmp(l->params[p].name, "gamma") || !strcmp(l->params[p].name, "running_var");
            for (int64_t k = 0; k < count; k++) {
                double u = rm_rng_range(&rng, -1, 1);
                v[k] = (float)(positive ? 1 + 0.5 * u : u);
            }
            cr_assert_eq(rm_net_param_write(net, &l->params[p], v), 0, "%s", rm_error_message());
            free(v);
        }
    }
}

static rm_layer *find_layer(rm_net *net, const char *name)
{
    for (int i = 0; i < net->num_layers; i++)
        if (!strcmp(net->layers[i].def->name, name)) return &net->layers[i];
    cr_assert_fail("no layer %s", name);
    return NULL;
}

static double *read_nchw(rm_net *net, dnnl_memory_t mem, int64_t n)
{
    float *v = malloc(sizeof *v * (size_t)n);
    cr_assert_eq(rm_memory_read(&net->dnn, mem, v, dnnl_nchw), 0, "%s", rm_error_message());
    double *d = malloc(sizeof *d * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = v[i];
    free(v);
    return d;
}

static double *read_param(rm_net *net, const char *layer, const char *name)
{
    rm_param *p = rm_net_param(net, layer, name);
    cr_assert(p, "no parameter %s.%s", layer, name);
    int64_t n = rm_param_plain_count(p);
    float *v = malloc(sizeof *v * (size_t)n);
    cr_assert_eq(rm_net_param_read(net, p, v), 0, "%s", rm_error_message());
    double *d = malloc(sizeof *d * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = v[i];
    free(v);
    return d;
}

static void check_bn_infer(const char *in, const char *prefix, int batch)
{
    char text[TEXT_CAP];
    bn_text(text, sizeof text, in, prefix, "");
    rm_netdef def;
    rm_net net;
    cr_assert_eq(rm_netdef_parse(&def, text, "test.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&net, &def, batch, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    fill_net(&net, 23);
    rm_layer *l = find_layer(&net, "probe");
    int C = l->def->in.c, H = l->def->in.h, W = l->def->in.w;
    int64_t count = (int64_t)batch * C * H * W;
    double *gamma = read_param(&net, "probe", "gamma"), *beta = read_param(&net, "probe", "beta");
    double *rmean = read_param(&net, "probe", "running_mean"), *rvar = read_param(&net, "probe", "running_var");
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
    double *x = read_nchw(&net, l->src, count), *got = read_nchw(&net, l->dst, count);
    double *want = malloc(sizeof *want * (size_t)count);
    rm_ref_batchnorm_infer_forward(want, x, gamma, beta, rmean, rvar, batch, C, H, W, l->def->eps);
    lh_assert_close(got, want, count, 1e-5, 1e-6, "batchnorm inference forward");
    double *rmean2 = read_param(&net, "probe", "running_mean"), *rvar2 = read_param(&net, "probe", "running_var");
    lh_assert_close(rmean2, rmean, C, 0, 0, "running mean unchanged by inference");
    lh_assert_close(rvar2, rvar, C, 0, 0, "running variance unchanged by inference");
    cr_assert_null(rm_net_param(&net, "probe", "gamma")->grad);
    double *bufs[] = {gamma, beta, rmean, rvar, x, got, want, rmean2, rvar2};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}

Test(layer_batchnorm, inference_after_conv_blocked)
{
    check_bn_infer("3x6x5", "[conv]\nfilters = 16\nsize = 3\npad = 1\nbias = 0\n", 2);
}

Test(layer_batchnorm, inference_odd_channels) { check_bn_infer("2x5x5", "[conv]\nfilters = 17\nsize = 3\n", 3); }
Test(layer_batchnorm, inference_on_input_batch1) { check_bn_infer("3x4x5", "", 1); }

/* Layer 0 without input gradients: oneDNN's backward still writes a
 * diff_src (a private buffer); the parameter gradients must be the same as
 * with input gradients on. */
Test(layer_batchnorm, layer0_without_input_grad_matches)
{
    const char *text = "[net]\ninput = 3x4x5\nclasses = 3\n[batchnorm]\nname = probe\n[relu]\n[dense]\nunits = 3\n";
    rm_netdef def;
    cr_assert_eq(rm_netdef_parse(&def, text, "test.cfg"), 0, "%s", rm_error_message());
    double *grads[2][3];
    for (int with = 0; with < 2; with++) {
        rm_net net;
        cr_assert_eq(rm_net_create(&net, &def, 2, RM_MODE_TRAIN, with), 0, "%s", rm_error_message());
        cr_assert_eq(find_layer(&net, "probe")->diff_src != NULL, with);
        fill_net(&net, 31);
        int32_t labels[2] = {0, 2};
        double loss;
        cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
        cr_assert_eq(rm_net_loss_backward(&net, labels, 2, &loss), 0, "%s", rm_error_message());
        const char *names[3] = {"gamma", "beta", "weight"};
        for (int k = 0; k < 3; k++) {
            rm_param *p = rm_net_param(&net, k < 2 ? "probe" : net.layers[2].def->name, names[k]);
            cr_assert(p, "no %s", names[k]);
            int64_t n = rm_param_plain_count(p);
            float *v = malloc(sizeof *v * (size_t)n);
            cr_assert_eq(rm_net_grad_read(&net, p, v), 0, "%s", rm_error_message());
            grads[with][k] = malloc(sizeof(double) * (size_t)n);
            for (int64_t i = 0; i < n; i++) grads[with][k][i] = v[i];
            free(v);
        }
        if (with) cr_assert_not_null(rm_net_input_grad(&net));
        rm_net_destroy(&net);
    }
    lh_assert_close(grads[1][0], grads[0][0], 3, 0, 0, "dgamma");
    lh_assert_close(grads[1][1], grads[0][1], 3, 0, 0, "dbeta");
    lh_assert_close(grads[1][2], grads[0][2], 3 * 3 * 4 * 5, 0, 0, "dense dweight");
    double s = 0;
    for (int c = 0; c < 3; c++) s += fabs(grads[0][0][c]);
    cr_assert_gt(s, 0, "gamma gradient is all zero");
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 3; k++) free(grads[w][k]);
    rm_netdef_free(&def);
}

Test(layer_batchnorm, training_needs_more_than_one_value_per_channel)
{
    const char *text = "[net]\ninput = 3x1x1\nclasses = 3\n[batchnorm]\n[dense]\nunits = 3\n";
    rm_netdef def;
    rm_net net;
    cr_assert_eq(rm_netdef_parse(&def, text, "test.cfg"), 0, "%s", rm_error_message());
    cr_assert_neq(rm_net_create(&net, &def, 1, RM_MODE_TRAIN, 0), 0);
    cr_assert(strstr(rm_error_message(), "more than 1 value per channel"), "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&net, &def, 1, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    rm_net_destroy(&net);
    cr_assert_eq(rm_net_create(&net, &def, 2, RM_MODE_TRAIN, 0), 0, "%s", rm_error_message());
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}

/* ---- dropout ------------------------------------------------------------- */

static void dropout_text(char *text, size_t cap, const char *in, const char *prefix, double p)
{
    snprintf(text, cap, "[net]\ninput = %s\nclasses = 3\n%s[dropout]\nname = probe\np = %g\n[dense]\nunits = 3\n", in,
             prefix, p);
}

static const char *CONV32 = "[conv]\nfilters = 32\nsize = 3\npad = 1\n";

/* Large layer (4 x 32 x 32 x 32 = 131072 values, the parallel path): the
 * kept fraction is within 3 sigma of 1-p, kept values are exactly x/(1-p),
 * dropped ones exactly 0; the backward matches the reference with the
 * forward's mask. */
static void check_dropout(double p, const char *in, const char *prefix, int batch)
{
    char text[TEXT_CAP];
    dropout_text(text, sizeof text, in, prefix, p);
    lh_case t;
    lh_setup(&t, text, "probe", batch, 29);
    lh_forward(&t);
    double *y = lh_output(&t);
    uint8_t *mask = malloc((size_t)t.in_count);
    int64_t kept = 0;
    double scale = 1 / (1 - p);
    for (int64_t i = 0; i < t.in_count; i++) {
        cr_assert(t.x[i] != 0, "input %lld is exactly zero: the mask cannot be derived", (long long)i);
        mask[i] = y[i] != 0;
        kept += mask[i];
        if (mask[i] && p == 0.5) cr_assert_eq(y[i], 2.0 * t.xd[i], "index %lld: %.9g != 2 * %.9g", (long long)i, y[i], t.xd[i]);
        if (mask[i]) cr_assert(fabs(y[i] - t.xd[i] * scale) <= 2.4e-7 * fabs(t.xd[i] * scale), "index %lld", (long long)i);
    }
    double n = (double)t.in_count, sigma = sqrt(n * p * (1 - p));
    cr_assert(fabs((double)kept - n * (1 - p)) <= 3 * sigma, "kept %lld of %.0f, expected %.1f +- %.1f", (long long)kept,
              n, n * (1 - p), 3 * sigma);
    double *want = malloc(sizeof *want * (size_t)t.in_count);
    rm_ref_dropout_forward(want, t.xd, mask, (size_t)t.in_count, p);
    lh_assert_close(y, want, t.in_count, 2.4e-7, 0, "dropout forward");

    lh_backward(&t, 4);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *got = lh_input_grad(&t);
    rm_ref_dropout_backward(dx, t.dyd, mask, (size_t)t.in_count, p);
    lh_assert_close(got, dx, t.in_count, 2.4e-7, 0, "dropout backward");
    free(y);
    free(mask);
    free(want);
    free(dx);
    free(got);
    lh_teardown(&t);
}

Test(layer_dropout, half_after_conv_large) { check_dropout(0.5, "3x32x32", CONV32, 4); }
Test(layer_dropout, p03_on_input_layer0) { check_dropout(0.3, "3x20x20", "", 3); }
Test(layer_dropout, p09_batch1_odd_channels) { check_dropout(0.9, "3x9x7", "[conv]\nfilters = 17\nsize = 3\n", 1); }

/* Raw copy of the layer's output buffer (oneDNN layout, padding included). */
static float *raw_copy(dnnl_memory_t mem, size_t *count)
{
    *count = rm_memory_floats(mem);
    float *v = malloc(sizeof *v * *count);
    memcpy(v, rm_memory_ptr(mem), sizeof *v * *count);
    return v;
}

/* Runs the layers up to the probe again (lh_forward once only: it keeps its copy of x). */
static void rerun(lh_case *t)
{
    for (int i = 0; i <= t->layer->index; i++) {
        rm_layer *l = &t->net.layers[i];
        cr_assert_eq(l->ops->forward(l, &t->net), 0, "%s", rm_error_message());
    }
    cr_assert_eq(RM_DNNL(dnnl_stream_wait(t->net.dnn.stream)), 0);
}

static size_t count_differences(const float *a, const float *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += a[i] != b[i];
    return d;
}

Test(layer_dropout, mask_is_a_function_of_seed_step_layer)
{
    char text[TEXT_CAP];
    dropout_text(text, sizeof text, "3x32x32", CONV32, 0.5);
    lh_case t;
    lh_setup(&t, text, "probe", 4, 3);
    rm_net *net = &t.net;
    net->seed = 77;
    net->step = 5;
    lh_forward(&t);
    size_t n;
    float *first = raw_copy(t.layer->dst, &n);
    rerun(&t);
    float *again = raw_copy(t.layer->dst, &n);
    cr_assert_eq(count_differences(first, again, n), 0, "same (seed, step) gave another mask");

    omp_set_num_threads(1);
    rerun(&t);
    float *one_thread = raw_copy(t.layer->dst, &n);
    cr_assert_eq(count_differences(first, one_thread, n), 0, "the mask depends on the thread count");

    net->step = 6;
    rerun(&t);
    float *next = raw_copy(t.layer->dst, &n);
    size_t diff = count_differences(first, next, n);
    cr_assert(diff > n / 4, "another step changed only %zu of %zu values", diff, n);

    net->step = 5;
    net->seed = 78;
    rerun(&t);
    float *other_seed = raw_copy(t.layer->dst, &n);
    diff = count_differences(first, other_seed, n);
    cr_assert(diff > n / 4, "another seed changed only %zu of %zu values", diff, n);
    free(first);
    free(again);
    free(one_thread);
    free(next);
    free(other_seed);
    lh_teardown(&t);
}

/* A whole training step advances net->step, so the next batch gets a new mask. */
Test(layer_dropout, training_step_advances_the_mask)
{
    const char *text = "[net]\ninput = 2x6x6\nclasses = 3\n[dropout]\np = 0.5\n[conv]\nfilters = 8\nsize = 3\n"
                       "[dropout]\nname = probe\np = 0.5\n[dense]\nunits = 3\n";
    rm_netdef def;
    rm_net net;
    cr_assert_eq(rm_netdef_parse(&def, text, "test.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&net, &def, 2, RM_MODE_TRAIN, 0), 0, "%s", rm_error_message());
    cr_assert_null(net.layers[0].diff_src, "layer 0 without input gradients needs no diff_src");
    fill_net(&net, 5);
    int32_t labels[2] = {1, 2};
    double loss;
    size_t n;
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
    float *first = raw_copy(find_layer(&net, "probe")->dst, &n);
    cr_assert_eq(rm_net_loss_backward(&net, labels, 2, &loss), 0, "%s", rm_error_message());
    cr_assert(isfinite(loss));
    cr_assert_eq(net.step, 1);
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
    float *second = raw_copy(find_layer(&net, "probe")->dst, &n);
    cr_assert_gt(count_differences(first, second, n), 0);
    free(first);
    free(second);
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}

/* Blocked layout with 17 of 32 channels real: the padded entries of the
 * output and of the input gradient stay zero. */
Test(layer_dropout, padded_entries_stay_zero)
{
    char text[TEXT_CAP];
    dropout_text(text, sizeof text, "2x5x5", "[conv]\nfilters = 17\nsize = 3\npad = 1\n", 0.5);
    lh_case t;
    lh_setup(&t, text, "probe", 2, 8);
    lh_forward(&t);
    lh_backward(&t, 2);
    const dnnl_memory_desc_t *md = &t.layer->dst_md;
    size_t n;
    float *y = raw_copy(t.layer->dst, &n), *dx = raw_copy(t.layer->diff_src, &n);
    size_t logical = (size_t)t.out_count, nonzero_y = 0, nonzero_dx = 0;
    for (size_t i = 0; i < n; i++) {
        nonzero_y += y[i] != 0;
        nonzero_dx += dx[i] != 0;
    }
    cr_assert_leq(nonzero_y, logical);
    cr_assert_leq(nonzero_dx, logical);
    if (md->format_kind == dnnl_blocked && md->format_desc.blocking.inner_nblks == 1 &&
        md->format_desc.blocking.inner_idxs[0] == 1) {
        const dnnl_dims_t *st = &md->format_desc.blocking.strides;
        int64_t blk = md->format_desc.blocking.inner_blks[0];
        cr_assert_gt(md->padded_dims[1], md->dims[1], "expected padded channels");
        for (int64_t b = 0; b < md->dims[0]; b++)
            for (int64_t c = md->dims[1]; c < md->padded_dims[1]; c++)
                for (int64_t h = 0; h < md->dims[2]; h++)
                    for (int64_t w = 0; w < md->dims[3]; w++) {
                        int64_t off = md->offset0 + b * (*st)[0] + (c / blk) * (*st)[1] + h * (*st)[2] +
                                      w * (*st)[3] + c % blk;
                        cr_assert_eq(y[off], 0.0f, "padded output (%lld,%lld,%lld,%lld)", (long long)b,
                                     (long long)c, (long long)h, (long long)w);
                        cr_assert_eq(dx[off], 0.0f, "padded input gradient");
                    }
    } else {
        cr_log_warn("layout is not nChw<k>c; only the nonzero counts were checked");
    }
    free(y);
    free(dx);
    lh_teardown(&t);
}

Test(layer_dropout, p0_training_is_identity)
{
    char text[TEXT_CAP];
    dropout_text(text, sizeof text, "3x8x8", "[conv]\nfilters = 16\nsize = 3\npad = 1\n", 0);
    lh_case t;
    lh_setup(&t, text, "probe", 2, 12);
    lh_forward(&t);
    double *y = lh_output(&t);
    lh_assert_close(y, t.xd, t.out_count, 0, 0, "p = 0 forward");
    lh_backward(&t, 6);
    double *dx = lh_input_grad(&t);
    lh_assert_close(dx, t.dyd, t.in_count, 0, 0, "p = 0 backward");
    free(y);
    free(dx);
    lh_teardown(&t);
}

Test(layer_dropout, inference_is_identity)
{
    char text[TEXT_CAP];
    dropout_text(text, sizeof text, "3x8x8", "[conv]\nfilters = 16\nsize = 3\npad = 1\n", 0.5);
    rm_netdef def;
    rm_net net;
    cr_assert_eq(rm_netdef_parse(&def, text, "test.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&net, &def, 2, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    fill_net(&net, 9);
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
    rm_layer *l = find_layer(&net, "probe");
    int64_t count = 2 * 16 * 8 * 8;
    double *x = read_nchw(&net, l->src, count), *y = read_nchw(&net, l->dst, count);
    lh_assert_close(y, x, count, 0, 0, "inference dropout");
    free(x);
    free(y);
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}
