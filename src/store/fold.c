/* fold.c: a results table as its readers want it: one row per trial (or per
 * trial and epoch), whatever interruptions and re-runs appended. Rows are
 * appended as trials end, so a trial interrupted and re-run by `caviar
 * resume` has several rows; these functions fold them (see caviar/store.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/store.h"

/* Orders rows by a key, then by position in the file (a stable sort). */
typedef struct row_key {
    int64_t key, pos;
} row_key;

static int compare_keys(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Sorted keys of n rows, or NULL without memory. */
static row_key *sorted_keys(int64_t n, int64_t (*key)(const void *rows, int64_t i),
                            const void *rows)
{
    row_key *keys = malloc((size_t)(n > 0 ? n : 1) * sizeof *keys);
    if (keys == NULL)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        keys[i] = (row_key){key(rows, i), i};
    qsort(keys, (size_t)n, sizeof *keys, compare_keys);
    return keys;
}

static int64_t trial_key(const void *rows, int64_t i)
{
    return ((const cv_trial_row *)rows)[i].trial;
}

/* (trial, epoch) in one int64: epochs stay below 2^24 */
static int64_t curve_key(const void *rows, int64_t i)
{
    const cv_curve_row *r = (const cv_curve_row *)rows + i;
    return r->trial * ((int64_t)1 << 24) + r->epoch;
}

int64_t cv_trial_rows_fold(cv_trial_row *rows, int64_t n)
{
    if (n <= 0) /* nothing to fold (rows may be NULL) */
        return 0;
    row_key *keys = sorted_keys(n, trial_key, rows);
    cv_trial_row *copy = malloc((size_t)(n > 0 ? n : 1) * sizeof *copy);
    if (keys == NULL || copy == NULL) {
        free(keys), free(copy);
        return -1;
    }
    memcpy(copy, rows, (size_t)n * sizeof *rows);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        const cv_trial_row *r = &copy[keys[i].pos];
        if (k > 0 && rows[k - 1].trial == r->trial) {
            if (r->status != CV_TRIAL_INTERRUPTED || rows[k - 1].status == CV_TRIAL_INTERRUPTED)
                rows[k - 1] = *r;
        } else {
            rows[k++] = *r;
        }
    }
    free(keys), free(copy);
    return k;
}

double cv_trial_row_metric(const cv_trial_row *row, cv_metric metric)
{
    return cv_trial_metric(metric, row->status, row->dev_accuracy, row->dev_loss);
}

bool cv_trial_row_ranks_before(const cv_trial_row *a, const cv_trial_row *b, cv_metric metric)
{
    double x = cv_trial_row_metric(a, metric), y = cv_trial_row_metric(b, metric);
    if (cv_metric_better(metric, x, y))
        return true;
    if (cv_metric_better(metric, y, x))
        return false;
    return a->trial < b->trial;
}

const cv_trial_row *cv_trial_rows_find(const cv_trial_row *rows, int64_t n, int64_t id)
{
    for (int64_t i = 0; i < n; i++)
        if (rows[i].trial == id && rows[i].parent < 0)
            return &rows[i];
    return NULL;
}

const cv_trial_row *cv_trial_rows_best_trained(const cv_trial_row *rows, int64_t n, int epochs,
                                               cv_metric metric)
{
    const cv_trial_row *best = NULL;
    for (int64_t i = 0; i < n; i++) {
        const cv_trial_row *r = &rows[i];
        if (r->parent < 0 && r->epochs_done >= epochs &&
            isfinite(cv_trial_row_metric(r, metric)) &&
            (best == NULL || cv_trial_row_ranks_before(r, best, metric)))
            best = r;
    }
    return best;
}

int64_t cv_curve_rows_fold(cv_curve_row *rows, int64_t n)
{
    if (n <= 0) /* nothing to fold (rows may be NULL) */
        return 0;
    row_key *keys = sorted_keys(n, curve_key, rows);
    cv_curve_row *copy = malloc((size_t)(n > 0 ? n : 1) * sizeof *copy);
    if (keys == NULL || copy == NULL) {
        free(keys), free(copy);
        return -1;
    }
    memcpy(copy, rows, (size_t)n * sizeof *rows);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (k > 0 && keys[i].key == keys[i - 1].key)
            rows[k - 1] = copy[keys[i].pos];
        else
            rows[k++] = copy[keys[i].pos];
    }
    free(keys), free(copy);
    return k;
}
