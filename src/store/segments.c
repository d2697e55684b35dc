/* segments.c: the schedulers' tables (see caviar/store.h): /segments,
 * one row per stretch of a trial's training as it ends (a whole trial
 * under random, grid and Sobol rounds; a rung under successive halving; a
 * generation under PBT); /rungs, one row per halving decision: which trial
 * entered which rung, at what budget, promoted or stopped, and why; and
 * /lineage, one row per PBT member and generation: the trial, whose state
 * it started from, and what explore changed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define CV_SEGMENTS_CHUNK 64
#define CV_RUNGS_CHUNK 64
#define CV_LINEAGE_CHUNK 64

enum { S_TRIAL, S_ROUND, S_BRACKET, S_RUNG, S_FROM, S_TO, S_DONE, S_STATUS, S_WORKER, S_METRIC,
       S_SECONDS, S_LAST_METRIC };

static void segments_layout(cv_layout *L)
{
    memset(L, 0, sizeof *L);
    cv_layout_add(L, "trial", CV_F_I64, 0);
    cv_layout_add(L, "round", CV_F_I32, 0);
    cv_layout_add(L, "bracket", CV_F_I32, 0);
    cv_layout_add(L, "rung", CV_F_I32, 0);
    cv_layout_add(L, "from_epoch", CV_F_I32, 0);
    cv_layout_add(L, "to_epoch", CV_F_I32, 0);
    cv_layout_add(L, "epochs_done", CV_F_I32, 0);
    cv_layout_add(L, "status", CV_F_STR, CV_STATUS_LEN);
    cv_layout_add(L, "worker", CV_F_I32, 0);
    cv_layout_add(L, "metric", CV_F_F64, 0);
    cv_layout_add(L, "seconds", CV_F_F64, 0);
    L->f[cv_layout_add(L, "last_metric", CV_F_F64, 0)].optional = true;
}

static void segment_pack(void *rec, const cv_layout *L, const void *row)
{
    const cv_segment_row *r = row;
    memset(rec, 0, L->size);
    cv_rec_put_i64(rec, L, S_TRIAL, r->trial);
    cv_rec_put_i32(rec, L, S_ROUND, r->round);
    cv_rec_put_i32(rec, L, S_BRACKET, r->bracket);
    cv_rec_put_i32(rec, L, S_RUNG, r->rung);
    cv_rec_put_i32(rec, L, S_FROM, r->from_epoch);
    cv_rec_put_i32(rec, L, S_TO, r->to_epoch);
    cv_rec_put_i32(rec, L, S_DONE, r->epochs_done);
    cv_rec_put_str(rec, L, S_STATUS, cv_trial_status_name(r->status));
    cv_rec_put_i32(rec, L, S_WORKER, r->worker);
    cv_rec_put_f64(rec, L, S_METRIC, r->metric);
    cv_rec_put_f64(rec, L, S_SECONDS, r->seconds);
    cv_rec_put_f64(rec, L, S_LAST_METRIC, r->last_metric);
}

static int segment_unpack(void *row, const void *rec, const cv_layout *L, const char *path,
                          int64_t k, cv_error *err)
{
    cv_segment_row *r = row;
    char word[CV_STATUS_LEN + 1];
    memset(r, 0, sizeof *r);
    r->trial = cv_rec_get_i64(rec, L, S_TRIAL);
    r->round = cv_rec_get_i32(rec, L, S_ROUND);
    r->bracket = cv_rec_get_i32(rec, L, S_BRACKET);
    r->rung = cv_rec_get_i32(rec, L, S_RUNG);
    r->from_epoch = cv_rec_get_i32(rec, L, S_FROM);
    r->to_epoch = cv_rec_get_i32(rec, L, S_TO);
    r->epochs_done = cv_rec_get_i32(rec, L, S_DONE);
    cv_rec_get_str(rec, L, S_STATUS, word, sizeof word);
    if (cv_trial_status_lookup(word, &r->status) != 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: /segments row %lld: status '%s': expected done, diverged, failed or "
                       "interrupted",
                       path, (long long)k, word);
    r->worker = cv_rec_get_i32(rec, L, S_WORKER);
    r->metric = cv_rec_get_f64(rec, L, S_METRIC);
    r->seconds = cv_rec_get_f64(rec, L, S_SECONDS);
    r->last_metric = cv_rec_get_f64(rec, L, S_LAST_METRIC);
    if (r->trial < 0 || r->rung < 0 || r->bracket < 0 || r->from_epoch < 0 ||
        r->to_epoch < r->from_epoch)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: /segments row %lld: trial %lld, bracket %d, rung %d, epochs %d to "
                       "%d: not a segment",
                       path, (long long)k, (long long)r->trial, r->bracket, r->rung,
                       r->from_epoch, r->to_epoch);
    return 0;
}

enum { G_TRIAL, G_ROUND, G_BRACKET, G_RUNG, G_BUDGET, G_METRIC, G_PLACE, G_OF, G_GO_ON,
       G_DECISION, G_REASON };

static void rungs_layout(cv_layout *L)
{
    const cv_rung_row *r = NULL;
    memset(L, 0, sizeof *L);
    cv_layout_add(L, "trial", CV_F_I64, 0);
    cv_layout_add(L, "round", CV_F_I32, 0);
    cv_layout_add(L, "bracket", CV_F_I32, 0);
    cv_layout_add(L, "rung", CV_F_I32, 0);
    cv_layout_add(L, "budget", CV_F_I32, 0);
    cv_layout_add(L, "metric", CV_F_F64, 0);
    cv_layout_add(L, "place", CV_F_I32, 0);
    cv_layout_add(L, "of", CV_F_I32, 0);
    cv_layout_add(L, "go_on", CV_F_I32, 0);
    cv_layout_add(L, "decision", CV_F_STR, sizeof r->decision - 1);
    cv_layout_add(L, "reason", CV_F_STR, sizeof r->reason - 1);
}

static void rung_pack(void *rec, const cv_layout *L, const void *row)
{
    const cv_rung_row *r = row;
    memset(rec, 0, L->size);
    cv_rec_put_i64(rec, L, G_TRIAL, r->trial);
    cv_rec_put_i32(rec, L, G_ROUND, r->round);
    cv_rec_put_i32(rec, L, G_BRACKET, r->bracket);
    cv_rec_put_i32(rec, L, G_RUNG, r->rung);
    cv_rec_put_i32(rec, L, G_BUDGET, r->budget);
    cv_rec_put_f64(rec, L, G_METRIC, r->metric);
    cv_rec_put_i32(rec, L, G_PLACE, r->place);
    cv_rec_put_i32(rec, L, G_OF, r->of);
    cv_rec_put_i32(rec, L, G_GO_ON, r->go_on);
    cv_rec_put_str(rec, L, G_DECISION, r->decision);
    cv_rec_put_str(rec, L, G_REASON, r->reason);
}

static int rung_unpack(void *row, const void *rec, const cv_layout *L, const char *path,
                       int64_t k, cv_error *err)
{
    (void)path, (void)k, (void)err;
    cv_rung_row *r = row;
    memset(r, 0, sizeof *r);
    r->trial = cv_rec_get_i64(rec, L, G_TRIAL);
    r->round = cv_rec_get_i32(rec, L, G_ROUND);
    r->bracket = cv_rec_get_i32(rec, L, G_BRACKET);
    r->rung = cv_rec_get_i32(rec, L, G_RUNG);
    r->budget = cv_rec_get_i32(rec, L, G_BUDGET);
    r->metric = cv_rec_get_f64(rec, L, G_METRIC);
    r->place = cv_rec_get_i32(rec, L, G_PLACE);
    r->of = cv_rec_get_i32(rec, L, G_OF);
    r->go_on = cv_rec_get_i32(rec, L, G_GO_ON);
    cv_rec_get_str(rec, L, G_DECISION, r->decision, sizeof r->decision);
    cv_rec_get_str(rec, L, G_REASON, r->reason, sizeof r->reason);
    return 0;
}

enum { L_TRIAL, L_MEMBER, L_GENERATION, L_FROM, L_TO, L_PARENT, L_DECISION, L_METRIC, L_PLACE,
       L_OF, L_EXPLORE };

static void lineage_layout(cv_layout *L)
{
    const cv_lineage_row *r = NULL;
    memset(L, 0, sizeof *L);
    cv_layout_add(L, "trial", CV_F_I64, 0);
    cv_layout_add(L, "member", CV_F_I32, 0);
    cv_layout_add(L, "generation", CV_F_I32, 0);
    cv_layout_add(L, "from_epoch", CV_F_I32, 0);
    cv_layout_add(L, "to_epoch", CV_F_I32, 0);
    cv_layout_add(L, "parent", CV_F_I64, 0);
    cv_layout_add(L, "decision", CV_F_STR, sizeof r->decision - 1);
    cv_layout_add(L, "metric", CV_F_F64, 0);
    cv_layout_add(L, "place", CV_F_I32, 0);
    cv_layout_add(L, "of", CV_F_I32, 0);
    cv_layout_add(L, "explore", CV_F_STR, sizeof r->explore - 1);
}

static void lineage_pack(void *rec, const cv_layout *L, const void *row)
{
    const cv_lineage_row *r = row;
    memset(rec, 0, L->size);
    cv_rec_put_i64(rec, L, L_TRIAL, r->trial);
    cv_rec_put_i32(rec, L, L_MEMBER, r->member);
    cv_rec_put_i32(rec, L, L_GENERATION, r->generation);
    cv_rec_put_i32(rec, L, L_FROM, r->from_epoch);
    cv_rec_put_i32(rec, L, L_TO, r->to_epoch);
    cv_rec_put_i64(rec, L, L_PARENT, r->parent);
    cv_rec_put_str(rec, L, L_DECISION, r->decision);
    cv_rec_put_f64(rec, L, L_METRIC, r->metric);
    cv_rec_put_i32(rec, L, L_PLACE, r->place);
    cv_rec_put_i32(rec, L, L_OF, r->of);
    cv_rec_put_str(rec, L, L_EXPLORE, r->explore);
}

static int lineage_unpack(void *row, const void *rec, const cv_layout *L, const char *path,
                          int64_t k, cv_error *err)
{
    cv_lineage_row *r = row;
    memset(r, 0, sizeof *r);
    r->trial = cv_rec_get_i64(rec, L, L_TRIAL);
    r->member = cv_rec_get_i32(rec, L, L_MEMBER);
    r->generation = cv_rec_get_i32(rec, L, L_GENERATION);
    r->from_epoch = cv_rec_get_i32(rec, L, L_FROM);
    r->to_epoch = cv_rec_get_i32(rec, L, L_TO);
    r->parent = cv_rec_get_i64(rec, L, L_PARENT);
    cv_rec_get_str(rec, L, L_DECISION, r->decision, sizeof r->decision);
    r->metric = cv_rec_get_f64(rec, L, L_METRIC);
    r->place = cv_rec_get_i32(rec, L, L_PLACE);
    r->of = cv_rec_get_i32(rec, L, L_OF);
    cv_rec_get_str(rec, L, L_EXPLORE, r->explore, sizeof r->explore);
    if (r->trial < 0 || r->member < 0 || r->generation < 0 || r->from_epoch < 0 ||
        r->to_epoch < r->from_epoch || r->parent < -1)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: /lineage row %lld: trial %lld, member %d, generation %d, epochs %d "
                       "to %d, parent %lld: not a lineage row",
                       path, (long long)k, (long long)r->trial, r->member, r->generation,
                       r->from_epoch, r->to_epoch, (long long)r->parent);
    return 0;
}

int cv_store_create_segments(cv_store *s, cv_error *err)
{
    cv_layout L;
    int rc;
    if (s->segments < 0) {
        segments_layout(&L);
        if ((rc = cv_table_create(s, CV_SEGMENTS, &L, CV_SEGMENTS_CHUNK, &s->segments, err)) < 0)
            return rc;
    }
    if (s->rungs < 0) {
        rungs_layout(&L);
        if ((rc = cv_table_create(s, CV_RUNGS, &L, CV_RUNGS_CHUNK, &s->rungs, err)) < 0)
            return rc;
    }
    if (s->lineage < 0) {
        lineage_layout(&L);
        if ((rc = cv_table_create(s, CV_LINEAGE, &L, CV_LINEAGE_CHUNK, &s->lineage, err)) < 0)
            return rc;
    }
    return 0;
}

int cv_store_append_segments(cv_store *s, const cv_segment_row *rows, int64_t n, cv_error *err)
{
    cv_layout L;
    segments_layout(&L);
    return cv_table_append(s, s->segments, CV_SEGMENTS, &L, rows, sizeof *rows, n, segment_pack,
                           err);
}

int cv_store_append_rungs(cv_store *s, const cv_rung_row *rows, int64_t n, cv_error *err)
{
    cv_layout L;
    rungs_layout(&L);
    return cv_table_append(s, s->rungs, CV_RUNGS, &L, rows, sizeof *rows, n, rung_pack, err);
}

int cv_store_read_segments(cv_store *s, cv_segment_row **rows, int64_t *n, cv_error *err)
{
    cv_layout L;
    segments_layout(&L);
    return cv_table_read_rows(s, s->segments, CV_SEGMENTS, &L, sizeof **rows, segment_unpack,
                              (void **)rows, n, err);
}

int cv_store_read_rungs(cv_store *s, cv_rung_row **rows, int64_t *n, cv_error *err)
{
    cv_layout L;
    rungs_layout(&L);
    return cv_table_read_rows(s, s->rungs, CV_RUNGS, &L, sizeof **rows, rung_unpack,
                              (void **)rows, n, err);
}

int cv_store_append_lineage(cv_store *s, const cv_lineage_row *rows, int64_t n, cv_error *err)
{
    cv_layout L;
    lineage_layout(&L);
    return cv_table_append(s, s->lineage, CV_LINEAGE, &L, rows, sizeof *rows, n, lineage_pack,
                           err);
}

int cv_store_read_lineage(cv_store *s, cv_lineage_row **rows, int64_t *n, cv_error *err)
{
    cv_layout L;
    lineage_layout(&L);
    return cv_table_read_rows(s, s->lineage, CV_LINEAGE, &L, sizeof **rows, lineage_unpack,
                              (void **)rows, n, err);
}

int cv_lineage_schedule(const char *path, const cv_lineage_row *l, int64_t n_l, int64_t id,
                        cv_stretch **out, int *n_out, cv_error *err)
{
    *out = NULL;
    *n_out = 0;
    int64_t cur = id;
    int end = INT32_MAX; /* the stretch of cur ends at the latest here */
    for (int guard = 0; cur >= 0 && guard < 1 << 20; guard++) {
        int first = -1, last = -1;
        int64_t parent = -1;
        for (int64_t i = 0; i < n_l; i++) {
            if (l[i].trial != cur || l[i].from_epoch >= end)
                continue;
            if (first < 0 || l[i].from_epoch < first) {
                first = l[i].from_epoch;
                parent = l[i].parent == cur ? -1 : l[i].parent;
            }
            if (l[i].to_epoch > last && l[i].to_epoch <= end)
                last = l[i].to_epoch;
        }
        if (first < 0) {
            free(*out);
            *out = NULL;
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: /lineage holds no generation of trial %lld: not a trial of a "
                           "pbt study",
                           path, (long long)cur);
        }
        cv_stretch *p = realloc(*out, (size_t)(*n_out + 1) * sizeof *p);
        if (p == NULL) {
            free(*out);
            *out = NULL;
            return cv_fail(err, CV_ERR_NOMEM, "out of memory for trial %lld's schedule",
                           (long long)id);
        }
        *out = p;
        memmove(p + 1, p, (size_t)*n_out * sizeof *p);
        p[0] = (cv_stretch){.trial = cur, .from = first, .to = last};
        (*n_out)++;
        if (first == 0)
            return 0;
        if (parent < 0)
            break;
        cur = parent;
        end = first;
    }
    free(*out);
    *out = NULL;
    return cv_fail(err, CV_ERR_INPUT, "%s: /lineage: trial %lld's schedule is broken", path,
                   (long long)id);
}
