/* Optimizers and learning-rate schedules. Updates run elementwise on the
 * parameters in oneDNN's layout (gradients share it), in parallel; the
 * state (momentum, Adam moments) is one allocation made at creation.
 * Formulas follow torch.optim.SGD / torch.optim.Adam exactly (weight decay
 * is L2 added to the gradient). */
#ifndef RELMASK_OPTIM_H
#define RELMASK_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "nn/net.h"

typedef enum { RM_OPT_SGD = 0, RM_OPT_ADAM = 1 } rm_opt_kind;
typedef enum { RM_LR_CONSTANT = 0, RM_LR_STEP = 1, RM_LR_COSINE = 2 } rm_lr_schedule;

typedef struct {
    rm_opt_kind kind;
    double lr;              /* base learning rate */
    double momentum;        /* SGD (0.9) */
    int nesterov;           /* SGD */
    double beta1, beta2, eps;   /* Adam (0.9, 0.999, 1e-8) */
    double weight_decay;
    rm_lr_schedule schedule;
    int step_every;         /* step schedule: multiply by step_gamma every N epochs */
    double step_gamma;
    double min_lr;          /* cosine floor */
    int warmup_epochs;      /* linear warm-up from lr/10 */
    int epochs;             /* total, for cosine */
} rm_optim_config;

void rm_optim_config_defaults(rm_optim_config *cfg, rm_opt_kind kind);
int rm_optim_kind_parse(const char *s, rm_opt_kind *kind);
int rm_lr_schedule_parse(const char *s, rm_lr_schedule *sched);
/* Learning rate at fractional epoch `epoch` (0-based, e.g. 2.5). */
double rm_lr_at(const rm_optim_config *cfg, double epoch);

typedef struct {
    float *w, *g, *m, *v;
    size_t n;
} rm_opt_slot;

typedef struct {
    rm_optim_config cfg;
    int num_slots;
    rm_opt_slot *slots;
    float *state;           /* one allocation: m (and v) for every slot */
    int64_t step;           /* updates done (Adam bias correction) */
} rm_optimizer;

/* Binds the optimizer to every learnable parameter of a training net. */
int rm_optimizer_create(rm_optimizer *o, rm_net *net, const rm_optim_config *cfg);
/* One update with learning rate lr, from the gradients in the net. */
void rm_optimizer_step(rm_optimizer *o, double lr);
void rm_optimizer_destroy(rm_optimizer *o);

#endif
