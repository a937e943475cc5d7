/* The input normalization of 8-bit pixels, x' = (x/255 - mean[c]) / std[c]
 * per channel (a model's norm_mean and norm_std): the one place its float
 * constants are made, for training, prediction and relevance alike. */
#ifndef RELMASK_PIXELS_H
#define RELMASK_PIXELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/dataset.h"

typedef struct {
    int channels;
    float lut[RM_DATASET_MAX_CHANNELS][256];   /* the normalized value of each byte */
    float scale[RM_DATASET_MAX_CHANNELS];      /* x * scale + bias for any x in [0, 255] */
    float bias[RM_DATASET_MAX_CHANNELS];
} rm_pixel_norm;

/* mean NULL: 0 for every channel, std NULL: 1; the caller has checked
 * std > 0. Fails for channels outside 1..RM_DATASET_MAX_CHANNELS. */
int rm_pixel_norm_init(rm_pixel_norm *pn, int channels, const float *mean, const float *std);
/* One image [C, plane] of bytes into floats through the table: each value
 * is the formula in double precision, rounded once. */
void rm_pixel_norm_image(const rm_pixel_norm *pn, const uint8_t *src, float *dst, size_t plane);
/* The same as x * scale + bias in float arithmetic, which can differ from
 * the table in the last bit: the LRP input of relmask relevance, whose
 * files keep the values they always had. */
void rm_pixel_norm_image_affine(const rm_pixel_norm *pn, const uint8_t *src, float *dst, size_t plane);

#endif
