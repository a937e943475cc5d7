/* Max, average and global average pooling on oneDNN against the
 * double-precision reference: non-overlapping and overlapping windows
 * (shared winners accumulate), padding, odd sizes, batch 1, applied to the
 * net input (layer 0, plain nchw) and after a conv (blocked layout).
 * Tolerances: max pooling selects and routes values, so forward and
 * backward are exact; the backward's upstream gradient is quantized to
 * multiples of 1/256 so that float sums over overlapping windows are exact
 * too. Average pooling: 1e-6 of the largest magnitude (float sums). The
 * reference's argmax comes from the same float inputs (random: no ties). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "layer_harness.h"
#include "core/error.h"
#include "oracle/reference.h"

enum { TEXT_CAP = 1024 };

typedef struct {
    rm_layer_type type;
    int batch, c, h, w;      /* net input */
    int size, stride, pad;   /* ignored by globalavgpool */
    const char *prefix;      /* layers before the probe ("" = probe is layer 0) */
    int pads[4];             /* top, left, bottom, right when any is set (else pad on every side) */
    int exclude;             /* avgpool: count_pad = 0 */
} pool_case;

static rm_ref_conv_geom geom(const pool_case *p)
{
    int any = p->pads[0] | p->pads[1] | p->pads[2] | p->pads[3];
    return any ? (rm_ref_conv_geom){p->stride, 1, {p->pads[0], p->pads[1], p->pads[2], p->pads[3]}}
               : rm_ref_conv_sym(p->stride, p->pad);
}

static const char *const CONV16 = "[conv]\nfilters = 16\nsize = 3\npad = 1\n";
static const char *const CONV17_RELU = "[conv]\nfilters = 17\nsize = 3\npad = 1\nactivation = relu\n";

static void net_text(char *text, const pool_case *p)
{
    char opts[128] = "";
    rm_ref_conv_geom g = geom(p);
    if (p->type != RM_LAYER_GLOBALAVGPOOL)
        snprintf(opts, sizeof opts, "size = %d\nstride = %d\npad = %d, %d, %d, %d\n%s", p->size, p->stride, g.pads[0],
                 g.pads[1], g.pads[2], g.pads[3], p->exclude ? "count_pad = 0\n" : "");
    snprintf(text, TEXT_CAP, "[net]\ninput = %dx%dx%d\nclasses = 3\n%s[%s]\nname = probe\n%s[dense]\nunits = 3\n",
             p->c, p->h, p->w, p->prefix, rm_layer_type_names[p->type], opts);
}

/* Reruns the layer's backward with the harness's upstream gradient rounded
 * to multiples of 1/256 (exact float sums of a few terms). */
static void backward_quantized(lh_case *t)
{
    lh_backward(t, 7);
    for (int64_t i = 0; i < t->out_count; i++) {
        t->dy[i] = roundf(t->dy[i] * 256.0f) / 256.0f;
        t->dyd[i] = t->dy[i];
    }
    cr_assert_eq(rm_memory_write(&t->net.dnn, t->layer->diff_dst, t->dy, dnnl_nchw), 0, "%s", rm_error_message());
    cr_assert_eq(t->layer->ops->backward(t->layer, &t->net), 0, "%s", rm_error_message());
    cr_assert_eq(RM_DNNL(dnnl_stream_wait(t->net.dnn.stream)), 0);
}

static void check_max(lh_case *t, const pool_case *p)
{
    const rm_layer_def *d = t->layer->def;
    double *want = malloc(sizeof *want * (size_t)t->out_count), *got = lh_output(t);
    int64_t *argmax = malloc(sizeof *argmax * (size_t)t->out_count);
    rm_ref_maxpool_geom_forward(want, argmax, t->xd, p->batch, d->in.c, d->in.h, d->in.w, p->size, geom(p));
    lh_assert_close(got, want, t->out_count, 0, 0, "maxpool forward (exact)");
    backward_quantized(t);
    double *dx = calloc((size_t)t->in_count, sizeof *dx), *got_dx = lh_input_grad(t);
    rm_ref_maxpool_backward(dx, t->dyd, argmax, p->batch, d->out.c, d->out.h, d->out.w);
    lh_assert_close(got_dx, dx, t->in_count, 0, 0, "maxpool backward (exact)");
    free(want);
    free(got);
    free(argmax);
    free(dx);
    free(got_dx);
}

static void check_avg(lh_case *t, const pool_case *p)
{
    const rm_layer_def *d = t->layer->def;
    int N = p->batch, C = d->in.c, H = d->in.h, W = d->in.w, global = p->type == RM_LAYER_GLOBALAVGPOOL;
    double *want = malloc(sizeof *want * (size_t)t->out_count), *got = lh_output(t);
    if (global) rm_ref_global_avgpool_forward(want, t->xd, N, C, H, W);
    else rm_ref_avgpool_geom_forward(want, t->xd, N, C, H, W, p->size, geom(p), !p->exclude);
    lh_assert_close(got, want, t->out_count, 1e-6, 0, "avgpool forward");
    lh_backward(t, 7);
    double *dx = calloc((size_t)t->in_count, sizeof *dx), *got_dx = lh_input_grad(t);
    if (global) rm_ref_global_avgpool_backward(dx, t->dyd, N, C, H, W);
    else rm_ref_avgpool_geom_backward(dx, t->dyd, N, C, H, W, p->size, geom(p), !p->exclude);
    lh_assert_close(got_dx, dx, t->in_count, 1e-6, 0, "avgpool backward");
    free(want);
    free(got);
    free(dx);
    free(got_dx);
}

static void check_pool(const pool_case *p)
{
    char text[TEXT_CAP];
    net_text(text, p);
    lh_case t;
    lh_setup(&t, text, "probe", p->batch, 42);
    lh_forward(&t);
    if (p->type == RM_LAYER_MAXPOOL) check_max(&t, p);
    else check_avg(&t, p);
    lh_teardown(&t);
}

static void max_pool(int batch, int c, int h, int w, int size, int stride, int pad, const char *prefix)
{
    check_pool(&(pool_case){RM_LAYER_MAXPOOL, batch, c, h, w, size, stride, pad, prefix, {0}, 0});
}

static void avg_pool(int batch, int c, int h, int w, int size, int stride, int pad, const char *prefix)
{
    check_pool(&(pool_case){RM_LAYER_AVGPOOL, batch, c, h, w, size, stride, pad, prefix, {0}, 0});
}

static void global_avg(int batch, int c, int h, int w, const char *prefix)
{
    check_pool(&(pool_case){RM_LAYER_GLOBALAVGPOOL, batch, c, h, w, 0, 0, 0, prefix, {0}, 0});
}

/* ---- max pooling: (batch, input c, h, w, size, stride, pad, layers before) */

Test(layer_pool, max_2x2_stride2_after_conv) { max_pool(2, 3, 8, 10, 2, 2, 0, CONV16); }
Test(layer_pool, max_2x2_odd_sizes_after_conv) { max_pool(2, 2, 7, 9, 2, 2, 0, CONV17_RELU); }
Test(layer_pool, max_2x2_input_layer) { max_pool(2, 3, 8, 6, 2, 2, 0, ""); }
Test(layer_pool, max_overlapping_3x3_stride2_after_conv) { max_pool(2, 3, 9, 11, 3, 2, 0, CONV16); }
Test(layer_pool, max_overlapping_3x3_stride2_input_layer) { max_pool(2, 2, 9, 7, 3, 2, 0, ""); }
Test(layer_pool, max_overlapping_3x3_stride1_after_conv) { max_pool(2, 3, 7, 8, 3, 1, 0, CONV16); }
Test(layer_pool, max_overlapping_3x3_stride1_input_layer) { max_pool(1, 1, 6, 7, 3, 1, 0, ""); }
Test(layer_pool, max_3x3_stride2_pad1_after_conv) { max_pool(2, 3, 9, 8, 3, 2, 1, CONV17_RELU); }
Test(layer_pool, max_2x2_pad1_input_layer) { max_pool(2, 2, 5, 7, 2, 2, 1, ""); }
Test(layer_pool, max_3x3_stride1_pad1_batch1) { max_pool(1, 3, 5, 5, 3, 1, 1, CONV16); }

/* ---- average pooling (count_include_pad) -------------------------------- */

Test(layer_pool, avg_2x2_stride2_after_conv) { avg_pool(2, 3, 8, 10, 2, 2, 0, CONV16); }
Test(layer_pool, avg_2x2_input_layer_odd) { avg_pool(2, 3, 7, 5, 2, 2, 0, ""); }
Test(layer_pool, avg_3x3_stride2_pad1_after_conv) { avg_pool(2, 3, 9, 8, 3, 2, 1, CONV17_RELU); }
Test(layer_pool, avg_3x3_stride2_pad1_input_layer) { avg_pool(2, 2, 7, 9, 3, 2, 1, ""); }
Test(layer_pool, avg_3x3_stride1_pad1_batch1) { avg_pool(1, 3, 6, 5, 3, 1, 1, CONV16); }

/* ---- asymmetric pads (TensorFlow's 'SAME', ceil_mode) and averages over
 * the real cells (count_pad = 0): (type, batch, c, h, w, size, stride,
 * layers before, top, left, bottom, right, exclude) */

static void padded(rm_layer_type type, int batch, int c, int h, int w, int size, int stride, const char *prefix,
                   int top, int left, int bottom, int right, int exclude)
{
    check_pool(&(pool_case){type, batch, c, h, w, size, stride, 0, prefix, {top, left, bottom, right}, exclude});
}

/* 'SAME' 3x3 /2 on an even input: the odd pad at the bottom and right */
Test(layer_pool, max_3x3_stride2_pads_0011_after_conv)
{
    padded(RM_LAYER_MAXPOOL, 2, 3, 8, 10, 3, 2, CONV16, 0, 0, 1, 1, 0);
}
Test(layer_pool, max_3x3_stride2_pads_0011_input_layer)
{
    padded(RM_LAYER_MAXPOOL, 2, 2, 8, 6, 3, 2, "", 0, 0, 1, 1, 0);
}
/* every side different, the pad cells at the edges winning nothing */
Test(layer_pool, max_3x3_stride2_pads_1021_after_relu)
{
    padded(RM_LAYER_MAXPOOL, 2, 3, 9, 8, 3, 2, CONV17_RELU, 1, 0, 2, 1, 0);
}
Test(layer_pool, avg_3x3_stride2_pads_0011_counting_pads)
{
    padded(RM_LAYER_AVGPOOL, 2, 3, 8, 10, 3, 2, CONV16, 0, 0, 1, 1, 0);
}
Test(layer_pool, avg_3x3_stride2_pads_0011_real_cells)
{
    padded(RM_LAYER_AVGPOOL, 2, 3, 8, 10, 3, 2, CONV16, 0, 0, 1, 1, 1);
}
Test(layer_pool, avg_3x3_stride1_pad1_real_cells_input_layer)
{
    padded(RM_LAYER_AVGPOOL, 2, 2, 7, 5, 3, 1, "", 1, 1, 1, 1, 1);
}
Test(layer_pool, avg_2x2_stride2_ceil_like_pads_real_cells)
{
    padded(RM_LAYER_AVGPOOL, 1, 3, 7, 9, 2, 2, CONV17_RELU, 0, 0, 1, 1, 1);
}
Test(layer_pool, avg_3x3_stride2_pads_1021_real_cells)
{
    padded(RM_LAYER_AVGPOOL, 2, 3, 9, 8, 3, 2, CONV16, 1, 0, 2, 1, 1);
}

/* ---- global average pooling -------------------------------------------- */

Test(layer_pool, global_avg_after_conv) { global_avg(2, 3, 7, 9, CONV16); }
Test(layer_pool, global_avg_odd_channels_batch1) { global_avg(1, 3, 5, 6, CONV17_RELU); }
Test(layer_pool, global_avg_input_layer) { global_avg(2, 3, 6, 4, ""); }

/* ---- whole-net paths ---------------------------------------------------- */

/* Inference build (no workspace, no backward): the pooled values match. */
static void check_inference(const char *type_opts, int global)
{
    char text[TEXT_CAP];
    snprintf(text, sizeof text, "[net]\ninput = 2x9x7\nclasses = 3\n%s%s[dense]\nunits = 3\n", CONV16, type_opts);
    rm_netdef def;
    rm_net net;
    cr_assert_eq(rm_netdef_parse(&def, text, "test.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&net, &def, 2, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    rm_layer *conv = &net.layers[0], *pool = &net.layers[1];
    cr_assert_null(pool->diff_src);
    int64_t n_in = 2 * 16 * 9 * 7, n_out = 2LL * pool->def->out.c * pool->def->out.h * pool->def->out.w;
    float *in = rm_net_input(&net);
    for (int i = 0; i < 2 * 2 * 9 * 7; i++) in[i] = (float)sin(0.37 * i + 0.1);
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
    float *x = malloc(sizeof *x * (size_t)n_in), *y = malloc(sizeof *y * (size_t)n_out);
    cr_assert_eq(rm_memory_read(&net.dnn, conv->dst, x, dnnl_nchw), 0, "%s", rm_error_message());
    cr_assert_eq(rm_memory_read(&net.dnn, pool->dst, y, dnnl_nchw), 0, "%s", rm_error_message());
    double *xd = malloc(sizeof *xd * (size_t)n_in), *want = malloc(sizeof *want * (size_t)n_out);
    double *got = malloc(sizeof *got * (size_t)n_out);
    for (int64_t i = 0; i < n_in; i++) xd[i] = x[i];
    for (int64_t i = 0; i < n_out; i++) got[i] = y[i];
    const rm_layer_def *d = pool->def;
    if (global) rm_ref_global_avgpool_forward(want, xd, 2, 16, 9, 7);
    else
        rm_ref_maxpool_geom_forward(want, NULL, xd, 2, 16, 9, 7, d->size,
                                    (rm_ref_conv_geom){d->stride, 1, {d->pads[0], d->pads[1], d->pads[2], d->pads[3]}});
    lh_assert_close(got, want, n_out, global ? 1e-6 : 0, 0, "pooling inference forward");
    free(x);
    free(y);
    free(xd);
    free(want);
    free(got);
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}

Test(layer_pool, inference_max_3x3_stride2_pad1) { check_inference("[maxpool]\nsize = 3\nstride = 2\npad = 1\n", 0); }
Test(layer_pool, inference_max_3x3_stride2_pads_0110)
{
    check_inference("[maxpool]\nsize = 3\nstride = 2\npad = 0, 1, 1, 0\n", 0);
}
Test(layer_pool, inference_global_avg) { check_inference("[globalavgpool]\n", 1); }

/* Training without input gradients: a pooling layer 0 gets no backward
 * (nothing to compute), and the whole net still runs forward and backward. */
Test(layer_pool, input_layer_without_input_grad)
{
    rm_netdef def;
    rm_net net;
    cr_assert_eq(rm_netdef_parse(&def,
                                 "[net]\ninput = 2x8x8\nclasses = 3\n[maxpool]\nsize = 2\n[conv]\nfilters = 16\n"
                                 "size = 3\npad = 1\n[avgpool]\nsize = 2\n[dense]\nunits = 3\n",
                                 "test.cfg"),
                 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&net, &def, 3, RM_MODE_TRAIN, 0), 0, "%s", rm_error_message());
    cr_assert_null(net.layers[0].diff_src);
    cr_assert_not_null(net.layers[2].diff_src);
    float *in = rm_net_input(&net);
    for (int i = 0; i < 3 * 2 * 8 * 8; i++) in[i] = (float)cos(0.91 * i);
    int32_t labels[3] = {0, 2, 1};
    double loss = 0;
    cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_loss_backward(&net, labels, 3, &loss), 0, "%s", rm_error_message());
    cr_assert(isfinite(loss) && loss > 0, "loss %g", loss);
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}

/* A net whose last layer is the global average pool (logits [B,K,1,1] in a
 * blocked layout): the logits are the pooled conv output. */
Test(layer_pool, global_avg_as_last_layer)
{
    lh_case t;
    lh_setup(&t, "[net]\ninput = 2x6x5\nclasses = 3\n[conv]\nfilters = 3\nsize = 3\npad = 1\n"
                 "[globalavgpool]\nname = probe\n", "probe", 2, 11);
    lh_forward(&t);
    double *want = malloc(sizeof *want * (size_t)t.out_count);
    rm_ref_global_avgpool_forward(want, t.xd, 2, 3, 6, 5);
    cr_assert_eq(rm_net_forward(&t.net), 0, "%s", rm_error_message());
    const float *logits = rm_net_logits(&t.net);
    double got[6];
    for (int i = 0; i < 6; i++) got[i] = logits[i];
    lh_assert_close(got, want, 6, 1e-6, 0, "logits = global average");
    lh_backward(&t, 3);
    double *dx = calloc((size_t)t.in_count, sizeof *dx), *got_dx = lh_input_grad(&t);
    rm_ref_global_avgpool_backward(dx, t.dyd, 2, 3, 6, 5);
    lh_assert_close(got_dx, dx, t.in_count, 1e-6, 0, "global average backward");
    int32_t labels[2] = {1, 2};
    double loss;
    cr_assert_eq(rm_net_loss_backward(&t.net, labels, 2, &loss), 0, "%s", rm_error_message());
    free(want);
    free(dx);
    free(got_dx);
    lh_teardown(&t);
}
