/* relmask encode: every mode on hand-made images with exact expected
 * pixels, each post-processing step (sign, smoothing, normalization,
 * keep and threshold selection), whole files (records without relevance,
 * --only-explained, the relevance channel, provenance), determinism across
 * thread counts, a model trained on a relevance channel, and errors. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "encode/encode.h"
#include "core/error.h"
#include "core/h5util.h"
#include "core/relevance_file.h"
#include "test_util.h"

static const char *const classes3[3] = {"a", "b", "c"};

/* A 4x4 relevance map whose four largest values are at 5 (2.0), 8 (1.5),
 * 14 (1.0) and 3 (0.9); two values are negative and one is zero. */
static const float map4[16] = {0.1f, -3, 0.2f, 0.9f, 0.3f, 2.0f, 0, 0.4f,
                               1.5f, 0.5f, -1, 0.6f, 0.7f, 0.8f, 1.0f, 0.05f};
static int top4(int k) { return k == 3 || k == 5 || k == 8 || k == 14; }

static rm_encode_params params(rm_encode_mode mode)
{
    rm_encode_params p;
    rm_encode_params_defaults(&p, mode);
    p.smooth = 0;
    return p;
}

typedef struct {
    rm_encoder e;
    void *scratch;
} encoder;

static encoder make(const rm_encode_params *p, int c, int h, int w, const double *mean)
{
    encoder x;
    cr_assert_eq(rm_encoder_init(&x.e, p, c, h, w, mean), 0, "%s", rm_error_message());
    x.scratch = malloc(x.e.scratch_bytes);
    cr_assert(x.scratch);
    return x;
}

static void destroy(encoder *x)
{
    rm_encoder_free(&x->e);
    free(x->scratch);
}

/* rn of a map through sign, smoothing and normalization. */
static void process(const rm_encode_params *p, int h, int w, const float *heat, float *rn)
{
    encoder x = make(p, 1, h, w, NULL);
    rm_encode_info info;
    cr_assert_eq(rm_encoder_relevance(&x.e, heat, rn, x.scratch, &info), 0);
    destroy(&x);
}

static void assert_floats(const float *got, const float *want, int n, float tol, const char *what)
{
    for (int i = 0; i < n; i++)
        cr_assert(fabsf(got[i] - want[i]) <= tol, "%s: value %d is %.9g, expected %.9g", what, i, got[i], want[i]);
}

/* --- post-processing ------------------------------------------------------*/

Test(encode, sign_and_normalization)
{
    const float heat[4] = {-2, 1, 0, 4};
    float rn[4];
    rm_encode_params p = params(RM_ENCODE_ZERO);
    p.normalize = RM_NORMALIZE_NONE;
    process(&p, 2, 2, heat, rn);
    assert_floats(rn, (float[]){0, 1, 0, 4}, 4, 0, "positive");
    p.sign = RM_SIGN_ABSOLUTE;
    process(&p, 2, 2, heat, rn);
    assert_floats(rn, (float[]){2, 1, 0, 4}, 4, 0, "absolute");
    p.sign = RM_SIGN_NEGATIVE;
    process(&p, 2, 2, heat, rn);
    assert_floats(rn, (float[]){2, 0, 0, 0}, 4, 0, "negative");
    p.sign = RM_SIGN_POSITIVE;
    p.normalize = RM_NORMALIZE_MAX;
    process(&p, 2, 2, heat, rn);
    assert_floats(rn, (float[]){0, 0.25f, 0, 1}, 4, 0, "max");
    p.normalize = RM_NORMALIZE_SUM;
    process(&p, 2, 2, heat, rn);
    assert_floats(rn, (float[]){0, 0.2f, 0, 0.8f}, 4, 0, "sum");
    /* An all-negative map has no positive relevance: rn = 0, flagged empty. */
    const float neg[4] = {-1, -2, -3, -4};
    encoder x = make(&p, 1, 2, 2, NULL);
    rm_encode_info info;
    cr_assert_eq(rm_encoder_relevance(&x.e, neg, rn, x.scratch, &info), 0);
    cr_assert(info.empty);
    assert_floats(rn, (float[]){0, 0, 0, 0}, 4, 0, "empty");
    destroy(&x);
}

Test(encode, gaussian_taps)
{
    cr_assert_eq(rm_gauss_radius(0), 0);
    cr_assert_eq(rm_gauss_radius(1), 3);
    cr_assert_eq(rm_gauss_radius(0.5), 2);
    float t[7];
    rm_gauss_taps(1.0, 3, t);
    double sum = 0, norm = 0;
    for (int k = -3; k <= 3; k++) norm += exp(-k * k / 2.0);
    for (int k = 0; k < 7; k++) {
        sum += t[k];
        cr_assert_float_eq(t[k], t[6 - k], 0, "symmetric");
        cr_assert_float_eq(t[k], exp(-(k - 3) * (k - 3) / 2.0) / norm, 1e-7);
    }
    cr_assert_float_eq(sum, 1.0, 1e-6);
}

/* Smoothing a delta and normalizing by the max gives the Gaussian itself,
 * exp(-(dx^2 + dy^2) / (2 sigma^2)), cut off at radius ceil(3 sigma). */
Test(encode, smoothing_a_delta_gives_the_normalized_gaussian)
{
    enum { S = 15, C0 = 7 };
    float heat[S * S] = {0}, rn[S * S];
    heat[C0 * S + C0] = 3.5f;
    rm_encode_params p = params(RM_ENCODE_ZERO);
    p.smooth = 1.0;
    process(&p, S, S, heat, rn);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int dx = x - C0, dy = y - C0;
            double want = abs(dx) <= 3 && abs(dy) <= 3 ? exp(-(dx * dx + dy * dy) / 2.0) : 0;
            cr_assert(fabs(rn[y * S + x] - want) <= 1e-6, "(%d,%d): %.9g, expected %.9g", x, y, rn[y * S + x], want);
        }
}

/* Edge clamping: a constant map stays constant up to the edges (zero
 * padding would darken them). */
Test(encode, smoothing_is_edge_clamped)
{
    enum { H = 6, W = 5 };
    float in[H * W], out[H * W], tmp[H * W], taps[13];
    for (int i = 0; i < H * W; i++) in[i] = 5;
    int r = rm_gauss_radius(2.0);
    rm_gauss_taps(2.0, r, taps);
    rm_gauss_filter(in, out, tmp, H, W, taps, r);
    for (int i = 0; i < H * W; i++) cr_assert(fabsf(out[i] - 5) <= 1e-5f, "pixel %d: %.9g", i, out[i]);
    /* A corner delta: the mass that would fall outside piles onto the edge. */
    float delta[H * W] = {0};
    delta[0] = 1;
    rm_gauss_filter(delta, out, tmp, H, W, taps, r);
    double edge = 0;
    for (int k = -r; k <= 0; k++) edge += taps[k + r];
    cr_assert(fabs(out[0] - edge * edge) <= 1e-6, "corner %.9g vs %.9g", out[0], edge * edge);
}

Test(encode, keep_selects_the_top_fraction)
{
    rm_encode_params p = params(RM_ENCODE_MEAN);
    p.keep = 0.25;
    encoder x = make(&p, 1, 4, 4, (double[]){0});
    float rn[16];
    uint8_t mask[16];
    for (int i = 0; i < 16; i++) rn[i] = map4[i] > 0 ? map4[i] : 0;
    cr_assert_eq(rm_encoder_select(&x.e, rn, mask, x.scratch), 4);
    for (int k = 0; k < 16; k++) cr_assert_eq(mask[k], top4(k), "pixel %d", k);
    destroy(&x);
    /* round(0.3 * 16) = round(4.8) = 5: the next one is 13 (0.8). */
    p.keep = 0.3;
    x = make(&p, 1, 4, 4, (double[]){0});
    cr_assert_eq(rm_encoder_select(&x.e, rn, mask, x.scratch), 5);
    cr_assert(mask[13]);
    destroy(&x);
}

Test(encode, keep_breaks_ties_by_index_and_never_selects_zero)
{
    rm_encode_params p = params(RM_ENCODE_MEAN);
    p.keep = 0.25;
    encoder x = make(&p, 1, 4, 4, (double[]){0});
    float rn[16];
    uint8_t mask[16];
    for (int i = 0; i < 16; i++) rn[i] = 1;
    cr_assert_eq(rm_encoder_select(&x.e, rn, mask, x.scratch), 4);
    for (int k = 0; k < 16; k++) cr_assert_eq(mask[k], k < 4, "all equal: the first four, pixel %d", k);
    /* Five pixels share the largest value: the four lowest indices win. */
    for (int i = 0; i < 16; i++) rn[i] = 0.5f;
    int ties[5] = {15, 2, 12, 6, 9};
    for (int i = 0; i < 5; i++) rn[ties[i]] = 1;
    cr_assert_eq(rm_encoder_select(&x.e, rn, mask, x.scratch), 4);
    for (int k = 0; k < 16; k++) cr_assert_eq(mask[k], k == 2 || k == 6 || k == 9 || k == 12, "pixel %d", k);
    /* Only two pixels have relevance: keep 0.5 selects just those two. */
    destroy(&x);
    p.keep = 0.5;
    x = make(&p, 1, 4, 4, (double[]){0});
    memset(rn, 0, sizeof rn);
    rn[7] = 0.25f;
    rn[11] = 1;
    cr_assert_eq(rm_encoder_select(&x.e, rn, mask, x.scratch), 2);
    for (int k = 0; k < 16; k++) cr_assert_eq(mask[k], k == 7 || k == 11, "pixel %d", k);
    destroy(&x);
}

static const float *sort_values;
static int sort_ref(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    if (sort_values[a] != sort_values[b]) return sort_values[a] > sort_values[b] ? -1 : 1;
    return a - b;
}

/* The selection equals a full sort by (value descending, index), on maps
 * with many ties and zeros, for several fractions. */
Test(encode, keep_matches_a_full_sort)
{
    enum { S = 48, HW = S * S };
    static float rn[HW];
    static uint8_t mask[HW];
    static int order[HW];
    unsigned seed = 12345;
    for (int trial = 0; trial < 20; trial++) {
        int levels = trial % 2 ? 7 : 1000;   /* heavy ties, or few */
        int positive = 0;
        for (int i = 0; i < HW; i++) {
            seed = seed * 1103515245u + 12345u;
            int q = (int)((seed >> 16) % (unsigned)(levels + 3)) - 3;   /* some zeros */
            rn[i] = q > 0 ? (float)q / (float)levels : 0;
            positive += rn[i] > 0;
            order[i] = i;
        }
        sort_values = rn;
        qsort(order, HW, sizeof *order, sort_ref);
        double keep = 0.05 * (trial % 10) + 0.02;
        rm_encode_params p = params(RM_ENCODE_MEAN);
        p.keep = keep;
        encoder x = make(&p, 1, S, S, (double[]){0});
        int64_t k = (int64_t)floor(keep * HW + 0.5), want = k < positive ? k : positive;
        cr_assert_eq(rm_encoder_select(&x.e, rn, mask, x.scratch), want);
        for (int j = 0; j < HW; j++)
            cr_assert_eq(mask[order[j]], j < want, "trial %d: rank %d (pixel %d)", trial, j, order[j]);
        destroy(&x);
    }
}

/* --tile: each tile (the right and bottom ones cut by the image edge)
 * keeps its own top round(keep area) pixels, as a full sort of that tile
 * alone ranks them. 10x7 with tile 4: tiles of 4x4, 4x3, 2x4 and 2x3. */
Test(encode, tile_keeps_the_top_fraction_of_every_tile)
{
    enum { H = 10, W = 7, HW = H * W, T = 4 };
    static float rn[HW];
    static uint8_t mask[HW];
    unsigned seed = 777;
    for (int trial = 0; trial < 12; trial++) {
        for (int i = 0; i < HW; i++) {
            seed = seed * 1103515245u + 12345u;
            int q = (int)((seed >> 16) % 9u) - 2;   /* ties and zeros */
            rn[i] = q > 0 ? (float)q / 6 : 0;
        }
        double keep = 0.1 + 0.08 * trial;
        rm_encode_params p = params(RM_ENCODE_MASK);
        p.keep = keep;
        p.tile = T;
        encoder x = make(&p, 1, H, W, NULL);
        int64_t total = 0;
        for (int ty = 0; ty < H; ty += T)
            for (int tx = 0; tx < W; tx += T) {
                int order[T * T], n = 0, positive = 0;
                for (int y = ty; y < ty + T && y < H; y++)
                    for (int xx = tx; xx < tx + T && xx < W; xx++) {
                        order[n++] = y * W + xx;
                        positive += rn[y * W + xx] > 0;
                    }
                sort_values = rn;
                qsort(order, (size_t)n, sizeof *order, sort_ref);
                int k = (int)floor(keep * n + 0.5), want = k < positive ? k : positive;
                total += want;
                for (int j = 0; j < n; j++) mask[order[j]] |= (uint8_t)((j < want) << 1);
            }
        uint8_t got[HW];
        cr_assert_eq(rm_encoder_select(&x.e, rn, got, x.scratch), total, "trial %d: selected count", trial);
        for (int i = 0; i < HW; i++) {
            cr_assert_eq(got[i], mask[i] >> 1, "trial %d (keep %g): pixel %d", trial, keep, i);
            mask[i] = 0;
        }
        destroy(&x);
    }
}

/* A map whose relevance sits in one corner: the whole-image selection
 * keeps only that corner, a tiled one keeps the same share of every tile
 * that has relevance. */
Test(encode, tile_spreads_the_selection_over_the_image)
{
    enum { S = 8, HW = S * S };
    float rn[HW];
    for (int i = 0; i < HW; i++) rn[i] = (float)(i / S < 4 && i % S < 4 ? 100 + i : 1 + i) / 200;
    uint8_t mask[HW];
    rm_encode_params p = params(RM_ENCODE_MEAN);
    p.keep = 0.25;
    encoder whole = make(&p, 1, S, S, (double[]){0});
    cr_assert_eq(rm_encoder_select(&whole.e, rn, mask, whole.scratch), 16);
    for (int i = 0; i < HW; i++) cr_assert_eq(mask[i], i / S < 4 && i % S < 4, "whole image: pixel %d", i);
    p.tile = 4;
    encoder tiled = make(&p, 1, S, S, (double[]){0});
    cr_assert_eq(rm_encoder_select(&tiled.e, rn, mask, tiled.scratch), 16);
    int per_tile[4] = {0};
    for (int i = 0; i < HW; i++) per_tile[(i / S / 4) * 2 + (i % S) / 4] += mask[i];
    for (int t = 0; t < 4; t++) cr_assert_eq(per_tile[t], 4, "tile %d keeps 4 of its 16 pixels", t);
    destroy(&whole);
    destroy(&tiled);
}

Test(encode, threshold_on_the_normalized_map)
{
    const float heat[4] = {0, 1, 2, 4};   /* rn = 0, 0.25, 0.5, 1 */
    rm_encode_params p = params(RM_ENCODE_ZERO);
    p.threshold = 0.5;
    encoder x = make(&p, 1, 2, 2, NULL);
    const uint8_t img[4] = {10, 20, 30, 40};
    uint8_t out[4];
    rm_encode_info info;
    cr_assert_eq(rm_encoder_apply(&x.e, img, heat, out, x.scratch, &info), 0);
    cr_assert_eq(info.selected, 2);
    cr_assert(out[0] == 0 && out[1] == 0 && out[2] == 30 && out[3] == 40, "%d %d %d %d", out[0], out[1], out[2],
              out[3]);
    destroy(&x);
    /* Threshold 0 selects every pixel with relevance, not the zero one. */
    p.threshold = 0;
    x = make(&p, 1, 2, 2, NULL);
    cr_assert_eq(rm_encoder_apply(&x.e, img, heat, out, x.scratch, &info), 0);
    cr_assert_eq(info.selected, 3);
    cr_assert(out[0] == 0 && out[1] == 20);
    destroy(&x);
}

/* --- modes ------------------------------------------------------------------*/

static void image4(uint8_t *x)
{
    for (int k = 0; k < 16; k++) x[k] = (uint8_t)(10 * k + 5);
}

Test(encode, mode_mean_and_zero_exact)
{
    uint8_t img[16], out[16];
    image4(img);
    rm_encode_info info;
    for (int zero = 0; zero <= 1; zero++) {
        rm_encode_params p = params(zero ? RM_ENCODE_ZERO : RM_ENCODE_MEAN);
        p.keep = 0.25;
        encoder x = make(&p, 1, 4, 4, (double[]){100.5});   /* fill: 100.5 rounds half up to 101 */
        cr_assert_eq(rm_encoder_apply(&x.e, img, map4, out, x.scratch, &info), 0);
        cr_assert_eq(info.selected, 4);
        for (int k = 0; k < 16; k++)
            cr_assert_eq(out[k], top4(k) ? img[k] : zero ? 0 : 101, "%s pixel %d: %d", zero ? "zero" : "mean", k,
                         out[k]);
        destroy(&x);
    }
}

Test(encode, mode_negative_fills_the_most_relevant)
{
    uint8_t img[16], out[16];
    image4(img);
    rm_encode_info info;
    rm_encode_params p = params(RM_ENCODE_NEGATIVE);
    cr_assert_eq(p.fill, RM_FILL_ZERO, "negative zeroes by default");
    p.keep = 0.25;
    encoder x = make(&p, 1, 4, 4, NULL);
    cr_assert_eq(rm_encoder_apply(&x.e, img, map4, out, x.scratch, &info), 0);
    for (int k = 0; k < 16; k++) cr_assert_eq(out[k], top4(k) ? 0 : img[k], "pixel %d", k);
    destroy(&x);
    p.fill = RM_FILL_MEAN;
    x = make(&p, 1, 4, 4, (double[]){64.49});
    cr_assert_eq(rm_encoder_apply(&x.e, img, map4, out, x.scratch, &info), 0);
    for (int k = 0; k < 16; k++) cr_assert_eq(out[k], top4(k) ? 64 : img[k], "pixel %d", k);
    destroy(&x);
}

Test(encode, mode_soft_exact)
{
    const float heat[4] = {0, 2, 4, 1};          /* rn = 0, 0.5, 1, 0.25 */
    const uint8_t img[4] = {101, 200, 255, 0};
    uint8_t out[4];
    rm_encode_info info;
    rm_encode_params p = params(RM_ENCODE_SOFT);
    cr_assert_float_eq(p.floor, 0.2, 0);
    encoder x = make(&p, 1, 2, 2, (double[]){100});
    cr_assert_eq(rm_encoder_apply(&x.e, img, heat, out, x.scratch, &info), 0);
    /* 100 + (x - 100) w, w = 0.2 + 0.8 rn: 100.2, 160, 255, 60 */
    cr_assert(out[0] == 100 && out[1] == 160 && out[2] == 255 && out[3] == 60, "%d %d %d %d", out[0], out[1],
              out[2], out[3]);
    destroy(&x);
    p.floor = 0.5;   /* 100 + 1 * 0.5 = 100.5 rounds half up */
    x = make(&p, 1, 2, 2, (double[]){100});
    cr_assert_eq(rm_encoder_apply(&x.e, img, heat, out, x.scratch, &info), 0);
    cr_assert_eq(out[0], 101);
    destroy(&x);
    p.floor = 0.2;
    p.fill = RM_FILL_ZERO;   /* x w: 20.2, 120, 255, 0 */
    x = make(&p, 1, 2, 2, NULL);
    cr_assert_eq(rm_encoder_apply(&x.e, img, heat, out, x.scratch, &info), 0);
    cr_assert(out[0] == 20 && out[1] == 120 && out[2] == 255 && out[3] == 0, "%d %d %d %d", out[0], out[1],
              out[2], out[3]);
    destroy(&x);
}

Test(encode, mode_blur_replaces_the_rest_by_a_blurred_copy)
{
    enum { S = 6, HW = S * S };
    uint8_t img[HW], out[HW];
    float heat[HW];
    for (int i = 0; i < HW; i++) {
        img[i] = (uint8_t)((i * 73 + 11) % 256);
        heat[i] = (float)((i * 37) % HW);   /* distinct: 0 .. 35 */
    }
    rm_encode_params p = params(RM_ENCODE_BLUR);
    cr_assert_float_eq(p.blur_sigma, 3.0, 0);
    p.keep = 0.25;   /* 9 pixels */
    encoder x = make(&p, 1, S, S, NULL);
    rm_encode_info info;
    cr_assert_eq(rm_encoder_apply(&x.e, img, heat, out, x.scratch, &info), 0);
    cr_assert_eq(info.selected, 9);
    /* Reference: a direct 2-D Gaussian sum in double, edge-clamped. */
    const int r = 9;
    double g[2 * 9 + 1], norm = 0;
    for (int k = -r; k <= r; k++) norm += g[k + r] = exp(-k * k / 18.0);
    for (int y = 0; y < S; y++)
        for (int xx = 0; xx < S; xx++) {
            int i = y * S + xx;
            if (heat[i] >= HW - 9) {
                cr_assert_eq(out[i], img[i], "selected pixel %d kept", i);
                continue;
            }
            double v = 0;
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++) {
                    int sy = y + dy < 0 ? 0 : y + dy >= S ? S - 1 : y + dy;
                    int sx = xx + dx < 0 ? 0 : xx + dx >= S ? S - 1 : xx + dx;
                    v += g[dy + r] * g[dx + r] / (norm * norm) * img[sy * S + sx];
                }
            double frac = v - floor(v);
            if (fabs(frac - 0.5) < 1e-3) cr_assert(abs(out[i] - (int)floor(v + 0.5)) <= 1);
            else cr_assert_eq(out[i], (int)floor(v + 0.5), "pixel %d: %d, expected round(%.6f)", i, out[i], v);
        }
    destroy(&x);
}

Test(encode, mode_channel_appends_the_scaled_relevance)
{
    const float heat[4] = {0, 1, 2, 4};   /* rn = 0, 0.25, 0.5, 1 */
    const uint8_t img[4] = {1, 2, 3, 4};
    uint8_t out[8];
    rm_encode_info info;
    rm_encode_params p = params(RM_ENCODE_CHANNEL);
    encoder x = make(&p, 1, 2, 2, NULL);
    cr_assert_eq(x.e.out_channels, 2);
    cr_assert_eq(rm_encoder_apply(&x.e, img, heat, out, x.scratch, &info), 0);
    const uint8_t want[8] = {1, 2, 3, 4, 0, 64, 128, 255};   /* 63.75 -> 64, 127.5 -> 128 */
    for (int i = 0; i < 8; i++) cr_assert_eq(out[i], want[i], "value %d: %d", i, out[i]);
    /* Without relevance: the image and a zero plane. */
    cr_assert_eq(rm_encoder_apply(&x.e, img, NULL, out, x.scratch, &info), 0);
    const uint8_t raw[8] = {1, 2, 3, 4, 0, 0, 0, 0};
    cr_assert_eq(memcmp(out, raw, 8), 0);
    destroy(&x);
    /* Three channels become four; four cannot become five. */
    cr_assert_eq(rm_encoder_init(&x.e, &p, 3, 2, 2, NULL), 0);
    cr_assert_eq(x.e.out_channels, 4);
    rm_encoder_free(&x.e);
    cr_assert_neq(rm_encoder_init(&x.e, &p, 4, 2, 2, NULL), 0);
}

Test(encode, mode_channel_constant_ignores_the_relevance)
{
    const float heat[4] = {0, 1, 2, 4};
    const uint8_t img[4] = {1, 2, 3, 4};
    uint8_t out[8];
    rm_encode_info info;
    rm_encode_params p = params(RM_ENCODE_CHANNEL);
    p.channel = RM_CHANNEL_CONSTANT;
    p.channel_value = 0.5;   /* 127.5 -> 128 */
    encoder x = make(&p, 1, 2, 2, NULL);
    const uint8_t want[8] = {1, 2, 3, 4, 128, 128, 128, 128};
    cr_assert_eq(rm_encoder_apply(&x.e, img, heat, out, x.scratch, &info), 0);
    cr_assert_eq(memcmp(out, want, 8), 0);
    cr_assert_eq(rm_encoder_apply(&x.e, img, NULL, out, x.scratch, &info), 0);
    cr_assert_eq(memcmp(out, want, 8), 0, "the same plane without relevance");
    destroy(&x);
    p.channel_value = 1.5;
    cr_assert_neq(rm_encoder_init(&x.e, &p, 1, 2, 2, NULL), 0);
    rm_encode_params q = params(RM_ENCODE_MEAN);
    q.channel = RM_CHANNEL_TRAIN_MEAN;
    cr_assert_neq(rm_encode_params_check(&q), 0, "a constant channel belongs to channel mode");
}

Test(encode, records_without_relevance_are_copied_and_bad_values_reported)
{
    uint8_t img[16], out[16];
    image4(img);
    rm_encode_params p = params(RM_ENCODE_MEAN);
    encoder x = make(&p, 1, 4, 4, (double[]){9});
    rm_encode_info info;
    cr_assert_eq(rm_encoder_apply(&x.e, img, NULL, out, x.scratch, &info), 0);
    cr_assert_eq(memcmp(out, img, 16), 0);
    float bad[16];
    memcpy(bad, map4, sizeof bad);
    bad[6] = NAN;
    cr_assert_neq(rm_encoder_apply(&x.e, img, bad, out, x.scratch, &info), 0);
    cr_assert_eq(info.bad_pixel, 6);
    destroy(&x);
    cr_assert_neq(rm_encoder_init(&x.e, &p, 1, 4, 4, NULL), 0, "mean mode needs the mean");
}

/* --- files ------------------------------------------------------------------*/

static void write_dataset(const char *path, int n, int c, int h, int w, const uint8_t *images,
                          const int32_t *labels, const uint8_t *split, const uint8_t *regions)
{
    rm_dataset_spec s = {.channels = c, .height = h, .width = w, .num_classes = 3, .class_names = classes3,
                         .has_regions = regions != NULL, .source_format = "test", .source_path = "memory",
                         .deflate_level = 4};
    rm_dataset_writer *wr;
    cr_assert_eq(rm_dataset_writer_open(&wr, path, &s, 0), 0, "%s", rm_error_message());
    size_t bytes = (size_t)c * h * w, plane = (size_t)h * w;
    for (int i = 0; i < n; i++)
        cr_assert_eq(rm_dataset_writer_append(wr, images + i * bytes, labels[i], split[i],
                                              regions ? regions + i * plane : NULL),
                     0, "%s", rm_error_message());
    cr_assert_eq(rm_dataset_writer_set_attr(wr, "synth_domain", "target"), 0);
    rm_split_spec sp = {.val_fraction = 0.25, .test_fraction = 0.125, .seed = 5};
    cr_assert_eq(rm_dataset_writer_finish(wr, &sp), 0, "%s", rm_error_message());
}

static void write_relevance_classes(const char *path, int m, int h, int w, const int64_t *index,
                                    const int32_t *labels, const float *heat, const char *fingerprint,
                                    int num_classes, const char *const *class_names)
{
    rm_relevance_spec s = {.count = m, .channels = 1, .height = h, .width = w, .num_classes = num_classes,
                           .class_names = class_names, .deflate_level = 4, .method = "test", .score_kind = "none",
                           .parameters = "source=hand-made\n"};
    rm_relevance_writer *wr;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&wr, path, &s, 0, 0, &done), 0, "%s", rm_error_message());
    float *score = calloc((size_t)m, sizeof *score);
    rm_relevance_block b = {.n = m, .index = index, .label = labels, .explained = labels, .predicted = labels,
                            .score = score, .heatmap = heat};
    cr_assert_eq(rm_relevance_writer_write(wr, &b), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_writer_set_attr(wr, "model_path", "m.h5"), 0);
    if (fingerprint) cr_assert_eq(rm_relevance_writer_set_attr(wr, "dataset_fingerprint", fingerprint), 0);
    cr_assert_eq(rm_relevance_writer_finish(wr), 0, "%s", rm_error_message());
    free(score);
}

static void write_relevance(const char *path, int m, int h, int w, const int64_t *index, const int32_t *labels,
                            const float *heat, const char *fingerprint)
{
    write_relevance_classes(path, m, h, w, index, labels, heat, fingerprint, 3, classes3);
}

static char *attr_string(hid_t f, const char *name)
{
    char *v = NULL;
    cr_assert_eq(rm_h5_attr_get_string(f, name, &v), 0, "attribute %s: %s", name, rm_error_message());
    return v;
}

static void read_u8(hid_t f, const char *name, uint8_t *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "/%s exists", name);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), 0);
    H5Dclose(d);
}

/* Six 4x4 gray records; relevance (map4) for records 0, 2 and 3 only. */
enum { N6 = 6 };
static uint8_t img6[N6 * 16], reg6[N6 * 16];
static const int32_t lab6[N6] = {0, 1, 2, 0, 1, 2};
static const uint8_t split6[N6] = {RM_SPLIT_TRAIN, RM_SPLIT_VAL, RM_SPLIT_TRAIN,
                                   RM_SPLIT_TRAIN, RM_SPLIT_TEST, RM_SPLIT_TRAIN};
static const int64_t idx3[3] = {0, 2, 3};
static const int32_t lab3[3] = {0, 2, 0};

static void make_six(const char *dir)
{
    for (int i = 0; i < N6; i++)
        for (int k = 0; k < 16; k++) {
            img6[i * 16 + k] = (uint8_t)(i * 20 + k * 3);
            reg6[i * 16 + k] = (uint8_t)((i + k) & 1);
        }
    write_dataset(tu_path(dir, "d.h5"), N6, 1, 4, 4, img6, lab6, split6, reg6);
    float heat[3 * 16];
    for (int e = 0; e < 3; e++) memcpy(heat + e * 16, map4, sizeof map4);
    write_relevance(tu_path(dir, "r.h5"), 3, 4, 4, idx3, lab3, heat, NULL);
}

static int run_cli(char **out, const char *dir, const char *extra)
{
    return tu_run_cli(out, "encode -q -d %s/d.h5 -r %s/r.h5 -o %s/e.h5 %s", dir, dir, dir, extra);
}

Test(encode, file_mean_mode_copies_unexplained_records_raw)
{
    char *dir = tu_scratch_dir();
    make_six(dir);
    char *out;
    int rc = run_cli(&out, dir, "--mode mean --smooth 0 --keep 0.25");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "e.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(ds.count, N6);
    cr_assert_eq(ds.channels, 1);
    cr_assert(ds.has_regions);
    cr_assert_eq(memcmp(ds.labels, lab6, sizeof lab6), 0);
    cr_assert_eq(memcmp(ds.split, split6, sizeof split6), 0);
    uint8_t img[N6 * 16], reg[N6 * 16], enc[N6];
    cr_assert_eq(rm_dataset_read_images(&ds, 0, N6, img), 0);
    cr_assert_eq(rm_dataset_read_regions(&ds, 0, N6, reg), 0);
    cr_assert_eq(memcmp(reg, reg6, sizeof reg), 0, "regions copied");
    /* Train mean: 20 * mean(0, 2, 3, 5) + 3 * mean(0..15) = 50 + 22.5 = 72.5 -> fill 73. */
    for (int i = 0; i < N6; i++) {
        int explained = i == 0 || i == 2 || i == 3;
        for (int k = 0; k < 16; k++) {
            int want = !explained || top4(k) ? img6[i * 16 + k] : 73;
            cr_assert_eq(img[i * 16 + k], want, "record %d pixel %d: %d, expected %d", i, k, img[i * 16 + k], want);
        }
    }
    hid_t f = (hid_t)ds.hfile;
    read_u8(f, "encoded", enc);
    for (int i = 0; i < N6; i++) cr_assert_eq(enc[i], i == 0 || i == 2 || i == 3, "/encoded[%d]", i);
    int64_t unencoded, empty;
    cr_assert_eq(rm_h5_attr_get_int(f, "records_unencoded", &unencoded), 0);
    cr_assert_eq(unencoded, 3);
    cr_assert_eq(rm_h5_attr_get_int(f, "records_empty_relevance", &empty), 0);
    cr_assert_eq(empty, 0);
    double mean = 0;
    cr_assert_geq(H5LTget_attribute_double(f, ".", "train_mean", &mean), 0);
    cr_assert_float_eq(mean, 72.5, 1e-12);
    cr_assert_not(rm_h5_attr_exists(f, "relevance_channel"));
    struct { const char *name, *want; } attrs[] = {
        {"source_format", "encoded"}, {"encode_mode", "mean"}, {"relevance_method", "test"},
        {"relevance_parameters", "source=hand-made\n"}, {"relevance_model_path", "m.h5"},
        {"synth_domain", "target"},
        {"encode_parameters", "mode=mean\nrelevance_sign=positive\nsmooth=0\nnormalize=max\nkeep=0.25\n"
                              "only_explained=0\n"},
    };
    for (size_t a = 0; a < sizeof attrs / sizeof attrs[0]; a++) {
        char *v = attr_string(f, attrs[a].name);
        cr_assert_str_eq(v, attrs[a].want, "attribute %s", attrs[a].name);
        free(v);
    }
    char *v = attr_string(f, "data_path");
    cr_assert(strstr(v, "/d.h5"), "%s", v);
    free(v);
    v = attr_string(f, "relevance_path");
    cr_assert(strstr(v, "/r.h5"), "%s", v);
    free(v);
    v = attr_string(f, "command_line");
    cr_assert(strstr(v, "--keep 0.25"), "%s", v);
    free(v);
    double val;
    cr_assert_eq(rm_h5_attr_get_double(f, "split_val_fraction", &val), 0);
    cr_assert_float_eq(val, 0.25, 0, "the input's split settings carried over");
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}

Test(encode, file_only_explained_writes_explained_records)
{
    char *dir = tu_scratch_dir();
    make_six(dir);
    char *out;
    int rc = run_cli(&out, dir, "--mode zero --smooth 0 --keep 0.25 --only-explained");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "e.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(ds.count, 3);
    uint8_t img[3 * 16], enc[3], reg[3 * 16];
    cr_assert_eq(rm_dataset_read_images(&ds, 0, 3, img), 0);
    cr_assert_eq(rm_dataset_read_regions(&ds, 0, 3, reg), 0);
    for (int j = 0; j < 3; j++) {
        int i = (int)idx3[j];
        cr_assert_eq(ds.labels[j], lab6[i]);
        cr_assert_eq(ds.split[j], split6[i]);
        cr_assert_eq(memcmp(reg + j * 16, reg6 + i * 16, 16), 0);
        for (int k = 0; k < 16; k++) cr_assert_eq(img[j * 16 + k], top4(k) ? img6[i * 16 + k] : 0);
    }
    read_u8((hid_t)ds.hfile, "encoded", enc);
    cr_assert(enc[0] == 1 && enc[1] == 1 && enc[2] == 1);
    int64_t unencoded;
    cr_assert_eq(rm_h5_attr_get_int((hid_t)ds.hfile, "records_unencoded", &unencoded), 0);
    cr_assert_eq(unencoded, 0);
    cr_assert_not(rm_h5_attr_exists((hid_t)ds.hfile, "train_mean"), "zero mode needs no mean");
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}

Test(encode, file_channel_mode_rgb_gets_a_fourth_channel)
{
    char *dir = tu_scratch_dir();
    enum { N = 3, HW = 4 };
    uint8_t img[N * 3 * HW];
    for (int i = 0; i < N * 3 * HW; i++) img[i] = (uint8_t)(i * 5 + 1);
    const int32_t labels[N] = {2, 1, 0};
    const uint8_t split[N] = {RM_SPLIT_TRAIN, RM_SPLIT_TRAIN, RM_SPLIT_VAL};
    write_dataset(tu_path(dir, "d.h5"), N, 3, 2, 2, img, labels, split, NULL);
    const float heat[2 * HW] = {0, 1, 2, 4, -1, 3, 0, 0};   /* rn: 0 .25 .5 1 | 0 1 0 0 */
    write_relevance(tu_path(dir, "r.h5"), 2, 2, 2, (const int64_t[]){0, 2}, (const int32_t[]){2, 0}, heat, NULL);
    char *out;
    int rc = run_cli(&out, dir, "--mode channel --smooth 0");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "e.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(ds.channels, 4);
    uint8_t got[N * 4 * HW];
    cr_assert_eq(rm_dataset_read_images(&ds, 0, N, got), 0);
    const uint8_t rel[N][HW] = {{0, 64, 128, 255}, {0, 0, 0, 0}, {0, 255, 0, 0}};
    for (int i = 0; i < N; i++) {
        cr_assert_eq(memcmp(got + i * 4 * HW, img + i * 3 * HW, 3 * HW), 0, "record %d: RGB unchanged", i);
        cr_assert_eq(memcmp(got + i * 4 * HW + 3 * HW, rel[i], HW), 0, "record %d: relevance plane", i);
    }
    int64_t channel;
    cr_assert_eq(rm_h5_attr_get_int((hid_t)ds.hfile, "relevance_channel", &channel), 0);
    cr_assert_eq(channel, 3);
    uint8_t enc[N];
    read_u8((hid_t)ds.hfile, "encoded", enc);
    cr_assert(enc[0] == 1 && enc[1] == 0 && enc[2] == 1);
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}

Test(encode, file_channel_constant_train_mean)
{
    char *dir = tu_scratch_dir();
    enum { N = 3, HW = 4 };
    uint8_t img[N * HW];
    for (int i = 0; i < N * HW; i++) img[i] = (uint8_t)(i * 7 + 2);
    const int32_t labels[N] = {2, 1, 0};
    const uint8_t split[N] = {RM_SPLIT_TRAIN, RM_SPLIT_TRAIN, RM_SPLIT_VAL};
    write_dataset(tu_path(dir, "d.h5"), N, 1, 2, 2, img, labels, split, NULL);
    /* Record 0 (train): bytes 0 64 128 255; record 2 (val) does not count;
     * record 1 has no relevance. Mean byte 447 / 4 = 111.75 -> 112. */
    const float heat[2 * HW] = {0, 1, 2, 4, -1, 3, 0, 0};
    write_relevance(tu_path(dir, "r.h5"), 2, 2, 2, (const int64_t[]){0, 2}, (const int32_t[]){2, 0}, heat, NULL);
    char *out;
    int rc = run_cli(&out, dir, "--mode channel --smooth 0 --channel-constant train-mean");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "e.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(ds.channels, 2);
    uint8_t got[N * 2 * HW];
    cr_assert_eq(rm_dataset_read_images(&ds, 0, N, got), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(memcmp(got + i * 2 * HW, img + i * HW, HW), 0, "record %d: image unchanged", i);
        for (int k = 0; k < HW; k++) cr_assert_eq(got[i * 2 * HW + HW + k], 112, "record %d pixel %d", i, k);
    }
    int64_t constant;
    cr_assert_eq(rm_h5_attr_get_int((hid_t)ds.hfile, "relevance_channel_constant", &constant), 0);
    cr_assert_eq(constant, 112);
    char *params_text = attr_string((hid_t)ds.hfile, "encode_parameters");
    cr_assert(strstr(params_text, "channel=train-mean\n"), "%s", params_text);
    free(params_text);
    uint8_t enc[N];
    read_u8((hid_t)ds.hfile, "encoded", enc);
    cr_assert(enc[0] == 1 && enc[1] == 1 && enc[2] == 1, "every record has the constant plane");
    rm_dataset_close(&ds);
    /* A given constant: 0.25 -> 63.75 -> 64. */
    rc = run_cli(&out, dir, "--mode channel --channel-constant 0.25 --force");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "e.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(rm_dataset_read_images(&ds, 0, N, got), 0);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < HW; k++) cr_assert_eq(got[i * 2 * HW + HW + k], 64);
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}

/* A synthetic dataset and a smooth pseudo-random relevance map for every
 * even record. */
static void make_synth_pair(const char *dir, int count, int size)
{
    char *out;
    int rc = tu_run_cli(&out, "synth -q -n %d --size %d --val 0.2 --test 0.1 -o %s/d.h5", count, size, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "d.h5")), 0, "%s", rm_error_message());
    int m = (count + 1) / 2, hw = size * size;
    int64_t *index = malloc(sizeof *index * m);
    int32_t *labels = malloc(sizeof *labels * m);
    float *heat = malloc(sizeof *heat * m * hw);
    for (int e = 0; e < m; e++) {
        index[e] = 2 * e;
        labels[e] = ds.labels[2 * e];
        for (int k = 0; k < hw; k++)
            heat[e * hw + k] = sinf(0.37f * (float)(k % size) + 0.11f * (float)e) * cosf(0.23f * (float)(k / size)) +
                               0.01f * (float)((k * 7 + e) % 13);
    }
    write_relevance_classes(tu_path(dir, "r.h5"), m, size, size, index, labels, heat, NULL, ds.num_classes,
                            (const char *const *)ds.class_names);
    rm_dataset_close(&ds);
    free(index);
    free(labels);
    free(heat);
}

static uint8_t *read_images(const char *path, size_t *bytes)
{
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, path), 0, "%s", rm_error_message());
    *bytes = ds.count * (size_t)ds.channels * ds.height * ds.width;
    uint8_t *img = malloc(*bytes);
    cr_assert_eq(rm_dataset_read_images(&ds, 0, ds.count, img), 0);
    rm_dataset_close(&ds);
    return img;
}

Test(encode, output_is_identical_for_1_and_2_threads, .timeout = 60)
{
    char *dir = tu_scratch_dir();
    make_synth_pair(dir, 600, 48);
    const char *modes[] = {"mean --smooth 1", "blur --keep 0.4", "soft --relevance-sign absolute"};
    for (int m = 0; m < 3; m++) {
        char *out;
        int rc = tu_run_cli(&out, "encode -q -t 1 -d %s/d.h5 -r %s/r.h5 -o %s/a.h5 --force --mode %s", dir, dir, dir,
                            modes[m]);
        cr_assert_eq(rc, 0, "%s", out);
        free(out);
        rc = tu_run_cli(&out, "encode -q -t 2 -d %s/d.h5 -r %s/r.h5 -o %s/b.h5 --force --mode %s", dir, dir, dir,
                        modes[m]);
        cr_assert_eq(rc, 0, "%s", out);
        free(out);
        size_t na, nb;
        uint8_t *a = read_images(tu_path(dir, "a.h5"), &na), *b = read_images(tu_path(dir, "b.h5"), &nb);
        cr_assert_eq(na, nb);
        cr_assert_eq(memcmp(a, b, na), 0, "mode %s: /images differ between 1 and 2 threads", modes[m]);
        /* Odd records have no relevance: raw. */
        size_t nd;
        uint8_t *d = read_images(tu_path(dir, "d.h5"), &nd);
        cr_assert_eq(memcmp(a + 48 * 48, d + 48 * 48, 48 * 48), 0, "record 1 copied raw");
        cr_assert_neq(memcmp(a, d, 48 * 48), 0, "record 0 encoded");
        free(a);
        free(b);
        free(d);
    }
    tu_rmtree(dir);
}

/* A network with input 2x16x16 trains on gray + relevance data. */
Test(encode, channel_output_trains_a_two_channel_network, .timeout = 120)
{
    char *dir = tu_scratch_dir();
    make_synth_pair(dir, 280, 16);
    tu_write_text(tu_path(dir, "net.cfg"),
                  "[net]\ninput = 2x16x16\nclasses = 7\n[conv]\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
                  "[maxpool]\nsize = 2\n[dense]\nunits = 7\n");
    char *out;
    int rc = tu_run_cli(&out, "encode -q -d %s/d.h5 -r %s/r.h5 -o %s/e.h5 --mode channel", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    /* r.h5 explains some records only: their relevance plane is zero. */
    rc = tu_run_cli(&out, "train -q -t 2 -d %s/e.h5 -n %s/net.cfg -o %s/m.h5 -e 1 -b 32 --hflip --shift 1", dir, dir,
                    dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "have no relevance (a zero relevance plane)"), "%s", out);
    free(out);
    rc = tu_run_cli(&out, "train -q -t 2 -d %s/e.h5 -n %s/net.cfg -o %s/m.h5 -e 1 -b 32 --hflip --shift 1 "
                    "--allow-missing-relevance", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "info %s/e.h5", dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "grayscale + relevance channel"), "%s", out);
    free(out);
    /* A 1-channel network given the relevance channel with --input-channels,
     * evaluated on the relevance channel and on a constant one. */
    tu_write_text(tu_path(dir, "net1.cfg"),
                  "[net]\ninput = 1x16x16\nclasses = 7\n[conv]\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
                  "[maxpool]\nsize = 2\n[dense]\nunits = 7\n");
    rc = tu_run_cli(&out, "train -q -t 2 -d %s/d.h5 --encoded %s/e.h5 -n %s/net1.cfg --input-channels 2 -o %s/m1.h5 -e 1 "
                    "-b 32 --allow-missing-relevance", dir, dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "encode -q -d %s/d.h5 -r %s/r.h5 -o %s/c.h5 --mode channel --channel-constant train-mean", dir,
                    dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "eval -q --model %s/m1.h5 --data %s/c.h5 --split test", dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "accuracy:"), "%s", out);
    free(out);
    rc = tu_run_cli(&out, "eval -q --model %s/m1.h5 --data %s/d.h5 --split test", dir, dir);
    cr_assert_eq(rc, 1, "a 2-channel model refuses 1-channel data: %s", out);
    free(out);
    tu_rmtree(dir);
}

static void expect(int code, const char *text, const char *text2, const char *fmt, const char *dir)
{
    char *out;
    char args[4096];
    snprintf(args, sizeof args, fmt, dir, dir, dir);
    int rc = tu_run_cli(&out, "encode -q %s", args);
    cr_assert_eq(rc, code, "encode %s: exit %d, expected %d:\n%s", args, rc, code, out);
    if (text) cr_assert(strstr(out, text), "encode %s: expected '%s' in:\n%s", args, text, out);
    if (text2) cr_assert(strstr(out, text2), "encode %s: expected '%s' in:\n%s", args, text2, out);
    free(out);
}

#define IO "-d %s/d.h5 -r %s/r.h5 -o %s/e.h5"

Test(encode, usage_errors_exit_2)
{
    char *dir = tu_scratch_dir();
    expect(2, "--mode is required", NULL, IO, dir);
    expect(2, "--mode 'stripes': expected mean, zero, blur, negative, soft, channel or mask", NULL, IO " --mode stripes",
           dir);
    expect(2, "--keep '1.5'", NULL, IO " --mode mean --keep 1.5", dir);
    expect(2, "--smooth '-1'", NULL, IO " --mode mean --smooth -1", dir);
    expect(2, "--threshold '-0.1'", NULL, IO " --mode mean --threshold -0.1", dir);
    expect(2, "not both", NULL, IO " --mode mean --keep 0.2 --threshold 0.5", dir);
    expect(2, "--keep applies to the modes mean, zero, blur, negative and mask, not soft", NULL,
           IO " --mode soft --keep 0.2", dir);
    expect(2, "--floor applies to --mode soft, not mean", NULL, IO " --mode mean --floor 0.1", dir);
    expect(2, "--fill applies to the modes negative and soft, not mean", NULL, IO " --mode mean --fill zero", dir);
    expect(2, "--fill 'median'", NULL, IO " --mode negative --fill median", dir);
    expect(2, "--blur-sigma '0': must be above 0", NULL, IO " --mode blur --blur-sigma 0", dir);
    expect(2, "--blur-sigma applies to --mode blur", NULL, IO " --mode zero --blur-sigma 2", dir);
    expect(2, "--relevance-sign 'up': expected positive, absolute or negative", NULL,
           IO " --mode mean --relevance-sign up", dir);
    expect(2, "--normalize 'l2'", NULL, IO " --mode mean --normalize l2", dir);
    expect(2, "--channel-constant applies to --mode channel, not mean", NULL, IO " --mode mean --channel-constant 0",
           dir);
    expect(2, "--channel-constant '2'", NULL, IO " --mode channel --channel-constant 2", dir);
    expect(2, "--shuffle-masks '-3': expected a non-negative integer", NULL, IO " --mode mask --shuffle-masks -3", dir);
    expect(2, "--shuffle-masks '1.5'", NULL, IO " --mode mean --shuffle-masks 1.5", dir);
    expect(2, "--shuffle-masks has no effect with --channel-constant", NULL,
           IO " --mode channel --channel-constant 0.5 --shuffle-masks 1", dir);
    expect(2, "--tile applies to the modes mean, zero, blur, negative and mask, not channel", NULL,
           IO " --mode channel --tile 8", dir);
    expect(2, "--tile applies to --keep, not to --threshold", NULL, IO " --mode mean --threshold 0.5 --tile 8", dir);
    expect(2, "--tile '0'", NULL, IO " --mode mask --tile 0", dir);
    expect(2, "--relevance R.h5 is required", NULL, "-d %s/d.h5 -o %s/e.h5 --mode mean%.0s", dir);
    expect(2, "unknown option '--bogus'", NULL, IO " --mode mean --bogus", dir);
    expect(0, "usage: relmask encode", NULL, "--help%.0s%.0s%.0s", dir);
    cr_assert_eq(tu_dir_entries(dir), 0, "nothing written");
    tu_rmtree(dir);
}

Test(encode, runtime_errors_name_both_files)
{
    char *dir = tu_scratch_dir();
    make_six(dir);
    /* Another dataset: the labels of the explained records differ. */
    int32_t other[N6] = {1, 1, 2, 0, 1, 2};
    write_dataset(tu_path(dir, "other.h5"), N6, 1, 4, 4, img6, other, split6, NULL);
    expect(1, "r.h5: entry 0 has label 0 but record 0 of", "other.h5",
           "-d %s/other.h5 -r %s/r.h5 -o %s/e.h5 --mode mean", dir);
    /* Another image size. */
    write_dataset(tu_path(dir, "big.h5"), N6, 1, 5, 5, (uint8_t[N6 * 25]){0}, lab6, split6, NULL);
    expect(1, "heatmaps are 4x4 but the images of", "big.h5", "-d %s/big.h5 -r %s/r.h5 -o %s/e.h5 --mode mean", dir);
    /* A relevance file that records another dataset's fingerprint. */
    float heat[3 * 16];
    for (int e = 0; e < 3; e++) memcpy(heat + e * 16, map4, sizeof map4);
    write_relevance(tu_path(dir, "fp.h5"), 3, 4, 4, idx3, lab3, heat, "0123456789abcdef");
    expect(1, "fp.h5 was computed for the dataset", "fingerprint 0123456789abcdef",
           "-d %s/d.h5 -r %s/fp.h5 -o %s/e.h5 --mode mean", dir);
    /* A dataset without train records cannot give mean mode its fill. */
    const uint8_t val6[N6] = {1, 1, 1, 1, 1, 1};
    write_dataset(tu_path(dir, "nottrain.h5"), N6, 1, 4, 4, img6, lab6, val6, NULL);
    expect(1, "nottrain.h5 has no train records", NULL, "-d %s/nottrain.h5 -r %s/r.h5 -o %s/e.h5 --mode mean", dir);
    expect(1, "missing.h5: cannot open", NULL, "-d %s/d.h5 -r %s/missing.h5 -o %s/e.h5 --mode mean", dir);
    cr_assert_not(tu_file_exists(tu_path(dir, "e.h5")), "no output after errors");
    /* An existing output needs --force. */
    expect(0, NULL, NULL, IO " --mode mean", dir);
    expect(1, "--force", NULL, IO " --mode zero", dir);
    expect(0, NULL, NULL, IO " --mode zero --force", dir);
    /* Channel mode refuses data that already has four channels. */
    write_dataset(tu_path(dir, "rgba.h5"), N6, 4, 4, 4, (uint8_t[N6 * 64]){0}, lab6, split6, NULL);
    expect(1, "rgba.h5 has 4 channels", NULL, "-d %s/rgba.h5 -r %s/r.h5 -o %s/e2.h5 --mode channel", dir);
    tu_rmtree(dir);
}

/* --- the mask-only control and --shuffle-masks ------------------------------*/

Test(encode, mode_mask_is_the_selection_alone)
{
    uint8_t img[3 * 16], out[3 * 16];
    for (int k = 0; k < 3 * 16; k++) img[k] = (uint8_t)(7 * k + 3);
    rm_encode_params p = params(RM_ENCODE_MASK);
    p.keep = 0.25;
    rm_encode_info info;
    for (int c = 1; c <= 3; c += 2) {
        encoder x = make(&p, c, 4, 4, NULL);
        cr_assert_eq(x.e.out_channels, c);
        cr_assert_eq(rm_encoder_apply(&x.e, img, map4, out, x.scratch, &info), 0);
        cr_assert_eq(info.selected, 4);
        for (int k = 0; k < c * 16; k++)
            cr_assert_eq(out[k], top4(k % 16) ? 255 : 0, "%d channels, byte %d: %d", c, k, out[k]);
        /* no relevance: no content either */
        cr_assert_eq(rm_encoder_apply(&x.e, img, NULL, out, x.scratch, &info), 0);
        for (int k = 0; k < c * 16; k++) cr_assert_eq(out[k], 0, "record without relevance, byte %d", k);
        destroy(&x);
    }
    /* threshold selection as in the other modes: rn = map / 2 >= 0.5 at 5, 8, 14 */
    p.threshold = 0.5;
    encoder x = make(&p, 1, 4, 4, NULL);
    cr_assert_eq(rm_encoder_apply(&x.e, img, map4, out, x.scratch, &info), 0);
    for (int k = 0; k < 16; k++) cr_assert_eq(out[k], k == 5 || k == 8 || k == 14 ? 255 : 0, "pixel %d", k);
    destroy(&x);
}

Test(encode, file_mask_mode_has_only_0_and_255_and_the_keep_count)
{
    char *dir = tu_scratch_dir();
    enum { N = 10, H = 8, W = 8, HW = H * W };
    uint8_t img[N * HW];
    int32_t lab[N];
    uint8_t split[N];
    int64_t idx[N];
    float heat[N * HW];
    for (int i = 0; i < N; i++) {
        lab[i] = i % 3;
        split[i] = (uint8_t)(i % 3 == 2 ? RM_SPLIT_TEST : RM_SPLIT_TRAIN);
        idx[i] = i;
        for (int k = 0; k < HW; k++) {
            img[i * HW + k] = (uint8_t)(i * 13 + k * 3);
            heat[i * HW + k] = (float)((k * 37 + i * 11) % HW) + 1;   /* distinct, positive: no ties */
        }
    }
    write_dataset(tu_path(dir, "d.h5"), N, 1, H, W, img, lab, split, NULL);
    write_relevance(tu_path(dir, "r.h5"), N, H, W, idx, lab, heat, NULL);
    char *out;
    int rc = run_cli(&out, dir, "--mode mask --keep 0.3");   /* round(0.3 * 64) = 19 pixels */
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "e.h5")), 0, "%s", rm_error_message());
    uint8_t got[N * HW];
    cr_assert_eq(rm_dataset_read_images(&ds, 0, N, got), 0);
    for (int i = 0; i < N; i++) {
        int on = 0;
        for (int k = 0; k < HW; k++) {
            cr_assert(got[i * HW + k] == 0 || got[i * HW + k] == 255, "record %d pixel %d: %d", i, k, got[i * HW + k]);
            on += got[i * HW + k] == 255;
        }
        cr_assert_eq(on, 19, "record %d: %d pixels kept, expected round(0.3 * 64) = 19", i, on);
    }
    char *v = attr_string((hid_t)ds.hfile, "encode_mode");
    cr_assert_str_eq(v, "mask");
    free(v);
    cr_assert_not(rm_h5_attr_exists((hid_t)ds.hfile, "train_mean"), "mask mode needs no mean");
    v = attr_string((hid_t)ds.hfile, "encode_parameters");
    cr_assert_null(strstr(v, "tile"), "no tile without --tile:\n%s", v);
    free(v);
    rm_dataset_close(&ds);

    /* --tile 4: round(0.3 * 16) = 5 pixels in each of the four tiles. */
    rc = run_cli(&out, dir, "--mode mask --keep 0.3 --tile 4 --force");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "e.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(rm_dataset_read_images(&ds, 0, N, got), 0);
    for (int i = 0; i < N; i++)
        for (int t = 0; t < 4; t++) {
            int on = 0;
            for (int y = (t / 2) * 4; y < (t / 2) * 4 + 4; y++)
                for (int x = (t % 2) * 4; x < (t % 2) * 4 + 4; x++) on += got[i * HW + y * W + x] == 255;
            cr_assert_eq(on, 5, "record %d tile %d: %d pixels kept, expected 5", i, t, on);
        }
    v = attr_string((hid_t)ds.hfile, "encode_parameters");
    cr_assert(strstr(v, "keep=0.3\ntile=4\n"), "the tile is in the provenance:\n%s", v);
    free(v);
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}

/* map[i] = 100 + i for the records with relevance; the shuffled entry
 * e maps back to record e - 100. */
Test(encode, shuffle_map_is_a_seeded_derangement_within_split_and_class)
{
    enum { N = 60 };
    int32_t lab[N];
    uint8_t split[N];
    int64_t map[N], a[N], b[N], order[N];
    int group_size[3][4] = {{0}};
    for (int i = 0; i < N; i++) {
        lab[i] = (i * 7) % 4;
        split[i] = (uint8_t)((i * 5) % 3);
        map[i] = i % 9 == 4 ? -1 : 100 + i;
        if (map[i] >= 0) group_size[split[i]][lab[i]]++;
    }
    memcpy(a, map, sizeof map);
    rm_encode_shuffle_map(a, order, N, lab, split, 42);
    int used[N] = {0};
    for (int i = 0; i < N; i++) {
        if (map[i] < 0) {
            cr_assert_eq(a[i], -1, "record %d has no relevance and gets none", i);
            continue;
        }
        int src = (int)(a[i] - 100);
        cr_assert(src >= 0 && src < N && map[src] >= 0, "record %d got entry %lld", i, (long long)a[i]);
        cr_assert_eq(lab[src], lab[i], "record %d got the map of record %d of another class", i, src);
        cr_assert_eq(split[src], split[i], "record %d got the map of record %d of another split", i, src);
        if (group_size[split[i]][lab[i]] >= 2) cr_assert_neq(src, i, "record %d kept its own map", i);
        else cr_assert_eq(src, i, "a group of one keeps its map");
        cr_assert_eq(used[src]++, 0, "the map of record %d went to two records", src);
    }
    memcpy(b, map, sizeof map);
    rm_encode_shuffle_map(b, order, N, lab, split, 42);
    cr_assert_arr_eq(a, b, sizeof a, "the same seed gives the same permutation");
    memcpy(b, map, sizeof map);
    rm_encode_shuffle_map(b, order, N, lab, split, 43);
    cr_assert(memcmp(a, b, sizeof a) != 0, "another seed gives another permutation");
}

/* Through the command with --mode mask: record i's map has its only
 * positive value at pixel i, so the kept pixel names whose map it got. */
Test(encode, file_shuffle_masks_moves_masks_within_split_and_class)
{
    char *dir = tu_scratch_dir();
    enum { N = 9, HW = 16 };
    static const int32_t lab[N] = {0, 0, 0, 1, 1, 2, 0, 1, 1};
    static const uint8_t split[N] = {0, 0, 0, 0, 0, 0, 0, 2, 2};
    uint8_t img[N * HW];
    int64_t idx[N];
    float heat[N * HW] = {0};
    for (int i = 0; i < N; i++) {
        idx[i] = i;
        heat[i * HW + i] = 1;
        for (int k = 0; k < HW; k++) img[i * HW + k] = (uint8_t)(i + k);
    }
    write_dataset(tu_path(dir, "d.h5"), N, 1, 4, 4, img, lab, split, NULL);
    write_relevance(tu_path(dir, "r.h5"), N, 4, 4, idx, lab, heat, NULL);
    uint8_t got[2][N * HW];
    for (int run = 0; run < 2; run++) {
        char *out;
        int rc = tu_run_cli(&out, "encode -q -d %s/d.h5 -r %s/r.h5 -o %s/e.h5 --mode mask --smooth 0 --keep 0.0625 "
                            "--shuffle-masks 7 --force", dir, dir, dir);
        cr_assert_eq(rc, 0, "%s", out);
        free(out);
        rm_dataset ds;
        cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "e.h5")), 0, "%s", rm_error_message());
        cr_assert_eq(rm_dataset_read_images(&ds, 0, N, got[run]), 0);
        if (run == 0) {
            char *v = attr_string((hid_t)ds.hfile, "encode_parameters");
            cr_assert(strstr(v, "shuffle_masks=7\n"), "%s", v);
            free(v);
        }
        rm_dataset_close(&ds);
    }
    cr_assert_arr_eq(got[0], got[1], sizeof got[0], "the same seed, the same output");
    int used[N] = {0};
    for (int i = 0; i < N; i++) {
        int src = -1, on = 0;
        for (int k = 0; k < HW; k++)
            if (got[0][i * HW + k] == 255) src = k, on++;
        cr_assert_eq(on, 1, "record %d: %d pixels kept", i, on);
        cr_assert(src < N && lab[src] == lab[i] && split[src] == split[i], "record %d got record %d's map", i, src);
        cr_assert(i == 5 ? src == 5 : src != i, "record %d: source %d (only record 5 is alone in its group)", i, src);
        cr_assert_eq(used[src]++, 0);
    }
    tu_rmtree(dir);
}
