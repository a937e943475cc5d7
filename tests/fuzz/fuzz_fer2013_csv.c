/* FER2013 CSV ingest (src/ingest/fer2013_csv.c) on arbitrary text; odd
 * sizes run with --skip-bad, even ones stop at the first bad row. */
#include "fuzz_common.h"

#include <stdlib.h>

#include "ingest/ingest.h"

int fuzz_fer2013_csv(const uint8_t *data, size_t size);
int fuzz_fer2013_csv(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *in = fuzz_write("fer2013.csv", data, size), *out = fuzz_write("fer2013.h5", NULL, 0);
    rm_ingest_options opt;
    rm_ingest_options_init(&opt);
    opt.out_path = out;
    opt.force = 1;
    opt.deflate_level = 0;
    opt.skip_bad = size & 1;
    rm_ingest_fer2013(in, &opt);
    fuzz_remove(out);
    free(in);
    free(out);
    return 0;
}
FUZZ_TARGET(fer2013_csv)
