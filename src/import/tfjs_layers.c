/* relmask import tfjs, layers models: what TF.js's model.save() and
 * `tensorflowjs_converter --output_format tfjs_layers_model` write, a
 * model.json with "format": "layers-model" whose modelTopology is a Keras
 * model config (Sequential, or a functional Model of layers wired by
 * inbound_nodes, the Keras 2 lists [name, node, tensor, kwargs] or the
 * Keras 3 {"args": [{"config": {"keras_history": [...]}}]}), and the same
 * weights manifest as a graph model (tfjs.h), its weights named
 * "<layer>/kernel", "<layer>/bias", "<layer>/gamma", ...
 *
 * Each Keras layer becomes relmask layers through the builder (builder.h):
 * NHWC becomes NCHW as in the graph reader (HWIO and HWCM filters to OIHW,
 * TensorFlow's 'same' pads), an activation inside Conv2D or Dense becomes a
 * [relu] after it, BatchNormalization a [batchnorm], a final softmax is
 * dropped (the model outputs logits), Dropout a [dropout] layer (SpatialDropout2D nothing). A Flatten of an
 * HxWxC map orders its features h, w, c where relmask's flatten orders
 * them c, h, w: the Dense layer that reads them gets its kernel's rows
 * permuted to match, and anything else reading them is refused. Errors
 * name the file and the layer (index in the config, name, class). */
#include "import/import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "import/builder.h"
#include "import/tfjs.h"

typedef struct {
    const char *name, *cls;
    const rm_json *config;
    const char *inputs[RM_MAX_INPUTS];   /* the layers it reads (names in the tree) */
    int ninputs;
    int done;
    /* its output is a flatten of an [h,w,c] map in NHWC order (h w > 1) */
    int64_t perm_c, perm_h, perm_w;
} klayer;

typedef struct {
    imp_builder b;
    const rm_json *doc;
    const char *kind;      /* Sequential, Model, Functional */
    tfjs_weights wts;
    klayer *layers;
    int nlayers;
    const char *output;    /* the output layer's name */
} importer;

static const char *const supported_classes =
    "InputLayer, Conv2D, DepthwiseConv2D, SeparableConv2D, BatchNormalization, Activation (linear, relu, relu6, "
    "leaky_relu; softmax as the output), ReLU, LeakyReLU, Softmax (as the output), MaxPooling2D, "
    "AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D (into the convolution or pooling "
    "reading it), Flatten, Reshape (a no-op or a flatten), Dense, Dropout, SpatialDropout2D, Add, Concatenate, "
    "Rescaling";

/* The synthetic input of a Sequential model whose first layer carries the
 * input shape (no InputLayer); no Keras name has parentheses. */
static const char *const seq_input = "(input)";

/* --- config values ---------------------------------------------------------------- */

static const rm_json *cfg(const klayer *L, const char *key)
{
    const rm_json *v = rm_json_get(L->config, key);
    return v && v->type != RM_JSON_NULL ? v : NULL;
}

static int cfg_number(importer *im, const klayer *L, const char *key, double def, double *out)
{
    const rm_json *v = cfg(L, key);
    if (!v) return *out = def, 0;
    if (v->type != RM_JSON_NUMBER) return imp_fail(&im->b, "its %s is not a number", key);
    *out = v->number;
    return 0;
}

static int cfg_bool(importer *im, const klayer *L, const char *key, int def, int *out)
{
    const rm_json *v = cfg(L, key);
    if (!v) return *out = def, 0;
    if (v->type != RM_JSON_BOOL) return imp_fail(&im->b, "its %s is not true or false", key);
    *out = v->boolean;
    return 0;
}

static const char *cfg_string(const klayer *L, const char *key)
{
    const rm_json *v = cfg(L, key);
    return v && v->type == RM_JSON_STRING ? v->string : NULL;
}

/* kernel_size, strides, pool_size, dilation_rate: n or [n, n] (relmask's
 * windows are square, one stride and dilation for both axes), 1..64. */
static int cfg_square(importer *im, const klayer *L, const char *key, int def, int *out)
{
    const rm_json *v = cfg(L, key);
    double n[2] = {def, def};
    if (v && v->type == RM_JSON_NUMBER) n[0] = n[1] = v->number;
    else if (v && v->type == RM_JSON_ARRAY && v->count == 2 && v->items[0].type == RM_JSON_NUMBER &&
             v->items[1].type == RM_JSON_NUMBER)
        n[0] = v->items[0].number, n[1] = v->items[1].number;
    else if (v) return imp_fail(&im->b, "its %s is not a number or a pair of numbers", key);
    if (n[0] != n[1])
        return imp_fail(&im->b, "its %s is [%g, %g]; relmask takes one value for height and width", key, n[0], n[1]);
    if (!(n[0] >= 1 && n[0] <= 64) || n[0] != floor(n[0]))
        return imp_fail(&im->b, "its %s %g is outside 1..64", key, n[0]);
    *out = (int)n[0];
    return 0;
}

static int channels_last(importer *im, const klayer *L)
{
    const char *f = cfg_string(L, "data_format");
    if (f && strcmp(f, "channels_last"))
        return imp_fail(&im->b, "data_format %s; relmask imports channels_last (NHWC) models", f);
    return 0;
}

/* 'same' or 'valid' (the default) */
static int padding_same(importer *im, const klayer *L, int *same)
{
    const char *p = cfg_string(L, "padding");
    if (p && strcmp(p, "same") && strcmp(p, "valid"))
        return imp_fail(&im->b, "padding '%s' is not supported (same or valid)", p);
    *same = p && !strcmp(p, "same");
    return 0;
}

/* --- weights ----------------------------------------------------------------------- */

static void shape_text(char *out, size_t size, int ndims, const int64_t *dims)
{
    size_t n = 0;
    n += (size_t)snprintf(out, size, "[");
    for (int d = 0; d < ndims && n < size; d++)
        n += dims[d] < 0 ? (size_t)snprintf(out + n, size - n, "%sn", d ? "," : "")
                         : (size_t)snprintf(out + n, size - n, "%s%lld", d ? "," : "", (long long)dims[d]);
    if (n < size) snprintf(out + n, size - n, "]");
}

/* The weight "<layer>/<what>" ("conv2d_1/kernel"), also when the writer
 * put a scope before it or ":0" after it; its shape is `want` (-1: any). */
static const tfjs_const *weight(importer *im, const klayer *L, const char *what, int ndims, const int64_t *want)
{
    char full[512];
    snprintf(full, sizeof full, "%s/%s", L->name, what);
    size_t len = strlen(full);
    const tfjs_const *w = tfjs_find_const(&im->wts, full);
    for (int i = 0; !w && i < im->wts.nconsts; i++) {
        const char *n = im->wts.consts[i].name;
        size_t nl = strlen(n);
        if (nl >= 2 && !strcmp(n + nl - 2, ":0")) nl -= 2;
        if (nl >= len && !strncmp(n + nl - len, full, len) && (nl == len || n[nl - len - 1] == '/'))
            w = &im->wts.consts[i];
    }
    if (!w) {
        imp_fail(&im->b, "its weight '%s' is not in the weights manifest", full);
        return NULL;
    }
    int ok = !w->is_int && w->ndims == ndims;
    for (int d = 0; ok && d < ndims; d++) ok = want[d] < 0 || w->dims[d] == want[d];
    if (!ok) {
        char got[128], exp[128];
        shape_text(got, sizeof got, w->ndims, w->dims);
        shape_text(exp, sizeof exp, ndims, want);
        imp_fail(&im->b, "its weight '%s' is %s%s; expected %s", w->name, w->is_int ? "int32 " : "", got, exp);
        return NULL;
    }
    return w;
}

static int bias_of(importer *im, const klayer *L, int64_t n, float **bias)
{
    int use = 1;
    *bias = NULL;
    RM_TRY(cfg_bool(im, L, "use_bias", 1, &use));
    if (!use) return 0;
    const tfjs_const *b = weight(im, L, "bias", 1, &n);
    if (!b) return -1;
    return (*bias = imp_copy_floats(b->f, n, 1)) ? 0 : -1;
}

/* --- activations --------------------------------------------------------------------- */

static int activation(importer *im, const klayer *L, const char *act)
{
    if (!act || !strcmp(act, "linear")) return 0;
    if (!strcmp(act, "relu")) return imp_relu(&im->b, 0, INFINITY);
    if (!strcmp(act, "relu6")) return imp_relu(&im->b, 0, 6);
    if (!strcmp(act, "leaky_relu")) return imp_relu(&im->b, 0.2, INFINITY);
    if (!strcmp(act, "softmax")) {
        if (!strcmp(L->name, im->output)) return 0;
        return imp_fail(&im->b, "a softmax that is not the model's output; only a final one is dropped (relmask "
                                "models output logits)");
    }
    return imp_fail(&im->b, "activation '%s' is not supported (linear, relu, relu6, leaky_relu, and softmax as the "
                            "output)",
                    act);
}

/* --- layers ---------------------------------------------------------------------------- */

/* Conv2D (groups too), DepthwiseConv2D, SeparableConv2D: [conv] (two for
 * a separable one: depthwise, then pointwise 1x1), then the activation. */
static int map_conv(importer *im, const klayer *L, int depthwise, int separable)
{
    RM_TRY(imp_need_spatial(&im->b));
    RM_TRY(channels_last(im, L));
    int k = 1, stride = 1, dilation = 1, same = 0;
    double groups_d = 1, mult = 1, filters_d = 0;
    RM_TRY(cfg_square(im, L, "kernel_size", 0, &k));
    RM_TRY(cfg_square(im, L, "strides", 1, &stride));
    RM_TRY(cfg_square(im, L, "dilation_rate", 1, &dilation));
    RM_TRY(padding_same(im, L, &same));
    if (depthwise || separable) RM_TRY(cfg_number(im, L, "depth_multiplier", 1, &mult));
    else RM_TRY(cfg_number(im, L, "groups", 1, &groups_d));
    if (!depthwise) RM_TRY(cfg_number(im, L, "filters", 0, &filters_d));
    int64_t C = im->b.c, M = (int64_t)mult, G = (int64_t)groups_d, F = (int64_t)filters_d;
    if (!(mult >= 1 && mult <= 1024) || mult != M) return imp_fail(&im->b, "depth_multiplier %g", mult);
    if (!(groups_d >= 1) || groups_d != G || C % G) return imp_fail(&im->b, "groups %g does not divide %lld channels",
                                                                   groups_d, (long long)C);
    if (!depthwise && (!(filters_d >= 1 && filters_d <= 65536) || filters_d != F || F % G))
        return imp_fail(&im->b, "filters %g (1 to 65536, a multiple of groups)", filters_d);
    imp_window win;
    RM_TRY(tfjs_window(&im->b, k, stride, dilation, same, &win));
    imp_take_pad(&im->b, &win);   /* a ZeroPadding2D before a convolution is its zero padding */
    float *w = NULL, *bias = NULL;
    if (depthwise || separable) {
        int64_t shape[4] = {k, k, C, M};
        const tfjs_const *dk = weight(im, L, "depthwise_kernel", 4, shape);
        if (!dk || !(w = tfjs_filter_oihw(dk, 1))) return -1;
        if (depthwise && bias_of(im, L, C * M, &bias)) return free(w), -1;
        RM_TRY(imp_conv(&im->b, (int)(C * M), &win, (int)C, w, bias));
        if (!separable) return 0;
        int64_t pshape[4] = {1, 1, C * M, F};
        const tfjs_const *pk = weight(im, L, "pointwise_kernel", 4, pshape);
        if (!pk || !(w = tfjs_filter_oihw(pk, 0))) return -1;
        if (bias_of(im, L, F, &bias)) return free(w), -1;
        imp_window one = imp_window_sym(1, 1, 0);
        return imp_conv(&im->b, (int)F, &one, 1, w, bias);
    }
    int64_t shape[4] = {k, k, C / G, F};
    const tfjs_const *kernel = weight(im, L, "kernel", 4, shape);
    if (!kernel || !(w = tfjs_filter_oihw(kernel, 0))) return -1;
    if (bias_of(im, L, F, &bias)) return free(w), -1;
    return imp_conv(&im->b, (int)F, &win, (int)G, w, bias);
}

/* [batchnorm] over the channels (axis -1), or over the features of a flat
 * tensor; inference uses the moving statistics. */
static int map_batchnorm(importer *im, const klayer *L)
{
    const rm_json *axis = cfg(L, "axis");
    if (axis && axis->type == RM_JSON_ARRAY && axis->count == 1) axis = &axis->items[0];
    double a = axis && axis->type == RM_JSON_NUMBER ? axis->number : -1;
    if (!(a == -1 || (im->b.flat ? a == 1 : a == 3)))
        return imp_fail(&im->b, "normalizes over axis %g; relmask's [batchnorm] normalizes the channels (-1)", a);
    double eps = 1e-3, momentum = 0.99;
    int center = 1, scale = 1;
    RM_TRY(cfg_number(im, L, "epsilon", 1e-3, &eps));
    RM_TRY(cfg_number(im, L, "momentum", 0.99, &momentum));
    RM_TRY(cfg_bool(im, L, "center", 1, &center));
    RM_TRY(cfg_bool(im, L, "scale", 1, &scale));
    if (!(eps > 0) || !(momentum >= 0 && momentum <= 1))
        return imp_fail(&im->b, "epsilon %g, momentum %g (expected epsilon > 0, momentum in [0, 1])", eps, momentum);
    int64_t C = im->b.c;
    const tfjs_const *g = scale ? weight(im, L, "gamma", 1, &C) : NULL;
    if (scale && !g) return -1;
    const tfjs_const *bt = center ? weight(im, L, "beta", 1, &C) : NULL;
    if (center && !bt) return -1;
    const tfjs_const *m = weight(im, L, "moving_mean", 1, &C);
    const tfjs_const *v = m ? weight(im, L, "moving_variance", 1, &C) : NULL;
    if (!v) return -1;
    imp_layer *l = imp_add_layer(&im->b, RM_LAYER_BATCHNORM);
    if (!l) return -1;
    l->eps = eps;
    l->momentum = 1.0 - momentum;   /* Keras keeps that much of the old statistics */
    if (!(l->gamma = rm_malloc(sizeof(float) * (size_t)C, "imported batchnorm")) ||
        !(l->beta = rm_calloc((size_t)C, sizeof(float), "imported batchnorm")) ||
        !(l->mean = imp_copy_floats(m->f, C, 1)) || !(l->var = imp_copy_floats(v->f, C, 1)))
        return -1;
    for (int64_t c = 0; c < C; c++) {
        l->gamma[c] = g ? g->f[c] : 1.f;
        if (bt) l->beta[c] = bt->f[c];
        if (!(l->var[c] >= 0))
            return imp_fail(&im->b, "moving_variance[%lld] = %g is negative", (long long)c, l->var[c]);
    }
    return 0;
}

/* ZeroPadding2D: padding p, [h, w] or [[top, bottom], [left, right]],
 * folded into the convolution or pooling that reads it. */
static int map_zero_padding(importer *im, const klayer *L, int index)
{
    RM_TRY(channels_last(im, L));
    const rm_json *v = cfg(L, "padding");
    double n[4] = {1, 1, 1, 1};   /* top, bottom, left, right; Keras's default is 1 */
    int ok = !v;
    if (v && v->type == RM_JSON_NUMBER) n[0] = n[1] = n[2] = n[3] = v->number, ok = 1;
    if (v && v->type == RM_JSON_ARRAY && v->count == 2) {
        ok = 1;
        for (int a = 0; a < 2; a++) {
            const rm_json *e = &v->items[a];
            if (e->type == RM_JSON_NUMBER) n[2 * a] = n[2 * a + 1] = e->number;
            else if (e->type == RM_JSON_ARRAY && e->count == 2 && e->items[0].type == RM_JSON_NUMBER &&
                     e->items[1].type == RM_JSON_NUMBER)
                n[2 * a] = e->items[0].number, n[2 * a + 1] = e->items[1].number;
            else ok = 0;
        }
    }
    if (!ok) return imp_fail(&im->b, "its padding is not a number, [h, w] or [[top, bottom], [left, right]]");
    int64_t side[4] = {(int64_t)n[0], (int64_t)n[2], (int64_t)n[1], (int64_t)n[3]};   /* top, left, bottom, right */
    for (int i = 0; i < 4; i++)
        if (n[i] != floor(n[i])) return imp_fail(&im->b, "its padding %g is not a whole number", n[i]);
    return imp_zero_pad(&im->b, side, L->name, index);
}

static int map_pool(importer *im, const klayer *L, rm_layer_type type)
{
    RM_TRY(channels_last(im, L));
    int size = 2, stride = 2, same = 0;
    RM_TRY(cfg_square(im, L, "pool_size", 2, &size));
    RM_TRY(cfg_square(im, L, "strides", size, &stride));
    RM_TRY(padding_same(im, L, &same));
    return tfjs_pool(&im->b, type, size, stride, same);
}

/* GlobalAveragePooling2D, GlobalMaxPooling2D (a max pool over the whole
 * square map), then a flatten unless keepdims. */
static int map_global_pool(importer *im, const klayer *L, int max)
{
    RM_TRY(imp_need_spatial(&im->b));
    RM_TRY(channels_last(im, L));
    int keep = 0;
    RM_TRY(cfg_bool(im, L, "keepdims", 0, &keep));
    if (!max) RM_TRY(imp_global_avgpool(&im->b));
    else if (im->b.h != im->b.w || im->b.h > 64)
        return imp_fail(&im->b, "a global max pooling of a %lldx%lld map; relmask takes it as a square max pooling of "
                                "at most 64x64",
                        (long long)im->b.h, (long long)im->b.w);
    else {
        imp_window whole = imp_window_sym((int)im->b.h, (int)im->b.h, 0);
        RM_TRY(imp_pool(&im->b, RM_LAYER_MAXPOOL, &whole, 1));
    }
    return keep ? 0 : imp_flatten(&im->b);
}

/* Dense on flat features ([dense]; rows permuted from a NHWC flatten), or
 * on an image tensor, where Keras applies it at every position: a 1x1
 * [conv]. The kernel is [in, units]. */
static int map_dense(importer *im, const klayer *L, const klayer *src)
{
    double units_d = 0;
    RM_TRY(cfg_number(im, L, "units", 0, &units_d));
    int64_t out = (int64_t)units_d, in = im->b.c;
    if (!(units_d >= 1 && units_d <= 65536) || units_d != out)
        return imp_fail(&im->b, "units %g (1 to 65536)", units_d);
    int64_t shape[2] = {in, out};
    const tfjs_const *k = weight(im, L, "kernel", 2, shape);
    if (!k) return -1;
    float *w = rm_malloc(sizeof *w * (size_t)(out * in), "imported weights"), *bias = NULL;
    if (!w) return -1;
    int64_t H = src ? src->perm_h : 0, W = src ? src->perm_w : 0, C = src ? src->perm_c : 0;
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++) {
            /* relmask's feature i = (c H + h) W + w is Keras's (h W + w) C + c */
            int64_t row = i;
            if (H) {
                int64_t c = i / (H * W), h = i / W % H, x = i % W;
                row = (h * W + x) * C + c;
            }
            w[o * in + i] = k->f[row * out + o];
        }
    if (bias_of(im, L, out, &bias)) return free(w), -1;
    if (!im->b.flat) {
        imp_window one = imp_window_sym(1, 1, 0);
        return imp_conv(&im->b, (int)out, &one, 1, w, bias);
    }
    imp_layer *l = imp_add_layer(&im->b, RM_LAYER_DENSE);
    if (!l) return free(w), free(bias), -1;
    l->units = (int)out, l->fan_in = in, l->weight = w, l->bias = bias != NULL;
    l->bias_v = bias ? bias : rm_calloc((size_t)out, sizeof(float), "imported bias");
    if (!l->bias_v) return -1;
    im->b.c = out;
    return 0;
}

/* Reshape: to the shape the data has (a no-op), or to one dimension (a
 * flatten). */
static int map_reshape(importer *im, const klayer *L, int *flatten)
{
    const rm_json *t = cfg(L, "target_shape");
    int64_t dims[3] = {0}, total = im->b.flat ? im->b.c : im->b.c * im->b.h * im->b.w;
    int n = t && t->type == RM_JSON_ARRAY && t->count >= 1 && t->count <= 3 ? (int)t->count : 0;
    for (int d = 0; d < n; d++) dims[d] = t->items[d].type == RM_JSON_NUMBER ? (int64_t)t->items[d].number : 0;
    *flatten = n == 1 && (dims[0] == total || dims[0] == -1);
    if (*flatten || (im->b.flat && n == 1 && dims[0] == im->b.c) ||
        (!im->b.flat && n == 3 && dims[0] == im->b.h && dims[1] == im->b.w && dims[2] == im->b.c))
        return 0;
    char shape[128] = "none";
    if (n) shape_text(shape, sizeof shape, n, dims);
    return imp_fail(&im->b, "reshapes to %s (target_shape); only a no-op or a flatten (one dimension) is supported",
                    shape);
}

/* Rescaling (x scale + offset): folded into the input normalization right
 * after the input, else a [scale] layer. */
static int map_rescaling(importer *im, const klayer *L)
{
    double v[2] = {1, 0};
    RM_TRY(cfg_number(im, L, "scale", 1, &v[0]));
    RM_TRY(cfg_number(im, L, "offset", 0, &v[1]));
    float scale = (float)v[0], offset = (float)v[1];
    if (scale != 1 && imp_affine(&im->b, "Mul", &scale, 1, 0) < 0) return -1;
    if (offset != 0 && imp_affine(&im->b, "Add", &offset, 1, 0) < 0) return -1;
    return 0;
}

static const klayer *layer_named(const importer *im, const char *name)
{
    for (int i = 0; i < im->nlayers; i++)
        if (!strcmp(im->layers[i].name, name)) return &im->layers[i];
    return NULL;
}

static int consumers(const importer *im, const char *name)
{
    int c = 0;
    for (int i = 0; i < im->nlayers; i++)
        for (int k = 0; k < im->layers[i].ninputs; k++) c += !strcmp(im->layers[i].inputs[k], name);
    return c ? c : 1;   /* the model's output is read by the caller */
}

static int is(const char *cls, const char *a, const char *b)
{
    return !strcmp(cls, a) || (b && !strcmp(cls, b));
}

static int map_layer(importer *im, klayer *L, int index)
{
    const char *c = L->cls;
    snprintf(im->b.what, sizeof im->b.what, "%s: layer %d '%s' (%s)", im->b.o->input, index, L->name, c);
    const imp_tensor *x[RM_MAX_INPUTS];
    for (int k = 0; k < L->ninputs; k++) x[k] = imp_find_tensor(&im->b, L->inputs[k]);
    if (L->ninputs == 0 || !x[0]) return imp_fail(&im->b, "reads no tensor computed by an earlier layer");
    imp_use(&im->b, x[0]);
    const klayer *src = layer_named(im, L->inputs[0]);
    int64_t ph = src ? src->perm_h : 0, pw = src ? src->perm_w : 0, pc = src ? src->perm_c : 0;
    int elementwise = is(c, "Dropout", "SpatialDropout2D") || is(c, "Activation", "ReLU") ||
                      is(c, "LeakyReLU", "Softmax") || is(c, "Flatten", "Dense");
    for (int k = 0; k < L->ninputs; k++) {
        const klayer *s = layer_named(im, L->inputs[k]);
        if (s && s->perm_h && !elementwise)
            return imp_fail(&im->b, "reads '%s', a Flatten of a %lldx%lldx%lld map (NHWC order); only a Dense layer "
                                    "(after Dropout or activations) can read such features",
                            s->name, (long long)s->perm_h, (long long)s->perm_w, (long long)s->perm_c);
    }
    if (L->ninputs > 1 && !is(c, "Add", "Concatenate"))
        return imp_fail(&im->b, "reads %d tensors; a %s reads one", L->ninputs, c);
    int before = im->b.nlayers, keep_perm = 0;
    if (is(c, "Conv2D", "Convolution2D")) {
        RM_TRY(map_conv(im, L, 0, 0));
    } else if (is(c, "DepthwiseConv2D", NULL)) {
        RM_TRY(map_conv(im, L, 1, 0));
    } else if (is(c, "SeparableConv2D", "SeparableConvolution2D")) {
        RM_TRY(map_conv(im, L, 0, 1));
    } else if (is(c, "BatchNormalization", NULL)) {
        RM_TRY(map_batchnorm(im, L));
    } else if (is(c, "Activation", NULL)) {
        RM_TRY(activation(im, L, cfg_string(L, "activation")));
        keep_perm = 1;
    } else if (is(c, "ReLU", NULL)) {
        double max = INFINITY, slope = 0, threshold = 0;
        RM_TRY(cfg_number(im, L, "max_value", INFINITY, &max));
        RM_TRY(cfg_number(im, L, "negative_slope", 0, &slope));
        RM_TRY(cfg_number(im, L, "threshold", 0, &threshold));
        if (threshold != 0) return imp_fail(&im->b, "threshold %g; relmask's [relu] thresholds at 0", threshold);
        RM_TRY(imp_relu(&im->b, slope, max));
        keep_perm = 1;
    } else if (is(c, "LeakyReLU", NULL)) {
        double alpha = 0.3;
        RM_TRY(cfg_number(im, L, cfg(L, "negative_slope") ? "negative_slope" : "alpha", 0.3, &alpha));
        RM_TRY(imp_relu(&im->b, alpha, INFINITY));
        keep_perm = 1;
    } else if (is(c, "Softmax", NULL)) {
        RM_TRY(activation(im, L, "softmax"));
    } else if (is(c, "MaxPooling2D", "MaxPool2D")) {
        RM_TRY(map_pool(im, L, RM_LAYER_MAXPOOL));
    } else if (is(c, "AveragePooling2D", "AvgPool2D")) {
        RM_TRY(map_pool(im, L, RM_LAYER_AVGPOOL));
    } else if (is(c, "ZeroPadding2D", NULL)) {
        RM_TRY(map_zero_padding(im, L, index));
    } else if (is(c, "GlobalAveragePooling2D", "GlobalAvgPool2D")) {
        RM_TRY(map_global_pool(im, L, 0));
    } else if (is(c, "GlobalMaxPooling2D", "GlobalMaxPool2D")) {
        RM_TRY(map_global_pool(im, L, 1));
    } else if (is(c, "Flatten", "Reshape")) {
        int flatten = 1;
        if (is(c, "Reshape", NULL)) RM_TRY(map_reshape(im, L, &flatten));
        else RM_TRY(channels_last(im, L));
        keep_perm = 1;
        if (flatten && !im->b.flat && im->b.h * im->b.w > 1) ph = im->b.h, pw = im->b.w, pc = im->b.c;
        if (flatten) RM_TRY(imp_flatten(&im->b));
    } else if (is(c, "Dense", NULL)) {
        RM_TRY(map_dense(im, L, src));
    } else if (is(c, "Dropout", "SpatialDropout2D")) {
        keep_perm = 1;
        /* a [dropout] layer, as the ONNX importer keeps one, for fine-tuning
         * (inactive in inference and LRP); SpatialDropout2D drops whole
         * channels, which relmask's element dropout does not, so it goes */
        double rate = 0;
        if (is(c, "Dropout", NULL)) RM_TRY(cfg_number(im, L, "rate", 0, &rate));
        if (!(rate >= 0 && rate < 1)) return imp_fail(&im->b, "rate %g outside [0, 1)", rate);
        if (rate > 0) {
            imp_layer *l = imp_add_layer(&im->b, RM_LAYER_DROPOUT);
            if (!l) return -1;
            l->p = rate;
        }
    } else if (is(c, "Add", "Concatenate")) {
        int concat = is(c, "Concatenate", NULL);
        double axis = -1;
        RM_TRY(cfg_number(im, L, "axis", -1, &axis));
        if (concat && !(axis == -1 || axis == (x[0]->flat ? 1 : 3)))
            return imp_fail(&im->b, "concatenates along axis %g; relmask concatenates channels (axis -1)", axis);
        for (int k = 1; k < L->ninputs; k++)
            if (!x[k]) return imp_fail(&im->b, "reads '%s', which no earlier layer computes", L->inputs[k]);
        if (L->ninputs < 2) return imp_fail(&im->b, "an %s of %d tensor", c, L->ninputs);
        RM_TRY(imp_join(&im->b, x, L->inputs, L->ninputs, concat));
    } else if (is(c, "Rescaling", NULL)) {
        RM_TRY(map_rescaling(im, L));
    } else {
        return imp_fail(&im->b, "layer class %s is not supported; relmask imports layers models of %s", c,
                        supported_classes);
    }
    if (is(c, "Conv2D", "Convolution2D") || is(c, "DepthwiseConv2D", "SeparableConv2D") ||
        is(c, "SeparableConvolution2D", "Dense"))
        RM_TRY(activation(im, L, cfg_string(L, "activation")));
    if (keep_perm) L->perm_h = ph, L->perm_w = pw, L->perm_c = pc;
    return imp_add_tensor(&im->b, L->name, im->b.nlayers > before ? im->b.nlayers - 1 : im->b.src,
                          consumers(im, L->name));
}

/* --- the topology ------------------------------------------------------------------------ */

/* Every keras_history [name, node, tensor] under a Keras 3 node's args. */
static int collect_history(importer *im, klayer *L, int index, const rm_json *v)
{
    if (!v) return 0;
    const rm_json *h = v->type == RM_JSON_OBJECT ? rm_json_get(rm_json_get(v, "config"), "keras_history") : NULL;
    if (h) {
        if (h->type != RM_JSON_ARRAY || h->count < 1 || h->items[0].type != RM_JSON_STRING)
            return rm_error("%s: layer %d '%s': a keras_history that is not [layer, node, tensor]", im->b.o->input,
                            index, L->name);
        if (L->ninputs == RM_MAX_INPUTS)
            return rm_error("%s: layer %d '%s' reads more than %d tensors", im->b.o->input, index, L->name,
                            RM_MAX_INPUTS);
        L->inputs[L->ninputs++] = h->items[0].string;
        return 0;
    }
    if (v->type == RM_JSON_ARRAY || v->type == RM_JSON_OBJECT)
        for (size_t k = 0; k < v->count; k++) RM_TRY(collect_history(im, L, index, &v->items[k]));
    return 0;
}

static int read_inbound(importer *im, klayer *L, int index, const rm_json *in)
{
    if (!in || in->type != RM_JSON_ARRAY || in->count == 0) {
        if (!strcmp(L->cls, "InputLayer")) return 0;
        return rm_error("%s: layer %d '%s' (%s) has no inbound_nodes; a functional model's layers name what they "
                        "read",
                        im->b.o->input, index, L->name, L->cls);
    }
    if (in->count > 1)
        return rm_error("%s: layer %d '%s' (%s) is called %zu times (a shared layer); relmask imports layers "
                        "called once",
                        im->b.o->input, index, L->name, L->cls, in->count);
    const rm_json *node = &in->items[0];
    if (node->type == RM_JSON_OBJECT) return collect_history(im, L, index, rm_json_get(node, "args"));
    if (node->type != RM_JSON_ARRAY)
        return rm_error("%s: layer %d '%s': an inbound node that is not a list", im->b.o->input, index, L->name);
    for (size_t k = 0; k < node->count; k++) {
        const rm_json *e = &node->items[k];
        if (e->type != RM_JSON_ARRAY || e->count < 3 || e->items[0].type != RM_JSON_STRING ||
            e->items[1].type != RM_JSON_NUMBER || e->items[2].type != RM_JSON_NUMBER)
            return rm_error("%s: layer %d '%s': inbound node entry %zu is not [layer, node, tensor, kwargs]",
                            im->b.o->input, index, L->name, k);
        if (e->items[1].number != 0 || e->items[2].number != 0)
            return rm_error("%s: layer %d '%s' reads output %g of call %g of '%s'; relmask imports layers of one "
                            "output called once",
                            im->b.o->input, index, L->name, e->items[2].number, e->items[1].number,
                            e->items[0].string);
        if (L->ninputs == RM_MAX_INPUTS)
            return rm_error("%s: layer %d '%s' reads more than %d tensors", im->b.o->input, index, L->name,
                            RM_MAX_INPUTS);
        L->inputs[L->ninputs++] = e->items[0].string;
    }
    return 0;
}

/* output_layers / input_layers: [[name, 0, 0], ...] or (Keras 3, one
 * tensor) [name, 0, 0]; the one name, or NULL with an error. */
static const char *single_endpoint(importer *im, const rm_json *config, const char *key)
{
    const rm_json *v = rm_json_get(config, key);
    if (v && v->type == RM_JSON_ARRAY && v->count >= 1 && v->items[0].type == RM_JSON_STRING) return v->items[0].string;
    if (!v || v->type != RM_JSON_ARRAY || v->count == 0 || v->items[0].type != RM_JSON_ARRAY ||
        v->items[0].count < 1 || v->items[0].items[0].type != RM_JSON_STRING) {
        rm_error("%s: the model config has no %s", im->b.o->input, key);
        return NULL;
    }
    if (v->count > 1) {
        rm_error("%s: the model has %zu %s; relmask imports models of one image input and one output (the class "
                 "scores)",
                 im->b.o->input, v->count, key);
        return NULL;
    }
    return v->items[0].items[0].string;
}

static int read_layers(importer *im)
{
    const rm_json *topo = rm_json_get(im->doc, "modelTopology");
    if (rm_json_get(topo, "model_config")) topo = rm_json_get(topo, "model_config");
    const rm_json *cls = rm_json_get(topo, "class_name"), *config = rm_json_get(topo, "config");
    if (!cls || cls->type != RM_JSON_STRING)
        return rm_error("%s: modelTopology has no class_name; a layers model (format layers-model) holds a Keras "
                        "model config (Sequential, Model or Functional)",
                        im->b.o->input);
    im->kind = cls->string;
    int sequential = !strcmp(im->kind, "Sequential");
    if (!sequential && strcmp(im->kind, "Model") && strcmp(im->kind, "Functional"))
        return rm_error("%s: a Keras %s; relmask imports Sequential and functional (Model, Functional) models",
                        im->b.o->input, im->kind);
    /* old Keras writes a Sequential config as the list of layers itself */
    const rm_json *layers = config && config->type == RM_JSON_ARRAY ? config : rm_json_get(config, "layers");
    if (!layers || layers->type != RM_JSON_ARRAY || layers->count == 0)
        return rm_error("%s: the %s model config has no layers", im->b.o->input, im->kind);
    if (!(im->layers = rm_calloc(layers->count, sizeof *im->layers, "model layers"))) return -1;
    for (size_t i = 0; i < layers->count; i++) {
        const rm_json *l = &layers->items[i], *c = rm_json_get(l, "class_name"), *lc = rm_json_get(l, "config");
        const rm_json *name = rm_json_get(lc, "name");
        if (!c || c->type != RM_JSON_STRING || !lc || lc->type != RM_JSON_OBJECT || !name ||
            name->type != RM_JSON_STRING)
            return rm_error("%s: layer %zu has no class_name, or no config with a name", im->b.o->input, i);
        klayer *L = &im->layers[im->nlayers++];
        L->name = name->string, L->cls = c->string, L->config = lc;
        for (int j = 0; j + 1 < im->nlayers; j++)
            if (!strcmp(im->layers[j].name, L->name))
                return rm_error("%s: layers %d and %zu are both named '%s'", im->b.o->input, j, i, L->name);
        if (sequential) {
            if (i > 0) L->inputs[L->ninputs++] = im->layers[i - 1].name;
            else if (strcmp(L->cls, "InputLayer")) L->inputs[L->ninputs++] = seq_input;
        } else {
            RM_TRY(read_inbound(im, L, (int)i, rm_json_get(l, "inbound_nodes")));
        }
    }
    if (sequential) im->output = im->layers[im->nlayers - 1].name;
    else if (!(im->output = single_endpoint(im, config, "output_layers"))) return -1;
    if (!layer_named(im, im->output))
        return rm_error("%s: the model's output '%s' is none of its layers", im->b.o->input, im->output);
    return 0;
}

/* batch_input_shape (Keras 2, TF.js) or batch_shape (Keras 3):
 * [null, H, W, C]. */
static int read_input(importer *im)
{
    const klayer *in = NULL;
    for (int i = 0; i < im->nlayers; i++)
        if (!strcmp(im->layers[i].cls, "InputLayer")) {
            if (in) return rm_error("%s: the model has several inputs ('%s', '%s'); relmask imports models of one "
                                    "image input",
                                    im->b.o->input, in->name, im->layers[i].name);
            in = &im->layers[i];
        }
    const char *name = in ? in->name : seq_input;
    const klayer *shaped = in ? in : &im->layers[0];
    if (!in && strcmp(im->kind, "Sequential"))
        return rm_error("%s: the functional model has no InputLayer", im->b.o->input);
    const rm_json *shape = cfg(shaped, "batch_input_shape");
    if (!shape) shape = cfg(shaped, "batch_shape");
    if (!shape) {
        const rm_json *topo = rm_json_get(im->doc, "modelTopology");
        if (rm_json_get(topo, "model_config")) topo = rm_json_get(topo, "model_config");
        shape = rm_json_get(rm_json_get(topo, "config"), "build_input_shape");
    }
    if (!shape || shape->type != RM_JSON_ARRAY || shape->count != 4)
        return rm_error("%s: %s '%s' has no batch_input_shape [null, height, width, channels] (a 4-D image "
                        "input)",
                        im->b.o->input, in ? "the InputLayer" : "the first layer", shaped->name);
    int64_t d[4];
    for (int k = 0; k < 4; k++) {
        const rm_json *v = &shape->items[k];
        d[k] = v->type == RM_JSON_NUMBER && v->number >= 1 && v->number <= (1 << 20) ? (int64_t)v->number : -1;
    }
    if (d[3] < 1 || d[3] > RM_IMPORT_MAX_CHANNELS)
        return rm_error("%s: input '%s' has %lld channels; relmask images have 1 to %d", im->b.o->input,
                        shaped->name, (long long)d[3], RM_IMPORT_MAX_CHANNELS);
    RM_TRY(imp_input_size(&im->b, name, &d[1], &d[2]));
    return imp_input(&im->b, name, (int)d[3], (int)d[1], (int)d[2], consumers(im, name));
}

/* Maps every layer once what it reads exists (the config lists them in a
 * topological order, but nothing here relies on it). */
static int walk(importer *im)
{
    int left = 0;
    for (int i = 0; i < im->nlayers; i++) {
        im->layers[i].done = !strcmp(im->layers[i].cls, "InputLayer");
        left += !im->layers[i].done;
    }
    while (left > 0) {
        int progress = 0;
        for (int i = 0; i < im->nlayers; i++) {
            klayer *L = &im->layers[i];
            if (L->done) continue;
            int ready = 1;
            for (int k = 0; k < L->ninputs && ready; k++) ready = imp_find_tensor(&im->b, L->inputs[k]) != NULL;
            if (!ready) continue;
            RM_TRY(map_layer(im, L, i));
            L->done = 1, progress = 1, left--;
        }
        if (!progress) {
            for (int i = 0; i < im->nlayers; i++)
                for (int k = 0; k < im->layers[i].ninputs && !im->layers[i].done; k++)
                    if (!layer_named(im, im->layers[i].inputs[k]) && strcmp(im->layers[i].inputs[k], seq_input))
                        return rm_error("%s: layer %d '%s' (%s) reads '%s', which is no layer of the model",
                                        im->b.o->input, i, im->layers[i].name, im->layers[i].cls,
                                        im->layers[i].inputs[k]);
            for (int i = 0; i < im->nlayers; i++)
                if (!im->layers[i].done)
                    return rm_error("%s: layer %d '%s' (%s) is on a cycle of the model", im->b.o->input, i,
                                    im->layers[i].name, im->layers[i].cls);
        }
    }
    return imp_finish(&im->b, im->output);
}

int tfjs_import_layers(const rm_import_options *o, const rm_json *doc)
{
    importer im = {.b = {.o = o}, .doc = doc};
    int rc = tfjs_load_manifest(&im.wts, doc, o->input);
    if (rc == 0) rc = read_layers(&im);
    if (rc == 0) rc = read_input(&im);
    if (rc == 0) rc = walk(&im);
    if (rc == 0) {
        const rm_json *by = rm_json_get(doc, "generatedBy"), *conv = rm_json_get(doc, "convertedBy");
        const char *gen = by && by->type == RM_JSON_STRING ? by->string : "?";
        const char *cvt = conv && conv->type == RM_JSON_STRING ? conv->string : "?";
        char header[2048], params[2048];
        snprintf(header, sizeof header,
                 "# Imported by relmask import tfjs from %s\n# (TF.js layers model, Keras %s, generated by %s, "
                 "converted by %s).\n",
                 o->input, im.kind, gen, cvt);
        snprintf(params, sizeof params,
                 "imported_from=%s\nformat=tfjs-layers-model\nkeras_class=%s\nproducer=%s\nconverted_by=%s\n",
                 o->input, im.kind, gen, cvt);
        rc = imp_write_model(&im.b, header, params);
    }
    tfjs_free_weights(&im.wts);
    free(im.layers);
    imp_free(&im.b);
    return rc;
}
