/* The [scale] layer (y = scale_c x + shift_c) against the double-precision
 * reference: forward, backward (dx = scale dy, dscale = sum dy x, dshift =
 * sum dy over batch and positions), on the input (plain layout) and after a
 * convolution (blocked, channels padded), in inference, and its identity
 * initialization. Tolerances: forward 1e-6 of the largest magnitude (one
 * multiply-add); backward sums 1e-5 (float over N*H*W terms). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_harness.h"
#include "core/error.h"
#include "train/train.h"

enum { TEXT_CAP = 1024 };

static void check_scale(const char *in, const char *prefix, int batch)
{
    char text[TEXT_CAP];
    snprintf(text, sizeof text, "[net]\ninput = %s\nclasses = 3\n%s[scale]\nname = probe\n[dense]\nunits = 3\n", in,
             prefix);
    lh_case t;
    lh_setup(&t, text, "probe", batch, 61);
    lh_forward(&t);
    const rm_layer_def *d = t.layer->def;
    int64_t C = d->in.c, hw = (int64_t)d->in.h * d->in.w;
    double *a = lh_param(&t, "scale"), *b = lh_param(&t, "shift");
    double *want = calloc((size_t)t.out_count, sizeof *want), *got = lh_output(&t);
    for (int64_t i = 0; i < t.out_count; i++) want[i] = a[i / hw % C] * t.xd[i] + b[i / hw % C];
    lh_assert_close(got, want, t.out_count, 1e-6, 1e-7, "scale forward");

    lh_backward(&t, 62);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *da = calloc((size_t)C, sizeof *da);
    double *db = calloc((size_t)C, sizeof *db);
    for (int64_t i = 0; i < t.in_count; i++) {
        int64_t c = i / hw % C;
        dx[i] = a[c] * t.dyd[i];
        da[c] += t.dyd[i] * t.xd[i];
        db[c] += t.dyd[i];
    }
    double *got_dx = lh_input_grad(&t), *got_da = lh_param_grad(&t, "scale"), *got_db = lh_param_grad(&t, "shift");
    lh_assert_close(got_dx, dx, t.in_count, 1e-6, 1e-7, "scale backward data");
    lh_assert_close(got_da, da, C, 1e-5, 1e-6, "d scale");
    lh_assert_close(got_db, db, C, 1e-5, 1e-6, "d shift");
    cr_expect_eq(d->params, 2 * C, "parameter count");
    double *all[] = {a, b, want, got, dx, da, db, got_dx, got_da, got_db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    lh_teardown(&t);
}

Test(layer_scale, on_input_plain_layout) { check_scale("3x5x4", "", 2); }
Test(layer_scale, after_conv_blocked_padded_channels) { check_scale("2x6x6", "[conv]\nfilters = 12\nsize = 3\n", 3); }
Test(layer_scale, after_dense_flat) { check_scale("2x3x3", "[flatten]\n[dense]\nunits = 5\n", 4); }

/* A new network's [scale] is the identity: its output equals its input. */
Test(layer_scale, starts_as_the_identity)
{
    rm_netdef def;
    cr_assert_eq(rm_netdef_parse(&def, "[net]\ninput = 2x4x4\nclasses = 3\n[scale]\nname = s\n[flatten]\n"
                                       "[dense]\nunits = 3\n", "id.cfg"),
                 0, "%s", rm_error_message());
    rm_net net;
    cr_assert_eq(rm_net_create(&net, &def, 2, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_init_params(&net, RM_INIT_HE, 3), 0, "%s", rm_error_message());
    float *x = rm_net_input(&net);
    for (int i = 0; i < 2 * 2 * 16; i++) x[i] = (float)(i % 7) - 2.5f;
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
    const float *y = rm_memory_ptr(net.layers[0].dst);
    for (int i = 0; i < 2 * 2 * 16; i++) cr_assert_eq(y[i], x[i], "value %d: %g, input %g", i, y[i], x[i]);
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}

/* After a 6-channel convolution the data is in 16-channel blocks; oneDNN
 * runs the 10 padding channels too. They must stay 0 (the next dense
 * layer's padding weights are 0, and 0 x NaN would be NaN logits): the
 * identity [scale] gives the logits of the same network with an identity
 * dropout in its place. */
Test(layer_scale, padding_channels_stay_zero_in_every_mode)
{
    static const char *const texts[2] = {
        "[net]\ninput = 2x4x4\nclasses = 3\n[conv]\nfilters = 6\nsize = 3\npad = 1\n[globalavgpool]\n[flatten]\n"
        "[scale]\n[dense]\nunits = 3\n",
        "[net]\ninput = 2x4x4\nclasses = 3\n[conv]\nfilters = 6\nsize = 3\npad = 1\n[globalavgpool]\n[flatten]\n"
        "[dropout]\np = 0\n[dense]\nunits = 3\n"};   /* the same layer indices, so the same initial weights */
    for (int mode = RM_MODE_INFER; mode <= RM_MODE_LRP; mode++) {
        float logits[2][6];
        for (int k = 0; k < 2; k++) {
            rm_netdef def;
            cr_assert_eq(rm_netdef_parse(&def, texts[k], "pad.cfg"), 0, "%s", rm_error_message());
            rm_net net;
            cr_assert_eq(rm_net_create(&net, &def, 2, (rm_mode)mode, 0), 0, "%s", rm_error_message());
            cr_assert_eq(rm_net_init_params(&net, RM_INIT_HE, 5), 0, "%s", rm_error_message());
            float *x = rm_net_input(&net);
            for (int i = 0; i < 2 * 2 * 16; i++) x[i] = (float)(i % 5) - 1.5f;
            cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
            memcpy(logits[k], rm_net_logits(&net), sizeof logits[k]);
            rm_net_destroy(&net);
            rm_netdef_free(&def);
        }
        for (int i = 0; i < 6; i++)
            cr_expect(logits[0][i] == logits[1][i], "mode %d logit %d: %g with the identity scale, %g without", mode, i,
                      logits[0][i], logits[1][i]);
    }
}
