/* The network eval and predict run (nn/model_fold.h): batchnorm folded into
 * the convolutions it reads gives the unfolded network's logits within 1e-5
 * of the largest, with non-trivial batchnorm statistics and affine terms;
 * the folded definition has no foldable batchnorm left, a convolution
 * followed by a ReLU carries it, and batches larger than a slice run in
 * slices. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/model_fold.h"
#include "train/train.h"


static void randomize_batchnorm(rm_model *m, rm_rng *rng)
{
    for (int i = 0; i < m->num_tensors; i++) {
        rm_model_tensor *t = &m->tensors[i];
        const char *name = strrchr(t->key, '/') + 1;
        for (int64_t k = 0; k < t->count; k++) {
            double u = rm_rng_uniform(rng);
            if (!strcmp(name, "gamma")) t->data[k] = (float)(0.5 + u);
            else if (!strcmp(name, "beta")) t->data[k] = (float)(u - 0.5);
            else if (!strcmp(name, "running_mean")) t->data[k] = (float)(0.4 * (u - 0.5));
            else if (!strcmp(name, "running_var")) t->data[k] = (float)(0.2 + 2 * u);
        }
    }
}

static void folded_equals_unfolded(const char *net_name, int folded_away, int B)
{
    rm_model m;
    memset(&m, 0, sizeof m);
    cr_assert_eq(rm_netdef_find(&m.def, net_name), 0, "%s", rm_error_message());
    rm_net plain;
    cr_assert_eq(rm_net_create(&plain, &m.def, B, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_init_params(&plain, RM_INIT_HE, 7), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_capture(&m, &plain), 0, "%s", rm_error_message());
    rm_rng rng;
    rm_rng_seed(&rng, 11, 0, 0);
    randomize_batchnorm(&m, &rng);
    cr_assert_eq(rm_model_apply(&m, &plain), 0, "%s", rm_error_message());

    rm_infer_net folded;
    cr_assert_eq(rm_infer_net_create(&folded, &m, B), 0, "%s", rm_error_message());
    cr_expect_eq(folded.def.num_layers, m.def.num_layers - folded_away, "%d layers folded, %d expected",
                 m.def.num_layers - folded.def.num_layers, folded_away);
    int fused = 0;
    for (int i = 0; i < folded.net.num_layers; i++) fused += folded.net.layers[i].fused_relu;
    if (folded_away) cr_expect(fused > 0, "no convolution carries its ReLU after folding");

    size_t n = (size_t)B * m.def.input.c * m.def.input.h * m.def.input.w;
    float *x = rm_net_input(&plain), *y = folded.input;
    for (size_t i = 0; i < n; i++) x[i] = y[i] = (float)rm_rng_uniform(&rng);
    cr_assert_eq(rm_net_forward(&plain), 0, "%s", rm_error_message());
    cr_assert_eq(rm_infer_net_forward(&folded, B), 0, "%s", rm_error_message());
    const float *a = rm_net_logits(&plain), *b = folded.logits;
    double top = 0, diff = 0;
    for (int i = 0; i < B * m.def.classes; i++) {
        top = fmax(top, fabs(a[i]));
        diff = fmax(diff, fabs((double)a[i] - b[i]));
    }
    cr_assert(top > 0);
    cr_expect(diff <= 1e-5 * top, "%s: folded logits differ by %g of the largest (%g)", net_name, diff / top, top);
    rm_infer_net_destroy(&folded);
    rm_net_destroy(&plain);
    rm_model_free(&m);
}

/* 14 batchnorms, every one after a convolution nothing else reads */
Test(infer_net, mini_xception_folded_gives_the_same_logits) { folded_equals_unfolded("fer-mini-xception", 14, 4); }

/* no batchnorm: the same network */
Test(infer_net, network_without_batchnorm_is_unchanged) { folded_equals_unfolded("fer-small", 0, 4); }

/* more images than a slice, the last slice partial: every image's logits
 * are its own (a slicing error would shift or zero rows) */
Test(infer_net, batches_larger_than_a_slice_give_every_image_its_logits)
{
    folded_equals_unfolded("fer-mini-xception", 14, 2 * RM_INFER_SLICE + 13);
}
