/* The raster backend of the canvas: every primitive becomes a path of
 * contours in output pixels (a stroke: one quad per segment or dash, round
 * joins as small polygons; text: one rectangle per run of set pixels of the
 * 5x7 font), filled with the nonzero rule. All contours of one primitive are
 * given the same orientation, so overlapping pieces form their union and
 * a translucent primitive is blended once.
 *
 * Anti-aliasing: each output row is sampled on RM_SUB sub-scanlines; on
 * each, the covered spans add their exact horizontal overlap with every
 * pixel, so a pixel's coverage is exact horizontally and has RM_SUB levels
 * vertically. The colour is blended over the row with that coverage times
 * the opacity. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/image.h"
#include "core/output.h"
#include "report/canvas.h"
#include "report/font5x7.h"

enum { RM_SUB = 8, CIRCLE_SEGMENTS = 32, TEXT_MAX = 512 };

#define FONT_UNIT 0.1     /* font pixels per unit of font size */

/* --- scratch buffers ------------------------------------------------------- */

static int grow(rm_canvas *c, void **buf, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 0;
    int n = *cap ? *cap : 256;
    while (n < need) n *= 2;
    void *p = realloc(*buf, (size_t)n * elem);
    if (!p) {
        c->failed = 1;
        return -1;
    }
    *buf = p;
    *cap = n;
    return 0;
}

static void shape_reset(rm_canvas *c) { c->npts = c->nends = 0; }

/* Appends a point given in SVG units. */
static void shape_point(rm_canvas *c, double x, double y)
{
    if (grow(c, (void **)&c->pts, &c->cap_pts, c->npts + 1, 2 * sizeof *c->pts)) return;
    c->pts[2 * c->npts] = x * c->scale;
    c->pts[2 * c->npts + 1] = y * c->scale;
    c->npts++;
}

/* Ends the contour begun after the previous one and gives it a negative
 * signed area (clockwise on screen), reversing it if needed. */
static void shape_close(rm_canvas *c)
{
    int a = c->nends ? c->ends[c->nends - 1] : 0, b = c->npts;
    if (b - a < 3) {
        c->npts = a;
        return;
    }
    if (grow(c, (void **)&c->ends, &c->cap_ends, c->nends + 1, sizeof *c->ends)) return;
    double area = 0;
    for (int i = a; i < b; i++) {
        int j = i + 1 < b ? i + 1 : a;
        area += c->pts[2 * i] * c->pts[2 * j + 1] - c->pts[2 * j] * c->pts[2 * i + 1];
    }
    if (area > 0)
        for (int i = a, j = b - 1; i < j; i++, j--) {
            double tx = c->pts[2 * i], ty = c->pts[2 * i + 1];
            c->pts[2 * i] = c->pts[2 * j], c->pts[2 * i + 1] = c->pts[2 * j + 1];
            c->pts[2 * j] = tx, c->pts[2 * j + 1] = ty;
        }
    c->ends[c->nends++] = b;
}

/* Adds the horizontal overlap of [a, b) with each pixel of the row, times w. */
static void add_span(float *cov, double a, double b, int x0, int x1, float w)
{
    if (a < x0) a = x0;
    if (b > x1) b = x1;
    if (!(b > a)) return;
    int ia = (int)floor(a), ib = (int)floor(b);
    if (ia == ib) {
        cov[ia] += (float)(b - a) * w;
        return;
    }
    cov[ia] += (float)(ia + 1 - a) * w;
    for (int i = ia + 1; i < ib; i++) cov[i] += w;
    if (ib < x1) cov[ib] += (float)(b - ib) * w;
}

/* Fills the current shape (nonzero rule) with colour rgb at opacity alpha. */
static void shape_fill(rm_canvas *c, const float rgb[3], double alpha)
{
    if (c->failed || c->nends == 0 || !c->rgb) return;
    double minx = INFINITY, maxx = -INFINITY, miny = INFINITY, maxy = -INFINITY;
    int npts = c->ends[c->nends - 1];
    for (int i = 0; i < npts; i++) {
        minx = fmin(minx, c->pts[2 * i]), maxx = fmax(maxx, c->pts[2 * i]);
        miny = fmin(miny, c->pts[2 * i + 1]), maxy = fmax(maxy, c->pts[2 * i + 1]);
    }
    int x0 = (int)floor(fmax(minx, c->clip[0])), x1 = (int)ceil(fmin(maxx, c->clip[2]));
    int y0 = (int)floor(fmax(miny, c->clip[1])), y1 = (int)ceil(fmin(maxy, c->clip[3]));
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > c->width) x1 = c->width;
    if (y1 > c->height) y1 = c->height;
    if (x1 <= x0 || y1 <= y0) return;
    if (grow(c, (void **)&c->edges, &c->cap_edges, npts, 5 * sizeof *c->edges)) return;
    if (grow(c, (void **)&c->cross, &c->cap_cross, npts, 2 * sizeof *c->cross)) return;
    int ne = 0;
    for (int k = 0, a = 0; k < c->nends; a = c->ends[k++])
        for (int i = a; i < c->ends[k]; i++) {
            int j = i + 1 < c->ends[k] ? i + 1 : a;
            double xa = c->pts[2 * i], ya = c->pts[2 * i + 1], xb = c->pts[2 * j], yb = c->pts[2 * j + 1];
            if (ya == yb) continue;
            double *e = c->edges + 5 * ne++;
            if (ya < yb) e[0] = xa, e[1] = ya, e[2] = xb, e[3] = yb, e[4] = 1;
            else e[0] = xb, e[1] = yb, e[2] = xa, e[3] = ya, e[4] = -1;
        }
    float *cov = c->cov;
    double cx0 = fmax(c->clip[0], x0), cx1 = fmin(c->clip[2], x1);
    for (int py = y0; py < y1; py++) {
        memset(cov + x0, 0, sizeof *cov * (size_t)(x1 - x0));
        int any = 0;
        for (int s = 0; s < RM_SUB; s++) {
            double sy = py + (s + 0.5) / RM_SUB;
            if (sy < c->clip[1] || sy >= c->clip[3]) continue;
            int nc = 0;
            for (int i = 0; i < ne; i++) {
                const double *e = c->edges + 5 * i;
                if (sy < e[1] || sy >= e[3]) continue;
                double x = e[0] + (sy - e[1]) * (e[2] - e[0]) / (e[3] - e[1]);
                int k = nc++;   /* insertion sort by x */
                while (k > 0 && c->cross[2 * (k - 1)] > x) {
                    c->cross[2 * k] = c->cross[2 * (k - 1)], c->cross[2 * k + 1] = c->cross[2 * (k - 1) + 1];
                    k--;
                }
                c->cross[2 * k] = x, c->cross[2 * k + 1] = e[4];
            }
            int wind = 0;
            double start = 0;
            for (int i = 0; i < nc; i++) {
                int prev = wind;
                wind += (int)c->cross[2 * i + 1];
                if (!prev && wind) start = c->cross[2 * i];
                else if (prev && !wind) add_span(cov, fmax(start, cx0), fmin(c->cross[2 * i], cx1), x0, x1,
                                                 1.0f / RM_SUB), any = 1;
            }
        }
        if (!any) continue;
        float *row = c->rgb + (size_t)3 * ((size_t)py * c->width);
        for (int px = x0; px < x1; px++) {
            float a = cov[px] * (float)alpha;
            if (a <= 0) continue;
            if (a > 1) a = 1;
            float *p = row + 3 * px;
            for (int k = 0; k < 3; k++) p[k] += (rgb[k] - p[k]) * a;
        }
    }
}

/* --- styles ------------------------------------------------------------------ */

static rm_style merged(const rm_canvas *c, const rm_style *s)
{
    rm_style m = c->stack[c->depth];
    if (!s) return m;
    if (s->fill) m.fill = s->fill;
    if (s->stroke) m.stroke = s->stroke;
    if (s->fill_opacity > 0) m.fill_opacity = s->fill_opacity;
    if (s->stroke_width > 0) m.stroke_width = s->stroke_width;
    if (s->round_join) m.round_join = 1;
    if (s->dash) m.dash = s->dash;
    if (s->anchor) m.anchor = s->anchor;
    if (s->font_size > 0) m.font_size = s->font_size;
    if (s->bold) m.bold = 1;
    return m;
}

/* "#rrggbb" -> rgb in [0, 1]; 0 for "none" or anything else. */
static int parse_color(const char *s, float rgb[3])
{
    if (!s || s[0] != '#' || strlen(s) != 7) return 0;
    for (int k = 0; k < 3; k++) {
        int v = 0;
        for (int d = 0; d < 2; d++) {
            char ch = s[1 + 2 * k + d];
            int h = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
            if (h < 0) return 0;
            v = v * 16 + h;
        }
        rgb[k] = (float)v / 255.0f;
    }
    return 1;
}

/* --- strokes ------------------------------------------------------------------ */

/* A quad of width w along a..b, extended by `ext` at both ends. */
static void add_quad(rm_canvas *c, double ax, double ay, double bx, double by, double w, double ext)
{
    double dx = bx - ax, dy = by - ay, len = hypot(dx, dy);
    if (!(len > 0)) return;
    dx /= len, dy /= len;
    ax -= dx * ext, ay -= dy * ext, bx += dx * ext, by += dy * ext;
    double nx = -dy * w / 2, ny = dx * w / 2;
    shape_point(c, ax + nx, ay + ny);
    shape_point(c, bx + nx, by + ny);
    shape_point(c, bx - nx, by - ny);
    shape_point(c, ax - nx, ay - ny);
    shape_close(c);
}

static void add_disc(rm_canvas *c, double cx, double cy, double r)
{
    for (int i = 0; i < CIRCLE_SEGMENTS; i++) {
        double t = 2 * M_PI * i / CIRCLE_SEGMENTS;
        shape_point(c, cx + r * cos(t), cy + r * sin(t));
    }
    shape_close(c);
}

/* The dash pattern's lengths (repeated once when odd, as SVG does); 0: solid. */
static int parse_dash(const char *s, double d[8], double *total)
{
    int n = 0;
    *total = 0;
    while (s && *s && n < 4) {
        char *end;
        double v = strtod(s, &end);
        if (end == s) break;
        if (v < 0) return 0;
        d[n++] = v, *total += v;
        s = end;
        while (*s == ' ' || *s == ',') s++;
    }
    if (n % 2)
        for (int i = 0; i < n; i++) d[n + i] = d[i];
    if (n % 2) n *= 2, *total *= 2;
    return *total > 0 ? n : 0;
}

/* Whether the dash pattern is "on" at distance pos along the path, and how
 * far the current dash or gap goes on. */
static int dash_at(const double *d, int nd, double total, double pos, double *left)
{
    double ph = fmod(pos, total);
    for (int k = 0; k < nd; k++) {
        if (ph < d[k]) {
            *left = d[k] - ph;
            return k % 2 == 0;
        }
        ph -= d[k];
    }
    *left = 1e-9;
    return 0;
}

static void stroke_path(rm_canvas *c, const double *xy, int n, int closed, const rm_style *st)
{
    float rgb[3];
    if (!parse_color(st->stroke, rgb) || !(st->stroke_width > 0) || n < 2) return;
    double w = st->stroke_width, d[8], total;
    int nd = parse_dash(st->dash, d, &total);
    shape_reset(c);
    double pos = 0;
    int segs = closed ? n : n - 1;
    for (int i = 0; i < segs; i++) {
        double ax = xy[2 * i], ay = xy[2 * i + 1], bx = xy[2 * ((i + 1) % n)], by = xy[2 * ((i + 1) % n) + 1];
        double len = hypot(bx - ax, by - ay);
        if (!(len > 0)) continue;
        if (!nd) {
            add_quad(c, ax, ay, bx, by, w, closed ? w / 2 : 0);
        } else {
            for (double t = 0; t < len;) {
                double left;
                int on = dash_at(d, nd, total, pos + t, &left);
                double e = fmin(len, t + fmax(left, 1e-9));
                if (on)
                    add_quad(c, ax + (bx - ax) * t / len, ay + (by - ay) * t / len, ax + (bx - ax) * e / len,
                             ay + (by - ay) * e / len, w, 0);
                t = e;
            }
        }
        pos += len;
        double left;
        if (st->round_join && !closed && i + 1 < segs && (!nd || dash_at(d, nd, total, pos, &left)))
            add_disc(c, bx, by, w / 2);
    }
    shape_fill(c, rgb, 1);
}

/* --- ops ---------------------------------------------------------------------- */

static int raster_begin(rm_canvas *c, int w, int h)
{
    c->width = (int)lround(w * c->scale), c->height = (int)lround(h * c->scale);
    if (w < 1 || h < 1 || c->width > RM_IMAGE_MAX_SIDE || c->height > RM_IMAGE_MAX_SIDE)
        return rm_error("figure of %dx%d pixels at scale %g is outside 1..%d pixels per side", w, h, c->scale,
                        RM_IMAGE_MAX_SIDE);
    free(c->rgb), free(c->cov);
    c->rgb = rm_malloc(sizeof *c->rgb * 3 * (size_t)c->width * (size_t)c->height, "figure pixels");
    c->cov = rm_malloc(sizeof *c->cov * ((size_t)c->width + 1), "figure row");
    if (!c->rgb || !c->cov) return -1;
    for (size_t i = 0; i < 3 * (size_t)c->width * (size_t)c->height; i++) c->rgb[i] = 1.0f;
    c->depth = 0;
    c->stack[0] = (rm_style){.fill = "#000000", .stroke = "none", .fill_opacity = 1, .stroke_width = 1, .dash = "",
                             .anchor = RM_ANCHOR_START, .font_size = 13};
    c->clip[0] = 0, c->clip[1] = 0, c->clip[2] = c->width, c->clip[3] = c->height;
    return 0;
}

static int raster_end(rm_canvas *c)
{
    return c->failed ? rm_error("drawing a %dx%d figure: out of memory", c->width, c->height) : 0;
}

static void raster_group_begin(rm_canvas *c, const rm_style *s)
{
    rm_style m = merged(c, s);
    if (c->depth + 1 < RM_CANVAS_DEPTH) c->stack[++c->depth] = m;
    else c->failed = 1;
}

static void raster_group_end(rm_canvas *c)
{
    if (c->depth > 0) c->depth--;
}

static void raster_clip_begin(rm_canvas *c, double x, double y, double w, double h)
{
    c->clip[0] = fmax(0, x * c->scale), c->clip[1] = fmax(0, y * c->scale);
    c->clip[2] = fmin(c->width, (x + w) * c->scale), c->clip[3] = fmin(c->height, (y + h) * c->scale);
}

static void raster_clip_end(rm_canvas *c)
{
    c->clip[0] = 0, c->clip[1] = 0, c->clip[2] = c->width, c->clip[3] = c->height;
}

static void fill_current(rm_canvas *c, const rm_style *st)
{
    float rgb[3];
    if (parse_color(st->fill, rgb)) shape_fill(c, rgb, st->fill_opacity);
}

static void raster_line(rm_canvas *c, double x1, double y1, double x2, double y2, const rm_style *s)
{
    rm_style st = merged(c, s);
    double xy[4] = {x1, y1, x2, y2};
    stroke_path(c, xy, 2, 0, &st);
}

static void raster_path(rm_canvas *c, const double *xy, int n, int closed, const rm_style *s)
{
    rm_style st = merged(c, s);
    if (closed && n >= 3) {   /* polylines are never filled (the plots give them fill="none") */
        shape_reset(c);
        for (int i = 0; i < n; i++) shape_point(c, xy[2 * i], xy[2 * i + 1]);
        shape_close(c);
        fill_current(c, &st);
    }
    stroke_path(c, xy, n, closed, &st);
}

static void raster_rect(rm_canvas *c, double x, double y, double w, double h, const rm_style *s)
{
    rm_style st = merged(c, s);
    if (!(w > 0) || !(h > 0)) return;
    shape_reset(c);
    shape_point(c, x, y), shape_point(c, x + w, y), shape_point(c, x + w, y + h), shape_point(c, x, y + h);
    shape_close(c);
    fill_current(c, &st);
    double xy[8] = {x, y, x + w, y, x + w, y + h, x, y + h};
    stroke_path(c, xy, 4, 1, &st);
}

static void raster_circle(rm_canvas *c, double cx, double cy, double r, const rm_style *s)
{
    rm_style st = merged(c, s);
    if (!(r > 0)) return;
    shape_reset(c);
    add_disc(c, cx, cy, r);
    fill_current(c, &st);
}

/* UTF-8 -> the font's ASCII: a few symbols the reports use are spelled
 * out, anything else outside ASCII becomes '?'. */
static void to_ascii(const char *in, char *out, size_t n)
{
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)in;
    while (*p && k + 4 < n) {
        if (*p < 0x80) {
            out[k++] = (char)*p++;
            continue;
        }
        unsigned cp = 0;
        int more = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : 0;
        cp = *p++ & (0x3f >> more);
        for (int i = 0; i < more && (*p & 0xc0) == 0x80; i++) cp = cp << 6 | (*p++ & 0x3f);
        const char *sub = cp == 0xb1 ? "+/-" : cp == 0xd7 ? "x" : cp == 0x2212 || cp == 0x2013 || cp == 0x2014 ? "-"
                        : cp == 0x394 ? "D" : cp == 0xb5 ? "u" : "?";
        while (*sub && k + 1 < n) out[k++] = *sub++;
    }
    out[k] = 0;
}

double rm_canvas_text_width(const char *text, double font_size)
{
    char ascii[TEXT_MAX];
    to_ascii(text ? text : "", ascii, sizeof ascii);
    size_t n = strlen(ascii);
    return n ? (double)(n * RM_FONT_ADVANCE - 1) * font_size * FONT_UNIT : 0;
}

static void raster_text(rm_canvas *c, double x, double y, double rotate, const char *text, const rm_style *s)
{
    rm_style st = merged(c, s);
    float rgb[3];
    if (!text || !parse_color(st.fill, rgb)) return;
    char ascii[TEXT_MAX];
    to_ascii(text, ascii, sizeof ascii);
    double u = st.font_size * FONT_UNIT, width = rm_canvas_text_width(text, st.font_size);
    double lx = st.anchor == RM_ANCHOR_MIDDLE ? -width / 2 : st.anchor == RM_ANCHOR_END ? -width : 0;
    double ca = cos(rotate * M_PI / 180), sa = sin(rotate * M_PI / 180), bold = st.bold ? 0.5 : 0;
    shape_reset(c);
    for (size_t i = 0; ascii[i]; i++)
        for (int row = 0; row < RM_FONT_GLYPH_H; row++)
            for (int col = 0; col < RM_FONT_GLYPH_W; col++) {
                if (!rm_font_pixel(ascii[i], col, row) || (col > 0 && rm_font_pixel(ascii[i], col - 1, row))) continue;
                int end = col;
                while (end + 1 < RM_FONT_GLYPH_W && rm_font_pixel(ascii[i], end + 1, row)) end++;
                /* the run's rectangle in text space: baseline at 0, glyphs above it */
                double rx0 = lx + ((double)i * RM_FONT_ADVANCE + col) * u, rx1 = rx0 + (end - col + 1 + bold) * u;
                double ry0 = (row - RM_FONT_GLYPH_H) * u, ry1 = ry0 + u;
                const double corner[4][2] = {{rx0, ry0}, {rx1, ry0}, {rx1, ry1}, {rx0, ry1}};
                for (int k = 0; k < 4; k++)
                    shape_point(c, x + corner[k][0] * ca - corner[k][1] * sa, y + corner[k][0] * sa + corner[k][1] * ca);
                shape_close(c);
            }
    shape_fill(c, rgb, st.fill_opacity);
}

static const rm_canvas_ops raster_ops = {
    .begin = raster_begin,
    .end = raster_end,
    .group_begin = raster_group_begin,
    .group_end = raster_group_end,
    .clip_begin = raster_clip_begin,
    .clip_end = raster_clip_end,
    .line = raster_line,
    .path = raster_path,
    .rect = raster_rect,
    .circle = raster_circle,
    .text = raster_text,
};

void rm_canvas_raster(rm_canvas *c, double scale)
{
    *c = (rm_canvas){.ops = &raster_ops, .scale = scale > 0 ? scale : 1};
}

void rm_canvas_free(rm_canvas *c)
{
    free(c->rgb), free(c->cov), free(c->pts), free(c->ends), free(c->edges), free(c->cross);
    c->rgb = NULL, c->cov = NULL, c->pts = NULL, c->ends = NULL, c->edges = NULL, c->cross = NULL;
    c->cap_pts = c->cap_ends = c->cap_edges = c->cap_cross = 0;
}

int rm_canvas_write_png(const rm_canvas *c, const char *path)
{
    if (!c->rgb) return rm_error("%s: nothing drawn", path);
    rm_image img;
    RM_TRY(rm_image_alloc(&img, c->width, c->height, 3));
    size_t plane = (size_t)c->width * c->height;
    for (size_t i = 0; i < plane; i++)
        for (int k = 0; k < 3; k++) {
            float v = c->rgb[3 * i + k];
            img.pixels[k * plane + i] = (uint8_t)lroundf(255.0f * (v < 0 ? 0 : v > 1 ? 1 : v));
        }
    int rc = rm_image_write_png(&img, path);
    rm_image_free(&img);
    return rc;
}

int rm_canvas_save_png(const char *path, int (*draw)(rm_canvas *c, void *arg), void *arg)
{
    rm_output out;
    RM_TRY(rm_output_begin(&out, path, 1));
    rm_canvas c;
    rm_canvas_raster(&c, RM_PLOT_PNG_SCALE);
    int rc = draw(&c, arg);
    if (rc == 0) rc = rm_canvas_write_png(&c, out.tmp_path);
    rm_canvas_free(&c);
    if (rc == 0) rc = rm_output_commit(&out);
    else rm_output_abort(&out);
    return rc;
}
