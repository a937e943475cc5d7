/* JAFFE (Japanese Female Facial Expression): 213 grayscale 256x256 TIFF
 * files in one folder, named <subject>.<code><repetition>.<id>.tiff, e.g.
 * KA.HA1.29.tiff. The two-letter code is the posed expression. Classes
 * follow the synthetic faces' order. Other files (README, ...) are skipped
 * with one warning; a well-formed name with an unknown code is a bad
 * record. */
#include "ingest/ingest.h"
#include "ingest/sink.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/dir_list.h"
#include "core/error.h"

enum { JAFFE_CLASSES = 7, JAFFE_SIDE = 256 };

static const char *const jaffe_codes[JAFFE_CLASSES] = {
    "NE", "HA", "SA", "SU", "FE", "DI", "AN",
};

/* Splits "KA.HA1.29.tiff" into subject "KA" and code "HA"; 0 if the name
 * does not have the JAFFE form (subject: letters/digits; code: letters then
 * a repetition number; id: digits; extension .tif/.tiff). */
static int parse_name(const char *name, char subject[32], char code[8])
{
    const char *p = name;
    size_t n = 0;
    while (isalnum((unsigned char)p[n])) n++;
    if (n == 0 || n >= 32 || p[n] != '.') return 0;
    memcpy(subject, p, n);
    subject[n] = 0;
    p += n + 1;

    n = 0;
    while (isalpha((unsigned char)p[n])) n++;
    if (n == 0 || n >= 8 || !isdigit((unsigned char)p[n])) return 0;
    memcpy(code, p, n);
    code[n] = 0;
    p += n;
    while (isdigit((unsigned char)*p)) p++;
    if (*p++ != '.') return 0;

    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    if (*p++ != '.') return 0;
    return strcasecmp(p, "tif") == 0 || strcasecmp(p, "tiff") == 0;
}

static int code_label(const char *code)
{
    for (int i = 0; i < JAFFE_CLASSES; i++)
        if (strcasecmp(code, jaffe_codes[i]) == 0) return i;
    return -1;
}

int rm_ingest_jaffe(const char *dir, const rm_ingest_options *opt)
{
    if (!rm_path_exists(dir)) return rm_error("%s: no such folder", dir);
    if (!rm_path_is_dir(dir)) return rm_error("%s: not a folder (expected the JAFFE image folder)", dir);

    rm_dir_list files;
    RM_TRY(rm_dir_list_read(&files, dir, RM_DIR_FILES, NULL));
    rm_ingest_sink *sink = NULL;
    char **subjects = NULL;
    rm_ingest_file_list list = {0};
    size_t num_subjects = 0, ignored = 0, matched = 0;
    const char *first_ignored = NULL;
    char subject[32], code[8];

    for (size_t i = 0; i < files.count; i++) {
        if (parse_name(files.names[i], subject, code)) {
            matched++;
        } else {
            if (!ignored++) first_ignored = files.names[i];
        }
    }
    if (matched == 0) {
        rm_error("%s: no JAFFE images (expected files named like KA.HA1.29.tiff)", dir);
        goto fail;
    }
    if (ignored)
        rm_warn("%s: ignored %zu file%s not named like KA.HA1.29.tiff (first: %s)", dir,
                ignored, ignored == 1 ? "" : "s", first_ignored);

    int num_names;
    const char *const *class_names;   /* the codes' order: the "jaffe" preset */
    rm_class_preset("jaffe", &num_names, &class_names);
    if (rm_sink_open(&sink, opt, "jaffe", dir, JAFFE_SIDE, JAFFE_SIDE, RM_LABELS_NAMED, JAFFE_CLASSES, class_names) != 0) {
        sink = NULL;
        goto fail;
    }
    if (!(subjects = rm_calloc(matched, sizeof *subjects, "JAFFE subjects"))) goto fail;
    /* Every file in name order (a bad code as a bad entry in its place), then decoded in parallel blocks. */
    for (size_t i = 0; i < files.count; i++) {
        if (!parse_name(files.names[i], subject, code)) continue;
        int label = code_label(code), rc = -1;
        char *path = rm_path_join(dir, files.names[i]);
        if (path && label < 0) {
            rc = rm_ingest_list_bad(&list, "%s: unknown expression code '%s' (expected NE, HA, SA, SU, FE, DI or AN)",
                                    path, code);
            free(path);
        } else if (path) {
            rc = rm_ingest_list_add(&list, path, label, RM_SPLIT_UNASSIGNED, (int64_t)i);
        }
        if (rc != 0) goto fail;
    }
    if (rm_ingest_add_image_files(sink, list.files, list.count) != 0) goto fail;
    for (size_t i = 0; i < list.count; i++) {
        if (!list.files[i].added || !parse_name(files.names[list.files[i].tag], subject, code)) continue;
        size_t k = 0;
        while (k < num_subjects && strcmp(subjects[k], subject) != 0) k++;
        if (k == num_subjects && !(subjects[num_subjects++] = rm_strdup(subject))) goto fail;
    }
    if (rm_sink_param(sink, "subjects", "%zu", num_subjects) != 0) goto fail;
    if (rm_sink_param(sink, "ignored_files", "%zu", ignored) != 0) goto fail;

    rm_ingest_list_free(&list);
    for (size_t k = 0; k < num_subjects; k++) free(subjects[k]);
    free(subjects);
    rm_dir_list_free(&files);
    return rm_sink_finish(sink);

fail:
    if (sink) rm_sink_abort(sink);
    rm_ingest_list_free(&list);
    for (size_t k = 0; k < num_subjects; k++) free(subjects[k]);
    free(subjects);
    rm_dir_list_free(&files);
    return -1;
}
