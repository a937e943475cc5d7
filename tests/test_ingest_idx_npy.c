/* IDX (MNIST) and NPY ingesters: small files written at test time, ingested,
 * read back byte for byte; every malformed input must fail with a message
 * naming the file and what was expected, and leave nothing behind. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/dataset.h"
#include "core/error.h"
#include "ingest/ingest.h"
#include "core/progress.h"
#include "test_util.h"

static char *dir;
static char paths[16][512];
static int npaths;

static void setup(void)
{
    dir = tu_scratch_dir();
    npaths = 0;
    rm_log_set_quiet(1);
    rm_progress_set_quiet(1);
}

static void teardown(void)
{
    tu_rmtree(dir);   /* also frees dir */
}

TestSuite(ingest_idx, .init = setup, .fini = teardown);
TestSuite(ingest_npy, .init = setup, .fini = teardown);

/* A stable path in the scratch directory. */
static const char *sp(const char *name)
{
    cr_assert_lt(npaths, 16);
    snprintf(paths[npaths], sizeof paths[0], "%s/%s", dir, name);
    return paths[npaths++];
}

static rm_ingest_options options(const char *out, const char *labels)
{
    rm_ingest_options opt;
    rm_ingest_options_init(&opt);
    opt.out_path = out;
    opt.labels_path = labels;
    opt.split.val_fraction = 0;
    opt.split.test_fraction = 0;
    return opt;
}

/* Asserts a clean failure: -1, each of `needles` in the message, no output
 * and no temporary file (the scratch dir holds just the `inputs` files). */
#define expect_failure(rc, out, inputs, ...)                                               \
    do {                                                                                   \
        const char *needles_[] = {__VA_ARGS__};                                            \
        cr_assert_eq((rc), -1, "expected failure, got %d", (rc));                          \
        const char *msg_ = rm_error_message();                                             \
        for (size_t k_ = 0; k_ < sizeof needles_ / sizeof needles_[0]; k_++)               \
            cr_assert(strstr(msg_, needles_[k_]), "message '%s' lacks '%s'", msg_,         \
                      needles_[k_]);                                                       \
        cr_assert(!tu_file_exists(out), "output %s was left behind", (out));               \
        cr_assert_eq(tu_dir_entries(dir), (inputs), "stray files in the scratch dir");     \
    } while (0)

/* --- writing IDX ----------------------------------------------------------*/

static void write_idx_ex(const char *path, int gz, uint8_t type, int ndims, const uint32_t *dims,
                         const void *data, size_t bytes)
{
    uint8_t head[4 + 4 * 4] = {0, 0, type, (uint8_t)ndims};
    for (int i = 0; i < ndims; i++) {
        head[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        head[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        head[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        head[7 + 4 * i] = (uint8_t)dims[i];
    }
    size_t hbytes = 4 + 4 * (size_t)ndims;
    if (!gz) {
        FILE *f = fopen(path, "wb");
        cr_assert(f);
        cr_assert_eq(fwrite(head, 1, hbytes, f), hbytes);
        if (bytes) cr_assert_eq(fwrite(data, 1, bytes, f), bytes);
        cr_assert_eq(fclose(f), 0);
        return;
    }
    gzFile g = gzopen(path, "wb");
    cr_assert(g);
    cr_assert_eq(gzwrite(g, head, (unsigned)hbytes), (int)hbytes);
    if (bytes) cr_assert_eq(gzwrite(g, data, (unsigned)bytes), (int)bytes);
    cr_assert_eq(gzclose(g), Z_OK);
}

static void write_idx_images(const char *path, int gz, uint32_t n, uint32_t h, uint32_t w,
                             const uint8_t *px)
{
    uint32_t dims[3] = {n, h, w};
    write_idx_ex(path, gz, 0x08, 3, dims, px, (size_t)n * h * w);
}

static void write_idx_labels(const char *path, int gz, uint32_t n, const uint8_t *labels)
{
    write_idx_ex(path, gz, 0x08, 1, &n, labels, n);
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    cr_assert(p);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 37 + seed * 101 + (i >> 3));
    return p;
}

static void open_ds(rm_dataset *ds, const char *path)
{
    cr_assert_eq(rm_dataset_open(ds, path), 0, "%s", rm_error_message());
}

static void check_images(const rm_dataset *ds, size_t start, size_t count, const uint8_t *want)
{
    size_t bytes = count * (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width;
    uint8_t *got = malloc(bytes);
    cr_assert(got);
    cr_assert_eq(rm_dataset_read_images(ds, start, count, got), 0, "%s", rm_error_message());
    for (size_t i = 0; i < bytes; i++)
        cr_assert_eq(got[i], want[i], "byte %zu (record %zu): got %d, want %d", i,
                     start + i / (bytes / count), got[i], want[i]);
    free(got);
}

static size_t count_split(const rm_dataset *ds, size_t start, size_t end, uint8_t split)
{
    size_t n = 0;
    for (size_t i = start; i < end; i++) n += ds->split[i] == split;
    return n;
}

/* --- IDX: successful ingests ----------------------------------------------*/

Test(ingest_idx, plain_gray_roundtrip)
{
    enum { N = 5, H = 3, W = 4 };
    uint8_t *px = pattern(N * H * W, 1);
    uint8_t labels[N] = {3, 0, 9, 1, 3};
    const char *img = sp("train-images-idx3-ubyte"), *lab = sp("train-labels-idx1-ubyte");
    const char *out = sp("out.h5");
    write_idx_images(img, 0, N, H, W, px);
    write_idx_labels(lab, 0, N, labels);

    rm_ingest_options opt = options(out, lab);
    cr_assert_eq(rm_ingest_idx(img, &opt), 0, "%s", rm_error_message());
    cr_assert_eq(tu_dir_entries(dir), 3);

    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.count, N);
    cr_assert_eq(ds.channels, 1);
    cr_assert_eq(ds.height, H);
    cr_assert_eq(ds.width, W);
    cr_assert_eq(ds.num_classes, 10);
    for (int c = 0; c < 10; c++) {
        char name[12];
        snprintf(name, sizeof name, "%d", c);
        cr_assert_str_eq(ds.class_names[c], name);
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ds.labels[i], labels[i]);
        cr_assert_eq(ds.split[i], RM_SPLIT_TRAIN);
    }
    check_images(&ds, 0, N, px);
    char *params = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "ingest_parameters", &params), 0);
    cr_assert(params && strstr(params, "labels=") && strstr(params, lab), "%s", params);
    free(params);
    rm_dataset_close(&ds);
    free(px);
}

Test(ingest_idx, gzip_train_and_test_files)
{
    enum { NTR = 20, NTE = 6, H = 5, W = 7 };
    uint8_t *tr = pattern(NTR * H * W, 2), *te = pattern(NTE * H * W, 3);
    uint8_t ltr[NTR], lte[NTE];
    for (int i = 0; i < NTR; i++) ltr[i] = (uint8_t)(i % 2 ? 7 : 2);
    for (int i = 0; i < NTE; i++) lte[i] = (uint8_t)(i % 3);
    const char *img = sp("train-images.gz"), *lab = sp("train-labels.gz");
    const char *timg = sp("t10k-images.gz"), *tlab = sp("t10k-labels");
    const char *out = sp("mnist.h5");
    write_idx_images(img, 1, NTR, H, W, tr);
    write_idx_labels(lab, 1, NTR, ltr);
    write_idx_images(timg, 1, NTE, H, W, te);
    write_idx_labels(tlab, 0, NTE, lte);   /* a plain file beside gzip ones */

    rm_ingest_options opt = options(out, lab);
    opt.test_images = timg;
    opt.test_labels = tlab;
    opt.split.val_fraction = 0.2;
    opt.split.test_fraction = 0.5;   /* ignored: the test split comes from t10k */
    opt.classes = "mnist";
    cr_assert_eq(rm_ingest_idx(img, &opt), 0, "%s", rm_error_message());

    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.count, NTR + NTE);
    /* stratified: round(0.2 x 10) of each of the two train classes */
    cr_assert_eq(count_split(&ds, 0, NTR, RM_SPLIT_VAL), 4);
    cr_assert_eq(count_split(&ds, 0, NTR, RM_SPLIT_TRAIN), 16);
    cr_assert_eq(count_split(&ds, NTR, NTR + NTE, RM_SPLIT_TEST), NTE);
    for (int i = 0; i < NTR; i++) cr_assert_eq(ds.labels[i], ltr[i]);
    for (int i = 0; i < NTE; i++) cr_assert_eq(ds.labels[NTR + i], lte[i]);
    check_images(&ds, 0, NTR, tr);
    check_images(&ds, NTR, NTE, te);
    char src[256];
    cr_assert_eq(rm_dataset_read_source(&ds, 3, src, sizeof src), 0, "%s", rm_error_message());
    cr_assert_str_eq(src, "train-images.gz:3");
    cr_assert_eq(rm_dataset_read_source(&ds, NTR + 5, src, sizeof src), 0, "%s", rm_error_message());
    cr_assert_str_eq(src, "t10k-images.gz:5");
    char *params = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "ingest_parameters", &params), 0);
    cr_assert(params && strstr(params, "test_images=") && strstr(params, "test_labels="),
              "%s", params);
    free(params);
    rm_dataset_close(&ds);
    free(tr);
    free(te);
}

Test(ingest_idx, unsplit_records_use_val_and_test_fractions)
{
    enum { N = 40, H = 2, W = 2 };
    uint8_t *px = pattern(N * H * W, 4), labels[N];
    for (int i = 0; i < N; i++) labels[i] = (uint8_t)(i % 4);
    const char *img = sp("i.gz"), *lab = sp("l.gz"), *out = sp("o.h5");
    write_idx_images(img, 1, N, H, W, px);
    write_idx_labels(lab, 1, N, labels);
    rm_ingest_options opt = options(out, lab);
    opt.split.val_fraction = 0.2;
    opt.split.test_fraction = 0.3;
    cr_assert_eq(rm_ingest_idx(img, &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.count, N);
    cr_assert_eq(count_split(&ds, 0, N, RM_SPLIT_VAL), 8);    /* 2 of 10 per class */
    cr_assert_eq(count_split(&ds, 0, N, RM_SPLIT_TEST), 12);  /* 3 of 10 per class */
    cr_assert_eq(count_split(&ds, 0, N, RM_SPLIT_TRAIN), 20);
    check_images(&ds, 0, N, px);
    rm_dataset_close(&ds);
    free(px);
}

Test(ingest_idx, rgb_nhwc_becomes_planar)
{
    enum { N = 3, H = 2, W = 3, C = 3 };
    uint8_t *px = pattern(N * H * W * C, 5), planar[N * C * H * W], labels[N] = {1, 2, 0};
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < H * W; p++)
                planar[(n * C + c) * H * W + p] = px[(n * H * W + p) * C + c];
    uint32_t dims[4] = {N, H, W, C};
    const char *img = sp("rgb"), *lab = sp("lab"), *out = sp("o.h5");
    write_idx_ex(img, 0, 0x08, 4, dims, px, sizeof planar);
    write_idx_labels(lab, 0, N, labels);
    rm_ingest_options opt = options(out, lab);
    opt.channels = 3;
    cr_assert_eq(rm_ingest_idx(img, &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.channels, 3);
    check_images(&ds, 0, N, planar);
    rm_dataset_close(&ds);
    free(px);
}

Test(ingest_idx, class_list_may_exceed_ten_and_size_is_converted)
{
    enum { N = 4, H = 4, W = 4 };
    uint8_t *px = pattern(N * H * W, 6), labels[N] = {11, 0, 5, 10};
    const char *img = sp("emnist-images"), *lab = sp("emnist-labels"), *out = sp("o.h5");
    write_idx_images(img, 0, N, H, W, px);
    write_idx_labels(lab, 0, N, labels);
    rm_ingest_options opt = options(out, lab);
    opt.classes = "a,b,c,d,e,f,g,h,i,j,k,l";
    opt.width = 8;
    opt.height = 6;
    cr_assert_eq(rm_ingest_idx(img, &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.num_classes, 12);
    cr_assert_str_eq(ds.class_names[11], "l");
    cr_assert_eq(ds.width, 8);
    cr_assert_eq(ds.height, 6);
    for (int i = 0; i < N; i++) cr_assert_eq(ds.labels[i], labels[i]);
    rm_dataset_close(&ds);
    free(px);
}

Test(ingest_idx, skip_bad_drops_out_of_range_labels)
{
    enum { N = 5, H = 2, W = 2 };
    uint8_t *px = pattern(N * H * W, 7), labels[N] = {1, 2, 3, 12, 4};
    const char *img = sp("i"), *lab = sp("l"), *out = sp("o.h5");
    write_idx_images(img, 1, N, H, W, px);
    write_idx_labels(lab, 1, N, labels);
    rm_ingest_options opt = options(out, lab);
    opt.skip_bad = 1;
    cr_assert_eq(rm_ingest_idx(img, &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.count, 4);
    int32_t want[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++) cr_assert_eq(ds.labels[i], want[i]);
    check_images(&ds, 0, 3, px);
    check_images(&ds, 3, 1, px + 4 * H * W);
    char *skipped = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "records_skipped", &skipped), 0);
    cr_assert_str_eq(skipped, "1");
    free(skipped);
    rm_dataset_close(&ds);
    free(px);
}

/* --- IDX: failures --------------------------------------------------------*/

Test(ingest_idx, label_out_of_range_fails_without_skip_bad)
{
    uint8_t px[5 * 4] = {0}, labels[5] = {1, 2, 3, 12, 4};
    const char *img = sp("images.gz"), *lab = sp("labels.gz"), *out = sp("o.h5");
    write_idx_images(img, 1, 5, 2, 2, px);
    write_idx_labels(lab, 1, 5, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2, lab,
                   "labels.gz: record 3: label 12 out of range 0..9");
}

Test(ingest_idx, labels_are_required)
{
    uint8_t px[4] = {0};
    const char *img = sp("images"), *out = sp("o.h5");
    write_idx_images(img, 0, 1, 2, 2, px);
    rm_ingest_options opt = options(out, NULL);
    expect_failure(rm_ingest_idx(img, &opt), out, 1, "idx: --labels is required");
}

Test(ingest_idx, test_images_need_test_labels)
{
    uint8_t px[4] = {0}, labels[1] = {0};
    const char *img = sp("images"), *lab = sp("labels"), *out = sp("o.h5");
    write_idx_images(img, 0, 1, 2, 2, px);
    write_idx_labels(lab, 0, 1, labels);
    rm_ingest_options opt = options(out, lab);
    opt.test_images = img;
    expect_failure(rm_ingest_idx(img, &opt), out, 2, "--test-labels");
}

Test(ingest_idx, bad_magic)
{
    uint8_t labels[1] = {0};
    const char *img = sp("notes.txt"), *lab = sp("labels"), *out = sp("o.h5");
    tu_write_text(img, "hello, this is not an IDX file\n");
    write_idx_labels(lab, 0, 1, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2,
                   "notes.txt: not an IDX file (bad magic 0x68656C6C)");
}

Test(ingest_idx, empty_file)
{
    uint8_t labels[1] = {0};
    const char *img = sp("empty"), *lab = sp("labels"), *out = sp("o.h5");
    tu_write_file(img, "", 0);
    write_idx_labels(lab, 0, 1, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2, "empty: not an IDX file");
}

Test(ingest_idx, unsupported_element_type)
{
    uint32_t dims[3] = {1, 2, 2};
    int32_t data[4] = {0};
    uint8_t labels[1] = {0};
    const char *img = sp("int-images"), *lab = sp("labels"), *out = sp("o.h5");
    write_idx_ex(img, 0, 0x0B, 3, dims, data, sizeof data);
    write_idx_labels(lab, 0, 1, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2,
                   "int-images: unsupported IDX element type 0x0B, expected 0x08 (unsigned byte)");
}

Test(ingest_idx, wrong_rank)
{
    uint8_t labels[3] = {0, 1, 2};
    const char *lab = sp("labels"), *out = sp("o.h5");
    write_idx_labels(lab, 0, 3, labels);
    rm_ingest_options opt = options(out, lab);
    /* the labels file given as images */
    expect_failure(rm_ingest_idx(lab, &opt), out, 1, "labels: IDX file has 1 dimensions",
                   "expected 3 [N,H,W]");
}

Test(ingest_idx, truncated_plain_images)
{
    uint8_t *px = pattern(5 * 3 * 4, 8), labels[5] = {0};
    const char *img = sp("train-images"), *lab = sp("labels"), *out = sp("o.h5");
    uint32_t dims[3] = {5, 3, 4};
    write_idx_ex(img, 0, 0x08, 3, dims, px, 3 * 12 + 5);   /* record 3 has 5 of 12 bytes */
    write_idx_labels(lab, 0, 5, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2,
                   "train-images: truncated: record 3 of 5 needs 12 bytes, only 5 remain");
    free(px);
}

Test(ingest_idx, truncated_gzip_images_are_found_while_streaming)
{
    uint8_t *px = pattern(5 * 3 * 4, 9), labels[5] = {0};
    const char *img = sp("train-images.gz"), *lab = sp("labels.gz"), *out = sp("o.h5");
    uint32_t dims[3] = {5, 3, 4};
    write_idx_ex(img, 1, 0x08, 3, dims, px, 4 * 12);
    write_idx_labels(lab, 1, 5, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2,
                   "train-images.gz: truncated: record 4 of 5 needs 12 bytes, only 0 remain");
    free(px);
}

Test(ingest_idx, corrupt_gzip)
{
    /* a gzip member header, then a deflate block of the invalid type 3 */
    uint8_t bytes[16] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03};
    memset(bytes + 10, 0xFF, 6);
    uint8_t labels[1] = {0};
    const char *img = sp("images.gz"), *lab = sp("labels"), *out = sp("o.h5");
    tu_write_file(img, bytes, sizeof bytes);
    write_idx_labels(lab, 0, 1, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2, "images.gz: corrupt gzip data");
}

Test(ingest_idx, truncated_labels)
{
    uint8_t px[3 * 4] = {0}, labels[3] = {0};
    uint32_t n = 3;
    const char *img = sp("images.gz"), *lab = sp("labels.gz"), *out = sp("o.h5");
    write_idx_images(img, 1, 3, 2, 2, px);
    write_idx_ex(lab, 1, 0x08, 1, &n, labels, 2);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2,
                   "labels.gz: truncated: record 2 of 3 needs 1 bytes");
}

Test(ingest_idx, count_mismatch)
{
    uint8_t px[5 * 4] = {0}, labels[4] = {0};
    const char *img = sp("train-images.gz"), *lab = sp("train-labels.gz"), *out = sp("o.h5");
    write_idx_images(img, 1, 5, 2, 2, px);
    write_idx_labels(lab, 1, 4, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2,
                   "train-images.gz has 5 images but", "train-labels.gz has 4 labels");
}

Test(ingest_idx, test_file_shape_must_match)
{
    uint8_t px[2 * 9] = {0}, labels[2] = {0};
    const char *img = sp("tr-i"), *lab = sp("tr-l"), *timg = sp("te-i"), *tlab = sp("te-l");
    const char *out = sp("o.h5");
    write_idx_images(img, 0, 2, 3, 3, px);
    write_idx_labels(lab, 0, 2, labels);
    write_idx_images(timg, 0, 2, 2, 4, px);
    write_idx_labels(tlab, 0, 2, labels);
    rm_ingest_options opt = options(out, lab);
    opt.test_images = timg;
    opt.test_labels = tlab;
    expect_failure(rm_ingest_idx(img, &opt), out, 4, "te-i: test images are 4x2", "tr-i has 3x3");
}

Test(ingest_idx, absurd_side_fails_before_allocating)
{
    uint32_t dims[3] = {1, 100000, 28};
    uint8_t labels[1] = {0};
    const char *img = sp("huge"), *lab = sp("labels"), *out = sp("o.h5");
    write_idx_ex(img, 0, 0x08, 3, dims, NULL, 0);
    write_idx_labels(lab, 0, 1, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2, "huge: image size 28x100000",
                   "out of range (1..16384)");
}

Test(ingest_idx, zero_images)
{
    uint8_t labels[1] = {0};
    const char *img = sp("images"), *lab = sp("labels"), *out = sp("o.h5");
    write_idx_images(img, 0, 0, 28, 28, NULL);
    write_idx_labels(lab, 0, 0, labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2, "images: the IDX header declares 0 images");
}

Test(ingest_idx, absurd_count_is_reported_as_truncation)
{
    /* 4294967295 records of 16384 x 16384 x 3: the sizes still multiply
     * without overflow on 64-bit, so the file's size gives it away. */
    uint32_t dims[4] = {0xFFFFFFFFu, 16384, 16384, 3};
    uint32_t ldims[1] = {0xFFFFFFFFu};
    uint8_t px[64] = {0};
    const char *img = sp("huge"), *lab = sp("labels"), *out = sp("o.h5");
    write_idx_ex(img, 0, 0x08, 4, dims, px, sizeof px);
    write_idx_ex(lab, 0, 0x08, 1, ldims, px, 1);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2,
                   "huge: truncated: record 0 of 4294967295 needs 805306368 bytes, only 64 remain");
}

Test(ingest_idx, absurd_count_in_gzip_is_found_while_streaming)
{
    uint32_t dims[3] = {0xFFFFFFFFu, 2, 2};
    uint8_t px[8] = {0};
    const char *img = sp("huge.gz"), *lab = sp("labels.gz"), *out = sp("o.h5");
    write_idx_ex(img, 1, 0x08, 3, dims, px, sizeof px);
    write_idx_ex(lab, 1, 0x08, 1, dims, px, sizeof px);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_idx(img, &opt), out, 2,
                   "huge.gz: truncated: record 2 of 4294967295 needs 4 bytes, only 0 remain");
}

Test(ingest_idx, missing_file)
{
    uint8_t labels[1] = {0};
    const char *lab = sp("labels"), *out = sp("o.h5");
    write_idx_labels(lab, 0, 1, labels);
    rm_ingest_options opt = options(out, lab);
    const char *img = sp("no-such-file");
    expect_failure(rm_ingest_idx(img, &opt), out, 1, "no-such-file: cannot open");
}

/* --- writing NPY ----------------------------------------------------------*/

/* numpy.save's layout: magic, version, header length, the dict padded with
 * spaces to a 64-byte boundary and ended by '\n', then `data`. */
static void write_npy_ex(const char *path, int major, const char *dict, const void *data,
                         size_t bytes)
{
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict) + 1;
    size_t hlen = (pre + len + 63) / 64 * 64 - pre;
    size_t total = pre + hlen + bytes;
    uint8_t *buf = malloc(total);
    cr_assert(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) buf[8 + i] = (uint8_t)(hlen >> (8 * i));
    memset(buf + pre, ' ', hlen);
    memcpy(buf + pre, dict, len - 1);
    buf[pre + hlen - 1] = '\n';
    if (bytes) memcpy(buf + pre + hlen, data, bytes);
    tu_write_file(path, buf, total);
    free(buf);
}

static void write_npy(const char *path, const char *descr, const char *shape, const void *data,
                      size_t bytes)
{
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
             shape);
    write_npy_ex(path, 1, dict, data, bytes);
}

static void write_labels_i64(const char *path, const int64_t *labels, int n)
{
    char shape[32];
    snprintf(shape, sizeof shape, "(%d,)", n);
    write_npy(path, "<i8", shape, labels, (size_t)n * sizeof *labels);
}

/* --- NPY: successful ingests ----------------------------------------------*/

Test(ingest_npy, uint8_gray_roundtrip_and_class_count)
{
    enum { N = 4, H = 3, W = 5 };
    uint8_t *px = pattern(N * H * W, 10);
    int64_t labels[N] = {0, 2, 1, 2};
    const char *img = sp("x.npy"), *lab = sp("y.npy"), *out = sp("o.h5");
    write_npy(img, "|u1", "(4, 3, 5)", px, N * H * W);
    write_labels_i64(lab, labels, N);
    rm_ingest_options opt = options(out, lab);
    cr_assert_eq(rm_ingest_npy(img, &opt), 0, "%s", rm_error_message());
    cr_assert_eq(tu_dir_entries(dir), 3);
    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.count, N);
    cr_assert_eq(ds.channels, 1);
    cr_assert_eq(ds.height, H);
    cr_assert_eq(ds.width, W);
    cr_assert_eq(ds.num_classes, 3);   /* max label + 1 */
    cr_assert_str_eq(ds.class_names[0], "0");
    cr_assert_str_eq(ds.class_names[2], "2");
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ds.labels[i], labels[i]);
        cr_assert_eq(ds.split[i], RM_SPLIT_TRAIN);
    }
    check_images(&ds, 0, N, px);
    char *params = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "ingest_parameters", &params), 0);
    cr_assert(params && strstr(params, "labels=") && strstr(params, "layout=NHW"), "%s", params);
    free(params);
    rm_dataset_close(&ds);
    free(px);
}

Test(ingest_npy, nhwc_and_nchw_rgb)
{
    enum { N = 2, H = 3, W = 4, C = 3 };
    uint8_t *px = pattern(N * H * W * C, 11), planar[N * C * H * W];
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < H * W; p++)
                planar[(n * C + c) * H * W + p] = px[(n * H * W + p) * C + c];
    int64_t labels[N] = {1, 0};
    const char *nhwc = sp("nhwc.npy"), *nchw = sp("nchw.npy"), *lab = sp("y.npy");
    const char *out1 = sp("o1.h5"), *out2 = sp("o2.h5");
    write_npy(nhwc, "|u1", "(2, 3, 4, 3)", px, sizeof planar);
    write_npy(nchw, "|u1", "(2, 3, 3, 4)", planar, sizeof planar);
    write_labels_i64(lab, labels, N);
    rm_ingest_options opt = options(out1, lab);
    opt.channels = 3;
    cr_assert_eq(rm_ingest_npy(nhwc, &opt), 0, "%s", rm_error_message());
    opt.out_path = out2;
    cr_assert_eq(rm_ingest_npy(nchw, &opt), 0, "%s", rm_error_message());
    for (int k = 0; k < 2; k++) {
        rm_dataset ds;
        open_ds(&ds, k ? out2 : out1);
        cr_assert_eq(ds.channels, 3);
        cr_assert_eq(ds.height, H);
        cr_assert_eq(ds.width, W);
        check_images(&ds, 0, N, planar);
        rm_dataset_close(&ds);
    }
    free(px);
}

Test(ingest_npy, single_channel_nchw_and_nhwc)
{
    enum { N = 2, H = 4, W = 5 };
    uint8_t *px = pattern(N * H * W, 12);
    int64_t labels[N] = {0, 0};
    const char *a = sp("a.npy"), *b = sp("b.npy"), *lab = sp("y.npy");
    const char *out1 = sp("o1.h5"), *out2 = sp("o2.h5");
    write_npy(a, "|u1", "(2, 1, 4, 5)", px, N * H * W);
    write_npy(b, "<u1", "(2, 4, 5, 1)", px, N * H * W);
    write_labels_i64(lab, labels, N);
    rm_ingest_options opt = options(out1, lab);
    cr_assert_eq(rm_ingest_npy(a, &opt), 0, "%s", rm_error_message());
    opt.out_path = out2;
    cr_assert_eq(rm_ingest_npy(b, &opt), 0, "%s", rm_error_message());
    for (int k = 0; k < 2; k++) {
        rm_dataset ds;
        open_ds(&ds, k ? out2 : out1);
        cr_assert_eq(ds.height, H);
        cr_assert_eq(ds.width, W);
        check_images(&ds, 0, N, px);
        rm_dataset_close(&ds);
    }
    free(px);
}

Test(ingest_npy, float32_and_float64_are_scaled_and_rounded)
{
    enum { N = 2, H = 2, W = 3 };
    float f4[N * H * W];
    double f8[N * H * W];
    uint8_t want4[N * H * W], want8[N * H * W];
    for (int i = 0; i < N * H * W; i++) {
        f4[i] = (float)(i * 21) / 255.0f;   /* exact bytes after rounding */
        want4[i] = (uint8_t)(i * 21);
        f8[i] = i * 20.0 + 0.5;             /* float_max 255: x.5 rounds up */
        want8[i] = (uint8_t)(i * 20 + 1);
    }
    f4[0] = 1.0f;
    want4[0] = 255;
    int64_t labels[N] = {0, 1};
    const char *a = sp("f4.npy"), *b = sp("f8.npy"), *lab = sp("y.npy");
    const char *out1 = sp("o1.h5"), *out2 = sp("o2.h5");
    write_npy(a, "<f4", "(2, 2, 3)", f4, sizeof f4);
    write_npy(b, "<f8", "(2, 2, 3)", f8, sizeof f8);
    write_labels_i64(lab, labels, N);
    rm_ingest_options opt = options(out1, lab);
    cr_assert_eq(rm_ingest_npy(a, &opt), 0, "%s", rm_error_message());
    opt.out_path = out2;
    opt.float_max = 255;
    cr_assert_eq(rm_ingest_npy(b, &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_ds(&ds, out1);
    check_images(&ds, 0, N, want4);
    rm_dataset_close(&ds);
    open_ds(&ds, out2);
    check_images(&ds, 0, N, want8);
    char *params = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "ingest_parameters", &params), 0);
    cr_assert(params && strstr(params, "float_max=255"), "%s", params);
    free(params);
    rm_dataset_close(&ds);
}

Test(ingest_npy, header_variants_v2_v3_double_quotes_key_order)
{
    uint8_t px[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint16_t labels[2] = {1, 0};
    const char *a = sp("v2.npy"), *b = sp("v3.npy"), *lab = sp("y.npy");
    const char *out1 = sp("o1.h5"), *out2 = sp("o2.h5");
    write_npy_ex(a, 2, "{ \"shape\" : ( 2 ,2,2 ) ,\"fortran_order\":False,\"descr\":\"|u1\"}", px,
                 sizeof px);
    write_npy_ex(b, 3, "{'fortran_order': False, 'descr': 'u1', 'shape': (2L, 2L, 2L)}", px,
                 sizeof px);
    write_npy_ex(lab, 1, "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", labels,
                 sizeof labels);
    rm_ingest_options opt = options(out1, lab);
    cr_assert_eq(rm_ingest_npy(a, &opt), 0, "%s", rm_error_message());
    opt.out_path = out2;
    cr_assert_eq(rm_ingest_npy(b, &opt), 0, "%s", rm_error_message());
    for (int k = 0; k < 2; k++) {
        rm_dataset ds;
        open_ds(&ds, k ? out2 : out1);
        cr_assert_eq(ds.count, 2);
        cr_assert_eq(ds.labels[0], 1);
        cr_assert_eq(ds.labels[1], 0);
        check_images(&ds, 0, 2, px);
        rm_dataset_close(&ds);
    }
}

Test(ingest_npy, label_dtypes)
{
    static const char *const descrs[] = {"|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8"};
    static const int sizes[] = {1, 1, 2, 2, 4, 4, 8, 8};
    uint8_t px[3 * 4] = {0};
    const char *img = sp("x.npy"), *lab = sp("y.npy"), *out = sp("o.h5");
    write_npy(img, "|u1", "(3, 2, 2)", px, sizeof px);
    for (int k = 0; k < 8; k++) {
        uint8_t raw[3 * 8] = {0};
        int vals[3] = {4, 0, 2};
        for (int i = 0; i < 3; i++) raw[i * sizes[k]] = (uint8_t)vals[i];   /* little-endian */
        write_npy(lab, descrs[k], "(3,)", raw, 3 * (size_t)sizes[k]);
        rm_ingest_options opt = options(out, lab);
        opt.force = 1;
        cr_assert_eq(rm_ingest_npy(img, &opt), 0, "%s: %s", descrs[k], rm_error_message());
        rm_dataset ds;
        open_ds(&ds, out);
        cr_assert_eq(ds.num_classes, 5, "%s", descrs[k]);
        for (int i = 0; i < 3; i++) cr_assert_eq(ds.labels[i], vals[i], "%s", descrs[k]);
        rm_dataset_close(&ds);
    }
}

Test(ingest_npy, classes_option_sets_names_and_count)
{
    uint8_t px[2 * 4] = {0};
    int64_t labels[2] = {0, 1};
    const char *img = sp("x.npy"), *lab = sp("y.npy"), *out = sp("o.h5");
    write_npy(img, "|u1", "(2, 2, 2)", px, sizeof px);
    write_labels_i64(lab, labels, 2);
    rm_ingest_options opt = options(out, lab);
    opt.classes = "calm,joy,fear";
    cr_assert_eq(rm_ingest_npy(img, &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.num_classes, 3);
    cr_assert_str_eq(ds.class_names[2], "fear");
    rm_dataset_close(&ds);
}

Test(ingest_npy, skip_bad_drops_bad_floats_and_negative_labels)
{
    float px[4 * 2] = {0, 0.5f, 1.5f, 0, 0.25f, 0.25f, 1, 1};
    int64_t labels[4] = {0, 1, -1, 1};
    const char *img = sp("x.npy"), *lab = sp("y.npy"), *out = sp("o.h5");
    write_npy(img, "<f4", "(4, 1, 2)", px, sizeof px);
    write_labels_i64(lab, labels, 4);
    rm_ingest_options opt = options(out, lab);
    opt.skip_bad = 1;
    cr_assert_eq(rm_ingest_npy(img, &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_ds(&ds, out);
    cr_assert_eq(ds.count, 2);   /* record 1 has 1.5, record 2 label -1 */
    uint8_t want[4] = {0, 128, 255, 255};
    cr_assert_eq(ds.labels[0], 0);
    cr_assert_eq(ds.labels[1], 1);
    check_images(&ds, 0, 2, want);
    rm_dataset_close(&ds);
}

/* --- NPY: failures --------------------------------------------------------*/

/* Writes a valid 2-record label file and returns its path. */
static const char *labels2(void)
{
    int64_t labels[2] = {0, 1};
    const char *lab = sp("y.npy");
    write_labels_i64(lab, labels, 2);
    return lab;
}

Test(ingest_npy, labels_are_required)
{
    uint8_t px[4] = {0};
    const char *img = sp("x.npy"), *out = sp("o.h5");
    write_npy(img, "|u1", "(1, 2, 2)", px, sizeof px);
    rm_ingest_options opt = options(out, NULL);
    expect_failure(rm_ingest_npy(img, &opt), out, 1, "npy: --labels is required");
}

Test(ingest_npy, fortran_order)
{
    uint8_t px[8] = {0};
    const char *img = sp("x.npy"), *lab = labels2(), *out = sp("o.h5");
    write_npy_ex(img, 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2, 2), }", px, 8);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "x.npy: Fortran-order arrays are not supported");
}

Test(ingest_npy, big_endian_descr)
{
    float px[8] = {0};
    const char *img = sp("x.npy"), *lab = labels2(), *out = sp("o.h5");
    write_npy(img, ">f4", "(2, 2, 2)", px, sizeof px);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "x.npy: unsupported NPY dtype '>f4'");
}

Test(ingest_npy, integer_images_are_rejected)
{
    int32_t px[8] = {0};
    const char *img = sp("x.npy"), *lab = labels2(), *out = sp("o.h5");
    write_npy(img, "<i4", "(2, 2, 2)", px, sizeof px);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "x.npy: unsupported NPY dtype '<i4' for images",
                   "'|u1', '<f4' or '<f8'");
}

Test(ingest_npy, missing_shape_key)
{
    uint8_t px[8] = {0};
    const char *img = sp("x.npy"), *lab = labels2(), *out = sp("o.h5");
    write_npy_ex(img, 1, "{'descr': '|u1', 'fortran_order': False, }", px, 8);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "x.npy: malformed NPY header: expected 'shape' key");
}

Test(ingest_npy, malformed_header_syntax)
{
    static const char *const dicts[] = {
        "{'descr': '|u1' 'fortran_order': False, 'shape': (2, 2, 2)}",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, x)}",
        "{'descr': '|u1', 'fortran_order': Maybe, 'shape': (2, 2, 2)}",
        "['descr', '|u1']",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2)",
    };
    uint8_t px[8] = {0};
    const char *img = sp("x.npy"), *lab = labels2(), *out = sp("o.h5");
    for (size_t k = 0; k < sizeof dicts / sizeof dicts[0]; k++) {
        write_npy_ex(img, 1, dicts[k], px, 8);
        rm_ingest_options opt = options(out, lab);
        expect_failure(rm_ingest_npy(img, &opt), out, 2, "x.npy: malformed NPY header");
    }
}

Test(ingest_npy, bad_magic_and_version)
{
    const char *img = sp("x.npy"), *lab = labels2(), *out = sp("o.h5");
    tu_write_text(img, "PK\x03\x04 this is a zip (an .npz), not an .npy");
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "x.npy: not an NPY file (bad magic 0x504B0304");
    write_npy_ex(img, 4, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }", "", 0);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "x.npy: unsupported NPY format version 4.0");
}

Test(ingest_npy, float_out_of_range)
{
    float px[3 * 4] = {0};
    px[4 + 2] = 1.5f;
    int64_t labels[3] = {0, 1, 0};
    const char *img = sp("faces.npy"), *lab = sp("y.npy"), *out = sp("o.h5");
    write_npy(img, "<f4", "(3, 2, 2)", px, sizeof px);
    write_labels_i64(lab, labels, 3);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "faces.npy: record 1: pixel value 1.5 outside [0, 1]");
    px[4 + 2] = -0.25f;
    write_npy(img, "<f4", "(3, 2, 2)", px, sizeof px);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "faces.npy: record 1: pixel value -0.25 outside [0, 1]");
}

Test(ingest_npy, float_nan_and_inf)
{
    double px[2 * 4] = {0};
    px[4 + 3] = NAN;
    const char *img = sp("faces.npy"), *lab = labels2(), *out = sp("o.h5");
    write_npy(img, "<f8", "(2, 2, 2)", px, sizeof px);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "faces.npy: record 1: pixel value nan");
    px[4 + 3] = 0;
    px[1] = INFINITY;
    write_npy(img, "<f8", "(2, 2, 2)", px, sizeof px);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "faces.npy: record 0: pixel value inf");
}

Test(ingest_npy, negative_label)
{
    uint8_t px[3 * 4] = {0};
    int64_t labels[3] = {0, 1, -1};
    const char *img = sp("x.npy"), *lab = sp("labels.npy"), *out = sp("o.h5");
    write_npy(img, "|u1", "(3, 2, 2)", px, sizeof px);
    write_labels_i64(lab, labels, 3);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "labels.npy: record 2: label -1 out of range 0..1");
}

Test(ingest_npy, count_mismatch)
{
    uint8_t px[3 * 4] = {0};
    const char *img = sp("x.npy"), *lab = labels2(), *out = sp("o.h5");
    write_npy(img, "|u1", "(3, 2, 2)", px, sizeof px);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "x.npy has 3 images but", "y.npy has 2 labels");
}

Test(ingest_npy, truncated_data)
{
    float px[4 * 6] = {0};
    int64_t labels[4] = {0, 1, 0, 1};
    const char *img = sp("x.npy"), *lab = sp("y.npy"), *out = sp("o.h5");
    write_npy(img, "<f4", "(4, 2, 3)", px, 2 * 24 + 10);
    write_labels_i64(lab, labels, 4);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2,
                   "x.npy: truncated: record 2 of 4 needs 24 bytes, only 10 remain");
}

Test(ingest_npy, float_labels_are_rejected)
{
    uint8_t px[2 * 4] = {0};
    float labels[2] = {0, 1};
    const char *img = sp("x.npy"), *lab = sp("y.npy"), *out = sp("o.h5");
    write_npy(img, "|u1", "(2, 2, 2)", px, sizeof px);
    write_npy(lab, "<f4", "(2,)", labels, sizeof labels);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "y.npy: labels must be a 1-D integer array");
}

Test(ingest_npy, unsupported_shapes)
{
    uint8_t px[2 * 125] = {0};
    const char *img = sp("x.npy"), *lab = labels2(), *out = sp("o.h5");
    write_npy(img, "|u1", "(2, 5, 5, 5)", px, sizeof px);
    rm_ingest_options opt = options(out, lab);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "x.npy: NPY image shape (2, 5, 5, 5)");
    write_npy(img, "|u1", "(2, 100000, 1)", px, 0);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "x.npy: image size 1x100000");
    write_npy(img, "|u1", "(0, 4096, 4096)", px, 0);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "x.npy: the NPY array holds no images");
    write_npy(img, "|u1", "(250,)", px, sizeof px);
    expect_failure(rm_ingest_npy(img, &opt), out, 2, "x.npy: NPY image shape (250)");
}
