/* NPY reader: arrays saved with numpy.save. Format (numpy.lib.format): "\x93NUMPY", version major/minor, the
 * header length (uint16 LE for v1, uint32 LE for v2/v3), then a Python dict
 * literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, H, W), }
 * padded with spaces, then the C-order data. Images are uint8 or
 * little-endian float32/float64 ...; the ingester (ingest/npy_ingest.c)
 * streams images one record at a time; record indices in messages are
 * 0-based, like the array indices. */
#include "core/npy.h"

#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { NPY_MAX_HEADER = 1 << 20 };

typedef rm_npy_file npy_file;

/* --- header dict parsing --------------------------------------------------*/

typedef struct {
    const char *p;
    const char *path;
} hparse;

static void skip_ws(hparse *h)
{
    while (*h->p && isspace((unsigned char)*h->p)) h->p++;
}

static int malformed(const hparse *h, const char *what)
{
    return rm_error("%s: malformed NPY header: %s", h->path, what);
}

/* A quoted Python string without escapes (dtype strings never need them). */
static int parse_string(hparse *h, char *out, size_t cap)
{
    char quote = *h->p;
    if (quote != '\'' && quote != '"') return -1;
    const char *end = strchr(h->p + 1, quote);
    if (!end) return -1;
    size_t n = (size_t)(end - h->p - 1);
    if (out) {
        if (n >= cap) return -1;
        memcpy(out, h->p + 1, n);
        out[n] = 0;
    }
    h->p = end + 1;
    return 0;
}

static int parse_word(hparse *h, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(h->p, word, n) != 0 || isalnum((unsigned char)h->p[n]) || h->p[n] == '_')
        return -1;
    h->p += n;
    return 0;
}

/* "(a, b, c)" or "(a,)" or "()"; Python 2 longs ("28L") are accepted. */
static int parse_shape(hparse *h, size_t *shape, int *ndims)
{
    if (*h->p != '(') return -1;
    h->p++;
    *ndims = 0;
    for (;;) {
        skip_ws(h);
        if (*h->p == ')') break;
        if (!isdigit((unsigned char)*h->p) || *ndims == NPY_MAX_DIMS) return -1;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(h->p, &end, 10);
        if (errno || v > SIZE_MAX) {   /* -2: the message is recorded */
            rm_error("%s: malformed NPY header: 'shape' dimension %.*s does not fit in 64 bits", h->path,
                     (int)(end - h->p > 40 ? 40 : end - h->p), h->p);
            return -2;
        }
        shape[(*ndims)++] = (size_t)v;
        h->p = end;
        if (*h->p == 'L') h->p++;
        skip_ws(h);
        if (*h->p == ',') h->p++;
        else if (*h->p != ')') return -1;
    }
    h->p++;
    return 0;
}

/* Skips a value of a key we do not use: a string, word, number or tuple. */
static int skip_value(hparse *h)
{
    if (*h->p == '\'' || *h->p == '"') return parse_string(h, NULL, 0);
    if (*h->p == '(' || *h->p == '[') {
        int depth = 0;
        do {
            if (*h->p == '(' || *h->p == '[') depth++;
            else if (*h->p == ')' || *h->p == ']') depth--;
            else if (!*h->p) return -1;
            h->p++;
        } while (depth > 0);
        return 0;
    }
    const char *start = h->p;
    while (isalnum((unsigned char)*h->p) || *h->p == '_' || *h->p == '.' || *h->p == '-')
        h->p++;
    return h->p > start ? 0 : -1;
}

static int parse_header(npy_file *f, const char *text)
{
    hparse h = {text, f->path};
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    skip_ws(&h);
    if (*h.p != '{') return malformed(&h, "expected '{' at the start");
    h.p++;
    for (;;) {
        skip_ws(&h);
        if (*h.p == '}') break;
        char key[64];
        if (parse_string(&h, key, sizeof key) != 0)
            return malformed(&h, "expected a quoted key or '}'");
        skip_ws(&h);
        if (*h.p != ':') return malformed(&h, "expected ':' after a key");
        h.p++;
        skip_ws(&h);
        if (strcmp(key, "descr") == 0) {
            if (parse_string(&h, f->descr, sizeof f->descr) != 0)
                return malformed(&h, "'descr' must be a dtype string such as '<f4' "
                                     "(structured arrays are not supported)");
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(&h, "True") == 0) fortran = 1;
            else if (parse_word(&h, "False") == 0) fortran = 0;
            else return malformed(&h, "'fortran_order' must be True or False");
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            int rc = parse_shape(&h, f->shape, &f->ndims);
            if (rc == -2) return -1;
            if (rc != 0) return malformed(&h, "'shape' must be a tuple of at most 8 integers");
            have_shape = 1;
        } else if (skip_value(&h) != 0) {
            return malformed(&h, "cannot parse a value");
        }
        skip_ws(&h);
        if (*h.p == ',') h.p++;
        else if (*h.p != '}') return malformed(&h, "expected ',' or '}' after a value");
    }
    if (!have_descr) return malformed(&h, "expected 'descr' key");
    if (!have_order) return malformed(&h, "expected 'fortran_order' key");
    if (!have_shape) return malformed(&h, "expected 'shape' key");
    if (fortran)
        return rm_error("%s: Fortran-order arrays are not supported; save a C-order copy "
                        "(numpy.ascontiguousarray)", f->path);
    return 0;
}

/* Decodes descr into kind/itemsize: byte order '<' or '|' ('|' or '>' for
 * single bytes, where order does not matter). */
static int parse_descr(npy_file *f)
{
    const char *d = f->descr;
    char order = 0;
    if (*d == '<' || *d == '|' || *d == '>' || *d == '=') order = *d++;
    if (!*d || !strchr("uif", d[0]) || !isdigit((unsigned char)d[1])) return -1;
    char *end;
    long size = strtol(d + 1, &end, 10);
    if (*end || (size != 1 && size != 2 && size != 4 && size != 8)) return -1;
    if (size > 1 && order != '<') return -1;   /* big-endian or unspecified */
    f->kind = d[0];
    f->itemsize = (int)size;
    return 0;
}

static void npy_close(npy_file *f)
{
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
}

static int truncated(const npy_file *f, size_t record, size_t got)
{
    return rm_error("%s: truncated: record %zu of %zu needs %zu bytes, only %zu remain",
                    f->path, record, f->count, f->record_bytes, got);
}

/* Opens an NPY file and parses its header; the stream is left at the data. */
static int npy_open(npy_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    char *text = NULL;
    f->fp = fopen(path, "rb");
    if (!f->fp) return rm_error("%s: cannot open: %s", path, strerror(errno));

    uint8_t pre[12];
    size_t got = fread(pre, 1, 10, f->fp);
    if (got < 6) {
        rm_error("%s: not an NPY file (%zu bytes, too short for the magic)", path, got);
        goto fail;
    }
    if (memcmp(pre, "\x93NUMPY", 6) != 0) {
        char hex[2 * 6 + 1] = "";
        for (size_t i = 0; i < 6; i++) sprintf(hex + 2 * i, "%02X", pre[i]);
        rm_error("%s: not an NPY file (bad magic 0x%s, expected 0x934E554D5059)", path, hex);
        goto fail;
    }
    if (got < 10) goto short_header;
    size_t header_len, prefix = 10;
    if (pre[6] == 1) {
        header_len = pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f->fp) != 2) goto short_header;
        header_len = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                     (size_t)pre[11] << 24;
        prefix = 12;
    } else {
        rm_error("%s: unsupported NPY format version %d.%d (expected 1.0, 2.0 or 3.0)", path,
                 pre[6], pre[7]);
        goto fail;
    }
    if (header_len > NPY_MAX_HEADER) {
        rm_error("%s: NPY header length %zu exceeds the limit of %d bytes", path, header_len,
                 NPY_MAX_HEADER);
        goto fail;
    }
    if (!(text = rm_malloc(header_len + 1, "an NPY header"))) goto fail;
    if ((got = fread(text, 1, header_len, f->fp)) < header_len) {
        rm_error("%s: truncated NPY header: expected %zu bytes, got %zu", path, header_len, got);
        goto fail;
    }
    text[header_len] = 0;
    if (strlen(text) != header_len) {
        rm_error("%s: malformed NPY header: contains a NUL byte", path);
        goto fail;
    }
    if (parse_header(f, text) != 0) goto fail;
    free(text);
    text = NULL;
    if (parse_descr(f) != 0) {
        rm_error("%s: unsupported NPY dtype '%s'", path, f->descr);
        goto fail;
    }
    if (f->ndims < 1) {
        rm_error("%s: NPY array is a scalar, expected an array of records", path);
        goto fail;
    }
    f->count = f->shape[0];
    f->record_bytes = (size_t)f->itemsize;
    for (int i = 1; i < f->ndims; i++)
        if (rm_size_mul(&f->record_bytes, f->record_bytes, f->shape[i], SIZE_MAX,
                        "NPY record") != 0) {
            rm_error_prefix("%s", path);
            goto fail;
        }
    f->data_offset = prefix + header_len;
    if (rm_size_mul(&f->data_bytes, f->count, f->record_bytes, SIZE_MAX - f->data_offset,
                    "NPY data") != 0) {
        rm_error_prefix("%s", path);
        goto fail;
    }
    return 0;
short_header:
    rm_error("%s: truncated NPY header", path);
fail:
    free(text);
    npy_close(f);
    return -1;
}

/* Reports truncation before any work (regular files only). */
static int check_size(const npy_file *f)
{
    struct stat st;
    if (fstat(fileno(f->fp), &st) == 0 && S_ISREG(st.st_mode) && f->record_bytes > 0 &&
        (size_t)st.st_size < f->data_offset + f->data_bytes) {
        size_t have = (size_t)st.st_size - f->data_offset;
        return truncated(f, have / f->record_bytes, have % f->record_bytes);
    }
    return 0;
}

static int npy_read(npy_file *f, void *buf, size_t record)
{
    size_t got = fread(buf, 1, f->record_bytes, f->fp);
    if (got < f->record_bytes) {
        if (ferror(f->fp)) return rm_error("%s: read error: %s", f->path, strerror(errno));
        return truncated(f, record, got);
    }
    return 0;
}

static uint64_t load_le(const uint8_t *p, int size)
{
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Reads all labels (the file holds count x itemsize bytes, so the array is
 * bounded by the file's size). Values beyond int64 are clamped. */
static int read_labels(npy_file *f, int64_t **out)
{
    size_t bytes;
    RM_TRY(rm_size_mul(&bytes, f->count, sizeof **out, SIZE_MAX, "NPY labels"));
    int64_t *labels = rm_malloc(bytes, "NPY labels");
    uint8_t *raw = rm_malloc(f->record_bytes * 4096, "NPY labels");
    if (!labels || !raw) goto fail;
    for (size_t i = 0; i < f->count;) {
        size_t n = f->count - i < 4096 ? f->count - i : 4096;
        size_t got = fread(raw, f->record_bytes, n, f->fp);
        if (got < n) {
            truncated(f, i + got, 0);
            goto fail;
        }
        for (size_t k = 0; k < n; k++, i++) {
            uint64_t u = load_le(raw + k * f->record_bytes, f->itemsize);
            int bits = 8 * f->itemsize;
            if (f->kind == 'i') {
                if (bits < 64 && (u >> (bits - 1) & 1)) u |= ~(uint64_t)0 << bits;
                labels[i] = (int64_t)u;   /* two's complement */
            } else {
                labels[i] = u > INT64_MAX ? INT64_MAX : (int64_t)u;
            }
        }
    }
    free(raw);
    *out = labels;
    return 0;
fail:
    free(labels);
    free(raw);
    return -1;
}

/* --- the reader for other modules (npy.h) ---------------------------------*/

int rm_npy_open(rm_npy_file *f, const char *path)
{
    RM_TRY(npy_open(f, path));
    if (check_size(f) != 0) {
        npy_close(f);
        return -1;
    }
    return 0;
}

int rm_npy_open_header(rm_npy_file *f, const char *path) { return npy_open(f, path); }

int rm_npy_check_size(const rm_npy_file *f) { return check_size(f); }

int rm_npy_read_record(rm_npy_file *f, void *buf, size_t record) { return npy_read(f, buf, record); }

int rm_npy_read_ints(rm_npy_file *f, int64_t **out)
{
    if (f->kind == 'f')
        return rm_error("%s: expected an integer array, got dtype '%s'", f->path, f->descr);
    return read_labels(f, out);
}

double rm_npy_value(const rm_npy_file *f, const void *record, size_t i)
{
    const uint8_t *p = (const uint8_t *)record + i * (size_t)f->itemsize;
    uint64_t u = load_le(p, f->itemsize);
    if (f->kind == 'f') {
        if (f->itemsize == 4) {
            uint32_t u32 = (uint32_t)u;
            float x;
            memcpy(&x, &u32, sizeof x);
            return x;
        }
        double v;
        memcpy(&v, &u, sizeof v);
        return v;
    }
    if (f->kind == 'i' && f->itemsize < 8 && (u >> (8 * f->itemsize - 1) & 1)) u |= ~(uint64_t)0 << (8 * f->itemsize);
    return f->kind == 'i' ? (double)(int64_t)u : (double)u;
}

void rm_npy_close(rm_npy_file *f) { npy_close(f); }

void rm_npy_shape_text(const rm_npy_file *f, char *buf, size_t cap)
{
    size_t len;
    if (cap == 0) return;
    len = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < f->ndims && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", i ? ", " : "", f->shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, "%s)", f->ndims == 1 ? "," : "");
}

int rm_npy_read_floats(rm_npy_file *f, float *out, size_t count)
{
    if (f->kind != 'f' || (f->itemsize != 4 && f->itemsize != 8))
        return rm_error("%s: NPY dtype '%s', expected float32 ('<f4') or float64 ('<f8')", f->path, f->descr);
    if (count * (size_t)f->itemsize != f->data_bytes)
        return rm_error("%s: expected %zu elements, the NPY header declares %zu", f->path, count,
                        f->data_bytes / (size_t)f->itemsize);
    if (fseek(f->fp, (long)f->data_offset, SEEK_SET) != 0)
        return rm_error("%s: cannot seek to the data: %s", f->path, strerror(errno));
    double block[1024];   /* 8 KiB; float32 data uses it as bytes */
    size_t per_block = sizeof block / (size_t)f->itemsize, done = 0;
    while (done < count) {
        size_t want = count - done < per_block ? count - done : per_block;
        size_t got = fread(block, (size_t)f->itemsize, want, f->fp);
        if (got < want) {
            if (ferror(f->fp)) return rm_error("%s: read error: %s", f->path, strerror(errno));
            size_t bytes = (done + got) * (size_t)f->itemsize;
            return truncated(f, f->record_bytes ? bytes / f->record_bytes : 0,
                             f->record_bytes ? bytes % f->record_bytes : 0);
        }
        if (f->itemsize == 4) memcpy(out + done, block, got * sizeof(float));
        else
            for (size_t i = 0; i < got; i++) out[done + i] = (float)block[i];
        done += got;
    }
    return 0;
}
