/* report.html: the report's sections (report_sections.c) drawn as one
 * self-contained HTML page: inline style, no scripts, every figure inlined
 * as a data: URI (the files in <stem>/ stay for the markdown report), no
 * link to another file; readable on a phone (docs/report.md). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "report/report_render.h"

#define esc rm_xml_escape

static const char style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.45;overflow-wrap:anywhere}\n"
    "h1{font-size:1.6em;border-bottom:2px solid #4e79a7;padding-bottom:.2em}\n"
    "h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #ccc}\n"
    "h3{font-size:1.1em}\n"
    ".scroll{overflow-x:auto;max-width:100%}\n"
    "table{border-collapse:collapse;margin:.8em 0;font-size:.9em;overflow-wrap:normal}\n"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right;white-space:nowrap}\n"
    "th{background:#f0f3f7}\n"
    "td.name,th.name{text-align:left}\n"
    "tr.baseline td{background:#f7f7f2}\n"
    ".note{color:#555;font-size:.9em;max-width:60em}\n"
    "figure{margin:1em 0}\n"
    "figure img{max-width:100%;height:auto;border:1px solid #ddd;box-sizing:border-box}\n"
    "figcaption{color:#555;font-size:.9em;max-width:60em}\n"
    "pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em;overflow-wrap:normal}\n"
    "ul.findings li{margin-bottom:.5em}\n"
    "table.confusion td{min-width:3em}\n";

static void text(report_renderer *r, const char *s) { esc(r->f, s); }

static void toggle(report_renderer *r, int *open, const char *tag)
{
    fprintf(r->f, *open ? "</%s>" : "<%s>", tag);
    *open = !*open;
}

/* The prose's markup as tags, its text escaped (but not its quotes). */
static void prose_n(report_renderer *r, const char *s, size_t n)
{
    FILE *f = r->f;
    for (const char *p = s, *stop = s + n; p < stop; p++) {
        const char *bar, *close;
        switch (*p) {
        case '\\':
            if (p + 1 < stop) p++;
            if (*p == '<' || *p == '>' || *p == '&') fputs(*p == '<' ? "&lt;" : *p == '>' ? "&gt;" : "&amp;", f);
            else fputc(*p, f);
            break;
        case '{':
            bar = memchr(p, '|', (size_t)(stop - p));
            close = bar ? memchr(bar, '}', (size_t)(stop - bar)) : NULL;
            if (!close) {
                fputc(*p, f);
                break;
            }
            prose_n(r, bar + 1, (size_t)(close - bar - 1));
            p = close;
            break;
        case '`': toggle(r, &r->code, "code"); break;
        case '*':
            if (p + 1 < stop && p[1] == '*') {
                toggle(r, &r->bold, "b");
                p++;
            } else {
                toggle(r, &r->italic, "i");
            }
            break;
        case '^':
            fputs("<sup>", f);
            while (p + 1 < stop && isalnum((unsigned char)p[1])) fputc(*++p, f);
            fputs("</sup>", f);
            break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        default: fputc(*p, f);
        }
    }
}

static void prose(report_renderer *r, const char *s) { prose_n(r, s, strlen(s)); }

static void begin(report_renderer *r, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", r->f);
    esc(r->f, title);
    fprintf(r->f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", style);
    esc(r->f, title);
    fputs("</h1>\n", r->f);
}

static void contents(report_renderer *r, const report_section *sections, int n)
{
    fputs("<p>", r->f);
    for (int i = 0, first = 1; i < n; i++) {
        if (!sections[i].contents) continue;
        fprintf(r->f, "%s<a href=\"#%s\">", first ? "" : " · ", sections[i].id);
        esc(r->f, sections[i].contents);
        fputs("</a>", r->f);
        first = 0;
    }
    fputs("</p>\n", r->f);
}

static void end(report_renderer *r) { fputs("</body>\n</html>\n", r->f); }

static void heading(report_renderer *r, int level, const char *id, const char *title)
{
    if (id) fprintf(r->f, "<h%d id=\"%s\">", level, id);
    else fprintf(r->f, "<h%d>", level);
    esc(r->f, title);
    fprintf(r->f, "</h%d>\n", level);
}

static void block_begin(report_renderer *r, report_block kind, const char *cls)
{
    switch (kind) {
    case REPORT_PARA: fputs("<p>", r->f); break;
    case REPORT_NOTE:
    case REPORT_ASIDE: fputs("<p class=\"note\">", r->f); break;
    case REPORT_LIST:
        if (cls) fprintf(r->f, "<ul class=\"%s\">\n", cls);
        else fputs("<ul>\n", r->f);
        break;
    case REPORT_ITEM: fputs("<li>", r->f); break;
    }
}

static void block_end(report_renderer *r, report_block kind)
{
    fputs(kind == REPORT_LIST ? "</ul>\n" : kind == REPORT_ITEM ? "</li>\n" : "</p>\n", r->f);
}

/* The page stands alone: an anchor on it is a link, another file (the
 * CSV beside it) is named, not linked. */
static void link(report_renderer *r, const char *href, const char *title)
{
    if (href[0] != '#') {
        fputs("<code>", r->f);
        esc(r->f, title ? title : href);
        fputs("</code>", r->f);
        return;
    }
    fputs("<a href=\"", r->f);
    esc(r->f, href);
    fputs("\">", r->f);
    esc(r->f, title ? title : href);
    fputs("</a>", r->f);
}

static void table_begin(report_renderer *r, const char *cls, const char *const *headers, int n)
{
    /* a wide table scrolls in its own box rather than widening the page */
    if (cls) fprintf(r->f, "<div class=\"scroll\"><table class=\"%s\">\n<tr>", cls);
    else fputs("<div class=\"scroll\"><table>\n<tr>", r->f);
    for (int i = 0; i < n; i++) {
        fputs(i == 0 ? "<th class=\"name\">" : "<th>", r->f);
        esc(r->f, headers[i]);
        fputs("</th>", r->f);
    }
    fputs("</tr>\n", r->f);
}

/* Shaded cells go from white at share 0 to dark blue at 1. */
static void shaded_cell(FILE *f, const report_cell *c)
{
    double share = c->share;
    int red = (int)lround(255 - share * (255 - 33)), green = (int)lround(255 - share * (255 - 84)),
        blue = (int)lround(255 - share * (255 - 141));
    fprintf(f, "<td style=\"background:#%02x%02x%02x;color:%s%s\" title=\"%.1f%% of the row\">", red, green, blue,
            share > 0.5 ? "#ffffff" : "#222222", c->flags & REPORT_CELL_STRONG ? ";font-weight:bold" : "",
            100 * share);
}

static void table_row(report_renderer *r, const report_cell *cells, int n, int highlight)
{
    fputs(highlight ? "<tr class=\"baseline\">" : "<tr>", r->f);
    for (int i = 0; i < n; i++) {
        const report_cell *c = &cells[i];
        int label = c->flags & REPORT_CELL_LABEL;
        if (c->flags & REPORT_CELL_SHADE) shaded_cell(r->f, c);
        else if (label) fputs("<th class=\"name\">", r->f);
        else if (c->flags & REPORT_CELL_NAME) fputs("<td class=\"name\">", r->f);
        else if (c->flags & REPORT_CELL_STRONG) fputs("<td style=\"font-weight:bold\">", r->f);
        else fputs("<td>", r->f);
        esc(r->f, c->text);
        fputs(label ? "</th>" : "</td>", r->f);
    }
    fputs("</tr>\n", r->f);
}

static void table_end(report_renderer *r) { fputs("</table></div>\n", r->f); }

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes n bytes as base64; n is a multiple of 3 except at the end. */
static void base64(FILE *f, const unsigned char *in, size_t n)
{
    char out[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[0] = b64[v >> 18 & 63], out[1] = b64[v >> 12 & 63];
        out[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[3] = i + 2 < n ? b64[v & 63] : '=';
        fwrite(out, 1, 4, f);
    }
}

/* The figure's file (already written, beside the report) as a data: URI. */
static int inline_figure(report_renderer *r, const char *rel)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%.*s%s", r->base_len, r->base, rel);
    if (n < 0 || (size_t)n >= sizeof path) return rm_error("%.*s%s: path too long", r->base_len, r->base, rel);
    size_t len = strlen(rel);
    const char *mime = len > 4 && strcmp(rel + len - 4, ".svg") == 0   ? "image/svg+xml"
                       : len > 4 && strcmp(rel + len - 4, ".png") == 0 ? "image/png"
                                                                       : NULL;
    if (!mime) return rm_error("%s: a figure must be .svg or .png to be inlined in the HTML report", path);
    FILE *in = fopen(path, "rb");
    if (!in) return rm_error("%s: cannot read the figure to inline it in the HTML report: %s", path, strerror(errno));
    fprintf(r->f, "data:%s;base64,", mime);
    unsigned char buf[3 * 1024];
    size_t got;
    do {
        got = 0;   /* fill the buffer, so only the last chunk is padded */
        while (got < sizeof buf) {
            size_t k = fread(buf + got, 1, sizeof buf - got, in);
            if (k == 0) break;
            got += k;
        }
        base64(r->f, buf, got);
    } while (got == sizeof buf);
    int bad = ferror(in);
    fclose(in);
    return bad ? rm_error("%s: reading the figure failed", path) : 0;
}

static void figure(report_renderer *r, const report_figure *fig)
{
    fputs("<figure><img src=\"", r->f);
    if (r->failed == 0 && inline_figure(r, fig->path) != 0) r->failed = -1;
    fputs("\" alt=\"", r->f);
    esc(r->f, fig->caption);
    fputs("\"><figcaption>", r->f);
    esc(r->f, fig->caption);
    fputs("</figcaption></figure>\n", r->f);
}

static void pre(report_renderer *r, const char *s)
{
    fputs("<pre>", r->f);
    esc(r->f, s);
    fputs("</pre>\n", r->f);
}

static const report_render_ops html_ops = {
    begin, contents, end, heading, block_begin, block_end, prose, text, text, link,
    table_begin, table_row, table_end, figure, pre,
};

int report_write_html(FILE *f, const report_ctx *ctx)
{
    /* the figures' paths are relative to the report's directory */
    const char *slash = strrchr(ctx->html_path, '/');
    report_renderer r = {.ops = &html_ops, .format = REPORT_HTML, .f = f, .base = ctx->html_path,
                         .base_len = slash ? (int)(slash - ctx->html_path + 1) : 0};
    if (report_render(&r, ctx) != 0 || r.failed) return -1;
    return ferror(f) ? rm_error("writing the HTML report failed") : 0;
}
