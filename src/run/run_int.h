/* run_int.h: the run module's private interfaces. A study is four pieces
 * with small seams between them:
 *
 *   scheduler   which segments exist and when the next ones are decided
 *               (rounds.c: random, grid and Sobol rounds with coarse-to-fine
 *               zoom; the adaptive schedulers plug in behind cv_scheduler)
 *   transport   hands segments to free workers and brings back what they
 *               send: curve points and results with their state
 *               (transport.c: MPI messages and polling, or training on the
 *               master itself when it is the only rank); it knows segments,
 *               not rounds
 *   recorder    writes what comes back through the store: curve and trial
 *               rows (buffered, flushed often), checkpoints, and the end of
 *               a study or of a panda run (recorder.c)
 *   progress    the terminal: a line per finished trial or a live bar, and
 *               the closing summary (progress.c)
 *
 * run.c drives a study with them (and gives up on stuck workers); share.c
 * puts the data in one shared-memory window per node; provenance.c records
 * what a run's figures depend on; panda.c trains one configuration, or
 * continues a checkpoint, with the same recorder. */
#ifndef CAVIAR_RUN_INT_H
#define CAVIAR_RUN_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <mpi.h>

#include "caviar/config.h"
#include "caviar/run.h"
#include "caviar/data.h"
#include "caviar/error.h"
#include "caviar/job.h"
#include "caviar/nn.h"
#include "caviar/space.h"
#include "caviar/store.h"
#include "caviar/train.h"

/* Set by SIGTERM/SIGINT/SIGUSR1 (run.c); cv_run_stop also by the master's
 * abort on a worker. Training checks cv_run_stop between mini-batches. */
extern volatile sig_atomic_t cv_run_signal;
extern volatile sig_atomic_t cv_run_stop;

/* ---- segments ---------------------------------------------------------------
 * The unit of work: train trial `trial` (configuration `config`, seed
 * `seed`) from epoch from_epoch to to_epoch: from scratch when from_epoch
 * is 0, else from the state its last segment left (which goes with the
 * segment). Random, grid and Sobol rounds are one segment per trial, 0 to
 * config.epochs; successive halving one per rung. */
typedef struct cv_segment {
    int64_t trial;
    int32_t round;
    int32_t bracket, rung; /* halving's (0 for other schedulers) */
    uint64_t seed;
    cv_config config;      /* config.epochs: the trial's whole budget */
    int32_t from_epoch, to_epoch;
    cv_trial_result prior; /* the trial's best of its earlier segments (best_epoch
                              -1: none) */
    double prior_seconds;  /* their training seconds */
} cv_segment;

/* What a segment hands back besides its result: the state of its best
 * epoch, when one of its epochs became the trial's best (for the
 * checkpoint), and the state of its last epoch, when the trial may go on
 * (a segment that trained to its end short of the trial's budget). */
typedef struct cv_segment_states {
    const float *best;
    int64_t n_best;
    const float *last;
    int64_t n_last;
    /* a program's segment (a job with a trainer): how it ended, or NULL */
    const struct cv_program_outcome *outcome;
} cv_segment_states;

/* Trains seg on data wherever it runs (a worker, or the single-rank
 * master), from start (n_start floats: the state to continue from, when
 * seg->from_epoch > 0). *net receives the network left at the segment's
 * last epoch, or NULL if it could not be created (res says failed);
 * *best (cv_nn_state_size floats, free() it) the best epoch's state when an
 * epoch of this segment became the trial's best, else NULL. */
int cv_segment_train(const cv_data *data, const cv_segment *seg, const float *start,
                     int64_t n_start, cv_metric metric, cv_epoch_fn on_epoch, void *user,
                     cv_nn **net, float **best, cv_trial_result *res, cv_error *err);

/* ---- a program of the user's own (program.c) ----------------------------------
 * One segment of the job's trainer.command (see program.c for the whole
 * contract). */

/* The last bytes of a program's output kept for the results file. */
#define CV_PROGRAM_TAIL 4096
/* The named values a metric line may carry besides epoch. */
#define CV_PROGRAM_LINE_VALUES 16

/* A parsed `CAVIAR epoch=3 dev_accuracy=0.88 ...` line. */
typedef struct cv_program_line {
    int epoch; /* >= 1 */
    int n;
    char names[CV_PROGRAM_LINE_VALUES][32];
    double values[CV_PROGRAM_LINE_VALUES];
} cv_program_line;

/* Parses one line of output (without its newline): 1 for a metric line
 * (out filled), 0 for any other line, -1 for a line that starts with
 * "CAVIAR " but is not one (why says what is wrong: no epoch, a pair that is
 * not name=value, a value that is not a number). Values may be nan or inf;
 * whether that is acceptable is the caller's to say. */
int cv_program_parse_line(const char *line, cv_program_line *out, char *why, size_t why_size);

/* The value called name in l, or NaN. */
double cv_program_line_get(const cv_program_line *l, const char *name);

/* The argv of trainer t for configuration cfg (NULL-terminated, free with
 * cv_program_argv_free): each item with its "{name}" replaced by the
 * parameter's value as a job file writes it, "{{" and "}}" by braces;
 * whatever else it holds kept as it is. */
int cv_program_argv(const cv_trainer *t, const cv_config *cfg, char ***argv, cv_error *err);
void cv_program_argv_free(char **argv);

/* Every active parameter of cfg as a JSON object (malloc'ed), or NULL. */
char *cv_program_params_json(const cv_config *cfg);

/* The files of a trial under root (RESULTS.h5.ckpt): its checkpoint
 * directory, log and parameter file. */
typedef struct cv_program_files {
    char dir[4200], log[4200], params[4200];
} cv_program_files;
void cv_program_paths(const char *root, int64_t trial, cv_program_files *f);

/* Makes trial to's checkpoint directory under root a copy of trial from's
 * (PBT's exploit). Returns 0, CV_ERR_INPUT when from has none, CV_ERR_IO. */
int cv_program_copy_checkpoint(const char *root, int64_t from, int64_t to, cv_error *err);

/* Removes the checkpoint directories under root of every trial not in
 * keep[0..n_keep) (none when keep_all). */
void cv_program_prune(const char *root, const int64_t *keep, int64_t n_keep, bool keep_all);

/* Where and how a worker runs programs. */
typedef struct cv_program_ctx {
    cv_trainer trainer; /* command and grace as the job says; workdir absolute */
    char *root;         /* the results file's side directory, absolute */
    cv_metric metric;
    double timeout;     /* trial_timeout: seconds a segment may run (0: none) */
    int threads;        /* CAVIAR_THREADS (and OMP_NUM_THREADS unless set) */
    const volatile sig_atomic_t *stop; /* a stop, when set (cv_run_stop) */
    int (*should_stop)(void *user);    /* polled while the program is quiet, or NULL */
    cv_epoch_fn on_epoch;              /* each recorded epoch; nonzero: stop */
    void *user;
} cv_program_ctx;

/* How a program's segment ended, besides its result. */
typedef struct cv_program_outcome {
    char why[CV_FAILURE_REASON_LEN + 1]; /* failed or interrupted: the reason */
    char tail[CV_PROGRAM_TAIL + 1]; /* the last of its output */
    int exit_status;                /* -1 unless it exited */
    int signal;                     /* the signal that ended it, or 0 */
} cv_program_outcome;

/* Runs seg's program to its end (see program.c) and fills res as
 * cv_segment_train does (the trial's best over seg->prior and this
 * segment; epochs_done and seconds of this segment) with status done,
 * failed or interrupted, and out with why. Returns 0 whatever the
 * program did; a negative status only when it could not be tried (memory). */
int cv_program_segment(const cv_program_ctx *ctx, const cv_segment *seg, cv_trial_result *res,
                       cv_program_outcome *out, cv_error *err);

/* ---- scheduler ----------------------------------------------------------------
 * What a scheduler implements. Its decisions may depend only on results
 * fixed by the job (never on which segment happened to finish first), so
 * that a study gives the same table on any number of workers. */
typedef struct cv_scheduler_ops {
    /* The next segment to dispatch: 1 with *seg filled, 0 when none is ready
     * until results of segments in flight come back (or the plan is
     * complete), or a negative status. */
    int (*next)(void *self, cv_segment *seg, cv_error *err);
    /* A dispatched segment ended with row (done, diverged or failed), its
     * trial's row; seg is the segment's row of /segments. */
    int (*finished)(void *self, const cv_trial_row *row, const cv_segment_row *seg,
                    cv_error *err);
    /* A dispatched segment was interrupted: it is to be run again. */
    void (*requeue)(void *self, int64_t trial);
    /* Whether every segment of the plan has finished. */
    bool (*complete)(const void *self);
    /* The trials finished so far (those of the file when resuming included). */
    int64_t (*finished_count)(const void *self);
    /* The trials the plan holds in all. */
    int64_t (*planned)(const void *self);
    /* Optional (NULL: trials are the measure): the epochs the plan trains
     * in all, and those trained so far (the file's included), when trials
     * differ in what they cost (successive halving). */
    int64_t (*planned_epochs)(const void *self);
    int64_t (*epochs_done)(const void *self);
    void (*free)(void *self);
} cv_scheduler_ops;

typedef struct cv_scheduler {
    const cv_scheduler_ops *ops;
    void *self;
} cv_scheduler;

/* ---- recorder ---------------------------------------------------------------- */

typedef struct cv_recorder cv_recorder;

/* A recorder writing into store (open for writing), ranking by metric and
 * keeping the checkpoints of the best keep trials (CV_CHECKPOINTS_ALL, or
 * 0: none). known: the finished rows already in the file (a resume), which
 * take part in deciding which checkpoints are worth writing. The store stays
 * the caller's. */
int cv_recorder_create(cv_recorder **out, cv_store *store, cv_metric metric, int keep,
                       const cv_trial_row *known, int64_t n_known, cv_error *err);
void cv_recorder_free(cv_recorder *r);

/* A curve point of trial (buffered until the next flush). */
int cv_recorder_curve(cv_recorder *r, int64_t trial, const cv_epoch_stats *e, cv_error *err);

/* A trial's row (buffered). A finished one (not interrupted) joins the
 * ranking; when state (n_state floats of a network shaped by row->config,
 * inputs x classes: cv_nn_state_save's layout) is given and the row is among
 * the best keep, it is written as the trial's checkpoint. */
int cv_recorder_trial(cv_recorder *r, const cv_trial_row *row, const float *state,
                      int64_t n_state, int inputs, int classes, cv_error *err);

/* A segment's row of /segments (buffered; appended before the trial rows
 * of the same flush) and a halving decision's row of /rungs (buffered). */
int cv_recorder_segment(cv_recorder *r, const cv_segment_row *row, cv_error *err);
int cv_recorder_rung(cv_recorder *r, const cv_rung_row *row, cv_error *err);
/* A PBT decision's row of /lineage (buffered; appended after the trial rows). */
int cv_recorder_lineage(cv_recorder *r, const cv_lineage_row *row, cv_error *err);

/* The state trial goes on from: saved when its segment ends, dropped when
 * the trial is stopped or finished (the store's side files). */
int cv_recorder_save_state(cv_recorder *r, int64_t trial, int epochs, const float *state,
                           int64_t n, cv_error *err);
int cv_recorder_load_state(cv_recorder *r, int64_t trial, int epochs, float **state,
                           int64_t *n, cv_error *err);
void cv_recorder_drop_state(cv_recorder *r, int64_t trial);
/* PBT's exploit: trial to's state becomes a copy of trial from's (its
 * last epoch, epochs), written through before this returns. */
int cv_recorder_copy_state(cv_recorder *r, int64_t from, int64_t to, int epochs, cv_error *err);

/* The checkpoint of a trial in progress (panda mode: each improving epoch),
 * from a live network. */
int cv_recorder_checkpoint(cv_recorder *r, const cv_nn *net, const cv_checkpoint_info *info,
                           cv_error *err);

/* Appends the buffered curve rows, then the trial rows (a reader never sees
 * a trial without its curve). cv_recorder_flush_due does it only once
 * CV_FLUSH_SECONDS have passed since the last flush. */
int cv_recorder_flush(cv_recorder *r, cv_error *err);
int cv_recorder_flush_due(cv_recorder *r, cv_error *err);

/* A round's region in /rounds (after flushing what is buffered). */
int cv_recorder_round(cv_recorder *r, int round, const cv_round_param *params, int n,
                      cv_error *err);

/* The best finished row so far, or NULL. */
const cv_trial_row *cv_recorder_best(const cv_recorder *r);

/* A study of a program of the user's own: the states the schedulers copy
 * (cv_recorder_copy_state) are its checkpoint directories under root (which
 * stays the caller's). */
void cv_recorder_set_program(cv_recorder *r, const char *root);

/* A program's failed segment into /failures (appended at once). */
int cv_recorder_failure(cv_recorder *r, const cv_failure_row *row, cv_error *err);

/* The trials among the best `keep` finished ones (every finished trial
 * with keep all), into *trials (free() it). */
int cv_recorder_kept(const cv_recorder *r, int64_t **trials, int64_t *n, cv_error *err);

/* Ends a study: flushes, gathers the checkpoints, rewrites /trials as the
 * final table (one row per trial, in id order; the test accuracy of the
 * kept checkpoints when complete and test has examples), folds /curves, and
 * adds the run's wall time. */
int cv_recorder_end_study(cv_recorder *r, bool complete, const cv_dataset *test,
                          double wall_seconds, int workers, cv_error *err);

/* Ends a panda run: its trial row appended, the checkpoints gathered. */
int cv_recorder_end_trial(cv_recorder *r, const cv_trial_row *row, cv_error *err);

/* ---- scheduler: rounds (rounds.c) ------------------------------------------------
 * job's rounds of trials (space's sampler), zooming between rounds. rows
 * (n of them): the file's rows when resuming; rounds_in_file: the regions
 * /rounds already holds (not appended again). */
int cv_rounds_create(cv_scheduler *out, const cv_job *job, const cv_space *space,
                     cv_recorder *rec, const cv_trial_row *rows, int64_t n,
                     int64_t rounds_in_file, cv_error *err);


/* ---- what the schedulers share (schedule.c) ---------------------------------------- */

/* Round r's region (in region) as its /rounds row, unless the file holds
 * it already (r < *rounds_in_file, then advanced). */
int cv_round_record(const cv_space *space, cv_recorder *rec, const cv_region *region, int r,
                    int64_t *rounds_in_file, cv_error *err);

/* seg goes on from its trial's row: the row's best is its prior, the row's
 * seconds its prior seconds. */
void cv_segment_continue(cv_segment *seg, const cv_trial_row *row);

/* Resuming: each of trials' last row among rows (NULL for a trial without
 * one; babysitting runs and interrupted rows do not count), or NULL
 * without memory. free() it. */
const cv_trial_row **cv_replay_rows(const cv_trial_row *rows, int64_t n, int64_t trials);

/* Whether segment row g counts in a resume's replay: not interrupted, of
 * one of trials, and confirmed by that trial's last row (last, from
 * cv_replay_rows: a segment row is appended before its trial's row, so a
 * kill between the two leaves the segment to run again). */
bool cv_replay_confirmed(const cv_trial_row *const *last, int64_t trials,
                         const cv_segment_row *g);

/* Whether segment row g trained to its end without diverging or failing:
 * its trial may go on from its state. */
bool cv_segment_row_went_through(const cv_segment_row *g);

/* ---- scheduler: successive halving (halving.c) ------------------------------------
 * job's rounds of ASHA or Hyperband (search.schedule), zooming between
 * rounds on the trials that went furthest. Resuming: rows, the file's
 * folded /trials (one row per trial); segs, its /segments in file order;
 * rungs, its /rungs (decisions already written are not written again). */
int cv_halving_create(cv_scheduler *out, const cv_job *job, const cv_space *space,
                      cv_recorder *rec, const cv_trial_row *rows, int64_t n,
                      const cv_segment_row *segs, int64_t n_segs, const cv_rung_row *rungs,
                      int64_t n_rungs, int64_t rounds_in_file, cv_error *err);

/* ---- scheduler: population-based training (pbt.c) ------------------------------
 * job's population (search.trials members) in generations of
 * search.pbt.interval epochs. Resuming: rows, segs as for halving; lineage,
 * the file's /lineage (decisions already written are not written again). */
int cv_pbt_create(cv_scheduler *out, const cv_job *job, const cv_space *space,
                  cv_recorder *rec, const cv_trial_row *rows, int64_t n,
                  const cv_segment_row *segs, int64_t n_segs, const cv_lineage_row *lineage,
                  int64_t n_lineage, int64_t rounds_in_file, cv_error *err);

/* ---- transport (transport.c) ------------------------------------------------------ */

typedef struct cv_transport cv_transport;

/* What the master does with what comes back. */
typedef struct cv_transport_events {
    void *user;
    int (*curve)(void *user, int64_t trial, const cv_epoch_stats *e, cv_error *err);
    int (*result)(void *user, const cv_segment *seg, int rank, const cv_trial_result *res,
                  const cv_segment_states *states, cv_error *err);
} cv_transport_events;

/* The master's side on comm (rank 0). With a single rank, segments are
 * trained by the master itself, synchronously inside cv_transport_send. */
int cv_transport_create(cv_transport **out, MPI_Comm comm, const cv_data *data,
                        cv_metric metric, const cv_transport_events *ev, cv_error *err);
/* Sends every worker TAG_STOP (aborting any segment in flight) and frees. */
void cv_transport_free(cv_transport *t);

/* Workers (ranks >= 1; 1 for the single-rank master), and how many of them
 * were given up on. */
int cv_transport_workers(const cv_transport *t);
int cv_transport_lost_workers(const cv_transport *t);
/* A worker without a segment, or -1. */
int cv_transport_free_worker(const cv_transport *t);
/* Segments in flight. */
int cv_transport_busy(const cv_transport *t);
/* The segment worker is training, or NULL. */
const cv_segment *cv_transport_segment(const cv_transport *t, int worker);

/* When worker's segment was sent (cv_now's clock). */
double cv_transport_sent(const cv_transport *t, int worker);

/* Gives up on worker (a stuck node: it no longer answers): its segment is
 * no longer in flight, it is sent nothing more, and whatever it sends if it
 * comes back is dropped. */
void cv_transport_give_up(cv_transport *t, int worker);

/* Hands seg to worker (free), with the state it continues from (n_start
 * floats; NULL and 0 from scratch). */
int cv_transport_send(cv_transport *t, int worker, const cv_segment *seg, const float *start,
                      int64_t n_start, cv_error *err);
/* Handles every message waiting; *got says whether there was any. */
int cv_transport_poll(cv_transport *t, bool *got, cv_error *err);
/* Tells worker to drop its segment, which is no longer in flight. */
void cv_transport_abort(cv_transport *t, int worker);
/* Sleeps between polls, backing off while nothing arrives; got: something did. */
void cv_transport_nap(cv_transport *t, bool got);

/* A worker's life: segments until the master says stop; prog: run each
 * segment as the job's program (a job with a trainer), or NULL. */
void cv_transport_serve(MPI_Comm comm, const cv_data *data, cv_metric metric,
                        const struct cv_program_ctx *prog);

/* The single-rank master runs its segments as the job's program (prog,
 * which stays the caller's), not caviar's network. */
void cv_transport_set_program(cv_transport *t, const struct cv_program_ctx *prog);

/* ---- the data, one copy per node (share.c) ---------------------------------------- */

typedef struct cv_shared {
    MPI_Win win;      /* the node's window holding the train and dev splits */
    MPI_Comm node;    /* the ranks of this node */
    MPI_Comm leaders; /* the first rank of each node (MPI_COMM_NULL elsewhere) */
    int nodes;        /* on rank 0: how many nodes (windows) hold the data */
    size_t bytes;     /* the size of a window */
} cv_shared;

/* Puts the master's train and dev splits (data on rank 0; the test set
 * stays with it) into one shared-memory window per node and points every
 * rank's data at its node's (rank 0's own copy is released). Collective.
 * Returns 0, or CV_ERR_NOMEM on every rank when a window could not be had. */
int cv_data_share(cv_data *data, MPI_Comm comm, cv_shared *sh, cv_error *err);

/* Detaches data from the window (its splits are not data's to free) and,
 * when collective (every rank of the node does it), frees the window. */
void cv_data_unshare(cv_data *data, cv_shared *sh, bool collective);
void cv_shared_free(cv_shared *sh);

/* ---- provenance (provenance.c) -------------------------------------------------- */

/* The hosts of comm's ranks, each once with its rank count ("node1 x2,
 * node2 x2"), into hosts on rank 0. Collective. Returns 0, or -1 (without
 * memory: only rank 0's host). */
int cv_provenance_hosts(MPI_Comm comm, char *hosts, size_t size);

/* This run's row of /runs: now, command, caviar's version, the BLAS core,
 * threads per worker, the CPU model, ranks and hosts (NULL: this host). */
void cv_provenance_here(cv_run_info *r, const char *command, int ranks, int threads,
                        const char *hosts);

/* Whether here runs on another BLAS core or caviar version than first (the
 * run that started the file); why then says so, for a warning. */
bool cv_provenance_differs(const cv_run_info *first, const cv_run_info *here, char *why,
                           size_t size);

/* ---- progress (progress.c) ---------------------------------------------------------- */

typedef struct cv_progress {
    FILE *out;     /* NULL: silent */
    bool tty;      /* a terminal: a redrawn bar, else a line per trial */
    cv_metric metric;
    double t_start;
    double last_draw;
    int64_t planned, finished, finished_before, diverged, failed;
    int64_t epochs_planned, epochs_done, epochs_before; /* 0 planned: by trials */
    double busy_seconds;              /* training seconds of this run's trials */
    double t_first, t_last, cpu_first; /* first dispatch, last result, CPU then */
} cv_progress;

/* Seconds on a monotonic clock, and this process's CPU seconds. */
double cv_now(void);
double cv_cpu_seconds(void);

void cv_progress_init(cv_progress *p, FILE *out, cv_metric metric, double t_start);
/* A segment is dispatched (the first one starts the throughput clock). */
void cv_progress_dispatch(cv_progress *p);
/* A segment ended with its trial's row after training seconds; finished:
 * the trials finished for good so far, epochs_done the epochs trained so
 * far when the plan counts them (best: the best row so far, or NULL). */
void cv_progress_trial(cv_progress *p, const cv_trial_row *row, double seconds,
                       int64_t finished, int64_t epochs_done, const cv_trial_row *best,
                       int running);
/* Redraws the terminal's bar when it is due (idle moments). */
void cv_progress_tick(cv_progress *p, const cv_trial_row *best, int running);
/* The closing line: complete or stopped, counts, time, utilization. */
void cv_progress_end(cv_progress *p, bool complete, int workers, bool mpi,
                     const char *results_path);

#endif
