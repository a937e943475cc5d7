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

/* rm_image_convert prepared once for many images of one shape (a model
 * run over a dataset at another input size: eval/predict/relevance
 * --resize). Behind it is a linear map M from the source grid to the
 * destination grid: the resampling weights over their denominators times
 * the channel conversion (gray -> RGB: the plane three times; RGB -> gray:
 * 0.299, 0.587, 0.114); every row of M sums to 1. */
typedef struct rm_image_resizer rm_image_resizer;

/* Channels 1 or 3, sides 1..RM_IMAGE_MAX_SIDE; all buffers are allocated
 * here, none later. */
int rm_image_resizer_create(rm_image_resizer **out, int src_channels, int src_height, int src_width,
                            int dst_channels, int dst_height, int dst_width);
/* One image [C,H,W] into dst: the bytes rm_image_convert writes (M x with
 * its roundings). Uses the resizer's scratch: one thread at a time. */
void rm_image_resizer_apply(rm_image_resizer *r, const uint8_t *src, uint8_t *dst);
/* M x on floats (pixel units 0..255 or any other), in double and rounded
 * once per value to float, without the byte path's roundings: the RGB ->
 * gray weights are exact and nothing is rounded to an integer. Linear in
 * x, so a constant image stays that constant (relevance-eval --resize
 * converts perturbed images whose baselines are not whole bytes). Uses
 * the scratch: one thread at a time. */
void rm_image_resizer_apply_float(rm_image_resizer *r, const float *src, float *dst);
/* The adjoint: a destination-shaped array of floats (relevance on the
 * model's grid) into a source-shaped one, out = M^T in, accumulated in
 * double and rounded once per value. Since M's rows sum to 1 the sum of
 * out equals the sum of in. Uses the scratch: one thread at a time. */
void rm_image_resizer_adjoint(rm_image_resizer *r, const float *in, float *out);
void rm_image_resizer_destroy(rm_image_resizer *r);

#endif
