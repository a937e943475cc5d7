/* Relevance post-processing, in this order: sign (positive, absolute or
 * negative part), separable edge-clamped Gaussian smoothing, per-image
 * normalization (by the max or the sum), then the selection of pixels
 * (top fraction or threshold). Everything is a pure function of one map,
 * so images can be processed in parallel in any order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"
#include "encode/scratch.h"

int rm_gauss_radius(double sigma) { return sigma > 0 ? (int)ceil(3.0 * sigma) : 0; }

void rm_gauss_taps(double sigma, int radius, float *taps)
{
    if (radius == 0) {
        taps[0] = 1;
        return;
    }
    double sum = 0;
    for (int k = -radius; k <= radius; k++) sum += exp(-(double)k * k / (2 * sigma * sigma));
    for (int k = -radius; k <= radius; k++) taps[k + radius] = (float)(exp(-(double)k * k / (2 * sigma * sigma)) / sum);
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void rm_gauss_filter(const float *in, float *out, float *tmp, int h, int w, const float *taps, int radius)
{
    const float *t = taps + radius;   /* t[-radius..radius] */
    /* Rows: clamped reads near the left and right edges only. */
    for (int y = 0; y < h; y++) {
        const float *row = in + (size_t)y * w;
        float *o = tmp + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            float s = 0;
            if (x >= radius && x + radius < w) {
                const float *p = row + x;
                for (int k = -radius; k <= radius; k++) s += t[k] * p[k];
            } else {
                for (int k = -radius; k <= radius; k++) s += t[k] * row[clampi(x + k, 0, w - 1)];
            }
            o[x] = s;
        }
    }
    /* Columns: whole rows at a time, accumulated in tap order. */
    for (int y = 0; y < h; y++) {
        float *o = out + (size_t)y * w;
        for (int x = 0; x < w; x++) o[x] = 0;
        for (int k = -radius; k <= radius; k++) {
            const float *src = tmp + (size_t)clampi(y + k, 0, h - 1) * w;
            const float tk = t[k];
            for (int x = 0; x < w; x++) o[x] += tk * src[x];
        }
    }
}

int rm_encoder_relevance(const rm_encoder *e, const float *heat, float *rn, void *scratch, rm_encode_info *info)
{
    const size_t hw = (size_t)e->height * e->width;
    rm_encode_scratch s = rm_encode_scratch_split(scratch, hw);
    info->bad_pixel = -1;
    info->empty = 0;
    float *signed_map = e->smooth_radius > 0 ? s.a : rn;
    for (size_t i = 0; i < hw; i++) {
        float v = heat[i];
        if (!isfinite(v)) {
            info->bad_pixel = (int64_t)i;
            return -1;
        }
        switch (e->p.sign) {
        case RM_SIGN_POSITIVE: v = v > 0 ? v : 0; break;
        case RM_SIGN_ABSOLUTE: v = fabsf(v); break;
        default: v = v < 0 ? -v : 0; break;
        }
        signed_map[i] = v;
    }
    if (e->smooth_radius > 0) rm_gauss_filter(s.a, rn, s.b, e->height, e->width, e->smooth_taps, e->smooth_radius);
    float peak = 0;
    for (size_t i = 0; i < hw; i++) peak = rn[i] > peak ? rn[i] : peak;
    info->empty = !(peak > 0);
    if (info->empty) return 0;
    if (e->p.normalize == RM_NORMALIZE_MAX) {
        for (size_t i = 0; i < hw; i++) rn[i] /= peak;
    } else if (e->p.normalize == RM_NORMALIZE_SUM) {
        double sum = 0;
        for (size_t i = 0; i < hw; i++) sum += rn[i];
        for (size_t i = 0; i < hw; i++) rn[i] = (float)(rn[i] / sum);
    }
    return 0;
}

/* The selection order: larger value first, then lower index. It is a
 * total order (indices are unique), so the first k pixels form one set
 * whatever algorithm finds them. */
static inline int before(rm_encode_pair a, rm_encode_pair b) { return a.v > b.v || (a.v == b.v && a.i < b.i); }

static inline void swap_pairs(rm_encode_pair *a, rm_encode_pair *b)
{
    rm_encode_pair t = *a;
    *a = *b;
    *b = t;
}

/* Quickselect (median-of-three pivot): afterwards p[0..k) are the first k
 * of p[0..n) in the selection order, in no particular order. */
static void select_first(rm_encode_pair *p, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        if (before(p[mid], p[lo])) swap_pairs(&p[mid], &p[lo]);
        if (before(p[last], p[lo])) swap_pairs(&p[last], &p[lo]);
        if (before(p[mid], p[last])) swap_pairs(&p[mid], &p[last]);   /* the median is now at last */
        rm_encode_pair pivot = p[last];
        size_t store = lo;
        for (size_t t = lo; t < last; t++)
            if (before(p[t], pivot)) swap_pairs(&p[t], &p[store++]);
        swap_pairs(&p[store], &p[last]);
        if (store == k) return;
        if (store < k) lo = store + 1;
        else hi = store;
    }
}

/* The top round(keep area) pixels with rn > 0 of the rectangle
 * [y0,y1) x [x0,x1), marked in mask; pairs holds its area. */
static int64_t select_top(const rm_encoder *e, const float *rn, int y0, int y1, int x0, int x1, uint8_t *mask,
                          rm_encode_pair *pairs)
{
    const int64_t area = (int64_t)(y1 - y0) * (x1 - x0);
    const int64_t k = (int64_t)floor(e->p.keep * (double)area + 0.5);
    size_t n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const size_t i = (size_t)y * e->width + x;
            if (rn[i] > 0) pairs[n++] = (rm_encode_pair){rn[i], (int32_t)i};
        }
    if ((int64_t)n > k) {
        select_first(pairs, n, (size_t)k);
        n = (size_t)k;
    }
    for (size_t j = 0; j < n; j++) mask[pairs[j].i] = 1;
    return (int64_t)n;
}

int64_t rm_encoder_select(const rm_encoder *e, const float *rn, uint8_t *mask, void *scratch)
{
    const size_t hw = (size_t)e->height * e->width;
    memset(mask, 0, hw);
    int64_t count = 0;
    if (e->p.threshold >= 0) {
        for (size_t i = 0; i < hw; i++)
            if (rn[i] > 0 && (double)rn[i] >= e->p.threshold) {
                mask[i] = 1;
                count++;
            }
        return count;
    }
    rm_encode_scratch s = rm_encode_scratch_split(scratch, hw);
    const int th = e->p.tile > 0 ? e->p.tile : e->height, tw = e->p.tile > 0 ? e->p.tile : e->width;
    for (int y = 0; y < e->height; y += th)
        for (int x = 0; x < e->width; x += tw)
            count += select_top(e, rn, y, y + th < e->height ? y + th : e->height, x,
                                x + tw < e->width ? x + tw : e->width, mask, s.pairs);
    return count;
}
