/* The double-precision LRP reference (tests/oracle/lrp_reference.h), proven right
 * on its own: hand-computed 2-input/2-output cases for every rule, the
 * conservation properties, LRP-0 = gradient x input on small ReLU networks,
 * the explicit matrix-form sums against the four-step formula written here
 * with the reference conv/dense forward and backward on modified weights,
 * batchnorm folding, max-pool winners accumulating over overlapping windows
 * and the parameter validation. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "oracle/lrp_reference.h"
#include "oracle/reference.h"
#include "core/rng.h"

/* ---- helpers ------------------------------------------------------------ */

static double *alloc_d(size_t n)
{
    double *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}

static double *rand_normal(size_t n, uint64_t stream, double scale)
{
    rm_rng rng;
    rm_rng_seed(&rng, 20240611, stream, 0);
    double *a = alloc_d(n);
    for (size_t i = 0; i < n; i++) a[i] = scale * rm_rng_normal(&rng);
    return a;
}

static double *rand_uniform(size_t n, uint64_t stream, double lo, double hi)
{
    rm_rng rng;
    rm_rng_seed(&rng, 20240611, stream, 1);
    double *a = alloc_d(n);
    for (size_t i = 0; i < n; i++) a[i] = rm_rng_range(&rng, lo, hi);
    return a;
}

static double sum_of(const double *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i];
    return s;
}

static double abs_sum_of(const double *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += fabs(a[i]);
    return s;
}

/* |got - want| <= rtol * (1 + |want|) element by element. */
static void expect_close(const double *got, const double *want, size_t n, double rtol,
                         const char *what)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - want[i]) <= rtol * (1.0 + fabs(want[i])),
                  "%s[%zu]: got %.17g, want %.17g", what, i, got[i], want[i]);
}

static rm_lrp_params rule_with(rm_lrp_rule rule, double eps)
{
    rm_lrp_params p = rm_lrp_params_default(rule);
    p.eps = eps;
    return p;
}

/* ---- hand-computed dense cases -------------------------------------------
 * Every case: x = (2, -1), W [O=2, I=2] = [[1, 2], [-1, -3]] (row k = the
 * weights of output k), b = (0.5, -2), R_out = (1, 3). Writing z_jk = x_j w_jk:
 *   output 0: z_00 = 2*1 = 2,     z_10 = -1*2 = -2,   z_0 = 2 - 2 + 0.5 = 0.5
 *   output 1: z_01 = 2*(-1) = -2, z_11 = -1*(-3) = 3, z_1 = -2 + 3 - 2 = -1 */
static const double hx[2] = {2, -1}, hw[4] = {1, 2, -1, -3}, hb[2] = {0.5, -2}, hR[2] = {1, 3};

static void hand_case(const rm_lrp_params *p, const double want[2], const char *what)
{
    double r[2] = {-99, -99};   /* overwritten, not accumulated */
    cr_assert_eq(rm_lrp_ref_dense(r, hR, hx, hw, hb, 1, 2, 2, p), 0, "%s: %s", what,
                 rm_error_message());
    expect_close(r, want, 2, 1e-15, what);
}

Test(lrp_reference_hand, zero)
{
    /* R_0 = 2/0.5 * 1 + (-2)/(-1) * 3 = 4 + 6 = 10
     * R_1 = (-2)/0.5 * 1 + 3/(-1) * 3 = -4 - 9 = -13 */
    rm_lrp_params p = rule_with(RM_LRP_ZERO, 123.0);   /* LRP-0 ignores eps */
    hand_case(&p, (double[]){10, -13}, "zero");
}

Test(lrp_reference_hand, zero_denominator_passes_nothing)
{
    /* ignore_bias: z_0 = 2 - 2 = 0, z_1 = -2 + 3 = 1.
     * Output 0 has stab(0) = 0 under LRP-0 and passes nothing:
     * R_0 = (-2)/1 * 3 = -6,  R_1 = 3/1 * 3 = 9. */
    rm_lrp_params p = rule_with(RM_LRP_ZERO, 0.0);
    p.ignore_bias = 1;
    hand_case(&p, (double[]){-6, 9}, "zero, ignore_bias, z_0 = 0");
}

Test(lrp_reference_hand, epsilon)
{
    /* eps = 0.5: stab(0.5) = 1, stab(-1) = -1.5
     * R_0 = 2/1 * 1 + (-2)/(-1.5) * 3 = 2 + 4 = 6
     * R_1 = (-2)/1 * 1 + 3/(-1.5) * 3 = -2 - 6 = -8 */
    rm_lrp_params p = rule_with(RM_LRP_EPSILON, 0.5);
    hand_case(&p, (double[]){6, -8}, "epsilon");
}

Test(lrp_reference_hand, epsilon_ignore_bias_sign0)
{
    /* ignore_bias: z = (0, 1); sign0(0) = +1 so stab(0) = +0.5, stab(1) = 1.5
     * R_0 = 2/0.5 * 1 + (-2)/1.5 * 3 = 4 - 4 = 0
     * R_1 = (-2)/0.5 * 1 + 3/1.5 * 3 = -4 + 6 = 2 */
    rm_lrp_params p = rule_with(RM_LRP_EPSILON, 0.5);
    p.ignore_bias = 1;
    hand_case(&p, (double[]){0, 2}, "epsilon, ignore_bias");
}

Test(lrp_reference_hand, zplus)
{
    /* contributions x+w+ + x-w-:
     *   output 0: j0: 2*1 = 2;  j1: x = -1, w = 2 > 0: 0.       z+ = 2 + b+ (0.5) = 2.5
     *   output 1: j0: x = 2, w = -1 < 0: 0;  j1: (-1)(-3) = 3.  z+ = 3 + b+ (0) = 3
     * eps = 0.5: stab = 3 and 3.5
     * R_0 = 2/3 * 1 = 2/3,  R_1 = 3/3.5 * 3 = 18/7 */
    rm_lrp_params p = rule_with(RM_LRP_ZPLUS, 0.5);
    hand_case(&p, (double[]){2.0 / 3.0, 18.0 / 7.0}, "zplus");
}

Test(lrp_reference_hand, alphabeta)
{
    /* alpha 2, beta 1, eps 0.5.
     * positive part: as z+ above: (2/3, 18/7), times alpha: (4/3, 36/7)
     * negative part, contributions x+w- + x-w+:
     *   output 0: j0: 0;  j1: (-1)*2 = -2.          z- = -2 + b- (0) = -2 -> stab -2.5
     *   output 1: j0: 2*(-1) = -2;  j1: 0.          z- = -2 + b- (-2) = -4 -> stab -4.5
     *   R_0 = (-2)/(-4.5) * 3 = 4/3,  R_1 = (-2)/(-2.5) * 1 = 4/5
     * R = alpha * pos - beta * neg = (4/3 - 4/3, 36/7 - 4/5) = (0, 152/35) */
    rm_lrp_params p = rule_with(RM_LRP_ALPHABETA, 0.5);
    p.alpha = 2, p.beta = 1;
    hand_case(&p, (double[]){0, 152.0 / 35.0}, "alpha2-beta1");
}

Test(lrp_reference_hand, gamma)
{
    /* gamma 0.5, eps 0.5. Branch by the real z = (0.5, -1).
     * output 0 (z >= 0): z_jk + gamma z_jk+: j0: 2 + 0.5*2 = 3;  j1: -2 + 0 = -2
     *   bias b + gamma b+ = 0.5 + 0.25 = 0.75; z' = 3 - 2 + 0.75 = 1.75 -> stab 2.25
     *   (zennit's weight form: x+ (w + g w+) = 2 * 1.5 = 3; x- (w + g w-) = -1 * 2 = -2)
     * output 1 (z < 0): z_jk + gamma z_jk-: j0: -2 + 0.5*(-2) = -3;  j1: 3 + 0 = 3
     *   bias b + gamma b- = -2 - 1 = -3; z' = -3 + 3 - 3 = -3 -> stab -3.5
     *   (x+ (w + g w-) = 2 * (-1.5) = -3; x- (w + g w+) = -1 * (-3) = 3)
     * R_0 = 3/2.25 * 1 + (-3)/(-3.5) * 3 = 4/3 + 18/7
     * R_1 = (-2)/2.25 * 1 + 3/(-3.5) * 3 = -8/9 - 18/7 */
    rm_lrp_params p = rule_with(RM_LRP_GAMMA, 0.5);
    p.gamma = 0.5;
    hand_case(&p, (double[]){4.0 / 3.0 + 18.0 / 7.0, -8.0 / 9.0 - 18.0 / 7.0}, "gamma");
}

Test(lrp_reference_hand, gamma_zero_output_counts_as_positive)
{
    /* No bias: z = (2 - 2, -2 + 3) = (0, 1); sign0 puts output 0 in the
     * positive branch. gamma 0.5, eps 0.5:
     *   output 0: j0: 2 + 0.5*2 = 3;  j1: -2 + 0 = -2;  z' = 1 -> stab 1.5
     *   output 1: j0: -2 + 0 = -2;    j1: 3 + 1.5 = 4.5; z' = 2.5 -> stab 3
     * R_0 = 3/1.5 * 1 + (-2)/3 * 3 = 2 - 2 = 0
     * R_1 = (-2)/1.5 * 1 + 4.5/3 * 3 = -4/3 + 9/2 = 19/6
     * (the negative branch for output 0 would give z' = 2 - 3 = -1 instead) */
    rm_lrp_params p = rule_with(RM_LRP_GAMMA, 0.5);
    p.gamma = 0.5;
    double r[2];
    cr_assert_eq(rm_lrp_ref_dense(r, hR, hx, hw, NULL, 1, 2, 2, &p), 0);
    expect_close(r, (double[]){0, 19.0 / 6.0}, 2, 1e-15, "gamma, z_0 = 0");
}

Test(lrp_reference_hand, wsquare)
{
    /* eps 0 (exact): output 0: w^2 = (1, 4), sum 5;  output 1: (1, 9), sum 10
     * R_0 = 1/5 * 1 + 1/10 * 3 = 0.5,  R_1 = 4/5 * 1 + 9/10 * 3 = 3.5   (sum 4 = sum R_out) */
    rm_lrp_params p = rule_with(RM_LRP_WSQUARE, 0.0);
    hand_case(&p, (double[]){0.5, 3.5}, "wsquare");
}

Test(lrp_reference_hand, flat)
{
    /* eps 0: every output has fan-in 2: R_j = 1/2 * 1 + 1/2 * 3 = 2 */
    rm_lrp_params p = rule_with(RM_LRP_FLAT, 0.0);
    hand_case(&p, (double[]){2, 2}, "flat");
}

Test(lrp_reference_hand, zbox)
{
    /* l = -1, h = 3, eps 0; the bias takes no part. a_jk = x w - l w+ - h w-:
     *   output 0 (w = 1, 2):   j0: 2 + 1 - 0 = 3;   j1: -2 + 2 - 0 = 0;   z = 3
     *   output 1 (w = -1, -3): j0: -2 - 0 + 3 = 1;  j1: 3 - 0 + 9 = 12;   z = 13
     * R_0 = 3/3 * 1 + 1/13 * 3 = 1 + 3/13,  R_1 = 0 + 12/13 * 3 = 36/13  (sum 4) */
    rm_lrp_params p = rule_with(RM_LRP_ZBOX, 0.0);
    p.low = -1, p.high = 3;
    hand_case(&p, (double[]){1.0 + 3.0 / 13.0, 36.0 / 13.0}, "zbox");

    /* The same bounds as per-element maps give the same result. */
    double lo[2] = {-1, -1}, hi[2] = {3, 3};
    p.low = 0, p.high = 0, p.low_map = lo, p.high_map = hi;
    hand_case(&p, (double[]){1.0 + 3.0 / 13.0, 36.0 / 13.0}, "zbox, maps");
}

Test(lrp_reference_hand, flat_conv_padding_cells_take_nothing)
{
    /* x [1,1,1,3], K = 3, pad 1, stride 1: OH = 1, OW = 3. The real cells of
     * the three windows: {0,1}, {0,1,2}, {1,2} (the rest is padding).
     * R_out = (2, 3, 4), flat, eps 0:
     *   R_0 = 2/2 + 3/3 = 2,  R_1 = 2/2 + 3/3 + 4/2 = 4,  R_2 = 3/3 + 4/2 = 3 */
    double x[3] = {5, -7, 0.25}, w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, R[3] = {2, 3, 4}, r[3];
    rm_lrp_params p = rule_with(RM_LRP_FLAT, 0.0);
    cr_assert_eq(rm_lrp_ref_conv(r, R, x, w, NULL, 1, 1, 1, 3, 1, 3, 1, 1, &p), 0);
    expect_close(r, (double[]){2, 4, 3}, 3, 1e-15, "flat conv");
}

Test(lrp_reference_hand, avgpool_and_global_avgpool)
{
    /* x [1,1,2,2] = (1, 2, 3, 6), K 2 stride 2: z = 12/4 = 3, eps 0, R = 6:
     * R_j = (x_j / 4) / 3 * 6 = x_j / 2 = (0.5, 1, 1.5, 3) */
    double x[4] = {1, 2, 3, 6}, R = 6, r[4];
    rm_lrp_ref_avgpool(r, &R, x, 1, 1, 2, 2, 2, 2, 0, 0.0);
    expect_close(r, (double[]){0.5, 1, 1.5, 3}, 4, 1e-15, "avgpool");
    rm_lrp_ref_global_avgpool(r, &R, x, 1, 1, 2, 2, 0.0);
    expect_close(r, (double[]){0.5, 1, 1.5, 3}, 4, 1e-15, "global avgpool");

    /* Include-padding: x [1,1,1,1] = 2, K 2, pad 1, stride 1: four windows,
     * each z = 2/4 = 0.5 (three padding zeros); eps 0.5: stab = 1, so each
     * passes (2/4)/1 * R_k: R_in = 0.5 * (1 + 2 + 3 + 4) = 5 */
    double one = 2, R4[4] = {1, 2, 3, 4}, r1;
    rm_lrp_ref_avgpool(&r1, R4, &one, 1, 1, 1, 1, 2, 1, 1, 0.5);
    cr_assert_float_eq(r1, 5.0, 1e-15);
}

/* ---- max pooling -------------------------------------------------------- */

Test(lrp_reference_maxpool, overlapping_windows_accumulate)
{
    /* x [1,1,2,3] = [[1, 5, 2], [0, 3, 4]], K 2, stride 1: two windows,
     * cols 0-1 {1,5,0,3} and cols 1-2 {5,2,3,4}; 5 (index 1) wins both.
     * R_out = (2, 3): R_in = (0, 2 + 3, 0, 0, 0, 0). */
    double x[6] = {1, 5, 2, 0, 3, 4}, R[2] = {2, 3}, r[6];
    cr_assert_eq(rm_lrp_ref_maxpool(r, R, x, 1, 1, 2, 3, 2, 1, 0), 0);
    expect_close(r, (double[]){0, 5, 0, 0, 0, 0}, 6, 0.0, "maxpool overlap");

    /* x [1,1,3,3], K 2, stride 1: four windows; 9 at the centre wins all four
     * except the bottom-right one, where 10 wins. R_out = (1, 2, 3, 4). */
    double y[9] = {1, 2, 0, 0, 9, 1, 3, 0, 10}, R4[4] = {1, 2, 3, 4}, r9[9];
    cr_assert_eq(rm_lrp_ref_maxpool(r9, R4, y, 1, 1, 3, 3, 2, 1, 0), 0);
    expect_close(r9, (double[]){0, 0, 0, 0, 1 + 2 + 3, 0, 0, 0, 4}, 9, 0.0, "maxpool 3x3");

    /* Ties go to the first cell in row-major window order. */
    double t[4] = {7, 7, 7, 7}, Rt = 2.5, rt[4];
    cr_assert_eq(rm_lrp_ref_maxpool(rt, &Rt, t, 1, 1, 2, 2, 2, 2, 0), 0);
    expect_close(rt, (double[]){2.5, 0, 0, 0}, 4, 0.0, "maxpool tie");
}

/* ---- validation --------------------------------------------------------- */

Test(lrp_reference_params, alphabeta_validation)
{
    rm_lrp_params p = rm_lrp_params_default(RM_LRP_ALPHABETA);
    cr_assert_eq(p.alpha, 2.0);
    cr_assert_eq(p.beta, 1.0);
    cr_assert_eq(rm_lrp_params_check(&p), 0);
    p.alpha = 1.5, p.beta = 0.5;
    cr_assert_eq(rm_lrp_params_check(&p), 0);

    p.alpha = 2, p.beta = 0.5;   /* alpha - beta = 1.5 */
    cr_assert_eq(rm_lrp_params_check(&p), -1);
    cr_assert(strstr(rm_error_message(), "alpha - beta must equal 1"), "%s", rm_error_message());
    cr_assert(strstr(rm_error_message(), "alpha 2, beta 0.5"), "%s", rm_error_message());

    p.alpha = -0.5, p.beta = -1.5;   /* difference 1, but negative */
    cr_assert_eq(rm_lrp_params_check(&p), -1);
    cr_assert(strstr(rm_error_message(), "alpha and beta must both be >= 0"), "%s",
              rm_error_message());
    p.alpha = 1, p.beta = NAN;
    cr_assert_eq(rm_lrp_params_check(&p), -1);

    /* The layer functions refuse invalid parameters too (and write nothing). */
    p.alpha = 3, p.beta = 1;
    double r[2] = {42, 42};
    cr_assert_eq(rm_lrp_ref_dense(r, hR, hx, hw, hb, 1, 2, 2, &p), -1);
    cr_assert(strstr(rm_error_message(), "alpha - beta must equal 1"), "%s", rm_error_message());
    cr_assert_eq(r[0], 42.0);
    cr_assert_eq(rm_lrp_ref_conv(r, hR, hx, hw, hb, 1, 2, 1, 1, 2, 1, 1, 0, &p), -1);
}

Test(lrp_reference_params, other_checks_and_defaults)
{
    rm_lrp_params p = rm_lrp_params_default(RM_LRP_EPSILON);
    cr_assert_eq(p.eps, RM_LRP_DEFAULT_EPS);
    cr_assert_eq(rm_lrp_params_default(RM_LRP_ZPLUS).eps, RM_LRP_STAB_EPS);
    cr_assert_eq(rm_lrp_params_default(RM_LRP_ZERO).eps, 0.0);
    p.eps = -1e-3;
    cr_assert_eq(rm_lrp_params_check(&p), -1);
    cr_assert(strstr(rm_error_message(), "eps must be finite and >= 0"), "%s", rm_error_message());
    p = rm_lrp_params_default(RM_LRP_GAMMA);
    p.gamma = -0.25;
    cr_assert_eq(rm_lrp_params_check(&p), -1);
    p = rm_lrp_params_default(RM_LRP_ZBOX);
    p.low = 1, p.high = 0;
    cr_assert_eq(rm_lrp_params_check(&p), -1);
    p.rule = (rm_lrp_rule)99;
    cr_assert_eq(rm_lrp_params_check(&p), -1);
    cr_assert_str_eq(rm_lrp_rule_name(RM_LRP_ALPHABETA), "alphabeta");
    cr_assert_str_eq(rm_lrp_rule_name((rm_lrp_rule)99), "unknown");
    cr_assert_eq(rm_lrp_stab(0.0, 0.5), 0.5);     /* sign0(0) = +1 */
    cr_assert_eq(rm_lrp_stab(-0.0, 0.5), 0.5);
    cr_assert_eq(rm_lrp_stab(-2.0, 0.5), -2.5);
}

/* ---- the four-step formula, written with the reference layers ----------- */

typedef struct {
    int dense;                    /* 1: dense x [N,I=C], w [O,I]; else conv */
    int N, C, H, W, O, K, stride, pad;
} geom;

static int g_oh(const geom *g) { return g->dense ? 1 : rm_ref_out_size(g->H, g->K, g->stride, g->pad); }
static int g_ow(const geom *g) { return g->dense ? 1 : rm_ref_out_size(g->W, g->K, g->stride, g->pad); }
static size_t g_nx(const geom *g) { return (size_t)g->N * g->C * (g->dense ? 1 : (size_t)g->H * g->W); }
static size_t g_nz(const geom *g) { return (size_t)g->N * g->O * g_oh(g) * g_ow(g); }
static size_t g_nw(const geom *g) { return (size_t)g->O * g->C * (g->dense ? 1 : (size_t)g->K * g->K); }

/* z = x' W' + b' (step 1) */
static void fwd(const geom *g, double *z, const double *x, const double *w, const double *b)
{
    if (g->dense) rm_ref_dense_forward(z, x, w, b, g->N, g->C, g->O);
    else rm_ref_conv_forward(z, x, w, b, g->N, g->C, g->H, g->W, g->O, g->K, g->stride, g->pad);
}

/* c = W'^T s (step 3), overwriting c. */
static void bwd(const geom *g, double *c, const double *s, const double *w)
{
    double *dw = alloc_d(g_nw(g)), *xdummy = alloc_d(g_nx(g));
    memset(c, 0, sizeof *c * g_nx(g));
    if (g->dense) rm_ref_dense_backward(c, dw, NULL, s, xdummy, w, g->N, g->C, g->O);
    else
        rm_ref_conv_backward(c, dw, NULL, s, xdummy, w, g->N, g->C, g->H, g->W, g->O, g->K,
                             g->stride, g->pad);
    free(dw), free(xdummy);
}

/* One four-step pass with up to three (input, weight, sign) terms sharing
 * one denominator: z' = b' + sum_t sign_t x'_t W'_t; s = mask * R / stab(z');
 * R_in += scale * sum_t sign_t x'_t * (W'_t^T s). mask: 0 all outputs,
 * +1 where zreal >= 0, -1 where zreal < 0. */
typedef struct { const double *x, *w; double sign; } fs_term;

static void fs_pass(const geom *g, double *rin, const double *R, const double *zreal,
                    const fs_term *t, int nt, const double *bias, double eps, double scale,
                    int mask)
{
    size_t nx = g_nx(g), nz = g_nz(g);
    double *z = alloc_d(nz), *zt = alloc_d(nz), *s = alloc_d(nz), *c = alloc_d(nx);
    fwd(g, z, t[0].x, t[0].w, bias);
    for (size_t i = 0; i < nz; i++) z[i] *= t[0].sign;
    for (int k = 1; k < nt; k++) {
        fwd(g, zt, t[k].x, t[k].w, NULL);
        for (size_t i = 0; i < nz; i++) z[i] += t[k].sign * zt[i];
    }
    for (size_t i = 0; i < nz; i++) {
        int keep = mask == 0 || (mask > 0) == (zreal[i] >= 0);
        double d = rm_lrp_stab(z[i], eps);
        s[i] = keep && d != 0 ? R[i] / d : 0.0;
    }
    for (int k = 0; k < nt; k++) {
        bwd(g, c, s, t[k].w);
        for (size_t i = 0; i < nx; i++) rin[i] += scale * t[k].sign * t[k].x[i] * c[i];
    }
    free(z), free(zt), free(s), free(c);
}

static void four_step(const geom *g, const rm_lrp_params *p, double *rin, const double *R,
                      const double *x, const double *w, const double *b)
{
    size_t nx = g_nx(g), nw = g_nw(g), nz = g_nz(g), sample = nx / (size_t)g->N;
    double *xp = alloc_d(nx), *xn = alloc_d(nx), *ones = alloc_d(nx), *lo = alloc_d(nx),
           *hi = alloc_d(nx);
    for (size_t i = 0; i < nx; i++) {
        xp[i] = fmax(x[i], 0), xn[i] = fmin(x[i], 0), ones[i] = 1;
        lo[i] = p->low_map ? p->low_map[i % sample] : p->low;
        hi[i] = p->high_map ? p->high_map[i % sample] : p->high;
    }
    double *wp = alloc_d(nw), *wn = alloc_d(nw), *wsq = alloc_d(nw), *w1 = alloc_d(nw),
           *wgp = alloc_d(nw), *wgn = alloc_d(nw);
    for (size_t i = 0; i < nw; i++) {
        wp[i] = fmax(w[i], 0), wn[i] = fmin(w[i], 0), wsq[i] = w[i] * w[i], w1[i] = 1;
        wgp[i] = w[i] + p->gamma * wp[i], wgn[i] = w[i] + p->gamma * wn[i];
    }
    int O = g->O;
    double *bb = alloc_d(O), *bp = alloc_d(O), *bn = alloc_d(O), *bgp = alloc_d(O),
           *bgn = alloc_d(O);
    for (int o = 0; o < O; o++) {
        bb[o] = b && !p->ignore_bias ? b[o] : 0.0;
        bp[o] = fmax(bb[o], 0), bn[o] = fmin(bb[o], 0);
        bgp[o] = bb[o] + p->gamma * bp[o], bgn[o] = bb[o] + p->gamma * bn[o];
    }
    double *zreal = alloc_d(nz);
    fwd(g, zreal, x, w, b);
    memset(rin, 0, sizeof *rin * nx);
    switch (p->rule) {
    case RM_LRP_ZERO:
    case RM_LRP_EPSILON: {
        fs_term t[1] = {{x, w, 1}};
        fs_pass(g, rin, R, zreal, t, 1, bb, p->rule == RM_LRP_ZERO ? 0.0 : p->eps, 1, 0);
        break;
    }
    case RM_LRP_ZPLUS:
    case RM_LRP_ALPHABETA: {
        double alpha = p->rule == RM_LRP_ZPLUS ? 1.0 : p->alpha;
        fs_term tp[2] = {{xp, wp, 1}, {xn, wn, 1}};
        fs_pass(g, rin, R, zreal, tp, 2, bp, p->eps, alpha, 0);
        if (p->rule == RM_LRP_ALPHABETA) {
            fs_term tn[2] = {{xp, wn, 1}, {xn, wp, 1}};
            fs_pass(g, rin, R, zreal, tn, 2, bn, p->eps, -p->beta, 0);
        }
        break;
    }
    case RM_LRP_GAMMA: {   /* zennit's Gamma: the weight form of z_jk + gamma z_jk+- */
        fs_term tp[2] = {{xp, wgp, 1}, {xn, wgn, 1}}, tn[2] = {{xp, wgn, 1}, {xn, wgp, 1}};
        fs_pass(g, rin, R, zreal, tp, 2, bgp, p->eps, 1, +1);
        fs_pass(g, rin, R, zreal, tn, 2, bgn, p->eps, 1, -1);
        break;
    }
    case RM_LRP_WSQUARE: {
        fs_term t[1] = {{ones, wsq, 1}};
        fs_pass(g, rin, R, zreal, t, 1, NULL, p->eps, 1, 0);
        break;
    }
    case RM_LRP_FLAT: {
        fs_term t[1] = {{ones, w1, 1}};
        fs_pass(g, rin, R, zreal, t, 1, NULL, p->eps, 1, 0);
        break;
    }
    case RM_LRP_ZBOX: {
        fs_term t[3] = {{x, w, 1}, {lo, wp, -1}, {hi, wn, -1}};
        fs_pass(g, rin, R, zreal, t, 3, NULL, p->eps, 1, 0);
        break;
    }
    case RM_LRP_RULE_COUNT: break;
    }
    free(xp), free(xn), free(ones), free(lo), free(hi);
    free(wp), free(wn), free(wsq), free(w1), free(wgp), free(wgn);
    free(bb), free(bp), free(bn), free(bgp), free(bgn), free(zreal);
}

static int run_ref(const geom *g, const rm_lrp_params *p, double *rin, const double *R,
                   const double *x, const double *w, const double *b)
{
    if (g->dense) return rm_lrp_ref_dense(rin, R, x, w, b, g->N, g->C, g->O, p);
    return rm_lrp_ref_conv(rin, R, x, w, b, g->N, g->C, g->H, g->W, g->O, g->K, g->stride, g->pad, p);
}

/* Explicit sums vs four-step for one geometry and every rule; bias on, off
 * and ignored. Inputs of both signs. */
static void cross_check(const geom *g, uint64_t seed)
{
    size_t nx = g_nx(g), nw = g_nw(g), nz = g_nz(g);
    double *x = rand_normal(nx, seed + 1, 1.0), *w = rand_normal(nw, seed + 2, 0.5),
           *b = rand_normal(g->O, seed + 3, 0.5), *R = rand_normal(nz, seed + 4, 1.0);
    double *lo = rand_uniform(nx / g->N, seed + 5, -2.0, -0.5),
           *hi = rand_uniform(nx / g->N, seed + 6, 0.5, 2.0);
    double *got = alloc_d(nx), *want = alloc_d(nx);
    for (int rule = 0; rule < RM_LRP_RULE_COUNT; rule++)
        for (int variant = 0; variant < 4; variant++) {
            /* variant 0: bias, 1: no bias, 2: bias ignored, 3: bias + other parameters */
            rm_lrp_params p = rm_lrp_params_default((rm_lrp_rule)rule);
            const double *bias = variant == 1 ? NULL : b;
            p.ignore_bias = variant == 2;
            if (rule == RM_LRP_EPSILON) p.eps = variant == 3 ? 0.5 : 0.1;
            if (variant == 3) {
                p.gamma = 1.5;
                if (rule == RM_LRP_ALPHABETA) p.alpha = 1.5, p.beta = 0.5;
                if (rule == RM_LRP_ZBOX) p.low_map = lo, p.high_map = hi;
                if (rule != RM_LRP_EPSILON && rule != RM_LRP_ZERO) p.eps = 1e-3;
            } else {
                p.low = -1.5, p.high = 2.5;
            }
            cr_assert_eq(run_ref(g, &p, got, R, x, w, bias), 0, "%s", rm_error_message());
            four_step(g, &p, want, R, x, w, bias);
            char what[160];
            snprintf(what, sizeof what, "%s rule %s variant %d (N%d C%d H%d W%d O%d K%d s%d p%d)",
                     g->dense ? "dense" : "conv", rm_lrp_rule_name((rm_lrp_rule)rule), variant,
                     g->N, g->C, g->H, g->W, g->O, g->K, g->stride, g->pad);
            expect_close(got, want, nx, 1e-12, what);
            /* not trivially zero */
            cr_assert(abs_sum_of(got, nx) > 1e-3, "%s: relevance vanished", what);
        }
    free(x), free(w), free(b), free(R), free(lo), free(hi), free(got), free(want);
}

Test(lrp_reference_fourstep, conv_every_rule)
{
    int strides[2] = {1, 2}, pads[2] = {0, 1};
    uint64_t seed = 100;
    for (int s = 0; s < 2; s++)
        for (int q = 0; q < 2; q++) {
            cross_check(&(geom){0, 2, 3, 7, 6, 4, 3, strides[s], pads[q]}, seed += 10);
            cross_check(&(geom){0, 1, 2, 6, 5, 3, 2, strides[s], pads[q]}, seed += 10);   /* even K */
        }
    cross_check(&(geom){0, 2, 4, 5, 5, 3, 1, 1, 0}, seed += 10);   /* 1x1 kernel */
    cross_check(&(geom){0, 1, 2, 5, 5, 2, 5, 1, 2}, seed += 10);   /* kernel as large as the image */
}

Test(lrp_reference_fourstep, dense_every_rule)
{
    cross_check(&(geom){1, 3, 7, 1, 1, 5, 1, 1, 0}, 500);
    cross_check(&(geom){1, 1, 2, 1, 1, 3, 1, 1, 0}, 510);
}

/* Dense equals the 1x1 convolution on a 1x1 image (two independent loops). */
Test(lrp_reference_fourstep, dense_equals_1x1_conv)
{
    int N = 3, I = 6, O = 4;
    double *x = rand_normal((size_t)N * I, 601, 1.0), *w = rand_normal((size_t)O * I, 602, 1.0),
           *b = rand_normal(O, 603, 0.5), *R = rand_normal((size_t)N * O, 604, 1.0);
    double *a = alloc_d((size_t)N * I), *c = alloc_d((size_t)N * I);
    for (int rule = 0; rule < RM_LRP_RULE_COUNT; rule++) {
        rm_lrp_params p = rm_lrp_params_default((rm_lrp_rule)rule);
        cr_assert_eq(rm_lrp_ref_dense(a, R, x, w, b, N, I, O, &p), 0);
        cr_assert_eq(rm_lrp_ref_conv(c, R, x, w, b, N, I, 1, 1, O, 1, 1, 0, &p), 0);
        expect_close(a, c, (size_t)N * I, 0.0, rm_lrp_rule_name((rm_lrp_rule)rule));
    }
    free(x), free(w), free(b), free(R), free(a), free(c);
}

/* ---- conservation ------------------------------------------------------- */

/* |sum R_in - sum R_out| <= rtol * sum |R_out| */
static void expect_conserved(const double *rin, size_t nin, const double *rout, size_t nout,
                             double rtol, const char *what)
{
    double si = sum_of(rin, nin), so = sum_of(rout, nout), scale = abs_sum_of(rout, nout);
    cr_assert(fabs(si - so) <= rtol * scale, "%s: sum R_in %.17g, sum R_out %.17g (rel %.3g)",
              what, si, so, fabs(si - so) / scale);
}

/* x: "signed" normal inputs, or nonnegative ones, or inputs inside the z-box
 * bounds [-1, 2]. R_out = |z| * u with u uniform in [0.5, 1.5] (positive, and
 * proportional to the output as relevance from above is). */
enum { X_SIGNED, X_NONNEG, X_BOXED };

static void conservation_case(const geom *g, rm_lrp_params p, int xkind, const double *bias,
                              uint64_t seed)
{
    size_t nx = g_nx(g), nw = g_nw(g), nz = g_nz(g);
    double *x = xkind == X_SIGNED ? rand_normal(nx, seed + 1, 3.0)
              : xkind == X_NONNEG ? rand_uniform(nx, seed + 1, 0.1, 3.0)
                                  : rand_uniform(nx, seed + 1, -1.0, 2.0);
    double *w = rand_normal(nw, seed + 2, 1.0), *u = rand_uniform(nz, seed + 3, 0.5, 1.5);
    double *z = alloc_d(nz), *rin = alloc_d(nx);
    if (p.rule == RM_LRP_ZPLUS || p.rule == RM_LRP_ALPHABETA) {
        /* Input channel 0 only excites and channel 1 only inhibits, so every
         * window (every real cell) holds both signs of contribution. */
        size_t per_channel = nw / ((size_t)g->O * g->C);
        for (int o = 0; o < g->O; o++)
            for (size_t k = 0; k < per_channel; k++) {
                double *excite = &w[((size_t)o * g->C + 0) * per_channel + k];
                double *inhibit = &w[((size_t)o * g->C + 1) * per_channel + k];
                *excite = fabs(*excite);
                *inhibit = -fabs(*inhibit);
            }
    }
    fwd(g, z, x, w, NULL);
    for (size_t i = 0; i < nz; i++) u[i] *= fabs(z[i]);
    if (p.rule == RM_LRP_ZPLUS || p.rule == RM_LRP_ALPHABETA) {
        /* The rules' own condition: every output has a positive contribution
         * (and, for alpha-beta, a negative one), else its relevance (or its
         * beta share) has nowhere to go. Checked so a failure names it. */
        double *wp = alloc_d(nw), *wn = alloc_d(nw), *zp = alloc_d(nz), *zn = alloc_d(nz);
        for (size_t i = 0; i < nw; i++) wp[i] = fmax(w[i], 0), wn[i] = fmin(w[i], 0);
        fwd(g, zp, x, wp, NULL);
        fwd(g, zn, x, wn, NULL);
        for (size_t i = 0; i < nz; i++)
            cr_assert(zp[i] > 0 && (p.rule == RM_LRP_ZPLUS || zn[i] < 0),
                      "test setup: output %zu has z+ %g, z- %g (C%d H%d W%d)", i, zp[i], zn[i],
                      g->C, g->H, g->W);
        free(wp), free(wn), free(zp), free(zn);
    }
    p.low = -1, p.high = 2;
    cr_assert_eq(run_ref(g, &p, rin, u, x, w, bias), 0, "%s", rm_error_message());
    char what[128];
    snprintf(what, sizeof what, "%s %s eps %g (C%d H%d W%d K%d s%d p%d)", g->dense ? "dense" : "conv",
             rm_lrp_rule_name(p.rule), p.eps, g->C, g->H, g->W, g->K, g->stride, g->pad);
    expect_conserved(rin, nx, u, nz, 1e-9, what);
    free(x), free(w), free(u), free(z), free(rin);
}

static const geom conservation_geoms[] = {
    {1, 2, 8, 1, 1, 5, 1, 1, 0},
    {0, 2, 3, 7, 6, 4, 3, 1, 0},
    {0, 2, 3, 7, 6, 4, 3, 1, 1},
    {0, 2, 3, 7, 6, 4, 3, 2, 0},
    {0, 2, 3, 8, 7, 4, 3, 2, 1},
    {0, 1, 2, 6, 6, 3, 2, 2, 1},   /* corner windows: one real cell per channel */
};
#define NGEOMS (sizeof conservation_geoms / sizeof conservation_geoms[0])

/* Epsilon 1e-9 absorbs sum_k u_k |z_k| eps / (|z_k| + eps) <= eps sum_k u_k, i.e.
 * eps / (mean |z|) relative: about 3e-10 here (|z| ~ 3); LRP-0 conserves to rounding
 * (1e-15). Every other case below conserves to better than 1e-12. */
Test(lrp_reference_conservation, zero_and_epsilon_without_bias)
{
    for (size_t i = 0; i < NGEOMS; i++) {
        conservation_case(&conservation_geoms[i], rule_with(RM_LRP_ZERO, 0), X_SIGNED, NULL, 10 * i);
        conservation_case(&conservation_geoms[i], rule_with(RM_LRP_EPSILON, 1e-9), X_SIGNED, NULL,
                          10 * i);
    }
}

Test(lrp_reference_conservation, zplus_and_alphabeta_nonneg_inputs_zero_bias)
{
    for (size_t i = 0; i < NGEOMS; i++) {
        rm_lrp_params ab = rule_with(RM_LRP_ALPHABETA, 1e-13);
        conservation_case(&conservation_geoms[i], rule_with(RM_LRP_ZPLUS, 1e-13), X_NONNEG, NULL,
                          100 + 10 * i);
        conservation_case(&conservation_geoms[i], ab, X_NONNEG, NULL, 100 + 10 * i);
        ab.alpha = 1.25, ab.beta = 0.25;
        conservation_case(&conservation_geoms[i], ab, X_NONNEG, NULL, 100 + 10 * i);
    }
}

Test(lrp_reference_conservation, flat_wsquare_always_zbox_without_bias)
{
    for (size_t i = 0; i < NGEOMS; i++) {
        const geom *g = &conservation_geoms[i];
        double *b = rand_normal((size_t)g->O, 300 + i, 2.0);   /* flat, w-square ignore it */
        conservation_case(g, rule_with(RM_LRP_FLAT, 1e-13), X_SIGNED, b, 200 + 10 * i);
        conservation_case(g, rule_with(RM_LRP_WSQUARE, 1e-13), X_SIGNED, b, 200 + 10 * i);
        conservation_case(g, rule_with(RM_LRP_ZBOX, 1e-13), X_BOXED, NULL, 200 + 10 * i);
        /* the bias cancels in z-box (b - b+ - b- = 0), so it conserves with one too */
        conservation_case(g, rule_with(RM_LRP_ZBOX, 1e-13), X_BOXED, b, 200 + 10 * i);
        free(b);
    }
}

Test(lrp_reference_conservation, pooling)
{
    /* avgpool with eps -> 0 and include-padding; global avgpool; max-pool */
    int N = 2, C = 3, H = 7, W = 6;
    size_t nx = (size_t)N * C * H * W;
    double *x = rand_uniform(nx, 700, 0.1, 2.0), *rin = alloc_d(nx);
    int cfg[][3] = {{2, 2, 0}, {3, 1, 1}, {3, 2, 1}, {2, 1, 1}};
    for (int k = 0; k < 4; k++) {
        int K = cfg[k][0], s = cfg[k][1], pad = cfg[k][2];
        size_t nz = (size_t)N * C * rm_ref_out_size(H, K, s, pad) * rm_ref_out_size(W, K, s, pad);
        double *R = rand_uniform(nz, 701 + k, 0.5, 1.5);
        rm_lrp_ref_avgpool(rin, R, x, N, C, H, W, K, s, pad, 0.0);
        expect_conserved(rin, nx, R, nz, 1e-12, "avgpool");
        cr_assert_eq(rm_lrp_ref_maxpool(rin, R, x, N, C, H, W, K, s, pad), 0);
        expect_conserved(rin, nx, R, nz, 1e-12, "maxpool");
        free(R);
    }
    double *Rg = rand_uniform((size_t)N * C, 710, 0.5, 1.5);
    rm_lrp_ref_global_avgpool(rin, Rg, x, N, C, H, W, 0.0);
    expect_conserved(rin, nx, Rg, (size_t)N * C, 1e-12, "global avgpool");
    free(x), free(rin), free(Rg);
}

/* ---- batchnorm folding -------------------------------------------------- */

Test(lrp_reference_bn, folded_conv_equals_conv_then_bn)
{
    int N = 2, C = 3, H = 6, W = 5, O = 4, K = 3;
    double e = 1e-5;
    size_t nx = (size_t)N * C * H * W, nw = (size_t)O * C * K * K;
    int OH = rm_ref_out_size(H, K, 1, 1), OW = rm_ref_out_size(W, K, 1, 1);
    size_t ny = (size_t)N * O * OH * OW;
    double *x = rand_normal(nx, 800, 1.0), *w = rand_normal(nw, 801, 1.0),
           *b = rand_normal(O, 802, 0.5), *g = rand_uniform(O, 803, 0.5, 1.5),
           *beta = rand_normal(O, 804, 0.3), *mean = rand_normal(O, 805, 0.3),
           *var = rand_uniform(O, 806, 0.2, 2.0);
    double *y = alloc_d(ny), *ybn = alloc_d(ny), *yf = alloc_d(ny), *wf = alloc_d(nw),
           *bf = alloc_d(O);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        const double *bias = with_bias ? b : NULL;
        rm_ref_conv_forward(y, x, w, bias, N, C, H, W, O, K, 1, 1);
        rm_ref_batchnorm_infer_forward(ybn, y, g, beta, mean, var, N, O, OH, OW, e);
        rm_lrp_ref_fold_bn(wf, bf, w, bias, g, beta, mean, var, e, O, C * K * K);
        rm_ref_conv_forward(yf, x, wf, bf, N, C, H, W, O, K, 1, 1);
        expect_close(yf, ybn, ny, 1e-12, with_bias ? "folded conv with bias" : "folded conv");
    }
    /* in place, and a dense layer (fan_in = I) */
    memcpy(wf, w, nw * sizeof *w);
    memcpy(bf, b, O * sizeof *b);
    rm_lrp_ref_fold_bn(wf, bf, wf, bf, g, beta, mean, var, e, O, C * K * K);
    rm_ref_conv_forward(y, x, w, b, N, C, H, W, O, K, 1, 1);
    rm_ref_batchnorm_infer_forward(ybn, y, g, beta, mean, var, N, O, OH, OW, e);
    rm_ref_conv_forward(yf, x, wf, bf, N, C, H, W, O, K, 1, 1);
    expect_close(yf, ybn, ny, 1e-12, "folded in place");

    int I = C * H * W;   /* dense on the flattened input, O = 4 features */
    double *yd = alloc_d((size_t)N * O), *ydbn = alloc_d((size_t)N * O), *ydf = alloc_d((size_t)N * O);
    double *wd = rand_normal((size_t)O * I, 807, 0.2), *wdf = alloc_d((size_t)O * I);
    rm_ref_dense_forward(yd, x, wd, b, N, I, O);
    rm_ref_batchnorm_infer_forward(ydbn, yd, g, beta, mean, var, N, O, 1, 1, e);
    rm_lrp_ref_fold_bn(wdf, bf, wd, b, g, beta, mean, var, e, O, I);
    rm_ref_dense_forward(ydf, x, wdf, bf, N, I, O);
    expect_close(ydf, ydbn, (size_t)N * O, 1e-12, "folded dense");

    free(x), free(w), free(b), free(g), free(beta), free(mean), free(var);
    free(y), free(ybn), free(yf), free(wf), free(bf);
    free(yd), free(ydbn), free(ydf), free(wd), free(wdf);
}

/* ---- whole networks ----------------------------------------------------- */

/* A small ReLU network on 2x8x8 inputs with every layer type:
 * conv 2->4 K3 p1, relu, maxpool 2, conv 4->5 K3 s2 p1, relu, [avgpool 2 s1
 * p1 | nothing], flatten, dense ->6, relu, dense ->3. */
typedef struct {
    rm_lrp_ref_layer layers[12];
    int num_layers;
    double *params[8];
} test_net;

enum { NET_C = 2, NET_H = 8, NET_W = 8, NET_K = 3 };

static void make_net(test_net *t, int with_avgpool, int with_bias, uint64_t seed,
                     rm_lrp_params conv_rule, rm_lrp_params dense_rule)
{
    memset(t, 0, sizeof *t);
    double *w1 = rand_normal(4 * 2 * 9, seed + 1, 0.5), *w2 = rand_normal(5 * 4 * 9, seed + 2, 0.3);
    /* after conv2: 5 x 2 x 2; the avgpool (K2 s1 p1) makes it 5 x 3 x 3 */
    int flat = with_avgpool ? 5 * 3 * 3 : 5 * 2 * 2;
    double *w3 = rand_normal((size_t)6 * flat, seed + 3, 0.5), *w4 = rand_normal(3 * 6, seed + 4, 0.5);
    double *b1 = rand_normal(4, seed + 5, 0.2), *b2 = rand_normal(5, seed + 6, 0.2),
           *b3 = rand_normal(6, seed + 7, 0.2), *b4 = rand_normal(3, seed + 8, 0.2);
    double *ps[8] = {w1, w2, w3, w4, b1, b2, b3, b4};
    memcpy(t->params, ps, sizeof ps);
    rm_lrp_params pool = rule_with(RM_LRP_EPSILON, 0.0);
    int n = 0;
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_CONV, .units = 4, .size = 3, .stride = 1, .pad = 1,
                                        .w = w1, .b = with_bias ? b1 : NULL, .rule = conv_rule};
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_RELU};
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_MAXPOOL, .size = 2, .stride = 2, .rule = pool};
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_CONV, .units = 5, .size = 3, .stride = 2, .pad = 1,
                                        .w = w2, .b = with_bias ? b2 : NULL, .rule = conv_rule};
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_RELU};
    if (with_avgpool)
        t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_AVGPOOL, .size = 2, .stride = 1, .pad = 1, .rule = pool};
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_FLATTEN};
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_DENSE, .units = 6, .w = w3, .b = with_bias ? b3 : NULL,
                                        .rule = dense_rule};
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_RELU};
    t->layers[n++] = (rm_lrp_ref_layer){.type = RM_LRP_REF_DENSE, .units = 3, .w = w4, .b = with_bias ? b4 : NULL,
                                        .rule = dense_rule};
    t->num_layers = n;
}

static void free_net(test_net *t)
{
    for (int i = 0; i < 8; i++) free(t->params[i]);
}

/* d logit[n, cls[n]] / dx by the reference backward functions, for the
 * layer list of make_net (zero biases do not matter for the gradient). */
static void net_gradient(const test_net *t, const double *x, int N, const int32_t *cls,
                         double *grad)
{
    typedef struct { int C, H, W; } shp;
    const rm_lrp_ref_layer *L = t->layers;
    int n_l = t->num_layers;
    double *acts[12] = {0};
    int64_t *argmax[12] = {0};
    shp s[13];
    s[0] = (shp){NET_C, NET_H, NET_W};
    acts[0] = (double *)x;
    for (int i = 0; i < n_l; i++) {
        shp in = s[i], o = in;
        switch (L[i].type) {
        case RM_LRP_REF_CONV:
        case RM_LRP_REF_MAXPOOL:
        case RM_LRP_REF_AVGPOOL:
            o.H = rm_ref_out_size(in.H, L[i].size, L[i].stride, L[i].pad);
            o.W = rm_ref_out_size(in.W, L[i].size, L[i].stride, L[i].pad);
            if (L[i].type == RM_LRP_REF_CONV) o.C = L[i].units;
            break;
        case RM_LRP_REF_DENSE: o = (shp){L[i].units, 1, 1}; break;
        case RM_LRP_REF_FLATTEN: o = (shp){in.C * in.H * in.W, 1, 1}; break;
        default: break;
        }
        s[i + 1] = o;
        size_t nin = (size_t)N * in.C * in.H * in.W, nout = (size_t)N * o.C * o.H * o.W;
        acts[i + 1] = alloc_d(nout);
        switch (L[i].type) {
        case RM_LRP_REF_CONV:
            rm_ref_conv_forward(acts[i + 1], acts[i], L[i].w, L[i].b, N, in.C, in.H, in.W, o.C,
                                L[i].size, L[i].stride, L[i].pad);
            break;
        case RM_LRP_REF_DENSE:
            rm_ref_dense_forward(acts[i + 1], acts[i], L[i].w, L[i].b, N, in.C * in.H * in.W, o.C);
            break;
        case RM_LRP_REF_RELU: rm_ref_relu_forward(acts[i + 1], acts[i], nin); break;
        case RM_LRP_REF_MAXPOOL:
            argmax[i] = calloc(nout, sizeof *argmax[i]);
            rm_ref_maxpool_forward(acts[i + 1], argmax[i], acts[i], N, in.C, in.H, in.W,
                                   L[i].size, L[i].stride, L[i].pad);
            break;
        case RM_LRP_REF_AVGPOOL:
            rm_ref_avgpool_forward(acts[i + 1], acts[i], N, in.C, in.H, in.W, L[i].size,
                                   L[i].stride, L[i].pad, 1);
            break;
        default: memcpy(acts[i + 1], acts[i], nin * sizeof *acts[i]); break;
        }
    }
    int K = s[n_l].C;
    double *g = alloc_d((size_t)N * K);
    for (int n = 0; n < N; n++) g[(size_t)n * K + cls[n]] = 1.0;
    for (int i = n_l - 1; i >= 0; i--) {
        shp in = s[i], o = s[i + 1];
        size_t nin = (size_t)N * in.C * in.H * in.W;
        double *gi = alloc_d(nin);
        switch (L[i].type) {
        case RM_LRP_REF_CONV: {
            double *dw = alloc_d((size_t)o.C * in.C * L[i].size * L[i].size);
            rm_ref_conv_backward(gi, dw, NULL, g, acts[i], L[i].w, N, in.C, in.H, in.W, o.C,
                                 L[i].size, L[i].stride, L[i].pad);
            free(dw);
            break;
        }
        case RM_LRP_REF_DENSE: {
            double *dw = alloc_d((size_t)o.C * in.C * in.H * in.W);
            rm_ref_dense_backward(gi, dw, NULL, g, acts[i], L[i].w, N, in.C * in.H * in.W, o.C);
            free(dw);
            break;
        }
        case RM_LRP_REF_RELU: rm_ref_relu_backward(gi, g, acts[i], nin); break;
        case RM_LRP_REF_MAXPOOL: rm_ref_maxpool_backward(gi, g, argmax[i], N, in.C, o.H, o.W); break;
        case RM_LRP_REF_AVGPOOL:
            rm_ref_avgpool_backward(gi, g, N, in.C, in.H, in.W, L[i].size, L[i].stride, L[i].pad, 1);
            break;
        default: memcpy(gi, g, nin * sizeof *g); break;
        }
        free(g);
        g = gi;
    }
    memcpy(grad, g, sizeof *grad * (size_t)N * NET_C * NET_H * NET_W);
    free(g);
    for (int i = 1; i <= n_l; i++) free(acts[i]);
    for (int i = 0; i < n_l; i++) free(argmax[i]);
}

Test(lrp_reference_net, lrp0_equals_gradient_times_input)
{
    int N = 3;
    size_t nx = (size_t)N * NET_C * NET_H * NET_W;
    for (int with_avgpool = 0; with_avgpool < 2; with_avgpool++) {
        test_net t;
        make_net(&t, with_avgpool, 0, 900 + 10 * with_avgpool, rule_with(RM_LRP_ZERO, 0),
                 rule_with(RM_LRP_ZERO, 0));
        cr_assert_eq(rm_lrp_ref_net_classes(t.layers, t.num_layers, NET_C, NET_H, NET_W), NET_K);
        double *x = rand_normal(nx, 950 + with_avgpool, 1.0), *rel = alloc_d(nx),
               *grad = alloc_d(nx), *logits = alloc_d((size_t)N * NET_K);
        int32_t cls[3], target[3] = {-1, 2, 0};
        cr_assert_eq(rm_lrp_ref_net_run(t.layers, t.num_layers, NET_C, NET_H, NET_W, N, x, target,
                                        rel, NULL, logits, cls), 0, "%s", rm_error_message());
        cr_assert_eq(cls[1], 2);
        cr_assert_eq(cls[2], 0);
        for (int k = 0; k < NET_K; k++)   /* image 0: the predicted class */
            cr_assert(logits[k] <= logits[cls[0]]);
        net_gradient(&t, x, N, cls, grad);
        double scale = 0.0;
        for (size_t i = 0; i < nx; i++) {
            grad[i] *= x[i];
            scale = fmax(scale, fabs(grad[i]));
        }
        cr_assert(scale > 1e-3, "gradient x input vanished");
        for (size_t i = 0; i < nx; i++)
            cr_assert(fabs(rel[i] - grad[i]) <= 1e-9 * scale, "avgpool %d [%zu]: LRP-0 %.17g, "
                      "gradient x input %.17g", with_avgpool, i, rel[i], grad[i]);
        free(x), free(rel), free(grad), free(logits);
        free_net(&t);
    }
}

Test(lrp_reference_net, layer_sums_conserve_under_lrp0_without_bias)
{
    int N = 2, L;
    size_t nx = (size_t)N * NET_C * NET_H * NET_W;
    test_net t;
    make_net(&t, 1, 0, 1000, rule_with(RM_LRP_ZERO, 0), rule_with(RM_LRP_ZERO, 0));
    L = t.num_layers;
    double *x = rand_normal(nx, 1001, 1.0), *rel = alloc_d(nx), *sums = alloc_d((size_t)N * (L + 1)),
           *logits = alloc_d((size_t)N * NET_K);
    int32_t cls[2];
    cr_assert_eq(rm_lrp_ref_net_run(t.layers, L, NET_C, NET_H, NET_W, N, x, NULL, rel, sums, logits,
                                    cls), 0, "%s", rm_error_message());
    for (int n = 0; n < N; n++) {
        double logit = logits[(size_t)n * NET_K + cls[n]];
        cr_assert_eq(sums[(size_t)n * (L + 1) + L], logit);
        cr_assert(fabs(logit) > 1e-3);
        for (int i = 0; i <= L; i++)
            cr_assert(fabs(sums[(size_t)n * (L + 1) + i] - logit) <= 1e-9 * fabs(logit),
                      "image %d layer %d: sum %.17g, logit %.17g", n, i,
                      sums[(size_t)n * (L + 1) + i], logit);
        double heat = sum_of(rel + (size_t)n * NET_C * NET_H * NET_W, (size_t)NET_C * NET_H * NET_W);
        cr_assert(fabs(heat - sums[(size_t)n * (L + 1)]) <= 1e-12 * fabs(logit));
    }
    free(x), free(rel), free(sums), free(logits);
    free_net(&t);
}

Test(lrp_reference_net, composite_with_biases_runs_and_reports)
{
    /* EpsilonPlusFlat-like: z+ convolutions, epsilon dense, biases on.
     * Checks the bookkeeping: seed = explained logit, layer 0's sum = the
     * heatmap's sum, max-pool/relu/flatten layers pass their sums unchanged. */
    int N = 2;
    size_t nx = (size_t)N * NET_C * NET_H * NET_W;
    test_net t;
    make_net(&t, 0, 1, 1100, rm_lrp_params_default(RM_LRP_ZPLUS),
             rm_lrp_params_default(RM_LRP_EPSILON));
    int L = t.num_layers;
    double *x = rand_uniform(nx, 1101, 0.0, 1.0), *rel = alloc_d(nx),
           *sums = alloc_d((size_t)N * (L + 1)), *logits = alloc_d((size_t)N * NET_K);
    int32_t cls[2], target[2] = {1, -1};
    cr_assert_eq(rm_lrp_ref_net_run(t.layers, L, NET_C, NET_H, NET_W, N, x, target, rel, sums,
                                    logits, cls), 0, "%s", rm_error_message());
    cr_assert_eq(cls[0], 1);
    for (int n = 0; n < N; n++) {
        const double *sn = sums + (size_t)n * (L + 1);
        cr_assert_eq(sn[L], logits[(size_t)n * NET_K + cls[n]]);
        double heat = sum_of(rel + (size_t)n * NET_C * NET_H * NET_W, (size_t)NET_C * NET_H * NET_W);
        cr_assert(fabs(heat - sn[0]) <= 1e-12 * (1 + fabs(heat)));
        for (int i = 0; i < L; i++)
            if (t.layers[i].type == RM_LRP_REF_RELU || t.layers[i].type == RM_LRP_REF_FLATTEN ||
                t.layers[i].type == RM_LRP_REF_MAXPOOL)
                cr_assert(fabs(sn[i] - sn[i + 1]) <= 1e-12 * (1 + fabs(sn[i + 1])),
                          "layer %d passes %.17g of %.17g", i, sn[i], sn[i + 1]);
    }
    /* invalid: a target out of range, a bad rule */
    target[1] = NET_K;
    cr_assert_eq(rm_lrp_ref_net_run(t.layers, L, NET_C, NET_H, NET_W, N, x, target, rel, NULL,
                                    NULL, NULL), -1);
    cr_assert(strstr(rm_error_message(), "out of range"), "%s", rm_error_message());
    t.layers[0].rule = rm_lrp_params_default(RM_LRP_ALPHABETA);
    t.layers[0].rule.beta = 2;
    cr_assert_eq(rm_lrp_ref_net_classes(t.layers, L, NET_C, NET_H, NET_W), -1);
    cr_assert(strstr(rm_error_message(), "layer 0"), "%s", rm_error_message());
    cr_assert(strstr(rm_error_message(), "alpha - beta must equal 1"), "%s", rm_error_message());
    free(x), free(rel), free(sums), free(logits);
    free_net(&t);
}
