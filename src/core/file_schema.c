#include "core/file_schema.h"

#include <stdio.h>

#include "core/error.h"
#include "core/h5util.h"

int rm_file_schema(const char *path, char **schema)
{
    *schema = NULL;
    rm_h5_init();
    htri_t is_h5 = H5Fis_hdf5(path);
    if (is_h5 < 0) {
        /* HDF5 says the same for a missing file and a corrupt one. */
        FILE *f = fopen(path, "rb");
        if (!f) return rm_error("%s: cannot open: no such file or not readable", path);
        fclose(f);
    }
    if (is_h5 <= 0) return rm_error("%s: not an HDF5 file, expected a relmask .h5 file", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return rm_h5_error("%s: cannot open HDF5 file", path);
    int rc = 0;
    if (!rm_h5_attr_exists(file, "schema"))
        rc = rm_error("%s: not a relmask file (no 'schema' attribute on the root group)", path);
    else if (rm_h5_attr_get_string(file, "schema", schema) != 0)
        rc = rm_error_prefix("%s", path);
    H5Fclose(file);
    return rc;
}
