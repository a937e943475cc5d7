/* The importers' common half: layers, tensors, the network text and the
 * model file (builder.h). */
#include "import/builder.h"

#include <math.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "ingest/ingest.h"
#include "nn/model_file.h"
#include "nn/net.h"

int imp_fail(imp_builder *b, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (b->export_h)
        return rm_error("%s: %s (the model was exported for %dx%d inputs and --size runs it at %dx%d: a layer whose "
                        "weights depend on the size, a dense layer after a flatten, cannot follow; only a fully "
                        "convolutional model with global pooling can)",
                        b->what, msg, b->export_w, b->export_h, b->in_w, b->in_h);
    return rm_error("%s: %s", b->what, msg);
}

int imp_input_size(imp_builder *b, const char *name, int64_t *h, int64_t *w)
{
    const rm_import_options *o = b->o;
    if ((*h < 1 && o->height <= 0) || (*w < 1 && o->width <= 0))
        return rm_error("%s: input '%s' has a symbolic %s; give --size", o->input, name,
                        *h < 1 ? "height" : "width");
    if (o->height > 0 && *h > 0 && (*h != o->height || *w != o->width))
        b->export_h = (int)*h, b->export_w = (int)*w;
    if (o->height > 0) *h = o->height, *w = o->width;
    if (*h > 4096 || *w > 4096)
        return rm_error("%s: input %lldx%lld is larger than 4096x4096", o->input, (long long)*w, (long long)*h);
    return 0;
}

static int has_pad(const imp_pad *p) { return p->pads[0] | p->pads[1] | p->pads[2] | p->pads[3]; }

int imp_pad_refuse(imp_builder *b, const imp_tensor *t)
{
    const imp_pad *p = t ? &t->pad : &b->pad;
    if (!has_pad(p)) return 0;
    return imp_fail(b, "reads '%s', zero-padded by %d,%d,%d,%d (top, left, bottom, right) by node %d '%s' (Pad); "
                       "relmask folds such a pad into the convolution or pooling that reads it, and only into a "
                       "convolution, an average pooling that counts padding cells, or a max pooling of non-negative "
                       "values (after a ReLU or a Clip from 0)",
                    t ? t->name : b->in->name, p->pads[0], p->pads[1], p->pads[2], p->pads[3], p->index, p->node);
}

void imp_take_pad(imp_builder *b, imp_window *win)
{
    for (int i = 0; i < 4; i++) win->pads[i] += b->pad.pads[i];
    memset(&b->pad, 0, sizeof b->pad);
}

int imp_zero_pad(imp_builder *b, const int64_t side[4], const char *node, int index)
{
    RM_TRY(imp_need_spatial(b));
    for (int i = 0; i < 4; i++)
        if (side[i] < 0 || side[i] > 64)
            return imp_fail(b, "pads %lld,%lld,%lld,%lld (top, left, bottom, right); relmask folds pads of 0..64 "
                               "(a negative pad crops)",
                            (long long)side[0], (long long)side[1], (long long)side[2], (long long)side[3]);
    imp_pad *pad = &b->pad;
    if (!has_pad(pad)) {
        const imp_layer *src = b->src >= 0 ? &b->layers[b->src] : NULL;
        pad->nonneg = src && src->type == RM_LAYER_RELU && src->slope == 0;
    }
    for (int i = 0; i < 4; i++) pad->pads[i] += (int)side[i];
    pad->node = node && node[0] ? node : "?", pad->index = index;
    return 0;
}

imp_layer *imp_add_layer(imp_builder *b, rm_layer_type type)
{
    if (imp_pad_refuse(b, NULL)) return NULL;
    imp_layer *grown = rm_realloc(b->layers, sizeof *grown * (size_t)(b->nlayers + 1), "imported layers");
    if (!grown) return NULL;
    b->layers = grown;
    imp_layer *l = &b->layers[b->nlayers++];
    memset(l, 0, sizeof *l);
    l->type = type;
    l->num_inputs = 1;
    l->inputs[0] = b->src;
    if (b->src >= 0) b->layers[b->src].readers++;
    b->src = b->nlayers - 1;   /* a second layer of the same operator reads this one */
    return l;
}

float *imp_copy_floats(const float *src, int64_t count, float scale)
{
    float *dst = rm_malloc(sizeof *dst * (size_t)(count ? count : 1), "imported weights");
    if (dst)
        for (int64_t i = 0; i < count; i++) dst[i] = src[i] * scale;
    return dst;
}

const imp_tensor *imp_find_tensor(const imp_builder *b, const char *name)
{
    for (int i = b->ntensors - 1; i >= 0; i--)
        if (!strcmp(b->tensors[i].name, name)) return &b->tensors[i];
    return NULL;
}

void imp_use(imp_builder *b, const imp_tensor *t)
{
    b->in = t, b->src = t->layer;
    b->flat = t->flat, b->c = t->c, b->h = t->h, b->w = t->w;
    b->pad = t->pad;
}

int imp_add_tensor(imp_builder *b, const char *name, int layer, int consumers)
{
    imp_tensor *grown = rm_realloc(b->tensors, sizeof *grown * (size_t)(b->ntensors + 1), "tensor table");
    if (!grown) return -1;
    b->tensors = grown;
    b->tensors[b->ntensors++] = (imp_tensor){.name = name, .layer = layer, .flat = b->flat, .c = b->c, .h = b->h,
                                             .w = b->w, .consumers = consumers, .pad = b->pad};
    return 0;
}

int imp_input(imp_builder *b, const char *name, int channels, int h, int w, int consumers)
{
    b->channels = channels, b->in_h = h, b->in_w = w;
    b->flat = 0, b->c = channels, b->h = h, b->w = w;
    b->src = RM_INPUT_NETWORK;
    for (int c = 0; c < RM_IMPORT_MAX_CHANNELS; c++) b->a[c] = 1, b->b[c] = 0;
    return imp_add_tensor(b, name, RM_INPUT_NETWORK, consumers);
}

void imp_layer_name(const imp_builder *b, int i, char *out, size_t size)
{
    if (i == RM_INPUT_NETWORK) {
        snprintf(out, size, "input");
        return;
    }
    int k = 0;
    for (int j = 0; j <= i; j++) k += b->layers[j].type == b->layers[i].type;
    snprintf(out, size, "%s%d", rm_layer_type_names[b->layers[i].type], k);
}

int imp_flatten(imp_builder *b)
{
    if (b->flat) return 0;
    if (!imp_add_layer(b, RM_LAYER_FLATTEN)) return -1;
    b->c = b->c * b->h * b->w, b->h = b->w = 1, b->flat = 1;
    return 0;
}

int imp_need_spatial(imp_builder *b)
{
    return b->flat ? imp_fail(b, "expects an image tensor [N,C,H,W] but the data is already flat [N,%lld]",
                              (long long)b->c)
                   : 0;
}

imp_window imp_window_sym(int size, int stride, int pad)
{
    return (imp_window){size, stride, 1, {pad, pad, pad, pad}};
}

static int window_fits(imp_builder *b, const imp_window *win, const char *what)
{
    const int *p = win->pads;
    for (int i = 0; i < 4; i++)
        if (p[i] < 0 || p[i] > 64)
            return imp_fail(b, "%s pads %d,%d,%d,%d outside what relmask layers take (0..64)", what, p[0], p[1], p[2],
                            p[3]);
    if (win->size < 1 || win->size > 64 || win->stride < 1 || win->stride > 64 || win->dilation < 1 ||
        win->dilation > 64)
        return imp_fail(b, "%s %d, stride %d, dilation %d outside what relmask layers take (1..64 each)", what,
                        win->size, win->stride, win->dilation);
    int64_t span = (int64_t)(win->size - 1) * win->dilation + 1;
    int64_t h = (b->h + p[0] + p[2] - span) / win->stride + 1, w = (b->w + p[1] + p[3] - span) / win->stride + 1;
    if (b->h + p[0] + p[2] < span || b->w + p[1] + p[3] < span || h < 1 || w < 1)
        return imp_fail(b, "a %dx%d %s%s does not fit the %lldx%lld input", win->size, win->size, what,
                        win->dilation > 1 ? " (dilated)" : "", (long long)b->h, (long long)b->w);
    b->h = h, b->w = w;
    return 0;
}

int imp_conv(imp_builder *b, int filters, const imp_window *win, int groups, float *weight, float *bias)
{
    if (imp_need_spatial(b) || window_fits(b, win, "kernel")) {
        free(weight), free(bias);
        return -1;
    }
    imp_layer *l = imp_add_layer(b, RM_LAYER_CONV);
    if (!l) {
        free(weight), free(bias);
        return -1;
    }
    l->filters = filters, l->size = win->size, l->stride = win->stride, l->groups = groups;
    l->dilation = win->dilation, l->pad = win->pads[0];
    for (int i = 0; i < 4; i++) l->pads[i] = win->pads[i];
    l->weight = weight, l->bias_v = bias, l->bias = bias != NULL;
    l->fan_in = b->c / (groups > 1 ? groups : 1) * win->size * win->size;
    b->c = filters;
    return 0;
}

int imp_pool(imp_builder *b, rm_layer_type type, const imp_window *win, int count_pad)
{
    RM_TRY(imp_need_spatial(b));
    const int *p = win->pads;
    if (win->dilation != 1) return imp_fail(b, "dilation %d; relmask pooling is undilated", win->dilation);
    for (int i = 0; i < 4; i++)
        if (p[i] >= win->size)
            return imp_fail(b, "pads %d,%d,%d,%d (top, left, bottom, right) of a %dx%d window: a pad of %d or more "
                               "puts whole windows in the padding; relmask pooling takes pads below the window size",
                            p[0], p[1], p[2], p[3], win->size, win->size, win->size);
    RM_TRY(window_fits(b, win, "window"));
    imp_layer *l = imp_add_layer(b, type);
    if (!l) return -1;
    l->size = win->size, l->stride = win->stride, l->pad = p[0];
    for (int i = 0; i < 4; i++) l->pads[i] = p[i];
    /* without padding both divisors are size*size: keep the default */
    l->count_pad = type != RM_LAYER_AVGPOOL || count_pad || !(p[0] | p[1] | p[2] | p[3]);
    return 0;
}

int imp_global_avgpool(imp_builder *b)
{
    RM_TRY(imp_need_spatial(b));
    if (!imp_add_layer(b, RM_LAYER_GLOBALAVGPOOL)) return -1;
    b->h = b->w = 1;
    return 0;
}

int imp_relu(imp_builder *b, double slope, double max)
{
    if (!(slope >= 0 && slope < 1))
        return imp_fail(b, "a leaky ReLU with slope %g; relmask's [relu] takes slopes in [0, 1)", slope);
    if (!(max > 0)) return imp_fail(b, "clips at %g or below; relmask's [relu] clips to [0, max] with max > 0", max);
    if (slope > 0 && isfinite(max))
        return imp_fail(b, "a leaky ReLU that is also clipped; relmask's [relu] is one or the other");
    imp_layer *l = imp_add_layer(b, RM_LAYER_RELU);
    if (!l) return -1;
    l->slope = slope;
    l->max = isfinite(max) ? max : 0;
    return 0;
}

int imp_join(imp_builder *b, const imp_tensor *const *x, const char *const *names, int count, int concat)
{
    if (count < 2 || count > RM_MAX_INPUTS)
        return imp_fail(b, "joins %d tensors; relmask's [%s] takes 2 to %d", count, concat ? "concat" : "add",
                        RM_MAX_INPUTS);
    for (int k = 0; k < count; k++) {
        RM_TRY(imp_pad_refuse(b, x[k]));
        for (int j = 0; j < k; j++)
            if (x[j]->layer == x[k]->layer)
                return imp_fail(b, "reads the same tensor twice ('%s'); relmask's layers read each input once",
                                names[k]);
        if (x[k]->flat != x[0]->flat || x[k]->h != x[0]->h || x[k]->w != x[0]->w || (!concat && x[k]->c != x[0]->c))
            return imp_fail(b, "its inputs have different shapes ('%s' [%lld,%lld,%lld], '%s' [%lld,%lld,%lld]); "
                               "relmask does not broadcast",
                            names[0], (long long)x[0]->c, (long long)x[0]->h, (long long)x[0]->w, names[k],
                            (long long)x[k]->c, (long long)x[k]->h, (long long)x[k]->w);
    }
    int64_t c = x[0]->c;
    for (int k = 1; concat && k < count; k++) c += x[k]->c;
    b->src = x[0]->layer;
    imp_layer *l = imp_add_layer(b, concat ? RM_LAYER_CONCAT : RM_LAYER_ADD);
    if (!l) return -1;
    l->num_inputs = count;
    for (int k = 1; k < count; k++) {
        l->inputs[k] = x[k]->layer;
        if (x[k]->layer >= 0) b->layers[x[k]->layer].readers++;
    }
    b->flat = x[0]->flat, b->c = c, b->h = x[0]->h, b->w = x[0]->w;
    return 0;
}

int imp_affine(imp_builder *b, const char *op, const float *k, int64_t count, int negate)
{
    int add = !strcmp(op, "Add"), sub = !strcmp(op, "Sub"), mul = !strcmp(op, "Mul"), div = !strcmp(op, "Div");
    RM_TRY(imp_pad_refuse(b, NULL));
    if (b->src == RM_INPUT_NETWORK && b->nlayers == 0 && !b->flat && b->in->consumers == 1) {
        for (int c = 0; c < b->channels; c++) {
            double v = k[count == 1 ? 0 : c];
            if (negate) b->a[c] = -b->a[c], b->b[c] = v - b->b[c];
            else if (add) b->b[c] += v;
            else if (sub) b->b[c] -= v;
            else if (mul) b->a[c] *= v, b->b[c] *= v;
            else if (v == 0) return imp_fail(b, "divides by zero");
            else b->a[c] /= v, b->b[c] /= v;
        }
        return 1;
    }
    imp_layer *l = b->src >= 0 ? &b->layers[b->src] : NULL;
    if (l && l->type == RM_LAYER_DENSE && b->flat && l->readers == 0 && b->in->consumers == 1) {
        if (negate) return imp_fail(b, "subtracts a dense layer's output from a constant; not supported yet");
        for (int64_t o = 0; o < l->units; o++) {
            double v = k[count == 1 ? 0 : o];
            if (add) {
                l->bias_v[o] += (float)v;
            } else if (sub) {
                l->bias_v[o] -= (float)v;
            } else {
                if (div && v == 0) return imp_fail(b, "divides by zero");
                double scale = mul ? v : 1.0 / v;
                l->bias_v[o] = (float)(l->bias_v[o] * scale);
                for (int64_t i = 0; i < l->fan_in; i++) l->weight[o * l->fan_in + i] *= (float)scale;
            }
        }
        if (add || sub) l->bias = 1;
        return 1;
    }
    /* per output channel on a convolution read by nothing else: its bias (a
     * BiasAdd), or a scale of its weights and bias */
    if (l && l->type == RM_LAYER_CONV && !b->flat && l->readers == 0 && b->in->consumers == 1 && !negate) {
        int64_t per = l->fan_in;   /* the weights of one output channel */
        if (!l->bias_v && !(l->bias_v = rm_calloc((size_t)l->filters, sizeof(float), "imported bias"))) return -1;
        for (int o = 0; o < l->filters; o++) {
            double v = k[count == 1 ? 0 : o];
            if (add) l->bias_v[o] += (float)v;
            else if (sub) l->bias_v[o] -= (float)v;
            else {
                if (div && v == 0) return imp_fail(b, "divides by zero");
                double scale = mul ? v : 1.0 / v;
                l->bias_v[o] = (float)(l->bias_v[o] * scale);
                for (int64_t i = 0; i < per; i++) l->weight[o * per + i] *= (float)scale;
            }
        }
        l->bias = 1;
        return 1;
    }
    /* anywhere else: a [scale] layer, the one before if it is read by
     * nothing else, else a new one starting as the identity */
    if (!(l && l->type == RM_LAYER_SCALE && l->readers == 0 && b->in->consumers == 1)) {
        int64_t C = b->c;
        if (C < 1 || C > 65536) return imp_fail(b, "%s by a constant on %lld channels", op, (long long)C);
        float *scale = rm_malloc(sizeof *scale * (size_t)C, "imported scale");
        float *shift = rm_calloc((size_t)C, sizeof *shift, "imported shift");
        if (!scale || !shift || !(l = imp_add_layer(b, RM_LAYER_SCALE))) {
            free(scale), free(shift);
            return -1;
        }
        for (int64_t c = 0; c < C; c++) scale[c] = 1.f;
        l->gamma = scale, l->beta = shift, l->units = (int)C;
    }
    for (int64_t c = 0; c < l->units; c++) {
        double v = k[count == 1 ? 0 : c];
        if (negate) l->gamma[c] = -l->gamma[c], l->beta[c] = (float)(v - l->beta[c]);
        else if (add) l->beta[c] += (float)v;
        else if (sub) l->beta[c] -= (float)v;
        else if (mul) l->gamma[c] *= (float)v, l->beta[c] *= (float)v;
        else if (v == 0) return imp_fail(b, "divides by zero");
        else l->gamma[c] = (float)(l->gamma[c] / v), l->beta[c] = (float)(l->beta[c] / v);
    }
    return 1;
}

int imp_finish(imp_builder *b, const char *output_name)
{
    if (b->nlayers == 0) return rm_error("%s: the model has no layer relmask can run", b->o->input);
    const imp_tensor *out = imp_find_tensor(b, output_name);
    if (out && has_pad(&out->pad)) return imp_pad_refuse(b, out);
    char name[48];
    if (!out || out->layer != b->nlayers - 1) {
        imp_layer_name(b, b->nlayers - 1, name, sizeof name);
        return rm_error("%s: the model's output '%s' is not computed by its last layer (%s)", b->o->input,
                        output_name, name);
    }
    for (int i = 0; i + 1 < b->nlayers; i++)
        if (b->layers[i].readers == 0) {
            imp_layer_name(b, i, name, sizeof name);
            return rm_error("%s: layer %s computes a tensor that does not reach the model's output; relmask "
                            "networks have one output",
                            b->o->input, name);
        }
    b->flat = out->flat, b->c = out->c, b->h = out->h, b->w = out->w;
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

/* "pad = P", or "pad = top, left, bottom, right" when the sides differ */
static int put_pads(text *t, const imp_layer *l)
{
    if (l->pads[1] == l->pad && l->pads[2] == l->pad && l->pads[3] == l->pad) return put(t, "pad = %d\n", l->pad);
    return put(t, "pad = %d, %d, %d, %d\n", l->pads[0], l->pads[1], l->pads[2], l->pads[3]);
}

static void net_name(char *out, size_t size, const char *given, const char *path)
{
    const char *base = given ? given : strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < size; p++) {
        if (!given && (!strcmp(p, ".onnx") || !strcmp(p, ".json"))) break;
        char c = *p;
        out[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                           c == '.'
                       ? c
                       : '_';
    }
    out[n] = 0;
    if (n == 0) snprintf(out, size, "imported");
}

static int network_text(imp_builder *im, const char *header, int classes, char **out)
{
    text t = {0};
    char name[64];
    net_name(name, sizeof name, im->o->name, im->o->input);
    int rc = put(&t, "%s", header);
    if (rc == 0 && im->export_h)
        rc = put(&t, "# Exported for %dx%d inputs, imported at %dx%d (--size).\n", im->export_w, im->export_h,
                 im->in_w, im->in_h);
    if (rc == 0)
        rc = put(&t, "\n[net]\nname = %s\ninput = %dx%dx%d\nclasses = %d\n", name, im->channels, im->in_h, im->in_w,
                 classes);
    for (int i = 0; rc == 0 && i < im->nlayers; i++) {
        const imp_layer *l = &im->layers[i];
        rc = put(&t, "\n[%s]\n", rm_layer_type_names[l->type]);
        if (rc == 0 && (l->num_inputs > 1 || l->inputs[0] != i - 1)) {
            rc = put(&t, "from = ");
            for (int k = 0; rc == 0 && k < l->num_inputs; k++) {
                char from[48];
                imp_layer_name(im, l->inputs[k], from, sizeof from);
                rc = put(&t, "%s%s", k ? ", " : "", from);
            }
            if (rc == 0) rc = put(&t, "\n");
        }
        if (rc) break;
        switch (l->type) {
        case RM_LAYER_CONV:
            rc = put(&t, "filters = %d\nsize = %d\nstride = %d\n", l->filters, l->size, l->stride);
            if (rc == 0) rc = put_pads(&t, l);
            if (rc == 0 && l->dilation > 1) rc = put(&t, "dilation = %d\n", l->dilation);
            if (rc == 0) rc = put(&t, "bias = %d\n", l->bias);
            if (rc == 0 && l->groups > 1) rc = put(&t, "groups = %d\n", l->groups);
            break;
        case RM_LAYER_MAXPOOL:
        case RM_LAYER_AVGPOOL:
            rc = put(&t, "size = %d\nstride = %d\n", l->size, l->stride);
            if (rc == 0) rc = put_pads(&t, l);
            if (rc == 0 && !l->count_pad) rc = put(&t, "count_pad = 0\n");
            break;
        case RM_LAYER_DENSE: rc = put(&t, "units = %d\nbias = %d\n", l->units, l->bias); break;
        case RM_LAYER_DROPOUT: rc = put(&t, "p = %.9g\n", l->p); break;
        case RM_LAYER_RELU:
            if (l->slope > 0) rc = put(&t, "slope = %.9g\n", l->slope);
            if (rc == 0 && l->max > 0) rc = put(&t, "max = %.9g\n", l->max);
            break;
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

static int set_weights(imp_builder *im, rm_net *net, const rm_netdef *def)
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
        if (l->type == RM_LAYER_SCALE) {
            RM_TRY(write_param(net, name, "scale", l->gamma));
            RM_TRY(write_param(net, name, "shift", l->beta));
        }
    }
    return 0;
}

static int class_names(imp_builder *im, int classes, char ***names)
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

/* Expression names that datasets spell differently; a --class-order name
 * matches a --classes name when both are the same or in one row. */
static const char *const synonyms[][3] = {
    {"angry", "anger", NULL},         {"sad", "sadness", NULL},       {"happy", "happiness", NULL},
    {"surprise", "surprised", NULL},  {"fear", "fearful", "afraid"},  {"disgust", "disgusted", NULL},
};

static int synonym_row(const char *name)
{
    for (size_t r = 0; r < sizeof synonyms / sizeof synonyms[0]; r++)
        for (int k = 0; k < 3 && synonyms[r][k]; k++)
            if (!strcasecmp(synonyms[r][k], name)) return (int)r;
    return -1;
}

static int same_class(const char *a, const char *b)
{
    if (!strcasecmp(a, b)) return 1;
    int r = synonym_row(a);
    return r >= 0 && r == synonym_row(b);
}

/* The layer whose output channels are the classes: walking back from the
 * last layer through layers that act on each channel alone (their per-
 * channel parameters, batchnorm's, are permuted along). -1 when there is
 * none (an add or a concat produces the outputs, or a grouped convolution). */
static int class_layer(const imp_builder *im)
{
    for (int i = im->nlayers - 1; i >= 0; i = im->layers[i].inputs[0]) {
        const imp_layer *l = &im->layers[i];
        if (l->type == RM_LAYER_DENSE || (l->type == RM_LAYER_CONV && l->groups <= 1)) return i;
        if (l->num_inputs != 1 || l->type == RM_LAYER_CONV || l->type == RM_LAYER_ADD || l->type == RM_LAYER_CONCAT)
            return -1;
    }
    return -1;
}

static void permute_rows(float *v, const int *perm, int rows, int64_t row_len, float *tmp)
{
    if (!v) return;
    memcpy(tmp, v, sizeof *v * (size_t)(rows * row_len));
    for (int k = 0; k < rows; k++) memcpy(v + k * row_len, tmp + perm[k] * row_len, sizeof *v * (size_t)row_len);
}

/* --class-order: output k becomes the model's output perm[k], where class
 * perm[k] of --classes is class k of the order; names become the order's. */
static int reorder_classes(imp_builder *im, int classes, char ***names)
{
    const rm_import_options *o = im->o;
    if (!o->classes) return rm_error("%s: --class-order needs --classes (the model's own order)", o->input);
    int n = 0;
    char **order = NULL;
    RM_TRY(rm_classes_parse(o->class_order, &n, &order));
    int perm[RM_MAX_CLASSES], taken[RM_MAX_CLASSES] = {0}, rc = 0;
    if (n != classes)
        rc = rm_error("%s: --class-order names %d classes but the model has %d", o->input, n, classes);
    for (int k = 0; rc == 0 && k < n; k++) {
        perm[k] = -1;
        for (int j = 0; j < classes && perm[k] < 0; j++)
            if (!taken[j] && same_class(order[k], (*names)[j])) perm[k] = j;
        if (perm[k] < 0)
            rc = rm_error("%s: --class-order class '%s' is none of the model's classes left (--classes gives them)",
                          o->input, order[k]);
        else taken[perm[k]] = 1;
    }
    int last = rc == 0 ? class_layer(im) : -1;
    if (rc == 0 && last < 0)
        rc = rm_error("%s: cannot reorder the classes: the outputs are not one convolution's or dense layer's "
                      "channels", o->input);
    if (rc == 0 && im->layers[last].type == RM_LAYER_DENSE && im->layers[last].units != classes)
        rc = rm_error("%s: cannot reorder the classes: the last dense layer has %d outputs for %d classes", o->input,
                      im->layers[last].units, classes);
    if (rc == 0 && im->layers[last].type == RM_LAYER_CONV && im->layers[last].filters != classes)
        rc = rm_error("%s: cannot reorder the classes: the outputs are a [%d,h,w] map flattened, not one value "
                      "per channel", o->input, im->layers[last].filters);
    if (rc == 0) {
        const imp_layer *w = &im->layers[last];
        int64_t row = w->fan_in;
        float *tmp = rm_malloc(sizeof *tmp * (size_t)(classes * (row > 1 ? row : 1)), "class reordering");
        if (!tmp) rc = -1;
        for (int i = im->nlayers - 1; rc == 0 && i >= last; i = im->layers[i].inputs[0]) {
            imp_layer *l = &im->layers[i];
            if (i == last) {
                permute_rows(l->weight, perm, classes, row, tmp);
                permute_rows(l->bias_v, perm, classes, 1, tmp);
                break;
            }
            permute_rows(l->gamma, perm, classes, 1, tmp);
            permute_rows(l->beta, perm, classes, 1, tmp);
            permute_rows(l->mean, perm, classes, 1, tmp);
            permute_rows(l->var, perm, classes, 1, tmp);
        }
        free(tmp);
    }
    if (rc == 0) {
        rm_h5_free_strings(classes, *names);
        *names = order;
    } else {
        rm_h5_free_strings(n, order);
    }
    return rc;
}

/* The model's normalization: --mean/--std give what the ONNX input
 * expects of x/255; the folded affine ops before the first layer map it on. */
static int normalization(imp_builder *im, rm_model *m)
{
    const rm_import_options *o = im->o;
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

int imp_write_model(imp_builder *im, const char *header, const char *train_params)
{
    const rm_import_options *o = im->o;
    int classes = (int)(im->flat ? im->c : im->c * im->h * im->w);
    if (classes < 2 || classes > RM_MAX_CLASSES)
        return rm_error("%s: the model outputs %d values; a classifier has 2 to %d classes", o->input, classes,
                        RM_MAX_CLASSES);
    rm_model m = {0};
    char *txt = NULL, **names = NULL;
    rm_net net;
    int have_net = 0;
    int rc = class_names(im, classes, &names);
    if (rc == 0 && o->class_order) rc = reorder_classes(im, classes, &names);
    if (rc == 0) rc = network_text(im, header, classes, &txt);
    if (rc == 0) rc = rm_netdef_parse(&m.def, txt, o->input);
    if (rc == 0) rc = rm_net_create(&net, &m.def, 1, RM_MODE_INFER, 0);
    have_net = rc == 0;
    if (rc == 0) rc = set_weights(im, &net, &m.def);
    if (rc == 0) rc = rm_model_capture(&m, &net);
    if (rc == 0) rc = rm_model_set_classes(&m, classes, names);
    if (rc == 0) rc = normalization(im, &m);
    if (rc == 0) {
        m.train_params = rm_strdup(train_params);
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

void imp_free(imp_builder *b)
{
    for (int i = 0; i < b->nlayers; i++) {
        imp_layer *l = &b->layers[i];
        free(l->weight), free(l->bias_v), free(l->gamma), free(l->beta), free(l->mean), free(l->var);
    }
    free(b->layers);
    free(b->tensors);
    b->layers = NULL, b->tensors = NULL;
    b->nlayers = b->ntensors = 0;
}
