/* caviar/store.h: the HDF5 results file, the one place that knows its layout.
 *
 * A results file holds one study (or one `caviar train` run):
 *
 *   /             attrs format="caviar-results", format_version=1, caviar_version,
 *                 job (the YAML text), job_path (where it was read, so that its
 *                 relative data paths resolve again), metric ("dev_accuracy" or
 *                 "dev_loss"; absent in files of caviar 0.1.0), name, created (ISO 8601 UTC),
 *                 ranks, seed; and once a run on it has ended: finished (ISO 8601
 *                 UTC), wall_seconds and worker_seconds (workers x wall), summed
 *                 over the run and its resumes
 *   /trials       one row per trial (cv_trial_row), appended as trials end
 *   /curves       one row per (trial, epoch) (cv_curve_row), appended as epochs end
 *   /rounds       one row per coarse-to-fine round: round, then for each parameter
 *                 the job searches NAME_lo, NAME_hi (float64, natural units, NaN when
 *                 not given) and NAME_values (text, the allowed values of a categorical)
 *   /segments     one row per stretch of a trial's training as it ends
 *                 (cv_segment_row): a whole trial under random, grid and Sobol
 *                 rounds, a rung under successive halving
 *   /rungs        one row per halving decision (cv_rung_row): a trial promoted
 *                 to the next rung or stopped, with its place and why
 *   /runs         one row per run on the file (cv_run_info): when it began, the
 *                 command, caviar's version, the BLAS core and threads, the CPU
 *                 model, the ranks and their hosts
 *   /data         feature_mean, feature_std (float32, (d)); attrs source, features,
 *                 classes, train_size, dev_size, test_size
 *   /checkpoints/trial_NNNNNN/   (gathered at the end of a run)
 *                 layer_k/{W (in, out), gamma, beta, running_mean, running_var},
 *                 output/{W (in, classes), b (classes)}, float32;
 *                 optimizer/m/<same tensor names>, optimizer/v/<same>: Adam's (or
 *                 momentum's, RMSprop's) moments, attr optimizer/steps: the step count;
 *                 attrs: every hyperparameter (as in /trials), trial, seed,
 *                 epochs_trained (the epochs the weights were trained for: the best
 *                 epoch, 1-based), inputs, classes, dev_accuracy, dev_loss
 *   /best         soft link to the best checkpoint group
 *
 * All tables are 1-D chunked unlimited compound datasets, little-endian; booleans
 * are an HDF5 enum of int8 {FALSE = 0, TRUE = 1} (what h5py writes for numpy
 * bool, so h5py and pandas show True/False), words fixed-length strings.
 * Epochs are numbered from 1 in the file, as caviar prints them.
 *
 * Life of a file written by a run (rank 0 only; the store knows nothing of MPI):
 *   cv_store_create -> cv_store_write_data -> cv_store_start_swmr ->
 *   { cv_store_append_curves, cv_store_append_trial, cv_store_append_round,
 *     cv_store_save_checkpoint }* -> cv_store_gather_checkpoints
 *   [-> cv_store_rewrite_trials] [-> cv_store_add_run_time] -> cv_store_close.
 * While in SWMR mode every append is flushed, so that
 * h5py.File(p, "r", libver="latest", swmr=True) sees rows as they come; no object
 * can be created safely then (HDF5 1.10), so checkpoints go to side files
 * PATH.ckpt/trial_NNNNNN.h5 (temp file, fsync, rename: never half-written), copied
 * into /checkpoints by cv_store_gather_checkpoints, which leaves SWMR mode first.
 *
 * Every function returns 0 or a negative cv_status with err naming the file
 * (and the dataset) and what was expected, with HDF5's innermost message
 * appended. HDF5's automatic error printing is switched off by the first
 * cv_store_create or cv_store_open of the process (every other call needs
 * their handle) and stays off: the store reports HDF5's failures itself, and
 * some are expected (an open's fallbacks, the probe's reads). */

/* Damaged files. HDF5 1.10 trusts some structures of the files it reads, and
 * a damaged results file can make it crash, loop or ask for all memory
 * wherever caviar happens to read. One defence per case:
 *
 * 1. A structure HDF5 follows blindly, so that any process reading it loops
 *    or reads out of bounds: checked by hand before HDF5 reads it. The
 *    global heap collections that hold the text attributes
 *    (cv_h5_bad_global_heap, src/store/h5check.c), right after HDF5 opens
 *    the file and before the first attribute is read: "damaged HDF5 file: a
 *    global heap collection (where the text attributes live) is not valid".
 *    Needed because defence 3 meets such a loop only at its time limit (20 s
 *    instead of milliseconds), and the fuzz target, which reads in its own
 *    process, would loop or crash on every such input.
 * 2. HDF5's own retry loop: a SWMR reader retries a metadata read whose
 *    checksum fails with doubling sleeps, centuries with the default 100
 *    attempts; the store allows 20 (about 2 ms; src/store/store.c). Needed
 *    for the same reasons as 1.
 * 3. Any other crash, loop or runaway allocation of HDF5 on a results file:
 *    before cv_store_open reads the file, a child process reads every part
 *    of it (cv_store_probe, src/store/probe.c; caviar/isolate.h) under a time
 *    limit (20 s + 1 s per 10 MB) and a memory cap (4 GiB); a file it does
 *    not survive is refused, untouched: "damaged HDF5 file: the HDF5 library
 *    failed reading it (...)". Needed by every command: the only defence of
 *    run and resume (MPI programs that read in their own process), the only
 *    one with a time limit and a memory cap, and what makes report and watch
 *    refuse a file whose damage lies in parts they never read (checkpoints).
 * 4. A crash that depends on where HDF5's out-of-bounds read lands, which
 *    differs between processes, so that the probe survives the file and the
 *    command does not (tests/fuzz/hdf5-crashes/results-late): report, watch,
 *    predict and train --from run in a child process of their own (src/main.c,
 *    run_command): "damaged HDF5 file, or a bug in caviar: the command crashed
 *    (...)". Not run and resume, MPI programs: a crash of resume leaves the
 *    file as a kill -9 would, which the next resume copes with.
 * And a file opened for writing (resume, train --from appending) is first
 * checked read-only as a reader would (1 and the root and tables), so that a
 * damaged file is refused before opening it for writing changes it.
 * Without any one of them a case of tests/fuzz/crashes/results or
 * tests/fuzz/hdf5-crashes is no longer refused as it is. Data sources in HDF5
 * (src/data/h5in.c) have checks and a child process of their own. */
#ifndef CAVIAR_STORE_H
#define CAVIAR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "caviar/config.h"
#include "caviar/data.h"
#include "caviar/error.h"
#include "caviar/job.h"
#include "caviar/nn.h"

#define CV_STORE_FORMAT "caviar-results"
#define CV_STORE_FORMAT_VERSION 1

/* Pass as a trial number to mean the best checkpoint (/best). */
#define CV_STORE_BEST (-1)

/* An open results file. */
typedef struct cv_store cv_store;

/* One row of /trials. */
typedef struct cv_trial_row {
    int64_t trial;  /* the trial's id, unique within the file */
    int32_t round;  /* coarse-to-fine round, 0-based */
    cv_trial_status status;
    int32_t worker; /* the rank that trained it */
    uint64_t seed;  /* its training seed (init, shuffles, dropout) */
    int64_t parent; /* the trial it continued (babysitting), or -1 */
    cv_config config;
    double dev_accuracy, dev_loss;     /* at the best epoch */
    double train_accuracy, train_loss; /* at the best epoch */
    double test_accuracy;  /* the checkpoint on the test set; NaN unless evaluated */
    int32_t best_epoch;    /* 1-based; 0 when no epoch finished */
    int32_t epochs_done;   /* the last epoch finished, 1-based (a continued trial
                              counts on from its parent's checkpoint) */
    int32_t rung;          /* successive halving: the last rung the trial trained
                              for (0: the first; 0 for other methods) */
    int32_t budget;        /* the epochs that rung allowed it (its configuration's
                              epochs for other methods) */
    double seconds;
    double samples_per_second;
} cv_trial_row;

/* One row of /curves. */
typedef struct cv_curve_row {
    int64_t trial;
    int32_t epoch; /* 1-based */
    double train_loss, train_accuracy;
    double dev_loss, dev_accuracy;
    double learning_rate;
    double seconds;
} cv_curve_row;

/* One parameter's region in a round, as plain data (the space module's
 * business is what it means). */
typedef struct cv_round_param {
    const char *name;   /* a hyperparameter searched by the job */
    double lo, hi;      /* bounds in natural units; NaN when not meaningful */
    const char *values; /* a categorical's allowed values as text ("64,128,256"), or NULL */
} cv_round_param;

/* What the store records about a checkpoint besides its tensors. */
typedef struct cv_checkpoint_info {
    int64_t trial;
    int epochs;          /* epochs the weights were trained for (1-based best epoch) */
    double dev_accuracy; /* at that epoch */
    double dev_loss;
    uint64_t seed; /* the trial's training seed, so that a run continued from a
                      checkpoint without its row (a killed run) shuffles as the
                      original would have; 0 when not given */
    /* Filled by cv_store_checkpoint_info; ignored by cv_store_save_checkpoint,
     * which takes them from the state. */
    cv_config config;
    int inputs, classes;
    int64_t steps; /* optimizer steps taken */
} cv_checkpoint_info;

/* What /data says about the data a file's trials were trained on. */
typedef struct cv_store_data {
    int d, classes;
    float *mean, *std; /* (d) the standardization fitted on the training split */
    char *source;      /* the training source as loaded */
    int64_t train_size, dev_size, test_size;
} cv_store_data;

typedef enum cv_store_mode {
    CV_STORE_READ,   /* read only; a file being written, or left by a killed writer,
                        is opened as a SWMR reader (nothing flushed is lost) */
    CV_STORE_APPEND, /* append rows and checkpoints (resume, babysitting): opened
                        read-write (status flags of a killed writer cleared) and put
                        in SWMR mode at once */
} cv_store_mode;

/* Checks, before any work is done, that a results file can be created at
 * path: it must not exist unless overwrite, and its directory must be
 * writable. Returns 0 or CV_ERR_INPUT with a message saying which. */
int cv_store_check_output(const char *path, bool overwrite, cv_error *err);

/* Creates the results file at path for job (its text, path, seed; the
 * parameters it searches give /rounds its columns) run on ranks processes:
 * the root attributes and the empty tables. An existing file is refused
 * unless overwrite; stale side files of an earlier file of that name are
 * removed. The file is built under a temp name in PATH.ckpt and appears at
 * path only when complete: at cv_store_start_swmr (or cv_store_close), so
 * that a writer killed meanwhile leaves no half-made file behind. On success
 * *out owns the open file (release with cv_store_close). */
int cv_store_create(cv_store **out, const char *path, const cv_job *job, int ranks,
                    bool overwrite, cv_error *err);

/* Writes /data: the standardization, the split sizes and the source of data.
 * Must precede cv_store_start_swmr. */
int cv_store_write_data(cv_store *s, const cv_data *data, cv_error *err);

/* Puts a newly created file in SWMR mode: from here on only rows are
 * appended (and side-file checkpoints written) until
 * cv_store_gather_checkpoints or cv_store_close. */
int cv_store_start_swmr(cv_store *s, cv_error *err);

/* Opens an existing results file. A file without the root attribute format
 * is refused with CV_ERR_INPUT ("PATH: not a caviar results file (no 'format'
 * attribute)"), as are missing, truncated and non-HDF5 files. First a child
 * process reads every part of the file (caviar/isolate.h): a damaged file
 * on which HDF5 itself crashes, loops or runs out of memory is refused
 * with CV_ERR_INPUT ("PATH: damaged HDF5 file: ...") before this process
 * reads any of it. */
int cv_store_open(cv_store **out, const char *path, cv_store_mode mode, cv_error *err);

/* Closes the file (ending SWMR mode) and frees the handle; safe on NULL.
 * Returns CV_ERR_IO if HDF5 could not close the file cleanly. */
int cv_store_close(cv_store *s, cv_error *err);

/* The file's path, its job text (NUL-terminated) and the path the job was
 * read from; owned by the store. The store does not parse the job: parse it
 * with cv_job_parse(job, cv_store_job_path(s), cv_store_job_text(s), ...),
 * so that its relative data paths resolve as when the file was written. */
const char *cv_store_path(const cv_store *s);
const char *cv_store_job_text(const cv_store *s);
const char *cv_store_job_path(const cv_store *s);

/* The metric of the study the file holds (the root attribute metric). */
cv_metric cv_store_metric(const cv_store *s);

/* Reads /data into d (release with cv_store_data_free). */
int cv_store_read_data(cv_store *s, cv_store_data *d, cv_error *err);
void cv_store_data_free(cv_store_data *d);

/* Appends one trial row / n curve rows and flushes them. */
int cv_store_append_trial(cv_store *s, const cv_trial_row *row, cv_error *err);
int cv_store_append_trials(cv_store *s, const cv_trial_row *rows, int64_t n, cv_error *err);
int cv_store_append_curves(cv_store *s, const cv_curve_row *rows, int64_t n, cv_error *err);

/* Appends round's region: n parameters (each named among those the job
 * searches; those not given are NaN / empty). A categorical's values longer
 * than the column are cut, ending with "...". */
int cv_store_append_round(cv_store *s, int round, const cv_round_param *params, int n,
                          cv_error *err);

/* Replaces every row of /trials with rows[0..n) (a runner's final table: one
 * row per trial, in order). Not in SWMR mode, where a table cannot shrink:
 * call it after cv_store_gather_checkpoints. */
int cv_store_rewrite_trials(cv_store *s, const cv_trial_row *rows, int64_t n, cv_error *err);

/* The same for /curves (a resumed study's final curves: a re-run trial's
 * points replace those of its interrupted attempt). */
int cv_store_rewrite_curves(cv_store *s, const cv_curve_row *rows, int64_t n, cv_error *err);

/* Reads every row of /trials or /curves into a fresh array (*rows, free()
 * it; NULL when *n is 0). A SWMR reader sees the rows flushed so far. */
int cv_store_read_trials(cv_store *s, cv_trial_row **rows, int64_t *n, cv_error *err);
int cv_store_read_curves(cv_store *s, cv_curve_row **rows, int64_t *n, cv_error *err);

/* Folds trial rows read in file order (several for a trial interrupted and
 * re-run) in place to the final table: one row per trial, in id order, the
 * trial's last finished row, or its last row if none finished. Returns the
 * new count, or -1 without memory (rows unchanged). */
int64_t cv_trial_rows_fold(cv_trial_row *rows, int64_t n);

/* The metric of a row as every ranking counts it (cv_trial_metric: NaN for
 * interrupted and failed trials). */
double cv_trial_row_metric(const cv_trial_row *row, cv_metric metric);

/* Whether row a ranks before row b: the better metric (cv_metric_better;
 * rows without a metric last), then the lower trial id. The one ranking of
 * trials: the runner's best so far and leaderboard, the checkpoints kept and
 * /best, and the report all use it. */
bool cv_trial_row_ranks_before(const cv_trial_row *a, const cv_trial_row *b, cv_metric metric);

/* The row of trial id among rows (babysitting runs, with a parent, left
 * out), or NULL; the first when rows are not folded. */
const cv_trial_row *cv_trial_rows_find(const cv_trial_row *rows, int64_t n, int64_t id);

/* The best of rows (babysitting runs left out) that trained at least
 * `epochs` epochs and have a metric, by cv_trial_row_ranks_before, or NULL:
 * a population-based training study's best member. */
const cv_trial_row *cv_trial_rows_best_trained(const cv_trial_row *rows, int64_t n, int epochs,
                                               cv_metric metric);

/* Folds curve rows read in file order in place to one per (trial, epoch), in
 * that order, the last appended winning (a re-run's). Returns the new count,
 * or -1 without memory (rows unchanged). */
int64_t cv_curve_rows_fold(cv_curve_row *rows, int64_t n);

/* How many rounds /rounds holds. */
int cv_store_round_count(cv_store *s, int64_t *n, cv_error *err);

/* A SWMR reader: picks up rows the writer flushed since the file was opened
 * (or last refreshed). */
int cv_store_refresh(cv_store *s, cv_error *err);

/* One row of /runs: a run on the file (caviar run, resume, train) and what
 * its results depend on, so that a table can be told apart from one made on
 * another kind of machine. */
typedef struct cv_run_info {
    char started[32];        /* when it began, ISO 8601 UTC */
    char command[16];        /* "run", "resume", "train" */
    char caviar_version[16];
    char blas_core[32];      /* the kernels OpenBLAS uses ("SkylakeX", "Haswell") */
    int32_t blas_threads;    /* BLAS threads per worker */
    char cpu_model[64];      /* /proc/cpuinfo's model name */
    int32_t ranks;           /* MPI ranks (1: the master trained alone) */
    char hosts[256];         /* the hosts of the ranks ("node1 x2, node2 x2") */
} cv_run_info;

/* Appends a run's row to /runs (a writable file). */
int cv_store_append_run(cv_store *s, const cv_run_info *run, cv_error *err);

/* Reads /runs into a fresh array (*rows, free() it; NULL and 0 for a file
 * written before the table existed). */
int cv_store_read_runs(cv_store *s, cv_run_info **rows, int64_t *n, cv_error *err);

/* One row of /segments: a stretch of a trial's training, appended as it
 * ends. Epochs are 1-based as everywhere in the file: the segment trained
 * epochs from_epoch + 1 .. to_epoch (fewer when it stopped early). */
typedef struct cv_segment_row {
    int64_t trial;
    int32_t round;
    int32_t bracket;     /* Hyperband's bracket (0 for other methods) */
    int32_t rung;        /* the rung it trained the trial for (0: the first) */
    int32_t from_epoch;  /* epochs the trial had before it (0: from scratch) */
    int32_t to_epoch;    /* the rung's budget: the epoch to train to */
    int32_t epochs_done; /* the trial's last finished epoch after it */
    cv_trial_status status;
    int32_t worker;
    double metric;       /* the trial's best value of the study's metric so far
                            (NaN: none) */
    double seconds;      /* this segment's training time */
    double last_metric;  /* the metric at the segment's last epoch (NaN: none; 0 in
                            files from before it was recorded) */
} cv_segment_row;

/* One row of /failures (studies of a program of the user's own): a
 * segment that failed, why, and the last of the program's output. */
#define CV_FAILURE_REASON_LEN 256
#define CV_FAILURE_TAIL_LEN 4096
typedef struct cv_failure_row {
    int64_t trial;
    int32_t round;
    int32_t from_epoch, to_epoch; /* the segment: epochs from_epoch + 1 .. to_epoch */
    int32_t worker;
    int32_t exit_status;          /* -1 unless the program exited */
    int32_t signal;               /* the signal that ended it, or 0 */
    char reason[CV_FAILURE_REASON_LEN + 1];
    char log_tail[CV_FAILURE_TAIL_LEN + 1];
} cv_failure_row;

/* Appends rows to /failures (CV_ERR_INPUT when the file has none: a study
 * of caviar's own network); reads it (NULL and 0 when there is none). */
int cv_store_append_failures(cv_store *s, const cv_failure_row *rows, int64_t n, cv_error *err);
int cv_store_read_failures(cv_store *s, cv_failure_row **rows, int64_t *n, cv_error *err);

/* One row of /rungs: a halving decision about a trial that finished a rung
 * below the top. Rung results are ranked in a fixed order (the order
 * trials entered the rung), so decisions never depend on which worker
 * finished first: among the rung's first `of` results, the best
 * go_on = floor(of / reduction_factor) go on. */
typedef struct cv_rung_row {
    int64_t trial;
    int32_t round, bracket, rung;
    int32_t budget;     /* the rung's epochs */
    double metric;      /* the trial's value of the study's metric there */
    int32_t place;      /* 1-based among those results (ties: the lower trial id) */
    int32_t of;
    int32_t go_on;
    char decision[12];  /* "promoted" or "stopped" */
    char reason[96];
} cv_rung_row;

/* One row of /lineage: population-based training's decision about one
 * member of the population for one generation, made when the generation
 * before it was complete (results ranked by the metric at their last
 * epoch, ties to the lower member). A member that continues keeps its
 * trial; an exploited one starts a new trial from a copy of a top
 * member's state at from_epoch, with that member's configuration
 * explored. The configuration in force is the trial's row in /trials. */
typedef struct cv_lineage_row {
    int64_t trial;       /* the trial that trains the member this generation */
    int32_t member;      /* its place in the population, 0 .. population - 1 */
    int32_t generation;  /* 0: the first */
    int32_t from_epoch, to_epoch;
    int64_t parent;      /* whose state it starts from: the trial itself when it
                            continues, the top member's trial when exploited, -1
                            from scratch */
    char decision[12];   /* "start", "continue" or "exploit" */
    double metric;       /* the member's metric at the end of the generation before
                            (NaN for generation 0) */
    int32_t place, of;   /* its place in that ranking (0 for generation 0) */
    char explore[200];   /* what explore changed, as a user reads it ("" if nothing) */
} cv_lineage_row;

int cv_store_append_segments(cv_store *s, const cv_segment_row *rows, int64_t n, cv_error *err);
int cv_store_append_lineage(cv_store *s, const cv_lineage_row *rows, int64_t n, cv_error *err);
int cv_store_read_lineage(cv_store *s, cv_lineage_row **rows, int64_t *n, cv_error *err);

/* One stretch of a PBT member's schedule: trial's configuration and seed
 * trained it from epoch `from` to `to`. */
typedef struct cv_stretch {
    int64_t trial;
    int from, to;
} cv_stretch;

/* The schedule of trial id from /lineage's rows l (path names the file in
 * messages): its stretches back to a trial that started from scratch,
 * following each exploited trial's parent, first epoch first, in *out
 * (free() it). CV_ERR_INPUT when the rows do not hold it. */
int cv_lineage_schedule(const char *path, const cv_lineage_row *l, int64_t n_l, int64_t id,
                        cv_stretch **out, int *n_out, cv_error *err);
int cv_store_append_rungs(cv_store *s, const cv_rung_row *rows, int64_t n, cv_error *err);
/* Read every row (*rows: free() it; NULL and 0 for a file written before
 * the table existed). */
int cv_store_read_segments(cv_store *s, cv_segment_row **rows, int64_t *n, cv_error *err);
int cv_store_read_rungs(cv_store *s, cv_rung_row **rows, int64_t *n, cv_error *err);

/* A trial's state to continue from (its last epoch, `epochs`, as
 * cv_nn_state_save lays it out: n floats), kept in a side file
 * PATH.ckpt/state_NNNNNN.bin until dropped: written atomically (temp,
 * fsync, rename), checked when loaded (*state: free() it); a missing or
 * damaged one, or one of other epochs, is CV_ERR_INPUT. */
int cv_store_save_state(cv_store *s, int64_t trial, int epochs, const float *state, int64_t n,
                        cv_error *err);
int cv_store_load_state(cv_store *s, int64_t trial, int epochs, float **state, int64_t *n,
                        cv_error *err);
void cv_store_drop_state(cv_store *s, int64_t trial);
/* Drops every state (a study that completed). */
void cv_store_drop_states(cv_store *s);

/* One row of /rounds, indexed by parameter. */
#define CV_ROUND_VALUES_MAX 128
typedef struct cv_round_row {
    int32_t round;
    bool searched[CV_P_COUNT]; /* the table has columns for the parameter */
    double lo[CV_P_COUNT], hi[CV_P_COUNT]; /* natural units; NaN for categoricals */
    char values[CV_P_COUNT][CV_ROUND_VALUES_MAX + 1]; /* a categorical's allowed
                                  values ("64,128"), "" otherwise */
} cv_round_row;

/* Reads every row of /rounds into a fresh array (*rows, free() it; NULL
 * when *n is 0: a file without the table, or before its first round). */
int cv_store_read_rounds(cv_store *s, cv_round_row **rows, int64_t *n, cv_error *err);

/* When and for how long a study ran: root attributes. */
typedef struct cv_store_times {
    char created[32];      /* ISO 8601 UTC, when the file was created; "" if unknown */
    char finished[32];     /* when the last run on it ended; "" while none has */
    int ranks;             /* the ranks of the run that created it; 0 if unknown */
    double wall_seconds;   /* wall-clock seconds of the runs that ended; NaN if none */
    double worker_seconds; /* each run's workers x its wall seconds, summed; NaN if none */
} cv_store_times;

/* Adds a run's wall-clock seconds (and workers x them) to the root
 * attributes wall_seconds and worker_seconds, and sets finished to now.
 * Attributes cannot be created in SWMR mode: call it after
 * cv_store_gather_checkpoints. */
int cv_store_add_run_time(cv_store *s, double wall_seconds, int workers, cv_error *err);

/* Reads those attributes (and created, ranks); missing ones are left
 * unknown, not an error. */
int cv_store_read_times(cv_store *s, cv_store_times *t, cv_error *err);

/* Whether a live process writes the results file at path (a run, a resume,
 * a `train -o`): it holds the writer's lock on PATH.ckpt from before the
 * file is created until it is closed; the kernel drops the lock of a killed
 * writer. A reader such as `caviar watch` uses it to know the study ended. */
bool cv_store_writer_active(const char *path);

/* Writes a network's state (parameters, running statistics, optimizer
 * moments and step count, as plain data: cv_nn_state) and configuration as
 * the checkpoint of info->trial to its side file, atomically replacing an
 * earlier one. Works in SWMR mode. */
int cv_store_save_checkpoint(cv_store *s, const cv_nn_state *state,
                             const cv_checkpoint_info *info, cv_error *err);

/* Describes the checkpoint of trial (or CV_STORE_BEST): its configuration,
 * shape, epochs and step count, so that the caller can create a matching
 * network. Looks in /checkpoints, then in the side files of a run that did
 * not finish. Fails with CV_ERR_INPUT naming the file when the trial does not
 * exist or has no checkpoint. info->trial is the trial found. */
int cv_store_checkpoint_info(cv_store *s, int64_t trial, cv_checkpoint_info *info,
                             cv_error *err);

/* Loads the checkpoint of trial (or CV_STORE_BEST) into net, which must have
 * its architecture (layers, hidden_units, batch_norm; inputs, classes):
 * parameters, running statistics, optimizer moments and step count, so that
 * training continues exactly. */
int cv_store_load_checkpoint(cv_store *s, int64_t trial, cv_nn *net, cv_error *err);

/* Ends a run: leaves SWMR mode, copies the side-file checkpoints of the best
 * keep trials by metric (CV_CHECKPOINTS_ALL: all; 0: none), together with the
 * checkpoints already gathered, into /checkpoints (dropping gathered ones
 * that fall out of the best keep), points /best at the best of them and
 * removes the side files. Trials rank by their row in /trials; a trial
 * without a finite metric ranks last, ties go to the lower trial number. */
int cv_store_gather_checkpoints(cv_store *s, int keep, cv_metric metric, cv_error *err);

#endif
