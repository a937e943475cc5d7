/* Convolution and ReLU on oneDNN against the double-precision reference,
 * over odd sizes, stride 1 and 2, padding, bias on/off, batch 1, and as an
 * interior layer fed a blocked layout. Tolerance: float32 arithmetic over
 * C*K*K-term sums, 1e-5 of the largest magnitude plus 1e-6. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "layer_harness.h"
#include "nn/linear.h"
#include "train/train.h"
#include "oracle/reference.h"

enum { TEXT_CAP = 1024 };

static void check_conv(int batch, int c, int h, int w, int filters, int k, int stride, int pad, int bias,
                       const char *prefix_layers)
{
    char text[TEXT_CAP];
    snprintf(text, sizeof text,
             "[net]\ninput = %dx%dx%d\nclasses = 3\n%s"
             "[conv]\nname = probe\nfilters = %d\nsize = %d\nstride = %d\npad = %d\nbias = %d\n"
             "[dense]\nunits = 3\n",
             c, h, w, prefix_layers, filters, k, stride, pad, bias);
    lh_case t;
    lh_setup(&t, text, "probe", batch, 42);
    lh_forward(&t);
    const rm_layer_def *d = t.layer->def;
    int C = d->in.c, H = d->in.h, W = d->in.w;
    double *wgt = lh_param(&t, "weight"), *b = bias ? lh_param(&t, "bias") : NULL;
    double *want = calloc((size_t)t.out_count, sizeof *want), *got = lh_output(&t);
    rm_ref_conv_forward(want, t.xd, wgt, b, batch, C, H, W, filters, k, stride, pad);
    lh_assert_close(got, want, t.out_count, 1e-5, 1e-6, "conv forward");

    lh_backward(&t, 7);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *dw = calloc((size_t)filters * C * k * k, sizeof *dw);
    double *db = calloc((size_t)filters, sizeof *db);
    rm_ref_conv_backward(dx, dw, bias ? db : NULL, t.dyd, t.xd, wgt, batch, C, H, W, filters, k, stride, pad);
    double *got_dx = lh_input_grad(&t), *got_dw = lh_param_grad(&t, "weight");
    lh_assert_close(got_dx, dx, t.in_count, 1e-5, 1e-6, "conv backward data");
    lh_assert_close(got_dw, dw, (int64_t)filters * C * k * k, 1e-5, 1e-6, "conv backward weights");
    if (bias) {
        double *got_db = lh_param_grad(&t, "bias");
        lh_assert_close(got_db, db, filters, 1e-5, 1e-6, "conv backward bias");
        free(got_db);
        free(b);
    }
    free(wgt);
    free(want);
    free(got);
    free(dx);
    free(dw);
    free(db);
    free(got_dx);
    free(got_dw);
    lh_teardown(&t);
}

Test(layer_conv, stride1_pad1_bias) { check_conv(2, 3, 7, 5, 6, 3, 1, 1, 1, ""); }
Test(layer_conv, stride2_pad1_nobias) { check_conv(2, 3, 7, 5, 6, 3, 2, 1, 0, ""); }
Test(layer_conv, stride2_pad0_batch1) { check_conv(1, 2, 9, 9, 5, 3, 2, 0, 1, ""); }
Test(layer_conv, single_channel_input_like_fer) { check_conv(3, 1, 12, 12, 16, 3, 1, 1, 1, ""); }
Test(layer_conv, kernel5_pad2) { check_conv(2, 4, 8, 8, 8, 5, 1, 2, 1, ""); }

/* Interior: the probe's input comes from a 32-channel conv + relu, in
 * whatever blocked layout oneDNN chose. */
Test(layer_conv, interior_blocked_layout)
{
    check_conv(2, 1, 10, 10, 32, 3, 1, 1, 1, "[conv]\nfilters = 32\nsize = 3\npad = 1\nactivation = relu\n");
}

Test(layer_conv, interior_stride2_odd_channels)
{
    check_conv(2, 3, 11, 9, 7, 3, 2, 1, 1, "[conv]\nfilters = 17\nsize = 3\npad = 1\nactivation = relu\n");
}

/* slope/max variants against rm_ref_leaky_clip_*: forward exact; backward
 * exact too (inputs at exactly 0 or max have probability zero). */
static void check_relu_variant(const char *keys, double slope, double max)
{
    char text[512];
    snprintf(text, sizeof text,
             "[net]\ninput = 3x6x5\nclasses = 2\n[conv]\nfilters = 16\nsize = 3\npad = 1\n[relu]\nname = probe\n%s"
             "[dense]\nunits = 2\n",
             keys);
    lh_case t;
    lh_setup(&t, text, "probe", 2, 5);
    lh_forward(&t);
    double *want = malloc(sizeof *want * (size_t)t.out_count), *got = lh_output(&t);
    rm_ref_leaky_clip_forward(want, t.xd, (size_t)t.out_count, slope, max);
    int clipped = 0, negative = 0;
    for (int64_t i = 0; i < t.out_count; i++) clipped += max > 0 && want[i] == max, negative += want[i] < 0;
    cr_assert(max == 0 || clipped > 0, "%s: no input reaches max; the test would not see clipping", keys);
    cr_assert(slope == 0 || negative > 0, "%s: no negative output", keys);
    lh_assert_close(got, want, t.out_count, 1e-7, 0, keys);
    lh_backward(&t, 3);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *got_dx = lh_input_grad(&t);
    rm_ref_leaky_clip_backward(dx, t.dyd, t.xd, (size_t)t.in_count, slope, max);
    lh_assert_close(got_dx, dx, t.in_count, 1e-7, 0, keys);
    free(want), free(got), free(dx), free(got_dx);
    lh_teardown(&t);
}

Test(layer_relu, leaky_matches_reference) { check_relu_variant("slope = 0.1\n", 0.1, 0); }
Test(layer_relu, clipped_matches_reference) { check_relu_variant("max = 0.25\n", 0, 0.25); }

Test(layer_relu, matches_reference_forward_and_backward)
{
    lh_case t;
    lh_setup(&t,
             "[net]\ninput = 3x6x5\nclasses = 2\n[conv]\nfilters = 16\nsize = 3\npad = 1\n[relu]\nname = probe\n"
             "[dense]\nunits = 2\n",
             "probe", 2, 5);
    lh_forward(&t);
    double *want = malloc(sizeof *want * (size_t)t.out_count), *got = lh_output(&t);
    rm_ref_relu_forward(want, t.xd, (size_t)t.out_count);
    lh_assert_close(got, want, t.out_count, 0, 0, "relu forward (exact)");
    lh_backward(&t, 3);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *got_dx = lh_input_grad(&t);
    rm_ref_relu_backward(dx, t.dyd, t.xd, (size_t)t.in_count);
    lh_assert_close(got_dx, dx, t.in_count, 0, 0, "relu backward (exact)");
    free(want);
    free(got);
    free(dx);
    free(got_dx);
    lh_teardown(&t);
}

/* ---- grouped and depthwise convolution (groups = G) ---------------------
 * The reference runs the oracle once per group on that group's channels:
 * output channels [g*O/G, (g+1)*O/G) from input channels [g*C/G, ...),
 * weights [O, C/G, K, K] (PyTorch's layout, rows of a group contiguous). */

/* x [N,C,H,W] channels [c0, c0+n) into out [N,n,H,W] (to = 0), or back
 * added into x (to = 1). */
static void channel_slice(double *x, double *out, int N, int C, int c0, int n, int hw, int to)
{
    for (int b = 0; b < N; b++)
        for (int i = 0; i < n * hw; i++) {
            double *full = &x[((size_t)b * C + c0) * hw + i], *part = &out[(size_t)b * n * hw + i];
            if (to) *full += *part;
            else *part = *full;
        }
}

static void check_grouped(int batch, int c, int h, int w, int filters, int k, int stride, int pad, int groups,
                          const char *prefix_layers)
{
    char text[TEXT_CAP];
    snprintf(text, sizeof text,
             "[net]\ninput = %dx%dx%d\nclasses = 3\n%s"
             "[conv]\nname = probe\nfilters = %d\nsize = %d\nstride = %d\npad = %d\ngroups = %d\n"
             "[dense]\nunits = 3\n",
             c, h, w, prefix_layers, filters, k, stride, pad, groups);
    lh_case t;
    lh_setup(&t, text, "probe", batch, 43);
    lh_forward(&t);
    const rm_layer_def *d = t.layer->def;
    int C = d->in.c, H = d->in.h, W = d->in.w, OH = d->out.h, OW = d->out.w, cg = C / groups, og = filters / groups;
    double *wgt = lh_param(&t, "weight"), *b = lh_param(&t, "bias");
    double *want = calloc((size_t)t.out_count, sizeof *want), *got = lh_output(&t);
    double *xs = calloc((size_t)batch * cg * H * W, sizeof *xs), *ys = calloc((size_t)batch * og * OH * OW, sizeof *ys);
    double *dxs = calloc((size_t)batch * cg * H * W, sizeof *dxs);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *dw = calloc((size_t)filters * cg * k * k, sizeof *dw);
    double *db = calloc((size_t)filters, sizeof *db);
    for (int g = 0; g < groups; g++) {
        channel_slice(t.xd, xs, batch, C, g * cg, cg, H * W, 0);
        rm_ref_conv_forward(ys, xs, wgt + (size_t)g * og * cg * k * k, b + g * og, batch, cg, H, W, og, k, stride, pad);
        channel_slice(want, ys, batch, filters, g * og, og, OH * OW, 1);
    }
    lh_assert_close(got, want, t.out_count, 1e-5, 1e-6, "grouped conv forward");

    lh_backward(&t, 8);
    for (int g = 0; g < groups; g++) {
        channel_slice(t.xd, xs, batch, C, g * cg, cg, H * W, 0);
        channel_slice(t.dyd, ys, batch, filters, g * og, og, OH * OW, 0);
        for (size_t i = 0; i < (size_t)batch * cg * H * W; i++) dxs[i] = 0;
        rm_ref_conv_backward(dxs, dw + (size_t)g * og * cg * k * k, db + g * og, ys, xs,
                             wgt + (size_t)g * og * cg * k * k, batch, cg, H, W, og, k, stride, pad);
        channel_slice(dx, dxs, batch, C, g * cg, cg, H * W, 1);
    }
    double *got_dx = lh_input_grad(&t), *got_dw = lh_param_grad(&t, "weight"), *got_db = lh_param_grad(&t, "bias");
    lh_assert_close(got_dx, dx, t.in_count, 1e-5, 1e-6, "grouped conv backward data");
    lh_assert_close(got_dw, dw, (int64_t)filters * cg * k * k, 1e-5, 1e-6, "grouped conv backward weights");
    lh_assert_close(got_db, db, filters, 1e-5, 1e-6, "grouped conv backward bias");
    cr_expect_eq(d->params, (int64_t)filters * cg * k * k + filters, "parameter count");
    double *all[] = {wgt, b, want, got, xs, ys, dxs, dx, dw, db, got_dx, got_dw, got_db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    lh_teardown(&t);
}

Test(layer_conv, grouped_two_groups_stride2_on_input) { check_grouped(2, 4, 9, 9, 6, 3, 2, 1, 2, ""); }
Test(layer_conv, grouped_four_groups_kernel1) { check_grouped(1, 8, 5, 7, 8, 1, 1, 0, 4, ""); }

/* Depthwise (one group per channel) after a 16-channel conv + relu, in
 * oneDNN's blocked layout, and with a channel multiplier of 2. */
Test(layer_conv, depthwise_interior_blocked_layout)
{
    check_grouped(2, 1, 10, 10, 16, 3, 1, 1, 16, "[conv]\nfilters = 16\nsize = 3\npad = 1\nactivation = relu\n");
}
Test(layer_conv, depthwise_channel_multiplier_2) { check_grouped(2, 3, 8, 8, 6, 3, 1, 1, 3, ""); }

/* Fewer than 16 input channels per group, read from another convolution:
 * oneDNN 2.6 has only its reference kernel for these in 16-channel blocks,
 * so the forward gets its input plain (the convolution below writes NCHW)
 * or the backward passes run on plain copies (layer_conv.c). Either way
 * the results are the reference's, and no layer is left on the slow kernel. */
static const char narrow_prefix[] = "[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n";

static void expect_no_slow_input(const char *text)
{
    lh_case t;
    lh_setup(&t, text, "probe", 2, 44);
    for (int i = 0; i < t.net.num_layers; i++)
        cr_expect(!t.net.layers[i].slow_src, "layer %s reads a layout with only a reference kernel",
                  t.net.layers[i].def->name);
    lh_teardown(&t);
}

Test(layer_conv, narrow_interior_stride1) { check_conv(2, 1, 9, 9, 8, 3, 1, 1, 1, narrow_prefix); }
Test(layer_conv, narrow_interior_stride2) { check_conv(2, 1, 10, 10, 6, 3, 2, 1, 0, narrow_prefix); }
Test(layer_conv, narrow_interior_5x5_of_12_channels)
{
    check_conv(2, 2, 9, 9, 5, 5, 1, 2, 1, "[conv]\nfilters = 12\nsize = 3\npad = 1\n");
}
Test(layer_conv, narrow_interior_groups_of_4) { check_grouped(2, 1, 8, 8, 8, 3, 1, 1, 2, narrow_prefix); }
Test(layer_conv, narrow_interior_builds_without_slow_inputs)
{
    expect_no_slow_input("[net]\ninput = 1x9x9\nclasses = 3\n[conv]\nfilters = 8\nsize = 3\npad = 1\n[relu]\n"
                         "[conv]\nname = probe\nfilters = 8\nsize = 3\nstride = 2\npad = 1\n[dense]\nunits = 3\n");
}

/* oneDNN 2.6's heuristic picks Winograd for an 8-to-8 3x3 convolution at
 * large batches, padding the channels to 16: 4x slower than direct on
 * mini-Xception's second convolution. Narrow convolutions get direct. */
static int forward_is_direct(const char *text, int batch, rm_mode mode)
{
    rm_netdef def;
    cr_assert_eq(rm_netdef_parse(&def, text, "narrow.cfg"), 0, "%s", rm_error_message());
    rm_net net;
    cr_assert_eq(rm_net_create(&net, &def, batch, mode, 0), 0, "%s", rm_error_message());
    const rm_linear *c = net.layers[2].impl;
    cr_assert_str_eq(net.layers[2].def->name, "probe");
    int direct = c->fwd_alg == dnnl_convolution_direct;
    rm_net_destroy(&net);
    rm_netdef_free(&def);
    return direct;
}

Test(layer_conv, narrow_forward_is_direct_in_every_mode)
{
    const char *text = "[net]\ninput = 1x46x46\nclasses = 3\n[conv]\nfilters = 8\nsize = 3\n[relu]\n"
                       "[conv]\nname = probe\nfilters = 8\nsize = 3\n[relu]\n[dense]\nunits = 3\n";
    for (int mode = RM_MODE_INFER; mode <= RM_MODE_LRP; mode++)
        cr_expect(forward_is_direct(text, 256, (rm_mode)mode), "mode %d: not direct", mode);
}

/* Inference reads a narrow convolution's blocked input through a plain
 * copy (layer_conv.c, forward_on_plain_copy) where training asks the layer
 * below for plain output: the two give the same logits, and the inference
 * network leaves no layer on the reference kernel. */
Test(layer_conv, narrow_inference_on_a_plain_copy_matches_training_layouts)
{
    const char *text = "[net]\ninput = 1x13x11\nclasses = 3\n[conv]\nfilters = 8\nsize = 3\npad = 1\n[relu]\n"
                       "[conv]\nname = probe\nfilters = 8\nsize = 3\n[relu]\n[dense]\nunits = 3\n";
    enum { NB = 5 };
    rm_netdef def;
    cr_assert_eq(rm_netdef_parse(&def, text, "narrow.cfg"), 0, "%s", rm_error_message());
    rm_net infer, train;
    cr_assert_eq(rm_net_create(&infer, &def, NB, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&train, &def, NB, RM_MODE_TRAIN, 0), 0, "%s", rm_error_message());
    const rm_linear *probe = infer.layers[2].impl;
    cr_assert(probe->fwd_src_copy, "the inference forward does not read a plain copy");
    for (int i = 0; i < infer.num_layers; i++) cr_expect(!infer.layers[i].slow_src, "layer %d on the reference kernel", i);
    cr_assert_eq(rm_net_init_params(&infer, RM_INIT_HE, 3), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_init_params(&train, RM_INIT_HE, 3), 0, "%s", rm_error_message());
    float *a = rm_net_input(&infer), *b = rm_net_input(&train);
    for (int i = 0; i < NB * 13 * 11; i++) a[i] = b[i] = (float)((i * 37) % 101) / 101.f;
    cr_assert_eq(rm_net_forward(&infer), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_forward(&train), 0, "%s", rm_error_message());
    const float *za = rm_net_logits(&infer), *zb = rm_net_logits(&train);
    double top = 0;
    for (int i = 0; i < NB * 3; i++) top = fmax(top, fabs(zb[i]));
    cr_assert(top > 0);
    for (int i = 0; i < NB * 3; i++)
        cr_expect(fabs((double)za[i] - zb[i]) <= 1e-5 * top, "logit %d: %g inference, %g training", i, za[i], zb[i]);
    rm_net_destroy(&infer);
    rm_net_destroy(&train);
    rm_netdef_free(&def);
}

/* ---- dilation and asymmetric padding -------------------------------------
 * TensorFlow's 'SAME' at stride 2 on an even input (one more cell at the
 * bottom/right), atrous kernels, and both, on the input and as an interior
 * layer (blocked layout), against the oracle's general geometry. */
static void check_geom(int batch, int c, int h, int w, int filters, int k, rm_ref_conv_geom g,
                       const char *prefix_layers)
{
    char text[TEXT_CAP];
    snprintf(text, sizeof text,
             "[net]\ninput = %dx%dx%d\nclasses = 3\n%s"
             "[conv]\nname = probe\nfilters = %d\nsize = %d\nstride = %d\ndilation = %d\npad = %d, %d, %d, %d\n"
             "[dense]\nunits = 3\n",
             c, h, w, prefix_layers, filters, k, g.stride, g.dilation, g.pads[0], g.pads[1], g.pads[2], g.pads[3]);
    lh_case t;
    lh_setup(&t, text, "probe", batch, 45);
    lh_forward(&t);
    const rm_layer_def *d = t.layer->def;
    int C = d->in.c, H = d->in.h, W = d->in.w;
    double *wgt = lh_param(&t, "weight"), *b = lh_param(&t, "bias");
    double *want = calloc((size_t)t.out_count, sizeof *want), *got = lh_output(&t);
    rm_ref_conv_geom_forward(want, t.xd, wgt, b, batch, C, H, W, filters, k, g);
    lh_assert_close(got, want, t.out_count, 1e-5, 1e-6, "conv forward");
    lh_backward(&t, 9);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *dw = calloc((size_t)filters * C * k * k, sizeof *dw);
    double *db = calloc((size_t)filters, sizeof *db);
    rm_ref_conv_geom_backward(dx, dw, db, t.dyd, t.xd, wgt, batch, C, H, W, filters, k, g);
    double *got_dx = lh_input_grad(&t), *got_dw = lh_param_grad(&t, "weight"), *got_db = lh_param_grad(&t, "bias");
    lh_assert_close(got_dx, dx, t.in_count, 1e-5, 1e-6, "conv backward data");
    lh_assert_close(got_dw, dw, (int64_t)filters * C * k * k, 1e-5, 1e-6, "conv backward weights");
    lh_assert_close(got_db, db, filters, 1e-5, 1e-6, "conv backward bias");
    double *all[] = {wgt, b, want, got, dx, dw, db, got_dx, got_dw, got_db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    lh_teardown(&t);
}

Test(layer_conv, tf_same_stride2_pads_bottom_right)
{
    check_geom(2, 3, 10, 10, 5, 3, (rm_ref_conv_geom){2, 1, {0, 0, 1, 1}}, "");
}
Test(layer_conv, dilated_by_2_same_size) { check_geom(2, 2, 9, 9, 4, 3, (rm_ref_conv_geom){1, 2, {2, 2, 2, 2}}, ""); }
Test(layer_conv, dilated_strided_uneven_pads_interior_blocked_layout)
{
    check_geom(2, 1, 12, 11, 16, 3, (rm_ref_conv_geom){2, 3, {1, 0, 2, 3}},
               "[conv]\nfilters = 16\nsize = 3\npad = 1\nactivation = relu\n");
}
