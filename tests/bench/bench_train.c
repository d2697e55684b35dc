/* bench_train.c: training throughput of one worker (one core, one BLAS
 * thread) beside the sgemm ceiling of the same network.
 *
 * For each network shape it times training steps (gather a shuffled batch,
 * forward, backward, Adam update) on Fashion-MNIST, and separately times only
 * the step's matrix products (the forward products, the weight gradients and
 * the input gradients of all but the first layer) on random matrices of the
 * same shapes: that rate is the ceiling a step could reach if everything but
 * sgemm were free. The two are timed in alternation, repetition by
 * repetition, so that a noisy machine slows both alike; it prints the median
 * samples/s of each and the median of the per-repetition ratios.
 *
 *   bench_train [--quick]        (meson: `meson test --benchmark -C build`)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "caviar/blas.h"
#include "caviar/config.h"
#include "caviar/data.h"
#include "caviar/nn.h"

typedef struct shape {
    int layers, units, batch;
    int steps; /* per repetition */
} shape;

#define REPS 7

/* One repetition of s->steps training steps; returns samples/s. The network
 * and the shuffled order persist across calls through the pointers. */
typedef struct trainer {
    cv_nn *net;
    int32_t *perm;
    float *X;
    int32_t *y;
    int64_t pos;
} trainer;

static void trainer_open(trainer *t, const shape *s, const cv_data *data)
{
    cv_config cfg;
    cv_config_defaults(&cfg);
    cfg.layers = s->layers;
    cfg.hidden_units = s->units;
    cfg.batch_size = s->batch;
    cv_error err = {0};
    t->net = cv_nn_create(&cfg, data->d, data->classes, s->batch, &err);
    if (t->net == NULL) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    cv_nn_init(t->net, 1);
    const int64_t n = data->train.n;
    t->perm = malloc((size_t)n * sizeof *t->perm);
    t->X = malloc((size_t)s->batch * data->d * sizeof *t->X);
    t->y = malloc((size_t)s->batch * sizeof *t->y);
    if (t->perm == NULL || t->X == NULL || t->y == NULL)
        exit(1);
    for (int64_t i = 0; i < n; i++)
        t->perm[i] = (int32_t)i;
    cv_rng rng;
    cv_rng_seed(&rng, 7);
    cv_rng_shuffle(&rng, t->perm, n);
    t->pos = 0;
}

static void trainer_close(trainer *t)
{
    free(t->perm), free(t->X), free(t->y);
    cv_nn_free(t->net);
}

/* caviar's training step as the training loop runs it: gather a shuffled
 * batch, forward and backward, Adam update. */
static double time_training(trainer *t, const shape *s, const cv_data *data)
{
    const int d = data->d, B = s->batch;
    const int64_t n = data->train.n;
    double t0 = bench_now();
    for (int k = 0; k < s->steps; k++) {
        if (t->pos + B > n)
            t->pos = 0;
        for (int i = 0; i < B; i++) {
            int32_t e = t->perm[t->pos + i];
            memcpy(t->X + (size_t)i * d, data->train.X + (size_t)e * d, (size_t)d * sizeof *t->X);
            t->y[i] = data->train.y[e];
        }
        t->pos += B;
        cv_nn_forward_backward(t->net, t->X, t->y, B, NULL, NULL);
        cv_nn_update(t->net, 1e-3);
    }
    return (double)s->steps * B / (bench_now() - t0);
}

/* The step's matrix products alone, on buffers A, W, C of the largest size. */
static double time_sgemm(const shape *s, int inputs, int classes, const float *A, const float *W,
                         float *C)
{
    const int L = s->layers, H = s->units, B = s->batch;
    double t0 = bench_now();
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
    return (double)s->steps * B / (bench_now() - t0);
}

/* Runs shape s: REPS alternating repetitions after a warm-up of each. */
static void bench_shape(const shape *s, const cv_data *data, double *rate, double *ceil,
                        double *ratio)
{
    const int H = s->units, B = s->batch, d = data->d;
    size_t big = (size_t)(d > H ? d : H) * (size_t)(B > H ? B : H);
    float *A = malloc(big * sizeof *A), *W = malloc(big * sizeof *W), *C = malloc(big * sizeof *C);
    if (A == NULL || W == NULL || C == NULL)
        exit(1);
    for (size_t i = 0; i < big; i++)
        A[i] = W[i] = (float)(i % 17) * 0.01f;
    trainer t;
    trainer_open(&t, s, data);
    double rates[REPS], ceils[REPS], ratios[REPS];
    for (int r = -1; r < REPS; r++) { /* r = -1 warms up */
        double a = time_training(&t, s, data);
        double b = time_sgemm(s, d, data->classes, A, W, C);
        if (r >= 0)
            rates[r] = a, ceils[r] = b, ratios[r] = a / b;
    }
    trainer_close(&t);
    free(A), free(W), free(C);
    *rate = bench_median(rates, REPS);
    *ceil = bench_median(ceils, REPS);
    *ratio = bench_median(ratios, REPS);
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
        double rate, ceil, ratio;
        bench_shape(&s, &data, &rate, &ceil, &ratio);
        char name[64];
        int len = snprintf(name, sizeof name, "%d", data.d);
        for (int l = 0; l < s.layers; l++)
            len += snprintf(name + len, sizeof name - (size_t)len, "-%d", s.units);
        snprintf(name + len, sizeof name - (size_t)len, "-%d", data.classes);
        printf("%-22s %6d %12.0f %14.0f %8.1f%%\n", name, s.batch, rate, ceil, 100.0 * ratio);
        fflush(stdout);
    }
    cv_data_free(&data);
    return 0;
}
