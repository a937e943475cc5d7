/* eval, predict and relevance --resize (issue 12 item 5): a model whose
 * input size or channels differ from the dataset's. The on-the-fly
 * conversion is the resampler of ingest --size --channels, so a run with
 * --resize must give exactly what the same model gives on the images
 * ingested again at its input (logits bit for bit: the same bytes reach the
 * same network); relevance stays on the data's grid and keeps its sum. */
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
#include "core/relevance_file.h"
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

static rm_relevance open_relevance(const char *path)
{
    rm_relevance r;
    cr_assert_eq(rm_relevance_open(&r, path), 0, "%s", rm_error_message());
    return r;
}

/* Per record, the heatmap's sum (double). */
static double *heat_sums(const rm_relevance *r)
{
    size_t hw = (size_t)r->height * r->width;
    float *h = malloc(sizeof *h * hw * (size_t)r->count);
    cr_assert_eq(rm_relevance_read_heatmaps(r, 0, r->count, h), 0, "%s", rm_error_message());
    double *s = calloc((size_t)r->count, sizeof *s);
    for (int64_t i = 0; i < r->count; i++)
        for (size_t q = 0; q < hw; q++) s[i] += h[(size_t)i * hw + q];
    free(h);
    return s;
}

/* LRP of `model` with --resize on `data` against the same on the images
 * ingested at its input: the same classes and scores, heatmaps on the
 * data's grid whose sums are those on the model's grid. */
static void expect_relevance_conserved(const char *model, const char *data, const char *same_at_input,
                                       const char *composite, int data_channels, int size)
{
    EXPECT(0, NULL, "relevance -q --force --resize --channels -c %s --count 24 -m %s -d %s -o %s", composite, model,
           data, p("rr.h5"));
    EXPECT(0, NULL, "relevance -q --force --channels -c %s --count 24 -m %s -d %s -o %s", composite, model,
           same_at_input, p("ri.h5"));
    rm_relevance a = open_relevance(p("rr.h5")), b = open_relevance(p("ri.h5"));
    cr_assert(a.count == 24 && a.height == size && a.width == size && a.channels == data_channels,
              "%s: the data's grid, %lldx%dx%dx%d", composite, (long long)a.count, a.channels, a.height, a.width);
    cr_assert(strstr(a.parameters, "\nresize=") && !strstr(b.parameters, "resize="), "%s", a.parameters);
    cr_assert_arr_eq(a.explained, b.explained, sizeof *a.explained * 24);
    cr_assert_arr_eq(a.predicted, b.predicted, sizeof *a.predicted * 24);
    cr_assert_arr_eq(a.score, b.score, sizeof *a.score * 24, "the same logits explained");
    double *sa = heat_sums(&a), *sb = heat_sums(&b);
    for (int i = 0; i < 24; i++)
        cr_assert_lt(fabs(sa[i] - sb[i]), 1e-5 * (fabs(sb[i]) + 1e-3), "%s, record %d: sum %.9g on the data's grid, "
                     "%.9g on the model's", composite, i, sa[i], sb[i]);
    free(sa);
    free(sb);
    rm_relevance_close(&a);
    rm_relevance_close(&b);
}

Test(resize, lrp_relevance_on_the_data_grid_keeps_its_sum)
{
    static const char *const composites[] = {"epsilon-plus-flat", "epsilon-gamma-box", "epsilon", "alpha2-beta1",
                                             "epsilon-plus"};
    for (size_t k = 0; k < sizeof composites / sizeof composites[0]; k++)
        expect_relevance_conserved(p("m.h5"), p("d20.h5"), p("d16.h5"), composites[k], 1, 20);
    char *attr = read_string_attr(p("rr.h5"), "resize");
    cr_assert_str_eq(attr, "1x16x16 from 1x20x20");
    free(attr);
    /* info reads it; heatmap and relevance-eval take it against the dataset */
    EXPECT(0, "resize=1x16x16 from 1x20x20", "info %s", p("rr.h5"));
    EXPECT(0, NULL, "heatmap -q --relevance %s --data %s -o %s --first 4", p("rr.h5"), p("d20.h5"), p("h.png"));
    /* the synthetic faces' regions (s20.h5: the same images and labels, another split) */
    EXPECT(0, NULL, "relevance-eval -q --relevance %s --data %s -o %s", p("rr.h5"), p("s20.h5"), p("q.json"));
}

Test(resize, lrp_gray_and_rgb_map_back_by_the_conversion)
{
    make_rgb_model();
    ingest(p("x20.npy"), p("d20rgb.h5"), "--channels 3");
    /* RGB data, gray model: the luma's relevance spread 0.299 : 0.587 : 0.114 */
    expect_relevance_conserved(p("m.h5"), p("d20rgb.h5"), p("d16.h5"), "epsilon-plus-flat", 3, 20);
    rm_relevance r = open_relevance(p("rr.h5"));
    size_t hw = 400;
    float *ch = malloc(sizeof *ch * 3 * hw * 24);
    cr_assert_eq(rm_relevance_read_channels(&r, 0, 24, ch), 0, "%s", rm_error_message());
    int nonzero = 0;
    for (size_t i = 0; i < 24; i++)
        for (size_t q = 0; q < hw; q++) {
            const float *c = ch + i * 3 * hw + q;
            double g = c[hw] / 0.587;
            nonzero += g != 0;
            cr_assert_lt(fabs(c[0] - 0.299 * g), 1e-6 * (fabs(g) + 1e-9), "record %zu pixel %zu", i, q);
            cr_assert_lt(fabs(c[2 * hw] - 0.114 * g), 1e-6 * (fabs(g) + 1e-9), "record %zu pixel %zu", i, q);
        }
    cr_assert_gt(nonzero, 1000);
    free(ch);
    rm_relevance_close(&r);
    /* gray data, RGB model: the three channels' relevance summed */
    expect_relevance_conserved(p("m3.h5"), p("d20.h5"), p("d16rgb.h5"), "epsilon-plus-flat", 1, 20);
}

Test(resize, occlusion_in_process_converts_each_occluded_image)
{
    EXPECT(0, NULL, "relevance -q --resize -M occlusion --count 6 -m %s -d %s -o %s", p("m.h5"), p("d20.h5"),
           p("ro.h5"));
    EXPECT(0, NULL, "predict -q --split all -m %s -d %s -o %s", p("m.h5"), p("d16.h5"), p("pi.h5"));
    rm_relevance r = open_relevance(p("ro.h5"));
    cr_assert(r.count == 6 && r.height == 20 && r.width == 20, "the data's grid");
    cr_assert(strstr(r.parameters, "\nresize=1x16x16 from 1x20x20\n"), "%s", r.parameters);
    size_t n;
    float *probs = read_floats(p("pi.h5"), "probabilities", &n);
    for (int i = 0; i < 6; i++) {   /* the score: the unoccluded image's probability, converted as ingest did */
        float want = probs[(size_t)i * 7 + (size_t)r.explained[i]];
        cr_assert_lt(fabsf(r.score[i] - want), 1e-6f, "record %d: %g, predict says %g", i, r.score[i], want);
    }
    free(probs);
    rm_relevance_close(&r);
}

Test(resize, without_resize_the_error_says_what_to_pass)
{
    const char *want = "or pass --resize to convert the images to the model's input as they are read";
    char *out = run(1, want, "eval -m %s -d %s", p("m.h5"), p("d20.h5"));
    cr_assert(strstr(out, "m.h5 expects 1x16x16 inputs but ") && strstr(out, "--size 16x16 --channels 1"), "%s", out);
    free(out);
    EXPECT(1, want, "predict -m %s -d %s -o %s", p("m.h5"), p("d20.h5"), p("p.h5"));
    EXPECT(1, want, "relevance -m %s -d %s -o %s", p("m.h5"), p("d20.h5"), p("r.h5"));
    EXPECT(1, want, "relevance -M occlusion -m %s -d %s -o %s", p("m.h5"), p("d20.h5"), p("r.h5"));
    cr_assert(!tu_file_exists(p("p.h5")) && !tu_file_exists(p("r.h5")));
    EXPECT(2, "--resize converts images for --model", "relevance --resize -M occlusion --predict-cmd true -d %s -o %s",
           p("d20.h5"), p("r.h5"));
    EXPECT(2, "--npy-in/--npy-out replace --data, --out, --split and --resize",
           "predict --resize -m %s --npy-in a.npy --npy-out b.npy", p("m.h5"));
    /* fine-tuning at another size is ingesting again: train says so */
    EXPECT(1, "train takes no --resize (eval, predict and relevance do): to fine-tune at the network's input, "
              "ingest the images again at its size", "train -q --data %s --init-from %s --out %s --epochs 1",
           p("d20.h5"), p("m.h5"), p("ft.h5"));
    EXPECT(2, "unknown option '--resize'", "train -q --data %s --init-from %s --out %s --resize", p("d20.h5"),
           p("m.h5"), p("ft.h5"));
    /* relevance-eval's perturbation runs the model too */
    EXPECT(0, NULL, "relevance -q --resize --count 8 -m %s -d %s -o %s", p("m.h5"), p("d20.h5"), p("r.h5"));
    EXPECT(1, want, "relevance-eval -q --relevance %s --data %s --model %s --out %s", p("r.h5"), p("d20.h5"),
           p("m.h5"), p("q.json"));
    cr_assert(!tu_file_exists(p("q.json")));
    EXPECT(2, "--resize converts the perturbed images for --model", "relevance-eval -q --resize --relevance %s "
           "--data %s --out %s", p("r.h5"), p("d20.h5"), p("q.json"));
}

Test(resize, resume_with_other_resize_settings_is_refused)
{
    const char *args = "relevance -q --batch 8 --count 24 -m %s -d %s -o %s";
    EXPECT(0, NULL, "relevance -q --resize --batch 8 --count 24 --stop-after 1 -m %s -d %s -o %s", p("m.h5"),
           p("d20.h5"), p("r.h5"));
    cr_assert(!tu_file_exists(p("r.h5")), "a partial file only");
    EXPECT(1, "or pass --resize", args, p("m.h5"), p("d20.h5"), p("r.h5"));
    /* resumed with the setting it was started with: the same file as one run */
    EXPECT(0, NULL, "relevance -q --resize --resume --batch 8 --count 24 -m %s -d %s -o %s", p("m.h5"), p("d20.h5"),
           p("r.h5"));
    EXPECT(0, NULL, "relevance -q --resize --batch 8 --count 24 -m %s -d %s -o %s", p("m.h5"), p("d20.h5"),
           p("whole.h5"));
    rm_relevance a = open_relevance(p("r.h5")), b = open_relevance(p("whole.h5"));
    float *ha = malloc(sizeof *ha * 400 * 24), *hb = malloc(sizeof *hb * 400 * 24);
    cr_assert_eq(rm_relevance_read_heatmaps(&a, 0, 24, ha), 0);
    cr_assert_eq(rm_relevance_read_heatmaps(&b, 0, 24, hb), 0);
    cr_assert_arr_eq(ha, hb, sizeof *ha * 400 * 24);
    free(ha);
    free(hb);
    rm_relevance_close(&a);
    rm_relevance_close(&b);
}

/* One numeric column of a CSV (header names it) after the '#' comments. */
static double *csv_column(const char *path, const char *name, int *rows)
{
    char *text = tu_read_text(path), *save = NULL;
    int col = -1, n = 0;
    double *v = malloc(sizeof *v * 1024);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (*line == '#') continue;
        char *fs = NULL;
        int c = 0;
        for (char *f = strtok_r(line, ",", &fs); f; f = strtok_r(NULL, ",", &fs), c++) {
            if (col < 0 && strcmp(f, name) == 0) col = c;
            else if (col >= 0 && c == col) {
                cr_assert_lt(n, 1024, "%s: more rows than the test reads", path);
                v[n++] = strtod(f, NULL);
            }
        }
        cr_assert(col >= 0, "%s: no column %s", path, name);
    }
    free(text);
    *rows = n;
    return v;
}

/* relevance-eval --resize: the perturbation happens on the data's grid and
 * each perturbed image goes through the conversion (M on floats, without
 * the byte roundings) to the model. Two checks that need no second
 * implementation: the unperturbed score is the one predict --resize gives
 * (within what the byte roundings of ingest can move a logit), and with the
 * zero baseline over every region the last image is black whatever M is, so
 * its logit must be the model's logit on a black image at its own input,
 * exactly. Gray to gray and RGB data to a gray model. */
static void expect_relevance_eval_converts(const char *data_name, const char *resize_text)
{
    char data[4096];
    snprintf(data, sizeof data, "%s", p(data_name));
    EXPECT(0, NULL, "relevance -q --force --resize --count 12 -m %s -d %s -o %s", p("m.h5"), data, p("r.h5"));
    EXPECT(0, NULL, "relevance-eval -q --force --resize --baseline zero --fraction 1 --steps 1 --relevance %s "
           "--data %s --model %s --out %s --records %s", p("r.h5"), data, p("m.h5"), p("q.json"), p("rec.csv"));
    char *json = tu_read_text(p("q.json"));
    char want[128];
    snprintf(want, sizeof want, "\"resize\": \"%s\"", resize_text);
    cr_assert(strstr(json, want), "%s in:\n%s", want, json);
    free(json);
    int n, m;
    double *score = csv_column(p("rec.csv"), "logit_score", &n), *aopc = csv_column(p("rec.csv"),
                                                                                     "logit_aopc_relevance", &m);
    cr_assert(n == 12 && m == 12, "%d and %d rows", n, m);
    EXPECT(0, NULL, "predict -q --force --split all -m %s -d %s -o %s", p("m.h5"), p("black.h5"), p("pb.h5"));
    EXPECT(0, NULL, "predict -q --force --split all --resize -m %s -d %s -o %s", p("m.h5"), data, p("pr.h5"));
    size_t nb, nr;
    float *zb = read_floats(p("pb.h5"), "logits", &nb), *zr = read_floats(p("pr.h5"), "logits", &nr);
    rm_relevance r = open_relevance(p("r.h5"));
    double moved = 0;
    for (int i = 0; i < 12; i++) {
        int e = r.explained[i];
        double at_black = score[i] - aopc[i], want_black = zb[e], predicted = zr[(size_t)r.index[i] * 7 + e];
        cr_assert_lt(fabs(at_black - want_black), 1e-4 * (fabs(want_black) + 1), "record %d: %.9g on the black image"
                     ", the model says %.9g", i, at_black, want_black);
        cr_assert_lt(fabs(score[i] - predicted), 0.05 * (fabs(predicted) + 1), "record %d: score %.9g, predict "
                     "--resize %.9g", i, score[i], predicted);
        moved = fmax(moved, fabs(score[i] - predicted));
    }
    cr_assert_gt(moved, 0, "the byte roundings should move some logit a little");
    rm_relevance_close(&r);
    free(score);
    free(aopc);
    free(zb);
    free(zr);
}

Test(resize, relevance_eval_perturbs_on_the_data_grid_and_converts)
{
    /* black.npy: one black 16x16 image, the model's input */
    uint8_t zeros[256] = {0};
    size_t shape[3] = {1, 16, 16}, one = 1;
    int64_t label = 0;
    cr_assert_eq(rm_npy_write(p("black.npy"), "|u1", 3, shape, zeros), 0, "%s", rm_error_message());
    cr_assert_eq(rm_npy_write(p("yb.npy"), "<i8", 1, &one, &label), 0, "%s", rm_error_message());
    EXPECT(0, NULL, "ingest npy %s --labels %s --classes synth -q -o %s", p("black.npy"), p("yb.npy"), p("black.h5"));
    expect_relevance_eval_converts("d20.h5", "1x16x16 from 1x20x20");
    ingest(p("x20.npy"), p("d20rgb.h5"), "--channels 3");
    expect_relevance_eval_converts("d20rgb.h5", "1x16x16 from 3x20x20");
    /* the same shape: no conversion, nothing recorded, the scores of a run without --resize */
    EXPECT(0, NULL, "relevance -q --force --count 12 -m %s -d %s -o %s", p("m.h5"), p("d16.h5"), p("r.h5"));
    EXPECT(0, NULL, "relevance-eval -q --force --resize --relevance %s --data %s --model %s --out %s", p("r.h5"),
           p("d16.h5"), p("m.h5"), p("a.csv"));
    EXPECT(0, NULL, "relevance-eval -q --force --relevance %s --data %s --model %s --out %s", p("r.h5"), p("d16.h5"),
           p("m.h5"), p("b.csv"));
    char *a = tu_read_text(p("a.csv")), *b = tu_read_text(p("b.csv"));
    cr_assert(!strstr(a, "resize="), "%s", a);
    cr_assert_str_eq(strstr(a, "metric,"), strstr(b, "metric,"));
    free(a);
    free(b);
}
