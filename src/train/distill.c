/* The teacher of knowledge distillation: its logits for the train records
 * of a dataset, from a relmask model file or a predictions file. */
#include "train/distill.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file_schema.h"
#include "core/h5util.h"
#include "nn/model_file.h"
#include "train/train.h"

uint64_t rm_fnv1a(uint64_t hash, const void *data, size_t n)
{
    const uint8_t *b = data;
    for (size_t i = 0; i < n; i++) hash = (hash ^ b[i]) * 0x100000001b3ULL;
    return hash;
}

/* The row map and the one [train, K] allocation, every value NaN ("not
 * covered yet"). */
static int allocate(rm_teacher *t, const rm_dataset *ds)
{
    t->num_classes = ds->num_classes;
    t->count = ds->count;
    t->train = 0;
    t->row = rm_malloc(sizeof *t->row * (ds->count ? ds->count : 1), "teacher record map");
    if (!t->row) return -1;
    for (size_t r = 0; r < ds->count; r++) t->row[r] = ds->split[r] == RM_SPLIT_TRAIN ? (int64_t)t->train++ : -1;
    if (t->train == 0) return rm_error("%s: the train split is empty", ds->path);
    size_t n = t->train * (size_t)t->num_classes;
    t->logits = rm_malloc(sizeof *t->logits * n, "teacher logits");
    if (!t->logits) return -1;
    for (size_t i = 0; i < n; i++) t->logits[i] = NAN;
    return 0;
}

/* The model runs over every record, as `relmask predict` does by default,
 * so that its predictions file holds the very same logits (oneDNN's result
 * for a record can depend on the batch it is in); the train rows are kept. */
static int from_model(rm_teacher *t, const char *source, const char *data_path, int batch)
{
    rm_inference inf;
    int rc = rm_inference_run(&inf, source, data_path, -1, batch, 1);
    if (rc == 0 && (size_t)inf.count != t->count)
        rc = rm_error("%s: the model ran over %lld records of %s, expected %zu", source, (long long)inf.count,
                      data_path, t->count);
    for (int64_t i = 0; rc == 0 && i < inf.count; i++) {
        int64_t row = t->row[inf.indices[i]];
        if (row < 0) continue;
        memcpy(t->logits + (size_t)row * t->num_classes, inf.logits + (size_t)i * t->num_classes,
               sizeof(float) * (size_t)t->num_classes);
    }
    if (rc == 0) rm_model_fingerprint(t->source_fingerprint, &inf.model);
    rm_inference_free(&inf);
    return rc;
}

/* The dims of dataset `name` of rank `rank`. */
static int dims_of(hid_t f, const char *path, const char *name, int rank, hsize_t *dims)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return rm_error("%s: missing dataset %s", path, name);
    hid_t space = H5Dget_space(d);
    int got = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (got == rank && H5Sget_simple_extent_dims(space, dims, NULL) < 0) got = -1;
    if (space >= 0) H5Sclose(space);
    H5Dclose(d);
    return got == rank ? 0 : rm_error("%s: %s has rank %d, expected %d", path, name, got, rank);
}

static int read_all(hid_t f, const char *path, const char *name, hid_t type, void *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return rm_error("%s: missing dataset %s", path, name);
    int rc = H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0 ? rm_h5_error("%s: reading %s", path, name) : 0;
    H5Dclose(d);
    return rc;
}

/* Class names (when stored) and data_fingerprint (when stored) against the dataset. */
static int check_attrs(hid_t f, const char *source, const rm_dataset *ds)
{
    int64_t version = RM_PREDICTIONS_SCHEMA_VERSION;
    if (rm_h5_attr_exists(f, "schema_version")) RM_TRY(rm_h5_attr_get_int(f, "schema_version", &version));
    if (version != RM_PREDICTIONS_SCHEMA_VERSION)
        return rm_error("%s: predictions schema version %lld is not supported (this relmask reads %d)", source,
                        (long long)version, RM_PREDICTIONS_SCHEMA_VERSION);
    int rc = 0;
    if (rm_h5_attr_exists(f, "class_names")) {
        int n = 0;
        char **names = NULL;
        RM_TRY(rm_h5_attr_get_strings(f, "class_names", &n, &names));
        if (n != ds->num_classes)
            rc = rm_error("%s has %d class names but %s has %d classes", source, n, ds->path, ds->num_classes);
        for (int i = 0; rc == 0 && i < n; i++)
            if (strcmp(names[i], ds->class_names[i]) != 0)
                rc = rm_error("%s names class %d '%s' but %s names it '%s'", source, i, names[i], ds->path,
                              ds->class_names[i]);
        rm_h5_free_strings(n, names);
        RM_TRY(rc);
    }
    if (rm_h5_attr_exists(f, "data_fingerprint")) {
        char *fp = NULL, want[17];
        RM_TRY(rm_h5_attr_get_string(f, "data_fingerprint", &fp));
        rm_dataset_fingerprint(want, (int64_t)ds->count, ds->channels, ds->height, ds->width, ds->labels, ds->split);
        if (fp && strcmp(fp, want) != 0)
            rc = rm_error("%s was made from another dataset than %s (data_fingerprint %s, the dataset's is %s)",
                          source, ds->path, fp, want);
        free(fp);
    }
    return rc;
}

static int from_predictions(rm_teacher *t, const char *source, const rm_dataset *ds)
{
    hid_t f = rm_h5_open_read(source, "a relmask.predictions file");
    if (f < 0) return -1;
    int k = t->num_classes, rc = check_attrs(f, source, ds);
    int use_logits = rc == 0 ? H5Lexists(f, "logits", H5P_DEFAULT) > 0 : 0;
    const char *values = use_logits ? "/logits" : "/probabilities";
    hsize_t nk[2] = {0, 0}, n[1] = {0};
    if (rc == 0) rc = dims_of(f, source, "/indices", 1, n);
    if (rc == 0) rc = dims_of(f, source, values, 2, nk);
    if (rc == 0 && nk[0] != n[0])
        rc = rm_error("%s: %s has %llu rows but /indices %llu", source, values, (unsigned long long)nk[0],
                      (unsigned long long)n[0]);
    if (rc == 0 && nk[1] != (hsize_t)k)
        rc = rm_error("%s holds %llu classes (%s) but %s has %d classes", source, (unsigned long long)nk[1], values,
                      ds->path, k);
    size_t rows = rc == 0 ? (size_t)n[0] : 0;
    int64_t *indices = rc == 0 ? rm_malloc(sizeof *indices * (rows ? rows : 1), "prediction indices") : NULL;
    float *v = rc == 0 ? rm_malloc(sizeof *v * (rows ? rows : 1) * (size_t)k, "predictions") : NULL;
    if (rc == 0 && (!indices || !v)) rc = -1;
    if (rc == 0 && rows) rc = read_all(f, source, "/indices", H5T_NATIVE_INT64, indices);
    if (rc == 0 && rows) rc = read_all(f, source, values, H5T_NATIVE_FLOAT, v);
    H5Fclose(f);
    if (rc == 0) {
        uint64_t h = rm_fnv1a(0xcbf29ce484222325ULL, indices, sizeof *indices * rows);
        h = rm_fnv1a(h, v, sizeof *v * rows * (size_t)k);
        snprintf(t->source_fingerprint, sizeof t->source_fingerprint, "%016llx", (unsigned long long)h);
    }
    for (size_t i = 0; rc == 0 && i < rows; i++) {
        int64_t r = indices[i];
        if (r < 0 || (size_t)r >= ds->count) {
            rc = rm_error("%s: /indices[%zu] = %lld is not a record of %s (0..%zu)", source, i, (long long)r,
                          ds->path, ds->count - 1);
            break;
        }
        if (t->row[r] < 0) continue;   /* val/test records: not needed */
        float *dst = t->logits + (size_t)t->row[r] * k;
        const float *src = v + i * (size_t)k;
        if (!isnan(dst[0])) {
            rc = rm_error("%s: record %lld appears twice in /indices", source, (long long)r);
            break;
        }
        double total = 0;
        for (int j = 0; j < k && rc == 0; j++) {
            if (use_logits ? !isfinite(src[j]) : !(src[j] >= 0 && src[j] <= 1))
                rc = rm_error("%s: record %lld has %s %g for class %d; expected %s", source, (long long)r, values,
                              (double)src[j], j, use_logits ? "a finite logit" : "a probability in [0, 1]");
            total += src[j];
        }
        if (rc == 0 && !use_logits && !(total > 0))
            rc = rm_error("%s: record %lld has probabilities summing to 0", source, (long long)r);
        /* log p: the logits up to a constant per row, which softmax ignores */
        for (int j = 0; j < k && rc == 0; j++) dst[j] = use_logits ? src[j] : (float)log((double)src[j]);
    }
    for (size_t r = 0; rc == 0 && r < ds->count; r++)
        if (t->row[r] >= 0 && isnan(t->logits[(size_t)t->row[r] * k]))
            rc = rm_error("%s does not cover train record %zu of %s (every train record needs a row in /indices)",
                          source, r, ds->path);
    free(indices);
    free(v);
    return rc;
}

int rm_teacher_load(rm_teacher *t, const char *source, const char *data_path, const rm_dataset *ds, int batch)
{
    memset(t, 0, sizeof *t);
    char *schema = NULL;
    int rc = rm_file_schema(source, &schema);
    if (rc == 0) rc = allocate(t, ds);
    if (rc == 0 && !strcmp(schema, RM_MODEL_SCHEMA)) {
        t->kind = "model";
        rc = from_model(t, source, data_path, batch);
    } else if (rc == 0 && !strcmp(schema, RM_PREDICTIONS_SCHEMA)) {
        t->kind = "predictions";
        rc = from_predictions(t, source, ds);
    } else if (rc == 0) {
        rc = rm_error("%s holds a %s file; expected a model (%s) or predictions (%s)", source, schema,
                      RM_MODEL_SCHEMA, RM_PREDICTIONS_SCHEMA);
    }
    free(schema);
    if (rc == 0) {
        uint64_t h = rm_fnv1a(0xcbf29ce484222325ULL, t->logits, sizeof(float) * t->train * (size_t)t->num_classes);
        snprintf(t->targets_fingerprint, sizeof t->targets_fingerprint, "%016llx", (unsigned long long)h);
    }
    return rc == 0 ? 0 : rm_error_prefix("--distill");
}

void rm_teacher_free(rm_teacher *t)
{
    free(t->logits);
    free(t->row);
    memset(t, 0, sizeof *t);
}
