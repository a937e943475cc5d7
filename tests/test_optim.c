/* Optimizers on a real network's parameters against the double-precision
 * reference (torch.optim formulas), and the learning-rate schedules. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "train/optimizer.h"
#include "oracle/reference.h"
#include "core/rng.h"

static const char *const net_text =
    "[net]\ninput = 1x8x8\nclasses = 3\n[conv]\nfilters = 16\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n[dense]\nunits = 3\n";

typedef struct { double *w, *m, *v; int64_t n; rm_param *p; } ref_slot;

static void run_steps(rm_opt_kind kind, int nesterov, double wd)
{
    rm_netdef def;
    rm_net net;
    cr_assert_eq(rm_netdef_parse(&def, net_text, "t.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&net, &def, 4, RM_MODE_TRAIN, 0), 0, "%s", rm_error_message());
    rm_rng rng;
    rm_rng_seed(&rng, 3, 0, 0);
    ref_slot slots[8];
    int ns = 0;
    for (int i = 0; i < net.num_layers; i++)
        for (int k = 0; k < net.layers[i].num_params; k++) {
            rm_param *p = &net.layers[i].params[k];
            int64_t n = rm_param_plain_count(p);
            float *v = malloc(sizeof *v * (size_t)n);
            for (int64_t j = 0; j < n; j++) v[j] = (float)rm_rng_range(&rng, -0.5, 0.5);
            cr_assert_eq(rm_net_param_write(&net, p, v), 0);
            slots[ns] = (ref_slot){calloc((size_t)n, sizeof(double)), calloc((size_t)n, sizeof(double)),
                                   calloc((size_t)n, sizeof(double)), n, p};
            for (int64_t j = 0; j < n; j++) slots[ns].w[j] = v[j];
            ns++;
            free(v);
        }
    rm_optim_config cfg;
    rm_optim_config_defaults(&cfg, kind);
    cfg.nesterov = nesterov;
    cfg.weight_decay = wd;
    rm_optimizer opt;
    cr_assert_eq(rm_optimizer_create(&opt, &net, &cfg), 0, "%s", rm_error_message());
    int32_t labels[4] = {0, 1, 2, 1};
    for (int step = 1; step <= 3; step++) {
        float *in = rm_net_input(&net);
        for (int j = 0; j < 4 * 64; j++) in[j] = (float)rm_rng_range(&rng, 0, 1);
        double loss;
        cr_assert_eq(rm_net_forward(&net), 0, "%s", rm_error_message());
        cr_assert_eq(rm_net_loss_backward(&net, labels, 4, &loss), 0, "%s", rm_error_message());
        for (int s = 0; s < ns; s++) {
            float *g = malloc(sizeof *g * (size_t)slots[s].n);
            cr_assert_eq(rm_net_grad_read(&net, slots[s].p, g), 0);
            double *gd = malloc(sizeof *gd * (size_t)slots[s].n);
            for (int64_t j = 0; j < slots[s].n; j++) gd[j] = g[j];
            if (kind == RM_OPT_ADAM)
                rm_ref_adam_step(slots[s].w, slots[s].m, slots[s].v, gd, (size_t)slots[s].n, cfg.lr, cfg.beta1,
                                 cfg.beta2, cfg.eps, wd, step);
            else
                rm_ref_sgd_step(slots[s].w, slots[s].m, gd, (size_t)slots[s].n, cfg.lr, cfg.momentum, wd, nesterov);
            free(g);
            free(gd);
        }
        rm_optimizer_step(&opt, cfg.lr);
        for (int s = 0; s < ns; s++) {
            float *w = malloc(sizeof *w * (size_t)slots[s].n);
            cr_assert_eq(rm_net_param_read(&net, slots[s].p, w), 0);
            for (int64_t j = 0; j < slots[s].n; j++)
                cr_assert(fabs(w[j] - slots[s].w[j]) <= 1e-6 + 1e-5 * fabs(slots[s].w[j]),
                          "step %d %s[%lld]: got %.9g, expected %.9g", step, slots[s].p->name, (long long)j,
                          w[j], slots[s].w[j]);
            free(w);
        }
    }
    for (int s = 0; s < ns; s++) {
        free(slots[s].w);
        free(slots[s].m);
        free(slots[s].v);
    }
    rm_optimizer_destroy(&opt);
    rm_net_destroy(&net);
    rm_netdef_free(&def);
}

Test(optim, sgd_momentum_matches_reference) { run_steps(RM_OPT_SGD, 0, 0); }
Test(optim, sgd_nesterov_weight_decay_matches_reference) { run_steps(RM_OPT_SGD, 1, 5e-4); }
Test(optim, adam_matches_reference) { run_steps(RM_OPT_ADAM, 0, 0); }
Test(optim, adam_weight_decay_matches_reference) { run_steps(RM_OPT_ADAM, 0, 1e-3); }

Test(optim, schedules)
{
    rm_optim_config c;
    rm_optim_config_defaults(&c, RM_OPT_SGD);
    c.lr = 0.1;
    cr_assert_float_eq(rm_lr_at(&c, 7.5), 0.1, 1e-15);
    c.schedule = RM_LR_STEP;
    c.step_every = 3;
    c.step_gamma = 0.5;
    cr_assert_float_eq(rm_lr_at(&c, 2.9), 0.1, 1e-15);
    cr_assert_float_eq(rm_lr_at(&c, 3.0), 0.05, 1e-15);
    cr_assert_float_eq(rm_lr_at(&c, 6.5), 0.025, 1e-15);
    c.schedule = RM_LR_COSINE;
    c.epochs = 10;
    c.min_lr = 0.001;
    cr_assert_float_eq(rm_lr_at(&c, 0), 0.1, 1e-15);
    cr_assert_float_eq(rm_lr_at(&c, 5), 0.0505, 1e-12);
    cr_assert_float_eq(rm_lr_at(&c, 10), 0.001, 1e-15);
    c.warmup_epochs = 2;
    cr_assert_float_eq(rm_lr_at(&c, 0), 0.01, 1e-15);
    cr_assert_float_eq(rm_lr_at(&c, 1), 0.055, 1e-12);
    cr_assert_float_eq(rm_lr_at(&c, 2), 0.1, 1e-12);
    rm_opt_kind k;
    cr_assert_neq(rm_optim_kind_parse("rmsprop", &k), 0);
    cr_assert(strstr(rm_error_message(), "sgd or adam"));
}
