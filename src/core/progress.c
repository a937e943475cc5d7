#include "core/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int quiet = -1;   /* -1: from RELMASK_QUIET on first use */

void rm_progress_set_quiet(int q) { quiet = q; }

double rm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rm_progress_start(rm_progress *p, const char *label, const char *unit, size_t total)
{
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->done = p->resumed = 0;
    p->start = p->last_draw = rm_now();
    p->tty = isatty(STDERR_FILENO);
    if (quiet < 0) {
        const char *env = getenv("RELMASK_QUIET");
        quiet = env && *env && strcmp(env, "0") != 0;
    }
    p->enabled = !quiet;
    p->last_decile = 0;
    p->note[0] = 0;
}

static void format_eta(char *buf, size_t size, double seconds)
{
    if (seconds < 0 || seconds > 1e7) { snprintf(buf, size, "--:--"); return; }
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else snprintf(buf, size, "%02ld:%02ld", s / 60, s % 60);
}

double rm_progress_rate(const rm_progress *p, double now)
{
    double elapsed = now - p->start;
    size_t ours = p->done > p->resumed ? p->done - p->resumed : 0;
    return elapsed > 0 ? (double)ours / elapsed : 0;
}

void rm_progress_resume(rm_progress *p, size_t done)
{
    p->resumed = p->done = done;
    if (p->total) p->last_decile = (int)(10 * done / p->total);
}

static void draw(rm_progress *p, double now, int final)
{
    double rate = rm_progress_rate(p, now);
    char eta[32];
    if (p->total && rate > 0) format_eta(eta, sizeof eta, (double)(p->total - p->done) / rate);
    else format_eta(eta, sizeof eta, -1);
    if (p->tty) {
        if (p->total) {
            enum { WIDTH = 30 };
            int fill = (int)((double)WIDTH * (double)p->done / (double)p->total);
            char bar[WIDTH + 1];
            for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
            bar[WIDTH] = 0;
            fprintf(stderr, "\r%s [%s] %zu/%zu %s  %.0f %s/s  %s  ETA %s ", p->label, bar,
                    p->done, p->total, p->unit, rate, p->unit, p->note, eta);
        } else {
            fprintf(stderr, "\r%s %zu %s  %.0f %s/s ", p->label, p->done, p->unit, rate, p->unit);
        }
        if (final) fputc('\n', stderr);
    } else if (p->total) {
        fprintf(stderr, "relmask: %s: %zu/%zu %s (%.0f%%), %.0f %s/s, %s%sETA %s\n", p->label,
                p->done, p->total, p->unit, 100.0 * (double)p->done / (double)p->total, rate, p->unit,
                p->note, p->note[0] ? ", " : "", eta);
    } else {
        fprintf(stderr, "relmask: %s: %zu %s, %.0f %s/s\n", p->label, p->done, p->unit, rate, p->unit);
    }
    fflush(stderr);
    p->last_draw = now;
}

void rm_progress_update(rm_progress *p, size_t done)
{
    p->done = done;
    if (!p->enabled) return;
    double now = rm_now();
    if (p->tty) {
        if (now - p->last_draw >= 0.1) draw(p, now, 0);
        return;
    }
    /* Plain logs: every 10% of a known total, else every 30 s. */
    int decile = p->total ? (int)(10 * done / p->total) : 0;
    if ((p->total && decile > p->last_decile && decile < 10) || now - p->last_draw >= 30.0) {
        p->last_decile = decile;
        draw(p, now, 0);
    }
}

void rm_progress_finish(rm_progress *p)
{
    if (!p->enabled) return;
    if (p->tty || p->done > 0) draw(p, rm_now(), 1);
}
