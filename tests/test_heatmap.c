/* Heatmap montages: the colour map and overlay on hand-made pixels, the
 * documented grid geometry, tiles at their places, determinism, the checks
 * against the dataset and the atomic, --force-guarded output. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/npy.h"
#include "report/font5x7.h"
#include "report/heatmap.h"
#include "core/image.h"
#include "core/relevance_file.h"
#include "test_util.h"

/* --- colorize -------------------------------------------------------------*/

static void expect_rgb(const uint8_t *planar, int n, int i, int r, int g, int b)
{
    cr_expect(planar[i] == r && planar[n + i] == g && planar[2 * n + i] == b, "pixel %d: (%d,%d,%d), expected (%d,%d,%d)",
              i, planar[i], planar[n + i], planar[2 * n + i], r, g, b);
}

Test(heatmap, colorize_zero_white_max_red_min_blue)
{
    /* Peak |r| = 1: 0 -> index 128 (white), +1 -> 255 (red), -1 -> 1
     * (blue), 0.5 -> round(128 + 63.5) = 192 -> (255, 255 * 63/127, same). */
    const float heat[4] = {0, 1, -1, 0.5f};
    uint8_t rgb[12];
    cr_assert_eq(rm_heatmap_colorize(heat, 2, 2, NULL, 0.5, rgb), 0, "%s", rm_error_message());
    expect_rgb(rgb, 4, 0, 255, 255, 255);
    expect_rgb(rgb, 4, 1, 255, 0, 0);
    expect_rgb(rgb, 4, 2, 0, 0, 255);
    expect_rgb(rgb, 4, 3, 255, 126, 126);
    /* Symmetric per-image normalization: the scale does not matter. */
    const float scaled[4] = {0, 7, -7, 3.5f};
    uint8_t rgb2[12];
    cr_assert_eq(rm_heatmap_colorize(scaled, 2, 2, NULL, 0.5, rgb2), 0);
    cr_assert_eq(memcmp(rgb, rgb2, sizeof rgb), 0);
    /* A one-sided map still uses the signed scale: max -> red, 0 -> white. */
    const float positive[2] = {0, 0.25f};
    uint8_t rgb3[6];
    cr_assert_eq(rm_heatmap_colorize(positive, 1, 2, NULL, 0, rgb3), 0);
    expect_rgb(rgb3, 2, 0, 255, 255, 255);
    expect_rgb(rgb3, 2, 1, 255, 0, 0);
    const float zero[2] = {0, 0};
    cr_assert_eq(rm_heatmap_colorize(zero, 2, 1, NULL, 0, rgb3), 0);
    expect_rgb(rgb3, 2, 0, 255, 255, 255);
    expect_rgb(rgb3, 2, 1, 255, 255, 255);
}

Test(heatmap, overlay_blends_with_alpha_exactly)
{
    const float heat[4] = {0, 1, -1, 0.5f};
    const uint8_t gray[4] = {100, 0, 200, 50};
    uint8_t rgb[12];
    /* out = round(0.75 gray + 0.25 colour) */
    cr_assert_eq(rm_heatmap_colorize(heat, 2, 2, gray, 0.25, rgb), 0, "%s", rm_error_message());
    expect_rgb(rgb, 4, 0, 139, 139, 139);   /* 75 + 63.75 */
    expect_rgb(rgb, 4, 1, 64, 0, 0);        /* 0 + 63.75, 0, 0 */
    expect_rgb(rgb, 4, 2, 150, 150, 214);   /* 150, 150, 150 + 63.75 */
    expect_rgb(rgb, 4, 3, 101, 69, 69);     /* 37.5 + 63.75, 37.5 + 31.5 */
    cr_assert_eq(rm_heatmap_colorize(heat, 2, 2, gray, 0, rgb), 0);
    for (int i = 0; i < 4; i++) expect_rgb(rgb, 4, i, gray[i], gray[i], gray[i]);
    cr_assert_eq(rm_heatmap_colorize(heat, 2, 2, gray, 1, rgb), 0);
    expect_rgb(rgb, 4, 1, 255, 0, 0);
    expect_rgb(rgb, 4, 2, 0, 0, 255);
}

Test(heatmap, colorize_refuses_bad_input)
{
    const float heat[2] = {1, NAN};
    uint8_t rgb[6];
    cr_assert_neq(rm_heatmap_colorize(heat, 1, 2, NULL, 0.5, rgb), 0);
    cr_assert(strstr(rm_error_message(), "pixel (1,0) is not finite"), "%s", rm_error_message());
    const float ok[2] = {1, 2};
    cr_assert_neq(rm_heatmap_colorize(ok, 1, 2, NULL, 1.5, rgb), 0);
    cr_assert(strstr(rm_error_message(), "alpha"), "%s", rm_error_message());
}

/* --- montages -------------------------------------------------------------*/

enum { N = 9, H = 8, W = 12, K = 3 };
/* The fixture dataset has /source: the default caption has the source line. */
enum { CAP = RM_HEATMAP_CAPTION_H + RM_HEATMAP_SOURCE_H };
static const char *const classes[K] = {"alpha", "beta", "gamma"};

/* Record i: uniform gray 60 + 10 i, label i % 3 (labels_shift changes them). */
static void write_dataset(const char *path, int height, int labels_shift)
{
    rm_dataset_spec s = {.channels = 1, .height = height, .width = W, .num_classes = K, .class_names = classes,
                         .source_format = "test", .source_path = "memory", .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, path, &s, 0), 0, "%s", rm_error_message());
    uint8_t img[64 * W];
    for (int i = 0; i < N; i++) {
        memset(img, 60 + 10 * i, sizeof img);
        cr_assert_eq(rm_dataset_writer_append(w, img, (i + labels_shift) % K, RM_SPLIT_TRAIN, NULL), 0);
        /* Sources for --export's names: two that flatten to one name, then
         * faces/r<i>.png, and none for the last record. */
        char src[64];
        snprintf(src, sizeof src, i == 0 ? "x/y.png" : i == 1 ? "x_y.png" : "faces/r%d.png", i);
        if (i < N - 1) cr_assert_eq(rm_dataset_writer_set_source(w, src), 0, "%s", rm_error_message());
    }
    rm_split_spec sp = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
}

/* Every record explained: +2 at pixel (2,1), -2 at (9,6), 0 elsewhere;
 * explained = label, predicted = (label + 1) % 3. */
static void write_relevance(const char *path)
{
    rm_relevance_spec spec = {.count = N, .channels = 1, .height = H, .width = W, .num_classes = K,
                              .class_names = classes, .deflate_level = 1, .method = "lrp", .score_kind = "logit",
                              .parameters = "test=1\n"};
    rm_relevance_writer *w;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 0, 0, &done), 0, "%s", rm_error_message());
    static float heat[N * H * W];
    int64_t index[N];
    int32_t label[N], explained[N], predicted[N];
    float score[N];
    memset(heat, 0, sizeof heat);
    for (int i = 0; i < N; i++) {
        index[i] = i;
        label[i] = explained[i] = i % K;
        predicted[i] = (i + 1) % K;
        score[i] = 1;
        heat[i * H * W + 1 * W + 2] = 2;
        heat[i * H * W + 6 * W + 9] = -2;
    }
    rm_relevance_block b = {.n = N, .index = index, .label = label, .explained = explained, .predicted = predicted,
                            .score = score, .heatmap = heat};
    cr_assert_eq(rm_relevance_writer_write(w, &b), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_writer_finish(w), 0, "%s", rm_error_message());
}

typedef struct {
    char *dir;
    rm_dataset ds;
    rm_relevance rel;
} fixture;

static void setup(fixture *f)
{
    f->dir = tu_scratch_dir();
    write_dataset(tu_path(f->dir, "d.h5"), H, 0);
    write_relevance(tu_path(f->dir, "r.h5"));
    cr_assert_eq(rm_dataset_open(&f->ds, tu_path(f->dir, "d.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&f->rel, tu_path(f->dir, "r.h5")), 0, "%s", rm_error_message());
}

static void teardown(fixture *f)
{
    rm_relevance_close(&f->rel);
    rm_dataset_close(&f->ds);
    tu_rmtree(f->dir);
}

static void expect_px(const rm_image *img, int x, int y, int r, int g, int b)
{
    size_t plane = (size_t)img->width * img->height, at = (size_t)y * img->width + x;
    cr_expect(img->pixels[at] == r && img->pixels[plane + at] == g && img->pixels[2 * plane + at] == b,
              "montage pixel (%d,%d): (%d,%d,%d), expected (%d,%d,%d)", x, y, img->pixels[at], img->pixels[plane + at],
              img->pixels[2 * plane + at], r, g, b);
}

Test(heatmap, default_scale_makes_tiles_at_least_96_px)
{
    cr_assert_eq(rm_heatmap_default_scale(48, 48), 2);
    cr_assert_eq(rm_heatmap_default_scale(28, 28), 4);
    cr_assert_eq(rm_heatmap_default_scale(8, 12), 12);
    cr_assert_eq(rm_heatmap_default_scale(96, 200), 1);
    cr_assert_eq(rm_heatmap_default_scale(300, 300), 1);
}

Test(heatmap, per_class_grid_size_and_tile_colours)
{
    fixture f;
    setup(&f);
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    o.per_class = 4;   /* 3 records per class: the last column stays empty */
    o.scale = 3;
    rm_image img;
    cr_assert_eq(rm_heatmap_render(&o, &f.ds, &f.rel, &img), 0, "%s", rm_error_message());
    int label_w = RM_HEATMAP_LABEL_W(5), tile_w = W * 3, tile_h = H * 3, m = RM_HEATMAP_MARGIN;
    cr_assert_eq(img.channels, 3);
    cr_assert_eq(img.width, m + label_w + 4 * (tile_w + m), "width %d", img.width);
    cr_assert_eq(img.height, m + K * (tile_h + CAP + m), "height %d", img.height);
    cr_assert_eq(img.width, 4 + 33 + 4 * 40);
    cr_assert_eq(img.height, 4 + 3 * 57);
    /* Row 1 (beta) column 1 is record 4 (the second beta record): gray 100,
     * overlay alpha 0.5: red 50 + 127.5, blue likewise, white 177.5 -> 178. */
    int x0 = m + label_w + 1 * (tile_w + m), y0 = m + 1 * (tile_h + CAP + m);
    for (int d = 0; d < 3; d++) {
        expect_px(&img, x0 + 2 * 3 + d, y0 + 1 * 3 + d, 178, 50, 50);
        expect_px(&img, x0 + 9 * 3 + d, y0 + 6 * 3 + 2 - d, 50, 50, 178);
    }
    expect_px(&img, x0, y0, 178, 178, 178);
    expect_px(&img, x0 + tile_w - 1, y0 + tile_h - 1, 178, 178, 178);
    expect_px(&img, x0 - 1, y0, RM_HEATMAP_BACKGROUND, RM_HEATMAP_BACKGROUND, RM_HEATMAP_BACKGROUND);
    /* Row 2 (gamma) column 0: record 2, gray 80. */
    int x2 = m + label_w, y2 = m + 2 * (tile_h + CAP + m);
    expect_px(&img, x2 + 2 * 3, y2 + 1 * 3, 168, 40, 40);
    /* The empty fourth column is background; the label column has text. */
    int x3 = m + label_w + 3 * (tile_w + m);
    for (int y = 0; y < img.height; y++)
        expect_px(&img, x3 + tile_w / 2, y, RM_HEATMAP_BACKGROUND, RM_HEATMAP_BACKGROUND, RM_HEATMAP_BACKGROUND);
    int text = 0;
    for (int y = m; y < m + tile_h; y++)
        for (int x = m; x < m + label_w; x++) text += img.pixels[(size_t)y * img.width + x] == RM_HEATMAP_TEXT;
    cr_assert_gt(text, 10, "the class name 'alpha' is written in the first row label");
    rm_image_free(&img);
    teardown(&f);
}

Test(heatmap, side_by_side_shows_image_and_plain_colours)
{
    fixture f;
    setup(&f);
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    o.selection = RM_HEATMAP_INDICES;
    const int64_t idx[2] = {5, 1};
    o.indices = idx;
    o.num_indices = 2;
    o.style = RM_HEATMAP_SIDE_BY_SIDE;
    o.scale = 2;
    rm_image img;
    cr_assert_eq(rm_heatmap_render(&o, &f.ds, &f.rel, &img), 0, "%s", rm_error_message());
    int m = RM_HEATMAP_MARGIN, pw = W * 2, tile_w = 2 * pw + RM_HEATMAP_PAIR_GAP;
    cr_assert_eq(img.width, m + 2 * (tile_w + m));
    cr_assert_eq(img.height, m + (H * 2 + CAP + m));
    /* First tile: record 5 (gray 110) | its heatmap. */
    expect_px(&img, m + 3, m + 3, 110, 110, 110);
    expect_px(&img, m + pw + RM_HEATMAP_PAIR_GAP + 2 * 2, m + 1 * 2, 255, 0, 0);
    expect_px(&img, m + pw + RM_HEATMAP_PAIR_GAP + 9 * 2 + 1, m + 6 * 2 + 1, 0, 0, 255);
    expect_px(&img, m + pw + RM_HEATMAP_PAIR_GAP, m, 255, 255, 255);
    /* Second tile: record 1 (gray 70). */
    expect_px(&img, m + tile_w + m, m, 70, 70, 70);
    rm_image_free(&img);
    teardown(&f);
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    cr_assert(fp, "%s", path);
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    rewind(fp);
    unsigned char *buf = malloc(*size);
    cr_assert_eq(fread(buf, 1, *size, fp), *size);
    fclose(fp);
    return buf;
}

Test(heatmap, montage_file_is_deterministic_atomic_and_guarded)
{
    fixture f;
    setup(&f);
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    const char *a = tu_path(f.dir, "a.png"), *b = tu_path(f.dir, "b.png");
    cr_assert_eq(rm_heatmap_montage(&o, &f.ds, &f.rel, a, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_heatmap_montage(&o, &f.ds, &f.rel, b, 0), 0, "%s", rm_error_message());
    size_t na, nb;
    unsigned char *pa = slurp(a, &na), *pb = slurp(b, &nb);
    cr_assert(na == nb && memcmp(pa, pb, na) == 0, "same inputs, same bytes");
    free(pa);
    free(pb);
    rm_image img;
    cr_assert_eq(rm_image_load(&img, a), 0, "%s", rm_error_message());
    int s = rm_heatmap_default_scale(H, W);
    cr_assert_eq(s, 12);
    cr_assert_eq(img.width, RM_HEATMAP_MARGIN + RM_HEATMAP_LABEL_W(5) + 8 * (W * s + RM_HEATMAP_MARGIN));
    rm_image_free(&img);
    /* Existing output: refused without force, replaced with it. */
    cr_assert_neq(rm_heatmap_montage(&o, &f.ds, &f.rel, a, 0), 0);
    cr_assert(strstr(rm_error_message(), "already exists; use --force"), "%s", rm_error_message());
    o.selection = RM_HEATMAP_FIRST;
    o.first = 2;
    cr_assert_eq(rm_heatmap_montage(&o, &f.ds, &f.rel, a, 1), 0, "%s", rm_error_message());
    pa = slurp(a, &na);
    pb = slurp(b, &nb);
    cr_assert(na != nb || memcmp(pa, pb, na) != 0, "--force replaced the montage");
    free(pa);
    free(pb);
    /* A failing montage leaves neither output nor temporary file. */
    const int64_t bad[1] = {N};
    o.selection = RM_HEATMAP_INDICES;
    o.indices = bad;
    o.num_indices = 1;
    cr_assert_neq(rm_heatmap_montage(&o, &f.ds, &f.rel, tu_path(f.dir, "c.png"), 0), 0);
    cr_assert(strstr(rm_error_message(), "record 9 is out of range"), "%s", rm_error_message());
    cr_assert_eq(tu_dir_entries(f.dir), 4, "d.h5, r.h5, a.png, b.png and nothing else");
    teardown(&f);
}

Test(heatmap, refuses_a_relevance_file_of_another_dataset)
{
    fixture f;
    setup(&f);
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    rm_image img;
    rm_dataset other;
    write_dataset(tu_path(f.dir, "other.h5"), H, 1);
    cr_assert_eq(rm_dataset_open(&other, tu_path(f.dir, "other.h5")), 0);
    cr_assert_neq(rm_heatmap_render(&o, &other, &f.rel, &img), 0);
    cr_assert(strstr(rm_error_message(), "r.h5") && strstr(rm_error_message(), "other.h5") &&
                  strstr(rm_error_message(), "label"),
              "%s", rm_error_message());
    rm_dataset_close(&other);
    write_dataset(tu_path(f.dir, "tall.h5"), H + 2, 0);
    cr_assert_eq(rm_dataset_open(&other, tu_path(f.dir, "tall.h5")), 0);
    cr_assert_neq(rm_heatmap_montage(&o, &other, &f.rel, tu_path(f.dir, "m.png"), 0), 0);
    cr_assert(strstr(rm_error_message(), "heatmaps are 12x8 but the images of") &&
                  strstr(rm_error_message(), "tall.h5 are 12x10"),
              "%s", rm_error_message());
    cr_assert_not(tu_file_exists(tu_path(f.dir, "m.png")));
    rm_dataset_close(&other);
    teardown(&f);
}

Test(heatmap, indices_must_be_explained)
{
    fixture f;
    setup(&f);
    /* A relevance file explaining only records 0..3 of the 9. */
    rm_relevance_spec spec = {.count = 4, .channels = 1, .height = H, .width = W, .num_classes = K,
                              .class_names = classes, .method = "lrp", .score_kind = "logit"};
    rm_relevance_writer *w;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&w, tu_path(f.dir, "part.h5"), &spec, 0, 0, &done), 0);
    static float heat[4 * H * W];
    int64_t index[4] = {0, 1, 2, 3};
    int32_t label[4] = {0, 1, 2, 0}, pred[4] = {-1, -1, -1, -1};
    float score[4] = {NAN, NAN, NAN, NAN};
    rm_relevance_block b = {.n = 4, .index = index, .label = label, .explained = label, .predicted = pred,
                            .score = score, .heatmap = heat};
    cr_assert_eq(rm_relevance_writer_write(w, &b), 0);
    cr_assert_eq(rm_relevance_writer_finish(w), 0);
    rm_relevance part;
    cr_assert_eq(rm_relevance_open(&part, tu_path(f.dir, "part.h5")), 0);
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    o.selection = RM_HEATMAP_INDICES;
    const int64_t idx[2] = {3, 7};
    o.indices = idx;
    o.num_indices = 2;
    rm_image img;
    cr_assert_neq(rm_heatmap_render(&o, &f.ds, &part, &img), 0);
    cr_assert(strstr(rm_error_message(), "record 7 of") && strstr(rm_error_message(), "has no heatmap in"),
              "%s", rm_error_message());
    /* An all-zero map renders as the white-blended gray image. */
    o.num_indices = 1;
    o.scale = 1;
    cr_assert_eq(rm_heatmap_render(&o, &f.ds, &part, &img), 0, "%s", rm_error_message());
    expect_px(&img, RM_HEATMAP_MARGIN, RM_HEATMAP_MARGIN, 173, 173, 173);   /* 0.5 * 90 + 127.5 = 172.5 */
    rm_image_free(&img);
    rm_relevance_close(&part);
    teardown(&f);
}

/* --- sources in the captions -----------------------------------------------*/

static void expect_fit(const char *source, int max_w, const char *want)
{
    char out[256];
    rm_heatmap_fit_source(source, max_w, out, sizeof out);
    cr_assert_str_eq(out, want, "'%s' in %d px: '%s', expected '%s'", source, max_w, out, want);
    cr_assert_leq(rm_font_text_width(out, 1), max_w, "'%s' is wider than %d px", out, max_w);
}

/* n characters of the 5x7 font take 6 n - 1 pixels. */
Test(heatmap, fit_source_path_then_file_name_then_its_end)
{
    expect_fit("faces/r2.png", 6 * 12 - 1, "faces/r2.png");
    expect_fit("faces/r2.png", 6 * 12 - 2, "r2.png");
    expect_fit("anger/S005_001_00000011.png", 6 * 16 - 1, "..._00000011.png");
    expect_fit("anger/S005_001_00000011.png", 6 * 16 + 4, "..._00000011.png");
    expect_fit("fer2013.csv:12345", 6 * 17 - 1, "fer2013.csv:12345");
    expect_fit("fer2013.csv:12345", 6 * 10 - 1, "...v:12345");
    expect_fit("train-images-idx3-ubyte:59999", 6 * 4 - 1, "...9");
    expect_fit("train-images-idx3-ubyte:59999", 6 * 4 - 2, "");
    expect_fit("", 500, "");
    expect_fit("dir/", 6 * 4 - 1, "dir/");
}

/* The w x RM_FONT_LINE strip at (x, y) of the montage shows exactly `text`
 * drawn in the caption colour on the background (empty: background only). */
static void expect_text_strip(const rm_image *img, int x, int y, int w, const char *text)
{
    rm_image want;
    cr_assert_eq(rm_image_alloc(&want, w, RM_FONT_LINE, 3), 0);
    memset(want.pixels, RM_HEATMAP_BACKGROUND, (size_t)w * RM_FONT_LINE * 3);
    const uint8_t white[3] = {RM_HEATMAP_TEXT, RM_HEATMAP_TEXT, RM_HEATMAP_TEXT};
    rm_font_draw(&want, 0, 0, text, 1, white);
    size_t plane = (size_t)img->width * img->height, wplane = (size_t)w * RM_FONT_LINE;
    int differ = 0, lit = 0;
    for (int c = 0; c < 3; c++)
        for (int yy = 0; yy < RM_FONT_LINE; yy++)
            for (int xx = 0; xx < w; xx++) {
                uint8_t got = img->pixels[c * plane + (size_t)(y + yy) * img->width + x + xx];
                uint8_t exp = want.pixels[c * wplane + (size_t)yy * w + xx];
                differ += got != exp;
                lit += exp == RM_HEATMAP_TEXT;
            }
    cr_assert_eq(differ, 0, "caption strip at (%d,%d): %d pixels differ from '%s'", x, y, differ, text);
    if (*text) cr_assert_gt(lit, 10, "'%s' has lit pixels", text);
    rm_image_free(&want);
}

/* Strips of the first two caption lines of both images are equal. */
static void expect_same_strip(const rm_image *a, const rm_image *b, int x, int y, int w, int h)
{
    size_t pa = (size_t)a->width * a->height, pb = (size_t)b->width * b->height;
    for (int c = 0; c < 3; c++)
        for (int yy = y; yy < y + h; yy++)
            for (int xx = x; xx < x + w; xx++)
                cr_assert_eq(a->pixels[c * pa + (size_t)yy * a->width + xx],
                             b->pixels[c * pb + (size_t)yy * b->width + xx], "pixel (%d,%d)", xx, yy);
}

/* --caption source (default) adds a line with the record's source fitted to
 * the tile; a record without a source leaves it empty; record: the old
 * two-line caption; none: no caption space at all. */
Test(heatmap, caption_source_line_record_and_none)
{
    fixture f;
    setup(&f);
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    o.selection = RM_HEATMAP_INDICES;
    const int64_t idx[2] = {2, 8};   /* faces/r2.png; record 8 has no source */
    o.indices = idx;
    o.num_indices = 2;
    o.scale = 3;                     /* tiles 36 px wide: 6 characters */
    int m = RM_HEATMAP_MARGIN, tile_w = W * 3, tile_h = H * 3;
    cr_assert_eq(rm_heatmap_caption_height(RM_HEATMAP_CAPTION_SOURCE, &f.ds), CAP);
    rm_image src, rec, none;
    cr_assert_eq(rm_heatmap_render(&o, &f.ds, &f.rel, &src), 0, "%s", rm_error_message());
    cr_assert_eq(src.height, m + tile_h + CAP + m);
    int line3 = m + tile_h + 2 + 2 * RM_FONT_LINE;
    expect_text_strip(&src, m, line3, tile_w, "r2.png");
    expect_text_strip(&src, m + tile_w + m, line3, tile_w, "");
    o.caption = RM_HEATMAP_CAPTION_RECORD;
    cr_assert_eq(rm_heatmap_render(&o, &f.ds, &f.rel, &rec), 0, "%s", rm_error_message());
    cr_assert_eq(rec.height, m + tile_h + RM_HEATMAP_CAPTION_H + m);
    cr_assert_eq(rec.width, src.width);
    expect_same_strip(&src, &rec, 0, 0, src.width, m + tile_h + RM_HEATMAP_CAPTION_H);
    o.caption = RM_HEATMAP_CAPTION_NONE;
    cr_assert_eq(rm_heatmap_render(&o, &f.ds, &f.rel, &none), 0, "%s", rm_error_message());
    cr_assert_eq(none.height, m + tile_h + m);
    expect_same_strip(&src, &none, 0, 0, src.width, m + tile_h);
    int text = 0;
    for (size_t i = 0; i < (size_t)none.width * none.height; i++) text += none.pixels[i] == RM_HEATMAP_TEXT;
    cr_assert_eq(text, 0, "no caption text without a caption");
    rm_image_free(&src);
    rm_image_free(&rec);
    rm_image_free(&none);
    /* A dataset without /source keeps the two-line caption. */
    rm_dataset plain = f.ds;
    plain.has_source = 0;
    cr_assert_eq(rm_heatmap_caption_height(RM_HEATMAP_CAPTION_SOURCE, &plain), RM_HEATMAP_CAPTION_H);
    teardown(&f);
}

/* A relevance file of a selection (as relevance --sample writes: entries
 * explain records 7, 2 and 5): each tile's source line is that of the
 * record its /index names, in the file's order. */
Test(heatmap, caption_sources_follow_the_relevance_index)
{
    fixture f;
    setup(&f);
    rm_relevance_spec spec = {.count = 3, .channels = 1, .height = H, .width = W, .num_classes = K,
                              .class_names = classes, .method = "lrp", .score_kind = "logit"};
    rm_relevance_writer *w;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&w, tu_path(f.dir, "sel.h5"), &spec, 0, 0, &done), 0);
    static float heat[3 * H * W];
    heat[5] = 1;
    int64_t index[3] = {7, 2, 5};
    int32_t label[3] = {7 % K, 2 % K, 5 % K}, pred[3] = {-1, -1, -1};
    float score[3] = {NAN, NAN, NAN};
    rm_relevance_block b = {.n = 3, .index = index, .label = label, .explained = label, .predicted = pred,
                            .score = score, .heatmap = heat};
    cr_assert_eq(rm_relevance_writer_write(w, &b), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_writer_finish(w), 0, "%s", rm_error_message());
    rm_relevance sel;
    cr_assert_eq(rm_relevance_open(&sel, tu_path(f.dir, "sel.h5")), 0, "%s", rm_error_message());
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    o.selection = RM_HEATMAP_FIRST;
    o.first = 3;
    o.scale = 4;   /* 48 px: 8 characters, "faces/r7.png" does not fit */
    rm_image img;
    cr_assert_eq(rm_heatmap_render(&o, &f.ds, &sel, &img), 0, "%s", rm_error_message());
    int m = RM_HEATMAP_MARGIN, tile_w = W * 4, line3 = m + H * 4 + 2 + 2 * RM_FONT_LINE;
    const char *want[3] = {"r7.png", "r2.png", "r5.png"};
    for (int c = 0; c < 3; c++) expect_text_strip(&img, m + c * (tile_w + m), line3, tile_w, want[c]);
    rm_image_free(&img);
    rm_relevance_close(&sel);
    teardown(&f);
}

/* --- the command ----------------------------------------------------------*/

static void expect_cli(int want, const char *want_text, const char *args)
{
    char *out;
    int code = tu_run_cli(&out, "%s", args);
    cr_assert_eq(code, want, "relmask %s: exit %d, expected %d; output:\n%s", args, code, want, out);
    if (want_text) cr_assert(strstr(out, want_text), "relmask %s: expected '%s' in:\n%s", args, want_text, out);
    free(out);
}

Test(heatmap, command_usage_and_runs)
{
    fixture f;
    setup(&f);
    char args[8192];
    expect_cli(0, "usage: relmask heatmap", "heatmap --help");
    expect_cli(2, "--relevance FILE is required", "heatmap -d d.h5 -o m.png");
    expect_cli(2, "choose one of --per-class, --indices and --first", "heatmap -r r -d d -o m.png -k 2 -n 3");
    expect_cli(2, "choose one of --overlay and --side-by-side", "heatmap -r r -d d -o m.png --overlay --side-by-side");
    expect_cli(2, "--indices '3,x'", "heatmap -r r -d d -o m.png --indices 3,x");
    expect_cli(2, "--alpha '2'", "heatmap -r r -d d -o m.png --alpha 2");
    expect_cli(2, "--format chooses the files of --export", "heatmap -r r -d d -o m.png --format png");
    const char *d = tu_path(f.dir, "d.h5"), *r = tu_path(f.dir, "r.h5"), *m = tu_path(f.dir, "m.png");
    snprintf(args, sizeof args, "heatmap -q -r %s -d %s -o %s --indices 4,0,8 --side-by-side --scale 2", r, d, m);
    expect_cli(0, NULL, args);
    rm_image img;
    cr_assert_eq(rm_image_load(&img, m), 0, "%s", rm_error_message());
    cr_assert_eq(img.width, RM_HEATMAP_MARGIN + 3 * (2 * W * 2 + RM_HEATMAP_PAIR_GAP + RM_HEATMAP_MARGIN));
    rm_image_free(&img);
    expect_cli(1, "already exists; use --force", args);
    snprintf(args, sizeof args, "heatmap -q -r %s -d %s -o %s --first 3 --force", r, d, m);
    expect_cli(0, NULL, args);
    snprintf(args, sizeof args, "heatmap -q -r %s -d %s -o %s --indices 99 --force", r, d, m);
    expect_cli(1, "record 99 is out of range", args);
    expect_cli(2, "--caption", "heatmap -r r -d d -o m.png --caption file");
    snprintf(args, sizeof args, "heatmap -q -r %s -d %s -o %s --first 3 --scale 1 --caption none --force", r, d, m);
    expect_cli(0, NULL, args);
    cr_assert_eq(rm_image_load(&img, m), 0, "%s", rm_error_message());
    cr_assert_eq(img.height, RM_HEATMAP_MARGIN + H + RM_HEATMAP_MARGIN, "--caption none: no caption rows");
    rm_image_free(&img);
    snprintf(args, sizeof args, "heatmap -q -r %s -d %s -o %s --first 3 --scale 1 --caption record --force", r, d, m);
    expect_cli(0, NULL, args);
    cr_assert_eq(rm_image_load(&img, m), 0, "%s", rm_error_message());
    cr_assert_eq(img.height, RM_HEATMAP_MARGIN + H + RM_HEATMAP_CAPTION_H + RM_HEATMAP_MARGIN);
    rm_image_free(&img);
    teardown(&f);
}

/* --export: a file per record, named after its source, atomic and
 * --force-guarded like the montage. */
Test(heatmap, export_writes_a_file_per_record_named_by_source)
{
    fixture f;
    setup(&f);
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    char png[4096], npy[4096];
    snprintf(png, sizeof png, "%s/png", f.dir);
    snprintf(npy, sizeof npy, "%s/npy", f.dir);
    int64_t written;
    cr_assert_eq(rm_heatmap_export(&o, &f.ds, &f.rel, png, RM_HEATMAP_EXPORT_PNG, 0, &written), 0, "%s",
                 rm_error_message());
    cr_assert_eq(written, N);
    cr_assert_eq(tu_dir_entries(png), N);
    const char *names[] = {"x_y.png", "x_y-r1.png", "faces_r2.png", "faces_r7.png", "record-8.png"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert(tu_file_exists(tu_path(png, names[i])), "missing %s", names[i]);
    /* Record 2 (gray 80): the overlay at alpha 0.5, red at (2,1), blue at
     * (9,6), white elsewhere: round(0.5 * 80 + 0.5 * c). */
    rm_image img;
    cr_assert_eq(rm_image_load(&img, tu_path(png, "faces_r2.png")), 0, "%s", rm_error_message());
    cr_assert_eq(img.width, W);
    cr_assert_eq(img.height, H);
    expect_px(&img, 2, 1, 168, 40, 40);
    expect_px(&img, 9, 6, 40, 40, 168);
    expect_px(&img, 0, 0, 168, 168, 168);
    rm_image_free(&img);

    /* NPY: the float32 heatmap itself; --first narrows the records. */
    o.selection = RM_HEATMAP_FIRST;
    o.first = 3;
    cr_assert_eq(rm_heatmap_export(&o, &f.ds, &f.rel, npy, RM_HEATMAP_EXPORT_NPY, 0, &written), 0, "%s",
                 rm_error_message());
    cr_assert_eq(written, 3);
    cr_assert_eq(tu_dir_entries(npy), 3);
    rm_npy_file nf;
    cr_assert_eq(rm_npy_open(&nf, tu_path(npy, "faces_r2.npy")), 0, "%s", rm_error_message());
    float heat[H * W];
    cr_assert_eq(rm_npy_read_floats(&nf, heat, H * W), 0, "%s", rm_error_message());
    rm_npy_close(&nf);
    for (int k = 0; k < H * W; k++)
        cr_assert_eq(heat[k], k == 1 * W + 2 ? 2.0f : k == 6 * W + 9 ? -2.0f : 0.0f, "pixel %d", k);

    /* An existing folder is refused without --force and replaced with it. */
    cr_assert_neq(rm_heatmap_export(&o, &f.ds, &f.rel, png, RM_HEATMAP_EXPORT_PNG, 0, &written), 0);
    cr_assert(strstr(rm_error_message(), "exists (use --force"), "%s", rm_error_message());
    cr_assert_eq(tu_dir_entries(png), N, "the refused export left the folder alone");
    cr_assert_eq(rm_heatmap_export(&o, &f.ds, &f.rel, png, RM_HEATMAP_EXPORT_PNG, 1, &written), 0, "%s",
                 rm_error_message());
    cr_assert_eq(tu_dir_entries(png), 3, "--force replaced the folder");
    cr_assert_eq(tu_dir_entries(f.dir), 4, "d.h5, r.h5, png, npy and no temporary folder");
    teardown(&f);
}

/* --export names of CSV lines and array indices: the part after ':' tells
 * the records of one file apart, so it stays in the name (fer.csv:17 ->
 * fer_17, not fer and fer-r<index>); a name two records share still gets
 * -r<index> on the second. */
Test(heatmap, export_names_keep_the_line_or_index_of_the_source)
{
    char *dir = tu_scratch_dir();
    static const char *const sources[N] = {"fer.csv:17", "fer.csv:62", "x.npy:3", "x.npy:1", "t10k-images-idx3-ubyte:17",
                                           "v1.2/a.png", "fer.csv:17", "a:b.png", "anger/163.png"};
    rm_dataset_spec s = {.channels = 1, .height = H, .width = W, .num_classes = K, .class_names = classes,
                         .source_format = "test", .source_path = "memory", .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, tu_path(dir, "d.h5"), &s, 0), 0, "%s", rm_error_message());
    uint8_t img[H * W];
    for (int i = 0; i < N; i++) {
        memset(img, 60 + 10 * i, sizeof img);
        cr_assert_eq(rm_dataset_writer_append(w, img, i % K, RM_SPLIT_TRAIN, NULL), 0);
        cr_assert_eq(rm_dataset_writer_set_source(w, sources[i]), 0, "%s", rm_error_message());
    }
    rm_split_spec sp = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
    write_relevance(tu_path(dir, "r.h5"));
    rm_dataset ds;
    rm_relevance rel;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "d.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&rel, tu_path(dir, "r.h5")), 0, "%s", rm_error_message());
    rm_heatmap_options o;
    rm_heatmap_options_defaults(&o);
    char out[4096];
    snprintf(out, sizeof out, "%s/out", dir);
    int64_t written;
    cr_assert_eq(rm_heatmap_export(&o, &ds, &rel, out, RM_HEATMAP_EXPORT_NPY, 0, &written), 0, "%s",
                 rm_error_message());
    cr_assert_eq(written, N);
    cr_assert_eq(tu_dir_entries(out), N);
    const char *names[N] = {"fer_17.npy", "fer_62.npy", "x_3.npy", "x_1.npy", "t10k-images-idx3-ubyte_17.npy",
                            "v1.2_a.npy", "fer_17-r6.npy", "a_b.npy", "anger_163.npy"};
    for (int i = 0; i < N; i++) cr_assert(tu_file_exists(tu_path(out, names[i])), "missing %s", names[i]);
    rm_relevance_close(&rel);
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}
