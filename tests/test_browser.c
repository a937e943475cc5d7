/* The browser suite: report.html, written by the real `relmask report` on a
 * miniature experiment, rendered by headless Chromium at a phone width
 * (390x844) and a desktop width (1280x900). A page fails when it is blank,
 * when a figure does not load or has no size, or when its layout is wider
 * than the viewport (docs/report.md, "Checked in a browser").
 *
 * How: each page goes into the srcdoc of an iframe exactly W x H CSS
 * pixels in a scratch harness page, side by side (headless Chromium lays a
 * window out at least 500 px wide, so the iframe is what gives a true
 * 390 px viewport). A small script in the harness, after the load event,
 * measures each iframe's document and writes one line per page into the
 * harness's DOM, which `chromium --dump-dom` prints; the same call takes a
 * screenshot, whose part for each page libpng reads to tell a blank page.
 * One Chromium call per test (each takes seconds). The screenshots of the
 * report stay in $RELMASK_ROOT/results/browser-check/ for a person to look
 * at. The checker itself is tested on pages made to fail: too wide, a
 * broken image, a flat SVG, blank.
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
    double ink;                   /* the page's share of screenshot pixels unlike its top-left one: 0 = one colour */
} page_check;

typedef struct {
    const char *html;
    int w, h;                     /* the viewport, CSS px */
    const char *shot;             /* where to keep the page's screenshot, or NULL */
} page_spec;

/* After the load event (which waits for every iframe and its images), one
 * line per page into the harness's DOM; the marker is assembled so that
 * the script's own text does not contain it. */
static const char check_script[] =
    "window.addEventListener('load', function () {\n"
    "  var frames = document.getElementsByTagName('iframe'), lines = [];\n"
    "  for (var k = 0; k < frames.length; k++) {\n"
    "    var w = frames[k].contentWindow, d = frames[k].contentDocument;\n"
    "    var e = d.documentElement, i, r, broken = 0, flat = 0, svgs = d.getElementsByTagName('svg');\n"
    "    for (i = 0; i < d.images.length; i++) {\n"
    "      r = d.images[i].getBoundingClientRect();\n"
    "      if (!d.images[i].complete || d.images[i].naturalWidth == 0 || r.width < 1 || r.height < 1) broken++;\n"
    "    }\n"
    "    for (i = 0; i < svgs.length; i++) {\n"
    "      r = svgs[i].getBoundingClientRect();\n"
    "      if (r.width < 1 || r.height < 1) flat++;\n"
    "    }\n"
    "    lines.push('RELMASK-' + 'CHECK page=' + k + ' scroll=' + e.scrollWidth + ' client=' + e.clientWidth +\n"
    "      ' inner=' + w.innerWidth + ' imgs=' + d.images.length + ' broken=' + broken + ' svgs=' + svgs.length +\n"
    "      ' flat=' + flat + ' text=' + (d.body ? d.body.innerText.trim().length : 0) + ' END');\n"
    "  }\n"
    "  var out = document.createElement('pre');\n"
    "  out.style.cssText = 'position:absolute;left:0;top:100000px';   /* out of the screenshot */\n"
    "  out.textContent = lines.join('\\n');\n"
    "  document.body.appendChild(out);\n"
    "});\n";

static char *read_all(const char *path)
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
    return buf;
}

static void require_chromium(void)
{
    cr_assert_eq(system("command -v chromium >/dev/null 2>&1"), 0,
                 "chromium is not installed: run `scripts/deps.sh --browser` as root (`make check` installs it)");
}

/* The harness: each page in the srcdoc (& and " escaped) of an iframe of
 * its size, side by side from the left, then the checking script. */
static void write_harness(const char *harness, const page_spec *pages, int n)
{
    FILE *f = fopen(harness, "w");
    cr_assert(f, "%s", harness);
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>html,body{margin:0;padding:0;overflow:hidden}"
          "iframe{border:0;display:block;position:absolute;top:0}</style></head>\n<body>\n",
          f);
    for (int i = 0, x = 0; i < n; x += pages[i].w, i++) {
        fprintf(f, "<iframe style=\"left:%dpx;width:%dpx;height:%dpx\" srcdoc=\"", x, pages[i].w, pages[i].h);
        for (const char *p = pages[i].html; *p; p++) {
            if (*p == '&') fputs("&amp;", f);
            else if (*p == '"') fputs("&quot;", f);
            else fputc(*p, f);
        }
        fputs("\"></iframe>\n", f);
    }
    fprintf(f, "<script>\n%s</script>\n</body></html>\n", check_script);
    cr_assert_eq(fclose(f), 0);
}

/* Each page's part of the screenshot: its share of pixels unlike its
 * top-left one, and a copy where the page asks for one. */
static void read_screenshot(const char *png, const page_spec *pages, int n, page_check *checks)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, png), "%s: not a PNG: %s", png, img.message);
    img.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    cr_assert(px);
    cr_assert(png_image_finish_read(&img, NULL, px, 0, NULL), "%s: %s", png, img.message);
    size_t stride = 3 * (size_t)img.width;
    for (int i = 0, x = 0; i < n; x += pages[i].w, i++) {
        cr_assert((int)img.width >= x + pages[i].w && (int)img.height >= pages[i].h,
                  "%s: the screenshot (%ux%u) does not cover page %d", png, img.width, img.height, i);
        const unsigned char *corner = px + 3 * (size_t)x;
        size_t differ = 0;
        for (int r = 0; r < pages[i].h; r++)
            for (int c = 0; c < pages[i].w; c++) differ += memcmp(corner + r * stride + 3 * (size_t)c, corner, 3) != 0;
        checks[i].ink = (double)differ / ((double)pages[i].w * pages[i].h);
        if (pages[i].shot) {
            png_image out;
            memset(&out, 0, sizeof out);
            out.version = PNG_IMAGE_VERSION;
            out.width = (png_uint_32)pages[i].w, out.height = (png_uint_32)pages[i].h, out.format = PNG_FORMAT_RGB;
            cr_assert(png_image_write_to_file(&out, pages[i].shot, 0, corner, (png_int_32)stride, NULL), "%s: %s",
                      pages[i].shot, out.message);
        }
    }
    free(px);
    png_image_free(&img);
}

/* Renders the pages side by side in one headless Chromium call. Fails
 * (with Chromium's stderr) when Chromium fails or a page's line is
 * missing. */
static void render(const char *scratch, const page_spec *pages, int n, page_check *checks)
{
    require_chromium();
    char harness[4096], out[4096], err[4096], profile[4096], shot[4096], cmd[26000];
    snprintf(harness, sizeof harness, "%s/harness.html", scratch);
    snprintf(out, sizeof out, "%s/dom.txt", scratch);
    snprintf(err, sizeof err, "%s/chromium.log", scratch);
    snprintf(profile, sizeof profile, "%s/chromium-profile", scratch);
    snprintf(shot, sizeof shot, "%s/screenshot.png", scratch);
    write_harness(harness, pages, n);
    int w = 0, h = 0;
    for (int i = 0; i < n; i++) w += pages[i].w, h = pages[i].h > h ? pages[i].h : h;
    /* --no-sandbox: Chromium refuses to run as root with its sandbox */
    snprintf(cmd, sizeof cmd,
             "timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir='%s' --no-first-run "
             "--no-default-browser-check --disable-extensions --disable-background-networking --disable-sync "
             "--disable-component-update --mute-audio --window-size=%d,%d --dump-dom --screenshot='%s' "
             "'file://%s' >'%s' 2>'%s'",
             profile, w, h, shot, harness, out, err);
    int rc = system(cmd);
    char *log = read_all(err);
    size_t loglen = strlen(log);
    const char *tail = log + (loglen > 3000 ? loglen - 3000 : 0);
    cr_assert_eq(rc, 0, "chromium exited with status %d (124: timed out after 60 s); its stderr:\n%s", rc, tail);
    char *dom = read_all(out);
    for (int i = 0; i < n; i++) {
        char marker[64];
        snprintf(marker, sizeof marker, "RELMASK-CHECK page=%d ", i);
        const char *line = strstr(dom, marker);
        cr_assert(line, "the checking script wrote nothing for page %d (it did not load?); chromium's stderr:\n%s", i,
                  tail);
        page_check *c = &checks[i];
        int got = sscanf(line + strlen(marker), "scroll=%ld client=%ld inner=%ld imgs=%d broken=%d svgs=%d flat=%d text=%ld",
                         &c->scroll, &c->client, &c->inner, &c->imgs, &c->broken, &c->svgs, &c->flat, &c->text);
        cr_assert_eq(got, 8, "cannot parse the checking script's line: %.200s", line);
        /* the iframe is the viewport: exactly the width asked for */
        cr_assert_eq(c->inner, pages[i].w, "page %d: the viewport is %ld px wide, not %d", i, c->inner, pages[i].w);
    }
    read_screenshot(shot, pages, n, checks);
    free(dom), free(log);
}

/* The checks a good page passes. */
static int too_wide(const page_check *c) { return c->scroll > c->client; }
static int blank(const page_check *c) { return c->text == 0 || c->ink == 0; }

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
    char *html = read_all(tu_path(dir, "report.html"));
    const char *shots = shots_dir();
    char phone[4200], desktop[4200];
    snprintf(phone, sizeof phone, "%s/report-phone-390x844.png", shots);
    snprintf(desktop, sizeof desktop, "%s/report-desktop-1280x900.png", shots);
    remove(phone), remove(desktop);
    const page_spec pages[] = {{html, 390, 844, phone}, {html, 1280, 900, desktop}};
    const char *const names[] = {"phone", "desktop"};
    page_check checks[2];
    render(dir, pages, 2, checks);
    for (int i = 0; i < 2; i++) {
        const page_check *c = &checks[i];
        const char *n = names[i], *shot = pages[i].shot;
        cr_assert(!too_wide(c), "%s: the page is %ld px wide in a %ld px viewport (see %s)", n, c->scroll, c->client,
                  shot);
        /* 3 SVG plots and the encoding montage, all loaded and drawn */
        cr_assert_eq(c->imgs, 4, "%s: %d figures, expected 4", n, c->imgs);
        cr_assert_eq(c->broken, 0, "%s: %d of %d figures did not load or have no size (see %s)", n, c->broken, c->imgs,
                     shot);
        cr_assert_eq(c->flat, 0, "%s: %d inline SVGs have no size", n, c->flat);
        /* text and ink: the report's first screen holds its title, contents,
         * findings and tables; at least 1% of its pixels are not background */
        cr_assert(c->text > 500, "%s: only %ld characters of text", n, c->text);
        cr_assert(c->ink > 0.01, "%s: the screenshot is nearly blank (%.4f%% ink, see %s)", n, 100 * c->ink, shot);
        cr_assert(tu_file_exists(shot), "%s", shot);
    }
    free(html);
    tu_rmtree(dir);
}

/* --- the checker, on pages made to fail ---------------------------------------------- */

#define GOOD_TEXT                                                                                                    \
    "<!DOCTYPE html><html><head><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>"      \
    "<body><h1>A heading</h1><p>Some text that wraps within the viewport as a paragraph should.</p>"

/* One Chromium call renders all five pages at the phone size. */
Test(browser, checker_detects_wide_broken_and_blank_pages, .timeout = 90)
{
    static const char wide[] = GOOD_TEXT "<div style=\"width:2000px;height:20px;background:#4e79a7\"></div></body></html>";
    static const char boxed[] = GOOD_TEXT "<div style=\"overflow-x:auto\"><div style=\"width:2000px;height:20px;"
                                          "background:#4e79a7\"></div></div></body></html>";
    /* a data: URI that is not a PNG, and an inline SVG of zero width */
    static const char broken[] = GOOD_TEXT "<img src=\"data:image/png;base64,AAAAAAAA\" alt=\"broken\">"
                                           "<svg width=\"0\" height=\"40\"><rect width=\"10\" height=\"10\"/></svg>"
                                           "</body></html>";
    static const char empty[] = "<!DOCTYPE html><html><head></head><body></body></html>";
    static const char good[] = GOOD_TEXT "</body></html>";
    const page_spec pages[] = {{wide, 390, 844, NULL}, {boxed, 390, 844, NULL}, {broken, 390, 844, NULL},
                               {empty, 390, 844, NULL}, {good, 390, 844, NULL}};
    page_check c[5];
    char *dir = tu_scratch_dir();
    render(dir, pages, 5, c);
    tu_rmtree(dir);

    cr_assert(too_wide(&c[0]), "a 2000 px element in a 390 px viewport went unnoticed (scroll %ld, client %ld)",
              c[0].scroll, c[0].client);
    cr_assert_geq(c[0].scroll, 2000);
    cr_assert(!blank(&c[0]) && c[0].broken == 0, "only too wide");
    cr_assert(!too_wide(&c[1]), "a scrolling box widened the page (scroll %ld, client %ld)", c[1].scroll, c[1].client);

    cr_assert_eq(c[2].imgs, 1);
    cr_assert_eq(c[2].broken, 1, "the broken image went unnoticed");
    cr_assert_eq(c[2].svgs, 1);
    cr_assert_eq(c[2].flat, 1, "the zero-width SVG went unnoticed");
    cr_assert(!too_wide(&c[2]) && !blank(&c[2]), "only a broken image");

    cr_assert(blank(&c[3]), "a blank page went unnoticed (%ld characters, %.4f%% ink)", c[3].text, 100 * c[3].ink);
    cr_assert_eq(c[3].text, 0);
    cr_assert_eq(c[3].ink, 0, "a blank page's screenshot is one colour");

    cr_assert(!blank(&c[4]) && !too_wide(&c[4]) && c[4].broken == 0 && c[4].flat == 0,
              "a plain page with text failed (%ld characters, %.4f%% ink, scroll %ld, client %ld)", c[4].text,
              100 * c[4].ink, c[4].scroll, c[4].client);
}
