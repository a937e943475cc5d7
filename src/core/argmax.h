/* The index of a row's largest value, the first one on ties: the class a
 * row of logits or probabilities predicts, counted the same everywhere
 * (evaluation, training accuracy, fusion, predictions, relevance). */
#ifndef RELMASK_ARGMAX_H
#define RELMASK_ARGMAX_H

/* n >= 1. A NaN in x[0] is never replaced; later NaNs are skipped. */
int rm_argmax(const float *x, int n);
/* The same for double rows (fused probabilities). */
int rm_argmax_double(const double *x, int n);

#endif
