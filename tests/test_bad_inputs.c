/* The bad-input catalogue (issue 6): every case runs the real CLI on one
 * broken input and checks the exit code (1, or 2 for usage errors), that
 * stderr names the file, the line or record and what was expected, that
 * nothing is left in the directory (no output, no .NAME.tmp-PID, no
 * .NAME.partial, no checkpoint), and that with --force a previous output
 * survives byte for byte. Cases with absurd header dimensions run under a
 * 2 GiB address-space limit to prove that no header field drives a huge
 * allocation. One row of `cases` per input; each runs in its own scratch
 * directory, which is the command's working directory. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <hdf5.h>
#include <jpeglib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tiffio.h>
#include <zlib.h>

#include "core/error.h"
#include "core/h5util.h"
#include "core/image.h"
#include "test_util.h"

static char *dir;   /* the case's scratch directory */

/* --- running the command --------------------------------------------------*/

/* Runs "cd DIR && relmask ARGS" and returns its exit code; *err gets its
 * stderr (stdout is discarded). low_as: under a 2 GiB RLIMIT_AS, except in
 * sanitizer builds, whose shadow memory needs terabytes of address space. */
static int run(char **err, const char *args, int low_as)
{
    static char bin[PATH_MAX];
    if (!bin[0]) {
        const char *b = getenv("RELMASK_BIN");
        if (!b || !*b) b = "build/relmask";
        cr_assert(realpath(b, bin), "RELMASK_BIN %s not found", b);
    }
#if defined(__SANITIZE_ADDRESS__)
    low_as = 0;
#endif
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s exec '%s' %s 2>&1 >/dev/null", dir,
             low_as ? "ulimit -v 2097152 &&" : "", bin, args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t cap = 4096, len = 0, got;
    char *buf = malloc(cap);
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int status = pclose(p);
    *err = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs a command that must succeed (building the inputs). */
static void ok(const char *args)
{
    char *err;
    int code = run(&err, args, 0);
    cr_assert_eq(code, 0, "fixture 'relmask %s' failed (%d): %s", args, code, err);
    free(err);
}

static const char *in(const char *name) { return tu_path(dir, name); }

static void text(const char *name, const char *s) { tu_write_text(in(name), s); }

static unsigned char *slurp(const char *name, size_t *size)
{
    FILE *f = fopen(in(name), "rb");
    cr_assert(f, "cannot open %s", name);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* Writes the first `keep` bytes of `from` to `to` (keep > size: all). */
static void truncated_copy(const char *from, const char *to, size_t keep)
{
    size_t n;
    unsigned char *b = slurp(from, &n);
    tu_write_file(in(to), b, keep < n ? keep : n);
    free(b);
}

static void copy(const char *from, const char *to) { truncated_copy(from, to, SIZE_MAX); }

static void mkdirs(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1;; p++)
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            mkdir(path, 0755);
            *p = c;
            if (!c) break;
        }
}

/* --- fixtures: a small dataset, a model trained on it, its relevance -------*/

static const char *NET16 = "[net]\ninput = 1x16x16\nclasses = 7\n[conv]\nfilters = 2\nsize = 3\npad = 1\n"
                           "activation = relu\n[maxpool]\nsize = 2\n[dense]\nunits = 7\n";

static void data16(void)
{
    ok("synth -q -n 60 --size 16 --val 0.2 --test 0.2 -o d.h5");
    text("n.cfg", NET16);
}
static void data20(void) { ok("synth -q -n 60 --size 20 --val 0.2 --test 0.2 -o d20.h5"); }

static void model16(void)
{
    data16();
    ok("train -q -t 1 -d d.h5 -n n.cfg -e 1 -b 16 -o m.h5");
}

static void relevance16(void)
{
    model16();
    ok("relevance -q -t 1 --model m.h5 --data d.h5 --out r.h5");
}

/* --- editing HDF5 files ---------------------------------------------------*/

static hid_t h5_rw(const char *name)
{
    rm_h5_init();
    hid_t f = H5Fopen(in(name), H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(f, 0, "cannot open %s", name);
    return f;
}

static void h5_unlink(const char *name, const char *path)
{
    hid_t f = h5_rw(name);
    cr_assert_geq(H5Ldelete(f, path, H5P_DEFAULT), 0, "%s: cannot delete %s", name, path);
    H5Fclose(f);
}

static void h5_attr_int(const char *name, const char *attr, int64_t value)
{
    hid_t f = h5_rw(name);
    cr_assert_eq(rm_h5_attr_set_int(f, attr, value), 0, "%s", rm_error_message());
    H5Fclose(f);
}

static void h5_attr_string(const char *name, const char *attr, const char *value)
{
    hid_t f = h5_rw(name);
    cr_assert_eq(rm_h5_attr_set_string(f, attr, value), 0, "%s", rm_error_message());
    H5Fclose(f);
}

static void h5_attr_delete(const char *name, const char *attr)
{
    hid_t f = h5_rw(name);
    cr_assert_geq(H5Adelete(f, attr), 0);
    H5Fclose(f);
}

/* Sets element `index` of a float32 or int32 dataset. */
static void h5_poke(const char *name, const char *path, size_t index, double value)
{
    hid_t f = h5_rw(name);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert_geq(d, 0, "%s: no %s", name, path);
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    cr_assert_lt(index, (size_t)n);
    hid_t t = H5Dget_type(d);
    int is_float = H5Tget_class(t) == H5T_FLOAT;
    double *v = malloc((size_t)n * sizeof *v);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    v[index] = value;
    if (is_float) {
        float *x = malloc((size_t)n * sizeof *x);
        for (hssize_t i = 0; i < n; i++) x[i] = (float)v[i];
        cr_assert_geq(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
        free(x);
    } else {
        int *x = malloc((size_t)n * sizeof *x);
        for (hssize_t i = 0; i < n; i++) x[i] = (int)v[i];
        cr_assert_geq(H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
        free(x);
    }
    free(v);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
}

/* An HDF5 file holding one float32 dataset `path` of shape dims. */
static void h5_array(const char *name, const char *path, int rank, const hsize_t *dims, float fill)
{
    rm_h5_init();
    hid_t f = H5Fcreate(in(name), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, path, H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(d, 0);
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = fill;
    cr_assert_geq(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    free(v);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
}

/* --- writing FER2013 CSV, IDX and NPY -------------------------------------*/

/* A FER2013 row: emotion, `npix` pixels (pixel 5 is `odd` when given), usage. */
static void fer_row(FILE *f, const char *emotion, int npix, const char *odd, const char *usage)
{
    fprintf(f, "%s,\"", emotion);
    for (int i = 0; i < npix; i++) fprintf(f, i ? " %s" : "%s", i == 5 && odd ? odd : "7");
    fprintf(f, "\",%s\n", usage);
}

/* in.csv: header, two good rows, then the bad row (line 4). */
static FILE *fer_begin(void)
{
    FILE *f = fopen(in("in.csv"), "wb");
    cr_assert(f);
    fputs("emotion,pixels,Usage\n", f);
    fer_row(f, "0", 2304, NULL, "Training");
    fer_row(f, "3", 2304, NULL, "PublicTest");
    return f;
}

static void fer_bad(const char *emotion, int npix, const char *odd, const char *usage)
{
    FILE *f = fer_begin();
    fer_row(f, emotion, npix, odd, usage);
    fclose(f);
}

static void fer_2303_pixels(void) { fer_bad("2", 2303, NULL, "Training"); }
static void fer_2305_pixels(void) { fer_bad("2", 2305, NULL, "Training"); }
static void fer_pixel_256(void) { fer_bad("2", 2304, "256", "Training"); }
static void fer_pixel_word(void) { fer_bad("2", 2304, "abc", "Training"); }
static void fer_pixel_negative(void) { fer_bad("2", 2304, "-1", "Training"); }
static void fer_emotion_7(void) { fer_bad("7", 2304, NULL, "Training"); }
static void fer_emotion_negative(void) { fer_bad("-1", 2304, NULL, "Training"); }
static void fer_emotion_word(void) { fer_bad("happy", 2304, NULL, "Training"); }
static void fer_bad_usage(void) { fer_bad("2", 2304, NULL, "Holdout"); }
static void fer_non_utf8(void) { fer_bad("2", 2304, "\xff\xfe", "Training"); }
static void fer_non_utf8_usage(void) { fer_bad("2", 2304, NULL, "Tr\xe9ining"); }

static void fer_too_many_fields(void)
{
    FILE *f = fer_begin();
    fer_row(f, "2", 2304, NULL, "Training,extra");
    fclose(f);
}

static void fer_too_few_fields(void)
{
    FILE *f = fer_begin();
    fputs("2\n", f);
    fclose(f);
}

static void fer_megabyte_line(void)
{
    FILE *f = fer_begin();
    fer_row(f, "2", 400000, NULL, "Training");
    fclose(f);
}

static void fer_cut_mid_row(void)
{
    FILE *f = fer_begin();
    fputs("2,\"1 2 3 4", f);
    fclose(f);
}

static void fer_nul_byte(void)
{
    FILE *f = fer_begin();
    fputs("2,\"1 2", f);
    fputc(0, f);
    fputs(" 3\",Training\n", f);
    fclose(f);
}

static void fer_garbage(void)
{
    unsigned char b[4096];
    for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)(i * 131 + 17 + (i >> 5));
    tu_write_file(in("in.csv"), b, sizeof b);
}

static void fer_no_pixels_column(void)
{
    text("in.csv", "emotion,usage_only,Usage\n0,1,Training\n");
}

static void fer_header_only(void) { text("in.csv", "emotion,pixels,Usage\n"); }

static void idx_write(const char *name, int gz, uint8_t type, int ndims, const uint32_t *dims, const void *data,
                      size_t bytes)
{
    uint8_t head[4 + 4 * 8] = {0, 0, type, (uint8_t)ndims};
    for (int i = 0; i < ndims; i++)
        for (int k = 0; k < 4; k++) head[4 + 4 * i + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
    size_t hbytes = 4 + 4 * (size_t)ndims;
    unsigned char *all = malloc(hbytes + bytes + 1);
    memcpy(all, head, hbytes);
    if (bytes) memcpy(all + hbytes, data, bytes);
    if (!gz) {
        tu_write_file(in(name), all, hbytes + bytes);
    } else {
        gzFile g = gzopen(in(name), "wb");
        cr_assert(g);
        cr_assert_eq(gzwrite(g, all, (unsigned)(hbytes + bytes)), (int)(hbytes + bytes));
        cr_assert_eq(gzclose(g), Z_OK);
    }
    free(all);
}

/* images.idx: n 4x4 images; labels.idx: n labels 0..2 (`bad` at index 3 when >= 0). */
static void idx_good(int n, int bad_label)
{
    uint8_t px[64 * 16], lab[64];
    for (int i = 0; i < n * 16; i++) px[i] = (uint8_t)(i * 7);
    for (int i = 0; i < n; i++) lab[i] = (uint8_t)(i % 3);
    if (bad_label >= 0) lab[3] = (uint8_t)bad_label;
    uint32_t di[3] = {(uint32_t)n, 4, 4}, dl[1] = {(uint32_t)n};
    idx_write("images.idx", 0, 0x08, 3, di, px, (size_t)n * 16);
    idx_write("labels.idx", 0, 0x08, 1, dl, lab, (size_t)n);
}

static void idx_label_10(void) { idx_good(8, 10); }
static void idx_label_3_of_3(void) { idx_good(8, 3); }

static void idx_empty(void)
{
    idx_good(8, -1);
    text("images.idx", "");
}

static void idx_short_header(void)
{
    idx_good(8, -1);
    tu_write_file(in("images.idx"), "\0\0\x08", 3);
}

static void idx_bad_magic(void)
{
    idx_good(8, -1);
    size_t n;
    unsigned char *b = slurp("images.idx", &n);
    b[0] = 0x1f;
    b[1] = 0x00;
    tu_write_file(in("images.idx"), b, n);
    free(b);
}

static void idx_float_type(void)
{
    idx_good(8, -1);
    float px[8 * 16] = {0};
    uint32_t di[3] = {8, 4, 4};
    idx_write("images.idx", 0, 0x0D, 3, di, px, sizeof px);
}

static void idx_truncated(void)
{
    idx_good(8, -1);
    truncated_copy("images.idx", "cut.idx", 16 + 8 * 16 - 5);
    copy("cut.idx", "images.idx");
    remove(in("cut.idx"));
}

static void idx_truncated_gz(void)
{
    idx_good(8, -1);
    uint8_t px[8 * 16] = {1};
    uint32_t di[3] = {8, 4, 4};
    idx_write("full.gz", 1, 0x08, 3, di, px, sizeof px);
    size_t n;
    unsigned char *b = slurp("full.gz", &n);
    tu_write_file(in("images.idx"), b, n / 2);
    free(b);
    remove(in("full.gz"));
}

static void idx_absurd_dims(void)
{
    idx_good(8, -1);
    uint32_t di[3] = {0x80000000u, 0x80000000u, 0x80000000u};
    uint8_t px[64] = {0};
    idx_write("images.idx", 0, 0x08, 3, di, px, sizeof px);
}

static void idx_absurd_count(void)
{
    idx_good(8, -1);
    uint32_t di[3] = {0xFFFFFFFFu, 28, 28};
    uint8_t px[64] = {0};
    idx_write("images.idx", 0, 0x08, 3, di, px, sizeof px);
    uint32_t dl[1] = {0xFFFFFFFFu};
    idx_write("labels.idx", 0, 0x08, 1, dl, px, sizeof px);
}

static void idx_absurd_labels(void)
{
    idx_good(8, -1);
    uint32_t dl[1] = {0xFFFFFFF0u};
    uint8_t lab[8] = {0};
    idx_write("labels.idx", 0, 0x08, 1, dl, lab, sizeof lab);
}

static void idx_count_mismatch(void)
{
    idx_good(8, -1);
    uint8_t lab[7] = {0};
    uint32_t dl[1] = {7};
    idx_write("labels.idx", 0, 0x08, 1, dl, lab, sizeof lab);
}

static void idx_labels_2d(void)
{
    idx_good(8, -1);
    uint8_t lab[16] = {0};
    uint32_t dl[2] = {8, 2};
    idx_write("labels.idx", 0, 0x08, 2, dl, lab, sizeof lab);
}

static void idx_five_channels(void)
{
    idx_good(8, -1);
    uint8_t px[8 * 16 * 5] = {0};
    uint32_t di[4] = {8, 4, 4, 5};
    idx_write("images.idx", 0, 0x08, 4, di, px, sizeof px);
}

static void idx_garbage(void)
{
    idx_good(8, -1);
    fer_garbage();
    copy("in.csv", "images.idx");
    remove(in("in.csv"));
}

/* A version 1.0 .npy file: magic, little-endian header length, the header
 * dict padded with spaces to a 64-byte boundary, then the data. */
static void npy_write(const char *name, const char *dict, const void *data, size_t bytes)
{
    char head[512];
    size_t dl = strlen(dict);
    size_t total = (10 + dl + 1 + 63) / 64 * 64;
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (char)((total - 10) & 0xff);
    head[9] = (char)((total - 10) >> 8);
    memcpy(head + 10, dict, dl);
    memset(head + 10 + dl, ' ', total - 10 - dl - 1);
    head[total - 1] = '\n';
    unsigned char *all = malloc(total + bytes + 1);
    memcpy(all, head, total);
    if (bytes) memcpy(all + total, data, bytes);
    tu_write_file(in(name), all, total + bytes);
    free(all);
}

/* images.npy: uint8 [8,4,4]; labels.npy: int64 [8] 0..2. */
static void npy_good(void)
{
    uint8_t px[8 * 16];
    for (int i = 0; i < 8 * 16; i++) px[i] = (uint8_t)(i * 3);
    npy_write("images.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (8, 4, 4), }", px, sizeof px);
    int64_t lab[8];
    for (int i = 0; i < 8; i++) lab[i] = i % 3;
    npy_write("labels.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (8,), }", lab, sizeof lab);
}

static void npy_floats(float odd)
{
    npy_good();
    float px[8 * 16];
    for (int i = 0; i < 8 * 16; i++) px[i] = (float)(i % 16) / 16.0f;
    px[2 * 16 + 5] = odd;   /* record 2, pixel (1,1) */
    npy_write("images.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4, 4), }", px, sizeof px);
}

static void npy_nan(void) { npy_floats(NAN); }
static void npy_inf(void) { npy_floats(INFINITY); }
static void npy_above_max(void) { npy_floats(2.5f); }
static void npy_negative(void) { npy_floats(-0.5f); }

static void npy_empty(void)
{
    npy_good();
    text("images.npy", "");
}

static void npy_bad_magic(void)
{
    npy_good();
    text("images.npy", "PK\x03\x04 this is a zip, not an npy file");
}

static void npy_cut_header(void)
{
    npy_good();
    truncated_copy("images.npy", "cut.npy", 30);
    copy("cut.npy", "images.npy");
    remove(in("cut.npy"));
}

static void npy_garbled_header(void)
{
    npy_good();
    uint8_t px[8 * 16] = {0};
    npy_write("images.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (8, 4, 4 }", px, sizeof px);
}

static void npy_complex(void)
{
    npy_good();
    uint8_t px[8 * 16 * 8] = {0};
    npy_write("images.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (8, 4, 4), }", px, sizeof px);
}

static void npy_big_endian(void)
{
    npy_good();
    uint8_t px[8 * 16 * 4] = {0};
    npy_write("images.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (8, 4, 4), }", px, sizeof px);
}

static void npy_fortran(void)
{
    npy_good();
    uint8_t px[8 * 16] = {0};
    npy_write("images.npy", "{'descr': '|u1', 'fortran_order': True, 'shape': (8, 4, 4), }", px, sizeof px);
}

static void npy_absurd_shape(void)
{
    npy_good();
    uint8_t px[64] = {0};
    npy_write("images.npy",
              "{'descr': '|u1', 'fortran_order': False, 'shape': (2147483648, 2147483648, 2147483648), }", px,
              sizeof px);
}

static void npy_huge_shape(void)
{
    npy_good();
    uint8_t px[64] = {0};
    npy_write("images.npy",
              "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999, 4, 4), }", px,
              sizeof px);
}

static void npy_truncated_data(void)
{
    npy_good();
    uint8_t px[8 * 16 - 9] = {0};
    npy_write("images.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (8, 4, 4), }", px, sizeof px);
}

static void npy_five_channels(void)
{
    npy_good();
    uint8_t px[8 * 16 * 5] = {0};
    npy_write("images.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (8, 4, 4, 5), }", px, sizeof px);
}

static void npy_labels_2d(void)
{
    npy_good();
    int64_t lab[16] = {0};
    npy_write("labels.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (8, 2), }", lab, sizeof lab);
}

static void npy_labels_count(void)
{
    npy_good();
    int64_t lab[9] = {0};
    npy_write("labels.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (9,), }", lab, sizeof lab);
}

static void npy_labels_negative(void)
{
    npy_good();
    int64_t lab[8] = {0, 1, 2, 0, -4, 1, 2, 0};
    npy_write("labels.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (8,), }", lab, sizeof lab);
}

static void npy_labels_float(void)
{
    npy_good();
    float lab[8] = {0, 1, 2, 0, 1, 2, 0, 1.5f};
    npy_write("labels.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", lab, sizeof lab);
}

/* --- image folders --------------------------------------------------------*/

enum { SIDE = 8 };

static void png_file(const char *rel)
{
    rm_image img = {0};
    cr_assert_eq(rm_image_alloc(&img, SIDE, SIDE, 1), 0);
    for (int i = 0; i < SIDE * SIDE; i++) img.pixels[i] = (uint8_t)(i * 5);
    cr_assert_eq(rm_image_save_png(&img, in(rel)), 0, "%s", rm_error_message());
    rm_image_free(&img);
}

static void jpeg_file(const char *rel)
{
    FILE *f = fopen(in(rel), "wb");
    cr_assert(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = SIDE;
    c.image_height = SIDE;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    JSAMPLE row[SIDE];
    for (int i = 0; i < SIDE; i++) row[i] = (JSAMPLE)(i * 20);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void tiff_file(const char *rel)
{
    uint8_t px[SIDE * SIDE];
    for (int i = 0; i < SIDE * SIDE; i++) px[i] = (uint8_t)(i * 3);
    TIFF *t = TIFFOpen(in(rel), "w");
    cr_assert(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, SIDE);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, SIDE);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, SIDE);
    for (int y = 0; y < SIDE; y++) cr_assert_eq(TIFFWriteScanline(t, px + y * SIDE, (uint32_t)y, 0), 1);
    TIFFClose(t);
}

/* faces/{calm,tense}/ with two good PNGs each; the bad one is faces/tense/bad.EXT. */
static void faces(void)
{
    mkdirs("faces/calm");
    mkdirs("faces/tense");
    png_file("faces/calm/a.png");
    png_file("faces/calm/b.png");
    png_file("faces/tense/a.png");
    png_file("faces/tense/b.png");
}

static void bad_image(const char *ext, void (*write)(const char *), size_t keep)
{
    faces();
    char good[64], bad[64];
    snprintf(good, sizeof good, "good.%s", ext);
    snprintf(bad, sizeof bad, "faces/tense/bad.%s", ext);
    write(good);
    truncated_copy(good, bad, keep);
    remove(in(good));
}

static void png_truncated(void) { bad_image("png", png_file, 60); }
static void png_empty(void) { bad_image("png", png_file, 0); }
static void jpeg_truncated(void) { bad_image("jpg", jpeg_file, 200); }
static void jpeg_empty(void) { bad_image("jpg", jpeg_file, 0); }
static void tiff_truncated(void) { bad_image("tif", tiff_file, 20); }
static void tiff_empty(void) { bad_image("tif", tiff_file, 0); }

static void garbage_named(const char *rel)
{
    faces();
    text(rel, "this is plain text, not an image at all\n");
}

static void png_garbage(void) { garbage_named("faces/tense/bad.png"); }
static void jpeg_garbage(void) { garbage_named("faces/tense/bad.jpg"); }
static void tiff_garbage(void) { garbage_named("faces/tense/bad.tif"); }

/* Appends a PNG chunk (length, type, data, CRC) at b + *n. */
static void png_chunk(unsigned char *b, size_t *n, const char *type, const unsigned char *data, uint32_t len)
{
    unsigned char *c = b + *n;
    for (int k = 0; k < 4; k++) c[k] = (unsigned char)(len >> (24 - 8 * k));
    memcpy(c + 4, type, 4);
    if (len) memcpy(c + 8, data, len);
    uLong crc = crc32(0, c + 4, 4 + len);
    for (int k = 0; k < 4; k++) c[8 + len + k] = (unsigned char)(crc >> (24 - 8 * k));
    *n += 12 + len;
}

/* A PNG whose header claims 900000 x 900000 gray pixels (libpng's own
 * limit is 1000000 per side), with one short IDAT. */
static void png_absurd(void)
{
    faces();
    unsigned char b[256] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n = 8;
    unsigned char ihdr[13] = {0};
    const uint32_t side = 900000;
    for (int k = 0; k < 4; k++) ihdr[k] = ihdr[4 + k] = (unsigned char)(side >> (24 - 8 * k));
    ihdr[8] = 8;   /* bit depth; colour type 0: gray */
    png_chunk(b, &n, "IHDR", ihdr, 13);
    unsigned char raw[64] = {0}, z[128];
    uLongf zlen = sizeof z;
    cr_assert_eq(compress(z, &zlen, raw, sizeof raw), Z_OK);
    png_chunk(b, &n, "IDAT", z, (uint32_t)zlen);
    png_chunk(b, &n, "IEND", NULL, 0);
    tu_write_file(in("faces/tense/bad.png"), b, n);
}

/* A JPEG whose frame header claims 65000 x 65000 pixels. */
static void jpeg_absurd(void)
{
    faces();
    jpeg_file("good.jpg");
    size_t n;
    unsigned char *b = slurp("good.jpg", &n);
    size_t i = 2;
    while (i + 9 < n && !(b[i] == 0xFF && b[i + 1] == 0xC0)) i++;
    cr_assert_lt(i + 9, n, "no SOF0 marker");
    b[i + 5] = b[i + 7] = 0xFD;
    b[i + 6] = b[i + 8] = 0xE8;
    tu_write_file(in("faces/tense/bad.jpg"), b, n);
    free(b);
    remove(in("good.jpg"));
}

/* A TIFF whose width and length tags claim 65535 x 65535 pixels. */
static void tiff_absurd(void)
{
    faces();
    tiff_file("good.tif");
    size_t n;
    unsigned char *b = slurp("good.tif", &n);
    cr_assert(b[0] == 'I' && b[1] == 'I', "expected a little-endian TIFF");
    uint32_t ifd = b[4] | b[5] << 8 | b[6] << 16 | (uint32_t)b[7] << 24;
    int entries = b[ifd] | b[ifd + 1] << 8;
    int patched = 0;
    for (int e = 0; e < entries; e++) {
        unsigned char *t = b + ifd + 2 + 12 * e;
        int tag = t[0] | t[1] << 8;
        if (tag == 256 || tag == 257) {
            t[8] = t[9] = 0xFF;
            patched++;
        }
    }
    cr_assert_eq(patched, 2);
    tu_write_file(in("faces/tense/bad.tif"), b, n);
    free(b);
    remove(in("good.tif"));
}

static void faces_empty_class(void)
{
    faces();
    mkdirs("faces/sleepy");
}

static void faces_no_classes(void)
{
    mkdirs("faces");
    png_file("faces/loose.png");
}

static void faces_bad_map(void)
{
    faces();
    text("map.txt", "calm\n# a comment\ntense=\n");
}

static void faces_map_missing(void)
{
    faces();
    text("map.txt", "calm\n");
}

/* --- relevance import -----------------------------------------------------*/

static void rel_npy(const char *shape, int count, float odd)
{
    data16();
    float *v = calloc((size_t)count, sizeof *v);
    for (int i = 0; i < count; i++) v[i] = (float)(i % 7) / 7.0f;
    if (count > 300) v[300] = odd;
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    npy_write("rel.npy", dict, v, (size_t)count * sizeof *v);
    free(v);
}

static void rel_npy_nan(void) { rel_npy("(60, 16, 16)", 60 * 256, NAN); }
static void rel_npy_inf(void) { rel_npy("(60, 16, 16)", 60 * 256, -INFINITY); }
static void rel_npy_too_many(void) { rel_npy("(61, 16, 16)", 61 * 256, 0); }
static void rel_npy_wrong_hw(void) { rel_npy("(60, 16, 15)", 60 * 240, 0); }
static void rel_npy_three_channels(void) { rel_npy("(60, 3, 16, 16)", 60 * 3 * 256, 0); }
static void rel_npy_absurd(void) { rel_npy("(4294967296, 4294967296, 16)", 1024, 0); }
static void rel_npy_truncated(void) { rel_npy("(60, 16, 16)", 60 * 256 - 100, 0); }

static void rel_h5_wrong_shape(void)
{
    data16();
    hsize_t dims[3] = {60, 20, 20};
    h5_array("rel.h5", "maps", 3, dims, 0.5f);
}

static void rel_h5_nan(void)
{
    data16();
    hsize_t dims[3] = {60, 16, 16};
    h5_array("rel.h5", "maps", 3, dims, 0.5f);
    h5_poke("rel.h5", "maps", 7 * 256 + 3, NAN);
}

static void rel_h5_good(void)
{
    data16();
    hsize_t dims[3] = {60, 16, 16};
    h5_array("rel.h5", "maps", 3, dims, 0.5f);
}

static void rel_h5_not_hdf5(void)
{
    data16();
    text("rel.h5", "not an HDF5 file\n");
}

static void rel_png_truncated(void)
{
    data16();
    mkdirs("maps");
    for (int i = 0; i < 60; i++) {
        char name[64];
        snprintf(name, sizeof name, "maps/%d.png", i);
        png_file(name);
    }
    truncated_copy("maps/4.png", "maps/cut", 50);
    copy("maps/cut", "maps/4.png");
    remove(in("maps/cut"));
}

static void rel_png_missing(void)
{
    rel_png_truncated();
    copy("maps/3.png", "maps/4.png");
    remove(in("maps/17.png"));
}

static void fix_csv(const char *rows)
{
    data16();
    char buf[4096];
    snprintf(buf, sizeof buf, "image,x,y,duration\n0,3,4,200\n%s", rows);
    text("fix.csv", buf);
}

static void fix_image_60(void) { fix_csv("60,3,4,200\n"); }
static void fix_image_negative(void) { fix_csv("-1,3,4,200\n"); }
static void fix_x_word(void) { fix_csv("1,left,4,200\n"); }
static void fix_x_nan(void) { fix_csv("1,nan,4,200\n"); }
static void fix_duration_inf(void) { fix_csv("1,3,4,inf\n"); }
static void fix_non_utf8(void) { fix_csv("1,3\xff\xfe,4,200\n"); }
static void fix_fields(void) { fix_csv("1,3,4\n"); }

static void fix_megabyte_line(void)
{
    data16();
    FILE *f = fopen(in("fix.csv"), "wb");
    cr_assert(f);
    fputs("image,x,y,duration\n0,3,4,200\n1,3,4,", f);
    for (int i = 0; i < 1 << 20; i++) fputc('9', f);
    fputs("\n", f);
    fclose(f);
}

/* --- broken HDF5 inputs to the later stages -------------------------------*/

static void d_not_hdf5(void)
{
    relevance16();
    text("x.h5", "emotion,pixels,Usage\n0,1 2 3,Training\n");
}

static void d_empty(void)
{
    relevance16();
    text("x.h5", "");
}

static void d_plain_hdf5(void)
{
    relevance16();
    hsize_t dims[2] = {4, 4};
    h5_array("x.h5", "images", 2, dims, 1);
}

static void d_truncated(void)
{
    relevance16();
    size_t n;
    free(slurp("d.h5", &n));
    truncated_copy("d.h5", "x.h5", n / 2);
}

static void d_version_99(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_attr_int("x.h5", "schema_version", 99);
}

static void d_version_string(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_attr_string("x.h5", "schema_version", "1");
}

static void d_no_schema(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_attr_delete("x.h5", "schema");
}

static void d_no_labels(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_unlink("x.h5", "labels");
}

static void d_no_images(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_unlink("x.h5", "images");
}

static void d_no_classes(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_attr_delete("x.h5", "class_names");
}

static void d_num_classes_string(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_attr_string("x.h5", "num_classes", "seven");
}

static void d_num_classes_5(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_attr_int("x.h5", "num_classes", 5);
}

static void d_label_9(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_poke("x.h5", "labels", 11, 9);
}

static void d_split_7(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    h5_poke("x.h5", "split", 5, 7);
}

static void d_model_as_data(void) { model16(); }

/* Replaces dataset `path` by an empty chunked one of the given shape: HDF5
 * stores nothing for unwritten chunks, so a small file can declare 2^33
 * records. */
static void h5_huge(const char *name, const char *path, int rank, const hsize_t *dims, hid_t type)
{
    hid_t f = h5_rw(name);
    if (H5Lexists(f, path, H5P_DEFAULT) > 0) cr_assert_geq(H5Ldelete(f, path, H5P_DEFAULT), 0);
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[4] = {1, 1, 1, 1};
    for (int i = 1; i < rank; i++) chunk[i] = dims[i];
    cr_assert_geq(H5Pset_chunk(pl, rank, chunk), 0);
    hid_t d = H5Dcreate2(f, path, type, s, H5P_DEFAULT, pl, H5P_DEFAULT);
    cr_assert_geq(d, 0, "%s: cannot create %s", name, path);
    H5Dclose(d);
    H5Pclose(pl);
    H5Sclose(s);
    H5Fclose(f);
}

static void d_huge(void)
{
    relevance16();
    copy("d.h5", "x.h5");
    const hsize_t n = (hsize_t)1 << 33, di[4] = {n, 1, 16, 16};
    h5_huge("x.h5", "images", 4, di, H5T_STD_U8LE);
    h5_huge("x.h5", "labels", 1, &n, H5T_STD_I32LE);
    h5_huge("x.h5", "split", 1, &n, H5T_STD_U8LE);
    h5_unlink("x.h5", "regions");
}

static void r_huge(void)
{
    relevance16();
    copy("r.h5", "x.h5");
    const hsize_t n = (hsize_t)1 << 33, dh[3] = {n, 16, 16};
    h5_huge("x.h5", "heatmap", 3, dh, H5T_IEEE_F32LE);
    h5_huge("x.h5", "heatmap_image", 3, dh, H5T_STD_U8LE);
    static const char *const vec[][2] = {{"index", "i64"}, {"label", "i32"}, {"explained", "i32"},
                                         {"predicted", "i32"}, {"score", "f32"}, {"sum", "f32"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++)
        h5_huge("x.h5", vec[i][0], 1, &n,
                !strcmp(vec[i][1], "i64") ? H5T_STD_I64LE : !strcmp(vec[i][1], "i32") ? H5T_STD_I32LE : H5T_IEEE_F32LE);
    h5_attr_int("x.h5", "records_done", (int64_t)n);
}

static void m_nan(void)
{
    model16();
    copy("m.h5", "x.h5");
    h5_poke("x.h5", "params/conv1/weight", 4, NAN);
}

static void m_inf(void)
{
    model16();
    copy("m.h5", "x.h5");
    h5_poke("x.h5", "params/dense1/bias", 2, INFINITY);
}

static void m_no_weight(void)
{
    model16();
    copy("m.h5", "x.h5");
    h5_unlink("x.h5", "params/dense1/weight");
}

static void m_bad_net_text(void)
{
    model16();
    copy("m.h5", "x.h5");
    h5_attr_string("x.h5", "net_text", "[net]\ninput = 1x16x16\nclasses = 7\n[conv]\nfilters = 2\nsize = 3\n[wobble]\n");
}

static void m_version_2(void)
{
    model16();
    copy("m.h5", "x.h5");
    h5_attr_int("x.h5", "schema_version", 2);
}

static void m_no_norm(void)
{
    model16();
    copy("m.h5", "x.h5");
    h5_attr_delete("x.h5", "normalization_mean");
}

static void m_and_d20(void)
{
    model16();
    data20();
}

static void r_and_d20(void)
{
    relevance16();
    data20();
}

static void r_nan(void)
{
    relevance16();
    copy("r.h5", "x.h5");
    h5_poke("x.h5", "heatmap", 3 * 256 + 17, NAN);
}

static void r_inf(void)
{
    relevance16();
    copy("r.h5", "x.h5");
    h5_poke("x.h5", "heatmap", 5, -INFINITY);
}

static void r_unfinished(void)
{
    relevance16();
    copy("r.h5", "x.h5");
    h5_attr_int("x.h5", "records_done", 10);
}

static void r_index_out_of_range(void)
{
    relevance16();
    copy("r.h5", "x.h5");
    hid_t f = h5_rw("x.h5");
    hid_t d = H5Dopen2(f, "index", H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    hsize_t n;
    H5Sget_simple_extent_dims(s, &n, NULL);
    int64_t *v = malloc(n * sizeof *v);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    v[n - 1] = 600;
    cr_assert_geq(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    free(v);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
}

static void r_no_heatmap(void)
{
    relevance16();
    copy("r.h5", "x.h5");
    h5_unlink("x.h5", "heatmap");
}

static void r_is_dataset(void) { relevance16(); }

static void report_dir(void)
{
    model16();
    mkdirs("exp/runs/raw/seed1");
    copy("m.h5", "exp/runs/raw/seed1/model.h5");
}

static void report_bad_json(void)
{
    report_dir();
    text("exp/runs/raw/seed1/test.json", "{\"accuracy\": 0.5, \"count\": \n");
}

static void report_bad_model(void)
{
    report_dir();
    text("exp/runs/raw/seed1/test.json", "{}");
    ok("eval -q --model m.h5 --data d.h5 --split test --force --out exp/runs/raw/seed1/test.json");
    text("exp/runs/raw/seed1/model.h5", "truncated\n");
}

/* --- network definitions --------------------------------------------------*/

static void net_file(const char *body)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "# a network\n[net]\ninput = 1x16x16\nclasses = 7\n%s", body);
    text("bad.cfg", buf);
}

static void net_unknown_layer(void) { net_file("[conv]\nfilters = 2\nsize = 3\n[convolution]\nsize = 3\n"); }
static void net_unknown_key(void) { net_file("[conv]\nfilterz = 2\nsize = 3\n[dense]\nunits = 7\n"); }
static void net_bad_value(void) { net_file("[conv]\nfilters = two\nsize = 3\n[dense]\nunits = 7\n"); }
static void net_negative(void) { net_file("[conv]\nfilters = -2\nsize = 3\n[dense]\nunits = 7\n"); }
static void net_huge_value(void) { net_file("[conv]\nfilters = 99999999999999999999\nsize = 3\n[dense]\nunits = 7\n"); }
static void net_no_equals(void) { net_file("[conv]\nfilters 2\nsize = 3\n[dense]\nunits = 7\n"); }
static void net_unterminated(void) { net_file("[conv\nfilters = 2\nsize = 3\n[dense]\nunits = 7\n"); }
static void net_too_small(void) { net_file("[maxpool]\nsize = 32\n[dense]\nunits = 7\n"); }
static void net_wrong_classes(void) { net_file("[dense]\nunits = 5\n"); }
static void net_bad_input(void) { net_file("[dense]\nunits = 7\n"); text("bad.cfg", "[net]\ninput = 1x16\nclasses = 7\n[dense]\nunits = 7\n"); }
static void net_non_utf8(void) { net_file("[conv]\nfil\xe9ters = 2\nsize = 3\n[dense]\nunits = 7\n"); }
static void net_no_net(void) { text("bad.cfg", "# no [net]\n[conv]\nfilters = 2\nsize = 3\n[dense]\nunits = 7\n"); }
static void net_key_first(void) { text("bad.cfg", "filters = 2\n[net]\ninput = 1x16x16\nclasses = 7\n"); }
static void net_empty(void) { text("bad.cfg", ""); }
static void net_nul(void) { tu_write_file(in("bad.cfg"), "[net]\ninput = 1x16x16\0\nclasses = 7\n", 33); }
static void net_duplicate_key(void) { net_file("[conv]\nfilters = 2\nfilters = 3\nsize = 3\n[dense]\nunits = 7\n"); }

static void net_for_train(void (*body)(void))
{
    data16();
    body();
}

static void train_unknown_layer(void) { net_for_train(net_unknown_layer); }
static void train_input_12(void)
{
    data16();
    text("bad.cfg", "[net]\ninput = 1x12x12\nclasses = 7\n[dense]\nunits = 7\n");
}
static void train_classes_3(void)
{
    data16();
    text("bad.cfg", "[net]\ninput = 1x16x16\nclasses = 3\n[dense]\nunits = 3\n");
}

/* --- more inputs ----------------------------------------------------------*/

static void idx_zero_height(void)
{
    idx_good(8, -1);
    uint32_t di[3] = {8, 0, 4};
    idx_write("images.idx", 0, 0x08, 3, di, NULL, 0);
}

static void npy_zero_records(void)
{
    npy_good();
    npy_write("images.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 4, 4), }", NULL, 0);
    npy_write("labels.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (0,), }", NULL, 0);
}

static void predict_npy_absurd(void)
{
    model16();
    uint8_t px[64] = {0};
    npy_write("in.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (2147483648, 1, 16, 16), }", px,
              sizeof px);
}

static void jaffe_unknown_code(void)
{
    mkdirs("jaffe");
    tiff_file("jaffe/KA.HA1.29.tiff");
    tiff_file("jaffe/KA.XX1.30.tiff");
}

static void jaffe_truncated(void)
{
    mkdirs("jaffe");
    tiff_file("jaffe/KA.HA1.29.tiff");
    truncated_copy("jaffe/KA.HA1.29.tiff", "jaffe/KA.SA1.33.tiff", 30);
}

static void jaffe_three(void)
{
    mkdirs("jaffe");
    tiff_file("jaffe/KA.NE1.26.tiff");
    tiff_file("jaffe/KA.HA1.29.tiff");
    tiff_file("jaffe/KA.SA1.33.tiff");
}

static void garbage_ckpt(void)
{
    data16();
    text("out.h5.ckpt", "not a checkpoint\n");
}

static void encoded_other_dataset(void)
{
    relevance16();
    data20();
}

/* --- knowledge distillation's teacher (train --distill) ---------------------*/

/* A black-box predictions file for d.h5 (60 records): the schema, /indices
 * of every record but 1 (test) and `skip` (-1: none), /logits [n,k], a NaN
 * for record `nan_at` (-1: none); no class names, no data fingerprint. */
static void blackbox(int k, int skip, int nan_at)
{
    data16();
    rm_h5_init();
    hid_t f = H5Fcreate(in("p.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    cr_assert_eq(rm_h5_attr_set_string(f, "schema", "relmask.predictions"), 0, "%s", rm_error_message());
    int64_t idx[60];
    float logits[60 * 8];
    hsize_t n = 0;
    for (int r = 0; r < 60; r++) {
        if (r == 1 || r == skip) continue;
        for (int j = 0; j < k; j++)
            logits[n * (hsize_t)k + (hsize_t)j] = r == nan_at && j == 2 ? NAN : 0.1f * (float)(j - r % 7);
        idx[n++] = r;
    }
    hsize_t nk[2] = {n, (hsize_t)k};
    cr_assert_eq(rm_h5_write_dataset(f, "/indices", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, idx), 0);
    cr_assert_eq(rm_h5_write_dataset(f, "/logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, nk, logits), 0);
    H5Fclose(f);
}
static void teacher_3_classes(void) { blackbox(3, -1, -1); }
static void teacher_misses_6(void) { blackbox(7, 6, -1); }   /* record 6 is a train record of d.h5 */
static void teacher_nan_7(void) { blackbox(7, -1, 7); }
static void teacher_renamed_class(void)
{
    blackbox(7, -1, -1);
    static const char *const names[7] = {"c0", "c1", "c2", "joy", "c4", "c5", "c6"};
    hid_t f = h5_rw("p.h5");
    cr_assert_eq(rm_h5_attr_set_strings(f, "class_names", 7, names), 0, "%s", rm_error_message());
    H5Fclose(f);
}
static void teacher_other_dataset(void)
{
    model16();
    ok("synth -q -n 80 --size 16 --val 0.2 --test 0.2 -o d80.h5");
    ok("predict -q --model m.h5 -d d80.h5 -o p.h5");
}

/* --- the catalogue --------------------------------------------------------*/

/* --- import onnx -----------------------------------------------------------*/

/* An ONNX fixture (tests/fixtures/onnx/) copied to model.onnx, whole or cut. */
static void onnx_fixture(const char *name, size_t keep)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/onnx/%s", getenv("RELMASK_FIXTURES"), name);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert(n > 0 && n < sizeof buf, "%s: unexpected size", path);
    tu_write_file(in("model.onnx"), buf, keep < n ? keep : n);
}
static void onnx_seq(void) { onnx_fixture("seq_opset13.onnx", SIZE_MAX); }
static void onnx_truncated(void) { onnx_fixture("seq_opset13.onnx", 6000); }
static void onnx_nan(void) { onnx_fixture("nan_opset13.onnx", SIZE_MAX); }
static void onnx_gated(void) { onnx_fixture("gated_opset13.onnx", SIZE_MAX); }
static void onnx_pad_reflect(void) { onnx_fixture("refused_pad_reflect.onnx", SIZE_MAX); }
static void onnx_pad_value(void) { onnx_fixture("refused_pad_value.onnx", SIZE_MAX); }
static void onnx_pad_negative(void) { onnx_fixture("refused_pad_negative.onnx", SIZE_MAX); }
static void onnx_pad_maxpool(void) { onnx_fixture("refused_pad_maxpool.onnx", SIZE_MAX); }
static void onnx_pad_relu(void) { onnx_fixture("refused_pad_relu.onnx", SIZE_MAX); }
static void onnx_avg_ceil(void) { onnx_fixture("refused_avg_ceil.onnx", SIZE_MAX); }
static void onnx_opset7(void) { onnx_fixture("opset7.onnx", SIZE_MAX); }
/* The quant TF.js fixture in the scratch directory, its model.json cut to
 * `keep` bytes, shard `drop` removed and shard `cut` halved. */
static void tfjs_copy(size_t keep, const char *drop, const char *cut)
{
    static const char *const names[] = {"model.json", "group1-shard1of2.bin", "group1-shard2of2.bin",
                                        "group2-shard1of1.bin"};
    for (int k = 0; k < 4; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/tfjs/quant/%s", getenv("RELMASK_FIXTURES"), names[k]);
        FILE *f = fopen(path, "rb");
        cr_assert(f, "cannot open %s", path);
        unsigned char buf[1 << 14];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (k == 0 && keep < n) n = keep;
        if (cut && !strcmp(cut, names[k])) n /= 2;
        if (!drop || strcmp(drop, names[k])) tu_write_file(in(names[k]), buf, n);
    }
}
static void tfjs_truncated(void) { tfjs_copy(700, NULL, NULL); }
static void tfjs_no_shard(void) { tfjs_copy(SIZE_MAX, "group2-shard1of1.bin", NULL); }
static void tfjs_short_shard(void) { tfjs_copy(SIZE_MAX, NULL, "group1-shard2of2.bin"); }
/* A TF.js layers fixture (tests/fixtures/tfjs/<name>/) in the scratch
 * directory, `from` replaced by `to` in its model.json and shard `cut`
 * halved. */
static void tfjs_layers_copy(const char *name, const char *from, const char *to, const char *cut)
{
    static const char *const shards[] = {"group1-shard1of1.bin", "group2-shard1of1.bin"};
    char path[4096];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/tfjs/%s/%s", getenv("RELMASK_FIXTURES"), name, shards[k]);
        FILE *f = fopen(path, "rb");
        if (!f) continue;   /* layers_seq has one group */
        static unsigned char buf[1 << 14];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        cr_assert(n > 0 && n < sizeof buf, "%s: unexpected size", path);
        if (cut && !strcmp(cut, shards[k])) n /= 2;
        tu_write_file(in(shards[k]), buf, n);
    }
    snprintf(path, sizeof path, "%s/tfjs/%s/model.json", getenv("RELMASK_FIXTURES"), name);
    char *json = tu_read_text(path);
    cr_assert(json, "cannot read %s", path);
    char *at = from ? strstr(json, from) : NULL;
    cr_assert(!from || at, "'%s' is not in %s", from, path);
    size_t len = strlen(json) + (to ? strlen(to) : 0) + 1;
    char *edited = malloc(len);
    cr_assert(edited);
    if (at) snprintf(edited, len, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    else snprintf(edited, len, "%s", json);
    text("model.json", edited);
    free(edited);
    free(json);
}
static void tfjs_layers_unsupported(void)
{
    tfjs_layers_copy("layers_seq", "\"class_name\": \"MaxPooling2D\"", "\"class_name\": \"Conv3D\"", NULL);
}
static void tfjs_layers_no_weight(void)
{
    tfjs_layers_copy("layers_seq", "\"name\": \"dense_2/bias\"", "\"name\": \"dense_2/offset\"", NULL);
}
static void tfjs_layers_short_shard(void) { tfjs_layers_copy("layers_func", NULL, NULL, "group2-shard1of1.bin"); }
static void tfjs_layers_unknown_inbound(void)
{
    tfjs_layers_copy("layers_func", "[[[\"add\", 0, 0, {}]]]", "[[[\"nowhere\", 0, 0, {}]]]", NULL);
}

static void onnx_garbage(void) { text("model.onnx", "{\"this\": \"is JSON, not a protobuf\"}\n"); }
static void onnx_empty(void) { text("model.onnx", ""); }

typedef struct {
    const char *category;
    const char *name;
    void (*make)(void);
    const char *args;          /* run in the scratch directory */
    int code;                  /* expected exit code */
    const char *expect[4];     /* substrings of stderr */
    const char *out;           /* the output the command must not write, or NULL */
    int low_as;                /* run under a 2 GiB address-space limit */
} bad_case;

#define FER "ingest fer2013 in.csv -o out.h5"
#define IDX "ingest idx images.idx --labels labels.idx --classes a,b,c -o out.h5"
#define NPY "ingest npy images.npy --labels labels.npy -o out.h5"
#define FOLDER "ingest folder faces -o out.h5 --size 8 --val 0 --test 0"
#define IMPORT "relevance import -d d.h5 -o out.h5 "
#define OCC "relevance -q --method occlusion -d d.h5 -o out.h5 --predict-cmd "

static const bad_case cases[] = {
    /* FER2013 CSV */
    {"fer2013", "header only", fer_header_only, FER, 1, {"in.csv", "no records"}, "out.h5", 0},
    {"fer2013", "2303 pixels", fer_2303_pixels, FER, 1, {"in.csv:4", "expected 2304 pixels, got 2303"}, "out.h5", 0},
    {"fer2013", "2305 pixels", fer_2305_pixels, FER, 1, {"in.csv:4", "expected 2304 pixels"}, "out.h5", 0},
    {"fer2013", "pixel 256", fer_pixel_256, FER, 1, {"in.csv:4", "pixel 6 '256'", "integer 0..255"}, "out.h5", 0},
    {"fer2013", "pixel not a number", fer_pixel_word, FER, 1, {"in.csv:4", "'abc'", "integer 0..255"}, "out.h5", 0},
    {"fer2013", "negative pixel", fer_pixel_negative, FER, 1, {"in.csv:4", "'-1'", "integer 0..255"}, "out.h5", 0},
    {"fer2013", "emotion 7", fer_emotion_7, FER, 1, {"in.csv:4", "emotion '7'", "integer 0..6"}, "out.h5", 0},
    {"fer2013", "emotion -1", fer_emotion_negative, FER, 1, {"in.csv:4", "emotion '-1'", "integer 0..6"}, "out.h5", 0},
    {"fer2013", "emotion a word", fer_emotion_word, FER, 1, {"in.csv:4", "emotion 'happy'", "integer 0..6"}, "out.h5", 0},
    {"fer2013", "unknown Usage", fer_bad_usage, FER, 1, {"in.csv:4", "Holdout", "expected Training, PublicTest or PrivateTest"}, "out.h5", 0},
    {"fer2013", "non-UTF-8 pixel", fer_non_utf8, FER, 1, {"in.csv:4", "'\\xFF\\xFE'", "integer 0..255"}, "out.h5", 0},
    {"fer2013", "non-UTF-8 Usage", fer_non_utf8_usage, FER, 1, {"in.csv:4", "Tr\\xE9ining", "expected Training"}, "out.h5", 0},
    {"fer2013", "extra field", fer_too_many_fields, FER, 1, {"in.csv:4", "expected 3 comma-separated fields, got 4"}, "out.h5", 0},
    {"fer2013", "missing fields", fer_too_few_fields, FER, 1, {"in.csv:4", "expected 3 comma-separated fields, got 1"}, "out.h5", 0},
    {"fer2013", "1 MB line", fer_megabyte_line, FER, 1, {"in.csv:4", "line longer than"}, "out.h5", 0},
    {"fer2013", "file cut mid-row", fer_cut_mid_row, FER, 1, {"in.csv:4", "expected 3 comma-separated fields, got 2"}, "out.h5", 0},
    {"fer2013", "NUL byte", fer_nul_byte, FER, 1, {"in.csv:4", "NUL byte"}, "out.h5", 0},
    {"fer2013", "binary garbage", fer_garbage, FER, 1, {"in.csv:1", "expected a header", "\\x11\\x94"}, "out.h5", 0},
    {"fer2013", "no pixels column", fer_no_pixels_column, FER, 1, {"in.csv:1", "pixels"}, "out.h5", 0},
    {"fer2013", "label beyond --classes", fer_emotion_7, FER " --classes a,b,c", 1, {"in.csv:3", "label 3 out of range 0..2"}, "out.h5", 0},
    {"fer2013", "missing file", NULL, FER, 1, {"in.csv", "cannot open"}, "out.h5", 0},
    /* IDX */
    {"idx", "label 10", idx_label_10, IDX, 1, {"labels.idx", "record 3", "label 10 out of range 0..2"}, "out.h5", 0},
    {"idx", "label 3 of 3 classes", idx_label_3_of_3, IDX, 1, {"labels.idx", "record 3", "label 3 out of range 0..2"}, "out.h5", 0},
    {"idx", "empty file", idx_empty, IDX, 1, {"images.idx", "not an IDX file", "0 bytes"}, "out.h5", 0},
    {"idx", "3-byte header", idx_short_header, IDX, 1, {"images.idx", "not an IDX file", "3 bytes"}, "out.h5", 0},
    {"idx", "bad magic", idx_bad_magic, IDX, 1, {"images.idx", "bad magic"}, "out.h5", 0},
    {"idx", "float elements", idx_float_type, IDX, 1, {"images.idx", "0x0D", "expected 0x08"}, "out.h5", 0},
    {"idx", "truncated data", idx_truncated, IDX, 1, {"images.idx", "truncated", "record 7 of 8"}, "out.h5", 0},
    {"idx", "truncated gzip", idx_truncated_gz, IDX, 1, {"images.idx", "truncated"}, "out.h5", 0},
    {"idx", "2^31 cubed dimensions", idx_absurd_dims, IDX, 1, {"images.idx", "2147483648x2147483648", "out of range"}, "out.h5", 1},
    {"idx", "2^32-1 images of 28x28", idx_absurd_count, IDX, 1, {"images.idx", "truncated", "of 4294967295"}, "out.h5", 1},
    {"idx", "2^32-16 labels", idx_absurd_labels, IDX, 1, {"labels.idx", "truncated", "of 4294967280"}, "out.h5", 1},
    {"idx", "image/label count mismatch", idx_count_mismatch, IDX, 1, {"images.idx has 8 images", "labels.idx has 7 labels"}, "out.h5", 0},
    {"idx", "zero image height", idx_zero_height, IDX, 1, {"images.idx", "out of range"}, "out.h5", 0},
    {"idx", "2-D labels", idx_labels_2d, IDX, 1, {"labels.idx", "2 dimensions", "expected 1"}, "out.h5", 0},
    {"idx", "5 channels", idx_five_channels, IDX, 1, {"images.idx", "5 channels", "expected 1 or 3"}, "out.h5", 0},
    {"idx", "garbage", idx_garbage, IDX, 1, {"images.idx", "not an IDX file"}, "out.h5", 0},
    /* NPY */
    {"npy", "NaN pixel", npy_nan, NPY, 1, {"images.npy", "record 2", "nan outside [0, 1]"}, "out.h5", 0},
    {"npy", "Inf pixel", npy_inf, NPY, 1, {"images.npy", "record 2", "inf outside [0, 1]"}, "out.h5", 0},
    {"npy", "float above --float-max", npy_above_max, NPY, 1, {"images.npy", "record 2", "2.5 outside [0, 1]"}, "out.h5", 0},
    {"npy", "negative float", npy_negative, NPY, 1, {"images.npy", "record 2", "-0.5 outside [0, 1]"}, "out.h5", 0},
    {"npy", "empty file", npy_empty, NPY, 1, {"images.npy", "not an NPY file", "0 bytes"}, "out.h5", 0},
    {"npy", "not NumPy magic", npy_bad_magic, NPY, 1, {"images.npy", "bad magic", "expected 0x934E554D5059"}, "out.h5", 0},
    {"npy", "header cut short", npy_cut_header, NPY, 1, {"images.npy", "truncated NPY header", "expected 118 bytes"}, "out.h5", 0},
    {"npy", "garbled header", npy_garbled_header, NPY, 1, {"images.npy", "malformed NPY header", "'shape'"}, "out.h5", 0},
    {"npy", "complex dtype", npy_complex, NPY, 1, {"images.npy", "<c8"}, "out.h5", 0},
    {"npy", "big-endian floats", npy_big_endian, NPY, 1, {"images.npy", ">f4"}, "out.h5", 0},
    {"npy", "Fortran order", npy_fortran, NPY, 1, {"images.npy", "Fortran-order", "C-order"}, "out.h5", 0},
    {"npy", "2^31 cubed shape", npy_absurd_shape, NPY, 1, {"images.npy", "overflows"}, "out.h5", 1},
    {"npy", "shape beyond 64 bits", npy_huge_shape, NPY, 1, {"images.npy", "dimension 99999999999999999999999 does not fit in 64 bits"}, "out.h5", 1},
    {"npy", "truncated data", npy_truncated_data, NPY, 1, {"images.npy", "truncated", "record 7 of 8"}, "out.h5", 0},
    {"npy", "5 channels", npy_five_channels, NPY, 1, {"images.npy", "(8, 4, 4, 5)", "C = 1 or 3"}, "out.h5", 0},
    {"npy", "zero records", npy_zero_records, NPY, 1, {"images.npy"}, "out.h5", 0},
    {"npy", "predict --npy-in of 2^31 images", predict_npy_absurd, "predict -q --model m.h5 --npy-in in.npy --npy-out out.npy", 1, {"in.npy", "truncated", "of 2147483648"}, "out.npy", 1},
    {"npy", "2-D labels", npy_labels_2d, NPY, 1, {"labels.npy", "must be a 1-D integer array", "2 dimension"}, "out.h5", 0},
    {"npy", "label count mismatch", npy_labels_count, NPY, 1, {"images.npy has 8 images", "labels.npy has 9 labels"}, "out.h5", 0},
    {"npy", "negative label", npy_labels_negative, NPY, 1, {"labels.npy", "record 4", "label -4 out of range 0..2"}, "out.h5", 0},
    {"npy", "float labels", npy_labels_float, NPY, 1, {"labels.npy", "1-D integer array", "'<f4'"}, "out.h5", 0},
    {"npy", "label beyond --classes", npy_good, NPY " --classes a,b", 1, {"labels.npy", "record 2", "out of range 0..1"}, "out.h5", 0},
    /* image folders */
    {"folder", "truncated PNG", png_truncated, FOLDER, 1, {"faces/tense/bad.png", "truncated"}, "out.h5", 0},
    {"folder", "empty PNG", png_empty, FOLDER, 1, {"faces/tense/bad.png", "empty file"}, "out.h5", 0},
    {"folder", "text named .png", png_garbage, FOLDER, 1, {"faces/tense/bad.png", "not a PNG, JPEG, TIFF or PGM/PPM image"}, "out.h5", 0},
    {"folder", "PNG of 900000^2 pixels", png_absurd, FOLDER, 1, {"faces/tense/bad.png", "900000x900000", "outside 1..16384"}, "out.h5", 1},
    {"folder", "truncated JPEG", jpeg_truncated, FOLDER, 1, {"faces/tense/bad.jpg", "truncated"}, "out.h5", 0},
    {"folder", "empty JPEG", jpeg_empty, FOLDER, 1, {"faces/tense/bad.jpg", "empty file"}, "out.h5", 0},
    {"folder", "text named .jpg", jpeg_garbage, FOLDER, 1, {"faces/tense/bad.jpg", "not a PNG, JPEG, TIFF or PGM/PPM image"}, "out.h5", 0},
    {"folder", "JPEG of 65000^2 pixels", jpeg_absurd, FOLDER, 1, {"faces/tense/bad.jpg", "65000x65000", "outside 1..16384"}, "out.h5", 1},
    {"folder", "truncated TIFF", tiff_truncated, FOLDER, 1, {"faces/tense/bad.tif", "bad TIFF file"}, "out.h5", 0},
    {"folder", "empty TIFF", tiff_empty, FOLDER, 1, {"faces/tense/bad.tif", "empty file"}, "out.h5", 0},
    {"folder", "text named .tif", tiff_garbage, FOLDER, 1, {"faces/tense/bad.tif", "not a PNG, JPEG, TIFF or PGM/PPM image"}, "out.h5", 0},
    {"folder", "TIFF of 65535^2 pixels", tiff_absurd, FOLDER, 1, {"faces/tense/bad.tif", "65535x65535", "outside 1..16384"}, "out.h5", 1},
    {"folder", "empty class folder", faces_empty_class, FOLDER, 1, {"faces/sleepy", "empty class folder"}, "out.h5", 0},
    {"folder", "no class folders", faces_no_classes, FOLDER, 1, {"faces: no class folders", "expected faces/<class>/<image>"}, "out.h5", 0},
    {"folder", "missing root", NULL, FOLDER, 1, {"faces: no such folder"}, "out.h5", 0},
    {"folder", "malformed class map", faces_bad_map, FOLDER " --class-map map.txt", 1, {"map.txt:3", "expected 'folder' or 'folder=class name'"}, "out.h5", 0},
    {"folder", "class map lacks a folder", faces_map_missing, FOLDER " --class-map map.txt", 1, {"faces/tense", "not in class map map.txt"}, "out.h5", 0},
    {"folder", "--classes lacks a folder", faces, FOLDER " --classes calm,happy", 1, {"faces/tense", "not in --classes calm,happy", "--class-map FILE"}, "out.h5", 0},
    {"folder", "--classes names a class twice", faces, FOLDER " --classes calm,tense,calm", 1, {"--classes 'calm,tense,calm'", "'calm' is listed twice"}, "out.h5", 0},
    {"folder", "JAFFE name with unknown code", jaffe_unknown_code, "ingest jaffe jaffe -o out.h5 --size 8 --val 0 --test 0", 1, {"KA.XX1.30.tiff"}, "out.h5", 0},
    {"folder", "truncated JAFFE TIFF", jaffe_truncated, "ingest jaffe jaffe -o out.h5 --size 8 --val 0 --test 0", 1, {"KA.SA1.33.tiff", "bad TIFF file"}, "out.h5", 0},
    {"folder", "JAFFE label beyond --classes", jaffe_three, "ingest jaffe jaffe -o out.h5 --size 8 --val 0 --test 0 --classes neutral,happy", 1, {"jaffe/KA.SA1.33.tiff: class 'sad' is not in --classes (neutral, happy)"}, "out.h5", 0},
    /* relevance import */
    {"import", "NaN in .npy", rel_npy_nan, IMPORT "--npy rel.npy", 1, {"rel.npy", "map 1 (record 1)", "nan", "not a finite float32"}, "out.h5", 0},
    {"import", "-Inf in .npy", rel_npy_inf, IMPORT "--npy rel.npy", 1, {"rel.npy", "map 1 (record 1)", "-inf", "not a finite float32"}, "out.h5", 0},
    {"import", "more maps than records", rel_npy_too_many, IMPORT "--npy rel.npy", 1, {"rel.npy holds 61 maps", "d.h5 has 60 records"}, "out.h5", 0},
    {"import", "maps of the wrong size", rel_npy_wrong_hw, IMPORT "--npy rel.npy", 1, {"rel.npy", "15x16", "16x16"}, "out.h5", 0},
    {"import", "3-channel maps", rel_npy_three_channels, IMPORT "--npy rel.npy", 1, {"rel.npy", "(60, 3, 16, 16)", "expected (N, H, W)"}, "out.h5", 0},
    {"import", "absurd .npy shape", rel_npy_absurd, IMPORT "--npy rel.npy", 1, {"rel.npy", "overflows"}, "out.h5", 1},
    {"import", "truncated .npy", rel_npy_truncated, IMPORT "--npy rel.npy", 1, {"rel.npy", "truncated", "record 59 of 60"}, "out.h5", 0},
    {"import", "HDF5 maps of the wrong size", rel_h5_wrong_shape, IMPORT "--hdf5 rel.h5 --dataset maps", 1, {"rel.h5:maps", "20x20", "16x16"}, "out.h5", 0},
    {"import", "NaN in HDF5 maps", rel_h5_nan, IMPORT "--hdf5 rel.h5 --dataset maps", 1, {"rel.h5:maps", "map 7 (record 7)", "not a finite float32"}, "out.h5", 0},
    {"import", "no such HDF5 dataset", rel_h5_good, IMPORT "--hdf5 rel.h5 --dataset heat", 1, {"rel.h5", "no dataset 'heat'"}, "out.h5", 0},
    {"import", "--hdf5 not HDF5", rel_h5_not_hdf5, IMPORT "--hdf5 rel.h5 --dataset maps", 1, {"rel.h5", "not an HDF5 file"}, "out.h5", 0},
    {"import", "truncated PNG map", rel_png_truncated, IMPORT "--png maps", 1, {"record 4", "maps/4.png", "truncated"}, "out.h5", 0},
    {"import", "missing PNG map", rel_png_missing, IMPORT "--png maps", 1, {"record 17", "maps/17.png does not exist"}, "out.h5", 0},
    {"import", "fixation image 60 of 60", fix_image_60, IMPORT "--fixations fix.csv", 1, {"fix.csv:3", "image 60 is out of range", "records 0..59"}, "out.h5", 0},
    {"import", "fixation image -1", fix_image_negative, IMPORT "--fixations fix.csv", 1, {"fix.csv:3", "image -1 is out of range"}, "out.h5", 0},
    {"import", "fixation x a word", fix_x_word, IMPORT "--fixations fix.csv", 1, {"fix.csv:3", "x 'left'", "not a finite number"}, "out.h5", 0},
    {"import", "fixation x NaN", fix_x_nan, IMPORT "--fixations fix.csv", 1, {"fix.csv:3", "x 'nan'", "not a finite number"}, "out.h5", 0},
    {"import", "fixation duration Inf", fix_duration_inf, IMPORT "--fixations fix.csv", 1, {"fix.csv:3", "duration 'inf'", "not a finite number"}, "out.h5", 0},
    {"import", "fixation non-UTF-8", fix_non_utf8, IMPORT "--fixations fix.csv", 1, {"fix.csv:3", "'3\\xFF\\xFE'", "not a finite number"}, "out.h5", 0},
    {"import", "fixation missing field", fix_fields, IMPORT "--fixations fix.csv", 1, {"fix.csv:3", "expected 4"}, "out.h5", 0},
    {"import", "fixation 1 MB line", fix_megabyte_line, IMPORT "--fixations fix.csv", 1, {"fix.csv:3", "line longer than"}, "out.h5", 0},
    /* HDF5 inputs of the later stages */
    {"hdf5", "text file as dataset", d_not_hdf5, "train -q -d x.h5 -n tiny -b 16 -o out.h5", 1, {"x.h5: not an HDF5 file"}, "out.h5", 0},
    {"hdf5", "empty file as dataset", d_empty, "train -q -d x.h5 -n tiny -b 16 -o out.h5", 1, {"x.h5: not an HDF5 file"}, "out.h5", 0},
    {"hdf5", "HDF5 but not relmask", d_plain_hdf5, "train -q -d x.h5 -n tiny -b 16 -o out.h5", 1, {"x.h5", "not a relmask file", "no 'schema' attribute"}, "out.h5", 0},
    {"hdf5", "truncated dataset", d_truncated, "eval -q --model m.h5 -d x.h5 --out out.json", 1, {"x.h5", "truncated file"}, "out.json", 0},
    {"hdf5", "dataset schema version 99", d_version_99, "encode -q --mode mean -d x.h5 -r r.h5 -o out.h5", 1, {"x.h5", "schema version 99", "reads version 1"}, "out.h5", 0},
    {"hdf5", "schema_version a string", d_version_string, "info x.h5", 1, {"x.h5", "'schema_version' is not a scalar integer"}, NULL, 0},
    {"hdf5", "no schema attribute", d_no_schema, "subset -q -d x.h5 -o out.h5 --take train:5", 1, {"x.h5", "no 'schema' attribute"}, "out.h5", 0},
    {"hdf5", "dataset without /labels", d_no_labels, "train -q -d x.h5 -n n.cfg -b 16 -o out.h5", 1, {"x.h5", "missing dataset /labels"}, "out.h5", 0},
    {"hdf5", "dataset without /images", d_no_images, "predict -q --model m.h5 -d x.h5 -o out.h5", 1, {"x.h5", "missing dataset /images"}, "out.h5", 0},
    {"hdf5", "dataset without class_names", d_no_classes, "train -q -d x.h5 -n n.cfg -b 16 -o out.h5", 1, {"x.h5", "'class_names' is missing"}, "out.h5", 0},
    {"hdf5", "num_classes a string", d_num_classes_string, "train -q -d x.h5 -n n.cfg -b 16 -o out.h5", 1, {"x.h5", "num_classes", "not a scalar integer"}, "out.h5", 0},
    {"hdf5", "num_classes 5, 7 class names", d_num_classes_5, "train -q -d x.h5 -n n.cfg -b 16 -o out.h5", 1, {"x.h5", "num_classes", "expected equal"}, "out.h5", 0},
    {"hdf5", "label 9 of 7 classes", d_label_9, "train -q -d x.h5 -n n.cfg -b 16 -o out.h5", 1, {"x.h5", "record 11", "label 9 out of range 0..6"}, "out.h5", 0},
    {"hdf5", "split 7", d_split_7, "train -q -d x.h5 -n n.cfg -b 16 -o out.h5", 1, {"x.h5", "record 5", "split value 7", "expected 0 (train), 1 (val) or 2 (test)"}, "out.h5", 0},
    {"hdf5", "dataset of 2^33 records: train", d_huge, "train -q -d x.h5 -n n.cfg -b 16 -o out.h5", 1, {"x.h5", "/images declares 2199023255552 elements in 8589934592 chunks", "stores 0 of them"}, "out.h5", 1},
    {"hdf5", "dataset of 2^33 records: info", d_huge, "info x.h5", 1, {"x.h5", "/images declares 2199023255552 elements in 8589934592 chunks", "stores 0 of them"}, NULL, 1},
    {"hdf5", "relevance of 2^33 records: encode", r_huge, "encode -q --mode mean -d d.h5 -r x.h5 -o out.h5", 1, {"x.h5", "/heatmap declares 2199023255552 elements", "stores 0 of them"}, "out.h5", 1},
    {"hdf5", "model file as dataset", d_model_as_data, "train -q -d m.h5 -n n.cfg -o out.h5", 1, {"m.h5", "schema is 'relmask.model', expected 'relmask.dataset'"}, "out.h5", 0},
    {"hdf5", "dataset as model", data16, "eval -q --model d.h5 -d d.h5 --out out.json", 1, {"d.h5", "schema is 'relmask.dataset', expected 'relmask.model'"}, "out.json", 0},
    {"hdf5", "NaN weight: eval", m_nan, "eval -q --model x.h5 -d d.h5 --out out.json", 1, {"x.h5", "/params/conv1/weight[4] is NaN"}, "out.json", 0},
    {"hdf5", "NaN weight: relevance", m_nan, "relevance -q --model x.h5 -d d.h5 -o out.h5", 1, {"x.h5", "/params/conv1/weight[4] is NaN"}, "out.h5", 0},
    {"hdf5", "NaN weight: fine-tuning", m_nan, "train -q -d d.h5 -n n.cfg --init-from x.h5 -o out.h5", 1, {"--init-from: x.h5", "/params/conv1/weight[4] is NaN"}, "out.h5", 0},
    {"hdf5", "Inf bias: predict", m_inf, "predict -q --model x.h5 -d d.h5 -o out.h5", 1, {"x.h5", "/params/dense1/bias[2] is infinite"}, "out.h5", 0},
    {"hdf5", "model without a weight", m_no_weight, "eval -q --model x.h5 -d d.h5 --out out.json", 1, {"x.h5", "missing dataset /params/dense1/weight"}, "out.json", 0},
    {"hdf5", "unknown layer in net_text", m_bad_net_text, "eval -q --model x.h5 -d d.h5 --out out.json", 1, {"x.h5: net_text:7", "unknown section [wobble]", "expected net, conv"}, "out.json", 0},
    {"hdf5", "model schema version 2", m_version_2, "eval -q --model x.h5 -d d.h5 --out out.json", 1, {"x.h5", "model schema version 2", "reads 1"}, "out.json", 0},
    {"hdf5", "model without normalization", m_no_norm, "eval -q --model x.h5 -d d.h5 --out out.json", 1, {"x.h5", "'normalization_mean' is missing"}, "out.json", 0},
    {"hdf5", "model 16x16, data 20x20: eval", m_and_d20, "eval -q --model m.h5 -d d20.h5 --out out.json", 1, {"m.h5 expects 1x16x16 inputs", "d20.h5 holds 1x20x20 images"}, "out.json", 0},
    {"hdf5", "model 16x16, data 20x20: relevance", m_and_d20, "relevance -q --model m.h5 -d d20.h5 -o out.h5", 1, {"m.h5 expects 1x16x16 inputs", "d20.h5 holds 1x20x20 images"}, "out.h5", 0},
    {"hdf5", "relevance of 16x16 for 20x20 data", r_and_d20, "encode -q --mode mean -d d20.h5 -r r.h5 -o out.h5", 1, {"r.h5", "heatmaps are 16x16", "images of d20.h5 are 20x20"}, "out.h5", 0},
    {"hdf5", "relevance for another dataset: heatmap", r_and_d20, "heatmap -q -r r.h5 -d d20.h5 -o out.png", 1, {"r.h5", "heatmaps are 16x16", "images of d20.h5 are 20x20"}, "out.png", 0},
    {"hdf5", "NaN in relevance: encode", r_nan, "encode -q --mode mean -d d.h5 -r x.h5 -o out.h5", 1, {"x.h5", "entry 3", "expected a finite number"}, "out.h5", 0},
    {"hdf5", "-Inf in relevance: relevance-eval", r_inf, "relevance-eval -q -r x.h5 -d d.h5 --out out.json", 1, {"x.h5", "entry 0", "expected a finite number"}, "out.json", 0},
    {"hdf5", "unfinished relevance file", r_unfinished, "encode -q --mode mean -d d.h5 -r x.h5 -o out.h5", 1, {"x.h5", "incomplete: 10 of 60 records"}, "out.h5", 0},
    {"hdf5", "relevance index out of range", r_index_out_of_range, "encode -q --mode mean -d d.h5 -r x.h5 -o out.h5", 1, {"x.h5", "entry 59 explains record 600", "d.h5 has 60 records"}, "out.h5", 0},
    {"hdf5", "relevance without /heatmap", r_no_heatmap, "encode -q --mode mean -d d.h5 -r x.h5 -o out.h5", 1, {"x.h5", "missing dataset /heatmap"}, "out.h5", 0},
    {"hdf5", "dataset as relevance", r_is_dataset, "encode -q --mode mean -d d.h5 -r d.h5 -o out.h5", 1, {"d.h5", "schema is 'relmask.dataset', expected 'relmask.relevance'"}, "out.h5", 0},
    {"hdf5", "info on a text file", d_not_hdf5, "info x.h5", 1, {"x.h5: not an HDF5 file"}, NULL, 0},
    {"hdf5", "info on an empty file", d_empty, "info x.h5", 1, {"x.h5: not an HDF5 file"}, NULL, 0},
    {"hdf5", "--resume from a garbage checkpoint", garbage_ckpt, "train -q -d d.h5 -n n.cfg -b 16 -e 1 -o out.h5 --resume", 1, {"out.h5.ckpt: not an HDF5 file", "expected a relmask model"}, "out.h5", 0},
    {"hdf5", "--encoded of another dataset", encoded_other_dataset, "train -q -d d.h5 -n n.cfg -b 16 -e 1 --encoded d20.h5 -o out.h5", 1, {"d20.h5 does not match d.h5", "1x20x20"}, "out.h5", 0},
    {"hdf5", "--fuse with a dataset", model16, "eval -q --fuse m.h5,d.h5 -d d.h5 --out out.json", 1, {"d.h5", "expected 'relmask.model'"}, "out.json", 0},
    {"hdf5", "report: broken test.json", report_bad_json, "report -q -d exp -o out.md", 1, {"exp/runs/raw/seed1/test.json", "line 2", "expected a value"}, "out.md", 0},
    {"hdf5", "report: model.h5 not HDF5", report_bad_model, "report -q -d exp -o out.md", 1, {"exp/runs/raw/seed1/model.h5: not an HDF5 file, expected a relmask model"}, "out.md", 0},
    /* occlusion on an external model: a --predict-cmd that misbehaves */
    {"occlusion", "command exits 1", data16, OCC "'false'", 1, {"record 0", "predict command 'false' exited with status 1"}, "out.h5", 0},
    {"occlusion", "command writes uint8", data16, OCC "'cp {in} {out}'", 1, {"record 0", "dtype '|u1'", "expected float32"}, "out.h5", 0},
    {"occlusion", "command writes garbage", data16, OCC "'printf garbage > {out}'", 1, {"record 0", "not an NPY file"}, "out.h5", 0},
    {"occlusion", "command writes nothing", data16, OCC "'true'", 1, {"record 0", "wrote no output file"}, "out.h5", 0},
    /* import onnx: a model trained elsewhere */
#define ONNX "import onnx model.onnx -q -o out.h5 "
    {"onnx", "truncated protobuf", onnx_truncated, ONNX, 1, {"model.onnx", "not an ONNX model"}, "out.h5", 0},
    {"onnx", "JSON instead of a protobuf", onnx_garbage, ONNX, 1, {"model.onnx", "not an ONNX model"}, "out.h5", 0},
    {"onnx", "empty file", onnx_empty, ONNX, 1, {"model.onnx"}, "out.h5", 0},
    {"onnx", "no such file", NULL, ONNX, 1, {"model.onnx"}, "out.h5", 0},
    {"onnx", "NaN weight", onnx_nan, ONNX, 1, {"model.onnx", "node 3", "(Conv)", "holds NaN at index 55"}, "out.h5", 0},
    {"onnx", "unsupported operator use", onnx_gated, ONNX, 1, {"model.onnx", "node 3 '/Mul' (Mul)", "does not subtract, multiply or divide them"}, "out.h5", 0},
    {"onnx", "reflect Pad", onnx_pad_reflect, ONNX, 1, {"model.onnx", "node 0 'reflect_pad' (Pad)", "mode = reflect", "only a constant Pad by zero"}, "out.h5", 0},
    {"onnx", "Pad by 0.5", onnx_pad_value, ONNX, 1, {"model.onnx", "node 0 'half_pad' (Pad)", "pads with the value 0.5", "only a Pad by zero"}, "out.h5", 0},
    {"onnx", "negative Pad", onnx_pad_negative, ONNX, 1, {"model.onnx", "node 0 'crop' (Pad)", "pads -1,0,0,0 (top, left, bottom, right)", "pads of 0..64 (a negative pad crops)"}, "out.h5", 0},
    {"onnx", "Pad before a max pool of signed values", onnx_pad_maxpool, ONNX, 1, {"model.onnx", "node 2 'pool' (MaxPool)", "zero-padded by node 1 'pad_signed' (Pad)", "only after a ReLU or a Clip from 0"}, "out.h5", 0},
    {"onnx", "Pad read by a Relu", onnx_pad_relu, ONNX, 1, {"model.onnx", "node 2 'relu' (Relu)", "reads 'padded', zero-padded by 1,1,1,1", "node 1 'pad_then_relu' (Pad)"}, "out.h5", 0},
    {"onnx", "AveragePool ceil_mode counting pads", onnx_avg_ceil, ONNX, 1, {"model.onnx", "node 1 'avg_ceil' (AveragePool)", "ceil_mode = 1 with count_include_pad = 1 and pads 1,1,1,1", "counts every padding cell or none"}, "out.h5", 0},
    {"onnx", "opset 7", onnx_opset7, ONNX, 1, {"model.onnx", "ONNX opset 7", "opsets 9 to 17"}, "out.h5", 0},
    {"onnx", "--classes of another count", onnx_seq, ONNX "--classes a,b", 1, {"model.onnx", "--classes names 2 classes but the model has 3 outputs"}, "out.h5", 0},
    {"onnx", "--size against a size-dependent head", onnx_seq, ONNX "--size 20", 1, {"model.onnx", "exported for 16x16 inputs and --size runs it at 20x20"}, "out.h5", 0},
    /* import tfjs */
#define TFJS "import tfjs model.json -q -o out.h5 --classes a,b,c"
    {"tfjs", "truncated model.json", tfjs_truncated, TFJS, 1, {"model.json", "not a TF.js model.json", "offset 697", "unterminated string"}, "out.h5", 0},
    {"tfjs", "missing weights shard", tfjs_no_shard, TFJS, 1, {"model.json", "cannot open the weights shard", "group2-shard1of1.bin"}, "out.h5", 0},
    {"tfjs", "short weights shard", tfjs_short_shard, TFJS, 1, {"model.json", "group1-shard1of2.bin+group1-shard2of2.bin hold 139 bytes", "dw/w"}, "out.h5", 0},
    {"tfjs", "layers model: unsupported layer class", tfjs_layers_unsupported, TFJS, 1, {"model.json", "layer 2 'max_pooling2d_1' (Conv3D)", "layer class Conv3D is not supported", "InputLayer, Conv2D, DepthwiseConv2D"}, "out.h5", 0},
    {"tfjs", "layers model: missing weight", tfjs_layers_no_weight, TFJS, 1, {"model.json", "layer 6 'dense_2' (Dense)", "its weight 'dense_2/bias' is not in the weights manifest"}, "out.h5", 0},
    {"tfjs", "layers model: short weights shard", tfjs_layers_short_shard, TFJS, 1, {"model.json", "group2-shard1of1.bin hold 64 bytes", "depthwise_conv2d/depthwise_kernel"}, "out.h5", 0},
    {"tfjs", "layers model: inbound node of an unknown layer", tfjs_layers_unknown_inbound, TFJS, 1, {"model.json", "layer 5 'activation' (Activation)", "reads 'nowhere', which is no layer of the model"}, "out.h5", 0},
    /* knowledge distillation: the teacher (train --distill) */
#define KD "train -q -d d.h5 -n n.cfg -b 16 -e 1 -o out.h5 --distill "
    {"distill", "--distill: no such file", data16, KD "nope.h5", 1, {"--distill", "nope.h5: cannot open"}, "out.h5", 0},
    {"distill", "--distill: a dataset", data16, KD "d.h5", 1, {"--distill", "d.h5 holds a relmask.dataset file", "expected a model"}, "out.h5", 0},
    {"distill", "--distill: predictions of another dataset", teacher_other_dataset, KD "p.h5", 1, {"--distill", "p.h5 was made from another dataset than d.h5"}, "out.h5", 0},
    {"distill", "--distill: 3 classes, data of 7", teacher_3_classes, KD "p.h5", 1, {"--distill", "p.h5 holds 3 classes", "d.h5 has 7 classes"}, "out.h5", 0},
    {"distill", "--distill: a train record not covered", teacher_misses_6, KD "p.h5", 1, {"--distill", "p.h5 does not cover train record 6 of d.h5"}, "out.h5", 0},
    {"distill", "--distill: other class names", teacher_renamed_class, KD "p.h5", 1, {"--distill", "p.h5 names class 0 'c0' but d.h5 names it"}, "out.h5", 0},
    {"distill", "--distill: NaN logit", teacher_nan_7, KD "p.h5", 1, {"--distill", "p.h5: record 7", "/logits nan for class 2", "expected a finite logit"}, "out.h5", 0},
    /* usage errors: exit code 2 */
    {"usage", "--kd-temperature 0", model16, KD "m.h5 --kd-temperature 0", 2, {"--kd-temperature '0'", "expected a temperature > 0"}, "out.h5", 0},
    {"usage", "--kd-alpha 1.5", model16, KD "m.h5 --kd-alpha 1.5", 2, {"--kd-alpha '1.5'", "expected a number in [0, 1]"}, "out.h5", 0},
    {"usage", "--kd-alpha without --distill", data16, "train -q -d d.h5 -n n.cfg -o out.h5 --kd-alpha 0.5", 2, {"--kd-temperature and --kd-alpha need --distill SOURCE"}, "out.h5", 0},
    {"usage", "no --out", NULL, "ingest fer2013 in.csv", 2, {"--out FILE.h5 is required"}, NULL, 0},
    {"usage", "unknown ingest format", NULL, "ingest bmp x -o out.h5", 2, {"unknown format 'bmp'", "expected fer2013"}, "out.h5", 0},
    {"usage", "--size 0", faces, FOLDER " --size 0", 2, {"--size '0'", "expected a size like 48"}, "out.h5", 0},
    {"usage", "idx without --labels", idx_label_10, "ingest idx images.idx -o out.h5", 2, {"idx needs --labels FILE"}, "out.h5", 0},
    {"usage", "unknown encode mode", relevance16, "encode -q -d d.h5 -r r.h5 -o out.h5 --mode sparkle", 2, {"--mode 'sparkle'", "expected mean, zero"}, "out.h5", 0},
    {"usage", "--target top:0", model16, "relevance -q --model m.h5 -d d.h5 -o out.h5 --target top:0", 2, {"--target 'top:0'", "expected top:K with K a class count >= 1"}, "out.h5", 0},
    {"usage", "--target top:x", model16, "relevance -q --model m.h5 -d d.h5 -o out.h5 --target top:x", 2, {"--target 'top:x'", "expected top:K"}, "out.h5", 0},
    {"usage", "--target top:99 for 7 classes", model16, "relevance -q --model m.h5 -d d.h5 -o out.h5 --target top:99", 2, {"--target 'top:99'", "d.h5 has 7 classes", "expected top:1..top:7", "Try 'relmask relevance --help'"}, "out.h5", 0},
    {"usage", "--target an unknown class", model16, "relevance -q --model m.h5 -d d.h5 -o out.h5 --target angry", 2, {"--target 'angry'", "a class name of d.h5 (neutral, happy,", "did you mean 'anger'?", "Try 'relmask relevance --help'"}, "out.h5", 0},
    {"usage", "--target all with occlusion", data16, OCC "'true' --target all", 2, {"--target all needs --method lrp"}, "out.h5", 0},
    {"usage", "--shuffle-masks -1", relevance16, "encode -q -d d.h5 -r r.h5 -o out.h5 --mode mask --shuffle-masks -1", 2, {"--shuffle-masks '-1'", "expected a non-negative integer"}, "out.h5", 0},
    {"usage", "--shuffle-masks a word", relevance16, "encode -q -d d.h5 -r r.h5 -o out.h5 --mode mask --shuffle-masks seven", 2, {"--shuffle-masks 'seven'", "expected a non-negative integer"}, "out.h5", 0},
    {"usage", "--shuffle-masks with a constant channel", relevance16, "encode -q -d d.h5 -r r.h5 -o out.h5 --mode channel --channel-constant 0.5 --shuffle-masks 1", 2, {"--shuffle-masks has no effect with --channel-constant"}, "out.h5", 0},
    {"usage", "negative learning rate", data16, "train -q -d d.h5 -n n.cfg -o out.h5 --lr -1", 2, {"--lr '-1'", "expected a number in"}, "out.h5", 0},
    {"usage", "--float-max nan", npy_good, NPY " --float-max nan", 2, {"--float-max 'nan'", "expected a number in"}, "out.h5", 0},
    {"usage", "import from two sources", data16, IMPORT "--npy a.npy --png b", 2, {"give exactly one of --png, --npy, --hdf5 and --fixations"}, "out.h5", 0},
    /* network definitions */
    {"net", "unknown layer", net_unknown_layer, "net bad.cfg", 1, {"bad.cfg:8", "unknown section [convolution]", "expected net, conv"}, NULL, 0},
    {"net", "unknown key", net_unknown_key, "net bad.cfg", 1, {"bad.cfg:6", "unknown key 'filterz' in [conv]", "expected filters"}, NULL, 0},
    {"net", "value not a number", net_bad_value, "net bad.cfg", 1, {"bad.cfg:6", "'filters = two' is not an integer", "1..4096"}, NULL, 0},
    {"net", "negative filters", net_negative, "net bad.cfg", 1, {"bad.cfg:6", "'filters = -2' must be in 1..4096"}, NULL, 0},
    {"net", "filters beyond 64 bits", net_huge_value, "net bad.cfg", 1, {"bad.cfg:6", "must be in 1..4096"}, NULL, 0},
    {"net", "line without '='", net_no_equals, "net bad.cfg", 1, {"bad.cfg:6", "expected 'key = value' or a [section]"}, NULL, 0},
    {"net", "unterminated section", net_unterminated, "net bad.cfg", 1, {"bad.cfg:5", "expected ']'"}, NULL, 0},
    {"net", "input too small for the layers", net_too_small, "net bad.cfg", 1, {"bad.cfg:5", "pooling 32x32 larger than input 16x16"}, NULL, 0},
    {"net", "last layer is not the classes", net_wrong_classes, "net bad.cfg", 1, {"bad.cfg:5", "last layer has 5 outputs", "classes = 7"}, NULL, 0},
    {"net", "malformed input shape", net_bad_input, "net bad.cfg", 1, {"bad.cfg:2", "'input = 1x16' must be CxHxW"}, NULL, 0},
    {"net", "non-UTF-8 key", net_non_utf8, "net bad.cfg", 1, {"bad.cfg:6", "unknown key 'fil\\xE9ters'"}, NULL, 0},
    {"net", "no [net] section", net_no_net, "net bad.cfg", 1, {"bad.cfg:2", "[conv] before [net]"}, NULL, 0},
    {"net", "key before any section", net_key_first, "net bad.cfg", 1, {"bad.cfg:1", "before any section", "starts with [net]"}, NULL, 0},
    {"net", "empty file", net_empty, "net bad.cfg", 1, {"bad.cfg: no [net] section"}, NULL, 0},
    {"net", "NUL byte", net_nul, "net bad.cfg", 1, {"bad.cfg", "NUL byte", "not a text file"}, NULL, 0},
    {"net", "duplicate key", net_duplicate_key, "net bad.cfg", 1, {"bad.cfg:7", "duplicate key 'filters'", "first set at line 6"}, NULL, 0},
    {"net", "unknown layer: train", train_unknown_layer, "train -q -d d.h5 -n bad.cfg -o out.h5", 1, {"bad.cfg:8", "unknown section [convolution]"}, "out.h5", 0},
    {"net", "net input 12x12, data 16x16", train_input_12, "train -q -d d.h5 -n bad.cfg -o out.h5", 1, {"expects 1x12x12 inputs", "d.h5 holds 1x16x16 images"}, "out.h5", 0},
    {"net", "net of 3 classes, data of 7, --strict-net", train_classes_3, "train -q -d d.h5 -n bad.cfg -o out.h5 --strict-net", 1, {"has 3 outputs", "d.h5 has 7 classes", "(--strict-net: leave it out"}, "out.h5", 0},
    {"net", "no such network", data16, "train -q -d d.h5 -n no-such-net -o out.h5", 2, {"--net: no network definition 'no-such-net'", "available:"}, "out.h5", 0},
};

enum { NCASES = sizeof cases / sizeof cases[0] };

/* --- checking a case ------------------------------------------------------*/

/* The directory's entries (recursively, with sizes) as one sorted string. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_into(const char *base, const char *rel, char ***names, int *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", base, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[4096], full[8192];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", base, sub);
        struct stat st;
        cr_assert_eq(stat(full, &st), 0);
        *names = realloc(*names, (size_t)(*n + 1) * sizeof **names);
        char *line = malloc(strlen(sub) + 32);
        sprintf(line, "%s %lld", sub, S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
        (*names)[(*n)++] = line;
        if (S_ISDIR(st.st_mode)) list_into(base, sub, names, n);
    }
    closedir(d);
}

static char *listing(void)
{
    char **names = NULL;
    int n = 0;
    list_into(dir, "", &names, &n);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(names[i]) + 1;
    char *s = malloc(len);
    s[0] = 0;
    for (int i = 0; i < n; i++) {
        strcat(s, names[i]);
        strcat(s, "\n");
        free(names[i]);
    }
    free(names);
    return s;
}

static void run_once(const bad_case *c, const char *args, const char *phase)
{
    char *before = listing();
    char *err;
    int code = run(&err, args, c->low_as);
    if (getenv("BAD_INPUTS_SHOW")) fprintf(stderr, "[%s / %s%s] exit %d: %s", c->category, c->name, phase, code, err);
    cr_expect_eq(code, c->code, "[%s / %s%s] relmask %s: exit %d, expected %d; stderr:\n%s", c->category, c->name,
                 phase, args, code, c->code, err);
    for (int k = 0; k < 4 && c->expect[k]; k++)
        cr_expect(strstr(err, c->expect[k]), "[%s / %s%s] relmask %s: stderr lacks '%s':\n%s", c->category, c->name,
                  phase, args, c->expect[k], err);
    /* In sanitizer builds a leak or an error report also exits 1: look for it. */
    cr_expect(!strstr(err, "Sanitizer") && !strstr(err, "runtime error:"), "[%s / %s%s] sanitizer report:\n%s",
              c->category, c->name, phase, err);
    if (c->code == 1)
        cr_expect(strncmp(err, "relmask: error: ", 16) == 0 || strstr(err, "\nrelmask: error: "),
                  "[%s / %s%s] no 'relmask: error:' line:\n%s", c->category, c->name, phase, err);
    char *after = listing();
    cr_expect_str_eq(after, before, "[%s / %s%s] relmask %s changed the directory:\nbefore:\n%s\nafter:\n%s",
                     c->category, c->name, phase, args, before, after);
    free(before);
    free(after);
    free(err);
}

static void setup(void)
{
    dir = tu_scratch_dir();
    rm_log_set_quiet(1);
}

static void teardown(void) { tu_rmtree(dir); }

ParameterizedTestParameters(bad_inputs, catalogue)
{
    static int index[NCASES];
    for (int i = 0; i < NCASES; i++) index[i] = i;
    return cr_make_param_array(int, index, NCASES);
}

ParameterizedTest(int *i, bad_inputs, catalogue, .init = setup, .fini = teardown)
{
    const bad_case *c = &cases[*i];
    if (c->make) c->make();
    run_once(c, c->args, "");
    if (!c->out) return;
    /* The same failure with --force must leave a previous output intact. */
    static const char previous[] = "a previous output that a failed run must not touch\n";
    tu_write_file(in(c->out), previous, sizeof previous - 1);
    char args[4096];
    snprintf(args, sizeof args, "%s --force", c->args);
    run_once(c, args, ", --force over an existing output");
    size_t n;
    unsigned char *b = slurp(c->out, &n);
    cr_expect(n == sizeof previous - 1 && !memcmp(b, previous, n), "[%s / %s] --force: %s was changed", c->category,
              c->name, c->out);
    free(b);
}

/* The catalogue's size, by category (docs/reliability.md quotes it). */
Test(bad_inputs, catalogue_size)
{
    static const char *const categories[] = {"fer2013", "idx", "npy", "folder", "import", "onnx", "tfjs", "hdf5", "distill", "occlusion", "usage", "net"};
    int total = 0;
    for (size_t k = 0; k < sizeof categories / sizeof *categories; k++) {
        int n = 0;
        for (int i = 0; i < NCASES; i++) n += !strcmp(cases[i].category, categories[k]);
        cr_log_info("%s: %d cases", categories[k], n);
        total += n;
    }
    cr_assert_eq(total, NCASES, "a case with an unknown category");
    cr_assert_geq(NCASES, 60);
}
