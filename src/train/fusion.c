/* Decision-level fusion: several models' class probabilities (each model
 * with its own input normalization) averaged with weights, and the metrics
 * of the fused prediction. The members agree on input shape and classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/argmax.h"
#include "core/error.h"
#include "train/train.h"

/* Members must fit the same inputs and name the same classes in the same
 * order; the message names the file that differs from the first. */
static int check_members(const char *const *paths, int n)
{
    rm_model first, other;
    RM_TRY(rm_model_load(&first, paths[0]));
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++) {
        if (rm_model_load(&other, paths[i]) != 0) {
            rc = -1;
            break;
        }
        const rm_shape *a = &first.def.input, *b = &other.def.input;
        if (a->c != b->c || a->h != b->h || a->w != b->w)
            rc = rm_error("cannot fuse %s with %s: %s expects %dx%dx%d inputs but %s %dx%dx%d", paths[i], paths[0],
                          paths[i], b->c, b->h, b->w, paths[0], a->c, a->h, a->w);
        else if (other.num_classes != first.num_classes)
            rc = rm_error("cannot fuse %s with %s: %s has %d classes but %s %d", paths[i], paths[0], paths[i],
                          other.num_classes, paths[0], first.num_classes);
        for (int c = 0; c < first.num_classes && rc == 0; c++)
            if (strcmp(other.class_names[c], first.class_names[c]) != 0)
                rc = rm_error("cannot fuse %s with %s: class %d is '%s' in %s but '%s' in %s", paths[i], paths[0],
                              c, other.class_names[c], paths[i], first.class_names[c], paths[0]);
        rm_model_free(&other);
    }
    rm_model_free(&first);
    return rc;
}

static int set_weights(rm_fusion *f, const double *weights, int n)
{
    f->weights = rm_malloc(sizeof *f->weights * (size_t)n, "fusion weights");
    if (!f->weights) return -1;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        if (!(w >= 0) || !isfinite(w)) return rm_error("fusion weight %d is %g, expected >= 0", i + 1, w);
        f->weights[i] = w;
        sum += w;
    }
    if (!(sum > 0)) return rm_error("the fusion weights sum to 0");
    for (int i = 0; i < n; i++) f->weights[i] /= sum;
    return 0;
}

/* Weighted mean of the members' softmax, its argmax, loss and confusion. */
static int fuse(rm_fusion *f)
{
    const int k = f->num_classes;
    const int64_t n = f->count;
    f->probs = rm_calloc((size_t)n * (size_t)k, sizeof *f->probs, "fused probabilities");
    f->predicted = rm_malloc(sizeof *f->predicted * (size_t)n, "fused predictions");
    f->result.confusion = rm_calloc((size_t)k * (size_t)k, sizeof *f->result.confusion, "confusion matrix");
    double *row = rm_malloc(sizeof *row * (size_t)k, "softmax row");
    int rc = !f->probs || !f->predicted || !f->result.confusion || !row ? -1 : 0;
    f->result.num_classes = k;
    f->result.count = n;
    const int32_t *labels = f->members[0].labels;
    int64_t correct = 0;
    double loss = 0;
    for (int64_t i = 0; i < n && rc == 0; i++) {
        double *p = f->probs + (size_t)i * k;
        for (int m = 0; m < f->num_models; m++) {
            rm_softmax_row(f->members[m].logits + (size_t)i * k, k, row);
            for (int j = 0; j < k; j++) p[j] += f->weights[m] * row[j];
        }
        int best = rm_argmax_double(p, k);
        f->predicted[i] = best;
        correct += best == labels[i];
        f->result.confusion[(size_t)labels[i] * k + best]++;
        loss -= log(p[labels[i]] > 0 ? p[labels[i]] : 0x1p-1074);
    }
    free(row);
    if (rc == 0) {
        f->result.accuracy = (double)correct / (double)n;
        f->result.loss = loss / (double)n;
    }
    return rc;
}

int rm_fusion_run(rm_fusion *f, const char *const *model_paths, const double *weights, int num_models,
                  const char *data_path, int split, int batch, int resize)
{
    memset(f, 0, sizeof *f);
    if (num_models < 1) return rm_error("fusion: no models given");
    RM_TRY(set_weights(f, weights, num_models));
    RM_TRY(check_members(model_paths, num_models));
    f->members = rm_calloc((size_t)num_models, sizeof *f->members, "fusion members");
    if (!f->members) return -1;
    for (int m = 0; m < num_models; m++) {
        f->num_models = m + 1;   /* rm_fusion_free frees what was started */
        rm_inference_options opt = {.split = split, .batch = batch, .want_logits = 1, .resize = resize};
        RM_TRY(rm_inference_run_with(&f->members[m], model_paths[m], data_path, &opt));
    }
    f->num_classes = f->members[0].model.num_classes;
    f->count = f->members[0].count;
    for (int m = 1; m < num_models; m++)
        if (f->members[m].count != f->count ||
            memcmp(f->members[m].indices, f->members[0].indices, sizeof *f->members[0].indices * (size_t)f->count))
            return rm_error("fusion: %s and %s saw different records", model_paths[m], model_paths[0]);
    return fuse(f);
}

void rm_fusion_free(rm_fusion *f)
{
    for (int m = 0; m < f->num_models && f->members; m++) rm_inference_free(&f->members[m]);
    free(f->members);
    free(f->weights);
    free(f->probs);
    free(f->predicted);
    rm_eval_result_free(&f->result);
    memset(f, 0, sizeof *f);
}
