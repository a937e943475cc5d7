/* Writing CSV fields (RFC 4180). */
#ifndef RELMASK_CSV_H
#define RELMASK_CSV_H

#include <stdio.h>

/* Writes s as one field: as it is, or in double quotes (inner quotes
 * doubled) when it holds a comma, a quote or a line break. Errors show in
 * ferror(f). */
void rm_csv_write_field(FILE *f, const char *s);

#endif
