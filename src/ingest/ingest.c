/* The ingest stage: a format name and its input, dispatched to the format's
 * ingester. */
#include "ingest/ingest.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

typedef int (*ingester)(const char *input, const rm_ingest_options *opt);

const char *const rm_ingest_format_names[RM_INGEST_FORMATS] = {"fer2013", "folder", "jaffe", "ckplus", "idx", "npy"};
static const ingester ingesters[RM_INGEST_FORMATS] = {rm_ingest_fer2013, rm_ingest_folder, rm_ingest_jaffe,
                                                      rm_ingest_ckplus,  rm_ingest_idx,    rm_ingest_npy};

static int format_index(const char *format)
{
    for (int i = 0; format && i < RM_INGEST_FORMATS; i++)
        if (!strcmp(format, rm_ingest_format_names[i])) return i;
    return -1;
}

int rm_ingest_check(const rm_ingest_options *opt)
{
    const char *format = opt->format ? opt->format : "";
    if (format_index(format) < 0) {
        char list[256];
        size_t at = 0;
        for (int i = 0; i < RM_INGEST_FORMATS && at < sizeof list; i++) {
            const char *sep = i == 0 ? "" : i < RM_INGEST_FORMATS - 1 ? ", " : " or ";
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", sep, rm_ingest_format_names[i]);
        }
        return rm_error("unknown format '%s' (expected %s)", format, list);
    }
    if (!opt->input) return rm_error("%s: no input given", format);
    if (!opt->out_path) return rm_error("%s: no output file given", format);
    if ((!strcmp(format, "idx") || !strcmp(format, "npy")) && !opt->labels_path)
        return rm_error("%s needs --labels FILE", format);
    if (opt->unlabeled && strcmp(format, "folder") != 0)
        return rm_error("--unlabeled belongs to the folder format (a flat folder of images), not %s", format);
    if (opt->unlabeled && opt->class_map)
        return rm_error("--class-map maps class folders to classes; an --unlabeled folder has none (--classes "
                        "LIST names the classes of the model to match)");
    if (!!opt->test_images != !!opt->test_labels) return rm_error("--test-images and --test-labels go together");
    if (!(opt->split.val_fraction >= 0 && opt->split.test_fraction >= 0 &&
          opt->split.val_fraction + opt->split.test_fraction < 1))
        return rm_error("--val %g plus --test %g must be below 1", opt->split.val_fraction, opt->split.test_fraction);
    return 0;
}

int rm_ingest(const rm_ingest_options *opt)
{
    RM_TRY(rm_ingest_check(opt));
    return ingesters[format_index(opt->format)](opt->input, opt);
}
