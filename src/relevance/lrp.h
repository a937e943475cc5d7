/* Layer-wise Relevance Propagation on the oneDNN network (docs/method.md,
 * "LRP in one page"). Every dense/convolution rule is the four-step pattern
 * run with the layer's own primitives: a forward with modified weights and
 * inputs (z'), a division (s = R / stab(z')), a backward-data with the same
 * modified weights (c = W'^T s) and a multiplication by the modified input.
 * Modified weights (W+, W-, W^2, ones, W + gamma W+-) are prepared once per
 * model in the layouts the primitives expect; the input convolution (at most
 * 4 plain channels) runs the last three steps in C instead of oneDNN's slow
 * backward-data into few channels. Batch normalization is folded into the
 * convolution it reads (one that cannot be folded is an affine layer under
 * the epsilon rule); ReLU, dropout and flatten pass relevance unchanged; max
 * pooling routes it to the winners through the pooling backward (overlapping
 * windows accumulate); average pooling uses the epsilon rule with its own
 * weights. Graphs: an add shares relevance in proportion to its inputs
 * (zennit's Norm rule, stabilizer 1e-6), a concat hands each input its
 * channels, an output read by several layers receives the sum of their
 * relevances; grouped convolutions run every rule per group (oneDNN's
 * grouped weights). docs/relevance.md, "How it works". */
#ifndef RELMASK_LRP_H
#define RELMASK_LRP_H

#include <stdint.h>

#include "nn/model_file.h"
#include "nn/model_fold.h"
#include "nn/net.h"

typedef enum {
    RM_RULE_ZERO = 0,     /* LRP-0 */
    RM_RULE_EPSILON,      /* z + eps sign0(z) */
    RM_RULE_ZPLUS,        /* alpha1-beta0: x+W+ + x-W- + b+ */
    RM_RULE_ALPHABETA,    /* alpha * positive part - beta * negative part */
    RM_RULE_GAMMA,        /* zennit's Gamma: same-sign contributions amplified by gamma */
    RM_RULE_WSQUARE,      /* w^2 / sum w^2, input ignored */
    RM_RULE_FLAT,         /* all weights 1, input ignored */
    RM_RULE_ZBOX,         /* z^B with pixel bounds l <= x <= h (input layer) */
    RM_RULE_PASS,         /* relevance passes unchanged (relu, dropout, flatten) */
    RM_RULE_COUNT
} rm_rule_kind;

extern const char *const rm_rule_names[RM_RULE_COUNT];

typedef struct {
    rm_rule_kind kind;
    double eps;           /* epsilon rule's epsilon; other rules stabilize with 1e-6 * sign0 */
    double gamma;
    double alpha, beta;   /* alpha - beta = 1 */
} rm_rule;

typedef struct {
    /* One rule per layer of the model's definition (dense and convolution
     * layers; the others take RM_RULE_PASS, whose eps the pools and an
     * unfolded batchnorm use; folded batchnorm layers are ignored). */
    rm_rule *rules;
    int num_rules;
    int ignore_bias;      /* --ignore-bias: biases take no part in z */
} rm_lrp_config;

/* The named composites: "epsilon-plus-flat" (default: flat for the first
 * layer, z+ for convolutions, epsilon for dense layers), "epsilon-gamma-box"
 * (z-box first layer, gamma convolutions, epsilon dense), "epsilon" (every
 * layer), "alpha2-beta1" (alpha2-beta1 for convolutions, epsilon dense).
 * Overrides "NAME=RULE" (NAME may end in '*' as a prefix glob) follow.
 * eps and gamma fill the parameters. Fills cfg->rules for def. */
/* Whether `composite` names a composite, and whether "LAYER=RULE" is
 * well-formed with a known rule: checks that need no model (usage errors). */
int rm_composite_check(const char *composite);
int rm_rule_override_check(const char *override);
/* Whether LRP can explain the network: every layer type of netdef.h, any
 * graph (add, concat, shared outputs), grouped convolutions; a dense last
 * layer. Otherwise an error naming the network, the layer, its line and the
 * alternative (occlusion). */
int rm_lrp_check_network(const rm_netdef *def);
int rm_lrp_composite(rm_lrp_config *cfg, const rm_netdef *def, const char *composite,
                     const char *const *overrides, int num_overrides, double eps, double gamma);
int rm_rule_parse(const char *text, rm_rule *rule, double eps, double gamma);
void rm_lrp_config_free(rm_lrp_config *cfg);

typedef struct rm_lrp rm_lrp;

/* Builds the folded network (RM_MODE_LRP) for `batch` images and prepares
 * every modified weight. The z-box bounds are the normalized images of pixel
 * values 0 and 255 under the model's normalization. With T threads
 * (omp_get_max_threads()) and batch >= 16 T, the batch is split into T
 * slices, each with its own network, run side by side by rm_lrp_run. */
int rm_lrp_create(rm_lrp **lrp, const rm_model *model, int batch, const rm_lrp_config *cfg);
/* The normalized input batch [B,C,H,W] the caller fills. */
float *rm_lrp_input(rm_lrp *lrp);
/* What the output relevance is seeded with, per image, from its logits z:
 *   RM_SEED_CLASS     r_c = z_c for one class c (the target, else the
 *                     predicted class), 0 elsewhere;
 *   RM_SEED_ALL       r_j = z_j for every class;
 *   RM_SEED_TOP       r_j = z_j for the `top` highest logits (ties: the
 *                     lower index first, so top 1 is the predicted class);
 *   RM_SEED_CONTRAST  r_c = z_c for the predicted class c and
 *                     r_j = -z_j / (K-1) for j != c: the contributions of
 *                     the logits to the margin z_c - mean_{j != c} z_j.
 * Only RM_SEED_CLASS reads a target. Every rule is linear in the relevance
 * for a fixed forward pass, so one backward pass of the vector equals the
 * sum of the single-class maps weighted by the seed (docs/relevance.md). */
typedef enum { RM_SEED_CLASS = 0, RM_SEED_ALL, RM_SEED_TOP, RM_SEED_CONTRAST, RM_SEED_COUNT } rm_seed_kind;
typedef struct {
    rm_seed_kind kind;
    int top;              /* RM_SEED_TOP: 1..K */
} rm_lrp_seed;

/* Fills seed[0..k) for logits z[0..k) (target: RM_SEED_CLASS's class, < 0
 * for the predicted one). *explained: the single class the seed explains
 * (the class, or the contrasted class), -1 for a set of classes; *score:
 * the seed's sum (the explained logit, the set's logit sum or the
 * contrast margin), which a conservative map sums to. Returns -1 with a
 * message for a class or top count out of range. */
int rm_lrp_seed_vector(const rm_lrp_seed *s, const float *z, int k, int target, float *seed, int32_t *explained,
                       float *score);
/* Forward, then relevance seeded by `seed` (NULL: RM_SEED_CLASS) with the
 * classes target[b] (NULL or < 0: predicted). Fills relevance [B,C,H,W]
 * (plain), explained[b], score[b] (rm_lrp_seed_vector) and predicted[b]. */
int rm_lrp_run_seeded(rm_lrp *lrp, const rm_lrp_seed *seed, const int32_t *target, float *relevance,
                      int32_t *explained, float *score, int32_t *predicted);
/* rm_lrp_run_seeded with one class per image: the logit of target[b] (or
 * the predicted class when target is NULL or target[b] < 0). */
int rm_lrp_run(rm_lrp *lrp, const int32_t *target, float *relevance, int32_t *explained, float *logit,
               int32_t *predicted);
const float *rm_lrp_logits(rm_lrp *lrp);   /* [B,K] after a run */
void rm_lrp_destroy(rm_lrp *lrp);

#endif
