/* Predictors: the shared entry points and the in-process one, a relmask
 * model on an RM_MODE_INFER network of its folded form. */
#include "relevance/predictor.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/image.h"
#include "core/pixels.h"
#include "nn/model_fold.h"
#include "train/train.h"

int rm_predictor_run(rm_predictor *p, const uint8_t *images, int n, float *probs)
{
    if (n < 0) return rm_error("predictor: %d images, expected >= 0", n);
    return n == 0 ? 0 : p->run(p, images, n, probs);
}

void rm_predictor_shape(const rm_predictor *p, int *channels, int *height, int *width, int *num_classes)
{
    if (channels) *channels = p->channels;
    if (height) *height = p->height;
    if (width) *width = p->width;
    if (num_classes) *num_classes = p->num_classes;
}

void rm_predictor_destroy(rm_predictor *p)
{
    if (p) p->destroy(p);
}

/* --- in-process: a relmask model ------------------------------------------ */

typedef struct {
    rm_predictor base;
    rm_infer_net infer;
    int batch;
    rm_pixel_norm norm;
} model_predictor;

/* Softmax of each row as relmask predict and eval compute it. */
static void softmax_rows(const float *z, float *p, int n, int k)
{
    double row[RM_MAX_CLASSES];
    for (int i = 0; i < n; i++) {
        rm_softmax_row(z + (size_t)i * k, k, row);
        for (int j = 0; j < k; j++) p[(size_t)i * k + j] = (float)row[j];
    }
}

static int model_run(rm_predictor *base, const uint8_t *images, int n, float *probs)
{
    model_predictor *mp = (model_predictor *)base;
    const int C = base->channels, K = base->num_classes;
    const size_t hw = (size_t)base->height * (size_t)base->width, per_image = (size_t)C * hw;
    float *x = mp->infer.input;
    for (int b0 = 0; b0 < n; b0 += mp->batch) {
        int m = n - b0 < mp->batch ? n - b0 : mp->batch;
        const uint8_t *src = images + (size_t)b0 * per_image;
#pragma omp parallel for schedule(static)
        for (int i = 0; i < m; i++)
            rm_pixel_norm_image(&mp->norm, src + (size_t)i * per_image, x + (size_t)i * per_image, hw);
        RM_TRY(rm_infer_net_forward(&mp->infer, m));
        softmax_rows(mp->infer.logits, probs + (size_t)b0 * K, m, K);
    }
    return 0;
}

static void model_destroy(rm_predictor *base)
{
    model_predictor *mp = (model_predictor *)base;
    rm_infer_net_destroy(&mp->infer);
    free(mp);
}

int rm_predictor_from_model(rm_predictor **out, const rm_model *model, int batch)
{
    *out = NULL;
    if (batch < 1) return rm_error("predictor: batch size %d, expected >= 1", batch);
    const rm_shape *in = &model->def.input;
    if (!model->norm_mean || !model->norm_std || model->channels != in->c)
        return rm_error("predictor: the model has no input normalization for its %d channel(s)", in->c);
    if (model->num_classes < 1 || model->num_classes > RM_MAX_CLASSES)
        return rm_error("predictor: the model has %d classes, expected 1..%d", model->num_classes, RM_MAX_CLASSES);
    model_predictor *mp = rm_calloc(1, sizeof *mp, "a model predictor");
    if (!mp) return -1;
    mp->base = (rm_predictor){in->c, in->h, in->w, model->num_classes, model_run, model_destroy};
    mp->batch = batch;
    int rc = 0;
    for (int c = 0; rc == 0 && c < in->c; c++)
        if (!(model->norm_std[c] > 0))
            rc = rm_error("predictor: the model's normalization std of channel %d is %g, expected > 0", c,
                          model->norm_std[c]);
    if (rc == 0) rc = rm_pixel_norm_init(&mp->norm, in->c, model->norm_mean, model->norm_std);
    if (rc == 0) rc = rm_infer_net_create(&mp->infer, model, batch);
    if (rc != 0) {
        model_destroy(&mp->base);
        return -1;
    }
    *out = &mp->base;
    return 0;
}

/* --- another input shape: converted, then the inner predictor ------------- */

typedef struct {
    rm_predictor base;          /* the data's shape */
    rm_predictor *inner;        /* the model's */
    rm_image_resizer *resizer;
    uint8_t *buf;               /* [batch, inner C,H,W] */
    int batch;
} resized_predictor;

static int resized_run(rm_predictor *base, const uint8_t *images, int n, float *probs)
{
    resized_predictor *rp = (resized_predictor *)base;
    const rm_predictor *in = rp->inner;
    const size_t from = (size_t)base->channels * base->height * base->width;
    const size_t to = (size_t)in->channels * in->height * in->width;
    for (int b0 = 0; b0 < n; b0 += rp->batch) {
        int m = n - b0 < rp->batch ? n - b0 : rp->batch;
        for (int i = 0; i < m; i++)
            rm_image_resizer_apply(rp->resizer, images + (size_t)(b0 + i) * from, rp->buf + (size_t)i * to);
        RM_TRY(rm_predictor_run(rp->inner, rp->buf, m, probs + (size_t)b0 * base->num_classes));
    }
    return 0;
}

static void resized_destroy(rm_predictor *base)
{
    resized_predictor *rp = (resized_predictor *)base;
    rm_predictor_destroy(rp->inner);
    rm_image_resizer_destroy(rp->resizer);
    free(rp->buf);
    free(rp);
}

int rm_predictor_resized(rm_predictor **out, rm_predictor *inner, int channels, int height, int width, int batch)
{
    *out = NULL;
    resized_predictor *rp = batch >= 1 ? rm_calloc(1, sizeof *rp, "a resizing predictor") : NULL;
    if (!rp) {
        rm_predictor_destroy(inner);
        return batch >= 1 ? -1 : rm_error("predictor: batch size %d, expected >= 1", batch);
    }
    rp->base = (rm_predictor){channels, height, width, inner->num_classes, resized_run, resized_destroy};
    rp->inner = inner;
    rp->batch = batch;
    size_t to = (size_t)inner->channels * inner->height * inner->width;
    int rc = rm_image_resizer_create(&rp->resizer, channels, height, width, inner->channels, inner->height,
                                     inner->width);
    if (rc == 0 && !(rp->buf = rm_malloc(to * (size_t)batch, "resized images"))) rc = -1;
    if (rc != 0) {
        resized_destroy(&rp->base);
        return -1;
    }
    *out = &rp->base;
    return 0;
}
