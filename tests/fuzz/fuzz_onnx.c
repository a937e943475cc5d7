/* The ONNX importer (src/import/) on arbitrary bytes: protobuf parsing,
 * tensors, attributes, folding and the mapping to layers. */
#include "fuzz_common.h"

#include <stdlib.h>

#include "import/import.h"

int fuzz_onnx(const uint8_t *data, size_t size);
int fuzz_onnx(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *in = fuzz_write("model.onnx", data, size);
    if (!in) return 0;
    char *out = fuzz_write("model.h5", (const uint8_t *)"", 0);
    if (out) {
        fuzz_remove(out);
        rm_import_options o = {.input = in, .out_path = out, .force = 1, .width = 16, .height = 16};
        rm_import_onnx(&o);
        fuzz_remove(out);
    }
    fuzz_remove(in);
    free(in);
    free(out);
    return 0;
}
FUZZ_TARGET(onnx)
