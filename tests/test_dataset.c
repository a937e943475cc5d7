/* Dataset schema v1: writer/reader round trips, stratified split, atomic
 * output and validation of files that are not relmask datasets. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "test_util.h"

static const char *const names3[] = {"a", "b", "c"};

static rm_dataset_spec spec3(int channels, int has_regions)
{
    rm_dataset_spec s = {.channels = channels, .height = 5, .width = 7, .num_classes = 3,
                         .class_names = names3, .has_regions = has_regions,
                         .source_format = "test", .source_path = "memory", .deflate_level = 4};
    return s;
}

/* Writes n records whose pixels encode (record, position). */
static void write_records(const char *path, int n, int channels, int has_regions, uint8_t split)
{
    rm_dataset_writer *w;
    rm_dataset_spec s = spec3(channels, has_regions);
    cr_assert_eq(rm_dataset_writer_open(&w, path, &s, 0), 0, "%s", rm_error_message());
    uint8_t img[RM_DATASET_MAX_CHANNELS * 35], reg[35];
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < channels * 35; k++) img[k] = (uint8_t)(i * 7 + k);
        for (int k = 0; k < 35; k++) reg[k] = (uint8_t)((i + k) & 1);
        cr_assert_eq(rm_dataset_writer_append(w, img, i % 3, split, has_regions ? reg : NULL), 0, "%s",
                     rm_error_message());
    }
    cr_assert_eq(rm_dataset_writer_set_attr(w, "note", "hello"), 0);
    rm_split_spec sp = {.val_fraction = 0.2, .test_fraction = 0.2, .seed = 3};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
}

Test(dataset, round_trip_exact_bytes_across_chunks)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "d.h5");
    write_records(path, 150, 3, 1, RM_SPLIT_TRAIN);   /* 150 > one 64-record chunk */
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, path), 0, "%s", rm_error_message());
    cr_assert_eq(ds.count, 150);
    cr_assert_eq(ds.channels, 3);
    cr_assert_eq(ds.height, 5);
    cr_assert_eq(ds.width, 7);
    cr_assert_eq(ds.num_classes, 3);
    cr_assert_str_eq(ds.class_names[2], "c");
    cr_assert(ds.has_regions);
    uint8_t *img = malloc(150 * 105), *reg = malloc(150 * 35);
    cr_assert_eq(rm_dataset_read_images(&ds, 0, 150, img), 0);
    cr_assert_eq(rm_dataset_read_regions(&ds, 0, 150, reg), 0);
    for (int i = 0; i < 150; i++) {
        cr_assert_eq(ds.labels[i], i % 3);
        cr_assert_eq(ds.split[i], RM_SPLIT_TRAIN);
        for (int k = 0; k < 105; k++) cr_assert_eq(img[i * 105 + k], (uint8_t)(i * 7 + k));
        for (int k = 0; k < 35; k++) cr_assert_eq(reg[i * 35 + k], (uint8_t)((i + k) & 1));
    }
    uint8_t one[105];
    cr_assert_eq(rm_dataset_read_images(&ds, 149, 1, one), 0);
    cr_assert_eq(memcmp(one, img + 149 * 105, 105), 0);
    cr_assert_neq(rm_dataset_read_images(&ds, 149, 2, one), 0, "reading past the end must fail");
    char *note;
    cr_assert_eq(rm_dataset_read_attr(&ds, "note", &note), 0);
    cr_assert_str_eq(note, "hello");
    free(note);
    char *schema;
    cr_assert_eq(rm_dataset_read_attr(&ds, "schema", &schema), 0);
    cr_assert_str_eq(schema, "relmask.dataset");
    free(schema);
    rm_dataset_close(&ds);
    free(img);
    free(reg);
    tu_rmtree(dir);
}

Test(dataset, image_attributes_for_hdfview)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "d.h5");
    write_records(path, 3, 1, 0, RM_SPLIT_TEST);
    rm_h5_init();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "images", H5P_DEFAULT);
    char *cls, *sub;
    cr_assert_eq(rm_h5_attr_get_string(d, "CLASS", &cls), 0);
    cr_assert_str_eq(cls, "IMAGE");
    cr_assert_eq(rm_h5_attr_get_string(d, "IMAGE_SUBCLASS", &sub), 0);
    cr_assert_str_eq(sub, "IMAGE_GRAYSCALE");
    hid_t dcpl = H5Dget_create_plist(d);
    cr_assert_eq(H5Pget_layout(dcpl), H5D_CHUNKED);
    hsize_t chunk[4];
    H5Pget_chunk(dcpl, 4, chunk);
    cr_assert_eq(chunk[0], 64);
    cr_assert_eq(H5Pget_nfilters(dcpl), 2, "shuffle + deflate");
    H5Pclose(dcpl);
    free(cls);
    free(sub);
    H5Dclose(d);
    H5Fclose(f);
    tu_rmtree(dir);
}

/* Two and four channels (a relevance channel appended by relmask encode)
 * round-trip and are marked grayscale (the Image specification has no
 * reading for them as colour); five are refused. */
Test(dataset, two_and_four_channels_round_trip)
{
    char *dir = tu_scratch_dir();
    for (int channels = 2; channels <= 4; channels += 2) {
        const char *path = tu_path(dir, channels == 2 ? "d2.h5" : "d4.h5");
        write_records(path, 70, channels, 0, RM_SPLIT_TRAIN);
        rm_dataset ds;
        cr_assert_eq(rm_dataset_open(&ds, path), 0, "%s", rm_error_message());
        cr_assert_eq(ds.channels, channels);
        size_t bytes = (size_t)channels * 35;
        uint8_t *img = malloc(70 * bytes);
        cr_assert_eq(rm_dataset_read_images(&ds, 0, 70, img), 0);
        for (int i = 0; i < 70; i++)
            for (size_t k = 0; k < bytes; k++) cr_assert_eq(img[i * bytes + k], (uint8_t)(i * 7 + (int)k));
        free(img);
        hid_t d = H5Dopen2((hid_t)ds.hfile, "images", H5P_DEFAULT);
        char *sub;
        cr_assert_eq(rm_h5_attr_get_string(d, "IMAGE_SUBCLASS", &sub), 0);
        cr_assert_str_eq(sub, "IMAGE_GRAYSCALE");
        cr_assert_not(rm_h5_attr_exists(d, "INTERLACE_MODE"));
        free(sub);
        H5Dclose(d);
        rm_dataset_close(&ds);
    }
    rm_dataset_writer *w;
    rm_dataset_spec s = spec3(5, 0);
    cr_assert_neq(rm_dataset_writer_open(&w, tu_path(dir, "d5.h5"), &s, 0), 0);
    cr_assert(strstr(rm_error_message(), "5 channels"), "%s", rm_error_message());
    tu_rmtree(dir);
}

/* Numeric root attributes and per-record flag vectors (/encoded). */
Test(dataset, numeric_attributes_and_flag_vectors)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "d.h5");
    rm_dataset_spec s = spec3(1, 0);
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, path, &s, 0), 0, "%s", rm_error_message());
    uint8_t img[35] = {0}, flags[3] = {1, 0, 1};
    for (int i = 0; i < 3; i++) cr_assert_eq(rm_dataset_writer_append(w, img, i, RM_SPLIT_TRAIN, NULL), 0);
    double means[2] = {12.5, -0.25};
    cr_assert_eq(rm_dataset_writer_set_attr_int(w, "records_x", -7), 0);
    cr_assert_eq(rm_dataset_writer_set_attr_doubles(w, "means", 2, means), 0);
    cr_assert_eq(rm_dataset_writer_set_flags(w, "encoded", flags, 3, "1 = encoded"), 0);
    rm_split_spec sp = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int64_t x;
    cr_assert_eq(rm_h5_attr_get_int(f, "records_x", &x), 0);
    cr_assert_eq(x, -7);
    double got[2];
    cr_assert_geq(H5LTget_attribute_double(f, ".", "means", got), 0);
    cr_assert(got[0] == 12.5 && got[1] == -0.25);
    uint8_t back[3];
    hid_t d = H5Dopen2(f, "encoded", H5P_DEFAULT);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, back), 0);
    cr_assert_eq(memcmp(back, flags, 3), 0);
    char *desc;
    cr_assert_eq(rm_h5_attr_get_string(d, "description", &desc), 0);
    cr_assert_str_eq(desc, "1 = encoded");
    free(desc);
    H5Dclose(d);
    H5Fclose(f);
    /* A flag vector of the wrong length is refused and nothing is written. */
    cr_assert_eq(rm_dataset_writer_open(&w, path, &s, 1), 0);
    cr_assert_eq(rm_dataset_writer_append(w, img, 0, RM_SPLIT_TRAIN, NULL), 0);
    cr_assert_eq(rm_dataset_writer_set_flags(w, "encoded", flags, 3, NULL), 0);
    cr_assert_neq(rm_dataset_writer_finish(w, &sp), 0);
    cr_assert(strstr(rm_error_message(), "/encoded has 3 values for 1 records"), "%s", rm_error_message());
    cr_assert_eq(tu_dir_entries(dir), 1, "the earlier file only");
    tu_rmtree(dir);
}

Test(dataset, stratified_split_is_per_class_and_deterministic)
{
    enum { N = 1000 };
    int32_t labels[N];
    uint8_t a[N], b[N];
    for (int i = 0; i < N; i++) {
        labels[i] = i < 700 ? 0 : i < 900 ? 1 : 2;   /* 700 / 200 / 100 */
        a[i] = b[i] = RM_SPLIT_UNASSIGNED;
    }
    rm_split_spec sp = {.val_fraction = 0.1, .test_fraction = 0.2, .seed = 9};
    cr_assert_eq(rm_split_assign(a, labels, N, 3, &sp), 0);
    cr_assert_eq(rm_split_assign(b, labels, N, 3, &sp), 0);
    cr_assert_eq(memcmp(a, b, N), 0, "same seed, same split");
    int counts[3][3] = {{0}};
    for (int i = 0; i < N; i++) {
        cr_assert_lt(a[i], RM_SPLIT_COUNT);
        counts[labels[i]][a[i]]++;
    }
    int sizes[3] = {700, 200, 100};
    for (int c = 0; c < 3; c++) {
        cr_assert_eq(counts[c][RM_SPLIT_TEST], sizes[c] / 5);
        cr_assert_eq(counts[c][RM_SPLIT_VAL], sizes[c] / 10);
    }
    sp.seed = 10;
    memset(b, RM_SPLIT_UNASSIGNED, N);
    cr_assert_eq(rm_split_assign(b, labels, N, 3, &sp), 0);
    cr_assert_neq(memcmp(a, b, N), 0, "another seed, another split");
}

Test(dataset, split_pool_gets_val_only_and_fixed_splits_stay)
{
    enum { N = 100 };
    int32_t labels[N];
    uint8_t s[N];
    for (int i = 0; i < N; i++) {
        labels[i] = i % 2;
        s[i] = i < 80 ? RM_SPLIT_POOL : RM_SPLIT_TEST;
    }
    rm_split_spec sp = {.val_fraction = 0.25, .test_fraction = 0.3, .seed = 1};
    cr_assert_eq(rm_split_assign(s, labels, N, 2, &sp), 0);
    int n[3] = {0};
    for (int i = 0; i < N; i++) n[s[i]]++;
    cr_assert_eq(n[RM_SPLIT_TEST], 20, "pool records never become test");
    cr_assert_eq(n[RM_SPLIT_VAL], 20);
    cr_assert_eq(n[RM_SPLIT_TRAIN], 60);
}

Test(dataset, bad_split_fractions_rejected)
{
    int32_t l[2] = {0, 0};
    uint8_t s[2] = {RM_SPLIT_UNASSIGNED, RM_SPLIT_UNASSIGNED};
    rm_split_spec sp = {.val_fraction = 0.6, .test_fraction = 0.5};
    cr_assert_neq(rm_split_assign(s, l, 2, 1, &sp), 0);
    cr_assert(strstr(rm_error_message(), "--val"));
}

Test(dataset, existing_output_needs_force_and_abort_leaves_nothing)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "d.h5");
    write_records(path, 4, 1, 0, RM_SPLIT_TRAIN);
    rm_dataset_writer *w;
    rm_dataset_spec s = spec3(1, 0);
    cr_assert_neq(rm_dataset_writer_open(&w, path, &s, 0), 0);
    cr_assert(strstr(rm_error_message(), "--force"), "%s", rm_error_message());
    cr_assert_eq(rm_dataset_writer_open(&w, path, &s, 1), 0);
    uint8_t img[35] = {0};
    cr_assert_eq(rm_dataset_writer_append(w, img, 0, RM_SPLIT_TRAIN, NULL), 0);
    cr_assert_neq(rm_dataset_writer_append(w, img, 3, RM_SPLIT_TRAIN, NULL), 0, "label 3 of 3 classes");
    cr_assert_eq(tu_dir_entries(dir), 2, "the old file and the temporary one");
    rm_dataset_writer_abort(w);
    cr_assert_eq(tu_dir_entries(dir), 1, "the temporary file is gone");
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, path), 0, "the previous file is intact: %s", rm_error_message());
    cr_assert_eq(ds.count, 4);
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}

Test(dataset, output_in_missing_directory_fails_clearly)
{
    rm_dataset_writer *w;
    rm_dataset_spec s = spec3(1, 0);
    cr_assert_neq(rm_dataset_writer_open(&w, "/nonexistent-dir/x.h5", &s, 0), 0);
    cr_assert(strstr(rm_error_message(), "does not exist"), "%s", rm_error_message());
}

Test(dataset, not_hdf5_and_not_relmask_are_reported)
{
    char *dir = tu_scratch_dir();
    const char *txt = tu_path(dir, "x.h5");
    tu_write_text(txt, "hello, not hdf5\n");
    rm_dataset ds;
    cr_assert_neq(rm_dataset_open(&ds, txt), 0);
    cr_assert(strstr(rm_error_message(), "not an HDF5 file"), "%s", rm_error_message());
    cr_assert(strstr(rm_error_message(), "x.h5"));

    const char *plain = tu_path(dir, "plain.h5");
    rm_h5_init();
    hid_t f = H5Fcreate(plain, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    cr_assert_neq(rm_dataset_open(&ds, plain), 0);
    cr_assert(strstr(rm_error_message(), "no 'schema' attribute"), "%s", rm_error_message());

    f = H5Fcreate(plain, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    rm_h5_attr_set_string(f, "schema", "relmask.dataset");
    rm_h5_attr_set_int(f, "schema_version", 2);
    H5Fclose(f);
    cr_assert_neq(rm_dataset_open(&ds, plain), 0);
    cr_assert(strstr(rm_error_message(), "version 2"), "%s", rm_error_message());

    f = H5Fcreate(plain, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    rm_h5_attr_set_string(f, "schema", "relmask.dataset");
    rm_h5_attr_set_int(f, "schema_version", 1);
    H5Fclose(f);
    cr_assert_neq(rm_dataset_open(&ds, plain), 0);
    cr_assert(strstr(rm_error_message(), "missing dataset /images"), "%s", rm_error_message());

    cr_assert_neq(rm_dataset_open(&ds, tu_path(dir, "absent.h5")), 0);
    cr_assert(strstr(rm_error_message(), "cannot open"), "%s", rm_error_message());
    tu_rmtree(dir);
}

Test(dataset, labels_out_of_range_in_file_are_reported)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "d.h5");
    write_records(path, 5, 1, 0, RM_SPLIT_TRAIN);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "labels", H5P_DEFAULT);
    int32_t bad[5] = {0, 1, 7, 0, 1};
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, bad);
    H5Dclose(d);
    H5Fclose(f);
    rm_dataset ds;
    cr_assert_neq(rm_dataset_open(&ds, path), 0);
    cr_assert(strstr(rm_error_message(), "record 2: label 7"), "%s", rm_error_message());
    tu_rmtree(dir);
}

/* /source: records given a source keep it, the others read as "", past
 * the writer's first source block too. */
Test(dataset, sources_of_some_records)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "s.h5");
    static const char *const names[2] = {"a", "b"};
    rm_dataset_spec s = {.channels = 1, .height = 2, .width = 2, .num_classes = 2, .class_names = names,
                         .source_format = "test", .source_path = "memory", .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, path, &s, 0), 0, "%s", rm_error_message());
    const uint8_t img[4] = {1, 2, 3, 4};
    enum { N = 3000 };
    for (int i = 0; i < N; i++) {
        cr_assert_eq(rm_dataset_writer_append(w, img, i % 2, RM_SPLIT_TRAIN, NULL), 0);
        if (i == 0) cr_assert_eq(rm_dataset_writer_set_source(w, "faces/a.png"), 0, "%s", rm_error_message());
    }
    rm_split_spec sp = {0};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, path), 0, "%s", rm_error_message());
    cr_assert(ds.has_source);
    char src[64];
    cr_assert_eq(rm_dataset_read_source(&ds, 0, src, sizeof src), 0, "%s", rm_error_message());
    cr_assert_str_eq(src, "faces/a.png");
    cr_assert_eq(rm_dataset_read_source(&ds, N - 1, src, sizeof src), 0, "%s", rm_error_message());
    cr_assert_str_eq(src, "");
    cr_assert_neq(rm_dataset_read_source(&ds, N, src, sizeof src), 0, "past the last record");
    rm_dataset_close(&ds);

    /* info --record: out of range is an error naming the range. */
    char *out;
    cr_assert_eq(tu_run_cli(&out, "info --record %d '%s'", N, path), 1, "%s", out);
    cr_assert(strstr(out, "--record 3000: the dataset has records 0..2999"), "%s", out);
    free(out);

    /* A /source that is not strings, or of another length, is refused. */
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(f >= 0);
    cr_assert(H5Ldelete(f, "source", H5P_DEFAULT) >= 0);
    int32_t numbers[N] = {0};
    hsize_t n = N;
    cr_assert(H5LTmake_dataset_int(f, "source", 1, &n, numbers) >= 0);
    H5Fclose(f);
    cr_assert_neq(rm_dataset_open(&ds, path), 0);
    cr_assert(strstr(rm_error_message(), "/source: expected variable-length strings [3000]"), "%s",
              rm_error_message());
    tu_rmtree(dir);
}
