/* Network definitions: readable text files under nets/ (darknet-like
 * sections), parsed into a list of layers with their output shapes. The
 * text is stored verbatim inside every model file.
 *
 *   [net]
 *   input = 1x48x48        # channels x height x width
 *   classes = 7
 *
 *   [conv]                 # name = conv1 (default: type + running number)
 *   filters = 32
 *   size = 3               # square kernel
 *   stride = 1
 *   pad = 1                # or top, left, bottom, right: pad = 0, 0, 1, 1
 *   dilation = 1           # spacing of the kernel's taps (atrous convolution)
 *   groups = 1             # grouped convolution: filters and input channels
 *                          # split into groups (depthwise: groups = channels)
 *   bias = 1
 *   activation = relu      # shorthand: appends a [relu] layer
 *
 *   [relu]                 # slope = 0.1: leaky (x < 0 -> 0.1 x); max = 6:
 *                          # clipped at 6 (relu6); one of the two at most
 *   [maxpool]              # size = 3, stride (default: size), pad as [conv]'s
 *   [avgpool]              # the same, and count_pad = 0: divide by the real
 *                          # cells of each window (default 1: by size x size)
 *   [globalavgpool] [flatten] [dropout]
 *   [batchnorm] [dense] (units = N, bias, activation)
 *   [scale]                # y = scale_c x + shift_c per channel (learnable;
 *                          # starts as the identity): a normalization baked
 *                          # into an imported model, between any layers
 *
 * Graphs: any layer may say `from = a` (a single-input layer) or, for
 * [add] and [concat], `from = a, b, ...` (2..RM_MAX_INPUTS layers), naming
 * earlier layers or `input` (the network's input). Without `from` a layer
 * reads the layer before it, so the file order is a topological order.
 * Every layer's output but the last one's must be read by a later layer.
 */
#ifndef RELMASK_NETDEF_H
#define RELMASK_NETDEF_H

#include <stdint.h>

typedef enum {
    RM_LAYER_CONV,
    RM_LAYER_RELU,
    RM_LAYER_MAXPOOL,
    RM_LAYER_AVGPOOL,
    RM_LAYER_GLOBALAVGPOOL,
    RM_LAYER_FLATTEN,
    RM_LAYER_DROPOUT,
    RM_LAYER_BATCHNORM,
    RM_LAYER_DENSE,
    RM_LAYER_ADD,
    RM_LAYER_CONCAT,
    RM_LAYER_SCALE,
    RM_LAYER_TYPE_COUNT
} rm_layer_type;

extern const char *const rm_layer_type_names[RM_LAYER_TYPE_COUNT];

typedef struct { int c, h, w; } rm_shape;

enum { RM_MAX_INPUTS = 8 };
#define RM_INPUT_NETWORK (-1)   /* rm_layer_def.inputs[]: the network input */   /* per image; dense output: c = units, h = w = 1 */

typedef struct {
    rm_layer_type type;
    char name[32];        /* unique; "conv1", "dense2", "relu3", ... unless named */
    int line;             /* line of the section header in the text */
    /* conv: filters, size, stride, pad, bias; pooling: size, stride, pad (each side less than size) */
    int filters, size, stride, pad, bias;
    int pads[4];          /* conv, pooling: top, left, bottom, right (pad = P: all P); pad = pads[0] */
    int count_pad;        /* avgpool: 1 divides by size*size (padding counts as zeros), 0 by the real cells */
    int dilation;         /* conv: 1, or the spacing of the kernel's taps */
    int groups;           /* conv: 1, or input channels and filters in groups */
    int units;            /* dense */
    double p;             /* dropout probability of zeroing, [0, 1) */
    double eps, momentum; /* batchnorm: variance epsilon (1e-5), running-average momentum (0.1) */
    double slope, max;    /* relu: negative slope (leaky, 0) and upper bound (clip/relu6, 0 = none) */
    int num_inputs;       /* 1, or 2..RM_MAX_INPUTS for add and concat */
    int inputs[RM_MAX_INPUTS];   /* earlier layer indices or RM_INPUT_NETWORK */
    rm_shape in, out;     /* filled by the parser; in: the first input's shape */
    int64_t params;       /* learnable parameter count */
    int64_t flops;        /* forward multiply-adds x 2 per image */
} rm_layer_def;

typedef struct {
    char name[64];        /* from the file name or "name =" in [net] */
    rm_shape input;
    int classes;
    int num_layers;
    rm_layer_def *layers;
    char *text;           /* the definition as parsed (owned) */
} rm_netdef;

/* Parses a definition. Errors name the source and line:
 * "nets/x.cfg:12: [conv] needs 'filters'", "...: unknown section [lstm]",
 * "...: 'size = 0' must be in 1..64", "...: pooling 3x3 larger than input 2x2",
 * "...: last layer has 10 outputs but [net] classes = 7". */
int rm_netdef_parse(rm_netdef *def, const char *text, const char *source_name);
int rm_netdef_load(rm_netdef *def, const char *path);
/* Finds a built-in definition by name ("fer-small") under the nets/
 * directory (the RELMASK_NETS env var; else beside the running program:
 * <bindir>/../share/relmask/nets, then <bindir>/../nets; else the source
 * tree it was built from), or a path. */
int rm_netdef_find(rm_netdef *def, const char *name_or_path);
/* Whether rm_netdef_find takes it as a file path (a '/' or a .cfg suffix)
 * rather than a name under the nets directory. */
int rm_netdef_is_path(const char *name_or_path);
/* Whether a network name exists under the nets directory; the error lists
 * the names there. */
int rm_netdef_name_check(const char *name);
/* The same network for inputs with `channels` channels (e.g. an image
 * plus encode's relevance channel): rewrites the text's "input =" line,
 * with a comment saying so, and re-parses; the first layer's weights
 * follow. def is unchanged on error. */
int rm_netdef_set_input_channels(rm_netdef *def, int channels);
/* The same network with `classes` outputs: `classes =` and the units of the
 * last [dense] layer rewritten (with a comment saying so); an error when a
 * layer with weights follows that dense layer. */
int rm_netdef_set_classes(rm_netdef *def, int classes);
void rm_netdef_free(rm_netdef *def);
/* Whether every layer reads the one before it (the first the input): no
 * `from` beyond that, hence no add or concat. */
int rm_netdef_is_sequential(const rm_netdef *def);
/* How many input edges read layer i's output (i = RM_INPUT_NETWORK: the
 * network input; `from` names a layer at most once per layer). */
int rm_netdef_consumers(const rm_netdef *def, int i);
int64_t rm_netdef_params(const rm_netdef *def);
/* A [relu] without slope or max: max(x, 0), the one that fuses into a
 * convolution and gives outputs that are zero or positive. */
static inline int rm_layer_is_plain_relu(const rm_layer_def *l)
{
    return l->type == RM_LAYER_RELU && l->slope == 0 && l->max == 0;
}
int64_t rm_netdef_flops(const rm_netdef *def);

#endif
