/* test_pbt.c: population-based training (src/run/pbt.c, explore in
 * src/space/explore.c).
 *
 * The scheduler is driven as the runner drives it, without training: a
 * pool of W "workers" holds the segments handed out, a seeded generator
 * picks which one finishes next, with a figure that depends only on the
 * trial and its epochs, and a state (saved as the runner saves it) that
 * depends only on the trial and the epoch. Every worker count and
 * completion order must give the same lineage; a member that is exploited
 * must start from a bit-for-bit copy of its parent's state; a scheduler
 * rebuilt mid-study from what the file holds (a resume) must go on to the
 * same end. Explore must stay inside the bounds and move each parameter on
 * its own scale, over many draws. */
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

#define STATE_FLOATS 16

static const char job_text[] =
    "name: p\n"
    "search: {method: pbt, population: 12, perturbation_interval: 2, max_epochs: 11, seed: 5}\n"
    "parameters:\n"
    "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}\n"
    "  beta1: {distribution: one_minus_log_uniform, min: 0.8, max: 0.999}\n"
    "  dropout: {distribution: uniform, min: 0.0, max: 0.5}\n"
    "  batch_size: {values: [16, 32, 64, 128]}\n"
    "  hidden_units: {values: [8, 16, 32]}\n";

/* A study: the job, its space, a store and a recorder, and the scheduler. */
typedef struct study {
    cv_job job;
    cv_space *space;
    cv_store *store;
    cv_recorder *rec;
    cv_scheduler sched;
    cv_segment_row *segs;
    int64_t n_segs;
    cv_trial_row *rows;
    int64_t n_rows;
} study;

/* Opens a new file, or (resume) the file at path again with what it
 * holds. */
static void study_open(study *st, const char *file, bool resume)
{
    memset(st, 0, sizeof *st);
    cv_error err = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_dir(), file);
    if (cv_job_parse(&st->job, "job.yaml", job_text, strlen(job_text), &err) != 0 ||
        cv_space_create(&st->space, &st->job, &err) != 0)
        fail_msg("job: %s", err.msg);
    cv_lineage_row *lineage = NULL;
    int64_t n_lineage = 0, rounds = 0;
    if (resume) {
        if (cv_store_open(&st->store, path, CV_STORE_APPEND, &err) != 0 ||
            cv_store_read_trials(st->store, &st->rows, &st->n_rows, &err) != 0 ||
            cv_store_read_segments(st->store, &st->segs, &st->n_segs, &err) != 0 ||
            cv_store_read_lineage(st->store, &lineage, &n_lineage, &err) != 0 ||
            cv_store_round_count(st->store, &rounds, &err) != 0)
            fail_msg("reopening %s: %s", file, err.msg);
    } else if (cv_store_create(&st->store, path, &st->job, 1, true, &err) != 0 ||
               cv_store_start_swmr(st->store, &err) != 0) {
        fail_msg("creating %s: %s", file, err.msg);
    }
    if (cv_recorder_create(&st->rec, st->store, st->job.search.metric, 0, st->rows, st->n_rows,
                           &err) != 0 ||
        cv_pbt_create(&st->sched, &st->job, st->space, st->rec, st->rows, st->n_rows, st->segs,
                      st->n_segs, lineage, n_lineage, rounds, &err) != 0)
        fail_msg("setting up: %s", err.msg);
    free(lineage);
}

static void study_close(study *st)
{
    cv_error err = {0};
    st->sched.ops->free(st->sched.self);
    cv_recorder_free(st->rec);
    cv_store_close(st->store, &err);
    cv_space_free(st->space);
    cv_job_free(&st->job);
    free(st->segs);
    free(st->rows);
}

/* The state trial leaves at epoch: fixed by (trial, epoch). */
static void fake_state(int64_t trial, int epoch, float *out)
{
    for (int i = 0; i < STATE_FLOATS; i++)
        out[i] = (float)(cv_hash_key((uint64_t)trial, (uint64_t)epoch, (uint64_t)i, 0) % 100003);
}

/* A trial's figure at an epoch: fixed by (trial, epoch) and its learning
 * rate's distance from 0.01; trial % 11 == 7 diverges in its first
 * segment. */
static double figure(const cv_segment *seg, int epoch)
{
    double lr = seg->config.learning_rate;
    uint64_t h = cv_hash_key((uint64_t)seg->trial, 91, 0, 0);
    return 0.5 + 0.2 * (double)(h % 1009) / 1009.0 - 0.05 * fabs(log10(lr) + 2) +
           0.01 * epoch;
}

/* Whether the state seg starts from is the one its lineage row names: its
 * own last state when it continues, a copy of its parent's when exploited. */
static void check_start(study *st, const cv_segment *seg)
{
    if (seg->from_epoch == 0)
        return;
    OK(cv_recorder_flush(st->rec, &err_));
    cv_lineage_row *l = NULL;
    int64_t n = 0;
    OK(cv_store_read_lineage(st->store, &l, &n, &err_));
    int64_t parent = -2;
    for (int64_t i = 0; i < n; i++)
        if (l[i].trial == seg->trial && l[i].from_epoch == seg->from_epoch)
            parent = l[i].parent;
    free(l);
    CHECK(parent >= 0, "trial %lld from epoch %d: no lineage row", (long long)seg->trial,
          seg->from_epoch);
    float want[STATE_FLOATS], *got = NULL;
    int64_t n_got = 0;
    fake_state(parent, seg->from_epoch, want);
    OK(cv_recorder_load_state(st->rec, seg->trial, seg->from_epoch, &got, &n_got, &err_));
    CHECK(n_got == STATE_FLOATS && memcmp(got, want, sizeof want) == 0,
          "trial %lld from epoch %d: not the state of trial %lld", (long long)seg->trial,
          seg->from_epoch, (long long)parent);
    free(got);
}

/* Runs st with W workers, finishing segments in an order drawn from seed,
 * until the plan is complete or `stop_after` segments have finished (-1:
 * no stop); what the runner writes (states, segment and trial rows) is
 * written, and each started segment's state checked. */
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
            check_start(st, &pool[n]);
            n++;
        }
        if (n == 0 || finished == stop_after)
            break;
        int k = (int)(cv_rng_next(&rng) % (uint64_t)n);
        cv_segment seg = pool[k];
        pool[k] = pool[--n];
        const bool diverges = seg.trial % 11 == 7 && seg.from_epoch < 2;
        const int done = diverges ? seg.from_epoch : seg.to_epoch;
        double last = diverges ? NAN : figure(&seg, seg.to_epoch);
        cv_trial_row row = {.trial = seg.trial, .round = 0, .seed = seg.seed, .parent = -1,
                            .config = seg.config,
                            .status = diverges ? CV_TRIAL_DIVERGED : CV_TRIAL_DONE,
                            .dev_accuracy = diverges ? NAN : last, .dev_loss = 1 - last,
                            .best_epoch = done, .epochs_done = done, .rung = seg.rung,
                            .budget = seg.to_epoch};
        cv_segment_row srow = {.trial = seg.trial, .rung = seg.rung,
                               .from_epoch = seg.from_epoch, .to_epoch = seg.to_epoch,
                               .epochs_done = done, .status = row.status, .metric = last,
                               .last_metric = last};
        if (!diverges && seg.to_epoch < seg.config.epochs) {
            float state[STATE_FLOATS];
            fake_state(seg.trial, seg.to_epoch, state);
            OK(cv_recorder_save_state(st->rec, seg.trial, seg.to_epoch, state, STATE_FLOATS,
                                      &err_));
        }
        OK(cv_recorder_segment(st->rec, &srow, &err_));
        OK(cv_recorder_trial(st->rec, &row, NULL, 0, 4, 2, &err_));
        st->segs = realloc(st->segs, (size_t)(st->n_segs + 1) * sizeof *st->segs);
        st->segs[st->n_segs++] = srow;
        st->rows = realloc(st->rows, (size_t)(st->n_rows + 1) * sizeof *st->rows);
        st->rows[st->n_rows++] = row;
        CHECK(st->sched.ops->finished(st->sched.self, &row, &srow, &err) == 0, "finished: %s",
              err.msg);
        finished++;
    }
    cv_error err = {0};
    CHECK(cv_recorder_flush(st->rec, &err) == 0, "flush: %s", err.msg);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A study's /lineage as sorted text lines, and its trials' configurations. */
static char *lineage(study *st)
{
    cv_lineage_row *r = NULL;
    int64_t k = 0;
    OK(cv_store_read_lineage(st->store, &r, &k, &err_));
    char **lines = calloc((size_t)k + 1, sizeof *lines);
    size_t len = 1;
    for (int64_t i = 0; i < k; i++) {
        lines[i] = malloc(400);
        snprintf(lines[i], 400, "%06lld %02d %02d %d-%d %lld %s %.6f %d/%d %s\n",
                 (long long)r[i].trial, r[i].member, r[i].generation, r[i].from_epoch,
                 r[i].to_epoch, (long long)r[i].parent, r[i].decision, r[i].metric, r[i].place,
                 r[i].of, r[i].explore);
        len += strlen(lines[i]);
    }
    qsort(lines, (size_t)k, sizeof *lines, by_text);
    char *out = calloc(len, 1);
    for (int64_t i = 0; i < k; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    free(lines), free(r);
    return out;
}

/* The shape of a finished study's lineage: every member in every
 * generation once, generation g > 0 with floor(0.25 * 12) = 3 exploits at
 * least, each from a member then in the top 3, and the diverged exploited. */
static void check_shape(study *st)
{
    cv_lineage_row *r = NULL;
    int64_t k = 0;
    OK(cv_store_read_lineage(st->store, &r, &k, &err_));
    enum { P = 12, G = 6 };
    int seen[G][P] = {{0}}, exploits[G] = {0};
    CHECK(k == (int64_t)P * G, "%lld lineage rows, expected %d", (long long)k, P * G);
    for (int64_t i = 0; i < k; i++) {
        CHECK(r[i].generation < G && r[i].member < P, "row %lld out of the plan", (long long)i);
        seen[r[i].generation][r[i].member]++;
        CHECK(r[i].to_epoch == (r[i].generation + 1 < G ? 2 * (r[i].generation + 1) : 11),
              "row %lld: to epoch %d", (long long)i, r[i].to_epoch);
        if (strcmp(r[i].decision, "exploit") == 0) {
            exploits[r[i].generation]++;
            CHECK(r[i].place > P - 3 || !isfinite(r[i].metric), "an exploit at place %d",
                  r[i].place);
            CHECK(strstr(r[i].explore, "copied member") != NULL &&
                      strstr(r[i].explore, ", place ") != NULL,
                  "explore says %s", r[i].explore);
            int parent_place = atoi(strstr(r[i].explore, ", place ") + 8);
            CHECK(parent_place >= 1 && parent_place <= 3, "copied a member at place %d",
                  parent_place);
        }
    }
    for (int g = 0; g < G; g++)
        for (int m = 0; m < P; m++)
            CHECK(seen[g][m] == 1, "member %d generation %d: %d rows", m, g, seen[g][m]);
    for (int g = 1; g < G; g++)
        CHECK(exploits[g] >= 3, "generation %d: %d exploits", g, exploits[g]);
    free(r);
}

static void test_any_order(void **state)
{
    (void)state;
    study ref;
    study_open(&ref, "ref.h5", false);
    drive(&ref, 1, 1, -1);
    CHECK(ref.sched.ops->complete(ref.sched.self), "not complete");
    check_shape(&ref);
    char *want = lineage(&ref);
    const int workers[] = {2, 3, 5, 8, 16};
    for (int w = 0; w < 5; w++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            study st;
            study_open(&st, "order.h5", false);
            drive(&st, workers[w], seed, -1);
            CHECK(st.sched.ops->complete(st.sched.self), "%d workers: not complete", workers[w]);
            char *got = lineage(&st);
            CHECK(strcmp(got, want) == 0, "%d workers, order %llu: another lineage:\n%s\nwant\n%s",
                  workers[w], (unsigned long long)seed, got, want);
            free(got);
            study_close(&st);
        }
    free(want);
    study_close(&ref);
}

/* Stopped after `at` segments (those in flight lost, as to kill -9),
 * reopened and run on with other workers and order: the same lineage,
 * none of it written twice. */
static void resumed(int64_t at)
{
    study ref, a, b;
    study_open(&ref, "ref.h5", false);
    drive(&ref, 3, 9, -1);
    char *want = lineage(&ref);
    study_close(&ref);
    study_open(&a, "a.h5", false);
    drive(&a, 3, 9, at);
    study_close(&a);
    study_open(&b, "a.h5", true);
    drive(&b, 2, 4, -1);
    CHECK(b.sched.ops->complete(b.sched.self), "resumed at %lld: not complete", (long long)at);
    char *got = lineage(&b);
    CHECK(strcmp(got, want) == 0, "resumed after %lld segments: another lineage:\n%s\nwant\n%s",
          (long long)at, got, want);
    free(got), free(want);
    study_close(&b);
}

static void test_resume(void **state)
{
    (void)state;
    const int64_t at[] = {1, 12, 13, 30, 47, 60, 71};
    for (int i = 0; i < 7; i++)
        resumed(at[i]);
}

/* ---- explore ------------------------------------------------------------------ */

/* Whether y is x moved by one of the factors on p's scale, or clamped. */
static bool on_scale(const cv_space_dim *dim, double x, double y)
{
    const double eps = 1e-9;
    if (y == dim->min || y == dim->max)
        return true; /* clamped (or moved onto a bound) */
    switch (dim->scale) {
    case CV_SCALE_LOG:
        return fabs(y / x - 1.2) < eps || fabs(y / x - 0.8) < eps;
    case CV_SCALE_ONE_MINUS_LOG:
        return fabs((1 - y) / (1 - x) - 1.2) < eps || fabs((1 - y) / (1 - x) - 0.8) < eps;
    case CV_SCALE_LINEAR:
        return fabs(fabs(y - x) - 0.1 * (dim->max - dim->min)) < eps;
    case CV_SCALE_CATEGORICAL: {
        int i = -1, j = -1;
        for (int k = 0; k < dim->n_values; k++) {
            i = dim->values[k] == x ? k : i;
            j = dim->values[k] == y ? k : j;
        }
        return i >= 0 && j >= 0 &&
               (abs(i - j) == 1 || (i == j && (i == 0 || i == dim->n_values - 1)));
    }
    }
    return false;
}

static void test_explore(void **state)
{
    (void)state;
    cv_job job;
    cv_space *space = NULL;
    OK(cv_job_parse(&job, "job.yaml", job_text, strlen(job_text), &err_));
    OK(cv_space_create(&space, &job, &err_));
    cv_pbt_spec pbt = job.search.pbt;
    CHECK(!pbt.mutate[CV_P_HIDDEN_UNITS], "hidden_units would be explored");
    const int N = 20000;
    int up = 0, resampled_lr_low = 0;
    double sum_log = 0;
    for (int i = 0; i < N; i++) {
        cv_config from, to;
        OK(cv_space_sample(space, NULL, 0, i, &from, &err_));
        pbt.resample = i < N / 2 ? 0 : 1;
        char what[200];
        CHECK(cv_space_explore(space, &from, &pbt, (uint64_t)i * 7919, &to, what, sizeof what) ==
                  0,
              "draw %d: invalid", i);
        for (int d = 0; d < cv_space_dims(space); d++) {
            const cv_space_dim *dim = cv_space_dim_get(space, d);
            double x = cv_config_get(&from, dim->param), y = cv_config_get(&to, dim->param);
            const char *name = cv_param_get_info(dim->param)->name;
            if (!pbt.mutate[dim->param]) {
                CHECK(x == y, "draw %d: %s changed", i, name);
                continue;
            }
            if (dim->scale == CV_SCALE_CATEGORICAL) {
                bool listed = false;
                for (int k = 0; k < dim->n_values; k++)
                    listed = listed || dim->values[k] == y;
                CHECK(listed, "draw %d: %s = %g is not one of its values", i, name, y);
            } else {
                CHECK(y >= dim->min && y <= dim->max, "draw %d: %s = %g outside [%g, %g]", i,
                      name, y, dim->min, dim->max);
            }
            if (pbt.resample == 0)
                CHECK(on_scale(dim, x, y), "draw %d: %s %.17g -> %.17g is not a move on its "
                      "scale (%s)", i, name, x, y, what);
            if (pbt.resample == 0 && dim->param == CV_P_LEARNING_RATE && y > x)
                up++;
            if (pbt.resample == 1 && dim->param == CV_P_LEARNING_RATE) {
                sum_log += log10(y);
                resampled_lr_low += y < 1e-2;
            }
        }
        CHECK(strstr(what, "learning_rate") != NULL, "draw %d: what says %s", i, what);
    }
    /* both factors about as often; resampling spreads over the log range */
    CHECK(abs(up - N / 4) < N / 40, "learning_rate went up %d times of %d", up, N / 2);
    double mean = sum_log / (N / 2);
    CHECK(fabs(mean + 2) < 0.05, "resampled learning_rate: mean log10 %.3f, expected -2", mean);
    CHECK(abs(resampled_lr_low - N / 4) < N / 40, "resampled below 0.01: %d of %d",
          resampled_lr_low, N / 2);
    cv_space_free(space);
    cv_job_free(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_any_order),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_explore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
