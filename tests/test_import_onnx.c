/* relmask import onnx: PyTorch networks exported by torch.onnx.export
 * (tests/fixtures/make_onnx.py, opsets 9, 13 and 17) become relmask models
 * whose logits, through `relmask predict` on the same images, equal
 * PyTorch's float64 logits (golden.h5) within 1e-4 of the largest; the
 * exporter's shape arithmetic folds; constant input scaling becomes the
 * normalization; graphs (a residual Add, a depthwise-separable block,
 * concatenated branches, a grouped conv) become `from =` layers with the
 * same logits; unsupported operators, other opsets and files that are not
 * ONNX at all are refused naming the node or what was expected. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "nn/model_file.h"
#include "test_util.h"

static char *dir;
static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(import_onnx, .init = setup, .fini = teardown, .timeout = 120);

enum { N = 4, K = 3, SIDE = 16 };

static const char *onnx_fixture(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/onnx/%s", getenv("RELMASK_FIXTURES"), name);
    return path;
}

static void read_golden(const char *name, void *out, hid_t type)
{
    hid_t f = H5Fopen(onnx_fixture("golden.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open golden.h5");
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert(d >= 0, "golden.h5 has no %s", name);
    cr_assert(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
    H5Fclose(f);
}

/* The golden images as a 3-class dataset (labels 0, 1, 2, 0), all in train. */
static const char *golden_dataset(void)
{
    uint8_t images[N * SIDE * SIDE];
    read_golden("images", images, H5T_NATIVE_UINT8);
    size_t shape[3] = {N, SIDE, SIDE}, lshape[1] = {N};
    int64_t labels[N] = {0, 1, 2, 0};
    cr_assert_eq(rm_npy_write(tu_path(dir, "x.npy"), "|u1", 3, shape, images), 0);
    cr_assert_eq(rm_npy_write(tu_path(dir, "y.npy"), "<i8", 1, lshape, labels), 0);
    char *out;
    char x[4096];
    snprintf(x, sizeof x, "%s", tu_path(dir, "x.npy"));
    int rc = tu_run_cli(&out, "ingest npy %s --labels %s --classes a,b,c --val 0 --test 0 -q --force -o %s", x,
                        tu_path(dir, "y.npy"), tu_path(dir, "d.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    return tu_path(dir, "d.h5");
}

/* predict's logits [N,K] of an imported model on the golden images */
static void predicted_logits(const char *model, float *logits)
{
    char data[4096], m[4096];
    snprintf(data, sizeof data, "%s", golden_dataset());
    snprintf(m, sizeof m, "%s", model);
    char *out;
    int rc = tu_run_cli(&out, "predict -q --force --model %s --data %s --out %s", m, data, tu_path(dir, "p.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    hid_t f = H5Fopen(tu_path(dir, "p.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    hid_t d = H5Dopen2(f, "logits", H5P_DEFAULT);
    cr_assert(d >= 0, "predictions have no /logits");
    cr_assert(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, logits) >= 0);
    H5Dclose(d);
    H5Fclose(f);
}

static void assert_logits(const float *got, const char *golden, const char *what)
{
    double want[N * K], scale = 0;
    read_golden(golden, want, H5T_NATIVE_DOUBLE);
    for (int i = 0; i < N * K; i++) scale = fmax(scale, fabs(want[i]));
    cr_assert_gt(scale, 0.1, "degenerate golden logits");
    for (int i = 0; i < N * K; i++)
        cr_assert(fabs(got[i] - want[i]) <= 1e-4 * scale, "%s: logit [%d][%d] = %.7g, PyTorch %.7g (tolerance %.3g)",
                  what, i / K, i % K, got[i], want[i], 1e-4 * scale);
}

static int import(char **out, const char *fixture, const char *extra)
{
    char in[4096];
    snprintf(in, sizeof in, "%s", onnx_fixture(fixture));
    return tu_run_cli(out, "import onnx %s -q --out %s --classes a,b,c %s", in, tu_path(dir, "m.h5"), extra);
}

Test(import_onnx, torch_exports_of_opsets_9_13_17_give_pytorchs_logits)
{
    static const char *const files[] = {"seq_opset9.onnx", "seq_opset13.onnx", "seq_opset17.onnx"};
    static const char *const layers = "conv relu maxpool conv relu batchnorm avgpool flatten dense relu dense";
    for (int f = 0; f < 3; f++) {
        char *out;
        int rc = import(&out, files[f], "--force");
        cr_assert_eq(rc, 0, "%s: %s", files[f], out);
        free(out);
        rm_model m = {0};
        cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0, "%s", files[f]);
        char got[256] = "";
        for (int i = 0; i < m.def.num_layers; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "",
                     rm_layer_type_names[m.def.layers[i].type]);
        cr_assert_str_eq(got, layers, "%s: layers", files[f]);
        cr_assert(m.num_classes == K && !strcmp(m.class_names[2], "c"));
        cr_assert(m.norm_mean[0] == 0.0f && m.norm_std[0] == 1.0f, "default normalization x/255");
        rm_model_free(&m);
        float logits[N * K];
        predicted_logits(tu_path(dir, "m.h5"), logits);
        assert_logits(logits, "logits_seq", files[f]);
    }
}

static void layer_types(char *got, size_t size, const rm_model *m)
{
    got[0] = 0;
    for (int i = 0; i < m->def.num_layers; i++) {
        const rm_layer_def *l = &m->def.layers[i];
        snprintf(got + strlen(got), size - strlen(got), "%s%s", i ? " " : "", rm_layer_type_names[l->type]);
        if (l->type == RM_LAYER_CONV && l->groups > 1)
            snprintf(got + strlen(got), size - strlen(got), "/%d", l->groups);
        if (l->type == RM_LAYER_RELU && l->slope > 0)
            snprintf(got + strlen(got), size - strlen(got), ":slope=%g", l->slope);
        if (l->type == RM_LAYER_RELU && l->max > 0) snprintf(got + strlen(got), size - strlen(got), ":max=%g", l->max);
        if (l->num_inputs > 1 || l->inputs[0] != i - 1) {
            snprintf(got + strlen(got), size - strlen(got), "(");
            for (int k = 0; k < l->num_inputs; k++)
                snprintf(got + strlen(got), size - strlen(got), "%s%s", k ? "," : "",
                         l->inputs[k] == RM_INPUT_NETWORK ? "input" : m->def.layers[l->inputs[k]].name);
            snprintf(got + strlen(got), size - strlen(got), ")");
        }
    }
}

/* Imports `fixture` with `extra` options and expects PyTorch's logits
 * `golden` on the golden images. */
static void imports_with_logits(const char *fixture, const char *extra, const char *golden)
{
    char *out;
    int rc = import(&out, fixture, extra);
    cr_assert_eq(rc, 0, "%s %s: %s", fixture, extra, out);
    free(out);
    float logits[N * K];
    predicted_logits(tu_path(dir, "m.h5"), logits);
    assert_logits(logits, golden, fixture);
}

/* Imports `fixture` (--force), expects its layers (layer_types) and
 * PyTorch's logits `golden` on the golden images. */
static void imports_as(const char *fixture, const char *layers, const char *golden)
{
    imports_with_logits(fixture, "--force", golden);
    rm_model m = {0};
    char got[512];
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0, "%s", fixture);
    layer_types(got, sizeof got, &m);
    cr_assert_str_eq(got, layers, "%s: layers", fixture);
    rm_model_free(&m);
}

/* A skip connection, a depthwise-separable block, concatenated branches and
 * a grouped convolution: the graph becomes layers with `from =`, and the
 * logits are PyTorch's. */
Test(import_onnx, graphs_become_from_layers_with_pytorchs_logits)
{
    char *out;
    int rc = import(&out, "residual_opset13.onnx", "");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m = {0};
    char got[512];
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
    layer_types(got, sizeof got, &m);
    cr_assert_str_eq(got, "conv relu conv add(relu1,conv2) flatten dense");
    rm_model_free(&m);
    float logits[N * K];
    predicted_logits(tu_path(dir, "m.h5"), logits);
    assert_logits(logits, "logits_residual", "residual_opset13.onnx");

    static const char *const files[] = {"graph_opset9.onnx", "graph_opset13.onnx", "graph_opset17.onnx"};
    for (int f = 0; f < 3; f++) {
        rc = import(&out, files[f], "--force");
        cr_assert_eq(rc, 0, "%s: %s", files[f], out);
        free(out);
        cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0, "%s", files[f]);
        layer_types(got, sizeof got, &m);
        cr_assert_str_eq(got,
                         "conv relu conv/8 relu conv add(relu1,conv3) relu conv maxpool(relu3) conv "
                         "concat(conv4,conv5) conv/2 relu globalavgpool flatten dense",
                         "%s: layers", files[f]);
        rm_model_free(&m);
        predicted_logits(tu_path(dir, "m.h5"), logits);
        assert_logits(logits, "logits_graph", files[f]);
    }
    /* info and net show the graph: kernels, groups and the edges */
    static const char *const shows[] = {"info", "net"};
    for (int s = 0; s < 2; s++) {
        rc = tu_run_cli(&out, "%s %s", shows[s], tu_path(dir, "m.h5"));
        cr_assert_eq(rc, 0, "%s", out);
        cr_assert(strstr(out, "conv 3x3 g8") && strstr(out, "conv 3x3 g2") && strstr(out, "<- conv4, conv5") &&
                      strstr(out, "<- relu1, conv3") && strstr(out, "globalavgpool"),
                  "%s m.h5:\n%s", shows[s], out);
        cr_assert(s == 1 || strstr(out, "trained: elsewhere, imported"), "%s", out);
        free(out);
    }
}

/* ReLU6 and Hardtanh(0, 0.5) are Clip(0, max) (attributes at opset 9,
 * constant inputs from 11), LeakyReLU(0.1) keeps its slope: [relu] with
 * max or slope, and PyTorch's logits (the 0.5 clip is reached). */
Test(import_onnx, clip_and_leaky_relu_become_relu_variants_with_pytorchs_logits)
{
    static const char *const files[] = {"acts_opset9.onnx", "acts_opset13.onnx", "acts_opset17.onnx"};
    for (int f = 0; f < 3; f++)
        imports_as(files[f], "conv relu:max=6 conv relu:slope=0.1 maxpool conv relu:max=0.5 globalavgpool flatten dense",
                   "logits_acts");
}

static void refused(int want_rc, const char *want, const char *fixture, const char *extra);

/* Per-channel Mul and Add after convolutions of 1 -> 4 and 4 -> 6 channels
 * fold into their weights and biases (each output channel's I/G*K*K
 * weights), and ReduceMean over H, W is global average pooling. */
Test(import_onnx, per_channel_scales_fold_into_convolutions_and_reduce_mean_pools)
{
    imports_as("scaled_opset13.onnx", "conv relu conv relu globalavgpool flatten dense", "logits_scaled");
}

/* Per-channel constants no convolution or dense layer can absorb (after a
 * residual sum; on the pooled features before the Linear) become [scale]
 * layers, a Sub then a Mul folding into one; the logits are PyTorch's. */
Test(import_onnx, constants_between_layers_become_scale_layers)
{
    imports_as("baked_opset13.onnx", "conv relu conv add(relu1,conv2) scale relu globalavgpool flatten scale dense",
               "logits_baked");
    char *out;
    int rc = tu_run_cli(&out, "net %s", tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "scale"), "%s", out);
    free(out);
}

/* Explicit asymmetric pads (0,0,1,1), a dilated convolution and auto_pad
 * SAME_UPPER at stride 2 (TensorFlow's geometry, in a graph written node by
 * node) become [conv] pad = t, l, b, r and dilation =, with PyTorch's logits. */
Test(import_onnx, dilation_and_asymmetric_pads_give_pytorchs_logits)
{
    imports_as("geometry_opset13.onnx", "conv relu conv relu conv relu globalavgpool flatten dense",
               "logits_geometry");
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
    const rm_layer_def *L = m.def.layers;
    cr_expect(L[0].stride == 2 && L[0].pads[0] == 0 && L[0].pads[1] == 0 && L[0].pads[2] == 1 && L[0].pads[3] == 1,
              "conv1: stride 2, pads 0,0,1,1");
    cr_expect(L[2].dilation == 2 && L[2].pad == 2, "conv2: dilation 2, pad 2");
    cr_expect(L[4].pads[0] == 0 && L[4].pads[2] == 1 && L[4].out.h == 4, "conv3: SAME_UPPER pads 0,0,1,1 -> 4x4");
    rm_model_free(&m);
}

/* nn.ZeroPad2d before a conv (a Pad node: into the conv's pads),
 * MaxPool2d(3, 2, ceil_mode=True) (16x16 -> 8x8: one more bottom/right
 * cell; opset 9's exporter writes pads 0,0,2,2 instead), AvgPool2d with
 * count_include_pad=False and padding 1 (count_pad = 0), and F.pad(0, 1,
 * 0, 1) after a ReLU before MaxPool2d(3, 2) (into the pool's pads): PyTorch's
 * logits at opsets 9 and 13. */
Test(import_onnx, pads_ceil_mode_and_exclude_padding_give_pytorchs_logits)
{
    static const char *const files[] = {"pads_opset9.onnx", "pads_opset13.onnx"};
    for (int f = 0; f < 2; f++) {
        imports_as(files[f], "conv relu maxpool avgpool conv relu maxpool flatten dense", "logits_pads");
        rm_model m = {0};
        cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
        const rm_layer_def *L = m.def.layers;
        cr_expect(L[0].pads[0] == 1 && L[0].pads[1] == 2 && L[0].pads[2] == 1 && L[0].pads[3] == 0,
                  "%s: the ZeroPad2d in conv1's pads 1,2,1,0", files[f]);
        cr_expect(L[2].pads[0] == 0 && L[2].pads[1] == 0 && L[2].pads[2] == (f ? 1 : 2) &&
                      L[2].out.h == 8 && L[2].out.w == 8,
                  "%s: ceil_mode as bottom/right pads -> 8x8", files[f]);
        cr_expect(L[3].pad == 1 && L[3].count_pad == 0 && L[3].out.h == 4, "%s: count_include_pad = 0", files[f]);
        cr_expect(L[6].pads[0] == 0 && L[6].pads[1] == 0 && L[6].pads[2] == 1 && L[6].pads[3] == 1 &&
                      L[6].out.h == 2,
                  "%s: F.pad in the max pool's pads 0,0,1,1", files[f]);
        rm_model_free(&m);
    }
    char *out;
    cr_assert_eq(tu_run_cli(&out, "info %s", tu_path(dir, "m.h5")), 0, "%s", out);
    cr_expect(strstr(out, "maxpool 3x3 /2 p0,0,1,1") && strstr(out, "avgpool 3x3 /2 excl-pad"),
              "the layer table shows the pads and the average over the real cells:\n%s", out);
    free(out);
}

/* --class-order permutes the outputs (here of a dense head) and names them:
 * the model's outputs are c, a, b; reordered to the data's a, b, c, logit k
 * is PyTorch's logit of output perm[k]. */
Test(import_onnx, class_order_permutes_the_outputs_to_the_datas_order)
{
    char *out;
    int rc = import(&out, "seq_opset13.onnx", "--classes c,a,b --class-order a,b,c");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_model m = {0};
    cr_assert_eq(rm_model_load(&m, tu_path(dir, "m.h5")), 0);
    cr_assert(!strcmp(m.class_names[0], "a") && !strcmp(m.class_names[1], "b") && !strcmp(m.class_names[2], "c"));
    rm_model_free(&m);
    float logits[N * K], want[N * K];
    predicted_logits(tu_path(dir, "m.h5"), logits);
    double golden[N * K];
    read_golden("logits_seq", golden, H5T_NATIVE_DOUBLE);
    static const int perm[K] = {1, 2, 0};
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) want[i * K + k] = (float)golden[i * K + perm[k]];
    double worst = 0, scale = 0;
    for (int i = 0; i < N * K; i++) worst = fmax(worst, fabs(logits[i] - want[i])), scale = fmax(scale, fabs(want[i]));
    cr_assert(worst <= 1e-4 * scale, "reordered logits differ by %g (largest %g)", worst, scale);
    cr_assert_eq(remove(tu_path(dir, "m.h5")), 0);
    refused(1, "--class-order class 'd' is none of the model's classes left", "seq_opset13.onnx",
            "--classes a,b,c --class-order c,a,d");
    rc = tu_run_cli(&out, "import onnx %s --class-order c,a,b --out %s", onnx_fixture("seq_opset13.onnx"),
                    tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "--class-order needs --classes"), "%s", out);
    free(out);
    refused(1, "--class-order names 2 classes but the model has 3", "seq_opset13.onnx", "--classes a,b,c --class-order c,a");
}

/* x.view(x.size(0), -1): Shape, Gather, Unsqueeze, Concat fold into a
 * flatten; --mean/--std give the normalization the model was trained with. */
Test(import_onnx, shape_subgraph_folds_and_mean_std_normalize)
{
    imports_with_logits("view_opset13.onnx", "--mean 0.5 --std 0.25", "logits_view");
    /* without them the images are scaled differently, and the logits differ */
    char *out;
    int rc = import(&out, "view_opset13.onnx", "--force");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    float logits[N * K];
    predicted_logits(tu_path(dir, "m.h5"), logits);
    double want[N * K], diff = 0;
    read_golden("logits_view", want, H5T_NATIVE_DOUBLE);
    for (int i = 0; i < N * K; i++) diff = fmax(diff, fabs(logits[i] - want[i]));
    cr_assert_gt(diff, 1e-3, "the normalization made no difference");
}

/* 180 more folded constants than view_opset13 between its Gather and its
 * Unsqueeze: the table of constants grows twice while folds hold pointers
 * into it (ASan reported the use after free before the table was reserved). */
Test(import_onnx, long_chains_of_folds_give_the_same_model)
{
    imports_with_logits("long_fold_chain.onnx", "--mean 0.5 --std 0.25", "logits_view");
}

/* The imported model is a relmask model: LRP explains it, also one with a
 * batchnorm that follows a ReLU (no convolution to fold it into: the engine
 * explains it as an affine layer, docs/relevance.md). */
Test(import_onnx, imported_model_is_explained_by_lrp)
{
    char *out;
    int rc = import(&out, "plain_opset13.onnx", "");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    char data[4096];
    snprintf(data, sizeof data, "%s", golden_dataset());
    rc = tu_run_cli(&out, "relevance -q --model %s --data %s --target pred --out %s", tu_path(dir, "m.h5"), data,
                    tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "info %s", tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "conservation"), "%s", out);
    free(out);
    rc = import(&out, "seq_opset13.onnx", "--force");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "relevance -q --force --model %s --data %s --target pred --out %s", tu_path(dir, "m.h5"),
                    data, tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "info %s", tu_path(dir, "r.h5"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "conservation"), "%s", out);
    free(out);
}

static void refused(int want_rc, const char *want, const char *fixture, const char *extra)
{
    char *out;
    int rc = import(&out, fixture, extra);
    cr_assert_eq(rc, want_rc, "%s %s: exit %d, expected %d:\n%s", fixture, extra, rc, want_rc, out);
    cr_assert(strstr(out, want), "%s %s: expected '%s' in:\n%s", fixture, extra, want, out);
    free(out);
    cr_assert(!tu_file_exists(tu_path(dir, "m.h5")), "a refused import wrote its output");
}

Test(import_onnx, refusals_name_the_node_or_what_was_expected)
{
    refused(1, "node 3 '/Mul' (Mul): Mul of two computed tensors", "gated_opset13.onnx", "");
    refused(1, "(Conv): its weight 'net.3.weight' holds NaN at index 55", "nan_opset13.onnx", "");
    refused(1, "ONNX opset 7; relmask imports opsets 9 to 17", "opset7.onnx", "");
    refused(1, "unnamed_output.onnx: graph output 0 has no name", "unnamed_output.onnx", "");
    refused(1, "no_operator.onnx: node 0 has no operator", "no_operator.onnx", "");
    refused(1, "node 14 '/Unsqueeze' (Unsqueeze): input 0 is empty, expected a constant", "empty_input.onnx", "");
    refused(1, "node 11 '/Gather' (Gather) has 1 input, expected 2", "gather_one_input.onnx", "");
    refused(1, "node 14 '/Unsqueeze' (Unsqueeze): axis 0 is out of range, repeated or not of size 1 (2 dimensions)",
            "repeated_axes.onnx", "");
    refused(1, "node 22 '/Softmax' (Softmax): has no output", "softmax_no_output.onnx", "");
    refused(1, "(Clip): clips to [-1, 0.5]; relmask's [relu] clips to [0, max]", "clipneg_opset13.onnx", "");
    refused(1, "--classes names 2 classes but the model has 3 outputs", "seq_opset13.onnx", "--classes x,y");
    refused(1, "--mean/--std give 2/0 values but the model has 1 input channel", "seq_opset13.onnx", "--mean 0.1,0.2");
    refused(2, "--std '0': every value must be > 0", "seq_opset13.onnx", "--std 0");
    refused(2, "--mean 'a': expected numbers", "seq_opset13.onnx", "--mean a");
    refused(1, "the model was exported for 16x16 inputs and --size runs it at 20x20", "seq_opset13.onnx", "--size 20");
    tu_write_text(tu_path(dir, "junk.onnx"), "this is not a protobuf at all \x01\x02");
    char *out;
    int rc = tu_run_cli(&out, "import onnx %s --out %s", tu_path(dir, "junk.onnx"), tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "junk.onnx: not an ONNX model"), "%s", out);
    free(out);
    rc = tu_run_cli(&out, "import onnx %s", onnx_fixture("seq_opset13.onnx"));
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "--out FILE.h5 is required"), "%s", out);
    free(out);
    rc = tu_run_cli(&out, "import keras %s --out %s", onnx_fixture("seq_opset13.onnx"), tu_path(dir, "m.h5"));
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "unknown format 'keras': expected onnx or tfjs"), "%s", out);
    free(out);
    /* an existing output stays without --force */
    rc = import(&out, "seq_opset13.onnx", "");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = import(&out, "seq_opset9.onnx", "");
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "--force"), "%s", out);
    free(out);
}
