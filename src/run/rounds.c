/* rounds.c: the first scheduler: random, grid or Sobol rounds with
 * coarse-to-fine zoom (see run_int.h).
 *
 * The plan is R rounds of T trials, trial id = round * T + index, one
 * segment per trial. Trials of a round are handed out in id order; round
 * r + 1 is sampled, in the region zoomed from round r's results, once the
 * last trial of round r is in: its region depends only on round r's
 * results, never on the order they arrived in. */
#include <math.h>
#include <stdlib.h>

#include "run_int.h"

enum trial_state { PENDING, RUNNING, FINISHED };

typedef struct trial {
    enum trial_state state;
    cv_config cfg; /* sampled when its round begins */
    uint64_t seed;
    double metric; /* when FINISHED: the row's, for the next zoom */
} trial;

typedef struct rounds {
    const cv_job *job;
    const cv_space *space;
    cv_recorder *rec;
    int T, R;           /* trials per round, rounds */
    int64_t n;          /* R * T */
    trial *trials;      /* (n) */
    cv_region *regions; /* (R) */
    int round;          /* the round being run; -1 before the first */
    int64_t next;       /* the first trial of the round not yet handed out */
    int64_t finished;
    int64_t rounds_in_file;
} rounds;

/* The configurations and seeds of round r, sampled in its region (zoomed
 * from round r - 1's results), and the region's row in /rounds. */
static int begin_round(rounds *s, int r, cv_error *err)
{
    int rc = 0;
    const int T = s->T;
    if (r == 0) {
        cv_space_full_region(s->space, &s->regions[0]);
    } else {
        cv_config *cfgs = malloc((size_t)T * sizeof *cfgs);
        double *metric = malloc((size_t)T * sizeof *metric);
        if (cfgs == NULL || metric == NULL) {
            free(cfgs), free(metric);
            return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory zooming round %d", r);
        }
        for (int i = 0; i < T; i++) {
            const trial *t = &s->trials[(int64_t)(r - 1) * T + i];
            cfgs[i] = t->cfg;
            metric[i] = t->metric;
        }
        rc = cv_space_zoom(s->space, &s->regions[r - 1], cfgs, metric, T, &s->regions[r], err);
        free(cfgs), free(metric);
        if (rc != 0)
            return rc;
    }
    for (int i = 0; i < T; i++) {
        trial *t = &s->trials[(int64_t)r * T + i];
        if ((rc = cv_space_sample(s->space, &s->regions[r], r, i, &t->cfg, err)) != 0)
            return rc;
        t->seed = cv_space_trial_seed(s->job->search.seed, r, i);
    }
    s->round = r;
    s->next = (int64_t)r * T;
    return cv_round_record(s->space, s->rec, &s->regions[r], r, &s->rounds_in_file, err);
}

/* Whether every trial of round r has finished. */
static bool round_done(const rounds *s, int r)
{
    for (int64_t i = (int64_t)r * s->T; i < (int64_t)(r + 1) * s->T; i++)
        if (s->trials[i].state != FINISHED)
            return false;
    return true;
}

static int rounds_next(void *self, cv_segment *seg, cv_error *err)
{
    rounds *s = self;
    int rc;
    if (s->round < 0 && (rc = begin_round(s, 0, err)) != 0)
        return rc;
    for (;;) {
        int64_t end = (int64_t)(s->round + 1) * s->T;
        while (s->next < end && s->trials[s->next].state != PENDING)
            s->next++;
        if (s->next < end)
            break;
        /* the round is handed out: the next begins once all of it is in */
        if (s->round + 1 >= s->R || !round_done(s, s->round))
            return 0;
        if ((rc = begin_round(s, s->round + 1, err)) != 0)
            return rc;
    }
    /* a requeued trial of this round goes out again before later ones */
    int64_t id = s->next;
    trial *t = &s->trials[id];
    t->state = RUNNING;
    *seg = (cv_segment){.trial = id,
                        .round = s->round,
                        .seed = t->seed,
                        .config = t->cfg,
                        .to_epoch = t->cfg.epochs,
                        .prior = cv_trial_result_none(CV_TRIAL_DONE)};
    return 1;
}

static int rounds_finished(void *self, const cv_trial_row *row, const cv_segment_row *seg,
                           cv_error *err)
{
    (void)seg;
    rounds *s = self;
    if (row->trial < 0 || row->trial >= s->n)
        return cv_fail(err, CV_ERR_RUNTIME, "runner: trial %lld is not in the plan",
                       (long long)row->trial);
    trial *t = &s->trials[row->trial];
    if (t->state != FINISHED)
        s->finished++;
    t->state = FINISHED;
    t->metric = cv_trial_row_metric(row, s->job->search.metric);
    return 0;
}

static void rounds_requeue(void *self, int64_t id)
{
    rounds *s = self;
    if (id >= 0 && id < s->n && s->trials[id].state == RUNNING) {
        s->trials[id].state = PENDING;
        if (id < s->next)
            s->next = id;
    }
}

static bool rounds_complete(const void *self)
{
    const rounds *s = self;
    return s->finished == s->n;
}

static int64_t rounds_finished_count(const void *self)
{
    return ((const rounds *)self)->finished;
}

static int64_t rounds_planned(const void *self)
{
    return ((const rounds *)self)->n;
}

static void rounds_free(void *self)
{
    rounds *s = self;
    if (s == NULL)
        return;
    free(s->trials);
    free(s->regions);
    free(s);
}

static const cv_scheduler_ops rounds_ops = {
    .next = rounds_next,
    .finished = rounds_finished,
    .requeue = rounds_requeue,
    .complete = rounds_complete,
    .finished_count = rounds_finished_count,
    .planned = rounds_planned,
    .free = rounds_free,
};

int cv_rounds_create(cv_scheduler *out, const cv_job *job, const cv_space *space,
                     cv_recorder *rec, const cv_trial_row *rows, int64_t n,
                     int64_t rounds_in_file, cv_error *err)
{
    rounds *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for the plan");
    s->job = job;
    s->space = space;
    s->rec = rec;
    s->T = cv_space_trials(space);
    s->R = cv_space_rounds(space);
    s->n = (int64_t)s->T * s->R;
    s->round = -1;
    s->rounds_in_file = rounds_in_file;
    s->trials = calloc((size_t)s->n, sizeof *s->trials);
    s->regions = calloc((size_t)s->R, sizeof *s->regions);
    if (s->trials == NULL || s->regions == NULL) {
        int64_t n_trials = s->n;
        rounds_free(s);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for %lld trials",
                       (long long)n_trials);
    }
    /* resuming: the study's finished trials stay finished; babysitting runs
     * (a parent) live beside the study, interrupted trials are re-run */
    for (int64_t i = 0; i < n; i++) {
        const cv_trial_row *row = &rows[i];
        if (row->parent >= 0 || row->trial < 0 || row->trial >= s->n ||
            row->status == CV_TRIAL_INTERRUPTED)
            continue;
        rounds_finished(s, row, NULL, err);
    }
    *out = (cv_scheduler){.ops = &rounds_ops, .self = s};
    return 0;
}
