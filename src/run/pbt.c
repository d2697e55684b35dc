/* pbt.c: population-based training as a scheduler, deterministic at any
 * worker count (see run_int.h).
 *
 * A population of search.trials members trains in generations of
 * perturbation_interval epochs. Member k starts as trial k, sampled from
 * the whole space. When every member has finished a generation, the
 * members are ranked by the metric at their last epoch (where their
 * weights are now, not their best: members that can go on first, ties to
 * the lower member), and each of the bottom floor(quantile_fraction *
 * population) (and any member that diverged or failed) is exploited: it
 * ends its trial and goes on as a new trial that starts from a copy of the
 * state (weights, running statistics, optimizer moments and step count) of
 * a member of the top quantile at that epoch, with that member's
 * configuration explored (cv_space_explore). The others continue their own
 * trial. A trial's configuration thus never changes; a member's schedule is
 * the chain of trials it went through, which /lineage records: one row per
 * member and generation, with the trial, whose state it started from, the
 * decision, its place and what explore changed.
 *
 * Decisions without races. A generation's decisions are made once all its
 * results are in, and depend only on them; which top member a bottom one
 * copies and how it explores are drawn from generators keyed by (study
 * seed, generation, member). New trials take ids in member order. So the
 * same job gives the same lineage, trials and curves on 1 or 64 workers
 * in any order of completion. The price is the barrier: workers idle at a
 * generation's end while its last segments finish. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/rng.h"
#include "run_int.h"

/* The key counter of PBT's draws (which top member, explore). */
#define PBT_KEY 0x50425431u

enum pstate {
    P_READY,   /* to be dispatched for the generation */
    P_RUNNING, /* dispatched */
    P_DONE,    /* finished the generation: awaiting the others */
    P_ENDED,   /* exploited away, or finished the budget */
};

typedef struct ptrial {
    enum pstate state;
    int member;
    int start;      /* the epoch it started at (0, or a generation's first) */
    cv_config cfg;
    uint64_t seed;
    bool has_row;
    cv_trial_row row; /* its last finished row: its best so far */
    double last;      /* the metric at the end of its last segment (NaN: none) */
    bool continuable; /* its last segment trained to its end: it may go on */
} ptrial;

typedef struct pbt {
    const cv_job *job;
    const cv_space *space;
    cv_recorder *rec;
    cv_metric metric;
    int P, I, G, max, n_q; /* population, interval, generations, epochs, exploited */
    ptrial *trials;
    int64_t n, cap;
    int64_t *member_trial; /* (P) each member's trial */
    int gen;               /* the generation being trained */
    int in;                /* its results in */
    bool over;             /* every trial ended */
    int64_t finished;      /* trials ended */
    int64_t epochs;        /* trained by the segments finished so far */
    const cv_lineage_row *known; /* decisions the file holds (resuming) */
    int64_t n_known;
    const cv_trial_row *const *replayed; /* resuming: each trial's last row in the file
                                            (cv_replay_rows), NULL otherwise */
} pbt;

static int from_epoch(const pbt *s, int g)
{
    return g * s->I;
}

static int to_epoch(const pbt *s, int g)
{
    return (g + 1) * s->I < s->max ? (g + 1) * s->I : s->max;
}

/* Writes a decision's /lineage row unless the file holds it (a resume). */
static int record(pbt *s, const cv_lineage_row *row, cv_error *err)
{
    for (int64_t i = 0; i < s->n_known; i++)
        if (s->known[i].member == row->member && s->known[i].generation == row->generation)
            return 0;
    return cv_recorder_lineage(s->rec, row, err);
}

/* A new trial of configuration cfg for member k from generation g on. */
static int64_t new_trial(pbt *s, int k, int g, const cv_config *cfg)
{
    int64_t id = s->n++;
    ptrial *t = &s->trials[id];
    *t = (ptrial){.state = P_READY, .member = k, .start = from_epoch(s, g), .cfg = *cfg,
                  .last = NAN};
    t->cfg.epochs = s->max;
    t->seed = cv_space_trial_seed(s->job->search.seed, 0, (int)id);
    s->member_trial[k] = id;
    return id;
}

static void end_trial(pbt *s, int64_t id)
{
    s->trials[id].state = P_ENDED;
    s->finished++;
    cv_recorder_drop_state(s->rec, id);
}

/* Generation 0: member k is trial k, sampled from the whole space. */
static int begin(pbt *s, int64_t rounds_in_file, cv_error *err)
{
    cv_region full;
    cv_space_full_region(s->space, &full);
    for (int k = 0; k < s->P; k++) {
        cv_config cfg;
        int rc = cv_space_sample(s->space, &full, 0, k, &cfg, err);
        if (rc != 0)
            return rc;
        int64_t id = new_trial(s, k, 0, &cfg);
        cv_lineage_row row = {.trial = id, .member = k, .generation = 0, .from_epoch = 0,
                              .to_epoch = to_epoch(s, 0), .parent = -1, .metric = NAN};
        snprintf(row.decision, sizeof row.decision, "start");
        if ((rc = record(s, &row, err)) != 0)
            return rc;
    }
    return cv_round_record(s->space, s->rec, &full, 0, &rounds_in_file, err);
}

/* Whether member a ranks before member b: able to go on, then the better
 * metric at the last epoch, then the lower member. */
static bool ranks_before(const pbt *s, int a, int b)
{
    const ptrial *x = &s->trials[s->member_trial[a]], *y = &s->trials[s->member_trial[b]];
    if (x->continuable != y->continuable)
        return x->continuable;
    bool fx = isfinite(x->last), fy = isfinite(y->last);
    if (fx != fy)
        return fx;
    if (fx && x->last != y->last)
        return cv_metric_better(s->metric, x->last, y->last);
    return a < b;
}

/* Member k, at place `place` of the ranking, goes on as a new trial from
 * a copy of the state of a top member (order[0 .. n_top)), drawn by its
 * key, with that member's configuration explored. */
static int exploit(pbt *s, int k, int place, const int *order, int n_top, cv_error *err)
{
    const int g = s->gen + 1, at = from_epoch(s, g);
    const int64_t old = s->member_trial[k];
    const double metric = s->trials[old].last;
    const uint64_t key = cv_hash_key(s->job->search.seed, PBT_KEY, (uint64_t)g, (uint64_t)k);
    cv_rng r;
    cv_rng_seed(&r, key);
    const int idx = (int)(cv_rng_uniform(&r) * n_top) % n_top, pick = order[idx];
    const int64_t parent = s->member_trial[pick];
    cv_config cfg;
    char changes[120];
    if (cv_space_explore(s->space, &s->trials[parent].cfg, &s->job->search.pbt, cv_hash64(key),
                         &cfg, changes, sizeof changes) != 0) {
        cfg = s->trials[parent].cfg;
        snprintf(changes, sizeof changes, "explore gave an invalid configuration: kept as is");
    }
    end_trial(s, old);
    const int64_t id = new_trial(s, k, g, &cfg);
    /* a resume copies only what the file does not hold yet: a state the
     * trial has, or has gone past, stays. A parent's state that is lost
     * (a side file removed) is not the study's end: the runner trains the
     * trial from scratch instead, and says so. */
    int rc = 0;
    cv_error cerr = {0};
    if (s->replayed == NULL) {
        rc = cv_recorder_copy_state(s->rec, parent, id, at, &cerr);
    } else if (s->replayed[id] == NULL || s->replayed[id]->epochs_done <= at) {
        float *have = NULL;
        int64_t n = 0;
        if (cv_recorder_load_state(s->rec, id, at, &have, &n, &cerr) != 0)
            rc = cv_recorder_copy_state(s->rec, parent, id, at, &cerr);
        free(have);
    }
    if (rc != 0 && rc != CV_ERR_INPUT) {
        *err = cerr;
        return rc;
    }
    cv_lineage_row row = {.trial = id, .member = k, .generation = g, .from_epoch = at,
                          .to_epoch = to_epoch(s, g), .parent = parent, .metric = metric,
                          .place = place, .of = s->P};
    snprintf(row.decision, sizeof row.decision, "exploit");
    snprintf(row.explore, sizeof row.explore, "copied member %d (trial %lld, place %d): %s",
             pick, (long long)parent, idx + 1, changes[0] ? changes : "nothing changed");
    return record(s, &row, err);
}

/* Ends every member's trial: the budget is trained, or no member can go on. */
static void end_all(pbt *s)
{
    for (int k = 0; k < s->P; k++)
        if (s->trials[s->member_trial[k]].state != P_ENDED)
            end_trial(s, s->member_trial[k]);
    s->over = true;
}

/* The end of a generation: the last one ends every trial; before it, the
 * bottom of the ranking (and whoever cannot go on) is exploited, in member
 * order, and the rest continue. */
static int end_generation(pbt *s, cv_error *err)
{
    const int P = s->P;
    if (s->gen + 1 >= s->G) {
        end_all(s);
        return 0;
    }
    int *order = malloc((size_t)P * sizeof *order), *place = malloc((size_t)P * sizeof *place);
    if (order == NULL || place == NULL) {
        free(order), free(place);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory ranking the population");
    }
    for (int k = 0; k < P; k++) {
        int j = k;
        while (j > 0 && ranks_before(s, k, order[j - 1])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    for (int i = 0; i < P; i++)
        place[order[i]] = i + 1;
    int n_top = 0;
    while (n_top < s->n_q && s->trials[s->member_trial[order[n_top]]].continuable)
        n_top++;
    int rc = 0;
    if (n_top == 0)
        end_all(s);
    for (int k = 0; rc == 0 && n_top > 0 && k < P; k++) {
        ptrial *t = &s->trials[s->member_trial[k]];
        if (place[k] > P - s->n_q || !t->continuable) {
            rc = exploit(s, k, place[k], order, n_top, err);
            continue;
        }
        t->state = P_READY;
        cv_lineage_row row = {.trial = s->member_trial[k], .member = k, .generation = s->gen + 1,
                              .from_epoch = from_epoch(s, s->gen + 1),
                              .to_epoch = to_epoch(s, s->gen + 1),
                              .parent = s->member_trial[k], .metric = t->last,
                              .place = place[k], .of = P};
        snprintf(row.decision, sizeof row.decision, "continue");
        rc = record(s, &row, err);
    }
    s->gen++;
    s->in = 0;
    free(order), free(place);
    return rc;
}

/* Trial id finished generation gen's segment: last is the metric at its
 * last epoch, continuable whether it trained to the segment's end. */
static int finish(pbt *s, int64_t id, int gen, double last, bool continuable, cv_error *err)
{
    ptrial *t = &s->trials[id];
    if (gen != s->gen || (t->state != P_RUNNING && t->state != P_READY))
        return cv_fail(err, CV_ERR_RUNTIME,
                       "runner: trial %lld finished generation %d, which it was not training "
                       "for",
                       (long long)id, gen);
    t->last = last;
    t->continuable = continuable;
    t->state = P_DONE;
    return ++s->in == s->P ? end_generation(s, err) : 0;
}

static int pbt_finished(void *self, const cv_trial_row *row, const cv_segment_row *seg,
                        cv_error *err)
{
    pbt *s = self;
    if (row->trial < 0 || row->trial >= s->n)
        return cv_fail(err, CV_ERR_RUNTIME, "runner: trial %lld is not in the plan",
                       (long long)row->trial);
    ptrial *t = &s->trials[row->trial];
    const int before = t->has_row ? t->row.epochs_done : t->start;
    s->epochs += row->epochs_done > before ? row->epochs_done - before : 0;
    t->row = *row;
    t->has_row = true;
    double last = seg != NULL ? seg->last_metric : cv_trial_row_metric(row, s->metric);
    bool continuable = row->status == CV_TRIAL_DONE && row->epochs_done >= row->budget;
    return finish(s, row->trial, row->rung, last, continuable, err);
}

/* ---- the scheduler's interface ---------------------------------------------------- */

/* The generation's segment of trial id: from its own state (continuing),
 * the copy of its parent's (exploited), or from scratch (generation 0). */
static void segment_of(const pbt *s, int64_t id, cv_segment *seg)
{
    const ptrial *t = &s->trials[id];
    *seg = (cv_segment){.trial = id,
                        .round = 0,
                        .rung = s->gen,
                        .seed = t->seed,
                        .config = t->cfg,
                        .from_epoch = from_epoch(s, s->gen),
                        .to_epoch = to_epoch(s, s->gen),
                        .prior = cv_trial_result_none(CV_TRIAL_DONE)};
    if (t->has_row)
        cv_segment_continue(seg, &t->row);
}

static int pbt_next(void *self, cv_segment *seg, cv_error *err)
{
    (void)err;
    pbt *s = self;
    for (int k = 0; !s->over && k < s->P; k++) {
        int64_t id = s->member_trial[k];
        if (s->trials[id].state == P_READY) {
            s->trials[id].state = P_RUNNING;
            segment_of(s, id, seg);
            return 1;
        }
    }
    return 0;
}

static void pbt_requeue(void *self, int64_t id)
{
    pbt *s = self;
    if (id >= 0 && id < s->n && s->trials[id].state == P_RUNNING)
        s->trials[id].state = P_READY;
}

static bool pbt_complete(const void *self)
{
    return ((const pbt *)self)->over;
}

static int64_t pbt_finished_count(const void *self)
{
    return ((const pbt *)self)->finished;
}

/* The population plus the bottom quantile once per generation after the
 * first (more when members diverge). */
static int64_t pbt_planned(const void *self)
{
    const pbt *s = self;
    return (int64_t)s->P + (int64_t)(s->G - 1) * s->n_q;
}

static int64_t pbt_planned_epochs(const void *self)
{
    const pbt *s = self;
    return (int64_t)s->P * s->max;
}

static int64_t pbt_epochs_done(const void *self)
{
    return ((const pbt *)self)->epochs;
}

static void pbt_free(void *self)
{
    pbt *s = self;
    if (s == NULL)
        return;
    free(s->trials);
    free(s->member_trial);
    free(s);
}

static const cv_scheduler_ops pbt_ops = {
    .next = pbt_next,
    .finished = pbt_finished,
    .requeue = pbt_requeue,
    .complete = pbt_complete,
    .finished_count = pbt_finished_count,
    .planned = pbt_planned,
    .planned_epochs = pbt_planned_epochs,
    .epochs_done = pbt_epochs_done,
    .free = pbt_free,
};

/* Resuming: the file's segments replayed in file order, each one that its
 * trial's row confirms (a segment row is appended before its trial row),
 * so that every generation is decided again as it was (the lineage rows
 * the file holds are not written again, the state copies it holds are not
 * made again); then each trial gets its last row. */
static int replay(pbt *s, const cv_trial_row *rows, int64_t n, const cv_segment_row *segs,
                  int64_t n_segs, cv_error *err)
{
    const cv_trial_row **last = cv_replay_rows(rows, n, s->cap);
    if (last == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory resuming");
    s->replayed = last;
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < n_segs && !s->over; i++) {
        const cv_segment_row *g = &segs[i];
        if (!cv_replay_confirmed(last, s->n, g) || g->rung != s->gen)
            continue;
        ptrial *t = &s->trials[g->trial];
        if (t->state != P_READY && t->state != P_RUNNING)
            continue; /* recorded twice */
        s->epochs += g->epochs_done - g->from_epoch;
        t->row = *last[g->trial];
        t->has_row = true;
        rc = finish(s, g->trial, g->rung, g->last_metric, cv_segment_row_went_through(g), err);
    }
    s->replayed = NULL;
    free(last);
    return rc;
}

int cv_pbt_create(cv_scheduler *out, const cv_job *job, const cv_space *space,
                  cv_recorder *rec, const cv_trial_row *rows, int64_t n,
                  const cv_segment_row *segs, int64_t n_segs, const cv_lineage_row *lineage,
                  int64_t n_lineage, int64_t rounds_in_file, cv_error *err)
{
    const cv_pbt_spec *spec = &job->search.pbt;
    pbt *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for the plan");
    s->job = job;
    s->space = space;
    s->rec = rec;
    s->metric = job->search.metric;
    s->P = cv_space_trials(space);
    s->I = spec->interval;
    s->max = job->search.max_epochs;
    s->n_q = cv_job_pbt_exploited(job);
    if (s->P < 2 || s->I < 1 || s->max <= s->I || s->n_q < 1 || 2 * s->n_q > s->P) {
        int P = s->P, I = s->I, max = s->max;
        free(s);
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: search: the pbt plan does not fit (population %d, "
                       "perturbation_interval %d, max_epochs %d, quantile_fraction %g)",
                       job->path, P, I, max, spec->quantile);
    }
    s->G = cv_job_pbt_generations(job);
    /* at most every member is replaced each generation */
    s->cap = (int64_t)s->P * s->G;
    s->known = lineage;
    s->n_known = n_lineage;
    s->trials = calloc((size_t)s->cap, sizeof *s->trials);
    s->member_trial = calloc((size_t)s->P, sizeof *s->member_trial);
    if (s->trials == NULL || s->member_trial == NULL) {
        pbt_free(s);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for the plan");
    }
    int rc = begin(s, rounds_in_file, err);
    if (rc == 0)
        rc = replay(s, rows, n, segs, n_segs, err);
    /* decisions from here on are new: none of them is in the file */
    s->known = NULL;
    s->n_known = 0;
    if (rc != 0) {
        pbt_free(s);
        return rc;
    }
    *out = (cv_scheduler){.ops = &pbt_ops, .self = s};
    return 0;
}
