/* The network definition parser (src/nn/netdef.c) on arbitrary text. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#include "nn/netdef.h"

int fuzz_netdef(const uint8_t *data, size_t size);
int fuzz_netdef(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    rm_netdef def;
    if (rm_netdef_parse(&def, text, "fuzz.cfg") == 0) {
        volatile int64_t sink = rm_netdef_params(&def) + rm_netdef_flops(&def);
        (void)sink;
        rm_netdef_free(&def);
    }
    free(text);
    return 0;
}
FUZZ_TARGET(netdef)
