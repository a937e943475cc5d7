/* Synthetic faces: the embedded default dataset. Grayscale faces rendered
 * from facial action units, with varied identity, pose, lighting, noise and
 * distractors, in several rendering domains; each with its ground-truth
 * expression-region mask. Deterministic: image i depends only on
 * (seed, domain, intensity, size, i). */
#ifndef RELMASK_SYNTH_FACES_H
#define RELMASK_SYNTH_FACES_H

#include <stdint.h>

enum { RM_SYNTH_CLASSES = 7 };
/* neutral, happy, sad, surprise, fear, disgust, anger */
extern const char *const rm_synth_class_names[RM_SYNTH_CLASSES];

typedef enum {
    RM_DOMAIN_SOURCE = 0,   /* "source": studio photos */
    RM_DOMAIN_TARGET = 1,   /* "target": a different camera/style */
    RM_DOMAIN_SKETCH = 2,   /* "sketch": line drawings */
    RM_DOMAIN_COUNT
} rm_synth_domain;
extern const char *const rm_synth_domain_names[RM_DOMAIN_COUNT];
int rm_synth_domain_parse(const char *name, rm_synth_domain *out);

typedef struct {
    int size;               /* width = height, 16..256, default 48 */
    rm_synth_domain domain;
    double intensity;       /* expression strength, (0, 1], default 0.6 */
    uint64_t seed;
} rm_synth_params;

/* Label of image `index`: classes are balanced (index mod 7 after a seeded
 * permutation per block of 7), so any prefix of 7k images has k per class. */
int32_t rm_synth_label(const rm_synth_params *p, uint64_t index);
/* Renders image `index` into image[size*size] and its expression-region
 * mask into region[size*size] (1 inside, 0 outside): where the image's
 * active action units act; for neutral (no action units) the brow, eye and
 * mouth areas, where the absence of deformation is the evidence
 * (docs/synth.md). Thread-safe. Either output may be NULL to skip it. */
void rm_synth_render(const rm_synth_params *p, uint64_t index,
                     uint8_t *image, uint8_t *region);
/* The same image with `label` in place of rm_synth_label(p, index): the same
 * person, pose, lighting, distractors and noise, another expression. For
 * tests and demonstrations. */
void rm_synth_render_with(const rm_synth_params *p, uint64_t index, int32_t label,
                          uint8_t *image, uint8_t *region);
/* 0 if size is 16..256, the domain known and intensity in (0, 1]; else -1
 * with rm_error naming the bad field. */
int rm_synth_params_check(const rm_synth_params *p);

#endif
