/* The TF.js importer (src/import/tfjs_import.c, tfjs_layers.c) on
 * arbitrary model.json bytes: JSON, the weights manifest (shards of fixed
 * bytes beside it, named as the quant fixture's), node attributes (base64)
 * or Keras layer configs and inbound nodes, the NHWC mapping and the model
 * file. Seeds: graph models (quant, the npm emotion model) and two layers
 * models whose manifests fit the fixed shards (layers_seq: Sequential,
 * float32 in group2; layers_func: functional, uint8/uint16 over group1). */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#include "import/import.h"

int fuzz_tfjs(const uint8_t *data, size_t size);
int fuzz_tfjs(const uint8_t *data, size_t size)
{
    fuzz_init();
    static const char *const shards[] = {"group1-shard1of2.bin", "group1-shard2of2.bin", "group2-shard1of1.bin"};
    static const size_t shard_size[] = {93, 93, 56};
    uint8_t bytes[128];
    memset(bytes, 0x3f, sizeof bytes);   /* float32 0.747, uint8 63: finite weights */
    char *shard_path[3];
    for (int s = 0; s < 3; s++) shard_path[s] = fuzz_write(shards[s], bytes, shard_size[s]);
    char *in = fuzz_write("model.json", data, size);
    char *out = in ? fuzz_write("model.h5", (const uint8_t *)"", 0) : NULL;
    if (out) {
        fuzz_remove(out);
        rm_import_options o = {.input = in, .out_path = out, .force = 1, .width = 16, .height = 16};
        rm_import_tfjs(&o);
        fuzz_remove(out);
    }
    for (int s = 0; s < 3; s++) {
        fuzz_remove(shard_path[s]);
        free(shard_path[s]);
    }
    fuzz_remove(in);
    free(in);
    free(out);
    return 0;
}
FUZZ_TARGET(tfjs)
