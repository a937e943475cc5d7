/* Channel encoding with relevance for some records only: encode warns with
 * the per-split counts of records that got a zero relevance plane, and
 * train refuses to validate a channel student on such records unless
 * --allow-missing-relevance. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char *dir;
static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(channel_missing, .init = setup, .fini = teardown, .timeout = 120);

static const char net_text[] = "[net]\ninput = 1x16x16\nclasses = 7\n[conv]\nfilters = 4\nsize = 3\npad = 1\n"
                               "activation = relu\n[maxpool]\nsize = 2\n[dense]\nunits = 7\n";

static int run(char **out, const char *fmt, const char *a, const char *b, const char *c, const char *d)
{
    char args[16384];
    snprintf(args, sizeof args, fmt, a, b, c, d);
    return tu_run_cli(out, "%s", args);
}

Test(channel_missing, encode_warns_and_train_refuses_unless_allowed)
{
    char data[1024], net[1024], model[1024], rel[1024], enc[1024], student[1024];
    snprintf(data, sizeof data, "%s/d.h5", dir);
    snprintf(net, sizeof net, "%s/net.cfg", dir);
    snprintf(model, sizeof model, "%s/m.h5", dir);
    snprintf(rel, sizeof rel, "%s/r.h5", dir);
    snprintf(enc, sizeof enc, "%s/e.h5", dir);
    snprintf(student, sizeof student, "%s/s.h5", dir);
    tu_write_text(net, net_text);
    char *out;
    cr_assert_eq(run(&out, "synth -q -n 140 --size 16 --val 0.2 --test 0.2 -o %s%s%s%s", data, "", "", ""), 0, "%s",
                 out);
    free(out);
    cr_assert_eq(run(&out, "train -q --data %s --net %s --epochs 1 --batch 16 --out %s%s", data, net, model, ""), 0,
                 "%s", out);
    free(out);
    /* Relevance of the train split only. */
    cr_assert_eq(run(&out, "relevance -q --model %s --data %s --split train --out %s%s", model, data, rel, ""), 0,
                 "%s", out);
    free(out);
    cr_assert_eq(run(&out, "encode --data %s --relevance %s --mode channel --out %s%s", data, rel, enc, ""), 0, "%s",
                 out);
    cr_assert(strstr(out, "56 records have no relevance in") && strstr(out, "train 0, val 28, test 28"), "%s", out);
    free(out);
    const char *train = "train -q --data %s --encoded %s --net %s --input-channels 2 --epochs 1 --batch 16 --out %s";
    cr_assert_eq(run(&out, train, data, enc, net, student), 1, "%s", out);
    cr_assert(strstr(out, "28 of 28 val records and 28 of 28 test records have no relevance"), "%s", out);
    cr_assert(strstr(out, "--allow-missing-relevance"), "%s", out);
    cr_assert_not(tu_file_exists(student));
    free(out);
    char allowed[512];
    snprintf(allowed, sizeof allowed, "%s --allow-missing-relevance", train);
    cr_assert_eq(run(&out, allowed, data, enc, net, student), 0, "%s", out);
    free(out);
}
