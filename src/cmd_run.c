/* cmd_run.c: `caviar run` and `caviar resume`: a study under MPI.
 * Every rank parses the same command line, then the run module takes over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "caviar/job.h"
#include "caviar/run.h"
#include "commands.h"

static const char run_usage[] =
    "usage: mpirun -np N caviar run JOB.yaml [-o RESULTS.h5] [--time-limit SECONDS]\n"
    "                               [--threads-per-worker N] [--force]\n"
    "       mpirun -np N caviar resume RESULTS.h5 [--time-limit SECONDS]\n"
    "                               [--threads-per-worker N]\n";

/* Parses a number option's value into [lo, hi]; 0 or 2 after a message. */
static int number(const char *cmd, const char *opt, const char *val, double lo, double hi,
                  double *out)
{
    char *end;
    double v = strtod(val, &end);
    if (end == val || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "caviar %s: %s %s: expected a number in [%g, %g]\n", cmd, opt, val, lo,
                hi);
        return 2;
    }
    *out = v;
    return 0;
}

/* Parses the arguments of run (resume = false) or resume into o. */
static int parse(int argc, char **argv, bool resume, cv_run_opts *o, const char **input)
{
    const char *cmd = resume ? "resume" : "run";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = strcmp(a, "-o") == 0 || strcmp(a, "--time-limit") == 0 ||
                     strcmp(a, "--threads-per-worker") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "caviar %s: %s needs a value\n%s", cmd, a, run_usage);
            return 2;
        }
        double v;
        if (strcmp(a, "-o") == 0 && !resume) {
            o->results_path = argv[++i];
        } else if (strcmp(a, "--time-limit") == 0) {
            if (number(cmd, a, argv[++i], 1e-3, 1e9, &v) != 0)
                return 2;
            o->time_limit = v;
        } else if (strcmp(a, "--threads-per-worker") == 0) {
            if (number(cmd, a, argv[++i], 1, 1024, &v) != 0 || v != (int)v)
                return 2;
            o->threads_per_worker = (int)v;
        } else if (strcmp(a, "--force") == 0 && !resume) {
            o->overwrite = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(run_usage, stdout);
            return -1; /* asked for help: done */
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "caviar %s: unknown option '%s'\n%s", cmd, a, run_usage);
            return 2;
        } else if (*input == NULL) {
            *input = a;
        } else {
            fprintf(stderr, "caviar %s: one %s expected, got '%s' and '%s'\n%s", cmd,
                    resume ? "results file" : "job file", *input, a, run_usage);
            return 2;
        }
    }
    if (*input == NULL) {
        fprintf(stderr, "caviar %s: no %s given\n%s", cmd, resume ? "results file" : "job file",
                run_usage);
        return 2;
    }
    return 0;
}

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

static int study(int argc, char **argv, bool resume)
{
    cv_run_opts o = {.threads_per_worker = 1, .progress = stderr, .report = stdout};
    const char *input = NULL;
    int rc = parse(argc, argv, resume, &o, &input);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char *owned = NULL;
    if (resume) {
        o.results_path = input;
    } else {
        o.job_path = input;
        if (o.results_path == NULL && (o.results_path = owned = default_results(input)) == NULL)
            return 1;
    }

    MPI_Init(&argc, &argv);
    cv_run_install_signal_handlers();
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0)
        o.progress = o.report = NULL;
    cv_error err = {0};
    rc = cv_run(MPI_COMM_WORLD, &o, &err);
    if (rc != 0 && rank == 0)
        fprintf(stderr, "caviar %s: %s\n", resume ? "resume" : "run",
                err.msg[0] ? err.msg : "failed");
    MPI_Finalize();
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
