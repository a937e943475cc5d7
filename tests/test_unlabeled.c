/* Unlabeled data (ingest folder --unlabeled) end to end through the CLI: a
 * flat folder of PNGs is ingested with labels -1 and split 'unlabeled';
 * predict and relevance (LRP of the predicted class, occlusion) give the
 * same numbers as for the same images ingested from class folders; the
 * commands that need labels refuse the file by name; and ingest -t gives
 * the same file with one or two threads. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/image.h"
#include "core/relevance_file.h"
#include "test_util.h"

enum { SIDE = 16, IMAGES = 6 };

static char *dir;

/* Runs relmask; checks the exit code and that the output holds `want`. */
static char *run(int want_code, const char *want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *run(int want_code, const char *want, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *out;
    int code = tu_run_cli(&out, "%s", args);
    cr_assert_eq(code, want_code, "relmask %s exited %d, expected %d:\n%s", args, code, want_code, out);
    if (want) cr_assert(strstr(out, want), "relmask %s: expected '%s' in:\n%s", args, want, out);
    return out;
}

static void mkdir_in(const char *rel)
{
    cr_assert_eq(mkdir(tu_path(dir, rel), 0755), 0, "mkdir %s", rel);
}

/* Gray PNG `seed` (every seed distinct) at dir/<rel>. */
static void png(const char *rel, int seed)
{
    rm_image img = {0};
    cr_assert_eq(rm_image_alloc(&img, SIDE, SIDE, 1), 0);
    for (int i = 0; i < SIDE * SIDE; i++) img.pixels[i] = (uint8_t)(seed * 37 + i * 7 + (i * i) % 23);
    cr_assert_eq(rm_image_save_png(&img, tu_path(dir, rel)), 0, "%s", rm_error_message());
    rm_image_free(&img);
}

/* flat/f0..f5.png, the same images as lab/happy/f0..f2 and lab/sad/f3..f5;
 * m.h5: a 16x16 network trained for one epoch on synthetic faces (the
 * synth classes, so --classes synth matches it). */
static void setup(void)
{
    dir = tu_scratch_dir();
    mkdir_in("flat");
    mkdir_in("lab");
    mkdir_in("lab/happy");
    mkdir_in("lab/sad");
    char rel[64];
    for (int i = 0; i < IMAGES; i++) {
        snprintf(rel, sizeof rel, "flat/f%d.png", i);
        png(rel, i);
        snprintf(rel, sizeof rel, "lab/%s/f%d.png", i < IMAGES / 2 ? "happy" : "sad", i);
        png(rel, i);
    }
    tu_write_text(tu_path(dir, "net.cfg"), tu_tiny_net_text);
    free(run(0, NULL, "synth -q -n 70 --size 16 -o %s", tu_path(dir, "d.h5")));
    free(run(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16", tu_path(dir, "d.h5"),
             tu_path(dir, "net.cfg"), tu_path(dir, "m.h5")));
}

static void teardown(void) { tu_rmtree(dir); }

TestSuite(unlabeled, .init = setup, .fini = teardown, .timeout = 180);

/* u.h5: flat/ without class names; l.h5: lab/ with the model's classes. */
static void ingest_both(void)
{
    free(run(0, NULL, "ingest -q -s 16 folder --unlabeled %s -o %s", tu_path(dir, "flat"), tu_path(dir, "u.h5")));
    free(run(0, NULL, "ingest -q -s 16 folder %s --classes synth --val 0 --test 0 -o %s", tu_path(dir, "lab"),
             tu_path(dir, "l.h5")));
}

static void source_of(const rm_dataset *ds, size_t i, char *out, size_t size)
{
    cr_assert_eq(rm_dataset_read_source(ds, i, out, size), 0, "%s", rm_error_message());
}

/* The record of `labeled` whose source is <class>/<name of unlabeled record i>. */
static size_t twin(const rm_dataset *u, size_t i, const rm_dataset *l)
{
    char name[256], src[256];
    source_of(u, i, name, sizeof name);
    for (size_t j = 0; j < l->count; j++) {
        source_of(l, j, src, sizeof src);
        const char *slash = strrchr(src, '/');
        if (slash && !strcmp(slash + 1, name)) return j;
    }
    cr_assert_fail("no labeled record with source */%s", name);
    return 0;
}

Test(unlabeled, flat_folder_has_labels_minus_one_split_unlabeled_and_sources)
{
    ingest_both();
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open_unlabeled_ok(&ds, tu_path(dir, "u.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(ds.unlabeled, 1);
    cr_assert_eq(ds.count, IMAGES);
    cr_assert_eq(ds.num_classes, 0, "no --classes: no class names");
    for (size_t i = 0; i < ds.count; i++) {
        char src[64], want[64];
        cr_assert_eq(ds.labels[i], -1, "record %zu", i);
        cr_assert_eq(ds.split[i], RM_SPLIT_UNLABELED, "record %zu", i);
        source_of(&ds, i, src, sizeof src);
        snprintf(want, sizeof want, "f%zu.png", i);
        cr_assert_str_eq(src, want);
    }
    /* The pixels are the PNG's, unchanged at the native size. */
    uint8_t px[SIDE * SIDE];
    cr_assert_eq(rm_dataset_read_images(&ds, 4, 1, px), 0);
    cr_assert_eq(px[5], (uint8_t)(4 * 37 + 5 * 7 + 25 % 23));
    rm_dataset_close(&ds);

    /* Readers that need labels get the refusal, not label -1. */
    cr_assert_neq(rm_dataset_open(&ds, tu_path(dir, "u.h5")), 0);
    cr_assert(strstr(rm_error_message(), "u.h5 is unlabeled"), "%s", rm_error_message());

    char *out = run(0, "labels: none, unlabeled", "info %s", tu_path(dir, "u.h5"));
    cr_assert(strstr(out, "classes (0): none named"), "%s", out);
    free(out);
    free(run(0, "label -1 (unlabeled), split unlabeled, source f2.png", "info --record 2 %s", tu_path(dir, "u.h5")));

    /* --classes names the classes without labelling anything. */
    free(run(0, NULL, "ingest -q -s 16 folder --unlabeled %s --classes synth -o %s", tu_path(dir, "flat"),
             tu_path(dir, "u7.h5")));
    cr_assert_eq(rm_dataset_open_unlabeled_ok(&ds, tu_path(dir, "u7.h5")), 0, "%s", rm_error_message());
    cr_assert_eq(ds.num_classes, 7);
    cr_assert_str_eq(ds.class_names[1], "happy");
    for (size_t i = 0; i < ds.count; i++) cr_assert_eq(ds.labels[i], -1);
    rm_dataset_close(&ds);
}

static void read_floats(hid_t f, const char *name, float *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "missing %s", name);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), 0);
    H5Dclose(d);
}

static void read_ints(hid_t f, const char *name, hid_t type, void *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "missing %s", name);
    cr_assert_geq(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), 0);
    H5Dclose(d);
}

typedef struct {
    float probs[IMAGES][7];
    int32_t predicted[IMAGES], labels[IMAGES];
    int64_t indices[IMAGES];
} predictions;

static void read_predictions(const char *path, predictions *p)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0, "%s", path);
    read_floats(f, "probabilities", &p->probs[0][0]);
    read_ints(f, "predicted", H5T_NATIVE_INT32, p->predicted);
    read_ints(f, "labels", H5T_NATIVE_INT32, p->labels);
    read_ints(f, "indices", H5T_NATIVE_INT64, p->indices);
    H5Fclose(f);
}

/* Predictions per record: equal for the same image, within 1e-6 (the two
 * files batch the images in another order). */
Test(unlabeled, predict_matches_the_same_images_labeled)
{
    ingest_both();
    unsetenv("RELMASK_QUIET");   /* the one-line note is a log line (this test runs in its own process) */
    char *out = run(0, "using the 7 classes of", "predict --model %s --data %s --out %s", tu_path(dir, "m.h5"),
                    tu_path(dir, "u.h5"), tu_path(dir, "pu.h5"));
    cr_assert(strstr(out, "no accuracy"), "%s", out);
    free(out);
    free(run(0, NULL, "predict -q --model %s --data %s --out %s", tu_path(dir, "m.h5"), tu_path(dir, "l.h5"),
             tu_path(dir, "pl.h5")));
    predictions *pu = calloc(1, sizeof *pu), *pl = calloc(1, sizeof *pl);
    read_predictions(tu_path(dir, "pu.h5"), pu);
    read_predictions(tu_path(dir, "pl.h5"), pl);
    rm_dataset u, l;
    cr_assert_eq(rm_dataset_open_unlabeled_ok(&u, tu_path(dir, "u.h5")), 0);
    cr_assert_eq(rm_dataset_open(&l, tu_path(dir, "l.h5")), 0, "%s", rm_error_message());
    for (size_t i = 0; i < IMAGES; i++) {
        cr_assert_eq(pu->indices[i], (int64_t)i);
        cr_assert_eq(pu->labels[i], -1);
        size_t j = twin(&u, i, &l);
        cr_assert_eq(pl->indices[j], (int64_t)j);
        cr_assert_eq(pu->predicted[i], pl->predicted[j], "record %zu", i);
        for (int k = 0; k < 7; k++)
            cr_assert_float_eq(pu->probs[i][k], pl->probs[j][k], 1e-6, "record %zu class %d", i, k);
    }
    rm_dataset_close(&u);
    rm_dataset_close(&l);
    free(pu);
    free(pl);
    free(run(0, "accuracy: none", "info %s", tu_path(dir, "pu.h5")));
}

/* The heatmaps of two relevance files, matched by source: equal within
 * 1e-5 of the largest |value| (batch order may change float rounding). */
static void expect_same_relevance(const char *ru_path, const char *rl_path)
{
    rm_dataset u, l;
    rm_relevance ru, rl;
    cr_assert_eq(rm_dataset_open_unlabeled_ok(&u, tu_path(dir, "u.h5")), 0);
    cr_assert_eq(rm_dataset_open(&l, tu_path(dir, "l.h5")), 0);
    cr_assert_eq(rm_relevance_open(&ru, ru_path), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&rl, rl_path), 0, "%s", rm_error_message());
    cr_assert_eq(ru.count, IMAGES);
    cr_assert_eq(rl.count, IMAGES);
    float *hu = malloc(sizeof(float) * IMAGES * SIDE * SIDE), *hl = malloc(sizeof(float) * IMAGES * SIDE * SIDE);
    cr_assert_eq(rm_relevance_read_heatmaps(&ru, 0, IMAGES, hu), 0);
    cr_assert_eq(rm_relevance_read_heatmaps(&rl, 0, IMAGES, hl), 0);
    for (int64_t e = 0; e < ru.count; e++) {
        size_t j = twin(&u, (size_t)ru.index[e], &l);
        int64_t f = -1;
        for (int64_t g = 0; g < rl.count; g++)
            if (rl.index[g] == (int64_t)j) f = g;
        cr_assert_geq(f, 0);
        cr_assert_eq(ru.label[e], -1);
        cr_assert_eq(ru.explained[e], rl.explained[f], "entry %lld", (long long)e);
        cr_assert_eq(ru.predicted[e], rl.predicted[f], "entry %lld", (long long)e);
        double max = 0;
        for (int p = 0; p < SIDE * SIDE; p++) max = fmax(max, fabs(hl[f * SIDE * SIDE + p]));
        cr_assert_gt(max, 0, "entry %lld: an all-zero heatmap compares nothing", (long long)e);
        for (int p = 0; p < SIDE * SIDE; p++)
            cr_assert_float_eq(hu[e * SIDE * SIDE + p], hl[f * SIDE * SIDE + p], 1e-5 * max,
                               "entry %lld pixel %d", (long long)e, p);
    }
    free(hu);
    free(hl);
    rm_relevance_close(&ru);
    rm_relevance_close(&rl);
    rm_dataset_close(&u);
    rm_dataset_close(&l);
}

Test(unlabeled, relevance_of_the_predicted_class_matches_labeled)
{
    ingest_both();
    free(run(0, NULL, "relevance -q --model %s --data %s --out %s --target pred", tu_path(dir, "m.h5"),
             tu_path(dir, "u.h5"), tu_path(dir, "ru.h5")));
    free(run(0, NULL, "relevance -q --model %s --data %s --out %s --target pred", tu_path(dir, "m.h5"),
             tu_path(dir, "l.h5"), tu_path(dir, "rl.h5")));
    expect_same_relevance(tu_path(dir, "ru.h5"), tu_path(dir, "rl.h5"));
    free(run(0, "model accuracy on these records: none (unlabeled records)", "info %s", tu_path(dir, "ru.h5")));

    /* Occlusion: the baseline is the mean of all records (no train split), which is the
     * train mean of l.h5 (--val 0 --test 0). */
    free(run(0, NULL, "relevance -q --method occlusion --patch 4 --model %s --data %s --out %s",
             tu_path(dir, "m.h5"), tu_path(dir, "u.h5"), tu_path(dir, "ou.h5")));
    free(run(0, NULL, "relevance -q --method occlusion --patch 4 --model %s --data %s --out %s",
             tu_path(dir, "m.h5"), tu_path(dir, "l.h5"), tu_path(dir, "ol.h5")));
    expect_same_relevance(tu_path(dir, "ou.h5"), tu_path(dir, "ol.h5"));

    /* The leak-free class sets need no label either. */
    free(run(0, NULL, "relevance -q --model %s --data %s --out %s --target top:2", tu_path(dir, "m.h5"),
             tu_path(dir, "u.h5"), tu_path(dir, "rt.h5")));
    free(run(0, NULL, "relevance -q --model %s --data %s --out %s --target contrast", tu_path(dir, "m.h5"),
             tu_path(dir, "u.h5"), tu_path(dir, "rc.h5")));

    /* heatmap: rows by predicted class, captions with the model's class names. */
    unsetenv("RELMASK_QUIET");
    free(run(0, "rows group records by their predicted class", "heatmap --relevance %s --data %s --out %s",
             tu_path(dir, "ru.h5"), tu_path(dir, "u.h5"), tu_path(dir, "hm.png")));
    cr_assert(tu_file_exists(tu_path(dir, "hm.png")));
    free(run(0, NULL, "heatmap -q --relevance %s --data %s --export %s --format png", tu_path(dir, "ru.h5"),
             tu_path(dir, "u.h5"), tu_path(dir, "ex")));
    cr_assert_eq(tu_dir_entries(tu_path(dir, "ex")), IMAGES);
}

/* Each refusal names the file, says it is unlabeled and what to use instead (exit 1: the
 * input is not what the command needs, as for a dataset of the wrong shape). */
static void expect_refusal(const char *what, char *out)
{
    cr_assert(strstr(out, "u.h5 is unlabeled"), "%s: %s", what, out);
    cr_assert(strstr(out, what), "expected '%s' in: %s", what, out);
    cr_assert(strstr(out, "use predict, relevance --target pred"), "%s", out);
    free(out);
}

Test(unlabeled, commands_that_need_labels_refuse_it)
{
    ingest_both();
    char u[4096], m[4096], r[4096];
    snprintf(u, sizeof u, "%s", tu_path(dir, "u.h5"));
    snprintf(m, sizeof m, "%s", tu_path(dir, "m.h5"));
    snprintf(r, sizeof r, "%s", tu_path(dir, "ru.h5"));
    free(run(0, NULL, "relevance -q --model %s --data %s --out %s", m, u, r));
    expect_refusal("relmask train needs labels", run(1, NULL, "train -q --data %s --net %s --out %s --epochs 1",
                                                     u, tu_path(dir, "net.cfg"), tu_path(dir, "m2.h5")));
    expect_refusal("relmask eval needs labels", run(1, NULL, "eval --model %s --data %s", m, u));
    expect_refusal("relevance --target true", run(1, NULL, "relevance -q --model %s --data %s --out %s --target true",
                                                  m, u, tu_path(dir, "rt.h5")));
    expect_refusal("relevance --sample", run(1, NULL, "relevance -q --model %s --data %s --out %s --sample 3", m, u,
                                             tu_path(dir, "rs.h5")));
    expect_refusal("relmask relevance-eval needs labels",
                   run(1, NULL, "relevance-eval --relevance %s --data %s --out %s", r, u, tu_path(dir, "q.json")));
    expect_refusal("relmask encode needs labels", run(1, NULL, "encode --mode mean --data %s --relevance %s --out %s",
                                                      u, r, tu_path(dir, "e.h5")));
    expect_refusal("relmask subset needs labels",
                   run(1, NULL, "subset --data %s --out %s --take all:2:train", u, tu_path(dir, "s.h5")));
    mkdir_in("maps");
    expect_refusal("relmask relevance import needs labels",
                   run(1, NULL, "relevance import --png %s --data %s --out %s", tu_path(dir, "maps"), u,
                       tu_path(dir, "ri.h5")));
    cr_assert(!tu_file_exists(tu_path(dir, "m2.h5")) && !tu_file_exists(tu_path(dir, "e.h5")) &&
              !tu_file_exists(tu_path(dir, "s.h5")));
}

Test(unlabeled, class_names_must_match_the_model)
{
    free(run(0, NULL, "ingest -q -s 16 folder --unlabeled %s --classes a,b,c,d,e,f,g -o %s", tu_path(dir, "flat"),
             tu_path(dir, "ua.h5")));
    free(run(1, "name their classes differently", "predict -q --model %s --data %s --out %s", tu_path(dir, "m.h5"),
             tu_path(dir, "ua.h5"), tu_path(dir, "p.h5")));
}

Test(unlabeled, flat_folder_without_the_flag_suggests_it)
{
    char *out = run(1, "no class folders", "ingest -q -s 16 folder %s -o %s", tu_path(dir, "flat"), tu_path(dir, "x.h5"));
    cr_assert(strstr(out, "ingest them with --unlabeled"), "%s", out);
    free(out);
    cr_assert(!tu_file_exists(tu_path(dir, "x.h5")));
    /* --unlabeled on a folder of class folders says where the images are expected. */
    free(run(1, "no .png", "ingest -q -s 16 folder --unlabeled %s -o %s", tu_path(dir, "lab"), tu_path(dir, "x.h5")));
    /* Usage errors (exit 2): another format, or a class map. */
    free(run(2, "--unlabeled belongs to the folder format", "ingest -q idx %s --labels %s --unlabeled -o %s",
             tu_path(dir, "a"), tu_path(dir, "b"), tu_path(dir, "x.h5")));
    tu_write_text(tu_path(dir, "map.txt"), "happy\nsad\n");
    free(run(2, "--class-map", "ingest -q -s 16 folder --unlabeled %s --class-map %s -o %s", tu_path(dir, "flat"),
             tu_path(dir, "map.txt"), tu_path(dir, "x.h5")));
}

/* --- ingest -t ------------------------------------------------------------ */

static void expect_same_file(const char *a_path, const char *b_path, int allow_unlabeled)
{
    rm_dataset a, b;
    int (*open)(rm_dataset *, const char *) = allow_unlabeled ? rm_dataset_open_unlabeled_ok : rm_dataset_open;
    cr_assert_eq(open(&a, a_path), 0, "%s", rm_error_message());
    cr_assert_eq(open(&b, b_path), 0, "%s", rm_error_message());
    cr_assert_eq(a.count, b.count);
    size_t bytes = a.count * (size_t)a.channels * (size_t)a.height * (size_t)a.width;
    uint8_t *pa = malloc(bytes), *pb = malloc(bytes);
    cr_assert_eq(rm_dataset_read_images(&a, 0, a.count, pa), 0);
    cr_assert_eq(rm_dataset_read_images(&b, 0, b.count, pb), 0);
    cr_assert_eq(memcmp(pa, pb, bytes), 0, "%s and %s differ in their pixels", a_path, b_path);
    cr_assert_eq(memcmp(a.labels, b.labels, a.count * sizeof *a.labels), 0);
    cr_assert_eq(memcmp(a.split, b.split, a.count), 0);
    for (size_t i = 0; i < a.count; i++) {
        char sa[256], sb[256];
        source_of(&a, i, sa, sizeof sa);
        source_of(&b, i, sb, sizeof sb);
        cr_assert_str_eq(sa, sb, "record %zu", i);
    }
    free(pa);
    free(pb);
    rm_dataset_close(&a);
    rm_dataset_close(&b);
}

/* 3 classes x 30 images (more than one decode block of 16 per thread), two
 * of them corrupt: -t 1 and -t 2 give the same records, skip the same bad
 * files and, without --skip-bad, name the same first bad file. */
Test(unlabeled, ingest_threads_give_the_same_file)
{
    static const char *const classes[] = {"anger", "happy", "sad"};
    mkdir_in("many");
    int seed = 0;
    for (int c = 0; c < 3; c++) {
        char rel[64];
        snprintf(rel, sizeof rel, "many/%s", classes[c]);
        mkdir_in(rel);
        for (int i = 0; i < 30; i++) {
            snprintf(rel, sizeof rel, "many/%s/i%02d.png", classes[c], i);
            png(rel, seed++);
        }
    }
    tu_write_text(tu_path(dir, "many/happy/i07.png"), "not a png");
    tu_write_text(tu_path(dir, "many/sad/i03.png"), "not a png either");
    const char *many = tu_path(dir, "many");
    char t1[4096], t2[4096];
    snprintf(t1, sizeof t1, "%s", tu_path(dir, "t1.h5"));
    snprintf(t2, sizeof t2, "%s", tu_path(dir, "t2.h5"));
    free(run(0, NULL, "ingest -q -s 16 folder %s --skip-bad -t 1 -o %s", many, t1));
    free(run(0, NULL, "ingest -q -s 16 folder %s --skip-bad -t 2 -o %s", tu_path(dir, "many"), t2));
    expect_same_file(t1, t2, 0);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, t1), 0);
    cr_assert_eq(ds.count, 88, "90 images, 2 corrupt");
    rm_dataset_close(&ds);
    char *o1 = run(1, "many/happy/i07.png", "ingest -q -s 16 folder %s -t 1 -o %s", tu_path(dir, "many"),
                   tu_path(dir, "x.h5"));
    char *o2 = run(1, "many/happy/i07.png", "ingest -q -s 16 folder %s -t 2 -o %s", tu_path(dir, "many"),
                   tu_path(dir, "x.h5"));
    cr_assert_str_eq(o1, o2);
    free(o1);
    free(o2);
    /* Unlabeled, from a flat folder of the same images. */
    free(run(0, NULL, "ingest -q -s 16 folder --unlabeled %s -t 1 -o %s", tu_path(dir, "many/anger"),
             tu_path(dir, "u1.h5")));
    free(run(0, NULL, "ingest -q -s 16 folder --unlabeled %s -t 2 -o %s", tu_path(dir, "many/anger"),
             tu_path(dir, "u2.h5")));
    expect_same_file(tu_path(dir, "u1.h5"), tu_path(dir, "u2.h5"), 1);
}

/* Overwrites element 0 of the int vector /name. */
static void poke(const char *path, const char *name, hid_t type, const void *value)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), space = H5Dget_space(d);
    hsize_t at = 0, one = 1;
    hid_t mem = H5Screate_simple(1, &one, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &at, NULL, &one, NULL);
    cr_assert_geq(H5Dwrite(d, type, mem, space, H5P_DEFAULT, value), 0);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
}

/* The reader checks the kind both ways: a label in an unlabeled file, or
 * split 3 in a labeled one, is refused with the record named. */
Test(unlabeled, reader_refuses_a_mixed_file)
{
    ingest_both();
    int32_t zero = 0;
    uint8_t three = RM_SPLIT_UNLABELED;
    rm_dataset ds;
    poke(tu_path(dir, "u.h5"), "labels", H5T_NATIVE_INT32, &zero);
    cr_assert_neq(rm_dataset_open_unlabeled_ok(&ds, tu_path(dir, "u.h5")), 0);
    cr_assert(strstr(rm_error_message(), "record 0: label 0 and split value 3 in an unlabeled dataset"), "%s",
              rm_error_message());
    poke(tu_path(dir, "l.h5"), "split", H5T_NATIVE_UINT8, &three);
    cr_assert_neq(rm_dataset_open_unlabeled_ok(&ds, tu_path(dir, "l.h5")), 0);
    cr_assert(strstr(rm_error_message(), "record 0: split value 3"), "%s", rm_error_message());
}
