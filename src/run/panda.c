/* panda.c: panda mode: one configuration trained while you watch, one line
 * per epoch, then the best epoch's test accuracy (see caviar/run.h).
 *
 * With a results file the run is also a one-trial study, written through
 * the same recorder as a study: a curve row per epoch (flushed: readable
 * live), the best epoch's checkpoint (written as it improves, so that a
 * killed run keeps it), the trial row at the end. Continuing a trial
 * (babysitting) loads its checkpoint, changes hyperparameters but not the
 * architecture, and records a new trial whose parent is the old one. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caviar/blas.h"
#include "caviar/run.h"
#include "run_int.h"

/* ---- the terminal ------------------------------------------------------------ */

static void print_data(const cv_data *data)
{
    printf("data: %s: %lld train, %lld dev, %lld test, %d features, %d classes\n", data->source,
           (long long)data->train.n, (long long)data->dev.n, (long long)data->test.n, data->d,
           data->classes);
}

static void print_config(const cv_config *cfg)
{
    printf("configuration:");
    for (int p = 0; p < CV_P_PROGRAM; p++) {
        char buf[64];
        cv_param_format((cv_param)p, cv_config_get(cfg, (cv_param)p), buf, sizeof buf);
        printf("%s%s=%s", p % 6 == 0 ? "\n  " : "  ", cv_param_get_info((cv_param)p)->name, buf);
    }
    printf("\n");
}

static void print_epoch(const cv_epoch_stats *e)
{
    printf("%5d  %9.3g  %10.4f  %9.4f  %8.4f  %7.4f  %7.2f  %9.0f\n", e->epoch + 1,
           e->learning_rate, e->train_loss, e->train_accuracy, e->dev_loss, e->dev_accuracy,
           e->seconds, e->samples_per_second);
    fflush(stdout);
}

/* The best epoch's weights (which net holds) on the test set, printed;
 * returns the accuracy, NaN when there is no test set or no epoch. */
static double score_test(cv_nn *net, const cv_data *data, const cv_trial_result *res,
                         const char *which)
{
    if (res->best_epoch < 0 || data->test.n == 0)
        return NAN;
    double loss = 0.0;
    int64_t correct = 0;
    cv_nn_evaluate(net, data->test.X, data->test.y, data->test.n, &loss, &correct, NULL);
    double acc = (double)correct / (double)data->test.n;
    printf("test accuracy %.4f, test loss %.4f (%lld examples, %s)\n", acc,
           loss / (double)data->test.n, (long long)data->test.n, which);
    return acc;
}

/* ---- one recorded run ------------------------------------------------------------ */

/* What a panda run trains and where it goes; it owns all of it. */
typedef struct panda_run {
    cv_job job;
    cv_data data;
    cv_store *store;       /* the results file, or NULL */
    cv_nn *net;            /* initialized, or loaded from the parent's checkpoint */
    cv_trial_row row;      /* trial, round, seed, parent and config set by the caller */
    int first_epoch;       /* epochs already done (continuing) */
    int64_t steps;         /* optimizer steps already taken (continuing) */
    cv_metric metric;
    cv_recorder *rec;      /* NULL: the terminal only */
    cv_error *err;
    int best_epoch;        /* 0-based; -1 before the first */
    double best;           /* the best epoch's metric */
    int failed;            /* the recorder's status once writing failed */
} panda_run;

/* The on_epoch callback: the curve row first (flushed, so that every epoch
 * printed is in the file), then a new best epoch's checkpoint, then the
 * line. A failure to write stops the run. */
static int panda_epoch(const cv_epoch_stats *e, void *user)
{
    panda_run *p = user;
    if (p->rec != NULL) {
        double v = cv_metric_pick(p->metric, e->dev_accuracy, e->dev_loss);
        int rc = cv_recorder_curve(p->rec, p->row.trial, e, p->err);
        if (rc == 0)
            rc = cv_recorder_flush(p->rec, p->err);
        /* the same rule as cv_train's for its best epoch */
        if (rc == 0 && (p->best_epoch < 0 || cv_metric_better(p->metric, v, p->best))) {
            p->best_epoch = e->epoch;
            p->best = v;
            cv_checkpoint_info info = {.trial = p->row.trial,
                                       .epochs = e->epoch + 1,
                                       .dev_accuracy = e->dev_accuracy,
                                       .dev_loss = e->dev_loss,
                                       .seed = p->row.seed};
            rc = cv_recorder_checkpoint(p->rec, p->net, &info, p->err);
        }
        if (rc != 0) {
            p->failed = rc;
            return 1;
        }
    }
    print_epoch(e);
    return 0;
}

/* Trains p->net for its configuration's epochs, printing each, then scores
 * the test set and ends the recorded run. */
static int panda_train(panda_run *p)
{
    printf("%5s  %9s  %10s  %9s  %8s  %7s  %7s  %9s\n", "epoch", "lr", "train_loss", "train_acc",
           "dev_loss", "dev_acc", "seconds", "samples/s");
    fflush(stdout);
    p->best_epoch = -1;
    cv_train_opts opts = {.seed = p->row.seed,
                          .metric = p->metric,
                          .first_epoch = p->first_epoch,
                          .on_epoch = panda_epoch,
                          .user = p};
    if (p->rec != NULL) {
        /* a signal stops the trial at the next mini-batch; it is recorded
         * as interrupted and the file closed cleanly */
        opts.stop = &cv_run_stop;
        cv_run_install_signal_handlers();
    }
    cv_trial_result res;
    int rc = cv_train(p->net, &p->data, &opts, &res, p->err);
    if (rc != 0)
        return rc;
    if (p->failed != 0)
        return p->failed;
    if (p->first_epoch > 0)
        printf("%s after epoch %d in %.1f s; best epoch %d: dev accuracy %.4f, dev loss %.4f\n",
               cv_trial_status_name(res.status), p->first_epoch + res.epochs_done, res.seconds,
               res.best_epoch + 1, res.dev_accuracy, res.dev_loss);
    else
        printf("%s after %d epochs in %.1f s; best epoch %d: dev accuracy %.4f, dev loss %.4f\n",
               cv_trial_status_name(res.status), res.epochs_done, res.seconds,
               res.best_epoch + 1, res.dev_accuracy, res.dev_loss);
    cv_config cfg = p->row.config;
    cv_trial_row_fill(&p->row, &cfg, &res, p->first_epoch);
    p->row.test_accuracy = score_test(p->net, &p->data, &res, "best epoch's weights");
    return p->rec != NULL ? cv_recorder_end_trial(p->rec, &p->row, p->err) : 0;
}

/* This run's row of /runs (panda mode: one rank, this host). */
static int record_provenance(cv_store *store, int threads, cv_error *err)
{
    cv_run_info here;
    cv_provenance_here(&here, "train", 1, threads, NULL);
    return cv_store_append_run(store, &here, err);
}

/* A new results file for a panda run: root, tables, /data, /runs, then SWMR
 * mode. */
static int create_output(cv_store **store, const char *path, const cv_job *job,
                         const cv_data *data, bool force, int threads, cv_error *err)
{
    int rc = cv_store_create(store, path, job, 1, force, err);
    if (rc == 0)
        rc = cv_store_write_data(*store, data, err);
    if (rc == 0)
        rc = record_provenance(*store, threads, err);
    if (rc == 0)
        rc = cv_store_start_swmr(*store, err);
    return rc;
}

/* Closes store, keeping the first failure in rc. */
static int close_store(cv_store **store, int rc, cv_error *err)
{
    cv_error cerr = {0};
    int crc = cv_store_close(*store, &cerr);
    *store = NULL;
    if (rc == 0 && crc != 0) {
        *err = cerr;
        return crc;
    }
    return rc;
}

/* Releases what p owns. */
static void panda_free(panda_run *p)
{
    cv_error ignore = {0};
    cv_recorder_free(p->rec);
    cv_store_close(p->store, &ignore);
    cv_nn_free(p->net);
    cv_data_free(&p->data);
    cv_job_free(&p->job);
}

/* ---- caviar train JOB ------------------------------------------------------------- */

/* A job that still searches some parameters trains trial 0 of round 0 of
 * its space, the configuration a study would try first, and says which
 * parameters were drawn. */
static int draw_config(const cv_job *job, cv_config *cfg, cv_error *err)
{
    cv_space *space = NULL;
    int rc = cv_space_create(&space, job, err);
    if (rc == 0)
        rc = cv_space_sample(space, NULL, 0, 0, cfg, err);
    if (rc == 0) {
        printf("drawn from the search space (round 0, trial 0):");
        for (int d = 0; d < cv_space_dims(space); d++) {
            cv_param p = cv_space_dim_get(space, d)->param;
            char buf[64];
            cv_param_format(p, cv_config_get(cfg, p), buf, sizeof buf);
            printf(" %s=%s", cv_param_get_info(p)->name, buf);
        }
        printf("\n");
    }
    cv_space_free(space);
    return rc;
}

/* caviar train trains caviar's own network: a job naming a program of the
 * user's own is the program's to train. */
static int refuse_trainer(const cv_job *job, cv_error *err)
{
    return cv_fail(err, CV_ERR_INPUT,
                   "%s:%d:%d: this job trains a program of its own (trainer: %s ...): run the "
                   "program itself to babysit one model, or `caviar run` the job (trials: 1 for "
                   "a single configuration)",
                   job->path, job->trainer.pos.line, job->trainer.pos.column,
                   job->trainer.command[0]);
}

int cv_panda_train(const cv_panda_opts *o, cv_error *err)
{
    panda_run p = {.err = err, .row = {.parent = -1}};
    int rc;

    /* Before any work: the results file must be writable and new (or --force). */
    if (o->out != NULL && (rc = cv_store_check_output(o->out, o->force, err)) != 0)
        goto done;
    if ((rc = cv_job_load(&p.job, o->job_path, err)) != 0)
        goto done;
    if (cv_job_has_trainer(&p.job)) {
        rc = refuse_trainer(&p.job, err);
        goto done;
    }
    for (int i = 0; i < o->n_sets; i++)
        if ((rc = cv_job_set(&p.job, o->sets[i], err)) != 0)
            goto done;
    rc = cv_job_is_fixed(&p.job) ? cv_job_fixed_config(&p.job, &p.row.config, err)
                                 : draw_config(&p.job, &p.row.config, err);
    if (rc != 0)
        goto done;
    if ((rc = cv_data_load_job(&p.data, &p.job, err)) != 0)
        goto done;
    print_data(&p.data);
    print_config(&p.row.config);

    cv_blas_set_threads(o->threads);
    const cv_config *cfg = &p.row.config;
    p.net = cv_nn_create(cfg, p.data.d, p.data.classes, cv_train_max_batch(cfg), err);
    if (p.net == NULL) {
        rc = err->code;
        goto done;
    }
    p.row.seed = cv_space_trial_seed(p.job.search.seed, 0, 0);
    cv_nn_init(p.net, p.row.seed);
    p.metric = p.job.search.metric;
    if (o->out != NULL) {
        if ((rc = create_output(&p.store, o->out, &p.job, &p.data, o->force, o->threads,
                                err)) != 0 ||
            (rc = cv_recorder_create(&p.rec, p.store, p.metric, p.job.checkpoints_keep, NULL, 0,
                                     err)) != 0)
            goto done;
        printf("results: %s (trial 0)\n", o->out);
    }
    rc = panda_train(&p);
    if (p.store != NULL)
        rc = close_store(&p.store, rc, err);
done:
    panda_free(&p);
    return rc;
}

/* ---- caviar train --from RESULTS.h5 --trial N ------------------------------------ */

/* Whether paths a and b name the same existing file. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* The largest trial id of a results file's rows, or -1. */
static int64_t max_trial(const cv_trial_row *rows, int64_t n)
{
    int64_t top = -1;
    for (int64_t i = 0; i < n; i++)
        top = rows[i].trial > top ? rows[i].trial : top;
    return top;
}

/* The parent's configuration changed by --set, refused if the architecture
 * would change. */
static int continued_config(const cv_panda_opts *o, const cv_checkpoint_info *info,
                            cv_config *cfg, cv_error *err)
{
    *cfg = info->config;
    int rc;
    for (int i = 0; i < o->n_sets; i++)
        if ((rc = cv_config_assign(cfg, o->sets[i], err)) != 0)
            return rc;
    static const cv_param arch[] = {CV_P_LAYERS, CV_P_HIDDEN_UNITS, CV_P_BATCH_NORM,
                                    CV_P_ACTIVATION};
    for (size_t i = 0; i < sizeof arch / sizeof arch[0]; i++) {
        double was = cv_config_get(&info->config, arch[i]), now = cv_config_get(cfg, arch[i]);
        if (was != now) {
            char w[32], n[32];
            cv_param_format(arch[i], was, w, sizeof w);
            cv_param_format(arch[i], now, n, sizeof n);
            const char *name = cv_param_get_info(arch[i])->name;
            return cv_fail(err, CV_ERR_INPUT,
                           "--set %s=%s: trial %lld's checkpoint has %s=%s, and a checkpoint's "
                           "architecture (layers, hidden_units, batch_norm, activation) cannot "
                           "change: train a new model instead",
                           name, n, (long long)info->trial, name, w);
        }
    }
    char why[256];
    if (cv_config_check(cfg, why, sizeof why) != 0)
        return cv_fail(err, CV_ERR_INPUT, "--set: %s", why);
    return 0;
}

/* From the source file: the job (for the data, unless o names one), the
 * checkpoint to continue loaded into p->net, the parent's row (seed,
 * round; a run killed before its row was written has only its checkpoint,
 * which keeps the seed too), the first free trial id, and the data. */
static int load_parent(const cv_panda_opts *o, panda_run *p, int64_t *next, cv_error *err)
{
    cv_store *src = NULL;
    cv_trial_row *rows = NULL;
    int64_t n_rows = 0;
    cv_checkpoint_info info;
    int rc = cv_store_open(&src, o->from, CV_STORE_READ, err);
    if (rc != 0)
        return rc;
    if (o->job_path != NULL) {
        rc = cv_job_load(&p->job, o->job_path, err);
    } else {
        const char *text = cv_store_job_text(src);
        rc = cv_job_parse(&p->job, cv_store_job_path(src), text, strlen(text), err);
    }
    if (rc == 0 && cv_job_has_trainer(&p->job))
        rc = refuse_trainer(&p->job, err);
    if (rc == 0)
        rc = cv_store_checkpoint_info(src, o->trial, &info, err);
    if (rc == 0)
        rc = continued_config(o, &info, &p->row.config, err);
    if (rc == 0)
        rc = cv_store_read_trials(src, &rows, &n_rows, err);
    if (rc != 0)
        goto done;
    p->row.parent = info.trial;
    p->row.seed = info.seed;
    for (int64_t i = 0; i < n_rows; i++)
        if (rows[i].trial == info.trial)
            p->row.seed = rows[i].seed, p->row.round = rows[i].round;
    *next = max_trial(rows, n_rows);
    *next = (*next > info.trial ? *next : info.trial) + 1;
    p->first_epoch = info.epochs;
    p->steps = info.steps;
    const cv_config *cfg = &p->row.config;
    p->net = cv_nn_create(cfg, info.inputs, info.classes, cv_train_max_batch(cfg), err);
    if (p->net == NULL) {
        rc = err->code;
        goto done;
    }
    if ((rc = cv_store_load_checkpoint(src, info.trial, p->net, err)) != 0)
        goto done;
    rc = close_store(&src, 0, err);
    if (rc != 0)
        goto done;

    /* the same data (the same split by the job's seed), checked against the network */
    if ((rc = cv_data_load_job(&p->data, &p->job, err)) != 0)
        goto done;
    const cv_data *data = &p->data;
    print_data(data);
    if (data->d != info.inputs || data->classes != info.classes)
        rc = cv_fail(err, CV_ERR_INPUT,
                     "%s: %d features and %d classes, but trial %lld's network takes %d "
                     "features and has %d classes",
                     data->source, data->d, data->classes, (long long)info.trial, info.inputs,
                     info.classes);
done:;
    cv_error ignore = {0};
    cv_store_close(src, &ignore);
    free(rows);
    return rc;
}

/* Opens the file a continued trial goes to: dest appended to (it must hold
 * trials trained on the same data), its next free id raising *next. */
static int open_append(cv_store **store, const char *dest, const cv_data *data, int64_t *next,
                       int threads, cv_error *err)
{
    int rc = cv_store_open(store, dest, CV_STORE_APPEND, err);
    if (rc != 0)
        return rc;
    cv_store_data sd;
    if ((rc = cv_store_read_data(*store, &sd, err)) != 0)
        return rc;
    bool match = sd.d == data->d &&
                 memcmp(sd.mean, data->mean, (size_t)sd.d * sizeof *sd.mean) == 0 &&
                 memcmp(sd.std, data->std, (size_t)sd.d * sizeof *sd.std) == 0;
    cv_store_data_free(&sd);
    if (!match)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: its trials were trained on other data (/data differs from %s): "
                       "record the continued trial in a new file",
                       dest, data->source);
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    if ((rc = cv_store_read_trials(*store, &rows, &n, err)) != 0)
        return rc;
    int64_t top = max_trial(rows, n) + 1;
    *next = top > *next ? top : *next;
    free(rows);
    return record_provenance(*store, threads, err);
}

int cv_panda_continue(const cv_panda_opts *o, cv_error *err)
{
    panda_run p = {.err = err};
    int64_t next = 0;
    int rc;

    /* The new trial goes to OUT.h5 (created, or appended to when it is
     * already there), else back into the file it comes from. */
    struct stat st;
    bool same = o->out == NULL || same_file(o->out, o->from);
    bool append_out = !same && !o->force && stat(o->out, &st) == 0;
    if (!same && !append_out && (rc = cv_store_check_output(o->out, o->force, err)) != 0)
        goto done;
    if ((rc = load_parent(o, &p, &next, err)) != 0)
        goto done;
    const char *dest = same ? o->from : o->out;
    rc = same || append_out ? open_append(&p.store, dest, &p.data, &next, o->threads, err)
                            : create_output(&p.store, dest, &p.job, &p.data, o->force, o->threads,
                                            err);
    if (rc != 0)
        goto done;
    p.row.trial = next;
    printf("continuing trial %lld of %s from epoch %d (%lld optimizer steps) as trial %lld of "
           "%s, %d more epochs\n",
           (long long)p.row.parent, o->from, p.first_epoch, (long long)p.steps, (long long)next,
           dest, p.row.config.epochs);
    print_config(&p.row.config);
    cv_blas_set_threads(o->threads);
    /* Appending keeps every checkpoint already there; a new file follows its job. */
    int keep = same || append_out ? CV_CHECKPOINTS_ALL : p.job.checkpoints_keep;
    p.metric = p.job.search.metric;
    if ((rc = cv_recorder_create(&p.rec, p.store, p.metric, keep, NULL, 0, err)) != 0)
        goto done;
    rc = close_store(&p.store, panda_train(&p), err);
    if (rc == 0)
        printf("results: %s: trial %lld (parent %lld)\n", dest, (long long)next,
               (long long)p.row.parent);
done:
    panda_free(&p);
    return rc;
}

/* ---- caviar train --replay RESULTS.h5 --trial N ------------------------------------ */

/* Prints what changes at stretch k: the trial, whose state it copied, and
 * the parameters that differ from the stretch before. */
static void print_change(const cv_stretch *s, int k, const cv_config *was, const cv_config *now)
{
    if (k == 0) {
        printf("epochs %d-%d: trial %lld from scratch\n", s[k].from + 1, s[k].to,
               (long long)s[k].trial);
        return;
    }
    printf("epochs %d-%d: trial %lld, from trial %lld's state at epoch %d:", s[k].from + 1,
           s[k].to, (long long)s[k].trial, (long long)s[k - 1].trial, s[k].from);
    int changed = 0;
    for (int p = 0; p < CV_P_COUNT; p++) {
        double a = cv_config_get(was, (cv_param)p), b = cv_config_get(now, (cv_param)p);
        if (a == b)
            continue;
        char x[32], y[32];
        cv_param_format((cv_param)p, a, x, sizeof x);
        cv_param_format((cv_param)p, b, y, sizeof y);
        if (a != floor(a) || b != floor(b)) /* a real: four digits say the change */
            snprintf(x, sizeof x, "%.4g", a), snprintf(y, sizeof y, "%.4g", b);
        printf(" %s %s -> %s", cv_param_get_info((cv_param)p)->name, x, y);
        changed++;
    }
    printf("%s\n", changed ? "" : " no change");
}

/* The on_epoch callback of a replay: the panda run's, and the figure kept
 * for the comparison. */
typedef struct replay_run {
    panda_run p;
    double *figures; /* (epochs) */
    int epochs;
} replay_run;

static int replay_epoch(const cv_epoch_stats *e, void *user)
{
    replay_run *r = user;
    if (e->epoch >= 0 && e->epoch < r->epochs)
        r->figures[e->epoch] = cv_metric_pick(r->p.metric, e->dev_accuracy, e->dev_loss);
    return panda_epoch(e, &r->p);
}

/* Trains the schedule's stretches as one run: each from the state the
 * one before left (weights, running statistics, optimizer moments and
 * step count), with its own configuration and seed, as the study's
 * workers did. *res: the run's result (its best over every stretch),
 * *last: the dev figure at its last epoch. */
static int replay_train(replay_run *rr, const cv_stretch *s, int n_s, const cv_trial_row *rows,
                        int64_t n_rows, cv_trial_result *res, double *last)
{
    panda_run *p = &rr->p;
    float *state = NULL;
    int rc = 0;
    cv_trial_result best = cv_trial_result_none(CV_TRIAL_DONE);
    printf("%5s  %9s  %10s  %9s  %8s  %7s  %7s  %9s\n", "epoch", "lr", "train_loss", "train_acc",
           "dev_loss", "dev_acc", "seconds", "samples/s");
    for (int k = 0; rc == 0 && k < n_s; k++) {
        const cv_trial_row *r = cv_trial_rows_find(rows, n_rows, s[k].trial);
        const cv_config *was = k > 0 ? &cv_trial_rows_find(rows, n_rows, s[k - 1].trial)->config : NULL;
        print_change(s, k, was, &r->config);
        fflush(stdout);
        cv_nn *net = cv_nn_create(&r->config, p->data.d, p->data.classes,
                                  cv_train_max_batch(&r->config), p->err);
        if (net == NULL) {
            rc = p->err->code;
            break;
        }
        size_t size = cv_nn_state_size(net);
        float *b = malloc(size * sizeof *b);
        if (b == NULL)
            rc = cv_fail(p->err, CV_ERR_NOMEM, "out of memory for a state");
        if (rc == 0) {
            if (k == 0)
                cv_nn_init(net, r->seed);
            else
                cv_nn_state_load(net, state);
            cv_nn_free(p->net);
            p->net = net;
            p->row.seed = r->seed;
            cv_train_opts opts = {.seed = r->seed,
                                  .metric = p->metric,
                                  .first_epoch = s[k].from,
                                  .last_epoch = s[k].to,
                                  .prior = &best,
                                  .best_state = b,
                                  .on_epoch = replay_epoch,
                                  .user = rr};
            rc = cv_train(net, &p->data, &opts, res, p->err);
        } else {
            cv_nn_free(net);
        }
        free(b);
        if (rc == 0 && p->failed != 0)
            rc = p->failed;
        if (rc != 0)
            break;
        if (res->status != CV_TRIAL_DONE || res->epochs_done != s[k].to - s[k].from) {
            printf("the replay stopped at epoch %d (%s)\n", s[k].from + res->epochs_done,
                   cv_trial_status_name(res->status));
            break;
        }
        *last = cv_metric_pick(p->metric, res->last_dev_accuracy, res->last_dev_loss);
        best = *res;
        best.epochs_done = s[k].to;
        float *next = realloc(state, size * sizeof *next);
        if (next == NULL) {
            rc = cv_fail(p->err, CV_ERR_NOMEM, "out of memory for a state");
            break;
        }
        state = next;
        cv_nn_state_save(net, state);
    }
    free(state);
    res->epochs_done = rc == 0 ? best.epochs_done : res->epochs_done;
    return rc;
}

/* Compares the replay's figure of each epoch (mine, by 0-based epoch)
 * with the study's: every epoch of the schedule against the curve row of
 * the trial that trained it there, bit for bit; *compared: how many were
 * found. Returns the epochs that differ, or -1 when the study's curves
 * could not be read. */
static int64_t compare_curves(cv_store *src, const cv_stretch *s, int n_s, const double *mine,
                              cv_metric metric, int64_t *compared)
{
    cv_curve_row *c = NULL;
    int64_t n = 0, differ = 0;
    cv_error ignore = {0};
    *compared = 0;
    if (cv_store_read_curves(src, &c, &n, &ignore) != 0)
        return -1;
    for (int k = 0; k < n_s; k++)
        for (int64_t i = 0; i < n; i++)
            if (c[i].trial == s[k].trial && c[i].epoch > s[k].from && c[i].epoch <= s[k].to) {
                double v = cv_metric_pick(metric, c[i].dev_accuracy, c[i].dev_loss);
                (*compared)++;
                differ += memcmp(&v, &mine[c[i].epoch - 1], sizeof v) != 0;
            }
    free(c);
    return differ;
}

int cv_panda_replay(const cv_panda_opts *o, cv_error *err)
{
    replay_run rr = {.p = {.err = err, .row = {.parent = -1}}};
    panda_run *p = &rr.p;
    cv_store *src = NULL;
    cv_trial_row *rows = NULL;
    cv_lineage_row *lin = NULL;
    cv_stretch *s = NULL;
    int64_t n_rows = 0, n_lin = 0;
    int n_s = 0, rc;

    if (o->out != NULL && (rc = cv_store_check_output(o->out, o->force, err)) != 0)
        goto done;
    if ((rc = cv_store_open(&src, o->replay, CV_STORE_READ, err)) != 0)
        goto done;
    const char *text = cv_store_job_text(src);
    if ((rc = cv_job_parse(&p->job, cv_store_job_path(src), text, strlen(text), err)) != 0)
        goto done;
    if (cv_job_has_trainer(&p->job)) {
        rc = refuse_trainer(&p->job, err);
        goto done;
    }
    if (p->job.search.schedule != CV_SCHEDULE_PBT) {
        rc = cv_fail(err, CV_ERR_INPUT,
                     "%s: a %s study: --replay retrains a pbt member's schedule (use --from to "
                     "continue a trial of this one)",
                     o->replay, cv_job_method_name(&p->job));
        goto done;
    }
    if ((rc = cv_store_read_trials(src, &rows, &n_rows, err)) != 0 ||
        (rc = cv_store_read_lineage(src, &lin, &n_lin, err)) != 0)
        goto done;
    n_rows = cv_trial_rows_fold(rows, n_rows);
    p->metric = p->job.search.metric;
    int64_t id = o->trial;
    if (id == CV_STORE_BEST) { /* the best member that trained the whole budget */
        const cv_trial_row *best =
            cv_trial_rows_best_trained(rows, n_rows, p->job.search.max_epochs, p->metric);
        id = best != NULL ? best->trial : -1;
    }
    if (id < 0 || cv_trial_rows_find(rows, n_rows, id) == NULL) {
        rc = cv_fail(err, CV_ERR_INPUT, "%s: %s", o->replay,
                     id < 0 ? "no trial has trained the whole budget yet"
                            : "no such trial in /trials");
        goto done;
    }
    if ((rc = cv_lineage_schedule(o->replay, lin, n_lin, id, &s, &n_s, err)) != 0)
        goto done;
    for (int k = 0; k < n_s; k++)
        if (cv_trial_rows_find(rows, n_rows, s[k].trial) == NULL) {
            rc = cv_fail(err, CV_ERR_INPUT, "%s: trial %lld of trial %lld's schedule has no row "
                                            "in /trials",
                         o->replay, (long long)s[k].trial, (long long)id);
            goto done;
        }
    const cv_trial_row *target = cv_trial_rows_find(rows, n_rows, id);
    if ((rc = cv_data_load_job(&p->data, &p->job, err)) != 0)
        goto done;
    print_data(&p->data);
    printf("replaying trial %lld of %s: %d stretch%s over %d epochs\n", (long long)id, o->replay,
           n_s, n_s == 1 ? "" : "es", s[n_s - 1].to);
    rr.epochs = s[n_s - 1].to;
    rr.figures = calloc((size_t)rr.epochs, sizeof *rr.figures);
    if (rr.figures == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "out of memory");
        goto done;
    }
    cv_blas_set_threads(o->threads);
    p->row.config = target->config;
    p->row.trial = 0;
    if (o->out != NULL) {
        if ((rc = create_output(&p->store, o->out, &p->job, &p->data, o->force, o->threads,
                                err)) != 0 ||
            (rc = cv_recorder_create(&p->rec, p->store, p->metric, p->job.checkpoints_keep, NULL,
                                     0, err)) != 0)
            goto done;
    }
    p->best_epoch = -1;
    cv_trial_result res;
    double last = NAN;
    if ((rc = replay_train(&rr, s, n_s, rows, n_rows, &res, &last)) != 0)
        goto done;
    int64_t compared = 0, differ = compare_curves(src, s, n_s, rr.figures, p->metric, &compared);
    const char *metric = p->metric == CV_METRIC_DEV_LOSS ? "dev loss" : "dev accuracy";
    printf("replayed trial %lld: %s %.6f at epoch %d, best %.6f at epoch %d\n", (long long)id,
           metric, last, s[n_s - 1].to, cv_metric_pick(p->metric, res.dev_accuracy, res.dev_loss),
           res.best_epoch + 1);
    if (differ == 0 && compared == s[n_s - 1].to)
        printf("identical to the study: the %s of all %lld epochs equals its /curves bit for "
               "bit\n",
               metric, (long long)compared);
    else if (differ < 0)
        fprintf(stderr, "caviar train: warning: %s: the study's /curves could not be read to "
                        "compare\n",
                o->replay);
    else
        fprintf(stderr,
                "caviar train: warning: %lld of %lld epochs differ from the study's /curves "
                "(%lld not found): another kind of machine or another caviar picks other "
                "kernels, see the file's /runs\n",
                (long long)differ, (long long)compared, (long long)(s[n_s - 1].to - compared));
    cv_trial_row_fill(&p->row, &target->config, &res, 0);
    p->row.test_accuracy = score_test(p->net, &p->data, &res, "the last epoch's weights");
    if (p->rec != NULL) {
        rc = cv_recorder_end_trial(p->rec, &p->row, err);
        rc = close_store(&p->store, rc, err);
        if (rc == 0)
            printf("results: %s (trial 0)\n", o->out);
    }
done:;
    cv_error ignore = {0};
    cv_store_close(src, &ignore);
    free(rows), free(lin), free(s), free(rr.figures);
    panda_free(p);
    return rc;
}
