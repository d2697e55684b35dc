/* nn.c: the batch-normalized MLP: memory layout, forward, backward, optimizers.
 *
 * Shapes: B = batch rows, in/out = a layer's fan-in/fan-out, C = classes.
 * Everything is row major; every matrix product is one cblas_sgemm.
 *
 * Memory (see caviar/nn.h): the persistent state is one block
 *   [ params | m | v | stats | steps ]
 * so that saving the best epoch, or a checkpoint, is one copy. params is laid
 * out with every weight matrix first (weight decay touches one prefix), then
 * gamma/beta per layer, then the output bias. grads mirrors params. The
 * activation block holds the caches of the last forward pass for the largest
 * batch; the backward pass reuses two scratch buffers. Nothing is allocated
 * after cv_nn_create. */
#include "caviar/nn.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAKY_SLOPE 0.01f

/* The elementwise loops below are compiled for AVX-512, AVX2 and the
 * baseline, and the loader picks the best the CPU runs (GCC's function
 * multiversioning), so that one binary vectorizes wide everywhere. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOT
#endif

/* One hidden layer: offsets into the blocks and pointers into the activations. */
typedef struct layer {
    int n_in, n_out;               /* W is (n_in, n_out) */
    size_t W, gamma, beta;         /* offsets into params (and grads, m, v) */
    size_t running_mean, running_var; /* offsets into stats */
    float *xhat; /* (B, out) normalized pre-activation (BN) or z (no BN) */
    float *act;  /* (B, out) activation output, before dropout */
    float *out;  /* (B, out) the layer's output: act * mask, or act itself */
    float *mask; /* (B, out) 0 or 1/(1-p); NULL without dropout */
    float *istd; /* (out) 1/sqrt(var + eps) of the last training batch */
} layer;

struct cv_nn {
    cv_config cfg;
    int inputs, classes, n_layers, max_batch, widest;
    layer *layers; /* (n_layers) */
    size_t W_out, b_out; /* offsets of the output layer's W (h, C) and b (C) */

    size_t n_params, n_weights, n_stats;
    float *state;  /* [params | m | v | stats | steps(2)] */
    float *params, *m, *v, *stats;
    float *grads;  /* (n_params) */
    int64_t steps;

    float *acts;     /* the activation block */
    float *logits;   /* (B, C) logits, then probabilities */
    float *scratch[2]; /* (B, widest) gradient buffers, used alternately */
    double *acc[2];  /* (widest) per-feature reductions in double */
    float *vec[3];   /* (widest) per-feature float temporaries */
    const float *input; /* the batch of the last training forward pass */
};

/* ---- the state as plain data ------------------------------------------------
 * The offsets cv_nn_create lays out, as formulas of the shape alone, so
 * that a state block can be read without a network: params are
 * [W_0 .. W_{L-1}, W_out | gamma_0, beta_0, .. | b_out], stats are
 * [running_mean_0, running_var_0, ..]. */

typedef struct shape {
    size_t H, L, in, C;
} shape;

static shape shape_of(const cv_config *cfg, int inputs, int classes)
{
    return (shape){(size_t)cfg->hidden_units, (size_t)cfg->layers, (size_t)inputs,
                   (size_t)classes};
}

static size_t off_W(shape s, size_t l)
{
    return l == 0 ? 0 : s.in * s.H + (l - 1) * s.H * s.H;
}

static size_t n_weights(shape s)
{
    return off_W(s, s.L) + s.H * s.C; /* off_W(s, L) is W_out's */
}

static size_t n_params(shape s)
{
    return n_weights(s) + 2 * s.H * s.L + s.C;
}

/* ---- memory ---------------------------------------------------------- */

cv_nn *cv_nn_create(const cv_config *cfg, int inputs, int classes, int max_batch, cv_error *err)
{
    if (inputs < 1 || classes < 2 || max_batch < 1 || cfg->layers < 1 || cfg->hidden_units < 1) {
        cv_fail(err, CV_ERR_INPUT,
                "network: need inputs >= 1, classes >= 2, layers >= 1, units >= 1, batch >= 1 "
                "(got %d, %d, %d, %d, %d)",
                inputs, classes, cfg->layers, cfg->hidden_units, max_batch);
        return NULL;
    }
    cv_nn *net = calloc(1, sizeof *net);
    if (net == NULL)
        goto nomem;
    net->cfg = *cfg;
    net->inputs = inputs;
    net->classes = classes;
    net->n_layers = cfg->layers;
    net->max_batch = max_batch;
    net->layers = calloc((size_t)cfg->layers, sizeof *net->layers);
    if (net->layers == NULL)
        goto nomem;

    const int L = cfg->layers, H = cfg->hidden_units;
    const size_t B = (size_t)max_batch;

    /* The table of tensor offsets (shape_of and friends, below): weights
     * first, then gamma/beta, then b_out; the running statistics apart. */
    const shape sh = shape_of(cfg, inputs, classes);
    for (int l = 0; l < L; l++) {
        layer *ly = &net->layers[l];
        ly->n_in = l == 0 ? inputs : H;
        ly->n_out = H;
        ly->W = off_W(sh, (size_t)l);
        ly->gamma = n_weights(sh) + 2 * (size_t)H * (size_t)l;
        ly->beta = ly->gamma + (size_t)H;
        ly->running_mean = 2 * (size_t)H * (size_t)l;
        ly->running_var = ly->running_mean + (size_t)H;
    }
    net->W_out = off_W(sh, (size_t)L);
    net->n_weights = n_weights(sh);
    net->b_out = n_weights(sh) + 2 * (size_t)H * (size_t)L;
    net->n_params = n_params(sh);
    net->n_stats = 2 * (size_t)H * (size_t)L;

    net->state = calloc(cv_nn_state_size(net), sizeof(float));
    net->grads = calloc(net->n_params, sizeof(float));
    if (net->state == NULL || net->grads == NULL)
        goto nomem;
    net->params = net->state;
    net->m = net->params + net->n_params;
    net->v = net->m + net->n_params;
    net->stats = net->v + net->n_params;

    /* Activations: per layer xhat, act, istd (+ out, mask with dropout);
     * logits; two scratch buffers. */
    const bool dropout = cfg->dropout > 0.0;
    net->widest = inputs > H ? inputs : H;
    if (net->widest < classes)
        net->widest = classes;
    size_t per_layer = 2 * B * (size_t)H + (size_t)H + (dropout ? 2 * B * (size_t)H : 0);
    size_t n_acts = (size_t)L * per_layer + B * (size_t)classes + (2 * B + 3) * (size_t)net->widest;
    net->acts = malloc(n_acts * sizeof(float));
    net->acc[0] = calloc(2 * (size_t)net->widest, sizeof(double));
    if (net->acts == NULL || net->acc[0] == NULL)
        goto nomem;
    net->acc[1] = net->acc[0] + net->widest;
    float *p = net->acts;
    for (int l = 0; l < L; l++) {
        layer *ly = &net->layers[l];
        ly->xhat = p, p += B * (size_t)H;
        ly->act = p, p += B * (size_t)H;
        ly->istd = p, p += (size_t)H;
        if (dropout) {
            ly->out = p, p += B * (size_t)H;
            ly->mask = p, p += B * (size_t)H;
        } else {
            ly->out = ly->act;
            ly->mask = NULL;
        }
    }
    net->logits = p, p += B * (size_t)classes;
    net->scratch[0] = p, p += B * (size_t)net->widest;
    net->scratch[1] = p, p += B * (size_t)net->widest;
    for (int i = 0; i < 3; i++)
        net->vec[i] = p, p += net->widest;
    return net;

nomem:
    cv_nn_free(net);
    cv_fail(err, CV_ERR_NOMEM, "network: out of memory for %d x %d units at batch %d", cfg->layers,
            cfg->hidden_units, max_batch);
    return NULL;
}

void cv_nn_free(cv_nn *net)
{
    if (net == NULL)
        return;
    free(net->acc[0]);
    free(net->acts);
    free(net->grads);
    free(net->state);
    free(net->layers);
    free(net);
}

void cv_nn_init(cv_nn *net, uint64_t seed)
{
    cv_rng rng;
    cv_rng_seed(&rng, cv_hash_key(seed, 0x1417 /* init */, 0, 0));
    memset(net->state, 0, cv_nn_state_size(net) * sizeof(float));
    net->steps = 0;
    const int H = net->cfg.hidden_units;
    for (int l = 0; l <= net->n_layers; l++) {
        int in = l < net->n_layers ? net->layers[l].n_in : H;
        int out = l < net->n_layers ? net->layers[l].n_out : net->classes;
        float *W = net->params + (l < net->n_layers ? net->layers[l].W : net->W_out);
        double var = net->cfg.init == CV_INIT_HE ? 2.0 / in : 2.0 / (in + out);
        double sd = sqrt(var);
        for (size_t i = 0; i < (size_t)in * (size_t)out; i++)
            W[i] = (float)(sd * cv_rng_normal(&rng));
    }
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        for (int j = 0; j < H; j++) {
            net->params[ly->gamma + j] = 1.0f;
            net->stats[ly->running_var + j] = 1.0f;
        }
    }
}

/* ---- layers ------------------------------------------------------------ */

/* out = act(a), elementwise over n values. */
HOT static void activation_forward(float *out, const float *a, size_t n, cv_activation f)
{
    switch (f) {
    case CV_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] > 0.0f ? a[i] : 0.0f;
        break;
    case CV_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] > 0.0f ? a[i] : LEAKY_SLOPE * a[i];
        break;
    case CV_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            out[i] = tanhf(a[i]);
        break;
    case CV_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0f / (1.0f + expf(-a[i]));
        break;
    }
}

/* d *= act'(a), with the derivative written in terms of the output y = act(a). */
HOT static void activation_backward(float *d, const float *y, size_t n, cv_activation f)
{
    switch (f) {
    case CV_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = y[i] > 0.0f ? d[i] : 0.0f;
        break;
    case CV_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = y[i] > 0.0f ? d[i] : LEAKY_SLOPE * d[i];
        break;
    case CV_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.0f - y[i] * y[i];
        break;
    case CV_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            d[i] *= y[i] * (1.0f - y[i]);
        break;
    }
}

/* Column sums of x (B, n) into acc (n), in double. */
HOT static void column_sum(double *acc, const float *x, int B, int n)
{
    memset(acc, 0, (size_t)n * sizeof *acc);
    for (int i = 0; i < B; i++) {
        const float *row = x + (size_t)i * n;
        for (int j = 0; j < n; j++)
            acc[j] += row[j];
    }
}

/* Batch norm, training mode, over z (B, n) in place (z becomes x̂):
 *   mu = mean(z), var = mean((z - mu)^2) (biased), x̂ = (z - mu) / sqrt(var + eps),
 *   a = act(gamma x̂ + beta) (into a, (B, n); the activation applied row by row
 *   while the row is in cache),
 * and running = m running + (1 - m) batch for mean and variance.
 * acc, acc2 (n doubles) and mu (n floats) are scratch. */
HOT static void batchnorm_forward_train(float *a, float *z, float *istd, float *running_mean,
                                    float *running_var, const float *gamma, const float *beta,
                                    int B, int n, double eps, double momentum,
                                    cv_activation f, double *acc, double *acc2, float *mu)
{
    column_sum(acc, z, B, n); /* acc = sum z */
    for (int j = 0; j < n; j++)
        acc[j] /= B; /* acc = mu */
    memset(acc2, 0, (size_t)n * sizeof *acc2);
    for (int i = 0; i < B; i++) {
        const float *row = z + (size_t)i * n;
        for (int j = 0; j < n; j++) {
            double c = row[j] - acc[j];
            acc2[j] += c * c;
        }
    }
    for (int j = 0; j < n; j++) {
        double var = acc2[j] / B;
        istd[j] = (float)(1.0 / sqrt(var + eps));
        running_mean[j] = (float)(momentum * running_mean[j] + (1.0 - momentum) * acc[j]);
        running_var[j] = (float)(momentum * running_var[j] + (1.0 - momentum) * var);
        mu[j] = (float)acc[j];
    }
    for (int i = 0; i < B; i++) {
        float *zr = z + (size_t)i * n;
        float *ar = a + (size_t)i * n;
        for (int j = 0; j < n; j++) {
            float xh = (zr[j] - mu[j]) * istd[j];
            zr[j] = xh;
            ar[j] = gamma[j] * xh + beta[j];
        }
        activation_forward(ar, ar, (size_t)n, f);
    }
}

/* Batch norm, inference mode: a = act(gamma (z - running_mean) / sqrt(running_var + eps) + beta),
 * folded into one scale and shift per feature (scale, shift: n floats of scratch). */
HOT static void batchnorm_forward_infer(float *a, const float *z, const float *running_mean,
                                    const float *running_var, const float *gamma,
                                    const float *beta, int B, int n, double eps,
                                    cv_activation f, float *scale, float *shift)
{
    for (int j = 0; j < n; j++) {
        double s = gamma[j] / sqrt((double)running_var[j] + eps);
        scale[j] = (float)s;
        shift[j] = (float)(beta[j] - s * running_mean[j]);
    }
    for (int i = 0; i < B; i++) {
        const float *zr = z + (size_t)i * n;
        float *ar = a + (size_t)i * n;
        for (int j = 0; j < n; j++)
            ar[j] = zr[j] * scale[j] + shift[j];
        activation_forward(ar, ar, (size_t)n, f);
    }
}

/* Activation and batch norm backward, in place on d (B, n): on entry dL/d(out),
 * the gradient of the layer's output; mask (or NULL) and act are the forward
 * pass's dropout mask and activation output. On exit dL/dz:
 *   dL/da = dL/d(out) * mask * act'(a),
 *   dgamma = sum(d x̂), dbeta = sum(d),
 *   dz = gamma istd (d - mean(d) - x̂ mean(d x̂)). */
HOT static void batchnorm_backward(float *d, float *dgamma, float *dbeta, const float *mask,
                               const float *act, cv_activation f, const float *xhat,
                               const float *istd, const float *gamma, int B, int n, double *acc,
                               double *acc2, float *k, float *mean_d, float *mean_dx)
{
    memset(acc, 0, (size_t)n * sizeof *acc);
    memset(acc2, 0, (size_t)n * sizeof *acc2);
    for (int i = 0; i < B; i++) {
        float *dr = d + (size_t)i * n;
        if (mask != NULL) {
            const float *mr = mask + (size_t)i * n;
            for (int j = 0; j < n; j++)
                dr[j] *= mr[j];
        }
        activation_backward(dr, act + (size_t)i * n, (size_t)n, f);
        const float *xr = xhat + (size_t)i * n;
        for (int j = 0; j < n; j++) {
            acc[j] += dr[j];
            acc2[j] += (double)dr[j] * xr[j];
        }
    }
    /* Per feature: dz = k (d - mean_d - x̂ mean_dx), k = gamma istd. */
    for (int j = 0; j < n; j++) {
        dgamma[j] = (float)acc2[j];
        dbeta[j] = (float)acc[j];
        k[j] = gamma[j] * istd[j];
        mean_d[j] = (float)(acc[j] / B);
        mean_dx[j] = (float)(acc2[j] / B);
    }
    for (int i = 0; i < B; i++) {
        float *dr = d + (size_t)i * n;
        const float *xr = xhat + (size_t)i * n;
        for (int j = 0; j < n; j++)
            dr[j] = k[j] * (dr[j] - mean_d[j] - xr[j] * mean_dx[j]);
    }
}

/* Softmax of logits (B, C) in place; returns the summed cross-entropy against
 * y (if not NULL) and counts correct argmax predictions into *correct. */
static double softmax_xent(float *logits, const int32_t *y, int B, int C, int64_t *correct)
{
    double loss = 0.0;
    int64_t right = 0;
    for (int i = 0; i < B; i++) {
        float *row = logits + (size_t)i * C;
        int arg = 0;
        float mx = row[0];
        for (int c = 1; c < C; c++)
            if (row[c] > mx)
                mx = row[c], arg = c;
        double sum = 0.0;
        for (int c = 0; c < C; c++)
            sum += exp((double)row[c] - mx);
        if (y != NULL) {
            /* -log softmax_y = log sum exp(l - max) - (l_y - max) */
            loss += log(sum) - ((double)row[y[i]] - mx);
            right += arg == y[i];
        }
        double inv = 1.0 / sum;
        for (int c = 0; c < C; c++)
            row[c] = (float)(exp((double)row[c] - mx) * inv);
    }
    if (correct != NULL)
        *correct += right;
    return loss;
}

/* ---- forward and backward ------------------------------------------------- */

/* The forward pass over X (B, inputs); leaves probabilities in net->logits.
 * Training mode uses and caches batch statistics and draws dropout masks. */
static void forward(cv_nn *net, const float *X, int B, bool training, cv_rng *rng)
{
    const cv_config *cfg = &net->cfg;
    const float *A = X;
    for (int l = 0; l < net->n_layers; l++) {
        layer *ly = &net->layers[l];
        const int in = ly->n_in, n = ly->n_out;
        const float *W = net->params + ly->W;
        const float *gamma = net->params + ly->gamma, *beta = net->params + ly->beta;
        /* z = A W   (B, in) x (in, n) -> (B, n), into xhat */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, n, in, 1.0f, A, in, W, n, 0.0f,
                    ly->xhat, n);
        const size_t Bn = (size_t)B * n;
        if (!cfg->batch_norm) {
            /* a = z + beta (beta is the bias without batch norm) */
            for (int i = 0; i < B; i++) {
                const float *zr = ly->xhat + (size_t)i * n;
                float *ar = ly->act + (size_t)i * n;
                for (int j = 0; j < n; j++)
                    ar[j] = zr[j] + beta[j];
                activation_forward(ar, ar, (size_t)n, cfg->activation);
            }
        } else if (training) {
            batchnorm_forward_train(ly->act, ly->xhat, ly->istd, net->stats + ly->running_mean,
                                    net->stats + ly->running_var, gamma, beta, B, n,
                                    cfg->bn_epsilon, cfg->bn_momentum, cfg->activation,
                                    net->acc[0], net->acc[1], net->vec[0]);
        } else {
            batchnorm_forward_infer(ly->act, ly->xhat, net->stats + ly->running_mean,
                                    net->stats + ly->running_var, gamma, beta, B, n,
                                    cfg->bn_epsilon, cfg->activation, net->vec[0], net->vec[1]);
        }
        if (ly->mask != NULL) {
            if (training) {
                /* inverted dropout: keep with probability 1 - p, scale by 1/(1 - p) */
                const uint32_t threshold = (uint32_t)(cfg->dropout * 4294967296.0);
                const float keep_scale = (float)(1.0 / (1.0 - cfg->dropout));
                for (size_t i = 0; i < Bn; i += 2) {
                    uint64_t r = cv_rng_next(rng);
                    ly->mask[i] = (uint32_t)r >= threshold ? keep_scale : 0.0f;
                    if (i + 1 < Bn)
                        ly->mask[i + 1] = (uint32_t)(r >> 32) >= threshold ? keep_scale : 0.0f;
                }
                for (size_t i = 0; i < Bn; i++)
                    ly->out[i] = ly->act[i] * ly->mask[i];
            } else {
                memcpy(ly->out, ly->act, Bn * sizeof(float));
            }
        }
        A = ly->out;
    }
    const int H = net->cfg.hidden_units, C = net->classes;
    const float *b = net->params + net->b_out;
    /* logits = A W_out + b   (B, H) x (H, C) -> (B, C) */
    for (int i = 0; i < B; i++)
        memcpy(net->logits + (size_t)i * C, b, (size_t)C * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, H, 1.0f, A, H,
                net->params + net->W_out, C, 1.0f, net->logits, C);
}

double cv_nn_forward_backward(cv_nn *net, const float *X, const int32_t *y, int B, cv_rng *rng,
                              int *correct)
{
    const int L = net->n_layers, H = net->cfg.hidden_units, C = net->classes;
    forward(net, X, B, true, rng);
    int64_t right = 0;
    double loss = softmax_xent(net->logits, y, B, C, &right);
    if (correct != NULL)
        *correct = (int)right;

    /* dlogits = (softmax - onehot(y)) / B, in place   (B, C) */
    float *dlogits = net->logits;
    const float invB = 1.0f / (float)B;
    for (int i = 0; i < B; i++) {
        float *row = dlogits + (size_t)i * C;
        row[y[i]] -= 1.0f;
        for (int c = 0; c < C; c++)
            row[c] *= invB;
    }
    const float *A_last = net->layers[L - 1].out;
    /* dW_out = A^T dlogits   (H, B) x (B, C) -> (H, C) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, C, B, 1.0f, A_last, H, dlogits, C,
                0.0f, net->grads + net->W_out, C);
    /* db = column sums of dlogits */
    column_sum(net->acc[0], dlogits, B, C);
    for (int c = 0; c < C; c++)
        net->grads[net->b_out + c] = (float)net->acc[0][c];
    /* dA = dlogits W_out^T   (B, C) x (C, H) -> (B, H) */
    int cur = 0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, C, 1.0f, dlogits, C,
                net->params + net->W_out, C, 0.0f, net->scratch[cur], H);

    for (int l = L - 1; l >= 0; l--) {
        layer *ly = &net->layers[l];
        const int in = ly->n_in, n = ly->n_out;
        const size_t Bn = (size_t)B * n;
        float *d = net->scratch[cur]; /* (B, n): dL/d(out) */
        float *dgamma = net->grads + ly->gamma, *dbeta = net->grads + ly->beta;
        if (net->cfg.batch_norm) {
            batchnorm_backward(d, dgamma, dbeta, ly->mask, ly->act, net->cfg.activation, ly->xhat,
                               ly->istd, net->params + ly->gamma, B, n, net->acc[0], net->acc[1],
                               net->vec[0], net->vec[1], net->vec[2]); /* now dL/dz */
        } else {
            if (ly->mask != NULL)
                for (size_t i = 0; i < Bn; i++)
                    d[i] *= ly->mask[i];
            activation_backward(d, ly->act, Bn, net->cfg.activation); /* now dL/da = dL/dz */
            column_sum(net->acc[0], d, B, n);
            for (int j = 0; j < n; j++) {
                dgamma[j] = 0.0f;
                dbeta[j] = (float)net->acc[0][j];
            }
        }
        const float *A_prev = l > 0 ? net->layers[l - 1].out : X;
        /* dW = A_prev^T dz   (in, B) x (B, n) -> (in, n) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, n, B, 1.0f, A_prev, in, d, n,
                    0.0f, net->grads + ly->W, n);
        if (l > 0) {
            /* dA_prev = dz W^T   (B, n) x (n, in) -> (B, in) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, in, n, 1.0f, d, n,
                        net->params + ly->W, n, 0.0f, net->scratch[1 - cur], in);
            cur = 1 - cur;
        }
    }
    return loss / B;
}

/* ---- optimizers ------------------------------------------------------------ */

/* Each step runs over one span of the parameter block with one weight decay
 * (the weight matrices, then everything else with none). */
HOT static void sgd_step(float *restrict p, const float *restrict g, size_t n, float lr, float wd)
{
    for (size_t i = 0; i < n; i++)
        p[i] -= lr * (g[i] + wd * p[i]);
}

/* v = beta v + (1 - beta) g;  p -= lr v */
HOT static void momentum_step(float *restrict p, const float *restrict g, float *restrict v, size_t n,
                          float lr, float wd, float beta)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        v[i] = beta * v[i] + (1.0f - beta) * gi;
        p[i] -= lr * v[i];
    }
}

/* s = beta s + (1 - beta) g^2;  p -= lr g / (sqrt(s) + eps) */
HOT static void rmsprop_step(float *restrict p, const float *restrict g, float *restrict s, size_t n,
                         float lr, float wd, float beta, float eps)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] = beta * s[i] + (1.0f - beta) * gi * gi;
        p[i] -= lr * gi / (sqrtf(s[i]) + eps);
    }
}

/* m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 * p -= lr m̂ / (sqrt(v̂) + eps),  m̂ = m c1, v̂ = v c2,  c = 1 / (1 - b^t) */
HOT static void adam_step(float *restrict p, const float *restrict g, float *restrict m,
                      float *restrict v, size_t n, float lr, float wd, float b1, float b2,
                      float c1, float c2, float eps)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] -= lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
    }
}

void cv_nn_update(cv_nn *net, double lr_d)
{
    const cv_config *cfg = &net->cfg;
    net->steps++;
    const float lr = (float)lr_d;
    const size_t spans[2][2] = {{0, net->n_weights}, {net->n_weights, net->n_params}};
    double c1 = 1.0 / (1.0 - pow(cfg->beta1, (double)net->steps));
    double c2 = 1.0 / (1.0 - pow(cfg->beta2, (double)net->steps));
    for (int s = 0; s < 2; s++) {
        size_t a = spans[s][0], n = spans[s][1] - spans[s][0];
        float wd = s == 0 ? (float)cfg->weight_decay : 0.0f;
        float *p = net->params + a, *m = net->m + a, *v = net->v + a;
        const float *g = net->grads + a;
        switch (cfg->optimizer) {
        case CV_OPT_SGD:
            sgd_step(p, g, n, lr, wd);
            break;
        case CV_OPT_MOMENTUM:
            momentum_step(p, g, m, n, lr, wd, (float)cfg->momentum);
            break;
        case CV_OPT_RMSPROP:
            rmsprop_step(p, g, v, n, lr, wd, (float)cfg->momentum, (float)cfg->epsilon);
            break;
        case CV_OPT_ADAM:
            adam_step(p, g, m, v, n, lr, wd, (float)cfg->beta1, (float)cfg->beta2, (float)c1,
                      (float)c2, (float)cfg->epsilon);
            break;
        }
    }
}

/* ---- inference ----------------------------------------------------------- */

void cv_nn_evaluate(cv_nn *net, const float *X, const int32_t *y, int64_t n, double *loss_sum,
                    int64_t *correct, float *probs)
{
    const int C = net->classes;
    for (int64_t start = 0; start < n; start += net->max_batch) {
        int B = (int)(n - start < net->max_batch ? n - start : net->max_batch);
        forward(net, X + start * net->inputs, B, false, NULL);
        double loss = softmax_xent(net->logits, y != NULL ? y + start : NULL, B, C, correct);
        if (loss_sum != NULL)
            *loss_sum += loss;
        if (probs != NULL)
            memcpy(probs + start * C, net->logits, (size_t)B * C * sizeof(float));
    }
}

/* ---- access --------------------------------------------------------------- */

float *cv_nn_params(cv_nn *net, size_t *count)
{
    *count = net->n_params;
    return net->params;
}

float *cv_nn_grads(cv_nn *net, size_t *count)
{
    *count = net->n_params;
    return net->grads;
}

size_t cv_nn_state_size(const cv_nn *net)
{
    return cv_nn_state_floats(&net->cfg, net->inputs, net->classes);
}

void cv_nn_state_save(const cv_nn *net, float *state)
{
    size_t n = cv_nn_state_size(net);
    memcpy(state, net->state, (n - 2) * sizeof(float));
    uint64_t t = (uint64_t)net->steps;
    memcpy(state + n - 2, &t, sizeof t);
}

void cv_nn_state_load(cv_nn *net, const float *state)
{
    size_t n = cv_nn_state_size(net);
    memcpy(net->state, state, (n - 2) * sizeof(float));
    uint64_t t;
    memcpy(&t, state + n - 2, sizeof t);
    net->steps = (int64_t)t;
}

int64_t cv_nn_steps(const cv_nn *net)
{
    return net->steps;
}

void cv_nn_set_steps(cv_nn *net, int64_t steps)
{
    net->steps = steps;
}

size_t cv_nn_state_floats(const cv_config *cfg, int inputs, int classes)
{
    shape s = shape_of(cfg, inputs, classes);
    return 3 * n_params(s) + 2 * s.H * s.L + 2; /* + the step count as two words */
}

int cv_nn_state_tensor_count(const cv_config *cfg)
{
    return 5 * cfg->layers + 2;
}

/* Tensor i of a state block laid out for shape s (params, then m, v and
 * stats): per layer W, gamma, beta, running_mean, running_var; then output
 * W, b. */
static cv_tensor tensor_at(shape s, float *state, int i)
{
    float *params = state, *m = state + n_params(s), *v = m + n_params(s), *stats = v + n_params(s);
    cv_tensor t = {.rank = 1};
    size_t off;
    if ((size_t)i < 5 * s.L) {
        const size_t l = (size_t)i / 5;
        static const char *const names[5] = {"W", "gamma", "beta", "running_mean", "running_var"};
        snprintf(t.name, sizeof t.name, "layer_%zu/%s", l, names[i % 5]);
        t.dims[0] = (int64_t)s.H;
        switch (i % 5) {
        case 0:
            t.rank = 2, t.dims[0] = (int64_t)(l == 0 ? s.in : s.H), t.dims[1] = (int64_t)s.H;
            off = off_W(s, l);
            break;
        case 1:
            off = n_weights(s) + 2 * s.H * l;
            break;
        case 2:
            off = n_weights(s) + 2 * s.H * l + s.H;
            break;
        case 3:
            t.data = stats + 2 * s.H * l;
            return t;
        default:
            t.data = stats + 2 * s.H * l + s.H;
            return t;
        }
    } else if ((size_t)i == 5 * s.L) {
        snprintf(t.name, sizeof t.name, "output/W");
        t.rank = 2, t.dims[0] = (int64_t)s.H, t.dims[1] = (int64_t)s.C, off = off_W(s, s.L);
    } else {
        snprintf(t.name, sizeof t.name, "output/b");
        t.dims[0] = (int64_t)s.C, off = n_weights(s) + 2 * s.H * s.L;
    }
    t.data = params + off, t.m = m + off, t.v = v + off, t.trainable = true;
    return t;
}

cv_tensor cv_nn_state_tensor(const cv_nn_state *st, int i)
{
    /* views of a read-only block: the tensors are not to be written through */
    return tensor_at(shape_of(&st->config, st->inputs, st->classes), (float *)st->data, i);
}

int64_t cv_nn_state_steps(const cv_nn_state *st)
{
    uint64_t t;
    size_t n = cv_nn_state_floats(&st->config, st->inputs, st->classes);
    memcpy(&t, st->data + n - 2, sizeof t);
    return (int64_t)t;
}

int cv_nn_tensor_count(const cv_nn *net)
{
    return cv_nn_state_tensor_count(&net->cfg);
}

cv_tensor cv_nn_tensor(const cv_nn *net, int i)
{
    return tensor_at(shape_of(&net->cfg, net->inputs, net->classes), net->state, i);
}

const cv_config *cv_nn_config(const cv_nn *net)
{
    return &net->cfg;
}

int cv_nn_inputs(const cv_nn *net)
{
    return net->inputs;
}

int cv_nn_classes(const cv_nn *net)
{
    return net->classes;
}

int cv_nn_max_batch(const cv_nn *net)
{
    return net->max_batch;
}

double cv_lr_at(const cv_config *cfg, int epoch)
{
    switch (cfg->lr_schedule) {
    case CV_LR_INVERSE_TIME:
        return cfg->learning_rate / (1.0 + cfg->lr_decay * epoch);
    case CV_LR_EXPONENTIAL:
        return cfg->learning_rate * pow(cfg->lr_decay, epoch);
    case CV_LR_STEP:
        return cfg->learning_rate * pow(cfg->lr_decay, epoch / CV_LR_STEP_EPOCHS);
    case CV_LR_NONE:
    default:
        return cfg->learning_rate;
    }
}
