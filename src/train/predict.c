/* relmask predict: a model's logits, probabilities and predicted classes
 * for every record of a split, schema relmask.predictions v1. */
#include "train/predict.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/argmax.h"
#include "core/error.h"
#include "core/h5util.h"
#include "core/output.h"
#include "core/ranks.h"
#include "core/version.h"
#include "train/train.h"

void rm_predict_config_defaults(rm_predict_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->split = -1;
    cfg->batch = 256;
}

/* Softmax of each row (k <= RM_MAX_CLASSES, checked when the model loads). */
static void softmax_rows(const float *z, float *p, int64_t n, int k)
{
    double row[RM_MAX_CLASSES];
    for (int64_t i = 0; i < n; i++) {
        rm_softmax_row(z + (size_t)i * k, k, row);
        for (int j = 0; j < k; j++) p[(size_t)i * k + j] = (float)row[j];
    }
}

static int write_arrays(hid_t f, const rm_inference *inf, const float *probs, const int32_t *pred)
{
    hsize_t nk[2] = {(hsize_t)inf->count, (hsize_t)inf->model.num_classes}, n = (hsize_t)inf->count;
    RM_TRY(rm_h5_write_dataset(f, "/logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, nk, inf->logits));
    RM_TRY(rm_h5_write_dataset(f, "/probabilities", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, nk, probs));
    RM_TRY(rm_h5_write_dataset(f, "/predicted", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &n, pred));
    RM_TRY(rm_h5_write_dataset(f, "/labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &n, inf->labels));   /* -1: unlabeled */
    return rm_h5_write_dataset(f, "/indices", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, inf->indices);
}

static int write_attrs(hid_t f, const rm_predict_config *c, const rm_inference *inf)
{
    char created[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const rm_model *m = &inf->model;
    RM_TRY(rm_h5_attr_set_string(f, "schema", RM_PREDICTIONS_SCHEMA));
    RM_TRY(rm_h5_attr_set_int(f, "schema_version", RM_PREDICTIONS_SCHEMA_VERSION));
    RM_TRY(rm_h5_attr_set_string(f, "tool_version", rm_version_string()));
    RM_TRY(rm_h5_attr_set_string(f, "created", created));
    RM_TRY(rm_h5_attr_set_string(f, "command_line", c->command_line ? c->command_line : ""));
    RM_TRY(rm_h5_attr_set_string(f, "model_path", c->model_path));
    RM_TRY(rm_h5_attr_set_string(f, "model_net_name", inf->net_name));
    RM_TRY(rm_h5_attr_set_string(f, "model_dataset_fingerprint", m->dataset_fingerprint));
    RM_TRY(rm_h5_attr_set_string(f, "data_path", c->data_path));
    RM_TRY(rm_h5_attr_set_string(f, "data_fingerprint", inf->data_fingerprint));
    RM_TRY(rm_h5_attr_set_string(f, "split", rm_split_label(c->split)));
    if (*inf->resize) RM_TRY(rm_h5_attr_set_string(f, "resize", inf->resize));
    RM_TRY(rm_h5_attr_set_int(f, "num_classes", m->num_classes));
    if (inf->unlabeled) RM_TRY(rm_h5_attr_set_int(f, "unlabeled", 1));
    return rm_h5_attr_set_strings(f, "class_names", m->num_classes, (const char *const *)m->class_names);
}

static int write_predictions(rm_output *out, const rm_predict_config *c, const rm_inference *inf)
{
    size_t n = (size_t)inf->count, k = (size_t)inf->model.num_classes;
    float *probs = rm_malloc(sizeof *probs * n * k, "probabilities");
    int32_t *pred = rm_malloc(sizeof *pred * n, "predictions");
    int rc = probs && pred ? 0 : -1;
    hid_t f = -1;
    if (rc == 0) {
        softmax_rows(inf->logits, probs, inf->count, (int)k);
        for (size_t i = 0; i < n; i++) pred[i] = rm_argmax(inf->logits + i * k, (int)k);
        f = H5Fcreate(out->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (f < 0) rc = rm_h5_error("cannot create %s", out->tmp_path);
    }
    if (rc == 0) rc = write_attrs(f, c, inf);
    if (rc == 0) rc = write_arrays(f, inf, probs, pred);
    if (f >= 0 && H5Fclose(f) < 0 && rc == 0) rc = rm_h5_error("closing the file failed (disk full?)");
    free(probs);
    free(pred);
    if (rc != 0) return rm_error_prefix("%s", c->out_path);
    return rm_output_commit(out);
}

int rm_predict(const rm_predict_config *c)
{
    if (!c->model_path || !c->data_path || !c->out_path)
        return rm_error("predict: a model, a dataset and an output file are needed");
    rm_h5_init();
    /* Under mpirun every rank explains its share and holds every logit
     * afterwards (rm_inference_run); rank 0 writes the file. */
    const int writer = rm_ranks_rank() == 0;
    rm_output out = {.slot = -1};
    RM_TRY(rm_ranks_agree(writer ? rm_output_begin(&out, c->out_path, c->force) : 0));
    rm_inference inf;
    rm_inference_options opt = {.split = c->split, .batch = c->batch, .want_logits = 1, .allow_unlabeled = 1,
                                .resize = c->resize};
    int rc = rm_ranks_agree(rm_inference_run_with(&inf, c->model_path, c->data_path, &opt));
    if (rc == 0 && writer) rc = write_predictions(&out, c, &inf);
    rc = rm_ranks_agree(rc);
    if (rc != 0 && writer) rm_output_abort(&out);
    if (rc == 0 && inf.unlabeled)
        rm_log("%s: %lld predictions of unlabeled records (no accuracy: no labels)", c->out_path,
               (long long)inf.count);
    else if (rc == 0)
        rm_log("%s: %lld predictions, accuracy %.4f", c->out_path, (long long)inf.count, inf.result.accuracy);
    rm_inference_free(&inf);
    return rc;
}

/* --- reading a predictions file (relmask info) ------------------------------ */

static int dataset_dims(hid_t f, const char *name, int want_rank, hsize_t *dims)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return rm_error("missing dataset /%s", name);
    hid_t space = H5Dget_space(d);
    int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (rank == want_rank && H5Sget_simple_extent_dims(space, dims, NULL) < 0) rank = -1;
    if (space >= 0) H5Sclose(space);
    H5Dclose(d);
    return rank == want_rank ? 0 : rm_error("/%s has rank %d, expected %d", name, rank, want_rank);
}

static int read_i32(hid_t f, const char *name, int32_t *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return rm_error("missing dataset /%s", name);
    int rc = H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0 ? rm_h5_error("reading /%s", name) : 0;
    H5Dclose(d);
    return rc;
}

/* Shapes, the split and the accuracy of /predicted against /labels. */
static int summarize(hid_t f, rm_predictions_summary *s)
{
    hsize_t nk[2], n[1];
    RM_TRY(dataset_dims(f, "logits", 2, nk));
    RM_TRY(dataset_dims(f, "predicted", 1, n));
    if (n[0] != nk[0]) return rm_error("/predicted has %llu records but /logits %llu", (unsigned long long)n[0],
                                       (unsigned long long)nk[0]);
    s->count = (long long)n[0];
    s->classes = (long long)nk[1];
    RM_TRY(rm_h5_attr_get_string(f, "split", &s->split));
    RM_TRY(rm_h5_attr_get_strings(f, "class_names", &s->num_classes, &s->class_names));
    int32_t *pred = rm_malloc(sizeof *pred * (size_t)(n[0] ? n[0] : 1), "predictions");
    int32_t *labels = rm_malloc(sizeof *labels * (size_t)(n[0] ? n[0] : 1), "labels");
    int rc = pred && labels ? 0 : -1;
    if (rc == 0 && n[0]) rc = read_i32(f, "predicted", pred);
    if (rc == 0 && n[0]) rc = read_i32(f, "labels", labels);
    for (hsize_t i = 0; rc == 0 && i < n[0]; i++) {
        s->labeled += labels[i] >= 0;
        s->correct += labels[i] >= 0 && pred[i] == labels[i];
    }
    free(pred);
    free(labels);
    return rc;
}

int rm_predictions_summarize(const char *path, rm_predictions_summary *s)
{
    memset(s, 0, sizeof *s);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return rm_h5_error("%s: cannot open HDF5 file", path);
    int64_t version = 0;
    int rc = rm_h5_attr_get_int(f, "schema_version", &version);
    if (rc == 0 && version != RM_PREDICTIONS_SCHEMA_VERSION)
        rc = rm_error("predictions schema version %lld is not supported (this relmask reads %d)", (long long)version,
                      RM_PREDICTIONS_SCHEMA_VERSION);
    if (rc == 0) rc = summarize(f, s);
    H5Fclose(f);
    if (rc != 0) {
        rm_predictions_summary_free(s);
        return rm_error_prefix("%s", path);
    }
    return 0;
}

void rm_predictions_summary_free(rm_predictions_summary *s)
{
    free(s->split);
    rm_h5_free_strings(s->num_classes, s->class_names);
    memset(s, 0, sizeof *s);
}
