/* test_job.c: job files (caviar/job.h): the full example, defaults, every
 * kind of mistake with its exact file:line:column, --set, fixed
 * configurations, data path resolution and the seed's full uint64 range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "caviar/job.h"
#include "testutil.h"

/* Writes text to tu_path(name) and loads it; the job must load. */
static void load_ok(cv_job *job, const char *name, const char *text)
{
    cv_error err = {0};
    const char *path = tu_write_text(name, text);
    int rc = cv_job_load(job, path, &err);
    if (rc != 0)
        fail_msg("%s should load, got %d: %s", name, rc, err.msg);
    assert_int_equal(err.code, CV_OK);
}

/* Writes len bytes and loads them; the load must fail with CV_ERR_INPUT, a
 * message starting "PATH:line:column: " and containing needle, and leave the
 * job zeroed. */
static void load_fails_bytes(const char *name, const char *text, size_t len, int line, int column,
                             const char *needle)
{
    cv_job job, zero;
    cv_error err = {0};
    char prefix[700];
    const char *path = tu_write(name, text, len);
    memset(&job, 0x5A, sizeof job);
    memset(&zero, 0, sizeof zero);
    int rc = cv_job_load(&job, path, &err);
    if (rc != CV_ERR_INPUT)
        fail_msg("%s: expected CV_ERR_INPUT, got %d (%s)", name, rc, err.msg);
    assert_int_equal(err.code, CV_ERR_INPUT);
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", path, line, column);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("%s: expected the message to start with \"%s\", got \"%s\"", name, prefix,
                 err.msg);
    assert_contains(err.msg, needle);
    assert_memory_equal(&job, &zero, sizeof job);
    cv_job_free(&job); /* safe after a failed load */
}

static void load_fails(const char *name, const char *text, int line, int column,
                       const char *needle)
{
    load_fails_bytes(name, text, strlen(text), line, column, needle);
}

static const char example[] =
    "name: fashion-mnist\n"
    "data:\n"
    "  source: fashion-mnist\n"
    "  dev_size: 10000\n"
    "search:\n"
    "  method: random\n"
    "  trials: 64\n"
    "  rounds: 2\n"
    "  keep: 0.25\n"
    "  seed: 7\n"
    "  metric: dev_loss\n"
    "checkpoints: {keep: 5}\n"
    "parameters:\n"
    "  epochs: 10\n"
    "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}\n"
    "  beta1: {distribution: one_minus_log_uniform, min: 0.9, max: 0.999}\n"
    "  layers: {distribution: int_uniform, min: 1, max: 4}\n"
    "  hidden_units: {values: [64, 128, 256, 512]}\n"
    "  batch_size: [64, 128]\n"
    "  lr_decay: {distribution: log_uniform, min: 1.0e-3, max: 1.0, points: 4}\n"
    "  optimizer: {values: [adam, momentum]}\n"
    "  batch_norm: {distribution: values, values: [true, false]}\n"
    "  dropout: {value: 0.1}\n"
    "  activation: tanh\n";

static void test_example(void **state)
{
    (void)state;
    cv_job job;
    load_ok(&job, "example.yaml", example);
    assert_string_equal(job.name, "fashion-mnist");
    assert_string_equal(job.data.source, "fashion-mnist"); /* the built-in word stays */
    assert_null(job.data.test);
    assert_true(job.data.dev_size == 10000);
    assert_int_equal(job.data.source_pos.line, 3);
    assert_int_equal(job.data.source_pos.column, 11);
    assert_int_equal(job.data.dev_size_pos.line, 4);
    assert_int_equal(job.search.method, CV_METHOD_RANDOM);
    assert_int_equal(job.search.trials, 64);
    assert_int_equal(job.search.rounds, 2);
    assert_true(job.search.keep == 0.25);
    assert_true(job.search.seed == 7);
    assert_int_equal(job.search.metric, CV_METRIC_DEV_LOSS);
    assert_int_equal(job.checkpoints_keep, 5);
    assert_string_equal(job.text, example);
    assert_false(cv_job_is_fixed(&job));

    const cv_param_spec *s = &job.params[CV_P_EPOCHS];
    assert_int_equal(s->dist, CV_DIST_CONSTANT);
    assert_true(s->value == 10);
    assert_true(s->given);
    assert_int_equal(s->pos.line, 14);
    assert_int_equal(s->pos.column, 11);

    s = &job.params[CV_P_LEARNING_RATE];
    assert_int_equal(s->dist, CV_DIST_LOG_UNIFORM);
    assert_true(s->min == 1e-4);
    assert_true(s->max == 1.0);
    assert_int_equal(s->points, 0);
    assert_true(s->given);
    assert_int_equal(s->pos.line, 15);
    assert_int_equal(s->pos.column, 18);

    s = &job.params[CV_P_BETA1];
    assert_int_equal(s->dist, CV_DIST_ONE_MINUS_LOG_UNIFORM);
    assert_true(s->min == 0.9);
    assert_true(s->max == 0.999);

    s = &job.params[CV_P_LAYERS];
    assert_int_equal(s->dist, CV_DIST_INT_UNIFORM);
    assert_true(s->min == 1);
    assert_true(s->max == 4);

    s = &job.params[CV_P_HIDDEN_UNITS];
    assert_int_equal(s->dist, CV_DIST_VALUES);
    assert_int_equal(s->n_values, 4);
    assert_non_null(s->values);
    assert_true(s->values[0] == 64 && s->values[1] == 128 && s->values[2] == 256 &&
                s->values[3] == 512);

    s = &job.params[CV_P_BATCH_SIZE];
    assert_int_equal(s->dist, CV_DIST_VALUES);
    assert_int_equal(s->n_values, 2);
    assert_true(s->values[0] == 64 && s->values[1] == 128);
    assert_int_equal(s->pos.line, 19);
    assert_int_equal(s->pos.column, 15);

    s = &job.params[CV_P_LR_DECAY];
    assert_int_equal(s->dist, CV_DIST_LOG_UNIFORM);
    assert_true(s->min == 1e-3);
    assert_true(s->max == 1.0);
    assert_int_equal(s->points, 4);

    s = &job.params[CV_P_OPTIMIZER];
    assert_int_equal(s->dist, CV_DIST_VALUES);
    assert_int_equal(s->n_values, 2);
    assert_true(s->values[0] == CV_OPT_ADAM && s->values[1] == CV_OPT_MOMENTUM);

    s = &job.params[CV_P_BATCH_NORM];
    assert_int_equal(s->dist, CV_DIST_VALUES);
    assert_true(s->values[0] == 1 && s->values[1] == 0);

    s = &job.params[CV_P_DROPOUT];
    assert_int_equal(s->dist, CV_DIST_CONSTANT);
    assert_true(s->value == 0.1);
    assert_true(s->given);

    s = &job.params[CV_P_ACTIVATION];
    assert_int_equal(s->dist, CV_DIST_CONSTANT);
    assert_true(s->value == CV_ACT_TANH);

    /* Not in the file: a constant at its default, not given, no position. */
    s = &job.params[CV_P_MOMENTUM];
    assert_int_equal(s->dist, CV_DIST_CONSTANT);
    assert_true(s->value == 0.9);
    assert_false(s->given);
    assert_int_equal(s->pos.line, 0);
    assert_int_equal(s->pos.column, 0);

    assert_string_equal(cv_dist_name(CV_DIST_LOG_UNIFORM), "log_uniform");
    assert_string_equal(cv_dist_name(CV_DIST_ONE_MINUS_LOG_UNIFORM), "one_minus_log_uniform");
    assert_string_equal(cv_dist_name(CV_DIST_VALUES), "values");
    cv_job_free(&job);
    assert_null(job.text);
    assert_null(job.params[CV_P_HIDDEN_UNITS].values);
}

/* An empty file, or one with only comments, is a valid job of defaults. */
static void test_empty_and_defaults(void **state)
{
    (void)state;
    static const char *const texts[] = {"", "# only a comment\n\n", "---\n", "~\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cv_job job;
        load_ok(&job, "my-study.v2.yaml", texts[i]);
        assert_string_equal(job.name, "my-study.v2"); /* base name without extension */
        assert_string_equal(job.data.source, "fashion-mnist");
        assert_null(job.data.test);
        assert_true(job.data.dev_size == 0);
        assert_int_equal(job.search.method, CV_METHOD_RANDOM);
        assert_int_equal(job.search.trials, 1);
        assert_int_equal(job.search.rounds, 1);
        assert_true(job.search.keep == 0.25);
        assert_true(job.search.seed == 1);
        assert_int_equal(job.search.metric, CV_METRIC_DEV_ACCURACY);
        assert_int_equal(job.checkpoints_keep, 5);
        assert_string_equal(job.text, texts[i]);
        assert_true(cv_job_is_fixed(&job));
        for (int p = 0; p < CV_P_COUNT; p++) {
            assert_int_equal(job.params[p].dist, CV_DIST_CONSTANT);
            assert_false(job.params[p].given);
            assert_true(job.params[p].value == cv_param_get_info((cv_param)p)->def);
        }
        cv_config c, d;
        cv_error err = {0};
        assert_int_equal(cv_job_fixed_config(&job, &c, &err), 0);
        cv_config_defaults(&d);
        assert_memory_equal(&c, &d, sizeof c);
        cv_job_free(&job);
    }
    /* Empty sections are the same as leaving them out. */
    cv_job job;
    load_ok(&job, "sections.yaml", "data:\nsearch:\nparameters:\n");
    assert_string_equal(job.name, "sections");
    assert_int_equal(job.search.trials, 1);
    cv_job_free(&job);

    /* A top level that is not a mapping is an error. */
    load_fails("scalar.yaml", "just words\n", 1, 1, "must be a mapping");
    load_fails("seq.yaml", "- a\n- b\n", 1, 1, "(got a sequence)");
}

/* Values out of range: the exact place of the value, and what was expected. */
static void test_range_errors(void **state)
{
    (void)state;
    load_fails("dropout.yaml", "parameters:\n  dropout: 1\n", 2, 12,
               "dropout must be in [0, 1) (got '1')");
    load_fails("batch.yaml", "parameters:\n  epochs: 3\n  batch_size: 1\n", 3, 15,
               "batch_size must be an integer in [2, 1048576]");
    load_fails("epochs.yaml", "parameters: {epochs: 0}\n", 1, 22,
               "epochs must be an integer in [1, 1000000]");
    load_fails("lr.yaml", "name: x\nparameters:\n    learning_rate: 0\n", 3, 20,
               "learning_rate must be in (0, inf)");
    load_fails("layers.yaml", "parameters:\n  layers: 2.5\n", 2, 11,
               "layers must be an integer in [1, 64] (got '2.5')");
    load_fails("word.yaml", "parameters:\n  optimizer: adamw\n", 2, 14,
               "optimizer must be one of: sgd, momentum, rmsprop, adam (got 'adamw')");
    load_fails("bool.yaml", "parameters:\n  batch_norm: maybe\n", 2, 15,
               "batch_norm must be true or false");
    load_fails("value.yaml", "parameters:\n  dropout: {value: 1.5}\n", 2, 20,
               "dropout must be in [0, 1)");
    load_fails("nan.yaml", "parameters:\n  learning_rate: .nan\n", 2, 18,
               "learning_rate must be a finite number");
    load_fails("null.yaml", "parameters:\n  epochs:\n  layers: 2\n", 2, 10, "epochs needs a value");
    load_fails("valitem.yaml", "parameters:\n  hidden_units: [64, 0, 128]\n", 2, 22,
               "hidden_units must be an integer in [1, 65536] (got '0')");
    load_fails("valword.yaml", "parameters:\n  init: [he, glorot]\n", 2, 14,
               "init must be one of: he, xavier (got 'glorot')");
}

/* trial_timeout: seconds a segment may run; 0 (the default) derives it. */
static void test_trial_timeout(void **state)
{
    (void)state;
    cv_job job;
    load_ok(&job, "default.yaml", "name: a\n");
    assert_true(job.trial_timeout == 0);
    cv_job_free(&job);
    load_ok(&job, "timeout.yaml", "trial_timeout: 90.5\n");
    assert_true(job.trial_timeout == 90.5);
    cv_job_free(&job);
    load_fails("zero.yaml", "trial_timeout: 0\n", 1, 16,
               "trial_timeout must be a number of seconds in (0, 31536000] (got '0')");
    load_fails("word.yaml", "name: a\ntrial_timeout: soon\n", 2, 16,
               "trial_timeout must be a number of seconds in (0, 31536000] (got 'soon')");
}

/* An unknown key at every level names the level and the keys it takes. */
static void test_unknown_keys(void **state)
{
    (void)state;
    load_fails("top.yaml", "name: a\nparameter:\n  epochs: 3\n", 2, 1,
               "unknown key 'parameter' in the job file (expected one of: name, data, search, "
               "checkpoints, parameters, trial_timeout, trainer)");
    load_fails("data.yaml", "data:\n  source: fashion-mnist\n  dev: 5\n", 3, 3,
               "unknown key 'dev' in data (expected one of: source, test, dev_size)");
    load_fails("search.yaml", "search:\n  trails: 5\n", 2, 3,
               "unknown key 'trails' in search (expected one of: method, trials, rounds, keep, "
               "seed, metric, min_epochs, max_epochs, reduction_factor, brackets, population, "
               "perturbation_interval, quantile_fraction, resample_probability, "
               "perturbation_factors, hyperparam_mutations)");
    load_fails("ckpt.yaml", "checkpoints: {kept: 2}\n", 1, 15,
               "unknown key 'kept' in checkpoints (expected one of: keep)");
    load_fails("params.yaml",
               "name: x\nsearch: {trials: 2}\nparameters:\n  epochs: 2\n  batch_size: 64\n"
               "  hidden_units: 32\n  lerning_rate: 0.1\n",
               7, 3,
               "unknown key 'lerning_rate' in parameters (expected one of: learning_rate, "
               "momentum, beta1, beta2, epsilon, layers, hidden_units, batch_size, lr_decay, "
               "lr_schedule, epochs, optimizer, activation, batch_norm, bn_momentum, bn_epsilon, "
               "weight_decay, dropout, init, patience)");
    load_fails("spec.yaml", "parameters:\n  learning_rate: {distribution: uniform, mn: 0.1, max: 1}\n",
               2, 42,
               "unknown key 'mn' in learning_rate (expected one of: distribution, min, max, "
               "values, points, value)");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    load_fails("dup1.yaml", "parameters:\n  epochs: 3\n  layers: 2\n  epochs: 4\n", 4, 3,
               "duplicate key 'epochs' in parameters (first given at 2:3)");
    load_fails("dup2.yaml", "name: a\nname: b\n", 2, 1, "duplicate key 'name'");
    load_fails("dup3.yaml", "search: {seed: 1, seed: 2}\n", 1, 19, "duplicate key 'seed' in search");
    load_fails("dup4.yaml", "parameters:\n  layers: {distribution: int_uniform, min: 1, min: 2}\n",
               2, 47, "duplicate key 'min' in layers (first given at 2:39)");
}

static void test_malformed_yaml(void **state)
{
    (void)state;
    load_fails("flow.yaml", "a: [1, 2", 2, 1, "invalid YAML: did not find expected ',' or ']'");
    load_fails("flow2.yaml", "parameters:\n  layers: [1, 2\n", 3, 1, "started at 2:11");
    load_fails("quote.yaml", "name: 'unterminated\n", 2, 1, "invalid YAML");
    load_fails("indent.yaml", "data:\n  source: a\n bad: 1\n", 3, 2, "invalid YAML");
    load_fails("tab.yaml", "\tname: x\n", 1, 1, "invalid YAML");
    load_fails("alias.yaml", "search: {seed: &s 3}\nparameters: {epochs: *s}\n", 2, 22,
               "aliases (*s) are not supported");
    load_fails("docs.yaml", "name: a\n---\nname: b\n", 2, 1, "one YAML document");
    static const char nul[] = "name: a\nsearch:\n  s\0ed: 1\n";
    load_fails_bytes("nul.yaml", nul, sizeof nul - 1, 3, 4, "NUL byte");
    load_fails("nulesc.yaml", "name: \"a\\0b\"\n", 1, 7, "NUL character");
    load_fails("utf8.yaml", "name: \xff\xfe\n", 1, 7, "invalid YAML");
    /* Deep nesting stops at a fixed depth instead of growing without bound. */
    char deep[200];
    memset(deep, '[', 100);
    deep[100] = '\0';
    load_fails("deep.yaml", deep, 1, 33, "nesting deeper than 32");
}

static void test_wrong_types(void **state)
{
    (void)state;
    load_fails("t1.yaml", "data: [a, b]\n", 1, 7, "data must be a mapping (got a sequence)");
    load_fails("t2.yaml", "parameters: 5\n", 1, 13, "parameters must be a mapping (got a scalar)");
    load_fails("t3.yaml", "name: {a: 1}\n", 1, 7, "name must be a string (got a mapping)");
    load_fails("t4.yaml", "search: {trials: [1]}\n", 1, 18, "search.trials must be an integer");
    load_fails("t5.yaml", "search: {trials: 3.5}\n", 1, 18,
               "search.trials must be an integer in [1, 2147483647] (got '3.5')");
    load_fails("t6.yaml", "search: {trials: 0}\n", 1, 18, "search.trials must be an integer");
    load_fails("t7.yaml", "search: {method: bayes}\n", 1, 18,
               "search.method must be one of: random, grid, sobol, asha, hyperband, pbt (got 'bayes')");
    load_fails("t8.yaml", "search: {metric: accuracy}\n", 1, 18,
               "search.metric must be one of: dev_accuracy, dev_loss");
    load_fails("t9.yaml", "search: {keep: 0}\n", 1, 16, "search.keep must be a number in (0, 1]");
    load_fails("t10.yaml", "search: {rounds: -1}\n", 1, 18, "search.rounds must be an integer");
    load_fails("t11.yaml", "data: {dev_size: 1.5}\n", 1, 18,
               "data.dev_size must be a count (an integer in [1, 2147483647]) or a fraction in "
               "(0, 1) (got '1.5')");
    load_fails("t12.yaml", "data: {dev_size: 0}\n", 1, 18, "data.dev_size must be");
    load_fails("t13.yaml", "data: {source: ''}\n", 1, 16, "data.source must be a path");
    load_fails("t14.yaml", "checkpoints: some\n", 1, 14,
               "checkpoints must be an integer in [0, 2147483647] or all (got 'some')");
    load_fails("t15.yaml", "checkpoints: {keep: -1}\n", 1, 21, "checkpoints.keep must be");
    load_fails("t16.yaml", "parameters:\n  layers: {values: 3}\n", 2, 20,
               "layers: values must be a sequence");
    load_fails("t17.yaml", "parameters:\n  layers: [[1, 2]]\n", 2, 12, "layers needs a value here");
    load_fails("t18.yaml", "parameters:\n  ? [a]\n  : 1\n", 2, 5, "expected a key name in parameters");
    load_fails("t19.yaml", "search: {trials: 100000, rounds: 100000}\n", 1, 34,
               "trials * rounds must be at most 2147483647");

    /* The accepted forms of the same fields. */
    cv_job job;
    load_ok(&job, "forms.yaml",
            "data: {dev_size: 0.2}\nsearch: {method: sobol, trials: 1e3, keep: 1}\n"
            "checkpoints: all\nparameters: {epochs: {value: 3}}\n");
    assert_true(job.data.dev_size == 0.2);
    assert_int_equal(job.search.method, CV_METHOD_SOBOL);
    assert_int_equal(job.search.trials, 1000);
    assert_true(job.search.keep == 1);
    assert_int_equal(job.checkpoints_keep, CV_CHECKPOINTS_ALL);
    assert_int_equal(job.params[CV_P_EPOCHS].dist, CV_DIST_CONSTANT);
    assert_true(job.params[CV_P_EPOCHS].value == 3);
    cv_job_free(&job);
    load_ok(&job, "forms2.yaml", "checkpoints: 0\nsearch: {method: grid}\n");
    assert_int_equal(job.checkpoints_keep, 0);
    assert_int_equal(job.search.method, CV_METHOD_GRID);
    cv_job_free(&job);
    load_ok(&job, "forms3.yaml", "checkpoints: {keep: all}\n");
    assert_int_equal(job.checkpoints_keep, CV_CHECKPOINTS_ALL);
    cv_job_free(&job);
}

static void test_distribution_errors(void **state)
{
    (void)state;
    load_fails("d1.yaml", "parameters:\n  learning_rate: {distribution: uniform, min: 0.5, max: 0.1}\n",
               2, 57, "learning_rate: max must be greater than min (got min 0.5, max 0.1)");
    load_fails("d2.yaml", "parameters:\n  layers: {distribution: int_uniform, min: 3, max: 3}\n", 2,
               52, "layers: max must be greater than min");
    load_fails("d3.yaml", "parameters:\n  lr_decay: {distribution: log_uniform, min: 0, max: 1}\n",
               2, 46, "lr_decay: min must be > 0 for log_uniform (got 0)");
    load_fails("d4.yaml", "parameters:\n  learning_rate: {distribution: log_uniform, min: 0, max: 1}\n",
               2, 51, "min: learning_rate must be in (0, inf)");
    load_fails("d5.yaml",
               "parameters:\n  lr_decay: {distribution: one_minus_log_uniform, min: 0.5, max: 1}\n",
               2, 66, "lr_decay: max must be < 1 for one_minus_log_uniform (got 1)");
    load_fails("d6.yaml",
               "parameters:\n  beta2: {distribution: one_minus_log_uniform, min: 0.9, max: 1}\n", 2,
               63, "max: beta2 must be in [0, 1)");
    load_fails("d7.yaml", "parameters:\n  layers: {distribution: int_uniform, min: 1.5, max: 4}\n", 2,
               44, "min: layers must be an integer in [1, 64] (got '1.5')");
    load_fails("d8.yaml",
               "parameters:\n  learning_rate: {distribution: int_uniform, min: 1, max: 4}\n", 2, 33,
               "learning_rate: int_uniform needs an integer parameter");
    load_fails("d9.yaml", "parameters:\n  optimizer: {distribution: uniform, min: 0, max: 1}\n", 2,
               29, "optimizer: uniform needs a numeric parameter; optimizer takes 'values: [...]'");
    load_fails("d10.yaml", "parameters:\n  hidden_units: {values: []}\n", 2, 26,
               "hidden_units: values must not be empty");
    load_fails("d11.yaml", "parameters:\n  hidden_units: []\n", 2, 17,
               "hidden_units: values must not be empty");
    load_fails("d12.yaml", "parameters:\n  dropout: {distribution: gaussian, min: 0, max: 0.5}\n", 2,
               27,
               "unknown distribution 'gaussian' for dropout (expected one of: uniform, "
               "log_uniform, one_minus_log_uniform, int_uniform, log_int_uniform, values)");
    load_fails("d13.yaml", "parameters:\n  dropout: {distribution: uniform, min: 0}\n", 2, 12,
               "dropout: uniform needs both min and max");
    load_fails("d14.yaml", "parameters:\n  dropout: {min: 0, max: 0.5}\n", 2, 12,
               "dropout: expected 'distribution'");
    load_fails("d15.yaml", "parameters:\n  dropout: {value: 0.1, min: 0}\n", 2, 25,
               "dropout: 'min' cannot be combined with 'value'");
    load_fails("d16.yaml",
               "parameters:\n  dropout: {distribution: uniform, min: 0, max: 0.5, points: 0}\n", 2,
               62, "dropout: points must be an integer in [1, 2147483647] (got '0')");
    load_fails("d17.yaml", "parameters:\n  layers: {values: [1, 2], points: 3}\n", 2, 28,
               "layers: points applies to ranged distributions");
    load_fails("d18.yaml", "parameters:\n  layers: {values: [1, 2], min: 1}\n", 2, 28,
               "layers: 'min' does not apply to values");
    load_fails("d19.yaml",
               "parameters:\n  layers: {distribution: int_uniform, min: 1, max: 3, values: [1]}\n", 2,
               55, "layers: 'values' does not apply to int_uniform");
    load_fails("d20.yaml", "parameters:\n  layers: {distribution: values}\n", 2, 11,
               "layers: distribution values needs 'values: [...]'");
    load_fails("d21.yaml",
               "parameters:\n  hidden_units: {distribution: log_int_uniform, min: 0, max: 64}\n", 2,
               54, "min: hidden_units must be an integer in [1, 65536]");

    /* Valid corner cases: log_int_uniform, uniform on an integer, points. */
    cv_job job;
    load_ok(&job, "dok.yaml",
            "parameters:\n"
            "  hidden_units: {distribution: log_int_uniform, min: 16, max: 1024, points: 7}\n"
            "  momentum: {distribution: one_minus_log_uniform, min: 0, max: 0.99}\n"
            "  weight_decay: {distribution: uniform, min: 0, max: 1.0e-3}\n");
    assert_int_equal(job.params[CV_P_HIDDEN_UNITS].dist, CV_DIST_LOG_INT_UNIFORM);
    assert_true(job.params[CV_P_HIDDEN_UNITS].min == 16);
    assert_true(job.params[CV_P_HIDDEN_UNITS].max == 1024);
    assert_int_equal(job.params[CV_P_HIDDEN_UNITS].points, 7);
    assert_int_equal(job.params[CV_P_MOMENTUM].dist, CV_DIST_ONE_MINUS_LOG_UNIFORM);
    assert_true(job.params[CV_P_MOMENTUM].min == 0);
    assert_int_equal(job.params[CV_P_WEIGHT_DECAY].dist, CV_DIST_UNIFORM);
    assert_true(job.params[CV_P_WEIGHT_DECAY].max == 1e-3);
    cv_job_free(&job);
}

static void test_set(void **state)
{
    (void)state;
    cv_job job;
    cv_error err = {0};
    load_ok(&job, "set.yaml",
            "parameters:\n  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1}\n"
            "  hidden_units: [64, 128]\n");
    assert_false(cv_job_is_fixed(&job));

    assert_int_equal(cv_job_set(&job, "learning_rate=0.01", &err), 0);
    assert_int_equal(job.params[CV_P_LEARNING_RATE].dist, CV_DIST_CONSTANT);
    assert_true(job.params[CV_P_LEARNING_RATE].value == 0.01);
    assert_true(job.params[CV_P_LEARNING_RATE].given);
    assert_int_equal(cv_job_set(&job, "hidden_units=512", &err), 0);
    assert_int_equal(job.params[CV_P_HIDDEN_UNITS].dist, CV_DIST_CONSTANT);
    assert_null(job.params[CV_P_HIDDEN_UNITS].values); /* the list is released */
    assert_int_equal(job.params[CV_P_HIDDEN_UNITS].n_values, 0);
    assert_true(job.params[CV_P_HIDDEN_UNITS].value == 512);
    assert_int_equal(cv_job_set(&job, "optimizer=sgd", &err), 0);
    assert_true(job.params[CV_P_OPTIMIZER].value == CV_OPT_SGD);
    assert_int_equal(cv_job_set(&job, "batch_norm=off", &err), 0);
    assert_true(job.params[CV_P_BATCH_NORM].value == 0);
    assert_true(cv_job_is_fixed(&job));
    assert_int_equal(err.code, CV_OK);

    cv_config c;
    assert_int_equal(cv_job_fixed_config(&job, &c, &err), 0);
    assert_true(c.learning_rate == 0.01);
    assert_int_equal(c.hidden_units, 512);
    assert_int_equal(c.optimizer, CV_OPT_SGD);
    assert_false(c.batch_norm);
    assert_int_equal(c.layers, 2); /* untouched defaults */

    assert_int_equal(cv_job_set(&job, "lerning_rate=0.1", &err), CV_ERR_INPUT);
    assert_contains(err.msg, "--set lerning_rate=0.1: unknown parameter (expected one of: "
                             "learning_rate, momentum");
    cv_error_clear(&err);
    assert_int_equal(cv_job_set(&job, "dropout=1", &err), CV_ERR_INPUT);
    assert_string_equal(err.msg, "--set dropout=1: dropout must be in [0, 1) (got '1')");
    /* The parser's other messages: tests/unit/test_config.c (test_assign).
     * A failed --set leaves the job as it was. */
    assert_true(job.params[CV_P_DROPOUT].value == 0);
    assert_true(job.params[CV_P_LEARNING_RATE].value == 0.01);
    cv_job_free(&job);
}

/* The rules of a spec applied to specs built in code (as the search space
 * applies them), each message with the part of the spec it is about. */
static void test_spec_rules(void **state)
{
    (void)state;
    char why[512];
    cv_spec_part at;
    double values[] = {64, 0};
    static const struct {
        cv_param p;
        cv_param_spec spec;
        cv_spec_part at;
        const char *why;
    } bad[] = {
        {CV_P_LAYERS, {.dist = (cv_dist)42}, CV_SPEC_WHOLE, "layers: unknown distribution 42"},
        {CV_P_OPTIMIZER, {.dist = CV_DIST_UNIFORM, .min = 0, .max = 1}, CV_SPEC_DIST,
         "optimizer: uniform needs a numeric parameter; optimizer takes 'values: [...]'"},
        {CV_P_DROPOUT, {.dist = CV_DIST_INT_UNIFORM, .min = 0, .max = 1}, CV_SPEC_DIST,
         "dropout: int_uniform needs an integer parameter; dropout is real (use uniform)"},
        {CV_P_LEARNING_RATE, {.dist = CV_DIST_UNIFORM, .min = 0, .max = 1}, CV_SPEC_MIN,
         "min: learning_rate must be in (0, inf)"},
        {CV_P_DROPOUT, {.dist = CV_DIST_UNIFORM, .min = 0, .max = 1}, CV_SPEC_MAX,
         "max: dropout must be in [0, 1)"},
        {CV_P_LR_DECAY, {.dist = CV_DIST_LOG_UNIFORM, .min = 0, .max = 1}, CV_SPEC_MIN,
         "lr_decay: min must be > 0 for log_uniform (got 0)"},
        {CV_P_LR_DECAY, {.dist = CV_DIST_ONE_MINUS_LOG_UNIFORM, .min = 0.5, .max = 1},
         CV_SPEC_MAX, "lr_decay: max must be < 1 for one_minus_log_uniform (got 1)"},
        {CV_P_DROPOUT, {.dist = CV_DIST_UNIFORM, .min = 0.5, .max = 0.1}, CV_SPEC_MAX,
         "dropout: max must be greater than min (got min 0.5, max 0.1)"},
        {CV_P_HIDDEN_UNITS, {.dist = CV_DIST_VALUES}, CV_SPEC_VALUES,
         "hidden_units: values must not be empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cv_param_spec_check(bad[i].p, &bad[i].spec, &at, why, sizeof why), -1);
        assert_string_equal(why, bad[i].why);
        assert_int_equal(at, bad[i].at);
    }
    cv_param_spec spec = {.dist = CV_DIST_VALUES, .n_values = 2, .values = values};
    assert_int_equal(cv_param_spec_check(CV_P_HIDDEN_UNITS, &spec, NULL, why, sizeof why), -1);
    assert_string_equal(why, "hidden_units: values: hidden_units must be an integer in [1, 65536]");
    values[1] = 128;
    assert_int_equal(cv_param_spec_check(CV_P_HIDDEN_UNITS, &spec, &at, why, sizeof why), 0);
    spec = (cv_param_spec){.dist = CV_DIST_LOG_INT_UNIFORM, .min = 16, .max = 512};
    assert_int_equal(cv_param_spec_check(CV_P_HIDDEN_UNITS, &spec, &at, why, sizeof why), 0);
}

static void test_fixed_config(void **state)
{
    (void)state;
    cv_job job;
    cv_error err = {0};
    cv_config c;
    char prefix[600];
    const char *path = tu_path("fixed.yaml");

    /* A searched parameter: the first one is named, with its place. */
    load_ok(&job, "fixed.yaml",
            "parameters:\n  epochs: 3\n  dropout: {distribution: uniform, min: 0, max: 0.5}\n");
    assert_int_equal(cv_job_fixed_config(&job, &c, &err), CV_ERR_INPUT);
    snprintf(prefix, sizeof prefix,
             "%s:3:12: dropout is searched (uniform); fix it with --set dropout=VALUE", path);
    assert_string_equal(err.msg, prefix);
    cv_error_clear(&err);
    assert_int_equal(cv_job_set(&job, "dropout=0.2", &err), 0);
    assert_int_equal(cv_job_fixed_config(&job, &c, &err), 0);
    assert_true(c.dropout == 0.2);
    assert_int_equal(c.epochs, 3);
    cv_job_free(&job);

    /* Constants that fail together: exponential decay with lr_decay 0. */
    load_ok(&job, "expo.yaml", "parameters:\n  lr_schedule: exponential\n");
    assert_int_equal(cv_job_fixed_config(&job, &c, &err), CV_ERR_INPUT);
    assert_contains(err.msg, tu_path("expo.yaml"));
    assert_contains(err.msg, "lr_schedule exponential needs lr_decay in (0, 1]");
    cv_error_clear(&err);
    assert_int_equal(cv_job_set(&job, "lr_decay=0.9", &err), 0);
    assert_int_equal(cv_job_fixed_config(&job, &c, &err), 0);
    assert_int_equal(c.lr_schedule, CV_LR_EXPONENTIAL);
    assert_true(c.lr_decay == 0.9);
    cv_job_free(&job);
}

/* Relative data paths are anchored at the job file's directory. */
static void test_data_paths(void **state)
{
    (void)state;
    cv_job job;
    cv_error err = {0};
    char dir[600], want[700];
    snprintf(dir, sizeof dir, "%s/jobs", tu_dir());
    mkdir(dir, 0700);
    const char *path = tu_write_text("jobs/paths.yaml",
                                     "data:\n  source: ../data/train.csv\n  test: /abs/test.h5\n");
    assert_int_equal(cv_job_load(&job, path, &err), 0);
    snprintf(want, sizeof want, "%s/jobs/../data/train.csv", tu_dir());
    assert_string_equal(job.data.source, want);
    assert_string_equal(job.data.test, "/abs/test.h5");
    assert_int_equal(job.data.source_pos.line, 2);
    assert_int_equal(job.data.source_pos.column, 11);
    assert_int_equal(job.data.test_pos.line, 3);
    assert_string_equal(job.name, "paths");
    cv_job_free(&job);

    /* A job named without a directory keeps paths relative to the current one. */
    static const char text[] = "data: {source: x.csv, test: sub/y.csv}\n";
    assert_int_equal(cv_job_parse(&job, "job.yaml", text, strlen(text), &err), 0);
    assert_string_equal(job.data.source, "x.csv");
    assert_string_equal(job.data.test, "sub/y.csv");
    cv_job_free(&job);
    static const char text2[] = "data: {source: fashion-mnist}\n";
    assert_int_equal(cv_job_parse(&job, "a/b/job.yaml", text2, strlen(text2), &err), 0);
    assert_string_equal(job.data.source, "fashion-mnist");
    cv_job_free(&job);
    static const char text3[] = "data: {source: x.csv}\n";
    assert_int_equal(cv_job_parse(&job, "a/b/job.yaml", text3, strlen(text3), &err), 0);
    assert_string_equal(job.data.source, "a/b/x.csv");
    cv_job_free(&job);
}

static void test_seed(void **state)
{
    (void)state;
    cv_job job;
    load_ok(&job, "seed0.yaml", "search: {seed: 0}\n");
    assert_true(job.search.seed == 0);
    cv_job_free(&job);
    load_ok(&job, "seedmax.yaml", "search: {seed: 18446744073709551615}\n");
    assert_true(job.search.seed == UINT64_MAX);
    cv_job_free(&job);
    load_ok(&job, "seedbig.yaml", "search: {seed: 9007199254740993}\n"); /* 2^53 + 1, exact */
    assert_true(job.search.seed == 9007199254740993ULL);
    cv_job_free(&job);

    static const char *const bad[] = {"-1", "1e300", "18446744073709551616", "1.5", "0x10",
                                      "' 1'", "1.0", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "search:\n  seed: %s\n", bad[i]);
        load_fails("seedbad.yaml", text, 2, 9,
                   "search.seed must be an integer in [0, 18446744073709551615]");
    }
}

static void test_load_errors(void **state)
{
    (void)state;
    cv_job job;
    cv_error err = {0};
    const char *missing = tu_path("no-such-job.yaml");
    assert_int_equal(cv_job_load(&job, missing, &err), CV_ERR_INPUT);
    char want[700];
    snprintf(want, sizeof want, "%s: cannot read: No such file or directory", missing);
    assert_string_equal(err.msg, want);
    cv_job_free(&job);

    /* A directory is not a job file. */
    cv_error_clear(&err);
    assert_int_equal(cv_job_load(&job, tu_dir(), &err), CV_ERR_INPUT);
    assert_contains(err.msg, "cannot read");
    cv_job_free(&job);

    /* More than 1 MiB: refused, whatever it holds. */
    size_t big = (1u << 20) + 10;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, '#', big);
    text[big - 1] = '\n';
    const char *path = tu_write("big.yaml", text, big);
    cv_error_clear(&err);
    assert_int_equal(cv_job_load(&job, path, &err), CV_ERR_INPUT);
    assert_contains(err.msg, "larger than 1 MiB");
    cv_job_free(&job);
    free(text);

    /* Freeing a zeroed job, and freeing twice, is harmless. */
    memset(&job, 0, sizeof job);
    cv_job_free(&job);
    cv_job_free(&job);
}

/* Population-based training: Ray Tune's keys, defaults, what explore may
 * change, and every spec that cannot work, at its place in the file. */
static void test_pbt(void **state)
{
    (void)state;
    cv_job job;
    load_ok(&job, "pbt.yaml",
            "search: {method: pbt, population: 8, perturbation_interval: 2}\n"
            "parameters:\n"
            "  epochs: 10\n"
            "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}\n"
            "  beta1: {distribution: one_minus_log_uniform, min: 0.9, max: 0.999}\n"
            "  layers: {distribution: int_uniform, min: 1, max: 3}\n"
            "  init: {values: [he, xavier]}\n");
    assert_int_equal(job.search.schedule, CV_SCHEDULE_PBT);
    assert_int_equal(job.search.trials, 8);
    assert_int_equal(job.search.max_epochs, 10);
    assert_int_equal(job.search.pbt.interval, 2);
    assert_true(job.search.pbt.quantile == 0.25 && job.search.pbt.resample == 0.25);
    assert_int_equal(job.search.pbt.n_factors, 2);
    /* by default every searched parameter that may change under a running
     * network: not layers (the shape), not init (only at the start) */
    assert_true(job.search.pbt.mutate[CV_P_LEARNING_RATE] && job.search.pbt.mutate[CV_P_BETA1]);
    assert_false(job.search.pbt.mutate[CV_P_LAYERS] || job.search.pbt.mutate[CV_P_INIT]);
    assert_false(job.search.pbt.mutate[CV_P_MOMENTUM]); /* a constant */
    assert_string_equal(cv_job_method_name(&job), "pbt");
    cv_job_free(&job);

    load_ok(&job, "pbt2.yaml",
            "search: {method: pbt, population: 5, max_epochs: 6, quantile_fraction: 0.2,\n"
            "         resample_probability: 0, perturbation_factors: [2, 0.5],\n"
            "         hyperparam_mutations: [beta1]}\n"
            "parameters:\n"
            "  learning_rate: {distribution: log_uniform, min: 1.0e-4, max: 1.0}\n"
            "  beta1: {distribution: one_minus_log_uniform, min: 0.9, max: 0.999}\n");
    assert_int_equal(job.search.pbt.interval, 1); /* max_epochs / 4 */
    assert_true(job.search.pbt.mutate[CV_P_BETA1] && !job.search.pbt.mutate[CV_P_LEARNING_RATE]);
    assert_true(job.search.pbt.factors[0] == 2 && job.search.pbt.factors[1] == 0.5);
    cv_job_free(&job);

    const char *lr = "parameters:\n  learning_rate: {distribution: log_uniform, min: 0.001, "
                     "max: 1}\n  epochs: 8\n";
    char text[512];
#define PBT_FAILS(name, search, line, col, needle)                                              \
    do {                                                                                        \
        snprintf(text, sizeof text, "%s%s", search, lr);                                        \
        load_fails(name, text, line, col, needle);                                              \
    } while (0)
    PBT_FAILS("p1.yaml", "search: {method: pbt, population: 8,\n  hyperparam_mutations: [layers]}\n", 2,
              26, "layers cannot be explored: it shapes the network");
    PBT_FAILS("p2.yaml", "search: {method: pbt, population: 8,\n  hyperparam_mutations: [beta1]}\n", 2,
              26, "beta1 is a constant (0.9)");
    PBT_FAILS("p3.yaml", "search: {method: pbt, population: 3}\n", 1, 35,
              "population (3) * quantile_fraction (0.25) is below 1");
    PBT_FAILS("p4.yaml", "search: {method: pbt, population: 8, perturbation_interval: 8}\n", 1, 61,
              "perturbation_interval (8) must be below max_epochs (8)");
    PBT_FAILS("p5.yaml", "search: {method: pbt, population: 8, rounds: 2}\n", 1, 46,
              "search.rounds is 2 but pbt trains one population");
    PBT_FAILS("p6.yaml", "search: {method: pbt, population: 8, quantile_fraction: 0.75}\n", 1, 57,
              "search.quantile_fraction must be a number in (0, 0.5]");
    PBT_FAILS("p7.yaml", "search: {method: pbt, population: 8, perturbation_factors: [1, 1]}\n", 1,
              60, "every factor is 1");
    PBT_FAILS("p8.yaml", "search: {method: asha, population: 8}\n", 1, 24,
              "search.population belongs to population-based training");
    PBT_FAILS("p9.yaml", "search: {method: pbt, trials: 8, population: 8}\n", 1, 34,
              "search.population and search.trials both given");
    PBT_FAILS("p10.yaml", "search: {method: pbt, population: 8, hyperparam_mutations: [lr]}\n", 1,
              61, "'lr' is not a parameter");
    PBT_FAILS("p11.yaml", "search: {method: pbt, population: 8, min_epochs: 2}\n", 1, 38,
              "search.min_epochs belongs to successive halving");
    load_fails("p12.yaml",
               "search: {method: pbt, population: 8}\n"
               "parameters:\n  learning_rate: {distribution: log_uniform, min: 0.001, max: 1}\n"
               "  patience: 2\n",
               4, 13, "patience must be 0 with pbt");
    load_fails("p13.yaml",
               "search: {method: pbt, population: 8}\n"
               "parameters:\n  layers: {distribution: int_uniform, min: 1, max: 3}\n",
               1, 18, "pbt has nothing to explore");
#undef PBT_FAILS
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_empty_and_defaults),
        cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_trial_timeout),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_malformed_yaml),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_pbt),
        cmocka_unit_test(test_distribution_errors),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_spec_rules),
        cmocka_unit_test(test_fixed_config),
        cmocka_unit_test(test_data_paths),
        cmocka_unit_test(test_seed),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
