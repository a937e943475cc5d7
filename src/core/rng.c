#include "core/rng.h"

#include <math.h>
#include <stddef.h>

uint64_t rm_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rm_rng_seed(rm_rng *rng, uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t st = seed;
    uint64_t a = rm_splitmix64(&st);
    st = a ^ (stream * 0xd1b54a32d192ed03ULL);
    uint64_t b = rm_splitmix64(&st);
    st = b ^ (index * 0x8cb92ba72f3d8dd7ULL);
    for (int i = 0; i < 4; i++) rng->s[i] = rm_splitmix64(&st);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rm_rng_next(rm_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rm_rng_uniform(rm_rng *rng) { return (double)(rm_rng_next(rng) >> 11) * 0x1.0p-53; }

double rm_rng_range(rm_rng *rng, double lo, double hi) { return lo + (hi - lo) * rm_rng_uniform(rng); }

uint64_t rm_rng_below(rm_rng *rng, uint64_t n)
{
    if (n == 0) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rm_rng_next(rng); while (x >= limit);
    return x % n;
}

double rm_rng_normal(rm_rng *rng)
{
    /* Box-Muller; one value per call keeps streams position-independent. */
    double u1 = rm_rng_uniform(rng), u2 = rm_rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void rm_rng_shuffle_i32(rm_rng *rng, int32_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rm_rng_below(rng, i);
        int32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}
