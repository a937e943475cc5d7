/* relmask predict --npy-in X.npy --npy-out P.npy: a relmask model behind
 * the NPY exchange of external models. */
#include "relevance/predict_npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/h5util.h"
#include "core/npy.h"
#include "core/output.h"
#include "nn/model_file.h"
#include "relevance/occlusion.h"

void rm_predict_npy_config_defaults(rm_predict_npy_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch = 256;
}

/* Reads the uint8 batch: (n, C, H, W), or (n, H, W) when C = 1. */
static int read_npy_images(const char *path, const rm_model *m, const char *model_path, uint8_t **images, int *n)
{
    const rm_shape *in = &m->def.input;
    rm_npy_file f;
    RM_TRY(rm_npy_open(&f, path));
    char shape[256];
    rm_npy_shape_text(&f, shape, sizeof shape);
    int rc = 0;
    int nchw = f.ndims == 4 && f.shape[1] == (size_t)in->c && f.shape[2] == (size_t)in->h &&
               f.shape[3] == (size_t)in->w;
    int nhw = f.ndims == 3 && in->c == 1 && f.shape[1] == (size_t)in->h && f.shape[2] == (size_t)in->w;
    if (f.kind != 'u' || f.itemsize != 1)
        rc = rm_error("%s: NPY dtype '%s', expected uint8 ('|u1') pixels 0..255", path, f.descr);
    else if (!nchw && !nhw)
        rc = rm_error("%s: NPY shape %s, but %s expects (n, %d, %d, %d) images (n, C, H, W)", path, shape,
                      model_path, in->c, in->h, in->w);
    else if (f.count > 1u << 30)
        rc = rm_error("%s: %zu images, at most %d per call", path, f.count, 1 << 30);
    if (rc == 0 && !(*images = rm_malloc(f.data_bytes ? f.data_bytes : 1, "the NPY images"))) rc = -1;
    if (rc == 0 && fread(*images, 1, f.data_bytes, f.fp) != f.data_bytes)
        rc = rm_error("%s: %s reading %zu bytes of pixels", path, ferror(f.fp) ? "read error" : "end of file",
                      f.data_bytes);
    *n = (int)f.count;
    rm_npy_close(&f);
    return rc;
}

int rm_predict_npy(const rm_predict_npy_config *c)
{
    if (!c->model_path || !c->in_path || !c->out_path)
        return rm_error("predict: a model, an NPY input and an NPY output file are needed");
    rm_h5_init();
    rm_model m;
    memset(&m, 0, sizeof m);
    uint8_t *images = NULL;
    float *probs = NULL;
    rm_predictor *p = NULL;
    int n = 0;
    rm_output out;
    int rc = rm_output_begin(&out, c->out_path, c->force);
    if (rc != 0) return -1;
    rc = rm_model_load(&m, c->model_path);
    if (rc == 0) rc = read_npy_images(c->in_path, &m, c->model_path, &images, &n);
    if (rc == 0 && !(probs = rm_malloc(sizeof *probs * ((size_t)n * m.num_classes + 1), "probabilities"))) rc = -1;
    if (rc == 0 && n > 0) rc = rm_predictor_from_model(&p, &m, n < c->batch ? n : c->batch);
    if (rc == 0) rc = rm_predictor_run(p, images, n, probs);
    size_t shape[2] = {(size_t)n, (size_t)m.num_classes};
    if (rc == 0) rc = rm_npy_write(out.tmp_path, "<f4", 2, shape, probs);
    if (rc == 0) rc = rm_output_commit(&out);
    else rm_output_abort(&out);
    if (rc == 0) rm_log("%s: %d predictions", c->out_path, n);
    rm_predictor_destroy(p);
    free(images);
    free(probs);
    rm_model_free(&m);
    return rc;
}
