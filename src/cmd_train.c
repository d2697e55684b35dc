/* cmd_train.c: `caviar train`: panda mode: one configuration, trained while
 * you watch, one line per epoch, then the best epoch's test accuracy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/blas.h"
#include "caviar/data.h"
#include "caviar/job.h"
#include "caviar/nn.h"
#include "caviar/train.h"
#include "commands.h"

/* The smallest chunk the network evaluates dev and test sets in. */
#define EVAL_BATCH 1024

static const char train_usage[] =
    "usage: caviar train JOB.yaml [--set NAME=VALUE]... [--threads N]\n";

typedef struct train_args {
    const char *job;
    const char **sets; /* (n_sets) NAME=VALUE */
    int n_sets;
    int threads;
} train_args;

/* Parses argv into args; returns 0, or 2 after printing what was wrong. */
static int parse_args(int argc, char **argv, train_args *args)
{
    args->threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (strcmp(a, "--set") == 0 || strcmp(a, "--threads") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "caviar train: %s needs a value\n%s", a, train_usage);
                return 2;
            }
            val = argv[++i];
        } else if (strncmp(a, "--set=", 6) == 0) {
            a = "--set", val = argv[i] + 6;
        } else if (strncmp(a, "--threads=", 10) == 0) {
            a = "--threads", val = argv[i] + 10;
        }
        if (val != NULL && strcmp(a, "--set") == 0) {
            args->sets[args->n_sets++] = val;
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
            exit(0);
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
    if (args->job == NULL) {
        fprintf(stderr, "caviar train: no job file given\n%s", train_usage);
        return 2;
    }
    return 0;
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

int cv_cmd_train(int argc, char **argv)
{
    const char *sets[argc > 0 ? argc : 1];
    train_args args = {.sets = sets};
    int rc = parse_args(argc, argv, &args);
    if (rc != 0)
        return rc;

    cv_error err = {0};
    cv_job job = {0};
    cv_data data = {0};
    cv_nn *net = NULL;
    cv_config cfg;

    if ((rc = cv_job_load(&job, args.job, &err)) != 0)
        goto done;
    for (int i = 0; i < args.n_sets; i++)
        if ((rc = cv_job_set(&job, args.sets[i], &err)) != 0)
            goto done;
    if ((rc = cv_job_fixed_config(&job, &cfg, &err)) != 0)
        goto done;

    cv_data_spec spec = {.source = job.data.source,
                         .test = job.data.test,
                         .dev_size = job.data.dev_size,
                         .seed = job.search.seed};
    if ((rc = cv_data_load(&data, &spec, &err)) != 0)
        goto done;
    printf("data: %s: %lld train, %lld dev, %lld test, %d features, %d classes\n", data.source,
           (long long)data.train.n, (long long)data.dev.n, (long long)data.test.n, data.d,
           data.classes);
    print_config(&cfg);

    cv_blas_set_threads(args.threads);
    int max_batch = cfg.batch_size > EVAL_BATCH ? cfg.batch_size : EVAL_BATCH;
    net = cv_nn_create(&cfg, data.d, data.classes, max_batch, &err);
    if (net == NULL) {
        rc = err.code;
        goto done;
    }
    uint64_t seed = cv_hash_key(job.search.seed, 0, 0, 0);
    cv_nn_init(net, seed);

    printf("%5s  %9s  %10s  %9s  %8s  %7s  %7s  %9s\n", "epoch", "lr", "train_loss", "train_acc",
           "dev_loss", "dev_acc", "seconds", "samples/s");
    fflush(stdout);
    cv_train_opts opts = {.seed = seed, .metric = job.search.metric, .on_epoch = print_epoch};
    cv_trial_result res;
    if ((rc = cv_train(net, &data, &opts, &res, &err)) != 0)
        goto done;

    printf("%s after %d epochs in %.1f s; best epoch %d: dev accuracy %.4f, dev loss %.4f\n",
           cv_trial_status_name(res.status), res.epochs_done, res.seconds, res.best_epoch + 1,
           res.dev_accuracy, res.dev_loss);
    if (res.best_epoch >= 0 && data.test.n > 0) {
        double loss = 0.0;
        int64_t correct = 0;
        cv_nn_evaluate(net, data.test.X, data.test.y, data.test.n, &loss, &correct, NULL);
        printf("test accuracy %.4f, test loss %.4f (%lld examples, best epoch's weights)\n",
               (double)correct / (double)data.test.n, loss / (double)data.test.n,
               (long long)data.test.n);
    }

done:
    if (rc != 0)
        fprintf(stderr, "caviar train: %s\n", err.msg[0] ? err.msg : "failed");
    cv_nn_free(net);
    cv_data_free(&data);
    cv_job_free(&job);
    return cv_exit_status(rc);
}
