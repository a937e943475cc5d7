/* The NPY reader other modules use (src/ingest/npy.h: open, whole-array
 * int and float reads, per-record values) and `relmask relevance import
 * --npy` on the tiny fuzz dataset (FUZZ_DS_COUNT maps of 8x8). Input as
 * for fuzz_npy: maps .npy, then optionally an indices .npy. */
#include "fuzz_common.h"

#include <stdlib.h>

#include "core/npy.h"
#include "relevance/import.h"

/* Whole-array reads are bounded: the reader allocates what the caller asks. */
enum { MAX_VALUES = 1 << 16 };

static void read_back(const char *path)
{
    rm_npy_file f;
    if (rm_npy_open(&f, path) != 0) return;
    char shape[64];
    rm_npy_shape_text(&f, shape, sizeof shape);
    int64_t *ints = NULL;
    if (rm_npy_read_ints(&f, &ints) == 0) free(ints);
    size_t count = f.itemsize ? f.data_bytes / (size_t)f.itemsize : 0;
    if (count <= MAX_VALUES) {
        float *v = malloc((count ? count : 1) * sizeof *v);
        if (v) rm_npy_read_floats(&f, v, count);
        free(v);
    }
    rm_npy_close(&f);
    if (rm_npy_open(&f, path) != 0) return;
    if (f.count > 0 && f.record_bytes <= MAX_VALUES) {
        uint8_t *rec = malloc(f.record_bytes ? f.record_bytes : 1);
        if (rec && rm_npy_read_record(&f, rec, 0) == 0) {
            volatile double sink = 0;
            for (size_t i = 0; i < f.record_bytes / (size_t)f.itemsize; i++) sink += rm_npy_value(&f, rec, i);
            (void)sink;
        }
        free(rec);
    }
    rm_npy_close(&f);
}

int fuzz_relevance_npy(const uint8_t *data, size_t size);
int fuzz_relevance_npy(const uint8_t *data, size_t size)
{
    fuzz_init();
    size_t cut = fuzz_npy_cut(data, size);
    char *maps = fuzz_write("maps.npy", data, cut);
    char *indices = cut < size ? fuzz_write("indices.npy", data + cut, size - cut) : NULL;
    char *out = fuzz_write("relevance.h5", NULL, 0);
    read_back(maps);
    if (indices) read_back(indices);
    rm_import_options o;
    rm_import_options_defaults(&o);
    o.source = RM_IMPORT_NPY;
    o.input = maps;
    o.indices_npy = indices;
    o.data_path = fuzz_dataset();
    o.out_path = out;
    o.force = 1;
    o.deflate_level = 0;
    o.split = (int)(size % 4) - 1;
    o.block = 4;
    rm_relevance_import(&o);
    fuzz_remove(out);
    free(maps);
    free(indices);
    free(out);
    return 0;
}
FUZZ_TARGET(relevance_npy)
