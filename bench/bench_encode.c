/* relmask encode throughput on 48x48 gray images, mode mean with the
 * default post-processing (positive part, Gaussian smoothing sigma 1, max
 * normalization, keep 0.3): the per-image kernel alone (1 thread and all
 * OMP threads) and the whole file pass (read, encode, compress, write;
 * all threads). Images are synthetic target-domain faces; relevance maps
 * are N(0,1) noise, like LRP's pixel-level speckle and the worst case for
 * the selection (about half the pixels are candidates). One JSON line per
 * figure; best of 3. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/dataset.h"
#include "encode/encode.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/relevance_file.h"
#include "core/rng.h"
#include "ingest/synth_faces.h"

enum { N = 10000, S = 48, HW = S * S, REPEATS = 3, KERNEL_IMAGES = 4000 };

static int fail(void)
{
    fprintf(stderr, "bench_encode: %s\n", rm_error_message());
    return 1;
}

static int make_inputs(const char *data, const char *rel, uint8_t *images, float *heat, int32_t *labels,
                       int64_t *index)
{
    rm_rng rng;
    rm_rng_seed(&rng, 5, 0, 0);
    rm_synth_params sp = {.size = S, .domain = RM_DOMAIN_TARGET, .intensity = 0.6, .seed = 1};
    uint8_t *region = malloc(HW);
    if (!region) return rm_error("out of memory");
    for (int i = 0; i < N; i++) {
        rm_synth_render(&sp, (uint64_t)i, images + (size_t)i * HW, region);
        labels[i] = rm_synth_label(&sp, (uint64_t)i);
        index[i] = i;
    }
    free(region);
    for (size_t i = 0; i < (size_t)N * HW; i++) heat[i] = (float)rm_rng_normal(&rng);
    rm_dataset_spec spec = {.channels = 1, .height = S, .width = S, .num_classes = RM_SYNTH_CLASSES,
                            .class_names = rm_synth_class_names, .source_format = "bench", .source_path = "", .deflate_level = 4};
    rm_dataset_writer *w;
    RM_TRY(rm_dataset_writer_open(&w, data, &spec, 1));
    for (int i = 0; i < N; i++)
        if (rm_dataset_writer_append(w, images + (size_t)i * HW, labels[i], RM_SPLIT_UNASSIGNED, NULL) != 0) {
            rm_dataset_writer_abort(w);
            return -1;
        }
    rm_split_spec split = {.val_fraction = 0.1, .test_fraction = 0.1, .seed = 1};
    RM_TRY(rm_dataset_writer_finish(w, &split));
    rm_relevance_spec rs = {.count = N, .channels = 1, .height = S, .width = S, .num_classes = RM_SYNTH_CLASSES,
                            .class_names = rm_synth_class_names, .deflate_level = 4, .method = "bench",
                            .score_kind = "none"};
    rm_relevance_writer *rw;
    int64_t done;
    RM_TRY(rm_relevance_writer_open(&rw, rel, &rs, 1, 0, &done));
    float *score = calloc(N, sizeof *score);
    rm_relevance_block b = {.n = N, .index = index, .label = labels, .explained = labels, .predicted = labels,
                            .score = score, .heatmap = heat};
    int rc = score ? rm_relevance_writer_write(rw, &b) : rm_error("out of memory");
    free(score);
    if (rc != 0) {
        rm_relevance_writer_abort(rw);
        return -1;
    }
    return rm_relevance_writer_finish(rw);
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Images per second of rm_encoder_apply over in-memory inputs; *cpu_us:
 * CPU microseconds per image (all threads), which other load on the
 * machine disturbs less than the wall time. */
static double kernel_rate(const rm_encoder *e, const uint8_t *images, const float *heat, int threads, double *cpu_us)
{
    uint8_t *out = malloc((size_t)KERNEL_IMAGES * HW);
    unsigned char *scratch = malloc((size_t)threads * e->scratch_bytes);
    if (!out || !scratch) {
        free(out);
        free(scratch);
        return 0;
    }
    double best = 1e30;
    *cpu_us = 1e30;
    for (int rep = 0; rep < REPEATS; rep++) {
        double t0 = rm_now(), c0 = cpu_seconds();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
        for (int i = 0; i < KERNEL_IMAGES; i++) {
            rm_encode_info info;
            rm_encoder_apply(e, images + (size_t)i * HW, heat + (size_t)i * HW, out + (size_t)i * HW,
                             scratch + (size_t)omp_get_thread_num() * e->scratch_bytes, &info);
        }
        double t = rm_now() - t0, c = (cpu_seconds() - c0) * 1e6 / KERNEL_IMAGES;
        if (t < best) best = t;
        if (c < *cpu_us) *cpu_us = c;
    }
    free(out);
    free(scratch);
    return KERNEL_IMAGES / best;
}

int main(void)
{
    char dir[] = "/tmp/relmask-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char data[256], rel[256], out[256];
    snprintf(data, sizeof data, "%s/d.h5", dir);
    snprintf(rel, sizeof rel, "%s/r.h5", dir);
    snprintf(out, sizeof out, "%s/e.h5", dir);
    rm_progress_set_quiet(1);
    rm_log_set_quiet(1);
    uint8_t *images = malloc((size_t)N * HW);
    float *heat = malloc((size_t)N * HW * sizeof *heat);
    int32_t *labels = malloc(N * sizeof *labels);
    int64_t *index = malloc(N * sizeof *index);
    if (!images || !heat || !labels || !index) return 1;
    if (make_inputs(data, rel, images, heat, labels, index) != 0) return fail();

    rm_encode_params p;
    rm_encode_params_defaults(&p, RM_ENCODE_MEAN);
    rm_encoder e;
    double mean = 127.5;
    if (rm_encoder_init(&e, &p, 1, S, S, &mean) != 0) return fail();
    int threads = omp_get_max_threads();
    double c1, cn, k1 = kernel_rate(&e, images, heat, 1, &c1), kn = kernel_rate(&e, images, heat, threads, &cn);
    rm_encoder_free(&e);

    rm_encode_config cfg = {.data_path = data, .relevance_path = rel, .out_path = out, .params = p, .force = 1,
                            .deflate_level = 4, .command_line = "bench_encode"};
    double best = 1e30, best_cpu = 1e30;
    for (int rep = 0; rep < REPEATS; rep++) {
        rm_encode_summary sum;
        double c0 = cpu_seconds();
        if (rm_encode_file(&cfg, &sum) != 0) return fail();
        double c = cpu_seconds() - c0;
        if (sum.seconds < best) best = sum.seconds;
        if (c < best_cpu) best_cpu = c;
    }
    printf("{\"bench\":\"encode_kernel\",\"mode\":\"mean\",\"smooth\":1,\"keep\":0.3,\"size\":%d,\"threads\":1,"
           "\"img_per_s\":%.0f,\"cpu_us_per_img\":%.1f,\"repeats\":%d,\"stat\":\"best\"}\n",
           S, k1, c1, REPEATS);
    printf("{\"bench\":\"encode_kernel\",\"mode\":\"mean\",\"smooth\":1,\"keep\":0.3,\"size\":%d,\"threads\":%d,"
           "\"img_per_s\":%.0f,\"cpu_us_per_img\":%.1f,\"repeats\":%d,\"stat\":\"best\"}\n",
           S, threads, kn, cn, REPEATS);
    printf("{\"bench\":\"encode_file\",\"mode\":\"mean\",\"smooth\":1,\"keep\":0.3,\"size\":%d,\"threads\":%d,"
           "\"records\":%d,\"seconds\":%.3f,\"img_per_s\":%.0f,\"cpu_us_per_img\":%.1f,\"repeats\":%d,"
           "\"stat\":\"best\"}\n",
           S, threads, N, best, N / best, best_cpu * 1e6 / N, REPEATS);
    unlink(data);
    unlink(rel);
    unlink(out);
    rmdir(dir);
    free(images);
    free(heat);
    free(labels);
    free(index);
    return 0;
}
