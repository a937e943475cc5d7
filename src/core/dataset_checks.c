/* Comparing a dataset with a derived copy (an encoded dataset): the same
 * records, per-record flag vectors such as /encoded, and a fingerprint of
 * the pixels themselves. HDF5 calls are made under rm_hdf5_lock(), as the
 * loader's prefetch thread may be streaming at the same time. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/h5lock.h"
#include "core/h5util.h"

#define FP_BLOCK_BYTES ((size_t)16 << 20)

static const char *split_name(uint8_t s) { return s < RM_SPLIT_COUNT ? rm_split_names[s] : "?"; }

int rm_dataset_check_same_records(const rm_dataset *raw, const rm_dataset *copy, int compare_channels)
{
    const char *a = copy->path, *b = raw->path;
    if (copy->count != raw->count)
        return rm_error("%s does not match %s: %zu records in %s but %zu in %s", a, b, copy->count, a, raw->count, b);
    if ((compare_channels && copy->channels != raw->channels) || copy->height != raw->height ||
        copy->width != raw->width)
        return rm_error("%s does not match %s: %s holds %dx%dx%d images but %s %dx%dx%d", a, b, a, copy->channels,
                        copy->height, copy->width, b, raw->channels, raw->height, raw->width);
    if (copy->num_classes != raw->num_classes)
        return rm_error("%s does not match %s: %d classes in %s but %d in %s", a, b, copy->num_classes, a,
                        raw->num_classes, b);
    for (int c = 0; c < raw->num_classes; c++)
        if (strcmp(copy->class_names[c], raw->class_names[c]) != 0)
            return rm_error("%s does not match %s: class %d is '%s' in %s but '%s' in %s", a, b, c,
                            copy->class_names[c], a, raw->class_names[c], b);
    for (size_t i = 0; i < raw->count; i++) {
        if (copy->labels[i] != raw->labels[i])
            return rm_error("%s does not match %s: record %zu has label %d in %s but %d in %s", a, b, i,
                            copy->labels[i], a, raw->labels[i], b);
        if (copy->split[i] != raw->split[i])
            return rm_error("%s does not match %s: record %zu is in the %s split in %s but in %s in %s", a, b, i,
                            split_name(copy->split[i]), a, split_name(raw->split[i]), b);
    }
    return 0;
}

static int count_flags_locked(const rm_dataset *ds, const char *name, int split, int64_t *flagged, int64_t *total,
                              int *present)
{
    hid_t f = (hid_t)ds->hfile;
    htri_t exists = H5Lexists(f, name, H5P_DEFAULT);
    if (exists < 0) return rm_h5_error("%s: looking for /%s", ds->path, name);
    if (exists == 0) return 0;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return rm_h5_error("%s: opening /%s", ds->path, name);
    hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    hsize_t dims[1] = {0};
    int rc = 0;
    if (H5Sget_simple_extent_ndims(space) != 1 || H5Tget_class(type) != H5T_INTEGER) {
        rc = rm_error("%s: /%s is not a vector of integers", ds->path, name);
    } else {
        H5Sget_simple_extent_dims(space, dims, NULL);
        if (dims[0] != ds->count)
            rc = rm_error("%s: /%s has %llu entries but the file has %zu records", ds->path, name,
                          (unsigned long long)dims[0], ds->count);
    }
    uint8_t *flags = rc ? NULL : rm_malloc(ds->count ? ds->count : 1, "record flags");
    if (rc == 0 && !flags) rc = -1;
    if (rc == 0 && ds->count && H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags) < 0)
        rc = rm_h5_error("%s: reading /%s", ds->path, name);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(d);
    if (rc == 0) {
        *present = 1;
        for (size_t i = 0; i < ds->count; i++)
            if (split < 0 || ds->split[i] == (uint8_t)split) {
                (*total)++;
                *flagged += flags[i] != 0;
            }
    }
    free(flags);
    return rc;
}

int rm_dataset_count_flags(const rm_dataset *ds, const char *name, int split, int64_t *flagged, int64_t *total,
                           int *present)
{
    *flagged = *total = 0;
    *present = 0;
    rm_hdf5_lock();
    int rc = count_flags_locked(ds, name, split, flagged, total, present);
    rm_hdf5_unlock();
    return rc;
}

static uint64_t fnv(uint64_t hash, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) hash = (hash ^ p[i]) * 0x100000001b3ULL;
    return hash;
}

int rm_dataset_content_fingerprint(const rm_dataset *ds, char out[17])
{
    const size_t img = (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width;
    size_t block = FP_BLOCK_BYTES / img;
    if (block < 1) block = 1;
    if (block > ds->count) block = ds->count ? ds->count : 1;
    uint8_t *buf = rm_malloc(block * img, "image read buffer");
    if (!buf) return -1;
    int64_t header[4] = {(int64_t)ds->count, ds->channels, ds->height, ds->width};
    uint64_t hash = fnv(0xcbf29ce484222325ULL, header, sizeof header);
    hash = fnv(hash, ds->labels, ds->count * sizeof *ds->labels);
    hash = fnv(hash, ds->split, ds->count);
    int rc = 0;
    for (size_t start = 0; start < ds->count && rc == 0; start += block) {
        size_t n = ds->count - start < block ? ds->count - start : block;
        rm_hdf5_lock();
        rc = rm_dataset_read_images(ds, start, n, buf);
        rm_hdf5_unlock();
        if (rc == 0) hash = fnv(hash, buf, n * img);
    }
    free(buf);
    if (rc == 0) snprintf(out, 17, "%016llx", (unsigned long long)hash);
    return rc;
}
