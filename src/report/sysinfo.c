/* What a reader needs to reproduce the experiment: the stage parameters
 * (the DIR/NAME.params files), the library versions, the machine and the date. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <oneapi/dnnl/dnnl.h>

#include "core/error.h"
#include "core/h5util.h"
#include "core/version.h"
#include "report/report_internal.h"

enum { PARAMS_MAX_BYTES = 64 * 1024 };

/* The value of the first "<key> : value" line of a /proc file, or NULL. */
static char *proc_field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[1024], *value = NULL;
    size_t k = strlen(key);
    while (!value && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, k) != 0) continue;
        char *p = line + k;
        while (*p == ' ' || *p == '\t') p++;
        if (*p != ':') continue;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        p[strcspn(p, "\n")] = 0;
        value = rm_strdup(p);
    }
    fclose(f);
    return value;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rm_error("%s: cannot open", path);
        return NULL;
    }
    char *buf = rm_malloc(PARAMS_MAX_BYTES + 1, "parameters");
    size_t n = buf ? fread(buf, 1, PARAMS_MAX_BYTES, f) : 0;
    int truncated = buf && !feof(f) && fgetc(f) != EOF;
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    if (strlen(buf) != n) {   /* binary content would break the documents */
        free(buf);
        rm_error("%s: not a text file", path);
        return NULL;
    }
    if (truncated) rm_warn("report: %s is longer than %d bytes; the report shows the beginning", path, PARAMS_MAX_BYTES);
    return buf;
}

static int collect_params(report_ctx *ctx)
{
    char *pattern = report_strf("%s/*.params", ctx->dir);
    if (!pattern) return -1;
    glob_t g;
    int found = glob(pattern, 0, NULL, &g) == 0;
    free(pattern);
    if (!found) return 0;
    report_sysinfo *s = &ctx->sys;
    int rc = 0;
    s->param_names = rm_calloc(g.gl_pathc, sizeof *s->param_names, "parameters");
    s->param_texts = rm_calloc(g.gl_pathc, sizeof *s->param_texts, "parameters");
    if (!s->param_names || !s->param_texts) rc = -1;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/');
        s->param_names[i] = rm_strdup(base ? base + 1 : g.gl_pathv[i]);
        s->param_texts[i] = read_text(g.gl_pathv[i]);
        if (!s->param_names[i] || !s->param_texts[i]) {
            free(s->param_names[i]), free(s->param_texts[i]);
            rc = -1;
        } else {
            s->nparams++;
        }
    }
    globfree(&g);
    return rc;
}

/* The relevance file's method and parameters, when it has them. */
static void relevance_attrs(report_ctx *ctx)
{
    char *path = report_strf("%s/relevance.h5", ctx->dir);
    if (!path) return;
    rm_h5_init();
    if (access(path, R_OK) == 0 && H5Fis_hdf5(path) > 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            if (rm_h5_attr_exists(f, "method") && rm_h5_attr_get_string(f, "method", &ctx->sys.relevance_method) != 0)
                ctx->sys.relevance_method = NULL;
            if (rm_h5_attr_exists(f, "parameters") &&
                rm_h5_attr_get_string(f, "parameters", &ctx->sys.relevance_parameters) != 0)
                ctx->sys.relevance_parameters = NULL;
            H5Fclose(f);
        }
    }
    H5Eclear2(H5E_DEFAULT);
    free(path);
}

int report_sysinfo_collect(report_ctx *ctx)
{
    report_sysinfo *s = &ctx->sys;
    char *cpu = proc_field("/proc/cpuinfo", "model name");
    s->cpu = cpu ? cpu : rm_strdup("unknown");
    s->cores = sysconf(_SC_NPROCESSORS_ONLN);
    char *mem = proc_field("/proc/meminfo", "MemTotal");
    long long kib = mem ? atoll(mem) : 0;
    free(mem);
    s->memory = kib > 0 ? report_strf("%.1f GiB", kib / 1048576.0) : rm_strdup("unknown");
    struct utsname u;
    s->os = uname(&u) == 0 ? report_strf("%s %s %s", u.sysname, u.release, u.machine) : rm_strdup("unknown");
    const dnnl_version_t *v = dnnl_version();
    int hash = v->hash && *v->hash && strcmp(v->hash, "N/A") != 0;
    s->dnnl = report_strf("oneDNN %d.%d.%d%s%s%s", v->major, v->minor, v->patch, hash ? " (git " : "",
                          hash ? v->hash : "", hash ? ")" : "");
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    s->hdf5 = report_strf("HDF5 %u.%u.%u", maj, min, rel);
    s->tool = rm_strdup(rm_version_string());
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    s->date = rm_strdup(date);
    if (!s->cpu || !s->memory || !s->os || !s->dnnl || !s->hdf5 || !s->tool || !s->date) return -1;
    relevance_attrs(ctx);
    return collect_params(ctx);
}
