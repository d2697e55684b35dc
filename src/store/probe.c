/* probe.c: reading every part of an HDF5 file once, for the probe that
 * cv_store_open runs in a child process (see store.c and caviar/isolate.h).
 *
 * HDF5 1.10 trusts some structures of the files it reads (object headers,
 * group B-trees and heaps, a dataset's storage), and a damaged results
 * file can make the library crash wherever caviar happens to read it:
 * opening a table, a checkpoint's attributes, a tensor. The walk reads all
 * of them (every object, every attribute, every dataset whose reading can
 * go wrong) the way caviar's own readers would, so that the crash, if any,
 * ends the probing child and not caviar. It reports nothing: a part HDF5 refuses
 * with an error is skipped, since the reader that needs it says so itself
 * with a better message. */
#include <stdint.h>
#include <stdlib.h>

#include "store_int.h"

/* Datasets larger than this are opened but not read (a checkpoint of a
 * huge network); HDF5 reads their storage in the same way as smaller ones. */
#define PROBE_MAX_BYTES ((hsize_t)1 << 30)

/* Reads n values of an attribute or dataset through its native type. */
static void read_values(hid_t obj, hid_t type, hid_t space, bool attr)
{
    hid_t mtype = H5Tget_native_type(type, H5T_DIR_ASCEND);
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    size_t size = mtype >= 0 ? H5Tget_size(mtype) : 0;
    if (mtype >= 0 && n >= 0 && size > 0 && (hsize_t)n <= PROBE_MAX_BYTES / size) {
        void *buf = calloc(n > 0 ? (size_t)n : 1, size);
        if (buf != NULL) {
            herr_t rc = attr ? H5Aread(obj, mtype, buf)
                             : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            if (rc >= 0)
                (void)H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buf); /* text, if any */
            free(buf);
        }
    }
    cv_h5_close(&mtype);
}

/* Whether a dataset needs reading to be probed. Its values are read through
 * whatever its layout says: a chunked dataset's chunk index (a B-tree HDF5
 * follows as it finds it) or a compact one's bytes in its header must be
 * read; a contiguous one is one plain read of a range of the file, harmless
 * when that range lies within the file and holds every value, so big
 * checkpoint tensors cost nothing here. A dataset whose shape says far more
 * than its storage holds (a damaged shape, or chunks never written) is
 * mostly fill values, which HDF5 makes up without reading the file: not
 * read either. */
static bool needs_read(hid_t dset, hid_t type, hid_t space, hsize_t file_size)
{
    hssize_t n = H5Sget_simple_extent_npoints(space);
    double need = (double)H5Tget_size(type) * (double)(n > 0 ? n : 0);
    double have = (double)H5Dget_storage_size(dset);
    hid_t dcpl = H5Dget_create_plist(dset);
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    cv_h5_close(&dcpl);
    if (layout == H5D_CONTIGUOUS) {
        haddr_t at = H5Dget_offset(dset);
        if (at != HADDR_UNDEF && have >= need && (double)at + need <= (double)file_size)
            return false;
    }
    return need <= 4.0 * have + (double)(1 << 20);
}

static herr_t probe_attr(hid_t loc, const char *name, const H5A_info_t *info, void *unused)
{
    (void)info, (void)unused;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t type = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hid_t space = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    if (type >= 0 && space >= 0)
        read_values(a, type, space, true);
    cv_h5_close(&space);
    cv_h5_close(&type);
    cv_h5_close(&a);
    return 0; /* on to the next attribute, whatever this one did */
}

static herr_t probe_object(hid_t root, const char *name, const H5O_info_t *info, void *unused)
{
    (void)unused;
    hid_t obj = H5Oopen(root, name, H5P_DEFAULT);
    if (obj < 0)
        return 0;
    hsize_t at = 0;
    (void)H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &at, probe_attr, NULL);
    if (info->type == H5O_TYPE_DATASET) {
        hid_t type = H5Dget_type(obj), space = H5Dget_space(obj);
        hsize_t file_size = 0;
        if (type >= 0 && space >= 0 && H5Fget_filesize(obj, &file_size) >= 0 &&
            needs_read(obj, type, space, file_size))
            read_values(obj, type, space, false);
        cv_h5_close(&space);
        cv_h5_close(&type);
    }
    cv_h5_close(&obj);
    return 0;
}

/* Soft links (/best) are read too: their value is what a reader follows. */
static herr_t probe_link(hid_t root, const char *name, const H5L_info_t *info, void *unused)
{
    (void)unused;
    if (info->type == H5L_TYPE_SOFT && info->u.val_size > 0 && info->u.val_size < 4096) {
        char target[4096];
        (void)H5Lget_val(root, name, target, sizeof target, H5P_DEFAULT);
        (void)H5Oexists_by_name(root, name, H5P_DEFAULT);
    }
    return 0;
}

void cv_h5_walk(hid_t file)
{
    (void)H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, probe_object, NULL, H5O_INFO_BASIC);
    (void)H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, probe_link, NULL);
}
