/* relmask encode --data D.h5 --relevance R.h5 --out E.h5 --mode MODE: the
 * options, over rm_encode (docs/encode.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "encode/encode.h"

/* The mode's defaults come first, so the settings are kept as given (NULL
 * or NAN: not given) and applied by check(). */
typedef struct {
    rm_encode_config cfg;
    const char *mode, *sign, *normalize, *fill, *channel_constant;
    double smooth, keep, threshold, blur_sigma, floor_w;
    int tile;
} encode_options;

static int choose(const char *cmd, const char *opt, const char *value, const char *const *names, int count, int *out)
{
    int i = rm_encode_lookup(names, count, value);
    if (i < 0) {
        char list[256] = "";
        for (int k = 0; k < count; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? (k + 1 < count ? ", " : " or ") : "",
                     names[k]);
        return cli_usage_error(cmd, "%s '%s': expected %s", opt, value, list);
    }
    *out = i;
    return RM_EXIT_OK;
}

static int set_shuffle(void *t, const char *value, const char *cmd)
{
    encode_options *o = t;
    if (cli_parse_u64(cmd, "--shuffle-masks", value, &o->cfg.shuffle_seed)) return RM_EXIT_USAGE;
    o->cfg.shuffle_masks = 1;
    return RM_EXIT_OK;
}

static int set_blur_sigma(void *t, const char *value, const char *cmd)
{
    encode_options *o = t;
    if (cli_parse_double(cmd, "--blur-sigma", value, 0, 64, &o->blur_sigma)) return RM_EXIT_USAGE;
    if (!(o->blur_sigma > 0)) return cli_usage_error(cmd, "--blur-sigma '%s': must be above 0", value);
    return RM_EXIT_OK;
}

/* The mode's defaults, then the options given; an option the mode does
 * not use is an error rather than silently ignored. */
static int check(void *t, const char *cmd)
{
    encode_options *o = t;
    if (!o->mode)
        return cli_usage_error(cmd, "--mode is required (mean, zero, blur, negative, soft, channel or mask)");
    int mode, i, rc;
    if ((rc = choose(cmd, "--mode", o->mode, rm_encode_mode_names, RM_ENCODE_MODE_COUNT, &mode)) != RM_EXIT_OK)
        return rc;
    rm_encode_params *p = &o->cfg.params;
    rm_encode_params_defaults(p, (rm_encode_mode)mode);
    if (o->sign) {
        if ((rc = choose(cmd, "--relevance-sign", o->sign, rm_encode_sign_names, RM_SIGN_COUNT, &i)) != RM_EXIT_OK)
            return rc;
        p->sign = (rm_encode_sign)i;
    }
    if (o->normalize) {
        if ((rc = choose(cmd, "--normalize", o->normalize, rm_encode_normalize_names, RM_NORMALIZE_COUNT, &i)) !=
            RM_EXIT_OK)
            return rc;
        p->normalize = (rm_encode_normalize)i;
    }
    if (!isnan(o->smooth)) p->smooth = o->smooth;
    const char *name = rm_encode_mode_names[mode];
    int have_keep = !isnan(o->keep), have_threshold = !isnan(o->threshold);
    if (have_keep && have_threshold) return cli_usage_error(cmd, "give --keep or --threshold, not both");
    if ((have_keep || have_threshold) && !rm_encode_mode_selects(p->mode))
        return cli_usage_error(cmd, "--%s applies to the modes mean, zero, blur, negative and mask, not %s",
                               have_keep ? "keep" : "threshold", name);
    if (have_keep) p->keep = o->keep;
    if (have_threshold) p->threshold = o->threshold;
    if (o->tile >= 0) {
        if (!rm_encode_mode_selects(p->mode))
            return cli_usage_error(cmd, "--tile applies to the modes mean, zero, blur, negative and mask, not %s",
                                   name);
        if (have_threshold) return cli_usage_error(cmd, "--tile applies to --keep, not to --threshold");
        p->tile = o->tile;
    }
    if (!isnan(o->blur_sigma)) {
        if (p->mode != RM_ENCODE_BLUR) return cli_usage_error(cmd, "--blur-sigma applies to --mode blur, not %s", name);
        p->blur_sigma = o->blur_sigma;
    }
    if (o->fill) {
        if (p->mode != RM_ENCODE_NEGATIVE && p->mode != RM_ENCODE_SOFT)
            return cli_usage_error(cmd, "--fill applies to the modes negative and soft, not %s", name);
        if ((rc = choose(cmd, "--fill", o->fill, rm_encode_fill_names, RM_FILL_COUNT, &i)) != RM_EXIT_OK) return rc;
        p->fill = (rm_encode_fill)i;
    }
    if (!isnan(o->floor_w)) {
        if (p->mode != RM_ENCODE_SOFT) return cli_usage_error(cmd, "--floor applies to --mode soft, not %s", name);
        p->floor = o->floor_w;
    }
    if (o->channel_constant) {
        if (p->mode != RM_ENCODE_CHANNEL)
            return cli_usage_error(cmd, "--channel-constant applies to --mode channel, not %s", name);
        if (!strcmp(o->channel_constant, "train-mean")) {
            p->channel = RM_CHANNEL_TRAIN_MEAN;
        } else {
            if (cli_parse_double(cmd, "--channel-constant", o->channel_constant, 0, 1, &p->channel_value))
                return RM_EXIT_USAGE;
            p->channel = RM_CHANNEL_CONSTANT;
        }
    }
    if (o->cfg.shuffle_masks && p->mode == RM_ENCODE_CHANNEL && p->channel != RM_CHANNEL_RELEVANCE)
        return cli_usage_error(cmd, "--shuffle-masks has no effect with --channel-constant (no relevance is used)");
    if (rm_encode_params_check(p) != 0) return cli_usage_error(cmd, "%s", rm_error_message());
    return RM_EXIT_OK;
}

#define CLI_TARGET encode_options
static const cli_option options[] = {
    CLI_OPT_REQUIRED('d', "data", "D.h5", cfg.data_path, "the dataset (relmask synth / ingest)"),
    CLI_OPT_REQUIRED('r', "relevance", "R.h5", cfg.relevance_path, "its relevance maps (relmask relevance)"),
    CLI_OPT_REQUIRED('o', "out", "E.h5", cfg.out_path, "the encoded dataset (written atomically)"),
    CLI_OPT_STRING('m', "mode", "MODE", mode, "mean, zero, blur, negative, soft, channel or mask"),
    CLI_OPT_FLAG('f', "force", cfg.force, "overwrite an existing output"),
    CLI_OPT_FLAG(0, "only-explained", cfg.only_explained, "write only the records that have relevance"),
    CLI_OPT_CALL(0, "shuffle-masks", "SEED", set_shuffle, "control: each record gets the relevance map of\n"
                                                         "another record of its split and class (a seeded\n"
                                                         "permutation, integer SEED >= 0)"),
    CLI_HELP_TEXT("relevance processing, in this order:"),
    CLI_OPT_STRING(0, "relevance-sign", "S", sign, "positive max(r,0), absolute |r|, negative\n"
                                                   "max(-r,0) (positive)"),
    CLI_OPT_DOUBLE(0, "smooth", "SIGMA", smooth, 0, 64, "Gaussian smoothing in pixels, 0 = none (1)"),
    CLI_OPT_STRING(0, "normalize", "N", normalize, "max: rn = r / max r; sum: r / sum r; none (max)"),
    CLI_HELP_TEXT("selection (mean, zero, blur, negative, mask):"),
    CLI_OPT_DOUBLE(0, "keep", "F", keep, 0, 1, "the top F fraction of pixels by rn (0.3)"),
    CLI_OPT_DOUBLE(0, "threshold", "T", threshold, 0, 1e30, "instead: the pixels with rn >= T"),
    CLI_OPT_INT(0, "tile", "N", tile, 1, 1 << 20, "--keep F within each NxN tile, not the whole image:\n"
                                                 "every region keeps the same share, so where the\n"
                                                 "mask lies tells little about the class"),
    CLI_HELP_TEXT("mode options:"),
    CLI_OPT_CALL(0, "blur-sigma", "S", set_blur_sigma, "blur: sigma of the blurred copy in pixels (3)"),
    CLI_OPT_STRING(0, "fill", "mean|zero", fill, "negative (zero) and soft (mean): the fill value"),
    CLI_OPT_DOUBLE(0, "floor", "F", floor_w, 0, 1, "soft: the weight of irrelevant pixels (0.2)"),
    CLI_OPT_STRING(0, "channel-constant", "V", channel_constant,
                   "channel: append a constant plane instead of the\n"
                   "relevance: V in [0, 1] (byte round(255 V)), or\n"
                   "train-mean (the train records' mean relevance\n"
                   "byte), to evaluate a channel model without relevance"),
    CLI_HELP_TEXT("other:"),
    CLI_OPT_THREADS("threads (0 = all cores); the output is the same"),
    CLI_OPT_INT(0, "deflate", "N", cfg.deflate_level, 0, 9, "compression level 0-9 (4)"),
    CLI_OPT_QUIET("no progress output"),
    CLI_END,
};

static const cli_command command = {
    .name = "encode",
    .usage = "usage: relmask encode --data D.h5 --relevance R.h5 --out E.h5 --mode MODE [options]\n"
             "\n"
             "Encodes each record's relevance map into its image (relevance-based data\n"
             "masking) and writes a dataset with the same labels, split and classes.\n"
             "Records without relevance are copied raw and marked 0 in /encoded.\n"
             "\n"
             "modes:\n"
             "  mean      keep the selected pixels, the rest = the train split's mean\n"
             "  zero      keep the selected pixels, the rest = 0\n"
             "  blur      keep the selected pixels, the rest = a Gaussian-blurred copy\n"
             "  negative  the selected (most relevant) pixels = the fill (0 by default)\n"
             "  soft      x' = fill + (x - fill) (floor + (1 - floor) rn), fill = mean\n"
             "  channel   append rn as an extra channel, round(255 rn) (C+1 channels)\n"
             "  mask      the selection alone: selected pixels 255, the rest 0 (no image\n"
             "            content; records without relevance all 0)\n"
             "\n"
             "options:\n",
    .options = options,
    .epilog = "\n"
              "Pixels with rn = 0 are never selected; values are rounded half up and\n"
              "clamped to 0..255. See docs/encode.md. Exit codes: 0 ok, 1 error, 2 usage.\n",
    .help_column = 28,
    .check = check,
};

int cmd_encode(int argc, char **argv)
{
    encode_options o = {.tile = -1, .smooth = NAN, .keep = NAN, .threshold = NAN, .blur_sigma = NAN, .floor_w = NAN};
    rm_encode_config_defaults(&o.cfg);
    o.cfg.command_line = cli_command_line();
    int done, rc = cli_parse(&command, argc, argv, &o, &done, NULL);
    if (rc != RM_EXIT_OK || done) return rc;
    return rm_encode(&o.cfg) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
