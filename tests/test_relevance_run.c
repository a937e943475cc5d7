/* rm_relevance_run, the relevance stage as a library call: the file it
 * writes equals relmask relevance's with the same settings (also when
 * stopped and resumed through the config), and configurations the
 * command's options rule out are refused with a message. */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/relevance_file.h"
#include "relevance/relevance.h"
#include "test_util.h"

static char *dir;

static void cli_ok(const char *args)
{
    char *out;
    int code = tu_run_cli(&out, "%s", args);
    cr_assert_eq(code, 0, "relmask %s exited %d:\n%s", args, code, out);
    free(out);
}

static void setup(void)
{
    dir = tu_scratch_dir();
    tu_write_text(tu_path(dir, "net.cfg"), tu_tiny_net_text);
    char args[4096];
    snprintf(args, sizeof args, "synth -q -n 70 --size 16 -o %s", tu_path(dir, "d.h5"));
    cli_ok(args);
    snprintf(args, sizeof args, "train -q -t 1 --data %s --net %s --out %s --epochs 1 --batch 16",
             tu_path(dir, "d.h5"), tu_path(dir, "net.cfg"), tu_path(dir, "m.h5"));
    cli_ok(args);
    omp_set_num_threads(1);
    rm_log_set_quiet(1);
}

static void teardown(void) { tu_rmtree(dir); }

TestSuite(relevance_run, .init = setup, .fini = teardown, .timeout = 120);

/* The two files hold the same records, classes, scores and heatmaps, bit for bit. */
static void assert_same_file(const char *a_path, const char *b_path)
{
    rm_relevance a, b;
    cr_assert_eq(rm_relevance_open(&a, a_path), 0, "%s", rm_error_message());
    cr_assert_eq(rm_relevance_open(&b, b_path), 0, "%s", rm_error_message());
    cr_assert_eq(a.count, b.count);
    cr_assert_str_eq(a.method, b.method);
    cr_assert_str_eq(a.parameters, b.parameters);
    int64_t n = a.count;
    cr_assert_eq(memcmp(a.index, b.index, sizeof *a.index * (size_t)n), 0);
    cr_assert_eq(memcmp(a.explained, b.explained, sizeof *a.explained * (size_t)n), 0);
    cr_assert_eq(memcmp(a.score, b.score, sizeof *a.score * (size_t)n), 0);
    size_t hw = (size_t)a.height * (size_t)a.width;
    float *ha = malloc(sizeof *ha * hw * (size_t)n), *hb = malloc(sizeof *hb * hw * (size_t)n);
    cr_assert_eq(rm_relevance_read_heatmaps(&a, 0, n, ha), 0);
    cr_assert_eq(rm_relevance_read_heatmaps(&b, 0, n, hb), 0);
    cr_assert_eq(memcmp(ha, hb, sizeof *ha * hw * (size_t)n), 0, "%s and %s differ", a_path, b_path);
    free(ha);
    free(hb);
    rm_relevance_close(&a);
    rm_relevance_close(&b);
}

static void config(rm_relevance_config *c, const char *out)
{
    rm_relevance_config_defaults(c);
    c->model_path = tu_path(dir, "m.h5");
    c->data_path = tu_path(dir, "d.h5");
    c->out_path = out;
    c->quiet = 1;
}

Test(relevance_run, lrp_equals_the_command_also_after_a_stop_and_resume)
{
    char *cli = strdup(tu_path(dir, "cli.h5")), *lib = strdup(tu_path(dir, "lib.h5"));
    char args[4096];
    snprintf(args, sizeof args,
             "relevance -q -t 1 --model %s --data %s --out %s --split train --target true --composite epsilon "
             "--rule 'conv*=zplus' --batch 7",
             tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), cli);
    cli_ok(args);
    rm_relevance_config c;
    config(&c, lib);
    c.split = RM_SPLIT_TRAIN;
    c.target = "true";
    c.composite = "epsilon";
    c.rules[c.num_rules++] = "conv*=zplus";
    c.batch = 7;
    c.stop_after = 2;
    cr_assert_eq(rm_relevance_run(&c), 0, "%s", rm_error_message());
    cr_assert(!tu_file_exists(lib), "no final file after a stop");
    cr_assert(tu_file_exists(tu_path(dir, ".lib.h5.partial")));
    c.stop_after = 0;
    c.resume = 1;
    cr_assert_eq(rm_relevance_run(&c), 0, "%s", rm_error_message());
    assert_same_file(cli, lib);
    free(cli);
    free(lib);
}

Test(relevance_run, occlusion_equals_the_command)
{
    char *cli = strdup(tu_path(dir, "cli.h5")), *lib = strdup(tu_path(dir, "lib.h5"));
    char args[4096];
    snprintf(args, sizeof args,
             "relevance -q -t 1 --method occlusion --model %s --data %s --out %s --count 9 --patch 6 --stride 3",
             tu_path(dir, "m.h5"), tu_path(dir, "d.h5"), cli);
    cli_ok(args);
    rm_relevance_config c;
    config(&c, lib);
    c.method = RM_RELEVANCE_OCCLUSION;
    c.count = 9;
    c.patch = 6;
    c.stride = 3;
    cr_assert_eq(rm_relevance_run(&c), 0, "%s", rm_error_message());
    assert_same_file(cli, lib);
    free(cli);
    free(lib);
}

Test(relevance_run, configurations_the_options_rule_out_are_refused)
{
    char *out = strdup(tu_path(dir, "x.h5"));
    rm_relevance_config c;
    config(&c, out);
    c.model_path = NULL;
    cr_assert_eq(rm_relevance_run(&c), -1);
    cr_assert(strstr(rm_error_message(), "LRP needs a model file"), "%s", rm_error_message());
    config(&c, out);
    c.method = RM_RELEVANCE_OCCLUSION;
    c.predict_cmd = "true";
    cr_assert_eq(rm_relevance_run(&c), -1);
    cr_assert(strstr(rm_error_message(), "not both"), "%s", rm_error_message());
    config(&c, out);
    c.batch = 0;
    cr_assert_eq(rm_relevance_run(&c), -1);
    cr_assert(strstr(rm_error_message(), "batch 0, expected 1..4096"), "%s", rm_error_message());
    config(&c, out);
    c.data_path = NULL;
    cr_assert_eq(rm_relevance_run(&c), -1);
    cr_assert(strstr(rm_error_message(), "required"), "%s", rm_error_message());
    cr_assert(!tu_file_exists(out) && !tu_file_exists(tu_path(dir, ".x.h5.partial")), "nothing written");
    free(out);
}
