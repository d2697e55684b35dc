/* testutil.h: small helpers shared by the unit tests: checks that say what
 * went wrong, a scratch directory per test executable and files written into
 * it. Include it after cmocka.h, whose fail_msg and print_error the checks
 * use. */
#ifndef CAVIAR_TESTUTIL_H
#define CAVIAR_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fails the test unless cond holds, printing the place, the condition and a
 * printf-style account of the values involved:
 * CHECK(fabs(a - b) < 1e-6, "a %g, b %g", a, b). */
#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            print_error("%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond);               \
            fail_msg(__VA_ARGS__);                                                               \
        }                                                                                        \
    } while (0)

/* Fails, showing the message, unless haystack contains needle. */
#define assert_contains(haystack, needle)                                                   \
    do {                                                                                    \
        if (strstr((haystack), (needle)) == NULL)                                           \
            fail_msg("expected \"%s\" to contain \"%s\"", (haystack), (needle));            \
    } while (0)

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
