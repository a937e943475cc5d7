/* The report's markdown and HTML documents: one list of sections
 * (report_sections.c) says what is written, a renderer per format
 * (report_md.c, report_html.c) how.
 *
 * Written text (prose) carries a little markup that each renderer draws:
 *   `code`  **bold**  *italic*  ^sup (to the end of the word)
 *   {md|html}   a variant per format, e.g. "n {-|−} 1"
 *   \x          the character x as it is (e.g. \*)
 * Markup may open in one call and close in a later one, around a value. */
#ifndef RELMASK_REPORT_RENDER_H
#define RELMASK_REPORT_RENDER_H

#include <stdio.h>

#include "report/report_internal.h"

typedef enum { REPORT_MD, REPORT_HTML } report_format;

typedef enum {
    REPORT_PARA,    /* a paragraph */
    REPORT_NOTE,    /* a paragraph explaining a table (HTML: class "note") */
    REPORT_ASIDE,   /* a remark on a whole section (markdown: in italics) */
    REPORT_LIST,    /* a bulleted list of REPORT_ITEMs */
    REPORT_ITEM,
} report_block;

enum {
    REPORT_CELL_NAME = 1,    /* the row's name: left-aligned */
    REPORT_CELL_LABEL = 2,   /* a row heading (markdown: bold) */
    REPORT_CELL_STRONG = 4,
    REPORT_CELL_SHADE = 8,   /* HTML: shaded by `share`, 0..1 */
};

typedef struct {
    const char *text;
    int flags;
    double share;
} report_cell;

typedef struct report_renderer report_renderer;

typedef struct {
    const char *id, *heading;   /* the heading and its anchor */
    const char *contents;       /* its name in the HTML contents line; NULL: not listed */
    int (*present)(const report_ctx *ctx);   /* NULL: always */
    int (*write)(report_renderer *r, const report_ctx *ctx);
} report_section;

typedef struct {
    void (*begin)(report_renderer *r, const char *title);
    void (*contents)(report_renderer *r, const report_section *sections, int n);
    void (*end)(report_renderer *r);
    void (*heading)(report_renderer *r, int level, const char *id, const char *text);
    void (*block_begin)(report_renderer *r, report_block kind, const char *cls);
    void (*block_end)(report_renderer *r, report_block kind);
    void (*prose)(report_renderer *r, const char *s);
    /* A value: escaped in both formats. */
    void (*text)(report_renderer *r, const char *s);
    /* A value markdown takes as it is (a name in `code`, a path). */
    void (*verbatim)(report_renderer *r, const char *s);
    /* text NULL: the address in running text (markdown: plain). */
    void (*link)(report_renderer *r, const char *href, const char *text);
    /* headers[0] names the rows; cls: an HTML class or NULL. */
    void (*table_begin)(report_renderer *r, const char *cls, const char *const *headers, int n);
    void (*table_row)(report_renderer *r, const report_cell *cells, int n, int highlight);
    void (*table_end)(report_renderer *r);
    void (*figure)(report_renderer *r, const report_figure *fig);
    void (*pre)(report_renderer *r, const char *text);
} report_render_ops;

struct report_renderer {
    const report_render_ops *ops;
    report_format format;
    FILE *f;
    int code, bold, italic;     /* inline markup open (HTML) */
    /* HTML: the report's directory ("dir/", base_len chars of base), where
     * the figures to inline are; failed: -1 once one could not be read */
    const char *base;
    int base_len, failed;
};

/* Writes the whole document through r; -1 (with an error) when out of memory. */
int report_render(report_renderer *r, const report_ctx *ctx);

#endif
