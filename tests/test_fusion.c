/* Decision-level fusion (relmask eval --fuse): a model fused with itself is
 * the model; two models fuse to the weighted mean of their softmax
 * outputs, checked against rm_inference_run; members that disagree on
 * classes or input shape are refused naming the file; the CLI prints and
 * writes the members. Two tiny networks trained for one epoch each. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "train/train.h"
#include "test_util.h"

static char *dir;
static char data[4200], model_a[4200], model_b[4200];

static const char net_text[] =
    "[net]\ninput = 1x16x16\nclasses = 7\n"
    "[conv]\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n"
    "[dense]\nunits = 7\n";

static void cli(int want, const char *want_text, const char *fmt, const char *a, const char *b, const char *c)
{
    char *out;
    int code = tu_run_cli(&out, fmt, a, b, c);
    cr_assert_eq(code, want, "relmask exited %d, expected %d:\n%s", code, want, out);
    if (want_text) cr_assert(strstr(out, want_text), "expected '%s' in:\n%s", want_text, out);
    free(out);
}

static void setup(void)
{
    dir = tu_scratch_dir();
    snprintf(data, sizeof data, "%s/d.h5", dir);
    snprintf(model_a, sizeof model_a, "%s/a.h5", dir);
    snprintf(model_b, sizeof model_b, "%s/b.h5", dir);
    tu_write_text(tu_path(dir, "net.cfg"), net_text);
    cli(0, NULL, "synth -q -n 140 --size 16 -o %s%s%s", data, "", "");
    cli(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16 --seed 1", data, tu_path(dir, "net.cfg"),
        model_a);
    cli(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16 --seed 2 --lr 0.03", data,
        tu_path(dir, "net.cfg"), model_b);
}

static void teardown(void) { tu_rmtree(dir); }

TestSuite(fusion, .init = setup, .fini = teardown, .timeout = 120);

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

static void run_member(rm_inference *inf, const char *path)
{
    cr_assert_eq(rm_inference_run(inf, path, data, RM_SPLIT_TEST, 5, 1), 0, "%s", rm_error_message());
}

Test(fusion, a_model_fused_with_itself_is_the_model)
{
    const char *paths[2] = {model_a, model_a};
    rm_fusion f;
    cr_assert_eq(rm_fusion_run(&f, paths, NULL, 2, data, RM_SPLIT_TEST, 8, 0), 0, "%s", rm_error_message());
    rm_inference a;
    run_member(&a, model_a);
    int k = a.model.num_classes;
    cr_assert_eq(f.count, a.count);
    cr_assert_eq(f.num_classes, k);
    cr_assert_eq(f.weights[0], 0.5);
    double row[16];
    for (int64_t i = 0; i < a.count; i++) {
        rm_softmax_row(a.logits + (size_t)i * k, k, row);
        for (int j = 0; j < k; j++)
            cr_assert_eq(f.probs[(size_t)i * k + j], row[j], "record %lld class %d", (long long)i, j);
    }
    cr_assert_eq(f.result.accuracy, a.result.accuracy);
    cr_assert_eq(memcmp(f.result.confusion, a.result.confusion, sizeof(int64_t) * (size_t)(k * k)), 0);
    cr_assert(fabs(f.result.loss - a.result.loss) < 1e-9, "%g vs %g", f.result.loss, a.result.loss);
    rm_inference_free(&a);
    rm_fusion_free(&f);

    /* The CLI prints the same accuracy for --fuse A,A as for --model A. */
    char *one, *two;
    cr_assert_eq(tu_run_cli(&one, "eval --model %s --data %s", model_a, data), 0);
    cr_assert_eq(tu_run_cli(&two, "eval --fuse %s,%s --data %s", model_a, model_a, data), 0, "%s", two);
    char *acc = strstr(one, "accuracy:  ");
    cr_assert(acc);
    char line[64];
    snprintf(line, sizeof line, "%.*s", (int)(strchr(acc, '(') - acc), acc);
    cr_assert(strstr(two, line), "'%s' in:\n%s", line, two);
    cr_assert(strstr(two, "fusion:    2 models"), "%s", two);
    free(one);
    free(two);
}

Test(fusion, fused_probabilities_are_the_weighted_mean)
{
    const char *paths[2] = {model_a, model_b};
    const double weights[2] = {1.0, 3.0};   /* normalized: 0.25, 0.75 */
    rm_fusion f;
    cr_assert_eq(rm_fusion_run(&f, paths, weights, 2, data, RM_SPLIT_TEST, 4, 0), 0, "%s", rm_error_message());
    cr_assert_eq(f.weights[0], 0.25);
    cr_assert_eq(f.weights[1], 0.75);
    rm_inference a, b;
    run_member(&a, model_a);
    run_member(&b, model_b);
    int k = a.model.num_classes, differ = 0;
    int64_t correct = 0;
    double ra[16], rb[16], loss = 0;
    for (int64_t i = 0; i < a.count; i++) {
        rm_softmax_row(a.logits + (size_t)i * k, k, ra);
        rm_softmax_row(b.logits + (size_t)i * k, k, rb);
        int best = 0;
        double sum = 0;
        for (int j = 0; j < k; j++) {
            double want = 0.25 * ra[j] + 0.75 * rb[j], got = f.probs[(size_t)i * k + j];
            cr_assert(fabs(got - want) < 1e-12, "record %lld class %d: %.17g vs %.17g", (long long)i, j, got, want);
            if (want > 0.25 * ra[best] + 0.75 * rb[best]) best = j;
            sum += got;
            differ += fabs(ra[j] - rb[j]) > 1e-3;
        }
        cr_assert(fabs(sum - 1) < 1e-12);
        cr_assert_eq(f.predicted[i], best, "record %lld", (long long)i);
        correct += best == a.labels[i];
        loss -= log(f.probs[(size_t)i * k + a.labels[i]]);
    }
    cr_assert_gt(differ, 0, "the two models must differ for this test to mean anything");
    cr_assert_eq(f.result.accuracy, (double)correct / (double)a.count);
    cr_assert(fabs(f.result.loss - loss / (double)a.count) < 1e-12);
    cr_assert_eq(f.members[0].result.accuracy, a.result.accuracy);
    cr_assert_eq(f.members[1].result.accuracy, b.result.accuracy);

    /* JSON: the fused metrics plus a members array. */
    const char *json = tu_path(dir, "f.json");
    char json_copy[4200];
    snprintf(json_copy, sizeof json_copy, "%s", json);
    char list[9000];
    snprintf(list, sizeof list, "%s,%s", model_a, model_b);
    cli(0, "member 2:", "eval --fuse %s --data %s --weights 1,3 --out %s", list, data, json_copy);
    char *text = read_text(json_copy);
    char want[256];
    snprintf(want, sizeof want, "\"accuracy\": %.10g", f.result.accuracy);
    cr_assert(strstr(text, want), "%s in:\n%s", want, text);
    static const char *const keys[] = {"\"fusion\": \"mean_probability\"", "\"members\": [", "\"weight\": 0.25",
                                       "\"weight\": 0.75", "\"per_class\": [", "\"confusion\": [", NULL};
    for (int i = 0; keys[i]; i++) cr_assert(strstr(text, keys[i]), "%s in:\n%s", keys[i], text);
    snprintf(want, sizeof want, "\"net\": \"net\", \"weight\": 0.75, \"count\": %lld", (long long)b.count);
    cr_assert(strstr(text, want), "%s in:\n%s", want, text);
    snprintf(want, sizeof want, "\"accuracy\": %.10g, \"loss\"", b.result.accuracy);
    cr_assert(strstr(text, want), "member accuracy %s in:\n%s", want, text);
    free(text);
    const char *csv = tu_path(dir, "f.csv");
    char csv_copy[4200];
    snprintf(csv_copy, sizeof csv_copy, "%s", csv);
    cli(0, NULL, "eval --fuse %s --data %s --out %s", list, data, csv_copy);
    text = read_text(csv_copy);
    cr_assert(strstr(text, "# relmask eval: fuse=") && strstr(text, "# member model=") &&
              strstr(text, "\nmacro_avg,"), "%s", text);
    free(text);
    rm_inference_free(&a);
    rm_inference_free(&b);
    rm_fusion_free(&f);
}

Test(fusion, members_must_agree_on_classes_and_shape)
{
    /* A copy of model A that names class 2 differently. */
    rm_model m;
    cr_assert_eq(rm_model_load(&m, model_a), 0, "%s", rm_error_message());
    free(m.class_names[2]);
    m.class_names[2] = strdup("gloomy");
    char renamed[4200];
    snprintf(renamed, sizeof renamed, "%s/renamed.h5", dir);
    cr_assert_eq(rm_model_save(&m, renamed, 0, "test"), 0, "%s", rm_error_message());
    rm_model_free(&m);
    const char *paths[2] = {model_a, renamed};
    rm_fusion f;
    cr_assert_neq(rm_fusion_run(&f, paths, NULL, 2, data, RM_SPLIT_TEST, 8, 0), 0);
    const char *msg = rm_error_message();
    cr_assert(strstr(msg, renamed) && strstr(msg, "class 2 is 'gloomy'"), "%s", msg);
    rm_fusion_free(&f);
    char list[9000];
    snprintf(list, sizeof list, "%s,%s", model_a, renamed);
    cli(1, "class 2 is 'gloomy'", "eval --fuse %s --data %s%s", list, data, "");

    /* Another input shape. */
    char small[4200], small_data[4200], small_net[4200];
    snprintf(small, sizeof small, "%s/small.h5", dir);
    snprintf(small_data, sizeof small_data, "%s/d20.h5", dir);
    snprintf(small_net, sizeof small_net, "%s/n20.cfg", dir);
    tu_write_text(small_net, "[net]\ninput = 1x20x20\nclasses = 7\n[conv]\nfilters = 2\nsize = 3\npad = 1\n"
                             "[dense]\nunits = 7\n");
    cli(0, NULL, "synth -q -n 70 --size 20 -o %s%s%s", small_data, "", "");
    cli(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16", small_data, small_net, small);
    paths[1] = small;
    cr_assert_neq(rm_fusion_run(&f, paths, NULL, 2, data, RM_SPLIT_TEST, 8, 0), 0);
    msg = rm_error_message();
    cr_assert(strstr(msg, small) && strstr(msg, "1x20x20") && strstr(msg, "1x16x16"), "%s", msg);
    rm_fusion_free(&f);

    const double bad[2] = {0, 0};
    paths[1] = model_b;
    cr_assert_neq(rm_fusion_run(&f, paths, bad, 2, data, RM_SPLIT_TEST, 8, 0), 0);
    cr_assert(strstr(rm_error_message(), "sum to 0"), "%s", rm_error_message());
    rm_fusion_free(&f);
}

Test(fusion, usage_errors)
{
    char list[9000];
    snprintf(list, sizeof list, "%s,%s", model_a, model_b);
    cli(2, "at least two model files", "eval --fuse %s --data %s%s", model_a, data, "");
    cli(2, "exclude each other", "eval --fuse %s --model %s --data %s", list, model_a, data);
    cli(2, "3 values for 2 models", "eval --fuse %s --data %s --weights 1,2,3%s", list, data, "");
    cli(2, "--weights needs --fuse", "eval --model %s --data %s --weights 1%s", model_a, data, "");
    cli(2, "--weights", "eval --fuse %s --data %s --weights 1,-1%s", list, data, "");
    cli(2, "must not all be 0", "eval --fuse %s --data %s --weights 0,0%s", list, data, "");
    cli(2, "empty entry", "eval --fuse %s, --data %s%s", list, data, "");
    cli(1, "missing.h5", "eval --fuse %s,%s --data %s", model_a, tu_path(dir, "missing.h5"), data);
    cli(0, "--fuse A,B", "eval --help%s%s%s", "", "", "");
}
