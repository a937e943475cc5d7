/* Replays every fuzz target's seed corpus (tests/fuzz/corpus/<target>/) and
 * every input that once crashed it (tests/fuzz/regressions/<target>/)
 * through the same entry code the libFuzzer build uses, so the gcc and
 * ASan/UBSan builds of `make check` exercise the targets too and a fixed
 * crash stays fixed. A target returns normally for every input; a crash,
 * a sanitizer report or a leak (LSan at exit) fails the test. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_targets.h"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Feeds every file of tests/fuzz/<kind>/<target>/ to fn; returns the count. */
static int replay_dir(const char *kind, const char *target, fuzz_fn fn)
{
    const char *root = getenv("RELMASK_ROOT");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", root ? root : ".", kind, target);
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[1024];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 1024;)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        cr_assert(f, "cannot open %s", path);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        rewind(f);
        uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
        cr_assert(data && fread(data, 1, (size_t)size, f) == (size_t)size, "cannot read %s", path);
        fclose(f);
        fn(data, (size_t)size);
        free(data);
        free(names[i]);
    }
    return n;
}

#define FUZZ_TEST(name)                                                                            \
    Test(fuzz_regressions, name)                                                                   \
    {                                                                                              \
        int seeds = replay_dir("corpus", #name, fuzz_##name);                                      \
        replay_dir("regressions", #name, fuzz_##name);                                             \
        cr_expect_gt(seeds, 0, "no seed corpus under tests/fuzz/corpus/%s", #name);                \
    }
FUZZ_TARGETS(FUZZ_TEST)
