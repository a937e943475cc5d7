/* Heatmap montages (src/report/heatmap.h has the colours and the
 * geometry): tiles are read one record at a time, coloured at the data's
 * resolution and upscaled by pixel replication into one RGB image.
 * rm_heatmap, the stage of relmask heatmap, opens the files for it. */
#include "report/heatmap.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/font5x7.h"
#include "core/error.h"
#include "core/npy.h"
#include "nn/model_file.h"
#include "core/output.h"

enum { MAX_SCALE = 64 };

void rm_heatmap_options_defaults(rm_heatmap_options *o)
{
    memset(o, 0, sizeof *o);
    o->selection = RM_HEATMAP_PER_CLASS;
    o->per_class = 8;
    o->style = RM_HEATMAP_OVERLAY;
    o->alpha = 0.5;
}

int rm_heatmap_default_scale(int height, int width)
{
    int side = height < width ? height : width;
    if (side < 1) return 1;
    return (RM_HEATMAP_MIN_TILE + side - 1) / side;
}

int rm_heatmap_colorize(const float *heat, int h, int w, const uint8_t *gray_or_null, double alpha,
                        uint8_t *rgb_out)
{
    if (h < 1 || w < 1) return rm_error("heatmap colours: size %dx%d, expected at least 1x1", w, h);
    if (!(alpha >= 0 && alpha <= 1)) return rm_error("heatmap colours: alpha %g outside [0, 1]", alpha);
    size_t hw = (size_t)h * w;
    for (size_t i = 0; i < hw; i++)
        if (!isfinite(heat[i]))
            return rm_error("heatmap colours: value %g at pixel (%zu,%zu) is not finite", (double)heat[i], i % w,
                            i / w);
    uint8_t *index = rm_malloc(hw, "heatmap colour indices");
    if (!index) return -1;
    uint8_t palette[256 * 3];
    rm_relevance_palette(palette);
    rm_relevance_to_index_image(heat, (int64_t)hw, index);
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++) {
            double colour = palette[3 * index[i] + c];
            rgb_out[c * hw + i] =
                gray_or_null ? (uint8_t)lround((1 - alpha) * gray_or_null[i] + alpha * colour) : (uint8_t)colour;
        }
    free(index);
    return 0;
}

/* --- layout --------------------------------------------------------------*/

int rm_heatmap_caption_height(rm_heatmap_caption caption, const rm_dataset *ds)
{
    if (caption == RM_HEATMAP_CAPTION_NONE) return 0;
    return RM_HEATMAP_CAPTION_H + (caption == RM_HEATMAP_CAPTION_SOURCE && ds->has_source ? RM_HEATMAP_SOURCE_H : 0);
}

void rm_heatmap_fit_source(const char *source, int max_w, char *out, size_t size)
{
    out[0] = 0;
    if (!source || !*source) return;
    if (rm_font_text_width(source, 1) <= max_w) {
        snprintf(out, size, "%s", source);
        return;
    }
    const char *slash = strrchr(source, '/'), *name = slash && slash[1] ? slash + 1 : source;
    if (rm_font_text_width(name, 1) <= max_w) {
        snprintf(out, size, "%s", name);
        return;
    }
    /* "..." and the longest tail of the name that fits: 6 n - 1 <= max_w. */
    int chars = (max_w + 1) / RM_FONT_ADVANCE - 3;
    if (chars < 1) return;
    size_t len = strlen(name);
    snprintf(out, size, "...%s", name + (len > (size_t)chars ? len - (size_t)chars : 0));
}

typedef struct {
    int scale, panel_w, panel_h, tile_w, tile_h, caption_h, label_w, columns, rows;
    int64_t width, height;
} geometry;

static int label_chars(const char *name)
{
    size_t n = strlen(name);
    return n > RM_HEATMAP_LABEL_CHARS ? RM_HEATMAP_LABEL_CHARS : (int)n;
}

static int layout(const rm_heatmap_options *o, const rm_dataset *ds, int rows, int columns, geometry *g)
{
    memset(g, 0, sizeof *g);
    g->scale = o->scale > 0 ? o->scale : rm_heatmap_default_scale(ds->height, ds->width);
    g->panel_w = ds->width * g->scale;
    g->panel_h = ds->height * g->scale;
    g->tile_w = o->style == RM_HEATMAP_SIDE_BY_SIDE ? 2 * g->panel_w + RM_HEATMAP_PAIR_GAP : g->panel_w;
    g->tile_h = g->panel_h;
    g->caption_h = rm_heatmap_caption_height(o->caption, ds);
    if (o->selection == RM_HEATMAP_PER_CLASS) {
        int longest = 0;
        for (int k = 0; k < ds->num_classes; k++)
            if (label_chars(ds->class_names[k]) > longest) longest = label_chars(ds->class_names[k]);
        g->label_w = RM_HEATMAP_LABEL_W(longest);
    }
    g->rows = rows;
    g->columns = columns;
    g->width = RM_HEATMAP_MARGIN + g->label_w + (int64_t)columns * (g->tile_w + RM_HEATMAP_MARGIN);
    g->height = RM_HEATMAP_MARGIN + (int64_t)rows * (g->tile_h + g->caption_h + RM_HEATMAP_MARGIN);
    if (g->width > RM_IMAGE_MAX_SIDE || g->height > RM_IMAGE_MAX_SIDE)
        return rm_error("the montage would be %lldx%lld pixels (%d rows of %d tiles at scale %d), more than %d per "
                        "side; choose fewer records or a smaller --scale",
                        (long long)g->width, (long long)g->height, rows, columns, g->scale, RM_IMAGE_MAX_SIDE);
    return 0;
}

/* --- choosing the tiles --------------------------------------------------*/

/* Fills *slots (rows x columns relevance entries, -1 = empty). */
static int select_tiles(const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r, int64_t **slots,
                        int *rows, int *columns)
{
    *slots = NULL;
    int64_t n;
    if (o->selection == RM_HEATMAP_PER_CLASS) {
        *rows = ds->num_classes;
        *columns = o->per_class;
        n = (int64_t)*rows * *columns;
        int64_t *s = rm_malloc((size_t)n * sizeof *s, "montage tiles");
        int *filled = rm_calloc((size_t)ds->num_classes, sizeof *filled, "montage rows");
        if (!s || !filled) {
            free(s);
            free(filled);
            return -1;
        }
        for (int64_t i = 0; i < n; i++) s[i] = -1;
        for (int64_t e = 0; e < r->count; e++) {
            /* An unlabeled dataset's rows are the predicted classes (else the explained ones). */
            int k = !ds->unlabeled ? ds->labels[r->index[e]] : r->predicted[e] >= 0 ? r->predicted[e] : r->explained[e];
            if (k >= 0 && k < ds->num_classes && filled[k] < *columns) s[(int64_t)k * *columns + filled[k]++] = e;
        }
        free(filled);
        *slots = s;
        return 0;
    }
    if (o->selection == RM_HEATMAP_INDICES) {
        n = o->num_indices;
        if (n < 1) return rm_error("no record indices given");
    } else {
        if (o->first < 1) return rm_error("--first %lld: expected at least 1 record", (long long)o->first);
        n = o->first < r->count ? o->first : r->count;
    }
    int cols = o->columns > 0 ? o->columns : RM_HEATMAP_DEFAULT_COLUMNS;
    *columns = n < cols ? (int)n : cols;
    *rows = (int)((n + *columns - 1) / *columns);
    int64_t cells = (int64_t)*rows * *columns;
    int64_t *s = rm_malloc((size_t)cells * sizeof *s, "montage tiles");
    if (!s) return -1;
    for (int64_t i = 0; i < cells; i++) s[i] = i < n && o->selection == RM_HEATMAP_FIRST ? i : -1;
    if (o->selection == RM_HEATMAP_INDICES) {
        int64_t *map = rm_malloc(ds->count * sizeof *map, "relevance index map");
        if (!map || rm_relevance_index_map(r, (int64_t)ds->count, map) != 0) {
            free(map);
            free(s);
            return -1;
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t rec = o->indices[i];
            if (rec < 0 || rec >= (int64_t)ds->count) {
                rm_error("record %lld is out of range: %s has records 0..%zu", (long long)rec, ds->path,
                         ds->count - 1);
                break;
            }
            if (map[rec] < 0) {
                rm_error("record %lld of %s has no heatmap in %s (it explains %lld records)", (long long)rec,
                         ds->path, r->path, (long long)r->count);
                break;
            }
            s[i] = map[rec];
        }
        free(map);
        for (int64_t i = 0; i < n; i++)
            if (s[i] < 0) {
                free(s);
                return -1;
            }
    }
    *slots = s;
    return 0;
}

/* --- drawing -------------------------------------------------------------*/

static const uint8_t text_rgb[3] = {RM_HEATMAP_TEXT, RM_HEATMAP_TEXT, RM_HEATMAP_TEXT};

/* Copies a planar [3,h,w] (or [1,h,w], replicated) picture into the
 * montage at (x0, y0), each pixel a scale x scale block. */
static void blit(rm_image *dst, int x0, int y0, const uint8_t *src, int channels, int h, int w, int scale)
{
    size_t dplane = (size_t)dst->width * dst->height, splane = (size_t)h * w;
    for (int y = 0; y < h * scale; y++) {
        size_t drow = (size_t)(y0 + y) * dst->width + x0, srow = (size_t)(y / scale) * w;
        for (int x = 0; x < w * scale; x++)
            for (int c = 0; c < 3; c++)
                dst->pixels[c * dplane + drow + x] = src[(channels == 3 ? c * splane : 0) + srow + x / scale];
    }
}

static void draw_text_if_fits(rm_image *img, int x, int y, int max_w, const char *first, const char *second)
{
    if (rm_font_text_width(first, 1) <= max_w) rm_font_draw(img, x, y, first, 1, text_rgb);
    else if (second && rm_font_text_width(second, 1) <= max_w) rm_font_draw(img, x, y, second, 1, text_rgb);
}

static const char *class_name(const rm_dataset *ds, int k) { return k >= 0 && k < ds->num_classes ? ds->class_names[k] : "-"; }

/* Class names shortened until the caption fits: whole, then 8, 5, 3 and 1
 * characters, so every tile names classes the same way (never numbers). */
static void draw_names_fitting(rm_image *img, int x, int y, int max_w, const char *prefix, const char *a,
                               const char *b_prefix, const char *b)
{
    static const int lengths[] = {40, 8, 5, 3, 1};
    char text[160];
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        int n = lengths[i];
        if (b) snprintf(text, sizeof text, "%s%.*s%s%.*s", prefix, n, a, b_prefix, n, b);
        else snprintf(text, sizeof text, "%s%.*s", prefix, n, a);
        if (rm_font_text_width(text, 1) <= max_w) {
            rm_font_draw(img, x, y, text, 1, text_rgb);
            return;
        }
    }
}

static int draw_caption(rm_image *img, const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r,
                        int64_t e, int x, int y, int w)
{
    char number[32];
    int64_t rec = r->index[e];
    snprintf(number, sizeof number, "#%lld ", (long long)rec);
    if (o->selection == RM_HEATMAP_PER_CLASS) draw_text_if_fits(img, x, y + 2, w, number, NULL);
    else draw_names_fitting(img, x, y + 2, w, number, class_name(ds, ds->labels[rec]), NULL, NULL);
    int exp = r->explained[e], pred = r->predicted[e];
    draw_names_fitting(img, x, y + 2 + RM_FONT_LINE, w, "e:", class_name(ds, exp), pred >= 0 ? " p:" : NULL,
                       pred >= 0 ? class_name(ds, pred) : NULL);
    if (o->caption == RM_HEATMAP_CAPTION_SOURCE && ds->has_source) {
        char source[4096], text[4096];
        RM_TRY(rm_dataset_read_source(ds, (size_t)rec, source, sizeof source));
        rm_heatmap_fit_source(source, w, text, sizeof text);
        rm_font_draw(img, x, y + 2 + 2 * RM_FONT_LINE, text, 1, text_rgb);
    }
    return 0;
}

typedef struct {
    uint8_t *image;     /* [C,H,W] */
    uint8_t *gray;      /* [H,W] */
    float *heat;        /* [H,W] */
    uint8_t *colour;    /* [3,H,W] */
} tile_buffers;

static int draw_tile(rm_image *img, const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r,
                     const geometry *g, int64_t e, int x, int y, tile_buffers *b)
{
    int h = ds->height, w = ds->width, c = ds->channels;
    size_t hw = (size_t)h * w;
    RM_TRY(rm_dataset_read_images(ds, (size_t)r->index[e], 1, b->image));
    RM_TRY(rm_relevance_read_heatmaps(r, e, 1, b->heat));
    if (c == 1) memcpy(b->gray, b->image, hw);
    else {
        rm_image src = {.width = w, .height = h, .channels = 3, .pixels = b->image};
        rm_image dst = {.width = w, .height = h, .channels = 1, .pixels = b->gray};
        RM_TRY(rm_image_convert(&src, &dst));
    }
    if (o->style == RM_HEATMAP_SIDE_BY_SIDE) {
        if (rm_heatmap_colorize(b->heat, h, w, NULL, 0, b->colour) != 0)
            return rm_error_prefix("%s: entry %lld (record %lld)", r->path, (long long)e, (long long)r->index[e]);
        blit(img, x, y, b->image, c, h, w, g->scale);
        blit(img, x + g->panel_w + RM_HEATMAP_PAIR_GAP, y, b->colour, 3, h, w, g->scale);
    } else {
        if (rm_heatmap_colorize(b->heat, h, w, b->gray, o->alpha, b->colour) != 0)
            return rm_error_prefix("%s: entry %lld (record %lld)", r->path, (long long)e, (long long)r->index[e]);
        blit(img, x, y, b->colour, 3, h, w, g->scale);
    }
    if (o->caption == RM_HEATMAP_CAPTION_NONE) return 0;
    return draw_caption(img, o, ds, r, e, x, y + g->tile_h, g->tile_w);
}

static int draw(rm_image *img, const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r,
                const geometry *g, const int64_t *slots)
{
    size_t hw = (size_t)ds->height * ds->width;
    tile_buffers b = {
        .image = rm_malloc(hw * (size_t)ds->channels, "montage image"),
        .gray = rm_malloc(hw, "montage gray image"),
        .heat = rm_malloc(hw * sizeof(float), "montage heatmap"),
        .colour = rm_malloc(hw * 3, "montage colours"),
    };
    int rc = b.image && b.gray && b.heat && b.colour ? 0 : -1;
    memset(img->pixels, RM_HEATMAP_BACKGROUND, (size_t)img->width * img->height * 3);
    int row_h = g->tile_h + g->caption_h + RM_HEATMAP_MARGIN;
    for (int row = 0; rc == 0 && row < g->rows; row++) {
        int y = RM_HEATMAP_MARGIN + row * row_h;
        if (o->selection == RM_HEATMAP_PER_CLASS) {
            char label[RM_HEATMAP_LABEL_CHARS + 1];
            snprintf(label, sizeof label, "%s", ds->class_names[row]);
            int ly = y + (g->tile_h - RM_FONT_GLYPH_H) / 2;
            rm_font_draw(img, RM_HEATMAP_MARGIN, ly < y ? y : ly, label, 1, text_rgb);
        }
        for (int col = 0; rc == 0 && col < g->columns; col++) {
            int64_t e = slots[(int64_t)row * g->columns + col];
            if (e < 0) continue;
            int x = RM_HEATMAP_MARGIN + g->label_w + col * (g->tile_w + RM_HEATMAP_MARGIN);
            rc = draw_tile(img, o, ds, r, g, e, x, y, &b);
        }
    }
    free(b.image);
    free(b.gray);
    free(b.heat);
    free(b.colour);
    return rc;
}

/* --- checks and entry points ---------------------------------------------*/

static int check_options(const rm_heatmap_options *o)
{
    if (!(o->alpha >= 0 && o->alpha <= 1)) return rm_error("alpha %g outside [0, 1]", o->alpha);
    if (o->scale < 0 || o->scale > MAX_SCALE) return rm_error("scale %d outside 1..%d", o->scale, MAX_SCALE);
    if (o->selection == RM_HEATMAP_PER_CLASS && o->per_class < 1)
        return rm_error("per-class count %d, expected at least 1", o->per_class);
    if (o->columns < 0) return rm_error("columns %d, expected at least 1", o->columns);
    if (o->caption < RM_HEATMAP_CAPTION_SOURCE || o->caption > RM_HEATMAP_CAPTION_NONE)
        return rm_error("caption kind %d, expected source, record or none", (int)o->caption);
    return 0;
}

static int check_match(const rm_dataset *ds, const rm_relevance *r)
{
    if (r->num_classes != ds->num_classes)
        return rm_error("%s has %d classes but %s has %d (relevance computed for another dataset?)", r->path,
                        r->num_classes, ds->path, ds->num_classes);
    for (int k = 0; k < ds->num_classes; k++)
        if (strcmp(r->class_names[k], ds->class_names[k]) != 0)
            return rm_error("class %d is '%s' in %s but '%s' in %s", k, r->class_names[k], r->path,
                            ds->class_names[k], ds->path);
    RM_TRY(rm_relevance_check_dataset(r, ds->path, (int64_t)ds->count, ds->height, ds->width, ds->labels));
    if (r->dataset_fingerprint) {
        char fp[17];
        rm_dataset_fingerprint(fp, (int64_t)ds->count, ds->channels, ds->height, ds->width, ds->labels, ds->split);
        if (strcmp(fp, r->dataset_fingerprint) != 0)
            rm_warn("%s was computed for a dataset with fingerprint %s, %s has %s (same labels, other split or "
                    "channels?)",
                    r->path, r->dataset_fingerprint, ds->path, fp);
    }
    return 0;
}

int rm_heatmap_render(const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r, rm_image *out)
{
    memset(out, 0, sizeof *out);
    RM_TRY(check_options(o));
    RM_TRY(check_match(ds, r));
    int64_t *slots;
    int rows = 0, columns = 0;
    RM_TRY(select_tiles(o, ds, r, &slots, &rows, &columns));
    geometry g;
    int rc = layout(o, ds, rows, columns, &g);
    if (rc == 0) rc = rm_image_alloc(out, (int)g.width, (int)g.height, 3);
    if (rc == 0) rc = draw(out, o, ds, r, &g, slots);
    if (rc != 0) rm_image_free(out);
    free(slots);
    return rc;
}

int rm_heatmap_montage(const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r,
                       const char *out_png, int force)
{
    rm_output out;
    RM_TRY(rm_output_begin(&out, out_png, force));
    rm_image img;
    int rc = rm_heatmap_render(o, ds, r, &img);
    if (rc == 0) rc = rm_image_write_png(&img, out.tmp_path);
    rm_image_free(&img);
    if (rc != 0) {
        rm_output_abort(&out);
        return -1;
    }
    return rm_output_commit(&out);
}

/* --- one file per record (--export) ----------------------------------------- */

static void export_name(const rm_dataset *ds, int64_t rec, char *out, size_t size)
{
    char source[4096] = "";
    if (ds->has_source && rm_dataset_read_source(ds, (size_t)rec, source, sizeof source) != 0) source[0] = 0;
    if (!source[0]) {
        snprintf(out, size, "record-%lld", (long long)rec);
        return;
    }
    /* A CSV line or an array index after the file (fer.csv:17, x.npy:3) is
     * what tells the records of one file apart: it stays, after a '_'
     * (fer_17); only the file's extension goes (anger/01.png -> anger_01). */
    char *colon = strrchr(source, ':'), *number = NULL;
    if (colon && colon != source && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        *colon = 0;
        number = colon + 1;
    }
    char *dot = strrchr(source, '.'), *slash = strrchr(source, '/');
    if (dot && (!slash || dot > slash) && dot != source && dot[-1] != '/') *dot = 0;
    size_t k = 0;
    for (const char *p = source; *p && k + 1 < size; p++)
        out[k++] = *p == '/' || *p == '\\' || *p == ':' ? '_' : *p;
    out[k] = 0;
    if (number) snprintf(out + k, size - k, "_%s", number);
}

static int remove_tree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path) { nftw(path, remove_tree_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int export_one(const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r, int64_t e,
                      const char *tmp, rm_heatmap_export_format format, tile_buffers *b)
{
    int h = ds->height, w = ds->width;
    size_t hw = (size_t)h * w;
    int64_t rec = r->index[e];
    RM_TRY(rm_relevance_read_heatmaps(r, e, 1, b->heat));
    char name[4096], path[8400];
    export_name(ds, rec, name, sizeof name);
    const char *ext = format == RM_HEATMAP_EXPORT_NPY ? "npy" : "png";
    snprintf(path, sizeof path, "%s/%s.%s", tmp, name, ext);
    struct stat st;
    if (stat(path, &st) == 0) snprintf(path, sizeof path, "%s/%s-r%lld.%s", tmp, name, (long long)rec, ext);
    if (format == RM_HEATMAP_EXPORT_NPY) {
        size_t shape[2] = {(size_t)h, (size_t)w};
        return rm_npy_write(path, "<f4", 2, shape, b->heat);
    }
    RM_TRY(rm_dataset_read_images(ds, (size_t)rec, 1, b->image));
    if (ds->channels == 1) memcpy(b->gray, b->image, hw);
    else {
        rm_image src = {.width = w, .height = h, .channels = 3, .pixels = b->image};
        rm_image dst = {.width = w, .height = h, .channels = 1, .pixels = b->gray};
        RM_TRY(rm_image_convert(&src, &dst));
    }
    int overlay = o->style == RM_HEATMAP_OVERLAY;
    if (rm_heatmap_colorize(b->heat, h, w, overlay ? b->gray : NULL, overlay ? o->alpha : 0, b->colour) != 0)
        return rm_error_prefix("%s: entry %lld (record %lld)", r->path, (long long)e, (long long)rec);
    int scale = o->scale > 0 ? o->scale : 1;
    rm_image img = {0};
    RM_TRY(rm_image_alloc(&img, w * scale, h * scale, 3));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h * scale; y++)
            for (int x = 0; x < w * scale; x++)
                img.pixels[(size_t)c * img.width * img.height + (size_t)y * img.width + x] =
                    b->colour[(size_t)c * hw + (size_t)(y / scale) * w + x / scale];
    int rc = rm_image_save_png(&img, path);
    rm_image_free(&img);
    return rc;
}

int rm_heatmap_export(const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r, const char *dir,
                      rm_heatmap_export_format format, int force, int64_t *written)
{
    *written = 0;
    RM_TRY(check_options(o));
    RM_TRY(check_match(ds, r));
    struct stat st;
    int exists = stat(dir, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) return rm_error("%s exists and is not a folder", dir);
    if (exists && !force) return rm_error("%s exists (use --force to replace it)", dir);
    /* The entries: all, or the --indices / --first selection. */
    int64_t *slots = NULL, n = r->count;
    if (o->selection != RM_HEATMAP_PER_CLASS) {
        int rows, columns;
        RM_TRY(select_tiles(o, ds, r, &slots, &rows, &columns));
        n = (int64_t)rows * columns;
    }
    char tmp[4200], old[4200];
    const char *slash = strrchr(dir, '/');
    int parent = slash ? (int)(slash - dir) + 1 : 0;
    snprintf(tmp, sizeof tmp, "%.*s.%s.tmp-%ld", parent, dir, dir + parent, (long)getpid());
    snprintf(old, sizeof old, "%.*s.%s.old-%ld", parent, dir, dir + parent, (long)getpid());
    if (mkdir(tmp, 0755) != 0) {
        free(slots);
        return rm_error("%s: cannot create a temporary folder: %s", tmp, strerror(errno));
    }
    size_t hw = (size_t)ds->height * ds->width;
    tile_buffers b = {.image = rm_malloc(hw * (size_t)ds->channels, "export image"),
                      .gray = rm_malloc(hw, "export gray"), .heat = rm_malloc(hw * sizeof(float), "export heatmap"),
                      .colour = rm_malloc(3 * hw, "export colour")};
    int rc = b.image && b.gray && b.heat && b.colour ? 0 : -1;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        int64_t e = slots ? slots[i] : i;
        if (e < 0) continue;
        rc = export_one(o, ds, r, e, tmp, format, &b);
        if (rc == 0) (*written)++;
    }
    free(b.image);
    free(b.gray);
    free(b.heat);
    free(b.colour);
    free(slots);
    if (rc == 0 && exists && rename(dir, old) != 0) rc = rm_error("%s: cannot move it aside: %s", dir, strerror(errno));
    if (rc == 0 && rename(tmp, dir) != 0) {
        rc = rm_error("%s: cannot rename %s into place: %s", dir, tmp, strerror(errno));
        if (exists) rename(old, dir);
    }
    if (rc != 0) remove_tree(tmp);
    else if (exists) remove_tree(old);
    return rc;
}

void rm_heatmap_config_defaults(rm_heatmap_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    rm_heatmap_options_defaults(&cfg->montage);
}

int rm_heatmap(const rm_heatmap_config *cfg)
{
    rm_dataset ds;
    rm_relevance r;
    int rc = rm_dataset_open_unlabeled_ok(&ds, cfg->data_path);
    int have_ds = rc == 0;
    if (rc == 0) rc = rm_relevance_open(&r, cfg->relevance_path);
    int have_r = have_ds && rc == 0;
    if (rc == 0)
        rc = rm_dataset_adopt_class_names(&ds, r.num_classes, (const char *const *)r.class_names,
                                          cfg->relevance_path);
    if (rc == 0 && ds.unlabeled && !cfg->export_dir && cfg->montage.selection == RM_HEATMAP_PER_CLASS)
        rm_log("%s is unlabeled: the montage's rows group records by their predicted class", cfg->data_path);
    int64_t written = 0;
    if (rc == 0 && cfg->export_dir)
        rc = rm_heatmap_export(&cfg->montage, &ds, &r, cfg->export_dir, cfg->export_format, cfg->force, &written);
    else if (rc == 0)
        rc = rm_heatmap_montage(&cfg->montage, &ds, &r, cfg->out_path, cfg->force);
    if (rc == 0 && cfg->export_dir)
        rm_log("%s: %lld %s files of %s", cfg->export_dir, (long long)written,
               cfg->export_format == RM_HEATMAP_EXPORT_NPY ? "NPY" : "PNG", cfg->relevance_path);
    else if (rc == 0)
        rm_log("%s: heatmap montage of %s", cfg->out_path, cfg->relevance_path);
    if (have_r) rm_relevance_close(&r);
    if (have_ds) rm_dataset_close(&ds);
    return rc;
}
