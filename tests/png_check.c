#include "png_check.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/image.h"
#include "report/canvas.h"
#include "test_util.h"

double pc_assert_png_beside(const char *svg_path)
{
    char *svg = tu_read_text(svg_path);
    cr_assert(svg, "cannot read %s", svg_path);
    const char *root = strstr(svg, "<svg ");
    cr_assert(root, "%s: no <svg> element", svg_path);
    int w = 0, h = 0;
    const char *pw = strstr(root, " width=\""), *ph = strstr(root, " height=\"");
    cr_assert(pw && ph && sscanf(pw, " width=\"%d\"", &w) == 1 && sscanf(ph, " height=\"%d\"", &h) == 1,
              "%s: no width/height", svg_path);
    free(svg);
    char png[4096];
    size_t n = strlen(svg_path);
    cr_assert(n > 4 && n < sizeof png && !strcmp(svg_path + n - 4, ".svg"));
    memcpy(png, svg_path, n + 1);
    memcpy(png + n - 4, ".png", 4);
    rm_image img;
    cr_assert_eq(rm_image_load(&img, png), 0, "%s: %s", png, rm_error_message());
    cr_assert_eq(img.width, w * RM_PLOT_PNG_SCALE, "%s: width %d for an SVG %d wide", png, img.width, w);
    cr_assert_eq(img.height, h * RM_PLOT_PNG_SCALE, "%s: height %d for an SVG %d high", png, img.height, h);
    cr_assert_eq(img.channels, 3, "%s: RGB", png);
    size_t plane = (size_t)img.width * img.height, drawn = 0;
    for (size_t i = 0; i < plane; i++)
        drawn += img.pixels[i] != 255 || img.pixels[plane + i] != 255 || img.pixels[2 * plane + i] != 255;
    double share = (double)drawn / (double)plane;
    cr_assert(share > 0.01, "%s: only %.4f%% of the pixels differ from the background", png, 100 * share);
    rm_image_free(&img);
    return share;
}

int pc_assert_png_beside_every_svg(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".svg") || e->d_name[0] == '.') continue;
        pc_assert_png_beside(tu_path(dir, e->d_name));
        n++;
    }
    closedir(d);
    return n;
}
