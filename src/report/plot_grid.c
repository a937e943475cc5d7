/* A grid of coloured cells (the study's "size x keep" figures): one value
 * per cell on a diverging scale centred on zero, each cell labelled with
 * its value, so the figure reads without the colour bar. Drawn through the
 * canvas (canvas.h) like plot_svg.c, as SVG or PNG. */
#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "report/canvas.h"
#include "report/report.h"

enum { CELL_W = 96, CELL_H = 44, LEFT = 110, TOP = 64, RIGHT = 24, BOTTOM = 70 };

/* Diverging blue-white-red: t in [-1, 1] -> colour (t = 0 white). */
void rm_plot_diverging(double t, char out[8])
{
    if (!isfinite(t)) {
        snprintf(out, 8, "#d9d9d9");
        return;
    }
    if (t > 1) t = 1;
    if (t < -1) t = -1;
    /* The ends: #b2182b (gains) and #2166ac (losses), as in ColorBrewer RdBu. */
    const double hi[3] = {0xb2, 0x18, 0x2b}, lo[3] = {0x21, 0x66, 0xac};
    const double *end = t >= 0 ? hi : lo;
    double a = fabs(t), c[3];
    for (int k = 0; k < 3; k++) c[k] = 255 + (end[k] - 255) * a;
    snprintf(out, 8, "#%02x%02x%02x", (unsigned)lround(c[0]), (unsigned)lround(c[1]), (unsigned)lround(c[2]));
}

int rm_plot_grid_draw(rm_canvas *c, const rm_plot_grid *g)
{
    double vmax = g->vmax;
    if (!(vmax > 0)) {
        vmax = 0;
        for (int i = 0; i < g->rows * g->cols; i++)
            if (isfinite(g->values[i]) && fabs(g->values[i]) > vmax) vmax = fabs(g->values[i]);
        if (!(vmax > 0)) vmax = 1;
    }
    int w = LEFT + g->cols * CELL_W + RIGHT, h = TOP + g->rows * CELL_H + BOTTOM;
    const rm_canvas_ops *o = c->ops;
    RM_TRY(o->begin(c, w, h));
    if (g->title)
        o->text(c, w / 2.0, 26, 0, g->title, &(rm_style){.anchor = RM_ANCHOR_MIDDLE, .font_size = 16, .bold = 1});
    o->group_begin(c, &(rm_style){.cls = "cells"});
    for (int r = 0; r < g->rows; r++)
        for (int col = 0; col < g->cols; col++) {
            double v = g->values[r * g->cols + col];
            char fill[8], num[32];
            rm_plot_diverging(isfinite(v) ? v / vmax : NAN, fill);
            int x = LEFT + col * CELL_W, y = TOP + r * CELL_H;
            o->rect(c, x, y, CELL_W, CELL_H, &(rm_style){.fill = fill, .stroke = "#ffffff"});
            /* Dark text on light cells, white on saturated ones. */
            const char *ink = isfinite(v) && fabs(v) / vmax > 0.6 ? "#ffffff" : "#222222";
            const char *text = g->cell_text ? g->cell_text[r * g->cols + col] : NULL;
            if (!text) {
                if (isfinite(v)) snprintf(num, sizeof num, "%+.1f", v);
                else snprintf(num, sizeof num, "n/a");
                text = num;
            }
            o->text(c, x + CELL_W / 2, y + CELL_H / 2 + 5, 0, text,
                    &(rm_style){.anchor = RM_ANCHOR_MIDDLE, .fill = ink});
        }
    o->group_end(c);
    const rm_style end = {.anchor = RM_ANCHOR_END}, middle = {.anchor = RM_ANCHOR_MIDDLE},
                   axis_title = {.anchor = RM_ANCHOR_MIDDLE, .font_size = 14};
    for (int r = 0; r < g->rows; r++) o->text(c, LEFT - 8, TOP + r * CELL_H + CELL_H / 2 + 5, 0, g->row_labels[r], &end);
    for (int col = 0; col < g->cols; col++)
        o->text(c, LEFT + col * CELL_W + CELL_W / 2, TOP + g->rows * CELL_H + 20, 0, g->col_labels[col], &middle);
    if (g->xlabel) o->text(c, LEFT + g->cols * CELL_W / 2, TOP + g->rows * CELL_H + 48, 0, g->xlabel, &axis_title);
    if (g->ylabel) o->text(c, 18, TOP + g->rows * CELL_H / 2, -90, g->ylabel, &axis_title);
    return o->end(c);
}

int rm_svg_grid(FILE *f, const rm_plot_grid *g)
{
    rm_canvas c;
    rm_canvas_svg(&c, f);
    return rm_plot_grid_draw(&c, g);
}
