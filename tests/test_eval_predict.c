/* relmask eval, predict and info on models and predictions, end to end
 * through the CLI: a tiny network trained for one epoch on synthetic faces. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "test_util.h"

static char *dir;

static char *run(int want_code, const char *want_text, const char *fmt, const char *a, const char *b,
                 const char *c)
{
    char *out;
    int code = tu_run_cli(&out, fmt, a, b, c);
    cr_assert_eq(code, want_code, "relmask exited %d, expected %d:\n%s", code, want_code, out);
    if (want_text) cr_assert(strstr(out, want_text), "expected '%s' in:\n%s", want_text, out);
    return out;
}

static void expect(int want_code, const char *want_text, const char *fmt, const char *a, const char *b,
                   const char *c)
{
    free(run(want_code, want_text, fmt, a, b, c));
}

/* d.h5: 140 faces 16x16 (14 test); m.h5: one epoch of training on it. */
static void setup(void)
{
    dir = tu_scratch_dir();
    tu_write_text(tu_path(dir, "net.cfg"), tu_tiny_net_text);
    expect(0, NULL, "synth -q -n 140 --size 16 -o %s%s%s", tu_path(dir, "d.h5"), "", "");
    expect(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16", tu_path(dir, "d.h5"),
           tu_path(dir, "net.cfg"), tu_path(dir, "m.h5"));
}

static void teardown(void) { tu_rmtree(dir); }

TestSuite(eval_predict, .init = setup, .fini = teardown, .timeout = 120);

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

Test(eval_predict, help_and_usage_errors)
{
    expect(0, "usage: relmask eval", "eval --help%s%s%s", "", "", "");
    expect(0, "usage: relmask predict", "predict --help%s%s%s", "", "", "");
    expect(2, "--model FILE is required", "eval --data %s%s%s", tu_path(dir, "d.h5"), "", "");
    expect(2, "--model FILE is required", "predict --data %s --out %s%s", tu_path(dir, "d.h5"),
           tu_path(dir, "p.h5"), "");
    expect(2, "--out FILE is required", "predict --model %s --data %s%s", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), "");
    expect(2, "unknown split 'dev'", "eval -m %s -d %s --split dev%s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"),
           "");
    expect(2, "--batch '0'", "eval -m %s -d %s --batch 0%s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), "");
    expect(2, "unknown option '--bogus'", "predict --bogus%s%s%s", "", "", "");
}

Test(eval_predict, eval_prints_metrics_and_confusion)
{
    char *out = run(0, NULL, "eval --model %s --data %s%s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), "");
    static const char *const want[] = {"accuracy:", "mean loss:", "records:   14", "test split", "precision",
                                       "recall", "f1", "support", "macro avg", "confusion matrix",
                                       "true \\ pred", "neutral", "surprise", "anger", NULL};
    for (int i = 0; want[i]; i++) cr_assert(strstr(out, want[i]), "expected '%s' in:\n%s", want[i], out);
    /* the confusion matrix has a row per class: the class name starts a line */
    const char *cm = strstr(out, "confusion matrix");
    cr_assert(strstr(cm, "\n  disgust "), "%s", cm);
    free(out);
}

Test(eval_predict, eval_writes_json_and_csv_atomically)
{
    const char *json = tu_path(dir, "r.json");
    expect(0, NULL, "eval -m %s -d %s --split all --out %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), json);
    char *text = read_text(json);
    static const char *const keys[] = {"\"model\": ", "\"data\": ", "\"split\": \"all\"", "\"count\": 140",
                                       "\"accuracy\": ", "\"loss\": ", "\"classes\": [\"neutral\", \"happy\"",
                                       "\"per_class\": [", "\"name\": \"anger\"", "\"precision\": ", "\"recall\": ",
                                       "\"f1\": ", "\"support\": 20", "\"macro\": {", "\"confusion\": [", NULL};
    for (int i = 0; keys[i]; i++) cr_assert(strstr(text, keys[i]), "expected %s in:\n%s", keys[i], text);
    cr_assert_eq(text[0], '{');
    cr_assert(strstr(text, "}\n") && text[strlen(text) - 2] == '}', "JSON ends with }");
    free(text);

    expect(1, "already exists; use --force", "eval -m %s -d %s --out %s", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), json);
    const char *csv = tu_path(dir, "r.csv");
    expect(0, NULL, "eval -m %s -d %s --force --out %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), csv);
    text = read_text(csv);
    cr_assert(strstr(text, "class,precision,recall,f1,support,predicted,pred_neutral,pred_happy"), "%s", text);
    cr_assert(strstr(text, "\nmacro_avg,"), "%s", text);
    cr_assert(strstr(text, "# count=14 "), "%s", text);
    free(text);
    cr_assert_eq(tu_dir_entries(dir), 5, "no temporary files left (net.cfg d.h5 m.h5 r.json r.csv)");
}

static hsize_t dims_of(hid_t f, const char *name, int rank, hsize_t *dims)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert(d >= 0, "missing /%s", name);
    hid_t s = H5Dget_space(d);
    cr_assert_eq(H5Sget_simple_extent_ndims(s), rank, "/%s rank", name);
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    H5Dclose(d);
    return dims[0];
}

static void *read_all(hid_t f, const char *name, hid_t type, size_t bytes)
{
    void *buf = malloc(bytes);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert(d >= 0 && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0, "reading /%s", name);
    H5Dclose(d);
    return buf;
}

static void check_predictions(const char *path, const rm_dataset *ds, int split)
{
    rm_h5_init();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "open %s", path);
    char *schema = NULL, *split_name = NULL;
    cr_assert_eq(rm_h5_attr_get_string(f, "schema", &schema), 0);
    cr_assert_str_eq(schema, "relmask.predictions");
    int64_t version = 0;
    cr_assert_eq(rm_h5_attr_get_int(f, "schema_version", &version), 0);
    cr_assert_eq(version, 1);
    cr_assert_eq(rm_h5_attr_get_string(f, "split", &split_name), 0);
    cr_assert_str_eq(split_name, split < 0 ? "all" : rm_split_names[split]);
    static const char *const attrs[] = {"tool_version", "created", "command_line", "model_path",
                                        "model_dataset_fingerprint", "data_path", "class_names", NULL};
    for (int i = 0; attrs[i]; i++) cr_assert(rm_h5_attr_exists(f, attrs[i]), "attribute %s", attrs[i]);

    size_t want = 0;
    for (size_t i = 0; i < ds->count; i++) want += split < 0 || ds->split[i] == split;
    hsize_t nk[2], n1[1];
    size_t n = dims_of(f, "logits", 2, nk), k = nk[1];
    cr_assert_eq(n, want, "%zu records, expected %zu", n, want);
    cr_assert_eq(k, 7);
    dims_of(f, "probabilities", 2, nk);
    cr_assert(nk[0] == n && nk[1] == k);
    static const char *const vectors[] = {"predicted", "labels", "indices", NULL};
    for (int i = 0; vectors[i]; i++) cr_assert_eq(dims_of(f, vectors[i], 1, n1), n, "/%s length", vectors[i]);

    float *z = read_all(f, "logits", H5T_NATIVE_FLOAT, n * k * sizeof(float));
    float *p = read_all(f, "probabilities", H5T_NATIVE_FLOAT, n * k * sizeof(float));
    int32_t *pred = read_all(f, "predicted", H5T_NATIVE_INT32, n * sizeof(int32_t));
    int32_t *labels = read_all(f, "labels", H5T_NATIVE_INT32, n * sizeof(int32_t));
    int64_t *idx = read_all(f, "indices", H5T_NATIVE_INT64, n * sizeof(int64_t));
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        size_t best = 0;
        for (size_t j = 0; j < k; j++) {
            sum += p[i * k + j];
            cr_assert(p[i * k + j] >= 0 && p[i * k + j] <= 1);
            if (z[i * k + j] > z[i * k + best]) best = j;
        }
        cr_assert(fabs(sum - 1.0) < 1e-5, "row %zu sums to %.9f", i, sum);
        cr_assert_eq(pred[i], (int32_t)best, "row %zu: predicted %d, argmax %zu", i, pred[i], best);
        cr_assert(idx[i] >= 0 && (size_t)idx[i] < ds->count && (i == 0 || idx[i] > idx[i - 1]));
        cr_assert_eq(labels[i], ds->labels[idx[i]], "row %zu: label of record %lld", i, (long long)idx[i]);
        if (split >= 0) cr_assert_eq(ds->split[idx[i]], split);
    }
    free(z), free(p), free(pred), free(labels), free(idx), free(schema), free(split_name);
    H5Fclose(f);
}

Test(eval_predict, predict_writes_the_schema)
{
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, tu_path(dir, "d.h5")), 0, "%s", rm_error_message());
    const char *all = tu_path(dir, "all.h5"), *test = tu_path(dir, "test.h5");
    expect(0, NULL, "predict -q -m %s -d %s -o %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), all);
    check_predictions(all, &ds, -1);
    expect(0, NULL, "predict -q -m %s -d %s --batch 5 --split test -o %s", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), test);
    check_predictions(test, &ds, RM_SPLIT_TEST);
    rm_dataset_close(&ds);
}

Test(eval_predict, info_summarizes_models_and_predictions)
{
    const char *p = tu_path(dir, "p.h5");
    expect(0, NULL, "predict -q -m %s -d %s -o %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), p);
    char *out = run(0, NULL, "info %s %s%s", tu_path(dir, "m.h5"), p, "");
    static const char *const want[] = {"schema: relmask.model version 1", "network: net, 4 layers, 1839 parameters",
                                       "input: float32 [1, 16, 16]", "classes (7): 0=neutral", "best: epoch 1",
                                       "history (1 epoch", "train loss", "training parameters:", "epochs=1",
                                       "trained on: ", "checkpoint: no", "command_line",
                                       "schema: relmask.predictions version 1", "records: 140 (split: all)",
                                       "float32 [140, 7]", "accuracy: ", NULL};
    for (int i = 0; want[i]; i++) cr_assert(strstr(out, want[i]), "expected '%s' in:\n%s", want[i], out);
    free(out);
}

/* The accuracy eval prints is the share of predicted == labels in predict's file. */
Test(eval_predict, eval_and_predict_agree)
{
    const char *json = tu_path(dir, "r.json"), *p = tu_path(dir, "p.h5");
    expect(0, NULL, "eval -m %s -d %s --split all --batch 7 --out %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"),
           json);
    expect(0, NULL, "predict -q -m %s -d %s -o %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), p);
    char *text = read_text(json);
    const char *c = strstr(text, "\"correct\": ");
    cr_assert(c, "%s", text);
    long correct = strtol(c + strlen("\"correct\": "), NULL, 10);
    free(text);
    char *info = run(0, NULL, "info %s%s%s", p, "", "");
    char want[64];
    snprintf(want, sizeof want, "(%ld of 140 predicted", correct);
    cr_assert(strstr(info, want), "expected '%s' in:\n%s", want, info);
    free(info);
}

/* 35 images 16x16 with seven classes named c0..c6 (not synth's names). */
static void write_renamed_dataset(const char *out)
{
    enum { N = 35 };
    static uint8_t px[N * 16 * 16];
    int64_t labels[N];
    for (int i = 0; i < N * 256; i++) px[i] = (uint8_t)(i * 37);
    for (int i = 0; i < N; i++) labels[i] = i % 7;
    const struct { const char *name, *descr, *shape; const void *data; size_t bytes; } arrays[2] = {
        {"x.npy", "|u1", "(35, 16, 16)", px, sizeof px}, {"y.npy", "<i8", "(35,)", labels, sizeof labels}};
    for (int a = 0; a < 2; a++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", arrays[a].descr,
                 arrays[a].shape);
        size_t len = strlen(dict) + 1, hlen = (10 + len + 63) / 64 * 64 - 10;
        uint8_t *buf = malloc(10 + hlen + arrays[a].bytes);
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (uint8_t)hlen, buf[9] = (uint8_t)(hlen >> 8);
        memset(buf + 10, ' ', hlen);
        memcpy(buf + 10, dict, len - 1);
        buf[10 + hlen - 1] = '\n';
        memcpy(buf + 10 + hlen, arrays[a].data, arrays[a].bytes);
        tu_write_file(tu_path(dir, arrays[a].name), buf, 10 + hlen + arrays[a].bytes);
        free(buf);
    }
    expect(0, NULL, "ingest npy %s --labels %s --classes c0,c1,c2,c3,c4,c5,c6 --test 0.2 -o %s",
           tu_path(dir, "x.npy"), tu_path(dir, "y.npy"), out);
}

Test(eval_predict, incompatible_data_is_an_error_naming_both_files)
{
    const char *d28 = tu_path(dir, "d28.h5");
    expect(0, NULL, "synth -q -n 70 --size 28 -o %s%s%s", d28, "", "");
    char *out = run(1, "expects 1x16x16 inputs but ", "eval -m %s -d %s%s", tu_path(dir, "m.h5"), d28, "");
    cr_assert(strstr(out, "m.h5 expects") && strstr(out, "d28.h5 holds 1x28x28 images"), "%s", out);
    cr_assert(strstr(out, "again at the model's input with --size 16x16 --channels 1"), "says what to pass: %s", out);
    free(out);
    expect(1, "d28.h5 holds 1x28x28 images", "predict -m %s -d %s -o %s", tu_path(dir, "m.h5"), d28,
           tu_path(dir, "p.h5"));
    cr_assert_not(tu_file_exists(tu_path(dir, "p.h5")));

    const char *renamed = tu_path(dir, "renamed.h5");
    write_renamed_dataset(renamed);
    expect(1, "name their classes differently: class 0 is 'neutral' in the model but 'c0'",
           "eval -m %s -d %s%s", tu_path(dir, "m.h5"), renamed, "");
    expect(1, "not an HDF5 file", "eval -m %s -d %s%s", tu_path(dir, "net.cfg"), tu_path(dir, "d.h5"), "");
    expect(1, "schema is 'relmask.dataset', expected 'relmask.model'", "eval -m %s -d %s%s", tu_path(dir, "d.h5"),
           tu_path(dir, "d.h5"), "");
}

Test(eval_predict, predictions_file_survives_a_failed_overwrite)
{
    const char *p = tu_path(dir, "p.h5"), *d28 = tu_path(dir, "d28.h5");
    expect(0, NULL, "predict -q -m %s -d %s -o %s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), p);
    expect(0, NULL, "synth -q -n 70 --size 28 -o %s%s%s", d28, "", "");
    char *before = read_text(p);
    long size = 0;
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    int entries = tu_dir_entries(dir);
    expect(1, "already exists; use --force", "predict -m %s -d %s -o %s", tu_path(dir, "m.h5"),
           tu_path(dir, "d.h5"), p);
    expect(1, "expects 1x16x16", "predict --force -m %s -d %s -o %s", tu_path(dir, "m.h5"), d28, p);
    char *after = read_text(p);
    cr_assert_eq(memcmp(before, after, (size_t)size), 0, "the earlier predictions are intact");
    cr_assert_eq(tu_dir_entries(dir), entries, "no temporary file left behind");
    free(before);
    free(after);
    expect(0, "schema: relmask.predictions", "info %s%s%s", p, "", "");
}

/* The model file of an interrupted run (here --stop-after, which leaves what
 * a SIGINT after epoch 1 leaves) is not "a finished model": info says how
 * far it got and how to continue, and the checkpoint counts its epochs in
 * the singular when there is one. */
Test(eval_predict, info_says_a_model_of_an_interrupted_run_is_incomplete)
{
    const char *m = tu_path(dir, "i.h5");
    expect(0, NULL, "train -q --data %s --net %s --out %s --epochs 3 --batch 16 --stop-after 1", tu_path(dir, "d.h5"),
           tu_path(dir, "net.cfg"), m);
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", m);
    char *out = run(0, "an incomplete run: 1 of 3 epochs", "info %s%s%s", m, "", "");
    cr_assert(!strstr(out, "a finished model"), "%s", out);
    /* the command to continue it, without the --stop-after that would stop it again */
    const char *hint = strstr(out, "continue the run with the same command plus --resume:\n");
    cr_assert(hint, "%s", out);
    hint = strchr(hint, '\n') + 1;
    char line[4096];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(hint, "\n"), hint);
    cr_assert(strstr(line, "--batch 16 --resume") && !strstr(line, "--stop-after"), "%s", line);
    free(out);
    expect(0, "checkpoint: yes, 1 epoch done,", "info %s%s%s", ckpt, "", "");
    /* eval warns once that the model is not the finished one. */
    out = run(0, "warning: ", "eval -m %s -d %s%s", m, tu_path(dir, "d.h5"), "");
    cr_assert(strstr(out, "is from an incomplete training run (1 of 3 epochs"), "%s", out);
    cr_assert(!strstr(strstr(out, "warning: ") + 1, "warning: "), "one warning: %s", out);
    free(out);
    out = run(0, NULL, "eval -m %s -d %s%s", tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), "");
    cr_assert(!strstr(out, "incomplete"), "a finished model: %s", out);
    free(out);
    cr_assert_eq(remove(ckpt), 0);
    expect(0, "no checkpoint beside it", "info %s%s%s", m, "", "");
    /* A finished run is still a finished model. */
    expect(0, "checkpoint: no (a finished model", "info %s%s%s", tu_path(dir, "m.h5"), "", "");
}
