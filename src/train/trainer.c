/* relmask train: minibatch SGD/Adam on a dataset's train split, validation
 * on its val split every epoch, the best model by validation accuracy in
 * --out, and an atomic checkpoint (<out>.ckpt: weights, optimizer state,
 * history) after every epoch that --resume continues from. Batches, their
 * order, augmentation and dropout depend only on the seed and the epoch, so
 * a resumed run repeats what the interrupted one would have done.
 *
 * With --encoded E.h5 the train split's images come from E.h5 or the raw
 * dataset per the schedule (a pure function of seed, epoch and record, so
 * resuming repeats it too); validation always reads the raw dataset, except
 * when E.h5 carries an extra relevance channel the network needs (encode
 * --mode channel): then both read E.h5. --init-from starts from another
 * model's weights instead of the seeded initialization. --distill adds
 * knowledge distillation: the teacher's logits for every train record are
 * loaded once (train/distill.h), from the raw images also with --encoded,
 * and every sample of a record, augmented or not, gets that soft target.
 *
 * Under mpirun (docs/scale.md), synchronous data-parallel SGD: rank r takes
 * the r-th of R equal slices of every batch, the gradients are averaged
 * over the ranks (MPI_Allreduce) before each update, so --batch and --lr
 * mean what they mean in one process; batchnorm normalizes with each
 * rank's own batch statistics, and its running statistics are averaged
 * over the ranks at the end of every epoch. Every rank validates; rank 0
 * writes the model and the checkpoint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/argmax.h"
#include "core/error.h"
#include "core/h5lock.h"
#include "core/h5util.h"
#include "core/output.h"
#include "core/progress.h"
#include "core/ranks.h"
#include "core/resume_command.h"
#include "train/distill.h"
#include "train/train.h"

void rm_train_config_defaults(rm_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 10;
    cfg->batch = 64;
    cfg->eval_batch = 256;
    rm_optim_config_defaults(&cfg->optim, RM_OPT_SGD);
    cfg->seed = 1;
    cfg->kd_temperature = 4;
    cfg->kd_alpha = 0.5;
}

typedef struct {
    const rm_train_config *cfg;
    rm_model model;              /* best weights so far + history */
    rm_net net, eval_net;
    rm_optimizer opt;
    rm_loader *train, *val;
    char *ckpt_path;
    int start_epoch;
    rm_encoded_schedule sched;   /* the run's schedule (NONE without --encoded) */
    int channel_mode;            /* E.h5 has the network's extra input channel */
    const char *train_path;      /* the train loader's file */
    const char *alt_path;        /* its second source (NULL: none) */
    const char *val_path;        /* the validation loader's file */
    double fixed_share;          /* encoded share of every epoch when there is no second source */
    rm_model init_model;         /* --init-from, until the weights are copied */
    int init_loaded;
    rm_teacher teacher;          /* --distill: the teacher's logits of every train record */
    float *teacher_batch;        /* [batch, K]: the rows of the current batch */
} trainer;

/* What prepare_model learns about E.h5 for the training parameters. */
typedef struct {
    char fingerprint[17];
    char *mode;
    int flags_present;
    int64_t flagged, train_records;
} encoded_info;

/* --- setup ---------------------------------------------------------------- */

static int describe_params(trainer *t, const rm_dataset *ds, const encoded_info *enc)
{
    const rm_train_config *c = t->cfg;
    const char *net = c->net ? c->net : t->model.def.name;
    size_t size = 2048 + strlen(net) + (c->encoded_path ? strlen(c->encoded_path) : 0) +
                  (c->distill_path ? strlen(c->distill_path) : 0) +
                  (c->init_from ? strlen(c->init_from) : 0) + (enc->mode ? strlen(enc->mode) : 0);
    char *text = rm_malloc(size, "training parameters");
    if (!text) return -1;
    int k = snprintf(text, size,
             "net=%s\nepochs=%d\nbatch=%d\noptimizer=%s\nlr=%g\nmomentum=%g\nnesterov=%d\nweight_decay=%g\n"
             "schedule=%s\nwarmup_epochs=%d\nhflip=%d\nshift=%d\nrotate=%g\ninit=%s\nseed=%llu\n",
             net, c->epochs, c->batch, c->optim.kind == RM_OPT_ADAM ? "adam" : "sgd", c->optim.lr,
             c->optim.momentum, c->optim.nesterov, c->optim.weight_decay,
             c->optim.schedule == RM_LR_COSINE ? "cosine" : c->optim.schedule == RM_LR_STEP ? "step" : "constant",
             c->optim.warmup_epochs, c->augment.hflip, c->augment.shift, c->augment.rotate_deg,
             c->init == RM_INIT_GLOROT ? "glorot" : "he", (unsigned long long)c->seed);
    if (c->input_channels) k += snprintf(text + k, size - (size_t)k, "input_channels=%d\n", c->input_channels);
    if (rm_ranks_size() > 1) k += snprintf(text + k, size - (size_t)k, "ranks=%d\n", rm_ranks_size());
    if (c->encoded_path) {
        char sched[96];
        rm_encoded_schedule_text(&t->sched, sched, sizeof sched);
        k += snprintf(text + k, size - (size_t)k, "encoded=%s\nencoded_fingerprint=%s\nencoded_mode=%s\n"
                      "encoded_schedule=%s\nencoded_channel_input=%d\n", c->encoded_path, enc->fingerprint,
                      enc->mode ? enc->mode : "unknown", sched, t->channel_mode);
        if (enc->flags_present)
            k += snprintf(text + k, size - (size_t)k, "encoded_flagged=%lld/%lld\n", (long long)enc->flagged,
                          (long long)enc->train_records);
    }
    if (c->init_from) {
        char fp[17];
        rm_model_fingerprint(fp, &t->init_model);
        k += snprintf(text + k, size - (size_t)k, "init_from=%s\ninit_from_fingerprint=%s\n", c->init_from, fp);
    }
    if (c->distill_path)
        snprintf(text + k, size - (size_t)k, "distill=%s\ndistill_kind=%s\ndistill_fingerprint=%s\n"
                 "distill_targets_fingerprint=%s\nkd_temperature=%.10g\nkd_alpha=%.10g\n", c->distill_path,
                 t->teacher.kind, t->teacher.source_fingerprint, t->teacher.targets_fingerprint, c->kd_temperature,
                 c->kd_alpha);
    t->model.train_params = text;
    t->model.dataset_path = rm_strdup(c->data_path);
    char fp[17];
    rm_dataset_fingerprint(fp, (int64_t)ds->count, ds->channels, ds->height, ds->width, ds->labels, ds->split);
    t->model.dataset_fingerprint = rm_strdup(fp);
    if (!t->model.dataset_path || !t->model.dataset_fingerprint) return -1;
    return rm_model_set_classes(&t->model, ds->num_classes, ds->class_names);
}

/* The value of `key` in "key=value" lines ("" when absent). */
static void param_value(const char *params, const char *key, char *out, size_t size)
{
    size_t n = strlen(key);
    out[0] = 0;
    for (const char *p = params; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && !strncmp(p, key, n) && p[n] == '=') {
            snprintf(out, size, "%.*s", (int)(len - n - 1), p + n + 1);
            return;
        }
        p = end ? end + 1 : p + len;
    }
}

/* The encoding mode E.h5 was made with: its encode_mode or mode attribute,
 * else a mode= line of its encode_parameters; NULL when it says nothing. */
static int read_encode_mode(const rm_dataset *enc, char **mode)
{
    *mode = NULL;
    static const char *const attrs[] = {"encode_mode", "mode"};
    for (int i = 0; i < 2 && !*mode; i++) {
        rm_hdf5_lock();
        int rc = rm_dataset_read_attr(enc, attrs[i], mode);
        rm_hdf5_unlock();
        RM_TRY(rc);
    }
    if (*mode) return 0;
    char *params = NULL, value[256];
    rm_hdf5_lock();
    int rc = rm_dataset_read_attr(enc, "encode_parameters", &params);
    rm_hdf5_unlock();
    RM_TRY(rc);
    param_value(params, "mode", value, sizeof value);
    free(params);
    if (value[0] && !(*mode = rm_strdup(value))) return -1;
    return 0;
}

/* Whether the schedule takes every training sample from E.h5, or none. */
static int schedule_always(const rm_encoded_schedule *s, int encoded)
{
    if (s->kind == RM_ENCODED_EPOCHS) return encoded ? s->epochs >= s->total_epochs : s->epochs <= 0;
    if (s->kind == RM_ENCODED_SHARE)
        return encoded ? s->share0 >= 1 && s->share1 >= 1 : s->share0 <= 0 && s->share1 <= 0;
    return !encoded;
}

/* A student with a relevance channel reads that plane when it is validated
 * and tested: val or test records encoded without relevance (a zero plane,
 * /encoded = 0) are refused unless allowed. */
static int check_channel_relevance(const rm_dataset *d, const rm_train_config *c)
{
    int64_t flagged[2], total[2];
    int present = 0, rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++)   /* (takes the HDF5 lock itself) */
        rc = rm_dataset_count_flags(d, "encoded", s ? RM_SPLIT_TEST : RM_SPLIT_VAL, &flagged[s], &total[s], &present);
    RM_TRY(rc);
    if (!present || (flagged[0] == total[0] && flagged[1] == total[1])) return 0;
    if (c->allow_missing_relevance) {
        rm_warn("%s: %lld val and %lld test records have a zero relevance plane (--allow-missing-relevance)", d->path,
                (long long)(total[0] - flagged[0]), (long long)(total[1] - flagged[1]));
        return 0;
    }
    return rm_error("%s: %lld of %lld val records and %lld of %lld test records have no relevance (a zero "
                    "relevance plane), and a channel student is validated and tested with that plane: explain "
                    "every split (relmask relevance --split all), or pass --allow-missing-relevance to accept it",
                    d->path, (long long)(total[0] - flagged[0]), (long long)total[0],
                    (long long)(total[1] - flagged[1]), (long long)total[1]);
}

/* Checks E.h5 against the raw dataset, decides which file each loader
 * reads and gathers what the training parameters record about E.h5. */
static int check_encoded(trainer *t, const rm_dataset *raw, const rm_dataset *enc, encoded_info *info)
{
    const rm_train_config *c = t->cfg;
    const rm_netdef *def = &t->model.def;
    RM_TRY(rm_dataset_check_same_records(raw, enc, 0));
    if (enc->channels != raw->channels) {
        if (enc->channels != raw->channels + 1 || def->input.c != enc->channels)
            return rm_error("%s holds %d-channel images but %s %d-channel ones; an encoded file may add one channel "
                            "(encode --mode channel) only for a network that takes it, and network %s expects %d",
                            enc->path, enc->channels, raw->path, raw->channels, def->name, def->input.c);
        if (!schedule_always(&t->sched, 1)) {
            char sched[96];
            rm_encoded_schedule_text(&t->sched, sched, sizeof sched);
            return rm_error("%s has an extra relevance channel (encode --mode channel) that network %s needs and "
                            "raw %s lacks, so every epoch must train on %s; the schedule %s would mix in raw "
                            "images: leave out --encoded-epochs/--encoded-share (or use --encoded-epochs %d)",
                            enc->path, def->name, raw->path, enc->path, sched, c->epochs);
        }
        t->channel_mode = 1;
        RM_TRY(check_channel_relevance(enc, c));
        rm_log("note: %s has %d channels and %s %d: network %s takes the extra relevance channel, so training "
               "and validation both use %s (its val split) in every epoch", enc->path, enc->channels, raw->path,
               raw->channels, def->name, enc->path);
    }
    char *format = NULL;
    rm_hdf5_lock();
    int rc = rm_dataset_read_attr(enc, "source_format", &format);
    rm_hdf5_unlock();
    RM_TRY(rc);
    if (!format || strcmp(format, "encoded") != 0)
        rm_warn("%s: source_format is '%s', not 'encoded'; using it as the encoded copy of %s anyway", enc->path,
                format ? format : "(none)", raw->path);
    free(format);
    RM_TRY(read_encode_mode(enc, &info->mode));
    RM_TRY(rm_dataset_count_flags(enc, "encoded", RM_SPLIT_TRAIN, &info->flagged, &info->train_records,
                                  &info->flags_present));
    if (info->flags_present)
        rm_log("%s: %lld of %lld train records encoded, %lld copied raw (no relevance)", enc->path,
               (long long)info->flagged, (long long)info->train_records,
               (long long)(info->train_records - info->flagged));
    else
        rm_log("%s has no /encoded flags: every record counts as encoded", enc->path);
    return rm_dataset_content_fingerprint(enc, info->fingerprint);
}

/* Which file each loader reads: the raw dataset, E.h5, or the raw dataset
 * with E.h5 as the second source the schedule chooses from. */
static void choose_files(trainer *t)
{
    const rm_train_config *c = t->cfg;
    t->train_path = t->val_path = c->data_path;
    t->alt_path = NULL;
    t->fixed_share = 0;
    if (!c->encoded_path) return;
    if (t->channel_mode) t->val_path = c->encoded_path;
    if (t->channel_mode || schedule_always(&t->sched, 1)) {
        t->train_path = c->encoded_path;   /* only E.h5: one file in memory */
        t->fixed_share = 1;
    } else if (!schedule_always(&t->sched, 0)) {
        t->alt_path = c->encoded_path;
    }
}

static int open_dataset(rm_dataset *ds, const char *path)
{
    rm_hdf5_lock();
    int rc = rm_dataset_open(ds, path);
    rm_hdf5_unlock();
    return rc;
}

static void close_dataset(rm_dataset *ds)
{
    rm_hdf5_lock();
    rm_dataset_close(ds);
    rm_hdf5_unlock();
}

/* Reads dataset facts (shape, classes, normalization) and checks them
 * against the network definition; with --encoded checks E.h5 too. */
static int prepare_model(trainer *t)
{
    rm_model *m = &t->model;
    const rm_train_config *c = t->cfg;
    if (c->init_from) {
        rm_hdf5_lock();
        int lrc = rm_model_load(&t->init_model, c->init_from);
        rm_hdf5_unlock();
        if (lrc != 0) return rm_error_prefix("--init-from");
        t->init_loaded = 1;
    }
    /* without --net, fine-tuning keeps the network of the model it starts from */
    if (c->net) RM_TRY(rm_netdef_find(&m->def, c->net));
    else RM_TRY(rm_netdef_parse(&m->def, t->init_model.def.text, c->init_from));
    if (c->input_channels) RM_TRY(rm_netdef_set_input_channels(&m->def, c->input_channels));
    rm_dataset ds, enc;
    encoded_info info;
    memset(&info, 0, sizeof info);
    RM_TRY(open_dataset(&ds, c->data_path));
    int rc = 0, enc_open = 0;
    /* --data itself a channel encoding (encode --mode channel) */
    rm_hdf5_lock();
    int data_channel = rm_h5_attr_exists((hid_t)ds.hfile, "relevance_channel");
    rm_hdf5_unlock();
    if (data_channel) rc = check_channel_relevance(&ds, c);
    if (rc == 0 && c->encoded_path) {
        rc = open_dataset(&enc, c->encoded_path);
        enc_open = rc == 0;
        if (rc == 0) rc = check_encoded(t, &ds, &enc, &info);
    }
    const rm_dataset *feed = t->channel_mode ? &enc : &ds;
    /* A network with another class count: its last dense layer gets one
     * output per class (--strict-net refuses instead). */
    if (rc == 0 && feed->num_classes != m->def.classes && !c->strict_net) {
        int was = m->def.classes;
        rc = rm_netdef_set_classes(&m->def, feed->num_classes);
        if (rc == 0)
            rm_log("note: network %s has %d outputs and %s %d classes: its last dense layer now has %d outputs "
                   "(--strict-net refuses instead)",
                   m->def.name, was, feed->path, feed->num_classes, feed->num_classes);
    }
    /* eval, predict and relevance --resize convert on the fly; fine-tuning at another size is ingesting again */
    const char *no_resize = c->init_from ? "; train takes no --resize (eval, predict and relevance do): to fine-tune "
                                           "at the network's input, ingest the images again at its size" : "";
    if (rc != 0) {
        /* reported */
    } else if (feed->height != m->def.input.h || feed->width != m->def.input.w)
        rc = rm_error("network %s expects %dx%dx%d inputs but %s holds %dx%dx%d images; ingest the images at "
                      "--size %dx%d, or train a network made for %dx%d (a copy of its .cfg with input = %dx%dx%d "
                      "and layers that fit, as nets/fer-small-28.cfg is for 28x28)%s",
                      m->def.name, m->def.input.c, m->def.input.h, m->def.input.w, feed->path, feed->channels,
                      feed->height, feed->width, m->def.input.w, m->def.input.h, feed->width, feed->height,
                      feed->channels, feed->height, feed->width, no_resize);
    else if (feed->channels != m->def.input.c)
        rc = rm_error("network %s expects %dx%dx%d inputs but %s holds %dx%dx%d images; give --input-channels %d "
                      "to widen its first layer (an encoded file with a relevance channel), or ingest the images "
                      "with --channels %d%s",
                      m->def.name, m->def.input.c, m->def.input.h, m->def.input.w, feed->path, feed->channels,
                      feed->height, feed->width, feed->channels, m->def.input.c, no_resize);
    else if (feed->num_classes != m->def.classes)
        rc = rm_error("network %s has %d outputs but %s has %d classes (--strict-net: leave it out to give the "
                      "last dense layer one output per class)", m->def.name, m->def.classes, feed->path,
                      feed->num_classes);
    if (rc == 0) {
        m->channels = feed->channels;
        m->norm_mean = rm_malloc(sizeof(float) * (size_t)feed->channels, "normalization");
        m->norm_std = rm_malloc(sizeof(float) * (size_t)feed->channels, "normalization");
        rc = !m->norm_mean || !m->norm_std ? -1 : 0;
    }
    /* The statistics of the images the model is validated (and used) on. */
    if (rc == 0) rc = rm_dataset_channel_stats(feed, RM_SPLIT_TRAIN, m->norm_mean, m->norm_std);
    /* The teacher sees the raw images (also with --encoded). */
    if (rc == 0 && c->distill_path)
        rc = rm_teacher_load(&t->teacher, c->distill_path, c->data_path, &ds, c->eval_batch);
    if (rc == 0 && c->distill_path) {
        t->teacher_batch = rm_malloc(sizeof(float) * (size_t)c->batch * (size_t)m->def.classes, "teacher batch");
        if (!t->teacher_batch) rc = -1;
    }
    if (rc == 0) rc = describe_params(t, &ds, &info);
    if (rc == 0) choose_files(t);
    free(info.mode);
    if (enc_open) close_dataset(&enc);
    close_dataset(&ds);
    return rc;
}

static int open_loaders(trainer *t)
{
    const rm_train_config *c = t->cfg;
    rm_loader_config lc = {
        .path = t->train_path, .split = RM_SPLIT_TRAIN, .batch = c->batch, .shuffle = 1, .drop_last = 1,
        .augment = c->augment, .mean = t->model.norm_mean, .std = t->model.norm_std, .seed = c->seed,
        .cache_bytes = c->cache_bytes, .alt_path = t->alt_path, .choose = rm_encoded_choose,
        .choose_ctx = &t->sched, .part = rm_ranks_rank(), .parts = rm_ranks_size(),
    };
    RM_TRY(rm_loader_open(&t->train, &lc));
    if (rm_loader_batches(t->train) == 0)
        return rm_error("%s: the train split has %zu records, fewer than one batch of %d", t->train_path,
                        rm_loader_size(t->train), c->batch);
    rm_loader_config vc = lc;
    vc.path = t->val_path;
    vc.alt_path = NULL;
    vc.split = RM_SPLIT_VAL;
    vc.batch = c->eval_batch;
    vc.shuffle = vc.drop_last = 0;
    vc.part = 0, vc.parts = 1;   /* every rank validates on the whole split */
    memset(&vc.augment, 0, sizeof vc.augment);
    return rm_loader_open(&t->val, &vc);
}

/* --- checkpoints ----------------------------------------------------------- */

typedef struct { trainer *t; int epochs_done; } ckpt_ctx;

/* Optimizer state in the plain parameter layout, so a checkpoint does not
 * depend on the layouts oneDNN picked on this CPU. */
static int state_copy(trainer *t, int64_t file, int write_to_file)
{
    hid_t f = (hid_t)file;
    int slot = 0;
    for (int i = 0; i < t->net.num_layers; i++)
        for (int p = 0; p < t->net.layers[i].num_params; p++) {
            rm_param *prm = &t->net.layers[i].params[p];
            if (!prm->learnable) continue;
            rm_opt_slot *s = &t->opt.slots[slot++];
            float *bufs[2] = {s->m, s->v};
            for (int k = 0; k < 2 && bufs[k]; k++) {
                const dnnl_memory_desc_t *md;
                dnnl_memory_get_memory_desc(prm->value, &md);
                dnnl_memory_t view;
                RM_DNNL_TRY(dnnl_memory_create(&view, md, t->net.dnn.engine, bufs[k]));
                int64_t n = rm_param_plain_count(prm);
                float *plain = rm_malloc(sizeof *plain * (size_t)n, "optimizer state");
                char path[128];
                snprintf(path, sizeof path, "/optimizer/%s.%s.%s", t->net.layers[i].def->name, prm->name, k ? "v" : "m");
                int rc = plain ? 0 : -1;
                rm_param as_state = *prm;
                as_state.value = view;
                if (rc == 0 && write_to_file) {
                    rc = rm_net_param_read(&t->net, &as_state, plain);
                    hsize_t dim = (hsize_t)n;
                    if (rc == 0) rc = rm_h5_write_dataset(f, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &dim, plain);
                } else if (rc == 0) {
                    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
                    if (d < 0) rc = rm_error("checkpoint lacks %s", path);
                    else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, plain) < 0)
                        rc = rm_h5_error("reading %s", path);
                    if (d >= 0) H5Dclose(d);
                    if (rc == 0) rc = rm_net_param_write(&t->net, &as_state, plain);
                }
                free(plain);
                dnnl_memory_destroy(view);
                RM_TRY(rc);
            }
        }
    return 0;
}

static int write_ckpt_extra(int64_t file, void *p)
{
    ckpt_ctx *c = p;
    hid_t f = (hid_t)file;
    hid_t g = H5Gcreate2(f, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return rm_h5_error("creating /optimizer");
    H5Gclose(g);
    RM_TRY(rm_h5_attr_set_int(f, "checkpoint_epochs_done", c->epochs_done));
    RM_TRY(rm_h5_attr_set_int(f, "checkpoint_optimizer_step", c->t->opt.step));
    return state_copy(c->t, file, 1);
}

/* The checkpoint holds the *current* weights; the model file the best. */
static int save_checkpoint(trainer *t, int epochs_done)
{
    rm_model current = t->model;           /* shares metadata; own tensors below */
    current.tensors = NULL;
    current.num_tensors = 0;
    int rc = rm_model_capture(&current, &t->net);
    ckpt_ctx ctx = {t, epochs_done};
    rm_hdf5_lock();
    if (rc == 0) rc = rm_model_save_ex(&current, t->ckpt_path, 1, t->cfg->command_line, write_ckpt_extra, &ctx);
    rm_hdf5_unlock();
    for (int i = 0; i < current.num_tensors; i++) free(current.tensors[i].data);
    free(current.tensors);
    return rc;
}

static int resume_from_checkpoint(trainer *t)
{
    rm_model ck;
    rm_hdf5_lock();
    int rc = rm_model_load(&ck, t->ckpt_path);
    rm_hdf5_unlock();
    RM_TRY(rc);
    if (strcmp(ck.dataset_fingerprint, t->model.dataset_fingerprint) != 0 || strcmp(ck.def.text, t->model.def.text) != 0)
        rc = rm_error("%s was made for another dataset or network; remove it or train without --resume", t->ckpt_path);
    static const char *const same[] = {"encoded_fingerprint", "encoded_schedule", "distill_targets_fingerprint",
                                       "kd_temperature", "kd_alpha", "ranks"};
    for (int i = 0; i < (int)(sizeof same / sizeof same[0]) && rc == 0; i++) {
        char was[128], now[128];
        param_value(ck.train_params, same[i], was, sizeof was);
        param_value(t->model.train_params, same[i], now, sizeof now);
        if (strcmp(was, now) != 0 && !strcmp(same[i], "ranks")) {
            char how[160] = "one process (no mpirun)";
            if (was[0]) snprintf(how, sizeof how, "mpirun -np %s", was);
            rc = rm_error("%s was made by %s rank%s and this run has %s: resume it with %s (batchnorm's batch "
                          "statistics and the order of the gradient sums depend on the rank count)", t->ckpt_path,
                          was[0] ? was : "1", was[0] ? "s" : "", now[0] ? now : "1", how);
        }
        else if (strcmp(was, now) != 0)
            rc = rm_error("%s was made with %s=%s, this run has %s; remove it or train without --resume",
                          t->ckpt_path, same[i], was[0] ? was : "(none)", now[0] ? now : "(none)");
    }
    if (rc == 0) rc = rm_model_apply(&ck, &t->net);
    rm_hdf5_lock();
    hid_t f = rc ? -1 : H5Fopen(t->ckpt_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int64_t done = 0, step = 0;
    if (rc == 0 && f < 0) rc = rm_h5_error("%s: cannot open", t->ckpt_path);
    if (rc == 0) rc = rm_h5_attr_get_int(f, "checkpoint_epochs_done", &done);
    if (rc == 0) rc = rm_h5_attr_get_int(f, "checkpoint_optimizer_step", &step);
    if (rc == 0) rc = state_copy(t, f, 0);
    if (f >= 0) H5Fclose(f);
    rm_hdf5_unlock();
    if (rc == 0) {
        t->start_epoch = (int)done;
        t->opt.step = step;
        t->net.step = (uint64_t)step;
        free(t->model.history);
        t->model.history = ck.history;
        t->model.num_epochs = ck.num_epochs;
        ck.history = NULL;
        t->model.best_epoch = ck.best_epoch;
        t->model.best_val_acc = ck.best_val_acc;
        /* the best weights so far are in the model file */
        rm_model best;
        rm_hdf5_lock();
        int brc = rm_model_load(&best, t->cfg->out_path);
        rm_hdf5_unlock();
        if (brc == 0) {
            t->model.tensors = best.tensors;
            t->model.num_tensors = best.num_tensors;
            best.tensors = NULL;
            best.num_tensors = 0;
            rm_model_free(&best);
        } else {
            rc = rm_model_capture(&t->model, &t->net);
        }
        rm_log("resuming %s after epoch %d", t->cfg->out_path, t->start_epoch);
    }
    rm_model_free(&ck);
    if (rc != 0) rm_error_prefix("--resume");
    return rc;
}

/* --- the loop --------------------------------------------------------------- */

static int count_correct(const float *probs, const int32_t *labels, int n, int k)
{
    int correct = 0;
    for (int i = 0; i < n; i++) {
        correct += rm_argmax(probs + (size_t)i * k, k) == labels[i];
    }
    return correct;
}

#define DIVERGED_LOSS 1e6

/* Data-parallel: a layer's gradients are final once its backward has run,
 * so their sum over the ranks starts there and overlaps the backward of the
 * layers below; every layer lets the sums started so far advance. */
static int start_gradient_sums(void *ctx, rm_layer *l)
{
    (void)ctx;
    for (int p = 0; p < l->num_params; p++)
        if (l->params[p].learnable)
            RM_TRY(rm_ranks_sum_floats_start(rm_memory_ptr(l->params[p].grad),
                                             rm_memory_floats(l->params[p].value)));
    return rm_ranks_progress();
}

/* Data-parallel: every rank's gradients (summed during backward by
 * start_gradient_sums) and its batch's mean loss become their mean over
 * the ranks. */
static int average_gradients(trainer *t, double *loss)
{
    const int ranks = rm_ranks_size();
    if (ranks == 1) return 0;
    RM_TRY(rm_ranks_sum_wait());
    const float inv = 1.0f / (float)ranks;
    for (int k = 0; k < t->opt.num_slots; k++) {
        rm_opt_slot *s = &t->opt.slots[k];
        for (size_t i = 0; i < s->n; i++) s->g[i] *= inv;
    }
    RM_TRY(rm_ranks_sum_doubles(loss, 1));
    *loss /= ranks;
    return 0;
}

/* Data-parallel: the running statistics (batchnorm's mean and variance)
 * become their mean over the ranks, so every rank validates and saves one
 * model. */
static int average_statistics(trainer *t)
{
    const int ranks = rm_ranks_size();
    if (ranks == 1) return 0;
    for (int i = 0; i < t->net.num_layers; i++)
        for (int p = 0; p < t->net.layers[i].num_params; p++) {
            rm_param *prm = &t->net.layers[i].params[p];
            if (prm->learnable) continue;
            const dnnl_memory_desc_t *md;
            dnnl_memory_get_memory_desc(prm->value, &md);
            size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
            float *v = rm_memory_ptr(prm->value);
            RM_TRY(rm_ranks_sum_floats(v, n));
            for (size_t k = 0; k < n; k++) v[k] /= (float)ranks;
        }
    return 0;
}

/* Data-parallel ranks add up gradients element by element, so every rank
 * must have picked the same oneDNN layouts (the same CPU type): a text of
 * every learnable parameter's layout, compared across the ranks. */
static int check_same_layouts(trainer *t)
{
    if (rm_ranks_size() == 1) return 0;
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (int i = 0; i < t->net.num_layers; i++)
        for (int p = 0; p < t->net.layers[i].num_params; p++) {
            const dnnl_memory_desc_t *md;
            dnnl_memory_get_memory_desc(t->net.layers[i].params[p].value, &md);
            const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
            int64_t fields[2 + 2 * DNNL_MAX_NDIMS + 2 * DNNL_MAX_NDIMS];
            int nf = 0;
            fields[nf++] = (int64_t)dnnl_memory_desc_get_size(md);
            fields[nf++] = b->inner_nblks;
            for (int d = 0; d < md->ndims; d++) fields[nf++] = b->strides[d], fields[nf++] = md->padded_dims[d];
            for (int k = 0; k < b->inner_nblks; k++) fields[nf++] = b->inner_blks[k], fields[nf++] = b->inner_idxs[k];
            for (int f = 0; f < nf; f++)
                for (int byte = 0; byte < 8; byte++)
                    h = (h ^ (uint8_t)((uint64_t)fields[f] >> (8 * byte))) * 1099511628211ULL;
        }
    char text[64];
    snprintf(text, sizeof text, "parameter layouts %016llx", (unsigned long long)h);
    return rm_ranks_check_same(text, "CPU type (oneDNN chose other parameter layouts)");
}

static int train_epoch(trainer *t, int epoch, rm_epoch_record *rec)
{
    const rm_train_config *c = t->cfg;
    const int rows = c->batch / rm_ranks_size();
    size_t batches = rm_loader_batches(t->train);
    size_t per_image = (size_t)t->model.def.input.c * t->model.def.input.h * t->model.def.input.w;
    char label[32];
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, c->epochs);
    rm_progress progress;
    rm_progress_start(&progress, label, "img", batches * (size_t)c->batch);
    RM_TRY(rm_loader_start_epoch(t->train, epoch));
    size_t samples, alt = rm_loader_epoch_alt(t->train, &samples);
    rec->encoded_share = t->alt_path ? (double)alt / (double)samples : t->fixed_share;
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    const rm_batch *b;
    int got;
    for (size_t i = 0; (got = rm_loader_next(t->train, &b)) == 1; i++) {
        memcpy(rm_net_input(&t->net), b->images, sizeof(float) * per_image * (size_t)rows);
        double loss;
        RM_TRY(rm_net_forward(&t->net));
        if (c->distill_path) {
            /* each sample's soft target is its record's, augmented or not */
            int k = t->model.def.classes;
            memset(t->teacher_batch, 0, sizeof(float) * (size_t)c->batch * (size_t)k);
            for (int r = 0; r < b->count; r++) {
                const float *row = t->teacher.logits + (size_t)t->teacher.row[b->indices[r]] * k;
                memcpy(t->teacher_batch + (size_t)r * k, row, sizeof(float) * (size_t)k);
            }
            RM_TRY(rm_net_kd_loss_backward(&t->net, b->labels, t->teacher_batch, b->count, c->kd_temperature,
                                           c->kd_alpha, &loss));
        } else {
            RM_TRY(rm_net_loss_backward(&t->net, b->labels, b->count, &loss));
        }
        RM_TRY(average_gradients(t, &loss));
        /* A cross-entropy above DIVERGED_LOSS means logits apart by as much:
         * the weights have blown up even while the loss is still finite. */
        if (!isfinite(loss) || loss > DIVERGED_LOSS)
            return rm_error("epoch %d, batch %zu: the loss is %g; training diverged (lower --lr?); the last "
                            "checkpoint (%s) and the best model are kept", epoch + 1, i + 1, loss, t->ckpt_path);
        rec->lr = rm_lr_at(&c->optim, epoch + (double)i / (double)batches);
        rm_optimizer_step(&t->opt, rec->lr);
        loss_sum += loss * b->count;
        correct += count_correct(t->net.probs, b->labels, b->count, t->model.def.classes);
        seen += b->count;
        snprintf(progress.note, sizeof progress.note, "loss %.4f acc %.1f%%", loss_sum / (double)seen,
                 100.0 * (double)correct / (double)seen);
        rm_progress_update(&progress, (size_t)seen * (size_t)rm_ranks_size());   /* every rank's share alike */
    }
    rm_progress_finish(&progress);
    if (got < 0) return -1;
    /* loss_sum holds each batch's mean over all ranks; correct and seen are
     * this rank's */
    double counts[2] = {(double)correct, (double)seen};
    RM_TRY(rm_ranks_sum_doubles(counts, 2));
    rec->train_loss = loss_sum / (double)seen;
    rec->train_acc = counts[0] / counts[1];
    return average_statistics(t);
}

/* A diverged step can leave non-finite weights that a ReLU or a max pool
 * hides from the loss: check every parameter before anything is saved. */
static int check_finite(const rm_model *m, int epoch, const char *ckpt_path)
{
    for (int i = 0; i < m->num_tensors; i++)
        for (int64_t k = 0; k < m->tensors[i].count; k++)
            if (!isfinite(m->tensors[i].data[k]))
                return rm_error("epoch %d: parameter %s[%lld] is %g: training diverged (lower --lr, or add "
                                "--warmup); the last checkpoint (%s) and the best model are kept",
                                epoch, m->tensors[i].key, (long long)k, (double)m->tensors[i].data[k], ckpt_path);
    return 0;
}

static int validate(trainer *t, rm_epoch_record *rec)
{
    rm_model current = t->model;
    current.tensors = NULL;
    current.num_tensors = 0;
    int rc = rm_model_capture(&current, &t->net);
    if (rc == 0) rc = check_finite(&current, rec->epoch, t->ckpt_path);
    if (rc == 0) rc = rm_model_apply(&current, &t->eval_net);
    for (int i = 0; i < current.num_tensors; i++) free(current.tensors[i].data);
    free(current.tensors);
    RM_TRY(rc);
    rm_eval_result r;
    rc = rm_evaluate(&t->eval_net, t->val, &r, NULL);
    rec->val_loss = r.loss;
    rec->val_acc = r.accuracy;
    rm_eval_result_free(&r);
    return rc;
}

static int record_epoch(trainer *t, const rm_epoch_record *rec, int *improved)
{
    rm_model *m = &t->model;
    rm_epoch_record *h = rm_realloc(m->history, sizeof *h * (size_t)(m->num_epochs + 1), "history");
    if (!h) return -1;
    m->history = h;
    h[m->num_epochs++] = *rec;
    *improved = m->best_epoch == 0 || rec->val_acc > m->best_val_acc;
    if (*improved) {
        m->best_epoch = rec->epoch;
        m->best_val_acc = rec->val_acc;
        RM_TRY(rm_model_capture(m, &t->net));
    }
    return 0;
}

/* Once a checkpoint exists, an interrupted run says how to continue: the
 * command line as given (shell-quoted), with --resume and without
 * --stop-after. */
static void set_resume_note(const rm_train_config *c)
{
    if (!c->command_line || !*c->command_line) {
        rm_output_set_signal_note("relmask: interrupted after a checkpoint; continue with --resume\n");
        return;
    }
    char command[4096 + 16], note[sizeof command + 64];
    rm_resume_command(command, sizeof command, c->command_line);
    snprintf(note, sizeof note, "relmask: interrupted after a checkpoint; continue with:\n  %s\n", command);
    rm_output_set_signal_note(note);
}

static int run(trainer *t)
{
    const rm_train_config *c = t->cfg;
    int last = c->epochs;
    if (c->stop_after > 0 && t->start_epoch + c->stop_after < last) last = t->start_epoch + c->stop_after;
    for (int epoch = t->start_epoch; epoch < last; epoch++) {
        rm_epoch_record rec = {.epoch = epoch + 1};
        double t0 = rm_now();
        RM_TRY(train_epoch(t, epoch, &rec));
        RM_TRY(validate(t, &rec));
        rec.seconds = rm_now() - t0;
        int improved;
        RM_TRY(record_epoch(t, &rec, &improved));
        /* Every epoch: the best weights so far with the full history. The
         * first write honours --force; later ones replace our own file.
         * SIGINT/SIGTERM wait until both files are written, so a stopped
         * run leaves a model and a checkpoint of the same epoch. */
        rm_output_hold_signals();
        int rc = 0;
        if (rm_ranks_rank() == 0) {   /* the ranks hold the same weights: rank 0 writes them */
            rm_hdf5_lock();
            rc = rm_model_save(&t->model, c->out_path, c->force || c->resume || epoch > 0, c->command_line);
            rm_hdf5_unlock();
            if (rc == 0) rc = save_checkpoint(t, epoch + 1);
        }
        rc = rm_ranks_agree(rc);
        if (rc == 0 && epoch == t->start_epoch) set_resume_note(c);
        rm_output_release_signals();
        RM_TRY(rc);
        char share[32] = "";
        if (c->encoded_path) snprintf(share, sizeof share, ", encoded %.1f%%", 100 * rec.encoded_share);
        rm_log("epoch %d/%d: train loss %.4f acc %.2f%%%s, val loss %.4f acc %.2f%%, %.1f s%s",
                epoch + 1, c->epochs, rec.train_loss, 100 * rec.train_acc, share, rec.val_loss, 100 * rec.val_acc,
                rec.seconds, improved ? " (best)" : "");
    }
    if (last < c->epochs) {
        rm_log("stopped after epoch %d of %d as asked; continue with --resume", last, c->epochs);
        return 0;
    }
    if (rm_ranks_rank() == 0) unlink(t->ckpt_path);   /* finished: the model file holds everything */
    rm_log("wrote %s: the weights of epoch %d of %d (best validation accuracy %.2f%%)", c->out_path,
           t->model.best_epoch, c->epochs, 100.0 * t->model.best_val_acc);
    return 0;
}

static void trainer_free(trainer *t)
{
    rm_loader_close(t->train);
    rm_loader_close(t->val);
    rm_optimizer_destroy(&t->opt);
    rm_net_destroy(&t->net);
    rm_net_destroy(&t->eval_net);
    rm_model_free(&t->model);
    if (t->init_loaded) rm_model_free(&t->init_model);
    rm_teacher_free(&t->teacher);
    free(t->teacher_batch);
    free(t->ckpt_path);
}

/* The run's schedule from the configuration; a usage mistake is an error. */
static int setup_schedule(trainer *t)
{
    const rm_train_config *c = t->cfg;
    t->sched = c->encoded;
    t->sched.total_epochs = c->epochs;
    t->sched.seed = c->seed;
    if (!c->encoded_path) {
        if (c->encoded.kind != RM_ENCODED_NONE) return rm_error("an encoded schedule needs an encoded dataset (--encoded)");
        return 0;
    }
    if (t->sched.kind == RM_ENCODED_NONE) {
        t->sched.kind = RM_ENCODED_EPOCHS;   /* every epoch */
        t->sched.epochs = c->epochs;
    }
    if (t->sched.kind == RM_ENCODED_EPOCHS && (t->sched.epochs < 1 || t->sched.epochs > c->epochs))
        return rm_error("--encoded-epochs %d: expected 1..%d (the number of epochs)", t->sched.epochs, c->epochs);
    if (t->sched.kind == RM_ENCODED_SHARE &&
        !(t->sched.share0 >= 0 && t->sched.share0 <= 1 && t->sched.share1 >= 0 && t->sched.share1 <= 1))
        return rm_error("--encoded-share %g:%g: shares must be in [0, 1]", t->sched.share0, t->sched.share1);
    return 0;
}

/* Distillation's T and A (checked before any file is read). */
static int check_distill(const rm_train_config *c)
{
    if (!c->distill_path) return 0;
    if (!(c->kd_temperature > 0 && isfinite(c->kd_temperature)))
        return rm_error("--kd-temperature %g: expected a temperature > 0", c->kd_temperature);
    if (!(c->kd_alpha >= 0 && c->kd_alpha <= 1))
        return rm_error("--kd-alpha %g: expected a weight in [0, 1]", c->kd_alpha);
    return 0;
}

static int init_weights(trainer *t)
{
    const rm_train_config *c = t->cfg;
    t->net.seed = c->seed;
    RM_TRY(rm_net_init_params(&t->net, c->init, c->seed));
    if (!c->init_from) return 0;
    int kept_last;
    RM_TRY(rm_net_init_from_model(&t->net, &t->init_model, c->init_from, &kept_last));
    rm_log("initialized from %s%s", c->init_from,
           kept_last ? " except the last dense layer (another class count), which keeps its seeded values" : "");
    rm_model_free(&t->init_model);
    t->init_loaded = 0;
    return 0;
}

int rm_train(const rm_train_config *cfg)
{
    trainer t;
    memset(&t, 0, sizeof t);
    t.cfg = cfg;
    size_t n = strlen(cfg->out_path) + 6;
    t.ckpt_path = rm_malloc(n, "checkpoint path");
    if (!t.ckpt_path) return -1;
    snprintf(t.ckpt_path, n, "%s.ckpt", cfg->out_path);
    struct stat st;
    int rc = 0;
    const int ranks = rm_ranks_size();
    if (ranks > 1 && cfg->batch % ranks != 0) {
        rm_error("--batch %d: each of the %d ranks takes an equal share of every batch; give a multiple of %d",
                 cfg->batch, ranks, ranks);
        rc = rm_error_mark_usage();
    }
    if (rc == 0 && !cfg->force && !cfg->resume && stat(cfg->out_path, &st) == 0)
        rc = rm_error("%s: already exists; use --force to overwrite it or --resume to continue", cfg->out_path);
    if (rc == 0 && cfg->resume && stat(t.ckpt_path, &st) != 0)
        rc = rm_error("--resume: no checkpoint %s (the run finished, or never started)", t.ckpt_path);
    /* A read-only or missing directory is an error now, not after an epoch. */
    rm_output probe;
    if (rc == 0 && rm_ranks_rank() == 0 && (rc = rm_output_begin(&probe, cfg->out_path, 1)) == 0)
        rm_output_abort(&probe);
    rc = rm_ranks_agree(rc);
    /* Until this run's first checkpoint: with --resume the earlier one still
     * continues it; without, nothing is saved yet. */
    if (rc == 0 && cfg->resume) set_resume_note(cfg);
    else if (rc == 0)
        rm_output_set_signal_note("relmask: interrupted before the first epoch ended: nothing of this run was saved "
                                  "(no model, no checkpoint); run the command again\n");
    if (rc == 0) rc = check_distill(cfg);
    if (rc == 0) rc = setup_schedule(&t);
    if (rc == 0) rc = prepare_model(&t);
    if (rc == 0) rc = rm_net_create(&t.net, &t.model.def, cfg->batch / ranks, RM_MODE_TRAIN, 0);
    t.net.sample_offset = (uint64_t)rm_ranks_rank() * (uint64_t)(cfg->batch / ranks);
    if (ranks > 1) t.net.backward_done = start_gradient_sums;
    if (rc == 0) rc = rm_net_create(&t.eval_net, &t.model.def, cfg->eval_batch, RM_MODE_INFER, 0);
    if (rc == 0) rc = init_weights(&t);
    if (rc == 0) rc = rm_optimizer_create(&t.opt, &t.net, &cfg->optim);
    if (rc == 0) rc = open_loaders(&t);
    if (rc == 0 && cfg->resume) rc = resume_from_checkpoint(&t);
    rc = rm_ranks_agree(rc);
    if (rc == 0) rc = check_same_layouts(&t);
    if (rc == 0) rc = run(&t);
    rm_output_set_signal_note(NULL);
    trainer_free(&t);
    return rc;
}
