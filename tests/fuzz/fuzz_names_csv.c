/* `relmask relevance import --png DIR --names CSV` (src/relevance/import.c):
 * the "index,filename" CSV is the input; DIR holds 0.png, 1.png and
 * face.png (8x8 gray heatmaps) for the tiny fuzz dataset. Odd sizes allow
 * missing records; the split follows size % 4. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/image.h"
#include "relevance/import.h"

static const char *png_dir(void)
{
    static char dir[300];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "%s/png", fuzz_dir());
    mkdir(dir, 0700);
    static const char *const names[] = {"0.png", "1.png", "face.png"};
    for (int i = 0; i < 3; i++) {
        rm_image img;
        char path[400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rm_image_alloc(&img, FUZZ_DS_SIDE, FUZZ_DS_SIDE, 1) != 0) abort();
        for (int k = 0; k < FUZZ_DS_SIDE * FUZZ_DS_SIDE; k++) img.pixels[k] = (uint8_t)(k * (i + 3));
        if (rm_image_save_png(&img, path) != 0) abort();
        rm_image_free(&img);
    }
    return dir;
}

int fuzz_names_csv(const uint8_t *data, size_t size);
int fuzz_names_csv(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *in = fuzz_write("names.csv", data, size), *out = fuzz_write("names.h5", NULL, 0);
    rm_import_options o;
    rm_import_options_defaults(&o);
    o.source = RM_IMPORT_PNG;
    o.input = png_dir();
    o.names_path = in;
    o.data_path = fuzz_dataset();
    o.out_path = out;
    o.force = 1;
    o.deflate_level = 0;
    o.allow_missing = size & 1;
    o.png_signed = (size >> 1) & 1;
    o.split = (int)(size % 4) - 1;
    o.block = 4;
    rm_relevance_import(&o);
    fuzz_remove(out);
    free(in);
    free(out);
    return 0;
}
FUZZ_TARGET(names_csv)
