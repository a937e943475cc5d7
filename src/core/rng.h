/* Deterministic random numbers. Every stochastic stage derives its streams
 * from (seed, stream id, index) so results do not depend on thread count. */
#ifndef RELMASK_RNG_H
#define RELMASK_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t s[4]; } rm_rng;   /* xoshiro256** state */

uint64_t rm_splitmix64(uint64_t *state);
/* Seeds a generator for item `index` of stream `stream` under `seed`. */
void rm_rng_seed(rm_rng *rng, uint64_t seed, uint64_t stream, uint64_t index);
uint64_t rm_rng_next(rm_rng *rng);
double rm_rng_uniform(rm_rng *rng);                    /* [0, 1) */
double rm_rng_range(rm_rng *rng, double lo, double hi);/* [lo, hi) */
uint64_t rm_rng_below(rm_rng *rng, uint64_t n);        /* [0, n), unbiased */
double rm_rng_normal(rm_rng *rng);                     /* N(0, 1) */
/* Fisher-Yates shuffle of n int32 values. */
void rm_rng_shuffle_i32(rm_rng *rng, int32_t *v, size_t n);

#endif
