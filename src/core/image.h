/* 8-bit images in planar layout (C planes of H rows of W pixels), the
 * layout of the dataset schema's /images [N,C,H,W]. */
#ifndef RELMASK_IMAGE_H
#define RELMASK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width, height, channels;   /* channels: 1 (gray) or 3 (RGB) */
    uint8_t *pixels;               /* [channels][height][width], owned */
} rm_image;

/* Largest width or height accepted from any file header; larger values are
 * reported as errors instead of being allocated. */
#define RM_IMAGE_MAX_SIDE 16384

/* Loads PNG, JPEG, TIFF or PGM/PPM (P2/P5/P3/P6), chosen by the file's
 * magic bytes, not its name. On failure returns -1 with an error naming
 * the file and what was wrong (truncated, unsupported depth, ...).
 * The result has the file's own channel count (gray -> 1, else 3; alpha
 * is dropped). */
int rm_image_load(rm_image *img, const char *path);
/* Writes an 8-bit PNG (gray or RGB). */
int rm_image_save_png(const rm_image *img, const char *path);
/* Writes the PNG straight to `path`, for callers that manage their own
 * temporary file (rm_output_begin / rm_output_commit). */
int rm_image_write_png(const rm_image *img, const char *path);

/* Allocates pixels for the given shape (zeroed). */
int rm_image_alloc(rm_image *img, int width, int height, int channels);
void rm_image_free(rm_image *img);

/* Converts src to `channels` (1: ITU-R BT.601 luma, rounded; 3: gray
 * replicated) and resamples to width x height into dst, which must be
 * allocated with that shape. Downscaling averages the exact source area
 * under each destination pixel; upscaling is bilinear (pixel centres
 * aligned). Identical shapes copy bytes exactly. */
int rm_image_convert(const rm_image *src, rm_image *dst);

#endif
