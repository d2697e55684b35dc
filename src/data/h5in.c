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
 * with the file and the dataset it concerns. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

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
    return 0;
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

int cv_h5in_read(cv_dataset *ds, const char *path, cv_error *err)
{
    int ret = 0;
    hid_t file = H5I_INVALID_HID;
    h5_set xs = {.dset = H5I_INVALID_HID, .space = H5I_INVALID_HID, .type = H5I_INVALID_HID};
    h5_set ys = xs;
    H5E_auto2_t old_func = NULL;
    void *old_data = NULL;
    int restore = 0, closed = 0;
    float *X = NULL;
    int32_t *y = NULL;
    void *ybuf = NULL; /* y as HDF5 hands it over: int64 or double */
    memset(ds, 0, sizeof *ds);

    /* Silence HDF5's stderr error stack: our messages say it better. */
    if (H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data) < 0 ||
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0) {
        ret = cv_fail(err, CV_ERR_RUNTIME, "%s: cannot configure HDF5 error reporting", path);
        goto error;
    }
    restore = 1;

    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 <= 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: not an HDF5 file (no HDF5 signature found)", path);
        goto error;
    }
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: cannot open as HDF5: damaged, or held open for writing by another "
                      "process",
                      path);
        goto error;
    }

    /* X: (n, d) or (n, d1, d2, ...) of numbers. */
    ret = h5_open(&xs, file, path, "X", err);
    if (ret < 0)
        goto error;
    if (xs.rank < 2) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: dataset X has rank %d: expected 2, (examples, features)", path,
                      xs.rank);
        goto error;
    }
    if (xs.cls != H5T_INTEGER && xs.cls != H5T_FLOAT) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: dataset X holds %s: expected numbers (float or integer)", path,
                      h5_class_name(xs.cls));
        goto error;
    }

    /* y: (n) or (n, 1) of integers (or whole floats). */
    ret = h5_open(&ys, file, path, "y", err);
    if (ret < 0)
        goto error;
    if (!(ys.rank == 1 || (ys.rank == 2 && ys.dims[1] == 1))) {
        if (ys.rank == 2)
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: dataset y has rank 2, shape (%llu, %llu): expected rank 1 (or "
                          "one column), one label per example",
                          path, (unsigned long long)ys.dims[0], (unsigned long long)ys.dims[1]);
        else
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: dataset y has rank %d: expected 1, one label per example", path,
                          ys.rank);
        goto error;
    }
    if (ys.cls != H5T_INTEGER && ys.cls != H5T_FLOAT) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: dataset y holds %s: expected integer labels",
                      path, h5_class_name(ys.cls));
        goto error;
    }

    /* The shapes: n examples of d features, both sane, both datasets agree. */
    hsize_t n = xs.dims[0];
    if (n != ys.dims[0]) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: dataset X has %llu examples but dataset y has %llu labels", path,
                      (unsigned long long)n, (unsigned long long)ys.dims[0]);
        goto error;
    }
    if (n == 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: datasets X and y are empty: 0 examples", path);
        goto error;
    }
    for (int k = 1; k < xs.rank; k++) {
        if (xs.dims[k] == 0) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: dataset X has 0 features (its dimension %d is 0)", path, k + 1);
            goto error;
        }
    }
    hsize_t d = 1;
    for (int k = 1; k < xs.rank; k++) {
        if (xs.dims[k] > (hsize_t)INT_MAX / d) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: dataset X has more than %d features per example", path, INT_MAX);
            goto error;
        }
        d *= xs.dims[k];
    }
    if (n > (hsize_t)CV_DATA_MAX_N) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: dataset X has %llu examples: at most %d", path,
                      (unsigned long long)n, CV_DATA_MAX_N);
        goto error;
    }
    if (n * d > (hsize_t)PTRDIFF_MAX / sizeof(double)) { /* n, d < 2^31: no wrap */
        ret = cv_fail(err, CV_ERR_INPUT, "%s: dataset X is too large: %llu x %llu", path,
                      (unsigned long long)n, (unsigned long long)d);
        goto error;
    }

    /* Labels first: they are small, and bad ones fail before the big read. */
    int y_int = ys.cls == H5T_INTEGER;
    ybuf = malloc((size_t)n * (y_int ? sizeof(int64_t) : sizeof(double)));
    y = malloc((size_t)n * sizeof *y);
    if (ybuf == NULL || y == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %llu labels", path,
                      (unsigned long long)n);
        goto error;
    }
    if (H5Dread(ys.dset, y_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                H5P_DEFAULT, ybuf) < 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: cannot read dataset y (damaged, or compressed with a filter this "
                      "HDF5 lacks)",
                      path);
        goto error;
    }
    for (hsize_t i = 0; i < n; i++) {
        /* HDF5 saturates out-of-range integers, so the range check sees them. */
        double v = y_int ? (double)((int64_t *)ybuf)[i] : ((double *)ybuf)[i];
        if (!(v >= 0.0 && v < CV_MAX_CLASSES) || v != floor(v)) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: dataset y, example %llu: label %g is not a class: expected an "
                          "integer in [0, %d)",
                          path, (unsigned long long)i, v, CV_MAX_CLASSES);
            goto error;
        }
        y[i] = (int32_t)v;
    }
    free(ybuf);
    ybuf = NULL;

    X = malloc((size_t)(n * d) * sizeof *X);
    if (X == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %llu x %llu features", path,
                      (unsigned long long)n, (unsigned long long)d);
        goto error;
    }
    if (H5Dread(xs.dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, X) < 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: cannot read dataset X (damaged, or compressed with a filter this "
                      "HDF5 lacks)",
                      path);
        goto error;
    }
    /* Doubles beyond float range arrive as infinities and are refused too. */
    for (size_t i = 0; i < (size_t)(n * d); i++) {
        if (!isfinite(X[i])) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: dataset X, example %zu, feature %zu is %s: features must be "
                          "finite float numbers",
                          path, i / (size_t)d, i % (size_t)d,
                          isnan(X[i]) ? "NaN" : "infinite or beyond float range");
            goto error;
        }
    }

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
    free(ybuf);
    free(X);
    free(y);
    if (ret < 0) {
        cv_dataset_free(ds);
    }
    return ret;
}
