/* A 5x7 bitmap font for ASCII 32..126, for labels in heatmap montages.
 * Each glyph sits in a 6x9 cell (one column and two rows of spacing);
 * characters outside 32..126 are drawn as '?'. */
#ifndef RELMASK_REPORT_FONT5X7_H
#define RELMASK_REPORT_FONT5X7_H

#include <stdint.h>

#include "core/image.h"

enum { RM_FONT_GLYPH_W = 5, RM_FONT_GLYPH_H = 7, RM_FONT_ADVANCE = 6, RM_FONT_LINE = 9 };

/* Width in pixels of `text` drawn at `scale` (no trailing spacing column). */
int rm_font_text_width(const char *text, int scale);
/* 1 if pixel (col, row) of the glyph for c is set (col < 5, row < 7). */
int rm_font_pixel(char c, int col, int row);
/* Draws text with its top-left corner at (x, y), each font pixel a
 * scale x scale square of colour rgb; clipped to the image (3 channels,
 * planar). */
void rm_font_draw(rm_image *img, int x, int y, const char *text, int scale, const uint8_t rgb[3]);

#endif
