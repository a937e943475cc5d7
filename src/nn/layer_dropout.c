/* Inverted dropout, elementwise on the oneDNN buffer in the previous
 * layer's layout (padding included: padded entries are 0 and stay 0).
 *   training: y = keep ? x / (1-p) : 0, keep with probability 1-p;
 *             dx = keep ? dy / (1-p) : 0 with the mask kept from forward.
 * keep for buffer element i is a counter-based hash of (net->seed,
 * net->step, layer index, i): reproducible, independent of thread count,
 * and needs no stored generator state. (i is the index in oneDNN's layout,
 * so the masks depend on the layout oneDNN picks for this CPU.)
 * Inference, and p = 0, are the identity: dst aliases src (like flatten),
 * costing nothing; in training with p = 0 the backward copies dy to dx. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/net.h"
#include "core/rng.h"

typedef struct {
    int identity;
    size_t count;          /* floats in the buffer, layout padding included */
    uint8_t *mask;         /* [count] arena, training with p > 0 */
    float scale;           /* 1 / (1 - p) */
    uint64_t threshold;    /* drop when the 53-bit hash < p * 2^53 */
} dropout_impl;

enum { PARALLEL_MIN = 65536 };

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int dropout_build(rm_layer *l, rm_net *net)
{
    dropout_impl *d = rm_calloc(1, sizeof *d, "dropout layer");
    if (!d) return -1;
    l->impl = d;
    double p = l->def->p;
    if (!(p >= 0 && p < 1)) return rm_error("dropout probability %g outside [0, 1)", p);
    d->identity = net->mode != RM_MODE_TRAIN || p == 0;
    d->count = dnnl_memory_desc_get_size(&l->src_md) / sizeof(float);
    d->scale = (float)(1 / (1 - p));
    d->threshold = (uint64_t)(p * 0x1.0p53);
    l->dst_md = l->src_md;
    if (d->identity) {
        l->dst = l->src;
    } else {
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->dst_md, &l->dst));
        l->owns_dst = 1;
        RM_TRY(rm_arena_raw(&net->arena, d->count ? d->count : 1, (void **)&d->mask));
    }
    if (rm_layer_wants_diff(l, net, 0)) {
        RM_TRY(rm_arena_memory(&net->arena, &net->dnn, &l->src_md, &l->diff_src));
        l->owns_diff_src = 1;
    }
    return 0;
}

static int dropout_forward(rm_layer *l, rm_net *net)
{
    dropout_impl *d = l->impl;
    if (d->identity) return 0;
    RM_DNNL_TRY(dnnl_stream_wait(net->dnn.stream));   /* src was written by oneDNN */
    rm_rng rng;
    rm_rng_seed(&rng, net->seed, 0x64726f706f7574ULL ^ net->step, (uint64_t)l->index);
    const uint64_t base = rm_rng_next(&rng), threshold = d->threshold;
    const float *x = rm_memory_ptr(l->src);
    float *y = rm_memory_ptr(l->dst);
    uint8_t *mask = d->mask;
    const float scale = d->scale;
    const int64_t n = (int64_t)d->count;
    /* data-parallel: element i of a rank's batch is element i + first of the
     * whole batch (batch rows outermost), so ranks draw distinct masks */
    const uint64_t first = net->sample_offset * (d->count / (size_t)net->batch);
#pragma omp parallel for schedule(static) if (n > PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        uint8_t keep = (mix64(base + (first + (uint64_t)i + 1) * 0x9e3779b97f4a7c15ULL) >> 11) >= threshold;
        mask[i] = keep;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
    return 0;
}

static int dropout_backward(rm_layer *l, rm_net *net)
{
    dropout_impl *d = l->impl;
    if (!l->diff_src) return 0;
    RM_DNNL_TRY(dnnl_stream_wait(net->dnn.stream));   /* diff_dst was written by oneDNN */
    const float *dy = rm_memory_ptr(l->diff_dst);
    float *dx = rm_memory_ptr(l->diff_src);
    if (d->identity) {
        memcpy(dx, dy, d->count * sizeof(float));
        return 0;
    }
    const uint8_t *mask = d->mask;
    const float scale = d->scale;
    const int64_t n = (int64_t)d->count;
#pragma omp parallel for schedule(static) if (n > PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
    return 0;
}

static void dropout_destroy(rm_layer *l)
{
    free(l->impl);
    l->impl = NULL;
}

const rm_layer_ops rm_dropout_ops = {dropout_build, dropout_forward, dropout_backward, dropout_destroy, NULL};
