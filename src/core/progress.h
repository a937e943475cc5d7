/* Progress for long work: a bar with rate and ETA redrawn in place on a
 * TTY, plain log lines (every 10% or 30 s) otherwise. */
#ifndef RELMASK_PROGRESS_H
#define RELMASK_PROGRESS_H

#include <stddef.h>

typedef struct {
    const char *label;
    const char *unit;        /* "img", "rows" */
    size_t total;            /* 0 = unknown */
    size_t done;
    size_t resumed;          /* done before this run (rm_progress_resume): not in the rate */
    double start, last_draw;
    int tty, enabled, last_decile;
    char note[96];           /* shown after the rate, e.g. "loss 0.532" */
} rm_progress;

void rm_progress_start(rm_progress *p, const char *label, const char *unit,
                       size_t total);
void rm_progress_update(rm_progress *p, size_t done);
/* A resumed run: `done` units were finished by an earlier run; the rate
 * and the ETA count only what this run does. */
void rm_progress_resume(rm_progress *p, size_t done);
/* Units per second of this run at time `now` (rm_now), 0 before any. */
double rm_progress_rate(const rm_progress *p, double now);
void rm_progress_finish(rm_progress *p);
/* Disables all progress output (for --quiet and tests). */
void rm_progress_set_quiet(int quiet);
double rm_now(void);   /* monotonic seconds */

#endif
