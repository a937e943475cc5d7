/* The report's plots: line plots with shaded bands and reference lines, and
 * bar charts with error bars, drawn through a canvas (canvas.h) as SVG
 * (canvas_svg.c) or as a PNG raster (canvas_raster.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "report/canvas.h"
#include "report/report.h"

/* Tableau 10: distinct hues that stay apart for most colour-vision types. */
static const char *const palette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
/* After ten series the colours repeat with a different dash pattern. */
static const char *const dashes[3] = {"", "8 3", "2 3"};

const char *rm_plot_color(int i) { return palette[(i < 0 ? -i : i) % 10]; }

void rm_xml_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

double rm_plot_nice_step(double span, int max_ticks)
{
    if (!(span > 0) || !isfinite(span)) return 1;
    if (max_ticks < 1) max_ticks = 1;
    double raw = span / max_ticks, mag = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (mult[i] * mag >= raw * (1 - 1e-9)) return mult[i] * mag;
    return 10 * mag;
}

double rm_plot_px(const rm_plot_frame *f, double x)
{
    return f->left + (x - f->xmin) / (f->xmax - f->xmin) * (f->right - f->left);
}

double rm_plot_py(const rm_plot_frame *f, double y)
{
    return f->bottom - (y - f->ymin) / (f->ymax - f->ymin) * (f->bottom - f->top);
}

/* Decimals that show every multiple of step exactly (2.5 -> 1, 0.25 -> 2). */
static int tick_decimals(double step)
{
    for (int d = 0; d < 8; d++) {
        double scaled = step * pow(10, d);
        if (fabs(scaled - round(scaled)) < 1e-6 * scaled) return d;
    }
    return 8;
}

static void span_of(double *lo, double *hi, double v)
{
    if (!isfinite(v)) return;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

/* Picks the shown range [*min, *max] and tick step for data in [lo, hi]. */
static void auto_range(double lo, double hi, int integer, double clamp_lo, double clamp_hi, double *min, double *max,
                       double *step)
{
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (integer) {
        if (hi - lo < 1) hi = lo + 1;
        *min = lo;
        *max = hi;
        double s = rm_plot_nice_step(hi - lo, 10);
        *step = s < 1 ? 1 : round(s);
        return;
    }
    if (hi - lo < 1e-9 * fmax(1, fabs(hi))) {
        double pad = fabs(hi) > 0 ? fabs(hi) * 0.05 : 1;
        lo -= pad, hi += pad;
    }
    double s = rm_plot_nice_step(hi - lo, 8);
    *min = floor(lo / s + 1e-9) * s;
    *max = ceil(hi / s - 1e-9) * s;
    if (clamp_lo < clamp_hi) {
        if (*min < clamp_lo) *min = clamp_lo;
        if (*max > clamp_hi) *max = clamp_hi;
        if (*max <= *min) *min = clamp_lo, *max = clamp_hi;
    }
    *step = rm_plot_nice_step(*max - *min, 8);
}

static void set_range(double spec_min, double spec_max, double lo, double hi, int integer, double clamp_lo,
                      double clamp_hi, double *min, double *max, double *step)
{
    if (spec_min < spec_max) {
        *min = spec_min;
        *max = spec_max;
        double s = rm_plot_nice_step(spec_max - spec_min, integer ? 10 : 8);
        *step = integer && s < 1 ? 1 : s;
    } else {
        auto_range(lo, hi, integer, clamp_lo, clamp_hi, min, max, step);
    }
}

static int begin_plot(rm_canvas *c, const rm_plot_spec *spec, int w, int h)
{
    RM_TRY(c->ops->begin(c, w, h));
    if (spec->title)
        c->ops->text(c, w / 2.0, 26, 0, spec->title,
                     &(rm_style){.anchor = RM_ANCHOR_MIDDLE, .font_size = 16, .bold = 1});
    return 0;
}

/* Grid, axes, tick labels and axis titles. With `categories`, x ticks are
 * left to the caller. */
static void draw_axes(rm_canvas *c, const rm_plot_spec *spec, const rm_plot_frame *fr, int categories)
{
    const rm_canvas_ops *o = c->ops;
    int yd = tick_decimals(fr->ystep), xd = tick_decimals(fr->xstep);
    char num[64];
    o->group_begin(c, &(rm_style){.stroke = "#e3e3e3", .stroke_width = 1});
    for (double t = ceil(fr->ymin / fr->ystep - 1e-9) * fr->ystep; t <= fr->ymax + 1e-9 * fr->ystep; t += fr->ystep)
        o->line(c, fr->left, rm_plot_py(fr, t), fr->right, rm_plot_py(fr, t), NULL);
    if (!categories)
        for (double t = ceil(fr->xmin / fr->xstep - 1e-9) * fr->xstep; t <= fr->xmax + 1e-9 * fr->xstep;
             t += fr->xstep)
            o->line(c, rm_plot_px(fr, t), fr->top, rm_plot_px(fr, t), fr->bottom, NULL);
    o->group_end(c);
    o->group_begin(c, &(rm_style){.stroke = "#333333", .stroke_width = 1.2});
    o->line(c, fr->left, fr->bottom, fr->right, fr->bottom, NULL);
    o->line(c, fr->left, fr->top, fr->left, fr->bottom, NULL);
    o->group_end(c);
    o->group_begin(c, &(rm_style){.fill = "#333333", .anchor = RM_ANCHOR_END});
    for (double t = ceil(fr->ymin / fr->ystep - 1e-9) * fr->ystep; t <= fr->ymax + 1e-9 * fr->ystep;
         t += fr->ystep) {
        snprintf(num, sizeof num, "%.*f", yd, fabs(t) < 1e-12 * fr->ystep ? 0.0 : t);
        o->text(c, fr->left - 8, rm_plot_py(fr, t) + 4.5, 0, num, NULL);
    }
    o->group_end(c);
    if (!categories) {
        o->group_begin(c, &(rm_style){.fill = "#333333", .anchor = RM_ANCHOR_MIDDLE});
        double first = ceil(fr->xmin / fr->xstep - 1e-9) * fr->xstep;
        if (spec->integer_x && first - fr->xmin > 0.5) {   /* label the first epoch too */
            snprintf(num, sizeof num, "%.0f", fr->xmin);
            o->text(c, rm_plot_px(fr, fr->xmin), fr->bottom + 19, 0, num, NULL);
        }
        for (double t = first; t <= fr->xmax + 1e-9 * fr->xstep; t += fr->xstep) {
            snprintf(num, sizeof num, "%.*f", xd, fabs(t) < 1e-12 * fr->xstep ? 0.0 : t);
            o->text(c, rm_plot_px(fr, t), fr->bottom + 19, 0, num, NULL);
        }
        o->group_end(c);
    }
    const rm_style axis_title = {.anchor = RM_ANCHOR_MIDDLE, .font_size = 14};
    if (spec->xlabel) o->text(c, (fr->left + fr->right) / 2, fr->bottom + 48, 0, spec->xlabel, &axis_title);
    if (spec->ylabel) o->text(c, 22, (fr->top + fr->bottom) / 2, -90, spec->ylabel, &axis_title);
}

static const char *const hline_dash[3] = {"", "7 5", "2 4"};

static void draw_hlines(rm_canvas *c, const rm_plot_frame *fr, const rm_plot_hline *h, int nh)
{
    for (int i = 0; i < nh; i++) {
        if (!isfinite(h[i].y) || h[i].y < fr->ymin || h[i].y > fr->ymax) continue;
        double y = rm_plot_py(fr, h[i].y);
        c->ops->line(c, fr->left, y, fr->right, y,
                     &(rm_style){.stroke = "#555555", .stroke_width = 1.4, .dash = hline_dash[(unsigned)h[i].style % 3]});
    }
}

/* Legend rows in the right margin; returns the y of the next row. */
static double legend_row(rm_canvas *c, double x, double y, const char *color, const char *dash, int band,
                         const char *label)
{
    if (band) c->ops->rect(c, x, y - 5, 26, 10, &(rm_style){.fill = color, .fill_opacity = 0.2});
    c->ops->line(c, x, y, x + 26, y, &(rm_style){.stroke = color, .stroke_width = 2.5, .dash = dash});
    /* long names are cut so they stay inside the picture */
    char cut[32];
    size_t n = strlen(label);
    if (n > 22) {
        snprintf(cut, sizeof cut, "%.20s...", label);
        label = cut;
    }
    c->ops->text(c, x + 33, y + 4.5, 0, label, NULL);
    return y + 20;
}

static int check_spec(const rm_plot_spec *spec, int *w, int *h)
{
    *w = spec->width > 0 ? spec->width : 800;
    *h = spec->height > 0 ? spec->height : 500;
    if (*w < RM_PLOT_MARGIN_LEFT + RM_PLOT_MARGIN_RIGHT + 50 || *h < RM_PLOT_MARGIN_TOP + RM_PLOT_MARGIN_BOTTOM + 50)
        return rm_error("plot size %dx%d is too small", *w, *h);
    return 0;
}

/* The pixel points of a polyline (or polygon half) for i in [a, b) into xy. */
static int points(double *xy, const rm_plot_frame *fr, const double *x, const double *y, int a, int b, int reverse)
{
    for (int k = 0; k < b - a; k++) {
        int i = reverse ? b - 1 - k : a + k;
        xy[2 * k] = rm_plot_px(fr, x[i]);
        xy[2 * k + 1] = rm_plot_py(fr, y[i]);
    }
    return b - a;
}

int rm_plot_line(rm_canvas *c, const rm_plot_spec *spec, const rm_plot_series *series, int nseries,
                 const rm_plot_hline *hlines, int nhlines, rm_plot_frame *frame)
{
    int w, h;
    RM_TRY(check_spec(spec, &w, &h));
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int maxn = 1;
    for (int s = 0; s < nseries; s++) {
        if (series[s].n > maxn) maxn = series[s].n;
        for (int i = 0; i < series[s].n; i++) {
            if (!isfinite(series[s].x[i]) || !isfinite(series[s].y[i])) continue;
            span_of(&xlo, &xhi, series[s].x[i]);
            span_of(&ylo, &yhi, series[s].y[i]);
            if (series[s].lo) span_of(&ylo, &yhi, series[s].lo[i]);
            if (series[s].hi) span_of(&ylo, &yhi, series[s].hi[i]);
        }
    }
    for (int i = 0; i < nhlines; i++) span_of(&ylo, &yhi, hlines[i].y);
    rm_plot_frame fr = {.left = RM_PLOT_MARGIN_LEFT, .right = w - RM_PLOT_MARGIN_RIGHT, .top = RM_PLOT_MARGIN_TOP,
                        .bottom = h - RM_PLOT_MARGIN_BOTTOM};
    set_range(spec->xmin, spec->xmax, xlo, xhi, spec->integer_x, 0, 0, &fr.xmin, &fr.xmax, &fr.xstep);
    set_range(spec->ymin, spec->ymax, ylo, yhi, 0, spec->clamp_ymin, spec->clamp_ymax, &fr.ymin, &fr.ymax, &fr.ystep);
    if (frame) *frame = fr;
    /* the points of one polyline, or of a band's two halves */
    double *xy = rm_malloc(sizeof *xy * 4 * (size_t)maxn, "plot points");
    if (!xy) return -1;
    const rm_canvas_ops *o = c->ops;
    if (begin_plot(c, spec, w, h) != 0) {
        free(xy);
        return -1;
    }
    draw_axes(c, spec, &fr, 0);
    o->clip_begin(c, fr.left - 4, fr.top - 4, fr.right - fr.left + 8, fr.bottom - fr.top + 8);
    /* bands first so that no band covers a line */
    for (int s = 0; s < nseries; s++) {
        const rm_plot_series *se = &series[s];
        if (!se->lo || !se->hi) continue;
        for (int a = 0; a < se->n;) {
            while (a < se->n && !(isfinite(se->x[a]) && isfinite(se->lo[a]) && isfinite(se->hi[a]))) a++;
            int b = a;
            while (b < se->n && isfinite(se->x[b]) && isfinite(se->lo[b]) && isfinite(se->hi[b])) b++;
            if (b - a >= 2) {
                int n = points(xy, &fr, se->x, se->hi, a, b, 0);
                n += points(xy + 2 * n, &fr, se->x, se->lo, a, b, 1);
                o->path(c, xy, n, 1,
                        &(rm_style){.fill = rm_plot_color(se->color), .fill_opacity = 0.13, .stroke = "none"});
            }
            a = b;
        }
    }
    draw_hlines(c, &fr, hlines, nhlines);
    for (int s = 0; s < nseries; s++) {
        const rm_plot_series *se = &series[s];
        const char *dash = dashes[(se->color / 10) % 3], *color = rm_plot_color(se->color);
        for (int a = 0; a < se->n;) {
            while (a < se->n && !(isfinite(se->x[a]) && isfinite(se->y[a]))) a++;
            int b = a;
            while (b < se->n && isfinite(se->x[b]) && isfinite(se->y[b])) b++;
            if (b > a)
                o->path(c, xy, points(xy, &fr, se->x, se->y, a, b, 0), 0,
                        &(rm_style){.fill = "none", .stroke = color, .stroke_width = 2.2, .round_join = 1,
                                    .dash = dash});
            a = b;
        }
        if (se->n <= 60) {   /* markers while they stay apart */
            o->group_begin(c, &(rm_style){.fill = color});
            for (int i = 0; i < se->n; i++)
                if (isfinite(se->x[i]) && isfinite(se->y[i]))
                    o->circle(c, rm_plot_px(&fr, se->x[i]), rm_plot_py(&fr, se->y[i]), 2.6, NULL);
            o->group_end(c);
        }
    }
    o->clip_end(c);
    free(xy);

    double lx = fr.right + 16, ly = fr.top + 8;
    o->group_begin(c, &(rm_style){.font_size = 13, .fill = "#222222"});
    for (int s = 0; s < nseries; s++)
        ly = legend_row(c, lx, ly, rm_plot_color(series[s].color), dashes[(series[s].color / 10) % 3],
                        series[s].lo && series[s].hi, series[s].label ? series[s].label : "");
    for (int i = 0; i < nhlines; i++)
        if (hlines[i].label)
            ly = legend_row(c, lx, ly, "#555555", hline_dash[(unsigned)hlines[i].style % 3], 0, hlines[i].label);
    o->group_end(c);
    return o->end(c);
}

int rm_plot_bars(rm_canvas *c, const rm_plot_spec *spec, const rm_plot_bar *bars, int nbars,
                 const rm_plot_hline *hlines, int nhlines, rm_plot_frame *frame)
{
    int w, h;
    RM_TRY(check_spec(spec, &w, &h));
    if (nbars < 1) return rm_error("bar chart: no bars");
    double lo = 0, hi = 0;   /* bars start at zero */
    for (int i = 0; i < nbars; i++) {
        span_of(&lo, &hi, bars[i].value);
        span_of(&lo, &hi, bars[i].lo);
        span_of(&lo, &hi, bars[i].hi);
        for (int k = 0; k < bars[i].npoints; k++) span_of(&lo, &hi, bars[i].points[k]);
    }
    for (int i = 0; i < nhlines; i++) span_of(&lo, &hi, hlines[i].y);
    rm_plot_frame fr = {.left = RM_PLOT_MARGIN_LEFT, .right = w - RM_PLOT_MARGIN_RIGHT, .top = RM_PLOT_MARGIN_TOP,
                        .bottom = h - RM_PLOT_MARGIN_BOTTOM, .xmin = 0, .xmax = nbars, .xstep = 1};
    set_range(spec->ymin, spec->ymax, lo, hi, 0, spec->clamp_ymin, spec->clamp_ymax, &fr.ymin, &fr.ymax, &fr.ystep);
    if (frame) *frame = fr;

    const rm_canvas_ops *o = c->ops;
    RM_TRY(begin_plot(c, spec, w, h));
    draw_axes(c, spec, &fr, 1);
    double slot = (fr.right - fr.left) / nbars, bw = fmin(slot * 0.62, 80);
    double base = rm_plot_py(&fr, fmax(fr.ymin, fmin(0, fr.ymax)));
    char num[64];
    for (int i = 0; i < nbars; i++) {
        const rm_plot_bar *b = &bars[i];
        double cx = fr.left + slot * (i + 0.5);
        if (isfinite(b->value)) {
            double top = rm_plot_py(&fr, b->value);
            o->rect(c, cx - bw / 2, fmin(top, base), bw, fabs(base - top),
                    &(rm_style){.fill = rm_plot_color(b->color), .fill_opacity = 0.85});
        }
        if (isfinite(b->lo) && isfinite(b->hi)) {
            double y1 = rm_plot_py(&fr, b->lo), y2 = rm_plot_py(&fr, b->hi);
            o->group_begin(c, &(rm_style){.stroke = "#222222", .stroke_width = 1.5});
            o->line(c, cx, y1, cx, y2, NULL);
            o->line(c, cx - 7, y1, cx + 7, y1, NULL);
            o->line(c, cx - 7, y2, cx + 7, y2, NULL);
            o->group_end(c);
        }
        if (b->npoints > 0) {
            o->group_begin(c, &(rm_style){.fill = "#222222", .fill_opacity = 0.75});
            for (int k = 0; k < b->npoints; k++) {
                if (!isfinite(b->points[k])) continue;
                double off = b->npoints > 1 ? (k - (b->npoints - 1) / 2.0) * fmin(6, bw * 0.6 / b->npoints) : 0;
                o->circle(c, cx + off, rm_plot_py(&fr, b->points[k]), 2.8, NULL);
            }
            o->group_end(c);
        }
        if (isfinite(b->value)) {
            double label_y = rm_plot_py(&fr, isfinite(b->hi) ? fmax(b->hi, b->value) : b->value) - 6;
            snprintf(num, sizeof num, "%.*f", tick_decimals(fr.ystep) + 1, b->value);
            o->text(c, cx, fmax(label_y, fr.top - 2), 0, num, &(rm_style){.anchor = RM_ANCHOR_MIDDLE, .font_size = 12});
        }
        /* category labels: slanted so that long names do not overlap */
        char cut[32];
        const char *label = b->label ? b->label : "";
        if (strlen(label) > 16) {   /* long names would leave the picture */
            snprintf(cut, sizeof cut, "%.14s...", label);
            label = cut;
        }
        o->text(c, cx + 4, fr.bottom + 16, -25, label, &(rm_style){.anchor = RM_ANCHOR_END});
    }
    draw_hlines(c, &fr, hlines, nhlines);
    double lx = fr.right + 16, ly = fr.top + 8;
    o->group_begin(c, &(rm_style){.font_size = 13, .fill = "#222222"});
    o->rect(c, lx, ly - 6, 26, 12, &(rm_style){.fill = "#8a8a8a", .fill_opacity = 0.85});
    o->text(c, lx + 33, ly + 4.5, 0, "mean", NULL);
    ly += 20;
    o->line(c, lx + 13, ly - 7, lx + 13, ly + 7, &(rm_style){.stroke = "#222222", .stroke_width = 1.5});
    o->text(c, lx + 33, ly + 4.5, 0, "\xc2\xb1 1 std", NULL);
    ly += 20;
    o->circle(c, lx + 13, ly, 2.8, &(rm_style){.fill = "#222222"});
    o->text(c, lx + 33, ly + 4.5, 0, "one seed", NULL);
    ly += 20;
    for (int i = 0; i < nhlines; i++)
        if (hlines[i].label)
            ly = legend_row(c, lx, ly, "#555555", hline_dash[(unsigned)hlines[i].style % 3], 0, hlines[i].label);
    o->group_end(c);
    return o->end(c);
}

int rm_svg_line_plot(FILE *f, const rm_plot_spec *spec, const rm_plot_series *series, int nseries,
                     const rm_plot_hline *hlines, int nhlines, rm_plot_frame *frame)
{
    rm_canvas c;
    rm_canvas_svg(&c, f);
    return rm_plot_line(&c, spec, series, nseries, hlines, nhlines, frame);
}

int rm_svg_bar_chart(FILE *f, const rm_plot_spec *spec, const rm_plot_bar *bars, int nbars,
                     const rm_plot_hline *hlines, int nhlines, rm_plot_frame *frame)
{
    rm_canvas c;
    rm_canvas_svg(&c, f);
    return rm_plot_bars(&c, spec, bars, nbars, hlines, nhlines, frame);
}
