/* relmask train: minibatch SGD/Adam on a dataset's train split, validation
 * on its val split every epoch, the best model by validation accuracy in
 * --out, and an atomic checkpoint (<out>.ckpt: weights, optimizer state,
 * history) after every epoch that --resume continues from. Batches, their
 * order, augmentation and dropout depend only on the seed and the epoch, so
 * a resumed run repeats what the interrupted one would have done. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relmask/error.h"
#include "relmask/h5lock.h"
#include "relmask/h5util.h"
#include "relmask/progress.h"
#include "relmask/train.h"

void rm_train_config_defaults(rm_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 10;
    cfg->batch = 64;
    cfg->eval_batch = 256;
    rm_optim_config_defaults(&cfg->optim, RM_OPT_SGD);
    cfg->seed = 1;
}

typedef struct {
    const rm_train_config *cfg;
    rm_model model;              /* best weights so far + history */
    rm_net net, eval_net;
    rm_optimizer opt;
    rm_loader *train, *val;
    char *ckpt_path;
    int start_epoch;
} trainer;

/* --- setup ---------------------------------------------------------------- */

static int describe_params(trainer *t, const rm_dataset *ds)
{
    const rm_train_config *c = t->cfg;
    char text[1024];
    snprintf(text, sizeof text,
             "net=%s\nepochs=%d\nbatch=%d\noptimizer=%s\nlr=%g\nmomentum=%g\nnesterov=%d\nweight_decay=%g\n"
             "schedule=%s\nwarmup_epochs=%d\nhflip=%d\nshift=%d\nrotate=%g\ninit=%s\nseed=%llu\n",
             c->net, c->epochs, c->batch, c->optim.kind == RM_OPT_ADAM ? "adam" : "sgd", c->optim.lr,
             c->optim.momentum, c->optim.nesterov, c->optim.weight_decay,
             c->optim.schedule == RM_LR_COSINE ? "cosine" : c->optim.schedule == RM_LR_STEP ? "step" : "constant",
             c->optim.warmup_epochs, c->augment.hflip, c->augment.shift, c->augment.rotate_deg,
             c->init == RM_INIT_GLOROT ? "glorot" : "he", (unsigned long long)c->seed);
    t->model.train_params = rm_strdup(text);
    t->model.dataset_path = rm_strdup(c->data_path);
    char fp[17];
    rm_dataset_fingerprint(fp, (int64_t)ds->count, ds->channels, ds->height, ds->width, ds->labels, ds->split);
    t->model.dataset_fingerprint = rm_strdup(fp);
    if (!t->model.train_params || !t->model.dataset_path || !t->model.dataset_fingerprint) return -1;
    return rm_model_set_classes(&t->model, ds->num_classes, ds->class_names);
}

/* Reads dataset facts (shape, classes, normalization) and checks them
 * against the network definition. */
static int prepare_model(trainer *t)
{
    rm_model *m = &t->model;
    RM_TRY(rm_netdef_find(&m->def, t->cfg->net));
    rm_dataset ds;
    rm_hdf5_lock();
    int rc = rm_dataset_open(&ds, t->cfg->data_path);
    rm_hdf5_unlock();
    RM_TRY(rc);
    if (ds.channels != m->def.input.c || ds.height != m->def.input.h || ds.width != m->def.input.w)
        rc = rm_error("network %s expects %dx%dx%d inputs but %s holds %dx%dx%d images", m->def.name,
                      m->def.input.c, m->def.input.h, m->def.input.w, t->cfg->data_path, ds.channels, ds.height,
                      ds.width);
    else if (ds.num_classes != m->def.classes)
        rc = rm_error("network %s has %d outputs but %s has %d classes", m->def.name, m->def.classes,
                      t->cfg->data_path, ds.num_classes);
    if (rc == 0) {
        m->channels = ds.channels;
        m->norm_mean = rm_malloc(sizeof(float) * (size_t)ds.channels, "normalization");
        m->norm_std = rm_malloc(sizeof(float) * (size_t)ds.channels, "normalization");
        rc = !m->norm_mean || !m->norm_std ? -1 : 0;
    }
    if (rc == 0) rc = rm_dataset_channel_stats(&ds, RM_SPLIT_TRAIN, m->norm_mean, m->norm_std);
    if (rc == 0) rc = describe_params(t, &ds);
    rm_hdf5_lock();
    rm_dataset_close(&ds);
    rm_hdf5_unlock();
    return rc;
}

static int open_loaders(trainer *t)
{
    const rm_train_config *c = t->cfg;
    rm_loader_config lc = {
        .path = c->data_path, .split = RM_SPLIT_TRAIN, .batch = c->batch, .shuffle = 1, .drop_last = 1,
        .augment = c->augment, .mean = t->model.norm_mean, .std = t->model.norm_std, .seed = c->seed,
        .cache_bytes = c->cache_bytes,
    };
    RM_TRY(rm_loader_open(&t->train, &lc));
    if (rm_loader_batches(t->train) == 0)
        return rm_error("%s: the train split has %zu records, fewer than one batch of %d", c->data_path,
                        rm_loader_size(t->train), c->batch);
    rm_loader_config vc = lc;
    vc.split = RM_SPLIT_VAL;
    vc.batch = c->eval_batch;
    vc.shuffle = vc.drop_last = 0;
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
                    hid_t space = H5Screate_simple(1, &dim, NULL);
                    hid_t d = rc ? -1 : H5Dcreate2(f, path, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
                    if (rc == 0 && (d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, plain) < 0))
                        rc = rm_h5_error("writing %s", path);
                    if (d >= 0) H5Dclose(d);
                    H5Sclose(space);
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
        const float *p = probs + (size_t)i * k;
        int best = 0;
        for (int j = 1; j < k; j++)
            if (p[j] > p[best]) best = j;
        correct += best == labels[i];
    }
    return correct;
}

static int train_epoch(trainer *t, int epoch, rm_epoch_record *rec)
{
    const rm_train_config *c = t->cfg;
    size_t batches = rm_loader_batches(t->train);
    size_t per_image = (size_t)t->model.def.input.c * t->model.def.input.h * t->model.def.input.w;
    char label[32];
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, c->epochs);
    rm_progress progress;
    rm_progress_start(&progress, label, "img", batches * (size_t)c->batch);
    RM_TRY(rm_loader_start_epoch(t->train, epoch));
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    const rm_batch *b;
    int got;
    for (size_t i = 0; (got = rm_loader_next(t->train, &b)) == 1; i++) {
        memcpy(rm_net_input(&t->net), b->images, sizeof(float) * per_image * (size_t)c->batch);
        double loss;
        RM_TRY(rm_net_forward(&t->net));
        RM_TRY(rm_net_loss_backward(&t->net, b->labels, b->count, &loss));
        if (!isfinite(loss))
            return rm_error("epoch %d, batch %zu: the loss is %g; training diverged (lower --lr?); the last "
                            "checkpoint (%s) and the best model are kept", epoch + 1, i + 1, loss, t->ckpt_path);
        rec->lr = rm_lr_at(&c->optim, epoch + (double)i / (double)batches);
        rm_optimizer_step(&t->opt, rec->lr);
        loss_sum += loss * b->count;
        correct += count_correct(t->net.probs, b->labels, b->count, t->model.def.classes);
        seen += b->count;
        snprintf(progress.note, sizeof progress.note, "loss %.4f acc %.1f%%", loss_sum / (double)seen,
                 100.0 * (double)correct / (double)seen);
        rm_progress_update(&progress, (size_t)seen);
    }
    rm_progress_finish(&progress);
    if (got < 0) return -1;
    rec->train_loss = loss_sum / (double)seen;
    rec->train_acc = (double)correct / (double)seen;
    return 0;
}

static int validate(trainer *t, rm_epoch_record *rec)
{
    rm_model current = t->model;
    current.tensors = NULL;
    current.num_tensors = 0;
    int rc = rm_model_capture(&current, &t->net);
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
         * first write honours --force; later ones replace our own file. */
        rm_hdf5_lock();
        int rc = rm_model_save(&t->model, c->out_path, c->force || c->resume || epoch > 0, c->command_line);
        rm_hdf5_unlock();
        RM_TRY(rc);
        RM_TRY(save_checkpoint(t, epoch + 1));
        rm_log("epoch %d/%d: train loss %.4f acc %.2f%%, val loss %.4f acc %.2f%%, %.1f s%s",
                epoch + 1, c->epochs, rec.train_loss, 100 * rec.train_acc, rec.val_loss, 100 * rec.val_acc,
                rec.seconds, improved ? " (best)" : "");
    }
    if (last < c->epochs) {
        rm_log("stopped after epoch %d of %d as asked; continue with --resume", last, c->epochs);
        return 0;
    }
    unlink(t->ckpt_path);   /* finished: the model file holds everything */
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
    free(t->ckpt_path);
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
    if (!cfg->force && !cfg->resume && stat(cfg->out_path, &st) == 0)
        rc = rm_error("%s: already exists; use --force to overwrite it or --resume to continue", cfg->out_path);
    if (rc == 0 && cfg->resume && stat(t.ckpt_path, &st) != 0)
        rc = rm_error("--resume: no checkpoint %s (the run finished, or never started)", t.ckpt_path);
    if (rc == 0) rc = prepare_model(&t);
    if (rc == 0) rc = rm_net_create(&t.net, &t.model.def, cfg->batch, RM_MODE_TRAIN, 0);
    if (rc == 0) rc = rm_net_create(&t.eval_net, &t.model.def, cfg->eval_batch, RM_MODE_INFER, 0);
    if (rc == 0) {
        t.net.seed = cfg->seed;
        rc = rm_net_init_params(&t.net, cfg->init, cfg->seed);
    }
    if (rc == 0) rc = rm_optimizer_create(&t.opt, &t.net, &cfg->optim);
    if (rc == 0) rc = open_loaders(&t);
    if (rc == 0 && cfg->resume) rc = resume_from_checkpoint(&t);
    if (rc == 0) rc = run(&t);
    trainer_free(&t);
    return rc;
}
