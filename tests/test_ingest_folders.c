/* Folder-based ingesters: image class folders (both layouts, class maps),
 * JAFFE file names and CK+ sequences. Every test builds a tiny tree in a
 * scratch directory; every failure must name the file or folder, say what
 * was expected, and leave nothing in the output directory. */
#include <criterion/criterion.h>
#include <jpeglib.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/image.h"
#include "ingest/ingest.h"
#include "core/progress.h"
#include "test_util.h"

enum { SIDE = 8 };

static char *scratch;    /* inputs */
static char *outdir;     /* holds only the output file */
static char out_path[4096];
static rm_ingest_options opt;

static void setup(void)
{
    rm_log_set_quiet(1);
    rm_progress_set_quiet(1);
    scratch = tu_scratch_dir();
    outdir = strdup(tu_path(scratch, "out"));
    cr_assert_eq(mkdir(outdir, 0755), 0);
    snprintf(out_path, sizeof out_path, "%s/data.h5", outdir);
    rm_ingest_options_init(&opt);
    opt.out_path = out_path;
    opt.width = opt.height = SIDE;   /* native size of the test images: no resampling */
    opt.split.val_fraction = 0;
    opt.split.test_fraction = 0;
}

static void teardown(void)
{
    tu_rmtree(scratch);   /* also frees scratch */
    free(outdir);
}

TestSuite(ingest_folders, .init = setup, .fini = teardown);

/* --- building inputs ----------------------------------------------------- */

/* mkdir -p for a path under the scratch directory. */
static const char *mkdirs(const char *rel)
{
    static char buf[4][4096];
    static int next;
    char *path = buf[next++ % 4];
    snprintf(path, sizeof buf[0], "%s/%s", scratch, rel);
    for (char *p = path + strlen(scratch) + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(path, 0755) != 0 && !tu_file_exists(path)) cr_assert_fail("mkdir %s", path);
            *p = c;
            if (!c) break;
        }
    }
    return path;
}

/* The pixel pattern of test image `seed`: every image is distinct. */
static void pattern(uint8_t *px, int seed)
{
    for (int i = 0; i < SIDE * SIDE; i++) px[i] = (uint8_t)(seed * 29 + i * 7 + (i * i) % 13);
}

/* Writes gray PNG `seed` to scratch/<rel>. */
static void png(const char *rel, int seed)
{
    rm_image img = {0};
    cr_assert_eq(rm_image_alloc(&img, SIDE, SIDE, 1), 0);
    pattern(img.pixels, seed);
    cr_assert_eq(rm_image_save_png(&img, tu_path(scratch, rel)), 0, "%s", rm_error_message());
    rm_image_free(&img);
}

static void tiff(const char *rel, int seed)
{
    uint8_t px[SIDE * SIDE];
    pattern(px, seed);
    TIFF *t = TIFFOpen(tu_path(scratch, rel), "w");
    cr_assert(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, SIDE);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, SIDE);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, SIDE);
    for (int y = 0; y < SIDE; y++) cr_assert_eq(TIFFWriteScanline(t, px + y * SIDE, (uint32_t)y, 0), 1);
    TIFFClose(t);
}

static void pgm(const char *rel, int seed)
{
    char buf[64 + SIDE * SIDE];
    int n = snprintf(buf, 64, "P5\n%d %d\n255\n", SIDE, SIDE);
    pattern((uint8_t *)buf + n, seed);
    tu_write_file(tu_path(scratch, rel), buf, (size_t)n + SIDE * SIDE);
}

/* A flat gray JPEG (lossy: only its value is checked, loosely). */
static void jpeg(const char *rel, uint8_t value)
{
    FILE *f = fopen(tu_path(scratch, rel), "wb");
    cr_assert(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = SIDE;
    c.image_height = SIDE;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    JSAMPLE row[SIDE];
    memset(row, value, sizeof row);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

/* --- checking outputs ---------------------------------------------------- */

static void open_out(rm_dataset *ds)
{
    cr_assert_eq(rm_dataset_open(ds, out_path), 0, "%s", rm_error_message());
    cr_assert_eq(ds->width, SIDE);
    cr_assert_eq(ds->height, SIDE);
    cr_assert_eq(ds->channels, 1);
}

static void expect_classes(const rm_dataset *ds, int n, const char *const *names)
{
    cr_assert_eq(ds->num_classes, n);
    for (int i = 0; i < n; i++) cr_expect_str_eq(ds->class_names[i], names[i], "class %d", i);
}

static void expect_labels(const rm_dataset *ds, size_t n, const int32_t *labels)
{
    cr_assert_eq(ds->count, n);
    for (size_t i = 0; i < n; i++) cr_expect_eq(ds->labels[i], labels[i], "record %zu", i);
}

/* Record i holds exactly the pixels of test image `seed`. */
static void expect_image(const rm_dataset *ds, size_t i, int seed)
{
    uint8_t got[SIDE * SIDE], want[SIDE * SIDE];
    cr_assert_eq(rm_dataset_read_images(ds, i, 1, got), 0, "%s", rm_error_message());
    pattern(want, seed);
    cr_expect_arr_eq(got, want, sizeof want, "record %zu is not image %d", i, seed);
}

static size_t count_split(const rm_dataset *ds, uint8_t split)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->count; i++) n += ds->split[i] == split;
    return n;
}

static int contains_param(const rm_dataset *ds, const char *kv)
{
    char *params = NULL;
    cr_assert_eq(rm_dataset_read_attr(ds, "ingest_parameters", &params), 0, "%s", rm_error_message());
    int found = params && strstr(params, kv) != NULL;
    free(params);
    return found;
}

/* A failure: -1, a message naming `what` and `expected`, nothing written. */
static void expect_failure(int rc, const char *what, const char *expected)
{
    cr_assert_eq(rc, -1, "expected a failure mentioning '%s'", what);
    const char *msg = rm_error_message();
    cr_expect(strstr(msg, what) != NULL, "message does not name '%s': %s", what, msg);
    cr_expect(strstr(msg, expected) != NULL, "message lacks '%s': %s", expected, msg);
    cr_expect(!tu_file_exists(out_path), "output file exists after a failure");
    cr_expect_eq(tu_dir_entries(outdir), 0, "files left in the output directory");
}

/* --- image folders: class-folder layout ---------------------------------- */

static void class_tree(void)
{
    mkdirs("faces/happy");
    mkdirs("faces/angry");
    mkdirs("faces/neutral");
    png("faces/happy/b.png", 11);
    png("faces/happy/a.png", 10);
    png("faces/happy/c.PNG", 12);         /* extensions are case-insensitive */
    png("faces/angry/x2.png", 21);
    png("faces/angry/x1.png", 20);
    png("faces/neutral/n.png", 30);
    tu_write_text(tu_path(scratch, "faces/neutral/README.txt"), "not an image\n");
    tu_write_text(tu_path(scratch, "faces/neutral/.hidden.png"), "junk");
    tu_write_text(tu_path(scratch, "faces/notes.txt"), "files in the root are ignored\n");
}

Test(ingest_folders, class_folders_sorted_with_exact_bytes)
{
    class_tree();
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_classes(&ds, 3, (const char *const[]){"angry", "happy", "neutral"});
    expect_labels(&ds, 6, (const int32_t[]){0, 0, 1, 1, 1, 2});
    const int seeds[6] = {20, 21, 10, 11, 12, 30};   /* files in name order */
    for (size_t i = 0; i < 6; i++) expect_image(&ds, i, seeds[i]);
    cr_expect_eq(count_split(&ds, RM_SPLIT_TRAIN), 6);
    cr_expect(contains_param(&ds, "layout=class-folders"));
    /* Each record names its file, relative to the input folder. */
    const char *sources[6] = {"angry/x1.png", "angry/x2.png", "happy/a.png", "happy/b.png", "happy/c.PNG",
                              "neutral/n.png"};
    cr_assert(ds.has_source);
    for (size_t i = 0; i < 6; i++) {
        char src[256];
        cr_assert_eq(rm_dataset_read_source(&ds, i, src, sizeof src), 0, "%s", rm_error_message());
        cr_expect_str_eq(src, sources[i], "record %zu", i);
    }
    rm_dataset_close(&ds);
}

Test(ingest_folders, unassigned_records_follow_val_and_test)
{
    mkdirs("faces/a");
    mkdirs("faces/b");
    char name[64];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "faces/a/%02d.png", i);
        png(name, i);
        snprintf(name, sizeof name, "faces/b/%02d.png", i);
        png(name, 50 + i);
    }
    opt.split.val_fraction = 0.2;
    opt.split.test_fraction = 0.3;
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    cr_expect_eq(count_split(&ds, RM_SPLIT_TEST), 6);
    cr_expect_eq(count_split(&ds, RM_SPLIT_VAL), 4);
    cr_expect_eq(count_split(&ds, RM_SPLIT_TRAIN), 10);
    rm_dataset_close(&ds);
}

Test(ingest_folders, jpeg_tiff_and_pgm_inputs)
{
    mkdirs("mixed/one");
    mkdirs("mixed/two");
    tiff("mixed/one/a.tif", 1);
    pgm("mixed/one/b.pgm", 2);
    tiff("mixed/two/c.TIFF", 3);
    jpeg("mixed/two/d.jpeg", 200);
    jpeg("mixed/two/e.JPG", 40);
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "mixed"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_labels(&ds, 5, (const int32_t[]){0, 0, 1, 1, 1});
    expect_image(&ds, 0, 1);
    expect_image(&ds, 1, 2);
    expect_image(&ds, 2, 3);
    uint8_t px[SIDE * SIDE];
    cr_assert_eq(rm_dataset_read_images(&ds, 3, 1, px), 0);
    for (int i = 0; i < SIDE * SIDE; i++) cr_expect(abs(px[i] - 200) <= 2, "jpeg pixel %d: %d", i, px[i]);
    cr_assert_eq(rm_dataset_read_images(&ds, 4, 1, px), 0);
    for (int i = 0; i < SIDE * SIDE; i++) cr_expect(abs(px[i] - 40) <= 2, "jpeg pixel %d: %d", i, px[i]);
    rm_dataset_close(&ds);
}

/* --- class maps ------------------------------------------------------------ */

Test(ingest_folders, class_map_orders_and_renames)
{
    class_tree();
    const char *map = tu_path(scratch, "classes.txt");
    tu_write_text(map, "# folder=class name, one class per line\n\nneutral\n"
                       "  happy = joy  \r\nangry=very angry\n");
    opt.class_map = map;
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_classes(&ds, 3, (const char *const[]){"neutral", "joy", "very angry"});
    expect_labels(&ds, 6, (const int32_t[]){0, 1, 1, 1, 2, 2});
    expect_image(&ds, 0, 30);
    expect_image(&ds, 1, 10);
    expect_image(&ds, 4, 20);
    cr_expect(contains_param(&ds, "class_map="));
    rm_dataset_close(&ds);
}

Test(ingest_folders, folder_missing_from_class_map)
{
    class_tree();
    mkdirs("faces/contempt");
    png("faces/contempt/c.png", 40);
    const char *map = tu_path(scratch, "classes.txt");
    tu_write_text(map, "neutral\nhappy\nangry\n");
    opt.class_map = map;
    int rc = rm_ingest_folder(tu_path(scratch, "faces"), &opt);
    expect_failure(rc, "faces/contempt", "folder not in class map");
    cr_expect(strstr(rm_error_message(), "classes.txt") != NULL, "%s", rm_error_message());
}

Test(ingest_folders, malformed_class_map_line)
{
    class_tree();
    const char *map = tu_path(scratch, "classes.txt");
    tu_write_text(map, "# classes\nneutral\nhappy=\nangry\n");
    opt.class_map = map;
    int rc = rm_ingest_folder(tu_path(scratch, "faces"), &opt);
    expect_failure(rc, "classes.txt:3", "expected 'folder' or 'folder=class name'");

    tu_write_text(map, "neutral\n=joy\n");
    rc = rm_ingest_folder(tu_path(scratch, "faces"), &opt);
    expect_failure(rc, "classes.txt:2", "expected 'folder' or 'folder=class name'");
}

/* --- --classes assigns class folders by name -------------------------------- */

/* The class name of every record, in file order. */
static void expect_record_classes(const rm_dataset *ds, size_t n, const char *const *names)
{
    cr_assert_eq(ds->count, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert(ds->labels[i] >= 0 && ds->labels[i] < ds->num_classes, "record %zu", i);
        cr_expect_str_eq(ds->class_names[ds->labels[i]], names[i], "record %zu", i);
    }
}

/* The bug this guards against: the labels of the sorted folders were kept
 * and only the names replaced, so faces/angry became the list's class 0. */
Test(ingest_folders, classes_list_assigns_folders_by_name)
{
    class_tree();
    const char *faces = tu_path(scratch, "faces");
    /* files in name order: angry/x1, angry/x2, happy/a, happy/b, happy/c, neutral/n */
    const char *const per_file[6] = {"angry", "angry", "happy", "happy", "happy", "neutral"};
    const char *const spellings[] = {
        NULL,                                    /* the folders' own order */
        "neutral,happy,angry",
        "happy,sad,neutral,fear,angry",          /* extra classes: labels for a bigger model */
        "Neutral,HAPPY,Angry",                   /* case is ignored when no name is exact */
    };
    for (size_t k = 0; k < sizeof spellings / sizeof spellings[0]; k++) {
        opt.classes = spellings[k];
        opt.force = 1;
        cr_assert_eq(rm_ingest_folder(faces, &opt), 0, "%s: %s", spellings[k] ? spellings[k] : "-",
                     rm_error_message());
        rm_dataset ds;
        open_out(&ds);
        if (k == 3) {
            /* The list's spelling names the classes. */
            expect_classes(&ds, 3, (const char *const[]){"Neutral", "HAPPY", "Angry"});
            expect_labels(&ds, 6, (const int32_t[]){2, 2, 1, 1, 1, 0});
        } else {
            expect_record_classes(&ds, 6, per_file);
        }
        for (size_t i = 0; i < 6; i++) expect_image(&ds, i, (const int[]){20, 21, 10, 11, 12, 30}[i]);
        if (k == 1) {
            expect_classes(&ds, 3, (const char *const[]){"neutral", "happy", "angry"});
            expect_labels(&ds, 6, (const int32_t[]){2, 2, 1, 1, 1, 0});
            cr_expect(contains_param(&ds, "classes_assigned=by name"));
        }
        if (k == 2) cr_expect_eq(ds.num_classes, 5);
        rm_dataset_close(&ds);
    }
}

Test(ingest_folders, classes_preset_assigns_folders_by_name)
{
    mkdirs("faces/anger");
    mkdirs("faces/happy");
    mkdirs("faces/neutral");
    png("faces/anger/1.png", 1);
    png("faces/happy/1.png", 2);
    png("faces/neutral/1.png", 3);
    opt.classes = "synth";   /* neutral, happy, sad, surprise, fear, disgust, anger */
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    cr_expect_eq(ds.num_classes, 7);
    expect_labels(&ds, 3, (const int32_t[]){6, 1, 0});
    expect_record_classes(&ds, 3, (const char *const[]){"anger", "happy", "neutral"});
    rm_dataset_close(&ds);
}

Test(ingest_folders, classes_list_missing_a_folder)
{
    class_tree();
    opt.classes = "neutral,happy";
    int rc = rm_ingest_folder(tu_path(scratch, "faces"), &opt);
    expect_failure(rc, "faces/angry", "class folder 'angry' is not in --classes neutral,happy");
    cr_expect(strstr(rm_error_message(), "--class-map") != NULL, "%s", rm_error_message());

    /* A class map renames folders; --classes then orders the names. */
    const char *map = tu_path(scratch, "classes.txt");
    tu_write_text(map, "angry=anger\nhappy\nneutral\n");
    opt.class_map = map;
    opt.classes = "neutral,happy,sad,anger";
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_classes(&ds, 4, (const char *const[]){"neutral", "happy", "sad", "anger"});
    expect_labels(&ds, 6, (const int32_t[]){3, 3, 1, 1, 1, 0});
    rm_dataset_close(&ds);

    opt.force = 1;
    opt.classes = "neutral,happy,angry";   /* the map calls it anger */
    rc = rm_ingest_folder(tu_path(scratch, "faces"), &opt);
    cr_assert_eq(rc, -1);
    cr_expect(strstr(rm_error_message(), "class 'anger' (from ") != NULL, "%s", rm_error_message());
}

Test(ingest_folders, classes_list_ambiguities)
{
    class_tree();
    opt.classes = "angry,happy,angry,neutral";
    expect_failure(rm_ingest_folder(tu_path(scratch, "faces"), &opt), "'angry' is listed twice",
                   "one name per class");

    /* Two folders that match one entry would merge two classes. */
    mkdirs("faces/Happy");
    png("faces/Happy/z.png", 40);
    opt.classes = "angry,HAPPY,neutral";
    expect_failure(rm_ingest_folder(tu_path(scratch, "faces"), &opt), "'Happy' and 'happy'",
                   "both match 'HAPPY'");

    /* An exact name wins over a case-insensitive one. */
    opt.classes = "angry,happy,neutral,Happy";
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_labels(&ds, 7, (const int32_t[]){3, 0, 0, 1, 1, 1, 2});
    rm_dataset_close(&ds);
}

/* --- split-folder layout --------------------------------------------------- */

Test(ingest_folders, split_folders_give_the_splits)
{
    mkdirs("fer/train/sad");
    mkdirs("fer/train/happy");
    mkdirs("fer/val/happy");
    mkdirs("fer/val/sad");
    mkdirs("fer/test/happy");     /* no sad in test: allowed */
    png("fer/train/happy/1.png", 1);
    png("fer/train/happy/2.png", 2);
    png("fer/train/sad/1.png", 3);
    png("fer/val/happy/1.png", 4);
    png("fer/val/sad/1.png", 5);
    png("fer/test/happy/1.png", 6);
    opt.split.val_fraction = 0.3;   /* ignored: the folders decide */
    opt.split.test_fraction = 0.3;
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "fer"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_classes(&ds, 2, (const char *const[]){"happy", "sad"});
    expect_labels(&ds, 6, (const int32_t[]){0, 0, 1, 0, 1, 0});
    const uint8_t splits[6] = {0, 0, 0, 1, 1, 2};
    for (size_t i = 0; i < 6; i++) {
        cr_expect_eq(ds.split[i], splits[i], "record %zu split", i);
        expect_image(&ds, i, (int)i + 1);
    }
    cr_expect(contains_param(&ds, "layout=split-folders"));
    cr_expect(contains_param(&ds, "split=from the input for every record"));
    cr_expect(!contains_param(&ds, "val=0.3"), "a fraction that drew nothing is not a parameter");
    rm_dataset_close(&ds);
}

Test(ingest_folders, train_without_val_folder_is_pooled)
{
    mkdirs("fer/train/a");
    mkdirs("fer/train/b");
    mkdirs("fer/test/a");
    mkdirs("fer/test/b");
    char name[64];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "fer/train/a/%d.png", i);
        png(name, i);
        snprintf(name, sizeof name, "fer/train/b/%d.png", i);
        png(name, 10 + i);
    }
    png("fer/test/a/t.png", 20);
    png("fer/test/b/t.png", 21);
    opt.split.val_fraction = 0.5;
    opt.split.test_fraction = 0.4;   /* pooled records never go to test */
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "fer"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    cr_assert_eq(ds.count, 10);
    cr_expect_eq(count_split(&ds, RM_SPLIT_TEST), 2);
    cr_expect_eq(count_split(&ds, RM_SPLIT_VAL), 4);
    cr_expect_eq(count_split(&ds, RM_SPLIT_TRAIN), 4);
    cr_expect_eq(ds.split[8], RM_SPLIT_TEST);
    cr_expect_eq(ds.split[9], RM_SPLIT_TEST);
    cr_expect(contains_param(&ds, "val=0.5 (of the records the input put in train)"));
    cr_expect(contains_param(&ds, "test=from the input"));
    rm_dataset_close(&ds);
}

Test(ingest_folders, split_folders_must_agree)
{
    mkdirs("fer/train/happy");
    mkdirs("fer/test/happy");
    mkdirs("fer/test/contempt");
    png("fer/train/happy/1.png", 1);
    png("fer/test/happy/1.png", 2);
    png("fer/test/contempt/1.png", 3);
    int rc = rm_ingest_folder(tu_path(scratch, "fer"), &opt);
    expect_failure(rc, "fer/test/contempt", "class folder not in");
}

/* --- bad inputs ------------------------------------------------------------ */

Test(ingest_folders, empty_class_folder)
{
    class_tree();
    mkdirs("faces/sad");
    tu_write_text(tu_path(scratch, "faces/sad/list.csv"), "no images here\n");
    int rc = rm_ingest_folder(tu_path(scratch, "faces"), &opt);
    expect_failure(rc, "faces/sad", "empty class folder (no .png/.jpg/.jpeg/.pgm");

    opt.skip_bad = 1;
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_classes(&ds, 4, (const char *const[]){"angry", "happy", "neutral", "sad"});
    cr_expect_eq(ds.count, 6);
    char *skipped = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "records_skipped", &skipped), 0);
    cr_expect_str_eq(skipped, "1");
    free(skipped);
    rm_dataset_close(&ds);
}

Test(ingest_folders, corrupt_image_names_the_file)
{
    class_tree();
    tu_write_text(tu_path(scratch, "faces/happy/d.png"), "this is not a PNG file\n");
    int rc = rm_ingest_folder(tu_path(scratch, "faces"), &opt);
    expect_failure(rc, "faces/happy/d.png", "--skip-bad");

    /* a truncated PNG */
    cr_assert_eq(remove(tu_path(scratch, "faces/happy/d.png")), 0);
    static const uint8_t head[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H'};
    tu_write_file(tu_path(scratch, "faces/happy/e.png"), head, sizeof head);
    rc = rm_ingest_folder(tu_path(scratch, "faces"), &opt);
    expect_failure(rc, "faces/happy/e.png", "--skip-bad");

    opt.skip_bad = 1;
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    cr_expect_eq(ds.count, 6);
    rm_dataset_close(&ds);
}

Test(ingest_folders, missing_or_empty_root)
{
    int rc = rm_ingest_folder(tu_path(scratch, "nope"), &opt);
    expect_failure(rc, "nope", "no such folder");

    mkdirs("flat");
    png("flat/a.png", 1);
    rc = rm_ingest_folder(tu_path(scratch, "flat"), &opt);
    expect_failure(rc, "flat", "no class folders");

    rc = rm_ingest_folder(tu_path(scratch, "flat/a.png"), &opt);
    expect_failure(rc, "flat/a.png", "not a folder");
}

Test(ingest_folders, existing_output_is_kept)
{
    class_tree();
    tu_write_text(out_path, "previous results");
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), -1);
    cr_expect_eq(tu_dir_entries(outdir), 1);
    opt.force = 1;
    cr_assert_eq(rm_ingest_folder(tu_path(scratch, "faces"), &opt), 0, "%s", rm_error_message());
    cr_expect_eq(tu_dir_entries(outdir), 1);
}

/* --- JAFFE ----------------------------------------------------------------- */

static void jaffe_tree(void)
{
    mkdirs("jaffe");
    tiff("jaffe/KA.HA1.29.tiff", 1);
    tiff("jaffe/KA.NE1.26.tiff", 2);
    tiff("jaffe/KL.SU2.110.TIF", 3);
    tiff("jaffe/NM.AN1.200.tiff", 4);
    tiff("jaffe/YM.DI3.63.tiff", 5);
    tiff("jaffe/YM.FE1.64.tif", 6);
    tiff("jaffe/YM.SA2.65.tiff", 7);
    tu_write_text(tu_path(scratch, "jaffe/README"), "The JAFFE images\n");
    tu_write_text(tu_path(scratch, "jaffe/.DS_Store"), "x");
    mkdirs("jaffe/extra");    /* subfolders are ignored */
}

Test(ingest_folders, jaffe_labels_from_names)
{
    jaffe_tree();
    cr_assert_eq(rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_classes(&ds, 7, (const char *const[]){"neutral", "happy", "sad", "surprise", "fear",
                                                 "disgust", "anger"});
    expect_labels(&ds, 7, (const int32_t[]){1, 0, 3, 6, 5, 4, 2});
    for (size_t i = 0; i < 7; i++) expect_image(&ds, i, (int)i + 1);
    cr_expect(contains_param(&ds, "subjects=4"));
    cr_expect(contains_param(&ds, "ignored_files=1"));
    rm_dataset_close(&ds);
}

Test(ingest_folders, jaffe_classes_by_name)
{
    jaffe_tree();
    /* files: KA.HA, KA.NE, KL.SU, NM.AN, YM.DI, YM.FE, YM.SA */
    const char *const per_file[7] = {"happy", "neutral", "surprise", "anger", "disgust", "fear", "sad"};
    const char *const spellings[] = {NULL, "jaffe", "anger,disgust,fear,happy,sad,surprise,neutral",
                                     "contempt,sad,fear,happy,anger,surprise,disgust,neutral"};
    for (size_t k = 0; k < sizeof spellings / sizeof spellings[0]; k++) {
        opt.classes = spellings[k];
        opt.force = 1;
        cr_assert_eq(rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt), 0, "%s", rm_error_message());
        rm_dataset ds;
        open_out(&ds);
        expect_record_classes(&ds, 7, per_file);
        for (size_t i = 0; i < 7; i++) expect_image(&ds, i, (int)i + 1);
        rm_dataset_close(&ds);
    }

    /* A code whose class is not listed is a bad record naming the file. */
    opt.force = 0;
    remove(out_path);
    opt.classes = "neutral,happy,surprise,anger,disgust,fear";
    int rc = rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt);
    expect_failure(rc, "jaffe/YM.SA2.65.tiff", "class 'sad' is not in --classes (neutral, happy,");
    opt.skip_bad = 1;
    cr_assert_eq(rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_record_classes(&ds, 6, per_file);
    rm_dataset_close(&ds);
}

Test(ingest_folders, jaffe_native_size_is_256)
{
    jaffe_tree();
    opt.width = opt.height = 0;
    cr_assert_eq(rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, out_path), 0, "%s", rm_error_message());
    cr_expect_eq(ds.width, 256);
    cr_expect_eq(ds.height, 256);
    rm_dataset_close(&ds);
}

Test(ingest_folders, jaffe_unknown_code)
{
    jaffe_tree();
    tiff("jaffe/KA.XX1.30.tiff", 9);
    int rc = rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt);
    expect_failure(rc, "jaffe/KA.XX1.30.tiff", "unknown expression code 'XX' (expected NE, HA, SA, SU, FE, DI or AN)");

    opt.skip_bad = 1;
    cr_assert_eq(rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    cr_expect_eq(ds.count, 7);
    char *skipped = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "records_skipped", &skipped), 0);
    cr_expect_str_eq(skipped, "1");
    free(skipped);
    rm_dataset_close(&ds);
}

Test(ingest_folders, jaffe_corrupt_tiff)
{
    jaffe_tree();
    tu_write_text(tu_path(scratch, "jaffe/KA.SA1.33.tiff"), "II*\0garbage");
    int rc = rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt);
    expect_failure(rc, "jaffe/KA.SA1.33.tiff", "--skip-bad");
}

Test(ingest_folders, jaffe_without_images)
{
    int rc = rm_ingest_jaffe(tu_path(scratch, "nope"), &opt);
    expect_failure(rc, "nope", "no such folder");

    mkdirs("jaffe");
    tu_write_text(tu_path(scratch, "jaffe/README"), "The JAFFE images\n");
    png("jaffe/face.png", 1);
    rc = rm_ingest_jaffe(tu_path(scratch, "jaffe"), &opt);
    expect_failure(rc, "jaffe", "expected files named like KA.HA1.29.tiff");
}

/* --- CK+ ------------------------------------------------------------------- */

/* A sequence of `frames` frames; frame f (1-based) is image seed*10+f. */
static void ck_sequence(const char *subject, const char *seq, int frames, int seed)
{
    char rel[256];
    snprintf(rel, sizeof rel, "ck/cohn-kanade-images/%s/%s", subject, seq);
    mkdirs(rel);
    for (int f = 1; f <= frames; f++) {
        snprintf(rel, sizeof rel, "ck/cohn-kanade-images/%s/%s/%s_%s_%08d.png", subject, seq,
                 subject, seq, f);
        png(rel, seed * 10 + f);
    }
}

static const char *ck_emotion(const char *subject, const char *seq, int frame, const char *text)
{
    char rel[256];
    snprintf(rel, sizeof rel, "ck/Emotion/%s/%s", subject, seq);
    mkdirs(rel);
    snprintf(rel, sizeof rel, "ck/Emotion/%s/%s/%s_%s_%08d_emotion.txt", subject, seq, subject,
             seq, frame);
    const char *path = tu_path(scratch, rel);
    tu_write_text(path, text);
    return path;
}

static void ck_tree(void)
{
    ck_sequence("S005", "001", 5, 1);
    ck_emotion("S005", "001", 5, "   3.0000000e+00\n");
    ck_sequence("S005", "002", 3, 2);      /* an empty Emotion folder: unlabelled */
    mkdirs("ck/Emotion/S005/002");
    ck_sequence("S010", "001", 4, 3);
    ck_emotion("S010", "001", 4, "   5.0000000e+00\n");
    ck_sequence("S010", "002", 2, 4);      /* no Emotion folder: unlabelled */
    tu_write_text(tu_path(scratch, "ck/cohn-kanade-images/S010/001/.DS_Store"), "x");
}

Test(ingest_folders, ckplus_peak_frame)
{
    ck_tree();
    cr_assert_eq(rm_ingest_ckplus(tu_path(scratch, "ck"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_classes(&ds, 8, (const char *const[]){"neutral", "anger", "contempt", "disgust",
                                                 "fear", "happy", "sadness", "surprise"});
    expect_labels(&ds, 2, (const int32_t[]){3, 5});
    expect_image(&ds, 0, 15);
    expect_image(&ds, 1, 34);
    cr_expect(contains_param(&ds, "labelled_sequences=2"));
    cr_expect(contains_param(&ds, "unlabelled_sequences_skipped=2"));
    cr_expect(contains_param(&ds, "subjects=2"));
    cr_expect(contains_param(&ds, "not subject-independent"));
    rm_dataset_close(&ds);
}

Test(ingest_folders, ckplus_classes_by_name)
{
    ck_tree();
    /* S005/001 is disgust (3), S010/001 happy (5); fer2013's order and names
     * would leave contempt, sadness and anger unmatched but cover these. */
    opt.classes = "happy,disgust,neutral";
    cr_assert_eq(rm_ingest_ckplus(tu_path(scratch, "ck"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_classes(&ds, 3, (const char *const[]){"happy", "disgust", "neutral"});
    expect_labels(&ds, 2, (const int32_t[]){1, 0});
    rm_dataset_close(&ds);
}

Test(ingest_folders, ckplus_peak_frames_and_neutral_first)
{
    ck_tree();
    opt.ck_peak_frames = 2;
    opt.ck_neutral_first = 1;
    cr_assert_eq(rm_ingest_ckplus(tu_path(scratch, "ck"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_labels(&ds, 6, (const int32_t[]){0, 3, 3, 0, 5, 5});
    const int seeds[6] = {11, 14, 15, 31, 33, 34};
    for (size_t i = 0; i < 6; i++) expect_image(&ds, i, seeds[i]);
    cr_expect(contains_param(&ds, "peak_frames=2"));
    cr_expect(contains_param(&ds, "neutral_first=1"));
    rm_dataset_close(&ds);
}

Test(ingest_folders, ckplus_short_sequence_and_zero_peak)
{
    ck_sequence("S020", "001", 2, 5);
    ck_emotion("S020", "001", 2, "7.0\n");
    opt.ck_peak_frames = 0;       /* treated as 1 */
    opt.ck_neutral_first = 1;
    cr_assert_eq(rm_ingest_ckplus(tu_path(scratch, "ck"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_labels(&ds, 2, (const int32_t[]){0, 7});
    expect_image(&ds, 0, 51);
    expect_image(&ds, 1, 52);
    rm_dataset_close(&ds);
    cr_assert_eq(remove(out_path), 0);

    opt.ck_peak_frames = 5;       /* more than the sequence has: no frame twice */
    cr_assert_eq(rm_ingest_ckplus(tu_path(scratch, "ck"), &opt), 0, "%s", rm_error_message());
    open_out(&ds);
    expect_labels(&ds, 2, (const int32_t[]){0, 7});
    rm_dataset_close(&ds);
}

Test(ingest_folders, ckplus_malformed_emotion_file)
{
    static const char *const bad[][2] = {
        {"abc\n", "got 'abc'"}, {"   3.5000000e+00\n", "got '3.5000000e+00'"},
        {"8\n", "got '8'"}, {"-1\n", "got '-1'"}, {"", "got ''"}, {"3 4\n", "got '3 4'"},
    };
    ck_tree();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_emotion("S005", "001", 5, bad[i][0]);
        int rc = rm_ingest_ckplus(tu_path(scratch, "ck"), &opt);
        expect_failure(rc, "ck/Emotion/S005/001/S005_001_00000005_emotion.txt",
                       "expected an emotion code 0..7");
        cr_expect(strstr(rm_error_message(), bad[i][1]) != NULL, "%s", rm_error_message());
    }
    opt.skip_bad = 1;
    cr_assert_eq(rm_ingest_ckplus(tu_path(scratch, "ck"), &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    expect_labels(&ds, 1, (const int32_t[]){5});
    rm_dataset_close(&ds);
}

Test(ingest_folders, ckplus_missing_image_folder)
{
    ck_tree();
    ck_emotion("S099", "004", 7, "1.0\n");
    int rc = rm_ingest_ckplus(tu_path(scratch, "ck"), &opt);
    expect_failure(rc, "ck/cohn-kanade-images/S099/004", "missing image folder");
    cr_expect(strstr(rm_error_message(), "S099_004_00000007_emotion.txt") != NULL, "%s",
              rm_error_message());
}

Test(ingest_folders, ckplus_corrupt_frame)
{
    ck_tree();
    tu_write_text(tu_path(scratch, "ck/cohn-kanade-images/S010/001/S010_001_00000004.png"), "x");
    int rc = rm_ingest_ckplus(tu_path(scratch, "ck"), &opt);
    expect_failure(rc, "S010/001/S010_001_00000004.png", "--skip-bad");
}

Test(ingest_folders, ckplus_wrong_layout)
{
    int rc = rm_ingest_ckplus(tu_path(scratch, "nope"), &opt);
    expect_failure(rc, "nope", "no such folder");

    ck_sequence("S005", "001", 3, 1);
    rc = rm_ingest_ckplus(tu_path(scratch, "ck"), &opt);
    expect_failure(rc, "ck", "Emotion is missing");
}

/* --- ingest -t: decoding in parallel changes nothing ---------------------- */

/* Ingests `input` with one thread into out_path and with three into a
 * second file, and checks both hold the same pixels, labels, split, sources
 * and parameters (the blocks decode in parallel, then write in file order). */
static void expect_same_with_threads(int (*ingest)(const char *, const rm_ingest_options *), const char *input)
{
    char second[4096];
    snprintf(second, sizeof second, "%s/data3.h5", outdir);
    omp_set_num_threads(1);
    cr_assert_eq(ingest(input, &opt), 0, "%s", rm_error_message());
    omp_set_num_threads(3);
    opt.out_path = second;
    cr_assert_eq(ingest(input, &opt), 0, "%s", rm_error_message());
    opt.out_path = out_path;
    rm_dataset a, b;
    open_out(&a);
    cr_assert_eq(rm_dataset_open(&b, second), 0, "%s", rm_error_message());
    cr_assert_eq(a.count, b.count);
    cr_assert_gt(a.count, 0);
    for (size_t i = 0; i < a.count; i++) {
        uint8_t pa[SIDE * SIDE], pb[SIDE * SIDE];
        char sa[256], sb[256];
        cr_assert_eq(rm_dataset_read_images(&a, i, 1, pa), 0);
        cr_assert_eq(rm_dataset_read_images(&b, i, 1, pb), 0);
        cr_assert_arr_eq(pa, pb, sizeof pa, "record %zu", i);
        cr_assert_eq(a.labels[i], b.labels[i], "record %zu", i);
        cr_assert_eq(a.split[i], b.split[i], "record %zu", i);
        cr_assert_eq(rm_dataset_read_source(&a, i, sa, sizeof sa), 0);
        cr_assert_eq(rm_dataset_read_source(&b, i, sb, sizeof sb), 0);
        cr_assert_str_eq(sa, sb, "record %zu", i);
    }
    const char *const attrs[] = {"ingest_parameters", "records_skipped"};
    for (int k = 0; k < 2; k++) {
        char *va = NULL, *vb = NULL;
        cr_assert_eq(rm_dataset_read_attr(&a, attrs[k], &va), 0);
        cr_assert_eq(rm_dataset_read_attr(&b, attrs[k], &vb), 0);
        cr_assert(va && vb);
        cr_assert_str_eq(va, vb, "%s", attrs[k]);
        free(va);
        free(vb);
    }
    rm_dataset_close(&a);
    rm_dataset_close(&b);
}

Test(ingest_folders, jaffe_and_ckplus_threads_give_the_same_file)
{
    jaffe_tree();
    tiff("jaffe/KA.XX1.30.tiff", 8);                                        /* unknown code */
    tu_write_text(tu_path(scratch, "jaffe/NM.HA2.201.tiff"), "not a TIFF");  /* corrupt */
    opt.skip_bad = 1;
    expect_same_with_threads(rm_ingest_jaffe, tu_path(scratch, "jaffe"));
    rm_dataset ds;
    open_out(&ds);
    cr_assert_eq(ds.count, 7);
    cr_expect(contains_param(&ds, "subjects=4"));
    rm_dataset_close(&ds);

    ck_tree();
    opt.ck_peak_frames = 2;
    opt.ck_neutral_first = 1;
    opt.force = 1;
    expect_same_with_threads(rm_ingest_ckplus, tu_path(scratch, "ck"));
    open_out(&ds);
    expect_labels(&ds, 6, (const int32_t[]){0, 3, 3, 0, 5, 5});
    cr_expect(contains_param(&ds, "labelled_sequences=2"));
    rm_dataset_close(&ds);
}

/* A folder given with a trailing slash (shell completion writes faces/)
 * is printed joined with one slash: faces/angry, not faces//angry, and the
 * records' sources stay relative to it. */
Test(ingest_folders, trailing_slash_gives_single_slash_paths)
{
    class_tree();
    char root[4096];
    snprintf(root, sizeof root, "%s/", tu_path(scratch, "faces"));
    opt.classes = "neutral,happy";
    int rc = rm_ingest_folder(root, &opt);
    expect_failure(rc, "faces/angry: class folder 'angry'", "is not in --classes");
    cr_expect(!strstr(rm_error_message(), "//"), "%s", rm_error_message());

    /* No class folders: the expected layout is printed with one slash. */
    mkdirs("flat");
    png("flat/a.png", 1);
    snprintf(root, sizeof root, "%s//", tu_path(scratch, "flat"));
    rc = rm_ingest_folder(root, &opt);
    expect_failure(rc, "flat/<class>/<image>", "no class folders");
    cr_expect(!strstr(rm_error_message(), "//"), "%s", rm_error_message());

    /* --unlabeled over a folder of class folders only. */
    opt.unlabeled = 1;
    opt.classes = NULL;
    snprintf(root, sizeof root, "%s/", tu_path(scratch, "faces"));
    rc = rm_ingest_folder(root, &opt);
    expect_failure(rc, "faces/<class>/<image>", "no ");
    cr_expect(!strstr(rm_error_message(), "//"), "%s", rm_error_message());

    /* It still ingests, with sources relative to the folder. */
    opt.unlabeled = 0;
    cr_assert_eq(rm_ingest_folder(root, &opt), 0, "%s", rm_error_message());
    rm_dataset ds;
    open_out(&ds);
    char src[256];
    cr_assert_eq(rm_dataset_read_source(&ds, 0, src, sizeof src), 0, "%s", rm_error_message());
    cr_assert_str_eq(src, "angry/x1.png");
    rm_dataset_close(&ds);
}
