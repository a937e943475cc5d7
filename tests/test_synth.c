/* The synthetic face generator: determinism, balanced labels, sane images,
 * compact region masks that hold the expression changes, domain shift; and
 * the synth stage that writes them as a dataset. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "ingest/synth.h"
#include "test_util.h"

enum { NEUTRAL, HAPPY, SAD, SURPRISE, FEAR, DISGUST, ANGER };

static rm_synth_params params(rm_synth_domain d, int size, double intensity, uint64_t seed)
{
    rm_synth_params p = {.size = size, .domain = d, .intensity = intensity, .seed = seed};
    return p;
}

static double mean_of(const uint8_t *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

static double std_of(const uint8_t *v, int n)
{
    double m = mean_of(v, n), s = 0;
    for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    return sqrt(s / n);
}

Test(synth, same_call_same_bytes)
{
    for (int d = 0; d < RM_DOMAIN_COUNT; d++) {
        rm_synth_params p = params(d, 48, 0.6, 11);
        uint8_t a[48 * 48], b[48 * 48], ra[48 * 48], rb[48 * 48];
        for (uint64_t i = 0; i < 20; i++) {
            rm_synth_render(&p, i, a, ra);
            rm_synth_render(&p, i, b, rb);
            cr_assert(memcmp(a, b, sizeof a) == 0, "domain %d image %d differs", d, (int)i);
            cr_assert(memcmp(ra, rb, sizeof ra) == 0, "domain %d region %d differs", d, (int)i);
        }
    }
}

Test(synth, image_independent_of_call_order)
{
    /* image 40 alone equals image 40 rendered after 0..39, and a large
     * index renders the same before and after others */
    for (int d = 0; d < RM_DOMAIN_COUNT; d++) {
        rm_synth_params p = params(d, 48, 0.5, 5);
        uint8_t alone[48 * 48], ralone[48 * 48], img[48 * 48], reg[48 * 48];
        rm_synth_render(&p, 40, alone, ralone);
        for (uint64_t i = 0; i <= 40; i++) rm_synth_render(&p, i, img, reg);
        cr_assert(memcmp(alone, img, sizeof img) == 0);
        cr_assert(memcmp(ralone, reg, sizeof reg) == 0);
        rm_synth_render(&p, 1000000007ULL, alone, NULL);
        rm_synth_render(&p, 3, img, NULL);
        rm_synth_render(&p, 1000000007ULL, img, NULL);
        cr_assert(memcmp(alone, img, sizeof img) == 0);
    }
}

Test(synth, seeds_domains_and_indices_differ)
{
    uint8_t a[48 * 48], b[48 * 48];
    rm_synth_params p1 = params(RM_DOMAIN_SOURCE, 48, 0.6, 1), p2 = params(RM_DOMAIN_SOURCE, 48, 0.6, 2);
    rm_synth_render(&p1, 0, a, NULL);
    rm_synth_render(&p2, 0, b, NULL);
    cr_assert(memcmp(a, b, sizeof a) != 0, "different seeds gave the same image");
    rm_synth_render(&p1, 1, b, NULL);
    cr_assert(memcmp(a, b, sizeof a) != 0, "different indices gave the same image");
    rm_synth_params p3 = params(RM_DOMAIN_TARGET, 48, 0.6, 1);
    rm_synth_render(&p3, 0, b, NULL);
    cr_assert(memcmp(a, b, sizeof a) != 0, "different domains gave the same image");
}

typedef struct { const rm_synth_params *p; uint64_t first, count; uint8_t *out; } job;

static void *render_job(void *arg)
{
    job *j = arg;
    size_t n = (size_t)j->p->size * j->p->size;
    for (uint64_t i = 0; i < j->count; i++) rm_synth_render(j->p, j->first + i, j->out + i * n, NULL);
    return NULL;
}

Test(synth, threads_give_the_same_bytes)
{
    enum { N = 40, S = 48 };
    rm_synth_params p = params(RM_DOMAIN_TARGET, S, 0.6, 9);
    uint8_t *serial = malloc(N * S * S), *par = malloc(N * S * S);
    job all = {&p, 0, N, serial};
    render_job(&all);
    /* interleaved halves, in reverse order of indices per thread */
    job j1 = {&p, N / 2, N / 2, par + (N / 2) * S * S}, j2 = {&p, 0, N / 2, par};
    pthread_t t1, t2;
    cr_assert(pthread_create(&t1, NULL, render_job, &j1) == 0);
    cr_assert(pthread_create(&t2, NULL, render_job, &j2) == 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    cr_assert(memcmp(serial, par, N * S * S) == 0);
    free(serial);
    free(par);
}

Test(synth, labels_balanced_over_every_prefix_of_7k)
{
    for (int d = 0; d < RM_DOMAIN_COUNT; d++)
        for (uint64_t seed = 0; seed < 3; seed++) {
            rm_synth_params p = params(d, 48, 0.6, seed);
            int count[RM_SYNTH_CLASSES] = {0};
            for (uint64_t i = 0; i < 7 * 60; i++) {
                int32_t l = rm_synth_label(&p, i);
                cr_assert(l >= 0 && l < RM_SYNTH_CLASSES, "label %d out of range", l);
                count[l]++;
                if ((i + 1) % 7 == 0)
                    for (int c = 0; c < RM_SYNTH_CLASSES; c++)
                        cr_assert_eq(count[c], (int)((i + 1) / 7), "class %d after %d images", c,
                                     (int)(i + 1));
            }
        }
}

Test(synth, labels_are_shuffled_not_cyclic)
{
    rm_synth_params p = params(RM_DOMAIN_SOURCE, 48, 0.6, 4);
    int cyclic = 1;
    for (uint64_t i = 0; i < 70; i++) cyclic &= rm_synth_label(&p, i) == (int32_t)(i % 7);
    cr_assert(!cyclic);
}

Test(synth, images_are_sane_in_every_domain_and_size)
{
    static const int sizes[] = {16, 48, 100, 256};
    for (int d = 0; d < RM_DOMAIN_COUNT; d++)
        for (int k = 0; k < 4; k++) {
            int s = sizes[k], n = s * s, count = k == 3 ? 3 : 14;
            uint8_t *img = malloc((size_t)n), *reg = malloc((size_t)n);
            rm_synth_params p = params(d, s, 0.6, 21);
            for (int i = 0; i < count; i++) {
                rm_synth_render(&p, (uint64_t)i, img, reg);
                double m = mean_of(img, n), sd = std_of(img, n);
                cr_assert(m > 20 && m < 245, "domain %d size %d image %d mean %g", d, s, i, m);
                cr_assert(sd > 8, "domain %d size %d image %d nearly constant (std %g)", d, s, i, sd);
                int on = 0;
                for (int j = 0; j < n; j++) {
                    cr_assert(reg[j] <= 1);
                    on += reg[j];
                }
                cr_assert(on > 0, "domain %d size %d image %d: empty region", d, s, i);
            }
            free(img);
            free(reg);
        }
}

Test(synth, regions_compact_for_every_class_and_domain)
{
    enum { S = 48, N = S * S };
    uint8_t img[N], reg[N];
    for (int d = 0; d < RM_DOMAIN_COUNT; d++)
        for (int c = 0; c < RM_SYNTH_CLASSES; c++)
            for (int i = 0; i < 25; i++) {
                rm_synth_params p = params(d, S, i % 2 ? 1.0 : 0.3, 33);
                rm_synth_render_with(&p, (uint64_t)i, c, img, reg);
                double f = mean_of(reg, N);
                cr_assert(f >= 0.03 && f <= 0.45, "domain %d class %s image %d covers %.3f", d,
                          rm_synth_class_names[c], i, f);
            }
}

/* Rows (top first) where a mask has pixels. */
static int top_row(const uint8_t *m, int s)
{
    for (int y = 0; y < s; y++)
        for (int x = 0; x < s; x++)
            if (m[y * s + x]) return y;
    return s;
}

static int bottom_row(const uint8_t *m, int s)
{
    for (int y = s - 1; y >= 0; y--)
        for (int x = 0; x < s; x++)
            if (m[y * s + x]) return y;
    return -1;
}

static int count_outside(const uint8_t *m, const uint8_t *ref, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) k += m[i] && !ref[i];
    return k;
}

Test(synth, regions_follow_the_action_units)
{
    enum { S = 64, N = S * S };
    uint8_t img[N], reg[RM_SYNTH_CLASSES][N];
    /* the source domain keeps faces upright enough for row comparisons */
    rm_synth_params p = params(RM_DOMAIN_SOURCE, S, 1.0, 8);
    for (uint64_t i = 0; i < 20; i++) {
        for (int c = 0; c < RM_SYNTH_CLASSES; c++) rm_synth_render_with(&p, i, c, img, reg[c]);
        /* brows: surprise, sad, fear and anger reach above the cheeks of happy */
        int happy_top = top_row(reg[HAPPY], S);
        cr_assert_lt(top_row(reg[SURPRISE], S), happy_top - 4);
        cr_assert_lt(top_row(reg[SAD], S), happy_top - 4);
        cr_assert_lt(top_row(reg[FEAR], S), happy_top - 4);
        cr_assert_lt(top_row(reg[ANGER], S), happy_top - 1);
        /* disgust (nose, upper lip, mouth) starts below the brows */
        cr_assert_gt(top_row(reg[DISGUST], S), top_row(reg[NEUTRAL], S) + 4);
        /* the mouth: happy, sad and anger reach as low as the neutral mouth;
         * jaw drop (surprise, fear) reaches lower still */
        int nb = bottom_row(reg[NEUTRAL], S);
        cr_assert_geq(bottom_row(reg[HAPPY], S), nb - 1);
        cr_assert_geq(bottom_row(reg[SAD], S), nb - 1);
        cr_assert_geq(bottom_row(reg[ANGER], S), nb - 1);
        cr_assert_gt(bottom_row(reg[SURPRISE], S), nb);
        /* cheeks (happy) and nose (disgust) lie outside neutral's brow/eye/mouth areas */
        cr_assert_gt(count_outside(reg[HAPPY], reg[NEUTRAL], N), 20);
        cr_assert_gt(count_outside(reg[DISGUST], reg[NEUTRAL], N), 20);
        /* anger (AU4, 5, 7, 23) has no nose or cheek areas */
        cr_assert_lt(count_outside(reg[ANGER], reg[NEUTRAL], N), N / 50);
    }
}

/* Share of |expressive - neutral| that falls inside the expressive mask. */
static double diff_inside(const rm_synth_params *p, uint64_t i, int c, double *mean_diff)
{
    enum { MAX = 64 * 64 };
    uint8_t a[MAX], b[MAX], reg[MAX];
    int n = p->size * p->size;
    rm_synth_render_with(p, i, c, a, reg);
    rm_synth_render_with(p, i, NEUTRAL, b, NULL);
    double in = 0, all = 0, area = 0;
    for (int k = 0; k < n; k++) {
        double d = fabs((double)a[k] - b[k]);
        all += d;
        area += reg[k];
        if (reg[k]) in += d;
    }
    if (mean_diff) *mean_diff = in / area;   /* mean change inside the region */
    return all > 0 ? in / all : 0;
}

Test(synth, expression_changes_fall_inside_the_region)
{
    for (int d = 0; d < RM_DOMAIN_COUNT; d++) {
        rm_synth_params p = params(d, 48, 1.0, 17);
        for (int c = 1; c < RM_SYNTH_CLASSES; c++) {
            double sum = 0;
            for (uint64_t i = 0; i < 15; i++) {
                double md;
                double f = diff_inside(&p, i, c, &md);
                cr_assert_gt(f, 0.8, "domain %d class %s image %d: %.3f inside", d,
                             rm_synth_class_names[c], (int)i, f);
                cr_assert_gt(md, 0.25, "domain %d class %s image %d: no change (%.3f)", d,
                             rm_synth_class_names[c], (int)i, md);
                sum += md;
            }
            /* gray levels per region pixel; the low-contrast target is the weakest */
            cr_assert_gt(sum / 15, d == RM_DOMAIN_TARGET ? 1.5 : 4, "domain %d class %s: %.3f", d,
                         rm_synth_class_names[c], sum / 15);
        }
    }
}

Test(synth, intensity_scales_the_expression)
{
    for (int c = 1; c < RM_SYNTH_CLASSES; c++) {
        double weak = 0, strong = 0;
        for (uint64_t i = 0; i < 12; i++) {
            rm_synth_params lo = params(RM_DOMAIN_SOURCE, 48, 0.2, 3);
            rm_synth_params hi = params(RM_DOMAIN_SOURCE, 48, 1.0, 3);
            double m;
            diff_inside(&lo, i, c, &m);
            weak += m;
            diff_inside(&hi, i, c, &m);
            strong += m;
        }
        cr_assert_gt(strong, 2.5 * weak, "class %s: %.3f at 1.0 vs %.3f at 0.2",
                     rm_synth_class_names[c], strong, weak);
    }
}

Test(synth, domains_differ_in_statistics)
{
    enum { S = 48, N = S * S, IMGS = 70 };
    double mean[RM_DOMAIN_COUNT] = {0}, sd[RM_DOMAIN_COUNT] = {0};
    uint8_t img[N];
    for (int d = 0; d < RM_DOMAIN_COUNT; d++) {
        rm_synth_params p = params(d, S, 0.6, 2);
        for (int i = 0; i < IMGS; i++) {
            rm_synth_render(&p, (uint64_t)i, img, NULL);
            mean[d] += mean_of(img, N) / IMGS;
            sd[d] += std_of(img, N) / IMGS;
        }
    }
    /* target: darker and lower contrast than source; sketch: light paper */
    cr_assert_gt(mean[RM_DOMAIN_SOURCE] - mean[RM_DOMAIN_TARGET], 25, "means %g %g",
                 mean[RM_DOMAIN_SOURCE], mean[RM_DOMAIN_TARGET]);
    cr_assert_gt(mean[RM_DOMAIN_SKETCH], mean[RM_DOMAIN_SOURCE] + 10, "means %g %g",
                 mean[RM_DOMAIN_SKETCH], mean[RM_DOMAIN_SOURCE]);
    cr_assert_gt(fabs(sd[RM_DOMAIN_SOURCE] - sd[RM_DOMAIN_TARGET]), 3, "stds %g %g",
                 sd[RM_DOMAIN_SOURCE], sd[RM_DOMAIN_TARGET]);
}

Test(synth, domain_names_parse)
{
    rm_synth_domain d;
    for (int k = 0; k < RM_DOMAIN_COUNT; k++) {
        cr_assert_eq(rm_synth_domain_parse(rm_synth_domain_names[k], &d), 0);
        cr_assert_eq((int)d, k);
    }
    cr_assert_str_eq(rm_synth_domain_names[RM_DOMAIN_TARGET], "target");
    cr_assert_str_eq(rm_synth_class_names[0], "neutral");
    cr_assert_str_eq(rm_synth_class_names[6], "anger");
    rm_error_clear();
    cr_assert_eq(rm_synth_domain_parse("photo", &d), -1);
    cr_assert(strstr(rm_error_message(), "photo") != NULL);
    cr_assert(strstr(rm_error_message(), "source, target, sketch") != NULL, "%s",
              rm_error_message());
}

Test(synth, params_check)
{
    rm_synth_params p = params(RM_DOMAIN_SOURCE, 48, 0.6, 1);
    cr_assert_eq(rm_synth_params_check(&p), 0);
    p.size = 8;
    cr_assert_eq(rm_synth_params_check(&p), -1);
    cr_assert(strstr(rm_error_message(), "size") != NULL);
    p.size = 48;
    p.intensity = 0;
    cr_assert_eq(rm_synth_params_check(&p), -1);
    cr_assert(strstr(rm_error_message(), "intensity") != NULL);
    p.intensity = 1;
    cr_assert_eq(rm_synth_params_check(&p), 0);
}

/* The stage (rm_synth) writes what rendering each index gives, with a
 * seeded split, and refuses a bad config before writing anything. */
Test(synth, stage_writes_the_rendered_faces)
{
    char *dir = tu_scratch_dir();
    rm_synth_config c;
    rm_synth_config_defaults(&c);
    c.out_path = tu_path(dir, "s.h5");
    c.count = 21;
    c.start = 5;
    c.params.size = 16;
    cr_assert_eq(rm_synth(&c), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, c.out_path), 0, "%s", rm_error_message());
    cr_assert_eq(ds.count, 21);
    cr_assert_eq(ds.width, 16);
    cr_assert(ds.has_regions);
    uint8_t image[16 * 16], want[16 * 16];
    for (size_t i = 0; i < ds.count; i++) {
        cr_assert_eq(rm_dataset_read_images(&ds, i, 1, image), 0);
        rm_synth_render(&c.params, c.start + i, want, NULL);
        cr_assert_eq(memcmp(image, want, sizeof image), 0, "image %zu", i);
        cr_assert_eq(ds.labels[i], rm_synth_label(&c.params, c.start + i));
    }
    rm_dataset_close(&ds);

    c.out_path = tu_path(dir, "bad.h5");
    c.count = 0;
    cr_assert_neq(rm_synth(&c), 0);
    cr_assert(strstr(rm_error_message(), "count 0"), "%s", rm_error_message());
    c.count = 7;
    c.params.intensity = 2;
    cr_assert_neq(rm_synth(&c), 0);
    cr_assert(strstr(rm_error_message(), "intensity"), "%s", rm_error_message());
    cr_assert_not(tu_file_exists(c.out_path));
    tu_rmtree(dir);
}
