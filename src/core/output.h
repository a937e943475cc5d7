/* Atomic outputs: every file relmask writes is first written to
 * "<dir>/.<name>.tmp-<pid>" and renamed over the final path on success, so a
 * crash or kill leaves the previous results intact. SIGINT/SIGTERM remove
 * registered temporary files before the process exits. */
#ifndef RELMASK_OUTPUT_H
#define RELMASK_OUTPUT_H

typedef struct {
    char *final_path;
    char *tmp_path;
    int slot;                  /* registry slot for signal cleanup, -1 none */
} rm_output;

/* Checks that `path` does not exist (unless force) and that its directory
 * is writable, picks the temporary name and registers it for cleanup.
 * Temporary files of `path` that killed writers left (over a minute old,
 * their process gone) are removed. */
int rm_output_begin(rm_output *out, const char *path, int force);
/* fsyncs the temporary file, renames it into place, syncs the directory. */
int rm_output_commit(rm_output *out);
/* Removes the temporary file (if any) and forgets it. */
void rm_output_abort(rm_output *out);

/* For resumable outputs: the same checks, but the work-in-progress file has
 * the fixed name "<dir>/.<name>.partial" so a later run can find it, and it
 * is not removed by SIGINT/SIGTERM (it is the checkpoint). */
int rm_output_begin_resumable(rm_output *out, const char *path, int force);
/* Forgets the output but keeps the temporary (partial) file on disk. */
void rm_output_keep(rm_output *out);

/* Defers SIGINT/SIGTERM/SIGHUP in every thread (e.g. around a checkpoint
 * write and flush); a signal that arrived meanwhile is handled by
 * rm_output_release_signals: the process then ends by that signal. */
void rm_output_hold_signals(void);
void rm_output_release_signals(void);

/* Other temporary paths (a scratch directory and its files) to remove if
 * a signal ends the process: files are unlinked, then directories removed
 * (when empty). Returns a slot for rm_output_forget, or -1 when the
 * registry is full (the path is then not tracked). */
int rm_output_remove_on_signal(const char *path);
void rm_output_forget(int slot);

/* Text written to stderr when SIGINT/SIGTERM/SIGHUP ends the process, e.g.
 * the command that continues an interrupted run (copied; NULL clears it).
 * Set it while signals are held, once what it promises exists. */
void rm_output_set_signal_note(const char *text);

/* Installs the SIGINT/SIGTERM/SIGHUP handlers (idempotent). */
void rm_output_install_signal_handlers(void);

#endif
