/* relmask import tfjs: a TensorFlow.js graph model (model.json with its
 * weights manifest and .bin shards, as tensorflowjs_converter writes it)
 * becomes relmask layers through the builder (builder.h); a layers model
 * (format layers-model, a Keras topology) is handed to tfjs_layers.c.
 *
 * TF.js graphs are NHWC; relmask is NCHW. Shapes are tracked as [C,H,W],
 * filters are transposed from HWIO (depthwise: HWCM) to OIHW, and 'SAME'
 * padding becomes the pads that give TensorFlow's output size (an odd
 * total puts the extra cell at the bottom and right; pooling, which pads
 * every side alike, refuses that). Weights may be float32 or quantized
 * (uint8, uint16: value = min + scale q; float16), read by tfjs_weights.c. */
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
    const char *name, *op;
    const rm_json *node;
    char *inputs[RM_MAX_INPUTS + 4];   /* owned copies, without a ":0" suffix */
    int ninputs;
    int done;
} tfjs_node;

typedef struct {
    imp_builder b;
    rm_json *doc;
    tfjs_weights wts;
    tfjs_node *nodes;
    int nnodes;
} importer;

/* --- node attributes ------------------------------------------------------------ */

static const rm_json *attr(const tfjs_node *n, const char *key)
{
    return rm_json_get(rm_json_get(n->node, "attr"), key);
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : -1;
}

/* A base64 string attribute value ("s"), decoded into buf. */
static const char *b64_decode(const char *in, char *buf, size_t size)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        int v = b64_value(*p);
        if (v < 0) return NULL;
        acc = (acc << 6) | (unsigned)v, bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= size) return NULL;
            buf[n++] = (char)((acc >> bits) & 255);
        }
    }
    buf[n] = 0;
    return buf;
}

static const char *attr_string(const tfjs_node *n, const char *key, char *buf, size_t size)
{
    const rm_json *a = attr(n, key), *s = rm_json_get(a, "s");
    return s && s->type == RM_JSON_STRING ? b64_decode(s->string, buf, size) : NULL;
}

/* An int list attribute ({"list": {"i": ["1", "2", ...]}}): count, or -1. */
static int attr_ints(const tfjs_node *n, const char *key, int64_t *out, int max)
{
    const rm_json *l = rm_json_get(rm_json_get(attr(n, key), "list"), "i");
    if (!l) return 0;
    if (l->type != RM_JSON_ARRAY || (int)l->count > max) return -1;
    for (size_t k = 0; k < l->count; k++) {
        const rm_json *v = &l->items[k];
        if (v->type == RM_JSON_STRING) out[k] = strtoll(v->string, NULL, 10);
        else if (v->type == RM_JSON_NUMBER) out[k] = (int64_t)v->number;
        else return -1;
    }
    return (int)l->count;
}

static int attr_strings_contain(const tfjs_node *n, const char *key, const char *want, int index)
{
    const rm_json *l = rm_json_get(rm_json_get(attr(n, key), "list"), "s");
    if (!l || l->type != RM_JSON_ARRAY || (size_t)index >= l->count || l->items[index].type != RM_JSON_STRING)
        return 0;
    char buf[64];
    const char *s = b64_decode(l->items[index].string, buf, sizeof buf);
    return s && !strcmp(s, want);
}

/* A float attribute ({"f": 0.2}), or def when absent. */
static double attr_float(const tfjs_node *n, const char *key, double def)
{
    const rm_json *f = rm_json_get(attr(n, key), "f");
    if (f && f->type == RM_JSON_NUMBER) return f->number;
    if (f && f->type == RM_JSON_STRING) return strtod(f->string, NULL);
    return def;
}

static int attr_list_count(const tfjs_node *n, const char *key)
{
    const rm_json *l = rm_json_get(rm_json_get(attr(n, key), "list"), "s");
    return l && l->type == RM_JSON_ARRAY ? (int)l->count : 0;
}

/* --- operators ------------------------------------------------------------------ */

static const tfjs_const *const_input(importer *im, const tfjs_node *n, int k, const char *role)
{
    const tfjs_const *c = k < n->ninputs ? tfjs_find_const(&im->wts, n->inputs[k]) : NULL;
    if (!c) imp_fail(&im->b, "its %s '%s' is not a constant weight", role, k < n->ninputs ? n->inputs[k] : "");
    return c;
}

static int check_nhwc(importer *im, const tfjs_node *n)
{
    char buf[32];
    const char *f = attr_string(n, "data_format", buf, sizeof buf);
    if (f && strcmp(f, "NHWC")) return imp_fail(&im->b, "data_format %s; relmask imports NHWC graphs", f);
    return 0;
}

int tfjs_window(imp_builder *b, int size, int stride, int dilation, int same, imp_window *win)
{
    *win = imp_window_sym(size, stride, 0);
    win->dilation = dilation;
    if (!same) return 0;
    /* a pending Pad's zeros are part of the input 'SAME' pads */
    int64_t in[2] = {b->h + b->pad.pads[0] + b->pad.pads[2], b->w + b->pad.pads[1] + b->pad.pads[3]};
    int64_t span = (int64_t)(size - 1) * dilation + 1;
    for (int a = 0; a < 2; a++) {
        int64_t out = (in[a] + stride - 1) / stride;
        int64_t total = (out - 1) * stride + span - in[a];
        if (total < 0) total = 0;
        if (total > 128) return imp_fail(b, "'SAME' padding of %lld cells (at most 128)", (long long)total);
        win->pads[a] = (int)(total / 2);
        win->pads[a + 2] = (int)(total - total / 2);
    }
    return 0;
}

/* strides and dilations [1,s,s,1] and 'SAME'/'VALID' padding for a k x k
 * window: 'SAME' gives ceil(in / stride) outputs, the odd padding cell at
 * the bottom/right (stride 2 on an even input). */
static int window(importer *im, const tfjs_node *n, const char *strides_key, int k, imp_window *win)
{
    int64_t s[4] = {1, 1, 1, 1}, d[4] = {1, 1, 1, 1};
    int ns = attr_ints(n, strides_key, s, 4), nd = attr_ints(n, "dilations", d, 4);
    if (ns != 0 && (ns != 4 || s[0] != 1 || s[3] != 1 || s[1] != s[2] || s[1] < 1 || s[1] > 64))
        return imp_fail(&im->b, "%s must be [1,s,s,1] with one stride for height and width", strides_key);
    if (nd != 0 && (nd != 4 || d[0] != 1 || d[3] != 1 || d[1] != d[2] || d[1] < 1 || d[1] > 64))
        return imp_fail(&im->b, "dilations must be [1,d,d,1] with one dilation for height and width");
    char buf[32];
    const char *padding = attr_string(n, "padding", buf, sizeof buf);
    if (padding && strcmp(padding, "VALID") && strcmp(padding, "SAME"))
        return imp_fail(&im->b, "padding %s is not supported (SAME or VALID)", padding);
    return tfjs_window(&im->b, k, (int)s[1], (int)d[1], padding && !strcmp(padding, "SAME"), win);
}

float *tfjs_filter_oihw(const tfjs_const *w, int depthwise)
{
    int64_t k = w->dims[0], C = w->dims[2], M = w->dims[3], O = depthwise ? C * M : M, I = depthwise ? 1 : C;
    float *weight = rm_malloc(sizeof *weight * (size_t)(O * I * k * k), "imported weights");
    if (!weight) return NULL;
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++)
            for (int64_t y = 0; y < k; y++)
                for (int64_t x = 0; x < k; x++) {
                    /* depthwise: output o = c*M + m reads input channel c */
                    int64_t src = depthwise ? ((y * k + x) * C + o / M) * M + o % M : ((y * k + x) * C + i) * M + o;
                    weight[((o * I + i) * k + y) * k + x] = w->f[src];
                }
    return weight;
}

/* Conv2D, _FusedConv2D, DepthwiseConv2dNative, FusedDepthwiseConv2dNative:
 * a [conv], then a [relu] when fused. */
static int map_conv(importer *im, const tfjs_node *n, int depthwise, int fused)
{
    RM_TRY(imp_need_spatial(&im->b));
    RM_TRY(check_nhwc(im, n));
    const tfjs_const *w = const_input(im, n, 1, "filter");
    if (!w) return -1;
    int64_t C = im->b.c;
    /* HWIO, or HWCM for depthwise */
    if (w->is_int || w->ndims != 4 || w->dims[0] != w->dims[1] || w->dims[2] != C)
        return imp_fail(&im->b, "filter '%s' is not [K,K,%lld,%s]", w->name, (long long)C, depthwise ? "M" : "O");
    int k = (int)w->dims[0];
    imp_window win;
    RM_TRY(window(im, n, "strides", k, &win));
    int64_t O = depthwise ? C * w->dims[3] : w->dims[3];
    float *weight = tfjs_filter_oihw(w, depthwise), *bias = NULL;
    if (!weight) return -1;
    int relu = 0;   /* 1 Relu, 6 Relu6, 2 LeakyRelu */
    if (fused) {
        int nops = attr_list_count(n, "fused_ops");
        if (nops < 1 || !attr_strings_contain(n, "fused_ops", "BiasAdd", 0))
            return free(weight), imp_fail(&im->b, "fused_ops other than BiasAdd[, activation] are not supported");
        if (nops > 1) {
            relu = nops > 2                                                 ? 0
                   : attr_strings_contain(n, "fused_ops", "Relu", 1)      ? 1
                   : attr_strings_contain(n, "fused_ops", "Relu6", 1)     ? 6
                   : attr_strings_contain(n, "fused_ops", "LeakyRelu", 1) ? 2
                                                                            : 0;
            if (!relu)
                return free(weight), imp_fail(&im->b, "fused_ops BiasAdd then something other than Relu, Relu6 or "
                                                      "LeakyRelu (Elu, Prelu, Sigmoid, ...) is not supported");
        }
        const tfjs_const *b = const_input(im, n, 2, "bias");
        if (!b || b->is_int || b->count != O) {
            free(weight);
            return b ? imp_fail(&im->b, "bias '%s' has %lld values, expected %lld", b->name, (long long)b->count,
                                (long long)O)
                     : -1;
        }
        if (!(bias = imp_copy_floats(b->f, O, 1))) return free(weight), -1;
    }
    imp_take_pad(&im->b, &win);   /* a zero Pad before a convolution is its zero padding */
    RM_TRY(imp_conv(&im->b, (int)O, &win, depthwise ? (int)C : 1, weight, bias));
    if (relu) return imp_relu(&im->b, relu == 2 ? attr_float(n, "leakyrelu_alpha", 0.2) : 0, relu == 6 ? 6 : INFINITY);
    return 0;
}

int tfjs_pool(imp_builder *b, rm_layer_type type, int size, int stride, int same)
{
    RM_TRY(imp_need_spatial(b));
    imp_window win;
    RM_TRY(tfjs_window(b, size, stride, 1, same, &win));
    const imp_pad *pad = &b->pad;
    int own = win.pads[0] | win.pads[1] | win.pads[2] | win.pads[3];
    int count_pad = 0;   /* TensorFlow's average pooling divides by the valid cells of each window */
    if (pad->pads[0] | pad->pads[1] | pad->pads[2] | pad->pads[3]) {
        if (type == RM_LAYER_MAXPOOL && !pad->nonneg)
            return imp_fail(b, "reads '%s', zero-padded by node %d '%s' (Pad), and its input may be negative: a "
                               "zero pad then differs from max pooling's own padding (which never wins); relmask "
                               "folds a Pad into a max pooling only after a Relu",
                            b->in->name, pad->index, pad->node);
        if (type == RM_LAYER_AVGPOOL && own)
            return imp_fail(b, "reads '%s', zero-padded by node %d '%s' (Pad), with 'SAME' pads of its own: the "
                               "divisor counts the Pad's zeros but not its own pads, which relmask's average "
                               "pooling cannot tell apart",
                            b->in->name, pad->index, pad->node);
        count_pad = 1;   /* the Pad's zeros are data to the pooling */
    }
    imp_take_pad(b, &win);
    return imp_pool(b, type, &win, count_pad);
}

static int map_pool(importer *im, const tfjs_node *n, rm_layer_type type)
{
    RM_TRY(imp_need_spatial(&im->b));
    RM_TRY(check_nhwc(im, n));
    int64_t ks[4];
    int nk = attr_ints(n, "ksize", ks, 4);
    if (nk != 4 || ks[0] != 1 || ks[3] != 1 || ks[1] != ks[2] || ks[1] < 1 || ks[1] > 64)
        return imp_fail(&im->b, "ksize must be [1,k,k,1] (a square window)");
    imp_window win;   /* the strides, checked */
    RM_TRY(window(im, n, "strides", (int)ks[1], &win));
    char buf[32];
    const char *padding = attr_string(n, "padding", buf, sizeof buf);
    return tfjs_pool(&im->b, type, (int)ks[1], win.stride, padding && !strcmp(padding, "SAME"));
}

/* Pad / PadV2 by zeros of height and width (paddings [[0,0],[top,bottom],
 * [left,right],[0,0]] in NHWC), folded into the layer that reads it. */
static int map_pad(importer *im, const tfjs_node *n, int index)
{
    const tfjs_const *p = const_input(im, n, 1, "paddings");
    if (!p) return -1;
    if (!p->is_int || p->ndims != 2 || p->dims[0] != 4 || p->dims[1] != 2)
        return imp_fail(&im->b, "paddings '%s' is not an int32 [4,2] constant", p->name);
    if (p->i[0] || p->i[1] || p->i[6] || p->i[7])
        return imp_fail(&im->b, "pads the batch or channel axis (paddings %lld,%lld and %lld,%lld); relmask folds a "
                                "Pad of height and width only",
                        (long long)p->i[0], (long long)p->i[1], (long long)p->i[6], (long long)p->i[7]);
    if (!strcmp(n->op, "PadV2") && n->ninputs > 2) {
        const tfjs_const *v = const_input(im, n, 2, "constant_values");
        if (!v) return -1;
        if (v->count != 1)
            return imp_fail(&im->b, "constant_values '%s' holds %lld values; expected one", v->name,
                            (long long)v->count);
        double value = v->is_int ? (double)v->i[0] : v->f[0];
        if (value != 0)
            return imp_fail(&im->b, "pads with the value %g; relmask folds only a Pad by zero (a layer's zero "
                                    "padding)",
                            value);
    }
    const int64_t side[4] = {p->i[2], p->i[4], p->i[3], p->i[5]};   /* top, left, bottom, right */
    if (!(side[0] | side[1] | side[2] | side[3])) return 0;
    return imp_zero_pad(&im->b, side, n->name, index);
}

/* Mean over height and width (axes 1 and 2 of NHWC): global average pooling. */
static int map_mean(importer *im, const tfjs_node *n)
{
    const tfjs_const *axes = const_input(im, n, 1, "axes");
    if (!axes) return -1;
    int hw = axes->is_int && axes->count == 2 &&
             ((axes->i[0] == 1 && axes->i[1] == 2) || (axes->i[0] == 2 && axes->i[1] == 1));
    if (!hw) return imp_fail(&im->b, "a Mean over other axes than height and width (1, 2)");
    const rm_json *keep = rm_json_get(attr(n, "keep_dims"), "b");
    RM_TRY(imp_global_avgpool(&im->b));
    return keep && keep->type == RM_JSON_BOOL && keep->boolean ? 0 : imp_flatten(&im->b);
}

static int map_matmul(importer *im, const tfjs_node *n)
{
    if (!im->b.flat) {
        if (im->b.h != 1 || im->b.w != 1)
            return imp_fail(&im->b, "reads an image tensor [%lld,%lld,%lld]; expected a flat one",
                            (long long)im->b.h, (long long)im->b.w, (long long)im->b.c);
        RM_TRY(imp_flatten(&im->b));
    }
    const rm_json *ta = rm_json_get(attr(n, "transpose_a"), "b"), *tb = rm_json_get(attr(n, "transpose_b"), "b");
    if (ta && ta->boolean) return imp_fail(&im->b, "transpose_a is not supported");
    int transb = tb && tb->boolean;
    const tfjs_const *w = const_input(im, n, 1, "weight");
    if (!w) return -1;
    int64_t in = im->b.c;
    if (w->is_int || w->ndims != 2 || w->dims[transb ? 1 : 0] != in)
        return imp_fail(&im->b, "weight '%s' is not [%lld,O]", w->name, (long long)in);
    int64_t out = w->dims[transb ? 0 : 1];
    imp_layer *l = imp_add_layer(&im->b, RM_LAYER_DENSE);
    if (!l) return -1;
    l->units = (int)out, l->fan_in = in;
    if (!(l->weight = rm_malloc(sizeof(float) * (size_t)(out * in), "imported weights"))) return -1;
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++) l->weight[o * in + i] = transb ? w->f[o * in + i] : w->f[i * out + o];
    if (!(l->bias_v = rm_calloc((size_t)out, sizeof(float), "imported bias"))) return -1;
    im->b.c = out;
    return 0;
}

static const char *const supported_ops =
    "Placeholder, Const, Conv2D, _FusedConv2D (BiasAdd[, Relu|Relu6|LeakyRelu]), DepthwiseConv2dNative, "
    "FusedDepthwiseConv2dNative, BiasAdd, Add/AddV2 (two tensors, or a constant), Sub/Mul/RealDiv by a constant, "
    "Relu, Relu6, LeakyRelu, MaxPool, AvgPool, Mean over height and width, MatMul, Reshape/Squeeze to [N,C], "
    "Pad/PadV2 by zeros (into the convolution or pooling reading it), Identity and a final Softmax";

static int is_last(const importer *im, const tfjs_node *n)
{
    for (int i = 0; i < im->nnodes; i++)
        for (int k = 0; k < im->nodes[i].ninputs; k++)
            if (!strcmp(im->nodes[i].inputs[k], n->name)) return 0;
    return 1;
}

static int consumers(const importer *im, const char *name)
{
    int c = 0;
    for (int i = 0; i < im->nnodes; i++)
        for (int k = 0; k < im->nodes[i].ninputs; k++) c += !strcmp(im->nodes[i].inputs[k], name);
    return c ? c : 1;   /* the graph's output is read by the caller */
}

static int map_node(importer *im, tfjs_node *n, int index)
{
    const char *op = n->op;
    snprintf(im->b.what, sizeof im->b.what, "%s: node %d '%s' (%s)", im->b.o->input, index, n->name, op);
    const imp_tensor *x = NULL;
    for (int k = 0; k < n->ninputs && !x; k++) x = imp_find_tensor(&im->b, n->inputs[k]);
    if (!x) return imp_fail(&im->b, "reads no tensor computed by an earlier node");
    imp_use(&im->b, x);
    int before = im->b.nlayers;
    int add = !strcmp(op, "Add") || !strcmp(op, "AddV2") || !strcmp(op, "BiasAdd");
    int sub = !strcmp(op, "Sub"), mul = !strcmp(op, "Mul"), div = !strcmp(op, "RealDiv");
    if ((add || sub || mul || div) && n->ninputs == 2) {
        const imp_tensor *y = imp_find_tensor(&im->b, n->inputs[1]), *x0 = imp_find_tensor(&im->b, n->inputs[0]);
        if (x0 && y) {
            if (!add || !strcmp(op, "BiasAdd"))
                return imp_fail(&im->b, "%s of two computed tensors is not supported; relmask adds tensors ([add]) "
                                        "but does not subtract, multiply or divide them",
                                op);
            const imp_tensor *xs[2] = {x0, y};
            RM_TRY(imp_join(&im->b, xs, (const char *const *)n->inputs, 2, 0));
        } else {
            const tfjs_const *k = tfjs_find_const(&im->wts, n->inputs[x0 ? 1 : 0]);
            if (!k || k->is_int)
                return imp_fail(&im->b, "its other input '%s' is neither a float constant nor computed by an "
                                        "earlier node",
                                n->inputs[x0 ? 1 : 0]);
            if (!x0 && div) return imp_fail(&im->b, "divides a constant by the data; not an affine map");
            if (k->count != 1 && (k->count != im->b.c || k->dims[k->ndims - 1] != im->b.c))
                return imp_fail(&im->b, "its constant '%s' (%lld values) does not broadcast per channel", k->name,
                                (long long)k->count);
            if (imp_affine(&im->b, add ? "Add" : sub ? "Sub" : mul ? "Mul" : "Div", k->f, k->count, !x0 && sub) < 0)
                return -1;
        }
    } else if (strcmp(n->inputs[0], x->name)) {
        return imp_fail(&im->b, "its data input '%s' is not its first input", x->name);
    } else if (!strcmp(op, "Conv2D")) {
        RM_TRY(map_conv(im, n, 0, 0));
    } else if (!strcmp(op, "_FusedConv2D")) {
        RM_TRY(map_conv(im, n, 0, 1));
    } else if (!strcmp(op, "DepthwiseConv2dNative")) {
        RM_TRY(map_conv(im, n, 1, 0));
    } else if (!strcmp(op, "FusedDepthwiseConv2dNative")) {
        RM_TRY(map_conv(im, n, 1, 1));
    } else if (!strcmp(op, "Relu")) {
        RM_TRY(imp_relu(&im->b, 0, INFINITY));
    } else if (!strcmp(op, "Relu6")) {
        RM_TRY(imp_relu(&im->b, 0, 6));
    } else if (!strcmp(op, "LeakyRelu")) {
        RM_TRY(imp_relu(&im->b, attr_float(n, "alpha", 0.2), INFINITY));
    } else if (!strcmp(op, "MaxPool")) {
        RM_TRY(map_pool(im, n, RM_LAYER_MAXPOOL));
    } else if (!strcmp(op, "AvgPool")) {
        RM_TRY(map_pool(im, n, RM_LAYER_AVGPOOL));
    } else if (!strcmp(op, "Mean")) {
        RM_TRY(map_mean(im, n));
    } else if (!strcmp(op, "Pad") || !strcmp(op, "PadV2")) {
        RM_TRY(map_pad(im, n, index));
    } else if (!strcmp(op, "MatMul")) {
        RM_TRY(map_matmul(im, n));
    } else if (!strcmp(op, "Reshape") || !strcmp(op, "Squeeze")) {
        if (!im->b.flat && (im->b.h != 1 || im->b.w != 1))
            return imp_fail(&im->b, "flattens a [%lld,%lld,%lld] tensor (NHWC order); only [N,1,1,C] to [N,C] is "
                                    "supported",
                            (long long)im->b.h, (long long)im->b.w, (long long)im->b.c);
        RM_TRY(imp_flatten(&im->b));
    } else if (!strcmp(op, "Identity")) {
    } else if (!strcmp(op, "Softmax")) {
        int last = 1;
        for (int i = 0; i < im->nnodes && last; i++)
            for (int k = 0; k < im->nodes[i].ninputs; k++)
                if (!strcmp(im->nodes[i].inputs[k], n->name) && strcmp(im->nodes[i].op, "Identity")) last = 0;
        if (!last) return imp_fail(&im->b, "a Softmax that is not the model's output; only a final one is dropped");
    } else {
        return imp_fail(&im->b, "operator %s is not supported; relmask imports %s", op, supported_ops);
    }
    return imp_add_tensor(&im->b, n->name, im->b.nlayers > before ? im->b.nlayers - 1 : im->b.src,
                          consumers(im, n->name));
}

/* --- the graph --------------------------------------------------------------------- */

static int read_nodes(importer *im)
{
    const rm_json *topo = rm_json_get(im->doc, "modelTopology"), *nodes = rm_json_get(topo, "node");
    if (!nodes || nodes->type != RM_JSON_ARRAY)
        return rm_error("%s: no modelTopology.node array; expected a TF.js graph model", im->b.o->input);
    im->nodes = rm_calloc(nodes->count ? nodes->count : 1, sizeof *im->nodes, "graph nodes");
    if (!im->nodes) return -1;
    for (size_t i = 0; i < nodes->count; i++) {
        const rm_json *nd = &nodes->items[i], *name = rm_json_get(nd, "name"), *op = rm_json_get(nd, "op");
        const rm_json *in = rm_json_get(nd, "input");
        if (!name || name->type != RM_JSON_STRING || !op || op->type != RM_JSON_STRING)
            return rm_error("%s: node %zu has no name or op", im->b.o->input, i);
        tfjs_node *n = &im->nodes[im->nnodes++];
        n->name = name->string, n->op = op->string, n->node = nd;
        for (size_t k = 0; in && in->type == RM_JSON_ARRAY && k < in->count; k++) {
            const char *s = in->items[k].type == RM_JSON_STRING ? in->items[k].string : NULL;
            if (!s) return rm_error("%s: node %zu '%s': an input that is not a string", im->b.o->input, i, n->name);
            if (s[0] == '^') continue;   /* a control dependency */
            if (n->ninputs == (int)(sizeof n->inputs / sizeof *n->inputs))
                return rm_error("%s: node %zu '%s' has too many inputs", im->b.o->input, i, n->name);
            /* "name:0" is output 0 of node "name"; the ops relmask maps have one output */
            char *copy = rm_strdup(s), *colon = copy ? strrchr(copy, ':') : NULL;
            if (!copy) return -1;
            if (colon && colon[1] == '0' && !colon[2]) *colon = 0;
            n->inputs[n->ninputs++] = copy;
        }
    }
    return 0;
}

static int read_input(importer *im)
{
    const tfjs_node *in = NULL;
    for (int i = 0; i < im->nnodes; i++)
        if (!strcmp(im->nodes[i].op, "Placeholder")) {
            if (in) return rm_error("%s: the model has several inputs ('%s', '%s'); relmask imports models of one "
                                    "image input", im->b.o->input, in->name, im->nodes[i].name);
            in = &im->nodes[i];
        }
    if (!in) return rm_error("%s: the model has no Placeholder input", im->b.o->input);
    const rm_json *dims = rm_json_get(rm_json_get(attr(in, "shape"), "shape"), "dim");
    if (!dims || dims->type != RM_JSON_ARRAY || dims->count != 4)
        return rm_error("%s: input '%s' is not a 4-D image tensor [N,H,W,C]", im->b.o->input, in->name);
    int64_t d[4];
    for (int k = 0; k < 4; k++) {
        const rm_json *size = rm_json_get(&dims->items[k], "size");
        d[k] = !size ? -1 : size->type == RM_JSON_STRING ? strtoll(size->string, NULL, 10)
             : size->type == RM_JSON_NUMBER              ? (int64_t)size->number
                                                         : -1;
    }
    if (d[3] < 1 || d[3] > RM_IMPORT_MAX_CHANNELS)
        return rm_error("%s: input '%s' has %lld channels; relmask images have 1 to %d", im->b.o->input, in->name,
                        (long long)d[3], RM_IMPORT_MAX_CHANNELS);
    RM_TRY(imp_input_size(&im->b, in->name, &d[1], &d[2]));
    return imp_input(&im->b, in->name, (int)d[3], (int)d[1], (int)d[2], consumers(im, in->name));
}

static int node_named(const importer *im, const char *name)
{
    for (int i = 0; i < im->nnodes; i++)
        if (!strcmp(im->nodes[i].name, name)) return 1;
    return 0;
}

/* Maps every node once all its inputs exist (the file's order need not be
 * topological); the output is the one node nothing reads. */
static int walk(importer *im)
{
    int left = 0, index = 0;
    for (int i = 0; i < im->nnodes; i++) {
        tfjs_node *n = &im->nodes[i];
        n->done = !strcmp(n->op, "Const") || !strcmp(n->op, "Placeholder") || !strcmp(n->op, "NoOp");
        if (!strcmp(n->op, "Const") && !tfjs_find_const(&im->wts, n->name))
            return rm_error("%s: constant '%s' is not in the weights manifest", im->b.o->input, n->name);
        left += !n->done;
    }
    while (left > 0) {
        int progress = 0;
        for (int i = 0; i < im->nnodes; i++) {
            tfjs_node *n = &im->nodes[i];
            if (n->done) continue;
            int ready = 1;
            for (int k = 0; k < n->ninputs && ready; k++)
                ready = tfjs_find_const(&im->wts, n->inputs[k]) || imp_find_tensor(&im->b, n->inputs[k]);
            if (!ready) continue;
            RM_TRY(map_node(im, n, i));
            n->done = 1, progress = 1, left--, index++;
        }
        if (!progress) {
            for (int i = 0; i < im->nnodes; i++)
                for (int k = 0; k < im->nodes[i].ninputs && !im->nodes[i].done; k++)
                    if (!node_named(im, im->nodes[i].inputs[k]))
                        return rm_error("%s: node %d '%s' (%s) reads '%s', which no node computes", im->b.o->input, i,
                                        im->nodes[i].name, im->nodes[i].op, im->nodes[i].inputs[k]);
            for (int i = 0; i < im->nnodes; i++)
                if (!im->nodes[i].done)
                    return rm_error("%s: node %d '%s' (%s) is on a cycle of the graph", im->b.o->input, i,
                                    im->nodes[i].name, im->nodes[i].op);
        }
    }
    const char *output = NULL;
    for (int i = 0; i < im->nnodes; i++) {
        const tfjs_node *n = &im->nodes[i];
        if (!strcmp(n->op, "Const") || !strcmp(n->op, "NoOp") || !is_last(im, n)) continue;
        if (output) return rm_error("%s: the model has several outputs ('%s', '%s'); relmask imports models of one "
                                    "output (the class scores)", im->b.o->input, output, n->name);
        output = n->name;
    }
    return output ? imp_finish(&im->b, output) : rm_error("%s: the model has no output", im->b.o->input);
}

static void free_importer(importer *im)
{
    tfjs_free_weights(&im->wts);
    for (int i = 0; i < im->nnodes; i++)
        for (int k = 0; k < im->nodes[i].ninputs; k++) free(im->nodes[i].inputs[k]);
    free(im->nodes);
    rm_json_free(im->doc);
    imp_free(&im->b);
}

int rm_import_tfjs(const rm_import_options *o)
{
    importer im = {.b = {.o = o}};
    int rc = rm_json_load(&im.doc, o->input);
    if (rc != 0) return rm_error_prefix("not a TF.js model.json");
    const rm_json *format = rm_json_get(im.doc, "format"), *topo = rm_json_get(im.doc, "modelTopology");
    const char *fmt = format && format->type == RM_JSON_STRING ? format->string : "";
    /* a layers model: its format, or (older TF.js, no format) a Keras topology */
    if (!strcmp(fmt, "layers-model") ||
        (!fmt[0] && (rm_json_get(topo, "class_name") || rm_json_get(topo, "model_config")))) {
        rc = tfjs_import_layers(o, im.doc);
        rm_json_free(im.doc);
        return rc;
    }
    if (strcmp(fmt, "graph-model") && !rm_json_get(topo, "node"))
        rc = rm_error("%s: format '%s'; expected a TF.js graph model (format graph-model) or layers model (format "
                      "layers-model)",
                      o->input, fmt);
    if (rc == 0) rc = tfjs_load_manifest(&im.wts, im.doc, o->input);
    if (rc == 0) rc = read_nodes(&im);
    if (rc == 0) rc = read_input(&im);
    if (rc == 0) rc = walk(&im);
    if (rc == 0) {
        const rm_json *by = rm_json_get(im.doc, "generatedBy"), *conv = rm_json_get(im.doc, "convertedBy");
        const char *gen = by && by->type == RM_JSON_STRING ? by->string : "?";
        const char *cvt = conv && conv->type == RM_JSON_STRING ? conv->string : "?";
        char header[2048], params[2048];
        snprintf(header, sizeof header,
                 "# Imported by relmask import tfjs from %s\n# (TF.js graph model, generated by %s, converted by %s).\n",
                 o->input, gen, cvt);
        snprintf(params, sizeof params, "imported_from=%s\nformat=tfjs-graph-model\nproducer=%s\nconverted_by=%s\n",
                 o->input, gen, cvt);
        rc = imp_write_model(&im.b, header, params);
    }
    free_importer(&im);
    return rc;
}
