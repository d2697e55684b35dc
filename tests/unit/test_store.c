/* test_store.c: the HDF5 results file (caviar/store.h).
 *
 * Checks: what is written reads back bit-identical (root, /data, trials,
 * curves, checkpoints with optimizer moments and step count, before and
 * after gathering); files that are not caviar's (plain HDF5, not HDF5,
 * missing, truncated) are refused as bad input with a message naming them;
 * a writer killed with SIGKILL in SWMR mode loses no flushed row and its
 * side-file checkpoints load, and the file can be appended to again;
 * checkpoints {keep: K}, all and 0 keep the right trials, /best links the
 * best, side files are removed; /rounds takes the searched parameters only;
 * rewriting /trials; bad trial numbers are named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caviar/rng.h"
#include "caviar/run.h"
#include "caviar/store.h"
#include "testutil.h"

/* Asserts a store call succeeded, printing its message otherwise. */
#define OK(call)                                                                                 \
    do {                                                                                         \
        cv_error_clear(&err);                                                                    \
        int rc_ = (call);                                                                        \
        CHECK(rc_ == 0, "%s -> %d: %s", #call, rc_, err.msg);                                    \
    } while (0)

enum { D = 3, CLASSES = 4 };


/* A live network's checkpoint: its state saved, then written as plain data. */
static int save_net(cv_store *s, const cv_nn *net, const cv_checkpoint_info *info, cv_error *err)
{
    size_t n = cv_nn_state_size(net);
    float *data = malloc(n * sizeof *data);
    if (data == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "out of memory");
    cv_nn_state_save(net, data);
    cv_nn_state st = {.config = *cv_nn_config(net),
                      .inputs = cv_nn_inputs(net),
                      .classes = cv_nn_classes(net),
                      .data = data};
    int rc = cv_store_save_checkpoint(s, &st, info, err);
    free(data);
    return rc;
}
static const char job_text[] = "name: unit\n"
                               "search:\n"
                               "  seed: 11\n"
                               "  metric: dev_accuracy\n"
                               "checkpoints: {keep: 2}\n"
                               "parameters:\n"
                               "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n"
                               "  optimizer: {values: [sgd, adam]}\n"
                               "  layers: 2\n"
                               "  hidden_units: 5\n";

static void load_job(cv_job *job)
{
    cv_error err = {0};
    const char *path = tu_write_text("job.yaml", job_text);
    CHECK(cv_job_load(job, path, &err) == 0, "%s", err.msg);
}

/* A cv_data carrying only what the store writes. */
static cv_data fake_data(void)
{
    cv_data d = {0};
    d.d = D;
    d.classes = CLASSES;
    d.mean = malloc(D * sizeof *d.mean);
    d.std = malloc(D * sizeof *d.std);
    d.source = strdup("fake.csv");
    assert_non_null(d.mean);
    assert_non_null(d.std);
    for (int j = 0; j < D; j++) {
        d.mean[j] = 0.1f * (float)j + 1.0f / 3.0f;
        d.std[j] = 2.0f + 1.0f / 7.0f * (float)j;
    }
    d.train.n = 100, d.dev.n = 20, d.test.n = 30;
    return d;
}

/* A trial row whose every field differs from its defaults. */
static cv_trial_row make_row(int64_t trial, double dev_accuracy)
{
    cv_trial_row r = {0};
    cv_config_defaults(&r.config);
    r.trial = trial;
    r.round = (int32_t)(trial % 3);
    r.status = trial % 4 == 3 ? CV_TRIAL_DIVERGED : CV_TRIAL_DONE;
    r.worker = (int32_t)(trial % 2 + 1);
    r.seed = 0xfedcba9876543210ULL + (uint64_t)trial;
    r.parent = trial == 2 ? 1 : -1;
    r.config.learning_rate = 1.0 / (3.0 + (double)trial);
    r.config.optimizer = trial % 2 ? CV_OPT_SGD : CV_OPT_ADAM;
    r.config.lr_schedule = CV_LR_STEP;
    r.config.batch_norm = trial % 2 == 0;
    r.config.activation = CV_ACT_LEAKY_RELU;
    r.config.hidden_units = 5;
    r.config.dropout = 0.125;
    r.dev_accuracy = dev_accuracy;
    r.dev_loss = 1.0 - dev_accuracy / 3.0;
    r.train_accuracy = 0.1 + 1.0 / 9.0;
    r.train_loss = 0.7;
    r.test_accuracy = trial == 0 ? 0.8125 : NAN;
    r.best_epoch = 3;
    r.epochs_done = 4;
    r.seconds = 1.25;
    r.samples_per_second = 12345.678;
    return r;
}

static bool rows_equal(const cv_trial_row *a, const cv_trial_row *b)
{
    /* Field by field: doubles bitwise (NaN included), the config by value. */
#define SAME(f) (memcmp(&a->f, &b->f, sizeof a->f) == 0)
    bool ok = SAME(trial) && SAME(round) && SAME(status) && SAME(worker) && SAME(seed) &&
              SAME(parent) && SAME(dev_accuracy) && SAME(dev_loss) && SAME(train_accuracy) &&
              SAME(train_loss) && SAME(test_accuracy) && SAME(best_epoch) && SAME(epochs_done) &&
              SAME(seconds) && SAME(samples_per_second);
#undef SAME
    for (int p = 0; p < CV_P_COUNT; p++) {
        double x = cv_config_get(&a->config, (cv_param)p), y = cv_config_get(&b->config, (cv_param)p);
        ok = ok && memcmp(&x, &y, sizeof x) == 0;
    }
    return ok;
}

static cv_curve_row make_curve(int64_t trial, int epoch)
{
    return (cv_curve_row){.trial = trial,
                          .epoch = epoch,
                          .train_loss = 1.0 / (epoch + 1.5),
                          .train_accuracy = 0.5 + epoch / 100.0,
                          .dev_loss = NAN,
                          .dev_accuracy = 0.3 + 1.0 / 7.0,
                          .learning_rate = 1e-3 / (1 + epoch),
                          .seconds = 0.01 * epoch};
}

static bool curves_equal(const cv_curve_row *a, const cv_curve_row *b)
{
#define SAME(f) (memcmp(&a->f, &b->f, sizeof a->f) == 0)
    return SAME(trial) && SAME(epoch) && SAME(train_loss) && SAME(train_accuracy) &&
           SAME(dev_loss) && SAME(dev_accuracy) && SAME(learning_rate) && SAME(seconds);
#undef SAME
}

/* A network with every part of its state set: weights, running stats,
 * moments (random) and a step count. */
static cv_nn *make_net(const cv_config *cfg, uint64_t seed)
{
    cv_error err = {0};
    cv_nn *net = cv_nn_create(cfg, D, CLASSES, 8, &err);
    CHECK(net != NULL, "%s", err.msg);
    cv_nn_init(net, seed);
    cv_rng r;
    cv_rng_seed(&r, seed ^ 0x77);
    for (int i = 0; i < cv_nn_tensor_count(net); i++) {
        cv_tensor t = cv_nn_tensor(net, i);
        size_t n = (size_t)t.dims[0] * (size_t)(t.rank == 2 ? t.dims[1] : 1);
        for (size_t k = 0; k < n; k++) {
            t.data[k] = (float)cv_rng_normal(&r);
            if (t.trainable) {
                t.m[k] = (float)cv_rng_normal(&r);
                t.v[k] = (float)cv_rng_uniform(&r);
            }
        }
    }
    cv_nn_set_steps(net, 1000 + (int64_t)seed);
    return net;
}

static float *state_of(const cv_nn *net)
{
    float *s = malloc(cv_nn_state_size(net) * sizeof *s);
    assert_non_null(s);
    cv_nn_state_save(net, s);
    return s;
}

/* Loads trial's checkpoint from s into a fresh network of cfg's shape and
 * checks it equals want's state bit for bit. */
static void check_checkpoint(cv_store *s, int64_t trial, const cv_nn *want)
{
    cv_error err = {0};
    cv_checkpoint_info info;
    OK(cv_store_checkpoint_info(s, trial, &info, &err));
    CHECK(info.trial == trial || trial == CV_STORE_BEST, "info.trial %lld", (long long)info.trial);
    CHECK(info.inputs == D && info.classes == CLASSES, "shape %d %d", info.inputs, info.classes);
    CHECK(info.steps == cv_nn_steps(want), "steps %lld", (long long)info.steps);
    const cv_config *wc = cv_nn_config(want);
    for (int p = 0; p < CV_P_COUNT; p++) {
        double x = cv_config_get(&info.config, (cv_param)p), y = cv_config_get(wc, (cv_param)p);
        CHECK(x == y, "config %s: %g != %g", cv_param_get_info((cv_param)p)->name, x, y);
    }
    cv_nn *net = cv_nn_create(&info.config, info.inputs, info.classes, 4, &err);
    CHECK(net != NULL, "%s", err.msg);
    OK(cv_store_load_checkpoint(s, trial, net, &err));
    float *a = state_of(net), *b = state_of(want);
    CHECK(memcmp(a, b, cv_nn_state_size(net) * sizeof *a) == 0, "trial %lld: state differs",
          (long long)trial);
    free(a), free(b);
    cv_nn_free(net);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- round trip -------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_job job;
    load_job(&job);
    cv_data data = fake_data();
    const char *path = tu_path("round_trip.h5");
    cv_store *s = NULL;
    OK(cv_store_create(&s, path, &job, 3, false, &err));
    OK(cv_store_write_data(s, &data, &err));
    OK(cv_store_start_swmr(s, &err));

    cv_trial_row rows[4];
    cv_curve_row curves[6];
    for (int i = 0; i < 4; i++)
        rows[i] = make_row(i, 0.5 + 0.1 * i);
    for (int i = 0; i < 6; i++)
        curves[i] = make_curve(i / 3, i % 3 + 1);
    OK(cv_store_append_curves(s, curves, 4, &err));
    OK(cv_store_append_curves(s, curves + 4, 2, &err));
    for (int i = 0; i < 4; i++)
        OK(cv_store_append_trial(s, &rows[i], &err));

    cv_round_param rp[2] = {{"learning_rate", 1e-4, 1.0, NULL},
                            {"optimizer", NAN, NAN, "sgd,adam"}};
    OK(cv_store_append_round(s, 0, rp, 2, &err));
    cv_round_param bad = {"dropout", 0, 0.5, NULL};
    CHECK(cv_store_append_round(s, 1, &bad, 1, &err) == CV_ERR_INPUT, "unsearched parameter");
    CHECK(strstr(err.msg, "dropout") != NULL, "%s", err.msg);

    cv_config cfg;
    cv_config_defaults(&cfg);
    cfg.layers = 2, cfg.hidden_units = 5, cfg.optimizer = CV_OPT_MOMENTUM;
    cfg.activation = CV_ACT_TANH, cfg.bn_epsilon = 3e-4, cfg.batch_norm = false;
    cv_nn *n0 = make_net(&cfg, 1), *n2 = make_net(&cfg, 2);
    cv_checkpoint_info i0 = {
        .trial = 0, .epochs = 3, .dev_accuracy = 0.5, .dev_loss = 0.8, .seed = 0xabcdef0123ULL};
    cv_checkpoint_info i2 = {.trial = 2, .epochs = 3, .dev_accuracy = 0.7, .dev_loss = 0.7};
    OK(save_net(s, n0, &i0, &err));
    OK(save_net(s, n2, &i2, &err));
    /* Before the gather the side files answer. */
    check_checkpoint(s, 2, n2);
    OK(cv_store_gather_checkpoints(s, CV_CHECKPOINTS_ALL, CV_METRIC_DEV_ACCURACY, &err));
    CHECK(!exists(tu_path("round_trip.h5.ckpt")), "side files left after the gather");
    OK(cv_store_close(s, &err));

    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    CHECK(strcmp(cv_store_job_text(s), job_text) == 0, "job text");
    cv_job again;
    OK(cv_job_parse(&again, cv_store_job_path(s), cv_store_job_text(s),
                    strlen(cv_store_job_text(s)), &err));
    CHECK(again.search.seed == 11 && again.checkpoints_keep == 2, "stored job");
    CHECK(cv_store_metric(s) == again.search.metric, "the metric attribute");
    cv_job_free(&again);

    cv_store_data sd;
    OK(cv_store_read_data(s, &sd, &err));
    CHECK(sd.d == D && sd.classes == CLASSES && sd.train_size == 100 && sd.dev_size == 20 &&
              sd.test_size == 30 && strcmp(sd.source, "fake.csv") == 0,
          "/data attributes");
    CHECK(memcmp(sd.mean, data.mean, D * sizeof *sd.mean) == 0 &&
              memcmp(sd.std, data.std, D * sizeof *sd.std) == 0,
          "/data standardization");
    cv_store_data_free(&sd);

    cv_trial_row *got = NULL;
    int64_t n = 0;
    OK(cv_store_read_trials(s, &got, &n, &err));
    CHECK(n == 4, "%lld trials", (long long)n);
    for (int i = 0; i < 4; i++)
        CHECK(rows_equal(&got[i], &rows[i]), "trial row %d differs", i);
    free(got);

    cv_curve_row *gc = NULL;
    OK(cv_store_read_curves(s, &gc, &n, &err));
    CHECK(n == 6, "%lld curve rows", (long long)n);
    for (int i = 0; i < 6; i++)
        CHECK(curves_equal(&gc[i], &curves[i]), "curve row %d differs", i);
    free(gc);

    int64_t nr = 0;
    OK(cv_store_round_count(s, &nr, &err));
    CHECK(nr == 1, "%lld rounds", (long long)nr);

    check_checkpoint(s, 0, n0);
    check_checkpoint(s, 2, n2);
    check_checkpoint(s, CV_STORE_BEST, n2);
    cv_checkpoint_info got0;
    OK(cv_store_checkpoint_info(s, 0, &got0, &err));
    CHECK(got0.seed == i0.seed && got0.epochs == 3 && got0.dev_accuracy == 0.5 &&
              got0.dev_loss == 0.8,
          "checkpoint attributes");

    /* No such trial; a trial without a checkpoint. */
    cv_checkpoint_info info;
    CHECK(cv_store_checkpoint_info(s, 99, &info, &err) == CV_ERR_INPUT, "trial 99");
    CHECK(strstr(err.msg, "no trial 99") != NULL, "%s", err.msg);
    cv_error_clear(&err);
    CHECK(cv_store_checkpoint_info(s, 1, &info, &err) == CV_ERR_INPUT, "trial 1");
    CHECK(strstr(err.msg, "trial 1 has no checkpoint") != NULL, "%s", err.msg);
    /* A read-only store takes no rows. */
    cv_error_clear(&err);
    CHECK(cv_store_append_trial(s, &rows[0], &err) < 0, "append to a read-only store");
    OK(cv_store_close(s, &err));

    cv_nn_free(n0), cv_nn_free(n2);
    cv_data_free(&data);
    cv_job_free(&job);
}

/* ---- files that are not caviar's ---------------------------------------------- */

static void expect_refused(const char *path, const char *needle)
{
    cv_error err = {0};
    cv_store *s = NULL;
    int rc = cv_store_open(&s, path, CV_STORE_READ, &err);
    CHECK(rc == CV_ERR_INPUT, "%s: open returned %d (%s)", path, rc, err.msg);
    CHECK(s == NULL, "handle left");
    CHECK(strstr(err.msg, path) != NULL && strstr(err.msg, needle) != NULL,
          "message '%s' lacks '%s'", err.msg, needle);
}

static void test_refuses_foreign_files(void **state)
{
    (void)state;
    /* A valid HDF5 file without the format attribute. */
    const char *plain = tu_path("plain.h5");
    hid_t file = H5Fcreate(plain, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t g = H5Gcreate2(file, "trials", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(g >= 0);
    assert_true(H5Gclose(g) >= 0 && H5Fclose(file) >= 0);
    expect_refused(plain, "not a caviar results file (no 'format' attribute)");
    cv_error e2 = {0};
    cv_store *t = NULL;
    CHECK(cv_store_open(&t, plain, CV_STORE_APPEND, &e2) == CV_ERR_INPUT, "append to plain.h5");
    CHECK(!exists(tu_path("plain.h5.ckpt")), "a failed writer left plain.h5.ckpt");
    /* The store leaves HDF5's automatic error printing off (caviar/store.h):
     * HDF5's failures show in the store's own messages. */
    H5E_auto2_t f2 = NULL;
    void *d2 = NULL;
    H5Eget_auto2(H5E_DEFAULT, &f2, &d2);
    CHECK(f2 == NULL, "HDF5 error printing left on");

    expect_refused(tu_write_text("text.h5", "label,a\n0,1\n"), "not an HDF5 file");
    expect_refused(tu_path("missing.h5"), "No such file");

    /* A results file cut short. */
    cv_error err = {0};
    cv_job job;
    load_job(&job);
    cv_data data = fake_data();
    cv_store *s = NULL;
    const char *whole = tu_path("whole.h5");
    OK(cv_store_create(&s, whole, &job, 1, false, &err));
    OK(cv_store_write_data(s, &data, &err));
    cv_trial_row row = make_row(0, 0.5);
    OK(cv_store_append_trial(s, &row, &err));
    OK(cv_store_close(s, &err));
    FILE *in = fopen(whole, "rb");
    assert_non_null(in);
    char buf[1500];
    size_t got = fread(buf, 1, sizeof buf, in);
    fclose(in);
    CHECK(got == sizeof buf, "results file shorter than %zu bytes", sizeof buf);
    expect_refused(tu_write("truncated.h5", buf, got), "cannot open");

    /* Creating over an existing file needs overwrite. */
    CHECK(cv_store_create(&s, whole, &job, 1, false, &err) == CV_ERR_INPUT, "overwrote");
    CHECK(strstr(err.msg, "already exists") != NULL, "%s", err.msg);
    cv_error_clear(&err);
    CHECK(cv_store_check_output(whole, false, &err) == CV_ERR_INPUT, "check_output");
    CHECK(cv_store_check_output(whole, true, &err) == 0, "check_output --force");
    CHECK(cv_store_check_output("/nonexistent-dir/x.h5", true, &err) == CV_ERR_INPUT,
          "missing directory");
    cv_data_free(&data);
    cv_job_free(&job);
}

/* ---- a killed writer ----------------------------------------------------------- */

enum { KILLED_TRIALS = 5, KILLED_CURVES = 23 };

static void test_killed_writer(void **state)
{
    (void)state;
    const char *path = tu_path("killed.h5");
    cv_config cfg;
    cv_config_defaults(&cfg);
    cfg.layers = 1, cfg.hidden_units = 5;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child writes, flushing each row, then dies without closing. */
        cv_error err = {0};
        cv_job job;
        const char *jp = tu_write_text("job_k.yaml", job_text);
        cv_data data = fake_data();
        cv_store *s = NULL;
        if (cv_job_load(&job, jp, &err) != 0 || cv_store_create(&s, path, &job, 2, false, &err) ||
            cv_store_write_data(s, &data, &err) || cv_store_start_swmr(s, &err))
            _exit(3);
        for (int i = 0; i < KILLED_CURVES; i++) {
            cv_curve_row c = make_curve(i / 5, i % 5 + 1);
            if (cv_store_append_curves(s, &c, 1, &err))
                _exit(4);
        }
        for (int i = 0; i < KILLED_TRIALS; i++) {
            cv_trial_row r = make_row(i, 0.25 + 0.1 * i);
            if (cv_store_append_trial(s, &r, &err))
                _exit(5);
        }
        cv_nn *net = make_net(&cfg, 9);
        cv_checkpoint_info info = {.trial = 3, .epochs = 4, .dev_accuracy = 0.55, .dev_loss = 1};
        if (save_net(s, net, &info, &err))
            _exit(6);
        kill(getpid(), SIGKILL);
        _exit(7);
    }
    int status = 0;
    assert_true(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);

    cv_error err = {0};
    cv_store *s = NULL;
    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    cv_trial_row *rows = NULL;
    cv_curve_row *curves = NULL;
    int64_t n = 0;
    OK(cv_store_read_trials(s, &rows, &n, &err));
    CHECK(n == KILLED_TRIALS, "%lld of %d trial rows", (long long)n, KILLED_TRIALS);
    for (int i = 0; i < n; i++) {
        cv_trial_row want = make_row(i, 0.25 + 0.1 * i);
        CHECK(rows_equal(&rows[i], &want), "trial row %d differs", i);
    }
    free(rows);
    OK(cv_store_read_curves(s, &curves, &n, &err));
    CHECK(n == KILLED_CURVES, "%lld of %d curve rows", (long long)n, KILLED_CURVES);
    for (int i = 0; i < n; i++) {
        cv_curve_row want = make_curve(i / 5, i % 5 + 1);
        CHECK(curves_equal(&curves[i], &want), "curve row %d differs", i);
    }
    free(curves);
    /* Its checkpoint survives in the side file; best falls back to it. */
    cv_nn *want = make_net(&cfg, 9);
    check_checkpoint(s, 3, want);
    check_checkpoint(s, CV_STORE_BEST, want);
    OK(cv_store_close(s, &err));

    /* Resuming: append to it, gather, and a plain open works again. */
    OK(cv_store_open(&s, path, CV_STORE_APPEND, &err));
    cv_trial_row extra = make_row(KILLED_TRIALS, 0.9);
    OK(cv_store_append_trial(s, &extra, &err));
    OK(cv_store_gather_checkpoints(s, CV_CHECKPOINTS_ALL, CV_METRIC_DEV_ACCURACY, &err));
    OK(cv_store_close(s, &err));
    H5E_auto2_t f;
    void *d;
    H5Eget_auto2(H5E_DEFAULT, &f, &d);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, f, d);
    CHECK(file >= 0, "plain open after resume and close");
    H5Fclose(file);
    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    OK(cv_store_read_trials(s, &rows, &n, &err));
    CHECK(n == KILLED_TRIALS + 1, "%lld trial rows after the resume", (long long)n);
    free(rows);
    check_checkpoint(s, 3, want);
    OK(cv_store_close(s, &err));
    cv_nn_free(want);
}

/* ---- keeping checkpoints ------------------------------------------------------- */

enum { KEEP_TRIALS = 5 };
/* dev accuracy of trial i: best is 3, then 1, 4, 0, 2 */
static const double keep_acc[KEEP_TRIALS] = {0.6, 0.8, 0.5, 0.9, 0.7};

/* Writes KEEP_TRIALS trials with side files, gathers with keep, and checks
 * which checkpoints remain (by the dev accuracy order above). */
static void check_keep(int keep, cv_metric metric, const int *want, int n_want)
{
    cv_error err = {0};
    cv_job job;
    load_job(&job);
    cv_data data = fake_data();
    char name[64];
    snprintf(name, sizeof name, "keep_%d_%d.h5", keep, (int)metric);
    const char *path = tu_path(name);
    cv_store *s = NULL;
    OK(cv_store_create(&s, path, &job, 1, true, &err));
    OK(cv_store_write_data(s, &data, &err));
    OK(cv_store_start_swmr(s, &err));
    cv_config cfg;
    cv_config_defaults(&cfg);
    cfg.layers = 1, cfg.hidden_units = 3;
    cv_nn *nets[KEEP_TRIALS];
    for (int i = 0; i < KEEP_TRIALS; i++) {
        cv_trial_row r = make_row(i, keep_acc[i]);
        r.status = CV_TRIAL_DONE;
        r.dev_loss = keep_acc[i]; /* so that dev_loss ranks the other way round */
        OK(cv_store_append_trial(s, &r, &err));
        nets[i] = make_net(&cfg, 100 + (uint64_t)i);
        cv_checkpoint_info info = {.trial = i, .epochs = 2, .dev_accuracy = keep_acc[i]};
        OK(save_net(s, nets[i], &info, &err));
    }
    OK(cv_store_gather_checkpoints(s, keep, metric, &err));
    OK(cv_store_close(s, &err));
    snprintf(name, sizeof name, "keep_%d_%d.h5.ckpt", keep, (int)metric);
    CHECK(!exists(tu_path(name)), "side files left");

    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    for (int i = 0; i < KEEP_TRIALS; i++) {
        bool kept = false;
        for (int k = 0; k < n_want; k++)
            kept |= want[k] == i;
        cv_checkpoint_info info;
        cv_error_clear(&err);
        int rc = cv_store_checkpoint_info(s, i, &info, &err);
        CHECK(kept ? rc == 0 : rc == CV_ERR_INPUT, "keep %d: trial %d: rc %d (%s)", keep, i, rc,
              err.msg);
        if (kept)
            check_checkpoint(s, i, nets[i]);
    }
    if (n_want > 0) {
        check_checkpoint(s, CV_STORE_BEST, nets[want[0]]);
        cv_checkpoint_info info;
        OK(cv_store_checkpoint_info(s, CV_STORE_BEST, &info, &err));
        CHECK(info.trial == want[0], "best is %lld, expected %d", (long long)info.trial, want[0]);
    } else {
        cv_checkpoint_info info;
        CHECK(cv_store_checkpoint_info(s, CV_STORE_BEST, &info, &err) == CV_ERR_INPUT,
              "best without checkpoints");
    }
    OK(cv_store_close(s, &err));
    for (int i = 0; i < KEEP_TRIALS; i++)
        cv_nn_free(nets[i]);
    cv_data_free(&data);
    cv_job_free(&job);
}

static void test_keep(void **state)
{
    (void)state;
    const int top2[] = {3, 1}, all[] = {3, 1, 4, 0, 2}, loss2[] = {2, 0};
    check_keep(2, CV_METRIC_DEV_ACCURACY, top2, 2);
    check_keep(CV_CHECKPOINTS_ALL, CV_METRIC_DEV_ACCURACY, all, 5);
    check_keep(0, CV_METRIC_DEV_ACCURACY, NULL, 0);
    check_keep(2, CV_METRIC_DEV_LOSS, loss2, 2);
    check_keep(9, CV_METRIC_DEV_ACCURACY, all, 5);
}

/* A second gather (babysitting appends to a finished file) keeps what the
 * first kept, adds the new checkpoint, and moves /best when it is better. */
static void test_second_gather(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_job job;
    load_job(&job);
    cv_data data = fake_data();
    const char *path = tu_path("second.h5");
    cv_store *s = NULL;
    cv_config cfg;
    cv_config_defaults(&cfg);
    cfg.layers = 1, cfg.hidden_units = 3;
    cv_nn *a = make_net(&cfg, 1), *b = make_net(&cfg, 2);
    OK(cv_store_create(&s, path, &job, 1, false, &err));
    OK(cv_store_write_data(s, &data, &err));
    OK(cv_store_start_swmr(s, &err));
    cv_trial_row r = make_row(0, 0.5);
    OK(cv_store_append_trial(s, &r, &err));
    cv_checkpoint_info info = {.trial = 0, .epochs = 1, .dev_accuracy = 0.5};
    OK(save_net(s, a, &info, &err));
    OK(cv_store_gather_checkpoints(s, 1, CV_METRIC_DEV_ACCURACY, &err));
    OK(cv_store_close(s, &err));

    OK(cv_store_open(&s, path, CV_STORE_APPEND, &err));
    r = make_row(1, 0.75);
    r.parent = 0;
    OK(cv_store_append_trial(s, &r, &err));
    info = (cv_checkpoint_info){.trial = 1, .epochs = 2, .dev_accuracy = 0.75};
    OK(save_net(s, b, &info, &err));
    OK(cv_store_gather_checkpoints(s, CV_CHECKPOINTS_ALL, CV_METRIC_DEV_ACCURACY, &err));
    /* The final table can be rewritten once out of SWMR mode. */
    cv_trial_row final[1] = {make_row(1, 0.75)};
    OK(cv_store_rewrite_trials(s, final, 1, &err));
    OK(cv_store_close(s, &err));

    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    check_checkpoint(s, 0, a);
    check_checkpoint(s, 1, b);
    check_checkpoint(s, CV_STORE_BEST, b);
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    OK(cv_store_read_trials(s, &rows, &n, &err));
    CHECK(n == 1 && rows_equal(&rows[0], &final[0]), "rewritten /trials");
    free(rows);
    OK(cv_store_close(s, &err));
    cv_nn_free(a), cv_nn_free(b);
    cv_data_free(&data);
    cv_job_free(&job);
}

/* While one writer holds a file (in SWMR mode, where HDF5 no longer locks
 * it), a second writer is refused instead of clearing its status flags. */
static void test_second_writer_refused(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_job job;
    load_job(&job);
    cv_data data = fake_data();
    const char *path = tu_path("busy.h5");
    cv_store *s = NULL, *t = NULL;
    OK(cv_store_create(&s, path, &job, 1, false, &err));
    OK(cv_store_write_data(s, &data, &err));
    OK(cv_store_start_swmr(s, &err));
    int rc = cv_store_open(&t, path, CV_STORE_APPEND, &err);
    CHECK(rc == CV_ERR_INPUT && t == NULL, "second writer: %d (%s)", rc, err.msg);
    CHECK(strstr(err.msg, "another caviar process is writing") != NULL, "%s", err.msg);
    cv_error_clear(&err);
    CHECK(cv_store_create(&t, path, &job, 1, true, &err) == CV_ERR_INPUT, "overwrite while busy");
    cv_trial_row r = make_row(0, 0.5);
    OK(cv_store_append_trial(s, &r, &err)); /* the first writer is unharmed */
    OK(cv_store_close(s, &err));
    OK(cv_store_open(&t, path, CV_STORE_APPEND, &err)); /* free again */
    OK(cv_store_close(t, &err));
    cv_data_free(&data);
    cv_job_free(&job);
}

static cv_run_info make_run(const char *command, const char *core)
{
    cv_run_info r = {.blas_threads = 1, .ranks = 3};
    snprintf(r.started, sizeof r.started, "2026-12-02T10:00:00Z");
    snprintf(r.command, sizeof r.command, "%s", command);
    snprintf(r.caviar_version, sizeof r.caviar_version, "0.1.0");
    snprintf(r.blas_core, sizeof r.blas_core, "%s", core);
    snprintf(r.cpu_model, sizeof r.cpu_model, "a CPU model whose name is long enough, 2.80GHz");
    snprintf(r.hosts, sizeof r.hosts, "node1 x2, node2 x1");
    return r;
}

static bool runs_equal(const cv_run_info *a, const cv_run_info *b)
{
    return strcmp(a->started, b->started) == 0 && strcmp(a->command, b->command) == 0 &&
           strcmp(a->caviar_version, b->caviar_version) == 0 &&
           strcmp(a->blas_core, b->blas_core) == 0 && a->blas_threads == b->blas_threads &&
           strcmp(a->cpu_model, b->cpu_model) == 0 && a->ranks == b->ranks &&
           strcmp(a->hosts, b->hosts) == 0;
}

/* /runs: a row per run, before and in SWMR mode, read back as written; a
 * file written before the table existed reads none, and gets the table when
 * it is opened for writing. */
static void test_runs(void **state)
{
    (void)state;
    cv_error err = {0};
    cv_job job;
    load_job(&job);
    cv_data data = fake_data();
    const char *path = tu_path("runs.h5");
    cv_store *s = NULL;
    cv_run_info want[2] = {make_run("run", "SkylakeX"), make_run("resume", "Haswell")};
    OK(cv_store_create(&s, path, &job, 3, false, &err));
    OK(cv_store_write_data(s, &data, &err));
    OK(cv_store_append_run(s, &want[0], &err));
    OK(cv_store_start_swmr(s, &err));
    OK(cv_store_append_run(s, &want[1], &err));
    OK(cv_store_close(s, &err));

    cv_run_info *got = NULL;
    int64_t n = 0;
    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    OK(cv_store_read_runs(s, &got, &n, &err));
    CHECK(n == 2 && runs_equal(&got[0], &want[0]) && runs_equal(&got[1], &want[1]),
          "%lld runs read back", (long long)n);
    free(got);
    OK(cv_store_close(s, &err));

    /* as a file of caviar 0.1.0: no /runs */
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0 && H5Ldelete(f, "runs", H5P_DEFAULT) >= 0 && H5Fclose(f) >= 0, "drop /runs");
    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    OK(cv_store_read_runs(s, &got, &n, &err));
    CHECK(n == 0 && got == NULL, "%lld runs in a file without /runs", (long long)n);
    OK(cv_store_close(s, &err));
    OK(cv_store_open(&s, path, CV_STORE_APPEND, &err));
    OK(cv_store_append_run(s, &want[1], &err));
    OK(cv_store_close(s, &err));
    OK(cv_store_open(&s, path, CV_STORE_READ, &err));
    OK(cv_store_read_runs(s, &got, &n, &err));
    CHECK(n == 1 && runs_equal(&got[0], &want[1]), "%lld runs after a resume", (long long)n);
    free(got);
    OK(cv_store_close(s, &err));
    cv_data_free(&data);
    cv_job_free(&job);
}

/* The row helpers number epochs from 1. */
static void test_row_fill(void **state)
{
    (void)state;
    cv_config cfg;
    cv_config_defaults(&cfg);
    cv_trial_result res = {.status = CV_TRIAL_DONE,
                           .best_epoch = 5, /* 0-based, counting first_epoch = 4 */
                           .epochs_done = 3,
                           .dev_accuracy = 0.5};
    cv_trial_row row;
    cv_trial_row_fill(&row, &cfg, &res, 4);
    CHECK(row.best_epoch == 6 && row.epochs_done == 7 && isnan(row.test_accuracy),
          "best %d done %d", row.best_epoch, row.epochs_done);
    res.best_epoch = -1;
    cv_trial_row_fill(&row, &cfg, &res, 0);
    CHECK(row.best_epoch == 0, "no epoch: best_epoch %d", row.best_epoch);
    cv_epoch_stats e = {.epoch = 0, .learning_rate = 0.1};
    cv_curve_row c;
    cv_curve_row_fill(&c, 7, &e);
    CHECK(c.epoch == 1 && c.trial == 7 && c.learning_rate == 0.1, "curve row");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refuses_foreign_files),
        cmocka_unit_test(test_killed_writer),
        cmocka_unit_test(test_keep),
        cmocka_unit_test(test_second_gather),
        cmocka_unit_test(test_second_writer_refused),
        cmocka_unit_test(test_row_fill),
        cmocka_unit_test(test_runs),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* h5dump reads every results file written (but the deliberately broken
     * ones), when hdf5-tools is installed. */
    char cmd[900];
    snprintf(cmd, sizeof cmd,
             "command -v h5dump >/dev/null || exit 0; for f in '%s'/*.h5; do "
             "case \"$f\" in */truncated.h5|*/text.h5) continue;; esac; "
             "h5dump \"$f\" >/dev/null 2>&1 || { echo \"h5dump cannot read $f\" >&2; exit 1; }; "
             "done",
             tu_dir());
    if (system(cmd) != 0)
        failed++;
    /* Remove the scratch directory (its files, then itself). */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_dir());
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tu_dir());
    return failed;
}
