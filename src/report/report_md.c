/* report.md: the report's sections (report_sections.c) drawn as
 * GitHub-flavoured markdown. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "report/report_render.h"

/* Text with markdown's active characters escaped (table cells included). */
static void md_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("\\`*_[]<>|#", *s)) fputc('\\', f);
        if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
}

static void text(report_renderer *r, const char *s) { md_text(r->f, s); }
static void verbatim(report_renderer *r, const char *s) { fputs(s, r->f); }

/* The prose's markup is markdown already: only the variants and the
 * escapes are resolved. */
static void prose(report_renderer *r, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
        } else if (*s == '{' && strchr(s, '|') && strchr(s, '}')) {
            const char *bar = strchr(s, '|'), *close = strchr(s, '}');
            fwrite(s + 1, 1, (size_t)(bar - s - 1), r->f);
            s = close;
            continue;
        }
        fputc(*s, r->f);
    }
}

static void begin(report_renderer *r, const char *title)
{
    fputs("# ", r->f);
    md_text(r->f, title);
    fputs("\n\n", r->f);
}

static void contents(report_renderer *r, const report_section *sections, int n) {}
static void end(report_renderer *r) {}

static void heading(report_renderer *r, int level, const char *id, const char *title)
{
    fprintf(r->f, "%.*s ", level, "######");
    md_text(r->f, title);
    fputs("\n\n", r->f);
}

static void block_begin(report_renderer *r, report_block kind, const char *cls)
{
    if (kind == REPORT_ASIDE) fputc('*', r->f);
    if (kind == REPORT_ITEM) fputs("- ", r->f);
}

static void block_end(report_renderer *r, report_block kind)
{
    static const char *const ends[] = {[REPORT_PARA] = "\n\n", [REPORT_NOTE] = "\n\n", [REPORT_ASIDE] = "*\n\n",
                                       [REPORT_LIST] = "\n", [REPORT_ITEM] = "\n"};
    fputs(ends[kind], r->f);
}

static void link(report_renderer *r, const char *href, const char *title)
{
    if (title) fprintf(r->f, "[%s](%s)", title, href);
    else fputs(href, r->f);
}

static void table_begin(report_renderer *r, const char *cls, const char *const *headers, int n)
{
    fputs("|", r->f);
    for (int i = 0; i < n; i++) {
        fputc(' ', r->f);
        md_text(r->f, headers[i]);
        fputs(" |", r->f);
    }
    fputs("\n|", r->f);
    for (int i = 0; i < n; i++) fputs(i == 0 ? " --- |" : " ---: |", r->f);
    fputc('\n', r->f);
}

static void table_row(report_renderer *r, const report_cell *cells, int n, int highlight)
{
    fputs("|", r->f);
    for (int i = 0; i < n; i++) {
        const char *bold = cells[i].flags & (REPORT_CELL_LABEL | REPORT_CELL_STRONG) ? "**" : "";
        fprintf(r->f, " %s", bold);
        md_text(r->f, cells[i].text);
        fprintf(r->f, "%s |", bold);
    }
    fputc('\n', r->f);
}

static void table_end(report_renderer *r) { fputc('\n', r->f); }

static void figure(report_renderer *r, const report_figure *fig)
{
    fputs("![", r->f);
    md_text(r->f, fig->caption);
    fprintf(r->f, "](%s)\n\n*", fig->path);
    md_text(r->f, fig->caption);
    fputs("*\n\n", r->f);
}

static void fence(FILE *f, int n)
{
    for (int i = 0; i < n; i++) fputc('`', f);
}

/* A fence longer than any backtick run in the text. */
static void pre(report_renderer *r, const char *s)
{
    int longest = 0, run = 0;
    for (const char *p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    int n = longest >= 3 ? longest + 1 : 3;
    fence(r->f, n);
    fputc('\n', r->f);
    fputs(s, r->f);
    if (!*s || s[strlen(s) - 1] != '\n') fputc('\n', r->f);
    fence(r->f, n);
    fputs("\n\n", r->f);
}

static const report_render_ops md_ops = {
    begin, contents, end, heading, block_begin, block_end, prose, text, verbatim, link,
    table_begin, table_row, table_end, figure, pre,
};

int report_write_md(FILE *f, const report_ctx *ctx)
{
    report_renderer r = {.ops = &md_ops, .format = REPORT_MD, .f = f};
    if (report_render(&r, ctx) != 0) return -1;
    return ferror(f) ? rm_error("writing the markdown report failed") : 0;
}
