/* CK+ (Extended Cohn-Kanade): image sequences from neutral to peak
 * expression,
 *   root/cohn-kanade-images/S005/001/S005_001_00000001.png ...
 *   root/Emotion/S005/001/S005_001_00000011_emotion.txt   ("   3.0000000e+00")
 * Only sequences with an emotion file are labelled; the last K frames
 * (--ck-peak-frames) carry the label and, with --ck-neutral-first, the
 * first frame is added as neutral. Classes use CK+'s own numbering.
 *
 * Frames of one subject (and of one sequence) are strongly correlated, so
 * the random stratified split used here leaks identities between train and
 * test and overstates accuracy. Subject-independent splits are future work;
 * the dataset's ingest parameters say so. */
#include "ingest/ingest.h"
#include "ingest/sink.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dir_list.h"
#include "core/error.h"

enum { CK_CLASSES = 8, CK_NEUTRAL = 0, EMOTION_FILE_MAX = 256 };

static const char *const ck_class_names[CK_CLASSES] = {
    "neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise",
};

#define EMOTION_SUFFIX "_emotion.txt"

static int is_emotion_file(const char *name)
{
    size_t n = strlen(name), s = strlen(EMOTION_SUFFIX);
    return n > s && strcmp(name + n - s, EMOTION_SUFFIX) == 0;
}

/* Reads the code from an emotion file: a number such as "3.0000000e+00"
 * with an integer value in 0..7. Returns the code, -2 if the content is
 * malformed (reported through the sink), -1 on a read error. */
static int read_emotion(rm_ingest_file_list *list, const char *path, int *code)
{
    *code = -1;
    FILE *f = fopen(path, "rb");
    if (!f) return rm_ingest_list_bad(list, "%s: cannot open: %s", path, strerror(errno)) == 0 ? -2 : -1;
    char buf[EMOTION_FILE_MAX + 1];
    size_t n = fread(buf, 1, EMOTION_FILE_MAX, f);
    int err = ferror(f), longer = n == EMOTION_FILE_MAX && fgetc(f) != EOF;
    fclose(f);
    if (err) return rm_ingest_list_bad(list, "%s: read error", path) == 0 ? -2 : -1;
    buf[n] = 0;

    char *s = buf;
    while (isspace((unsigned char)*s)) s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1])) s[--len] = 0;
    char *end = NULL;
    errno = 0;
    double v = len ? strtod(s, &end) : NAN;
    if (!longer && len && strlen(s) == len && end == s + len && errno == 0 && isfinite(v) &&
        v == floor(v) && v >= 0 && v < CK_CLASSES) {
        *code = (int)v;
        return 0;
    }
    /* Quote what was found, printable and short. */
    char shown[48];
    size_t k = 0;
    for (size_t i = 0; i < len && k + 4 < sizeof shown; i++)
        shown[k++] = isprint((unsigned char)s[i]) ? s[i] : '?';
    if (k < len || longer) { memcpy(shown + k, "...", 3); k += 3; }
    shown[k] = 0;
    return rm_ingest_list_bad(list, "%s: expected an emotion code 0..%d, got '%s'", path,
                              CK_CLASSES - 1, shown) == 0 ? -2 : -1;
}

/* The walk lists the frames (and bad records, in their places) of every
 * labelled sequence; rm_ingest_add_image_files then decodes them in
 * parallel blocks and writes them in this order. */
typedef struct {
    rm_ingest_file_list list;
    int64_t sequence;           /* the tag of the next sequence's frames */
    const char *images_root;    /* root/cohn-kanade-images */
    const char *emotion_root;   /* root/Emotion */
    int peak_frames, neutral_first;
} ck_state;

/* One labelled sequence: adds its peak frames (and first frame). */
static int add_sequence(ck_state *st, const char *subject, const char *seq,
                        const char *emotion_path)
{
    int code;
    int rc = read_emotion(&st->list, emotion_path, &code);
    if (rc != 0) return rc == -2 ? 0 : -1;

    char *subject_dir = rm_path_join(st->images_root, subject);
    char *dir = subject_dir ? rm_path_join(subject_dir, seq) : NULL;
    free(subject_dir);
    if (!dir) return -1;
    rm_dir_list frames = {0};
    if (!rm_path_is_dir(dir)) {
        rc = rm_ingest_list_bad(&st->list, "%s: missing image folder for %s", dir, emotion_path);
        goto done;
    }
    if ((rc = rm_dir_list_read(&frames, dir, RM_DIR_FILES, rm_image_exts)) != 0) goto done;
    if (frames.count == 0) {
        rc = rm_ingest_list_bad(&st->list, "%s: no frames (.png images) for %s", dir, emotion_path);
        goto done;
    }
    /* The first frame is neutral only if it is not also a peak frame. */
    size_t n = frames.count;
    int neutral = st->neutral_first && n >= 2;
    size_t peak = (size_t)st->peak_frames;
    if (peak > n - (size_t)neutral) peak = n - (size_t)neutral;

    int64_t tag = st->sequence++;
    if (neutral) rc = rm_ingest_list_add(&st->list, rm_path_join(dir, frames.names[0]), CK_NEUTRAL,
                                         RM_SPLIT_UNASSIGNED, tag);
    for (size_t i = n - peak; i < n && rc == 0; i++)
        rc = rm_ingest_list_add(&st->list, rm_path_join(dir, frames.names[i]), code, RM_SPLIT_UNASSIGNED, tag);
done:
    rm_dir_list_free(&frames);
    free(dir);
    return rc;
}

/* Walks root/Emotion/<subject>/<sequence>/ in name order; *unlabelled
 * counts sequence folders there without an emotion file. */
static int walk_emotions(ck_state *st, size_t *unlabelled)
{
    rm_dir_list subjects, seqs = {0}, files = {0};
    RM_TRY(rm_dir_list_read(&subjects, st->emotion_root, RM_DIR_DIRS, NULL));
    int rc = 0;
    char *subject_dir = NULL, *seq_dir = NULL, *path = NULL;
    for (size_t i = 0; i < subjects.count && rc == 0; i++) {
        if (!(subject_dir = rm_path_join(st->emotion_root, subjects.names[i])) ||
            rm_dir_list_read(&seqs, subject_dir, RM_DIR_DIRS, NULL) != 0) {
            rc = -1;
            break;
        }
        for (size_t j = 0; j < seqs.count && rc == 0; j++) {
            if (!(seq_dir = rm_path_join(subject_dir, seqs.names[j])) ||
                rm_dir_list_read(&files, seq_dir, RM_DIR_FILES, NULL) != 0) {
                rc = -1;
                break;
            }
            const char *emotion = NULL;
            for (size_t k = 0; k < files.count && rc == 0; k++) {
                if (!is_emotion_file(files.names[k])) continue;
                if (emotion)
                    rc = rm_ingest_list_bad(&st->list, "%s: several emotion files (%s, %s)", seq_dir,
                                            emotion, files.names[k]) == 0 ? 1 : -1;
                emotion = files.names[k];
            }
            if (rc == 0 && !emotion) (*unlabelled)++;
            if (rc == 0 && emotion) {
                if (!(path = rm_path_join(seq_dir, emotion))) rc = -1;
                else rc = add_sequence(st, subjects.names[i], seqs.names[j], path);
                free(path);
                path = NULL;
            }
            if (rc == 1) rc = 0;   /* ambiguous sequence skipped */
            rm_dir_list_free(&files);
            free(seq_dir);
            seq_dir = NULL;
        }
        rm_dir_list_free(&seqs);
        free(subject_dir);
        subject_dir = NULL;
    }
    free(seq_dir);
    free(subject_dir);
    rm_dir_list_free(&files);
    rm_dir_list_free(&seqs);
    rm_dir_list_free(&subjects);
    return rc;
}

/* Image sequences without any emotion folder, and the number of subjects. */
static int count_image_sequences(const char *images_root, const char *emotion_root,
                                 size_t *without_folder, size_t *subjects_out)
{
    rm_dir_list subjects, seqs;
    RM_TRY(rm_dir_list_read(&subjects, images_root, RM_DIR_DIRS, NULL));
    *subjects_out = subjects.count;
    int rc = 0;
    for (size_t i = 0; i < subjects.count && rc == 0; i++) {
        char *dir = rm_path_join(images_root, subjects.names[i]);
        char *edir = rm_path_join(emotion_root, subjects.names[i]);
        if (!dir || !edir || rm_dir_list_read(&seqs, dir, RM_DIR_DIRS, NULL) != 0) {
            rc = -1;
        } else {
            for (size_t j = 0; j < seqs.count && rc == 0; j++) {
                char *e = rm_path_join(edir, seqs.names[j]);
                if (!e) rc = -1;
                else if (!rm_path_is_dir(e)) (*without_folder)++;
                free(e);
            }
            rm_dir_list_free(&seqs);
        }
        free(dir);
        free(edir);
    }
    rm_dir_list_free(&subjects);
    return rc;
}

int rm_ingest_ckplus(const char *root, const rm_ingest_options *opt)
{
    if (!rm_path_exists(root)) return rm_error("%s: no such folder", root);
    char *images_root = rm_path_join(root, "cohn-kanade-images");
    char *emotion_root = rm_path_join(root, "Emotion");
    rm_ingest_sink *sink = NULL;
    ck_state st = {0};
    if (!images_root || !emotion_root) goto fail;
    if (!rm_path_is_dir(images_root) || !rm_path_is_dir(emotion_root)) {
        int has_images = rm_path_is_dir(images_root);
        rm_error("%s: expected the CK+ folders cohn-kanade-images and Emotion; %s is missing",
                 root, has_images ? "Emotion" : "cohn-kanade-images");
        goto fail;
    }
    if (rm_sink_open(&sink, opt, "ckplus", root, 0, 0, RM_LABELS_NAMED, CK_CLASSES, ck_class_names) != 0) {
        sink = NULL;
        goto fail;
    }
    st.images_root = images_root;
    st.emotion_root = emotion_root;
    st.peak_frames = opt->ck_peak_frames > 0 ? opt->ck_peak_frames : 1;
    st.neutral_first = opt->ck_neutral_first != 0;
    size_t unlabelled = 0, no_folder = 0, subjects = 0, labelled = 0;
    if (walk_emotions(&st, &unlabelled) != 0) goto fail;
    if (rm_ingest_add_image_files(sink, st.list.files, st.list.count) != 0) goto fail;
    /* A sequence is labelled when one of its frames was written (frames of a sequence are adjacent). */
    for (size_t i = 0, last = (size_t)-1; i < st.list.count; i++)
        if (st.list.files[i].added && (size_t)st.list.files[i].tag != last) {
            labelled++;
            last = (size_t)st.list.files[i].tag;
        }
    if (count_image_sequences(images_root, emotion_root, &no_folder, &subjects) != 0) goto fail;
    unlabelled += no_folder;
    rm_log("%s: %zu labelled sequences, %zu sequences without an emotion file skipped", root,
           labelled, unlabelled);
    if (rm_sink_param(sink, "peak_frames", "%d", st.peak_frames) != 0 ||
        rm_sink_param(sink, "neutral_first", "%d", st.neutral_first) != 0 ||
        rm_sink_param(sink, "subjects", "%zu", subjects) != 0 ||
        rm_sink_param(sink, "labelled_sequences", "%zu", labelled) != 0 ||
        rm_sink_param(sink, "unlabelled_sequences_skipped", "%zu", unlabelled) != 0 ||
        rm_sink_param(sink, "note", "frames of one subject are correlated; the split is "
                      "random, not subject-independent") != 0)
        goto fail;
    rm_ingest_list_free(&st.list);
    free(images_root);
    free(emotion_root);
    return rm_sink_finish(sink);

fail:
    rm_ingest_list_free(&st.list);
    rm_sink_abort(sink);
    free(images_root);
    free(emotion_root);
    return -1;
}
