#include "train/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static double ratio(int64_t num, int64_t den) { return den > 0 ? (double)num / (double)den : 0.0; }

static void class_metrics(const int64_t *confusion, int k, int c, rm_class_metrics *out)
{
    int64_t tp = confusion[(size_t)c * k + c], support = 0, predicted = 0;
    for (int j = 0; j < k; j++) {
        support += confusion[(size_t)c * k + j];
        predicted += confusion[(size_t)j * k + c];
    }
    out->support = support;
    out->predicted = predicted;
    out->precision = ratio(tp, predicted);
    out->recall = ratio(tp, support);
    out->f1 = ratio(2 * tp, predicted + support);
}

static void macro_average(rm_metrics *m)
{
    rm_class_metrics *a = &m->macro;
    memset(a, 0, sizeof *a);
    a->support = a->predicted = m->count;
    m->macro_classes = 0;
    for (int c = 0; c < m->num_classes; c++) {
        const rm_class_metrics *p = &m->per_class[c];
        if (p->support == 0 && p->predicted == 0) continue;
        a->precision += p->precision;
        a->recall += p->recall;
        a->f1 += p->f1;
        m->macro_classes++;
    }
    if (m->macro_classes == 0) return;
    a->precision /= m->macro_classes;
    a->recall /= m->macro_classes;
    a->f1 /= m->macro_classes;
}

int rm_metrics_compute(rm_metrics *m, const int64_t *confusion, int k)
{
    memset(m, 0, sizeof *m);
    if (!confusion || k < 1) return rm_error("metrics: no confusion matrix (%d classes)", k);
    for (size_t i = 0; i < (size_t)k * k; i++)
        if (confusion[i] < 0) return rm_error("metrics: negative count in the confusion matrix");
    m->per_class = rm_calloc((size_t)k, sizeof *m->per_class, "per-class metrics");
    if (!m->per_class) return -1;
    m->num_classes = k;
    for (int c = 0; c < k; c++) {
        class_metrics(confusion, k, c, &m->per_class[c]);
        m->count += m->per_class[c].support;
        m->correct += confusion[(size_t)c * k + c];
    }
    m->accuracy = ratio(m->correct, m->count);
    macro_average(m);
    return 0;
}

void rm_metrics_free(rm_metrics *m)
{
    free(m->per_class);
    memset(m, 0, sizeof *m);
}
