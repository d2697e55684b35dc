/* h5util.c: the HDF5 plumbing of the store: HDF5's error printing switched
 * off and its error stack turned into our messages, closing any identifier,
 * the boolean and string types, attributes (numbers, text, hyperparameters),
 * float32 datasets, and the 1-D appendable tables every results table is.
 * The compound layouts of those tables are layout.c's. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- errors ------------------------------------------------------------- */

void cv_h5_silence(void)
{
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* refused: HDF5 prints, no more */
}

/* H5Ewalk2 callback: keeps the description of the innermost error (walking
 * upward, entry 0 is the most specific). */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *out)
{
    if (n == 0 && e->desc != NULL)
        snprintf(out, 1024, "%s", e->desc);
    return 0;
}

/* HDF5's failed reads and writes describe themselves at length ("file write
 * failed: time = ..., filename = '...', file descriptor = 21, errno = 28,
 * error message = 'No space left on device', buf = ..."): keep what failed
 * and the system's reason, which a long path would otherwise push out of the
 * message ("file write failed: No space left on device"). */
static void tidy(char *why, size_t size)
{
    const char *key = "error message = '";
    const char *m = strstr(why, key), *colon = strchr(why, ':');
    if (m == NULL || colon == NULL || colon > m)
        return;
    m += strlen(key);
    const char *end = strchr(m, '\'');
    int len = end != NULL ? (int)(end - m) : (int)strlen(m);
    char out[256];
    snprintf(out, sizeof out, "%.*s: %.*s", (int)(colon - why), why, len, m);
    snprintf(why, size, "%s", out);
}

int cv_h5_fail(cv_error *err, int code, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char why[1024] = "";
    if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, why) < 0)
        why[0] = '\0';
    tidy(why, sizeof why);
    why[200] = '\0'; /* a reason, not a report */
    if (why[0] != '\0')
        return cv_fail(err, code, "%s (HDF5: %s)", msg, why);
    return cv_fail(err, code, "%s", msg);
}

hid_t cv_h5_stack_save(int ret)
{
    return ret < 0 ? H5Eget_current_stack() : H5I_INVALID_HID;
}

void cv_h5_stack_restore(hid_t stack)
{
    if (stack >= 0)
        (void)H5Eset_current_stack(stack); /* the message is only lost if refused */
}

int cv_h5_close(hid_t *id)
{
    if (*id < 0)
        return 0;
    herr_t r = -1;
    switch (H5Iget_type(*id)) {
    case H5I_FILE:
        r = H5Fclose(*id);
        break;
    case H5I_GROUP:
        r = H5Gclose(*id);
        break;
    case H5I_DATASET:
        r = H5Dclose(*id);
        break;
    case H5I_DATATYPE:
        r = H5Tclose(*id);
        break;
    case H5I_DATASPACE:
        r = H5Sclose(*id);
        break;
    case H5I_ATTR:
        r = H5Aclose(*id);
        break;
    case H5I_GENPROP_LST:
        r = H5Pclose(*id);
        break;
    default:
        r = H5Idec_ref(*id);
        break;
    }
    *id = H5I_INVALID_HID;
    return r < 0 ? -1 : 0;
}

/* ---- types -------------------------------------------------------------- */

hid_t cv_h5_bool_type(bool file)
{
    hid_t t = H5Tenum_create(file ? H5T_STD_I8LE : H5T_NATIVE_INT8);
    if (t < 0)
        return H5I_INVALID_HID;
    int8_t f = 0, tr = 1;
    if (H5Tenum_insert(t, "FALSE", &f) < 0 || H5Tenum_insert(t, "TRUE", &tr) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

hid_t cv_h5_str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(t, len) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, H5T_CSET_ASCII) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* ---- attributes ---------------------------------------------------------- */

int cv_h5_attr_put(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *v)
{
    int ret = -1;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    if ((space = H5Screate(H5S_SCALAR)) < 0)
        goto error;
    if ((attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto error;
    if (H5Awrite(attr, mem_type, v) < 0)
        goto error;
    ret = 0;
error:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&attr) < 0)
        ret = -1;
    if (cv_h5_close(&space) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}

int cv_h5_attr_put_str(hid_t obj, const char *name, const char *s)
{
    int ret = -1;
    hid_t type = H5I_INVALID_HID;
    if ((type = H5Tcopy(H5T_C_S1)) < 0)
        goto error;
    if (H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0)
        goto error;
    ret = cv_h5_attr_put(obj, name, type, type, &s);
error:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&type) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}

int cv_h5_attr_get(hid_t obj, const char *name, hid_t mem_type, void *v)
{
    int ret = -1;
    hid_t attr = H5I_INVALID_HID;
    if ((attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0)
        goto error;
    if (H5Aread(attr, mem_type, v) < 0)
        goto error;
    ret = 0;
error:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&attr) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}

int cv_h5_attr_get_str(hid_t obj, const char *name, char **out)
{
    int ret = -1;
    hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    hid_t space = H5I_INVALID_HID;
    char *buf = NULL;
    *out = NULL;
    if ((attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0)
        goto error;
    if ((ftype = H5Aget_type(attr)) < 0 || H5Tget_class(ftype) != H5T_STRING)
        goto error;
    if ((mtype = H5Tcopy(H5T_C_S1)) < 0)
        goto error;
    htri_t vlen = H5Tis_variable_str(ftype);
    if (vlen < 0)
        goto error;
    if (vlen) {
        char *s = NULL;
        if (H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0)
            goto error;
        if (H5Aread(attr, mtype, &s) < 0)
            goto error;
        buf = strdup(s != NULL ? s : "");
        if ((space = H5Aget_space(attr)) < 0 ||
            H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &s) < 0) {
            free(buf);
            buf = NULL;
            goto error;
        }
    } else {
        size_t len = H5Tget_size(ftype);
        if (len == 0 || H5Tset_size(mtype, len + 1) < 0 ||
            H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0)
            goto error;
        if ((buf = calloc(len + 1, 1)) == NULL)
            goto error;
        if (H5Aread(attr, mtype, buf) < 0) {
            free(buf);
            buf = NULL;
            goto error;
        }
    }
    if (buf == NULL)
        goto error;
    *out = buf;
    ret = 0;
error:;
    hid_t stack = cv_h5_stack_save(ret);
    cv_h5_close(&space);
    cv_h5_close(&mtype);
    cv_h5_close(&ftype);
    if (cv_h5_close(&attr) < 0 && ret == 0) {
        free(*out);
        *out = NULL;
        ret = -1;
    }
    cv_h5_stack_restore(stack);
    return ret;
}

int cv_h5_attr_put_param(hid_t obj, cv_param p, double v)
{
    const cv_param_info *info = cv_param_get_info(p);
    switch (info->kind) {
    case CV_KIND_REAL:
        return cv_h5_attr_put(obj, info->name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
    case CV_KIND_INT: {
        int64_t i = (int64_t)v;
        return cv_h5_attr_put(obj, info->name, H5T_STD_I64LE, H5T_NATIVE_INT64, &i);
    }
    case CV_KIND_BOOL: {
        int8_t b = v != 0.0;
        hid_t ft = cv_h5_bool_type(true), mt = cv_h5_bool_type(false);
        int r = ft < 0 || mt < 0 ? -1 : cv_h5_attr_put(obj, info->name, ft, mt, &b);
        if (cv_h5_close(&ft) < 0 || cv_h5_close(&mt) < 0)
            r = -1;
        return r;
    }
    case CV_KIND_WORD: {
        int w = (int)v;
        return cv_h5_attr_put_str(obj, info->name,
                                  w >= 0 && w < info->n_words ? info->words[w] : "?");
    }
    }
    return -1;
}

/* The index of word s among p's words, or -1. */
static int word_index(const cv_param_info *info, const char *s)
{
    for (int w = 0; w < info->n_words; w++)
        if (strcmp(info->words[w], s) == 0)
            return w;
    return -1;
}

int cv_h5_attr_get_param(hid_t obj, cv_param p, double *v)
{
    const cv_param_info *info = cv_param_get_info(p);
    htri_t exists = H5Aexists(obj, info->name);
    if (exists < 0)
        return -1;
    if (exists == 0)
        return -2;
    switch (info->kind) {
    case CV_KIND_REAL:
        if (cv_h5_attr_get(obj, info->name, H5T_NATIVE_DOUBLE, v) < 0)
            return -1;
        break;
    case CV_KIND_INT: {
        int64_t i;
        if (cv_h5_attr_get(obj, info->name, H5T_NATIVE_INT64, &i) < 0)
            return -1;
        *v = (double)i;
        break;
    }
    case CV_KIND_BOOL: {
        int8_t b;
        hid_t mt = cv_h5_bool_type(false);
        int r = mt < 0 ? -1 : cv_h5_attr_get(obj, info->name, mt, &b);
        if (cv_h5_close(&mt) < 0 || r < 0)
            return -1;
        *v = b ? 1.0 : 0.0;
        break;
    }
    case CV_KIND_WORD: {
        char *s = NULL;
        if (cv_h5_attr_get_str(obj, info->name, &s) < 0)
            return -1;
        int w = word_index(info, s);
        free(s);
        if (w < 0)
            return -2;
        *v = w;
        break;
    }
    }
    char why[128];
    return cv_param_check(p, *v, why, sizeof why) == 0 ? 0 : -2;
}

/* ---- datasets --------------------------------------------------------------- */

int cv_h5_write_floats(hid_t loc, const char *name, int rank, const hsize_t *dims,
                       const float *v, hid_t lcpl)
{
    int ret = -1;
    hid_t space = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    if ((space = H5Screate_simple(rank, dims, NULL)) < 0)
        goto error;
    if ((dset = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto error;
    if (H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        goto error;
    ret = 0;
error:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&dset) < 0 || cv_h5_close(&space) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}

/* ---- tables ---------------------------------------------------------------- */

hid_t cv_h5_create_table(hid_t loc, const char *name, hid_t file_type, hsize_t chunk)
{
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED};
    if ((space = H5Screate_simple(1, dims, maxdims)) < 0)
        goto done;
    if ((dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, 1, &chunk) < 0)
        goto done;
    dset = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
done:;
    hid_t stack = cv_h5_stack_save(dset < 0 ? -1 : 0);
    cv_h5_close(&dcpl);
    cv_h5_close(&space);
    cv_h5_stack_restore(stack);
    return dset;
}

int64_t cv_h5_rows(hid_t dset)
{
    hid_t space = H5Dget_space(dset);
    if (space < 0)
        return -1;
    hsize_t dims[1] = {0};
    int64_t n = H5Sget_simple_extent_ndims(space) == 1 &&
                        H5Sget_simple_extent_dims(space, dims, NULL) == 1
                    ? (int64_t)dims[0]
                    : -1;
    if (H5Sclose(space) < 0)
        return -1;
    return n;
}

int cv_h5_append(hid_t dset, hid_t mem_type, const void *recs, hsize_t n)
{
    int ret = -1;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    if (n == 0)
        return 0;
    int64_t rows = cv_h5_rows(dset);
    if (rows < 0)
        goto error;
    hsize_t start[1] = {(hsize_t)rows}, count[1] = {n}, size[1] = {(hsize_t)rows + n};
    if (H5Dset_extent(dset, size) < 0)
        goto error;
    /* The extent changed: select in the new dataspace, not a stale one. */
    if ((fspace = H5Dget_space(dset)) < 0)
        goto error;
    if (H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
        goto error;
    if ((mspace = H5Screate_simple(1, count, NULL)) < 0)
        goto error;
    if (H5Dwrite(dset, mem_type, mspace, fspace, H5P_DEFAULT, recs) < 0)
        goto error;
    /* Rows reach the file now: a SWMR reader sees them, a crash keeps them. */
    if (H5Dflush(dset) < 0)
        goto error;
    ret = 0;
error:;
    hid_t stack = cv_h5_stack_save(ret);
    /* A failed write (a full disk) must not leave the table grown over rows
     * that were never written: closing the file would record the larger
     * extent, and readers would find rows of zeros (status "", epoch 0). */
    if (ret < 0 && rows >= 0) {
        hsize_t back[1] = {(hsize_t)rows};
        (void)H5Dset_extent(dset, back);
    }
    if (cv_h5_close(&mspace) < 0)
        ret = -1;
    if (cv_h5_close(&fspace) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}
