/* A small drawing surface for the report's plots: the plot code (plot_svg.c,
 * plot_grid.c) draws through an ops table, and two backends render it:
 *   - SVG text into a FILE (canvas_svg.c), the figures the reports inline;
 *   - an anti-aliased RGB raster written as PNG (canvas_raster.c), the same
 *     picture for slides, papers and viewers without SVG.
 * Coordinates are SVG user units (pixels of the SVG), y down. A style field
 * left at zero / NULL is inherited from the enclosing groups, as in SVG. */
#ifndef RELMASK_REPORT_CANVAS_H
#define RELMASK_REPORT_CANVAS_H

#include <stdio.h>

typedef enum { RM_ANCHOR_INHERIT, RM_ANCHOR_START, RM_ANCHOR_MIDDLE, RM_ANCHOR_END } rm_anchor;

typedef struct {
    const char *fill, *stroke;     /* "#rrggbb" or "none"; NULL: inherited (initially black / none) */
    double fill_opacity;           /* 0: inherited (initially 1) */
    double stroke_width;           /* 0: inherited (initially 1) */
    int round_join;                /* stroke-linejoin="round" (polylines) */
    const char *dash;              /* "8 3" (on, off, ...); NULL: inherited; "": solid */
    rm_anchor anchor;              /* text-anchor */
    double font_size;              /* 0: inherited (initially 13) */
    int bold;
    const char *cls;               /* groups only: an SVG class name */
} rm_style;

typedef struct rm_canvas rm_canvas;

typedef struct {
    /* A width x height picture on a white background. */
    int (*begin)(rm_canvas *c, int width, int height);
    /* Finishes the picture; -1 (with an error) if anything failed. */
    int (*end)(rm_canvas *c);
    void (*group_begin)(rm_canvas *c, const rm_style *s);
    void (*group_end)(rm_canvas *c);
    /* Until clip_end, nothing is drawn outside the rectangle. */
    void (*clip_begin)(rm_canvas *c, double x, double y, double w, double h);
    void (*clip_end)(rm_canvas *c);
    void (*line)(rm_canvas *c, double x1, double y1, double x2, double y2, const rm_style *s);
    /* n points xy[2i], xy[2i+1]; closed: a polygon (filled, nonzero rule,
     * and stroked), else a polyline (stroked only: give it fill "none", the
     * raster never fills one). */
    void (*path)(rm_canvas *c, const double *xy, int n, int closed, const rm_style *s);
    void (*rect)(rm_canvas *c, double x, double y, double w, double h, const rm_style *s);
    void (*circle)(rm_canvas *c, double cx, double cy, double r, const rm_style *s);
    /* UTF-8 text with its baseline at y, placed by the anchor, rotated by
     * `rotate` degrees (clockwise, SVG's sense) about (x, y). */
    void (*text)(rm_canvas *c, double x, double y, double rotate, const char *text, const rm_style *s);
} rm_canvas_ops;

enum { RM_CANVAS_DEPTH = 8 };

struct rm_canvas {
    const rm_canvas_ops *ops;
    int failed;                    /* set by a backend when it could not draw (out of memory) */
    /* SVG */
    FILE *f;
    /* raster */
    double scale;                  /* output pixels per SVG unit */
    int width, height;             /* output pixels */
    float *rgb;                    /* interleaved RGB in [0, 1] */
    rm_style stack[RM_CANVAS_DEPTH];
    int depth;
    double clip[4];                /* x0, y0, x1, y1 in output pixels */
    /* path scratch, grown as needed and reused */
    double *pts;                   /* x, y in output pixels */
    int npts, cap_pts;
    int *ends;                     /* one past each contour's last point */
    int nends, cap_ends;
    double *edges;                 /* x0, y0, x1, y1, dir per edge */
    int cap_edges;
    double *cross;                 /* x, dir per crossing */
    int cap_cross;
    float *cov;                    /* coverage of one output row */
};

/* SVG text into f (the caller owns f). */
void rm_canvas_svg(rm_canvas *c, FILE *f);
/* A raster of the SVG's size times `scale` (e.g. 2: retina); begin()
 * allocates it. rm_canvas_free releases it. */
void rm_canvas_raster(rm_canvas *c, double scale);
void rm_canvas_free(rm_canvas *c);
/* The raster as an 8-bit RGB PNG straight to `path` (the caller renames). */
int rm_canvas_write_png(const rm_canvas *c, const char *path);
/* Writes the picture draw(c, arg) draws to `path` as PNG at 2x the SVG's
 * size, atomically (temporary file, renamed; replaces an older file). */
int rm_canvas_save_png(const char *path, int (*draw)(rm_canvas *c, void *arg), void *arg);

/* The output size of PNG figures: the SVG's width and height times this. */
#define RM_PLOT_PNG_SCALE 2

/* Font metrics of the raster text (the 5x7 bitmap font scaled to the font
 * size): one font pixel is font_size / 10 units, a character advances 6. */
double rm_canvas_text_width(const char *text, double font_size);

#endif
