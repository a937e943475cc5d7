/* relmask import onnx: an ONNX graph of relmask's layers (a chain, or a
 * graph with skip connections, branches and concatenations) becomes a
 * network definition (text, with `from =` where a layer does not read the
 * one before it) and its weights in a model file.
 *
 * The walk keeps a table of the data tensors computed so far: the layer
 * that produced each (or the network input) and its shape [C,H,W] or [F].
 * Every node either computes constants only (folded, onnx_fold), or reads
 * data tensors and becomes a layer (or nothing: Identity, zero Pad, a
 * Flatten of a flat tensor: its output names the same layer's output), or
 * is an affine op on a constant that folds into the input normalization
 * (before the first layer) or into the dense layer that computed its input
 * (after a Gemm/MatMul). Anything else stops with the node named. */
#include "import/import.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "import/onnx_graph.h"
#include "ingest/ingest.h"
#include "nn/model_file.h"
#include "nn/net.h"
#include "nn/netdef.h"

typedef struct {
    rm_layer_type type;
    int num_inputs, inputs[RM_MAX_INPUTS];   /* earlier layers or RM_INPUT_NETWORK */
    int readers;                             /* layers that read this one's output */
    int filters, size, stride, pad, bias, units, groups;
    double p, eps, momentum;
    int64_t fan_in;                     /* dense: I */
    float *weight, *bias_v;             /* conv [O,I,K,K], dense [O,I]; bias [O] */
    float *gamma, *beta, *mean, *var;   /* batchnorm [C] */
} imp_layer;

/* A data tensor: which layer's output it is, its shape, and how many node
 * inputs (and graph outputs) name it. */
typedef struct {
    const char *name;
    int layer;              /* an index into layers, or RM_INPUT_NETWORK */
    int flat;
    int64_t c, h, w;
    int consumers;
} imp_tensor;

typedef struct {
    const rm_import_onnx_options *o;
    onnx_graph g;
    imp_layer *layers;
    int nlayers;
    imp_tensor *tensors;
    int ntensors;
    /* the node being mapped: its data input (tensor and layer) and shape,
     * which the map_* functions update to the output's */
    const imp_tensor *in;
    int src;
    int flat;               /* 1: [F] = c; 0: [C,H,W] */
    int64_t c, h, w;
    int channels, in_h, in_w;
    double a[RM_IMPORT_MAX_CHANNELS], b[RM_IMPORT_MAX_CHANNELS];   /* input affine: y = a x + b */
    char what[600];         /* "MODEL.onnx: node 3 'name' (Conv)" */
} importer;

static const char *label(importer *im, const Onnx__NodeProto *n, int index)
{
    snprintf(im->what, sizeof im->what, "%s: node %d '%s' (%s)", im->o->input, index,
             n->name && n->name[0] ? n->name : "?", n->op_type ? n->op_type : "?");
    return im->what;
}

static int fail(importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(importer *im, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rm_error("%s: %s", im->what, msg);
}

static imp_layer *add_layer(importer *im, rm_layer_type type)
{
    imp_layer *grown = rm_realloc(im->layers, sizeof *grown * (size_t)(im->nlayers + 1), "imported layers");
    if (!grown) return NULL;
    im->layers = grown;
    imp_layer *l = &im->layers[im->nlayers++];
    memset(l, 0, sizeof *l);
    l->type = type;
    l->num_inputs = 1;
    l->inputs[0] = im->src;
    if (im->src >= 0) im->layers[im->src].readers++;
    return l;
}

static float *copy_floats(const float *src, int64_t count, float scale)
{
    float *dst = rm_malloc(sizeof *dst * (size_t)(count ? count : 1), "imported weights");
    if (dst)
        for (int64_t i = 0; i < count; i++) dst[i] = src[i] * scale;
    return dst;
}

/* A float constant input of node n with `count` values. */
static const onnx_const *weight_input(importer *im, const Onnx__NodeProto *n, size_t k, int64_t count,
                                      const char *role)
{
    if (k >= n->n_input || !n->input[k][0]) {
        fail(im, "missing its %s input", role);
        return NULL;
    }
    const onnx_const *c = onnx_const_find(&im->g, n->input[k]);
    if (!c || c->is_int) {
        fail(im, "its %s '%s' is not a constant float tensor (weights computed at run time are not supported)",
             role, n->input[k]);
        return NULL;
    }
    if (count >= 0 && c->count != count) {
        fail(im, "its %s '%s' has %lld values, expected %lld", role, n->input[k], (long long)c->count,
             (long long)count);
        return NULL;
    }
    for (int64_t i = 0; i < c->count; i++)
        if (!isfinite(c->f[i])) {
            fail(im, "its %s '%s' holds %s at index %lld; the model's weights must be finite", role, n->input[k],
                 isnan(c->f[i]) ? "NaN" : "an infinity", (long long)i);
            return NULL;
        }
    return c;
}

/* square kernel, equal strides and pads, no dilation: the layers relmask has */
static int window(importer *im, const Onnx__NodeProto *n, int kernel_from_weight, int *size, int *stride, int *pad)
{
    int nk, ns, np, nd;
    const int64_t *k = onnx_attr_ints(n, "kernel_shape", &nk), *s = onnx_attr_ints(n, "strides", &ns);
    const int64_t *p = onnx_attr_ints(n, "pads", &np), *d = onnx_attr_ints(n, "dilations", &nd);
    char autopad[32];
    const char *ap = onnx_attr_string(n, "auto_pad", autopad, sizeof autopad);
    if (ap && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        return fail(im, "auto_pad = %s is not supported; export with explicit pads", ap);
    if (nk == 0 && kernel_from_weight <= 0) return fail(im, "no kernel_shape");
    if (nk != 0 && nk != 2) return fail(im, "a %d-D kernel; relmask layers are 2-D", nk);
    if (nk == 2 && k[0] != k[1]) return fail(im, "kernel %lldx%lld is not square", (long long)k[0], (long long)k[1]);
    *size = nk ? (int)k[0] : kernel_from_weight;
    if (ns && (ns != 2 || s[0] != s[1]))
        return fail(im, "strides differ between height and width; relmask layers use one stride");
    *stride = ns ? (int)s[0] : 1;
    if (np && np != 4) return fail(im, "%d pads, expected 4", np);
    if (np && (p[0] != p[1] || p[0] != p[2] || p[0] != p[3]))
        return fail(im, "pads %lld,%lld,%lld,%lld are not the same on every side (asymmetric padding is not "
                        "supported yet)",
                    (long long)p[0], (long long)p[1], (long long)p[2], (long long)p[3]);
    *pad = np ? (int)p[0] : 0;
    for (int i = 0; i < nd; i++)
        if (d[i] != 1) return fail(im, "dilation %lld is not supported yet", (long long)d[i]);
    if (*size < 1 || *size > 64 || *stride < 1 || *stride > 64 || *pad < 0 || *pad > 64)
        return fail(im, "kernel %d, stride %d, pad %d outside what relmask layers take (1..64, 1..64, 0..64)", *size,
                    *stride, *pad);
    return 0;
}

static int need_spatial(importer *im)
{
    return im->flat ? fail(im, "expects an image tensor [N,C,H,W] but the data is already flat [N,%lld]",
                           (long long)im->c)
                    : 0;
}

static int map_conv(importer *im, const Onnx__NodeProto *n)
{
    RM_TRY(need_spatial(im));
    int64_t groups = onnx_attr_int(n, "group", 1);
    if (groups < 1 || im->c % groups)
        return fail(im, "group = %lld does not divide the %lld input channels", (long long)groups, (long long)im->c);
    const onnx_const *w = weight_input(im, n, 1, -1, "weight");
    if (!w) return -1;
    if (w->ndims != 4 || w->dims[1] != im->c / groups || w->dims[2] != w->dims[3] || w->dims[0] % groups)
        return fail(im, "weight '%s' is not [O,%lld,K,K] with O a multiple of the %lld groups", n->input[1],
                    (long long)(im->c / groups), (long long)groups);
    int size, stride, pad;
    RM_TRY(window(im, n, (int)w->dims[2], &size, &stride, &pad));
    if (size != w->dims[2]) return fail(im, "kernel_shape %d but the weight's kernel is %lld", size, (long long)w->dims[2]);
    int has_bias = n->n_input > 2 && n->input[2][0];
    const onnx_const *b = has_bias ? weight_input(im, n, 2, w->dims[0], "bias") : NULL;
    if (has_bias && !b) return -1;
    imp_layer *l = add_layer(im, RM_LAYER_CONV);
    if (!l) return -1;
    l->filters = (int)w->dims[0], l->size = size, l->stride = stride, l->pad = pad, l->bias = has_bias;
    l->groups = (int)groups;
    if (!(l->weight = copy_floats(w->f, w->count, 1))) return -1;
    if (b && !(l->bias_v = copy_floats(b->f, b->count, 1))) return -1;
    int64_t h = (im->h + 2 * pad - size) / stride + 1, wd = (im->w + 2 * pad - size) / stride + 1;
    if (h < 1 || wd < 1) return fail(im, "a %dx%d kernel does not fit the %lldx%lld input", size, size,
                                     (long long)im->h, (long long)im->w);
    im->c = l->filters, im->h = h, im->w = wd;
    return 0;
}

static int map_pool(importer *im, const Onnx__NodeProto *n, rm_layer_type type)
{
    RM_TRY(need_spatial(im));
    int size, stride, pad;
    RM_TRY(window(im, n, 0, &size, &stride, &pad));
    if (onnx_attr_int(n, "ceil_mode", 0) != 0) return fail(im, "ceil_mode = 1 is not supported (relmask rounds down)");
    if (type == RM_LAYER_MAXPOOL && n->n_output > 1 && n->output[1][0])
        return fail(im, "its indices output is used; relmask pooling has none");
    if (type == RM_LAYER_AVGPOOL && pad > 0 && onnx_attr_int(n, "count_include_pad", 0) == 0)
        return fail(im, "averages over the valid cells only (count_include_pad = 0) with padding %d; relmask's "
                        "average pooling counts padding cells",
                    pad);
    imp_layer *l = add_layer(im, type);
    if (!l) return -1;
    l->size = size, l->stride = stride, l->pad = pad;
    int64_t h = (im->h + 2 * pad - size) / stride + 1, w = (im->w + 2 * pad - size) / stride + 1;
    if (h < 1 || w < 1) return fail(im, "a %dx%d window does not fit the %lldx%lld input", size, size,
                                    (long long)im->h, (long long)im->w);
    im->h = h, im->w = w;
    return 0;
}

static int map_batchnorm(importer *im, const Onnx__NodeProto *n)
{
    if (onnx_attr_int(n, "training_mode", 0) != 0) return fail(im, "exported in training mode; export model.eval()");
    if (n->n_output > 1 && n->output[1][0]) return fail(im, "exported in training mode (running statistics outputs)");
    int64_t c = im->c;
    const onnx_const *s = weight_input(im, n, 1, c, "scale"), *b = s ? weight_input(im, n, 2, c, "bias") : NULL;
    const onnx_const *m = b ? weight_input(im, n, 3, c, "mean") : NULL, *v = m ? weight_input(im, n, 4, c, "var") : NULL;
    if (!v) return -1;
    imp_layer *l = add_layer(im, RM_LAYER_BATCHNORM);
    if (!l) return -1;
    l->eps = onnx_attr_float(n, "epsilon", 1e-5f);
    l->momentum = 1.0 - onnx_attr_float(n, "momentum", 0.9f);
    if (!(l->gamma = copy_floats(s->f, c, 1)) || !(l->beta = copy_floats(b->f, c, 1)) ||
        !(l->mean = copy_floats(m->f, c, 1)) || !(l->var = copy_floats(v->f, c, 1)))
        return -1;
    return 0;
}

static int flatten(importer *im)
{
    if (im->flat) return 0;
    if (!add_layer(im, RM_LAYER_FLATTEN)) return -1;
    im->c = im->c * im->h * im->w, im->h = im->w = 1, im->flat = 1;
    return 0;
}

/* Reshape to [batch, C*H*W] (batch: 1 from Shape, -1 or 0) is a flatten. */
static int map_reshape(importer *im, const Onnx__NodeProto *n)
{
    const onnx_const *s = n->n_input > 1 ? onnx_const_find(&im->g, n->input[1]) : NULL;
    if (!s || !s->is_int) return fail(im, "its target shape is not a constant");
    int64_t total = im->flat ? im->c : im->c * im->h * im->w;
    if (s->count == 2 && (s->i[0] == 1 || s->i[0] == -1 || s->i[0] == 0) &&
        (s->i[1] == total || s->i[1] == -1 || (s->i[0] == -1 && s->i[1] == total)))
        return flatten(im);
    if (s->count == 4 && !im->flat && (s->i[0] == 1 || s->i[0] == -1 || s->i[0] == 0) &&
        (s->i[1] == im->c || s->i[1] == 0) && (s->i[2] == im->h || s->i[2] == 0) && (s->i[3] == im->w || s->i[3] == 0))
        return 0;
    char shape[256] = "";
    for (int64_t k = 0; k < s->count && k < 8; k++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", k ? "," : "", (long long)s->i[k]);
    return fail(im, "reshapes to [%s]; only a flatten to [N,%lld] (or a no-op) is supported", shape,
                (long long)total);
}

static int map_dense(importer *im, const Onnx__NodeProto *n, int is_gemm)
{
    if (!im->flat) return fail(im, "reads an image tensor [N,%lld,%lld,%lld]; expected a Flatten before it",
                               (long long)im->c, (long long)im->h, (long long)im->w);
    const onnx_const *w = weight_input(im, n, 1, -1, "weight");
    if (!w) return -1;
    int transb = is_gemm && onnx_attr_int(n, "transB", 0);
    if (is_gemm && onnx_attr_int(n, "transA", 0)) return fail(im, "transA = 1 is not supported");
    if (w->ndims != 2 || w->dims[transb ? 1 : 0] != im->c)
        return fail(im, "weight '%s' is not [%s%lld%s]", n->input[1], transb ? "O," : "", (long long)im->c,
                    transb ? "" : ",O");
    int64_t out = w->dims[transb ? 0 : 1], in = im->c;
    float alpha = is_gemm ? onnx_attr_float(n, "alpha", 1.0f) : 1.0f, beta = is_gemm ? onnx_attr_float(n, "beta", 1.0f) : 1.0f;
    imp_layer *l = add_layer(im, RM_LAYER_DENSE);
    if (!l) return -1;
    l->units = (int)out;
    l->fan_in = in;
    if (!(l->weight = rm_malloc(sizeof(float) * (size_t)(out * in), "imported weights"))) return -1;
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++) l->weight[o * in + i] = alpha * (transb ? w->f[o * in + i] : w->f[i * out + o]);
    if (!(l->bias_v = rm_calloc((size_t)out, sizeof(float), "imported bias"))) return -1;
    if (is_gemm && n->n_input > 2 && n->input[2][0]) {
        const onnx_const *c = weight_input(im, n, 2, -1, "bias");
        if (!c) return -1;
        if (c->count != out && c->count != 1)
            return fail(im, "bias '%s' has %lld values, expected %lld or 1", n->input[2], (long long)c->count,
                        (long long)out);
        for (int64_t o = 0; o < out; o++) l->bias_v[o] = beta * c->f[c->count == 1 ? 0 : o];
        l->bias = 1;
    }
    im->c = out;
    return 0;
}

/* The parser's default name of layer i: its type and its number among the
 * layers of that type ("conv3"); the network input is "input". */
static void layer_name(const importer *im, int i, char *out, size_t size)
{
    if (i == RM_INPUT_NETWORK) {
        snprintf(out, size, "input");
        return;
    }
    int k = 0;
    for (int j = 0; j <= i; j++) k += im->layers[j].type == im->layers[i].type;
    snprintf(out, size, "%s%d", rm_layer_type_names[im->layers[i].type], k);
}

static const imp_tensor *find_tensor(const importer *im, const char *name)
{
    for (int i = im->ntensors - 1; i >= 0; i--)
        if (!strcmp(im->tensors[i].name, name)) return &im->tensors[i];
    return NULL;
}

/* Add/Sub/Mul/Div of the data tensor im->in and a float constant. Returns
 * 1 when folded, 0 when the node is not such an op. */
static int map_affine(importer *im, const Onnx__NodeProto *n)
{
    const char *op = n->op_type;
    int add = !strcmp(op, "Add"), sub = !strcmp(op, "Sub"), mul = !strcmp(op, "Mul"), div = !strcmp(op, "Div");
    if (!(add || sub || mul || div) || n->n_input != 2) return 0;
    const imp_tensor *x0 = find_tensor(im, n->input[0]), *x1 = find_tensor(im, n->input[1]);
    if (x0 && x1) {
        if (add) return 0;   /* a residual sum: an [add] layer */
        return fail(im, "%s of two computed tensors ('%s' and '%s') is not supported; relmask adds tensors "
                        "([add]) but does not subtract, multiply or divide them",
                    op, n->input[0], n->input[1]);
    }
    int data_first = x0 != NULL;
    const onnx_const *k = onnx_const_find(&im->g, n->input[data_first ? 1 : 0]);
    if (!k || k->is_int)
        return fail(im, "its other input '%s' is neither a float constant nor computed by an earlier node",
                    n->input[data_first ? 1 : 0]);
    if (!data_first && div) return fail(im, "divides a constant by the data; not an affine map");
    int negate = !data_first && sub;   /* c - x */
    /* per-channel (or per-unit) values: 1, or the channel count in the channel axis */
    int64_t per = im->c;
    int ok = k->count == 1;
    if (!ok && k->count == per) {
        ok = im->flat ? k->dims[k->ndims - 1] == per
                      : k->ndims >= 3 && k->dims[k->ndims - 3] == per && k->dims[k->ndims - 1] == 1 &&
                            k->dims[k->ndims - 2] == 1;
    }
    if (!ok) return fail(im, "its constant '%s' (%lld values) does not broadcast per channel", k->name,
                         (long long)k->count);
    if (im->src == RM_INPUT_NETWORK && im->nlayers == 0 && !im->flat && im->in->consumers == 1) {
        for (int c = 0; c < im->channels; c++) {
            double v = k->f[k->count == 1 ? 0 : c];
            if (negate) im->a[c] = -im->a[c], im->b[c] = v - im->b[c];
            else if (add) im->b[c] += v;
            else if (sub) im->b[c] -= v;
            else if (mul) im->a[c] *= v, im->b[c] *= v;
            else if (v == 0) return fail(im, "divides by zero");
            else im->a[c] /= v, im->b[c] /= v;
        }
        return 1;
    }
    imp_layer *l = im->src >= 0 ? &im->layers[im->src] : NULL;
    if (l && l->type == RM_LAYER_DENSE && im->flat && l->readers == 0 && im->in->consumers == 1) {
        if (negate) return fail(im, "subtracts a dense layer's output from a constant; not supported yet");
        for (int64_t o = 0; o < l->units; o++) {
            double v = k->f[k->count == 1 ? 0 : o];
            if (add) {
                l->bias_v[o] += (float)v;
            } else if (sub) {
                l->bias_v[o] -= (float)v;
            } else {
                if (div && v == 0) return fail(im, "divides by zero");
                double scale = mul ? v : 1.0 / v;
                l->bias_v[o] = (float)(l->bias_v[o] * scale);
                for (int64_t i = 0; i < l->fan_in; i++) l->weight[o * l->fan_in + i] *= (float)scale;
            }
        }
        if (add || sub) l->bias = 1;
        return 1;
    }
    if (im->src == RM_INPUT_NETWORK)
        return fail(im, "%s by a constant on the network input where it is not the input normalization (the "
                        "input is read elsewhere too, or after a layer)",
                    op);
    return fail(im, "%s by a constant after a %s layer is not supported yet (only after the input, as its "
                    "normalization, or after a dense layer read by nothing else)",
                op, rm_layer_type_names[l->type]);
}

static int is_graph_output(const importer *im, const char *name)
{
    for (size_t i = 0; i < im->g.graph->n_output; i++)
        if (!strcmp(im->g.graph->output[i]->name, name)) return 1;
    return 0;
}

static int zero_pad(importer *im, const Onnx__NodeProto *n)
{
    char mode[32];
    const char *m = onnx_attr_string(n, "mode", mode, sizeof mode);
    int np = 0;
    const int64_t *p = onnx_attr_ints(n, "pads", &np);
    if (!p && n->n_input > 1 && n->input[1][0]) {
        const onnx_const *c = onnx_const_find(&im->g, n->input[1]);
        if (!c || !c->is_int) return fail(im, "its pads are not constant");
        p = c->i;
        np = (int)c->count;
    }
    for (int i = 0; i < np; i++)
        if (p[i] != 0)
            return fail(im, "pads by %lld%s; a Pad that changes the size is not supported yet (pad in the "
                            "convolution or pooling instead)",
                        (long long)p[i], m && strcmp(m, "constant") ? "" : " (constant)");
    return 0;
}

/* Add of two computed tensors ([add]) or Concat along the channels
 * ([concat]): a layer with several inputs. */
static int map_join(importer *im, const Onnx__NodeProto *n, int concat)
{
    const imp_tensor *x[RM_MAX_INPUTS] = {0};
    int count = (int)n->n_input;
    if (count < 2 || count > RM_MAX_INPUTS)
        return fail(im, "joins %d tensors; relmask's [%s] takes 2 to %d", count, concat ? "concat" : "add",
                    RM_MAX_INPUTS);
    for (int k = 0; k < count; k++) {
        if (!(x[k] = find_tensor(im, n->input[k])))
            return fail(im, "its input '%s' is %s; relmask %s computed tensors only", n->input[k],
                        onnx_const_find(&im->g, n->input[k]) ? "a constant" : "not computed by an earlier node",
                        concat ? "concatenates" : "adds");
        for (int j = 0; j < k; j++)
            if (x[j]->layer == x[k]->layer)
                return fail(im, "reads the same tensor twice ('%s'); relmask's layers read each input once",
                            n->input[k]);
        if (x[k]->flat != x[0]->flat || x[k]->h != x[0]->h || x[k]->w != x[0]->w || (!concat && x[k]->c != x[0]->c))
            return fail(im, "its inputs have different shapes ('%s' [%lld,%lld,%lld], '%s' [%lld,%lld,%lld]); "
                            "relmask does not broadcast",
                        n->input[0], (long long)x[0]->c, (long long)x[0]->h, (long long)x[0]->w, n->input[k],
                        (long long)x[k]->c, (long long)x[k]->h, (long long)x[k]->w);
    }
    int64_t c = x[0]->c;
    if (concat) {
        int64_t axis = onnx_attr_int(n, "axis", 1);
        if (axis < 0) axis += x[0]->flat ? 2 : 4;
        if (axis != 1) return fail(im, "concatenates along axis %lld; relmask concatenates channels (axis 1)",
                                   (long long)onnx_attr_int(n, "axis", 1));
        for (int k = 1; k < count; k++) c += x[k]->c;
    }
    im->src = x[0]->layer;
    imp_layer *l = add_layer(im, concat ? RM_LAYER_CONCAT : RM_LAYER_ADD);
    if (!l) return -1;
    l->num_inputs = count;
    for (int k = 1; k < count; k++) {
        l->inputs[k] = x[k]->layer;
        if (x[k]->layer >= 0) im->layers[x[k]->layer].readers++;
    }
    im->flat = x[0]->flat, im->c = c, im->h = x[0]->h, im->w = x[0]->w;
    return 0;
}

/* The node's data input: the first input an earlier node computed. */
static int data_input(importer *im, const Onnx__NodeProto *n)
{
    for (size_t k = 0; k < n->n_input; k++) {
        const imp_tensor *t = find_tensor(im, n->input[k]);
        if (!t) continue;
        im->in = t, im->src = t->layer;
        im->flat = t->flat, im->c = t->c, im->h = t->h, im->w = t->w;
        return 0;
    }
    return fail(im, "reads %s'%s', which no earlier node computed", n->n_input ? "" : "nothing, not even ",
                n->n_input ? n->input[0] : "");
}

static int add_tensor(importer *im, const char *name, int layer)
{
    imp_tensor *grown = rm_realloc(im->tensors, sizeof *grown * (size_t)(im->ntensors + 1), "tensor table");
    if (!grown) return -1;
    im->tensors = grown;
    imp_tensor *t = &im->tensors[im->ntensors++];
    *t = (imp_tensor){.name = name, .layer = layer, .flat = im->flat, .c = im->c, .h = im->h, .w = im->w};
    const Onnx__GraphProto *gr = im->g.graph;
    for (size_t i = 0; i < gr->n_node; i++)
        for (size_t k = 0; k < gr->node[i]->n_input; k++) t->consumers += !strcmp(gr->node[i]->input[k], name);
    for (size_t i = 0; i < gr->n_output; i++) t->consumers += !strcmp(gr->output[i]->name, name);
    return 0;
}

/* One node that reads data tensors; 0 when mapped (its output is in the
 * tensor table), -1 when it cannot be. */
static int map_node(importer *im, const Onnx__NodeProto *n, int index, int last)
{
    const char *op = n->op_type ? n->op_type : "";
    label(im, n, index);
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
        return fail(im, "an operator of domain '%s'; relmask imports the standard ONNX operators", n->domain);
    RM_TRY(data_input(im, n));
    int before = im->nlayers;
    int affine = map_affine(im, n);
    if (affine < 0) return -1;
    if (affine == 0) {
        if (!strcmp(op, "Add")) RM_TRY(map_join(im, n, 0));
        else if (!strcmp(op, "Concat")) RM_TRY(map_join(im, n, 1));
        else if (strcmp(n->input[0], im->in->name))
            return fail(im, "its data input '%s' is not its first input", im->in->name);
        else if (!strcmp(op, "Conv")) RM_TRY(map_conv(im, n));
        else if (!strcmp(op, "Relu")) RM_TRY(add_layer(im, RM_LAYER_RELU) ? 0 : -1);
        else if (!strcmp(op, "MaxPool")) RM_TRY(map_pool(im, n, RM_LAYER_MAXPOOL));
        else if (!strcmp(op, "AveragePool")) RM_TRY(map_pool(im, n, RM_LAYER_AVGPOOL));
        else if (!strcmp(op, "GlobalAveragePool")) {
            RM_TRY(need_spatial(im));
            RM_TRY(add_layer(im, RM_LAYER_GLOBALAVGPOOL) ? 0 : -1);
            im->h = im->w = 1;
        } else if (!strcmp(op, "BatchNormalization")) RM_TRY(map_batchnorm(im, n));
        else if (!strcmp(op, "Flatten")) {
            int64_t axis = onnx_attr_int(n, "axis", 1);
            if (axis != 1) return fail(im, "axis = %lld; only a flatten after the batch axis (1) is supported",
                                        (long long)axis);
            RM_TRY(flatten(im));
        } else if (!strcmp(op, "Reshape")) RM_TRY(map_reshape(im, n));
        else if (!strcmp(op, "Squeeze")) {
            if (im->flat || im->h != 1 || im->w != 1)
                return fail(im, "squeezes a [N,%lld,%lld,%lld] tensor; only [N,C,1,1] to [N,C] is supported",
                            (long long)im->c, (long long)im->h, (long long)im->w);
            RM_TRY(flatten(im));
        } else if (!strcmp(op, "Gemm")) RM_TRY(map_dense(im, n, 1));
        else if (!strcmp(op, "MatMul")) RM_TRY(map_dense(im, n, 0));
        else if (!strcmp(op, "Dropout")) {
            double p = onnx_attr_float(n, "ratio", 0.5f);
            if (n->n_input > 1 && n->input[1][0]) {
                const onnx_const *r = onnx_const_find(&im->g, n->input[1]);
                if (!r || r->is_int || r->count != 1) return fail(im, "its ratio is not a constant");
                p = r->f[0];
            }
            if (!(p >= 0 && p < 1)) return fail(im, "ratio %g outside [0, 1)", p);
            imp_layer *l = add_layer(im, RM_LAYER_DROPOUT);
            if (!l) return -1;
            l->p = p;
        } else if (!strcmp(op, "Identity")) {
        } else if (!strcmp(op, "Pad")) RM_TRY(zero_pad(im, n));
        else if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
            if (!last || !is_graph_output(im, n->output[0]))
                return fail(im, "a %s that is not the model's output; only a final one is dropped (relmask "
                                "models output logits)",
                            op);
        } else {
            return fail(im, "operator %s is not supported; relmask imports Conv (grouped too), "
                            "BatchNormalization, Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, "
                            "Squeeze, Gemm, MatMul, Add (of two tensors, or a constant), Sub/Mul/Div by constants, "
                            "Concat of channels, Dropout, Identity, zero Pad and a final Softmax",
                        op);
        }
    }
    if (n->n_output < 1 || !n->output[0][0]) return fail(im, "has no output");
    return add_tensor(im, n->output[0], im->nlayers > before ? im->nlayers - 1 : im->src);
}

static int read_input(importer *im)
{
    const Onnx__GraphProto *gr = im->g.graph;
    const Onnx__ValueInfoProto *in = NULL;
    int count = 0;
    for (size_t i = 0; i < gr->n_input; i++)
        if (!onnx_const_find(&im->g, gr->input[i]->name)) in = gr->input[i], count++;
    if (count != 1) return rm_error("%s: the model has %d inputs besides its weights; relmask imports models of one "
                                    "image input", im->o->input, count);
    if (gr->n_output != 1) return rm_error("%s: the model has %zu outputs; relmask imports models of one output "
                                           "(the class scores)", im->o->input, gr->n_output);
    const Onnx__TypeProto *t = in->type;
    const Onnx__TensorShapeProto *shape = t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type
                                              ? t->tensor_type->shape
                                              : NULL;
    if (!shape || shape->n_dim != 4)
        return rm_error("%s: input '%s' is not a 4-D image tensor [N,C,H,W]", im->o->input, in->name);
    if (t->tensor_type->has_elem_type && t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return rm_error("%s: input '%s' has ONNX type %d; relmask feeds float32 images", im->o->input, in->name,
                        t->tensor_type->elem_type);
    int64_t dims[4];
    for (int d = 1; d < 4; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = shape->dim[d];
        dims[d] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? dim->dim_value : -1;
    }
    if (dims[1] < 1 || dims[1] > RM_IMPORT_MAX_CHANNELS)
        return rm_error("%s: input '%s' has %lld channels; relmask images have 1 to %d", im->o->input, in->name,
                        (long long)dims[1], RM_IMPORT_MAX_CHANNELS);
    static const char *const axis[4] = {"", "", "height", "width"};
    int want[4] = {0, 0, im->o->height, im->o->width};
    for (int d = 2; d < 4; d++) {
        if (dims[d] < 0 && want[d] <= 0)
            return rm_error("%s: input '%s' has a symbolic %s; give --size", im->o->input, in->name, axis[d]);
        if (dims[d] > 0 && want[d] > 0 && dims[d] != want[d])
            return rm_error("%s: input '%s' is %lldx%lld but --size says %dx%d", im->o->input, in->name,
                            (long long)dims[3], (long long)dims[2], im->o->width, im->o->height);
        if (dims[d] < 0) dims[d] = want[d];
        if (dims[d] > 4096) return rm_error("%s: input %s %lld is larger than 4096", im->o->input, axis[d],
                                            (long long)dims[d]);
    }
    im->channels = (int)dims[1];
    im->c = dims[1], im->h = im->in_h = (int)dims[2], im->w = im->in_w = (int)dims[3];
    for (int c = 0; c < RM_IMPORT_MAX_CHANNELS; c++) im->a[c] = 1, im->b[c] = 0;
    im->flat = 0;
    return add_tensor(im, in->name, RM_INPUT_NETWORK);
}

static int walk(importer *im)
{
    const Onnx__GraphProto *gr = im->g.graph;
    int last = (int)gr->n_node - 1;
    while (last >= 0 && (!strcmp(gr->node[last]->op_type, "Constant"))) last--;
    for (size_t i = 0; i < gr->n_node; i++) {
        const Onnx__NodeProto *n = gr->node[i];
        if (!n->op_type) return rm_error("%s: node %zu has no operator", im->o->input, i);
        const imp_tensor *t = n->n_input ? find_tensor(im, n->input[0]) : NULL;
        onnx_data_shape data = {.name = t ? t->name : NULL, .ndims = t && t->flat ? 2 : 4,
                                .dims = {1, t ? t->c : 0, t ? t->h : 0, t ? t->w : 0}};
        int folded = onnx_fold(&im->g, n, (int)i, &data);
        if (folded < 0) return -1;
        if (!folded) RM_TRY(map_node(im, n, (int)i, (int)i == last));
    }
    if (im->nlayers == 0) return rm_error("%s: the model has no layer relmask can run", im->o->input);
    const imp_tensor *out = find_tensor(im, gr->output[0]->name);
    char name[48];
    if (!out || out->layer != im->nlayers - 1) {
        layer_name(im, im->nlayers - 1, name, sizeof name);
        return rm_error("%s: the model's output '%s' is not computed by its last layer (%s)", im->o->input,
                        gr->output[0]->name, name);
    }
    for (int i = 0; i + 1 < im->nlayers; i++)
        if (im->layers[i].readers == 0) {
            layer_name(im, i, name, sizeof name);
            return rm_error("%s: layer %s computes a tensor that does not reach the model's output; relmask "
                            "networks have one output",
                            im->o->input, name);
        }
    /* the output's shape, for the class count */
    im->flat = out->flat, im->c = out->c, im->h = out->h, im->w = out->w;
    return 0;
}

/* --- the network text and the model file ----------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
} text;

static int put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return rm_error("formatting the network text failed");
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = 2 * (t->len + (size_t)n + 1);
        char *grown = rm_realloc(t->buf, cap, "network text");
        if (!grown) return -1;
        t->buf = grown, t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
    return 0;
}

static void net_name(char *out, size_t size, const char *given, const char *path)
{
    const char *base = given ? given : strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < size; p++) {
        if (!given && !strcmp(p, ".onnx")) break;
        char c = *p;
        out[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                           c == '.'
                       ? c
                       : '_';
    }
    out[n] = 0;
    if (n == 0) snprintf(out, size, "imported");
}

static int network_text(importer *im, int classes, char **out)
{
    text t = {0};
    char name[64];
    net_name(name, sizeof name, im->o->name, im->o->input);
    const Onnx__ModelProto *m = im->g.model;
    int rc = put(&t, "# Imported by relmask import onnx from %s\n# (producer %s %s, ONNX opset %d).\n\n[net]\nname = "
                     "%s\ninput = %dx%dx%d\nclasses = %d\n",
                 im->o->input, m->producer_name ? m->producer_name : "?", m->producer_version ? m->producer_version : "",
                 im->g.opset, name, im->channels, im->in_h, im->in_w, classes);
    for (int i = 0; rc == 0 && i < im->nlayers; i++) {
        const imp_layer *l = &im->layers[i];
        rc = put(&t, "\n[%s]\n", rm_layer_type_names[l->type]);
        if (rc == 0 && (l->num_inputs > 1 || l->inputs[0] != i - 1)) {
            rc = put(&t, "from = ");
            for (int k = 0; rc == 0 && k < l->num_inputs; k++) {
                char from[48];
                layer_name(im, l->inputs[k], from, sizeof from);
                rc = put(&t, "%s%s", k ? ", " : "", from);
            }
            if (rc == 0) rc = put(&t, "\n");
        }
        if (rc) break;
        switch (l->type) {
        case RM_LAYER_CONV:
            rc = put(&t, "filters = %d\nsize = %d\nstride = %d\npad = %d\nbias = %d\n", l->filters, l->size, l->stride,
                     l->pad, l->bias);
            if (rc == 0 && l->groups > 1) rc = put(&t, "groups = %d\n", l->groups);
            break;
        case RM_LAYER_MAXPOOL:
        case RM_LAYER_AVGPOOL:
            rc = put(&t, "size = %d\nstride = %d\npad = %d\n", l->size, l->stride, l->pad);
            break;
        case RM_LAYER_DENSE: rc = put(&t, "units = %d\nbias = %d\n", l->units, l->bias); break;
        case RM_LAYER_DROPOUT: rc = put(&t, "p = %.9g\n", l->p); break;
        case RM_LAYER_BATCHNORM: rc = put(&t, "eps = %.9g\nmomentum = %.9g\n", l->eps, l->momentum); break;
        default: break;
        }
    }
    if (rc) {
        free(t.buf);
        return -1;
    }
    *out = t.buf;
    return 0;
}

static int write_param(rm_net *net, const char *layer, const char *name, const float *v)
{
    rm_param *p = rm_net_param(net, layer, name);
    if (!p) return rm_error("the network has no parameter %s/%s", layer, name);
    return rm_net_param_write(net, p, v);
}

static int set_weights(importer *im, rm_net *net, const rm_netdef *def)
{
    for (int i = 0; i < im->nlayers; i++) {
        const imp_layer *l = &im->layers[i];
        const char *name = def->layers[i].name;
        if (l->weight) RM_TRY(write_param(net, name, "weight", l->weight));
        if (l->bias) RM_TRY(write_param(net, name, "bias", l->bias_v));
        if (l->type == RM_LAYER_BATCHNORM) {
            RM_TRY(write_param(net, name, "gamma", l->gamma));
            RM_TRY(write_param(net, name, "beta", l->beta));
            RM_TRY(write_param(net, name, "running_mean", l->mean));
            RM_TRY(write_param(net, name, "running_var", l->var));
        }
    }
    return 0;
}

static int class_names(importer *im, int classes, char ***names)
{
    int n = classes;
    if (im->o->classes) {
        RM_TRY(rm_classes_parse(im->o->classes, &n, names));
        if (n != classes) {
            rm_h5_free_strings(n, *names);
            *names = NULL;
            return rm_error("%s: --classes names %d classes but the model has %d outputs", im->o->input, n, classes);
        }
        return 0;
    }
    *names = rm_calloc((size_t)classes, sizeof **names, "class names");
    if (!*names) return -1;
    for (int k = 0; k < classes; k++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", k);
        if (!((*names)[k] = rm_strdup(buf))) return -1;
    }
    return 0;
}

/* The model's normalization: --mean/--std give what the ONNX input
 * expects of x/255; the folded affine ops before the first layer map it on. */
static int normalization(importer *im, rm_model *m)
{
    const rm_import_onnx_options *o = im->o;
    int c = im->channels;
    if ((o->num_mean > 1 && o->num_mean != c) || (o->num_std > 1 && o->num_std != c))
        return rm_error("%s: --mean/--std give %d/%d values but the model has %d input channel%s (give 1 or %d)",
                        o->input, o->num_mean, o->num_std, c, c == 1 ? "" : "s", c);
    m->channels = c;
    m->norm_mean = rm_malloc(sizeof(float) * (size_t)c, "normalization");
    m->norm_std = rm_malloc(sizeof(float) * (size_t)c, "normalization");
    if (!m->norm_mean || !m->norm_std) return -1;
    for (int k = 0; k < c; k++) {
        double mean = o->num_mean ? o->mean[o->num_mean == 1 ? 0 : k] : 0.0;
        double std = o->num_std ? o->std[o->num_std == 1 ? 0 : k] : 1.0;
        double a = im->a[k], b = im->b[k];
        if (a == 0) return rm_error("%s: the input scaling before the first layer multiplies channel %d by 0",
                                    o->input, k);
        double s = std / a, mu = mean - b * std / a;
        if (!(s > 0) || !isfinite(s) || !isfinite(mu))
            return rm_error("%s: channel %d: the model's input normalization (x/255 - %g) / %g is not one relmask "
                            "can store (it needs a positive finite std)",
                            o->input, k, mu, s);
        m->norm_mean[k] = (float)mu;
        m->norm_std[k] = (float)s;
    }
    return 0;
}

static int build_model(importer *im)
{
    const rm_import_onnx_options *o = im->o;
    int classes = (int)(im->flat ? im->c : im->c * im->h * im->w);
    if (classes < 2 || classes > RM_MAX_CLASSES)
        return rm_error("%s: the model outputs %d values; a classifier has 2 to %d classes", o->input, classes,
                        RM_MAX_CLASSES);
    rm_model m = {0};
    char *txt = NULL, **names = NULL;
    rm_net net;
    int have_net = 0;
    int rc = network_text(im, classes, &txt);
    if (rc == 0) rc = rm_netdef_parse(&m.def, txt, o->input);
    if (rc == 0) rc = rm_net_create(&net, &m.def, 1, RM_MODE_INFER, 0);
    have_net = rc == 0;
    if (rc == 0) rc = set_weights(im, &net, &m.def);
    if (rc == 0) rc = rm_model_capture(&m, &net);
    if (rc == 0) rc = class_names(im, classes, &names);
    if (rc == 0) rc = rm_model_set_classes(&m, classes, names);
    if (rc == 0) rc = normalization(im, &m);
    if (rc == 0) {
        char params[1024];
        const Onnx__ModelProto *p = im->g.model;
        snprintf(params, sizeof params, "imported_from=%s\nformat=onnx\nonnx_opset=%d\nproducer=%s %s\n", o->input,
                 im->g.opset, p->producer_name ? p->producer_name : "", p->producer_version ? p->producer_version : "");
        m.train_params = rm_strdup(params);
        m.dataset_path = rm_strdup("");
        m.dataset_fingerprint = rm_strdup("");
        rc = m.train_params && m.dataset_path && m.dataset_fingerprint ? 0 : -1;
    }
    if (rc == 0) rc = rm_model_save(&m, o->out_path, o->force, o->command_line);
    if (have_net) rm_net_destroy(&net);
    if (names) rm_h5_free_strings(classes, names);
    free(txt);
    rm_model_free(&m);
    return rc;
}

int rm_import_onnx(const rm_import_onnx_options *o)
{
    importer im = {.o = o};
    int rc = onnx_graph_open(&im.g, o->input);
    if (rc == 0) rc = read_input(&im);
    if (rc == 0) rc = walk(&im);
    if (rc == 0) rc = build_model(&im);
    for (int i = 0; i < im.nlayers; i++) {
        imp_layer *l = &im.layers[i];
        free(l->weight), free(l->bias_v), free(l->gamma), free(l->beta), free(l->mean), free(l->var);
    }
    free(im.layers);
    free(im.tensors);
    onnx_graph_close(&im.g);
    return rc;
}
