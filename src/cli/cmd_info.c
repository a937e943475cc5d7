/* relmask info FILE...: a human summary of any relmask HDF5 file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "relmask/dataset.h"
#include "relmask/error.h"
#include "relmask/h5util.h"

static const char help[] =
    "usage: relmask info FILE.h5...\n"
    "\n"
    "Prints a summary of relmask files: schema, shapes, classes, record counts\n"
    "per split and class, and provenance (inputs, parameters, tool version).\n"
    "Exits 1 with a message if a file is not a relmask file.\n";

static void print_attr(const char *name, const char *text, void *ctx)
{
    static const char *const shown_elsewhere[] = {"schema", "schema_version", "class_names",
                                                  "num_classes", "split_names", NULL};
    for (int i = 0; shown_elsewhere[i]; i++)
        if (!strcmp(name, shown_elsewhere[i])) return;
    /* Multi-line values (ingest parameters) are indented under the name. */
    printf("  %-22s ", name);
    for (const char *p = text; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1]) printf("  %-22s ", "");
    }
    if (!*text || text[strlen(text) - 1] != '\n') putchar('\n');
}

static void print_counts(const rm_dataset *ds)
{
    size_t *counts = calloc((size_t)ds->num_classes * RM_SPLIT_COUNT, sizeof *counts);
    if (!counts) return;
    for (size_t i = 0; i < ds->count; i++) counts[(size_t)ds->labels[i] * RM_SPLIT_COUNT + ds->split[i]]++;
    int width = 12;
    for (int c = 0; c < ds->num_classes; c++)
        if ((int)strlen(ds->class_names[c]) > width) width = (int)strlen(ds->class_names[c]);
    printf("records per class and split:\n  %-*s %8s %8s %8s %8s\n", width, "class", "train", "val", "test",
           "total");
    size_t totals[RM_SPLIT_COUNT] = {0};
    for (int c = 0; c < ds->num_classes; c++) {
        size_t *row = counts + (size_t)c * RM_SPLIT_COUNT;
        printf("  %-*s %8zu %8zu %8zu %8zu\n", width, ds->class_names[c], row[0], row[1], row[2],
               row[0] + row[1] + row[2]);
        for (int s = 0; s < RM_SPLIT_COUNT; s++) totals[s] += row[s];
    }
    printf("  %-*s %8zu %8zu %8zu %8zu\n", width, "total", totals[0], totals[1], totals[2], ds->count);
    free(counts);
}

static int info_dataset(const char *path)
{
    rm_dataset ds;
    RM_TRY(rm_dataset_open(&ds, path));
    printf("%s\n", path);
    printf("schema: %s version %d\n", RM_DATASET_SCHEMA, RM_DATASET_SCHEMA_VERSION);
    printf("images: uint8 [%zu, %d, %d, %d] (N, C, H, W), %s\n", ds.count, ds.channels, ds.height, ds.width,
           ds.channels == 1 ? "grayscale" : "RGB");
    printf("regions: %s\n", ds.has_regions ? "yes, uint8 [N, H, W] expression-region masks" : "no");
    printf("classes (%d):", ds.num_classes);
    for (int c = 0; c < ds.num_classes; c++) printf(" %d=%s", c, ds.class_names[c]);
    printf("\n");
    print_counts(&ds);
    printf("provenance:\n");
    int rc = rm_h5_attr_visit((hid_t)ds.hfile, print_attr, NULL);
    rm_dataset_close(&ds);
    return rc;
}

/* Any file: dispatch on the schema attribute. */
static int info_file(const char *path)
{
    rm_h5_init();
    htri_t is_h5 = H5Fis_hdf5(path);
    if (is_h5 < 0) {
        FILE *f = fopen(path, "rb");
        if (!f) return rm_error("%s: cannot open: no such file or not readable", path);
        fclose(f);
    }
    if (is_h5 <= 0) return rm_error("%s: not an HDF5 file, expected a relmask .h5 file", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return rm_h5_error("%s: cannot open HDF5 file", path);
    char *schema = NULL;
    int rc = 0;
    if (!rm_h5_attr_exists(file, "schema"))
        rc = rm_error("%s: not a relmask file (no 'schema' attribute on the root group)", path);
    else if (rm_h5_attr_get_string(file, "schema", &schema) != 0)
        rc = rm_error_prefix("%s", path);
    H5Fclose(file);
    if (rc != 0) return rc;
    if (!strcmp(schema, RM_DATASET_SCHEMA)) rc = info_dataset(path);
    else rc = rm_error("%s: unknown relmask schema '%s'", path, schema);
    free(schema);
    return rc;
}

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return RM_EXIT_OK;
        }
        return cli_bad_option("info", c, argv);
    }
    if (optind >= argc) return cli_usage_error("info", "expected at least one FILE.h5");
    for (int i = optind; i < argc; i++) {
        if (i > optind) putchar('\n');
        if (info_file(argv[i]) != 0) return cli_runtime_error();
    }
    return RM_EXIT_OK;
}
