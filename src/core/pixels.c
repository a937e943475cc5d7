/* Pixel normalization (pixels.h). */
#include "core/pixels.h"

#include "core/error.h"

int rm_pixel_norm_init(rm_pixel_norm *pn, int channels, const float *mean, const float *std)
{
    if (channels < 1 || channels > RM_DATASET_MAX_CHANNELS)
        return rm_error("pixel normalization of %d channels, expected 1..%d", channels, RM_DATASET_MAX_CHANNELS);
    pn->channels = channels;
    for (int c = 0; c < channels; c++) {
        double m = mean ? mean[c] : 0.0, s = std ? std[c] : 1.0;
        for (int v = 0; v < 256; v++) pn->lut[c][v] = (float)(((double)v / 255.0 - m) / s);
        pn->scale[c] = (float)(1.0 / (255.0 * s));
        pn->bias[c] = (float)(-m / s);
    }
    return 0;
}

void rm_pixel_norm_image(const rm_pixel_norm *pn, const uint8_t *src, float *dst, size_t plane)
{
    for (int c = 0; c < pn->channels; c++) {
        const float *lut = pn->lut[c];
        const uint8_t *s = src + (size_t)c * plane;
        float *d = dst + (size_t)c * plane;
        for (size_t p = 0; p < plane; p++) d[p] = lut[s[p]];
    }
}

void rm_pixel_norm_image_affine(const rm_pixel_norm *pn, const uint8_t *src, float *dst, size_t plane)
{
    for (int c = 0; c < pn->channels; c++) {
        const float scale = pn->scale[c], bias = pn->bias[c];
        const uint8_t *s = src + (size_t)c * plane;
        float *d = dst + (size_t)c * plane;
        for (size_t p = 0; p < plane; p++) d[p] = (float)s[p] * scale + bias;
    }
}
