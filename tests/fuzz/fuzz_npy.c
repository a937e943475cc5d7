/* NPY ingest (src/ingest/npy.c). The input is an images .npy followed by a
 * labels .npy: it is cut at the second "\x93NUMPY" (no second one: the same
 * bytes are both files). */
#include "fuzz_common.h"

#include <stdlib.h>

#include "ingest/ingest.h"

int fuzz_npy(const uint8_t *data, size_t size);
int fuzz_npy(const uint8_t *data, size_t size)
{
    fuzz_init();
    size_t cut = fuzz_npy_cut(data, size);
    char *images = fuzz_write("images.npy", data, cut);
    char *labels = cut < size ? fuzz_write("labels.npy", data + cut, size - cut) : NULL;
    char *out = fuzz_write("npy.h5", NULL, 0);
    rm_ingest_options opt;
    rm_ingest_options_init(&opt);
    opt.out_path = out;
    opt.force = 1;
    opt.deflate_level = 0;
    opt.skip_bad = size & 1;
    opt.labels_path = labels ? labels : images;
    rm_ingest_npy(images, &opt);
    fuzz_remove(out);
    free(images);
    free(labels);
    free(out);
    return 0;
}
FUZZ_TARGET(npy)
