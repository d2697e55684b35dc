/* run.c: a study: the master's plan driven through a scheduler, a
 * transport and a recorder, and the workers' side (see caviar/run.h and
 * run_int.h for the pieces).
 *
 * The master reads the job and the data (or takes them from the results
 * file it resumes), records the run's provenance, shares the data once per
 * node (share.c), and then loops: while a worker is free and the scheduler
 * has a segment ready, send it; take what comes back (curve points,
 * results) into the recorder and tell the scheduler; give up on workers
 * past their segment's deadline; flush the recorder when due; nap while
 * nothing arrives. A signal stops dispatching and records the segments in
 * flight as interrupted; the time limit stops dispatching and lets them
 * finish. */
#include "caviar/run.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "caviar/blas.h"
#include "run_int.h"

volatile sig_atomic_t cv_run_signal;
volatile sig_atomic_t cv_run_stop;

/* Set when the time limit (less the time the end takes) is reached: the
 * segments in flight are interrupted, to be re-run by a resume. */
static volatile sig_atomic_t deadline_reached;

static void on_signal(int sig)
{
    cv_run_signal = sig;
    cv_run_stop = 1;
}

static void on_deadline(int sig)
{
    (void)sig;
    deadline_reached = 1;
    cv_run_stop = 1; /* the single-rank master stops its own training */
}

void cv_run_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* mpirun forwards SIGUSR1 to every rank without ending the job itself
     * (it kills the ranks a few seconds after forwarding SIGTERM): the
     * gentle way to stop a study under mpirun. */
    sigaction(SIGUSR1, &sa, NULL);
}

/* The master's state: what it opened, and the pieces that run the study. */
typedef struct master {
    const cv_run_opts *opts;
    MPI_Comm comm;
    cv_job job;
    cv_space *space;
    cv_data data;
    cv_store *store;
    cv_recorder *rec;
    cv_scheduler sched;
    cv_transport *transport;
    cv_progress progress;
    double segment_seconds; /* dispatch-to-result seconds of this run's segments */
    int64_t segments_timed;
    double rate;            /* the slowest seconds per epoch and state float of a finished
                               segment, for deadlines */
    double work_seconds, work; /* training seconds and work (epochs x state floats) of
                                  this run's finished segments: the time limit's rate */
    int64_t *timed_out;     /* (n_timed_out) trials whose worker was given up on */
    int64_t n_timed_out;
    bool stopping;
    cv_program_ctx prog;    /* a job with a trainer: how its program runs (prog.root set) */
} master;

/* ---- events from the transport ------------------------------------------ */

static int on_curve(void *user, int64_t trial, const cv_epoch_stats *e, cv_error *err)
{
    master *m = user;
    int rc = cv_recorder_curve(m->rec, trial, e, err);
    /* the single-rank master flushes between its own epochs */
    return rc != 0 ? rc : cv_recorder_flush_due(m->rec, err);
}

/* A segment's trial row (the trial's figures so far) as the recorder and
 * the scheduler take it. */
static void segment_row(const cv_segment *seg, int rank, const cv_trial_result *res,
                        cv_trial_row *row)
{
    *row = (cv_trial_row){.trial = seg->trial, .round = seg->round, .worker = rank,
                          .seed = seg->seed, .parent = -1};
    cv_trial_row_fill(row, &seg->config, res, seg->from_epoch);
    row->rung = seg->rung;
    row->budget = seg->to_epoch;
    row->seconds += seg->prior_seconds;
}

/* A program's failed segment: its reason and output's tail into /failures,
 * and a line on the progress stream. */
static int record_failure(master *m, const cv_segment *seg, int rank,
                          const cv_program_outcome *out, cv_error *err)
{
    cv_failure_row *f = calloc(1, sizeof *f);
    if (f == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory");
    *f = (cv_failure_row){.trial = seg->trial, .round = seg->round,
                          .from_epoch = seg->from_epoch, .to_epoch = seg->to_epoch,
                          .worker = rank, .exit_status = out->exit_status,
                          .signal = out->signal};
    snprintf(f->reason, sizeof f->reason, "%s", out->why);
    /* the last bytes of the tail when it is longer than the column */
    size_t n = strlen(out->tail);
    const char *tail = n > CV_FAILURE_TAIL_LEN ? out->tail + n - CV_FAILURE_TAIL_LEN : out->tail;
    memcpy(f->log_tail, tail, strlen(tail) + 1);
    int rc = cv_recorder_failure(m->rec, f, err);
    if (rc == 0 && m->opts->progress != NULL) {
        cv_program_files files;
        cv_program_paths(m->prog.root, seg->trial, &files);
        fprintf(m->opts->progress, "caviar: trial %lld failed: %s (its output: %s)\n",
                (long long)seg->trial, out->why, files.log);
    }
    free(f);
    return rc;
}

/* Records a segment's end: its /segments row and its trial's row, the
 * state it goes on from (before the rows: a resume that finds the rows
 * finds the state), its checkpoint (when worth keeping), the scheduler told
 * (or the segment requeued if interrupted), progress. */
static int record(master *m, const cv_segment *seg, int rank, const cv_trial_result *res,
                  const cv_segment_states *st, cv_error *err)
{
    cv_trial_row row;
    segment_row(seg, rank, res, &row);
    cv_segment_row srow = {.trial = seg->trial,
                           .round = seg->round,
                           .bracket = seg->bracket,
                           .rung = seg->rung,
                           .from_epoch = seg->from_epoch,
                           .to_epoch = seg->to_epoch,
                           .epochs_done = row.epochs_done,
                           .status = res->status,
                           .worker = rank,
                           .metric = cv_trial_row_metric(&row, m->job.search.metric),
                           .seconds = res->seconds,
                           .last_metric = cv_metric_pick(m->job.search.metric,
                                                         res->last_dev_accuracy,
                                                         res->last_dev_loss)};
    int rc = 0;
    /* the trial's earlier rows reach the file before its state moves on:
     * a resume then needs at most the state before this one, which the
     * store keeps */
    if (st != NULL && st->n_last > 0 && seg->from_epoch > 0)
        rc = cv_recorder_flush(m->rec, err);
    if (rc == 0 && st != NULL && st->n_last > 0)
        rc = cv_recorder_save_state(m->rec, seg->trial, row.epochs_done, st->last, st->n_last,
                                    err);
    if (rc == 0)
        rc = cv_recorder_segment(m->rec, &srow, err);
    if (rc == 0)
        rc = cv_recorder_trial(m->rec, &row, st != NULL ? st->best : NULL,
                               st != NULL ? st->n_best : 0, m->data.d, m->data.classes, err);
    if (rc == 0 && st != NULL && st->outcome != NULL && res->status == CV_TRIAL_FAILED)
        rc = record_failure(m, seg, rank, st->outcome, err);
    if (rc != 0)
        return rc;
    if (res->status == CV_TRIAL_INTERRUPTED) {
        m->sched.ops->requeue(m->sched.self, seg->trial);
        return 0;
    }
    if ((rc = m->sched.ops->finished(m->sched.self, &row, &srow, err)) != 0)
        return rc;
    const cv_scheduler_ops *ops = m->sched.ops;
    cv_progress_trial(&m->progress, &row, res->seconds, ops->finished_count(m->sched.self),
                      ops->epochs_done != NULL ? ops->epochs_done(m->sched.self) : 0,
                      cv_recorder_best(m->rec), cv_transport_busy(m->transport));
    return 0;
}

/* A segment's work for the deadlines: its epochs times the size of its
 * network's state (what an epoch's products and updates scale with). */
static double segment_work(const master *m, const cv_segment *seg, int epochs)
{
    return (double)epochs *
           (double)cv_nn_state_floats(&seg->config, m->data.d, m->data.classes);
}

static int on_result(void *user, const cv_segment *seg, int rank, const cv_trial_result *res,
                     const cv_segment_states *states, cv_error *err)
{
    master *m = user;
    if (res->status != CV_TRIAL_INTERRUPTED) {
        m->segment_seconds += cv_now() - cv_transport_sent(m->transport, rank);
        m->segments_timed++;
        double work = segment_work(m, seg, res->epochs_done);
        if (work > 0 && res->seconds / work > m->rate)
            m->rate = res->seconds / work;
        if (work > 0) {
            m->work_seconds += res->seconds;
            m->work += work;
        }
    }
    return record(m, seg, rank, res, states, err);
}

/* ---- the loop ---------------------------------------------------------------- */

/* The seconds before the time limit at which the study stops: what ending
 * takes (gathering checkpoints, scoring the test set, the final tables) and
 * a margin for a segment that runs long. */
static double closing_seconds(const master *m)
{
    return 2.0 + 0.02 * m->opts->time_limit;
}

/* Whether seg, started now, would end before the time limit less the
 * closing time, judging by the training rate (seconds per epoch and state
 * float) of the segments so far; the first segments always start. */
static bool time_for(const master *m, const cv_segment *seg)
{
    if (m->opts->time_limit <= 0)
        return true;
    double left = m->opts->time_limit - closing_seconds(m) - (cv_now() - m->progress.t_start);
    if (m->work <= 0)
        return left > 0;
    double need = 1.1 * m->work_seconds / m->work *
                  segment_work(m, seg, seg->to_epoch - seg->from_epoch);
    return need <= left;
}

/* Arms the deadline: the time limit less the closing time, from the start. */
static void arm_deadline(const master *m)
{
    if (m->opts->time_limit <= 0)
        return;
    double at = m->opts->time_limit - closing_seconds(m) - (cv_now() - m->progress.t_start);
    if (at < 0.001)
        at = 0.001;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_deadline;
    sa.sa_flags = SA_RESTART; /* system calls in progress (MPI, HDF5, fsync) go on */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {.tv_sec = (time_t)at,
                                        .tv_usec = (suseconds_t)((at - floor(at)) * 1e6)}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_deadline(const master *m)
{
    if (m->opts->time_limit <= 0)
        return;
    struct itimerval it = {0};
    setitimer(ITIMER_REAL, &it, NULL);
}

/* Stops dispatching; on a signal the segments in flight are recorded as
 * interrupted and their workers told to drop them. */
static int begin_stop(master *m, bool interrupt, cv_error *err)
{
    if (m->stopping)
        return 0;
    m->stopping = true;
    int ranks = 1;
    MPI_Comm_size(m->comm, &ranks);
    for (int w = 1; interrupt && w < ranks; w++) {
        const cv_segment *in_flight = cv_transport_segment(m->transport, w);
        if (in_flight == NULL)
            continue;
        cv_segment seg = *in_flight;
        cv_transport_abort(m->transport, w);
        cv_trial_result res = cv_trial_result_none(CV_TRIAL_INTERRUPTED);
        int rc = record(m, &seg, w, &res, NULL, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- stuck workers -------------------------------------------------------------
 * OpenMPI has no fault tolerance: a rank that stops answering (a stalled
 * filesystem, a stopped process, a wedged driver) would hold its segment,
 * and the study, forever. Each segment gets a deadline; past it the master
 * gives up on the rank and sends its segment to another worker (or records
 * it failed, the second time, or when no worker is left), the study goes
 * on without the rank, and the job ends with MPI_Abort once the file is
 * closed (cv_run returns CV_RUN_WORKERS_LOST). */

/* Seconds seg may run: the job's trial_timeout, else 60 s plus twenty times
 * what its work would take at the slowest rate measured so far (per epoch
 * and state float, so that a network far larger than those measured gets
 * its due); none before a segment has finished. */
static double deadline(const master *m, const cv_segment *seg)
{
    if (m->job.trial_timeout > 0 && m->prog.root != NULL) /* the worker stops the program */
        return m->job.trial_timeout + m->job.trainer.grace_seconds + 30.0;
    if (m->job.trial_timeout > 0)
        return m->job.trial_timeout;
    if (m->rate <= 0)
        return INFINITY;
    return 60.0 + 20.0 * m->rate * segment_work(m, seg, seg->to_epoch - seg->from_epoch);
}

static bool timed_out_before(const master *m, int64_t trial)
{
    for (int64_t i = 0; i < m->n_timed_out; i++)
        if (m->timed_out[i] == trial)
            return true;
    return false;
}

/* Gives up on every worker past its segment's deadline. */
static int give_up_on_stuck(master *m, int ranks, cv_error *err)
{
    const double now = cv_now();
    for (int w = 1; w < ranks; w++) {
        const cv_segment *in_flight = cv_transport_segment(m->transport, w);
        if (in_flight == NULL)
            continue;
        double limit = deadline(m, in_flight), ran = now - cv_transport_sent(m->transport, w);
        if (ran <= limit)
            continue;
        cv_segment seg = *in_flight;
        cv_transport_give_up(m->transport, w);
        bool again = !timed_out_before(m, seg.trial) &&
                     cv_transport_lost_workers(m->transport) < cv_transport_workers(m->transport);
        if (m->opts->progress != NULL)
            fprintf(m->opts->progress,
                    "caviar: rank %d has not finished trial %lld in %.0f s (its deadline: %.0f "
                    "s): the rank is given up on, and the trial %s\n",
                    w, (long long)seg.trial, ran, limit,
                    again ? "goes to another worker" : "is recorded as failed");
        int64_t *p = realloc(m->timed_out, (size_t)(m->n_timed_out + 1) * sizeof *p);
        if (p == NULL)
            return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory");
        m->timed_out = p;
        m->timed_out[m->n_timed_out++] = seg.trial;
        if (again) {
            m->sched.ops->requeue(m->sched.self, seg.trial);
            continue;
        }
        cv_trial_result res = cv_trial_result_none(CV_TRIAL_FAILED);
        res.seconds = ran;
        int rc = record(m, &seg, w, &res, NULL, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The state seg continues from, loaded into *start (free() it). A state
 * that is missing or damaged (a side file lost) makes the segment train
 * the trial from scratch instead: training is deterministic, so it reaches
 * the same epochs, only later. */
static int segment_start(master *m, cv_segment *seg, float **start, int64_t *n, cv_error *err)
{
    *start = NULL;
    *n = 0;
    if (seg->from_epoch == 0 || m->prog.root != NULL) /* a program keeps its own state */
        return 0;
    cv_error lerr = {0};
    int rc = cv_recorder_load_state(m->rec, seg->trial, seg->from_epoch, start, n, &lerr);
    if (rc == 0)
        return 0;
    if (rc != CV_ERR_INPUT) {
        *err = lerr;
        return rc;
    }
    if (m->opts->progress != NULL)
        fprintf(m->opts->progress, "caviar: %s; trial %lld is trained again from scratch\n",
                lerr.msg, (long long)seg->trial);
    seg->from_epoch = 0;
    seg->prior = cv_trial_result_none(CV_TRIAL_DONE);
    seg->prior_seconds = 0;
    return 0;
}

/* Hands ready segments to free workers until either runs out. */
static int dispatch(master *m, cv_error *err)
{
    int w;
    while (!m->stopping && (w = cv_transport_free_worker(m->transport)) >= 0) {
        cv_segment seg;
        int rc = m->sched.ops->next(m->sched.self, &seg, err);
        if (rc <= 0)
            return rc;
        if (!time_for(m, &seg)) {
            m->sched.ops->requeue(m->sched.self, seg.trial);
            return begin_stop(m, false, err);
        }
        float *start = NULL;
        int64_t n_start = 0;
        if ((rc = segment_start(m, &seg, &start, &n_start, err)) != 0)
            return rc;
        cv_progress_dispatch(&m->progress);
        rc = cv_transport_send(m->transport, w, &seg, start, n_start, err);
        free(start);
        if (rc != 0)
            return rc;
        if (cv_run_signal || deadline_reached) /* the single-rank master trained it: see to
                                                  the stop first */
            return 0;
    }
    return 0;
}

/* Runs the plan until it is complete, or a stop lets the last segment in
 * flight end. */
static int study_loop(master *m, int ranks, cv_error *err)
{
    int rc;
    for (;;) {
        if ((cv_run_signal || deadline_reached) && (rc = begin_stop(m, true, err)) != 0)
            return rc;
        if ((rc = dispatch(m, err)) != 0)
            return rc;
        int busy = cv_transport_busy(m->transport);
        if (busy == 0 && (m->stopping || m->sched.ops->complete(m->sched.self)))
            return cv_recorder_flush(m->rec, err);
        if (busy == 0 && cv_transport_free_worker(m->transport) < 0) {
            /* every worker was given up on: what is left waits for a resume */
            if (m->opts->progress != NULL)
                fprintf(m->opts->progress, "caviar: no worker is left\n");
            begin_stop(m, false, err);
            continue;
        }
        if (busy == 0 && !cv_run_signal && !deadline_reached)
            return cv_fail(err, CV_ERR_RUNTIME,
                           "runner: the scheduler has nothing to run but the plan is not "
                           "complete");
        bool got = false;
        if ((rc = cv_transport_poll(m->transport, &got, err)) != 0)
            return rc;
        if ((rc = give_up_on_stuck(m, ranks, err)) != 0)
            return rc;
        if ((rc = cv_recorder_flush_due(m->rec, err)) != 0)
            return rc;
        if (!got)
            cv_progress_tick(&m->progress, cv_recorder_best(m->rec), busy);
        cv_transport_nap(m->transport, got);
    }
}

/* ---- set-up and the end ----------------------------------------------------- */

/* The master's part of starting: the job (from its file, or from the
 * results file when resuming), the space, the data, the store, and the
 * recorder and scheduler over what the file already holds. */
/* This run's row of /runs; a resume first compares it with the run that
 * started the file and warns when another kind of machine runs it now. */
static int record_provenance(master *m, int ranks, const char *hosts, cv_error *err)
{
    cv_run_info here;
    const bool resume = m->opts->job_path == NULL;
    cv_provenance_here(&here, resume ? "resume" : "run", ranks,
                       m->opts->threads_per_worker > 0 ? m->opts->threads_per_worker : 1, hosts);
    if (resume) {
        cv_run_info *runs = NULL;
        int64_t n = 0;
        int rc = cv_store_read_runs(m->store, &runs, &n, err);
        if (rc != 0)
            return rc;
        char why[512];
        if (n > 0 && cv_provenance_differs(&runs[0], &here, why, sizeof why) &&
            m->opts->progress != NULL)
            fprintf(m->opts->progress, "caviar resume: warning: %s\n", why);
        free(runs);
    }
    return cv_store_append_run(m->store, &here, err);
}

/* The job's scheduler over what the file holds (rows: the study's trial
 * rows in file order, resuming). */
static int create_scheduler(master *m, cv_trial_row *rows, int64_t n, int64_t rounds_in_file,
                            cv_error *err)
{
    if (m->job.search.schedule == CV_SCHEDULE_FULL)
        return cv_rounds_create(&m->sched, &m->job, m->space, m->rec, rows, n, rounds_in_file,
                                err);
    cv_segment_row *segs = NULL;
    cv_rung_row *rungs = NULL;
    cv_lineage_row *lineage = NULL;
    int64_t n_segs = 0, n_rungs = 0, n_lineage = 0;
    int rc = 0;
    if (m->opts->job_path == NULL &&
        ((rc = cv_store_read_segments(m->store, &segs, &n_segs, err)) != 0 ||
         (rc = cv_store_read_rungs(m->store, &rungs, &n_rungs, err)) != 0 ||
         (rc = cv_store_read_lineage(m->store, &lineage, &n_lineage, err)) != 0)) {
        free(segs), free(rungs);
        return rc;
    }
    if (m->job.search.schedule == CV_SCHEDULE_PBT)
        rc = cv_pbt_create(&m->sched, &m->job, m->space, m->rec, rows, n, segs, n_segs, lineage,
                           n_lineage, rounds_in_file, err);
    else
        rc = cv_halving_create(&m->sched, &m->job, m->space, m->rec, rows, n, segs, n_segs,
                               rungs, n_rungs, rounds_in_file, err);
    free(segs), free(rungs), free(lineage);
    return rc;
}

/* A job with a trainer: where its programs run (the workdir and the
 * results file's side directory, absolute, so that every rank finds them). */
static int program_setup(master *m, cv_error *err)
{
    const cv_trainer *t = &m->job.trainer;
    char dir[PATH_MAX], *slash = strrchr(m->opts->results_path, '/');
    if (realpath(t->workdir, dir) == NULL)
        return cv_fail(err, CV_ERR_INPUT, "%s:%d:%d: trainer.workdir %s: %s", m->job.path,
                       t->pos.line, t->pos.column, t->workdir, strerror(errno));
    char *workdir = strdup(dir);
    char parent[PATH_MAX], pbuf[PATH_MAX];
    if (slash == NULL)
        snprintf(pbuf, sizeof pbuf, ".");
    else if (slash == m->opts->results_path)
        snprintf(pbuf, sizeof pbuf, "/");
    else
        snprintf(pbuf, sizeof pbuf, "%.*s", (int)(slash - m->opts->results_path),
                 m->opts->results_path);
    if (realpath(pbuf, parent) == NULL) {
        free(workdir);
        return cv_fail(err, CV_ERR_INPUT, "%s: %s", pbuf, strerror(errno));
    }
    size_t need = strlen(parent) + strlen(slash ? slash : m->opts->results_path) + 8;
    char *root = malloc(need);
    if (workdir == NULL || root == NULL) {
        free(workdir), free(root);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory");
    }
    snprintf(root, need, "%s/%s.ckpt", parent, slash ? slash + 1 : m->opts->results_path);
    free(m->job.trainer.workdir);
    m->job.trainer.workdir = workdir;
    m->prog = (cv_program_ctx){.trainer = m->job.trainer, .root = root,
                               .metric = m->job.search.metric,
                               .timeout = m->job.trial_timeout,
                               .threads = m->opts->threads_per_worker};
    return 0;
}

/* The program's setup from the master to every worker: the job (its text
 * names the trainer and the parameters' vocabulary), the workdir and the
 * side directory. Collective; on a worker fills job and prog. */
static int program_share(MPI_Comm comm, int rank, master *m, cv_job *job, cv_program_ctx *prog,
                         cv_error *err)
{
    long long len[4] = {0};
    const char *parts[4] = {NULL};
    if (rank == 0) {
        parts[0] = m->job.path, parts[1] = m->job.text;
        parts[2] = m->prog.trainer.workdir, parts[3] = m->prog.root;
        for (int i = 0; i < 4; i++)
            len[i] = (long long)strlen(parts[i]) + 1;
    }
    MPI_Bcast(len, 4, MPI_LONG_LONG, 0, comm);
    char *buf[4] = {NULL};
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        if (rank == 0) {
            buf[i] = (char *)parts[i];
        } else if ((buf[i] = malloc((size_t)len[i])) == NULL) {
            fprintf(stderr, "caviar: rank %d: out of memory for the job\n", rank);
            MPI_Abort(comm, 1);
        }
        MPI_Bcast(buf[i], (int)len[i], MPI_CHAR, 0, comm);
    }
    if (rank != 0) {
        rc = cv_job_parse(job, buf[0], buf[1], (size_t)len[1] - 1, err);
        if (rc == 0) {
            free(job->trainer.workdir);
            job->trainer.workdir = buf[2];
            buf[2] = NULL;
            *prog = (cv_program_ctx){.trainer = job->trainer, .root = buf[3],
                                     .metric = job->search.metric,
                                     .timeout = job->trial_timeout};
            buf[3] = NULL;
        }
        for (int i = 0; i < 4; i++)
            free(buf[i]);
    }
    return rc;
}

static int master_open(master *m, int ranks, const char *hosts, cv_error *err)
{
    const cv_run_opts *o = m->opts;
    int rc;
    if (o->job_path != NULL) {
        if ((rc = cv_store_check_output(o->results_path, o->overwrite, err)) != 0)
            return rc;
        if ((rc = cv_job_load(&m->job, o->job_path, err)) != 0)
            return rc;
    } else {
        if ((rc = cv_store_open(&m->store, o->results_path, CV_STORE_APPEND, err)) != 0)
            return rc;
        const char *text = cv_store_job_text(m->store);
        if ((rc = cv_job_parse(&m->job, cv_store_job_path(m->store), text, strlen(text), err)) != 0)
            return rc;
    }
    if ((rc = cv_space_create(&m->space, &m->job, err)) != 0)
        return rc;
    if (cv_job_has_trainer(&m->job) && (rc = program_setup(m, err)) != 0)
        return rc;
    if (m->prog.root == NULL && (rc = cv_data_load_job(&m->data, &m->job, err)) != 0)
        return rc;

    /* what the file already holds: the study's trials (babysitting runs,
     * with a parent, live beside it) and its rounds */
    cv_trial_row *rows = NULL;
    int64_t n = 0, rounds_in_file = 0;
    if (o->job_path != NULL) {
        if ((rc = cv_store_create(&m->store, o->results_path, &m->job, ranks, o->overwrite,
                                  err)) != 0 ||
            (m->prog.root == NULL && (rc = cv_store_write_data(m->store, &m->data, err)) != 0) ||
            (rc = record_provenance(m, ranks, hosts, err)) != 0 ||
            (rc = cv_store_start_swmr(m->store, err)) != 0)
            return rc;
    } else {
        if ((rc = record_provenance(m, ranks, hosts, err)) != 0 ||
            (rc = cv_store_round_count(m->store, &rounds_in_file, err)) != 0 ||
            (rc = cv_store_read_trials(m->store, &rows, &n, err)) != 0)
            return rc;
        int64_t k = 0;
        for (int64_t i = 0; i < n; i++)
            if (rows[i].parent < 0)
                rows[k++] = rows[i];
        n = k;
    }
    const cv_metric metric = m->job.search.metric;
    rc = cv_recorder_create(&m->rec, m->store, metric, m->job.checkpoints_keep, rows, n, err);
    if (rc == 0 && m->prog.root != NULL)
        cv_recorder_set_program(m->rec, m->prog.root);
    if (rc == 0)
        rc = create_scheduler(m, rows, n, rounds_in_file, err);
    free(rows);
    if (rc != 0)
        return rc;
    m->progress.planned = m->sched.ops->planned(m->sched.self);
    if (m->sched.ops->planned_epochs != NULL) {
        m->progress.epochs_planned = m->sched.ops->planned_epochs(m->sched.self);
        m->progress.epochs_done = m->progress.epochs_before =
            m->sched.ops->epochs_done(m->sched.self);
    }
    m->progress.finished = m->progress.finished_before =
        m->sched.ops->finished_count(m->sched.self);
    return 0;
}

static void master_close(master *m)
{
    cv_error ignore = {0};
    if (m->sched.ops != NULL)
        m->sched.ops->free(m->sched.self);
    cv_recorder_free(m->rec);
    cv_store_close(m->store, &ignore);
    cv_space_free(m->space);
    cv_data_free(&m->data);
    cv_job_free(&m->job);
    free(m->prog.root);
    free(m->timed_out);
}

/* A complete program study keeps the checkpoint directories of its best
 * `checkpoints.keep` trials and removes the others'. */
static int prune_programs(master *m, cv_error *err)
{
    int64_t *kept = NULL, n = 0;
    int rc = cv_recorder_kept(m->rec, &kept, &n, err);
    if (rc == 0)
        cv_program_prune(m->prog.root, kept, n, m->job.checkpoints_keep == CV_CHECKPOINTS_ALL);
    free(kept);
    return rc;
}

/* The master's whole study after the data went out. */
/* The master's whole study after the data went out; *lost: the workers
 * given up on. */
static int master_run(master *m, int ranks, int *lost, cv_error *err)
{
    const cv_transport_events ev = {.user = m, .curve = on_curve, .result = on_result};
    int rc = cv_transport_create(&m->transport, m->comm, &m->data, m->job.search.metric, &ev,
                                 err);
    if (rc != 0)
        return rc;
    if (m->prog.root != NULL)
        cv_transport_set_program(m->transport, &m->prog);
    arm_deadline(m);
    rc = study_loop(m, ranks, err);
    disarm_deadline(m);
    bool complete = rc == 0 && !m->stopping;
    int workers = cv_transport_workers(m->transport);
    *lost = cv_transport_lost_workers(m->transport);
    if (rc == 0) {
        cv_progress_end(&m->progress, complete, workers, ranks > 1, m->opts->results_path);
        if (*lost > 0 && m->opts->progress != NULL)
            fprintf(m->opts->progress,
                    "caviar: %d of %d workers given up on: the job ends with MPI_Abort once the "
                    "results file is closed\n",
                    *lost, workers);
        rc = cv_recorder_end_study(m->rec, complete, &m->data.test,
                                   cv_now() - m->progress.t_start, workers, err);
        if (rc == 0 && complete && m->prog.root != NULL)
            rc = prune_programs(m, err);
    }
    cv_transport_free(m->transport);
    m->transport = NULL;
    return rc;
}

int cv_run(MPI_Comm comm, const cv_run_opts *opts, cv_error *err)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    cv_blas_set_threads(opts->threads_per_worker > 0 ? opts->threads_per_worker : 1);
    char hosts[256] = "";
    cv_provenance_hosts(comm, hosts, sizeof hosts);

    if (rank != 0) {
        int status = 0;
        MPI_Bcast(&status, 1, MPI_INT, 0, comm);
        if (status != 0)
            return status;
        int metric = 0, program = 0;
        MPI_Bcast(&metric, 1, MPI_INT, 0, comm);
        MPI_Bcast(&program, 1, MPI_INT, 0, comm);
        if (program) { /* the job's own program: no data to share */
            cv_job job = {0};
            cv_program_ctx prog = {0};
            if ((status = program_share(comm, rank, NULL, &job, &prog, err)) == 0) {
                prog.threads = opts->threads_per_worker;
                cv_transport_serve(comm, NULL, (cv_metric)metric, &prog);
            }
            MPI_Bcast(&status, 1, MPI_INT, 0, comm);
            free(prog.root);
            cv_job_free(&job);
            return status;
        }
        cv_data data = {0};
        cv_shared sh;
        if ((status = cv_data_share(&data, comm, &sh, err)) != 0)
            return status;
        cv_transport_serve(comm, &data, (cv_metric)metric, NULL);
        MPI_Bcast(&status, 1, MPI_INT, 0, comm);
        cv_data_unshare(&data, &sh, true);
        cv_data_free(&data);
        return status;
    }

    master m = {.opts = opts, .comm = comm};
    cv_progress_init(&m.progress, opts->progress, CV_METRIC_DEV_ACCURACY, cv_now());
    int rc = master_open(&m, size, hosts, err);
    m.progress.metric = m.job.search.metric;
    int status = rc;
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (rc != 0) {
        master_close(&m);
        return rc;
    }
    int metric = (int)m.job.search.metric, program = m.prog.root != NULL;
    MPI_Bcast(&metric, 1, MPI_INT, 0, comm);
    MPI_Bcast(&program, 1, MPI_INT, 0, comm);
    if (program)
        program_share(comm, 0, &m, NULL, NULL, err);
    cv_shared sh = {.win = MPI_WIN_NULL, .node = MPI_COMM_NULL, .leaders = MPI_COMM_NULL};
    if (size > 1 && !program && (rc = cv_data_share(&m.data, comm, &sh, err)) != 0) {
        master_close(&m);
        return rc;
    }
    if (size > 1 && !program && opts->progress != NULL)
        fprintf(opts->progress, "data: %lld train and %lld dev examples (%.1f MB), one copy on each "
                                "of %d node%s\n",
                (long long)m.data.train.n, (long long)m.data.dev.n, (double)sh.bytes / 1e6,
                sh.nodes, sh.nodes == 1 ? "" : "s");

    int lost = 0;
    rc = master_run(&m, size, &lost, err);
    cv_error cerr = {0};
    int crc = cv_store_close(m.store, &cerr);
    m.store = NULL;
    if (rc == 0 && crc != 0) {
        rc = crc;
        *err = cerr;
    }
    if (lost > 0) {
        /* the ranks given up on would never join the closing broadcast, nor
         * free the window */
        if (size > 1 && !program)
            cv_data_unshare(&m.data, &sh, false);
        master_close(&m);
        return rc != 0 ? rc : CV_RUN_WORKERS_LOST;
    }
    status = rc;
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (size > 1 && !program)
        cv_data_unshare(&m.data, &sh, true);
    master_close(&m);
    return rc;
}
