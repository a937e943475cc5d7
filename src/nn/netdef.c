/* Network definition parser (format in netdef.h). One pass reads sections
 * and keys into layers; then unnamed layers get default names and every
 * layer's shape, parameter count and FLOPs are inferred. Every error names
 * the source and the line. */
#include "nn/netdef.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#ifndef RELMASK_NETS_DIR
#define RELMASK_NETS_DIR "nets"
#endif

enum { MAX_LAYERS = 256, MAX_LINE = 1024, MAX_FILE = 1 << 20 };
enum { MAX_INPUT_C = 1024, MAX_INPUT_HW = 4096 };
/* Values per image in any layer's output: keeps c*h*w well inside int and
 * every FLOP and parameter count inside int64. */
#define MAX_ELEMENTS ((int64_t)1 << 28)

const char *const rm_layer_type_names[RM_LAYER_TYPE_COUNT] = {
    [RM_LAYER_CONV] = "conv",
    [RM_LAYER_RELU] = "relu",
    [RM_LAYER_MAXPOOL] = "maxpool",
    [RM_LAYER_AVGPOOL] = "avgpool",
    [RM_LAYER_GLOBALAVGPOOL] = "globalavgpool",
    [RM_LAYER_FLATTEN] = "flatten",
    [RM_LAYER_DROPOUT] = "dropout",
    [RM_LAYER_BATCHNORM] = "batchnorm",
    [RM_LAYER_DENSE] = "dense",
    [RM_LAYER_ADD] = "add",
    [RM_LAYER_CONCAT] = "concat",
    [RM_LAYER_SCALE] = "scale",
};

/* ---- keys and sections ---------------------------------------------------- */

typedef enum {
    K_INPUT, K_CLASSES, K_FILTERS, K_SIZE, K_STRIDE, K_PAD, K_BIAS, K_UNITS,
    K_P, K_EPS, K_MOMENTUM, K_ACTIVATION, K_NAME, K_FROM, K_GROUPS, K_SLOPE, K_MAX, K_DILATION, K_COUNT_PAD, K_COUNT
} key_id;

static const char *const key_names[K_COUNT] = {
    [K_INPUT] = "input", [K_CLASSES] = "classes", [K_FILTERS] = "filters",
    [K_SIZE] = "size", [K_STRIDE] = "stride", [K_PAD] = "pad", [K_BIAS] = "bias",
    [K_UNITS] = "units", [K_P] = "p", [K_EPS] = "eps", [K_MOMENTUM] = "momentum",
    [K_ACTIVATION] = "activation", [K_NAME] = "name", [K_FROM] = "from",
    [K_GROUPS] = "groups", [K_SLOPE] = "slope", [K_MAX] = "max", [K_DILATION] = "dilation",
    [K_COUNT_PAD] = "count_pad",
};

static const struct { int lo, hi; } int_range[K_COUNT] = {
    [K_CLASSES] = {1, 1000}, [K_FILTERS] = {1, 4096}, [K_SIZE] = {1, 64},
    [K_STRIDE] = {1, 64}, [K_PAD] = {0, 64}, [K_BIAS] = {0, 1}, [K_UNITS] = {1, 65536},
    [K_GROUPS] = {1, 4096}, [K_DILATION] = {1, 64}, [K_COUNT_PAD] = {0, 1},
};

static const char *const real_range_text[K_COUNT] = {
    [K_P] = "[0, 1)", [K_EPS] = "(0, inf)", [K_MOMENTUM] = "(0, 1]", [K_SLOPE] = "[0, 1)", [K_MAX] = "(0, inf)",
};

#define BIT(k) (1u << (k))
#define SECTION_NET (-1)

typedef struct {
    const char *name;
    int type;               /* rm_layer_type, or SECTION_NET */
    int num_keys;
    key_id keys[10];         /* in the order the error message lists them */
    unsigned required;      /* BIT(key) for each required key */
} section_spec;

static const section_spec sections[] = {
    {"net", SECTION_NET, 3, {K_INPUT, K_CLASSES, K_NAME}, BIT(K_INPUT) | BIT(K_CLASSES)},
    {"conv", RM_LAYER_CONV, 10,
     {K_FILTERS, K_SIZE, K_STRIDE, K_PAD, K_DILATION, K_GROUPS, K_BIAS, K_ACTIVATION, K_NAME, K_FROM},
     BIT(K_FILTERS) | BIT(K_SIZE)},
    {"relu", RM_LAYER_RELU, 4, {K_SLOPE, K_MAX, K_NAME, K_FROM}, 0},
    {"maxpool", RM_LAYER_MAXPOOL, 5, {K_SIZE, K_STRIDE, K_PAD, K_NAME, K_FROM}, BIT(K_SIZE)},
    {"avgpool", RM_LAYER_AVGPOOL, 6, {K_SIZE, K_STRIDE, K_PAD, K_COUNT_PAD, K_NAME, K_FROM}, BIT(K_SIZE)},
    {"globalavgpool", RM_LAYER_GLOBALAVGPOOL, 2, {K_NAME, K_FROM}, 0},
    {"flatten", RM_LAYER_FLATTEN, 2, {K_NAME, K_FROM}, 0},
    {"dropout", RM_LAYER_DROPOUT, 3, {K_P, K_NAME, K_FROM}, 0},
    {"batchnorm", RM_LAYER_BATCHNORM, 4, {K_EPS, K_MOMENTUM, K_NAME, K_FROM}, 0},
    {"dense", RM_LAYER_DENSE, 5, {K_UNITS, K_BIAS, K_ACTIVATION, K_NAME, K_FROM}, BIT(K_UNITS)},
    {"add", RM_LAYER_ADD, 2, {K_FROM, K_NAME}, BIT(K_FROM)},
    {"concat", RM_LAYER_CONCAT, 2, {K_FROM, K_NAME}, BIT(K_FROM)},
    {"scale", RM_LAYER_SCALE, 2, {K_NAME, K_FROM}, 0},
};
enum { NUM_SECTIONS = sizeof sections / sizeof sections[0] };

static const section_spec *find_section(const char *name)
{
    for (int i = 0; i < NUM_SECTIONS; i++)
        if (!strcmp(sections[i].name, name)) return &sections[i];
    return NULL;
}

static int find_key(const section_spec *sec, const char *key)
{
    for (int i = 0; i < sec->num_keys; i++)
        if (!strcmp(key_names[sec->keys[i]], key)) return (int)sec->keys[i];
    return -1;
}

/* "a, b, c" into buf. */
static const char *join(char *buf, size_t size, const char *const *items, int n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", items[i]);
    return buf;
}

static const char *section_list(char *buf, size_t size)
{
    const char *names[NUM_SECTIONS];
    for (int i = 0; i < NUM_SECTIONS; i++) names[i] = sections[i].name;
    return join(buf, size, names, NUM_SECTIONS);
}

static const char *key_list(const section_spec *sec, char *buf, size_t size)
{
    const char *names[K_COUNT];
    for (int i = 0; i < sec->num_keys; i++) names[i] = key_names[sec->keys[i]];
    return join(buf, size, names, sec->num_keys);
}

/* ---- parser state and errors ---------------------------------------------- */

typedef struct {
    rm_netdef *def;
    const char *src;
    int line;                   /* current line, 1-based */
    const section_spec *sec;    /* current section; NULL before the first */
    int sec_line;
    int key_line[K_COUNT];      /* line where each key of the section was set; 0 = unset */
    int net_line;               /* line of [net]; 0 until seen */
    int relu_after;             /* "activation = relu" in the current section */
    char **from;                /* [MAX_LAYERS]: each layer's "from =" text (owned), or NULL */
    int *from_line;             /* [MAX_LAYERS] */
} parser;

static int fail_at(const char *src, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(const char *src, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rm_error("%s:%d: %s", src, line, msg);
}

#define fail(p, ...) fail_at((p)->src, (p)->line, __VA_ARGS__)

static rm_layer_def *current_layer(const parser *p) { return &p->def->layers[p->def->num_layers - 1]; }

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = 0;
    return s;
}

/* ---- values --------------------------------------------------------------- */

static int parse_int(const parser *p, key_id k, const char *value, int *out)
{
    int lo = int_range[k].lo, hi = int_range[k].hi;
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end)
        return fail(p, "'%s = %s' is not an integer (valid: %d..%d)", key_names[k], value, lo, hi);
    if (errno == ERANGE || v < lo || v > hi)
        return fail(p, "'%s = %s' must be in %d..%d", key_names[k], value, lo, hi);
    *out = (int)v;
    return 0;
}

/* pad = P (every side), or pad = top, left, bottom, right (ONNX's order;
 * TensorFlow's 'SAME' with stride 2 pads one more cell at the bottom and
 * right), for [conv], [maxpool] and [avgpool]. */
static int parse_pads(const parser *p, const char *value, rm_layer_def *L)
{
    int v[4], n = 0, lo = int_range[K_PAD].lo, hi = int_range[K_PAD].hi;
    const char *s = value;
    for (;;) {
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (end == s || n == 4 || (*end && *end != ','))
            return fail(p, "'pad = %s': expected one integer, or top, left, bottom, right (each %d..%d)", value, lo,
                        hi);
        if (errno == ERANGE || x < lo || x > hi) return fail(p, "'pad = %s': each pad must be in %d..%d", value, lo, hi);
        v[n++] = (int)x;
        if (!*end) break;
        s = end + 1;
    }
    if (n != 1 && n != 4)
        return fail(p, "'pad = %s': expected one integer, or top, left, bottom, right (each %d..%d)", value, lo, hi);
    for (int i = 0; i < 4; i++) L->pads[i] = v[n == 1 ? 0 : i];
    L->pad = v[0];
    return 0;
}

static int real_in_range(key_id k, double v)
{
    switch (k) {
    case K_P: return v >= 0 && v < 1;
    case K_EPS: return v > 0 && isfinite(v);
    case K_MOMENTUM: return v > 0 && v <= 1;
    case K_SLOPE: return v >= 0 && v < 1;
    case K_MAX: return v > 0 && isfinite(v);
    default: return 0;
    }
}

static int parse_real(const parser *p, key_id k, const char *value, double *out)
{
    char *end;
    double v = strtod(value, &end);
    if (end == value || *end)
        return fail(p, "'%s = %s' is not a number (valid: %s)", key_names[k], value, real_range_text[k]);
    if (!real_in_range(k, v))
        return fail(p, "'%s = %s' must be in %s", key_names[k], value, real_range_text[k]);
    *out = v;
    return 0;
}

/* One dimension of "CxHxW" (1..hi), preceded by an 'x' unless it is the
 * first; advances *s past it. Returns -1 if malformed or out of range. */
static int shape_dim(const char **s, int first, int hi)
{
    const char *c = *s + strspn(*s, " \t");
    if (!first) {
        if (*c != 'x') return -1;
        c += 1 + strspn(c + 1, " \t");
    }
    if (!isdigit((unsigned char)*c)) return -1;
    char *end;
    errno = 0;
    long v = strtol(c, &end, 10);
    *s = end;
    return errno || v < 1 || v > hi ? -1 : (int)v;
}

static int parse_shape(const parser *p, const char *value, rm_shape *shape)
{
    const char *s = value;
    int c = shape_dim(&s, 1, MAX_INPUT_C);
    int h = c > 0 ? shape_dim(&s, 0, MAX_INPUT_HW) : -1;
    int w = h > 0 ? shape_dim(&s, 0, MAX_INPUT_HW) : -1;
    if (w < 0 || *s)
        return fail(p, "'input = %s' must be CxHxW with C in 1..%d and H, W in 1..%d (e.g. 1x48x48)",
                    value, MAX_INPUT_C, MAX_INPUT_HW);
    if ((int64_t)c * h * w > MAX_ELEMENTS)
        return fail(p, "'input = %s' has more than %lld values", value, (long long)MAX_ELEMENTS);
    *shape = (rm_shape){c, h, w};
    return 0;
}

static int valid_name(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n == 0 || n >= size) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_-.", *s)) return 0;
    return 1;
}

static int parse_name(const parser *p, const char *value, char *dst, size_t size)
{
    if (!valid_name(value, size))
        return fail(p, "'name = %s' must be 1..%zu letters, digits, '_', '-' or '.'", value, size - 1);
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

static int parse_activation(parser *p, const char *value)
{
    if (!strcmp(value, "none")) p->relu_after = 0;
    else if (!strcmp(value, "relu")) p->relu_after = 1;
    else return fail(p, "'activation = %s' must be none or relu", value);
    return 0;
}

static int set_net_key(parser *p, key_id k, const char *value)
{
    rm_netdef *def = p->def;
    switch (k) {
    case K_INPUT: return parse_shape(p, value, &def->input);
    case K_CLASSES: return parse_int(p, k, value, &def->classes);
    case K_NAME: return parse_name(p, value, def->name, sizeof def->name);
    default: return fail(p, "internal error: key '%s' in [net]", key_names[k]);
    }
}

static int set_layer_key(parser *p, key_id k, const char *value)
{
    rm_layer_def *L = current_layer(p);
    switch (k) {
    case K_FILTERS: return parse_int(p, k, value, &L->filters);
    case K_SIZE: return parse_int(p, k, value, &L->size);
    case K_STRIDE: return parse_int(p, k, value, &L->stride);
    case K_PAD: return parse_pads(p, value, L);
    case K_DILATION: return parse_int(p, k, value, &L->dilation);
    case K_COUNT_PAD: return parse_int(p, k, value, &L->count_pad);
    case K_GROUPS: return parse_int(p, k, value, &L->groups);
    case K_BIAS: return parse_int(p, k, value, &L->bias);
    case K_UNITS: return parse_int(p, k, value, &L->units);
    case K_P: return parse_real(p, k, value, &L->p);
    case K_EPS: return parse_real(p, k, value, &L->eps);
    case K_MOMENTUM: return parse_real(p, k, value, &L->momentum);
    case K_SLOPE: return parse_real(p, k, value, &L->slope);
    case K_MAX: return parse_real(p, k, value, &L->max);
    case K_ACTIVATION: return parse_activation(p, value);
    case K_NAME: return parse_name(p, value, L->name, sizeof L->name);
    case K_FROM: {
        /* resolved once every layer has its name (resolve_inputs) */
        int i = p->def->num_layers - 1;
        if (!(p->from[i] = rm_strdup(value))) return -1;
        p->from_line[i] = p->line;
        return 0;
    }
    default: return fail(p, "internal error: key '%s' in a layer", key_names[k]);
    }
}

/* ---- sections ------------------------------------------------------------- */

static void set_defaults(rm_layer_def *L)
{
    switch (L->type) {
    case RM_LAYER_CONV: L->stride = 1; L->bias = 1; L->groups = 1; L->dilation = 1; break;
    case RM_LAYER_DENSE: L->bias = 1; break;
    case RM_LAYER_DROPOUT: L->p = 0.5; break;
    case RM_LAYER_BATCHNORM: L->eps = 1e-5; L->momentum = 0.1; break;
    case RM_LAYER_AVGPOOL: L->count_pad = 1; break;
    default: break;   /* pooling stride defaults to size, set when the section ends */
    }
}

static int add_layer(parser *p, rm_layer_type type, int line)
{
    rm_netdef *def = p->def;
    if (def->num_layers == MAX_LAYERS) return fail_at(p->src, line, "more than %d layers", MAX_LAYERS);
    rm_layer_def *L = &def->layers[def->num_layers++];
    memset(L, 0, sizeof *L);
    L->type = type;
    L->line = line;
    set_defaults(L);
    return 0;
}

static int check_required(const parser *p)
{
    for (int i = 0; i < p->sec->num_keys; i++) {
        key_id k = p->sec->keys[i];
        if ((p->sec->required & BIT(k)) && !p->key_line[k])
            return fail_at(p->src, p->sec_line, "[%s] needs '%s'", p->sec->name, key_names[k]);
    }
    return 0;
}

static int finish_pool(const parser *p, rm_layer_def *L)
{
    if (!p->key_line[K_STRIDE]) L->stride = L->size;
    /* a window wholly in the padding would have no cell to take (max) or count (exclude-padding average) */
    static const char *const side[4] = {"top", "left", "bottom", "right"};
    int sym = L->pads[1] == L->pad && L->pads[2] == L->pad && L->pads[3] == L->pad;
    for (int i = 0; i < 4; i++)
        if (L->pads[i] >= L->size) {
            if (sym)
                return fail_at(p->src, p->key_line[K_PAD], "'pad = %d' must be less than size = %d in [%s]",
                               L->pad, L->size, p->sec->name);
            return fail_at(p->src, p->key_line[K_PAD], "'pad = %d, %d, %d, %d': the %s pad %d must be less than "
                           "size = %d in [%s] (a window would lie wholly in the padding)",
                           L->pads[0], L->pads[1], L->pads[2], L->pads[3], side[i], L->pads[i], L->size,
                           p->sec->name);
        }
    return 0;
}

static int end_section(parser *p)
{
    if (!p->sec) return 0;
    RM_TRY(check_required(p));
    if (p->sec->type == SECTION_NET) return 0;
    rm_layer_type type = current_layer(p)->type;
    if (type == RM_LAYER_MAXPOOL || type == RM_LAYER_AVGPOOL) RM_TRY(finish_pool(p, current_layer(p)));
    if (p->key_line[K_SLOPE] && p->key_line[K_MAX])
        return fail_at(p->src, p->key_line[K_MAX], "[relu] takes 'slope' (leaky) or 'max' (clipped), not both");
    if (p->relu_after) RM_TRY(add_layer(p, RM_LAYER_RELU, p->sec_line));
    return 0;
}

static int begin_section(parser *p, char *line)
{
    size_t n = strlen(line);
    if (line[n - 1] != ']') return fail(p, "expected ']' at the end of section header '%s'", line);
    line[n - 1] = 0;
    const char *name = trim(line + 1);
    const section_spec *sec = find_section(name);
    char list[256];
    if (!sec) return fail(p, "unknown section [%s] (expected %s)", name, section_list(list, sizeof list));
    RM_TRY(end_section(p));
    if (sec->type == SECTION_NET && p->net_line)
        return fail(p, "second [net] section (the first is at line %d)", p->net_line);
    if (sec->type == SECTION_NET) p->net_line = p->line;
    else if (!p->net_line) return fail(p, "[%s] before [net]; a definition starts with [net]", name);
    else RM_TRY(add_layer(p, (rm_layer_type)sec->type, p->line));
    p->sec = sec;
    p->sec_line = p->line;
    p->relu_after = 0;
    memset(p->key_line, 0, sizeof p->key_line);
    return 0;
}

static int parse_key_value(parser *p, char *line)
{
    char *eq = strchr(line, '=');
    if (!eq) return fail(p, "expected 'key = value' or a [section], got '%s'", line);
    *eq = 0;
    const char *key = trim(line), *value = trim(eq + 1);
    if (!p->sec) return fail(p, "'%s' before any section; a definition starts with [net]", key);
    int k = find_key(p->sec, key);
    char list[256];
    if (k < 0)
        return fail(p, "unknown key '%s' in [%s] (expected %s)", key, p->sec->name,
                    key_list(p->sec, list, sizeof list));
    if (p->key_line[k])
        return fail(p, "duplicate key '%s' in [%s] (first set at line %d)", key, p->sec->name, p->key_line[k]);
    if (!*value) return fail(p, "'%s' has no value", key);
    p->key_line[k] = p->line;
    return p->sec->type == SECTION_NET ? set_net_key(p, (key_id)k, value) : set_layer_key(p, (key_id)k, value);
}

static int parse_line(parser *p, char *line)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    line = trim(line);
    if (!*line) return 0;
    return *line == '[' ? begin_section(p, line) : parse_key_value(p, line);
}

static int parse_lines(parser *p, const char *text)
{
    char buf[MAX_LINE];
    for (const char *s = text; *s;) {
        size_t len = strcspn(s, "\n");
        p->line++;
        if (len >= sizeof buf) return fail(p, "line longer than %d characters", MAX_LINE - 1);
        memcpy(buf, s, len);
        buf[len] = 0;
        RM_TRY(parse_line(p, buf));
        s += len + (s[len] == '\n');
    }
    return end_section(p);
}

/* ---- names ---------------------------------------------------------------- */

/* Unnamed layers become <type><k>, k counting every layer of that type. */
static void name_layers(rm_netdef *def)
{
    int count[RM_LAYER_TYPE_COUNT] = {0};
    for (int i = 0; i < def->num_layers; i++) {
        rm_layer_def *L = &def->layers[i];
        int k = ++count[L->type];
        if (!L->name[0]) snprintf(L->name, sizeof L->name, "%s%d", rm_layer_type_names[L->type], k);
    }
}

static int check_unique_names(const parser *p)
{
    const rm_netdef *def = p->def;
    for (int i = 0; i < def->num_layers; i++)
        if (!strcmp(def->layers[i].name, "input"))
            return fail_at(p->src, def->layers[i].line, "layer name 'input' is reserved: 'from = input' "
                           "names the network input");
    for (int i = 1; i < def->num_layers; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(def->layers[i].name, def->layers[j].name))
                return fail_at(p->src, def->layers[i].line,
                               "layer name '%s' is already used at line %d (default names are "
                               "the type and a running number: conv1, conv2, ...)",
                               def->layers[i].name, def->layers[j].line);
    return 0;
}

/* ---- inputs (from) ---------------------------------------------------------- */

/* The index of the layer named `name` (RM_INPUT_NETWORK for "input"), or
 * -2 if none has it. */
static int layer_index(const rm_netdef *def, const char *name)
{
    if (!strcmp(name, "input")) return RM_INPUT_NETWORK;
    for (int j = 0; j < def->num_layers; j++)
        if (!strcmp(def->layers[j].name, name)) return j;
    return -2;
}

/* Layer i's "from = a, b" into inputs[]: earlier layers only, no repeats,
 * one input except for add and concat (2..RM_MAX_INPUTS). */
static int resolve_from(const parser *p, int i)
{
    rm_layer_def *L = &p->def->layers[i];
    const char *type = rm_layer_type_names[L->type], *s = p->from[i];
    int line = p->from_line[i], multi = L->type == RM_LAYER_ADD || L->type == RM_LAYER_CONCAT;
    L->num_inputs = 0;
    for (;;) {
        size_t len = strcspn(s, ",");
        char item[64];
        const char *a = s, *b = s + len;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        if (a == b) return fail_at(p->src, line, "[%s] 'from = %s': an empty layer name", type, p->from[i]);
        if ((size_t)(b - a) >= sizeof item)
            return fail_at(p->src, line, "[%s] 'from = %s': a layer name longer than %zu characters", type,
                           p->from[i], sizeof item - 1);
        memcpy(item, a, (size_t)(b - a));
        item[b - a] = 0;
        int j = layer_index(p->def, item);
        if (j == -2)
            return fail_at(p->src, line, "[%s] '%s': from names an unknown layer '%s' (expected an earlier "
                           "layer's name or 'input')", type, L->name, item);
        if (j >= i)
            return fail_at(p->src, line, "[%s] '%s': from names '%s', %s (line %d); from may only name earlier "
                           "layers", type, L->name, item, j == i ? "the layer itself" : "a later layer",
                           p->def->layers[j].line);
        for (int k = 0; k < L->num_inputs; k++)
            if (L->inputs[k] == j)
                return fail_at(p->src, line, "[%s] '%s': from names '%s' twice", type, L->name, item);
        if (L->num_inputs == RM_MAX_INPUTS)
            return fail_at(p->src, line, "[%s] '%s': from names more than %d layers", type, L->name,
                           RM_MAX_INPUTS);
        L->inputs[L->num_inputs++] = j;
        if (!s[len]) break;
        s += len + 1;
    }
    if (multi && L->num_inputs < 2)
        return fail_at(p->src, line, "[%s] '%s': from names %d layer; [%s] needs 2..%d", type, L->name,
                       L->num_inputs, type, RM_MAX_INPUTS);
    if (!multi && L->num_inputs != 1)
        return fail_at(p->src, line, "[%s] '%s': from names %d layers; only [add] and [concat] take several",
                       type, L->name, L->num_inputs);
    return 0;
}

static int resolve_inputs(const parser *p)
{
    rm_netdef *def = p->def;
    for (int i = 0; i < def->num_layers; i++) {
        rm_layer_def *L = &def->layers[i];
        if (p->from[i]) {
            RM_TRY(resolve_from(p, i));
        } else {
            L->num_inputs = 1;
            L->inputs[0] = i - 1;   /* the layer before; the first reads the input (-1) */
        }
    }
    for (int i = 0; i + 1 < def->num_layers; i++)
        if (!rm_netdef_consumers(def, i))
            return fail_at(p->src, def->layers[i].line, "the output of [%s] '%s' is not read by any later layer "
                           "(only the last layer's, the logits, may be unread)",
                           rm_layer_type_names[def->layers[i].type], def->layers[i].name);
    return 0;
}

int rm_netdef_consumers(const rm_netdef *def, int i)
{
    int n = 0;
    for (int j = i + 1; j < def->num_layers; j++)
        for (int k = 0; k < def->layers[j].num_inputs; k++) n += def->layers[j].inputs[k] == i;
    return n;
}

int rm_netdef_is_sequential(const rm_netdef *def)
{
    for (int i = 0; i < def->num_layers; i++)
        if (def->layers[i].num_inputs != 1 || def->layers[i].inputs[0] != i - 1) return 0;
    return 1;
}

/* ---- shapes --------------------------------------------------------------- */

static int64_t elements(rm_shape s) { return (int64_t)s.c * s.h * s.w; }

/* Output size of a sliding window of `span` cells (the kernel size, or
 * (size - 1) * dilation + 1); the caller checks in + pads >= span (C
 * division would round a negative numerator towards zero). */
static int window_out(int in, int span, int stride, int pad_begin, int pad_end)
{
    return (in + pad_begin + pad_end - span) / stride + 1;
}

static int window_span(const rm_layer_def *L) { return (L->size - 1) * (L->dilation > 1 ? L->dilation : 1) + 1; }

static int window_fits(const char *src, const rm_layer_def *L, const char *what)
{
    int span = window_span(L);
    if (L->in.h + L->pads[0] + L->pads[2] >= span && L->in.w + L->pads[1] + L->pads[3] >= span) return 0;
    char pad[64];
    if (L->pads[1] == L->pad && L->pads[2] == L->pad && L->pads[3] == L->pad) snprintf(pad, sizeof pad, "%d", L->pad);
    else snprintf(pad, sizeof pad, "%d, %d, %d, %d", L->pads[0], L->pads[1], L->pads[2], L->pads[3]);
    if (span != L->size)
        return fail_at(src, L->line, "[%s] '%s': %s %dx%d dilated by %d spans %d cells, more than input %dx%d (pad %s)",
                       rm_layer_type_names[L->type], L->name, what, L->size, L->size, L->dilation, span, L->in.h,
                       L->in.w, pad);
    return fail_at(src, L->line, "[%s] '%s': %s %dx%d larger than input %dx%d (pad %s)",
                   rm_layer_type_names[L->type], L->name, what, L->size, L->size, L->in.h, L->in.w, pad);
}

static rm_shape window_shape(const rm_layer_def *L, int channels)
{
    int span = window_span(L);
    return (rm_shape){channels, window_out(L->in.h, span, L->stride, L->pads[0], L->pads[2]),
                      window_out(L->in.w, span, L->stride, L->pads[1], L->pads[3])};
}

static int infer_conv(const char *src, rm_layer_def *L)
{
    RM_TRY(window_fits(src, L, "kernel"));
    const rm_shape in = L->in;
    if (in.c % L->groups || L->filters % L->groups)
        return fail_at(src, L->line, "[conv] '%s': groups = %d must divide its %d input channels and filters = %d",
                       L->name, L->groups, in.c, L->filters);
    L->out = window_shape(L, L->filters);
    int64_t taps = (int64_t)(in.c / L->groups) * L->size * L->size;   /* per output channel */
    L->params = L->filters * taps + (L->bias ? L->filters : 0);
    L->flops = 2 * elements(L->out) * taps;
    return 0;
}

static int infer_pool(const char *src, rm_layer_def *L)
{
    RM_TRY(window_fits(src, L, "pooling"));
    const rm_shape in = L->in;
    L->out = window_shape(L, in.c);
    return 0;
}

static void infer_dense(rm_layer_def *L)
{
    int64_t in_features = elements(L->in);
    L->out = (rm_shape){L->units, 1, 1};
    L->params = L->units * in_features + (L->bias ? L->units : 0);
    L->flops = 2 * L->units * in_features;
}

/* FLOPs count the multiply-adds of conv and dense layers only (x 2), the
 * usual convention; pooling, batchnorm and activations count as 0. */
static int infer_layer(const char *src, rm_layer_def *L)
{
    const rm_shape in = L->in;
    switch (L->type) {
    case RM_LAYER_CONV: RM_TRY(infer_conv(src, L)); break;
    case RM_LAYER_MAXPOOL:
    case RM_LAYER_AVGPOOL: RM_TRY(infer_pool(src, L)); break;
    case RM_LAYER_GLOBALAVGPOOL: L->out = (rm_shape){in.c, 1, 1}; break;
    case RM_LAYER_FLATTEN: L->out = (rm_shape){(int)elements(in), 1, 1}; break;
    case RM_LAYER_DENSE: infer_dense(L); break;
    case RM_LAYER_BATCHNORM:
    case RM_LAYER_SCALE: L->out = in; L->params = 2 * (int64_t)in.c; break;
    default: L->out = in; break;
    }
    if (elements(L->out) > MAX_ELEMENTS)
        return fail_at(src, L->line, "[%s] '%s': output %dx%dx%d has more than %lld values",
                       rm_layer_type_names[L->type], L->name, L->out.c, L->out.h, L->out.w,
                       (long long)MAX_ELEMENTS);
    return 0;
}

static rm_shape input_shape(const rm_netdef *def, int j)
{
    return j == RM_INPUT_NETWORK ? def->input : def->layers[j].out;
}

static const char *input_name(const rm_netdef *def, int j)
{
    return j == RM_INPUT_NETWORK ? "input" : def->layers[j].name;
}

/* add: identical input shapes; concat: equal height and width, channels
 * summed. */
static int infer_merge(const char *src, const rm_netdef *def, rm_layer_def *L)
{
    const char *type = rm_layer_type_names[L->type];
    L->out = L->in;
    for (int k = 1; k < L->num_inputs; k++) {
        rm_shape a = L->in, b = input_shape(def, L->inputs[k]);
        int same = L->type == RM_LAYER_ADD ? a.c == b.c && a.h == b.h && a.w == b.w : a.h == b.h && a.w == b.w;
        if (!same)
            return fail_at(src, L->line, "[%s] '%s': input '%s' is %dx%dx%d but '%s' is %dx%dx%d (%s)", type,
                           L->name, input_name(def, L->inputs[0]), a.c, a.h, a.w, input_name(def, L->inputs[k]),
                           b.c, b.h, b.w,
                           L->type == RM_LAYER_ADD ? "add needs identical shapes"
                                                   : "concat needs equal height and width");
        if (L->type == RM_LAYER_CONCAT) L->out.c += b.c;
    }
    if (elements(L->out) > MAX_ELEMENTS)
        return fail_at(src, L->line, "[%s] '%s': output %dx%dx%d has more than %lld values", type, L->name,
                       L->out.c, L->out.h, L->out.w, (long long)MAX_ELEMENTS);
    return 0;
}

static int infer_shapes(const parser *p)
{
    rm_netdef *def = p->def;
    for (int i = 0; i < def->num_layers; i++) {
        rm_layer_def *L = &def->layers[i];
        L->in = input_shape(def, L->inputs[0]);
        if (L->type == RM_LAYER_ADD || L->type == RM_LAYER_CONCAT) RM_TRY(infer_merge(p->src, def, L));
        else RM_TRY(infer_layer(p->src, L));
    }
    return 0;
}

static int check_output(const parser *p)
{
    const rm_netdef *def = p->def;
    const rm_layer_def *last = &def->layers[def->num_layers - 1];
    if (last->out.h != 1 || last->out.w != 1)
        return fail_at(p->src, last->line, "last layer '%s' outputs %dx%dx%d; it must give %d values "
                       "with height and width 1 (end with [dense] or [globalavgpool])",
                       last->name, last->out.c, last->out.h, last->out.w, def->classes);
    if (last->out.c != def->classes)
        return fail_at(p->src, last->line, "last layer has %d outputs but [net] classes = %d",
                       last->out.c, def->classes);
    return 0;
}

static int finish(parser *p)
{
    if (!p->net_line) return rm_error("%s: no [net] section", p->src);
    if (p->def->num_layers == 0) return fail_at(p->src, p->net_line, "no layers after [net]");
    name_layers(p->def);
    RM_TRY(check_unique_names(p));
    RM_TRY(resolve_inputs(p));
    RM_TRY(infer_shapes(p));
    return check_output(p);
}

/* ---- public --------------------------------------------------------------- */

/* "nets/fer-small.cfg" -> "fer-small". */
static void default_net_name(char *dst, size_t size, const char *source_name)
{
    const char *base = source_name ? strrchr(source_name, '/') : NULL;
    base = base ? base + 1 : source_name ? source_name : "net";
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".cfg")) n -= 4;
    if (n >= size) n = size - 1;
    memcpy(dst, base, n);
    dst[n] = 0;
}

int rm_netdef_parse(rm_netdef *def, const char *text, const char *source_name)
{
    memset(def, 0, sizeof *def);
    parser p = {.def = def, .src = source_name ? source_name : "(text)"};
    default_net_name(def->name, sizeof def->name, source_name);
    def->layers = rm_calloc(MAX_LAYERS, sizeof *def->layers, "network layers");
    def->text = def->layers ? rm_strdup(text) : NULL;
    p.from = def->text ? rm_calloc(MAX_LAYERS, sizeof *p.from, "layer inputs") : NULL;
    p.from_line = p.from ? rm_calloc(MAX_LAYERS, sizeof *p.from_line, "layer inputs") : NULL;
    int rc = p.from_line && parse_lines(&p, text) == 0 && finish(&p) == 0 ? 0 : -1;
    for (int i = 0; p.from && i < MAX_LAYERS; i++) free(p.from[i]);
    free(p.from);
    free(p.from_line);
    if (rc != 0) rm_netdef_free(def);
    return rc;
}

/* The rest of an open file as a string; NULL after rm_error. */
static char *read_all(FILE *f, const char *path)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rm_error("%s: not a regular file", path);
        return NULL;
    }
    if (st.st_size > MAX_FILE) {
        rm_error("%s: larger than 1 MiB; not a network definition?", path);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *text = rm_malloc(size + 1, path);
    if (!text) return NULL;
    size_t n = fread(text, 1, size, f);
    text[n] = 0;
    if (n == size && !memchr(text, 0, n)) return text;
    if (n != size) rm_error("%s: read error: %s", path, strerror(errno));
    else rm_error("%s: contains a NUL byte; not a text file", path);
    free(text);
    return NULL;
}

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rm_error("cannot open network definition %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = read_all(f, path);
    fclose(f);
    return text;
}

int rm_netdef_load(rm_netdef *def, const char *path)
{
    memset(def, 0, sizeof *def);
    char *text = read_text_file(path);
    if (!text) return -1;
    int rc = rm_netdef_parse(def, text, path);
    free(text);
    return rc;
}

static int is_cfg_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".cfg");
}

static int cfg_filter(const struct dirent *e) { return is_cfg_name(e->d_name); }

static int not_found(const char *name, const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, cfg_filter, alphasort);
    if (n < 0)
        return rm_error("no network definition '%s': cannot read directory %s (%s); set RELMASK_NETS "
                        "or give a path to a .cfg file", name, dir, strerror(errno));
    char names[1024] = "";
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        if (used < sizeof names)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%.*s", i ? ", " : "",
                                     (int)strlen(list[i]->d_name) - 4, list[i]->d_name);
        free(list[i]);
    }
    free(list);
    return rm_error("no network definition '%s' in %s (looked for %s/%s.cfg; available: %s)",
                    name, dir, dir, name, n ? names : "none");
}

int rm_netdef_is_path(const char *name_or_path)
{
    return strchr(name_or_path, '/') || is_cfg_name(name_or_path);
}

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory of the named networks: RELMASK_NETS; else beside the
 * running program, so a moved or installed copy finds its own
 * (<bindir>/../share/relmask/nets after make install, <bindir>/../nets in
 * a build tree); else the source tree it was built from. */
static const char *nets_dir(char *buf, size_t size)
{
    const char *env = getenv("RELMASK_NETS");
    if (env && *env) return env;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = 0;
        const char *beside[] = {"../share/relmask/nets", "../nets"};
        for (size_t i = 0; i < sizeof beside / sizeof beside[0]; i++)
            if (snprintf(buf, size, "%s/%s", exe, beside[i]) < (int)size && is_directory(buf)) return buf;
    }
    return RELMASK_NETS_DIR;
}

/* nets/<name>.cfg of a network name, or an error listing the names. */
static int named_path(const char *name, char *path, size_t size)
{
    if (!*name) return rm_error("empty network name");
    char dir_buf[4200];
    const char *dir = nets_dir(dir_buf, sizeof dir_buf);
    if (snprintf(path, size, "%s/%s.cfg", dir, name) >= (int)size)
        return rm_error("network name '%s' is too long", name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return not_found(name, dir);
    return 0;
}

int rm_netdef_name_check(const char *name)
{
    char path[4096];
    return named_path(name, path, sizeof path);
}

int rm_netdef_find(rm_netdef *def, const char *name_or_path)
{
    memset(def, 0, sizeof *def);
    if (rm_netdef_is_path(name_or_path)) return rm_netdef_load(def, name_or_path);
    char path[4096];
    RM_TRY(named_path(name_or_path, path, sizeof path));
    return rm_netdef_load(def, path);
}

/* Replaces def by the parse of its edited text `changed` (freed here),
 * keeping its name. */
static int replace_with_text(rm_netdef *def, char *changed, const char *source)
{
    rm_netdef parsed;
    int rc = rm_netdef_parse(&parsed, changed, source);
    free(changed);
    if (rc != 0) return -1;
    memcpy(parsed.name, def->name, sizeof parsed.name);
    rm_netdef_free(def);
    *def = parsed;
    return 0;
}

int rm_netdef_set_input_channels(rm_netdef *def, int channels)
{
    if (channels < 1 || channels > MAX_INPUT_C)
        return rm_error("network %s: %d input channels; expected 1..%d", def->name, channels, MAX_INPUT_C);
    if (channels == def->input.c) return 0;
    /* Find the [net] section's input line: the first line whose key is input. */
    const char *text = def->text, *line = text, *found = NULL, *end = NULL;
    while (*line) {
        const char *eol = strchr(line, '\n');
        if (!eol) eol = line + strlen(line);
        const char *k = line;
        while (k < eol && (*k == ' ' || *k == '\t')) k++;
        if (eol - k >= 5 && !strncmp(k, "input", 5)) {
            const char *a = k + 5;
            while (a < eol && (*a == ' ' || *a == '\t')) a++;
            if (a < eol && *a == '=') {
                found = line;
                end = eol;
                break;
            }
        }
        line = *eol ? eol + 1 : eol;
    }
    if (!found) return rm_error("network %s: no 'input =' line to change", def->name);
    char repl[160];
    snprintf(repl, sizeof repl, "# input channels set to %d (was %d) by relmask\ninput = %dx%dx%d", channels,
             def->input.c, channels, def->input.h, def->input.w);
    size_t head = (size_t)(found - text), tail = strlen(end), size = head + strlen(repl) + tail + 1;
    char *changed = rm_malloc(size, "network text");
    if (!changed) return -1;
    memcpy(changed, text, head);
    memcpy(changed + head, repl, strlen(repl));
    memcpy(changed + head + strlen(repl), end, tail + 1);
    char source[96];
    snprintf(source, sizeof source, "%s (input channels %d)", def->name, channels);
    return replace_with_text(def, changed, source);
}

/* The line [*start, *end) of the first "key = ..." in [from, to), or 0. */
static int find_key_line(const char *from, const char *to, const char *key, const char **start, const char **end)
{
    size_t klen = strlen(key);
    for (const char *line = from; line < to;) {
        const char *eol = memchr(line, '\n', (size_t)(to - line));
        if (!eol) eol = to;
        const char *k = line;
        while (k < eol && (*k == ' ' || *k == '\t')) k++;
        if ((size_t)(eol - k) >= klen && !strncmp(k, key, klen)) {
            const char *a = k + klen;
            while (a < eol && (*a == ' ' || *a == '\t')) a++;
            if (a < eol && *a == '=') {
                *start = line, *end = eol;
                return 1;
            }
        }
        line = eol < to ? eol + 1 : eol;
    }
    return 0;
}

int rm_netdef_set_classes(rm_netdef *def, int classes)
{
    if (classes < 1 || classes > 100000)
        return rm_error("network %s: %d classes; expected 1..100000", def->name, classes);
    if (classes == def->classes) return 0;
    const char *text = def->text, *stop = text + strlen(text), *dense = NULL;
    /* the last [dense] section, which produces the logits */
    for (const char *line = text; line < stop;) {
        const char *eol = strchr(line, '\n');
        if (!eol) eol = stop;
        const char *k = line;
        while (k < eol && (*k == ' ' || *k == '\t')) k++;
        if (*k == '[') dense = (eol - k >= 7 && !strncmp(k, "[dense]", 7)) ? eol : NULL;
        line = *eol ? eol + 1 : eol;
    }
    int last_dense = -1;
    for (int i = 0; i < def->num_layers; i++)
        if (def->layers[i].type == RM_LAYER_DENSE) last_dense = i;
    int after = 0;
    for (int i = last_dense + 1; i < def->num_layers && last_dense >= 0; i++)
        after |= def->layers[i].params > 0;
    if (!dense || last_dense < 0 || after)
        return rm_error("network %s does not end in a [dense] layer, so its %d outputs cannot be changed to %d "
                        "classes: give a network with %d outputs", def->name, def->classes, classes, classes);
    const char *section_end = dense;
    for (const char *line = dense; line < stop;) {   /* to the next section */
        const char *eol = strchr(line, '\n');
        if (!eol) eol = stop;
        const char *k = line;
        while (k < eol && (*k == ' ' || *k == '\t')) k++;
        if (line != dense && *k == '[') break;
        section_end = eol;
        line = *eol ? eol + 1 : eol;
    }
    const char *cs, *ce, *us, *ue;
    if (!find_key_line(text, stop, "classes", &cs, &ce) || !find_key_line(dense, section_end, "units", &us, &ue) ||
        cs > us)
        return rm_error("network %s: no 'classes =' line or no 'units =' in its last [dense] layer to change",
                        def->name);
    char crepl[128], urepl[128];
    snprintf(crepl, sizeof crepl, "# classes set to %d (was %d) by relmask\nclasses = %d", classes, def->classes,
             classes);
    snprintf(urepl, sizeof urepl, "# units set to %d (was %d) by relmask: one per class\nunits = %d", classes,
             def->classes, classes);
    size_t size = strlen(text) + strlen(crepl) + strlen(urepl) + 1;
    char *changed = rm_malloc(size, "network text");
    if (!changed) return -1;
    snprintf(changed, size, "%.*s%s%.*s%s%s", (int)(cs - text), text, crepl, (int)(us - ce), ce, urepl, ue);
    char source[96];
    snprintf(source, sizeof source, "%s (%d classes)", def->name, classes);
    return replace_with_text(def, changed, source);
}

void rm_netdef_free(rm_netdef *def)
{
    free(def->layers);
    free(def->text);
    memset(def, 0, sizeof *def);
}

int64_t rm_netdef_params(const rm_netdef *def)
{
    int64_t sum = 0;
    for (int i = 0; i < def->num_layers; i++) sum += def->layers[i].params;
    return sum;
}

int64_t rm_netdef_flops(const rm_netdef *def)
{
    int64_t sum = 0;
    for (int i = 0; i < def->num_layers; i++) sum += def->layers[i].flops;
    return sum;
}
