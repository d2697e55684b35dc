/* h5in.c: the HDF5 reader: dataset X (n, d) of numbers and dataset y (n) of
 * integer labels at the root of the file, as h5py writes them:
 *
 *     with h5py.File("data.h5", "w") as f:
 *         f["X"] = X.astype("float32")    # or float64, uint8, any integer
 *         f["y"] = y                      # any integer type
 *
 * HDF5 converts X to native float and y to int64 while reading. X may have
 * more than two dimensions, (n, 28, 28) say: the features of an example are
 * then the product of the trailing ones, as for IDX. y may be (n) or (n, 1).
 * Floating-point y is accepted when every label is a whole number (numpy
 * code often stores labels as float64); 2.5 is refused.
 *
 * HDF5 prints its own error stack to stderr by default; that is switched off
 * while reading and restored after, since every failure is reported here
 * with the file and the dataset it concerns.
 *
 * caviar checks what it can before HDF5 reads a file (the root group's name
 * heap, a dataset's storage against its shape), but HDF5 1.10 still crashes
 * on some damaged object headers and B-trees. So the file is read in a child
 * process (caviar/isolate.h) that sends X and y back through a pipe: a file
 * that crashes HDF5 is refused with a message, like any other bad input. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "caviar/isolate.h"
#include "loaders.h"

/* The open pieces of one dataset. */
typedef struct h5_set {
    hid_t dset, space, type;
    H5T_class_t cls;
    int rank;
    hsize_t dims[H5S_MAX_RANK];
} h5_set;

static const char *h5_class_name(H5T_class_t cls)
{
    switch (cls) {
    case H5T_INTEGER:
        return "integers";
    case H5T_FLOAT:
        return "floating-point numbers";
    case H5T_TIME:
        return "times";
    case H5T_STRING:
        return "strings";
    case H5T_BITFIELD:
        return "bit fields";
    case H5T_OPAQUE:
        return "opaque data";
    case H5T_COMPOUND:
        return "compound records";
    case H5T_REFERENCE:
        return "references";
    case H5T_ENUM:
        return "enumerations";
    case H5T_VLEN:
        return "variable-length sequences";
    case H5T_ARRAY:
        return "arrays";
    default:
        return "values of an unknown type";
    }
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Whether the free list of a local heap (its data segment of size bytes at
 * file offset at) is damaged: a block outside the segment, or a list that
 * does not end (HDF5 1.10 follows a cycle forever, allocating as it goes).
 * Each block holds the offset of the next (1, or all ones, at the end) and
 * its size; a block is at least 16 bytes, so a list has at most size / 16. */
static int h5_bad_free_list(FILE *f, uint64_t at, uint64_t size, uint64_t first)
{
    unsigned char *seg = malloc(size);
    if (seg == NULL || at > (uint64_t)LONG_MAX || fseek(f, (long)at, SEEK_SET) != 0 ||
        fread(seg, 1, size, f) != size) {
        free(seg);
        return seg != NULL; /* out of memory: leave the file to HDF5 */
    }
    int bad = 1;
    uint64_t block = first;
    for (uint64_t steps = 0; steps <= size / 16; steps++) {
        if (block == 1 || block == UINT64_MAX) {
            bad = 0;
            break;
        }
        if (block >= size || size - block < 16)
            break;
        uint64_t next = le64(seg + block), len = le64(seg + block + 8);
        if (len > size - block)
            break;
        block = next;
    }
    free(seg);
    return bad;
}

/* In a file of the original format (superblock version 0 or 1, what h5py
 * writes by default) the root group's names live in a local heap that the
 * superblock points to. HDF5 1.10 does not check that heap before looking a
 * name up (H5Lexists, H5Dopen2): a damaged heap header (no "HEAP"
 * signature, a data segment of 2^64 - 1 bytes or at an undefined address)
 * makes it copy from a null pointer or overrun its own heap. Read the
 * superblock and the heap header ourselves and refuse such a file first.
 * Files this cannot judge (a user block, 4-byte addresses, a root entry
 * without the cached heap address, newer superblocks) are left to HDF5. */
static int h5_check_root_heap(const char *path, cv_error *err)
{
    unsigned char sb[128], heap[32];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0; /* HDF5 reports it */
    int bad = 0;
    size_t got = fread(sb, 1, sizeof sb, f);
    if (got >= 100 && memcmp(sb, "\211HDF\r\n\032\n", 8) == 0 && sb[8] <= 1 &&
        sb[13] == 8 && sb[14] == 8 && fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        size_t entry = sb[8] == 0 ? 56 : 60; /* the root group's symbol table entry */
        uint32_t cache = (uint32_t)sb[entry + 16] | (uint32_t)sb[entry + 17] << 8 |
                         (uint32_t)sb[entry + 18] << 16 | (uint32_t)sb[entry + 19] << 24;
        uint64_t base = le64(sb + 24), at = le64(sb + entry + 32);
        if (cache == 1 && size > 0) {
            uint64_t end = (uint64_t)size;
            bad = base > end || at > end - base || end - base - at < sizeof heap ||
                  fseek(f, (long)(base + at), SEEK_SET) != 0 ||
                  fread(heap, 1, sizeof heap, f) != sizeof heap;
            if (!bad) {
                uint64_t data_size = le64(heap + 8), free_at = le64(heap + 16);
                uint64_t data_at = le64(heap + 24);
                bad = memcmp(heap, "HEAP", 4) != 0 || heap[4] != 0 || data_size == 0 ||
                      data_at > end - base || data_size > end - base - data_at ||
                      (free_at != UINT64_MAX && free_at >= data_size);
                if (!bad && free_at != UINT64_MAX)
                    bad = h5_bad_free_list(f, base + data_at, data_size, free_at);
            }
        }
    }
    fclose(f);
    if (bad)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: damaged HDF5 file: the root group's local heap (its table of names) "
                       "is not valid",
                       path);
    return 0;
}

/* Checks that the storage a dataset's layout message declares can hold its
 * values: HDF5 1.10 trusts it and, reading a damaged file, copies from a
 * null buffer (a compact dataset that holds fewer bytes than its shape
 * needs) or past the end of the file (a contiguous one), crashing in
 * H5Dread. Unallocated contiguous storage is fine (HDF5 returns the fill
 * value); chunked storage is checked chunk by chunk by HDF5 itself. */
static int h5_check_storage(const h5_set *s, hid_t file, const char *path, const char *name,
                            cv_error *err)
{
    if (s->rank < 1)
        return 0; /* refused by the caller */
    size_t esize = H5Tget_size(s->type);
    double need = (double)esize; /* bytes of every value, in double: no wrap */
    for (int k = 0; k < s->rank; k++)
        need *= (double)s->dims[k];
    hid_t dcpl = H5Dget_create_plist(s->dset);
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (esize == 0 || layout == H5D_LAYOUT_ERROR)
        return cv_fail(err, CV_ERR_INPUT, "%s: dataset %s: cannot read its storage layout", path,
                       name);
    double have = (double)H5Dget_storage_size(s->dset);
    hsize_t file_size = 0;
    bool bad = false;
    if (layout == H5D_COMPACT) {
        bad = have != need;
    } else if (layout == H5D_CONTIGUOUS) {
        haddr_t off = H5Dget_offset(s->dset);
        bad = off != HADDR_UNDEF && (have < need || H5Fget_filesize(file, &file_size) < 0 ||
                                     (double)off + need > (double)file_size);
    }
    if (bad)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dataset %s is damaged: its storage holds %.0f bytes (within the "
                       "file) for the %.0f bytes of its values",
                       path, name, have, need);
    return 0;
}

/* Checks that a number type's fields lie within its bytes: HDF5 1.10
 * converts integers and floats bit by bit as the type describes them, and
 * a damaged type (a 64-bit precision in a 1-byte integer, an exponent past
 * the end of the value) makes it write past its own buffers ("stack
 * smashing detected" in H5T__bit_get_d, found by fuzzing). */
static int h5_check_number_type(const h5_set *s, const char *path, const char *name,
                                cv_error *err)
{
    if (s->cls != H5T_INTEGER && s->cls != H5T_FLOAT)
        return 0; /* refused by the caller */
    size_t bits = 8 * H5Tget_size(s->type), prec = H5Tget_precision(s->type);
    int off = H5Tget_offset(s->type);
    bool bad = bits == 0 || bits > 128 || prec == 0 || off < 0 || prec + (size_t)off > bits;
    if (!bad && s->cls == H5T_FLOAT) {
        size_t spos, epos, esize, mpos, msize;
        bad = H5Tget_fields(s->type, &spos, &epos, &esize, &mpos, &msize) < 0 || esize == 0 ||
              msize == 0 || spos >= prec || epos + esize > prec || mpos + msize > prec;
    }
    if (bad)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dataset %s is damaged: its number type describes %zu bits from "
                       "bit %d of a value of %zu bits",
                       path, name, prec, off, bits);
    return 0;
}

/* Opens dataset name at the root and reads its shape and type class. */
static int h5_open(h5_set *s, hid_t file, const char *path, const char *name, cv_error *err)
{
    htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
    if (exists < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: cannot look up dataset %s", path, name);
    if (exists == 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: no dataset '%s': expected X (examples, features) and y (examples) "
                       "at the root of the file",
                       path, name);
    s->dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (s->dset < 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: '%s' is not a readable dataset (a group, or a dangling link?)", path,
                       name);
    s->space = H5Dget_space(s->dset);
    if (s->space < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: dataset %s: cannot read its shape", path, name);
    H5S_class_t sc = H5Sget_simple_extent_type(s->space);
    if (sc == H5S_NO_CLASS)
        return cv_fail(err, CV_ERR_INPUT, "%s: dataset %s: cannot read its shape", path, name);
    if (sc == H5S_SIMPLE) {
        s->rank = H5Sget_simple_extent_ndims(s->space);
        if (s->rank < 0 || H5Sget_simple_extent_dims(s->space, s->dims, NULL) < 0)
            return cv_fail(err, CV_ERR_INPUT, "%s: dataset %s: cannot read its shape", path,
                           name);
    } else {
        s->rank = 0; /* a scalar or an empty (null) dataspace */
    }
    s->type = H5Dget_type(s->dset);
    if (s->type < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: dataset %s: cannot read its type", path, name);
    s->cls = H5Tget_class(s->type);
    if (s->cls == H5T_NO_CLASS)
        return cv_fail(err, CV_ERR_INPUT, "%s: dataset %s: cannot read its type", path, name);
    int rc = h5_check_number_type(s, path, name, err);
    return rc < 0 ? rc : h5_check_storage(s, file, path, name, err);
}

/* Closes what h5_open opened; returns -1 if HDF5 refused. */
static int h5_close(h5_set *s)
{
    int bad = 0;
    if (s->type >= 0 && H5Tclose(s->type) < 0)
        bad = -1;
    if (s->space >= 0 && H5Sclose(s->space) < 0)
        bad = -1;
    if (s->dset >= 0 && H5Dclose(s->dset) < 0)
        bad = -1;
    s->type = s->space = s->dset = H5I_INVALID_HID;
    return bad;
}

/* Opens path as HDF5 after the checks HDF5 itself does not make. */
static int h5in_open_file(hid_t *file, const char *path, cv_error *err)
{
    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 <= 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: not an HDF5 file (no HDF5 signature found)", path);
    int ret = h5_check_root_heap(path, err);
    if (ret < 0)
        return ret;
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: cannot open as HDF5: damaged, or held open for writing by another "
                       "process",
                       path);
    return 0;
}

/* Opens X and checks it: (n, d) or (n, d1, d2, ...) of numbers. */
static int h5in_open_x(h5_set *xs, hid_t file, const char *path, cv_error *err)
{
    int ret = h5_open(xs, file, path, "X", err);
    if (ret < 0)
        return ret;
    if (xs->rank < 2)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dataset X has rank %d: expected 2, (examples, features)", path,
                       xs->rank);
    if (xs->cls != H5T_INTEGER && xs->cls != H5T_FLOAT)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dataset X holds %s: expected numbers (float or integer)", path,
                       h5_class_name(xs->cls));
    return 0;
}

/* Opens y and checks it: (n) or (n, 1) of integers (or whole floats). */
static int h5in_open_y(h5_set *ys, hid_t file, const char *path, cv_error *err)
{
    int ret = h5_open(ys, file, path, "y", err);
    if (ret < 0)
        return ret;
    if (ys->rank == 2 && ys->dims[1] != 1)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dataset y has rank 2, shape (%llu, %llu): expected rank 1 (or one "
                       "column), one label per example",
                       path, (unsigned long long)ys->dims[0], (unsigned long long)ys->dims[1]);
    if (ys->rank != 1 && ys->rank != 2)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dataset y has rank %d: expected 1, one label per example", path,
                       ys->rank);
    if (ys->cls != H5T_INTEGER && ys->cls != H5T_FLOAT)
        return cv_fail(err, CV_ERR_INPUT, "%s: dataset y holds %s: expected integer labels", path,
                       h5_class_name(ys->cls));
    return 0;
}

/* The shape: n examples of d features (the product of X's trailing
 * dimensions), both sane, X and y agreeing on n. */
static int h5in_shape(const h5_set *xs, const h5_set *ys, const char *path, hsize_t *n_out,
                      hsize_t *d_out, cv_error *err)
{
    hsize_t n = xs->dims[0];
    if (n != ys->dims[0])
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dataset X has %llu examples but dataset y has %llu labels", path,
                       (unsigned long long)n, (unsigned long long)ys->dims[0]);
    if (n == 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: datasets X and y are empty: 0 examples", path);
    for (int k = 1; k < xs->rank; k++)
        if (xs->dims[k] == 0)
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: dataset X has 0 features (its dimension %d is 0)", path, k + 1);
    hsize_t d = 1;
    for (int k = 1; k < xs->rank; k++) {
        if (xs->dims[k] > (hsize_t)INT_MAX / d)
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: dataset X has more than %d features per example", path, INT_MAX);
        d *= xs->dims[k];
    }
    if (n > (hsize_t)CV_DATA_MAX_N)
        return cv_fail(err, CV_ERR_INPUT, "%s: dataset X has %llu examples: at most %d", path,
                       (unsigned long long)n, CV_DATA_MAX_N);
    if (n * d > (hsize_t)PTRDIFF_MAX / sizeof(double)) /* n, d < 2^31: no wrap */
        return cv_fail(err, CV_ERR_INPUT, "%s: dataset X is too large: %llu x %llu", path,
                       (unsigned long long)n, (unsigned long long)d);
    *n_out = n;
    *d_out = d;
    return 0;
}

/* Reads y's n labels into a fresh *out (the caller frees it, also on
 * failure), each checked to be a class. */
static int h5in_read_labels(const h5_set *ys, hsize_t n, const char *path, int32_t **out,
                            cv_error *err)
{
    int ret = 0;
    int y_int = ys->cls == H5T_INTEGER;
    void *buf = malloc((size_t)n * (y_int ? sizeof(int64_t) : sizeof(double))); /* (n) */
    int32_t *y = *out = malloc((size_t)n * sizeof *y);                          /* (n) */
    if (buf == NULL || y == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %llu labels", path,
                      (unsigned long long)n);
        goto done;
    }
    if (H5Dread(ys->dset, y_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                H5P_DEFAULT, buf) < 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: cannot read dataset y (damaged, or compressed with a filter this "
                      "HDF5 lacks)",
                      path);
        goto done;
    }
    for (hsize_t i = 0; i < n; i++) {
        /* HDF5 saturates out-of-range integers, so the range check sees them. */
        double v = y_int ? (double)((int64_t *)buf)[i] : ((double *)buf)[i];
        if (!(v >= 0.0 && v < CV_MAX_CLASSES) || v != floor(v)) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: dataset y, example %llu: label %g is not a class: expected an "
                          "integer in [0, %d)",
                          path, (unsigned long long)i, v, CV_MAX_CLASSES);
            goto done;
        }
        y[i] = (int32_t)v;
    }

done:
    free(buf);
    return ret;
}

/* Reads X's n x d features, as floats, into a fresh *out (the caller frees
 * it, also on failure), each checked to be finite: doubles beyond float
 * range arrive as infinities and are refused too. */
static int h5in_read_features(const h5_set *xs, hsize_t n, hsize_t d, const char *path,
                              float **out, cv_error *err)
{
    float *X = *out = malloc((size_t)(n * d) * sizeof *X); /* (n, d) */
    if (X == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %llu x %llu features", path,
                       (unsigned long long)n, (unsigned long long)d);
    if (H5Dread(xs->dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, X) < 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: cannot read dataset X (damaged, or compressed with a filter this "
                       "HDF5 lacks)",
                       path);
    for (size_t i = 0; i < (size_t)(n * d); i++)
        if (!isfinite(X[i]))
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: dataset X, example %zu, feature %zu is %s: features must be "
                           "finite float numbers",
                           path, i / (size_t)d, i % (size_t)d,
                           isnan(X[i]) ? "NaN" : "infinite or beyond float range");
    return 0;
}

/* Reads the file in this process: HDF5's own error printing silenced, the
 * file and its datasets opened and checked, the labels read before the
 * (larger) features so that bad ones fail first, everything closed. */
static int h5in_read(cv_dataset *ds, const char *path, cv_error *err)
{
    int ret = 0;
    hid_t file = H5I_INVALID_HID;
    h5_set xs = {.dset = H5I_INVALID_HID, .space = H5I_INVALID_HID, .type = H5I_INVALID_HID};
    h5_set ys = xs;
    H5E_auto2_t old_func = NULL;
    void *old_data = NULL;
    int restore = 0, closed = 0;
    hsize_t n = 0, d = 0;
    float *X = NULL;
    int32_t *y = NULL;
    memset(ds, 0, sizeof *ds);

    /* Silence HDF5's stderr error stack: our messages say it better. */
    if (H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data) < 0 ||
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0) {
        ret = cv_fail(err, CV_ERR_RUNTIME, "%s: cannot configure HDF5 error reporting", path);
        goto error;
    }
    restore = 1;

    if ((ret = h5in_open_file(&file, path, err)) < 0 ||
        (ret = h5in_open_x(&xs, file, path, err)) < 0 ||
        (ret = h5in_open_y(&ys, file, path, err)) < 0 ||
        (ret = h5in_shape(&xs, &ys, path, &n, &d, err)) < 0 ||
        (ret = h5in_read_labels(&ys, n, path, &y, err)) < 0 ||
        (ret = h5in_read_features(&xs, n, d, path, &X, err)) < 0)
        goto error;
    ds->n = (int64_t)n;
    ds->d = (int)d;
    ds->X = X;
    ds->y = y;
    X = NULL;
    y = NULL;

error:
    /* Reached on success too: close everything, report a refused close. */
    closed = h5_close(&ys);
    closed |= h5_close(&xs);
    if (file >= 0 && H5Fclose(file) < 0)
        closed = -1;
    if (closed < 0 && ret == 0)
        ret = cv_fail(err, CV_ERR_RUNTIME, "%s: HDF5 failed to close the file", path);
    if (restore && H5Eset_auto2(H5E_DEFAULT, old_func, old_data) < 0 && ret == 0)
        ret = cv_fail(err, CV_ERR_RUNTIME, "%s: cannot restore HDF5 error reporting", path);
    free(X);
    free(y);
    if (ret < 0)
        cv_dataset_free(ds);
    return ret;
}

/* The reader's state for cv_isolate: the child reads ds and sends its
 * shape, labels and features; the parent receives them into its own ds. */
typedef struct h5in_job {
    cv_dataset *ds;
    const char *path;
} h5in_job;

static int h5in_work(void *arg, cv_error *err)
{
    h5in_job *j = arg;
    return h5in_read(j->ds, j->path, err);
}

static int h5in_send(void *arg, int fd)
{
    const cv_dataset *ds = ((h5in_job *)arg)->ds;
    int64_t shape[2] = {ds->n, ds->d};
    size_t n = (size_t)ds->n;
    if (cv_write_all(fd, shape, sizeof shape) < 0 ||
        cv_write_all(fd, ds->y, n * sizeof *ds->y) < 0 ||
        cv_write_all(fd, ds->X, n * (size_t)ds->d * sizeof *ds->X) < 0)
        return -1;
    return 0;
}

static int h5in_receive(void *arg, int fd, cv_error *err)
{
    h5in_job *j = arg;
    cv_dataset *ds = j->ds;
    int64_t shape[2];
    if (cv_read_all(fd, shape, sizeof shape) < 0)
        return 1; /* the child ended early: cv_isolate says why */
    /* The child checked these bounds; a wrong shape here is a broken pipe. */
    if (shape[0] < 1 || shape[0] > CV_DATA_MAX_N || shape[1] < 1 || shape[1] > INT_MAX ||
        (uint64_t)shape[0] * (uint64_t)shape[1] > (uint64_t)PTRDIFF_MAX / sizeof(double))
        return cv_fail(err, CV_ERR_RUNTIME, "%s: the process reading it sent a bad shape",
                       j->path);
    size_t n = (size_t)shape[0], d = (size_t)shape[1];
    ds->y = malloc(n * sizeof *ds->y);
    ds->X = malloc(n * d * sizeof *ds->X);
    if (ds->y == NULL || ds->X == NULL) {
        cv_dataset_free(ds);
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %zu x %zu features", j->path,
                       n, d);
    }
    if (cv_read_all(fd, ds->y, n * sizeof *ds->y) < 0 ||
        cv_read_all(fd, ds->X, n * d * sizeof *ds->X) < 0) {
        cv_dataset_free(ds);
        return 1;
    }
    ds->n = shape[0];
    ds->d = (int)shape[1];
    return 0;
}

int cv_h5in_read(cv_dataset *ds, const char *path, cv_error *err)
{
    memset(ds, 0, sizeof *ds);
    h5in_job j = {ds, path};
    /* Reading takes a few seconds per GB even compressed: a generous bound
     * that only a loop inside HDF5 overruns. A data set may legitimately
     * take any memory, so none is set. */
    struct stat st;
    double size = stat(path, &st) == 0 ? (double)st.st_size : 0.0;
    cv_isolated r = {.work = h5in_work,
                     .send = h5in_send,
                     .receive = h5in_receive,
                     .arg = &j,
                     .seconds = 30.0 + size / 10e6,
                     .why = "damaged HDF5 file: the HDF5 library failed reading it"};
    return cv_isolate(&r, path, err);
}
