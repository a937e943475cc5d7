/* relmask eval --model M.h5 --data D.h5: accuracy, loss, per-class
 * precision/recall/F1 and the confusion matrix of a model on a split;
 * with --fuse A.h5,B.h5 the same for the mean of several models' class
 * probabilities (decision-level fusion), plus each member's accuracy. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "core/csv.h"
#include "core/error.h"
#include "core/json.h"
#include "train/metrics.h"
#include "core/output.h"
#include "train/train.h"

#define MAX_FUSE 64

static const char help[] =
    "usage: relmask eval --model MODEL.h5 --data D.h5 [options]\n"
    "       relmask eval --fuse A.h5,B.h5[,...] --data D.h5 [--weights WA,WB,...] [options]\n"
    "\n"
    "Evaluates a trained model on a dataset split: prints the accuracy, the mean\n"
    "cross-entropy loss and the record count, a per-class table (precision,\n"
    "recall, F1, support) with macro averages, and the confusion matrix (rows:\n"
    "true class, columns: predicted class). The dataset must have the model's\n"
    "input shape and the same classes in the same order.\n"
    "\n"
    "With --fuse the models' class probabilities (softmax, each model with its own\n"
    "input normalization) are averaged, weighted by --weights (default equal;\n"
    "normalized to sum 1), and the fused prediction is evaluated; each member's\n"
    "accuracy is reported too. The members must agree on input shape and classes.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE       model file (relmask train)\n"
    "      --fuse A,B[,...]   fuse these model files instead (comma-separated, 2..64)\n"
    "      --weights W,...    one non-negative weight per --fuse model\n"
    "  -d, --data FILE        dataset (relmask synth / ingest)\n"
    "  -s, --split NAME       test (default), val, train or all\n"
    "  -b, --batch N          records per forward pass (256)\n"
    "  -o, --out FILE         also write the results: JSON if FILE ends in .json,\n"
    "                         else CSV (docs/formats.md)\n"
    "  -f, --force            overwrite an existing --out file\n"
    "  -t, --threads N        threads (0 = all cores)\n"
    "  -q, --quiet            print only the accuracy line (the full results go\n"
    "                         to --out)\n"
    "\n"
    "Precision of a class that was never predicted is 0, recall of a class with\n"
    "no records is 0; macro averages are over the classes that occur as a true\n"
    "or predicted label. Exit codes: 0 ok, 1 error, 2 usage error.\n";

typedef struct {
    const char *model_path, *data_path, *out_path;
    const char *fuse;                  /* --fuse as given */
    char *fuse_buf;                    /* its copy, split at the commas */
    const char *fuse_paths[MAX_FUSE];
    int num_fuse;
    double weights[MAX_FUSE];
    int num_weights;
    int split, batch, force, quiet;
} eval_args;

/* What the reports print: one model's inference, or a fusion. */
typedef struct {
    const eval_args *args;
    const char *model_label;           /* the --model or --fuse argument */
    const char *net_label;
    int num_classes;
    char *const *class_names;
    const int64_t *confusion;
    double loss;
    const rm_metrics *met;
    const rm_fusion *fusion;           /* NULL: one model */
} eval_report;

/* "a,b,c" into out[]; 0, or a usage error naming the option. */
static int split_list(char *text, const char *opt, const char **out, int *count)
{
    *count = 0;
    for (char *p = text;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (!*p) return cli_usage_error("eval", "%s: empty entry in the list", opt);
        if (*count == MAX_FUSE) return cli_usage_error("eval", "%s: more than %d entries", opt, MAX_FUSE);
        out[(*count)++] = p;
        if (!comma) return 0;
        p = comma + 1;
    }
}

static int parse_weights(const char *text, eval_args *a)
{
    char buf[4096];
    if (strlen(text) >= sizeof buf) return cli_usage_error("eval", "--weights: list too long");
    snprintf(buf, sizeof buf, "%s", text);
    const char *items[MAX_FUSE];
    int n;
    if (split_list(buf, "--weights", items, &n) != 0) return -1;
    for (int i = 0; i < n; i++)
        if (cli_parse_double("eval", "--weights", items[i], 0, 1e12, &a->weights[i])) return -1;
    a->num_weights = n;
    return 0;
}

static int parse(int argc, char **argv, eval_args *a, int *done)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},        {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},  {"split", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'}, {"out", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},       {"threads", required_argument, NULL, 't'},
        {"fuse", required_argument, NULL, 'F'},  {"weights", required_argument, NULL, 'W'},
        {"quiet", no_argument, NULL, 'q'},       {NULL, 0, NULL, 0},
    };
    int ch;
    long v;
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hm:d:s:b:o:ft:q", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'm': a->model_path = optarg; break;
        case 'd': a->data_path = optarg; break;
        case 's':
            if (rm_split_parse(optarg, &a->split) != 0) return cli_usage_error("eval", "--split: %s", rm_error_message());
            break;
        case 'b':
            if (cli_parse_int("eval", "--batch", optarg, 1, 65536, &v)) return RM_EXIT_USAGE;
            a->batch = (int)v;
            break;
        case 'o': a->out_path = optarg; break;
        case 'f': a->force = 1; break;
        case 'q': a->quiet = 1; break;
        case 'F': a->fuse = optarg; break;
        case 'W':
            if (parse_weights(optarg, a) != 0) return RM_EXIT_USAGE;
            break;
        case 't':
            if (cli_parse_int("eval", "--threads", optarg, 0, 4096, &v)) return RM_EXIT_USAGE;
            cli_set_threads(v);
            break;
        default: return cli_bad_option("eval", ch, argv);
        }
    }
    if (optind < argc) return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (a->fuse && a->model_path) return cli_usage_error("eval", "--model and --fuse exclude each other");
    if (!a->model_path && !a->fuse) return cli_usage_error("eval", "--model FILE is required");
    if (!a->data_path) return cli_usage_error("eval", "--data FILE is required");
    if (a->num_weights && !a->fuse) return cli_usage_error("eval", "--weights needs --fuse");
    if (a->fuse) {
        if (!(a->fuse_buf = rm_strdup(a->fuse))) return cli_runtime_error();
        if (split_list(a->fuse_buf, "--fuse", a->fuse_paths, &a->num_fuse) != 0) return RM_EXIT_USAGE;
        if (a->num_fuse < 2) return cli_usage_error("eval", "--fuse needs at least two model files, comma-separated");
        if (a->num_weights && a->num_weights != a->num_fuse)
            return cli_usage_error("eval", "--weights has %d values for %d models", a->num_weights, a->num_fuse);
        double sum = 0;
        for (int i = 0; i < a->num_weights; i++) sum += a->weights[i];
        if (a->num_weights && !(sum > 0)) return cli_usage_error("eval", "--weights must not all be 0");
    }
    return RM_EXIT_OK;
}

/* --- the text report ------------------------------------------------------- */

static int name_width(const eval_report *r, int min)
{
    int w = min;
    for (int c = 0; c < r->num_classes; c++)
        if ((int)strlen(r->class_names[c]) > w) w = (int)strlen(r->class_names[c]);
    return w;
}

static int64_t diagonal(const int64_t *confusion, int k)
{
    int64_t sum = 0;
    for (int c = 0; c < k; c++) sum += confusion[(size_t)c * k + c];
    return sum;
}

static void print_summary(const eval_report *r)
{
    const rm_fusion *f = r->fusion;
    if (f) {
        printf("fusion:    %d models, weighted mean of their class probabilities\n", f->num_models);
        for (int m = 0; m < f->num_models; m++) {
            const rm_inference *inf = &f->members[m];
            printf("  member %d: %s (%s), weight %.4f: accuracy %.4f (%lld correct), mean loss %.4f\n", m + 1,
                   inf->model_path, inf->net_name, f->weights[m], inf->result.accuracy,
                   (long long)diagonal(inf->result.confusion, f->num_classes), inf->result.loss);
        }
    } else {
        printf("model:     %s (%s)\n", r->model_label, r->net_label);
    }
    printf("data:      %s, %s split\n", r->args->data_path, rm_split_label(r->args->split));
    printf("records:   %lld\n", (long long)r->met->count);
    printf("accuracy:  %.4f (%lld of %lld correct)%s\n", r->met->accuracy, (long long)r->met->correct,
           (long long)r->met->count, f ? ", fused" : "");
    printf("mean loss: %.4f (cross-entropy%s)\n", r->loss, f ? " of the fused probabilities" : "");
}

static void print_row(int width, const char *name, const rm_class_metrics *c)
{
    printf("  %-*s %9.4f %9.4f %9.4f %9lld\n", width, name, c->precision, c->recall, c->f1, (long long)c->support);
}

static void print_class_table(const eval_report *r)
{
    int width = name_width(r, 9);
    printf("\nper class:\n  %-*s %9s %9s %9s %9s\n", width, "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < r->num_classes; c++) print_row(width, r->class_names[c], &r->met->per_class[c]);
    print_row(width, "macro avg", &r->met->macro);
    int never = 0;
    for (int c = 0; c < r->num_classes; c++) never += r->met->per_class[c].predicted == 0;
    if (never) printf("  (%d class%s never predicted: precision 0)\n", never, never == 1 ? "" : "es");
}

static void print_confusion(const eval_report *r)
{
    const int64_t *cm = r->confusion;
    static const char corner[] = "true \\ pred";
    int k = r->num_classes, width = name_width(r, (int)strlen(corner)), cell = 5;
    char digits[32];
    for (int i = 0; i < k * k; i++) {
        int n = snprintf(digits, sizeof digits, "%lld", (long long)cm[i]);
        if (n > cell) cell = n;
    }
    for (int c = 0; c < k; c++)
        if ((int)strlen(r->class_names[c]) > cell) cell = (int)strlen(r->class_names[c]);
    printf("\nconfusion matrix (rows: true class, columns: predicted class):\n  %-*s", width, corner);
    for (int c = 0; c < k; c++) printf(" %*s", cell, r->class_names[c]);
    printf("\n");
    for (int t = 0; t < k; t++) {
        printf("  %-*s", width, r->class_names[t]);
        for (int p = 0; p < k; p++) printf(" %*lld", cell, (long long)cm[(size_t)t * k + p]);
        printf("\n");
    }
}

/* --- JSON and CSV ----------------------------------------------------------- */


static void json_metrics(FILE *f, const char *name, const rm_class_metrics *c)
{
    fputs("{", f);
    if (name) {
        fputs("\"name\": ", f);
        rm_json_write_string(f, name);
        fputs(", ", f);
    }
    fputs("\"precision\": ", f);
    rm_json_write_number(f, c->precision);
    fputs(", \"recall\": ", f);
    rm_json_write_number(f, c->recall);
    fputs(", \"f1\": ", f);
    rm_json_write_number(f, c->f1);
    fprintf(f, ", \"support\": %lld, \"predicted\": %lld}", (long long)c->support, (long long)c->predicted);
}

static void json_members(FILE *f, const rm_fusion *fu)
{
    fputs(",\n  \"fusion\": \"mean_probability\",\n  \"members\": [\n", f);
    for (int m = 0; m < fu->num_models; m++) {
        const rm_inference *inf = &fu->members[m];
        fputs("    {\"model\": ", f);
        rm_json_write_string(f, inf->model_path);
        fputs(", \"net\": ", f);
        rm_json_write_string(f, inf->net_name);
        fputs(", \"weight\": ", f);
        rm_json_write_number(f, fu->weights[m]);
        fprintf(f, ", \"count\": %lld, \"correct\": %lld, \"accuracy\": ", (long long)inf->result.count,
                (long long)diagonal(inf->result.confusion, fu->num_classes));
        rm_json_write_number(f, inf->result.accuracy);
        fputs(", \"loss\": ", f);
        rm_json_write_number(f, inf->result.loss);
        fputs(m + 1 < fu->num_models ? "},\n" : "}\n", f);
    }
    fputs("  ]", f);
}

static void write_json(FILE *f, const eval_report *r)
{
    int k = r->num_classes;
    fputs("{\n  \"model\": ", f);
    rm_json_write_string(f, r->model_label);
    fputs(",\n  \"data\": ", f);
    rm_json_write_string(f, r->args->data_path);
    fprintf(f, ",\n  \"split\": \"%s\",\n  \"count\": %lld,\n  \"correct\": %lld,\n  \"accuracy\": ",
            rm_split_label(r->args->split), (long long)r->met->count, (long long)r->met->correct);
    rm_json_write_number(f, r->met->accuracy);
    fputs(",\n  \"loss\": ", f);
    rm_json_write_number(f, r->loss);
    if (r->fusion) json_members(f, r->fusion);
    fputs(",\n  \"classes\": [", f);
    for (int c = 0; c < k; c++) {
        if (c) fputs(", ", f);
        rm_json_write_string(f, r->class_names[c]);
    }
    fputs("],\n  \"per_class\": [\n", f);
    for (int c = 0; c < k; c++) {
        fputs("    ", f);
        json_metrics(f, r->class_names[c], &r->met->per_class[c]);
        fputs(c + 1 < k ? ",\n" : "\n", f);
    }
    fputs("  ],\n  \"macro\": ", f);
    json_metrics(f, NULL, &r->met->macro);
    fputs(",\n  \"confusion\": [\n", f);
    for (int t = 0; t < k; t++) {
        fputs("    [", f);
        for (int p = 0; p < k; p++) fprintf(f, "%s%lld", p ? ", " : "", (long long)r->confusion[(size_t)t * k + p]);
        fputs(t + 1 < k ? "],\n" : "]\n", f);
    }
    fputs("  ]\n}\n", f);
}

/* prefix and s as one field (at most 1023 bytes). */
static void csv_field(FILE *f, const char *prefix, const char *s)
{
    char joined[1024];
    snprintf(joined, sizeof joined, "%s%s", prefix, s);
    rm_csv_write_field(f, joined);
}

static void csv_row(FILE *f, const char *name, const rm_class_metrics *c, const int64_t *confusion_row, int k)
{
    csv_field(f, "", name);
    fprintf(f, ",%.10g,%.10g,%.10g,%lld,%lld", c->precision, c->recall, c->f1, (long long)c->support,
            (long long)c->predicted);
    for (int p = 0; p < k; p++) {
        if (confusion_row) fprintf(f, ",%lld", (long long)confusion_row[p]);
        else fputc(',', f);
    }
    fputc('\n', f);
}

static void write_csv(FILE *f, const eval_report *r)
{
    int k = r->num_classes;
    fputs(r->fusion ? "# relmask eval: fuse=" : "# relmask eval: model=", f);
    csv_field(f, "", r->model_label);
    fputs(" data=", f);
    csv_field(f, "", r->args->data_path);
    fprintf(f, " split=%s\n# count=%lld correct=%lld accuracy=%.10g loss=%.10g\n", rm_split_label(r->args->split),
            (long long)r->met->count, (long long)r->met->correct, r->met->accuracy, r->loss);
    for (int m = 0; r->fusion && m < r->fusion->num_models; m++) {
        const rm_inference *inf = &r->fusion->members[m];
        fputs("# member model=", f);
        csv_field(f, "", inf->model_path);
        fprintf(f, " weight=%.10g count=%lld correct=%lld accuracy=%.10g loss=%.10g\n", r->fusion->weights[m],
                (long long)inf->result.count, (long long)diagonal(inf->result.confusion, k), inf->result.accuracy,
                inf->result.loss);
    }
    fputs("class,precision,recall,f1,support,predicted", f);
    for (int c = 0; c < k; c++) {
        fputc(',', f);
        csv_field(f, "pred_", r->class_names[c]);
    }
    fputc('\n', f);
    for (int c = 0; c < k; c++)
        csv_row(f, r->class_names[c], &r->met->per_class[c], r->confusion + (size_t)c * k, k);
    csv_row(f, "macro_avg", &r->met->macro, NULL, k);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

static int write_results(rm_output *out, const eval_report *r)
{
    FILE *f = fopen(out->tmp_path, "w");
    if (!f) return rm_error("%s: cannot create %s", out->final_path, out->tmp_path);
    if (has_suffix(out->final_path, ".json")) write_json(f, r);
    else write_csv(f, r);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return rm_error("%s: writing failed (disk full?)", out->final_path);
    return rm_output_commit(out);
}

/* Runs the model (or the fusion) and fills the report. */
static int evaluate(const eval_args *a, rm_inference *inf, rm_fusion *fu, rm_metrics *met, eval_report *r)
{
    memset(r, 0, sizeof *r);
    r->args = a;
    r->met = met;
    if (a->fuse) {
        RM_TRY(rm_fusion_run(fu, a->fuse_paths, a->num_weights ? a->weights : NULL, a->num_fuse, a->data_path,
                             a->split, a->batch));
        const rm_model *first = &fu->members[0].model;
        r->model_label = a->fuse;
        r->net_label = "fusion";
        r->num_classes = fu->num_classes;
        r->class_names = first->class_names;
        r->confusion = fu->result.confusion;
        r->loss = fu->result.loss;
        r->fusion = fu;
    } else {
        RM_TRY(rm_inference_run(inf, a->model_path, a->data_path, a->split, a->batch, 0));
        r->model_label = a->model_path;
        r->net_label = inf->net_name;
        r->num_classes = inf->model.num_classes;
        r->class_names = inf->model.class_names;
        r->confusion = inf->result.confusion;
        r->loss = inf->result.loss;
    }
    return rm_metrics_compute(met, r->confusion, r->num_classes);
}

int cmd_eval(int argc, char **argv)
{
    eval_args a = {.split = RM_SPLIT_TEST, .batch = 256};
    int done, rc = parse(argc, argv, &a, &done);
    if (rc != RM_EXIT_OK || done) {
        free(a.fuse_buf);
        return rc;
    }
    rm_output out = {.slot = -1};
    if (a.out_path && rm_output_begin(&out, a.out_path, a.force) != 0) {
        free(a.fuse_buf);
        return cli_runtime_error();
    }
    rm_inference inf;
    rm_fusion fu;
    memset(&inf, 0, sizeof inf);
    memset(&fu, 0, sizeof fu);
    rm_metrics met = {0};
    eval_report r;
    rc = evaluate(&a, &inf, &fu, &met, &r);
    if (rc == 0) {
        print_summary(&r);
        if (!a.quiet) {
            print_class_table(&r);
            print_confusion(&r);
        }
        fflush(stdout);
    }
    if (rc == 0 && a.out_path) rc = write_results(&out, &r);
    if (rc != 0 && a.out_path) rm_output_abort(&out);
    rm_metrics_free(&met);
    rm_inference_free(&inf);
    rm_fusion_free(&fu);
    free(a.fuse_buf);
    return rc == 0 ? RM_EXIT_OK : cli_runtime_error();
}
