/* probe.c: before caviar reads a results file, a child process reads all
 * of it (cv_store_probe, run by cv_store_open; see "Damaged files" in
 * caviar/store.h and caviar/isolate.h).
 *
 * HDF5 1.10 trusts some structures of the files it reads (object headers,
 * group B-trees and heaps, a dataset's storage), and a damaged results
 * file can make the library crash wherever caviar happens to read it:
 * opening a table, a checkpoint's attributes, a tensor. The child opens the
 * file as a reader would and reads it through the store's own readers (HDF5
 * reaches the same structure by different paths: an attribute opened by
 * name is decoded unlike one met while iterating), then walks every object,
 * attribute and soft link, and every dataset whose reading can go wrong, so
 * that the crash, the loop or the runaway allocation, if any, ends the
 * probing child and not caviar. The child reports nothing: a part HDF5
 * refuses with an error is skipped, since the reader that needs it says so
 * itself with a better message. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "caviar/isolate.h"
#include "store_int.h"

/* ---- walking every object --------------------------------------------------- */

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

/* Reads every object, attribute and soft link of an open file, and every
 * dataset whose reading could go wrong, ignoring what HDF5 refuses. */
static void walk(hid_t file)
{
    (void)H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, probe_object, NULL, H5O_INFO_BASIC);
    (void)H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, probe_link, NULL);
}

/* ---- the probing child ------------------------------------------------------- */

/* Every side-file checkpoint of s walked whole (its own HDF5 file: a reader
 * opens it whatever its row says), then the description of every checkpoint
 * (gathered, in side files, and /best) read as cv_store_checkpoint_info and
 * the gathering read them. */
static void probe_checkpoints(cv_store *s)
{
    DIR *d = opendir(s->ckpt_dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        int64_t t;
        char path[4400];
        if (!cv_ckpt_side_trial(e->d_name, &t))
            continue;
        cv_ckpt_side_path(path, sizeof path, s, t);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0)
            walk(f);
        cv_h5_close(&f);
    }
    if (d != NULL)
        closedir(d);

    cv_checkpoint_info info;
    cv_error ignored = {0};
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    if (cv_ckpt_candidates(s, &rows, &n, &ignored) == 0) {
        for (int64_t i = 0; i < n; i++) {
            cv_error_clear(&ignored);
            (void)cv_store_checkpoint_info(s, rows[i].trial, &info, &ignored);
        }
        free(rows);
    }
    cv_error_clear(&ignored);
    (void)cv_store_checkpoint_info(s, CV_STORE_BEST, &info, &ignored);
}

/* In the probing child: opens path as a reader would and reads all of it.
 * Failures are left for the real open to report. */
static int probe_work(void *arg, cv_error *err)
{
    (void)err;
    const char *path = arg;
    cv_store *s = NULL;
    cv_error ignored = {0};
    if (cv_store_open_unprobed(&s, path, CV_STORE_READ, &ignored) != 0)
        return 0;
    /* What caviar's readers read, through the same calls (HDF5 reaches the
     * same structure by different paths: an attribute opened by name is
     * decoded unlike one met while iterating) ... */
    cv_trial_row *rows = NULL;
    cv_curve_row *curves = NULL;
    cv_round_row *rounds = NULL;
    cv_run_info *runs = NULL;
    int64_t n = 0;
    (void)cv_store_read_trials(s, &rows, &n, &ignored);
    (void)cv_store_read_curves(s, &curves, &n, &ignored);
    (void)cv_store_read_rounds(s, &rounds, &n, &ignored);
    (void)cv_store_read_runs(s, &runs, &n, &ignored);
    (void)cv_store_round_count(s, &n, &ignored);
    free(rows);
    free(curves);
    free(rounds);
    free(runs);
    cv_store_data d;
    if (cv_store_read_data(s, &d, &ignored) == 0)
        cv_store_data_free(&d);
    cv_store_times t;
    (void)cv_store_read_times(s, &t, &ignored);
    probe_checkpoints(s);
    /* ... then everything else the file holds. */
    walk(s->file);
    cv_error_clear(&ignored);
    (void)cv_store_close(s, &ignored);
    return 0;
}

int cv_store_probe(const char *path, cv_error *err)
{
    if (!cv_isolation_enabled())
        return 0;
    /* The walk reads each dataset once (at most 1 GiB each): a few seconds
     * per GB of file at worst, and memory for the largest dataset. Only a
     * damaged file makes HDF5 loop, or ask for more. */
    struct stat st;
    double size = stat(path, &st) == 0 ? (double)st.st_size : 0.0;
    cv_isolated r = {.work = probe_work, /* nothing crosses back */
                     .arg = (void *)path,
                     .seconds = 20.0 + size / 10e6,
                     .memory = (size_t)4 << 30,
                     .why = "damaged HDF5 file: the HDF5 library failed reading it"};
    return cv_isolate(&r, path, err);
}
