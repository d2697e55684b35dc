/* bench_load.c: what reading an HDF5 source in a child process costs.
 *
 * Writes a Fashion-MNIST-sized HDF5 input (60000 x 784 float32 X, int64 y)
 * to a temp directory, then reads it with cv_dataset_read in this process
 * and in a child that pipes the data back (the default), alternating the
 * two, and prints the median seconds of each and their ratio.
 *
 *   bench_load [REPS] [DIR]     (default 7 repetitions, in $TMPDIR or /tmp) */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "caviar/data.h"
#include "caviar/isolate.h"

enum { N = 60000, D = 784 };

static int write_input(const char *path)
{
    float *X = malloc((size_t)N * D * sizeof *X);
    long long *y = malloc((size_t)N * sizeof *y);
    if (X == NULL || y == NULL)
        return -1;
    for (size_t i = 0; i < (size_t)N * D; i++)
        X[i] = (float)(i % 251) / 251.0f;
    for (int i = 0; i < N; i++)
        y[i] = i % 10;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dx[2] = {N, D}, dy[1] = {N};
    hid_t sx = H5Screate_simple(2, dx, NULL), sy = H5Screate_simple(1, dy, NULL);
    hid_t x = H5Dcreate2(f, "X", H5T_IEEE_F32LE, sx, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t yy = H5Dcreate2(f, "y", H5T_STD_I64LE, sy, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = f < 0 || x < 0 || yy < 0 ||
              H5Dwrite(x, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, X) < 0 ||
              H5Dwrite(yy, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) < 0;
    H5Dclose(x);
    H5Dclose(yy);
    H5Sclose(sx);
    H5Sclose(sy);
    bad |= H5Fclose(f) < 0;
    free(X);
    free(y);
    return bad ? -1 : 0;
}

/* Seconds to read path once; checks what was read. */
static double read_once(const char *path)
{
    cv_dataset ds;
    cv_error err = {0};
    double t0 = bench_now();
    if (cv_dataset_read(&ds, path, NULL, &err) < 0) {
        fprintf(stderr, "bench_load: %s\n", err.msg);
        exit(1);
    }
    double t = bench_now() - t0;
    if (ds.n != N || ds.d != D || ds.y[N - 1] != (N - 1) % 10 ||
        ds.X[(size_t)N * D - 1] != (float)(((size_t)N * D - 1) % 251) / 251.0f) {
        fprintf(stderr, "bench_load: the data read back differ from those written\n");
        exit(1);
    }
    cv_dataset_free(&ds);
    return t;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1 || reps > 1000)
        reps = 7;
    const char *base = argc > 2 ? argv[2] : getenv("TMPDIR");
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/caviar-bench-load-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror(dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/input.h5", dir);
    if (write_input(path) < 0) {
        fprintf(stderr, "bench_load: cannot write %s\n", path);
        return 1;
    }
    double *in = malloc((size_t)reps * sizeof *in), *iso = malloc((size_t)reps * sizeof *iso);
    if (in == NULL || iso == NULL)
        return 1;
    read_once(path); /* warm the page cache */
    for (int r = 0; r < reps; r++) {
        cv_isolation_enable(false);
        in[r] = read_once(path);
        cv_isolation_enable(true);
        iso[r] = read_once(path);
    }
    double *ratio = malloc((size_t)reps * sizeof *ratio);
    if (ratio == NULL)
        return 1;
    for (int r = 0; r < reps; r++)
        ratio[r] = iso[r] / in[r];
    double q = bench_median(ratio, reps), a = bench_median(in, reps), b = bench_median(iso, reps);
    printf("HDF5 input %d x %d float32 (%.0f MB), median of %d:\n", N, D,
           (double)N * D * 4 / 1e6, reps);
    printf("  in this process  %.3f s\n", a);
    printf("  in a child       %.3f s  (median ratio %.2fx)\n", b, q);
    unlink(path);
    rmdir(dir);
    free(in);
    free(iso);
    free(ratio);
    return 0;
}
