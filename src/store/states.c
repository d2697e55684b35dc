/* states.c: the states a run keeps to continue its trials (successive
 * halving promotes a trial from where its last segment left it), one side
 * file per trial, PATH.ckpt/state_NNNNNN.bin, beside the checkpoints (see
 * caviar/store.h).
 *
 * A checkpoint holds a trial's best epoch, for users; a state holds its
 * last, for the runner, and lives only until the trial is stopped or
 * finished. The file is private to the runner and written for speed: a
 * header (magic, trial, epochs, float count), the floats as the network
 * saved them, and a checksum over all of it; written under a temp name,
 * fsynced and renamed, so that a killed run leaves the previous state or
 * the new one, never half of one. The state before the newest is kept
 * beside it (state_NNNNNN.prev.bin): a run killed after a segment saved
 * its state but before the file got the segment's rows resumes from the
 * one before, which the file's rows confirm (the runner flushes a trial's
 * rows before saving its next state, so no older one is ever needed). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/isolate.h"
#include "store_int.h"

#define STATE_MAGIC "CVSTATE1"

typedef struct state_header {
    char magic[8];
    int64_t trial;
    int64_t epochs;
    int64_t n;
} state_header;

/* FNV-1a over bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void state_path(char *buf, size_t size, const cv_store *s, int64_t trial, bool prev)
{
    snprintf(buf, size, "%s/state_%06lld%s.bin", s->ckpt_dir, (long long)trial,
             prev ? ".prev" : "");
}

int cv_store_save_state(cv_store *s, int64_t trial, int epochs, const float *state, int64_t n,
                        cv_error *err)
{
    char path[4096], prev[4096], tmp[4200];
    state_path(path, sizeof path, s, trial, false);
    state_path(prev, sizeof prev, s, trial, true);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (rename(path, prev) != 0 && errno != ENOENT)
        return cv_fail(err, CV_ERR_IO, "%s: cannot keep trial %lld's state: %s", prev,
                       (long long)trial, strerror(errno));
    state_header h = {.trial = trial, .epochs = epochs, .n = n};
    memcpy(h.magic, STATE_MAGIC, sizeof h.magic);
    uint64_t sum = fnv(fnv(0xcbf29ce484222325ULL, &h, sizeof h), state, (size_t)n * sizeof *state);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return cv_fail(err, CV_ERR_IO, "%s: cannot write trial %lld's state: %s", tmp,
                       (long long)trial, strerror(errno));
    int bad = cv_write_all(fd, &h, sizeof h) || cv_write_all(fd, state, (size_t)n * sizeof *state) ||
              cv_write_all(fd, &sum, sizeof sum) || fsync(fd) != 0;
    int saved = errno;
    if (close(fd) != 0)
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        saved = bad ? saved : errno;
        unlink(tmp);
        return cv_fail(err, CV_ERR_IO, "%s: cannot write trial %lld's state: %s", path,
                       (long long)trial, strerror(saved));
    }
    return 0;
}

/* Loads the state in path (see cv_store_load_state). */
static int load_file(const char *path, int64_t trial, int epochs, float **state, int64_t *n,
                     cv_error *err)
{
    *state = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cv_fail(err, CV_ERR_INPUT, "%s: trial %lld's state to continue from is missing: %s",
                       path, (long long)trial, strerror(errno));
    state_header h;
    int ret = 0;
    float *v = NULL;
    uint64_t sum = 0;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, STATE_MAGIC, sizeof h.magic) != 0 ||
        h.trial != trial || h.n <= 0 || h.n > ((int64_t)1 << 34)) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: not the state of trial %lld", path, (long long)trial);
        goto done;
    }
    if (h.epochs != epochs) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: trial %lld's state is of epoch %lld, not %d", path,
                      (long long)trial, (long long)h.epochs, epochs);
        goto done;
    }
    if ((v = malloc((size_t)h.n * sizeof *v)) == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %lld floats", path,
                      (long long)h.n);
        goto done;
    }
    if (fread(v, sizeof *v, (size_t)h.n, f) != (size_t)h.n || fread(&sum, sizeof sum, 1, f) != 1 ||
        fgetc(f) != EOF ||
        sum != fnv(fnv(0xcbf29ce484222325ULL, &h, sizeof h), v, (size_t)h.n * sizeof *v)) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: trial %lld's state is damaged (checksum)", path,
                      (long long)trial);
        goto done;
    }
    *state = v;
    *n = h.n;
    v = NULL;
done:
    free(v);
    fclose(f);
    return ret;
}

int cv_store_load_state(cv_store *s, int64_t trial, int epochs, float **state, int64_t *n,
                        cv_error *err)
{
    char path[4096], prev[4096];
    state_path(path, sizeof path, s, trial, false);
    state_path(prev, sizeof prev, s, trial, true);
    int rc = load_file(path, trial, epochs, state, n, err);
    if (rc != CV_ERR_INPUT)
        return rc;
    cv_error ignore = {0};
    return load_file(prev, trial, epochs, state, n, &ignore) == 0 ? 0 : rc;
}

void cv_store_drop_state(cv_store *s, int64_t trial)
{
    char path[4096];
    state_path(path, sizeof path, s, trial, false);
    unlink(path);
    state_path(path, sizeof path, s, trial, true);
    unlink(path);
}

void cv_store_drop_states(cv_store *s)
{
    cv_store_remove_files(s->ckpt_dir, "state_", NULL);
    rmdir(s->ckpt_dir); /* when nothing else lives there */
}
