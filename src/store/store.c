/* store.c: the life of a results file: creating it, opening an existing
 * one (also one a killed writer left behind), SWMR mode, closing, and the
 * handle itself (see caviar/store.h for the layout).
 *
 * Files are written in HDF5's latest format, which SWMR needs. A file whose
 * writer died keeps its "open for writing" status flags: a plain open refuses
 * it, a SWMR-read open does not (when the writer had started SWMR), and as a
 * last resort the flags are cleared, as `h5clear -s` does, unless a live
 * writer holds the writer's lock (writer.c). Nothing flushed is lost either
 * way.
 *
 * What happens where: the writer's lock and the temp name of a new file in
 * writer.c, the root attributes and /data in root.c, the tables in tables.c,
 * the probe that cv_store_open runs first in probe.c. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

/* HDF5's private file-access property that h5clear uses to reset the status
 * flags a killed writer left in the superblock. */
#define CLEAR_STATUS_FLAGS "clear_status_flags"

/* HDF5 1.10 registers an exit handler on its first call that closes the
 * files still open. A file whose H5Fclose failed (its last flush hit a full
 * disk) stays registered half-destroyed, and that handler then crashes
 * (SIGSEGV in H5F__close_cb) or loops ("HDF5: infinite loop closing
 * library"), turning a clear "No space left on device" error into a crash.
 * The store closes every file it opens itself, so the handler has nothing
 * to do: switch it off before HDF5's first call, which only a constructor
 * can guarantee for every program linking the store. */
__attribute__((constructor)) static void no_hdf5_exit_handler(void)
{
    (void)H5dont_atexit(); /* fails only if HDF5 was already initialized */
}

/* The file access property list of files caviar writes: latest format
 * (SWMR needs it). */
static hid_t fapl_latest(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return H5I_INVALID_HID;
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

/* The latest-format access list without HDF5's own file lock, for a process
 * that holds the writer's lock on PATH.ckpt: readers (caviar watch, h5py,
 * with or without swmr=True) hold HDF5's shared lock for as long as they
 * have the file open, which would make a resume, or the end of a study,
 * fail while someone looks at the results. The writer's lock is what keeps
 * a second writer out. */
static hid_t fapl_writer(void)
{
    hid_t fapl = fapl_latest();
    if (fapl >= 0 && H5Pset_file_locking(fapl, false, true) < 0)
        cv_h5_close(&fapl);
    return fapl;
}

/* A fresh handle for path with nothing open. */
static cv_store *store_new(const char *path)
{
    cv_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->file = s->trials = s->curves = s->rounds = s->runs = s->segments = s->rungs = s->lineage =
        s->failures = H5I_INVALID_HID;
    s->metric = CV_METRIC_DEV_ACCURACY;
    s->lock_fd = -1;
    s->path = strdup(path);
    s->ckpt_dir = cv_store_ckpt_dir(path);
    if (s->path == NULL || s->ckpt_dir == NULL) {
        free(s->path);
        free(s->ckpt_dir);
        free(s);
        return NULL;
    }
    return s;
}

/* Closes the tables and the file; returns -1 if HDF5 refused any. */
static int close_file(cv_store *s)
{
    int bad = 0;
    bad |= cv_h5_close(&s->trials);
    bad |= cv_h5_close(&s->curves);
    bad |= cv_h5_close(&s->rounds);
    bad |= cv_h5_close(&s->runs);
    bad |= cv_h5_close(&s->segments);
    bad |= cv_h5_close(&s->rungs);
    bad |= cv_h5_close(&s->lineage);
    bad |= cv_h5_close(&s->failures);
    bad |= cv_h5_close(&s->file);
    s->swmr_write = s->swmr_read = false;
    return bad;
}

static void store_free(cv_store *s)
{
    cv_store_release_writer(s);
    free(s->path);
    free(s->ckpt_dir);
    free(s->job_text);
    free(s->job_path);
    free(s->creating);
    free(s);
}

int cv_store_close(cv_store *s, cv_error *err)
{
    if (s == NULL)
        return 0;
    int ret = 0;
    if (close_file(s) < 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: HDF5 could not close the file cleanly", s->path);
    else
        ret = cv_store_publish(s, err); /* a new file closed before SWMR mode */
    store_free(s);
    return ret;
}

const char *cv_store_path(const cv_store *s)
{
    return s->path;
}

const char *cv_store_job_text(const cv_store *s)
{
    return s->job_text;
}

const char *cv_store_job_path(const cv_store *s)
{
    return s->job_path;
}

cv_metric cv_store_metric(const cv_store *s)
{
    return s->metric;
}

/* ---- creating ------------------------------------------------------------ */

static int create(cv_store **out, const char *path, const cv_job *job, int ranks, bool overwrite,
                  cv_error *err)
{
    int ret = 0;
    hid_t fapl = H5I_INVALID_HID;
    cv_store *s = store_new(path);
    if (s == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
    /* The job's path made absolute, so that its relative data paths resolve
     * the same from wherever the file is read later. */
    char abs[PATH_MAX];
    s->job_path = strdup(job->path && realpath(job->path, abs) ? abs
                         : job->path                          ? job->path
                                                              : "");
    s->job_text = strdup(job->text ? job->text : "");
    s->metric = job->search.metric;
    if (s->job_path == NULL || s->job_text == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
        goto error;
    }
    struct stat st;
    if (!overwrite && stat(path, &st) == 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: already exists: refusing to overwrite it", path);
        goto error;
    }
    /* Not over a file a live process writes; then side files of an earlier
     * file of this name would be gathered as ours: away with them. */
    if ((ret = cv_store_lock_writer(s, err)) < 0)
        goto error;
    cv_store_remove_side_files(s->ckpt_dir, false);
    cv_store_remove_files(s->ckpt_dir, "state_", NULL); /* continuation states */
    if ((fapl = fapl_latest()) < 0) {
        ret = cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot set up HDF5 file access", path);
        goto error;
    }
    /* Built under its temp name, published by cv_store_start_swmr or
     * cv_store_close. */
    if ((ret = cv_store_begin_creating(s, overwrite, err)) < 0)
        goto error;
    s->file = H5Fcreate(s->creating, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (s->file < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot create the results file", path);
        goto error;
    }
    s->writable = true;
    if ((ret = cv_store_write_root(s, job, ranks, err)) < 0)
        goto error;
    if ((ret = cv_store_create_tables(s, job, err)) < 0)
        goto error;
    cv_h5_close(&fapl);
    *out = s;
    return 0;

error:
    cv_h5_close(&fapl);
    close_file(s);
    store_free(s);
    return ret;
}

int cv_store_create(cv_store **out, const char *path, const cv_job *job, int ranks,
                    bool overwrite, cv_error *err)
{
    *out = NULL;
    cv_h5_silence(); /* the first store call of a process may be this one */
    return create(out, path, job, ranks, overwrite, err);
}

int cv_store_start_swmr(cv_store *s, cv_error *err)
{
    if (!s->writable)
        return cv_fail(err, CV_ERR_RUNTIME, "%s: opened read-only: cannot start SWMR writing",
                       s->path);
    if (s->swmr_write)
        return 0;
    int ret = 0;
    /* Flushes everything written so far; the open datasets may stay open. */
    if (H5Fstart_swmr_write(s->file) < 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot start SWMR writing", s->path);
    else
        s->swmr_write = true;
    /* Complete and flushed: readers may find it now. */
    if (ret == 0)
        ret = cv_store_publish(s, err);
    return ret;
}

/* ---- opening --------------------------------------------------------------- */

/* Repairs what a killed writer left, as `h5clear -s --increment=0` does:
 * resets the superblock's status flags, and moves the end of allocated space
 * (EOA), which a SWMR writer does not keep up to date in the superblock, to
 * the end of the file, so that appending does not overwrite flushed rows. */
static int clear_status_flags(const char *path, bool writer)
{
    int ret = -1;
    hid_t fapl = writer ? fapl_writer() : fapl_latest(), file = H5I_INVALID_HID;
    hbool_t clear = true;
    if (fapl < 0 || H5Pset(fapl, CLEAR_STATUS_FLAGS, &clear) < 0)
        goto done;
    if ((file = H5Fopen(path, H5F_ACC_RDWR, fapl)) < 0)
        goto done;
    if (H5Fincrement_filesize(file, 0) < 0)
        goto done;
    ret = 0;
done:
    if (cv_h5_close(&file) < 0)
        ret = -1;
    cv_h5_close(&fapl);
    return ret;
}

/* A SWMR reader retries a metadata read whose checksum fails (the writer
 * may be rewriting that block), sleeping twice as long each time: HDF5's
 * default of 100 attempts sleeps for centuries on a damaged block, so a
 * damaged file hung `caviar report` and `watch` (found by fuzzing). 20
 * attempts wait about 2 ms in all, far longer than a writer takes to write
 * a block. */
#define SWMR_READ_ATTEMPTS 20

static hid_t swmr_read_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_metadata_read_attempts(fapl, SWMR_READ_ATTEMPTS) < 0)
        cv_h5_close(&fapl);
    return fapl;
}

/* Opens the HDF5 file of s as mode asks, with the fallbacks for a file whose
 * writer is still running or was killed. */
static int check_contents(cv_store *s, cv_error *err);

/* Before a file is opened for writing (which changes it: status flags, the
 * repairs of a killed writer's file), the checks a reader makes, read-only,
 * so that a damaged file is refused unchanged. A file that cannot be opened
 * read-only (a killed writer's, whose flags need the repair) is left to the
 * writer's open to judge. */
static int check_before_writing(const char *path, cv_error *err)
{
    cv_store *r = store_new(path);
    if (r == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
    r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r->file < 0) {
        hid_t rfapl = swmr_read_fapl();
        r->file = rfapl < 0 ? H5I_INVALID_HID
                            : H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, rfapl);
        cv_h5_close(&rfapl);
    }
    int rc = r->file >= 0 ? check_contents(r, err) : 0;
    close_file(r);
    store_free(r);
    return rc;
}

static int open_hdf5(cv_store *s, cv_store_mode mode, cv_error *err)
{
    const char *path = s->path;
    struct stat st;
    if (stat(path, &st) != 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cv_fail(err, CV_ERR_INPUT, "%s: is a directory, not a results file", path);
    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 == 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: not an HDF5 file (no HDF5 signature): expected a caviar results file",
                       path);
    if (is_hdf5 < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read as HDF5", path);

    /* A writer first takes the lock: nobody else may write or repair now. */
    if (mode == CV_STORE_APPEND) {
        int rc = cv_store_lock_writer(s, err);
        if (rc == 0)
            rc = check_before_writing(path, err);
        if (rc < 0)
            return rc;
    }
    hid_t fapl = mode == CV_STORE_APPEND ? fapl_writer() : fapl_latest();
    if (fapl < 0)
        return cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot set up HDF5 file access", path);
    /* The first attempt's error says best why a file cannot be opened (a
     * truncated one, say): kept for the message while the fallbacks run. */
    hid_t first = H5I_INVALID_HID;
    if (mode == CV_STORE_READ) {
        s->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (s->file < 0) {
            first = H5Eget_current_stack();
            /* Being written (or its writer died) in SWMR mode. */
            hid_t rfapl = swmr_read_fapl();
            s->file = rfapl < 0 ? H5I_INVALID_HID
                                : H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, rfapl);
            cv_h5_close(&rfapl);
            s->swmr_read = s->file >= 0;
        }
        if (s->file < 0 && !cv_store_writer_alive(s->ckpt_dir) &&
            clear_status_flags(path, false) == 0)
            s->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    } else {
        s->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
        if (s->file < 0) {
            first = H5Eget_current_stack();
            if (clear_status_flags(path, true) == 0)
                s->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
        }
        s->writable = s->file >= 0;
    }
    int closed = cv_h5_close(&fapl);
    if (s->file < 0 && first >= 0)
        cv_h5_stack_restore(first); /* and releases it */
    else if (first >= 0)
        (void)H5Eclose_stack(first); /* a fallback worked: nothing to report */
    if (s->file < 0)
        return cv_h5_fail(err, CV_ERR_INPUT,
                          "%s: cannot open the HDF5 file: damaged or truncated, or held open "
                          "by another writer",
                          path);
    if (closed < 0)
        return cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot release the file access list", path);
    return 0;
}

/* What every open checks once HDF5 has opened the file: the global heaps
 * (which HDF5 trusts), the root attributes, the tables; s keeps what it
 * read. */
static int check_contents(cv_store *s, cv_error *err)
{
    if (cv_h5_bad_global_heap(s->path) > 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: damaged HDF5 file: a global heap collection (where the text "
                       "attributes live) is not valid",
                       s->path);
    int ret = cv_store_read_root(s, err);
    return ret < 0 ? ret : cv_store_open_tables(s, err);
}

int cv_store_open_unprobed(cv_store **out, const char *path, cv_store_mode mode, cv_error *err)
{
    int ret = 0;
    cv_store *s = store_new(path);
    if (s == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
    if ((ret = open_hdf5(s, mode, err)) < 0)
        goto error;
    if ((ret = check_contents(s, err)) < 0)
        goto error;
    if (mode == CV_STORE_APPEND) {
        /* a file written before /runs, /segments or /rungs existed gets
         * them while objects can still be created */
        if ((s->runs < 0 && (ret = cv_store_create_runs(s, err)) < 0) ||
            (ret = cv_store_create_segments(s, err)) < 0)
            goto error;
        if (H5Fstart_swmr_write(s->file) < 0) {
            ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot start SWMR writing", path);
            goto error;
        }
        s->swmr_write = true;
    }
    *out = s;
    return 0;

error:
    close_file(s);
    store_free(s);
    return ret;
}

int cv_store_open(cv_store **out, const char *path, cv_store_mode mode, cv_error *err)
{
    *out = NULL;
    cv_h5_silence(); /* the first store call of a process may be this one */
    int rc = cv_store_probe(path, err);
    return rc != 0 ? rc : cv_store_open_unprobed(out, path, mode, err);
}

int cv_store_reopen_plain(cv_store *s, cv_error *err)
{
    if (close_file(s) < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: HDF5 could not close the file cleanly", s->path);
    /* This process is still the only writer: it holds the writer's lock. */
    hid_t fapl = fapl_writer();
    if (fapl < 0)
        return cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot set up HDF5 file access", s->path);
    s->file = H5Fopen(s->path, H5F_ACC_RDWR, fapl);
    if (s->file < 0) {
        int rc = cv_h5_fail(err, CV_ERR_IO, "%s: cannot reopen the file to gather checkpoints",
                            s->path);
        H5Pclose(fapl);
        return rc;
    }
    if (cv_h5_close(&fapl) < 0)
        return cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot release the file access list",
                          s->path);
    return cv_store_open_tables(s, err);
}
