/* Quality metrics of relevance maps (docs/relevance.md, "Quality metrics
 * (relevance-eval)"):
 *
 * Region perturbation (Samek et al. 2017, "Evaluating the visualization of
 * what a deep neural network has learned"): the non-overlapping r x r
 * regions of each image are replaced by a baseline, most relevant first, in
 * `steps` equal steps up to `fraction` of the regions; the model's score of
 * the explained class (logit and softmax probability) is recorded after each
 * step. AOPC = mean over steps k = 1..L of f(x) - f(x_k), averaged over
 * images, for the relevance ordering and for seeded random orderings.
 *
 * Ground-truth regions (synthetic faces' /regions): the share of positive
 * (and absolute) relevance inside the region against the region's area, and
 * the pointing game (is the most relevant pixel inside?) against the share of
 * pixels that would hit. */
#ifndef RELMASK_QUALITY_H
#define RELMASK_QUALITY_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    RM_BASELINE_MEAN = 0,   /* the train split's mean pixel, per channel */
    RM_BASELINE_ZERO,       /* pixel value 0 (black) */
    RM_BASELINE_BLUR,       /* a Gaussian-blurred copy of the image */
    RM_BASELINE_UNIFORM,    /* uniform noise in [0, 255), seeded per record */
    RM_BASELINE_COUNT
} rm_baseline_kind;

extern const char *const rm_baseline_names[RM_BASELINE_COUNT];
int rm_baseline_parse(const char *name, rm_baseline_kind *kind);

/* Running mean and variance (Welford), for means with a standard error. */
typedef struct {
    int64_t n;
    double mean, m2;
} rm_running;

void rm_running_add(rm_running *s, double x);
/* Mean; NaN when empty. */
double rm_running_mean(const rm_running *s);
/* Standard error of the mean, sd / sqrt(n) with the n-1 sample sd; NaN when
 * n < 2. */
double rm_running_sem(const rm_running *s);

/* --- ground-truth regions (one image) --------------------------------------*/
typedef struct {
    double area;             /* region pixels / image pixels: chance of the mass */
    double pointing_chance;  /* pixels within the tolerance of the region / image pixels */
    double mass_pos;         /* sum of r+ inside / sum of r+; NaN when no r > 0 */
    double mass_abs;         /* the same with |r|; NaN when r is all zero */
    double hit_pos;          /* pointing game on r: the share of the pixels of maximum
                              * r (ties) within the tolerance of the region, 0..1 */
    double hit_abs;          /* the same on |r| */
} rm_region_score;

/* Scores heatmap [H,W] against region [H,W] (nonzero = inside). A pixel hits
 * when a region pixel lies within Euclidean distance `tolerance` (0: the
 * pixel itself is inside). dilated: scratch [H*W]. */
void rm_region_score_image(const float *heat, const uint8_t *region, int height, int width, int tolerance,
                           uint8_t *dilated, rm_region_score *out);

/* --- region perturbation ---------------------------------------------------*/

/* Regions of size x size covering an HxW image (the last row and column of
 * regions are smaller when size does not divide H or W). */
int rm_tile_count(int height, int width, int size);
/* Regions replaced after step k of `steps` when `perturbed` regions are
 * replaced at the last step: round(k * perturbed / steps). */
int rm_perturb_regions_at(int k, int steps, int perturbed);

typedef struct {
    const char *relevance_path, *data_path;
    const char *model_path;  /* NULL: no perturbation metrics */
    int steps;               /* L >= 1 */
    int region;              /* region size r >= 1 (1: pixel flipping) */
    double fraction;         /* share of the regions replaced at step L, (0, 1] */
    rm_baseline_kind baseline;
    double blur_sigma;       /* px, for RM_BASELINE_BLUR */
    int random_orders;       /* >= 1 */
    uint64_t seed;           /* random orders and uniform noise */
    int64_t max_images;      /* the first N records of the relevance file; 0: all */
    int pointing_tolerance;  /* px */
    int batch;               /* images x passes per forward (a target; at least one image) */
    int resize;              /* a model at another input size or channel count: the perturbed images are
                              * converted to it (--resize; regions, orders and baselines stay the data's) */
} rm_quality_config;

void rm_quality_config_defaults(rm_quality_config *cfg);

enum { RM_SCORE_LOGIT = 0, RM_SCORE_PROBABILITY = 1, RM_SCORE_KINDS = 2 };
extern const char *const rm_score_kind_names[RM_SCORE_KINDS];

/* Per-image statistics of one score kind. */
typedef struct {
    rm_running score;           /* f(x), the unperturbed score */
    rm_running aopc_relevance;  /* mean_k f(x) - f(x_k), relevance order */
    rm_running aopc_random;     /* the same, averaged over the random orders */
    rm_running difference;      /* aopc_relevance - aopc_random, per image */
} rm_aopc_stats;

typedef struct {
    int64_t count;
    rm_running area, pointing_chance;
    rm_running mass_pos, mass_abs, hit_pos, hit_abs;
} rm_region_stats;

enum { RM_QUALITY_MAX_NOTES = 8 };

/* One evaluated record, in relevance-file order (rm_quality_result.records):
 * its own metrics, and where it came from. */
typedef struct {
    int64_t entry, index;     /* entry of the relevance file; record of the dataset (/index) */
    int32_t label;            /* the dataset's label */
    int32_t explained;        /* the class scored: /explained, or the model's prediction where
                               * that is -1 (with perturbation); else /explained as stored */
    /* perturbation, per score kind; NaN without it */
    double score[RM_SCORE_KINDS];            /* f(x) */
    double aopc_relevance[RM_SCORE_KINDS];   /* mean_k f(x) - f(x_k), relevance order */
    double aopc_random[RM_SCORE_KINDS];      /* the same, averaged over the random orders */
    rm_region_score region;   /* ground-truth regions; all NaN without them */
    char *source;             /* the dataset's /source of the record; NULL when the dataset has none */
} rm_quality_record;

typedef struct {
    int64_t relevance_count, dataset_count, evaluated;
    int channels, height, width;
    int num_classes;
    char **class_names;
    char *relevance_method, *relevance_parameters, *relevance_model;   /* NULL when absent */
    /* perturbation (has_perturbation) */
    int has_perturbation;
    int tiles, tiles_perturbed, passes_per_image, images_per_batch;
    char resize[64];                       /* "3x64x64 from 1x48x48" when the images were converted, else "" */
    int *regions_at;                       /* [steps+1] */
    double baseline_pixel[4];              /* RM_BASELINE_MEAN: per channel, 0..255 */
    int64_t explained_by_model;            /* records with /explained = -1 */
    rm_aopc_stats aopc[RM_SCORE_KINDS];
    rm_running *curve_relevance[RM_SCORE_KINDS];  /* [steps+1]: f(x_k), k = 0..L */
    rm_running *curve_random[RM_SCORE_KINDS];     /* [steps+1]: mean over the random orders */
    rm_aopc_stats *class_aopc;             /* [num_classes * RM_SCORE_KINDS], by true label */
    int64_t *class_count;                  /* [num_classes] evaluated records per label */
    /* ground-truth regions (has_regions) */
    int has_regions;
    rm_region_stats regions;
    rm_region_stats *class_regions;        /* [num_classes], by true label */
    char *notes[RM_QUALITY_MAX_NOTES];
    int num_notes;
    double seconds;
    rm_quality_record *records;            /* [evaluated], in relevance-file order */
    int has_source;                        /* the dataset has /source: records[i].source set */
} rm_quality_result;

/* Opens the files, checks that the relevance file explains records of the
 * dataset (and that the model fits it), and computes every metric over the
 * relevance file's records (the first max_images). Memory is bounded by the
 * batch; everything is allocated before the first batch. Deterministic for a
 * seed, whatever the thread count. Call rm_quality_result_free whatever the
 * result. */
int rm_quality_run(const rm_quality_config *cfg, rm_quality_result *res);
void rm_quality_result_free(rm_quality_result *res);

#endif
