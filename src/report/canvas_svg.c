/* The SVG backend of the canvas: plain SVG 1.1 elements (rect, line,
 * polyline, polygon, circle, text, g, clipPath), so every browser and image
 * viewer shows them. Coordinates with two decimals; a style writes only the
 * attributes it sets, the rest is inherited from the enclosing <g>. */
#include <stdio.h>

#include "core/error.h"
#include "report/canvas.h"
#include "report/report.h"

static void paint_attrs(FILE *f, const rm_style *s)
{
    if (!s) return;
    if (s->fill) fprintf(f, " fill=\"%s\"", s->fill);
    if (s->fill_opacity > 0) fprintf(f, " fill-opacity=\"%g\"", s->fill_opacity);
    if (s->stroke) fprintf(f, " stroke=\"%s\"", s->stroke);
    if (s->stroke_width > 0) fprintf(f, " stroke-width=\"%g\"", s->stroke_width);
    if (s->round_join) fputs(" stroke-linejoin=\"round\"", f);
    if (s->dash && *s->dash) fprintf(f, " stroke-dasharray=\"%s\"", s->dash);
}

static const char *anchor_name(rm_anchor a)
{
    return a == RM_ANCHOR_START ? "start" : a == RM_ANCHOR_MIDDLE ? "middle" : a == RM_ANCHOR_END ? "end" : NULL;
}

static void text_attrs(FILE *f, const rm_style *s)
{
    if (!s) return;
    if (anchor_name(s->anchor)) fprintf(f, " text-anchor=\"%s\"", anchor_name(s->anchor));
    if (s->font_size > 0) fprintf(f, " font-size=\"%g\"", s->font_size);
    if (s->bold) fputs(" font-weight=\"bold\"", f);
    if (s->fill) fprintf(f, " fill=\"%s\"", s->fill);
    if (s->fill_opacity > 0) fprintf(f, " fill-opacity=\"%g\"", s->fill_opacity);
}

static int svg_begin(rm_canvas *c, int w, int h)
{
    fprintf(c->f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
            w, h, w, h, w, h);
    return 0;
}

static int svg_end(rm_canvas *c)
{
    fputs("</svg>\n", c->f);
    return ferror(c->f) || c->failed ? rm_error("writing the SVG failed") : 0;
}

static void svg_group_begin(rm_canvas *c, const rm_style *s)
{
    fputs("<g", c->f);
    if (s && s->cls) fprintf(c->f, " class=\"%s\"", s->cls);
    if (s && s->font_size > 0) fprintf(c->f, " font-size=\"%g\"", s->font_size);
    paint_attrs(c->f, s);
    if (s && anchor_name(s->anchor)) fprintf(c->f, " text-anchor=\"%s\"", anchor_name(s->anchor));
    if (s && s->bold) fputs(" font-weight=\"bold\"", c->f);
    fputs(">\n", c->f);
}

static void svg_group_end(rm_canvas *c) { fputs("</g>\n", c->f); }

/* One clip region per picture (the plot area), hence the fixed id. */
static void svg_clip_begin(rm_canvas *c, double x, double y, double w, double h)
{
    fprintf(c->f, "<defs><clipPath id=\"plot-area\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>"
                  "</clipPath></defs>\n<g clip-path=\"url(#plot-area)\">\n",
            x, y, w, h);
}

static void svg_line(rm_canvas *c, double x1, double y1, double x2, double y2, const rm_style *s)
{
    fprintf(c->f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"", x1, y1, x2, y2);
    paint_attrs(c->f, s);
    fputs("/>\n", c->f);
}

static void svg_path(rm_canvas *c, const double *xy, int n, int closed, const rm_style *s)
{
    fputs(closed ? "<polygon" : "<polyline", c->f);
    paint_attrs(c->f, s);
    fputs(" points=\"", c->f);
    for (int i = 0; i < n; i++) fprintf(c->f, "%s%.2f,%.2f", i ? " " : "", xy[2 * i], xy[2 * i + 1]);
    fputs("\"/>\n", c->f);
}

static void svg_rect(rm_canvas *c, double x, double y, double w, double h, const rm_style *s)
{
    fprintf(c->f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"", x, y, w, h);
    paint_attrs(c->f, s);
    fputs("/>\n", c->f);
}

static void svg_circle(rm_canvas *c, double cx, double cy, double r, const rm_style *s)
{
    fprintf(c->f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%g\"", cx, cy, r);
    paint_attrs(c->f, s);
    fputs("/>\n", c->f);
}

static void svg_text(rm_canvas *c, double x, double y, double rotate, const char *text, const rm_style *s)
{
    fprintf(c->f, "<text x=\"%.2f\" y=\"%.2f\"", x, y);
    text_attrs(c->f, s);
    if (rotate != 0) fprintf(c->f, " transform=\"rotate(%g %.2f %.2f)\"", rotate, x, y);
    fputc('>', c->f);
    rm_xml_escape(c->f, text);
    fputs("</text>\n", c->f);
}

static const rm_canvas_ops svg_ops = {
    .begin = svg_begin,
    .end = svg_end,
    .group_begin = svg_group_begin,
    .group_end = svg_group_end,
    .clip_begin = svg_clip_begin,
    .clip_end = svg_group_end,
    .line = svg_line,
    .path = svg_path,
    .rect = svg_rect,
    .circle = svg_circle,
    .text = svg_text,
};

void rm_canvas_svg(rm_canvas *c, FILE *f)
{
    *c = (rm_canvas){.ops = &svg_ops, .f = f};
}
