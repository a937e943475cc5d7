/* `relmask relevance import --fixations` (src/relevance/import_fixations.c)
 * on the tiny fuzz dataset: the fixation CSV is the input; odd sizes use
 * --normalized coordinates; the split follows size % 4. */
#include "fuzz_common.h"

#include <stdlib.h>

#include "relevance/import.h"

int fuzz_fixations(const uint8_t *data, size_t size);
int fuzz_fixations(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *in = fuzz_write("fixations.csv", data, size), *out = fuzz_write("fixations.h5", NULL, 0);
    rm_import_options o;
    rm_import_options_defaults(&o);
    o.source = RM_IMPORT_FIXATIONS;
    o.input = in;
    o.data_path = fuzz_dataset();
    o.out_path = out;
    o.force = 1;
    o.deflate_level = 0;
    o.normalized = size & 1;
    o.split = (int)(size % 4) - 1;
    o.block = 4;
    rm_relevance_import(&o);
    fuzz_remove(out);
    free(in);
    free(out);
    return 0;
}
FUZZ_TARGET(fixations)
