#include "core/dir_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/image.h"

const char *const rm_image_exts[] = {
    "png", "jpg", "jpeg", "pgm", "ppm", "tif", "tiff", NULL,
};

int rm_path_has_ext(const char *name, const char *const *exts)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; exts[i]; i++)
        if (strcasecmp(dot + 1, exts[i]) == 0) return 1;
    return 0;
}

int rm_path_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int rm_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *rm_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/') la--;   /* "root/" + "x" -> "root/x" */
    char *p = rm_malloc(la + 1 + lb + 1, "path");
    if (!p) return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void rm_dir_list_free(rm_dir_list *list)
{
    for (size_t i = 0; i < list->count; i++) free(list->names[i]);
    free(list->names);
    list->names = NULL;
    list->count = 0;
}

/* Whether entry `name` of `dir` is of `kind`. */
static int entry_matches(const char *dir, const char *name, rm_dir_kind kind,
                         int *out)
{
    if (kind == RM_DIR_ANY) { *out = 1; return 0; }
    char *path = rm_path_join(dir, name);
    if (!path) return -1;
    int is_dir = rm_path_is_dir(path);
    free(path);
    *out = kind == RM_DIR_DIRS ? is_dir : !is_dir;
    return 0;
}

int rm_dir_list_read(rm_dir_list *list, const char *dir, rm_dir_kind kind,
                     const char *const *exts)
{
    list->names = NULL;
    list->count = 0;
    DIR *d = opendir(dir);
    if (!d) return rm_error("%s: cannot read directory: %s", dir, strerror(errno));
    size_t cap = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) break;
        const char *name = e->d_name;
        if (name[0] == '.') continue;             /* ".", "..", hidden */
        if (exts && !rm_path_has_ext(name, exts)) continue;
        int keep;
        if (entry_matches(dir, name, kind, &keep) != 0) goto fail;
        if (!keep) continue;
        if (list->count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            char **grown = rm_realloc(list->names, ncap * sizeof *grown, "directory listing");
            if (!grown) goto fail;
            list->names = grown;
            cap = ncap;
        }
        if (!(list->names[list->count] = rm_strdup(name))) goto fail;
        list->count++;
    }
    if (errno != 0) {
        rm_error("%s: cannot read directory: %s", dir, strerror(errno));
        goto fail;
    }
    closedir(d);
    if (list->count > 1) qsort(list->names, list->count, sizeof *list->names, cmp_names);
    return 0;
fail:
    closedir(d);
    rm_dir_list_free(list);
    return -1;
}
