/* Minibatch loader: split selection, per-epoch order, normalization,
 * augmentation and a prefetch thread with two batch buffers.
 *
 * Two modes, chosen at open:
 *  - cached: the selected images (uint8) fit in cfg->cache_bytes and are read
 *    once at open; an epoch is an exact uniform permutation of them and the
 *    prefetch thread never calls HDF5 afterwards.
 *  - streaming: the epoch shuffles the order of the HDF5 chunks that hold
 *    selected records, groups them into windows of W chunks (W chunks fit in
 *    cache_bytes, at least one) and shuffles the records within each window.
 *    This is an approximate shuffle: records of one chunk always land in the
 *    same window, so a batch mixes at most the records of W chunks and two
 *    records from one chunk are never more than a window apart. The larger
 *    the window, the closer to a full shuffle. Each chunk is read and
 *    decompressed once per epoch, by the prefetch thread.
 *
 * The order of an epoch and every augmentation decision are functions of
 * (seed, epoch, position/record) only, so results are reproducible and do
 * not depend on thread timing or (for augmentation) on the batch size.
 *
 * A second source (cfg->alt_path, an encoded copy with the same records):
 * at the start of an epoch the chooser marks, per record, which file its
 * image comes from. Cached mode then keeps both files in memory; streaming
 * mode keeps a window per file and reads from each file only the span of a
 * chunk's records that take their image from it.
 *
 * A network input of another size or channel count (cfg->input_*, eval
 * and predict --resize): the producer converts each image with a resizer
 * made at open (core/image.h, the resampler of ingest --size) into one
 * buffer, then augments and normalizes it as if it had been ingested so.
 *
 * Threading: the prefetch thread prepares batch k+1 while the caller uses
 * batch k. It is deliberately single-threaded (no OpenMP): the training
 * thread runs oneDNN's OpenMP team at the same time, and preparing a batch
 * of 64 x 48x48 takes ~0.1 ms (flip/shift) to ~1 ms (rotation) on one core.
 * Every HDF5 call here is made under rm_hdf5_lock() (src/core/h5lock.h);
 * in cached mode the thread makes none. Nothing is allocated per batch. */
#include "train/loader.h"

#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/h5lock.h"
#include "core/h5util.h"
#include "core/image.h"
#include "core/pixels.h"
#include "core/rng.h"

#define DEFAULT_CACHE_BYTES ((size_t)2 << 30)
#define READ_BLOCK_RECORDS 4096
#define READ_BLOCK_MAX_BYTES ((size_t)64 << 20)
#define DEFAULT_CHUNK_RECORDS 64

/* rng stream ids ("LDRORDER", "LDRAUGMT") */
static const uint64_t STREAM_ORDER = 0x4c44524f52444552ULL;
static const uint64_t STREAM_AUGMENT = 0x4c44524155474d54ULL;

struct rm_loader {
    rm_dataset ds;
    int ds_open;
    rm_dataset alt;               /* second source (cfg->alt_path) */
    int alt_open, has_alt;
    rm_source_chooser choose;
    const void *choose_ctx;
    int split, batch_size, shuffle, drop_last;
    int rows, row0;            /* the part of each batch delivered: rows [row0, row0 + rows) */
    rm_augment aug;
    int augment;                  /* any augmentation enabled */
    uint64_t seed;
    int C, H, W;                  /* the input shape the batches have */
    size_t plane, img_bytes;      /* H*W, C*H*W of a dataset image as stored */
    size_t in_elems;              /* C*H*W: floats per batch image */
    rm_image_resizer *resizer;    /* the data's shape to C,H,W, NULL when they agree (producer thread only) */
    uint8_t *resized;             /* [C, H, W] its output */
    rm_pixel_norm norm;           /* bytes: its table; interpolated values: scale and bias */

    size_t n;                     /* selected records */
    int64_t *sel;                 /* [n] record indices, ascending */
    size_t batches;
    int64_t *order;               /* [n] positions into sel, epoch order */

    uint8_t *cache;               /* cached mode: [n, C, H, W] in sel order */
    uint8_t *alt_cache;           /* the same from the second source */
    uint8_t *use_alt;             /* [n] per sel position: this epoch's source */
    size_t epoch_alt, epoch_samples;

    int streaming;
    size_t chunk;                 /* records per HDF5 chunk */
    size_t nchunks;               /* chunks holding selected records */
    int64_t *chunk_id;            /* [nchunks] file chunk index */
    size_t *chunk_first;          /* [nchunks + 1] first sel position of each */
    int64_t *chunk_perm;          /* [nchunks] epoch chunk order */
    size_t win_chunks, nwin;      /* chunks per window, windows per epoch */
    size_t *win_start;            /* [nwin + 1] first order index of each window */
    uint8_t *window;              /* [win_chunks * chunk, C, H, W] */
    uint8_t *alt_window;          /* the same for the second source */
    int32_t *chunk_slot;          /* [file chunks] slot of a chunk in the window */
    long cur_win;                 /* window now loaded (producer thread only) */

    int32_t *xmap;                /* [W] scratch (producer thread only) */
    rm_batch buf[2];

    /* prefetch state, guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t ready, space;
    int sync_init;
    pthread_t thread;
    int thread_running;
    int started, epoch, stop, failed;
    size_t produced, consumed, released;
    char errmsg[1024];
};

static void shuffle_i64(rm_rng *rng, int64_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rm_rng_below(rng, i);
        int64_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static int split_selected(int split, uint8_t s) { return split < 0 || s == (uint8_t)split; }

static int check_split(const char *path, int split)
{
    if (split < -1 || split >= RM_SPLIT_NAMES)
        return rm_error("%s: split %d is not valid (0 train, 1 val, 2 test, 3 unlabeled, -1 all)", path, split);
    return 0;
}

static int empty_split_error(const char *path, int split)
{
    if (split < 0) return rm_error("%s: the file has no records", path);
    return rm_error("%s: the %s split is empty", path, rm_split_names[split]);
}

/* Records per read call for `record_bytes`-sized records. */
static size_t read_block_records(size_t record_bytes)
{
    size_t block = READ_BLOCK_RECORDS;
    if (block * record_bytes > READ_BLOCK_MAX_BYTES) block = READ_BLOCK_MAX_BYTES / record_bytes;
    return block ? block : 1;
}

static int read_images_locked(const rm_dataset *ds, size_t start, size_t count, uint8_t *out)
{
    rm_hdf5_lock();
    int rc = rm_dataset_read_images(ds, start, count, out);
    rm_hdf5_unlock();
    return rc;
}

/* --- augmentation and normalization ------------------------------------ */

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* One image src [C,H,W] uint8 of record `rec` -> out [C,H,W] float. The
 * output pixel (x, y) samples the source at the inverse of
 * flip o shift o rotation (rotation about the image centre first), with
 * edge replication outside the image. */
static void prepare_image(rm_loader *L, const uint8_t *src, int64_t rec, float *out)
{
    const int C = L->C, H = L->H, W = L->W;
    const size_t plane = L->plane;
    if (!L->augment) {
        rm_pixel_norm_image(&L->norm, src, out, plane);
        return;
    }
    /* Every decision is drawn, enabled or not, so enabling one kind of
     * augmentation does not change the others. */
    rm_rng rng;
    rm_rng_seed(&rng, L->seed, STREAM_AUGMENT, (uint64_t)L->epoch * (uint64_t)L->ds.count + (uint64_t)rec);
    int flip = (int)(rm_rng_next(&rng) >> 63) & (L->aug.hflip != 0);
    int shift = L->aug.shift;
    int dx = (int)rm_rng_below(&rng, (uint64_t)(2 * shift + 1)) - shift;
    int dy = (int)rm_rng_below(&rng, (uint64_t)(2 * shift + 1)) - shift;
    double angle = rm_rng_range(&rng, -L->aug.rotate_deg, L->aug.rotate_deg);

    if (angle == 0.0) {
        int32_t *xmap = L->xmap;
        for (int x = 0; x < W; x++) xmap[x] = clampi((flip ? W - 1 - x : x) - dx, 0, W - 1);
        for (int y = 0; y < H; y++) {
            int ys = clampi(y - dy, 0, H - 1);
            for (int c = 0; c < C; c++) {
                const float *lut = L->norm.lut[c];
                const uint8_t *s = src + c * plane + (size_t)ys * W;
                float *o = out + c * plane + (size_t)y * W;
                for (int x = 0; x < W; x++) o[x] = lut[s[xmap[x]]];
            }
        }
        return;
    }

    const double rad = angle * (3.14159265358979323846 / 180.0);
    const float cs = (float)cos(rad), sn = (float)sin(rad);
    const float cx = 0.5f * (W - 1), cy = 0.5f * (H - 1);
    const float xmax = (float)(W - 1), ymax = (float)(H - 1);
    /* Source of output x on row y: u = (flip ? W-1-x : x) - dx - cx,
     * v = y - dy - cy; xs = cx + cs*u - sn*v, ys = cy + sn*u + cs*v. */
    const float u0 = (float)((flip ? W - 1 : 0) - dx) - cx, du = flip ? -1.0f : 1.0f;
    for (int y = 0; y < H; y++) {
        const float v = (float)(y - dy) - cy;
        const float xa = cx + cs * u0 - sn * v, xb = cs * du;
        const float ya = cy + sn * u0 + cs * v, yb = sn * du;
        float *orow = out + (size_t)y * W;
        for (int x = 0; x < W; x++) {
            /* Clamping the coordinate is exactly bilinear with edge replication. */
            float xs = xa + xb * (float)x, ys = ya + yb * (float)x;
            xs = xs > 0.0f ? xs : 0.0f;
            xs = xs < xmax ? xs : xmax;
            ys = ys > 0.0f ? ys : 0.0f;
            ys = ys < ymax ? ys : ymax;
            int x0 = (int)xs, y0 = (int)ys;
            int x1 = x0 + (x0 < W - 1), y1 = y0 + (y0 < H - 1);
            float fx = xs - (float)x0, fy = ys - (float)y0;
            int i00 = y0 * W + x0, i01 = y0 * W + x1, i10 = y1 * W + x0, i11 = y1 * W + x1;
            for (int c = 0; c < C; c++) {
                const uint8_t *s = src + c * plane;
                float top = (float)s[i00] + fx * (float)(s[i01] - s[i00]);
                float bot = (float)s[i10] + fx * (float)(s[i11] - s[i10]);
                float val = top + fy * (bot - top);
                orow[c * plane + x] = val * L->norm.scale[c] + L->norm.bias[c];
            }
        }
    }
}

/* --- producer ----------------------------------------------------------- */

static int source_of(const rm_loader *L, size_t pos) { return L->has_alt && L->use_alt[pos]; }

/* Reads window w of the epoch's chunk order into the window buffers. */
static int load_window(rm_loader *L, size_t w)
{
    size_t first = w * L->win_chunks;
    size_t last = first + L->win_chunks < L->nchunks ? first + L->win_chunks : L->nchunks;
    size_t chunk_bytes = L->chunk * L->img_bytes;
    for (size_t j = first; j < last; j++) {
        size_t k = (size_t)L->chunk_perm[j];
        int64_t c = L->chunk_id[k];
        size_t slot = j - first;
        for (int src = 0; src <= L->has_alt; src++) {
            /* Only the span from the chunk's first to last selected record
             * that takes its image from this source this epoch. */
            int64_t r0 = -1, r1 = -1;
            for (size_t p = L->chunk_first[k]; p < L->chunk_first[k + 1]; p++)
                if (source_of(L, p) == src) {
                    if (r0 < 0) r0 = L->sel[p];
                    r1 = L->sel[p] + 1;
                }
            if (r0 < 0) continue;
            uint8_t *base = src ? L->alt_window : L->window;
            uint8_t *dst = base + slot * chunk_bytes + (size_t)(r0 - c * (int64_t)L->chunk) * L->img_bytes;
            RM_TRY(read_images_locked(src ? &L->alt : &L->ds, (size_t)r0, (size_t)(r1 - r0), dst));
        }
        L->chunk_slot[c] = (int32_t)slot;
    }
    L->cur_win = (long)w;
    return 0;
}

static int fill_batch(rm_loader *L, size_t k, rm_batch *b)
{
    const size_t B = (size_t)L->rows, first = k * (size_t)L->batch_size + (size_t)L->row0;
    const size_t count = first >= L->n ? 0 : L->n - first < B ? L->n - first : B;
    const size_t elems = L->in_elems;
    for (size_t i = 0; i < count; i++) {
        size_t oi = first + i;
        int64_t pos = L->order[oi];
        int64_t rec = L->sel[pos];
        int alt = source_of(L, (size_t)pos);
        const uint8_t *src;
        if (L->streaming) {
            while (L->cur_win < 0 || oi >= L->win_start[L->cur_win + 1])
                RM_TRY(load_window(L, (size_t)(L->cur_win + 1)));
            size_t slot = (size_t)L->chunk_slot[rec / (int64_t)L->chunk];
            src = (alt ? L->alt_window : L->window) +
                  (slot * L->chunk + (size_t)(rec % (int64_t)L->chunk)) * L->img_bytes;
        } else {
            src = (alt ? L->alt_cache : L->cache) + (size_t)pos * L->img_bytes;
        }
        if (L->resizer) {
            rm_image_resizer_apply(L->resizer, src, L->resized);
            src = L->resized;
        }
        prepare_image(L, src, rec, b->images + i * elems);
        b->labels[i] = L->ds.labels[rec];
        b->indices[i] = rec;
        b->from_alt[i] = (uint8_t)alt;
    }
    if (count < B) {
        memset(b->images + count * elems, 0, (B - count) * elems * sizeof *b->images);
        for (size_t i = count; i < B; i++) {
            b->labels[i] = 0;
            b->indices[i] = -1;
            b->from_alt[i] = 0;
        }
    }
    b->count = (int)count;
    return 0;
}

static void *producer(void *arg)
{
    rm_loader *L = arg;
    if (L->streaming) {
        /* Debian's libhdf5 is built thread-safe: its error stack and the
         * automatic printing switch are per thread (rm_h5_init silenced
         * only the thread that called it first). */
        rm_hdf5_lock();
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        rm_hdf5_unlock();
    }
    for (size_t k = 0; k < L->batches; k++) {
        pthread_mutex_lock(&L->mu);
        /* Batch k goes into buffer k % 2; the caller may still hold k - 2. */
        while (!L->stop && k >= L->released + 2) pthread_cond_wait(&L->space, &L->mu);
        int stop = L->stop;
        pthread_mutex_unlock(&L->mu);
        if (stop) break;

        int rc = fill_batch(L, k, &L->buf[k % 2]);

        pthread_mutex_lock(&L->mu);
        if (rc != 0) {
            snprintf(L->errmsg, sizeof L->errmsg, "%s", rm_error_message());
            L->failed = 1;
        } else {
            L->produced = k + 1;
        }
        pthread_cond_signal(&L->ready);
        pthread_mutex_unlock(&L->mu);
        if (rc != 0) break;
    }
    return NULL;
}

static void stop_thread(rm_loader *L)
{
    if (!L->thread_running) return;
    pthread_mutex_lock(&L->mu);
    L->stop = 1;
    pthread_cond_broadcast(&L->space);
    pthread_mutex_unlock(&L->mu);
    pthread_join(L->thread, NULL);
    L->thread_running = 0;
    L->stop = 0;
}

/* --- epoch order -------------------------------------------------------- */

static void make_order(rm_loader *L, int epoch)
{
    rm_rng rng;
    rm_rng_seed(&rng, L->seed, STREAM_ORDER, (uint64_t)epoch);
    if (!L->streaming) {
        for (size_t i = 0; i < L->n; i++) L->order[i] = (int64_t)i;
        if (L->shuffle) shuffle_i64(&rng, L->order, L->n);
        return;
    }
    for (size_t k = 0; k < L->nchunks; k++) L->chunk_perm[k] = (int64_t)k;
    if (L->shuffle) shuffle_i64(&rng, L->chunk_perm, L->nchunks);
    size_t o = 0;
    for (size_t w = 0; w < L->nwin; w++) {
        L->win_start[w] = o;
        size_t last = (w + 1) * L->win_chunks < L->nchunks ? (w + 1) * L->win_chunks : L->nchunks;
        for (size_t j = w * L->win_chunks; j < last; j++) {
            size_t k = (size_t)L->chunk_perm[j];
            for (size_t p = L->chunk_first[k]; p < L->chunk_first[k + 1]; p++) L->order[o++] = (int64_t)p;
        }
        if (L->shuffle) shuffle_i64(&rng, L->order + L->win_start[w], o - L->win_start[w]);
    }
    L->win_start[L->nwin] = o;
}

/* --- open --------------------------------------------------------------- */

static int query_chunk_records(rm_loader *L)
{
    L->chunk = DEFAULT_CHUNK_RECORDS;
    rm_hdf5_lock();
    int rc = 0;
    hid_t d = H5Dopen2((hid_t)L->ds.hfile, "images", H5P_DEFAULT);
    if (d < 0) {
        rc = rm_h5_error("%s: opening /images", L->ds.path);
    } else {
        hid_t pl = H5Dget_create_plist(d);
        if (pl >= 0) {
            hsize_t dims[4];
            if (H5Pget_layout(pl) == H5D_CHUNKED && H5Pget_chunk(pl, 4, dims) == 4 && dims[0] >= 1)
                L->chunk = (size_t)dims[0];
            H5Pclose(pl);
        }
        H5Dclose(d);
    }
    rm_hdf5_unlock();
    return rc;
}

/* Cached mode: reads the selected records of `ds` in blocks, directly into
 * `cache` where a block's selected records are contiguous in the file. */
static int read_cache(rm_loader *L, const rm_dataset *ds, uint8_t *cache)
{
    size_t block = read_block_records(L->img_bytes);
    uint8_t *tmp = NULL;
    int rc = 0;
    for (size_t p = 0; p < L->n && rc == 0;) {
        int64_t r0 = L->sel[p];
        size_t q = p;
        while (q < L->n && L->sel[q] < r0 + (int64_t)block) q++;
        size_t span = (size_t)(L->sel[q - 1] + 1 - r0);
        if (span == q - p) {
            rc = read_images_locked(ds, (size_t)r0, span, cache + p * L->img_bytes);
        } else {
            if (!tmp && !(tmp = rm_malloc(block * L->img_bytes, "image read buffer"))) {
                rc = -1;
                break;
            }
            rc = read_images_locked(ds, (size_t)r0, span, tmp);
            for (size_t i = p; i < q && rc == 0; i++)
                memcpy(cache + i * L->img_bytes, tmp + (size_t)(L->sel[i] - r0) * L->img_bytes,
                       L->img_bytes);
        }
        p = q;
    }
    free(tmp);
    return rc;
}

static int setup_streaming(rm_loader *L, size_t cache_bytes)
{
    L->streaming = 1;
    RM_TRY(query_chunk_records(L));
    size_t file_chunks = (L->ds.count + L->chunk - 1) / L->chunk;
    size_t nch = 0;
    for (size_t p = 0; p < L->n; p++)
        if (p == 0 || L->sel[p] / (int64_t)L->chunk != L->sel[p - 1] / (int64_t)L->chunk) nch++;
    L->nchunks = nch;
    size_t chunk_bytes;
    RM_TRY(rm_size_mul(&chunk_bytes, L->chunk, L->img_bytes, SIZE_MAX, "chunk size"));
    L->win_chunks = cache_bytes / (chunk_bytes * (size_t)(1 + L->has_alt));
    if (L->win_chunks < 1) L->win_chunks = 1;
    if (L->win_chunks > nch) L->win_chunks = nch;
    L->nwin = (nch + L->win_chunks - 1) / L->win_chunks;
    L->chunk_id = rm_malloc(nch * sizeof *L->chunk_id, "chunk list");
    L->chunk_first = rm_malloc((nch + 1) * sizeof *L->chunk_first, "chunk list");
    L->chunk_perm = rm_malloc(nch * sizeof *L->chunk_perm, "chunk order");
    L->win_start = rm_malloc((L->nwin + 1) * sizeof *L->win_start, "window list");
    L->chunk_slot = rm_calloc(file_chunks, sizeof *L->chunk_slot, "chunk slots");
    L->window = rm_malloc(L->win_chunks * chunk_bytes, "streaming window");
    if (L->has_alt) L->alt_window = rm_malloc(L->win_chunks * chunk_bytes, "streaming window");
    if (!L->chunk_id || !L->chunk_first || !L->chunk_perm || !L->win_start || !L->chunk_slot || !L->window ||
        (L->has_alt && !L->alt_window))
        return -1;
    size_t k = 0;
    for (size_t p = 0; p < L->n; p++) {
        int64_t c = L->sel[p] / (int64_t)L->chunk;
        if (p == 0 || c != L->chunk_id[k - 1]) {
            L->chunk_id[k] = c;
            L->chunk_first[k] = p;
            k++;
        }
    }
    L->chunk_first[nch] = L->n;
    return 0;
}

static int open_impl(rm_loader *L, const rm_loader_config *cfg)
{
    if (!cfg->path) return rm_error("loader: no dataset path given");
    RM_TRY(check_split(cfg->path, cfg->split));
    if (cfg->batch < 1) return rm_error("%s: batch size %d, expected >= 1", cfg->path, cfg->batch);
    int parts = cfg->parts > 1 ? cfg->parts : 1;
    if (cfg->batch % parts != 0 || cfg->part < 0 || cfg->part >= parts)
        return rm_error("%s: part %d of %d of a batch of %d, expected a part 0..%d of a batch that %d divides",
                        cfg->path, cfg->part, parts, cfg->batch, parts - 1, parts);
    if (cfg->augment.shift < 0 || cfg->augment.shift > 4096)
        return rm_error("%s: augmentation shift %d, expected 0..4096", cfg->path, cfg->augment.shift);
    if (!(cfg->augment.rotate_deg >= 0 && cfg->augment.rotate_deg <= 180))
        return rm_error("%s: augmentation rotation %g degrees, expected 0..180", cfg->path,
                        cfg->augment.rotate_deg);

    if (pthread_mutex_init(&L->mu, NULL) != 0) return rm_error("loader: cannot create a mutex");
    if (pthread_cond_init(&L->ready, NULL) != 0) {
        pthread_mutex_destroy(&L->mu);
        return rm_error("loader: cannot create a condition variable");
    }
    if (pthread_cond_init(&L->space, NULL) != 0) {
        pthread_cond_destroy(&L->ready);
        pthread_mutex_destroy(&L->mu);
        return rm_error("loader: cannot create a condition variable");
    }
    L->sync_init = 1;

    rm_hdf5_lock();
    int rc = cfg->allow_unlabeled ? rm_dataset_open_unlabeled_ok(&L->ds, cfg->path) : rm_dataset_open(&L->ds, cfg->path);
    rm_hdf5_unlock();
    RM_TRY(rc);
    L->ds_open = 1;
    const char *path = L->ds.path;
    if (cfg->alt_path) {
        if (!cfg->choose) return rm_error("loader: a second source %s needs a source chooser", cfg->alt_path);
        rm_hdf5_lock();
        rc = rm_dataset_open(&L->alt, cfg->alt_path);
        rm_hdf5_unlock();
        RM_TRY(rc);
        L->alt_open = L->has_alt = 1;
        L->choose = cfg->choose;
        L->choose_ctx = cfg->choose_ctx;
        RM_TRY(rm_dataset_check_same_records(&L->ds, &L->alt, 1));
    }

    L->split = cfg->split;
    L->batch_size = cfg->batch;
    L->rows = cfg->batch / parts;
    L->row0 = cfg->part * L->rows;
    L->shuffle = cfg->shuffle;
    L->drop_last = cfg->drop_last;
    L->aug = cfg->augment;
    L->augment = cfg->augment.hflip || cfg->augment.shift > 0 || cfg->augment.rotate_deg > 0;
    L->seed = cfg->seed;
    L->img_bytes = (size_t)L->ds.channels * L->ds.height * L->ds.width;
    L->C = cfg->input_channels ? cfg->input_channels : L->ds.channels;
    L->H = cfg->input_height ? cfg->input_height : L->ds.height;
    L->W = cfg->input_width ? cfg->input_width : L->ds.width;
    L->plane = (size_t)L->H * L->W;
    L->in_elems = (size_t)L->C * L->plane;
    if (L->C != L->ds.channels || L->H != L->ds.height || L->W != L->ds.width) {
        RM_TRY(rm_image_resizer_create(&L->resizer, L->ds.channels, L->ds.height, L->ds.width, L->C, L->H, L->W));
        if (!(L->resized = rm_malloc(L->in_elems, "resized image"))) return -1;
    }

    for (int c = 0; c < L->C; c++) {
        double m = cfg->mean ? cfg->mean[c] : 0.0, s = cfg->std ? cfg->std[c] : 1.0;
        if (!(s > 0) || !isfinite(s) || !isfinite(m))
            return rm_error("%s: normalization of channel %d: mean %g, std %g (std must be > 0)", path, c,
                            m, s);
    }
    RM_TRY(rm_pixel_norm_init(&L->norm, L->C, cfg->mean, cfg->std));

    size_t n = 0;
    for (size_t i = 0; i < L->ds.count; i++) n += (size_t)split_selected(L->split, L->ds.split[i]);
    if (n == 0) return empty_split_error(path, L->split);
    L->n = n;
    L->batches = L->drop_last ? n / (size_t)L->batch_size : (n + (size_t)L->batch_size - 1) / (size_t)L->batch_size;
    L->sel = rm_malloc(n * sizeof *L->sel, "record selection");
    L->order = rm_malloc(n * sizeof *L->order, "epoch order");
    L->xmap = rm_malloc((size_t)L->W * sizeof *L->xmap, "augmentation scratch");
    if (L->has_alt) L->use_alt = rm_calloc(n, 1, "record sources");
    if (!L->sel || !L->order || !L->xmap || (L->has_alt && !L->use_alt)) return -1;
    for (size_t i = 0, k = 0; i < L->ds.count; i++)
        if (split_selected(L->split, L->ds.split[i])) L->sel[k++] = (int64_t)i;

    size_t batch_floats;
    RM_TRY(rm_size_mul(&batch_floats, (size_t)L->rows, L->in_elems, SIZE_MAX / sizeof(float), "batch buffer"));
    for (int i = 0; i < 2; i++) {
        rm_batch *b = &L->buf[i];
        b->images = rm_calloc(batch_floats, sizeof *b->images, "batch images");
        b->labels = rm_calloc((size_t)L->rows, sizeof *b->labels, "batch labels");
        b->indices = rm_calloc((size_t)L->rows, sizeof *b->indices, "batch indices");
        b->from_alt = rm_calloc((size_t)L->rows, sizeof *b->from_alt, "batch sources");
        if (!b->images || !b->labels || !b->indices || !b->from_alt) return -1;
    }

    size_t cache_bytes = cfg->cache_bytes ? cfg->cache_bytes : DEFAULT_CACHE_BYTES;
    size_t total;
    if (rm_size_mul(&total, n, L->img_bytes, cache_bytes / (size_t)(1 + L->has_alt), "image cache") == 0) {
        L->cache = rm_malloc(total, "image cache");
        if (L->has_alt) L->alt_cache = rm_malloc(total, "image cache");
        if (!L->cache || (L->has_alt && !L->alt_cache)) return -1;
        RM_TRY(read_cache(L, &L->ds, L->cache));
        return L->has_alt ? read_cache(L, &L->alt, L->alt_cache) : 0;
    }
    rm_error_clear();
    return setup_streaming(L, cache_bytes);
}

int rm_loader_open(rm_loader **out, const rm_loader_config *cfg)
{
    *out = NULL;
    rm_loader *L = rm_calloc(1, sizeof *L, "loader");
    if (!L) return -1;
    L->ds.hfile = -1;
    L->alt.hfile = -1;
    L->cur_win = -1;
    if (open_impl(L, cfg) != 0) {
        rm_loader_close(L);
        return -1;
    }
    *out = L;
    return 0;
}

size_t rm_loader_size(const rm_loader *l) { return l->n; }
size_t rm_loader_epoch_alt(const rm_loader *l, size_t *samples)
{
    if (samples) *samples = l->epoch_samples;
    return l->epoch_alt;
}
size_t rm_loader_batches(const rm_loader *l) { return l->batches; }
const rm_dataset *rm_loader_dataset(const rm_loader *l) { return &l->ds; }

/* This epoch's source of every record, and the count from the second
 * source among the samples the epoch's batches deliver. */
static void choose_sources(rm_loader *L, int epoch)
{
    size_t used = L->batches * (size_t)L->batch_size;
    L->epoch_samples = used < L->n ? used : L->n;
    L->epoch_alt = 0;
    if (!L->has_alt) return;
    for (size_t p = 0; p < L->n; p++) L->use_alt[p] = L->choose(L->choose_ctx, epoch, L->sel[p]) != 0;
    for (size_t i = 0; i < L->epoch_samples; i++) L->epoch_alt += L->use_alt[L->order[i]];
}

int rm_loader_start_epoch(rm_loader *L, int epoch)
{
    if (epoch < 0) return rm_error("%s: epoch %d, expected >= 0", L->ds.path, epoch);
    stop_thread(L);   /* abandons the previous epoch, finished or not */
    make_order(L, epoch);
    choose_sources(L, epoch);
    L->epoch = epoch;
    L->cur_win = -1;
    L->produced = L->consumed = L->released = 0;
    L->failed = 0;
    L->errmsg[0] = 0;
    L->started = 1;
    if (L->batches == 0) return 0;
    if (pthread_create(&L->thread, NULL, producer, L) != 0) {
        L->started = 0;
        return rm_error("%s: cannot start the prefetch thread", L->ds.path);
    }
    L->thread_running = 1;
    return 0;
}

int rm_loader_next(rm_loader *L, const rm_batch **batch)
{
    *batch = NULL;
    if (!L->started) return rm_error("%s: rm_loader_next called before rm_loader_start_epoch", L->ds.path);
    pthread_mutex_lock(&L->mu);
    if (L->released != L->consumed) {   /* the caller is done with the previous batch */
        L->released = L->consumed;
        pthread_cond_signal(&L->space);
    }
    while (L->produced <= L->consumed && !L->failed && L->consumed < L->batches)
        pthread_cond_wait(&L->ready, &L->mu);
    int rc;
    if (L->consumed < L->produced) {
        *batch = &L->buf[L->consumed % 2];
        L->consumed++;
        rc = 1;
    } else if (L->failed) {
        rc = rm_error("%s", L->errmsg);
    } else {
        rc = 0;
    }
    pthread_mutex_unlock(&L->mu);
    return rc;
}

void rm_loader_close(rm_loader *L)
{
    if (!L) return;
    stop_thread(L);
    for (int i = 0; i < 2; i++) {
        free(L->buf[i].images);
        free(L->buf[i].labels);
        free(L->buf[i].indices);
        free(L->buf[i].from_alt);
    }
    free(L->sel);
    free(L->order);
    free(L->xmap);
    rm_image_resizer_destroy(L->resizer);
    free(L->resized);
    free(L->cache);
    free(L->alt_cache);
    free(L->use_alt);
    free(L->alt_window);
    free(L->chunk_id);
    free(L->chunk_first);
    free(L->chunk_perm);
    free(L->win_start);
    free(L->window);
    free(L->chunk_slot);
    if (L->ds_open) {
        rm_hdf5_lock();
        rm_dataset_close(&L->ds);
        rm_hdf5_unlock();
    }
    if (L->alt_open) {
        rm_hdf5_lock();
        rm_dataset_close(&L->alt);
        rm_hdf5_unlock();
    }
    if (L->sync_init) {
        pthread_cond_destroy(&L->space);
        pthread_cond_destroy(&L->ready);
        pthread_mutex_destroy(&L->mu);
    }
    free(L);
}

/* --- channel statistics ------------------------------------------------- */

int rm_dataset_channel_stats(const rm_dataset *ds, int split, float *mean, float *std)
{
    RM_TRY(check_split(ds->path, split));
    size_t n = 0;
    for (size_t i = 0; i < ds->count; i++) n += (size_t)split_selected(split, ds->split[i]);
    if (n == 0) return empty_split_error(ds->path, split);

    const int C = ds->channels;
    const size_t plane = (size_t)ds->height * ds->width, img_bytes = (size_t)C * plane;
    const size_t block = read_block_records(img_bytes);
    uint8_t *tmp = rm_malloc(block * img_bytes, "image read buffer");
    uint64_t(*hist)[256] = rm_calloc((size_t)C, sizeof *hist, "histogram");
    int rc = (!tmp || !hist) ? -1 : 0;
    /* A histogram of byte values per channel: exact counts, then the sums
     * of x/255 and its squared deviation in double precision. */
    for (size_t start = 0; start < ds->count && rc == 0; start += block) {
        size_t end = start + block < ds->count ? start + block : ds->count;
        size_t lo = end, hi = start;
        for (size_t i = start; i < end; i++)
            if (split_selected(split, ds->split[i])) {
                if (lo == end) lo = i;
                hi = i + 1;
            }
        if (lo == end) continue;
        rc = read_images_locked(ds, lo, hi - lo, tmp);
        for (size_t i = lo; i < hi && rc == 0; i++) {
            if (!split_selected(split, ds->split[i])) continue;
            const uint8_t *img = tmp + (i - lo) * img_bytes;
            for (int c = 0; c < C; c++) {
                const uint8_t *s = img + c * plane;
                uint64_t *h = hist[c];
                for (size_t p = 0; p < plane; p++) h[s[p]]++;
            }
        }
    }
    if (rc == 0) {
        double total = (double)n * (double)plane;
        for (int c = 0; c < C; c++) {
            double sum = 0, sq = 0;
            for (int v = 0; v < 256; v++) sum += (double)hist[c][v] * (v / 255.0);
            double m = sum / total;
            for (int v = 0; v < 256; v++) {
                double d = v / 255.0 - m;
                sq += (double)hist[c][v] * d * d;
            }
            double var = sq / total;
            mean[c] = (float)m;
            std[c] = (float)sqrt(var > 1e-12 ? var : 1e-12);
        }
    }
    free(tmp);
    free(hist);
    return rc;
}
