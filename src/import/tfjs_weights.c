/* The TF.js weights manifest (tfjs.h), shared by the graph-model and the
 * layers-model readers: each group's .bin shards are read back to back and
 * its weights taken from them in manifest order, float32 or int32, or
 * dequantized from uint8/uint16 (value = min + scale q) or float16. */
#include "import/tfjs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

const tfjs_const *tfjs_find_const(const tfjs_weights *w, const char *name)
{
    for (int i = 0; i < w->nconsts; i++)
        if (!strcmp(w->consts[i].name, name)) return &w->consts[i];
    return NULL;
}

void tfjs_free_weights(tfjs_weights *w)
{
    for (int i = 0; i < w->nconsts; i++) free(w->consts[i].f), free(w->consts[i].i);
    free(w->consts);
    w->consts = NULL, w->nconsts = 0;
}

static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    double v = exp == 0 ? ldexp(man, -24) : exp == 31 ? (man ? NAN : INFINITY) : ldexp(man + 1024, exp - 25);
    return (float)(sign ? -v : v);
}

static int read_shards(const char *input, const char *dir, const rm_json *paths, unsigned char **out, size_t *size)
{
    *out = NULL, *size = 0;
    for (size_t p = 0; p < paths->count; p++) {
        if (paths->items[p].type != RM_JSON_STRING || strchr(paths->items[p].string, '/') ||
            !paths->items[p].string[0])
            return rm_error("%s: weightsManifest paths must be file names beside it", input);
        char path[4200];
        snprintf(path, sizeof path, "%s%s", dir, paths->items[p].string);
        FILE *f = fopen(path, "rb");
        if (!f) return rm_error("%s: cannot open the weights shard %s", input, path);
        int rc = fseek(f, 0, SEEK_END);
        long n = rc == 0 ? ftell(f) : -1;
        if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
            fclose(f);
            return rm_error("%s: cannot read %s", input, path);
        }
        unsigned char *grown = rm_realloc(*out, *size + (size_t)n + 1, "weights");
        if (!grown) {
            fclose(f);
            return -1;
        }
        *out = grown;
        size_t got = fread(*out + *size, 1, (size_t)n, f);
        fclose(f);
        if (got != (size_t)n) return rm_error("%s: short read of %s", input, path);
        *size += (size_t)n;
    }
    return 0;
}

/* One manifest entry at *offset of the group's bytes. */
static int load_weight(tfjs_weights *ws, const char *input, const rm_json *w, const unsigned char *bytes, size_t size,
                       size_t *offset, const char *shards)
{
    const rm_json *name = rm_json_get(w, "name"), *shape = rm_json_get(w, "shape"), *dtype = rm_json_get(w, "dtype");
    const rm_json *q = rm_json_get(w, "quantization");
    if (!name || name->type != RM_JSON_STRING || !shape || shape->type != RM_JSON_ARRAY || !dtype ||
        dtype->type != RM_JSON_STRING)
        return rm_error("%s: a weightsManifest entry without name, shape and dtype", input);
    tfjs_const c = {.name = name->string};
    if (shape->count > TFJS_MAX_DIMS)
        return rm_error("%s: weight %s has %zu dimensions", input, name->string, shape->count);
    c.ndims = (int)shape->count;
    c.count = 1;
    for (int d = 0; d < c.ndims; d++) {
        double v = shape->items[d].type == RM_JSON_NUMBER ? shape->items[d].number : -1;
        if (!(v >= 0 && v <= (1 << 30)) || v != floor(v) || c.count * (int64_t)v > ((int64_t)1 << 31))
            return rm_error("%s: weight %s has a bad shape", input, name->string);
        c.dims[d] = (int64_t)v;
        c.count *= c.dims[d];
    }
    int is_int = !strcmp(dtype->string, "int32");
    if (!is_int && strcmp(dtype->string, "float32"))
        return rm_error("%s: weight %s has dtype %s; expected float32 or int32", input, name->string,
                        dtype->string);
    const char *qtype = NULL;
    double qmin = 0, qscale = 1;
    if (q) {
        const rm_json *qt = rm_json_get(q, "dtype");
        if (!qt || qt->type != RM_JSON_STRING) return rm_error("%s: weight %s: quantization without a dtype",
                                                              input, name->string);
        qtype = qt->string;
        if (strcmp(qtype, "uint8") && strcmp(qtype, "uint16") && strcmp(qtype, "float16"))
            return rm_error("%s: weight %s is quantized as %s; expected uint8, uint16 or float16", input,
                            name->string, qtype);
        if (strcmp(qtype, "float16") &&
            (rm_json_get_number(q, "min", input, &qmin) || rm_json_get_number(q, "scale", input, &qscale)))
            return -1;
        if (is_int) return rm_error("%s: weight %s: quantized int32 is not supported", input, name->string);
    }
    size_t each = !qtype ? 4 : !strcmp(qtype, "uint8") ? 1 : 2, need = each * (size_t)c.count;
    if (*offset + need > size)
        return rm_error("%s: the weights shards %s hold %zu bytes, but weight %s needs bytes %zu..%zu (a shard of "
                        "the wrong size, or a missing one)",
                        input, shards, size, name->string, *offset, *offset + need);
    const unsigned char *p = bytes + *offset;
    c.is_int = is_int;
    if (is_int) {
        if (!(c.i = rm_malloc(sizeof *c.i * (size_t)(c.count ? c.count : 1), "weights"))) return -1;
        memcpy(c.i, p, need);
    } else {
        if (!(c.f = rm_malloc(sizeof *c.f * (size_t)(c.count ? c.count : 1), "weights"))) return -1;
        for (int64_t k = 0; k < c.count; k++) {
            if (!qtype) memcpy(&c.f[k], p + 4 * k, 4);
            else if (!strcmp(qtype, "uint8")) c.f[k] = (float)(qmin + qscale * p[k]);
            else {
                uint16_t v;
                memcpy(&v, p + 2 * k, 2);
                c.f[k] = !strcmp(qtype, "float16") ? half_to_float(v) : (float)(qmin + qscale * v);
            }
            if (!isfinite(c.f[k])) {
                const char *what = isnan(c.f[k]) ? "NaN" : "an infinity";
                free(c.f);
                return rm_error("%s: weight %s holds %s at index %lld; the model's weights must be finite",
                                input, name->string, what, (long long)k);
            }
        }
    }
    *offset += need;
    tfjs_const *grown = rm_realloc(ws->consts, sizeof *grown * (size_t)(ws->nconsts + 1), "weights");
    if (!grown) {
        free(c.f), free(c.i);
        return -1;
    }
    ws->consts = grown;
    ws->consts[ws->nconsts++] = c;
    return 0;
}

int tfjs_load_manifest(tfjs_weights *ws, const rm_json *doc, const char *input)
{
    const rm_json *groups = rm_json_get(doc, "weightsManifest");
    char dir[4096];
    const char *slash = strrchr(input, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - input + 1) : 0, input);
    if (!groups || groups->type != RM_JSON_ARRAY)
        return rm_error("%s: no weightsManifest array; expected a TF.js model.json", input);
    for (size_t g = 0; g < groups->count; g++) {
        const rm_json *paths = rm_json_get(&groups->items[g], "paths");
        const rm_json *weights = rm_json_get(&groups->items[g], "weights");
        if (!paths || paths->type != RM_JSON_ARRAY || !weights || weights->type != RM_JSON_ARRAY)
            return rm_error("%s: weightsManifest group %zu needs 'paths' and 'weights' arrays", input, g);
        char shards[512] = "";
        for (size_t p = 0; p < paths->count && paths->items[p].type == RM_JSON_STRING; p++)
            snprintf(shards + strlen(shards), sizeof shards - strlen(shards), "%s%s", p ? "+" : "",
                     paths->items[p].string);
        unsigned char *bytes;
        size_t size, offset = 0;
        int rc = read_shards(input, dir, paths, &bytes, &size);
        for (size_t w = 0; rc == 0 && w < weights->count; w++)
            rc = load_weight(ws, input, &weights->items[w], bytes, size, &offset, shards);
        if (rc == 0 && offset != size)
            rc = rm_error("%s: the weights shards %s hold %zu bytes but the manifest describes %zu", input,
                          shards, size, offset);
        free(bytes);
        RM_TRY(rc);
    }
    return 0;
}
