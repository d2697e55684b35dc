/* test_data.c: unit tests of the data module.
 *
 * The readers: IDX (raw, gzip, paired labels), CSV and HDF5 round trips with
 * known values, and every malformed case each reader must refuse with
 * CV_ERR_INPUT, a zeroed dataset and a message naming the file and the place.
 * cv_data_load: dev split sizes, determinism in the seed, membership (train
 * and dev are disjoint and cover the file, each in file order), the
 * standardization fitted on the training split only, test sets, and
 * Fashion-MNIST when Debian's dataset-fashion-mnist is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <hdf5.h>
#include <zlib.h>

#include "caviar/data.h"
#include "caviar/rng.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

/* tu_path keeps 8 paths alive; the tests hold more, so copy into a pool. */
static const char *keep(const char *path)
{
    static char pool[64][512];
    static int next;
    char *p = pool[next++ % 64];
    snprintf(p, sizeof pool[0], "%s", path);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    return keep(tu_write_text(name, text));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Writes bytes to name, through gzip when gz. */
static const char *write_bytes(const char *name, const void *bytes, size_t len, int gz)
{
    const char *path = keep(tu_path(name));
    if (!gz)
        return keep(tu_write(name, bytes, len));
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    if (len > 0)
        assert_int_equal(gzwrite(f, bytes, (unsigned)len), (int)len);
    assert_int_equal(gzclose(f), Z_OK);
    return path;
}

/* An IDX file: magic 0x0000TTNN, big-endian dims, then payload (already big
 * endian), then `extra` junk bytes. */
static const char *write_idx(const char *name, int type, int ndims, const uint32_t *dims,
                             const void *payload, size_t len, size_t extra, int gz)
{
    size_t head = 4 + 4 * (size_t)ndims;
    unsigned char *buf = calloc(head + len + extra + 1, 1);
    assert_non_null(buf);
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndims;
    for (int k = 0; k < ndims; k++) {
        buf[4 + 4 * k] = (unsigned char)(dims[k] >> 24);
        buf[5 + 4 * k] = (unsigned char)(dims[k] >> 16);
        buf[6 + 4 * k] = (unsigned char)(dims[k] >> 8);
        buf[7 + 4 * k] = (unsigned char)dims[k];
    }
    if (len > 0)
        memcpy(buf + head, payload, len);
    memset(buf + head + len, 0x5a, extra);
    const char *path = write_bytes(name, buf, head + len + extra, gz);
    free(buf);
    return path;
}

/* The small IDX set of the tests: 3 images of 2 x 2 pixels, labels 7 0 9. */
static const unsigned char PIX[12] = {0, 1, 2, 3, 10, 20, 30, 40, 255, 128, 64, 0};
static const unsigned char LAB[3] = {7, 0, 9};
static const uint32_t IMG_DIMS[3] = {3, 2, 2};
static const uint32_t LAB_DIMS[1] = {3};

/* Writes prefix + "-images-idx3-ubyte" + suffix and the labels beside it. */
static const char *write_idx_pair(const char *prefix, const char *suffix, int gz)
{
    char name[256];
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", prefix, suffix);
    write_idx(name, 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, gz);
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", prefix, suffix);
    return write_idx(name, 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, gz);
}

static void check_small_idx(const cv_dataset *ds)
{
    assert_int_equal(ds->n, 3);
    assert_int_equal(ds->d, 4);
    for (int i = 0; i < 12; i++)
        assert_float_equal(ds->X[i], (float)PIX[i], 0.0f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ds->y[i], LAB[i]);
}

static void assert_msg_has(const cv_error *err, const char *needle)
{
    if (strstr(err->msg, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err->msg, needle);
}

/* Reads path expecting CV_ERR_INPUT, a zeroed dataset, and a message that
 * starts with who (path when NULL) and contains needle. */
static void expect_read_error(const char *path, const char *label, const char *who,
                              const char *needle)
{
    cv_dataset ds;
    memset(&ds, 0xab, sizeof ds);
    cv_error err;
    cv_error_clear(&err);
    int ret = cv_dataset_read(&ds, path, label, &err);
    if (ret != CV_ERR_INPUT)
        fail_msg("%s: expected CV_ERR_INPUT, got %d (%s)", path, ret, err.msg);
    assert_int_equal(err.code, CV_ERR_INPUT);
    assert_int_equal(ds.n, 0);
    assert_int_equal(ds.d, 0);
    assert_null(ds.X);
    assert_null(ds.y);
    who = who ? who : path;
    if (strncmp(err.msg, who, strlen(who)) != 0 || err.msg[strlen(who)] != ':')
        fail_msg("message \"%s\" does not start with \"%s:\"", err.msg, who);
    assert_msg_has(&err, needle);
}

static void read_ok(cv_dataset *ds, const char *path, const char *label)
{
    cv_error err;
    cv_error_clear(&err);
    int ret = cv_dataset_read(ds, path, label, &err);
    if (ret != 0)
        fail_msg("%s: %s", path, err.msg);
}

/* ---- IDX -------------------------------------------------------------- */

static void test_idx_raw(void **state)
{
    (void)state;
    cv_dataset ds;
    read_ok(&ds, write_idx_pair("raw", "", 0), NULL);
    check_small_idx(&ds);
    cv_dataset_free(&ds);
    assert_null(ds.X);
    assert_int_equal(ds.n, 0);
}

static void test_idx_gz(void **state)
{
    (void)state;
    cv_dataset ds;
    /* named .gz */
    read_ok(&ds, write_idx_pair("gz", ".gz", 1), NULL);
    check_small_idx(&ds);
    cv_dataset_free(&ds);
    /* gzip recognized by its magic bytes, not by its name */
    read_ok(&ds, write_idx_pair("gzmagic", "", 1), NULL);
    check_small_idx(&ds);
    cv_dataset_free(&ds);
    /* raw images, gzip labels named with .gz: the pairing tries both */
    write_idx("mixed-labels-idx1-ubyte.gz", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 1);
    read_ok(&ds, write_idx("mixed-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0),
            NULL);
    check_small_idx(&ds);
    cv_dataset_free(&ds);
}

static void test_idx_pairing(void **state)
{
    (void)state;
    cv_dataset ds;
    write_idx("set-labels.idx", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 0);
    read_ok(&ds, write_idx("set-images.idx", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0), NULL);
    check_small_idx(&ds);
    cv_dataset_free(&ds);
}

/* Other element types: float images of 2 dims, short labels, double d = 1. */
static void test_idx_types(void **state)
{
    (void)state;
    cv_dataset ds;
    const uint32_t dims2[2] = {2, 3}, ldims[1] = {2};
    const float vals[6] = {0.5f, -1.25f, 3e5f, 0.0f, -0.0f, 7.0f};
    unsigned char fbe[24];
    for (int i = 0; i < 6; i++) {
        uint32_t b;
        memcpy(&b, &vals[i], 4);
        for (int k = 0; k < 4; k++)
            fbe[4 * i + k] = (unsigned char)(b >> (24 - 8 * k));
    }
    const unsigned char short_labels[4] = {0x01, 0x2c, 0x00, 0x02}; /* 300, 2 */
    write_idx("flt-labels.idx", 0x0B, 1, ldims, short_labels, 4, 0, 0);
    read_ok(&ds, write_idx("flt-images.idx", 0x0D, 2, dims2, fbe, sizeof fbe, 0, 0), NULL);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 3);
    for (int i = 0; i < 6; i++)
        assert_float_equal(ds.X[i], vals[i], 0.0f);
    assert_int_equal(ds.y[0], 300);
    assert_int_equal(ds.y[1], 2);
    cv_dataset_free(&ds);

    /* 1 dimension: one feature per example, big-endian doubles */
    const unsigned char dbl[16] = {0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, /* pi */
                                   0xc0, 0x00, 0, 0, 0, 0, 0, 0};                   /* -2 */
    write_idx("dbl-labels.idx", 0x08, 1, ldims, LAB, 2, 0, 0);
    read_ok(&ds, write_idx("dbl-images.idx", 0x0E, 1, ldims, dbl, sizeof dbl, 0, 0), NULL);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 1);
    assert_float_equal(ds.X[0], 3.14159265f, 1e-6f);
    assert_float_equal(ds.X[1], -2.0f, 0.0f);
    cv_dataset_free(&ds);
}

static void test_idx_bad_magic(void **state)
{
    (void)state;
    unsigned char bytes[16 + 12];
    memcpy(bytes, "\x12\x34\x08\x03\0\0\0\3\0\0\0\2\0\0\0\2", 16);
    memcpy(bytes + 16, PIX, 12);
    write_idx("magic-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 0);
    const char *path = write_bytes("magic-images-idx3-ubyte", bytes, sizeof bytes, 0);
    expect_read_error(path, NULL, NULL, "not an IDX file: magic 0x12340803");

    /* good images, labels with a wrong magic: the labels file is named */
    const char *lab = write_bytes("magic2-labels-idx1-ubyte", "\x00\x01\x08\x01\0\0\0\3\7\0\x9",
                                  11, 0);
    path = write_idx("magic2-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    expect_read_error(path, NULL, lab, "not an IDX file");

    /* unsupported element type 0x0a, and float labels */
    path = write_idx("type-images-idx3-ubyte", 0x0A, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    write_idx("type-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 0);
    expect_read_error(path, NULL, NULL, "unsupported IDX element type 0x0a");
    const unsigned char flab[12] = {0x3f, 0x80, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0};
    lab = write_idx("flab-labels-idx1-ubyte", 0x0D, 1, LAB_DIMS, flab, sizeof flab, 0, 0);
    path = write_idx("flab-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    expect_read_error(path, NULL, lab, "labels must be integers");

    /* 0 dimensions */
    path = write_idx("nodim-images-idx3-ubyte", 0x08, 0, NULL, NULL, 0, 0, 0);
    expect_read_error(path, NULL, NULL, "0 dimensions");
}

static void test_idx_truncated(void **state)
{
    (void)state;
    write_idx("trunc-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 0);
    /* 3 images declared, 2 and a half present */
    const char *path =
        write_idx("trunc-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, 10, 0, 0);
    expect_read_error(path, NULL, NULL, "truncated");
    expect_read_error(path, NULL, NULL, "only 10 bytes");
    /* the same through gzip */
    path = write_idx("trunc-images-idx3-ubyte.gz", 0x08, 3, IMG_DIMS, PIX, 10, 0, 1);
    write_idx("trunc-labels-idx1-ubyte.gz", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 1);
    expect_read_error(path, NULL, NULL, "truncated");
    /* the header itself cut short */
    path = write_bytes("hdr-images-idx3-ubyte", "\0\0\x08\x03\0\0\0\3\0\0", 10, 0);
    expect_read_error(path, NULL, NULL, "truncated IDX header");
    path = write_bytes("hdr2-images-idx3-ubyte", "\0\0", 2, 0);
    expect_read_error(path, NULL, NULL, "truncated IDX header");
    /* a gzip stream cut in its middle */
    unsigned char big[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)((i * 2654435761u) >> 13);
    const uint32_t bdims[3] = {3, 40, 25};
    path = write_idx("cut-images-idx3-ubyte.gz", 0x08, 3, bdims, big, sizeof big, 0, 1);
    write_idx("cut-labels-idx1-ubyte.gz", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
    expect_read_error(path, NULL, NULL, "truncated");
    /* labels truncated */
    const char *lab = write_idx("tlab-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, 2, 0, 0);
    path = write_idx("tlab-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    expect_read_error(path, NULL, lab, "truncated");
}

static void test_idx_corrupt_gzip(void **state)
{
    (void)state;
    unsigned char big[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)((i * 2654435761u) >> 13);
    const uint32_t bdims[3] = {3, 40, 25};
    const char *path = write_idx("crc-images-idx3-ubyte.gz", 0x08, 3, bdims, big, sizeof big,
                                 0, 1);
    write_idx("crc-labels-idx1-ubyte.gz", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 1);
    /* flip bits in the deflate data: zlib reports a data or CRC error */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 200, SEEK_SET), 0);
    unsigned char junk[64];
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    assert_int_equal(fclose(f), 0);
    expect_read_error(path, NULL, NULL, "");
}

static void test_idx_trailing(void **state)
{
    (void)state;
    write_idx("trail-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 0);
    const char *path =
        write_idx("trail-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 1, 0);
    expect_read_error(path, NULL, NULL, "trailing data");
    path = write_idx("trailgz-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 5, 1);
    write_idx("trailgz-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 0, 0);
    expect_read_error(path, NULL, NULL, "trailing data");
    const char *lab =
        write_idx("trail2-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, sizeof LAB, 2, 0);
    path = write_idx("trail2-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    expect_read_error(path, NULL, lab, "trailing data");
}

static void test_idx_count_mismatch(void **state)
{
    (void)state;
    const uint32_t two[1] = {2};
    const char *lab = write_idx("count-labels-idx1-ubyte", 0x08, 1, two, LAB, 2, 0, 0);
    const char *path =
        write_idx("count-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    expect_read_error(path, NULL, lab, "2 labels for the 3 images");
    /* a labels file with several values per example */
    const uint32_t wide[2] = {3, 2};
    unsigned char six[6] = {0};
    lab = write_idx("wide-labels-idx1-ubyte", 0x08, 2, wide, six, 6, 0, 0);
    path = write_idx("wide-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    expect_read_error(path, NULL, lab, "one value per example");
}

static void test_idx_missing_labels(void **state)
{
    (void)state;
    const char *path =
        write_idx("lonely-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    expect_read_error(path, NULL, NULL, "lonely-labels-idx1-ubyte");
    expect_read_error(path, NULL, NULL, "missing");
    /* a name with nothing to pair on */
    path = write_idx("pixels.idx3", 0x08, 3, IMG_DIMS, PIX, sizeof PIX, 0, 0);
    expect_read_error(path, NULL, NULL, "cannot tell where the labels");
}

static void test_idx_empty(void **state)
{
    (void)state;
    const uint32_t zero[3] = {0, 2, 2}, zlab[1] = {0};
    write_idx("empty-labels-idx1-ubyte", 0x08, 1, zlab, NULL, 0, 0, 0);
    const char *path = write_idx("empty-images-idx3-ubyte", 0x08, 3, zero, NULL, 0, 0, 0);
    expect_read_error(path, NULL, NULL, "empty");
    expect_read_error(path, NULL, NULL, "0 examples");
    /* examples without features */
    const uint32_t nofeat[3] = {3, 0, 2};
    path = write_idx("nofeat-images-idx3-ubyte", 0x08, 3, nofeat, NULL, 0, 0, 0);
    expect_read_error(path, NULL, NULL, "dimension 2 is 0");
    /* a 0-byte file */
    path = write_bytes("zero-images-idx3-ubyte", "", 0, 0);
    expect_read_error(path, NULL, NULL, "empty file");
}

static void test_idx_overflow(void **state)
{
    (void)state;
    /* 65536 x 65536 features per example: beyond int */
    const uint32_t huge[3] = {3, 65536, 65536};
    const char *path = write_idx("huge-images-idx3-ubyte", 0x08, 3, huge, PIX, 12, 0, 0);
    expect_read_error(path, NULL, NULL, "overflow");
    /* 2^32-1 examples of 2^31-1 doubles: the byte count wraps uint64 */
    const uint32_t wrap[2] = {0xffffffffu, 0x7fffffffu};
    path = write_idx("wrap-images-idx3-ubyte", 0x0E, 2, wrap, PIX, 12, 0, 0);
    expect_read_error(path, NULL, NULL, "");
    /* a plausible header with a tiny body: refused as truncated, without
     * allocating what the header claims */
    const uint32_t big[3] = {60000, 28, 28};
    path = write_idx("liar-images-idx3-ubyte", 0x08, 3, big, PIX, 12, 0, 0);
    write_idx("liar-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, 3, 0, 0);
    expect_read_error(path, NULL, NULL, "truncated");
}

static void test_idx_bad_values(void **state)
{
    (void)state;
    /* signed byte label -1 */
    const unsigned char neg[3] = {1, 0xff, 2};
    const char *lab = write_idx("neg-labels-idx1-ubyte", 0x09, 1, LAB_DIMS, neg, 3, 0, 0);
    const char *path = write_idx("neg-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, 12, 0, 0);
    expect_read_error(path, NULL, lab, "label -1");
    /* int label 5000 >= CV_MAX_CLASSES */
    const unsigned char big[12] = {0, 0, 0, 1, 0, 0, 0x13, 0x88, 0, 0, 0, 2};
    lab = write_idx("big-labels-idx1-ubyte", 0x0C, 1, LAB_DIMS, big, 12, 0, 0);
    path = write_idx("big-images-idx3-ubyte", 0x08, 3, IMG_DIMS, PIX, 12, 0, 0);
    expect_read_error(path, NULL, lab, "label 5000");
    /* a NaN pixel in float images */
    const uint32_t d2[2] = {3, 1};
    const unsigned char nan[12] = {0, 0, 0, 0, 0x7f, 0xc0, 0, 0, 0, 0, 0, 0};
    write_idx("nan-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, 3, 0, 0);
    path = write_idx("nan-images-idx3-ubyte", 0x0D, 2, d2, nan, 12, 0, 0);
    expect_read_error(path, NULL, NULL, "example 1, feature 0 is NaN");
    /* an infinite double */
    const unsigned char inf[24] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0x7f, 0xf0, 0, 0, 0, 0, 0, 0};
    write_idx("inf-labels-idx1-ubyte", 0x08, 1, LAB_DIMS, LAB, 3, 0, 0);
    path = write_idx("inf-images-idx3-ubyte", 0x0E, 2, d2, inf, 24, 0, 0);
    expect_read_error(path, NULL, NULL, "example 2, feature 0");
}

/* ---- CSV -------------------------------------------------------------- */

static void test_csv_no_header(void **state)
{
    (void)state;
    cv_dataset ds;
    const char *path = write_text("plain.csv", "1,0.5,2\n0, 3 ,-4e1\r\n2,7,8\n\n  \n");
    read_ok(&ds, path, NULL);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.d, 2);
    const float want[6] = {0.5f, 2, 3, -40, 7, 8};
    for (int i = 0; i < 6; i++)
        assert_float_equal(ds.X[i], want[i], 0.0f);
    assert_int_equal(ds.y[0], 1);
    assert_int_equal(ds.y[1], 0);
    assert_int_equal(ds.y[2], 2);
    cv_dataset_free(&ds);

    /* no final newline, a label written as 3.0 (numpy.savetxt) */
    read_ok(&ds, write_text("nonl.csv", "3.0,1\n1,2"), NULL);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.y[0], 3);
    assert_float_equal(ds.X[1], 2.0f, 0.0f);
    cv_dataset_free(&ds);
}

static void test_csv_header(void **state)
{
    (void)state;
    cv_dataset ds;
    /* byte order mark, quoted names, CRLF */
    const char *path =
        write_text("head.csv", "\xEF\xBB\xBF\"label\",\"a\",b\r\n4,1.5,2\r\n0,3,4\r\n");
    read_ok(&ds, path, NULL);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 2);
    assert_int_equal(ds.y[0], 4);
    assert_float_equal(ds.X[0], 1.5f, 0.0f);
    assert_float_equal(ds.X[3], 4.0f, 0.0f);
    cv_dataset_free(&ds);
    /* the mark is not part of the first name */
    read_ok(&ds, path, "label");
    assert_int_equal(ds.y[0], 4);
    cv_dataset_free(&ds);
    /* nor does it make a numeric first row a header */
    read_ok(&ds, write_text("bom.csv", "\xEF\xBB\xBF" "1,2\n0,3\n"), NULL);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.y[0], 1);
    cv_dataset_free(&ds);
}

static void test_csv_named_label(void **state)
{
    (void)state;
    cv_dataset ds;
    const char *path = write_text("named.csv", "a, target ,b\n1.5,2,3\n4,0,6");
    read_ok(&ds, path, "target");
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 2);
    assert_int_equal(ds.y[0], 2);
    assert_int_equal(ds.y[1], 0);
    const float want[4] = {1.5f, 3, 4, 6};
    for (int i = 0; i < 4; i++)
        assert_float_equal(ds.X[i], want[i], 0.0f);
    cv_dataset_free(&ds);
    /* numeric column names, as pandas writes for an unnamed frame */
    read_ok(&ds, write_text("numnames.csv", "0,1,2\n1.5,2,3\n4,0,6\n"), "1");
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.y[1], 0);
    assert_float_equal(ds.X[1], 3.0f, 0.0f);
    cv_dataset_free(&ds);
    /* the last column */
    read_ok(&ds, path, "b");
    assert_int_equal(ds.y[0], 3);
    assert_int_equal(ds.y[1], 6);
    assert_float_equal(ds.X[1], 2.0f, 0.0f);
    cv_dataset_free(&ds);
}

static void test_csv_gzip(void **state)
{
    (void)state;
    cv_dataset ds;
    const char text[] = "y,x\n1,2\n0,5\n";
    read_ok(&ds, write_bytes("zipped.csv.gz", text, sizeof text - 1, 1), NULL);
    assert_int_equal(ds.n, 2);
    assert_float_equal(ds.X[1], 5.0f, 0.0f);
    cv_dataset_free(&ds);
}

static void test_csv_errors(void **state)
{
    (void)state;
    const char *p;
    p = write_text("e_count.csv", "1,2,3\n0,1\n");
    expect_read_error(p, NULL, NULL, ":2: 2 fields, expected 3");
    p = write_text("e_count2.csv", "label,a,b\n1,2,3\n\n1,2,3,4\n");
    expect_read_error(p, NULL, NULL, ":4: 4 fields, expected 3");
    p = write_text("e_word.csv", "1,2,3\n0,abc,3\n");
    expect_read_error(p, NULL, NULL, ":2:3: feature (column 2) 'abc' is not a number");
    p = write_text("e_word2.csv", "y,px1,px2\n1,2,3\n0,4, x7\n");
    expect_read_error(p, NULL, NULL, ":3:6: feature 'px2' (column 3) 'x7' is not a number");
    p = write_text("e_frac.csv", "0,1\n2.5,1\n");
    expect_read_error(p, NULL, NULL, ":2:1: label '2.5' is not a class");
    p = write_text("e_neg.csv", "0,1\n1,1\n-1,2\n");
    expect_read_error(p, NULL, NULL, ":3:1: label '-1' is not a class");
    p = write_text("e_cat.csv", "0,1\ncat,2\n");
    expect_read_error(p, NULL, NULL, ":2:1: label 'cat' is not a class");
    p = write_text("e_big.csv", "0,1\n4096,2\n");
    expect_read_error(p, NULL, NULL, ":2:1: label '4096'");
    p = write_text("e_lnan.csv", "0,1\nnan,2\n");
    expect_read_error(p, NULL, NULL, ":2:1: label 'nan'");
    p = write_text("e_nan.csv", "0,1\n1,nan\n");
    expect_read_error(p, NULL, NULL, ":2:3: feature (column 2) 'nan' is NaN");
    p = write_text("e_inf.csv", "0,inf\n");
    expect_read_error(p, NULL, NULL, ":1:3: feature (column 2) 'inf' is infinite");
    p = write_text("e_ninf.csv", "0,1,2\n1,3,  -Infinity\n");
    expect_read_error(p, NULL, NULL, ":2:7: feature (column 3) '-Infinity' is infinite");
    p = write_text("e_huge.csv", "0,1e39\n");
    expect_read_error(p, NULL, NULL, ":1:3: feature (column 2) '1e39' is beyond the float");
    p = write_text("e_hole.csv", "0,,1\n");
    expect_read_error(p, NULL, NULL, ":1:3: feature (column 2) '' is empty");
    p = write_text("e_empty.csv", "");
    expect_read_error(p, NULL, NULL, "empty file");
    p = write_text("e_blank.csv", "\n \r\n\n");
    expect_read_error(p, NULL, NULL, "empty file");
    p = write_text("e_head.csv", "label,a,b\n\n");
    expect_read_error(p, NULL, NULL, "no data rows after the header on line 1");
    p = write_text("e_one.csv", "1\n2\n");
    expect_read_error(p, NULL, NULL, ":1: a single column");
    p = write_text("e_nohead.csv", "1,2\n");
    expect_read_error(p, "y", NULL, ":1: the label column is named 'y', which needs a header");
    p = write_text("e_noname.csv", "a,b\n1,2\n");
    expect_read_error(p, "y", NULL, ":1: no column named 'y'");
    p = write_text("e_twice.csv", "y,a,y\n1,2,3\n");
    expect_read_error(p, "y", NULL, "appears twice");
    p = write_text("e_bin.csv", "1,2\n0,\x01\x02\n");
    expect_read_error(p, NULL, NULL, ":2:3: feature (column 2) '?\?' is not a number");
}

/* ---- HDF5 ------------------------------------------------------------- */

/* Writes dataset name (rank 0 = scalar), or nothing when type < 0. */
static void h5_put(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims,
                   const void *data)
{
    if (type < 0)
        return;
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    assert_true(space >= 0);
    hid_t dset = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(dset >= 0);
    hsize_t count = 1;
    for (int k = 0; k < rank; k++)
        count *= dims[k];
    if (count > 0)
        assert_true(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    assert_true(H5Dclose(dset) >= 0);
    assert_true(H5Sclose(space) >= 0);
}

static const char *write_h5(const char *name, hid_t xtype, int xrank, const hsize_t *xdims,
                            const void *x, hid_t ytype, int yrank, const hsize_t *ydims,
                            const void *y)
{
    const char *path = keep(tu_path(name));
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(file >= 0);
    h5_put(file, "X", xtype, xrank, xdims, x);
    h5_put(file, "y", ytype, yrank, ydims, y);
    assert_true(H5Fclose(file) >= 0);
    return path;
}

static const hsize_t XD[2] = {3, 2}, YD[1] = {3};
static const float XF[6] = {0.5f, -1, 2, 3.25f, 1e-3f, 9};
static const int32_t YI[3] = {2, 0, 1};

static void test_h5_float(void **state)
{
    (void)state;
    cv_dataset ds;
    const char *path = write_h5("f32.h5", H5T_NATIVE_FLOAT, 2, XD, XF, H5T_NATIVE_INT32, 1, YD,
                                YI);
    read_ok(&ds, path, NULL);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.d, 2);
    for (int i = 0; i < 6; i++)
        assert_float_equal(ds.X[i], XF[i], 0.0f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ds.y[i], YI[i]);
    cv_dataset_free(&ds);

    /* float64 X, int64 y, a name without .h5: found by its signature */
    const double xd[6] = {0.5, -1, 2, 3.25, 1e-3, 9};
    const int64_t yl[3] = {2, 0, 1};
    path = write_h5("f64.dat", H5T_NATIVE_DOUBLE, 2, XD, xd, H5T_NATIVE_INT64, 1, YD, yl);
    read_ok(&ds, path, NULL);
    for (int i = 0; i < 6; i++)
        assert_float_equal(ds.X[i], (float)xd[i], 0.0f);
    assert_int_equal(ds.y[0], 2);
    cv_dataset_free(&ds);

    /* float y with whole values is accepted */
    const double yf[3] = {2, 0, 1};
    path = write_h5("fy.hdf5", H5T_NATIVE_FLOAT, 2, XD, XF, H5T_NATIVE_DOUBLE, 1, YD, yf);
    read_ok(&ds, path, NULL);
    assert_int_equal(ds.y[0], 2);
    assert_int_equal(ds.y[2], 1);
    cv_dataset_free(&ds);
}

static void test_h5_uint8(void **state)
{
    (void)state;
    cv_dataset ds;
    /* images (n, 2, 2) of bytes: flattened to 4 features; y (n, 1) bytes */
    const hsize_t xd[3] = {3, 2, 2}, yd[2] = {3, 1};
    const char *path =
        write_h5("u8.h5", H5T_NATIVE_UCHAR, 3, xd, PIX, H5T_NATIVE_UCHAR, 2, yd, LAB);
    read_ok(&ds, path, NULL);
    check_small_idx(&ds);
    cv_dataset_free(&ds);
}

static void test_h5_errors(void **state)
{
    (void)state;
    const char *p;
    H5E_auto2_t before_func = NULL, after_func = NULL;
    void *before_data = NULL, *after_data = NULL;
    assert_true(H5Eget_auto2(H5E_DEFAULT, &before_func, &before_data) >= 0);

    p = write_h5("nox.h5", -1, 0, NULL, NULL, H5T_NATIVE_INT32, 1, YD, YI);
    expect_read_error(p, NULL, NULL, "no dataset 'X'");
    p = write_h5("noy.h5", H5T_NATIVE_FLOAT, 2, XD, XF, -1, 0, NULL, NULL);
    expect_read_error(p, NULL, NULL, "no dataset 'y'");
    const hsize_t six[1] = {6};
    p = write_h5("rank1.h5", H5T_NATIVE_FLOAT, 1, six, XF, H5T_NATIVE_INT32, 1, YD, YI);
    expect_read_error(p, NULL, NULL, "dataset X has rank 1: expected 2");
    p = write_h5("rank0.h5", H5T_NATIVE_FLOAT, 0, NULL, XF, H5T_NATIVE_INT32, 1, YD, YI);
    expect_read_error(p, NULL, NULL, "dataset X has rank 0");
    p = write_h5("yrank.h5", H5T_NATIVE_FLOAT, 2, XD, XF, H5T_NATIVE_FLOAT, 2, XD, XF);
    expect_read_error(p, NULL, NULL, "dataset y has rank 2");

    hid_t str = H5Tcopy(H5T_C_S1);
    assert_true(str >= 0);
    assert_true(H5Tset_size(str, 4) >= 0);
    const char words[24] = "abc\0def\0ghi\0jkl\0mno\0pqr";
    p = write_h5("xstr.h5", str, 2, XD, words, H5T_NATIVE_INT32, 1, YD, YI);
    expect_read_error(p, NULL, NULL, "dataset X holds strings: expected numbers");
    p = write_h5("ystr.h5", H5T_NATIVE_FLOAT, 2, XD, XF, str, 1, YD, words);
    expect_read_error(p, NULL, NULL, "dataset y holds strings: expected integer labels");
    assert_true(H5Tclose(str) >= 0);

    const double yfrac[3] = {1, 2.5, 0};
    p = write_h5("yfrac.h5", H5T_NATIVE_FLOAT, 2, XD, XF, H5T_NATIVE_DOUBLE, 1, YD, yfrac);
    expect_read_error(p, NULL, NULL, "dataset y, example 1: label 2.5 is not a class");
    const hsize_t y2[1] = {2};
    p = write_h5("count.h5", H5T_NATIVE_FLOAT, 2, XD, XF, H5T_NATIVE_INT32, 1, y2, YI);
    expect_read_error(p, NULL, NULL, "dataset X has 3 examples but dataset y has 2 labels");
    const hsize_t x0[2] = {0, 2}, y0[1] = {0};
    p = write_h5("n0.h5", H5T_NATIVE_FLOAT, 2, x0, XF, H5T_NATIVE_INT32, 1, y0, YI);
    expect_read_error(p, NULL, NULL, "0 examples");
    const hsize_t xd0[2] = {3, 0};
    p = write_h5("d0.h5", H5T_NATIVE_FLOAT, 2, xd0, XF, H5T_NATIVE_INT32, 1, YD, YI);
    expect_read_error(p, NULL, NULL, "dataset X has 0 features");

    float xnan[6] = {0, 1, 2, 3, 4, 5};
    xnan[3] = NAN;
    p = write_h5("nan.h5", H5T_NATIVE_FLOAT, 2, XD, xnan, H5T_NATIVE_INT32, 1, YD, YI);
    expect_read_error(p, NULL, NULL, "dataset X, example 1, feature 1 is NaN");
    const double xbig[6] = {0, 1, 2, 3, 1e300, 5};
    p = write_h5("big.h5", H5T_NATIVE_DOUBLE, 2, XD, xbig, H5T_NATIVE_INT32, 1, YD, YI);
    expect_read_error(p, NULL, NULL, "dataset X, example 2, feature 0 is infinite");
    const int32_t yneg[3] = {0, -1, 1}, ybig[3] = {0, 1, 4096};
    p = write_h5("yneg.h5", H5T_NATIVE_FLOAT, 2, XD, XF, H5T_NATIVE_INT32, 1, YD, yneg);
    expect_read_error(p, NULL, NULL, "label -1 is not a class");
    p = write_h5("ybig.h5", H5T_NATIVE_FLOAT, 2, XD, XF, H5T_NATIVE_INT32, 1, YD, ybig);
    expect_read_error(p, NULL, NULL, "label 4096 is not a class");

    /* X a group, not a dataset */
    p = keep(tu_path("group.h5"));
    hid_t file = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t g = H5Gcreate2(file, "X", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(g >= 0);
    assert_true(H5Gclose(g) >= 0);
    h5_put(file, "y", H5T_NATIVE_INT32, 1, YD, YI);
    assert_true(H5Fclose(file) >= 0);
    expect_read_error(p, NULL, NULL, "'X' is not a readable dataset");

    /* named .h5 but not HDF5 */
    p = write_text("text.h5", "1,2,3\n");
    expect_read_error(p, NULL, NULL, "not an HDF5 file");

    /* HDF5's own error printing is back as it was */
    assert_true(H5Eget_auto2(H5E_DEFAULT, &after_func, &after_data) >= 0);
    assert_true(after_func == before_func);
    assert_true(after_data == before_data);
    assert_non_null(after_func);
}

static void test_missing_file(void **state)
{
    (void)state;
    const char *p = keep(tu_path("does-not-exist.csv"));
    expect_read_error(p, NULL, NULL, ": cannot open: No such file or directory");
    expect_read_error(tu_dir(), NULL, NULL, ": cannot open: Is a directory");
    const char *h = keep(tu_path("does-not-exist.h5"));
    expect_read_error(h, NULL, NULL, ": cannot open: No such file or directory");
}

/* ---- cv_data_load ----------------------------------------------------- */

/* The load tests' data: example i has label i % 3 and features
 * id = i, sq = i^2 / 10, const = 5, mix = (7 i) mod 11. */
static double raw_feature(int i, int j)
{
    switch (j) {
    case 0:
        return i;
    case 1:
        return i * (double)i / 10.0;
    case 2:
        return 5;
    default:
        return (7 * i) % 11;
    }
}

static const char *write_load_csv(const char *name, int n, int first)
{
    size_t cap = 64 + 64 * (size_t)n;
    char *text = malloc(cap), *p = text;
    assert_non_null(text);
    p += sprintf(p, "label,id,sq,const,mix\n");
    for (int i = first; i < first + n; i++)
        p += sprintf(p, "%d,%d,%.1f,5,%d\n", i % 3, i, raw_feature(i, 1),
                     (int)raw_feature(i, 3));
    const char *path = write_text(name, text);
    free(text);
    return path;
}

static int load(cv_data *data, const char *source, const char *test, double dev_size,
                uint64_t seed, cv_error *err)
{
    cv_data_spec spec = {.source = source, .test = test, .dev_size = dev_size, .seed = seed};
    cv_error_clear(err);
    return cv_data_load(data, &spec, err);
}

static void load_ok(cv_data *data, const char *source, const char *test, double dev_size,
                    uint64_t seed)
{
    cv_error err;
    if (load(data, source, test, dev_size, seed, &err) != 0)
        fail_msg("%s: %s", source, err.msg);
}

/* The example ids of a split: feature 0 unstandardized. */
static void ids(const cv_data *data, const cv_dataset *ds, int *out)
{
    for (int64_t i = 0; i < ds->n; i++) {
        double raw = (double)ds->X[i * ds->d] * data->std[0] + data->mean[0];
        out[i] = (int)lround(raw);
        assert_float_equal(raw, out[i], 1e-3);
    }
}

static void expect_load_error(const char *source, const char *test, double dev_size,
                              const char *needle)
{
    cv_data data, zero;
    memset(&data, 0xab, sizeof data);
    memset(&zero, 0, sizeof zero);
    cv_error err;
    int ret = load(&data, source, test, dev_size, 1, &err);
    if (ret != CV_ERR_INPUT)
        fail_msg("expected CV_ERR_INPUT, got %d (%s)", ret, err.msg);
    assert_memory_equal(&data, &zero, sizeof data);
    assert_msg_has(&err, needle);
}

static void test_split_sizes(void **state)
{
    (void)state;
    const char *p60 = write_load_csv("n60.csv", 60, 0);
    const char *p61 = write_load_csv("n61.csv", 61, 0);
    const char *p7 = write_load_csv("n7.csv", 7, 0);
    const struct {
        const char *path;
        double dev_size;
        int64_t dev, train;
    } cases[] = {
        {p60, 10, 10, 50}, {p60, 0.25, 15, 45}, {p60, 0, 10, 50}, {p61, 0, 10, 51},
        {p7, 0.3, 2, 5},   {p7, 0.36, 3, 4},    {p7, 5, 5, 2},    {p60, 1, 1, 59},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cv_data data;
        load_ok(&data, cases[c].path, NULL, cases[c].dev_size, 1);
        assert_int_equal(data.dev.n, cases[c].dev);
        assert_int_equal(data.train.n, cases[c].train);
        assert_int_equal(data.test.n, 0);
        assert_null(data.test.X);
        assert_int_equal(data.d, 4);
        assert_int_equal(data.train.d, 4);
        assert_int_equal(data.dev.d, 4);
        assert_int_equal(data.classes, 3);
        assert_string_equal(data.source, cases[c].path);
        cv_data_free(&data);
        assert_null(data.source);
        assert_int_equal(data.train.n, 0);
    }
}

static void test_split_errors(void **state)
{
    (void)state;
    const char *p = write_load_csv("e60.csv", 60, 0);
    expect_load_error(p, NULL, 59, "leaving 1 for training");
    expect_load_error(p, NULL, 60, "leaving 0 for training");
    expect_load_error(p, NULL, 1000, "more than the 60 examples");
    expect_load_error(p, NULL, 0.001, "puts 0 of the 60 examples in the dev set");
    expect_load_error(p, NULL, -1, "dev_size -1");
    expect_load_error(p, NULL, 1.5, "dev_size 1.5");
    expect_load_error(p, NULL, NAN, "dev_size");
    const char *p5 = write_load_csv("e5.csv", 5, 0);
    expect_load_error(p5, NULL, 0, "puts 0 of the 5 examples"); /* 5 / 6 = 0 */
    expect_load_error(keep(tu_path("none.csv")), NULL, 0, "none.csv: cannot open");
    cv_data data;
    cv_error err;
    assert_int_equal(load(&data, NULL, NULL, 0, 1, &err), CV_ERR_INPUT);
}

static void test_split_membership(void **state)
{
    (void)state;
    const char *p = write_load_csv("m60.csv", 60, 0);
    int seen[60], a_dev[10], b_dev[10], c_dev[10], train_ids[50];
    cv_data a, b, c;
    load_ok(&a, p, NULL, 10, 42);
    load_ok(&b, p, NULL, 10, 42);
    load_ok(&c, p, NULL, 10, 43);

    ids(&a, &a.dev, a_dev);
    ids(&a, &a.train, train_ids);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 10; i++) {
        assert_in_range(a_dev[i], 0, 59);
        seen[a_dev[i]]++;
        assert_int_equal(a.dev.y[i], a_dev[i] % 3);
        if (i > 0)
            assert_true(a_dev[i] > a_dev[i - 1]); /* file order */
    }
    for (int i = 0; i < 50; i++) {
        assert_in_range(train_ids[i], 0, 59);
        seen[train_ids[i]]++;
        assert_int_equal(a.train.y[i], train_ids[i] % 3);
        if (i > 0)
            assert_true(train_ids[i] > train_ids[i - 1]);
    }
    for (int i = 0; i < 60; i++)
        assert_int_equal(seen[i], 1); /* disjoint, and together the whole file */

    /* the same seed gives the same split, another seed another one */
    ids(&b, &b.dev, b_dev);
    ids(&c, &c.dev, c_dev);
    assert_memory_equal(a_dev, b_dev, sizeof a_dev);
    assert_memory_not_equal(a_dev, c_dev, sizeof a_dev);
    assert_memory_equal(a.train.X, b.train.X, (size_t)a.train.n * 4 * sizeof(float));

    /* the split is the documented one: the first dev_size indices of a
     * Fisher-Yates shuffle keyed by cv_hash_key(seed, 0x5711, 0, 0) */
    int32_t idx[60];
    for (int i = 0; i < 60; i++)
        idx[i] = i;
    cv_rng rng;
    cv_rng_seed(&rng, cv_hash_key(42, 0x5711, 0, 0));
    cv_rng_shuffle(&rng, idx, 60);
    int mark[60] = {0};
    for (int i = 0; i < 10; i++)
        mark[idx[i]] = 1;
    for (int i = 0; i < 10; i++)
        assert_int_equal(mark[a_dev[i]], 1);

    cv_data_free(&a);
    cv_data_free(&b);
    cv_data_free(&c);
}

static void test_standardization(void **state)
{
    (void)state;
    const char *p = write_load_csv("s60.csv", 60, 0);
    const char *t = write_load_csv("s60test.csv", 9, 100);
    cv_data data;
    load_ok(&data, p, t, 12, 7);
    assert_int_equal(data.test.n, 9);
    int train_ids[48], dev_ids[12];
    ids(&data, &data.train, train_ids);
    ids(&data, &data.dev, dev_ids);

    for (int j = 0; j < 4; j++) {
        /* the training split is centred and scaled (population std) */
        double m = 0, s = 0;
        for (int64_t i = 0; i < data.train.n; i++)
            m += data.train.X[i * 4 + j];
        m /= (double)data.train.n;
        for (int64_t i = 0; i < data.train.n; i++)
            s += (data.train.X[i * 4 + j] - m) * (data.train.X[i * 4 + j] - m);
        s = sqrt(s / (double)data.train.n);
        assert_float_equal(m, 0.0, 1e-5);
        assert_float_equal(s, j == 2 ? 0.0 : 1.0, 1e-5);

        /* fitted on the training examples alone */
        double tm = 0, ts = 0, all = 0;
        for (int i = 0; i < 48; i++)
            tm += raw_feature(train_ids[i], j);
        tm /= 48;
        for (int i = 0; i < 48; i++)
            ts += (raw_feature(train_ids[i], j) - tm) * (raw_feature(train_ids[i], j) - tm);
        ts = sqrt(ts / 48);
        for (int i = 0; i < 60; i++)
            all += raw_feature(i, j);
        all /= 60;
        assert_float_equal(data.mean[j], tm, 1e-4 * (1 + fabs(tm)));
        if (j == 1) /* sq: the full file's mean is far from the train mean */
            assert_true(fabs(all - tm) > 1e-2);
        if (j == 2) {
            assert_float_equal(data.std[j], 1.0f, 0.0f);
            assert_float_equal(data.mean[j], 5.0f, 0.0f);
        } else {
            assert_float_equal(data.std[j], ts, 1e-4 * ts);
        }

        /* dev and test use the training statistics */
        for (int i = 0; i < 12; i++) {
            double want = (raw_feature(dev_ids[i], j) - data.mean[j]) / data.std[j];
            assert_float_equal(data.dev.X[i * 4 + j], want, 1e-4 * (1 + fabs(want)));
        }
        for (int i = 0; i < 9; i++) {
            double want = (raw_feature(100 + i, j) - data.mean[j]) / data.std[j];
            assert_float_equal(data.test.X[i * 4 + j], want, 1e-4 * (1 + fabs(want)));
        }
    }
    /* the constant feature is exactly 0 everywhere, no NaN */
    for (int64_t i = 0; i < data.train.n; i++)
        assert_true(data.train.X[i * 4 + 2] == 0.0f);
    for (int64_t i = 0; i < data.dev.n; i++)
        assert_true(data.dev.X[i * 4 + 2] == 0.0f);
    for (int64_t i = 0; i < data.test.n; i++)
        assert_true(data.test.X[i * 4 + 2] == 0.0f);
    for (int64_t i = 0; i < data.train.n * 4; i++)
        assert_true(isfinite(data.train.X[i]));
    cv_data_free(&data);
}

static void test_test_set(void **state)
{
    (void)state;
    const char *p = write_load_csv("t60.csv", 60, 0);
    /* test labels 0..2 fit; the ids go on */
    const char *good = write_load_csv("t_good.csv", 6, 60);
    cv_data data;
    load_ok(&data, p, good, 0, 1);
    assert_int_equal(data.test.n, 6);
    assert_int_equal(data.test.y[1], 61 % 3);
    cv_data_free(&data);

    const char *narrow = write_text("t_narrow.csv", "label,a,b\n0,1,2\n");
    expect_load_error(p, narrow, 0, "t_narrow.csv: 2 features per example");
    expect_load_error(p, narrow, 0, "t60.csv has 4");
    const char *label3 = write_text("t_label3.csv", "0,1,2,3,4\n3,1,2,3,4\n");
    expect_load_error(p, label3, 0, "t_label3.csv: example 1 has label 3");
    expect_load_error(p, label3, 0, "classes 0 to 2");
    expect_load_error(p, keep(tu_path("t_missing.csv")), 0, "t_missing.csv: cannot open");
}

/* An IDX source through cv_data_load, as fashion-mnist is read. */
static void test_load_idx(void **state)
{
    (void)state;
    const char *p = write_idx_pair("load", ".gz", 1);
    cv_data data;
    load_ok(&data, p, p, 1, 3);
    assert_int_equal(data.train.n, 2);
    assert_int_equal(data.dev.n, 1);
    assert_int_equal(data.test.n, 3);
    assert_int_equal(data.classes, 10);
    cv_data_free(&data);
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    struct stat st;
    if (stat(CV_FASHION_MNIST_DIR, &st) != 0) {
        print_message("%s missing: install dataset-fashion-mnist to run this\n",
                      CV_FASHION_MNIST_DIR);
        skip();
    }
    /* the raw file: Fashion-MNIST's first training example is an ankle boot */
    cv_dataset raw;
    double t0 = now();
    read_ok(&raw, CV_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", NULL);
    double t_read = now() - t0;
    assert_int_equal(raw.n, 60000);
    assert_int_equal(raw.d, 784);
    assert_int_equal(raw.y[0], 9);
    float lo = 255, hi = 0;
    for (size_t i = 0; i < (size_t)raw.n * 784; i++) {
        lo = raw.X[i] < lo ? raw.X[i] : lo;
        hi = raw.X[i] > hi ? raw.X[i] : hi;
    }
    assert_float_equal(lo, 0.0f, 0.0f);
    assert_float_equal(hi, 255.0f, 0.0f);
    cv_dataset_free(&raw);

    cv_data data;
    t0 = now();
    double c0 = cpu_now();
    load_ok(&data, "fashion-mnist", NULL, 0, 1);
    double t_load = now() - t0, c_load = cpu_now() - c0;
    print_message("fashion-mnist: train file read %.3f s, cv_data_load %.3f s (%.3f s CPU)\n",
                  t_read, t_load, c_load);
    assert_int_equal(data.train.n, 50000);
    assert_int_equal(data.dev.n, 10000);
    assert_int_equal(data.test.n, 10000);
    assert_int_equal(data.d, 784);
    assert_int_equal(data.classes, 10);
    assert_string_equal(data.source, "fashion-mnist");
    int counts[10] = {0};
    for (int64_t i = 0; i < data.test.n; i++)
        counts[data.test.y[i]]++;
    for (int k = 0; k < 10; k++)
        assert_int_equal(counts[k], 1000); /* t10k is balanced */
    for (size_t i = 0; i < (size_t)data.dev.n * 784; i++)
        assert_true(isfinite(data.dev.X[i]));
#if !defined(__SANITIZE_ADDRESS__)
    /* CPU time, not wall time: other jobs on the machine must not fail this.
     * It takes about 0.6 s: inflating 26 MB of gzip is most of it. */
    assert_true(c_load < 3.0);
#endif
    cv_data_free(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_raw),
        cmocka_unit_test(test_idx_gz),
        cmocka_unit_test(test_idx_pairing),
        cmocka_unit_test(test_idx_types),
        cmocka_unit_test(test_idx_bad_magic),
        cmocka_unit_test(test_idx_truncated),
        cmocka_unit_test(test_idx_corrupt_gzip),
        cmocka_unit_test(test_idx_trailing),
        cmocka_unit_test(test_idx_count_mismatch),
        cmocka_unit_test(test_idx_missing_labels),
        cmocka_unit_test(test_idx_empty),
        cmocka_unit_test(test_idx_overflow),
        cmocka_unit_test(test_idx_bad_values),
        cmocka_unit_test(test_csv_no_header),
        cmocka_unit_test(test_csv_header),
        cmocka_unit_test(test_csv_named_label),
        cmocka_unit_test(test_csv_gzip),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_h5_float),
        cmocka_unit_test(test_h5_uint8),
        cmocka_unit_test(test_h5_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_split_sizes),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_split_membership),
        cmocka_unit_test(test_standardization),
        cmocka_unit_test(test_test_set),
        cmocka_unit_test(test_load_idx),
        cmocka_unit_test(test_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
