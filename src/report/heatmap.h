/* Heatmap montages: PNG grids of dataset images with their relevance maps
 * (docs/relevance.md, "Heatmap montages").
 *
 * Colours: the signed blue-white-red palette of the relevance file
 * (rm_relevance_palette), normalized per image so that max |r| maps to the
 * ends (index 128 + 127 r / max|r|, rounded, as /heatmap_image): zero is
 * white, +max red, -max blue. Overlay blends that colour over the gray
 * image: out = round((1 - alpha) gray + alpha colour) per channel.
 *
 * Geometry (all in pixels; S = scale, M = RM_HEATMAP_MARGIN):
 *   panel       W*S x H*S, nearest-neighbour upscaled;
 *   tile        overlay: one panel; side-by-side: image panel, a gap of
 *               RM_HEATMAP_PAIR_GAP, heatmap panel (2 W S + gap wide);
 *   caption     caption_h below each tile (rm_heatmap_caption_height):
 *               "#<record> <label>" and "e:<explained> p:<predicted>", each
 *               only if it fits (RM_HEATMAP_CAPTION_H), and with
 *               RM_HEATMAP_CAPTION_SOURCE on a dataset with /source a third
 *               line, the record's source fitted to the tile
 *               (rm_heatmap_fit_source; + RM_HEATMAP_SOURCE_H);
 *               RM_HEATMAP_CAPTION_NONE: no caption (caption_h 0);
 *   label       per-class grids only: a column of the class names (at most
 *               RM_HEATMAP_LABEL_CHARS characters) RM_HEATMAP_LABEL_W(n) wide
 *               for a longest name of n characters;
 *   montage     width  M + label + columns (tile_w + M),
 *               height M + rows (tile_h + caption_h + M);
 *   tile (r,c)  top-left corner at (M + label + c (tile_w + M),
 *                                   M + r (tile_h + caption_h + M)).
 * Per-class grids have one row per class (dataset label, class order) and
 * per_class columns, filled with that class's first entries of the
 * relevance file; other selections fill rows of `columns` tiles in order. */
#ifndef RELMASK_HEATMAP_H
#define RELMASK_HEATMAP_H

#include <stdint.h>

#include "core/dataset.h"
#include "core/image.h"
#include "core/relevance_file.h"

enum {
    RM_HEATMAP_MARGIN = 4,
    RM_HEATMAP_PAIR_GAP = 2,
    RM_HEATMAP_CAPTION_H = 20,      /* 2 + two 9-pixel text lines */
    RM_HEATMAP_SOURCE_H = 9,        /* the source line (one 9-pixel text line) */
    RM_HEATMAP_MIN_TILE = 96,       /* the default scale makes panels at least this large */
    RM_HEATMAP_LABEL_CHARS = 24,
    RM_HEATMAP_DEFAULT_COLUMNS = 8,
};
/* Width of the label column for a longest class name of n characters. */
#define RM_HEATMAP_LABEL_W(n) ((n) > 0 ? 6 * (n) - 1 + RM_HEATMAP_MARGIN : 0)
/* Background and text colours. */
#define RM_HEATMAP_BACKGROUND 40
#define RM_HEATMAP_TEXT 255

typedef enum { RM_HEATMAP_PER_CLASS = 0, RM_HEATMAP_INDICES = 1, RM_HEATMAP_FIRST = 2 } rm_heatmap_selection;
typedef enum { RM_HEATMAP_OVERLAY = 0, RM_HEATMAP_SIDE_BY_SIDE = 1 } rm_heatmap_style;
/* What the caption under a tile shows: the record line, the classes line
 * and the source line (when the dataset has /source; the default), the
 * first two only, or nothing (no caption space). */
typedef enum {
    RM_HEATMAP_CAPTION_SOURCE = 0,
    RM_HEATMAP_CAPTION_RECORD = 1,
    RM_HEATMAP_CAPTION_NONE = 2,
} rm_heatmap_caption;

typedef struct {
    rm_heatmap_selection selection;
    int per_class;              /* tiles per class row (8) */
    const int64_t *indices;     /* RM_HEATMAP_INDICES: dataset record indices */
    int64_t num_indices;
    int64_t first;              /* RM_HEATMAP_FIRST: the first N entries of the relevance file */
    rm_heatmap_style style;
    int scale;                  /* 0: the smallest with panels >= RM_HEATMAP_MIN_TILE */
    double alpha;               /* overlay: weight of the heatmap colour, 0..1 (0.5) */
    int columns;                /* tiles per row for indices/first (0: min(n, 8)) */
    rm_heatmap_caption caption; /* RM_HEATMAP_CAPTION_SOURCE */
} rm_heatmap_options;

void rm_heatmap_options_defaults(rm_heatmap_options *o);
/* Pixels under each tile for the caption: RM_HEATMAP_CAPTION_H, plus
 * RM_HEATMAP_SOURCE_H with RM_HEATMAP_CAPTION_SOURCE on a dataset with
 * /source, 0 with RM_HEATMAP_CAPTION_NONE. */
int rm_heatmap_caption_height(rm_heatmap_caption caption, const rm_dataset *ds);
/* The caption text for a record's source that fits max_w pixels in the
 * 5x7 font: the whole source ("anger/S005_001_00000011.png",
 * "fer2013.csv:1234"), else its file name (the part after the last '/'),
 * else "..." and as much of the end of the file name as fits (the end
 * tells records apart: counters, line and index numbers); "" when not even
 * "..." and one character fit or source is empty. out: at least size 1. */
void rm_heatmap_fit_source(const char *source, int max_w, char *out, size_t size);
/* ceil(RM_HEATMAP_MIN_TILE / min(h, w)), at least 1. */
int rm_heatmap_default_scale(int height, int width);

/* Colours one heatmap [h,w] into rgb_out, planar [3,h,w] (the layout of an
 * rm_image). With gray ([h,w]) the colour is blended over it with weight
 * alpha; with NULL the plain colour map is written. Fails on a non-finite
 * value or alpha outside [0, 1]. */
int rm_heatmap_colorize(const float *heat, int h, int w, const uint8_t *gray_or_null, double alpha,
                        uint8_t *rgb_out);

/* Renders the montage into out (allocated here, 3 channels). Checks that
 * the relevance file explains records of the dataset (shape, labels,
 * classes); errors name both files. */
int rm_heatmap_render(const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r, rm_image *out);
/* Renders and writes out_png atomically (temporary file + rename); an
 * existing file is replaced only with force. */
int rm_heatmap_montage(const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r,
                       const char *out_png, int force);

/* One file per explained record in a new folder `dir` (written as a
 * temporary folder beside it and renamed when complete; an existing one is
 * replaced only with force): PNG, the record's heatmap coloured over its
 * gray image (overlay, alpha) or the plain colour map (side-by-side
 * style), at o->scale (0: 1); or NPY, the float32 heatmap [H, W]. Every
 * entry of the relevance file, or those --indices/--first select. Files
 * are named after the record's /source ('/' -> '_', extension dropped:
 * "anger_01.png"), else "record-<index>"; a name taken twice gets
 * "-r<index>". *written: the count. */
typedef enum { RM_HEATMAP_EXPORT_PNG = 0, RM_HEATMAP_EXPORT_NPY = 1 } rm_heatmap_export_format;
int rm_heatmap_export(const rm_heatmap_options *o, const rm_dataset *ds, const rm_relevance *r, const char *dir,
                      rm_heatmap_export_format format, int force, int64_t *written);

/* --- the stage (relmask heatmap) ----------------------------------------- */
typedef struct {
    const char *relevance_path, *data_path, *out_path;
    rm_heatmap_options montage;
    int force;                  /* replace an existing out_path */
    const char *export_dir;     /* instead of out_path: one file per record */
    rm_heatmap_export_format export_format;
} rm_heatmap_config;

/* No paths; the montage options' defaults. */
void rm_heatmap_config_defaults(rm_heatmap_config *cfg);
/* Opens the dataset and the relevance file, writes the montage with
 * rm_heatmap_montage and logs one line. */
int rm_heatmap(const rm_heatmap_config *cfg);

#endif
