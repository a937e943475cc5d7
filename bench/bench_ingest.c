/* FER2013 CSV ingest throughput on a generated file the size of the real
 * one (35,887 rows of 2304 pixels). Prints one JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "ingest/ingest.h"
#include "core/progress.h"
#include "core/rng.h"

enum { ROWS = 35887, PIXELS = 2304, REPEATS = 3 };

static int write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return rm_error("%s: cannot create", path);
    static const char *const usage[3] = {"Training", "PublicTest", "PrivateTest"};
    fputs("emotion,pixels,Usage\n", f);
    rm_rng rng;
    rm_rng_seed(&rng, 2013, 0, 0);
    for (int r = 0; r < ROWS; r++) {
        fprintf(f, "%d,", (int)rm_rng_below(&rng, 7));
        for (int k = 0; k < PIXELS; k++) fprintf(f, k ? " %u" : "%u", (unsigned)rm_rng_below(&rng, 256));
        fprintf(f, ",%s\n", usage[r % 10 < 8 ? 0 : r % 10 == 8 ? 1 : 2]);
    }
    return fclose(f) == 0 ? 0 : rm_error("%s: write failed", path);
}

int main(void)
{
    char dir[] = "/tmp/relmask-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char csv[256], out[256];
    snprintf(csv, sizeof csv, "%s/fer2013.csv", dir);
    snprintf(out, sizeof out, "%s/fer2013.h5", dir);
    if (write_csv(csv) != 0) {
        fprintf(stderr, "%s\n", rm_error_message());
        return 1;
    }
    struct stat st;
    stat(csv, &st);
    double mb = (double)st.st_size / 1e6, best = 1e30;
    rm_progress_set_quiet(1);
    rm_log_set_quiet(1);
    for (int rep = 0; rep < REPEATS; rep++) {
        rm_ingest_options opt;
        rm_ingest_options_init(&opt);
        opt.out_path = out;
        opt.force = 1;
        double t0 = rm_now();
        if (rm_ingest_fer2013(csv, &opt) != 0) {
            fprintf(stderr, "%s\n", rm_error_message());
            return 1;
        }
        double t = rm_now() - t0;
        if (t < best) best = t;
    }
    printf("{\"bench\":\"fer2013_csv_ingest\",\"rows\":%d,\"mb\":%.1f,\"seconds\":%.3f,"
           "\"mb_per_s\":%.1f,\"rows_per_s\":%.0f,\"repeats\":%d,\"stat\":\"best\"}\n",
           ROWS, mb, best, mb / best, ROWS / best, REPEATS);
    unlink(csv);
    unlink(out);
    rmdir(dir);
    return 0;
}
