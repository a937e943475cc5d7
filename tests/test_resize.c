/* eval, predict and relevance --resize (issue 12 item 5): a model whose
 * input size or channels differ from the dataset's. The on-the-fly
 * conversion is the resampler of ingest --size --channels, so a run with
 * --resize must give exactly what the same model gives on the images
 * ingested again at its input (logits bit for bit: the same bytes reach the
 * same network). */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/npy.h"
#include "test_util.h"

static char *dir;

static char *run(int want_code, const char *want_text, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static char *run(int want_code, const char *want_text, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *out;
    int code = tu_run_cli(&out, "%s", args);
    cr_assert_eq(code, want_code, "relmask %s exited %d, expected %d:\n%s", args, code, want_code, out);
    if (want_text) cr_assert(strstr(out, want_text), "expected '%s' from relmask %s in:\n%s", want_text, args, out);
    return out;
}

#define EXPECT(code, text, ...) free(run(code, text, __VA_ARGS__))

static const char *p(const char *name) { return tu_path(dir, name); }

/* The images and labels of a dataset file as x.npy [N,H,W] (gray) and y.npy. */
static void export_npy(const char *h5, const char *x, const char *y)
{
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, h5), 0, "%s", rm_error_message());
    cr_assert_eq(ds.channels, 1);
    size_t n = ds.count, shape[3] = {n, (size_t)ds.height, (size_t)ds.width};
    uint8_t *px = malloc(n * shape[1] * shape[2]);
    int64_t *labels = malloc(sizeof *labels * n);
    cr_assert_eq(rm_dataset_read_images(&ds, 0, n, px), 0, "%s", rm_error_message());
    for (size_t i = 0; i < n; i++) labels[i] = ds.labels[i];
    cr_assert_eq(rm_npy_write(x, "|u1", 3, shape, px), 0, "%s", rm_error_message());
    cr_assert_eq(rm_npy_write(y, "<i8", 1, &n, labels), 0, "%s", rm_error_message());
    free(px);
    free(labels);
    rm_dataset_close(&ds);
}

static void ingest(const char *x, const char *out, const char *extra)
{
    EXPECT(0, NULL, "ingest npy %s --labels %s --classes synth -q -o %s %s", x, p("y.npy"), out, extra);
}

/* x20.npy: 140 synthetic faces 20x20; d20.h5 holds them as they are,
 * d16.h5 ingested again at 16x16; m.h5 a gray 1x16x16 model trained on
 * d16.h5 for one epoch. */
static void setup(void)
{
    dir = tu_scratch_dir();
    EXPECT(0, NULL, "synth -q -n 140 --size 20 -o %s", p("s20.h5"));
    export_npy(p("s20.h5"), p("x20.npy"), p("y.npy"));
    ingest(p("x20.npy"), p("d20.h5"), "");
    ingest(p("x20.npy"), p("d16.h5"), "--size 16");
    tu_write_text(p("net.cfg"), tu_tiny_net_text);
    EXPECT(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16", p("d16.h5"), p("net.cfg"),
           p("m.h5"));
}

static void teardown(void) { tu_rmtree(dir); }

TestSuite(resize, .init = setup, .fini = teardown, .timeout = 240);

/* An RGB 3x16x16 model trained on the faces ingested at 16x16 RGB. */
static void make_rgb_model(void)
{
    ingest(p("x20.npy"), p("d16rgb.h5"), "--size 16 --channels 3");
    char net[1024];
    snprintf(net, sizeof net, "%s", tu_tiny_net_text);
    char *in = strstr(net, "input = 1x16x16");
    cr_assert(in, "the tiny net's input line");
    in[8] = '3';
    tu_write_text(p("net3.cfg"), net);
    EXPECT(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16", p("d16rgb.h5"), p("net3.cfg"),
           p("m3.h5"));
}

/* A float dataset of an HDF5 file, whole, into a malloc'd array. */
static float *read_floats(const char *path, const char *name, size_t *count)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "open %s", path);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert(d >= 0, "%s: missing %s", path, name);
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    float *v = malloc(sizeof *v * (size_t)n);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    *count = (size_t)n;
    return v;
}

static char *read_string_attr(const char *path, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "open %s", path);
    cr_assert(H5Aexists(f, name) > 0, "%s has no attribute %s", path, name);
    hid_t a = H5Aopen(f, name, H5P_DEFAULT), t = H5Aget_type(a);
    char *v = NULL;
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        char *s = NULL;
        cr_assert_geq(H5Aread(a, mt, &s), 0);
        v = strdup(s);
        H5free_memory(s);
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        v = calloc(1, n + 1);
        cr_assert_geq(H5Aread(a, t, v), 0);
    }
    H5Tclose(t);
    H5Aclose(a);
    H5Fclose(f);
    return v;
}

/* predict with --resize on `data` and plainly on `same_at_input` (the
 * images ingested at the model's input) give the same logits, bit for bit. */
static void expect_same_predictions(const char *model, const char *data, const char *same_at_input,
                                    const char *resize_text)
{
    EXPECT(0, NULL, "predict -q --force --resize -m %s -d %s -o %s", model, data, p("pr.h5"));
    EXPECT(0, NULL, "predict -q --force -m %s -d %s -o %s", model, same_at_input, p("pi.h5"));
    size_t na, nb;
    float *a = read_floats(p("pr.h5"), "logits", &na), *b = read_floats(p("pi.h5"), "logits", &nb);
    cr_assert_eq(na, nb);
    cr_assert_eq(na, (size_t)140 * 7);
    cr_assert_eq(memcmp(a, b, sizeof *a * na), 0, "%s --resize: the logits of %s ingested at the model's input",
                 data, same_at_input);
    free(a);
    free(b);
    char *attr = read_string_attr(p("pr.h5"), "resize");
    cr_assert_str_eq(attr, resize_text);
    free(attr);
}

Test(resize, predict_and_eval_equal_ingesting_again_at_the_size)
{
    expect_same_predictions(p("m.h5"), p("d20.h5"), p("d16.h5"), "1x16x16 from 1x20x20");
    /* eval: the same metrics, and the resize in the report and the results */
    char *a = run(0, "resize:    1x16x16 from 1x20x20", "eval --resize -m %s -d %s --out %s", p("m.h5"), p("d20.h5"),
                  p("e20.json"));
    char *b = run(0, NULL, "eval -m %s -d %s --out %s", p("m.h5"), p("d16.h5"), p("e16.json"));
    cr_assert_str_eq(strstr(a, "records:"), strstr(b, "records:"), "the same metrics");
    free(a);
    free(b);
    char *ja = tu_read_text(p("e20.json")), *jb = tu_read_text(p("e16.json"));
    cr_assert(strstr(ja, "\"resize\": \"1x16x16 from 1x20x20\""), "%s", ja);
    cr_assert(!strstr(jb, "\"resize\""), "no resize, no key: %s", jb);
    cr_assert_str_eq(strstr(ja, "\"split\""), strstr(jb, "\"split\""));
    free(ja);
    free(jb);
    EXPECT(0, " resize=1x16x16 from 1x20x20 split=test", "eval -q --resize -m %s -d %s --out %s && cat %s", p("m.h5"),
           p("d20.h5"), p("e20.csv"), p("e20.csv"));
    /* upscaling: 12x12 images, bilinear up to 16x16 as ingest --size 16 of them */
    ingest(p("x20.npy"), p("d12.h5"), "--size 12");
    export_npy(p("d12.h5"), p("x12.npy"), p("y12.npy"));
    ingest(p("x12.npy"), p("d12at16.h5"), "--size 16");
    expect_same_predictions(p("m.h5"), p("d12.h5"), p("d12at16.h5"), "1x16x16 from 1x12x12");
    /* the same shape: --resize changes nothing and records nothing */
    EXPECT(0, NULL, "predict -q --force --resize -m %s -d %s -o %s", p("m.h5"), p("d16.h5"), p("same.h5"));
    hid_t f = H5Fopen(p("same.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_eq(H5Aexists(f, "resize"), 0);
    H5Fclose(f);
}

Test(resize, gray_and_rgb_convert_both_ways)
{
    make_rgb_model();
    /* RGB data, gray model: the luma of a gray pixel copied to R, G, B is itself */
    ingest(p("x20.npy"), p("d20rgb.h5"), "--channels 3");
    expect_same_predictions(p("m.h5"), p("d20rgb.h5"), p("d16.h5"), "1x16x16 from 3x20x20");
    /* gray data, RGB model: the plane three times, as ingest --channels 3 */
    expect_same_predictions(p("m3.h5"), p("d20.h5"), p("d16rgb.h5"), "3x16x16 from 1x20x20");
}

Test(resize, without_resize_the_error_says_what_to_pass)
{
    const char *want = "or pass --resize to convert the images to the model's input as they are read";
    char *out = run(1, want, "eval -m %s -d %s", p("m.h5"), p("d20.h5"));
    cr_assert(strstr(out, "m.h5 expects 1x16x16 inputs but ") && strstr(out, "--size 16x16 --channels 1"), "%s", out);
    free(out);
    EXPECT(1, want, "predict -m %s -d %s -o %s", p("m.h5"), p("d20.h5"), p("p.h5"));
    cr_assert(!tu_file_exists(p("p.h5")));
    EXPECT(2, "--npy-in/--npy-out replace --data, --out, --split and --resize",
           "predict --resize -m %s --npy-in a.npy --npy-out b.npy", p("m.h5"));
}
