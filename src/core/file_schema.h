/* Which relmask file a path holds: the 'schema' attribute of the root group
 * of an HDF5 file (RM_DATASET_SCHEMA, RM_MODEL_SCHEMA, ...). */
#ifndef RELMASK_FILE_SCHEMA_H
#define RELMASK_FILE_SCHEMA_H

/* *schema (malloc'd) is the file's schema name. Fails, naming the path,
 * when the file is missing or unreadable, not HDF5, or has no schema. */
int rm_file_schema(const char *path, char **schema);

#endif
