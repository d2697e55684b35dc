/* cmd_sample.c: `caviar sample JOB.yaml [-n N] [--round R] [--all]`: the
 * configurations a study would try, as CSV, without data or training.
 *
 * The header is trial,round then one column per searched parameter, in
 * vocabulary order (--all adds the constants too, so that every row is a
 * whole configuration); values are written as in a job file. trial counts
 * within the round, as the generator's key does. -n defaults to the job's
 * trials per round. Round R > 0 of a real study samples the region its
 * previous round's results zoomed into; a dry run has no results, so
 * --round R prints round R's draws over the whole space (a note on stderr
 * says so). Output is a pure function of the job: the same file always
 * prints the same rows. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/job.h"
#include "caviar/space.h"
#include "commands.h"

static const char sample_usage[] = "usage: caviar sample JOB.yaml [-n N] [--round R] [--all]\n";

typedef struct sample_args {
    const char *job;
    long n;     /* 0: the job's trials per round */
    long round; /* -1: not given */
    bool all;
} sample_args;

/* A whole decimal number in [lo, hi] for option opt; 0 or -1 after printing. */
static int parse_count(const char *opt, const char *text, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || v < lo || v > hi) {
        fprintf(stderr, "caviar sample: %s %s: expected an integer in [%ld, %ld]\n", opt, text, lo,
                hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses argv; returns 0, or 2 after printing what was wrong. */
static int parse_args(int argc, char **argv, sample_args *args)
{
    args->round = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-n") == 0 || strcmp(a, "--round") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "caviar sample: %s needs a value\n%s", a, sample_usage);
                return 2;
            }
            const char *v = argv[++i];
            if (strcmp(a, "-n") == 0 ? parse_count("-n", v, 1, INT_MAX, &args->n) != 0
                                     : parse_count("--round", v, 0, INT_MAX, &args->round) != 0)
                return 2;
        } else if (strcmp(a, "--all") == 0) {
            args->all = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(sample_usage, stdout);
            return -1; /* asked for help: done */
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "caviar sample: unknown option '%s'\n%s", a, sample_usage);
            return 2;
        } else if (args->job == NULL) {
            args->job = a;
        } else {
            fprintf(stderr, "caviar sample: one job file expected, got '%s' and '%s'\n%s",
                    args->job, a, sample_usage);
            return 2;
        }
    }
    if (args->job == NULL) {
        fprintf(stderr, "caviar sample: no job file given\n%s", sample_usage);
        return 2;
    }
    return 0;
}

int cv_cmd_sample(int argc, char **argv)
{
    sample_args args = {0};
    int rc = parse_args(argc, argv, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;

    cv_error err = {0};
    cv_job job = {0};
    cv_space *space = NULL;
    if ((rc = cv_job_load(&job, args.job, &err)) != 0 ||
        (rc = cv_space_create(&space, &job, &err)) != 0)
        goto done;

    int round = args.round < 0 ? 0 : (int)args.round;
    int n = args.n > 0 ? (int)args.n : cv_space_trials(space);
    if (round >= cv_space_rounds(space)) {
        rc = cv_fail(&err, CV_ERR_INPUT, "--round %d: the job has %d round%s (0 to %d)", round,
                     cv_space_rounds(space), cv_space_rounds(space) == 1 ? "" : "s",
                     cv_space_rounds(space) - 1);
        goto done;
    }
    if (round > 0)
        fprintf(stderr,
                "caviar sample: note: round %d samples where round %d's best trials landed; "
                "without results, these are round %d's draws over the whole space\n",
                round, round - 1, round);

    /* Which columns: the searched parameters, or every parameter. */
    bool column[CV_P_COUNT];
    printf("trial,round");
    for (int p = 0; p < CV_P_COUNT; p++) {
        column[p] = args.all || cv_space_dim_of(space, (cv_param)p) != NULL;
        if (column[p])
            printf(",%s", cv_param_get_info((cv_param)p)->name);
    }
    printf("\n");

    for (int i = 0; i < n; i++) {
        cv_config cfg;
        if ((rc = cv_space_sample(space, NULL, round, i, &cfg, &err)) != 0)
            goto done;
        printf("%d,%d", i, round);
        for (int p = 0; p < CV_P_COUNT; p++) {
            if (!column[p])
                continue;
            char v[64];
            cv_param_format((cv_param)p, cv_config_get(&cfg, (cv_param)p), v, sizeof v);
            printf(",%s", v);
        }
        printf("\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = cv_fail(&err, CV_ERR_IO, "standard output: %s", strerror(errno));

done:
    if (rc != 0)
        fprintf(stderr, "caviar sample: %s\n", err.msg[0] ? err.msg : "failed");
    cv_space_free(space);
    cv_job_free(&job);
    return cv_exit_status(rc);
}
