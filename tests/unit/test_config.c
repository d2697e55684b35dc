/* test_config.c: the hyperparameter vocabulary (caviar/config.h): the table,
 * defaults, parsing, range checks, formatting, cross-parameter checks, --set
 * assignments and the text of messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "caviar/config.h"
#include "testutil.h"

/* The names, in enum order, exactly as job files and results tables use them. */
static void test_table_names_in_order(void **state)
{
    (void)state;
    static const char *const names[CV_P_PROGRAM] = {
        "learning_rate", "momentum", "beta1", "beta2", "epsilon", "layers", "hidden_units",
        "batch_size", "lr_decay", "lr_schedule", "epochs", "optimizer", "activation",
        "batch_norm", "bn_momentum", "bn_epsilon", "weight_decay", "dropout", "init",
        "patience"};
    for (int p = 0; p < CV_P_PROGRAM; p++) {
        const cv_param_info *info = cv_param_get_info((cv_param)p);
        assert_non_null(info);
        assert_string_equal(info->name, names[p]);
        assert_int_equal(cv_param_lookup(names[p]), p);
    }
    assert_int_equal(cv_param_lookup("lerning_rate"), -1);
    assert_int_equal(cv_param_lookup(""), -1);
    assert_int_equal(cv_param_lookup(NULL), -1);
    assert_null(cv_param_get_info(CV_P_COUNT));

    const cv_param_info *opt = cv_param_get_info(CV_P_OPTIMIZER);
    assert_int_equal(opt->kind, CV_KIND_WORD);
    assert_int_equal(opt->n_words, 4);
    assert_string_equal(opt->words[CV_OPT_SGD], "sgd");
    assert_string_equal(opt->words[CV_OPT_MOMENTUM], "momentum");
    assert_string_equal(opt->words[CV_OPT_RMSPROP], "rmsprop");
    assert_string_equal(opt->words[CV_OPT_ADAM], "adam");
    const cv_param_info *sched = cv_param_get_info(CV_P_LR_SCHEDULE);
    assert_string_equal(sched->words[CV_LR_NONE], "none");
    assert_string_equal(sched->words[CV_LR_INVERSE_TIME], "inverse_time");
    assert_string_equal(sched->words[CV_LR_EXPONENTIAL], "exponential");
    assert_string_equal(sched->words[CV_LR_STEP], "step");
    const cv_param_info *act = cv_param_get_info(CV_P_ACTIVATION);
    assert_string_equal(act->words[CV_ACT_RELU], "relu");
    assert_string_equal(act->words[CV_ACT_LEAKY_RELU], "leaky_relu");
    assert_string_equal(act->words[CV_ACT_TANH], "tanh");
    assert_string_equal(act->words[CV_ACT_SIGMOID], "sigmoid");
    const cv_param_info *init = cv_param_get_info(CV_P_INIT);
    assert_string_equal(init->words[CV_INIT_HE], "he");
    assert_string_equal(init->words[CV_INIT_XAVIER], "xavier");
    assert_int_equal(cv_param_get_info(CV_P_BATCH_NORM)->kind, CV_KIND_BOOL);
    assert_int_equal(cv_param_get_info(CV_P_LAYERS)->kind, CV_KIND_INT);
    assert_int_equal(cv_param_get_info(CV_P_DROPOUT)->kind, CV_KIND_REAL);
}

static void test_defaults(void **state)
{
    (void)state;
    cv_config c;
    memset(&c, 0xAB, sizeof c); /* every field must be written */
    cv_config_defaults(&c);
    assert_true(c.learning_rate == 0.001);
    assert_true(c.momentum == 0.9);
    assert_true(c.beta1 == 0.9);
    assert_true(c.beta2 == 0.999);
    assert_true(c.epsilon == 1e-8);
    assert_int_equal(c.layers, 2);
    assert_int_equal(c.hidden_units, 256);
    assert_int_equal(c.batch_size, 128);
    assert_true(c.lr_decay == 0);
    assert_int_equal(c.lr_schedule, CV_LR_INVERSE_TIME);
    assert_int_equal(c.epochs, 10);
    assert_int_equal(c.optimizer, CV_OPT_ADAM);
    assert_int_equal(c.activation, CV_ACT_RELU);
    assert_true(c.batch_norm);
    assert_true(c.bn_momentum == 0.9);
    assert_true(c.bn_epsilon == 1e-5);
    assert_true(c.weight_decay == 0);
    assert_true(c.dropout == 0);
    assert_int_equal(c.init, CV_INIT_HE);
    assert_int_equal(c.patience, 0);

    char why[256] = "";
    assert_int_equal(cv_config_check(&c, why, sizeof why), 0);
    /* Every default is valid on its own, and is what the table says. */
    for (int p = 0; p < CV_P_COUNT; p++) {
        const cv_param_info *info = cv_param_get_info((cv_param)p);
        assert_true(cv_config_get(&c, (cv_param)p) == info->def);
        assert_int_equal(cv_param_check((cv_param)p, info->def, why, sizeof why), 0);
    }
}

/* A value other than the default for every parameter goes in and comes out. */
static void test_get_set(void **state)
{
    (void)state;
    static const double v[CV_P_PROGRAM] = {
        [CV_P_LEARNING_RATE] = 0.05, [CV_P_MOMENTUM] = 0.5,   [CV_P_BETA1] = 0.8,
        [CV_P_BETA2] = 0.99,         [CV_P_EPSILON] = 1e-6,   [CV_P_LAYERS] = 5,
        [CV_P_HIDDEN_UNITS] = 17,    [CV_P_BATCH_SIZE] = 33,  [CV_P_LR_DECAY] = 0.3,
        [CV_P_LR_SCHEDULE] = CV_LR_STEP, [CV_P_EPOCHS] = 3,   [CV_P_OPTIMIZER] = CV_OPT_RMSPROP,
        [CV_P_ACTIVATION] = CV_ACT_TANH, [CV_P_BATCH_NORM] = 0, [CV_P_BN_MOMENTUM] = 0.7,
        [CV_P_BN_EPSILON] = 1e-3,    [CV_P_WEIGHT_DECAY] = 1e-4, [CV_P_DROPOUT] = 0.25,
        [CV_P_INIT] = CV_INIT_XAVIER, [CV_P_PATIENCE] = 4};
    cv_config c;
    cv_config_defaults(&c);
    for (int p = 0; p < CV_P_PROGRAM; p++) {
        assert_true(v[p] != cv_param_get_info((cv_param)p)->def);
        cv_config_set(&c, (cv_param)p, v[p]);
    }
    for (int p = 0; p < CV_P_PROGRAM; p++)
        assert_true(cv_config_get(&c, (cv_param)p) == v[p]);
    assert_int_equal(c.lr_schedule, CV_LR_STEP);
    assert_int_equal(c.optimizer, CV_OPT_RMSPROP);
    assert_false(c.batch_norm);
    assert_int_equal(c.hidden_units, 17);
}

/* format then parse gives back the same double, for every parameter. */
static void test_round_trip(void **state)
{
    (void)state;
    static const double reals[] = {0.001, 1e-8, 1e-4, 0.1, 0.3, 0.999, 0.9999999,
                                   1.0 / 3.0, 0.1 + 0.2, 2.5e-7, 0.5, 0.75};
    static const double big[] = {1.0, 10.0, 123.456, 1e10, 3e100, 1.7976931348623157e308};
    char buf[64], why[256];
    int checked = 0;
    for (int p = 0; p < CV_P_COUNT; p++) {
        const cv_param_info *info = cv_param_get_info((cv_param)p);
        double cand[64];
        int n = 0;
        cand[n++] = info->def;
        switch (info->kind) {
        case CV_KIND_REAL:
            for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
                cand[n++] = reals[i];
            for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
                cand[n++] = big[i];
            break;
        case CV_KIND_INT:
            cand[n++] = info->lo;
            cand[n++] = info->hi;
            cand[n++] = floor((info->lo + info->hi) / 2);
            break;
        case CV_KIND_BOOL:
            cand[n++] = 0;
            cand[n++] = 1;
            break;
        case CV_KIND_WORD:
            for (int i = 0; i < info->n_words; i++)
                cand[n++] = i;
            break;
        }
        for (int i = 0; i < n; i++) {
            if (cv_param_check((cv_param)p, cand[i], why, sizeof why) != 0)
                continue; /* outside this parameter's range */
            double back = NAN;
            int len = cv_param_format((cv_param)p, cand[i], buf, sizeof buf);
            assert_true(len > 0 && (size_t)len < sizeof buf);
            if (cv_param_parse((cv_param)p, buf, &back, why, sizeof why) != 0)
                fail_msg("%s: '%s' did not parse back: %s", info->name, buf, why);
            if (back != cand[i])
                fail_msg("%s: %.17g -> '%s' -> %.17g", info->name, cand[i], buf, back);
            checked++;
        }
    }
    assert_true(checked > 100);
}

static void test_format(void **state)
{
    (void)state;
    char buf[64];
    cv_param_format(CV_P_LEARNING_RATE, 0.001, buf, sizeof buf);
    assert_string_equal(buf, "0.001");
    cv_param_format(CV_P_EPSILON, 1e-8, buf, sizeof buf);
    assert_string_equal(buf, "1.0e-8");
    cv_param_format(CV_P_BN_EPSILON, 1e-5, buf, sizeof buf);
    assert_string_equal(buf, "1.0e-5");
    cv_param_format(CV_P_LEARNING_RATE, 2.5e-7, buf, sizeof buf);
    assert_string_equal(buf, "2.5e-7");
    cv_param_format(CV_P_LEARNING_RATE, 1e20, buf, sizeof buf);
    assert_string_equal(buf, "1.0e+20");
    cv_param_format(CV_P_LEARNING_RATE, 0.1 + 0.2, buf, sizeof buf);
    assert_string_equal(buf, "0.30000000000000004");
    cv_param_format(CV_P_BETA2, 0.999, buf, sizeof buf);
    assert_string_equal(buf, "0.999");
    cv_param_format(CV_P_HIDDEN_UNITS, 256, buf, sizeof buf);
    assert_string_equal(buf, "256");
    cv_param_format(CV_P_BATCH_SIZE, 1048576, buf, sizeof buf);
    assert_string_equal(buf, "1048576");
    cv_param_format(CV_P_OPTIMIZER, CV_OPT_ADAM, buf, sizeof buf);
    assert_string_equal(buf, "adam");
    cv_param_format(CV_P_LR_SCHEDULE, CV_LR_INVERSE_TIME, buf, sizeof buf);
    assert_string_equal(buf, "inverse_time");
    cv_param_format(CV_P_BATCH_NORM, 1, buf, sizeof buf);
    assert_string_equal(buf, "true");
    cv_param_format(CV_P_BATCH_NORM, 0, buf, sizeof buf);
    assert_string_equal(buf, "false");
    /* The return value is snprintf's: the full length even when truncated. */
    char small[4];
    assert_int_equal(cv_param_format(CV_P_ACTIVATION, CV_ACT_LEAKY_RELU, small, sizeof small), 10);
    assert_string_equal(small, "lea");
}

static void test_parse_numbers(void **state)
{
    (void)state;
    double v = -1;
    char why[256];
    assert_int_equal(cv_param_parse(CV_P_LEARNING_RATE, "1e-3", &v, why, sizeof why), 0);
    assert_true(v == 1e-3);
    assert_int_equal(cv_param_parse(CV_P_LEARNING_RATE, "1.0e-4", &v, why, sizeof why), 0);
    assert_true(v == 1e-4);
    assert_int_equal(cv_param_parse(CV_P_DROPOUT, ".5", &v, why, sizeof why), 0);
    assert_true(v == 0.5);
    assert_int_equal(cv_param_parse(CV_P_LEARNING_RATE, "+2", &v, why, sizeof why), 0);
    assert_true(v == 2);
    assert_int_equal(cv_param_parse(CV_P_EPOCHS, "1e3", &v, why, sizeof why), 0);
    assert_true(v == 1000);
    assert_int_equal(cv_param_parse(CV_P_LAYERS, "3.0", &v, why, sizeof why), 0);
    assert_true(v == 3);

    /* Not numbers, or not finite, or not all of the text. */
    static const char *const bad[] = {"", "abc", "nan", "NaN", "inf", "-inf", ".inf", "infinity",
                                      "0x10", "0x1p-3", " 0.1", "0.1 ", "1e", "1e999", "1,5",
                                      "--1", "1-2", ".", "e5", "0.1.2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        if (cv_param_parse(CV_P_LEARNING_RATE, bad[i], &v, why, sizeof why) == 0)
            fail_msg("'%s' parsed as %g", bad[i], v);
        assert_true(v == 42); /* untouched on failure */
        assert_contains(why, "learning_rate must be a finite number");
    }
    assert_int_equal(cv_param_parse(CV_P_LEARNING_RATE, "abc", &v, why, sizeof why), -1);
    assert_string_equal(why, "learning_rate must be a finite number (got 'abc')");
}

/* Out-of-range values: the messages name the parameter and the range. */
static void test_ranges(void **state)
{
    (void)state;
    double v;
    char why[256];
    assert_int_equal(cv_param_parse(CV_P_DROPOUT, "1", &v, why, sizeof why), -1);
    assert_string_equal(why, "dropout must be in [0, 1) (got '1')");
    assert_int_equal(cv_param_check(CV_P_DROPOUT, 1, why, sizeof why), -1);
    assert_string_equal(why, "dropout must be in [0, 1)");
    assert_int_equal(cv_param_check(CV_P_DROPOUT, 0, why, sizeof why), 0);
    assert_int_equal(cv_param_check(CV_P_DROPOUT, -0.01, why, sizeof why), -1);

    assert_int_equal(cv_param_parse(CV_P_BATCH_SIZE, "1", &v, why, sizeof why), -1);
    assert_string_equal(why, "batch_size must be an integer in [2, 1048576] (got '1')");
    assert_int_equal(cv_param_check(CV_P_BATCH_SIZE, 1048577, why, sizeof why), -1);
    assert_int_equal(cv_param_check(CV_P_BATCH_SIZE, 1048576, why, sizeof why), 0);
    assert_int_equal(cv_param_parse(CV_P_EPOCHS, "0", &v, why, sizeof why), -1);
    assert_string_equal(why, "epochs must be an integer in [1, 1000000] (got '0')");
    assert_int_equal(cv_param_parse(CV_P_LEARNING_RATE, "0", &v, why, sizeof why), -1);
    assert_string_equal(why, "learning_rate must be in (0, inf) (got '0')");
    assert_int_equal(cv_param_parse(CV_P_LAYERS, "2.5", &v, why, sizeof why), -1);
    assert_string_equal(why, "layers must be an integer in [1, 64] (got '2.5')");
    assert_int_equal(cv_param_parse(CV_P_LAYERS, "x", &v, why, sizeof why), -1);
    assert_string_equal(why, "layers must be an integer in [1, 64] (got 'x')");
    assert_int_equal(cv_param_parse(CV_P_EPSILON, "1", &v, why, sizeof why), 0);
    assert_int_equal(cv_param_parse(CV_P_EPSILON, "0", &v, why, sizeof why), -1);
    assert_string_equal(why, "epsilon must be in (0, 1] (got '0')");
    assert_int_equal(cv_param_parse(CV_P_BETA2, "1", &v, why, sizeof why), -1);
    assert_string_equal(why, "beta2 must be in [0, 1) (got '1')");
    assert_int_equal(cv_param_parse(CV_P_PATIENCE, "0", &v, why, sizeof why), 0);
    assert_int_equal(cv_param_parse(CV_P_PATIENCE, "-1", &v, why, sizeof why), -1);
    assert_int_equal(cv_param_parse(CV_P_WEIGHT_DECAY, "0", &v, why, sizeof why), 0);
    assert_int_equal(cv_param_parse(CV_P_LR_DECAY, "-0.1", &v, why, sizeof why), -1);
    assert_string_equal(why, "lr_decay must be in [0, inf) (got '-0.1')");
    assert_int_equal(cv_param_parse(CV_P_HIDDEN_UNITS, "65537", &v, why, sizeof why), -1);

    assert_int_equal(cv_param_check(CV_P_LEARNING_RATE, NAN, why, sizeof why), -1);
    assert_int_equal(cv_param_check(CV_P_LEARNING_RATE, INFINITY, why, sizeof why), -1);
    assert_int_equal(cv_param_check(CV_P_OPTIMIZER, 4, why, sizeof why), -1);
    assert_int_equal(cv_param_check(CV_P_OPTIMIZER, 1.5, why, sizeof why), -1);
    assert_int_equal(cv_param_check(CV_P_BATCH_NORM, 0.5, why, sizeof why), -1);
    assert_string_equal(why, "batch_norm must be true or false");
    assert_int_equal(cv_param_check(CV_P_COUNT, 0, why, sizeof why), -1);
}

static void test_bools_and_words(void **state)
{
    (void)state;
    double v;
    char why[256];
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "ON"};
    static const char *const no[] = {"false", "False", "no", "NO", "off", "Off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        v = -1;
        assert_int_equal(cv_param_parse(CV_P_BATCH_NORM, yes[i], &v, why, sizeof why), 0);
        assert_true(v == 1);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        v = -1;
        assert_int_equal(cv_param_parse(CV_P_BATCH_NORM, no[i], &v, why, sizeof why), 0);
        assert_true(v == 0);
    }
    assert_int_equal(cv_param_parse(CV_P_BATCH_NORM, "maybe", &v, why, sizeof why), -1);
    assert_string_equal(why, "batch_norm must be true or false (got 'maybe')");
    assert_int_equal(cv_param_parse(CV_P_BATCH_NORM, "1", &v, why, sizeof why), -1);

    assert_int_equal(cv_param_parse(CV_P_OPTIMIZER, "rmsprop", &v, why, sizeof why), 0);
    assert_true(v == CV_OPT_RMSPROP);
    assert_int_equal(cv_param_parse(CV_P_LR_SCHEDULE, "step", &v, why, sizeof why), 0);
    assert_true(v == CV_LR_STEP);
    assert_int_equal(cv_param_parse(CV_P_INIT, "xavier", &v, why, sizeof why), 0);
    assert_true(v == CV_INIT_XAVIER);
    /* Words are exact: no case folding, no numbers for indices. */
    assert_int_equal(cv_param_parse(CV_P_OPTIMIZER, "Adam", &v, why, sizeof why), -1);
    assert_string_equal(why, "optimizer must be one of: sgd, momentum, rmsprop, adam (got 'Adam')");
    assert_int_equal(cv_param_parse(CV_P_OPTIMIZER, "3", &v, why, sizeof why), -1);
    assert_int_equal(cv_param_parse(CV_P_ACTIVATION, "gelu", &v, why, sizeof why), -1);
    assert_string_equal(why,
                        "activation must be one of: relu, leaky_relu, tanh, sigmoid (got 'gelu')");
    /* Long or unprintable input is shortened in the message, not copied whole. */
    char long_text[300];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    long_text[3] = '\n';
    assert_int_equal(cv_param_parse(CV_P_INIT, long_text, &v, why, sizeof why), -1);
    assert_contains(why, "(got 'xxx?xxx");
    assert_contains(why, "...')");
    assert_true(strlen(why) < 120);
}

static void test_config_check(void **state)
{
    (void)state;
    cv_config c;
    char why[256];
    cv_config_defaults(&c);
    c.lr_schedule = CV_LR_EXPONENTIAL;
    c.lr_decay = 0;
    assert_int_equal(cv_config_check(&c, why, sizeof why), -1);
    assert_string_equal(why, "lr_schedule exponential needs lr_decay in (0, 1] (got lr_decay 0)");
    c.lr_decay = 0.95;
    assert_int_equal(cv_config_check(&c, why, sizeof why), 0);
    c.lr_decay = 1;
    assert_int_equal(cv_config_check(&c, why, sizeof why), 0);
    c.lr_schedule = CV_LR_STEP;
    c.lr_decay = 1.5;
    assert_int_equal(cv_config_check(&c, why, sizeof why), -1);
    assert_contains(why, "lr_schedule step");
    assert_contains(why, "lr_decay");
    /* inverse_time and none are fine with any decay >= 0. */
    c.lr_schedule = CV_LR_INVERSE_TIME;
    assert_int_equal(cv_config_check(&c, why, sizeof why), 0);
    c.lr_decay = 0;
    assert_int_equal(cv_config_check(&c, why, sizeof why), 0);
    c.lr_schedule = CV_LR_NONE;
    assert_int_equal(cv_config_check(&c, why, sizeof why), 0);
    /* Single values are checked too. */
    c.dropout = 1;
    assert_int_equal(cv_config_check(&c, why, sizeof why), -1);
    assert_string_equal(why, "dropout must be in [0, 1)");
    cv_config_defaults(&c);
    c.batch_size = 1;
    assert_int_equal(cv_config_check(&c, why, sizeof why), -1);
    assert_string_equal(why, "batch_size must be an integer in [2, 1048576]");
}

/* --set NAME=VALUE: the one parser behind cv_job_set and cv_config_assign,
 * its messages, and a failure that changes nothing. */
static void test_assign(void **state)
{
    (void)state;
    cv_config c, before;
    cv_error err = {0};
    cv_config_defaults(&c);
    assert_int_equal(cv_config_assign(&c, "learning_rate=0.01", &err), 0);
    assert_true(c.learning_rate == 0.01);
    assert_int_equal(cv_config_assign(&c, " optimizer = sgd ", &err), 0);
    assert_int_equal(c.optimizer, CV_OPT_SGD);
    assert_int_equal(cv_config_assign(&c, "batch_norm=off", &err), 0);
    assert_false(c.batch_norm);
    assert_int_equal(err.code, CV_OK);

    before = c;
    assert_int_equal(cv_config_assign(&c, "lerning_rate=0.1", &err), CV_ERR_INPUT);
    assert_contains(err.msg, "--set lerning_rate=0.1: unknown parameter (expected one of: "
                             "learning_rate, momentum, beta1, ");
    cv_error_clear(&err);
    assert_int_equal(cv_config_assign(&c, "dropout=1", &err), CV_ERR_INPUT);
    assert_string_equal(err.msg, "--set dropout=1: dropout must be in [0, 1) (got '1')");
    cv_error_clear(&err);
    assert_int_equal(cv_config_assign(&c, "epochs=ten", &err), CV_ERR_INPUT);
    assert_string_equal(err.msg,
                        "--set epochs=ten: epochs must be an integer in [1, 1000000] (got 'ten')");
    cv_error_clear(&err);
    assert_int_equal(cv_config_assign(&c, "epochs=", &err), CV_ERR_INPUT);
    assert_contains(err.msg, "--set epochs=: epochs must be an integer");
    cv_error_clear(&err);
    assert_int_equal(cv_config_assign(&c, "learning_rate", &err), CV_ERR_INPUT);
    assert_string_equal(err.msg, "--set learning_rate: expected NAME=VALUE");
    cv_error_clear(&err);
    assert_int_equal(cv_config_assign(&c, "=3", &err), CV_ERR_INPUT);
    assert_contains(err.msg, "--set =3: unknown parameter");
    assert_memory_equal(&c, &before, sizeof c);

    cv_param p;
    double v;
    cv_error_clear(&err);
    assert_int_equal(cv_param_assign("patience= 3", &p, &v, &err), 0);
    assert_int_equal(p, CV_P_PATIENCE);
    assert_true(v == 3);
}

/* The text of messages: a user's input quoted short and printable, lists
 * joined with commas. */
static void test_quote_and_join(void **state)
{
    (void)state;
    char buf[64];
    cv_quote("a\tb", buf, sizeof buf);
    assert_string_equal(buf, "a?b");
    cv_quote("0123456789012345678901234567890123456789012", buf, sizeof buf);
    assert_string_equal(buf, "0123456789012345678901234567890123456789...");
    static const char *const words[] = {"sgd", "momentum", "adam"};
    cv_join(words, 3, buf, sizeof buf);
    assert_string_equal(buf, "sgd, momentum, adam");
    cv_join(words, 3, buf, 8);
    assert_string_equal(buf, "sgd, mo");
    cv_join(words, 0, buf, sizeof buf);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_names_in_order),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_get_set),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_bools_and_words),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_assign),
        cmocka_unit_test(test_quote_and_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
