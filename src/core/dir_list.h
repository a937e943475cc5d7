/* Directory helpers shared by the folder-based ingesters (image folders,
 * JAFFE, CK+) and the relevance import: sorted listings filtered by kind and
 * extension, path joins. Hidden entries (names starting with '.') are never
 * listed. */
#ifndef RELMASK_CORE_DIR_LIST_H
#define RELMASK_CORE_DIR_LIST_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    RM_DIR_ANY = 0,     /* every non-hidden entry */
    RM_DIR_DIRS = 1,    /* directories (symbolic links followed) */
    RM_DIR_FILES = 2,   /* anything that is not a directory */
} rm_dir_kind;

typedef struct {
    char **names;       /* entry names (not paths), strcmp order */
    size_t count;
} rm_dir_list;

/* Image extensions the folder ingesters accept (NULL-terminated). */
extern const char *const rm_image_exts[];

/* Lists `dir`: entries of `kind` whose extension is one of `exts`
 * (NULL-terminated, without the dot, case-insensitive; NULL keeps all),
 * sorted by strcmp. Fails naming `dir` if it cannot be read. */
int rm_dir_list_read(rm_dir_list *list, const char *dir, rm_dir_kind kind,
                     const char *const *exts);
void rm_dir_list_free(rm_dir_list *list);

/* 1 if `name` ends in ".<ext>" for one of `exts` (case-insensitive). */
int rm_path_has_ext(const char *name, const char *const *exts);
/* 1 if `path` is a directory (following links), 0 otherwise. */
int rm_path_is_dir(const char *path);
/* 1 if `path` exists at all. */
int rm_path_exists(const char *path);
/* "<a>/<b>", malloc'd; NULL (error recorded) when out of memory. */
char *rm_path_join(const char *a, const char *b);

#endif
