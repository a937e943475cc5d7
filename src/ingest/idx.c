/* IDX ingester (MNIST, Fashion-MNIST, EMNIST). An IDX file is a big-endian
 * header [0, 0, type, ndims] + ndims uint32 sizes, followed by the data in
 * row-major order. Images are [N,H,W] (or [N,H,W,C], C = 1 or 3), labels
 * [N]; only unsigned bytes (type 0x08) are accepted. Files may be
 * gzip-compressed: zlib's gzread reads plain files transparently too.
 * Records are streamed one at a time; record indices in messages are
 * 0-based, like the array indices of the file. */
#include "core/error.h"
#include "ingest/ingest.h"
#include "ingest/sink.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

enum { IDX_TYPE_UBYTE = 0x08, IDX_MAX_DIMS = 4, IDX_DEFAULT_CLASSES = 10 };

typedef struct {
    const char *path;
    gzFile gz;
    size_t header_bytes;
    size_t count;           /* dims[0]: records */
    size_t record_bytes;    /* product of the other dims */
    size_t next;            /* index of the next record to read */
    int height, width, channels;   /* images only */
} idx_file;

/* Reads up to n bytes; *got < n only at the end of the data. */
static int gz_read_full(idx_file *f, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        if (want > INT_MAX / 2) want = INT_MAX / 2;
        int r = gzread(f->gz, (uint8_t *)buf + *got, (unsigned)want);
        if (r < 0) {
            int errnum;
            const char *msg = gzerror(f->gz, &errnum);
            if (errnum == Z_ERRNO)
                return rm_error("%s: read error: %s", f->path, strerror(errno));
            size_t len = strlen(f->path);   /* zlib prefixes the path */
            if (strncmp(msg, f->path, len) == 0 && msg[len] == ':') msg += len + 1;
            while (*msg == ' ') msg++;
            return rm_error("%s: corrupt gzip data: %s", f->path, msg);
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return 0;
}

static void idx_close(idx_file *f)
{
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

static int truncated(const idx_file *f, size_t record, size_t got)
{
    return rm_error("%s: truncated: record %zu of %zu needs %zu bytes, only %zu remain",
                    f->path, record, f->count, f->record_bytes, got);
}

/* Opens and validates an IDX file: labels [N] or images [N,H,W(,C)]. */
static int idx_open(idx_file *f, const char *path, int labels)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return rm_error("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(f->gz, 1 << 16);

    uint8_t magic[4];
    size_t got;
    if (gz_read_full(f, magic, 4, &got) != 0) goto fail;
    if (got < 4) {
        rm_error("%s: not an IDX file (%zu bytes, shorter than the 4-byte magic)", path, got);
        goto fail;
    }
    if (magic[0] != 0 || magic[1] != 0) {
        rm_error("%s: not an IDX file (bad magic 0x%02X%02X%02X%02X)", path, magic[0],
                 magic[1], magic[2], magic[3]);
        goto fail;
    }
    if (magic[2] != IDX_TYPE_UBYTE) {
        rm_error("%s: unsupported IDX element type 0x%02X, expected 0x08 (unsigned byte)",
                 path, magic[2]);
        goto fail;
    }
    int ndims = magic[3];
    if (labels ? ndims != 1 : ndims != 3 && ndims != 4) {
        rm_error("%s: IDX file has %d dimensions, expected %s", path, ndims,
                 labels ? "1 for labels [N]" : "3 [N,H,W] or 4 [N,H,W,C] for images");
        goto fail;
    }
    uint8_t raw[4 * IDX_MAX_DIMS];
    if (gz_read_full(f, raw, 4 * (size_t)ndims, &got) != 0) goto fail;
    if (got < 4 * (size_t)ndims) {
        rm_error("%s: truncated IDX header: expected %d bytes of dimensions, got %zu", path,
                 4 * ndims, got);
        goto fail;
    }
    size_t dims[IDX_MAX_DIMS];
    for (int i = 0; i < ndims; i++)
        dims[i] = (size_t)raw[4 * i] << 24 | (size_t)raw[4 * i + 1] << 16 |
                  (size_t)raw[4 * i + 2] << 8 | raw[4 * i + 3];
    f->header_bytes = 4 + 4 * (size_t)ndims;
    f->count = dims[0];
    f->record_bytes = 1;
    if (!labels) {
        f->height = (int)(dims[1] <= RM_IMAGE_MAX_SIDE ? dims[1] : 0);
        f->width = (int)(dims[2] <= RM_IMAGE_MAX_SIDE ? dims[2] : 0);
        if (f->height == 0 || f->width == 0) {
            rm_error("%s: image size %zux%zu in the IDX header is out of range (1..%d)", path,
                     dims[2], dims[1], RM_IMAGE_MAX_SIDE);
            goto fail;
        }
        f->channels = ndims == 4 ? (int)(dims[3] <= 3 ? dims[3] : 0) : 1;
        if (f->channels != 1 && f->channels != 3) {
            rm_error("%s: IDX images have %zu channels, expected 1 or 3", path, dims[3]);
            goto fail;
        }
        f->record_bytes = (size_t)f->height * (size_t)f->width * (size_t)f->channels;
        if (f->count == 0) {
            rm_error("%s: the IDX header declares 0 images", path);
            goto fail;
        }
    }
    size_t data_bytes;
    if (rm_size_mul(&data_bytes, f->count, f->record_bytes, SIZE_MAX - f->header_bytes,
                    "IDX data") != 0) {
        rm_error_prefix("%s", path);
        goto fail;
    }
    /* A plain file's size is known: report truncation before any work. */
    struct stat st;
    if (gzdirect(f->gz) && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        (size_t)st.st_size < f->header_bytes + data_bytes) {
        size_t have = (size_t)st.st_size - f->header_bytes;
        truncated(f, have / f->record_bytes, have % f->record_bytes);
        goto fail;
    }
    return 0;
fail:
    idx_close(f);
    return -1;
}

static int idx_read(idx_file *f, uint8_t *buf)
{
    size_t got;
    RM_TRY(gz_read_full(f, buf, f->record_bytes, &got));
    if (got < f->record_bytes) return truncated(f, f->next, got);
    f->next++;
    return 0;
}

static void warn_trailing(idx_file *f)
{
    uint8_t byte;
    size_t got;
    if (gz_read_full(f, &byte, 1, &got) == 0 && got == 1)
        rm_warn("%s: ignoring data after the %zu records the IDX header declares", f->path,
                f->count);
}

/* Streams one images/labels pair into the sink. */
static int ingest_pair(rm_ingest_sink *sink, idx_file *images, idx_file *labels,
                       int num_classes, uint8_t split, uint8_t *rec, rm_image *img)
{
    for (size_t i = 0; i < images->count; i++) {
        uint8_t label;
        RM_TRY(idx_read(images, rec));
        RM_TRY(idx_read(labels, &label));
        if (label >= num_classes) {
            RM_TRY(rm_sink_bad(sink, "%s: record %zu: label %d out of range 0..%d",
                               labels->path, i, label, num_classes - 1));
            continue;
        }
        if (img->channels == 3) {   /* [H,W,C] -> planar [C,H,W] */
            size_t plane = (size_t)img->height * (size_t)img->width;
            for (size_t p = 0; p < plane; p++)
                for (int c = 0; c < 3; c++) img->pixels[c * plane + p] = rec[3 * p + c];
        }
        char source[512];
        const char *base = strrchr(images->path, '/');
        snprintf(source, sizeof source, "%s:%zu", base ? base + 1 : images->path, i);
        RM_TRY(rm_sink_add(sink, img, label, split, source));
    }
    warn_trailing(images);
    warn_trailing(labels);
    return 0;
}

int rm_ingest_idx(const char *images_path, const rm_ingest_options *opt)
{
    if (!opt->labels_path)
        return rm_error("idx: --labels is required (the labels file matching %s)", images_path);
    if (!opt->test_images != !opt->test_labels)
        return rm_error("idx: --test-images and --test-labels must be given together");

    /* train images, train labels, test images, test labels */
    idx_file f[4] = {{0}};
    const char *paths[4] = {images_path, opt->labels_path, opt->test_images, opt->test_labels};
    int nfiles = opt->test_images ? 4 : 2;
    rm_ingest_sink *sink = NULL;
    uint8_t *rec = NULL, *planar = NULL;
    int rc = -1;

    for (int i = 0; i < nfiles; i++)
        if (idx_open(&f[i], paths[i], i % 2) != 0) goto done;
    for (int i = 0; i < nfiles; i += 2)
        if (f[i].count != f[i + 1].count) {
            rm_error("%s has %zu images but %s has %zu labels", f[i].path, f[i].count,
                     f[i + 1].path, f[i + 1].count);
            goto done;
        }
    if (nfiles == 4 && (f[2].width != f[0].width || f[2].height != f[0].height ||
                        f[2].channels != f[0].channels)) {
        rm_error("%s: test images are %dx%d with %d channel(s) but %s has %dx%d with %d",
                 f[2].path, f[2].width, f[2].height, f[2].channels, f[0].path, f[0].width,
                 f[0].height, f[0].channels);
        goto done;
    }

    int num_classes = rm_classes_count(opt, IDX_DEFAULT_CLASSES);
    if (num_classes < 1 || num_classes > RM_MAX_CLASSES) {
        rm_error("idx: --classes gives %d classes, expected 1..%d", num_classes, RM_MAX_CLASSES);
        goto done;
    }
    rec = rm_malloc(f[0].record_bytes, "an IDX record");
    if (!rec) goto done;
    rm_image img = {.width = f[0].width, .height = f[0].height, .channels = f[0].channels,
                    .pixels = rec};
    if (img.channels == 3) {
        if (!(planar = rm_malloc(f[0].record_bytes, "an IDX image"))) goto done;
        img.pixels = planar;
    }

    if (rm_sink_open(&sink, opt, "idx", images_path, f[0].width, f[0].height, RM_LABELS_NUMBERED, num_classes,
                     NULL) != 0) {
        sink = NULL;
        goto done;
    }
    if (rm_sink_param(sink, "labels", "%s", opt->labels_path) != 0) goto done;
    if (nfiles == 4 && (rm_sink_param(sink, "test_images", "%s", opt->test_images) != 0 ||
                        rm_sink_param(sink, "test_labels", "%s", opt->test_labels) != 0))
        goto done;

    uint8_t train_split = nfiles == 4 ? RM_SPLIT_POOL : RM_SPLIT_UNASSIGNED;
    if (ingest_pair(sink, &f[0], &f[1], num_classes, train_split, rec, &img) != 0) goto done;
    if (nfiles == 4 &&
        ingest_pair(sink, &f[2], &f[3], num_classes, RM_SPLIT_TEST, rec, &img) != 0)
        goto done;
    rc = rm_sink_finish(sink);
    sink = NULL;   /* finish frees the sink, also on failure */

done:
    if (sink) rm_sink_abort(sink);
    for (int i = 0; i < nfiles; i++) idx_close(&f[i]);
    free(rec);
    free(planar);
    return rc;
}
