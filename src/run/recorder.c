/* recorder.c: what comes back from training, written through the store
 * (see run_int.h). One recorder serves `caviar run`, `caviar resume`,
 * `caviar train -o` and `caviar train --from`.
 *
 * Rows are buffered and appended in batches, at most CV_FLUSH_SECONDS after
 * they arrive: often enough for a live reader, seldom enough that a master
 * receiving thousands of results a second appends them in batches. Curve
 * rows always go before the trial rows of the same flush, so that a reader
 * never sees a trial without its curve. A finished trial's checkpoint is
 * written (a side file) only when it ranks among the best `keep` so far. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run_int.h"

/* Buffered rows reach the file at most this long after they arrive. */
#define CV_FLUSH_SECONDS 0.02

struct cv_recorder {
    cv_store *store;
    cv_metric metric;
    int keep;

    cv_curve_row *curves; /* appended at the next flush */
    int64_t n_curves, cap_curves;
    cv_trial_row *rows; /* appended at the next flush */
    int64_t n_rows, cap_rows;
    cv_segment_row *segs; /* appended at the next flush, before the rows */
    int64_t n_segs, cap_segs;
    cv_rung_row *rungs;   /* appended at the next flush, after the rows */
    int64_t n_rungs, cap_rungs;
    cv_lineage_row *lineage; /* appended at the next flush, after the rows */
    int64_t n_lineage, cap_lineage;
    double last_flush;

    cv_trial_row *ranked; /* every finished row, for checkpoints and the best */
    int64_t n_ranked, cap_ranked;
    int64_t best;         /* index into ranked of the best so far, -1 */

    float *state;         /* a live network's state, copied for its checkpoint */
    size_t n_state;
    const char *program_root; /* a program's study: where its checkpoint directories are */
};

/* Appends row (size bytes) to a growable array. */
static int grow_push(void **items, int64_t *n, int64_t *cap, size_t size, const void *item,
                     cv_error *err)
{
    if (*n == *cap) {
        int64_t c = *cap ? 2 * *cap : 64;
        void *p = realloc(*items, (size_t)c * size);
        if (p == NULL)
            return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for %lld rows",
                           (long long)c);
        *items = p, *cap = c;
    }
    memcpy((char *)*items + (size_t)*n * size, item, size);
    (*n)++;
    return 0;
}

/* A finished row joins the ranking; a trial continued past a rung (its
 * later rows are never worse) replaces its earlier row. */
static int rank_row(cv_recorder *r, const cv_trial_row *row, cv_error *err)
{
    for (int64_t i = 0; row->rung > 0 && i < r->n_ranked; i++) {
        if (r->ranked[i].trial != row->trial)
            continue;
        r->ranked[i] = *row;
        if (isfinite(cv_trial_row_metric(row, r->metric)) &&
            (r->best < 0 || cv_trial_row_ranks_before(row, &r->ranked[r->best], r->metric)))
            r->best = i;
        return 0;
    }
    int rc = grow_push((void **)&r->ranked, &r->n_ranked, &r->cap_ranked, sizeof *row, row, err);
    if (rc != 0)
        return rc;
    int64_t i = r->n_ranked - 1;
    if (isfinite(cv_trial_row_metric(row, r->metric)) &&
        (r->best < 0 || cv_trial_row_ranks_before(row, &r->ranked[r->best], r->metric)))
        r->best = i;
    return 0;
}

int cv_recorder_create(cv_recorder **out, cv_store *store, cv_metric metric, int keep,
                       const cv_trial_row *known, int64_t n_known, cv_error *err)
{
    cv_recorder *r = calloc(1, sizeof *r);
    if (r == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory");
    r->store = store;
    r->metric = metric;
    r->keep = keep;
    r->best = -1;
    r->last_flush = cv_now();
    for (int64_t i = 0; i < n_known; i++) {
        if (known[i].status == CV_TRIAL_INTERRUPTED)
            continue;
        int rc = rank_row(r, &known[i], err);
        if (rc != 0) {
            cv_recorder_free(r);
            return rc;
        }
    }
    *out = r;
    return 0;
}

void cv_recorder_free(cv_recorder *r)
{
    if (r == NULL)
        return;
    free(r->curves);
    free(r->rows);
    free(r->segs);
    free(r->rungs);
    free(r->lineage);
    free(r->ranked);
    free(r->state);
    free(r);
}

const cv_trial_row *cv_recorder_best(const cv_recorder *r)
{
    return r->best >= 0 ? &r->ranked[r->best] : NULL;
}

int cv_recorder_curve(cv_recorder *r, int64_t trial, const cv_epoch_stats *e, cv_error *err)
{
    cv_curve_row row;
    cv_curve_row_fill(&row, trial, e);
    return grow_push((void **)&r->curves, &r->n_curves, &r->cap_curves, sizeof row, &row, err);
}

int cv_recorder_flush(cv_recorder *r, cv_error *err)
{
    int rc = 0;
    r->last_flush = cv_now();
    if (r->n_curves > 0 && (rc = cv_store_append_curves(r->store, r->curves, r->n_curves, err)))
        return rc;
    r->n_curves = 0;
    /* a segment's row before its trial's: a resume counts a segment only
     * once its trial's row confirms it */
    if (r->n_segs > 0 && (rc = cv_store_append_segments(r->store, r->segs, r->n_segs, err)))
        return rc;
    r->n_segs = 0;
    if (r->n_rows > 0 && (rc = cv_store_append_trials(r->store, r->rows, r->n_rows, err)))
        return rc;
    r->n_rows = 0;
    if (r->n_rungs > 0 && (rc = cv_store_append_rungs(r->store, r->rungs, r->n_rungs, err)))
        return rc;
    r->n_rungs = 0;
    if (r->n_lineage > 0 &&
        (rc = cv_store_append_lineage(r->store, r->lineage, r->n_lineage, err)))
        return rc;
    r->n_lineage = 0;
    return 0;
}

int cv_recorder_segment(cv_recorder *r, const cv_segment_row *row, cv_error *err)
{
    return grow_push((void **)&r->segs, &r->n_segs, &r->cap_segs, sizeof *row, row, err);
}

int cv_recorder_rung(cv_recorder *r, const cv_rung_row *row, cv_error *err)
{
    return grow_push((void **)&r->rungs, &r->n_rungs, &r->cap_rungs, sizeof *row, row, err);
}

int cv_recorder_lineage(cv_recorder *r, const cv_lineage_row *row, cv_error *err)
{
    return grow_push((void **)&r->lineage, &r->n_lineage, &r->cap_lineage, sizeof *row, row,
                     err);
}

int cv_recorder_save_state(cv_recorder *r, int64_t trial, int epochs, const float *state,
                           int64_t n, cv_error *err)
{
    return cv_store_save_state(r->store, trial, epochs, state, n, err);
}

int cv_recorder_load_state(cv_recorder *r, int64_t trial, int epochs, float **state,
                           int64_t *n, cv_error *err)
{
    return cv_store_load_state(r->store, trial, epochs, state, n, err);
}

int cv_recorder_copy_state(cv_recorder *r, int64_t from, int64_t to, int epochs, cv_error *err)
{
    if (r->program_root != NULL) /* the program's own state: its directory */
        return cv_program_copy_checkpoint(r->program_root, from, to, err);
    float *state = NULL;
    int64_t n = 0;
    int rc = cv_store_load_state(r->store, from, epochs, &state, &n, err);
    if (rc == 0)
        rc = cv_store_save_state(r->store, to, epochs, state, n, err);
    free(state);
    return rc;
}

void cv_recorder_drop_state(cv_recorder *r, int64_t trial)
{
    cv_store_drop_state(r->store, trial);
}

int cv_recorder_flush_due(cv_recorder *r, cv_error *err)
{
    if (r->n_rows + r->n_curves + r->n_segs + r->n_rungs + r->n_lineage == 0 ||
        cv_now() - r->last_flush < CV_FLUSH_SECONDS)
        return 0;
    return cv_recorder_flush(r, err);
}

int cv_recorder_round(cv_recorder *r, int round, const cv_round_param *params, int n,
                      cv_error *err)
{
    int rc = cv_recorder_flush(r, err);
    return rc != 0 ? rc : cv_store_append_round(r->store, round, params, n, err);
}

/* Whether row would be among the best `keep` finished trials. */
static bool worth_a_checkpoint(const cv_recorder *r, const cv_trial_row *row)
{
    if (r->keep == CV_CHECKPOINTS_ALL)
        return true;
    if (r->keep <= 0 || !isfinite(cv_trial_row_metric(row, r->metric)))
        return false;
    int64_t better = 0;
    for (int64_t i = 0; i < r->n_ranked && better < r->keep; i++) {
        const cv_trial_row *o = &r->ranked[i];
        if (o->trial != row->trial && cv_trial_row_ranks_before(o, row, r->metric))
            better++;
    }
    return better < r->keep;
}

int cv_recorder_checkpoint(cv_recorder *r, const cv_nn *net, const cv_checkpoint_info *info,
                           cv_error *err)
{
    size_t n = cv_nn_state_size(net);
    if (n > r->n_state) {
        float *p = realloc(r->state, n * sizeof *p);
        if (p == NULL)
            return cv_fail(err, CV_ERR_NOMEM, "trial %lld: out of memory for its checkpoint",
                           (long long)info->trial);
        r->state = p, r->n_state = n;
    }
    cv_nn_state_save(net, r->state);
    cv_nn_state st = {.config = *cv_nn_config(net),
                      .inputs = cv_nn_inputs(net),
                      .classes = cv_nn_classes(net),
                      .data = r->state};
    return cv_store_save_checkpoint(r->store, &st, info, err);
}

/* The checkpoint of a finished row from a worker's state, as it came. */
static int save_state(cv_recorder *r, const cv_trial_row *row, const float *state,
                      int64_t n_state, int inputs, int classes, cv_error *err)
{
    size_t want = cv_nn_state_floats(&row->config, inputs, classes);
    if ((size_t)n_state != want)
        return cv_fail(err, CV_ERR_RUNTIME, "runner: trial %lld: state of %lld floats, expected %zu",
                       (long long)row->trial, (long long)n_state, want);
    cv_nn_state st = {.config = row->config, .inputs = inputs, .classes = classes, .data = state};
    cv_checkpoint_info info = {.trial = row->trial,
                               .seed = row->seed,
                               .epochs = row->best_epoch,
                               .dev_accuracy = row->dev_accuracy,
                               .dev_loss = row->dev_loss};
    return cv_store_save_checkpoint(r->store, &st, &info, err);
}

int cv_recorder_trial(cv_recorder *r, const cv_trial_row *row, const float *state,
                      int64_t n_state, int inputs, int classes, cv_error *err)
{
    int rc = grow_push((void **)&r->rows, &r->n_rows, &r->cap_rows, sizeof *row, row, err);
    if (rc != 0 || row->status == CV_TRIAL_INTERRUPTED)
        return rc;
    if ((rc = rank_row(r, row, err)) != 0)
        return rc;
    if (state != NULL && row->best_epoch > 0 && worth_a_checkpoint(r, row))
        rc = save_state(r, row, state, n_state, inputs, classes, err);
    return rc;
}

/* ---- training's figures as rows ---------------------------------------------- */

void cv_trial_row_fill(cv_trial_row *row, const cv_config *cfg, const cv_trial_result *res,
                       int first_epoch)
{
    row->status = res->status;
    row->config = *cfg;
    row->dev_accuracy = res->dev_accuracy;
    row->dev_loss = res->dev_loss;
    row->train_accuracy = res->train_accuracy;
    row->train_loss = res->train_loss;
    row->test_accuracy = NAN;
    /* res->best_epoch is 0-based and already counts first_epoch */
    row->best_epoch = res->best_epoch >= 0 ? res->best_epoch + 1 : 0;
    row->epochs_done = first_epoch + res->epochs_done;
    row->budget = cfg->epochs; /* successive halving's segments say otherwise */
    row->seconds = res->seconds;
    row->samples_per_second = res->samples_per_second;
}

void cv_curve_row_fill(cv_curve_row *row, int64_t trial, const cv_epoch_stats *e)
{
    *row = (cv_curve_row){.trial = trial,
                          .epoch = e->epoch + 1,
                          .train_loss = e->train_loss,
                          .train_accuracy = e->train_accuracy,
                          .dev_loss = e->dev_loss,
                          .dev_accuracy = e->dev_accuracy,
                          .learning_rate = e->learning_rate,
                          .seconds = e->seconds};
}

/* ---- the end ------------------------------------------------------------ */

/* Scores the kept checkpoints on the test set once, into their rows. */
static int score_test_set(cv_recorder *r, const cv_dataset *test, cv_trial_row *rows, int64_t n,
                          cv_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        cv_checkpoint_info info;
        cv_error miss = {0};
        if (cv_store_checkpoint_info(r->store, rows[i].trial, &info, &miss) != 0)
            continue; /* no checkpoint kept for this trial */
        cv_nn *net = cv_nn_create(&info.config, info.inputs, info.classes,
                                  cv_train_max_batch(&info.config), err);
        if (net == NULL)
            return err->code;
        int rc = cv_store_load_checkpoint(r->store, rows[i].trial, net, err);
        if (rc == 0) {
            int64_t correct = 0;
            cv_nn_evaluate(net, test->X, test->y, test->n, NULL, &correct, NULL);
            rows[i].test_accuracy = (double)correct / (double)test->n;
        }
        cv_nn_free(net);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int cv_recorder_end_study(cv_recorder *r, bool complete, const cv_dataset *test,
                          double wall_seconds, int workers, cv_error *err)
{
    int rc = cv_recorder_flush(r, err);
    if (rc == 0)
        rc = cv_store_gather_checkpoints(r->store, r->keep, r->metric, err);
    if (rc != 0)
        return rc;
    if (complete) /* no trial goes on any more */
        cv_store_drop_states(r->store);
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    if ((rc = cv_store_read_trials(r->store, &rows, &n, err)) != 0)
        return rc;
    int64_t folded = cv_trial_rows_fold(rows, n);
    if (folded < 0) {
        free(rows);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for the final table");
    }
    n = folded;
    if (complete && test->n > 0 && (rc = score_test_set(r, test, rows, n, err)) != 0) {
        free(rows);
        return rc;
    }
    rc = cv_store_rewrite_trials(r->store, rows, n, err);
    free(rows);
    if (rc != 0)
        return rc;
    cv_curve_row *curves = NULL;
    int64_t nc = 0;
    if ((rc = cv_store_read_curves(r->store, &curves, &nc, err)) != 0)
        return rc;
    int64_t kept = cv_curve_rows_fold(curves, nc);
    if (kept >= 0 && kept < nc) /* rewritten only where a re-run repeated epochs */
        rc = cv_store_rewrite_curves(r->store, curves, kept, err);
    free(curves);
    /* this run's wall time, for the report's worker utilization */
    if (rc == 0)
        rc = cv_store_add_run_time(r->store, wall_seconds, workers, err);
    return rc;
}

int cv_recorder_end_trial(cv_recorder *r, const cv_trial_row *row, cv_error *err)
{
    int rc = cv_recorder_flush(r, err);
    if (rc == 0)
        rc = cv_store_append_trial(r->store, row, err);
    if (rc == 0)
        rc = cv_store_gather_checkpoints(r->store, r->keep, r->metric, err);
    return rc;
}

/* ---- a program's studies -------------------------------------------------------- */

int cv_recorder_failure(cv_recorder *r, const cv_failure_row *row, cv_error *err)
{
    return cv_store_append_failures(r->store, row, 1, err);
}

int cv_recorder_kept(const cv_recorder *r, int64_t **trials, int64_t *n, cv_error *err)
{
    *trials = NULL;
    *n = 0;
    if (r->n_ranked == 0)
        return 0;
    int64_t *t = malloc((size_t)r->n_ranked * sizeof *t);
    if (t == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory");
    for (int64_t i = 0; i < r->n_ranked; i++)
        if (worth_a_checkpoint(r, &r->ranked[i]))
            t[(*n)++] = r->ranked[i].trial;
    *trials = t;
    return 0;
}

void cv_recorder_set_program(cv_recorder *r, const char *root)
{
    r->program_root = root;
}
