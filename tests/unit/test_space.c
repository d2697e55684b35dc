/* test_space.c: the search space (caviar/space.h).
 *
 * Where the samples land is the whole point of the module, so most tests
 * are statistical, at fixed seeds: each statistic is deterministic, and its
 * threshold is stated beside it as the quantile it corresponds to for a
 * correct sampler (Kolmogorov-Smirnov: D < 1.95 / sqrt(n) is the 0.1% level;
 * chi-square: the 0.1% critical value of its degrees of freedom). Then the
 * properties the runner relies on: determinism in any call order, the grid
 * enumerating exactly its points, Sobol nets and discrepancy, the zoom, and
 * every bad spec with its file:line:column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/job.h"
#include "caviar/rng.h"
#include "caviar/space.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

/* Loads text as job file `name` and builds its space; both must succeed. */
static cv_space *space_ok(cv_job *job, const char *name, const char *text)
{
    cv_error err = {0};
    cv_space *s = NULL;
    if (cv_job_load(job, tu_write_text(name, text), &err) != 0)
        fail_msg("%s should load: %s", name, err.msg);
    if (cv_space_create(&s, job, &err) != 0)
        fail_msg("%s: the space should build: %s", name, err.msg);
    return s;
}

/* The 1-based column of needle in line `line` (1-based) of text. */
static int column_of(const char *text, int line, const char *needle)
{
    const char *p = text;
    for (int l = 1; l < line && p != NULL; l++) {
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    assert_non_null(p);
    const char *end = strchr(p, '\n');
    const char *at = strstr(p, needle);
    if (at == NULL || (end != NULL && at > end))
        fail_msg("'%s' is not on line %d", needle, line);
    return (int)(at - p) + 1;
}

/* Loading text and building its space must fail with an exit-2 error whose
 * message starts "PATH:LINE:COLUMN: ", the column being where `at` stands
 * on that line, and contains `msg`. */
static void space_fails(const char *name, const char *text, int line, const char *at,
                        const char *msg)
{
    cv_error err = {0};
    cv_job job;
    cv_space *s = NULL;
    const char *path = tu_write_text(name, text);
    int rc = cv_job_load(&job, path, &err);
    if (rc == 0) {
        rc = cv_space_create(&s, &job, &err);
        cv_job_free(&job);
    }
    if (rc != CV_ERR_INPUT)
        fail_msg("%s: expected CV_ERR_INPUT, got %d (%s)", name, rc, err.msg);
    assert_null(s);
    assert_int_equal(cv_exit_status(rc), 2);
    char prefix[700];
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", path, line, column_of(text, line, at));
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("%s: expected the message to start with \"%s\", got \"%s\"", name, prefix, err.msg);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("%s: expected \"%s\" in \"%s\"", name, msg, err.msg);
}

/* Samples trials 0..n-1 of round 0 into out (n configurations). */
static void sample_n(const cv_space *s, int n, cv_config *out)
{
    cv_error err = {0};
    for (int i = 0; i < n; i++)
        if (cv_space_sample(s, NULL, 0, i, &out[i], &err) != 0)
            fail_msg("trial %d: %s", i, err.msg);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The Kolmogorov-Smirnov distance of x[0..n) (sorted in place) from U(0, 1). */
static double ks_uniform(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, compare_double);
    double d = 0;
    for (int i = 0; i < n; i++) {
        d = fmax(d, (double)(i + 1) / n - x[i]);
        d = fmax(d, x[i] - (double)i / n);
    }
    return d;
}

/* Pearson's chi-square of counts[k] against expected probabilities p[k]. */
static double chi_square(const int *counts, const double *p, int k, int total)
{
    double x2 = 0;
    for (int i = 0; i < k; i++) {
        double e = p[i] * total, d = counts[i] - e;
        x2 += d * d / e;
    }
    return x2;
}

/* Hickernell's centered L2 discrepancy, squared, of n points in [0, 1]^d
 * (x[i * d + k]): lower is more even. */
static double centered_l2(const double *x, int n, int d)
{
    double sum1 = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double p = 1;
        for (int k = 0; k < d; k++) {
            double a = fabs(x[i * d + k] - 0.5);
            p *= 1 + 0.5 * a - 0.5 * a * a;
        }
        sum1 += p;
        for (int j = 0; j < n; j++) {
            double q = 1;
            for (int k = 0; k < d; k++) {
                double a = fabs(x[i * d + k] - 0.5), b = fabs(x[j * d + k] - 0.5);
                q *= 1 + 0.5 * a + 0.5 * b - 0.5 * fabs(x[i * d + k] - x[j * d + k]);
            }
            sum2 += q;
        }
    }
    return pow(13.0 / 12.0, d) - 2.0 / n * sum1 + sum2 / ((double)n * n);
}

/* ---- distributions ------------------------------------------------------ */

enum { N_DRAWS = 10000 };

/* KS threshold at the 0.1% level for N_DRAWS draws. */
#define KS_CRIT (1.95 / sqrt((double)N_DRAWS))

static void test_transforms(void **state)
{
    (void)state;
    cv_job job;
    cv_space *s = space_ok(&job, "tr.yaml",
                           "parameters:\n"
                           "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n"
                           "  beta1: {distribution: one_minus_log_uniform, min: 0.9, max: 0.999}\n"
                           "  layers: {distribution: int_uniform, min: 1, max: 4}\n"
                           "  hidden_units: {distribution: log_int_uniform, min: 16, max: 1024}\n"
                           "  batch_size: {distribution: log_uniform, min: 16, max: 1024}\n"
                           "  dropout: {distribution: uniform, min: 0, max: 0.5}\n"
                           "  optimizer: [sgd, adam]\n");
    assert_int_equal(cv_space_dims(s), 7);
    /* Ends map to the bounds exactly; the middle lands on each scale's middle. */
    assert_true(cv_space_from_unit(s, CV_P_LEARNING_RATE, 0) == 1e-4);
    assert_true(cv_space_from_unit(s, CV_P_LEARNING_RATE, 1) == 1);
    assert_true(fabs(cv_space_from_unit(s, CV_P_LEARNING_RATE, 0.5) - 1e-2) < 1e-15);
    assert_true(fabs(cv_space_from_unit(s, CV_P_BETA1, 0.5) - 0.99) < 1e-12);
    assert_true(cv_space_from_unit(s, CV_P_BETA1, 1) == 0.999);
    assert_true(fabs(cv_space_from_unit(s, CV_P_DROPOUT, 0.5) - 0.25) < 1e-15);
    /* int_uniform: four equal cells of [0, 1]. */
    assert_true(cv_space_from_unit(s, CV_P_LAYERS, 0.0) == 1);
    assert_true(cv_space_from_unit(s, CV_P_LAYERS, 0.249) == 1);
    assert_true(cv_space_from_unit(s, CV_P_LAYERS, 0.251) == 2);
    assert_true(cv_space_from_unit(s, CV_P_LAYERS, 0.999) == 4);
    assert_true(fabs(cv_space_to_unit(s, CV_P_LAYERS, 2) - 0.375) < 1e-15);
    /* log_uniform on an integer parameter rounds. */
    double b = cv_space_from_unit(s, CV_P_BATCH_SIZE, 0.3);
    assert_true(b == floor(b) && b >= 16 && b <= 1024);
    /* log_int_uniform: log scale over [15.5, 1024.5], so its middle is
     * their geometric mean, rounded. */
    assert_true(cv_space_from_unit(s, CV_P_HIDDEN_UNITS, 0.5) == round(sqrt(15.5 * 1024.5)));
    assert_true(cv_space_from_unit(s, CV_P_HIDDEN_UNITS, 0) == 16);
    assert_true(cv_space_from_unit(s, CV_P_HIDDEN_UNITS, 1) == 1024);
    /* Categorical: equal cells, values by index. */
    assert_true(cv_space_from_unit(s, CV_P_OPTIMIZER, 0.2) == CV_OPT_SGD);
    assert_true(cv_space_from_unit(s, CV_P_OPTIMIZER, 0.7) == CV_OPT_ADAM);
    assert_true(cv_space_to_unit(s, CV_P_OPTIMIZER, CV_OPT_ADAM) == 0.75);
    assert_true(isnan(cv_space_to_unit(s, CV_P_OPTIMIZER, CV_OPT_RMSPROP)));
    assert_true(isnan(cv_space_to_unit(s, CV_P_EPOCHS, 10))); /* not searched */
    /* Round trips on the continuous scales. */
    for (int i = 0; i <= 100; i++) {
        double u = i / 100.0;
        CHECK(fabs(cv_space_to_unit(s, CV_P_LEARNING_RATE,
                                    cv_space_from_unit(s, CV_P_LEARNING_RATE, u)) - u) < 1e-12,
              "learning_rate at %g", u);
        CHECK(fabs(cv_space_to_unit(s, CV_P_BETA1, cv_space_from_unit(s, CV_P_BETA1, u)) - u) <
                  1e-9,
              "beta1 at %g", u);
    }
    /* Every draw is valid for its parameter and inside its bounds. */
    cv_config *c = malloc(2000 * sizeof *c);
    assert_non_null(c);
    sample_n(s, 2000, c);
    char why[256];
    for (int i = 0; i < 2000; i++) {
        CHECK(cv_config_check(&c[i], why, sizeof why) == 0, "trial %d: %s", i, why);
        CHECK(c[i].learning_rate >= 1e-4 && c[i].learning_rate <= 1, "trial %d", i);
        CHECK(c[i].beta1 >= 0.9 && c[i].beta1 <= 0.999, "trial %d", i);
        CHECK(c[i].hidden_units >= 16 && c[i].hidden_units <= 1024, "trial %d", i);
        CHECK(c[i].dropout >= 0 && c[i].dropout <= 0.5, "trial %d", i);
        CHECK(c[i].optimizer == CV_OPT_SGD || c[i].optimizer == CV_OPT_ADAM, "trial %d", i);
    }
    free(c);
    cv_space_free(s);
    cv_job_free(&job);
}

static void test_log_uniform(void **state)
{
    (void)state;
    cv_job job;
    cv_space *s = space_ok(&job, "log.yaml",
                           "search: {seed: 11}\n"
                           "parameters:\n"
                           "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n");
    cv_config *c = malloc(N_DRAWS * sizeof *c);
    double *x = malloc(N_DRAWS * sizeof *x);
    assert_non_null(c);
    assert_non_null(x);
    sample_n(s, N_DRAWS, c);
    /* log10 of the draws is uniform on [-4, 0]: each decade gets a quarter. */
    int decade[4] = {0};
    for (int i = 0; i < N_DRAWS; i++) {
        double y = log10(c[i].learning_rate);
        x[i] = (y + 4) / 4;
        decade[(int)fmin(3, floor(y + 4))]++;
    }
    double d = ks_uniform(x, N_DRAWS);
    CHECK(d < KS_CRIT, "KS distance of log10(lr) from uniform %.4f >= %.4f (p = 0.001)", d, KS_CRIT);
    static const double quarter[4] = {0.25, 0.25, 0.25, 0.25};
    double x2 = chi_square(decade, quarter, 4, N_DRAWS);
    CHECK(x2 < 16.27, "decades: chi-square %.2f >= 16.27 (df 3, p = 0.001)", x2);
    free(x);
    free(c);
    cv_space_free(s);
    cv_job_free(&job);
}

static void test_one_minus_log_uniform(void **state)
{
    (void)state;
    cv_job job;
    cv_space *s = space_ok(&job, "oml.yaml",
                           "search: {seed: 12}\n"
                           "parameters:\n"
                           "  beta1: {distribution: one_minus_log_uniform, min: 0.9, max: 0.999}\n"
                           "  beta2: {distribution: uniform, min: 0.9, max: 0.999}\n");
    cv_config *c = malloc(N_DRAWS * sizeof *c);
    double *x = malloc(N_DRAWS * sizeof *x);
    assert_non_null(c);
    assert_non_null(x);
    sample_n(s, N_DRAWS, c);
    int above = 0, above_linear = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        /* log10(1 - beta) runs over [-3, -1]. */
        x[i] = (log10(1 - c[i].beta1) + 1) / -2;
        above += c[i].beta1 > 0.99;
        above_linear += c[i].beta2 > 0.99;
    }
    double d = ks_uniform(x, N_DRAWS);
    CHECK(d < KS_CRIT, "KS distance of log10(1 - beta) from uniform %.4f >= %.4f (p = 0.001)", d,
          KS_CRIT);
    /* Half above 0.99, where a linear scale puts 9/99; binomial standard
     * error 0.005, allow 4 of them. */
    double f = (double)above / N_DRAWS, fl = (double)above_linear / N_DRAWS;
    CHECK(fabs(f - 0.5) < 0.02, "one_minus_log_uniform: %.4f above 0.99, expected 0.5", f);
    CHECK(fabs(fl - 9.0 / 99) < 0.012, "uniform: %.4f above 0.99, expected 0.091", fl);
    free(x);
    free(c);
    cv_space_free(s);
    cv_job_free(&job);

    /* min 0 is allowed (1 - 0 = 1 is fine on a log scale): 1 - momentum
     * log-uniform on [0.01, 1], so half the draws below 0.9. */
    s = space_ok(&job, "oml0.yaml",
                 "parameters:\n"
                 "  momentum: {distribution: one_minus_log_uniform, min: 0, max: 0.99}\n");
    cv_config *m = malloc(N_DRAWS * sizeof *m);
    assert_non_null(m);
    sample_n(s, N_DRAWS, m);
    int below = 0;
    for (int i = 0; i < N_DRAWS; i++)
        below += m[i].momentum < 0.9;
    CHECK(fabs((double)below / N_DRAWS - 0.5) < 0.02, "%d of %d below 0.9", below, N_DRAWS);
    free(m);
    cv_space_free(s);
    cv_job_free(&job);
}

static void test_integers_and_values(void **state)
{
    (void)state;
    cv_job job;
    cv_space *s = space_ok(&job, "int.yaml",
                           "search: {seed: 13}\n"
                           "parameters:\n"
                           "  layers: {distribution: int_uniform, min: 1, max: 10}\n"
                           "  hidden_units: {values: [16, 32, 64, 128, 256]}\n"
                           "  patience: {distribution: log_int_uniform, min: 1, max: 8}\n"
                           "  batch_size: {distribution: uniform, min: 10, max: 20}\n"
                           "  activation: [relu, leaky_relu, tanh, sigmoid]\n");
    cv_config *c = malloc(N_DRAWS * sizeof *c);
    assert_non_null(c);
    sample_n(s, N_DRAWS, c);
    int layers[10] = {0}, units[5] = {0}, patience[8] = {0}, act[4] = {0}, batch[11] = {0};
    for (int i = 0; i < N_DRAWS; i++) {
        CHECK(c[i].layers >= 1 && c[i].layers <= 10, "layers %d", c[i].layers);
        layers[c[i].layers - 1]++;
        int k = (int)log2(c[i].hidden_units) - 4;
        CHECK(k >= 0 && k < 5 && c[i].hidden_units == 16 << k, "hidden_units %d", c[i].hidden_units);
        units[k]++;
        CHECK(c[i].patience >= 1 && c[i].patience <= 8, "patience %d", c[i].patience);
        patience[c[i].patience - 1]++;
        act[c[i].activation]++;
        CHECK(c[i].batch_size >= 10 && c[i].batch_size <= 20, "batch_size %d", c[i].batch_size);
        batch[c[i].batch_size - 10]++;
    }
    double p10[10], p5[5], p4[4], plog[8], pbatch[11];
    for (int i = 0; i < 10; i++)
        p10[i] = 0.1;
    for (int i = 0; i < 5; i++)
        p5[i] = 0.2;
    for (int i = 0; i < 4; i++)
        p4[i] = 0.25;
    /* log_int_uniform: log-uniform over [0.5, 8.5], rounded: integer k gets
     * ln((k + 0.5) / (k - 0.5)) / ln(17). */
    for (int k = 1; k <= 8; k++)
        plog[k - 1] = log((k + 0.5) / (k - 0.5)) / log(17.0);
    /* uniform on an integer: rounded, so the ends get half a cell. */
    for (int k = 0; k <= 10; k++)
        pbatch[k] = (k == 0 || k == 10 ? 0.5 : 1.0) / 10;
    double x2;
    x2 = chi_square(layers, p10, 10, N_DRAWS);
    CHECK(x2 < 27.88, "int_uniform: chi-square %.2f >= 27.88 (df 9, p = 0.001)", x2);
    x2 = chi_square(units, p5, 5, N_DRAWS);
    CHECK(x2 < 18.47, "values: chi-square %.2f >= 18.47 (df 4, p = 0.001)", x2);
    x2 = chi_square(act, p4, 4, N_DRAWS);
    CHECK(x2 < 16.27, "word values: chi-square %.2f >= 16.27 (df 3, p = 0.001)", x2);
    x2 = chi_square(patience, plog, 8, N_DRAWS);
    CHECK(x2 < 24.32, "log_int_uniform: chi-square %.2f >= 24.32 (df 7, p = 0.001)", x2);
    x2 = chi_square(batch, pbatch, 11, N_DRAWS);
    CHECK(x2 < 29.59, "uniform on integers: chi-square %.2f >= 29.59 (df 10, p = 0.001)", x2);
    free(c);
    cv_space_free(s);
    cv_job_free(&job);
}

/* ---- determinism -------------------------------------------------------- */

static void test_determinism(void **state)
{
    (void)state;
    enum { N = 200 };
    static const char *const methods[] = {"random", "sobol"};
    for (int m = 0; m < 2; m++) {
        char text[512];
        snprintf(text, sizeof text,
                 "search: {method: %s, trials: %d, seed: 5}\n"
                 "parameters:\n"
                 "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n"
                 "  layers: {distribution: int_uniform, min: 1, max: 4}\n"
                 "  optimizer: [sgd, momentum, adam]\n",
                 methods[m], N);
        cv_job job, job2;
        cv_space *s = space_ok(&job, "det.yaml", text);
        cv_space *t = space_ok(&job2, "det2.yaml", text);
        cv_config fwd[N], back[N], again;
        cv_error err = {0};
        sample_n(s, N, fwd);
        /* Backwards, on another space built from the same job, with other
         * rounds' draws in between: the same configurations. */
        for (int i = N - 1; i >= 0; i--) {
            assert_int_equal(cv_space_sample(t, NULL, 0, i, &back[i], &err), 0);
            assert_int_equal(cv_space_sample(t, NULL, 1 + i % 3, i, &again, &err), 0);
        }
        assert_memory_equal(fwd, back, sizeof fwd);
        /* Round 1 is not round 0. */
        int same = 0;
        for (int i = 0; i < N; i++) {
            assert_int_equal(cv_space_sample(s, NULL, 1, i, &again, &err), 0);
            same += again.learning_rate == fwd[i].learning_rate;
        }
        CHECK(same == 0, "%s: %d of %d learning rates equal in rounds 0 and 1", methods[m], same, N);
        cv_space_free(t);
        cv_job_free(&job2);

        /* Another seed, other configurations. */
        char *seed = strstr(text, "seed: 5");
        seed[6] = '6';
        t = space_ok(&job2, "det3.yaml", text);
        same = 0;
        for (int i = 0; i < N; i++) {
            assert_int_equal(cv_space_sample(t, NULL, 0, i, &again, &err), 0);
            same += again.learning_rate == fwd[i].learning_rate;
        }
        CHECK(same == 0, "%s: %d of %d learning rates equal under seeds 5 and 6", methods[m], same,
              N);
        cv_space_free(t);
        cv_job_free(&job2);
        cv_space_free(s);
        cv_job_free(&job);
    }

    /* The training seed is keyed by (seed, round, trial) alone, and is the
     * key panda mode has always used for trial 0. */
    assert_true(cv_space_trial_seed(1, 0, 0) == cv_hash_key(1, 0, 0, 0));
    assert_true(cv_space_trial_seed(1, 0, 1) != cv_space_trial_seed(1, 1, 0));
    assert_true(cv_space_trial_seed(1, 2, 3) == cv_space_trial_seed(1, 2, 3));
    assert_true(cv_space_trial_seed(2, 2, 3) != cv_space_trial_seed(1, 2, 3));

    /* Bad counters are refused. */
    cv_job job;
    cv_space *s = space_ok(&job, "det4.yaml", "parameters:\n  layers: [1, 2]\n");
    cv_config c;
    cv_error err = {0};
    assert_int_equal(cv_space_sample(s, NULL, -1, 0, &c, &err), CV_ERR_INPUT);
    cv_error_clear(&err);
    assert_int_equal(cv_space_sample(s, NULL, 0, -1, &c, &err), CV_ERR_INPUT);
    cv_space_free(s);
    cv_job_free(&job);
}

/* ---- grid --------------------------------------------------------------- */

static void test_grid(void **state)
{
    (void)state;
    static const char text[] = "search: {method: grid, rounds: 2}\n"
                               "parameters:\n"
                               "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1, "
                               "points: 5}\n"
                               "  beta1: {distribution: one_minus_log_uniform, min: 0.9, max: "
                               "0.999, points: 3}\n"
                               "  layers: {distribution: int_uniform, min: 1, max: 3}\n"
                               "  hidden_units: {distribution: log_int_uniform, min: 16, max: "
                               "256, points: 5}\n"
                               "  optimizer: [sgd, adam]\n";
    static const double lrs[5] = {1e-4, 1e-3, 1e-2, 1e-1, 1};
    static const double betas[3] = {0.9, 0.99, 0.999};
    enum { G = 5 * 3 * 3 * 5 * 2 };
    cv_job job;
    cv_space *s = space_ok(&job, "grid.yaml", text);
    /* Without search.trials, trials is the grid's size. */
    assert_int_equal(cv_space_grid_size(s), G);
    assert_int_equal(cv_space_trials(s), G);

    /* Every combination exactly once, on each parameter's own scale. */
    int seen[5][3][3][5][2];
    memset(seen, 0, sizeof seen);
    cv_error err = {0};
    for (int i = 0; i < G; i++) {
        cv_config c;
        assert_int_equal(cv_space_sample(s, NULL, 0, i, &c, &err), 0);
        int a = -1, b = -1, h = -1;
        for (int k = 0; k < 5; k++)
            if (fabs(c.learning_rate / lrs[k] - 1) < 1e-12)
                a = k;
        for (int k = 0; k < 3; k++)
            if (fabs(c.beta1 - betas[k]) < 1e-12)
                b = k;
        for (int k = 0; k < 5; k++)
            if (c.hidden_units == 16 << k)
                h = k;
        CHECK(a >= 0, "trial %d: learning_rate %.17g is not a grid point", i, c.learning_rate);
        CHECK(b >= 0, "trial %d: beta1 %.17g is not a grid point", i, c.beta1);
        CHECK(h >= 0, "trial %d: hidden_units %d is not a grid point", i, c.hidden_units);
        CHECK(c.layers >= 1 && c.layers <= 3, "trial %d: layers %d", i, c.layers);
        CHECK(c.optimizer == CV_OPT_SGD || c.optimizer == CV_OPT_ADAM, "trial %d", i);
        seen[a][b][c.layers - 1][h][c.optimizer == CV_OPT_ADAM]++;
    }
    const int *flat = &seen[0][0][0][0][0];
    for (int k = 0; k < G; k++)
        CHECK(flat[k] == 1, "combination %d tried %d times", k, flat[k]);
    /* The first parameter varies slowest, the last fastest; past the end
     * the grid starts over. */
    cv_config c0, c1, cg;
    assert_int_equal(cv_space_sample(s, NULL, 0, 0, &c0, &err), 0);
    assert_int_equal(cv_space_sample(s, NULL, 0, 1, &c1, &err), 0);
    assert_int_equal(cv_space_sample(s, NULL, 0, G, &cg, &err), 0);
    assert_true(c0.learning_rate == 1e-4 && c0.optimizer == CV_OPT_SGD);
    assert_true(c1.learning_rate == 1e-4 && c1.optimizer == CV_OPT_ADAM);
    assert_memory_equal(&c0, &cg, sizeof c0);
    /* The grid ignores the seed and the round: same points. */
    assert_int_equal(cv_space_sample(s, NULL, 1, 1, &cg, &err), 0);
    assert_memory_equal(&c1, &cg, sizeof c1);

    /* A zoomed round lays its points across the region, ends included. */
    cv_region full, zoomed;
    cv_config best[2] = {c0, c0};
    best[1].learning_rate = 1e-2;
    cv_space_full_region(s, &full);
    assert_int_equal(cv_space_zoom_best(s, &full, best, 2, &zoomed, &err), 0);
    double lo, hi;
    assert_int_equal(cv_space_region_bounds(s, &zoomed, CV_P_LEARNING_RATE, &lo, &hi), 0);
    assert_int_equal(cv_space_sample(s, &zoomed, 1, 0, &c0, &err), 0);
    assert_true(c0.learning_rate == lo);
    int last = 0;
    for (int i = 0; i < G; i++) {
        cv_config c;
        assert_int_equal(cv_space_sample(s, &zoomed, 1, i, &c, &err), 0);
        CHECK(c.learning_rate >= lo && c.learning_rate <= hi, "trial %d outside the region", i);
        CHECK(c.optimizer == CV_OPT_SGD, "trial %d: optimizer %d not allowed", i, c.optimizer);
        last += c.learning_rate == hi;
    }
    CHECK(last > 0, "the region's upper end %g is never tried", hi);
    cv_space_free(s);
    cv_job_free(&job);

    /* trials given and equal to the grid: fine. */
    s = space_ok(&job, "grid2.yaml",
                 "search: {method: grid, trials: 6}\n"
                 "parameters:\n  layers: [1, 2, 3]\n  batch_norm: [true, false]\n");
    assert_int_equal(cv_space_trials(s), 6);
    cv_space_free(s);
    cv_job_free(&job);
}

/* ---- sobol -------------------------------------------------------------- */

/* Every parameter searched: the space of the most dimensions there is. */
static const char all_params[] =
    "search: {method: sobol, trials: 256, seed: 3}\n"
    "parameters:\n"
    "  learning_rate: {distribution: uniform, min: 0.1, max: 1}\n"
    "  momentum: {distribution: uniform, min: 0, max: 0.5}\n"
    "  beta1: {distribution: uniform, min: 0, max: 0.5}\n"
    "  beta2: {distribution: uniform, min: 0, max: 0.5}\n"
    "  epsilon: {distribution: uniform, min: 0.1, max: 1}\n"
    "  layers: {distribution: uniform, min: 1, max: 64}\n"
    "  hidden_units: {distribution: uniform, min: 1, max: 64}\n"
    "  batch_size: {distribution: uniform, min: 2, max: 64}\n"
    "  lr_decay: {distribution: uniform, min: 0, max: 1}\n"
    "  lr_schedule: [none, inverse_time]\n"
    "  epochs: {distribution: uniform, min: 1, max: 64}\n"
    "  optimizer: [sgd, adam]\n"
    "  activation: [relu, tanh]\n"
    "  batch_norm: [true, false]\n"
    "  bn_momentum: {distribution: uniform, min: 0, max: 0.5}\n"
    "  bn_epsilon: {distribution: uniform, min: 0.1, max: 1}\n"
    "  weight_decay: {distribution: uniform, min: 0, max: 1}\n"
    "  dropout: {distribution: uniform, min: 0, max: 0.5}\n"
    "  init: [he, xavier]\n"
    "  patience: {distribution: uniform, min: 0, max: 64}\n";

static void test_sobol_nets(void **state)
{
    (void)state;
    enum { M = 8, N = 1 << M };
    cv_job job;
    cv_space *s = space_ok(&job, "sobol.yaml", all_params);
    int dims = cv_space_dims(s);
    assert_int_equal(dims, CV_P_PROGRAM);
    static double u[N][CV_P_COUNT], v[N][CV_P_COUNT];
    for (int i = 0; i < N; i++) {
        cv_space_draw(s, 0, i, u[i]);
        cv_space_draw(s, 1, i, v[i]);
    }
    /* Each coordinate of the first 2^8 points: one point per 1/256. */
    for (int d = 0; d < dims; d++) {
        int cells[N] = {0};
        for (int i = 0; i < N; i++) {
            CHECK(u[i][d] > 0 && u[i][d] < 1, "point %d, dimension %d: %g", i, d, u[i][d]);
            cells[(int)(u[i][d] * N)]++;
        }
        for (int k = 0; k < N; k++)
            CHECK(cells[k] == 1, "dimension %d: %d points in cell %d", d, cells[k], k);
    }
    /* Dimensions 1 and 2 form a (0, 8, 2)-net: every elementary box of area
     * 2^-8 (2^-a by 2^-(8-a)) holds exactly one point. Pairs of other
     * dimensions: at most 2^t points per box with t <= 2 for the first ones. */
    for (int a = 0; a <= M; a++) {
        int cells[N] = {0};
        for (int i = 0; i < N; i++) {
            int x = (int)(u[i][0] * (1 << a)), y = (int)(u[i][1] * (1 << (M - a)));
            cells[x * (1 << (M - a)) + y]++;
        }
        for (int k = 0; k < N; k++)
            CHECK(cells[k] == 1, "boxes 2^-%d x 2^-%d: %d points in box %d", a, M - a, cells[k], k);
    }
    /* Another round is scrambled differently, yet stratified the same. */
    int same = 0;
    for (int i = 0; i < N; i++)
        same += u[i][0] == v[i][0];
    CHECK(same < 4, "rounds 0 and 1 share %d of %d coordinates", same, N);
    cv_space_free(s);
    cv_job_free(&job);
}

static void test_sobol_discrepancy(void **state)
{
    (void)state;
    /* Centered L2 discrepancy at n = 128 in 4 dimensions over 5 seeds: Sobol
     * below random at every seed, and on average less than a tenth of it.
     * (For random points its expectation is of order 1/n; a scrambled net's
     * falls nearly as 1/n^2. Measured: random 0.007 to 0.011, sobol 0.00035.) */
    enum { N = 128, D = 4 };
    double sum_sobol = 0, sum_random = 0;
    for (int seed = 1; seed <= 5; seed++) {
        double cd[2];
        for (int m = 0; m < 2; m++) {
            char text[512];
            snprintf(text, sizeof text,
                     "search: {method: %s, trials: %d, seed: %d}\n"
                     "parameters:\n"
                     "  dropout: {distribution: uniform, min: 0, max: 0.5}\n"
                     "  weight_decay: {distribution: uniform, min: 0, max: 1}\n"
                     "  momentum: {distribution: uniform, min: 0, max: 0.9}\n"
                     "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n",
                     m ? "sobol" : "random", N, seed);
            cv_job job;
            cv_space *s = space_ok(&job, "disc.yaml", text);
            static double x[N * D];
            for (int i = 0; i < N; i++)
                cv_space_draw(s, 0, i, &x[i * D]);
            cd[m] = centered_l2(x, N, D);
            cv_space_free(s);
            cv_job_free(&job);
        }
        CHECK(cd[1] < cd[0], "seed %d: sobol CD^2 %.3g >= random %.3g", seed, cd[1], cd[0]);
        sum_random += cd[0];
        sum_sobol += cd[1];
    }
    CHECK(sum_sobol < sum_random / 10, "mean CD^2: sobol %.3g, random %.3g", sum_sobol / 5,
          sum_random / 5);
}

/* ---- zoom --------------------------------------------------------------- */

static const char zoom_job[] = "search: {trials: 200, rounds: 3, keep: 0.1, metric: dev_loss}\n"
                               "parameters:\n"
                               "  learning_rate: {distribution: log_uniform, min: 1.0e-5, max: 1}\n"
                               "  layers: {distribution: int_uniform, min: 1, max: 6}\n"
                               "  optimizer: [sgd, momentum, rmsprop, adam]\n"
                               "  dropout: {distribution: uniform, min: 0, max: 0.5}\n";

/* A made-up loss: best at learning_rate 10^-2.5, 3 layers, adam. */
static double fake_loss(const cv_config *c)
{
    double a = log10(c->learning_rate) + 2.5;
    return a * a + 0.3 * (c->layers - 3) * (c->layers - 3) +
           (c->optimizer == CV_OPT_ADAM ? 0 : 0.5) + 0.1 * c->dropout;
}

/* r must hold every configuration c[0..n): ranged values within the
 * natural bounds (and their transformed positions within lo..hi),
 * categorical values allowed. */
static void assert_region_holds(const cv_space *s, const cv_region *r, const cv_config *c, int n)
{
    for (int d = 0; d < cv_space_dims(s); d++) {
        cv_param p = cv_space_dim_get(s, d)->param;
        double lo, hi, values[CV_SPACE_MAX_VALUES];
        int kind = cv_space_region_bounds(s, r, p, &lo, &hi);
        CHECK(r->lo[p] >= 0 && r->hi[p] <= 1 && r->lo[p] < r->hi[p], "%s: [%g, %g]",
              cv_param_get_info(p)->name, r->lo[p], r->hi[p]);
        int nv = kind == 1 ? cv_space_region_values(s, r, p, values, CV_SPACE_MAX_VALUES) : 0;
        for (int i = 0; i < n; i++) {
            double x = cv_config_get(&c[i], p);
            CHECK(x >= lo && x <= hi, "%s %g outside [%g, %g]", cv_param_get_info(p)->name, x, lo,
                  hi);
            if (kind == 0) {
                double u = cv_space_to_unit(s, p, x);
                CHECK(u >= r->lo[p] - 1e-12 && u <= r->hi[p] + 1e-12, "%s at %g outside [%g, %g]",
                      cv_param_get_info(p)->name, u, r->lo[p], r->hi[p]);
            } else {
                bool found = false;
                for (int k = 0; k < nv; k++)
                    found = found || values[k] == x;
                CHECK(found, "%s %g not allowed", cv_param_get_info(p)->name, x);
            }
        }
    }
}

static int compare_loss(const void *a, const void *b)
{
    double x = fake_loss(a), y = fake_loss(b);
    return (x > y) - (x < y);
}

static void test_zoom(void **state)
{
    (void)state;
    enum { N = 200 };
    cv_job job;
    cv_space *s = space_ok(&job, "zoom.yaml", zoom_job);
    cv_error err = {0};
    cv_region regions[3];
    cv_config c[N], sorted[N];
    double loss[N];
    cv_space_full_region(s, &regions[0]);
    assert_int_equal(cv_space_keep_count(s, N), 20);

    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            assert_int_equal(cv_space_sample(s, &regions[round], round, i, &c[i], &err), 0);
            loss[i] = fake_loss(&c[i]);
        }
        /* Every draw lies in its round's region. */
        assert_region_holds(s, &regions[round], c, N);
        /* The next region holds the best 20 (by the loss, lowest first)... */
        assert_int_equal(cv_space_zoom(s, &regions[round], c, loss, N, &regions[round + 1], &err), 0);
        memcpy(sorted, c, sizeof c);
        qsort(sorted, N, sizeof *sorted, compare_loss);
        assert_region_holds(s, &regions[round + 1], sorted, 20);
        /* ...keeps exactly the categorical values they use... */
        bool used[4] = {false};
        for (int i = 0; i < 20; i++)
            used[sorted[i].optimizer] = true;
        for (int k = 0; k < 4; k++)
            CHECK(used[k] == (((regions[round + 1].allowed[CV_P_OPTIMIZER][0] >> k) & 1) != 0),
                  "round %d: optimizer %d allowed %d, used by the best %d", round, k,
                  (int)((regions[round + 1].allowed[CV_P_OPTIMIZER][0] >> k) & 1), used[k]);
        /* ...and shrinks around the clustered learning rate. */
        double w0 = regions[round].hi[CV_P_LEARNING_RATE] - regions[round].lo[CV_P_LEARNING_RATE];
        double w1 =
            regions[round + 1].hi[CV_P_LEARNING_RATE] - regions[round + 1].lo[CV_P_LEARNING_RATE];
        CHECK(w1 < w0, "round %d: learning_rate region %g did not shrink from %g", round, w1, w0);
    }
    /* The optimum's neighbourhood is still inside after two zooms. */
    double lo, hi;
    assert_int_equal(cv_space_region_bounds(s, &regions[2], CV_P_LEARNING_RATE, &lo, &hi), 0);
    CHECK(lo < 3.2e-3 && hi > 3.1e-3, "learning_rate region [%g, %g] lost 10^-2.5", lo, hi);
    CHECK(hi / lo < 100, "learning_rate region [%g, %g] still spans two decades", lo, hi);
    cv_space_free(s);
    cv_job_free(&job);
}

static void test_zoom_rules(void **state)
{
    (void)state;
    cv_job job;
    cv_space *s = space_ok(&job, "zoom2.yaml", zoom_job);
    cv_error err = {0};
    cv_region full, r;
    cv_space_full_region(s, &full);
    cv_config best[3];
    for (int i = 0; i < 3; i++) {
        best[i] = *cv_space_base(s);
        best[i].optimizer = CV_OPT_ADAM;
        best[i].layers = 3;
        best[i].dropout = 0.25;
    }

    /* Clustered: lr in [1e-3, 2e-3] is 0.06 of the 5 decades; the box grows
     * by max(10% of that, 2.5% of the range) on each side. */
    best[0].learning_rate = 1e-3;
    best[1].learning_rate = 1.5e-3;
    best[2].learning_rate = 2e-3;
    assert_int_equal(cv_space_zoom_best(s, &full, best, 3, &r, &err), 0);
    assert_region_holds(s, &r, best, 3);
    double a = cv_space_to_unit(s, CV_P_LEARNING_RATE, 1e-3);
    double b = cv_space_to_unit(s, CV_P_LEARNING_RATE, 2e-3);
    double m = fmax(CV_SPACE_MARGIN * (b - a), CV_SPACE_MIN_MARGIN);
    assert_true(fabs(r.lo[CV_P_LEARNING_RATE] - (a - m)) < 1e-12);
    assert_true(fabs(r.hi[CV_P_LEARNING_RATE] - (b + m)) < 1e-12);
    /* Identical points: the minimum width. */
    assert_true(fabs(r.hi[CV_P_DROPOUT] - r.lo[CV_P_DROPOUT] - 2 * CV_SPACE_MIN_MARGIN) < 1e-12);
    /* Integers snap out to whole cells: layers 3 alone, every draw 3. */
    double lo, hi;
    assert_int_equal(cv_space_region_bounds(s, &r, CV_P_LAYERS, &lo, &hi), 0);
    assert_true(lo == 3 && hi == 3);
    assert_true(fabs(r.lo[CV_P_LAYERS] - 2.0 / 6) < 1e-12);
    assert_true(fabs(r.hi[CV_P_LAYERS] - 3.0 / 6) < 1e-12);
    for (int i = 0; i < 500; i++) {
        cv_config c;
        assert_int_equal(cv_space_sample(s, &r, 1, i, &c, &err), 0);
        CHECK(c.layers == 3 && c.optimizer == CV_OPT_ADAM, "trial %d: layers %d, optimizer %d", i,
              c.layers, c.optimizer);
    }
    /* Categorical: only the values the best use. */
    assert_int_equal(cv_space_region_bounds(s, &r, CV_P_OPTIMIZER, &lo, &hi), 1);
    assert_int_equal(cv_space_region_values(s, &r, CV_P_OPTIMIZER, NULL, 0), 1);
    char text[128];
    cv_space_region_format(s, &r, CV_P_OPTIMIZER, text, sizeof text);
    assert_string_equal(text, "{adam}");
    cv_space_region_format(s, &full, CV_P_LAYERS, text, sizeof text);
    assert_string_equal(text, "[1, 6]");
    assert_int_equal(cv_space_region_bounds(s, &r, CV_P_EPOCHS, &lo, &hi), -1);

    /* At the edges: clipped to the original bounds, never beyond. */
    best[0].learning_rate = best[1].learning_rate = best[2].learning_rate = 1e-5;
    best[0].dropout = 0.5;
    best[1].layers = 6;
    assert_int_equal(cv_space_zoom_best(s, &full, best, 3, &r, &err), 0);
    assert_true(r.lo[CV_P_LEARNING_RATE] == 0);
    assert_true(r.hi[CV_P_DROPOUT] == 1);
    assert_true(r.hi[CV_P_LAYERS] == 1);
    assert_int_equal(cv_space_region_bounds(s, &r, CV_P_LEARNING_RATE, &lo, &hi), 0);
    assert_true(lo == 1e-5);
    assert_region_holds(s, &r, best, 3);

    /* Ranking: the metric's direction, non-finite scores left out. */
    cv_config c[10];
    double score[10];
    for (int i = 0; i < 10; i++) {
        c[i] = best[2];
        c[i].learning_rate = pow(10, -4 + 0.4 * i);
        score[i] = NAN;
    }
    score[2] = 0.5;
    score[7] = 0.1; /* the lower loss: keep 0.1 of 10 is this one */
    assert_int_equal(cv_space_zoom(s, &full, c, score, 10, &r, &err), 0);
    assert_region_holds(s, &r, &c[7], 1);
    CHECK(cv_space_to_unit(s, CV_P_LEARNING_RATE, c[2].learning_rate) < r.lo[CV_P_LEARNING_RATE],
          "a worse trial is inside the region");
    /* No finite score: the region stays. */
    for (int i = 0; i < 10; i++)
        score[i] = INFINITY;
    assert_int_equal(cv_space_zoom(s, &r, c, score, 10, &full, &err), 0);
    assert_memory_equal(&full, &r, sizeof r);
    /* A configuration outside the space is refused. */
    best[0].optimizer = 7;
    cv_space_full_region(s, &full);
    assert_int_equal(cv_space_zoom_best(s, &full, best, 1, &r, &err), CV_ERR_INPUT);
    cv_space_free(s);
    cv_job_free(&job);

    /* dev_accuracy: the highest wins. */
    s = space_ok(&job, "zoom3.yaml",
                 "search: {keep: 0.5}\n"
                 "parameters:\n  dropout: {distribution: uniform, min: 0, max: 0.5}\n");
    cv_config d[4];
    double acc[4] = {0.9, 0.5, 0.95, 0.1};
    for (int i = 0; i < 4; i++) {
        d[i] = *cv_space_base(s);
        d[i].dropout = 0.1 * (i + 1);
    }
    cv_error_clear(&err);
    cv_space_full_region(s, &full);
    assert_int_equal(cv_space_zoom(s, &full, d, acc, 4, &r, &err), 0);
    assert_int_equal(cv_space_region_bounds(s, &r, CV_P_DROPOUT, &lo, &hi), 0);
    /* best two: dropout 0.1 and 0.3, plus 10% of the box (0.02) each side */
    CHECK(fabs(lo - 0.08) < 1e-12 && fabs(hi - 0.32) < 1e-12, "dropout region [%g, %g]", lo, hi);
    cv_space_free(s);
    cv_job_free(&job);
}

/* ---- bad specs ---------------------------------------------------------- */

static void test_bad_specs(void **state)
{
    (void)state;
    /* min >= max */
    space_fails("b1.yaml", "parameters:\n  learning_rate: {distribution: uniform, min: 0.5, max: 0.1}\n",
                2, "0.1}", "max must be greater than min");
    space_fails("b2.yaml", "parameters:\n  layers: {distribution: int_uniform, min: 3, max: 3}\n", 2,
                "3}", "max must be greater than min");
    /* log scales with min <= 0 */
    space_fails("b3.yaml", "parameters:\n  lr_decay: {distribution: log_uniform, min: 0, max: 1}\n",
                2, "0,", "min must be > 0 for log_uniform");
    space_fails("b4.yaml",
                "parameters:\n  weight_decay: {distribution: log_uniform, min: -1, max: 1}\n", 2,
                "-1", "weight_decay must be in [0, inf)");
    /* one_minus_log with max >= 1 or min < 0 (min 0 is fine: see
     * test_one_minus_log_uniform) */
    space_fails("b5.yaml",
                "parameters:\n  lr_decay: {distribution: one_minus_log_uniform, min: 0.5, max: 1}\n",
                2, "1}", "max must be < 1 for one_minus_log_uniform");
    space_fails("b6.yaml",
                "parameters:\n  beta2: {distribution: one_minus_log_uniform, min: 0.9, max: 1.5}\n",
                2, "1.5", "beta2 must be in [0, 1)");
    space_fails("b7.yaml",
                "parameters:\n  momentum: {distribution: one_minus_log_uniform, min: -0.1, max: 0.9}\n",
                2, "-0.1", "momentum must be in [0, 1)");
    /* int bounds that are not integers */
    space_fails("b8.yaml", "parameters:\n  layers: {distribution: int_uniform, min: 1.5, max: 4}\n",
                2, "1.5", "layers must be an integer");
    space_fails("b9.yaml",
                "parameters:\n  hidden_units: {distribution: log_int_uniform, min: 16, max: 100.5}\n",
                2, "100.5", "hidden_units must be an integer");
    /* empty values */
    space_fails("b10.yaml", "parameters:\n  hidden_units: {values: []}\n", 2, "[]",
                "values must not be empty");
    space_fails("b11.yaml", "parameters:\n  hidden_units: []\n", 2, "[]", "values must not be empty");
    /* unknown distribution, unknown parameter */
    space_fails("b12.yaml", "parameters:\n  dropout: {distribution: gaussian, min: 0, max: 0.5}\n",
                2, "gaussian", "unknown distribution 'gaussian'");
    space_fails("b13.yaml", "parameters:\n  epochs: 3\n  lerning_rate: 0.1\n", 3, "lerning_rate",
                "unknown key 'lerning_rate'");
    /* keep outside (0, 1], rounds < 1 */
    space_fails("b14.yaml", "search: {keep: 0}\n", 1, "0}", "search.keep must be a number in (0, 1]");
    space_fails("b15.yaml", "search:\n  keep: 1.5\n", 2, "1.5", "search.keep");
    space_fails("b16.yaml", "search: {rounds: 0}\n", 1, "0}", "search.rounds must be an integer");
    /* The space's own checks: the grid... */
    space_fails("b17.yaml",
                "search: {method: grid, trials: 10}\n"
                "parameters:\n  layers: [1, 2, 3]\n  optimizer: [sgd, adam]\n",
                1, "10}", "search.trials is 10 but the grid has 6 points (layers 3 x optimizer 2)");
    space_fails("b18.yaml",
                "search: {method: grid}\n"
                "parameters:\n  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n",
                3, "{", "learning_rate: the grid sampler needs 'points: N'");
    space_fails("b19.yaml",
                "search: {method: grid}\n"
                "parameters:\n  layers: {distribution: int_uniform, min: 1, max: 3, points: 4}\n",
                3, "{", "layers: 4 grid points on [1, 3] repeat integers");
    /* ...and constraints across parameters, at lr_decay when it is given. */
    space_fails("b20.yaml",
                "parameters:\n  lr_schedule: exponential\n"
                "  lr_decay: {distribution: uniform, min: 0, max: 0.5}\n",
                3, "{", "lr_schedule exponential needs lr_decay in (0, 1], but lr_decay can be 0");
    space_fails("b21.yaml", "parameters:\n  lr_schedule: [none, step]\n  lr_decay: [0.5, 2]\n", 3,
                "[", "lr_schedule step (searched) needs lr_decay in (0, 1], but lr_decay can be 2");
    space_fails("b22.yaml", "parameters:\n  lr_schedule: step\n", 2, "step",
                "lr_decay is 0 (its default); set lr_decay");
    space_fails("b23.yaml", "parameters:\n  lr_schedule: {values: [exponential]}\n  lr_decay: 1.5\n",
                3, "1.5", "but lr_decay is 1.5");

    /* The same spec with lr_decay in (0, 1] is fine. */
    cv_job job;
    cv_space *s = space_ok(&job, "ok1.yaml",
                           "parameters:\n  lr_schedule: [exponential, step]\n"
                           "  lr_decay: {distribution: log_uniform, min: 0.5, max: 1}\n");
    cv_space_free(s);
    cv_job_free(&job);

    /* A job assembled or edited in code gets the same checks, placed where
     * the job file gave the setting. */
    static const char text[] = "search:\n  keep: 0.5\n  rounds: 2\n  trials: 4\n"
                               "parameters:\n  dropout: {distribution: uniform, min: 0, max: 0.5}\n";
    const char *path = tu_write_text("code.yaml", text);
    cv_error err = {0};
    assert_int_equal(cv_job_load(&job, path, &err), 0);
    char want[600];
    job.search.keep = 0;
    assert_int_equal(cv_space_create(&s, &job, &err), CV_ERR_INPUT);
    snprintf(want, sizeof want, "%s:2:9: search.keep must be a number in (0, 1] (got 0)", path);
    assert_string_equal(err.msg, want);
    job.search.keep = 1.5;
    cv_error_clear(&err);
    assert_int_equal(cv_space_create(&s, &job, &err), CV_ERR_INPUT);
    snprintf(want, sizeof want, "%s:2:9: search.keep must be a number in (0, 1] (got 1.5)", path);
    assert_string_equal(err.msg, want);
    job.search.keep = 1;
    job.search.rounds = 0;
    cv_error_clear(&err);
    assert_int_equal(cv_space_create(&s, &job, &err), CV_ERR_INPUT);
    snprintf(want, sizeof want, "%s:3:11: search.rounds must be an integer in [1, 2147483647] (got 0)",
             path);
    assert_string_equal(err.msg, want);
    job.search.rounds = 1;
    job.params[CV_P_DROPOUT].max = 0;
    cv_error_clear(&err);
    assert_int_equal(cv_space_create(&s, &job, &err), CV_ERR_INPUT);
    snprintf(want, sizeof want, "%s:6:12: dropout: max must be greater than min", path);
    assert_true(strncmp(err.msg, want, strlen(want)) == 0);
    assert_null(s);
    cv_job_free(&job);
}

/* ---- advice ------------------------------------------------------------- */

typedef struct warnings {
    int n;
    char text[8][1024];
} warnings;

static void collect_warning(void *user, const char *msg)
{
    warnings *w = user;
    if (w->n < 8)
        snprintf(w->text[w->n], sizeof w->text[0], "%s", msg);
    w->n++;
}

static void test_advice(void **state)
{
    (void)state;
    cv_job job;
    warnings w = {0};
    static const char text[] = "search: {method: sobol, trials: 100, rounds: 2, keep: 0.01}\n"
                               "parameters:\n"
                               "  learning_rate: {distribution: uniform, min: 1.0e-5, max: 1}\n"
                               "  beta1: {distribution: uniform, min: 0.9, max: 0.999}\n"
                               "  beta2: {distribution: one_minus_log_uniform, min: 0.9, max: 0.9999}\n"
                               "  hidden_units: [64, 64, 128]\n"
                               "  dropout: {distribution: uniform, min: 0, max: 0.5, points: 3}\n";
    cv_space *s = space_ok(&job, "advice.yaml", text);
    assert_int_equal(cv_space_advise(s, collect_warning, &w), 6);
    const char *path = job.path;
    char want[700];
    snprintf(want, sizeof want, "%s:3:18: warning: learning_rate: uniform over [1.0e-5, 1] spans 5.0 "
             "decades on a linear scale, so 90%% of draws land in the top decade; consider "
             "distribution: log_uniform", path);
    assert_string_equal(w.text[0], want);
    snprintf(want, sizeof want, "%s:4:10: warning: beta1: uniform over [0.9, 0.999] puts only 9%% "
             "of draws above 0.99", path);
    assert_true(strncmp(w.text[1], want, strlen(want)) == 0);
    assert_non_null(strstr(w.text[1], "one_minus_log_uniform"));
    assert_non_null(strstr(w.text[2], "hidden_units: values repeat (3 listed, 2 distinct)"));
    assert_non_null(strstr(w.text[3], "dropout: points applies to method: grid only"));
    assert_non_null(strstr(w.text[4], ":1:33: warning: search.trials: sobol"));
    assert_non_null(strstr(w.text[4], "100 is between 64 and 128"));
    assert_non_null(strstr(w.text[5], "search.keep: one trial per round"));
    cv_space_free(s);
    cv_job_free(&job);

    /* The same search on the right scales: nothing to say. */
    w.n = 0;
    s = space_ok(&job, "advice2.yaml",
                 "search: {method: sobol, trials: 128, rounds: 2}\n"
                 "parameters:\n"
                 "  learning_rate: {distribution: log_uniform, min: 1.0e-5, max: 1}\n"
                 "  beta1: {distribution: one_minus_log_uniform, min: 0.9, max: 0.999}\n"
                 "  momentum: {distribution: uniform, min: 0.8, max: 0.95}\n"
                 "  dropout: {distribution: uniform, min: 0, max: 0.5}\n"
                 "  hidden_units: [64, 128]\n");
    assert_int_equal(cv_space_advise(s, collect_warning, &w), 0);
    cv_space_free(s);
    cv_job_free(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transforms),
        cmocka_unit_test(test_log_uniform),
        cmocka_unit_test(test_one_minus_log_uniform),
        cmocka_unit_test(test_integers_and_values),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_grid),
        cmocka_unit_test(test_sobol_nets),
        cmocka_unit_test(test_sobol_discrepancy),
        cmocka_unit_test(test_zoom),
        cmocka_unit_test(test_zoom_rules),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_advice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
