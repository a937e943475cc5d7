/* NPY ingester: an image array saved with numpy.save plus a 1-D label
 * array (the reader is core/npy.c). Images are uint8 or little-endian
 * float32/float64, shaped (N,H,W), (N,H,W,C) or (N,C,H,W) with C = 1 or 3,
 * and streamed one record at a time; record indices in messages are
 * 0-based, like the array indices. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/npy.h"
#include "ingest/ingest.h"
#include "ingest/sink.h"

/* --- the ingester ---------------------------------------------------------*/

typedef enum { LAYOUT_NHW, LAYOUT_NHWC, LAYOUT_NCHW } npy_layout;
static const char *const layout_names[] = {"NHW", "NHWC", "NCHW"};

static int image_shape(const rm_npy_file *f, npy_layout *layout, int *h, int *w, int *c)
{
    const size_t *s = f->shape;
    size_t hh, ww, cc = 1;
    if (f->ndims == 3) {
        *layout = LAYOUT_NHW;
        hh = s[1], ww = s[2];
    } else if (f->ndims == 4 && (s[3] == 1 || s[3] == 3)) {
        *layout = LAYOUT_NHWC;
        hh = s[1], ww = s[2], cc = s[3];
    } else if (f->ndims == 4 && (s[1] == 1 || s[1] == 3)) {
        *layout = LAYOUT_NCHW;
        hh = s[2], ww = s[3], cc = s[1];
    } else {
        char buf[160] = "";
        for (int i = 0; i < f->ndims; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%zu", i ? ", " : "",
                     s[i]);
        return rm_error("%s: NPY image shape (%s) is not (N,H,W), (N,H,W,C) or (N,C,H,W) "
                        "with C = 1 or 3", f->path, buf);
    }
    if (hh < 1 || ww < 1 || hh > RM_IMAGE_MAX_SIDE || ww > RM_IMAGE_MAX_SIDE)
        return rm_error("%s: image size %zux%zu in the NPY shape is out of range (1..%d)",
                        f->path, ww, hh, RM_IMAGE_MAX_SIDE);
    *h = (int)hh, *w = (int)ww, *c = (int)cc;
    return 0;
}

/* Converts one record to planar uint8. Returns 1 (with *bad_value set) for a
 * float outside [0, float_max] or not finite. */
static int convert_record(const rm_npy_file *f, npy_layout layout, const uint8_t *rec,
                          rm_image *img, double float_max, double *bad_value)
{
    size_t hw = (size_t)img->height * (size_t)img->width, n = hw * (size_t)img->channels;
    for (size_t i = 0; i < n; i++) {
        /* i walks the source order; dst is the planar [C,H,W] index. */
        size_t dst = layout == LAYOUT_NHWC ? (i % (size_t)img->channels) * hw +
                                                 i / (size_t)img->channels
                                           : i;
        double v = rm_npy_value(f, rec, i);
        if (f->kind == 'u') {
            img->pixels[dst] = (uint8_t)v;
            continue;
        }
        if (!(v >= 0 && v <= float_max)) {   /* also catches NaN */
            *bad_value = v;
            return 1;
        }
        img->pixels[dst] = (uint8_t)round(v * 255.0 / float_max);
    }
    return 0;
}

int rm_ingest_npy(const char *images_path, const rm_ingest_options *opt)
{
    if (!opt->labels_path)
        return rm_error("npy: --labels is required (the labels .npy matching %s)", images_path);
    double float_max = opt->float_max == 0 ? 1.0 : opt->float_max;
    if (!(float_max > 0) || isinf(float_max))
        return rm_error("npy: --float-max must be a positive number, got %g", opt->float_max);

    rm_npy_file im = {0}, lb = {0};
    int64_t *labels = NULL;
    uint8_t *rec = NULL;
    rm_image img = {0};
    rm_ingest_sink *sink = NULL;
    int rc = -1;
    npy_layout layout = LAYOUT_NHW;

    if (rm_npy_open_header(&im, images_path) != 0) goto done;
    if (!((im.kind == 'u' && im.itemsize == 1) || (im.kind == 'f' && im.itemsize >= 4))) {
        rm_error("%s: unsupported NPY dtype '%s' for images (expected '|u1', '<f4' or '<f8')",
                 im.path, im.descr);
        goto done;
    }
    if (image_shape(&im, &layout, &img.height, &img.width, &img.channels) != 0) goto done;
    if (im.count == 0) {
        rm_error("%s: the NPY array holds no images (shape starts with 0)", im.path);
        goto done;
    }
    if (rm_npy_open_header(&lb, opt->labels_path) != 0) goto done;
    if (lb.kind == 'f' || !(lb.ndims == 1 || (lb.ndims == 2 && lb.shape[1] == 1))) {
        rm_error("%s: labels must be a 1-D integer array, got dtype '%s' with %d dimension(s)",
                 lb.path, lb.descr, lb.ndims);
        goto done;
    }
    if (im.count != lb.count) {
        rm_error("%s has %zu images but %s has %zu labels", im.path, im.count, lb.path,
                 lb.count);
        goto done;
    }
    if (rm_npy_check_size(&im) != 0 || rm_npy_check_size(&lb) != 0) goto done;
    if (rm_npy_read_ints(&lb, &labels) != 0) goto done;

    int64_t max_label = -1;
    for (size_t i = 0; i < lb.count; i++)
        if (labels[i] < RM_MAX_CLASSES && labels[i] > max_label) max_label = labels[i];
    int num_classes = rm_classes_count(opt, max_label < 0 ? 1 : (int)max_label + 1);
    if (num_classes < 1 || num_classes > RM_MAX_CLASSES) {
        rm_error("npy: --classes gives %d classes, expected 1..%d", num_classes, RM_MAX_CLASSES);
        goto done;
    }
    if (!(rec = rm_malloc(im.record_bytes, "an NPY record"))) goto done;
    if (!(img.pixels = rm_malloc(im.record_bytes / (size_t)im.itemsize, "an NPY image")))
        goto done;
    if (rm_sink_open(&sink, opt, "npy", images_path, img.width, img.height, RM_LABELS_NUMBERED, num_classes,
                     NULL) != 0) {
        sink = NULL;
        goto done;
    }
    if (rm_sink_param(sink, "labels", "%s", opt->labels_path) != 0 ||
        rm_sink_param(sink, "dtype", "%s", im.descr) != 0 ||
        rm_sink_param(sink, "layout", "%s", layout_names[layout]) != 0 ||
        (im.kind == 'f' && rm_sink_param(sink, "float_max", "%g", float_max) != 0))
        goto done;

    for (size_t i = 0; i < im.count; i++) {
        if (rm_npy_read_record(&im, rec, i) != 0) goto done;
        if (labels[i] < 0 || labels[i] >= num_classes) {
            if (rm_sink_bad(sink, "%s: record %zu: label %" PRId64 " out of range 0..%d",
                            lb.path, i, labels[i], num_classes - 1) != 0)
                goto done;
            continue;
        }
        double bad;
        if (convert_record(&im, layout, rec, &img, float_max, &bad)) {
            if (rm_sink_bad(sink, "%s: record %zu: pixel value %g outside [0, %g]", im.path, i,
                            bad, float_max) != 0)
                goto done;
            continue;
        }
        char source[512];
        const char *base = strrchr(im.path, '/');
        snprintf(source, sizeof source, "%s:%zu", base ? base + 1 : im.path, i);
        if (rm_sink_add(sink, &img, (int32_t)labels[i], RM_SPLIT_UNASSIGNED, source) != 0) goto done;
    }
    if (fgetc(im.fp) != EOF)
        rm_warn("%s: ignoring data after the %zu records the NPY shape declares", im.path,
                im.count);
    rc = rm_sink_finish(sink);
    sink = NULL;   /* finish frees the sink, also on failure */

done:
    if (sink) rm_sink_abort(sink);
    rm_npy_close(&im);
    rm_npy_close(&lb);
    free(labels);
    free(rec);
    free(img.pixels);
    return rc;
}
