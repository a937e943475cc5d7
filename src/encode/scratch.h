/* The per-thread scratch of an rm_encoder, carved from one allocation of
 * rm_encoder.scratch_bytes: three float planes for filtering, the
 * processed relevance, the (value, index) pairs of the selection and the
 * selection mask. Private to src/encode/. */
#ifndef RELMASK_ENCODE_SCRATCH_H
#define RELMASK_ENCODE_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float v;
    int32_t i;
} rm_encode_pair;

typedef struct {
    float *a, *b, *c;      /* filter input, filter rows pass, filter output */
    float *rn;             /* the processed relevance */
    rm_encode_pair *pairs; /* selection candidates */
    uint8_t *mask;         /* selected pixels */
} rm_encode_scratch;

static inline size_t rm_encode_scratch_size(size_t hw)
{
    return 4 * hw * sizeof(float) + hw * sizeof(rm_encode_pair) + hw;
}

static inline rm_encode_scratch rm_encode_scratch_split(void *base, size_t hw)
{
    rm_encode_scratch s;
    s.a = base;
    s.b = s.a + hw;
    s.c = s.b + hw;
    s.rn = s.c + hw;
    s.pairs = (rm_encode_pair *)(s.rn + hw);
    s.mask = (uint8_t *)(s.pairs + hw);
    return s;
}

#endif
