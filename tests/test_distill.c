/* Knowledge distillation (relmask train --distill; docs/train.md): the loss
 * and its gradient against PyTorch (tests/fixtures/golden_distill.h5); A = 0
 * is plain cross-entropy training bit for bit; a model and the predictions
 * file `relmask predict` made from it teach the same student, whose model
 * file records the teacher; a predictions file with only /probabilities
 * gives the same soft targets; with --encoded the soft targets are still
 * the raw images'; a resumed run equals an uninterrupted one and refuses
 * other soft targets; bad T and A are refused by the library. The
 * bad inputs (missing or foreign teacher files, uncovered records, T and A
 * out of range on the command line) are in tests/test_bad_inputs.c. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "core/progress.h"
#include "nn/net.h"
#include "train/distill.h"
#include "train/train.h"
#include "test_util.h"

/* --- the loss against PyTorch ---------------------------------------------- */

static void read_f64(hid_t f, const char *name, double *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "golden_distill.h5 lacks %s", name);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), 0);
    H5Dclose(d);
}

static hsize_t dims_of(hid_t f, const char *name, hsize_t *dims)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "golden_distill.h5 lacks %s", name);
    hid_t s = H5Dget_space(d);
    int rank = H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    H5Dclose(d);
    return (hsize_t)rank;
}

Test(distill, loss_and_gradient_match_torch)
{
    rm_h5_init();
    hid_t f = H5Fopen(tu_fixture("golden_distill.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0, "cannot open %s (run tests/fixtures/make_golden_distill.py)", tu_fixture("golden_distill.h5"));
    hsize_t d[3], p[1];
    cr_assert_eq(dims_of(f, "/logits", d), 2);
    cr_assert_eq(dims_of(f, "/temperature", p), 1);
    int B = (int)d[0], K = (int)d[1], P = (int)p[0], pad = 3;
    double rtol, atol;
    cr_assert_eq(rm_h5_attr_get_double(f, "rtol", &rtol), 0, "%s", rm_error_message());
    cr_assert_eq(rm_h5_attr_get_double(f, "atol", &atol), 0, "%s", rm_error_message());
    cr_assert(rtol > 0 && rtol <= 1e-6 && atol > 0 && atol <= 1e-8, "tolerances %g %g", rtol, atol);
    /* the C side gets exactly the float32 values torch started from; the
     * batch has `pad` extra rows beyond `valid` = B */
    size_t n = (size_t)(B + pad) * K;
    float *z = calloc(n, sizeof *z), *t = calloc(n, sizeof *t), *probs = calloc(n, sizeof *probs),
          *grad = calloc(n, sizeof *grad);
    int32_t *y = calloc((size_t)(B + pad), sizeof *y);
    double *T = calloc((size_t)P, sizeof *T), *A = calloc((size_t)P, sizeof *A),
           *loss = calloc((size_t)P, sizeof *loss), *ref = calloc((size_t)P * B * K, sizeof *ref);
    hid_t ds = H5Dopen2(f, "/logits", H5P_DEFAULT);
    cr_assert_geq(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, z), 0);
    H5Dclose(ds);
    ds = H5Dopen2(f, "/teacher", H5P_DEFAULT);
    cr_assert_geq(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t), 0);
    H5Dclose(ds);
    ds = H5Dopen2(f, "/labels", H5P_DEFAULT);
    cr_assert_geq(H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, y), 0);
    H5Dclose(ds);
    read_f64(f, "/temperature", T);
    read_f64(f, "/alpha", A);
    read_f64(f, "/loss", loss);
    read_f64(f, "/grad", ref);
    H5Fclose(f);
    for (size_t i = (size_t)B * K; i < n; i++) z[i] = t[i] = 1e3f;   /* padding: must not count */
    int saw_a0 = 0, saw_a1 = 0;
    for (int c = 0; c < P; c++) {
        saw_a0 |= A[c] == 0;
        saw_a1 |= A[c] == 1;
        memset(grad, 0x7f, sizeof *grad * n);
        double got = rm_kd_xent(probs, grad, z, t, y, B + pad, B, K, T[c], A[c]);
        cr_expect(fabs(got - loss[c]) <= rtol * fabs(loss[c]) + atol, "T %g A %g: loss %.17g, torch %.17g", T[c],
                  A[c], got, loss[c]);
        double worst = 0;
        for (int i = 0; i < B * K; i++) {
            double r = ref[(size_t)c * B * K + i], e = fabs((double)grad[i] - r);
            cr_expect(e <= rtol * fabs(r) + atol, "T %g A %g: grad[%d,%d] %.9g, torch %.9g", T[c], A[c], i / K, i % K,
                      (double)grad[i], r);
            worst = e > worst ? e : worst;
        }
        for (size_t i = (size_t)B * K; i < n; i++) cr_expect_eq(grad[i], 0.0f, "padding row gradient");
        cr_log_info("T %g A %g: |loss - torch| %.3g, max |grad - torch| %.3g", T[c], A[c], fabs(got - loss[c]), worst);
    }
    cr_expect(saw_a0 && saw_a1, "the fixture must include A = 0 and A = 1");
    free(z), free(t), free(probs), free(grad), free(y), free(T), free(A), free(loss), free(ref);
}

/* --- training ---------------------------------------------------------------- */

static const char *const net_text =
    "[net]\ninput = 1x16x16\nclasses = 7\n[conv]\nfilters = 6\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n[conv]\nfilters = 8\nsize = 3\npad = 1\n[batchnorm]\n[relu]\n[maxpool]\nsize = 2\n"
    "[dense]\nunits = 7\n";

typedef struct { char *dir; char data[4096], net[4096], teacher[4096]; } fixture;

static rm_train_config config(const fixture *f, const char *out, int epochs)
{
    rm_train_config c;
    rm_train_config_defaults(&c);
    c.data_path = f->data;
    c.net = f->net;
    c.out_path = out;
    c.epochs = epochs;
    c.batch = 32;
    c.eval_batch = 64;
    c.seed = 11;
    c.augment.hflip = 1;
    c.augment.shift = 1;
    c.optim.lr = 0.05;
    c.optim.schedule = RM_LR_COSINE;
    c.optim.epochs = epochs;
    return c;
}

/* A tiny dataset and a teacher trained on it for 2 epochs. */
static void make_fixture(fixture *f)
{
    f->dir = tu_scratch_dir();
    snprintf(f->data, sizeof f->data, "%s/faces.h5", f->dir);
    snprintf(f->net, sizeof f->net, "%s/small.cfg", f->dir);
    snprintf(f->teacher, sizeof f->teacher, "%s/teacher.h5", f->dir);
    tu_write_text(f->net, net_text);
    char *out;
    int rc = tu_run_cli(&out, "synth -q -n 320 --size 16 --intensity 1 --val 0.2 --test 0.1 -o %s", f->data);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rm_progress_set_quiet(1);
    rm_log_set_quiet(1);
    rm_train_config c = config(f, f->teacher, 2);
    c.seed = 3;
    cr_assert_eq(rm_train(&c), 0, "teacher: %s", rm_error_message());
}

static void assert_same_models(const char *a, const char *b)
{
    rm_model x, y;
    cr_assert_eq(rm_model_load(&x, a), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_load(&y, b), 0, "%s", rm_error_message());
    cr_assert_eq(x.num_tensors, y.num_tensors);
    for (int i = 0; i < x.num_tensors; i++) {
        cr_assert_str_eq(x.tensors[i].key, y.tensors[i].key);
        cr_assert_eq(memcmp(x.tensors[i].data, y.tensors[i].data, sizeof(float) * (size_t)x.tensors[i].count), 0,
                     "%s: %s differs from %s", x.tensors[i].key, a, b);
    }
    cr_assert_eq(x.num_epochs, y.num_epochs);
    for (int e = 0; e < x.num_epochs; e++) {
        cr_assert_eq(x.history[e].train_loss, y.history[e].train_loss, "epoch %d train loss", e + 1);
        cr_assert_eq(x.history[e].val_acc, y.history[e].val_acc, "epoch %d val accuracy", e + 1);
    }
    cr_assert_eq(x.best_epoch, y.best_epoch);
    rm_model_free(&x);
    rm_model_free(&y);
}

/* The value of `key=` in a model's training parameters ("" if absent). */
static void param(const char *model_path, const char *key, char *out, size_t size)
{
    rm_model m;
    cr_assert_eq(rm_model_load(&m, model_path), 0, "%s", rm_error_message());
    out[0] = 0;
    size_t n = strlen(key);
    for (const char *p = m.train_params; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && !strncmp(p, key, n) && p[n] == '=') snprintf(out, size, "%.*s", (int)(len - n - 1), p + n + 1);
        p = end ? end + 1 : p + len;
    }
    rm_model_free(&m);
}

static int models_differ(const char *a, const char *b)
{
    rm_model x, y;
    cr_assert_eq(rm_model_load(&x, a), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_load(&y, b), 0, "%s", rm_error_message());
    int differ = 0;
    for (int i = 0; i < x.num_tensors && !differ; i++)
        differ = memcmp(x.tensors[i].data, y.tensors[i].data, sizeof(float) * (size_t)x.tensors[i].count) != 0;
    rm_model_free(&x);
    rm_model_free(&y);
    return differ;
}

Test(distill, alpha_0_is_plain_cross_entropy_bit_for_bit, .timeout = 300)
{
    fixture f;
    make_fixture(&f);
    char plain[4096], kd0[4096], kd5[4096];
    snprintf(plain, sizeof plain, "%s/plain.h5", f.dir);
    snprintf(kd0, sizeof kd0, "%s/kd0.h5", f.dir);
    snprintf(kd5, sizeof kd5, "%s/kd5.h5", f.dir);
    rm_train_config c = config(&f, plain, 2);
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    c.out_path = kd0;
    c.distill_path = f.teacher;
    c.kd_alpha = 0;
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    assert_same_models(plain, kd0);
    /* and A = 0.5 does change the training (the test can tell them apart) */
    c.out_path = kd5;
    c.kd_alpha = 0.5;
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    cr_assert(models_differ(plain, kd5), "--kd-alpha 0.5 trained the same model as plain cross-entropy");
    char v[256];
    param(kd0, "kd_alpha", v, sizeof v);
    cr_assert_str_eq(v, "0");
    tu_rmtree(f.dir);
}

Test(distill, model_and_its_predictions_teach_the_same_student, .timeout = 300)
{
    fixture f;
    make_fixture(&f);
    char *out;
    const char *d = f.dir;
    int rc = tu_run_cli(&out, "predict -q --model %s --data %s --out %s/pred.h5", f.teacher, f.data, d);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    const char *common = "-q -e 3 -b 32 --seed 5 --lr 0.05 --hflip --kd-temperature 3 --kd-alpha 0.7";
    rc = tu_run_cli(&out, "train -d %s -n %s -o %s/from_model.h5 --distill %s %s", f.data, f.net, d, f.teacher, common);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = tu_run_cli(&out, "train -d %s -n %s -o %s/from_pred.h5 --distill %s/pred.h5 %s", f.data, f.net, d, d, common);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    char a[4096], b[4096], v[4096], w[4096];
    snprintf(a, sizeof a, "%s/from_model.h5", d);
    snprintf(b, sizeof b, "%s/from_pred.h5", d);
    /* provenance: source, its fingerprint, the soft targets' fingerprint, T, A */
    param(a, "distill", v, sizeof v);
    cr_assert_str_eq(v, f.teacher);
    param(a, "distill_kind", v, sizeof v);
    cr_assert_str_eq(v, "model");
    param(b, "distill_kind", v, sizeof v);
    cr_assert_str_eq(v, "predictions");
    rm_model teacher;
    cr_assert_eq(rm_model_load(&teacher, f.teacher), 0, "%s", rm_error_message());
    char fp[17];
    rm_model_fingerprint(fp, &teacher);
    rm_model_free(&teacher);
    param(a, "distill_fingerprint", v, sizeof v);
    cr_assert_str_eq(v, fp);
    param(b, "distill_fingerprint", v, sizeof v);
    cr_assert_eq(strlen(v), 16, "predictions fingerprint '%s'", v);
    param(a, "kd_temperature", v, sizeof v);
    cr_assert_str_eq(v, "3");
    param(a, "kd_alpha", v, sizeof v);
    cr_assert_str_eq(v, "0.7");
    /* the same soft targets, hence the same student */
    param(a, "distill_targets_fingerprint", v, sizeof v);
    param(b, "distill_targets_fingerprint", w, sizeof w);
    cr_assert_eq(strlen(v), 16);
    cr_assert_str_eq(v, w, "the model's logits and the predictions file's differ");
    assert_same_models(a, b);
    /* the student trains: its distillation loss and its validation loss fall */
    rm_model s;
    cr_assert_eq(rm_model_load(&s, a), 0, "%s", rm_error_message());
    cr_assert_eq(s.num_epochs, 3);
    cr_assert_lt(s.history[2].train_loss, s.history[0].train_loss, "train loss %g -> %g", s.history[0].train_loss,
                 s.history[2].train_loss);
    cr_assert_lt(s.history[2].val_loss, s.history[0].val_loss, "val loss %g -> %g", s.history[0].val_loss,
                 s.history[2].val_loss);
    rm_model_free(&s);
    /* relmask info shows the teacher */
    rc = tu_run_cli(&out, "info %s", a);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "distill=") && strstr(out, "kd_temperature=3") && strstr(out, "kd_alpha=0.7") &&
                  strstr(out, "distill_fingerprint="), "info lacks the distillation parameters:\n%s", out);
    free(out);
    tu_rmtree(f.dir);
}

Test(distill, resume_keeps_the_soft_targets, .timeout = 300)
{
    fixture f;
    make_fixture(&f);
    char whole[4096], parts[4096];
    snprintf(whole, sizeof whole, "%s/whole.h5", f.dir);
    snprintf(parts, sizeof parts, "%s/parts.h5", f.dir);
    rm_train_config c = config(&f, whole, 3);
    c.distill_path = f.teacher;
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    c.out_path = parts;
    c.stop_after = 1;
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    /* another weight is refused, naming the checkpoint and the parameter */
    rm_train_config other = c;
    other.resume = 1;
    other.stop_after = 0;
    other.kd_alpha = 0.25;
    cr_assert_eq(rm_train(&other), -1);
    cr_assert(strstr(rm_error_message(), "parts.h5.ckpt") && strstr(rm_error_message(), "kd_alpha=0.5"),
              "%s", rm_error_message());
    /* and so is a run without the teacher */
    other.kd_alpha = 0.5;
    other.distill_path = NULL;
    cr_assert_eq(rm_train(&other), -1);
    cr_assert(strstr(rm_error_message(), "distill_targets_fingerprint"), "%s", rm_error_message());
    c.resume = 1;
    c.stop_after = 0;
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    assert_same_models(whole, parts);
    tu_rmtree(f.dir);
}

Test(distill, library_refuses_bad_temperature_and_weight, .timeout = 120)
{
    char *dir = tu_scratch_dir();
    char data[4096], net[4096], out[4096];
    snprintf(data, sizeof data, "%s/d.h5", dir);
    snprintf(net, sizeof net, "%s/n.cfg", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    tu_write_text(net, net_text);
    char *o;
    cr_assert_eq(tu_run_cli(&o, "synth -q -n 60 --size 16 -o %s", data), 0, "%s", o);
    free(o);
    rm_log_set_quiet(1);
    rm_progress_set_quiet(1);
    static const struct { double T, A; const char *expect; } bad[] = {
        {0, 0.5, "--kd-temperature 0"}, {-1, 0.5, "--kd-temperature -1"}, {NAN, 0.5, "--kd-temperature nan"},
        {4, -0.1, "--kd-alpha -0.1"},   {4, 1.5, "--kd-alpha 1.5"},       {4, NAN, "--kd-alpha nan"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rm_train_config c;
        rm_train_config_defaults(&c);
        c.data_path = data;
        c.net = net;
        c.out_path = out;
        c.distill_path = data;   /* never read: the check comes first */
        c.kd_temperature = bad[i].T;
        c.kd_alpha = bad[i].A;
        cr_expect_eq(rm_train(&c), -1, "T %g A %g accepted", bad[i].T, bad[i].A);
        cr_expect(strstr(rm_error_message(), bad[i].expect), "T %g A %g: '%s' lacks '%s'", bad[i].T, bad[i].A,
                  rm_error_message(), bad[i].expect);
        cr_expect(!tu_file_exists(out));
    }
    tu_rmtree(dir);
}

/* softmax(row / T) in double */
static void soft(const float *row, int k, double T, double *p)
{
    double max = row[0], sum = 0;
    for (int j = 1; j < k; j++) max = row[j] > max ? row[j] : max;
    for (int j = 0; j < k; j++) sum += p[j] = exp(((double)row[j] - max) / T);
    for (int j = 0; j < k; j++) p[j] /= sum;
}

Test(distill, probabilities_only_file_gives_the_same_soft_targets, .timeout = 300)
{
    fixture f;
    make_fixture(&f);
    char pred[4096], probs_only[4096];
    snprintf(pred, sizeof pred, "%s/pred.h5", f.dir);
    snprintf(probs_only, sizeof probs_only, "%s/probs.h5", f.dir);
    char *out;
    cr_assert_eq(tu_run_cli(&out, "predict -q --model %s --data %s --out %s", f.teacher, f.data, pred), 0, "%s", out);
    free(out);
    cr_assert_eq(tu_run_cli(&out, "predict -q --model %s --data %s --out %s", f.teacher, f.data, probs_only), 0, "%s",
                 out);
    free(out);
    hid_t h = H5Fopen(probs_only, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(h, 0);
    cr_assert_geq(H5Ldelete(h, "/logits", H5P_DEFAULT), 0);
    H5Fclose(h);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, f.data), 0, "%s", rm_error_message());
    rm_teacher a, b, c;
    cr_assert_eq(rm_teacher_load(&a, f.teacher, f.data, &ds, 256), 0, "%s", rm_error_message());
    cr_assert_eq(rm_teacher_load(&b, pred, f.data, &ds, 256), 0, "%s", rm_error_message());
    cr_assert_eq(rm_teacher_load(&c, probs_only, f.data, &ds, 256), 0, "%s", rm_error_message());
    cr_assert_str_eq(a.kind, "model");
    cr_assert_str_eq(c.kind, "predictions");
    size_t train = 0;
    for (size_t r = 0; r < ds.count; r++) train += ds.split[r] == RM_SPLIT_TRAIN;
    cr_assert_eq(a.train, train);
    cr_assert_str_eq(a.targets_fingerprint, b.targets_fingerprint);
    cr_assert_eq(memcmp(a.logits, b.logits, sizeof(float) * train * (size_t)a.num_classes), 0);
    /* log p differs from the logits by a constant per row: the same soft
     * targets up to float32 rounding of p (tolerance 1e-6 absolute) */
    int k = a.num_classes;
    double pa[RM_MAX_CLASSES], pc[RM_MAX_CLASSES], worst = 0;
    for (size_t i = 0; i < train; i++)
        for (int ti = 0; ti < 3; ti++) {
            double T = ti == 0 ? 1 : ti == 1 ? 4 : 10;
            soft(a.logits + i * k, k, T, pa);
            soft(c.logits + i * k, k, T, pc);
            for (int j = 0; j < k; j++) {
                worst = fabs(pa[j] - pc[j]) > worst ? fabs(pa[j] - pc[j]) : worst;
                cr_expect(fabs(pa[j] - pc[j]) <= 1e-6, "row %zu class %d T %g: %.9g vs %.9g", i, j, T, pa[j], pc[j]);
            }
        }
    cr_log_info("max |softmax(logits/T) - softmax(log p/T)| = %.3g", worst);
    rm_teacher_free(&a);
    rm_teacher_free(&b);
    rm_teacher_free(&c);
    rm_dataset_close(&ds);
    tu_rmtree(f.dir);
}

/* An "encoded" copy of the dataset with inverted train images. */
static void write_inverted_copy(const char *from, const char *to)
{
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, from), 0, "%s", rm_error_message());
    rm_dataset_spec s = {.channels = 1, .height = 16, .width = 16, .num_classes = ds.num_classes,
                         .class_names = (const char *const *)ds.class_names, .source_format = "encoded",
                         .source_path = from, .deflate_level = 1};
    rm_dataset_writer *w;
    cr_assert_eq(rm_dataset_writer_open(&w, to, &s, 0), 0, "%s", rm_error_message());
    uint8_t img[256];
    for (size_t i = 0; i < ds.count; i++) {
        cr_assert_eq(rm_dataset_read_images(&ds, i, 1, img), 0);
        if (ds.split[i] == RM_SPLIT_TRAIN)
            for (int k = 0; k < 256; k++) img[k] = (uint8_t)(255 - img[k]);
        cr_assert_eq(rm_dataset_writer_append(w, img, ds.labels[i], ds.split[i], NULL), 0, "%s", rm_error_message());
    }
    rm_split_spec sp = {.seed = 1};
    cr_assert_eq(rm_dataset_writer_finish(w, &sp), 0, "%s", rm_error_message());
    rm_dataset_close(&ds);
}

Test(distill, with_encoded_the_soft_targets_come_from_raw_images, .timeout = 300)
{
    fixture f;
    make_fixture(&f);
    char enc[4096], kd[4096], kd_enc[4096], enc_only[4096];
    snprintf(enc, sizeof enc, "%s/enc.h5", f.dir);
    snprintf(kd, sizeof kd, "%s/kd.h5", f.dir);
    snprintf(kd_enc, sizeof kd_enc, "%s/kd_enc.h5", f.dir);
    snprintf(enc_only, sizeof enc_only, "%s/enc_only.h5", f.dir);
    write_inverted_copy(f.data, enc);
    rm_train_config c = config(&f, kd, 2);
    c.distill_path = f.teacher;
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    c.out_path = kd_enc;
    c.encoded_path = enc;
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    c.out_path = enc_only;
    c.distill_path = NULL;
    cr_assert_eq(rm_train(&c), 0, "%s", rm_error_message());
    /* the same soft targets with and without --encoded: the raw images' */
    char v[256], w[256], x[256];
    param(kd, "distill_targets_fingerprint", v, sizeof v);
    param(kd_enc, "distill_targets_fingerprint", w, sizeof w);
    cr_assert_str_eq(v, w);
    /* which differ from the teacher's outputs on the encoded images, so
     * the check above can tell */
    rm_dataset eds;
    cr_assert_eq(rm_dataset_open(&eds, enc), 0, "%s", rm_error_message());
    rm_teacher on_encoded;
    cr_assert_eq(rm_teacher_load(&on_encoded, f.teacher, enc, &eds, 64), 0, "%s", rm_error_message());
    cr_assert_str_neq(on_encoded.targets_fingerprint, v);
    rm_teacher_free(&on_encoded);
    rm_dataset_close(&eds);
    /* the student did train on the encoded images, with the teacher */
    param(kd_enc, "encoded", x, sizeof x);
    cr_assert_str_eq(x, enc);
    cr_assert(models_differ(kd, kd_enc), "--encoded made no difference");
    cr_assert(models_differ(enc_only, kd_enc), "--distill made no difference with --encoded");
    tu_rmtree(f.dir);
}
