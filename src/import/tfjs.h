/* What the two TF.js readers share: the weights manifest (weight names,
 * shapes, dtypes and quantization, read in order across a group's .bin
 * shards beside model.json; tfjs_weights.c), TensorFlow's 'SAME'/'VALID'
 * windows and pooling (tfjs_import.c), and the layers-model reader that
 * rm_import_tfjs hands a Keras topology to (tfjs_layers.c). */
#ifndef RELMASK_IMPORT_TFJS_H
#define RELMASK_IMPORT_TFJS_H

#include <stdint.h>

#include "core/json.h"
#include "import/builder.h"

enum { TFJS_MAX_DIMS = 6 };

/* One weight, dequantized to float32 (or int32 as stored). */
typedef struct {
    const char *name;   /* points into the model.json tree */
    int is_int;
    int ndims;
    int64_t dims[TFJS_MAX_DIMS];
    int64_t count;
    float *f;
    int32_t *i;
} tfjs_const;

typedef struct {
    tfjs_const *consts;
    int nconsts;
} tfjs_weights;

/* Reads every group of doc's weightsManifest; `input` is the model.json
 * path: errors name it, and the shards are read beside it. A shard that is
 * missing, short or too long, or a non-finite weight, fails naming it. */
int tfjs_load_manifest(tfjs_weights *w, const rm_json *doc, const char *input);
const tfjs_const *tfjs_find_const(const tfjs_weights *w, const char *name);
void tfjs_free_weights(tfjs_weights *w);

/* A size x size window at `stride` and `dilation` on the builder's current
 * [C,H,W]: no padding ('VALID'), or ('SAME', same = 1) the pads that give
 * ceil(in / stride) outputs, an odd total's extra cell at the bottom and
 * right as TensorFlow puts it. */
int tfjs_window(imp_builder *b, int size, int stride, int dilation, int same, imp_window *win);
/* MaxPool / AvgPool, 'VALID' or 'SAME' (pads as tfjs_window; average
 * pooling divides by the valid cells: [avgpool] count_pad = 0). */
int tfjs_pool(imp_builder *b, rm_layer_type type, int size, int stride, int same);

/* A float filter [K,K,I,O] (TensorFlow's HWIO) as relmask's OIHW, or,
 * depthwise, [K,K,C,M] (HWCM) as [C M,1,K,K], output channel c M + m
 * reading input channel c. The caller checked the shape; NULL when out of
 * memory. */
float *tfjs_filter_oihw(const tfjs_const *w, int depthwise);

/* Imports a layers model (format layers-model: a Keras topology in
 * modelTopology) of the parsed model.json `doc`; writes o->out_path. */
int tfjs_import_layers(const rm_import_options *o, const rm_json *doc);

#endif
