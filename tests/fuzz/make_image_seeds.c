/* Regenerates the image seeds under tests/fuzz/corpus/image/ (small valid
 * PNG, JPEG, TIFF and PGM/PPM files in gray and RGB). From the repository
 * root:
 *   gcc -std=c11 -D_GNU_SOURCE -Iinclude tests/fuzz/make_image_seeds.c src/core/image_io.c \
 *     src/core/error.c -lpng16 -ljpeg -ltiff -lz -o /tmp/seeds && /tmp/seeds tests/fuzz/corpus/image
 * The malformed fixtures of tests/fixtures/images/ are copied there too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <tiffio.h>

#include "core/image.h"

static const char *dir;

static const char *at(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void put_text(const char *name, const char *text)
{
    FILE *f = fopen(at(name), "wb");
    if (!f || fputs(text, f) < 0 || fclose(f)) { perror(name); exit(1); }
}

static void jpeg(const char *name, const unsigned char *px, int w, int h, int comps)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    FILE *f = fopen(at(name), "wb");
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = w, c.image_height = h, c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 50, TRUE);
    if (comps == 3) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    for (JSAMPROW row = (JSAMPROW)px; c.next_scanline < (unsigned)h; row += w * comps)
        jpeg_write_scanlines(&c, &row, 1);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void tiff(const char *name, const unsigned char *px, int w, int h, int spp, int compression)
{
    TIFF *t = TIFFOpen(at(name), "w");
    if (!t) exit(1);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_COMPRESSION, compression);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 2);
    for (int y = 0; y < h; y++) TIFFWriteScanline(t, (void *)(px + (size_t)y * w * spp), y, 0);
    TIFFClose(t);
}

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    dir = argv[1];
    unsigned char px[8 * 8 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (unsigned char)(i * 29 + 7);
    rm_image gray = {.width = 4, .height = 4, .channels = 1, .pixels = px};
    rm_image rgb = {.width = 3, .height = 2, .channels = 3, .pixels = px};
    if (rm_image_save_png(&gray, at("gray.png")) || rm_image_save_png(&rgb, at("rgb.png"))) return 1;
    jpeg("gray.jpg", px, 8, 8, 1);
    jpeg("rgb_progressive.jpg", px, 8, 8, 3);
    tiff("gray.tif", px, 4, 4, 1, COMPRESSION_NONE);
    tiff("rgb_lzw.tif", px, 4, 3, 3, COMPRESSION_LZW);
    put_text("ascii.pgm", "P2\n# comment\n3 2\n15\n0 1 2\n3 14 15\n");
    put_text("ascii.ppm", "P3 2 1 255 255 0 0 0 255 9\n");
    put_text("binary16.pgm", "P5 2 1 65535\n\x01\x02\xff\xfe");
    put_text("binary.ppm", "P6\n1 2\n255\nabcdef");
    return 0;
}
