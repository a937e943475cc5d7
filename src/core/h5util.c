#include "core/h5util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void rm_h5_init(void)
{
    static _Thread_local int done;   /* HDF5's error printing is per thread */
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

/* HDF5's system-call errors read "file write failed: time = ..., filename
 * = ..., errno = 27, error message = 'File too large', buf = 0x...": keep
 * the first words and the message. */
static herr_t innermost(unsigned n, const H5E_error2_t *err, void *ctx)
{
    if (n != 0) return 0;
    const char *d = err->desc ? err->desc : "", *colon = strchr(d, ':');
    const char *msg = strstr(d, "error message = '");
    const char *end = msg ? strchr(msg + 17, '\'') : NULL;
    if (colon && end)
        snprintf(ctx, 256, "%.*s: %.*s", (int)(colon - d), d, (int)(end - msg - 17), msg + 17);
    else
        snprintf(ctx, 256, "%s", d);
    return 0;
}

int rm_h5_error(const char *fmt, ...)
{
    char what[1024], detail[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, detail);
    H5Eclear2(H5E_DEFAULT);
    if (detail[0]) return rm_error("%s: %s", what, detail);
    return rm_error("%s", what);
}

int rm_h5_write_dataset(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                        const hsize_t *dims, const void *data)
{
    hsize_t elements = 1;
    for (int i = 0; i < rank; i++) elements *= dims[i];
    hid_t space = H5Screate_simple(rank, dims, NULL);
    if (space < 0) return rm_h5_error("creating the dataspace of %s", name);
    hid_t d = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = 0;
    if (d < 0) rc = rm_h5_error("creating %s", name);
    else if (elements && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = rm_h5_error("writing %s", name);
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
    return rc;
}

static int write_attr(hid_t loc, const char *name, hid_t type, hid_t space, const void *data)
{
    if (H5Aexists(loc, name) > 0 && H5Adelete(loc, name) < 0)
        return rm_h5_error("replacing attribute '%s'", name);
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return rm_h5_error("creating attribute '%s'", name);
    herr_t st = H5Awrite(a, type, data);
    H5Aclose(a);
    if (st < 0) return rm_h5_error("writing attribute '%s'", name);
    return 0;
}

static hid_t vlen_utf8(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int rm_h5_attr_set_string(hid_t loc, const char *name, const char *value)
{
    hid_t t = vlen_utf8(), s = H5Screate(H5S_SCALAR);
    int rc = write_attr(loc, name, t, s, &value);
    H5Tclose(t);
    H5Sclose(s);
    return rc;
}

int rm_h5_attr_set_strings(hid_t loc, const char *name, int count, const char *const *values)
{
    hsize_t dim = (hsize_t)count;
    hid_t t = vlen_utf8(), s = H5Screate_simple(1, &dim, NULL);
    int rc = write_attr(loc, name, t, s, values);
    H5Tclose(t);
    H5Sclose(s);
    return rc;
}

int rm_h5_attr_set_int(hid_t loc, const char *name, int64_t value)
{
    hid_t s = H5Screate(H5S_SCALAR);
    int rc = write_attr(loc, name, H5T_NATIVE_INT64, s, &value);
    H5Sclose(s);
    return rc;
}

int rm_h5_attr_set_double(hid_t loc, const char *name, double value)
{
    hid_t s = H5Screate(H5S_SCALAR);
    int rc = write_attr(loc, name, H5T_NATIVE_DOUBLE, s, &value);
    H5Sclose(s);
    return rc;
}

int rm_h5_attr_set_doubles(hid_t loc, const char *name, int count, const double *values)
{
    hsize_t dim = (hsize_t)count;
    hid_t s = H5Screate_simple(1, &dim, NULL);
    int rc = write_attr(loc, name, H5T_NATIVE_DOUBLE, s, values);
    H5Sclose(s);
    return rc;
}

int rm_h5_attr_set_fixed_string(hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = write_attr(loc, name, t, s, value);
    H5Tclose(t);
    H5Sclose(s);
    return rc;
}

int rm_h5_attr_exists(hid_t loc, const char *name) { return H5Aexists(loc, name) > 0; }

int rm_h5_require_stored(hid_t loc, const char *name)
{
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) return rm_h5_error("missing dataset /%s", name);
    hid_t space = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
    hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK], expected = 1, stored = 0;
    int rank = H5Sget_simple_extent_dims(space, dims, NULL), rc = 0;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5D_layout_t layout = H5Pget_layout(dcpl);
    if (rank < 0 || n < 0) {
        rc = rm_h5_error("/%s: cannot read its shape", name);
    } else if (n > 0 && layout == H5D_CHUNKED) {
        /* Every chunk of a completely written dataset exists. */
        if (H5Pget_chunk(dcpl, rank, chunk) != rank || H5Dget_num_chunks(d, space, &stored) < 0)
            rc = rm_h5_error("/%s: cannot count its chunks", name);
        for (int i = 0; i < rank && rc == 0; i++) expected *= (dims[i] + chunk[i] - 1) / chunk[i];
        if (rc == 0 && stored < expected)
            rc = rm_error("/%s declares %lld elements in %llu chunks but the file stores %llu of them (damaged, or "
                          "not written completely); expected all",
                          name, (long long)n, (unsigned long long)expected, (unsigned long long)stored);
    } else if (n > 0 && layout == H5D_CONTIGUOUS && H5Dget_storage_size(d) == 0) {
        rc = rm_error("/%s declares %lld elements but the file stores none of them (damaged, or not written "
                      "completely); expected all",
                      name, (long long)n);
    }
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Dclose(d);
    return rc;
}

/* Reads every element of a string attribute, fixed or variable length. */
static int read_string_attr(hid_t loc, const char *name, int *count, char ***values)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return rm_h5_error("attribute '%s' is missing", name);
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = -1;
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    if (H5Tget_class(ft) != H5T_STRING) {
        rm_error("attribute '%s' is not a string", name);
        goto done;
    }
    if (n < 0 || n > 1000000) {
        rm_error("attribute '%s' has an invalid size", name);
        goto done;
    }
    char **out = rm_calloc((size_t)n + 1, sizeof *out, "string attribute");
    if (!out) goto done;
    if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char **raw = rm_calloc((size_t)n + 1, sizeof *raw, "string attribute");
        if (raw && H5Aread(a, mt, raw) >= 0) {
            rc = 0;
            for (hssize_t i = 0; i < n; i++) {
                out[i] = rm_strdup(raw[i] ? raw[i] : "");
                if (!out[i]) rc = -1;
            }
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
        } else if (raw) {
            rm_h5_error("reading attribute '%s'", name);
        }
        free(raw);
        H5Tclose(mt);
    } else {
        size_t len = H5Tget_size(ft);
        hid_t mt = H5Tcopy(ft);
        char *raw = rm_calloc((size_t)n, len + 1, "string attribute");
        if (raw && H5Aread(a, mt, raw) >= 0) {
            rc = 0;
            for (hssize_t i = 0; i < n; i++) {
                out[i] = rm_calloc(1, len + 1, "string");
                if (!out[i]) { rc = -1; break; }
                memcpy(out[i], raw + (size_t)i * len, len);
            }
        } else if (raw) {
            rm_h5_error("reading attribute '%s'", name);
        }
        free(raw);
        H5Tclose(mt);
    }
    if (rc == 0) {
        *count = (int)n;
        *values = out;
    } else {
        rm_h5_free_strings((int)n, out);
    }
done:
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

int rm_h5_attr_get_string(hid_t loc, const char *name, char **value)
{
    int n;
    char **v;
    RM_TRY(read_string_attr(loc, name, &n, &v));
    if (n != 1) {
        rm_h5_free_strings(n, v);
        return rm_error("attribute '%s' holds %d strings, expected 1", name, n);
    }
    *value = v[0];
    free(v);
    return 0;
}

int rm_h5_attr_get_strings(hid_t loc, const char *name, int *count, char ***values)
{
    return read_string_attr(loc, name, count, values);
}

int rm_h5_attr_get_int(hid_t loc, const char *name, int64_t *value)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return rm_h5_error("attribute '%s' is missing", name);
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = 0;
    if (H5Tget_class(ft) != H5T_INTEGER || H5Sget_simple_extent_npoints(sp) != 1)
        rc = rm_error("attribute '%s' is not a scalar integer", name);
    else if (H5Aread(a, H5T_NATIVE_INT64, value) < 0)
        rc = rm_h5_error("reading attribute '%s'", name);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

int rm_h5_attr_get_double(hid_t loc, const char *name, double *value)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return rm_h5_error("attribute '%s' is missing", name);
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = 0;
    H5T_class_t cls = H5Tget_class(ft);
    if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || H5Sget_simple_extent_npoints(sp) != 1)
        rc = rm_error("attribute '%s' is not a scalar number", name);
    else if (H5Aread(a, H5T_NATIVE_DOUBLE, value) < 0)
        rc = rm_h5_error("reading attribute '%s'", name);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

void rm_h5_free_strings(int count, char **values)
{
    if (!values) return;
    for (int i = 0; i < count; i++) free(values[i]);
    free(values);
}

/* Formats small numeric attributes and strings as text for display. */
static void attr_text(hid_t loc, const char *name, char *buf, size_t size)
{
    buf[0] = 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return;
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5T_class_t cls = H5Tget_class(ft);
    if (cls == H5T_STRING) {
        int count;
        char **v;
        if (read_string_attr(loc, name, &count, &v) == 0) {
            size_t used = 0;
            for (int i = 0; i < count && used + 1 < size; i++)
                used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", v[i]);
            rm_h5_free_strings(count, v);
        }
    } else if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n > 0 && n <= 16) {
        double v[16];
        if (H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0) {
            size_t used = 0;
            for (hssize_t i = 0; i < n && used + 1 < size; i++)
                used += (size_t)snprintf(buf + used, size - used, "%s%g", i ? ", " : "", v[i]);
        }
    } else {
        snprintf(buf, size, "(%lld values)", (long long)n);
    }
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
}

struct visit_ctx { rm_h5_attr_visitor visit; void *ctx; };

static herr_t visit_one(hid_t loc, const char *name, const H5A_info_t *info, void *p)
{
    struct visit_ctx *vc = p;
    char text[4096];
    attr_text(loc, name, text, sizeof text);
    vc->visit(name, text, vc->ctx);
    return 0;
}

int rm_h5_attr_visit(hid_t loc, rm_h5_attr_visitor visit, void *ctx)
{
    struct visit_ctx vc = {visit, ctx};
    hsize_t idx = 0;
    if (H5Aiterate2(loc, H5_INDEX_NAME, H5_ITER_INC, &idx, visit_one, &vc) < 0)
        return rm_h5_error("listing attributes");
    return 0;
}

hid_t rm_h5_open_read(const char *path, const char *expected)
{
    rm_h5_init();
    if (H5Fis_hdf5(path) <= 0) {
        FILE *probe = fopen(path, "rb");
        if (!probe) rm_error("%s: cannot open: no such file or not readable", path);
        else {
            fclose(probe);
            if (expected) rm_error("%s: not an HDF5 file, expected %s", path, expected);
            else rm_error("%s: not an HDF5 file", path);
        }
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) rm_h5_error("%s: cannot open HDF5 file", path);
    return f;
}
