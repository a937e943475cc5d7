/* The NPY reader (of the npy ingester, the relevance import and the
 * external-model exchange of occlusion): numpy.save files, C order,
 * little-endian (or single-byte) u/i/f dtypes of 1, 2, 4 or 8 bytes, read
 * one record (one index of the first axis) at a time; and a writer
 * (npy_write.c) of NPY v1.0 files as numpy.save writes them. */
#ifndef RELMASK_CORE_NPY_H
#define RELMASK_CORE_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { NPY_MAX_DIMS = 8, NPY_DESCR_MAX = 32 };

typedef struct {
    const char *path;
    FILE *fp;
    char descr[NPY_DESCR_MAX];
    char kind;              /* 'u', 'i' or 'f' */
    int itemsize;
    int ndims;
    size_t shape[NPY_MAX_DIMS];
    size_t count;           /* shape[0] */
    size_t record_bytes;    /* bytes of one record (shape[1..] x itemsize) */
    size_t data_offset, data_bytes;
} rm_npy_file;

/* Opens `path` (kept by pointer), parses the header and checks the file
 * holds all the data it declares; the stream is left at record 0. */
int rm_npy_open(rm_npy_file *f, const char *path);
/* rm_npy_open in two steps, for a caller that checks the header first. */
int rm_npy_open_header(rm_npy_file *f, const char *path);
int rm_npy_check_size(const rm_npy_file *f);
/* Reads the next record (number `record`, for messages) into buf
 * (record_bytes). */
int rm_npy_read_record(rm_npy_file *f, void *buf, size_t record);
/* Reads a whole integer array (any shape; count = shape[0] values when the
 * records are single values) into a malloc'd int64 array. */
int rm_npy_read_ints(rm_npy_file *f, int64_t **out);
/* Element i of a record as a double. */
double rm_npy_value(const rm_npy_file *f, const void *record, size_t i);
void rm_npy_close(rm_npy_file *f);
/* The shape as numpy prints it: "(5, 3)", "(5,)". */
void rm_npy_shape_text(const rm_npy_file *f, char *buf, size_t cap);
/* Reads the whole array, from the start of the data, as float: the dtype
 * must be '<f4' or '<f8' (float64 is rounded to float32) and `count` the
 * array's element count. Converts through a fixed stack buffer. */
int rm_npy_read_floats(rm_npy_file *f, float *out, size_t count);

/* Writes `data` (C order, native little-endian) as an NPY v1.0 file of
 * dtype `descr` ("|u1", "<f4", ...) and the given shape, the header padded
 * to a multiple of 64 bytes; on failure the partial file is removed. */
int rm_npy_write(const char *path, const char *descr, int ndims, const size_t *shape, const void *data);

#endif
