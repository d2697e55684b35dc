/* transport.c: segments to workers and their results back (see run_int.h).
 *
 * Messages (all on the study's communicator, every one naming its trial):
 *   master -> worker  TAG_WORK   work_msg: the segment, followed by the state it
 *                                continues from (n_start floats), one message
 *                     TAG_ABORT  (empty) interrupt the segment in progress
 *                     TAG_STOP   (empty) no more work: return
 *   worker -> master  TAG_CURVE  curve_msg: one epoch's figures
 *                     TAG_RESULT result_hdr followed by the best epoch's state
 *                                (n_best floats: the checkpoint) and the last
 *                                epoch's (n_last: to go on from), one message
 * Everything is sent as bytes: a study runs on one kind of machine.
 *
 * The master keeps a rank -> segment table of who trains what. With a
 * single rank there are no messages: the master is its own worker, and
 * cv_transport_send trains the segment before it returns, delivering the
 * same events. The transport knows segments, not rounds or schedulers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_int.h"

enum { TAG_WORK = 11, TAG_ABORT, TAG_STOP, TAG_CURVE, TAG_RESULT };

/* An idle rank sleeps between polls, starting at POLL_MIN_NS after a
 * message and doubling up to POLL_MAX_NS while none comes: a busy master
 * answers within microseconds (thousands of trivial trials a second), an
 * idle one wakes 500 times a second (about 1% of a core). */
#define POLL_MIN_NS 50000L
#define POLL_MAX_NS 2000000L

/* The largest message the runner sends, in bytes (MPI counts are ints). */
#define MAX_MESSAGE ((int64_t)INT32_MAX)

typedef struct work_msg {
    int64_t trial;
    int32_t round, bracket, rung, from_epoch, to_epoch;
    int32_t pad;
    uint64_t seed;
    double params[CV_P_COUNT]; /* cv_config_get of every parameter */
    cv_trial_result prior;
    double prior_seconds;
    int64_t n_start;           /* floats of state that follow */
} work_msg;

typedef struct curve_msg {
    int64_t trial;
    cv_epoch_stats e;
} curve_msg;

typedef struct result_hdr {
    int64_t trial;
    cv_trial_result r;
    int64_t n_best; /* floats of the best epoch's state that follow (0: none) */
    int64_t n_last; /* then floats of the last epoch's (0: none) */
    int64_t n_outcome; /* then a program's cv_program_outcome (bytes; 0: none) */
} result_hdr;

struct cv_transport {
    MPI_Comm comm;
    int size;                 /* ranks */
    const cv_data *data;      /* for the single-rank master's own training */
    cv_metric metric;
    cv_transport_events ev;
    cv_segment *segments;     /* (size) what each rank trains */
    bool *busy;               /* (size) */
    double *sent;             /* (size) when each rank's segment was sent */
    bool *lost;               /* (size) given up on: never sent to again, heard no more */
    bool *aborted;            /* (size) told to drop a segment whose result is not in yet */
    /* (size) a result being received: a large one arrives in pieces, and a
     * worker stopped halfway (a stalled node) must not stall the master, so
     * results are received without blocking and handed on once whole */
    MPI_Request *recv_req;
    char **recv_buf;
    int *recv_bytes;
    const cv_program_ctx *prog; /* the single-rank master runs the job's program */
    int n_busy, n_lost;
    long poll_ns;             /* the next nap */
};

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

/* ---- one segment, wherever it runs ----------------------------------------- */

int cv_segment_train(const cv_data *data, const cv_segment *seg, const float *start,
                     int64_t n_start, cv_metric metric, cv_epoch_fn on_epoch, void *user,
                     cv_nn **net, float **best, cv_trial_result *res, cv_error *err)
{
    const cv_config *cfg = &seg->config;
    *best = NULL;
    *res = cv_trial_result_none(CV_TRIAL_FAILED);
    *net = cv_nn_create(cfg, data->d, data->classes, cv_train_max_batch(cfg), err);
    if (*net == NULL)
        return err->code;
    size_t size = cv_nn_state_size(*net);
    if (seg->from_epoch > 0) {
        if (start == NULL || (size_t)n_start != size)
            return cv_fail(err, CV_ERR_RUNTIME,
                           "trial %lld: a state of %lld floats to continue from, expected %zu",
                           (long long)seg->trial, (long long)n_start, size);
        cv_nn_state_load(*net, start);
    } else {
        cv_nn_init(*net, seg->seed);
    }
    float *b = malloc(size * sizeof *b);
    if (b == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "trial %lld: out of memory for its best state",
                       (long long)seg->trial);
    cv_train_opts opts = {.seed = seg->seed,
                          .metric = metric,
                          .first_epoch = seg->from_epoch,
                          .last_epoch = seg->to_epoch,
                          .prior = &seg->prior,
                          .best_state = b,
                          .on_epoch = on_epoch,
                          .user = user,
                          .stop = &cv_run_stop};
    int rc = cv_train(*net, data, &opts, res, err);
    if (rc == 0 && res->best_epoch >= seg->from_epoch && res->status != CV_TRIAL_INTERRUPTED)
        *best = b;
    else
        free(b);
    return rc;
}

/* The states worth sending back with a result (see cv_segment_states):
 * none when the segment was interrupted (a stopping master no longer wants
 * them, and a small result is sent eagerly while it no longer listens);
 * the last epoch's only when the trial may go on; whatever does not fit in
 * one message is left out (the best first). */
static void states_to_send(const cv_segment *seg, const cv_nn *net, const float *best,
                           const cv_trial_result *res, int64_t *n_best, int64_t *n_last)
{
    *n_best = *n_last = 0;
    if (net == NULL || res->status == CV_TRIAL_INTERRUPTED)
        return;
    int64_t n = (int64_t)cv_nn_state_size(net);
    if (best != NULL)
        *n_best = n;
    if (res->status == CV_TRIAL_DONE && seg->from_epoch + res->epochs_done == seg->to_epoch &&
        seg->to_epoch < seg->config.epochs)
        *n_last = n;
    const int64_t room = (MAX_MESSAGE - (int64_t)sizeof(result_hdr)) / (int64_t)sizeof(float);
    if (*n_best + *n_last > room)
        *n_best = 0;
    if (*n_last > room)
        *n_last = 0;
}

/* ---- worker --------------------------------------------------------------- */

typedef struct worker_ctx {
    MPI_Comm comm;
    int64_t trial;
} worker_ctx;

/* Whether the master told the worker to drop its segment. */
static int worker_aborted(void *user)
{
    worker_ctx *w = user;
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(0, TAG_ABORT, w->comm, &flag, &st);
    if (flag) {
        MPI_Recv(NULL, 0, MPI_BYTE, 0, TAG_ABORT, w->comm, MPI_STATUS_IGNORE);
        cv_run_stop = 1;
    }
    return cv_run_stop != 0;
}

/* Streams an epoch to the master and picks up an abort. */
static int worker_epoch(const cv_epoch_stats *e, void *user)
{
    worker_ctx *w = user;
    curve_msg m = {.trial = w->trial, .e = *e};
    MPI_Send(&m, sizeof m, MPI_BYTE, 0, TAG_CURVE, w->comm);
    return worker_aborted(w);
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

/* Runs seg as the job's program and sends its result and outcome. */
static void serve_program(MPI_Comm comm, const cv_program_ctx *prog, const cv_segment *seg)
{
    worker_ctx w = {.comm = comm, .trial = seg->trial};
    cv_program_ctx ctx = *prog;
    ctx.stop = &cv_run_stop;
    ctx.should_stop = worker_aborted;
    ctx.on_epoch = worker_epoch;
    ctx.user = &w;
    /* one message: [hdr][outcome] */
    result_hdr hdr = {.trial = seg->trial, .n_outcome = sizeof(cv_program_outcome)};
    cv_program_outcome *out = calloc(1, sizeof *out);
    char *msg = malloc(sizeof hdr + sizeof *out);
    if (out == NULL || msg == NULL) {
        fprintf(stderr, "caviar: rank: out of memory for a program's result\n");
        MPI_Abort(comm, 1);
        return;
    }
    cv_error err = {0};
    if (cv_program_segment(&ctx, seg, &hdr.r, out, &err) != 0)
        snprintf(out->why, sizeof out->why, "%.200s", err.msg);
    memcpy(msg, &hdr, sizeof hdr);
    memcpy(msg + sizeof hdr, out, sizeof *out);
    MPI_Send(msg, (int)(sizeof hdr + sizeof *out), MPI_BYTE, 0, TAG_RESULT, comm);
    free(msg);
    free(out);
}

void cv_transport_serve(MPI_Comm comm, const cv_data *data, cv_metric metric,
                        const cv_program_ctx *prog)
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
        int bytes = 0;
        MPI_Get_count(&st, MPI_BYTE, &bytes);
        char *in = malloc(bytes > 0 ? (size_t)bytes : 1);
        if (in == NULL) {
            fprintf(stderr, "caviar: rank: out of memory for a segment of %d bytes\n", bytes);
            MPI_Abort(comm, 1);
        }
        MPI_Recv(in, bytes, MPI_BYTE, 0, TAG_WORK, comm, MPI_STATUS_IGNORE);
        work_msg w;
        memcpy(&w, in, sizeof w);
        cv_segment seg = {.trial = w.trial, .round = w.round, .bracket = w.bracket,
                          .rung = w.rung, .seed = w.seed, .from_epoch = w.from_epoch,
                          .to_epoch = w.to_epoch, .prior = w.prior,
                          .prior_seconds = w.prior_seconds};
        params_to_config(w.params, &seg.config);
        const float *start = w.n_start > 0 ? (const float *)(in + sizeof w) : NULL;
        cv_run_stop = cv_run_signal;
        if (prog != NULL) {
            free(in);
            serve_program(comm, prog, &seg);
            continue;
        }
        worker_ctx ctx = {.comm = comm, .trial = w.trial};
        cv_nn *net = NULL;
        float *best = NULL;
        cv_error err = {0};
        result_hdr hdr = {.trial = w.trial};
        cv_segment_train(data, &seg, start, w.n_start, metric, worker_epoch, &ctx, &net, &best,
                         &hdr.r, &err);
        free(in);

        /* result and states in one message: [hdr][best floats][last floats] */
        states_to_send(&seg, net, best, &hdr.r, &hdr.n_best, &hdr.n_last);
        size_t bytes_out = sizeof hdr + (size_t)(hdr.n_best + hdr.n_last) * sizeof(float);
        char *buf = malloc(bytes_out);
        if (buf == NULL) {
            hdr.n_best = hdr.n_last = 0;
            MPI_Send(&hdr, sizeof hdr, MPI_BYTE, 0, TAG_RESULT, comm);
        } else {
            memcpy(buf, &hdr, sizeof hdr);
            float *out = (float *)(buf + sizeof hdr);
            if (hdr.n_best > 0)
                memcpy(out, best, (size_t)hdr.n_best * sizeof *out);
            if (hdr.n_last > 0)
                cv_nn_state_save(net, out + hdr.n_best);
            MPI_Send(buf, (int)bytes_out, MPI_BYTE, 0, TAG_RESULT, comm);
            free(buf);
        }
        free(best);
        cv_nn_free(net);
    }
}

/* ---- master ---------------------------------------------------------------- */

int cv_transport_create(cv_transport **out, MPI_Comm comm, const cv_data *data,
                        cv_metric metric, const cv_transport_events *ev, cv_error *err)
{
    cv_transport *t = calloc(1, sizeof *t);
    int size = 1;
    MPI_Comm_size(comm, &size);
    if (t != NULL) {
        t->segments = calloc((size_t)size, sizeof *t->segments);
        t->busy = calloc((size_t)size, sizeof *t->busy);
        t->sent = calloc((size_t)size, sizeof *t->sent);
        t->lost = calloc((size_t)size, sizeof *t->lost);
        t->aborted = calloc((size_t)size, sizeof *t->aborted);
        t->recv_req = calloc((size_t)size, sizeof *t->recv_req);
        t->recv_buf = calloc((size_t)size, sizeof *t->recv_buf);
        t->recv_bytes = calloc((size_t)size, sizeof *t->recv_bytes);
    }
    if (t == NULL || t->segments == NULL || t->busy == NULL || t->sent == NULL ||
        t->lost == NULL || t->aborted == NULL || t->recv_req == NULL || t->recv_buf == NULL ||
        t->recv_bytes == NULL) {
        cv_transport_free(t);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for %d ranks", size);
    }
    for (int r = 0; r < size; r++)
        t->recv_req[r] = MPI_REQUEST_NULL;
    t->comm = comm;
    t->size = size;
    t->data = data;
    t->metric = metric;
    t->ev = *ev;
    t->poll_ns = POLL_MIN_NS;
    *out = t;
    return 0;
}

void cv_transport_free(cv_transport *t)
{
    if (t == NULL)
        return;
    for (int r = 1; r < t->size && t->busy != NULL && t->lost != NULL && t->recv_req != NULL;
         r++) {
        if (t->lost[r])
            continue;
        if (t->recv_req[r] != MPI_REQUEST_NULL) { /* a result coming in: taken, dropped */
            MPI_Wait(&t->recv_req[r], MPI_STATUS_IGNORE);
            free(t->recv_buf[r]);
            t->recv_buf[r] = NULL;
            t->aborted[r] = false;
        }
        if (t->busy[r]) { /* only after an error: the study stops mid-segment */
            MPI_Send(NULL, 0, MPI_BYTE, r, TAG_ABORT, t->comm);
            t->aborted[r] = true;
        }
        /* a worker told to drop its segment still sends its result, which
         * may be too large to leave the worker before it is received: take
         * it (and the curve points before it) and drop it */
        while (t->aborted[r]) {
            MPI_Status st;
            wait_message(t->comm, r, &st);
            int bytes = 0;
            MPI_Get_count(&st, MPI_BYTE, &bytes);
            char *buf = malloc(bytes > 0 ? (size_t)bytes : 1);
            if (buf == NULL)
                break;
            MPI_Recv(buf, bytes, MPI_BYTE, r, st.MPI_TAG, t->comm, MPI_STATUS_IGNORE);
            free(buf);
            if (st.MPI_TAG == TAG_RESULT)
                t->aborted[r] = false;
        }
        MPI_Send(NULL, 0, MPI_BYTE, r, TAG_STOP, t->comm);
    }
    free(t->segments);
    free(t->busy);
    free(t->sent);
    free(t->lost);
    free(t->aborted);
    free(t->recv_req);
    free(t->recv_buf);
    free(t->recv_bytes);
    free(t);
}

int cv_transport_workers(const cv_transport *t)
{
    return t->size > 1 ? t->size - 1 : 1;
}

int cv_transport_lost_workers(const cv_transport *t)
{
    return t->n_lost;
}

int cv_transport_free_worker(const cv_transport *t)
{
    for (int r = t->size > 1 ? 1 : 0; r < t->size; r++)
        if (!t->busy[r] && !t->lost[r])
            return r;
    return -1;
}

double cv_transport_sent(const cv_transport *t, int worker)
{
    return t->sent[worker];
}

void cv_transport_give_up(cv_transport *t, int worker)
{
    if (worker <= 0 || t->lost[worker])
        return;
    if (t->busy[worker]) {
        t->busy[worker] = false;
        t->n_busy--;
    }
    t->lost[worker] = true;
    t->n_lost++;
    /* a result it began to send may yet arrive into its buffer: the request
     * and the buffer are left to it (the job ends with MPI_Abort) */
    if (t->recv_req[worker] != MPI_REQUEST_NULL) {
        t->recv_req[worker] = MPI_REQUEST_NULL;
        t->recv_buf[worker] = NULL;
    }
}

int cv_transport_busy(const cv_transport *t)
{
    return t->n_busy;
}

const cv_segment *cv_transport_segment(const cv_transport *t, int worker)
{
    return worker >= 0 && worker < t->size && t->busy[worker] ? &t->segments[worker] : NULL;
}

typedef struct local_ctx {
    cv_transport *t;
    int64_t trial;
    cv_error *err;
    int rc;
} local_ctx;

/* The single-rank master's epoch callback: the curve event, then a stop. */
static int local_epoch(const cv_epoch_stats *e, void *user)
{
    local_ctx *c = user;
    if (c->rc == 0)
        c->rc = c->t->ev.curve(c->t->ev.user, c->trial, e, c->err);
    return c->rc != 0 || cv_run_stop != 0;
}

void cv_transport_set_program(cv_transport *t, const cv_program_ctx *prog)
{
    t->prog = prog;
}

/* Runs seg's program on the master itself (a single-rank study). */
static int program_here(cv_transport *t, const cv_segment *seg, cv_error *err)
{
    local_ctx lc = {.t = t, .trial = seg->trial, .err = err};
    cv_program_ctx ctx = *t->prog;
    ctx.stop = &cv_run_stop;
    ctx.should_stop = NULL;
    ctx.on_epoch = local_epoch;
    ctx.user = &lc;
    cv_program_outcome *out = calloc(1, sizeof *out);
    if (out == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory");
    cv_trial_result res;
    int rc = cv_program_segment(&ctx, seg, &res, out, err);
    if (rc == 0)
        rc = lc.rc;
    t->busy[0] = false;
    t->n_busy--;
    cv_segment_states st = {.outcome = out};
    if (rc == 0)
        rc = t->ev.result(t->ev.user, seg, 0, &res, &st, err);
    free(out);
    return rc;
}

/* Trains seg on the master itself (a single-rank study). */
static int train_here(cv_transport *t, const cv_segment *seg, const float *start,
                      int64_t n_start, cv_error *err)
{
    local_ctx ctx = {.t = t, .trial = seg->trial, .err = err};
    cv_nn *net = NULL;
    float *best = NULL, *last = NULL;
    cv_trial_result res;
    cv_error terr = {0};
    cv_segment_train(t->data, seg, start, n_start, t->metric, local_epoch, &ctx, &net, &best,
                     &res, &terr);
    int rc = ctx.rc;
    cv_segment_states st = {0};
    if (rc == 0)
        states_to_send(seg, net, best, &res, &st.n_best, &st.n_last);
    st.best = st.n_best > 0 ? best : NULL;
    if (st.n_last > 0 && (last = malloc((size_t)st.n_last * sizeof *last)) == NULL)
        rc = cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for trial %lld's state",
                     (long long)seg->trial);
    else if (st.n_last > 0)
        cv_nn_state_save(net, last);
    st.last = last;
    cv_nn_free(net);
    t->busy[0] = false;
    t->n_busy--;
    if (rc == 0)
        rc = t->ev.result(t->ev.user, seg, 0, &res, &st, err);
    free(best);
    free(last);
    return rc;
}

int cv_transport_send(cv_transport *t, int worker, const cv_segment *seg, const float *start,
                      int64_t n_start, cv_error *err)
{
    t->segments[worker] = *seg;
    t->busy[worker] = true;
    t->sent[worker] = cv_now();
    t->n_busy++;
    if (t->size == 1 && t->prog != NULL)
        return program_here(t, &t->segments[0], err);
    if (t->size == 1)
        return train_here(t, &t->segments[0], start, n_start, err);
    if (start == NULL)
        n_start = 0;
    work_msg w = {.trial = seg->trial, .round = seg->round, .bracket = seg->bracket,
                  .rung = seg->rung, .from_epoch = seg->from_epoch, .to_epoch = seg->to_epoch,
                  .seed = seg->seed, .prior = seg->prior, .prior_seconds = seg->prior_seconds,
                  .n_start = n_start};
    config_to_params(&seg->config, w.params);
    if (n_start == 0) {
        MPI_Send(&w, sizeof w, MPI_BYTE, worker, TAG_WORK, t->comm);
        return 0;
    }
    size_t bytes = sizeof w + (size_t)n_start * sizeof *start;
    if ((int64_t)bytes > MAX_MESSAGE)
        return cv_fail(err, CV_ERR_RUNTIME, "runner: trial %lld's state (%zu bytes) is too "
                       "large for one message", (long long)seg->trial, bytes);
    char *buf = malloc(bytes);
    if (buf == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for trial %lld's state",
                       (long long)seg->trial);
    memcpy(buf, &w, sizeof w);
    memcpy(buf + sizeof w, start, (size_t)n_start * sizeof *start);
    MPI_Send(buf, (int)bytes, MPI_BYTE, worker, TAG_WORK, t->comm);
    free(buf);
    return 0;
}

void cv_transport_abort(cv_transport *t, int worker)
{
    if (!t->busy[worker])
        return;
    if (worker > 0) {
        MPI_Send(NULL, 0, MPI_BYTE, worker, TAG_ABORT, t->comm);
        t->aborted[worker] = true;
    }
    t->busy[worker] = false;
    t->n_busy--;
}

/* Begins receiving the TAG_RESULT whose envelope st shows. */
static int begin_result(cv_transport *t, const MPI_Status *st, cv_error *err)
{
    int bytes = 0, src = st->MPI_SOURCE;
    MPI_Get_count(st, MPI_BYTE, &bytes);
    char *buf = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (buf == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for a result of %d bytes", bytes);
    t->recv_buf[src] = buf;
    t->recv_bytes[src] = bytes;
    MPI_Irecv(buf, bytes, MPI_BYTE, src, TAG_RESULT, t->comm, &t->recv_req[src]);
    return 0;
}

/* Hands on the result src sent (bytes in buf, which it frees). */
static int take_result(cv_transport *t, int src, char *buf, int bytes, cv_error *err)
{
    result_hdr hdr = {0};
    if ((size_t)bytes >= sizeof hdr)
        memcpy(&hdr, buf, sizeof hdr);
    int rc;
    if (t->lost[src]) {
        rc = 0; /* a rank given up on came back: what it says is no longer wanted */
    } else if (t->aborted[src]) {
        t->aborted[src] = false; /* the result of the segment it was told to drop */
        rc = 0;
    } else if ((size_t)bytes < sizeof hdr) {
        rc = cv_fail(err, CV_ERR_RUNTIME, "runner: rank %d sent a result of %d bytes", src, bytes);
    } else if (!t->busy[src] || t->segments[src].trial != hdr.trial) {
        rc = cv_fail(err, CV_ERR_RUNTIME, "runner: rank %d sent a result for trial %lld", src,
                     (long long)hdr.trial);
    } else if (hdr.n_best < 0 || hdr.n_last < 0 ||
               (hdr.n_outcome != 0 && hdr.n_outcome != (int64_t)sizeof(cv_program_outcome)) ||
               (size_t)bytes != sizeof hdr + (size_t)(hdr.n_best + hdr.n_last) * sizeof(float) +
                                    (size_t)hdr.n_outcome) {
        rc = cv_fail(err, CV_ERR_RUNTIME, "runner: rank %d: a result of %d bytes for %lld + %lld "
                     "floats", src, bytes, (long long)hdr.n_best, (long long)hdr.n_last);
    } else {
        t->busy[src] = false;
        t->n_busy--;
        const float *floats = (const float *)(buf + sizeof hdr);
        cv_segment_states st = {.best = hdr.n_best > 0 ? floats : NULL,
                                .n_best = hdr.n_best,
                                .last = hdr.n_last > 0 ? floats + hdr.n_best : NULL,
                                .n_last = hdr.n_last};
        cv_program_outcome *out = NULL;
        if (hdr.n_outcome > 0 && (out = malloc(sizeof *out)) != NULL) {
            /* bytes: copied out, as they need not be aligned */
            memcpy(out, (const char *)(floats + hdr.n_best + hdr.n_last), sizeof *out);
            out->why[sizeof out->why - 1] = '\0';
            out->tail[sizeof out->tail - 1] = '\0';
            st.outcome = out;
        }
        rc = t->ev.result(t->ev.user, &t->segments[src], src, &hdr.r, &st, err);
        free(out);
    }
    free(buf);
    return rc;
}

int cv_transport_poll(cv_transport *t, bool *got, cv_error *err)
{
    *got = false;
    if (t->size == 1)
        return 0;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, t->comm, &flag, &st);
        if (!flag)
            break;
        *got = true;
        int rc = 0, src = st.MPI_SOURCE;
        if (st.MPI_TAG == TAG_CURVE) {
            curve_msg c;
            MPI_Recv(&c, sizeof c, MPI_BYTE, src, TAG_CURVE, t->comm, MPI_STATUS_IGNORE);
            /* a point of a segment still in flight (a time limit lets it
             * finish); one of a segment aborted is dropped */
            if (!t->lost[src] && t->busy[src] && t->segments[src].trial == c.trial)
                rc = t->ev.curve(t->ev.user, c.trial, &c.e, err);
        } else if (st.MPI_TAG == TAG_RESULT) {
            if (t->recv_req[src] != MPI_REQUEST_NULL)
                break; /* its result comes in already (not seen: results come one at a time) */
            rc = begin_result(t, &st, err);
        } else {
            MPI_Recv(NULL, 0, MPI_BYTE, src, st.MPI_TAG, t->comm, MPI_STATUS_IGNORE);
            rc = cv_fail(err, CV_ERR_RUNTIME, "runner: unexpected message %d from rank %d",
                         st.MPI_TAG, src);
        }
        if (rc != 0)
            return rc;
    }
    /* the results whose pieces are all in */
    for (int r = 1; r < t->size; r++) {
        int done = 0;
        if (t->recv_req[r] == MPI_REQUEST_NULL)
            continue;
        MPI_Test(&t->recv_req[r], &done, MPI_STATUS_IGNORE);
        if (!done)
            continue;
        char *buf = t->recv_buf[r];
        t->recv_buf[r] = NULL;
        *got = true;
        int rc = take_result(t, r, buf, t->recv_bytes[r], err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void cv_transport_nap(cv_transport *t, bool got)
{
    if (got)
        t->poll_ns = POLL_MIN_NS;
    else
        nap(&t->poll_ns);
}
