/* Network definitions: every shipped net parses, fer-small's shapes,
 * parameters and FLOPs are exact, defaults and names, and one test per
 * error class checking that the message names the source, the line and
 * what was expected. */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/netdef.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *nets_dir(void)
{
    const char *dir = getenv("RELMASK_NETS");
    return dir && *dir ? dir : "nets";
}

static void parse_ok(rm_netdef *def, const char *text)
{
    cr_assert_eq(rm_netdef_parse(def, text, "t.cfg"), 0, "%s", rm_error_message());
}

static void find_ok(rm_netdef *def, const char *name)
{
    setenv("RELMASK_NETS", nets_dir(), 1);
    cr_assert_eq(rm_netdef_find(def, name), 0, "%s", rm_error_message());
}

/* Parsing `text` as "t.cfg" fails, the result is left empty, and the
 * message contains every string in the NULL-terminated list. */
static void expect_error(const char *text, ...)
{
    rm_netdef def;
    rm_error_clear();
    cr_assert_eq(rm_netdef_parse(&def, text, "t.cfg"), -1, "parsed:\n%s", text);
    cr_assert_null(def.layers);
    cr_assert_null(def.text);
    const char *msg = rm_error_message();
    va_list ap;
    va_start(ap, text);
    for (const char *want; (want = va_arg(ap, const char *));)
        cr_expect(strstr(msg, want), "message '%s' lacks '%s'", msg, want);
    va_end(ap);
}

static void expect_shape(rm_shape s, int c, int h, int w, const char *what)
{
    cr_expect(s.c == c && s.h == h && s.w == w, "%s: %dx%dx%d, expected %dx%dx%d",
              what, s.c, s.h, s.w, c, h, w);
}

#define NET_HEADER "[net]\ninput = 1x8x8\nclasses = 3\n"

/* ---- shipped nets ------------------------------------------------------- */

Test(netdef, every_shipped_net_parses)
{
    static const struct { const char *name; int c, h, w, classes; } nets[] = {
        {"fer-small", 1, 48, 48, 7}, {"fer-vgg", 1, 48, 48, 7}, {"lenet", 1, 28, 28, 10},
        {"fer-small-28", 1, 28, 28, 10}, {"fer-small-28-bn", 1, 28, 28, 10},
        {"tiny", 1, 12, 12, 3}, {"tiny-bn", 1, 12, 12, 3}, {"fer-resnet-mini", 1, 48, 48, 7},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        rm_netdef def;
        find_ok(&def, nets[i].name);
        cr_expect_str_eq(def.name, nets[i].name);
        expect_shape(def.input, nets[i].c, nets[i].h, nets[i].w, nets[i].name);
        cr_expect_eq(def.classes, nets[i].classes, "%s", nets[i].name);
        expect_shape(def.layers[def.num_layers - 1].out, nets[i].classes, 1, 1, nets[i].name);
        cr_expect_gt(rm_netdef_flops(&def), 0);
        rm_netdef_free(&def);
    }
}

Test(netdef, fer_small_is_exact)
{
    static const struct {
        const char *name;
        int c, h, w;
        int64_t params, flops;
    } want[] = {
        {"conv1", 32, 48, 48, 320, 1327104},      {"relu1", 32, 48, 48, 0, 0},
        {"conv2", 32, 48, 48, 9248, 42467328},    {"relu2", 32, 48, 48, 0, 0},
        {"maxpool1", 32, 24, 24, 0, 0},
        {"conv3", 64, 24, 24, 18496, 21233664},   {"relu3", 64, 24, 24, 0, 0},
        {"conv4", 64, 24, 24, 36928, 42467328},   {"relu4", 64, 24, 24, 0, 0},
        {"maxpool2", 64, 12, 12, 0, 0},
        {"conv5", 128, 12, 12, 73856, 21233664},  {"relu5", 128, 12, 12, 0, 0},
        {"maxpool3", 128, 6, 6, 0, 0},
        {"dense1", 256, 1, 1, 1179904, 2359296},  {"relu6", 256, 1, 1, 0, 0},
        {"dense2", 7, 1, 1, 1799, 3584},
    };
    const int n = (int)(sizeof want / sizeof want[0]);
    rm_netdef def;
    find_ok(&def, "fer-small");
    cr_assert_eq(def.num_layers, n);
    rm_shape in = def.input;
    for (int i = 0; i < n; i++) {
        const rm_layer_def *L = &def.layers[i];
        cr_expect_str_eq(L->name, want[i].name);
        expect_shape(L->in, in.c, in.h, in.w, L->name);
        expect_shape(L->out, want[i].c, want[i].h, want[i].w, L->name);
        cr_expect_eq(L->params, want[i].params, "%s params %lld", L->name, (long long)L->params);
        cr_expect_eq(L->flops, want[i].flops, "%s flops %lld", L->name, (long long)L->flops);
        in = L->out;
    }
    cr_expect_eq(rm_netdef_params(&def), 1320551);
    cr_expect_eq(rm_netdef_flops(&def), 131091968);
    /* The peers' figure: 131.09 MFLOP per image. */
    char mflop[32];
    snprintf(mflop, sizeof mflop, "%.2f", rm_netdef_flops(&def) / 1e6);
    cr_expect_str_eq(mflop, "131.09");
    rm_netdef_free(&def);
}

Test(netdef, input_channels_can_be_changed)
{
    rm_netdef def;
    find_ok(&def, "fer-small");
    cr_assert_eq(rm_netdef_set_input_channels(&def, 2), 0, "%s", rm_error_message());
    expect_shape(def.input, 2, 48, 48, "input");
    cr_expect_str_eq(def.name, "fer-small");
    /* Only the first convolution's weights grow: 32 x 2 x 3 x 3 + 32. */
    cr_expect_eq(def.layers[0].params, 608);
    cr_expect_eq(rm_netdef_params(&def), 1320551 + 288);
    cr_expect(strstr(def.text, "# input channels set to 2 (was 1) by relmask\ninput = 2x48x48\n"), "%s", def.text);
    /* The changed text parses to the same network (a model file keeps it). */
    rm_netdef again;
    cr_assert_eq(rm_netdef_parse(&again, def.text, "again"), 0, "%s", rm_error_message());
    expect_shape(again.input, 2, 48, 48, "input");
    rm_netdef_free(&again);
    cr_expect_neq(rm_netdef_set_input_channels(&def, 0), 0);
    expect_shape(def.input, 2, 48, 48, "unchanged after an error");
    rm_netdef_free(&def);
}

Test(netdef, other_nets_have_the_documented_cost)
{
    static const struct { const char *name; int64_t params, flops; } want[] = {
        {"fer-vgg", 1468583, 173559296},
        {"lenet", 1663370, 24546304},
        {"fer-small-28", 436586, 44398592},
        {"fer-small-28-bn", 436906, 44398592},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        rm_netdef def;
        find_ok(&def, want[i].name);
        cr_expect_eq(rm_netdef_params(&def), want[i].params, "%s params %lld", want[i].name,
                     (long long)rm_netdef_params(&def));
        cr_expect_eq(rm_netdef_flops(&def), want[i].flops, "%s flops %lld", want[i].name,
                     (long long)rm_netdef_flops(&def));
        rm_netdef_free(&def);
    }
}

Test(netdef, tiny_shapes)
{
    rm_netdef def;
    find_ok(&def, "tiny");
    cr_assert_eq(def.num_layers, 8);
    const rm_layer_def *L = def.layers;
    cr_expect_str_eq(L[2].name, "maxpool1");
    cr_expect_eq(L[2].stride, 2, "pooling stride defaults to size");
    expect_shape(L[3].out, 6, 3, 3, "strided conv");
    cr_expect_eq(L[3].flops, 2 * 6 * 3 * 3 * 4 * 9);
    cr_expect_eq(L[4].type, RM_LAYER_BATCHNORM);
    cr_expect_eq(L[4].params, 12);
    expect_shape(L[6].out, 6, 2, 2, "overlapping avgpool");
    cr_expect_eq(L[7].params, 3 * 24 + 3, "dense flattens 6x2x2");
    rm_netdef_free(&def);
}

/* ---- finding and loading ------------------------------------------------ */

Test(netdef, find_by_path_and_name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tiny.cfg", nets_dir());
    rm_netdef def;
    cr_assert_eq(rm_netdef_find(&def, path), 0, "%s", rm_error_message());
    cr_expect_str_eq(def.name, "tiny");
    rm_netdef_free(&def);

    char *dir = tu_scratch_dir();
    tu_write_text(tu_path(dir, "mine.cfg"), "[net]\ninput = 1x4x4\nclasses = 2\n[dense]\nunits = 2\n");
    setenv("RELMASK_NETS", dir, 1);
    cr_assert_eq(rm_netdef_find(&def, "mine"), 0, "%s", rm_error_message());
    cr_expect_str_eq(def.name, "mine", "name from the file name");
    rm_netdef_free(&def);
    tu_rmtree(dir);
}

Test(netdef, find_unknown_name_lists_the_directory)
{
    char *dir = tu_scratch_dir();
    tu_write_text(tu_path(dir, "b.cfg"), "");
    tu_write_text(tu_path(dir, "a.cfg"), "");
    setenv("RELMASK_NETS", dir, 1);
    rm_netdef def;
    cr_assert_eq(rm_netdef_find(&def, "nope"), -1);
    const char *msg = rm_error_message();
    cr_expect(strstr(msg, "'nope'") && strstr(msg, tu_path(dir, "nope.cfg")), "%s", msg);
    cr_expect(strstr(msg, "available: a, b"), "%s", msg);
    cr_expect_null(def.layers);
    tu_rmtree(dir);
}

Test(netdef, load_errors_name_the_path)
{
    rm_netdef def;
    cr_assert_eq(rm_netdef_load(&def, "/nonexistent/x.cfg"), -1);
    cr_expect(strstr(rm_error_message(), "/nonexistent/x.cfg"), "%s", rm_error_message());

    char *dir = tu_scratch_dir();
    cr_assert_eq(rm_netdef_load(&def, dir), -1);
    cr_expect(strstr(rm_error_message(), "not a regular file"), "%s", rm_error_message());

    const char *big = tu_path(dir, "big.cfg");
    size_t n = (1 << 20) + 1;
    char *junk = malloc(n);
    memset(junk, '#', n);
    tu_write_file(big, junk, n);
    free(junk);
    cr_assert_eq(rm_netdef_load(&def, big), -1);
    cr_expect(strstr(rm_error_message(), "big.cfg: larger than 1 MiB"), "%s", rm_error_message());

    const char *bad = tu_path(dir, "nul.cfg");
    tu_write_file(bad, "[net]\0", 6);
    cr_assert_eq(rm_netdef_load(&def, bad), -1);
    cr_expect(strstr(rm_error_message(), "nul.cfg: contains a NUL byte"), "%s", rm_error_message());
    tu_rmtree(dir);
}

Test(netdef, errors_in_a_file_name_the_path_and_line)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "x.cfg");
    tu_write_text(path, NET_HEADER "\n[conv]\nfilters = 4\nsize = 3\n\n\nfilter = 3\n");
    rm_netdef def;
    cr_assert_eq(rm_netdef_load(&def, path), -1);
    char want[4200];
    snprintf(want, sizeof want, "%s:10: unknown key 'filter' in [conv] "
             "(expected filters, size, stride, pad, dilation, groups, bias, activation, name, from)", path);
    cr_expect_str_eq(rm_error_message(), want);
    tu_rmtree(dir);
}

/* ---- format ------------------------------------------------------------- */

Test(netdef, text_round_trips)
{
    const char *text = NET_HEADER "[dense] # the only layer\nunits = 3\n";
    rm_netdef def;
    parse_ok(&def, text);
    cr_expect_str_eq(def.text, text);
    cr_expect_neq(def.text, text, "a copy");
    rm_netdef_free(&def);

    char path[4096];
    snprintf(path, sizeof path, "%s/fer-small.cfg", nets_dir());
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static char file[1 << 16];
    file[fread(file, 1, sizeof file - 1, f)] = 0;
    fclose(f);
    cr_assert_eq(rm_netdef_load(&def, path), 0, "%s", rm_error_message());
    cr_expect_str_eq(def.text, file);
    rm_netdef_free(&def);
}

Test(netdef, comments_and_whitespace)
{
    const char *text =
        "# leading comment\r\n"
        "\r\n"
        "  [ net ]   # trailing\r\n"
        "input=1 x 8x8\r\n"
        "\tclasses\t=\t3   # classes\r\n"
        "   \t\r\n"
        "[conv]\n"
        "   # indented comment\n"
        "filters = 2#no space\n"
        "size =3\n"
        "[dense]\n"
        "units = 3";   /* no final newline */
    rm_netdef def;
    parse_ok(&def, text);
    expect_shape(def.input, 1, 8, 8, "input");
    cr_expect_eq(def.classes, 3);
    cr_assert_eq(def.num_layers, 2);
    cr_expect_eq(def.layers[0].filters, 2);
    cr_expect_eq(def.layers[0].line, 7);
    cr_expect_eq(def.layers[1].units, 3);
    cr_expect_eq(def.layers[1].line, 11);
    rm_netdef_free(&def);
}

Test(netdef, defaults)
{
    rm_netdef def;
    parse_ok(&def, NET_HEADER "[conv]\nfilters = 2\nsize = 3\n[maxpool]\nsize = 2\n[avgpool]\nsize = 3\n"
                   "stride = 1\npad = 1\n[dropout]\n[batchnorm]\n[dense]\nunits = 3\n");
    const rm_layer_def *L = def.layers;
    cr_expect(L[0].stride == 1 && L[0].pad == 0 && L[0].bias == 1, "conv defaults");
    expect_shape(L[0].out, 2, 6, 6, "conv, no pad");
    cr_expect(L[1].stride == 2 && L[1].pad == 0, "maxpool stride = size");
    expect_shape(L[1].out, 2, 3, 3, "maxpool");
    expect_shape(L[2].out, 2, 3, 3, "avgpool 3 stride 1 pad 1");
    cr_expect_eq(L[3].p, 0.5);
    cr_expect(L[4].eps == 1e-5 && L[4].momentum == 0.1, "batchnorm defaults");
    cr_expect_eq(L[4].params, 4);
    cr_expect_eq(L[5].bias, 1);
    cr_expect_eq(L[5].params, 3 * 18 + 3);
    cr_expect_eq(L[5].flops, 2 * 3 * 18);
    cr_expect_str_eq(def.name, "t", "name from the source name");
    rm_netdef_free(&def);
}

Test(netdef, explicit_values)
{
    rm_netdef def;
    parse_ok(&def, "[net]\nname = my.net-1\ninput = 3x9x9\nclasses = 4\n"
                   "[conv]\nfilters = 5\nsize = 3\nstride = 2\npad = 1\nbias = 0\n"
                   "[dropout]\np = 0\n[batchnorm]\neps = 0.001\nmomentum = 1\n"
                   "[globalavgpool]\n[flatten]\n[dense]\nunits = 4\nbias = 0\n");
    cr_expect_str_eq(def.name, "my.net-1");
    const rm_layer_def *L = def.layers;
    expect_shape(L[0].out, 5, 5, 5, "conv stride 2 pad 1");
    cr_expect_eq(L[0].params, 5 * 3 * 9, "no bias");
    cr_expect_eq(L[1].p, 0.0);
    cr_expect(L[2].eps == 0.001 && L[2].momentum == 1.0, "batchnorm values");
    expect_shape(L[3].out, 5, 1, 1, "globalavgpool");
    expect_shape(L[4].out, 5, 1, 1, "flatten");
    cr_expect_eq(L[5].params, 20, "no bias");
    rm_netdef_free(&def);
}

/* TensorFlow's 'SAME' at stride 2 on an even input pads one cell more at
 * the bottom and right; a dilated kernel spans (size - 1) * dilation + 1. */
Test(netdef, asymmetric_pads_and_dilation)
{
    rm_netdef def;
    parse_ok(&def, "[net]\ninput = 2x16x16\nclasses = 3\n"
                   "[conv]\nfilters = 4\nsize = 3\nstride = 2\npad = 0, 0, 1, 1\n"
                   "[conv]\nfilters = 4\nsize = 3\ndilation = 2\npad = 2\n"
                   "[conv]\nfilters = 4\nsize = 3\ndilation = 3\npad = 1,0,2,3\n"
                   "[flatten]\n[dense]\nunits = 3\n");
    const rm_layer_def *L = def.layers;
    expect_shape(L[0].out, 4, 8, 8, "stride 2, pads 0,0,1,1 (TF SAME)");
    cr_expect(L[0].pads[0] == 0 && L[0].pads[1] == 0 && L[0].pads[2] == 1 && L[0].pads[3] == 1, "pads");
    expect_shape(L[1].out, 4, 8, 8, "3x3 dilated by 2, pad 2: same size");
    cr_expect(L[1].dilation == 2 && L[1].pads[0] == 2 && L[1].pads[3] == 2, "dilation 2, pad 2 everywhere");
    /* span 7: height 8 + 1 + 2 - 7 + 1 = 5, width 8 + 0 + 3 - 7 + 1 = 5 */
    expect_shape(L[2].out, 4, 5, 5, "dilation 3, pads 1,0,2,3");
    cr_expect_eq(L[2].params, 4 * 4 * 9 + 4, "dilation adds no parameters");
    cr_expect_eq(L[0].dilation, 1, "default dilation");
    rm_netdef_free(&def);
}

/* Pooling takes the same pads: 'SAME' 3x3 /2 on 48x48 pads 0,0,1,1 (24x24
 * out, where floor without them gives 23x23); count_pad = 0 averages over
 * the real cells, and the default counts the padding. */
Test(netdef, pooling_pads_and_count_pad)
{
    rm_netdef def;
    parse_ok(&def, "[net]\ninput = 2x48x48\nclasses = 3\n"
                   "[maxpool]\nsize = 3\nstride = 2\npad = 0, 0, 1, 1\n"
                   "[avgpool]\nsize = 3\nstride = 2\npad = 0,0,1,1\ncount_pad = 0\n"
                   "[avgpool]\nsize = 3\nstride = 1\npad = 1\n"
                   "[avgpool]\nsize = 2\nstride = 2\npad = 1, 0, 1, 1\ncount_pad = 1\n"
                   "[flatten]\n[dense]\nunits = 3\n");
    const rm_layer_def *L = def.layers;
    expect_shape(L[0].out, 2, 24, 24, "maxpool 3x3 /2 pads 0,0,1,1");
    cr_expect(L[0].pad == 0 && L[0].pads[2] == 1 && L[0].pads[3] == 1, "maxpool pads");
    expect_shape(L[1].out, 2, 12, 12, "avgpool 3x3 /2 pads 0,0,1,1");
    cr_expect_eq(L[1].count_pad, 0, "count_pad = 0");
    cr_expect(L[2].count_pad == 1 && L[2].pads[3] == 1, "default count_pad 1, pad 1 everywhere");
    /* height (12 + 1 + 1 - 2) / 2 + 1 = 7, width (12 + 0 + 1 - 2) / 2 + 1 = 6 */
    expect_shape(L[3].out, 2, 7, 6, "avgpool 2x2 /2 pads 1,0,1,1");
    cr_expect_eq(L[3].count_pad, 1);
    rm_netdef_free(&def);
}

Test(netdef, scale_layer_keeps_the_shape_and_has_two_parameters_per_channel)
{
    rm_netdef def;
    parse_ok(&def, "[net]\ninput = 3x5x5\nclasses = 2\n[scale]\n[conv]\nfilters = 4\nsize = 3\n[scale]\nname = s\n"
                   "[flatten]\n[dense]\nunits = 2\n");
    expect_shape(def.layers[0].out, 3, 5, 5, "scale on the input");
    cr_expect_eq(def.layers[0].params, 6);
    cr_expect_str_eq(def.layers[0].name, "scale1");
    expect_shape(def.layers[2].out, 4, 3, 3, "scale after a conv");
    cr_expect_eq(def.layers[2].params, 8);
    rm_netdef_free(&def);
    expect_error(NET_HEADER "[scale]\nsize = 2\n", "t.cfg:5: unknown key 'size' in [scale] (expected name, from)", NULL);
}

Test(netdef_errors, pads_and_dilation)
{
    expect_error(NET_HEADER "[conv]\nfilters = 2\nsize = 3\npad = 1, 1, 1\n",
                 "t.cfg:7: 'pad = 1, 1, 1': expected one integer, or top, left, bottom, right (each 0..64)", NULL);
    expect_error(NET_HEADER "[conv]\nfilters = 2\nsize = 3\npad = 1, x, 1, 1\n", "t.cfg:7: 'pad = 1, x, 1, 1'",
                 NULL);
    expect_error(NET_HEADER "[conv]\nfilters = 2\nsize = 3\npad = 0, 0, 65, 0\n", "each pad must be in 0..64",
                 NULL);
    expect_error(NET_HEADER "[maxpool]\nsize = 2\npad = 0, 0, 2, 1\n[dense]\nunits = 3\n",
                 "t.cfg:6: 'pad = 0, 0, 2, 1': the bottom pad 2 must be less than size = 2 in [maxpool] (a window "
                 "would lie wholly in the padding)",
                 NULL);
    expect_error(NET_HEADER "[avgpool]\nsize = 3\npad = 0, 3, 0, 0\n[dense]\nunits = 3\n",
                 "t.cfg:6: 'pad = 0, 3, 0, 0': the left pad 3 must be less than size = 3 in [avgpool]", NULL);
    expect_error(NET_HEADER "[avgpool]\nsize = 2\ncount_pad = 2\n", "t.cfg:6: 'count_pad = 2' must be in 0..1", NULL);
    expect_error(NET_HEADER "[maxpool]\nsize = 2\ncount_pad = 0\n", "t.cfg:6: unknown key 'count_pad' in [maxpool]",
                 NULL);
    expect_error("[net]\ninput = 1x1x1\nclasses = 3\n[maxpool]\nsize = 3\npad = 0, 1, 1, 0\n[dense]\nunits = 3\n",
                 "[maxpool] 'maxpool1': pooling 3x3 larger than input 1x1 (pad 0, 1, 1, 0)", NULL);
    expect_error(NET_HEADER "[conv]\nfilters = 2\nsize = 3\ndilation = 0\n", "t.cfg:7: 'dilation = 0' must be in 1..64",
                 NULL);
    expect_error(NET_HEADER "[conv]\nfilters = 2\nsize = 3\ndilation = 4\n",
                 "kernel 3x3 dilated by 4 spans 9 cells, more than input 8x8", NULL);
    expect_error(NET_HEADER "[maxpool]\nsize = 2\ndilation = 2\n", "t.cfg:6:", "dilation", NULL);
}

Test(netdef, default_names_count_per_type)
{
    rm_netdef def;
    parse_ok(&def, NET_HEADER "[conv]\nfilters = 2\nsize = 1\nname = stem\n[relu]\n"
                   "[conv]\nfilters = 2\nsize = 1\n[relu]\nname = act_2\n[conv]\nfilters = 2\nsize = 1\n"
                   "[maxpool]\nsize = 2\n[dense]\nunits = 3\n");
    static const char *const want[] = {"stem", "relu1", "conv2", "act_2", "conv3", "maxpool1", "dense1"};
    cr_assert_eq(def.num_layers, 7);
    for (int i = 0; i < 7; i++) cr_expect_str_eq(def.layers[i].name, want[i]);
    rm_netdef_free(&def);
}

Test(netdef, activation_shorthand_appends_relu)
{
    rm_netdef def;
    parse_ok(&def, NET_HEADER "[relu]\n[conv]\nactivation = relu\nfilters = 2\nsize = 3\npad = 1\n"
                   "[dense]\nunits = 8\nactivation = relu\n[dense]\nunits = 3\nactivation = none\n");
    static const struct { rm_layer_type type; const char *name; int line; } want[] = {
        {RM_LAYER_RELU, "relu1", 4}, {RM_LAYER_CONV, "conv1", 5}, {RM_LAYER_RELU, "relu2", 5},
        {RM_LAYER_DENSE, "dense1", 10}, {RM_LAYER_RELU, "relu3", 10}, {RM_LAYER_DENSE, "dense2", 13},
    };
    cr_assert_eq(def.num_layers, 6);
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(def.layers[i].type, want[i].type, "layer %d", i);
        cr_expect_str_eq(def.layers[i].name, want[i].name);
        cr_expect_eq(def.layers[i].line, want[i].line, "layer %d", i);
    }
    expect_shape(def.layers[2].out, 2, 8, 8, "relu after conv");
    expect_shape(def.layers[4].out, 8, 1, 1, "relu after dense");
    rm_netdef_free(&def);
}

Test(netdef, layer_type_names)
{
    cr_expect_str_eq(rm_layer_type_names[RM_LAYER_CONV], "conv");
    cr_expect_str_eq(rm_layer_type_names[RM_LAYER_GLOBALAVGPOOL], "globalavgpool");
    cr_expect_str_eq(rm_layer_type_names[RM_LAYER_DENSE], "dense");
}

Test(netdef, free_is_idempotent)
{
    rm_netdef def;
    parse_ok(&def, NET_HEADER "[dense]\nunits = 3\n");
    rm_netdef_free(&def);
    rm_netdef_free(&def);
    cr_expect_null(def.layers);
}

Test(netdef, max_layers)
{
    char text[8192] = NET_HEADER;
    for (int i = 0; i < 255; i++) strcat(text, "[relu]\n");
    strcat(text, "[dense]\nunits = 3\n");
    rm_netdef def;
    parse_ok(&def, text);
    cr_expect_eq(def.num_layers, 256);
    cr_expect_str_eq(def.layers[254].name, "relu255");
    rm_netdef_free(&def);
    strcat(text, "[relu]\n");
    expect_error(text, "t.cfg:261: ", "more than 256 layers", NULL);
}

/* ---- errors: one per class ---------------------------------------------- */

Test(netdef_errors, unknown_key)
{
    expect_error(NET_HEADER "[conv]\nfilters = 4\nsize = 3\nfilter = 3\n",
                 "t.cfg:7: unknown key 'filter' in [conv] "
                 "(expected filters, size, stride, pad, dilation, groups, bias, activation, name, from)", NULL);
    expect_error(NET_HEADER "[relu]\nsize = 3\n",
                 "t.cfg:5: unknown key 'size' in [relu] (expected slope, max, name, from)", NULL);
    expect_error("[net]\nInput = 1x8x8\n", "t.cfg:2: unknown key 'Input' in [net] (expected input, classes, name)",
                 NULL);
}

Test(netdef_errors, unknown_section)
{
    expect_error(NET_HEADER "[lstm]\n", "t.cfg:4: unknown section [lstm] (expected net, conv, relu, maxpool",
                 "dense, add, concat, scale)", NULL);
    expect_error(NET_HEADER "[conv\n", "t.cfg:4: ", "expected ']'", NULL);
}

Test(netdef_errors, duplicate_key)
{
    expect_error(NET_HEADER "[conv]\nsize = 3\nfilters = 4\nsize = 5\n",
                 "t.cfg:7: duplicate key 'size' in [conv] (first set at line 5)", NULL);
}

Test(netdef_errors, not_an_integer)
{
    expect_error(NET_HEADER "[conv]\nfilters = 4x\nsize = 3\n",
                 "t.cfg:5: 'filters = 4x' is not an integer (valid: 1..4096)", NULL);
    expect_error(NET_HEADER "[dense]\nunits = 2.5\n", "t.cfg:5: 'units = 2.5' is not an integer", "1..65536", NULL);
}

Test(netdef_errors, out_of_range)
{
    expect_error(NET_HEADER "[conv]\nfilters = 4\nsize = 0\n", "t.cfg:6: 'size = 0' must be in 1..64", NULL);
    expect_error(NET_HEADER "[conv]\nfilters = 4\nsize = 3\nbias = 2\n", "t.cfg:7: 'bias = 2' must be in 0..1", NULL);
    expect_error("[net]\ninput = 1x8x8\nclasses = 1001\n", "t.cfg:3: 'classes = 1001' must be in 1..1000", NULL);
    expect_error(NET_HEADER "[dense]\nunits = 99999999999999999999\n", "t.cfg:5: 'units = 99999999999999999999' "
                 "must be in 1..65536", NULL);
}

Test(netdef_errors, relu_variants)
{
    expect_error(NET_HEADER "[relu]\nslope = 1\n", "t.cfg:5: 'slope = 1' must be in [0, 1)", NULL);
    expect_error(NET_HEADER "[relu]\nmax = 0\n", "t.cfg:5: 'max = 0' must be in (0, inf)", NULL);
    expect_error(NET_HEADER "[relu]\nmax = six\n", "t.cfg:5: 'max = six' is not a number (valid: (0, inf))", NULL);
    expect_error(NET_HEADER "[relu]\nslope = 0.1\nmax = 6\n",
                 "t.cfg:6: [relu] takes 'slope' (leaky) or 'max' (clipped), not both", NULL);
}

Test(netdef_errors, bad_real)
{
    expect_error(NET_HEADER "[dropout]\np = 1\n", "t.cfg:5: 'p = 1' must be in [0, 1)", NULL);
    expect_error(NET_HEADER "[dropout]\np = half\n", "t.cfg:5: 'p = half' is not a number (valid: [0, 1))", NULL);
    expect_error(NET_HEADER "[batchnorm]\neps = 0\n", "t.cfg:5: 'eps = 0' must be in (0, inf)", NULL);
    expect_error(NET_HEADER "[batchnorm]\nmomentum = 0\n", "t.cfg:5: 'momentum = 0' must be in (0, 1]", NULL);
    expect_error(NET_HEADER "[batchnorm]\nmomentum = nan\n", "t.cfg:5: 'momentum = nan'", NULL);
}

Test(netdef_errors, bad_input_shape)
{
    static const char *const bad[] = {"48x48", "1x48x48x1", "0x48x48", "1x48x", "ax1x1", "1x-4x4", "1x5000x5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128], want[128];
        snprintf(text, sizeof text, "[net]\nclasses = 3\ninput = %s\n", bad[i]);
        snprintf(want, sizeof want, "t.cfg:3: 'input = %s' must be CxHxW", bad[i]);
        expect_error(text, want, "1..1024", "1..4096", NULL);
    }
    expect_error("[net]\nclasses = 3\ninput = 1024x4096x4096\n", "t.cfg:3: ", "more than", NULL);
}

Test(netdef_errors, bad_activation)
{
    expect_error(NET_HEADER "[dense]\nunits = 3\nactivation = tanh\n",
                 "t.cfg:6: 'activation = tanh' must be none or relu", NULL);
}

Test(netdef_errors, bad_name)
{
    expect_error(NET_HEADER "[dense]\nunits = 3\nname = a b\n", "t.cfg:6: 'name = a b' must be 1..31 letters", NULL);
    expect_error(NET_HEADER "[dense]\nunits = 3\nname = abcdefghijabcdefghijabcdefghij12\n",
                 "t.cfg:6: ", "1..31", NULL);
    expect_error("[net]\nname = a/b\n", "t.cfg:2: 'name = a/b' must be 1..63", NULL);
}

Test(netdef_errors, duplicate_layer_name)
{
    expect_error(NET_HEADER "[relu]\nname = x\n[relu]\nname = x\n[dense]\nunits = 3\n",
                 "t.cfg:6: layer name 'x' is already used at line 4", NULL);
    /* An explicit name that collides with a later default name. */
    expect_error(NET_HEADER "[relu]\nname = relu2\n[relu]\n[dense]\nunits = 3\n",
                 "t.cfg:6: layer name 'relu2' is already used at line 4", NULL);
}

Test(netdef_errors, missing_value)
{
    expect_error(NET_HEADER "[conv]\nfilters =\nsize = 3\n", "t.cfg:5: 'filters' has no value", NULL);
    expect_error(NET_HEADER "[conv]\nfilters 4\n", "t.cfg:5: expected 'key = value' or a [section], got 'filters 4'",
                 NULL);
}

Test(netdef_errors, key_before_any_section)
{
    expect_error("# comment\ninput = 1x8x8\n[net]\n", "t.cfg:2: 'input' before any section", "[net]", NULL);
}

Test(netdef_errors, missing_required_key_names_the_section_line)
{
    expect_error(NET_HEADER "\n[conv]\nsize = 3\n\n[dense]\nunits = 3\n", "t.cfg:5: [conv] needs 'filters'", NULL);
    expect_error(NET_HEADER "[maxpool]\n", "t.cfg:4: [maxpool] needs 'size'", NULL);
    expect_error(NET_HEADER "[dense]\n", "t.cfg:4: [dense] needs 'units'", NULL);
    expect_error("[net]\ninput = 1x8x8\n[dense]\nunits = 3\n", "t.cfg:1: [net] needs 'classes'", NULL);
}

Test(netdef_errors, net_must_come_first_and_once)
{
    expect_error("[conv]\nfilters = 1\nsize = 1\n", "t.cfg:1: [conv] before [net]", NULL);
    expect_error(NET_HEADER "[dense]\nunits = 3\n[net]\n", "t.cfg:6: second [net] section (the first is at line 1)",
                 NULL);
    expect_error("# nothing\n\n", "t.cfg: no [net] section", NULL);
    expect_error("", "t.cfg: no [net] section", NULL);
}

Test(netdef_errors, no_layers)
{
    expect_error("\n" NET_HEADER, "t.cfg:2: no layers after [net]", NULL);
}

Test(netdef_errors, conv_larger_than_input)
{
    expect_error("[net]\ninput = 1x4x4\nclasses = 3\n[conv]\nfilters = 2\nsize = 5\n[dense]\nunits = 3\n",
                 "t.cfg:4: [conv] 'conv1': kernel 5x5 larger than input 4x4 (pad 0)", NULL);
}

Test(netdef_errors, pooling_larger_than_input)
{
    expect_error("[net]\ninput = 1x2x2\nclasses = 3\n[maxpool]\nsize = 3\n[dense]\nunits = 3\n",
                 "t.cfg:4: [maxpool] 'maxpool1': pooling 3x3 larger than input 2x2", NULL);
}

Test(netdef_errors, pooling_pad_not_below_size)
{
    expect_error(NET_HEADER "[avgpool]\nsize = 2\npad = 2\n[dense]\nunits = 3\n",
                 "t.cfg:6: 'pad = 2' must be less than size = 2 in [avgpool]", NULL);
}

Test(netdef_errors, output_does_not_match_classes)
{
    expect_error("[net]\ninput = 1x8x8\nclasses = 7\n[dense]\nunits = 10\n",
                 "t.cfg:4: last layer has 10 outputs but [net] classes = 7", NULL);
    expect_error(NET_HEADER "[conv]\nfilters = 3\nsize = 1\n", "t.cfg:4: last layer 'conv1' outputs 3x8x8", NULL);
}

Test(netdef_errors, overlong_line)
{
    char text[2048] = NET_HEADER "# ";
    memset(text + strlen(text), 'x', 1100);
    expect_error(text, "t.cfg:4: line longer than 1023 characters", NULL);
}
