/* The LRP engine: a folded network built in RM_MODE_LRP, modified weights
 * prepared once, and the four-step pattern per rule (see lrp.h). */
#include "relevance/lrp.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relevance/lrp_first.h"
#include "core/error.h"

enum { W_ORIG, W_POS, W_NEG, W_MPOS, W_MNEG, W_SQ, W_ONES, W_GPOS, W_GNEG, W_KINDS };   /* M: negated */
enum { B_ORIG, B_POS, B_NEG, B_ZERO, B_GPOS, B_GNEG, B_KINDS };
enum { X_ORIG, X_POS, X_NEG, X_ONES, X_LOW, X_HIGH, X_ZERO, X_KINDS };
enum { MASK_ALL = 0, MASK_NONNEG = 1, MASK_NEG = 2 };
/* Where a pass's z' gets its input-dependent part: none (only constant
 * inputs), the layer's own output z (x W + b), or forwards run per batch. */
enum { Z_NONE, Z_LAYER, Z_COMPUTED };
#define STAB_EPS 1e-6   /* stabilizer of the non-epsilon rules (zennit's default) */
enum { PARALLEL_MIN = 65536 };

typedef struct { int x, w; } term;
typedef struct {
    term t[3];
    int nterms, bias, mask;
    int zsrc;                    /* Z_NONE, Z_LAYER or Z_COMPUTED */
    /* The part of z' that does not depend on the input (terms with constant
     * inputs, bias differences), computed once: one image's worth shared by
     * every image (or the whole batch when the layout does not keep images
     * apart), NULL when there is none. */
    float *zconst;
    double scale, eps;
    rm_lrp_first_pass input;     /* the input-layer kernel's view of the pass */
    float *input_w[RM_LRP_FIRST_GROUPS];
} pass;

typedef struct {
    rm_layer *layer;
    rm_rule rule;
    int nonneg_input;            /* the input is rectified: x- terms vanish and x+ is x */
    pass passes[2];
    int npasses;
    dnnl_memory_t wf[W_KINDS], wb[W_KINDS], b[B_KINDS];
    float *w_plain[W_KINDS];     /* plain modified weights, while preparing */
    float *bias_plain;           /* the layer's bias [O], while preparing */
    dnnl_memory_t x[X_KINDS];    /* input variants (src layout) */
    dnnl_memory_t z, zt, s;      /* dst layout */
    dnnl_memory_t c;             /* src layout */
    dnnl_memory_t c_native;      /* backward-data's own output layout, when it differs */
    dnnl_primitive_t c_reorder;
    dnnl_memory_t rin, rout;     /* relevance below / above the layer (rin: of the first input) */
    /* Graphs: the relevance of every input k (rins[0] is rin, in in_md[k]),
     * and whether it adds to what another reader of the same output has
     * already written there (acc[k]) instead of setting it. */
    dnnl_memory_t rins[RM_MAX_INPUTS];
    int acc[RM_MAX_INPUTS];
    /* add: s reordered into input k's layout where it differs from dst's;
     * concat: input k's channels of rout (a view) reordered into its layout;
     * both write part[k] (a scratch view in in_md[k]) when acc[k] or the
     * layouts differ. */
    dnnl_memory_t view[RM_MAX_INPUTS], part[RM_MAX_INPUTS];
    dnnl_primitive_t part_reorder[RM_MAX_INPUTS];
    float *bn_scale;             /* unfolded batchnorm (a_c = g / sqrt(v + e)) or [scale]: a_c [C] */
    float *bn_shift;             /* its b_c = beta - m a_c [C], left out of z with --ignore-bias (else NULL) */
    size_t image;                /* floats per image in the dst layout (the whole batch if not separable) */
    rm_lrp_first *input;         /* the input-layer kernel instead of divide + backward-data, or NULL */
    /* rin = scale x c of a one-term rule is left to the divide of the layer
     * below, which reads x and c instead of rin: */
    int deferred;                /* this layer's rin is never written */
    const void *r_from;          /* the lrp_layer above whose x and c this layer's divide reads, or NULL */
    int copy_holds_variant;      /* layer->lrp.src_copy holds another input than layer->src */
} lrp_layer;

/* One engine: a folded network for a fixed batch and its LRP state. */
typedef struct {
    rm_netdef def;               /* folded */
    rm_model folded;
    rm_net net;
    lrp_layer *layers;
    /* Relevance buffers: one per output whose relevance is live at once
     * (2 for a sequential network); slot[i + 1] is the buffer of layer i's
     * output (slot[0]: the network input's), plan_slots. */
    float **buf;
    int nbuf;
    int *slot;
    dnnl_memory_t input_rel;     /* the network input's relevance (net.input_md) */
    float *scratch_dst[3], *scratch_src[3];
    size_t max_floats;
    int classes;
    /* the seed rows [B,K], reordered into the top output's layout when that
     * is not plain [B,K] (a flatten of [B,K,1,1]); NULL: written in place */
    float *seed_plain;
    dnnl_format_tag_t seed_tag;
} lrp_engine;

static int is_linear(const rm_layer *l) { return l->def->type == RM_LAYER_CONV || l->def->type == RM_LAYER_DENSE; }

/* --- passes per rule ------------------------------------------------------ */

static void add_term(pass *p, int x, int w) { p->t[p->nterms++] = (term){x, w}; }

static void plan_rule(lrp_layer *L)
{
    const rm_rule *r = &L->rule;
    pass *p = &L->passes[0], *q = &L->passes[1];
    memset(L->passes, 0, sizeof L->passes);
    L->npasses = 1;
    p->scale = 1;
    p->eps = STAB_EPS;
    switch (r->kind) {
    case RM_RULE_ZERO: add_term(p, X_ORIG, W_ORIG); p->bias = B_ORIG; p->eps = 0; break;
    case RM_RULE_EPSILON: add_term(p, X_ORIG, W_ORIG); p->bias = B_ORIG; p->eps = r->eps; break;
    case RM_RULE_ZPLUS:
    case RM_RULE_ALPHABETA:
        add_term(p, X_POS, W_POS);
        if (!L->nonneg_input) add_term(p, X_NEG, W_NEG);
        p->bias = B_POS;
        p->scale = r->kind == RM_RULE_ZPLUS ? 1 : r->alpha;
        if (r->kind == RM_RULE_ALPHABETA && r->beta != 0) {
            *q = (pass){.scale = -r->beta, .eps = STAB_EPS, .bias = B_NEG};
            add_term(q, X_POS, W_NEG);
            if (!L->nonneg_input) add_term(q, X_NEG, W_POS);
            L->npasses = 2;
        }
        break;
    case RM_RULE_GAMMA:
        /* zennit's Gamma: contributions sharing the output's sign are
         * amplified; for rectified inputs this is W + gamma W+ (z >= 0) and
         * W + gamma W- (z < 0). */
        add_term(p, X_POS, W_GPOS);
        if (!L->nonneg_input) add_term(p, X_NEG, W_GNEG);
        p->bias = B_GPOS;
        p->mask = MASK_NONNEG;
        *q = (pass){.scale = 1, .eps = STAB_EPS, .bias = B_GNEG, .mask = MASK_NEG};
        add_term(q, X_POS, W_GNEG);
        if (!L->nonneg_input) add_term(q, X_NEG, W_GPOS);
        L->npasses = 2;
        break;
    case RM_RULE_WSQUARE: add_term(p, X_ONES, W_SQ); p->bias = B_ZERO; break;
    case RM_RULE_FLAT: add_term(p, X_ONES, W_ONES); p->bias = B_ZERO; break;
    case RM_RULE_ZBOX:
        add_term(p, X_ORIG, W_ORIG);
        add_term(p, X_LOW, W_MPOS);
        add_term(p, X_HIGH, W_MNEG);
        p->bias = B_ZERO;
        break;
    default: L->npasses = 0; break;
    }
}

/* --- preparing modified weights -------------------------------------------- */

static float modify(int kind, float w, double gamma)
{
    float pos = w > 0 ? w : 0, neg = w < 0 ? w : 0;
    switch (kind) {
    case W_POS: return pos;
    case W_NEG: return neg;
    case W_MPOS: return -pos;
    case W_MNEG: return -neg;
    case W_SQ: return w * w;
    case W_ONES: return 1;
    case W_GPOS: return w + (float)gamma * pos;
    case W_GNEG: return w + (float)gamma * neg;
    default: return w;
    }
}

static float modify_bias(int kind, float b, double gamma, int ignore)
{
    if (ignore) return 0;
    float pos = b > 0 ? b : 0, neg = b < 0 ? b : 0;
    switch (kind) {
    case B_POS: return pos;
    case B_NEG: return neg;
    case B_ZERO: return 0;
    case B_GPOS: return b + (float)gamma * pos;
    case B_GNEG: return b + (float)gamma * neg;
    default: return b;
    }
}

static int used_weight(const lrp_layer *L, int w)
{
    for (int k = 0; k < L->npasses; k++)
        for (int t = 0; t < L->passes[k].nterms; t++)
            if (L->passes[k].t[t].w == w) return 1;
    return 0;
}

static int view(lrp_engine *e, const dnnl_memory_desc_t *md, float *data, dnnl_memory_t *mem)
{
    return RM_DNNL(dnnl_memory_create(mem, md, e->net.dnn.engine, data));
}

/* A memory in md holding `plain` (reordered from the plain tag). */
static int make_memory(lrp_engine *e, const dnnl_memory_desc_t *md, const float *plain, dnnl_format_tag_t tag,
                       dnnl_memory_t *mem)
{
    RM_DNNL_TRY(dnnl_memory_create(mem, md, e->net.dnn.engine, DNNL_MEMORY_ALLOCATE));
    memset(rm_memory_ptr(*mem), 0, dnnl_memory_desc_get_size(md));
    return rm_memory_write(&e->net.dnn, *mem, plain, tag);
}

/* The same weights in backward-data's layout, from forward's: for layouts
 * oneDNN 2.6 cannot fill from plain weights directly. */
static int reordered_copy(lrp_engine *e, dnnl_memory_t from, const dnnl_memory_desc_t *md, dnnl_memory_t *to)
{
    RM_DNNL_TRY(dnnl_memory_create(to, md, e->net.dnn.engine, DNNL_MEMORY_ALLOCATE));
    const dnnl_memory_desc_t *from_md;
    dnnl_memory_get_memory_desc(from, &from_md);
    dnnl_primitive_t prim;
    RM_TRY(rm_reorder_create(&prim, &e->net.dnn, from_md, md));
    if (!prim) {
        memcpy(rm_memory_ptr(*to), rm_memory_ptr(from), dnnl_memory_desc_get_size(md));
        return 0;
    }
    int rc = rm_reorder_run(&e->net.dnn, prim, from, *to);
    if (rc == 0) rc = RM_DNNL(dnnl_stream_wait(e->net.dnn.stream));
    rm_primitive_destroy(&prim);
    return rc;
}

static int prepare_weights(lrp_engine *e, lrp_layer *L, int ignore_bias)
{
    rm_param *wp = &L->layer->params[0], *bp = L->layer->num_params > 1 ? &L->layer->params[1] : NULL;
    int64_t n = rm_param_plain_count(wp), nb = bp ? rm_param_plain_count(bp) : 0;
    float *w = rm_malloc(sizeof *w * (size_t)n, "weights");
    float *mb = rm_malloc(sizeof *mb * (size_t)(nb + 1), "bias");
    L->bias_plain = rm_calloc((size_t)(nb + 1), sizeof *L->bias_plain, "bias");
    int rc = w && mb && L->bias_plain ? 0 : -1;
    if (rc == 0) rc = rm_net_param_read(&e->net, wp, w);
    if (rc == 0 && bp) rc = rm_net_param_read(&e->net, bp, L->bias_plain);
    /* grouped: [O,C/G,K,K] are goihw's bytes (layer_conv.c) */
    int wnd = L->layer->lrp.weights_md.ndims;
    dnnl_format_tag_t tag = wnd == 5 ? dnnl_goihw : wnd == 4 ? dnnl_oihw : dnnl_oi;
    for (int k = 0; rc == 0 && k < W_KINDS; k++) {
        if (!used_weight(L, k)) continue;
        float *m = L->w_plain[k] = rm_malloc(sizeof *m * (size_t)n, "weights");
        if (!m) {
            rc = -1;
            break;
        }
        for (int64_t i = 0; i < n; i++) m[i] = modify(k, w[i], L->rule.gamma);
        /* The real weights are the layer's own; a layout both primitives
         * share is one buffer: the backward-data then finds the weights the
         * forward read still in cache (the dense layers' are megabytes). */
        const dnnl_memory_desc_t *own;
        dnnl_memory_get_memory_desc(wp->value, &own);
        if (k == W_ORIG && rm_md_equal(own, &L->layer->lrp.weights_md))
            rc = view(e, own, rm_memory_ptr(wp->value), &L->wf[k]);
        else
            rc = make_memory(e, &L->layer->lrp.weights_md, m, tag, &L->wf[k]);
        if (rc != 0) break;
        if (rm_md_equal(&L->layer->lrp.weights_md, &L->layer->lrp.bwd_weights_md))
            rc = view(e, &L->layer->lrp.bwd_weights_md, rm_memory_ptr(L->wf[k]), &L->wb[k]);
        else if (make_memory(e, &L->layer->lrp.bwd_weights_md, m, tag, &L->wb[k]) != 0) {
            rm_memory_destroy(&L->wb[k]);
            rc = reordered_copy(e, L->wf[k], &L->layer->lrp.bwd_weights_md, &L->wb[k]);
        }
    }
    for (int k = 0; rc == 0 && bp && k < B_KINDS; k++) {
        for (int64_t i = 0; i < nb; i++) mb[i] = modify_bias(k, L->bias_plain[i], L->rule.gamma, ignore_bias);
        const dnnl_memory_desc_t *md;
        dnnl_memory_get_memory_desc(bp->value, &md);
        rc = make_memory(e, md, mb, dnnl_x, &L->b[k]);
    }
    free(w);
    free(mb);
    return rc;
}

/* --- buffers ------------------------------------------------------------------ */


static size_t md_floats(const dnnl_memory_desc_t *md) { return dnnl_memory_desc_get_size(md) / sizeof(float); }

/* Floats per image when md keeps each image in its own contiguous block
 * (n outermost, not blocked), else 0. */
static size_t image_floats(const dnnl_memory_desc_t *md)
{
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (md->format_kind != dnnl_blocked || md->offset0 != 0) return 0;
    for (int i = 0; i < b->inner_nblks; i++)
        if (b->inner_idxs[i] == 0) return 0;
    if ((size_t)b->strides[0] * (size_t)md->padded_dims[0] != md_floats(md)) return 0;
    return (size_t)b->strides[0];
}

static int is_constant_input(int x) { return x == X_ONES || x == X_LOW || x == X_HIGH || x == X_ZERO; }

/* Constant input variants: ones, zeros, and for z-box the bounds (the
 * normalized pixel values 0 and 255 per channel). */
static float constant_value(int kind, const rm_model *model, int c)
{
    if (kind == X_ONES) return 1;
    if (kind == X_ZERO) return 0;
    return ((kind == X_LOW ? 0.f : 1.f) - model->norm_mean[c]) / model->norm_std[c];
}

static int constant_input(lrp_engine *e, lrp_layer *L, int kind, const rm_model *model)
{
    const rm_layer_def *d = L->layer->def;
    int64_t n = (int64_t)e->net.batch * d->in.c * d->in.h * d->in.w, per = (int64_t)d->in.h * d->in.w;
    float *v = rm_malloc(sizeof *v * (size_t)n, "bounds");
    if (!v) return -1;
    for (int64_t i = 0; i < n; i++) v[i] = constant_value(kind, model, (int)(i / per % d->in.c));
    dnnl_format_tag_t tag = L->layer->src_md.ndims == 4 ? dnnl_nchw : dnnl_nc;
    int rc = make_memory(e, &L->layer->src_md, v, tag, &L->x[kind]);
    free(v);
    return rc;
}

/* Whether layer index reads a ReLU's output, through pooling, flatten or
 * dropout (an add of rectified inputs is not looked into: its x- terms are
 * then zero, which costs work but not correctness). */
static int input_is_rectified(const rm_net *net, int index)
{
    for (int i = net->layers[index].def->inputs[0]; i >= 0; i = net->layers[i].def->inputs[0]) {
        rm_layer_type t = net->layers[i].def->type;
        if (t == RM_LAYER_RELU) return net->layers[i].def->slope == 0;   /* leaky: negative outputs */
        if (t != RM_LAYER_MAXPOOL && t != RM_LAYER_AVGPOOL && t != RM_LAYER_GLOBALAVGPOOL && t != RM_LAYER_FLATTEN &&
            t != RM_LAYER_DROPOUT)
            return 0;
    }
    return 0;
}

/* The input a term multiplies: the layer's own input for x, and for x+ when
 * the input is rectified (x+ = x there). */
static dnnl_memory_t input_variant(lrp_layer *L, int kind)
{
    return kind == X_ORIG || (kind == X_POS && L->nonneg_input) ? L->layer->src : L->x[kind];
}

/* A forward that reads a copy of its input (layer_conv.c) gets x there; the
 * net's forward left the copy holding the layer's own input. */
static int forward(lrp_engine *e, lrp_layer *L, dnnl_memory_t x, dnnl_memory_t w, dnnl_memory_t b, dnnl_memory_t out)
{
    rm_layer *l = L->layer;
    if (l->lrp.src_copy) {
        if (x != l->src || L->copy_holds_variant)
            RM_TRY(rm_reorder_run(&e->net.dnn, l->lrp.src_to_copy, x, l->lrp.src_copy));
        L->copy_holds_variant = x != l->src;
        x = l->lrp.src_copy;
    }
    return rm_exec(&e->net.dnn, l->lrp.fwd, 5, DNNL_ARG_SRC, x, DNNL_ARG_WEIGHTS, w, DNNL_ARG_BIAS,
                   l->num_params > 1 ? b : NULL, DNNL_ARG_DST, out, DNNL_ARG_SCRATCHPAD, l->lrp.fwd_scratch);
}

static void add_into(float *z, const float *zt, size_t n)
{
#pragma omp parallel for simd schedule(static) if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) z[i] += zt[i];
}

/* Where z' gets its input-dependent part. The layer's own z = x W + b serves
 * when x W is the only such term (the bias difference then goes into the
 * constant part). */
static void plan_z(lrp_layer *L, pass *p)
{
    int data = 0, orig = 0;
    for (int t = 0; t < p->nterms; t++)
        if (!is_constant_input(p->t[t].x)) {
            data++;
            orig += p->t[t].x == X_ORIG && p->t[t].w == W_ORIG;
        }
    p->zsrc = data == 0 ? Z_NONE : data == 1 && orig == 1 ? Z_LAYER : Z_COMPUTED;
}

/* The constant part of z': the terms with constant inputs plus, when z'
 * has no forward of its own, the bias (the pass's bias, less the layer's
 * own when z is reused). Computed once with the layer's forward. */
static int compute_zconst(lrp_engine *e, lrp_layer *L, pass *p, const rm_model *model, int ignore_bias)
{
    rm_layer *l = L->layer;
    int64_t nb = l->num_params > 1 ? rm_param_plain_count(&l->params[1]) : 0;
    int nconst = 0, any_bias = 0;
    for (int t = 0; t < p->nterms; t++) nconst += is_constant_input(p->t[t].x);
    float *delta = rm_calloc((size_t)nb + 1, sizeof *delta, "bias");
    if (!delta) return -1;
    for (int64_t i = 0; p->zsrc != Z_COMPUTED && i < nb; i++) {
        float real = L->bias_plain[i];
        delta[i] = modify_bias(p->bias, real, L->rule.gamma, ignore_bias) - (p->zsrc == Z_LAYER ? real : 0.f);
        any_bias |= delta[i] != 0;
    }
    int rc = 0;
    dnnl_memory_t bias = NULL;
    if ((nconst > 0 || any_bias) && nb > 0) {
        const dnnl_memory_desc_t *md;
        dnnl_memory_get_memory_desc(l->params[1].value, &md);
        rc = make_memory(e, md, delta, dnnl_x, &bias);
    }
    free(delta);
    if (nconst == 0 && !any_bias) return rc;
    int first = 1;
    for (int t = 0; rc == 0 && t < p->nterms; t++) {
        int x = p->t[t].x;
        if (!is_constant_input(x)) continue;
        if (!L->x[x]) rc = constant_input(e, L, x, model);
        if (rc == 0) rc = forward(e, L, L->x[x], L->wf[p->t[t].w], first ? bias : L->b[B_ZERO], first ? L->z : L->zt);
        if (rc == 0) rc = RM_DNNL(dnnl_stream_wait(e->net.dnn.stream));
        if (rc == 0 && !first) add_into(rm_memory_ptr(L->z), rm_memory_ptr(L->zt), rm_memory_floats(L->z));
        first = 0;
    }
    if (rc == 0 && first) {   /* no constant inputs: the bias alone, through a zero input */
        if (!L->x[X_ZERO]) rc = constant_input(e, L, X_ZERO, model);
        if (rc == 0) rc = forward(e, L, L->x[X_ZERO], L->wf[p->t[0].w], bias, L->z);
        if (rc == 0) rc = RM_DNNL(dnnl_stream_wait(e->net.dnn.stream));
    }
    if (rc == 0) {
        p->zconst = rm_malloc(L->image * sizeof(float), "LRP constant terms");
        if (p->zconst) memcpy(p->zconst, rm_memory_ptr(L->z), L->image * sizeof(float));
        else rc = -1;
    }
    rm_memory_destroy(&bias);
    return rc;
}

/* The input-layer kernel (lrp_first.h) when the layer reads the plain
 * input with at most 4 channels, undilated and padded alike on every side,
 * and writes a layout it can index; returns
 * 0 without setting L->input otherwise. */
static int plan_input_kernel(lrp_layer *L, const rm_model *model)
{
    rm_layer *l = L->layer;
    const rm_layer_def *d = l->def;
    if (d->type != RM_LAYER_CONV || d->in.c > 4 || d->groups > 1) return 0;
    /* the kernel's geometry: one symmetric pad, undilated taps */
    if (d->dilation > 1 || d->pads[1] != d->pad || d->pads[2] != d->pad || d->pads[3] != d->pad) return 0;
    dnnl_memory_desc_t plain;
    RM_TRY(rm_md_init(&plain, 4, l->src_md.dims, dnnl_nchw));
    const dnnl_blocking_desc_t *b = &l->dst_md.format_desc.blocking;
    size_t image = image_floats(&l->dst_md);
    if (!rm_md_equal(&plain, &l->src_md) || !image || b->inner_nblks > 1 ||
        (b->inner_nblks == 1 && b->inner_idxs[0] != 1))
        return 0;
    static const int mul_of[X_KINDS] = {[X_ORIG] = RM_LRP_MUL_X, [X_POS] = RM_LRP_MUL_XPOS, [X_NEG] = RM_LRP_MUL_XNEG,
                                        [X_ONES] = RM_LRP_MUL_ONE, [X_LOW] = RM_LRP_MUL_ONE,
                                        [X_HIGH] = RM_LRP_MUL_ONE, [X_ZERO] = RM_LRP_MUL_ONE};
    int C = d->in.c, O = d->filters, kk = d->size * d->size;
    size_t nw = (size_t)C * O * kk;
    for (int k = 0; k < L->npasses; k++) {
        pass *p = &L->passes[k];
        rm_lrp_first_pass *ip = &p->input;
        memset(ip, 0, sizeof *ip);
        for (int t = 0; t < p->nterms; t++) {
            int mul = mul_of[p->t[t].x], g = 0;
            if (mul == RM_LRP_MUL_XPOS && L->nonneg_input) mul = RM_LRP_MUL_X;
            while (g < ip->ngroups && ip->mul[g] != mul) g++;
            if (g == ip->ngroups) {
                if (g == RM_LRP_FIRST_GROUPS) return 0;
                ip->mul[ip->ngroups++] = mul;
                RM_TRY((p->input_w[g] = rm_calloc(nw, sizeof(float), "LRP input weights")) ? 0 : -1);
            }
            /* [O][C][K][K] -> [C][O][K][K], times the pass's scale and the constant input */
            const float *w = L->w_plain[p->t[t].w];
            for (int c = 0; c < C; c++) {
                float m = (float)p->scale * (mul == RM_LRP_MUL_ONE ? constant_value(p->t[t].x, model, c) : 1.f);
                for (int o = 0; o < O; o++)
                    for (int i = 0; i < kk; i++)
                        p->input_w[g][((size_t)c * O + o) * kk + i] += m * w[((size_t)o * C + c) * kk + i];
            }
        }
        for (int g = 0; g < ip->ngroups; g++) ip->w[g] = p->input_w[g];
    }
    rm_lrp_first_geom g = {.batch = (int)l->src_md.dims[0], .cin = C, .h = d->in.h, .w = d->in.w, .cout = O,
                           .oh = d->out.h, .ow = d->out.w, .k = d->size, .stride = d->stride, .pad = d->pad,
                           .blk = b->inner_nblks ? (int)b->inner_blks[0] : 1};
    for (int i = 0; i < 4; i++) g.dst_strides[i] = b->strides[i];
    return rm_lrp_first_create(&L->input, &g);
}

/* add: s = R / stab(z) in dst's layout (scratch_dst[2]); an input in
 * another layout gets s reordered into a scratch view of its own. */
static int prepare_add(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    RM_TRY(view(e, &l->dst_md, e->scratch_dst[2], &L->s));
    for (int k = 0; k < l->num_inputs; k++) {
        if (rm_md_equal(l->in_md[k], &l->dst_md)) continue;
        RM_TRY(view(e, l->in_md[k], e->scratch_src[1], &L->part[k]));
        RM_TRY(rm_reorder_create(&L->part_reorder[k], &e->net.dnn, &l->dst_md, l->in_md[k]));
        if (!L->part_reorder[k]) return rm_error("%s: no reorder between its input layouts", l->def->name);
    }
    return 0;
}

/* concat (dst plain NCHW): input k's channels [off_k, off_k + C_k) of the
 * relevance above, a sub-memory view reordered into input k's layout, or
 * into a scratch view when it adds to another reader's relevance. */
static int prepare_concat(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    dnnl_dim_t off = 0;
    for (int k = 0; k < l->num_inputs; k++) {
        const dnnl_memory_desc_t *in = l->in_md[k];
        dnnl_dims_t dims = {in->dims[0], in->dims[1], in->dims[2], in->dims[3]}, offsets = {0, off, 0, 0};
        off += in->dims[1];
        dnnl_memory_desc_t sub;
        RM_DNNL_TRY(dnnl_memory_desc_init_submemory(&sub, &l->dst_md, dims, offsets));
        RM_DNNL_TRY(dnnl_memory_create(&L->view[k], &sub, e->net.dnn.engine, DNNL_MEMORY_NONE));
        dnnl_primitive_desc_t pd;
        RM_DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, &sub, e->net.dnn.engine, in, e->net.dnn.engine, NULL));
        int rc = rm_primitive(&L->part_reorder[k], pd);
        rm_pd_destroy(&pd);
        RM_TRY(rc);
        if (L->acc[k]) RM_TRY(view(e, in, e->scratch_src[0], &L->part[k]));
    }
    return 0;
}

/* A batchnorm that could not be folded (it reads no convolution of its
 * own): y = a_c x + b_c with a_c = g_c / sqrt(v_c + e). bn_relevance walks
 * its layout by (n, c, h, w), so it takes plain or channel-blocked ones. */
static int prepare_batchnorm(lrp_engine *e, lrp_layer *L, int ignore_bias)
{
    rm_layer *l = L->layer;
    const dnnl_memory_desc_t *md = &l->src_md;
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (md->format_kind != dnnl_blocked || b->inner_nblks > 1 || (b->inner_nblks == 1 && b->inner_idxs[0] != 1) ||
        !rm_md_equal(md, &l->dst_md))
        return rm_error("%s: LRP through a batchnorm in this memory layout is not supported", l->def->name);
    int C = (int)md->dims[1];
    const char *name = l->def->name;
    rm_param *g = rm_net_param(&e->net, name, "gamma"), *beta = rm_net_param(&e->net, name, "beta"),
             *m = rm_net_param(&e->net, name, "running_mean"), *v = rm_net_param(&e->net, name, "running_var");
    L->bn_scale = rm_calloc((size_t)C, sizeof *L->bn_scale, "batchnorm scale");
    if (ignore_bias) L->bn_shift = rm_calloc((size_t)C, sizeof *L->bn_shift, "batchnorm shift");
    float *stats = rm_calloc((size_t)C * 2, sizeof *stats, "batchnorm statistics");   /* [mean | var] */
    int rc = L->bn_scale && stats && (L->bn_shift || !ignore_bias) ? 0 : -1;
    if (rc == 0 && (!g || !beta || !m || !v)) rc = rm_error("%s: batchnorm parameters missing", name);
    if (rc == 0) rc = rm_net_param_read(&e->net, g, L->bn_scale);
    if (rc == 0 && ignore_bias) rc = rm_net_param_read(&e->net, beta, L->bn_shift);
    if (rc == 0) rc = rm_net_param_read(&e->net, m, stats);
    if (rc == 0) rc = rm_net_param_read(&e->net, v, stats + C);
    for (int c = 0; rc == 0 && c < C; c++) {
        L->bn_scale[c] = (float)(L->bn_scale[c] / sqrt((double)stats[C + c] + l->def->eps));
        if (L->bn_shift) L->bn_shift[c] -= stats[c] * L->bn_scale[c];
    }
    free(stats);
    return rc;
}

/* [scale]: the same linear map with a_c = scale, b_c = shift. */
static int prepare_scale(lrp_engine *e, lrp_layer *L, int ignore_bias)
{
    rm_layer *l = L->layer;
    const dnnl_memory_desc_t *md = &l->src_md;
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (md->format_kind != dnnl_blocked || b->inner_nblks > 1 || (b->inner_nblks == 1 && b->inner_idxs[0] != 1) ||
        !rm_md_equal(md, &l->dst_md))
        return rm_error("%s: LRP through a scale layer in this memory layout is not supported", l->def->name);
    int C = (int)md->dims[1];
    rm_param *a = rm_net_param(&e->net, l->def->name, "scale"), *sh = rm_net_param(&e->net, l->def->name, "shift");
    if (!a || !sh) return rm_error("%s: scale parameters missing", l->def->name);
    L->bn_scale = rm_calloc((size_t)C, sizeof *L->bn_scale, "scale");
    if (ignore_bias) L->bn_shift = rm_calloc((size_t)C, sizeof *L->bn_shift, "shift");
    if (!L->bn_scale || (ignore_bias && !L->bn_shift)) return -1;
    RM_TRY(rm_net_param_read(&e->net, a, L->bn_scale));
    return ignore_bias ? rm_net_param_read(&e->net, sh, L->bn_shift) : 0;
}

static int prepare_layer(lrp_engine *e, lrp_layer *L, const rm_model *model, int ignore_bias)
{
    rm_layer *l = L->layer;
    size_t src = md_floats(&l->src_md), dst = md_floats(&l->dst_md);
    if (src > e->max_floats || dst > e->max_floats) return rm_error("LRP: buffer sizing");
    /* the data handles are the relevance slots' (assign_buffers) */
    RM_TRY(view(e, &l->src_md, e->buf[0], &L->rin));
    RM_TRY(view(e, &l->dst_md, e->buf[0], &L->rout));
    L->rins[0] = L->rin;
    for (int k = 1; k < l->num_inputs; k++) RM_TRY(view(e, l->in_md[k], e->buf[0], &L->rins[k]));
    L->image = image_floats(&l->dst_md);
    if (!L->image) L->image = dst;
    switch (l->def->type) {
    case RM_LAYER_AVGPOOL:
    case RM_LAYER_GLOBALAVGPOOL:
        RM_TRY(view(e, &l->dst_md, e->scratch_dst[2], &L->s));
        return view(e, &l->src_md, e->scratch_src[0], &L->c);
    case RM_LAYER_MAXPOOL: return L->acc[0] ? view(e, &l->src_md, e->scratch_src[0], &L->part[0]) : 0;
    case RM_LAYER_ADD: return prepare_add(e, L);
    case RM_LAYER_CONCAT: return prepare_concat(e, L);
    case RM_LAYER_BATCHNORM: return prepare_batchnorm(e, L, ignore_bias);
    case RM_LAYER_SCALE: return prepare_scale(e, L, ignore_bias);
    default: break;
    }
    if (!is_linear(l)) return 0;
    if (L->rule.kind == RM_RULE_ZBOX && l->def->inputs[0] != RM_INPUT_NETWORK)
        return rm_error("%s: the z-box rule needs pixel bounds and applies to the first layer only (one reading the "
                        "network input)", l->def->name);
    L->nonneg_input = input_is_rectified(&e->net, l->index);
    plan_rule(L);
    RM_TRY(prepare_weights(e, L, ignore_bias));
    RM_TRY(view(e, &l->dst_md, e->scratch_dst[0], &L->z));
    RM_TRY(view(e, &l->dst_md, e->scratch_dst[1], &L->zt));
    RM_TRY(view(e, &l->dst_md, e->scratch_dst[2], &L->s));
    for (int k = 0; k < L->npasses; k++) {
        plan_z(L, &L->passes[k]);
        RM_TRY(compute_zconst(e, L, &L->passes[k], model, ignore_bias));
    }
    RM_TRY(plan_input_kernel(L, model));
    for (int k = 0; k < W_KINDS; k++) {
        free(L->w_plain[k]);
        L->w_plain[k] = NULL;
    }
    free(L->bias_plain);
    L->bias_plain = NULL;
    /* Input variants the batches need: x+ and x- for forwards (and, without
     * the input kernel, as multipliers), constants as multipliers. */
    int need_x[X_KINDS] = {0};
    for (int k = 0; k < L->npasses; k++)
        for (int t = 0; t < L->passes[k].nterms; t++) {
            const term *tm = &L->passes[k].t[t];
            if (!L->input || (L->passes[k].zsrc == Z_COMPUTED && !is_constant_input(tm->x))) need_x[tm->x] = 1;
        }
    for (int k = X_ONES; k < X_KINDS; k++)
        if (!need_x[k]) rm_memory_destroy(&L->x[k]);
        else if (!L->x[k]) RM_TRY(constant_input(e, L, k, model));
    if (need_x[X_POS] && !L->nonneg_input) RM_TRY(view(e, &l->src_md, e->scratch_src[1], &L->x[X_POS]));
    if (need_x[X_NEG]) RM_TRY(view(e, &l->src_md, e->scratch_src[2], &L->x[X_NEG]));
    if (L->input) return 0;
    RM_TRY(view(e, &l->src_md, e->scratch_src[0], &L->c));
    if (!rm_md_equal(&l->lrp.bwd_diff_src_md, &l->src_md)) {
        RM_DNNL_TRY(dnnl_memory_create(&L->c_native, &l->lrp.bwd_diff_src_md, e->net.dnn.engine, DNNL_MEMORY_ALLOCATE));
        RM_TRY(rm_reorder_create(&L->c_reorder, &e->net.dnn, &l->lrp.bwd_diff_src_md, &l->src_md));
    }
    return 0;
}

/* --- running -------------------------------------------------------------------- */

static void split_input(lrp_layer *L)
{
    const float *x = rm_memory_ptr(L->layer->src);
    size_t n = rm_memory_floats(L->layer->src);
    if (L->x[X_POS] && !L->nonneg_input) {
        float *xp = rm_memory_ptr(L->x[X_POS]);
#pragma omp parallel for simd schedule(static) if (n > PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) xp[i] = x[i] > 0 ? x[i] : 0;
    }
    if (L->x[X_NEG]) {
        float *xn = rm_memory_ptr(L->x[X_NEG]);
#pragma omp parallel for simd schedule(static) if (n > PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) xn[i] = x[i] < 0 ? x[i] : 0;
    }
}

/* z' of a pass: its input-dependent part (NULL when there is none); the
 * constant part is added where z' is used. */
static int compute_z(lrp_engine *e, lrp_layer *L, const pass *p, const float **z)
{
    *z = NULL;
    if (p->zsrc == Z_LAYER) *z = rm_memory_ptr(L->layer->dst);
    if (p->zsrc != Z_COMPUTED) return 0;
    int first = 1;
    for (int t = 0; t < p->nterms; t++) {
        if (is_constant_input(p->t[t].x)) continue;
        dnnl_memory_t x = input_variant(L, p->t[t].x), w = L->wf[p->t[t].w];
        if (first) {
            RM_TRY(forward(e, L, x, w, L->b[p->bias], L->z));
        } else {
            RM_TRY(forward(e, L, x, w, L->b[B_ZERO], L->zt));
            RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
            add_into(rm_memory_ptr(L->z), rm_memory_ptr(L->zt), rm_memory_floats(L->z));
        }
        first = 0;
    }
    *z = rm_memory_ptr(L->z);
    return 0;
}

/* What the divide of pass p reads: R from above (rout, or the x and c the
 * layer above left), z' = zd + zconst, the layer's own output for masks. */
static rm_lrp_div divide_inputs(lrp_layer *L, const pass *p, const float *zd)
{
    rm_lrp_div d = {.r = rm_memory_ptr(L->rout), .zd = zd, .zc = p->zconst, .zo = rm_memory_ptr(L->layer->dst),
                    .eps = (float)p->eps, .mask = p->mask};
    const lrp_layer *above = L->r_from;
    if (above) {
        const pass *q = &above->passes[0];
        d.r = rm_memory_ptr(above->c);
        d.rx = rm_memory_ptr(input_variant((lrp_layer *)above, q->t[0].x));
        d.rscale = (float)q->scale;
    }
    return d;
}

/* s = mask(z) * R / stab(z'); one image at a time so the shared constant
 * part stays in cache. */
static void divide(lrp_layer *L, const pass *p, const float *zd)
{
    const rm_lrp_div d = divide_inputs(L, p, zd);
    float *s = rm_memory_ptr(L->s);
    const size_t img = L->image, nimg = rm_memory_floats(L->s) / img;
#pragma omp parallel for schedule(static) if (nimg > 1 && nimg * img > PARALLEL_MIN)
    for (size_t b = 0; b < nimg; b++) rm_lrp_divide(s + b * img, &d, (int64_t)(b * img), 0, (int64_t)img);
}

/* rin = scale x c, or rin += scale x c */
static void multiply(float *restrict rin, const float *restrict x, const float *restrict c, float scale, size_t n,
                     int accumulate)
{
    if (accumulate) {
#pragma omp parallel for simd schedule(static) if (n > PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) rin[i] += scale * x[i] * c[i];
    } else {
#pragma omp parallel for simd schedule(static) if (n > PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) rin[i] = scale * x[i] * c[i];
    }
}

static int linear_relevance(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    split_input(L);
    float *rin = rm_memory_ptr(L->rin);
    size_t nin = rm_memory_floats(L->rin);
    int written = L->acc[0];
    for (int k = 0; k < L->npasses; k++) {
        pass *p = &L->passes[k];
        const float *zd;
        RM_TRY(compute_z(e, L, p, &zd));
        RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
        if (L->input) {
            p->input.div = divide_inputs(L, p, zd);
            rm_lrp_first_run(L->input, rin, rm_memory_ptr(l->src), &p->input, written);
            written = 1;
            continue;
        }
        divide(L, p, zd);
        for (int t = 0; t < p->nterms; t++) {
            RM_TRY(rm_exec(&e->net.dnn, l->lrp.bwd, 4, DNNL_ARG_DIFF_DST, L->s, DNNL_ARG_WEIGHTS, L->wb[p->t[t].w],
                           DNNL_ARG_DIFF_SRC, L->c_native ? L->c_native : L->c, DNNL_ARG_SCRATCHPAD,
                           l->lrp.bwd_scratch));
            if (L->c_native) RM_TRY(rm_reorder_run(&e->net.dnn, L->c_reorder, L->c_native, L->c));
            RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
            if (L->deferred) continue;
            multiply(rin, rm_memory_ptr(input_variant(L, p->t[t].x)), rm_memory_ptr(L->c), (float)p->scale, nin,
                     written);
            written = 1;
        }
    }
    return 0;
}

/* s = R / stab(z) with the stabilizer eps (sign0(0) = +1) */
static void stab_divide(float *restrict s, const float *restrict r, const float *restrict z, float eps, size_t n)
{
#pragma omp parallel for simd schedule(static) if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) s[i] = r[i] / (z[i] + (z[i] >= 0 ? eps : -eps));
}

/* Average pooling: the epsilon rule with the pooling's own weights,
 * R_in = x * pool_backward(R / stab(avgpool(x))). */
static int avgpool_relevance(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    const float *z = rm_memory_ptr(l->dst), *r = rm_memory_ptr(L->rout);
    float *s = rm_memory_ptr(L->s);
    size_t n = md_floats(&l->dst_md), nin = md_floats(&l->src_md);
    stab_divide(s, r, z, (float)(L->rule.eps > 0 ? L->rule.eps : STAB_EPS), n);
    RM_TRY(rm_exec(&e->net.dnn, l->lrp.bwd, 4, DNNL_ARG_DIFF_DST, L->s, DNNL_ARG_DIFF_SRC, L->c, DNNL_ARG_WORKSPACE,
                   l->lrp.workspace, DNNL_ARG_SCRATCHPAD, l->lrp.bwd_scratch));
    RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
    multiply(rm_memory_ptr(L->rin), rm_memory_ptr(l->src), rm_memory_ptr(L->c), 1.f, nin, L->acc[0]);
    return 0;
}

/* add, zennit's Norm rule for sums: z = sum_k x_k is the layer's output
 * and R_k = x_k R / stab(z), stab with STAB_EPS whatever --eps says, so the
 * inputs share the relevance in proportion to their contributions and
 * (up to the stabilizer) conserve it. */
static int add_relevance(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    float *s = rm_memory_ptr(L->s);
    stab_divide(s, rm_memory_ptr(L->rout), rm_memory_ptr(l->dst), (float)STAB_EPS, md_floats(&l->dst_md));
    for (int k = 0; k < l->num_inputs; k++) {
        const float *sk = s;
        if (L->part_reorder[k]) {
            RM_TRY(rm_reorder_run(&e->net.dnn, L->part_reorder[k], L->s, L->part[k]));
            RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
            sk = rm_memory_ptr(L->part[k]);
        }
        multiply(rm_memory_ptr(L->rins[k]), rm_memory_ptr(l->in[k]), sk, 1.f, rm_memory_floats(L->rins[k]), L->acc[k]);
    }
    return 0;
}

/* concat: each input gets its own channels of the relevance above. */
static int concat_relevance(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    void *base = rm_memory_ptr(L->rout);
    for (int k = 0; k < l->num_inputs; k++) {
        RM_DNNL_TRY(dnnl_memory_set_data_handle(L->view[k], base));
        RM_TRY(rm_reorder_run(&e->net.dnn, L->part_reorder[k], L->view[k], L->acc[k] ? L->part[k] : L->rins[k]));
        RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
        if (L->acc[k]) add_into(rm_memory_ptr(L->rins[k]), rm_memory_ptr(L->part[k]), rm_memory_floats(L->rins[k]));
    }
    return 0;
}

/* An unfolded batchnorm or a [scale], y = a_c x + b_c: the epsilon rule of that
 * per-channel affine layer, R_in = a_c x R / stab(z) with z = y (or
 * y - b_c = a_c x with --ignore-bias) and the layer's eps (--eps; STAB_EPS
 * when it is 0), like average pooling. x, y, R and R_in share one plain or
 * channel-blocked layout (prepare_batchnorm). */
static int bn_relevance(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    const dnnl_memory_desc_t *md = &l->src_md;
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    const float *x = rm_memory_ptr(l->src), *y = rm_memory_ptr(l->dst), *r = rm_memory_ptr(L->rout);
    float *rin = rm_memory_ptr(L->rin);
    const float eps = (float)(L->rule.eps > 0 ? L->rule.eps : STAB_EPS);
    const int64_t N = md->dims[0], C = md->dims[1], H = md->ndims > 2 ? md->dims[2] : 1,
                  W = md->ndims > 3 ? md->dims[3] : 1, blk = bd->inner_nblks ? bd->inner_blks[0] : 1;
    const int64_t s0 = bd->strides[0], s1 = bd->strides[1], s2 = md->ndims > 2 ? bd->strides[2] : 0,
                  s3 = md->ndims > 3 ? bd->strides[3] : 0;
    if (!L->acc[0]) memset(rin, 0, md_floats(md) * sizeof *rin);   /* the layout's padding too */
#pragma omp parallel for collapse(2) schedule(static) if (N * C * H * W > PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                    int64_t o = md->offset0 + n * s0 + c / blk * s1 + h * s2 + w * s3 + c % blk;
                    float z = L->bn_shift ? y[o] - L->bn_shift[c] : y[o];
                    rin[o] += L->bn_scale[c] * x[o] * r[o] / (z + (z >= 0 ? eps : -eps));
                }
    return 0;
}

/* maxpool: the winners take all, through the pooling backward (which
 * sets its output: into a scratch view first when adding). */
static int maxpool_relevance(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    RM_TRY(rm_exec(&e->net.dnn, l->lrp.bwd, 4, DNNL_ARG_DIFF_DST, L->rout, DNNL_ARG_DIFF_SRC,
                   L->acc[0] ? L->part[0] : L->rin, DNNL_ARG_WORKSPACE, l->lrp.workspace, DNNL_ARG_SCRATCHPAD,
                   l->lrp.bwd_scratch));
    RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
    if (L->acc[0]) add_into(rm_memory_ptr(L->rin), rm_memory_ptr(L->part[0]), rm_memory_floats(L->rin));
    return 0;
}

/* ReLU, dropout and flatten pass relevance unchanged in the same layout:
 * their rin is their rout (plan_slots) unless their input has other
 * readers too, and then they copy or add it. */
static int type_passes(rm_layer_type t) { return t == RM_LAYER_RELU || t == RM_LAYER_DROPOUT || t == RM_LAYER_FLATTEN; }
static int passes_through(const lrp_layer *L) { return type_passes(L->layer->def->type); }

static void pass_relevance(lrp_layer *L)
{
    float *rin = rm_memory_ptr(L->rin);
    const float *rout = rm_memory_ptr(L->rout);
    if (rin == rout) return;
    size_t n = md_floats(&L->layer->src_md);
    if (L->acc[0]) add_into(rin, rout, n);
    else memcpy(rin, rout, n * sizeof *rin);
}

static int layer_relevance(lrp_engine *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    switch (l->def->type) {
    case RM_LAYER_CONV:
    case RM_LAYER_DENSE: return linear_relevance(e, L);
    case RM_LAYER_MAXPOOL: return maxpool_relevance(e, L);
    case RM_LAYER_AVGPOOL:
    case RM_LAYER_GLOBALAVGPOOL: return avgpool_relevance(e, L);
    case RM_LAYER_ADD: return add_relevance(e, L);
    case RM_LAYER_CONCAT: return concat_relevance(e, L);
    case RM_LAYER_BATCHNORM:
    case RM_LAYER_SCALE: return bn_relevance(e, L);
    default: pass_relevance(L); return 0;
    }
}

/* A dense/convolution layer whose rule is one term in one pass (epsilon,
 * LRP-0, z+ on a rectified input, flat, w-square) leaves rin = scale x c to
 * the dense/convolution layer below it (with only ReLU, dropout or flatten
 * between), whose divide then reads x and c instead of rin. In a graph
 * only along a plain chain: each layer reads the one just before it, which
 * nothing else reads, so no other layer runs in between (c is scratch). */
static void plan_deferred(lrp_engine *e)
{
    const rm_netdef *d = &e->def;
    for (int i = e->net.num_layers - 1; i > 0; i--) {
        lrp_layer *L = &e->layers[i];
        if (!is_linear(L->layer) || L->input || L->npasses != 1 || L->passes[0].nterms != 1) continue;
        int j = i - 1, chain = d->layers[i].inputs[0] == j && rm_netdef_consumers(d, j) == 1;
        while (chain && j > 0 && passes_through(&e->layers[j])) {
            chain = d->layers[j].inputs[0] == j - 1 && rm_netdef_consumers(d, j - 1) == 1;
            j--;
        }
        if (!chain) continue;
        lrp_layer *below = &e->layers[j];
        /* Below, a second pass would divide after its own backward-data has
         * overwritten c (the same scratch buffer); the input kernel has none. */
        if (!is_linear(below->layer) || passes_through(below) || (below->npasses > 1 && !below->input) ||
            !rm_md_equal(&L->layer->src_md, &below->layer->dst_md))
            continue;
        L->deferred = 1;
        below->r_from = L;
    }
}

/* Which relevance buffer holds the relevance of each output, in the order
 * the layers run (top down; layer t reads its own output's slot t + 1 and
 * writes its inputs'): an output's slot takes a free buffer when its first
 * writer runs (its reader with the highest index; the others add, acc) and
 * frees it once the layer itself has run. A pass-through layer that is the
 * only reader of its input hands it its own buffer (nothing moves). A
 * sequential network alternates between two buffers. Sets e->slot,
 * L->acc and e->nbuf. */
static int plan_slots(lrp_engine *e)
{
    const rm_netdef *d = &e->def;
    int n = d->num_layers;
    int *users = rm_calloc((size_t)n + 2, sizeof *users, "relevance slots");   /* live slots per buffer */
    if (!users) return -1;
    for (int i = 0; i <= n; i++) e->slot[i] = -1;
    e->slot[n] = 0;   /* the seed */
    users[0] = 1;
    e->nbuf = 2;
    for (int t = n - 1; t >= 0; t--) {
        const rm_layer_def *l = &d->layers[t];
        for (int k = 0; k < l->num_inputs; k++) {
            int p = l->inputs[k] + 1, b = 0;
            if (e->slot[p] >= 0) {
                e->layers[t].acc[k] = 1;
                continue;
            }
            if (type_passes(l->type) && rm_netdef_consumers(d, l->inputs[k]) == 1) b = e->slot[t + 1];
            else
                while (users[b]) b++;
            e->slot[p] = b;
            users[b]++;
            if (b + 1 > e->nbuf) e->nbuf = b + 1;
        }
        users[e->slot[t + 1]]--;
    }
    free(users);
    for (int i = 0; i <= n; i++)
        if (e->slot[i] < 0) return rm_error("LRP: the output of layer %d is read by no layer", i - 1);
    return 0;
}

/* Points every relevance view at its slot's buffer. */
static void assign_buffers(lrp_engine *e)
{
    for (int t = 0; t < e->net.num_layers; t++) {
        lrp_layer *L = &e->layers[t];
        dnnl_memory_set_data_handle(L->rout, e->buf[e->slot[t + 1]]);
        for (int k = 0; k < L->layer->num_inputs; k++)
            dnnl_memory_set_data_handle(L->rins[k], e->buf[e->slot[L->layer->def->inputs[k] + 1]]);
    }
    dnnl_memory_set_data_handle(e->input_rel, e->buf[e->slot[0]]);
}

int rm_lrp_seed_vector(const rm_lrp_seed *s, const float *z, int k, int target, float *seed, int32_t *explained,
                       float *score)
{
    int pred = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[pred]) pred = j;
    rm_seed_kind kind = s ? s->kind : RM_SEED_CLASS;
    int c = kind == RM_SEED_CLASS && target >= 0 ? target : pred;
    if (c >= k) return rm_error("explained class %d out of range 0..%d", c, k - 1);
    if (kind == RM_SEED_TOP && (s->top < 1 || s->top > k))
        return rm_error("top %d classes of %d: expected 1..%d", s->top, k, k);
    double sum = 0;
    for (int j = 0; j < k; j++) {
        float r = 0;
        switch (kind) {
        case RM_SEED_CLASS: r = j == c ? z[j] : 0.f; break;
        case RM_SEED_ALL: r = z[j]; break;
        case RM_SEED_TOP: {
            /* j's rank: the classes before it, by logit then index */
            int rank = 0;
            for (int i = 0; i < k; i++) rank += z[i] > z[j] || (z[i] == z[j] && i < j);
            r = rank < s->top ? z[j] : 0.f;
            break;
        }
        case RM_SEED_CONTRAST: r = j == c ? z[j] : k > 1 ? -z[j] / (float)(k - 1) : 0.f; break;
        default: return rm_error("LRP seed kind %d", (int)kind);
        }
        seed[j] = r;
        sum += r;
    }
    *explained = kind == RM_SEED_CLASS || kind == RM_SEED_CONTRAST || (kind == RM_SEED_TOP && s->top == 1) ? c : -1;
    *score = kind == RM_SEED_CLASS ? z[c] : (float)sum;
    return 0;
}

static int engine_run(lrp_engine *e, const rm_lrp_seed *how, const int32_t *target, float *relevance,
                      int32_t *explained, float *score, int32_t *predicted)
{
    RM_TRY(rm_net_forward(&e->net));
    for (int i = 0; i < e->net.num_layers; i++) e->layers[i].copy_holds_variant = 0;
    const float *z = rm_net_logits(&e->net);
    int k = e->classes, B = e->net.batch;
    lrp_layer *top = &e->layers[e->net.num_layers - 1];
    /* One seed row per image, [B,K] in the output's C,H,W order. */
    float *seed = e->seed_plain ? e->seed_plain : rm_memory_ptr(top->rout);
    for (int b = 0; b < B; b++) {
        const float *zb = z + (size_t)b * k;
        int32_t ex;
        float sc;
        RM_TRY(rm_lrp_seed_vector(how, zb, k, target ? target[b] : -1, seed + (size_t)b * k, &ex, &sc));
        if (predicted) {
            int pred = 0;
            for (int j = 1; j < k; j++)
                if (zb[j] > zb[pred]) pred = j;
            predicted[b] = pred;
        }
        if (explained) explained[b] = ex;
        if (score) score[b] = sc;
    }
    if (e->seed_plain) RM_TRY(rm_memory_write(&e->net.dnn, top->rout, e->seed_plain, e->seed_tag));
    for (int i = e->net.num_layers - 1; i >= 0; i--)
        if (layer_relevance(e, &e->layers[i]) != 0) return rm_error_prefix("LRP %s", e->layers[i].layer->def->name);
    return rm_memory_read(&e->net.dnn, e->input_rel, relevance, dnnl_nchw);
}

/* Whether the relevance arriving at layer j's output is exactly 0 wherever
 * that output is 0: every reader multiplies by its input (max pooling
 * routes R to a winner whose value is the pooled one; average pooling, add,
 * batchnorm and the epsilon, LRP-0, z+, alpha-beta and gamma rules end in
 * x * c), or passes R on to readers that do (ReLU, dropout, flatten, max
 * pooling, concat's channels). Flat and w-square (c alone) do not. */
static int zero_where_zero(const rm_netdef *def, const rm_rule *rules, const int *map, int j)
{
    int readers = 0;
    for (int c = j + 1; c < def->num_layers; c++) {
        const rm_layer_def *l = &def->layers[c];
        int reads = 0;
        for (int k = 0; k < l->num_inputs; k++) reads |= l->inputs[k] == j;
        if (!reads) continue;
        readers++;
        int ok = 0;
        switch (l->type) {
        case RM_LAYER_RELU:
        case RM_LAYER_DROPOUT:
        case RM_LAYER_FLATTEN:
        case RM_LAYER_MAXPOOL:
        case RM_LAYER_CONCAT: ok = zero_where_zero(def, rules, map, c); break;
        case RM_LAYER_AVGPOOL:
        case RM_LAYER_GLOBALAVGPOOL:
        case RM_LAYER_ADD:
        case RM_LAYER_BATCHNORM:
        case RM_LAYER_SCALE: ok = 1; break;
        case RM_LAYER_CONV:
        case RM_LAYER_DENSE: {
            rm_rule_kind k = rules[map[c]].kind;
            ok = k == RM_RULE_ZERO || k == RM_RULE_EPSILON || k == RM_RULE_ZPLUS || k == RM_RULE_ALPHABETA ||
                 k == RM_RULE_GAMMA;
            break;
        }
        default: ok = 0;
        }
        if (!ok) return 0;
    }
    return readers > 0;
}

/* Whether convolution i may apply the ReLU after it as a post-op, so that
 * its output is y = max(z, 0) instead of z. Its rule reads z only to divide
 * (z' = z for epsilon, LRP-0, z-box) and for gamma's output-sign masks, and
 * only where the relevance R arriving from above is not zero: there a zero
 * R gives s = 0 whatever z' is. Where y = 0, R is 0 when zero_where_zero
 * holds for the ReLU; where y > 0, y = z. */
static int relu_fusable(const rm_netdef *def, const rm_rule *rules, const int *map, int i)
{
    if (def->layers[i].type != RM_LAYER_CONV || i + 1 >= def->num_layers ||
        !rm_layer_is_plain_relu(&def->layers[i + 1]) ||
        def->layers[i + 1].inputs[0] != i || rm_netdef_consumers(def, i) != 1)
        return 0;
    return zero_where_zero(def, rules, map, i + 1);
}

static void engine_destroy(lrp_engine *e);

int rm_lrp_check_network(const rm_netdef *def)
{
    for (int i = 0; i < def->num_layers; i++) {
        const rm_layer_def *l = &def->layers[i];
        switch (l->type) {
        case RM_LAYER_CONV:
        case RM_LAYER_RELU:
        case RM_LAYER_MAXPOOL:
        case RM_LAYER_AVGPOOL:
        case RM_LAYER_GLOBALAVGPOOL:
        case RM_LAYER_FLATTEN:
        case RM_LAYER_DROPOUT:
        case RM_LAYER_BATCHNORM:
        case RM_LAYER_SCALE:
        case RM_LAYER_DENSE:
        case RM_LAYER_ADD:
        case RM_LAYER_CONCAT: break;
        default:
            return rm_error("network %s, layer %s (line %d): LRP through '%s' layers is not supported; use --method "
                            "occlusion", def->name, l->name, l->line,
                            (unsigned)l->type < RM_LAYER_TYPE_COUNT ? rm_layer_type_names[l->type] : "?");
        }
    }
    /* the logits: a dense layer's output, or a flatten's (a convolution to
     * the classes, global average pooling and a flatten, as in mini-Xception) */
    const rm_layer_def *last = def->num_layers ? &def->layers[def->num_layers - 1] : NULL;
    if (!last || (last->type != RM_LAYER_DENSE && last->type != RM_LAYER_FLATTEN))
        return rm_error("network %s, layer %s (line %d): LRP needs a dense or flatten last layer (the logits); use "
                        "--method occlusion", def->name, last ? last->name : "-", last ? last->line : 0);
    return 0;
}

static int engine_create(lrp_engine **out, const rm_model *model, int batch, const rm_lrp_config *cfg)
{
    *out = NULL;
    RM_TRY(rm_lrp_check_network(&model->def));
    if (cfg->num_rules != model->def.num_layers)
        return rm_error("LRP: %d rules for a network of %d layers", cfg->num_rules, model->def.num_layers);
    lrp_engine *e = rm_calloc(1, sizeof *e, "LRP engine");
    if (!e) return -1;
    int *map = rm_calloc((size_t)model->def.num_layers, sizeof *map, "layer map");
    int rc = map ? rm_model_fold_batchnorm(model, &e->def, &e->folded, map) : -1;
    unsigned char *fuse = rc == 0 ? rm_calloc((size_t)e->def.num_layers + 1, 1, "layer flags") : NULL;
    if (!fuse) rc = -1;
    for (int i = 0; rc == 0 && i < e->def.num_layers; i++)
        fuse[i] = (unsigned char)relu_fusable(&e->def, cfg->rules, map, i);
    if (rc == 0) rc = rm_net_create_lrp(&e->net, &e->def, batch, fuse);
    free(fuse);
    if (rc == 0) rc = rm_model_apply(&e->folded, &e->net);
    if (rc == 0) {
        const dnnl_memory_desc_t *top = &e->net.layers[e->net.num_layers - 1].dst_md;
        dnnl_memory_desc_t plain;
        dnnl_dims_t dims = {batch, model->def.classes};
        rc = rm_md_init(&plain, 2, dims, dnnl_nc);
        if (rc == 0 && !rm_md_equal(top, &plain)) {
            e->seed_tag = top->ndims == 4 ? dnnl_nchw : dnnl_nc;
            if (top->ndims != 4 && top->ndims != 2)
                rc = rm_error("LRP: the last layer's output has %d dimensions; expected [batch, classes]", top->ndims);
            else if (!(e->seed_plain = rm_malloc(sizeof(float) * (size_t)batch * (size_t)model->def.classes, "LRP seed")))
                rc = -1;
        }
    }
    e->classes = model->def.classes;
    e->max_floats = rc == 0 ? md_floats(&e->net.input_md) : 0;
    for (int i = 0; rc == 0 && i < e->net.num_layers; i++) {
        size_t a = md_floats(&e->net.layers[i].src_md), b = md_floats(&e->net.layers[i].dst_md);
        if (a > e->max_floats) e->max_floats = a;
        if (b > e->max_floats) e->max_floats = b;
    }
    if (rc == 0) {
        e->layers = rm_calloc((size_t)e->net.num_layers, sizeof *e->layers, "LRP layers");
        e->slot = rm_calloc((size_t)e->net.num_layers + 1, sizeof *e->slot, "relevance slots");
        rc = e->layers && e->slot ? plan_slots(e) : -1;
    }
    if (rc == 0) {
        e->buf = rm_calloc((size_t)e->nbuf, sizeof *e->buf, "relevance");
        for (int k = 0; e->buf && k < e->nbuf; k++) e->buf[k] = rm_calloc(e->max_floats, sizeof(float), "relevance");
        for (int k = 0; k < 3; k++) e->scratch_dst[k] = rm_calloc(e->max_floats, sizeof(float), "LRP scratch");
        for (int k = 0; k < 3; k++) e->scratch_src[k] = rm_calloc(e->max_floats, sizeof(float), "LRP scratch");
        rc = e->buf ? 0 : -1;
        for (int k = 0; rc == 0 && k < e->nbuf; k++)
            if (!e->buf[k]) rc = -1;
        for (int k = 0; k < 3; k++)
            if (!e->scratch_dst[k] || !e->scratch_src[k]) rc = -1;
    }
    for (int i = 0; rc == 0 && i < e->net.num_layers; i++) {
        lrp_layer *L = &e->layers[i];
        L->layer = &e->net.layers[i];
        L->rule = cfg->rules[map[i]];
        rc = prepare_layer(e, L, model, cfg->ignore_bias);
    }
    free(map);
    if (rc == 0) rc = view(e, &e->net.input_md, e->buf[0], &e->input_rel);
    if (rc != 0) {
        engine_destroy(e);
        return -1;
    }
    plan_deferred(e);
    assign_buffers(e);
    *out = e;
    return 0;
}

static void engine_destroy(lrp_engine *e)
{
    if (!e) return;
    free(e->seed_plain);
    for (int i = 0; e->layers && i < e->net.num_layers; i++) {
        lrp_layer *L = &e->layers[i];
        for (int k = 0; k < W_KINDS; k++) {
            rm_memory_destroy(&L->wf[k]);
            rm_memory_destroy(&L->wb[k]);
        }
        for (int k = 0; k < B_KINDS; k++) rm_memory_destroy(&L->b[k]);
        for (int k = 1; k < X_KINDS; k++) rm_memory_destroy(&L->x[k]);
        for (int k = 0; k < W_KINDS; k++) free(L->w_plain[k]);
        free(L->bias_plain);
        for (int p = 0; p < 2; p++) {
            free(L->passes[p].zconst);
            for (int g = 0; g < RM_LRP_FIRST_GROUPS; g++) free(L->passes[p].input_w[g]);
        }
        rm_lrp_first_destroy(L->input);
        rm_memory_destroy(&L->z);
        rm_memory_destroy(&L->zt);
        rm_memory_destroy(&L->s);
        rm_memory_destroy(&L->c);
        rm_memory_destroy(&L->c_native);
        rm_primitive_destroy(&L->c_reorder);
        rm_memory_destroy(&L->rin);
        rm_memory_destroy(&L->rout);
        for (int k = 0; k < RM_MAX_INPUTS; k++) {
            if (k > 0) rm_memory_destroy(&L->rins[k]);
            rm_memory_destroy(&L->view[k]);
            rm_memory_destroy(&L->part[k]);
            rm_primitive_destroy(&L->part_reorder[k]);
        }
        free(L->bn_scale);
        free(L->bn_shift);
    }
    free(e->layers);
    free(e->slot);
    rm_memory_destroy(&e->input_rel);
    rm_net_destroy(&e->net);
    for (int i = 0; i < e->folded.num_tensors; i++) free(e->folded.tensors[i].data);
    free(e->folded.tensors);
    rm_netdef_free(&e->def);
    for (int k = 0; e->buf && k < e->nbuf; k++) free(e->buf[k]);
    free(e->buf);
    for (int k = 0; k < 3; k++) free(e->scratch_dst[k]);
    for (int k = 0; k < 3; k++) free(e->scratch_src[k]);
    free(e);
}

/* --- the batch over threads ----------------------------------------------------
 * With several threads the batch is split into one slice per thread, each
 * with its own engine run by one thread (oneDNN primitives and the C loops
 * run single-threaded inside the parallel region): no barriers between the
 * threads inside a run, and a descheduled thread delays only its slice.
 * A slice needs MIN_SLICE images: below 16 oneDNN 2.6 picks direct instead
 * of Winograd convolutions and the dense weights are read for few images
 * (fer-small at 8 images costs 1.8x per image what it costs at 16 or 32).
 * When the batch cannot give every thread such a slice it stays one engine
 * whose primitives use every thread. */
enum { MIN_SLICE = 16 };

struct rm_lrp {
    int batch, classes, nslices;
    int64_t image;               /* floats per input image */
    lrp_engine **slice;
    int *first;                  /* [nslices + 1] first image of each slice */
    float *input, *logits;       /* [batch, C, H, W], [batch, K]: the slices' views */
};

int rm_lrp_create(rm_lrp **out, const rm_model *model, int batch, const rm_lrp_config *cfg)
{
    *out = NULL;
    rm_lrp *e = rm_calloc(1, sizeof *e, "LRP engine");
    if (!e) return -1;
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    e->batch = batch;
    e->classes = model->def.classes;
    e->nslices = batch / MIN_SLICE >= threads ? threads : 1;
    e->image = (int64_t)model->def.input.c * model->def.input.h * model->def.input.w;
    e->slice = rm_calloc((size_t)e->nslices, sizeof *e->slice, "LRP engines");
    e->first = rm_calloc((size_t)e->nslices + 1, sizeof *e->first, "LRP engines");
    e->input = rm_calloc((size_t)(batch > 0 ? batch : 1) * (size_t)e->image, sizeof(float), "LRP input");
    e->logits = rm_calloc((size_t)(batch > 0 ? batch : 1) * (size_t)e->classes, sizeof(float), "LRP logits");
    int rc = e->slice && e->first && e->input && e->logits ? 0 : -1;
    for (int s = 0; rc == 0 && s < e->nslices; s++) {
        e->first[s + 1] = (int)((int64_t)batch * (s + 1) / e->nslices);
        rc = engine_create(&e->slice[s], model, e->first[s + 1] - e->first[s], cfg);
        rm_net *net = rc == 0 ? &e->slice[s]->net : NULL;
        if (rc == 0) rc = RM_DNNL(dnnl_memory_set_data_handle(net->input_user, e->input + e->first[s] * e->image));
        if (rc == 0)
            rc = RM_DNNL(dnnl_memory_set_data_handle(net->logits_user, e->logits + (int64_t)e->first[s] * e->classes));
    }
    if (rc != 0) {
        rm_lrp_destroy(e);
        return -1;
    }
    *out = e;
    return 0;
}

int rm_lrp_run_seeded(rm_lrp *e, const rm_lrp_seed *seed, const int32_t *target, float *relevance,
                      int32_t *explained, float *score, int32_t *predicted)
{
    if (e->nslices == 1) return engine_run(e->slice[0], seed, target, relevance, explained, score, predicted);
    int failed = 0;
    char message[1024] = "";
#pragma omp parallel for num_threads(e->nslices) schedule(static, 1)
    for (int s = 0; s < e->nslices; s++) {
        int b = e->first[s];
        int rc = engine_run(e->slice[s], seed, target ? target + b : NULL, relevance + b * e->image,
                            explained ? explained + b : NULL, score ? score + b : NULL, predicted ? predicted + b : NULL);
        if (rc != 0) {
#pragma omp critical(rm_lrp_error)
            if (!failed++) snprintf(message, sizeof message, "%s", rm_error_message());   /* the error is per thread */
        }
    }
    return failed ? rm_error("%s", message) : 0;
}

int rm_lrp_run(rm_lrp *e, const int32_t *target, float *relevance, int32_t *explained, float *logit,
               int32_t *predicted)
{
    return rm_lrp_run_seeded(e, NULL, target, relevance, explained, logit, predicted);
}

float *rm_lrp_input(rm_lrp *e) { return e->input; }
const float *rm_lrp_logits(rm_lrp *e) { return e->logits; }

void rm_lrp_destroy(rm_lrp *e)
{
    if (!e) return;
    for (int s = 0; e->slice && s < e->nslices; s++) engine_destroy(e->slice[s]);
    free(e->slice);
    free(e->first);
    free(e->input);
    free(e->logits);
    free(e);
}
