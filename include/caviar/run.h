/* caviar/run.h: the study runner: an MPI master and its workers.
 *
 * Rank 0 is the master: it reads the job and the data once, broadcasts the
 * data, samples each round's configurations from the search space, hands
 * them out one at a time to whichever worker is free (dynamic
 * self-scheduling), and writes what comes back (curve points, results,
 * checkpoints) through the store. Ranks >= 1 are workers: each trains one
 * configuration at a time on one core. With a single rank the master trains
 * the trials itself. Round r + 1 is sampled in the region zoomed from round
 * r once round r has ended, so that the study is deterministic whatever the
 * number of workers.
 *
 * The idle master and idle workers never spin: they poll (MPI_Iprobe) and
 * sleep between polls, so that `mpirun -np cores+1` gives every core to
 * training. */
#ifndef CAVIAR_RUN_H
#define CAVIAR_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include <mpi.h>

#include "caviar/error.h"

typedef struct cv_run_opts {
    const char *job_path;     /* caviar run: the job file; NULL when resuming */
    const char *results_path; /* the results file (created, or resumed) */
    bool overwrite;           /* --force: replace an existing results file */
    double time_limit;        /* seconds from the start; 0 = none */
    int threads_per_worker;   /* BLAS threads of each worker (1 by default) */
    FILE *progress;           /* the master's progress stream (stderr), or NULL */
    FILE *report;             /* where the final leaderboard goes (stdout), or NULL */
} cv_run_opts;

/* Runs (or, without job_path, resumes) a study on comm. Collective: every
 * rank calls it with the same options after MPI_Init. Returns 0 when the
 * study ended or stopped cleanly (signal, time limit: the file is resumable);
 * a negative status with err set otherwise. Workers return the master's
 * status. */
int cv_run(MPI_Comm comm, const cv_run_opts *opts, cv_error *err);

/* Installs the SIGTERM/SIGINT/SIGUSR1 handlers that ask a running study to stop:
 * stop dispatching, mark in-flight trials interrupted, close the file. */
void cv_run_install_signal_handlers(void);

#endif
