#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relmask/error.h"
#include "relmask/ingest.h"
#include "relmask/progress.h"

enum { BAD_MESSAGES_SHOWN = 10, DEFAULT_SIDE = 48 };

struct rm_ingest_sink {
    rm_dataset_writer *writer;
    rm_split_spec split;
    char *input_path;
    int width, height, channels, num_classes;
    rm_image converted;              /* reused conversion buffer */
    size_t bad;
    char *params;
    size_t params_len;
    rm_progress progress;
};

void rm_ingest_options_init(rm_ingest_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->channels = 1;
    opt->split.val_fraction = 0.1;
    opt->split.test_fraction = 0.1;
    opt->split.seed = 1;
    opt->deflate_level = 4;
    opt->ck_peak_frames = 1;
    opt->float_max = 1.0;
}

static const char *const fer2013_names[] = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
static const char *const fer7_names[] = {"neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"};
static const char *const ckplus_names[] = {"neutral", "anger",   "contempt", "disgust",
                                           "fear",    "happy",   "sadness",  "surprise"};
static const char *const mnist_names[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const fashion_names[] = {"t-shirt/top", "trouser", "pullover", "dress", "coat",
                                            "sandal", "shirt", "sneaker", "bag", "ankle boot"};

static const struct {
    const char *name;
    int count;
    const char *const *names;
} presets[] = {
    {"fer2013", 7, fer2013_names}, {"fer7", 7, fer7_names},       {"jaffe", 7, fer7_names},
    {"synth", 7, fer7_names},      {"ckplus", 8, ckplus_names},   {"mnist", 10, mnist_names},
    {"fashion-mnist", 10, fashion_names},
};

int rm_class_preset(const char *name, int *count, const char *const **names)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0) {
            *count = presets[i].count;
            *names = presets[i].names;
            return 0;
        }
    return -1;
}

static void free_names(int n, char **names)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* --classes: a preset name or a comma-separated list. */
static int parse_classes(const char *spec, int *count, char ***names)
{
    const char *const *preset;
    int n = 0;
    if (rm_class_preset(spec, &n, &preset) == 0) {
        char **out = rm_calloc((size_t)n, sizeof *out, "class names");
        if (!out) return -1;
        for (int i = 0; i < n; i++) out[i] = rm_strdup(preset[i]);
        *count = n;
        *names = out;
        return 0;
    }
    if (!strchr(spec, ','))
        return rm_error("--classes '%s': expected a comma-separated list or one of fer2013, fer7, "
                        "jaffe, synth, ckplus, mnist, fashion-mnist", spec);
    n = 1;
    for (const char *p = spec; *p; p++) n += *p == ',';
    if (n > RM_MAX_CLASSES) return rm_error("--classes: %d names, at most %d", n, RM_MAX_CLASSES);
    char **out = rm_calloc((size_t)n, sizeof *out, "class names");
    if (!out) return -1;
    const char *p = spec;
    for (int i = 0; i < n; i++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) {
            free_names(i, out);
            return rm_error("--classes '%s': class %d has an empty name", spec, i);
        }
        if (!(out[i] = rm_malloc(len + 1, "class name"))) {
            free_names(i, out);
            return -1;
        }
        memcpy(out[i], p, len);
        out[i][len] = 0;
        p = end ? end + 1 : p + len;
    }
    *count = n;
    *names = out;
    return 0;
}

static void sink_free(rm_ingest_sink *s)
{
    rm_image_free(&s->converted);
    free(s->input_path);
    free(s->params);
    free(s);
}

int rm_sink_open(rm_ingest_sink **sp, const rm_ingest_options *opt, const char *format,
                 const char *input_path, int native_width, int native_height, int num_classes,
                 const char *const *class_names)
{
    *sp = NULL;
    if (opt->channels != 1 && opt->channels != 3)
        return rm_error("--channels %d: expected 1 (gray) or 3 (RGB)", opt->channels);
    if ((opt->width > 0) != (opt->height > 0) || opt->width < 0 || opt->width > 4096 || opt->height > 4096)
        return rm_error("--size %dx%d: expected both sides in 1..4096", opt->width, opt->height);
    rm_ingest_sink *s = rm_calloc(1, sizeof *s, "ingest sink");
    if (!s) return -1;
    s->split = opt->split;
    s->channels = opt->channels;
    s->width = opt->width ? opt->width : native_width ? native_width : DEFAULT_SIDE;
    s->height = opt->height ? opt->height : native_height ? native_height : DEFAULT_SIDE;
    s->input_path = rm_strdup(input_path);
    char **names = NULL;
    int n = num_classes;
    if (opt->classes) {
        if (parse_classes(opt->classes, &n, &names) != 0) {
            sink_free(s);
            return -1;
        }
    }
    s->num_classes = n;
    rm_dataset_spec spec = {
        .channels = s->channels, .height = s->height, .width = s->width,
        .num_classes = n, .class_names = names ? (const char *const *)names : class_names,
        .source_format = format, .source_path = input_path, .deflate_level = opt->deflate_level,
    };
    int rc = s->input_path ? rm_image_alloc(&s->converted, s->width, s->height, s->channels) : -1;
    if (rc == 0) rc = rm_dataset_writer_open(&s->writer, opt->out_path, &spec, opt->force);
    if (names) free_names(n, names);
    if (rc != 0) {
        sink_free(s);
        return -1;
    }
    if (opt->command_line) rm_dataset_writer_set_attr(s->writer, "command_line", opt->command_line);
    rm_sink_param(s, "size", "%dx%d", s->width, s->height);
    rm_sink_param(s, "channels", "%d", s->channels);
    rm_sink_param(s, "val", "%g", opt->split.val_fraction);
    rm_sink_param(s, "test", "%g", opt->split.test_fraction);
    rm_sink_param(s, "seed", "%llu", (unsigned long long)opt->split.seed);
    rm_sink_param(s, "skip_bad", "%d", opt->skip_bad);
    if (opt->classes) rm_sink_param(s, "classes", "%s", opt->classes);
    s->bad = opt->skip_bad ? 0 : (size_t)-1;   /* (size_t)-1: bad records are fatal */
    rm_progress_start(&s->progress, "ingest", "img", 0);
    *sp = s;
    return 0;
}

int rm_sink_add(rm_ingest_sink *s, const rm_image *img, int32_t label, uint8_t split)
{
    if (label < 0 || label >= s->num_classes)
        return rm_sink_bad(s, "%s: record %zu: label %d out of range 0..%d", s->input_path,
                           rm_dataset_writer_count(s->writer) + rm_sink_bad_count(s), label,
                           s->num_classes - 1);
    RM_TRY(rm_image_convert(img, &s->converted));
    RM_TRY(rm_dataset_writer_append(s->writer, s->converted.pixels, label, split, NULL));
    rm_progress_update(&s->progress, rm_dataset_writer_count(s->writer));
    return 0;
}

int rm_sink_bad(rm_ingest_sink *s, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->bad == (size_t)-1)
        return rm_error("%s (use --skip-bad to skip bad records)", msg);
    if (s->bad < BAD_MESSAGES_SHOWN) rm_warn("skipped: %s", msg);
    else if (s->bad == BAD_MESSAGES_SHOWN) rm_warn("more bad records skipped; a count follows at the end");
    s->bad++;
    return 0;
}

int rm_sink_param(rm_ingest_sink *s, const char *key, const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    size_t add = strlen(key) + strlen(value) + 2;
    char *p = rm_realloc(s->params, s->params_len + add + 1, "ingest parameters");
    if (!p) return -1;
    s->params = p;
    s->params_len += (size_t)sprintf(p + s->params_len, "%s=%s\n", key, value);
    return 0;
}

int rm_sink_classes(const rm_ingest_sink *s) { return s->num_classes; }

size_t rm_sink_count(const rm_ingest_sink *s) { return rm_dataset_writer_count(s->writer); }
size_t rm_sink_bad_count(const rm_ingest_sink *s) { return s->bad == (size_t)-1 ? 0 : s->bad; }

int rm_sink_finish(rm_ingest_sink *s)
{
    size_t n = rm_dataset_writer_count(s->writer);
    rm_progress_finish(&s->progress);
    if (n == 0) {
        rm_error("%s: no records found to ingest", s->input_path);
        rm_sink_abort(s);
        return -1;
    }
    char skipped[32];
    snprintf(skipped, sizeof skipped, "%zu", rm_sink_bad_count(s));
    if (rm_dataset_writer_set_attr(s->writer, "ingest_parameters", s->params ? s->params : "") != 0 ||
        rm_dataset_writer_set_attr(s->writer, "records_skipped", skipped) != 0) {
        rm_sink_abort(s);
        return -1;
    }
    int rc = rm_dataset_writer_finish(s->writer, &s->split);
    s->writer = NULL;
    if (rc == 0)
        rm_log("ingested %zu records (%zu skipped as bad) at %dx%dx%d", n, rm_sink_bad_count(s),
               s->channels, s->height, s->width);
    sink_free(s);
    return rc;
}

void rm_sink_abort(rm_ingest_sink *s)
{
    if (!s) return;
    rm_dataset_writer_abort(s->writer);
    sink_free(s);
}
