/* Quality metrics of relevance maps (src/relevance/quality.h,
 * docs/relevance.md "Quality metrics (relevance-eval)"): region perturbation
 * with AOPC against random orderings, and relevance mass and the pointing
 * game on ground-truth regions. */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/argmax.h"
#include "core/dataset.h"
#include "core/error.h"
#include "core/image.h"
#include "train/loader.h"
#include "nn/model_file.h"
#include "nn/model_fold.h"
#include "core/progress.h"
#include "relevance/quality.h"
#include "core/relevance_file.h"
#include "core/rng.h"
#include "train/train.h"

/* Random streams: "QORDER" for region orders, "QNOISE" for uniform noise. */
#define STREAM_ORDER 0x514f52444552ULL
#define STREAM_NOISE 0x514e4f495345ULL

/* Records per block when only region metrics are computed. */
enum { REGION_BLOCK = 256 };

const char *const rm_baseline_names[RM_BASELINE_COUNT] = {"mean", "zero", "blur", "uniform"};
const char *const rm_score_kind_names[RM_SCORE_KINDS] = {"logit", "probability"};

int rm_baseline_parse(const char *name, rm_baseline_kind *kind)
{
    for (int i = 0; i < RM_BASELINE_COUNT; i++)
        if (!strcmp(name, rm_baseline_names[i])) {
            *kind = (rm_baseline_kind)i;
            return 0;
        }
    return rm_error("unknown baseline '%s', expected mean, zero, blur or uniform", name);
}

void rm_quality_config_defaults(rm_quality_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->steps = 20;
    cfg->region = 4;
    cfg->fraction = 0.5;
    cfg->baseline = RM_BASELINE_MEAN;
    cfg->blur_sigma = 3;
    cfg->random_orders = 3;
    cfg->seed = 1;
    cfg->batch = 256;
}

/* --- statistics ----------------------------------------------------------*/

void rm_running_add(rm_running *s, double x)
{
    s->n++;
    double d = x - s->mean;
    s->mean += d / (double)s->n;
    s->m2 += d * (x - s->mean);
}

double rm_running_mean(const rm_running *s) { return s->n > 0 ? s->mean : NAN; }

double rm_running_sem(const rm_running *s)
{
    if (s->n < 2) return NAN;
    double var = s->m2 / (double)(s->n - 1);
    return sqrt(var > 0 ? var : 0) / sqrt((double)s->n);
}

/* --- ground-truth regions --------------------------------------------------*/

static void dilate(const uint8_t *region, int h, int w, int tol, uint8_t *out)
{
    if (tol <= 0) {
        for (int i = 0; i < h * w; i++) out[i] = region[i] != 0;
        return;
    }
    long t2 = (long)tol * tol;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t hit = 0;
            for (int dy = -tol; dy <= tol && !hit; dy++) {
                int yy = y + dy;
                if (yy < 0 || yy >= h) continue;
                for (int dx = -tol; dx <= tol; dx++) {
                    int xx = x + dx;
                    if (xx < 0 || xx >= w || (long)dx * dx + (long)dy * dy > t2) continue;
                    if (region[yy * w + xx]) {
                        hit = 1;
                        break;
                    }
                }
            }
            out[y * w + x] = hit;
        }
}

void rm_region_score_image(const float *heat, const uint8_t *region, int height, int width, int tolerance,
                           uint8_t *dilated, rm_region_score *out)
{
    int n = height * width;
    dilate(region, height, width, tolerance, dilated);
    int64_t inside = 0, near = 0;
    double pos_in = 0, pos_all = 0, abs_in = 0, abs_all = 0;
    float max_pos = -INFINITY, max_abs = -INFINITY;
    for (int i = 0; i < n; i++) {
        double r = heat[i], p = r > 0 ? r : 0, a = fabs(r);
        inside += region[i] != 0;
        near += dilated[i];
        pos_all += p;
        abs_all += a;
        if (region[i]) {
            pos_in += p;
            abs_in += a;
        }
        if (heat[i] > max_pos) max_pos = heat[i];
        if (fabsf(heat[i]) > max_abs) max_abs = fabsf(heat[i]);
    }
    /* Ties for the maximum share the hit: a constant map scores chance. */
    int64_t tie_pos = 0, hit_pos = 0, tie_abs = 0, hit_abs = 0;
    for (int i = 0; i < n; i++) {
        if (heat[i] == max_pos) {
            tie_pos++;
            hit_pos += dilated[i];
        }
        if (fabsf(heat[i]) == max_abs) {
            tie_abs++;
            hit_abs += dilated[i];
        }
    }
    out->area = (double)inside / n;
    out->pointing_chance = (double)near / n;
    out->mass_pos = pos_all > 0 ? pos_in / pos_all : NAN;
    out->mass_abs = abs_all > 0 ? abs_in / abs_all : NAN;
    out->hit_pos = tie_pos ? (double)hit_pos / (double)tie_pos : NAN;
    out->hit_abs = tie_abs ? (double)hit_abs / (double)tie_abs : NAN;
}

static void region_stats_add(rm_region_stats *s, const rm_region_score *r)
{
    s->count++;
    rm_running_add(&s->area, r->area);
    rm_running_add(&s->pointing_chance, r->pointing_chance);
    if (isfinite(r->mass_pos)) rm_running_add(&s->mass_pos, r->mass_pos);
    if (isfinite(r->mass_abs)) rm_running_add(&s->mass_abs, r->mass_abs);
    if (isfinite(r->hit_pos)) rm_running_add(&s->hit_pos, r->hit_pos);
    if (isfinite(r->hit_abs)) rm_running_add(&s->hit_abs, r->hit_abs);
}

/* --- regions to perturb ----------------------------------------------------*/

int rm_tile_count(int height, int width, int size)
{
    return ((height + size - 1) / size) * ((width + size - 1) / size);
}

int rm_perturb_regions_at(int k, int steps, int perturbed)
{
    return (int)(((int64_t)2 * k * perturbed + steps) / ((int64_t)2 * steps));
}

static void tile_sums(const float *heat, int h, int w, int size, double *sums)
{
    int cols = (w + size - 1) / size, rows = (h + size - 1) / size;
    for (int t = 0; t < rows * cols; t++) sums[t] = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) sums[(y / size) * cols + x / size] += heat[y * w + x];
}

/* Stable merge sort of order[0..n) by key descending (ties keep index order). */
static void sort_desc(int32_t *order, int32_t *tmp, int n, const double *key)
{
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int a = lo, b = mid, o = lo;
            while (a < mid && b < hi) tmp[o++] = key[order[b]] > key[order[a]] ? order[b++] : order[a++];
            while (a < mid) tmp[o++] = order[a++];
            while (b < hi) tmp[o++] = order[b++];
        }
        memcpy(order, tmp, sizeof *order * (size_t)n);
    }
}

static void relevance_order(const float *heat, int h, int w, int size, int tiles, double *sums, int32_t *tmp,
                            int32_t *order)
{
    tile_sums(heat, h, w, size, sums);
    for (int t = 0; t < tiles; t++) order[t] = t;
    sort_desc(order, tmp, tiles, sums);
}

/* Orders [orders][tiles] for one record: each a fresh seeded permutation. */
static void random_orders(uint64_t seed, int64_t record, int orders, int tiles, int32_t *out)
{
    rm_rng rng;
    rm_rng_seed(&rng, seed, STREAM_ORDER, (uint64_t)record);
    for (int o = 0; o < orders; o++) {
        int32_t *v = out + (size_t)o * tiles;
        for (int t = 0; t < tiles; t++) v[t] = t;
        rm_rng_shuffle_i32(&rng, v, (size_t)tiles);
    }
}

/* --- baselines -------------------------------------------------------------*/

typedef struct {
    rm_baseline_kind kind;
    double mean_pixel[4];
    float *kernel;           /* [2 radius + 1] Gaussian weights (blur) */
    int radius;
    uint64_t seed;
} baseline_spec;

static int make_kernel(baseline_spec *b, double sigma)
{
    b->radius = (int)ceil(3 * sigma);
    if (b->radius < 1) b->radius = 1;
    b->kernel = rm_malloc(sizeof *b->kernel * (size_t)(2 * b->radius + 1), "blur kernel");
    if (!b->kernel) return -1;
    double sum = 0;
    for (int i = -b->radius; i <= b->radius; i++) sum += exp(-0.5 * i * i / (sigma * sigma));
    for (int i = -b->radius; i <= b->radius; i++)
        b->kernel[i + b->radius] = (float)(exp(-0.5 * i * i / (sigma * sigma)) / sum);
    return 0;
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Separable Gaussian blur of one plane, edges replicated. tmp: [h*w]. */
static void blur_plane(const uint8_t *src, int h, int w, const baseline_spec *b, float *tmp, float *dst)
{
    int r = b->radius;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double s = 0;
            for (int i = -r; i <= r; i++) s += b->kernel[i + r] * src[y * w + clampi(x + i, 0, w - 1)];
            tmp[y * w + x] = (float)s;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double s = 0;
            for (int i = -r; i <= r; i++) s += b->kernel[i + r] * tmp[clampi(y + i, 0, h - 1) * w + x];
            dst[y * w + x] = (float)s;
        }
}

/* The baseline image of one record in pixel units (0..255), [C,H,W]. */
static void baseline_image(const baseline_spec *b, const uint8_t *img, int64_t record, int c, int h, int w,
                           float *tmp, float *out)
{
    size_t plane = (size_t)h * w;
    switch (b->kind) {
    case RM_BASELINE_MEAN:
        for (int ch = 0; ch < c; ch++)
            for (size_t i = 0; i < plane; i++) out[ch * plane + i] = (float)b->mean_pixel[ch];
        break;
    case RM_BASELINE_ZERO:
        memset(out, 0, sizeof *out * plane * (size_t)c);
        break;
    case RM_BASELINE_BLUR:
        for (int ch = 0; ch < c; ch++) blur_plane(img + ch * plane, h, w, b, tmp, out + ch * plane);
        break;
    case RM_BASELINE_UNIFORM: {
        rm_rng rng;
        rm_rng_seed(&rng, b->seed, STREAM_NOISE, (uint64_t)record);
        for (size_t i = 0; i < plane * (size_t)c; i++) out[i] = (float)rm_rng_range(&rng, 0, 255);
        break;
    }
    default: break;
    }
}

static void normalize(float *v, const float *mean, const float *std, int c, size_t plane)
{
    for (int ch = 0; ch < c; ch++) {
        float m = mean[ch], s = std[ch];
        for (size_t i = 0; i < plane; i++) v[ch * plane + i] = (v[ch * plane + i] / 255.0f - m) / s;
    }
}

/* --- the run ---------------------------------------------------------------*/

typedef struct {
    const rm_quality_config *cfg;
    rm_quality_result *res;
    rm_relevance rel;
    rm_dataset ds;
    rm_model model;
    int rel_open, ds_open, model_loaded;
    rm_infer_net infer;
    int net_built;
    baseline_spec base;
    int C, H, W, K, L, R, T, P, IB;
    size_t plane, image;     /* H*W, C*H*W */
    /* --resize: the perturbed images (pixel units, the data's grid) are staged
     * and converted to the model's input, one resizer per thread */
    rm_image_resizer **resizers;
    int num_resizers;
    float *staged;           /* [IB * P, C, H, W] */
    int block;               /* records per block */
    /* per block, allocated once */
    int64_t *records;        /* [block] dataset indices */
    float *heat;             /* [block, H, W] */
    uint8_t *pixels;         /* [block, C, H, W] */
    uint8_t *regions;        /* [block, H, W] */
    uint8_t *dilated;        /* [block, H, W] */
    rm_region_score *scores; /* [block] */
    float *xnorm, *bnorm;    /* [block, C, H, W] normalized image and baseline (pixels with --resize) */
    float *blur_tmp;         /* [block, H, W] */
    int32_t *orders;         /* [block, 1 + R, T] */
    int32_t *sort_tmp;       /* [block, T] */
    double *sums;            /* [block, T] */
    double *slot_score;      /* [block * P, kinds] */
    int32_t *explained;      /* [block] */
} run_state;

static int add_note(rm_quality_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add_note(rm_quality_result *res, const char *fmt, ...)
{
    if (res->num_notes >= RM_QUALITY_MAX_NOTES) return 0;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = rm_strdup(buf);
    if (!s) return -1;
    res->notes[res->num_notes++] = s;
    return 0;
}

static int check_config(const rm_quality_config *c)
{
    if (!c->relevance_path || !c->data_path) return rm_error("relevance-eval: a relevance file and a dataset are required");
    if (c->steps < 1) return rm_error("steps %d, expected >= 1", c->steps);
    if (c->region < 1) return rm_error("region size %d, expected >= 1", c->region);
    if (!(c->fraction > 0 && c->fraction <= 1)) return rm_error("fraction %g, expected in (0, 1]", c->fraction);
    if (c->baseline < 0 || c->baseline >= RM_BASELINE_COUNT) return rm_error("unknown baseline %d", (int)c->baseline);
    if (c->baseline == RM_BASELINE_BLUR && !(c->blur_sigma > 0 && c->blur_sigma <= 64))
        return rm_error("blur sigma %g, expected in (0, 64]", c->blur_sigma);
    if (c->random_orders < 1) return rm_error("random orders %d, expected >= 1", c->random_orders);
    if (c->max_images < 0) return rm_error("max images %lld, expected >= 0", (long long)c->max_images);
    if (c->pointing_tolerance < 0) return rm_error("pointing tolerance %d, expected >= 0", c->pointing_tolerance);
    if (c->batch < 1) return rm_error("batch %d, expected >= 1", c->batch);
    return 0;
}

/* The relevance file must explain records of this dataset. */
static int open_inputs(run_state *s)
{
    const rm_quality_config *cfg = s->cfg;
    rm_quality_result *res = s->res;
    RM_TRY(rm_relevance_open(&s->rel, cfg->relevance_path));
    s->rel_open = 1;
    RM_TRY(rm_dataset_open(&s->ds, cfg->data_path));
    s->ds_open = 1;
    const rm_relevance *r = &s->rel;
    const rm_dataset *ds = &s->ds;
    if (r->channels != ds->channels)
        return rm_error("%s was computed on %d-channel images but %s holds %d-channel images (relevance for another "
                        "dataset?)", r->path, r->channels, ds->path, ds->channels);
    if (r->num_classes != ds->num_classes)
        return rm_error("%s has %d classes but %s has %d (relevance for another dataset?)", r->path, r->num_classes,
                        ds->path, ds->num_classes);
    RM_TRY(rm_relevance_check_dataset(r, ds->path, (int64_t)ds->count, ds->height, ds->width, ds->labels));
    int64_t *map = rm_malloc(sizeof *map * ds->count, "record map");
    if (!map) return -1;
    int rc = rm_relevance_index_map(r, (int64_t)ds->count, map);
    free(map);
    RM_TRY(rc);
    if (r->dataset_fingerprint && *r->dataset_fingerprint) {
        char fp[17];
        rm_dataset_fingerprint(fp, (int64_t)ds->count, ds->channels, ds->height, ds->width, ds->labels, ds->split);
        if (strcmp(fp, r->dataset_fingerprint) != 0) {
            rm_warn("%s was computed on a dataset with fingerprint %s; %s has %s", r->path, r->dataset_fingerprint,
                    ds->path, fp);
            RM_TRY(add_note(res, "dataset fingerprint %s differs from the relevance file's %s (labels and indices "
                                 "match)", fp, r->dataset_fingerprint));
        }
    }
    if (cfg->model_path) {
        RM_TRY(rm_model_load(&s->model, cfg->model_path));
        s->model_loaded = 1;
        RM_TRY(rm_model_check_dataset(&s->model, cfg->model_path, ds,
                                      cfg->resize ? RM_SHAPE_RESIZE : RM_SHAPE_OFFER_RESIZE));
    }
    if (!cfg->model_path && !ds->has_regions)
        return rm_error("nothing to evaluate: %s has no /regions (ground-truth masks) and no --model was given for "
                        "region perturbation", ds->path);
    return 0;
}

static int copy_metadata(run_state *s)
{
    rm_quality_result *res = s->res;
    const rm_relevance *r = &s->rel;
    res->relevance_count = r->count;
    res->dataset_count = (int64_t)s->ds.count;
    res->channels = s->C;
    res->height = s->H;
    res->width = s->W;
    res->class_names = rm_calloc((size_t)s->K, sizeof *res->class_names, "class names");
    if (!res->class_names) return -1;
    res->num_classes = s->K;
    for (int k = 0; k < s->K; k++)
        if (!(res->class_names[k] = rm_strdup(s->ds.class_names[k]))) return -1;
    if (r->method && !(res->relevance_method = rm_strdup(r->method))) return -1;
    if (r->parameters && !(res->relevance_parameters = rm_strdup(r->parameters))) return -1;
    return rm_relevance_read_attr(r, "model_path", &res->relevance_model);
}

/* Mean pixel of the train split (all records when it is empty), 0..255. */
static int mean_baseline(run_state *s)
{
    int64_t train = 0;
    for (size_t i = 0; i < s->ds.count; i++) train += s->ds.split[i] == RM_SPLIT_TRAIN;
    int split = train > 0 ? RM_SPLIT_TRAIN : -1;
    if (!train) RM_TRY(add_note(s->res, "%s has no train split: the mean baseline is the mean of all records", s->ds.path));
    float mean[4], std[4];
    RM_TRY(rm_dataset_channel_stats(&s->ds, split, mean, std));
    for (int c = 0; c < s->C; c++) s->base.mean_pixel[c] = s->res->baseline_pixel[c] = 255.0 * mean[c];
    return 0;
}

#define ALLOC(ptr, count, what)                                                        \
    do {                                                                               \
        size_t bytes_;                                                                 \
        if (rm_size_mul(&bytes_, (size_t)(count), sizeof *(ptr), SIZE_MAX, what) != 0) \
            return -1;                                                                 \
        if (!((ptr) = rm_malloc(bytes_ ? bytes_ : 1, what))) return -1;                \
    } while (0)

/* A model at another input: per-thread resizers and the staging buffer. */
static int setup_resize(run_state *s)
{
    const rm_shape *in = &s->model.def.input;
    rm_resize_describe(&s->model, &s->ds, s->res->resize, sizeof s->res->resize);
    if (!*s->res->resize) return 0;
    s->num_resizers = omp_get_max_threads();
    s->resizers = rm_calloc((size_t)s->num_resizers, sizeof *s->resizers, "resizers");
    if (!s->resizers) return -1;
    for (int t = 0; t < s->num_resizers; t++)
        RM_TRY(rm_image_resizer_create(&s->resizers[t], s->C, s->H, s->W, in->c, in->h, in->w));
    ALLOC(s->staged, (size_t)s->IB * s->P * s->image, "perturbed images");
    rm_log("relevance-eval: the images are converted to the model's input, %s", s->res->resize);
    return 0;
}

static int setup_perturbation(run_state *s)
{
    const rm_quality_config *cfg = s->cfg;
    rm_quality_result *res = s->res;
    s->L = cfg->steps;
    s->R = cfg->random_orders;
    s->T = rm_tile_count(s->H, s->W, cfg->region);
    int perturbed = (int)lround(cfg->fraction * s->T);
    if (perturbed < 1) perturbed = 1;
    res->has_perturbation = 1;
    res->tiles = s->T;
    res->tiles_perturbed = perturbed;
    if ((int64_t)s->L * (1 + s->R) + 1 > (1 << 24))
        return rm_error("%d steps x %d orders: too many passes per image", s->L, s->R + 1);
    s->P = 1 + s->L * (1 + s->R);
    s->IB = cfg->batch / s->P;
    if (s->IB < 1) s->IB = 1;
    if (s->IB > res->evaluated) s->IB = (int)res->evaluated;
    res->passes_per_image = s->P;
    res->images_per_batch = s->IB;
    if (perturbed < s->L)
        RM_TRY(add_note(res, "%d regions are replaced over %d steps: some steps replace none", perturbed, s->L));
    ALLOC(res->regions_at, s->L + 1, "perturbation steps");
    for (int k = 0; k <= s->L; k++) res->regions_at[k] = rm_perturb_regions_at(k, s->L, perturbed);
    for (int q = 0; q < RM_SCORE_KINDS; q++) {
        res->curve_relevance[q] = rm_calloc((size_t)s->L + 1, sizeof(rm_running), "curve");
        res->curve_random[q] = rm_calloc((size_t)s->L + 1, sizeof(rm_running), "curve");
        if (!res->curve_relevance[q] || !res->curve_random[q]) return -1;
    }
    res->class_aopc = rm_calloc((size_t)s->K * RM_SCORE_KINDS, sizeof *res->class_aopc, "per-class AOPC");
    if (!res->class_aopc) return -1;
    s->base.kind = cfg->baseline;
    s->base.seed = cfg->seed;
    if (cfg->baseline == RM_BASELINE_MEAN) RM_TRY(mean_baseline(s));
    if (cfg->baseline == RM_BASELINE_BLUR) RM_TRY(make_kernel(&s->base, cfg->blur_sigma));
    rm_log("relevance-eval: %d regions of %dx%d, %d replaced in %d steps; %d passes per image, %d images per batch "
           "of %d", s->T, cfg->region, cfg->region, perturbed, s->L, s->P, s->IB, s->IB * s->P);
    RM_TRY(rm_infer_net_create(&s->infer, &s->model, s->IB * s->P));
    s->net_built = 1;
    return setup_resize(s);
}

static int allocate_block(run_state *s)
{
    int B = s->block;
    ALLOC(s->records, B, "record indices");
    ALLOC(s->heat, (size_t)B * s->plane, "heatmaps");
    ALLOC(s->explained, B, "explained classes");
    if (s->res->has_regions) {
        ALLOC(s->regions, (size_t)B * s->plane, "region masks");
        ALLOC(s->dilated, (size_t)B * s->plane, "dilated masks");
        ALLOC(s->scores, B, "region scores");
    }
    if (s->res->has_perturbation) {
        ALLOC(s->pixels, (size_t)B * s->image, "images");
        ALLOC(s->xnorm, (size_t)B * s->image, "normalized images");
        ALLOC(s->bnorm, (size_t)B * s->image, "baselines");
        ALLOC(s->blur_tmp, (size_t)B * s->plane, "blur buffer");
        ALLOC(s->orders, (size_t)B * (1 + s->R) * s->T, "region orders");
        ALLOC(s->sort_tmp, (size_t)B * s->T, "sort buffer");
        ALLOC(s->sums, (size_t)B * s->T, "region sums");
        ALLOC(s->slot_score, (size_t)B * s->P * RM_SCORE_KINDS, "scores");
    }
    return 0;
}

/* Reads per-record arrays of the block's records, one HDF5 read per run of
 * consecutive dataset indices. */
static int read_records(run_state *s, int n, int regions, void *out)
{
    size_t bytes = regions ? s->plane : s->image;
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && s->records[j] == s->records[j - 1] + 1) j++;
        uint8_t *dst = (uint8_t *)out + (size_t)i * bytes;
        int rc = regions ? rm_dataset_read_regions(&s->ds, (size_t)s->records[i], (size_t)(j - i), dst)
                         : rm_dataset_read_images(&s->ds, (size_t)s->records[i], (size_t)(j - i), dst);
        if (rc != 0) return rm_error_prefix("%s", s->ds.path);
        i = j;
    }
    return 0;
}

static inline size_t slot_of(const run_state *s, int i, int o, int k)
{
    if (k == 0) return (size_t)i * s->P;
    if (o == 0) return (size_t)i * s->P + (size_t)k;
    return (size_t)i * s->P + 1 + (size_t)s->L + (size_t)(o - 1) * s->L + (size_t)(k - 1);
}

static void patch_tile(const run_state *s, int t, const float *from, float *to)
{
    int size = s->cfg->region, cols = (s->W + size - 1) / size;
    int y0 = (t / cols) * size, x0 = (t % cols) * size;
    int y1 = y0 + size < s->H ? y0 + size : s->H, x1 = x0 + size < s->W ? x0 + size : s->W;
    for (int c = 0; c < s->C; c++)
        for (int y = y0; y < y1; y++) {
            size_t at = (size_t)c * s->plane + (size_t)y * s->W + (size_t)x0;
            memcpy(to + at, from + at, sizeof *to * (size_t)(x1 - x0));
        }
}

/* Each staged image (pixel units, the data's grid) converted to the
 * model's input and normalized there: the regions a baseline replaced are
 * the data's, and the model sees them through the same map M as the
 * relevance file's heatmaps were carried back through. */
static void convert_staged(run_state *s, int slots)
{
    const rm_model *m = &s->model;
    const rm_shape *in = &m->def.input;
    const size_t model_plane = (size_t)in->h * in->w, model_image = (size_t)in->c * model_plane;
#pragma omp parallel for schedule(static) num_threads(s->num_resizers)
    for (int slot = 0; slot < slots; slot++) {
        float *dst = s->infer.input + (size_t)slot * model_image;
        rm_image_resizer_apply_float(s->resizers[omp_get_thread_num()], s->staged + (size_t)slot * s->image, dst);
        normalize(dst, m->norm_mean, m->norm_std, in->c, model_plane);
    }
}

/* Baseline, region orders and every perturbed input of the block's images.
 * Replacing a region commutes with the per-pixel normalization, so without
 * conversion the image and the baseline are normalized once and the
 * perturbed images written straight into the network's input. */
static void fill_batch(run_state *s, int n)
{
    const rm_quality_config *cfg = s->cfg;
    const rm_model *m = &s->model;
    const int convert = s->resizers != NULL;
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < n; i++) {
        const uint8_t *px = s->pixels + (size_t)i * s->image;
        float *x = s->xnorm + (size_t)i * s->image, *b = s->bnorm + (size_t)i * s->image;
        for (size_t p = 0; p < s->image; p++) x[p] = px[p];
        if (!convert) normalize(x, m->norm_mean, m->norm_std, s->C, s->plane);
        baseline_image(&s->base, px, s->records[i], s->C, s->H, s->W, s->blur_tmp + (size_t)i * s->plane, b);
        if (!convert) normalize(b, m->norm_mean, m->norm_std, s->C, s->plane);
        int32_t *ord = s->orders + (size_t)i * (1 + s->R) * s->T;
        relevance_order(s->heat + (size_t)i * s->plane, s->H, s->W, cfg->region, s->T, s->sums + (size_t)i * s->T,
                        s->sort_tmp + (size_t)i * s->T, ord);
        random_orders(cfg->seed, s->records[i], s->R, s->T, ord + s->T);
    }
    float *in = convert ? s->staged : s->infer.input;
    const int *at = s->res->regions_at;
#pragma omp parallel for schedule(dynamic)
    for (int io = 0; io < n * (1 + s->R); io++) {
        int i = io / (1 + s->R), o = io % (1 + s->R);
        const float *prev = s->xnorm + (size_t)i * s->image, *b = s->bnorm + (size_t)i * s->image;
        const int32_t *ord = s->orders + ((size_t)i * (1 + s->R) + (size_t)o) * s->T;
        if (o == 0) memcpy(in + slot_of(s, i, 0, 0) * s->image, prev, sizeof *in * s->image);
        for (int k = 1; k <= s->L; k++) {
            float *dst = in + slot_of(s, i, o, k) * s->image;
            memcpy(dst, prev, sizeof *dst * s->image);
            for (int r = at[k - 1]; r < at[k]; r++) patch_tile(s, ord[r], b, dst);
            prev = dst;
        }
    }
    if (convert) convert_staged(s, n * s->P);
}

/* Logit and softmax probability of class e in a row of logits. */
static void score_of(const float *z, int k, int e, double *out)
{
    double max = z[0], sum = 0;
    for (int j = 1; j < k; j++) max = fmax(max, z[j]);
    for (int j = 0; j < k; j++) sum += exp((double)z[j] - max);
    out[RM_SCORE_LOGIT] = z[e];
    out[RM_SCORE_PROBABILITY] = exp((double)z[e] - max) / sum;
}

static void aopc_add(rm_aopc_stats *a, double f0, double rel, double rnd)
{
    rm_running_add(&a->score, f0);
    rm_running_add(&a->aopc_relevance, rel);
    rm_running_add(&a->aopc_random, rnd);
    rm_running_add(&a->difference, rel - rnd);
}

/* Runs the block's forward pass and accumulates per image, in record order. */
static int score_block(run_state *s, int64_t first, int n)
{
    rm_quality_result *res = s->res;
    fill_batch(s, n);
    RM_TRY(rm_infer_net_forward(&s->infer, s->infer.batch));
    const float *z = s->infer.logits;
    int K = s->K, L = s->L, R = s->R;
    for (int i = 0; i < n; i++) {
        int e = s->rel.explained[first + i];
        if (e < 0) {
            e = rm_argmax(z + slot_of(s, i, 0, 0) * K, K);
            res->explained_by_model++;
        }
        s->explained[i] = e;
    }
#pragma omp parallel for
    for (int slot = 0; slot < n * s->P; slot++)
        score_of(z + (size_t)slot * K, K, s->explained[slot / s->P], s->slot_score + (size_t)slot * RM_SCORE_KINDS);
    for (int i = 0; i < n; i++) {
        int label = s->rel.label[first + i];
        for (int q = 0; q < RM_SCORE_KINDS; q++) {
            double f0 = s->slot_score[slot_of(s, i, 0, 0) * RM_SCORE_KINDS + q], rel = 0, rnd = 0;
            rm_running_add(&res->curve_relevance[q][0], f0);
            rm_running_add(&res->curve_random[q][0], f0);
            for (int k = 1; k <= L; k++) {
                double fr = s->slot_score[slot_of(s, i, 0, k) * RM_SCORE_KINDS + q], fm = 0;
                for (int o = 1; o <= R; o++) fm += s->slot_score[slot_of(s, i, o, k) * RM_SCORE_KINDS + q];
                fm /= R;
                rm_running_add(&res->curve_relevance[q][k], fr);
                rm_running_add(&res->curve_random[q][k], fm);
                rel += f0 - fr;
                rnd += f0 - fm;
            }
            aopc_add(&res->aopc[q], f0, rel / L, rnd / L);
            rm_quality_record *rec = &res->records[first + i];
            rec->explained = s->explained[i];
            rec->score[q] = f0;
            rec->aopc_relevance[q] = rel / L;
            rec->aopc_random[q] = rnd / L;
            aopc_add(&res->class_aopc[(size_t)label * RM_SCORE_KINDS + q], f0, rel / L, rnd / L);
        }
    }
    return 0;
}

static int region_block(run_state *s, int64_t first, int n)
{
    rm_quality_result *res = s->res;
    RM_TRY(read_records(s, n, 1, s->regions));
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < n; i++)
        rm_region_score_image(s->heat + (size_t)i * s->plane, s->regions + (size_t)i * s->plane, s->H, s->W,
                              s->cfg->pointing_tolerance, s->dilated + (size_t)i * s->plane, &s->scores[i]);
    for (int i = 0; i < n; i++) {
        region_stats_add(&res->regions, &s->scores[i]);
        region_stats_add(&res->class_regions[s->rel.label[first + i]], &s->scores[i]);
        res->records[first + i].region = s->scores[i];
    }
    return 0;
}

static int run_blocks(run_state *s)
{
    rm_quality_result *res = s->res;
    rm_progress prog;
    rm_progress_start(&prog, "relevance-eval", "img", (size_t)res->evaluated);
    double t0 = rm_now();
    for (int64_t first = 0; first < res->evaluated; first += s->block) {
        int n = (int)(res->evaluated - first < s->block ? res->evaluated - first : s->block);
        for (int i = 0; i < n; i++) s->records[i] = s->rel.index[first + i];
        RM_TRY(rm_relevance_read_heatmaps(&s->rel, first, n, s->heat));
        if (res->has_regions) RM_TRY(region_block(s, first, n));
        if (res->has_perturbation) {
            RM_TRY(read_records(s, n, 0, s->pixels));
            RM_TRY(score_block(s, first, n));
            snprintf(prog.note, sizeof prog.note, "AOPC %+.3f vs random",
                     rm_running_mean(&res->aopc[RM_SCORE_LOGIT].difference));
        }
        for (int i = 0; i < n; i++) res->class_count[s->rel.label[first + i]]++;
        rm_progress_update(&prog, (size_t)(first + n));
    }
    rm_progress_finish(&prog);
    res->seconds = rm_now() - t0;
    return 0;
}

static void state_free(run_state *s)
{
    if (s->net_built) rm_infer_net_destroy(&s->infer);
    if (s->model_loaded) rm_model_free(&s->model);
    if (s->ds_open) rm_dataset_close(&s->ds);
    if (s->rel_open) rm_relevance_close(&s->rel);
    free(s->base.kernel);
    free(s->records);
    free(s->heat);
    free(s->pixels);
    free(s->regions);
    free(s->dilated);
    free(s->scores);
    free(s->xnorm);
    free(s->bnorm);
    free(s->blur_tmp);
    free(s->orders);
    free(s->sort_tmp);
    free(s->sums);
    free(s->slot_score);
    free(s->explained);
    for (int t = 0; t < s->num_resizers; t++) rm_image_resizer_destroy(s->resizers[t]);
    free(s->resizers);
    free(s->staged);
}

/* Every evaluated record with its identity and NaN metrics; the sources
 * when the dataset has them. */
static int init_records(run_state *s)
{
    rm_quality_result *res = s->res;
    res->records = rm_calloc((size_t)res->evaluated, sizeof *res->records, "per-record results");
    if (!res->records) return -1;
    res->has_source = s->ds.has_source;
    char source[4096];
    for (int64_t e = 0; e < res->evaluated; e++) {
        rm_quality_record *rec = &res->records[e];
        rec->entry = e;
        rec->index = s->rel.index[e];
        rec->label = s->rel.label[e];
        rec->explained = s->rel.explained[e];
        for (int q = 0; q < RM_SCORE_KINDS; q++) rec->score[q] = rec->aopc_relevance[q] = rec->aopc_random[q] = NAN;
        rec->region.area = rec->region.pointing_chance = rec->region.mass_pos = rec->region.mass_abs = NAN;
        rec->region.hit_pos = rec->region.hit_abs = NAN;
        if (!res->has_source) continue;
        RM_TRY(rm_dataset_read_source(&s->ds, (size_t)rec->index, source, sizeof source));
        if (!(rec->source = rm_strdup(source))) return -1;
    }
    return 0;
}

static int run(run_state *s)
{
    const rm_quality_config *cfg = s->cfg;
    rm_quality_result *res = s->res;
    RM_TRY(check_config(cfg));
    RM_TRY(open_inputs(s));
    s->C = s->ds.channels;
    s->H = s->ds.height;
    s->W = s->ds.width;
    s->K = s->ds.num_classes;
    s->plane = (size_t)s->H * s->W;
    s->image = (size_t)s->C * s->plane;
    RM_TRY(copy_metadata(s));
    res->evaluated = cfg->max_images > 0 && cfg->max_images < s->rel.count ? cfg->max_images : s->rel.count;
    res->class_count = rm_calloc((size_t)s->K, sizeof *res->class_count, "class counts");
    if (!res->class_count) return -1;
    RM_TRY(init_records(s));
    res->has_regions = s->ds.has_regions;
    if (res->has_regions) {
        res->class_regions = rm_calloc((size_t)s->K, sizeof *res->class_regions, "per-class regions");
        if (!res->class_regions) return -1;
    }
    else RM_TRY(add_note(res, "%s has no /regions: ground-truth region metrics omitted", s->ds.path));
    if (cfg->model_path) RM_TRY(setup_perturbation(s));
    else RM_TRY(add_note(res, "no model given: region perturbation (AOPC) omitted"));
    s->block = res->has_perturbation ? s->IB : (int)(res->evaluated < REGION_BLOCK ? res->evaluated : REGION_BLOCK);
    RM_TRY(allocate_block(s));
    RM_TRY(run_blocks(s));
    if (res->explained_by_model)
        RM_TRY(add_note(res, "%lld records had no explained class (-1): the model's predicted class was scored",
                        (long long)res->explained_by_model));
    if (res->has_regions && res->regions.mass_pos.n < res->regions.count)
        RM_TRY(add_note(res, "%lld heatmaps have no positive relevance: left out of the positive mass",
                        (long long)(res->regions.count - res->regions.mass_pos.n)));
    return 0;
}

int rm_quality_run(const rm_quality_config *cfg, rm_quality_result *res)
{
    memset(res, 0, sizeof *res);
    run_state s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.res = res;
    int rc = run(&s);
    state_free(&s);
    return rc;
}

void rm_quality_result_free(rm_quality_result *res)
{
    for (int k = 0; k < res->num_classes; k++) free(res->class_names[k]);
    free(res->class_names);
    free(res->relevance_method);
    free(res->relevance_parameters);
    free(res->relevance_model);
    free(res->regions_at);
    for (int q = 0; q < RM_SCORE_KINDS; q++) {
        free(res->curve_relevance[q]);
        free(res->curve_random[q]);
    }
    free(res->class_aopc);
    free(res->class_count);
    free(res->class_regions);
    for (int i = 0; i < res->num_notes; i++) free(res->notes[i]);
    if (res->records)
        for (int64_t e = 0; e < res->evaluated; e++) free(res->records[e].source);
    free(res->records);
    memset(res, 0, sizeof *res);
}
