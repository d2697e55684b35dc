/* idx.c: the IDX reader (the format of MNIST and Fashion-MNIST), raw or gzip.
 *
 * An IDX file is a 4-byte magic 0x0000TTNN (TT the element type, NN the
 * number of dimensions), NN big-endian uint32 dimensions, then the elements,
 * big endian, row major. The first dimension counts examples; the features of
 * an example are the product of the others (28 x 28 pixels -> 784). Labels
 * live in a second IDX file beside the images, found by name.
 *
 * Everything goes through zlib's gzread, which inflates gzip (recognized by
 * its magic bytes 1f 8b, whatever the name) and passes other files through
 * unchanged. The payload is inflated in 1 MiB slices and converted as it
 * comes (no copy of the raw bytes is kept). The header is distrusted: the
 * output array grows as data actually arrives, so a forged header cannot make
 * us allocate gigabytes for a tiny file, and the file must hold exactly the
 * bytes the header declares. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "loaders.h"

/* IDX element types: the third byte of the magic. */
enum {
    IDX_U8 = 0x08,
    IDX_I8 = 0x09,
    IDX_I16 = 0x0B,
    IDX_I32 = 0x0C,
    IDX_F32 = 0x0D,
    IDX_F64 = 0x0E,
};

/* One IDX file being read: its header, the stream left at the payload. */
typedef struct idx_file {
    gzFile f;
    int type;     /* element type, IDX_* */
    int size;     /* bytes per element */
    int ndims;    /* dimensions in the header, >= 1 */
    int64_t n;    /* dims[0]: examples, >= 1 */
    int64_t d;    /* product of dims[1..]: values per example, 1..INT_MAX */
    size_t count; /* n * d elements in the payload */
} idx_file;

/* The payload is inflated and converted in slices of this many bytes (a
 * multiple of every element size, so no element straddles two slices). */
#define IDX_SLICE ((size_t)1 << 20)

static int idx_elem_size(int type)
{
    switch (type) {
    case IDX_U8:
    case IDX_I8:
        return 1;
    case IDX_I16:
        return 2;
    case IDX_I32:
    case IDX_F32:
        return 4;
    case IDX_F64:
        return 8;
    default:
        return 0;
    }
}

static const char *idx_type_name(int type)
{
    switch (type) {
    case IDX_U8:
        return "unsigned byte";
    case IDX_I8:
        return "signed byte";
    case IDX_I16:
        return "short";
    case IDX_I32:
        return "int";
    case IDX_F32:
        return "float";
    case IDX_F64:
        return "double";
    default:
        return "unknown";
    }
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Opens an IDX file and reads and validates its header, leaving the stream
 * at the first element. */
static int idx_open(idx_file *idx, const char *path, cv_error *err)
{
    int ret = 0;
    unsigned char head[4], dimbuf[4 * 255];
    size_t got = 0;
    memset(idx, 0, sizeof *idx);

    errno = 0;
    idx->f = gzopen(path, "rb");
    if (idx->f == NULL) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: cannot open: %s", path,
                      strerror(errno ? errno : ENOMEM));
        goto error;
    }
    gzbuffer(idx->f, 1 << 18); /* big reads: Fashion-MNIST is 47 MB inflated */

    if (cv_gz_read_full(idx->f, head, sizeof head, &got) < 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", path, cv_gz_message(idx->f));
        goto error;
    }
    if (got < sizeof head) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: truncated IDX header: %zu of the 4 magic bytes", path, got);
        goto error;
    }
    if (head[0] != 0 || head[1] != 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: not an IDX file: magic 0x%08x, expected 0x0000TTNN "
                      "(0x00000803 for images, 0x00000801 for labels)",
                      path, (unsigned)be32(head));
        goto error;
    }
    idx->type = head[2];
    idx->size = idx_elem_size(idx->type);
    idx->ndims = head[3];
    if (idx->size == 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: unsupported IDX element type 0x%02x (magic 0x%08x): expected "
                      "0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float or 0x0E double",
                      path, (unsigned)idx->type, (unsigned)be32(head));
        goto error;
    }
    if (idx->ndims == 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: IDX header declares 0 dimensions: expected at least 1 (the examples)",
                      path);
        goto error;
    }
    size_t dimlen = 4 * (size_t)idx->ndims;
    if (cv_gz_read_full(idx->f, dimbuf, dimlen, &got) < 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", path, cv_gz_message(idx->f));
        goto error;
    }
    if (got < dimlen) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: truncated IDX header: %zu of the %zu bytes of its %d dimensions",
                      path, got, dimlen, idx->ndims);
        goto error;
    }

    /* n examples of d values; a zero anywhere makes the file empty, which
     * is checked before the product so that 0 x huge is not an overflow. */
    idx->n = be32(dimbuf);
    if (idx->n == 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: empty: the IDX header declares 0 examples", path);
        goto error;
    }
    for (int k = 1; k < idx->ndims; k++) {
        if (be32(dimbuf + 4 * k) == 0) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: empty: IDX dimension %d is 0, so examples have no features",
                          path, k + 1);
            goto error;
        }
    }
    idx->d = 1;
    for (int k = 1; k < idx->ndims; k++) {
        int64_t dim = be32(dimbuf + 4 * k);
        if (idx->d > INT_MAX / dim) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: IDX dimensions overflow: more than %d values per example", path,
                          INT_MAX);
            goto error;
        }
        idx->d *= dim;
    }
    if (idx->n > CV_DATA_MAX_N) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: %lld examples: at most %d are supported", path,
                      (long long)idx->n, CV_DATA_MAX_N);
        goto error;
    }
    /* The payload and the 4-byte-per-element copy made of it must both be
     * addressable; n, d < 2^31 so the product itself cannot wrap. */
    uint64_t count = (uint64_t)idx->n * (uint64_t)idx->d;
    if (count > (uint64_t)PTRDIFF_MAX / 8) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: IDX dimensions overflow: %lld x %lld values",
                      path, (long long)idx->n, (long long)idx->d);
        goto error;
    }
    idx->count = (size_t)count;
    return 0;

error:
    if (idx->f != NULL)
        gzclose(idx->f);
    memset(idx, 0, sizeof *idx);
    return ret;
}

/* X[i] = p's i-th element as a float, for count elements. Returns the index
 * of the first non-finite value of a floating-point file, or SIZE_MAX. */
static size_t idx_to_float(float *X, const unsigned char *p, size_t count, int type)
{
    switch (type) {
    case IDX_U8: /* the common case: a tight loop the compiler vectorizes */
        for (size_t i = 0; i < count; i++)
            X[i] = (float)p[i];
        break;
    case IDX_I8:
        for (size_t i = 0; i < count; i++)
            X[i] = (float)(int8_t)p[i];
        break;
    case IDX_I16:
        for (size_t i = 0; i < count; i++)
            X[i] = (float)(int16_t)(uint16_t)((unsigned)p[2 * i] << 8 | p[2 * i + 1]);
        break;
    case IDX_I32:
        for (size_t i = 0; i < count; i++)
            X[i] = (float)(int32_t)be32(p + 4 * i);
        break;
    case IDX_F32:
        for (size_t i = 0; i < count; i++) {
            uint32_t bits = be32(p + 4 * i);
            memcpy(&X[i], &bits, sizeof bits);
            if (!isfinite(X[i]))
                return i;
        }
        break;
    case IDX_F64:
        for (size_t i = 0; i < count; i++) {
            uint64_t bits = be64(p + 8 * i);
            double v;
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v) || fabs(v) > FLT_MAX)
                return i;
            X[i] = (float)v;
        }
        break;
    }
    return SIZE_MAX;
}

/* y[i] = p's i-th element, an integer label. Returns the index of the first
 * label outside [0, CV_MAX_CLASSES) (its value in *bad), or SIZE_MAX. */
static size_t idx_to_label(int32_t *y, const unsigned char *p, size_t count, int type,
                           int64_t *bad)
{
    for (size_t i = 0; i < count; i++) {
        int64_t v = 0;
        switch (type) {
        case IDX_U8:
            v = p[i];
            break;
        case IDX_I8:
            v = (int8_t)p[i];
            break;
        case IDX_I16:
            v = (int16_t)(uint16_t)((unsigned)p[2 * i] << 8 | p[2 * i + 1]);
            break;
        case IDX_I32:
            v = (int32_t)be32(p + 4 * i);
            break;
        }
        if (v < 0 || v >= CV_MAX_CLASSES) {
            *bad = v;
            return i;
        }
        y[i] = (int32_t)v;
    }
    return SIZE_MAX;
}

/* Reads the payload of an opened IDX file slice by slice, converting each
 * into *out: floats (features) or int32 labels. *out grows only as data
 * really arrives, so a header that lies about its size costs no memory; the
 * file must then end exactly where the header says. Closes the file. */
static int idx_read_payload(idx_file *idx, int labels, void **out, const char *path,
                            cv_error *err)
{
    int ret = 0;
    unsigned char *slice = NULL;
    void *dst = NULL; /* (count) float or int32: 4 bytes an element either way */
    size_t cap = 0, done = 0, got = 0;
    const size_t per_slice = IDX_SLICE / (size_t)idx->size;
    *out = NULL;

    if (labels && (idx->type == IDX_F32 || idx->type == IDX_F64)) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: labels must be integers, but the IDX element type is 0x%02x (%s)",
                      path, (unsigned)idx->type, idx_type_name(idx->type));
        goto error;
    }
    if (labels && idx->d != 1) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: a labels file needs one value per example, but its IDX header "
                      "declares %lld per example",
                      path, (long long)idx->d);
        goto error;
    }
    slice = malloc(IDX_SLICE);
    if (slice == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
        goto error;
    }
    while (done < idx->count) {
        size_t want = idx->count - done < per_slice ? idx->count - done : per_slice;
        size_t bytes = want * (size_t)idx->size;
        if (cv_gz_read_full(idx->f, slice, bytes, &got) < 0) {
            ret = cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", path, cv_gz_message(idx->f));
            goto error;
        }
        if (got < bytes) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: truncated: the IDX header declares %lld x %lld %s values "
                          "(%zu bytes) but only %zu bytes follow it%s",
                          path, (long long)idx->n, (long long)idx->d, idx_type_name(idx->type),
                          idx->count * (size_t)idx->size, done * (size_t)idx->size + got,
                          cv_gz_truncated(idx->f) ? " (the gzip stream is cut short)" : "");
            goto error;
        }
        if (done + want > cap) { /* double, up to what the header declares */
            size_t grown_cap = cap == 0 ? ((size_t)1 << 22) : cap * 2;
            if (grown_cap > idx->count)
                grown_cap = idx->count;
            void *grown = realloc(dst, grown_cap * 4);
            if (grown == NULL) {
                ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %zu values", path,
                              grown_cap);
                goto error;
            }
            dst = grown;
            cap = grown_cap;
        }
        if (labels) {
            int64_t v = 0;
            size_t bad = idx_to_label((int32_t *)dst + done, slice, want, idx->type, &v);
            if (bad != SIZE_MAX) {
                ret = cv_fail(err, CV_ERR_INPUT,
                              "%s: example %zu has label %lld: labels must be in [0, %d)", path,
                              done + bad, (long long)v, CV_MAX_CLASSES);
                goto error;
            }
        } else {
            size_t bad = idx_to_float((float *)dst + done, slice, want, idx->type);
            if (bad != SIZE_MAX) {
                ret = cv_fail(err, CV_ERR_INPUT,
                              "%s: example %zu, feature %zu is NaN, infinite or beyond float "
                              "range: features must be finite numbers",
                              path, (done + bad) / (size_t)idx->d, (done + bad) % (size_t)idx->d);
                goto error;
            }
        }
        done += want;
    }

    /* Exactly that much: one more byte means the header lies. */
    unsigned char extra;
    if (cv_gz_read_full(idx->f, &extra, 1, &got) < 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", path, cv_gz_message(idx->f));
        goto error;
    }
    if (got != 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: trailing data: more bytes than the %lld x %lld %s values (%zu bytes) "
                      "the IDX header declares",
                      path, (long long)idx->n, (long long)idx->d, idx_type_name(idx->type),
                      idx->count * (size_t)idx->size);
        goto error;
    }
    if (cv_gz_truncated(idx->f)) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: truncated gzip data (the file ends mid-stream)",
                      path);
        goto error;
    }
    gzclose(idx->f);
    idx->f = NULL;
    free(slice);
    *out = dst;
    return 0;

error:
    gzclose(idx->f);
    idx->f = NULL;
    free(slice);
    free(dst);
    return ret;
}

/* dir + base with base's first `from` replaced by `to`, or NULL when base has
 * no `from` (or on out of memory, which *nomem tells apart). */
static char *idx_rename(const char *path, const char *from, const char *to, int *nomem)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *hit = strstr(base, from);
    if (hit == NULL)
        return NULL;
    size_t head = (size_t)(hit - path), from_len = strlen(from), to_len = strlen(to);
    size_t tail = strlen(hit + from_len);
    char *out = malloc(head + to_len + tail + 4); /* + ".gz" + NUL */
    if (out == NULL) {
        *nomem = 1;
        return NULL;
    }
    memcpy(out, path, head);
    memcpy(out + head, to, to_len);
    memcpy(out + head + to_len, hit + from_len, tail + 1);
    return out;
}

/* Adds ".gz" to name or takes it off: the images and labels may differ. */
static void idx_toggle_gz(char *name)
{
    size_t len = strlen(name);
    if (len >= 3 && strcmp(name + len - 3, ".gz") == 0)
        name[len - 3] = '\0';
    else
        memcpy(name + len, ".gz", 4);
}

/* Finds the labels file of an images file: in the same directory, the MNIST
 * name ("train-images-idx3-ubyte" -> "train-labels-idx1-ubyte"), else
 * "-images" -> "-labels", each also with ".gz" added or removed. */
static int idx_labels_path(char **out, const char *images, cv_error *err)
{
    static const char *const rules[][2] = {
        {"images-idx3", "labels-idx1"},
        {"images.idx3", "labels.idx1"},
        {"-images", "-labels"},
        {"_images", "_labels"},
    };
    int ret = 0, nomem = 0;
    char *expected = NULL; /* the first candidate, for the message */
    *out = NULL;
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        char *cand = idx_rename(images, rules[r][0], rules[r][1], &nomem);
        if (cand == NULL) {
            if (nomem)
                break;
            continue;
        }
        for (int gz = 0; gz < 2; gz++) {
            if (access(cand, F_OK) == 0) {
                free(expected);
                *out = cand;
                return 0;
            }
            if (expected == NULL && gz == 0) {
                expected = strdup(cand);
                if (expected == NULL)
                    nomem = 1;
            }
            idx_toggle_gz(cand);
        }
        free(cand);
        if (nomem)
            break;
    }
    if (nomem)
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", images);
    else if (expected != NULL)
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: the labels file of these IDX images is missing: expected %s "
                      "beside it",
                      images, expected);
    else
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: cannot tell where the labels of these IDX images are: the file "
                      "name should contain 'images-idx3' (or '-images'), the labels file "
                      "then has 'labels-idx1' (or '-labels') in its place",
                      images);
    free(expected);
    return ret;
}

int cv_idx_read(cv_dataset *ds, const char *path, cv_error *err)
{
    int ret = 0;
    idx_file images = {0}, labels = {0};
    char *labels_path = NULL;
    void *X = NULL, *y = NULL;
    memset(ds, 0, sizeof *ds);

    /* The images first, so that their own errors are reported first. */
    ret = idx_open(&images, path, err);
    if (ret < 0)
        goto error;
    ret = idx_read_payload(&images, 0, &X, path, err);
    if (ret < 0)
        goto error;

    ret = idx_labels_path(&labels_path, path, err);
    if (ret < 0)
        goto error;
    ret = idx_open(&labels, labels_path, err);
    if (ret < 0)
        goto error;
    if (labels.n != images.n) {
        gzclose(labels.f);
        ret = cv_fail(err, CV_ERR_INPUT, "%s: %lld labels for the %lld images of %s",
                      labels_path, (long long)labels.n, (long long)images.n, path);
        goto error;
    }
    ret = idx_read_payload(&labels, 1, &y, labels_path, err);
    if (ret < 0)
        goto error;

    free(labels_path);
    ds->n = images.n;
    ds->d = (int)images.d;
    ds->X = X;
    ds->y = y;
    return 0;

error:
    free(labels_path);
    free(X);
    free(y);
    return ret;
}
