#include "ingest/synth.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/progress.h"

enum { BLOCK = 512 };

void rm_synth_config_defaults(rm_synth_config *cfg)
{
    *cfg = (rm_synth_config){
        .count = 7000, .deflate_level = 4,
        .params = {.size = 48, .domain = RM_DOMAIN_SOURCE, .intensity = 0.6, .seed = 1},
        .split = {.val_fraction = 0.1, .test_fraction = 0.1, .seed = 1},
    };
}

static int check_config(const rm_synth_config *c)
{
    if (!c->out_path) return rm_error("synth: no output file");
    if (c->count < 1 || c->count > 100000000)
        return rm_error("synth: count %lld is out of range (1..100000000)", c->count);
    if (c->deflate_level < 0 || c->deflate_level > 9)
        return rm_error("synth: deflate level %d is out of range (0..9)", c->deflate_level);
    if (!(c->split.val_fraction >= 0 && c->split.test_fraction >= 0 &&
          c->split.val_fraction + c->split.test_fraction < 1))
        return rm_error("synth: val %g plus test %g must be below 1", c->split.val_fraction, c->split.test_fraction);
    return rm_synth_params_check(&c->params);
}

static int record_params(rm_dataset_writer *w, const rm_synth_config *c)
{
    char text[1024];
    snprintf(text, sizeof text,
             "domain=%s\nintensity=%g\nsize=%d\nseed=%llu\ncount=%llu\nstart=%llu\nval=%g\ntest=%g\nsplit_seed=%llu\n",
             rm_synth_domain_names[c->params.domain], c->params.intensity, c->params.size,
             (unsigned long long)c->params.seed, (unsigned long long)c->count, (unsigned long long)c->start,
             c->split.val_fraction, c->split.test_fraction, (unsigned long long)c->split.seed);
    RM_TRY(rm_dataset_writer_set_attr(w, "ingest_parameters", text));
    RM_TRY(rm_dataset_writer_set_attr(w, "synth_domain", rm_synth_domain_names[c->params.domain]));
    return c->command_line ? rm_dataset_writer_set_attr(w, "command_line", c->command_line) : 0;
}

int rm_synth(const rm_synth_config *c)
{
    RM_TRY(check_config(c));
    const rm_synth_params *p = &c->params;
    uint64_t count = (uint64_t)c->count;
    size_t pixels = (size_t)p->size * (size_t)p->size;
    rm_dataset_spec spec = {
        .channels = 1, .height = p->size, .width = p->size, .num_classes = RM_SYNTH_CLASSES,
        .class_names = rm_synth_class_names, .has_regions = 1, .source_format = "synth",
        .source_path = "", .deflate_level = c->deflate_level,
    };
    uint8_t *images = rm_malloc(BLOCK * pixels, "synth image block");
    uint8_t *regions = rm_malloc(BLOCK * pixels, "synth region block");
    rm_dataset_writer *w = NULL;
    if (!images || !regions || rm_dataset_writer_open(&w, c->out_path, &spec, c->force) != 0 ||
        record_params(w, c) != 0)
        goto fail;
    rm_progress progress;
    rm_progress_start(&progress, "synth", "img", (size_t)count);
    double t0 = rm_now();
    for (uint64_t first = 0; first < count; first += BLOCK) {
        int n = (int)(count - first < BLOCK ? count - first : BLOCK);
#pragma omp parallel for schedule(dynamic, 16)
        for (int i = 0; i < n; i++)
            rm_synth_render(p, c->start + first + (uint64_t)i, images + (size_t)i * pixels,
                            regions + (size_t)i * pixels);
        for (int i = 0; i < n; i++) {
            int32_t label = rm_synth_label(p, c->start + first + (uint64_t)i);
            if (rm_dataset_writer_append(w, images + (size_t)i * pixels, label, RM_SPLIT_UNASSIGNED,
                                         regions + (size_t)i * pixels) != 0)
                goto fail;
        }
        rm_progress_update(&progress, (size_t)(first + (uint64_t)n));
    }
    rm_progress_finish(&progress);
    if (rm_dataset_writer_finish(w, &c->split) != 0) {
        w = NULL;
        goto fail;
    }
    rm_log("wrote %s: %llu %s-domain faces at %dx%d in %.1f s", c->out_path, (unsigned long long)count,
           rm_synth_domain_names[p->domain], p->size, p->size, rm_now() - t0);
    free(images);
    free(regions);
    return 0;
fail:
    rm_dataset_writer_abort(w);
    free(images);
    free(regions);
    return -1;
}
