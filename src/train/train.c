/* train.c: one trial: epochs of shuffled mini-batches, dev scoring, the best
 * epoch kept, divergence and early stopping (see caviar/train.h).
 *
 * Every random choice is keyed by (seed, purpose, epoch), so an epoch's
 * shuffle and dropout masks do not depend on what came before it: a trial
 * continued from a checkpoint at epoch e draws what an uninterrupted one
 * would have drawn at epoch e. */
#include "caviar/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { KEY_SHUFFLE = 0x5f1e, KEY_DROPOUT = 0xd209 };


int cv_train_max_batch(const cv_config *cfg)
{
    return cfg->batch_size > CV_EVAL_BATCH ? cfg->batch_size : CV_EVAL_BATCH;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Whether dev figures e beat the best so far under metric. */
static bool improves(const cv_epoch_stats *e, const cv_trial_result *best, cv_metric metric)
{
    return best->best_epoch < 0 ||
           cv_metric_better(metric, cv_metric_pick(metric, e->dev_accuracy, e->dev_loss),
                            cv_metric_pick(metric, best->dev_accuracy, best->dev_loss));
}

cv_trial_result cv_trial_result_none(cv_trial_status status)
{
    return (cv_trial_result){.status = status,
                             .best_epoch = -1,
                             .dev_accuracy = NAN,
                             .dev_loss = NAN,
                             .train_accuracy = NAN,
                             .train_loss = NAN,
                             .last_dev_accuracy = NAN,
                             .last_dev_loss = NAN};
}

int cv_train(cv_nn *net, const cv_data *data, const cv_train_opts *opts, cv_trial_result *out,
             cv_error *err)
{
    const cv_config *cfg = cv_nn_config(net);
    const cv_dataset *tr = &data->train, *dev = &data->dev;
    const int d = data->d;
    const int64_t n = tr->n;
    int B = cfg->batch_size < n ? cfg->batch_size : (int)n;
    if (B > cv_nn_max_batch(net))
        B = cv_nn_max_batch(net);
    const double explode = CV_DIVERGED_LOSS_FACTOR * log((double)data->classes);

    *out = cv_trial_result_none(CV_TRIAL_DONE);
    if (opts->prior != NULL && opts->prior->best_epoch >= 0) {
        out->best_epoch = opts->prior->best_epoch;
        out->dev_accuracy = opts->prior->dev_accuracy;
        out->dev_loss = opts->prior->dev_loss;
        out->train_accuracy = opts->prior->train_accuracy;
        out->train_loss = opts->prior->train_loss;
    }
    const int last = opts->last_epoch > 0 ? opts->last_epoch : opts->first_epoch + cfg->epochs;
    int32_t *perm = malloc((size_t)n * sizeof *perm);
    float *Xb = malloc((size_t)B * (size_t)d * sizeof *Xb);
    int32_t *yb = malloc((size_t)B * sizeof *yb);
    float *own = opts->best_state == NULL ? malloc(cv_nn_state_size(net) * sizeof *own) : NULL;
    float *best = opts->best_state != NULL ? opts->best_state : own;
    if (perm == NULL || Xb == NULL || yb == NULL || best == NULL) {
        free(perm), free(Xb), free(yb), free(own);
        return cv_fail(err, CV_ERR_NOMEM, "training: out of memory for %lld examples",
                       (long long)n);
    }

    const double t_start = now();
    double sps_sum = 0.0;
    /* epochs since the best, counted on from the earlier segments' best */
    int since_best = out->best_epoch >= 0 ? opts->first_epoch - 1 - out->best_epoch : 0;
    for (int epoch = opts->first_epoch; epoch < last; epoch++) {
        const double t0 = now();
        cv_epoch_stats e = {.epoch = epoch, .learning_rate = cv_lr_at(cfg, epoch)};

        cv_rng shuffle, dropout;
        cv_rng_seed(&shuffle, cv_hash_key(opts->seed, KEY_SHUFFLE, (uint64_t)epoch, 0));
        cv_rng_seed(&dropout, cv_hash_key(opts->seed, KEY_DROPOUT, (uint64_t)epoch, 0));
        for (int64_t i = 0; i < n; i++)
            perm[i] = (int32_t)i;
        cv_rng_shuffle(&shuffle, perm, n);

        double loss_sum = 0.0;
        int64_t correct = 0, seen = 0;
        bool diverged = false, stopped = false;
        /* A last batch of one example has no batch variance: it is skipped. */
        for (int64_t start = 0; start + 2 <= n; start += B) {
            if (opts->stop != NULL && *opts->stop) {
                stopped = true;
                break;
            }
            int b = (int)(n - start < B ? n - start : B);
            for (int i = 0; i < b; i++) {
                int32_t r = perm[start + i];
                memcpy(Xb + (size_t)i * d, tr->X + (size_t)r * d, (size_t)d * sizeof *Xb);
                yb[i] = tr->y[r];
            }
            int c = 0;
            double loss = cv_nn_forward_backward(net, Xb, yb, b, &dropout, &c);
            if (!isfinite(loss) || loss > explode) {
                diverged = true;
                break;
            }
            cv_nn_update(net, e.learning_rate);
            loss_sum += loss * b;
            correct += c;
            seen += b;
        }
        if (stopped) {
            out->status = CV_TRIAL_INTERRUPTED;
            break;
        }
        const double t_train = now() - t0;
        e.train_loss = seen ? loss_sum / (double)seen : NAN;
        e.train_accuracy = seen ? (double)correct / (double)seen : NAN;
        e.samples_per_second = t_train > 0 ? (double)seen / t_train : 0.0;

        if (!diverged) {
            double dev_loss = 0.0;
            int64_t dev_correct = 0;
            cv_nn_evaluate(net, dev->X, dev->y, dev->n, &dev_loss, &dev_correct, NULL);
            e.dev_loss = dev_loss / (double)dev->n;
            e.dev_accuracy = (double)dev_correct / (double)dev->n;
            diverged = !isfinite(e.dev_loss) || !isfinite(e.train_loss);
        } else {
            e.dev_loss = e.dev_accuracy = NAN;
        }
        e.seconds = now() - t0;
        if (diverged) {
            out->status = CV_TRIAL_DIVERGED;
            break;
        }
        out->epochs_done++;
        out->last_dev_accuracy = e.dev_accuracy;
        out->last_dev_loss = e.dev_loss;
        sps_sum += e.samples_per_second;
        if (improves(&e, out, opts->metric)) {
            out->best_epoch = epoch;
            out->dev_accuracy = e.dev_accuracy;
            out->dev_loss = e.dev_loss;
            out->train_accuracy = e.train_accuracy;
            out->train_loss = e.train_loss;
            cv_nn_state_save(net, best);
            since_best = 0;
        } else {
            since_best++;
        }
        if (opts->on_epoch != NULL && opts->on_epoch(&e, opts->user) != 0) {
            out->status = CV_TRIAL_INTERRUPTED;
            break;
        }
        if (cfg->patience > 0 && since_best >= cfg->patience)
            break;
    }
    if (opts->best_state == NULL && out->best_epoch >= opts->first_epoch)
        cv_nn_state_load(net, best);
    out->seconds = now() - t_start;
    out->samples_per_second = out->epochs_done ? sps_sum / out->epochs_done : 0.0;
    free(perm), free(Xb), free(yb), free(own);
    return CV_OK;
}
