/* Learning-curve metrics of one training run (docs/report.md). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "report/report.h"

int rm_curve_compute(const double *val, const double *seconds, int epochs, const double thresholds[2],
                     rm_curve_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->seconds_to[0] = out->seconds_to[1] = NAN;
    if (epochs < 1) return rm_error("learning curve: no epochs in the history");
    for (int e = 0; e < epochs; e++) {
        if (!isfinite(val[e])) return rm_error("learning curve: validation accuracy of epoch %d is not finite", e + 1);
        if (!isfinite(seconds[e]) || seconds[e] < 0)
            return rm_error("learning curve: seconds of epoch %d is %g", e + 1, seconds[e]);
    }
    double sum = 0, elapsed = 0;
    out->epochs = epochs;
    out->best_val = val[0];
    for (int e = 0; e < epochs; e++) {
        sum += val[e];
        elapsed += seconds[e];
        if (val[e] > out->best_val) out->best_val = val[e];
        for (int t = 0; t < 2; t++) {
            if (out->epochs_to[t] == 0 && val[e] >= thresholds[t]) {
                out->epochs_to[t] = e + 1;
                out->seconds_to[t] = elapsed;
            }
        }
    }
    out->final_val = val[epochs - 1];
    out->aulc = sum / epochs;
    out->total_seconds = elapsed;
    return 0;
}
