/* One image through one encoding mode (docs/encode.md has the formulas).
 * Pixels are computed in double precision from the uint8 input and the
 * processed relevance rn, then rounded half up and clamped to 0..255. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"
#include "core/error.h"
#include "encode/scratch.h"

static inline uint8_t to_u8(double v)
{
    if (!(v > 0)) return 0;            /* also NaN, which cannot arise */
    if (v >= 255) return 255;
    return (uint8_t)floor(v + 0.5);
}

static int make_taps(double sigma, float **taps, int *radius)
{
    *radius = rm_gauss_radius(sigma);
    *taps = rm_malloc((size_t)(2 * *radius + 1) * sizeof **taps, "Gaussian taps");
    if (!*taps) return -1;
    rm_gauss_taps(sigma, *radius, *taps);
    return 0;
}

int rm_encoder_init(rm_encoder *e, const rm_encode_params *p, int channels, int height, int width,
                    const double *train_mean)
{
    memset(e, 0, sizeof *e);
    RM_TRY(rm_encode_params_check(p));
    if (channels < 1 || height < 1 || width < 1 || (size_t)height * (size_t)width > INT32_MAX)
        return rm_error("encode: image shape %dx%dx%d not supported", channels, height, width);
    int out_channels = p->mode == RM_ENCODE_CHANNEL ? channels + 1 : channels;
    if (out_channels > RM_DATASET_MAX_CHANNELS)
        return rm_error("encode: %d channels in, %d out; a dataset holds at most %d (does the data already "
                        "carry a relevance channel?)",
                        channels, out_channels, RM_DATASET_MAX_CHANNELS);
    if (rm_encode_needs_mean(p) && !train_mean) return rm_error("encode: mode %s needs the train split's mean",
                                                               rm_encode_mode_names[p->mode]);
    e->p = *p;
    e->channels = channels;
    e->height = height;
    e->width = width;
    e->out_channels = out_channels;
    for (int c = 0; c < channels; c++) {
        double fill = 0;
        if (train_mean && (p->mode == RM_ENCODE_MEAN || p->fill == RM_FILL_MEAN)) fill = train_mean[c];
        e->fill[c] = fill;
        e->fill_u8[c] = to_u8(fill);
    }
    if (p->mode == RM_ENCODE_CHANNEL && p->channel == RM_CHANNEL_CONSTANT) e->channel_u8 = to_u8(255.0 * p->channel_value);
    if (make_taps(p->smooth, &e->smooth_taps, &e->smooth_radius) != 0 ||
        make_taps(p->blur_sigma, &e->blur_taps, &e->blur_radius) != 0) {
        rm_encoder_free(e);
        return -1;
    }
    /* Whole cache lines per thread, so threads never share one. */
    e->scratch_bytes = (rm_encode_scratch_size((size_t)height * width) + 63) & ~(size_t)63;
    return 0;
}

void rm_encoder_free(rm_encoder *e)
{
    free(e->smooth_taps);
    free(e->blur_taps);
    e->smooth_taps = e->blur_taps = NULL;
}

/* mean, zero, blur: selected pixels keep their value, the others get the
 * replacement; negative: the selected pixels get the fill; mask: 255 for
 * the selected pixels, 0 elsewhere, whatever the image. */
static void apply_selection(const rm_encoder *e, const uint8_t *image, const uint8_t *mask, uint8_t *out,
                            rm_encode_scratch *s)
{
    const size_t hw = (size_t)e->height * e->width;
    for (int c = 0; c < e->channels; c++) {
        const uint8_t *x = image + c * hw;
        uint8_t *o = out + c * hw;
        switch (e->p.mode) {
        case RM_ENCODE_MEAN:
        case RM_ENCODE_ZERO: {
            uint8_t fill = e->p.mode == RM_ENCODE_MEAN ? e->fill_u8[c] : 0;
            for (size_t i = 0; i < hw; i++) o[i] = mask[i] ? x[i] : fill;
            break;
        }
        case RM_ENCODE_NEGATIVE:
            for (size_t i = 0; i < hw; i++) o[i] = mask[i] ? e->fill_u8[c] : x[i];
            break;
        case RM_ENCODE_MASK:
            for (size_t i = 0; i < hw; i++) o[i] = mask[i] ? 255 : 0;
            break;
        default: {   /* blur */
            for (size_t i = 0; i < hw; i++) s->a[i] = x[i];
            rm_gauss_filter(s->a, s->c, s->b, e->height, e->width, e->blur_taps, e->blur_radius);
            for (size_t i = 0; i < hw; i++) o[i] = mask[i] ? x[i] : to_u8(s->c[i]);
            break;
        }
        }
    }
}

uint8_t rm_encoder_channel_byte(float rn)
{
    return to_u8(255.0 * (rn < 1 ? rn : 1));
}

int rm_encoder_constant_channel(const rm_encoder *e)
{
    return e->p.mode == RM_ENCODE_CHANNEL && e->p.channel != RM_CHANNEL_RELEVANCE;
}

int rm_encoder_apply(const rm_encoder *e, const uint8_t *image, const float *heat, uint8_t *out, void *scratch,
                     rm_encode_info *info)
{
    const size_t hw = (size_t)e->height * e->width;
    info->selected = 0;
    info->empty = 0;
    info->bad_pixel = -1;
    if (rm_encoder_constant_channel(e)) {
        memcpy(out, image, (size_t)e->channels * hw);
        memset(out + (size_t)e->channels * hw, e->channel_u8, hw);
        return 0;
    }
    if (!heat && e->p.mode == RM_ENCODE_MASK) {
        memset(out, 0, (size_t)e->out_channels * hw);
        return 0;
    }
    if (!heat) {
        memcpy(out, image, (size_t)e->channels * hw);
        if (e->out_channels > e->channels) memset(out + (size_t)e->channels * hw, 0, hw);
        return 0;
    }
    rm_encode_scratch s = rm_encode_scratch_split(scratch, hw);
    RM_TRY(rm_encoder_relevance(e, heat, s.rn, scratch, info));
    if (rm_encode_mode_selects(e->p.mode)) {
        info->selected = rm_encoder_select(e, s.rn, s.mask, scratch);
        apply_selection(e, image, s.mask, out, &s);
    } else if (e->p.mode == RM_ENCODE_SOFT) {
        const double floor_w = e->p.floor;
        for (int c = 0; c < e->channels; c++) {
            const uint8_t *x = image + c * hw;
            uint8_t *o = out + c * hw;
            const double fill = e->fill[c];
            for (size_t i = 0; i < hw; i++) {
                double r = s.rn[i] < 1 ? s.rn[i] : 1;
                o[i] = to_u8(fill + (x[i] - fill) * (floor_w + (1 - floor_w) * r));
            }
        }
    } else {   /* channel */
        memcpy(out, image, (size_t)e->channels * hw);
        uint8_t *o = out + (size_t)e->channels * hw;
        for (size_t i = 0; i < hw; i++) o[i] = rm_encoder_channel_byte(s.rn[i]);
    }
    return 0;
}
