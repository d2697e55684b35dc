/* cmd_validate.c: `caviar validate JOB.yaml`: parse and check a job without
 * touching data, and print the search space it resolves to: each searched
 * parameter with its distribution, range, scale and how many values it can
 * take, then the constants, then warnings about specs that are valid but
 * probably not what was meant. Exit 0 when the job is valid (warnings or
 * not), 2 with the error otherwise. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "caviar/job.h"
#include "caviar/space.h"
#include "commands.h"

static const char validate_usage[] = "usage: caviar validate JOB.yaml\n";

typedef struct validate_args {
    const char *job;
} validate_args;

static const cv_args_spec validate_spec = {
    .command = "validate",
    .usage = validate_usage,
    .positional = "job file",
    .positional_offset = offsetof(validate_args, job),
};

static const char *const metric_names[] = {"dev_accuracy", "dev_loss"};

static const char *scale_name(cv_scale scale)
{
    switch (scale) {
    case CV_SCALE_LOG: return "log10(x)";
    case CV_SCALE_ONE_MINUS_LOG: return "log10(1 - x)";
    case CV_SCALE_CATEGORICAL: return "categorical";
    case CV_SCALE_LINEAR: break;
    }
    return "linear";
}

static void print_warning(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "%s\n", msg);
}

/* The table of searched parameters. */
static void print_searched(const cv_space *s)
{
    cv_region full;
    char range[CV_P_COUNT][48]; /* long value lists end with ", ...}" */
    int width = (int)strlen("range");
    int dims = cv_space_dims(s);
    bool grid = cv_space_method(s) == CV_METHOD_GRID;

    cv_space_full_region(s, &full);
    for (int d = 0; d < dims; d++) {
        const cv_space_dim *dim = cv_space_dim_get(s, d);
        int n = cv_space_region_format(s, &full, dim->param, range[d], sizeof range[d]);
        if (n > width)
            width = n < (int)sizeof range[d] ? n : (int)sizeof range[d] - 1;
    }
    printf("searched parameters (%d):\n", dims);
    if (dims == 0)
        return;
    printf("  %-14s %-22s %-*s %-13s %s\n", "name", "distribution", width, "range", "scale",
           grid ? "values      grid points" : "values");
    for (int d = 0; d < dims; d++) {
        const cv_space_dim *dim = cv_space_dim_get(s, d);
        char count[32];
        if (dim->count > 0)
            snprintf(count, sizeof count, "%d", dim->count);
        else
            snprintf(count, sizeof count, "continuous");
        printf("  %-14s %-22s %-*s %-13s ", cv_param_get_info(dim->param)->name,
               cv_dist_name(dim->dist), width, range[d], scale_name(dim->scale));
        if (grid)
            printf("%-10s  %d\n", count, dim->points);
        else
            printf("%s\n", count);
    }
}

/* The parameters of the vocabulary in use (caviar's, or a program's). */
static int active_count(void)
{
    int n = 0;
    for (int p = 0; p < CV_P_COUNT; p++)
        n += cv_param_active((cv_param)p);
    return n;
}

/* The constants, "(default)" for those the job does not give. */
static void print_constants(const cv_job *job, const cv_space *s)
{
    const cv_config *base = cv_space_base(s);
    printf("constants (%d):\n", active_count() - cv_space_dims(s));
    for (int p = 0; p < CV_P_COUNT; p++) {
        if (cv_space_dim_of(s, (cv_param)p) != NULL || !cv_param_active((cv_param)p))
            continue;
        char v[64];
        cv_param_format((cv_param)p, cv_config_get(base, (cv_param)p), v, sizeof v);
        printf("  %-14s %s%s\n", cv_param_get_info((cv_param)p)->name, v,
               job->params[p].given ? "" : " (default)");
    }
}

int cv_cmd_validate(int argc, char **argv)
{
    validate_args args = {0};
    int status = cv_args_parse(&validate_spec, argc, argv, &args);
    if (status != 0)
        return status < 0 ? 0 : status;

    cv_error err = {0};
    cv_job job = {0};
    cv_space *space = NULL;
    int rc;
    if ((rc = cv_job_load(&job, args.job, &err)) != 0 ||
        (rc = cv_space_create(&space, &job, &err)) != 0)
        goto done;

    int trials = cv_space_trials(space), rounds = cv_space_rounds(space);
    printf("job: %s (name: %s)\n", job.path, job.name);
    if (cv_job_has_trainer(&job)) {
        printf("trainer:");
        for (int i = 0; i < job.trainer.n_command; i++)
            printf(" %s", job.trainer.command[i]);
        printf(" (in %s)\n", job.trainer.workdir);
    } else {
        printf("data: %s%s%s\n", job.data.source, job.data.test ? ", test " : "",
               job.data.test ? job.data.test : "");
    }
    printf("search: %s, %d trial%s per round, %d round%s", cv_job_method_name(&job),
           trials, trials == 1 ? "" : "s", rounds, rounds == 1 ? "" : "s");
    if (rounds > 1)
        printf(" (the best %d of each define the next region)", cv_space_keep_count(space, trials));
    printf(", seed %llu, metric %s\n", (unsigned long long)job.search.seed,
           metric_names[job.search.metric]);
    if (job.search.schedule == CV_SCHEDULE_PBT) {
        const cv_pbt_spec *pbt = &job.search.pbt;
        int exploited = cv_job_pbt_exploited(&job);
        printf("population-based training: a population of %d in %d generations of %d epochs "
               "(to %d); each generation the bottom %d copy the top %d and explore:",
               trials, cv_job_pbt_generations(&job), pbt->interval, job.search.max_epochs,
               exploited, exploited);
        for (int p = 0; p < CV_P_COUNT; p++)
            if (pbt->mutate[p])
                printf(" %s", cv_param_get_info((cv_param)p)->name);
        printf(" (resampled with probability %g, else moved by", pbt->resample);
        for (int k = 0; k < pbt->n_factors; k++)
            printf("%s x%g", k ? "," : "", pbt->factors[k]);
        printf(" on its own scale)\n");
    } else if (job.search.schedule != CV_SCHEDULE_FULL) {
        printf("successive halving: rungs of");
        int64_t b = job.search.min_epochs;
        for (; b < job.search.max_epochs; b *= job.search.reduction_factor)
            printf(" %lld,", (long long)b);
        printf(" %d epochs; the best 1/%d of a rung go on; %d bracket%s\n",
               job.search.max_epochs, job.search.reduction_factor, job.search.brackets,
               job.search.brackets == 1 ? "" : "s");
    }
    print_searched(space);
    print_constants(&job, space);
    int warnings = cv_space_advise(space, print_warning, NULL);
    long long total = (long long)trials * rounds;
    if (job.search.schedule == CV_SCHEDULE_PBT) /* and each exploit starts a trial */
        total += (long long)(cv_job_pbt_generations(&job) - 1) * cv_job_pbt_exploited(&job);
    printf("valid: %d searched, %d constant; %lld trial%s in all; %d warning%s\n",
           cv_space_dims(space), active_count() - cv_space_dims(space), total, total == 1 ? "" : "s",
           warnings, warnings == 1 ? "" : "s");

done:
    if (rc != 0)
        fprintf(stderr, "caviar validate: %s\n", err.msg[0] ? err.msg : "failed");
    cv_space_free(space);
    cv_job_free(&job);
    return cv_exit_status(rc);
}
