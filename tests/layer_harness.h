/* Testing one layer of a real rm_net against the double-precision
 * reference: build a small net from text, fill the input and parameters
 * with random values, run the layer's forward/backward alone with a random
 * upstream gradient, and read everything back in plain NCHW. */
#ifndef RELMASK_LAYER_HARNESS_H
#define RELMASK_LAYER_HARNESS_H

#include <stdint.h>

#include "nn/net.h"

typedef struct {
    rm_netdef def;
    rm_net net;
    rm_layer *layer;           /* the layer under test */
    int64_t in_count, out_count;
    float *x, *dy;             /* input [B,C,H,W] of the layer, upstream gradient [B,OC,OH,OW] */
    double *xd, *dyd;          /* the same values as doubles */
} lh_case;

/* Parses `net_text`, builds it for `batch` (training mode, input grads on),
 * picks layer `layer_name`, and fills the net input and every parameter
 * with uniform(-1, 1) values from `seed`. */
void lh_setup(lh_case *c, const char *net_text, const char *layer_name, int batch, uint64_t seed);
/* Runs the net forward up to and including the layer (so the layer's src is
 * what the previous layers produced; for layer 0 it is the input), stores
 * the layer input in c->x / c->xd. */
void lh_forward(lh_case *c);
/* Reads the layer output [B,...] as doubles (malloc'd). */
double *lh_output(lh_case *c);
/* Writes a random upstream gradient into the layer's diff_dst and runs its
 * backward. */
void lh_backward(lh_case *c, uint64_t seed);
double *lh_input_grad(lh_case *c);                    /* [B,C,H,W] */
double *lh_param(lh_case *c, const char *name);       /* plain layout */
double *lh_param_grad(lh_case *c, const char *name);
void lh_teardown(lh_case *c);

/* Asserts max |a-b| <= atol + rtol * max|b| over n values, printing the
 * first mismatching index. */
void lh_assert_close(const double *a, const double *b, int64_t n, double rtol, double atol, const char *what);

#endif
