/* relmask predict --model M.h5 --data D.h5 --out P.h5: per-record logits,
 * probabilities and predicted classes, schema relmask.predictions v1.
 * relmask predict --model M.h5 --npy-in X.npy --npy-out P.npy: the
 * external-model exchange of occlusion (docs/relevance.md), so relmask
 * itself can serve as a --predict-cmd and shows the format by example. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/argmax.h"
#include "core/error.h"
#include "core/h5util.h"
#include "relevance/occlusion.h"
#include "core/output.h"
#include "train/train.h"
#include "core/version.h"
#include "core/npy.h"

static const char help[] =
    "usage: relmask predict --model MODEL.h5 --data D.h5 --out P.h5 [options]\n"
    "       relmask predict --model MODEL.h5 --npy-in X.npy --npy-out P.npy [options]\n"
    "\n"
    "Runs a trained model over a dataset split and writes, per record, the\n"
    "logits, the softmax probabilities, the predicted class, the true label and\n"
    "the record's index in the dataset (schema relmask.predictions, see\n"
    "docs/formats.md). The dataset must have the model's input shape and the\n"
    "same classes in the same order.\n"
    "\n"
    "With --npy-in/--npy-out it reads a uint8 NPY array of raw pixels shaped\n"
    "(n, C, H, W) (or (n, H, W) for one channel) and writes the probabilities\n"
    "as a float32 NPY array (n, K): the exchange format of external models\n"
    "for occlusion (docs/relevance.md), so relmask itself can be the command:\n"
    "  --predict-cmd 'relmask predict -q --model M.h5 --npy-in {in} --npy-out {out}'\n"
    "\n"
    "options:\n"
    "  -m, --model FILE       model file (relmask train)\n"
    "  -d, --data FILE        dataset (relmask synth / ingest)\n"
    "  -o, --out FILE         predictions file\n"
    "  -s, --split NAME       all (default), train, val or test\n"
    "      --npy-in FILE      uint8 images (n, C, H, W) instead of --data\n"
    "      --npy-out FILE     float32 probabilities (n, K) instead of --out\n"
    "  -b, --batch N          records per forward pass (256)\n"
    "  -f, --force            overwrite an existing predictions file\n"
    "  -t, --threads N        threads (0 = all cores)\n"
    "  -q, --quiet            no summary line on stderr\n"
    "\n"
    "The file is written to a temporary name and renamed when complete; on an\n"
    "error an existing file is left as it was. Exit codes: 0 ok, 1 error,\n"
    "2 usage error.\n";

typedef struct {
    const char *model_path, *data_path, *out_path;
    const char *npy_in, *npy_out;
    int split, split_given, batch, force;
} predict_args;

enum { OPT_NPY_IN = 256, OPT_NPY_OUT };

static int parse(int argc, char **argv, predict_args *a, int *done)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},        {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},  {"out", required_argument, NULL, 'o'},
        {"split", required_argument, NULL, 's'}, {"batch", required_argument, NULL, 'b'},
        {"force", no_argument, NULL, 'f'},       {"threads", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},       {"npy-in", required_argument, NULL, OPT_NPY_IN},
        {"npy-out", required_argument, NULL, OPT_NPY_OUT}, {NULL, 0, NULL, 0},
    };
    int ch;
    long v;
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hm:d:o:s:b:ft:q", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'm': a->model_path = optarg; break;
        case 'd': a->data_path = optarg; break;
        case 'o': a->out_path = optarg; break;
        case 's':
            if (rm_split_parse(optarg, &a->split) != 0)
                return cli_usage_error("predict", "--split: %s", rm_error_message());
            a->split_given = 1;
            break;
        case OPT_NPY_IN: a->npy_in = optarg; break;
        case OPT_NPY_OUT: a->npy_out = optarg; break;
        case 'b':
            if (cli_parse_int("predict", "--batch", optarg, 1, 65536, &v)) return RM_EXIT_USAGE;
            a->batch = (int)v;
            break;
        case 'f': a->force = 1; break;
        case 't':
            if (cli_parse_int("predict", "--threads", optarg, 0, 4096, &v)) return RM_EXIT_USAGE;
            cli_set_threads(v);
            break;
        case 'q': rm_log_set_quiet(1); break;
        default: return cli_bad_option("predict", ch, argv);
        }
    }
    if (optind < argc) return cli_usage_error("predict", "unexpected argument '%s'", argv[optind]);
    if (!a->model_path) return cli_usage_error("predict", "--model FILE is required");
    if (a->npy_in || a->npy_out) {
        if (!a->npy_in || !a->npy_out)
            return cli_usage_error("predict", "--npy-in and --npy-out go together");
        if (a->data_path || a->out_path || a->split_given)
            return cli_usage_error("predict", "--npy-in/--npy-out replace --data, --out and --split");
        return RM_EXIT_OK;
    }
    if (!a->data_path) return cli_usage_error("predict", "--data FILE is required");
    if (!a->out_path) return cli_usage_error("predict", "--out FILE is required");
    return RM_EXIT_OK;
}

/* Softmax of each row (k <= RM_MAX_CLASSES, checked when the model loads). */
static void softmax_rows(const float *z, float *p, int64_t n, int k)
{
    double row[RM_MAX_CLASSES];
    for (int64_t i = 0; i < n; i++) {
        rm_softmax_row(z + (size_t)i * k, k, row);
        for (int j = 0; j < k; j++) p[(size_t)i * k + j] = (float)row[j];
    }
}

/* The first index of the row maximum, as rm_evaluate counts it. */
static void argmax_rows(const float *z, int32_t *pred, int64_t n, int k)
{
    for (int64_t i = 0; i < n; i++) pred[i] = rm_argmax(z + (size_t)i * k, k);
}

static int write_arrays(hid_t f, const rm_inference *inf, const float *probs, const int32_t *pred)
{
    hsize_t nk[2] = {(hsize_t)inf->count, (hsize_t)inf->model.num_classes}, n = (hsize_t)inf->count;
    RM_TRY(rm_h5_write_dataset(f, "/logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, nk, inf->logits));
    RM_TRY(rm_h5_write_dataset(f, "/probabilities", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, nk, probs));
    RM_TRY(rm_h5_write_dataset(f, "/predicted", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &n, pred));
    RM_TRY(rm_h5_write_dataset(f, "/labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &n, inf->labels));
    return rm_h5_write_dataset(f, "/indices", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, inf->indices);
}

static int write_attrs(hid_t f, const predict_args *a, const rm_inference *inf)
{
    char created[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const rm_model *m = &inf->model;
    RM_TRY(rm_h5_attr_set_string(f, "schema", RM_PREDICTIONS_SCHEMA));
    RM_TRY(rm_h5_attr_set_int(f, "schema_version", RM_PREDICTIONS_SCHEMA_VERSION));
    RM_TRY(rm_h5_attr_set_string(f, "tool_version", rm_version_string()));
    RM_TRY(rm_h5_attr_set_string(f, "created", created));
    RM_TRY(rm_h5_attr_set_string(f, "command_line", cli_command_line()));
    RM_TRY(rm_h5_attr_set_string(f, "model_path", a->model_path));
    RM_TRY(rm_h5_attr_set_string(f, "model_net_name", inf->net_name));
    RM_TRY(rm_h5_attr_set_string(f, "model_dataset_fingerprint", m->dataset_fingerprint));
    RM_TRY(rm_h5_attr_set_string(f, "data_path", a->data_path));
    RM_TRY(rm_h5_attr_set_string(f, "data_fingerprint", inf->data_fingerprint));
    RM_TRY(rm_h5_attr_set_string(f, "split", rm_split_label(a->split)));
    RM_TRY(rm_h5_attr_set_int(f, "num_classes", m->num_classes));
    return rm_h5_attr_set_strings(f, "class_names", m->num_classes, (const char *const *)m->class_names);
}

static int write_predictions(rm_output *out, const predict_args *a, const rm_inference *inf)
{
    size_t n = (size_t)inf->count, k = (size_t)inf->model.num_classes;
    float *probs = rm_malloc(sizeof *probs * n * k, "probabilities");
    int32_t *pred = rm_malloc(sizeof *pred * n, "predictions");
    int rc = probs && pred ? 0 : -1;
    hid_t f = -1;
    if (rc == 0) {
        softmax_rows(inf->logits, probs, inf->count, (int)k);
        argmax_rows(inf->logits, pred, inf->count, (int)k);
        f = H5Fcreate(out->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (f < 0) rc = rm_h5_error("cannot create %s", out->tmp_path);
    }
    if (rc == 0) rc = write_attrs(f, a, inf);
    if (rc == 0) rc = write_arrays(f, inf, probs, pred);
    if (f >= 0 && H5Fclose(f) < 0 && rc == 0) rc = rm_h5_error("closing the file failed (disk full?)");
    free(probs);
    free(pred);
    if (rc != 0) return rm_error_prefix("%s", a->out_path);
    return rm_output_commit(out);
}

/* --- NPY in, NPY out ------------------------------------------------------ */

/* Reads the uint8 batch: (n, C, H, W), or (n, H, W) when C = 1. */
static int read_npy_images(const char *path, const rm_model *m, const char *model_path, uint8_t **images, int *n)
{
    const rm_shape *in = &m->def.input;
    rm_npy_file f;
    RM_TRY(rm_npy_open(&f, path));
    char shape[256];
    rm_npy_shape_text(&f, shape, sizeof shape);
    int rc = 0;
    int nchw = f.ndims == 4 && f.shape[1] == (size_t)in->c && f.shape[2] == (size_t)in->h &&
               f.shape[3] == (size_t)in->w;
    int nhw = f.ndims == 3 && in->c == 1 && f.shape[1] == (size_t)in->h && f.shape[2] == (size_t)in->w;
    if (f.kind != 'u' || f.itemsize != 1)
        rc = rm_error("%s: NPY dtype '%s', expected uint8 ('|u1') pixels 0..255", path, f.descr);
    else if (!nchw && !nhw)
        rc = rm_error("%s: NPY shape %s, but %s expects (n, %d, %d, %d) images (n, C, H, W)", path, shape,
                      model_path, in->c, in->h, in->w);
    else if (f.count > 1u << 30)
        rc = rm_error("%s: %zu images, at most %d per call", path, f.count, 1 << 30);
    if (rc == 0 && !(*images = rm_malloc(f.data_bytes ? f.data_bytes : 1, "the NPY images"))) rc = -1;
    if (rc == 0 && fread(*images, 1, f.data_bytes, f.fp) != f.data_bytes)
        rc = rm_error("%s: %s reading %zu bytes of pixels", path, ferror(f.fp) ? "read error" : "end of file",
                      f.data_bytes);
    *n = (int)f.count;
    rm_npy_close(&f);
    return rc;
}

static int predict_npy(const predict_args *a)
{
    rm_model m;
    memset(&m, 0, sizeof m);
    uint8_t *images = NULL;
    float *probs = NULL;
    rm_predictor *p = NULL;
    int n = 0;
    rm_output out;
    int rc = rm_output_begin(&out, a->npy_out, a->force);
    if (rc != 0) return -1;
    rc = rm_model_load(&m, a->model_path);
    if (rc == 0) rc = read_npy_images(a->npy_in, &m, a->model_path, &images, &n);
    if (rc == 0 && !(probs = rm_malloc(sizeof *probs * ((size_t)n * m.num_classes + 1), "probabilities"))) rc = -1;
    if (rc == 0 && n > 0) rc = rm_predictor_from_model(&p, &m, n < a->batch ? n : a->batch);
    if (rc == 0) rc = rm_predictor_run(p, images, n, probs);
    size_t shape[2] = {(size_t)n, (size_t)m.num_classes};
    if (rc == 0) rc = rm_npy_write(out.tmp_path, "<f4", 2, shape, probs);
    if (rc == 0) rc = rm_output_commit(&out);
    else rm_output_abort(&out);
    if (rc == 0) rm_log("%s: %d predictions", a->npy_out, n);
    rm_predictor_destroy(p);
    free(images);
    free(probs);
    rm_model_free(&m);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    predict_args a = {.split = -1, .batch = 256};
    int done, rc = parse(argc, argv, &a, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    if (a.npy_in) {
        rm_h5_init();
        return predict_npy(&a) == 0 ? RM_EXIT_OK : cli_runtime_error();
    }
    rm_h5_init();
    rm_output out;
    if (rm_output_begin(&out, a.out_path, a.force) != 0) return cli_runtime_error();
    rm_inference inf;
    rc = rm_inference_run(&inf, a.model_path, a.data_path, a.split, a.batch, 1);
    if (rc == 0) rc = write_predictions(&out, &a, &inf);
    if (rc != 0) rm_output_abort(&out);
    if (rc == 0)
        rm_log("%s: %lld predictions, accuracy %.4f", a.out_path, (long long)inf.count, inf.result.accuracy);
    rm_inference_free(&inf);
    return rc == 0 ? RM_EXIT_OK : cli_runtime_error();
}
