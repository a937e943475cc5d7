/* Schedules for training on encoded data: which epochs, or which share of
 * an epoch's samples, take their image from the encoded copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "train/train.h"

/* rng stream id ("ENCSHARE") */
static const uint64_t STREAM_SHARE = 0x454e435348415245ULL;

double rm_encoded_share(const rm_encoded_schedule *s, int epoch)
{
    switch (s->kind) {
    case RM_ENCODED_EPOCHS: return epoch < s->epochs ? 1.0 : 0.0;
    case RM_ENCODED_SHARE:
        if (s->total_epochs <= 1) return s->share0;
        return s->share0 + (s->share1 - s->share0) * (double)epoch / (double)(s->total_epochs - 1);
    default: return 0.0;
    }
}

int rm_encoded_choose(const void *schedule, int epoch, int64_t record)
{
    const rm_encoded_schedule *s = schedule;
    double share = rm_encoded_share(s, epoch);
    if (s->kind != RM_ENCODED_SHARE) return share > 0.5;
    if (share <= 0) return 0;
    if (share >= 1) return 1;
    /* One generator per (epoch, record): independent of order and batching. */
    rm_rng rng;
    rm_rng_seed(&rng, s->seed, STREAM_SHARE, ((uint64_t)(uint32_t)epoch << 40) ^ (uint64_t)record);
    return rm_rng_uniform(&rng) < share;
}

static int parse_unit(const char *text, const char *end, double *out)
{
    char buf[64];
    size_t n = (size_t)(end - text);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, text, n);
    buf[n] = 0;
    char *stop;
    double v = strtod(buf, &stop);
    if (*stop || !(v >= 0 && v <= 1)) return -1;
    *out = v;
    return 0;
}

int rm_encoded_share_parse(const char *text, double *s0, double *s1)
{
    const char *colon = strchr(text, ':');
    if (!colon || parse_unit(text, colon, s0) != 0 || parse_unit(colon + 1, colon + 1 + strlen(colon + 1), s1) != 0)
        return rm_error("'%s': expected S0:S1, two shares in [0, 1] such as 1.0:0.0", text);
    return 0;
}

void rm_encoded_schedule_text(const rm_encoded_schedule *s, char *out, size_t size)
{
    switch (s->kind) {
    case RM_ENCODED_EPOCHS: snprintf(out, size, "epochs:%d/%d", s->epochs, s->total_epochs); break;
    case RM_ENCODED_SHARE: snprintf(out, size, "share:%.10g:%.10g/%d", s->share0, s->share1, s->total_epochs); break;
    default: snprintf(out, size, "none"); break;
    }
}
