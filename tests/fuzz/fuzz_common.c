#include "fuzz_common.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"

static char dir_path[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_dir(void)
{
    if (dir_path[0]) nftw(dir_path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    rm_log_set_quiet(1);
    rm_warn_set_quiet(1);
    rm_h5_init();
}

const char *fuzz_dir(void)
{
    if (dir_path[0]) return dir_path;
    /* scripts/fuzz.sh names a folder it removes afterwards: libFuzzer ends
     * a run without calling the atexit handlers. */
    struct stat st;
    const char *base = getenv("RELMASK_FUZZ_TMP");
    if (!base || !*base)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                   ? "/dev/shm"
                   : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(dir_path, sizeof dir_path, "%s/relmask-fuzz-XXXXXX", base);
    if (!mkdtemp(dir_path)) {
        fprintf(stderr, "fuzz: cannot create %s: %s\n", dir_path, strerror(errno));
        abort();
    }
    atexit(remove_dir);
    return dir_path;
}

char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    const char *dir = fuzz_dir();
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (!path) return NULL;
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
    return path;
}

void fuzz_remove(const char *path)
{
    if (path) unlink(path);
}

const char *fuzz_dataset(void)
{
    static char path[300];
    if (path[0]) return path;
    fuzz_init();
    snprintf(path, sizeof path, "%s/dataset.h5", fuzz_dir());
    static const char *const names[] = {"a", "b", "c"};
    rm_dataset_spec spec = {.channels = 1, .height = FUZZ_DS_SIDE, .width = FUZZ_DS_SIDE, .num_classes = 3,
                            .class_names = names, .source_format = "fuzz", .source_path = "fuzz"};
    rm_dataset_writer *w;
    uint8_t image[FUZZ_DS_SIDE * FUZZ_DS_SIDE];
    int rc = rm_dataset_writer_open(&w, path, &spec, 1);
    for (int i = 0; rc == 0 && i < FUZZ_DS_COUNT; i++) {
        for (size_t k = 0; k < sizeof image; k++) image[k] = (uint8_t)(i * 37 + k);
        rc = rm_dataset_writer_append(w, image, i % 3, (uint8_t)(i % RM_SPLIT_COUNT), NULL);
    }
    rm_split_spec split = {0};
    if (rc == 0) rc = rm_dataset_writer_finish(w, &split);
    if (rc != 0) {
        fprintf(stderr, "fuzz: cannot write the dataset %s: %s\n", path, rm_error_message());
        abort();
    }
    return path;
}

size_t fuzz_npy_cut(const uint8_t *data, size_t size)
{
    for (size_t i = 1; i + 6 <= size; i++)
        if (!memcmp(data + i, "\x93NUMPY", 6)) return i;
    return size;
}
