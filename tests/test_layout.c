/* The layering of docs/architecture.md, checked over every #include line:
 * each folder of src/ includes only the folders below it, nothing is
 * included through "../", the double-precision oracles stay in tests/,
 * include/relmask/ holds only the umbrella header, and no file refers to
 * a folder outside the repository. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What each folder of src/ may include besides itself. */
static const struct {
    const char *folder;
    const char *allowed;   /* space-separated folders */
} rules[] = {
    {"core", ""},
    {"nn", "core"},
    {"ingest", "core"},
    {"train", "core nn"},
    {"encode", "core nn"},
    {"report", "core nn"},
    {"relevance", "core nn train"},
    {"import", "core nn ingest"},
    {"cli", "core nn ingest train relevance encode report import"},
};

static const char *root(void)
{
    const char *r = getenv("RELMASK_ROOT");
    cr_assert(r, "RELMASK_ROOT is not set (make check sets it)");
    return r;
}

static int is_source(const char *name)
{
    size_t n = strlen(name);
    return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

static int word_in(const char *word, size_t len, const char *list)
{
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, word, len) == 0) return 1;
        p += n;
    }
    return 0;
}

typedef void (*line_check)(const char *file, int line_no, const char *line, const void *ctx);

/* Calls check on every line of every .c/.h file under dir (recursively). */
static void walk(const char *dir, line_check check, const void *ctx, int *files)
{
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        cr_assert_eq(stat(path, &st), 0, "%s", path);
        if (S_ISDIR(st.st_mode)) {
            walk(path, check, ctx, files);
            continue;
        }
        if (!is_source(e->d_name)) continue;
        FILE *f = fopen(path, "r");
        cr_assert(f, "%s", path);
        char line[4096];
        int no = 0;
        while (fgets(line, sizeof line, f)) check(path, ++no, line, ctx);
        fclose(f);
        (*files)++;
    }
    closedir(d);
}

/* The folder a quoted include names ("train/train.h" -> "train"), or NULL
 * for a system include or a same-folder name without a slash. */
static const char *include_folder(const char *line, size_t *len)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (strncmp(p, "#include \"", 10) != 0) return NULL;
    p += 10;
    const char *slash = strchr(p, '/'), *quote = strchr(p, '"');
    if (!slash || !quote || slash > quote) {
        *len = 0;
        return p;
    }
    *len = (size_t)(slash - p);
    return p;
}

static void check_src_line(const char *file, int no, const char *line, const void *ctx)
{
    const char *folder = ctx;
    size_t len;
    const char *inc = include_folder(line, &len);
    if (!inc) return;
    cr_expect(len > 0, "%s:%d: include a project header by its folder (\"core/error.h\"): %s",
              file, no, line);
    if (len == 0) return;
    cr_expect(strncmp(inc, "..", 2) != 0, "%s:%d: no \"../\" includes: %s", file, no, line);
    if (len == strlen(folder) && strncmp(inc, folder, len) == 0) return;
    const char *allowed = NULL;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].folder, folder) == 0) allowed = rules[i].allowed;
    cr_expect(word_in(inc, len, allowed), "%s:%d: src/%s may include only %s (and itself): %s",
              file, no, folder, *allowed ? allowed : "nothing else", line);
}

Test(layout, src_folders_include_only_the_folders_below)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/src/%s", root(), rules[i].folder);
        int files = 0;
        walk(dir, check_src_line, rules[i].folder, &files);
        cr_expect(files > 0, "no sources in %s", dir);
    }
    /* Every folder of src/ has a rule. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/src", root());
    DIR *d = opendir(dir);
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int known = 0;
        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
            known |= strcmp(rules[i].folder, e->d_name) == 0;
        cr_expect(known, "src/%s has no layering rule (tests/test_layout.c, docs/architecture.md)",
                  e->d_name);
    }
    closedir(d);
}

static void check_no_parent_include(const char *file, int no, const char *line, const void *ctx)
{
    size_t len;
    const char *inc = include_folder(line, &len);
    if (inc) cr_expect(strncmp(inc, "../", 3) != 0, "%s:%d: no \"../\" includes: %s", file, no, line);
}

static void check_no_oracle(const char *file, int no, const char *line, const void *ctx)
{
    cr_expect(!strstr(line, "oracle/"), "%s:%d: the test oracles stay out of src/: %s", file, no, line);
}

Test(layout, no_parent_includes_and_oracles_only_in_tests)
{
    const char *trees[] = {"src", "tests", "bench"};
    for (size_t i = 0; i < 3; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root(), trees[i]);
        int files = 0;
        walk(dir, check_no_parent_include, NULL, &files);
        cr_expect(files > 0, "no sources in %s", dir);
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/src", root());
    int files = 0;
    walk(dir, check_no_oracle, NULL, &files);
}

Test(layout, include_holds_only_the_umbrella_header)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/include/relmask", root());
    DIR *d = opendir(dir);
    cr_assert(d, "%s is missing", dir);
    struct dirent *e;
    int umbrella = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        umbrella |= strcmp(e->d_name, "relmask.h") == 0;
        cr_expect(strcmp(e->d_name, "relmask.h") == 0,
                  "include/relmask/%s: headers live beside their code under src/", e->d_name);
    }
    closedir(d);
    cr_expect(umbrella, "include/relmask/relmask.h is missing");
}
