/* Drawing primitives for the synthetic faces (private to src/ingest).
 *
 * Shapes live in face-local coordinates (x right, y down, the face about
 * [-0.6, 0.6] x [-0.8, 0.9]) and are given as approximate signed distance
 * functions (negative inside). A canvas maps its pixels to face-local
 * coordinates through the inverse pose transform; painting evaluates a shape
 * only inside its bounding box and blends with anti-aliased coverage
 * clamp(0.5 - d / pixel_size, 0, 1). A canvas may be a tile of the image
 * (with an apron for blurring), so nothing here depends on tiling. */
#ifndef RELMASK_SYNTH_SHAPES_H
#define RELMASK_SYNTH_SHAPES_H

#include <stdint.h>

enum { SH_POLY_MAX = 10 };

typedef enum {
    SH_ELLIPSE,   /* centre, radii, rotation */
    SH_BOX,       /* centre, half extents, rotation, corner rounding */
    SH_BAND,      /* a lens between two curves over x: eyes, lips, brows */
    SH_POLY,      /* a polyline of constant radius (a stroke) */
    SH_FACE,      /* an ellipse whose lower half narrows towards the chin */
    SH_CURVE,     /* the region above y = c0 + c1 x + c2 x^2 (for clipping) */
} sh_kind;

/* Shapes store floats: per-pixel distances are computed in single
 * precision (the same on every build; no -ffast-math).
 *
 * Band: with t = (x - cx) / hw in [-1, 1] and
 *   f(t)   = (1 - round) (1 - t^2) + round sqrt(1 - t^2),
 *   mid(t) = cy + tilt t + curv t^2,   s(t) = 1 + asym t,
 * the band spans mid - ht s f <= y <= mid + hb s f. */
typedef struct sh_prim {
    sh_kind kind;
    float cx, cy;
    float rx, ry, rot_c, rot_s, rounding;              /* ellipse, box */
    float hw, tilt, curv, ht, hb, asym, round;          /* band */
    float top, bot, jaw, drop;  /* face (rx = half width); drop lowers the chin */
    float c0, c1, c2;                                   /* curve */
    int n;                                               /* poly */
    float r, px[SH_POLY_MAX], py[SH_POLY_MAX];
    float irx, iry, ihw, ihw2, iee[SH_POLY_MAX];            /* cached reciprocals */
    const struct sh_prim *clip;   /* optional: intersect with this shape */
    float bb[4];                 /* face-local bbox: x0, y0, x1, y1 */
} sh_prim;

/* Constructors fill the fields and the bounding box. */
void sh_ellipse(sh_prim *p, double cx, double cy, double rx, double ry, double angle);
void sh_box(sh_prim *p, double cx, double cy, double rx, double ry, double angle,
            double rounding);
void sh_band(sh_prim *p, double cx, double cy, double hw, double tilt, double curv,
             double ht, double hb, double asym, double round);
/* The chin is lowered by `drop` (jaw drop), tapering to nothing at 0.8 of
 * the half width and towards the face's middle. */
void sh_face(sh_prim *p, double cx, double cy, double half_width, double top,
             double bot, double jaw, double drop);
void sh_curve(sh_prim *p, double c0, double c1, double c2);
/* Polyline through n points (n <= SH_POLY_MAX). */
void sh_poly(sh_prim *p, int n, const double *x, const double *y, double r);
/* Polyline sampling the quadratic Bezier (x0,y0) (x1,y1) (x2,y2). */
void sh_bezier(sh_prim *p, double x0, double y0, double x1, double y1, double x2,
               double y2, double r);
/* Polyline along the top (edge = -1) or bottom (edge = +1) edge of a band. */
void sh_band_edge(sh_prim *p, const sh_prim *band, int edge, double r);

double sh_sdf(const sh_prim *p, double x, double y);
/* Point on a band's top (edge -1), centre (0) or bottom (+1) curve at t. */
double sh_band_y(const sh_prim *p, double t, int edge);

typedef struct {
    float *buf;              /* w*h values; pixel (x0+i, y0+j) at buf[j*w+i] */
    float *weight;           /* optional coverage of the head layers ... */
    int mark_weight;         /* ... accumulated by sh_fill while this is set */
    uint8_t *mask;           /* alternatively a 0/1 mask (sh_mark) */
    int x0, y0, w, h;        /* canvas window in image pixels */
    int size;                /* the whole image is size x size */
    /* face-local (u, v) of pixel centre (x, y): u = a00 x + a01 y + b0 ... */
    double a00, a01, b0, a10, a11, b1;
    /* and back: image pixel coordinate of face-local point */
    double f00, f01, g0, f10, f11, g1;
    double pix;              /* one pixel in face-local units */
    double inv_pix;
} sh_canvas;

/* Sets up the pose transform: the face centre sits at normalised image
 * position (cx, cy) in [-1, 1]^2, rotated by `angle` (radians) and scaled by
 * `scale` (face-local unit = scale * half the image side). */
void sh_canvas_pose(sh_canvas *c, int size, double cx, double cy, double angle,
                    double scale);

/* Blends `tone` with coverage*alpha over the shape's interior. */
void sh_fill(sh_canvas *c, const sh_prim *p, double tone, double alpha);
/* Blends along the shape's outline, a stroke of half width `hw`. */
void sh_stroke(sh_canvas *c, const sh_prim *p, double tone, double alpha, double hw);
/* Sets mask to 1 where the pixel centre lies inside the shape. */
void sh_mark(sh_canvas *c, const sh_prim *p);

#endif
