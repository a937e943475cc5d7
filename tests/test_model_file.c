/* Model files: save/load round trips bit-exact parameters and metadata;
 * broken files are reported with the file and what is wrong. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/h5util.h"
#include "nn/model_file.h"
#include "core/rng.h"
#include "test_util.h"

static const char *const text =
    "[net]\ninput = 1x8x8\nclasses = 3\n[conv]\nfilters = 4\nsize = 3\npad = 1\nbias = 0\n[batchnorm]\n[relu]\n"
    "[maxpool]\nsize = 2\n[dense]\nunits = 3\n";

static void make_model(rm_model *m, rm_net *net)
{
    memset(m, 0, sizeof *m);
    cr_assert_eq(rm_netdef_parse(&m->def, text, "t.cfg"), 0, "%s", rm_error_message());
    cr_assert_eq(rm_net_create(net, &m->def, 2, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    rm_rng rng;
    rm_rng_seed(&rng, 5, 0, 0);
    for (int i = 0; i < net->num_layers; i++)
        for (int p = 0; p < net->layers[i].num_params; p++) {
            rm_param *prm = &net->layers[i].params[p];
            int64_t n = rm_param_plain_count(prm);
            float *v = malloc(sizeof *v * (size_t)n);
            for (int64_t k = 0; k < n; k++) v[k] = (float)rm_rng_range(&rng, 0.5, 1.5);
            cr_assert_eq(rm_net_param_write(net, prm, v), 0);
            free(v);
        }
    cr_assert_eq(rm_model_capture(m, net), 0, "%s", rm_error_message());
    char *names[3] = {"a", "b", "c"};
    cr_assert_eq(rm_model_set_classes(m, 3, names), 0);
    m->norm_mean = malloc(sizeof(float));
    m->norm_std = malloc(sizeof(float));
    m->norm_mean[0] = 0.25f;
    m->norm_std[0] = 0.5f;
    m->train_params = strdup("lr=0.01\n");
    m->dataset_path = strdup("d.h5");
    m->dataset_fingerprint = strdup("0123456789abcdef");
    m->num_epochs = 2;
    m->history = calloc(2, sizeof *m->history);
    m->history[1] = (rm_epoch_record){2, 0.5, 0.8, 0.6, 0.75, 3.0, 0.01, 0.25};
    m->best_epoch = 2;
    m->best_val_acc = 0.75;
}

Test(model_file, round_trip_is_exact)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "m.h5");
    rm_model m, back;
    rm_net net, net2;
    make_model(&m, &net);
    cr_assert_eq(rm_model_save(&m, path, 0, "relmask test"), 0, "%s", rm_error_message());
    cr_assert_neq(rm_model_save(&m, path, 0, NULL), 0, "no overwrite without force");
    cr_assert_eq(rm_model_load(&back, path), 0, "%s", rm_error_message());
    cr_assert_eq(back.num_classes, 3);
    cr_assert_str_eq(back.class_names[2], "c");
    cr_assert_eq(back.norm_std[0], 0.5f);
    cr_assert_eq(back.best_epoch, 2);
    cr_assert_eq(back.num_epochs, 2);
    cr_assert_eq(back.history[1].val_acc, 0.75);
    cr_assert_eq(back.history[1].encoded_share, 0.25);
    cr_assert_str_eq(back.def.text, text);
    cr_assert_eq(rm_net_create(&net2, &back.def, 2, RM_MODE_INFER, 0), 0, "%s", rm_error_message());
    cr_assert_eq(rm_model_apply(&back, &net2), 0, "%s", rm_error_message());
    for (int i = 0; i < 2 * 64; i++) rm_net_input(&net)[i] = rm_net_input(&net2)[i] = (float)(i % 7) / 7;
    cr_assert_eq(rm_net_forward(&net), 0);
    cr_assert_eq(rm_net_forward(&net2), 0);
    cr_assert_eq(memcmp(rm_net_logits(&net), rm_net_logits(&net2), 6 * sizeof(float)), 0, "identical logits");
    rm_net_destroy(&net);
    rm_net_destroy(&net2);
    rm_model_free(&m);
    rm_model_free(&back);
    tu_rmtree(dir);
}

Test(model_file, broken_files_are_reported)
{
    char *dir = tu_scratch_dir();
    const char *path = tu_path(dir, "m.h5");
    rm_model m, back;
    rm_net net;
    make_model(&m, &net);
    rm_net_destroy(&net);
    cr_assert_eq(rm_model_save(&m, path, 0, NULL), 0, "%s", rm_error_message());
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/params/dense1/bias", H5P_DEFAULT);
    float bad[3] = {0, NAN, 0};
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, bad);
    H5Dclose(d);
    H5Fclose(f);
    cr_assert_neq(rm_model_load(&back, path), 0);
    cr_assert(strstr(rm_error_message(), "m.h5: /params/dense1/bias[1] is NaN"), "%s", rm_error_message());

    cr_assert_eq(rm_model_save(&m, path, 1, NULL), 0);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "/params/conv1/weight", H5P_DEFAULT);
    H5Fclose(f);
    cr_assert_neq(rm_model_load(&back, path), 0);
    cr_assert(strstr(rm_error_message(), "missing dataset /params/conv1/weight"), "%s", rm_error_message());

    cr_assert_eq(rm_model_save(&m, path, 1, NULL), 0);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    rm_h5_attr_set_string(f, "net_text", "[net]\ninput = 1x8x8\nclasses = 3\n[lstm]\n");
    H5Fclose(f);
    cr_assert_neq(rm_model_load(&back, path), 0);
    cr_assert(strstr(rm_error_message(), "net_text"), "%s", rm_error_message());
    cr_assert(strstr(rm_error_message(), ":4"), "line number: %s", rm_error_message());

    tu_write_text(path, "plain text");
    cr_assert_neq(rm_model_load(&back, path), 0);
    cr_assert(strstr(rm_error_message(), "not an HDF5 file"), "%s", rm_error_message());
    rm_model_free(&m);
    tu_rmtree(dir);
}
