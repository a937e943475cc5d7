/* Relevance files: round trip, resume of a partial file, refusal of other
 * settings, non-finite values, incomplete files, dataset checks, palette. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/relevance_file.h"
#include "test_util.h"

enum { N = 150, H = 6, W = 5, C = 2 };
static const char *const classes[3] = {"a", "b", "c"};

static rm_relevance_spec make_spec(const char *params)
{
    rm_relevance_spec s = {.count = N, .channels = C, .height = H, .width = W, .num_classes = 3,
                           .class_names = classes, .store_channels = 1, .deflate_level = 4,
                           .method = "lrp", .score_kind = "logit", .parameters = params};
    return s;
}

/* Records [start, start+n) with values that encode the record number. */
typedef struct {
    int64_t index[N];
    int32_t label[N], explained[N], predicted[N];
    float score[N], heat[N * H * W], chan[N * C * H * W];
} records;

static void fill(records *r)
{
    for (int i = 0; i < N; i++) {
        r->index[i] = 2 * i + 1;
        r->label[i] = i % 3;
        r->explained[i] = (i + 1) % 3;
        r->predicted[i] = (i + 2) % 3;
        r->score[i] = 0.5f * (float)i;
        for (int k = 0; k < H * W; k++) r->heat[i * H * W + k] = (float)(k - 7) * 0.01f * (float)(i + 1);
        for (int k = 0; k < C * H * W; k++) r->chan[i * C * H * W + k] = (float)k + (float)i;
    }
}

static int write_range(rm_relevance_writer *w, const records *r, int start, int n)
{
    rm_relevance_block b = {.n = n, .index = r->index + start, .label = r->label + start,
                            .explained = r->explained + start, .predicted = r->predicted + start,
                            .score = r->score + start, .heatmap = r->heat + start * H * W,
                            .channels = r->chan + start * C * H * W};
    return rm_relevance_writer_write(w, &b);
}

static void check_contents(const char *path, const records *r)
{
    rm_relevance rel;
    cr_assert_eq(rm_relevance_open(&rel, path), 0, "%s", rm_error_message());
    cr_assert_eq(rel.count, N);
    cr_assert_eq(rel.height, H);
    cr_assert_eq(rel.width, W);
    cr_assert_eq(rel.channels, C);
    cr_assert(rel.has_channels);
    cr_assert_eq(rel.num_classes, 3);
    cr_assert_str_eq(rel.method, "lrp");
    cr_assert_str_eq(rel.score_kind, "logit");
    float *heat = malloc(sizeof(float) * N * H * W), *chan = malloc(sizeof(float) * N * C * H * W);
    cr_assert_eq(rm_relevance_read_heatmaps(&rel, 0, N, heat), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_read_channels(&rel, 0, N, chan), 0, "%s", rm_error_message());
    cr_assert_eq(memcmp(heat, r->heat, sizeof(float) * N * H * W), 0);
    cr_assert_eq(memcmp(chan, r->chan, sizeof(float) * N * C * H * W), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(rel.index[i], r->index[i]);
        cr_assert_eq(rel.label[i], r->label[i]);
        cr_assert_eq(rel.explained[i], r->explained[i]);
        cr_assert_eq(rel.predicted[i], r->predicted[i]);
        cr_assert_eq(rel.score[i], r->score[i]);
        double sum = 0;
        for (int k = 0; k < H * W; k++) sum += r->heat[i * H * W + k];
        cr_assert(fabs(rel.sum[i] - sum) <= 1e-5 * (1 + fabs(sum)), "sum %d: %g vs %g", i, rel.sum[i], sum);
    }
    free(heat);
    free(chan);
    rm_relevance_close(&rel);
}

Test(relevance_file, round_trip_in_blocks)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "r.h5");
    static records r;
    fill(&r);
    rm_relevance_spec spec = make_spec("composite=epsilon\n");
    rm_relevance_writer *w;
    int64_t done = -1;
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 0, 0, &done), 0, "%s", rm_error_message());
    cr_assert_eq(done, 0);
    for (int at = 0; at < N; at += 64) cr_assert_eq(write_range(w, &r, at, at + 64 <= N ? 64 : N - at), 0);
    cr_assert_eq(rm_relevance_writer_set_attr(w, "model_path", "m.h5"), 0);
    cr_assert_eq(rm_relevance_writer_finish(w), 0, "%s", rm_error_message());
    check_contents(path, &r);
    cr_assert_eq(tu_dir_entries(dir), 1, "the partial file is gone after finish");
    /* Existing output without force: refused before anything is written. */
    cr_assert_neq(rm_relevance_writer_open(&w, path, &spec, 0, 0, &done), 0);
    cr_assert(strstr(rm_error_message(), "--force"), "%s", rm_error_message());
    tu_rmtree(dir);
}

Test(relevance_file, resume_continues_a_partial_file)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "r.h5");
    static records r;
    fill(&r);
    rm_relevance_spec spec = make_spec("composite=epsilon\neps=1e-06\n");
    rm_relevance_writer *w;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 0, 0, &done), 0, "%s", rm_error_message());
    cr_assert_eq(write_range(w, &r, 0, 64), 0);
    cr_assert_eq(write_range(w, &r, 64, 10), 0);
    rm_relevance_writer_close_partial(w);
    cr_assert(!tu_file_exists(path));
    /* A partial file is not a relevance file yet. */
    rm_relevance rel;
    cr_assert_neq(rm_relevance_open(&rel, tu_path(dir, ".r.h5.partial")), 0);
    cr_assert(strstr(rm_error_message(), "incomplete: 74 of 150"), "%s", rm_error_message());
    /* Other settings: refused, the partial file kept. */
    rm_relevance_spec other = make_spec("composite=epsilon\neps=0.1\n");
    cr_assert_neq(rm_relevance_writer_open(&w, path, &other, 0, 1, &done), 0);
    cr_assert(strstr(rm_error_message(), "other settings"), "%s", rm_error_message());
    cr_assert(tu_file_exists(tu_path(dir, ".r.h5.partial")));
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 0, 1, &done), 0, "%s", rm_error_message());
    cr_assert_eq(done, 74);
    cr_assert_eq(write_range(w, &r, 74, N - 74), 0);
    cr_assert_eq(rm_relevance_writer_finish(w), 0, "%s", rm_error_message());
    check_contents(path, &r);
    tu_rmtree(dir);
}

/* Without --resume a partial file holding records is refused (naming both
 * choices) and kept; with --force it is started afresh. */
Test(relevance_file, without_resume_a_partial_file_is_refused_and_force_restarts_it)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "r.h5");
    static records r;
    fill(&r);
    rm_relevance_spec spec = make_spec("x=1\n");
    rm_relevance_writer *w;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 0, 0, &done), 0);
    cr_assert_eq(write_range(w, &r, 0, 30), 0);
    rm_relevance_writer_close_partial(w);
    cr_assert_neq(rm_relevance_writer_open(&w, path, &spec, 0, 0, &done), 0);
    cr_assert(strstr(rm_error_message(), "an interrupted run left 30 of 150 records in"), "%s", rm_error_message());
    cr_assert(strstr(rm_error_message(), "continue it with --resume, or start afresh with --force"), "%s",
              rm_error_message());
    cr_assert(tu_file_exists(tu_path(dir, ".r.h5.partial")), "the refusal keeps the partial file");
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 1, 0, &done), 0, "%s", rm_error_message());
    cr_assert_eq(done, 0);
    /* Finishing early is refused and keeps the partial file. */
    cr_assert_eq(write_range(w, &r, 0, 30), 0);
    cr_assert_neq(rm_relevance_writer_finish(w), 0);
    cr_assert(strstr(rm_error_message(), "only 30 of 150"), "%s", rm_error_message());
    cr_assert(tu_file_exists(tu_path(dir, ".r.h5.partial")));
    cr_assert(!tu_file_exists(path));
    /* A damaged partial file is started afresh. */
    tu_write_text(tu_path(dir, ".r.h5.partial"), "garbage");
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 0, 1, &done), 0, "%s", rm_error_message());
    cr_assert_eq(done, 0);
    rm_relevance_writer_abort(w);
    cr_assert_eq(tu_dir_entries(dir), 0);
    tu_rmtree(dir);
}

Test(relevance_file, refuses_non_finite_values_and_overflow)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "r.h5");
    static records r;
    fill(&r);
    r.heat[3 * H * W + 2 * W + 4] = NAN;
    rm_relevance_spec spec = make_spec("");
    rm_relevance_writer *w;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 0, 0, &done), 0);
    cr_assert_neq(write_range(w, &r, 0, 10), 0);
    cr_assert(strstr(rm_error_message(), "record 3 (dataset index 7)") && strstr(rm_error_message(), "(4,2)"),
              "%s", rm_error_message());
    r.heat[3 * H * W + 2 * W + 4] = 0;
    cr_assert_eq(write_range(w, &r, 0, 100), 0);
    cr_assert_neq(write_range(w, &r, 100, 51 > N - 100 ? N - 100 + 1 : 51), 0);
    rm_relevance_writer_abort(w);
    cr_assert_eq(tu_dir_entries(dir), 0);
    tu_rmtree(dir);
}

Test(relevance_file, dataset_checks_and_index_map)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "r.h5");
    static records r;
    fill(&r);
    rm_relevance_spec spec = make_spec("");
    spec.store_channels = 0;
    rm_relevance_writer *w;
    int64_t done;
    cr_assert_eq(rm_relevance_writer_open(&w, path, &spec, 0, 0, &done), 0);
    cr_assert_eq(write_range(w, &r, 0, N), 0);
    cr_assert_eq(rm_relevance_writer_finish(w), 0, "%s", rm_error_message());
    rm_relevance rel;
    cr_assert_eq(rm_relevance_open(&rel, path), 0, "%s", rm_error_message());
    cr_assert(!rel.has_channels);
    float dummy[1];
    cr_assert_neq(rm_relevance_read_channels(&rel, 0, 1, dummy), 0);
    static int32_t labels[2 * N + 1];
    for (int i = 0; i < N; i++) labels[2 * i + 1] = r.label[i];
    cr_assert_eq(rm_relevance_check_dataset(&rel, "d.h5", 2 * N + 1, H, W, labels), 0, "%s", rm_error_message());
    cr_assert_neq(rm_relevance_check_dataset(&rel, "d.h5", 2 * N + 1, H + 1, W, labels), 0);
    cr_assert(strstr(rm_error_message(), "d.h5"), "%s", rm_error_message());
    cr_assert_neq(rm_relevance_check_dataset(&rel, "d.h5", 2 * N - 1, H, W, labels), 0);
    cr_assert(strstr(rm_error_message(), "entry 149 explains record 299"), "%s", rm_error_message());
    labels[5] = (labels[5] + 1) % 3;
    cr_assert_neq(rm_relevance_check_dataset(&rel, "d.h5", 2 * N + 1, H, W, labels), 0);
    cr_assert(strstr(rm_error_message(), "entry 2 has label"), "%s", rm_error_message());
    static int64_t map[2 * N + 1];
    cr_assert_eq(rm_relevance_index_map(&rel, 2 * N + 1, map), 0);
    cr_assert_eq(map[0], -1);
    cr_assert_eq(map[7], 3);
    rm_relevance_close(&rel);
    tu_rmtree(dir);
}

Test(relevance_file, palette_and_index_image)
{
    uint8_t pal[256 * 3];
    rm_relevance_palette(pal);
    cr_assert(pal[128 * 3] == 255 && pal[128 * 3 + 1] == 255 && pal[128 * 3 + 2] == 255, "zero is white");
    cr_assert(pal[255 * 3] == 255 && pal[255 * 3 + 1] == 0 && pal[255 * 3 + 2] == 0, "max is red");
    cr_assert(pal[1 * 3] == 0 && pal[1 * 3 + 1] == 0 && pal[1 * 3 + 2] == 255, "min is blue");
    float heat[4] = {-2, 0, 1, 2};
    uint8_t img[4];
    rm_relevance_to_index_image(heat, 4, img);
    cr_assert(img[0] == 1 && img[1] == 128 && img[2] == 192 && img[3] == 255, "%d %d %d %d", img[0], img[1],
              img[2], img[3]);
    float zero[2] = {0, 0};
    rm_relevance_to_index_image(zero, 2, img);
    cr_assert(img[0] == 128 && img[1] == 128);
}
