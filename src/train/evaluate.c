#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/argmax.h"
#include "core/error.h"
#include "train/train.h"

void rm_eval_result_free(rm_eval_result *r)
{
    free(r->confusion);
    memset(r, 0, sizeof *r);
}

void rm_softmax_row(const float *z, int k, double *p)
{
    double max = z[0], sum = 0;
    for (int j = 1; j < k; j++) max = fmax(max, z[j]);
    for (int j = 0; j < k; j++) sum += exp((double)z[j] - max);
    for (int j = 0; j < k; j++) p[j] = exp((double)z[j] - max) / sum;
}

/* Cross-entropy of one row of logits, stable. */
static double row_loss(const float *z, int k, int label)
{
    double max = z[0], sum = 0;
    for (int j = 1; j < k; j++) max = fmax(max, z[j]);
    for (int j = 0; j < k; j++) sum += exp((double)z[j] - max);
    return log(sum) + max - z[label];
}

/* Counts rows of logits into out; out->loss holds the summed loss until
 * finish_result divides it. */
static void count_rows(rm_eval_result *out, const float *z, const int32_t *labels, int64_t n, int64_t *correct)
{
    const int k = out->num_classes;
    for (int64_t i = 0; i < n; i++) {
        const float *row = z + (size_t)i * k;
        int pred = rm_argmax(row, k), label = labels[i];
        if (label >= 0 && label < k) {   /* -1: an unlabeled record */
            out->labeled++;
            *correct += pred == label;
            out->confusion[(size_t)label * k + pred]++;
            out->loss += row_loss(row, k, label);
        }
    }
    out->count += n;
}

static int start_result(rm_eval_result *out, int k)
{
    memset(out, 0, sizeof *out);
    out->num_classes = k;
    out->confusion = rm_calloc((size_t)k * (size_t)k, sizeof *out->confusion, "confusion matrix");
    return out->confusion ? 0 : -1;
}

static int finish_result(rm_eval_result *out, int64_t correct, int allow_empty)
{
    if (out->count == 0 && !allow_empty) return rm_error("evaluation: no records");
    out->accuracy = out->labeled ? (double)correct / (double)out->labeled : NAN;
    out->loss = out->labeled ? out->loss / (double)out->labeled : NAN;
    return 0;
}

static int evaluate(rm_net *net, rm_loader *loader, rm_eval_result *out, float *logits, int allow_empty)
{
    int k = net->def->classes;
    RM_TRY(start_result(out, k));
    RM_TRY(rm_loader_start_epoch(loader, 0));
    const rm_batch *b;
    int got;
    int64_t correct = 0;
    /* the loader's batches may be larger than the net's (rm_infer_net runs
     * them in cache-sized slices); the first is the largest */
    float *z = NULL;
    while ((got = rm_loader_next(loader, &b)) == 1) {
        if (b->count == 0) continue;   /* a data-parallel part past the end */
        if (!z && !(z = rm_malloc(sizeof *z * (size_t)b->count * (size_t)k, "logits of a batch"))) return -1;
        if (rm_net_forward_images(net, b->images, b->count, z) != 0) {
            free(z);
            return -1;
        }
        if (logits) memcpy(logits + (size_t)out->count * k, z, sizeof(float) * (size_t)b->count * (size_t)k);
        count_rows(out, z, b->labels, b->count, &correct);
    }
    free(z);
    if (got < 0) return -1;
    return finish_result(out, correct, allow_empty);
}

int rm_evaluate(rm_net *net, rm_loader *loader, rm_eval_result *out, float *logits)
{
    return evaluate(net, loader, out, logits, 0);
}

int rm_evaluate_part(rm_net *net, rm_loader *loader, rm_eval_result *out, float *logits)
{
    return evaluate(net, loader, out, logits, 1);
}

int rm_eval_logits(rm_eval_result *out, const float *logits, const int32_t *labels, int64_t n, int k)
{
    RM_TRY(start_result(out, k));
    int64_t correct = 0;
    count_rows(out, logits, labels, n, &correct);
    return finish_result(out, correct, 0);
}
