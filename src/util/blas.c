/* blas.c: choosing OpenBLAS's kernels and threads (see caviar/blas.h). */
#include "caviar/blas.h"

#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Kernel families of OpenBLAS 0.3.21 that already use AVX2 or better. */
static bool is_modern_core(const char *core)
{
    static const char *const modern[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake",
                                         "SapphireRapids"};
    for (size_t i = 0; i < sizeof modern / sizeof *modern; i++)
        if (strcasecmp(core, modern[i]) == 0)
            return true;
    return false;
}

void cv_blas_setup(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") != NULL || getenv("CAVIAR_BLAS_KEEP") != NULL)
        return;
    const char *core = openblas_get_corename();
    if (core == NULL || is_modern_core(core))
        return;
    __builtin_cpu_init();
    const char *want = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    if (want == NULL)
        return;
    if (setenv("OPENBLAS_CORETYPE", want, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the kernels we have */
}

void cv_blas_set_threads(int threads)
{
    openblas_set_num_threads(threads > 0 ? threads : 1);
}

const char *cv_blas_core(void)
{
    const char *core = openblas_get_corename();
    return core != NULL ? core : "unknown";
}

void cv_cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || colon == NULL)
            continue;
        const char *v = colon + 1 + strspn(colon + 1, " \t");
        snprintf(buf, size, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    fclose(f);
}
