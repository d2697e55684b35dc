/* cmd_train.c: `caviar train`: panda mode (the run module's cv_panda_train
 * and cv_panda_continue do the work): parses the command line and hands
 * over. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "caviar/run.h"
#include "caviar/store.h"
#include "commands.h"

static const char train_usage[] =
    "usage: caviar train JOB.yaml [--set NAME=VALUE]... [--threads N] [-o RESULTS.h5 [--force]]\n"
    "       caviar train --from RESULTS.h5 --trial N|best [--set NAME=VALUE]... [-o OUT.h5]\n"
    "                    [JOB.yaml]\n"
    "       caviar train --replay RESULTS.h5 --trial N|best [-o OUT.h5 [--force]]\n"
    "  -o         write the run to a results file (curves, trial row, checkpoint)\n"
    "  --force    replace an existing results file\n"
    "  --from     continue trial N from its checkpoint for `epochs` more epochs; the\n"
    "             new trial (parent N) is appended to RESULTS.h5, or to OUT.h5 with -o\n"
    "             (created, or appended to when it already is a results file); --set\n"
    "             changes anything but the architecture (layers, hidden_units,\n"
    "             batch_norm, activation); the data are the stored job's, or JOB.yaml's\n"
    "  --replay   retrain trial N of a pbt study through its whole schedule (its\n"
    "             ancestors' stretches and hyperparameter changes) as one run, and say\n"
    "             whether every epoch equals the study's bit for bit; best: the best\n"
    "             member that trained the whole budget\n";

typedef struct train_args {
    const char *job;
    const char **sets; /* (n_sets) NAME=VALUE */
    int n_sets;
    int threads;
    const char *out;   /* -o: the results file to write, or NULL */
    bool force;        /* --force: replace an existing results file */
    const char *from;  /* --from: the results file holding the trial to continue */
    const char *replay; /* --replay: the pbt study holding the trial to retrain */
    int64_t trial;     /* --trial: its number, or CV_STORE_BEST; NO_TRIAL: not given */
} train_args;

#define NO_TRIAL INT64_MIN

static const cv_arg_opt train_opts[] = {
    {.name = "--set", .kind = CV_ARG_LIST, .offset = offsetof(train_args, sets),
     .count = offsetof(train_args, n_sets)},
    {.name = "--threads", .kind = CV_ARG_INT, .offset = offsetof(train_args, threads), .lo = 1,
     .hi = 1024},
    {.name = "-o", .alias = "--output", .kind = CV_ARG_STRING, .offset = offsetof(train_args, out)},
    {.name = "--force", .kind = CV_ARG_FLAG, .offset = offsetof(train_args, force)},
    {.name = "--from", .kind = CV_ARG_STRING, .offset = offsetof(train_args, from)},
    {.name = "--trial", .kind = CV_ARG_TRIAL, .offset = offsetof(train_args, trial)},
    {.name = "--replay", .kind = CV_ARG_STRING, .offset = offsetof(train_args, replay)},
};

/* The job file may be left out with --from (parse_args checks). */
const cv_args_spec cv_train_args = {
    .command = "train",
    .usage = train_usage,
    .opts = train_opts,
    .n_opts = (int)(sizeof train_opts / sizeof *train_opts),
    .positional = "job file",
    .positional_offset = offsetof(train_args, job),
    .positional_optional = true,
};

/* Parses argv into args, whose sets has room for argc values; returns 0,
 * CV_ARGS_HELP after --help, or 2 after printing what was wrong. */
static int parse_args(int argc, char **argv, train_args *args)
{
    args->threads = 1;
    args->trial = NO_TRIAL;
    int rc = cv_args_parse(&cv_train_args, argc, argv, args);
    if (rc != 0)
        return rc;
    if (args->replay != NULL) {
        if (args->from != NULL || args->job != NULL || args->n_sets > 0)
            return cv_args_fail(&cv_train_args, "--replay retrains a schedule as the study "
                                                "trained it: without --from, --set or a job file");
        if (args->trial == NO_TRIAL)
            return cv_args_fail(&cv_train_args, "--replay needs --trial N|best");
        return 0;
    }
    if (args->job == NULL && args->from == NULL)
        return cv_args_fail(&cv_train_args, "no job file given");
    if ((args->from != NULL) != (args->trial != NO_TRIAL))
        return cv_args_fail(&cv_train_args, "%s",
                            args->from ? "--from needs --trial N (the trial to continue)"
                                       : "--trial needs --from RESULTS.h5");
    return 0;
}

int cv_cmd_train(int argc, char **argv)
{
    const char *sets[argc > 0 ? argc : 1];
    train_args args = {.sets = sets};
    int rc = parse_args(argc, argv, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    cv_panda_opts o = {.job_path = args.job,
                       .sets = args.sets,
                       .n_sets = args.n_sets,
                       .threads = args.threads,
                       .out = args.out,
                       .force = args.force,
                       .from = args.from,
                       .trial = args.trial,
                       .replay = args.replay};
    cv_error err = {0};
    rc = args.replay != NULL ? cv_panda_replay(&o, &err)
         : args.from != NULL ? cv_panda_continue(&o, &err)
                             : cv_panda_train(&o, &err);
    if (rc != 0)
        fprintf(stderr, "caviar train: %s\n", err.msg[0] ? err.msg : "failed");
    return cv_exit_status(rc);
}
