/* test_halving.c: successive halving's decisions do not depend on the
 * order results come in. The scheduler (src/run/halving.c) is driven as
 * the runner drives it, without training: a pool of W "workers" holds the
 * segments handed out, and a seeded generator picks which one finishes
 * next, with a figure that depends only on (trial, rung). Every worker
 * count and completion order must give the same promotions and stops (the
 * /rungs rows), the same final rung of every trial, and the budget's
 * limits; a scheduler rebuilt mid-study from what the file holds (a
 * resume) must go on to the same end. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/run/run_int.h"
#include "testutil.h"

#define OK(call)                                                                                \
    do {                                                                                        \
        cv_error err_ = {0};                                                                    \
        int rc_ = (call);                                                                       \
        if (rc_ != 0)                                                                           \
            fail_msg("%s: %d: %s", #call, rc_, err_.msg);                                       \
    } while (0)

/* A study: the job, its space, a store and a recorder, and the scheduler. */
typedef struct study {
    cv_job job;
    cv_space *space;
    cv_store *store;
    cv_recorder *rec;
    cv_scheduler sched;
    int64_t *rung_of; /* (planned) the last rung each trial finished */
    cv_segment_row *segs;
    int64_t n_segs;
    cv_trial_row *rows;
    int64_t n_rows;
} study;

static const char *job_text(const char *method)
{
    static char text[1024];
    snprintf(text, sizeof text,
             "name: h\n"
             "search: {method: %s, trials: 40, rounds: 2, keep: 0.25, seed: 3,\n"
             "         min_epochs: 1, max_epochs: 27, reduction_factor: 3}\n"
             "parameters:\n"
             "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}\n"
             "  hidden_units: {values: [8, 16, 32]}\n",
             method);
    return text;
}

static void study_open(study *st, const char *method, const char *file,
                       const cv_trial_row *rows, int64_t n_rows, const cv_segment_row *segs,
                       int64_t n_segs, const cv_rung_row *rungs, int64_t n_rungs,
                       int64_t rounds_in_file)
{
    memset(st, 0, sizeof *st);
    cv_error err = {0};
    const char *text = job_text(method);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_dir(), file);
    if (cv_job_parse(&st->job, "job.yaml", text, strlen(text), &err) != 0 ||
        cv_space_create(&st->space, &st->job, &err) != 0 ||
        cv_store_create(&st->store, path, &st->job, 1, true, &err) != 0 ||
        cv_store_start_swmr(st->store, &err) != 0 ||
        cv_recorder_create(&st->rec, st->store, st->job.search.metric, 0, NULL, 0, &err) != 0 ||
        cv_halving_create(&st->sched, &st->job, st->space, st->rec, rows, n_rows, segs, n_segs,
                          rungs, n_rungs, rounds_in_file, &err) != 0)
        fail_msg("setting up %s: %s", method, err.msg);
    int64_t planned = st->sched.ops->planned(st->sched.self);
    st->rung_of = malloc((size_t)planned * sizeof *st->rung_of);
    for (int64_t i = 0; i < planned; i++)
        st->rung_of[i] = -1;
    for (int64_t i = 0; i < n_rows; i++)
        st->rung_of[rows[i].trial] = rows[i].rung;
}

static void study_close(study *st)
{
    cv_error err = {0};
    st->sched.ops->free(st->sched.self);
    cv_recorder_free(st->rec);
    cv_store_close(st->store, &err);
    cv_space_free(st->space);
    cv_job_free(&st->job);
    free(st->rung_of);
    free(st->segs);
    free(st->rows);
}

/* A figure for trial at rung: fixed by (trial, rung) alone, improving with
 * the rung; trial % 13 == 5 diverges at its first rung. */
static cv_trial_row result(const cv_segment *seg)
{
    uint64_t h = cv_hash_key(seg->trial, 77, 0, 0);
    double base = 0.5 + 0.4 * (double)(h % 10007) / 10007.0;
    cv_trial_row row = {.trial = seg->trial,
                        .round = seg->round,
                        .status = CV_TRIAL_DONE,
                        .seed = seg->seed,
                        .parent = -1,
                        .config = seg->config,
                        .dev_accuracy = base + 0.01 * seg->rung,
                        .dev_loss = 1.0 - base,
                        .best_epoch = seg->to_epoch,
                        .epochs_done = seg->to_epoch,
                        .rung = seg->rung,
                        .budget = seg->to_epoch};
    if (seg->trial % 13 == 5) {
        row.status = CV_TRIAL_DIVERGED;
        row.epochs_done = seg->from_epoch;
    }
    return row;
}

/* Runs st with W workers, finishing segments in an order drawn from seed,
 * until the plan is complete or `stop_after` segments have finished (-1:
 * no stop). Rows and segment rows are kept as the file would hold them. */
static void drive(study *st, int W, uint64_t seed, int64_t stop_after)
{
    cv_rng rng;
    cv_rng_seed(&rng, seed);
    cv_segment pool[16];
    int n = 0;
    int64_t finished = 0;
    for (;;) {
        cv_error err = {0};
        while (n < W) {
            int rc = st->sched.ops->next(st->sched.self, &pool[n], &err);
            CHECK(rc >= 0, "next: %s", err.msg);
            if (rc == 0)
                break;
            n++;
        }
        if (n == 0 || finished == stop_after)
            break;
        int k = (int)(cv_rng_next(&rng) % (uint64_t)n);
        cv_segment seg = pool[k];
        pool[k] = pool[--n];
        cv_trial_row row = result(&seg);
        CHECK(seg.to_epoch > seg.from_epoch, "trial %lld: epochs %d to %d",
              (long long)seg.trial, seg.from_epoch, seg.to_epoch);
        CHECK(st->rung_of[seg.trial] == seg.rung - 1 ||
                  (st->rung_of[seg.trial] == -1 && seg.from_epoch == 0),
              "trial %lld went to rung %d from rung %lld", (long long)seg.trial, seg.rung,
              (long long)st->rung_of[seg.trial]);
        st->rung_of[seg.trial] = seg.rung;
        st->segs = realloc(st->segs, (size_t)(st->n_segs + 1) * sizeof *st->segs);
        st->segs[st->n_segs++] = (cv_segment_row){.trial = seg.trial,
                                                  .round = seg.round,
                                                  .bracket = seg.bracket,
                                                  .rung = seg.rung,
                                                  .from_epoch = seg.from_epoch,
                                                  .to_epoch = seg.to_epoch,
                                                  .epochs_done = row.epochs_done,
                                                  .status = row.status,
                                                  .metric = cv_trial_row_metric(
                                                      &row, CV_METRIC_DEV_ACCURACY)};
        st->rows = realloc(st->rows, (size_t)(st->n_rows + 1) * sizeof *st->rows);
        st->rows[st->n_rows++] = row;
        CHECK(st->sched.ops->finished(st->sched.self, &row, NULL, &err) == 0, "finished: %s", err.msg);
        finished++;
    }
    cv_error err = {0};
    CHECK(cv_recorder_flush(st->rec, &err) == 0, "flush: %s", err.msg);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The decisions of one or two studies as sorted text lines
 * "trial bracket rung decision place of", one per /rungs row. */
static char *decisions(study *a, study *b)
{
    char **lines = NULL;
    size_t n = 0, len = 1;
    study *both[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        if (both[s] == NULL)
            continue;
        cv_rung_row *r = NULL;
        int64_t k = 0;
        OK(cv_store_read_rungs(both[s]->store, &r, &k, &err_));
        lines = realloc(lines, (n + (size_t)k + 1) * sizeof *lines);
        for (int64_t i = 0; i < k; i++) {
            lines[n] = malloc(128);
            snprintf(lines[n], 128, "%06lld %d %d %s %d %d\n", (long long)r[i].trial,
                     r[i].bracket, r[i].rung, r[i].decision, r[i].place, r[i].of);
            len += strlen(lines[n++]);
        }
        free(r);
    }
    qsort(lines, n, sizeof *lines, by_text);
    char *out = calloc(len, 1);
    for (size_t i = 0; i < n; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    free(lines);
    return out;
}

/* The budget's limits on a finished study's segments: each rung of a
 * round and bracket takes at most max(1, floor(entries / 3)) of the one
 * below, and every round and bracket brings a trial to the top. */
static void check_limits(const study *st)
{
    enum { R = 2, B = 3, K = 4 };
    int64_t entries[R][B][K] = {{{0}}};
    for (int64_t i = 0; i < st->n_segs; i++) {
        const cv_segment_row *g = &st->segs[i];
        entries[g->round][g->bracket][g->rung]++;
    }
    int brackets = st->job.search.brackets;
    for (int r = 0; r < R; r++)
        for (int b = 0; b < brackets; b++) {
            int top = K - 1 - b;
            CHECK(entries[r][b][top] >= 1, "round %d bracket %d: no trial at the top", r, b);
            for (int k = 0; k < top; k++) {
                int64_t most = entries[r][b][k] / 3 > 0 ? entries[r][b][k] / 3 : 1;
                CHECK(entries[r][b][k + 1] <= most, "round %d bracket %d: %lld of %lld went on "
                      "from rung %d", r, b, (long long)entries[r][b][k + 1],
                      (long long)entries[r][b][k], k);
            }
        }
}

static void any_order(const char *method)
{
    study ref;
    study_open(&ref, method, "ref.h5", NULL, 0, NULL, 0, NULL, 0, 0);
    drive(&ref, 1, 1, -1);
    CHECK(ref.sched.ops->complete(ref.sched.self), "%s: not complete", method);
    check_limits(&ref);
    char *want = decisions(&ref, NULL);
    CHECK(strstr(want, "promoted") != NULL && strstr(want, "stopped") != NULL,
          "%s: decisions %s", method, want);
    const int workers[] = {2, 3, 5, 8, 16};
    for (int w = 0; w < 5; w++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            study st;
            study_open(&st, method, "order.h5", NULL, 0, NULL, 0, NULL, 0, 0);
            drive(&st, workers[w], seed, -1);
            CHECK(st.sched.ops->complete(st.sched.self), "%s, %d workers: not complete", method,
                  workers[w]);
            char *got = decisions(&st, NULL);
            CHECK(strcmp(got, want) == 0, "%s, %d workers, order %llu: other decisions", method,
                  workers[w], (unsigned long long)seed);
            int64_t planned = st.sched.ops->planned(st.sched.self);
            for (int64_t i = 0; i < planned; i++)
                CHECK(st.rung_of[i] == ref.rung_of[i], "%s: trial %lld ended at rung %lld, not "
                      "%lld", method, (long long)i, (long long)st.rung_of[i],
                      (long long)ref.rung_of[i]);
            free(got);
            study_close(&st);
        }
    free(want);
    study_close(&ref);
}

/* Stopped after `at` segments (the segments in flight lost, as to kill -9),
 * rebuilt from what the file holds and run on with other workers and
 * order: the same decisions, none written twice. */
static void resumed(const char *method, int64_t at)
{
    study ref;
    study_open(&ref, method, "ref.h5", NULL, 0, NULL, 0, NULL, 0, 0);
    drive(&ref, 3, 9, -1);
    char *want = decisions(&ref, NULL);

    study a, b;
    study_open(&a, method, "a.h5", NULL, 0, NULL, 0, NULL, 0, 0);
    drive(&a, 3, 9, at);
    cv_rung_row *rungs = NULL;
    int64_t n_rungs = 0, rounds = 0;
    OK(cv_store_read_rungs(a.store, &rungs, &n_rungs, &err_));
    OK(cv_store_round_count(a.store, &rounds, &err_));
    study_open(&b, method, "b.h5", a.rows, a.n_rows, a.segs, a.n_segs, rungs, n_rungs, rounds);
    drive(&b, 2, 4, -1);
    CHECK(b.sched.ops->complete(b.sched.self), "%s resumed at %lld: not complete", method,
          (long long)at);
    char *got = decisions(&a, &b);
    CHECK(strcmp(got, want) == 0, "%s resumed after %lld segments: other decisions:\n%s\nwant\n%s",
          method, (long long)at, got, want);
    free(got), free(want), free(rungs);
    study_close(&a), study_close(&b), study_close(&ref);
}

static void test_asha_any_order(void **state)
{
    (void)state;
    any_order("asha");
}

static void test_hyperband_any_order(void **state)
{
    (void)state;
    any_order("hyperband");
}

static void test_resume(void **state)
{
    (void)state;
    const int64_t at[] = {1, 17, 40, 63, 90};
    for (int i = 0; i < 5; i++) {
        resumed("asha", at[i]);
        resumed("hyperband", at[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_asha_any_order),
        cmocka_unit_test(test_hyperband_any_order),
        cmocka_unit_test(test_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
