/* test_train.c: one trial (caviar/train.h) on a synthetic data set built by
 * hand: three Gaussian blobs in 4 dimensions, far enough apart that a small
 * batch-normalized MLP separates them within a few epochs.
 *
 * Checks: the network learns (dev accuracy > 0.9); the epoch callback sees
 * epochs 0..E-1 once each, in order, with figures in range and the
 * schedule's learning rate; a nonzero callback return interrupts; a huge
 * learning rate diverges; patience stops early; the best epoch's state is
 * what the network holds at the end (compared bit for bit with the state
 * saved from inside the callback, and by re-evaluating the dev set);
 * continuing from a saved epoch reproduces the uninterrupted run; identical
 * runs are bit-identical. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caviar/nn.h"
#include "caviar/rng.h"
#include "caviar/train.h"
#include "testutil.h"

enum { D = 4, CLASSES = 3, N_TRAIN = 300, N_DEV = 90, MAX_EPOCHS = 32 };

/* ---- data ------------------------------------------------------------------- */

/* One split of n examples: class k is centred at 3 e_k (k = 0, 1, 2) with
 * standard deviation spread in every dimension; labels in random order. */
static void make_split(cv_dataset *ds, int64_t n, double spread, cv_rng *r)
{
    ds->n = n;
    ds->d = D;
    ds->X = malloc((size_t)n * D * sizeof *ds->X);
    ds->y = malloc((size_t)n * sizeof *ds->y);
    assert_true(ds->X != NULL && ds->y != NULL);
    for (int64_t i = 0; i < n; i++) {
        int k = (int)cv_rng_below(r, CLASSES);
        ds->y[i] = k;
        for (int j = 0; j < D; j++)
            ds->X[i * D + j] = (float)((j == k ? 3.0 : 0.0) + spread * cv_rng_normal(r));
    }
}

/* A cv_data by hand: train and dev splits, no test set; mean/std/source are
 * left NULL (training does not use them). */
static cv_data make_blobs(int64_t n_train, double spread, uint64_t seed)
{
    cv_data data;
    memset(&data, 0, sizeof data);
    cv_rng r;
    cv_rng_seed(&r, seed);
    make_split(&data.train, n_train, spread, &r);
    make_split(&data.dev, N_DEV, spread, &r);
    data.d = D;
    data.classes = CLASSES;
    return data;
}

static void free_blobs(cv_data *data)
{
    free(data->train.X);
    free(data->train.y);
    free(data->dev.X);
    free(data->dev.y);
}

/* ---- configuration and helpers ---------------------------------------------------- */

/* Every field spelled out (independent of the job module's defaults). */
static cv_config train_config(void)
{
    cv_config c;
    memset(&c, 0, sizeof c);
    c.learning_rate = 0.01;
    c.momentum = 0.9;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.epsilon = 1e-8;
    c.layers = 1;
    c.hidden_units = 16;
    c.batch_size = 32;
    c.lr_decay = 0.9;
    c.lr_schedule = CV_LR_EXPONENTIAL;
    c.epochs = 8;
    c.optimizer = CV_OPT_ADAM;
    c.activation = CV_ACT_RELU;
    c.batch_norm = true;
    c.bn_momentum = 0.9;
    c.bn_epsilon = 1e-5;
    c.weight_decay = 0.0;
    c.dropout = 0.0;
    c.init = CV_INIT_HE;
    c.patience = 0;
    return c;
}

static cv_nn *make_net(const cv_config *cfg, int max_batch, uint64_t init_seed)
{
    cv_error err = {0};
    cv_nn *net = cv_nn_create(cfg, D, CLASSES, max_batch, &err);
    CHECK(net != NULL, "cv_nn_create: %s", err.msg);
    cv_nn_init(net, init_seed);
    return net;
}

/* What the epoch callback saw: each epoch's figures and the network's state
 * right after it (the state of that epoch). Returns nonzero at stop_at. */
typedef struct recorder {
    cv_nn *net;
    int calls;
    int stop_at; /* the call (0-based) that asks to stop; -1 = never */
    cv_epoch_stats e[MAX_EPOCHS];
    float *state[MAX_EPOCHS];
} recorder;

static int record(const cv_epoch_stats *e, void *user)
{
    recorder *r = user;
    CHECK(r->calls < MAX_EPOCHS, "more than %d callbacks", MAX_EPOCHS);
    r->e[r->calls] = *e;
    if (r->net != NULL) {
        size_t n = cv_nn_state_size(r->net);
        r->state[r->calls] = malloc(n * sizeof(float));
        assert_non_null(r->state[r->calls]);
        cv_nn_state_save(r->net, r->state[r->calls]);
    }
    return r->calls++ == r->stop_at;
}

static recorder *new_recorder(cv_nn *net, int stop_at)
{
    recorder *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->net = net;
    r->stop_at = stop_at;
    return r;
}

static void free_recorder(recorder *r)
{
    for (int i = 0; i < r->calls; i++)
        free(r->state[i]);
    free(r);
}

static int run(cv_nn *net, const cv_data *data, uint64_t seed, cv_metric metric, int first_epoch,
               recorder *rec, cv_trial_result *res)
{
    cv_train_opts opts = {.seed = seed,
                          .metric = metric,
                          .first_epoch = first_epoch,
                          .on_epoch = rec != NULL ? record : NULL,
                          .user = rec};
    cv_error err = {0};
    int rc = cv_train(net, data, &opts, res, &err);
    CHECK(rc == 0, "cv_train returned %d: %s", rc, err.msg);
    return rc;
}

/* Checks that every callback figure is in range and that the result
 * reports the best of them. */
static void check_epochs(const recorder *rec, const cv_config *cfg, const cv_trial_result *res,
                         int first_epoch, cv_metric metric)
{
    int best = -1;
    for (int k = 0; k < rec->calls; k++) {
        const cv_epoch_stats *e = &rec->e[k];
        CHECK(e->epoch == first_epoch + k, "call %d reports epoch %d", k, e->epoch);
        double lr = cv_lr_at(cfg, e->epoch);
        CHECK(e->learning_rate == lr, "epoch %d: learning rate %g, schedule says %g", e->epoch,
              e->learning_rate, lr);
        CHECK(isfinite(e->train_loss) && e->train_loss > 0.0, "epoch %d: train loss %g", e->epoch,
              e->train_loss);
        CHECK(isfinite(e->dev_loss) && e->dev_loss > 0.0, "epoch %d: dev loss %g", e->epoch,
              e->dev_loss);
        CHECK(e->train_accuracy >= 0.0 && e->train_accuracy <= 1.0, "epoch %d: train accuracy %g",
              e->epoch, e->train_accuracy);
        CHECK(e->dev_accuracy >= 0.0 && e->dev_accuracy <= 1.0, "epoch %d: dev accuracy %g",
              e->epoch, e->dev_accuracy);
        /* The dev accuracy is a count over N_DEV examples. */
        double count = e->dev_accuracy * N_DEV;
        CHECK(fabs(count - round(count)) < 1e-9, "epoch %d: dev accuracy %g is not k/%d",
              e->epoch, e->dev_accuracy, N_DEV);
        CHECK(e->seconds >= 0.0 && e->seconds < 60.0, "epoch %d: %g seconds", e->epoch,
              e->seconds);
        CHECK(e->samples_per_second > 0.0 && isfinite(e->samples_per_second),
              "epoch %d: %g samples/s", e->epoch, e->samples_per_second);
        bool better = best < 0 || (metric == CV_METRIC_DEV_LOSS
                                       ? e->dev_loss < rec->e[best].dev_loss
                                       : e->dev_accuracy > rec->e[best].dev_accuracy);
        if (better)
            best = k;
    }
    CHECK(res->epochs_done == rec->calls, "%d epochs done, %d callbacks", res->epochs_done,
          rec->calls);
    if (best >= 0) {
        const cv_epoch_stats *b = &rec->e[best];
        CHECK(res->best_epoch == b->epoch, "best epoch %d, callbacks say %d", res->best_epoch,
              b->epoch);
        CHECK(res->dev_accuracy == b->dev_accuracy && res->dev_loss == b->dev_loss &&
                  res->train_accuracy == b->train_accuracy && res->train_loss == b->train_loss,
              "the result's figures are not those of its best epoch");
    }
    CHECK(res->seconds >= 0.0, "%g seconds", res->seconds);
}

/* The network's state, bit for bit, equals state. */
static bool net_state_is(const cv_nn *net, const float *state)
{
    size_t n = cv_nn_state_size(net);
    float *now = malloc(n * sizeof *now);
    assert_non_null(now);
    cv_nn_state_save(net, now);
    bool same = memcmp(now, state, n * sizeof *now) == 0;
    free(now);
    return same;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_learns_blobs(void **state)
{
    (void)state;
    cv_data data = make_blobs(N_TRAIN, 1.0, 1);
    cv_config cfg = train_config();
    cv_nn *net = make_net(&cfg, cfg.batch_size, 2);
    recorder *rec = new_recorder(net, -1);
    cv_trial_result res;
    run(net, &data, 3, CV_METRIC_DEV_ACCURACY, 0, rec, &res);

    CHECK(res.status == CV_TRIAL_DONE, "status %s", cv_trial_status_name(res.status));
    CHECK(strcmp(cv_trial_status_name(res.status), "done") == 0, "status name");
    CHECK(rec->calls == cfg.epochs, "%d callbacks for %d epochs", rec->calls, cfg.epochs);
    check_epochs(rec, &cfg, &res, 0, CV_METRIC_DEV_ACCURACY);
    CHECK(res.dev_accuracy > 0.9, "dev accuracy %.3f after %d epochs", res.dev_accuracy,
          cfg.epochs);
    CHECK(res.train_accuracy > 0.8, "train accuracy %.3f", res.train_accuracy);
    CHECK(res.samples_per_second > 0.0, "%g samples/s", res.samples_per_second);
    /* Training helped: the last epoch's training loss is below the first's. */
    CHECK(rec->e[rec->calls - 1].train_loss < rec->e[0].train_loss, "train loss %g -> %g",
          rec->e[0].train_loss, rec->e[rec->calls - 1].train_loss);

    /* The network holds the best epoch's state: the one saved right after
     * that epoch, and its dev figures reproduce the reported ones. */
    CHECK(net_state_is(net, rec->state[res.best_epoch]), "the best epoch's state is not kept");
    double loss = 0.0;
    int64_t correct = 0;
    cv_nn_evaluate(net, data.dev.X, data.dev.y, data.dev.n, &loss, &correct, NULL);
    CHECK((double)correct / N_DEV == res.dev_accuracy, "re-evaluated dev accuracy %g, reported %g",
          (double)correct / N_DEV, res.dev_accuracy);
    CHECK(fabs(loss / N_DEV - res.dev_loss) <= 1e-12 * res.dev_loss,
          "re-evaluated dev loss %.17g, reported %.17g", loss / N_DEV, res.dev_loss);
    free_recorder(rec);
    cv_nn_free(net);
    free_blobs(&data);
}

static void test_best_epoch_is_restored(void **state)
{
    (void)state;
    /* Overlapping blobs and a large SGD step make the dev figures bounce, so
     * that the best epoch is not the last one; both metrics. */
    cv_data data = make_blobs(N_TRAIN, 2.2, 4);
    for (int metric = 0; metric <= 1; metric++) {
        cv_config cfg = train_config();
        cfg.optimizer = CV_OPT_SGD;
        cfg.learning_rate = 2.0;
        cfg.lr_schedule = CV_LR_NONE;
        cfg.batch_size = 16;
        cfg.epochs = 12;
        cv_nn *net = make_net(&cfg, cfg.batch_size, 5);
        recorder *rec = new_recorder(net, -1);
        cv_trial_result res;
        run(net, &data, 6, (cv_metric)metric, 0, rec, &res);
        CHECK(res.status == CV_TRIAL_DONE, "status %s", cv_trial_status_name(res.status));
        check_epochs(rec, &cfg, &res, 0, (cv_metric)metric);
        const int last = rec->calls - 1;
        CHECK(res.best_epoch < last, "metric %d: the best epoch is the last one; pick a noisier setup",
              metric);
        CHECK(!net_state_is(net, rec->state[last]), "the last epoch's state was kept");
        CHECK(net_state_is(net, rec->state[res.best_epoch]),
              "metric %d: the network does not hold epoch %d's state", metric, res.best_epoch);
        double loss = 0.0;
        int64_t correct = 0;
        cv_nn_evaluate(net, data.dev.X, data.dev.y, data.dev.n, &loss, &correct, NULL);
        CHECK((double)correct / N_DEV == res.dev_accuracy && loss / N_DEV == res.dev_loss,
              "re-evaluated dev figures %g / %g, reported %g / %g", (double)correct / N_DEV,
              loss / N_DEV, res.dev_accuracy, res.dev_loss);
        free_recorder(rec);
        cv_nn_free(net);
    }
    free_blobs(&data);
}

static void test_callback_interrupts(void **state)
{
    (void)state;
    cv_data data = make_blobs(N_TRAIN, 1.0, 7);
    cv_config cfg = train_config();
    cv_nn *net = make_net(&cfg, cfg.batch_size, 8);
    recorder *rec = new_recorder(net, 1); /* stop after the second epoch */
    cv_trial_result res;
    run(net, &data, 9, CV_METRIC_DEV_ACCURACY, 0, rec, &res);
    CHECK(res.status == CV_TRIAL_INTERRUPTED, "status %s", cv_trial_status_name(res.status));
    CHECK(strcmp(cv_trial_status_name(res.status), "interrupted") == 0, "status name");
    CHECK(rec->calls == 2, "%d callbacks after asking to stop at the second", rec->calls);
    CHECK(res.epochs_done == 2, "%d epochs done", res.epochs_done);
    check_epochs(rec, &cfg, &res, 0, CV_METRIC_DEV_ACCURACY);
    CHECK(net_state_is(net, rec->state[res.best_epoch]), "the best epoch's state is not kept");
    free_recorder(rec);
    cv_nn_free(net);
    free_blobs(&data);
}

static void test_huge_learning_rate_diverges(void **state)
{
    (void)state;
    /* 1e6 with plain SGD and no batch norm overflows at once (non-finite
     * loss). 100 keeps the losses finite for a while, but they soar above
     * CV_DIVERGED_LOSS_FACTOR * ln(classes) within the first epoch: that rule
     * alone stops it there (without it, this run lasts into epoch 1). */
    cv_data data = make_blobs(N_TRAIN, 1.0, 10);
    const double lrs[2] = {1e6, 100.0};
    for (int i = 0; i < 2; i++) {
        cv_config cfg = train_config();
        cfg.optimizer = CV_OPT_SGD;
        cfg.learning_rate = lrs[i];
        cfg.lr_schedule = CV_LR_NONE;
        cfg.batch_norm = false;
        cv_nn *net = make_net(&cfg, cfg.batch_size, 11);
        recorder *rec = new_recorder(net, -1);
        cv_trial_result res;
        run(net, &data, 12, CV_METRIC_DEV_ACCURACY, 0, rec, &res);
        CHECK(res.status == CV_TRIAL_DIVERGED, "lr %g: status %s", lrs[i],
              cv_trial_status_name(res.status));
        CHECK(strcmp(cv_trial_status_name(res.status), "diverged") == 0, "status name");
        /* Stopped in the first epoch, which is not reported as finished. */
        CHECK(res.epochs_done == 0 && rec->calls == 0 && res.best_epoch == -1,
              "lr %g: %d epochs done, %d callbacks, best epoch %d", lrs[i], res.epochs_done,
              rec->calls, res.best_epoch);
        CHECK(isnan(res.dev_accuracy) && isnan(res.dev_loss), "lr %g: figures without an epoch",
              lrs[i]);
        free_recorder(rec);
        cv_nn_free(net);
    }
    free_blobs(&data);
}

static void test_patience_stops_early(void **state)
{
    (void)state;
    /* A learning rate of 1e-9 and no batch norm (whose running statistics
     * would still move): the dev accuracy never beats epoch 0's, so training
     * stops after 1 + patience epochs. */
    cv_data data = make_blobs(N_TRAIN, 1.0, 13);
    for (int patience = 1; patience <= 3; patience++) {
        cv_config cfg = train_config();
        cfg.optimizer = CV_OPT_SGD;
        cfg.learning_rate = 1e-9;
        cfg.batch_norm = false;
        cfg.epochs = 20;
        cfg.patience = patience;
        cv_nn *net = make_net(&cfg, cfg.batch_size, 14);
        recorder *rec = new_recorder(net, -1);
        cv_trial_result res;
        run(net, &data, 15, CV_METRIC_DEV_ACCURACY, 0, rec, &res);
        CHECK(res.status == CV_TRIAL_DONE, "status %s", cv_trial_status_name(res.status));
        CHECK(res.epochs_done == 1 + patience, "patience %d: %d epochs done", patience,
              res.epochs_done);
        CHECK(res.best_epoch == 0, "best epoch %d", res.best_epoch);
        check_epochs(rec, &cfg, &res, 0, CV_METRIC_DEV_ACCURACY);
        free_recorder(rec);
        cv_nn_free(net);
    }
    /* patience 0 is off: all epochs run. */
    cv_config cfg = train_config();
    cfg.optimizer = CV_OPT_SGD;
    cfg.learning_rate = 1e-9;
    cfg.batch_norm = false;
    cfg.epochs = 6;
    cv_nn *net = make_net(&cfg, cfg.batch_size, 14);
    cv_trial_result res;
    run(net, &data, 15, CV_METRIC_DEV_ACCURACY, 0, NULL, &res);
    CHECK(res.epochs_done == 6, "patience 0: %d epochs done", res.epochs_done);
    cv_nn_free(net);
    free_blobs(&data);
}

static void test_determinism(void **state)
{
    (void)state;
    cv_data data = make_blobs(N_TRAIN, 1.5, 16);
    cv_config cfg = train_config();
    cfg.layers = 2;
    cfg.dropout = 0.2;
    cfg.epochs = 4;
    cv_nn *net[3];
    cv_trial_result res[3];
    const uint64_t train_seed[3] = {17, 17, 18};
    for (int i = 0; i < 3; i++) {
        net[i] = make_net(&cfg, cfg.batch_size, 19);
        run(net[i], &data, train_seed[i], CV_METRIC_DEV_ACCURACY, 0, NULL, &res[i]);
        CHECK(res[i].status == CV_TRIAL_DONE, "run %d: status %s", i,
              cv_trial_status_name(res[i].status));
    }
    CHECK(res[0].best_epoch == res[1].best_epoch && res[0].epochs_done == res[1].epochs_done &&
              res[0].dev_accuracy == res[1].dev_accuracy && res[0].dev_loss == res[1].dev_loss &&
              res[0].train_accuracy == res[1].train_accuracy &&
              res[0].train_loss == res[1].train_loss,
          "identical runs give different results");
    size_t n = cv_nn_state_size(net[0]);
    float *s0 = malloc(n * sizeof *s0);
    assert_non_null(s0);
    cv_nn_state_save(net[0], s0);
    CHECK(net_state_is(net[1], s0), "identical runs leave different states");
    CHECK(!net_state_is(net[2], s0), "training seeds 17 and 18 leave the same state");
    free(s0);
    for (int i = 0; i < 3; i++)
        cv_nn_free(net[i]);
    free_blobs(&data);
}

static void test_continue_from_epoch(void **state)
{
    (void)state;
    /* 4 epochs at once, versus 2 epochs then 2 more from the saved state with
     * first_epoch = 2: every random draw is keyed by epoch, so epochs 2 and 3
     * come out the same, schedule included. */
    cv_data data = make_blobs(N_TRAIN, 1.0, 20);
    cv_config cfg = train_config();
    cfg.dropout = 0.1;
    cfg.epochs = 4;
    cv_nn *whole = make_net(&cfg, cfg.batch_size, 21);
    recorder *rw = new_recorder(whole, -1);
    cv_trial_result res;
    run(whole, &data, 22, CV_METRIC_DEV_ACCURACY, 0, rw, &res);
    CHECK(rw->calls == 4, "%d callbacks", rw->calls);

    cfg.epochs = 2;
    cv_nn *part = make_net(&cfg, cfg.batch_size, 21);
    recorder *r1 = new_recorder(part, -1);
    run(part, &data, 22, CV_METRIC_DEV_ACCURACY, 0, r1, &res);
    CHECK(net_state_is(part, rw->state[1]) && net_state_is(part, r1->state[1]),
          "after 2 epochs the state differs from the uninterrupted run's epoch 1 "
          "(or epoch 1 was not the best: best %d)", res.best_epoch);
    recorder *r2 = new_recorder(part, -1);
    run(part, &data, 22, CV_METRIC_DEV_ACCURACY, 2, r2, &res);
    check_epochs(r2, &cfg, &res, 2, CV_METRIC_DEV_ACCURACY);
    CHECK(r2->calls == 2, "%d callbacks", r2->calls);
    for (int k = 0; k < 2; k++) {
        const cv_epoch_stats *a = &rw->e[2 + k], *b = &r2->e[k];
        CHECK(a->epoch == b->epoch && a->learning_rate == b->learning_rate &&
                  a->train_loss == b->train_loss && a->dev_loss == b->dev_loss &&
                  a->dev_accuracy == b->dev_accuracy,
              "epoch %d differs when continued (dev loss %.17g vs %.17g)", a->epoch, a->dev_loss,
              b->dev_loss);
        CHECK(memcmp(rw->state[2 + k], r2->state[k], cv_nn_state_size(part) * sizeof(float)) == 0,
              "epoch %d: state differs when continued", 2 + k);
    }
    free_recorder(rw);
    free_recorder(r1);
    free_recorder(r2);
    cv_nn_free(whole);
    cv_nn_free(part);
    free_blobs(&data);
}

static void test_odd_sizes(void **state)
{
    (void)state;
    /* 301 examples in batches of 30 (a last batch of one), a batch size
     * above the network's max_batch (clamped), and one above the training
     * set (clamped): all train and stay finite. */
    const struct {
        int64_t n;
        int batch, max_batch;
    } cases[] = {{301, 30, 30}, {300, 64, 16}, {40, 64, 64}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cv_data data = make_blobs(cases[i].n, 1.0, 30 + i);
        cv_config cfg = train_config();
        cfg.batch_size = cases[i].batch;
        cfg.epochs = 3;
        cv_nn *net = make_net(&cfg, cases[i].max_batch, 31);
        recorder *rec = new_recorder(net, -1);
        cv_trial_result res;
        run(net, &data, 32, CV_METRIC_DEV_ACCURACY, 0, rec, &res);
        CHECK(res.status == CV_TRIAL_DONE && res.epochs_done == 3,
              "case %zu: status %s after %d epochs", i, cv_trial_status_name(res.status),
              res.epochs_done);
        check_epochs(rec, &cfg, &res, 0, CV_METRIC_DEV_ACCURACY);
        free_recorder(rec);
        cv_nn_free(net);
        free_blobs(&data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_blobs),
        cmocka_unit_test(test_best_epoch_is_restored),
        cmocka_unit_test(test_callback_interrupts),
        cmocka_unit_test(test_huge_learning_rate_diverges),
        cmocka_unit_test(test_patience_stops_early),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_continue_from_epoch),
        cmocka_unit_test(test_odd_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
