#include "ingest/synth_shapes.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static double maxd(double a, double b) { return a > b ? a : b; }
static double mind(double a, double b) { return a < b ? a : b; }

static void set_bb(sh_prim *p, double x0, double y0, double x1, double y1)
{
    p->bb[0] = x0; p->bb[1] = y0; p->bb[2] = x1; p->bb[3] = y1;
}

void sh_ellipse(sh_prim *p, double cx, double cy, double rx, double ry, double angle)
{
    memset(p, 0, sizeof *p);
    p->kind = SH_ELLIPSE;
    p->cx = cx; p->cy = cy; p->rx = rx; p->ry = ry;
    p->irx = 1 / rx; p->iry = 1 / ry;
    p->rot_c = cos(angle); p->rot_s = sin(angle);
    double ex = sqrt(rx * rx * p->rot_c * p->rot_c + ry * ry * p->rot_s * p->rot_s);
    double ey = sqrt(rx * rx * p->rot_s * p->rot_s + ry * ry * p->rot_c * p->rot_c);
    set_bb(p, cx - ex, cy - ey, cx + ex, cy + ey);
}

void sh_box(sh_prim *p, double cx, double cy, double rx, double ry, double angle,
            double rounding)
{
    memset(p, 0, sizeof *p);
    p->kind = SH_BOX;
    p->cx = cx; p->cy = cy; p->rx = rx; p->ry = ry;
    p->rot_c = cos(angle); p->rot_s = sin(angle);
    p->rounding = mind(rounding, mind(rx, ry));
    double ex = rx * fabs(p->rot_c) + ry * fabs(p->rot_s);
    double ey = rx * fabs(p->rot_s) + ry * fabs(p->rot_c);
    set_bb(p, cx - ex, cy - ey, cx + ex, cy + ey);
}

void sh_band(sh_prim *p, double cx, double cy, double hw, double tilt, double curv,
             double ht, double hb, double asym, double round)
{
    memset(p, 0, sizeof *p);
    p->kind = SH_BAND;
    p->cx = cx; p->cy = cy; p->hw = hw > 1e-6 ? hw : 1e-6;
    p->ihw = 1 / p->hw;
    p->tilt = tilt; p->curv = curv; p->ht = ht; p->hb = hb;
    p->asym = asym; p->round = round;
    double s = 1 + fabs(asym);
    double y0 = cy - fabs(tilt) + mind(curv, 0) - maxd(ht, 0) * s;
    double y1 = cy + fabs(tilt) + maxd(curv, 0) + maxd(hb, 0) * s;
    set_bb(p, cx - p->hw, y0, cx + p->hw, y1);
}

void sh_face(sh_prim *p, double cx, double cy, double half_width, double top,
             double bot, double jaw, double drop)
{
    memset(p, 0, sizeof *p);
    p->kind = SH_FACE;
    p->cx = cx; p->cy = cy; p->rx = half_width; p->top = top; p->bot = bot; p->jaw = jaw;
    p->drop = drop;
    p->irx = 1 / top;     /* reciprocal half heights above/below the centre */
    p->iry = 1 / bot;
    p->ihw2 = 1 / (0.64 * half_width * half_width);
    set_bb(p, cx - half_width, cy - top, cx + half_width, cy + bot + maxd(drop, 0));
}

void sh_curve(sh_prim *p, double c0, double c1, double c2)
{
    memset(p, 0, sizeof *p);
    p->kind = SH_CURVE;
    p->c0 = c0; p->c1 = c1; p->c2 = c2;
    set_bb(p, -1e9, -1e9, 1e9, 1e9);
}

void sh_poly(sh_prim *p, int n, const double *x, const double *y, double r)
{
    memset(p, 0, sizeof *p);
    p->kind = SH_POLY;
    if (n > SH_POLY_MAX) n = SH_POLY_MAX;
    p->n = n; p->r = r;
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (int i = 0; i < n; i++) {
        p->px[i] = x[i]; p->py[i] = y[i];
        x0 = mind(x0, x[i]); x1 = maxd(x1, x[i]);
        y0 = mind(y0, y[i]); y1 = maxd(y1, y[i]);
    }
    for (int i = 0; i + 1 < n; i++) {
        double ex = x[i + 1] - x[i], ey = y[i + 1] - y[i], ee = ex * ex + ey * ey;
        p->iee[i] = ee > 0 ? 1 / ee : 0;
    }
    set_bb(p, x0 - r, y0 - r, x1 + r, y1 + r);
}

void sh_bezier(sh_prim *p, double x0, double y0, double x1, double y1, double x2,
               double y2, double r)
{
    enum { N = 7 };
    double x[N], y[N];
    for (int i = 0; i < N; i++) {
        double t = (double)i / (N - 1), a = (1 - t) * (1 - t), b = 2 * t * (1 - t), c = t * t;
        x[i] = a * x0 + b * x1 + c * x2;
        y[i] = a * y0 + b * y1 + c * y2;
    }
    sh_poly(p, N, x, y, r);
}

static double band_f(const sh_prim *p, double t)
{
    double q = 1 - t * t;
    if (q < 0) q = 0;
    return (1 - p->round) * q + p->round * sqrt(q);
}

double sh_band_y(const sh_prim *p, double t, int edge)
{
    double mid = p->cy + p->tilt * t + p->curv * t * t;
    if (edge == 0) return mid;
    double w = (1 + p->asym * t) * band_f(p, t);
    return edge < 0 ? mid - p->ht * w : mid + p->hb * w;
}

void sh_band_edge(sh_prim *p, const sh_prim *band, int edge, double r)
{
    enum { N = 9 };
    double x[N], y[N];
    for (int i = 0; i < N; i++) {
        double t = -1 + 2.0 * i / (N - 1);
        x[i] = band->cx + band->hw * t;
        y[i] = sh_band_y(band, t, edge);
    }
    sh_poly(p, N, x, y, r);
}

/* Inigo Quilez's ellipse distance estimate k0 (k0 - 1) / k1, exact on the
 * boundary and good near it; irx, iry are the reciprocal radii. */
static inline float minf_(float a, float b) { return a < b ? a : b; }
static inline float maxf_(float a, float b) { return a > b ? a : b; }
static inline float clampf_(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Inigo Quilez's ellipse distance estimate k0 (k0 - 1) / k1, exact on the
 * boundary and good near it; irx, iry are the reciprocal radii. */
static inline float sdf_ellipse_r(float qx, float qy, float irx, float iry)
{
    float ax = qx * irx, ay = qy * iry;
    float k0 = sqrtf(ax * ax + ay * ay);
    float bx = ax * irx, by = ay * iry;
    float k1 = sqrtf(bx * bx + by * by);
    if (k1 < 1e-12f) return -1 / maxf_(irx, iry);
    return k0 * (k0 - 1) / k1;
}

static inline float band_ff(const sh_prim *p, float t)
{
    float q = 1 - t * t;
    if (q < 0) q = 0;
    return p->round > 0 ? (1 - p->round) * q + p->round * sqrtf(q) : q;
}

/* `kind` is passed separately so that callers with a constant kind get a
 * specialised copy (see paint_kind). */
static inline __attribute__((always_inline)) float sdf_kind(const sh_prim *p, sh_kind kind,
                                                            float x, float y)
{
    switch (kind) {
    case SH_ELLIPSE: {
        float dx = x - p->cx, dy = y - p->cy;
        float qx = p->rot_c * dx + p->rot_s * dy, qy = -p->rot_s * dx + p->rot_c * dy;
        return sdf_ellipse_r(qx, qy, p->irx, p->iry);
    }
    case SH_BOX: {
        float dx = x - p->cx, dy = y - p->cy;
        float qx = fabsf(p->rot_c * dx + p->rot_s * dy), qy = fabsf(-p->rot_s * dx + p->rot_c * dy);
        float ex = qx - (p->rx - p->rounding), ey = qy - (p->ry - p->rounding);
        float ox = maxf_(ex, 0), oy = maxf_(ey, 0);
        return sqrtf(ox * ox + oy * oy) + minf_(maxf_(ex, ey), 0) - p->rounding;
    }
    case SH_BAND: {
        float t = (x - p->cx) * p->ihw;
        float tc = clampf_(t, -1, 1);
        float mid = p->cy + p->tilt * tc + p->curv * tc * tc;
        float w = (1 + p->asym * tc) * band_ff(p, tc);
        float dv = maxf_(mid - p->ht * w - y, y - mid - p->hb * w);
        float slope = (p->tilt + 2 * p->curv * tc) * p->ihw;
        dv /= sqrtf(1 + slope * slope);
        return maxf_(dv, fabsf(x - p->cx) - p->hw);
    }
    case SH_POLY: {
        float best;
        if (p->n == 1) {
            float dx = x - p->px[0], dy = y - p->py[0];
            best = dx * dx + dy * dy;
        } else {
            best = 1e30f;
            for (int i = 0; i + 1 < p->n; i++) {
                float ax = p->px[i], ay = p->py[i];
                float ex = p->px[i + 1] - ax, ey = p->py[i + 1] - ay;
                float wx = x - ax, wy = y - ay;
                float h = clampf_((wx * ex + wy * ey) * p->iee[i], 0, 1);
                float dx = wx - ex * h, dy = wy - ey * h;
                float d2 = dx * dx + dy * dy;
                if (d2 < best) best = d2;
            }
        }
        return sqrtf(best) - p->r;
    }
    case SH_FACE: {
        float dx = x - p->cx, dy = y - p->cy;
        if (dy > 0 && p->drop != 0) {
            float k = 1 - dx * dx * p->ihw2, f = minf_(dy * p->iry, 1);
            if (k > 0) dy -= p->drop * k * f * f;
            if (dy < 0) dy = 0;
        }
        float s = dy > 0 ? minf_(dy * p->iry, 1) : 0;
        float w = p->rx * (1 - p->jaw * s * s);
        return sdf_ellipse_r(dx, dy, 1 / w, dy < 0 ? p->irx : p->iry);
    }
    case SH_CURVE: {
        float slope = p->c1 + 2 * p->c2 * x;
        return (y - (p->c0 + p->c1 * x + p->c2 * x * x)) / sqrtf(1 + slope * slope);
    }
    }
    return 1e30f;
}

static float sdf_one(const sh_prim *p, float x, float y)
{
    return sdf_kind(p, p->kind, x, y);
}

double sh_sdf(const sh_prim *p, double x, double y)
{
    float d = sdf_one(p, (float)x, (float)y);
    if (p->clip) d = maxf_(d, sdf_one(p->clip, (float)x, (float)y));
    return d;
}

void sh_canvas_pose(sh_canvas *c, int size, double cx, double cy, double angle,
                    double scale)
{
    double k = 2.0 / size, ca = cos(angle), sa = sin(angle);
    c->size = size;
    c->a00 = ca * k / scale; c->a01 = sa * k / scale;
    c->a10 = -sa * k / scale; c->a11 = ca * k / scale;
    double ox = 0.5 * k - 1 - cx, oy = 0.5 * k - 1 - cy;
    c->b0 = (ca * ox + sa * oy) / scale;
    c->b1 = (-sa * ox + ca * oy) / scale;
    /* inverse: X = s (ca u - sa v) + cx, x = (X + 1) / k - 0.5 */
    c->f00 = scale * ca / k; c->f01 = -scale * sa / k;
    c->f10 = scale * sa / k; c->f11 = scale * ca / k;
    c->g0 = (cx + 1) / k - 0.5; c->g1 = (cy + 1) / k - 0.5;
    c->pix = k / scale;
    c->inv_pix = scale / k;
}

/* Pixel window of the canvas covering the shape's bbox grown by `grow`;
 * returns 0 when empty. */
static int pixel_window(const sh_canvas *c, const sh_prim *p, double grow, int win[4])
{
    double b[4] = {p->bb[0], p->bb[1], p->bb[2], p->bb[3]};
    if (p->clip) {
        b[0] = maxd(b[0], p->clip->bb[0]); b[1] = maxd(b[1], p->clip->bb[1]);
        b[2] = mind(b[2], p->clip->bb[2]); b[3] = mind(b[3], p->clip->bb[3]);
    }
    if (b[0] > b[2] || b[1] > b[3]) return 0;
    b[0] -= grow; b[1] -= grow; b[2] += grow; b[3] += grow;
    double xmin = 1e30, xmax = -1e30, ymin = 1e30, ymax = -1e30;
    for (int i = 0; i < 4; i++) {
        double u = b[(i & 1) ? 2 : 0], v = b[(i & 2) ? 3 : 1];
        double x = c->f00 * u + c->f01 * v + c->g0, y = c->f10 * u + c->f11 * v + c->g1;
        xmin = mind(xmin, x); xmax = maxd(xmax, x);
        ymin = mind(ymin, y); ymax = maxd(ymax, y);
    }
    if (xmax < c->x0 - 1 || ymax < c->y0 - 1 || xmin > c->x0 + c->w || ymin > c->y0 + c->h)
        return 0;
    /* pixel index coordinates: integers are pixel centres */
    int x0 = (int)ceil(xmin), x1 = (int)floor(xmax) + 1;
    int y0 = (int)ceil(ymin), y1 = (int)floor(ymax) + 1;
    if (x0 < c->x0) x0 = c->x0;
    if (y0 < c->y0) y0 = c->y0;
    if (x1 > c->x0 + c->w) x1 = c->x0 + c->w;
    if (y1 > c->y0 + c->h) y1 = c->y0 + c->h;
    if (x0 >= x1 || y0 >= y1) return 0;
    win[0] = x0; win[1] = y0; win[2] = x1; win[3] = y1;
    return 1;
}

/* Distance used for coverage: the shape's (with its clip), or for strokes
 * the distance to the outline minus the half width. */
static inline __attribute__((always_inline)) float paint_dist(const sh_prim *p, sh_kind kind,
                                                              float hw, float u, float v)
{
    float d = sdf_kind(p, kind, u, v);
    if (p->clip) d = maxf_(d, sdf_one(p->clip, u, v));
    return hw >= 0 ? fabsf(d) - hw : d;
}

/* The approximate distances may change somewhat faster than Euclidean
 * distance; block culling allows for it. */
#define SH_LIPSCHITZ 1.25

/* Blends one pixel with coverage clamp(0.5 - d / pixel, 0, 1). */
static inline __attribute__((always_inline)) void blend(sh_canvas *c, int x, int y, float d,
                                                        float inv_pix, float ft, float alpha,
                                                        int mark)
{
    float cov = 0.5f - d * inv_pix;
    if (cov <= 0) return;
    if (cov > 1) cov = 1;
    float a = cov * alpha;
    size_t i = (size_t)(y - c->y0) * c->w + (size_t)(x - c->x0);
    c->buf[i] += a * (ft - c->buf[i]);
    if (mark) c->weight[i] += a * (1 - c->weight[i]);
}

/* Blends tone over the window in 4x4 blocks: one distance at the block
 * centre decides when the block lies wholly outside (skipped) or wholly
 * inside (full coverage); only blocks near an edge are evaluated pixel by
 * pixel. Blocks are aligned to the image grid, so the result does not
 * depend on the canvas window. */
static inline __attribute__((always_inline)) void paint_kind(sh_canvas *c, const sh_prim *p,
                                                             sh_kind kind, const int win[4],
                                                             float ft, float alpha, float hw,
                                                             int mark)
{
    float reach = (float)(SH_LIPSCHITZ * 1.5 * 1.4142135623730951 * c->pix + 0.5 * c->pix);
    float inv_pix = (float)c->inv_pix, a00 = (float)c->a00, a10 = (float)c->a10;
    int bx0 = win[0] - ((win[0] % 4) + 4) % 4, by0 = win[1] - ((win[1] % 4) + 4) % 4;
    for (int by = by0; by < win[3]; by += 4) {
        int y0 = by > win[1] ? by : win[1], y1 = by + 4 < win[3] ? by + 4 : win[3];
        for (int bx = bx0; bx < win[2]; bx += 4) {
            int x0 = bx > win[0] ? bx : win[0], x1 = bx + 4 < win[2] ? bx + 4 : win[2];
            double xc = bx + 1.5, yc = by + 1.5;
            float dc = paint_dist(p, kind, hw, (float)(c->a00 * xc + c->a01 * yc + c->b0),
                                  (float)(c->a10 * xc + c->a11 * yc + c->b1));
            if (dc >= reach) continue;
            int full = dc <= -reach;
            for (int y = y0; y < y1; y++) {
                float ub = (float)(c->a01 * y + c->b0), vb = (float)(c->a11 * y + c->b1);
                for (int x = x0; x < x1; x++) {
                    float d = full ? -1e30f
                                   : paint_dist(p, kind, hw, a00 * (float)x + ub, a10 * (float)x + vb);
                    blend(c, x, y, d, inv_pix, ft, alpha, mark);
                }
            }
        }
    }
}

static void paint(sh_canvas *c, const sh_prim *p, double tone, double alpha, double hw)
{
    int win[4];
    if (alpha <= 0) return;
    if (!pixel_window(c, p, (hw > 0 ? hw : 0) + 0.51 * c->pix, win)) return;
    float ft = (float)tone, fa = (float)alpha, fh = (float)hw;
    int mark = c->weight && c->mark_weight && hw < 0;
    switch (p->kind) {
    case SH_ELLIPSE: paint_kind(c, p, SH_ELLIPSE, win, ft, fa, fh, mark); break;
    case SH_BOX: paint_kind(c, p, SH_BOX, win, ft, fa, fh, mark); break;
    case SH_BAND: paint_kind(c, p, SH_BAND, win, ft, fa, fh, mark); break;
    case SH_POLY: paint_kind(c, p, SH_POLY, win, ft, fa, fh, mark); break;
    case SH_FACE: paint_kind(c, p, SH_FACE, win, ft, fa, fh, mark); break;
    case SH_CURVE: paint_kind(c, p, SH_CURVE, win, ft, fa, fh, mark); break;
    }
}

void sh_fill(sh_canvas *c, const sh_prim *p, double tone, double alpha)
{
    paint(c, p, tone, alpha, -1);
}

void sh_stroke(sh_canvas *c, const sh_prim *p, double tone, double alpha, double hw)
{
    paint(c, p, tone, alpha, hw);
}

void sh_mark(sh_canvas *c, const sh_prim *p)
{
    int win[4];
    if (!pixel_window(c, p, 0.01 * c->pix, win)) return;
    for (int y = win[1]; y < win[3]; y++) {
        uint8_t *row = c->mask + (size_t)(y - c->y0) * c->w;
        double ub = c->a01 * y + c->b0, vb = c->a11 * y + c->b1;
        for (int x = win[0]; x < win[2]; x++)
            if (sh_sdf(p, c->a00 * x + ub, c->a10 * x + vb) < 0) row[x - c->x0] = 1;
    }
}
