/* gz.c: reading files through zlib for the data module's readers (see
 * loaders.h). gzread inflates gzip, recognized by its magic bytes whatever
 * the name, and passes any other file through unchanged, so every reader
 * takes .gz files for free. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "loaders.h"

const char *cv_gz_message(gzFile f)
{
    int errnum = Z_OK;
    const char *msg = gzerror(f, &errnum);
    if (errnum == Z_ERRNO)
        return strerror(errno);
    return msg;
}

int cv_gz_read_full(gzFile f, void *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > (size_t)1 << 30)
            want = (size_t)1 << 30;
        int r = gzread(f, (char *)buf + *got, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

int cv_gz_truncated(gzFile f)
{
    int errnum = Z_OK;
    gzerror(f, &errnum);
    return errnum == Z_BUF_ERROR;
}

int cv_data_read_file(const char *path, char **out, size_t *out_len, cv_error *err)
{
    int ret = 0;
    gzFile f = NULL;
    char *buf = NULL;
    size_t len = 0, cap = (size_t)1 << 16;
    *out = NULL;
    *out_len = 0;

    errno = 0;
    f = gzopen(path, "rb");
    if (f == NULL) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: cannot open: %s", path,
                      strerror(errno ? errno : ENOMEM));
        goto error;
    }
    gzbuffer(f, 1 << 18);
    /* Grow geometrically as bytes arrive; one spare byte for the NUL. */
    for (;;) {
        char *grown = realloc(buf, cap + 1);
        if (grown == NULL) {
            ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
            goto error;
        }
        buf = grown;
        size_t got = 0;
        if (cv_gz_read_full(f, buf + len, cap - len, &got) < 0) {
            ret = cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", path, cv_gz_message(f));
            goto error;
        }
        len += got;
        if (len < cap)
            break; /* end of file */
        if (cap > SIZE_MAX / 4) {
            ret = cv_fail(err, CV_ERR_NOMEM, "%s: file too large", path);
            goto error;
        }
        cap *= 2;
    }
    if (cv_gz_truncated(f)) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: truncated gzip data (the file ends mid-stream)",
                      path);
        goto error;
    }
    buf[len] = '\0';
    gzclose(f);
    *out = buf;
    *out_len = len;
    return 0;

error:
    if (f != NULL)
        gzclose(f);
    free(buf);
    return ret;
}
