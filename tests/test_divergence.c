/* A diverging training run stops with a message naming the epoch (and the
 * batch or parameter), exit code 1, and never writes non-finite weights. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char *dir;
static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(divergence, .init = setup, .fini = teardown, .timeout = 120);

Test(divergence, an_absurd_learning_rate_stops_with_a_clear_message)
{
    char *out, data[4096], net[4096];
    snprintf(data, sizeof data, "%s", tu_path(dir, "d.h5"));
    snprintf(net, sizeof net, "%s", tu_path(dir, "net.cfg"));
    tu_write_text(net, "[net]\ninput = 1x16x16\nclasses = 7\n[dense]\nunits = 64\nactivation = relu\n[dense]\nunits = 7\n");
    cr_assert_eq(tu_run_cli(&out, "synth -q -n 140 --size 16 -o %s", data), 0, "%s", out);
    free(out);
    int code = tu_run_cli(&out, "train -q --data %s --net %s --epochs 2 --batch 16 --lr 100 --out %s", data, net,
                          tu_path(dir, "m.h5"));
    cr_assert_eq(code, 1, "exit %d:\n%s", code, out);
    cr_assert(strstr(out, "epoch 1, batch") && strstr(out, "training diverged"), "%s", out);
    free(out);
    cr_assert(!tu_file_exists(tu_path(dir, "m.h5")), "no model with non-finite weights is written");
}
