/* caviar/train.h: one trial: a network trained on a data set for its epochs.
 *
 * Epochs of seeded shuffled mini-batches; after each, the dev set is scored
 * in inference mode and a callback gets the epoch's figures (the runner
 * streams them as learning curves). The best epoch's state is kept and left
 * in the network at the end. Divergence (a non-finite loss, or a batch loss
 * above CV_DIVERGED_LOSS_FACTOR * ln(classes)) stops the trial as diverged;
 * `patience` epochs without improvement stop it early. */
#ifndef CAVIAR_TRAIN_H
#define CAVIAR_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "caviar/config.h"
#include "caviar/data.h"
#include "caviar/error.h"
#include "caviar/nn.h"

#define CV_DIVERGED_LOSS_FACTOR 100.0

typedef struct cv_epoch_stats {
    int epoch;            /* 0-based */
    double learning_rate; /* used in this epoch */
    double train_loss, train_accuracy; /* over the epoch's mini-batches, training mode */
    double dev_loss, dev_accuracy;     /* inference mode */
    double seconds;                    /* the epoch's wall time, evaluation included */
    double samples_per_second;         /* training examples per second of training */
} cv_epoch_stats;

/* Called after every epoch; a nonzero return stops the trial as interrupted. */
typedef int (*cv_epoch_fn)(const cv_epoch_stats *e, void *user);

typedef struct cv_train_opts {
    uint64_t seed;     /* shuffles and dropout (init is the caller's: cv_nn_init) */
    cv_metric metric;  /* what "best epoch" means */
    int first_epoch;   /* epochs already done (continuing a checkpoint): schedule offset */
    /* Train until this absolute epoch (0: first_epoch + the configuration's
     * epochs). Successive halving trains a trial to a rung's budget. */
    int last_epoch;
    /* The best of the trial's earlier segments when continuing (NULL:
     * none): an epoch must beat it to become the best, and patience counts
     * from its best epoch. */
    const struct cv_trial_result *prior;
    /* When not NULL (cv_nn_state_size floats): the network is left holding
     * its last epoch's state, to be continued, and the best epoch's state of
     * this call goes here instead (when an epoch of this call became the
     * best: out->best_epoch >= first_epoch). */
    float *best_state;
    cv_epoch_fn on_epoch;
    void *user;
    /* Checked between mini-batches when not NULL: once nonzero, the trial
     * stops as interrupted without finishing the epoch (a signal handler or
     * the runner sets it). */
    const volatile sig_atomic_t *stop;
} cv_train_opts;

typedef struct cv_trial_result {
    cv_trial_status status;
    int best_epoch; /* -1 if no epoch finished */
    int epochs_done;
    double dev_accuracy, dev_loss;     /* at the best epoch */
    double train_accuracy, train_loss; /* at the best epoch */
    /* at the last epoch this call trained (NaN: none): population-based
     * training ranks a member by where its weights are now, not by its best */
    double last_dev_accuracy, last_dev_loss;
    double seconds;
    double samples_per_second; /* mean over the epochs */
} cv_trial_result;

/* The result of a trial that finished no epoch, with status: no best epoch,
 * every figure NaN, no time. */
cv_trial_result cv_trial_result_none(cv_trial_status status);

/* Dev and test sets are scored in chunks of at least this many examples. */
#define CV_EVAL_BATCH 1024

/* The max_batch to create a network with for training and scoring under cfg:
 * the larger of its batch size and CV_EVAL_BATCH. */
int cv_train_max_batch(const cv_config *cfg);

/* Trains net (created and initialized by the caller for data's shape, or
 * loaded with a state to continue) from opts->first_epoch to
 * opts->last_epoch. At return the network holds the best epoch's state
 * (the last one's with opts->best_state). With opts->prior the result
 * carries the trial's best over all its segments; epochs_done, seconds and
 * samples_per_second count this call's epochs only.
 * Returns 0 whatever the trial's status (diverged is a result, not an
 * error); a negative status only when training could not run (memory). */
int cv_train(cv_nn *net, const cv_data *data, const cv_train_opts *opts, cv_trial_result *out,
             cv_error *err);

#endif
