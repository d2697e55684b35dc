/* schedule.c: what the schedulers share (see run_int.h): a round's
 * region as its /rounds row, a continuing segment's prior (its trial's
 * best so far), and the rows a resume replays segments against. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "run_int.h"

int cv_round_record(const cv_space *space, cv_recorder *rec, const cv_region *region, int r,
                    int64_t *rounds_in_file, cv_error *err)
{
    if (r < *rounds_in_file)
        return 0;
    int dims = cv_space_dims(space);
    cv_round_param *ps = calloc((size_t)(dims ? dims : 1), sizeof *ps);
    char(*texts)[512] = calloc((size_t)(dims ? dims : 1), sizeof *texts);
    if (ps == NULL || texts == NULL) {
        free(ps), free(texts);
        return cv_fail(err, CV_ERR_NOMEM, "runner: out of memory for round %d", r);
    }
    for (int d = 0; d < dims; d++) {
        const cv_space_dim *dim = cv_space_dim_get(space, d);
        ps[d].name = cv_param_get_info(dim->param)->name;
        int kind = cv_space_region_bounds(space, region, dim->param, &ps[d].lo, &ps[d].hi);
        if (kind == 1) {
            double vals[CV_SPACE_MAX_VALUES];
            int nv = cv_space_region_values(space, region, dim->param, vals,
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
    int rc = cv_recorder_round(rec, r, ps, dims, err);
    free(ps), free(texts);
    if (rc == 0)
        *rounds_in_file = r + 1;
    return rc;
}

void cv_segment_continue(cv_segment *seg, const cv_trial_row *row)
{
    seg->prior.best_epoch = row->best_epoch - 1;
    seg->prior.dev_accuracy = row->dev_accuracy;
    seg->prior.dev_loss = row->dev_loss;
    seg->prior.train_accuracy = row->train_accuracy;
    seg->prior.train_loss = row->train_loss;
    seg->prior_seconds = row->seconds;
}

bool cv_replay_confirmed(const cv_trial_row *const *last, int64_t trials,
                         const cv_segment_row *g)
{
    return g->status != CV_TRIAL_INTERRUPTED && g->trial >= 0 && g->trial < trials &&
           last[g->trial] != NULL && last[g->trial]->rung >= g->rung;
}

bool cv_segment_row_went_through(const cv_segment_row *g)
{
    return g->status == CV_TRIAL_DONE && g->epochs_done >= g->to_epoch;
}

const cv_trial_row **cv_replay_rows(const cv_trial_row *rows, int64_t n, int64_t trials)
{
    const cv_trial_row **last = calloc((size_t)(trials > 0 ? trials : 1), sizeof *last);
    for (int64_t i = 0; last != NULL && i < n; i++)
        if (rows[i].parent < 0 && rows[i].trial >= 0 && rows[i].trial < trials &&
            rows[i].status != CV_TRIAL_INTERRUPTED)
            last[rows[i].trial] = &rows[i];
    return last;
}
