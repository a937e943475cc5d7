/* Channel conversion and resampling (rm_image_convert; rm_image_resizer
 * prepares it once for many images and adds its adjoint): a separable
 * two-pass filter, horizontal then vertical, with weights precomputed per
 * axis.
 *
 * All weights are integers over a per-axis denominator, so the result is
 * the exact rational value rounded once (half up):
 *   box (downscale s -> d): a source pixel spans d units and an output
 *     pixel s units; the weight is the overlap, the denominator s;
 *   bilinear (upscale): the source coordinate (2i+1)s/(2d) - 1/2 is a
 *     multiple of 1/(2d); weights are (2d - r, r), the denominator 2d;
 *   identity: weight 1.
 * Since the weights sum to the denominator the result never leaves
 * 0..255, so no clamping is needed. */
#include "core/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct {
    int taps;           /* weights per output (zero-padded) */
    int32_t denom;
    int *first;         /* [dst] first source index, first + taps <= src */
    int32_t *w;         /* [dst][taps] */
} axis_filter;

/* Source pixels overlapping output i of a box filter s -> d (d < s), in
 * units where a source pixel is d long: [lo, hi) = [i s, (i+1) s). */
static int box_span(int s, int d, int i, int *j0)
{
    int64_t lo = (int64_t)i * s, hi = lo + s;
    *j0 = (int)(lo / d);
    return (int)((hi - 1) / d) - *j0 + 1;
}

static int axis_taps(int s, int d)
{
    if (d == s) return 1;
    if (d > s) return s > 1 ? 2 : 1;
    int taps = 0;
    for (int i = 0, j0; i < d; i++) {
        int n = box_span(s, d, i, &j0);
        if (n > taps) taps = n;
    }
    return taps;
}

/* Writes the weights of output i to w (zeroed, taps long) and returns the
 * source index of w[0]. */
static int axis_weights(int s, int d, int i, int32_t *w)
{
    if (d == s) {
        w[0] = 1;
        return i;
    }
    if (d < s) {
        int j0, n = box_span(s, d, i, &j0);
        int64_t lo = (int64_t)i * s, hi = lo + s;
        for (int k = 0; k < n; k++) {
            int64_t a = (int64_t)(j0 + k) * d, b = a + d;
            w[k] = (int32_t)((b < hi ? b : hi) - (a > lo ? a : lo));
        }
        return j0;
    }
    int64_t num = (int64_t)(2 * i + 1) * s - d, den = 2 * (int64_t)d;
    if (num <= 0) {
        w[0] = (int32_t)den;
        return 0;
    }
    int x0 = (int)(num / den);
    int32_t r = (int32_t)(num % den);
    if (x0 >= s - 1) {
        w[0] = (int32_t)den;
        return s - 1;
    }
    w[0] = (int32_t)den - r;
    w[1] = r;
    return x0;
}

/* Fills f (first/w already pointing at storage) for src -> dst. */
static void axis_init(axis_filter *f, int s, int d)
{
    f->denom = d == s ? 1 : d < s ? s : 2 * d;
    memset(f->w, 0, (size_t)d * f->taps * sizeof *f->w);
    for (int i = 0; i < d; i++) {
        int32_t *w = f->w + (size_t)i * f->taps;
        int j = axis_weights(s, d, i, w);
        f->first[i] = j;
        if (j + f->taps <= s) continue;
        /* near the end, shift the window left so it stays inside the source */
        int shift = j + f->taps - s;
        memmove(w + shift, w, (size_t)(f->taps - shift) * sizeof *w);
        memset(w, 0, (size_t)shift * sizeof *w);
        f->first[i] = s - f->taps;
    }
}

typedef struct {
    axis_filter fx, fy;
    int64_t *acc;       /* [dst width] vertical accumulators */
    int32_t *tmp;       /* [src height][dst width] horizontal pass */
    uint8_t *luma;      /* [src width] */
    void *block;
} resampler;

static int resampler_init(resampler *r, int sw, int sh, int dw, int dh)
{
    r->fx.taps = axis_taps(sw, dw);
    r->fy.taps = axis_taps(sh, dh);
    size_t n_acc = (size_t)dw, n_tmp = (size_t)sh * dw;
    size_t n_fx = (size_t)dw * r->fx.taps, n_fy = (size_t)dh * r->fy.taps;
    size_t bytes = n_acc * sizeof(int64_t) +
                   (n_tmp + dw + n_fx + dh + n_fy) * sizeof(int32_t) + (size_t)sw;
    char *p = r->block = rm_malloc(bytes, "resampling buffers");
    if (!p) return -1;
    r->acc = (int64_t *)p;          p += n_acc * sizeof(int64_t);
    r->tmp = (int32_t *)p;          p += n_tmp * sizeof(int32_t);
    r->fx.first = (int *)p;         p += (size_t)dw * sizeof(int32_t);
    r->fx.w = (int32_t *)p;         p += n_fx * sizeof(int32_t);
    r->fy.first = (int *)p;         p += (size_t)dh * sizeof(int32_t);
    r->fy.w = (int32_t *)p;         p += n_fy * sizeof(int32_t);
    r->luma = (uint8_t *)p;
    axis_init(&r->fx, sw, dw);
    axis_init(&r->fy, sh, dh);
    return 0;
}

/* BT.601 luma, exact to the rounding: (299 R + 587 G + 114 B) / 1000. */
static inline uint8_t luma(uint8_t r, uint8_t g, uint8_t b)
{
    return (uint8_t)((299 * r + 587 * g + 114 * b + 500) / 1000);
}

/* Row y of output channel c before resampling: a source plane row, or
 * the luma of an RGB row computed into buf. */
static const uint8_t *source_row(const rm_image *src, int out_channels, int c, int y,
                                 uint8_t *buf)
{
    size_t plane = (size_t)src->width * src->height;
    const uint8_t *row = src->pixels + (size_t)y * src->width;
    if (src->channels == 1) return row;
    if (out_channels == 3) return row + c * plane;
    for (int x = 0; x < src->width; x++) buf[x] = luma(row[x], row[plane + x], row[2 * plane + x]);
    return buf;
}

static void resample_plane(resampler *r, const rm_image *src, int c, rm_image *dst)
{
    const axis_filter *fx = &r->fx, *fy = &r->fy;
    int dw = dst->width, tx = fx->taps, ty = fy->taps;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *row = source_row(src, dst->channels, c, y, r->luma);
        int32_t *out = r->tmp + (size_t)y * dw;
        for (int x = 0; x < dw; x++) {
            const uint8_t *p = row + fx->first[x];
            const int32_t *w = fx->w + (size_t)x * tx;
            int32_t sum = 0;
            for (int k = 0; k < tx; k++) sum += w[k] * p[k];
            out[x] = sum;
        }
    }
    int64_t denom = (int64_t)fx->denom * fy->denom, half = denom / 2;
    uint8_t *plane = dst->pixels + (size_t)c * dw * dst->height;
    for (int y = 0; y < dst->height; y++) {
        memset(r->acc, 0, (size_t)dw * sizeof *r->acc);
        for (int k = 0; k < ty; k++) {
            int64_t w = fy->w[(size_t)y * ty + k];
            const int32_t *t = r->tmp + (size_t)(fy->first[y] + k) * dw;
            if (w == 0) continue;
            for (int x = 0; x < dw; x++) r->acc[x] += w * t[x];
        }
        uint8_t *out = plane + (size_t)y * dw;
        for (int x = 0; x < dw; x++) out[x] = (uint8_t)((r->acc[x] + half) / denom);
    }
}

static int check_image(const rm_image *img, const char *which)
{
    if (!img->pixels || img->width <= 0 || img->height <= 0 ||
        img->width > RM_IMAGE_MAX_SIDE || img->height > RM_IMAGE_MAX_SIDE ||
        (img->channels != 1 && img->channels != 3))
        return rm_error("image conversion: invalid %s image %dx%d with %d channels", which,
                        img->width, img->height, img->channels);
    return 0;
}

/* Same size: channel conversion only, bytes copied exactly. */
static void convert_same_size(const rm_image *src, rm_image *dst)
{
    size_t plane = (size_t)dst->width * dst->height;
    for (int c = 0; c < dst->channels; c++)
        for (int y = 0; y < dst->height; y++) {
            uint8_t *out = dst->pixels + c * plane + (size_t)y * dst->width;
            const uint8_t *row = source_row(src, dst->channels, c, y, out);
            if (row != out) memcpy(out, row, (size_t)dst->width);
        }
}

static void convert(resampler *r, const rm_image *src, rm_image *dst)
{
    if (src->width == dst->width && src->height == dst->height) {
        convert_same_size(src, dst);
        return;
    }
    /* gray -> RGB: resample once, then replicate the plane */
    int planes = src->channels == 1 ? 1 : dst->channels;
    for (int c = 0; c < planes; c++) resample_plane(r, src, c, dst);
    size_t plane = (size_t)dst->width * dst->height;
    for (int c = planes; c < dst->channels; c++)
        memcpy(dst->pixels + c * plane, dst->pixels, plane);
}

int rm_image_convert(const rm_image *src, rm_image *dst)
{
    RM_TRY(check_image(src, "source"));
    RM_TRY(check_image(dst, "destination"));
    if (src->width == dst->width && src->height == dst->height) {
        convert_same_size(src, dst);
        return 0;
    }
    resampler r;
    RM_TRY(resampler_init(&r, src->width, src->height, dst->width, dst->height));
    convert(&r, src, dst);
    free(r.block);
    return 0;
}

/* --- prepared conversions and their adjoint --------------------------------- */

/* The luma weights of luma() as exact reals, for M on floats and M^T. */
static const double luma_w[3] = {299.0 / 1000, 587.0 / 1000, 114.0 / 1000};

struct rm_image_resizer {
    rm_image src, dst;     /* shapes; pixels point at the caller's bytes during apply */
    resampler r;
    double *plane_in;      /* [dst H*W] */
    double *tmp;           /* [src H][dst W] */
    double *row;           /* [src W] */
    double *plane_out;     /* [src H*W] */
};

int rm_image_resizer_create(rm_image_resizer **out, int src_channels, int src_height, int src_width,
                            int dst_channels, int dst_height, int dst_width)
{
    *out = NULL;
    uint8_t one = 0;
    rm_image s = {src_width, src_height, src_channels, &one}, d = {dst_width, dst_height, dst_channels, &one};
    RM_TRY(check_image(&s, "source"));
    RM_TRY(check_image(&d, "destination"));
    rm_image_resizer *z = rm_calloc(1, sizeof *z, "a resizer");
    if (!z) return -1;
    z->src = s;
    z->dst = d;
    size_t sp = (size_t)src_width * src_height, dp = (size_t)dst_width * dst_height;
    size_t tmp = (size_t)src_height * dst_width;
    z->plane_in = rm_malloc(sizeof(double) * (dp + tmp + (size_t)src_width + sp), "resizer buffers");
    if (!z->plane_in || resampler_init(&z->r, src_width, src_height, dst_width, dst_height) != 0) {
        free(z->plane_in);
        free(z);
        return -1;
    }
    z->tmp = z->plane_in + dp;
    z->row = z->tmp + tmp;
    z->plane_out = z->row + src_width;
    *out = z;
    return 0;
}

void rm_image_resizer_apply(rm_image_resizer *z, const uint8_t *src, uint8_t *dst)
{
    z->src.pixels = (uint8_t *)src;
    z->dst.pixels = dst;
    convert(&z->r, &z->src, &z->dst);
}

/* plane_in = (Ay x Ax) plane_out over both denominators: the horizontal
 * weights into tmp, then the vertical ones. */
static void forward_plane(rm_image_resizer *z)
{
    const axis_filter *fx = &z->r.fx, *fy = &z->r.fy;
    const int sw = z->src.width, sh = z->src.height, dw = z->dst.width, dh = z->dst.height;
    const int tx = fx->taps, ty = fy->taps;
    for (int y = 0; y < sh; y++) {
        const double *row = z->plane_out + (size_t)y * sw;
        double *t = z->tmp + (size_t)y * dw;
        for (int x = 0; x < dw; x++) {
            const int32_t *w = fx->w + (size_t)x * tx;
            const double *p = row + fx->first[x];
            double sum = 0;
            for (int k = 0; k < tx; k++) sum += w[k] * p[k];
            t[x] = sum;
        }
    }
    const double denom = (double)fx->denom * (double)fy->denom;
    for (int y = 0; y < dh; y++) {
        double *out = z->plane_in + (size_t)y * dw;
        memset(out, 0, sizeof *out * (size_t)dw);
        for (int k = 0; k < ty; k++) {
            double w = fy->w[(size_t)y * ty + k];
            if (w == 0) continue;
            const double *t = z->tmp + (size_t)(fy->first[y] + k) * dw;
            for (int x = 0; x < dw; x++) out[x] += w * t[x];
        }
        for (int x = 0; x < dw; x++) out[x] /= denom;
    }
}

void rm_image_resizer_apply_float(rm_image_resizer *z, const float *src, float *dst)
{
    const size_t sp = (size_t)z->src.width * z->src.height, dp = (size_t)z->dst.width * z->dst.height;
    const int sc = z->src.channels, dc = z->dst.channels;
    for (int c = 0; c < dc; c++) {
        if (sc == 1 && c > 0) {   /* gray -> RGB: the one plane again */
            memcpy(dst + (size_t)c * dp, dst, sizeof *dst * dp);
            continue;
        }
        if (sc == dc)
            for (size_t p = 0; p < sp; p++) z->plane_out[p] = src[(size_t)c * sp + p];
        else if (sc == 1)
            for (size_t p = 0; p < sp; p++) z->plane_out[p] = src[p];
        else   /* RGB -> gray: the luma with its exact weights */
            for (size_t p = 0; p < sp; p++)
                z->plane_out[p] = luma_w[0] * src[p] + luma_w[1] * src[sp + p] + luma_w[2] * src[2 * sp + p];
        forward_plane(z);
        for (size_t p = 0; p < dp; p++) dst[(size_t)c * dp + p] = (float)z->plane_in[p];
    }
}

/* plane_out = (Ay x Ax)^T plane_in: the vertical weights' transpose into
 * tmp, then the horizontal ones', over both denominators. */
static void adjoint_plane(rm_image_resizer *z)
{
    const axis_filter *fx = &z->r.fx, *fy = &z->r.fy;
    const int sw = z->src.width, sh = z->src.height, dw = z->dst.width, dh = z->dst.height;
    const int tx = fx->taps, ty = fy->taps;
    memset(z->tmp, 0, sizeof *z->tmp * (size_t)sh * dw);
    for (int y = 0; y < dh; y++)
        for (int k = 0; k < ty; k++) {
            double w = fy->w[(size_t)y * ty + k];
            if (w == 0) continue;
            double *t = z->tmp + (size_t)(fy->first[y] + k) * dw;
            const double *in = z->plane_in + (size_t)y * dw;
            for (int x = 0; x < dw; x++) t[x] += w * in[x];
        }
    const double denom = (double)fx->denom * (double)fy->denom;
    for (int y = 0; y < sh; y++) {
        memset(z->row, 0, sizeof *z->row * (size_t)sw);
        const double *t = z->tmp + (size_t)y * dw;
        for (int x = 0; x < dw; x++) {
            const int32_t *w = fx->w + (size_t)x * tx;
            double *o = z->row + fx->first[x];
            for (int k = 0; k < tx; k++) o[k] += w[k] * t[x];
        }
        double *out = z->plane_out + (size_t)y * sw;
        for (int x = 0; x < sw; x++) out[x] = z->row[x] / denom;
    }
}

void rm_image_resizer_adjoint(rm_image_resizer *z, const float *in, float *out)
{
    const size_t sp = (size_t)z->src.width * z->src.height, dp = (size_t)z->dst.width * z->dst.height;
    const int sc = z->src.channels, dc = z->dst.channels;
    if (sc == 1) {   /* gray -> RGB replicated the plane: its relevance is the sum over the copies */
        for (size_t p = 0; p < dp; p++) z->plane_in[p] = in[p];
        for (int c = 1; c < dc; c++)
            for (size_t p = 0; p < dp; p++) z->plane_in[p] += in[(size_t)c * dp + p];
        adjoint_plane(z);
        for (size_t p = 0; p < sp; p++) out[p] = (float)z->plane_out[p];
        return;
    }
    for (int c = 0; c < dc; c++) {
        for (size_t p = 0; p < dp; p++) z->plane_in[p] = in[(size_t)c * dp + p];
        adjoint_plane(z);
        if (dc == 3) {
            for (size_t p = 0; p < sp; p++) out[(size_t)c * sp + p] = (float)z->plane_out[p];
            continue;
        }
        /* RGB -> gray took the luma: its relevance is spread by the same weights */
        for (int k = 0; k < 3; k++)
            for (size_t p = 0; p < sp; p++) out[(size_t)k * sp + p] = (float)(luma_w[k] * z->plane_out[p]);
    }
}

void rm_image_resizer_destroy(rm_image_resizer *z)
{
    if (!z) return;
    free(z->r.block);
    free(z->plane_in);
    free(z);
}
