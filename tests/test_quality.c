/* Quality metrics of relevance maps (relevance-eval): region mass and the
 * pointing game on hand-made maps; region perturbation on a model whose
 * logits are a known linear function of the pixels, against the exact
 * contribution map; seeded random orders; errors and notes, through the
 * library and the CLI. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/json.h"
#include "nn/model_file.h"
#include "relevance/quality.h"
#include "core/relevance_file.h"
#include "core/rng.h"
#include "train/train.h"
#include "test_util.h"

#define EXACT(a, b) cr_assert(fabs((a) - (b)) < 1e-12, "%s = %.15g, expected %.15g", #a, (double)(a), (double)(b))

static const char *const classes[2] = {"a", "b"};

/* --- region mass and pointing game on hand-made maps ---------------------------*/

/* 4x4; the region is the 2x2 block at rows 0-1, columns 1-2. */
static const uint8_t region4[16] = {0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const float heat4[16] = {1, 2, 0, -1, 0, 4, 0, 0, -5, 0, 1, 0, 0, 0, 0, 2};

Test(quality, region_mass_and_pointing_exact)
{
    uint8_t scratch[16];
    rm_region_score s;
    rm_region_score_image(heat4, region4, 4, 4, 0, scratch, &s);
    /* r+ = 1 2 4 1 2 (sum 10), inside 2 + 4; |r| sums to 16, inside 6. */
    EXACT(s.mass_pos, 0.6);
    EXACT(s.mass_abs, 6.0 / 16.0);
    EXACT(s.area, 4.0 / 16.0);
    EXACT(s.pointing_chance, 4.0 / 16.0);
    EXACT(s.hit_pos, 1.0);   /* max r = 4 at (1,1), inside */
    EXACT(s.hit_abs, 0.0);   /* max |r| = 5 at (2,0), outside */
}

Test(quality, pointing_tolerance_and_its_chance)
{
    uint8_t scratch[16];
    rm_region_score s;
    /* Within 1 px: the region plus its 4-neighbours: 10 of 16 pixels; (2,0)
     * is sqrt(2) from (1,1), so still a miss. */
    rm_region_score_image(heat4, region4, 4, 4, 1, scratch, &s);
    EXACT(s.pointing_chance, 10.0 / 16.0);
    EXACT(s.hit_abs, 0.0);
    EXACT(s.area, 0.25);   /* the mass's chance does not change */
    EXACT(s.mass_pos, 0.6);
    /* Within 2 px: all but (3,0) and (3,3) (sqrt(5) away): 14 of 16; a hit. */
    rm_region_score_image(heat4, region4, 4, 4, 2, scratch, &s);
    EXACT(s.pointing_chance, 14.0 / 16.0);
    EXACT(s.hit_abs, 1.0);
}

Test(quality, ties_share_the_hit_and_empty_maps_have_no_mass)
{
    uint8_t scratch[16];
    rm_region_score s;
    float flat[16], zero[16] = {0};
    for (int i = 0; i < 16; i++) flat[i] = 0.5f;
    rm_region_score_image(flat, region4, 4, 4, 0, scratch, &s);
    EXACT(s.mass_pos, 0.25);   /* a uniform map puts area-share of its mass inside */
    EXACT(s.hit_pos, 0.25);    /* 16 tied maxima, 4 inside: chance */
    rm_region_score_image(zero, region4, 4, 4, 0, scratch, &s);
    cr_assert(isnan(s.mass_pos) && isnan(s.mass_abs), "no relevance: no mass");
    EXACT(s.hit_pos, 0.25);
    /* Two tied maxima, one inside. */
    float two[16] = {0};
    two[1] = 3, two[15] = 3;
    rm_region_score_image(two, region4, 4, 4, 0, scratch, &s);
    EXACT(s.hit_pos, 0.5);
    EXACT(s.mass_pos, 0.5);
}

Test(quality, steps_round_to_whole_regions)
{
    cr_assert_eq(rm_tile_count(48, 48, 4), 144);
    cr_assert_eq(rm_tile_count(10, 9, 4), 9);   /* 3 x 3, the last row and column smaller */
    cr_assert_eq(rm_tile_count(8, 8, 1), 64);
    int want[] = {0, 4, 7, 11, 14, 18, 22, 25, 29, 32, 36, 40, 43, 47, 50, 54, 58, 61, 65, 68, 72};
    for (int k = 0; k <= 20; k++) cr_assert_eq(rm_perturb_regions_at(k, 20, 72), want[k], "step %d", k);
    cr_assert_eq(rm_perturb_regions_at(3, 3, 2), 2);
    rm_running st = {0};
    cr_assert(isnan(rm_running_mean(&st)) && isnan(rm_running_sem(&st)));
    rm_running_add(&st, 1);
    rm_running_add(&st, 3);
    EXACT(rm_running_mean(&st), 2.0);
    EXACT(rm_running_sem(&st), 1.0);   /* sd sqrt(2), / sqrt(2) */
}

/* --- files ----------------------------------------------------------------------*/

enum { H = 8, W = 8, HW = H * W, N = 6 };

typedef struct {
    uint8_t images[N][HW];
    uint8_t regions[N][HW];
    int32_t labels[N];
    float w[2][HW], b[2];
} fixture;

static void make_fixture(fixture *f)
{
    rm_rng rng;
    rm_rng_seed(&rng, 42, 1, 0);
    for (int i = 0; i < N; i++) {
        f->labels[i] = i % 2;
        for (int p = 0; p < HW; p++) {
            f->images[i][p] = (uint8_t)(20 + rm_rng_below(&rng, 230));
            f->regions[i][p] = (p / W) < 3 && (p % W) >= 2 && (p % W) < 6;   /* rows 0-2, columns 2-5 */
        }
    }
    for (int c = 0; c < 2; c++) {
        for (int p = 0; p < HW; p++) f->w[c][p] = (float)rm_rng_range(&rng, -1, 1);
        f->b[c] = c ? -0.25f : 0.5f;
    }
}

static void write_dataset(const char *path, const fixture *f, int with_regions, int height, int width)
{
    rm_dataset_spec spec = {.channels = 1, .height = height, .width = width, .num_classes = 2,
                            .class_names = classes, .has_regions = with_regions, .source_format = "test",
                            .source_path = "test", .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, path, &spec, 1), 0, "%s", rm_error_message());
    static uint8_t img[64 * 64], reg[64 * 64];
    for (int i = 0; i < N; i++) {
        for (int p = 0; p < height * width; p++) {
            img[p] = f->images[i][p % HW];
            reg[p] = f->regions[i][p % HW];
        }
        cr_assert_eq(rm_dataset_writer_append(w, img, f->labels[i], RM_SPLIT_TRAIN, with_regions ? reg : NULL), 0,
                     "%s", rm_error_message());
    }
    rm_split_spec split = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &split), 0, "%s", rm_error_message());
}

/* A single dense layer on the raw 8x8 input: logit_c = sum_p w[c][p] x_p + b_c
 * with x = pixel / 255 (normalization mean 0, std 1). */
static void write_model(const char *path, const fixture *f)
{
    rm_model m;
    memset(&m, 0, sizeof m);
    cr_assert_eq(rm_netdef_parse(&m.def, "[net]\ninput = 1x8x8\nclasses = 2\n[dense]\nunits = 2\n", "linear.cfg"), 0,
                 "%s", rm_error_message());
    rm_net net;
    cr_assert_eq(rm_net_create(&net, &m.def, 1, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_param_write(&net, rm_net_param(&net, "dense1", "weight"), &f->w[0][0]), 0);
    cr_assert_eq(rm_net_param_write(&net, rm_net_param(&net, "dense1", "bias"), f->b), 0);
    cr_assert_eq(rm_model_capture(&m, &net), 0, "%s", rm_error_message());
    rm_net_destroy(&net);
    cr_assert_eq(rm_model_set_classes(&m, 2, (char *const *)classes), 0);
    m.channels = 1;
    m.norm_mean = calloc(1, sizeof(float));
    m.norm_std = malloc(sizeof(float));
    m.norm_std[0] = 1;
    cr_assert_eq(rm_model_save(&m, path, 1, "test"), 0, "%s", rm_error_message());
    rm_model_free(&m);
}

static double logit_of(const fixture *f, const double *x, int c)
{
    double z = f->b[c];
    for (int p = 0; p < HW; p++) z += f->w[c][p] * x[p];
    return z;
}

static int predicted(const fixture *f, int i)
{
    double x[HW];
    for (int p = 0; p < HW; p++) x[p] = f->images[i][p] / 255.0;
    return logit_of(f, x, 1) > logit_of(f, x, 0);
}

/* Relevance = the exact contribution map w[e][p] x_p of the explained class.
 * Record r of the file explains dataset record index[r]; explained[r] = -1
 * leaves the choice to the model (its prediction). */
static void write_relevance(const char *path, const fixture *f, int n, const int64_t *index,
                            const int32_t *explained, int height, int width)
{
    rm_relevance_spec spec = {.count = n, .channels = 1, .height = height, .width = width, .num_classes = 2,
                              .class_names = classes, .deflate_level = 1, .method = "exact",
                              .score_kind = "logit", .parameters = "test=1\n"};
    rm_relevance_writer *w;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 1, 0, &done), 0, "%s", rm_error_message());
    static float heat[N * 64 * 64];
    int32_t label[N], pred[N];
    float score[N];
    for (int r = 0; r < n; r++) {
        int64_t i = index[r];
        label[r] = f->labels[i];
        pred[r] = predicted(f, (int)i);
        score[r] = NAN;
        int e = explained[r] >= 0 ? explained[r] : pred[r];
        for (int p = 0; p < height * width; p++)
            heat[r * height * width + p] = f->w[e][p % HW] * (float)(f->images[i][p % HW] / 255.0);
    }
    rm_relevance_block b = {.n = n, .index = index, .label = label, .explained = explained, .predicted = pred,
                            .score = score, .heatmap = heat};
    cr_assert_eq(rm_relevance_writer_write(w, &b), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_writer_finish(w), 0, "%s", rm_error_message());
}

static char *dir;
static fixture fx;
static const int64_t all_index[N] = {0, 1, 2, 3, 4, 5};
static const int32_t all_explained[N] = {0, 1, -1, 0, -1, 1};

static void setup(void)
{
    dir = tu_scratch_dir();
    make_fixture(&fx);
    write_dataset(tu_path(dir, "d.h5"), &fx, 1, H, W);
    write_dataset(tu_path(dir, "noregions.h5"), &fx, 0, H, W);
    write_model(tu_path(dir, "m.h5"), &fx);
    write_relevance(tu_path(dir, "r.h5"), &fx, N, all_index, all_explained, H, W);
}

static void teardown(void) { tu_rmtree(dir); }

TestSuite(quality, .timeout = 120);

static void base_config(rm_quality_config *c)
{
    rm_quality_config_defaults(c);
    c->relevance_path = tu_path(dir, "r.h5");
    c->data_path = tu_path(dir, "d.h5");
    c->model_path = tu_path(dir, "m.h5");
    c->baseline = RM_BASELINE_ZERO;
    c->region = 2;          /* 16 regions of 2x2 */
    c->steps = 4;
    c->fraction = 0.5;      /* 8 regions, 2 per step */
    c->random_orders = 3;
    c->seed = 7;
}

/* The expected score curve of one image under the relevance order: zeroing
 * the k most relevant 2x2 regions, both logits computed from the pixels. */
static void expected_curve(const fixture *f, int i, int e, int steps, const int *at, double logit[][2])
{
    double x[HW], sums[16];
    int order[16];
    for (int p = 0; p < HW; p++) x[p] = f->images[i][p] / 255.0;
    for (int t = 0; t < 16; t++) sums[t] = 0, order[t] = t;
    for (int p = 0; p < HW; p++) sums[(p / W / 2) * 4 + (p % W) / 2] += f->w[e][p] * x[p];
    for (int a = 0; a < 16; a++)   /* selection sort, descending */
        for (int b2 = a + 1; b2 < 16; b2++)
            if (sums[order[b2]] > sums[order[a]]) {
                int t = order[a];
                order[a] = order[b2], order[b2] = t;
            }
    for (int k = 0; k <= steps; k++) {
        double xk[HW];
        memcpy(xk, x, sizeof xk);
        for (int r = 0; r < at[k]; r++)
            for (int p = 0; p < HW; p++)
                if ((p / W / 2) * 4 + (p % W) / 2 == order[r]) xk[p] = 0;
        logit[k][0] = logit_of(f, xk, 0);
        logit[k][1] = logit_of(f, xk, 1);
    }
}

Test(quality, pixel_flipping_matches_the_linear_model, .init = setup, .fini = teardown)
{
    rm_quality_config c;
    base_config(&c);
    rm_quality_result r;
    cr_assert_eq(rm_quality_run(&c, &r), 0, "%s", rm_error_message());
    cr_assert(r.has_perturbation && r.has_regions);
    cr_assert_eq(r.evaluated, N);
    cr_assert_eq(r.tiles, 16);
    cr_assert_eq(r.tiles_perturbed, 8);
    cr_assert_eq(r.explained_by_model, 2);
    int want_at[] = {0, 2, 4, 6, 8};
    for (int k = 0; k <= 4; k++) cr_assert_eq(r.regions_at[k], want_at[k]);

    double mean_logit[5] = {0}, mean_prob[5] = {0}, aopc_logit = 0;
    for (int i = 0; i < N; i++) {
        int e = all_explained[i] >= 0 ? all_explained[i] : predicted(&fx, i);
        double z[5][2];
        expected_curve(&fx, i, e, 4, want_at, z);
        for (int k = 0; k <= 4; k++) {
            mean_logit[k] += z[k][e] / N;
            mean_prob[k] += 1 / (1 + exp(z[k][1 - e] - z[k][e])) / N;
            if (k) aopc_logit += (z[0][e] - z[k][e]) / 4 / N;
        }
    }
    const rm_running *cl = r.curve_relevance[RM_SCORE_LOGIT], *cp = r.curve_relevance[RM_SCORE_PROBABILITY];
    for (int k = 0; k <= 4; k++) {
        cr_assert_eq(cl[k].n, N);
        cr_assert(fabs(cl[k].mean - mean_logit[k]) < 1e-5, "logit step %d: %.8f, expected %.8f", k, cl[k].mean,
                  mean_logit[k]);
        cr_assert(fabs(cp[k].mean - mean_prob[k]) < 1e-5, "probability step %d: %.8f, expected %.8f", k, cp[k].mean,
                  mean_prob[k]);
    }
    const rm_aopc_stats *a = &r.aopc[RM_SCORE_LOGIT];
    cr_assert(fabs(rm_running_mean(&a->aopc_relevance) - aopc_logit) < 1e-5, "AOPC %.8f, expected %.8f",
              rm_running_mean(&a->aopc_relevance), aopc_logit);
    /* The most relevant regions of an exact contribution map remove the most
     * score at every step: no ordering does better. */
    cr_assert(rm_running_mean(&a->aopc_relevance) > rm_running_mean(&a->aopc_random), "relevance %.6f vs random %.6f",
              rm_running_mean(&a->aopc_relevance), rm_running_mean(&a->aopc_random));
    cr_assert(fabs(rm_running_mean(&a->difference) - (rm_running_mean(&a->aopc_relevance) - rm_running_mean(&a->aopc_random))) <
              1e-9);
    cr_assert(isfinite(rm_running_sem(&a->difference)) && rm_running_sem(&a->difference) >= 0);
    for (int k = 1; k <= 4; k++)
        cr_assert(cl[k].mean <= r.curve_random[RM_SCORE_LOGIT][k].mean + 1e-6, "step %d below random", k);
    cr_assert_eq(r.class_count[0] + r.class_count[1], N);
    cr_assert_eq(r.class_aopc[0 * RM_SCORE_KINDS + RM_SCORE_LOGIT].aopc_relevance.n, 3);
    rm_quality_result_free(&r);
}

Test(quality, all_regions_replaced_ends_where_random_ends, .init = setup, .fini = teardown)
{
    rm_quality_config c;
    base_config(&c);
    c.fraction = 1;   /* every region by step 4: both orders end at the all-baseline image */
    rm_quality_result r;
    cr_assert_eq(rm_quality_run(&c, &r), 0, "%s", rm_error_message());
    cr_assert_eq(r.regions_at[4], 16);
    for (int q = 0; q < RM_SCORE_KINDS; q++)
        cr_assert(fabs(r.curve_relevance[q][4].mean - r.curve_random[q][4].mean) < 1e-6);
    /* f(0) = bias: the all-zero image's logit of the explained class. */
    double want = 0;
    for (int i = 0; i < N; i++) want += fx.b[all_explained[i] >= 0 ? all_explained[i] : predicted(&fx, i)] / N;
    cr_assert(fabs(r.curve_relevance[RM_SCORE_LOGIT][4].mean - want) < 1e-6);
    rm_quality_result_free(&r);
}

Test(quality, random_orders_are_seeded, .init = setup, .fini = teardown)
{
    rm_quality_config c;
    base_config(&c);
    c.baseline = RM_BASELINE_UNIFORM;   /* seeded too */
    rm_quality_result r1, r2, r3, again;
    cr_assert_eq(rm_quality_run(&c, &r1), 0, "%s", rm_error_message());
    cr_assert_eq(rm_quality_run(&c, &again), 0, "%s", rm_error_message());
    for (int q = 0; q < RM_SCORE_KINDS; q++) {
        cr_assert_eq(memcmp(&r1.aopc[q], &again.aopc[q], sizeof r1.aopc[q]), 0, "the same run twice: the same bytes");
        cr_assert_eq(memcmp(r1.curve_random[q], again.curve_random[q], sizeof(rm_running) * 5), 0);
    }
    rm_quality_result_free(&again);
    c.batch = 1;   /* one image per forward: the same numbers */
    cr_assert_eq(rm_quality_run(&c, &r2), 0, "%s", rm_error_message());
    c.seed = 8;
    cr_assert_eq(rm_quality_run(&c, &r3), 0, "%s", rm_error_message());
    const rm_aopc_stats *a1 = &r1.aopc[RM_SCORE_LOGIT], *a2 = &r2.aopc[RM_SCORE_LOGIT], *a3 = &r3.aopc[RM_SCORE_LOGIT];
    cr_assert(fabs(a1->aopc_random.mean - a2->aopc_random.mean) < 1e-6, "%.9f vs %.9f", a1->aopc_random.mean,
              a2->aopc_random.mean);
    cr_assert(fabs(a1->aopc_relevance.mean - a2->aopc_relevance.mean) < 1e-6);
    for (int k = 0; k <= 4; k++)
        cr_assert(fabs(r1.curve_random[RM_SCORE_LOGIT][k].mean - r2.curve_random[RM_SCORE_LOGIT][k].mean) < 1e-6);
    cr_assert(fabs(a1->aopc_random.mean - a3->aopc_random.mean) > 1e-4, "seeds 7 and 8 give %.9f and %.9f",
              a1->aopc_random.mean, a3->aopc_random.mean);
    rm_quality_result_free(&r1);
    rm_quality_result_free(&r2);
    rm_quality_result_free(&r3);
}

Test(quality, region_metrics_per_class_in_file_order, .init = setup, .fini = teardown)
{
    /* Records 4, 1, 0: out of order and not consecutive. */
    const int64_t index[3] = {4, 1, 0};
    const int32_t expl[3] = {0, 1, 0};
    const char *rel = tu_path(dir, "r3.h5");
    write_relevance(rel, &fx, 3, index, expl, H, W);
    rm_quality_config c;
    base_config(&c);
    c.relevance_path = rel;
    c.model_path = NULL;
    c.pointing_tolerance = 1;
    rm_quality_result r;
    cr_assert_eq(rm_quality_run(&c, &r), 0, "%s", rm_error_message());
    cr_assert(!r.has_perturbation && r.has_regions);
    cr_assert_eq(r.regions.count, 3);
    rm_region_stats want[2];
    memset(want, 0, sizeof want);
    uint8_t scratch[HW];
    rm_running all_mass = {0};
    for (int j = 0; j < 3; j++) {
        float heat[HW];
        int i = (int)index[j];
        for (int p = 0; p < HW; p++) heat[p] = fx.w[expl[j]][p] * (float)(fx.images[i][p] / 255.0);
        rm_region_score s;
        rm_region_score_image(heat, fx.regions[i], H, W, 1, scratch, &s);
        rm_running_add(&want[fx.labels[i]].mass_pos, s.mass_pos);
        rm_running_add(&want[fx.labels[i]].hit_abs, s.hit_abs);
        rm_running_add(&all_mass, s.mass_pos);
        EXACT(s.area, 12.0 / 64.0);
    }
    EXACT(r.regions.area.mean, 12.0 / 64.0);
    /* rows 0-2 x columns 2-5 grown by 1 px: rows 0-3 x columns 1-6 minus the
     * two diagonal corners of row 3: 24 - 2 = 22 pixels. */
    EXACT(r.regions.pointing_chance.mean, 22.0 / 64.0);
    cr_assert(fabs(r.regions.mass_pos.mean - all_mass.mean) < 1e-6);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(r.class_regions[k].count, want[k].mass_pos.n);
        cr_assert(fabs(r.class_regions[k].mass_pos.mean - want[k].mass_pos.mean) < 1e-6);
        cr_assert(fabs(r.class_regions[k].hit_abs.mean - want[k].hit_abs.mean) < 1e-12);
    }
    cr_assert_eq(r.class_regions[0].count, 2, "records 4 and 0 are class a");
    rm_quality_result_free(&r);
}

/* --- errors and notes --------------------------------------------------------------*/

Test(quality, relevance_of_another_dataset_is_named, .init = setup, .fini = teardown)
{
    rm_quality_config c;
    base_config(&c);
    rm_quality_result r;
    /* Shape: heatmaps of 16x16 against 8x8 images. */
    const int64_t idx2[2] = {0, 1};
    const int32_t ex2[2] = {0, 0};
    write_relevance(tu_path(dir, "big.h5"), &fx, 2, idx2, ex2, 16, 16);
    c.relevance_path = tu_path(dir, "big.h5");
    cr_assert_neq(rm_quality_run(&c, &r), 0);
    rm_quality_result_free(&r);
    const char *msg = rm_error_message();
    cr_assert(strstr(msg, "big.h5") && strstr(msg, "d.h5") && strstr(msg, "16x16") && strstr(msg, "8x8"), "%s", msg);
    /* Index: a record the dataset does not have (a 3-record dataset). */
    fixture small = fx;
    rm_dataset_spec spec = {.channels = 1, .height = H, .width = W, .num_classes = 2, .class_names = classes,
                            .has_regions = 1, .source_format = "test", .source_path = "test", .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, tu_path(dir, "small.h5"), &spec, 1), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rm_dataset_writer_append(w, small.images[i], small.labels[i], RM_SPLIT_TRAIN, small.regions[i]), 0);
    rm_split_spec split = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &split), 0);
    c.relevance_path = tu_path(dir, "r.h5");
    c.data_path = tu_path(dir, "small.h5");
    cr_assert_neq(rm_quality_run(&c, &r), 0);
    rm_quality_result_free(&r);
    msg = rm_error_message();
    cr_assert(strstr(msg, "r.h5") && strstr(msg, "small.h5") && strstr(msg, "explains record 3"), "%s", msg);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static char *cli(int want_code, const char *want_text, const char *fmt, const char *a, const char *b, const char *c,
                 const char *d)
{
    char *out;
    int code = tu_run_cli(&out, fmt, a, b, c, d);
    cr_assert_eq(code, want_code, "relmask exited %d, expected %d:\n%s", code, want_code, out);
    if (want_text) cr_assert(strstr(out, want_text), "expected '%s' in:\n%s", want_text, out);
    return out;
}

Test(quality, cli_usage_errors, .init = setup, .fini = teardown)
{
    free(cli(0, "usage: relmask relevance-eval", "relevance-eval --help%s%s%s%s", "", "", "", ""));
    free(cli(2, "--relevance FILE is required", "relevance-eval --data %s%s%s%s", tu_path(dir, "d.h5"), "", "", ""));
    free(cli(2, "--steps asks for region perturbation, which needs --model", "relevance-eval -r %s -d %s --steps 5%s%s",
             tu_path(dir, "r.h5"), tu_path(dir, "d.h5"), "", ""));
    free(cli(2, "--baseline", "relevance-eval -r %s -d %s -m %s --baseline gray%s", tu_path(dir, "r.h5"),
             tu_path(dir, "d.h5"), tu_path(dir, "m.h5"), ""));
    free(cli(2, "--fraction '0'", "relevance-eval -r %s -d %s -m %s --fraction 0%s", tu_path(dir, "r.h5"),
             tu_path(dir, "d.h5"), tu_path(dir, "m.h5"), ""));
    free(cli(2, "--format 'xml'", "relevance-eval -r %s -d %s --format xml%s%s", tu_path(dir, "r.h5"),
             tu_path(dir, "d.h5"), "", ""));
    /* No regions and no model: nothing to measure. */
    free(cli(1, "nothing to evaluate", "relevance-eval -q -r %s -d %s%s%s", tu_path(dir, "r.h5"),
             tu_path(dir, "noregions.h5"), "", ""));
}

Test(quality, cli_json_without_regions_notes_it, .init = setup, .fini = teardown)
{
    const char *json = tu_path(dir, "q.json");
    free(cli(0, NULL, "relevance-eval -q -r %s -d %s -m %s --steps 4 --region 2 --out %s", tu_path(dir, "r.h5"),
             tu_path(dir, "noregions.h5"), tu_path(dir, "m.h5"), json));
    char *text = read_text(json);
    static const char *const keys[] = {
        "\"command\": \"relevance-eval\"", "\"relevance\": ", "\"data\": ", "\"model\": ",
        "\"relevance_method\": \"exact\"", "\"evaluated\": 6", "\"explained_by_model\": 2",
        "\"classes\": [\"a\", \"b\"]", "\"steps\": 4", "\"region\": 2", "\"baseline\": \"mean\"",
        "\"baseline_pixel\": [", "no /regions: ground-truth region metrics omitted", "\"perturbation\": {",
        "\"regions\": 16", "\"regions_perturbed\": 8", "\"logit\": {", "\"probability\": {",
        "\"aopc_relevance\": {\"mean\": ", "\"aopc_random\": ", "\"difference\": ", "\"ratio\": ",
        "\"curves\": {", "\"step\": [0, 1, 2, 3, 4]", "\"regions\": [0, 2, 4, 6, 8]",
        "\"fraction\": [0, 0.125, 0.25, 0.375, 0.5]", "\"relevance_sem\": [", "\"random\": [", "\"per_class\": [",
        "\"regions\": null", "\"images_per_second\": ", NULL};
    for (int i = 0; keys[i]; i++) cr_assert(strstr(text, keys[i]), "expected %s in:\n%s", keys[i], text);
    free(text);
    free(cli(1, "already exists; use --force", "relevance-eval -q -r %s -d %s -m %s --out %s", tu_path(dir, "r.h5"),
             tu_path(dir, "noregions.h5"), tu_path(dir, "m.h5"), json));
}

Test(quality, cli_csv_and_stdout, .init = setup, .fini = teardown)
{
    const char *csv = tu_path(dir, "q.csv");
    free(cli(0, NULL, "relevance-eval -q -r %s -d %s -m %s --out %s", tu_path(dir, "r.h5"), tu_path(dir, "d.h5"),
             tu_path(dir, "m.h5"), csv));
    char *text = read_text(csv);
    static const char *const rows[] = {"metric,class,step,fraction,value,sem,n\n",
                                       "\nperturbation.logit.aopc_relevance,all,,,",
                                       "\nperturbation.probability.curve_random,all,20,",
                                       "\nperturbation.logit.difference,b,,,",
                                       "\nregions.positive.mass,all,,,", "\nregions.absolute.pointing_over_chance,a,,,",
                                       "\nregions.pointing_chance,all,,,0.1875,", NULL};
    for (int i = 0; rows[i]; i++) cr_assert(strstr(text, rows[i]), "expected %s in:\n%s", rows[i], text);
    free(text);
    /* JSON on stdout without --out; region metrics only without a model. */
    char *out = cli(0, "\"perturbation\": null", "relevance-eval -q -r %s -d %s%s%s", tu_path(dir, "r.h5"),
                    tu_path(dir, "d.h5"), "", "");
    cr_assert(strstr(out, "\"mass_over_chance\": "), "%s", out);
    cr_assert(strstr(out, "no model given"), "%s", out);
    free(out);
    cr_assert_eq(tu_dir_entries(dir), 5, "no temporary files left (d, noregions, m, r, q.csv)");
}

/* --- records by name: per-record results, their sources, the extremes ----------*/

/* d.h5's records with /source: "faces/<class>/img<i>.png", and for record 3
 * a name with a comma (quoted in CSV). */
static const char *source_of(int i)
{
    static char buf[64];
    if (i == 3) return "faces/b/a,b.png";
    snprintf(buf, sizeof buf, "faces/%s/img%d.png", classes[fx.labels[i]], i);
    return buf;
}

static void write_sourced_dataset(const char *path)
{
    rm_dataset_spec spec = {.channels = 1, .height = H, .width = W, .num_classes = 2, .class_names = classes,
                            .has_regions = 1, .source_format = "test", .source_path = "faces", .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, path, &spec, 1), 0, "%s", rm_error_message());
    for (int i = 0; i < N; i++) {
        cr_assert_eq(rm_dataset_writer_append(w, fx.images[i], fx.labels[i], RM_SPLIT_TRAIN, fx.regions[i]), 0,
                     "%s", rm_error_message());
        cr_assert_eq(rm_dataset_writer_set_source(w, source_of(i)), 0, "%s", rm_error_message());
    }
    rm_split_spec split = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &split), 0, "%s", rm_error_message());
}

/* Each record's own AOPC and region scores, in relevance-file order, with
 * its dataset index and source; the aggregate is their mean. */
Test(quality, per_record_results_name_the_record_and_its_source, .init = setup, .fini = teardown)
{
    write_sourced_dataset(tu_path(dir, "src.h5"));
    const int64_t index[3] = {4, 1, 3};
    const int32_t expl[3] = {0, -1, 1};
    write_relevance(tu_path(dir, "r3.h5"), &fx, 3, index, expl, H, W);
    rm_quality_config c;
    base_config(&c);
    c.relevance_path = tu_path(dir, "r3.h5");
    c.data_path = tu_path(dir, "src.h5");
    rm_quality_result r;
    cr_assert_eq(rm_quality_run(&c, &r), 0, "%s", rm_error_message());
    cr_assert(r.has_source && r.has_perturbation && r.has_regions);
    cr_assert_eq(r.evaluated, 3);
    const int at[] = {0, 2, 4, 6, 8};
    double mean_aopc = 0;
    uint8_t scratch[HW];
    for (int e = 0; e < 3; e++) {
        const rm_quality_record *rec = &r.records[e];
        int i = (int)index[e], want_e = expl[e] >= 0 ? expl[e] : predicted(&fx, i);
        cr_assert_eq(rec->entry, e);
        cr_assert_eq(rec->index, index[e]);
        cr_assert_eq(rec->label, fx.labels[i]);
        cr_assert_eq(rec->explained, want_e, "entry %d explains class %d, expected %d", e, rec->explained, want_e);
        cr_assert(rec->source, "entry %d has a source", e);
        cr_assert_str_eq(rec->source, source_of(i));
        double z[5][2], aopc = 0;
        expected_curve(&fx, i, want_e, 4, at, z);
        for (int k = 1; k <= 4; k++) aopc += (z[0][want_e] - z[k][want_e]) / 4;
        cr_assert(fabs(rec->score[RM_SCORE_LOGIT] - z[0][want_e]) < 1e-5, "entry %d: f(x) %.8f, expected %.8f", e,
                  rec->score[RM_SCORE_LOGIT], z[0][want_e]);
        cr_assert(fabs(rec->aopc_relevance[RM_SCORE_LOGIT] - aopc) < 1e-5, "entry %d: AOPC %.8f, expected %.8f", e,
                  rec->aopc_relevance[RM_SCORE_LOGIT], aopc);
        cr_assert(isfinite(rec->aopc_random[RM_SCORE_PROBABILITY]));
        mean_aopc += rec->aopc_relevance[RM_SCORE_LOGIT] / 3;
        float heat[HW];
        for (int p = 0; p < HW; p++) heat[p] = fx.w[want_e][p] * (float)(fx.images[i][p] / 255.0);
        rm_region_score want;
        rm_region_score_image(heat, fx.regions[i], H, W, 0, scratch, &want);
        EXACT(rec->region.mass_pos, want.mass_pos);
        EXACT(rec->region.hit_abs, want.hit_abs);
    }
    cr_assert(fabs(rm_running_mean(&r.aopc[RM_SCORE_LOGIT].aopc_relevance) - mean_aopc) < 1e-9);
    rm_quality_result_free(&r);

    /* A dataset without /source (older files, synthetic data): no sources,
     * everything else the same; without a model the AOPC fields are NaN. */
    c.data_path = tu_path(dir, "d.h5");
    c.model_path = NULL;
    cr_assert_eq(rm_quality_run(&c, &r), 0, "%s", rm_error_message());
    cr_assert_not(r.has_source);
    for (int e = 0; e < 3; e++) {
        cr_assert_null(r.records[e].source);
        cr_assert_eq(r.records[e].index, index[e]);
        cr_assert_eq(r.records[e].explained, expl[e], "without a model: /explained as stored");
        cr_assert(isnan(r.records[e].aopc_relevance[RM_SCORE_LOGIT]));
        cr_assert(isfinite(r.records[e].region.mass_abs));
    }
    rm_quality_result_free(&r);
}

static const rm_json *json_at(const rm_json *j, const char *a, const char *b, const char *c)
{
    j = rm_json_get(j, a);
    if (b) j = rm_json_get(j, b);
    if (c) j = rm_json_get(j, c);
    cr_assert(j, "no %s.%s.%s", a, b ? b : "", c ? c : "");
    return j;
}

/* extremes.<metric>.lowest / .highest against the library's per-record
 * values: the EXTREMES (5) lowest, ascending, and highest, descending, each
 * with its index and (with /source) source. */
static void expect_extremes(const rm_json *j, const char *metric, const rm_quality_result *r, int with_source)
{
    for (int highest = 0; highest < 2; highest++) {
        const rm_json *list = json_at(j, "extremes", metric, highest ? "highest" : "lowest");
        cr_assert_eq(list->type, RM_JSON_ARRAY);
        cr_assert_eq(list->count, 5, "%s: the 5 %s of 6 records", metric, highest ? "highest" : "lowest");
        double prev = highest ? INFINITY : -INFINITY;
        for (size_t i = 0; i < list->count; i++) {
            const rm_json *item = &list->items[i];
            double value, entry, index;
            cr_assert_eq(rm_json_get_number(item, "value", "json", &value), 0, "%s", rm_error_message());
            cr_assert_eq(rm_json_get_number(item, "entry", "json", &entry), 0, "%s", rm_error_message());
            cr_assert_eq(rm_json_get_number(item, "index", "json", &index), 0, "%s", rm_error_message());
            cr_assert(highest ? value <= prev : value >= prev, "%s: sorted", metric);
            prev = value;
            const rm_quality_record *rec = &r->records[(int64_t)entry];
            double want = !strcmp(metric, "positive_mass")
                              ? rec->region.mass_pos
                              : rec->aopc_relevance[RM_SCORE_LOGIT] - rec->aopc_random[RM_SCORE_LOGIT];
            cr_assert(fabs(value - want) <= 1e-8 * fmax(1, fabs(want)), "%s entry %g: %.10g, expected %.10g", metric,
                      entry, value, want);
            cr_assert_eq((int64_t)index, rec->index);
            const rm_json *source = rm_json_get(item, "source");
            if (with_source) cr_assert(source && source->type == RM_JSON_STRING && !strcmp(source->string, rec->source));
            else cr_assert_null(source, "no source key for a dataset without /source");
        }
        /* The first is the extreme of all records. */
        double first;
        rm_json_get_number(&list->items[0], "value", "json", &first);
        for (int64_t e = 0; e < r->evaluated; e++) {
            const rm_quality_record *rec = &r->records[e];
            double v = !strcmp(metric, "positive_mass")
                           ? rec->region.mass_pos
                           : rec->aopc_relevance[RM_SCORE_LOGIT] - rec->aopc_random[RM_SCORE_LOGIT];
            cr_assert(highest ? v <= first + 1e-8 : v >= first - 1e-8, "%s: record %lld beyond the extreme", metric,
                      (long long)e);
        }
    }
}

Test(quality, cli_records_csv_and_json_extremes_name_sources, .init = setup, .fini = teardown)
{
    const char *src = tu_path(dir, "src.h5");
    write_sourced_dataset(src);
    char json[4096], records[4096], args[16384];
    snprintf(json, sizeof json, "%s", tu_path(dir, "q.json"));
    snprintf(records, sizeof records, "%s", tu_path(dir, "rec.csv"));
    snprintf(args, sizeof args, "relevance-eval -q -r %s -d %s -m %s --steps 4 --region 2 --out %s --records %s",
             tu_path(dir, "r.h5"), src, tu_path(dir, "m.h5"), json, records);
    free(cli(0, NULL, "%s%s%s%s", args, "", "", ""));
    /* The library on the same settings gives the numbers to expect. */
    rm_quality_config c;
    rm_quality_config_defaults(&c);
    c.relevance_path = tu_path(dir, "r.h5");
    c.data_path = src;
    c.model_path = tu_path(dir, "m.h5");
    c.steps = 4;
    c.region = 2;
    rm_quality_result r;
    cr_assert_eq(rm_quality_run(&c, &r), 0, "%s", rm_error_message());
    rm_json *j;
    cr_assert_eq(rm_json_load(&j, json), 0, "%s", rm_error_message());
    expect_extremes(j, "logit_difference", &r, 1);
    expect_extremes(j, "positive_mass", &r, 1);
    rm_json_free(j);

    /* --records: a header, then one row per record; a source with a comma
     * is quoted; row 0's numbers are the library's. */
    char *text = read_text(records);
    static const char *const want[] = {
        "\nentry,index,source,label,explained,logit_score,logit_aopc_relevance,logit_aopc_random,logit_difference,"
        "probability_score,probability_aopc_relevance,probability_aopc_random,probability_difference,region_area,"
        "pointing_chance,positive_mass,absolute_mass,positive_pointing,absolute_pointing\n0,0,faces/a/img0.png,a,a,",
        "\n3,3,\"faces/b/a,b.png\",b,a,", "\n5,5,faces/b/img5.png,b,b,", NULL};
    for (int i = 0; want[i]; i++) cr_assert(strstr(text, want[i]), "expected %s in:\n%s", want[i], text);
    int lines = 0;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 2 + N, "a comment, the header and %d rows:\n%s", N, text);
    const char *row0 = strstr(text, "\n0,0,faces/a/img0.png,a,a,") + strlen("\n0,0,faces/a/img0.png,a,a,");
    double score, aopc_rel, aopc_rnd, diff;
    cr_assert_eq(sscanf(row0, "%lf,%lf,%lf,%lf", &score, &aopc_rel, &aopc_rnd, &diff), 4, "%s", row0);
    const rm_quality_record *rec0 = &r.records[0];
    cr_assert(fabs(score - rec0->score[RM_SCORE_LOGIT]) < 1e-8 && fabs(aopc_rel - rec0->aopc_relevance[RM_SCORE_LOGIT]) < 1e-8 &&
                  fabs(diff - (rec0->aopc_relevance[RM_SCORE_LOGIT] - rec0->aopc_random[RM_SCORE_LOGIT])) < 1e-8,
              "row 0: %.10g %.10g %.10g", score, aopc_rel, diff);
    free(text);
    rm_quality_result_free(&r);

    /* Without /source: the same outputs, no source key, empty source fields. */
    snprintf(args, sizeof args, "relevance-eval -q -r %s -d %s -m %s --steps 4 --region 2 --out %s --records %s --force",
             tu_path(dir, "r.h5"), tu_path(dir, "d.h5"), tu_path(dir, "m.h5"), json, records);
    free(cli(0, NULL, "%s%s%s%s", args, "", "", ""));
    c.data_path = tu_path(dir, "d.h5");
    cr_assert_eq(rm_quality_run(&c, &r), 0, "%s", rm_error_message());
    cr_assert_eq(rm_json_load(&j, json), 0, "%s", rm_error_message());
    expect_extremes(j, "logit_difference", &r, 0);
    rm_json_free(j);
    rm_quality_result_free(&r);
    text = read_text(json);
    cr_assert_null(strstr(text, "\"source\""), "%s", text);
    free(text);
    text = read_text(records);
    cr_assert(strstr(text, "\n0,0,,a,a,") && strstr(text, "\n3,3,,b,a,"), "%s", text);
    free(text);

    /* Existing outputs and a path given twice are refused before any work. */
    free(cli(1, "already exists; use --force", "relevance-eval -q -r %s -d %s --out %s --records %s",
             tu_path(dir, "r.h5"), src, tu_path(dir, "other.json"), records));
    free(cli(1, "would both be written", "relevance-eval -q -r %s -d %s --out %s --records %s", tu_path(dir, "r.h5"),
             src, tu_path(dir, "same.csv"), tu_path(dir, "same.csv")));
    cr_assert_not(tu_file_exists(tu_path(dir, "other.json")), "a refused run writes nothing");
    cr_assert_not(tu_file_exists(tu_path(dir, "same.csv")));
}
