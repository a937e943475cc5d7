/* The predictor interface behind rm_predictor (src/relevance/occlusion.h):
 * each kind embeds this struct first and fills the two functions. */
#ifndef RELMASK_PREDICTOR_H
#define RELMASK_PREDICTOR_H

#include <stdint.h>

#include "relevance/occlusion.h"

struct rm_predictor {
    int channels, height, width, num_classes;
    /* n >= 1; probs [n,K] */
    int (*run)(rm_predictor *p, const uint8_t *images, int n, float *probs);
    void (*destroy)(rm_predictor *p);
};

#endif
