/* Training loader: split selection, per-epoch order, batches, normalization,
 * augmentation, streaming mode, channel statistics and errors. The test
 * datasets hold records whose pixels encode the record index, so every
 * image in a batch can be checked against the record it claims to be. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dataset.h"
#include "core/error.h"
#include "train/loader.h"
#include "test_util.h"

#define N_REC 200
#define IH 6
#define IW 5
#define PLANE (IH * IW)

static const char *const names3[] = {"a", "b", "c"};

/* Pixel k of channel c of record i: a ramp that is linear in x and y,
 * distinct within an image and never wraps (i + k + 30c < 256 for C <= 1). */
static uint8_t pixel(int i, int c, int k) { return (uint8_t)((i + k + 30 * c + 17 * c * i) & 255); }

/* Fixed splits: i % 5 == 0 val, i % 5 == 1 test, else train (120/40/40). */
static uint8_t split_of(int i) { return i % 5 == 0 ? RM_SPLIT_VAL : i % 5 == 1 ? RM_SPLIT_TEST : RM_SPLIT_TRAIN; }

static void write_dataset(const char *path, int n, int channels, int with_test)
{
    rm_dataset_spec s = {.channels = channels, .height = IH, .width = IW, .num_classes = 3,
                         .class_names = names3, .source_format = "test", .source_path = "memory",
                         .deflate_level = 4};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, path, &s, 0), 0, "%s", rm_error_message());
    uint8_t img[RM_DATASET_MAX_CHANNELS * PLANE];
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < channels; c++)
            for (int k = 0; k < PLANE; k++) img[c * PLANE + k] = pixel(i, c, k);
        uint8_t sp = split_of(i);
        if (!with_test && sp == RM_SPLIT_TEST) sp = RM_SPLIT_TRAIN;
        cr_assert_eq(rm_dataset_writer_append(w, img, i % 3, sp, NULL), 0, "%s", rm_error_message());
    }
    rm_split_spec sp = {.val_fraction = 0, .test_fraction = 0, .seed = 1};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
}

static char *dir;
static const char *ds_path;

static void setup(void)
{
    dir = tu_scratch_dir();
    ds_path = strdup(tu_path(dir, "d.h5"));
    write_dataset(ds_path, N_REC, 1, 1);
}

static void teardown(void)
{
    free((void *)ds_path);
    tu_rmtree(dir);
}

TestSuite(loader, .init = setup, .fini = teardown);

static rm_loader_config base_config(int split, int batch)
{
    rm_loader_config c = {.path = ds_path, .split = split, .batch = batch, .seed = 42};
    return c;
}

static rm_loader *open_loader(const rm_loader_config *c)
{
    rm_loader *l;
    cr_assert_eq(rm_loader_open(&l, c), 0, "%s", rm_error_message());
    return l;
}

/* The unaugmented value x/255 of pixel k of record i (channel 0). */
static float plain(int i, int k) { return (float)((double)pixel(i, 0, k) / 255.0); }

/* Runs one epoch; writes the record indices in order to out (size n), checks
 * every row's image and label against its record; returns the count. */
static size_t run_epoch(rm_loader *l, int epoch, int64_t *out, size_t cap, int check_images)
{
    cr_assert_eq(rm_loader_start_epoch(l, epoch), 0, "%s", rm_error_message());
    const rm_batch *b;
    size_t got = 0;
    int rc;
    while ((rc = rm_loader_next(l, &b)) == 1) {
        for (int r = 0; r < b->count; r++) {
            int64_t idx = b->indices[r];
            cr_assert(idx >= 0 && idx < N_REC);
            cr_assert_eq(b->labels[r], idx % 3);
            if (check_images)
                for (int k = 0; k < PLANE; k++)
                    cr_assert_eq(b->images[(size_t)r * PLANE + k], plain((int)idx, k),
                                 "record %lld pixel %d", (long long)idx, k);
            cr_assert_lt(got, cap);
            out[got++] = idx;
        }
    }
    cr_assert_eq(rc, 0, "%s", rm_error_message());
    return got;
}

/* Every record of `split` exactly once in seq[0..n). */
static void assert_each_once(const int64_t *seq, size_t n, int split)
{
    int seen[N_REC] = {0};
    size_t expected = 0;
    for (int i = 0; i < N_REC; i++) expected += split < 0 || split_of(i) == split;
    cr_assert_eq(n, expected);
    for (size_t i = 0; i < n; i++) {
        cr_assert(split < 0 || split_of((int)seq[i]) == split, "record %lld is not in the split",
                  (long long)seq[i]);
        cr_assert_eq(seen[seq[i]]++, 0, "record %lld seen twice", (long long)seq[i]);
    }
}

Test(loader, every_record_once_per_epoch)
{
    rm_loader_config c = base_config(RM_SPLIT_TRAIN, 16);
    c.shuffle = 1;
    rm_loader *l = open_loader(&c);
    cr_assert_eq(rm_loader_size(l), 120);
    cr_assert_eq(rm_loader_batches(l), 8);
    cr_assert_eq(rm_loader_dataset(l)->count, N_REC);
    int64_t seq[N_REC];
    for (int e = 0; e < 3; e++) assert_each_once(seq, run_epoch(l, e, seq, N_REC, 1), RM_SPLIT_TRAIN);
    rm_loader_close(l);
}

Test(loader, shuffle_differs_across_epochs_and_is_reproducible)
{
    rm_loader_config c = base_config(RM_SPLIT_TRAIN, 32);
    c.shuffle = 1;
    rm_loader *a = open_loader(&c), *b = open_loader(&c);
    int64_t e0[N_REC], e1[N_REC], again[N_REC];
    size_t n0 = run_epoch(a, 0, e0, N_REC, 0), n1 = run_epoch(a, 1, e1, N_REC, 0);
    cr_assert_eq(n0, n1);
    cr_assert_neq(memcmp(e0, e1, n0 * sizeof *e0), 0, "epochs 0 and 1 have the same order");
    /* Another loader, epochs visited in another order: same order per epoch. */
    cr_assert_eq(run_epoch(b, 1, again, N_REC, 0), n1);
    cr_assert_eq(memcmp(again, e1, n1 * sizeof *e1), 0);
    cr_assert_eq(run_epoch(b, 0, again, N_REC, 0), n0);
    cr_assert_eq(memcmp(again, e0, n0 * sizeof *e0), 0);
    rm_loader_close(b);
    /* A different seed gives a different order. */
    c.seed = 43;
    b = open_loader(&c);
    run_epoch(b, 0, again, N_REC, 0);
    cr_assert_neq(memcmp(again, e0, n0 * sizeof *e0), 0);
    rm_loader_close(a);
    rm_loader_close(b);
}

Test(loader, no_shuffle_is_file_order)
{
    rm_loader_config c = base_config(-1, 64);
    rm_loader *l = open_loader(&c);
    int64_t seq[N_REC];
    cr_assert_eq(run_epoch(l, 5, seq, N_REC, 1), N_REC);
    for (int i = 0; i < N_REC; i++) cr_assert_eq(seq[i], i);
    rm_loader_close(l);
}

Test(loader, partial_last_batch_is_zero_padded)
{
    rm_loader_config c = base_config(RM_SPLIT_TRAIN, 50);
    rm_loader *l = open_loader(&c);
    cr_assert_eq(rm_loader_batches(l), 3);
    cr_assert_eq(rm_loader_start_epoch(l, 0), 0);
    const rm_batch *b;
    int counts[3];
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(rm_loader_next(l, &b), 1, "%s", rm_error_message());
        counts[k] = b->count;
    }
    cr_assert_eq(counts[0], 50);
    cr_assert_eq(counts[1], 50);
    cr_assert_eq(counts[2], 20);
    for (int r = 20; r < 50; r++) {
        cr_assert_eq(b->labels[r], 0);
        cr_assert_eq(b->indices[r], -1);
        for (int k = 0; k < PLANE; k++) cr_assert_eq(b->images[r * PLANE + k], 0.0f);
    }
    cr_assert_eq(rm_loader_next(l, &b), 0);
    cr_assert_eq(rm_loader_next(l, &b), 0, "the end of an epoch stays the end");
    rm_loader_close(l);

    c.drop_last = 1;
    l = open_loader(&c);
    cr_assert_eq(rm_loader_batches(l), 2);
    cr_assert_eq(rm_loader_start_epoch(l, 0), 0);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(rm_loader_next(l, &b), 1);
        cr_assert_eq(b->count, 50);
    }
    cr_assert_eq(rm_loader_next(l, &b), 0);
    rm_loader_close(l);

    /* Fewer records than one batch with drop_last: an empty epoch. */
    c.batch = 200;
    l = open_loader(&c);
    cr_assert_eq(rm_loader_batches(l), 0);
    cr_assert_eq(rm_loader_start_epoch(l, 0), 0);
    cr_assert_eq(rm_loader_next(l, &b), 0);
    rm_loader_close(l);
}

Test(loader, normalization_exact)
{
    rm_loader_config c = base_config(RM_SPLIT_VAL, 40);
    float mean[1] = {0.25f}, std[1] = {0.3f};
    c.mean = mean;
    c.std = std;
    rm_loader *l = open_loader(&c);
    cr_assert_eq(rm_loader_start_epoch(l, 0), 0);
    const rm_batch *b;
    cr_assert_eq(rm_loader_next(l, &b), 1);
    cr_assert_eq(b->count, 40);
    for (int r = 0; r < 40; r++) {
        int idx = (int)b->indices[r];
        cr_assert_eq(idx, 5 * r);
        for (int k = 0; k < PLANE; k++) {
            float want = (float)(((double)pixel(idx, 0, k) / 255.0 - (double)mean[0]) / (double)std[0]);
            cr_assert_eq(b->images[r * PLANE + k], want, "record %d pixel %d: %.9g vs %.9g", idx, k,
                         b->images[r * PLANE + k], want);
        }
    }
    rm_loader_close(l);
}

/* Gray + relevance and RGB + relevance datasets (relmask encode --mode
 * channel): every channel is normalized with its own statistics, and a
 * horizontal flip moves all channels together. */
Test(loader, two_and_four_channels_normalized_per_channel)
{
    for (int channels = 2; channels <= 4; channels += 2) {
        const char *path = tu_path(dir, channels == 2 ? "c2.h5" : "c4.h5");
        write_dataset(path, 20, channels, 1);
        float mean[4] = {0.1f, 0.2f, 0.3f, 0.4f}, std[4] = {0.5f, 0.25f, 0.75f, 1.5f};
        rm_loader_config c = {.path = path, .split = RM_SPLIT_VAL, .batch = 4, .seed = 3, .mean = mean,
                              .std = std, .augment = {.hflip = 1}};
        rm_loader *l = open_loader(&c);
        cr_assert_eq(rm_loader_dataset(l)->channels, channels);
        cr_assert_eq(rm_loader_start_epoch(l, 0), 0);
        const rm_batch *b;
        cr_assert_eq(rm_loader_next(l, &b), 1);
        cr_assert_eq(b->count, 4);
        for (int r = 0; r < b->count; r++) {
            int idx = (int)b->indices[r];
            const float *img = b->images + (size_t)r * channels * PLANE;
            /* Flipped or not: decided once per image, from channel 0. */
            int flipped = img[1] != (float)(((double)pixel(idx, 0, 1) / 255.0 - mean[0]) / std[0]);
            for (int ch = 0; ch < channels; ch++)
                for (int y = 0; y < IH; y++)
                    for (int x = 0; x < IW; x++) {
                        int sx = flipped ? IW - 1 - x : x;
                        float want = (float)(((double)pixel(idx, ch, y * IW + sx) / 255.0 - mean[ch]) / std[ch]);
                        float got = img[ch * PLANE + y * IW + x];
                        cr_assert(fabsf(got - want) <= 1e-6f * (1 + fabsf(want)),
                                  "C=%d record %d channel %d (%d,%d): %.9g vs %.9g", channels, idx, ch, x, y,
                                  got, want);
                    }
        }
        rm_loader_close(l);
    }
}

Test(loader, split_selection)
{
    int64_t seq[N_REC];
    int splits[] = {RM_SPLIT_TRAIN, RM_SPLIT_VAL, RM_SPLIT_TEST, -1};
    size_t sizes[] = {120, 40, 40, 200};
    for (int s = 0; s < 4; s++) {
        rm_loader_config c = base_config(splits[s], 7);
        c.shuffle = s % 2;
        rm_loader *l = open_loader(&c);
        cr_assert_eq(rm_loader_size(l), sizes[s]);
        assert_each_once(seq, run_epoch(l, 0, seq, N_REC, 1), splits[s]);
        rm_loader_close(l);
    }
}

/* Source pixel of an image shifted by (dx, dy) with edge replication and
 * then flipped horizontally when `flip`. */
static float transformed(int idx, int x, int y, int flip, int dx, int dy)
{
    int xs = (flip ? IW - 1 - x : x) - dx, ys = y - dy;
    xs = xs < 0 ? 0 : xs > IW - 1 ? IW - 1 : xs;
    ys = ys < 0 ? 0 : ys > IH - 1 ? IH - 1 : ys;
    return plain(idx, ys * IW + xs);
}

static int image_matches(const float *img, int idx, int flip, int dx, int dy)
{
    for (int y = 0; y < IH; y++)
        for (int x = 0; x < IW; x++)
            if (img[y * IW + x] != transformed(idx, x, y, flip, dx, dy)) return 0;
    return 1;
}

Test(loader, hflip_is_identity_or_exact_mirror)
{
    rm_loader_config c = base_config(-1, 64);
    c.augment.hflip = 1;
    rm_loader *l = open_loader(&c);
    int flipped = 0, kept = 0;
    for (int e = 0; e < 2; e++) {
        cr_assert_eq(rm_loader_start_epoch(l, e), 0);
        const rm_batch *b;
        while (rm_loader_next(l, &b) == 1)
            for (int r = 0; r < b->count; r++) {
                const float *img = b->images + r * PLANE;
                int idx = (int)b->indices[r];
                if (image_matches(img, idx, 0, 0, 0)) kept++;
                else if (image_matches(img, idx, 1, 0, 0)) flipped++;
                else cr_assert_fail("record %d is neither the image nor its mirror", idx);
            }
    }
    cr_assert_eq(kept + flipped, 2 * N_REC);
    cr_assert(kept > 150 && flipped > 150, "kept %d flipped %d", kept, flipped);
    rm_loader_close(l);
}

Test(loader, shift_is_exact_with_edge_padding)
{
    rm_loader_config c = base_config(-1, 64);
    c.augment.shift = 2;
    rm_loader *l = open_loader(&c);
    int seen[5][5] = {{0}};
    cr_assert_eq(rm_loader_start_epoch(l, 0), 0);
    const rm_batch *b;
    while (rm_loader_next(l, &b) == 1)
        for (int r = 0; r < b->count; r++) {
            int idx = (int)b->indices[r], found = 0;
            for (int dy = -2; dy <= 2 && !found; dy++)
                for (int dx = -2; dx <= 2 && !found; dx++)
                    if (image_matches(b->images + r * PLANE, idx, 0, dx, dy)) {
                        seen[dy + 2][dx + 2]++;
                        found = 1;
                    }
            cr_assert(found, "record %d is not a shifted copy", idx);
        }
    for (int dy = 0; dy < 5; dy++)
        for (int dx = 0; dx < 5; dx++) cr_assert_gt(seen[dy][dx], 0, "shift (%d, %d) never drawn", dx - 2, dy - 2);
    rm_loader_close(l);
}

Test(loader, rotation_keeps_mean_and_is_deterministic)
{
    rm_loader_config c = base_config(RM_SPLIT_TRAIN, 32);
    c.augment.rotate_deg = 15;
    rm_loader *a = open_loader(&c), *b = open_loader(&c);
    cr_assert_eq(rm_loader_start_epoch(a, 2), 0);
    cr_assert_eq(rm_loader_start_epoch(b, 2), 0);
    const rm_batch *ba, *bb;
    int changed = 0;
    while (rm_loader_next(a, &ba) == 1) {
        cr_assert_eq(rm_loader_next(b, &bb), 1);
        cr_assert_eq(ba->count, bb->count);
        cr_assert_eq(memcmp(ba->images, bb->images, (size_t)ba->count * PLANE * sizeof(float)), 0);
        for (int r = 0; r < ba->count; r++) {
            int idx = (int)ba->indices[r];
            double m = 0, m0 = 0;
            for (int k = 0; k < PLANE; k++) {
                m += ba->images[r * PLANE + k];
                m0 += plain(idx, k);
            }
            /* A linear ramp rotated about its centre keeps its mean except
             * where edge replication clips the corners. */
            cr_assert(fabs(m - m0) / PLANE < 1.0 / 255, "record %d: mean %g vs %g", idx, m / PLANE,
                      m0 / PLANE);
            changed += !image_matches(ba->images + r * PLANE, idx, 0, 0, 0);
        }
    }
    cr_assert_gt(changed, 100);
    rm_loader_close(a);
    rm_loader_close(b);
}

Test(loader, augmentation_does_not_depend_on_batch_size)
{
    float out7[N_REC][PLANE], out32[N_REC][PLANE];
    int batches[2] = {7, 32};
    for (int t = 0; t < 2; t++) {
        rm_loader_config c = base_config(-1, batches[t]);
        c.shuffle = 1;
        c.augment = (rm_augment){.hflip = 1, .shift = 2, .rotate_deg = 10};
        rm_loader *l = open_loader(&c);
        cr_assert_eq(rm_loader_start_epoch(l, 3), 0);
        const rm_batch *b;
        while (rm_loader_next(l, &b) == 1)
            for (int r = 0; r < b->count; r++)
                memcpy(t ? out32[b->indices[r]] : out7[b->indices[r]], b->images + r * PLANE,
                       sizeof out7[0]);
        rm_loader_close(l);
    }
    cr_assert_eq(memcmp(out7, out32, sizeof out7), 0);
}

Test(loader, restart_and_close_mid_epoch)
{
    rm_loader_config c = base_config(RM_SPLIT_TRAIN, 8);
    c.shuffle = 1;
    rm_loader *l = open_loader(&c);
    const rm_batch *b;
    cr_assert_eq(rm_loader_next(l, &b), -1, "next before start_epoch must fail");
    cr_assert(strstr(rm_error_message(), ds_path));
    cr_assert_eq(rm_loader_start_epoch(l, 0), 0);
    cr_assert_eq(rm_loader_next(l, &b), 1);
    /* Abandon epoch 0 after one batch; epoch 1 is complete and correct. */
    int64_t seq[N_REC];
    assert_each_once(seq, run_epoch(l, 1, seq, N_REC, 1), RM_SPLIT_TRAIN);
    cr_assert_eq(rm_loader_start_epoch(l, 2), 0);   /* started, never consumed */
    cr_assert_eq(rm_loader_start_epoch(l, 3), 0);
    cr_assert_eq(rm_loader_next(l, &b), 1);
    rm_loader_close(l);   /* mid-epoch: joins the thread */
}

Test(loader, streaming_every_record_once)
{
    rm_loader_config c = base_config(RM_SPLIT_TRAIN, 16);
    c.shuffle = 1;
    c.cache_bytes = 64 * PLANE;   /* one 64-record chunk: streaming, window of 1 chunk */
    rm_loader *l = open_loader(&c);
    cr_assert_eq(rm_loader_size(l), 120);
    int64_t seq[N_REC], first[N_REC];
    size_t n0 = run_epoch(l, 0, first, N_REC, 1);
    assert_each_once(first, n0, RM_SPLIT_TRAIN);
    assert_each_once(seq, run_epoch(l, 1, seq, N_REC, 1), RM_SPLIT_TRAIN);
    cr_assert_neq(memcmp(seq, first, n0 * sizeof *seq), 0);
    /* Window of 1 chunk: consecutive runs come from one 64-record chunk. */
    int changes = 0;
    for (size_t i = 1; i < n0; i++) changes += first[i] / 64 != first[i - 1] / 64;
    cr_assert_eq(changes, 3, "4 chunks must be visited one after another");
    /* ... in shuffled order within each chunk (each run has >= 6 records). */
    for (size_t i = 0; i < n0;) {
        size_t j = i + 1;
        int ascending = 1;
        for (; j < n0 && first[j] / 64 == first[i] / 64; j++) ascending &= first[j] > first[j - 1];
        cr_assert(!ascending, "records of chunk %lld are not shuffled", (long long)(first[i] / 64));
        i = j;
    }
    /* Reproducible across loaders. */
    rm_loader *l2 = open_loader(&c);
    cr_assert_eq(run_epoch(l2, 0, seq, N_REC, 0), n0);
    cr_assert_eq(memcmp(seq, first, n0 * sizeof *seq), 0);
    rm_loader_close(l2);
    rm_loader_close(l);

    /* A window of 2 chunks, a sparse split, and file order without shuffle. */
    c.cache_bytes = 2 * 64 * PLANE + 5;
    c.split = RM_SPLIT_VAL;
    l = open_loader(&c);
    assert_each_once(seq, run_epoch(l, 4, seq, N_REC, 1), RM_SPLIT_VAL);
    rm_loader_close(l);
    c.shuffle = 0;
    c.split = -1;
    c.cache_bytes = 1;
    l = open_loader(&c);
    cr_assert_eq(run_epoch(l, 0, seq, N_REC, 1), N_REC);
    for (int i = 0; i < N_REC; i++) cr_assert_eq(seq[i], i);
    rm_loader_close(l);
}

Test(loader, streaming_augmentation_matches_cached)
{
    float cached[N_REC][PLANE], streamed[N_REC][PLANE];
    for (int t = 0; t < 2; t++) {
        rm_loader_config c = base_config(-1, 10);
        c.shuffle = 1;
        c.augment = (rm_augment){.hflip = 1, .shift = 1, .rotate_deg = 20};
        c.cache_bytes = t ? 64 * PLANE : 0;
        rm_loader *l = open_loader(&c);
        cr_assert_eq(rm_loader_start_epoch(l, 1), 0);
        const rm_batch *b;
        while (rm_loader_next(l, &b) == 1)
            for (int r = 0; r < b->count; r++)
                memcpy(t ? streamed[b->indices[r]] : cached[b->indices[r]], b->images + r * PLANE,
                       sizeof cached[0]);
        rm_loader_close(l);
    }
    cr_assert_eq(memcmp(cached, streamed, sizeof cached), 0);
}

Test(loader, channel_stats_match_direct_computation)
{
    const char *path = tu_path(dir, "rgb.h5");
    write_dataset(path, 150, 3, 1);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, path), 0, "%s", rm_error_message());
    int splits[] = {RM_SPLIT_TRAIN, RM_SPLIT_TEST, -1};
    for (int s = 0; s < 3; s++) {
        float mean[3], std[3];
        cr_assert_eq(rm_dataset_channel_stats(&ds, splits[s], mean, std), 0, "%s", rm_error_message());
        for (int c = 0; c < 3; c++) {
            double sum = 0, sq = 0, n = 0;
            for (int i = 0; i < 150; i++) {
                if (splits[s] >= 0 && split_of(i) != splits[s]) continue;
                for (int k = 0; k < PLANE; k++) {
                    double x = pixel(i, c, k) / 255.0;
                    sum += x;
                    sq += x * x;
                    n++;
                }
            }
            double m = sum / n, sd = sqrt(sq / n - m * m);
            cr_assert(fabs(mean[c] - m) < 1e-6, "split %d channel %d mean %g vs %g", splits[s], c, mean[c], m);
            cr_assert(fabs(std[c] - sd) < 1e-6, "split %d channel %d std %g vs %g", splits[s], c, std[c], sd);
        }
    }
    rm_dataset_close(&ds);
}

Test(loader, errors_name_the_file)
{
    const char *path = tu_path(dir, "notest.h5");
    char *copy = strdup(path);
    write_dataset(copy, 30, 1, 0);
    rm_loader_config c = base_config(RM_SPLIT_TEST, 4);
    c.path = copy;
    rm_loader *l = (rm_loader *)1;
    cr_assert_eq(rm_loader_open(&l, &c), -1);
    cr_assert_null(l);
    cr_assert(strstr(rm_error_message(), copy), "%s", rm_error_message());
    cr_assert(strstr(rm_error_message(), "the test split is empty"), "%s", rm_error_message());

    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, copy), 0);
    float m[1], s[1];
    cr_assert_eq(rm_dataset_channel_stats(&ds, RM_SPLIT_TEST, m, s), -1);
    cr_assert(strstr(rm_error_message(), "the test split is empty"), "%s", rm_error_message());
    rm_dataset_close(&ds);

    const char *missing = tu_path(dir, "missing.h5");
    c.path = missing;
    cr_assert_eq(rm_loader_open(&l, &c), -1);
    cr_assert(strstr(rm_error_message(), missing), "%s", rm_error_message());

    c.path = ds_path;
    c.batch = 0;
    cr_assert_eq(rm_loader_open(&l, &c), -1);
    c.batch = 4;
    c.split = 7;
    cr_assert_eq(rm_loader_open(&l, &c), -1);
    free(copy);
}

Test(loader, read_failure_is_reported_by_next)
{
    /* Streaming from a file that is truncated after open: the prefetch
     * thread's read fails and the next call reports it, naming the file. */
    rm_loader_config c = base_config(-1, 16);
    c.cache_bytes = 1;
    rm_loader *l = open_loader(&c);
    cr_assert_eq(truncate(ds_path, 2048), 0);
    cr_assert_eq(rm_loader_start_epoch(l, 0), 0);
    const rm_batch *b;
    int rc;
    while ((rc = rm_loader_next(l, &b)) == 1) {}
    cr_assert_eq(rc, -1, "a read from a truncated file must fail");
    cr_assert(strstr(rm_error_message(), ds_path), "%s", rm_error_message());
    cr_assert_eq(rm_loader_next(l, &b), -1, "the failure sticks until the next epoch");
    rm_loader_close(l);
}

/* Data-parallel parts (docs/scale.md): part p of P delivers rows
 * [p B/P, (p+1) B/P) of every batch one loader delivers, with the same
 * images, augmentation, labels and indices, cached and streamed. A part
 * that does not divide the batch is refused. */
Test(loader, parts_deliver_their_rows_of_every_batch)
{
    enum { B = 12 };
    for (int streamed = 0; streamed <= 1; streamed++) {
        rm_loader_config c = base_config(RM_SPLIT_TRAIN, B);
        c.shuffle = c.drop_last = 1;
        c.augment = (rm_augment){.hflip = 1, .shift = 2, .rotate_deg = 10};
        if (streamed) c.cache_bytes = 64 * PLANE;
        rm_loader *whole = open_loader(&c);
        size_t batches = rm_loader_batches(whole);
        float *img = malloc(sizeof *img * batches * B * PLANE);
        int32_t lab[N_REC];
        int64_t idx[N_REC];
        cr_assert_eq(rm_loader_start_epoch(whole, 2), 0);
        const rm_batch *b;
        for (size_t k = 0; rm_loader_next(whole, &b) == 1; k++) {
            cr_assert_eq(b->count, B);
            memcpy(img + k * B * PLANE, b->images, sizeof *img * B * PLANE);
            memcpy(lab + k * B, b->labels, sizeof *lab * B);
            memcpy(idx + k * B, b->indices, sizeof *idx * B);
        }
        rm_loader_close(whole);
        for (int parts = 2; parts <= 4; parts++) {
            const int rows = B / parts;
            for (int p = 0; p < parts; p++) {
                c.part = p;
                c.parts = parts;
                rm_loader *l = open_loader(&c);
                cr_assert_eq(rm_loader_batches(l), batches);
                cr_assert_eq(rm_loader_start_epoch(l, 2), 0);
                size_t k = 0;
                for (; rm_loader_next(l, &b) == 1; k++) {
                    size_t at = k * B + (size_t)(p * rows);
                    cr_assert_eq(b->count, rows);
                    cr_assert_eq(memcmp(b->indices, idx + at, sizeof *idx * (size_t)rows), 0,
                                 "part %d of %d, batch %zu: other records", p, parts, k);
                    cr_assert_eq(memcmp(b->labels, lab + at, sizeof *lab * (size_t)rows), 0);
                    cr_assert_eq(memcmp(b->images, img + at * PLANE, sizeof *img * (size_t)rows * PLANE), 0,
                                 "part %d of %d, batch %zu: other images (streamed %d)", p, parts, k, streamed);
                }
                cr_assert_eq(k, batches);
                rm_loader_close(l);
            }
        }
        free(img);
    }
    rm_loader_config c = base_config(RM_SPLIT_TRAIN, 10);
    c.parts = 3;
    rm_loader *l;
    cr_assert_eq(rm_loader_open(&l, &c), -1);
    cr_assert(strstr(rm_error_message(), "part 0 of 3 of a batch of 10"), "%s", rm_error_message());
}
