/* relmask subset: stratified seeded draws, disjoint takes, complement,
 * errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "ingest/subset.h"
#include "test_util.h"

static char *dir;
static void setup(void)
{
    dir = tu_scratch_dir();
    char *out;
    int code = tu_run_cli(&out, "synth -q -n 700 --size 16 --val 0.2 --test 0.2 -o %s", tu_path(dir, "d.h5"));
    cr_assert_eq(code, 0, "%s", out);
    free(out);
}
static void teardown(void) { tu_rmtree(dir); }
TestSuite(subset, .init = setup, .fini = teardown, .timeout = 60);

Test(subset, takes_are_stratified_disjoint_and_seeded)
{
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "d.h5")), 0, "%s", rm_error_message());
    rm_take takes[3];
    cr_assert_eq(rm_take_parse("train:70", &takes[0]), 0);
    cr_assert_eq(rm_take_parse("train:35:val", &takes[1]), 0);
    cr_assert_eq(rm_take_parse("test:all", &takes[2]), 0);
    uint8_t *a = malloc(ds.count), *b = malloc(ds.count), *c = malloc(ds.count);
    cr_assert_eq(rm_subset_select(&ds, takes, 3, 7, a), 0, "%s", rm_error_message());
    cr_assert_eq(rm_subset_select(&ds, takes, 3, 7, b), 0);
    cr_assert_eq(rm_subset_select(&ds, takes, 3, 8, c), 0);
    cr_assert_eq(memcmp(a, b, ds.count), 0, "same seed, same draw");
    cr_assert_neq(memcmp(a, c, ds.count), 0, "another seed, another draw");
    int64_t per[3][7] = {{0}}, test_total = 0;
    for (size_t i = 0; i < ds.count; i++) {
        if (a[i] == RM_SPLIT_UNASSIGNED) continue;
        cr_assert(a[i] == RM_SPLIT_TEST ? ds.split[i] == RM_SPLIT_TEST : ds.split[i] == RM_SPLIT_TRAIN,
                  "record %zu drawn from its own split's pool", i);
        per[a[i]][ds.labels[i]]++;
    }
    for (size_t i = 0; i < ds.count; i++) test_total += ds.split[i] == RM_SPLIT_TEST;
    /* synth balances classes: 70 train = 10 per class, 35 val = 5 per class */
    for (int k = 0; k < 7; k++) {
        cr_assert_eq(per[RM_SPLIT_TRAIN][k], 10, "class %d", k);
        cr_assert_eq(per[RM_SPLIT_VAL][k], 5, "class %d", k);
    }
    int64_t t = 0;
    for (int k = 0; k < 7; k++) t += per[RM_SPLIT_TEST][k];
    cr_assert_eq(t, test_total, "test:all takes every test record");
    free(a);
    free(b);
    free(c);
    rm_dataset_close(&ds);
}

Test(subset, subset_and_complement_partition_the_dataset)
{
    char *out;
    const char *d = tu_path(dir, "d.h5");
    char target[4096], source[4096];
    snprintf(target, sizeof target, "%s", tu_path(dir, "t.h5"));
    snprintf(source, sizeof source, "%s", tu_path(dir, "s.h5"));
    cr_assert_eq(tu_run_cli(&out, "subset -q -d %s -o %s --take train:70 --take train:35:val --take test:70 --seed 3", d, target), 0, "%s", out);
    free(out);
    cr_assert_eq(tu_run_cli(&out, "subset -q -d %s -o %s --take train:70 --take train:35:val --take test:70 --seed 3 --complement", d, source), 0, "%s", out);
    free(out);
    rm_dataset D, T, S;
    cr_assert_eq(rm_dataset_open(&D, d), 0);
    cr_assert_eq(rm_dataset_open(&T, target), 0, "%s", rm_error_message());
    cr_assert_eq(rm_dataset_open(&S, source), 0, "%s", rm_error_message());
    cr_assert_eq(T.count, 175);
    cr_assert_eq(T.count + S.count, D.count);
    cr_assert(T.has_regions && S.has_regions);
    /* every record of D is in exactly one of them, in order, with its pixels */
    size_t rec = 256, ti = 0, si = 0;
    uint8_t *img = malloc(rec), *other = malloc(rec);
    for (size_t i = 0; i < D.count; i++) {
        cr_assert_eq(rm_dataset_read_images(&D, i, 1, img), 0);
        int in_t = 0;
        if (ti < T.count) {
            cr_assert_eq(rm_dataset_read_images(&T, ti, 1, other), 0);
            in_t = !memcmp(img, other, rec) && T.labels[ti] == D.labels[i];
        }
        if (in_t) ti++;
        else {
            cr_assert_eq(rm_dataset_read_images(&S, si, 1, other), 0);
            cr_assert_eq(memcmp(img, other, rec), 0, "record %zu is in neither file", i);
            cr_assert_eq(S.split[si], D.split[i], "the complement keeps the split");
            si++;
        }
    }
    cr_assert_eq(ti, T.count);
    cr_assert_eq(si, S.count);
    free(img);
    free(other);
    rm_dataset_close(&D);
    rm_dataset_close(&T);
    rm_dataset_close(&S);
    /* info says where the subset's splits came from */
    cr_assert_eq(tu_run_cli(&out, "info %s", target), 0, "%s", out);
    cr_assert(strstr(out, "split: 175 records as subset drew them (subset_parameters)\n"), "%s", out);
    free(out);
}

Test(subset, errors)
{
    char *out;
    const char *d = tu_path(dir, "d.h5");
    cr_assert_eq(tu_run_cli(&out, "subset -q -d %s -o %s --take test:100000", d, tu_path(dir, "x.h5")), 1);
    cr_assert(strstr(out, "asks for 100000 records of split test"), "%s", out);
    free(out);
    cr_assert_eq(tu_run_cli(&out, "subset -q -d %s -o %s --take all:10", d, tu_path(dir, "x.h5")), 2);
    cr_assert(strstr(out, "needs an output split"), "%s", out);
    free(out);
    cr_assert_eq(tu_run_cli(&out, "subset -q -d %s -o %s --take train:ten", d, tu_path(dir, "x.h5")), 2);
    cr_assert(strstr(out, "not a positive number"), "%s", out);
    free(out);
    cr_assert_eq(tu_run_cli(&out, "subset -q -d %s -o %s", d, tu_path(dir, "x.h5")), 2);
    free(out);
    cr_assert(!tu_file_exists(tu_path(dir, "x.h5")));
}

/* The stage as a library call: takes without their text are recorded as
 * FROM:COUNT:AS, and the file holds just the drawn records. */
Test(subset, library_call_writes_the_draw)
{
    rm_subset_config c;
    rm_subset_config_defaults(&c);
    c.data_path = tu_path(dir, "d.h5");
    c.out_path = tu_path(dir, "lib.h5");
    cr_assert_eq(rm_take_parse("train:70", &c.takes[0]), 0);
    cr_assert_eq(rm_take_parse("test:all", &c.takes[1]), 0);
    c.num_takes = 2;
    c.seed = 7;
    cr_assert_eq(rm_subset(&c), 0, "%s", rm_error_message());

    rm_dataset ds, out;
    cr_assert_eq(rm_dataset_open(&ds, c.data_path), 0);
    cr_assert_eq(rm_dataset_open(&out, c.out_path), 0, "%s", rm_error_message());
    uint8_t *want = malloc(ds.count);
    cr_assert_eq(rm_subset_select(&ds, c.takes, 2, 7, want), 0);
    size_t n = 0;
    for (size_t i = 0; i < ds.count; i++) n += want[i] != RM_SPLIT_UNASSIGNED;
    cr_assert_eq(out.count, n);
    char *params = NULL;
    cr_assert_eq(rm_h5_attr_get_string((hid_t)out.hfile, "subset_parameters", &params), 0, "%s", rm_error_message());
    cr_assert(strstr(params, "take=train:70:train\ntake=test:all:test\n"), "%s", params);
    free(params);
    free(want);
    rm_dataset_close(&out);
    rm_dataset_close(&ds);

    c.out_path = tu_path(dir, "none.h5");
    c.num_takes = 0;
    cr_assert_neq(rm_subset(&c), 0);
    cr_assert_not(tu_file_exists(c.out_path));
}

/* A subset keeps each record's /source, so a drawn record still names the
 * line of the CSV it came from. */
Test(subset, records_keep_their_source)
{
    const char *csv = tu_path(dir, "faces.csv");
    FILE *f = fopen(csv, "w");
    cr_assert(f);
    fputs("emotion,pixels\n", f);
    for (int i = 0; i < 70; i++) {
        fprintf(f, "%d,", i % 7);
        for (int k = 0; k < 48 * 48; k++) fprintf(f, "%s%d", k ? " " : "", (i * 3 + k) % 256);
        fputc('\n', f);
    }
    fclose(f);
    char *out;
    int code = tu_run_cli(&out, "ingest fer2013 -q %s --val 0.2 --test 0.2 -o %s", csv, tu_path(dir, "f.h5"));
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    code = tu_run_cli(&out, "subset -q --data %s --take train:14 --seed 3 --out %s", tu_path(dir, "f.h5"),
                      tu_path(dir, "s.h5"));
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    rm_dataset full, sub;
    cr_assert_eq(rm_dataset_open(&full, tu_path(dir, "f.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(rm_dataset_open(&sub, tu_path(dir, "s.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(sub.count, 14);
    cr_assert(sub.has_source);
    uint8_t a[48 * 48], b[48 * 48];
    for (size_t i = 0; i < sub.count; i++) {
        char src[256];
        cr_assert_eq(rm_dataset_read_source(&sub, i, src, sizeof src), 0, "%s", rm_error_message());
        int line;
        cr_assert_eq(sscanf(src, "faces.csv:%d", &line), 1, "record %zu: source '%s'", i, src);
        /* line L holds the CSV's record L - 2 (after the header), which is
         * the full dataset's record L - 2 too. */
        cr_assert_eq(rm_dataset_read_images(&sub, i, 1, a), 0);
        cr_assert_eq(rm_dataset_read_images(&full, (size_t)(line - 2), 1, b), 0);
        cr_assert_eq(memcmp(a, b, sizeof a), 0, "record %zu (%s) is not that line's image", i, src);
    }
    rm_dataset_close(&full);
    rm_dataset_close(&sub);
}

/* Like every file relmask writes, a subset records the command that made
 * it (docs/formats.md, command_line). */
Test(subset, output_records_its_command_line)
{
    char *out;
    int code = tu_run_cli(&out, "subset -q --data %s --take train:14 --seed 3 --out %s", tu_path(dir, "d.h5"),
                          tu_path(dir, "s.h5"));
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "s.h5")), 0, "%s", rm_error_message());
    char *line = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "command_line", &line), 0, "%s", rm_error_message());
    cr_assert(line, "no command_line attribute");
    cr_assert(strstr(line, " subset -q --data ") && strstr(line, " --take train:14 --seed 3 --out "), "%s", line);
    free(line);
    rm_dataset_close(&ds);
}
