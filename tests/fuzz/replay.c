/* replay.c: runs a fuzz target (linked with this file instead of libFuzzer)
 * on every file of the directories given as arguments, once each, sorted by
 * name: the seed corpus and the crash reproducers of tests/fuzz, replayed as
 * a regression test by the suite (and under ASan + UBSan by tests/run.sh).
 *
 *   replay_TARGET DIR...    exit 0 when every input ran; a crash is the failure
 *
 * An input that crashed once must now simply be rejected (or accepted): the
 * target aborts on anything else, and the sanitizers stop the process on
 * memory errors. Each input's name is printed before it runs, so that a
 * failure names its input. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the whole file at path; NULL on failure. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Runs every regular file of dir; returns how many, or -1 on an error. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and hidden notes */
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(names, cap * sizeof *names);
            if (p == NULL)
                abort();
            names = p;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if ((names[n] = malloc(len)) == NULL)
            abort();
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) != 0 || !S_ISREG(st.st_mode) ||
            strstr(names[i], ".txt") != NULL) { /* notes beside the inputs */
            free(names[i]);
            continue;
        }
        size_t len = 0;
        uint8_t *buf = slurp(names[i], &len);
        if (buf == NULL) {
            perror(names[i]);
            abort();
        }
        printf("%s (%zu bytes)\n", names[i], len);
        fflush(stdout);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        free(names[i]);
        ran++;
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int ran = replay_dir(argv[i]);
        if (ran < 0)
            return 1;
        total += ran;
    }
    printf("replayed %d inputs\n", total);
    if (total == 0) {
        fprintf(stderr, "no inputs: expected a corpus\n");
        return 1;
    }
    return 0;
}
