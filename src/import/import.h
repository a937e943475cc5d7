/* The import stage: a network trained elsewhere becomes a relmask model file
 * (docs/import.md), which then predicts, explains (LRP), fine-tunes and
 * serves as the source model of `make experiment` like one relmask trained. */
#ifndef RELMASK_IMPORT_H
#define RELMASK_IMPORT_H

enum { RM_IMPORT_MAX_CHANNELS = 4 };

typedef struct {
    const char *input;          /* MODEL.onnx */
    const char *out_path;       /* MODEL.h5, written atomically */
    int force;
    const char *classes;        /* comma-separated names or a preset (fer2013, synth, ...); NULL: "0".."K-1" */
    /* the same classes in the order of the data the model will meet (names
     * or a preset; "anger" matches "angry", "sadness" "sad", ...): the last
     * layer's outputs are permuted to it and the model takes its names.
     * NULL: the model's order. Needs classes. */
    const char *class_order;
    /* what the model expects of an image x in [0, 255]: ((x/255) - mean[c]) / std[c] */
    int num_mean, num_std;      /* 0 (defaults 0 and 1), 1 (every channel) or the channel count */
    double mean[RM_IMPORT_MAX_CHANNELS], std[RM_IMPORT_MAX_CHANNELS];
    int width, height;          /* the input size when the model's is symbolic (0: the model's) */
    const char *name;           /* the network's name (default: the file name without .onnx) */
    const char *command_line;   /* provenance */
} rm_import_options;

/* Imports an ONNX model (opsets 9-17, as torch.onnx.export writes them) of
 * the layers relmask has, as a chain or a graph (`from =`): Conv (grouped
 * too), BatchNormalization, Relu, MaxPool, AveragePool, GlobalAveragePool,
 * Flatten/Reshape, Gemm, MatMul + Add, Add of two tensors, Concat of
 * channels, Dropout, Identity, zero Pad; a final Softmax is dropped so
 * the model outputs logits; the exporter's shape arithmetic is folded; Sub,
 * Mul, Div and Add by constants before the first layer become the model's
 * input normalization. Anything else fails naming the node and what is not
 * supported; nothing is written. */
int rm_import_onnx(const rm_import_options *o);

/* Imports a TensorFlow.js graph model (model.json, the weights manifest's
 * .bin shards beside it; float32 or uint8/uint16/float16 quantized
 * weights): Conv2D, _FusedConv2D (BiasAdd, Relu), DepthwiseConv2dNative,
 * MaxPool, AvgPool, Add/AddV2, BiasAdd, Relu, Mean over height and width,
 * MatMul, Reshape/Squeeze to [N,C], Identity and a final Softmax; or a
 * layers model (a Keras Sequential or functional topology): Conv2D,
 * DepthwiseConv2D, SeparableConv2D, BatchNormalization, activations,
 * pooling, Flatten, Dense, Dropout, Add, Concatenate (docs/import.md).
 * NHWC becomes NCHW; 'SAME' padding puts an odd extra cell at the bottom
 * and right, as TensorFlow does. Errors name the node (index, name, op),
 * the layer (index, name, class) or the shard; nothing is written. */
int rm_import_tfjs(const rm_import_options *o);

#endif
