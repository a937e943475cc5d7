/* Occlusion relevance (src/relevance/occlusion.h). The work for n images
 * is one sequence of items, image by image: the original, then its
 * patches in row-major order. Items fill the batch buffer in that order;
 * after each predictor call the results are consumed in the same order, so
 * an image's original is always scored before its patches (in the same or
 * an earlier call) and the accumulation order is fixed whatever max_batch
 * is. Assembling a batch (copy + fill) runs in parallel over the slots. */
#include "relevance/occlusion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "relevance/predictor.h"
#include "core/argmax.h"
#include "core/error.h"

struct rm_occlusion {
    rm_predictor *pred;
    int C, H, W, K;
    int patch_h, patch_w;
    int ny, nx, npatch;
    int *ys, *xs;            /* patch starts along each axis [ny], [nx] */
    float *inv_cover;        /* [H*W]: 1 / number of patches covering the pixel */
    uint8_t *fill;           /* [C] baseline per channel */
    int max_batch;
    uint8_t *batch;          /* [max_batch,C,H,W] */
    float *probs;            /* [max_batch,K] */
};

void rm_occlusion_config_defaults(rm_occlusion_config *cfg)
{
    *cfg = (rm_occlusion_config){.patch = 8, .stride = 4, .baseline = 0, .baseline_mean = NULL, .max_batch = 4096};
}

int rm_occlusion_positions(int size, int patch, int stride, int *starts, int cap)
{
    if (patch > size) patch = size;
    int n = 0, last = 0;
    for (int s = 0; s + patch <= size; s += stride, n++) {
        if (starts && n < cap) starts[n] = s;
        last = s;
    }
    if (last + patch < size) {
        if (starts && n < cap) starts[n] = size - patch;
        n++;
    }
    return n;
}

static int check_config(const rm_occlusion_config *cfg, int C)
{
    if (cfg->patch < 1) return rm_error("occlusion: patch size %d, expected >= 1", cfg->patch);
    if (cfg->stride < 1 || cfg->stride > cfg->patch)
        return rm_error("occlusion: stride %d, expected 1..%d (the patch size; a larger stride would leave pixels "
                        "between patches without relevance)", cfg->stride, cfg->patch);
    if (cfg->max_batch < 1) return rm_error("occlusion: max batch %d, expected >= 1", cfg->max_batch);
    if (cfg->baseline_mean) {
        for (int c = 0; c < C; c++)
            if (!(cfg->baseline_mean[c] >= 0 && cfg->baseline_mean[c] <= 255))
                return rm_error("occlusion: baseline of channel %d is %g, expected a pixel value 0..255", c,
                                cfg->baseline_mean[c]);
    } else if (!(cfg->baseline >= 0 && cfg->baseline <= 255)) {
        return rm_error("occlusion: baseline %g, expected a pixel value 0..255", cfg->baseline);
    }
    return 0;
}

int rm_occlusion_create(rm_occlusion **out, rm_predictor *p, const rm_occlusion_config *cfg, int C, int H, int W)
{
    *out = NULL;
    if (C != p->channels || H != p->height || W != p->width)
        return rm_error("occlusion: the images are %dx%dx%d (CxHxW) but the predictor expects %dx%dx%d", C, H, W,
                        p->channels, p->height, p->width);
    RM_TRY(check_config(cfg, C));
    rm_occlusion *o = rm_calloc(1, sizeof *o, "an occlusion context");
    if (!o) return -1;
    o->pred = p;
    o->C = C, o->H = H, o->W = W, o->K = p->num_classes;
    o->patch_h = cfg->patch < H ? cfg->patch : H;
    o->patch_w = cfg->patch < W ? cfg->patch : W;
    o->ny = rm_occlusion_positions(H, cfg->patch, cfg->stride, NULL, 0);
    o->nx = rm_occlusion_positions(W, cfg->patch, cfg->stride, NULL, 0);
    o->npatch = o->ny * o->nx;
    o->max_batch = cfg->max_batch;
    size_t hw = (size_t)H * W, batch_bytes, probs_count;
    int rc = rm_size_mul(&batch_bytes, (size_t)cfg->max_batch, (size_t)C * hw, SIZE_MAX, "the occluded batch");
    if (rc == 0) rc = rm_size_mul(&probs_count, (size_t)cfg->max_batch, (size_t)o->K, SIZE_MAX / sizeof(float),
                                  "the occluded batch's probabilities");
    if (rc == 0) {
        o->ys = rm_malloc(sizeof *o->ys * (size_t)o->ny, "patch positions");
        o->xs = rm_malloc(sizeof *o->xs * (size_t)o->nx, "patch positions");
        o->inv_cover = rm_calloc(hw, sizeof *o->inv_cover, "patch coverage");
        o->fill = rm_malloc((size_t)C, "baseline values");
        o->batch = rm_malloc(batch_bytes, "the occluded batch");
        o->probs = rm_malloc(sizeof *o->probs * probs_count, "the occluded batch's probabilities");
        rc = o->ys && o->xs && o->inv_cover && o->fill && o->batch && o->probs ? 0 : -1;
    }
    if (rc != 0) {
        rm_occlusion_destroy(o);
        return -1;
    }
    rm_occlusion_positions(H, cfg->patch, cfg->stride, o->ys, o->ny);
    rm_occlusion_positions(W, cfg->patch, cfg->stride, o->xs, o->nx);
    for (int c = 0; c < C; c++)
        o->fill[c] = (uint8_t)lrint(cfg->baseline_mean ? cfg->baseline_mean[c] : cfg->baseline);
    for (int py = 0; py < o->ny; py++)
        for (int px = 0; px < o->nx; px++)
            for (int y = o->ys[py]; y < o->ys[py] + o->patch_h; y++)
                for (int x = o->xs[px]; x < o->xs[px] + o->patch_w; x++) o->inv_cover[(size_t)y * W + x] += 1;
    for (size_t i = 0; i < hw; i++) o->inv_cover[i] = 1 / o->inv_cover[i];   /* every pixel is covered */
    *out = o;
    return 0;
}

int rm_occlusion_patches(const rm_occlusion *o) { return o->npatch; }

void rm_occlusion_destroy(rm_occlusion *o)
{
    if (!o) return;
    free(o->ys);
    free(o->xs);
    free(o->inv_cover);
    free(o->fill);
    free(o->batch);
    free(o->probs);
    free(o);
}

/* Slot j of the batch: image `img` with patch q (-1: the original). */
static void assemble(const rm_occlusion *o, uint8_t *dst, const uint8_t *img, int q)
{
    const size_t hw = (size_t)o->H * o->W;
    memcpy(dst, img, (size_t)o->C * hw);
    if (q < 0) return;
    int y0 = o->ys[q / o->nx], x0 = o->xs[q % o->nx];
    for (int c = 0; c < o->C; c++)
        for (int y = y0; y < y0 + o->patch_h; y++)
            memset(dst + c * hw + (size_t)y * o->W + x0, o->fill[c], (size_t)o->patch_w);
}

int rm_occlusion_explain(rm_occlusion *o, const uint8_t *images, int n, const int32_t *target, float *heat,
                         int32_t *explained, float *score, int32_t *predicted)
{
    if (n < 0) return rm_error("occlusion: %d images, expected >= 0", n);
    for (int i = 0; target && i < n; i++)
        if (target[i] >= o->K)
            return rm_error("occlusion: target class %d of image %d is out of range 0..%d", target[i], i, o->K - 1);
    const size_t hw = (size_t)o->H * o->W, image_bytes = (size_t)o->C * hw;
    const int64_t per_image = (int64_t)o->npatch + 1, total = per_image * n;
    int cls = 0;       /* the current image's explained class ... */
    float p0 = 0;      /* ... and its probability on the original */
    for (int64_t t0 = 0; t0 < total; t0 += o->max_batch) {
        int m = total - t0 < o->max_batch ? (int)(total - t0) : o->max_batch;
#pragma omp parallel for schedule(static)
        for (int j = 0; j < m; j++) {
            int64_t t = t0 + j;
            assemble(o, o->batch + (size_t)j * image_bytes, images + (size_t)(t / per_image) * image_bytes,
                     (int)(t % per_image) - 1);
        }
        RM_TRY(rm_predictor_run(o->pred, o->batch, m, o->probs));
        for (int j = 0; j < m; j++) {
            int64_t t = t0 + j;
            int i = (int)(t / per_image), q = (int)(t % per_image) - 1;
            const float *pj = o->probs + (size_t)j * o->K;
            float *h = heat + (size_t)i * hw;
            if (q < 0) {
                int pred = rm_argmax(pj, o->K);
                cls = target && target[i] >= 0 ? target[i] : pred;
                p0 = pj[cls];
                if (explained) explained[i] = cls;
                if (score) score[i] = p0;
                if (predicted) predicted[i] = pred;
                memset(h, 0, sizeof *h * hw);
                continue;
            }
            float d = p0 - pj[cls];
            int y0 = o->ys[q / o->nx], x0 = o->xs[q % o->nx];
            for (int y = y0; y < y0 + o->patch_h; y++)
                for (int x = x0; x < x0 + o->patch_w; x++) h[(size_t)y * o->W + x] += d;
            if (q == o->npatch - 1)
                for (size_t k = 0; k < hw; k++) h[k] *= o->inv_cover[k];
        }
    }
    return 0;
}

int rm_occlusion_run(rm_predictor *p, const rm_occlusion_config *cfg, const uint8_t *images, int n, int C, int H,
                     int W, const int32_t *target, float *heat, int32_t *explained, float *score, int32_t *predicted)
{
    rm_occlusion *o;
    RM_TRY(rm_occlusion_create(&o, p, cfg, C, H, W));
    int rc = rm_occlusion_explain(o, images, n, target, heat, explained, score, predicted);
    rm_occlusion_destroy(o);
    return rc;
}
