/* relmask encode --data D.h5 --relevance R.h5 --out E.h5 --mode MODE:
 * relevance-based data masking (docs/encode.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "encode/encode.h"
#include "core/error.h"
#include "core/progress.h"

static const char help[] =
    "usage: relmask encode --data D.h5 --relevance R.h5 --out E.h5 --mode MODE [options]\n"
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
    "\n"
    "options:\n"
    "  -d, --data D.h5           the dataset (relmask synth / ingest)\n"
    "  -r, --relevance R.h5      its relevance maps (relmask relevance)\n"
    "  -o, --out E.h5            the encoded dataset (written atomically)\n"
    "  -m, --mode MODE           mean, zero, blur, negative, soft or channel\n"
    "  -f, --force               overwrite an existing output\n"
    "      --only-explained      write only the records that have relevance\n"
    "relevance processing, in this order:\n"
    "      --relevance-sign S    positive max(r,0), absolute |r|, negative\n"
    "                            max(-r,0) (positive)\n"
    "      --smooth SIGMA        Gaussian smoothing in pixels, 0 = none (1)\n"
    "      --normalize N         max: rn = r / max r; sum: r / sum r; none (max)\n"
    "selection (mean, zero, blur, negative):\n"
    "      --keep F              the top F fraction of pixels by rn (0.3)\n"
    "      --threshold T         instead: the pixels with rn >= T\n"
    "mode options:\n"
    "      --blur-sigma S        blur: sigma of the blurred copy in pixels (3)\n"
    "      --fill mean|zero      negative (zero) and soft (mean): the fill value\n"
    "      --floor F             soft: the weight of irrelevant pixels (0.2)\n"
    "      --channel-constant V  channel: append a constant plane instead of the\n"
    "                            relevance: V in [0, 1] (byte round(255 V)), or\n"
    "                            train-mean (the train records' mean relevance\n"
    "                            byte), to evaluate a channel model without relevance\n"
    "other:\n"
    "  -t, --threads N           threads (0 = all cores); the output is the same\n"
    "      --deflate N           compression level 0-9 (4)\n"
    "  -q, --quiet               no progress output\n"
    "\n"
    "Pixels with rn = 0 are never selected; values are rounded half up and\n"
    "clamped to 0..255. See docs/encode.md. Exit codes: 0 ok, 1 error, 2 usage.\n";

enum {
    OPT_SIGN = 256, OPT_SMOOTH, OPT_NORMALIZE, OPT_KEEP, OPT_THRESHOLD, OPT_BLUR_SIGMA, OPT_FILL, OPT_FLOOR,
    OPT_ONLY, OPT_DEFLATE, OPT_CHANNEL_CONSTANT,
};

typedef struct {
    rm_encode_config cfg;
    const char *mode;
    /* options as given, applied once the mode (and its defaults) is known */
    const char *sign, *normalize, *fill, *channel_constant;
    double smooth, keep, threshold, blur_sigma, floor_w;
    int have_smooth, have_keep, have_threshold, have_blur, have_floor;
} encode_options;

static int choose(const char *opt, const char *value, const char *const *names, int count, int *out)
{
    int i = rm_encode_lookup(names, count, value);
    if (i < 0) {
        char list[256] = "";
        for (int k = 0; k < count; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? (k + 1 < count ? ", " : " or ") : "",
                     names[k]);
        return cli_usage_error("encode", "%s '%s': expected %s", opt, value, list);
    }
    *out = i;
    return RM_EXIT_OK;
}

static int parse(int argc, char **argv, encode_options *o, int *done)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"data", required_argument, NULL, 'd'},
        {"relevance", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},
        {"mode", required_argument, NULL, 'm'},
        {"force", no_argument, NULL, 'f'},
        {"only-explained", no_argument, NULL, OPT_ONLY},
        {"relevance-sign", required_argument, NULL, OPT_SIGN},
        {"smooth", required_argument, NULL, OPT_SMOOTH},
        {"normalize", required_argument, NULL, OPT_NORMALIZE},
        {"keep", required_argument, NULL, OPT_KEEP},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"blur-sigma", required_argument, NULL, OPT_BLUR_SIGMA},
        {"fill", required_argument, NULL, OPT_FILL},
        {"floor", required_argument, NULL, OPT_FLOOR},
        {"channel-constant", required_argument, NULL, OPT_CHANNEL_CONSTANT},
        {"threads", required_argument, NULL, 't'},
        {"deflate", required_argument, NULL, OPT_DEFLATE},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    int c;
    long v;
    opterr = 0;
    *done = 0;
    while ((c = getopt_long(argc, argv, ":hd:r:o:m:ft:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'd': o->cfg.data_path = optarg; break;
        case 'r': o->cfg.relevance_path = optarg; break;
        case 'o': o->cfg.out_path = optarg; break;
        case 'm': o->mode = optarg; break;
        case 'f': o->cfg.force = 1; break;
        case OPT_ONLY: o->cfg.only_explained = 1; break;
        case OPT_SIGN: o->sign = optarg; break;
        case OPT_NORMALIZE: o->normalize = optarg; break;
        case OPT_FILL: o->fill = optarg; break;
        case OPT_CHANNEL_CONSTANT: o->channel_constant = optarg; break;
        case OPT_SMOOTH:
            if (cli_parse_double("encode", "--smooth", optarg, 0, 64, &o->smooth)) return RM_EXIT_USAGE;
            o->have_smooth = 1;
            break;
        case OPT_KEEP:
            if (cli_parse_double("encode", "--keep", optarg, 0, 1, &o->keep)) return RM_EXIT_USAGE;
            o->have_keep = 1;
            break;
        case OPT_THRESHOLD:
            if (cli_parse_double("encode", "--threshold", optarg, 0, 1e30, &o->threshold)) return RM_EXIT_USAGE;
            o->have_threshold = 1;
            break;
        case OPT_BLUR_SIGMA:
            if (cli_parse_double("encode", "--blur-sigma", optarg, 0, 64, &o->blur_sigma)) return RM_EXIT_USAGE;
            if (!(o->blur_sigma > 0)) return cli_usage_error("encode", "--blur-sigma '%s': must be above 0", optarg);
            o->have_blur = 1;
            break;
        case OPT_FLOOR:
            if (cli_parse_double("encode", "--floor", optarg, 0, 1, &o->floor_w)) return RM_EXIT_USAGE;
            o->have_floor = 1;
            break;
        case 't':
            if (cli_parse_int("encode", "--threads", optarg, 0, 4096, &v)) return RM_EXIT_USAGE;
            cli_set_threads(v);
            break;
        case OPT_DEFLATE:
            if (cli_parse_int("encode", "--deflate", optarg, 0, 9, &v)) return RM_EXIT_USAGE;
            o->cfg.deflate_level = (int)v;
            break;
        case 'q': rm_progress_set_quiet(1); rm_log_set_quiet(1); break;
        default: return cli_bad_option("encode", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("encode", "unexpected argument '%s'", argv[optind]);
    if (!o->cfg.data_path) return cli_usage_error("encode", "--data D.h5 is required");
    if (!o->cfg.relevance_path) return cli_usage_error("encode", "--relevance R.h5 is required");
    if (!o->cfg.out_path) return cli_usage_error("encode", "--out E.h5 is required");
    if (!o->mode) return cli_usage_error("encode", "--mode is required (mean, zero, blur, negative, soft or channel)");
    return RM_EXIT_OK;
}

/* The mode's defaults, then the options given; an option the mode does
 * not use is an error rather than silently ignored. */
static int apply_options(encode_options *o)
{
    int mode, rc;
    if ((rc = choose("--mode", o->mode, rm_encode_mode_names, RM_ENCODE_MODE_COUNT, &mode)) != RM_EXIT_OK) return rc;
    rm_encode_params *p = &o->cfg.params;
    rm_encode_params_defaults(p, (rm_encode_mode)mode);
    int i;
    if (o->sign) {
        if ((rc = choose("--relevance-sign", o->sign, rm_encode_sign_names, RM_SIGN_COUNT, &i)) != RM_EXIT_OK) return rc;
        p->sign = (rm_encode_sign)i;
    }
    if (o->normalize) {
        if ((rc = choose("--normalize", o->normalize, rm_encode_normalize_names, RM_NORMALIZE_COUNT, &i)) != RM_EXIT_OK)
            return rc;
        p->normalize = (rm_encode_normalize)i;
    }
    if (o->have_smooth) p->smooth = o->smooth;
    const char *name = rm_encode_mode_names[mode];
    if (o->have_keep && o->have_threshold) return cli_usage_error("encode", "give --keep or --threshold, not both");
    if ((o->have_keep || o->have_threshold) && !rm_encode_mode_selects(p->mode))
        return cli_usage_error("encode", "--%s applies to the modes mean, zero, blur and negative, not %s",
                               o->have_keep ? "keep" : "threshold", name);
    if (o->have_keep) p->keep = o->keep;
    if (o->have_threshold) p->threshold = o->threshold;
    if (o->have_blur && p->mode != RM_ENCODE_BLUR)
        return cli_usage_error("encode", "--blur-sigma applies to --mode blur, not %s", name);
    if (o->have_blur) p->blur_sigma = o->blur_sigma;
    if (o->fill) {
        if (p->mode != RM_ENCODE_NEGATIVE && p->mode != RM_ENCODE_SOFT)
            return cli_usage_error("encode", "--fill applies to the modes negative and soft, not %s", name);
        if ((rc = choose("--fill", o->fill, rm_encode_fill_names, RM_FILL_COUNT, &i)) != RM_EXIT_OK) return rc;
        p->fill = (rm_encode_fill)i;
    }
    if (o->have_floor && p->mode != RM_ENCODE_SOFT)
        return cli_usage_error("encode", "--floor applies to --mode soft, not %s", name);
    if (o->have_floor) p->floor = o->floor_w;
    if (o->channel_constant) {
        if (p->mode != RM_ENCODE_CHANNEL)
            return cli_usage_error("encode", "--channel-constant applies to --mode channel, not %s", name);
        if (!strcmp(o->channel_constant, "train-mean")) {
            p->channel = RM_CHANNEL_TRAIN_MEAN;
        } else {
            if (cli_parse_double("encode", "--channel-constant", o->channel_constant, 0, 1, &p->channel_value))
                return RM_EXIT_USAGE;
            p->channel = RM_CHANNEL_CONSTANT;
        }
    }
    if (rm_encode_params_check(p) != 0) return cli_usage_error("encode", "%s", rm_error_message());
    return RM_EXIT_OK;
}

int cmd_encode(int argc, char **argv)
{
    encode_options o = {.cfg = {.deflate_level = 4}};
    int done, rc = parse(argc, argv, &o, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    if ((rc = apply_options(&o)) != RM_EXIT_OK) return rc;
    o.cfg.command_line = cli_command_line();
    return rm_encode_file(&o.cfg, NULL) == 0 ? RM_EXIT_OK : cli_runtime_error();
}
