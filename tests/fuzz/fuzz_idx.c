/* IDX ingest (src/ingest/idx.c). The input is an images file followed by a
 * labels file: it is cut at the first labels magic 00 00 08 01 after the
 * first 4 bytes (no such magic: the same bytes are both files). */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

int fuzz_idx(const uint8_t *data, size_t size);
int fuzz_idx(const uint8_t *data, size_t size)
{
    fuzz_init();
    size_t cut = size;
    for (size_t i = 4; i + 4 <= size; i++)
        if (!memcmp(data + i, "\0\0\x08\x01", 4)) {
            cut = i;
            break;
        }
    char *images = fuzz_write("images.idx", data, cut);
    char *labels = cut < size ? fuzz_write("labels.idx", data + cut, size - cut) : NULL;
    char *out = fuzz_write("idx.h5", NULL, 0);
    rm_ingest_options opt;
    rm_ingest_options_init(&opt);
    opt.out_path = out;
    opt.force = 1;
    opt.deflate_level = 0;
    opt.skip_bad = size & 1;
    opt.labels_path = labels ? labels : images;
    rm_ingest_idx(images, &opt);
    fuzz_remove(out);
    free(images);
    free(labels);
    free(out);
    return 0;
}
FUZZ_TARGET(idx)
