/* The browser suite: report.html, written by the real `relmask report` on a
 * miniature experiment, rendered by headless Chromium at a phone width
 * (390x844) and a desktop width (1280x900). A page fails when it is blank,
 * when a figure does not load or has no size, or when its layout is wider
 * than the viewport (docs/report.md, "Checked in a browser").
 *
 * How: the page goes into the srcdoc of an iframe exactly W x H CSS pixels
 * in a scratch harness page (headless Chromium lays a window out at least
 * 500 px wide, so the iframe is what gives a true 390 px viewport). A small
 * script in the harness, after the load event, measures the iframe's
 * document and writes one line into the harness's DOM, which
 * `chromium --dump-dom` prints; the same call takes a screenshot, which
 * libpng reads to tell a blank page. The screenshots of the report stay in
 * $RELMASK_ROOT/results/browser-check/ for a person to look at. The checker
 * itself is tested on pages made to fail: too wide, a broken image, blank.
 * Chromium comes from `scripts/deps.sh --browser` (make check runs it); its
 * absence fails the suite. */
#include <criterion/criterion.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"

typedef struct {
    long scroll, client, inner;   /* the page's scrollWidth, clientWidth, innerWidth (CSS px) */
    int imgs, broken;             /* <img> elements; those not loaded or drawn without size */
    int svgs, flat;               /* inline <svg> elements; those of zero width or height */
    long text;                    /* characters of visible text */
    int shot_w, shot_h;           /* the screenshot's size in pixels */
    double shot_ink;              /* its share of pixels unlike the top-left one: 0 = one colour */
} page_check;

/* After the load event (which waits for the iframe and its images), one
 * line into the harness's DOM; the marker is assembled so that the script's
 * own text does not contain it. */
static const char check_script[] =
    "window.addEventListener('load', function () {\n"
    "  var f = document.getElementById('page'), w = f.contentWindow, d = f.contentDocument;\n"
    "  var e = d.documentElement, i, r, broken = 0, flat = 0, svgs = d.getElementsByTagName('svg');\n"
    "  for (i = 0; i < d.images.length; i++) {\n"
    "    r = d.images[i].getBoundingClientRect();\n"
    "    if (!d.images[i].complete || d.images[i].naturalWidth == 0 || r.width < 1 || r.height < 1) broken++;\n"
    "  }\n"
    "  for (i = 0; i < svgs.length; i++) {\n"
    "    r = svgs[i].getBoundingClientRect();\n"
    "    if (r.width < 1 || r.height < 1) flat++;\n"
    "  }\n"
    "  var out = document.createElement('pre');\n"
    "  out.textContent = 'RELMASK-' + 'CHECK scroll=' + e.scrollWidth + ' client=' + e.clientWidth +\n"
    "    ' inner=' + w.innerWidth + ' imgs=' + d.images.length + ' broken=' + broken + ' svgs=' + svgs.length +\n"
    "    ' flat=' + flat + ' text=' + (d.body ? d.body.innerText.trim().length : 0) + ' END';\n"
    "  document.body.appendChild(out);\n"
    "});\n";

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    struct stat st;
    cr_assert_eq(fstat(fileno(f), &st), 0);
    char *buf = malloc((size_t)st.st_size + 1);
    cr_assert(buf);
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static void require_chromium(void)
{
    cr_assert_eq(system("command -v chromium >/dev/null 2>&1"), 0,
                 "chromium is not installed: run `scripts/deps.sh --browser` as root (`make check` installs it)");
}

/* The harness: the page in an iframe's srcdoc (& and " escaped), then the
 * checking script. */
static void write_harness(const char *harness, const char *page_html, int w, int h)
{
    FILE *f = fopen(harness, "w");
    cr_assert(f, "%s", harness);
    fprintf(f,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>html,body{margin:0;padding:0;overflow:hidden}"
            "iframe{border:0;display:block;width:%dpx;height:%dpx}</style></head>\n<body><iframe id=\"page\" srcdoc=\"",
            w, h);
    for (const char *p = page_html; *p; p++) {
        if (*p == '&') fputs("&amp;", f);
        else if (*p == '"') fputs("&quot;", f);
        else fputc(*p, f);
    }
    fprintf(f, "\"></iframe>\n<script>\n%s</script>\n</body></html>\n", check_script);
    cr_assert_eq(fclose(f), 0);
}

/* The screenshot's size and the share of its pixels unlike the first. */
static void read_screenshot(const char *png, page_check *c)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, png), "%s: not a PNG: %s", png, img.message);
    img.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    cr_assert(px);
    cr_assert(png_image_finish_read(&img, NULL, px, 0, NULL), "%s: %s", png, img.message);
    size_t n = (size_t)img.width * img.height, differ = 0;
    for (size_t i = 1; i < n; i++) differ += memcmp(px + 3 * i, px, 3) != 0;
    c->shot_w = (int)img.width, c->shot_h = (int)img.height;
    c->shot_ink = n ? (double)differ / (double)n : 0;
    free(px);
    png_image_free(&img);
}

/* Renders page_html at w x h in headless Chromium; the screenshot goes to
 * `shot`. Fails (with Chromium's stderr) when Chromium fails or the
 * checking script's line is missing. */
static page_check render(const char *scratch, const char *page_html, int w, int h, const char *shot)
{
    require_chromium();
    char harness[4096], out[4096], err[4096], profile[4096], cmd[20000];
    snprintf(harness, sizeof harness, "%s/harness-%dx%d.html", scratch, w, h);
    snprintf(out, sizeof out, "%s/dom-%dx%d.txt", scratch, w, h);
    snprintf(err, sizeof err, "%s/chromium-%dx%d.log", scratch, w, h);
    snprintf(profile, sizeof profile, "%s/chromium-profile", scratch);
    write_harness(harness, page_html, w, h);
    remove(shot);
    /* --no-sandbox: Chromium refuses to run as root with its sandbox */
    snprintf(cmd, sizeof cmd,
             "timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir='%s' --no-first-run "
             "--no-default-browser-check --disable-extensions --disable-background-networking --disable-sync "
             "--disable-component-update --mute-audio --window-size=%d,%d --dump-dom --screenshot='%s' "
             "'file://%s' >'%s' 2>'%s'",
             profile, w, h, shot, harness, out, err);
    int rc = system(cmd);
    char *log = read_all(err, NULL);
    size_t loglen = strlen(log);
    const char *tail = log + (loglen > 3000 ? loglen - 3000 : 0);
    cr_assert_eq(rc, 0, "chromium at %dx%d exited with status %d (124: timed out after 60 s); its stderr:\n%s", w, h,
                 rc, tail);
    char *dom = read_all(out, NULL);
    page_check c = {0};
    const char *line = strstr(dom, "RELMASK-CHECK scroll=");
    cr_assert(line, "at %dx%d the checking script wrote nothing (the page did not load?); chromium's stderr:\n%s", w, h,
              tail);
    int got = sscanf(line, "RELMASK-CHECK scroll=%ld client=%ld inner=%ld imgs=%d broken=%d svgs=%d flat=%d text=%ld",
                     &c.scroll, &c.client, &c.inner, &c.imgs, &c.broken, &c.svgs, &c.flat, &c.text);
    cr_assert_eq(got, 8, "cannot parse the checking script's line: %.200s", line);
    read_screenshot(shot, &c);
    free(dom), free(log);
    return c;
}

/* The checks a good page passes, each with what was measured. */
static int too_wide(const page_check *c) { return c->scroll > c->client; }
static int blank(const page_check *c) { return c->text == 0 || c->shot_ink == 0; }

/* --- the report -------------------------------------------------------------------- */

static void cli(const char *fmt, const char *a, const char *b, const char *c)
{
    char *out;
    int code = tu_run_cli(&out, fmt, a, b, c);
    cr_assert_eq(code, 0, "relmask exited %d:\n%s", code, out);
    free(out);
}

/* As tests/test_report.c: DIR/target.h5, encoded_mean.h5 and
 * runs/{raw,mean}/seed{1,2}/{model.h5,test.json}, 2 epochs on 140 16x16
 * images each (seconds). */
static void build_experiment(const char *dir)
{
    tu_write_text(tu_path(dir, "net.cfg"), "[net]\ninput = 1x16x16\nclasses = 7\n"
                                           "[conv]\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
                                           "[maxpool]\nsize = 2\n[dense]\nunits = 7\n");
    cli("synth -q -n 140 --size 16 --domain target -o %s%s%s", tu_path(dir, "target.h5"), "", "");
    cli("synth -q -n 140 --size 16 --domain target --intensity 1 -o %s%s%s", tu_path(dir, "encoded_mean.h5"), "", "");
    static const char *const conds[] = {"raw", "mean"};
    for (int c = 0; c < 2; c++)
        for (int s = 1; s <= 2; s++) {
            char run[4096], args[4400], cmd[4200];
            snprintf(run, sizeof run, "%s/runs/%s/seed%d", dir, conds[c], s);
            snprintf(cmd, sizeof cmd, "mkdir -p '%s'", run);
            cr_assert_eq(system(cmd), 0);
            snprintf(args, sizeof args, "--epochs 2 --batch 16 --seed %d --data %s", s,
                     tu_path(dir, c ? "encoded_mean.h5" : "target.h5"));
            cli("train -q %s --net %s --out %s", args, tu_path(dir, "net.cfg"), tu_path(run, "model.h5"));
            cli("eval -m %s -d %s --out %s", tu_path(run, "model.h5"), tu_path(dir, "target.h5"),
                tu_path(run, "test.json"));
        }
}

/* results/browser-check/ of the repository, kept for a person to look at */
static const char *shots_dir(void)
{
    static char path[4096];
    const char *root = getenv("RELMASK_ROOT");
    snprintf(path, sizeof path, "%s/results/browser-check", root && *root ? root : ".");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    cr_assert_eq(system(cmd), 0);
    return path;
}

Test(browser, report_renders_at_phone_and_desktop_width, .timeout = 180)
{
    require_chromium();
    char *dir = tu_scratch_dir();
    build_experiment(dir);
    cli("report -q --dir %s%s%s", dir, "", "");
    char *html = read_all(tu_path(dir, "report.html"), NULL);
    static const struct {
        const char *name;
        int w, h;
    } sizes[] = {{"phone", 390, 844}, {"desktop", 1280, 900}};
    const char *shots = shots_dir();
    for (int i = 0; i < 2; i++) {
        char shot[4200];
        snprintf(shot, sizeof shot, "%s/report-%s-%dx%d.png", shots, sizes[i].name, sizes[i].w, sizes[i].h);
        page_check c = render(dir, html, sizes[i].w, sizes[i].h, shot);
        const char *n = sizes[i].name;
        /* the iframe is the viewport: exactly the width asked for */
        cr_assert_eq(c.inner, sizes[i].w, "%s: the viewport is %ld px wide, not %d", n, c.inner, sizes[i].w);
        cr_assert(!too_wide(&c), "%s: the page is %ld px wide in a %ld px viewport (see %s)", n, c.scroll, c.client,
                  shot);
        /* 3 SVG plots and the encoding montage, all loaded and drawn */
        cr_assert_eq(c.imgs, 4, "%s: %d figures, expected 4", n, c.imgs);
        cr_assert_eq(c.broken, 0, "%s: %d of %d figures did not load or have no size (see %s)", n, c.broken, c.imgs,
                     shot);
        cr_assert_eq(c.flat, 0, "%s: %d inline SVGs have no size", n, c.flat);
        /* text and ink: the report's first screen holds its title, contents,
         * findings and tables; at least 1% of its pixels are not background */
        cr_assert(c.text > 500, "%s: only %ld characters of text", n, c.text);
        cr_assert_eq(c.shot_w, sizes[i].w, "%s: screenshot %d px wide", n, c.shot_w);
        cr_assert_eq(c.shot_h, sizes[i].h, "%s: screenshot %d px high", n, c.shot_h);
        cr_assert(c.shot_ink > 0.01, "%s: the screenshot is nearly blank (%.4f%% ink, see %s)", n, 100 * c.shot_ink,
                  shot);
    }
    free(html);
    tu_rmtree(dir);
}

/* --- the checker, on pages made to fail ---------------------------------------------- */

static page_check render_page(const char *page_html, const char *name)
{
    char *dir = tu_scratch_dir();
    char shot[4200];
    snprintf(shot, sizeof shot, "%s/%s.png", dir, name);
    page_check c = render(dir, page_html, 390, 844, shot);
    tu_rmtree(dir);
    return c;
}

static const char good_text[] = "<!DOCTYPE html><html><head><meta name=\"viewport\" "
                                "content=\"width=device-width, initial-scale=1\"></head><body><h1>A heading</h1>"
                                "<p>Some text that wraps within the viewport as a paragraph should.</p>";

Test(browser, checker_detects_a_page_wider_than_the_viewport, .timeout = 90)
{
    char page[1024];
    snprintf(page, sizeof page, "%s<div style=\"width:2000px;height:20px;background:#4e79a7\"></div></body></html>",
             good_text);
    page_check c = render_page(page, "wide");
    cr_assert(too_wide(&c), "a 2000 px element in a 390 px viewport went unnoticed (scroll %ld, client %ld)", c.scroll,
              c.client);
    cr_assert_geq(c.scroll, 2000);
    cr_assert_eq(c.broken, 0);
    cr_assert(!blank(&c), "the page has text");
    /* the same page with the element in a scrolling box passes */
    snprintf(page, sizeof page,
             "%s<div style=\"overflow-x:auto\"><div style=\"width:2000px;height:20px;background:#4e79a7\"></div></div>"
             "</body></html>",
             good_text);
    c = render_page(page, "scroll-box");
    cr_assert(!too_wide(&c), "a scrolling box widened the page (scroll %ld, client %ld)", c.scroll, c.client);
}

Test(browser, checker_detects_a_broken_image_and_a_flat_svg, .timeout = 90)
{
    char page[1024];
    /* a data: URI that is not a PNG, and an inline SVG of zero width */
    snprintf(page, sizeof page,
             "%s<img src=\"data:image/png;base64,AAAAAAAA\" alt=\"broken\">"
             "<svg width=\"0\" height=\"40\"><rect width=\"10\" height=\"10\"/></svg></body></html>",
             good_text);
    page_check c = render_page(page, "broken");
    cr_assert_eq(c.imgs, 1);
    cr_assert_eq(c.broken, 1, "the broken image went unnoticed");
    cr_assert_eq(c.svgs, 1);
    cr_assert_eq(c.flat, 1, "the zero-width SVG went unnoticed");
    cr_assert(!too_wide(&c));
}

Test(browser, checker_detects_a_blank_page, .timeout = 90)
{
    page_check c = render_page("<!DOCTYPE html><html><head></head><body></body></html>", "blank");
    cr_assert(blank(&c), "a blank page went unnoticed (%ld characters, %.4f%% ink)", c.text, 100 * c.shot_ink);
    cr_assert_eq(c.text, 0);
    cr_assert_eq(c.shot_ink, 0, "a blank page's screenshot is one colour");
    /* and a page with text is not blank */
    char page[1024];
    snprintf(page, sizeof page, "%s</body></html>", good_text);
    c = render_page(page, "text");
    cr_assert(!blank(&c), "a page with text counted as blank (%ld characters, %.4f%% ink)", c.text, 100 * c.shot_ink);
}
