/* halving.c: successive halving as a scheduler, ASHA (one bracket) and
 * Hyperband (several), deterministic at any worker count (see run_int.h).
 *
 * Budgets. With min_epochs m, reduction factor eta and max_epochs M, the
 * budgets are m, m*eta, m*eta^2, ... while below M, then M. Bracket b
 * starts its trials at budget b and promotes them rung by rung to M; ASHA
 * is bracket 0 alone. A round's T trials are dealt to the brackets in
 * proportion to Hyperband's n_s ~ eta^s / (s + 1) (s: the bracket's
 * halvings), interleaved, at least eta each.
 *
 * Decisions without races. Asynchronous halving (ASHA, as Optuna and Ray
 * run it) promotes a trial when it ranks in the top 1/eta of whatever
 * results of its rung have arrived, so the promotions depend on which
 * worker happened to finish first. Here a rung's entries have a fixed
 * order (the trials' ids in rung 0; the order of promotion above), and the
 * rung decides only on a prefix of that order whose results are all in:
 * each time the prefix grows by one entry to p, the undecided entries
 * ranking in the top floor(p / eta) of the prefix are promoted, best first,
 * while fewer than floor(p / eta) have been; an entry ranking below the
 * most that can ever go on (floor(cap / eta), cap: the most entries the
 * rung can have) is stopped at once, freeing its state. When the rung can
 * get no more entries and all are in, the rest are stopped (and the best
 * one promoted if the rung was too small to promote any). So the same job
 * makes the same promotions, in the same order, on 1 or 64 workers and in
 * any order of completion, while workers keep busy with other ready work
 * (promotions first, then new trials in id order). A promoted trial goes
 * on from its state (the last epoch of its last segment), never from
 * scratch. Rounds zoom as random rounds do, on the trials that went
 * furthest (by budget reached, then metric). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_int.h"

enum hstate {
    H_NEW,     /* its round has not begun */
    H_READY,   /* to be dispatched for its rung */
    H_RUNNING, /* dispatched */
    H_WAITING, /* finished its rung: awaiting the rung's decision */
    H_STOPPED, /* stopped by a decision (or it could not go on) */
    H_TOP,     /* finished the top rung */
};

typedef struct htrial {
    enum hstate state;
    int bracket, rung, pos; /* its rung and its place in the rung's entries */
    cv_config cfg;
    uint64_t seed;
    bool has_row;
    cv_trial_row row; /* its last finished row: the best so far, cumulative */
} htrial;

typedef struct entry {
    int64_t trial;
    double metric;    /* its result at this rung (when finished) */
    bool finished;
    bool continuable; /* done with the rung's whole budget: may go on */
    bool decided;
} entry;

typedef struct hrung {
    entry *e;
    int *ranked;    /* entries [0, prefix) ranked, best first */
    int n, cap;     /* entries so far, the most it can have */
    int prefix;     /* entries [0, prefix) are finished and decided upon */
    int promoted;
    bool closed;    /* no entry can come any more */
    bool ended;     /* closed, all in, all decided */
} hrung;

typedef struct bracket {
    int first;   /* its first budget */
    int n_rungs; /* budgets first .. top */
    int trials;  /* of a round */
    hrung *rungs;
} bracket;

typedef struct halving {
    const cv_job *job;
    const cv_space *space;
    cv_recorder *rec;
    cv_metric metric;
    int T, R, eta, B, M; /* trials per round, rounds, factor, brackets, budgets below the top */
    int budgets[64];     /* [0..M] */
    int64_t n;
    htrial *trials;
    int *bracket_of;     /* (T) a round's trial index -> bracket */
    bracket *brackets;   /* (B), for the round being run */
    cv_region *regions;  /* (R) */
    int round;
    int64_t finished;    /* trials decided for good (stopped or top) */
    int64_t epochs;      /* trained by the segments finished so far */
    int64_t rounds_in_file;
    const cv_rung_row *known_rungs; /* decisions the file holds (resuming) */
    int64_t n_known_rungs;
} halving;

static int budget_of(const halving *s, int b, int rung)
{
    return s->budgets[s->brackets[b].first + rung];
}

/* ---- dealing trials to brackets ---------------------------------------------- */

/* Each bracket's share of a round's T trials (Hyperband's n_s ~ eta^s / (s +
 * 1), at least eta each), then trial i's bracket by smooth weighted round
 * robin: the brackets interleave over the round. */
static void deal(halving *s)
{
    int count[64] = {0};
    double w[64], sum = 0;
    for (int b = 0; b < s->B; b++) {
        int halvings = s->M - b;
        w[b] = pow(s->eta, halvings) / (halvings + 1);
        sum += w[b];
    }
    int given = 0;
    for (int b = 0; b < s->B; b++) {
        count[b] = (int)floor(s->T * w[b] / sum);
        if (count[b] < s->eta)
            count[b] = s->eta;
        given += count[b];
    }
    /* the job checked T >= eta * B: settle the difference on bracket 0 (or
     * on the largest brackets while they have more than eta) */
    for (int b = 0; given > s->T && b < s->B; b++)
        while (given > s->T && count[b] > s->eta)
            count[b]--, given--;
    count[0] += s->T - given;
    double cur[64] = {0};
    for (int i = 0; i < s->T; i++) {
        int pick = -1;
        for (int b = 0; b < s->B; b++) {
            cur[b] += count[b];
            if (pick < 0 || cur[b] > cur[pick])
                pick = b;
        }
        cur[pick] -= s->T;
        s->bracket_of[i] = pick;
    }
    for (int b = 0; b < s->B; b++)
        s->brackets[b].trials = count[b];
}

/* ---- rungs -------------------------------------------------------------------- */

static int add_entry(halving *s, int b, int rung, int64_t trial, cv_error *err)
{
    hrung *r = &s->brackets[b].rungs[rung];
    if (r->n >= r->cap)
        return cv_fail(err, CV_ERR_RUNTIME, "runner: rung %d of bracket %d is full", rung, b);
    r->e[r->n] = (entry){.trial = trial};
    htrial *t = &s->trials[trial];
    t->bracket = b;
    t->rung = rung;
    t->pos = r->n++;
    t->state = H_READY;
    return 0;
}

/* Whether entry x ranks before entry y: able to go on, then the better
 * metric (none last), then the lower trial id. */
static bool entry_before(const halving *s, const entry *x, const entry *y)
{
    if (x->continuable != y->continuable)
        return x->continuable;
    bool fx = isfinite(x->metric), fy = isfinite(y->metric);
    if (fx != fy)
        return fx;
    if (fx && x->metric != y->metric)
        return cv_metric_better(s->metric, x->metric, y->metric);
    return x->trial < y->trial;
}

/* Takes entry p - 1 (just finished) into the ranking of the prefix. */
static void rank_next(const halving *s, hrung *r, int p)
{
    int j = p - 1;
    while (j > 0 && entry_before(s, &r->e[p - 1], &r->e[r->ranked[j - 1]])) {
        r->ranked[j] = r->ranked[j - 1];
        j--;
    }
    r->ranked[j] = p - 1;
}

/* Writes the decision about entry k of rung `rung` of bracket b as a /rungs
 * row, unless the file holds it (a resume replaying the decisions). */
static int record_decision(halving *s, int b, int rung, const entry *x, int place, int of,
                           int go_on, bool promoted, const char *reason, cv_error *err)
{
    for (int64_t i = 0; i < s->n_known_rungs; i++)
        if (s->known_rungs[i].trial == x->trial && s->known_rungs[i].rung == rung)
            return 0;
    cv_rung_row row = {.trial = x->trial,
                       .round = s->round,
                       .bracket = b,
                       .rung = rung,
                       .budget = budget_of(s, b, rung),
                       .metric = x->metric,
                       .place = place,
                       .of = of,
                       .go_on = go_on};
    snprintf(row.decision, sizeof row.decision, "%s", promoted ? "promoted" : "stopped");
    snprintf(row.reason, sizeof row.reason, "%s", reason);
    return cv_recorder_rung(s->rec, &row, err);
}

static int promote(halving *s, int b, int rung, entry *x, int place, int of, int go_on,
                   const char *why, cv_error *err)
{
    hrung *r = &s->brackets[b].rungs[rung];
    x->decided = true;
    r->promoted++;
    char reason[96];
    snprintf(reason, sizeof reason, "%s: place %d of %d, the top %d go on to %d epochs", why,
             place, of, go_on, budget_of(s, b, rung + 1));
    int rc = record_decision(s, b, rung, x, place, of, go_on, true, reason, err);
    return rc != 0 ? rc : add_entry(s, b, rung + 1, x->trial, err);
}

static int stop(halving *s, int b, int rung, entry *x, int place, int of, int go_on,
                const char *reason, cv_error *err)
{
    x->decided = true;
    htrial *t = &s->trials[x->trial];
    t->state = H_STOPPED;
    s->finished++;
    cv_recorder_drop_state(s->rec, x->trial);
    return record_decision(s, b, rung, x, place, of, go_on, false, reason, err);
}

/* Why an entry that finished its rung cannot go on. */
static const char *cannot_go_on(const halving *s, const entry *x)
{
    const cv_trial_row *row = &s->trials[x->trial].row;
    if (row->status == CV_TRIAL_DIVERGED)
        return "diverged";
    if (row->status == CV_TRIAL_FAILED)
        return "failed";
    return "stopped early (patience) before the rung's budget";
}

/* The decisions rung `rung` of bracket b makes on its first p entries. */
static int decide_prefix(halving *s, int b, int rung, int p, cv_error *err)
{
    hrung *r = &s->brackets[b].rungs[rung];
    const int m = p / s->eta, most = r->cap / s->eta > 0 ? r->cap / s->eta : 1;
    for (int i = 0; i < p; i++) {
        entry *x = &r->e[r->ranked[i]];
        if (x->decided)
            continue;
        int rc = 0;
        char reason[96];
        if (!x->continuable) {
            rc = stop(s, b, rung, x, i + 1, p, m, cannot_go_on(s, x), err);
        } else if (i < m && r->promoted < m) {
            rc = promote(s, b, rung, x, i + 1, p, m, "promoted", err);
        } else if (i >= most) {
            snprintf(reason, sizeof reason,
                     "place %d of %d: at most %d of the rung's %d can go on", i + 1, p, most,
                     r->cap);
            rc = stop(s, b, rung, x, i + 1, p, m, reason, err);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A closed rung whose entries are all in: the undecided are stopped, after
 * the best goes on if the rung was too small to promote any. */
static int close_out(halving *s, int b, int rung, cv_error *err)
{
    hrung *r = &s->brackets[b].rungs[rung];
    const int n = r->n, m = n / s->eta;
    r->ended = true;
    for (int i = 0; i < n; i++) {
        entry *x = &r->e[r->ranked[i]];
        if (x->decided)
            continue;
        int rc;
        if (x->continuable && r->promoted == 0 && m == 0) {
            rc = promote(s, b, rung, x, i + 1, n, 1, "promoted as the best of a small rung",
                         err);
        } else {
            char reason[96];
            snprintf(reason, sizeof reason,
                     "place %d of %d: the rung's %d promotions went to better-placed trials",
                     i + 1, n, r->promoted);
            rc = stop(s, b, rung, x, i + 1, n, m, reason, err);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Moves bracket b's rungs on: each rung decides on its growing prefix;
 * a closed rung whose entries are all in closes the next. */
static int advance(halving *s, int b, cv_error *err)
{
    bracket *br = &s->brackets[b];
    for (int k = 0; k < br->n_rungs; k++) {
        hrung *r = &br->rungs[k];
        const bool top = k == br->n_rungs - 1;
        while (r->prefix < r->n && r->e[r->prefix].finished) {
            r->prefix++;
            rank_next(s, r, r->prefix);
            if (!top) {
                int rc = decide_prefix(s, b, k, r->prefix, err);
                if (rc != 0)
                    return rc;
            }
        }
        if (r->closed && !r->ended && r->prefix == r->n && !top) {
            int rc = close_out(s, b, k, err);
            if (rc != 0)
                return rc;
            br->rungs[k + 1].closed = true;
        }
    }
    return 0;
}

/* ---- rounds -------------------------------------------------------------------- */

static bool round_complete(const halving *s)
{
    int64_t first = (int64_t)s->round * s->T;
    for (int64_t i = first; i < first + s->T; i++)
        if (s->trials[i].state != H_STOPPED && s->trials[i].state != H_TOP)
            return false;
    return true;
}

/* Whether trial x went further than y: the larger budget reached, then the
 * better metric, then the lower id. */
static bool went_further(const halving *s, const htrial *x, int64_t ix, const htrial *y,
                         int64_t iy)
{
    int bx = x->has_row ? x->row.budget : 0, by = y->has_row ? y->row.budget : 0;
    if (bx != by)
        return bx > by;
    double mx = x->has_row ? cv_trial_row_metric(&x->row, s->metric) : NAN;
    double my = y->has_row ? cv_trial_row_metric(&y->row, s->metric) : NAN;
    if (isfinite(mx) != isfinite(my))
        return isfinite(mx);
    if (isfinite(mx) && mx != my)
        return cv_metric_better(s->metric, mx, my);
    return ix < iy;
}

/* Round r's region: the whole space, or zoomed on the trials of round r - 1
 * that went furthest. */
static int region_of(halving *s, int r, cv_error *err)
{
    if (r == 0) {
        cv_space_full_region(s->space, &s->regions[0]);
        return 0;
    }
    const int64_t first = (int64_t)(r - 1) * s->T;
    int64_t *idx = malloc((size_t)s->T * sizeof *idx);
    cv_config *best = malloc((size_t)s->T * sizeof *best);
    if (idx == NULL || best == NULL) {
        free(idx), free(best);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory zooming round %d", r);
    }
    int n = 0;
    for (int i = 0; i < s->T; i++) {
        const htrial *t = &s->trials[first + i];
        if (!t->has_row || !isfinite(cv_trial_row_metric(&t->row, s->metric)))
            continue;
        int j = n++;
        while (j > 0 && went_further(s, t, first + i, &s->trials[idx[j - 1]], idx[j - 1])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = first + i;
    }
    int k = cv_space_keep_count(s->space, s->T);
    if (k > n)
        k = n;
    for (int i = 0; i < k; i++)
        best[i] = s->trials[idx[i]].cfg;
    int rc = cv_space_zoom_best(s->space, &s->regions[r - 1], best, k, &s->regions[r], err);
    free(idx), free(best);
    return rc;
}

static void free_brackets(halving *s)
{
    for (int b = 0; s->brackets != NULL && b < s->B; b++) {
        for (int k = 0; s->brackets[b].rungs != NULL && k < s->brackets[b].n_rungs; k++) {
            free(s->brackets[b].rungs[k].e);
            free(s->brackets[b].rungs[k].ranked);
        }
        free(s->brackets[b].rungs);
        s->brackets[b].rungs = NULL;
    }
}

/* Begins round r: its region, its trials sampled and dealt to the brackets,
 * every one an entry of its bracket's first rung. */
static int begin_round(halving *s, int r, cv_error *err)
{
    int rc = region_of(s, r, err);
    if (rc != 0)
        return rc;
    s->round = r;
    free_brackets(s);
    for (int b = 0; b < s->B; b++) {
        bracket *br = &s->brackets[b];
        br->first = b;
        br->n_rungs = s->M - b + 1;
        br->rungs = calloc((size_t)br->n_rungs, sizeof *br->rungs);
        if (br->rungs == NULL)
            return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for round %d", r);
        int cap = br->trials;
        for (int k = 0; k < br->n_rungs; k++) {
            br->rungs[k].cap = cap;
            br->rungs[k].e = calloc((size_t)cap, sizeof(entry));
            br->rungs[k].ranked = calloc((size_t)cap, sizeof(int));
            if (br->rungs[k].e == NULL || br->rungs[k].ranked == NULL)
                return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for round %d", r);
            cap = cap / s->eta > 0 ? cap / s->eta : 1;
        }
        br->rungs[0].closed = true; /* every trial of the round enters at once */
    }
    for (int i = 0; i < s->T; i++) {
        int64_t id = (int64_t)r * s->T + i;
        htrial *t = &s->trials[id];
        if ((rc = cv_space_sample(s->space, &s->regions[r], r, i, &t->cfg, err)) != 0)
            return rc;
        t->cfg.epochs = s->budgets[s->M];
        t->seed = cv_space_trial_seed(s->job->search.seed, r, i);
        if ((rc = add_entry(s, s->bracket_of[i], 0, id, err)) != 0)
            return rc;
    }
    return cv_round_record(s->space, s->rec, &s->regions[r], r, &s->rounds_in_file, err);
}

/* ---- results ------------------------------------------------------------------- */

/* Trial id finished its rung with metric (continuable: it trained the
 * rung's whole budget and may go on); the rungs move on. */
static int finish_rung(halving *s, int64_t id, int rung, double metric, bool continuable,
                       cv_error *err)
{
    htrial *t = &s->trials[id];
    if (t->state == H_NEW || t->rung != rung || t->state == H_STOPPED || t->state == H_TOP)
        return cv_fail(err, CV_ERR_RUNTIME,
                       "runner: trial %lld finished rung %d, which it was not training for",
                       (long long)id, rung);
    bracket *br = &s->brackets[t->bracket];
    entry *x = &br->rungs[rung].e[t->pos];
    x->finished = true;
    x->metric = metric;
    const bool top = rung == br->n_rungs - 1;
    x->continuable = continuable && !top;
    if (top) {
        t->state = H_TOP;
        s->finished++;
        cv_recorder_drop_state(s->rec, id);
    } else {
        t->state = H_WAITING;
    }
    return advance(s, t->bracket, err);
}

static int halving_finished(void *self, const cv_trial_row *row, const cv_segment_row *seg,
                            cv_error *err)
{
    (void)seg;
    halving *s = self;
    if (row->trial < 0 || row->trial >= s->n)
        return cv_fail(err, CV_ERR_RUNTIME, "runner: trial %lld is not in the plan",
                       (long long)row->trial);
    htrial *t = &s->trials[row->trial];
    int before = t->has_row ? t->row.epochs_done : 0;
    t->row = *row;
    t->has_row = true;
    s->epochs += row->epochs_done > before ? row->epochs_done - before : 0;
    bool continuable = row->status == CV_TRIAL_DONE && row->epochs_done >= row->budget;
    return finish_rung(s, row->trial, row->rung, cv_trial_row_metric(row, s->metric), continuable,
                       err);
}

/* ---- the scheduler's interface ---------------------------------------------------- */

/* The segment of ready trial id: its rung's budget, from its state. */
static void segment_of(const halving *s, int64_t id, cv_segment *seg)
{
    const htrial *t = &s->trials[id];
    *seg = (cv_segment){.trial = id,
                        .round = s->round,
                        .bracket = t->bracket,
                        .rung = t->rung,
                        .seed = t->seed,
                        .config = t->cfg,
                        .from_epoch = t->rung > 0 ? budget_of(s, t->bracket, t->rung - 1) : 0,
                        .to_epoch = budget_of(s, t->bracket, t->rung),
                        .prior = cv_trial_result_none(CV_TRIAL_DONE)};
    if (t->rung > 0 && t->has_row)
        cv_segment_continue(seg, &t->row);
}

static int halving_next(void *self, cv_segment *seg, cv_error *err)
{
    halving *s = self;
    int rc;
    if (s->round < 0 && (rc = begin_round(s, 0, err)) != 0)
        return rc;
    for (;;) {
        /* promotions first (the highest rung), then new trials, by id */
        int64_t pick = -1, first = (int64_t)s->round * s->T;
        for (int64_t i = first; i < first + s->T; i++)
            if (s->trials[i].state == H_READY &&
                (pick < 0 || s->trials[i].rung > s->trials[pick].rung))
                pick = i;
        if (pick >= 0) {
            s->trials[pick].state = H_RUNNING;
            segment_of(s, pick, seg);
            return 1;
        }
        if (s->round + 1 >= s->R || !round_complete(s))
            return 0;
        if ((rc = begin_round(s, s->round + 1, err)) != 0)
            return rc;
    }
}

static void halving_requeue(void *self, int64_t id)
{
    halving *s = self;
    if (id >= 0 && id < s->n && s->trials[id].state == H_RUNNING)
        s->trials[id].state = H_READY;
}

static bool halving_complete(const void *self)
{
    const halving *s = self;
    return s->finished == s->n;
}

static int64_t halving_finished_count(const void *self)
{
    return ((const halving *)self)->finished;
}

static int64_t halving_planned(const void *self)
{
    return ((const halving *)self)->n;
}

/* Each rung's most entries times the epochs it adds, over the brackets,
 * for every round: the epochs of the plan when every trial goes the
 * whole of each rung it enters. */
static int64_t halving_planned_epochs(const void *self)
{
    const halving *s = self;
    int64_t per_round = 0;
    for (int b = 0; b < s->B; b++) {
        int cap = s->brackets[b].trials;
        for (int k = 0; b + k <= s->M; k++) {
            int from = k > 0 ? s->budgets[b + k - 1] : 0;
            per_round += (int64_t)cap * (s->budgets[b + k] - from);
            cap = cap / s->eta > 0 ? cap / s->eta : 1;
        }
    }
    return per_round * s->R;
}

static int64_t halving_epochs_done(const void *self)
{
    return ((const halving *)self)->epochs;
}

static void halving_free(void *self)
{
    halving *s = self;
    if (s == NULL)
        return;
    free_brackets(s);
    free(s->brackets);
    free(s->bracket_of);
    free(s->trials);
    free(s->regions);
    free(s);
}

static const cv_scheduler_ops halving_ops = {
    .next = halving_next,
    .finished = halving_finished,
    .requeue = halving_requeue,
    .complete = halving_complete,
    .finished_count = halving_finished_count,
    .planned = halving_planned,
    .planned_epochs = halving_planned_epochs,
    .epochs_done = halving_epochs_done,
    .free = halving_free,
};

/* Resuming: the file's segments replayed in file order, each one that its
 * trial's row confirms (a segment row is appended before its trial row: a
 * kill between the two re-runs the segment), so that every decision is
 * made again as it was; then each trial gets its last row. */
static int replay(halving *s, const cv_trial_row *rows, int64_t n, const cv_segment_row *segs,
                  int64_t n_segs, cv_error *err)
{
    const cv_trial_row **last = cv_replay_rows(rows, n, s->n);
    if (last == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory resuming");
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < n_segs; i++) {
        const cv_segment_row *g = &segs[i];
        if (!cv_replay_confirmed(last, s->n, g))
            continue;
        int r = (int)(g->trial / s->T);
        if (s->round < 0 && (rc = begin_round(s, 0, err)) != 0)
            break;
        while (rc == 0 && s->round < r) {
            if (!round_complete(s)) {
                rc = cv_fail(err, CV_ERR_INPUT,
                             "the results file's /segments: trial %lld of round %d, but round "
                             "%d is not complete",
                             (long long)g->trial, r, s->round);
                break;
            }
            rc = begin_round(s, s->round + 1, err);
        }
        if (rc != 0)
            break;
        htrial *t = &s->trials[g->trial];
        if (t->rung != g->rung || (t->state != H_READY && t->state != H_RUNNING))
            continue; /* a segment of a trial decided otherwise, or recorded twice */
        s->epochs += g->epochs_done - g->from_epoch;
        t->row = *last[g->trial];
        t->has_row = true;
        rc = finish_rung(s, g->trial, g->rung, g->metric, cv_segment_row_went_through(g), err);
    }
    free(last);
    return rc;
}

int cv_halving_create(cv_scheduler *out, const cv_job *job, const cv_space *space,
                      cv_recorder *rec, const cv_trial_row *rows, int64_t n,
                      const cv_segment_row *segs, int64_t n_segs, const cv_rung_row *rungs,
                      int64_t n_rungs, int64_t rounds_in_file, cv_error *err)
{
    halving *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for the plan");
    s->job = job;
    s->space = space;
    s->rec = rec;
    s->metric = job->search.metric;
    s->T = cv_space_trials(space);
    s->R = cv_space_rounds(space);
    s->eta = job->search.reduction_factor;
    s->M = cv_job_halving_rungs(job->search.min_epochs, job->search.max_epochs, s->eta);
    s->B = job->search.brackets;
    if (s->M <= 0 || s->M >= 63 || s->B < 1 || s->B > s->M || s->T < s->eta * s->B) {
        int eta = s->eta, B = s->B, T = s->T;
        free(s);
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: search: the halving budget does not fit (min_epochs %d, max_epochs "
                       "%d, reduction_factor %d, brackets %d, trials %d)",
                       job->path, job->search.min_epochs, job->search.max_epochs, eta, B, T);
    }
    int64_t b = job->search.min_epochs;
    for (int k = 0; k < s->M; k++, b *= s->eta)
        s->budgets[k] = (int)b;
    s->budgets[s->M] = job->search.max_epochs;
    s->n = (int64_t)s->T * s->R;
    s->round = -1;
    s->rounds_in_file = rounds_in_file;
    s->known_rungs = rungs;
    s->n_known_rungs = n_rungs;
    s->trials = calloc((size_t)s->n, sizeof *s->trials);
    s->bracket_of = calloc((size_t)s->T, sizeof *s->bracket_of);
    s->brackets = calloc((size_t)s->B, sizeof *s->brackets);
    s->regions = calloc((size_t)s->R, sizeof *s->regions);
    if (s->trials == NULL || s->bracket_of == NULL || s->brackets == NULL ||
        s->regions == NULL) {
        halving_free(s);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for the plan");
    }
    deal(s);
    int rc = replay(s, rows, n, segs, n_segs, err);
    /* decisions from here on are new: none of them is in the file */
    s->known_rungs = NULL;
    s->n_known_rungs = 0;
    if (rc != 0) {
        halving_free(s);
        return rc;
    }
    *out = (cv_scheduler){.ops = &halving_ops, .self = s};
    return 0;
}
