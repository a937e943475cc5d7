/* Schema validation of the HDF5 readers: rm_dataset_open, rm_model_load
 * and rm_relevance_open (src/core/dataset_reader.c, src/nn/model_file.c,
 * src/core/relevance_file.c) and the reads that follow them. Fuzzing raw
 * HDF5 bytes would mostly exercise libhdf5, so the input is decoded into a
 * small, well-formed HDF5 file instead: which kind of file, its record
 * count and image shape, and for every attribute and dataset the readers
 * look at whether it exists, with the expected or another type, rank,
 * length and values (taken from the input). Declared sizes stay below
 * 2^16 records: far more than the data written (chunked storage, unwritten
 * chunks read as fill values), small enough that honouring them is not an
 * out-of-memory failure. */
#include "fuzz_common.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "nn/model_file.h"
#include "nn/netdef.h"
#include "core/relevance_file.h"

enum { MAX_WRITE = 1 << 14, HUGE_RECORDS = 1 << 16 };

typedef struct {
    const uint8_t *p;
    size_t n;
} reader;

static unsigned byte(reader *r)
{
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}

/* --- attributes ----------------------------------------------------------*/

static void attr_write(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims, hid_t mem,
                       const void *data)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0 && data) H5Awrite(a, mem, data);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

static void put_strings(hid_t loc, const char *name, int count, const char *const *values, int fixed, int scalar)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    hsize_t dims[1] = {(hsize_t)count};
    if (fixed) {
        size_t len = 1;
        for (int i = 0; i < count; i++)
            if (strlen(values[i]) + 1 > len) len = strlen(values[i]) + 1;
        H5Tset_size(t, len);
        char *buf = calloc((size_t)(count ? count : 1), len);
        for (int i = 0; i < count && buf; i++) memcpy(buf + (size_t)i * len, values[i], strlen(values[i]));
        attr_write(loc, name, t, scalar ? 0 : 1, dims, t, buf);
        free(buf);
    } else {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
        attr_write(loc, name, t, scalar ? 0 : 1, dims, t, values);
    }
    H5Tclose(t);
}

/* Bytes of the input as a short string (letters and digits of any value). */
static void fuzz_string(reader *r, char *out, size_t cap)
{
    size_t len = byte(r) % 24;
    if (len >= cap) len = cap - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned c = byte(r);
        out[i] = (char)(c ? c : 'x');
    }
    out[len] = 0;
}

/* A string attribute: absent, the expected value, other text, an integer,
 * an array of strings, fixed or variable length. */
static void put_string(reader *r, hid_t loc, const char *name, const char *expected)
{
    unsigned mode = byte(r) % 8;
    char other[32];
    const char *v[2] = {expected, expected};
    switch (mode) {
    case 0: return;
    case 5: fuzz_string(r, other, sizeof other); v[0] = other; break;
    case 6: {
        int64_t x = (int8_t)byte(r);
        attr_write(loc, name, H5T_STD_I64LE, 0, NULL, H5T_NATIVE_INT64, &x);
        return;
    }
    case 7: put_strings(loc, name, byte(r) % 3, v, byte(r) & 1, 0); return;
    default: break;
    }
    put_strings(loc, name, 1, v, mode == 4, mode != 3);
}

/* An integer attribute: absent, expected, another value, a string, a float,
 * an array. */
static void put_int(reader *r, hid_t loc, const char *name, int64_t expected)
{
    int64_t x[2] = {expected, expected};
    hsize_t two[1] = {2};
    switch (byte(r) % 8) {
    case 0: return;
    case 5: x[0] = (int8_t)byte(r); break;
    case 6: put_strings(loc, name, 1, (const char *const[]){"1"}, 0, 1); return;
    case 7: {
        unsigned m = byte(r) % 3;
        double d = (double)expected + 0.5;
        if (m == 0) attr_write(loc, name, H5T_IEEE_F64LE, 0, NULL, H5T_NATIVE_DOUBLE, &d);
        else attr_write(loc, name, H5T_STD_I64LE, 1, two, H5T_NATIVE_INT64, x);
        return;
    }
    default: break;
    }
    attr_write(loc, name, byte(r) & 1 ? H5T_STD_I32LE : H5T_STD_I64LE, 0, NULL, H5T_NATIVE_INT64, x);
}

/* A float vector attribute of `count` values (or another count / type). */
static void put_doubles(reader *r, hid_t loc, const char *name, int count)
{
    double v[8];
    unsigned mode = byte(r) % 6;
    if (mode == 0) return;
    if (mode == 4) count = (int)(byte(r) % 5);
    if (count > 8) count = 8;
    for (int i = 0; i < count; i++) v[i] = (int8_t)byte(r) / 16.0;
    hsize_t dims[1] = {(hsize_t)count};
    if (mode == 5) put_strings(loc, name, 1, (const char *const[]){"0.5"}, 0, 1);
    else attr_write(loc, name, H5T_IEEE_F32LE, count == 1 && (mode & 1) ? 0 : 1, dims, H5T_NATIVE_DOUBLE, v);
}

static void put_class_names(reader *r, hid_t loc, int expected)
{
    static const char *const names[] = {"angry", "happy", "", "sad", "a very long class name", "x", "y", "z"};
    unsigned mode = byte(r) % 6;
    int count = expected > 8 ? 8 : expected;
    if (mode == 0) return;
    if (mode == 4) count = (int)(byte(r) % 9);
    if (mode == 5) {
        int64_t x = 3;
        attr_write(loc, "class_names", H5T_STD_I64LE, 0, NULL, H5T_NATIVE_INT64, &x);
        return;
    }
    put_strings(loc, "class_names", count, names, mode == 3, 0);
}

/* --- datasets ------------------------------------------------------------*/

static const hid_t *file_types(void)
{
    static hid_t t[6];
    t[0] = H5T_STD_U8LE, t[1] = H5T_STD_I32LE, t[2] = H5T_STD_I64LE;
    t[3] = H5T_IEEE_F32LE, t[4] = H5T_IEEE_F64LE, t[5] = H5T_STD_I8LE;
    return t;
}

/* A dataset of the expected rank and type (dims as given, values from the
 * input), or absent, or of another type or rank, or declared with
 * HUGE_RECORDS records of which only the first chunk is written. */
static void put_dataset(reader *r, hid_t loc, const char *name, hid_t type, int rank, const hsize_t *want)
{
    hsize_t dims[4], maxd[4], chunk[4];
    unsigned mode = byte(r) % 12;
    if (mode == 0) return;
    for (int i = 0; i < rank; i++) dims[i] = want[i];
    if (mode == 9) type = file_types()[byte(r) % 6];
    if (mode == 10) {
        rank = (int)(byte(r) % 5);
        for (int i = 0; i < rank; i++) dims[i] = byte(r) % 4;
    }
    if (mode == 11 && rank > 0) dims[0] = byte(r) & 1 ? HUGE_RECORDS : dims[0] + 1 + byte(r) % 3;
    hsize_t total = 1;
    for (int i = 0; i < rank; i++) {
        total *= dims[i];
        maxd[i] = H5S_UNLIMITED;
        chunk[i] = dims[i] ? (dims[i] > 64 ? 64 : dims[i]) : 1;
    }
    hid_t sp = rank ? H5Screate_simple(rank, dims, maxd) : H5Screate(H5S_SCALAR);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    if (rank) H5Pset_chunk(pl, rank, chunk);
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    if (d >= 0 && total <= MAX_WRITE) {
        signed char *v = malloc(total ? (size_t)total : 1);
        for (hsize_t i = 0; v && i < total; i++) v[i] = (signed char)byte(r);
        if (v) H5Dwrite(d, H5T_NATIVE_SCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        free(v);
    }
    if (d >= 0) H5Dclose(d);
    H5Pclose(pl);
    H5Sclose(sp);
}

/* --- the three file kinds ------------------------------------------------*/

typedef struct {
    hsize_t n, c, h, w;
    int classes;
} shape;

static void make_dataset_file(reader *r, hid_t f, const shape *s)
{
    put_string(r, f, "schema", RM_DATASET_SCHEMA);
    put_int(r, f, "schema_version", RM_DATASET_SCHEMA_VERSION);
    put_class_names(r, f, s->classes);
    hsize_t d4[4] = {s->n, s->c, s->h, s->w}, d3[3] = {s->n, s->h, s->w}, d1[1] = {s->n};
    put_dataset(r, f, "images", H5T_STD_U8LE, 4, d4);
    put_dataset(r, f, "labels", H5T_STD_I32LE, 1, d1);
    put_dataset(r, f, "split", H5T_STD_U8LE, 1, d1);
    put_dataset(r, f, "regions", H5T_STD_U8LE, 3, d3);
    put_dataset(r, f, "encoded", H5T_STD_U8LE, 1, d1);
    put_string(r, f, "provenance", "ingest");
}

static void check_dataset_file(const char *path)
{
    rm_dataset ds;
    if (rm_dataset_open(&ds, path) != 0) return;
    size_t n = ds.count < 64 ? ds.count : 64, rec = (size_t)ds.channels * ds.height * ds.width;
    uint8_t *buf = malloc(n * rec + 1);
    if (buf) {
        rm_dataset_read_images(&ds, 0, n, buf);
        if (ds.has_regions) rm_dataset_read_regions(&ds, 0, n, buf);
    }
    free(buf);
    char *attr;
    if (rm_dataset_read_attr(&ds, "provenance", &attr) == 0) free(attr);
    int64_t flagged, total;
    int present;
    rm_dataset_count_flags(&ds, "encoded", -1, &flagged, &total, &present);
    rm_dataset_count_flags(&ds, "encoded", RM_SPLIT_TEST, &flagged, &total, &present);
    char fp[17];
    if (ds.count <= 4096) {
        rm_dataset_content_fingerprint(&ds, fp);
        rm_dataset_check_same_records(&ds, &ds, 1);
    }
    rm_dataset_close(&ds);
}

static void make_model_file(reader *r, hid_t f, const shape *s)
{
    char text[512];
    snprintf(text, sizeof text,
             "[net]\ninput = %dx%dx%d\nclasses = %d\n[conv]\nfilters = 2\nsize = 1\nactivation = relu\n"
             "[batchnorm]\n[dense]\nunits = %d\n",
             (int)s->c, (int)s->h, (int)s->w, s->classes, s->classes);
    unsigned mode = byte(r) % 8;
    if (mode == 7) fuzz_string(r, text, sizeof text);
    if (mode != 0) put_strings(f, "net_text", 1, (const char *const[]){text}, mode == 6, 1);
    put_string(r, f, "schema", RM_MODEL_SCHEMA);
    put_int(r, f, "schema_version", RM_MODEL_SCHEMA_VERSION);
    put_class_names(r, f, s->classes);
    put_doubles(r, f, "normalization_mean", (int)s->c);
    put_doubles(r, f, "normalization_std", (int)s->c);
    put_string(r, f, "training_parameters", "epochs=1");
    put_string(r, f, "dataset_path", "data.h5");
    put_string(r, f, "dataset_fingerprint", "0123456789abcdef");
    put_int(r, f, "best_epoch", 1);
    put_doubles(r, f, "best_val_accuracy", 1);
    /* The parameters the definition implies, under /params/<layer>/. */
    rm_netdef def;
    if (rm_netdef_parse(&def, text, "fuzz") == 0) {
        hid_t params = H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        for (int i = 0; i < def.num_layers; i++) {
            const rm_layer_def *L = &def.layers[i];
            const char *names[4] = {"weight", "bias", "running_mean", "running_var"};
            hsize_t counts[4];
            int k = 0;
            if (L->type == RM_LAYER_CONV) {
                counts[k++] = (hsize_t)L->filters * L->in.c * L->size * L->size;
                if (L->bias) counts[k++] = (hsize_t)L->filters;
            } else if (L->type == RM_LAYER_DENSE) {
                counts[k++] = (hsize_t)L->units * L->in.c * L->in.h * L->in.w;
                if (L->bias) counts[k++] = (hsize_t)L->units;
            } else if (L->type == RM_LAYER_BATCHNORM) {
                names[0] = "gamma", names[1] = "beta";
                for (; k < 4; k++) counts[k] = (hsize_t)L->in.c;
            }
            if (!k) continue;
            hid_t g = H5Gcreate2(params, L->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            for (int j = 0; j < k; j++) put_dataset(r, g, names[j], H5T_IEEE_F32LE, 1, &counts[j]);
            H5Gclose(g);
        }
        H5Gclose(params);
        rm_netdef_free(&def);
    }
    if (byte(r) % 4 == 0) return;
    static const char *const hist[] = {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                       "seconds", "learning_rate", "encoded_share"};
    hsize_t epochs[1] = {byte(r) % 4};
    hid_t g = H5Gcreate2(f, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (int k = 0; k < 8; k++) put_dataset(r, g, hist[k], H5T_IEEE_F64LE, 1, epochs);
    H5Gclose(g);
}

static void check_model_file(const char *path)
{
    rm_model m;
    if (rm_model_load(&m, path) != 0) return;
    char fp[17];
    rm_model_fingerprint(fp, &m);
    rm_model_free(&m);
}

static void make_relevance_file(reader *r, hid_t f, const shape *s)
{
    put_string(r, f, "schema", RM_RELEVANCE_SCHEMA);
    put_int(r, f, "schema_version", RM_RELEVANCE_SCHEMA_VERSION);
    put_int(r, f, "channels", (int64_t)s->c);
    put_int(r, f, "records_done", (int64_t)s->n);
    put_class_names(r, f, s->classes);
    put_string(r, f, "method", "lrp");
    put_string(r, f, "score_kind", "logit");
    put_string(r, f, "parameters", "composite=epsilon");
    put_string(r, f, "dataset_path", "data.h5");
    put_string(r, f, "dataset_fingerprint", "0123456789abcdef");
    hsize_t d3[3] = {s->n, s->h, s->w}, d4[4] = {s->n, s->c, s->h, s->w}, d1[1] = {s->n};
    put_dataset(r, f, "heatmap", H5T_IEEE_F32LE, 3, d3);
    put_dataset(r, f, "relevance", H5T_IEEE_F32LE, 4, d4);
    static const char *const vectors[] = {"index", "label", "explained", "predicted", "score", "sum"};
    const hid_t types[] = {H5T_STD_I64LE, H5T_STD_I32LE, H5T_STD_I32LE, H5T_STD_I32LE, H5T_IEEE_F32LE,
                           H5T_IEEE_F32LE};
    for (int v = 0; v < 6; v++) put_dataset(r, f, vectors[v], types[v], 1, d1);
}

static void check_relevance_file(const char *path, int64_t dataset_count)
{
    rm_relevance rel;
    if (rm_relevance_open(&rel, path) != 0) return;
    int64_t n = rel.count < 64 ? rel.count : 64;
    size_t hw = (size_t)rel.height * rel.width;
    float *buf = malloc((size_t)n * hw * (size_t)rel.channels * sizeof *buf + 1);
    if (buf) {
        rm_relevance_read_heatmaps(&rel, 0, n, buf);
        rm_relevance_read_heatmaps(&rel, rel.count - 1, 1, buf);
        if (rel.has_channels) rm_relevance_read_channels(&rel, 0, n, buf);
    }
    free(buf);
    int64_t *map = malloc((size_t)dataset_count * sizeof *map + 1);
    int32_t *labels = calloc((size_t)dataset_count + 1, sizeof *labels);
    if (map) rm_relevance_index_map(&rel, dataset_count, map);
    if (labels) rm_relevance_check_dataset(&rel, "data.h5", dataset_count, rel.height, rel.width, labels);
    free(map);
    free(labels);
    char *attr;
    if (rm_relevance_read_attr(&rel, "method", &attr) == 0) free(attr);
    rm_relevance_close(&rel);
}

int fuzz_h5schema(const uint8_t *data, size_t size);
int fuzz_h5schema(const uint8_t *data, size_t size)
{
    fuzz_init();
    reader r = {data, size};
    unsigned kind = byte(&r) % 3;
    shape s = {.n = 1 + byte(&r) % 6, .c = 1 + byte(&r) % 4, .h = 1 + byte(&r) % 6, .w = 1 + byte(&r) % 6,
               .classes = 1 + (int)(byte(&r) % 8)};
    static char path[300];
    if (!path[0]) snprintf(path, sizeof path, "%s/schema.h5", fuzz_dir());
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) abort();
    if (kind == 0) make_dataset_file(&r, f, &s);
    else if (kind == 1) make_model_file(&r, f, &s);
    else make_relevance_file(&r, f, &s);
    H5Fclose(f);
    if (kind == 0) check_dataset_file(path);
    else if (kind == 1) check_model_file(path);
    else check_relevance_file(path, (int64_t)(byte(&r) % 8));
    return 0;
}
FUZZ_TARGET(h5schema)
