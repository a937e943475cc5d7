/* A network with another class count than the data: train gives its last
 * dense layer one output per class and says so; --strict-net refuses and
 * the message names the option (rm_netdef_set_classes underneath). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/model_file.h"
#include "nn/netdef.h"
#include "test_util.h"

Test(class_adapt, last_dense_layer_and_classes_are_rewritten)
{
    rm_netdef def;
    cr_assert_eq(rm_netdef_find(&def, "fer-small"), 0, "%s", rm_error_message());
    int64_t params7 = rm_netdef_params(&def);
    cr_assert_eq(rm_netdef_set_classes(&def, 3), 0, "%s", rm_error_message());
    cr_assert_eq(def.classes, 3);
    cr_assert_str_eq(def.name, "fer-small");
    const rm_layer_def *last = &def.layers[def.num_layers - 1];
    cr_assert_eq(last->units, 3);
    cr_assert_eq(rm_netdef_params(&def), params7 - 4 * (256 + 1), "256 inputs + bias for each of 4 fewer outputs");
    cr_assert(strstr(def.text, "# classes set to 3 (was 7) by relmask\nclasses = 3"), "%s", def.text);
    cr_assert(strstr(def.text, "# units set to 3 (was 7) by relmask: one per class\nunits = 3"), "%s", def.text);
    cr_assert(strstr(def.text, "units = 256"), "the hidden dense layer is left alone");
    rm_netdef_free(&def);

    /* Two dense layers: only the last one changes. */
    const char *two = "[net]\ninput = 1x8x8\nclasses = 4\n[dense]\nunits = 16\n[dense]\nunits = 4\n";
    cr_assert_eq(rm_netdef_parse(&def, two, "two.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_netdef_set_classes(&def, 2), 0, "%s", rm_error_message());
    cr_assert_eq(def.layers[0].units, 16);
    cr_assert_eq(def.layers[1].units, 2);
    rm_netdef_free(&def);
}

Test(class_adapt, train_adapts_unless_strict)
{
    char *dir = tu_scratch_dir();
    char *out;
    /* A 3-class dataset (a FER2013-style CSV with labels 0..2). */
    const char *csv = tu_path(dir, "f.csv");
    FILE *f = fopen(csv, "w");
    cr_assert(f);
    fputs("emotion,pixels\n", f);
    for (int i = 0; i < 60; i++) {
        fprintf(f, "%d,", i % 3);
        for (int k = 0; k < 48 * 48; k++) fprintf(f, "%s%d", k ? " " : "", (i * 7 + k * (1 + i % 3)) % 256);
        fputc('\n', f);
    }
    fclose(f);
    char data[1024], model[1024];
    snprintf(data, sizeof data, "%s/d.h5", dir);
    snprintf(model, sizeof model, "%s/m.h5", dir);
    cr_assert_eq(tu_run_cli(&out, "ingest fer2013 -q %s --classes a,b,c -o %s", csv, data), 0, "%s", out);
    free(out);
    const char *bin = getenv("RELMASK_BIN") && *getenv("RELMASK_BIN") ? getenv("RELMASK_BIN") : "build/relmask";
    cr_assert_eq(tu_run_sh(&out, "RELMASK_QUIET=0 %s train --data %s --net fer-small --epochs 1 --batch 8 --out %s", bin,
                           data, model),
                 0, "%s", out);
    cr_assert(strstr(out, "its last dense layer now has 3 outputs"), "says it adapted the network:\n%s", out);
    cr_assert(strstr(out, "wrote ") && strstr(out, "m.h5: the weights of epoch 1 of 1 (best validation accuracy "),
              "ends saying what it wrote:\n%s", out);
    free(out);
    rm_model m;
    cr_assert_eq(rm_model_load(&m, model), 0, "%s", rm_error_message());
    cr_assert_eq(m.num_classes, 3);
    cr_assert(strstr(m.def.text, "classes = 3"), "the model keeps the adapted network text");
    rm_model_free(&m);
    cr_assert_eq(tu_run_cli(&out, "train --data %s --net fer-small --epochs 1 --batch 8 --out %s --force --strict-net",
                            data, model),
                 1, "%s", out);
    cr_assert(strstr(out, "network fer-small has 7 outputs but") && strstr(out, "(--strict-net: leave it out"), "%s",
              out);
    free(out);
    tu_rmtree(dir);
}
