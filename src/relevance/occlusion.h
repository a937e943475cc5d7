/* Model-agnostic relevance by occlusion. A square patch of a baseline
 * colour slides over the image; the relevance of a pixel is the mean, over
 * the patches covering it, of the drop in the explained class's probability
 * p_t(original) - p_t(occluded). Positive relevance is evidence for the
 * class. Occlusion needs only class probabilities, so the knowledge source
 * can be any model: a relmask model run in-process, or an external program
 * given as a shell command that exchanges NPY files with relmask
 * (docs/relevance.md, "External models (--predict-cmd)"). */
#ifndef RELMASK_OCCLUSION_H
#define RELMASK_OCCLUSION_H

#include <stdint.h>

#include "nn/model_file.h"

/* --- predictors: raw images in, class probabilities out ------------------ */

typedef struct rm_predictor rm_predictor;

/* images [n,C,H,W] raw pixels 0..255 (C order) -> probs [n,K], rows
 * non-negative summing to 1. Any n >= 0. */
int rm_predictor_run(rm_predictor *p, const uint8_t *images, int n, float *probs);
/* The input shape and class count the predictor was made for. */
void rm_predictor_shape(const rm_predictor *p, int *channels, int *height, int *width, int *num_classes);
void rm_predictor_destroy(rm_predictor *p);

/* A relmask model run in-process: an RM_MODE_INFER network for `batch`
 * images (n is handled by looping over batches), the model's normalization
 * x' = (x/255 - mean[c]) / std[c], softmax of the logits (in double
 * precision after subtracting the row maximum). Everything is allocated
 * here; the model must outlive the predictor. */
int rm_predictor_from_model(rm_predictor **p, const rm_model *model, int batch);

/* Images of another shape for `inner` (--resize): each is converted to
 * inner's input as rm_image_convert does (core/image.h), `batch` at a time
 * into a buffer allocated here. Takes inner over: destroying the result
 * destroys it, on failure too. */
int rm_predictor_resized(rm_predictor **p, rm_predictor *inner, int channels, int height, int width, int batch);

/* An external model: each run writes the images as an NPY uint8 [n,C,H,W]
 * file in a private directory made with mkdtemp under $TMPDIR (or /tmp),
 * runs `cmd` through /bin/sh -c with every "{in}" and "{out}" replaced by
 * the shell-quoted input and output paths (if neither appears, the two
 * paths are appended as arguments), waits for it and reads {out}: an NPY
 * float32 or float64 array [n,K] of probabilities (rows non-negative,
 * summing to 1 within 1e-3). The command's standard output goes to
 * relmask's standard error. Errors name the command; the directory and
 * everything in it are removed after every run, successful or not. */
int rm_predictor_from_command(rm_predictor **p, const char *cmd, int channels, int height, int width,
                              int num_classes);

/* --- occlusion ----------------------------------------------------------- */

typedef struct {
    int patch;                 /* side of the square patch in pixels (8); clipped to the image */
    int stride;                /* step between patch positions, 1..patch (4) */
    double baseline;           /* pixel value 0..255 filling the patch (0) */
    const float *baseline_mean;/* [C] per-channel fill values 0..255 (e.g. the dataset
                                  mean, rounded to the nearest integer); overrides
                                  `baseline` when not NULL; must outlive the context */
    int max_batch;             /* images (originals and occluded) per predictor call (4096) */
} rm_occlusion_config;

void rm_occlusion_config_defaults(rm_occlusion_config *cfg);

/* Patch positions along one side of `size` pixels: 0, stride, 2 stride, ...
 * while the patch fits, plus a last one aligned to the far edge when the
 * steps leave pixels uncovered. Writes at most `cap` starts into `starts`
 * (may be NULL) and returns the count. `patch` is clipped to `size`. */
int rm_occlusion_positions(int size, int patch, int stride, int *starts, int cap);

typedef struct rm_occlusion rm_occlusion;

/* A context for one predictor and image shape: the occluded batch
 * [max_batch,C,H,W], its probabilities and the patch table are allocated
 * here, once. The predictor must outlive the context. */
int rm_occlusion_create(rm_occlusion **occ, rm_predictor *p, const rm_occlusion_config *cfg, int channels,
                        int height, int width);
/* Occluded images per input image (patch positions along y times x). */
int rm_occlusion_patches(const rm_occlusion *occ);
/* Explains n images [n,C,H,W]: heat [n,H,W] as above for class target[i]
 * (the predicted class when target is NULL or target[i] < 0); explained[i]
 * the class explained, score[i] its probability on the original image,
 * predicted[i] the argmax of the original's probabilities (first maximum).
 * explained, score and predicted may be NULL. The original images are
 * scored in the same predictor calls as the occluded ones, and results are
 * accumulated in a fixed order: the heatmaps do not depend on max_batch
 * beyond the predictor's own batch effects (an image's probabilities
 * depending on its neighbours in a call). */
int rm_occlusion_explain(rm_occlusion *occ, const uint8_t *images, int n, const int32_t *target, float *heat,
                         int32_t *explained, float *score, int32_t *predicted);
void rm_occlusion_destroy(rm_occlusion *occ);

/* One call: create, explain, destroy. */
int rm_occlusion_run(rm_predictor *p, const rm_occlusion_config *cfg, const uint8_t *images, int n, int C, int H,
                     int W, const int32_t *target, float *heat, int32_t *explained, float *score,
                     int32_t *predicted);

#endif
