#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/sink.h"

#include "core/dir_list.h"
#include "core/error.h"
#include "core/progress.h"

enum { BAD_MESSAGES_SHOWN = 10, DEFAULT_SIDE = 48, DECODE_BLOCK_PER_THREAD = 16, ERROR_TEXT = 1024 };

/* A block of image files decoded in parallel, then written in order. */
typedef struct {
    size_t capacity;                 /* files per block */
    uint8_t *pixels;                 /* [capacity][C*H*W] converted images */
    int *status;                     /* [capacity] 0 decoded, 1 failed (text in errors), -1 not decoded */
    char *errors;                    /* [capacity][ERROR_TEXT] */
} decode_block;

struct rm_ingest_sink {
    rm_dataset_writer *writer;
    rm_split_spec split;
    char *input_path;
    int width, height, channels, num_classes;
    rm_label_kind kind;
    int format_classes;              /* RM_LABELS_NAMED: the format's classes, */
    char **format_names;             /* their names, */
    int32_t *label_map;              /* and their labels (-1: not in --classes); NULL: identity */
    char *listed;                    /* --classes as names, for messages */
    rm_image converted;              /* reused conversion buffer */
    int unlabeled;                   /* --unlabeled: label -1, split RM_SPLIT_UNLABELED */
    decode_block block;              /* rm_ingest_add_image_files */
    size_t bad;
    size_t pooled, drawn;            /* records whose split --val/--test drew (RM_SPLIT_POOL, _UNASSIGNED) */
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

static int duplicate_name(const char *spec, int n, char **names)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return rm_error("--classes '%s': '%s' is listed twice (one name per class)", spec,
                                names[i]);
    return 0;
}

/* --classes: a preset name or a comma-separated list of distinct names. */
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
    if (duplicate_name(spec, n, out) != 0) {
        free_names(n, out);
        return -1;
    }
    *count = n;
    *names = out;
    return 0;
}

/* "a, b, c" (malloc'd), for messages. */
static char *join_names(int n, const char *const *names)
{
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(names[i]) + 2;
    char *out = rm_malloc(len, "class names");
    if (!out) return NULL;
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i) strcat(out, ", ");
        strcat(out, names[i]);
    }
    return out;
}

/* The --classes entry named `name`: the exact name, else the only one equal
 * ignoring case; -1 when there is none, -2 (error recorded) when ambiguous. */
static int find_listed(const char *name, int n, char **listed)
{
    for (int i = 0; i < n; i++)
        if (strcmp(listed[i], name) == 0) return i;
    int hit = -1;
    for (int i = 0; i < n; i++)
        if (strcasecmp(listed[i], name) == 0) {
            {
            if (hit >= 0) {
                rm_error("--classes: class '%s' matches both '%s' and '%s' (ignoring case); "
                         "spell it exactly", name, listed[hit], listed[i]);
                return -2;
            }
            hit = i;
        }
        }
    return hit;
}

/* RM_LABELS_NAMED with --classes: each format class gets the label of the
 * list entry of its name. Two classes on one entry would merge, so that is
 * an error; an entry no class matches is allowed (it aligns the dataset
 * with a model of more classes) but warned about, as it may be a typo. */
static int map_named_classes(rm_ingest_sink *s, const char *format, int format_classes,
                             const char *const *format_names, int n, char **listed)
{
    s->format_classes = format_classes;
    s->label_map = rm_calloc((size_t)format_classes, sizeof *s->label_map, "class map");
    s->format_names = rm_calloc((size_t)format_classes, sizeof *s->format_names, "class names");
    if (!s->label_map || !s->format_names) return -1;
    for (int f = 0; f < format_classes; f++) {
        if (!(s->format_names[f] = rm_strdup(format_names[f]))) return -1;
        int hit = find_listed(format_names[f], n, listed);
        if (hit == -2) return -1;
        for (int g = 0; g < f && hit >= 0; g++)
            if (s->label_map[g] == hit)
                return rm_error("--classes: the %s classes '%s' and '%s' both match '%s'; they "
                                "would merge into one class", format, format_names[g],
                                format_names[f], listed[hit]);
        s->label_map[f] = hit;
    }
    const char **unmatched = rm_calloc((size_t)n, sizeof *unmatched, "class names");
    if (!unmatched) return -1;
    int k = 0;
    for (int i = 0; i < n; i++) {
        int matched = 0;
        for (int f = 0; f < format_classes && !matched; f++) matched = s->label_map[f] == i;
        if (!matched) unmatched[k++] = listed[i];
    }
    char *missing = k ? join_names(k, unmatched) : NULL;
    char *have = k ? join_names(format_classes, format_names) : NULL;
    if (k && missing && have)
        rm_warn("--classes: %d listed class%s match%s no class of the input and get%s no records: "
                "%s (the input's classes: %s)", k, k == 1 ? "" : "es", k == 1 ? "es" : "",
                k == 1 ? "s" : "", missing, have);
    free(unmatched);
    free(missing);
    free(have);
    return k && (!missing || !have) ? -1 : 0;
}

static void sink_free(rm_ingest_sink *s)
{
    if (s->format_names) free_names(s->format_classes, s->format_names);
    free(s->label_map);
    free(s->listed);
    rm_image_free(&s->converted);
    free(s->block.pixels);
    free(s->block.status);
    free(s->block.errors);
    free(s->input_path);
    free(s->params);
    free(s);
}

int rm_sink_open(rm_ingest_sink **sp, const rm_ingest_options *opt, const char *format,
                 const char *input_path, int native_width, int native_height,
                 rm_label_kind kind, int num_classes, const char *const *class_names)
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
    s->kind = kind;
    s->unlabeled = opt->unlabeled;
    char **names = NULL;
    int n = opt->unlabeled ? 0 : num_classes;
    if (opt->classes && opt->unlabeled) {   /* names only: no record gets a label */
        if (parse_classes(opt->classes, &n, &names) != 0) {
            sink_free(s);
            return -1;
        }
    } else if (opt->classes) {
        if (parse_classes(opt->classes, &n, &names) != 0) {
            sink_free(s);
            return -1;
        }
        if (!(s->listed = join_names(n, (const char *const *)names)) ||
            (kind == RM_LABELS_NAMED &&
             map_named_classes(s, format, num_classes, class_names, n, names) != 0)) {
            free_names(n, names);
            sink_free(s);
            return -1;
        }
    }
    if (!names && !class_names && !opt->unlabeled) {   /* numbered classes without names: "0", "1", ... */
        if (!(names = rm_calloc((size_t)n, sizeof *names, "class names"))) {
            sink_free(s);
            return -1;
        }
        for (int c = 0; c < n; c++) {
            if (!(names[c] = rm_malloc(12, "class name"))) {
                free_names(n, names);
                sink_free(s);
                return -1;
            }
            snprintf(names[c], 12, "%d", c);
        }
    }
    s->num_classes = n;
    rm_dataset_spec spec = {
        .channels = s->channels, .height = s->height, .width = s->width,
        .num_classes = n, .class_names = names || opt->unlabeled ? (const char *const *)names : class_names,
        .unlabeled = opt->unlabeled,
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
    rm_sink_param(s, "skip_bad", "%d", opt->skip_bad);
    if (opt->unlabeled) rm_sink_param(s, "labels", "none (--unlabeled)");
    if (opt->classes) {
        rm_sink_param(s, "classes", "%s", opt->classes);
        rm_sink_param(s, "classes_assigned", "%s", opt->unlabeled ? "none (names only, for matching a model)"
                                                   : kind == RM_LABELS_NAMED ? "by name" : "by label number");
    }
    s->bad = opt->skip_bad ? 0 : (size_t)-1;   /* (size_t)-1: bad records are fatal */
    rm_progress_start(&s->progress, "ingest", "img", 0);
    *sp = s;
    return 0;
}

int rm_classes_count(const rm_ingest_options *opt, int fallback)
{
    if (!opt->classes) return fallback;
    int count;
    const char *const *names;
    if (rm_class_preset(opt->classes, &count, &names) == 0) return count;
    count = 1;
    for (const char *p = opt->classes; *p; p++) count += *p == ',';
    return count;
}

int rm_sink_label(rm_ingest_sink *s, int64_t format_class, const char *where, int32_t *label)
{
    char at[1024];
    if (!where) {
        snprintf(at, sizeof at, "%s: record %zu", s->input_path,
                 rm_dataset_writer_count(s->writer) + rm_sink_bad_count(s));
        where = at;
    }
    *label = -1;
    if (s->unlabeled) return 0;   /* every record: label -1 (rm_sink_add) */
    if (s->label_map) {
        if (format_class < 0 || format_class >= s->format_classes)
            return rm_sink_bad(s, "%s: class %lld out of range 0..%d", where, (long long)format_class,
                               s->format_classes - 1);
        if (s->label_map[format_class] < 0)
            return rm_sink_bad(s, "%s: class '%s' is not in --classes (%s)", where,
                               s->format_names[format_class], s->listed);
        *label = s->label_map[format_class];
        return 0;
    }
    if (format_class < 0 || format_class >= s->num_classes)
        return rm_sink_bad(s, "%s: label %lld out of range 0..%d", where, (long long)format_class,
                           s->num_classes - 1);
    *label = (int32_t)format_class;
    return 0;
}

int rm_sink_class_listed(const rm_ingest_sink *s, int format_class)
{
    return !s->label_map || (format_class >= 0 && format_class < s->format_classes &&
                             s->label_map[format_class] >= 0);
}

/* Appends a converted image [C,H,W] of the output shape. */
static int append_converted(rm_ingest_sink *s, const uint8_t *pixels, int32_t label, uint8_t split,
                            const char *source)
{
    if (s->unlabeled) {
        label = -1;
        split = RM_SPLIT_UNLABELED;
    }
    s->pooled += split == RM_SPLIT_POOL;
    s->drawn += split == RM_SPLIT_UNASSIGNED;
    RM_TRY(rm_dataset_writer_append(s->writer, pixels, label, split, NULL));
    if (source) RM_TRY(rm_dataset_writer_set_source(s->writer, source));
    rm_progress_update(&s->progress, rm_dataset_writer_count(s->writer));
    return 0;
}

int rm_sink_add(rm_ingest_sink *s, const rm_image *img, int32_t label, uint8_t split, const char *source)
{
    if (s->unlabeled) {
        RM_TRY(rm_image_convert(img, &s->converted));
        return append_converted(s, s->converted.pixels, -1, RM_SPLIT_UNLABELED, source);
    }
    if (label < 0 || label >= s->num_classes)
        return rm_sink_bad(s, "%s: record %zu: label %d out of range 0..%d", s->input_path,
                           rm_dataset_writer_count(s->writer) + rm_sink_bad_count(s), label,
                           s->num_classes - 1);
    RM_TRY(rm_image_convert(img, &s->converted));
    return append_converted(s, s->converted.pixels, label, split, source);
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
    /* Only the fractions that drew a split are parameters of this file: a
     * Usage column or train/val/test folders may have given every record's. */
    if (!s->unlabeled && s->drawn) {
        rm_sink_param(s, "val", "%g", s->split.val_fraction);
        rm_sink_param(s, "test", "%g", s->split.test_fraction);
    } else if (!s->unlabeled && s->pooled) {
        rm_sink_param(s, "val", "%g (of the records the input put in train)", s->split.val_fraction);
        rm_sink_param(s, "test", "from the input");
    } else if (!s->unlabeled) {
        rm_sink_param(s, "split", "from the input for every record (--val, --test and --seed unused)");
    }
    if (!s->unlabeled && (s->drawn || s->pooled))
        rm_sink_param(s, "seed", "%llu", (unsigned long long)s->split.seed);
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

/* The record's source: the path below the input folder. */
static const char *source_of(const rm_ingest_sink *sink, const char *path)
{
    size_t root = strlen(sink->input_path);
    while (root > 1 && sink->input_path[root - 1] == '/') root--;
    if (!strncmp(path, sink->input_path, root) && path[root] == '/') return path + root + 1;
    return path;
}

/* The decode block: DECODE_BLOCK_PER_THREAD files per thread, allocated
 * once per sink and reused for every block. */
static int block_reserve(rm_ingest_sink *s)
{
    if (s->block.capacity) return 0;
    int threads = omp_get_max_threads();
    size_t cap = (size_t)(threads > 0 ? threads : 1) * DECODE_BLOCK_PER_THREAD;
    size_t bytes = (size_t)s->channels * (size_t)s->height * (size_t)s->width, total;
    RM_TRY(rm_size_mul(&total, cap, bytes, (size_t)1 << 40, "decode block"));
    s->block.pixels = rm_malloc(total, "decode block");
    s->block.status = rm_malloc(cap * sizeof *s->block.status, "decode block status");
    s->block.errors = rm_malloc(cap * ERROR_TEXT, "decode block errors");
    if (!s->block.pixels || !s->block.status || !s->block.errors) return -1;
    s->block.capacity = cap;
    return 0;
}

/* Decodes and converts files[0..n) into the block, in parallel; a file the
 * loader rejects keeps its message. Files with status -1 on entry are not
 * decoded (a class without a label, or a bad entry). */
static void decode_files(rm_ingest_sink *s, const rm_ingest_file *files, size_t n)
{
    size_t bytes = (size_t)s->channels * (size_t)s->height * (size_t)s->width;
    decode_block *b = &s->block;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        if (b->status[i] < 0) continue;
        rm_image img = {0};
        rm_image dst = {.width = s->width, .height = s->height, .channels = s->channels,
                        .pixels = b->pixels + i * bytes};
        int rc = rm_image_load(&img, files[i].path);
        if (rc == 0) rc = rm_image_convert(&img, &dst);
        rm_image_free(&img);
        b->status[i] = rc != 0;
        /* rm_error is thread-local: each thread keeps its own message. */
        if (rc != 0) snprintf(b->errors + i * ERROR_TEXT, ERROR_TEXT, "%s", rm_error_message());
    }
}

int rm_ingest_add_image_files(rm_ingest_sink *sink, rm_ingest_file *files, size_t n)
{
    if (n == 0) return 0;
    RM_TRY(block_reserve(sink));
    size_t bytes = (size_t)sink->channels * (size_t)sink->height * (size_t)sink->width;
    decode_block *b = &sink->block;
    for (size_t first = 0; first < n; first += b->capacity) {
        size_t m = n - first < b->capacity ? n - first : b->capacity;
        rm_ingest_file *f = files + first;
        for (size_t i = 0; i < m; i++) {
            f[i].added = 0;
            b->status[i] = f[i].bad || !rm_sink_class_listed(sink, f[i].format_class) ? -1 : 0;
        }
        decode_files(sink, f, m);
        /* In file order, as one thread would: the first bad file is the one reported. */
        for (size_t i = 0; i < m; i++) {
            if (f[i].bad) {
                RM_TRY(rm_sink_bad(sink, "%s", f[i].bad));
                continue;
            }
            int32_t label;
            RM_TRY(rm_sink_label(sink, f[i].format_class, f[i].path, &label));
            if (label < 0 && !sink->unlabeled) continue;   /* skipped as bad */
            if (b->status[i] != 0) {
                const char *msg = b->errors + i * ERROR_TEXT;
                RM_TRY(strstr(msg, f[i].path) ? rm_sink_bad(sink, "%s", msg)
                                              : rm_sink_bad(sink, "%s: %s", f[i].path, msg));
                continue;
            }
            if (!sink->unlabeled && label >= sink->num_classes) {   /* as rm_sink_add */
                RM_TRY(rm_sink_bad(sink, "%s: label %d out of range 0..%d", f[i].path, label, sink->num_classes - 1));
                continue;
            }
            RM_TRY(append_converted(sink, b->pixels + i * bytes, label, f[i].split, source_of(sink, f[i].path)));
            f[i].added = 1;
        }
    }
    return 0;
}

static int list_push(rm_ingest_file_list *l, char *path, char *bad, int format_class, uint8_t split, int64_t tag)
{
    if (!path && !bad) return -1;
    if (l->count == l->capacity) {
        size_t cap = l->capacity ? 2 * l->capacity : 256;
        rm_ingest_file *f = rm_realloc(l->files, cap * sizeof *f, "file list");
        char **o = f ? rm_realloc(l->owned, cap * sizeof *o, "file list") : NULL;
        if (f) l->files = f;
        if (!o) {
            free(path);
            free(bad);
            return -1;
        }
        l->owned = o;
        l->capacity = cap;
    }
    l->files[l->count++] =
        (rm_ingest_file){.path = path, .bad = bad, .format_class = format_class, .split = split, .tag = tag};
    l->owned[l->owned_count++] = path ? path : bad;
    return 0;
}

int rm_ingest_list_add(rm_ingest_file_list *l, char *path, int format_class, uint8_t split, int64_t tag)
{
    return list_push(l, path, NULL, format_class, split, tag);
}

int rm_ingest_list_bad(rm_ingest_file_list *l, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return list_push(l, NULL, rm_strdup(msg), -1, 0, -1);
}

void rm_ingest_list_free(rm_ingest_file_list *l)
{
    for (size_t i = 0; i < l->owned_count; i++) free(l->owned[i]);
    free(l->owned);
    free(l->files);
    memset(l, 0, sizeof *l);
}

int rm_classes_parse(const char *spec, int *count, char ***names) { return parse_classes(spec, count, names); }
