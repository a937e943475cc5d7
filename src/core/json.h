/* A small, strict JSON reader (RFC 8259) for the files relmask itself
 * writes and reads back: `relmask eval --out x.json`, relevance-eval
 * summaries. Whole documents are parsed into a tree of rm_json values.
 *
 * Strict means: one value per document (whitespace around it only), no
 * comments, no trailing commas, no leading zeros or '+' signs, no NaN or
 * Infinity, no control characters inside strings, no duplicate keys in an
 * object, valid \uXXXX escapes (surrogate pairs joined into UTF-8, \u0000
 * refused), nesting at most RM_JSON_MAX_DEPTH deep. Every error names the
 * source (file), the byte offset and the line:column, and says what was
 * expected: "test.json: offset 118 (line 7:21): expected ',' or '}' after
 * an object member". */
#ifndef RELMASK_JSON_H
#define RELMASK_JSON_H

#include <stddef.h>
#include <stdio.h>

#define RM_JSON_MAX_DEPTH 64
/* Largest file rm_json_load accepts. */
#define RM_JSON_MAX_BYTES ((size_t)64 << 20)

typedef enum {
    RM_JSON_NULL,
    RM_JSON_BOOL,
    RM_JSON_NUMBER,
    RM_JSON_STRING,
    RM_JSON_ARRAY,
    RM_JSON_OBJECT,
} rm_json_type;

typedef struct rm_json rm_json;
struct rm_json {
    rm_json_type type;
    int boolean;           /* RM_JSON_BOOL */
    double number;         /* RM_JSON_NUMBER (strtod of the literal) */
    char *string;          /* RM_JSON_STRING: UTF-8, NUL-terminated */
    size_t count;          /* RM_JSON_ARRAY / RM_JSON_OBJECT: entries */
    rm_json *items;        /* [count] values, in document order */
    char **keys;           /* RM_JSON_OBJECT: [count] member names */
};

/* Parses `len` bytes of `text`; `source` names it in errors. On success
 * *out is a tree to release with rm_json_free. */
int rm_json_parse(rm_json **out, const char *text, size_t len, const char *source);
/* Reads and parses a whole file; errors name the path. */
int rm_json_load(rm_json **out, const char *path);
void rm_json_free(rm_json *v);

/* The member `key` of an object, or NULL (also when v is not an object). */
const rm_json *rm_json_get(const rm_json *v, const char *key);
/* Typed lookups of an object member, with errors naming `source` and the
 * key: missing, wrong type, or (numbers) null / not finite. */
int rm_json_get_number(const rm_json *obj, const char *key, const char *source, double *out);
int rm_json_get_array(const rm_json *obj, const char *key, const char *source, const rm_json **out);
const char *rm_json_type_name(rm_json_type t);

/* Writing: a string with JSON escapes (NULL writes null), a number with 10
 * significant digits (non-finite writes null). */
void rm_json_write_string(FILE *f, const char *s);
void rm_json_write_number(FILE *f, double v);

#endif
