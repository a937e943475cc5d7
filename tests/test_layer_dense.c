/* Dense layer on oneDNN against the reference: on a 4D blocked input (after
 * a convolution, implicitly flattened in C,H,W order), on a 2D input, with
 * and without bias, batch 1. Tolerance as for convolutions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "layer_harness.h"
#include "oracle/reference.h"

static void check_dense(const char *text, int batch, int units, int bias)
{
    lh_case t;
    lh_setup(&t, text, "probe", batch, 11);
    lh_forward(&t);
    int in = (int)(t.in_count / batch);
    double *w = lh_param(&t, "weight"), *b = bias ? lh_param(&t, "bias") : NULL;
    double *want = calloc((size_t)t.out_count, sizeof *want), *got = lh_output(&t);
    rm_ref_dense_forward(want, t.xd, w, b, batch, in, units);
    lh_assert_close(got, want, t.out_count, 1e-5, 1e-6, "dense forward");
    lh_backward(&t, 5);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *dw = calloc((size_t)units * in, sizeof *dw);
    double *db = calloc((size_t)units, sizeof *db);
    rm_ref_dense_backward(dx, dw, bias ? db : NULL, t.dyd, t.xd, w, batch, in, units);
    double *gdx = lh_input_grad(&t), *gdw = lh_param_grad(&t, "weight");
    lh_assert_close(gdx, dx, t.in_count, 1e-5, 1e-6, "dense backward data");
    lh_assert_close(gdw, dw, (int64_t)units * in, 1e-5, 1e-6, "dense backward weights");
    if (bias) {
        double *gdb = lh_param_grad(&t, "bias");
        lh_assert_close(gdb, db, units, 1e-5, 1e-6, "dense backward bias");
        free(gdb);
        free(b);
    }
    free(w);
    free(want);
    free(got);
    free(dx);
    free(dw);
    free(db);
    free(gdx);
    free(gdw);
    lh_teardown(&t);
}

Test(layer_dense, after_conv_blocked_4d_input)
{
    check_dense("[net]\ninput = 1x7x6\nclasses = 5\n[conv]\nfilters = 19\nsize = 3\npad = 1\nactivation = relu\n"
                "[dense]\nname = probe\nunits = 5\n",
                3, 5, 1);
}

Test(layer_dense, on_2d_input_without_bias)
{
    check_dense("[net]\ninput = 2x3x3\nclasses = 4\n[dense]\nunits = 13\nactivation = relu\n"
                "[dense]\nname = probe\nunits = 4\nbias = 0\n",
                2, 4, 0);
}

Test(layer_dense, first_layer_batch1)
{
    check_dense("[net]\ninput = 3x5x4\nclasses = 6\n[dense]\nname = probe\nunits = 6\n", 1, 6, 1);
}
