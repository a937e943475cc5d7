/* Precision, recall, F1 and their macro averages from confusion matrices
 * computed by hand, including the zero-division conventions. */
#include <criterion/criterion.h>

#include "core/error.h"
#include "train/metrics.h"

#define EPS 1e-12

static void expect_class(const rm_class_metrics *c, double p, double r, double f1, long long support,
                         long long predicted, const char *what)
{
    cr_assert_float_eq(c->precision, p, EPS, "%s precision %.15g, expected %.15g", what, c->precision, p);
    cr_assert_float_eq(c->recall, r, EPS, "%s recall %.15g, expected %.15g", what, c->recall, r);
    cr_assert_float_eq(c->f1, f1, EPS, "%s f1 %.15g, expected %.15g", what, c->f1, f1);
    cr_assert_eq(c->support, support, "%s support", what);
    cr_assert_eq(c->predicted, predicted, "%s predicted", what);
}

Test(metrics, three_classes_by_hand)
{
    /* rows true, columns predicted; column sums 6, 7, 5; row sums 8, 4, 6 */
    const int64_t cm[9] = {5, 2, 1,
                           1, 3, 0,
                           0, 2, 4};
    rm_metrics m;
    cr_assert_eq(rm_metrics_compute(&m, cm, 3), 0, "%s", rm_error_message());
    cr_assert_eq(m.count, 18);
    cr_assert_eq(m.correct, 12);
    cr_assert_float_eq(m.accuracy, 12.0 / 18.0, EPS);
    expect_class(&m.per_class[0], 5.0 / 6, 5.0 / 8, 10.0 / 14, 8, 6, "class 0");
    expect_class(&m.per_class[1], 3.0 / 7, 3.0 / 4, 6.0 / 11, 4, 7, "class 1");
    expect_class(&m.per_class[2], 4.0 / 5, 4.0 / 6, 8.0 / 11, 6, 5, "class 2");
    /* F1 is the harmonic mean of precision and recall */
    for (int c = 0; c < 3; c++) {
        double p = m.per_class[c].precision, r = m.per_class[c].recall;
        cr_assert_float_eq(m.per_class[c].f1, 2 * p * r / (p + r), EPS);
    }
    cr_assert_eq(m.macro_classes, 3);
    expect_class(&m.macro, (5.0 / 6 + 3.0 / 7 + 4.0 / 5) / 3, (5.0 / 8 + 3.0 / 4 + 4.0 / 6) / 3,
                 (10.0 / 14 + 6.0 / 11 + 8.0 / 11) / 3, 18, 18, "macro");
    rm_metrics_free(&m);
}

Test(metrics, never_predicted_and_absent_classes)
{
    /* class 1 has records but is never predicted: precision 0 (not NaN);
     * class 2 occurs neither as a label nor as a prediction: all 0 and
     * left out of the macro average. */
    const int64_t cm[9] = {2, 0, 0,
                           1, 0, 0,
                           0, 0, 0};
    rm_metrics m;
    cr_assert_eq(rm_metrics_compute(&m, cm, 3), 0, "%s", rm_error_message());
    expect_class(&m.per_class[0], 2.0 / 3, 1.0, 0.8, 2, 3, "class 0");
    expect_class(&m.per_class[1], 0, 0, 0, 1, 0, "never predicted");
    expect_class(&m.per_class[2], 0, 0, 0, 0, 0, "absent");
    cr_assert_eq(m.macro_classes, 2);
    expect_class(&m.macro, 1.0 / 3, 0.5, 0.4, 3, 3, "macro");
    cr_assert_float_eq(m.accuracy, 2.0 / 3, EPS);
    rm_metrics_free(&m);
}

Test(metrics, predicted_class_without_records)
{
    /* class 1 has no records but one prediction: precision 0, recall 0 (no
     * records), and it counts in the macro average. */
    const int64_t cm[4] = {1, 1,
                           0, 0};
    rm_metrics m;
    cr_assert_eq(rm_metrics_compute(&m, cm, 2), 0, "%s", rm_error_message());
    expect_class(&m.per_class[0], 1.0, 0.5, 2.0 / 3, 2, 1, "class 0");
    expect_class(&m.per_class[1], 0, 0, 0, 0, 1, "class 1");
    cr_assert_eq(m.macro_classes, 2);
    expect_class(&m.macro, 0.5, 0.25, 1.0 / 3, 2, 2, "macro");
    rm_metrics_free(&m);
}

Test(metrics, perfect_and_empty_matrices)
{
    const int64_t perfect[4] = {3, 0, 0, 4}, empty[4] = {0};
    rm_metrics m;
    cr_assert_eq(rm_metrics_compute(&m, perfect, 2), 0);
    cr_assert_float_eq(m.accuracy, 1.0, EPS);
    expect_class(&m.macro, 1, 1, 1, 7, 7, "perfect macro");
    rm_metrics_free(&m);
    cr_assert_eq(rm_metrics_compute(&m, empty, 2), 0);
    cr_assert_eq(m.count, 0);
    cr_assert_float_eq(m.accuracy, 0.0, EPS);
    cr_assert_eq(m.macro_classes, 0);
    expect_class(&m.macro, 0, 0, 0, 0, 0, "empty macro");
    rm_metrics_free(&m);
}

Test(metrics, bad_arguments)
{
    const int64_t negative[4] = {1, -1, 0, 1};
    rm_metrics m;
    cr_assert_eq(rm_metrics_compute(&m, negative, 2), -1);
    cr_assert(strstr(rm_error_message(), "negative"), "%s", rm_error_message());
    cr_assert_eq(rm_metrics_compute(&m, negative, 0), -1);
    cr_assert_eq(rm_metrics_compute(&m, NULL, 2), -1);
    rm_metrics_free(&m);
}
