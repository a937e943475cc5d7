/* relmask report: the SVG writer, the JSON reader, montages, and the whole
 * command on a miniature experiment directory built through the CLI. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "report/report.h"
#include "fake_runs.h"
#include "png_check.h"
#include "test_util.h"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    char *buf = calloc(1, 1 << 21);
    size_t n = fread(buf, 1, (1 << 21) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Renders into memory. */
static char *svg_text(int bars, const rm_plot_spec *spec, const void *items, int n, const rm_plot_hline *h, int nh,
                      rm_plot_frame *frame)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    int rc = bars ? rm_svg_bar_chart(f, spec, items, n, h, nh, frame) : rm_svg_line_plot(f, spec, items, n, h, nh, frame);
    cr_assert_eq(rc, 0, "%s", rm_error_message());
    fclose(f);
    return buf;
}

/* Every element is closed in order (a small XML tag matcher: enough for
 * the writer's output, which has no comments, CDATA or '>' in attributes). */
static void assert_well_formed(const char *xml)
{
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = strstr(xml, "<svg");
    cr_assert(p, "no <svg> element");
    cr_assert(!strncmp(xml, "<?xml", 5), "XML declaration first");
    while ((p = strchr(p, '<'))) {
        const char *end = strchr(p, '>');
        cr_assert(end, "unterminated tag at %.40s", p);
        for (const char *q = p + 1; q < end; q++) cr_assert(*q != '<', "'<' inside a tag at %.40s", p);
        if (p[1] == '?') {
            p = end + 1;
            continue;
        }
        char name[32];
        int closing = p[1] == '/', self = end[-1] == '/';
        size_t k = 0;
        for (const char *q = p + 1 + closing; *q && !strchr(" />\n", *q) && k + 1 < sizeof name; q++) name[k++] = *q;
        name[k] = 0;
        if (closing) {
            cr_assert(depth > 0, "</%s> without an open element", name);
            cr_assert_str_eq(stack[depth - 1], name, "</%s> closes <%s>", name, stack[depth - 1]);
            depth--;
        } else if (!self) {
            if (depth == 0) roots++;
            cr_assert(depth < 64);
            snprintf(stack[depth++], sizeof stack[0], "%s", name);
        }
        p = end + 1;
    }
    cr_assert_eq(depth, 0, "%d elements left open (<%s>)", depth, depth ? stack[depth - 1] : "");
    cr_assert_eq(roots, 1, "one root element");
    /* every '&' starts an entity */
    for (const char *q = strchr(xml, '&'); q; q = strchr(q + 1, '&'))
        cr_assert(!strncmp(q, "&amp;", 5) || !strncmp(q, "&lt;", 4) || !strncmp(q, "&gt;", 4) ||
                      !strncmp(q, "&quot;", 6) || !strncmp(q, "&#", 2),
                  "bare '&' at %.20s", q);
}

Test(report_svg, values_map_to_the_documented_coordinates)
{
    const double x[] = {0, 5, 10}, y[] = {0, 50, 100};
    rm_plot_series s = {.label = "a", .n = 3, .x = x, .y = y};
    rm_plot_spec spec = {.width = 800, .height = 500, .xmin = 0, .xmax = 10, .ymin = 0, .ymax = 100};
    rm_plot_frame fr;
    char *svg = svg_text(0, &spec, &s, 1, NULL, 0, &fr);
    /* plot area: x from 78 to 800 - 190 = 610, y from 500 - 62 = 438 (bottom) to 46 (top) */
    cr_assert_float_eq(fr.left, 78, 0);
    cr_assert_float_eq(fr.right, 610, 0);
    cr_assert_float_eq(fr.top, 46, 0);
    cr_assert_float_eq(fr.bottom, 438, 0);
    cr_assert_float_eq(rm_plot_px(&fr, 5), 344, 1e-12);
    cr_assert_float_eq(rm_plot_py(&fr, 50), 242, 1e-12);
    cr_assert(strstr(svg, "points=\"78.00,438.00 344.00,242.00 610.00,46.00\""), "%s", svg);
    cr_assert(strstr(svg, "width=\"800\" height=\"500\""));
    free(svg);
}

Test(report_svg, line_plot_is_well_formed_with_legend_axes_band_and_reference_lines)
{
    const double x[] = {1, 2, 3, 4}, y1[] = {20, 40, 55, 60}, lo[] = {15, 35, 50, 58}, hi[] = {25, 45, 60, 62};
    const double y2[] = {30, 50, NAN, 65};
    rm_plot_series s[2] = {{.label = "raw", .n = 4, .x = x, .y = y1, .lo = lo, .hi = hi, .color = 0},
                           {.label = "mean <&> \"q\"", .n = 4, .x = x, .y = y2, .color = 1}};
    rm_plot_hline h[2] = {{.y = 54, .label = "90% of raw: 54.0%", .style = 1},
                          {.y = 57, .label = "95% of raw: 57.0%", .style = 2}};
    rm_plot_spec spec = {.title = "Validation accuracy", .xlabel = "epoch", .ylabel = "validation accuracy (%)",
                         .integer_x = 1, .clamp_ymin = 0, .clamp_ymax = 100};
    rm_plot_frame fr;
    char *svg = svg_text(0, &spec, s, 2, h, 2, &fr);
    assert_well_formed(svg);
    static const char *const want[] = {">epoch</text>", ">validation accuracy (%)</text>", ">raw</text>",
                                       ">mean &lt;&amp;&gt; &quot;q&quot;</text>", ">90% of raw: 54.0%</text>",
                                       ">95% of raw: 57.0%</text>", "stroke-dasharray=\"7 5\"",
                                       "stroke-dasharray=\"2 4\"", "<polygon", "#4e79a7", "#f28e2b", NULL};
    for (int i = 0; want[i]; i++) cr_assert(strstr(svg, want[i]), "expected '%s' in:\n%s", want[i], svg);
    /* the NaN splits the second series into two polylines */
    int polylines = 0;
    for (const char *p = strstr(svg, "<polyline"); p; p = strstr(p + 1, "<polyline")) polylines++;
    cr_assert_eq(polylines, 3);
    /* automatic ranges: epochs exactly 1..4, accuracy on nice ticks around 15..65 */
    cr_assert_float_eq(fr.xmin, 1, 0);
    cr_assert_float_eq(fr.xmax, 4, 0);
    cr_assert(fr.ymin <= 15 && fr.ymax >= 65 && fr.ymin >= 0 && fr.ymax <= 100, "y %g..%g", fr.ymin, fr.ymax);
    double steps = (fr.ymax - fr.ymin) / fr.ystep;
    cr_assert_float_eq(steps, round(steps), 1e-9, "range on whole ticks");
    free(svg);
}

Test(report_svg, bar_chart_is_well_formed)
{
    const double pts[] = {60, 62, 61};
    rm_plot_bar b[2] = {{.label = "raw", .value = 61, .lo = 60, .hi = 62, .npoints = 3, .points = pts},
                        {.label = "fuse-negative", .value = 64, .lo = NAN, .hi = NAN, .color = 1}};
    rm_plot_hline h = {.y = 61, .label = "raw mean: 61.0%", .style = 1};
    rm_plot_spec spec = {.title = "Final test accuracy", .ylabel = "test accuracy (%)", .clamp_ymin = 0,
                         .clamp_ymax = 100};
    rm_plot_frame fr;
    char *svg = svg_text(1, &spec, b, 2, &h, 1, &fr);
    assert_well_formed(svg);
    cr_assert_float_eq(fr.ymin, 0, 0, "bars start at zero");
    cr_assert(strstr(svg, ">raw</text>"), "%s", svg);
    cr_assert(strstr(svg, ">fuse-negative</text>"));
    cr_assert(strstr(svg, ">test accuracy (%)</text>"));
    cr_assert(strstr(svg, ">raw mean: 61.0%</text>"));
    int circles = 0;
    for (const char *p = strstr(svg, "<circle"); p; p = strstr(p + 1, "<circle")) circles++;
    cr_assert_eq(circles, 3 + 1, "one dot per seed plus the legend's");
    free(svg);
}

Test(report_svg, nice_steps)
{
    cr_assert_float_eq(rm_plot_nice_step(100, 8), 20, 1e-12);
    cr_assert_float_eq(rm_plot_nice_step(10, 8), 2, 1e-12);
    cr_assert_float_eq(rm_plot_nice_step(18, 8), 2.5, 1e-12);
    cr_assert_float_eq(rm_plot_nice_step(0.4, 8), 0.05, 1e-12);
    cr_assert_float_eq(rm_plot_nice_step(7, 10), 1, 1e-12);
}

/* --- JSON ----------------------------------------------------------------------- */

Test(report_json, parses_values_and_escapes)
{
    const char text[] = " {\"a\": [1, -2.5e2, 0, true, false, null], \"s\": \"x\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\","
                        " \"o\": {}, \"e\": []}\n";
    rm_json *v;
    cr_assert_eq(rm_json_parse(&v, text, strlen(text), "t.json"), 0, "%s", rm_error_message());
    cr_assert_eq(v->type, RM_JSON_OBJECT);
    cr_assert_eq(v->count, 4);
    const rm_json *a = rm_json_get(v, "a");
    cr_assert(a && a->type == RM_JSON_ARRAY && a->count == 6);
    cr_assert_float_eq(a->items[1].number, -250, 0);
    cr_assert_eq(a->items[3].type, RM_JSON_BOOL);
    cr_assert_eq(a->items[3].boolean, 1);
    cr_assert_eq(a->items[5].type, RM_JSON_NULL);
    cr_assert_str_eq(rm_json_get(v, "s")->string, "x\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
    cr_assert_eq(rm_json_get(v, "o")->count, 0);
    cr_assert_null(rm_json_get(v, "missing"));
    double d;
    cr_assert_eq(rm_json_get_number(v, "s", "t.json", &d), -1);
    cr_assert(strstr(rm_error_message(), "t.json: \"s\" is a string, expected a number"), "%s", rm_error_message());
    rm_json_free(v);
}

static void expect_json_error(const char *text, const char *want)
{
    rm_json *v = (rm_json *)1;
    cr_assert_eq(rm_json_parse(&v, text, strlen(text), "bad.json"), -1, "accepted: %s", text);
    cr_assert_null(v);
    cr_assert(strstr(rm_error_message(), "bad.json: offset "), "%s", rm_error_message());
    cr_assert(strstr(rm_error_message(), want), "for %s: expected '%s' in '%s'", text, want, rm_error_message());
}

Test(report_json, strict_errors_name_the_file_and_offset)
{
    expect_json_error("{\"a\": 1,}", "offset 8 (line 1:9): expected a string key");
    expect_json_error("[1, 2,]", "expected a value");
    expect_json_error("[01]", "leading zero");
    expect_json_error("{\"a\": 1, \"a\": 2}", "duplicate key \"a\"");
    expect_json_error("\"abc", "unterminated string");
    expect_json_error("[1]\n x", "offset 5 (line 2:2): unexpected data after the JSON value");
    expect_json_error("{\"a\" 1}", "expected ':'");
    expect_json_error("[NaN]", "expected a value");
    expect_json_error("[1.]", "expected a digit after '.'");
    expect_json_error("\"\\ud800\"", "unpaired high surrogate");
    expect_json_error("\"a\tb\"", "control character");
    expect_json_error("", "unexpected end of input");
    expect_json_error("[1 2]", "expected ',' or ']'");
    char deep[200];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    expect_json_error(deep, "nesting too deep");
}

Test(report_json, load_names_a_missing_file)
{
    rm_json *v;
    cr_assert_eq(rm_json_load(&v, "/nonexistent/x.json"), -1);
    cr_assert(strstr(rm_error_message(), "/nonexistent/x.json: cannot open"), "%s", rm_error_message());
}

/* --- montage ------------------------------------------------------------------------ */

Test(report_montage, nearest_neighbour_tiles_and_gaps)
{
    rm_montage m;
    cr_assert_eq(rm_montage_init(&m, 1, 2, 4, 4, 1, 1, 255), 0);
    cr_assert_eq(m.width, 2 * 4 + 3);
    cr_assert_eq(m.height, 4 + 2);
    const uint8_t img[4] = {10, 20, 30, 40};   /* 2x2 */
    cr_assert_eq(rm_montage_put(&m, 0, 1, img, 1, 2, 2), 0);
    /* tile (0,1) starts at x = 1 + 4 + 1 = 6, y = 1; each source pixel covers 2x2 */
    const uint8_t *row1 = m.pixels + 1 * m.width, *row3 = m.pixels + 3 * m.width;
    cr_assert_eq(row1[6], 10);
    cr_assert_eq(row1[7], 10);
    cr_assert_eq(row1[8], 20);
    cr_assert_eq(row1[9], 20);
    cr_assert_eq(row3[6], 30);
    cr_assert_eq(row3[9], 40);
    cr_assert_eq(row1[5], 255, "gap");
    cr_assert_eq(row1[1], 255, "empty tile keeps the background");
    cr_assert_eq(rm_montage_put(&m, 1, 0, img, 1, 2, 2), -1, "outside the grid");
    char *dir = tu_scratch_dir();
    const char *png = tu_path(dir, "m.png");
    cr_assert_eq(rm_montage_save_png(&m, png), 0, "%s", rm_error_message());
    cr_assert(tu_file_exists(png));
    rm_montage_free(&m);
    tu_rmtree(dir);
}

/* --- the command on a miniature experiment ---------------------------------------- */

static char *dir;

static void cli(int want, const char *want_text, const char *fmt, const char *a, const char *b, const char *c)
{
    char *out;
    int code = tu_run_cli(&out, fmt, a, b, c);
    cr_assert_eq(code, want, "relmask exited %d, expected %d:\n%s", code, want, out);
    if (want_text) cr_assert(strstr(out, want_text), "expected '%s' in:\n%s", want_text, out);
    free(out);
}

static void mkdirs(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    cr_assert_eq(system(cmd), 0);
}

/* DIR/target.h5, encoded_mean.h5, source_model.{h5,params}, source_model_eval.json,
 * runs/{raw,mean}/seed{1,2}/{model.h5,test.json} (2 epochs each) and
 * runs/fuse-mean/seed{1,2}/test.json (no model). */
static void build_experiment(void)
{
    dir = tu_scratch_dir();
    tu_write_text(tu_path(dir, "net.cfg"), tu_tiny_net_text);
    cli(0, NULL, "synth -q -n 140 --size 16 --domain target -o %s%s%s", tu_path(dir, "target.h5"), "", "");
    cli(0, NULL, "synth -q -n 140 --size 16 --domain target --intensity 1 -o %s%s%s", tu_path(dir, "encoded_mean.h5"),
        "", "");
    tu_write_text(tu_path(dir, "source_model.params"), "--net net.cfg --epochs 1 --batch 16\n");
    tu_write_text(tu_path(dir, "target.params"), "--domain target -n 140 --size 16\n");
    cli(0, NULL, "train -q --data %s --net %s --out %s --epochs 1 --batch 16", tu_path(dir, "target.h5"),
        tu_path(dir, "net.cfg"), tu_path(dir, "source_model.h5"));
    cli(0, NULL, "eval -m %s -d %s --out %s", tu_path(dir, "source_model.h5"), tu_path(dir, "target.h5"),
        tu_path(dir, "source_model_eval.json"));
    static const char *const conds[] = {"raw", "mean"};
    for (int c = 0; c < 2; c++) {
        for (int s = 1; s <= 2; s++) {
            char run[4096], args[256];
            snprintf(run, sizeof run, "%s/runs/%s/seed%d", dir, conds[c], s);
            mkdirs(run);
            snprintf(args, sizeof args, "--epochs 2 --batch 16 --seed %d --data %s", s,
                     tu_path(dir, c ? "encoded_mean.h5" : "target.h5"));
            cli(0, NULL, "train -q %s --net %s --out %s", args, tu_path(dir, "net.cfg"), tu_path(run, "model.h5"));
            cli(0, NULL, "eval -m %s -d %s --out %s", tu_path(run, "model.h5"), tu_path(dir, "target.h5"),
                tu_path(run, "test.json"));
            char fused[4096], cmd[9000];
            snprintf(fused, sizeof fused, "%s/runs/fuse-mean/seed%d", dir, s);
            if (c == 1) {
                mkdirs(fused);
                snprintf(cmd, sizeof cmd, "cp '%s/test.json' '%s/test.json'", run, fused);
                cr_assert_eq(system(cmd), 0);
            }
        }
    }
}

static void remove_experiment(void) { tu_rmtree(dir); }

TestSuite(report, .init = build_experiment, .fini = remove_experiment, .timeout = 180);

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t k = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        n += !strncmp(p, prefix, k);
    return n;
}

static int hidden_entries(const char *path)
{
    DIR *d = opendir(path);
    cr_assert(d, "%s", path);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int count_occurrences(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

/* report.html stands alone: every src= is a data: URI and every href= an
 * anchor on the page; no file beside it, no http(s) resource, no url(). */
static void assert_self_contained(const char *html)
{
    static const char *const attrs[] = {" src=", " href=", " srcset=", " data=", " poster=", NULL};
    int srcs = 0;
    for (int a = 0; attrs[a]; a++)
        for (const char *p = strstr(html, attrs[a]); p; p = strstr(p + 1, attrs[a])) {
            const char *v = p + strlen(attrs[a]);
            cr_assert(*v == '"', "unquoted attribute at '%.60s'", p);
            v++;
            if (a == 0) {
                cr_assert(!strncmp(v, "data:image/", 11), "src= is not an inlined image: '%.60s'", p);
                srcs++;
            } else {
                cr_assert(a == 1 && *v == '#', "a reference to another document: '%.60s'", p);
            }
        }
    cr_assert(srcs > 0, "no inlined figure at all");
    cr_assert(!strstr(html, "url("), "a CSS url() reference");
    cr_assert(!strstr(html, "@import"), "a CSS @import");
    cr_assert(!strstr(html, "http://") && !strstr(html, "https://"), "an http(s) address in report.html");
}

static int b64_value(char c)
{
    const char *set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", *p = strchr(set, c);
    return c && p ? (int)(p - set) : -1;
}

/* The first data: URI with `prefix` decodes to exactly the file's bytes. */
static void assert_inlined(const char *html, const char *prefix, const char *file)
{
    const char *p = strstr(html, prefix);
    cr_assert(p, "no '%s' in report.html", prefix);
    p += strlen(prefix);
    const char *end = strchr(p, '"');
    cr_assert(end && (end - p) % 4 == 0, "a data: URI's base64 comes in groups of 4 characters");
    FILE *f = fopen(file, "rb");
    cr_assert(f, "%s", file);
    size_t n = 0, bytes = 0;
    unsigned v = 0;
    int bits = 0, c, ok = 1;
    for (; *p != '"'; p++) {
        if (*p == '=') continue;
        int d = b64_value(*p);
        cr_assert(d >= 0, "not base64: '%.20s'", p);
        v = (v << 6 | (unsigned)d) & 0xffffff, bits += 6;
        if (bits >= 8) {
            bits -= 8;
            c = fgetc(f);
            if (c != (int)(v >> bits & 255)) ok = 0;
            bytes++;
        }
        n++;
    }
    c = fgetc(f);
    fclose(f);
    cr_assert(ok && c == EOF && bytes > 0, "the data: URI (%zu characters) differs from %s", n, file);
}

Test(report, writes_markdown_html_csv_and_figures)
{
    cli(0, "report: ", "report --dir %s%s%s", dir, "", "");
    const char *md_path = tu_path(dir, "report.md"), *html_path = tu_path(dir, "report.html");
    const char *csv_path = tu_path(tu_path(dir, "report"), "results.csv");
    char *md = read_text(md_path), *html = read_text(html_path), *csv = read_text(csv_path);

    /* results.csv: a header and one row per condition, baseline first, fused last */
    static const char header[] = "condition,baseline,n_seeds,n_curves,final_val_acc_pct_mean,";
    cr_assert(!strncmp(csv, header, strlen(header)), "%s", csv);
    cr_assert(strstr(csv, "\nraw,1,2,2,"), "%s", csv);
    cr_assert(strstr(csv, "\nmean,0,2,2,"), "%s", csv);
    cr_assert(strstr(csv, "\nfuse-mean,0,2,0,"), "%s", csv);
    cr_assert_eq(count_lines_starting(csv, ""), 4, "%s", csv);
    cr_assert(strstr(csv, "test_acc_p,") && strstr(csv, "aulc_p,"), "%s", csv);
    cr_assert(strstr(csv, "\nraw,") < strstr(csv, "\nmean,") && strstr(csv, "\nmean,") < strstr(csv, "\nfuse-mean,"));

    static const char *const md_want[] = {"# relmask experiment report: ", "## Findings", "## Results",
                                          "| raw (baseline) | 2 |", "| mean | 2 |", "| fuse-mean | 2 | n/a |",
                                          "With 2 seeds the smallest possible two-sided p is 0.5 (2 / 2^n for n seed pairs), so 2 seeds cannot show",
                                          "with 2 seeds the smallest possible p is 0.5.", "### Per seed", "| raw | 1 | 2 |",
                                          "![", "(report/learning_curves.svg)", "(report/test_accuracy.svg)",
                                          "(report/encoded_mean.png)", "## Relevance heatmaps",
                                          "Heatmap montages: not available", "## Confusion matrices",
                                          "### fuse-mean", "| true \\\\ predicted | neutral |", "## Reproducibility",
                                          "oneDNN ", "HDF5 ", "cores online", "relmask 0.1.0",
                                          "source model test accuracy (source_model_eval.json): ",
                                          "seeds: raw 1, 2; mean 1, 2; fuse-mean 1, 2", "source\\_model.params:",
                                          "--net net.cfg --epochs 1 --batch 16", "total training time: ", NULL};
    for (int i = 0; md_want[i]; i++) cr_assert(strstr(md, md_want[i]), "expected '%s' in report.md:\n%s", md_want[i], md);
    cr_assert(strstr(md, "- **mean**: 90% of the baseline's final validation accuracy"), "%s", md);
    cr_assert(strstr(md, "- **fuse-mean**: It has no learning curve"), "%s", md);
    cr_assert(!strstr(md, "p < 0.05)") && !strstr(md, "; significant at"), "never significant with 2 seeds:\n%s", md);
    cr_assert(strstr(md, "not significant at the 0.05 level") || strstr(md, "so there is no test"), "%s", md);

    static const char *const html_want[] = {"<!DOCTYPE html>", "<style>", "<div class=\"scroll\"><table>",
                                            "<tr class=\"baseline\">", "table class=\"confusion\"",
                                            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
                                            ".scroll{overflow-x:auto", "figure img{max-width:100%",
                                            "style=\"background:#", "<code>report/results.csv</code>", "</html>", NULL};
    for (int i = 0; html_want[i]; i++)
        cr_assert(strstr(html, html_want[i]), "expected '%s' in report.html", html_want[i]);
    cr_assert(!strstr(html, "<script"), "no scripts");
    assert_self_contained(html);
    /* the figures are inlined byte for byte: 3 SVG plots and the montage */
    cr_assert_eq(count_occurrences(html, "<img src=\"data:image/svg+xml;base64,"), 3);
    cr_assert_eq(count_occurrences(html, "<img src=\"data:image/png;base64,"), 1);
    assert_inlined(html, "data:image/svg+xml;base64,", tu_path(tu_path(dir, "report"), "learning_curves.svg"));
    assert_inlined(html, "data:image/png;base64,", tu_path(tu_path(dir, "report"), "encoded_mean.png"));

    static const char *const figs[] = {"learning_curves.svg", "learning_curves_time.svg", "test_accuracy.svg",
                                       "encoded_mean.png", NULL};
    for (int i = 0; figs[i]; i++) cr_assert(tu_file_exists(tu_path(tu_path(dir, "report"), figs[i])), "%s", figs[i]);
    /* each plot also as PNG beside its SVG, at twice its size, not blank */
    cr_assert_eq(pc_assert_png_beside_every_svg(tu_path(dir, "report")), 3);
    char *svg = read_text(tu_path(tu_path(dir, "report"), "learning_curves.svg"));
    assert_well_formed(svg);
    cr_assert(strstr(svg, ">raw</text>") && strstr(svg, ">mean</text>") && strstr(svg, ">epoch</text>"));
    cr_assert(!strstr(svg, ">fuse-mean</text>"), "no curve for a condition without histories");
    free(svg);

    /* a second run needs --force, and leaves nothing half-written */
    cli(1, "report.md: already exists; use --force to overwrite it", "report --dir %s%s%s", dir, "", "");
    cli(0, NULL, "report -q --dir %s --force%s%s", dir, "", "");
    cr_assert_eq(hidden_entries(dir), 0, "temporary files left in %s", dir);
    cr_assert_eq(hidden_entries(tu_path(dir, "report")), 0);
    free(md), free(html), free(csv);
}

/* The p-value sentences follow the seed count (they once said 5 seeds and
 * 0.0625 whatever the count). Seeds 3-5 are copies of 1 and 2: only their
 * number matters here. */
Test(report, p_value_sentences_use_the_seed_count)
{
    static const char *const conds[] = {"raw", "mean", "fuse-mean"};
    for (int c = 0; c < 3; c++)
        for (int s = 3; s <= 5; s++) {
            char cmd[9000];
            snprintf(cmd, sizeof cmd, "cp -r '%s/runs/%s/seed%d' '%s/runs/%s/seed%d'", dir, conds[c], s - 2, dir,
                     conds[c], s);
            cr_assert_eq(system(cmd), 0);
        }
    cli(0, NULL, "report -q --dir %s%s%s", dir, "", "");
    char *md = read_text(tu_path(dir, "report.md")), *html = read_text(tu_path(dir, "report.html"));
    static const char *const want[] = {"With 5 seeds the smallest possible two-sided p is 0.0625 (2 / 2",
                                       "seed pairs), so 5 seeds cannot show",
                                       "with 5 seeds the smallest possible p is 0.0625.", NULL};
    for (int i = 0; want[i]; i++) {
        cr_assert(strstr(md, want[i]), "expected '%s' in report.md:\n%s", want[i], md);
        cr_assert(strstr(html, want[i]), "expected '%s' in report.html", want[i]);
    }
    cr_assert(!strstr(md, "2 seeds"), "%s", md);
    free(md), free(html);
}

/* The mask-only control is reported as a leak of the masks, not as a method:
 * a glance line and its own paragraph, outside the ranking and the Holm
 * family (the same family as without it). */
static int holm_family_in(const char *md)
{
    const char *p = strstr(md, "Because this report makes ");
    cr_assert(p, "no family sentence in:\n%s", md);
    return atoi(p + strlen("Because this report makes "));
}

Test(report, mask_control_is_a_leak_not_a_ranked_condition)
{
    cli(0, NULL, "report -q --dir %s%s%s", dir, "", "");
    char *before = read_text(tu_path(dir, "report.md"));
    int family = holm_family_in(before);
    free(before);
    for (int s = 1; s <= 2; s++) {
        char cmd[9000];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/runs/mask' && cp -r '%s/runs/mean/seed%d' '%s/runs/mask/'", dir, dir,
                 s, dir);
        cr_assert_eq(system(cmd), 0);
    }
    cli(0, NULL, "report -q --force --dir %s%s%s", dir, "", "");
    char *md = read_text(tu_path(dir, "report.md"));
    static const char *const want[] = {"Mask-shape leak (the `mask` control): the masks alone give ",
                                       "against chance 14.29%, leak ", "**mask**: The mask-only control", NULL};
    for (int i = 0; want[i]; i++) cr_assert(strstr(md, want[i]), "expected '%s' in report.md:\n%s", want[i], md);
    cr_assert(!strstr(md, "Highest test accuracy: `mask`") && !strstr(md, "Lowest test accuracy: `mask`"),
              "the control was ranked:\n%s", md);
    cr_assert_eq(holm_family_in(md), family, "the control joined the Holm family:\n%s", md);
    free(md);
}

/* The relevance-quality section shows the nested metrics of
 * relevance_eval.json against chance (it once listed only top-level numbers,
 * of which the file has none, so the table was always empty). */
Test(report, relevance_quality_shows_aopc_region_mass_and_pointing_against_chance)
{
    cli(0, NULL, "relevance -q -m %s -d %s -o %s --count 24", tu_path(dir, "source_model.h5"), tu_path(dir, "target.h5"),
        tu_path(dir, "rel.h5"));
    char args[9000];
    snprintf(args, sizeof args, "relevance-eval -q -r %s -d %s -m %s --steps 4 --random-orders 2", tu_path(dir, "rel.h5"),
             tu_path(dir, "target.h5"), tu_path(dir, "source_model.h5"));
    cli(0, NULL, "%s -o %s%s", args, tu_path(dir, "relevance_eval.json"), "");
    cli(0, NULL, "report -q --dir %s%s%s", dir, "", "");
    char *md = read_text(tu_path(dir, "report.md")), *html = read_text(tu_path(dir, "report.html"));
    static const char *const want[] = {"## Relevance quality", "| metric | relevance maps | chance | ratio |", "*Pointing game*: the share of images",
                                       "| AOPC (logit) | ", "| AOPC (probability) | ", "| region mass, % (positive) | ",
                                       "| pointing game, % (absolute) | ", NULL};
    for (int i = 0; want[i]; i++) cr_assert(strstr(md, want[i]), "expected '%s' in report.md:\n%s", want[i], md);
    /* every row has figures, not n/a, on data with regions and a model */
    const char *row = strstr(md, "| region mass, % (positive) | ");
    cr_assert(row && strncmp(row + strlen("| region mass, % (positive) | "), "n/a", 3) != 0, "%s", md);
    cr_assert(strstr(html, "AOPC (logit)") && strstr(html, "pointing game"), "report.html lacks the quality table");
    free(md), free(html);
}

Test(report, missing_test_json_is_an_error_naming_the_file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/runs/mean/seed2/test.json", dir);
    cr_assert_eq(remove(path), 0);
    cli(1, "runs/mean/seed2/test.json: missing", "report --dir %s%s%s", dir, "", "");
    cr_assert(!tu_file_exists(tu_path(dir, "report.md")), "nothing is written");
    cr_assert(!tu_file_exists(tu_path(dir, "report")), "not even the figure folder");
    /* leaving the seed out works */
    cli(0, NULL, "report -q --dir %s --seeds 1%s%s", dir, "", "");
    char *csv = read_text(tu_path(tu_path(dir, "report"), "results.csv"));
    cr_assert(strstr(csv, "\nmean,0,1,1,") && strstr(csv, "\nraw,1,1,1,") && strstr(csv, "\nfuse-mean,0,1,0,"), "%s",
              csv);
    free(csv);
    /* as does choosing the conditions (the baseline is added), into another report */
    cli(0, NULL, "report -q --dir %s --conditions fuse-mean --out %s%s", dir, tu_path(dir, "only.md"), "");
    csv = read_text(tu_path(tu_path(dir, "only"), "results.csv"));
    cr_assert(strstr(csv, "\nraw,1,2,2,") && strstr(csv, "\nfuse-mean,0,2,0,") && !strstr(csv, "\nmean,"), "%s", csv);
    free(csv);
    cr_assert(tu_file_exists(tu_path(dir, "only.html")));
    cr_assert(tu_file_exists(tu_path(tu_path(dir, "only"), "test_accuracy.svg")));
}

Test(report, baseline_and_condition_errors)
{
    cli(1, "no directory for the baseline condition 'scratch'", "report --dir %s --baseline scratch%s%s", dir, "", "");
    cli(1, "runs/nosuch: no such condition directory", "report --dir %s --conditions raw,nosuch%s%s", dir, "", "");
    cli(1, "runs/raw/seed7: no such run directory", "report --dir %s --seeds 1,7%s%s", dir, "", "");
    char path[4096];
    snprintf(path, sizeof path, "%s/runs/raw/seed1/test.json", dir);
    tu_write_text(path, "{\"accuracy\": 0.5,\n \"classes\": [\"a\"],}\n");
    cli(1, "runs/raw/seed1/test.json: offset 36 (line 2:19): expected a string key", "report --dir %s%s%s", dir, "",
        "");
}

Test(report_cli, usage_errors)
{
    cli(0, "usage: relmask report --dir DIR", "report --help%s%s%s", "", "", "");
    cli(2, "--dir DIR is required", "report%s%s%s", "", "", "");
    cli(2, "expected a file name ending in .md", "report --dir x --out x.txt%s%s%s", "", "", "");
    cli(2, "--seeds 'a'", "report --dir x --seeds 1,a%s%s%s", "", "", "");
    cli(2, "seed 2 is listed twice", "report --dir x --seeds 2,2%s%s%s", "", "", "");
    cli(2, "empty condition name", "report --dir x --conditions raw,,mean%s%s%s", "", "", "");
    cli(2, "unknown option '--bogus'", "report --bogus%s%s%s", "", "", "");
    cli(1, "nosuch: no such experiment directory", "report --dir /nonexistent/nosuch%s%s%s", "", "", "");
}

/* --- the comparison statistics on known numbers ------------------------------------
 * A fake experiment (fake_runs.h) with six seeds: `mean` beats `raw` in test
 * accuracy by d = 1.2, 0.4-, ... points and in AULC by 5 points on every
 * seed; `soft` loses 1 point of test accuracy on every seed and has raw's
 * curves. Expected by hand and from tests/oracle/stats_oracle.py:
 *   mean test acc: ranks of |d| 1..6, W- = 1: exact p = 2 * 2/64 = 0.0625
 *   mean AULC, soft test acc: all six one way: p = 2/64 = 0.03125
 *   soft AULC: every difference 0: no test, not in the family
 *   Holm over 3 tests: 3 x 0.03125 = 0.09375 for all three (monotone)
 *   mean: median d 1.1 pp, bootstrap 95% CI [0.15, 1.75] pp, sd 0.817312669668,
 *         smallest detectable 0.956600827742 pp (oracle) */
static char *stat_dir;

static void build_stat_experiment(void)
{
    stat_dir = tu_scratch_dir();
    rm_model tmpl;
    fr_template(stat_dir, &tmpl);
    static const double raw[6] = {0.50, 0.52, 0.48, 0.51, 0.49, 0.50};
    static const double mean[6] = {0.512, 0.516, 0.500, 0.517, 0.505, 0.510};
    static const double raw_curve[2] = {0.3, 0.5}, mean_curve[2] = {0.35, 0.55};
    for (int s = 0; s < 6; s++) {
        fr_write_run(stat_dir, "raw", s + 1, raw[s], raw_curve, 2, &tmpl);
        fr_write_run(stat_dir, "mean", s + 1, mean[s], mean_curve, 2, &tmpl);
        fr_write_run(stat_dir, "soft", s + 1, raw[s] - 0.01, raw_curve, 2, &tmpl);
    }
    rm_model_free(&tmpl);
}

static void remove_stat_experiment(void) { tu_rmtree(stat_dir); }

TestSuite(report_numbers, .init = build_stat_experiment, .fini = remove_stat_experiment, .timeout = 120);

/* The field `name` of the row starting with `row` of a CSV text, as a number. */
static double csv_field(const char *csv, const char *row, const char *name)
{
    const char *h = csv;
    int col = 0;
    size_t k = strlen(name);
    for (const char *p = h; *p && *p != '\n'; col++) {
        if (!strncmp(p, name, k) && (p[k] == ',' || p[k] == '\n')) break;
        p = strchr(p, ',');
        cr_assert(p && p < strchr(h, '\n'), "no column %s", name);
        p++;
    }
    char needle[64];
    snprintf(needle, sizeof needle, "\n%s,", row);
    const char *r = strstr(csv, needle);
    cr_assert(r, "no row %s", row);
    r++;
    for (int i = 0; i < col; i++) r = strchr(r, ',') + 1;
    if (*r == ',' || *r == '\n') return NAN;
    return strtod(r, NULL);
}

Test(report_numbers, holm_bootstrap_and_detectable_difference)
{
    cli(0, NULL, "report -q --dir %s%s%s", stat_dir, "", "");
    char *csv = read_text(tu_path(tu_path(stat_dir, "report"), "results.csv"));
    cr_assert_float_eq(csv_field(csv, "mean", "test_acc_p"), 0.0625, 1e-12, "%s", csv);
    cr_assert_float_eq(csv_field(csv, "mean", "aulc_p"), 0.03125, 1e-12);
    cr_assert_float_eq(csv_field(csv, "soft", "test_acc_p"), 0.03125, 1e-12);
    cr_assert(isnan(csv_field(csv, "soft", "aulc_p")), "all-zero differences: no test");
    for (int i = 0; i < 3; i++) {
        static const char *const cells[][2] = {{"mean", "test_acc_p_holm"}, {"mean", "aulc_p_holm"},
                                               {"soft", "test_acc_p_holm"}};
        cr_assert_float_eq(csv_field(csv, cells[i][0], cells[i][1]), 0.09375, 1e-12, "%s %s", cells[i][0],
                           cells[i][1]);
    }
    cr_assert(isnan(csv_field(csv, "soft", "aulc_p_holm")));
    cr_assert_float_eq(csv_field(csv, "mean", "holm_family"), 3, 0);
    /* tolerances: 1e-9 pp, the differences are of decimal fractions */
    cr_assert_float_eq(csv_field(csv, "mean", "test_acc_diff_median_pp"), 1.1, 1e-9);
    cr_assert_float_eq(csv_field(csv, "mean", "test_acc_diff_ci_lo_pp"), 0.15, 1e-9);
    cr_assert_float_eq(csv_field(csv, "mean", "test_acc_diff_ci_hi_pp"), 1.75, 1e-9);
    cr_assert_float_eq(csv_field(csv, "mean", "test_acc_diff_sd_pp"), 0.817312669668, 1e-9);
    cr_assert_float_eq(csv_field(csv, "mean", "test_acc_min_detectable_pp"), 0.956600827742, 1e-9);
    cr_assert_float_eq(csv_field(csv, "soft", "test_acc_diff_median_pp"), -1.0, 1e-9);
    cr_assert_float_eq(csv_field(csv, "soft", "test_acc_diff_ci_lo_pp"), -1.0, 1e-9);
    cr_assert_float_eq(csv_field(csv, "soft", "test_acc_diff_ci_hi_pp"), -1.0, 1e-9);
    cr_assert_float_eq(csv_field(csv, "mean", "bootstrap_resamples"), 10000, 0);
    cr_assert(isnan(csv_field(csv, "raw", "test_acc_p_holm")), "the baseline is not compared with itself");

    char *md = read_text(tu_path(stat_dir, "report.md"));
    static const char *const want[] = {
        "| mean | 6 |", "| 0.0625 | 0.09375 | +1.10 \\[+0.15, +1.75\\] | 0.96 |",
        "Because this report makes 3 such tests",
        "p = 0.03125, Holm-adjusted over the report's 3 tests p = 0.09375; not significant at the 0.05 level after "
        "adjustment",
        "*Holm p*", "10000 resamples, seed 20240601", NULL};
    for (int i = 0; want[i]; i++) cr_assert(strstr(md, want[i]), "expected '%s' in report.md:\n%s", want[i], md);
    cr_assert(!strstr(md, "; significant at the 0.05"), "unadjusted p < 0.05 must not be called significant:\n%s", md);
    free(csv), free(md);
}

Test(report_numbers, few_seeds_are_not_detectable)
{
    cli(0, NULL, "report -q --dir %s --seeds 1,2,3,4,5 --out %s", stat_dir, tu_path(stat_dir, "five.md"), "");
    char *md = read_text(tu_path(stat_dir, "five.md"));
    cr_assert(strstr(md, "not detectable (5 pairs)"), "%s", md);
    char *csv = read_text(tu_path(tu_path(stat_dir, "five"), "results.csv"));
    cr_assert(isnan(csv_field(csv, "mean", "test_acc_min_detectable_pp")), "%s", csv);
    free(md), free(csv);
}
