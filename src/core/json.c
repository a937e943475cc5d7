/* Strict JSON reader: a recursive-descent parser over a byte buffer that
 * builds an rm_json tree (src/core/json.h). */
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct {
    const char *text, *source;
    size_t len, pos;
    int depth;
} parser;

static int fail(const parser *p, size_t at, const char *what)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < p->len; i++) {
        if (p->text[i] == '\n') line++, col = 1;
        else col++;
    }
    return rm_error("%s: offset %zu (line %zu:%zu): %s", p->source, at, line, col, what);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1; }

static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) return fail(p, p->pos, "invalid literal");
    p->pos += n;
    return 0;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(parser *p, rm_json *v)
{
    size_t start = p->pos;
    if (peek(p) == '-') p->pos++;
    if (peek(p) == '0') {
        p->pos++;
        if (is_digit(peek(p))) return fail(p, start, "invalid number: leading zero");
    } else if (is_digit(peek(p))) {
        while (is_digit(peek(p))) p->pos++;
    } else {
        return fail(p, start, "invalid number: expected a digit");
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p))) return fail(p, p->pos, "invalid number: expected a digit after '.'");
        while (is_digit(peek(p))) p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (!is_digit(peek(p))) return fail(p, p->pos, "invalid number: expected a digit in the exponent");
        while (is_digit(peek(p))) p->pos++;
    }
    char buf[128];
    size_t n = p->pos - start;
    if (n >= sizeof buf) return fail(p, start, "number literal too long");
    memcpy(buf, p->text + start, n);
    buf[n] = 0;
    errno = 0;
    v->type = RM_JSON_NUMBER;
    v->number = strtod(buf, NULL);
    if (!isfinite(v->number)) return fail(p, start, "number out of range");
    return 0;
}

static int hex4(parser *p, unsigned *out)
{
    if (p->len - p->pos < 4) return fail(p, p->pos, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->text[p->pos + i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return fail(p, p->pos + i, "invalid hex digit in \\u escape");
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *dst, unsigned cp)
{
    if (cp < 0x80) { dst[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote; the decoded text is never longer than the source. */
static int parse_string(parser *p, char **out)
{
    size_t start = p->pos++;
    size_t end = p->pos;
    while (end < p->len && p->text[end] != '"') end += p->text[end] == '\\' ? 2 : 1;
    if (end >= p->len) return fail(p, start, "unterminated string");
    char *s = rm_malloc(end - p->pos + 1, "JSON string");
    if (!s) return -1;
    size_t n = 0;
    while (p->text[p->pos] != '"') {
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c < 0x20) {
            free(s);
            return fail(p, p->pos, "control character in string (must be escaped)");
        }
        if (c != '\\') {
            s[n++] = (char)c;
            p->pos++;
            continue;
        }
        size_t esc = p->pos++;
        char e = p->text[p->pos++];
        unsigned cp;
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u':
            if (hex4(p, &cp) != 0) { free(s); return -1; }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u') {
                    free(s);
                    return fail(p, esc, "unpaired high surrogate in \\u escape");
                }
                p->pos += 2;
                if (hex4(p, &lo) != 0) { free(s); return -1; }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    free(s);
                    return fail(p, esc, "high surrogate not followed by a low surrogate");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(s);
                return fail(p, esc, "unpaired low surrogate in \\u escape");
            } else if (cp == 0) {
                free(s);
                return fail(p, esc, "\\u0000 is not supported in strings");
            }
            n += put_utf8(s + n, cp);   /* at most as long as the 6- or 12-byte escape */
            break;
        default:
            free(s);
            return fail(p, esc, "invalid escape in string");
        }
    }
    p->pos++;   /* closing quote */
    s[n] = 0;
    *out = s;
    return 0;
}

static int parse_value(parser *p, rm_json *v);

static int grow(rm_json *v, size_t *cap, int object)
{
    if (v->count < *cap) return 0;
    size_t n = *cap ? *cap * 2 : 4;
    rm_json *items = rm_realloc(v->items, n * sizeof *items, "JSON values");
    if (!items) return -1;
    v->items = items;
    if (object) {
        char **keys = rm_realloc(v->keys, n * sizeof *keys, "JSON keys");
        if (!keys) return -1;
        v->keys = keys;
    }
    *cap = n;
    return 0;
}

static int parse_array(parser *p, rm_json *v)
{
    size_t cap = 0;
    v->type = RM_JSON_ARRAY;
    p->pos++;
    skip_ws(p);
    if (peek(p) == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        RM_TRY(grow(v, &cap, 0));
        memset(&v->items[v->count], 0, sizeof v->items[0]);
        v->count++;
        RM_TRY(parse_value(p, &v->items[v->count - 1]));
        skip_ws(p);
        int c = peek(p);
        p->pos++;
        if (c == ']') return 0;
        if (c != ',') return fail(p, p->pos - 1, "expected ',' or ']' after an array element");
    }
}

static int parse_object(parser *p, rm_json *v)
{
    size_t cap = 0;
    v->type = RM_JSON_OBJECT;
    p->pos++;
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (peek(p) != '"') return fail(p, p->pos, "expected a string key in an object");
        size_t key_at = p->pos;
        char *key;
        RM_TRY(parse_string(p, &key));
        for (size_t i = 0; i < v->count; i++) {
            if (!strcmp(v->keys[i], key)) {
                char what[320];
                snprintf(what, sizeof what, "duplicate key \"%.256s\" in an object", key);
                free(key);
                return fail(p, key_at, what);
            }
        }
        if (grow(v, &cap, 1) != 0) {
            free(key);
            return -1;
        }
        memset(&v->items[v->count], 0, sizeof v->items[0]);
        v->keys[v->count] = key;
        v->count++;
        skip_ws(p);
        if (peek(p) != ':') return fail(p, p->pos, "expected ':' after an object key");
        p->pos++;
        RM_TRY(parse_value(p, &v->items[v->count - 1]));
        skip_ws(p);
        int c = peek(p);
        p->pos++;
        if (c == '}') return 0;
        if (c != ',') return fail(p, p->pos - 1, "expected ',' or '}' after an object member");
    }
}

static int parse_value(parser *p, rm_json *v)
{
    skip_ws(p);
    int c = peek(p);
    if (c < 0) return fail(p, p->pos, "unexpected end of input, expected a value");
    if (c == '{' || c == '[') {
        if (++p->depth > RM_JSON_MAX_DEPTH) return fail(p, p->pos, "nesting too deep");
        int rc = c == '{' ? parse_object(p, v) : parse_array(p, v);
        p->depth--;
        return rc;
    }
    if (c == '"') {
        v->type = RM_JSON_STRING;
        return parse_string(p, &v->string);
    }
    if (c == '-' || is_digit(c)) return parse_number(p, v);
    if (c == 't') { v->type = RM_JSON_BOOL; v->boolean = 1; return literal(p, "true"); }
    if (c == 'f') { v->type = RM_JSON_BOOL; v->boolean = 0; return literal(p, "false"); }
    if (c == 'n') { v->type = RM_JSON_NULL; return literal(p, "null"); }
    return fail(p, p->pos, "expected a value (object, array, string, number, true, false or null)");
}

static void free_children(rm_json *v)
{
    if (v->type == RM_JSON_STRING) free(v->string);
    if (v->type == RM_JSON_ARRAY || v->type == RM_JSON_OBJECT) {
        for (size_t i = 0; i < v->count; i++) {
            free_children(&v->items[i]);
            if (v->keys) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
}

void rm_json_free(rm_json *v)
{
    if (!v) return;
    free_children(v);
    free(v);
}

int rm_json_parse(rm_json **out, const char *text, size_t len, const char *source)
{
    *out = NULL;
    parser p = {.text = text, .source = source ? source : "JSON", .len = len};
    rm_json *root = rm_calloc(1, sizeof *root, "JSON value");
    if (!root) return -1;
    int rc = parse_value(&p, root);
    if (rc == 0) {
        skip_ws(&p);
        if (p.pos != p.len) rc = fail(&p, p.pos, "unexpected data after the JSON value");
    }
    if (rc != 0) {
        rm_json_free(root);
        return -1;
    }
    *out = root;
    return 0;
}

int rm_json_load(rm_json **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return rm_error("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 14, len = 0;
    char *buf = rm_malloc(cap, "JSON file");
    int rc = buf ? 0 : -1;
    while (rc == 0) {
        if (len == cap) {
            if (cap >= RM_JSON_MAX_BYTES) {
                rc = rm_error("%s: larger than %zu bytes", path, RM_JSON_MAX_BYTES);
                break;
            }
            char *bigger = rm_realloc(buf, cap * 2, "JSON file");
            if (!bigger) { rc = -1; break; }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) rc = rm_error("%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc == 0) rc = rm_json_parse(out, buf, len, path);
    free(buf);
    return rc;
}

const rm_json *rm_json_get(const rm_json *v, const char *key)
{
    if (!v || v->type != RM_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < v->count; i++)
        if (!strcmp(v->keys[i], key)) return &v->items[i];
    return NULL;
}

const char *rm_json_type_name(rm_json_type t)
{
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int rm_json_get_number(const rm_json *obj, const char *key, const char *source, double *out)
{
    const rm_json *v = rm_json_get(obj, key);
    if (!v) return rm_error("%s: missing key \"%s\"", source, key);
    if (v->type != RM_JSON_NUMBER)
        return rm_error("%s: \"%s\" is %s, expected a number", source, key, rm_json_type_name(v->type));
    *out = v->number;
    return 0;
}

int rm_json_get_array(const rm_json *obj, const char *key, const char *source, const rm_json **out)
{
    const rm_json *v = rm_json_get(obj, key);
    if (!v) return rm_error("%s: missing key \"%s\"", source, key);
    if (v->type != RM_JSON_ARRAY)
        return rm_error("%s: \"%s\" is %s, expected an array", source, key, rm_json_type_name(v->type));
    *out = v;
    return 0;
}

void rm_json_write_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

void rm_json_write_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.10g", v);
    else fputs("null", f);
}
