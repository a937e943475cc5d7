/* What every importer builds: the layers of a network trained elsewhere,
 * with their weights in relmask's (PyTorch's) layout, the data tensors
 * computed so far (which layer made each, and its shape), and the input
 * normalization folded from constant arithmetic on the input. A format's
 * reader (onnx_import.c, tfjs_import.c) maps its operators onto this; the
 * builder turns the result into a network text (with `from =` where a
 * layer reads anything but the layer before it) and a model file. */
#ifndef RELMASK_IMPORT_BUILDER_H
#define RELMASK_IMPORT_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "import/import.h"
#include "nn/netdef.h"

typedef struct {
    rm_layer_type type;
    int num_inputs, inputs[RM_MAX_INPUTS];   /* earlier layers or RM_INPUT_NETWORK */
    int readers;                             /* layers that read this one's output */
    int filters, size, stride, pad, bias, units, groups;
    int pads[4], dilation;              /* conv, pooling: top, left, bottom, right; conv: tap spacing */
    int count_pad;                      /* avgpool: 0 averages over the real cells only */
    double p, eps, momentum;
    double slope, max;                  /* relu: leaky slope, clip bound (0: none) */
    int64_t fan_in;                     /* weights per output: dense I, conv I/G*K*K */
    float *weight, *bias_v;             /* conv [O,I/G,K,K], dense [O,I]; bias [O] */
    float *gamma, *beta, *mean, *var;   /* batchnorm [C]; [scale]: its scale and shift in gamma, beta
                                           (units = C) */
} imp_layer;

/* Zero padding of a layer's output not applied yet (a Pad operator of the
 * source graph): the convolution or pooling that reads the padded tensor
 * takes it into its own pads (imp_take_pad); any other reader is refused. */
typedef struct {
    int pads[4];            /* top, left, bottom, right; all 0: none */
    int nonneg;             /* the padded values are >= 0 (a ReLU's or Clip(0, ...)'s): a max pool may take it */
    const char *node;       /* the Pad node's name and index, for the messages */
    int index;
} imp_pad;

/* A data tensor: which layer's output it is, its shape (before any pad),
 * and how many readers the source graph gives it (node inputs and graph
 * outputs). */
typedef struct {
    const char *name;
    int layer;              /* an index into layers, or RM_INPUT_NETWORK */
    int flat;
    int64_t c, h, w;
    int consumers;
    imp_pad pad;
} imp_tensor;

typedef struct {
    const rm_import_options *o;
    imp_layer *layers;
    int nlayers;
    imp_tensor *tensors;
    int ntensors;
    /* the operator being mapped: its data input (tensor and layer) and
     * shape, which the mapping updates to its output's */
    const imp_tensor *in;
    int src;
    int flat;               /* 1: [F] = c; 0: [C,H,W] */
    int64_t c, h, w;
    imp_pad pad;            /* the data input's pending zero padding */
    int channels, in_h, in_w;
    int export_h, export_w; /* the model's own input size when --size runs it at another (else 0) */
    double a[RM_IMPORT_MAX_CHANNELS], b[RM_IMPORT_MAX_CHANNELS];   /* input affine: y = a x + b */
    char what[600];         /* "MODEL.onnx: node 3 'name' (Conv)": errors start with it */
} imp_builder;

/* An error "<what>: <message>"; returns -1. */
int imp_fail(imp_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The input height and width: the model's (h, w; < 1 symbolic) or --size.
 * A --size other than a fixed size of the model is taken (a fully
 * convolutional model runs at any size) and remembered for the messages
 * of a size-dependent layer and for the network's header. */
int imp_input_size(imp_builder *b, const char *name, int64_t *h, int64_t *w);
/* The network input [channels, h, w], as the tensor `name`. */
int imp_input(imp_builder *b, const char *name, int channels, int h, int w, int consumers);
/* A new layer reading b->src (its readers count follows), which then
 * becomes b->src; NULL with an error when the data input has pending
 * padding (imp_pad_refuse). */
imp_layer *imp_add_layer(imp_builder *b, rm_layer_type type);
const imp_tensor *imp_find_tensor(const imp_builder *b, const char *name);
/* Makes `t` the operator's data input: b->in, b->src and the shape. */
void imp_use(imp_builder *b, const imp_tensor *t);
/* Records the operator's output as the tensor `name` of `layer`, with the
 * builder's current shape and pending padding. */
int imp_add_tensor(imp_builder *b, const char *name, int layer, int consumers);
/* The parser's default name of layer i ("conv3"), or "input". */
void imp_layer_name(const imp_builder *b, int i, char *out, size_t size);
float *imp_copy_floats(const float *src, int64_t count, float scale);

/* A sliding window: size x size taps spaced dilation apart, padding
 * top, left, bottom, right (pads[]); imp_window_sym: one pad, no dilation. */
typedef struct {
    int size, stride, dilation, pads[4];
} imp_window;
/* An error naming the Pad when tensor t (NULL: the data input) has pending
 * padding; else 0. */
int imp_pad_refuse(imp_builder *b, const imp_tensor *t);
/* Adds the data input's pending padding to win's pads and clears it. */
void imp_take_pad(imp_builder *b, imp_window *win);
/* A Pad by zeros of the data input's height and width, side[] top, left,
 * bottom, right (0..64 each), left pending for the layer that reads it; a
 * Pad of a Pad adds up. node and index name the Pad in later errors. */
int imp_zero_pad(imp_builder *b, const int64_t side[4], const char *node, int index);
/* An error unless the data is an image tensor [C,H,W]. */
int imp_need_spatial(imp_builder *b);
/* Layers every format maps onto; each updates the shape. */
int imp_flatten(imp_builder *b);
imp_window imp_window_sym(int size, int stride, int pad);
int imp_conv(imp_builder *b, int filters, const imp_window *win, int groups, float *weight, float *bias);
/* [maxpool] or [avgpool]: undilated, every pad below the window size;
 * count_pad 0: an average over the real cells only. */
int imp_pool(imp_builder *b, rm_layer_type type, const imp_window *win, int count_pad);
int imp_global_avgpool(imp_builder *b);
/* A [relu]: plain (slope 0, max infinite), leaky (0 < slope < 1) or
 * clipped to [0, max] (relu6: max 6); anything else is refused by value. */
int imp_relu(imp_builder *b, double slope, double max);
/* An [add] (same shapes) or a [concat] (channels) of computed tensors. */
int imp_join(imp_builder *b, const imp_tensor *const *x, const char *const *names, int count, int concat);
/* Add/Sub/Mul/Div ("op") by a constant, one value or one per channel (or
 * unit), of the operator's data input: folded into the input normalization
 * (on the input before any layer), or into the weights and bias of the
 * dense or convolution layer that computed it when nothing else reads
 * that. negate: constant - x. 1 when folded, -1 with an error otherwise. */
int imp_affine(imp_builder *b, const char *op, const float *k, int64_t count, int negate);

/* After the walk: the graph output `name` is the last layer's output and
 * every other layer's output is read. */
int imp_finish(imp_builder *b, const char *output_name);

/* Writes the model file: the network text (headed by `header`, comment
 * lines), the weights, the classes (--classes, or 0..K-1), the
 * normalization (--mean/--std composed with the folded input affine) and
 * `train_params` (key=value lines: imported_from, format, ...). */
int imp_write_model(imp_builder *b, const char *header, const char *train_params);
void imp_free(imp_builder *b);

#endif
