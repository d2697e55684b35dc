/* test_report.c: the report's analysis (caviar/report.h) on studies whose
 * answer is known.
 *
 * Checks: on a synthetic table whose metric depends on the learning rate
 * alone, the learning rate ranks first with nearly all the variance and
 * every other parameter explains about what chance does; its bins sit on
 * its log scale, and the best bin is the one holding the optimum; integer
 * and categorical parameters get one bin per value. The leaderboard order:
 * better metric first (higher accuracy, lower loss), ties by trial id,
 * trials without a metric (failed, interrupted, NaN) last. The suggested
 * region is a `parameters:` block that caviar's own parser accepts, inside
 * the job's space, holding the best trials, rounded outward. A study
 * written through the store reads back folded to one row per trial, with
 * its rounds and summed run times. The figures have one mark per trial. The
 * HTML page escapes what comes from the file, points nowhere outside
 * itself, reloads itself only when asked, and replaces its file whole; a
 * page that cannot be written is refused before any work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "caviar/report.h"
#include "testutil.h"

#define OK(call)                                                                                 \
    do {                                                                                         \
        cv_error_clear(&err);                                                                    \
        int rc_ = (call);                                                                        \
        CHECK(rc_ == 0, "%s -> %d: %s", #call, rc_, err.msg);                                    \
    } while (0)

/* Four searched parameters of every kind of scale, and constants. */
static const char job_text[] =
    "name: synthetic\n"
    "search:\n"
    "  trials: 400\n"
    "  rounds: 1\n"
    "  keep: 0.1\n"
    "  seed: 3\n"
    "parameters:\n"
    "  epochs: 7\n"
    "  optimizer: adam\n"
    "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n"
    "  beta1: {distribution: one_minus_log_uniform, min: 0.8, max: 0.999}\n"
    "  layers: {distribution: int_uniform, min: 1, max: 3}\n"
    "  hidden_units: {values: [8, 16, 32]}\n";

/* The known answer: accuracy peaks at learning_rate 0.01 and falls with the
 * square of the distance in decades; nothing else matters. */
static double known_metric(double lr)
{
    double d = log10(lr) + 2;
    return 0.9 - 0.05 * d * d;
}

/* A study of n trials sampled from text's space, scored by known_metric
 * (diverged: every 7th keeps its metric; failed: every 11th has none). */
static void synthetic_study(cv_study *st, const char *text, int n, cv_metric metric)
{
    cv_error err = {0};
    memset(st, 0, sizeof *st);
    OK(cv_job_load(&st->job, tu_write_text("synthetic.yaml", text), &err));
    OK(cv_space_create(&st->space, &st->job, &err));
    st->path = strdup("synthetic.h5");
    st->metric = metric;
    st->trials_per_round = n;
    st->rounds = 1;
    st->planned = n;
    st->rows = calloc((size_t)n, sizeof *st->rows);
    assert_non_null(st->rows);
    for (int i = 0; i < n; i++) {
        cv_trial_row *r = &st->rows[i];
        OK(cv_space_sample(st->space, NULL, 0, i, &r->config, &err));
        r->trial = i;
        r->parent = -1;
        r->status = i % 11 == 10 ? CV_TRIAL_FAILED : i % 7 == 6 ? CV_TRIAL_DIVERGED : CV_TRIAL_DONE;
        double m = known_metric(r->config.learning_rate);
        r->dev_accuracy = r->status == CV_TRIAL_FAILED ? NAN : m;
        r->dev_loss = r->status == CV_TRIAL_FAILED ? NAN : 1 - m;
        r->test_accuracy = NAN;
        r->epochs_done = 7;
        r->seconds = 1;
    }
    st->n_rows = n;
}

static const cv_report_effect *effect_of(const cv_report_effect *e, int n, cv_param p)
{
    for (int k = 0; k < n; k++)
        if (e[k].param == p)
            return &e[k];
    fail_msg("no effect for %s", cv_param_get_info(p)->name);
    return NULL;
}

/* ---- bins and importance ------------------------------------------------------ */

static void test_importance_known(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_study st;
    synthetic_study(&st, job_text, 400, CV_METRIC_DEV_ACCURACY);
    cv_report_effect *e = NULL;
    int n = 0;
    OK(cv_report_effects(&st, &e, &n, &err));
    CHECK(n == 4, "4 searched parameters, got %d effects", n);

    /* the one that matters first, with nearly all the variance */
    CHECK(e[0].param == CV_P_LEARNING_RATE, "learning_rate ranks first, got %s",
          cv_param_get_info(e[0].param)->name);
    /* (not all: five bins leave a quadratic's variance within each) */
    CHECK(e[0].importance > 0.7, "learning_rate explains %.3f", e[0].importance);
    for (int k = 1; k < n; k++) {
        /* noise alone: about (bins - 1) / (n - 1), at most ~1.5% here */
        CHECK(e[k].importance < 0.03, "%s explains %.3f (chance %.3f)",
              cv_param_get_info(e[k].param)->name, e[k].importance, e[k].chance);
        CHECK(e[k].importance <= e[k - 1].importance, "ranked by importance");
    }

    /* learning_rate: 5 bins of 0.8 decades on its log scale */
    const cv_report_effect *lr = effect_of(e, n, CV_P_LEARNING_RATE);
    CHECK(!lr->categorical && lr->n_bins == CV_REPORT_BINS, "%d bins", lr->n_bins);
    for (int b = 0; b < lr->n_bins; b++) {
        double lo = log10(lr->bins[b].lo), hi = log10(lr->bins[b].hi);
        CHECK(fabs(lo - (-4 + 0.8 * b)) < 1e-9 && fabs(hi - (-4 + 0.8 * (b + 1))) < 1e-9,
              "bin %d spans [%g, %g] decades", b, lo, hi);
        CHECK(lr->bins[b].n > 40, "bin %d holds %d trials", b, lr->bins[b].n);
    }
    /* the optimum 0.01 (-2 decades) is in the middle bin: its best and
     * median beat every other bin's, and the outer bins mirror each other */
    for (int b = 0; b < lr->n_bins; b++) {
        if (b == 2)
            continue;
        CHECK(lr->bins[2].best > lr->bins[b].best && lr->bins[2].median > lr->bins[b].median,
              "middle bin best %.4f median %.4f vs bin %d best %.4f median %.4f",
              lr->bins[2].best, lr->bins[2].median, b, lr->bins[b].best, lr->bins[b].median);
    }
    CHECK(fabs(lr->bins[0].median - lr->bins[4].median) < 0.02, "symmetric: %.4f vs %.4f",
          lr->bins[0].median, lr->bins[4].median);
    /* within 1% of the best (~0.9): |decades from 0.01| < ~0.42, all in the middle bin */
    CHECK(lr->bins[2].near > 0 && lr->bins[0].near == 0 && lr->bins[4].near == 0,
          "near the best: %d, %d, %d", lr->bins[0].near, lr->bins[2].near, lr->bins[4].near);

    /* beta1: bins on log10(1 - x), so 0.99 is an inner edge */
    const cv_report_effect *b1 = effect_of(e, n, CV_P_BETA1);
    CHECK(fabs(b1->bins[0].lo - 0.8) < 1e-12 && fabs(b1->bins[4].hi - 0.999) < 1e-12,
          "beta1 bins span [%g, %g]", b1->bins[0].lo, b1->bins[4].hi);
    double edge = log10(1 - b1->bins[2].hi); /* 3/5 of the way from log10 0.2 to -3 */
    CHECK(fabs(edge - (log10(0.2) + 0.6 * (-3 - log10(0.2)))) < 1e-9, "beta1 edge %g", edge);

    /* integers and categoricals: one bin per value */
    const cv_report_effect *layers = effect_of(e, n, CV_P_LAYERS);
    CHECK(layers->n_bins == 3 && !layers->categorical, "layers: %d bins", layers->n_bins);
    const cv_report_effect *hu = effect_of(e, n, CV_P_HIDDEN_UNITS);
    CHECK(hu->n_bins == 3 && hu->categorical, "hidden_units: %d bins", hu->n_bins);
    int total = 0;
    for (int b = 0; b < 3; b++) {
        CHECK(layers->bins[b].lo == b + 1 && layers->bins[b].hi == b + 1, "layers bin %d", b);
        CHECK(hu->bins[b].lo == 8 << b, "hidden_units bin %d is %g", b, hu->bins[b].lo);
        total += hu->bins[b].n;
    }
    /* failed trials (every 11th) count in their bin, without a metric */
    CHECK(total == 400 - 400 / 11, "%d trials with a metric", total);
    int all = 0, diverged = 0;
    for (int b = 0; b < 3; b++)
        all += hu->bins[b].trials, diverged += hu->bins[b].diverged;
    CHECK(all == 400 && diverged == 400 / 7 - 400 / 77, "%d trials, %d diverged", all, diverged);
    /* categorical: the learning rates reaching near the best lie around 0.01 */
    for (int b = 0; b < 3; b++) {
        if (hu->bins[b].near == 0)
            continue;
        CHECK(hu->bins[b].lr_lo > 0.003 && hu->bins[b].lr_hi < 0.03, "lr range [%g, %g]",
              hu->bins[b].lr_lo, hu->bins[b].lr_hi);
    }
    free(e);
    cv_study_free(&st);
}

/* A loss metric: the same answer (lower is better). */
static void test_importance_loss(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_study st;
    synthetic_study(&st, job_text, 400, CV_METRIC_DEV_LOSS);
    cv_report_effect *e = NULL;
    int n = 0;
    OK(cv_report_effects(&st, &e, &n, &err));
    CHECK(e[0].param == CV_P_LEARNING_RATE && e[0].importance > 0.7, "%s %.3f",
          cv_param_get_info(e[0].param)->name, e[0].importance);
    const cv_report_effect *lr = effect_of(e, n, CV_P_LEARNING_RATE);
    CHECK(lr->bins[2].best < lr->bins[0].best, "lowest loss in the middle bin");
    CHECK(lr->bins[2].near > 0 && lr->bins[0].near == 0, "near: %d, %d", lr->bins[2].near,
          lr->bins[0].near);
    free(e);
    cv_study_free(&st);
}

/* ---- the leaderboard ---------------------------------------------------------- */

static void test_leaderboard_order(void **state)
{
    (void)state;
    cv_study st;
    synthetic_study(&st, job_text, 8, CV_METRIC_DEV_ACCURACY);
    /* trial:          0    1    2    3    4    5    6    7 */
    double acc[8] = {0.5, 0.9, NAN, 0.7, 0.9, 0.95, 0.2, 0.99};
    for (int i = 0; i < 8; i++) {
        st.rows[i].status = CV_TRIAL_DONE;
        st.rows[i].dev_accuracy = acc[i];
        st.rows[i].dev_loss = 1 - acc[i];
    }
    st.rows[6].status = CV_TRIAL_DIVERGED; /* keeps its metric */
    st.rows[7].status = CV_TRIAL_INTERRUPTED; /* does not, whatever the figure */
    int64_t order[8];
    int64_t ranked = cv_study_rank(&st, order);
    static const int64_t want[8] = {5, 1, 4, 3, 0, 6, 2, 7};
    CHECK(ranked == 6, "%lld ranked", (long long)ranked);
    for (int i = 0; i < 8; i++)
        CHECK(order[i] == want[i], "place %d: trial %lld, expected %lld", i,
              (long long)order[i], (long long)want[i]);

    /* by loss: lower first; the same order here since loss = 1 - accuracy */
    st.metric = CV_METRIC_DEV_LOSS;
    ranked = cv_study_rank(&st, order);
    for (int i = 0; i < 8; i++)
        CHECK(order[i] == want[i], "loss, place %d: trial %lld", i, (long long)order[i]);

    /* the printed leaderboard follows it and stops at top */
    FILE *f = fopen(tu_path("board.txt"), "w+");
    assert_non_null(f);
    cv_report_leaderboard(f, &st, order, 3);
    rewind(f);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (lines > 0) {
            long long rank = 0, trial = -1;
            CHECK(sscanf(line, "%lld %lld", &rank, &trial) == 2, "row: %s", line);
            CHECK(rank == lines && trial == want[lines - 1], "row %d: %s", lines, line);
        }
        lines++;
    }
    fclose(f);
    CHECK(lines == 4, "header and 3 rows, got %d lines", lines);

    cv_report_counts c;
    cv_report_count(&st, &c);
    CHECK(c.done == 6 && c.diverged == 1 && c.interrupted == 1 && c.pending == 0,
          "counts %lld %lld %lld %lld", (long long)c.done, (long long)c.diverged,
          (long long)c.interrupted, (long long)c.pending);
    cv_study_free(&st);
}

/* ---- the suggested region -------------------------------------------------------- */

/* The value of key in the one-line flow mapping of parameter name in yaml. */
static double flow_value(const char *yaml, const char *name, const char *key)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\n  %s: {", name);
    const char *line = strstr(yaml, needle);
    CHECK(line != NULL, "no line for %s in:\n%s", name, yaml);
    snprintf(needle, sizeof needle, "%s: ", key);
    const char *at = strstr(line + 1, needle);
    CHECK(at != NULL && at < strchr(line + 1, '\n'), "no %s for %s", key, name);
    return strtod(at + strlen(needle), NULL);
}

static void test_suggest_parses(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_study st;
    synthetic_study(&st, job_text, 400, CV_METRIC_DEV_ACCURACY);
    char *yaml = NULL;
    int n_best = 0;
    OK(cv_report_suggest(&st, &yaml, &n_best, &err));
    /* keep 0.1 of the 364 trials with a metric */
    CHECK(n_best == 37, "%d trials define the region", n_best);
    CHECK(strncmp(yaml, "parameters:\n", 12) == 0, "starts with parameters:\n%s", yaml);
    CHECK(strstr(yaml, "\n  epochs: 7\n") && strstr(yaml, "\n  optimizer: adam\n"),
          "the constants stay:\n%s", yaml);

    /* caviar's own parser takes it, with the rest of a job */
    char job[4096];
    snprintf(job, sizeof job, "name: next\nsearch: {trials: 8}\n%s", yaml);
    cv_job next = {0};
    cv_space *space = NULL;
    OK(cv_job_load(&next, tu_write_text("next.yaml", job), &err));
    OK(cv_space_create(&space, &next, &err));
    CHECK(next.params[CV_P_EPOCHS].dist == CV_DIST_CONSTANT && next.params[CV_P_EPOCHS].value == 7,
          "epochs");
    const cv_param_spec *lr = &next.params[CV_P_LEARNING_RATE];
    CHECK(lr->dist == CV_DIST_LOG_UNIFORM, "learning_rate keeps its distribution");
    /* the best tenth lie within ~0.2 decades of 0.01: the region holds
     * them, a fraction of the job's four decades */
    CHECK(lr->min >= 1e-4 && lr->max <= 1 && lr->min < 0.01 && lr->max > 0.01 &&
              log10(lr->max / lr->min) > 0.3 && log10(lr->max / lr->min) < 1.5,
          "learning_rate [%g, %g]", lr->min, lr->max);
    int64_t order[400];
    cv_study_rank(&st, order);
    for (int i = 0; i < n_best; i++) {
        const cv_config *c = &st.rows[order[i]].config;
        CHECK(c->learning_rate >= lr->min && c->learning_rate <= lr->max,
              "best trial %lld (lr %g) outside", (long long)order[i], c->learning_rate);
    }
    /* rounded outward to two significant digits, as written */
    double lo = flow_value(yaml, "learning_rate", "min");
    char text[32];
    snprintf(text, sizeof text, "%.2g", lo);
    CHECK(strtod(text, NULL) == lo, "min %.17g has more than two digits", lo);
    /* beta1 on its own scale: 1 - x rounded, still in [0.8, 0.999] */
    const cv_param_spec *b1 = &next.params[CV_P_BETA1];
    CHECK(b1->dist == CV_DIST_ONE_MINUS_LOG_UNIFORM && b1->min >= 0.8 && b1->max <= 0.999 &&
              b1->min < b1->max,
          "beta1 [%.17g, %.17g]", b1->min, b1->max);
    cv_space_free(space);
    cv_job_free(&next);
    free(yaml);

    /* one value left: a constant */
    for (int i = 0; i < st.n_rows; i++)
        if (st.rows[i].config.hidden_units != 16)
            st.rows[i].dev_accuracy -= 0.5;
    OK(cv_report_suggest(&st, &yaml, &n_best, &err));
    CHECK(strstr(yaml, "\n  hidden_units: 16") != NULL, "hidden_units fixed:\n%s", yaml);
    snprintf(job, sizeof job, "search: {trials: 8}\n%s", yaml);
    OK(cv_job_load(&next, tu_write_text("next2.yaml", job), &err));
    CHECK(next.params[CV_P_HIDDEN_UNITS].dist == CV_DIST_CONSTANT, "a constant");
    cv_job_free(&next);
    free(yaml);
    cv_study_free(&st);
}

/* ---- through the store ------------------------------------------------------------ */

static void test_store_study(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_job job = {0};
    static const char text[] = "name: stored\n"
                               "search: {trials: 3, rounds: 2, seed: 4}\n"
                               "parameters:\n"
                               "  learning_rate: {distribution: log_uniform, min: 1.0e-3, max: 1}\n"
                               "  batch_size: {values: [16, 32]}\n";
    OK(cv_job_load(&job, tu_write_text("stored.yaml", text), &err));
    cv_data data = {0};
    float mean[2] = {0, 1}, std[2] = {1, 2};
    data.d = 2, data.classes = 3, data.mean = mean, data.std = std, data.source = "x.csv";
    data.train.n = 10, data.dev.n = 5;
    const char *path = tu_path("stored.h5");
    cv_store *s = NULL;
    OK(cv_store_create(&s, path, &job, 3, false, &err));
    OK(cv_store_write_data(s, &data, &err));
    OK(cv_store_start_swmr(s, &err));
    CHECK(cv_store_writer_active(path), "the writer holds its lock");
    cv_round_param rp[2] = {{"learning_rate", 1e-3, 1, NULL}, {"batch_size", NAN, NAN, "16,32"}};
    OK(cv_store_append_round(s, 0, rp, 2, &err));
    rp[0].lo = 0.01, rp[0].hi = 0.1, rp[1].values = "32";
    OK(cv_store_append_round(s, 1, rp, 2, &err));
    /* trial 1 interrupted, then re-run; trial 2 interrupted and not yet re-run */
    cv_trial_row rows[5];
    static const int64_t ids[5] = {0, 1, 2, 1, 3};
    static const cv_trial_status status[5] = {CV_TRIAL_DONE, CV_TRIAL_INTERRUPTED,
                                              CV_TRIAL_INTERRUPTED, CV_TRIAL_DONE, CV_TRIAL_DONE};
    for (int i = 0; i < 5; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        cv_config_defaults(&rows[i].config);
        rows[i].trial = ids[i];
        rows[i].round = ids[i] >= 3;
        rows[i].status = status[i];
        rows[i].parent = -1;
        rows[i].dev_accuracy = status[i] == CV_TRIAL_DONE ? 0.5 + 0.1 * i : NAN;
        rows[i].dev_loss = rows[i].train_accuracy = rows[i].train_loss = NAN;
        rows[i].test_accuracy = NAN;
        rows[i].seconds = 2;
        rows[i].config.batch_size = 32;
    }
    rows[4].config.batch_size = 64; /* outside the space, as a row continued with --set */
    OK(cv_store_append_trials(s, rows, 5, &err));
    OK(cv_store_gather_checkpoints(s, 0, CV_METRIC_DEV_ACCURACY, &err));
    OK(cv_store_add_run_time(s, 10, 2, &err));
    OK(cv_store_add_run_time(s, 5, 4, &err));
    OK(cv_store_close(s, &err));
    CHECK(!cv_store_writer_active(path), "the lock is gone with the writer");

    cv_study st;
    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    OK(cv_study_load(&st, s, true, &err));
    OK(cv_store_close(s, &err));
    CHECK(st.n_rows == 4, "one row per trial, got %lld", (long long)st.n_rows);
    for (int i = 0; i < 4; i++)
        CHECK(st.rows[i].trial == i, "row %d is trial %lld", i, (long long)st.rows[i].trial);
    CHECK(st.rows[1].status == CV_TRIAL_DONE && st.rows[1].dev_accuracy == 0.8,
          "the re-run replaces the interrupted attempt");
    CHECK(st.rows[2].status == CV_TRIAL_INTERRUPTED, "an interrupted trial stays until re-run");
    CHECK(st.planned == 6, "planned %lld", (long long)st.planned);
    cv_report_counts c;
    cv_report_count(&st, &c);
    CHECK(c.done == 3 && c.interrupted == 1 && c.pending == 2, "done %lld interrupted %lld "
          "pending %lld", (long long)c.done, (long long)c.interrupted, (long long)c.pending);

    CHECK(st.n_rounds == 2, "%lld rounds", (long long)st.n_rounds);
    const cv_round_row *r1 = &st.round_rows[1];
    CHECK(r1->round == 1 && r1->searched[CV_P_LEARNING_RATE] && r1->searched[CV_P_BATCH_SIZE] &&
              !r1->searched[CV_P_BETA1],
          "round 1's columns");
    CHECK(r1->lo[CV_P_LEARNING_RATE] == 0.01 && r1->hi[CV_P_LEARNING_RATE] == 0.1,
          "learning_rate [%g, %g]", r1->lo[CV_P_LEARNING_RATE], r1->hi[CV_P_LEARNING_RATE]);
    CHECK(strcmp(r1->values[CV_P_BATCH_SIZE], "32") == 0 && isnan(r1->lo[CV_P_BATCH_SIZE]),
          "batch_size '%s'", r1->values[CV_P_BATCH_SIZE]);
    CHECK(strcmp(st.round_rows[0].values[CV_P_BATCH_SIZE], "16,32") == 0, "round 0 values");

    CHECK(st.times.wall_seconds == 15 && st.times.worker_seconds == 40,
          "times summed: wall %g, workers x wall %g", st.times.wall_seconds,
          st.times.worker_seconds);
    CHECK(st.times.ranks == 3 && strlen(st.times.created) == 20 &&
              strlen(st.times.finished) == 20,
          "ranks %d, created '%s', finished '%s'", st.times.ranks, st.times.created,
          st.times.finished);

    /* the whole report prints, and the utilization: 4 rows x 2 s busy / 40 */
    FILE *f = fopen(tu_path("report.txt"), "w+");
    assert_non_null(f);
    OK(cv_report_print(f, &st, 10, &err));
    rewind(f);
    char buf[16384];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    CHECK(strstr(buf, "worker utilization 20%") != NULL, "utilization in:\n%s", buf);
    CHECK(strstr(buf, "1 interrupted, 2 not run yet") != NULL, "counts in:\n%s", buf);
    CHECK(strstr(buf, "[0.01, 0.1]") != NULL && strstr(buf, "{16, 32}") != NULL,
          "rounds in:\n%s", buf);
    cv_study_free(&st);
    cv_job_free(&job);
}

/* ---- figures ---------------------------------------------------------------- */

/* How many times needle occurs in the file at path. */
static int count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s: not written", path);
    static char buf[1 << 22];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    int n = 0;
    for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_svg_marks(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_study st;
    synthetic_study(&st, job_text, 60, CV_METRIC_DEV_ACCURACY);
    /* curves: 3 epochs for every trial */
    st.curves = calloc(60 * 3, sizeof *st.curves);
    assert_non_null(st.curves);
    for (int i = 0; i < 60; i++)
        for (int e = 0; e < 3; e++) {
            cv_curve_row *c = &st.curves[st.n_curves++];
            c->trial = i, c->epoch = e + 1;
            c->dev_accuracy = c->train_accuracy = 0.3 + 0.1 * e;
            c->dev_loss = c->train_loss = 2.0 / (e + 1);
        }
    const char *dir = tu_path("figures/nested");
    OK(cv_report_svg(&st, dir, 4, NULL, &err));
    int with_metric = 60 - 60 / 11; /* failed trials have none */
    char path[600];
    static const char *const names[] = {"learning_rate", "beta1", "layers", "hidden_units"};
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/metric_%s.svg", dir, names[k]);
        int n = count_in_file(path, "<circle class=\"trial\"");
        CHECK(n == with_metric, "%s: %d points, expected %d", path, n, with_metric);
        CHECK(count_in_file(path, "class=\"best\"") == 1, "%s: the best marked once", path);
    }
    snprintf(path, sizeof path, "%s/parallel.svg", dir);
    CHECK(count_in_file(path, "<polyline class=\"trial\"") == with_metric, "parallel lines");
    snprintf(path, sizeof path, "%s/curves.svg", dir);
    CHECK(count_in_file(path, "<polyline class=\"trial\"") == 4 * 4, "4 trials x 2 sets x 2 panels");
    cv_study_free(&st);
}

/* ---- the page ------------------------------------------------------------------ */

/* How many times needle occurs in s. */
static int count_in(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* The page of st (cv_report_html) as a fresh string. */
static char *page_of(const cv_study *st, int refresh)
{
    cv_error err = {0};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    OK(cv_report_html(f, st, 4, refresh, &err));
    CHECK(fclose(f) == 0 && text != NULL, "the page was not written");
    return text;
}

static void test_html_page(void **state)
{
    (void)state;
    cv_error err = {0};
    static const char text[] =
        "name: \"a <script>alert('x')</script> & b\"\n"
        "search: {trials: 40, rounds: 1, seed: 3}\n"
        "parameters:\n"
        "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n"
        "  hidden_units: {values: [8, 16, 32]}\n";
    cv_study st;
    synthetic_study(&st, text, 40, CV_METRIC_DEV_ACCURACY);
    st.runs = calloc(1, sizeof *st.runs);
    assert_non_null(st.runs);
    st.n_runs = 1;
    snprintf(st.runs[0].hosts, sizeof st.runs[0].hosts, "<b>node1</b> x2");
    snprintf(st.runs[0].cpu_model, sizeof st.runs[0].cpu_model, "\"quoted\" & <cpu>");

    char *page = page_of(&st, 0);
    CHECK(strncmp(page, "<!DOCTYPE html>\n", 16) == 0, "a document");
    CHECK(strstr(page, "a &lt;script&gt;alert('x')&lt;/script&gt; &amp; b") != NULL,
          "the job's name escaped");
    CHECK(count_in(page, "<script") == 1, "one script, the page's own");
    CHECK(strstr(page, "&lt;b&gt;node1&lt;/b&gt; x2") != NULL && strstr(page, "<b>") == NULL,
          "the hosts escaped");
    CHECK(strstr(page, "&quot;quoted&quot; &amp; &lt;cpu&gt;") != NULL, "the CPU escaped");
    CHECK(strstr(page, "http") == NULL && strstr(page, "<?xml") == NULL,
          "nothing from outside, no XML declaration inside the page");
    CHECK(strstr(page, "http-equiv") == NULL, "no reload unless asked");
    /* every trial with a metric: a row, and a mark in each parameter's figure
     * and in parallel coordinates (4 trials x 2 sets x 2 panels in the curves,
     * none here: no curves loaded) */
    int with_metric = 40 - 40 / 11;
    CHECK(count_in(page, "<tr") >= 40, "a row per trial");
    CHECK(count_in(page, "class=\"trial\"") == 3 * with_metric, "%d marks, expected %d",
          count_in(page, "class=\"trial\""), 3 * with_metric);
    CHECK(count_in(page, "<svg") == count_in(page, "</svg>"), "every figure closed");
    free(page);

    page = page_of(&st, 7);
    CHECK(strstr(page, "<meta http-equiv=\"refresh\" content=\"7\">") != NULL, "reloads every 7 s");
    free(page);

    /* the file: whole, nothing left beside it */
    const char *path = tu_path("page.html");
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    OK(cv_report_html_check(path, NULL, &err));
    CHECK(access(tmp, F_OK) != 0, "the check leaves nothing behind");
    OK(cv_report_html_file(&st, path, 4, 0, &err));
    OK(cv_report_html_file(&st, path, 4, 0, &err)); /* replaces it */
    CHECK(access(path, F_OK) == 0 && access(tmp, F_OK) != 0, "the page, and no PATH.tmp");
    CHECK(cv_report_html_check(tu_path(""), NULL, &err) == CV_ERR_INPUT &&
              strstr(err.msg, "is a directory") != NULL,
          "a directory: %s", err.msg);
    cv_error_clear(&err);
    CHECK(cv_report_html_check(tu_path("no/such/page.html"), NULL, &err) == CV_ERR_INPUT &&
              strstr(err.msg, "no/such/page.html: cannot write the page there") != NULL,
          "a missing directory: %s", err.msg);
    cv_error_clear(&err);
    CHECK(cv_report_html_check(path, path, &err) == CV_ERR_INPUT &&
              strstr(err.msg, "is the results file") != NULL,
          "the results file: %s", err.msg);
    cv_study_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_importance_known),
        cmocka_unit_test(test_importance_loss),
        cmocka_unit_test(test_leaderboard_order),
        cmocka_unit_test(test_suggest_parses),
        cmocka_unit_test(test_store_study),
        cmocka_unit_test(test_svg_marks),
        cmocka_unit_test(test_html_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
