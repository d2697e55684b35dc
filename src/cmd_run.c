/* cmd_run.c: `caviar run` and `caviar resume`: a study under MPI.
 * Every rank parses the same command line, then the run module takes over. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "caviar/job.h"
#include "caviar/report.h"
#include "caviar/run.h"
#include "commands.h"

static const char run_usage[] =
    "usage: mpirun -np N caviar run JOB.yaml [-o RESULTS.h5] [--time-limit SECONDS]\n"
    "                               [--threads-per-worker N] [--force]\n"
    "       mpirun -np N caviar resume RESULTS.h5 [--time-limit SECONDS]\n"
    "                               [--threads-per-worker N]\n";

/* The options of run; resume takes the first two. The positional argument
 * is the job file of run, the results file of resume. */
static const cv_arg_opt study_opts[] = {
    {.name = "--time-limit", .kind = CV_ARG_NUMBER, .offset = offsetof(cv_run_opts, time_limit),
     .lo = 1e-3, .hi = 1e9},
    {.name = "--threads-per-worker", .kind = CV_ARG_INT,
     .offset = offsetof(cv_run_opts, threads_per_worker), .lo = 1, .hi = 1024},
    {.name = "-o", .kind = CV_ARG_STRING, .offset = offsetof(cv_run_opts, results_path)},
    {.name = "--force", .kind = CV_ARG_FLAG, .offset = offsetof(cv_run_opts, overwrite)},
};
#define RESUME_OPTS 2

static const cv_args_spec run_spec = {
    .command = "run",
    .usage = run_usage,
    .opts = study_opts,
    .n_opts = (int)(sizeof study_opts / sizeof *study_opts),
    .positional = "job file",
    .positional_offset = offsetof(cv_run_opts, job_path),
};
static const cv_args_spec resume_spec = {
    .command = "resume",
    .usage = run_usage,
    .opts = study_opts,
    .n_opts = RESUME_OPTS,
    .positional = "results file",
    .positional_offset = offsetof(cv_run_opts, results_path),
};

/* The default results path of a job: NAME.h5 in the current directory. */
static char *default_results(const char *job_path)
{
    const char *base = strrchr(job_path, '/');
    base = base ? base + 1 : job_path;
    size_t len = strcspn(base, ".");
    char *p = malloc(len + 4);
    if (p != NULL)
        snprintf(p, len + 4, "%.*s.h5", (int)len, base);
    return p;
}

/* How many leaderboard rows the end of a study prints. */
#define LEADERBOARD_ROWS 10

/* The study's leaderboard, as caviar report prints it. */
static void print_leaderboard(const char *command, const char *results)
{
    cv_error err = {0};
    fputc('\n', stdout);
    if (cv_report_leaderboard_file(stdout, results, LEADERBOARD_ROWS, &err) != 0)
        fprintf(stderr, "caviar %s: %s\n", command, err.msg);
}

static int study(int argc, char **argv, bool resume)
{
    cv_run_opts o = {.threads_per_worker = 1, .progress = stderr};
    int rc = cv_args_parse(resume ? &resume_spec : &run_spec, argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char *owned = NULL;
    if (!resume && o.results_path == NULL &&
        (o.results_path = owned = default_results(o.job_path)) == NULL)
        return 1;

    MPI_Init(&argc, &argv);
    cv_run_install_signal_handlers();
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0)
        o.progress = NULL;
    cv_error err = {0};
    rc = cv_run(MPI_COMM_WORLD, &o, &err);
    const char *name = resume ? "resume" : "run";
    if (rc < 0 && rank == 0)
        fprintf(stderr, "caviar %s: %s\n", name, err.msg[0] ? err.msg : "failed");
    if (rc == CV_RUN_WORKERS_LOST) {
        /* the file is closed; the ranks given up on would hold MPI_Finalize
         * forever */
        print_leaderboard(name, o.results_path);
        fflush(NULL);
        MPI_Abort(MPI_COMM_WORLD, 0);
    }
    MPI_Finalize();
    if (rc == 0 && rank == 0)
        print_leaderboard(name, o.results_path);
    free(owned);
    return cv_exit_status(rc);
}

int cv_cmd_run(int argc, char **argv)
{
    return study(argc, argv, false);
}

int cv_cmd_resume(int argc, char **argv)
{
    return study(argc, argv, true);
}
