/* writer.c: one writer per results file, and no half-made file.
 *
 * A SWMR writer releases HDF5's own file lock (so that readers can open the
 * file), so that lock cannot stop a second writer, nor a reader's repair of
 * a killed writer's status flags (store.c), from corrupting a file a live
 * study is writing. Writers therefore hold an advisory flock on the
 * side-file directory PATH.ckpt for as long as they write; a second writer
 * is refused, and a reader repairs a file only when nobody holds that lock.
 * The kernel drops the lock of a killed writer, which is also how `caviar
 * watch` knows that a study has ended (cv_store_writer_active).
 *
 * A new file is built under a temp name inside PATH.ckpt (CV_CREATING_NAME)
 * and published at PATH once it is complete and in SWMR mode (or closed): a
 * study killed, or out of disk space, while it creates the file leaves no
 * half-written PATH that neither opens nor resumes, just nothing to resume.
 * cv_store_check_output checks beforehand that PATH can be created. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

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

char *cv_store_ckpt_dir(const char *path)
{
    return str_concat(path, ".ckpt");
}

/* ---- the writer's lock ------------------------------------------------------ */

int cv_store_lock_writer(cv_store *s, cv_error *err)
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

bool cv_store_writer_alive(const char *ckpt_dir)
{
    int fd = open(ckpt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool alive = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* drops this check's own lock, if it got one */
    return alive;
}

bool cv_store_writer_active(const char *path)
{
    char *dir = cv_store_ckpt_dir(path);
    bool alive = dir != NULL && cv_store_writer_alive(dir);
    free(dir);
    return alive;
}

void cv_store_release_writer(cv_store *s)
{
    if (s->creating != NULL)
        unlink(s->creating); /* a new file that never became complete */
    if (s->lock_fd >= 0) {
        rmdir(s->ckpt_dir); /* when no side file is left in it */
        close(s->lock_fd);  /* releases the writer's lock */
        s->lock_fd = -1;
    }
}

/* ---- a new file --------------------------------------------------------------- */

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

int cv_store_begin_creating(cv_store *s, bool overwrite, cv_error *err)
{
    /* A stale temp file is ours to replace: we hold the lock. */
    if ((s->creating = str_concat(s->ckpt_dir, "/" CV_CREATING_NAME)) == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", s->path);
    s->overwrite = overwrite;
    return 0;
}

/* A complete new file gets its name: renamed over PATH with overwrite, else
 * linked (which refuses an existing PATH) and the temp name removed. */
int cv_store_publish(cv_store *s, cv_error *err)
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
