/* fuzz_util.c: the scratch directory of the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];

/* Removes the files of the scratch directory (one level: the targets write
 * no subdirectories except a results file's PATH.ckpt, which is emptied
 * too), then the directory. */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            struct stat st;
            if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(path);
            else
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void cleanup(void)
{
    if (g_dir[0] != '\0')
        remove_tree(g_dir);
}

const char *cv_fuzz_dir(void)
{
    if (g_dir[0] != '\0')
        return g_dir;
    const char *base = "/dev/shm";
    struct stat st;
    if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode) || access(base, W_OK) != 0) {
        base = getenv("TMPDIR");
        if (base == NULL || base[0] == '\0')
            base = "/tmp";
    }
    snprintf(g_dir, sizeof g_dir, "%s/caviar-fuzz-XXXXXX", base);
    if (mkdtemp(g_dir) == NULL) {
        perror("caviar fuzz: mkdtemp");
        abort();
    }
    atexit(cleanup);
    return g_dir;
}

const char *cv_fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", cv_fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}
