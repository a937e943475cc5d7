/* Convolution and ReLU on oneDNN against the double-precision reference,
 * over odd sizes, stride 1 and 2, padding, bias on/off, batch 1, and as an
 * interior layer fed a blocked layout. Tolerance: float32 arithmetic over
 * C*K*K-term sums, 1e-5 of the largest magnitude plus 1e-6. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "layer_harness.h"
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
