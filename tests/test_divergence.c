/* A diverging training run stops with a message naming the epoch (and the
 * batch or parameter), exit code 1, and never writes non-finite weights;
 * the model and checkpoint of the last good epoch stay byte for byte. */
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

static int same_bytes(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g;
    while (same) {
        int x = fgetc(f), y = fgetc(g);
        if (x != y) same = 0;
        if (x == EOF) break;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

static void copy_file(const char *from, const char *to)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0);
}

/* A run that diverges after good epochs keeps the checkpoint and the model
 * of the last good epoch byte for byte, and leaves no temporary file. */
Test(divergence, a_later_divergence_keeps_the_last_good_checkpoint_and_model)
{
    char *out, data[4096], net[4096], m[4096], ckpt[4200], keep_m[4300], keep_c[4300];
    snprintf(data, sizeof data, "%s", tu_path(dir, "d.h5"));
    snprintf(net, sizeof net, "%s", tu_path(dir, "net.cfg"));
    snprintf(m, sizeof m, "%s", tu_path(dir, "m.h5"));
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", m);
    snprintf(keep_m, sizeof keep_m, "%s.keep", m);
    snprintf(keep_c, sizeof keep_c, "%s.keep", ckpt);
    tu_write_text(net, "[net]\ninput = 1x16x16\nclasses = 7\n[dense]\nunits = 64\nactivation = relu\n[dense]\nunits = 7\n");
    cr_assert_eq(tu_run_cli(&out, "synth -q -n 140 --size 16 -o %s", data), 0, "%s", out);
    free(out);
    /* two good epochs, then the same run continues at a rate that explodes */
    int code = tu_run_cli(&out, "train -q --data %s --net %s --epochs 4 --batch 16 --lr 0.01 --stop-after 2 --out %s",
                          data, net, m);
    cr_assert_eq(code, 0, "%s", out);
    free(out);
    copy_file(m, keep_m);
    copy_file(ckpt, keep_c);
    code = tu_run_cli(&out, "train -q --data %s --net %s --epochs 4 --batch 16 --lr 100 --resume --out %s", data, net, m);
    cr_assert_eq(code, 1, "exit %d:\n%s", code, out);
    cr_assert(strstr(out, "epoch 3, batch") && strstr(out, "training diverged") && strstr(out, "m.h5.ckpt"), "%s", out);
    free(out);
    cr_assert(same_bytes(m, keep_m), "the model of the last good epoch is kept");
    cr_assert(same_bytes(ckpt, keep_c), "the checkpoint of the last good epoch is kept");
    /* an earlier model survives a run that diverges in its first epoch */
    code = tu_run_cli(&out, "train -q --data %s --net %s --epochs 2 --batch 16 --lr 100 --force --out %s", data, net, m);
    cr_assert_eq(code, 1, "exit %d:\n%s", code, out);
    cr_assert(strstr(out, "epoch 1, batch"), "%s", out);
    free(out);
    cr_assert(same_bytes(m, keep_m), "--force replaces the model only after a good epoch");
    cr_assert_eq(tu_dir_entries(dir), 6, "no temporary files (d.h5, net.cfg, m.h5, its checkpoint and the copies)");
}
