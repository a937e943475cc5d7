/* A grid of coloured cells (the study's "size x keep" figures): one value
 * per cell on a diverging scale centred on zero, each cell labelled with
 * its value, so the figure reads without the colour bar. Plain SVG 1.1
 * (rect, text, g) like plot_svg.c. */
#include <math.h>
#include <stdio.h>

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

int rm_svg_grid(FILE *f, const rm_plot_grid *g)
{
    double vmax = g->vmax;
    if (!(vmax > 0)) {
        vmax = 0;
        for (int i = 0; i < g->rows * g->cols; i++)
            if (isfinite(g->values[i]) && fabs(g->values[i]) > vmax) vmax = fabs(g->values[i]);
        if (!(vmax > 0)) vmax = 1;
    }
    int w = LEFT + g->cols * CELL_W + RIGHT, h = TOP + g->rows * CELL_H + BOTTOM;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
            w, h, w, h, w, h);
    if (g->title) {
        fprintf(f, "<text x=\"%.1f\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">", w / 2.0);
        rm_xml_escape(f, g->title);
        fputs("</text>\n", f);
    }
    fputs("<g class=\"cells\">\n", f);
    for (int r = 0; r < g->rows; r++)
        for (int c = 0; c < g->cols; c++) {
            double v = g->values[r * g->cols + c];
            char fill[8];
            rm_plot_diverging(isfinite(v) ? v / vmax : NAN, fill);
            int x = LEFT + c * CELL_W, y = TOP + r * CELL_H;
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#ffffff\"/>\n", x, y,
                    CELL_W, CELL_H, fill);
            /* Dark text on light cells, white on saturated ones. */
            const char *ink = isfinite(v) && fabs(v) / vmax > 0.6 ? "#ffffff" : "#222222";
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">", x + CELL_W / 2,
                    y + CELL_H / 2 + 5, ink);
            const char *text = g->cell_text ? g->cell_text[r * g->cols + c] : NULL;
            if (text) rm_xml_escape(f, text);
            else if (isfinite(v)) fprintf(f, "%+.1f", v);
            else fputs("n/a", f);
            fputs("</text>\n", f);
        }
    fputs("</g>\n", f);
    for (int r = 0; r < g->rows; r++) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LEFT - 8, TOP + r * CELL_H + CELL_H / 2 + 5);
        rm_xml_escape(f, g->row_labels[r]);
        fputs("</text>\n", f);
    }
    for (int c = 0; c < g->cols; c++) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", LEFT + c * CELL_W + CELL_W / 2,
                TOP + g->rows * CELL_H + 20);
        rm_xml_escape(f, g->col_labels[c]);
        fputs("</text>\n", f);
    }
    if (g->xlabel) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\">", LEFT + g->cols * CELL_W / 2,
                TOP + g->rows * CELL_H + 48);
        rm_xml_escape(f, g->xlabel);
        fputs("</text>\n", f);
    }
    if (g->ylabel) {
        fprintf(f, "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\" transform=\"rotate(-90 18 %d)\">",
                TOP + g->rows * CELL_H / 2, TOP + g->rows * CELL_H / 2);
        rm_xml_escape(f, g->ylabel);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
