/* The relmask binary as a user meets it: exit codes (0 ok, 1 runtime
 * error, 2 usage error), messages, --force, and files other tools read. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/resume_command.h"
#include "test_util.h"

static void expect(int want_code, const char *want_text, const char *args)
{
    char *out;
    int code = tu_run_cli(&out, "%s", args);
    cr_assert_eq(code, want_code, "relmask %s: exit %d, expected %d; output:\n%s", args, code, want_code, out);
    if (want_text) cr_assert(strstr(out, want_text), "relmask %s: expected '%s' in:\n%s", args, want_text, out);
    free(out);
}

Test(cli, top_level_usage_and_version)
{
    expect(2, "usage: relmask <command>", "");
    expect(0, "commands:", "--help");
    expect(0, "relmask 0.", "--version");
    expect(2, "unknown command 'frobnicate'", "frobnicate");
}

/* `relmask help CMD` is `relmask CMD --help` (it printed the top-level
 * usage), and the top-level list names both import formats. */
Test(cli, help_command_prints_the_commands_help)
{
    expect(0, "usage: relmask train", "help train");
    expect(0, "usage: relmask relevance import", "help relevance import");
    expect(0, "commands:", "help");
    expect(0, "commands:", "help help");
    expect(2, "unknown command 'trian'; did you mean 'train'?", "help trian");
    expect(0, "make an ONNX or TF.js network a relmask model", "--help");
    expect(0, "'relmask help <command>'", "--help");
}

Test(cli, every_command_has_help)
{
    expect(0, "usage: relmask synth", "synth --help");
    expect(0, "usage: relmask ingest", "ingest --help");
    expect(0, "usage: relmask info", "info --help");
    expect(0, "usage: relmask train", "train --help");
    expect(0, "usage: relmask net", "net --help");
}

Test(cli, net_prints_layers_params_and_flops)
{
    expect(0, "1320551", "net fer-small");
    expect(0, "131.092", "net fer-small");
    expect(0, "maxpool3       maxpool 2x2 /2   128x6x6", "net fer-small");
    expect(0, "speed: inference", "net tiny --speed --batch 4 -t 1");
    expect(1, "nets/nonexistent.cfg", "net nonexistent");
    expect(2, "expected one network name", "net");
}

Test(cli, usage_errors_exit_2_with_a_hint)
{
    expect(2, "--out FILE.h5 is required", "synth");
    expect(2, "--count 'abc': expected an integer", "synth -o x.h5 --count abc");
    expect(2, "unknown synth domain 'cartoon'", "synth -o x.h5 --domain cartoon");
    expect(2, "unknown option '--bogus'", "synth --bogus");
    expect(2, "option '--count' needs a value", "synth -o x.h5 --count");
    expect(2, "Try 'relmask synth --help'", "synth --intensity 2 -o x.h5");
    expect(2, "expected FORMAT and INPUT", "ingest -o x.h5");
    expect(2, "unknown format 'xls'", "ingest xls data.xls -o x.h5");
    expect(2, "idx needs --labels", "ingest idx imgs.idx -o x.h5");
    expect(2, "--size '0x5'", "ingest fer2013 a.csv -o x.h5 --size 0x5");
    expect(2, "expected at least one FILE.h5", "info");
    expect(2, "--input-channels '5'", "train -d d.h5 -n fer-small -o m.h5 --input-channels 5");
    expect(2, "--input-channels 'two'", "train -d d.h5 -n fer-small -o m.h5 --input-channels two");
}

Test(cli, synth_info_force_and_h5dump)
{
    char *dir = tu_scratch_dir();
    const char *out = tu_path(dir, "faces.h5");
    char args[4096];
    snprintf(args, sizeof args, "synth -q -n 70 --size 32 -o %s", out);
    expect(0, NULL, args);
    snprintf(args, sizeof args, "info %s", out);
    expect(0, "schema: relmask.dataset version 1", args);
    expect(0, "images: uint8 [70, 1, 32, 32]", args);
    expect(0, "neutral", args);
    expect(0, "regions: yes", args);
    snprintf(args, sizeof args, "synth -q -n 70 --size 32 -o %s", out);
    expect(1, "already exists; use --force", args);
    snprintf(args, sizeof args, "synth -q -n 14 --size 32 --force -o %s", out);
    expect(0, NULL, args);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, out), 0, "%s", rm_error_message());
    cr_assert_eq(ds.count, 14, "--force replaced the file");
    rm_dataset_close(&ds);
    if (system("command -v h5dump >/dev/null 2>&1") == 0) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "h5dump -A %s > %s/dump.txt 2>&1", out, dir);
        cr_assert_eq(system(cmd), 0, "h5dump reads the file");
    }
    tu_rmtree(dir);
}

Test(cli, synth_is_identical_across_thread_counts)
{
    char *dir = tu_scratch_dir();
    char a[4096], b[4096];
    snprintf(a, sizeof a, "synth -q -n 600 -t 1 -o %s/a.h5 --domain target", dir);
    snprintf(b, sizeof b, "synth -q -n 600 -t 2 -o %s/b.h5 --domain target", dir);
    expect(0, NULL, a);
    expect(0, NULL, b);
    rm_dataset x, y;
    cr_assert_eq(rm_dataset_open(&x, tu_path(dir, "a.h5")), 0);
    cr_assert_eq(rm_dataset_open(&y, tu_path(dir, "b.h5")), 0);
    size_t n = x.count * 48 * 48;
    uint8_t *px = malloc(n), *py = malloc(n);
    cr_assert_eq(rm_dataset_read_images(&x, 0, x.count, px), 0);
    cr_assert_eq(rm_dataset_read_images(&y, 0, y.count, py), 0);
    cr_assert_eq(memcmp(px, py, n), 0, "same seed, same bytes");
    cr_assert_eq(memcmp(x.labels, y.labels, x.count * sizeof *x.labels), 0);
    cr_assert_eq(memcmp(x.split, y.split, x.count), 0);
    free(px);
    free(py);
    rm_dataset_close(&x);
    rm_dataset_close(&y);
    tu_rmtree(dir);
}

Test(cli, runtime_errors_exit_1_and_name_the_file)
{
    char *dir = tu_scratch_dir();
    const char *txt = tu_path(dir, "notes.txt");
    tu_write_text(txt, "just text\n");
    char args[4096];
    snprintf(args, sizeof args, "info %s", txt);
    expect(1, "notes.txt: not an HDF5 file", args);
    snprintf(args, sizeof args, "info %s/missing.h5", dir);
    expect(1, "missing.h5: cannot open", args);
    const char *csv = tu_path(dir, "fer.csv");
    tu_write_text(csv, "emotion,pixels,Usage\n0,1 2 3,Training\n");
    snprintf(args, sizeof args, "ingest fer2013 %s -o %s/out.h5", csv, dir);
    expect(1, "fer.csv:2: expected 2304 pixels, got 3", args);
    cr_assert_not(tu_file_exists(tu_path(dir, "out.h5")));
    snprintf(args, sizeof args, "synth -q -n 7 -o %s/no/such/dir/x.h5", dir);
    expect(1, "does not exist", args);
    tu_rmtree(dir);
}

Test(cli, unknown_commands_and_options_get_a_suggestion)
{
    expect(2, "unknown command 'trian'; did you mean 'train'?\nTry 'relmask --help'.\n", "trian");
    char *out;
    cr_assert_eq(tu_run_cli(&out, "trian"), 2);
    cr_assert_null(strstr(out, "commands:"), "a suggestion, not the whole usage: %s", out);
    free(out);
    expect(2, "unknown command 'frobnicate'\n\nusage: relmask <command>", "frobnicate");
    expect(2, "unknown command 'relevance-evl'; did you mean 'relevance-eval'?", "relevance-evl");
    expect(2, "unknown command 'enc'; did you mean 'encode'?", "enc");
    expect(2, "unknown option '--epocs'; did you mean '--epochs'?", "train -d d.h5 -n tiny -o m.h5 --epocs 3");
    expect(2, "unknown option '--zzz'\n", "train -d d.h5 -n tiny -o m.h5 --zzz");
    expect(2, "unexpected argument 'imprt'; did you mean 'relevance import'?", "relevance imprt --model m.h5");
    expect(2, "unexpected argument 'zzzzzz'\n", "relevance zzzzzz");
}

/* The provenance command line pastes back into a shell: words with spaces,
 * quotes or other shell characters are single-quoted. */
Test(cli, command_line_attribute_is_shell_quoted)
{
    char *dir = tu_scratch_dir();
    const char *out = tu_path(dir, "it's my faces.h5");
    char args[4096];
    snprintf(args, sizeof args, "synth -q -n 14 --size 32 -o \"%s\"", out);
    expect(0, NULL, args);
    rm_dataset ds;
    cr_assert_eq(rm_dataset_open(&ds, out), 0, "%s", rm_error_message());
    char *line = NULL;
    cr_assert_eq(rm_dataset_read_attr(&ds, "command_line", &line), 0, "%s", rm_error_message());
    char want[4200];
    snprintf(want, sizeof want, "synth -q -n 14 --size 32 -o '%s/it'\\''s my faces.h5'", dir);
    cr_expect(strstr(line, want) != NULL, "command_line %s lacks %s", line, want);
    free(line);
    rm_dataset_close(&ds);
    tu_rmtree(dir);
}

/* The command that continues a run: its recorded words, --stop-after N
 * (either spelling) dropped, --resume once; quoted words stay whole. */
Test(cli, resume_command_drops_stop_after_and_adds_resume_once)
{
    static const char *const cases[][2] = {
        {"relmask train --data d.h5 --epochs 3 --stop-after 1 --out m.h5",
         "relmask train --data d.h5 --epochs 3 --out m.h5 --resume"},
        {"relmask train --stop-after=2 --out m.h5 --resume", "relmask train --out m.h5 --resume"},
        {"relmask train --out 'my --stop-after 4 dir/m.h5' --stop-after 4",
         "relmask train --out 'my --stop-after 4 dir/m.h5' --resume"},
        {"relmask train --out 'it'\\''s --resume.h5'", "relmask train --out 'it'\\''s --resume.h5' --resume"},
        {"relmask train --resume-from x", "relmask train --resume-from x --resume"},
        {"", "--resume"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        rm_resume_command(out, sizeof out, cases[i][0]);
        cr_expect_str_eq(out, cases[i][1], "from '%s'", cases[i][0]);
    }
    char small[12];
    rm_resume_command(small, sizeof small, "relmask train --out m.h5");
    cr_expect_str_eq(small, "relmask tra", "cut to the buffer, NUL-terminated");
}
