/* make install PREFIX=...: the binary, the named networks, the examples and
 * the man page land under the prefix, and the installed binary finds its
 * networks beside itself without RELMASK_NETS, also after the prefix is
 * moved. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char *dir;

static void setup(void) { dir = tu_scratch_dir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(install, .init = setup, .fini = teardown, .timeout = 120);

Test(install, installs_binary_nets_examples_and_man_page_and_the_copy_finds_its_nets)
{
    const char *root = getenv("RELMASK_ROOT"), *bin = getenv("RELMASK_BIN");
    cr_assert(root && bin, "RELMASK_ROOT and RELMASK_BIN are not set (make check sets them)");
    char bin_copy[4096], cmd[16384], prefix[4096], moved[4096];
    snprintf(bin_copy, sizeof bin_copy, "%s", bin);
    snprintf(prefix, sizeof prefix, "%s/prefix", dir);
    snprintf(moved, sizeof moved, "%s/moved", dir);
    char *out;
    snprintf(cmd, sizeof cmd, "make -s -C '%s' install BUILD='%s' -o '%s' PREFIX='%s' 2>&1", root, dirname(bin_copy), bin,
             prefix);
    int code = tu_run_sh(&out, "%s", cmd);
    cr_assert_eq(code, 0, "make install failed:\n%s", out);
    free(out);

    const char *files[] = {"bin/relmask", "share/relmask/nets/fer-small.cfg", "share/relmask/nets/fer-gap.cfg",
                           "share/relmask/examples/external-model/README.md", "share/man/man1/relmask.1"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        cr_assert(tu_file_exists(tu_path(prefix, files[i])), "make install did not install %s", files[i]);

    /* The man page has every command's --help. */
    snprintf(cmd, sizeof cmd, "cat '%s/share/man/man1/relmask.1'", prefix);
    code = tu_run_sh(&out, "%s", cmd);
    cr_assert_eq(code, 0);
    const char *sections[] = {".TH RELMASK 1", ".SH \"RELMASK TRAIN\"", ".SH \"RELMASK ENCODE\"",
                              ".SH \"RELMASK RELEVANCE IMPORT\"", "--encoded-epochs", ".SH EXIT STATUS"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        cr_assert(strstr(out, sections[i]), "the man page lacks %s", sections[i]);
    free(out);

    /* A network only the installed copy has, found without RELMASK_NETS,
     * before and after the prefix is moved. */
    snprintf(cmd, sizeof cmd,
             "cp '%s/tests/fixtures/nets/mini16.cfg' '%s/share/relmask/nets/only-installed.cfg' && "
             "env -u RELMASK_NETS '%s/bin/relmask' net only-installed 2>&1",
             root, prefix, prefix);
    code = tu_run_sh(&out, "%s", cmd);
    cr_assert_eq(code, 0, "the installed binary did not find its own nets:\n%s", out);
    cr_assert(strstr(out, "mini16: input 1x16x16"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "mv '%s' '%s' && env -u RELMASK_NETS '%s/bin/relmask' net only-installed 2>&1", prefix,
             moved, moved);
    code = tu_run_sh(&out, "%s", cmd);
    cr_assert_eq(code, 0, "a moved install did not find its nets:\n%s", out);
    free(out);

    /* RELMASK_NETS wins, and a name missing there is an error naming it. */
    snprintf(cmd, sizeof cmd, "RELMASK_NETS='%s/tests/fixtures/nets' '%s/bin/relmask' net only-installed 2>&1", root,
             moved);
    code = tu_run_sh(&out, "%s", cmd);
    cr_assert_eq(code, 1, "%s", out);
    cr_assert(strstr(out, "no network definition 'only-installed' in"), "%s", out);
    free(out);
}
