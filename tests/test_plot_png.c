/* The raster canvas behind the PNG figures: primitives land on the pixels
 * their coordinates map to (SVG units times the scale), and a plot's PNG
 * puts each series where its SVG twin puts it. Colours are compared with a
 * tolerance of 0.02 (5 of 255 levels): fully covered pixels are exact, the
 * tolerance only absorbs the 8-bit rounding. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/image.h"
#include "report/canvas.h"
#include "report/report.h"
#include "test_util.h"

static const float white[3] = {1, 1, 1};

/* Pixel (x, y) of the raster, RGB in [0, 1]. */
static const float *px(const rm_canvas *c, int x, int y)
{
    cr_assert(x >= 0 && y >= 0 && x < c->width && y < c->height, "pixel (%d, %d) outside %dx%d", x, y, c->width,
              c->height);
    return c->rgb + 3 * ((size_t)y * c->width + x);
}

static int same(const float *a, const float *b) { return fabsf(a[0] - b[0]) < 0.02f && fabsf(a[1] - b[1]) < 0.02f && fabsf(a[2] - b[2]) < 0.02f; }

static void hex(const char *s, float out[3])
{
    unsigned v = (unsigned)strtoul(s + 1, NULL, 16);
    out[0] = (float)(v >> 16 & 255) / 255, out[1] = (float)(v >> 8 & 255) / 255, out[2] = (float)(v & 255) / 255;
}

#define ASSERT_PIXEL(c, x, y, want, what)                                                                              \
    do {                                                                                                              \
        const float *p_ = px(c, x, y);                                                                                \
        cr_assert(same(p_, want), "%s: pixel (%d, %d) is (%.3f, %.3f, %.3f), expected (%.3f, %.3f, %.3f)", what, x,  \
                  y, p_[0], p_[1], p_[2], (want)[0], (want)[1], (want)[2]);                                           \
    } while (0)

Test(plot_png, primitives_land_on_the_pixels_their_coordinates_map_to)
{
    rm_canvas c;
    rm_canvas_raster(&c, 2);
    cr_assert_eq(c.ops->begin(&c, 100, 60), 0, "%s", rm_error_message());
    cr_assert_eq(c.width, 200);
    cr_assert_eq(c.height, 120);
    const float red[3] = {1, 0, 0}, blue[3] = {0, 0, 1}, black[3] = {0, 0, 0};

    /* a line 2 units wide at y = 20 from x = 10 to 90: output rows 38..41, columns 20..179 */
    c.ops->line(&c, 10, 20, 90, 20, &(rm_style){.stroke = "#ff0000", .stroke_width = 2});
    ASSERT_PIXEL(&c, 100, 38, red, "line");
    ASSERT_PIXEL(&c, 100, 41, red, "line");
    ASSERT_PIXEL(&c, 20, 40, red, "line start");
    ASSERT_PIXEL(&c, 179, 40, red, "line end");
    ASSERT_PIXEL(&c, 100, 37, white, "above the line");
    ASSERT_PIXEL(&c, 100, 42, white, "below the line");
    ASSERT_PIXEL(&c, 19, 40, white, "before the line (butt cap)");
    ASSERT_PIXEL(&c, 180, 40, white, "after the line");

    /* a rect at (10, 40) of 20 x 10 units: columns 20..59, rows 80..99 */
    c.ops->rect(&c, 10, 40, 20, 10, &(rm_style){.fill = "#0000ff"});
    ASSERT_PIXEL(&c, 20, 80, blue, "rect corner");
    ASSERT_PIXEL(&c, 59, 99, blue, "rect corner");
    ASSERT_PIXEL(&c, 19, 90, white, "left of the rect");
    ASSERT_PIXEL(&c, 60, 90, white, "right of the rect");
    ASSERT_PIXEL(&c, 40, 79, white, "above the rect");
    ASSERT_PIXEL(&c, 40, 100, white, "below the rect");

    /* "I" at font size 10 (a font pixel is 1 unit = 2 output pixels), baseline
     * y = 30, starting at x = 50: the stem is font column 2 (x 52..53 units),
     * rows 0..6 above the baseline (y 23..30); the serifs span columns 1..3. */
    c.ops->text(&c, 50, 30, 0, "I", &(rm_style){.fill = "#000000", .font_size = 10, .anchor = RM_ANCHOR_START});
    ASSERT_PIXEL(&c, 104, 50, black, "stem");
    ASSERT_PIXEL(&c, 105, 50, black, "stem");
    ASSERT_PIXEL(&c, 103, 50, white, "left of the stem");
    ASSERT_PIXEL(&c, 106, 50, white, "right of the stem");
    ASSERT_PIXEL(&c, 102, 46, black, "top serif");
    ASSERT_PIXEL(&c, 107, 59, black, "bottom serif");
    ASSERT_PIXEL(&c, 101, 46, white, "left of the serif");
    ASSERT_PIXEL(&c, 105, 45, white, "above the glyph");
    ASSERT_PIXEL(&c, 105, 60, white, "below the baseline");
    /* anchored in the middle at x = 50 (width 5 units): the stem at 49.5..50.5 */
    c.ops->text(&c, 50, 55, 0, "I", &(rm_style){.fill = "#000000", .font_size = 10, .anchor = RM_ANCHOR_MIDDLE});
    ASSERT_PIXEL(&c, 99, 100, black, "centred stem");
    ASSERT_PIXEL(&c, 100, 100, black, "centred stem");
    ASSERT_PIXEL(&c, 98, 100, white, "left of the centred stem");
    ASSERT_PIXEL(&c, 101, 100, white, "right of the centred stem");
    /* a circle of radius 3 at (80, 45): its centre covered, 4 units away not */
    c.ops->circle(&c, 80, 45, 3, &(rm_style){.fill = "#ff0000"});
    ASSERT_PIXEL(&c, 160, 90, red, "circle centre");
    ASSERT_PIXEL(&c, 160, 98, white, "below the circle");
    /* the clip keeps a rect inside its bounds */
    c.ops->clip_begin(&c, 70, 5, 10, 5);
    c.ops->rect(&c, 60, 0, 40, 30, &(rm_style){.fill = "#0000ff"});
    c.ops->clip_end(&c);
    ASSERT_PIXEL(&c, 150, 15, blue, "inside the clip");
    ASSERT_PIXEL(&c, 130, 15, white, "left of the clip");
    ASSERT_PIXEL(&c, 150, 25, white, "below the clip");
    cr_assert_eq(c.ops->end(&c), 0);

    /* the PNG holds the same pixels */
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "prims.png");
    cr_assert_eq(rm_canvas_write_png(&c, path), 0, "%s", rm_error_message());
    rm_image img;
    cr_assert_eq(rm_image_load(&img, path), 0, "%s", rm_error_message());
    cr_assert_eq(img.width, 200);
    cr_assert_eq(img.height, 120);
    cr_assert_eq(img.channels, 3);
    size_t plane = 200 * 120, at = 40 * 200 + 100;
    cr_assert(img.pixels[at] == 255 && img.pixels[plane + at] == 0 && img.pixels[2 * plane + at] == 0, "red line");
    at = 90 * 200 + 40;
    cr_assert(img.pixels[at] == 0 && img.pixels[plane + at] == 0 && img.pixels[2 * plane + at] == 255, "blue rect");
    rm_image_free(&img);
    rm_canvas_free(&c);
    tu_rmtree(dir);
}

Test(plot_png, nonzero_fill_blends_once_and_dashes_leave_gaps)
{
    rm_canvas c;
    rm_canvas_raster(&c, 1);
    cr_assert_eq(c.ops->begin(&c, 100, 100), 0);
    /* a polyline folding back on itself */
    double xy[] = {10, 50, 90, 50, 10, 50};
    c.ops->path(&c, xy, 3, 0, &(rm_style){.stroke = "#000000", .stroke_width = 4, .round_join = 1});
    const float black[3] = {0, 0, 0}, half[3] = {0.5f, 0.5f, 0.5f};
    ASSERT_PIXEL(&c, 50, 50, black, "polyline");
    ASSERT_PIXEL(&c, 50, 53, white, "below the polyline");
    /* a square traversed twice (winding 2) at opacity 0.5: inside once, so
     * blended once (0.5 grey, not 0.75) */
    double sq[] = {60, 10, 90, 10, 90, 40, 60, 40, 60, 10, 90, 10, 90, 40, 60, 40};
    c.ops->path(&c, sq, 8, 1, &(rm_style){.fill = "#000000", .fill_opacity = 0.5, .stroke = "none"});
    ASSERT_PIXEL(&c, 75, 25, half, "twice-wound square");
    /* a dashed line "10 10" from x = 0: on 0..10, off 10..20, on 20..30 */
    c.ops->line(&c, 0, 80, 100, 80, &(rm_style){.stroke = "#000000", .stroke_width = 4, .dash = "10 10"});
    ASSERT_PIXEL(&c, 5, 80, black, "first dash");
    ASSERT_PIXEL(&c, 15, 80, white, "first gap");
    ASSERT_PIXEL(&c, 25, 80, black, "second dash");
    /* a rect at opacity 0.5 over white; its edge at x = 10.5 half covers column 10 */
    c.ops->rect(&c, 10.5, 10, 20, 20, &(rm_style){.fill = "#000000", .fill_opacity = 0.5});
    const float quarter[3] = {0.75f, 0.75f, 0.75f};
    ASSERT_PIXEL(&c, 20, 20, half, "half-transparent rect");
    ASSERT_PIXEL(&c, 10, 20, quarter, "half-covered edge pixel");
    cr_assert_eq(c.ops->end(&c), 0);
    rm_canvas_free(&c);
}

/* The numbers of the first `points="..."` after `after` in svg. */
static int svg_points(const char *svg, const char *after, double *xy, int cap)
{
    const char *p = strstr(svg, after);
    cr_assert(p, "no '%s' in:\n%s", after, svg);
    p = strstr(p, "points=\"");
    cr_assert(p);
    p += strlen("points=\"");
    int n = 0;
    while (*p != '"' && n < cap) {
        char *end;
        xy[2 * n] = strtod(p, &end);
        cr_assert(*end == ',');
        xy[2 * n + 1] = strtod(end + 1, &end);
        n++;
        p = end;
        while (*p == ' ') p++;
    }
    return n;
}

static const double sx[] = {0, 1, 2, 3, 4}, sy[] = {10, 80, 30, 60, 40};

static int draw_series(rm_canvas *c, void *arg)
{
    (void)arg;
    rm_plot_series s = {.label = "raw", .n = 5, .x = sx, .y = sy, .color = 0};
    rm_plot_spec spec = {.title = "t", .xlabel = "epoch", .ylabel = "acc", .xmin = 0, .xmax = 4, .ymin = 0,
                         .ymax = 100};
    return rm_plot_line(c, &spec, &s, 1, NULL, 0, NULL);
}

/* Whether a pixel of colour want lies within r pixels of (x, y). */
static int colour_near(const rm_image *img, double x, double y, int r, const float want[3])
{
    size_t plane = (size_t)img->width * img->height;
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++) {
            int u = (int)floor(x) + dx, v = (int)floor(y) + dy;
            if (u < 0 || v < 0 || u >= img->width || v >= img->height) continue;
            size_t at = (size_t)v * img->width + u;
            float p[3] = {img->pixels[at] / 255.0f, img->pixels[plane + at] / 255.0f,
                          img->pixels[2 * plane + at] / 255.0f};
            if (same(p, want)) return 1;
        }
    return 0;
}

Test(plot_png, line_plot_png_draws_the_series_where_the_svg_puts_its_vertices)
{
    char *svg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&svg, &len);
    cr_assert(f);
    rm_canvas sc;
    rm_canvas_svg(&sc, f);
    cr_assert_eq(draw_series(&sc, NULL), 0, "%s", rm_error_message());
    fclose(f);
    double xy[2 * 8];
    int n = svg_points(svg, "<polyline fill=\"none\" stroke=\"#4e79a7\"", xy, 8);
    cr_assert_eq(n, 5, "%s", svg);
    free(svg);

    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "line.png");
    cr_assert_eq(rm_canvas_save_png(path, draw_series, NULL), 0, "%s", rm_error_message());
    rm_image img;
    cr_assert_eq(rm_image_load(&img, path), 0, "%s", rm_error_message());
    cr_assert_eq(img.width, 800 * RM_PLOT_PNG_SCALE);
    cr_assert_eq(img.height, 500 * RM_PLOT_PNG_SCALE);
    float colour[3];
    hex(rm_plot_color(0), colour);
    const double s = RM_PLOT_PNG_SCALE;
    for (int i = 0; i < n; i++) {
        cr_assert(colour_near(&img, xy[2 * i] * s, xy[2 * i + 1] * s, 2, colour), "no series colour at vertex %d "
                  "(%.2f, %.2f)", i, xy[2 * i], xy[2 * i + 1]);
        /* 20 units above and below a vertex the line is far away */
        cr_assert(!colour_near(&img, xy[2 * i] * s, (xy[2 * i + 1] - 20) * s, 2, colour), "colour above vertex %d", i);
        cr_assert(!colour_near(&img, xy[2 * i] * s, (xy[2 * i + 1] + 20) * s, 2, colour), "colour below vertex %d", i);
        if (i + 1 < n)
            cr_assert(colour_near(&img, (xy[2 * i] + xy[2 * i + 2]) / 2 * s, (xy[2 * i + 1] + xy[2 * i + 3]) / 2 * s, 2,
                                  colour),
                      "no series colour halfway from vertex %d to %d", i, i + 1);
    }
    rm_image_free(&img);
    tu_rmtree(dir);
}

static int draw_grid(rm_canvas *c, void *arg)
{
    const char *rows[] = {"100", "1000"}, *cols[] = {"0.1", "0.3", "0.6"};
    double v[] = {-2.0, 0.0, 4.0, NAN, 1.0, -4.0};
    rm_plot_grid g = {.title = "gain", .xlabel = "keep", .ylabel = "size", .rows = 2, .cols = 3, .row_labels = rows,
                      .col_labels = cols, .values = v};
    (void)arg;
    return rm_plot_grid_draw(c, &g);
}

Test(plot_png, grid_png_colours_each_cell_and_writes_its_value)
{
    rm_canvas c;
    rm_canvas_raster(&c, RM_PLOT_PNG_SCALE);
    cr_assert_eq(draw_grid(&c, NULL), 0, "%s", rm_error_message());
    /* the layout of plot_grid.c: cells of 96 x 44 units from (110, 64) */
    cr_assert_eq(c.width, (110 + 3 * 96 + 24) * RM_PLOT_PNG_SCALE);
    cr_assert_eq(c.height, (64 + 2 * 44 + 70) * RM_PLOT_PNG_SCALE);
    struct {
        int row, col;
        const char *fill;
    } cells[] = {{0, 2, "#b2182b"}, {1, 2, "#2166ac"}, {1, 0, "#d9d9d9"}, {0, 1, "#ffffff"}};
    for (int i = 0; i < 4; i++) {
        float want[3];
        hex(cells[i].fill, want);
        int x = (110 + cells[i].col * 96 + 6) * RM_PLOT_PNG_SCALE, y = (64 + cells[i].row * 44 + 6) * RM_PLOT_PNG_SCALE;
        ASSERT_PIXEL(&c, x, y, want, cells[i].fill);
    }
    /* the saturated cell (0, 2) has white text in its middle: its value */
    int whites = 0;
    for (int y = (64 + 14) * RM_PLOT_PNG_SCALE; y < (64 + 30) * RM_PLOT_PNG_SCALE; y++)
        for (int x = (110 + 2 * 96 + 28) * RM_PLOT_PNG_SCALE; x < (110 + 2 * 96 + 68) * RM_PLOT_PNG_SCALE; x++)
            whites += same(px(&c, x, y), white);
    cr_assert(whites > 50, "%d white text pixels in the red cell", whites);
    rm_canvas_free(&c);
}

Test(plot_png, bar_chart_png_fills_each_bar_at_its_mapped_height)
{
    const double pts[] = {40, 60};
    rm_plot_bar b[2] = {{.label = "raw", .value = 50, .lo = NAN, .hi = NAN, .npoints = 0, .points = pts, .color = 0},
                        {.label = "mean", .value = 80, .lo = NAN, .hi = NAN, .color = 1}};
    rm_plot_spec spec = {.ymin = 0, .ymax = 100};
    rm_canvas c;
    rm_canvas_raster(&c, 2);
    rm_plot_frame fr;
    cr_assert_eq(rm_plot_bars(&c, &spec, b, 2, NULL, 0, &fr), 0, "%s", rm_error_message());
    double slot = (fr.right - fr.left) / 2;
    for (int i = 0; i < 2; i++) {
        float colour[3], want[3];
        hex(rm_plot_color(i), colour);
        for (int k = 0; k < 3; k++) want[k] = 1 + (colour[k] - 1) * 0.85f;   /* fill-opacity 0.85 over white */
        double cx = fr.left + slot * (i + 0.5), top = rm_plot_py(&fr, b[i].value);
        ASSERT_PIXEL(&c, (int)(2 * cx), (int)(2 * (top + 3)), want, "just below the bar's top");
        ASSERT_PIXEL(&c, (int)(2 * cx), (int)(2 * (fr.bottom - 3)), want, "just above the axis");
        ASSERT_PIXEL(&c, (int)(2 * cx), (int)(2 * (top - 24)), white, "above the bar (and its label)");
    }
    rm_canvas_free(&c);
}
