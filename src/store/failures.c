/* failures.c: /failures, one row per failed segment of a program of the
 * user's own (a study whose job names a trainer): the reason (the exit
 * status, the signal, the bad line, the timeout) and the tail of its output,
 * so that a failure can be understood from the results file alone (see
 * caviar/store.h). The table exists only in the files of such studies. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define CV_FAILURES_CHUNK 16

enum { F_TRIAL, F_ROUND, F_FROM, F_TO, F_WORKER, F_EXIT, F_SIGNAL, F_REASON, F_TAIL };

static void failures_layout(cv_layout *L)
{
    memset(L, 0, sizeof *L);
    cv_layout_add(L, "trial", CV_F_I64, 0);
    cv_layout_add(L, "round", CV_F_I32, 0);
    cv_layout_add(L, "from_epoch", CV_F_I32, 0);
    cv_layout_add(L, "to_epoch", CV_F_I32, 0);
    cv_layout_add(L, "worker", CV_F_I32, 0);
    cv_layout_add(L, "exit_status", CV_F_I32, 0);
    cv_layout_add(L, "signal", CV_F_I32, 0);
    cv_layout_add(L, "reason", CV_F_STR, CV_FAILURE_REASON_LEN);
    cv_layout_add(L, "log_tail", CV_F_STR, CV_FAILURE_TAIL_LEN);
}

static void failure_pack(void *rec, const cv_layout *L, const void *row)
{
    const cv_failure_row *r = row;
    memset(rec, 0, L->size);
    cv_rec_put_i64(rec, L, F_TRIAL, r->trial);
    cv_rec_put_i32(rec, L, F_ROUND, r->round);
    cv_rec_put_i32(rec, L, F_FROM, r->from_epoch);
    cv_rec_put_i32(rec, L, F_TO, r->to_epoch);
    cv_rec_put_i32(rec, L, F_WORKER, r->worker);
    cv_rec_put_i32(rec, L, F_EXIT, r->exit_status);
    cv_rec_put_i32(rec, L, F_SIGNAL, r->signal);
    cv_rec_put_str(rec, L, F_REASON, r->reason);
    cv_rec_put_str(rec, L, F_TAIL, r->log_tail);
}

static int failure_unpack(void *row, const void *rec, const cv_layout *L, const char *path,
                          int64_t k, cv_error *err)
{
    (void)path, (void)k, (void)err;
    cv_failure_row *r = row;
    memset(r, 0, sizeof *r);
    r->trial = cv_rec_get_i64(rec, L, F_TRIAL);
    r->round = cv_rec_get_i32(rec, L, F_ROUND);
    r->from_epoch = cv_rec_get_i32(rec, L, F_FROM);
    r->to_epoch = cv_rec_get_i32(rec, L, F_TO);
    r->worker = cv_rec_get_i32(rec, L, F_WORKER);
    r->exit_status = cv_rec_get_i32(rec, L, F_EXIT);
    r->signal = cv_rec_get_i32(rec, L, F_SIGNAL);
    cv_rec_get_str(rec, L, F_REASON, r->reason, sizeof r->reason);
    cv_rec_get_str(rec, L, F_TAIL, r->log_tail, sizeof r->log_tail);
    return 0;
}

int cv_store_create_failures(cv_store *s, cv_error *err)
{
    cv_layout L;
    if (s->failures >= 0)
        return 0;
    failures_layout(&L);
    return cv_table_create(s, CV_FAILURES, &L, CV_FAILURES_CHUNK, &s->failures, err);
}

int cv_store_append_failures(cv_store *s, const cv_failure_row *rows, int64_t n, cv_error *err)
{
    cv_layout L;
    if (s->failures < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: no table /failures to append to", s->path);
    failures_layout(&L);
    return cv_table_append(s, s->failures, CV_FAILURES, &L, rows, sizeof *rows, n, failure_pack,
                           err);
}

int cv_store_read_failures(cv_store *s, cv_failure_row **rows, int64_t *n, cv_error *err)
{
    cv_layout L;
    *rows = NULL;
    *n = 0;
    if (s->failures < 0)
        return 0;
    failures_layout(&L);
    return cv_table_read_rows(s, s->failures, CV_FAILURES, &L, sizeof **rows, failure_unpack,
                              (void **)rows, n, err);
}
