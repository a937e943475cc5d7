/* Importing external relevance: PNG, NPY and HDF5 round trips, fixation
 * density maps, the messages for every kind of bad input, and the command. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "core/image.h"
#include "nn/model_file.h"
#include "core/relevance_file.h"
#include "relevance/import.h"
#include "test_util.h"

/* The command while `relmask relevance import` is not dispatched yet. */
#define IMPORT_CMD "relevance import"

enum { N = 6, H = 8, W = 12 };
static const char *const classes[2] = {"calm", "tense"};
/* Records 0-3 train, 4 val, 5 test; labels i % 2. */
static const uint8_t splits[N] = {RM_SPLIT_TRAIN, RM_SPLIT_TRAIN, RM_SPLIT_TRAIN, RM_SPLIT_TRAIN, RM_SPLIT_VAL,
                                  RM_SPLIT_TEST};

typedef struct {
    char *dir;
    const char *data, *out;
    char data_buf[4096], out_buf[4096];
} fixture;

static void setup(fixture *f)
{
    f->dir = tu_scratch_dir();
    snprintf(f->data_buf, sizeof f->data_buf, "%s/d.h5", f->dir);
    snprintf(f->out_buf, sizeof f->out_buf, "%s/r.h5", f->dir);
    f->data = f->data_buf;
    f->out = f->out_buf;
    rm_dataset_spec s = {.channels = 1, .height = H, .width = W, .num_classes = 2, .class_names = classes,
                         .source_format = "test", .source_path = "memory", .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, f->data, &s, 0), 0, "%s", rm_error_message());
    uint8_t img[H * W];
    for (int i = 0; i < N; i++) {
        memset(img, 20 * i, sizeof img);
        cr_assert_eq(rm_dataset_writer_append(w, img, i % 2, splits[i], NULL), 0);
    }
    rm_split_spec sp = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
}

static void teardown(fixture *f) { tu_rmtree(f->dir); }

static rm_import_options options(const fixture *f, rm_import_source source, const char *input)
{
    rm_import_options o;
    rm_import_options_defaults(&o);
    o.source = source;
    o.input = input;
    o.data_path = f->data;
    o.out_path = f->out;
    return o;
}

/* Opens the result and checks what every import stores. */
static void open_result(const fixture *f, rm_relevance *r, const char *method, int64_t count)
{
    cr_assert_eq(rm_relevance_open(r, f->out), 0, "%s", rm_error_message());
    cr_assert_str_eq(r->method, method);
    cr_assert_str_eq(r->score_kind, "none");
    cr_assert_eq(r->count, count);
    cr_assert_eq(r->height, H);
    cr_assert_eq(r->width, W);
    cr_assert_str_eq(r->dataset_path, f->data);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, f->data), 0);
    char fp[17];
    rm_dataset_fingerprint(fp, (int64_t)ds.count, ds.channels, ds.height, ds.width, ds.labels, ds.split);
    cr_assert_str_eq(r->dataset_fingerprint, fp);
    cr_assert_eq(rm_relevance_check_dataset(r, f->data, (int64_t)ds.count, H, W, ds.labels), 0, "%s",
                 rm_error_message());
    rm_dataset_close(&ds);
    for (int64_t i = 0; i < count; i++) {
        cr_assert_eq(r->explained[i], r->label[i]);
        cr_assert_eq(r->predicted[i], -1);
        cr_assert(isnan(r->score[i]));
    }
}

static float *read_all(const rm_relevance *r)
{
    float *heat = malloc(sizeof(float) * (size_t)r->count * H * W);
    cr_assert_eq(rm_relevance_read_heatmaps(r, 0, r->count, heat), 0, "%s", rm_error_message());
    return heat;
}

/* --- PNG ------------------------------------------------------------------*/

static uint8_t png_value(int i, int x, int y) { return (uint8_t)((i * 40 + x * 7 + y * 13) % 256); }

/* Record i's heatmap image: at the dataset size, except record 1 at twice
 * the size (2x2 blocks: the box filter recovers it exactly) and record 2
 * as RGB with equal channels (luma = the value). */
static void write_pngs(const char *dir, int skip)
{
    for (int i = 0; i < N; i++) {
        if (i == skip) continue;
        int s = i == 1 ? 2 : 1, c = i == 2 ? 3 : 1;
        rm_image img;
        cr_assert_eq(rm_image_alloc(&img, W * s, H * s, c), 0);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < H * s; y++)
                for (int x = 0; x < W * s; x++)
                    img.pixels[((size_t)ch * H * s + y) * W * s + x] = png_value(i, x / s, y / s);
        char name[64];
        snprintf(name, sizeof name, "%d.png", i);
        cr_assert_eq(rm_image_save_png(&img, tu_path(dir, name)), 0, "%s", rm_error_message());
        rm_image_free(&img);
    }
}

Test(relevance_import, png_round_trip)
{
    fixture f;
    setup(&f);
    const char *maps = tu_path(f.dir, "maps");
    cr_assert_eq(mkdir(maps, 0755), 0);
    write_pngs(maps, -1);
    rm_import_options o = options(&f, RM_IMPORT_PNG, maps);
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    rm_relevance r;
    open_result(&f, &r, "import-png", N);
    float *heat = read_all(&r);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(r.index[i], i);
        cr_assert_eq(r.label[i], i % 2);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float got = heat[(i * H + y) * W + x], want = png_value(i, x, y) / 255.0f;
                cr_assert(fabsf(got - want) <= 1.0f / 255, "record %d (%d,%d): %g, expected %g", i, x, y, got, want);
            }
    }
    cr_assert(strstr(r.parameters, "source=png\n") && strstr(r.parameters, "signed=0\n") &&
                  strstr(r.parameters, "allow_missing=0\n") && strstr(r.parameters, "split=all\n"),
              "%s", r.parameters);
    free(heat);
    rm_relevance_close(&r);
    /* Existing output: refused without --force. */
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "--force"), "%s", rm_error_message());
    /* --signed: 128 is zero, 255 +1, 0 and 1 are -1. */
    o.force = 1;
    o.png_signed = 1;
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&r, f.out), 0);
    heat = read_all(&r);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < H * W; k++) {
            int v = png_value(i, k % W, k / W);
            float want = v <= 1 ? -1.0f : (float)(v - 128) / 127.0f;
            cr_assert(fabsf(heat[i * H * W + k] - want) <= 1.0f / 127, "signed %d: %g vs %g", v, heat[i * H * W + k],
                      want);
        }
    free(heat);
    rm_relevance_close(&r);
    teardown(&f);
}

Test(relevance_import, png_missing_file_named_or_skipped)
{
    fixture f;
    setup(&f);
    const char *maps = tu_path(f.dir, "maps");
    cr_assert_eq(mkdir(maps, 0755), 0);
    write_pngs(maps, 3);
    rm_import_options o = options(&f, RM_IMPORT_PNG, maps);
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "record 3: expected heatmap file") && strstr(rm_error_message(), "maps/3.png"),
              "%s", rm_error_message());
    cr_assert_eq(tu_dir_entries(f.dir), 2, "d.h5 and maps/: no output, no partial file");
    o.allow_missing = 1;
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    rm_relevance r;
    open_result(&f, &r, "import-png", N - 1);
    const int64_t want[N - 1] = {0, 1, 2, 4, 5};
    for (int i = 0; i < N - 1; i++) cr_assert_eq(r.index[i], want[i]);
    rm_relevance_close(&r);
    /* --split test: only record 5. */
    o.split = RM_SPLIT_TEST;
    o.force = 1;
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    open_result(&f, &r, "import-png", 1);
    cr_assert_eq(r.index[0], 5);
    rm_relevance_close(&r);
    teardown(&f);
}

Test(relevance_import, png_names_file)
{
    fixture f;
    setup(&f);
    const char *maps = tu_path(f.dir, "maps");
    cr_assert_eq(mkdir(maps, 0755), 0);
    write_pngs(maps, -1);
    /* Record 0 gets record 5's file and the other way round. */
    const char *names = tu_path(f.dir, "names.csv");
    tu_write_text(names, "index,filename\n0, 5.png\n5,0.png\n\n1,1.png\n2,2.png\n3,3.png\n4,4.png\n");
    rm_import_options o = options(&f, RM_IMPORT_PNG, maps);
    o.names_path = names;
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    rm_relevance r;
    open_result(&f, &r, "import-png", N);
    float *heat = read_all(&r);
    cr_assert_eq(heat[0], png_value(5, 0, 0) / 255.0f);
    cr_assert_eq(heat[5 * H * W + 1], png_value(0, 1, 0) / 255.0f);
    free(heat);
    rm_relevance_close(&r);
    o.force = 1;
    tu_write_text(names, "index,filename\n0,5.png\n1,1.png\n");
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "record 2 has no heatmap: it is not listed in") &&
                  strstr(rm_error_message(), "names.csv"),
              "%s", rm_error_message());
    tu_write_text(names, "0,5.png\nx,1.png\n");
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "names.csv:2: index 'x' is not a record index"), "%s", rm_error_message());
    tu_write_text(names, "0,5.png\n0,1.png\n");
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "names.csv:2: record 0 is listed twice (first on line 1)"), "%s",
              rm_error_message());
    tu_write_text(names, "0,5.png\n6,1.png\n");
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "names.csv:2: record 6 is out of range"), "%s", rm_error_message());
    tu_write_text(names, "0,nothere.png\n");
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "record 0: expected heatmap file") &&
                  strstr(rm_error_message(), "maps/nothere.png (") && strstr(rm_error_message(), "names.csv line 1)"),
              "%s", rm_error_message());
    teardown(&f);
}

/* --- NPY ------------------------------------------------------------------*/

/* numpy.save's layout (version 1.0), as in test_ingest_idx_npy.c. */
static void write_npy(const char *path, const char *descr, const char *shape, const void *data, size_t bytes)
{
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t len = strlen(dict) + 1, hlen = (10 + len + 63) / 64 * 64 - 10, total = 10 + hlen + bytes;
    uint8_t *buf = malloc(total);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)hlen;
    buf[9] = (uint8_t)(hlen >> 8);
    memset(buf + 10, ' ', hlen);
    memcpy(buf + 10, dict, len - 1);
    buf[10 + hlen - 1] = '\n';
    memcpy(buf + 10 + hlen, data, bytes);
    tu_write_file(path, buf, total);
    free(buf);
}

static double map_value(int i, int k) { return (i + 1) * 0.37 - k * 0.011 + (k % 5 == 0 ? 1e-7 : 0); }

Test(relevance_import, npy_round_trip_exact)
{
    fixture f;
    setup(&f);
    static float maps32[N * H * W];
    for (int i = 0; i < N; i++)
        for (int k = 0; k < H * W; k++) maps32[i * H * W + k] = (float)map_value(i, k);
    const char *npy = tu_path(f.dir, "maps.npy");
    write_npy(npy, "<f4", "(6, 8, 12)", maps32, sizeof maps32);
    rm_import_options o = options(&f, RM_IMPORT_NPY, npy);
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    rm_relevance r;
    open_result(&f, &r, "import-npy", N);
    float *heat = read_all(&r);
    cr_assert_eq(memcmp(heat, maps32, sizeof maps32), 0, "float32 maps come back bit for bit");
    free(heat);
    rm_relevance_close(&r);

    /* float64 [M,1,H,W] with record indices, out of order and a subset;
     * --split train drops record 4. */
    static double maps64[3 * H * W];
    const int64_t idx[3] = {4, 0, 2};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < H * W; k++) maps64[i * H * W + k] = map_value(10 + i, k);
    const char *npy64 = tu_path(f.dir, "maps64.npy"), *inpy = tu_path(f.dir, "idx.npy");
    write_npy(npy64, "<f8", "(3, 1, 8, 12)", maps64, sizeof maps64);
    write_npy(inpy, "<i8", "(3,)", idx, sizeof idx);
    o = options(&f, RM_IMPORT_NPY, npy64);
    o.indices_npy = inpy;
    o.split = RM_SPLIT_TRAIN;
    o.force = 1;
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    open_result(&f, &r, "import-npy", 2);
    cr_assert(r.index[0] == 0 && r.index[1] == 2, "rows in file order, record 4 (val) left out");
    heat = read_all(&r);
    for (int k = 0; k < H * W; k++) {
        cr_assert_eq(heat[k], (float)maps64[1 * H * W + k]);
        cr_assert_eq(heat[H * W + k], (float)maps64[2 * H * W + k]);
    }
    cr_assert(strstr(r.parameters, "indices_npy="), "%s", r.parameters);
    free(heat);
    rm_relevance_close(&r);
    teardown(&f);
}

Test(relevance_import, npy_refuses_bad_arrays)
{
    fixture f;
    setup(&f);
    static float maps[N * H * W];
    const char *npy = tu_path(f.dir, "maps.npy");
    maps[4 * H * W + 2 * W + 7] = NAN;
    write_npy(npy, "<f4", "(6, 8, 12)", maps, sizeof maps);
    rm_import_options o = options(&f, RM_IMPORT_NPY, npy);
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "maps.npy: map 4 (record 4): value nan at pixel (7,2)"), "%s",
              rm_error_message());
    cr_assert_eq(tu_dir_entries(f.dir), 2, "no output, no partial file");
    maps[4 * H * W + 2 * W + 7] = 0;
    write_npy(npy, "<f4", "(5, 8, 12)", maps, sizeof maps / N * 5);
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "holds 5 maps but") && strstr(rm_error_message(), "--indices-npy"), "%s",
              rm_error_message());
    write_npy(npy, "<f4", "(6, 12, 8)", maps, sizeof maps);
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "maps are 8x12 (WxH) but the images of"), "%s", rm_error_message());
    write_npy(npy, "<f4", "(6, 2, 8, 6)", maps, sizeof maps);
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "shape (6, 2, 8, 6), expected (N, H, W) or (N, 1, H, W)"), "%s",
              rm_error_message());
    /* Indices out of range or repeated. */
    write_npy(npy, "<f4", "(2, 8, 12)", maps, sizeof maps / N * 2);
    const char *inpy = tu_path(f.dir, "idx.npy");
    int64_t idx[2] = {1, 6};
    write_npy(inpy, "<i8", "(2,)", idx, sizeof idx);
    o.indices_npy = inpy;
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "idx.npy: entry 1: record 6 is out of range"), "%s", rm_error_message());
    idx[1] = 1;
    write_npy(inpy, "<i8", "(2,)", idx, sizeof idx);
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "record 1 appears twice (entries 0 and 1)"), "%s", rm_error_message());
    teardown(&f);
}

/* --- HDF5 -----------------------------------------------------------------*/

Test(relevance_import, hdf5_round_trip)
{
    fixture f;
    setup(&f);
    const char *h5 = tu_path(f.dir, "attention.h5");
    static double maps[N * H * W];
    for (int i = 0; i < N; i++)
        for (int k = 0; k < H * W; k++) maps[i * H * W + k] = -map_value(i, k);
    rm_h5_init();
    hid_t file = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(file, "maps", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[4] = {N, 1, H, W}, idims[1] = {N};
    hid_t space = H5Screate_simple(4, dims, NULL), ispace = H5Screate_simple(1, idims, NULL);
    hid_t d = H5Dcreate2(file, "maps/saliency", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_eq(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, maps), 0);
    /* Row r explains record 5 - r. */
    const int32_t idx[N] = {5, 4, 3, 2, 1, 0};
    hid_t di = H5Dcreate2(file, "maps/record", H5T_STD_I32LE, ispace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_eq(H5Dwrite(di, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, idx), 0);
    H5Dclose(d);
    H5Dclose(di);
    H5Sclose(space);
    H5Sclose(ispace);
    H5Gclose(g);
    H5Fclose(file);

    rm_import_options o = options(&f, RM_IMPORT_HDF5, h5);
    o.hdf5_dataset = "maps/saliency";
    o.block = 4;   /* two blocks of reads and writes */
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    rm_relevance r;
    open_result(&f, &r, "import-hdf5", N);
    float *heat = read_all(&r);
    for (int i = 0; i < N * H * W; i++) cr_assert_eq(heat[i], (float)maps[i]);
    free(heat);
    rm_relevance_close(&r);

    o.indices_dataset = "maps/record";
    o.split = RM_SPLIT_VAL;
    o.force = 1;
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    open_result(&f, &r, "import-hdf5", 1);
    cr_assert_eq(r.index[0], 4);
    heat = read_all(&r);
    for (int k = 0; k < H * W; k++) cr_assert_eq(heat[k], (float)maps[1 * H * W + k], "row 1 explains record 4");
    cr_assert(strstr(r.parameters, "dataset=maps/saliency\n") && strstr(r.parameters, "indices_dataset=maps/record\n"),
              "%s", r.parameters);
    free(heat);
    rm_relevance_close(&r);

    o.hdf5_dataset = "maps/nothing";
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "attention.h5: no dataset 'maps/nothing'"), "%s", rm_error_message());
    teardown(&f);
}

/* --- fixations ------------------------------------------------------------*/

Test(relevance_import, one_fixation_peaks_at_its_place_and_sums_to_one)
{
    fixture f;
    setup(&f);
    const char *csv = tu_path(f.dir, "fix.csv");
    /* Columns in another order plus an ignored one; record 2 has one
     * fixation at pixel (5,3), record 4 two, the others none. */
    tu_write_text(csv, "subject,duration,image,x,y\n"
                       "s1,250,2,5,3\n"
                       "s1,100,4,1.5,2\n"
                       "\n"
                       "s2,300,4,10,6.5\n");
    rm_import_options o = options(&f, RM_IMPORT_FIXATIONS, csv);
    o.sigma = 1.5;
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    rm_relevance r;
    open_result(&f, &r, "import-fixations", 2);
    cr_assert(r.index[0] == 2 && r.index[1] == 4, "records without fixations are left out");
    float *heat = read_all(&r);
    for (int e = 0; e < 2; e++) {
        double sum = 0;
        for (int k = 0; k < H * W; k++) sum += heat[e * H * W + k];
        cr_assert(fabs(sum - 1) < 1e-5, "entry %d sums to %.9f", e, sum);
        cr_assert(fabs(r.sum[e] - 1) < 1e-5);
    }
    int best = 0;
    for (int k = 1; k < H * W; k++)
        if (heat[k] > heat[best]) best = k;
    cr_assert_eq(best, 3 * W + 5, "peak at pixel (%d,%d), expected (5,3)", best % W, best / W);
    /* Isotropic: equal distances, equal density. */
    cr_assert_float_eq(heat[3 * W + 4], heat[3 * W + 6], 1e-9);
    cr_assert_float_eq(heat[3 * W + 4], heat[2 * W + 5], 1e-9);
    /* Duration weighs: the 300 ms fixation's peak is higher. */
    const float *h4 = heat + H * W;
    cr_assert_gt(h4[6 * W + 10], h4[2 * W + 1]);
    cr_assert(strstr(r.parameters, "source=fixations\n") && strstr(r.parameters, "sigma=1.5\n") &&
                  strstr(r.parameters, "normalized=0\n"),
              "%s", r.parameters);
    free(heat);
    rm_relevance_close(&r);

    /* The same fixation in [0, 1] coordinates: (5 + 0.5) / 12, (3 + 0.5) / 8. */
    tu_write_text(csv, "image,x,y,duration\n2,0.4583333333333333,0.4375,250\n");
    o.normalized = 1;
    o.force = 1;
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    open_result(&f, &r, "import-fixations", 1);
    heat = read_all(&r);
    best = 0;
    for (int k = 1; k < H * W; k++)
        if (heat[k] > heat[best]) best = k;
    cr_assert_eq(best, 3 * W + 5);
    cr_assert_float_eq(heat[3 * W + 4], heat[3 * W + 6], 1e-7, "centred on pixel 5, not between 5 and 6");
    cr_assert_float_eq(heat[2 * W + 5], heat[4 * W + 5], 1e-7, "centred on pixel row 3");
    free(heat);
    rm_relevance_close(&r);
    teardown(&f);
}

Test(relevance_import, fixation_density_default_sigma_is_width_over_16)
{
    fixture f;
    setup(&f);
    const char *csv = tu_path(f.dir, "fix.csv");
    tu_write_text(csv, "image,x,y,duration\n1,0,0,10\n");
    rm_import_options o = options(&f, RM_IMPORT_FIXATIONS, csv);
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    rm_relevance r;
    open_result(&f, &r, "import-fixations", 1);
    cr_assert(strstr(r.parameters, "sigma=0.75\n"), "%s", r.parameters);
    float *heat = read_all(&r);
    /* exp(-1 / (2 sigma^2)) between neighbours. */
    cr_assert_float_eq(heat[1] / heat[0], exp(-1 / (2 * 0.75 * 0.75)), 1e-6);
    free(heat);
    rm_relevance_close(&r);
    /* The library function on its own: weights scale out. */
    rm_fixation fx[2] = {{.x = 2, .y = 1, .weight = 1e300}, {.x = 0, .y = 0, .weight = 1e300}};
    float a[4 * 3], b[4 * 3];
    cr_assert_eq(rm_fixation_density(fx, 2, 3, 4, 1, a), 0, "%s", rm_error_message());
    fx[0].weight = fx[1].weight = 2;
    cr_assert_eq(rm_fixation_density(fx, 2, 3, 4, 1, b), 0);
    for (int k = 0; k < 12; k++) cr_assert_float_eq(a[k], b[k], 1e-7);
    fx[0].weight = fx[1].weight = 0;
    cr_assert_neq(rm_fixation_density(fx, 2, 3, 4, 1, b), 0);
    teardown(&f);
}

static void expect_fixation_error(fixture *f, const char *text, const char *want)
{
    const char *csv = tu_path(f->dir, "fix.csv");
    tu_write_text(csv, text);
    rm_import_options o = options(f, RM_IMPORT_FIXATIONS, csv);
    cr_assert_neq(rm_relevance_import(&o), 0, "accepted:\n%s", text);
    cr_assert(strstr(rm_error_message(), want), "expected '%s' in: %s", want, rm_error_message());
    cr_assert_not(tu_file_exists(f->out));
    cr_assert_eq(tu_dir_entries(f->dir), 2, "d.h5 and fix.csv only");
}

Test(relevance_import, fixation_bad_lines_name_file_and_line)
{
    fixture f;
    setup(&f);
    const char *head = "image,x,y,duration\n1,2,3,100\n";
    char text[512];
#define BAD(line, want)                                                                                                \
    do {                                                                                                               \
        snprintf(text, sizeof text, "%s%s\n", head, line);                                                             \
        expect_fixation_error(&f, text, want);                                                                         \
    } while (0)
    BAD("abc,2,3,100", "fix.csv:3: image 'abc' is not a record index");
    BAD("1.5,2,3,100", "fix.csv:3: image '1.5' is not a record index");
    BAD("6,2,3,100", "fix.csv:3: image 6 is out of range");
    BAD("-1,2,3,100", "fix.csv:3: image -1 is out of range");
    BAD("1,two,3,100", "fix.csv:3: x 'two' is not a finite number");
    BAD("1,2,nan,100", "fix.csv:3: y 'nan' is not a finite number");
    BAD("1,2,3,", "fix.csv:3: duration '' is not a finite number");
    BAD("1,2,3,-5", "fix.csv:3: duration -5 is negative");
    BAD("1,12,3,100", "fix.csv:3: x 12 is outside the image");
    BAD("1,2,-0.6,100", "fix.csv:3: y -0.6 is outside the image");
    BAD("1,2,3", "fix.csv:3: expected 4 comma-separated fields as in the header, got 3");
    BAD("1,2,3,4,5", "fix.csv:3: expected 4 comma-separated fields as in the header, got 5");
#undef BAD
    expect_fixation_error(&f, "image,x,duration\n1,2,3\n", "fix.csv:1: expected a header naming the columns");
    expect_fixation_error(&f, "1,2,3,100\n", "fix.csv:1: expected a header naming the columns");
    expect_fixation_error(&f, "", "fix.csv: empty file, expected a header line");
    expect_fixation_error(&f, "image,x,y,duration\n1,2,3,0\n", "no fixation with a positive duration");
    /* Edges of the image are inside; with --normalized, [0, 1]. */
    const char *csv = tu_path(f.dir, "fix.csv");
    tu_write_text(csv, "image,x,y,duration\n1,-0.5,7.5,1\n1,11.5,-0.5,1\n");
    rm_import_options o = options(&f, RM_IMPORT_FIXATIONS, csv);
    cr_assert_eq(rm_relevance_import(&o), 0, "%s", rm_error_message());
    tu_write_text(csv, "image,x,y,duration\n1,0.5,1.01,1\n");
    o.normalized = 1;
    o.force = 1;
    cr_assert_neq(rm_relevance_import(&o), 0);
    cr_assert(strstr(rm_error_message(), "fix.csv:2: y 1.01 is outside [0, 1]"), "%s", rm_error_message());
    teardown(&f);
}

/* --- the command ----------------------------------------------------------*/

static void expect_cli(int want, const char *want_text, const char *args)
{
    char *out;
    int code = tu_run_cli(&out, "%s", args);
    cr_assert_eq(code, want, "relmask %s: exit %d, expected %d; output:\n%s", args, code, want, out);
    if (want_text) cr_assert(strstr(out, want_text), "relmask %s: expected '%s' in:\n%s", args, want_text, out);
    free(out);
}

Test(relevance_import, command_usage_errors_and_a_run)
{
    fixture f;
    setup(&f);
    expect_cli(0, "usage: relmask relevance import", IMPORT_CMD " --help");
    expect_cli(2, "give exactly one of --png, --npy, --hdf5 and --fixations", IMPORT_CMD " -d d.h5 -o r.h5");
    expect_cli(2, "give exactly one of", IMPORT_CMD " --png a --npy b -d d.h5 -o r.h5");
    expect_cli(2, "--hdf5 needs --dataset NAME", IMPORT_CMD " --hdf5 a.h5 -d d.h5 -o r.h5");
    expect_cli(2, "--data FILE is required", IMPORT_CMD " --npy a.npy -o r.h5");
    expect_cli(2, "belong to --png", IMPORT_CMD " --npy a.npy --signed -d d.h5 -o r.h5");
    expect_cli(2, "--sigma '0'", IMPORT_CMD " --fixations f.csv --sigma 0 -d d.h5 -o r.h5");
    expect_cli(2, "--split", IMPORT_CMD " --fixations f.csv --split bogus -d d.h5 -o r.h5");
    const char *csv = tu_path(f.dir, "fix.csv");
    tu_write_text(csv, "image,x,y,duration\n0,1,1,200\n3,4,4,80\n9,1,1,1\n");
    char args[8192];
    snprintf(args, sizeof args, IMPORT_CMD " -q --fixations %s -d %s -o %s", csv, f.data, f.out);
    expect_cli(1, "fix.csv:4: image 9 is out of range", args);
    tu_write_text(csv, "image,x,y,duration\n0,1,1,200\n3,4,4,80\n");
    expect_cli(0, NULL, args);
    rm_relevance r;
    open_result(&f, &r, "import-fixations", 2);
    char *cmdline;
    cr_assert_eq(rm_relevance_read_attr(&r, "command_line", &cmdline), 0);
    cr_assert(cmdline && strstr(cmdline, "--fixations"), "%s", cmdline ? cmdline : "(none)");
    free(cmdline);
    rm_relevance_close(&r);
    expect_cli(1, "already exists; use --force", args);
    teardown(&f);
}
