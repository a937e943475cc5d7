/* relmask relevance-eval: the quality metrics of a relevance file as JSON
 * or CSV, and their summary on the log. */
#include "relevance/relevance_eval.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/csv.h"
#include "core/error.h"
#include "core/json.h"
#include "core/output.h"

void rm_relevance_eval_config_defaults(rm_relevance_eval_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    rm_quality_config_defaults(&cfg->quality);
    cfg->out = stdout;
    cfg->format = RM_RELEVANCE_EVAL_AUTO;
}

/* --- JSON ------------------------------------------------------------------*/

static void json_stat(FILE *f, const rm_running *s)
{
    fputs("{\"mean\": ", f);
    rm_json_write_number(f, rm_running_mean(s));
    fputs(", \"sem\": ", f);
    rm_json_write_number(f, rm_running_sem(s));
    fprintf(f, ", \"n\": %lld}", (long long)s->n);
}

/* a / b, NaN unless b > 0 (a ratio to a non-positive reference means nothing). */
static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

static void json_aopc(FILE *f, const rm_aopc_stats *a, const char *indent)
{
    fprintf(f, "{\n%s  \"score\": ", indent);
    json_stat(f, &a->score);
    fprintf(f, ",\n%s  \"aopc_relevance\": ", indent);
    json_stat(f, &a->aopc_relevance);
    fprintf(f, ",\n%s  \"aopc_random\": ", indent);
    json_stat(f, &a->aopc_random);
    fprintf(f, ",\n%s  \"difference\": ", indent);
    json_stat(f, &a->difference);
    fprintf(f, ",\n%s  \"ratio\": ", indent);
    rm_json_write_number(f, ratio(rm_running_mean(&a->aopc_relevance), rm_running_mean(&a->aopc_random)));
    fprintf(f, "\n%s}", indent);
}

static void json_curve(FILE *f, const rm_running *c, int n, int want_sem)
{
    fputc('[', f);
    for (int k = 0; k < n; k++) {
        if (k) fputs(", ", f);
        rm_json_write_number(f, want_sem ? rm_running_sem(&c[k]) : rm_running_mean(&c[k]));
    }
    fputc(']', f);
}

static void json_perturbation(FILE *f, const rm_quality_result *r, int steps)
{
    fprintf(f, "{\n    \"regions\": %d,\n    \"regions_perturbed\": %d,\n    \"passes_per_image\": %d,\n"
               "    \"images_per_batch\": %d",
            r->tiles, r->tiles_perturbed, r->passes_per_image, r->images_per_batch);
    for (int q = 0; q < RM_SCORE_KINDS; q++) {
        fprintf(f, ",\n    \"%s\": ", rm_score_kind_names[q]);
        json_aopc(f, &r->aopc[q], "    ");
    }
    fputs(",\n    \"curves\": {\n      \"step\": [", f);
    for (int k = 0; k <= steps; k++) fprintf(f, "%s%d", k ? ", " : "", k);
    fputs("],\n      \"regions\": [", f);
    for (int k = 0; k <= steps; k++) fprintf(f, "%s%d", k ? ", " : "", r->regions_at[k]);
    fputs("],\n      \"fraction\": [", f);
    for (int k = 0; k <= steps; k++) {
        if (k) fputs(", ", f);
        rm_json_write_number(f, (double)r->regions_at[k] / r->tiles);
    }
    fputc(']', f);
    for (int q = 0; q < RM_SCORE_KINDS; q++) {
        fprintf(f, ",\n      \"%s\": {\n        \"relevance\": ", rm_score_kind_names[q]);
        json_curve(f, r->curve_relevance[q], steps + 1, 0);
        fputs(",\n        \"relevance_sem\": ", f);
        json_curve(f, r->curve_relevance[q], steps + 1, 1);
        fputs(",\n        \"random\": ", f);
        json_curve(f, r->curve_random[q], steps + 1, 0);
        fputs(",\n        \"random_sem\": ", f);
        json_curve(f, r->curve_random[q], steps + 1, 1);
        fputs("\n      }", f);
    }
    fputs("\n    },\n    \"per_class\": [", f);
    for (int k = 0; k < r->num_classes; k++) {
        fputs(k ? ",\n      {\"name\": " : "\n      {\"name\": ", f);
        rm_json_write_string(f, r->class_names[k]);
        fprintf(f, ", \"count\": %lld", (long long)r->class_count[k]);
        for (int q = 0; q < RM_SCORE_KINDS; q++) {
            fprintf(f, ",\n       \"%s\": ", rm_score_kind_names[q]);
            json_aopc(f, &r->class_aopc[(size_t)k * RM_SCORE_KINDS + q], "       ");
        }
        fputc('}', f);
    }
    fputs("\n    ]\n  }", f);
}

static void json_region_kind(FILE *f, const rm_region_stats *s, int absolute)
{
    const rm_running *mass = absolute ? &s->mass_abs : &s->mass_pos, *hit = absolute ? &s->hit_abs : &s->hit_pos;
    fputs("{\"mass\": ", f);
    json_stat(f, mass);
    fputs(", \"mass_over_chance\": ", f);
    rm_json_write_number(f, ratio(rm_running_mean(mass), rm_running_mean(&s->area)));
    fputs(", \"pointing\": ", f);
    json_stat(f, hit);
    fputs(", \"pointing_over_chance\": ", f);
    rm_json_write_number(f, ratio(rm_running_mean(hit), rm_running_mean(&s->pointing_chance)));
    fputc('}', f);
}

static void json_region_stats(FILE *f, const rm_region_stats *s, const char *indent)
{
    fprintf(f, "\"count\": %lld,\n%s\"area\": ", (long long)s->count, indent);
    json_stat(f, &s->area);
    fprintf(f, ",\n%s\"pointing_chance\": ", indent);
    json_stat(f, &s->pointing_chance);
    fprintf(f, ",\n%s\"positive\": ", indent);
    json_region_kind(f, s, 0);
    fprintf(f, ",\n%s\"absolute\": ", indent);
    json_region_kind(f, s, 1);
}

static void json_regions(FILE *f, const rm_quality_result *r, int tolerance)
{
    fprintf(f, "{\n    \"pointing_tolerance\": %d,\n    ", tolerance);
    json_region_stats(f, &r->regions, "    ");
    fputs(",\n    \"per_class\": [", f);
    for (int k = 0; k < r->num_classes; k++) {
        fputs(k ? ",\n      {\"name\": " : "\n      {\"name\": ", f);
        rm_json_write_string(f, r->class_names[k]);
        fputs(", ", f);
        json_region_stats(f, &r->class_regions[k], "       ");
        fputc('}', f);
    }
    fputs("\n    ]\n  }", f);
}

/* --- records by name: extremes (JSON) and the per-record CSV --------------*/

enum { EXTREMES = 5 };   /* records listed at each end */

typedef double (*record_value)(const rm_quality_record *rec);

static double logit_difference(const rm_quality_record *rec)
{
    return rec->aopc_relevance[RM_SCORE_LOGIT] - rec->aopc_random[RM_SCORE_LOGIT];
}

static double positive_mass(const rm_quality_record *rec) { return rec->region.mass_pos; }

/* The (at most EXTREMES) entries of lowest or highest value, lowest or
 * highest first; NaN values left out, ties to the earlier entry. */
static int pick_extremes(const rm_quality_result *r, record_value value, int highest, int64_t out[EXTREMES])
{
    int n = 0;
    for (; n < EXTREMES; n++) {
        int64_t pick = -1;
        double best = 0;
        for (int64_t e = 0; e < r->evaluated; e++) {
            double v = value(&r->records[e]);
            if (isnan(v) || (pick >= 0 && !(highest ? v > best : v < best))) continue;
            int taken = 0;
            for (int i = 0; i < n && !taken; i++) taken = out[i] == e;
            if (!taken) pick = e, best = v;
        }
        if (pick < 0) break;
        out[n] = pick;
    }
    return n;
}

static const char *class_name_or_null(const rm_quality_result *r, int k)
{
    return k >= 0 && k < r->num_classes ? r->class_names[k] : NULL;
}

/* {"entry": E, "index": I, "source": "...", "label": "...", "explained": "...", "value": V};
 * "source" only when the dataset has /source. */
static void json_record(FILE *f, const rm_quality_result *r, const rm_quality_record *rec, double value)
{
    fprintf(f, "{\"entry\": %lld, \"index\": %lld", (long long)rec->entry, (long long)rec->index);
    if (r->has_source) {
        fputs(", \"source\": ", f);
        rm_json_write_string(f, rec->source);
    }
    fputs(", \"label\": ", f);
    rm_json_write_string(f, class_name_or_null(r, rec->label));
    fputs(", \"explained\": ", f);
    rm_json_write_string(f, class_name_or_null(r, rec->explained));
    fputs(", \"value\": ", f);
    rm_json_write_number(f, value);
    fputc('}', f);
}

static void json_extreme_list(FILE *f, const rm_quality_result *r, const char *name, record_value value)
{
    fprintf(f, "\"%s\": {", name);
    for (int highest = 0; highest < 2; highest++) {
        int64_t pick[EXTREMES];
        int n = pick_extremes(r, value, highest, pick);
        fprintf(f, "%s\n      \"%s\": [", highest ? "," : "", highest ? "highest" : "lowest");
        for (int i = 0; i < n; i++) {
            fputs(i ? ",\n        " : "\n        ", f);
            json_record(f, r, &r->records[pick[i]], value(&r->records[pick[i]]));
        }
        fputs(n ? "\n      ]" : "]", f);
    }
    fputs("\n    }", f);
}

static void json_extremes(FILE *f, const rm_quality_result *r)
{
    fputs("{", f);
    if (r->has_perturbation) {
        fputs("\n    ", f);
        json_extreme_list(f, r, "logit_difference", logit_difference);
    }
    if (r->has_regions) {
        fputs(r->has_perturbation ? ",\n    " : "\n    ", f);
        json_extreme_list(f, r, "positive_mass", positive_mass);
    }
    fputs("\n  }", f);
}

static void write_json(FILE *f, const rm_quality_config *c, const rm_quality_result *r)
{
    fputs("{\n  \"command\": \"relevance-eval\",\n  \"relevance\": ", f);
    rm_json_write_string(f, c->relevance_path);
    fputs(",\n  \"data\": ", f);
    rm_json_write_string(f, c->data_path);
    fputs(",\n  \"model\": ", f);
    rm_json_write_string(f, c->model_path);
    fputs(",\n  \"relevance_method\": ", f);
    rm_json_write_string(f, r->relevance_method);
    fputs(",\n  \"relevance_parameters\": ", f);
    rm_json_write_string(f, r->relevance_parameters);
    fputs(",\n  \"relevance_model\": ", f);
    rm_json_write_string(f, r->relevance_model);
    fprintf(f, ",\n  \"counts\": {\"relevance_records\": %lld, \"dataset_records\": %lld, \"evaluated\": %lld, "
               "\"explained_by_model\": %lld},\n",
            (long long)r->relevance_count, (long long)r->dataset_count, (long long)r->evaluated,
            (long long)r->explained_by_model);
    fprintf(f, "  \"image\": {\"channels\": %d, \"height\": %d, \"width\": %d},\n  \"classes\": [", r->channels,
            r->height, r->width);
    for (int k = 0; k < r->num_classes; k++) {
        if (k) fputs(", ", f);
        rm_json_write_string(f, r->class_names[k]);
    }
    fprintf(f, "],\n  \"parameters\": {\"steps\": %d, \"region\": %d, \"fraction\": ", c->steps, c->region);
    rm_json_write_number(f, c->fraction);
    fprintf(f, ", \"baseline\": \"%s\", \"baseline_pixel\": ", rm_baseline_names[c->baseline]);
    if (r->has_perturbation && c->baseline == RM_BASELINE_MEAN) {
        fputc('[', f);
        for (int ch = 0; ch < r->channels; ch++) {
            if (ch) fputs(", ", f);
            rm_json_write_number(f, r->baseline_pixel[ch]);
        }
        fputc(']', f);
    }
    else fputs("null", f);
    fputs(", \"blur_sigma\": ", f);
    rm_json_write_number(f, c->blur_sigma);
    fprintf(f, ", \"random_orders\": %d, \"seed\": %llu, \"max_images\": %lld, \"pointing_tolerance\": %d, "
               "\"batch\": %d},\n",
            c->random_orders, (unsigned long long)c->seed, (long long)c->max_images, c->pointing_tolerance, c->batch);
    if (*r->resize) {   /* the model's input from the data's images, only when they were converted */
        fputs("  \"resize\": ", f);
        rm_json_write_string(f, r->resize);
        fputs(",\n", f);
    }
    fputs("  \"notes\": [", f);
    for (int i = 0; i < r->num_notes; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        rm_json_write_string(f, r->notes[i]);
    }
    fputs(r->num_notes ? "\n  ],\n  \"perturbation\": " : "],\n  \"perturbation\": ", f);
    if (r->has_perturbation) json_perturbation(f, r, c->steps);
    else fputs("null", f);
    fputs(",\n  \"regions\": ", f);
    if (r->has_regions) json_regions(f, r, c->pointing_tolerance);
    else fputs("null", f);
    fputs(",\n  \"extremes\": ", f);
    json_extremes(f, r);
    fputs(",\n  \"timing\": {\"seconds\": ", f);
    rm_json_write_number(f, r->seconds);
    fputs(", \"images_per_second\": ", f);
    rm_json_write_number(f, r->seconds > 0 ? (double)r->evaluated / r->seconds : NAN);
    fprintf(f, ", \"threads\": %d}\n}\n", omp_get_max_threads());
}

/* --- CSV: one row per metric ------------------------------------------------*/

static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.10g", v);
}

/* metric,class,step,fraction,value,sem,n */
static void csv_row(FILE *f, const char *metric, const char *cls, int step, double fraction, double value,
                    double sem, int64_t n)
{
    fputs(metric, f);
    fputc(',', f);
    rm_csv_write_field(f, cls);
    if (step >= 0) fprintf(f, ",%d", step);
    else fputc(',', f);
    csv_num(f, step >= 0 ? fraction : NAN);
    csv_num(f, value);
    csv_num(f, sem);
    if (n >= 0) fprintf(f, ",%lld\n", (long long)n);
    else fputs(",\n", f);
}

static void csv_stat(FILE *f, const char *metric, const char *cls, const rm_running *s)
{
    csv_row(f, metric, cls, -1, 0, rm_running_mean(s), rm_running_sem(s), s->n);
}

static void csv_aopc(FILE *f, const char *kind, const char *cls, const rm_aopc_stats *a)
{
    char m[96];
    static const char *const names[] = {"score", "aopc_relevance", "aopc_random", "difference"};
    const rm_running *stats[] = {&a->score, &a->aopc_relevance, &a->aopc_random, &a->difference};
    for (int i = 0; i < 4; i++) {
        snprintf(m, sizeof m, "perturbation.%s.%s", kind, names[i]);
        csv_stat(f, m, cls, stats[i]);
    }
    snprintf(m, sizeof m, "perturbation.%s.ratio", kind);
    csv_row(f, m, cls, -1, 0, ratio(rm_running_mean(&a->aopc_relevance), rm_running_mean(&a->aopc_random)), NAN, -1);
}

static void csv_regions(FILE *f, const char *cls, const rm_region_stats *s)
{
    csv_stat(f, "regions.area", cls, &s->area);
    csv_stat(f, "regions.pointing_chance", cls, &s->pointing_chance);
    for (int absolute = 0; absolute < 2; absolute++) {
        const char *kind = absolute ? "absolute" : "positive";
        const rm_running *mass = absolute ? &s->mass_abs : &s->mass_pos, *hit = absolute ? &s->hit_abs : &s->hit_pos;
        char m[96];
        snprintf(m, sizeof m, "regions.%s.mass", kind);
        csv_stat(f, m, cls, mass);
        snprintf(m, sizeof m, "regions.%s.mass_over_chance", kind);
        csv_row(f, m, cls, -1, 0, ratio(rm_running_mean(mass), rm_running_mean(&s->area)), NAN, -1);
        snprintf(m, sizeof m, "regions.%s.pointing", kind);
        csv_stat(f, m, cls, hit);
        snprintf(m, sizeof m, "regions.%s.pointing_over_chance", kind);
        csv_row(f, m, cls, -1, 0, ratio(rm_running_mean(hit), rm_running_mean(&s->pointing_chance)), NAN, -1);
    }
}

static void write_csv(FILE *f, const rm_quality_config *c, const rm_quality_result *r)
{
    fprintf(f, "# relmask relevance-eval: relevance=%s data=%s model=%s\n", c->relevance_path, c->data_path,
            c->model_path ? c->model_path : "none");
    fprintf(f, "# steps=%d region=%d fraction=%g baseline=%s blur_sigma=%g random_orders=%d seed=%llu "
               "max_images=%lld pointing_tolerance=%d\n",
            c->steps, c->region, c->fraction, rm_baseline_names[c->baseline], c->blur_sigma, c->random_orders,
            (unsigned long long)c->seed, (long long)c->max_images, c->pointing_tolerance);
    if (*r->resize) fprintf(f, "# resize=%s\n", r->resize);
    fprintf(f, "# relevance_records=%lld dataset_records=%lld evaluated=%lld explained_by_model=%lld\n",
            (long long)r->relevance_count, (long long)r->dataset_count, (long long)r->evaluated,
            (long long)r->explained_by_model);
    for (int i = 0; i < r->num_notes; i++) fprintf(f, "# note: %s\n", r->notes[i]);
    fputs("metric,class,step,fraction,value,sem,n\n", f);
    if (r->has_perturbation) {
        for (int q = 0; q < RM_SCORE_KINDS; q++) csv_aopc(f, rm_score_kind_names[q], "all", &r->aopc[q]);
        for (int q = 0; q < RM_SCORE_KINDS; q++)
            for (int o = 0; o < 2; o++) {
                char m[96];
                snprintf(m, sizeof m, "perturbation.%s.curve_%s", rm_score_kind_names[q], o ? "random" : "relevance");
                const rm_running *curve = o ? r->curve_random[q] : r->curve_relevance[q];
                for (int k = 0; k <= c->steps; k++)
                    csv_row(f, m, "all", k, (double)r->regions_at[k] / r->tiles, rm_running_mean(&curve[k]),
                            rm_running_sem(&curve[k]), curve[k].n);
            }
        for (int k = 0; k < r->num_classes; k++)
            for (int q = 0; q < RM_SCORE_KINDS; q++)
                csv_aopc(f, rm_score_kind_names[q], r->class_names[k], &r->class_aopc[(size_t)k * RM_SCORE_KINDS + q]);
    }
    if (r->has_regions) {
        csv_regions(f, "all", &r->regions);
        for (int k = 0; k < r->num_classes; k++) csv_regions(f, r->class_names[k], &r->class_regions[k]);
    }
}

/* entry,index,source,label,explained, then per score kind (logit,
 * probability) score, aopc_relevance, aopc_random, difference, then the
 * region columns; a metric not computed is an empty field. */
static void write_records_csv(FILE *f, const rm_quality_config *c, const rm_quality_result *r)
{
    fprintf(f, "# relmask relevance-eval records: relevance=%s data=%s model=%s\n", c->relevance_path, c->data_path,
            c->model_path ? c->model_path : "none");
    fputs("entry,index,source,label,explained", f);
    for (int q = 0; q < RM_SCORE_KINDS; q++)
        fprintf(f, ",%s_score,%s_aopc_relevance,%s_aopc_random,%s_difference", rm_score_kind_names[q],
                rm_score_kind_names[q], rm_score_kind_names[q], rm_score_kind_names[q]);
    fputs(",region_area,pointing_chance,positive_mass,absolute_mass,positive_pointing,absolute_pointing\n", f);
    for (int64_t e = 0; e < r->evaluated; e++) {
        const rm_quality_record *rec = &r->records[e];
        const char *label = class_name_or_null(r, rec->label), *explained = class_name_or_null(r, rec->explained);
        fprintf(f, "%lld,%lld,", (long long)rec->entry, (long long)rec->index);
        rm_csv_write_field(f, rec->source ? rec->source : "");
        fputc(',', f);
        rm_csv_write_field(f, label ? label : "");
        fputc(',', f);
        rm_csv_write_field(f, explained ? explained : "");
        for (int q = 0; q < RM_SCORE_KINDS; q++) {
            csv_num(f, rec->score[q]);
            csv_num(f, rec->aopc_relevance[q]);
            csv_num(f, rec->aopc_random[q]);
            csv_num(f, rec->aopc_relevance[q] - rec->aopc_random[q]);
        }
        const rm_region_score *g = &rec->region;
        csv_num(f, g->area);
        csv_num(f, g->pointing_chance);
        csv_num(f, g->mass_pos);
        csv_num(f, g->mass_abs);
        csv_num(f, g->hit_pos);
        csv_num(f, g->hit_abs);
        fputc('\n', f);
    }
}

/* --- summary and output ----------------------------------------------------*/

static void log_summary(const rm_quality_result *r)
{
    rm_log("relevance-eval: %lld images in %.1f s (%.1f images/s)", (long long)r->evaluated, r->seconds,
           r->seconds > 0 ? (double)r->evaluated / r->seconds : 0.0);
    if (r->has_perturbation) {
        const rm_aopc_stats *s = &r->aopc[RM_SCORE_LOGIT];
        rm_log("  AOPC (logit): relevance %.4f, random %.4f, difference %+.4f +- %.4f (sem)",
               rm_running_mean(&s->aopc_relevance), rm_running_mean(&s->aopc_random), rm_running_mean(&s->difference),
               rm_running_sem(&s->difference));
    }
    if (r->has_regions)
        rm_log("  regions: positive mass %.3f (chance %.3f), pointing %.3f (chance %.3f)",
               rm_running_mean(&r->regions.mass_pos), rm_running_mean(&r->regions.area), rm_running_mean(&r->regions.hit_pos),
               rm_running_mean(&r->regions.pointing_chance));
}

enum { OUT_JSON = 0, OUT_CSV = 1, OUT_RECORDS = 2 };

static int write_to(FILE *f, const rm_quality_config *c, int kind, const rm_quality_result *r)
{
    if (kind == OUT_RECORDS) write_records_csv(f, c, r);
    else if (kind == OUT_CSV) write_csv(f, c, r);
    else write_json(f, c, r);
    return ferror(f) ? -1 : 0;
}

static int write_results(rm_output *out, const rm_quality_config *c, int kind, const rm_quality_result *r)
{
    FILE *f = fopen(out->tmp_path, "w");
    if (!f) return rm_error("%s: cannot create %s", out->final_path, out->tmp_path);
    int bad = write_to(f, c, kind, r);
    if (fclose(f) != 0 || bad) return rm_error("%s: writing failed (disk full?)", out->final_path);
    return rm_output_commit(out);
}

static int wants_csv(const rm_relevance_eval_config *c)
{
    if (c->format != RM_RELEVANCE_EVAL_AUTO) return c->format == RM_RELEVANCE_EVAL_CSV;
    size_t n = c->out_path ? strlen(c->out_path) : 0;
    return n >= 4 && !strcasecmp(c->out_path + n - 4, ".csv");
}

int rm_relevance_eval(const rm_relevance_eval_config *c)
{
    if (!c->out_path && !c->out) return rm_error("relevance-eval: no output file or stream given");
    int kind = wants_csv(c) ? OUT_CSV : OUT_JSON;
    if (c->out_path && c->records_path && !strcmp(c->out_path, c->records_path))
        return rm_error("relevance-eval: the results and the per-record table would both be written to %s",
                        c->out_path);
    rm_output out = {.slot = -1}, records = {.slot = -1};
    if (c->out_path && rm_output_begin(&out, c->out_path, c->force) != 0) return -1;
    if (c->records_path && rm_output_begin(&records, c->records_path, c->force) != 0) {
        if (c->out_path) rm_output_abort(&out);
        return -1;
    }
    rm_quality_result res;
    int rc = rm_quality_run(&c->quality, &res);
    if (rc == 0) {
        for (int i = 0; i < res.num_notes; i++) rm_log("note: %s", res.notes[i]);
        log_summary(&res);
        if (c->records_path) rc = write_results(&records, &c->quality, OUT_RECORDS, &res);
        if (rc == 0 && c->out_path) rc = write_results(&out, &c->quality, kind, &res);
        else if (rc == 0 && (write_to(c->out, &c->quality, kind, &res) != 0 || fflush(c->out) != 0))
            rc = rm_error("%s", c->out == stdout ? "writing to stdout failed" : "writing the results failed");
    }
    /* A committed output has nothing left to remove: this removes only the
     * temporary files of outputs not written. */
    if (c->records_path) rm_output_abort(&records);
    if (c->out_path) rm_output_abort(&out);
    rm_quality_result_free(&res);
    return rc;
}
