/* The study's grid figure (rm_svg_grid): one cell per value, coloured on a
 * diverging scale centred on zero, labelled, escaped. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

Test(plot_grid, diverging_colours_are_white_at_zero_red_for_gains_blue_for_losses)
{
    char c[8];
    rm_plot_diverging(0, c);
    cr_assert_str_eq(c, "#ffffff");
    rm_plot_diverging(1, c);
    cr_assert_str_eq(c, "#b2182b");
    rm_plot_diverging(-1, c);
    cr_assert_str_eq(c, "#2166ac");
    rm_plot_diverging(5, c);
    cr_assert_str_eq(c, "#b2182b", "saturates");
    rm_plot_diverging(NAN, c);
    cr_assert_str_eq(c, "#d9d9d9");
    rm_plot_diverging(0.5, c); /* halfway from white to #b2182b */
    cr_assert_str_eq(c, "#d98c95");
}

Test(plot_grid, one_labelled_cell_per_value)
{
    const char *rows[] = {"100", "1000"}, *cols[] = {"keep 0.1", "keep <0.3>", "keep 0.6"};
    double v[] = {-2.0, 0.0, 4.0, NAN, 1.0, -4.0};
    rm_plot_grid g = {.title = "gain & loss", .xlabel = "kept fraction", .ylabel = "target images", .rows = 2,
                      .cols = 3, .row_labels = rows, .col_labels = cols, .values = v};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    cr_assert_eq(rm_svg_grid(f, &g), 0);
    fclose(f);
    cr_assert_eq(count(buf, "<rect "), 1 + 6, "a background and one rect per cell:\n%s", buf);
    cr_assert(strstr(buf, ">-2.0<") && strstr(buf, ">+4.0<") && strstr(buf, ">n/a<") && strstr(buf, ">+0.0<"), "%s", buf);
    cr_assert(strstr(buf, "fill=\"#b2182b\""), "the largest gain is saturated red:\n%s", buf);
    cr_assert(strstr(buf, "fill=\"#2166ac\""), "the largest loss is saturated blue:\n%s", buf);
    cr_assert(strstr(buf, "fill=\"#d9d9d9\""), "NaN is grey");
    cr_assert(strstr(buf, "gain &amp; loss") && strstr(buf, "keep &lt;0.3&gt;"), "labels are escaped:\n%s", buf);
    cr_assert_null(strstr(buf, "keep <0.3>"));
    free(buf);
}
