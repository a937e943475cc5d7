/* Folder ingest (src/ingest/image_folder.c) with a fuzzed --class-map
 * ("folder" or "folder=class name" lines) over a fixed tree: angry/ and
 * happy/ with a PNG each, sad/ with a PGM. Odd sizes use --skip-bad. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/image.h"
#include "ingest/ingest.h"

static const char *image_tree(void)
{
    static char root[300];
    if (root[0]) return root;
    snprintf(root, sizeof root, "%s/faces", fuzz_dir());
    mkdir(root, 0700);
    static const char *const files[] = {"angry/a.png", "happy/b.png", "sad/c.png"};
    for (int i = 0; i < 3; i++) {
        char dir[400], path[400];
        snprintf(dir, sizeof dir, "%s/%.*s", root, (int)(strchr(files[i], '/') - files[i]), files[i]);
        mkdir(dir, 0700);
        snprintf(path, sizeof path, "%s/%s", root, files[i]);
        rm_image img;
        if (rm_image_alloc(&img, 6, 5, i == 1 ? 3 : 1) != 0) abort();
        for (int k = 0; k < 30 * img.channels; k++) img.pixels[k] = (uint8_t)(k * 11 + i);
        if (rm_image_save_png(&img, path) != 0) abort();
        rm_image_free(&img);
    }
    return root;
}

int fuzz_class_map(const uint8_t *data, size_t size);
int fuzz_class_map(const uint8_t *data, size_t size)
{
    fuzz_init();
    const char *root = image_tree();
    char *map = fuzz_write("classes.txt", data, size), *out = fuzz_write("folder.h5", NULL, 0);
    rm_ingest_options opt;
    rm_ingest_options_init(&opt);
    opt.out_path = out;
    opt.force = 1;
    opt.deflate_level = 0;
    opt.width = opt.height = 8;
    opt.skip_bad = size & 1;
    opt.class_map = map;
    rm_ingest_folder(root, &opt);
    fuzz_remove(out);
    free(map);
    free(out);
    return 0;
}
FUZZ_TARGET(class_map)
