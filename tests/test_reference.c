/* The double-precision reference kernels, proven right on their own:
 * every backward against central finite differences of its forward
 * (random projection loss L = sum(y * r), so dy = r), hand-computed tiny
 * cases with exact numbers, and optimizer steps worked out by hand. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/reference.h"
#include "core/rng.h"

/* ---- helpers ------------------------------------------------------------ */

#define FD_STEP 1e-6
/* Central differences with h = 1e-6 in double: truncation error ~h^2 and
 * rounding error ~1e-16 * |L| / h, a few 1e-8 for our losses (|L| up to
 * ~100); measured worst 4e-8. A tolerance of 1e-6 relative to
 * max(|analytic|, |fd|, 1) keeps a 25x margin while any wrong term (a missing
 * window, a wrong divisor, a dropped statistic) is off by far more. */
#define FD_RTOL 1e-6

static double *rand_normal(size_t n, uint64_t stream)
{
    rm_rng rng;
    rm_rng_seed(&rng, 20240607, stream, 0);
    double *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++) a[i] = rm_rng_normal(&rng);
    return a;
}

static double *copy_of(const double *a, size_t n)
{
    double *b = malloc((n ? n : 1) * sizeof *b);
    cr_assert_not_null(b);
    memcpy(b, a, n * sizeof *b);
    return b;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

/* Compares the analytic gradient accumulated into a buffer (after - before;
 * buffers start at random values so that += is checked too) with central
 * finite differences of loss() with respect to param[0..n). */
static void check_grad(const char *what, double *param, size_t n, const double *after,
                       const double *before, loss_fn loss, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        double saved = param[i];
        param[i] = saved + FD_STEP;
        double lp = loss(ctx);
        param[i] = saved - FD_STEP;
        double lm = loss(ctx);
        param[i] = saved;
        double fd = (lp - lm) / (2 * FD_STEP);
        double an = after[i] - (before ? before[i] : 0.0);
        double tol = FD_RTOL * fmax(1.0, fmax(fabs(fd), fabs(an)));
        cr_assert(fabs(an - fd) <= tol, "%s[%zu]: analytic %.12g, finite difference %.12g",
                  what, i, an, fd);
    }
}

static void expect_near(const double *got, const double *want, size_t n, double tol,
                        const char *what)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - want[i]) <= tol, "%s[%zu]: got %.17g, want %.17g", what, i,
                  got[i], want[i]);
}

/* ---- convolution: finite differences ------------------------------------ */

struct conv_case {
    int N, C, H, W, O, K, stride, pad, bias;
    double *x, *w, *b, *y, *r;
    size_t ny;
};

static double conv_loss(void *p)
{
    struct conv_case *c = p;
    rm_ref_conv_forward(c->y, c->x, c->w, c->bias ? c->b : NULL, c->N, c->C, c->H, c->W, c->O,
                        c->K, c->stride, c->pad);
    return dot(c->y, c->r, c->ny);
}

static void conv_fd(int N, int C, int H, int W, int O, int K, int stride, int pad, int bias)
{
    struct conv_case c = {N, C, H, W, O, K, stride, pad, bias, 0, 0, 0, 0, 0, 0};
    int OH = rm_ref_out_size(H, K, stride, pad), OW = rm_ref_out_size(W, K, stride, pad);
    size_t nx = (size_t)N * C * H * W, nw = (size_t)O * C * K * K;
    c.ny = (size_t)N * O * OH * OW;
    c.x = rand_normal(nx, 1);
    c.w = rand_normal(nw, 2);
    c.b = rand_normal(O, 3);
    c.r = rand_normal(c.ny, 4);
    c.y = malloc(c.ny * sizeof *c.y);
    double *dx0 = rand_normal(nx, 5), *dw0 = rand_normal(nw, 6), *db0 = rand_normal(O, 7);
    double *dx = copy_of(dx0, nx), *dw = copy_of(dw0, nw), *db = copy_of(db0, O);
    rm_ref_conv_backward(dx, dw, bias ? db : NULL, c.r, c.x, c.w, N, C, H, W, O, K, stride, pad);

    char cfg[96], what[128];
    snprintf(cfg, sizeof cfg, "conv N%d C%d H%d W%d O%d K%d s%d p%d bias%d", N, C, H, W, O, K,
             stride, pad, bias);
    snprintf(what, sizeof what, "%s dx", cfg);
    check_grad(what, c.x, nx, dx, dx0, conv_loss, &c);
    snprintf(what, sizeof what, "%s dw", cfg);
    check_grad(what, c.w, nw, dw, dw0, conv_loss, &c);
    if (bias) {
        snprintf(what, sizeof what, "%s db", cfg);
        check_grad(what, c.b, O, db, db0, conv_loss, &c);
    } else {
        expect_near(db, db0, O, 0.0, "db untouched without bias");
    }

    /* dx = NULL skips the data gradient and changes nothing else. */
    double *dw2 = copy_of(dw0, nw);
    rm_ref_conv_backward(NULL, dw2, NULL, c.r, c.x, c.w, N, C, H, W, O, K, stride, pad);
    expect_near(dw2, dw, nw, 0.0, "dw with dx = NULL");

    free(dw2);
    free(dx0), free(dw0), free(db0), free(dx), free(dw), free(db);
    free(c.x), free(c.w), free(c.b), free(c.r), free(c.y);
}

Test(reference_conv, backward_matches_finite_differences)
{
    int strides[] = {1, 2}, pads[] = {0, 1};
    for (int s = 0; s < 2; s++)
        for (int p = 0; p < 2; p++)
            for (int bias = 0; bias < 2; bias++) {
                conv_fd(2, 3, 7, 5, 4, 3, strides[s], pads[p], bias);
                conv_fd(1, 3, 7, 5, 4, 3, strides[s], pads[p], bias);   /* batch 1 */
            }
    conv_fd(2, 2, 6, 5, 3, 1, 1, 0, 1);   /* 1x1 kernel */
    conv_fd(2, 2, 6, 7, 3, 2, 2, 1, 1);   /* even kernel, padding */
    conv_fd(1, 1, 5, 5, 1, 5, 1, 2, 1);   /* kernel as large as the image */
}

/* ---- convolution: by hand ------------------------------------------------ */

/* x [1,1,4,4] = 1..16 row-major, i.e. x[r][c] = 4r + c + 1;
 * w [1,1,3,3] = 1..9 row-major, i.e. w[a][e] = 3a + e + 1. */
static void conv_hand_inputs(double x[16], double w[9])
{
    for (int i = 0; i < 16; i++) x[i] = i + 1;
    for (int i = 0; i < 9; i++) w[i] = i + 1;
}

Test(reference_conv, hand_computed_stride1)
{
    double x[16], w[9], b = 0.5, y[4];
    conv_hand_inputs(x, w);
    rm_ref_conv_forward(y, x, w, &b, 1, 1, 4, 4, 1, 3, 1, 0);
    /* y[i][j] = b + sum w[a][e] (4(i+a) + (j+e) + 1)
     *         = b + sum w[a][e] (4a + e + 1) + (4i + j) * sum w
     * sum w = 45; sum w (4a+e+1) = (1*1 + 2*2 + 3*3) + (4*5 + 5*6 + 6*7)
     *                             + (7*9 + 8*10 + 9*11) = 14 + 92 + 242 = 348
     * y = 348.5 + 45 * {0, 1, 4, 5} */
    double want[4] = {348.5, 393.5, 528.5, 573.5};
    expect_near(y, want, 4, 0.0, "y");

    /* Backward with dy = 1 everywhere:
     * db = 4 (four outputs);
     * dw[a][e] = sum_{i,j in {0,1}} x[i+a][j+e] = 4 (4a + e + 1) + (0 + 1 + 4 + 5)
     * dx[r][c] = sum of w over the windows that cover (r,c). */
    double dy[4] = {1, 1, 1, 1}, dx[16] = {0}, dw[9] = {0}, db = 0;
    rm_ref_conv_backward(dx, dw, &db, dy, x, w, 1, 1, 4, 4, 1, 3, 1, 0);
    double want_dw[9] = {14, 18, 22, 30, 34, 38, 46, 50, 54};
    double want_dx[16] = {
        1,  1 + 2,           2 + 3,           3,
        1 + 4, 1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 3 + 6,
        4 + 7, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9, 6 + 9,
        7,  7 + 8,           8 + 9,           9,
    };
    cr_assert_eq(db, 4.0);
    expect_near(dw, want_dw, 9, 0.0, "dw");
    expect_near(dx, want_dx, 16, 0.0, "dx");
}

Test(reference_conv, hand_computed_stride2_pad1)
{
    double x[16], w[9], y[4];
    conv_hand_inputs(x, w);
    rm_ref_conv_forward(y, x, w, NULL, 1, 1, 4, 4, 1, 3, 2, 1);
    /* OH = (4 + 2 - 3) / 2 + 1 = 2; windows start at rows/cols -1 and 1.
     * y[0][0]: rows -1..1, cols -1..1: w[1][1]x[0][0] + w[1][2]x[0][1]
     *          + w[2][1]x[1][0] + w[2][2]x[1][1] = 5*1 + 6*2 + 8*5 + 9*6 = 111
     * y[0][1]: rows -1..1, cols 1..3: (4*2 + 5*3 + 6*4) + (7*6 + 8*7 + 9*8) = 47 + 170 = 217
     * y[1][0]: rows 1..3, cols -1..1: (2*5 + 3*6) + (5*9 + 6*10) + (8*13 + 9*14)
     *          = 28 + 105 + 230 = 363
     * y[1][1]: rows 1..3, cols 1..3: 348 + 45 * (4*1 + 1) = 573 (see above) */
    double want[4] = {111, 217, 363, 573};
    expect_near(y, want, 4, 0.0, "y");
}

/* ---- dense ---------------------------------------------------------------- */

struct dense_case {
    int N, I, O, bias;
    double *x, *w, *b, *y, *r;
};

static double dense_loss(void *p)
{
    struct dense_case *c = p;
    rm_ref_dense_forward(c->y, c->x, c->w, c->bias ? c->b : NULL, c->N, c->I, c->O);
    return dot(c->y, c->r, (size_t)c->N * c->O);
}

Test(reference_dense, backward_matches_finite_differences)
{
    int shapes[][3] = {{2, 5, 3}, {1, 7, 4}, {3, 1, 1}};
    for (int s = 0; s < 3; s++)
        for (int bias = 0; bias < 2; bias++) {
            int N = shapes[s][0], I = shapes[s][1], O = shapes[s][2];
            struct dense_case c = {N, I, O, bias, rand_normal((size_t)N * I, 11),
                                   rand_normal((size_t)O * I, 12), rand_normal(O, 13),
                                   malloc((size_t)N * O * sizeof(double)),
                                   rand_normal((size_t)N * O, 14)};
            double *dx0 = rand_normal((size_t)N * I, 15), *dw0 = rand_normal((size_t)O * I, 16);
            double *db0 = rand_normal(O, 17);
            double *dx = copy_of(dx0, (size_t)N * I), *dw = copy_of(dw0, (size_t)O * I);
            double *db = copy_of(db0, O);
            rm_ref_dense_backward(dx, dw, bias ? db : NULL, c.r, c.x, c.w, N, I, O);
            check_grad("dense dx", c.x, (size_t)N * I, dx, dx0, dense_loss, &c);
            check_grad("dense dw", c.w, (size_t)O * I, dw, dw0, dense_loss, &c);
            if (bias) check_grad("dense db", c.b, O, db, db0, dense_loss, &c);
            else expect_near(db, db0, O, 0.0, "dense db untouched");

            double *dw2 = copy_of(dw0, (size_t)O * I);
            rm_ref_dense_backward(NULL, dw2, NULL, c.r, c.x, c.w, N, I, O);
            expect_near(dw2, dw, (size_t)O * I, 0.0, "dense dw with dx = NULL");
            free(dw2), free(dx0), free(dw0), free(db0), free(dx), free(dw), free(db);
            free(c.x), free(c.w), free(c.b), free(c.y), free(c.r);
        }
}

Test(reference_dense, hand_computed)
{
    /* x [1,2] = (1, 2); w [2,2] = ((1, 2), (3, 4)); b = (10, 20)
     * y = (1*1 + 2*2 + 10, 3*1 + 4*2 + 20) = (15, 31) */
    double x[2] = {1, 2}, w[4] = {1, 2, 3, 4}, b[2] = {10, 20}, y[2];
    rm_ref_dense_forward(y, x, w, b, 1, 2, 2);
    double want[2] = {15, 31};
    expect_near(y, want, 2, 0.0, "y");
}

/* ---- ReLU, dropout, global average pooling ------------------------------ */

struct elementwise_case {
    size_t n;
    double *x, *y, *r;
    const uint8_t *mask;
    double p;
    int N, C, H, W;
};

static double relu_loss(void *p)
{
    struct elementwise_case *c = p;
    rm_ref_relu_forward(c->y, c->x, c->n);
    return dot(c->y, c->r, c->n);
}

static double dropout_loss(void *p)
{
    struct elementwise_case *c = p;
    rm_ref_dropout_forward(c->y, c->x, c->mask, c->n, c->p);
    return dot(c->y, c->r, c->n);
}

static double global_avgpool_loss(void *p)
{
    struct elementwise_case *c = p;
    rm_ref_global_avgpool_forward(c->y, c->x, c->N, c->C, c->H, c->W);
    return dot(c->y, c->r, (size_t)c->N * c->C);
}

Test(reference_relu, backward_matches_finite_differences)
{
    size_t n = 2 * 3 * 7 * 5;
    struct elementwise_case c = {n, rand_normal(n, 21), malloc(n * sizeof(double)),
                                 rand_normal(n, 22), NULL, 0, 0, 0, 0, 0};
    /* keep inputs off the kink at 0, where the derivative is undefined */
    for (size_t i = 0; i < n; i++)
        if (fabs(c.x[i]) < 1e-3) c.x[i] = 0.5;
    double *dx0 = rand_normal(n, 23), *dx = copy_of(dx0, n);
    rm_ref_relu_backward(dx, c.r, c.x, n);
    check_grad("relu dx", c.x, n, dx, dx0, relu_loss, &c);
    free(dx0), free(dx), free(c.x), free(c.y), free(c.r);
}

Test(reference_relu, values_zero_and_nan)
{
    double x[5] = {-2, -0.0, 0.0, 3, NAN}, y[5];
    rm_ref_relu_forward(y, x, 5);
    cr_assert_eq(y[0], 0.0);
    cr_assert(!signbit(y[0]) && !signbit(y[1]) && !signbit(y[2]), "ReLU gives +0");
    cr_assert_eq(y[3], 3.0);
    cr_assert(isnan(y[4]), "NaN propagates");
    double dy[5] = {1, 1, 1, 1, 1}, dx[5] = {0};
    rm_ref_relu_backward(dx, dy, x, 5);
    double want[5] = {0, 0, 0, 1, 0};
    expect_near(dx, want, 5, 0.0, "dx");
}

Test(reference_dropout, backward_matches_finite_differences_and_scales)
{
    size_t n = 97;
    uint8_t *mask = malloc(n);
    rm_rng rng;
    rm_rng_seed(&rng, 1, 31, 0);
    for (size_t i = 0; i < n; i++) mask[i] = rm_rng_uniform(&rng) >= 0.25;
    struct elementwise_case c = {n, rand_normal(n, 32), malloc(n * sizeof(double)),
                                 rand_normal(n, 33), mask, 0.25, 0, 0, 0, 0};
    double *dx0 = rand_normal(n, 34), *dx = copy_of(dx0, n);
    rm_ref_dropout_backward(dx, c.r, mask, n, 0.25);
    check_grad("dropout dx", c.x, n, dx, dx0, dropout_loss, &c);

    rm_ref_dropout_forward(c.y, c.x, mask, n, 0.25);
    for (size_t i = 0; i < n; i++)   /* 1 / (1 - 0.25) = 4/3 */
        cr_assert(fabs(c.y[i] - (mask[i] ? c.x[i] * 4.0 / 3.0 : 0.0)) <= 1e-15 * fabs(c.x[i]),
                  "y[%zu]", i);
    rm_ref_dropout_forward(c.y, c.x, mask, n, 0.0);   /* p = 0: identity on kept cells */
    for (size_t i = 0; i < n; i++) cr_assert_eq(c.y[i], mask[i] ? c.x[i] : 0.0);
    free(mask), free(dx0), free(dx), free(c.x), free(c.y), free(c.r);
}

Test(reference_global_avgpool, backward_matches_finite_differences)
{
    int N = 2, C = 3, H = 7, W = 5;
    size_t nx = (size_t)N * C * H * W;
    struct elementwise_case c = {nx, rand_normal(nx, 41), malloc((size_t)N * C * sizeof(double)),
                                 rand_normal((size_t)N * C, 42), NULL, 0, N, C, H, W};
    double *dx0 = rand_normal(nx, 43), *dx = copy_of(dx0, nx);
    rm_ref_global_avgpool_backward(dx, c.r, N, C, H, W);
    check_grad("global avgpool dx", c.x, nx, dx, dx0, global_avgpool_loss, &c);

    /* y[n][c] is the plain mean of its 35 cells. */
    global_avgpool_loss(&c);
    double sum = 0;
    for (int i = 0; i < H * W; i++) sum += c.x[(size_t)1 * C * H * W + 2 * H * W + i];
    cr_assert(fabs(c.y[1 * C + 2] - sum / 35) <= 1e-15, "y[1][2]");
    free(dx0), free(dx), free(c.x), free(c.y), free(c.r);
}

/* ---- pooling: finite differences ----------------------------------------- */

struct pool_case {
    int N, C, H, W, K, stride, pad, include_pad, max;
    double *x, *y, *r;
    int64_t *argmax;
    size_t ny;
};

static double pool_loss(void *p)
{
    struct pool_case *c = p;
    if (c->max)
        rm_ref_maxpool_forward(c->y, c->argmax, c->x, c->N, c->C, c->H, c->W, c->K, c->stride,
                               c->pad);
    else
        rm_ref_avgpool_forward(c->y, c->x, c->N, c->C, c->H, c->W, c->K, c->stride, c->pad,
                               c->include_pad);
    return dot(c->y, c->r, c->ny);
}

static void pool_fd(int max, int N, int C, int H, int W, int K, int stride, int pad,
                    int include_pad)
{
    int OH = rm_ref_out_size(H, K, stride, pad), OW = rm_ref_out_size(W, K, stride, pad);
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * OH * OW;
    struct pool_case c = {N, C, H, W, K, stride, pad, include_pad, max,
                          rand_normal(nx, 51), malloc(ny * sizeof(double)), rand_normal(ny, 52),
                          malloc(ny * sizeof(int64_t)), ny};
    double *dx0 = rand_normal(nx, 53), *dx = copy_of(dx0, nx);
    pool_loss(&c);   /* fills argmax */
    if (max) rm_ref_maxpool_backward(dx, c.r, c.argmax, N, C, OH, OW);
    else rm_ref_avgpool_backward(dx, c.r, N, C, H, W, K, stride, pad, include_pad);
    char what[128];
    snprintf(what, sizeof what, "%s N%d C%d H%d W%d K%d s%d p%d incl%d dx", max ? "max" : "avg",
             N, C, H, W, K, stride, pad, include_pad);
    check_grad(what, c.x, nx, dx, dx0, pool_loss, &c);
    free(dx0), free(dx), free(c.x), free(c.y), free(c.r), free(c.argmax);
}

static const int pool_configs[][3] = {   /* K, stride, pad */
    {2, 2, 0}, {2, 1, 1}, {3, 1, 1}, {3, 2, 1}, {3, 2, 0}, {3, 3, 1},
};

Test(reference_maxpool, backward_matches_finite_differences)
{
    for (size_t k = 0; k < sizeof pool_configs / sizeof pool_configs[0]; k++) {
        pool_fd(1, 2, 3, 7, 5, pool_configs[k][0], pool_configs[k][1], pool_configs[k][2], 0);
        pool_fd(1, 1, 3, 7, 5, pool_configs[k][0], pool_configs[k][1], pool_configs[k][2], 0);
    }
}

Test(reference_avgpool, backward_matches_finite_differences)
{
    for (size_t k = 0; k < sizeof pool_configs / sizeof pool_configs[0]; k++)
        for (int incl = 0; incl < 2; incl++) {
            pool_fd(0, 2, 3, 7, 5, pool_configs[k][0], pool_configs[k][1], pool_configs[k][2],
                    incl);
            pool_fd(0, 1, 3, 7, 5, pool_configs[k][0], pool_configs[k][1], pool_configs[k][2],
                    incl);
        }
}

/* ---- pooling: by hand ------------------------------------------------------ */

Test(reference_maxpool, hand_computed_2x2)
{
    /* x [1,1,4,4]; each 2x2 block has one clear winner:
     *   block (0,0): 9 at (1,0) -> index 4    block (0,1): 8 at (0,3) -> index 3
     *   block (1,0): 7 at (3,1) -> index 13   block (1,1): 6 at (2,2) -> index 10 */
    double x[16] = {
        1, 2, 0, 8,
        9, 3, 4, 5,
        0, 1, 6, 2,
        2, 7, 3, 1,
    };
    double y[4];
    int64_t am[4];
    rm_ref_maxpool_forward(y, am, x, 1, 1, 4, 4, 2, 2, 0);
    double want[4] = {9, 8, 7, 6};
    int64_t want_am[4] = {4, 3, 13, 10};
    expect_near(y, want, 4, 0.0, "y");
    for (int i = 0; i < 4; i++) cr_assert_eq(am[i], want_am[i], "argmax[%d]", i);

    double dy[4] = {10, 20, 30, 40}, dx[16] = {0};
    dx[4] = 1;   /* accumulates onto what is there */
    rm_ref_maxpool_backward(dx, dy, am, 1, 1, 2, 2);
    double want_dx[16] = {0};
    want_dx[4] = 11, want_dx[3] = 20, want_dx[13] = 30, want_dx[10] = 40;
    expect_near(dx, want_dx, 16, 0.0, "dx");

    rm_ref_maxpool_forward(y, NULL, x, 1, 1, 4, 4, 2, 2, 0);   /* argmax optional */
    expect_near(y, want, 4, 0.0, "y without argmax");
}

Test(reference_maxpool, ties_go_to_first_cell_and_nan_propagates)
{
    /* [1,2,2,4]: window 0 all 5s (first cell wins), window 1 = (1, NaN, 7, NaN). */
    double x[8] = {5, 5, 1, NAN, 5, 5, 7, NAN};
    double y[2];
    int64_t am[2];
    rm_ref_maxpool_forward(y, am, x, 1, 1, 2, 4, 2, 2, 0);
    cr_assert_eq(y[0], 5.0);
    cr_assert_eq(am[0], 0);
    cr_assert(isnan(y[1]), "NaN in the window gives NaN");
    cr_assert_eq(am[1], 3, "the first NaN wins");
}

Test(reference_maxpool, overlapping_windows_accumulate_into_shared_winner)
{
    /* K=3, stride 1 on 4x4: the 4 windows (rows 0-2/1-3 x cols 0-2/1-3) all
     * contain (2,2) = index 10, which holds the maximum. */
    double x[16];
    for (int i = 0; i < 16; i++) x[i] = -i;
    x[10] = 100;
    double y[4], dy[4] = {1, 2, 3, 4}, dx[16] = {0};
    int64_t am[4];
    rm_ref_maxpool_forward(y, am, x, 1, 1, 4, 4, 3, 1, 0);
    for (int i = 0; i < 4; i++) cr_assert_eq(am[i], 10);
    rm_ref_maxpool_backward(dx, dy, am, 1, 1, 2, 2);
    for (int i = 0; i < 16; i++) cr_assert_eq(dx[i], i == 10 ? 1 + 2 + 3 + 4 : 0.0, "dx[%d]", i);

    /* K=3, stride 2, pad 1 on 4x4: OH = (4+2-3)/2+1 = 2, windows at rows/cols
     * -1..1 and 1..3 share row 1 and column 1, so (1,1) = index 5 wins all 4. */
    for (int i = 0; i < 16; i++) x[i] = -i;
    x[5] = 50;
    memset(dx, 0, sizeof dx);
    rm_ref_maxpool_forward(y, am, x, 1, 1, 4, 4, 3, 2, 1);
    for (int i = 0; i < 4; i++) cr_assert_eq(am[i], 5);
    rm_ref_maxpool_backward(dx, dy, am, 1, 1, 2, 2);
    for (int i = 0; i < 16; i++) cr_assert_eq(dx[i], i == 5 ? 10.0 : 0.0, "dx[%d]", i);
}

Test(reference_maxpool, padding_never_wins)
{
    /* All inputs negative; K=2, stride 2, pad 1 on 4x4 gives 3x3 windows
     * that are partly padding; padding (0 in a zero-padded view) must not win.
     * x[r][c] = -(4r + c + 1). Window (0,0) covers only x[0][0] = -1;
     * window (1,1) covers rows 1-2, cols 1-2: max -(4+1+1) = -6 at index 5;
     * window (2,2) covers only x[3][3] = -16. */
    double x[16], y[9];
    int64_t am[9];
    for (int i = 0; i < 16; i++) x[i] = -(i + 1);
    rm_ref_maxpool_forward(y, am, x, 1, 1, 4, 4, 2, 2, 1);
    double want[9] = {-1, -2, -4, -5, -6, -8, -13, -14, -16};
    int64_t want_am[9] = {0, 1, 3, 4, 5, 7, 12, 13, 15};
    expect_near(y, want, 9, 0.0, "y");
    for (int i = 0; i < 9; i++) cr_assert_eq(am[i], want_am[i], "argmax[%d]", i);
}

Test(reference_avgpool, padding_include_and_exclude)
{
    /* x [1,1,3,3] = 1..9, K=3, stride 1, pad 1 -> 3x3 output.
     * corner (0,0): real cells 1,2,4,5 (sum 12): include 12/9, exclude 12/4 = 3
     * edge (0,1): real cells 1..6 (sum 21): include 21/9, exclude 21/6 = 3.5
     * centre (1,1): all 9 cells (sum 45): 45/9 = 5 either way */
    double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[9];
    rm_ref_avgpool_forward(y, x, 1, 1, 3, 3, 3, 1, 1, 1);
    cr_assert(fabs(y[0] - 12.0 / 9) <= 1e-15 && fabs(y[1] - 21.0 / 9) <= 1e-15, "include");
    cr_assert_eq(y[4], 5.0);
    rm_ref_avgpool_forward(y, x, 1, 1, 3, 3, 3, 1, 1, 0);
    cr_assert_eq(y[0], 3.0);
    cr_assert_eq(y[1], 3.5);
    cr_assert_eq(y[4], 5.0);

    /* Backward, dy = 1: x[0][0] lies in the windows centred at (0,0), (0,1),
     * (1,0), (1,1). include: 4 * 1/9; exclude: 1/4 + 1/6 + 1/6 + 1/9 = 25/36. */
    double dy[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, dx[9] = {0};
    rm_ref_avgpool_backward(dx, dy, 1, 1, 3, 3, 3, 1, 1, 1);
    cr_assert(fabs(dx[0] - 4.0 / 9) <= 1e-15, "include dx[0] = %.17g", dx[0]);
    cr_assert(fabs(dx[4] - 1.0) <= 1e-15, "include dx[centre] = %.17g", dx[4]);
    memset(dx, 0, sizeof dx);
    rm_ref_avgpool_backward(dx, dy, 1, 1, 3, 3, 3, 1, 1, 0);
    cr_assert(fabs(dx[0] - 25.0 / 36) <= 1e-15, "exclude dx[0] = %.17g", dx[0]);
}

/* ---- batch normalization --------------------------------------------------- */

struct bn_case {
    int N, C, H, W;
    double eps;
    double *x, *gamma, *beta, *y, *mean, *var, *r;
};

static double bn_loss(void *p)
{
    struct bn_case *c = p;
    rm_ref_batchnorm_train_forward(c->y, c->mean, c->var, c->x, c->gamma, c->beta, c->N, c->C,
                                   c->H, c->W, c->eps);
    return dot(c->y, c->r, (size_t)c->N * c->C * c->H * c->W);
}

static void bn_fd(int N, int C, int H, int W, double eps)
{
    size_t nx = (size_t)N * C * H * W;
    struct bn_case c = {N, C, H, W, eps, rand_normal(nx, 61), rand_normal(C, 62),
                        rand_normal(C, 63), malloc(nx * sizeof(double)),
                        malloc(C * sizeof(double)), malloc(C * sizeof(double)),
                        rand_normal(nx, 64)};
    bn_loss(&c);   /* mean, var of the unperturbed batch */
    double *dx0 = rand_normal(nx, 65), *dg0 = rand_normal(C, 66), *db0 = rand_normal(C, 67);
    double *dx = copy_of(dx0, nx), *dg = copy_of(dg0, C), *db = copy_of(db0, C);
    rm_ref_batchnorm_backward(dx, dg, db, c.r, c.x, c.mean, c.var, c.gamma, N, C, H, W, eps);
    double *mean = copy_of(c.mean, C), *var = copy_of(c.var, C);
    check_grad("batchnorm dx", c.x, nx, dx, dx0, bn_loss, &c);
    check_grad("batchnorm dgamma", c.gamma, C, dg, dg0, bn_loss, &c);
    check_grad("batchnorm dbeta", c.beta, C, db, db0, bn_loss, &c);

    /* NULL gradients are skipped, the others unchanged. */
    double *dg2 = copy_of(dg0, C);
    rm_ref_batchnorm_backward(NULL, dg2, NULL, c.r, c.x, mean, var, c.gamma, N, C, H, W, eps);
    expect_near(dg2, dg, C, 0.0, "dgamma with dx = dbeta = NULL");
    free(dg2), free(mean), free(var);
    free(dx0), free(dg0), free(db0), free(dx), free(dg), free(db);
    free(c.x), free(c.gamma), free(c.beta), free(c.y), free(c.mean), free(c.var), free(c.r);
}

Test(reference_batchnorm, backward_matches_finite_differences)
{
    bn_fd(2, 3, 7, 5, 1e-5);
    bn_fd(1, 3, 3, 2, 1e-5);   /* batch 1: statistics over H,W only */
    bn_fd(4, 2, 1, 1, 1e-3);   /* dense-like: statistics over the batch only */
}

Test(reference_batchnorm, normalizes_each_channel)
{
    int N = 2, C = 3, H = 7, W = 5, M = N * H * W;
    size_t nx = (size_t)N * C * H * W;
    double *x = rand_normal(nx, 71), *y = malloc(nx * sizeof *y);
    for (size_t i = 0; i < nx; i++) x[i] = 3 * x[i] + 2;   /* not already normalized */
    double gamma[3] = {1, 1, 1}, beta[3] = {0, 0, 0}, mean[3], var[3];
    rm_ref_batchnorm_train_forward(y, mean, var, x, gamma, beta, N, C, H, W, 0.0);
    for (int c = 0; c < C; c++) {
        double s = 0, s2 = 0, xs = 0;
        for (int n = 0; n < N; n++)
            for (int k = 0; k < H * W; k++) {
                size_t i = ((size_t)n * C + c) * H * W + k;
                s += y[i];
                s2 += y[i] * y[i];
                xs += x[i];
            }
        cr_assert(fabs(s / M) <= 1e-14, "channel %d: mean of y = %g", c, s / M);
        cr_assert(fabs(s2 / M - 1.0) <= 1e-13, "channel %d: biased var of y = %.17g", c,
                  s2 / M);
        cr_assert(fabs(mean[c] - xs / M) <= 1e-13, "channel %d: batch mean", c);
    }
    free(x), free(y);
}

Test(reference_batchnorm, hand_computed)
{
    /* One channel, values {1, 3} (N=2, H=W=1), eps = 0: mean 2, biased var
     * ((1-2)^2 + (3-2)^2)/2 = 1, xhat = {-1, 1};
     * gamma 2, beta 0.5: y = {-1.5, 2.5}. */
    double x[2] = {1, 3}, gamma = 2, beta = 0.5, y[2], mean, var;
    rm_ref_batchnorm_train_forward(y, &mean, &var, x, &gamma, &beta, 2, 1, 1, 1, 0.0);
    cr_assert_eq(mean, 2.0);
    cr_assert_eq(var, 1.0);
    cr_assert_eq(y[0], -1.5);
    cr_assert_eq(y[1], 2.5);

    /* Inference: x = 3, running mean 1, running var 4 (eps 0), gamma 2,
     * beta 1: y = 2 * (3 - 1) / sqrt(4) + 1 = 3. */
    double xi = 3, rmean = 1, rvar = 4, b1 = 1, yi;
    rm_ref_batchnorm_infer_forward(&yi, &xi, &gamma, &b1, &rmean, &rvar, 1, 1, 1, 1, 0.0);
    cr_assert_eq(yi, 3.0);
}

Test(reference_batchnorm, infer_with_batch_statistics_equals_train)
{
    int N = 2, C = 3, H = 7, W = 5;
    size_t nx = (size_t)N * C * H * W;
    double *x = rand_normal(nx, 81), *g = rand_normal(C, 82), *b = rand_normal(C, 83);
    double *y1 = malloc(nx * sizeof *y1), *y2 = malloc(nx * sizeof *y2), mean[3], var[3];
    rm_ref_batchnorm_train_forward(y1, mean, var, x, g, b, N, C, H, W, 1e-5);
    rm_ref_batchnorm_infer_forward(y2, x, g, b, mean, var, N, C, H, W, 1e-5);
    expect_near(y2, y1, nx, 1e-14, "infer vs train");
    free(x), free(g), free(b), free(y1), free(y2);
}

/* ---- softmax + cross-entropy ----------------------------------------------- */

struct xent_case {
    int N, K;
    double *logits, *probs;
    const int32_t *labels;
};

static double xent_loss(void *p)
{
    struct xent_case *c = p;
    double loss;
    rm_ref_softmax_xent(c->probs, NULL, &loss, c->logits, c->labels, c->N, c->K);
    return loss;
}

Test(reference_softmax_xent, gradient_matches_finite_differences)
{
    int N = 3, K = 7;
    int32_t labels[3] = {0, 6, 3};
    struct xent_case c = {N, K, rand_normal((size_t)N * K, 91),
                          malloc((size_t)N * K * sizeof(double)), labels};
    double *dl = rand_normal((size_t)N * K, 92);   /* garbage: must be overwritten */
    double loss;
    rm_ref_softmax_xent(c.probs, dl, &loss, c.logits, labels, N, K);
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += c.probs[n * K + k];
        cr_assert(fabs(s - 1) <= 1e-15, "row %d of probs sums to %.17g", n, s);
    }
    check_grad("softmax-xent dlogits", c.logits, (size_t)N * K, dl, NULL, xent_loss, &c);
    free(c.logits), free(c.probs), free(dl);
}

Test(reference_softmax_xent, hand_computed)
{
    /* sample 0: logits (0, 0), label 0: probs (1/2, 1/2), loss ln 2
     * sample 1: logits (ln 3, 0), label 1: probs (3/4, 1/4), loss -ln(1/4) = ln 4
     * mean loss = (ln 2 + ln 4) / 2 = 1.5 ln 2
     * dlogits = (probs - onehot) / 2 = ((-1/4, 1/4), (3/8, -3/8)) */
    double logits[4] = {0, 0, log(3.0), 0}, probs[4], dl[4], loss;
    int32_t labels[2] = {0, 1};
    rm_ref_softmax_xent(probs, dl, &loss, logits, labels, 2, 2);
    double want_p[4] = {0.5, 0.5, 0.75, 0.25}, want_dl[4] = {-0.25, 0.25, 0.375, -0.375};
    cr_assert(fabs(loss - 1.5 * log(2.0)) <= 1e-15, "loss %.17g", loss);
    expect_near(probs, want_p, 4, 1e-15, "probs");
    expect_near(dl, want_dl, 4, 1e-15, "dlogits");

    /* one sample alone: loss of (0, 0) with label 0 is ln 2 */
    rm_ref_softmax_xent(probs, NULL, &loss, logits, labels, 1, 2);
    cr_assert(fabs(loss - log(2.0)) <= 1e-16, "loss %.17g", loss);
}

Test(reference_softmax_xent, stable_for_huge_logits)
{
    /* logits (1000, 0), label 1: exp(1000) overflows unless the max is
     * subtracted; loss = logsumexp - 0 = 1000 + ln(1 + e^-1000) = 1000. */
    double logits[2] = {1000, 0}, probs[2], dl[2], loss;
    int32_t label = 1;
    rm_ref_softmax_xent(probs, dl, &loss, logits, &label, 1, 2);
    cr_assert_eq(loss, 1000.0);
    cr_assert_eq(probs[0], 1.0);
    cr_assert(probs[1] >= 0 && probs[1] < 1e-300, "probs[1] = %g", probs[1]);
    cr_assert_eq(dl[0], 1.0);
    cr_assert_eq(dl[1], -1.0);
}

/* ---- optimizers --------------------------------------------------------------- */

Test(reference_sgd, momentum_by_hand)
{
    /* lr 0.1, momentum 0.9, no weight decay, w = 1, g = 0.5 twice.
     * step 1: v = 0.9*0 + 0.5 = 0.5;            w = 1 - 0.1*0.5 = 0.95
     * step 2: v = 0.9*0.5 + 0.5 = 0.95;         w = 0.95 - 0.1*0.95 = 0.855 */
    double w = 1, v = 0, g = 0.5;
    rm_ref_sgd_step(&w, &v, &g, 1, 0.1, 0.9, 0.0, 0);
    cr_assert(fabs(v - 0.5) <= 1e-15 && fabs(w - 0.95) <= 1e-15, "step 1: w %.17g v %.17g", w, v);
    rm_ref_sgd_step(&w, &v, &g, 1, 0.1, 0.9, 0.0, 0);
    cr_assert(fabs(v - 0.95) <= 1e-15 && fabs(w - 0.855) <= 1e-15, "step 2: w %.17g v %.17g", w,
              v);
}

Test(reference_sgd, nesterov_by_hand)
{
    /* lr 0.1, momentum 0.9, nesterov, w = 1, g = 0.5 twice.
     * step 1: v = 0.5; update = 0.5 + 0.9*0.5 = 0.95;   w = 1 - 0.095 = 0.905
     * step 2: v = 0.9*0.5 + 0.5 = 0.95; update = 0.5 + 0.9*0.95 = 1.355;
     *         w = 0.905 - 0.1355 = 0.7695 */
    double w = 1, v = 0, g = 0.5;
    rm_ref_sgd_step(&w, &v, &g, 1, 0.1, 0.9, 0.0, 1);
    cr_assert(fabs(w - 0.905) <= 1e-15, "step 1: w %.17g", w);
    rm_ref_sgd_step(&w, &v, &g, 1, 0.1, 0.9, 0.0, 1);
    cr_assert(fabs(v - 0.95) <= 1e-15 && fabs(w - 0.7695) <= 1e-15, "step 2: w %.17g v %.17g", w,
              v);
}

Test(reference_sgd, weight_decay_and_plain_by_hand)
{
    /* lr 0.1, momentum 0.9, weight decay 0.1, w = 1, g = 0.5 twice.
     * step 1: g' = 0.5 + 0.1*1 = 0.6; v = 0.6;   w = 1 - 0.06 = 0.94
     * step 2: g' = 0.5 + 0.1*0.94 = 0.594; v = 0.9*0.6 + 0.594 = 1.134;
     *         w = 0.94 - 0.1134 = 0.8266 */
    double w = 1, v = 0, g = 0.5;
    rm_ref_sgd_step(&w, &v, &g, 1, 0.1, 0.9, 0.1, 0);
    cr_assert(fabs(w - 0.94) <= 1e-15, "step 1: w %.17g", w);
    rm_ref_sgd_step(&w, &v, &g, 1, 0.1, 0.9, 0.1, 0);
    cr_assert(fabs(v - 1.134) <= 1e-15 && fabs(w - 0.8266) <= 1e-15, "step 2: w %.17g v %.17g",
              w, v);

    /* momentum 0 (no buffer needed): w = (1, -2), g = (0.5, 0.25), lr 0.1:
     * w = (1 - 0.05, -2 - 0.025) = (0.95, -2.025) */
    double w2[2] = {1, -2}, g2[2] = {0.5, 0.25}, want[2] = {0.95, -2.025};
    rm_ref_sgd_step(w2, NULL, g2, 2, 0.1, 0.0, 0.0, 0);
    expect_near(w2, want, 2, 1e-15, "plain SGD");
}

Test(reference_adam, two_steps_by_hand)
{
    /* lr 0.1, beta1 0.9, beta2 0.999, eps 1e-8, no weight decay, w = 1.
     * step 1, g = 0.5: m = 0.1*0.5 = 0.05; v = 0.001*0.25 = 0.00025;
     *   bias corrections 1 - 0.9 = 0.1 and 1 - 0.999 = 0.001;
     *   step size 0.1/0.1 = 1; denom = sqrt(0.00025)/sqrt(0.001) + 1e-8 = 0.5 + 1e-8;
     *   w = 1 - 0.05/(0.5 + 1e-8) = 1 - 0.1/(1 + 2e-8) = 0.900000002 (to 1e-16)
     * step 2, g = 0.25: m = 0.9*0.05 + 0.1*0.25 = 0.07;
     *   v = 0.999*0.00025 + 0.001*0.0625 = 0.00024975 + 0.0000625 = 0.00031225;
     *   bias corrections 1 - 0.81 = 0.19 and 1 - 0.998001 = 0.001999;
     *   step size 0.1/0.19 = 0.526315789...;
     *   denom = sqrt(0.00031225/0.001999) + 1e-8 = sqrt(0.156203101...) + 1e-8
     *         = 0.395225381...;
     *   w = 0.900000002 - 0.526315789... * 0.07 / 0.395225391... = 0.80678204047746... */
    double w = 1, m = 0, v = 0, g = 0.5;
    rm_ref_adam_step(&w, &m, &v, &g, 1, 0.1, 0.9, 0.999, 1e-8, 0.0, 1);
    cr_assert(fabs(m - 0.05) <= 1e-15 && fabs(v - 0.00025) <= 1e-18, "step 1: m %.17g v %.17g",
              m, v);
    cr_assert(fabs(w - 0.900000002) <= 1e-15, "step 1: w %.17g", w);
    g = 0.25;
    rm_ref_adam_step(&w, &m, &v, &g, 1, 0.1, 0.9, 0.999, 1e-8, 0.0, 2);
    cr_assert(fabs(m - 0.07) <= 1e-15 && fabs(v - 0.00031225) <= 1e-18,
              "step 2: m %.17g v %.17g", m, v);
    double expected = 0.900000002 - (0.1 / 0.19) * 0.07 / (sqrt(0.00031225 / 0.001999) + 1e-8);
    cr_assert(fabs(expected - 0.80678204047746) <= 1e-13, "hand value %.17g", expected);
    cr_assert(fabs(w - expected) <= 1e-14, "step 2: w %.17g, want %.17g", w, expected);
}

Test(reference_adam, weight_decay_by_hand)
{
    /* weight decay 0.01 is L2 on the gradient: w = 1, g = 0.5 -> g' = 0.51.
     * m = 0.051, v = 0.001 * 0.2601 = 0.0002601; m_hat = 0.51,
     * sqrt(v_hat) = 0.51; w = 1 - 0.1 * 0.51 / (0.51 + 1e-8)
     *   = 1 - 0.1 / (1 + 1e-8/0.51) = 0.90000000196078... */
    double w = 1, m = 0, v = 0, g = 0.5;
    rm_ref_adam_step(&w, &m, &v, &g, 1, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
    cr_assert(fabs(m - 0.051) <= 1e-15 && fabs(v - 0.0002601) <= 1e-18, "m %.17g v %.17g", m, v);
    cr_assert(fabs(w - 0.90000000196078) <= 1e-14, "w %.17g", w);
}
