/* study.c: a results file loaded for analysis (cv_study), and the ranking
 * every part of the report shares (see caviar/report.h).
 *
 * A file being written, or left by an interrupted run, can hold several rows
 * of one trial (its interrupted attempt, then its re-run): the study keeps
 * one per trial, as the runner's final table does, so that the report reads
 * the same during and after a run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caviar/report.h"

/* ---- metric and ranking ------------------------------------------------------ */

double cv_study_metric(const cv_study *st, const cv_trial_row *row)
{
    return cv_trial_row_metric(row, st->metric);
}

double cv_report_near_threshold(cv_metric metric, double best)
{
    return metric == CV_METRIC_DEV_LOSS ? best + CV_REPORT_NEAR * fabs(best)
                                        : best - CV_REPORT_NEAR * fabs(best);
}

/* qsort has no context argument: each key carries the study's metric. */
typedef struct rank_key {
    const cv_trial_row *row;
    int64_t index;
    cv_metric metric;
} rank_key;

/* The one ranking of trials (cv_trial_row_ranks_before), then file order. */
static int compare_rank(const void *pa, const void *pb)
{
    const rank_key *a = pa, *b = pb;
    if (cv_trial_row_ranks_before(a->row, b->row, a->metric))
        return -1;
    if (cv_trial_row_ranks_before(b->row, a->row, a->metric))
        return 1;
    return (a->index > b->index) - (a->index < b->index);
}

int64_t cv_study_rank(const cv_study *st, int64_t *order)
{
    int64_t n = st->n_rows, ranked = 0;
    if (n == 0)
        return 0;
    rank_key *keys = malloc((size_t)n * sizeof *keys);
    if (keys == NULL) { /* file order: still every row, ranked or not */
        for (int64_t i = 0; i < n; i++)
            order[i] = i;
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        keys[i] = (rank_key){&st->rows[i], i, st->metric};
        ranked += isfinite(cv_study_metric(st, &st->rows[i]));
    }
    qsort(keys, (size_t)n, sizeof *keys, compare_rank);
    for (int64_t i = 0; i < n; i++)
        order[i] = keys[i].index;
    free(keys);
    return ranked;
}

void cv_report_count(const cv_study *st, cv_report_counts *c)
{
    memset(c, 0, sizeof *c);
    int64_t in_study = 0;
    for (int64_t i = 0; i < st->n_rows; i++) {
        const cv_trial_row *r = &st->rows[i];
        switch (r->status) {
        case CV_TRIAL_DONE: c->done++; break;
        case CV_TRIAL_DIVERGED: c->diverged++; break;
        case CV_TRIAL_FAILED: c->failed++; break;
        case CV_TRIAL_INTERRUPTED: c->interrupted++; break;
        }
        in_study += r->parent < 0 && r->trial >= 0 && r->trial < st->planned;
    }
    c->pending = st->planned > in_study ? st->planned - in_study : 0;
}

/* ---- loading --------------------------------------------------------------- */

int cv_study_load(cv_study *st, cv_store *s, bool with_curves, cv_error *err)
{
    int rc = 0;
    memset(st, 0, sizeof *st);
    if ((st->path = strdup(cv_store_path(s))) == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", cv_store_path(s));
        goto error;
    }
    st->live = cv_store_writer_active(st->path);
    struct stat sb;
    st->modified = stat(st->path, &sb) == 0 ? (double)sb.st_mtime : NAN;
    if ((rc = cv_job_parse(&st->job, cv_store_job_path(s), cv_store_job_text(s), strlen(cv_store_job_text(s)), err)) != 0)
        goto error;
    if ((rc = cv_space_create(&st->space, &st->job, err)) != 0)
        goto error;
    st->metric = st->job.search.metric;
    st->trials_per_round = cv_space_trials(st->space);
    st->rounds = cv_space_rounds(st->space);
    if ((rc = cv_store_read_trials(s, &st->rows, &st->n_rows, err)) != 0 ||
        (rc = cv_store_read_rounds(s, &st->round_rows, &st->n_rounds, err)) != 0 ||
        (rc = cv_store_read_times(s, &st->times, err)) != 0 ||
        (rc = cv_store_read_runs(s, &st->runs, &st->n_runs, err)) != 0 ||
        (rc = cv_store_read_lineage(s, &st->lineage, &st->n_lineage, err)) != 0 ||
        (rc = cv_store_read_failures(s, &st->failures, &st->n_failures, err)) != 0)
        goto error;
    if (with_curves && (rc = cv_store_read_curves(s, &st->curves, &st->n_curves, err)) != 0)
        goto error;
    int64_t n = cv_trial_rows_fold(st->rows, st->n_rows);
    if (n < 0) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %lld trials", st->path,
                     (long long)st->n_rows);
        goto error;
    }
    st->n_rows = n;
    /* A study writes its rounds as they begin; a file without any is a
     * `caviar train -o` run, whose plan is what it holds. */
    if (st->n_rounds > 0) {
        st->planned = (int64_t)st->trials_per_round * st->rounds;
    } else {
        for (int64_t i = 0; i < st->n_rows; i++)
            st->planned += st->rows[i].parent < 0;
    }
    return 0;

error:
    cv_study_free(st);
    return rc;
}

void cv_study_free(cv_study *st)
{
    if (st == NULL)
        return;
    free(st->path);
    cv_job_free(&st->job);
    cv_space_free(st->space);
    free(st->rows);
    free(st->curves);
    free(st->round_rows);
    free(st->runs);
    free(st->lineage);
    free(st->failures);
    memset(st, 0, sizeof *st);
}
