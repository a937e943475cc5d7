/* Image files: PNG, JPEG and TIFF through their libraries, PGM/PPM by hand.
 * Every decoder reports problems through rm_error() with the file's path;
 * none of them prints or exits. */
#include "core/image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <tiffio.h>

#include "core/error.h"

int rm_image_alloc(rm_image *img, int width, int height, int channels)
{
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0 || width > RM_IMAGE_MAX_SIDE || height > RM_IMAGE_MAX_SIDE)
        return rm_error("image size %dx%d is outside 1..%d pixels per side", width, height,
                        RM_IMAGE_MAX_SIDE);
    if (channels != 1 && channels != 3)
        return rm_error("image channels must be 1 or 3, got %d", channels);
    img->pixels = rm_calloc((size_t)width * height, (size_t)channels, "image pixels");
    if (!img->pixels) return -1;
    img->width = width;
    img->height = height;
    img->channels = channels;
    return 0;
}

void rm_image_free(rm_image *img)
{
    if (!img) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

/* Header sizes are checked before anything is allocated. */
static int check_size(const char *path, long long width, long long height)
{
    if (width <= 0 || height <= 0 || width > RM_IMAGE_MAX_SIDE || height > RM_IMAGE_MAX_SIDE)
        return rm_error("%s: image size %lldx%lld is outside 1..%d pixels per side", path,
                        width, height, RM_IMAGE_MAX_SIDE);
    return 0;
}

/* Copies one interleaved row (img->channels samples per pixel) to row y. */
static void store_row(rm_image *img, int y, const uint8_t *row)
{
    size_t plane = (size_t)img->width * img->height;
    uint8_t *dst = img->pixels + (size_t)y * img->width;
    if (img->channels == 1) {
        memcpy(dst, row, (size_t)img->width);
        return;
    }
    for (int x = 0; x < img->width; x++) {
        dst[x] = row[3 * x];
        dst[plane + x] = row[3 * x + 1];
        dst[2 * plane + x] = row[3 * x + 2];
    }
}

/* ---- PNG ---------------------------------------------------------------- */

typedef struct {
    FILE *f;
    const char *path;
    rm_image *img;
    png_bytep *row_ptrs;
    uint8_t *rgb;           /* interleaved RGB rows; gray decodes in place */
    char msg[256];
} png_job;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_on_read(png_structp png, png_bytep data, size_t len)
{
    png_job *job = png_get_io_ptr(png);
    if (fread(data, 1, len, job->f) != len)
        png_error(png, feof(job->f) ? "truncated (unexpected end of data)" : "read error");
}

/* All libpng calls live here so that nothing modified after setjmp is a
 * local of this function. */
static int png_decode(png_structp png, png_infop info, png_job *job)
{
    if (setjmp(png_jmpbuf(png)))
        return rm_error("%s: bad PNG file: %s", job->path, job->msg);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    RM_TRY(check_size(job->path, w, h));
    png_set_scale_16(png);
    png_set_expand(png);          /* palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha */
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    if (png_get_bit_depth(png, info) != 8 || (channels != 1 && channels != 3))
        return rm_error("%s: unsupported PNG layout (%d channels of %d bits)", job->path,
                        channels, png_get_bit_depth(png, info));
    RM_TRY(rm_image_alloc(job->img, (int)w, (int)h, channels));
    job->row_ptrs = rm_malloc(h * sizeof *job->row_ptrs, "PNG row pointers");
    if (!job->row_ptrs) return -1;
    uint8_t *base = job->img->pixels;
    if (channels == 3) {
        base = job->rgb = rm_malloc((size_t)w * h * 3, "PNG rows");
        if (!base) return -1;
    }
    for (png_uint_32 y = 0; y < h; y++) job->row_ptrs[y] = base + (size_t)y * w * channels;
    png_read_image(png, job->row_ptrs);
    png_read_end(png, NULL);
    if (channels == 3)
        for (png_uint_32 y = 0; y < h; y++) store_row(job->img, (int)y, job->row_ptrs[y]);
    return 0;
}

static int load_png(rm_image *img, FILE *f, const char *path)
{
    png_job job = {.f = f, .path = path, .img = img};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = -1;
    if (!info) {
        rm_error("%s: out of memory for the PNG decoder", path);
    } else {
        png_set_read_fn(png, &job, png_on_read);
        rc = png_decode(png, info, &job);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(job.row_ptrs);
    free(job.rgb);
    return rc;
}

/* ---- JPEG --------------------------------------------------------------- */

typedef struct {
    struct jpeg_error_mgr pub;  /* first: libjpeg hands us &pub */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX + 64];
    FILE *f;
    const char *path;
    rm_image *img;
    uint8_t *row;
} jpeg_job;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_job *job = (jpeg_job *)cinfo->err;
    cinfo->err->format_message(cinfo, job->msg);
    longjmp(job->jump, 1);
}

/* libjpeg only warns about missing data and fills the rest with gray; a
 * truncated or damaged scan must fail instead. Other warnings (extraneous
 * bytes, odd markers) are common in usable files and ignored. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level >= 0) return;
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF) {
        jpeg_job *job = (jpeg_job *)cinfo->err;
        snprintf(job->msg, sizeof job->msg, "truncated (unexpected end of data)");
        longjmp(job->jump, 1);
    }
    if (code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC || code == JWRN_HUFF_BAD_CODE)
        jpeg_on_error(cinfo);
}

static int jpeg_decode(struct jpeg_decompress_struct *cinfo, jpeg_job *job)
{
    if (setjmp(job->jump))
        return rm_error("%s: bad JPEG file: %s", job->path, job->msg);
    jpeg_create_decompress(cinfo);
    jpeg_stdio_src(cinfo, job->f);
    jpeg_read_header(cinfo, TRUE);
    RM_TRY(check_size(job->path, cinfo->image_width, cinfo->image_height));
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
        return rm_error("%s: CMYK JPEG images are not supported", job->path);
    cinfo->out_color_space = cinfo->jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(cinfo);
    int w = (int)cinfo->output_width, h = (int)cinfo->output_height;
    RM_TRY(rm_image_alloc(job->img, w, h, cinfo->output_components));
    job->row = rm_malloc((size_t)w * cinfo->output_components, "JPEG row");
    if (!job->row) return -1;
    while (cinfo->output_scanline < cinfo->output_height) {
        int y = (int)cinfo->output_scanline;
        JSAMPROW rows[1] = {job->row};
        if (jpeg_read_scanlines(cinfo, rows, 1) != 1)
            return rm_error("%s: bad JPEG file: no data for row %d", job->path, y);
        store_row(job->img, y, job->row);
    }
    jpeg_finish_decompress(cinfo);
    return 0;
}

static int load_jpeg(rm_image *img, FILE *f, const char *path)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_job job = {.f = f, .path = path, .img = img};
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&job.pub);
    job.pub.error_exit = jpeg_on_error;
    job.pub.emit_message = jpeg_on_message;
    int rc = jpeg_decode(&cinfo, &job);
    jpeg_destroy_decompress(&cinfo);
    free(job.row);
    return rc;
}

/* ---- TIFF --------------------------------------------------------------- */

typedef struct {
    int errors;
    char msg[512];          /* the first error; later ones are consequences */
} tiff_job;

static int tiff_on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif, (void)module;
    tiff_job *job = user;
    if (job->errors++ == 0) vsnprintf(job->msg, sizeof job->msg, fmt, ap);
    return 1;
}

static int tiff_on_warning(TIFF *tif, void *user, const char *module, const char *fmt,
                           va_list ap)
{
    (void)tif, (void)user, (void)module, (void)fmt, (void)ap;
    return 1;   /* unknown tags and the like: silence */
}

static int tiff_decode(TIFF *tif, rm_image *img, const char *path, tiff_job *job)
{
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, photometric;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    RM_TRY(check_size(path, w, h));
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric))
        photometric = spp == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB;
    int gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
    uint32_t *raster = rm_malloc((size_t)w * h * sizeof *raster, "TIFF raster");
    if (!raster) return -1;
    int rc = rm_image_alloc(img, (int)w, (int)h, gray ? 1 : 3);
    if (rc == 0 && (!TIFFReadRGBAImageOriented(tif, w, h, raster, ORIENTATION_TOPLEFT, 1) ||
                    job->errors))
        rc = rm_error("%s: bad TIFF file: %s", path, job->msg[0] ? job->msg : "cannot decode");
    size_t plane = (size_t)w * h;
    for (size_t i = 0; rc == 0 && i < plane; i++) {
        img->pixels[i] = (uint8_t)TIFFGetR(raster[i]);
        if (gray) continue;
        img->pixels[plane + i] = (uint8_t)TIFFGetG(raster[i]);
        img->pixels[2 * plane + i] = (uint8_t)TIFFGetB(raster[i]);
    }
    free(raster);
    return rc;
}

/* Uses libtiff's per-handle handlers (4.5+): thread-safe, and nothing is
 * printed to stderr. */
static int load_tiff(rm_image *img, const char *path)
{
    tiff_job job = {0};
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) return rm_error("%s: out of memory for the TIFF decoder", path);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, tiff_on_error, &job);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, tiff_on_warning, &job);
    TIFF *tif = TIFFOpenExt(path, "r", opts);
    TIFFOpenOptionsFree(opts);
    if (!tif)
        return rm_error("%s: bad TIFF file: %s", path, job.msg[0] ? job.msg : "cannot open");
    int rc = tiff_decode(tif, img, path, &job);
    TIFFClose(tif);
    return rc;
}

/* ---- PGM / PPM ---------------------------------------------------------- */

enum { PNM_OK = 0, PNM_EOF = -1, PNM_NOT_NUMBER = -2, PNM_TOO_LARGE = -3 };

static int pnm_is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads a decimal number after whitespace and '#' comments. The character
 * that ends it is consumed if it is whitespace (the single separator before
 * binary data) and stored in *term. */
static int pnm_number(FILE *f, long long *out, int *term)
{
    int c = getc(f);
    while (pnm_is_space(c) || c == '#') {
        if (c == '#')
            while (c != EOF && c != '\n' && c != '\r') c = getc(f);
        c = getc(f);
    }
    if (c == EOF) return PNM_EOF;
    if (c < '0' || c > '9') return PNM_NOT_NUMBER;
    long long v = 0;
    for (; c >= '0' && c <= '9'; c = getc(f)) {
        if (v > 100000000) return PNM_TOO_LARGE;
        v = v * 10 + (c - '0');
    }
    if (c != EOF && !pnm_is_space(c)) ungetc(c, f);
    *out = v;
    if (term) *term = c;
    return PNM_OK;
}

typedef struct {
    FILE *f;
    const char *path;
    const char *kind;       /* "PGM" or "PPM" */
    int binary;
    long long width, height, maxval;
} pnm_header;

static int pnm_read_header(pnm_header *hd)
{
    static const char *const names[] = {"width", "height", "maxval"};
    long long *fields[] = {&hd->width, &hd->height, &hd->maxval};
    int term = 0;
    fseek(hd->f, 2, SEEK_SET);
    for (int i = 0; i < 3; i++) {
        int rc = pnm_number(hd->f, fields[i], &term);
        if (rc == PNM_TOO_LARGE)
            return rm_error("%s: bad %s header: %s is too large", hd->path, hd->kind, names[i]);
        if (rc != PNM_OK)
            return rm_error("%s: bad %s header: expected the %s", hd->path, hd->kind, names[i]);
    }
    RM_TRY(check_size(hd->path, hd->width, hd->height));
    if (hd->maxval < 1 || hd->maxval > 65535)
        return rm_error("%s: bad %s header: maxval %lld is outside 1..65535", hd->path,
                        hd->kind, hd->maxval);
    if (hd->binary && !pnm_is_space(term))
        return rm_error("%s: bad %s header: expected whitespace after maxval", hd->path,
                        hd->kind);
    return 0;
}

static int pnm_sample(const pnm_header *hd, long long v, uint8_t *out)
{
    if (v > hd->maxval)
        return rm_error("%s: %s sample value %lld exceeds maxval %lld", hd->path, hd->kind, v,
                        hd->maxval);
    *out = hd->maxval == 255 ? (uint8_t)v : (uint8_t)((v * 255 + hd->maxval / 2) / hd->maxval);
    return 0;
}

static int pnm_read_ascii(const pnm_header *hd, rm_image *img)
{
    size_t plane = (size_t)img->width * img->height, total = plane * img->channels;
    for (size_t i = 0; i < total; i++) {
        long long v;
        int rc = pnm_number(hd->f, &v, NULL);
        if (rc == PNM_EOF)
            return rm_error("%s: truncated %s data: expected %zu samples, got %zu", hd->path,
                            hd->kind, total, i);
        if (rc != PNM_OK)
            return rm_error("%s: bad %s data: sample %zu is not a number", hd->path, hd->kind, i);
        size_t pixel = i / img->channels, c = i % img->channels;
        RM_TRY(pnm_sample(hd, v, &img->pixels[c * plane + pixel]));
    }
    return 0;
}

static int pnm_read_binary(const pnm_header *hd, rm_image *img, uint8_t *row)
{
    int bytes = hd->maxval > 255 ? 2 : 1, c = img->channels;
    size_t row_bytes = (size_t)img->width * c * bytes, plane = (size_t)img->width * img->height;
    for (int y = 0; y < img->height; y++) {
        size_t got = fread(row, 1, row_bytes, hd->f);
        if (got != row_bytes)
            return rm_error("%s: truncated %s data: expected %zu bytes, got %zu", hd->path,
                            hd->kind, row_bytes * img->height, row_bytes * y + got);
        uint8_t *dst = img->pixels + (size_t)y * img->width;
        for (size_t i = 0; i < (size_t)img->width * c; i++) {
            long long v = bytes == 1 ? row[i] : (row[2 * i] << 8 | row[2 * i + 1]);
            RM_TRY(pnm_sample(hd, v, &dst[(i % c) * plane + i / c]));
        }
    }
    return 0;
}

static int load_pnm(rm_image *img, FILE *f, const char *path, int format_digit)
{
    int color = format_digit == '3' || format_digit == '6';
    pnm_header hd = {.f = f, .path = path, .kind = color ? "PPM" : "PGM",
                     .binary = format_digit == '5' || format_digit == '6'};
    RM_TRY(pnm_read_header(&hd));
    RM_TRY(rm_image_alloc(img, (int)hd.width, (int)hd.height, color ? 3 : 1));
    if (!hd.binary) return pnm_read_ascii(&hd, img);
    uint8_t *row = rm_malloc((size_t)hd.width * img->channels * 2, "PNM row");
    if (!row) return -1;
    int rc = pnm_read_binary(&hd, img, row);
    free(row);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------- */

static int load_by_magic(rm_image *img, FILE *f, const char *path)
{
    unsigned char m[4] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    if (n == 0 && ferror(f)) return rm_error("%s: cannot read: %s", path, strerror(errno));
    if (n == 0) return rm_error("%s: empty file, not a PNG, JPEG, TIFF or PGM/PPM image", path);
    rewind(f);
    if (n >= 4 && !memcmp(m, "\x89PNG", 4)) return load_png(img, f, path);
    if (n >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF) return load_jpeg(img, f, path);
    if (n >= 4 && (!memcmp(m, "II*\0", 4) || !memcmp(m, "MM\0*", 4))) return load_tiff(img, path);
    if (n >= 2 && m[0] == 'P' && m[1] && strchr("2356", m[1]))
        return load_pnm(img, f, path, m[1]);
    return rm_error("%s: not a PNG, JPEG, TIFF or PGM/PPM image", path);
}

int rm_image_load(rm_image *img, const char *path)
{
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (!f) return rm_error("%s: cannot open: %s", path, strerror(errno));
    int rc = load_by_magic(img, f, path);
    fclose(f);
    if (rc != 0) rm_image_free(img);
    return rc;
}

/* ---- PNG writer --------------------------------------------------------- */

typedef struct {
    FILE *f;
    const char *path;
    const rm_image *img;
    uint8_t *row;
    char msg[256];
} png_write_job;

static void png_on_write_error(png_structp png, png_const_charp msg)
{
    png_write_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg);
    png_longjmp(png, 1);
}

static int png_encode(png_structp png, png_infop info, png_write_job *job)
{
    if (setjmp(png_jmpbuf(png)))
        return rm_error("%s: cannot write PNG: %s", job->path, job->msg);
    const rm_image *img = job->img;
    size_t plane = (size_t)img->width * img->height;
    png_init_io(png, job->f);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->height; y++) {
        const uint8_t *src = img->pixels + (size_t)y * img->width;
        if (img->channels == 1) {
            png_write_row(png, src);
            continue;
        }
        for (int x = 0; x < img->width; x++) {
            job->row[3 * x] = src[x];
            job->row[3 * x + 1] = src[plane + x];
            job->row[3 * x + 2] = src[2 * plane + x];
        }
        png_write_row(png, job->row);
    }
    png_write_end(png, info);
    return 0;
}

static int save_png_stream(const rm_image *img, FILE *f, const char *path)
{
    png_write_job job = {.f = f, .path = path, .img = img};
    job.row = rm_malloc((size_t)img->width * 3, "PNG row");
    if (!job.row) return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, png_on_write_error,
                                              png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = info ? png_encode(png, info, &job)
                  : rm_error("%s: out of memory for the PNG encoder", path);
    png_destroy_write_struct(&png, &info);
    free(job.row);
    return rc;
}

static int check_writable_image(const rm_image *img, const char *path)
{
    if (!img->pixels || (img->channels != 1 && img->channels != 3) || img->width <= 0 ||
        img->height <= 0)
        return rm_error("%s: cannot write PNG: invalid image %dx%d with %d channels", path,
                        img->width, img->height, img->channels);
    return 0;
}

int rm_image_write_png(const rm_image *img, const char *path)
{
    RM_TRY(check_writable_image(img, path));
    FILE *f = fopen(path, "wb");
    if (!f) return rm_error("%s: cannot create: %s", path, strerror(errno));
    int rc = save_png_stream(img, f, path);
    if (fclose(f) != 0 && rc == 0) rc = rm_error("%s: cannot write: %s", path, strerror(errno));
    return rc;
}

/* Writes "<path>.tmp" and renames it, so a failure leaves no partial file. */
int rm_image_save_png(const rm_image *img, const char *path)
{
    RM_TRY(check_writable_image(img, path));
    size_t len = strlen(path) + 5;
    char *tmp = rm_malloc(len, "temporary path");
    if (!tmp) return -1;
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int rc = f ? save_png_stream(img, f, path)
               : rm_error("%s: cannot create: %s", tmp, strerror(errno));
    if (f && fclose(f) != 0 && rc == 0)
        rc = rm_error("%s: cannot write: %s", path, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = rm_error("%s: cannot rename %s: %s", path, tmp, strerror(errno));
    if (f && rc != 0) remove(tmp);
    free(tmp);
    return rc;
}
