/* relmask relevance-eval --relevance R.h5 --data D.h5 [--model M.h5]: quality
 * metrics of relevance maps (region perturbation AOPC against random
 * orderings; relevance mass and pointing game on ground-truth regions) as
 * JSON or CSV (docs/formats.md). */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "core/csv.h"
#include "core/error.h"
#include "core/json.h"
#include "core/output.h"
#include "core/progress.h"
#include "relevance/quality.h"

static const char help[] =
    "usage: relmask relevance-eval --relevance R.h5 --data D.h5 [--model M.h5] [options]\n"
    "\n"
    "Measures how good the heatmaps of a relevance file are, on the records it\n"
    "explains (docs/relevance.md, \"Quality metrics\"):\n"
    "\n"
    "  region perturbation (with --model): the r x r regions of each image are\n"
    "    replaced by a baseline, most relevant first, in equal steps; the model's\n"
    "    logit and probability of the explained class are recorded after each\n"
    "    step. AOPC = mean over steps of f(x) - f(x_k), against the same for\n"
    "    seeded random region orders (difference with its standard error, ratio)\n"
    "    and the mean curves of both;\n"
    "  ground-truth regions (datasets with /regions, e.g. synthetic faces): the\n"
    "    share of positive (and absolute) relevance inside the region against its\n"
    "    area, and the pointing game against its chance, overall and per class.\n"
    "\n"
    "options:\n"
    "  -r, --relevance FILE       relevance file (schema relmask.relevance)\n"
    "  -d, --data FILE            the dataset it explains\n"
    "  -m, --model FILE           model to perturb (needed for the AOPC metrics)\n"
    "  -o, --out FILE             write the results here (default: stdout)\n"
    "      --format json|csv      output format (default: csv if --out ends in\n"
    "                             .csv, else json)\n"
    "  -f, --force                overwrite an existing --out file\n"
    "      --steps N              perturbation steps (20)\n"
    "      --region N             region size in pixels; 1 = pixel flipping (4)\n"
    "      --fraction F           share of the regions replaced at the last step,\n"
    "                             (0, 1] (0.5)\n"
    "      --baseline NAME        replacement: mean (the train split's mean pixel),\n"
    "                             zero (black), blur (Gaussian-blurred copy) or\n"
    "                             uniform (seeded noise in [0, 255)) (mean)\n"
    "      --blur-sigma S         sigma of the blur baseline in pixels (3)\n"
    "      --random-orders N      random region orders per image (3)\n"
    "      --seed N               seed of the random orders and the noise (1)\n"
    "      --max-images N         only the first N records of the relevance file\n"
    "      --pointing-tolerance N a pointing-game hit may lie up to N pixels\n"
    "                             (Euclidean) from the region (0)\n"
    "  -b, --batch N              network inputs per forward pass; all steps of\n"
    "                             an image go in one pass (256)\n"
    "  -t, --threads N            threads (0 = all cores)\n"
    "  -q, --quiet                no progress and no summary on stderr\n"
    "\n"
    "The explained class is the relevance file's /explained (the model's\n"
    "prediction where it is -1). A dataset without /regions gives the\n"
    "perturbation metrics only, with a note. Exit codes: 0 ok, 1 error, 2 usage\n"
    "error.\n";

enum {
    OPT_FORMAT = 256, OPT_STEPS, OPT_REGION, OPT_FRACTION, OPT_BASELINE, OPT_BLUR_SIGMA, OPT_RANDOM_ORDERS,
    OPT_SEED, OPT_MAX_IMAGES, OPT_TOLERANCE,
};

typedef struct {
    rm_quality_config cfg;
    const char *out_path, *format;
    int csv, force, quiet;
    const char *perturb_option;   /* the first perturbation option given */
} re_args;

static const char cmd[] = "relevance-eval";

static int parse(int argc, char **argv, re_args *a, int *done)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"relevance", required_argument, NULL, 'r'},
        {"data", required_argument, NULL, 'd'},
        {"model", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"force", no_argument, NULL, 'f'},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"region", required_argument, NULL, OPT_REGION},
        {"fraction", required_argument, NULL, OPT_FRACTION},
        {"baseline", required_argument, NULL, OPT_BASELINE},
        {"blur-sigma", required_argument, NULL, OPT_BLUR_SIGMA},
        {"random-orders", required_argument, NULL, OPT_RANDOM_ORDERS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"max-images", required_argument, NULL, OPT_MAX_IMAGES},
        {"pointing-tolerance", required_argument, NULL, OPT_TOLERANCE},
        {"batch", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    rm_quality_config *c = &a->cfg;
    int ch, at = -1;
    long v;
    double d;
    opterr = 0;
    *done = 0;
    while ((ch = getopt_long(argc, argv, ":hr:d:m:o:fb:t:q", longopts, &at)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); *done = 1; return RM_EXIT_OK;
        case 'r': c->relevance_path = optarg; break;
        case 'd': c->data_path = optarg; break;
        case 'm': c->model_path = optarg; break;
        case 'o': a->out_path = optarg; break;
        case OPT_FORMAT:
            if (strcmp(optarg, "json") && strcmp(optarg, "csv"))
                return cli_usage_error(cmd, "--format '%s': expected json or csv", optarg);
            a->format = optarg;
            break;
        case 'f': a->force = 1; break;
        case 'b':
            if (cli_parse_int(cmd, "--batch", optarg, 1, 1 << 20, &v)) return RM_EXIT_USAGE;
            c->batch = (int)v;
            break;
        case 't':
            if (cli_parse_int(cmd, "--threads", optarg, 0, 4096, &v)) return RM_EXIT_USAGE;
            cli_set_threads(v);
            break;
        case 'q': a->quiet = 1; break;
        case OPT_TOLERANCE:
            if (cli_parse_int(cmd, "--pointing-tolerance", optarg, 0, 4096, &v)) return RM_EXIT_USAGE;
            c->pointing_tolerance = (int)v;
            break;
        case OPT_MAX_IMAGES:
            if (cli_parse_int(cmd, "--max-images", optarg, 1, 1L << 40, &v)) return RM_EXIT_USAGE;
            c->max_images = v;
            break;
        default:
            /* Everything below only shapes the perturbation. */
            if (ch >= OPT_STEPS && ch <= OPT_SEED && !a->perturb_option && at >= 0) a->perturb_option = longopts[at].name;
            switch (ch) {
            case OPT_STEPS:
                if (cli_parse_int(cmd, "--steps", optarg, 1, 1000, &v)) return RM_EXIT_USAGE;
                c->steps = (int)v;
                break;
            case OPT_REGION:
                if (cli_parse_int(cmd, "--region", optarg, 1, 4096, &v)) return RM_EXIT_USAGE;
                c->region = (int)v;
                break;
            case OPT_FRACTION:
                if (cli_parse_double(cmd, "--fraction", optarg, 1e-9, 1, &d)) return RM_EXIT_USAGE;
                c->fraction = d;
                break;
            case OPT_BASELINE: {
                rm_baseline_kind kind;
                if (rm_baseline_parse(optarg, &kind) != 0) return cli_usage_error(cmd, "--baseline: %s", rm_error_message());
                c->baseline = kind;
                break;
            }
            case OPT_BLUR_SIGMA:
                if (cli_parse_double(cmd, "--blur-sigma", optarg, 1e-3, 64, &d)) return RM_EXIT_USAGE;
                c->blur_sigma = d;
                break;
            case OPT_RANDOM_ORDERS:
                if (cli_parse_int(cmd, "--random-orders", optarg, 1, 1000, &v)) return RM_EXIT_USAGE;
                c->random_orders = (int)v;
                break;
            case OPT_SEED:
                if (cli_parse_u64(cmd, "--seed", optarg, &c->seed)) return RM_EXIT_USAGE;
                break;
            default: return cli_bad_option(cmd, ch, argv);
            }
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!c->relevance_path) return cli_usage_error(cmd, "--relevance FILE is required");
    if (!c->data_path) return cli_usage_error(cmd, "--data FILE is required");
    if (a->perturb_option && !c->model_path)
        return cli_usage_error(cmd, "--%s asks for region perturbation, which needs --model FILE", a->perturb_option);
    if (a->format) a->csv = !strcmp(a->format, "csv");
    else if (a->out_path) {
        size_t n = strlen(a->out_path);
        a->csv = n >= 4 && !strcasecmp(a->out_path + n - 4, ".csv");
    }
    return RM_EXIT_OK;
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

static void write_json(FILE *f, const re_args *a, const rm_quality_result *r)
{
    const rm_quality_config *c = &a->cfg;
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
               "\"batch\": %d},\n  \"notes\": [",
            c->random_orders, (unsigned long long)c->seed, (long long)c->max_images, c->pointing_tolerance, c->batch);
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

static void write_csv(FILE *f, const re_args *a, const rm_quality_result *r)
{
    const rm_quality_config *c = &a->cfg;
    fprintf(f, "# relmask relevance-eval: relevance=%s data=%s model=%s\n", c->relevance_path, c->data_path,
            c->model_path ? c->model_path : "none");
    fprintf(f, "# steps=%d region=%d fraction=%g baseline=%s blur_sigma=%g random_orders=%d seed=%llu "
               "max_images=%lld pointing_tolerance=%d\n",
            c->steps, c->region, c->fraction, rm_baseline_names[c->baseline], c->blur_sigma, c->random_orders,
            (unsigned long long)c->seed, (long long)c->max_images, c->pointing_tolerance);
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

static int write_to(FILE *f, const re_args *a, const rm_quality_result *r)
{
    if (a->csv) write_csv(f, a, r);
    else write_json(f, a, r);
    return ferror(f) ? -1 : 0;
}

static int write_results(rm_output *out, const re_args *a, const rm_quality_result *r)
{
    FILE *f = fopen(out->tmp_path, "w");
    if (!f) return rm_error("%s: cannot create %s", out->final_path, out->tmp_path);
    int bad = write_to(f, a, r);
    if (fclose(f) != 0 || bad) return rm_error("%s: writing failed (disk full?)", out->final_path);
    return rm_output_commit(out);
}

int cmd_relevance_eval(int argc, char **argv)
{
    re_args a;
    memset(&a, 0, sizeof a);
    rm_quality_config_defaults(&a.cfg);
    int done, rc = parse(argc, argv, &a, &done);
    if (rc != RM_EXIT_OK || done) return rc;
    if (a.quiet) {
        rm_log_set_quiet(1);
        rm_progress_set_quiet(1);
    }
    rm_output out = {.slot = -1};
    if (a.out_path && rm_output_begin(&out, a.out_path, a.force) != 0) return cli_runtime_error();
    rm_quality_result res;
    rc = rm_quality_run(&a.cfg, &res);
    if (rc == 0) {
        for (int i = 0; i < res.num_notes; i++) rm_log("note: %s", res.notes[i]);
        log_summary(&res);
        if (a.out_path) rc = write_results(&out, &a, &res);
        else if (write_to(stdout, &a, &res) != 0 || fflush(stdout) != 0) rc = rm_error("writing to stdout failed");
    }
    if (rc != 0 && a.out_path) rm_output_abort(&out);
    rm_quality_result_free(&res);
    return rc == 0 ? RM_EXIT_OK : cli_runtime_error();
}
