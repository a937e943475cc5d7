/* The LRP engine: a folded network built in RM_MODE_LRP, modified weights
 * prepared once, and the four-step pattern per rule (see lrp.h). */
#include "relmask/lrp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "relmask/error.h"

enum { W_ORIG, W_POS, W_NEG, W_MPOS, W_MNEG, W_SQ, W_ONES, W_GPOS, W_GNEG, W_KINDS };   /* M: negated */
enum { B_ORIG, B_POS, B_NEG, B_ZERO, B_GPOS, B_GNEG, B_KINDS };
enum { X_ORIG, X_POS, X_NEG, X_ONES, X_LOW, X_HIGH, X_KINDS };
enum { MASK_ALL = 0, MASK_NONNEG = 1, MASK_NEG = 2 };
#define STAB_EPS 1e-6   /* stabilizer of the non-epsilon rules (zennit's default) */

typedef struct { int x, w; } term;
typedef struct {
    term t[3];
    int nterms, bias, mask;
    int reuse_z;                 /* z' is the layer's own output (0/epsilon with bias) */
    double scale, eps;
} pass;

typedef struct {
    rm_layer *layer;
    rm_rule rule;
    int nonneg_input;            /* the input is rectified: x- terms vanish */
    pass passes[2];
    int npasses;
    dnnl_memory_t wf[W_KINDS], wb[W_KINDS], b[B_KINDS];
    dnnl_memory_t x[X_KINDS];    /* input variants (src layout) */
    dnnl_memory_t z, zt, s;      /* dst layout */
    dnnl_memory_t c;             /* src layout */
    dnnl_memory_t c_native;      /* backward-data's own output layout, when it differs */
    dnnl_primitive_t c_reorder;
    dnnl_memory_t rin, rout;     /* relevance below / above the layer */
} lrp_layer;

struct rm_lrp {
    rm_netdef def;               /* folded */
    rm_model folded;
    rm_net net;
    lrp_layer *layers;
    float *buf[2], *scratch_dst[3], *scratch_src[3];
    size_t max_floats;
    int classes;
};

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

static int used_input(const lrp_layer *L, int x)
{
    for (int k = 0; k < L->npasses; k++)
        for (int t = 0; t < L->passes[k].nterms; t++)
            if (L->passes[k].t[t].x == x) return 1;
    return 0;
}

/* A memory in md holding `plain` (reordered from the plain tag). */
static int make_memory(rm_lrp *e, const dnnl_memory_desc_t *md, const float *plain, dnnl_format_tag_t tag,
                       dnnl_memory_t *mem)
{
    RM_DNNL_TRY(dnnl_memory_create(mem, md, e->net.dnn.engine, DNNL_MEMORY_ALLOCATE));
    memset(rm_memory_ptr(*mem), 0, dnnl_memory_desc_get_size(md));
    return rm_memory_write(&e->net.dnn, *mem, plain, tag);
}

/* The same weights in backward-data's layout, from forward's: for layouts
 * oneDNN 2.6 cannot fill from plain weights directly. */
static int reordered_copy(rm_lrp *e, dnnl_memory_t from, const dnnl_memory_desc_t *md, dnnl_memory_t *to)
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

static int prepare_weights(rm_lrp *e, lrp_layer *L, int ignore_bias)
{
    rm_param *wp = &L->layer->params[0], *bp = L->layer->num_params > 1 ? &L->layer->params[1] : NULL;
    int64_t n = rm_param_plain_count(wp), nb = bp ? rm_param_plain_count(bp) : 0;
    float *w = rm_malloc(sizeof *w * (size_t)n, "weights"), *m = rm_malloc(sizeof *m * (size_t)n, "weights");
    float *b = rm_malloc(sizeof *b * (size_t)(nb + 1), "bias"), *mb = rm_malloc(sizeof *mb * (size_t)(nb + 1), "bias");
    int rc = w && m && b && mb ? 0 : -1;
    if (rc == 0) rc = rm_net_param_read(&e->net, wp, w);
    if (rc == 0 && bp) rc = rm_net_param_read(&e->net, bp, b);
    dnnl_format_tag_t tag = L->layer->lrp.weights_md.ndims == 4 ? dnnl_oihw : dnnl_oi;
    for (int k = 0; rc == 0 && k < W_KINDS; k++) {
        if (!used_weight(L, k)) continue;
        for (int64_t i = 0; i < n; i++) m[i] = modify(k, w[i], L->rule.gamma);
        rc = make_memory(e, &L->layer->lrp.weights_md, m, tag, &L->wf[k]);
        if (rc == 0 && make_memory(e, &L->layer->lrp.bwd_weights_md, m, tag, &L->wb[k]) != 0) {
            rm_memory_destroy(&L->wb[k]);
            rc = reordered_copy(e, L->wf[k], &L->layer->lrp.bwd_weights_md, &L->wb[k]);
        }
    }
    for (int k = 0; rc == 0 && bp && k < B_KINDS; k++) {
        for (int64_t i = 0; i < nb; i++) mb[i] = modify_bias(k, b[i], L->rule.gamma, ignore_bias);
        const dnnl_memory_desc_t *md;
        dnnl_memory_get_memory_desc(bp->value, &md);
        rc = make_memory(e, md, mb, dnnl_x, &L->b[k]);
    }
    free(w);
    free(m);
    free(b);
    free(mb);
    return rc;
}

/* --- buffers ------------------------------------------------------------------ */

static int view(rm_lrp *e, const dnnl_memory_desc_t *md, float *data, dnnl_memory_t *mem)
{
    return RM_DNNL(dnnl_memory_create(mem, md, e->net.dnn.engine, data));
}

static size_t md_floats(const dnnl_memory_desc_t *md) { return dnnl_memory_desc_get_size(md) / sizeof(float); }

/* Constant input variants: ones, and for z-box the bounds (the normalized
 * pixel values 0 and 255 per channel). */
static int constant_input(rm_lrp *e, lrp_layer *L, int kind, const rm_model *model)
{
    const rm_layer_def *d = L->layer->def;
    int64_t n = (int64_t)e->net.batch * d->in.c * d->in.h * d->in.w, per = (int64_t)d->in.h * d->in.w;
    float *v = rm_malloc(sizeof *v * (size_t)n, "bounds");
    if (!v) return -1;
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i / per % d->in.c);
        if (kind == X_ONES) v[i] = 1;
        else v[i] = ((kind == X_LOW ? 0.f : 1.f) - model->norm_mean[c]) / model->norm_std[c];
    }
    dnnl_format_tag_t tag = L->layer->src_md.ndims == 4 ? dnnl_nchw : dnnl_nc;
    int rc = make_memory(e, &L->layer->src_md, v, tag, &L->x[kind]);
    free(v);
    return rc;
}

static int input_is_rectified(const rm_net *net, int index)
{
    for (int i = index - 1; i >= 0; i--) {
        rm_layer_type t = net->layers[i].def->type;
        if (t == RM_LAYER_RELU) return 1;
        if (t != RM_LAYER_MAXPOOL && t != RM_LAYER_AVGPOOL && t != RM_LAYER_GLOBALAVGPOOL && t != RM_LAYER_FLATTEN &&
            t != RM_LAYER_DROPOUT)
            return 0;
    }
    return 0;
}

static int prepare_layer(rm_lrp *e, lrp_layer *L, const rm_model *model, int ignore_bias)
{
    rm_layer *l = L->layer;
    size_t src = md_floats(&l->src_md), dst = md_floats(&l->dst_md);
    if (src > e->max_floats || dst > e->max_floats) return rm_error("LRP: buffer sizing");
    RM_TRY(view(e, &l->src_md, e->buf[0], &L->rin));
    RM_TRY(view(e, &l->dst_md, e->buf[1], &L->rout));
    if (l->def->type == RM_LAYER_AVGPOOL || l->def->type == RM_LAYER_GLOBALAVGPOOL) {
        RM_TRY(view(e, &l->dst_md, e->scratch_dst[2], &L->s));
        return view(e, &l->src_md, e->scratch_src[0], &L->c);
    }
    if (!is_linear(l)) return 0;
    if (L->rule.kind == RM_RULE_ZBOX && l->index != 0)
        return rm_error("%s: the z-box rule needs pixel bounds and applies to the first layer only", l->def->name);
    L->nonneg_input = input_is_rectified(&e->net, l->index);
    plan_rule(L);
    int plain_rule = L->rule.kind == RM_RULE_ZERO || L->rule.kind == RM_RULE_EPSILON;
    L->passes[0].reuse_z = plain_rule && (!ignore_bias || l->num_params < 2);
    RM_TRY(prepare_weights(e, L, ignore_bias));
    RM_TRY(view(e, &l->dst_md, e->scratch_dst[0], &L->z));
    RM_TRY(view(e, &l->dst_md, e->scratch_dst[1], &L->zt));
    RM_TRY(view(e, &l->dst_md, e->scratch_dst[2], &L->s));
    RM_TRY(view(e, &l->src_md, e->scratch_src[0], &L->c));
    if (!rm_md_equal(&l->lrp.bwd_diff_src_md, &l->src_md)) {
        RM_DNNL_TRY(dnnl_memory_create(&L->c_native, &l->lrp.bwd_diff_src_md, e->net.dnn.engine, DNNL_MEMORY_ALLOCATE));
        RM_TRY(rm_reorder_create(&L->c_reorder, &e->net.dnn, &l->lrp.bwd_diff_src_md, &l->src_md));
    }
    L->x[X_ORIG] = NULL;   /* the layer's own input, l->src, at run time */
    if (used_input(L, X_POS)) RM_TRY(view(e, &l->src_md, e->scratch_src[1], &L->x[X_POS]));
    if (used_input(L, X_NEG)) RM_TRY(view(e, &l->src_md, e->scratch_src[2], &L->x[X_NEG]));
    for (int k = X_ONES; k <= X_HIGH; k++)
        if (used_input(L, k)) RM_TRY(constant_input(e, L, k, model));
    return 0;
}

/* --- running -------------------------------------------------------------------- */

static dnnl_memory_t input_variant(lrp_layer *L, int kind) { return kind == X_ORIG ? L->layer->src : L->x[kind]; }

static int forward_term(rm_lrp *e, lrp_layer *L, const term *t, int bias, dnnl_memory_t out)
{
    rm_layer *l = L->layer;
    dnnl_memory_t b = l->num_params > 1 ? L->b[bias] : NULL;
    return rm_exec(&e->net.dnn, l->lrp.fwd, 5, DNNL_ARG_SRC, input_variant(L, t->x), DNNL_ARG_WEIGHTS, L->wf[t->w],
                   DNNL_ARG_BIAS, b, DNNL_ARG_DST, out, DNNL_ARG_SCRATCHPAD, l->lrp.fwd_scratch);
}

static void split_input(lrp_layer *L)
{
    if (!L->x[X_POS] && !L->x[X_NEG]) return;
    const float *x = rm_memory_ptr(L->layer->src);
    float *xp = L->x[X_POS] ? rm_memory_ptr(L->x[X_POS]) : NULL, *xn = L->x[X_NEG] ? rm_memory_ptr(L->x[X_NEG]) : NULL;
    size_t n = rm_memory_floats(L->layer->src);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        if (xp) xp[i] = x[i] > 0 ? x[i] : 0;
        if (xn) xn[i] = x[i] < 0 ? x[i] : 0;
    }
}

/* s = mask(z_orig) * R / stab(z') */
static void divide(lrp_layer *L, const pass *p)
{
    const float *z = rm_memory_ptr(p->reuse_z ? L->layer->dst : L->z), *r = rm_memory_ptr(L->rout), *zo = rm_memory_ptr(L->layer->dst);
    float *s = rm_memory_ptr(L->s);
    size_t n = rm_memory_floats(L->s);
    const float eps = (float)p->eps;
    const int mask = p->mask;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float keep = mask == MASK_ALL ? 1.f : ((zo[i] >= 0) == (mask == MASK_NONNEG) ? 1.f : 0.f);
        float d = z[i] + (z[i] >= 0 ? eps : -eps);
        s[i] = d != 0 ? keep * r[i] / d : 0;   /* only LRP-0 can meet z = 0: no relevance passes */
    }
}

static int linear_relevance(rm_lrp *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    split_input(L);
    float *rin = rm_memory_ptr(L->rin);
    size_t nin = rm_memory_floats(L->rin);
    memset(rin, 0, nin * sizeof *rin);
    for (int k = 0; k < L->npasses; k++) {
        const pass *p = &L->passes[k];
        if (!p->reuse_z) RM_TRY(forward_term(e, L, &p->t[0], p->bias, L->z));
        for (int t = 1; t < p->nterms; t++) {
            RM_TRY(forward_term(e, L, &p->t[t], B_ZERO, L->zt));
            RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
            float *z = rm_memory_ptr(L->z);
            const float *zt = rm_memory_ptr(L->zt);
            size_t n = rm_memory_floats(L->z);
            for (size_t i = 0; i < n; i++) z[i] += zt[i];
        }
        RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
        divide(L, p);
        for (int t = 0; t < p->nterms; t++) {
            RM_TRY(rm_exec(&e->net.dnn, l->lrp.bwd, 4, DNNL_ARG_DIFF_DST, L->s, DNNL_ARG_WEIGHTS, L->wb[p->t[t].w],
                           DNNL_ARG_DIFF_SRC, L->c_native ? L->c_native : L->c, DNNL_ARG_SCRATCHPAD,
                           l->lrp.bwd_scratch));
            if (L->c_native) RM_TRY(rm_reorder_run(&e->net.dnn, L->c_reorder, L->c_native, L->c));
            RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
            const float *c = rm_memory_ptr(L->c), *x = rm_memory_ptr(input_variant(L, p->t[t].x));
            const float scale = (float)p->scale;
#pragma omp parallel for schedule(static) if (nin > 65536)
            for (size_t i = 0; i < nin; i++) rin[i] += scale * x[i] * c[i];
        }
    }
    return 0;
}

/* Average pooling: the epsilon rule with the pooling's own weights,
 * R_in = x * pool_backward(R / stab(avgpool(x))). */
static int avgpool_relevance(rm_lrp *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    const float *z = rm_memory_ptr(l->dst), *r = rm_memory_ptr(L->rout);
    float *s = rm_memory_ptr(L->s);
    size_t n = md_floats(&l->dst_md), nin = md_floats(&l->src_md);
    const float eps = (float)(L->rule.eps > 0 ? L->rule.eps : STAB_EPS);
    for (size_t i = 0; i < n; i++) s[i] = r[i] / (z[i] + (z[i] >= 0 ? eps : -eps));
    RM_TRY(rm_exec(&e->net.dnn, l->lrp.bwd, 4, DNNL_ARG_DIFF_DST, L->s, DNNL_ARG_DIFF_SRC, L->c, DNNL_ARG_WORKSPACE,
                   l->lrp.workspace, DNNL_ARG_SCRATCHPAD, l->lrp.bwd_scratch));
    RM_DNNL_TRY(dnnl_stream_wait(e->net.dnn.stream));
    const float *x = rm_memory_ptr(l->src), *c = rm_memory_ptr(L->c);
    float *rin = rm_memory_ptr(L->rin);
    for (size_t i = 0; i < nin; i++) rin[i] = x[i] * c[i];
    return 0;
}

static int layer_relevance(rm_lrp *e, lrp_layer *L)
{
    rm_layer *l = L->layer;
    switch (l->def->type) {
    case RM_LAYER_CONV:
    case RM_LAYER_DENSE: return linear_relevance(e, L);
    case RM_LAYER_MAXPOOL:
        RM_TRY(rm_exec(&e->net.dnn, l->lrp.bwd, 4, DNNL_ARG_DIFF_DST, L->rout, DNNL_ARG_DIFF_SRC, L->rin,
                       DNNL_ARG_WORKSPACE, l->lrp.workspace, DNNL_ARG_SCRATCHPAD, l->lrp.bwd_scratch));
        return RM_DNNL(dnnl_stream_wait(e->net.dnn.stream));
    case RM_LAYER_AVGPOOL:
    case RM_LAYER_GLOBALAVGPOOL: return avgpool_relevance(e, L);
    default:   /* relu, dropout, flatten: unchanged, same layout */
        memcpy(rm_memory_ptr(L->rin), rm_memory_ptr(L->rout), md_floats(&l->src_md) * sizeof(float));
        return 0;
    }
}

/* Points each layer's rout at the buffer the layer above wrote into. */
static void assign_buffers(rm_lrp *e)
{
    int cur = 0;   /* buffer holding the relevance at the top */
    for (int i = e->net.num_layers - 1; i >= 0; i--) {
        lrp_layer *L = &e->layers[i];
        dnnl_memory_set_data_handle(L->rout, e->buf[cur]);
        dnnl_memory_set_data_handle(L->rin, e->buf[1 - cur]);
        cur = 1 - cur;
    }
}

int rm_lrp_run(rm_lrp *e, const int32_t *target, float *relevance, int32_t *explained, float *logit,
               int32_t *predicted)
{
    RM_TRY(rm_net_forward(&e->net));
    const float *z = rm_net_logits(&e->net);
    int k = e->classes, B = e->net.batch;
    lrp_layer *top = &e->layers[e->net.num_layers - 1];
    float *seed = rm_memory_ptr(top->rout);
    memset(seed, 0, md_floats(&top->layer->dst_md) * sizeof(float));
    for (int b = 0; b < B; b++) {
        int pred = 0;
        for (int j = 1; j < k; j++)
            if (z[(size_t)b * k + j] > z[(size_t)b * k + pred]) pred = j;
        int c = target && target[b] >= 0 ? target[b] : pred;
        if (c >= k) return rm_error("explained class %d out of range 0..%d", c, k - 1);
        if (predicted) predicted[b] = pred;
        if (explained) explained[b] = c;
        if (logit) logit[b] = z[(size_t)b * k + c];
        /* The last layer's output is plain [B,K] (dense): seed the logit. */
        seed[(size_t)b * k + c] = z[(size_t)b * k + c];
    }
    for (int i = e->net.num_layers - 1; i >= 0; i--)
        if (layer_relevance(e, &e->layers[i]) != 0) return rm_error_prefix("LRP %s", e->layers[i].layer->def->name);
    lrp_layer *bottom = &e->layers[0];
    RM_TRY(rm_memory_read(&e->net.dnn, bottom->rin, relevance, dnnl_nchw));
    return 0;
}

float *rm_lrp_input(rm_lrp *e) { return rm_net_input(&e->net); }
const float *rm_lrp_logits(rm_lrp *e) { return rm_net_logits(&e->net); }

int rm_lrp_create(rm_lrp **out, const rm_model *model, int batch, const rm_lrp_config *cfg)
{
    *out = NULL;
    if (cfg->num_rules != model->def.num_layers)
        return rm_error("LRP: %d rules for a network of %d layers", cfg->num_rules, model->def.num_layers);
    rm_lrp *e = rm_calloc(1, sizeof *e, "LRP engine");
    if (!e) return -1;
    int *map = rm_calloc((size_t)model->def.num_layers, sizeof *map, "layer map");
    int rc = map ? rm_fold_batchnorm(model, &e->def, &e->folded, map) : -1;
    if (rc == 0) rc = rm_net_create(&e->net, &e->def, batch, RM_MODE_LRP, 0);
    if (rc == 0) rc = rm_model_apply(&e->folded, &e->net);
    if (rc == 0) {
        const dnnl_memory_desc_t *top = &e->net.layers[e->net.num_layers - 1].dst_md;
        dnnl_memory_desc_t plain;
        dnnl_dims_t dims = {batch, model->def.classes};
        rc = rm_md_init(&plain, 2, dims, dnnl_nc);
        if (rc == 0 && (e->def.layers[e->def.num_layers - 1].type != RM_LAYER_DENSE || !rm_md_equal(top, &plain)))
            rc = rm_error("LRP needs a dense last layer producing plain [batch, classes] logits");
    }
    e->classes = model->def.classes;
    for (int i = 0; rc == 0 && i < e->net.num_layers; i++) {
        size_t a = md_floats(&e->net.layers[i].src_md), b = md_floats(&e->net.layers[i].dst_md);
        if (a > e->max_floats) e->max_floats = a;
        if (b > e->max_floats) e->max_floats = b;
    }
    if (rc == 0) {
        for (int k = 0; k < 2; k++) e->buf[k] = rm_calloc(e->max_floats, sizeof(float), "relevance");
        for (int k = 0; k < 3; k++) e->scratch_dst[k] = rm_calloc(e->max_floats, sizeof(float), "LRP scratch");
        for (int k = 0; k < 3; k++) e->scratch_src[k] = rm_calloc(e->max_floats, sizeof(float), "LRP scratch");
        e->layers = rm_calloc((size_t)e->net.num_layers, sizeof *e->layers, "LRP layers");
        rc = e->layers ? 0 : -1;
        for (int k = 0; k < 3; k++)
            if (!e->scratch_dst[k] || !e->scratch_src[k] || (k < 2 && !e->buf[k])) rc = -1;
    }
    for (int i = 0; rc == 0 && i < e->net.num_layers; i++) {
        lrp_layer *L = &e->layers[i];
        L->layer = &e->net.layers[i];
        L->rule = cfg->rules[map[i]];
        rc = prepare_layer(e, L, model, cfg->ignore_bias);
    }
    free(map);
    if (rc != 0) {
        rm_lrp_destroy(e);
        return -1;
    }
    assign_buffers(e);
    *out = e;
    return 0;
}

void rm_lrp_destroy(rm_lrp *e)
{
    if (!e) return;
    for (int i = 0; e->layers && i < e->net.num_layers; i++) {
        lrp_layer *L = &e->layers[i];
        for (int k = 0; k < W_KINDS; k++) {
            rm_memory_destroy(&L->wf[k]);
            rm_memory_destroy(&L->wb[k]);
        }
        for (int k = 0; k < B_KINDS; k++) rm_memory_destroy(&L->b[k]);
        for (int k = 1; k < X_KINDS; k++) rm_memory_destroy(&L->x[k]);
        rm_memory_destroy(&L->z);
        rm_memory_destroy(&L->zt);
        rm_memory_destroy(&L->s);
        rm_memory_destroy(&L->c);
        rm_memory_destroy(&L->c_native);
        rm_primitive_destroy(&L->c_reorder);
        rm_memory_destroy(&L->rin);
        rm_memory_destroy(&L->rout);
    }
    free(e->layers);
    rm_net_destroy(&e->net);
    for (int i = 0; i < e->folded.num_tensors; i++) free(e->folded.tensors[i].data);
    free(e->folded.tensors);
    rm_netdef_free(&e->def);
    for (int k = 0; k < 2; k++) free(e->buf[k]);
    for (int k = 0; k < 3; k++) free(e->scratch_dst[k]);
    for (int k = 0; k < 3; k++) free(e->scratch_src[k]);
    free(e);
}
