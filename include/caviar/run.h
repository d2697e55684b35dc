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
#include <stdint.h>
#include <stdio.h>

#include <mpi.h>

#include "caviar/error.h"
#include "caviar/store.h"
#include "caviar/train.h"

typedef struct cv_run_opts {
    const char *job_path;     /* caviar run: the job file; NULL when resuming */
    const char *results_path; /* the results file (created, or resumed) */
    bool overwrite;           /* --force: replace an existing results file */
    double time_limit;        /* seconds from the start; 0 = none */
    int threads_per_worker;   /* BLAS threads of each worker (1 by default) */
    FILE *progress;           /* the master's progress stream (stderr), or NULL */
} cv_run_opts;

/* cv_run's status on the master when the study went on without workers
 * that stopped answering (a stuck node: see trial_timeout): the results file
 * is closed, and since MPI_Finalize would wait for those ranks forever, the
 * caller ends the job with MPI_Abort. */
#define CV_RUN_WORKERS_LOST 1

/* Runs (or, without job_path, resumes) a study on comm. Collective: every
 * rank calls it with the same options after MPI_Init. Returns 0 when the
 * study ended or stopped cleanly (signal, time limit: the file is resumable);
 * CV_RUN_WORKERS_LOST (on the master; the other ranks then never return);
 * a negative status with err set otherwise. Workers return the master's
 * status. */
int cv_run(MPI_Comm comm, const cv_run_opts *opts, cv_error *err);

/* ---- panda mode: one configuration, watched ---------------------------------- */

typedef struct cv_panda_opts {
    const char *job_path;     /* the job (caviar train JOB); continuing: its data instead
                                 of the stored job's, or NULL */
    const char *const *sets;  /* (n_sets) --set NAME=VALUE */
    int n_sets;
    int threads;              /* BLAS threads */
    const char *out;          /* the results file to write, or NULL (continuing: NULL
                                 appends to the source file) */
    bool force;               /* replace an existing results file */
    const char *from;         /* continuing: the results file holding the trial */
    int64_t trial;            /* continuing or replaying: its number, or CV_STORE_BEST */
    const char *replay;       /* replaying: the results file of a pbt study */
} cv_panda_opts;

/* caviar train JOB: trains the job's configuration (trial 0 of round 0 of
 * its space when it still searches), one line per epoch on stdout, then the
 * test accuracy of the best epoch's weights; with out, records the run as a
 * one-trial results file. Returns 0 or a negative status with err set. */
int cv_panda_train(const cv_panda_opts *o, cv_error *err);

/* caviar train --from: continues trial o->trial of o->from from its
 * checkpoint (weights, running statistics, optimizer moments and step
 * count) for `epochs` more epochs with its hyperparameters changed by
 * o->sets (not the architecture), the schedule going on from the
 * checkpoint's epoch and the shuffles keyed by the parent's seed, so that
 * continuing unchanged gives what an uninterrupted run would have. The new
 * trial (parent: the old one) is appended to o->from, or to o->out (created,
 * or appended to when it already is a results file). */
int cv_panda_continue(const cv_panda_opts *o, cv_error *err);

/* caviar train --replay: retrains trial o->trial of the pbt study in
 * o->replay (CV_STORE_BEST: the best of those that trained the whole
 * budget) through its whole schedule as one run: the stretches of its
 * ancestors (each from the state the one before left, with its own
 * configuration and seed, as the study's workers trained them), one line
 * per epoch and one per change, then says whether every epoch's figure
 * equals the study's /curves bit for bit (a warning when not). With
 * o->out the run is recorded as a one-trial results file. */
int cv_panda_replay(const cv_panda_opts *o, cv_error *err);

/* ---- training's figures as the store's rows -------------------------------- */

/* Fills a trial row from a configuration and a training result (epochs
 * numbered from 1: first_epoch + 1 is the first epoch of this run).
 * trial, round, worker, seed and parent are the caller's; test_accuracy is
 * NaN. */
void cv_trial_row_fill(cv_trial_row *row, const cv_config *cfg, const cv_trial_result *res,
                       int first_epoch);

/* Fills a curve row from an epoch's figures (cv_epoch_stats counts from 0). */
void cv_curve_row_fill(cv_curve_row *row, int64_t trial, const cv_epoch_stats *e);

/* Installs the SIGTERM/SIGINT/SIGUSR1 handlers that ask a running study to stop:
 * stop dispatching, mark in-flight trials interrupted, close the file. */
void cv_run_install_signal_handlers(void);

#endif
