/* relmask eval: a model's (or a fusion's) metrics on a dataset split, the
 * text report and the JSON/CSV results file. */
#include "train/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/csv.h"
#include "core/error.h"
#include "core/json.h"
#include "core/output.h"
#include "train/metrics.h"
#include "train/train.h"

/* What the reports print: one model's inference, or a fusion. */
typedef struct {
    const rm_eval_config *cfg;
    const char *model_label;           /* the model path or the fusion's label */
    const char *net_label;
    int num_classes;
    char *const *class_names;
    const int64_t *confusion;
    double loss;
    const rm_metrics *met;
    const rm_fusion *fusion;           /* NULL: one model */
    const char *resize;                /* rm_inference's: "" unless --resize converted the images */
} eval_report;

void rm_eval_config_defaults(rm_eval_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->split = RM_SPLIT_TEST;
    cfg->batch = 256;
    cfg->report = stdout;
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

static void print_summary(const eval_report *r, FILE *out)
{
    const rm_fusion *f = r->fusion;
    if (f) {
        fprintf(out, "fusion:    %d models, weighted mean of their class probabilities\n", f->num_models);
        for (int m = 0; m < f->num_models; m++) {
            const rm_inference *inf = &f->members[m];
            fprintf(out, "  member %d: %s (%s), weight %.4f: accuracy %.4f (%lld correct), mean loss %.4f\n", m + 1,
                    inf->model_path, inf->net_name, f->weights[m], inf->result.accuracy,
                    (long long)diagonal(inf->result.confusion, f->num_classes), inf->result.loss);
        }
    } else {
        fprintf(out, "model:     %s (%s)\n", r->model_label, r->net_label);
    }
    fprintf(out, "data:      %s, %s split\n", r->cfg->data_path, rm_split_label(r->cfg->split));
    if (*r->resize) fprintf(out, "resize:    %s (--resize: converted as read)\n", r->resize);
    fprintf(out, "records:   %lld\n", (long long)r->met->count);
    fprintf(out, "accuracy:  %.4f (%lld of %lld correct)%s\n", r->met->accuracy, (long long)r->met->correct,
            (long long)r->met->count, f ? ", fused" : "");
    fprintf(out, "mean loss: %.4f (cross-entropy%s)\n", r->loss, f ? " of the fused probabilities" : "");
}

static void print_row(FILE *out, int width, const char *name, const rm_class_metrics *c)
{
    fprintf(out, "  %-*s %9.4f %9.4f %9.4f %9lld\n", width, name, c->precision, c->recall, c->f1,
            (long long)c->support);
}

static void print_class_table(const eval_report *r, FILE *out)
{
    int width = name_width(r, 9);
    fprintf(out, "\nper class:\n  %-*s %9s %9s %9s %9s\n", width, "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < r->num_classes; c++) print_row(out, width, r->class_names[c], &r->met->per_class[c]);
    print_row(out, width, "macro avg", &r->met->macro);
    int never = 0;
    for (int c = 0; c < r->num_classes; c++) never += r->met->per_class[c].predicted == 0;
    if (never) fprintf(out, "  (%d class%s never predicted: precision 0)\n", never, never == 1 ? "" : "es");
}

static void print_confusion(const eval_report *r, FILE *out)
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
    fprintf(out, "\nconfusion matrix (rows: true class, columns: predicted class):\n  %-*s", width, corner);
    for (int c = 0; c < k; c++) fprintf(out, " %*s", cell, r->class_names[c]);
    fprintf(out, "\n");
    for (int t = 0; t < k; t++) {
        fprintf(out, "  %-*s", width, r->class_names[t]);
        for (int p = 0; p < k; p++) fprintf(out, " %*lld", cell, (long long)cm[(size_t)t * k + p]);
        fprintf(out, "\n");
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
    rm_json_write_string(f, r->cfg->data_path);
    if (*r->resize) {
        fputs(",\n  \"resize\": ", f);
        rm_json_write_string(f, r->resize);
    }
    fprintf(f, ",\n  \"split\": \"%s\",\n  \"count\": %lld,\n  \"correct\": %lld,\n  \"accuracy\": ",
            rm_split_label(r->cfg->split), (long long)r->met->count, (long long)r->met->correct);
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
    csv_field(f, "", r->cfg->data_path);
    if (*r->resize) fprintf(f, " resize=%s", r->resize);
    fprintf(f, " split=%s\n# count=%lld correct=%lld accuracy=%.10g loss=%.10g\n", rm_split_label(r->cfg->split),
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

/* "a,b,c" from the fusion's paths, for a config without a label. */
static char *join_paths(const rm_eval_config *c)
{
    size_t len = 1;
    for (int i = 0; i < c->num_fuse; i++) len += strlen(c->fuse_paths[i]) + 1;
    char *s = rm_malloc(len, "the fusion's label");
    if (!s) return NULL;
    s[0] = 0;
    for (int i = 0; i < c->num_fuse; i++) {
        if (i) strcat(s, ",");
        strcat(s, c->fuse_paths[i]);
    }
    return s;
}

/* Runs the model (or the fusion) and fills the report. */
static int evaluate(const rm_eval_config *c, const char *fuse_label, rm_inference *inf, rm_fusion *fu,
                    rm_metrics *met, eval_report *r)
{
    memset(r, 0, sizeof *r);
    r->cfg = c;
    r->met = met;
    if (c->num_fuse) {
        RM_TRY(rm_fusion_run(fu, c->fuse_paths, c->weights, c->num_fuse, c->data_path, c->split, c->batch,
                             c->resize));
        const rm_model *first = &fu->members[0].model;
        r->model_label = fuse_label;
        r->net_label = "fusion";
        r->num_classes = fu->num_classes;
        r->class_names = first->class_names;
        r->confusion = fu->result.confusion;
        r->loss = fu->result.loss;
        r->fusion = fu;
        r->resize = fu->members[0].resize;
    } else {
        rm_inference_options opt = {.split = c->split, .batch = c->batch, .resize = c->resize};
        RM_TRY(rm_inference_run_with(inf, c->model_path, c->data_path, &opt));
        r->resize = inf->resize;
        r->model_label = c->model_path;
        r->net_label = inf->net_name;
        r->num_classes = inf->model.num_classes;
        r->class_names = inf->model.class_names;
        r->confusion = inf->result.confusion;
        r->loss = inf->result.loss;
    }
    return rm_metrics_compute(met, r->confusion, r->num_classes);
}

static int check_config(const rm_eval_config *c)
{
    if (!c->data_path) return rm_error("eval: no dataset given");
    if (!c->model_path == !c->num_fuse) return rm_error("eval: give either a model or the models to fuse");
    if (c->num_fuse && (c->num_fuse < 2 || c->num_fuse > RM_EVAL_MAX_FUSE || !c->fuse_paths))
        return rm_error("eval: %d models to fuse, expected 2..%d", c->num_fuse, RM_EVAL_MAX_FUSE);
    return 0;
}

int rm_eval(const rm_eval_config *c)
{
    RM_TRY(check_config(c));
    char *joined = NULL;
    const char *fuse_label = c->fuse_label;
    if (c->num_fuse && !fuse_label && !(fuse_label = joined = join_paths(c))) return -1;
    rm_output out = {.slot = -1};
    if (c->out_path && rm_output_begin(&out, c->out_path, c->force) != 0) {
        free(joined);
        return -1;
    }
    rm_inference inf;
    rm_fusion fu;
    memset(&inf, 0, sizeof inf);
    memset(&fu, 0, sizeof fu);
    rm_metrics met = {0};
    eval_report r;
    int rc = evaluate(c, fuse_label, &inf, &fu, &met, &r);
    if (rc == 0 && c->report) {
        print_summary(&r, c->report);
        if (!c->summary_only) {
            print_class_table(&r, c->report);
            print_confusion(&r, c->report);
        }
        fflush(c->report);
    }
    if (rc == 0 && c->out_path) rc = write_results(&out, &r);
    if (rc != 0 && c->out_path) rm_output_abort(&out);
    rm_metrics_free(&met);
    rm_inference_free(&inf);
    rm_fusion_free(&fu);
    free(joined);
    return rc;
}
