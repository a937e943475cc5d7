#include "layer_harness.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"

static int64_t shape_count(int batch, rm_shape s) { return (int64_t)batch * s.c * s.h * s.w; }

static void fill_uniform(float *v, int64_t n, uint64_t seed, uint64_t stream)
{
    rm_rng rng;
    rm_rng_seed(&rng, seed, stream, 0);
    for (int64_t i = 0; i < n; i++) v[i] = (float)rm_rng_range(&rng, -1, 1);
}

static double *to_double(const float *v, int64_t n)
{
    double *d = malloc(sizeof *d * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) d[i] = v[i];
    return d;
}

void lh_setup(lh_case *c, const char *net_text, const char *layer_name, int batch, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    cr_assert_eq(rm_netdef_parse(&c->def, net_text, "test.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(&c->net, &c->def, batch, RM_MODE_TRAIN, 1), 0, "%s", rm_error_message());
    for (int i = 0; i < c->net.num_layers; i++)
        if (!strcmp(c->net.layers[i].def->name, layer_name)) c->layer = &c->net.layers[i];
    cr_assert(c->layer, "no layer %s", layer_name);
    c->in_count = shape_count(batch, c->layer->def->in);
    c->out_count = shape_count(batch, c->layer->def->out);
    int64_t n = shape_count(batch, c->def.input);
    fill_uniform(rm_net_input(&c->net), n, seed, 1);
    for (int i = 0; i < c->net.num_layers; i++) {
        rm_layer *l = &c->net.layers[i];
        for (int p = 0; p < l->num_params; p++) {
            int64_t count = rm_param_plain_count(&l->params[p]);
            float *v = malloc(sizeof *v * (size_t)count);
            fill_uniform(v, count, seed, 100 + (uint64_t)i * 8 + (uint64_t)p);
            if (!strcmp(l->params[p].name, "running_var") || !strcmp(l->params[p].name, "gamma"))
                for (int64_t k = 0; k < count; k++) v[k] = 1.0f + 0.5f * v[k];
            cr_assert_eq(rm_net_param_write(&c->net, &l->params[p], v), 0, "%s", rm_error_message());
            free(v);
        }
    }
}

void lh_forward(lh_case *c)
{
    rm_net *net = &c->net;
    for (int i = 0; i <= c->layer->index; i++) {
        rm_layer *l = &net->layers[i];
        cr_assert_eq(l->ops->forward(l, net), 0, "%s", rm_error_message());
    }
    cr_assert_eq(RM_DNNL(dnnl_stream_wait(net->dnn.stream)), 0);
    free(c->x);
    free(c->xd);
    c->x = malloc(sizeof(float) * (size_t)c->in_count);
    cr_assert_eq(rm_memory_read(&net->dnn, c->layer->src, c->x, c->layer->src_md.ndims == 4 ? dnnl_nchw : dnnl_nc), 0,
                 "%s", rm_error_message());
    c->xd = to_double(c->x, c->in_count);
}

static double *read_memory(lh_case *c, dnnl_memory_t mem, int64_t n)
{
    const dnnl_memory_desc_t *md;
    dnnl_memory_get_memory_desc(mem, &md);
    float *v = malloc(sizeof *v * (size_t)n);
    cr_assert_eq(rm_memory_read(&c->net.dnn, mem, v, md->ndims == 4 ? dnnl_nchw : dnnl_nc), 0, "%s",
                 rm_error_message());
    double *d = to_double(v, n);
    free(v);
    return d;
}

double *lh_output(lh_case *c) { return read_memory(c, c->layer->dst, c->out_count); }

void lh_backward(lh_case *c, uint64_t seed)
{
    const dnnl_memory_desc_t *md;
    dnnl_memory_get_memory_desc(c->layer->diff_dst, &md);
    c->dy = malloc(sizeof(float) * (size_t)c->out_count);
    fill_uniform(c->dy, c->out_count, seed, 7);
    cr_assert_eq(rm_memory_write(&c->net.dnn, c->layer->diff_dst, c->dy, md->ndims == 4 ? dnnl_nchw : dnnl_nc), 0,
                 "%s", rm_error_message());
    c->dyd = to_double(c->dy, c->out_count);
    cr_assert_eq(c->layer->ops->backward(c->layer, &c->net), 0, "%s", rm_error_message());
    cr_assert_eq(RM_DNNL(dnnl_stream_wait(c->net.dnn.stream)), 0);
}

double *lh_input_grad(lh_case *c)
{
    cr_assert(c->layer->diff_src, "layer has no input gradient");
    return read_memory(c, c->layer->diff_src, c->in_count);
}

static rm_param *find_param(lh_case *c, const char *name)
{
    rm_param *p = rm_net_param(&c->net, c->layer->def->name, name);
    cr_assert(p, "no parameter %s", name);
    return p;
}

double *lh_param(lh_case *c, const char *name)
{
    rm_param *p = find_param(c, name);
    int64_t n = rm_param_plain_count(p);
    float *v = malloc(sizeof *v * (size_t)n);
    cr_assert_eq(rm_net_param_read(&c->net, p, v), 0, "%s", rm_error_message());
    double *d = to_double(v, n);
    free(v);
    return d;
}

double *lh_param_grad(lh_case *c, const char *name)
{
    rm_param *p = find_param(c, name);
    int64_t n = rm_param_plain_count(p);
    float *v = malloc(sizeof *v * (size_t)n);
    cr_assert_eq(rm_net_grad_read(&c->net, p, v), 0, "%s", rm_error_message());
    double *d = to_double(v, n);
    free(v);
    return d;
}

void lh_teardown(lh_case *c)
{
    rm_net_destroy(&c->net);
    rm_netdef_free(&c->def);
    free(c->x);
    free(c->xd);
    free(c->dy);
    free(c->dyd);
}

void lh_assert_close(const double *a, const double *b, int64_t n, double rtol, double atol, const char *what)
{
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    double tol = atol + rtol * scale;
    for (int64_t i = 0; i < n; i++)
        cr_assert(fabs(a[i] - b[i]) <= tol || (isnan(a[i]) && isnan(b[i])),
                  "%s: index %lld: got %.9g, expected %.9g (tolerance %.3g)", what, (long long)i, a[i], b[i], tol);
}
