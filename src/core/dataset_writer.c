#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hdf5_hl.h>
#ifdef RELMASK_MPI
#include <mpi.h>
#endif

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"
#include "core/output.h"
#include "core/ranks.h"
#include "core/version.h"

/* Chunks hold a minibatch-sized block of images: 64 images, fewer when
 * that would exceed 1 MiB (HDF5's default chunk cache). */
enum { CHUNK_IMAGES = 64, CHUNK_BYTES_MAX = 1 << 20 };

/* A root attribute kept until finish: a string, an int64 or doubles. */
enum { ATTR_STRING, ATTR_INT, ATTR_DOUBLES };
typedef struct {
    char *name;
    int kind;
    char *text;
    int64_t integer;
    double *reals;
    int count;
} attr_kv;

/* A per-record uint8 vector written at finish, e.g. /encoded. */
typedef struct {
    char *name, *description;
    uint8_t *values;
    size_t count;
} flag_vector;

struct rm_dataset_writer {
    rm_output out;                     /* rank 0's; another rank's holds the paths only */
    int shared;                        /* every MPI rank writes (parallel HDF5) */
    int owner;                         /* this process checks and renames the output (rank 0) */
    hid_t file, images, regions;
    hid_t xfer;                        /* raw data transfer: H5P_DEFAULT, collective when shared */
    int channels, height, width, num_classes, has_regions, unlabeled;
    char **class_names;
    char *source_format, *source_path;
    size_t image_bytes, region_bytes;
    size_t count, capacity;            /* records written / label capacity */
    int32_t *labels;
    uint8_t *split;
    size_t block, buffered;            /* records per chunk, pending */
    uint8_t *image_buf, *region_buf;   /* one chunk of pending records */
    attr_kv *attrs;
    int num_attrs;
    flag_vector *flags;
    int num_flags;
    char **sources;                    /* [count]: where each record came from, NULL: unknown */
    size_t sources_capacity;
    int has_sources;
};

static size_t chunk_rows(size_t record_bytes)
{
    size_t rows = CHUNK_IMAGES;
    while (rows > 1 && rows * record_bytes > CHUNK_BYTES_MAX) rows /= 2;
    return rows;
}

/* An extendible, chunked, shuffle+deflate uint8 dataset [0, dims...]. */
static hid_t create_stack(hid_t file, const char *name, int rank, const hsize_t *dims,
                          size_t block, int deflate)
{
    hsize_t cur[4], max[4], chunk[4];
    for (int i = 0; i < rank; i++) cur[i] = max[i] = chunk[i] = dims[i];
    cur[0] = 0;
    max[0] = H5S_UNLIMITED;
    chunk[0] = block;
    hid_t space = H5Screate_simple(rank, cur, max);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    if (deflate > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)deflate);
    }
    hid_t d = H5Dcreate2(file, name, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (d < 0) rm_h5_error("creating %s", name);
    return d;
}

/* HDF5 Image specification attributes, so HDFView displays the stack.
 * Three planes are a true-colour image; one, two (gray + relevance) or
 * four (RGB + relevance) planes have no true-colour reading in the
 * specification and are marked grayscale: HDFView shows one plane at a
 * time (pick H and W, page through N and C). */
static int mark_as_image(hid_t d, int channels)
{
    RM_TRY(rm_h5_attr_set_fixed_string(d, "CLASS", "IMAGE"));
    RM_TRY(rm_h5_attr_set_fixed_string(d, "IMAGE_VERSION", "1.2"));
    if (channels == 3) {
        RM_TRY(rm_h5_attr_set_fixed_string(d, "IMAGE_SUBCLASS", "IMAGE_TRUECOLOR"));
        RM_TRY(rm_h5_attr_set_fixed_string(d, "INTERLACE_MODE", "INTERLACE_PLANE"));
    } else {
        RM_TRY(rm_h5_attr_set_fixed_string(d, "IMAGE_SUBCLASS", "IMAGE_GRAYSCALE"));
        uint8_t white_is_zero = 0;
        if (H5LTset_attribute_uchar(d, ".", "IMAGE_WHITE_IS_ZERO", &white_is_zero, 1) < 0)
            return rm_h5_error("writing IMAGE_WHITE_IS_ZERO");
    }
    uint8_t range[2] = {0, 255};
    if (H5LTset_attribute_uchar(d, ".", "IMAGE_MINMAXRANGE", range, 2) < 0)
        return rm_h5_error("writing IMAGE_MINMAXRANGE");
    return 0;
}

static int label_dims(hid_t d, const char *const *labels, int rank)
{
    for (int i = 0; i < rank; i++)
        if (H5DSset_label(d, (unsigned)i, labels[i]) < 0) return rm_h5_error("labelling dimensions");
    return 0;
}

static void writer_free(rm_dataset_writer *w)
{
    if (w->images > 0) H5Dclose(w->images);
    if (w->regions > 0) H5Dclose(w->regions);
    if (w->file > 0) H5Fclose(w->file);
    if (w->xfer > 0 && w->xfer != H5P_DEFAULT) H5Pclose(w->xfer);
    for (int i = 0; i < w->num_classes; i++) free(w->class_names ? w->class_names[i] : NULL);
    for (int i = 0; i < w->num_attrs; i++) {
        free(w->attrs[i].name);
        free(w->attrs[i].text);
        free(w->attrs[i].reals);
    }
    free(w->attrs);
    for (int i = 0; i < w->num_flags; i++) {
        free(w->flags[i].name);
        free(w->flags[i].description);
        free(w->flags[i].values);
    }
    free(w->flags);
    for (size_t i = 0; i < w->sources_capacity; i++) free(w->sources[i]);   /* NULL past the last set */
    free(w->sources);
    free(w->class_names);
    free(w->source_format);
    free(w->source_path);
    free(w->labels);
    free(w->split);
    free(w->image_buf);
    free(w->region_buf);
    free(w);
}

static int validate_spec(const rm_dataset_spec *s)
{
    if (s->channels < 1 || s->channels > RM_DATASET_MAX_CHANNELS)
        return rm_error("dataset: %d channels, expected 1 (gray), 2 (gray + relevance), 3 (RGB) or 4 "
                        "(RGB + relevance)", s->channels);
    if (s->height < 1 || s->width < 1 || s->height > 4096 || s->width > 4096)
        return rm_error("dataset: image size %dx%d outside 1..4096", s->width, s->height);
    if (s->num_classes < (s->unlabeled ? 0 : 1) || s->num_classes > RM_MAX_CLASSES)
        return rm_error("dataset: %d classes, expected %d..%d", s->num_classes, s->unlabeled ? 0 : 1,
                        RM_MAX_CLASSES);
    for (int i = 0; i < s->num_classes; i++)
        if (!s->class_names || !s->class_names[i] || !s->class_names[i][0])
            return rm_error("dataset: class %d has no name", i);
    return 0;
}

/* A shared writer's failures are every rank's. */
static int agree_if(int shared, int rc) { return shared ? rm_ranks_agree(rc) : rc; }

/* Rank 0 checks the output and picks its temporary name (when rc, this
 * rank's setup, is 0); the other ranks of a shared writer learn the name. */
static int claim_output(rm_dataset_writer *w, const char *path, int force, int rc)
{
    if (rc == 0 && w->owner) rc = rm_output_begin(&w->out, path, force);
    if (!w->shared) return rc;
    if (rm_ranks_agree(rc) != 0) return -1;
    char tmp[4096] = "";
    if (w->owner) snprintf(tmp, sizeof tmp, "%s", w->out.tmp_path);
    rc = rm_ranks_broadcast(tmp, sizeof tmp);
    if (rc == 0 && !w->owner && (!(w->out.tmp_path = rm_strdup(tmp)) || !(w->out.final_path = rm_strdup(path))))
        rc = -1;
    return rm_ranks_agree(rc);
}

/* The file (through MPI-IO on every rank when shared) and its stacks. */
static int create_file(rm_dataset_writer *w, const rm_dataset_spec *spec, const char *path)
{
    hid_t fapl = H5P_DEFAULT;
#ifdef RELMASK_MPI
    if (w->shared) {
        if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL) < 0 ||
            (w->xfer = H5Pcreate(H5P_DATASET_XFER)) < 0 || H5Pset_dxpl_mpio(w->xfer, H5FD_MPIO_COLLECTIVE) < 0) {
            if (fapl > 0) H5Pclose(fapl);
            return rm_h5_error("%s: cannot set up parallel HDF5", path);
        }
    }
#endif
    w->file = H5Fcreate(w->out.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl != H5P_DEFAULT) H5Pclose(fapl);
    if (w->file < 0) return rm_h5_error("%s: cannot create %s", path, w->out.tmp_path);
    int deflate = spec->deflate_level < 0 ? 0 : spec->deflate_level > 9 ? 9 : spec->deflate_level;
    hsize_t idims[4] = {0, (hsize_t)w->channels, (hsize_t)w->height, (hsize_t)w->width};
    static const char *const image_axes[4] = {"N", "C", "H", "W"};
    static const char *const region_axes[3] = {"N", "H", "W"};
    w->images = create_stack(w->file, "images", 4, idims, w->block, deflate);
    if (w->images < 0 || mark_as_image(w->images, w->channels) != 0 ||
        label_dims(w->images, image_axes, 4) != 0 ||
        rm_h5_attr_set_string(w->images, "layout", "NCHW") != 0)
        return rm_error_prefix("%s", path);
    if (w->has_regions) {
        hsize_t rdims[3] = {0, (hsize_t)w->height, (hsize_t)w->width};
        w->regions = create_stack(w->file, "regions", 3, rdims, w->block, deflate);
        if (w->regions < 0 || mark_as_image(w->regions, 1) != 0 ||
            label_dims(w->regions, region_axes, 3) != 0)
            return rm_error_prefix("%s", path);
    }
    return 0;
}

int rm_dataset_writer_open(rm_dataset_writer **wp, const char *path, const rm_dataset_spec *spec,
                           int force)
{
    *wp = NULL;
    const int shared = spec->shared && rm_ranks_size() > 1;
    RM_TRY(agree_if(shared, validate_spec(spec)));
    rm_h5_init();
    rm_dataset_writer *w = rm_calloc(1, sizeof *w, "dataset writer");
    if (agree_if(shared, w ? 0 : -1) != 0) {
        free(w);
        return -1;
    }
    w->out.slot = -1;
    w->xfer = H5P_DEFAULT;
    w->shared = shared;
    w->owner = !shared || rm_ranks_rank() == 0;
    w->channels = spec->channels;
    w->height = spec->height;
    w->width = spec->width;
    w->has_regions = spec->has_regions;
    w->unlabeled = spec->unlabeled;
    w->image_bytes = (size_t)spec->channels * (size_t)spec->height * (size_t)spec->width;
    w->region_bytes = (size_t)spec->height * (size_t)spec->width;
    w->block = chunk_rows(w->image_bytes);
    w->class_names = rm_calloc((size_t)(spec->num_classes ? spec->num_classes : 1), sizeof *w->class_names,
                               "class names");
    w->source_format = rm_strdup(spec->source_format ? spec->source_format : "unknown");
    w->source_path = rm_strdup(spec->source_path ? spec->source_path : "");
    w->image_buf = rm_malloc(w->block * w->image_bytes, "image chunk buffer");
    if (spec->has_regions) w->region_buf = rm_malloc(w->block * w->region_bytes, "region chunk buffer");
    int rc = 0;
    if (!w->class_names || !w->source_format || !w->source_path || !w->image_buf ||
        (spec->has_regions && !w->region_buf))
        rc = -1;
    if (rc == 0) w->num_classes = spec->num_classes;
    for (int i = 0; rc == 0 && i < spec->num_classes; i++)
        if (!(w->class_names[i] = rm_strdup(spec->class_names[i]))) rc = -1;
    if (claim_output(w, path, force, rc) != 0 || agree_if(shared, create_file(w, spec, path)) != 0) {
        rm_dataset_writer_abort(w);
        return -1;
    }
    *wp = w;
    return 0;
}

/* Grows d to `extent` rows and writes rows [at, at + rows) from data with
 * the transfer list xfer; rows 0 takes part in a collective write with
 * nothing to add. */
static int append_rows(hid_t d, int rank, hid_t xfer, size_t at, size_t rows, size_t extent, const uint8_t *data)
{
    hid_t space = H5Dget_space(d);
    hsize_t dims[4];
    H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    dims[0] = extent;
    if (H5Dset_extent(d, dims) < 0) return rm_h5_error("growing dataset");
    space = H5Dget_space(d);
    hsize_t start[4] = {at, 0, 0, 0}, count[4];
    for (int i = 0; i < rank; i++) count[i] = dims[i];
    count[0] = rows > 0 ? rows : 1;
    hid_t mem = H5Screate_simple(rank, count, NULL);
    if (rows > 0) {
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
    } else {
        H5Sselect_none(space);
        H5Sselect_none(mem);
    }
    static const uint8_t nothing[1] = {0};
    herr_t st = H5Dwrite(d, H5T_NATIVE_UINT8, mem, space, xfer, rows > 0 ? data : nothing);
    H5Sclose(mem);
    H5Sclose(space);
    if (st < 0) return rm_h5_error("writing records %zu..%zu", at, at + rows);
    return 0;
}

static int flush(rm_dataset_writer *w)
{
    if (!w->buffered) return 0;
    size_t at = w->count - w->buffered;
    if (append_rows(w->images, 4, w->xfer, at, w->buffered, w->count, w->image_buf) != 0 ||
        (w->has_regions && append_rows(w->regions, 3, w->xfer, at, w->buffered, w->count, w->region_buf) != 0))
        return rm_error_prefix("%s", w->out.final_path);
    w->buffered = 0;
    return 0;
}

/* Record `index`'s label, split and region fit the dataset. */
static int check_record(const rm_dataset_writer *w, size_t index, int32_t label, uint8_t split, int has_region)
{
    if (w->unlabeled && (label != -1 || split != RM_SPLIT_UNLABELED))
        return rm_error("record %zu: label %d, split %u in an unlabeled dataset (expected label -1, split %d)",
                        index, label, split, RM_SPLIT_UNLABELED);
    if (!w->unlabeled && (label < 0 || label >= w->num_classes))
        return rm_error("record %zu: label %d out of range 0..%d", index, label, w->num_classes - 1);
    if (!w->unlabeled && split >= RM_SPLIT_COUNT && split != RM_SPLIT_POOL && split != RM_SPLIT_UNASSIGNED)
        return rm_error("record %zu: invalid split value %u", index, split);
    if (w->has_regions && !has_region) return rm_error("record %zu: region mask missing", index);
    return 0;
}

/* Room for `need` labels and splits. */
static int label_room(rm_dataset_writer *w, size_t need)
{
    if (need <= w->capacity) return 0;
    size_t cap = w->capacity ? 2 * w->capacity : 1024;
    while (cap < need) cap *= 2;
    int32_t *l = rm_realloc(w->labels, cap * sizeof *l, "labels");
    if (!l) return -1;
    w->labels = l;
    uint8_t *s = rm_realloc(w->split, cap, "split");
    if (!s) return -1;
    w->split = s;
    w->capacity = cap;
    return 0;
}

int rm_dataset_writer_append(rm_dataset_writer *w, const uint8_t *image, int32_t label,
                             uint8_t split, const uint8_t *region)
{
    if (w->shared) return rm_error("a shared dataset writer takes blocks (rm_dataset_writer_append_block)");
    RM_TRY(check_record(w, w->count, label, split, region != NULL));
    if (w->count == w->capacity) RM_TRY(label_room(w, w->count + 1));
    memcpy(w->image_buf + w->buffered * w->image_bytes, image, w->image_bytes);
    if (w->has_regions) memcpy(w->region_buf + w->buffered * w->region_bytes, region, w->region_bytes);
    w->labels[w->count] = label;
    w->split[w->count] = split;
    w->count++;
    if (++w->buffered == w->block) return flush(w);
    return 0;
}

/* Room for `need` record sources (NULL until set). */
static int source_room(rm_dataset_writer *w, size_t need)
{
    if (w->sources_capacity >= need) return 0;
    size_t cap = w->sources_capacity ? w->sources_capacity : 1024;
    while (cap < need) cap *= 2;
    char **s = rm_realloc(w->sources, cap * sizeof *s, "record sources");
    if (!s) return -1;
    memset(s + w->sources_capacity, 0, (cap - w->sources_capacity) * sizeof *s);
    w->sources = s;
    w->sources_capacity = cap;
    return 0;
}

/* Every rank's records of a block in one file: rank 0 keeps every
 * record's label, split and source, for finish. */
static int append_shared(rm_dataset_writer *w, size_t n, const uint8_t *images, const int32_t *labels,
                         const uint8_t *split, const uint8_t *regions, const char *const *sources)
{
    const int rank = rm_ranks_rank(), ranks = rm_ranks_size();
    int64_t mine = (int64_t)n, *counts;
    size_t bytes, at = w->count, total = 0;
    RM_TRY(rm_ranks_allgather_bytes(&mine, sizeof mine, (void **)&counts, &bytes));
    for (int r = 0; r < ranks; r++) {
        if (r < rank) at += (size_t)counts[r];
        total += (size_t)counts[r];
    }
    free(counts);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = check_record(w, at + i, labels[i], split[i], regions != NULL);
    /* Sources travel as a 0 (unknown) or 1 + the text + NUL per record. */
    size_t packed_len = n;
    for (size_t i = 0; sources && i < n; i++) packed_len += sources[i] ? strlen(sources[i]) + 1 : 0;
    char *packed = rc == 0 ? rm_malloc(packed_len ? packed_len : 1, "record sources") : NULL;
    if (rc == 0 && !packed) rc = -1;
    for (size_t i = 0, k = 0; rc == 0 && i < n; i++) {
        packed[k++] = (char)(sources && sources[i]);
        if (sources && sources[i]) {
            size_t len = strlen(sources[i]) + 1;
            memcpy(packed + k, sources[i], len);
            k += len;
        }
    }
    if (rc == 0) rc = label_room(w, w->count + total);
    if (rm_ranks_agree(rc) != 0) {
        free(packed);
        return -1;
    }
    void *all_labels = NULL, *all_split = NULL, *all_sources = NULL;
    size_t label_bytes, split_bytes, source_bytes;
    rc = rm_ranks_allgather_bytes(labels, n * sizeof *labels, &all_labels, &label_bytes);
    if (rc == 0) rc = rm_ranks_allgather_bytes(split, n, &all_split, &split_bytes);
    if (rc == 0) rc = rm_ranks_allgather_bytes(packed, packed_len, &all_sources, &source_bytes);
    free(packed);
    if (rc == 0) {
        memcpy(w->labels + w->count, all_labels, total * sizeof *w->labels);
        memcpy(w->split + w->count, all_split, total);
    }
    if (rc == 0 && w->owner) {
        const char *p = all_sources, *end = p + source_bytes;
        for (size_t i = 0; rc == 0 && i < total && p < end; i++)
            if (*p++) {
                if (source_room(w, w->count + total) != 0 || !(w->sources[w->count + i] = rm_strdup(p))) rc = -1;
                p += strlen(p) + 1;
                w->has_sources = 1;
            }
    }
    free(all_labels);
    free(all_split);
    free(all_sources);
    RM_TRY(rm_ranks_agree(rc));
    rc = append_rows(w->images, 4, w->xfer, at, n, w->count + total, images);
    if (rc == 0 && w->has_regions) rc = append_rows(w->regions, 3, w->xfer, at, n, w->count + total, regions);
    if (rc != 0) rm_error_prefix("%s", w->out.final_path);
    RM_TRY(rm_ranks_agree(rc));
    w->count += total;
    return 0;
}

int rm_dataset_writer_append_block(rm_dataset_writer *w, size_t n, const uint8_t *images, const int32_t *labels,
                                   const uint8_t *split, const uint8_t *regions, const char *const *sources)
{
    if (w->shared) return append_shared(w, n, images, labels, split, regions, sources);
    for (size_t i = 0; i < n; i++) {
        RM_TRY(rm_dataset_writer_append(w, images + i * w->image_bytes, labels[i], split[i],
                                        regions ? regions + i * w->region_bytes : NULL));
        if (sources && sources[i]) RM_TRY(rm_dataset_writer_set_source(w, sources[i]));
    }
    return 0;
}

/* A new zeroed attribute entry named `name`, or NULL (out of memory). */
static attr_kv *push_attr(rm_dataset_writer *w, const char *name, int kind)
{
    attr_kv *a = rm_realloc(w->attrs, (size_t)(w->num_attrs + 1) * sizeof *a, "attributes");
    if (!a) return NULL;
    w->attrs = a;
    attr_kv *e = &a[w->num_attrs];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    if (!(e->name = rm_strdup(name))) return NULL;
    w->num_attrs++;
    return e;
}

int rm_dataset_writer_set_attr(rm_dataset_writer *w, const char *name, const char *value)
{
    attr_kv *e = push_attr(w, name, ATTR_STRING);
    if (!e) return -1;
    return (e->text = rm_strdup(value ? value : "")) ? 0 : -1;
}

int rm_dataset_writer_set_attr_int(rm_dataset_writer *w, const char *name, int64_t value)
{
    attr_kv *e = push_attr(w, name, ATTR_INT);
    if (!e) return -1;
    e->integer = value;
    return 0;
}

int rm_dataset_writer_set_attr_doubles(rm_dataset_writer *w, const char *name, int count,
                                       const double *values)
{
    if (count < 1) return rm_error("attribute '%s': no values", name);
    attr_kv *e = push_attr(w, name, ATTR_DOUBLES);
    if (!e) return -1;
    if (!(e->reals = rm_malloc((size_t)count * sizeof *e->reals, "attribute values"))) return -1;
    memcpy(e->reals, values, (size_t)count * sizeof *e->reals);
    e->count = count;
    return 0;
}

int rm_dataset_writer_set_flags(rm_dataset_writer *w, const char *name, const uint8_t *values,
                                size_t count, const char *description)
{
    flag_vector *f = rm_realloc(w->flags, (size_t)(w->num_flags + 1) * sizeof *f, "flag vectors");
    if (!f) return -1;
    w->flags = f;
    flag_vector *e = &f[w->num_flags];
    memset(e, 0, sizeof *e);
    e->name = rm_strdup(name);
    e->description = rm_strdup(description ? description : "");
    e->values = rm_malloc(count ? count : 1, "flag vector");
    if (!e->name || !e->description || !e->values) {
        free(e->name);
        free(e->description);
        free(e->values);
        return -1;
    }
    if (count) memcpy(e->values, values, count);
    e->count = count;
    w->num_flags++;
    return 0;
}

size_t rm_dataset_writer_count(const rm_dataset_writer *w) { return w->count; }

/* All of d from data. In a shared file every rank takes part and rank 0
 * gives the values. */
static herr_t write_whole(const rm_dataset_writer *w, hid_t d, hid_t mem_type, const void *data)
{
    if (w->owner) return H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, w->xfer, data);
    hid_t space = H5Dget_space(d);
    if (space < 0) return -1;
    H5Sselect_none(space);
    herr_t st = H5Dwrite(d, mem_type, space, space, w->xfer, data);
    H5Sclose(space);
    return st;
}

static int write_vector(const rm_dataset_writer *w, const char *name, hid_t file_type, hid_t mem_type, size_t n,
                        const void *data, const char *axis)
{
    hid_t file = w->file;
    hsize_t dim = n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (n > 0) {
        hsize_t chunk = n < 65536 ? n : 65536;
        H5Pset_chunk(dcpl, 1, &chunk);
        if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) H5Pset_deflate(dcpl, 4);
    }
    hid_t d = H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    int rc = 0;
    if (d < 0) rc = rm_h5_error("creating /%s", name);
    else if (n > 0 && write_whole(w, d, mem_type, data) < 0)
        rc = rm_h5_error("writing /%s", name);
    else if (H5DSset_label(d, 0, axis) < 0)
        rc = rm_h5_error("labelling /%s", name);
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
    return rc;
}

static void iso_time(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_root_attrs(rm_dataset_writer *w, const rm_split_spec *split)
{
    hid_t f = w->file;
    char created[64];
    iso_time(created, sizeof created);
    if (w->shared) RM_TRY(rm_ranks_broadcast(created, sizeof created));   /* one value for a collective write */
    RM_TRY(rm_h5_attr_set_string(f, "schema", RM_DATASET_SCHEMA));
    RM_TRY(rm_h5_attr_set_int(f, "schema_version", RM_DATASET_SCHEMA_VERSION));
    RM_TRY(rm_h5_attr_set_int(f, "num_classes", w->num_classes));
    if (w->num_classes > 0)
        RM_TRY(rm_h5_attr_set_strings(f, "class_names", w->num_classes,
                                      (const char *const *)w->class_names));
    RM_TRY(rm_h5_attr_set_strings(f, "split_names", w->unlabeled ? RM_SPLIT_NAMES : RM_SPLIT_COUNT,
                                  rm_split_names));
    if (w->unlabeled) RM_TRY(rm_h5_attr_set_int(f, "unlabeled", 1));
    RM_TRY(rm_h5_attr_set_string(f, "source_format", w->source_format));
    RM_TRY(rm_h5_attr_set_string(f, "source_path", w->source_path));
    RM_TRY(rm_h5_attr_set_string(f, "tool_version", rm_version_string()));
    RM_TRY(rm_h5_attr_set_string(f, "created", created));
    if (!w->unlabeled) {   /* an unlabeled file has one split, drawn by nothing */
        RM_TRY(rm_h5_attr_set_double(f, "split_val_fraction", split->val_fraction));
        RM_TRY(rm_h5_attr_set_double(f, "split_test_fraction", split->test_fraction));
        RM_TRY(rm_h5_attr_set_int(f, "split_seed", (int64_t)split->seed));
    }
    for (int i = 0; i < w->num_attrs; i++) {
        const attr_kv *a = &w->attrs[i];
        if (a->kind == ATTR_STRING) RM_TRY(rm_h5_attr_set_string(f, a->name, a->text));
        else if (a->kind == ATTR_INT) RM_TRY(rm_h5_attr_set_int(f, a->name, a->integer));
        else RM_TRY(rm_h5_attr_set_doubles(f, a->name, a->count, a->reals));
    }
    return 0;
}

int rm_dataset_writer_set_source(rm_dataset_writer *w, const char *source)
{
    if (w->shared) return rm_error("a shared dataset writer takes sources with its blocks");
    if (w->count == 0) return rm_error("a record's source set before any record");
    RM_TRY(source_room(w, w->count));
    char **slot = &w->sources[w->count - 1];
    free(*slot);
    if (!(*slot = rm_strdup(source))) return -1;
    w->has_sources = 1;
    return 0;
}

/* /source: a variable-length UTF-8 string per record ("" where unknown),
 * into `file`. */
static int write_sources(rm_dataset_writer *w, hid_t file)
{
    if (!w->has_sources) return 0;
    const char **v = rm_malloc((w->count ? w->count : 1) * sizeof *v, "record sources");
    if (!v) return -1;
    for (size_t i = 0; i < w->count; i++) v[i] = i < w->sources_capacity && w->sources[i] ? w->sources[i] : "";
    hsize_t n = w->count;
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate_simple(1, &n, NULL), d = -1;
    int rc = type < 0 || space < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0;
    if (!rc) d = H5Dcreate2(file, "source", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (rc || d < 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) rc = 1;
    if (!rc) rc = rm_h5_attr_set_string(d, "description", "where each record came from: a file path relative to the "
                                        "input folder, or file:line (CSV) or file:index (IDX, NPY)") != 0;
    if (d >= 0) H5Dclose(d);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    free(v);
    return rc ? rm_h5_error("writing /source") : 0;
}

static int write_flags(rm_dataset_writer *w)
{
    for (int i = 0; i < w->num_flags; i++) {
        const flag_vector *v = &w->flags[i];
        if (v->count != w->count)
            return rm_error("/%s has %zu values for %zu records", v->name, v->count, w->count);
        RM_TRY(write_vector(w, v->name, H5T_STD_U8LE, H5T_NATIVE_UINT8, v->count, v->values, "N"));
        if (v->description[0]) {
            hid_t d = H5Dopen2(w->file, v->name, H5P_DEFAULT);
            if (d < 0) return rm_h5_error("opening /%s", v->name);
            int rc = rm_h5_attr_set_string(d, "description", v->description);
            H5Dclose(d);
            RM_TRY(rc);
        }
    }
    return 0;
}

/* Parallel HDF5 writes no variable-length data: rank 0 adds /source to
 * the shared file once every rank has closed it. */
static int add_sources(rm_dataset_writer *w)
{
    if (!w->has_sources) return 0;
    hid_t f = H5Fopen(w->out.tmp_path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return rm_h5_error("reopening %s", w->out.tmp_path);
    int rc = write_sources(w, f);
    if (H5Fclose(f) < 0 && rc == 0) rc = rm_h5_error("closing the file failed (disk full?)");
    return rc;
}

int rm_dataset_writer_finish(rm_dataset_writer *w, const rm_split_spec *split)
{
    const char *path = w->out.final_path;
    int64_t pool = 0, unassigned = 0;
    for (size_t i = 0; i < w->count; i++) {
        pool += w->split[i] == RM_SPLIT_POOL;
        unassigned += w->split[i] == RM_SPLIT_UNASSIGNED;
    }
    int rc = 0;
    if (flush(w) != 0 ||
        (!w->unlabeled && rm_split_assign(w->split, w->labels, w->count, w->num_classes, split) != 0) ||
        write_vector(w, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, w->count, w->labels, "N") != 0 ||
        write_vector(w, "split", H5T_STD_U8LE, H5T_NATIVE_UINT8, w->count, w->split, "N") != 0 ||
        write_flags(w) != 0 ||
        (!w->shared && write_sources(w, w->file) != 0) ||
        write_root_attrs(w, split) != 0 ||
        (!w->unlabeled &&
         (rm_h5_attr_set_int(w->file, "split_records_given", (int64_t)w->count - pool - unassigned) != 0 ||
          rm_h5_attr_set_int(w->file, "split_records_pooled", pool) != 0 ||
          rm_h5_attr_set_int(w->file, "split_records_drawn", unassigned) != 0)))
        rc = rm_error_prefix("%s", path);
    if (agree_if(w->shared, rc) != 0) {
        rm_dataset_writer_abort(w);
        return -1;
    }
    H5Dclose(w->images);
    w->images = -1;
    if (w->regions > 0) H5Dclose(w->regions);
    w->regions = -1;
    herr_t st = H5Fclose(w->file);
    w->file = -1;
    rc = st < 0 ? rm_h5_error("%s: closing the file failed (disk full?)", path) : 0;
    if (rc == 0 && w->shared && w->owner && add_sources(w) != 0) rc = rm_error_prefix("%s", path);
    if (agree_if(w->shared, rc) != 0) {
        rm_dataset_writer_abort(w);
        return -1;
    }
    if (w->owner) {
        rc = rm_output_commit(&w->out);   /* forgets the output, even on failure */
    } else {
        rm_output_keep(&w->out);
    }
    rc = agree_if(w->shared, rc);
    writer_free(w);
    return rc;
}

void rm_dataset_writer_abort(rm_dataset_writer *w)
{
    if (!w) return;
    if (w->images > 0) H5Dclose(w->images);
    if (w->regions > 0) H5Dclose(w->regions);
    if (w->file > 0) H5Fclose(w->file);
    w->images = w->regions = w->file = -1;
    if (w->shared) rm_ranks_barrier();   /* every rank has closed the file before rank 0 removes it */
    if (w->owner) rm_output_abort(&w->out);
    else rm_output_keep(&w->out);
    writer_free(w);
}
