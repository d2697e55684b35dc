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
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "caviar/job.h"
#include "caviar/space.h"
#include "commands.h"

static const char sample_usage[] = "usage: caviar sample JOB.yaml [-n N] [--round R] [--all]\n";

typedef struct sample_args {
    const char *job;
    int n;     /* 0: the job's trials per round */
    int round; /* -1: not given */
    bool all;
} sample_args;

static const cv_arg_opt sample_opts[] = {
    {.name = "-n", .kind = CV_ARG_INT, .offset = offsetof(sample_args, n), .lo = 1, .hi = INT_MAX},
    {.name = "--round", .kind = CV_ARG_INT, .offset = offsetof(sample_args, round), .lo = 0,
     .hi = INT_MAX},
    {.name = "--all", .kind = CV_ARG_FLAG, .offset = offsetof(sample_args, all)},
};

static const cv_args_spec sample_spec = {
    .command = "sample",
    .usage = sample_usage,
    .opts = sample_opts,
    .n_opts = (int)(sizeof sample_opts / sizeof *sample_opts),
    .positional = "job file",
    .positional_offset = offsetof(sample_args, job),
};

int cv_cmd_sample(int argc, char **argv)
{
    sample_args args = {.round = -1};
    int rc = cv_args_parse(&sample_spec, argc, argv, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;

    cv_error err = {0};
    cv_job job = {0};
    cv_space *space = NULL;
    if ((rc = cv_job_load(&job, args.job, &err)) != 0 ||
        (rc = cv_space_create(&space, &job, &err)) != 0)
        goto done;

    int round = args.round < 0 ? 0 : args.round;
    int n = args.n > 0 ? args.n : cv_space_trials(space);
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
        column[p] = cv_param_active((cv_param)p) &&
                    (args.all || cv_space_dim_of(space, (cv_param)p) != NULL);
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
