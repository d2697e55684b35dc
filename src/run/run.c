/* run.c: the study runner: MPI master and workers (see caviar/run.h).
 *
 * Messages (all on the study's communicator, every one naming its trial):
 *   master -> worker  TAG_WORK   work_msg: trial, round, seed, configuration
 *                     TAG_ABORT  (empty) interrupt the trial in progress
 *                     TAG_STOP   (empty) no more work: return
 *   worker -> master  TAG_CURVE  curve_msg: one epoch's figures
 *                     TAG_RESULT result_hdr followed by the network's state
 *                                (the best epoch's: the checkpoint), one message
 * Everything is sent as bytes: a study runs on one kind of machine.
 *
 * The master keeps a table of every trial of the study (R rounds x T trials;
 * trial id = round * T + index) and a rank -> trial table of who trains
 * what. Trials of a round are dispatched in id order to whichever worker is
 * free; the next round is sampled once the last trial of this one is in. */
#include "caviar/run.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "caviar/blas.h"
#include "caviar/data.h"
#include "caviar/job.h"
#include "caviar/nn.h"
#include "caviar/space.h"
#include "caviar/store.h"
#include "caviar/train.h"

enum { TAG_WORK = 11, TAG_ABORT, TAG_STOP, TAG_CURVE, TAG_RESULT };

/* An idle rank sleeps between polls, starting at POLL_MIN_NS after a
 * message and doubling up to POLL_MAX_NS while none comes: a busy master
 * answers within microseconds (thousands of trivial trials a second), an
 * idle one wakes 500 times a second (about 1% of a core). */
#define POLL_MIN_NS 50000L
#define POLL_MAX_NS 2000000L

/* The largest message the runner sends, in bytes (MPI counts are ints). */
#define MAX_MESSAGE ((int64_t)INT32_MAX)

/* Buffered rows reach the file at most this long after they arrive: often
 * enough for a live reader, seldom enough that a master receiving thousands
 * of results a second appends them in batches. */
#define FLUSH_SECONDS 0.02

/* How many leaderboard rows the end of a study prints. */
#define LEADERBOARD_ROWS 10

/* Set by SIGTERM/SIGINT; g_stop also by the master's TAG_ABORT on a worker.
 * Training checks g_stop between mini-batches. */
static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    g_signal = sig;
    g_stop = 1;
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

typedef struct work_msg {
    int64_t trial;
    int32_t round;
    int32_t pad;
    uint64_t seed;
    double params[CV_P_COUNT]; /* cv_config_get of every parameter */
} work_msg;

typedef struct curve_msg {
    int64_t trial;
    cv_epoch_stats e;
} curve_msg;

typedef struct result_hdr {
    int64_t trial;
    cv_trial_result r;
    int64_t n_state; /* floats of state that follow (0: no checkpoint) */
} result_hdr;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds this process has used. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Sleeps *ns nanoseconds, then doubles *ns up to POLL_MAX_NS. */
static void nap(long *ns)
{
    struct timespec t = {0, *ns};
    nanosleep(&t, NULL);
    *ns = *ns * 2 < POLL_MAX_NS ? *ns * 2 : POLL_MAX_NS;
}

/* Waits without spinning for a message from source (any tag) on comm. */
static void wait_message(MPI_Comm comm, int source, MPI_Status *st)
{
    long ns = POLL_MIN_NS;
    for (;;) {
        int flag = 0;
        MPI_Iprobe(source, MPI_ANY_TAG, comm, &flag, st);
        if (flag)
            return;
        nap(&ns);
    }
}

/* ---- the data, broadcast once ------------------------------------------ */

/* Broadcasts n values of type t from root in pieces MPI's int counts hold. */
static void bcast_big(void *buf, int64_t n, MPI_Datatype t, size_t size, MPI_Comm comm)
{
    const int64_t piece = (int64_t)1 << 28;
    for (int64_t off = 0; off < n; off += piece) {
        int64_t k = n - off < piece ? n - off : piece;
        MPI_Bcast((char *)buf + (size_t)off * size, (int)k, t, 0, comm);
    }
}

/* The master's train and dev splits to every worker (the test set stays
 * with the master, which alone scores it). Workers allocate; on failure to
 * allocate a worker aborts the job, the one thing it cannot report. */
static void bcast_data(cv_data *data, int rank, MPI_Comm comm)
{
    int64_t hdr[4] = {data->d, data->classes, data->train.n, data->dev.n};
    MPI_Bcast(hdr, 4, MPI_INT64_T, 0, comm);
    cv_dataset *sets[2] = {&data->train, &data->dev};
    if (rank != 0) {
        data->d = (int)hdr[0];
        data->classes = (int)hdr[1];
        for (int i = 0; i < 2; i++) {
            sets[i]->n = hdr[2 + i];
            sets[i]->d = data->d;
            sets[i]->X = malloc((size_t)sets[i]->n * (size_t)data->d * sizeof(float));
            sets[i]->y = malloc((size_t)sets[i]->n * sizeof(int32_t));
            if (sets[i]->X == NULL || sets[i]->y == NULL) {
                fprintf(stderr, "caviar: worker %d: out of memory for the data\n", rank);
                MPI_Abort(comm, 1);
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        bcast_big(sets[i]->X, sets[i]->n * data->d, MPI_FLOAT, sizeof(float), comm);
        bcast_big(sets[i]->y, sets[i]->n, MPI_INT32_T, sizeof(int32_t), comm);
    }
}

/* ---- one trial, wherever it runs ---------------------------------------- */

/* Trains cfg from seed; *net receives the network (holding the best epoch's
 * state) for its checkpoint, or NULL if it could not be created. */
static int train_one(const cv_data *data, const cv_config *cfg, uint64_t seed, cv_metric metric,
                     cv_epoch_fn on_epoch, void *user, cv_nn **net, cv_trial_result *res,
                     cv_error *err)
{
    *net = cv_nn_create(cfg, data->d, data->classes, cv_train_max_batch(cfg), err);
    if (*net == NULL) {
        *res = (cv_trial_result){.status = CV_TRIAL_FAILED, .best_epoch = -1,
                                 .dev_accuracy = NAN, .dev_loss = NAN,
                                 .train_accuracy = NAN, .train_loss = NAN};
        return err->code;
    }
    cv_nn_init(*net, seed);
    cv_train_opts opts = {.seed = seed, .metric = metric, .on_epoch = on_epoch, .user = user,
                          .stop = &g_stop};
    return cv_train(*net, data, &opts, res, err);
}

static void config_to_params(const cv_config *cfg, double *params)
{
    for (int p = 0; p < CV_P_COUNT; p++)
        params[p] = cv_config_get(cfg, (cv_param)p);
}

static void params_to_config(const double *params, cv_config *cfg)
{
    cv_config_defaults(cfg);
    for (int p = 0; p < CV_P_COUNT; p++)
        cv_config_set(cfg, (cv_param)p, params[p]);
}

/* ---- worker --------------------------------------------------------------- */

typedef struct worker_ctx {
    MPI_Comm comm;
    int64_t trial;
} worker_ctx;

/* Streams an epoch to the master and picks up an abort. */
static int worker_epoch(const cv_epoch_stats *e, void *user)
{
    worker_ctx *w = user;
    curve_msg m = {.trial = w->trial, .e = *e};
    MPI_Send(&m, sizeof m, MPI_BYTE, 0, TAG_CURVE, w->comm);
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(0, TAG_ABORT, w->comm, &flag, &st);
    if (flag) {
        MPI_Recv(NULL, 0, MPI_BYTE, 0, TAG_ABORT, w->comm, MPI_STATUS_IGNORE);
        g_stop = 1;
    }
    return g_stop != 0;
}

static void worker_loop(MPI_Comm comm, const cv_data *data, cv_metric metric)
{
    for (;;) {
        MPI_Status st;
        wait_message(comm, 0, &st);
        if (st.MPI_TAG != TAG_WORK) {
            /* TAG_STOP ends; a TAG_ABORT that crossed our result is stale */
            MPI_Recv(NULL, 0, MPI_BYTE, 0, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
            if (st.MPI_TAG == TAG_STOP)
                return;
            continue;
        }
        work_msg w;
        MPI_Recv(&w, sizeof w, MPI_BYTE, 0, TAG_WORK, comm, MPI_STATUS_IGNORE);
        cv_config cfg;
        params_to_config(w.params, &cfg);
        g_stop = g_signal;
        worker_ctx ctx = {.comm = comm, .trial = w.trial};
        cv_nn *net = NULL;
        cv_error err = {0};
        result_hdr hdr = {.trial = w.trial};
        train_one(data, &cfg, w.seed, metric, worker_epoch, &ctx, &net, &hdr.r, &err);

        /* result and checkpoint in one message: [hdr][state floats] */
        /* An interrupted trial's result goes without weights: small enough
         * to be sent eagerly while the master, stopping, no longer listens. */
        size_t n_state = net != NULL && hdr.r.best_epoch >= 0 &&
                                 hdr.r.status != CV_TRIAL_INTERRUPTED
                             ? cv_nn_state_size(net)
                             : 0;
        if ((int64_t)(sizeof hdr + n_state * sizeof(float)) > MAX_MESSAGE)
            n_state = 0; /* too big for one message: the result goes without weights */
        hdr.n_state = (int64_t)n_state;
        size_t bytes = sizeof hdr + n_state * sizeof(float);
        char *buf = malloc(bytes);
        if (buf == NULL) {
            hdr.n_state = 0, bytes = sizeof hdr, buf = (char *)&hdr;
            MPI_Send(buf, (int)bytes, MPI_BYTE, 0, TAG_RESULT, comm);
        } else {
            memcpy(buf, &hdr, sizeof hdr);
            if (n_state > 0)
                cv_nn_state_save(net, (float *)(buf + sizeof hdr));
            MPI_Send(buf, (int)bytes, MPI_BYTE, 0, TAG_RESULT, comm);
            free(buf);
        }
        cv_nn_free(net);
    }
}

/* ---- master ---------------------------------------------------------------- */

enum trial_state { PENDING, RUNNING, FINISHED };

typedef struct trial {
    enum trial_state state;
    int worker;      /* the rank training it */
    double started;  /* when it was dispatched */
    cv_config cfg;   /* sampled when its round begins */
    uint64_t seed;
    cv_trial_row row; /* when FINISHED */
} trial;

typedef struct master {
    const cv_run_opts *opts;
    MPI_Comm comm;
    int size; /* ranks */
    cv_job job;
    cv_space *space;
    cv_data data;
    cv_store *store;
    int T, R;       /* trials per round, rounds */
    int64_t n;      /* R * T */
    trial *trials;  /* (n) */
    cv_region *regions; /* (R) */
    int64_t rounds_in_file;
    int64_t *rank_trial; /* (size) the trial each rank trains, -1 when idle */

    cv_trial_row *extra; /* rows of the file outside the study (babysitting) */
    int64_t n_extra;

    cv_curve_row *curves; /* appended at the next flush */
    int64_t n_curves, cap_curves;
    cv_trial_row *rows; /* appended at the next flush */
    int64_t n_rows, cap_rows;
    double last_flush;
    long poll_ns; /* the master's next nap */

    /* progress */
    double t_start;
    double t_first, t_last; /* the first dispatch and the last result of this run */
    double cpu_first;       /* the master's CPU seconds at the first dispatch */
    int64_t finished, finished_before, running, diverged, failed;
    int64_t best; /* trial id of the best so far, -1 */
    double busy_seconds, trial_seconds_sum;
    int64_t trial_seconds_n;
    bool tty;
    double last_draw; /* when the terminal's bar was last redrawn */
    bool stopping;
    const char *stop_reason;
} master;

static double metric_of(const master *m, const cv_trial_row *row)
{
    return m->job.search.metric == CV_METRIC_DEV_LOSS ? row->dev_loss : row->dev_accuracy;
}

/* Whether a ranks before b: the better metric (NaN last), then the lower id. */
static bool ranks_before(const master *m, const cv_trial_row *a, const cv_trial_row *b)
{
    double x = metric_of(m, a), y = metric_of(m, b);
    bool fx = isfinite(x), fy = isfinite(y);
    if (fx != fy)
        return fx;
    if (fx && x != y)
        return m->job.search.metric == CV_METRIC_DEV_LOSS ? x < y : x > y;
    return a->trial < b->trial;
}

static int push_curve(master *m, const cv_curve_row *row, cv_error *err)
{
    if (m->n_curves == m->cap_curves) {
        int64_t cap = m->cap_curves ? 2 * m->cap_curves : 256;
        cv_curve_row *p = realloc(m->curves, (size_t)cap * sizeof *p);
        if (p == NULL)
            return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for curve rows");
        m->curves = p, m->cap_curves = cap;
    }
    m->curves[m->n_curves++] = *row;
    return 0;
}

static int push_row(master *m, const cv_trial_row *row, cv_error *err)
{
    if (m->n_rows == m->cap_rows) {
        int64_t cap = m->cap_rows ? 2 * m->cap_rows : 64;
        cv_trial_row *p = realloc(m->rows, (size_t)cap * sizeof *p);
        if (p == NULL)
            return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for trial rows");
        m->rows = p, m->cap_rows = cap;
    }
    m->rows[m->n_rows++] = *row;
    return 0;
}

/* Appends the buffered curve points, then the buffered trial rows (so that a
 * reader never sees a trial without its curve). */
static int flush_rows(master *m, cv_error *err)
{
    int rc = 0;
    m->last_flush = now();
    if (m->n_curves > 0 && (rc = cv_store_append_curves(m->store, m->curves, m->n_curves, err)))
        return rc;
    m->n_curves = 0;
    if (m->n_rows > 0 && (rc = cv_store_append_trials(m->store, m->rows, m->n_rows, err)))
        return rc;
    m->n_rows = 0;
    return 0;
}

/* flush_rows once FLUSH_SECONDS have passed since the last one. */
static int flush_when_due(master *m, cv_error *err)
{
    if (m->n_rows + m->n_curves == 0 || now() - m->last_flush < FLUSH_SECONDS)
        return 0;
    return flush_rows(m, err);
}

/* ---- progress ------------------------------------------------------------ */

static void format_duration(char *buf, size_t size, double s)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, size, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

/* One line per finished trial, or a redrawn bar on a terminal. */
static void progress(master *m, const trial *t)
{
    FILE *out = m->opts->progress;
    if (out == NULL)
        return;
    double elapsed = now() - m->t_start;
    int64_t done_now = m->finished - m->finished_before;
    int64_t left = m->n - m->finished;
    double eta = done_now > 0 ? elapsed / (double)done_now * (double)left : NAN;
    char el[32], et[32], best[96] = "best -";
    format_duration(el, sizeof el, elapsed);
    format_duration(et, sizeof et, eta);
    if (m->best >= 0) {
        const cv_trial_row *b = &m->trials[m->best].row;
        snprintf(best, sizeof best, "best %s %.4f (trial %lld)",
                 m->job.search.metric == CV_METRIC_DEV_LOSS ? "dev_loss" : "dev_accuracy",
                 metric_of(m, b), (long long)b->trial);
    }
    if (m->tty) {
        if (t == NULL && now() - m->last_draw < 0.5)
            return;
        m->last_draw = now();
        const int width = 24;
        int fill = (int)((double)m->finished / (double)m->n * width);
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(out, "\r[%s] %lld/%lld done, %lld running, %lld diverged, %s, %s elapsed, ETA %s  ",
                bar, (long long)m->finished, (long long)m->n, (long long)m->running,
                (long long)m->diverged, best, el, et);
    } else if (t != NULL) {
        const cv_trial_row *r = &t->row;
        fprintf(out,
                "[%lld/%lld] trial %lld round %d %s: dev_accuracy %.4f dev_loss %.4f, %d epochs, "
                "%.1f s on rank %d; %s; %s elapsed, ETA %s\n",
                (long long)m->finished, (long long)m->n, (long long)r->trial, r->round,
                cv_trial_status_name(r->status), r->dev_accuracy, r->dev_loss, r->epochs_done,
                r->seconds, r->worker, best, el, et);
    }
    fflush(out);
}

/* ---- the master's handling of results ---------------------------------------- */

/* Whether trial's row would be among the best `keep` finished trials. */
static bool worth_a_checkpoint(const master *m, const cv_trial_row *row)
{
    int keep = m->job.checkpoints_keep;
    if (keep == CV_CHECKPOINTS_ALL)
        return true;
    if (keep <= 0 || !isfinite(metric_of(m, row)))
        return false;
    int64_t better = 0;
    for (int64_t i = 0; i < m->n && better < keep; i++) {
        const trial *t = &m->trials[i];
        if (t->state == FINISHED && t->row.trial != row->trial && ranks_before(m, &t->row, row))
            better++;
    }
    return better < keep;
}

/* Records a finished trial: its row (buffered), its checkpoint (a side file,
 * when it may be kept) and the progress line. net holds its best state, or
 * is NULL when there are no weights. */
static int finish_trial(master *m, int64_t id, int worker, const cv_trial_result *res,
                        const cv_nn *net, cv_error *err)
{
    trial *t = &m->trials[id];
    cv_trial_row *row = &t->row;
    cv_trial_row_fill(row, &t->cfg, res, 0);
    row->trial = id;
    row->round = (int32_t)(id / m->T);
    row->worker = worker;
    row->seed = t->seed;
    row->parent = -1;
    int rc = push_row(m, row, err);
    if (rc != 0)
        return rc;
    if (t->state == RUNNING)
        m->running--;
    t->state = res->status == CV_TRIAL_INTERRUPTED ? PENDING : FINISHED;
    if (t->state != FINISHED)
        return 0;
    m->finished++;
    m->t_last = now();
    m->diverged += res->status == CV_TRIAL_DIVERGED;
    m->failed += res->status == CV_TRIAL_FAILED;
    m->busy_seconds += res->seconds;
    m->trial_seconds_sum += now() - t->started;
    m->trial_seconds_n++;
    if (isfinite(metric_of(m, row)) &&
        (m->best < 0 || ranks_before(m, row, &m->trials[m->best].row)))
        m->best = id;
    if (net != NULL && res->best_epoch >= 0 && worth_a_checkpoint(m, row)) {
        cv_checkpoint_info info = {.trial = id,
                                   .seed = t->seed,
                                   .epochs = res->best_epoch + 1,
                                   .dev_accuracy = res->dev_accuracy,
                                   .dev_loss = res->dev_loss};
        if ((rc = cv_store_save_checkpoint(m->store, net, &info, err)) != 0)
            return rc;
    }
    progress(m, t);
    return 0;
}

/* A curve point from wherever trial id trains. */
static int take_curve(master *m, int64_t id, const cv_epoch_stats *e, cv_error *err)
{
    cv_curve_row row;
    cv_curve_row_fill(&row, id, e);
    return push_curve(m, &row, err);
}

typedef struct local_ctx {
    master *m;
    int64_t trial;
    cv_error *err;
    int rc;
} local_ctx;

/* The single-rank master's epoch callback: curve rows go straight to the buffer. */
static int local_epoch(const cv_epoch_stats *e, void *user)
{
    local_ctx *c = user;
    if (c->rc == 0)
        c->rc = take_curve(c->m, c->trial, e, c->err);
    if (c->rc == 0)
        c->rc = flush_when_due(c->m, c->err);
    return c->rc != 0 || g_stop != 0;
}

/* Receives one TAG_RESULT from source and finishes its trial. */
static int receive_result(master *m, const MPI_Status *st, cv_error *err)
{
    int bytes = 0;
    MPI_Get_count(st, MPI_BYTE, &bytes);
    char *buf = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (buf == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for a result of %d bytes", bytes);
    MPI_Recv(buf, bytes, MPI_BYTE, st->MPI_SOURCE, TAG_RESULT, m->comm, MPI_STATUS_IGNORE);
    int rc = 0;
    result_hdr hdr;
    memcpy(&hdr, buf, sizeof hdr);
    int64_t id = hdr.trial;
    if (id < 0 || id >= m->n || m->rank_trial[st->MPI_SOURCE] != id) {
        free(buf);
        return cv_fail(err, CV_ERR_RUNTIME, "runner: rank %d sent a result for trial %lld",
                       st->MPI_SOURCE, (long long)id);
    }
    m->rank_trial[st->MPI_SOURCE] = -1;
    cv_nn *net = NULL;
    if (hdr.n_state > 0) {
        net = cv_nn_create(&m->trials[id].cfg, m->data.d, m->data.classes, 2, err);
        if (net == NULL) {
            free(buf);
            return err->code;
        }
        if ((size_t)hdr.n_state != cv_nn_state_size(net)) {
            cv_nn_free(net);
            free(buf);
            return cv_fail(err, CV_ERR_RUNTIME, "runner: trial %lld: state of %lld floats, "
                           "expected %zu", (long long)id, (long long)hdr.n_state,
                           cv_nn_state_size(net));
        }
        cv_nn_state_load(net, (const float *)(buf + sizeof hdr));
    }
    rc = finish_trial(m, id, st->MPI_SOURCE, &hdr.r, net, err);
    cv_nn_free(net);
    free(buf);
    return rc;
}

/* Handles every message waiting; *got says whether there was any. */
static int drain_messages(master *m, bool *got, cv_error *err)
{
    *got = false;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, m->comm, &flag, &st);
        if (!flag)
            return 0;
        *got = true;
        int rc = 0;
        if (st.MPI_TAG == TAG_CURVE) {
            curve_msg c;
            MPI_Recv(&c, sizeof c, MPI_BYTE, st.MPI_SOURCE, TAG_CURVE, m->comm, MPI_STATUS_IGNORE);
            /* a point of a trial still running (a time limit lets it finish);
             * one of a trial recorded as interrupted is dropped */
            if (m->rank_trial[st.MPI_SOURCE] == c.trial)
                rc = take_curve(m, c.trial, &c.e, err);
        } else if (st.MPI_TAG == TAG_RESULT) {
            rc = receive_result(m, &st, err);
        } else {
            MPI_Recv(NULL, 0, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, m->comm, MPI_STATUS_IGNORE);
            rc = cv_fail(err, CV_ERR_RUNTIME, "runner: unexpected message %d from rank %d",
                         st.MPI_TAG, st.MPI_SOURCE);
        }
        if (rc != 0)
            return rc;
    }
}

/* Whether a trial started now would end before the time limit, judging by
 * the trials so far (the first one always starts). */
static bool time_for_another(master *m)
{
    if (m->opts->time_limit <= 0 || m->trial_seconds_n == 0)
        return true;
    double mean = m->trial_seconds_sum / (double)m->trial_seconds_n;
    return now() - m->t_start + mean <= m->opts->time_limit;
}

/* Stops dispatching for reason: in-flight trials are recorded as
 * interrupted and their workers told to drop them. */
static int begin_stop(master *m, const char *reason, bool interrupt, cv_error *err)
{
    if (m->stopping)
        return 0;
    m->stopping = true;
    m->stop_reason = reason;
    if (!interrupt)
        return 0;
    for (int r = 1; r < m->size; r++) {
        int64_t id = m->rank_trial[r];
        if (id < 0)
            continue;
        MPI_Send(NULL, 0, MPI_BYTE, r, TAG_ABORT, m->comm);
        m->rank_trial[r] = -1;
        cv_trial_result res = {.status = CV_TRIAL_INTERRUPTED, .best_epoch = -1,
                               .dev_accuracy = NAN, .dev_loss = NAN,
                               .train_accuracy = NAN, .train_loss = NAN};
        int rc = finish_trial(m, id, r, &res, NULL, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void dispatch(master *m, int64_t id, int rank)
{
    if (m->t_first == 0)
        m->t_first = now(), m->cpu_first = cpu_seconds();
    trial *t = &m->trials[id];
    work_msg w = {.trial = id, .round = (int32_t)(id / m->T), .seed = t->seed};
    config_to_params(&t->cfg, w.params);
    MPI_Send(&w, sizeof w, MPI_BYTE, rank, TAG_WORK, m->comm);
    t->state = RUNNING;
    t->worker = rank;
    t->started = now();
    m->rank_trial[rank] = id;
    m->running++;
}

/* Trains one trial on the master itself (a single-rank study). */
static int run_local(master *m, int64_t id, cv_error *err)
{
    if (m->t_first == 0)
        m->t_first = now(), m->cpu_first = cpu_seconds();
    trial *t = &m->trials[id];
    t->state = RUNNING;
    t->started = now();
    m->running++;
    local_ctx ctx = {.m = m, .trial = id, .err = err};
    cv_nn *net = NULL;
    cv_trial_result res;
    cv_error terr = {0};
    train_one(&m->data, &t->cfg, t->seed, m->job.search.metric, local_epoch, &ctx, &net, &res,
              &terr);
    if (ctx.rc != 0) {
        cv_nn_free(net);
        return ctx.rc;
    }
    int rc = finish_trial(m, id, 0, &res, res.best_epoch >= 0 ? net : NULL, err);
    cv_nn_free(net);
    return rc;
}

/* Runs the pending trials of round r until all are finished, or a stop. */
static int run_round(master *m, int r, cv_error *err)
{
    int64_t next = (int64_t)r * m->T, end = next + m->T;
    int rc = 0;
    for (;;) {
        if (g_signal && (rc = begin_stop(m, "signal", true, err)) != 0)
            return rc;
        while (next < end && m->trials[next].state != PENDING)
            next++;
        if (!m->stopping && next < end && !time_for_another(m))
            begin_stop(m, "time limit", false, err);
        if (m->size == 1) {
            if (m->stopping || next >= end)
                return flush_rows(m, err);
            if ((rc = run_local(m, next, err)) != 0)
                return rc;
            if ((rc = flush_when_due(m, err)) != 0)
                return rc;
            continue;
        }
        for (int k = 1; k < m->size && !m->stopping && next < end; k++) {
            if (m->rank_trial[k] >= 0)
                continue;
            dispatch(m, next, k);
            while (next < end && m->trials[next].state != PENDING)
                next++;
        }
        if (m->running == 0 && (m->stopping || next >= end))
            return flush_rows(m, err);
        bool got;
        if ((rc = drain_messages(m, &got, err)) != 0)
            return rc;
        if ((rc = flush_when_due(m, err)) != 0)
            return rc;
        if (got) {
            m->poll_ns = POLL_MIN_NS;
        } else {
            if (m->tty)
                progress(m, NULL);
            nap(&m->poll_ns);
        }
    }
}

/* The configurations and seeds of round r, sampled in its region (zoomed
 * from round r - 1's results), and the region's row in /rounds. */
static int begin_round(master *m, int r, cv_error *err)
{
    int rc = 0;
    if (r == 0) {
        cv_space_full_region(m->space, &m->regions[0]);
    } else {
        const int T = m->T;
        cv_config *cfgs = malloc((size_t)T * sizeof *cfgs);
        double *metric = malloc((size_t)T * sizeof *metric);
        if (cfgs == NULL || metric == NULL) {
            free(cfgs), free(metric);
            return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory zooming round %d", r);
        }
        for (int i = 0; i < T; i++) {
            const trial *t = &m->trials[(int64_t)(r - 1) * T + i];
            cfgs[i] = t->cfg;
            metric[i] = metric_of(m, &t->row);
        }
        rc = cv_space_zoom(m->space, &m->regions[r - 1], cfgs, metric, T, &m->regions[r], err);
        free(cfgs), free(metric);
        if (rc != 0)
            return rc;
    }
    for (int i = 0; i < m->T; i++) {
        trial *t = &m->trials[(int64_t)r * m->T + i];
        if ((rc = cv_space_sample(m->space, &m->regions[r], r, i, &t->cfg, err)) != 0)
            return rc;
        t->seed = cv_space_trial_seed(m->job.search.seed, r, i);
    }
    if (r < m->rounds_in_file)
        return 0;
    int dims = cv_space_dims(m->space);
    cv_round_param *ps = calloc((size_t)(dims ? dims : 1), sizeof *ps);
    char(*texts)[512] = calloc((size_t)(dims ? dims : 1), sizeof *texts);
    if (ps == NULL || texts == NULL) {
        free(ps), free(texts);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for round %d", r);
    }
    for (int d = 0; d < dims; d++) {
        const cv_space_dim *dim = cv_space_dim_get(m->space, d);
        ps[d].name = cv_param_get_info(dim->param)->name;
        int kind = cv_space_region_bounds(m->space, &m->regions[r], dim->param, &ps[d].lo,
                                          &ps[d].hi);
        if (kind == 1) {
            double vals[CV_SPACE_MAX_VALUES];
            int nv = cv_space_region_values(m->space, &m->regions[r], dim->param, vals,
                                            CV_SPACE_MAX_VALUES);
            size_t len = 0;
            for (int k = 0; k < nv && len < sizeof texts[d] - 1; k++) {
                char v[64];
                cv_param_format(dim->param, vals[k], v, sizeof v);
                len += (size_t)snprintf(texts[d] + len, sizeof texts[d] - len, "%s%s",
                                        k ? "," : "", v);
            }
            ps[d].values = texts[d];
            ps[d].lo = ps[d].hi = NAN;
        }
    }
    rc = cv_store_append_round(m->store, r, ps, dims, err);
    free(ps), free(texts);
    if (rc == 0)
        m->rounds_in_file = r + 1;
    return rc;
}

/* ---- the end of a study ------------------------------------------------- */

/* Scores the kept checkpoints on the test set once, into their rows. */
static int score_test_set(master *m, cv_trial_row *rows, int64_t n, cv_error *err)
{
    if (m->data.test.n == 0)
        return 0;
    for (int64_t i = 0; i < n; i++) {
        cv_checkpoint_info info;
        cv_error miss = {0};
        if (cv_store_checkpoint_info(m->store, rows[i].trial, &info, &miss) != 0)
            continue; /* no checkpoint kept for this trial */
        cv_nn *net = cv_nn_create(&info.config, m->data.d, m->data.classes,
                                  cv_train_max_batch(&info.config), err);
        if (net == NULL)
            return err->code;
        int rc = cv_store_load_checkpoint(m->store, rows[i].trial, net, err);
        if (rc == 0) {
            int64_t correct = 0;
            cv_nn_evaluate(net, m->data.test.X, m->data.test.y, m->data.test.n, NULL, &correct,
                           NULL);
            rows[i].test_accuracy = (double)correct / (double)m->data.test.n;
        }
        cv_nn_free(net);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void print_leaderboard(master *m, const cv_trial_row *rows, int64_t n)
{
    FILE *out = m->opts->report;
    if (out == NULL || n == 0)
        return;
    int64_t *order = malloc((size_t)n * sizeof *order);
    if (order == NULL)
        return;
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    /* insertion sort by rank: n is a study's trial count */
    for (int64_t i = 1; i < n; i++) {
        int64_t k = order[i], j = i;
        while (j > 0 && ranks_before(m, &rows[k], &rows[order[j - 1]])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    int dims = cv_space_dims(m->space);
    fprintf(out, "\n%-4s %6s %5s", "rank", "trial", "round");
    for (int d = 0; d < dims; d++)
        fprintf(out, " %13s", cv_param_get_info(cv_space_dim_get(m->space, d)->param)->name);
    fprintf(out, " %8s %8s %8s %6s %8s %s\n", "dev_acc", "dev_loss", "test_acc", "epochs",
            "seconds", "status");
    for (int64_t i = 0; i < n && i < LEADERBOARD_ROWS; i++) {
        const cv_trial_row *r = &rows[order[i]];
        fprintf(out, "%-4lld %6lld %5d", (long long)i + 1, (long long)r->trial, r->round);
        for (int d = 0; d < dims; d++) {
            cv_param p = cv_space_dim_get(m->space, d)->param;
            char v[64];
            cv_param_format(p, cv_config_get(&r->config, p), v, sizeof v);
            fprintf(out, " %13.13s", v);
        }
        char test[16] = "-";
        if (isfinite(r->test_accuracy))
            snprintf(test, sizeof test, "%.4f", r->test_accuracy);
        fprintf(out, " %8.4f %8.4f %8s %6d %8.1f %s\n", r->dev_accuracy, r->dev_loss, test,
                r->epochs_done, r->seconds, cv_trial_status_name(r->status));
    }
    free(order);
}

/* Gathers the checkpoints, rewrites /trials as the study's final table
 * (one row per trial, in id order; a re-run replaces its interrupted row;
 * test accuracy of the kept checkpoints) and prints the leaderboard. */
static int finish_study(master *m, bool complete, cv_error *err)
{
    int rc = cv_store_gather_checkpoints(m->store, m->job.checkpoints_keep,
                                         m->job.search.metric, err);
    if (rc != 0)
        return rc;
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    if ((rc = cv_store_read_trials(m->store, &rows, &n, err)) != 0)
        return rc;
    int64_t folded = cv_trial_rows_fold(rows, n);
    if (folded < 0) {
        free(rows);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for the final table");
    }
    n = folded;
    if (complete && (rc = score_test_set(m, rows, n, err)) != 0) {
        free(rows);
        return rc;
    }
    rc = cv_store_rewrite_trials(m->store, rows, n, err);
    if (rc == 0)
        print_leaderboard(m, rows, n);
    free(rows);
    if (rc != 0)
        return rc;
    cv_curve_row *curves = NULL;
    int64_t nc = 0;
    if ((rc = cv_store_read_curves(m->store, &curves, &nc, err)) != 0)
        return rc;
    int64_t kept = cv_curve_rows_fold(curves, nc);
    if (kept >= 0 && kept < nc) /* rewritten only where a re-run repeated epochs */
        rc = cv_store_rewrite_curves(m->store, curves, kept, err);
    free(curves);
    /* this run's wall time, for the report's worker utilization */
    if (rc == 0)
        rc = cv_store_add_run_time(m->store, now() - m->t_start, m->size > 1 ? m->size - 1 : 1,
                                   err);
    return rc;
}

/* ---- set-up ------------------------------------------------------------- */

/* The master's part of starting: the job (from its file, or from the
 * results file when resuming), the space, the data and the store. */
static int master_open(master *m, cv_error *err)
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
        if ((rc = cv_job_parse(&m->job, cv_store_job_path(m->store), cv_store_job_text(m->store), strlen(cv_store_job_text(m->store)), err)) != 0)
            return rc;
    }
    if ((rc = cv_space_create(&m->space, &m->job, err)) != 0)
        return rc;
    if ((rc = cv_data_load_job(&m->data, &m->job, err)) != 0)
        return rc;

    m->T = cv_space_trials(m->space);
    m->R = cv_space_rounds(m->space);
    m->n = (int64_t)m->T * m->R;
    m->trials = calloc((size_t)m->n, sizeof *m->trials);
    m->regions = calloc((size_t)m->R, sizeof *m->regions);
    m->rank_trial = malloc((size_t)m->size * sizeof *m->rank_trial);
    if (m->trials == NULL || m->regions == NULL || m->rank_trial == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for %lld trials",
                       (long long)m->n);
    for (int r = 0; r < m->size; r++)
        m->rank_trial[r] = -1;
    m->best = -1;

    if (o->job_path != NULL) {
        if ((rc = cv_store_create(&m->store, o->results_path, &m->job, m->size, o->overwrite,
                                  err)) != 0)
            return rc;
        if ((rc = cv_store_write_data(m->store, &m->data, err)) != 0)
            return rc;
        return cv_store_start_swmr(m->store, err);
    }

    /* resuming: what the file already holds */
    if ((rc = cv_store_round_count(m->store, &m->rounds_in_file, err)) != 0)
        return rc;
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    if ((rc = cv_store_read_trials(m->store, &rows, &n, err)) != 0)
        return rc;
    for (int64_t i = 0; i < n; i++) {
        const cv_trial_row *row = &rows[i];
        if (row->parent >= 0 || row->trial < 0 || row->trial >= m->n)
            continue; /* babysitting runs live beside the study */
        if (row->status == CV_TRIAL_INTERRUPTED)
            continue; /* re-run */
        trial *t = &m->trials[row->trial];
        if (t->state != FINISHED) {
            t->state = FINISHED;
            m->finished++;
        }
        t->row = *row;
        if (isfinite(metric_of(m, row)) &&
            (m->best < 0 || ranks_before(m, row, &m->trials[m->best].row)))
            m->best = row->trial;
    }
    free(rows);
    m->finished_before = m->finished;
    return 0;
}

static void master_close(master *m)
{
    cv_error ignore = {0};
    cv_store_close(m->store, &ignore);
    cv_space_free(m->space);
    cv_data_free(&m->data);
    cv_job_free(&m->job);
    free(m->trials);
    free(m->regions);
    free(m->rank_trial);
    free(m->curves);
    free(m->rows);
}

static int master_run(master *m, cv_error *err)
{
    int rc = 0;
    for (int r = 0; r < m->R && !m->stopping; r++) {
        if ((rc = begin_round(m, r, err)) != 0)
            return rc;
        if ((rc = run_round(m, r, err)) != 0)
            return rc;
        /* the round ended: its finished rows are known for the next zoom */
        for (int64_t i = (int64_t)r * m->T; i < (int64_t)(r + 1) * m->T; i++)
            if (m->trials[i].state != FINISHED && !m->stopping)
                return cv_fail(err, CV_ERR_RUNTIME, "runner: round %d ended without trial %lld",
                               r, (long long)i);
    }
    if (m->tty && m->opts->progress)
        fputc('\n', m->opts->progress);
    bool complete = !m->stopping;
    if (m->opts->progress != NULL) {
        char el[32];
        double wall = now() - m->t_start;
        format_duration(el, sizeof el, wall);
        int workers = m->size > 1 ? m->size - 1 : 1;
        /* throughput over the training phase: first dispatch to last result */
        int64_t ran = m->finished - m->finished_before;
        double span = m->t_last - m->t_first;
        fprintf(m->opts->progress,
                "%s: %lld of %lld trials finished (%lld diverged, %lld failed) in %s; "
                "%.3f trials/s; worker utilization %.0f%%",
                complete ? "study complete" : "study stopped", (long long)m->finished,
                (long long)m->n, (long long)m->diverged, (long long)m->failed, el,
                ran > 0 && span > 0 ? (double)ran / span : 0.0,
                wall > 0 ? 100.0 * m->busy_seconds / (workers * wall) : 0.0);
        if (m->size > 1 && span > 0) /* the master's own CPU while workers train */
            fprintf(m->opts->progress, "; master CPU %.1f%% of a core",
                    100.0 * (cpu_seconds() - m->cpu_first) / span);
        if (!complete)
            fprintf(m->opts->progress, "; resume with: caviar resume %s", m->opts->results_path);
        fputc('\n', m->opts->progress);
    }
    return finish_study(m, complete, err);
}

int cv_run(MPI_Comm comm, const cv_run_opts *opts, cv_error *err)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    cv_blas_set_threads(opts->threads_per_worker > 0 ? opts->threads_per_worker : 1);

    if (rank != 0) {
        int status = 0;
        MPI_Bcast(&status, 1, MPI_INT, 0, comm);
        if (status != 0)
            return status;
        int metric = 0;
        MPI_Bcast(&metric, 1, MPI_INT, 0, comm);
        cv_data data = {0};
        bcast_data(&data, rank, comm);
        worker_loop(comm, &data, (cv_metric)metric);
        cv_data_free(&data);
        MPI_Bcast(&status, 1, MPI_INT, 0, comm);
        return status;
    }

    master m = {.opts = opts, .comm = comm, .size = size, .poll_ns = POLL_MIN_NS};
    m.tty = opts->progress != NULL && isatty(fileno(opts->progress));
    m.t_start = now();
    int rc = master_open(&m, err);
    int status = rc;
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (rc != 0) {
        master_close(&m);
        return rc;
    }
    int metric = (int)m.job.search.metric;
    MPI_Bcast(&metric, 1, MPI_INT, 0, comm);
    bcast_data(&m.data, 0, comm);

    rc = master_run(&m, err);
    for (int r = 1; r < size; r++) {
        if (m.rank_trial[r] >= 0) /* only after an error: the study stops mid-trial */
            MPI_Send(NULL, 0, MPI_BYTE, r, TAG_ABORT, comm);
        MPI_Send(NULL, 0, MPI_BYTE, r, TAG_STOP, comm);
    }
    cv_error cerr = {0};
    int crc = cv_store_close(m.store, &cerr);
    m.store = NULL;
    if (rc == 0 && crc != 0) {
        rc = crc;
        *err = cerr;
    }
    status = rc;
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    master_close(&m);
    return rc;
}
