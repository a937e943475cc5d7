/* Synthetic face rendering throughput: images/s at 48x48 on one thread and
 * on all threads (rendering only, in memory). One JSON line per figure. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/progress.h"
#include "ingest/synth_faces.h"

enum { SIZE = 48, COUNT = 20000 };

static double run(const rm_synth_params *p, int threads, uint8_t *img, uint8_t *reg)
{
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = rm_now();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
        for (int i = 0; i < COUNT; i++)
            rm_synth_render(p, (uint64_t)i, img + (size_t)i * SIZE * SIZE, reg + (size_t)i * SIZE * SIZE);
        double t = rm_now() - t0;
        if (t < best) best = t;
    }
    return COUNT / best;
}

int main(void)
{
    uint8_t *img = malloc((size_t)COUNT * SIZE * SIZE), *reg = malloc((size_t)COUNT * SIZE * SIZE);
    if (!img || !reg) return 1;
    int all = omp_get_max_threads();
    for (int d = 0; d < RM_DOMAIN_COUNT; d++) {
        rm_synth_params p = {.size = SIZE, .domain = (rm_synth_domain)d, .intensity = 0.6, .seed = 1};
        int thread_counts[2] = {1, all};
        for (int k = 0; k < (all > 1 ? 2 : 1); k++)
            printf("{\"bench\":\"synth_render\",\"domain\":\"%s\",\"size\":%d,\"threads\":%d,"
                   "\"images\":%d,\"images_per_s\":%.0f,\"stat\":\"best of 3\"}\n",
                   rm_synth_domain_names[d], SIZE, thread_counts[k], COUNT,
                   run(&p, thread_counts[k], img, reg));
    }
    free(img);
    free(reg);
    return 0;
}
