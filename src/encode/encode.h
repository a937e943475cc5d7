/* relmask encode: relevance-based data masking (docs/encode.md). Each
 * record's relevance map is post-processed (sign, Gaussian smoothing,
 * normalization to rn in [0,1]), a set of pixels is selected (the top
 * --keep fraction or rn >= --threshold), and the image is encoded:
 *   mean      selected pixels kept, the rest = the train split's mean
 *   zero      selected pixels kept, the rest = 0
 *   blur      selected pixels kept, the rest = a Gaussian-blurred copy
 *   negative  selected (most relevant) pixels = fill (0, or the mean)
 *   soft      x' = fill + (x - fill) (floor + (1 - floor) rn)
 *   mask      the selection alone, no image content: selected 255, the
 *             rest 0 in every channel (the mask-only control)
 *   channel   rn appended as an extra uint8 channel (round(255 rn)), or
 *             a constant plane (a given value, or the train split's mean
 *             relevance byte) to evaluate a channel model without relevance
 * Every value is rounded half up (floor(v + 0.5)) and clamped to 0..255.
 *
 * The per-image work (rm_encoder) is pure and thread-safe; rm_encode (the
 * stage, relmask encode) streams a dataset and a relevance file into an
 * encoded dataset. */
#ifndef RELMASK_ENCODE_H
#define RELMASK_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/dataset.h"

typedef enum {
    RM_ENCODE_MEAN, RM_ENCODE_ZERO, RM_ENCODE_BLUR, RM_ENCODE_NEGATIVE, RM_ENCODE_SOFT, RM_ENCODE_CHANNEL,
    RM_ENCODE_MASK, RM_ENCODE_MODE_COUNT
} rm_encode_mode;
typedef enum { RM_SIGN_POSITIVE, RM_SIGN_ABSOLUTE, RM_SIGN_NEGATIVE, RM_SIGN_COUNT } rm_encode_sign;
typedef enum { RM_NORMALIZE_MAX, RM_NORMALIZE_SUM, RM_NORMALIZE_NONE, RM_NORMALIZE_COUNT } rm_encode_normalize;
typedef enum { RM_FILL_MEAN, RM_FILL_ZERO, RM_FILL_COUNT } rm_encode_fill;
/* What channel mode appends: the relevance, a constant, or the mean byte
 * of the relevance plane over the train split's explained records. */
typedef enum { RM_CHANNEL_RELEVANCE, RM_CHANNEL_CONSTANT, RM_CHANNEL_TRAIN_MEAN, RM_CHANNEL_COUNT } rm_encode_channel;

extern const char *const rm_encode_mode_names[RM_ENCODE_MODE_COUNT];
extern const char *const rm_encode_sign_names[RM_SIGN_COUNT];
extern const char *const rm_encode_normalize_names[RM_NORMALIZE_COUNT];
extern const char *const rm_encode_fill_names[RM_FILL_COUNT];
extern const char *const rm_encode_channel_names[RM_CHANNEL_COUNT];
/* The index of `s` in names[0..count), or -1. */
int rm_encode_lookup(const char *const *names, int count, const char *s);

typedef struct {
    rm_encode_mode mode;
    rm_encode_sign sign;            /* positive max(r,0), absolute |r|, negative max(-r,0) */
    double smooth;                  /* Gaussian sigma in pixels; 0 = none */
    rm_encode_normalize normalize;  /* max: r / max r; sum: r / sum r; none */
    double keep;                    /* select the top fraction (when threshold < 0) */
    double threshold;               /* select rn >= threshold; < 0: use keep */
    int tile;                       /* keep applies within each tile x tile square; 0 = the whole image */
    double blur_sigma;              /* blur: sigma of the replacement copy */
    rm_encode_fill fill;            /* negative and soft: the fill value */
    double floor;                   /* soft: weight of the least relevant pixel */
    rm_encode_channel channel;      /* channel: what the extra plane holds */
    double channel_value;           /* channel constant: the value in [0, 1] */
} rm_encode_params;

/* The documented defaults for a mode: positive, smooth 1, max, keep 0.3,
 * blur sigma 3, fill zero for negative and mean for soft, floor 0.2. */
void rm_encode_params_defaults(rm_encode_params *p, rm_encode_mode mode);
/* Checks ranges; rm_error names the setting. */
int rm_encode_params_check(const rm_encode_params *p);
/* Whether the mode selects pixels (mean, zero, blur, negative, mask). */
int rm_encode_mode_selects(rm_encode_mode mode);
/* Whether the train split's mean is needed (mean; negative or soft with fill mean). */
int rm_encode_needs_mean(const rm_encode_params *p);
/* "key=value" lines of every setting the mode uses (for provenance). */
void rm_encode_params_text(const rm_encode_params *p, char *buf, size_t size);

/* --- Gaussian filtering (postprocess.c) ---------------------------------*/
/* radius = ceil(3 sigma) (0 for sigma 0); taps[2 radius + 1] hold
 * exp(-k^2 / (2 sigma^2)), k = -radius..radius, divided by their sum. */
int rm_gauss_radius(double sigma);
void rm_gauss_taps(double sigma, int radius, float *taps);
/* out = separable filter of in [h,w] (rows, then columns) with the taps,
 * coordinates clamped to the edge; tmp is [h,w] scratch. */
void rm_gauss_filter(const float *in, float *out, float *tmp, int h, int w, const float *taps, int radius);

/* --- one image (encoder.c) ----------------------------------------------*/
typedef struct {
    rm_encode_params p;
    int channels, height, width, out_channels;
    double fill[RM_DATASET_MAX_CHANNELS];      /* soft's fill, per channel */
    uint8_t fill_u8[RM_DATASET_MAX_CHANNELS];  /* mean and negative's fill, rounded */
    uint8_t channel_u8;                        /* channel constant / train mean: the plane's byte */
    float *smooth_taps, *blur_taps;
    int smooth_radius, blur_radius;
    size_t scratch_bytes;                      /* per thread, for rm_encoder_apply */
} rm_encoder;

typedef struct {
    int64_t selected;      /* pixels selected (selecting modes) */
    int empty;             /* the processed map was all zero */
    int64_t bad_pixel;     /* the first non-finite relevance value, or -1 */
} rm_encode_info;

/* train_mean [channels], 0..255 scale: needed when rm_encode_needs_mean. */
int rm_encoder_init(rm_encoder *e, const rm_encode_params *p, int channels, int height, int width,
                    const double *train_mean);
void rm_encoder_free(rm_encoder *e);
/* heat [H,W] -> rn [H,W]: sign, smoothing, normalization. scratch holds
 * at least rm_encoder.scratch_bytes. Returns -1 (info->bad_pixel set) on
 * a non-finite value. */
int rm_encoder_relevance(const rm_encoder *e, const float *heat, float *rn, void *scratch, rm_encode_info *info);
/* mask[H*W] = 1 for the selected pixels of rn: the top round(keep H W)
 * pixels with rn > 0 (larger rn first, then lower index), or every pixel
 * with rn > 0 and rn >= threshold. With a tile, the top round(keep A)
 * pixels of each tile of area A (tiles from the top-left corner; those at
 * the right and bottom edges may be smaller). Returns the count. */
int64_t rm_encoder_select(const rm_encoder *e, const float *rn, uint8_t *mask, void *scratch);
/* The byte channel mode appends for rn: round(255 min(rn, 1)). */
uint8_t rm_encoder_channel_byte(float rn);
/* Whether channel mode appends a constant plane (channel_u8), which needs
 * no relevance; for RM_CHANNEL_TRAIN_MEAN the caller sets channel_u8. */
int rm_encoder_constant_channel(const rm_encoder *e);
/* Encodes image [C,H,W] into out [out_channels,H,W]. heat NULL (record
 * without relevance): out is the image unchanged (channel mode: a zero
 * relevance plane; mask mode: all 0, it never shows image content). A constant channel ignores heat. Returns -1 on a
 * non-finite relevance value. */
int rm_encoder_apply(const rm_encoder *e, const uint8_t *image, const float *heat, uint8_t *out, void *scratch,
                     rm_encode_info *info);

/* --- files (encode.c) ---------------------------------------------------*/
typedef struct {
    const char *data_path, *relevance_path, *out_path;
    rm_encode_params params;
    int only_explained;     /* write only records with relevance */
    int shuffle_masks;      /* replace each record's relevance by another record's of the
                               same split and class (rm_encode_shuffle_map) */
    uint64_t shuffle_seed;
    int force;
    int deflate_level;
    const char *command_line;
} rm_encode_config;

typedef struct {
    int64_t written, encoded, unencoded, empty;
    double seconds;
} rm_encode_summary;

/* --shuffle-masks: map[i] (the relevance entry of record i, or -1) is
 * replaced by the entry of another record of the same (split, label)
 * group among the records that have one: within each group, in record
 * order, a seeded random cyclic permutation (Sattolo's algorithm), so no
 * record of a group of two or more keeps its own map; a group of one keeps
 * it. Deterministic for a seed. order [n] is scratch. */
void rm_encode_shuffle_map(int64_t *map, int64_t *order, size_t n, const int32_t *labels, const uint8_t *split,
                           uint64_t seed);

/* No paths; mode mean with its defaults, deflate level 4. */
void rm_encode_config_defaults(rm_encode_config *cfg);
/* The stage: reads cfg->data_path and cfg->relevance_path, checks they
 * belong together, and writes the encoded dataset atomically. */
int rm_encode(const rm_encode_config *cfg);
/* rm_encode that also reports what it wrote; summary may be NULL. */
int rm_encode_file(const rm_encode_config *cfg, rm_encode_summary *summary);

#endif
