/* bench_train.c: training throughput of one worker (one core, one BLAS
 * thread) beside the sgemm ceiling of the same network.
 *
 * For each network shape it times training steps (gather a shuffled batch,
 * forward, backward, Adam update) on Fashion-MNIST, and separately times only
 * the step's matrix products (the forward products, the weight gradients and
 * the input gradients of all but the first layer) on random matrices of the
 * same shapes: that rate is the ceiling a step could reach if everything but
 * sgemm were free. Prints samples/s, the median of several repetitions, and
 * the ratio to the ceiling.
 *
 *   bench_train [--quick]        (meson: `meson test --benchmark -C build`)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caviar/blas.h"
#include "caviar/config.h"
#include "caviar/data.h"
#include "caviar/nn.h"

typedef struct shape {
    int layers, units, batch;
    int steps; /* per repetition */
} shape;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define REPS 5

/* Median samples/s of caviar's training step. */
static double time_training(const shape *s, const cv_data *data)
{
    cv_config cfg;
    cv_config_defaults(&cfg);
    cfg.layers = s->layers;
    cfg.hidden_units = s->units;
    cfg.batch_size = s->batch;
    cv_error err = {0};
    cv_nn *net = cv_nn_create(&cfg, data->d, data->classes, s->batch, &err);
    if (net == NULL) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    cv_nn_init(net, 1);
    const int d = data->d, B = s->batch;
    const int64_t n = data->train.n;
    int32_t *perm = malloc((size_t)n * sizeof *perm);
    float *X = malloc((size_t)B * d * sizeof *X);
    int32_t *y = malloc((size_t)B * sizeof *y);
    if (perm == NULL || X == NULL || y == NULL)
        exit(1);
    for (int64_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    cv_rng rng;
    cv_rng_seed(&rng, 7);
    cv_rng_shuffle(&rng, perm, n);

    double rates[REPS];
    int64_t pos = 0;
    for (int r = -1; r < REPS; r++) { /* r = -1 warms up */
        double t0 = now();
        for (int k = 0; k < s->steps; k++) {
            if (pos + B > n)
                pos = 0;
            for (int i = 0; i < B; i++) {
                int32_t e = perm[pos + i];
                memcpy(X + (size_t)i * d, data->train.X + (size_t)e * d, (size_t)d * sizeof *X);
                y[i] = data->train.y[e];
            }
            pos += B;
            cv_nn_forward_backward(net, X, y, B, NULL, NULL);
            cv_nn_update(net, 1e-3);
        }
        if (r >= 0)
            rates[r] = (double)s->steps * B / (now() - t0);
    }
    free(perm), free(X), free(y);
    cv_nn_free(net);
    return median(rates, REPS);
}

/* Median samples/s of the step's matrix products alone. */
static double time_sgemm(const shape *s, int inputs, int classes)
{
    const int L = s->layers, H = s->units, B = s->batch;
    size_t big = (size_t)(inputs > H ? inputs : H) * (size_t)(B > H ? B : H);
    float *A = malloc(big * sizeof *A), *W = malloc(big * sizeof *W), *C = malloc(big * sizeof *C);
    if (A == NULL || W == NULL || C == NULL)
        exit(1);
    for (size_t i = 0; i < big; i++)
        A[i] = W[i] = (float)(i % 17) * 0.01f;
    double rates[REPS];
    for (int r = -1; r < REPS; r++) {
        double t0 = now();
        for (int k = 0; k < s->steps; k++) {
            for (int l = 0; l <= L; l++) {
                int in = l == 0 ? inputs : H, out = l == L ? classes : H;
                /* forward: (B, in) x (in, out) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, out, in, 1.0f, A, in, W,
                            out, 0.0f, C, out);
                /* dW = A^T dZ: (in, B) x (B, out) */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, B, 1.0f, A, in, W,
                            out, 0.0f, C, out);
                /* dA = dZ W^T: (B, out) x (out, in), not for the input layer */
                if (l > 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, in, out, 1.0f, A, out,
                                W, out, 0.0f, C, in);
            }
        }
        if (r >= 0)
            rates[r] = (double)s->steps * B / (now() - t0);
    }
    free(A), free(W), free(C);
    return median(rates, REPS);
}

int main(int argc, char **argv)
{
    cv_blas_setup(argv);
    cv_blas_set_threads(1);
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;

    cv_data data = {0};
    cv_error err = {0};
    cv_data_spec spec = {.source = "fashion-mnist", .seed = 1};
    if (cv_data_load(&data, &spec, &err) != 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    const shape shapes[] = {
        {2, 256, 64, 600},
        {2, 256, 256, 200},
        {3, 1024, 256, 12},
    };
    printf("OpenBLAS core %s, 1 thread; median of %d repetitions\n", cv_blas_core(), REPS);
    printf("%-22s %6s %12s %14s %9s\n", "network", "batch", "samples/s", "sgemm ceiling",
           "of ceil.");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        shape s = shapes[i];
        if (quick)
            s.steps = s.steps / 10 + 1;
        double rate = time_training(&s, &data);
        double ceil = time_sgemm(&s, data.d, data.classes);
        char name[64];
        int len = snprintf(name, sizeof name, "%d", data.d);
        for (int l = 0; l < s.layers; l++)
            len += snprintf(name + len, sizeof name - (size_t)len, "-%d", s.units);
        snprintf(name + len, sizeof name - (size_t)len, "-%d", data.classes);
        printf("%-22s %6d %12.0f %14.0f %8.1f%%\n", name, s.batch, rate, ceil, 100.0 * rate / ceil);
        fflush(stdout);
    }
    cv_data_free(&data);
    return 0;
}
