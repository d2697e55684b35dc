/* cmd_predict.c: `caviar predict`: a kept checkpoint applied to a data set.
 *
 * Loads trial N's (or the best) checkpoint and the standardization stored in
 * the results file, reads the data (the job's test set, or any file the data
 * module reads), runs inference with the running statistics, prints accuracy,
 * loss and the confusion matrix, and writes one CSV row per example:
 * index, label, predicted, p_0 .. p_{C-1}. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"
#include "caviar/job.h"
#include "caviar/nn.h"
#include "caviar/store.h"
#include "caviar/train.h"
#include "commands.h"

/* Confusion matrices wider than this are not printed. */
#define MAX_CONFUSION_CLASSES 30

static const char predict_usage[] =
    "usage: caviar predict RESULTS.h5 [--trial N|best] [--data test|PATH] [-o PRED.csv]\n"
    "  --trial   the trial whose checkpoint predicts (default: best)\n"
    "  --data    'test' (the job's test set, default) or a data file (.csv, .h5, IDX)\n"
    "  -o        write one CSV row per example to PRED.csv ('-': standard output)\n";

typedef struct predict_args {
    const char *results;
    int64_t trial; /* CV_STORE_BEST for best */
    const char *data;
    const char *out;
} predict_args;

static const cv_arg_opt predict_opts[] = {
    {.name = "--trial", .kind = CV_ARG_TRIAL, .offset = offsetof(predict_args, trial)},
    {.name = "--data", .kind = CV_ARG_STRING, .offset = offsetof(predict_args, data)},
    {.name = "-o", .alias = "--output", .kind = CV_ARG_STRING,
     .offset = offsetof(predict_args, out)},
};

const cv_args_spec cv_predict_args = {
    .command = "predict",
    .usage = predict_usage,
    .opts = predict_opts,
    .n_opts = (int)(sizeof predict_opts / sizeof *predict_opts),
    .positional = "results file",
    .positional_offset = offsetof(predict_args, results),
};

/* The job's test set, standardized, checked against the stored standardization
 * (the training data must not have changed since the file was written). */
static int load_test_set(cv_store *store, const cv_store_data *sd, cv_data *data,
                         cv_error *err)
{
    cv_job job = {0};
    int rc = cv_job_parse(&job, cv_store_job_path(store), cv_store_job_text(store), strlen(cv_store_job_text(store)), err);
    if (rc != 0)
        return rc;
    rc = cv_data_load_job(data, &job, err);
    if (rc == 0 && data->test.n == 0)
        rc = cv_fail(err, CV_ERR_INPUT,
                     "%s: the job's data (%s) has no test set: give one with --data PATH",
                     cv_store_path(store), data->source);
    if (rc == 0 && (data->d != sd->d ||
                    memcmp(data->mean, sd->mean, (size_t)sd->d * sizeof *sd->mean) != 0 ||
                    memcmp(data->std, sd->std, (size_t)sd->d * sizeof *sd->std) != 0))
        rc = cv_fail(err, CV_ERR_INPUT,
                     "%s: the training data %s changed since the file was written (its "
                     "standardization differs from /data): give the test set with --data PATH",
                     cv_store_path(store), data->source);
    cv_job_free(&job);
    return rc;
}

static void print_confusion(FILE *out, const int64_t *cm, int C)
{
    if (C > MAX_CONFUSION_CLASSES) {
        fprintf(out, "(confusion matrix not shown for %d classes)\n", C);
        return;
    }
    fprintf(out, "confusion matrix (rows: true class, columns: predicted class):\n%6s", "");
    for (int c = 0; c < C; c++)
        fprintf(out, " %6d", c);
    fprintf(out, "\n");
    for (int t = 0; t < C; t++) {
        fprintf(out, "%6d", t);
        for (int c = 0; c < C; c++)
            fprintf(out, " %6lld", (long long)cm[(size_t)t * C + c]);
        fprintf(out, "\n");
    }
}

static int write_csv(const char *path, const cv_dataset *ds, const float *probs, int C,
                     cv_error *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (f == NULL)
        return cv_fail(err, CV_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "index,label,predicted");
    for (int c = 0; c < C; c++)
        fprintf(f, ",p_%d", c);
    fprintf(f, "\n");
    for (int64_t i = 0; i < ds->n; i++) {
        const float *p = probs + (size_t)i * C; /* (C) */
        int arg = 0;
        for (int c = 1; c < C; c++)
            arg = p[c] > p[arg] ? c : arg;
        fprintf(f, "%lld,%d,%d", (long long)i, (int)ds->y[i], arg);
        for (int c = 0; c < C; c++)
            fprintf(f, ",%.9g", (double)p[c]);
        fprintf(f, "\n");
    }
    int bad = ferror(f);
    if (f == stdout)
        bad |= fflush(f) != 0;
    else
        bad |= fclose(f) != 0;
    if (bad)
        return cv_fail(err, CV_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

/* A study of a program of the user's own has no weights of caviar's: says
 * where the program's own are (CV_ERR_INPUT), or returns 0 for any other. */
static int refuse_program_study(cv_store *store, int64_t trial, cv_error *err)
{
    cv_job job = {0};
    const char *text = cv_store_job_text(store);
    int rc = cv_job_parse(&job, cv_store_job_path(store), text, strlen(text), err);
    if (rc != 0 || !cv_job_has_trainer(&job)) {
        cv_job_free(&job);
        return rc;
    }
    cv_trial_row *rows = NULL;
    int64_t n = 0, best = -1;
    if (trial == CV_STORE_BEST && cv_store_read_trials(store, &rows, &n, err) == 0)
        for (int64_t i = 0; i < n; i++)
            if (isfinite(cv_trial_row_metric(&rows[i], job.search.metric)) &&
                (best < 0 || cv_trial_row_ranks_before(&rows[i], &rows[best], job.search.metric)))
                best = i;
    long long t = trial != CV_STORE_BEST ? (long long)trial : best >= 0 ? (long long)rows[best].trial : -1;
    if (t >= 0)
        rc = cv_fail(err, CV_ERR_INPUT,
                     "%s: this study tuned a program of its own (trainer: %s ...): the weights "
                     "are the program's, not caviar's; trial %lld's are in %s.ckpt/trial_%06lld/ "
                     "(kept for the best checkpoints.keep trials): load them with the program",
                     cv_store_path(store), job.trainer.command[0], t, cv_store_path(store), t);
    else
        rc = cv_fail(err, CV_ERR_INPUT,
                     "%s: this study tuned a program of its own (trainer: %s ...): the weights "
                     "are the program's, not caviar's, in %s.ckpt/trial_NNNNNN/: load them with "
                     "the program",
                     cv_store_path(store), job.trainer.command[0], cv_store_path(store));
    free(rows);
    cv_job_free(&job);
    return rc;
}

int cv_cmd_predict(int argc, char **argv)
{
    predict_args args = {.trial = CV_STORE_BEST, .data = "test"};
    int rc = cv_args_parse(&cv_predict_args, argc, argv, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;

    cv_error err = {0};
    cv_store *store = NULL;
    cv_store_data sd = {0};
    cv_data data = {0};
    cv_dataset own = {0};
    cv_nn *net = NULL;
    float *probs = NULL;
    int64_t *cm = NULL;
    /* With the CSV on standard output, the summary goes to standard error. */
    FILE *out = args.out != NULL && strcmp(args.out, "-") == 0 ? stderr : stdout;

    if ((rc = cv_store_open(&store, args.results, CV_STORE_READ, &err)) != 0 ||
        (rc = refuse_program_study(store, args.trial, &err)) != 0)
        goto done;
    cv_checkpoint_info info;
    if ((rc = cv_store_checkpoint_info(store, args.trial, &info, &err)) != 0)
        goto done;
    if ((rc = cv_store_read_data(store, &sd, &err)) != 0)
        goto done;
    if (sd.d != info.inputs) {
        rc = cv_fail(&err, CV_ERR_INPUT, "%s: /data has %d features but trial %lld's network %d",
                     args.results, sd.d, (long long)info.trial, info.inputs);
        goto done;
    }
    net = cv_nn_create(&info.config, info.inputs, info.classes, CV_EVAL_BATCH, &err);
    if (net == NULL) {
        rc = err.code;
        goto done;
    }
    if ((rc = cv_store_load_checkpoint(store, info.trial, net, &err)) != 0)
        goto done;
    const cv_config *cfg = &info.config;
    char act[32];
    cv_param_format(CV_P_ACTIVATION, (double)cfg->activation, act, sizeof act);
    fprintf(out,
            "model: %s trial %lld%s: %d inputs -> %d x %d %s%s -> %d classes; %d epochs, dev "
            "accuracy %.4f\n",
            args.results, (long long)info.trial, args.trial == CV_STORE_BEST ? " (best)" : "",
            info.inputs, cfg->layers, cfg->hidden_units, act,
            cfg->batch_norm ? " with batch norm" : "", info.classes, info.epochs,
            info.dev_accuracy);

    /* The examples: the job's test set, or a file standardized as the training split was. */
    const cv_dataset *ds;
    if (strcmp(args.data, "test") == 0) {
        if ((rc = load_test_set(store, &sd, &data, &err)) != 0)
            goto done;
        ds = &data.test;
        fprintf(out, "data: the test set of the job's data (%s): %lld examples\n", data.source,
                (long long)ds->n);
    } else {
        if ((rc = cv_dataset_read(&own, args.data, NULL, &err)) != 0)
            goto done;
        if (own.d != info.inputs) {
            rc = cv_fail(&err, CV_ERR_INPUT,
                         "%s: %d features per example, but trial %lld's network takes %d",
                         args.data, own.d, (long long)info.trial, info.inputs);
            goto done;
        }
        cv_dataset_standardize(&own, sd.mean, sd.std);
        ds = &own;
        fprintf(out, "data: %s: %lld examples\n", args.data, (long long)ds->n);
    }
    for (int64_t i = 0; i < ds->n; i++) {
        if (ds->y[i] >= info.classes) {
            rc = cv_fail(&err, CV_ERR_INPUT,
                         "%s: example %lld has label %d, but the network knows classes 0 to %d",
                         args.data, (long long)i, (int)ds->y[i], info.classes - 1);
            goto done;
        }
    }

    const int C = info.classes;
    probs = malloc((size_t)ds->n * (size_t)C * sizeof *probs);
    cm = calloc((size_t)C * (size_t)C, sizeof *cm);
    if (probs == NULL || cm == NULL) {
        rc = cv_fail(&err, CV_ERR_NOMEM, "out of memory for %lld x %d probabilities",
                     (long long)ds->n, C);
        goto done;
    }
    double loss = 0.0;
    int64_t correct = 0;
    cv_nn_evaluate(net, ds->X, ds->y, ds->n, &loss, &correct, probs);
    for (int64_t i = 0; i < ds->n; i++) {
        const float *p = probs + (size_t)i * C; /* (C) */
        int arg = 0;
        for (int c = 1; c < C; c++)
            arg = p[c] > p[arg] ? c : arg;
        cm[(size_t)ds->y[i] * C + arg]++;
    }
    fprintf(out, "accuracy %.4f, loss %.4f (%lld of %lld correct)\n",
            (double)correct / (double)ds->n, loss / (double)ds->n, (long long)correct,
            (long long)ds->n);
    print_confusion(out, cm, C);
    if (args.out != NULL) {
        if ((rc = write_csv(args.out, ds, probs, C, &err)) != 0)
            goto done;
        if (out == stdout)
            fprintf(out, "predictions: %s (%lld rows)\n", args.out, (long long)ds->n);
    }

done:
    if (rc != 0)
        fprintf(stderr, "caviar predict: %s\n", err.msg[0] ? err.msg : "failed");
    cv_error ignore = {0};
    cv_store_close(store, &ignore);
    cv_store_data_free(&sd);
    cv_data_free(&data);
    cv_dataset_free(&own);
    cv_nn_free(net);
    free(probs);
    free(cm);
    return cv_exit_status(rc);
}
