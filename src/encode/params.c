/* Encoding settings: names, defaults, range checks and provenance text. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "encode/encode.h"
#include "core/error.h"

const char *const rm_encode_mode_names[RM_ENCODE_MODE_COUNT] = {"mean", "zero", "blur", "negative", "soft",
                                                                "channel", "mask"};
const char *const rm_encode_sign_names[RM_SIGN_COUNT] = {"positive", "absolute", "negative"};
const char *const rm_encode_normalize_names[RM_NORMALIZE_COUNT] = {"max", "sum", "none"};
const char *const rm_encode_fill_names[RM_FILL_COUNT] = {"mean", "zero"};
const char *const rm_encode_channel_names[RM_CHANNEL_COUNT] = {"relevance", "constant", "train-mean"};

/* Largest smoothing or blur sigma, in pixels (the kernel spans 6 sigma). */
#define MAX_SIGMA 64.0

int rm_encode_lookup(const char *const *names, int count, const char *s)
{
    for (int i = 0; i < count; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

void rm_encode_params_defaults(rm_encode_params *p, rm_encode_mode mode)
{
    *p = (rm_encode_params){
        .mode = mode, .sign = RM_SIGN_POSITIVE, .smooth = 1.0, .normalize = RM_NORMALIZE_MAX, .keep = 0.3,
        .threshold = -1, .blur_sigma = 3.0, .fill = mode == RM_ENCODE_NEGATIVE ? RM_FILL_ZERO : RM_FILL_MEAN,
        .floor = 0.2, .channel = RM_CHANNEL_RELEVANCE,
    };
}

int rm_encode_mode_selects(rm_encode_mode mode)
{
    return mode == RM_ENCODE_MEAN || mode == RM_ENCODE_ZERO || mode == RM_ENCODE_BLUR ||
           mode == RM_ENCODE_NEGATIVE || mode == RM_ENCODE_MASK;
}

int rm_encode_needs_mean(const rm_encode_params *p)
{
    return p->mode == RM_ENCODE_MEAN ||
           ((p->mode == RM_ENCODE_NEGATIVE || p->mode == RM_ENCODE_SOFT) && p->fill == RM_FILL_MEAN);
}

int rm_encode_params_check(const rm_encode_params *p)
{
    if ((unsigned)p->mode >= RM_ENCODE_MODE_COUNT) return rm_error("encode: unknown mode %d", (int)p->mode);
    if ((unsigned)p->sign >= RM_SIGN_COUNT) return rm_error("encode: unknown relevance sign %d", (int)p->sign);
    if ((unsigned)p->normalize >= RM_NORMALIZE_COUNT)
        return rm_error("encode: unknown normalization %d", (int)p->normalize);
    if ((unsigned)p->fill >= RM_FILL_COUNT) return rm_error("encode: unknown fill %d", (int)p->fill);
    if (!(p->smooth >= 0 && p->smooth <= MAX_SIGMA))
        return rm_error("encode: smoothing sigma %g outside [0, %g]", p->smooth, MAX_SIGMA);
    if (!(p->keep >= 0 && p->keep <= 1)) return rm_error("encode: keep fraction %g outside [0, 1]", p->keep);
    if (p->tile < 0) return rm_error("encode: tile %d is negative", p->tile);
    if (p->tile > 0 && p->threshold >= 0) return rm_error("encode: a tile applies to --keep, not to a threshold");
    if (!(p->threshold < 0 || isfinite(p->threshold)))
        return rm_error("encode: threshold %g is not a finite number", p->threshold);
    if (!(p->blur_sigma > 0 && p->blur_sigma <= MAX_SIGMA))
        return rm_error("encode: blur sigma %g outside (0, %g]", p->blur_sigma, MAX_SIGMA);
    if (!(p->floor >= 0 && p->floor <= 1)) return rm_error("encode: floor %g outside [0, 1]", p->floor);
    if ((unsigned)p->channel >= RM_CHANNEL_COUNT) return rm_error("encode: unknown channel source %d", (int)p->channel);
    if (p->channel != RM_CHANNEL_RELEVANCE && p->mode != RM_ENCODE_CHANNEL)
        return rm_error("encode: a constant channel applies to mode channel, not %s", rm_encode_mode_names[p->mode]);
    if (p->channel == RM_CHANNEL_CONSTANT && !(p->channel_value >= 0 && p->channel_value <= 1))
        return rm_error("encode: channel constant %g outside [0, 1]", p->channel_value);
    return 0;
}

void rm_encode_params_text(const rm_encode_params *p, char *buf, size_t size)
{
    size_t used = 0;
#define ADD(...)                                                                           \
    do {                                                                                   \
        int n_ = snprintf(buf + used, used < size ? size - used : 0, __VA_ARGS__);        \
        if (n_ > 0) used += (size_t)n_;                                                    \
    } while (0)
    if (size) buf[0] = 0;
    ADD("mode=%s\n", rm_encode_mode_names[p->mode]);
    ADD("relevance_sign=%s\n", rm_encode_sign_names[p->sign]);
    ADD("smooth=%.9g\n", p->smooth);
    ADD("normalize=%s\n", rm_encode_normalize_names[p->normalize]);
    if (rm_encode_mode_selects(p->mode)) {
        if (p->threshold >= 0) ADD("threshold=%.9g\n", p->threshold);
        else ADD("keep=%.9g\n", p->keep);
        if (p->tile > 0) ADD("tile=%d\n", p->tile);
    }
    if (p->mode == RM_ENCODE_BLUR) ADD("blur_sigma=%.9g\n", p->blur_sigma);
    if (p->mode == RM_ENCODE_NEGATIVE || p->mode == RM_ENCODE_SOFT) ADD("fill=%s\n", rm_encode_fill_names[p->fill]);
    if (p->mode == RM_ENCODE_SOFT) ADD("floor=%.9g\n", p->floor);
    if (p->mode == RM_ENCODE_CHANNEL) ADD("channel=%s\n", rm_encode_channel_names[p->channel]);
    if (p->mode == RM_ENCODE_CHANNEL && p->channel == RM_CHANNEL_CONSTANT) ADD("channel_value=%.9g\n", p->channel_value);
#undef ADD
}
