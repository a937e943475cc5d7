/* Image folders, one folder per class, in either of two layouts:
 *   A  root/<class>/<image>                 records unassigned (--val/--test)
 *   B  root/{train,val|validation,test}/<class>/<image>
 *      (the Kaggle FER2013 image version)   splits from the folders
 * In layout B train records go to the pool (--val carves a validation set)
 * when there is no val folder, and are unassigned (--val and --test both
 * apply) when train is the only split folder.
 * Classes are the sorted folder names, or the lines of a class map file
 * ("folder" or "folder=class name", line order = class index); --classes
 * then orders them by name (RM_LABELS_NAMED). Files are read in name
 * order, so the output is deterministic. */
#include "ingest/ingest.h"
#include "ingest/sink.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/dir_list.h"
#include "core/error.h"

#define EXT_LIST ".png/.jpg/.jpeg/.pgm/.ppm/.tif/.tiff"

typedef struct {
    char **folders;     /* folder name of each class */
    char **names;       /* class name of each class */
    int count;
} class_table;

static void class_table_free(class_table *t)
{
    for (int i = 0; i < t->count; i++) {
        free(t->folders[i]);
        free(t->names[i]);
    }
    free(t->folders);
    free(t->names);
    memset(t, 0, sizeof *t);
}

static int class_table_find(const class_table *t, const char *folder)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->folders[i], folder) == 0) return i;
    return -1;
}

static int class_table_add(class_table *t, const char *folder, const char *name)
{
    if (t->count >= RM_MAX_CLASSES)
        return rm_error("more than %d classes", RM_MAX_CLASSES);
    char **f = rm_realloc(t->folders, (size_t)(t->count + 1) * sizeof *f, "class table");
    if (!f) return -1;
    t->folders = f;
    char **n = rm_realloc(t->names, (size_t)(t->count + 1) * sizeof *n, "class table");
    if (!n) return -1;
    t->names = n;
    t->folders[t->count] = rm_strdup(folder);
    t->names[t->count] = rm_strdup(name);
    if (!t->folders[t->count] || !t->names[t->count]) {
        free(t->folders[t->count]);
        free(t->names[t->count]);
        return -1;
    }
    t->count++;
    return 0;
}

/* Trims whitespace in place; returns the start. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* Reads the class map: one class per line, "folder" or "folder=class name";
 * blank lines and lines starting with '#' are skipped. */
static int read_class_map(class_table *t, const char *map_path)
{
    FILE *f = fopen(map_path, "r");
    if (!f) return rm_error("%s: cannot open class map: %s", map_path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = -1;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        char *folder = s, *name = s;
        if (eq) {
            *eq = 0;
            folder = trim(s);
            name = trim(eq + 1);
        }
        if (!*folder || !*name || strchr(folder, '/')) {
            rm_error("%s:%d: expected 'folder' or 'folder=class name'", map_path, lineno);
            goto done;
        }
        if (class_table_find(t, folder) >= 0) {
            rm_error("%s:%d: folder '%s' is mapped twice", map_path, lineno, folder);
            goto done;
        }
        for (int i = 0; i < t->count; i++)
            if (strcmp(t->names[i], name) == 0) {
                rm_error("%s:%d: class name '%s' is used twice (one line per class)",
                         map_path, lineno, name);
                goto done;
            }
        if (class_table_add(t, folder, name) != 0) {
            rm_error_prefix("%s:%d", map_path, lineno);
            goto done;
        }
    }
    if (ferror(f)) {
        rm_error("%s: read error", map_path);
        goto done;
    }
    if (t->count == 0) {
        rm_error("%s: the class map lists no classes", map_path);
        goto done;
    }
    rc = 0;
done:
    free(line);
    fclose(f);
    return rc;
}

typedef struct {
    char *path;            /* the folder holding the class folders */
    uint8_t split;         /* RM_SPLIT_* for its records */
    rm_dir_list classes;   /* its class folders */
} split_dir;

enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_KINDS };

/* Which split folder `name` is, or -1. */
static int split_kind(const char *name)
{
    if (strcasecmp(name, "train") == 0) return SPLIT_TRAIN;
    if (strcasecmp(name, "val") == 0 || strcasecmp(name, "validation") == 0) return SPLIT_VAL;
    if (strcasecmp(name, "test") == 0) return SPLIT_TEST;
    return -1;
}

/* *out = 1 if some subfolder of `dir` holds an image file. */
static int has_class_folders_with_images(const char *dir, int *out)
{
    rm_dir_list sub;
    *out = 0;
    RM_TRY(rm_dir_list_read(&sub, dir, RM_DIR_DIRS, NULL));
    int rc = 0;
    for (size_t i = 0; i < sub.count && !*out; i++) {
        char *path = rm_path_join(dir, sub.names[i]);
        rm_dir_list files;
        if (!path || rm_dir_list_read(&files, path, RM_DIR_FILES, rm_image_exts) != 0) {
            free(path);
            rc = -1;
            break;
        }
        *out = files.count > 0;
        rm_dir_list_free(&files);
        free(path);
    }
    rm_dir_list_free(&sub);
    return rc;
}

/* Finds the split folders of layout B; *n = 0 means layout A. */
static int find_split_dirs(const char *root, split_dir dirs[SPLIT_KINDS], int *n)
{
    rm_dir_list top;
    char *found[SPLIT_KINDS] = {NULL, NULL, NULL};
    *n = 0;
    RM_TRY(rm_dir_list_read(&top, root, RM_DIR_DIRS, NULL));
    int rc = -1;
    for (size_t i = 0; i < top.count; i++) {
        int k = split_kind(top.names[i]);
        if (k < 0) continue;
        if (found[k]) {
            rm_error("%s: both '%s' and '%s' are present; keep one", root, found[k], top.names[i]);
            goto done;
        }
        found[k] = top.names[i];
    }
    rc = 0;
    if (!found[SPLIT_TRAIN]) goto done;
    char *train = rm_path_join(root, found[SPLIT_TRAIN]);
    int is_b = 0;
    if (!train || has_class_folders_with_images(train, &is_b) != 0) {
        free(train);
        rc = -1;
        goto done;
    }
    free(train);
    if (!is_b) goto done;

    for (size_t i = 0; i < top.count; i++)
        if (split_kind(top.names[i]) < 0)
            rm_warn("%s/%s: ignored (split folders are train, val or validation, test)",
                    root, top.names[i]);
    for (int k = 0; k < SPLIT_KINDS; k++) {
        if (!found[k]) continue;
        split_dir *d = &dirs[*n];
        memset(d, 0, sizeof *d);
        if (!(d->path = rm_path_join(root, found[k]))) { rc = -1; goto done; }
        (*n)++;
        if (k == SPLIT_TRAIN)
            d->split = found[SPLIT_VAL] ? RM_SPLIT_TRAIN
                     : found[SPLIT_TEST] ? RM_SPLIT_POOL : RM_SPLIT_UNASSIGNED;
        else
            d->split = k == SPLIT_VAL ? RM_SPLIT_VAL : RM_SPLIT_TEST;
    }
    if (!found[SPLIT_TEST])
        rm_warn("%s: no test folder; the test split comes from --test", root);
done:
    if (rc != 0) {
        for (int s = 0; s < *n; s++) free(dirs[s].path);
        *n = 0;
    }
    rm_dir_list_free(&top);
    return rc;
}

/* Checks every class folder of every split against the class table. */
static int check_class_folders(const class_table *t, const split_dir *dirs, int n,
                               const char *map_path)
{
    for (int s = 0; s < n; s++)
        for (size_t i = 0; i < dirs[s].classes.count; i++) {
            const char *folder = dirs[s].classes.names[i];
            if (class_table_find(t, folder) >= 0) continue;
            if (map_path)
                return rm_error("%s/%s: folder not in class map %s", dirs[s].path, folder, map_path);
            return rm_error("%s/%s: class folder not in %s (class folders must agree "
                            "across split folders)", dirs[s].path, folder, dirs[0].path);
        }
    return 0;
}

static int folder_listed(const rm_dir_list *l, const char *name)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->names[i], name) == 0) return 1;
    return 0;
}

/* With --classes, every class folder present must be named in the list:
 * its images would otherwise have no label. */
static int check_classes_listed(const rm_ingest_sink *sink, const class_table *t,
                                const split_dir *dirs, int n, const rm_ingest_options *opt)
{
    for (int c = 0; c < t->count; c++) {
        if (rm_sink_class_listed(sink, c)) continue;
        for (int s = 0; s < n; s++) {
            if (!folder_listed(&dirs[s].classes, t->folders[c])) continue;
            if (opt->class_map)
                return rm_error("%s/%s: class '%s' (from %s) is not in --classes %s; name it there "
                                "or change the class map", dirs[s].path, t->folders[c], t->names[c],
                                opt->class_map, opt->classes);
            return rm_error("%s/%s: class folder '%s' is not in --classes %s; list it there, or map "
                            "folders to class names with --class-map FILE (lines 'folder=class "
                            "name', in class order)", dirs[s].path, t->folders[c], t->folders[c],
                            opt->classes);
        }
    }
    return 0;
}

/* Lists every image of one folder; an empty class folder is a bad entry. */
static int list_folder(rm_ingest_file_list *l, const char *dir, int32_t label, uint8_t split, int flat)
{
    rm_dir_list files;
    RM_TRY(rm_dir_list_read(&files, dir, RM_DIR_FILES, rm_image_exts));
    int rc = 0;
    if (files.count == 0 && !flat) rc = rm_ingest_list_bad(l, "%s: empty class folder (no " EXT_LIST " files)", dir);
    for (size_t i = 0; i < files.count && rc == 0; i++)
        rc = rm_ingest_list_add(l, rm_path_join(dir, files.names[i]), label, split, 0);
    rm_dir_list_free(&files);
    return rc;
}

/* --unlabeled: the images directly in `root`, no labels, split unlabeled. */
static int ingest_flat(const char *root, const char *given, const rm_ingest_options *opt)
{
    if (opt->class_map)
        return rm_error("--class-map maps class folders to classes; an --unlabeled folder has none (--classes "
                        "LIST names the classes of the model to match)");
    rm_ingest_file_list list = {0};
    rm_ingest_sink *sink = NULL;
    rm_dir_list sub = {0};
    if (list_folder(&list, root, -1, RM_SPLIT_UNLABELED, 1) != 0) goto fail;
    if (list.count == 0) {
        rm_error("%s: no " EXT_LIST " images directly in the folder (--unlabeled reads a flat folder of "
                 "images; class folders %s/<class>/<image> are ingested without --unlabeled)", root, root);
        goto fail;
    }
    if (rm_dir_list_read(&sub, root, RM_DIR_DIRS, NULL) != 0) goto fail;
    if (sub.count)
        rm_warn("%s: %zu subfolder%s ignored (--unlabeled reads the images directly in the folder)", root,
                sub.count, sub.count == 1 ? "" : "s");
    if (rm_sink_open(&sink, opt, "image-folder", given, 0, 0, RM_LABELS_NAMED, 0, NULL) != 0) {
        sink = NULL;
        goto fail;
    }
    if (rm_sink_param(sink, "layout", "flat (unlabeled)") != 0) goto fail;
    if (rm_ingest_add_image_files(sink, list.files, list.count) != 0) goto fail;
    rm_ingest_list_free(&list);
    rm_dir_list_free(&sub);
    return rm_sink_finish(sink);
fail:
    if (sink) rm_sink_abort(sink);
    rm_ingest_list_free(&list);
    rm_dir_list_free(&sub);
    return -1;
}

/* root: the folder without trailing slashes, for the paths and messages
 * (faces/disgust, not faces//disgust); given: as the user wrote it, the
 * dataset's source_path. */
static int ingest_folder(const char *root, const char *given, const rm_ingest_options *opt)
{
    if (opt->unlabeled) return ingest_flat(root, given, opt);

    split_dir dirs[SPLIT_KINDS];
    int n = 0;
    class_table table = {0};
    rm_ingest_file_list list = {0};
    rm_ingest_sink *sink = NULL;
    RM_TRY(find_split_dirs(root, dirs, &n));
    int layout_b = n > 0;
    if (!layout_b) {
        memset(&dirs[0], 0, sizeof dirs[0]);
        if (!(dirs[0].path = rm_strdup(root))) return -1;
        dirs[0].split = RM_SPLIT_UNASSIGNED;
        n = 1;
    }
    for (int s = 0; s < n; s++)
        if (rm_dir_list_read(&dirs[s].classes, dirs[s].path, RM_DIR_DIRS, NULL) != 0) goto fail;
    if (dirs[0].classes.count == 0) {
        rm_dir_list flat;
        size_t images = 0;
        if (rm_dir_list_read(&flat, root, RM_DIR_FILES, rm_image_exts) == 0) {
            images = flat.count;
            rm_dir_list_free(&flat);
        }
        if (images)
            rm_error("%s: no class folders (expected %s/<class>/<image> with " EXT_LIST
                     " images, or %s/train/<class>/<image>); the folder holds %zu images directly: to "
                     "predict or explain images without labels, ingest them with --unlabeled", root, root, root,
                     images);
        else
            rm_error("%s: no class folders (expected %s/<class>/<image> with " EXT_LIST
                     " images, or %s/train/<class>/<image>; a flat folder of images without labels is "
                     "ingested with --unlabeled)", root, root, root);
        goto fail;
    }

    if (opt->class_map) {
        if (read_class_map(&table, opt->class_map) != 0) goto fail;
    } else {
        for (size_t i = 0; i < dirs[0].classes.count; i++)
            if (class_table_add(&table, dirs[0].classes.names[i], dirs[0].classes.names[i]) != 0)
                goto fail;
    }
    if (check_class_folders(&table, dirs, n, opt->class_map) != 0) goto fail;
    if (opt->class_map)
        for (int c = 0; c < table.count; c++) {
            int seen = 0;
            for (int s = 0; s < n; s++) seen |= folder_listed(&dirs[s].classes, table.folders[c]);
            if (!seen) rm_warn("%s: class map folder '%s' not found under %s", opt->class_map,
                               table.folders[c], root);
        }

    if (rm_sink_open(&sink, opt, "image-folder", given, 0, 0, RM_LABELS_NAMED, table.count,
                     (const char *const *)table.names) != 0) {
        sink = NULL;
        goto fail;
    }
    if (rm_sink_param(sink, "layout", "%s", layout_b ? "split-folders" : "class-folders") != 0)
        goto fail;
    if (opt->class_map && rm_sink_param(sink, "class_map", "%s", opt->class_map) != 0) goto fail;
    if (check_classes_listed(sink, &table, dirs, n, opt) != 0) goto fail;

    for (int s = 0; s < n; s++)
        for (int c = 0; c < table.count; c++) {
            if (!folder_listed(&dirs[s].classes, table.folders[c])) continue;
            char *dir = rm_path_join(dirs[s].path, table.folders[c]);
            int rc = dir ? list_folder(&list, dir, c, dirs[s].split, 0) : -1;
            free(dir);
            if (rc != 0) goto fail;
        }
    if (rm_ingest_add_image_files(sink, list.files, list.count) != 0) goto fail;
    rm_ingest_list_free(&list);
    for (int s = 0; s < n; s++) {
        free(dirs[s].path);
        rm_dir_list_free(&dirs[s].classes);
    }
    class_table_free(&table);
    return rm_sink_finish(sink);

fail:
    if (sink) rm_sink_abort(sink);
    rm_ingest_list_free(&list);
    for (int s = 0; s < n; s++) {
        free(dirs[s].path);
        rm_dir_list_free(&dirs[s].classes);
    }
    class_table_free(&table);
    return -1;
}

int rm_ingest_folder(const char *given, const rm_ingest_options *opt)
{
    if (!rm_path_exists(given)) return rm_error("%s: no such folder", given);
    if (!rm_path_is_dir(given)) return rm_error("%s: not a folder (expected a folder of class folders)", given);
    char *root = rm_strdup(given);
    if (!root) return -1;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/') root[--n] = 0;
    int rc = ingest_folder(root, given, opt);
    free(root);
    return rc;
}
