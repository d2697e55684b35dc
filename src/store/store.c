/* store.c: the results file itself: creating it with its root attributes
 * and tables, /data, SWMR mode, opening an existing file (also one a killed
 * writer left behind) and closing (see caviar/store.h for the layout).
 *
 * Files are written in HDF5's latest format, which SWMR needs. A file whose
 * writer died keeps its "open for writing" status flags: a plain open refuses
 * it, a SWMR-read open does not (when the writer had started SWMR), and as a
 * last resort the flags are cleared, as `h5clear -s` does. Nothing flushed is
 * lost either way.
 *
 * A SWMR writer releases HDF5's own file lock (so that readers can open the
 * file), so that lock cannot stop a second writer, nor the flag clearing
 * above, from corrupting a file a live study is writing. Writers therefore
 * hold an advisory flock on the side-file directory PATH.ckpt for as long as
 * they write; a second writer is refused, and a reader repairs a file only
 * when nobody holds that lock. The kernel drops the lock of a killed writer.
 *
 * A new file is built under a temp name inside PATH.ckpt (CV_CREATING_NAME)
 * and renamed to PATH once it is complete and in SWMR mode (or closed): a
 * study killed, or out of disk space, while it creates the file leaves no
 * half-written PATH that neither opens nor resumes, just nothing to resume. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caviar/isolate.h"
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

hid_t cv_store_fapl_latest(void)
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
    hid_t fapl = cv_store_fapl_latest();
    if (fapl >= 0 && H5Pset_file_locking(fapl, false, true) < 0)
        cv_h5_close(&fapl);
    return fapl;
}

static char *str_concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (s != NULL) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

/* A fresh handle for path with nothing open. */
static cv_store *store_new(const char *path)
{
    cv_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->file = s->trials = s->curves = s->rounds = H5I_INVALID_HID;
    s->metric = CV_METRIC_DEV_ACCURACY;
    s->lock_fd = -1;
    s->path = strdup(path);
    s->ckpt_dir = str_concat(path, ".ckpt");
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
    bad |= cv_h5_close(&s->file);
    s->swmr_write = s->swmr_read = false;
    return bad;
}

static void store_free(cv_store *s)
{
    if (s->creating != NULL)
        unlink(s->creating); /* a new file that never became complete */
    if (s->lock_fd >= 0) {
        rmdir(s->ckpt_dir); /* when no side file is left in it */
        close(s->lock_fd);  /* releases the writer's lock */
    }
    free(s->path);
    free(s->ckpt_dir);
    free(s->job_text);
    free(s->job_path);
    free(s->creating);
    free(s);
}

/* Gives a complete new file its name: renamed over PATH with overwrite,
 * else linked (which refuses an existing PATH) and the temp name removed. */
static int publish(cv_store *s, cv_error *err)
{
    if (s->creating == NULL)
        return 0;
    int rc = s->overwrite ? rename(s->creating, s->path) : link(s->creating, s->path);
    if (rc != 0) {
        int e = errno;
        return cv_fail(err, e == EEXIST ? CV_ERR_INPUT : CV_ERR_IO,
                       "%s: cannot move the new results file into place: %s", s->path,
                       e == EEXIST ? "already exists (refusing to overwrite it)" : strerror(e));
    }
    if (!s->overwrite)
        unlink(s->creating);
    free(s->creating);
    s->creating = NULL;
    return 0;
}

int cv_store_close(cv_store *s, cv_error *err)
{
    if (s == NULL)
        return 0;
    cv_h5_quiet q = cv_h5_quiet_on();
    int ret = 0;
    if (close_file(s) < 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: HDF5 could not close the file cleanly", s->path);
    else
        ret = publish(s, err); /* a new file closed before SWMR mode */
    cv_h5_quiet_off(&q);
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

/* ---- the writer's lock ------------------------------------------------------ */

/* Takes the writer's lock on PATH.ckpt (created if needed), or refuses when
 * another process holds it. */
static int take_writer_lock(cv_store *s, cv_error *err)
{
    if (mkdir(s->ckpt_dir, 0777) != 0 && errno != EEXIST)
        return cv_fail(err, CV_ERR_IO, "%s: cannot create the checkpoint directory: %s",
                       s->ckpt_dir, strerror(errno));
    s->lock_fd = open(s->ckpt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->lock_fd < 0)
        return cv_fail(err, CV_ERR_IO, "%s: %s", s->ckpt_dir, strerror(errno));
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(s->lock_fd);
        s->lock_fd = -1;
        if (e == EWOULDBLOCK)
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: another caviar process is writing this results file (it holds "
                           "%s): wait until it ends",
                           s->path, s->ckpt_dir);
        return cv_fail(err, CV_ERR_IO, "%s: cannot lock: %s", s->ckpt_dir, strerror(e));
    }
    return 0;
}

/* Whether a live process holds the writer's lock of the file. */
static bool writer_alive(const char *ckpt_dir)
{
    int fd = open(ckpt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool alive = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* drops the probe's own lock, if it got one */
    return alive;
}

bool cv_store_writer_active(const char *path)
{
    char *dir = str_concat(path, ".ckpt");
    bool alive = dir != NULL && writer_alive(dir);
    free(dir);
    return alive;
}

/* ---- creating ------------------------------------------------------------ */

int cv_store_check_output(const char *path, bool overwrite, cv_error *err)
{
    struct stat st;
    if (path == NULL || path[0] == '\0')
        return cv_fail(err, CV_ERR_INPUT, "no results file named: expected -o PATH.h5");
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return cv_fail(err, CV_ERR_INPUT, "%s: is a directory: expected a results file name",
                           path);
        if (!overwrite)
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: already exists: refusing to overwrite it (give --force to "
                           "replace it)",
                           path);
        if (access(path, W_OK) != 0)
            return cv_fail(err, CV_ERR_INPUT, "%s: cannot overwrite: %s", path, strerror(errno));
    } else if (errno != ENOENT) {
        return cv_fail(err, CV_ERR_INPUT, "%s: %s", path, strerror(errno));
    }
    /* The directory must take the file (and the .ckpt side files). */
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (access(dir, W_OK | X_OK) != 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: cannot write in directory %s: %s", path, dir,
                       strerror(errno));
    return 0;
}

/* "2025-01-31T12:34:56Z" */
static void iso8601_now(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "unknown");
}

static int write_root(cv_store *s, const cv_job *job, int ranks, cv_error *err)
{
    char created[32];
    iso8601_now(created, sizeof created);
    int32_t version = CV_STORE_FORMAT_VERSION, nranks = ranks;
    uint64_t seed = job->search.seed;
    struct {
        const char *name;
        const char *value;
    } strs[] = {{"format", CV_STORE_FORMAT},
                {"caviar_version", CAVIAR_VERSION},
                {"job", s->job_text},
                {"job_path", s->job_path},
                {"metric", cv_metric_name(job->search.metric)},
                {"name", job->name ? job->name : ""},
                {"created", created}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (cv_h5_attr_put_str(s->file, strs[i].name, strs[i].value) < 0)
            return cv_h5_fail(err, CV_ERR_IO, "%s: cannot write the root attribute %s", s->path,
                              strs[i].name);
    if (cv_h5_attr_put(s->file, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT32, &version) < 0 ||
        cv_h5_attr_put(s->file, "ranks", H5T_STD_I32LE, H5T_NATIVE_INT32, &nranks) < 0 ||
        cv_h5_attr_put(s->file, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &seed) < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: cannot write the root attributes", s->path);
    return 0;
}

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
    if ((ret = take_writer_lock(s, err)) < 0)
        goto error;
    cv_store_remove_side_files(s->ckpt_dir, false);
    if ((fapl = cv_store_fapl_latest()) < 0) {
        ret = cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot set up HDF5 file access", path);
        goto error;
    }
    /* Built under its temp name (a stale one is ours to replace: we hold
     * the lock), published by cv_store_start_swmr or cv_store_close. */
    if ((s->creating = str_concat(s->ckpt_dir, "/" CV_CREATING_NAME)) == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
        goto error;
    }
    s->overwrite = overwrite;
    s->file = H5Fcreate(s->creating, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (s->file < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot create the results file", path);
        goto error;
    }
    s->writable = true;
    if ((ret = write_root(s, job, ranks, err)) < 0)
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
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = create(out, path, job, ranks, overwrite, err);
    cv_h5_quiet_off(&q);
    return rc;
}

/* A 1-D float32 dataset of n values under loc. */
static int write_floats(hid_t loc, const char *name, const float *v, hsize_t n)
{
    int ret = -1;
    hid_t space = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    if ((space = H5Screate_simple(1, &n, NULL)) < 0)
        goto error;
    dset = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0 || H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        goto error;
    ret = 0;
error:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&dset) < 0 || cv_h5_close(&space) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}

static int write_data(cv_store *s, const cv_data *data, cv_error *err)
{
    int ret = 0;
    hid_t g = H5I_INVALID_HID;
    if (!s->writable || s->swmr_write)
        return cv_fail(err, CV_ERR_RUNTIME,
                       "%s: /data must be written to a new file before SWMR mode", s->path);
    if ((g = H5Gcreate2(s->file, CV_DATA, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: cannot create /data", s->path);
    if (write_floats(g, "feature_mean", data->mean, (hsize_t)data->d) < 0 ||
        write_floats(g, "feature_std", data->std, (hsize_t)data->d) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot write /data/feature_mean and feature_std",
                         s->path);
        goto done;
    }
    int32_t d = data->d, classes = data->classes;
    int64_t sizes[3] = {data->train.n, data->dev.n, data->test.n};
    if (cv_h5_attr_put_str(g, "source", data->source ? data->source : "") < 0 ||
        cv_h5_attr_put(g, "features", H5T_STD_I32LE, H5T_NATIVE_INT32, &d) < 0 ||
        cv_h5_attr_put(g, "classes", H5T_STD_I32LE, H5T_NATIVE_INT32, &classes) < 0 ||
        cv_h5_attr_put(g, "train_size", H5T_STD_I64LE, H5T_NATIVE_INT64, &sizes[0]) < 0 ||
        cv_h5_attr_put(g, "dev_size", H5T_STD_I64LE, H5T_NATIVE_INT64, &sizes[1]) < 0 ||
        cv_h5_attr_put(g, "test_size", H5T_STD_I64LE, H5T_NATIVE_INT64, &sizes[2]) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot write the attributes of /data", s->path);
        goto done;
    }
done:
    if (cv_h5_close(&g) < 0 && ret == 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot close /data", s->path);
    return ret;
}

int cv_store_write_data(cv_store *s, const cv_data *data, cv_error *err)
{
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = write_data(s, data, err);
    cv_h5_quiet_off(&q);
    return rc;
}

int cv_store_start_swmr(cv_store *s, cv_error *err)
{
    if (!s->writable)
        return cv_fail(err, CV_ERR_RUNTIME, "%s: opened read-only: cannot start SWMR writing",
                       s->path);
    if (s->swmr_write)
        return 0;
    cv_h5_quiet q = cv_h5_quiet_on();
    int ret = 0;
    /* Flushes everything written so far; the open datasets may stay open. */
    if (H5Fstart_swmr_write(s->file) < 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot start SWMR writing", s->path);
    else
        s->swmr_write = true;
    /* Complete and flushed: readers may find it now. */
    if (ret == 0)
        ret = publish(s, err);
    cv_h5_quiet_off(&q);
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
    hid_t fapl = writer ? fapl_writer() : cv_store_fapl_latest(), file = H5I_INVALID_HID;
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
        int rc = take_writer_lock(s, err);
        if (rc < 0)
            return rc;
    }
    hid_t fapl = mode == CV_STORE_APPEND ? fapl_writer() : cv_store_fapl_latest();
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
        if (s->file < 0 && !writer_alive(s->ckpt_dir) && clear_status_flags(path, false) == 0)
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

static int open_store(cv_store **out, const char *path, cv_store_mode mode, cv_error *err)
{
    int ret = 0;
    char *format = NULL;
    cv_store *s = store_new(path);
    if (s == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
    if ((ret = open_hdf5(s, mode, err)) < 0)
        goto error;
    if (cv_h5_bad_global_heap(path) > 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: damaged HDF5 file: a global heap collection (where the text "
                      "attributes live) is not valid",
                      path);
        goto error;
    }

    htri_t has = H5Aexists(s->file, "format");
    if (has < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the root attributes", path);
        goto error;
    }
    if (has == 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: not a caviar results file (no 'format' attribute)",
                      path);
        goto error;
    }
    if (cv_h5_attr_get_str(s->file, "format", &format) < 0 ||
        strcmp(format, CV_STORE_FORMAT) != 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: not a caviar results file (format is '%s', expected '%s')", path,
                      format ? format : "?", CV_STORE_FORMAT);
        goto error;
    }
    int32_t version = 0;
    if (cv_h5_attr_get(s->file, "format_version", H5T_NATIVE_INT32, &version) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: no readable root attribute format_version",
                         path);
        goto error;
    }
    if (version < 1 || version > CV_STORE_FORMAT_VERSION) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: format_version %d: this caviar reads results files of version %d",
                      path, (int)version, CV_STORE_FORMAT_VERSION);
        goto error;
    }
    if (cv_h5_attr_get_str(s->file, "job", &s->job_text) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: no readable root attribute job", path);
        goto error;
    }
    htri_t has_path = H5Aexists(s->file, "job_path");
    if (has_path > 0 && cv_h5_attr_get_str(s->file, "job_path", &s->job_path) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the root attribute job_path", path);
        goto error;
    }
    if (s->job_path == NULL && (s->job_path = strdup(path)) == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
        goto error;
    }
    /* The metric ranks checkpoints when there is no /best yet. Files written
     * before the attribute existed (caviar 0.1.0) rank by dev_accuracy. */
    char *metric = NULL;
    if (H5Aexists(s->file, "metric") > 0 && cv_h5_attr_get_str(s->file, "metric", &metric) == 0) {
        int m = cv_metric_lookup(metric);
        s->metric = m >= 0 ? (cv_metric)m : CV_METRIC_DEV_ACCURACY;
    }
    free(metric);
    if ((ret = cv_store_open_tables(s, err)) < 0)
        goto error;
    if (mode == CV_STORE_APPEND) {
        if (H5Fstart_swmr_write(s->file) < 0) {
            ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot start SWMR writing", path);
            goto error;
        }
        s->swmr_write = true;
    }
    free(format);
    *out = s;
    return 0;

error:
    free(format);
    close_file(s);
    store_free(s);
    return ret;
}

/* ---- the probe -------------------------------------------------------------- */

/* In the probing child: opens path as a reader would and reads all of it.
 * Failures are left for the real open to report. */
static int probe_work(void *arg, cv_error *err)
{
    (void)err;
    const char *path = arg;
    cv_store *s = NULL;
    cv_error ignored = {0};
    if (open_store(&s, path, CV_STORE_READ, &ignored) != 0)
        return 0;
    /* What caviar's readers read, through the same calls (HDF5 reaches the
     * same structure by different paths: an attribute opened by name is
     * decoded unlike one met while iterating) ... */
    cv_trial_row *rows = NULL;
    cv_curve_row *curves = NULL;
    cv_round_row *rounds = NULL;
    int64_t n = 0;
    (void)cv_store_read_trials(s, &rows, &n, &ignored);
    (void)cv_store_read_curves(s, &curves, &n, &ignored);
    (void)cv_store_read_rounds(s, &rounds, &n, &ignored);
    (void)cv_store_round_count(s, &n, &ignored);
    free(rows);
    free(curves);
    free(rounds);
    cv_store_data d;
    if (cv_store_read_data(s, &d, &ignored) == 0)
        cv_store_data_free(&d);
    cv_store_times t;
    (void)cv_store_read_times(s, &t, &ignored);
    cv_store_probe_checkpoints(s);
    /* ... then everything else the file holds. */
    cv_h5_walk(s->file);
    close_file(s);
    store_free(s);
    return 0;
}

/* Before this process reads a results file: a child reads every part of it
 * first, so that a file on which HDF5 crashes is refused instead. */
static int probe(const char *path, cv_error *err)
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

int cv_store_open(cv_store **out, const char *path, cv_store_mode mode, cv_error *err)
{
    *out = NULL;
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = probe(path, err);
    if (rc == 0)
        rc = open_store(out, path, mode, err);
    cv_h5_quiet_off(&q);
    return rc;
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

/* ---- run times -------------------------------------------------------------- */

/* Reads the float64 root attribute name into *v (NaN when absent): 0 or -1. */
static int get_seconds(hid_t file, const char *name, double *v)
{
    *v = NAN;
    htri_t has = H5Aexists(file, name);
    if (has < 0)
        return -1;
    return has > 0 ? cv_h5_attr_get(file, name, H5T_NATIVE_DOUBLE, v) : 0;
}

/* (Re)writes a root attribute: an existing one of that name goes first. */
static int replace_attr(hid_t file, const char *name)
{
    htri_t has = H5Aexists(file, name);
    return has < 0 || (has > 0 && H5Adelete(file, name) < 0) ? -1 : 0;
}

static int add_run_time(cv_store *s, double wall, int workers, cv_error *err)
{
    if (!s->writable || s->swmr_write)
        return cv_fail(err, CV_ERR_RUNTIME,
                       "%s: run times are written outside SWMR mode, by the file's writer",
                       s->path);
    double total = 0, worker_total = 0;
    if (get_seconds(s->file, "wall_seconds", &total) < 0 ||
        get_seconds(s->file, "worker_seconds", &worker_total) < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the root attributes "
                          "wall_seconds, worker_seconds", s->path);
    total = (isfinite(total) ? total : 0) + wall;
    worker_total = (isfinite(worker_total) ? worker_total : 0) + wall * workers;
    char finished[32];
    iso8601_now(finished, sizeof finished);
    if (replace_attr(s->file, "wall_seconds") < 0 ||
        cv_h5_attr_put(s->file, "wall_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &total) < 0 ||
        replace_attr(s->file, "worker_seconds") < 0 ||
        cv_h5_attr_put(s->file, "worker_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                       &worker_total) < 0 ||
        replace_attr(s->file, "finished") < 0 ||
        cv_h5_attr_put_str(s->file, "finished", finished) < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: cannot write the root attributes wall_seconds, "
                          "worker_seconds, finished", s->path);
    return 0;
}

int cv_store_add_run_time(cv_store *s, double wall_seconds, int workers, cv_error *err)
{
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = add_run_time(s, wall_seconds, workers, err);
    cv_h5_quiet_off(&q);
    return rc;
}

/* Copies the string root attribute name into buf ("" when absent). */
static int get_text(hid_t file, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    htri_t has = H5Aexists(file, name);
    if (has <= 0)
        return has < 0 ? -1 : 0;
    char *text = NULL;
    if (cv_h5_attr_get_str(file, name, &text) < 0)
        return -1;
    snprintf(buf, size, "%s", text);
    free(text);
    return 0;
}

static int read_times(cv_store *s, cv_store_times *t, cv_error *err)
{
    memset(t, 0, sizeof *t);
    int32_t ranks = 0;
    htri_t has_ranks = H5Aexists(s->file, "ranks");
    if (get_text(s->file, "created", t->created, sizeof t->created) < 0 ||
        get_text(s->file, "finished", t->finished, sizeof t->finished) < 0 ||
        get_seconds(s->file, "wall_seconds", &t->wall_seconds) < 0 ||
        get_seconds(s->file, "worker_seconds", &t->worker_seconds) < 0 || has_ranks < 0 ||
        (has_ranks > 0 && cv_h5_attr_get(s->file, "ranks", H5T_NATIVE_INT32, &ranks) < 0))
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the root attributes created, "
                          "finished, ranks, wall_seconds, worker_seconds", s->path);
    t->ranks = ranks;
    return 0;
}

int cv_store_read_times(cv_store *s, cv_store_times *t, cv_error *err)
{
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = read_times(s, t, err);
    cv_h5_quiet_off(&q);
    return rc;
}

/* ---- /data --------------------------------------------------------------------- */

static int read_floats(hid_t g, const char *name, int d, float **out)
{
    hid_t dset = H5Dopen2(g, name, H5P_DEFAULT);
    if (dset < 0)
        return -1;
    int ret = -1;
    if (cv_h5_rows(dset) != d || (*out = malloc((size_t)d * sizeof **out)) == NULL)
        goto done;
    if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
        goto done;
    ret = 0;
done:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&dset) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}

static int read_data(cv_store *s, cv_store_data *d, cv_error *err)
{
    int ret = 0;
    memset(d, 0, sizeof *d);
    htri_t exists = H5Lexists(s->file, CV_DATA, H5P_DEFAULT);
    if (exists <= 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: no group /data (the run never got its data)",
                       s->path);
    hid_t g = H5Gopen2(s->file, CV_DATA, H5P_DEFAULT);
    if (g < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot open /data", s->path);
    int32_t features = 0, classes = 0;
    if (cv_h5_attr_get(g, "features", H5T_NATIVE_INT32, &features) < 0 ||
        cv_h5_attr_get(g, "classes", H5T_NATIVE_INT32, &classes) < 0 ||
        cv_h5_attr_get(g, "train_size", H5T_NATIVE_INT64, &d->train_size) < 0 ||
        cv_h5_attr_get(g, "dev_size", H5T_NATIVE_INT64, &d->dev_size) < 0 ||
        cv_h5_attr_get(g, "test_size", H5T_NATIVE_INT64, &d->test_size) < 0 ||
        cv_h5_attr_get_str(g, "source", &d->source) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: /data: missing or unreadable attributes",
                         s->path);
        goto done;
    }
    if (features < 1 || classes < 2) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: /data: %d features, %d classes: expected >= 1, >= 2",
                      s->path, (int)features, (int)classes);
        goto done;
    }
    d->d = features;
    d->classes = classes;
    if (read_floats(g, "feature_mean", features, &d->mean) < 0 ||
        read_floats(g, "feature_std", features, &d->std) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT,
                         "%s: /data/feature_mean and feature_std: expected %d float values each",
                         s->path, (int)features);
        goto done;
    }
done:
    if (cv_h5_close(&g) < 0 && ret == 0)
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot close /data", s->path);
    if (ret < 0)
        cv_store_data_free(d);
    return ret;
}

int cv_store_read_data(cv_store *s, cv_store_data *d, cv_error *err)
{
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = read_data(s, d, err);
    cv_h5_quiet_off(&q);
    return rc;
}

void cv_store_data_free(cv_store_data *d)
{
    if (d == NULL)
        return;
    free(d->mean);
    free(d->std);
    free(d->source);
    memset(d, 0, sizeof *d);
}
