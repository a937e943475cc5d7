/* The image loaders (src/core/image_io.c): PNG, JPEG, TIFF and PGM/PPM,
 * chosen by magic bytes; a decoded image is also converted to 8x8 gray and
 * 5x3 RGB. */
#include "fuzz_common.h"

#include <stdlib.h>

#include "core/image.h"

int fuzz_image(const uint8_t *data, size_t size);
int fuzz_image(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *in = fuzz_write("image", data, size);
    rm_image img, small;
    if (rm_image_load(&img, in) == 0) {
        if (rm_image_alloc(&small, 8, 8, 1) == 0) rm_image_convert(&img, &small);
        rm_image_free(&small);
        if (rm_image_alloc(&small, 5, 3, 3) == 0) rm_image_convert(&img, &small);
        rm_image_free(&small);
        rm_image_free(&img);
    }
    free(in);
    return 0;
}
FUZZ_TARGET(image)
