/* Checks of the PNG figures written beside the SVG figures (report and
 * study): each SVG has a PNG of the same name, a valid PNG of the SVG's
 * width and height times RM_PLOT_PNG_SCALE, and not blank. */
#ifndef RELMASK_TESTS_PNG_CHECK_H
#define RELMASK_TESTS_PNG_CHECK_H

/* Asserts the PNG beside svg_path (".svg" -> ".png"): loads with libpng,
 * has the SVG's size times RM_PLOT_PNG_SCALE, and more than 1% of its
 * pixels differ from the white background. Returns that share. */
double pc_assert_png_beside(const char *svg_path);
/* pc_assert_png_beside for every *.svg in dir; returns how many. */
int pc_assert_png_beside_every_svg(const char *dir);

#endif
