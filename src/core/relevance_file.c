#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5_hl.h>
#ifdef RELMASK_MPI
#include <mpi.h>
#endif

#include "core/error.h"
#include "core/h5util.h"
#include "core/output.h"
#include "core/ranks.h"
#include "core/relevance_file.h"
#include "core/version.h"

enum { CHUNK_RECORDS = 64, CHUNK_BYTES_MAX = 1 << 20, VECTOR_CHUNK = 4096 };

typedef struct { char *name, *value; } attr_kv;

/* Per-record vectors, in file order. */
enum { V_INDEX, V_LABEL, V_EXPLAINED, V_PREDICTED, V_SCORE, V_SUM, NUM_VECTORS };
static const char *const vector_names[NUM_VECTORS] = {"index", "label", "explained", "predicted", "score", "sum"};

struct rm_relevance_writer {
    rm_output out;             /* rank 0's; another rank's holds the paths only */
    int lock_fd;               /* holds an exclusive flock on the partial file */
    int shared;                /* every MPI rank writes (parallel HDF5) */
    int owner;                 /* this process checks, locks and renames the output (rank 0) */
    hid_t file, heatmap, heatmap_image, channels_d, vectors[NUM_VECTORS];
    hid_t xfer;                /* raw data transfer: collective when shared */
    int64_t count, done;
    int channels, height, width, store_channels;
    int num_classes;
    char **class_names;
    uint8_t *image_buf;        /* [capacity,H,W] */
    float *sum_buf;            /* [capacity] */
    int64_t capacity;
    attr_kv *attrs;
    int num_attrs;
};

static hid_t vector_file_type(int v)
{
    switch (v) {
    case V_INDEX: return H5T_STD_I64LE;
    case V_SCORE: case V_SUM: return H5T_IEEE_F32LE;
    default: return H5T_STD_I32LE;
    }
}

static hid_t vector_mem_type(int v)
{
    switch (v) {
    case V_INDEX: return H5T_NATIVE_INT64;
    case V_SCORE: case V_SUM: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_INT32;
    }
}

void rm_relevance_palette(uint8_t rgb[256 * 3])
{
    for (int i = 0; i < 256; i++) {
        double t = (i - 128) / 127.0;   /* -1.008 .. 1: blue, white at 128, red */
        if (t < -1) t = -1;
        double r, g, b;
        if (t < 0) {
            r = g = 1 + t;
            b = 1;
        } else {
            r = 1;
            g = b = 1 - t;
        }
        rgb[3 * i] = (uint8_t)lround(255 * r);
        rgb[3 * i + 1] = (uint8_t)lround(255 * g);
        rgb[3 * i + 2] = (uint8_t)lround(255 * b);
    }
}

void rm_relevance_to_index_image(const float *heat, int64_t hw, uint8_t *out)
{
    float peak = 0;
    for (int64_t i = 0; i < hw; i++) peak = fmaxf(peak, fabsf(heat[i]));
    for (int64_t i = 0; i < hw; i++) {
        long v = peak > 0 ? lround(128.0 + 127.0 * heat[i] / peak) : 128;
        out[i] = (uint8_t)(v < 1 ? 1 : v > 255 ? 255 : v);
    }
}

static void close_handles(rm_relevance_writer *w)
{
    if (w->heatmap > 0) H5Dclose(w->heatmap);
    if (w->heatmap_image > 0) H5Dclose(w->heatmap_image);
    if (w->channels_d > 0) H5Dclose(w->channels_d);
    for (int v = 0; v < NUM_VECTORS; v++)
        if (w->vectors[v] > 0) H5Dclose(w->vectors[v]);
    if (w->file > 0) H5Fclose(w->file);
    w->heatmap = w->heatmap_image = w->channels_d = w->file = -1;
    for (int v = 0; v < NUM_VECTORS; v++) w->vectors[v] = -1;
}

/* Gives the output up: rank 0 removes the partial file (or keeps it for
 * --resume); another rank only forgets the paths it was told. */
static void release_output(rm_relevance_writer *w, int remove)
{
    if (w->owner && remove) rm_output_abort(&w->out);
    else rm_output_keep(&w->out);
}

static void writer_free(rm_relevance_writer *w)
{
    close_handles(w);
    if (w->xfer > 0) H5Pclose(w->xfer);
    if (w->lock_fd >= 0) close(w->lock_fd);
    for (int i = 0; i < w->num_classes; i++) free(w->class_names ? w->class_names[i] : NULL);
    free(w->class_names);
    for (int i = 0; i < w->num_attrs; i++) {
        free(w->attrs[i].name);
        free(w->attrs[i].value);
    }
    free(w->attrs);
    free(w->image_buf);
    free(w->sum_buf);
    free(w);
}

static int validate_spec(const rm_relevance_spec *s)
{
    if (s->count < 1) return rm_error("relevance file: %lld records, expected at least 1", (long long)s->count);
    if (s->channels < 1 || s->channels > 4)
        return rm_error("relevance file: %d channels, expected 1..4", s->channels);
    if (s->height < 1 || s->width < 1 || s->height > 4096 || s->width > 4096)
        return rm_error("relevance file: image size %dx%d outside 1..4096", s->width, s->height);
    if (s->num_classes < 1) return rm_error("relevance file: no class names");
    for (int i = 0; i < s->num_classes; i++)
        if (!s->class_names || !s->class_names[i]) return rm_error("relevance file: class %d has no name", i);
    if (!s->method || !*s->method) return rm_error("relevance file: no method named");
    return 0;
}

static hsize_t chunk_rows(size_t record_bytes, int64_t count)
{
    hsize_t rows = CHUNK_RECORDS;
    while (rows > 1 && rows * record_bytes > CHUNK_BYTES_MAX) rows /= 2;
    return rows > (hsize_t)count ? (hsize_t)count : rows;
}

static hid_t create_fixed(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims,
                          size_t elem_size, int deflate, const char *const *axes)
{
    hsize_t chunk[4];
    size_t record = elem_size;
    for (int i = 1; i < rank; i++) {
        chunk[i] = dims[i];
        record *= dims[i];
    }
    chunk[0] = rank == 1 ? (dims[0] < VECTOR_CHUNK ? dims[0] : VECTOR_CHUNK) : chunk_rows(record, (int64_t)dims[0]);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    if (deflate > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)deflate);
    }
    H5Pset_fletcher32(dcpl);   /* --resume detects chunks a kill -9 left inconsistent */
    hid_t d = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (d < 0) {
        rm_h5_error("creating /%s", name);
        return -1;
    }
    for (int i = 0; i < rank; i++)
        if (H5DSset_label(d, (unsigned)i, axes[i]) < 0) {
            H5Dclose(d);
            rm_h5_error("labelling /%s", name);
            return -1;
        }
    return d;
}

static int create_layout(rm_relevance_writer *w, const rm_relevance_spec *spec)
{
    hid_t f = w->file;
    int deflate = spec->deflate_level < 0 ? 0 : spec->deflate_level > 9 ? 9 : spec->deflate_level;
    static const char *const axes3[3] = {"N", "H", "W"}, *const axes4[4] = {"N", "C", "H", "W"},
                             *const axes1[1] = {"N"};
    hsize_t d3[3] = {(hsize_t)w->count, (hsize_t)w->height, (hsize_t)w->width};
    hsize_t d4[4] = {(hsize_t)w->count, (hsize_t)w->channels, (hsize_t)w->height, (hsize_t)w->width};
    hsize_t d1[1] = {(hsize_t)w->count};
    if ((w->heatmap = create_fixed(f, "heatmap", H5T_IEEE_F32LE, 3, d3, 4, deflate, axes3)) < 0) return -1;
    if ((w->heatmap_image = create_fixed(f, "heatmap_image", H5T_STD_U8LE, 3, d3, 1, deflate, axes3)) < 0)
        return -1;
    if (w->store_channels &&
        (w->channels_d = create_fixed(f, "relevance", H5T_IEEE_F32LE, 4, d4, 4, deflate, axes4)) < 0)
        return -1;
    for (int v = 0; v < NUM_VECTORS; v++)
        if ((w->vectors[v] = create_fixed(f, vector_names[v], vector_file_type(v), 1, d1, 8, deflate, axes1)) < 0)
            return -1;
    RM_TRY(rm_h5_attr_set_string(w->heatmap, "description",
                                 "relevance summed over input channels; positive = evidence for the explained class"));
    uint8_t palette[256 * 3];
    rm_relevance_palette(palette);
    hsize_t pal_dims[2] = {256, 3};
    if (H5IMmake_palette(f, "palette", pal_dims, palette) < 0) return rm_h5_error("writing /palette");
    RM_TRY(rm_h5_attr_set_fixed_string(w->heatmap_image, "CLASS", "IMAGE"));
    RM_TRY(rm_h5_attr_set_fixed_string(w->heatmap_image, "IMAGE_VERSION", "1.2"));
    RM_TRY(rm_h5_attr_set_fixed_string(w->heatmap_image, "IMAGE_SUBCLASS", "IMAGE_INDEXED"));
    if (H5IMlink_palette(f, "heatmap_image", "palette") < 0) return rm_h5_error("linking /palette");
    RM_TRY(rm_h5_attr_set_string(w->heatmap_image, "description",
                                 "128 + 127 heatmap / max|heatmap| per image; blue negative, white zero, red positive"));
    RM_TRY(rm_h5_attr_set_string(f, "schema", RM_RELEVANCE_SCHEMA));
    RM_TRY(rm_h5_attr_set_int(f, "schema_version", RM_RELEVANCE_SCHEMA_VERSION));
    RM_TRY(rm_h5_attr_set_string(f, "method", spec->method));
    RM_TRY(rm_h5_attr_set_string(f, "score_kind", spec->score_kind ? spec->score_kind : "none"));
    RM_TRY(rm_h5_attr_set_string(f, "parameters", spec->parameters ? spec->parameters : ""));
    RM_TRY(rm_h5_attr_set_int(f, "channels", w->channels));
    RM_TRY(rm_h5_attr_set_int(f, "records_done", 0));
    return 0;
}

/* The value of `key` in a "key=value\n" list, NULL if absent; *len: its
 * length. */
static const char *param_value(const char *list, const char *key, size_t key_len, size_t *len)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, '\n'), *eq = strchr(p, '=');
        if (!end) end = p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) == key_len && !strncmp(p, key, key_len)) {
            *len = (size_t)(end - eq - 1);
            return eq + 1;
        }
        p = *end ? end + 1 : end;
    }
    return NULL;
}

/* Appends "key: OLD in the partial file, NEW now" for each key of `list`
 * whose value in `other` differs (or is absent); `reverse`: list holds the
 * settings of now, for the keys only the run of now has. */
static void describe_changes(const char *list, const char *other, int reverse, char *buf, size_t size, int *shown,
                             int *more)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, '\n'), *eq = strchr(p, '=');
        if (!end) end = p + strlen(p);
        if (eq && eq < end) {
            size_t key_len = (size_t)(eq - p), vlen = (size_t)(end - eq - 1), olen = 0;
            const char *o = param_value(other, p, key_len, &olen);
            int differs = reverse ? !o : !o || olen != vlen || strncmp(o, eq + 1, vlen) != 0;
            if (differs && *shown >= 8) ++*more;
            else if (differs) {
                /* Absent on one side: "(none)". */
                const char *was = reverse ? "(none)" : eq + 1, *now = reverse ? eq + 1 : o ? o : "(none)";
                int was_len = reverse ? 6 : (int)vlen, now_len = reverse ? (int)vlen : o ? (int)olen : 6;
                size_t at = strlen(buf);
                snprintf(buf + at, size - at, "\n  %.*s: %.*s in the partial file, %.*s now", (int)key_len, p, was_len,
                         was, now_len, now);
                ++*shown;
            }
        }
        p = *end ? end + 1 : end;
    }
}

/* A partial file can be continued when it was started with the same spec:
 * 0 yes, 1 started with other settings, -1 damaged (rm_error set). */
static int partial_matches(hid_t f, const rm_relevance_spec *spec, const char *partial, int64_t *done)
{
    char *schema = NULL, *method = NULL, *params = NULL;
    int64_t channels = 0;
    int rc = 0;
    if (rm_h5_attr_get_string(f, "schema", &schema) != 0 || strcmp(schema, RM_RELEVANCE_SCHEMA) != 0 ||
        rm_h5_attr_get_string(f, "method", &method) != 0 ||
        rm_h5_attr_get_string(f, "parameters", &params) != 0 || rm_h5_attr_get_int(f, "channels", &channels) != 0 ||
        rm_h5_attr_get_int(f, "records_done", done) != 0)
        rc = rm_error("%s: not a partial relevance file", partial);
    else if (strcmp(method, spec->method) != 0 || strcmp(params, spec->parameters ? spec->parameters : "") != 0) {
        /* Only the settings that differ, not the whole list. */
        const char *now = spec->parameters ? spec->parameters : "";
        char changes[1500] = "";
        int shown = 0, more = 0;
        size_t unused;
        if (strcmp(method, spec->method) != 0 && !param_value(params, "method", 6, &unused))
            snprintf(changes, sizeof changes, "\n  method: %s in the partial file, %s now", method, spec->method),
                shown++;
        describe_changes(params, now, 0, changes, sizeof changes, &shown, &more);
        describe_changes(now, params, 1, changes, sizeof changes, &shown, &more);
        if (more) {
            size_t at = strlen(changes);
            snprintf(changes + at, sizeof changes - at, "\n  and %d more", more);
        }
        rm_error("%s was started with other settings:%s", partial, changes);
        rc = 1;
    }
    else {
        hid_t d = H5Dopen2(f, "heatmap", H5P_DEFAULT);
        hsize_t dims[3] = {0, 0, 0};
        if (d >= 0) {
            hid_t s = H5Dget_space(d);
            H5Sget_simple_extent_dims(s, dims, NULL);
            H5Sclose(s);
            H5Dclose(d);
        }
        int has_channels = H5Lexists(f, "relevance", H5P_DEFAULT) > 0;
        if (dims[0] != (hsize_t)spec->count || dims[1] != (hsize_t)spec->height || dims[2] != (hsize_t)spec->width ||
            channels != spec->channels || has_channels != (spec->store_channels != 0)) {
            rm_error("%s holds another record count or shape", partial);
            rc = 1;
        }
        else if (*done < 0 || *done > spec->count)
            rc = rm_error("%s: records_done %lld outside 0..%lld", partial, (long long)*done, (long long)spec->count);
    }
    free(schema);
    free(method);
    free(params);
    return rc;
}

/* Whether every chunk holding rows [0, done) is in the file: a flush cut
 * short can write records_done but not the index entry of a chunk it
 * allocated, whose rows would then read back as zeros. */
static int chunks_present(hid_t d, int64_t done)
{
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk[4] = {0, 0, 0, 0};
    int ok = dcpl >= 0 && H5Pget_chunk(dcpl, 4, chunk) >= 1 && chunk[0] > 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    for (hsize_t at = 0; ok && at < (hsize_t)done; at += chunk[0]) {
        hsize_t offset[4] = {at, 0, 0, 0}, size = 0;
        haddr_t addr = HADDR_UNDEF;
        unsigned mask = 0;
        ok = H5Dget_chunk_info_by_coord(d, offset, &mask, &addr, &size) >= 0 && addr != HADDR_UNDEF && size > 0;
    }
    return ok ? 0 : -1;
}

/* Reads rows [0, done) of a dataset back, a chunk's worth at a time. A
 * kill -9 during a flush can leave a chunk index pointing at file space that
 * the same flush handed to another chunk; the datasets then open but their
 * data fail to inflate or checksum, and --resume must not build on them. */
static int rows_readable(hid_t d, int64_t done)
{
    if (chunks_present(d, done) != 0) return -1;
    hid_t space = H5Dget_space(d), ftype = H5Dget_type(d);
    hid_t mtype = ftype < 0 ? -1 : H5Tget_native_type(ftype, H5T_DIR_ASCEND);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[4], count[4], start[4] = {0, 0, 0, 0};
    int ok = space >= 0 && mtype >= 0 && rank >= 1 && rank <= 4 && H5Sget_simple_extent_dims(space, dims, NULL) >= 0;
    size_t record = ok ? H5Tget_size(mtype) : 0;
    for (int i = 1; ok && i < rank; i++) record *= dims[i];
    hsize_t rows = ok ? chunk_rows(record, done > 0 ? done : 1) : 0;
    void *buf = ok ? malloc(record * rows) : NULL;
    ok = ok && buf;
    for (int64_t at = 0; ok && at < done; at += (int64_t)rows) {
        for (int i = 1; i < rank; i++) count[i] = dims[i];
        start[0] = (hsize_t)at;
        count[0] = (hsize_t)(done - at) < rows ? (hsize_t)(done - at) : rows;
        hid_t mem = H5Screate_simple(rank, count, NULL);
        ok = H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             H5Dread(d, mtype, mem, space, H5P_DEFAULT, buf) >= 0;
        H5Sclose(mem);
    }
    free(buf);
    if (mtype >= 0) H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    if (space >= 0) H5Sclose(space);
    return ok ? 0 : -1;
}

/* The partial file is locked by the writer itself (lock_fd) from before it
 * is opened or truncated until it is renamed or removed, so HDF5's own lock,
 * which would conflict with that one, is off for it. */
static hid_t unlocked_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    return fapl;
}

/* The partial file's access: unlocked, and through MPI-IO on every rank
 * when parallel. */
static hid_t partial_fapl(int parallel)
{
    hid_t fapl = unlocked_fapl();
#ifdef RELMASK_MPI
    if (parallel) H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
#endif
    return fapl;
}

/* A second process writing the same output would truncate or remove the
 * first one's partial file: take it exclusively, or stop. */
static int lock_partial(rm_relevance_writer *w, const char *path)
{
    const char *partial = w->out.tmp_path;
    w->lock_fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->lock_fd < 0) return rm_error("%s: cannot create %s: %s", path, partial, strerror(errno));
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return rm_error("%s: another process is writing it (its partial file %s is locked); let it finish "
                            "or stop it first", path, partial);
        return rm_error("%s: cannot lock %s: %s", path, partial, strerror(errno));
    }
    return 0;
}

/* 0 on every rank, or the same failure on every rank: the first failing
 * rank's rc (1: the partial file has other settings, -1 otherwise). */
static int agree_rc(const rm_relevance_writer *w, int rc)
{
    if (!w->shared) return rc;
    int any_settings = rm_ranks_max(rc > 0);
    if (rm_ranks_agree(rc != 0 ? -1 : 0) == 0) return 0;
    return any_settings ? 1 : -1;
}

/* Opens the partial file and its datasets into w (every rank when
 * parallel); with `verify`, first checks that it was started with this spec
 * and that its first *done rows read back. */
static int open_partial(rm_relevance_writer *w, const rm_relevance_spec *spec, int parallel, int verify,
                        int64_t *done)
{
    const char *partial = w->out.tmp_path;
    hid_t fapl = partial_fapl(parallel);
    w->file = H5Fopen(partial, verify ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (w->file < 0) return rm_h5_error("%s: cannot open the partial file", partial);
    if (verify) {
        int match = partial_matches(w->file, spec, partial, done);
        if (match != 0) return match;
    }
    if ((w->heatmap = H5Dopen2(w->file, "heatmap", H5P_DEFAULT)) < 0 ||
        (w->heatmap_image = H5Dopen2(w->file, "heatmap_image", H5P_DEFAULT)) < 0 ||
        (w->store_channels && (w->channels_d = H5Dopen2(w->file, "relevance", H5P_DEFAULT)) < 0))
        return rm_h5_error("%s: damaged partial file", partial);
    for (int v = 0; v < NUM_VECTORS; v++)
        if ((w->vectors[v] = H5Dopen2(w->file, vector_names[v], H5P_DEFAULT)) < 0)
            return rm_h5_error("%s: damaged partial file (/%s)", partial, vector_names[v]);
    hid_t all[3 + NUM_VECTORS] = {w->heatmap, w->heatmap_image, w->channels_d};
    for (int v = 0; v < NUM_VECTORS; v++) all[3 + v] = w->vectors[v];
    for (int i = 0; verify && i < 3 + NUM_VECTORS; i++)
        if (all[i] > 0 && rows_readable(all[i], *done) != 0)
            return rm_h5_error("%s: damaged partial file (records 0..%lld do not read back)", partial,
                               (long long)*done - 1);
    return 0;
}

/* The partial file, checked (a mismatch: 1, damage: -1), then opened for
 * writing. Parallel HDF5 1.10 fails collective writes into filtered chunks
 * that the same handle has read, so the rows are read back through a
 * read-only handle of rank 0's own, closed before every rank opens the file
 * to write. */
static int reopen_partial(rm_relevance_writer *w, const rm_relevance_spec *spec, int64_t *done)
{
    int rc = w->owner ? open_partial(w, spec, 0, 1, done) : 0;
    close_handles(w);
    if ((rc = agree_rc(w, rc)) != 0) return rc;
    RM_TRY(rm_ranks_broadcast(done, sizeof *done));
    return agree_rc(w, open_partial(w, spec, w->shared, 0, done));
}

/* The records an interrupted run left in a partial file and the count it
 * was making; 0 when it holds none or cannot be read (nothing to lose). */
static int64_t partial_progress(const char *partial, int64_t *count)
{
    *count = 0;
    hid_t fapl = unlocked_fapl();
    hid_t f = H5Fopen(partial, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0) return 0;
    int64_t done = 0;
    hsize_t dims[3] = {0, 0, 0};
    hid_t d = H5Dopen2(f, "heatmap", H5P_DEFAULT);
    if (d >= 0) {
        hid_t s = H5Dget_space(d);
        if (s >= 0 && H5Sget_simple_extent_ndims(s) == 3) H5Sget_simple_extent_dims(s, dims, NULL);
        if (s >= 0) H5Sclose(s);
        H5Dclose(d);
    }
    if (rm_h5_attr_get_int(f, "records_done", &done) != 0) done = 0;
    H5Fclose(f);
    rm_error_clear();
    *count = (int64_t)dims[0];
    return done > 0 ? done : 0;
}

/* Rank 0's part of opening (the only part without sharing): the output
 * checks, the lock, and whether a partial file can be resumed (*resume_it).
 * On failure the output is forgotten, its partial file kept. */
static int claim_output(rm_relevance_writer *w, const char *path, int force, int resume, int *resume_it)
{
    *resume_it = 0;
    RM_TRY(rm_output_begin_resumable(&w->out, path, force));
    if (lock_partial(w, path) != 0) {
        rm_output_keep(&w->out);   /* another process's, or none */
        return -1;
    }
    struct stat st;
    int have_partial = fstat(w->lock_fd, &st) == 0 && st.st_size > 0;
    if (have_partial && !resume && !force) {
        int64_t total, done = partial_progress(w->out.tmp_path, &total);
        if (done > 0) {
            rm_error("%s: an interrupted run left %lld of %lld records in %s; continue it with --resume, or start "
                     "afresh with --force", path, (long long)done, (long long)total, w->out.tmp_path);
            rm_output_keep(&w->out);
            return -1;
        }
    }
    *resume_it = resume && have_partial;
    return 0;
}

/* Every rank learns rank 0's verdict, plan and partial file name. */
static int share_claim(rm_relevance_writer *w, const char *path, int rc, int *resume_it)
{
    if (!w->shared) return rc;
    if (rm_ranks_agree(rc) != 0) return -1;
    char partial[4096] = "";
    if (w->owner) snprintf(partial, sizeof partial, "%s", w->out.tmp_path);
    RM_TRY(rm_ranks_broadcast(partial, sizeof partial));
    RM_TRY(rm_ranks_broadcast(resume_it, sizeof *resume_it));
    if (!w->owner) {
        w->out.slot = -1;
        if (!(w->out.tmp_path = rm_strdup(partial)) || !(w->out.final_path = rm_strdup(path))) {
            rm_output_keep(&w->out);
            return -1;
        }
    }
    return 0;
}

int rm_relevance_writer_open(rm_relevance_writer **wp, const char *path, const rm_relevance_spec *spec, int force,
                             int resume, int64_t *records_done)
{
    *wp = NULL;
    *records_done = 0;
    RM_TRY(validate_spec(spec));
    rm_h5_init();
    rm_relevance_writer *w = rm_calloc(1, sizeof *w, "relevance writer");
    if (!w) return -1;
    w->heatmap = w->heatmap_image = w->channels_d = w->file = w->xfer = -1;
    w->lock_fd = -1;
    w->out.slot = -1;
    for (int v = 0; v < NUM_VECTORS; v++) w->vectors[v] = -1;
    w->shared = spec->shared && rm_ranks_size() > 1;
    w->owner = !w->shared || rm_ranks_rank() == 0;
    w->count = spec->count;
    w->channels = spec->channels;
    w->height = spec->height;
    w->width = spec->width;
    w->store_channels = spec->store_channels != 0;
    w->class_names = rm_calloc((size_t)spec->num_classes, sizeof *w->class_names, "class names");
    int rc = w->class_names ? 0 : -1;
    w->num_classes = rc == 0 ? spec->num_classes : 0;
    for (int i = 0; rc == 0 && i < spec->num_classes; i++)
        if (!(w->class_names[i] = rm_strdup(spec->class_names[i]))) rc = -1;
    if (rc == 0) {
        w->xfer = H5Pcreate(H5P_DATASET_XFER);
#ifdef RELMASK_MPI
        if (w->shared) H5Pset_dxpl_mpio(w->xfer, H5FD_MPIO_COLLECTIVE);
#endif
        if (w->xfer < 0) rc = rm_h5_error("%s: cannot create a transfer property list", path);
    }
    int resume_it = 0;
    if (w->owner && rc == 0) rc = claim_output(w, path, force, resume, &resume_it);
    if (share_claim(w, path, rc, &resume_it) != 0) {
        writer_free(w);
        return -1;
    }
    if (resume_it) {
        int64_t done = 0;
        rc = agree_rc(w, reopen_partial(w, spec, &done));
        if (rc == 0) {
            w->done = done;
            *records_done = done;
            rm_log("%s: resuming after %lld of %lld records", path, (long long)done, (long long)w->count);
            *wp = w;
            return 0;
        }
        /* Other settings are an error; a damaged file is started afresh. */
        if (rc > 0) {
            rm_error_prefix("cannot resume (rerun with --force instead of --resume to start afresh)");
            close_handles(w);
            release_output(w, 0);
            writer_free(w);
            return -1;
        }
        rm_warn("%s; starting afresh", rm_error_message());
        close_handles(w);
    }
    hid_t fapl = partial_fapl(w->shared);
    w->file = H5Fcreate(w->out.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    rc = w->file < 0 ? rm_h5_error("%s: cannot create %s", path, w->out.tmp_path) : 0;
    if (rc == 0 && (create_layout(w, spec) != 0 || H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0))
        rc = rm_error_prefix("%s", path);
    if (agree_rc(w, rc) != 0) {
        rm_relevance_writer_abort(w);
        return -1;
    }
    *wp = w;
    return 0;
}

/* Rows [at, at + rows) of d; rows 0 takes part in a collective write with
 * nothing to add. */
static int write_rows(hid_t d, hid_t mem_type, hid_t xfer, int64_t at, int64_t rows, const void *data)
{
    hid_t space = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[4], start[4] = {(hsize_t)at, 0, 0, 0}, count[4];
    H5Sget_simple_extent_dims(space, dims, NULL);
    for (int i = 0; i < rank; i++) count[i] = dims[i];
    count[0] = (hsize_t)(rows > 0 ? rows : 1);
    hid_t mem = H5Screate_simple(rank, count, NULL);
    static const uint64_t nothing[1] = {0};
    if (rows > 0) {
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
    } else {
        H5Sselect_none(space);
        H5Sselect_none(mem);
        data = nothing;
    }
    herr_t st = H5Dwrite(d, mem_type, mem, space, xfer, data);
    H5Sclose(mem);
    H5Sclose(space);
    if (st < 0) return rm_h5_error("writing records %lld..%lld", (long long)at, (long long)(at + rows - 1));
    return 0;
}

static int write_block(rm_relevance_writer *w, const rm_relevance_block *b, int64_t at, int64_t end)
{
    int64_t n = b->n;
    const void *vec[NUM_VECTORS] = {b->index, b->label, b->explained, b->predicted, b->score, w->sum_buf};
    RM_TRY(write_rows(w->heatmap, H5T_NATIVE_FLOAT, w->xfer, at, n, b->heatmap));
    RM_TRY(write_rows(w->heatmap_image, H5T_NATIVE_UINT8, w->xfer, at, n, w->image_buf));
    if (w->store_channels) RM_TRY(write_rows(w->channels_d, H5T_NATIVE_FLOAT, w->xfer, at, n, b->channels));
    for (int v = 0; v < NUM_VECTORS; v++)
        RM_TRY(write_rows(w->vectors[v], vector_mem_type(v), w->xfer, at, n, vec[v]));
    RM_TRY(rm_h5_attr_set_int(w->file, "records_done", end));
    if (H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0) return rm_h5_error("flushing (disk full?)");
    return 0;
}

/* The checks and derived rows (sums, index images) of this rank's block. */
static int prepare_block(rm_relevance_writer *w, const rm_relevance_block *b, int64_t at, int64_t end)
{
    const char *path = w->out.final_path;
    int fits = w->shared ? b->n >= 0 && at >= w->done && at + b->n <= end && end <= w->count
                         : b->n >= 1 && at == w->done && end == at + b->n && end <= w->count;
    if (!fits)
        return rm_error("%s: block of %lld records at %lld (round up to %lld) does not follow the %lld written "
                        "of %lld planned", path, (long long)b->n, (long long)at, (long long)end, (long long)w->done,
                        (long long)w->count);
    if (b->n == 0) return 0;
    if (!b->index || !b->label || !b->explained || !b->predicted || !b->score || !b->heatmap ||
        (w->store_channels && !b->channels))
        return rm_error("%s: incomplete block (a field is missing)", path);
    int64_t hw = (int64_t)w->height * w->width;
    if (b->n > w->capacity) {
        size_t bytes;
        if (rm_size_mul(&bytes, (size_t)b->n, (size_t)hw, SIZE_MAX, "heatmap images") != 0) return -1;
        uint8_t *img = rm_realloc(w->image_buf, bytes, "heatmap images");
        if (!img) return -1;
        w->image_buf = img;
        float *s = rm_realloc(w->sum_buf, (size_t)b->n * sizeof *s, "heatmap sums");
        if (!s) return -1;
        w->sum_buf = s;
        w->capacity = b->n;
    }
    for (int64_t i = 0; i < b->n; i++) {
        const float *h = b->heatmap + i * hw;
        double sum = 0;
        for (int64_t k = 0; k < hw; k++) {
            if (!isfinite(h[k]))
                return rm_error("%s: record %lld (dataset index %lld): heatmap value %g at pixel (%lld,%lld) is not finite",
                                path, (long long)(at + i), (long long)b->index[i], (double)h[k],
                                (long long)(k % w->width), (long long)(k / w->width));
            sum += h[k];
        }
        w->sum_buf[i] = (float)sum;
        rm_relevance_to_index_image(h, hw, w->image_buf + i * hw);
    }
    return 0;
}

int rm_relevance_writer_write_at(rm_relevance_writer *w, const rm_relevance_block *b, int64_t at, int64_t end)
{
    RM_TRY(agree_rc(w, prepare_block(w, b, at, end)));
    rm_output_hold_signals();
    int rc = write_block(w, b, at, end);
    rm_output_release_signals();
    if (rc != 0) rm_error_prefix("%s", w->out.final_path);
    RM_TRY(agree_rc(w, rc));
    w->done = end;
    return 0;
}

int rm_relevance_writer_write(rm_relevance_writer *w, const rm_relevance_block *b)
{
    return rm_relevance_writer_write_at(w, b, w->done, w->done + b->n);
}

int rm_relevance_writer_set_attr(rm_relevance_writer *w, const char *name, const char *value)
{
    attr_kv *a = rm_realloc(w->attrs, (size_t)(w->num_attrs + 1) * sizeof *a, "attributes");
    if (!a) return -1;
    w->attrs = a;
    a[w->num_attrs].name = rm_strdup(name);
    a[w->num_attrs].value = rm_strdup(value ? value : "");
    if (!a[w->num_attrs].name || !a[w->num_attrs].value) {
        free(a[w->num_attrs].name);
        free(a[w->num_attrs].value);
        return -1;
    }
    w->num_attrs++;
    return 0;
}

static int write_final_attrs(rm_relevance_writer *w)
{
    hid_t f = w->file;
    char created[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (w->shared) RM_TRY(rm_ranks_broadcast(created, sizeof created));   /* one value for a collective write */
    RM_TRY(rm_h5_attr_set_int(f, "num_classes", w->num_classes));
    RM_TRY(rm_h5_attr_set_strings(f, "class_names", w->num_classes, (const char *const *)w->class_names));
    RM_TRY(rm_h5_attr_set_string(f, "tool_version", rm_version_string()));
    RM_TRY(rm_h5_attr_set_string(f, "created", created));
    for (int i = 0; i < w->num_attrs; i++) RM_TRY(rm_h5_attr_set_string(f, w->attrs[i].name, w->attrs[i].value));
    return 0;
}

int rm_relevance_writer_finish(rm_relevance_writer *w)
{
    const char *path = w->out.final_path;
    if (w->done != w->count) {
        rm_error("%s: only %lld of %lld records written", path, (long long)w->done, (long long)w->count);
        rm_relevance_writer_close_partial(w);
        return -1;
    }
    int rc = write_final_attrs(w);
    if (agree_rc(w, rc) != 0) {
        if (rc != 0) rm_error_prefix("%s", path);
        rm_relevance_writer_abort(w);
        return -1;
    }
    hid_t file = w->file;
    w->file = -1;
    close_handles(w);
    rc = H5Fclose(file) < 0 ? rm_h5_error("%s: closing the file failed (disk full?)", path) : 0;
    if (agree_rc(w, rc) != 0) {
        rm_relevance_writer_abort(w);
        return -1;
    }
    rc = w->owner ? rm_output_commit(&w->out) : 0;   /* commit forgets the output, even on failure */
    if (!w->owner) rm_output_keep(&w->out);
    rc = agree_rc(w, rc);
    writer_free(w);
    return rc;
}

void rm_relevance_writer_close_partial(rm_relevance_writer *w)
{
    if (!w) return;
    close_handles(w);
    release_output(w, 0);
    writer_free(w);
}

void rm_relevance_writer_abort(rm_relevance_writer *w)
{
    if (!w) return;
    close_handles(w);
    if (w->shared) rm_ranks_barrier();   /* every rank has closed the file before rank 0 removes it */
    release_output(w, 1);
    writer_free(w);
}

/* --- reading -------------------------------------------------------------*/

static int shape_of(hid_t f, const char *name, int rank, hsize_t *dims, H5T_class_t cls)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return rm_error("missing dataset /%s", name);
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    int rc = 0;
    if (H5Sget_simple_extent_ndims(s) != rank)
        rc = rm_error("/%s has rank %d, expected %d", name, H5Sget_simple_extent_ndims(s), rank);
    else if (H5Tget_class(t) != cls)
        rc = rm_error("/%s has the wrong element type (expected %s)", name, cls == H5T_FLOAT ? "float" : "integer");
    else H5Sget_simple_extent_dims(s, dims, NULL);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return rc;
}

static int read_rows(hid_t f, const char *name, hid_t mem_type, int64_t start, int64_t rows, void *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return rm_h5_error("opening /%s", name);
    hid_t space = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[4], st[4] = {(hsize_t)start, 0, 0, 0}, cnt[4];
    H5Sget_simple_extent_dims(space, dims, NULL);
    for (int i = 0; i < rank; i++) cnt[i] = dims[i];
    cnt[0] = (hsize_t)rows;
    herr_t rc = -1;
    if (start >= 0 && rows >= 0 && (hsize_t)(start + rows) <= dims[0]) {
        H5Sselect_hyperslab(space, H5S_SELECT_SET, st, NULL, cnt, NULL);
        hid_t mem = H5Screate_simple(rank, cnt, NULL);
        rc = H5Dread(d, mem_type, mem, space, H5P_DEFAULT, out);
        H5Sclose(mem);
    }
    H5Sclose(space);
    H5Dclose(d);
    if (rc < 0) return rm_h5_error("reading /%s entries %lld..%lld", name, (long long)start, (long long)(start + rows - 1));
    return 0;
}

static int optional_string(hid_t f, const char *name, char **out)
{
    *out = NULL;
    if (!rm_h5_attr_exists(f, name)) return 0;
    return rm_h5_attr_get_string(f, name, out);
}

static int load(rm_relevance *r)
{
    hid_t f = (hid_t)r->hfile;
    if (!rm_h5_attr_exists(f, "schema")) return rm_error("not a relmask file (no 'schema' attribute on the root group)");
    char *schema = NULL;
    RM_TRY(rm_h5_attr_get_string(f, "schema", &schema));
    int bad = strcmp(schema, RM_RELEVANCE_SCHEMA) != 0;
    if (bad) rm_error("schema is '%s', expected '%s'", schema, RM_RELEVANCE_SCHEMA);
    free(schema);
    if (bad) return -1;
    int64_t version, channels, done;
    RM_TRY(rm_h5_attr_get_int(f, "schema_version", &version));
    if (version != RM_RELEVANCE_SCHEMA_VERSION)
        return rm_error("schema version %lld is not supported (this relmask reads version %d)", (long long)version,
                        RM_RELEVANCE_SCHEMA_VERSION);
    hsize_t d3[3];
    RM_TRY(shape_of(f, "heatmap", 3, d3, H5T_FLOAT));
    RM_TRY(rm_h5_attr_get_int(f, "channels", &channels));
    RM_TRY(rm_h5_attr_get_int(f, "records_done", &done));
    if (d3[0] < 1 || d3[1] < 1 || d3[2] < 1 || d3[1] > 4096 || d3[2] > 4096 || channels < 1 || channels > 4)
        return rm_error("/heatmap has shape [%llu,%llu,%llu] with %lld channels, outside the schema's limits",
                        (unsigned long long)d3[0], (unsigned long long)d3[1], (unsigned long long)d3[2],
                        (long long)channels);
    if (done != (int64_t)d3[0])
        return rm_error("incomplete: %lld of %llu records written (an interrupted run? its partial file is "
                        "resumed with --resume)", (long long)done, (unsigned long long)d3[0]);
    r->count = (int64_t)d3[0];
    r->height = (int)d3[1];
    r->width = (int)d3[2];
    r->channels = (int)channels;
    if (H5Lexists(f, "relevance", H5P_DEFAULT) > 0) {
        hsize_t d4[4];
        RM_TRY(shape_of(f, "relevance", 4, d4, H5T_FLOAT));
        if (d4[0] != d3[0] || d4[1] != (hsize_t)channels || d4[2] != d3[1] || d4[3] != d3[2])
            return rm_error("/relevance shape does not match /heatmap");
        r->has_channels = 1;
    }
    for (int v = 0; v < NUM_VECTORS; v++) {
        hsize_t d1[1];
        RM_TRY(shape_of(f, vector_names[v], 1, d1, v == V_SCORE || v == V_SUM ? H5T_FLOAT : H5T_INTEGER));
        if (d1[0] != d3[0])
            return rm_error("/%s has %llu entries, /heatmap %llu", vector_names[v], (unsigned long long)d1[0],
                            (unsigned long long)d3[0]);
    }
    RM_TRY(rm_h5_attr_get_strings(f, "class_names", &r->num_classes, &r->class_names));
    RM_TRY(optional_string(f, "method", &r->method));
    RM_TRY(optional_string(f, "score_kind", &r->score_kind));
    RM_TRY(optional_string(f, "parameters", &r->parameters));
    RM_TRY(optional_string(f, "dataset_path", &r->dataset_path));
    RM_TRY(optional_string(f, "dataset_fingerprint", &r->dataset_fingerprint));
    RM_TRY(rm_h5_require_stored(f, "heatmap"));
    for (int v = 0; v < NUM_VECTORS; v++) RM_TRY(rm_h5_require_stored(f, vector_names[v]));
    size_t n = (size_t)r->count;
    r->index = rm_malloc(n * sizeof *r->index, "relevance index");
    r->label = rm_malloc(n * sizeof *r->label, "relevance labels");
    r->explained = rm_malloc(n * sizeof *r->explained, "explained classes");
    r->predicted = rm_malloc(n * sizeof *r->predicted, "predicted classes");
    r->score = rm_malloc(n * sizeof *r->score, "scores");
    r->sum = rm_malloc(n * sizeof *r->sum, "sums");
    if (!r->index || !r->label || !r->explained || !r->predicted || !r->score || !r->sum) return -1;
    void *dst[NUM_VECTORS] = {r->index, r->label, r->explained, r->predicted, r->score, r->sum};
    for (int v = 0; v < NUM_VECTORS; v++) RM_TRY(read_rows(f, vector_names[v], vector_mem_type(v), 0, r->count, dst[v]));
    for (int64_t i = 0; i < r->count; i++) {
        if (r->index[i] < 0) return rm_error("entry %lld: negative dataset index %lld", (long long)i, (long long)r->index[i]);
        if (r->explained[i] < -1 || r->explained[i] >= r->num_classes)
            return rm_error("entry %lld: explained class %d out of range -1..%d", (long long)i, r->explained[i],
                            r->num_classes - 1);
    }
    return 0;
}

int rm_relevance_open(rm_relevance *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->hfile = -1;
    rm_h5_init();
    r->path = rm_strdup(path);
    if (!r->path) return -1;
    r->hfile = rm_h5_open_read(path, NULL);
    if (r->hfile < 0) {
        rm_relevance_close(r);
        return -1;
    }
    if (load(r) != 0) {
        rm_error_prefix("%s", path);
        rm_relevance_close(r);
        return -1;
    }
    return 0;
}

/* Refuses NaN and Inf, which a damaged or hand-made file can hold and which
 * would otherwise flow silently into encodings, montages and scores. */
static int check_finite(const rm_relevance *r, const char *what, int64_t start, int64_t count, int64_t per_row,
                        const float *v)
{
    for (int64_t i = 0; i < count; i++)
        for (int64_t k = 0; k < per_row; k++) {
            float x = v[i * per_row + k];
            if (isfinite(x)) continue;
            int64_t p = k % ((int64_t)r->height * r->width);
            return rm_error("%s: /%s entry %lld (dataset index %lld): value %g at pixel (%lld,%lld), expected a "
                            "finite number",
                            r->path, what, (long long)(start + i), (long long)r->index[start + i], (double)x,
                            (long long)(p % r->width), (long long)(p / r->width));
        }
    return 0;
}

int rm_relevance_read_heatmaps(const rm_relevance *r, int64_t start, int64_t count, float *out)
{
    if (read_rows((hid_t)r->hfile, "heatmap", H5T_NATIVE_FLOAT, start, count, out) != 0)
        return rm_error_prefix("%s", r->path);
    return check_finite(r, "heatmap", start, count, (int64_t)r->height * r->width, out);
}

int rm_relevance_read_channels(const rm_relevance *r, int64_t start, int64_t count, float *out)
{
    if (!r->has_channels) return rm_error("%s: no per-channel /relevance stored (written without --channels)", r->path);
    if (read_rows((hid_t)r->hfile, "relevance", H5T_NATIVE_FLOAT, start, count, out) != 0)
        return rm_error_prefix("%s", r->path);
    return check_finite(r, "relevance", start, count, (int64_t)r->channels * r->height * r->width, out);
}

int rm_relevance_read_attr(const rm_relevance *r, const char *name, char **value)
{
    return optional_string((hid_t)r->hfile, name, value);
}

int rm_relevance_check_dataset(const rm_relevance *r, const char *data_path, int64_t count, int height, int width,
                               const int32_t *labels)
{
    if (r->height != height || r->width != width)
        return rm_error("%s: heatmaps are %dx%d but the images of %s are %dx%d", r->path, r->width, r->height,
                        data_path, width, height);
    for (int64_t i = 0; i < r->count; i++) {
        if (r->index[i] >= count)
            return rm_error("%s: entry %lld explains record %lld, but %s has %lld records", r->path, (long long)i,
                            (long long)r->index[i], data_path, (long long)count);
        if (labels && r->label[i] != labels[r->index[i]])
            return rm_error("%s: entry %lld has label %d but record %lld of %s has label %d (relevance computed "
                            "for another dataset?)",
                            r->path, (long long)i, r->label[i], (long long)r->index[i], data_path,
                            labels[r->index[i]]);
    }
    return 0;
}

int rm_relevance_index_map(const rm_relevance *r, int64_t dataset_count, int64_t *map)
{
    for (int64_t i = 0; i < dataset_count; i++) map[i] = -1;
    for (int64_t i = 0; i < r->count; i++) {
        if (r->index[i] >= dataset_count)
            return rm_error("%s: entry %lld explains record %lld beyond the dataset's %lld", r->path, (long long)i,
                            (long long)r->index[i], (long long)dataset_count);
        if (map[r->index[i]] >= 0)
            return rm_error("%s: record %lld is explained twice (entries %lld and %lld)", r->path,
                            (long long)r->index[i], (long long)map[r->index[i]], (long long)i);
        map[r->index[i]] = i;
    }
    return 0;
}

static uint64_t fnv1a(uint64_t hash, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) hash = (hash ^ p[i]) * 0x100000001b3ULL;
    return hash;
}

void rm_relevance_fingerprint(const rm_relevance *r, char out[17])
{
    const int64_t header[4] = {r->count, r->channels, r->height, r->width};
    const size_t n = (size_t)r->count;
    uint64_t hash = fnv1a(0xcbf29ce484222325ULL, header, sizeof header);
    hash = fnv1a(hash, r->method ? r->method : "", strlen(r->method ? r->method : "") + 1);
    hash = fnv1a(hash, r->parameters ? r->parameters : "", strlen(r->parameters ? r->parameters : "") + 1);
    hash = fnv1a(hash, r->index, n * sizeof *r->index);
    hash = fnv1a(hash, r->label, n * sizeof *r->label);
    hash = fnv1a(hash, r->explained, n * sizeof *r->explained);
    hash = fnv1a(hash, r->predicted, n * sizeof *r->predicted);
    hash = fnv1a(hash, r->score, n * sizeof *r->score);
    hash = fnv1a(hash, r->sum, n * sizeof *r->sum);
    snprintf(out, 17, "%016llx", (unsigned long long)hash);
}

void rm_relevance_close(rm_relevance *r)
{
    if (r->hfile >= 0) H5Fclose((hid_t)r->hfile);
    rm_h5_free_strings(r->num_classes, r->class_names);
    free(r->path);
    free(r->method);
    free(r->score_kind);
    free(r->parameters);
    free(r->dataset_path);
    free(r->dataset_fingerprint);
    free(r->index);
    free(r->label);
    free(r->explained);
    free(r->predicted);
    free(r->score);
    free(r->sum);
    memset(r, 0, sizeof *r);
    r->hfile = -1;
}
