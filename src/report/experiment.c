/* Finds the conditions and seeds of an experiment directory and reads each
 * run: the learning curve from model.h5's /history and the test metrics
 * from test.json (docs/report.md, "Inputs"). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "nn/model_file.h"
#include "report/report_internal.h"

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* "seed12" -> 12; -1 for anything else. */
static int seed_of(const char *name)
{
    if (strncmp(name, "seed", 4) != 0 || !name[4]) return -1;
    long v = 0;
    for (const char *p = name + 4; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000000) return -1;
        v = v * 10 + (*p - '0');
    }
    return (int)v;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Order of discovered conditions: the baseline, finetune, the encodings
 * alphabetically, then the fused ones ("fuse-..."). */
static const char *sort_baseline;
static int cond_rank(const char *name)
{
    if (!strcmp(name, sort_baseline)) return 0;
    if (!strcmp(name, "finetune")) return 1;
    if (!strncmp(name, "fuse", 4)) return 3;
    return 2;
}

static int cmp_cond(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int rx = cond_rank(x), ry = cond_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

static int push_name(char ***names, int *n, const char *name)
{
    char **grown = rm_realloc(*names, sizeof **names * (size_t)(*n + 1), "condition names");
    if (!grown) return -1;
    *names = grown;
    if (!(grown[*n] = rm_strdup(name))) return -1;
    (*n)++;
    return 0;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int list_conditions(const char *runs, const char *baseline, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(runs);
    if (!d) return rm_error("%s: cannot open: %s (no student runs in this experiment directory?)", runs, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *path = report_strf("%s/%s", runs, e->d_name);
        if (!path) rc = -1;
        else if (is_dir(path)) rc = push_name(names, n, e->d_name);
        free(path);
    }
    closedir(d);
    if (rc == 0 && *n == 0) rc = rm_error("%s: no condition directories", runs);
    if (rc != 0) {
        free_names(*names, *n);
        *names = NULL, *n = 0;
        return -1;
    }
    sort_baseline = baseline;
    qsort(*names, (size_t)*n, sizeof **names, cmp_cond);
    return 0;
}

static int list_seeds(const char *cond_dir, int **seeds, int *n)
{
    *seeds = NULL;
    *n = 0;
    DIR *d = opendir(cond_dir);
    if (!d) return rm_error("%s: cannot open: %s", cond_dir, strerror(errno));
    struct dirent *e;
    int rc = 0, cap = 0;
    while (rc == 0 && (e = readdir(d))) {
        int s = seed_of(e->d_name);
        if (s < 0) continue;
        char *path = report_strf("%s/%s", cond_dir, e->d_name);
        if (!path) {
            rc = -1;
            break;
        }
        int dir = is_dir(path);
        free(path);
        if (!dir) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            int *grown = rm_realloc(*seeds, sizeof **seeds * (size_t)cap, "seeds");
            if (!grown) {
                rc = -1;
                break;
            }
            *seeds = grown;
        }
        (*seeds)[(*n)++] = s;
    }
    closedir(d);
    if (rc == 0 && *n == 0) rc = rm_error("%s: no seed<k> run directories", cond_dir);
    if (rc != 0) {
        free(*seeds);
        *seeds = NULL, *n = 0;
        return -1;
    }
    qsort(*seeds, (size_t)*n, sizeof **seeds, cmp_int);
    for (int i = 1; i < *n; i++) {
        if ((*seeds)[i] == (*seeds)[i - 1]) {   /* seed1 and seed01 */
            rm_error("%s: seed %d appears twice", cond_dir, (*seeds)[i]);
            free(*seeds);
            *seeds = NULL, *n = 0;
            return -1;
        }
    }
    return 0;
}

/* test.json: accuracy, classes, confusion; the classes must agree across runs. */
static int read_test_json(report_ctx *ctx, report_run *run, const char *path)
{
    rm_json *doc;
    RM_TRY(rm_json_load(&doc, path));
    int rc = 0;
    const rm_json *classes, *confusion;
    if (doc->type != RM_JSON_OBJECT) rc = rm_error("%s: expected a JSON object (relmask eval --out)", path);
    if (rc == 0) rc = rm_json_get_number(doc, "accuracy", path, &run->test_acc);
    if (rc == 0 && !(run->test_acc >= 0 && run->test_acc <= 1))
        rc = rm_error("%s: \"accuracy\" is %g, expected a fraction in [0, 1]", path, run->test_acc);
    const rm_json *data = rc == 0 ? rm_json_get(doc, "data") : NULL;
    if (data && data->type == RM_JSON_STRING && !(run->test_data = rm_strdup(data->string))) rc = -1;
    if (rc == 0) rc = rm_json_get_array(doc, "classes", path, &classes);
    if (rc == 0) rc = rm_json_get_array(doc, "confusion", path, &confusion);
    int k = rc == 0 ? (int)classes->count : 0;
    if (rc == 0 && (k < 1 || k > 1000)) rc = rm_error("%s: %d classes", path, k);
    for (int c = 0; rc == 0 && c < k; c++)
        if (classes->items[c].type != RM_JSON_STRING) rc = rm_error("%s: \"classes\"[%d] is not a string", path, c);
    if (rc == 0 && ctx->classes) {
        if (k != ctx->num_classes)
            rc = rm_error("%s: %d classes, but %s has %d", path, k, ctx->classes_source, ctx->num_classes);
        for (int c = 0; rc == 0 && c < k; c++)
            if (strcmp(classes->items[c].string, ctx->classes[c]))
                rc = rm_error("%s: class %d is \"%s\", but in %s it is \"%s\"", path, c, classes->items[c].string,
                              ctx->classes_source, ctx->classes[c]);
    } else if (rc == 0) {
        ctx->classes = rm_calloc((size_t)k, sizeof *ctx->classes, "class names");
        ctx->classes_source = rm_strdup(path);
        if (!ctx->classes || !ctx->classes_source) rc = -1;
        for (int c = 0; rc == 0 && c < k; c++)
            if (!(ctx->classes[c] = rm_strdup(classes->items[c].string))) rc = -1;
        if (rc == 0) ctx->num_classes = k;
    }
    if (rc == 0 && (int)confusion->count != k)
        rc = rm_error("%s: \"confusion\" has %zu rows, expected %d", path, confusion->count, k);
    if (rc == 0) {
        run->confusion = rm_calloc((size_t)k * k, sizeof *run->confusion, "confusion matrix");
        if (!run->confusion) rc = -1;
    }
    for (int t = 0; rc == 0 && t < k; t++) {
        const rm_json *row = &confusion->items[t];
        if (row->type != RM_JSON_ARRAY || (int)row->count != k) {
            rc = rm_error("%s: \"confusion\"[%d] is not an array of %d counts", path, t, k);
            break;
        }
        for (int p = 0; p < k; p++) {
            double v = row->items[p].type == RM_JSON_NUMBER ? row->items[p].number : -1;
            if (!(v >= 0 && v <= 9e15 && v == floor(v))) {
                rc = rm_error("%s: \"confusion\"[%d][%d] is not a count", path, t, p);
                break;
            }
            run->confusion[(size_t)t * k + p] = (int64_t)v;
        }
    }
    rm_json_free(doc);
    return rc;
}

/* allow_empty: a model trained elsewhere (imported) has no history */
static int read_history(report_run *run, const char *path, int allow_empty)
{
    rm_model m;
    if (rm_model_load(&m, path) != 0) {
        rm_model_free(&m);
        return -1;   /* the message names the file */
    }
    int rc = 0;
    if (m.num_epochs < 1) {
        if (!allow_empty) rc = rm_error("%s: the model has no training history", path);
    } else {
        run->epochs = m.num_epochs;
        run->val = rm_malloc(sizeof *run->val * (size_t)m.num_epochs, "history");
        run->seconds = rm_malloc(sizeof *run->seconds * (size_t)m.num_epochs, "history");
        if (!run->val || !run->seconds) rc = -1;
        for (int e = 0; rc == 0 && e < m.num_epochs; e++) {
            run->val[e] = m.history[e].val_acc;
            run->seconds[e] = m.history[e].seconds;
            if (!isfinite(run->val[e]) || !isfinite(run->seconds[e]))
                rc = rm_error("%s: history of epoch %d is not finite", path, e + 1);
        }
        run->has_curve = rc == 0;
    }
    rm_model_free(&m);
    return rc;
}

static int load_run(report_ctx *ctx, report_condition *c, report_run *run, int seed)
{
    run->seed = seed;
    run->dir = report_strf("%s/runs/%s/seed%d", ctx->dir, c->name, seed);
    char *test = report_strf("%s/test.json", run->dir ? run->dir : "");
    char *model = report_strf("%s/model.h5", run->dir ? run->dir : "");
    int rc = run->dir && test && model ? 0 : -1;
    if (rc == 0 && !is_dir(run->dir))
        rc = rm_error("%s: no such run directory (condition '%s', seed %d; choose seeds with --seeds)", run->dir,
                      c->name, seed);
    if (rc == 0 && !is_file(test))
        rc = rm_error("%s: missing: the run has no test results (unfinished? evaluate it with relmask eval --out, or "
                      "leave it out with --seeds / --conditions)",
                      test);
    if (rc == 0) rc = read_test_json(ctx, run, test);
    if (rc == 0 && is_file(model)) rc = read_history(run, model, 0);
    free(test);
    free(model);
    return rc;
}

static int load_condition(report_ctx *ctx, report_condition *c)
{
    char *cdir = report_strf("%s/runs/%s", ctx->dir, c->name);
    if (!cdir) return -1;
    int rc = 0, *seeds = NULL, nseeds = 0;
    if (!is_dir(cdir)) {
        rc = rm_error("%s: no such condition directory", cdir);
    } else if (ctx->opt->seeds) {
        nseeds = ctx->opt->nseeds;
        seeds = rm_malloc(sizeof *seeds * (size_t)nseeds, "seeds");
        if (!seeds) rc = -1;
        else memcpy(seeds, ctx->opt->seeds, sizeof *seeds * (size_t)nseeds);
    } else {
        rc = list_seeds(cdir, &seeds, &nseeds);
    }
    free(cdir);
    if (rc == 0) {
        c->runs = rm_calloc((size_t)nseeds, sizeof *c->runs, "runs");
        if (!c->runs) rc = -1;
    }
    for (int i = 0; rc == 0 && i < nseeds; i++) {
        c->nruns++;
        rc = load_run(ctx, c, &c->runs[i], seeds[i]);
        const char *t = rc == 0 ? c->runs[i].test_data : NULL, *base = t ? strrchr(t, '/') : NULL;
        if (t && strcmp(base ? base + 1 : t, "target.h5") != 0 && !c->other_test_data) c->other_test_data = t;
    }
    free(seeds);
    return rc;
}

static int read_source(report_ctx *ctx)
{
    char *eval = report_strf("%s/source_model_eval.json", ctx->dir);
    char *model = report_strf("%s/source_model.h5", ctx->dir);
    char *releval = report_strf("%s/relevance_eval.json", ctx->dir);
    int rc = eval && model && releval ? 0 : -1;
    if (rc == 0 && is_file(eval)) {
        rm_json *doc;
        rc = rm_json_load(&doc, eval);
        if (rc == 0) {
            rc = rm_json_get_number(doc, "accuracy", eval, &ctx->source_test_acc);
            /* a source model trained elsewhere is evaluated on the target test split */
            const rm_json *data = rm_json_get(doc, "data");
            const char *d = data && data->type == RM_JSON_STRING ? data->string : "", *base = strrchr(d, '/');
            ctx->source_eval_on_target = !strcmp(base ? base + 1 : d, "target.h5");
            rm_json_free(doc);
            ctx->has_source_eval = rc == 0;
        }
    }
    if (rc == 0 && is_file(model)) {
        report_run tmp = {0};
        rc = read_history(&tmp, model, 1);
        if (rc == 0 && tmp.epochs > 0) {
            for (int e = 0; e < tmp.epochs; e++) ctx->source_seconds += tmp.seconds[e];
            ctx->has_source_history = 1;
        }
        ctx->source_imported = rc == 0 && tmp.epochs == 0;
        free(tmp.val);
        free(tmp.seconds);
    }
    if (rc == 0 && is_file(releval)) {
        rc = rm_json_load(&ctx->relevance_eval, releval);
        if (rc == 0 && ctx->relevance_eval->type != RM_JSON_OBJECT)
            rc = rm_error("%s: expected a JSON object", releval);
    }
    free(eval);
    free(model);
    free(releval);
    return rc;
}

int report_load(report_ctx *ctx)
{
    const rm_report_config *opt = ctx->opt;
    if (!is_dir(ctx->dir)) return rm_error("%s: no such experiment directory", ctx->dir);
    char **names = NULL;
    int n = 0, rc = 0;
    if (opt->conditions) {
        for (int i = 0; rc == 0 && i < opt->nconditions; i++) {
            for (int j = 0; j < i; j++)
                if (!strcmp(opt->conditions[i], opt->conditions[j]))
                    rc = rm_error("condition '%s' is listed twice", opt->conditions[i]);
            if (rc == 0) rc = push_name(&names, &n, opt->conditions[i]);
        }
        int has_baseline = 0;
        for (int i = 0; i < n; i++) has_baseline |= !strcmp(names[i], ctx->baseline_name);
        if (rc == 0 && !has_baseline) {   /* the baseline is always needed: put it first */
            rc = push_name(&names, &n, ctx->baseline_name);
            if (rc == 0) {
                char *b = names[n - 1];
                memmove(names + 1, names, sizeof *names * (size_t)(n - 1));
                names[0] = b;
            }
        }
    } else {
        char *runs = report_strf("%s/runs", ctx->dir);
        rc = runs ? list_conditions(runs, ctx->baseline_name, &names, &n) : -1;
        free(runs);
    }
    if (rc == 0) {
        ctx->baseline = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(names[i], ctx->baseline_name)) ctx->baseline = i;
        if (ctx->baseline < 0)
            rc = rm_error("%s/runs: no directory for the baseline condition '%s' (choose it with --baseline)", ctx->dir,
                          ctx->baseline_name);
    }
    if (rc == 0) {
        ctx->cond = rm_calloc((size_t)n, sizeof *ctx->cond, "conditions");
        if (!ctx->cond) rc = -1;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        ctx->cond[i].name = names[i];
        names[i] = NULL;
        ctx->ncond++;
        rc = load_condition(ctx, &ctx->cond[i]);
    }
    free_names(names, n);
    if (rc == 0) {
        const report_condition *b = &ctx->cond[ctx->baseline];
        for (int r = 0; rc == 0 && r < b->nruns; r++)
            if (!b->runs[r].has_curve)
                rc = rm_error("%s/model.h5: missing: the baseline's learning curves define the thresholds",
                              b->runs[r].dir);
    }
    if (rc == 0) rc = read_source(ctx);
    return rc;
}
