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

int rm_evaluate(rm_net *net, rm_loader *loader, rm_eval_result *out, float *logits)
{
    int k = net->def->classes;
    memset(out, 0, sizeof *out);
    out->num_classes = k;
    out->confusion = rm_calloc((size_t)k * (size_t)k, sizeof *out->confusion, "confusion matrix");
    if (!out->confusion) return -1;
    RM_TRY(rm_loader_start_epoch(loader, 0));
    const rm_batch *b;
    int got;
    int64_t correct = 0, labeled = 0;
    double loss = 0;
    /* the loader's batches may be larger than the net's (rm_infer_net runs
     * them in cache-sized slices); the first is the largest */
    float *z = NULL;
    while ((got = rm_loader_next(loader, &b)) == 1) {
        if (!z && !(z = rm_malloc(sizeof *z * (size_t)b->count * (size_t)k, "logits of a batch"))) return -1;
        if (rm_net_forward_images(net, b->images, b->count, z) != 0) {
            free(z);
            return -1;
        }
        for (int n = 0; n < b->count; n++) {
            const float *row = z + (size_t)n * k;
            int pred = rm_argmax(row, k), label = b->labels[n];
            if (label >= 0 && label < k) {   /* -1: an unlabeled record */
                labeled++;
                correct += pred == label;
                out->confusion[(size_t)label * k + pred]++;
                loss += row_loss(row, k, label);
            }
            if (logits) memcpy(logits + (size_t)(out->count + n) * k, row, sizeof(float) * (size_t)k);
        }
        out->count += b->count;
    }
    free(z);
    if (got < 0) return -1;
    if (out->count == 0) return rm_error("evaluation: no records");
    out->labeled = labeled;
    out->accuracy = labeled ? (double)correct / (double)labeled : NAN;
    out->loss = labeled ? loss / (double)labeled : NAN;
    return 0;
}
