/* The repository stands on its own: no file a clone holds refers to the
 * development workspace's shared folder (the parent directory's "shared",
 * which only the project's own machines have). The method and the LRP rules
 * are in docs/method.md, the peer benchmarks in bench/peers/.
 *
 * The walk covers README.md, Makefile, config.mk and every file under the
 * tracked folders; it skips hidden entries, folders whose name starts with
 * "build" (build, build-asan, ...), the gitignored download cache, HDF5
 * fixtures and any file with a NUL byte in its first block (binary). The
 * needle is assembled at run time so that this file does not contain it. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"

static const char *root(void)
{
    const char *r = getenv("RELMASK_ROOT");
    cr_assert(r, "RELMASK_ROOT is not set (make check sets it)");
    return r;
}

/* "../" followed by "shared". */
static const char *needle(void)
{
    static char buf[16];
    snprintf(buf, sizeof buf, "%s/%s", "..", "shared");
    return buf;
}

/* out = "a/b"; a path that does not fit fails the test. */
static void join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);
    cr_assert(n >= 0 && (size_t)n < size, "path too long: %s/%s", a, b);
}

typedef struct {
    int report;       /* fail the running test on every hit (cr_expect) */
    int files;        /* text files read */
    int hits;         /* lines containing the needle */
    char first[4096]; /* "file:line" of the first hit (relative to the walk's root) */
} scan_result;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A NUL byte in the first 8 KiB means binary. */
static int is_binary(FILE *f)
{
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    rewind(f);
    return memchr(buf, 0, n) != NULL;
}

/* Reports every line of one file that contains the needle; rel is the path
 * shown in messages. */
static void scan_file(const char *path, const char *rel, scan_result *res)
{
    if (ends_with(rel, ".h5")) return;
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    if (is_binary(f)) {
        fclose(f);
        return;
    }
    res->files++;
    char *line = NULL;
    size_t cap = 0;
    int no = 0;
    while (getline(&line, &cap, f) >= 0) {
        no++;
        if (!strstr(line, needle())) continue;
        if (res->hits++ == 0) snprintf(res->first, sizeof res->first, "%s:%d", rel, no);
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (res->report)
            cr_expect(0, "%s:%d: refers to %s, which a clone does not have (use docs/method.md or bench/peers/): %s",
                      rel, no, needle(), line);
    }
    free(line);
    fclose(f);
}

/* Scans base/rel: a file, or a folder recursively. A missing path is
 * skipped (returns 0), otherwise returns 1. */
static int scan(const char *base, const char *rel, scan_result *res)
{
    char path[4096];
    join(path, sizeof path, base, rel);
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    if (S_ISLNK(st.st_mode)) {
        /* Follow links to files, never to folders (no loops, nothing outside). */
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 1;
    }
    if (S_ISREG(st.st_mode)) {
        scan_file(path, rel, res);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) return 1;
    DIR *d = opendir(path);
    cr_assert(d, "cannot open %s", path);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        if (name[0] == '.') continue;                   /* ., .., hidden files and folders */
        char child[4096], child_path[4096];
        join(child, sizeof child, rel, name);
        join(child_path, sizeof child_path, base, child);
        struct stat cst;
        if (lstat(child_path, &cst) == 0 && S_ISDIR(cst.st_mode)) {
            if (strncmp(name, "build", 5) == 0) continue;    /* build outputs: build, build-asan, ... */
            if (strcmp(name, "__pycache__") == 0) continue;
            if (strcmp(child, "datasets/cache") == 0) continue; /* downloads (gitignored) */
        }
        scan(base, child, res);
    }
    closedir(d);
    return 1;
}

/* What the repository holds: the top-level files and the tracked folders. */
static void scan_repository(const char *base, scan_result *res)
{
    const char *required[] = {"README.md", "Makefile", "config.mk", "src", "include", "tests", "docs"};
    const char *optional[] = {"bench", "scripts", "datasets", "examples", "nets"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        cr_expect(scan(base, required[i], res), "%s/%s is missing", base, required[i]);
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) scan(base, optional[i], res);
}

Test(standalone, no_file_refers_to_the_shared_workspace_folder)
{
    scan_result res = {.report = 1};
    scan_repository(root(), &res);
    /* The walk must have read the repository, not an empty or wrong root. */
    cr_expect_gt(res.files, 100, "only %d text files read under %s", res.files, root());
    cr_expect_eq(res.hits, 0, "%d line(s) refer to %s, the first at %s", res.hits, needle(), res.first);
}

/* A scratch tree shaped like the repository. */
static char *make_tree(void)
{
    char *dir = tu_scratch_dir();
    tu_write_text(tu_path(dir, "README.md"), "# readme\n");
    tu_write_text(tu_path(dir, "Makefile"), "all:\n");
    tu_write_text(tu_path(dir, "config.mk"), "X = 1\n");
    const char *folders[] = {"src", "include", "tests", "tests/fixtures", "docs", "docs/sub", "src/build",
                             "docs/build-asan"};
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++)
        cr_assert_eq(mkdir(tu_path(dir, folders[i]), 0755), 0, "%s", folders[i]);
    tu_write_text(tu_path(dir, "src/clean.c"), "int x;\n");
    return dir;
}

/* The scanner ignores build folders, HDF5 fixtures and binary files... */
Test(standalone, scanner_skips_build_folders_fixtures_and_binary_files)
{
    char *dir = make_tree();
    char text[256];
    snprintf(text, sizeof text, "line one\nsee %s/method.md\n", needle());
    tu_write_text(tu_path(dir, "src/build/x.c"), text);
    tu_write_text(tu_path(dir, "docs/build-asan/y.md"), text);
    tu_write_text(tu_path(dir, "tests/fixtures/g.h5"), text);
    char binary[64] = "\x89HDF\r\n";   /* NUL bytes follow */
    snprintf(binary + 8, sizeof binary - 8, "%s", needle());
    tu_write_file(tu_path(dir, "src/blob.bin"), binary, sizeof binary);

    scan_result res = {0};
    scan_repository(dir, &res);
    tu_rmtree(dir);
    cr_expect_eq(res.hits, 0, "a hit in a place the walk skips: %s", res.first);
    cr_expect_eq(res.files, 4, "text files read: %d (README.md, Makefile, config.mk, src/clean.c)", res.files);
}

/* ... and finds a reference anywhere else, naming file and line. */
Test(standalone, scanner_names_file_and_line_of_a_reference)
{
    char *dir = make_tree();
    char text[256];
    snprintf(text, sizeof text, "one\ntwo\nthe rules: %s/method.md\n", needle());
    tu_write_text(tu_path(dir, "docs/sub/page.md"), text);
    scan_result res = {0};
    scan_repository(dir, &res);
    tu_rmtree(dir);
    cr_expect_eq(res.hits, 1);
    cr_expect_str_eq(res.first, "docs/sub/page.md:3");
}
