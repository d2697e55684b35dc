/* cmd_train.c: `caviar train`: panda mode: one configuration, trained while
 * you watch, one line per epoch, then the best epoch's test accuracy.
 *
 * With -o RESULTS.h5 the run is also a one-trial results file: a curve row
 * per epoch (flushed: readable live), the best epoch's checkpoint (written as
 * it improves), the trial row at the end. With --from RESULTS.h5 --trial N it
 * continues trial N from its checkpoint (babysitting: same architecture, other
 * hyperparameters by --set) and records a new trial whose parent is N. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caviar/blas.h"
#include "caviar/data.h"
#include "caviar/job.h"
#include "caviar/nn.h"
#include "caviar/space.h"
#include "caviar/store.h"
#include "caviar/train.h"
#include "commands.h"

static const char train_usage[] =
    "usage: caviar train JOB.yaml [--set NAME=VALUE]... [--threads N] [-o RESULTS.h5 [--force]]\n"
    "       caviar train --from RESULTS.h5 --trial N|best [--set NAME=VALUE]... [-o OUT.h5]\n"
    "                    [JOB.yaml]\n"
    "  -o         write the run to a results file (curves, trial row, checkpoint)\n"
    "  --force    replace an existing results file\n"
    "  --from     continue trial N from its checkpoint for `epochs` more epochs; the\n"
    "             new trial (parent N) is appended to RESULTS.h5, or to OUT.h5 with -o\n"
    "             (created, or appended to when it already is a results file); --set\n"
    "             changes anything but the architecture (layers, hidden_units,\n"
    "             batch_norm, activation); the data are the stored job's, or JOB.yaml's\n";

typedef struct train_args {
    const char *job;
    const char **sets; /* (n_sets) NAME=VALUE */
    int n_sets;
    int threads;
    const char *out;   /* -o: the results file to write, or NULL */
    bool force;        /* --force: replace an existing results file */
    const char *from;  /* --from: the results file holding the trial to continue */
    const char *trial; /* --trial: its number, or "best" */
} train_args;

/* Parses argv into args; returns 0, or 2 after printing what was wrong. */
static int parse_args(int argc, char **argv, train_args *args)
{
    /* Options that take a value, as "--opt VALUE" or "--opt=VALUE". */
    static const char *const valued[] = {"--set", "--threads", "-o", "--output", "--from",
                                         "--trial"};
    const int n_valued = (int)(sizeof valued / sizeof valued[0]);
    args->threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        for (int k = 0; k < n_valued && val == NULL; k++) {
            size_t n = strlen(valued[k]);
            if (strcmp(a, valued[k]) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "caviar train: %s needs a value\n%s", a, train_usage);
                    return 2;
                }
                a = valued[k], val = argv[++i];
            } else if (strncmp(a, valued[k], n) == 0 && a[n] == '=') {
                a = valued[k], val = argv[i] + n + 1;
            }
        }
        if (val != NULL && strcmp(a, "--set") == 0) {
            args->sets[args->n_sets++] = val;
        } else if (val != NULL && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)) {
            args->out = val;
        } else if (val != NULL && strcmp(a, "--from") == 0) {
            args->from = val;
        } else if (val != NULL && strcmp(a, "--trial") == 0) {
            args->trial = val;
        } else if (strcmp(a, "--force") == 0) {
            args->force = true;
        } else if (val != NULL) {
            char *end;
            long t = strtol(val, &end, 10);
            if (*end != '\0' || end == val || t < 1 || t > 1024) {
                fprintf(stderr, "caviar train: --threads %s: expected an integer in [1, 1024]\n",
                        val);
                return 2;
            }
            args->threads = (int)t;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(train_usage, stdout);
            return -1; /* asked for help: done */
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "caviar train: unknown option '%s'\n%s", a, train_usage);
            return 2;
        } else if (args->job == NULL) {
            args->job = a;
        } else {
            fprintf(stderr, "caviar train: one job file expected, got '%s' and '%s'\n%s",
                    args->job, a, train_usage);
            return 2;
        }
    }
    if (args->job == NULL && args->from == NULL) {
        fprintf(stderr, "caviar train: no job file given\n%s", train_usage);
        return 2;
    }
    if ((args->from != NULL) != (args->trial != NULL)) {
        fprintf(stderr, "caviar train: %s\n%s",
                args->from ? "--from needs --trial N (the trial to continue)"
                           : "--trial needs --from RESULTS.h5",
                train_usage);
        return 2;
    }
    return 0;
}

static void print_data(const cv_data *data)
{
    printf("data: %s: %lld train, %lld dev, %lld test, %d features, %d classes\n", data->source,
           (long long)data->train.n, (long long)data->dev.n, (long long)data->test.n, data->d,
           data->classes);
}

static void print_config(const cv_config *cfg)
{
    printf("configuration:");
    for (int p = 0; p < CV_P_COUNT; p++) {
        char buf[64];
        cv_param_format((cv_param)p, cv_config_get(cfg, (cv_param)p), buf, sizeof buf);
        printf("%s%s=%s", p % 6 == 0 ? "\n  " : "  ", cv_param_get_info((cv_param)p)->name, buf);
    }
    printf("\n");
}

static int print_epoch(const cv_epoch_stats *e, void *user)
{
    (void)user;
    printf("%5d  %9.3g  %10.4f  %9.4f  %8.4f  %7.4f  %7.2f  %9.0f\n", e->epoch + 1,
           e->learning_rate, e->train_loss, e->train_accuracy, e->dev_loss, e->dev_accuracy,
           e->seconds, e->samples_per_second);
    fflush(stdout);
    return 0;
}

/* ---- results files (-o, --from) ------------------------------------------- */

/* Where a run's epochs go: the terminal, and the results file if any. */
typedef struct epoch_sink {
    cv_store *store; /* NULL: the terminal only */
    cv_nn *net;      /* holds the epoch's state while the callback runs */
    int64_t trial;
    uint64_t seed; /* the trial's training seed, kept with its checkpoint */
    cv_metric metric;
    int best_epoch; /* 0-based; -1 before the first */
    double best_accuracy, best_loss;
    cv_error *err;
    int failed; /* the store's status once writing failed */
} epoch_sink;

/* The on_epoch callback: the curve row first (flushed, so that every epoch
 * printed is in the file), then a new best epoch's checkpoint (so that a
 * killed run keeps it), then the line. A store failure stops the run. */
static int record_epoch(const cv_epoch_stats *e, void *user)
{
    epoch_sink *k = user;
    if (k->store != NULL) {
        cv_curve_row row;
        cv_curve_row_fill(&row, k->trial, e);
        int rc = cv_store_append_curves(k->store, &row, 1, k->err);
        /* the same test as cv_train's for its best epoch */
        bool better = k->best_epoch < 0 || (k->metric == CV_METRIC_DEV_LOSS
                                                ? e->dev_loss < k->best_loss
                                                : e->dev_accuracy > k->best_accuracy);
        if (rc == 0 && better) {
            k->best_epoch = e->epoch;
            k->best_accuracy = e->dev_accuracy;
            k->best_loss = e->dev_loss;
            cv_checkpoint_info info = {.trial = k->trial,
                                       .epochs = e->epoch + 1,
                                       .dev_accuracy = e->dev_accuracy,
                                       .dev_loss = e->dev_loss,
                                       .seed = k->seed};
            rc = cv_store_save_checkpoint(k->store, k->net, &info, k->err);
        }
        if (rc != 0) {
            k->failed = rc;
            return 1;
        }
    }
    return print_epoch(e, NULL);
}

/* SIGINT and SIGTERM while a results file is written stop the trial at the
 * next mini-batch; it is then recorded as interrupted and the file closed
 * cleanly, instead of being left as a killed writer leaves it. */
static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = request_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* A new results file for a train run: root, tables, /data, then SWMR mode. */
static int open_output(cv_store **store, const char *path, const cv_job *job,
                       const cv_data *data, bool force, cv_error *err)
{
    int rc = cv_store_create(store, path, job, 1, force, err);
    if (rc == 0)
        rc = cv_store_write_data(*store, data, err);
    if (rc == 0)
        rc = cv_store_start_swmr(*store, err);
    return rc;
}

/* Ends a recorded run: the trial row, the checkpoints gathered, the file closed. */
static int close_output(cv_store **store, const cv_trial_row *row, int keep, cv_metric metric,
                        cv_error *err)
{
    int rc = cv_store_append_trial(*store, row, err);
    if (rc == 0)
        rc = cv_store_gather_checkpoints(*store, keep, metric, err);
    int crc = cv_store_close(*store, err);
    *store = NULL;
    return rc != 0 ? rc : crc;
}

/* The best epoch's weights (which net holds) on the test set, printed;
 * returns the accuracy, NaN when there is no test set or no epoch. */
static double score_test(cv_nn *net, const cv_data *data, const cv_trial_result *res)
{
    if (res->best_epoch < 0 || data->test.n == 0)
        return NAN;
    double loss = 0.0;
    int64_t correct = 0;
    cv_nn_evaluate(net, data->test.X, data->test.y, data->test.n, &loss, &correct, NULL);
    double acc = (double)correct / (double)data->test.n;
    printf("test accuracy %.4f, test loss %.4f (%lld examples, best epoch's weights)\n", acc,
           loss / (double)data->test.n, (long long)data->test.n);
    return acc;
}

/* --set NAME=VALUE on a configuration (a checkpoint's, when continuing). */
static int apply_set(cv_config *cfg, const char *assignment, cv_error *err)
{
    const char *eq = strchr(assignment, '=');
    if (eq == NULL || eq == assignment)
        return cv_fail(err, CV_ERR_INPUT, "--set %s: expected NAME=VALUE", assignment);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(eq - assignment), assignment);
    int p = cv_param_lookup(name);
    if (p < 0)
        return cv_fail(err, CV_ERR_INPUT, "--set %s: unknown hyperparameter '%s'", assignment,
                       name);
    double v;
    char why[256];
    if (cv_param_parse((cv_param)p, eq + 1, &v, why, sizeof why) != 0)
        return cv_fail(err, CV_ERR_INPUT, "--set %s: %s", assignment, why);
    cv_config_set(cfg, (cv_param)p, v);
    return 0;
}

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

/* caviar train --from RESULTS.h5 --trial N: babysitting. The checkpoint's
 * state (parameters, running statistics, optimizer moments, step count)
 * continues for `epochs` more epochs with the checkpoint's hyperparameters
 * changed by --set, the schedule going on from the checkpoint's epoch and
 * the shuffles keyed by the parent's seed, so that continuing with the same
 * hyperparameters gives what an uninterrupted run would have. */
static int train_from(const train_args *a)
{
    cv_error err = {0};
    cv_store *src = NULL, *store = NULL;
    cv_job job = {0};
    cv_data data = {0};
    cv_nn *net = NULL;
    cv_trial_row *rows = NULL;
    int64_t n_rows = 0;
    int rc = 0;

    int64_t want = CV_STORE_BEST;
    if (strcmp(a->trial, "best") != 0) {
        char *end;
        errno = 0;
        long long v = strtoll(a->trial, &end, 10);
        if (end == a->trial || *end != '\0' || errno != 0 || v < 0) {
            fprintf(stderr, "caviar train: --trial %s: expected a trial number or 'best'\n%s",
                    a->trial, train_usage);
            return 2;
        }
        want = v;
    }
    /* The new trial goes to OUT.h5 (created, or appended to when it is
     * already there), else back into the file it comes from. */
    struct stat st;
    bool same = a->out == NULL || same_file(a->out, a->from);
    bool append_out = !same && !a->force && stat(a->out, &st) == 0;
    if (!same && !append_out && (rc = cv_store_check_output(a->out, a->force, &err)) != 0)
        goto done;

    /* The checkpoint and the job (for the data) from the source file. */
    if ((rc = cv_store_open(&src, a->from, CV_STORE_READ, &err)) != 0)
        goto done;
    rc = a->job != NULL ? cv_job_load(&job, a->job, &err) : cv_job_parse(&job, cv_store_job_path(src), cv_store_job_text(src), strlen(cv_store_job_text(src)), &err);
    if (rc != 0)
        goto done;
    cv_checkpoint_info info;
    if ((rc = cv_store_checkpoint_info(src, want, &info, &err)) != 0)
        goto done;
    const int64_t parent = info.trial;
    cv_config cfg = info.config;
    for (int i = 0; i < a->n_sets; i++)
        if ((rc = apply_set(&cfg, a->sets[i], &err)) != 0)
            goto done;
    static const cv_param arch[] = {CV_P_LAYERS, CV_P_HIDDEN_UNITS, CV_P_BATCH_NORM,
                                    CV_P_ACTIVATION};
    for (size_t i = 0; i < sizeof arch / sizeof arch[0]; i++) {
        double was = cv_config_get(&info.config, arch[i]), now = cv_config_get(&cfg, arch[i]);
        if (was != now) {
            char w[32], n[32];
            cv_param_format(arch[i], was, w, sizeof w);
            cv_param_format(arch[i], now, n, sizeof n);
            const char *name = cv_param_get_info(arch[i])->name;
            rc = cv_fail(&err, CV_ERR_INPUT,
                         "--set %s=%s: trial %lld's checkpoint has %s=%s, and a checkpoint's "
                         "architecture (layers, hidden_units, batch_norm, activation) cannot "
                         "change: train a new model instead",
                         name, n, (long long)parent, name, w);
            goto done;
        }
    }
    char why[256];
    if (cv_config_check(&cfg, why, sizeof why) != 0) {
        rc = cv_fail(&err, CV_ERR_INPUT, "--set: %s", why);
        goto done;
    }
    if ((rc = cv_store_read_trials(src, &rows, &n_rows, &err)) != 0)
        goto done;
    /* The parent's seed and round from its row; a run killed before its row
     * was written has only its checkpoint, which keeps the seed too. */
    cv_trial_row parent_row = {.trial = parent, .seed = info.seed};
    for (int64_t i = 0; i < n_rows; i++)
        if (rows[i].trial == parent)
            parent_row = rows[i];
    int64_t next = max_trial(rows, n_rows);
    next = (next > parent ? next : parent) + 1;

    net = cv_nn_create(&cfg, info.inputs, info.classes, cv_train_max_batch(&cfg), &err);
    if (net == NULL) {
        rc = err.code;
        goto done;
    }
    if ((rc = cv_store_load_checkpoint(src, parent, net, &err)) != 0)
        goto done;
    rc = cv_store_close(src, &err);
    src = NULL;
    if (rc != 0)
        goto done;

    /* The same data (the same split by the job's seed), checked against the network. */
    if ((rc = cv_data_load_job(&data, &job, &err)) != 0)
        goto done;
    print_data(&data);
    if (data.d != info.inputs || data.classes != info.classes) {
        rc = cv_fail(&err, CV_ERR_INPUT,
                     "%s: %d features and %d classes, but trial %lld's network takes %d features "
                     "and has %d classes",
                     data.source, data.d, data.classes, (long long)parent, info.inputs,
                     info.classes);
        goto done;
    }

    /* Where the new trial goes. */
    const char *dest = same ? a->from : a->out;
    if (same || append_out) {
        if ((rc = cv_store_open(&store, dest, CV_STORE_APPEND, &err)) != 0)
            goto done;
        cv_store_data sd;
        if ((rc = cv_store_read_data(store, &sd, &err)) != 0)
            goto done;
        bool match = sd.d == data.d &&
                     memcmp(sd.mean, data.mean, (size_t)sd.d * sizeof *sd.mean) == 0 &&
                     memcmp(sd.std, data.std, (size_t)sd.d * sizeof *sd.std) == 0;
        cv_store_data_free(&sd);
        if (!match) {
            rc = cv_fail(&err, CV_ERR_INPUT,
                         "%s: its trials were trained on other data (/data differs from %s): "
                         "record the continued trial in a new file",
                         dest, data.source);
            goto done;
        }
        if (append_out) {
            free(rows);
            rows = NULL;
            if ((rc = cv_store_read_trials(store, &rows, &n_rows, &err)) != 0)
                goto done;
            int64_t top = max_trial(rows, n_rows) + 1;
            next = top > next ? top : next;
        }
    } else if ((rc = open_output(&store, dest, &job, &data, a->force, &err)) != 0) {
        goto done;
    }

    printf("continuing trial %lld of %s from epoch %d (%lld optimizer steps) as trial %lld of "
           "%s, %d more epochs\n",
           (long long)parent, a->from, info.epochs, (long long)info.steps, (long long)next, dest,
           cfg.epochs);
    print_config(&cfg);
    cv_blas_set_threads(a->threads);
    printf("%5s  %9s  %10s  %9s  %8s  %7s  %7s  %9s\n", "epoch", "lr", "train_loss", "train_acc",
           "dev_loss", "dev_acc", "seconds", "samples/s");
    fflush(stdout);
    epoch_sink sink = {.store = store,
                       .net = net,
                       .trial = next,
                       .seed = parent_row.seed,
                       .metric = job.search.metric,
                       .best_epoch = -1,
                       .err = &err};
    cv_train_opts opts = {.seed = parent_row.seed,
                          .metric = job.search.metric,
                          .first_epoch = info.epochs,
                          .on_epoch = record_epoch,
                          .user = &sink,
                          .stop = &stop_requested};
    catch_stop_signals();
    cv_trial_result res;
    if ((rc = cv_train(net, &data, &opts, &res, &err)) != 0)
        goto done;
    if (sink.failed != 0) {
        rc = sink.failed;
        goto done;
    }
    printf("%s after epoch %d in %.1f s; best epoch %d: dev accuracy %.4f, dev loss %.4f\n",
           cv_trial_status_name(res.status), info.epochs + res.epochs_done, res.seconds,
           res.best_epoch + 1, res.dev_accuracy, res.dev_loss);
    cv_trial_row row = {.trial = next,
                        .round = parent_row.round,
                        .worker = 0,
                        .seed = parent_row.seed,
                        .parent = parent};
    cv_trial_row_fill(&row, &cfg, &res, info.epochs);
    row.test_accuracy = score_test(net, &data, &res);
    /* Appending keeps every checkpoint already there; a new file follows its job. */
    int keep = same || append_out ? CV_CHECKPOINTS_ALL : job.checkpoints_keep;
    if ((rc = close_output(&store, &row, keep, job.search.metric, &err)) != 0)
        goto done;
    printf("results: %s: trial %lld (parent %lld)\n", dest, (long long)next, (long long)parent);

done:
    if (rc != 0)
        fprintf(stderr, "caviar train: %s\n", err.msg[0] ? err.msg : "failed");
    cv_error ignore = {0};
    cv_store_close(src, &ignore);
    cv_store_close(store, &ignore);
    free(rows);
    cv_nn_free(net);
    cv_data_free(&data);
    cv_job_free(&job);
    return cv_exit_status(rc);
}

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

int cv_cmd_train(int argc, char **argv)
{
    const char *sets[argc > 0 ? argc : 1];
    train_args args = {.sets = sets};
    int rc = parse_args(argc, argv, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (args.from != NULL)
        return train_from(&args);

    cv_error err = {0};
    cv_job job = {0};
    cv_data data = {0};
    cv_nn *net = NULL;
    cv_store *store = NULL;
    cv_config cfg;

    /* Before any work: the results file must be writable and new (or --force). */
    if (args.out != NULL && (rc = cv_store_check_output(args.out, args.force, &err)) != 0)
        goto done;
    if ((rc = cv_job_load(&job, args.job, &err)) != 0)
        goto done;
    for (int i = 0; i < args.n_sets; i++)
        if ((rc = cv_job_set(&job, args.sets[i], &err)) != 0)
            goto done;
    if (cv_job_is_fixed(&job))
        rc = cv_job_fixed_config(&job, &cfg, &err);
    else
        rc = draw_config(&job, &cfg, &err);
    if (rc != 0)
        goto done;

    if ((rc = cv_data_load_job(&data, &job, &err)) != 0)
        goto done;
    print_data(&data);
    print_config(&cfg);

    cv_blas_set_threads(args.threads);
    net = cv_nn_create(&cfg, data.d, data.classes, cv_train_max_batch(&cfg), &err);
    if (net == NULL) {
        rc = err.code;
        goto done;
    }
    uint64_t seed = cv_space_trial_seed(job.search.seed, 0, 0);
    cv_nn_init(net, seed);
    if (args.out != NULL) {
        if ((rc = open_output(&store, args.out, &job, &data, args.force, &err)) != 0)
            goto done;
        printf("results: %s (trial 0)\n", args.out);
    }

    printf("%5s  %9s  %10s  %9s  %8s  %7s  %7s  %9s\n", "epoch", "lr", "train_loss", "train_acc",
           "dev_loss", "dev_acc", "seconds", "samples/s");
    fflush(stdout);
    epoch_sink sink = {.store = store,
                       .net = net,
                       .trial = 0,
                       .seed = seed,
                       .metric = job.search.metric,
                       .best_epoch = -1,
                       .err = &err};
    cv_train_opts opts = {
        .seed = seed, .metric = job.search.metric, .on_epoch = record_epoch, .user = &sink};
    if (store != NULL) {
        opts.stop = &stop_requested;
        catch_stop_signals();
    }
    cv_trial_result res;
    if ((rc = cv_train(net, &data, &opts, &res, &err)) != 0)
        goto done;
    if (sink.failed != 0) {
        rc = sink.failed;
        goto done;
    }

    printf("%s after %d epochs in %.1f s; best epoch %d: dev accuracy %.4f, dev loss %.4f\n",
           cv_trial_status_name(res.status), res.epochs_done, res.seconds, res.best_epoch + 1,
           res.dev_accuracy, res.dev_loss);
    double test_accuracy = score_test(net, &data, &res);
    if (store != NULL) {
        cv_trial_row row = {.trial = 0, .round = 0, .worker = 0, .seed = seed, .parent = -1};
        cv_trial_row_fill(&row, &cfg, &res, 0);
        row.test_accuracy = test_accuracy;
        if ((rc = close_output(&store, &row, job.checkpoints_keep, job.search.metric, &err)) != 0)
            goto done;
    }

done:
    if (rc != 0)
        fprintf(stderr, "caviar train: %s\n", err.msg[0] ? err.msg : "failed");
    cv_error ignore = {0};
    cv_store_close(store, &ignore);
    cv_nn_free(net);
    cv_data_free(&data);
    cv_job_free(&job);
    return cv_exit_status(rc);
}
