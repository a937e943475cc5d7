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

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "import/builder.h"
#include "import/onnx_graph.h"
#include "ingest/ingest.h"
#include "nn/model_file.h"
#include "nn/net.h"
#include "nn/netdef.h"

typedef struct {
    imp_builder b;
    onnx_graph g;
} importer;

static const char *label(importer *im, const Onnx__NodeProto *n, int index)
{
    snprintf(im->b.what, sizeof im->b.what, "%s: node %d '%s' (%s)", im->b.o->input, index,
             n->name && n->name[0] ? n->name : "?", n->op_type ? n->op_type : "?");
    return im->b.what;
}




/* A float constant input of node n with `count` values. */
static const onnx_const *weight_input(importer *im, const Onnx__NodeProto *n, size_t k, int64_t count,
                                      const char *role)
{
    if (k >= n->n_input || !n->input[k][0]) {
        imp_fail(&im->b, "missing its %s input", role);
        return NULL;
    }
    const onnx_const *c = onnx_const_find(&im->g, n->input[k]);
    if (!c || c->is_int) {
        imp_fail(&im->b, "its %s '%s' is not a constant float tensor (weights computed at run time are not supported)",
             role, n->input[k]);
        return NULL;
    }
    if (count >= 0 && c->count != count) {
        imp_fail(&im->b, "its %s '%s' has %lld values, expected %lld", role, n->input[k], (long long)c->count,
             (long long)count);
        return NULL;
    }
    for (int64_t i = 0; i < c->count; i++)
        if (!isfinite(c->f[i])) {
            imp_fail(&im->b, "its %s '%s' holds %s at index %lld; the model's weights must be finite", role, n->input[k],
                 isnan(c->f[i]) ? "NaN" : "an infinity", (long long)i);
            return NULL;
        }
    return c;
}

/* auto_pad SAME_UPPER / SAME_LOWER: the pads that give ceil(in / stride)
 * outputs, the odd cell after (UPPER) or before (LOWER). */
static void same_pads(int64_t in, const imp_window *w, int lower, int *begin, int *end)
{
    int64_t span = (int64_t)(w->size - 1) * w->dilation + 1, out = (in + w->stride - 1) / w->stride;
    int64_t total = (out - 1) * w->stride + span - in;
    if (total < 0) total = 0;
    *begin = (int)(lower ? total - total / 2 : total / 2);
    *end = (int)(total - *begin);
}

/* A square kernel and one stride: the layers relmask has. Pads (explicit
 * or auto_pad SAME_*) and dilations as given; the caller refuses what its
 * layer cannot take. */
static int window(importer *im, const Onnx__NodeProto *n, int kernel_from_weight, imp_window *win)
{
    int nk, ns, np, nd;
    const int64_t *k = onnx_attr_ints(n, "kernel_shape", &nk), *s = onnx_attr_ints(n, "strides", &ns);
    const int64_t *p = onnx_attr_ints(n, "pads", &np), *d = onnx_attr_ints(n, "dilations", &nd);
    char autopad[32];
    const char *ap = onnx_attr_string(n, "auto_pad", autopad, sizeof autopad);
    int same = ap && (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"));
    if (ap && strcmp(ap, "NOTSET") && strcmp(ap, "VALID") && !same)
        return imp_fail(&im->b, "auto_pad = %s is not supported (NOTSET, VALID, SAME_UPPER or SAME_LOWER)", ap);
    if (nk == 0 && kernel_from_weight <= 0) return imp_fail(&im->b, "no kernel_shape");
    if (nk != 0 && nk != 2) return imp_fail(&im->b, "a %d-D kernel; relmask layers are 2-D", nk);
    if (nk == 2 && k[0] != k[1]) return imp_fail(&im->b, "kernel %lldx%lld is not square", (long long)k[0], (long long)k[1]);
    *win = imp_window_sym(nk ? (int)k[0] : kernel_from_weight, 1, 0);
    if (ns && (ns != 2 || s[0] != s[1]))
        return imp_fail(&im->b, "strides differ between height and width; relmask layers use one stride");
    if (ns) win->stride = (int)s[0];
    if (nd && (nd != 2 || d[0] != d[1]))
        return imp_fail(&im->b, "dilations differ between height and width; relmask convolutions use one dilation");
    if (nd) win->dilation = (int)d[0];
    if (np && np != 4) return imp_fail(&im->b, "%d pads, expected 4", np);
    for (int i = 0; i < np && !same; i++) {
        if (p[i] < 0 || p[i] > 64) return imp_fail(&im->b, "pad %lld outside 0..64", (long long)p[i]);
        win->pads[i] = (int)p[i];
    }
    if (same) {   /* on the input as a Pad before the node left it */
        int lower = !strcmp(ap, "SAME_LOWER");
        const int *pend = im->b.pad.pads;
        same_pads(im->b.h + pend[0] + pend[2], win, lower, &win->pads[0], &win->pads[2]);
        same_pads(im->b.w + pend[1] + pend[3], win, lower, &win->pads[1], &win->pads[3]);
    }
    return 0;
}

static int map_conv(importer *im, const Onnx__NodeProto *n)
{
    RM_TRY(imp_need_spatial(&im->b));
    int64_t groups = onnx_attr_int(n, "group", 1);
    if (groups < 1 || im->b.c % groups)
        return imp_fail(&im->b, "group = %lld does not divide the %lld input channels", (long long)groups,
                        (long long)im->b.c);
    const onnx_const *w = weight_input(im, n, 1, -1, "weight");
    if (!w) return -1;
    if (w->ndims != 4 || w->dims[1] != im->b.c / groups || w->dims[2] != w->dims[3] || w->dims[0] % groups)
        return imp_fail(&im->b, "weight '%s' is not [O,%lld,K,K] with O a multiple of the %lld groups", n->input[1],
                        (long long)(im->b.c / groups), (long long)groups);
    imp_window win;
    RM_TRY(window(im, n, (int)w->dims[2], &win));
    if (win.size != w->dims[2])
        return imp_fail(&im->b, "kernel_shape %d but the weight's kernel is %lld", win.size, (long long)w->dims[2]);
    imp_take_pad(&im->b, &win);   /* a zero Pad before a convolution is its zero padding */
    int has_bias = n->n_input > 2 && n->input[2][0];
    const onnx_const *b = has_bias ? weight_input(im, n, 2, w->dims[0], "bias") : NULL;
    if (has_bias && !b) return -1;
    float *weight = imp_copy_floats(w->f, w->count, 1), *bias = b ? imp_copy_floats(b->f, b->count, 1) : NULL;
    if (!weight || (b && !bias)) {
        free(weight), free(bias);
        return -1;
    }
    return imp_conv(&im->b, (int)w->dims[0], &win, (int)groups, weight, bias);
}

/* ceil_mode = 1 as extra end padding: ceil((in + begin + end - k) / s) + 1
 * outputs, one fewer when the last window would start in the end padding
 * (PyTorch's rule, which ONNX adopted in opset 19); in is the pooling's
 * input, after any Pad. */
static int ceil_extra(int64_t in, const imp_window *w, int begin, int end)
{
    int64_t room = in + begin + end - w->size;
    if (room < 0) return 0;   /* the window does not fit: imp_pool says so */
    int64_t out = (room + w->stride - 1) / w->stride + 1;
    if ((out - 1) * w->stride >= in + begin) out--;
    int64_t extra = (out - 1) * w->stride + w->size - (in + begin + end);
    return extra > 0 ? (int)extra : 0;
}

static int map_pool(importer *im, const Onnx__NodeProto *n, rm_layer_type type)
{
    RM_TRY(imp_need_spatial(&im->b));
    imp_window win;
    RM_TRY(window(im, n, 0, &win));
    if (win.dilation != 1) return imp_fail(&im->b, "dilation %d; relmask pooling is undilated", win.dilation);
    if (type == RM_LAYER_MAXPOOL && n->n_output > 1 && n->output[1][0])
        return imp_fail(&im->b, "its indices output is used; relmask pooling has none");
    int64_t ceil = onnx_attr_int(n, "ceil_mode", 0);
    if (ceil != 0 && ceil != 1) return imp_fail(&im->b, "ceil_mode = %lld, expected 0 or 1", (long long)ceil);
    const int *pend = im->b.pad.pads, *own = win.pads;
    int padded = pend[0] | pend[1] | pend[2] | pend[3], pads = own[0] | own[1] | own[2] | own[3];
    int extra_h = ceil ? ceil_extra(im->b.h + pend[0] + pend[2], &win, own[0], own[2]) : 0;
    int extra_w = ceil ? ceil_extra(im->b.w + pend[1] + pend[3], &win, own[1], own[3]) : 0;
    int count_pad = type == RM_LAYER_MAXPOOL || onnx_attr_int(n, "count_include_pad", 0) != 0;
    if (type == RM_LAYER_AVGPOOL && (extra_h || extra_w)) {
        /* PyTorch's divisor counts the pads but not the cells ceil_mode adds */
        if (count_pad && pads)
            return imp_fail(&im->b, "ceil_mode = 1 with count_include_pad = 1 and pads %d,%d,%d,%d: the last "
                                    "windows' divisor counts the pads but not the cells ceil_mode adds; relmask's "
                                    "average pooling counts every padding cell or none (export with ceil_mode = 0 "
                                    "or count_include_pad = 0)",
                            own[0], own[1], own[2], own[3]);
        if (padded)
            return imp_fail(&im->b, "ceil_mode = 1 after a zero Pad (node %d '%s'): the last windows' divisor counts "
                                    "the Pad's zeros but not the cells ceil_mode adds, which relmask's average "
                                    "pooling cannot tell apart",
                            im->b.pad.index, im->b.pad.node);
        count_pad = 0;   /* no pads: the divisor is the window's real cells */
    }
    if (padded && type == RM_LAYER_MAXPOOL && !im->b.pad.nonneg)
        return imp_fail(&im->b, "reads '%s', zero-padded by node %d '%s' (Pad), and its input may be negative: a "
                                "zero pad then differs from max pooling's own padding (which never wins); relmask "
                                "folds a Pad into a max pooling only after a ReLU or a Clip from 0",
                        im->b.in->name, im->b.pad.index, im->b.pad.node);
    if (padded && type == RM_LAYER_AVGPOOL) {
        /* the Pad's zeros are data to the pooling: every window divides by size*size only when its own pads
           count too (or it has none) */
        if (!count_pad && pads)
            return imp_fail(&im->b, "reads '%s', zero-padded by node %d '%s' (Pad), with count_include_pad = 0 "
                                    "and pads of its own: the divisor counts the Pad's zeros but not its own pads, "
                                    "which relmask's average pooling cannot tell apart",
                            im->b.in->name, im->b.pad.index, im->b.pad.node);
        count_pad = 1;
    }
    win.pads[2] += extra_h, win.pads[3] += extra_w;
    imp_take_pad(&im->b, &win);
    return imp_pool(&im->b, type, &win, count_pad);
}

static int map_batchnorm(importer *im, const Onnx__NodeProto *n)
{
    if (onnx_attr_int(n, "training_mode", 0) != 0) return imp_fail(&im->b, "exported in training mode; export model.eval()");
    if (n->n_output > 1 && n->output[1][0]) return imp_fail(&im->b, "exported in training mode (running statistics outputs)");
    int64_t c = im->b.c;
    const onnx_const *s = weight_input(im, n, 1, c, "scale"), *b = s ? weight_input(im, n, 2, c, "bias") : NULL;
    const onnx_const *m = b ? weight_input(im, n, 3, c, "mean") : NULL, *v = m ? weight_input(im, n, 4, c, "var") : NULL;
    if (!v) return -1;
    imp_layer *l = imp_add_layer(&im->b, RM_LAYER_BATCHNORM);
    if (!l) return -1;
    l->eps = onnx_attr_float(n, "epsilon", 1e-5f);
    l->momentum = 1.0 - onnx_attr_float(n, "momentum", 0.9f);
    if (!(l->gamma = imp_copy_floats(s->f, c, 1)) || !(l->beta = imp_copy_floats(b->f, c, 1)) ||
        !(l->mean = imp_copy_floats(m->f, c, 1)) || !(l->var = imp_copy_floats(v->f, c, 1)))
        return -1;
    return 0;
}


/* Reshape to [batch, C*H*W] (batch: 1 from Shape, -1 or 0) is a flatten. */
static int map_reshape(importer *im, const Onnx__NodeProto *n)
{
    const onnx_const *s = n->n_input > 1 ? onnx_const_find(&im->g, n->input[1]) : NULL;
    if (!s || !s->is_int) return imp_fail(&im->b, "its target shape is not a constant");
    int64_t total = im->b.flat ? im->b.c : im->b.c * im->b.h * im->b.w;
    if (s->count == 2 && (s->i[0] == 1 || s->i[0] == -1 || s->i[0] == 0) &&
        (s->i[1] == total || s->i[1] == -1 || (s->i[0] == -1 && s->i[1] == total)))
        return imp_flatten(&im->b);
    if (s->count == 4 && !im->b.flat && (s->i[0] == 1 || s->i[0] == -1 || s->i[0] == 0) &&
        (s->i[1] == im->b.c || s->i[1] == 0) && (s->i[2] == im->b.h || s->i[2] == 0) && (s->i[3] == im->b.w || s->i[3] == 0))
        return 0;
    char shape[256] = "";
    for (int64_t k = 0; k < s->count && k < 8; k++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", k ? "," : "", (long long)s->i[k]);
    return imp_fail(&im->b, "reshapes to [%s]; only a flatten to [N,%lld] (or a no-op) is supported", shape,
                (long long)total);
}

static int map_dense(importer *im, const Onnx__NodeProto *n, int is_gemm)
{
    if (!im->b.flat) return imp_fail(&im->b, "reads an image tensor [N,%lld,%lld,%lld]; expected a Flatten before it",
                               (long long)im->b.c, (long long)im->b.h, (long long)im->b.w);
    const onnx_const *w = weight_input(im, n, 1, -1, "weight");
    if (!w) return -1;
    int transb = is_gemm && onnx_attr_int(n, "transB", 0);
    if (is_gemm && onnx_attr_int(n, "transA", 0)) return imp_fail(&im->b, "transA = 1 is not supported");
    if (w->ndims != 2 || w->dims[transb ? 1 : 0] != im->b.c)
        return imp_fail(&im->b, "weight '%s' is not [%s%lld%s]", n->input[1], transb ? "O," : "", (long long)im->b.c,
                    transb ? "" : ",O");
    int64_t out = w->dims[transb ? 0 : 1], in = im->b.c;
    float alpha = is_gemm ? onnx_attr_float(n, "alpha", 1.0f) : 1.0f, beta = is_gemm ? onnx_attr_float(n, "beta", 1.0f) : 1.0f;
    imp_layer *l = imp_add_layer(&im->b, RM_LAYER_DENSE);
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
            return imp_fail(&im->b, "bias '%s' has %lld values, expected %lld or 1", n->input[2], (long long)c->count,
                        (long long)out);
        for (int64_t o = 0; o < out; o++) l->bias_v[o] = beta * c->f[c->count == 1 ? 0 : o];
        l->bias = 1;
    }
    im->b.c = out;
    return 0;
}



/* Add/Sub/Mul/Div of the data tensor im->b.in and a float constant. Returns
 * 1 when folded, 0 when the node is not such an op. */
static int map_affine(importer *im, const Onnx__NodeProto *n)
{
    const char *op = n->op_type;
    int add = !strcmp(op, "Add"), sub = !strcmp(op, "Sub"), mul = !strcmp(op, "Mul"), div = !strcmp(op, "Div");
    if (!(add || sub || mul || div) || n->n_input != 2) return 0;
    const imp_tensor *x0 = imp_find_tensor(&im->b, n->input[0]), *x1 = imp_find_tensor(&im->b, n->input[1]);
    if (x0 && x1) {
        if (add) return 0;   /* a residual sum: an [add] layer */
        return imp_fail(&im->b, "%s of two computed tensors ('%s' and '%s') is not supported; relmask adds tensors "
                        "([add]) but does not subtract, multiply or divide them",
                    op, n->input[0], n->input[1]);
    }
    int data_first = x0 != NULL;
    const onnx_const *k = onnx_const_find(&im->g, n->input[data_first ? 1 : 0]);
    if (!k || k->is_int)
        return imp_fail(&im->b, "its other input '%s' is neither a float constant nor computed by an earlier node",
                    n->input[data_first ? 1 : 0]);
    if (!data_first && div) return imp_fail(&im->b, "divides a constant by the data; not an affine map");
    int negate = !data_first && sub;   /* c - x */
    /* per-channel (or per-unit) values: 1, or the channel count in the channel axis */
    int64_t per = im->b.c;
    int ok = k->count == 1;
    if (!ok && k->count == per) {
        ok = im->b.flat ? k->dims[k->ndims - 1] == per
                      : k->ndims >= 3 && k->dims[k->ndims - 3] == per && k->dims[k->ndims - 1] == 1 &&
                            k->dims[k->ndims - 2] == 1;
    }
    if (!ok) return imp_fail(&im->b, "its constant '%s' (%lld values) does not broadcast per channel", k->name,
                         (long long)k->count);
    return imp_affine(&im->b, op, k->f, k->count, negate);
}

static int is_graph_output(const importer *im, const char *name)
{
    for (size_t i = 0; i < im->g.graph->n_output; i++)
        if (!strcmp(im->g.graph->output[i]->name, name)) return 1;
    return 0;
}

/* Pad by zeros: nothing when it pads by 0 (any mode); else constant mode,
 * value 0, non-negative pads of height and width only, which the Conv or
 * pooling reading it takes into its own pads (imp_pad, map_conv, map_pool). */
static int map_pad(importer *im, const Onnx__NodeProto *n, int index)
{
    char mode[32];
    const char *m = onnx_attr_string(n, "mode", mode, sizeof mode);
    int np = 0;
    const int64_t *p = onnx_attr_ints(n, "pads", &np);
    if (!p && n->n_input > 1 && n->input[1][0]) {
        const onnx_const *c = onnx_const_find(&im->g, n->input[1]);
        if (!c || !c->is_int) return imp_fail(&im->b, "its pads '%s' are not a constant", n->input[1]);
        p = c->i;
        np = (int)c->count;
    }
    int any = 0;
    for (int i = 0; i < np; i++) any |= p[i] != 0;
    if (!any) return 0;
    RM_TRY(imp_need_spatial(&im->b));
    if (np != 8)
        return imp_fail(&im->b, "%d pads; expected 8 (begin and end of N, C, H, W) for a 4-D tensor", np);
    if (m && strcmp(m, "constant"))
        return imp_fail(&im->b, "mode = %s; relmask folds only a constant Pad by zero (mode = constant) into the "
                                "layer that reads it",
                        m);
    double value = onnx_attr_float(n, "value", 0.f);
    if (n->n_input > 2 && n->input[2][0]) {
        const onnx_const *v = onnx_const_find(&im->g, n->input[2]);
        if (!v || v->is_int || v->count != 1)
            return imp_fail(&im->b, "its constant_value '%s' is not one float constant", n->input[2]);
        value = v->f[0];
    }
    if (value != 0)
        return imp_fail(&im->b, "pads with the value %g; relmask folds only a Pad by zero (a layer's zero padding)",
                        value);
    if (p[0] || p[1] || p[4] || p[5])
        return imp_fail(&im->b, "pads the batch or channel axis (pads %lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld); "
                                "relmask folds a Pad of height and width only",
                        (long long)p[0], (long long)p[1], (long long)p[2], (long long)p[3], (long long)p[4],
                        (long long)p[5], (long long)p[6], (long long)p[7]);
    const int64_t side[4] = {p[2], p[3], p[6], p[7]};   /* top, left, bottom, right */
    return imp_zero_pad(&im->b, side, n->name, index);
}

/* How many node inputs and graph outputs name the tensor. */
static int consumers(const importer *im, const char *name)
{
    const Onnx__GraphProto *gr = im->g.graph;
    int n = 0;
    for (size_t i = 0; i < gr->n_node; i++)
        for (size_t k = 0; k < gr->node[i]->n_input; k++) n += !strcmp(gr->node[i]->input[k], name);
    for (size_t i = 0; i < gr->n_output; i++) n += !strcmp(gr->output[i]->name, name);
    return n;
}

/* Add of two computed tensors ([add]) or Concat along the channels
 * ([concat]): a layer with several inputs. */
static int map_join(importer *im, const Onnx__NodeProto *n, int concat)
{
    const imp_tensor *x[RM_MAX_INPUTS] = {0};
    int count = (int)n->n_input;
    if (count < 2 || count > RM_MAX_INPUTS)
        return imp_fail(&im->b, "joins %d tensors; relmask's [%s] takes 2 to %d", count, concat ? "concat" : "add",
                        RM_MAX_INPUTS);
    for (int k = 0; k < count; k++)
        if (!(x[k] = imp_find_tensor(&im->b, n->input[k])))
            return imp_fail(&im->b, "its input '%s' is %s; relmask %s computed tensors only", n->input[k],
                            onnx_const_find(&im->g, n->input[k]) ? "a constant" : "not computed by an earlier node",
                            concat ? "concatenates" : "adds");
    if (concat) {
        int64_t axis = onnx_attr_int(n, "axis", 1);
        if (axis < 0) axis += x[0]->flat ? 2 : 4;
        if (axis != 1)
            return imp_fail(&im->b, "concatenates along axis %lld; relmask concatenates channels (axis 1)",
                            (long long)onnx_attr_int(n, "axis", 1));
    }
    return imp_join(&im->b, x, (const char *const *)n->input, count, concat);
}

/* Clip to [min, max]: attributes up to opset 10, optional constant inputs
 * from 11 on (an empty name: unbounded). relmask's [relu] clips at 0 below;
 * torch exports ReLU6 as Clip(0, 6) and ReLU as Clip(0, inf). */
static int clip_bound(importer *im, const Onnx__NodeProto *n, int k, const char *name, double unbounded,
                      double *out)
{
    *out = onnx_attr_float(n, name, (float)unbounded);
    if ((size_t)k >= n->n_input || !n->input[k][0]) return 0;
    const onnx_const *c = onnx_const_find(&im->g, n->input[k]);
    if (!c || c->is_int || c->count != 1)
        return imp_fail(&im->b, "its %s '%s' is not a constant scalar", name, n->input[k]);
    *out = c->f[0];
    return 0;
}

static int map_clip(importer *im, const Onnx__NodeProto *n)
{
    double lo, hi;
    RM_TRY(clip_bound(im, n, 1, "min", -INFINITY, &lo));
    RM_TRY(clip_bound(im, n, 2, "max", INFINITY, &hi));
    if (hi >= FLT_MAX) hi = INFINITY;
    if (lo != 0)
        return imp_fail(&im->b, "clips to [%g, %g]; relmask's [relu] clips to [0, max] (ReLU6 is Clip(0, 6))", lo,
                        hi);
    return imp_relu(&im->b, 0, hi);
}

/* ReduceMean over height and width (axes 2, 3 or -2, -1; opsets up to 17
 * give them as an attribute): global average pooling, then a flatten unless
 * keepdims. */
static int map_reduce_mean(importer *im, const Onnx__NodeProto *n)
{
    int count;
    const int64_t *axes = onnx_attr_ints(n, "axes", &count);
    int spatial = count == 2 && !im->b.flat;
    for (int k = 0; spatial && k < 2; k++) spatial = axes[k] == 2 + k || axes[k] == k - 2;
    if (!spatial) return imp_fail(&im->b, "a mean over other axes than height and width (2, 3) of an [N,C,H,W] tensor");
    RM_TRY(imp_global_avgpool(&im->b));
    return onnx_attr_int(n, "keepdims", 1) ? 0 : imp_flatten(&im->b);
}

/* The node's data input: the first input an earlier node computed. */
static int data_input(importer *im, const Onnx__NodeProto *n)
{
    for (size_t k = 0; k < n->n_input; k++) {
        const imp_tensor *t = imp_find_tensor(&im->b, n->input[k]);
        if (!t) continue;
        imp_use(&im->b, t);
        return 0;
    }
    return imp_fail(&im->b, "reads %s'%s', which no earlier node computed", n->n_input ? "" : "nothing, not even ",
                n->n_input ? n->input[0] : "");
}


/* One node that reads data tensors; 0 when mapped (its output is in the
 * tensor table), -1 when it cannot be. */
static int map_node(importer *im, const Onnx__NodeProto *n, int index, int last)
{
    const char *op = n->op_type ? n->op_type : "";
    label(im, n, index);
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
        return imp_fail(&im->b, "an operator of domain '%s'; relmask imports the standard ONNX operators", n->domain);
    if (n->n_output < 1 || !n->output[0][0]) return imp_fail(&im->b, "has no output");
    RM_TRY(data_input(im, n));
    int before = im->b.nlayers;
    int affine = map_affine(im, n);
    if (affine < 0) return -1;
    if (affine == 0) {
        if (!strcmp(op, "Add")) RM_TRY(map_join(im, n, 0));
        else if (!strcmp(op, "Concat")) RM_TRY(map_join(im, n, 1));
        else if (strcmp(n->input[0], im->b.in->name))
            return imp_fail(&im->b, "its data input '%s' is not its first input", im->b.in->name);
        else if (!strcmp(op, "Conv")) RM_TRY(map_conv(im, n));
        else if (!strcmp(op, "Relu")) RM_TRY(imp_relu(&im->b, 0, INFINITY));
        else if (!strcmp(op, "MaxPool")) RM_TRY(map_pool(im, n, RM_LAYER_MAXPOOL));
        else if (!strcmp(op, "AveragePool")) RM_TRY(map_pool(im, n, RM_LAYER_AVGPOOL));
        else if (!strcmp(op, "Clip")) RM_TRY(map_clip(im, n));
        else if (!strcmp(op, "LeakyRelu")) RM_TRY(imp_relu(&im->b, onnx_attr_float(n, "alpha", 0.01f), INFINITY));
        else if (!strcmp(op, "GlobalAveragePool")) RM_TRY(imp_global_avgpool(&im->b));
        else if (!strcmp(op, "ReduceMean")) RM_TRY(map_reduce_mean(im, n));
        else if (!strcmp(op, "BatchNormalization")) RM_TRY(map_batchnorm(im, n));
        else if (!strcmp(op, "Flatten")) {
            int64_t axis = onnx_attr_int(n, "axis", 1);
            if (axis != 1) return imp_fail(&im->b, "axis = %lld; only a flatten after the batch axis (1) is supported",
                                        (long long)axis);
            RM_TRY(imp_flatten(&im->b));
        } else if (!strcmp(op, "Reshape")) RM_TRY(map_reshape(im, n));
        else if (!strcmp(op, "Squeeze")) {
            if (im->b.flat || im->b.h != 1 || im->b.w != 1)
                return imp_fail(&im->b, "squeezes a [N,%lld,%lld,%lld] tensor; only [N,C,1,1] to [N,C] is supported",
                            (long long)im->b.c, (long long)im->b.h, (long long)im->b.w);
            RM_TRY(imp_flatten(&im->b));
        } else if (!strcmp(op, "Gemm")) RM_TRY(map_dense(im, n, 1));
        else if (!strcmp(op, "MatMul")) RM_TRY(map_dense(im, n, 0));
        else if (!strcmp(op, "Dropout")) {
            double p = onnx_attr_float(n, "ratio", 0.5f);
            if (n->n_input > 1 && n->input[1][0]) {
                const onnx_const *r = onnx_const_find(&im->g, n->input[1]);
                if (!r || r->is_int || r->count != 1) return imp_fail(&im->b, "its ratio is not a constant");
                p = r->f[0];
            }
            if (!(p >= 0 && p < 1)) return imp_fail(&im->b, "ratio %g outside [0, 1)", p);
            imp_layer *l = imp_add_layer(&im->b, RM_LAYER_DROPOUT);
            if (!l) return -1;
            l->p = p;
        } else if (!strcmp(op, "Identity")) {
        } else if (!strcmp(op, "Pad")) RM_TRY(map_pad(im, n, index));
        else if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
            if (!last || !is_graph_output(im, n->output[0]))
                return imp_fail(&im->b, "a %s that is not the model's output; only a final one is dropped (relmask "
                                "models output logits)",
                            op);
        } else {
            return imp_fail(&im->b, "operator %s is not supported; relmask imports Conv (grouped too), "
                            "BatchNormalization, Relu, Clip(0, max), LeakyRelu, MaxPool, AveragePool, GlobalAveragePool, ReduceMean over H,W, Flatten, Reshape, "
                            "Squeeze, Gemm, MatMul, Add (of two tensors, or a constant), Sub/Mul/Div by constants, "
                            "Concat of channels, Dropout, Identity, zero Pad and a final Softmax",
                        op);
        }
    }
    return imp_add_tensor(&im->b, n->output[0], im->b.nlayers > before ? im->b.nlayers - 1 : im->b.src,
                          consumers(im, n->output[0]));
}

static int read_input(importer *im)
{
    const Onnx__GraphProto *gr = im->g.graph;
    const Onnx__ValueInfoProto *in = NULL;
    int count = 0;
    for (size_t i = 0; i < gr->n_input; i++)
        if (!onnx_const_find(&im->g, gr->input[i]->name)) in = gr->input[i], count++;
    if (count != 1) return rm_error("%s: the model has %d inputs besides its weights; relmask imports models of one "
                                    "image input", im->b.o->input, count);
    if (gr->n_output != 1) return rm_error("%s: the model has %zu outputs; relmask imports models of one output "
                                           "(the class scores)", im->b.o->input, gr->n_output);
    const Onnx__TypeProto *t = in->type;
    const Onnx__TensorShapeProto *shape = t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type
                                              ? t->tensor_type->shape
                                              : NULL;
    if (!shape || shape->n_dim != 4)
        return rm_error("%s: input '%s' is not a 4-D image tensor [N,C,H,W]", im->b.o->input, in->name);
    if (t->tensor_type->has_elem_type && t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return rm_error("%s: input '%s' has ONNX type %d; relmask feeds float32 images", im->b.o->input, in->name,
                        t->tensor_type->elem_type);
    int64_t dims[4];
    for (int d = 1; d < 4; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = shape->dim[d];
        dims[d] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? dim->dim_value : -1;
    }
    if (dims[1] < 1 || dims[1] > RM_IMPORT_MAX_CHANNELS)
        return rm_error("%s: input '%s' has %lld channels; relmask images have 1 to %d", im->b.o->input, in->name,
                        (long long)dims[1], RM_IMPORT_MAX_CHANNELS);
    RM_TRY(imp_input_size(&im->b, in->name, &dims[2], &dims[3]));
    return imp_input(&im->b, in->name, (int)dims[1], (int)dims[2], (int)dims[3], consumers(im, in->name));
}

static int walk(importer *im)
{
    const Onnx__GraphProto *gr = im->g.graph;
    int last = (int)gr->n_node - 1;
    while (last >= 0 && (!strcmp(gr->node[last]->op_type, "Constant"))) last--;
    for (size_t i = 0; i < gr->n_node; i++) {
        const Onnx__NodeProto *n = gr->node[i];
        const imp_tensor *t = n->n_input ? imp_find_tensor(&im->b, n->input[0]) : NULL;
        onnx_data_shape data = {.name = t ? t->name : NULL, .ndims = t && t->flat ? 2 : 4,
                                .dims = {1, t ? t->c : 0, t ? t->h : 0, t ? t->w : 0}};
        int folded = onnx_fold(&im->g, n, (int)i, &data);
        if (folded < 0) return -1;
        if (!folded) RM_TRY(map_node(im, n, (int)i, (int)i == last));
    }
    return imp_finish(&im->b, gr->output[0]->name);
}

int rm_import_onnx(const rm_import_options *o)
{
    importer im = {.b = {.o = o}};
    int rc = onnx_graph_open(&im.g, o->input);
    if (rc == 0) rc = read_input(&im);
    if (rc == 0) rc = walk(&im);
    if (rc == 0) {
        const Onnx__ModelProto *m = im.g.model;
        const char *producer = m->producer_name ? m->producer_name : "?";
        const char *version = m->producer_version ? m->producer_version : "";
        char header[1024], params[1024];
        snprintf(header, sizeof header, "# Imported by relmask import onnx from %s\n# (producer %s %s, ONNX opset %d).\n",
                 o->input, producer, version, im.g.opset);
        snprintf(params, sizeof params, "imported_from=%s\nformat=onnx\nonnx_opset=%d\nproducer=%s %s\n", o->input,
                 im.g.opset, producer, version);
        rc = imp_write_model(&im.b, header, params);
    }
    imp_free(&im.b);
    onnx_graph_close(&im.g);
    return rc;
}
