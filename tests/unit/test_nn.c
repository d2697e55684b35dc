/* test_nn.c: the batch-normalized MLP of caviar/nn.h against the math of
 * DESIGN.md ("Numerics of the network").
 *
 * Two independent yardsticks:
 *  - a reference network written here in double precision straight from the
 *    design (dense without bias -> BN with batch mean and biased variance ->
 *    activation, ..., dense with bias -> softmax cross-entropy, batch mean),
 *    differentiated by central differences in double (h = 1e-5, error ~1e-10),
 *    so the float analytic gradients are held to a tight relative tolerance;
 *  - central differences of the network's own float loss (h = 1e-2), which
 *    also cover what the reference cannot see (the dropout masks).
 * Every gradient check first asserts that the analytic gradient is not all
 * zero, so a backward pass that writes nothing cannot pass. The tolerances
 * were chosen by breaking single terms of the backward pass (e.g. dropping
 * x̂·mean(dỹ·x̂) from the BN backward) and checking that each mutation fails.
 *
 * Then: inverted dropout's scale, each optimizer's step against values
 * worked by hand, running statistics against a direct exponentially
 * weighted average, inference with running statistics, determinism, the
 * learning-rate schedules, the state round trip and the tensor table.
 *
 * One assumption beyond DESIGN.md: leaky ReLU's slope is 0.01 (the usual
 * default), built into the reference.
 *
 * Set CAVIAR_TEST_VERBOSE=1 to print the measured gradient errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caviar/config.h"
#include "caviar/nn.h"
#include "caviar/rng.h"
#include "testutil.h"

static bool verbose;

static const char *const act_names[] = {"relu", "leaky_relu", "tanh", "sigmoid"};

/* Every field of a configuration, spelled out (no dependence on the job
 * module's defaults): a small net, SGD, batch norm on. */
static cv_config test_config(int layers, cv_activation act, bool batch_norm)
{
    cv_config c;
    memset(&c, 0, sizeof c);
    c.learning_rate = 0.01;
    c.momentum = 0.9;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.epsilon = 1e-8;
    c.layers = layers;
    c.hidden_units = 4;
    c.batch_size = 6;
    c.lr_decay = 0.0;
    c.lr_schedule = CV_LR_NONE;
    c.epochs = 1;
    c.optimizer = CV_OPT_SGD;
    c.activation = act;
    c.batch_norm = batch_norm;
    c.bn_momentum = 0.9;
    c.bn_epsilon = 1e-3;
    c.weight_decay = 0.0;
    c.dropout = 0.0;
    c.init = CV_INIT_HE;
    c.patience = 0;
    return c;
}

static cv_nn *make_net(const cv_config *cfg, int inputs, int classes, int max_batch)
{
    cv_error err = {0};
    cv_nn *net = cv_nn_create(cfg, inputs, classes, max_batch, &err);
    CHECK(net != NULL, "cv_nn_create: %s", err.msg);
    return net;
}

/* The tensor called name; fails the test if there is none. */
static cv_tensor tensor_named(const cv_nn *net, const char *name)
{
    for (int i = 0; i < cv_nn_tensor_count(net); i++) {
        cv_tensor t = cv_nn_tensor(net, i);
        if (strcmp(t.name, name) == 0)
            return t;
    }
    fail_msg("no tensor named %s", name);
    return (cv_tensor){0};
}

static size_t tensor_size(const cv_tensor *t)
{
    return (size_t)t->dims[0] * (size_t)(t->rank == 2 ? t->dims[1] : 1);
}

/* Where a trainable tensor starts in the params (and grads) block. */
static size_t param_offset(cv_nn *net, const char *name)
{
    size_t n;
    const float *p = cv_nn_params(net, &n);
    cv_tensor t = tensor_named(net, name);
    CHECK(t.data >= p && t.data + tensor_size(&t) <= p + n, "%s is not in the params block", name);
    return (size_t)(t.data - p);
}

/* ---- test data ------------------------------------------------------------- */

/* X (B, d): normal features with per-feature offsets and scales (so that
 * batch statistics are far from 0 and 1), y in [0, C). */
static void make_batch(float *X, int32_t *y, int B, int d, int C, uint64_t seed)
{
    cv_rng r;
    cv_rng_seed(&r, seed);
    for (int i = 0; i < B; i++) {
        for (int j = 0; j < d; j++)
            X[i * d + j] = (float)(0.3 * (j - 2) + (0.5 + 0.25 * j) * cv_rng_normal(&r));
        y[i] = (int32_t)cv_rng_below(&r, (uint64_t)C);
    }
}

/* Draws the weights (He) and then moves gamma, beta and the output bias off
 * their initial 1, 0, 0, so that a backward pass that forgets gamma or a
 * bias is seen. */
static void randomize_params(cv_nn *net, uint64_t seed)
{
    cv_nn_init(net, seed);
    cv_rng r;
    cv_rng_seed(&r, seed ^ 0xabcdefULL);
    for (int i = 0; i < cv_nn_tensor_count(net); i++) {
        cv_tensor t = cv_nn_tensor(net, i);
        const char *leaf = strrchr(t.name, '/') + 1;
        for (size_t k = 0; k < tensor_size(&t); k++) {
            if (strcmp(leaf, "gamma") == 0)
                t.data[k] = (float)(0.6 + 0.8 * cv_rng_uniform(&r));
            else if (strcmp(leaf, "beta") == 0)
                t.data[k] = (float)(0.8 * cv_rng_uniform(&r) - 0.4);
            else if (strcmp(leaf, "b") == 0)
                t.data[k] = (float)(0.6 * cv_rng_uniform(&r) - 0.3);
        }
    }
}

/* ---- the reference network, in double -------------------------------------- */

enum { MAXB = 16, MAXW = 16, MAXL = 3, MAXC = 8 };

typedef struct ref {
    int inputs, H, C, L;
    cv_activation act;
    bool bn;
    double eps;
    size_t n; /* parameters */
    size_t W[MAXL], gamma[MAXL], beta[MAXL], Wout, bout; /* offsets into the params */
} ref;

typedef struct ref_out {
    double loss;     /* mean cross-entropy */
    int correct;     /* argmax == label */
    double margin;   /* the smallest |input of an activation| (distance to ReLU's kink) */
    uint64_t signs;  /* a hash of the signs of the activation inputs */
    double mean[MAXL][MAXW], var[MAXL][MAXW]; /* batch statistics (training mode) */
    double probs[MAXB][MAXC];
} ref_out;

static ref ref_of(cv_nn *net)
{
    const cv_config *cfg = cv_nn_config(net);
    ref r = {.inputs = cv_nn_inputs(net),
             .H = cfg->hidden_units,
             .C = cv_nn_classes(net),
             .L = cfg->layers,
             .act = cfg->activation,
             .bn = cfg->batch_norm,
             .eps = cfg->bn_epsilon};
    assert_true(r.L <= MAXL && r.H <= MAXW && r.inputs <= MAXW && r.C <= MAXC);
    cv_nn_params(net, &r.n);
    char name[32];
    for (int l = 0; l < r.L; l++) {
        snprintf(name, sizeof name, "layer_%d/W", l);
        r.W[l] = param_offset(net, name);
        snprintf(name, sizeof name, "layer_%d/gamma", l);
        r.gamma[l] = param_offset(net, name);
        snprintf(name, sizeof name, "layer_%d/beta", l);
        r.beta[l] = param_offset(net, name);
    }
    r.Wout = param_offset(net, "output/W");
    r.bout = param_offset(net, "output/b");
    return r;
}

static double ref_activation(double a, cv_activation f)
{
    switch (f) {
    case CV_ACT_RELU:
        return a > 0 ? a : 0.0;
    case CV_ACT_LEAKY_RELU:
        return a > 0 ? a : 0.01 * a; /* the customary slope */
    case CV_ACT_TANH:
        return tanh(a);
    case CV_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-a));
    }
    return NAN;
}

/* The forward pass over X (B, inputs) with parameters p (in the network's
 * layout). Training mode (batch statistics) when rmean is NULL, otherwise
 * inference with running statistics rmean/rvar (L, H). No dropout. */
static void ref_forward(const ref *r, const double *p, const float *X, const int32_t *y, int B,
                        const double (*rmean)[MAXW], const double (*rvar)[MAXW], ref_out *o)
{
    assert_true(B <= MAXB);
    double A[MAXB][MAXW], Z[MAXB][MAXW];
    int width = r->inputs;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < width; j++)
            A[i][j] = X[i * width + j];
    o->margin = INFINITY;
    o->signs = 1469598103934665603ULL;
    for (int l = 0; l < r->L; l++) {
        const double *W = p + r->W[l], *gamma = p + r->gamma[l], *beta = p + r->beta[l];
        for (int i = 0; i < B; i++)
            for (int j = 0; j < r->H; j++) {
                double s = 0.0;
                for (int k = 0; k < width; k++)
                    s += A[i][k] * W[k * r->H + j]; /* z = A W, W (in, out) */
                Z[i][j] = s;
            }
        for (int j = 0; j < r->H; j++) {
            double mu = 0.0, var = 0.0;
            for (int i = 0; i < B; i++)
                mu += Z[i][j];
            mu /= B;
            for (int i = 0; i < B; i++)
                var += (Z[i][j] - mu) * (Z[i][j] - mu);
            var /= B; /* biased */
            o->mean[l][j] = mu;
            o->var[l][j] = var;
            if (rmean != NULL)
                mu = rmean[l][j], var = rvar[l][j];
            for (int i = 0; i < B; i++) {
                double a;
                if (r->bn)
                    a = gamma[j] * (Z[i][j] - mu) / sqrt(var + r->eps) + beta[j];
                else
                    a = Z[i][j] + beta[j]; /* beta is the bias without BN */
                o->margin = fmin(o->margin, fabs(a));
                o->signs = (o->signs ^ (uint64_t)(a > 0)) * 1099511628211ULL;
                Z[i][j] = ref_activation(a, r->act);
            }
        }
        width = r->H;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < width; j++)
                A[i][j] = Z[i][j];
    }
    o->loss = 0.0;
    o->correct = 0;
    for (int i = 0; i < B; i++) {
        double logit[MAXC], mx = -INFINITY;
        int arg = 0;
        for (int c = 0; c < r->C; c++) {
            double s = p[r->bout + c];
            for (int k = 0; k < width; k++)
                s += A[i][k] * p[r->Wout + k * r->C + c];
            logit[c] = s;
            if (s > mx)
                mx = s, arg = c;
        }
        double sum = 0.0;
        for (int c = 0; c < r->C; c++)
            sum += exp(logit[c] - mx);
        for (int c = 0; c < r->C; c++)
            o->probs[i][c] = exp(logit[c] - mx) / sum;
        if (y != NULL) {
            o->loss += log(sum) - (logit[y[i]] - mx);
            o->correct += arg == y[i];
        }
    }
    o->loss /= B;
}

/* The network's parameters as doubles. */
static double *params_double(cv_nn *net)
{
    size_t n;
    const float *p = cv_nn_params(net, &n);
    double *d = malloc(n * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = p[i];
    return d;
}

/* ---- gradient checking ------------------------------------------------------- */

/* Compares the analytic gradient a with the numerical one num over the
 * trainable tensor called name:
 *   ||a - num||_2 <= rtol ||num||_2   and   |a_i - num_i| <= rtol max|num| + atol,
 * after asserting ||a||_2 > min_norm (a gradient that is all zero cannot pass).
 * With expect_zero, both must be exactly zero instead (gamma without BN). */
static double check_tensor(cv_nn *net, const char *ctx, const char *name, const float *a,
                           const double *num, double rtol, double atol, double min_norm,
                           bool expect_zero)
{
    size_t off = param_offset(net, name);
    cv_tensor t = tensor_named(net, name);
    size_t k = tensor_size(&t);
    double na = 0.0, nn = 0.0, nd = 0.0, mx = 0.0;
    for (size_t i = 0; i < k; i++) {
        double ai = a[off + i], ni = num[off + i];
        na += ai * ai;
        nn += ni * ni;
        nd += (ai - ni) * (ai - ni);
        mx = fmax(mx, fabs(ni));
    }
    na = sqrt(na), nn = sqrt(nn), nd = sqrt(nd);
    if (expect_zero) {
        CHECK(na == 0.0 && nn == 0.0, "%s: %s: gradient should be zero (analytic %g, numeric %g)",
              ctx, name, na, nn);
        return 0.0;
    }
    CHECK(na > min_norm, "%s: %s: analytic gradient is (nearly) all zero: |g| = %g", ctx, name,
          na);
    double rel = nd / nn;
    if (verbose)
        printf("    %-28s %-16s |g| %.3e  rel err %.2e (bound %.0e)\n", ctx, name, na, rel, rtol);
    CHECK(rel <= rtol, "%s: %s: relative error %.3e > %.1e (|analytic| %.4e, |numeric| %.4e)", ctx,
          name, rel, rtol, na, nn);
    for (size_t i = 0; i < k; i++) {
        double ai = a[off + i], ni = num[off + i];
        CHECK(fabs(ai - ni) <= rtol * mx + atol, "%s: %s[%zu]: analytic %.8g, numeric %.8g", ctx,
              name, i, ai, ni);
    }
    return rel;
}

/* Checks every trainable tensor of net. */
static void check_all_tensors(cv_nn *net, const char *ctx, const float *a, const double *num,
                              double rtol, double atol)
{
    const bool bn = cv_nn_config(net)->batch_norm;
    for (int i = 0; i < cv_nn_tensor_count(net); i++) {
        cv_tensor t = cv_nn_tensor(net, i);
        if (!t.trainable)
            continue;
        bool gamma = strstr(t.name, "/gamma") != NULL;
        check_tensor(net, ctx, t.name, a, num, rtol, atol, 1e-4, gamma && !bn);
    }
}

/* The network's training loss on one batch, dropout masks drawn from a
 * generator seeded with dropout_seed: the same seed, the same masks. */
static double net_loss(cv_nn *net, const float *X, const int32_t *y, int B, uint64_t dropout_seed)
{
    cv_rng rng;
    cv_rng_seed(&rng, dropout_seed);
    return cv_nn_forward_backward(net, X, y, B, &rng, NULL);
}

/* Central differences of the network's own float loss: num (n_params). */
static void float_fd(cv_nn *net, const float *X, const int32_t *y, int B, uint64_t dseed, double h,
                     double *num)
{
    size_t n;
    float *p = cv_nn_params(net, &n);
    for (size_t i = 0; i < n; i++) {
        const float p0 = p[i];
        const float up = (float)(p0 + h), down = (float)(p0 - h);
        p[i] = up;
        double lp = net_loss(net, X, y, B, dseed);
        p[i] = down;
        double lm = net_loss(net, X, y, B, dseed);
        p[i] = p0;
        num[i] = (lp - lm) / ((double)up - (double)down); /* the step actually taken */
    }
}

/* Central differences of the reference loss, in double: num (n_params).
 * Also asserts that no perturbation moves an activation input across 0,
 * where ReLU's derivative jumps. */
static void ref_fd(const ref *r, const double *p0, const float *X, const int32_t *y, int B,
                   double h, double *num)
{
    double *p = malloc(r->n * sizeof *p);
    assert_non_null(p);
    memcpy(p, p0, r->n * sizeof *p);
    ref_out base, o;
    ref_forward(r, p, X, y, B, NULL, NULL, &base);
    for (size_t i = 0; i < r->n; i++) {
        p[i] = p0[i] + h;
        ref_forward(r, p, X, y, B, NULL, NULL, &o);
        double lp = o.loss;
        CHECK(o.signs == base.signs, "parameter %zu + %g: an activation input crossed 0", i, h);
        p[i] = p0[i] - h;
        ref_forward(r, p, X, y, B, NULL, NULL, &o);
        CHECK(o.signs == base.signs, "parameter %zu - %g: an activation input crossed 0", i, h);
        num[i] = (lp - o.loss) / (2 * h);
        p[i] = p0[i];
    }
    free(p);
}

/* A batch whose activation inputs stay at least margin away from 0 (for
 * ReLU and leaky ReLU); data seeds are tried in a fixed order, so the
 * chosen batch is the same on every run. */
static void pick_batch(cv_nn *net, float *X, int32_t *y, int B, uint64_t seed, double margin)
{
    ref r = ref_of(net);
    double *p = params_double(net);
    for (int attempt = 0; attempt < 1000; attempt++) {
        make_batch(X, y, B, r.inputs, r.C, seed + (uint64_t)attempt);
        ref_out o;
        ref_forward(&r, p, X, y, B, NULL, NULL, &o);
        if (o.margin > margin) {
            free(p);
            return;
        }
    }
    free(p);
    fail_msg("no batch keeps the activation inputs %g away from 0", margin);
}

/* Tolerances (relative, over a tensor). The double reference gives
 * numerical gradients to ~1e-10, so its bound only absorbs float32 rounding
 * in the analytic gradient: measured errors are at most 4e-7. Differences of
 * the float loss with h = 1e-2 carry ~1e-5 of rounding and up to ~1e-3 of
 * truncation (measured at most 9e-4). What one wrong term costs, measured on
 * the float differences alone: dropping x̂·mean(dỹ·x̂) 0.5 to 1.4, dividing
 * the BN means by B + 1 0.04 to 0.2, a leaky-ReLU backward slope of 0
 * instead of 0.01: 1e-2. */
#define REF_RTOL 1e-5
#define REF_ATOL 1e-7
#define FLT_RTOL 3e-3
#define FLT_ATOL 2e-5
#define FLT_H 1e-2

/* One full check of a net: its loss and accuracy against the reference, its
 * gradients against both kinds of differences. */
static void check_gradients(const cv_config *cfg, int B, int max_batch, uint64_t seed)
{
    enum { IN = 5, C = 3 };
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s L=%d bn=%d B=%d", act_names[cfg->activation], cfg->layers,
             cfg->batch_norm, B);
    cv_nn *net = make_net(cfg, IN, C, max_batch);
    randomize_params(net, seed);
    float X[MAXB * IN];
    int32_t y[MAXB];
    bool kinked = cfg->activation == CV_ACT_RELU || cfg->activation == CV_ACT_LEAKY_RELU;
    /* h = 1e-2 moves an activation input by up to ~0.05 here. */
    pick_batch(net, X, y, B, seed * 1000, kinked ? 0.1 : 0.0);

    size_t n;
    cv_nn_params(net, &n);
    float *grad = malloc(n * sizeof *grad);
    double *num = malloc(n * sizeof *num);
    assert_true(grad != NULL && num != NULL);

    int correct = -1;
    double loss = cv_nn_forward_backward(net, X, y, B, NULL, &correct);
    memcpy(grad, cv_nn_grads(net, &n), n * sizeof *grad);

    /* The loss is the batch mean cross-entropy of the design's forward pass. */
    ref r = ref_of(net);
    double *p = params_double(net);
    ref_out o;
    ref_forward(&r, p, X, y, B, NULL, NULL, &o);
    CHECK(fabs(loss - o.loss) <= 1e-5 * o.loss, "%s: loss %.9g, reference %.9g", ctx, loss,
          o.loss);
    CHECK(correct == o.correct, "%s: %d correct, reference %d", ctx, correct, o.correct);

    ref_fd(&r, p, X, y, B, 1e-5, num);
    check_all_tensors(net, ctx, grad, num, REF_RTOL, REF_ATOL);

    /* For ReLU, make sure no step of FLT_H crosses a kink (ref_fd asserts
     * it; its differences are not used). */
    if (kinked)
        ref_fd(&r, p, X, y, B, FLT_H, num);
    float_fd(net, X, y, B, 0, FLT_H, num);
    check_all_tensors(net, ctx, grad, num, FLT_RTOL, FLT_ATOL);

    free(p);
    free(num);
    free(grad);
    cv_nn_free(net);
}

static void test_gradients_batchnorm(void **state)
{
    (void)state;
    /* Every activation, 1 and 2 hidden layers; batches of 6 in a net sized
     * for 8 (statistics over B, not max_batch) and full batches of 8. */
    for (int act = 0; act < 4; act++)
        for (int L = 1; L <= 2; L++) {
            cv_config cfg = test_config(L, (cv_activation)act, true);
            check_gradients(&cfg, 6, 8, 10 + 2 * act + L);
            check_gradients(&cfg, 8, 8, 20 + 2 * act + L);
        }
}

static void test_gradients_no_batchnorm(void **state)
{
    (void)state;
    /* beta is the layer's bias; gamma is unused and gets a zero gradient. */
    for (int act = 0; act < 4; act++)
        for (int L = 1; L <= 2; L++) {
            cv_config cfg = test_config(L, (cv_activation)act, false);
            check_gradients(&cfg, 6, 8, 30 + 2 * act + L);
        }
}

static void test_gradients_wide_epsilon(void **state)
{
    (void)state;
    /* A large bn_epsilon: forward and backward must use the same
     * 1/sqrt(var + eps), or the difference shows. */
    cv_config cfg = test_config(2, CV_ACT_TANH, true);
    cfg.bn_epsilon = 0.5;
    check_gradients(&cfg, 6, 8, 41);
}

static void test_gradients_dropout(void **state)
{
    (void)state;
    /* Dropout 0.3: the masks come from the generator, re-seeded identically
     * before each pass, so the loss is a fixed function of the parameters.
     * Smooth activations only: the masks are not visible from outside, so
     * nothing keeps ReLU's kinks out of reach of the step h (ReLU with
     * dropout did cross one at h = 1e-2); the mask's part of the backward
     * pass does not depend on the activation. */
    enum { IN = 5, C = 3, B = 8 };
    for (int bn = 0; bn <= 1; bn++)
        for (int act = CV_ACT_TANH; act <= CV_ACT_SIGMOID; act++) {
            cv_config cfg = test_config(2, (cv_activation)act, bn);
            cfg.dropout = 0.3;
            char ctx[64];
            snprintf(ctx, sizeof ctx, "dropout %s bn=%d", act_names[act], bn);
            cv_nn *net = make_net(&cfg, IN, C, B);
            randomize_params(net, 50 + (uint64_t)bn);
            float X[B * IN];
            int32_t y[B];
            pick_batch(net, X, y, B, 5000 + (uint64_t)(10 * bn + act), 0.0);
            const uint64_t dseed = 77;
            size_t n;
            cv_nn_params(net, &n);
            float *grad = malloc(n * sizeof *grad);
            double *num = malloc(n * sizeof *num);
            assert_true(grad != NULL && num != NULL);
            double loss = net_loss(net, X, y, B, dseed);
            memcpy(grad, cv_nn_grads(net, &n), n * sizeof *grad);

            /* The masks matter: another seed, another loss; the same seed,
             * the same loss to the bit. */
            CHECK(net_loss(net, X, y, B, dseed) == loss, "%s: same masks, different loss", ctx);
            CHECK(net_loss(net, X, y, B, dseed + 1) != loss, "%s: dropout had no effect", ctx);
            /* Without dropout the reference loss differs too. */
            ref r = ref_of(net);
            double *p = params_double(net);
            ref_out o;
            ref_forward(&r, p, X, y, B, NULL, NULL, &o);
            CHECK(fabs(o.loss - loss) > 1e-4, "%s: dropout did not change the loss", ctx);
            free(p);

            float_fd(net, X, y, B, dseed, FLT_H, num);
            check_all_tensors(net, ctx, grad, num, FLT_RTOL, FLT_ATOL);
            free(num);
            free(grad);
            cv_nn_free(net);
        }
}

static void test_dropout_is_inverted(void **state)
{
    (void)state;
    /* Inverted dropout keeps a unit with probability 1 - p and scales it by
     * 1/(1 - p), so the expected layer output is the activation itself. (A
     * wrong rate or scale is consistent with its own backward pass, so the
     * gradient checks cannot see it.) With the output W and b at zero the
     * logits are 0 whatever the masks, dlogits = (1/C - onehot(y)) / B exactly,
     * and with every label 0, dW_out[h][0] = (1/C - 1)/B * sum_i out[i][h]:
     * the gradient reveals the summed dropped-out activations. Sigmoid keeps
     * every activation positive; B * H = 2048 units, so the ratio to the
     * summed activations is 1 with a standard error of 1.4% (p = 0.3) to
     * 2.2% (p = 0.5); allow 8%. */
    enum { IN = 5, C = 3, H = 32, B = 64 };
    const double rates[3] = {0.3, 0.5, 0.0};
    for (int k = 0; k < 3; k++) {
        cv_config cfg = test_config(1, CV_ACT_SIGMOID, false);
        cfg.hidden_units = H;
        cfg.dropout = rates[k];
        cv_nn *net = make_net(&cfg, IN, C, B);
        randomize_params(net, 80);
        cv_tensor Wout = tensor_named(net, "output/W"), bout = tensor_named(net, "output/b");
        memset(Wout.data, 0, tensor_size(&Wout) * sizeof(float));
        memset(bout.data, 0, tensor_size(&bout) * sizeof(float));
        float X[B * IN];
        int32_t y[B];
        make_batch(X, y, B, IN, C, 81);
        for (int i = 0; i < B; i++)
            y[i] = 0;
        double loss = net_loss(net, X, y, B, 82);
        CHECK(fabs(loss - log((double)C)) < 1e-6, "zero logits: loss %.9g, expected ln %d", loss, C);

        /* The summed activations, directly: sigmoid(X W + beta). */
        const float *W = tensor_named(net, "layer_0/W").data;
        const float *beta = tensor_named(net, "layer_0/beta").data;
        double act_sum = 0.0;
        for (int i = 0; i < B; i++)
            for (int h = 0; h < H; h++) {
                double z = beta[h];
                for (int q = 0; q < IN; q++)
                    z += (double)X[i * IN + q] * W[q * H + h];
                act_sum += 1.0 / (1.0 + exp(-z));
            }
        size_t n;
        const float *g = cv_nn_grads(net, &n);
        const size_t off = param_offset(net, "output/W");
        double out_sum = 0.0;
        int zero_columns = 0;
        for (int h = 0; h < H; h++) {
            double col = g[off + (size_t)h * C] / ((1.0 / C - 1.0) / B);
            out_sum += col;
            zero_columns += col == 0.0;
        }
        double ratio = out_sum / act_sum;
        if (verbose)
            printf("    dropout %.1f: kept/expected %.4f\n", rates[k], ratio);
        if (rates[k] == 0.0)
            CHECK(fabs(ratio - 1.0) < 1e-5, "no dropout: ratio %.7f", ratio);
        else
            CHECK(fabs(ratio - 1.0) < 0.08,
                  "dropout %.1f: kept units sum to %.4f of the activations (expected 1: "
                  "keep with 1 - p, scale by 1/(1 - p))", rates[k], ratio);
        /* A unit dropped for the whole batch has probability p^64: never. */
        CHECK(zero_columns == 0, "%d units dropped for every example", zero_columns);
        cv_nn_free(net);
    }
}

/* ---- optimizers ---------------------------------------------------------------- */

/* The expected value of every parameter after the optimizer's steps, in
 * double, from the update rules of the design (weight decay on the weight
 * matrices only). */
typedef struct opt_state {
    double p, m, v;
} opt_state;

static void ref_step(opt_state *s, double g, const cv_config *c, double lr, bool is_weight, int t)
{
    if (is_weight)
        g += c->weight_decay * s->p;
    switch (c->optimizer) {
    case CV_OPT_SGD:
        s->p -= lr * g;
        break;
    case CV_OPT_MOMENTUM:
        s->m = c->momentum * s->m + (1 - c->momentum) * g;
        s->p -= lr * s->m;
        break;
    case CV_OPT_RMSPROP:
        s->v = c->momentum * s->v + (1 - c->momentum) * g * g;
        s->p -= lr * g / (sqrt(s->v) + c->epsilon);
        break;
    case CV_OPT_ADAM:
        s->m = c->beta1 * s->m + (1 - c->beta1) * g;
        s->v = c->beta2 * s->v + (1 - c->beta2) * g * g;
        s->p -= lr * (s->m / (1 - pow(c->beta1, t))) / (sqrt(s->v / (1 - pow(c->beta2, t))) + c->epsilon);
        break;
    }
}

static void test_optimizers(void **state)
{
    (void)state;
    static const char *const opt_names[] = {"sgd", "momentum", "rmsprop", "adam"};
    /* Hand-worked values for one weight (p = 0.5; gradients 0.2 then -0.1;
     * lr 0.1; weight decay 0.1, so the first effective gradient is 0.25) and
     * for one gamma (p = 1.2; gradients 0.3 then -0.1; no decay), after one
     * and two steps. E.g. momentum: v1 = 0.1 * 0.25 = 0.025, p1 = 0.5 - 0.0025;
     * Adam: m̂1 = g, v̂1 = g², so p1 = 0.5 - 0.1 * sign(g) = 0.4. */
    static const double hand_W[4][2] = {
        {0.475, 0.48025},                           /* sgd */
        {0.4975, 0.4957525},                        /* momentum, beta 0.9 */
        {0.18377227398315693, 0.2866789585135022},  /* rmsprop, beta 0.9 */
        {0.4000000039999998, 0.3522205254389129},   /* adam 0.9, 0.999 */
    };
    static const double hand_gamma_adam[2] = {1.1000000033333333, 1.0599781479280808};

    for (int opt = 0; opt < 4; opt++)
        for (int decay = 0; decay <= 1; decay++) {
            cv_config cfg = test_config(2, CV_ACT_TANH, true);
            cfg.optimizer = (cv_optimizer)opt;
            cfg.weight_decay = decay ? 0.1 : 0.0;
            cv_nn *net = make_net(&cfg, 3, 2, 4);
            cv_nn_init(net, 1);
            size_t n, ng;
            float *p = cv_nn_params(net, &n);
            float *g = cv_nn_grads(net, &ng);
            assert_int_equal(n, ng);

            /* Which entries are weight matrices, by name. */
            bool *is_w = calloc(n, sizeof *is_w);
            opt_state *s = calloc(n, sizeof *s);
            assert_true(is_w != NULL && s != NULL);
            for (int i = 0; i < cv_nn_tensor_count(net); i++) {
                cv_tensor t = cv_nn_tensor(net, i);
                if (t.trainable && strcmp(strrchr(t.name, '/'), "/W") == 0)
                    for (size_t k = 0; k < tensor_size(&t); k++)
                        is_w[(size_t)(t.data - p) + k] = true;
            }
            for (size_t i = 0; i < n; i++) {
                p[i] = (float)(0.1 * (double)(i % 7) - 0.3);
                s[i].p = p[i];
            }
            const size_t w0 = param_offset(net, "layer_0/W");
            const size_t g1 = param_offset(net, "layer_1/gamma");
            p[w0] = 0.5f, s[w0].p = p[w0];
            p[g1] = 1.2f, s[g1].p = p[g1];

            for (int t = 1; t <= 2; t++) {
                for (size_t i = 0; i < n; i++)
                    g[i] = (float)(0.05 * (double)((i * 3 + (size_t)t) % 5) - 0.1);
                g[w0] = t == 1 ? 0.2f : -0.1f;
                g[g1] = t == 1 ? 0.3f : -0.1f;
                for (size_t i = 0; i < n; i++)
                    ref_step(&s[i], g[i], &cfg, 0.1, is_w[i], t);
                cv_nn_update(net, 0.1);
                CHECK(cv_nn_steps(net) == t, "%s: step count %lld after %d updates",
                      opt_names[opt], (long long)cv_nn_steps(net), t);
                for (size_t i = 0; i < n; i++)
                    CHECK(fabs(p[i] - s[i].p) <= 2e-6 * fmax(1.0, fabs(s[i].p)),
                          "%s decay=%d step %d: param %zu (%s) is %.9g, expected %.9g",
                          opt_names[opt], decay, t, i, is_w[i] ? "weight" : "not a weight",
                          p[i], s[i].p);
                if (decay) {
                    CHECK(fabs(p[w0] - hand_W[opt][t - 1]) < 2e-6,
                          "%s step %d: weight %.9g, by hand %.9g", opt_names[opt], t, p[w0],
                          hand_W[opt][t - 1]);
                    if (opt == CV_OPT_ADAM)
                        CHECK(fabs(p[g1] - hand_gamma_adam[t - 1]) < 2e-6,
                              "adam step %d: gamma %.9g, by hand %.9g (no weight decay on gamma)",
                              t, p[g1], hand_gamma_adam[t - 1]);
                    if (opt == CV_OPT_SGD)
                        CHECK(fabs(p[g1] - (t == 1 ? 1.17 : 1.18)) < 2e-6,
                              "sgd step %d: gamma %.9g (no weight decay on gamma)", t, p[g1]);
                }
            }
            /* The moments live in the tensors' m and v views. */
            if (opt != CV_OPT_SGD) {
                cv_tensor t = tensor_named(net, "layer_0/W");
                float mom = opt == CV_OPT_RMSPROP ? t.v[0] : t.m[0];
                double want = opt == CV_OPT_RMSPROP ? s[w0].v : s[w0].m;
                CHECK(fabs(mom - want) <= 1e-6 * fmax(1.0, fabs(want)),
                      "%s: layer_0/W moment %.9g, expected %.9g", opt_names[opt], mom, want);
            }
            free(s);
            free(is_w);
            cv_nn_free(net);
        }
}

/* ---- running statistics and inference ------------------------------------------- */

static void test_running_statistics(void **state)
{
    (void)state;
    /* Batches of different sizes, parameters updated between them (so W
     * changes): running = m running + (1 - m) batch, with the biased batch
     * variance, for layer 0 from X W directly and for layer 1 from the
     * reference forward pass. */
    enum { IN = 5, C = 3, H = 4 };
    cv_config cfg = test_config(2, CV_ACT_TANH, true);
    cfg.bn_momentum = 0.8;
    cv_nn *net = make_net(&cfg, IN, C, 8);
    randomize_params(net, 3);
    const double m = cfg.bn_momentum;
    double rmean[2][H], rvar[2][H];
    for (int l = 0; l < 2; l++)
        for (int j = 0; j < H; j++)
            rmean[l][j] = 0.0, rvar[l][j] = 1.0;
    const int sizes[5] = {8, 6, 8, 5, 7};
    ref r = ref_of(net);
    for (int k = 0; k < 5; k++) {
        const int B = sizes[k];
        float X[8 * IN];
        int32_t y[8];
        make_batch(X, y, B, IN, C, 300 + (uint64_t)k);
        /* Layer 0's batch statistics from z = X W (W is (IN, H)). */
        const float *W = tensor_named(net, "layer_0/W").data;
        for (int j = 0; j < H; j++) {
            double z[8], mu = 0.0, var = 0.0;
            for (int i = 0; i < B; i++) {
                z[i] = 0.0;
                for (int q = 0; q < IN; q++)
                    z[i] += (double)X[i * IN + q] * W[q * H + j];
                mu += z[i];
            }
            mu /= B;
            for (int i = 0; i < B; i++)
                var += (z[i] - mu) * (z[i] - mu);
            var /= B;
            rmean[0][j] = m * rmean[0][j] + (1 - m) * mu;
            rvar[0][j] = m * rvar[0][j] + (1 - m) * var;
        }
        /* Layer 1's from the reference. */
        double *p = params_double(net);
        ref_out o;
        ref_forward(&r, p, X, y, B, NULL, NULL, &o);
        free(p);
        for (int j = 0; j < H; j++) {
            rmean[1][j] = m * rmean[1][j] + (1 - m) * o.mean[1][j];
            rvar[1][j] = m * rvar[1][j] + (1 - m) * o.var[1][j];
        }
        cv_nn_forward_backward(net, X, y, B, NULL, NULL);
        cv_nn_update(net, 0.5);

        for (int l = 0; l < 2; l++) {
            char name[2][32];
            snprintf(name[0], sizeof name[0], "layer_%d/running_mean", l);
            snprintf(name[1], sizeof name[1], "layer_%d/running_var", l);
            const float *mean = tensor_named(net, name[0]).data;
            const float *var = tensor_named(net, name[1]).data;
            for (int j = 0; j < H; j++) {
                CHECK(fabs(mean[j] - rmean[l][j]) <= 1e-5 * fmax(1.0, fabs(rmean[l][j])),
                      "after batch %d: %s[%d] = %.8g, expected %.8g", k, name[0], j, mean[j],
                      rmean[l][j]);
                CHECK(fabs(var[j] - rvar[l][j]) <= 1e-5 * fmax(1.0, rvar[l][j]),
                      "after batch %d: %s[%d] = %.8g, expected %.8g (biased variance)", k,
                      name[1], j, var[j], rvar[l][j]);
            }
        }
    }
    /* The statistics moved away from their initial 0 and 1. */
    CHECK(fabs(rmean[0][0]) > 1e-3 && fabs(rvar[0][0] - 1.0) > 1e-3, "statistics did not move");
    cv_nn_free(net);
}

static void test_inference_uses_running_statistics(void **state)
{
    (void)state;
    enum { IN = 5, C = 3, H = 4, N = 11 };
    for (int act = 0; act < 4; act++)
        for (int drop = 0; drop <= 1; drop++) {
            cv_config cfg = test_config(2, (cv_activation)act, true);
            cfg.dropout = drop ? 0.5 : 0.0; /* inference never drops */
            cv_nn *net = make_net(&cfg, IN, C, 4); /* chunks of 4, 4, 3 */
            randomize_params(net, 60 + (uint64_t)act);
            /* Running statistics set by hand, unlike the batch's. */
            double rmean[MAXL][MAXW], rvar[MAXL][MAXW];
            for (int l = 0; l < 2; l++) {
                char name[32];
                snprintf(name, sizeof name, "layer_%d/running_mean", l);
                float *mean = tensor_named(net, name).data;
                snprintf(name, sizeof name, "layer_%d/running_var", l);
                float *var = tensor_named(net, name).data;
                for (int j = 0; j < H; j++) {
                    mean[j] = (float)(0.3 * (j - 1.5) + 0.2 * l);
                    var[j] = (float)(0.5 + 0.4 * j);
                    rmean[l][j] = mean[j], rvar[l][j] = var[j];
                }
            }
            float X[N * IN];
            int32_t y[N];
            make_batch(X, y, N, IN, C, 700 + (uint64_t)act);

            size_t sz = cv_nn_state_size(net);
            float *before = malloc(sz * sizeof *before), *after = malloc(sz * sizeof *after);
            assert_true(before != NULL && after != NULL);
            cv_nn_state_save(net, before);

            float probs[N * C];
            double loss_sum = 0.0;
            int64_t correct = 0;
            cv_nn_evaluate(net, X, y, N, &loss_sum, &correct, probs);

            ref r = ref_of(net);
            double *p = params_double(net);
            ref_out inf, bat;
            ref_forward(&r, p, X, y, N, (const double(*)[MAXW])rmean,
                        (const double(*)[MAXW])rvar, &inf);
            ref_forward(&r, p, X, y, N, NULL, NULL, &bat);
            double diff_batch = 0.0;
            for (int i = 0; i < N; i++)
                for (int c = 0; c < C; c++) {
                    CHECK(fabs(probs[i * C + c] - inf.probs[i][c]) < 2e-6,
                          "%s dropout=%d: prob[%d][%d] = %.8g, running-stat reference %.8g",
                          act_names[act], drop, i, c, probs[i * C + c], inf.probs[i][c]);
                    diff_batch = fmax(diff_batch, fabs(probs[i * C + c] - bat.probs[i][c]));
                }
            CHECK(diff_batch > 0.02,
                  "%s: inference output is within %.3g of the batch-statistics output", act_names[act],
                  diff_batch);
            /* loss_sum is the summed cross-entropy; correct the argmax count. */
            CHECK(fabs(loss_sum - N * inf.loss) < 1e-5 * N, "loss_sum %.8g, expected %.8g",
                  loss_sum, N * inf.loss);
            CHECK(correct == inf.correct, "correct %lld, expected %d", (long long)correct,
                  inf.correct);
            /* Both accumulate. */
            cv_nn_evaluate(net, X, y, N, &loss_sum, &correct, NULL);
            CHECK(fabs(loss_sum - 2 * N * inf.loss) < 2e-5 * N && correct == 2 * inf.correct,
                  "evaluate does not accumulate");
            /* One example at a time, without labels: the same probabilities. */
            for (int i = 0; i < N; i++) {
                float one[C];
                cv_nn_evaluate(net, X + i * IN, NULL, 1, NULL, NULL, one);
                for (int c = 0; c < C; c++)
                    CHECK(fabs(one[c] - probs[i * C + c]) < 1e-6,
                          "example %d alone: prob %.8g, in a batch %.8g", i, one[c],
                          probs[i * C + c]);
            }
            /* Evaluation changes no state (running statistics included). */
            cv_nn_state_save(net, after);
            CHECK(memcmp(before, after, sz * sizeof *before) == 0, "evaluate changed the state");
            free(p);
            free(before);
            free(after);
            cv_nn_free(net);
        }
}

static void test_inference_without_batchnorm(void **state)
{
    (void)state;
    /* Without BN inference is the training forward pass: the probabilities
     * match the reference regardless of the running statistics. */
    enum { IN = 5, C = 3, N = 7 };
    cv_config cfg = test_config(2, CV_ACT_SIGMOID, false);
    cv_nn *net = make_net(&cfg, IN, C, 8);
    randomize_params(net, 70);
    float X[N * IN];
    int32_t y[N];
    make_batch(X, y, N, IN, C, 71);
    float probs[N * C];
    cv_nn_evaluate(net, X, y, N, NULL, NULL, probs);
    ref r = ref_of(net);
    double *p = params_double(net);
    ref_out o;
    ref_forward(&r, p, X, y, N, NULL, NULL, &o);
    for (int i = 0; i < N * C; i++)
        CHECK(fabs(probs[i] - o.probs[i / C][i % C]) < 2e-6, "prob %d: %.8g vs %.8g", i, probs[i],
              o.probs[i / C][i % C]);
    free(p);
    cv_nn_free(net);
}

/* ---- determinism, schedules, state, tensors ------------------------------------ */

/* An epoch of Adam updates over 20 batches with dropout, masks from dseed. */
static void train_epoch(cv_nn *net, uint64_t dseed)
{
    enum { IN = 5, C = 3, B = 8 };
    cv_rng rng;
    cv_rng_seed(&rng, dseed);
    for (int k = 0; k < 20; k++) {
        float X[B * IN];
        int32_t y[B];
        make_batch(X, y, B, IN, C, 900 + (uint64_t)k);
        double loss = cv_nn_forward_backward(net, X, y, B, &rng, NULL);
        CHECK(isfinite(loss), "loss %g at batch %d", loss, k);
        cv_nn_update(net, 0.01);
    }
}

static cv_config determinism_config(void)
{
    cv_config cfg = test_config(2, CV_ACT_RELU, true);
    cfg.hidden_units = 8;
    cfg.optimizer = CV_OPT_ADAM;
    cfg.dropout = 0.2;
    cfg.weight_decay = 1e-3;
    return cfg;
}

static bool same_state(const cv_nn *a, const cv_nn *b)
{
    size_t n = cv_nn_state_size(a);
    assert_int_equal(n, cv_nn_state_size(b));
    float *sa = malloc(n * sizeof *sa), *sb = malloc(n * sizeof *sb);
    assert_true(sa != NULL && sb != NULL);
    cv_nn_state_save(a, sa);
    cv_nn_state_save(b, sb);
    bool same = memcmp(sa, sb, n * sizeof *sa) == 0;
    free(sa);
    free(sb);
    return same;
}

static void test_determinism(void **state)
{
    (void)state;
    cv_config cfg = determinism_config();
    cv_nn *a = make_net(&cfg, 5, 3, 8), *b = make_net(&cfg, 5, 3, 8);
    cv_nn *c = make_net(&cfg, 5, 3, 8), *d = make_net(&cfg, 5, 3, 8);
    cv_nn_init(a, 7);
    cv_nn_init(b, 7);
    cv_nn_init(c, 8);
    cv_nn_init(d, 7);
    CHECK(same_state(a, b), "same seed, different initial state");
    CHECK(!same_state(a, c), "seeds 7 and 8 give the same initial state");
    train_epoch(a, 99);
    train_epoch(b, 99);
    train_epoch(c, 99);
    train_epoch(d, 100);
    size_t n;
    const float *pa = cv_nn_params(a, &n), *pb = cv_nn_params(b, &n);
    CHECK(memcmp(pa, pb, n * sizeof *pa) == 0, "same seeds, parameters differ after an epoch");
    CHECK(same_state(a, b), "same seeds, state differs after an epoch");
    CHECK(!same_state(a, c), "different init seeds, same parameters after an epoch");
    CHECK(!same_state(a, d), "different dropout seeds, same parameters after an epoch");
    cv_nn_free(a);
    cv_nn_free(b);
    cv_nn_free(c);
    cv_nn_free(d);
}

static void test_lr_schedules(void **state)
{
    (void)state;
    cv_config cfg = test_config(1, CV_ACT_RELU, true);
    cfg.learning_rate = 0.1;
    cfg.lr_decay = 0.5;
    struct {
        cv_lr_schedule s;
        int epoch;
        double lr;
    } cases[] = {
        {CV_LR_NONE, 0, 0.1},          {CV_LR_NONE, 3, 0.1},
        {CV_LR_NONE, 100, 0.1},        {CV_LR_INVERSE_TIME, 0, 0.1},
        {CV_LR_INVERSE_TIME, 1, 0.1 / 1.5}, {CV_LR_INVERSE_TIME, 2, 0.05},
        {CV_LR_INVERSE_TIME, 6, 0.025}, {CV_LR_EXPONENTIAL, 0, 0.1},
        {CV_LR_EXPONENTIAL, 1, 0.05},  {CV_LR_EXPONENTIAL, 3, 0.0125},
        {CV_LR_STEP, 0, 0.1},          {CV_LR_STEP, CV_LR_STEP_EPOCHS - 1, 0.1},
        {CV_LR_STEP, CV_LR_STEP_EPOCHS, 0.05}, {CV_LR_STEP, 2 * CV_LR_STEP_EPOCHS - 1, 0.05},
        {CV_LR_STEP, 2 * CV_LR_STEP_EPOCHS, 0.025}, {CV_LR_STEP, 3 * CV_LR_STEP_EPOCHS, 0.0125},
    };
    CHECK(CV_LR_STEP_EPOCHS == 5, "the step schedule's period is %d epochs", CV_LR_STEP_EPOCHS);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg.lr_schedule = cases[i].s;
        double lr = cv_lr_at(&cfg, cases[i].epoch);
        CHECK(fabs(lr - cases[i].lr) <= 1e-15, "schedule %d, epoch %d: %.17g, expected %.17g",
              (int)cases[i].s, cases[i].epoch, lr, cases[i].lr);
    }
    /* inverse_time with lr_decay 0 (the default) is constant. */
    cfg.lr_decay = 0.0;
    cfg.lr_schedule = CV_LR_INVERSE_TIME;
    CHECK(cv_lr_at(&cfg, 9) == 0.1, "inverse_time with decay 0");
}

static void test_state_round_trip(void **state)
{
    (void)state;
    cv_config cfg = determinism_config();
    cv_nn *a = make_net(&cfg, 5, 3, 8), *b = make_net(&cfg, 5, 3, 8);
    cv_nn_init(a, 5);
    cv_nn_init(b, 6);
    train_epoch(a, 1); /* 20 Adam steps: moments and statistics are nonzero */
    CHECK(cv_nn_steps(a) == 20, "steps %lld after 20 updates", (long long)cv_nn_steps(a));
    const size_t n = cv_nn_state_size(a);
    float *saved = malloc(n * sizeof *saved);
    float *again = malloc(n * sizeof *again);
    assert_true(saved != NULL && again != NULL);
    cv_nn_state_save(a, saved);

    /* Continue a for another epoch; then restore the saved state into b and
     * run the same epoch: the same parameters to the bit (Adam's bias
     * correction depends on the restored step count). */
    train_epoch(a, 2);
    cv_nn_state_load(b, saved);
    CHECK(cv_nn_steps(b) == 20, "loaded step count %lld", (long long)cv_nn_steps(b));
    cv_nn_state_save(b, again);
    CHECK(memcmp(saved, again, n * sizeof *saved) == 0, "save(load(s)) != s");
    train_epoch(b, 2);
    CHECK(same_state(a, b), "a restored state does not continue exactly");
    CHECK(cv_nn_steps(b) == 40, "steps %lld", (long long)cv_nn_steps(b));

    /* The moments are part of the state: zeroing them changes what follows. */
    cv_nn_state_load(b, saved);
    cv_tensor t = tensor_named(b, "output/W");
    CHECK(t.m != NULL && t.v != NULL && t.m[0] != 0.0f && t.v[0] != 0.0f,
          "Adam's moments were not restored");
    t.m[0] = 0.0f;
    train_epoch(b, 2);
    CHECK(!same_state(a, b), "the first moment is not used");

    /* Step counts beyond 32 bits survive. */
    const int64_t big = ((int64_t)1 << 40) + 3;
    cv_nn_set_steps(b, big);
    cv_nn_state_save(b, again);
    cv_nn_set_steps(b, 0);
    cv_nn_state_load(b, again);
    CHECK(cv_nn_steps(b) == big, "step count %lld after a round trip", (long long)cv_nn_steps(b));
    free(saved);
    free(again);
    cv_nn_free(a);
    cv_nn_free(b);
}

/* A saved state read as plain data (cv_nn_state) without a network: the
 * same tensors as the network's, names, shapes, values and moments, and the
 * step count; for every shape the layout takes (one layer and several, with
 * and without batch norm). */
static void test_state_as_plain_data(void **state)
{
    (void)state;
    static const int layer_counts[] = {1, 3};
    for (int k = 0; k < 2; k++) {
        cv_config cfg = determinism_config();
        cfg.layers = layer_counts[k];
        cfg.batch_norm = k == 0;
        cv_nn *net = make_net(&cfg, 5, 3, 8);
        randomize_params(net, 40 + (uint64_t)k);
        train_epoch(net, 1);
        const size_t n = cv_nn_state_size(net);
        CHECK(n == cv_nn_state_floats(&cfg, 5, 3), "state of %zu floats, the formula says %zu", n,
              cv_nn_state_floats(&cfg, 5, 3));
        float *saved = malloc(n * sizeof *saved);
        assert_true(saved != NULL);
        cv_nn_state_save(net, saved);
        cv_nn_state st = {.config = cfg, .inputs = 5, .classes = 3, .data = saved};
        CHECK(cv_nn_state_steps(&st) == cv_nn_steps(net), "steps %lld, expected %lld",
              (long long)cv_nn_state_steps(&st), (long long)cv_nn_steps(net));
        CHECK(cv_nn_state_tensor_count(&cfg) == cv_nn_tensor_count(net), "tensor count");
        for (int i = 0; i < cv_nn_tensor_count(net); i++) {
            cv_tensor a = cv_nn_tensor(net, i), b = cv_nn_state_tensor(&st, i);
            CHECK(strcmp(a.name, b.name) == 0 && a.rank == b.rank && a.dims[0] == b.dims[0] &&
                      (a.rank == 1 || a.dims[1] == b.dims[1]) && a.trainable == b.trainable,
                  "tensor %d: %s against %s", i, a.name, b.name);
            CHECK(memcmp(a.data, b.data, tensor_size(&a) * sizeof(float)) == 0,
                  "tensor %s: other values", a.name);
            CHECK((a.m == NULL) == (b.m == NULL), "tensor %s: moments", a.name);
            if (a.m != NULL)
                CHECK(memcmp(a.m, b.m, tensor_size(&a) * sizeof(float)) == 0 &&
                          memcmp(a.v, b.v, tensor_size(&a) * sizeof(float)) == 0,
                      "tensor %s: other moments", a.name);
        }
        free(saved);
        cv_nn_free(net);
    }
}

static void test_tensors(void **state)
{
    (void)state;
    enum { IN = 7, H = 6, C = 4, L = 2 };
    cv_config cfg = test_config(L, CV_ACT_RELU, true);
    cfg.hidden_units = H;
    cv_nn *net = make_net(&cfg, IN, C, 16);
    cv_nn_init(net, 1);
    CHECK(cv_nn_inputs(net) == IN && cv_nn_classes(net) == C && cv_nn_max_batch(net) == 16,
          "shape accessors");
    CHECK(cv_nn_config(net)->hidden_units == H && cv_nn_config(net)->layers == L,
          "the configuration is not kept");
    struct {
        const char *name;
        int rank;
        int64_t d0, d1;
        bool trainable;
    } want[] = {
        {"layer_0/W", 2, IN, H, true},         {"layer_0/gamma", 1, H, 0, true},
        {"layer_0/beta", 1, H, 0, true},       {"layer_0/running_mean", 1, H, 0, false},
        {"layer_0/running_var", 1, H, 0, false}, {"layer_1/W", 2, H, H, true},
        {"layer_1/gamma", 1, H, 0, true},      {"layer_1/beta", 1, H, 0, true},
        {"layer_1/running_mean", 1, H, 0, false}, {"layer_1/running_var", 1, H, 0, false},
        {"output/W", 2, H, C, true},           {"output/b", 1, C, 0, true},
    };
    const int count = (int)(sizeof want / sizeof want[0]);
    CHECK(cv_nn_tensor_count(net) == count, "%d tensors, expected %d", cv_nn_tensor_count(net),
          count);
    size_t n;
    cv_nn_params(net, &n);
    char *owner = calloc(n, 1);
    assert_non_null(owner);
    size_t covered = 0;
    for (int i = 0; i < count; i++) {
        cv_tensor t = cv_nn_tensor(net, i);
        CHECK(strcmp(t.name, want[i].name) == 0, "tensor %d is %s, expected %s", i, t.name,
              want[i].name);
        CHECK(t.rank == want[i].rank && t.dims[0] == want[i].d0 &&
                  (t.rank == 1 || t.dims[1] == want[i].d1),
              "%s: rank %d dims (%lld, %lld)", t.name, t.rank, (long long)t.dims[0],
              (long long)t.dims[1]);
        CHECK(t.trainable == want[i].trainable, "%s: trainable %d", t.name, t.trainable);
        CHECK(t.data != NULL, "%s: no data", t.name);
        if (t.trainable) {
            /* A view into params; the moments alongside; no overlaps. */
            CHECK(t.m != NULL && t.v != NULL, "%s: no moments", t.name);
            size_t off = param_offset(net, t.name);
            for (size_t k = 0; k < tensor_size(&t); k++) {
                CHECK(!owner[off + k], "%s overlaps another tensor", t.name);
                owner[off + k] = 1;
            }
            covered += tensor_size(&t);
        } else {
            CHECK(t.m == NULL && t.v == NULL, "%s: statistics have no moments", t.name);
        }
        /* Initial values: gamma 1, beta 0, b 0, running mean 0 and variance 1. */
        const char *leaf = strrchr(t.name, '/') + 1;
        float init = strcmp(leaf, "gamma") == 0 || strcmp(leaf, "running_var") == 0 ? 1.0f : 0.0f;
        if (strcmp(leaf, "W") != 0)
            for (size_t k = 0; k < tensor_size(&t); k++)
                CHECK(t.data[k] == init, "%s[%zu] = %g after init", t.name, k, t.data[k]);
    }
    CHECK(covered == n, "trainable tensors cover %zu of %zu parameters", covered, n);
    /* nn.h: the weight matrices come first (weight decay is one prefix). */
    size_t weights = (size_t)(IN * H + H * H + H * C);
    for (int i = 0; i < count; i++) {
        cv_tensor t = cv_nn_tensor(net, i);
        if (t.trainable) {
            size_t off = param_offset(net, t.name);
            bool is_w = strcmp(strrchr(t.name, '/'), "/W") == 0;
            CHECK(is_w ? off + tensor_size(&t) <= weights : off >= weights,
                  "%s is out of the documented layout", t.name);
        }
    }
    free(owner);
    cv_nn_free(net);
}

static void test_init_scales(void **state)
{
    (void)state;
    /* He: N(0, 2/in); Xavier: N(0, 2/(in + out)). 120 x 80 = 9600 draws:
     * the sample variance is within 5% (about 3.5 standard errors). */
    enum { IN = 120, H = 80 };
    for (int init = 0; init <= 1; init++) {
        cv_config cfg = test_config(1, CV_ACT_RELU, true);
        cfg.hidden_units = H;
        cfg.init = (cv_init)init;
        cv_nn *net = make_net(&cfg, IN, 10, 4);
        cv_nn_init(net, 12);
        cv_tensor t = tensor_named(net, "layer_0/W");
        double s = 0.0, s2 = 0.0;
        size_t k = tensor_size(&t);
        for (size_t i = 0; i < k; i++)
            s += t.data[i], s2 += (double)t.data[i] * t.data[i];
        double mean = s / k, var = s2 / k - mean * mean;
        double want = init == CV_INIT_HE ? 2.0 / IN : 2.0 / (IN + H);
        CHECK(fabs(var / want - 1.0) < 0.05, "%s: weight variance %.5g, expected %.5g",
              init ? "xavier" : "he", var, want);
        CHECK(fabs(mean) < 4.0 * sqrt(want / k), "%s: weight mean %.3g", init ? "xavier" : "he",
              mean);
        CHECK(cv_nn_steps(net) == 0, "steps after init");
        cv_nn_free(net);
    }
}

static void test_create_rejects_bad_shapes(void **state)
{
    (void)state;
    cv_config cfg = test_config(1, CV_ACT_RELU, true);
    cv_error err = {0};
    CHECK(cv_nn_create(&cfg, 5, 1, 8, &err) == NULL && err.code == CV_ERR_INPUT,
          "one class accepted");
    CHECK(err.msg[0] != '\0', "no message");
    cv_error_clear(&err);
    cfg.layers = 0;
    CHECK(cv_nn_create(&cfg, 5, 3, 8, &err) == NULL && err.code == CV_ERR_INPUT,
          "zero layers accepted");
    cv_error_clear(&err);
    cfg.layers = 1;
    CHECK(cv_nn_create(&cfg, 0, 3, 8, &err) == NULL && err.code == CV_ERR_INPUT,
          "zero inputs accepted");
    cv_nn_free(NULL);
}

int main(void)
{
    verbose = getenv("CAVIAR_TEST_VERBOSE") != NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensors),
        cmocka_unit_test(test_init_scales),
        cmocka_unit_test(test_create_rejects_bad_shapes),
        cmocka_unit_test(test_gradients_batchnorm),
        cmocka_unit_test(test_gradients_no_batchnorm),
        cmocka_unit_test(test_gradients_wide_epsilon),
        cmocka_unit_test(test_gradients_dropout),
        cmocka_unit_test(test_dropout_is_inverted),
        cmocka_unit_test(test_optimizers),
        cmocka_unit_test(test_running_statistics),
        cmocka_unit_test(test_inference_uses_running_statistics),
        cmocka_unit_test(test_inference_without_batchnorm),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_lr_schedules),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_as_plain_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
