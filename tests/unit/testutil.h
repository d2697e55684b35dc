/* testutil.h: small helpers shared by the unit tests: a scratch directory
 * per test executable and files written into it. */
#ifndef CAVIAR_TESTUTIL_H
#define CAVIAR_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline int tu_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

/* Removes the scratch directory at exit (set CAVIAR_TEST_KEEP to keep it). */
static inline void tu_cleanup(void);

/* A fresh directory under $TMPDIR (or /tmp), made once per process. */
static inline const char *tu_dir(void)
{
    static char dir[256];
    if (dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/caviar-test-XXXXXX", tmp ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            abort();
        }
        if (getenv("CAVIAR_TEST_KEEP") == NULL)
            atexit(tu_cleanup);
    }
    return dir;
}

static inline void tu_cleanup(void)
{
    nftw(tu_dir(), tu_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The path of name inside tu_dir(), in a static rotating buffer. */
static inline const char *tu_path(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tu_dir(), name);
    return p;
}

/* Writes len bytes to tu_path(name) and returns that path. */
static inline const char *tu_write(const char *name, const void *bytes, size_t len)
{
    const char *path = tu_path(name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* Writes a NUL-terminated text. */
static inline const char *tu_write_text(const char *name, const char *text)
{
    return tu_write(name, text, strlen(text));
}

#endif
