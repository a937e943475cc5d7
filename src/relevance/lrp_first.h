/* The input convolution's relevance without oneDNN's backward-data. Private
 * to src/relevance.
 *
 * The first convolution reads the plain NCHW batch with very few channels
 * (1 for grey images, 3 for RGB). oneDNN 2.6 has no fast backward-data into
 * so few channels: its kernels pad the channels to a full vector block (16x
 * the work for one channel) and a plain output layout falls back to the
 * reference kernel. Here one pass (the divide s = R / stab(z'), the
 * transposed convolution c_g = W_g^T s and the multiplication by the input)
 * runs per image in cache:
 *
 *   rin[n,c,y,x] (+)= sum_g mul_g(x[n,c,y,x]) * (W_g^T s)[n,c,y,x]
 *
 * where mul_g is x, x+, x- or 1 and W_g already holds the pass's scale and,
 * for constant inputs (ones, the z-box bounds), the constant. s is spread
 * into a zero-padded (and, for stride > 1, zero-dilated) plane per output
 * channel, so the transposed convolution becomes a sum of shifted
 * whole-plane multiply-adds that the compiler vectorizes. */
#ifndef RELMASK_LRP_FIRST_H
#define RELMASK_LRP_FIRST_H

#include <stddef.h>
#include <stdint.h>

/* What the divide s = mask * R / stab(z') reads, z' = zd + zc (either may
 * be absent). R is r, or, when the layer above left its last step to this
 * divide, rscale * rx * r (its input times its c: one pass over the data
 * fewer). mask 1 keeps outputs with zo >= 0, 2 those with zo < 0. Shared
 * by both LRP paths. */
typedef struct {
    const float *r, *rx;
    float rscale;
    const float *zd, *zc, *zo;
    float eps;
    int mask;
} rm_lrp_div;

/* has_* and mask are constants at every call: each variant is a branch-free
 * vector loop reading only what it needs. */
static inline void rm_lrp_divide_span(float *restrict s, const float *restrict r, const float *restrict rx,
                                      float rscale, const float *restrict zd, const float *restrict zc,
                                      const float *restrict zo, int64_t n, float eps, const int mask,
                                      const int has_rx, const int has_zd, const int has_zc)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float z = (has_zd ? zd[i] : 0.f) + (has_zc ? zc[i] : 0.f);
        float rr = has_rx ? rscale * rx[i] * r[i] : r[i];
        float keep = mask == 0 ? 1.f : (zo[i] >= 0) == (mask == 1) ? 1.f : 0.f;
        float d = z + (z >= 0 ? eps : -eps);
        float q = keep * rr / (d != 0 ? d : 1.f);
        s[i] = d != 0 ? q : 0.f;   /* only LRP-0 can meet z' = 0: no relevance passes */
    }
}

/* One call per combination of mask, rx, zd and zc, each with constant flags. */
#define RM_LRP_DIVIDE_VARIANT(s, d, r, rx, zd, zc, zo, n, has_rx, has_zd, has_zc)                            \
    do {                                                                                                      \
        if ((d)->mask == 0)                                                                                   \
            rm_lrp_divide_span(s, r, rx, (d)->rscale, zd, zc, zo, n, (d)->eps, 0, has_rx, has_zd, has_zc);    \
        else if ((d)->mask == 1)                                                                              \
            rm_lrp_divide_span(s, r, rx, (d)->rscale, zd, zc, zo, n, (d)->eps, 1, has_rx, has_zd, has_zc);    \
        else                                                                                                  \
            rm_lrp_divide_span(s, r, rx, (d)->rscale, zd, zc, zo, n, (d)->eps, 2, has_rx, has_zd, has_zc);    \
    } while (0)

/* s[0..n) from the outputs at offset i (zc at offset ic: it holds one image). */
static inline void rm_lrp_divide(float *s, const rm_lrp_div *d, int64_t i, int64_t ic, int64_t n)
{
    const float *r = d->r + i, *rx = d->rx ? d->rx + i : NULL, *zo = d->zo + i;
    const float *zd = d->zd ? d->zd + i : NULL, *zc = d->zc ? d->zc + ic : NULL;
    if (rx && zd && zc) RM_LRP_DIVIDE_VARIANT(s, d, r, rx, zd, zc, zo, n, 1, 1, 1);
    else if (rx && zd) RM_LRP_DIVIDE_VARIANT(s, d, r, rx, zd, zc, zo, n, 1, 1, 0);
    else if (rx) RM_LRP_DIVIDE_VARIANT(s, d, r, rx, zd, zc, zo, n, 1, 0, 1);
    else if (zd && zc) RM_LRP_DIVIDE_VARIANT(s, d, r, rx, zd, zc, zo, n, 0, 1, 1);
    else if (zd) RM_LRP_DIVIDE_VARIANT(s, d, r, rx, zd, zc, zo, n, 0, 1, 0);
    else RM_LRP_DIVIDE_VARIANT(s, d, r, rx, zd, zc, zo, n, 0, 0, 1);
}

typedef struct {
    int batch, cin, h, w;            /* input, plain NCHW */
    int cout, oh, ow, k, stride, pad;
    int64_t dst_strides[4];          /* the output layout's strides (floats) of n, channel block, h, w */
    int blk;                         /* its channel block (1: not blocked, e.g. nchw or nhwc) */
} rm_lrp_first_geom;

enum { RM_LRP_MUL_X, RM_LRP_MUL_XPOS, RM_LRP_MUL_XNEG, RM_LRP_MUL_ONE };
enum { RM_LRP_FIRST_GROUPS = 3 };

typedef struct {
    rm_lrp_div div;                  /* zd, zc (one image), zo, eps, mask; r, rx: per run */
    int ngroups;                     /* 1..RM_LRP_FIRST_GROUPS */
    int mul[RM_LRP_FIRST_GROUPS];
    const float *w[RM_LRP_FIRST_GROUPS];   /* [cin][cout][k][k] */
} rm_lrp_first_pass;

typedef struct rm_lrp_first rm_lrp_first;

/* Per-thread planes for up to omp_get_max_threads() threads. */
int rm_lrp_first_create(rm_lrp_first **out, const rm_lrp_first_geom *g);
/* x: the input batch (plain); rin: plain [B,C,H,W], overwritten or
 * (accumulate) added to. */
void rm_lrp_first_run(rm_lrp_first *in, float *rin, const float *x, const rm_lrp_first_pass *p, int accumulate);
void rm_lrp_first_destroy(rm_lrp_first *in);

#endif
