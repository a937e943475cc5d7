/* Checked HDF5 helpers. HDF5's automatic error printing is turned off; a
 * failing call records "what: <HDF5's innermost message>" with rm_error. */
#ifndef RELMASK_H5UTIL_H
#define RELMASK_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

/* Silences HDF5's own error printing (idempotent, call before any H5 use). */
void rm_h5_init(void);
/* Opens an existing HDF5 file read-only. A missing or unreadable path, a
 * file that is not HDF5 ("<path>: not an HDF5 file[, expected <what>]") and
 * a failing open each get their own message. Returns the file or -1. */
hid_t rm_h5_open_read(const char *path, const char *expected);
/* Records an error "<formatted>: <HDF5 stack message>" and returns -1. */
int rm_h5_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Creates dataset `name` in loc (contiguous, elements of file_type, shape
 * dims[rank]) and writes data, given as mem_type, into it; an empty
 * dataset is only created. Errors name it as given: "creating /logits". */
int rm_h5_write_dataset(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                        const hsize_t *dims, const void *data);

/* Variable-length UTF-8 string attributes (h5py reads them as str). */
int rm_h5_attr_set_string(hid_t loc, const char *name, const char *value);
int rm_h5_attr_set_strings(hid_t loc, const char *name, int count,
                           const char *const *values);
int rm_h5_attr_set_int(hid_t loc, const char *name, int64_t value);
int rm_h5_attr_set_double(hid_t loc, const char *name, double value);
int rm_h5_attr_set_doubles(hid_t loc, const char *name, int count, const double *values);
/* Fixed-length ASCII attribute, as the HDF5 Image specification asks. */
int rm_h5_attr_set_fixed_string(hid_t loc, const char *name, const char *value);

/* Fails unless every element of dataset `name` is stored in the file. A
 * shape is a header field: a damaged or hand-made file can declare 2^33
 * records in a few bytes (unwritten chunks take no space). Readers call
 * this before allocating by the shape. */
int rm_h5_require_stored(hid_t loc, const char *name);
int rm_h5_attr_exists(hid_t loc, const char *name);
/* Reads a scalar string attribute (fixed or variable length) into a
 * malloc'd string. */
int rm_h5_attr_get_string(hid_t loc, const char *name, char **value);
/* Reads a 1-D string array attribute into malloc'd strings. */
int rm_h5_attr_get_strings(hid_t loc, const char *name, int *count,
                           char ***values);
int rm_h5_attr_get_int(hid_t loc, const char *name, int64_t *value);
/* A scalar integer or floating-point attribute, as double. */
int rm_h5_attr_get_double(hid_t loc, const char *name, double *value);
void rm_h5_free_strings(int count, char **values);

/* Names every attribute of loc with a callback (for `relmask info`). */
typedef void (*rm_h5_attr_visitor)(const char *name, const char *text, void *ctx);
int rm_h5_attr_visit(hid_t loc, rm_h5_attr_visitor visit, void *ctx);

#endif
