/* Occlusion relevance: the batched implementation against a naive one (one
 * occluded image per predictor call), a hand-built model that reads one
 * known patch, edge coverage, explained target vs predicted class, the
 * in-process predictor against the same model run as an external command
 * ($RELMASK_BIN predict --npy-in/--npy-out), and the external command's
 * failures (each message names the command, the temporary directory is
 * removed). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "relevance/occlusion.h"
#include "core/rng.h"
#include "train/train.h"
#include "test_util.h"
#include "core/npy.h"

static char *dir, *tmp;   /* scratch; $TMPDIR of the external predictor */

static void setup(void)
{
    dir = tu_scratch_dir();
    tmp = strdup(tu_path(dir, "tmp"));
    cr_assert_eq(mkdir(tmp, 0700), 0);
    setenv("TMPDIR", tmp, 1);   /* each test is its own process */
}

static void teardown(void)
{
    free(tmp);
    tu_rmtree(dir);
}

TestSuite(occlusion, .init = setup, .fini = teardown, .timeout = 120);

/* --- models ---------------------------------------------------------------- */

static const char *const conv_net =
    "[net]\ninput = 1x14x14\nclasses = 3\n[conv]\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n[dense]\nunits = 3\n";

/* He-initialized weights (seed), biases in [-0.2, 0.2]; normalization
 * mean 0.5, std 0.25; then set(net, ctx) may overwrite parameters. */
static void make_model(rm_model *m, const char *text, uint64_t seed, void (*set)(rm_net *, const void *),
                       const void *ctx)
{
    memset(m, 0, sizeof *m);
    cr_assert_eq(rm_netdef_parse(&m->def, text, "t.cfg"), 0, "%s", rm_error_message());
    rm_net net;
    cr_assert_eq(rm_net_create(&net, &m->def, 1, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_init_params(&net, RM_INIT_HE, seed), 0);
    rm_rng rng;
    rm_rng_seed(&rng, seed, 9, 0);
    for (int i = 0; i < net.num_layers; i++)
        for (int p = 0; p < net.layers[i].num_params; p++) {
            rm_param *prm = &net.layers[i].params[p];
            if (strcmp(prm->name, "bias")) continue;
            int64_t n = rm_param_plain_count(prm);
            float *v = malloc(sizeof *v * (size_t)n);
            for (int64_t k = 0; k < n; k++) v[k] = (float)rm_rng_range(&rng, -0.2, 0.2);
            cr_assert_eq(rm_net_param_write(&net, prm, v), 0);
            free(v);
        }
    if (set) set(&net, ctx);
    cr_assert_eq(rm_model_capture(m, &net), 0);
    rm_net_destroy(&net);
    char *names[5] = {"a", "b", "c", "d", "e"};
    cr_assert_eq(rm_model_set_classes(m, m->def.classes, names), 0);
    m->channels = m->def.input.c;
    m->norm_mean = malloc(sizeof(float) * (size_t)m->channels);
    m->norm_std = malloc(sizeof(float) * (size_t)m->channels);
    for (int c = 0; c < m->channels; c++) m->norm_mean[c] = 0.5f, m->norm_std[c] = 0.25f;
}

/* A dense layer [K, C*H*W] straight on the input: class 0 reads the pixels
 * inside the rectangle with weight w, the other classes read nothing; bias
 * b0 for class 0, 0 for the rest. Normalization x' = x/255 (set after). */
typedef struct { int y0, x0, h, w; float weight, bias0; } rect_reader;

static void set_rect_reader(rm_net *net, const void *ctx)
{
    const rect_reader *r = ctx;
    const rm_shape in = net->def->input;
    int K = net->def->classes;
    int64_t n = (int64_t)K * in.c * in.h * in.w;
    float *wt = calloc((size_t)n, sizeof *wt), *b = calloc((size_t)K, sizeof *b);
    for (int c = 0; c < in.c; c++)
        for (int y = r->y0; y < r->y0 + r->h; y++)
            for (int x = r->x0; x < r->x0 + r->w; x++) wt[((size_t)c * in.h + y) * in.w + x] = r->weight;
    b[0] = r->bias0;
    cr_assert_eq(rm_net_param_write(net, rm_net_param(net, "dense1", "weight"), wt), 0);
    cr_assert_eq(rm_net_param_write(net, rm_net_param(net, "dense1", "bias"), b), 0);
    free(wt), free(b);
}

static void make_rect_model(rm_model *m, const char *text, const rect_reader *r)
{
    make_model(m, text, 1, set_rect_reader, r);
    for (int c = 0; c < m->channels; c++) m->norm_mean[c] = 0, m->norm_std[c] = 1;
}

static uint8_t *random_images(int n, int chw, uint64_t seed)
{
    uint8_t *x = malloc((size_t)n * chw);
    rm_rng rng;
    rm_rng_seed(&rng, seed, 4, 0);
    for (int i = 0; i < n * chw; i++) x[i] = (uint8_t)rm_rng_range(&rng, 0, 256);
    return x;
}

static rm_predictor *model_predictor(const rm_model *m, int batch)
{
    rm_predictor *p;
    cr_assert_eq(rm_predictor_from_model(&p, m, batch), 0, "%s", rm_error_message());
    return p;
}

static rm_occlusion_config config(int patch, int stride, double baseline, int max_batch)
{
    rm_occlusion_config cfg;
    rm_occlusion_config_defaults(&cfg);
    cfg.patch = patch, cfg.stride = stride, cfg.baseline = baseline, cfg.max_batch = max_batch;
    return cfg;
}

/* --- the naive reference ----------------------------------------------------- */

/* Positions written out independently of rm_occlusion_positions. */
static int ref_positions(int size, int patch, int stride, int *s)
{
    if (patch > size) patch = size;
    int n = 0;
    for (int p = 0; p + patch <= size; p += stride) s[n++] = p;
    if (s[n - 1] + patch < size) s[n++] = size - patch;
    return n;
}

/* One predictor call per image, original and each occluded copy; sums in
 * double, divided by the number of patches covering each pixel. */
static void ref_occlusion(rm_predictor *p, int patch, int stride, uint8_t fill, const uint8_t *img, int C, int H,
                          int W, int K, int target, float *heat, int *explained)
{
    int ys[256], xs[256];
    int ny = ref_positions(H, patch, stride, ys), nx = ref_positions(W, patch, stride, xs);
    int ph = patch < H ? patch : H, pw = patch < W ? patch : W;
    float *probs = malloc(sizeof *probs * (size_t)K);
    uint8_t *occ = malloc((size_t)C * H * W);
    double *sum = calloc((size_t)H * W, sizeof *sum), *cnt = calloc((size_t)H * W, sizeof *cnt);
    cr_assert_eq(rm_predictor_run(p, img, 1, probs), 0, "%s", rm_error_message());
    int cls = 0;
    for (int k = 1; k < K; k++)
        if (probs[k] > probs[cls]) cls = k;
    if (target >= 0) cls = target;
    double p0 = probs[cls];
    for (int a = 0; a < ny; a++)
        for (int b = 0; b < nx; b++) {
            memcpy(occ, img, (size_t)C * H * W);
            for (int c = 0; c < C; c++)
                for (int y = ys[a]; y < ys[a] + ph; y++)
                    for (int x = xs[b]; x < xs[b] + pw; x++) occ[((size_t)c * H + y) * W + x] = fill;
            cr_assert_eq(rm_predictor_run(p, occ, 1, probs), 0, "%s", rm_error_message());
            for (int y = ys[a]; y < ys[a] + ph; y++)
                for (int x = xs[b]; x < xs[b] + pw; x++) {
                    sum[y * W + x] += p0 - probs[cls];
                    cnt[y * W + x] += 1;
                }
        }
    for (int i = 0; i < H * W; i++) {
        cr_assert(cnt[i] > 0, "reference: pixel %d uncovered", i);
        heat[i] = (float)(sum[i] / cnt[i]);
    }
    *explained = cls;
    free(probs), free(occ), free(sum), free(cnt);
}

static void assert_close(const float *a, const float *b, int n, double tol, const char *what)
{
    for (int i = 0; i < n; i++)
        cr_assert(fabs(a[i] - b[i]) <= tol, "%s: [%d] %.9g vs %.9g", what, i, a[i], b[i]);
}

/* --- tests ------------------------------------------------------------------- */

Test(occlusion, positions_tile_and_end_at_the_edge)
{
    int s[64];
    int n = rm_occlusion_positions(14, 4, 3, s, 64);
    int want[] = {0, 3, 6, 9, 10};
    cr_assert_eq(n, 5);
    for (int i = 0; i < n; i++) cr_assert_eq(s[i], want[i], "start %d: %d", i, s[i]);
    cr_assert_eq(rm_occlusion_positions(48, 8, 4, NULL, 0), 11, "fer-small: 11 x 11 patches");
    cr_assert_eq(rm_occlusion_positions(16, 4, 4, s, 64), 4);
    cr_assert_eq(s[3], 12, "stride that tiles: no extra patch");
    cr_assert_eq(rm_occlusion_positions(13, 20, 4, s, 64), 1, "patch larger than the side: one, clipped");
    cr_assert_eq(s[0], 0);
    cr_assert_eq(rm_occlusion_positions(7, 1, 1, NULL, 0), 7);
}

/* Batched (any max_batch, several images per call and an image split over
 * calls) equals one-at-a-time, for predicted and given targets. */
Test(occlusion, matches_the_naive_reference_for_any_max_batch)
{
    rm_model m;
    make_model(&m, conv_net, 3, NULL, NULL);
    enum { N = 3, H = 14, W = 14, K = 3 };
    uint8_t *img = random_images(N, H * W, 11);
    rm_predictor *p = model_predictor(&m, 16);
    const int32_t targets[N] = {-1, 2, 0};
    float ref[N][H * W];
    int ref_expl[N];
    for (int i = 0; i < N; i++)
        ref_occlusion(p, 4, 3, 100, img + i * H * W, 1, H, W, K, targets[i], ref[i], &ref_expl[i]);
    const int batches[] = {1, 7, 26, 10000};   /* 26 = one image's patches + its original */
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        rm_occlusion_config cfg = config(4, 3, 100, batches[b]);
        float heat[N * H * W], score[N];
        int32_t expl[N], pred[N];
        cr_assert_eq(rm_occlusion_run(p, &cfg, img, N, 1, H, W, targets, heat, expl, score, pred), 0, "%s",
                     rm_error_message());
        for (int i = 0; i < N; i++) {
            cr_assert_eq(expl[i], ref_expl[i], "max_batch %d image %d: explained %d vs %d", batches[b], i, expl[i],
                         ref_expl[i]);
            if (targets[i] < 0) cr_assert_eq(expl[i], pred[i]);
            assert_close(heat + i * H * W, ref[i], H * W, 1e-6, "batched vs one-at-a-time");
        }
    }
    rm_predictor_destroy(p);
    free(img);
    rm_model_free(&m);
}

/* Class 0 reads only a 6x6 rectangle: occlusion must find it. Occluders
 * 4x4 at stride 2 overlap the rectangle's border, so pixels up to 2 rows
 * or columns outside share some relevance (for a linear score: along one
 * axis the pixels from the edge inwards get 1, 3, 4, 4, 3, 1 units inside
 * and 1, 1 outside on each side, so 20/24 per axis, (20/24)^2 = 69% of the
 * mass inside); pixels farther out must get exactly 0 (no patch covering
 * them touches the rectangle). Criteria: the maximum lies inside, >= 60%
 * of the positive mass lies inside (36 of 576 pixels: 6.25% by chance),
 * the mean inside is >= 3x the mean of the 2-pixel ring around it, and
 * nothing beyond the ring. */
Test(occlusion, relevance_concentrates_on_the_patch_the_model_reads)
{
    enum { N = 4, H = 24, W = 24 };
    const rect_reader r = {.y0 = 8, .x0 = 12, .h = 6, .w = 6, .weight = 0.15f, .bias0 = -2.5f};
    rm_model m;
    make_rect_model(&m, "[net]\ninput = 1x24x24\nclasses = 2\n[dense]\nunits = 2\n", &r);
    uint8_t *img = random_images(N, H * W, 5);
    for (int i = 0; i < N; i++)   /* a bright rectangle: class 0 predicted */
        for (int y = r.y0; y < r.y0 + r.h; y++)
            for (int x = r.x0; x < r.x0 + r.w; x++) img[i * H * W + y * W + x] = (uint8_t)(200 + (x * y + 7 * i) % 56);
    rm_predictor *p = model_predictor(&m, 32);
    rm_occlusion_config cfg = config(4, 2, 0, 4096);
    float heat[N * H * W], score[N];
    int32_t expl[N];
    cr_assert_eq(rm_occlusion_run(p, &cfg, img, N, 1, H, W, NULL, heat, expl, score, NULL), 0, "%s",
                 rm_error_message());
    for (int i = 0; i < N; i++) {
        cr_assert_eq(expl[i], 0, "image %d: class 0 predicted (p = %g)", i, score[i]);
        const float *h = heat + i * H * W;
        double inside = 0, total = 0, ring = 0;
        int best = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float v = h[y * W + x];
                int in = y >= r.y0 && y < r.y0 + r.h && x >= r.x0 && x < r.x0 + r.w;
                int near = y >= r.y0 - 2 && y < r.y0 + r.h + 2 && x >= r.x0 - 2 && x < r.x0 + r.w + 2;
                if (!near) cr_assert_eq(v, 0.0f, "image %d (%d,%d): %g outside the reach of the rectangle", i, y, x, v);
                if (v > 0) total += v, inside += in ? v : 0;
                if (near && !in) ring += v;
                if (v > h[best]) best = y * W + x;
            }
        int by = best / W, bx = best % W;
        cr_assert(by >= r.y0 && by < r.y0 + r.h && bx >= r.x0 && bx < r.x0 + r.w, "image %d: maximum at (%d,%d)", i,
                  by, bx);
        double ratio = (inside / 36) / (ring / (10 * 10 - 36));
        cr_log_info("image %d: %.1f%% of the positive mass inside the 6x6 rectangle, mean inside / mean of the ring "
                    "%.1f", i, 100 * inside / total, ratio);
        cr_assert(inside >= 0.6 * total, "image %d: %.1f%% of the positive mass inside", i, 100 * inside / total);
        cr_assert(ratio >= 3, "image %d: mean inside / mean of the ring %.2f", i, ratio);
    }
    rm_predictor_destroy(p);
    free(img);
    rm_model_free(&m);
}

/* Height 11 and width 13 with patch 4, stride 3: y starts 0,3,6 + 7 at the
 * edge, x starts 0,3,6,9. A model whose class-0 logit reads every pixel
 * with a positive weight: every pixel (edges included) must get relevance
 * > 0 for bright images and a black baseline. */
Test(occlusion, every_pixel_is_covered_when_the_stride_does_not_tile)
{
    enum { H = 11, W = 13 };
    const rect_reader r = {.y0 = 0, .x0 = 0, .h = H, .w = W, .weight = 0.02f, .bias0 = -1};
    rm_model m;
    make_rect_model(&m, "[net]\ninput = 1x11x13\nclasses = 2\n[dense]\nunits = 2\n", &r);
    uint8_t img[H * W];
    for (int i = 0; i < H * W; i++) img[i] = (uint8_t)(150 + i % 100);
    rm_predictor *p = model_predictor(&m, 8);
    rm_occlusion *occ;
    rm_occlusion_config cfg = config(4, 3, 0, 64);
    cr_assert_eq(rm_occlusion_create(&occ, p, &cfg, 1, H, W), 0, "%s", rm_error_message());
    cr_assert_eq(rm_occlusion_patches(occ), 4 * 4);
    float heat[H * W];
    int32_t expl;
    cr_assert_eq(rm_occlusion_explain(occ, img, 1, NULL, heat, &expl, NULL, NULL), 0, "%s", rm_error_message());
    cr_assert_eq(expl, 0);
    for (int i = 0; i < H * W; i++) cr_assert(heat[i] > 0, "pixel (%d,%d): %g", i / W, i % W, heat[i]);
    rm_occlusion_destroy(occ);

    /* a patch larger than the image: one patch, the whole image, one value */
    cfg = config(20, 5, 0, 64);
    cr_assert_eq(rm_occlusion_run(p, &cfg, img, 1, 1, H, W, NULL, heat, NULL, NULL, NULL), 0, "%s",
                 rm_error_message());
    for (int i = 0; i < H * W; i++) cr_assert_eq(heat[i], heat[0]);
    cr_assert(heat[0] > 0);
    rm_predictor_destroy(p);
    rm_model_free(&m);
}

/* Two classes: p1 = 1 - p0, so explaining class 1 gives the negated
 * heatmap of class 0; target -1 or NULL explains the predicted class. */
Test(occlusion, given_target_vs_predicted_class)
{
    enum { N = 2, H = 12, W = 12 };
    const rect_reader r = {.y0 = 2, .x0 = 3, .h = 5, .w = 4, .weight = 0.1f, .bias0 = -0.5f};
    rm_model m;
    make_rect_model(&m, "[net]\ninput = 1x12x12\nclasses = 2\n[dense]\nunits = 2\n", &r);
    uint8_t *img = random_images(N, H * W, 8);
    rm_predictor *p = model_predictor(&m, 8);
    rm_occlusion_config cfg = config(3, 2, 0, 50);
    float h_pred[N * H * W], h_null[N * H * W], h0[N * H * W], h1[N * H * W], s_pred[N], s0[N], s1[N];
    int32_t e_pred[N], pred[N], e0[N], e1[N];
    const int32_t none[N] = {-1, -1}, zero[N] = {0, 0}, one[N] = {1, 1};
    cr_assert_eq(rm_occlusion_run(p, &cfg, img, N, 1, H, W, none, h_pred, e_pred, s_pred, pred), 0);
    cr_assert_eq(rm_occlusion_run(p, &cfg, img, N, 1, H, W, NULL, h_null, NULL, NULL, NULL), 0);
    cr_assert_eq(rm_occlusion_run(p, &cfg, img, N, 1, H, W, zero, h0, e0, s0, NULL), 0);
    cr_assert_eq(rm_occlusion_run(p, &cfg, img, N, 1, H, W, one, h1, e1, s1, NULL), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(e_pred[i], pred[i]);
        cr_assert_eq(e0[i], 0);
        cr_assert_eq(e1[i], 1);
        cr_assert_float_eq(s0[i] + s1[i], 1.0f, 1e-6, "scores are the two classes' probabilities");
        cr_assert_eq(s_pred[i], pred[i] ? s1[i] : s0[i]);
        cr_assert(s_pred[i] >= 0.5f);
    }
    cr_assert_eq(memcmp(h_pred, h_null, sizeof h_pred), 0, "target -1 and NULL agree");
    double max = 0;
    for (int i = 0; i < N * H * W; i++) {
        cr_assert(fabs(h0[i] + h1[i]) <= 1e-6, "[%d] class 0 %g, class 1 %g", i, h0[i], h1[i]);
        max = fmax(max, fabs(h0[i]));
        cr_assert_eq(h_pred[i], (pred[i / (H * W)] ? h1 : h0)[i]);
    }
    cr_assert(max > 1e-3, "the heatmaps are not trivially zero");
    const int32_t bad[N] = {0, 2};
    cr_assert_neq(rm_occlusion_run(p, &cfg, img, N, 1, H, W, bad, h0, NULL, NULL, NULL), 0);
    cr_assert(strstr(rm_error_message(), "target class 2 of image 1 is out of range 0..1"), "%s", rm_error_message());
    rm_predictor_destroy(p);
    free(img);
    rm_model_free(&m);
}

Test(occlusion, configuration_errors)
{
    rm_model m;
    make_model(&m, conv_net, 3, NULL, NULL);
    rm_predictor *p = model_predictor(&m, 4);
    rm_occlusion *occ = NULL;
    rm_occlusion_config cfg = config(4, 5, 0, 8);
    cr_assert_neq(rm_occlusion_create(&occ, p, &cfg, 1, 14, 14), 0);
    cr_assert(strstr(rm_error_message(), "stride 5, expected 1..4"), "%s", rm_error_message());
    cfg = config(4, 2, 256, 8);
    cr_assert_neq(rm_occlusion_create(&occ, p, &cfg, 1, 14, 14), 0);
    cr_assert(strstr(rm_error_message(), "baseline 256"), "%s", rm_error_message());
    const float mean[1] = {-1};
    cfg = config(4, 2, 0, 8);
    cfg.baseline_mean = mean;
    cr_assert_neq(rm_occlusion_create(&occ, p, &cfg, 1, 14, 14), 0);
    cr_assert(strstr(rm_error_message(), "channel 0 is -1"), "%s", rm_error_message());
    cfg = config(4, 2, 0, 8);
    cr_assert_neq(rm_occlusion_create(&occ, p, &cfg, 1, 12, 14), 0);
    cr_assert(strstr(rm_error_message(), "predictor expects 1x14x14"), "%s", rm_error_message());
    cr_assert_null(occ);
    rm_predictor_destroy(p);
    rm_model_free(&m);
}

/* --- external commands --------------------------------------------------------- */

static const char *relmask_bin(void)
{
    const char *bin = getenv("RELMASK_BIN");
    return bin && *bin ? bin : "build/relmask";
}

static rm_predictor *command_predictor(const char *cmd, int C, int H, int W, int K)
{
    rm_predictor *p;
    cr_assert_eq(rm_predictor_from_command(&p, cmd, C, H, W, K), 0, "%s", rm_error_message());
    return p;
}

static void assert_tmp_empty(void)
{
    cr_assert_eq(tu_dir_entries(tmp), 0, "the external predictor left %d entries in $TMPDIR %s", tu_dir_entries(tmp),
                 tmp);
}

/* The same model in-process and as `relmask predict --npy-in {in}
 * --npy-out {out}`: the same heatmaps within 1e-5 (the two run the network
 * with different batch sizes, so oneDNN may round differently). */
Test(occlusion, in_process_and_external_command_agree)
{
    rm_model m;
    make_model(&m, conv_net, 4, NULL, NULL);
    char *model_path = strdup(tu_path(dir, "m.h5"));
    cr_assert_eq(rm_model_save(&m, model_path, 0, "test"), 0, "%s", rm_error_message());
    enum { N = 5, H = 14, W = 14, K = 3 };
    uint8_t *img = random_images(N, H * W, 21);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s predict -q --model %s --npy-in {in} --npy-out {out}", relmask_bin(), model_path);
    rm_predictor *in_process = model_predictor(&m, 32), *external = command_predictor(cmd, 1, H, W, K);
    rm_occlusion_config cfg = config(4, 3, 128, 40);   /* 130 images: 4 calls */
    const int32_t targets[N] = {-1, -1, 1, -1, 0};
    float h_in[N * H * W], h_ex[N * H * W], s_in[N], s_ex[N];
    int32_t e_in[N], e_ex[N], p_in[N], p_ex[N];
    cr_assert_eq(rm_occlusion_run(in_process, &cfg, img, N, 1, H, W, targets, h_in, e_in, s_in, p_in), 0, "%s",
                 rm_error_message());
    cr_assert_eq(rm_occlusion_run(external, &cfg, img, N, 1, H, W, targets, h_ex, e_ex, s_ex, p_ex), 0, "%s",
                 rm_error_message());
    double max = 0;
    for (int i = 0; i < N * H * W; i++) max = fmax(max, fabs(h_in[i]));
    cr_assert(max > 1e-3, "the heatmaps are not trivially zero (max %g)", max);
    assert_close(h_ex, h_in, N * H * W, 1e-5, "external vs in-process heatmap");
    assert_close(s_ex, s_in, N, 1e-6, "external vs in-process score");
    for (int i = 0; i < N; i++) {
        cr_assert_eq(e_ex[i], e_in[i]);
        cr_assert_eq(p_ex[i], p_in[i]);
    }
    assert_tmp_empty();
    rm_predictor_destroy(in_process);
    rm_predictor_destroy(external);
    free(img);
    free(model_path);
    rm_model_free(&m);
}

/* Without {in}/{out} the two paths are appended as arguments (here $1 and
 * $2 of an inline script whose $0 is the relmask binary). */
Test(occlusion, paths_are_appended_without_placeholders)
{
    rm_model m;
    make_model(&m, conv_net, 4, NULL, NULL);
    char *model_path = strdup(tu_path(dir, "m.h5"));
    cr_assert_eq(rm_model_save(&m, model_path, 0, "test"), 0, "%s", rm_error_message());
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "sh -c '\"$0\" predict -q --model %s --npy-in \"$1\" --npy-out \"$2\"' %s", model_path,
             relmask_bin());
    rm_predictor *in_process = model_predictor(&m, 4), *external = command_predictor(cmd, 1, 14, 14, 3);
    uint8_t *img = random_images(6, 14 * 14, 2);
    float a[6 * 3], b[6 * 3];
    cr_assert_eq(rm_predictor_run(in_process, img, 6, a), 0, "%s", rm_error_message());
    cr_assert_eq(rm_predictor_run(external, img, 6, b), 0, "%s", rm_error_message());
    assert_close(b, a, 6 * 3, 1e-6, "external vs in-process probabilities");
    assert_tmp_empty();
    rm_predictor_destroy(in_process);
    rm_predictor_destroy(external);
    free(img);
    free(model_path);
    rm_model_free(&m);
}

/* Runs a failing command on two images of 1x4x4 with 2 classes and checks
 * the message names the command and `want`, and $TMPDIR is left empty. */
static void expect_failure(const char *cmd, const char *want)
{
    rm_predictor *p = command_predictor(cmd, 1, 4, 4, 2);
    uint8_t img[2 * 16] = {0};
    float probs[2 * 2];
    cr_assert_neq(rm_predictor_run(p, img, 2, probs), 0, "'%s' should fail", cmd);
    const char *msg = rm_error_message();
    char named[8300];
    snprintf(named, sizeof named, "predict command '%s'", cmd);
    cr_assert(strstr(msg, named), "the message should name the command:\n%s", msg);
    cr_assert(strstr(msg, want), "expected '%s' in:\n%s", want, msg);
    cr_log_info("%s", msg);
    assert_tmp_empty();
    rm_predictor_destroy(p);
}

/* A prepared output file the command copies to {out}. */
static const char *prepared(const char *name, const char *descr, int ndims, const size_t *shape, const void *data)
{
    const char *path = tu_path(dir, name);
    cr_assert_eq(rm_npy_write(path, descr, ndims, shape, data), 0, "%s", rm_error_message());
    return path;
}

static void expect_output_failure(const char *path, const char *want)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp %s {out} # {in}", path);
    expect_failure(cmd, want);
}

Test(occlusion, command_exit_status_is_reported)
{
    expect_failure("sh -c 'exit 3'", "exited with status 3");
}

Test(occlusion, command_killed_by_a_signal_is_reported)
{
    expect_failure("kill -9 $$ # {in} {out}", "killed by signal 9");
}

Test(occlusion, command_without_output_is_reported)
{
    expect_failure("true {in} {out}", "wrote no output file {out}");
}

Test(occlusion, output_of_the_wrong_shape_is_reported)
{
    const float p3[2 * 3] = {0.2f, 0.3f, 0.5f, 1, 0, 0};
    expect_output_failure(prepared("k3.npy", "<f4", 2, (size_t[]){2, 3}, p3), "has shape (2, 3), expected (2, 2)");
    const float p1[2] = {1, 1};
    expect_output_failure(prepared("n1.npy", "<f4", 1, (size_t[]){2}, p1), "has shape (2,), expected (2, 2)");
    expect_output_failure(prepared("n3.npy", "<f4", 2, (size_t[]){3, 2}, (float[6]){0}), "has shape (3, 2)");
}

Test(occlusion, output_of_the_wrong_dtype_is_reported)
{
    const int32_t ints[4] = {1, 0, 0, 1};
    expect_output_failure(prepared("i4.npy", "<i4", 2, (size_t[]){2, 2}, ints), "has dtype '<i4', expected float32");
    const char *text = tu_path(dir, "text.npy");
    tu_write_text(text, "0.5 0.5\n0.5 0.5\n");
    expect_output_failure(text, "not an NPY file");
}

Test(occlusion, short_output_is_reported)
{
    const float p[4] = {0.5f, 0.5f, 0.25f, 0.75f};
    const char *path = prepared("short.npy", "<f4", 2, (size_t[]){2, 2}, p);
    rm_npy_file f;
    cr_assert_eq(rm_npy_open(&f, path), 0, "%s", rm_error_message());
    cr_assert_eq(f.data_offset % 64, 0, "the header is padded to 64 bytes");
    rm_npy_close(&f);
    cr_assert_eq(truncate(path, (off_t)f.data_offset + 12), 0);   /* 3 of 4 floats */
    expect_output_failure(path, "truncated");
}

Test(occlusion, probabilities_must_sum_to_one)
{
    const float sum15[4] = {0.5f, 0.5f, 0.75f, 0.75f};
    expect_output_failure(prepared("sum.npy", "<f4", 2, (size_t[]){2, 2}, sum15), "row 1 sums to 1.5");
    const float neg[4] = {1.5f, -0.5f, 0.5f, 0.5f};
    expect_output_failure(prepared("neg.npy", "<f4", 2, (size_t[]){2, 2}, neg), "row 0, column 1: -0.5 is not a");
    const double nan_row[4] = {0.5, 0.5, NAN, 0.5};
    expect_output_failure(prepared("nan.npy", "<f8", 2, (size_t[]){2, 2}, nan_row), "row 1, column 0: nan");
    /* float64 within the tolerance is accepted */
    const double ok[4] = {0.5, 0.5004, 0.25, 0.75};
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp %s {out} # {in}", prepared("ok.npy", "<f8", 2, (size_t[]){2, 2}, ok));
    rm_predictor *p = command_predictor(cmd, 1, 4, 4, 2);
    uint8_t img[2 * 16] = {0};
    float probs[4];
    cr_assert_eq(rm_predictor_run(p, img, 2, probs), 0, "%s", rm_error_message());
    cr_assert_float_eq(probs[1], 0.5004f, 1e-7);
    assert_tmp_empty();
    rm_predictor_destroy(p);
}

/* The input the command sees: uint8 (n, C, H, W) with the images' bytes. */
Test(occlusion, command_reads_the_images_as_uint8_nchw)
{
    char cmd[8192];
    const char *copy = tu_path(dir, "seen.npy");
    const char *probs_path = prepared("p.npy", "<f4", 2, (size_t[]){2, 2}, (float[4]){1, 0, 0, 1});
    snprintf(cmd, sizeof cmd, "cp {in} %s && cp %s {out}", copy, probs_path);
    rm_predictor *p = command_predictor(cmd, 2, 3, 4, 2);
    uint8_t img[2 * 24];
    for (int i = 0; i < 48; i++) img[i] = (uint8_t)(i * 5);
    float probs[4];
    cr_assert_eq(rm_predictor_run(p, img, 2, probs), 0, "%s", rm_error_message());
    rm_npy_file f;
    cr_assert_eq(rm_npy_open(&f, copy), 0, "%s", rm_error_message());
    cr_assert_str_eq(f.descr, "|u1");
    cr_assert_eq(f.ndims, 4);
    cr_assert(f.shape[0] == 2 && f.shape[1] == 2 && f.shape[2] == 3 && f.shape[3] == 4);
    uint8_t back[48];
    cr_assert_eq(fread(back, 1, 48, f.fp), 48);
    cr_assert_eq(memcmp(back, img, 48), 0);
    rm_npy_close(&f);
    assert_tmp_empty();
    rm_predictor_destroy(p);
}

Test(occlusion, unusable_tmpdir_is_reported)
{
    setenv("TMPDIR", tu_path(dir, "missing"), 1);
    rm_predictor *p = command_predictor("true {in} {out}", 1, 4, 4, 2);
    uint8_t img[16] = {0};
    float probs[2];
    cr_assert_neq(rm_predictor_run(p, img, 1, probs), 0);
    cr_assert(strstr(rm_error_message(), "set TMPDIR to a writable directory"), "%s", rm_error_message());
    rm_predictor_destroy(p);
}

/* relmask predict --npy-in checks what it reads. */
Test(occlusion, predict_npy_checks_its_input)
{
    rm_model m;
    make_model(&m, conv_net, 4, NULL, NULL);
    char *model_path = strdup(tu_path(dir, "m.h5"));
    cr_assert_eq(rm_model_save(&m, model_path, 0, "test"), 0, "%s", rm_error_message());
    char *out;
    const char *wrong = prepared("wrong.npy", "|u1", 4, (size_t[]){2, 1, 12, 14}, (uint8_t[2 * 12 * 14]){0});
    int code = tu_run_cli(&out, "predict --model %s --npy-in %s --npy-out %s", model_path, wrong, tu_path(dir, "o.npy"));
    cr_assert_eq(code, 1, "%s", out);
    cr_assert(strstr(out, "shape (2, 1, 12, 14), but") && strstr(out, "expects (n, 1, 14, 14)"), "%s", out);
    free(out);
    const char *floats = prepared("f.npy", "<f4", 3, (size_t[]){1, 14, 14}, (float[196]){0});
    code = tu_run_cli(&out, "predict --model %s --npy-in %s --npy-out %s", model_path, floats, tu_path(dir, "o.npy"));
    cr_assert_eq(code, 1, "%s", out);
    cr_assert(strstr(out, "expected uint8 ('|u1')"), "%s", out);
    free(out);
    cr_assert(!tu_file_exists(tu_path(dir, "o.npy")), "no output after an error");
    code = tu_run_cli(&out, "predict --model %s --npy-in %s", model_path, floats);
    cr_assert_eq(code, 2, "%s", out);
    free(out);
    /* (n, H, W) for one channel, and n = 0 */
    const char *nhw = prepared("nhw.npy", "|u1", 3, (size_t[]){1, 14, 14}, (uint8_t[196]){0});
    cr_assert_eq(tu_run_cli(NULL, "predict -q --model %s --npy-in %s --npy-out %s", model_path, nhw,
                            tu_path(dir, "o.npy")), 0);
    const char *empty = prepared("empty.npy", "|u1", 4, (size_t[]){0, 1, 14, 14}, NULL);
    cr_assert_eq(tu_run_cli(&out, "predict -q --model %s --npy-in %s --npy-out %s", model_path, empty,
                            tu_path(dir, "e.npy")), 0, "%s", out);
    free(out);
    rm_npy_file f;
    cr_assert_eq(rm_npy_open(&f, tu_path(dir, "e.npy")), 0, "%s", rm_error_message());
    cr_assert(f.ndims == 2 && f.shape[0] == 0 && f.shape[1] == 3 && !strcmp(f.descr, "<f4"));
    rm_npy_close(&f);
    free(model_path);
    rm_model_free(&m);
}
