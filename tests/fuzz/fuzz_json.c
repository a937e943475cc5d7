/* The JSON reader (src/core/json.c) on arbitrary bytes, plus the typed
 * lookups the report uses on what it parsed. */
#include "fuzz_common.h"

#include "core/json.h"

static void walk(const rm_json *v, int depth)
{
    if (depth > RM_JSON_MAX_DEPTH + 1) __builtin_trap();
    if (v->type == RM_JSON_STRING && !v->string) __builtin_trap();
    for (size_t i = 0; i < v->count; i++) walk(&v->items[i], depth + 1);
    if (v->type == RM_JSON_OBJECT)
        for (size_t i = 0; i < v->count; i++)
            if (rm_json_get(v, v->keys[i]) != &v->items[i]) __builtin_trap();   /* keys are unique */
}

int fuzz_json(const uint8_t *data, size_t size);
int fuzz_json(const uint8_t *data, size_t size)
{
    fuzz_init();
    rm_json *v;
    if (rm_json_parse(&v, (const char *)data, size, "fuzz.json") != 0) return 0;
    walk(v, 0);
    double x;
    const rm_json *a;
    rm_json_get_number(v, "accuracy", "fuzz.json", &x);
    rm_json_get_array(v, "per_class", "fuzz.json", &a);
    rm_json_free(v);
    return 0;
}
FUZZ_TARGET(json)
