/* Shared by the fuzz targets (tests/fuzz/fuzz_*.c) and the Criterion test
 * that replays their corpora and regressions (tests/test_fuzz_regressions.c).
 * Each target defines int fuzz_<name>(const uint8_t *data, size_t size),
 * which returns 0 whatever the input (a rejected input is not a failure;
 * a crash, leak or sanitizer report is). Built with -DRELMASK_FUZZ_MAIN,
 * FUZZ_TARGET(name) also defines libFuzzer's entry point. */
#ifndef RELMASK_FUZZ_COMMON_H
#define RELMASK_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Quiets relmask's logs and warnings and HDF5's error printing (once). */
void fuzz_init(void);
/* A private scratch directory (under $RELMASK_FUZZ_TMP, else /dev/shm when
 * it exists, else $TMPDIR), removed at exit. */
const char *fuzz_dir(void);
/* Writes bytes to <dir>/<name> and returns the path in a malloc'd string
 * (NULL on failure). */
char *fuzz_write(const char *name, const uint8_t *data, size_t size);
/* A tiny valid dataset (FUZZ_DS_COUNT gray FUZZ_DS_SIDE x FUZZ_DS_SIDE
 * images, 3 classes, splits train/val/test in turn) for the relevance
 * importers, written once. */
enum { FUZZ_DS_COUNT = 6, FUZZ_DS_SIDE = 8 };
const char *fuzz_dataset(void);
/* Offset of the second "\x93NUMPY" (where a second .npy file starts) or
 * size: the NPY targets take two files in one input. */
size_t fuzz_npy_cut(const uint8_t *data, size_t size);
/* Removes a file if it exists. */
void fuzz_remove(const char *path);

#ifdef RELMASK_FUZZ_MAIN
#define FUZZ_TARGET(name)                                                   \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);           \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)            \
    {                                                                       \
        return fuzz_##name(data, size);                                     \
    }
#else
#define FUZZ_TARGET(name)
#endif

#endif
