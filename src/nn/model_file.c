#include "nn/model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/h5util.h"
#include "core/output.h"
#include "core/version.h"

static int add_tensor(rm_model *m, const char *key, int64_t count)
{
    void *grown = rm_realloc(m->tensors, (size_t)(m->num_tensors + 1) * sizeof *m->tensors, "model tensors");
    if (!grown) return -1;
    m->tensors = grown;
    rm_model_tensor *t = &m->tensors[m->num_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->key, sizeof t->key, "%s", key);
    t->count = count;
    t->data = rm_malloc(sizeof(float) * (size_t)count, "model tensor");
    if (!t->data) return -1;
    m->num_tensors++;
    return 0;
}

static float *find_tensor(const rm_model *m, const char *key, int64_t count)
{
    for (int i = 0; i < m->num_tensors; i++)
        if (!strcmp(m->tensors[i].key, key)) return m->tensors[i].count == count ? m->tensors[i].data : NULL;
    return NULL;
}

int rm_model_capture(rm_model *m, rm_net *net)
{
    for (int i = 0; i < net->num_layers; i++) {
        rm_layer *l = &net->layers[i];
        for (int p = 0; p < l->num_params; p++) {
            char key[64];
            snprintf(key, sizeof key, "%s/%s", l->def->name, l->params[p].name);
            int64_t count = rm_param_plain_count(&l->params[p]);
            float *dst = find_tensor(m, key, count);
            if (!dst) {
                RM_TRY(add_tensor(m, key, count));
                dst = m->tensors[m->num_tensors - 1].data;
            }
            RM_TRY(rm_net_param_read(net, &l->params[p], dst));
        }
    }
    return 0;
}

int rm_model_apply(const rm_model *m, rm_net *net)
{
    for (int i = 0; i < net->num_layers; i++) {
        rm_layer *l = &net->layers[i];
        for (int p = 0; p < l->num_params; p++) {
            char key[64];
            snprintf(key, sizeof key, "%s/%s", l->def->name, l->params[p].name);
            const float *src = find_tensor(m, key, rm_param_plain_count(&l->params[p]));
            if (!src) return rm_error("model has no parameter %s of %lld values", key,
                                      (long long)rm_param_plain_count(&l->params[p]));
            RM_TRY(rm_net_param_write(net, &l->params[p], src));
        }
    }
    return 0;
}

int rm_model_set_classes(rm_model *m, int count, char *const *names)
{
    m->class_names = rm_calloc((size_t)count, sizeof *m->class_names, "class names");
    if (!m->class_names) return -1;
    m->num_classes = count;
    for (int i = 0; i < count; i++)
        if (!(m->class_names[i] = rm_strdup(names[i]))) return -1;
    return 0;
}

void rm_dataset_fingerprint(char out[17], int64_t count, int c, int h, int w, const int32_t *labels,
                            const uint8_t *split)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    int64_t header[4] = {count, c, h, w};
    const uint8_t *parts[3] = {(const uint8_t *)header, (const uint8_t *)labels, split};
    size_t sizes[3] = {sizeof header, (size_t)count * sizeof *labels, (size_t)count};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < sizes[k]; i++) hash = (hash ^ parts[k][i]) * 0x100000001b3ULL;
    snprintf(out, 17, "%016llx", (unsigned long long)hash);
}

void rm_model_fingerprint(char out[17], const rm_model *m)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    const char *text = m->def.text ? m->def.text : "";
    for (const char *c = text; *c; c++) hash = (hash ^ (uint8_t)*c) * 0x100000001b3ULL;
    for (int t = 0; t < m->num_tensors; t++) {
        const rm_model_tensor *x = &m->tensors[t];
        for (const char *c = x->key; *c; c++) hash = (hash ^ (uint8_t)*c) * 0x100000001b3ULL;
        const uint8_t *bytes = (const uint8_t *)x->data;
        for (size_t i = 0; i < (size_t)x->count * sizeof(float); i++) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
    }
    for (int c = 0; c < m->channels; c++) {
        const uint8_t *mb = (const uint8_t *)&m->norm_mean[c], *sb = (const uint8_t *)&m->norm_std[c];
        for (size_t i = 0; i < sizeof(float); i++) hash = ((hash ^ mb[i]) * 0x100000001b3ULL ^ sb[i]) * 0x100000001b3ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)hash);
}

/* --- writing ------------------------------------------------------------ */

/* The plain dims of parameter `key` ("conv1/weight") from the definition. */
static int param_dims(const rm_model *m, const char *key, int64_t count, hsize_t *dims)
{
    char layer[64];
    snprintf(layer, sizeof layer, "%s", key);
    char *slash = strchr(layer, '/');
    if (slash) *slash = 0;
    const char *name = slash ? slash + 1 : "";
    for (int i = 0; i < m->def.num_layers; i++) {
        const rm_layer_def *d = &m->def.layers[i];
        if (strcmp(d->name, layer) != 0) continue;
        if (!strcmp(name, "weight") && d->type == RM_LAYER_CONV) {
            dims[0] = (hsize_t)d->filters, dims[1] = (hsize_t)(d->in.c / d->groups);
            dims[2] = dims[3] = (hsize_t)d->size;
            return 4;
        }
        if (!strcmp(name, "weight") && d->type == RM_LAYER_DENSE) {
            dims[0] = (hsize_t)d->units;
            dims[1] = (hsize_t)(count / d->units);
            return 2;
        }
    }
    dims[0] = (hsize_t)count;
    return 1;
}

static int write_params(hid_t file, const rm_model *m)
{
    hid_t root = H5Gcreate2(file, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (root < 0) return rm_h5_error("creating /params");
    int rc = 0;
    for (int i = 0; i < m->num_tensors && rc == 0; i++) {
        char group[64];
        snprintf(group, sizeof group, "%s", m->tensors[i].key);
        char *slash = strchr(group, '/');
        if (!slash) continue;
        *slash = 0;
        hid_t g = H5Lexists(root, group, H5P_DEFAULT) > 0 ? H5Gopen2(root, group, H5P_DEFAULT)
                                                           : H5Gcreate2(root, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) {
            rc = rm_h5_error("creating /params/%s", group);
            break;
        }
        hsize_t dims[4];
        int rank = param_dims(m, m->tensors[i].key, m->tensors[i].count, dims);
        rc = rm_h5_write_dataset(g, slash + 1, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, m->tensors[i].data);
        H5Gclose(g);
    }
    H5Gclose(root);
    return rc;
}

static int write_history(hid_t file, const rm_model *m)
{
    hid_t g = H5Gcreate2(file, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return rm_h5_error("creating /history");
    int n = m->num_epochs, rc = 0;
    double *col = rm_malloc(sizeof *col * (size_t)(n ? n : 1), "history");
    if (!col) rc = -1;
    static const char *const names[] = {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                        "seconds", "learning_rate", "encoded_share"};
    for (int k = 0; k < 8 && rc == 0; k++) {
        for (int e = 0; e < n; e++) {
            const rm_epoch_record *r = &m->history[e];
            double v[8] = {r->epoch, r->train_loss, r->train_acc, r->val_loss, r->val_acc, r->seconds, r->lr,
                           r->encoded_share};
            col[e] = v[k];
        }
        hsize_t dim = (hsize_t)n;
        rc = rm_h5_write_dataset(g, names[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &dim, col);
    }
    free(col);
    H5Gclose(g);
    return rc;
}

static int write_attrs(hid_t f, const rm_model *m, const char *command_line)
{
    char created[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    RM_TRY(rm_h5_attr_set_string(f, "schema", RM_MODEL_SCHEMA));
    RM_TRY(rm_h5_attr_set_int(f, "schema_version", RM_MODEL_SCHEMA_VERSION));
    RM_TRY(rm_h5_attr_set_string(f, "tool_version", rm_version_string()));
    RM_TRY(rm_h5_attr_set_string(f, "created", created));
    RM_TRY(rm_h5_attr_set_string(f, "command_line", command_line ? command_line : ""));
    RM_TRY(rm_h5_attr_set_string(f, "net_name", m->def.name));
    RM_TRY(rm_h5_attr_set_string(f, "net_text", m->def.text));
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%dx%d", m->def.input.c, m->def.input.h, m->def.input.w);
    RM_TRY(rm_h5_attr_set_string(f, "input_shape", shape));
    RM_TRY(rm_h5_attr_set_int(f, "num_classes", m->num_classes));
    RM_TRY(rm_h5_attr_set_strings(f, "class_names", m->num_classes, (const char *const *)m->class_names));
    hsize_t c = (hsize_t)m->def.input.c;
    hid_t space = H5Screate_simple(1, &c, NULL);
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        const char *name = k ? "normalization_std" : "normalization_mean";
        hid_t a = H5Acreate2(f, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT);
        if (a < 0 || H5Awrite(a, H5T_NATIVE_FLOAT, k ? m->norm_std : m->norm_mean) < 0) rc = rm_h5_error("writing %s", name);
        if (a >= 0) H5Aclose(a);
    }
    H5Sclose(space);
    RM_TRY(rc);
    RM_TRY(rm_h5_attr_set_string(f, "training_parameters", m->train_params ? m->train_params : ""));
    RM_TRY(rm_h5_attr_set_string(f, "dataset_path", m->dataset_path ? m->dataset_path : ""));
    RM_TRY(rm_h5_attr_set_string(f, "dataset_fingerprint", m->dataset_fingerprint ? m->dataset_fingerprint : ""));
    RM_TRY(rm_h5_attr_set_int(f, "best_epoch", m->best_epoch));
    return rm_h5_attr_set_double(f, "best_val_accuracy", m->best_val_acc);
}

int rm_model_save(const rm_model *m, const char *path, int force, const char *command_line)
{
    return rm_model_save_ex(m, path, force, command_line, NULL, NULL);
}

int rm_model_save_ex(const rm_model *m, const char *path, int force, const char *command_line,
                     int (*extra)(int64_t file, void *ctx), void *ctx)
{
    if (!m->norm_mean || !m->norm_std || !m->class_names) return rm_error("%s: model is incomplete", path);
    rm_h5_init();
    rm_output out;
    RM_TRY(rm_output_begin(&out, path, force));
    hid_t f = H5Fcreate(out.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        rm_h5_error("%s: cannot create %s", path, out.tmp_path);
        rm_output_abort(&out);
        return -1;
    }
    int rc = write_attrs(f, m, command_line);
    if (rc == 0) rc = write_params(f, m);
    if (rc == 0) rc = write_history(f, m);
    if (rc == 0 && extra) rc = extra(f, ctx);
    if (H5Fclose(f) < 0 && rc == 0) rc = rm_h5_error("closing the file failed (disk full?)");
    if (rc != 0) {
        rm_error_prefix("%s", path);
        rm_output_abort(&out);
        return -1;
    }
    return rm_output_commit(&out);
}

/* --- reading ------------------------------------------------------------ */

static int read_f32(hid_t f, const char *path, int64_t count, float *out)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) return rm_error("missing dataset %s", path);
    hid_t space = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    int rc = 0;
    if (n != count) rc = rm_error("%s has %lld values, expected %lld", path, (long long)n, (long long)count);
    else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) rc = rm_h5_error("reading %s", path);
    H5Sclose(space);
    H5Dclose(d);
    for (int64_t i = 0; rc == 0 && i < count; i++)
        if (out[i] != out[i] || out[i] - out[i] != 0)
            rc = rm_error("%s[%lld] is %s", path, (long long)i, out[i] != out[i] ? "NaN" : "infinite");
    return rc;
}

/* Parameter names and counts a layer definition implies. */
static int layer_params(const rm_layer_def *d, const char *names[4], int64_t counts[4])
{
    int64_t in = (int64_t)d->in.c * d->in.h * d->in.w;
    switch (d->type) {
    case RM_LAYER_CONV:
        names[0] = "weight", counts[0] = (int64_t)d->filters * (d->in.c / d->groups) * d->size * d->size;
        names[1] = "bias", counts[1] = d->filters;
        return d->bias ? 2 : 1;
    case RM_LAYER_DENSE:
        names[0] = "weight", counts[0] = (int64_t)d->units * in;
        names[1] = "bias", counts[1] = d->units;
        return d->bias ? 2 : 1;
    case RM_LAYER_BATCHNORM:
        names[0] = "gamma", names[1] = "beta", names[2] = "running_mean", names[3] = "running_var";
        for (int i = 0; i < 4; i++) counts[i] = d->in.c;
        return 4;
    case RM_LAYER_SCALE:
        names[0] = "scale", names[1] = "shift", counts[0] = counts[1] = d->in.c;
        return 2;
    default: return 0;
    }
}

static int read_params(hid_t f, rm_model *m)
{
    for (int i = 0; i < m->def.num_layers; i++) {
        const char *names[4];
        int64_t counts[4];
        int n = layer_params(&m->def.layers[i], names, counts);
        for (int k = 0; k < n; k++) {
            char key[64], path[96];
            snprintf(key, sizeof key, "%s/%s", m->def.layers[i].name, names[k]);
            snprintf(path, sizeof path, "/params/%s", key);
            RM_TRY(add_tensor(m, key, counts[k]));
            RM_TRY(read_f32(f, path, counts[k], m->tensors[m->num_tensors - 1].data));
        }
    }
    return 0;
}

static int read_history(hid_t f, rm_model *m)
{
    if (H5Lexists(f, "history", H5P_DEFAULT) <= 0) return 0;
    hid_t d = H5Dopen2(f, "/history/epoch", H5P_DEFAULT);
    if (d < 0) return rm_error("missing dataset /history/epoch");
    hid_t space = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    H5Dclose(d);
    if (n < 0 || n > 1000000) return rm_error("/history/epoch has an invalid length");
    m->num_epochs = (int)n;
    m->history = rm_calloc((size_t)(n ? n : 1), sizeof *m->history, "history");
    double *col = rm_malloc(sizeof *col * (size_t)(n ? n : 1), "history");
    if (!m->history || !col) {
        free(col);
        return -1;
    }
    static const char *const names[] = {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                        "seconds", "learning_rate", "encoded_share"};
    int rc = 0;
    for (int k = 0; k < 8 && rc == 0; k++) {
        char path[64];
        snprintf(path, sizeof path, "/history/%s", names[k]);
        /* encoded_share came later: files without it trained on raw data */
        if (k == 7 && H5Lexists(f, path, H5P_DEFAULT) <= 0) break;
        hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
        if (ds < 0) {
            rc = rm_error("missing dataset %s", path);
            break;
        }
        /* Every column is read whole into n values: a longer one would overflow. */
        hid_t sp = H5Dget_space(ds);
        hssize_t len = H5Sget_simple_extent_npoints(sp);
        H5Sclose(sp);
        if (len != n) rc = rm_error("%s has %lld values but /history/epoch %lld", path, (long long)len, (long long)n);
        else if (n && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, col) < 0)
            rc = rm_h5_error("reading %s", path);
        H5Dclose(ds);
        for (hssize_t e = 0; e < n && rc == 0; e++) {
            rm_epoch_record *r = &m->history[e];
            double *fields[8] = {NULL, &r->train_loss, &r->train_acc, &r->val_loss, &r->val_acc, &r->seconds, &r->lr,
                                 &r->encoded_share};
            if (k == 0) r->epoch = (int)col[e];
            else *fields[k] = col[e];
        }
    }
    free(col);
    return rc;
}

static int read_norm(hid_t f, const char *name, int channels, float **out)
{
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a < 0) return rm_error("attribute '%s' is missing", name);
    hid_t space = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    int rc = 0;
    *out = rm_malloc(sizeof(float) * (size_t)channels, name);
    if (!*out) rc = -1;
    else if (n != channels) rc = rm_error("attribute '%s' has %lld values, expected %d", name, (long long)n, channels);
    else if (H5Aread(a, H5T_NATIVE_FLOAT, *out) < 0) rc = rm_h5_error("reading %s", name);
    H5Aclose(a);
    return rc;
}

static int load(hid_t f, rm_model *m, const char *path)
{
    if (!rm_h5_attr_exists(f, "schema")) return rm_error("not a relmask file (no 'schema' attribute)");
    char *schema = NULL, *text = NULL;
    RM_TRY(rm_h5_attr_get_string(f, "schema", &schema));
    int rc = strcmp(schema, RM_MODEL_SCHEMA) ? rm_error("schema is '%s', expected '%s'", schema, RM_MODEL_SCHEMA) : 0;
    free(schema);
    RM_TRY(rc);
    int64_t version;
    RM_TRY(rm_h5_attr_get_int(f, "schema_version", &version));
    if (version != RM_MODEL_SCHEMA_VERSION)
        return rm_error("model schema version %lld is not supported (this relmask reads %d)", (long long)version,
                        RM_MODEL_SCHEMA_VERSION);
    RM_TRY(rm_h5_attr_get_string(f, "net_text", &text));
    rc = rm_netdef_parse(&m->def, text, "net_text");   /* rm_model_load prefixes the path */
    free(text);
    RM_TRY(rc);
    RM_TRY(rm_h5_attr_get_strings(f, "class_names", &m->num_classes, &m->class_names));
    if (m->num_classes != m->def.classes)
        return rm_error("%d class names but the network has %d outputs", m->num_classes, m->def.classes);
    m->channels = m->def.input.c;
    RM_TRY(read_norm(f, "normalization_mean", m->channels, &m->norm_mean));
    RM_TRY(read_norm(f, "normalization_std", m->channels, &m->norm_std));
    for (int c = 0; c < m->channels; c++)
        if (!(m->norm_std[c] > 0)) return rm_error("normalization_std[%d] = %g, expected > 0", c, m->norm_std[c]);
    RM_TRY(rm_h5_attr_get_string(f, "training_parameters", &m->train_params));
    RM_TRY(rm_h5_attr_get_string(f, "dataset_path", &m->dataset_path));
    RM_TRY(rm_h5_attr_get_string(f, "dataset_fingerprint", &m->dataset_fingerprint));
    int64_t best;
    RM_TRY(rm_h5_attr_get_int(f, "best_epoch", &best));
    m->best_epoch = (int)best;
    /* A scalar number: reading an array attribute into one double would overflow. */
    RM_TRY(rm_h5_attr_get_double(f, "best_val_accuracy", &m->best_val_acc));
    RM_TRY(read_params(f, m));
    return read_history(f, m);
}

int rm_model_load(rm_model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    rm_h5_init();
    hid_t f = rm_h5_open_read(path, "a relmask model");
    if (f < 0) return -1;
    int rc = load(f, m, path);
    H5Fclose(f);
    if (rc != 0) {
        rm_error_prefix("%s", path);
        rm_model_free(m);
    }
    return rc;
}

void rm_model_free(rm_model *m)
{
    rm_netdef_free(&m->def);
    rm_h5_free_strings(m->num_classes, m->class_names);
    free(m->norm_mean);
    free(m->norm_std);
    free(m->train_params);
    free(m->dataset_path);
    free(m->dataset_fingerprint);
    free(m->history);
    for (int i = 0; i < m->num_tensors; i++) free(m->tensors[i].data);
    free(m->tensors);
    memset(m, 0, sizeof *m);
}

int rm_model_planned_epochs(const rm_model *m)
{
    for (const char *p = m->train_params; p && *p;) {
        if (!strncmp(p, "epochs=", 7)) return (int)strtol(p + 7, NULL, 10);
        const char *end = strchr(p, '\n');
        p = end ? end + 1 : p + strlen(p);
    }
    return 0;
}
