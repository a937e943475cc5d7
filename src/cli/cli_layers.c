/* The layer table of `relmask net` and `relmask info MODEL.h5`: one row per
 * layer with what it does (kernel, stride, groups, activation variant), its
 * output shape, parameters and forward FLOPs, and the layers it reads when
 * that is not the one before (a graph's edges). */
#include <stdio.h>

#include "cli/cli.h"
#include "nn/netdef.h"

/* "conv 3x3 /2 d2 g8 p0,0,1,1" (dilation, groups, asymmetric pads), "maxpool 3x3 /2 p0,0,1,1",
 * "avgpool 3x3 excl-pad" (count_pad = 0), "relu max 6", "leaky 0.1", "add". */
static void describe(char *out, size_t size, const rm_layer_def *l)
{
    const char *type = rm_layer_type_names[l->type];
    switch (l->type) {
    case RM_LAYER_CONV:
    case RM_LAYER_MAXPOOL:
    case RM_LAYER_AVGPOOL: {
        int n = snprintf(out, size, "%s %dx%d", type, l->size, l->size);
        if (l->stride > 1 && n >= 0 && (size_t)n < size) n += snprintf(out + n, size - (size_t)n, " /%d", l->stride);
        if (l->type == RM_LAYER_CONV && l->dilation > 1 && n >= 0 && (size_t)n < size)
            n += snprintf(out + n, size - (size_t)n, " d%d", l->dilation);
        if (l->type == RM_LAYER_CONV && l->groups > 1 && n >= 0 && (size_t)n < size)
            n += snprintf(out + n, size - (size_t)n, " g%d", l->groups);
        if ((l->pads[1] != l->pad || l->pads[2] != l->pad || l->pads[3] != l->pad) && n >= 0 && (size_t)n < size)
            n += snprintf(out + n, size - (size_t)n, " p%d,%d,%d,%d", l->pads[0], l->pads[1], l->pads[2],
                          l->pads[3]);
        if (l->type == RM_LAYER_AVGPOOL && !l->count_pad && n >= 0 && (size_t)n < size)
            snprintf(out + n, size - (size_t)n, " excl-pad");
        return;
    }
    case RM_LAYER_RELU:
        if (l->slope > 0) snprintf(out, size, "leaky %g", l->slope);
        else if (l->max > 0) snprintf(out, size, "relu max %g", l->max);
        else snprintf(out, size, "relu");
        return;
    case RM_LAYER_DROPOUT: snprintf(out, size, "dropout %g", l->p); return;
    default: snprintf(out, size, "%s", type);
    }
}

void cli_print_layers(const rm_netdef *d)
{
    printf("  %-14s %-16s %-16s %12s %14s\n", "layer", "type", "output (CxHxW)", "parameters", "MFLOP/image");
    for (int i = 0; i < d->num_layers; i++) {
        const rm_layer_def *l = &d->layers[i];
        char shape[40], type[64];
        snprintf(shape, sizeof shape, "%dx%dx%d", l->out.c, l->out.h, l->out.w);
        describe(type, sizeof type, l);
        printf("  %-14s %-16s %-16s %12lld %14.3f", l->name, type, shape, (long long)l->params,
               (double)l->flops / 1e6);
        if (l->num_inputs != 1 || l->inputs[0] != i - 1)
            for (int k = 0; k < l->num_inputs; k++)
                printf("%s%s", k ? ", " : "  <- ",
                       l->inputs[k] == RM_INPUT_NETWORK ? "input" : d->layers[l->inputs[k]].name);
        printf("\n");
    }
    printf("  %-14s %-16s %-16s %12lld %14.3f\n", "total", "", "", (long long)rm_netdef_params(d),
           (double)rm_netdef_flops(d) / 1e6);
}
