/* Image loading/saving (every format, malformed fixtures) and
 * rm_image_convert against a slow double-precision reference. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>

#include "core/error.h"
#include "core/image.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void random_image(rm_image *img, int w, int h, int c, uint64_t seed)
{
    cr_assert_eq(rm_image_alloc(img, w, h, c), 0, "%s", rm_error_message());
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < (size_t)w * h * c; i++) img->pixels[i] = (uint8_t)(rng_next(&s) >> 24);
}

/* A smooth pattern that survives JPEG with small errors. */
static void smooth_image(rm_image *img, int w, int h, int c)
{
    cr_assert_eq(rm_image_alloc(img, w, h, c), 0);
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img->pixels[((size_t)ch * h + y) * w + x] =
                    (uint8_t)(30 + 50 * ch + 2 * x + y);
}

/* Planar [C][H][W] -> interleaved [H][W][C]. */
static uint8_t *interleave(const rm_image *img)
{
    size_t plane = (size_t)img->width * img->height;
    uint8_t *out = malloc(plane * img->channels);
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < img->channels; c++) out[i * img->channels + c] = img->pixels[c * plane + i];
    return out;
}

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m) m = d;
    }
    return m;
}

static void assert_same(const rm_image *a, const rm_image *b)
{
    cr_assert(a->width == b->width && a->height == b->height && a->channels == b->channels,
              "shape %dx%dx%d vs %dx%dx%d", a->width, a->height, a->channels, b->width,
              b->height, b->channels);
    size_t n = (size_t)a->width * a->height * a->channels;
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(a->pixels[i], b->pixels[i], "pixel %zu: %d vs %d", i, a->pixels[i],
                     b->pixels[i]);
}

static void load_ok(rm_image *img, const char *path, int w, int h, int c)
{
    cr_assert_eq(rm_image_load(img, path), 0, "load %s: %s", path, rm_error_message());
    cr_assert(img->width == w && img->height == h && img->channels == c,
              "%s: got %dx%dx%d, expected %dx%dx%d", path, img->width, img->height,
              img->channels, w, h, c);
}

/* ---- writers for valid files -------------------------------------------- */

/* rows: interleaved, `depth` bits per sample, big-endian for 16 bits. */
static void write_png(const char *path, int w, int h, int color_type, int depth, int interlace,
                      const uint8_t *rows, const png_color *palette, int n_palette)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) cr_assert_fail("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, color_type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, n_palette);
    png_write_info(png, info);
    png_set_interlace_handling(png);
    size_t stride = png_get_rowbytes(png, info);
    png_bytep *ptrs = malloc(h * sizeof *ptrs);
    for (int y = 0; y < h; y++) ptrs[y] = (png_bytep)rows + y * stride;
    png_write_image(png, ptrs);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(ptrs);
    fclose(f);
}

static void write_jpeg(const char *path, int w, int h, int comps, J_COLOR_SPACE space,
                       const uint8_t *rows)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr err;
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = w;
    cinfo.image_height = h;
    cinfo.input_components = comps;
    cinfo.in_color_space = space;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 95, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)rows + (size_t)cinfo.next_scanline * w * comps;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(f);
}

static void write_tiff(const char *path, int w, int h, int spp, int photometric,
                       const uint8_t *rows)
{
    TIFF *tif = TIFFOpen(path, "w");
    cr_assert_not_null(tif);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, photometric);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 4);
    for (int y = 0; y < h; y++)
        cr_assert_eq(TIFFWriteScanline(tif, (void *)(rows + (size_t)y * w * spp), y, 0), 1);
    TIFFClose(tif);
}

/* ---- PNG round trip and variants ---------------------------------------- */

static char *scratch;
static void scratch_init(void) { scratch = tu_scratch_dir(); }
static void scratch_fini(void) { tu_rmtree(scratch); }   /* also frees it */
TestSuite(image_io, .init = scratch_init, .fini = scratch_fini);

static void roundtrip(int channels)
{
    rm_image a, b;
    random_image(&a, 37, 23, channels, 7);
    const char *path = tu_path(scratch, "rt.png");
    cr_assert_eq(rm_image_save_png(&a, path), 0, "%s", rm_error_message());
    cr_assert_eq(tu_dir_entries(scratch), 1, "temporary file left behind");
    load_ok(&b, path, 37, 23, channels);
    assert_same(&a, &b);
    rm_image_free(&a);
    rm_image_free(&b);
}

Test(image_io, png_roundtrip_gray) { roundtrip(1); }
Test(image_io, png_roundtrip_rgb) { roundtrip(3); }

Test(image_io, png_rgba_drops_alpha)
{
    rm_image ref, img;
    random_image(&ref, 9, 5, 3, 3);
    uint8_t *rgb = interleave(&ref), rgba[9 * 5 * 4];
    for (int i = 0; i < 45; i++) {
        memcpy(rgba + 4 * i, rgb + 3 * i, 3);
        rgba[4 * i + 3] = (uint8_t)(i * 5);
    }
    const char *path = tu_path(scratch, "rgba.png");
    write_png(path, 9, 5, PNG_COLOR_TYPE_RGBA, 8, PNG_INTERLACE_NONE, rgba, NULL, 0);
    load_ok(&img, path, 9, 5, 3);
    assert_same(&ref, &img);
    free(rgb);
    rm_image_free(&ref);
    rm_image_free(&img);
}

Test(image_io, png_gray_alpha_is_gray)
{
    uint8_t ga[6 * 2 * 2];
    for (int i = 0; i < 12; i++) {
        ga[2 * i] = (uint8_t)(i * 20);
        ga[2 * i + 1] = 128;
    }
    const char *path = tu_path(scratch, "ga.png");
    write_png(path, 6, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, ga, NULL, 0);
    rm_image img;
    load_ok(&img, path, 6, 2, 1);
    for (int i = 0; i < 12; i++) cr_assert_eq(img.pixels[i], i * 20);
    rm_image_free(&img);
}

Test(image_io, png_16bit_reduced_to_8)
{
    uint8_t rows[5 * 3 * 3 * 2];
    for (int i = 0; i < 5 * 3 * 3; i++) {
        uint16_t v = (uint16_t)((i * 17 % 256) * 257);
        rows[2 * i] = (uint8_t)(v >> 8);
        rows[2 * i + 1] = (uint8_t)v;
    }
    const char *path = tu_path(scratch, "rgb16.png");
    write_png(path, 5, 3, PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE, rows, NULL, 0);
    rm_image img;
    load_ok(&img, path, 5, 3, 3);
    for (int i = 0; i < 15; i++)
        for (int c = 0; c < 3; c++) cr_assert_eq(img.pixels[c * 15 + i], (i * 3 + c) * 17 % 256);
    rm_image_free(&img);
}

Test(image_io, png_palette_and_interlace)
{
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {10, 20, 30}};
    uint8_t idx[11 * 9];
    for (int i = 0; i < 99; i++) idx[i] = (uint8_t)(i % 3);
    const char *path = tu_path(scratch, "pal.png");
    write_png(path, 11, 9, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_ADAM7, idx, pal, 3);
    rm_image img;
    load_ok(&img, path, 11, 9, 3);
    for (int i = 0; i < 99; i++) {
        const png_color *p = &pal[i % 3];
        cr_assert(img.pixels[i] == p->red && img.pixels[99 + i] == p->green &&
                  img.pixels[198 + i] == p->blue, "pixel %d", i);
    }
    rm_image_free(&img);
}

Test(image_io, png_found_by_magic_not_name)
{
    rm_image a, b;
    random_image(&a, 4, 4, 1, 1);
    const char *path = tu_path(scratch, "really_a_png.jpg");
    cr_assert_eq(rm_image_save_png(&a, path), 0);
    load_ok(&b, path, 4, 4, 1);
    assert_same(&a, &b);
    rm_image_free(&a);
    rm_image_free(&b);
}

/* ---- JPEG and TIFF ------------------------------------------------------ */

static void jpeg_case(int channels)
{
    rm_image ref, img;
    smooth_image(&ref, 40, 24, channels);
    uint8_t *rows = interleave(&ref);
    const char *path = tu_path(scratch, "a.jpg");
    write_jpeg(path, 40, 24, channels, channels == 1 ? JCS_GRAYSCALE : JCS_RGB, rows);
    load_ok(&img, path, 40, 24, channels);
    int d = max_diff(ref.pixels, img.pixels, (size_t)40 * 24 * channels);
    cr_assert_leq(d, 3, "JPEG error %d too large", d);   /* quality 95, smooth: 1 seen */
    free(rows);
    rm_image_free(&ref);
    rm_image_free(&img);
}

Test(image_io, jpeg_gray) { jpeg_case(1); }
Test(image_io, jpeg_rgb) { jpeg_case(3); }

Test(image_io, jpeg_cmyk_rejected)
{
    uint8_t cmyk[8 * 8 * 4] = {0};
    const char *path = tu_path(scratch, "cmyk.jpg");
    write_jpeg(path, 8, 8, 4, JCS_CMYK, cmyk);
    rm_image img;
    cr_assert_eq(rm_image_load(&img, path), -1);
    cr_assert(strstr(rm_error_message(), path) && strstr(rm_error_message(), "CMYK"), "%s",
              rm_error_message());
}

static void tiff_case(int channels)
{
    rm_image ref, img;
    random_image(&ref, 13, 10, channels, 11);
    uint8_t *rows = interleave(&ref);
    const char *path = tu_path(scratch, "a.tif");
    write_tiff(path, 13, 10, channels, channels == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB,
               rows);
    load_ok(&img, path, 13, 10, channels);
    assert_same(&ref, &img);
    free(rows);
    rm_image_free(&ref);
    rm_image_free(&img);
}

Test(image_io, tiff_gray) { tiff_case(1); }
Test(image_io, tiff_rgb) { tiff_case(3); }

Test(image_io, tiff_miniswhite_inverted)
{
    uint8_t rows[4 * 3] = {0, 10, 200, 255, 1, 2, 3, 4, 5, 6, 7, 8};
    const char *path = tu_path(scratch, "white.tif");
    write_tiff(path, 4, 3, 1, PHOTOMETRIC_MINISWHITE, rows);
    rm_image img;
    load_ok(&img, path, 4, 3, 1);
    for (int i = 0; i < 12; i++) cr_assert_eq(img.pixels[i], 255 - rows[i], "pixel %d", i);
    rm_image_free(&img);
}

/* ---- PGM / PPM ---------------------------------------------------------- */

Test(image_io, pgm_p5)
{
    uint8_t file[64] = "P5\n4 3\n255\n";
    size_t hdr = strlen((char *)file);
    for (int i = 0; i < 12; i++) file[hdr + i] = (uint8_t)(i * 21);
    const char *path = tu_path(scratch, "a.pgm");
    tu_write_file(path, file, hdr + 12);
    rm_image img;
    load_ok(&img, path, 4, 3, 1);
    for (int i = 0; i < 12; i++) cr_assert_eq(img.pixels[i], i * 21);
    rm_image_free(&img);
}

Test(image_io, pgm_p5_16bit_scaled)
{
    uint8_t file[64] = "P5 2 1 1000 ";
    size_t hdr = strlen((char *)file);
    uint8_t data[4] = {0x03, 0xE8, 0x01, 0xF4};   /* 1000, 500 */
    memcpy(file + hdr, data, 4);
    const char *path = tu_path(scratch, "a16.pgm");
    tu_write_file(path, file, hdr + 4);
    rm_image img;
    load_ok(&img, path, 2, 1, 1);
    cr_assert_eq(img.pixels[0], 255);
    cr_assert_eq(img.pixels[1], 128);   /* 127.5 rounds up */
    rm_image_free(&img);
}

Test(image_io, pgm_p2_with_comments)
{
    const char *path = tu_path(scratch, "a.pgm");
    tu_write_text(path, "P2\n# made by hand\n3 # width\n2\n# maxval next\n15\n"
                        "0 1 2\n# a comment between rows\n13 14 15\n");
    rm_image img;
    load_ok(&img, path, 3, 2, 1);
    const int want[6] = {0, 17, 34, 221, 238, 255};
    for (int i = 0; i < 6; i++) cr_assert_eq(img.pixels[i], want[i], "pixel %d", i);
    rm_image_free(&img);
}

Test(image_io, ppm_p6_planar)
{
    uint8_t file[64] = "P6\n2 2\n255\n";
    size_t hdr = strlen((char *)file);
    const uint8_t rgb[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    memcpy(file + hdr, rgb, 12);
    const char *path = tu_path(scratch, "a.ppm");
    tu_write_file(path, file, hdr + 12);
    rm_image img;
    load_ok(&img, path, 2, 2, 3);
    const uint8_t want[12] = {1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12};
    cr_assert_arr_eq(img.pixels, want, 12);
    rm_image_free(&img);
}

Test(image_io, ppm_p3_ascii)
{
    const char *path = tu_path(scratch, "a.ppm");
    tu_write_text(path, "P3 2 1 255\n255 0 0   0 0 255\n");
    rm_image img;
    load_ok(&img, path, 2, 1, 3);
    const uint8_t want[6] = {255, 0, 0, 0, 0, 255};
    cr_assert_arr_eq(img.pixels, want, 6);
    rm_image_free(&img);
}

static void expect_error_at(const char *path, const char *word)
{
    rm_image img = {0};
    rm_error_clear();
    cr_assert_eq(rm_image_load(&img, path), -1, "%s loaded without error", path);
    const char *msg = rm_error_message();
    cr_assert(strncmp(msg, path, strlen(path)) == 0, "message does not start with %s: %s", path,
              msg);
    cr_assert(strstr(msg, word), "expected \"%s\" in: %s", word, msg);
    cr_assert_null(img.pixels);
}

Test(image_io, pgm_value_above_maxval)
{
    const char *path = tu_path(scratch, "bad.pgm");
    tu_write_text(path, "P2 2 1 10 5 11\n");
    expect_error_at(path, "exceeds maxval 10");
}

Test(image_io, missing_file)
{
    expect_error_at(tu_path(scratch, "nope.png"), "cannot open");
}

Test(image_io, save_png_reports_errors)
{
    rm_image img;
    random_image(&img, 3, 3, 1, 5);
    const char *path = tu_path(scratch, "no/such/dir/x.png");
    cr_assert_eq(rm_image_save_png(&img, path), -1);
    cr_assert(strstr(rm_error_message(), path), "%s", rm_error_message());
    rm_image_free(&img);
}

/* ---- malformed committed fixtures (tests/fixtures/images/README.md) ----- */

static void expect_fixture_error(const char *name, const char *word)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", tu_fixture(name));
    cr_assert(tu_file_exists(path), "missing fixture %s (is RELMASK_FIXTURES set?)", path);
    expect_error_at(path, word);
}

Test(image_io, fixture_empty) { expect_fixture_error("images/empty.png", "empty file"); }
Test(image_io, fixture_garbage)
{
    expect_fixture_error("images/garbage.jpg", "not a PNG, JPEG, TIFF or PGM/PPM image");
}
Test(image_io, fixture_truncated_png) { expect_fixture_error("images/truncated.png", "truncated"); }
Test(image_io, fixture_truncated_jpeg) { expect_fixture_error("images/truncated.jpg", "truncated"); }
Test(image_io, fixture_truncated_tiff) { expect_fixture_error("images/truncated.tif", "TIFF"); }
Test(image_io, fixture_truncated_pgm)
{
    expect_fixture_error("images/truncated.pgm", "truncated PGM data: expected 256 bytes, got 100");
}
Test(image_io, fixture_huge_pgm) { expect_fixture_error("images/huge.pgm", "100000x100000"); }

/* ---- rm_image_convert --------------------------------------------------- */

/* Weight of source pixel j in output o along one axis of s -> d pixels. */
static double ref_weight(int s, int d, int o, int j)
{
    if (s == d) return o == j;
    double scale = (double)s / d;
    if (d < s) {
        double a = fmax(o * scale, j), b = fmin((o + 1) * scale, j + 1.0);
        return b > a ? (b - a) / scale : 0.0;
    }
    double u = fmin(fmax((o + 0.5) * scale - 0.5, 0.0), s - 1.0);
    int j0 = (int)floor(u);
    return j == j0 ? 1.0 - (u - j0) : j == j0 + 1 ? u - j0 : 0.0;
}

/* Slow reference: every output as a full double sum over the source. */
static void ref_convert(const rm_image *src, rm_image *dst)
{
    int sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
    size_t sp = (size_t)sw * sh, dp = (size_t)dw * dh;
    double *plane = malloc(sp * sizeof *plane);
    for (int c = 0; c < dst->channels; c++) {
        for (size_t i = 0; i < sp; i++) {
            const uint8_t *p = src->pixels + i;
            if (src->channels == 1) plane[i] = p[0];
            else if (dst->channels == 3) plane[i] = p[c * sp];
            else plane[i] = floor(0.299 * p[0] + 0.587 * p[sp] + 0.114 * p[2 * sp] + 0.5);
        }
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++) {
                double v = 0;
                for (int i = 0; i < sh; i++) {
                    double wy = ref_weight(sh, dh, y, i);
                    if (wy == 0) continue;
                    for (int j = 0; j < sw; j++) v += wy * ref_weight(sw, dw, x, j) * plane[i * sw + j];
                }
                dst->pixels[c * dp + (size_t)y * dw + x] = (uint8_t)fmin(fmax(floor(v + 0.5), 0), 255);
            }
    }
    free(plane);
}

static void convert_ok(const rm_image *src, rm_image *dst, int w, int h, int c)
{
    cr_assert_eq(rm_image_alloc(dst, w, h, c), 0);
    cr_assert_eq(rm_image_convert(src, dst), 0, "%s", rm_error_message());
}

Test(image_resize, identity_copies_bytes)
{
    for (int c = 1; c <= 3; c += 2) {
        rm_image src, dst;
        random_image(&src, 31, 17, c, 2);
        convert_ok(&src, &dst, 31, 17, c);
        assert_same(&src, &dst);
        rm_image_free(&src);
        rm_image_free(&dst);
    }
}

Test(image_resize, box_4x4_to_2x2_means)
{
    rm_image src, dst;
    const uint8_t px[16] = {1, 2, 10, 20,
                            3, 4, 30, 40,
                            0, 0, 255, 255,
                            0, 1, 255, 254};
    cr_assert_eq(rm_image_alloc(&src, 4, 4, 1), 0);
    memcpy(src.pixels, px, 16);
    convert_ok(&src, &dst, 2, 2, 1);
    const uint8_t want[4] = {3 /* 2.5 rounds up */, 25, 0 /* 0.25 */, 255 /* 254.75 */};
    cr_assert_arr_eq(dst.pixels, want, 4);
    rm_image_free(&src);
    rm_image_free(&dst);
}

Test(image_resize, box_fractional_coverage)
{
    rm_image src, dst;
    cr_assert_eq(rm_image_alloc(&src, 3, 1, 1), 0);
    memcpy(src.pixels, (uint8_t[]){0, 90, 180}, 3);
    convert_ok(&src, &dst, 2, 1, 1);
    cr_assert(dst.pixels[0] == 30 && dst.pixels[1] == 150, "got %d %d", dst.pixels[0],
              dst.pixels[1]);
    rm_image_free(&src);
    rm_image_free(&dst);
}

Test(image_resize, bilinear_centres_aligned)
{
    rm_image src, dst;
    cr_assert_eq(rm_image_alloc(&src, 1, 2, 1), 0);
    src.pixels[0] = 0;
    src.pixels[1] = 100;
    convert_ok(&src, &dst, 1, 4, 1);
    const uint8_t want[4] = {0, 25, 75, 100};
    cr_assert_arr_eq(dst.pixels, want, 4);
    rm_image_free(&src);
    rm_image_free(&dst);
}

Test(image_resize, upscale_constant_stays_constant)
{
    rm_image src, dst;
    cr_assert_eq(rm_image_alloc(&src, 7, 5, 3), 0);
    memset(src.pixels, 201, 7 * 5 * 3);
    convert_ok(&src, &dst, 64, 33, 3);
    for (size_t i = 0; i < (size_t)64 * 33 * 3; i++) cr_assert_eq(dst.pixels[i], 201, "pixel %zu", i);
    rm_image_free(&src);
    rm_image_free(&dst);
}

Test(image_resize, matches_double_reference)
{
    static const int sizes[][4] = {
        {48, 48, 37, 37}, {37, 37, 48, 48}, {100, 100, 48, 48}, {13, 13, 64, 64},
        {64, 30, 20, 45}, {30, 64, 45, 20}, {1, 1, 5, 3},     {7, 5, 1, 1},
        {5, 1, 2, 7},     {48, 48, 48, 24}, {640, 3, 48, 2},
    };
    static const int chans[][2] = {{1, 1}, {3, 3}, {3, 1}, {1, 3}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        const int *s = sizes[t], *ch = chans[t % 4];
        rm_image src, got, want;
        random_image(&src, s[0], s[1], ch[0], 100 + t);
        convert_ok(&src, &got, s[2], s[3], ch[1]);
        cr_assert_eq(rm_image_alloc(&want, s[2], s[3], ch[1]), 0);
        ref_convert(&src, &want);
        int d = max_diff(got.pixels, want.pixels, (size_t)s[2] * s[3] * ch[1]);
        cr_assert_leq(d, 1, "%dx%dx%d -> %dx%dx%d: max difference %d", s[0], s[1], ch[0], s[2],
                      s[3], ch[1], d);
        rm_image_free(&src);
        rm_image_free(&got);
        rm_image_free(&want);
    }
}

Test(image_resize, channel_conversion_values)
{
    rm_image src, dst;
    cr_assert_eq(rm_image_alloc(&src, 4, 1, 3), 0);
    const uint8_t rgb[12] = {255, 0, 0, 255,    /* R plane */
                             0, 255, 0, 255,    /* G plane */
                             0, 0, 255, 255};   /* B plane */
    memcpy(src.pixels, rgb, 12);
    convert_ok(&src, &dst, 4, 1, 1);
    const uint8_t want[4] = {76, 150, 29, 255};
    cr_assert_arr_eq(dst.pixels, want, 4);
    rm_image back;
    convert_ok(&dst, &back, 4, 1, 3);
    for (int c = 0; c < 3; c++) cr_assert_arr_eq(back.pixels + 4 * c, want, 4);
    rm_image_free(&src);
    rm_image_free(&dst);
    rm_image_free(&back);
}

Test(image_resize, rejects_bad_shapes)
{
    rm_image src, dst = {0};
    random_image(&src, 4, 4, 1, 9);
    cr_assert_eq(rm_image_alloc(&dst, 4, 4, 2), -1);
    uint8_t buf[32];
    dst = (rm_image){.width = 4, .height = 4, .channels = 2, .pixels = buf};
    cr_assert_eq(rm_image_convert(&src, &dst), -1);
    cr_assert(strstr(rm_error_message(), "channels"), "%s", rm_error_message());
    rm_image_free(&src);
}

/* ---- rm_image_resizer: the same bytes, and the exact adjoint ------------- */

static const int resizer_shapes[][6] = {
    /* src c, h, w -> dst c, h, w */
    {1, 20, 20, 1, 16, 16}, {1, 16, 16, 1, 20, 20}, {1, 48, 48, 3, 64, 64}, {3, 64, 64, 1, 48, 48},
    {3, 13, 7, 3, 5, 11},   {1, 9, 9, 3, 9, 9},     {3, 9, 9, 1, 9, 9},     {1, 1, 5, 1, 3, 2},
    {1, 7, 100, 1, 30, 3},
};

Test(image_resize, resizer_apply_equals_convert)
{
    for (size_t t = 0; t < sizeof resizer_shapes / sizeof resizer_shapes[0]; t++) {
        const int *s = resizer_shapes[t];
        rm_image_resizer *z;
        cr_assert_eq(rm_image_resizer_create(&z, s[0], s[1], s[2], s[3], s[4], s[5]), 0, "%s", rm_error_message());
        size_t dn = (size_t)s[3] * s[4] * s[5];
        uint8_t *got = malloc(dn);
        for (int rep = 0; rep < 3; rep++) {   /* reused: no state carried from one image to the next */
            rm_image src, want;
            random_image(&src, s[2], s[1], s[0], 40 + t * 3 + rep);
            convert_ok(&src, &want, s[5], s[4], s[3]);
            rm_image_resizer_apply(z, src.pixels, got);
            cr_assert_arr_eq(got, want.pixels, dn, "shape %zu, image %d", t, rep);
            rm_image_free(&src);
            rm_image_free(&want);
        }
        free(got);
        rm_image_resizer_destroy(z);
    }
    rm_image_resizer *z = NULL;
    cr_assert_eq(rm_image_resizer_create(&z, 2, 8, 8, 1, 4, 4), -1);
    cr_assert(z == NULL && strstr(rm_error_message(), "channels"), "%s", rm_error_message());
}

/* Entry (o, i) of the linear map behind a conversion, from ref_weight and
 * the luma weights: o and i are flat [C][H][W] indices. */
static double ref_map(const int *s, size_t o, size_t i)
{
    size_t dp = (size_t)s[4] * s[5], sp = (size_t)s[1] * s[2];
    int oc = (int)(o / dp), oy = (int)(o % dp / s[5]), ox = (int)(o % s[5]);
    int ic = (int)(i / sp), iy = (int)(i % sp / s[2]), ix = (int)(i % s[2]);
    static const double luma[3] = {0.299, 0.587, 0.114};
    double c = s[0] == s[3] ? oc == ic : s[0] == 1 ? 1.0 : luma[ic];
    return c * ref_weight(s[1], s[4], oy, iy) * ref_weight(s[2], s[5], ox, ix);
}

static double uniform(uint64_t *st) { return (double)(rng_next(st) >> 11) / 9007199254740992.0 * 2 - 1; }

/* rm_image_resizer_adjoint is M^T of the map the conversion rounds:
 * entry by entry against the slow reference, <M x, r> = <x, M^T r> in
 * double precision on random data, and the sum of relevance kept. */
Test(image_resize, adjoint_is_the_transpose_and_conserves)
{
    for (size_t t = 0; t < sizeof resizer_shapes / sizeof resizer_shapes[0]; t++) {
        const int *s = resizer_shapes[t];
        size_t sn = (size_t)s[0] * s[1] * s[2], dn = (size_t)s[3] * s[4] * s[5];
        float *r = malloc(sizeof *r * dn), *adj = malloc(sizeof *adj * sn);
        double *x = malloc(sizeof *x * sn);
        uint64_t st = 1234 + t;
        for (size_t o = 0; o < dn; o++) r[o] = (float)uniform(&st);
        for (size_t i = 0; i < sn; i++) x[i] = uniform(&st);
        rm_image_resizer *z;
        cr_assert_eq(rm_image_resizer_create(&z, s[0], s[1], s[2], s[3], s[4], s[5]), 0, "%s", rm_error_message());
        rm_image_resizer_adjoint(z, r, adj);
        double mx_r = 0, x_mtr = 0, sum_r = 0, sum_adj = 0, row_err = 0;
        for (size_t o = 0; o < dn; o++) {
            double mx = 0, row = 0;
            for (size_t i = 0; i < sn; i++) {
                double m = ref_map(s, o, i);
                mx += m * x[i];
                row += m;
            }
            mx_r += mx * r[o];
            sum_r += r[o];
            row_err = fmax(row_err, fabs(row - 1));
        }
        cr_assert_lt(row_err, 1e-12, "shape %zu: the reference's rows sum to 1", t);
        for (size_t i = 0; i < sn; i++) {
            double want = 0;
            for (size_t o = 0; o < dn; o++) want += ref_map(s, o, i) * r[o];
            cr_assert_lt(fabs(adj[i] - want), 1e-6 * (fabs(want) + 1), "shape %zu, entry %zu: %.9g, want %.9g", t, i,
                         adj[i], want);
            x_mtr += x[i] * adj[i];
            sum_adj += adj[i];
        }
        cr_assert_lt(fabs(mx_r - x_mtr), 1e-6 * (fabs(mx_r) + 1), "shape %zu: <Mx,r> %.12g, <x,M^T r> %.12g", t,
                     mx_r, x_mtr);
        cr_assert_lt(fabs(sum_r - sum_adj), 1e-5 * (fabs(sum_r) + 1), "shape %zu: sum %.9g before, %.9g after", t,
                     sum_r, sum_adj);
        rm_image_resizer_destroy(z);
        free(r);
        free(adj);
        free(x);
    }
}

/* rm_image_resizer_apply_float is M x itself: entry by entry against the
 * slow reference on random floats (not bytes), on every shape; within half
 * a gray level of the byte path on byte images (its roundings); the same
 * resizer reused for several images. */
Test(image_resize, apply_float_is_the_map)
{
    for (size_t t = 0; t < sizeof resizer_shapes / sizeof resizer_shapes[0]; t++) {
        const int *s = resizer_shapes[t];
        size_t sn = (size_t)s[0] * s[1] * s[2], dn = (size_t)s[3] * s[4] * s[5];
        float *x = malloc(sizeof *x * sn), *got = malloc(sizeof *got * dn);
        uint8_t *bytes = malloc(dn);
        rm_image_resizer *z;
        cr_assert_eq(rm_image_resizer_create(&z, s[0], s[1], s[2], s[3], s[4], s[5]), 0, "%s", rm_error_message());
        uint64_t st = 777 + t;
        for (int rep = 0; rep < 2; rep++) {
            for (size_t i = 0; i < sn; i++) x[i] = (float)(127.5 * (uniform(&st) + 1));
            rm_image_resizer_apply_float(z, x, got);
            for (size_t o = 0; o < dn; o++) {
                double want = 0;
                for (size_t i = 0; i < sn; i++) want += ref_map(s, o, i) * x[i];
                cr_assert_lt(fabs(got[o] - want), 1e-4, "shape %zu, image %d, entry %zu: %.9g, want %.9g", t, rep, o,
                             got[o], want);
            }
        }
        rm_image src;
        random_image(&src, s[2], s[1], s[0], 90 + t);
        for (size_t i = 0; i < sn; i++) x[i] = src.pixels[i];
        rm_image_resizer_apply_float(z, x, got);
        rm_image_resizer_apply(z, src.pixels, bytes);
        for (size_t o = 0; o < dn; o++)   /* the luma's and the resampling's roundings */
            cr_assert_leq(fabs(got[o] - bytes[o]), 1.0, "shape %zu, entry %zu: %.6g against byte %d", t, o, got[o],
                          bytes[o]);
        rm_image_free(&src);
        rm_image_resizer_destroy(z);
        free(x);
        free(got);
        free(bytes);
    }
}
