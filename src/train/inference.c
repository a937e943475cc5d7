/* Inference of a saved model over a dataset split, shared by `relmask eval`
 * and `relmask predict`: the model-vs-dataset check, the record selection
 * (file order, as a loader without shuffling delivers it) and the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/h5util.h"
#include "core/ranks.h"
#include "nn/model_fold.h"
#include "train/train.h"

static int gray_or_rgb(int c) { return c == 1 || c == 3; }

int rm_model_check_dataset(const rm_model *m, const char *model_path, const rm_dataset *ds, rm_shape_policy shape)
{
    const rm_shape *in = &m->def.input;
    int differ = in->c != ds->channels || in->h != ds->height || in->w != ds->width;
    if (differ && shape == RM_SHAPE_RESIZE && !(gray_or_rgb(in->c) && gray_or_rgb(ds->channels)))
        return rm_error("%s expects %dx%dx%d inputs but %s holds %dx%dx%d images (channels x height x width); "
                        "--resize converts gray (1 channel) and RGB (3) images only: ingest the images again at "
                        "the model's input with --size %dx%d --channels %d",
                        model_path, in->c, in->h, in->w, ds->path, ds->channels, ds->height, ds->width, in->w, in->h,
                        in->c);
    if (differ && shape != RM_SHAPE_RESIZE)
        return rm_error("%s expects %dx%dx%d inputs but %s holds %dx%dx%d images (channels x height x width); "
                        "ingest the images again at the model's input with --size %dx%d --channels %d%s%s",
                        model_path, in->c, in->h, in->w, ds->path, ds->channels, ds->height, ds->width, in->w, in->h,
                        in->c,
                        in->c == ds->channels ? ", or, for a fully convolutional imported model, import it again "
                                                "with --size at the data's size"
                                              : "",
                        shape == RM_SHAPE_OFFER_RESIZE && gray_or_rgb(in->c) && gray_or_rgb(ds->channels)
                            ? ", or pass --resize to convert the images to the model's input as they are read"
                            : "");
    if (m->num_classes != ds->num_classes)
        return rm_error("%s has %d classes but %s has %d; ingest the data with --classes naming the model's "
                        "classes (relmask info %s lists them)",
                        model_path, m->num_classes, ds->path, ds->num_classes, model_path);
    for (int c = 0; c < m->num_classes; c++)
        if (strcmp(m->class_names[c], ds->class_names[c]) != 0) {
            char list[1024] = "";
            size_t len = 0;
            for (int k = 0; k < m->num_classes && len < sizeof list; k++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? "," : "",
                                        m->class_names[k]);
            return rm_error("%s and %s name their classes differently: class %d is '%s' in the model but '%s' "
                            "in the dataset; ingest the data again in the model's class order with "
                            "--classes %s%s (class folders and expression codes are assigned by name; "
                            "--class-map FILE maps other folder names)", model_path, ds->path, c,
                            m->class_names[c], ds->class_names[c], list,
                            len >= sizeof list ? "..." : "");
        }
    return 0;
}

void rm_resize_describe(const rm_model *m, const rm_dataset *ds, char *out, size_t size)
{
    const rm_shape *in = &m->def.input;
    if (in->c == ds->channels && in->h == ds->height && in->w == ds->width) {
        if (size) *out = 0;
        return;
    }
    snprintf(out, size, "%dx%dx%d from %dx%dx%d", in->c, in->h, in->w, ds->channels, ds->height, ds->width);
}

/* Labels and record indices of the selected split, in file order. */
static int select_records(rm_inference *inf, const rm_dataset *ds, int split)
{
    int64_t n = 0;
    for (size_t i = 0; i < ds->count; i++) n += split < 0 || ds->split[i] == split;
    if (n == 0)
        return split < 0 ? rm_error("%s: the file has no records", ds->path)
                         : rm_error("%s: the %s split is empty%s", ds->path, rm_split_label(split),
                                    ds->unlabeled ? " (every record of an unlabeled dataset is in split unlabeled)"
                                                  : "");
    inf->labels = rm_malloc(sizeof *inf->labels * (size_t)n, "labels");
    inf->indices = rm_malloc(sizeof *inf->indices * (size_t)n, "record indices");
    if (!inf->labels || !inf->indices) return -1;
    int64_t k = 0;
    for (size_t i = 0; i < ds->count; i++)
        if (split < 0 || ds->split[i] == split) {
            inf->labels[k] = ds->labels[i];
            inf->indices[k++] = (int64_t)i;
        }
    inf->count = n;
    return 0;
}

/* Opens the dataset only to check it against the model and select records;
 * the loader reopens it (it normalizes per model input channel, so the
 * shapes must agree, or be converted with --resize, before it is opened). */
static int inspect_dataset(rm_inference *inf, const char *data_path, int split, int allow_unlabeled, int resize)
{
    rm_dataset ds;
    RM_TRY(allow_unlabeled ? rm_dataset_open_unlabeled_ok(&ds, data_path) : rm_dataset_open(&ds, data_path));
    inf->unlabeled = ds.unlabeled;
    int rc = rm_dataset_adopt_class_names(&ds, inf->model.num_classes, (const char *const *)inf->model.class_names,
                                          inf->model_path);
    if (rc == 0)
        rc = rm_model_check_dataset(&inf->model, inf->model_path, &ds,
                                    resize ? RM_SHAPE_RESIZE : RM_SHAPE_OFFER_RESIZE);
    if (rc == 0) rm_resize_describe(&inf->model, &ds, inf->resize, sizeof inf->resize);
    if (rc == 0) rc = select_records(inf, &ds, split);
    if (rc == 0)
        rm_dataset_fingerprint(inf->data_fingerprint, (int64_t)ds.count, ds.channels, ds.height, ds.width,
                               ds.labels, ds.split);
    rm_dataset_close(&ds);
    return rc;
}

/* Under mpirun: rank r takes the r-th `batch` rows of every R batches (the
 * loader's parts), so each record goes through the same slices of the
 * network as in one process; the logits are gathered on every rank, put
 * back in record order, and the result computed from them. */
static int gather_shards(rm_inference *inf, const float *mine, int64_t mine_rows, int batch, float *logits)
{
    const int ranks = rm_ranks_size(), k = inf->model.num_classes;
    const size_t n = (size_t)inf->count;
    float *by_rank = rm_malloc(sizeof *by_rank * n * (size_t)k, "gathered logits");
    int rc = by_rank ? rm_ranks_allgather_floats(mine, (size_t)mine_rows * (size_t)k, by_rank, n * (size_t)k) : -1;
    /* rank r's j-th row is row (j / batch) R batch + r batch + j % batch */
    size_t at = 0;
    for (int r = 0; rc == 0 && r < ranks; r++)
        for (size_t j = 0;; j++) {
            size_t pos = (j / (size_t)batch) * (size_t)ranks * (size_t)batch + (size_t)r * (size_t)batch +
                         j % (size_t)batch;
            if (pos >= n) break;
            memcpy(logits + pos * (size_t)k, by_rank + at * (size_t)k, sizeof *logits * (size_t)k);
            at++;
        }
    if (rc == 0 && at != n) rc = rm_error("gathered %zu of %zu rows of logits", at, n);
    free(by_rank);
    return rc;
}

static int run_net(rm_inference *inf, const char *data_path, int split, int batch, int want_logits)
{
    const rm_model *m = &inf->model;
    const int ranks = rm_ranks_size();
    if (batch > inf->count) batch = (int)inf->count;
    if (want_logits || ranks > 1) {
        inf->logits = rm_malloc(sizeof *inf->logits * (size_t)inf->count * (size_t)m->num_classes, "logits");
        if (!inf->logits) return -1;
    }
    rm_infer_net net;
    memset(&net, 0, sizeof net);
    rm_loader *loader = NULL;
    /* One pass in file order: a 4 MiB window of chunks streams, where caching the split grew memory with the
     * record count (docs/benchmarks.md, "Memory"). */
    rm_loader_config lc = {.path = data_path, .split = split, .batch = batch * ranks, .mean = m->norm_mean,
                           .std = m->norm_std, .cache_bytes = (size_t)4 << 20, .allow_unlabeled = inf->unlabeled,
                           .part = rm_ranks_rank(), .parts = ranks, .input_channels = m->def.input.c,
                           .input_height = m->def.input.h, .input_width = m->def.input.w};
    float *mine = ranks > 1 ? rm_malloc(sizeof *mine * (size_t)inf->count * (size_t)m->num_classes, "logits") : NULL;
    int rc = ranks > 1 && !mine ? -1 : 0;
    if (rc == 0) rc = rm_infer_net_create(&net, m, batch);
    if (rc == 0) rc = rm_loader_open(&loader, &lc);
    if (rc == 0 && ranks == 1) rc = rm_evaluate(&net.net, loader, &inf->result, inf->logits);
    if (rc == 0 && ranks > 1) rc = rm_evaluate_part(&net.net, loader, &inf->result, mine);
    if (ranks > 1) {
        int64_t rows = rc == 0 ? inf->result.count : 0;
        rm_eval_result_free(&inf->result);
        if ((rc = rm_ranks_agree(rc)) == 0) rc = gather_shards(inf, mine, rows, batch, inf->logits);
        if (rc == 0) rc = rm_eval_logits(&inf->result, inf->logits, inf->labels, inf->count, m->num_classes);
    }
    if (rc == 0 && inf->result.count != inf->count)
        rc = rm_error("%s: evaluated %lld records, expected %lld", data_path, (long long)inf->result.count,
                      (long long)inf->count);
    free(mine);
    rm_loader_close(loader);
    rm_infer_net_destroy(&net);
    return rc;
}

/* rm_model keeps the parsed definition, whose name comes from the source;
 * the name the network was trained under is the net_name attribute. */
static int read_net_name(rm_inference *inf, const char *model_path)
{
    snprintf(inf->net_name, sizeof inf->net_name, "%s", inf->model.def.name);
    hid_t f = H5Fopen(model_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return rm_h5_error("%s: cannot open HDF5 file", model_path);
    char *name = NULL;
    int rc = rm_h5_attr_exists(f, "net_name") ? rm_h5_attr_get_string(f, "net_name", &name) : 0;
    H5Fclose(f);
    if (rc != 0) return rm_error_prefix("%s", model_path);
    if (name) snprintf(inf->net_name, sizeof inf->net_name, "%s", name);
    free(name);
    return 0;
}

int rm_inference_run_with(rm_inference *inf, const char *model_path, const char *data_path,
                          const rm_inference_options *opt)
{
    const int split = opt->split, batch = opt->batch;
    memset(inf, 0, sizeof *inf);
    inf->model_path = model_path;
    if (batch < 1) return rm_error("batch size %d, expected >= 1", batch);
    RM_TRY(rm_model_load(&inf->model, model_path));
    int planned = rm_model_planned_epochs(&inf->model);
    if (inf->model.num_epochs > 0 && planned > inf->model.num_epochs)
        rm_warn("%s is from an incomplete training run (%d of %d epochs; relmask info %s says how to continue it)",
                model_path, inf->model.num_epochs, planned, model_path);
    RM_TRY(read_net_name(inf, model_path));
    RM_TRY(inspect_dataset(inf, data_path, split, opt->allow_unlabeled, opt->resize));
    return run_net(inf, data_path, split, batch, opt->want_logits);
}

int rm_inference_run(rm_inference *inf, const char *model_path, const char *data_path, int split, int batch,
                     int want_logits)
{
    rm_inference_options opt = {.split = split, .batch = batch, .want_logits = want_logits};
    return rm_inference_run_with(inf, model_path, data_path, &opt);
}

int rm_inference_run_unlabeled_ok(rm_inference *inf, const char *model_path, const char *data_path, int split,
                                  int batch, int want_logits)
{
    rm_inference_options opt = {.split = split, .batch = batch, .want_logits = want_logits, .allow_unlabeled = 1};
    return rm_inference_run_with(inf, model_path, data_path, &opt);
}

void rm_inference_free(rm_inference *inf)
{
    rm_model_free(&inf->model);
    rm_eval_result_free(&inf->result);
    free(inf->logits);
    free(inf->labels);
    free(inf->indices);
    memset(inf, 0, sizeof *inf);
}
