/* Flatten: a view. [B,C,H,W] -> [B,C*H*W] in C,H,W order; the dense layer
 * that follows reads the 4D layout directly, so nothing moves: dst aliases
 * src and diff_src aliases diff_dst. */
#include "nn/net.h"

static int flatten_build(rm_layer *l, rm_net *net)
{
    l->dst_md = l->src_md;
    l->dst = l->src;
    return 0;
}

static int flatten_forward(rm_layer *l, rm_net *net) { return 0; }

static int flatten_backward(rm_layer *l, rm_net *net) { return 0; }

/* Once diff_dst is known: the input gradient is the same buffer. */
static int flatten_link(rm_layer *l, rm_net *net)
{
    l->diff_src = l->diff_dst;
    return 0;
}

const rm_layer_ops rm_flatten_ops = {flatten_build, flatten_forward, flatten_backward, NULL, flatten_link};
