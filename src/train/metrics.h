/* Classification metrics from a confusion matrix (row = true class,
 * column = predicted class), shared by `relmask eval` and the report.
 *
 * Per class k, with tp = C[k][k], predicted = column sum, support = row sum:
 *   precision = tp / predicted   (0 when the class was never predicted)
 *   recall    = tp / support     (0 when the class has no records)
 *   f1        = 2 tp / (predicted + support)
 *                                (= 2PR/(P+R); 0 when both are 0)
 * Macro averages are unweighted means over the classes that occur as a
 * true or a predicted label (scikit-learn's default label set); a class
 * that occurs in neither has no defined metrics and is left out. */
#ifndef RELMASK_METRICS_H
#define RELMASK_METRICS_H

#include <stdint.h>

typedef struct {
    double precision, recall, f1;
    int64_t support;            /* records of this class (row sum); macro: all records */
    int64_t predicted;          /* records predicted as this class (column sum); macro: all records */
} rm_class_metrics;

typedef struct {
    int num_classes;
    int64_t count, correct;     /* total records, diagonal sum */
    double accuracy;            /* correct / count (0 when count is 0) */
    rm_class_metrics *per_class;/* [num_classes] */
    rm_class_metrics macro;
    int macro_classes;          /* classes averaged into macro */
} rm_metrics;

/* Computes every metric of a [k][k] confusion matrix; 0, or -1 (with a
 * message) on a bad argument or out of memory. */
int rm_metrics_compute(rm_metrics *m, const int64_t *confusion, int k);
void rm_metrics_free(rm_metrics *m);

#endif
