/* The input convolution's relevance in plain C (see lrp_first.h). */
#include "relevance/lrp_first.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct rm_lrp_first {
    rm_lrp_first_geom g;
    int hb, wb;                      /* padded plane: (h + k - 1) x (w + k - 1) */
    int64_t plane;                   /* hb * wb */
    int nthreads;
    float **s;                       /* per thread: [cout] planes of s, plus k floats of slack */
    float **acc;                     /* per thread: [RM_LRP_FIRST_GROUPS][h * wb] */
    float **row;                     /* per thread: one row of outputs [ow * blk] */
};

int rm_lrp_first_create(rm_lrp_first **out, const rm_lrp_first_geom *g)
{
    *out = NULL;
    rm_lrp_first *in = rm_calloc(1, sizeof *in, "LRP input layer");
    if (!in) return -1;
    in->g = *g;
    in->hb = g->h + g->k - 1;
    in->wb = g->w + g->k - 1;
    in->plane = (int64_t)in->hb * in->wb;
    in->nthreads = omp_get_max_threads();
    in->s = rm_calloc((size_t)in->nthreads, sizeof *in->s, "LRP input planes");
    in->acc = rm_calloc((size_t)in->nthreads, sizeof *in->acc, "LRP input planes");
    in->row = rm_calloc((size_t)in->nthreads, sizeof *in->row, "LRP input planes");
    int rc = in->s && in->acc && in->row ? 0 : -1;
    /* The whole shifted plane is read for every tap, including the junk
     * columns past w: k floats of slack keep the last one inside. */
    size_t ns = (size_t)(g->cout * in->plane + g->k), na = (size_t)RM_LRP_FIRST_GROUPS * g->h * in->wb;
    for (int t = 0; rc == 0 && t < in->nthreads; t++) {
        in->s[t] = rm_calloc(ns, sizeof(float), "LRP input planes");
        in->acc[t] = rm_calloc(na, sizeof(float), "LRP input planes");
        in->row[t] = rm_calloc((size_t)g->ow * (size_t)g->blk, sizeof(float), "LRP input planes");
        if (!in->s[t] || !in->acc[t] || !in->row[t]) rc = -1;
        else memset(in->s[t], 0, ns * sizeof(float));   /* touched now, not in the first batch */
    }
    if (rc != 0) {
        rm_lrp_first_destroy(in);
        return -1;
    }
    *out = in;
    return 0;
}

void rm_lrp_first_destroy(rm_lrp_first *in)
{
    if (!in) return;
    for (int t = 0; t < in->nthreads; t++) {
        if (in->s) free(in->s[t]);
        if (in->acc) free(in->acc[t]);
        if (in->row) free(in->row[t]);
    }
    free(in->s);
    free(in->acc);
    free(in->row);
    free(in);
}

/* s = mask * R / stab(z') of image n, spread into the padded planes: output
 * (oy, ox) lands at row oy*stride + q, column ox*stride + q, q = k-1-pad;
 * every other cell stays zero. A row of outputs (all channels of a block)
 * is contiguous in nChw16c and in nchw: divided as one vector loop into
 * row, then spread. */
static void spread_s(const rm_lrp_first *in, float *s, float *row, const rm_lrp_first_pass *p, int64_t n)
{
    const rm_lrp_first_geom *g = &in->g;
    const int64_t *st = g->dst_strides;
    const int q = g->k - 1 - g->pad, S = g->stride, blk = g->blk;
    const int contiguous = st[3] == blk;
    const int nx = contiguous ? g->ow : 1;
    for (int cb = 0; cb * blk < g->cout; cb++) {
        int lanes = g->cout - cb * blk < blk ? g->cout - cb * blk : blk;
        for (int y = 0; y < g->oh; y++)
            for (int x0 = 0; x0 < g->ow; x0 += nx) {
                int64_t rel = cb * st[1] + y * st[2] + x0 * st[3];
                rm_lrp_divide(row, &p->div, n * st[0] + rel, rel, (int64_t)nx * blk);
                for (int x = 0; x < nx; x++) {
                    float *out = s + (int64_t)cb * blk * in->plane + (int64_t)(y * S + q) * in->wb + (x0 + x) * S + q;
                    for (int l = 0; l < lanes; l++) out[l * in->plane] = row[x * blk + l];
                }
            }
    }
}

/* acc[j] += w * src[j] for every tap (o, ky, kx) of input channel c, src the
 * plane of output channel o shifted by the tap, over the whole plane (h
 * rows of wb): three taps of a kernel row per pass over acc. */
static void taps(float *restrict acc, const float *restrict s, const float *restrict w, int c,
                 const rm_lrp_first *in)
{
    const rm_lrp_first_geom *g = &in->g;
    const int k = g->k;
    const int64_t n = (int64_t)g->h * in->wb;
    for (int o = 0; o < g->cout; o++)
        for (int ky = 0; ky < k; ky++) {
            const float *row = s + o * in->plane + (int64_t)(k - 1 - ky) * in->wb;
            const float *wr = w + (((int64_t)c * g->cout + o) * k + ky) * k;
            int kx = 0;
            for (; kx + 3 <= k; kx += 3) {
                const float *restrict s0 = row + (k - 1 - kx), *restrict s1 = s0 - 1, *restrict s2 = s0 - 2;
                const float w0 = wr[kx], w1 = wr[kx + 1], w2 = wr[kx + 2];
#pragma omp simd
                for (int64_t j = 0; j < n; j++) acc[j] = fmaf(w2, s2[j], fmaf(w1, s1[j], fmaf(w0, s0[j], acc[j])));
            }
            for (; kx < k; kx++) {
                const float *restrict s0 = row + (k - 1 - kx);
                const float w0 = wr[kx];
#pragma omp simd
                for (int64_t j = 0; j < n; j++) acc[j] = fmaf(w0, s0[j], acc[j]);
            }
        }
}

static inline float multiplier(int mul, float x)
{
    switch (mul) {
    case RM_LRP_MUL_X: return x;
    case RM_LRP_MUL_XPOS: return x > 0 ? x : 0.f;
    case RM_LRP_MUL_XNEG: return x < 0 ? x : 0.f;
    default: return 1.f;
    }
}

void rm_lrp_first_run(rm_lrp_first *in, float *rin, const float *x, const rm_lrp_first_pass *p, int accumulate)
{
    const rm_lrp_first_geom *g = &in->g;
    const int64_t hw = (int64_t)g->h * g->w, nacc = (int64_t)g->h * in->wb;
#pragma omp parallel num_threads(in->nthreads)
    {
        int t = omp_get_thread_num();
        float *s = in->s[t], *acc = in->acc[t];
#pragma omp for schedule(static)
        for (int n = 0; n < g->batch; n++) {
            spread_s(in, s, in->row[t], p, n);
            for (int c = 0; c < g->cin; c++) {
                memset(acc, 0, (size_t)(p->ngroups * nacc) * sizeof *acc);
                for (int k = 0; k < p->ngroups; k++) taps(acc + k * nacc, s, p->w[k], c, in);
                const float *xc = x + ((int64_t)n * g->cin + c) * hw;
                float *rc = rin + ((int64_t)n * g->cin + c) * hw;
                for (int y = 0; y < g->h; y++) {
                    const float *xr = xc + (int64_t)y * g->w;
                    float *rr = rc + (int64_t)y * g->w;
                    const float *a = acc + (int64_t)y * in->wb;
                    for (int xx = 0; xx < g->w; xx++) {
                        float v = 0;
                        for (int k = 0; k < p->ngroups; k++) v += multiplier(p->mul[k], xr[xx]) * a[k * nacc + xx];
                        rr[xx] = accumulate ? rr[xx] + v : v;
                    }
                }
            }
        }
    }
}
