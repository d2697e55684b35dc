/* caviar/nn.h: the batch-normalized multilayer perceptron.
 *
 * inputs -> [dense (no bias) -> batch norm -> activation -> dropout] x layers
 *        -> dense with bias -> softmax cross-entropy.
 *
 * A network owns one flat float block per role, all sized at creation for
 * the largest batch it will see, so that nothing is allocated while training:
 *   params  W_0..W_{L-1}, W_out (weight matrices first, so weight decay is one
 *           prefix), then gamma_l, beta_l per layer, then b_out
 *   grads   the same layout as params
 *   moments the optimizer's first and second moments, each laid out as params
 *   stats   running_mean_l, running_var_l per layer
 *   acts    activations and batch-norm caches of the last forward pass
 * Without batch norm (cfg.batch_norm false) beta_l is the layer's bias and
 * gamma_l is unused (kept at 1). nn knows nothing of files or processes. */
#ifndef CAVIAR_NN_H
#define CAVIAR_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/config.h"
#include "caviar/error.h"
#include "caviar/rng.h"

typedef struct cv_nn cv_nn;

/* One named tensor of a network, a view into its blocks. Names follow the
 * checkpoint layout: "layer_0/W", "layer_0/gamma", "layer_0/beta",
 * "layer_0/running_mean", "layer_0/running_var", "output/W", "output/b". */
typedef struct cv_tensor {
    char name[32];
    int rank;         /* 1 or 2 */
    int64_t dims[2];  /* (in, out) for W; (units) for vectors */
    float *data;      /* the values, row major */
    float *m, *v;     /* the optimizer moments of a trainable tensor, else NULL */
    bool trainable;   /* false for running statistics */
} cv_tensor;

/* Creates a network for inputs features and classes classes shaped by cfg
 * (layers, hidden_units, activation, batch_norm, dropout, optimizer...),
 * taking batches of up to max_batch examples. Parameters are not initialized:
 * call cv_nn_init. Returns NULL with err set on failure. cfg is copied. */
cv_nn *cv_nn_create(const cv_config *cfg, int inputs, int classes, int max_batch, cv_error *err);

void cv_nn_free(cv_nn *net);

/* Draws the weights (He: N(0, 2/in); Xavier: N(0, 2/(in+out))) from seed;
 * gamma = 1, beta = 0, b_out = 0, running mean 0 and variance 1, moments 0,
 * step count 0. */
void cv_nn_init(cv_nn *net, uint64_t seed);

/* Training-mode forward and backward pass over one batch X (B, inputs) with
 * labels y (B), 2 <= B <= max_batch: leaves the gradients in the grads block
 * and updates the running statistics. rng draws the dropout masks (may be
 * NULL when dropout is 0). Returns the mean cross-entropy of the batch and
 * stores the number of correct predictions in *correct (may be NULL). */
double cv_nn_forward_backward(cv_nn *net, const float *X, const int32_t *y, int B, cv_rng *rng,
                              int *correct);

/* One optimizer step with learning rate lr from the gradients in the grads
 * block (weight decay added to the weight matrices' gradients). */
void cv_nn_update(cv_nn *net, double lr);

/* Inference mode (running statistics, no dropout) over n examples, in
 * chunks of max_batch. Accumulates the summed cross-entropy into *loss_sum
 * and the correct count into *correct (either may be NULL; y may be NULL when
 * labels are unknown); when probs is not NULL it receives the softmax (n, classes). */
void cv_nn_evaluate(cv_nn *net, const float *X, const int32_t *y, int64_t n, double *loss_sum,
                    int64_t *correct, float *probs);

/* The flat blocks, for optimizer tests and bulk copies. *count receives the
 * number of floats. */
float *cv_nn_params(cv_nn *net, size_t *count);
float *cv_nn_grads(cv_nn *net, size_t *count);

/* The persistent state (params, running stats, moments, step count) as one
 * copy: cv_nn_state_size floats, saved and restored in one memcpy each, so
 * that training can keep its best epoch and continue exactly. */
size_t cv_nn_state_size(const cv_nn *net);
void cv_nn_state_save(const cv_nn *net, float *state);
void cv_nn_state_load(cv_nn *net, const float *state);

/* Optimizer steps taken (Adam's t). */
int64_t cv_nn_steps(const cv_nn *net);
void cv_nn_set_steps(cv_nn *net, int64_t steps);

/* The named tensors: count, then each by index (0 <= i < count). */
int cv_nn_tensor_count(const cv_nn *net);
cv_tensor cv_nn_tensor(const cv_nn *net, int i);

/* A network's persistent state as plain data, without a network: its shape
 * and a block in cv_nn_state_save's layout (a worker's result, a
 * checkpoint to write). The block is borrowed. */
typedef struct cv_nn_state {
    cv_config config; /* the network's configuration (layers, hidden_units, ...) */
    int inputs, classes;
    const float *data; /* cv_nn_state_floats(&config, inputs, classes) floats */
} cv_nn_state;

/* The floats of the state of a network shaped by cfg for inputs and
 * classes (what cv_nn_state_size says of such a network). */
size_t cv_nn_state_floats(const cv_config *cfg, int inputs, int classes);

/* The named tensors of a state, as cv_nn_tensor names and shapes them, each
 * a read-only view into st->data; and its optimizer step count. */
int cv_nn_state_tensor_count(const cv_config *cfg);
cv_tensor cv_nn_state_tensor(const cv_nn_state *st, int i);
int64_t cv_nn_state_steps(const cv_nn_state *st);

/* The configuration the network was created with. */
const cv_config *cv_nn_config(const cv_nn *net);

int cv_nn_inputs(const cv_nn *net);
int cv_nn_classes(const cv_nn *net);
int cv_nn_max_batch(const cv_nn *net);

/* The learning rate of epoch (0-based) under cfg's schedule. */
double cv_lr_at(const cv_config *cfg, int epoch);

#endif
