#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5util.h"

/* Reads the shape of a uint8/int dataset and checks its rank. */
static int dataset_shape(hid_t file, const char *name, int rank, hsize_t *dims, H5T_class_t cls,
                         size_t elem_size)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) return rm_error("missing dataset /%s", name);
    hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    int rc = 0;
    int got = H5Sget_simple_extent_ndims(space);
    if (got != rank) rc = rm_error("/%s has rank %d, expected %d", name, got, rank);
    else if (H5Tget_class(type) != cls || H5Tget_size(type) != elem_size)
        rc = rm_error("/%s has element type of class %d and size %zu, expected %s of %zu byte(s)", name,
                      (int)H5Tget_class(type), H5Tget_size(type),
                      cls == H5T_INTEGER ? "integer" : "float", elem_size);
    else H5Sget_simple_extent_dims(space, dims, NULL);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(d);
    return rc;
}

static int read_all(hid_t file, const char *name, hid_t mem_type, void *out)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) return rm_h5_error("opening /%s", name);
    herr_t st = H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    H5Dclose(d);
    if (st < 0) return rm_h5_error("reading /%s", name);
    return 0;
}

/* Checks schema name/version; shared by every relmask file kind. */
static int check_schema(hid_t file)
{
    if (!rm_h5_attr_exists(file, "schema"))
        return rm_error("not a relmask file (no 'schema' attribute on the root group)");
    char *schema = NULL;
    RM_TRY(rm_h5_attr_get_string(file, "schema", &schema));
    int rc = 0;
    if (strcmp(schema, RM_DATASET_SCHEMA) != 0)
        rc = rm_error("schema is '%s', expected '%s'", schema, RM_DATASET_SCHEMA);
    free(schema);
    RM_TRY(rc);
    int64_t version;
    RM_TRY(rm_h5_attr_get_int(file, "schema_version", &version));
    if (version != RM_DATASET_SCHEMA_VERSION)
        return rm_error("schema version %lld is not supported (this relmask reads version %d)",
                        (long long)version, RM_DATASET_SCHEMA_VERSION);
    return 0;
}

static int load(rm_dataset *ds)
{
    hid_t f = (hid_t)ds->hfile;
    RM_TRY(check_schema(f));
    hsize_t idims[4], ldims[1], sdims[1];
    RM_TRY(dataset_shape(f, "images", 4, idims, H5T_INTEGER, 1));
    RM_TRY(dataset_shape(f, "labels", 1, ldims, H5T_INTEGER, 4));
    RM_TRY(dataset_shape(f, "split", 1, sdims, H5T_INTEGER, 1));
    if (idims[1] < 1 || idims[1] > RM_DATASET_MAX_CHANNELS)
        return rm_error("/images has %llu channels, expected 1..%d", (unsigned long long)idims[1],
                        RM_DATASET_MAX_CHANNELS);
    if (idims[2] < 1 || idims[3] < 1 || idims[2] > 4096 || idims[3] > 4096)
        return rm_error("/images has image size %llux%llu, expected 1..4096",
                        (unsigned long long)idims[3], (unsigned long long)idims[2]);
    if (ldims[0] != idims[0] || sdims[0] != idims[0])
        return rm_error("/images has %llu records but /labels has %llu and /split %llu",
                        (unsigned long long)idims[0], (unsigned long long)ldims[0],
                        (unsigned long long)sdims[0]);
    ds->count = idims[0];
    ds->channels = (int)idims[1];
    ds->height = (int)idims[2];
    ds->width = (int)idims[3];
    if (rm_h5_attr_exists(f, "unlabeled")) {
        int64_t u;
        RM_TRY(rm_h5_attr_get_int(f, "unlabeled", &u));
        if (u != 0 && u != 1) return rm_error("attribute 'unlabeled' is %lld, expected 0 or 1", (long long)u);
        ds->unlabeled = (int)u;
    }
    if (!ds->unlabeled || rm_h5_attr_exists(f, "class_names")) {
        RM_TRY(rm_h5_attr_get_strings(f, "class_names", &ds->num_classes, &ds->class_names));
        if (ds->num_classes < 1 || ds->num_classes > RM_MAX_CLASSES)
            return rm_error("'class_names' has %d entries, expected 1..%d", ds->num_classes, RM_MAX_CLASSES);
    }
    if (rm_h5_attr_exists(f, "num_classes")) {   /* other readers (h5py) trust it: it must agree */
        int64_t k;
        RM_TRY(rm_h5_attr_get_int(f, "num_classes", &k));
        if (k != ds->num_classes)
            return rm_error("attribute 'num_classes' is %lld but 'class_names' has %d entries; expected equal",
                            (long long)k, ds->num_classes);
    }
    RM_TRY(rm_h5_require_stored(f, "images"));
    RM_TRY(rm_h5_require_stored(f, "labels"));
    RM_TRY(rm_h5_require_stored(f, "split"));
    ds->labels = rm_malloc(ds->count * sizeof *ds->labels, "labels");
    ds->split = rm_malloc(ds->count, "split");
    if (!ds->labels || !ds->split) return -1;
    RM_TRY(read_all(f, "labels", H5T_NATIVE_INT32, ds->labels));
    RM_TRY(read_all(f, "split", H5T_NATIVE_UINT8, ds->split));
    for (size_t i = 0; i < ds->count && ds->unlabeled; i++)
        if (ds->labels[i] != -1 || ds->split[i] != RM_SPLIT_UNLABELED)
            return rm_error("record %zu: label %d and split value %u in an unlabeled dataset (attribute "
                            "'unlabeled' = 1), expected label -1 and split %d (unlabeled)", i, ds->labels[i],
                            ds->split[i], RM_SPLIT_UNLABELED);
    for (size_t i = 0; i < ds->count && !ds->unlabeled; i++) {
        if (ds->labels[i] < 0 || ds->labels[i] >= ds->num_classes)
            return rm_error("record %zu: label %d out of range 0..%d", i, ds->labels[i], ds->num_classes - 1);
        if (ds->split[i] >= RM_SPLIT_COUNT)
            return rm_error("record %zu: split value %u, expected 0 (train), 1 (val) or 2 (test)", i,
                            ds->split[i]);
    }
    if (H5Lexists(f, "regions", H5P_DEFAULT) > 0) {
        hsize_t rdims[3];
        RM_TRY(dataset_shape(f, "regions", 3, rdims, H5T_INTEGER, 1));
        if (rdims[0] != idims[0] || rdims[1] != idims[2] || rdims[2] != idims[3])
            return rm_error("/regions has shape [%llu,%llu,%llu], expected [%zu,%d,%d]",
                            (unsigned long long)rdims[0], (unsigned long long)rdims[1],
                            (unsigned long long)rdims[2], ds->count, ds->height, ds->width);
        ds->has_regions = 1;
    }
    if (H5Lexists(f, "source", H5P_DEFAULT) > 0) {
        hid_t d = H5Dopen2(f, "source", H5P_DEFAULT), type = d >= 0 ? H5Dget_type(d) : -1,
              space = d >= 0 ? H5Dget_space(d) : -1;
        hsize_t n = 0;
        int ok = type >= 0 && space >= 0 && H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0 &&
                 H5Sget_simple_extent_ndims(space) == 1 && H5Sget_simple_extent_dims(space, &n, NULL) == 1 &&
                 n == idims[0];
        if (space >= 0) H5Sclose(space);
        if (type >= 0) H5Tclose(type);
        if (d >= 0) H5Dclose(d);
        if (!ok) return rm_error("/source: expected variable-length strings [%zu]", ds->count);
        ds->has_source = 1;
    }
    return 0;
}

static char refusing_command[64];

void rm_dataset_set_command(const char *name)
{
    snprintf(refusing_command, sizeof refusing_command, "%s%s", name ? "relmask " : "", name ? name : "");
}

int rm_dataset_refuse_unlabeled(const char *path, const char *what)
{
    if (!what && refusing_command[0]) what = refusing_command;
    return rm_error("%s is unlabeled (ingested with --unlabeled: every label is -1, every split 'unlabeled'), "
                    "and %s needs labels; on unlabeled data use predict, relevance --target pred, all, top:K or "
                    "contrast, heatmap and info, or ingest the images in class folders to label them",
                    path, what ? what : "this command");
}

int rm_dataset_open(rm_dataset *ds, const char *path)
{
    RM_TRY(rm_dataset_open_unlabeled_ok(ds, path));
    if (!ds->unlabeled) return 0;
    rm_dataset_close(ds);
    return rm_dataset_refuse_unlabeled(path, NULL);
}

int rm_dataset_adopt_class_names(rm_dataset *ds, int count, const char *const *names, const char *from)
{
    if (!ds->unlabeled || ds->num_classes > 0) return 0;
    if (count < 1 || count > RM_MAX_CLASSES) return rm_error("%s: %d class names to adopt", ds->path, count);
    char **copy = rm_calloc((size_t)count, sizeof *copy, "class names");
    if (!copy) return -1;
    for (int c = 0; c < count; c++)
        if (!(copy[c] = rm_strdup(names[c]))) {
            rm_h5_free_strings(c, copy);
            return -1;
        }
    ds->class_names = copy;
    ds->num_classes = count;
    rm_log("%s is unlabeled and names no classes: using the %d classes of %s", ds->path, count, from);
    return 0;
}

int rm_dataset_open_unlabeled_ok(rm_dataset *ds, const char *path)
{
    memset(ds, 0, sizeof *ds);
    ds->hfile = -1;
    rm_h5_init();
    ds->path = rm_strdup(path);
    if (!ds->path) return -1;
    ds->hfile = rm_h5_open_read(path, NULL);
    if (ds->hfile < 0) {
        rm_dataset_close(ds);
        return -1;
    }
    if (load(ds) != 0) {
        rm_error_prefix("%s", path);
        rm_dataset_close(ds);
        return -1;
    }
    return 0;
}

static int read_rows(const rm_dataset *ds, const char *name, int rank, size_t start, size_t count,
                     uint8_t *out)
{
    if (start > ds->count || count > ds->count - start)
        return rm_error("%s: records %zu..%zu out of range (file has %zu)", ds->path, start,
                        start + count, ds->count);
    if (count == 0) return 0;
    hid_t d = H5Dopen2((hid_t)ds->hfile, name, H5P_DEFAULT);
    if (d < 0) return rm_h5_error("%s: opening /%s", ds->path, name);
    hid_t space = H5Dget_space(d);
    hsize_t dims[4], offset[4] = {start, 0, 0, 0};
    H5Sget_simple_extent_dims(space, dims, NULL);
    dims[0] = count;
    H5Sselect_hyperslab(space, H5S_SELECT_SET, offset, NULL, dims, NULL);
    hid_t mem = H5Screate_simple(rank, dims, NULL);
    herr_t st = H5Dread(d, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, out);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
    if (st < 0) return rm_h5_error("%s: reading /%s records %zu..%zu", ds->path, name, start, start + count);
    return 0;
}

int rm_dataset_read_images(const rm_dataset *ds, size_t start, size_t count, uint8_t *out)
{
    return read_rows(ds, "images", 4, start, count, out);
}

int rm_dataset_read_regions(const rm_dataset *ds, size_t start, size_t count, uint8_t *out)
{
    if (!ds->has_regions) return rm_error("%s: has no /regions dataset", ds->path);
    return read_rows(ds, "regions", 3, start, count, out);
}

int rm_dataset_read_source(const rm_dataset *ds, size_t index, char *out, size_t size)
{
    if (size) out[0] = 0;
    if (!ds->has_source) return 0;
    if (index >= ds->count) return rm_error("%s: record %zu of %zu", ds->path, index, ds->count);
    hid_t d = H5Dopen2((hid_t)ds->hfile, "source", H5P_DEFAULT), type = H5Tcopy(H5T_C_S1);
    hid_t file_space = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t at = index, one = 1;
    hid_t mem_space = H5Screate_simple(1, &one, NULL);
    char *value = NULL;
    int rc = d < 0 || type < 0 || file_space < 0 || mem_space < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 ||
             H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &at, NULL, &one, NULL) < 0 ||
             H5Dread(d, type, mem_space, file_space, H5P_DEFAULT, &value) < 0;
    if (!rc && size) snprintf(out, size, "%s", value ? value : "");
    if (value) H5free_memory(value);
    if (mem_space >= 0) H5Sclose(mem_space);
    if (file_space >= 0) H5Sclose(file_space);
    if (type >= 0) H5Tclose(type);
    if (d >= 0) H5Dclose(d);
    return rc ? rm_h5_error("%s: reading /source[%zu]", ds->path, index) : 0;
}

int rm_dataset_read_attr(const rm_dataset *ds, const char *name, char **value)
{
    *value = NULL;
    if (!rm_h5_attr_exists((hid_t)ds->hfile, name)) return 0;
    if (rm_h5_attr_get_string((hid_t)ds->hfile, name, value) != 0)
        return rm_error_prefix("%s", ds->path);
    return 0;
}

void rm_dataset_close(rm_dataset *ds)
{
    if (ds->hfile > 0) H5Fclose((hid_t)ds->hfile);
    rm_h5_free_strings(ds->num_classes, ds->class_names);
    free(ds->labels);
    free(ds->split);
    free(ds->path);
    memset(ds, 0, sizeof *ds);
    ds->hfile = -1;
}
