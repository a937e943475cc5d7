/* Importing external relevance into a relevance file (relevance_file.h),
 * so any attention source can drive encoding: heatmap images (method
 * "import-png"), NPY arrays ("import-npy"), HDF5 datasets ("import-hdf5")
 * and eye-tracking fixations turned into fixation density maps
 * ("import-fixations"). docs/relevance.md, "Importing external relevance",
 * has the exact formats.
 *
 * Every imported entry has explained = the dataset label, predicted = -1,
 * score = NaN (score_kind "none"). The file is written in blocks (memory
 * does not grow with the dataset) and renamed into place when complete; on
 * an error nothing is left behind. */
#ifndef RELMASK_RELEVANCE_IMPORT_H
#define RELMASK_RELEVANCE_IMPORT_H

#include <stdint.h>

typedef enum {
    RM_IMPORT_PNG = 0,
    RM_IMPORT_NPY = 1,
    RM_IMPORT_HDF5 = 2,
    RM_IMPORT_FIXATIONS = 3,
} rm_import_source;

typedef struct {
    rm_import_source source;
    const char *input;          /* PNG directory, .npy file, HDF5 file or fixation CSV */
    const char *data_path;      /* the dataset the maps belong to */
    const char *out_path;
    int force;
    int split;                  /* -1: all records, else RM_SPLIT_* */
    int deflate_level;          /* 0-9 (4) */
    int64_t block;              /* records per write (256) */
    const char *command_line;   /* provenance, may be NULL */

    /* PNG */
    const char *names_path;     /* CSV "index,filename" (NULL: <index>.png) */
    int png_signed;             /* 128 = zero: r = (v - 128) / 127, clamped at -1 */
    int allow_missing;          /* leave out records without a file */
    /* NPY / HDF5 */
    const char *hdf5_dataset;   /* the array's path in the HDF5 file */
    const char *indices_npy;    /* NPY: record index of each row (NULL: row = record) */
    const char *indices_dataset;/* HDF5: the same, a 1-D integer dataset in the file */
    /* fixations */
    int normalized;             /* x, y in [0, 1] instead of pixels */
    double sigma;               /* Gaussian sigma in pixels (0: width / 16) */
} rm_import_options;

void rm_import_options_defaults(rm_import_options *o);
/* The method name stored in the file: "import-png", ... */
const char *rm_import_method(rm_import_source source);
/* Imports the maps; logs a summary line (rm_log) when done. */
int rm_relevance_import(const rm_import_options *o);

/* One fixation in pixel coordinates (pixel (i, j) is centred at x = i,
 * y = j) with its weight (duration). */
typedef struct {
    double x, y, weight;
} rm_fixation;

/* Fixation density of one image: sum_f weight_f exp(-((x - x_f)^2 +
 * (y - y_f)^2) / (2 sigma^2)) at every pixel centre, divided by its sum
 * so that it sums to 1. out: [h,w]. Fails when the weights sum to 0. */
int rm_fixation_density(const rm_fixation *f, int64_t n, int h, int w, double sigma, float *out);

#endif
