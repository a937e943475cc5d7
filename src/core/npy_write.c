/* NPY writer (npy.h): version 1.0, the header dict as numpy.save writes it
 * ({'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }) padded
 * with spaces and ended by '\n' so the data starts at a multiple of 64. */
#include "core/npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the NPY writer writes native data as little-endian"
#endif

/* The element size a descr names ("|u1" -> 1, "<f8" -> 8); 0 if malformed. */
static size_t descr_itemsize(const char *descr)
{
    const char *d = descr;
    if (*d == '<' || *d == '|') d++;
    if (!*d || !strchr("uif", *d)) return 0;
    char *end;
    long size = strtol(d + 1, &end, 10);
    return *end || (size != 1 && size != 2 && size != 4 && size != 8) ? 0 : (size_t)size;
}

int rm_npy_write(const char *path, const char *descr, int ndims, const size_t *shape, const void *data)
{
    size_t itemsize = descr_itemsize(descr);
    if (!itemsize || ndims < 1 || ndims > NPY_MAX_DIMS)
        return rm_error("%s: cannot write an NPY array of dtype '%s' with %d dimensions", path, descr, ndims);
    size_t bytes = itemsize, len = 0;
    char dims[NPY_MAX_DIMS * 24 + 4];
    for (int i = 0; i < ndims; i++) {
        RM_TRY(rm_size_mul(&bytes, bytes, shape[i], SIZE_MAX, "an NPY array"));
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%zu", i ? ", " : "", shape[i]);
    }
    if (ndims == 1) snprintf(dims + len, sizeof dims - len, ",");

    /* magic (6) + version (2) + header length (2) + dict + spaces + '\n' */
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    if (n < 0 || (size_t)n + 64 > sizeof header) return rm_error("%s: NPY header too long", path);
    size_t dict = (size_t)n, total = (10 + dict + 1 + 63) / 64 * 64, header_len = total - 10;
    memset(header + dict, ' ', header_len - 1 - dict);
    header[header_len - 1] = '\n';
    const uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(header_len & 0xff),
                             (uint8_t)(header_len >> 8)};

    FILE *fp = fopen(path, "wb");
    if (!fp) return rm_error("%s: cannot create: %s", path, strerror(errno));
    int ok = fwrite(pre, 1, sizeof pre, fp) == sizeof pre && fwrite(header, 1, header_len, fp) == header_len &&
             (bytes == 0 || fwrite(data, 1, bytes, fp) == bytes);
    int err = errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        unlink(path);
        return rm_error("%s: writing %zu bytes failed: %s", path, bytes + total, strerror(err));
    }
    return 0;
}
