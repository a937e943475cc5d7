/* `relmask synth`: grayscale faces rendered from facial action units.
 *
 * Every image draws its own identity, pose, lighting, camera and distractors
 * from generators seeded by (seed, domain stream, index), so image i never
 * depends on other images, thread count or call order. The expression only
 * sets the action-unit activations; everything else is drawn the same way
 * whatever the label, so rm_synth_render_with can show one person with
 * every expression. docs/synth.md describes the output. */
#include "ingest/synth_faces.h"

#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "ingest/synth_shapes.h"

const char *const rm_synth_class_names[RM_SYNTH_CLASSES] = {
    "neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"};
const char *const rm_synth_domain_names[RM_DOMAIN_COUNT] = {"source", "target", "sketch"};

/* Facial action units (FACS); AU23 stands for lip tightening and pressing. */
enum { AU1, AU2, AU4, AU5, AU6, AU7, AU9, AU10, AU12, AU15, AU20, AU23, AU26, AU_COUNT };
#define AUBIT(au) (1u << (au))
static const unsigned class_aus[RM_SYNTH_CLASSES] = {
    0,                                                             /* neutral */
    AUBIT(AU6) | AUBIT(AU12),                                      /* happy */
    AUBIT(AU1) | AUBIT(AU4) | AUBIT(AU15),                         /* sad */
    AUBIT(AU1) | AUBIT(AU2) | AUBIT(AU5) | AUBIT(AU26),            /* surprise */
    AUBIT(AU1) | AUBIT(AU2) | AUBIT(AU4) | AUBIT(AU5) | AUBIT(AU20) | AUBIT(AU26), /* fear */
    AUBIT(AU9) | AUBIT(AU10) | AUBIT(AU15),                        /* disgust */
    AUBIT(AU4) | AUBIT(AU5) | AUBIT(AU7) | AUBIT(AU23),            /* anger */
};

/* Random streams: one generator per stage and image, so adding a draw to
 * one stage never shifts another. */
#define SYNTH_STREAM(domain, k) (0x73796e7468000000ULL + (uint64_t)(domain) * 0x100u + (k))
enum { ST_LABEL, ST_IDENTITY, ST_POSE, ST_DISTRACT, ST_AU, ST_NOISE };

typedef struct {
    double rot_deg, scale_lo, scale_hi, shift;
    double skin_lo, skin_hi;
    double bg_lo, bg_hi, bg_grad, bg_texture, bg_stripes;
    int clutter_lo, clutter_hi;
    double clutter_alpha_lo, clutter_alpha_hi;
    double glasses_p, bangs_p;
    double amb_lo, amb_hi, dir_lo, dir_hi, light_grad, spot_p;
    double noise_lo, noise_hi, contrast_lo, contrast_hi, offset;
    int blur_lo, blur_hi;   /* binomial blur passes at 48 px */
    int sketch;
} domain_style;

static const domain_style styles[RM_DOMAIN_COUNT] = {
    [RM_DOMAIN_SOURCE] = {
        .rot_deg = 6, .scale_lo = 0.94, .scale_hi = 1.04, .shift = 0.035,
        .skin_lo = 0.60, .skin_hi = 0.82,
        .bg_lo = 0.68, .bg_hi = 0.92, .bg_grad = 0.06, .bg_texture = 0.02, .bg_stripes = 0,
        .clutter_lo = 0, .clutter_hi = 1, .clutter_alpha_lo = 0.10, .clutter_alpha_hi = 0.25,
        .glasses_p = 0.12, .bangs_p = 0.12,
        .amb_lo = 0.12, .amb_hi = 0.20, .dir_lo = 0.02, .dir_hi = 0.08, .light_grad = 0.04,
        .spot_p = 0,
        .noise_lo = 0.004, .noise_hi = 0.012, .contrast_lo = 0.95, .contrast_hi = 1.05,
        .offset = 0.02, .blur_lo = 0, .blur_hi = 0, .sketch = 0},
    [RM_DOMAIN_TARGET] = {
        .rot_deg = 18, .scale_lo = 0.80, .scale_hi = 1.12, .shift = 0.10,
        .skin_lo = 0.28, .skin_hi = 0.70,
        .bg_lo = 0.15, .bg_hi = 0.70, .bg_grad = 0.15, .bg_texture = 0.14, .bg_stripes = 0.08,
        .clutter_lo = 2, .clutter_hi = 6, .clutter_alpha_lo = 0.5, .clutter_alpha_hi = 1.0,
        .glasses_p = 0.35, .bangs_p = 0.30,
        .amb_lo = 0.20, .amb_hi = 0.35, .dir_lo = 0.20, .dir_hi = 0.45, .light_grad = 0.18,
        .spot_p = 0.5,
        .noise_lo = 0.015, .noise_hi = 0.035, .contrast_lo = 0.6, .contrast_hi = 0.85,
        .offset = 0.06, .blur_lo = 1, .blur_hi = 2, .sketch = 0},
    [RM_DOMAIN_SKETCH] = {
        .rot_deg = 10, .scale_lo = 0.88, .scale_hi = 1.08, .shift = 0.06,
        .skin_lo = 0.90, .skin_hi = 0.97,
        .bg_lo = 0.88, .bg_hi = 0.97, .bg_grad = 0.03, .bg_texture = 0.03, .bg_stripes = 0,
        .clutter_lo = 0, .clutter_hi = 2, .clutter_alpha_lo = 0.15, .clutter_alpha_hi = 0.35,
        .glasses_p = 0.20, .bangs_p = 0.15,
        .amb_lo = 0, .amb_hi = 0, .dir_lo = 0, .dir_hi = 0, .light_grad = 0.03, .spot_p = 0,
        .noise_lo = 0.005, .noise_hi = 0.015, .contrast_lo = 0.9, .contrast_hi = 1.05,
        .offset = 0.02, .blur_lo = 0, .blur_hi = 0, .sketch = 1},
};

enum { HAIR_NONE, HAIR_SHORT, HAIR_LONG, HAIR_BANGS, HAIR_SIDE };
enum { GRID = 6, MAX_CLUTTER = 8, TILE = 64, APRON = 8, TBUF = TILE + 2 * APRON };

typedef struct { int kind; double x, y, rx, ry, angle, tone, alpha; } clutter_item;

/* Everything drawn for one image except the expression. */
typedef struct {
    int size, sketch;
    /* pose: face centre in normalised image coordinates, angle, scale */
    double cx, cy, angle, scale;
    /* identity (face-local units) */
    double A, T, B, jaw;
    double ey, ex, ew, eo, etilt, iris_r, gaze;
    double bgap, blen, bdx, bth, barch, btilt;
    double ny, nw, my, mw, lu, ll, mcurve, mopen, fold0;
    double skin, lip_tone, iris_tone, hair_tone, brow_tone;
    /* distractors */
    int hair, glasses, n_clutter;
    double ink;   /* sketch pencil tone */
    double hair_c0, hair_c1, hair_c2, glass_tone, glass_w, glass_lens, glass_rx, glass_ry;
    clutter_item clutter[MAX_CLUTTER];
    /* background */
    double bg, bg_gx, bg_gy, tex_amp, grid[GRID][GRID], stripe_amp, sfx, sfy, sph;
    /* lighting and camera */
    double amb, dir, lx, ly, lgx, lgy, spot, spot_x, spot_y, spot_r;
    double contrast, offset, noise;
    int blur;
    uint64_t noise_key;
    /* expression */
    double au[AU_COUNT];
} scene;

/* Feature geometry for one set of action-unit activations (right side;
 * the left side mirrors it). */
typedef struct {
    double bxi, byi, bxo, byo, bth, barch;  /* brow inner/outer ends */
    double forehead, glabella;              /* wrinkle strengths */
    double eup, elo;                        /* eye opening above/below centre */
    double cheek_y, cheek_a, crease, crow;
    double nos_y, nos_x, nos_rx, ala_dy, nose_wr;
    double fold;
    double cw, cyo, ou, od, lu, ll, teeth, press, smile;
    double chin;                            /* extra jaw drop */
} geom;

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }
static double maxd(double a, double b) { return a > b ? a : b; }
static double mind(double a, double b) { return a < b ? a : b; }

int rm_synth_domain_parse(const char *name, rm_synth_domain *out)
{
    for (int d = 0; d < RM_DOMAIN_COUNT; d++)
        if (name && strcmp(name, rm_synth_domain_names[d]) == 0) {
            *out = (rm_synth_domain)d;
            return 0;
        }
    return rm_error("unknown synth domain '%s' (valid: source, target, sketch)",
                    name ? name : "(null)");
}

int rm_synth_params_check(const rm_synth_params *p)
{
    if (p->size < 16 || p->size > 256)
        return rm_error("synth: size %d is out of range (16..256)", p->size);
    if ((int)p->domain < 0 || p->domain >= RM_DOMAIN_COUNT)
        return rm_error("synth: unknown domain %d", (int)p->domain);
    if (!(p->intensity > 0 && p->intensity <= 1))
        return rm_error("synth: intensity %g is out of range (0, 1]", p->intensity);
    return 0;
}

static int domain_index(const rm_synth_params *p)
{
    return (int)p->domain >= 0 && p->domain < RM_DOMAIN_COUNT ? (int)p->domain : 0;
}

int32_t rm_synth_label(const rm_synth_params *p, uint64_t index)
{
    rm_rng rng;
    int32_t perm[RM_SYNTH_CLASSES];
    rm_rng_seed(&rng, p->seed, SYNTH_STREAM(domain_index(p), ST_LABEL), index / RM_SYNTH_CLASSES);
    for (int i = 0; i < RM_SYNTH_CLASSES; i++) perm[i] = i;
    rm_rng_shuffle_i32(&rng, perm, RM_SYNTH_CLASSES);
    return perm[index % RM_SYNTH_CLASSES];
}

/* ---- drawing the random scene ------------------------------------------ */

static void draw_identity(scene *s, rm_rng *r, const domain_style *st)
{
    s->A = rm_rng_range(r, 0.52, 0.63);
    s->T = rm_rng_range(r, 0.76, 0.86);
    s->B = rm_rng_range(r, 0.80, 0.90);
    s->jaw = rm_rng_range(r, 0.20, 0.45);
    s->ey = rm_rng_range(r, -0.13, -0.04);
    s->ex = s->A * rm_rng_range(r, 0.37, 0.45);
    s->ew = rm_rng_range(r, 0.095, 0.125);
    s->eo = rm_rng_range(r, 0.036, 0.052);
    s->etilt = rm_rng_range(r, -0.012, 0.016);
    s->iris_r = rm_rng_range(r, 0.045, 0.058);
    s->gaze = rm_rng_range(r, -0.015, 0.015);
    /* resting brow height and slant overlap weak AU1/AU2/AU4 */
    s->bgap = rm_rng_range(r, 0.115, 0.165);
    s->blen = rm_rng_range(r, 0.11, 0.15);
    s->bdx = rm_rng_range(r, 0.0, 0.03);
    s->bth = rm_rng_range(r, 0.017, 0.032);
    s->barch = rm_rng_range(r, 0.01, 0.04);
    s->btilt = rm_rng_range(r, -0.025, 0.025);
    s->ny = s->ey + rm_rng_range(r, 0.24, 0.32);
    s->nw = rm_rng_range(r, 0.065, 0.095);
    s->my = mind(s->ny + rm_rng_range(r, 0.15, 0.21), s->B - 0.32);
    s->mw = rm_rng_range(r, 0.15, 0.21);
    s->lu = rm_rng_range(r, 0.018, 0.032);
    s->ll = rm_rng_range(r, 0.024, 0.042);
    /* resting mouth curvature overlaps weak AU12/AU15 */
    s->mcurve = rm_rng_range(r, -0.022, 0.022);
    s->mopen = rm_rng_uniform(r) < 0.2 ? rm_rng_range(r, 0.0, 0.008) : 0;
    s->fold0 = rm_rng_range(r, 0.10, 0.35);
    s->skin = rm_rng_range(r, st->skin_lo, st->skin_hi);
    s->lip_tone = s->skin * rm_rng_range(r, 0.68, 0.86);
    s->iris_tone = rm_rng_range(r, 0.10, 0.45);
    int dark_hair = rm_rng_uniform(r) < 0.7;
    s->hair_tone = dark_hair ? rm_rng_range(r, 0.06, 0.30) : rm_rng_range(r, 0.45, 0.75);
    s->brow_tone = mind(rm_rng_range(r, 0.10, 0.32) + (dark_hair ? 0 : 0.12), s->skin * 0.6);
}

static void draw_distractors(scene *s, rm_rng *r, const domain_style *st)
{
    double u = rm_rng_uniform(r);
    if (u < 0.10) s->hair = HAIR_NONE;
    else if (u < 0.10 + st->bangs_p) s->hair = HAIR_BANGS;
    else {
        double v = rm_rng_uniform(r);
        s->hair = v < 0.4 ? HAIR_SHORT : v < 0.75 ? HAIR_LONG : HAIR_SIDE;
    }
    double brow_top = s->ey - s->bgap;
    if (s->hair == HAIR_BANGS)
        s->hair_c0 = brow_top - rm_rng_range(r, 0.19, 0.25);
    else
        s->hair_c0 = brow_top - rm_rng_range(r, 0.28, 0.42);
    s->hair_c1 = s->hair == HAIR_SIDE ? rm_rng_range(r, -0.3, 0.3) : 0;
    s->hair_c2 = rm_rng_range(r, 0.5, 1.1);
    s->glasses = rm_rng_uniform(r) < st->glasses_p;
    s->glass_tone = rm_rng_range(r, 0.04, 0.30);
    s->ink = rm_rng_range(r, 0.05, 0.30);
    s->glass_w = rm_rng_range(r, 0.010, 0.020);
    s->glass_lens = rm_rng_range(r, 0.0, 0.2);
    s->glass_rx = s->ew + rm_rng_range(r, 0.04, 0.06);
    s->glass_ry = rm_rng_range(r, 0.075, 0.095);
    s->n_clutter = st->clutter_lo +
                   (int)rm_rng_below(r, (uint64_t)(st->clutter_hi - st->clutter_lo + 1));
    for (int i = 0; i < s->n_clutter; i++) {
        clutter_item *c = &s->clutter[i];
        c->kind = (int)rm_rng_below(r, 3);
        c->x = rm_rng_range(r, -1.7, 1.7);
        c->y = rm_rng_range(r, -1.7, 1.7);
        c->rx = rm_rng_range(r, 0.08, 0.5);
        c->ry = rm_rng_range(r, 0.05, 0.4);
        c->angle = rm_rng_range(r, 0, 3.14159265358979);
        c->tone = rm_rng_uniform(r);
        c->alpha = rm_rng_range(r, st->clutter_alpha_lo, st->clutter_alpha_hi);
    }
    s->bg = rm_rng_range(r, st->bg_lo, st->bg_hi);
    s->bg_gx = rm_rng_range(r, -st->bg_grad, st->bg_grad);
    s->bg_gy = rm_rng_range(r, -st->bg_grad, st->bg_grad);
    s->tex_amp = st->bg_texture;
    for (int i = 0; i < GRID; i++)
        for (int j = 0; j < GRID; j++) s->grid[i][j] = rm_rng_range(r, -1, 1);
    s->stripe_amp = st->bg_stripes * rm_rng_uniform(r);
    double f = rm_rng_range(r, 6, 20), a = rm_rng_range(r, 0, 3.14159265358979);
    s->sfx = f * cos(a);
    s->sfy = f * sin(a);
    s->sph = rm_rng_range(r, 0, 6.283185307179586);
}

static void draw_pose_light(scene *s, rm_rng *r, const domain_style *st)
{
    s->angle = rm_rng_range(r, -st->rot_deg, st->rot_deg) * 3.14159265358979 / 180;
    s->scale = rm_rng_range(r, st->scale_lo, st->scale_hi);
    s->cx = rm_rng_range(r, -st->shift, st->shift);
    s->cy = 0.06 + rm_rng_range(r, -st->shift, st->shift);
    s->amb = rm_rng_range(r, st->amb_lo, st->amb_hi);
    s->dir = rm_rng_range(r, st->dir_lo, st->dir_hi);
    double la = rm_rng_range(r, -3.14159265358979, 0.6);   /* mostly from above */
    s->lx = cos(la);
    s->ly = sin(la);
    s->lgx = rm_rng_range(r, -st->light_grad, st->light_grad);
    s->lgy = rm_rng_range(r, -st->light_grad, st->light_grad);
    s->spot = rm_rng_uniform(r) < st->spot_p ? rm_rng_range(r, 0.1, 0.35) : 0;
    s->spot_x = rm_rng_range(r, -1, 1);
    s->spot_y = rm_rng_range(r, -1, 1);
    s->spot_r = rm_rng_range(r, 0.8, 1.6);
    s->contrast = rm_rng_range(r, st->contrast_lo, st->contrast_hi);
    s->offset = rm_rng_range(r, -st->offset, st->offset);
    s->noise = rm_rng_range(r, st->noise_lo, st->noise_hi);
    int passes = st->blur_lo + (int)rm_rng_below(r, (uint64_t)(st->blur_hi - st->blur_lo + 1));
    double k = (double)s->size / 48.0;
    s->blur = (int)clampd(floor(passes * k * k + 0.5), 0, APRON);
}

static void build_scene(const rm_synth_params *p, uint64_t index, int32_t label, scene *s)
{
    int d = domain_index(p);
    const domain_style *st = &styles[d];
    rm_rng r;
    memset(s, 0, sizeof *s);
    s->size = p->size;
    s->sketch = st->sketch;
    rm_rng_seed(&r, p->seed, SYNTH_STREAM(d, ST_IDENTITY), index);
    draw_identity(s, &r, st);
    rm_rng_seed(&r, p->seed, SYNTH_STREAM(d, ST_POSE), index);
    draw_pose_light(s, &r, st);
    rm_rng_seed(&r, p->seed, SYNTH_STREAM(d, ST_DISTRACT), index);
    draw_distractors(s, &r, st);
    rm_rng_seed(&r, p->seed, SYNTH_STREAM(d, ST_NOISE), index);
    s->noise_key = rm_rng_next(&r);
    /* Activations: intensity x per-image jitter x per-AU jitter, all drawn
     * whatever the label so the label changes nothing else. */
    rm_rng_seed(&r, p->seed, SYNTH_STREAM(d, ST_AU), index);
    double intensity = clampd(p->intensity, 0, 1);
    double jitter = rm_rng_range(&r, 0.6, 1.2);
    unsigned aus = label >= 0 && label < RM_SYNTH_CLASSES ? class_aus[label] : 0;
    for (int k = 0; k < AU_COUNT; k++) {
        double a = clampd(intensity * jitter * rm_rng_range(&r, 0.85, 1.15), 0, 1);
        s->au[k] = (aus & AUBIT(k)) ? a : 0;
    }
}

/* ---- geometry from activations ----------------------------------------- */

static void face_geometry(const scene *s, const double *au, geom *g)
{
    double a1 = au[AU1], a2 = au[AU2], a4 = au[AU4], a5 = au[AU5], a6 = au[AU6];
    double a7 = au[AU7], a9 = au[AU9], a10 = au[AU10], a12 = au[AU12], a15 = au[AU15];
    double a20 = au[AU20], a23 = au[AU23], a26 = au[AU26];
    double bc = s->ex + s->bdx, yb = s->ey - s->bgap;
    g->bxi = bc - s->blen - 0.035 * a4;
    g->byi = yb + s->btilt - 0.13 * a1 - 0.02 * a2 + 0.075 * a4;
    g->bxo = bc + s->blen;
    g->byo = yb + 0.015 - 0.10 * a2 - 0.01 * a1 + 0.03 * a4;
    g->bth = s->bth * (1 + 0.25 * a4);
    g->barch = maxd(0, s->barch + 0.03 * a2 - 0.015 * a4);
    g->forehead = 0.6 * maxd(a1, a2);
    g->glabella = 0.8 * a4;

    g->eup = s->eo * 1.15 + 0.05 * a5 - 0.014 * a7;
    g->elo = maxd(s->eo * 0.2, s->eo * 0.85 - 0.022 * a7 - 0.02 * a6);
    g->cheek_y = s->ey + 0.19 - 0.06 * a6;
    g->cheek_a = 0.2 + 0.4 * a6;
    g->crease = 0.6 * a6;
    g->crow = 0.65 * a6;

    g->nos_y = s->ny - 0.022 * a9 - 0.01 * a10;
    g->nos_x = s->nw * 0.55 + 0.012 * a9;
    g->nos_rx = 0.024 + 0.007 * a9;
    g->ala_dy = -0.022 * a9 - 0.01 * a10;
    g->nose_wr = 0.75 * a9;
    g->fold = s->fold0 + 0.55 * a10;

    g->cw = s->mw * (1 + 0.16 * a12 + 0.28 * a20 - 0.14 * a23 - 0.10 * a26);
    g->cyo = s->mcurve - 0.085 * a12 + 0.075 * a15 + 0.015 * a20;
    g->ou = s->mopen + 0.012 * a12 + 0.028 * a10 + 0.01 * a26 + 0.006 * a20;
    g->od = s->mopen + 0.014 * a12 + 0.14 * a26 + 0.01 * a20;
    g->lu = s->lu * (1 - 0.65 * a23) * (1 - 0.3 * a20) * (1 - 0.25 * a12);
    g->ll = s->ll * (1 - 0.6 * a23) * (1 - 0.3 * a20) * (1 - 0.2 * a12);
    g->teeth = clampd((g->ou - 0.008) / 0.015, 0, 1) * 0.9;
    g->press = a23;
    g->smile = 0.6 * a12;
    g->chin = 0.09 * a26;
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct {
    sh_canvas *c;
    const scene *s;
    const geom *g;
    int sk;           /* sketch domain: outlines instead of fills */
    double ink;       /* sketch line tone */
    double paper;     /* sketch paper tone */
    double lw;        /* radius of fine lines (creases, wrinkles) */
    double sw;        /* half width of sketch outlines */
} drawer;

/* A solid part: filled in photos; in sketches filled with `sketch_fill`
 * (when >= 0) and outlined. */
static void solid(drawer *d, const sh_prim *p, double tone, double sketch_fill)
{
    if (!d->sk) {
        sh_fill(d->c, p, tone, 1);
        return;
    }
    if (sketch_fill >= 0) sh_fill(d->c, p, sketch_fill, 1);
    sh_stroke(d->c, p, d->ink, 0.85, d->sw);
}

/* A crease or wrinkle: darker skin in photos, a pencil line in sketches. */
static void crease(drawer *d, const sh_prim *p, double alpha)
{
    if (alpha <= 0) return;
    if (d->sk) sh_fill(d->c, p, d->ink, mind(1, 1.2 * alpha));
    else sh_fill(d->c, p, d->s->skin * 0.55, alpha);
}

static void draw_clutter(drawer *d)
{
    const scene *s = d->s;
    for (int i = 0; i < s->n_clutter; i++) {
        const clutter_item *q = &s->clutter[i];
        sh_prim p;
        if (q->kind == 0) sh_ellipse(&p, q->x, q->y, q->rx, q->ry, q->angle);
        else if (q->kind == 1) sh_box(&p, q->x, q->y, q->rx, q->ry, q->angle, 0.02);
        else {
            double px[2] = {q->x - q->rx * cos(q->angle), q->x + q->rx * cos(q->angle)};
            double py[2] = {q->y - q->rx * sin(q->angle), q->y + q->rx * sin(q->angle)};
            sh_poly(&p, 2, px, py, 0.015 + 0.08 * q->ry);
        }
        if (d->sk) sh_stroke(d->c, &p, d->ink, q->alpha, d->sw * 0.7);
        else sh_fill(d->c, &p, q->tone, q->alpha);
    }
}

static void draw_head(drawer *d)
{
    const scene *s = d->s;
    const geom *g = d->g;
    double skin = d->sk ? d->paper : s->skin;
    double hair = d->sk ? d->paper - 0.35 * (1 - s->hair_tone) : s->hair_tone;
    sh_prim p;
    d->c->mark_weight = 1;
    if (s->hair == HAIR_LONG) {
        sh_face(&p, 0, 0.02, s->A + 0.13, s->T + 0.12, s->B + 0.35, -0.15, 0);
        solid(d, &p, s->hair_tone, hair);
    }
    sh_box(&p, 0, s->B * 0.6 + 0.4, s->A * 0.5, 0.42, 0, 0.05);
    solid(d, &p, skin * 0.82, skin);
    for (int sx = -1; sx <= 1; sx += 2) {
        sh_ellipse(&p, sx * s->A * 0.97, s->ey + 0.1, 0.06, 0.12, 0);
        solid(d, &p, skin * 0.93, skin);
    }
    sh_face(&p, 0, 0, s->A, s->T, s->B, s->jaw, g->chin);
    solid(d, &p, skin, skin);
    d->c->mark_weight = 0;
}

static void draw_nose_and_cheeks(drawer *d)
{
    const scene *s = d->s;
    const geom *g = d->g;
    sh_prim p;
    for (int sx = -1; sx <= 1; sx += 2) {
        if (!d->sk) {
            sh_ellipse(&p, sx * s->ex, s->ey - 0.025, s->ew * 1.4, 0.085, 0);
            sh_fill(d->c, &p, s->skin * 0.86, 0.55);
            sh_ellipse(&p, sx * (s->ex + 0.02), g->cheek_y, 0.10, 0.07, 0);
            sh_fill(d->c, &p, mind(0.97, s->skin * 1.08), g->cheek_a);
        }
        if (!d->sk || sx > 0) {
            sh_bezier(&p, sx * 0.035, s->ey + 0.03, sx * 0.045, s->ey + 0.12,
                      sx * s->nw * 0.75, s->ny - 0.06, d->lw);
            crease(d, &p, d->sk ? 0.6 : 0.22);
        }
        sh_bezier(&p, sx * s->nw * 0.55, s->ny - 0.06 + g->ala_dy, sx * (s->nw + 0.025),
                  s->ny - 0.03 + g->ala_dy, sx * s->nw * 0.7, s->ny + 0.015 + g->ala_dy, d->lw);
        crease(d, &p, 0.45);
        sh_ellipse(&p, sx * g->nos_x, g->nos_y, g->nos_rx, 0.012, sx * 0.25);
        sh_fill(d->c, &p, d->sk ? d->ink : s->skin * 0.35, 0.9);
        /* nasolabial fold, deepened by AU10 */
        sh_bezier(&p, sx * (s->nw + 0.025), s->ny - 0.005, sx * (s->mw + 0.045), s->my - 0.07,
                  sx * (s->mw + 0.035), s->my + 0.04, d->lw);
        crease(d, &p, g->fold);
    }
    if (!d->sk) {
        sh_ellipse(&p, 0, s->ny - 0.03, 0.035, 0.03, 0);
        sh_fill(d->c, &p, mind(0.97, s->skin * 1.1), 0.4);
        sh_ellipse(&p, 0, s->ny + 0.025, s->nw * 0.8, 0.018, 0);
        sh_fill(d->c, &p, s->skin * 0.8, 0.4);
    }
    for (int k = 0; k < 3; k++) {   /* AU9 nose wrinkles */
        double y = s->ey + 0.02 + 0.035 * k;
        sh_bezier(&p, -0.05, y + 0.008, 0, y - 0.008, 0.05, y + 0.008, d->lw);
        crease(d, &p, g->nose_wr);
    }
}

static void draw_mouth(drawer *d)
{
    const scene *s = d->s;
    const geom *g = d->g;
    double lw = maxd(0.007, 0.35 * d->c->pix) * (1 + 0.6 * g->press);
    sh_prim lips, inner, p;
    sh_band(&lips, 0, s->my, g->cw, 0, g->cyo, g->ou + g->lu, g->od + g->ll, 0, 0.45);
    if (d->sk) {
        sh_fill(d->c, &lips, d->paper - 0.08, 1);
        sh_stroke(d->c, &lips, d->ink, 0.55, d->sw * 0.8);
    } else {
        sh_fill(d->c, &lips, s->lip_tone, 1);
    }
    sh_band(&inner, 0, s->my, g->cw, 0, g->cyo, g->ou + lw, g->od + lw, 0, 0.75);
    sh_fill(d->c, &inner, d->sk ? d->ink : 0.07, 1);
    if (g->teeth > 0) {
        double h = mind(0.035, 0.8 * (g->ou + g->od));
        sh_band(&p, 0, s->my, g->cw, 0, g->cyo, g->ou, h - g->ou, 0, 0.75);
        p.clip = &inner;
        sh_fill(d->c, &p, d->sk ? d->paper : mind(0.92, s->skin + 0.25), g->teeth);
    }
    for (int sx = -1; sx <= 1; sx += 2) {   /* AU12 smile brackets */
        double y = s->my + g->cyo;
        sh_bezier(&p, sx * (g->cw + 0.012), y - 0.035, sx * (g->cw + 0.04), y,
                  sx * (g->cw + 0.012), y + 0.035, d->lw);
        crease(d, &p, g->smile);
    }
    double yc = s->my + g->od + g->ll + 0.045;
    sh_bezier(&p, -0.06, yc, 0, yc + 0.012, 0.06, yc, d->lw);
    crease(d, &p, 0.2);
}

static void draw_eyes(drawer *d)
{
    const scene *s = d->s;
    const geom *g = d->g;
    sh_prim eye, p;
    for (int sx = -1; sx <= 1; sx += 2) {
        double ex = sx * s->ex, ey = s->ey;
        sh_band(&eye, ex, ey, s->ew, -sx * s->etilt, 0, g->eup, g->elo, 0, 0.55);
        sh_fill(d->c, &eye, d->sk ? d->paper : maxd(0.8, s->skin + 0.1), 1);
        double ix = ex + s->gaze, iy = ey + 0.004;
        sh_ellipse(&p, ix, iy, s->iris_r, s->iris_r, 0);
        p.clip = &eye;
        sh_fill(d->c, &p, d->sk ? 0.5 * (d->ink + d->paper) : s->iris_tone, 1);
        sh_ellipse(&p, ix, iy, s->iris_r * 0.45, s->iris_r * 0.45, 0);
        p.clip = &eye;
        sh_fill(d->c, &p, d->sk ? d->ink : 0.04, 1);
        if (!d->sk) {
            sh_ellipse(&p, ix - 0.015, iy - 0.015, 0.011, 0.011, 0);
            p.clip = &eye;
            sh_fill(d->c, &p, 0.95, 0.7);
        }
        sh_band_edge(&p, &eye, -1, maxd(0.011, 0.35 * d->c->pix));
        sh_fill(d->c, &p, d->sk ? d->ink : 0.08, 0.9);
        sh_band_edge(&p, &eye, 1, maxd(0.006, 0.25 * d->c->pix));
        crease(d, &p, d->sk ? 0.6 : 0.35);
        /* AU6: infraorbital furrow and crow's feet */
        double yl = ey + g->elo;
        sh_bezier(&p, ex - sx * s->ew * 0.7, yl + 0.035, ex, yl + 0.06, ex + sx * s->ew * 0.9,
                  yl + 0.03, d->lw);
        crease(d, &p, g->crease);
        double xo = ex + sx * (s->ew + 0.015);
        double px1[2] = {xo, xo + sx * 0.05}, py1[2] = {ey - 0.005, ey - 0.03};
        sh_poly(&p, 2, px1, py1, d->lw);
        crease(d, &p, g->crow);
        double px2[2] = {xo, xo + sx * 0.045}, py2[2] = {ey + 0.015, ey + 0.04};
        sh_poly(&p, 2, px2, py2, d->lw);
        crease(d, &p, g->crow);
    }
}

static void draw_brows(drawer *d)
{
    const scene *s = d->s;
    const geom *g = d->g;
    sh_prim p;
    double hw = (g->bxo - g->bxi) / 2, mx = (g->bxo + g->bxi) / 2;
    for (int sx = -1; sx <= 1; sx += 2) {
        /* the band's t = -1 end is the inner end on the right (sx = +1) */
        double tilt = sx * (g->byo - g->byi) / 2;
        double cy = (g->byi + g->byo) / 2 - g->barch;
        sh_band(&p, sx * mx, cy, hw, tilt, g->barch, g->bth, g->bth, -sx * 0.3, 0.6);
        if (d->sk) sh_fill(d->c, &p, 0.6 * d->ink + 0.4 * d->paper, 1);
        else sh_fill(d->c, &p, s->brow_tone, 1);
        /* AU4: vertical glabella lines */
        double gx[2] = {sx * 0.028, sx * 0.022}, gy[2] = {g->byi - 0.01, g->byi + 0.06};
        sh_poly(&p, 2, gx, gy, d->lw);
        crease(d, &p, g->glabella);
    }
    double top = mind(g->byi, g->byo) - g->barch - g->bth;
    double xs = (s->ex + s->bdx) * 0.85;
    for (int k = 0; k < 3; k++) {   /* AU1/AU2: horizontal forehead lines */
        double y = top - 0.045 - 0.045 * k;
        sh_bezier(&p, -xs, y + 0.01, 0, y - 0.012, xs, y + 0.01, d->lw);
        crease(d, &p, g->forehead * (1 - 0.3 * k));
    }
}

static void draw_hair_and_glasses(drawer *d)
{
    const scene *s = d->s;
    sh_prim cap, line, p;
    if (s->hair != HAIR_NONE) {
        d->c->mark_weight = 1;
        sh_curve(&line, s->hair_c0, s->hair_c1, s->hair_c2);
        sh_ellipse(&cap, 0, -0.04, s->A + 0.04, s->T + 0.08, 0);
        cap.clip = &line;
        solid(d, &cap, s->hair_tone, d->paper - 0.35 * (1 - s->hair_tone));
        d->c->mark_weight = 0;
    }
    if (!s->glasses) return;
    double w = maxd(s->glass_w, 0.4 * d->c->pix);
    double tone = d->sk ? d->ink : s->glass_tone;
    for (int sx = -1; sx <= 1; sx += 2) {
        sh_ellipse(&p, sx * s->ex, s->ey - 0.005, s->glass_rx, s->glass_ry, 0);
        if (!d->sk) sh_fill(d->c, &p, 0.5, s->glass_lens);
        sh_stroke(d->c, &p, tone, 0.95, w);
        double tx[2] = {sx * (s->ex + s->glass_rx), sx * s->A * 0.99};
        double ty[2] = {s->ey - 0.02, s->ey - 0.01};
        sh_poly(&p, 2, tx, ty, w);
        sh_fill(d->c, &p, tone, 0.95);
    }
    sh_bezier(&p, -s->ex + s->glass_rx, s->ey - 0.02, 0, s->ey - 0.045, s->ex - s->glass_rx,
              s->ey - 0.02, w);
    sh_fill(d->c, &p, tone, 0.95);
}

static void paint_background(sh_canvas *c, const scene *s)
{
    double k = 2.0 / s->size;
    double sxs[TBUF], sxc[TBUF], gxf[TBUF];
    int gxi[TBUF];
    for (int i = 0; i < c->w; i++) {
        double X = (c->x0 + i + 0.5) * k - 1;
        sxs[i] = sin(s->sfx * X + s->sph);
        sxc[i] = cos(s->sfx * X + s->sph);
        double gx = clampd((X + 1) * 0.5 * (GRID - 1), 0, GRID - 1.000001);
        gxi[i] = (int)gx;
        double f = gx - gxi[i];
        gxf[i] = f * f * (3 - 2 * f);
    }
    for (int j = 0; j < c->h; j++) {
        double Y = (c->y0 + j + 0.5) * k - 1;
        double sy = sin(s->sfy * Y), cy = cos(s->sfy * Y);
        double gy = clampd((Y + 1) * 0.5 * (GRID - 1), 0, GRID - 1.000001);
        int gyi = (int)gy;
        double fy = gy - gyi;
        fy = fy * fy * (3 - 2 * fy);
        const double *r0 = s->grid[gyi], *r1 = s->grid[gyi + 1];
        float *row = c->buf + (size_t)j * c->w;
        double base = s->bg + s->bg_gy * Y;
        for (int i = 0; i < c->w; i++) {
            double X = (c->x0 + i + 0.5) * k - 1;
            int a = gxi[i];
            double fx = gxf[i];
            double top = r0[a] + fx * (r0[a + 1] - r0[a]);
            double bot = r1[a] + fx * (r1[a + 1] - r1[a]);
            double v = base + s->bg_gx * X + s->tex_amp * (top + fy * (bot - top)) +
                       s->stripe_amp * (sxs[i] * cy + sxc[i] * sy);
            row[i] = (float)v;
        }
    }
}

/* Ellipsoid shading of the head, weighted by the head layers' coverage. */
static void shade_head(sh_canvas *c, const scene *s)
{
    double hcy = (s->B - s->T) / 2, hrx = s->A * 1.05, hry = (s->T + s->B) / 2;
    for (int j = 0; j < c->h; j++) {
        int y = c->y0 + j;
        double ub = c->a01 * y + c->b0, vb = c->a11 * y + c->b1;
        float *row = c->buf + (size_t)j * c->w, *wrow = c->weight + (size_t)j * c->w;
        for (int i = 0; i < c->w; i++) {
            if (wrow[i] <= 0) continue;
            int x = c->x0 + i;
            double nx = (c->a00 * x + ub) / hrx, ny = (c->a10 * x + vb - hcy) / hry;
            double r2 = nx * nx + ny * ny, nz = 0;
            if (r2 < 1) nz = sqrt(1 - r2);
            else {
                double inv = 1 / sqrt(r2);
                nx *= inv;
                ny *= inv;
            }
            double sh = 1 - s->amb * (1 - nz) + s->dir * (nx * s->lx + ny * s->ly);
            row[i] *= (float)(1 + wrow[i] * (sh - 1));
        }
    }
}

static void light_and_blur(sh_canvas *c, const scene *s)
{
    double k = 2.0 / s->size, r2 = s->spot_r * s->spot_r;
    for (int j = 0; j < c->h; j++) {
        double Y = (c->y0 + j + 0.5) * k - 1, dy = Y - s->spot_y;
        float *row = c->buf + (size_t)j * c->w;
        for (int i = 0; i < c->w; i++) {
            double X = (c->x0 + i + 0.5) * k - 1, dx = X - s->spot_x;
            double L = 1 + s->lgx * X + s->lgy * Y;
            if (s->spot > 0) L += s->spot * maxd(0, 1 - (dx * dx + dy * dy) / r2);
            row[i] *= (float)L;
        }
    }
    /* binomial [1 2 1] passes; the apron absorbs the edge effects */
    for (int pass = 0; pass < s->blur; pass++) {
        for (int j = 0; j < c->h; j++) {
            float *row = c->buf + (size_t)j * c->w, prev = row[0];
            for (int i = 0; i < c->w; i++) {
                float cur = row[i], next = row[i + 1 < c->w ? i + 1 : i];
                row[i] = 0.25f * prev + 0.5f * cur + 0.25f * next;
                prev = cur;
            }
        }
        for (int i = 0; i < c->w; i++) {
            float prev = c->buf[i];
            for (int j = 0; j < c->h; j++) {
                float *q = c->buf + (size_t)j * c->w + i;
                float cur = *q, next = j + 1 < c->h ? q[c->w] : cur;
                *q = 0.25f * prev + 0.5f * cur + 0.25f * next;
                prev = cur;
            }
        }
    }
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void render_tile(const scene *s, const geom *g, int tx, int ty, uint8_t *image)
{
    float buf[TBUF * TBUF], weight[TBUF * TBUF];
    sh_canvas c;
    memset(&c, 0, sizeof c);
    sh_canvas_pose(&c, s->size, s->cx, s->cy, s->angle, s->scale);
    int tw = s->size - tx < TILE ? s->size - tx : TILE;
    int th = s->size - ty < TILE ? s->size - ty : TILE;
    int ap = s->blur;
    c.x0 = tx - ap; c.y0 = ty - ap; c.w = tw + 2 * ap; c.h = th + 2 * ap;
    c.buf = buf;
    c.weight = weight;
    memset(weight, 0, sizeof(float) * (size_t)(c.w * c.h));
    paint_background(&c, s);

    drawer d = {.c = &c, .s = s, .g = g, .sk = s->sketch, .ink = s->ink,
                .paper = s->bg, .lw = maxd(0.008, 0.3 * c.pix), .sw = maxd(0.01, 0.45 * c.pix)};
    if (d.sk) d.lw = maxd(0.009, 0.4 * c.pix);
    draw_clutter(&d);
    draw_head(&d);
    draw_nose_and_cheeks(&d);
    draw_mouth(&d);
    draw_eyes(&d);
    draw_brows(&d);
    draw_hair_and_glasses(&d);
    if (!s->sketch) shade_head(&c, s);
    light_and_blur(&c, s);

    for (int j = 0; j < th; j++) {
        const float *row = buf + (size_t)(j + ap) * c.w + ap;
        uint8_t *out = image + (size_t)(ty + j) * s->size + tx;
        for (int i = 0; i < tw; i++) {
            uint64_t h = mix64(s->noise_key +
                               (uint64_t)((ty + j) * s->size + tx + i) * 0x9e3779b97f4a7c15ULL);
            /* sum of four uniforms: close enough to a Gaussian, and cheap */
            double n = ((double)(h & 0xffff) + (double)((h >> 16) & 0xffff) +
                        (double)((h >> 32) & 0xffff) + (double)(h >> 48) - 131070.0) / 37837.23;
            double v = 0.5 + s->contrast * (row[i] - 0.5) + s->offset + s->noise * n;
            out[i] = (uint8_t)(clampd(v, 0, 1) * 255 + 0.5);
        }
    }
}

/* ---- regions ------------------------------------------------------------ */

typedef struct { double x0, y0, x1, y1; } bbox;

static void bb_reset(bbox *b) { b->x0 = b->y0 = 1e9; b->x1 = b->y1 = -1e9; }
static void bb_add(bbox *b, double x, double y)
{
    b->x0 = mind(b->x0, x); b->x1 = maxd(b->x1, x);
    b->y0 = mind(b->y0, y); b->y1 = maxd(b->y1, y);
}

/* Marks a rounded box over b grown by m, mirrored to both sides when
 * `mirror` (b then holds right-side coordinates). */
static void mark_box(sh_canvas *c, const bbox *b, double m, int mirror)
{
    sh_prim p;
    double cx = (b->x0 + b->x1) / 2, cy = (b->y0 + b->y1) / 2;
    double rx = (b->x1 - b->x0) / 2 + m, ry = (b->y1 - b->y0) / 2 + m;
    sh_box(&p, cx, cy, rx, ry, 0, 0.05);
    sh_mark(c, &p);
    if (mirror) {
        sh_box(&p, -cx, cy, rx, ry, 0, 0.05);
        sh_mark(c, &p);
    }
}

static void mark_regions(const scene *s, const geom *rest, const geom *ex, uint8_t *region)
{
    sh_canvas c;
    memset(&c, 0, sizeof c);
    sh_canvas_pose(&c, s->size, s->cx, s->cy, s->angle, s->scale);
    c.x0 = c.y0 = 0;
    c.w = c.h = s->size;
    c.mask = region;
    memset(region, 0, (size_t)s->size * (size_t)s->size);
    const double *a = s->au;
    int any = 0;
    for (int k = 0; k < AU_COUNT; k++) any |= a[k] > 0;
    double m = 0.02 + mind(1.2 * c.pix, 0.07);
    const geom *gs[2] = {rest, ex};
    bbox b;

    if (!any || a[AU1] > 0 || a[AU2] > 0 || a[AU4] > 0) {   /* brows and forehead */
        bb_reset(&b);
        for (int i = 0; i < 2; i++) {
            const geom *g = gs[i];
            double t = g->bth * 1.3;
            bb_add(&b, g->bxi, g->byi - t); bb_add(&b, g->bxi, g->byi + t);
            bb_add(&b, g->bxo, g->byo - t); bb_add(&b, g->bxo, g->byo + t);
            bb_add(&b, (g->bxi + g->bxo) / 2, (g->byi + g->byo) / 2 - g->barch - t);
            if (g->glabella > 0) bb_add(&b, 0, g->byi + 0.06);
            if (g->forehead > 0)
                bb_add(&b, 0, mind(g->byi, g->byo) - g->barch - g->bth - 0.14);
        }
        b.x0 = -b.x1;
        mark_box(&c, &b, m, 0);
    }
    if (!any || a[AU5] > 0 || a[AU7] > 0) {                  /* eyes */
        bb_reset(&b);
        for (int i = 0; i < 2; i++) {
            bb_add(&b, s->ex - s->ew, s->ey - gs[i]->eup - 0.012);
            bb_add(&b, s->ex + s->ew, s->ey + gs[i]->elo + 0.008);
        }
        mark_box(&c, &b, m, 1);
    }
    if (a[AU6] > 0) {                                        /* cheeks, lower lids */
        bb_reset(&b);
        bb_add(&b, s->ex - s->ew * 0.8, s->ey - 0.035);
        bb_add(&b, s->ex + s->ew + 0.07, maxd(rest->cheek_y, ex->cheek_y) + 0.07);
        mark_box(&c, &b, m, 1);
    }
    if (a[AU9] > 0) {                                        /* nose bridge and wings */
        bb_reset(&b);
        bb_add(&b, -(s->nw + 0.03), s->ey);
        bb_add(&b, s->nw + 0.03, s->ny + 0.03);
        mark_box(&c, &b, m, 0);
    }
    if (a[AU10] > 0) {                                       /* upper lip, folds */
        bb_reset(&b);
        double w = maxd(s->mw + 0.045, maxd(rest->cw, ex->cw));
        bb_add(&b, -w, s->ny - 0.1);
        bb_add(&b, w, s->my + 0.01);
        mark_box(&c, &b, m, 0);
    }
    if (!any || a[AU12] > 0 || a[AU15] > 0 || a[AU20] > 0 || a[AU23] > 0 || a[AU26] > 0) {
        bb_reset(&b);                                        /* mouth (and jaw) */
        for (int i = 0; i < 2; i++) {
            const geom *g = gs[i];
            bb_add(&b, g->cw + 0.045, s->my + g->cyo - 0.04);
            bb_add(&b, g->cw + 0.045, s->my + g->cyo + 0.04);
            bb_add(&b, 0, s->my - g->ou - g->lu);
            bb_add(&b, 0, s->my + g->od + g->ll + 0.06);
        }
        if (a[AU26] > 0) {
            bb_add(&b, 0.6 * s->A, s->my);
            bb_add(&b, 0, s->B + ex->chin);
        }
        b.x0 = -b.x1;
        mark_box(&c, &b, m, 0);
    }
}

void rm_synth_render_with(const rm_synth_params *p, uint64_t index, int32_t label,
                          uint8_t *image, uint8_t *region)
{
    scene s;
    geom rest, ex;
    static const double zero[AU_COUNT];
    if (p->size < 1) return;
    build_scene(p, index, label, &s);
    face_geometry(&s, zero, &rest);
    face_geometry(&s, s.au, &ex);
    if (image)
        for (int ty = 0; ty < s.size; ty += TILE)
            for (int tx = 0; tx < s.size; tx += TILE) render_tile(&s, &ex, tx, ty, image);
    if (region) mark_regions(&s, &rest, &ex, region);
}

void rm_synth_render(const rm_synth_params *p, uint64_t index, uint8_t *image, uint8_t *region)
{
    rm_synth_render_with(p, index, rm_synth_label(p, index), image, region);
}
