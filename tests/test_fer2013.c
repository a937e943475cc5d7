/* FER2013 CSV ingestion: exact round trips, Usage -> split, and every kind
 * of bad row reported with file and line, leaving no output behind. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "ingest/ingest.h"
#include "test_util.h"

enum { PIX = 2304 };

/* Appends a row whose pixel k is (seed + k) % 256; n pixels. */
static void add_row(FILE *f, const char *emotion, int seed, int n, const char *usage)
{
    fprintf(f, "%s,", emotion);
    for (int k = 0; k < n; k++) fprintf(f, "%s%d", k ? " " : "", (seed + k) % 256);
    if (usage) fprintf(f, ",%s", usage);
    fputc('\n', f);
}

static FILE *open_csv(const char *path, int with_usage)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(with_usage ? "emotion,pixels,Usage\n" : "emotion,pixels\n", f);
    return f;
}

static rm_ingest_options options(const char *out)
{
    rm_ingest_options o;
    rm_ingest_options_init(&o);
    o.out_path = out;
    return o;
}

Test(fer2013, rows_round_trip_with_usage_splits)
{
    char *dir = tu_scratch_dir();
    const char *csv = tu_path(dir, "fer.csv"), *out = tu_path(dir, "fer.h5");
    FILE *f = open_csv(csv, 1);
    static const char *const usage[3] = {"Training", "PublicTest", "PrivateTest"};
    for (int i = 0; i < 21; i++) {
        char e[8];
        snprintf(e, sizeof e, "%d", i % 7);
        add_row(f, e, i * 11, PIX, usage[i % 3]);
    }
    fclose(f);
    rm_ingest_options o = options(out);
    cr_assert_eq(rm_ingest_fer2013(csv, &o), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, out), 0, "%s", rm_error_message());
    cr_assert_eq(ds.count, 21);
    cr_assert_eq(ds.width, 48);
    cr_assert_eq(ds.num_classes, 7);
    cr_assert_str_eq(ds.class_names[0], "angry");
    cr_assert_str_eq(ds.class_names[6], "neutral");
    uint8_t *img = malloc(21 * PIX);
    cr_assert_eq(rm_dataset_read_images(&ds, 0, 21, img), 0);
    for (int i = 0; i < 21; i++) {
        cr_assert_eq(ds.labels[i], i % 7);
        cr_assert_eq(ds.split[i], i % 3, "Training/PublicTest/PrivateTest -> train/val/test");
        for (int k = 0; k < PIX; k++) cr_assert_eq(img[i * PIX + k], (i * 11 + k) % 256);
    }
    char *fmt;
    cr_assert_eq(rm_dataset_read_attr(&ds, "source_format", &fmt), 0);
    cr_assert_str_eq(fmt, "fer2013-csv");
    free(fmt);
    /* the provenance names no fractions that drew nothing */
    char *params;
    cr_assert_eq(rm_dataset_read_attr(&ds, "ingest_parameters", &params), 0);
    cr_assert(strstr(params, "split=from the input for every record"), "%s", params);
    cr_assert_null(strstr(params, "val="), "%s", params);
    cr_assert_null(strstr(params, "test="), "%s", params);
    free(params);
    free(img);
    rm_dataset_close(&ds);

    /* info says the Usage column made the split, and shows no fractions
     * that were never applied. */
    char *text;
    cr_assert_eq(tu_run_cli(&text, "info '%s'", out), 0, "%s", text);
    cr_assert(strstr(text, "split: 21 records as the input split them\n"), "%s", text);
    cr_assert_null(strstr(text, "split_val_fraction"), "%s", text);
    cr_assert_null(strstr(text, "fraction"), "%s", text);
    free(text);
    /* Record 4 is the CSV's line 6 (a header, then one row per record). */
    cr_assert_eq(tu_run_cli(&text, "info --record 4 '%s'", out), 0, "%s", text);
    cr_assert(strstr(text, "record 4: label 4 (sad), split val, source fer.csv:6\n"), "%s", text);
    free(text);
    tu_rmtree(dir);
}

Test(fer2013, without_usage_is_split_stratified_and_resized)
{
    char *dir = tu_scratch_dir();
    const char *csv = tu_path(dir, "fer.csv"), *out = tu_path(dir, "fer.h5");
    FILE *f = open_csv(csv, 0);
    for (int i = 0; i < 70; i++) {
        char e[8];
        snprintf(e, sizeof e, "%d", i % 7);
        add_row(f, e, 0, PIX, NULL);
    }
    fclose(f);
    rm_ingest_options o = options(out);
    o.width = o.height = 24;
    o.channels = 3;
    o.split.val_fraction = 0.2;
    o.split.test_fraction = 0.1;
    cr_assert_eq(rm_ingest_fer2013(csv, &o), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, out), 0, "%s", rm_error_message());
    cr_assert_eq(ds.width, 24);
    cr_assert_eq(ds.channels, 3);
    int per[7][3] = {{0}};
    for (size_t i = 0; i < ds.count; i++) per[ds.labels[i]][ds.split[i]]++;
    for (int c = 0; c < 7; c++) {
        cr_assert_eq(per[c][RM_SPLIT_VAL], 2);
        cr_assert_eq(per[c][RM_SPLIT_TEST], 1);
        cr_assert_eq(per[c][RM_SPLIT_TRAIN], 7);
    }
    char *params;
    cr_assert_eq(rm_dataset_read_attr(&ds, "ingest_parameters", &params), 0);
    cr_assert(strstr(params, "val=0.2\ntest=0.1\nseed=1\n"), "%s", params);
    free(params);
    rm_dataset_close(&ds);
    char *text;
    cr_assert_eq(tu_run_cli(&text, "info '%s'", out), 0, "%s", text);
    cr_assert(strstr(text, "split: 70 records split into train/val/test (val 0.2, test 0.1, seed 1)\n"), "%s", text);
    free(text);
    tu_rmtree(dir);
}

/* Writes a file with two good rows and the given bad row third (line 4),
 * ingests it and checks the message and that no output exists. */
static void expect_bad_row(const char *bad_row_text, const char *expected)
{
    char *dir = tu_scratch_dir();
    const char *csv = tu_path(dir, "bad.csv"), *out = tu_path(dir, "bad.h5");
    FILE *f = open_csv(csv, 1);
    add_row(f, "1", 0, PIX, "Training");
    add_row(f, "2", 0, PIX, "Training");
    fputs(bad_row_text, f);
    add_row(f, "3", 0, PIX, "Training");
    fclose(f);
    rm_ingest_options o = options(out);
    cr_assert_neq(rm_ingest_fer2013(csv, &o), 0);
    const char *msg = rm_error_message();
    cr_assert(strstr(msg, "bad.csv:4"), "message should name file and line: %s", msg);
    cr_assert(strstr(msg, expected), "expected '%s' in: %s", expected, msg);
    cr_assert_not(tu_file_exists(out), "no output after an error");
    cr_assert_eq(tu_dir_entries(dir), 1, "no temporary file left");

    o.skip_bad = 1;
    cr_assert_eq(rm_ingest_fer2013(csv, &o), 0, "--skip-bad: %s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, out), 0);
    cr_assert_eq(ds.count, 3, "the bad row is skipped");
    char *skipped;
    cr_assert_eq(rm_dataset_read_attr(&ds, "records_skipped", &skipped), 0);
    cr_assert_str_eq(skipped, "1");
    free(skipped);
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}

static char *row_text(const char *emotion, int n, const char *pixel_override, const char *usage)
{
    size_t cap = 16 * PIX;
    char *s = malloc(cap);
    size_t len = (size_t)sprintf(s, "%s,", emotion);
    for (int k = 0; k < n; k++)
        len += (size_t)sprintf(s + len, "%s%s", k ? " " : "", k == 5 && pixel_override ? pixel_override : "7");
    sprintf(s + len, ",%s\n", usage);
    return s;
}

Test(fer2013, wrong_pixel_count)
{
    char *r = row_text("1", PIX - 1, NULL, "Training");
    expect_bad_row(r, "expected 2304 pixels, got 2303");
    free(r);
}

Test(fer2013, non_numeric_pixel)
{
    char *r = row_text("1", PIX, "12a", "Training");
    expect_bad_row(r, "pixel 6 '12a' is not an integer 0..255");
    free(r);
}

Test(fer2013, pixel_out_of_range)
{
    char *r = row_text("1", PIX, "256", "Training");
    expect_bad_row(r, "pixel 6 '256'");
    free(r);
}

Test(fer2013, emotion_out_of_range)
{
    char *r = row_text("7", PIX, NULL, "Training");
    expect_bad_row(r, "emotion '7' is not an integer 0..6");
    free(r);
}

Test(fer2013, non_numeric_emotion)
{
    char *r = row_text("happy", PIX, NULL, "Training");
    expect_bad_row(r, "emotion 'happy'");
    free(r);
}

Test(fer2013, unknown_usage)
{
    char *r = row_text("1", PIX, NULL, "Validation");
    expect_bad_row(r, "Usage 'Validation'");
    free(r);
}

Test(fer2013, missing_field)
{
    expect_bad_row("3\n", "expected 3 comma-separated fields, got 1");
}

Test(fer2013, empty_and_headerless_files)
{
    char *dir = tu_scratch_dir();
    const char *csv = tu_path(dir, "e.csv"), *out = tu_path(dir, "e.h5");
    rm_ingest_options o = options(out);
    tu_write_text(csv, "");
    cr_assert_neq(rm_ingest_fer2013(csv, &o), 0);
    cr_assert(strstr(rm_error_message(), "e.csv: empty file"), "%s", rm_error_message());
    tu_write_text(csv, "0,1 2 3,Training\n");
    cr_assert_neq(rm_ingest_fer2013(csv, &o), 0);
    cr_assert(strstr(rm_error_message(), "e.csv:1: expected a header"), "%s", rm_error_message());
    tu_write_text(csv, "emotion,pixels,Usage\n");
    cr_assert_neq(rm_ingest_fer2013(csv, &o), 0);
    cr_assert(strstr(rm_error_message(), "no records"), "%s", rm_error_message());
    cr_assert_neq(rm_ingest_fer2013(tu_path(dir, "missing.csv"), &o), 0);
    cr_assert(strstr(rm_error_message(), "missing.csv: cannot open"), "%s", rm_error_message());
    cr_assert_not(tu_file_exists(out));
    tu_rmtree(dir);
}

Test(fer2013, overlong_line_is_an_error_not_an_allocation)
{
    char *dir = tu_scratch_dir();
    const char *csv = tu_path(dir, "long.csv"), *out = tu_path(dir, "long.h5");
    FILE *f = open_csv(csv, 1);
    fputs("1,", f);
    for (int i = 0; i < 200000; i++) fputs("1 ", f);
    fputs(",Training\n", f);
    fclose(f);
    rm_ingest_options o = options(out);
    o.skip_bad = 1;   /* an overlong line is fatal even so: the stream lost sync */
    cr_assert_neq(rm_ingest_fer2013(csv, &o), 0);
    cr_assert(strstr(rm_error_message(), "long.csv:2: line longer than"), "%s", rm_error_message());
    cr_assert_not(tu_file_exists(out));
    tu_rmtree(dir);
}

Test(fer2013, truncated_last_row)
{
    char *dir = tu_scratch_dir();
    const char *csv = tu_path(dir, "t.csv"), *out = tu_path(dir, "t.h5");
    FILE *f = open_csv(csv, 1);
    add_row(f, "1", 0, PIX, "Training");
    fputs("2,1 2 3 4", f);   /* cut off mid-row, no newline */
    fclose(f);
    rm_ingest_options o = options(out);
    cr_assert_neq(rm_ingest_fer2013(csv, &o), 0);
    cr_assert(strstr(rm_error_message(), "t.csv:3: expected 2 comma-separated fields") ||
                  strstr(rm_error_message(), "t.csv:3: expected 3 comma-separated fields"),
              "%s", rm_error_message());
    cr_assert_not(tu_file_exists(out));
    tu_rmtree(dir);
}

Test(fer2013, classes_override_checks_labels)
{
    char *dir = tu_scratch_dir();
    const char *csv = tu_path(dir, "c.csv"), *out = tu_path(dir, "c.h5");
    FILE *f = open_csv(csv, 1);
    add_row(f, "0", 0, PIX, "Training");
    add_row(f, "5", 0, PIX, "Training");
    fclose(f);
    rm_ingest_options o = options(out);
    o.classes = "x,y,z";
    cr_assert_neq(rm_ingest_fer2013(csv, &o), 0);
    cr_assert(strstr(rm_error_message(), "label 5 out of range 0..2"), "%s", rm_error_message());
    o.classes = "notapreset";
    cr_assert_neq(rm_ingest_fer2013(csv, &o), 0);
    cr_assert(strstr(rm_error_message(), "--classes 'notapreset'"), "%s", rm_error_message());
    tu_rmtree(dir);
}

/* rm_ingest: the format name picks the ingester; what a format needs is
 * checked before anything is read. */
Test(fer2013, ingest_stage_dispatches_on_the_format)
{
    char *dir = tu_scratch_dir();
    const char *csv = tu_path(dir, "s.csv"), *out = tu_path(dir, "s.h5");
    FILE *f = open_csv(csv, 1);
    for (int i = 0; i < 7; i++) {
        char e[12];
        snprintf(e, sizeof e, "%d", i);
        add_row(f, e, i, PIX, "Training");
    }
    fclose(f);
    rm_ingest_options o = options(out);
    o.input = csv;
    o.format = "xls";
    cr_assert_neq(rm_ingest(&o), 0);
    cr_assert(strstr(rm_error_message(), "unknown format 'xls'"), "%s", rm_error_message());
    o.format = "npy";
    cr_assert_neq(rm_ingest(&o), 0);
    cr_assert(strstr(rm_error_message(), "npy needs --labels FILE"), "%s", rm_error_message());
    o.format = "fer2013";
    o.test_images = "t.idx";
    cr_assert_neq(rm_ingest(&o), 0);
    cr_assert(strstr(rm_error_message(), "go together"), "%s", rm_error_message());
    cr_assert_not(tu_file_exists(out));
    o.test_images = NULL;
    cr_assert_eq(rm_ingest(&o), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, out), 0, "%s", rm_error_message());
    cr_assert_eq(ds.count, 7);
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}
