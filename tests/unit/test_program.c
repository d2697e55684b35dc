/* test_program.c: the pure parts of running a program of the user's own
 * (src/run/program.c): metric lines, argv substitution, CAVIAR_PARAMS, and
 * the job parser's trainer: section and free parameter names. The running
 * itself is tests/integration/cli_trainer.sh's. */
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

static int parse(const char *line, cv_program_line *l, char *why)
{
    return cv_program_parse_line(line, l, why, 160);
}

static void test_metric_lines(void **state)
{
    (void)state;
    cv_program_line l;
    char why[160];
    assert_int_equal(parse("CAVIAR epoch=3 dev_accuracy=0.8812 dev_loss=0.331", &l, why), 1);
    assert_int_equal(l.epoch, 3);
    assert_int_equal(l.n, 2);
    assert_true(cv_program_line_get(&l, "dev_accuracy") == 0.8812);
    assert_true(cv_program_line_get(&l, "dev_loss") == 0.331);
    assert_true(isnan(cv_program_line_get(&l, "train_loss")));

    /* spaces, tabs and a carriage return around the pairs; exponents */
    assert_int_equal(parse("  CAVIAR\tepoch=1  dev_loss=1.5e-3\r", &l, why), 1);
    assert_true(cv_program_line_get(&l, "dev_loss") == 1.5e-3);
    /* nan and inf parse: whether they are acceptable is the runner's call */
    assert_int_equal(parse("CAVIAR epoch=2 dev_accuracy=nan", &l, why), 1);
    assert_true(isnan(cv_program_line_get(&l, "dev_accuracy")));

    /* not metric lines at all */
    assert_int_equal(parse("epoch 3: accuracy 0.88", &l, why), 0);
    assert_int_equal(parse("CAVIARS epoch=1", &l, why), 0);
    assert_int_equal(parse("", &l, why), 0);
    assert_int_equal(parse("CAVIAR", &l, why), 0);

    /* metric lines that are wrong, with a reason */
    assert_int_equal(parse("CAVIAR epoch=2 dev_accuracy=banana", &l, why), -1);
    assert_contains(why, "dev_accuracy is 'banana', not a number");
    assert_int_equal(parse("CAVIAR dev_accuracy=0.5", &l, why), -1);
    assert_contains(why, "needs epoch=N");
    assert_int_equal(parse("CAVIAR epoch=0 dev_accuracy=0.5", &l, why), -1);
    assert_contains(why, "expected an integer >= 1");
    assert_int_equal(parse("CAVIAR epoch=1.5 dev_accuracy=0.5", &l, why), -1);
    assert_int_equal(parse("CAVIAR epoch=1 dev_accuracy", &l, why), -1);
    assert_contains(why, "is not name=value");
    assert_int_equal(parse("CAVIAR epoch=1 =3", &l, why), -1);
    assert_int_equal(parse("CAVIAR epoch=1 dev_accuracy=", &l, why), -1);
    assert_int_equal(parse("CAVIAR epoch=1 dev_accuracy=0.5x", &l, why), -1);
    char longname[200];
    memset(longname, 'a', sizeof longname);
    memcpy(longname, "CAVIAR epoch=1 ", 15);
    memcpy(longname + sizeof longname - 4, "=1\n", 3);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(parse(longname, &l, why), -1);

    /* more pairs than kept: the first CV_PROGRAM_LINE_VALUES count */
    char many[1024] = "CAVIAR epoch=4";
    for (int i = 0; i < CV_PROGRAM_LINE_VALUES + 4; i++) {
        char pair[32];
        snprintf(pair, sizeof pair, " m%d=%d", i, i);
        strcat(many, pair);
    }
    assert_int_equal(parse(many, &l, why), 1);
    assert_int_equal(l.n, CV_PROGRAM_LINE_VALUES);
    assert_true(cv_program_line_get(&l, "m3") == 3);
}

static const char job_text[] =
    "trainer:\n"
    "  command: [/usr/bin/prog, --lr, \"{learning_rate}\", \"--w={width}x{width}\",\n"
    "            \"{tag}\", \"{{tag}}\", \"{\\\"json\\\": 1}\", \"{unknown\", \"}\"]\n"
    "  workdir: sub\n"
    "parameters:\n"
    "  learning_rate: 0.001\n"
    "  width: [32, 64]\n"
    "  tag: [\"a; b $(rm -rf /) `id` \\\"q\\\"\", plain]\n"
    "  beta: {distribution: one_minus_log_uniform, min: 0.9, max: 0.999}\n"
    "  epochs: 7\n";

static void test_argv_and_params(void **state)
{
    (void)state;
    cv_job job;
    cv_error err = {0};
    assert_int_equal(cv_job_parse(&job, "dir/job.yaml", job_text, strlen(job_text), &err), 0);
    assert_true(cv_job_has_trainer(&job));
    assert_string_equal(job.trainer.workdir, "dir/sub");
    assert_true(job.trainer.grace_seconds == 10);
    assert_int_equal(cv_vocab_program_count(), 4);

    int width = cv_param_lookup("width"), tag = cv_param_lookup("tag"),
        lr = cv_param_lookup("learning_rate"), beta = cv_param_lookup("beta");
    assert_true(width >= CV_P_PROGRAM && tag >= CV_P_PROGRAM && lr >= CV_P_PROGRAM);
    assert_int_equal(cv_param_get_info((cv_param)width)->kind, CV_KIND_INT);
    assert_int_equal(cv_param_get_info((cv_param)tag)->kind, CV_KIND_WORD);
    assert_int_equal(cv_param_get_info((cv_param)beta)->kind, CV_KIND_REAL);
    assert_int_equal(cv_param_lookup("hidden_units"), -1); /* caviar's own: not in use */
    assert_int_equal(cv_param_lookup("epochs"), CV_P_EPOCHS);

    cv_config cfg;
    cv_config_defaults(&cfg);
    cv_config_set(&cfg, (cv_param)lr, 0.001);
    cv_config_set(&cfg, (cv_param)width, 64);
    cv_config_set(&cfg, (cv_param)tag, 0);
    cv_config_set(&cfg, (cv_param)beta, 0.99);
    cv_config_set(&cfg, CV_P_EPOCHS, 7);
    char **argv = NULL;
    assert_int_equal(cv_program_argv(&job.trainer, &cfg, &argv, &err), 0);
    const char *want[] = {"/usr/bin/prog", "--lr", "0.001", "--w=64x64",
                          "a; b $(rm -rf /) `id` \"q\"", "{tag}", "{\"json\": 1}", "{unknown",
                          "}", NULL};
    for (int i = 0; want[i] != NULL; i++) {
        assert_non_null(argv[i]);
        assert_string_equal(argv[i], want[i]);
    }
    assert_null(argv[9]);
    cv_program_argv_free(argv);

    char *json = cv_program_params_json(&cfg);
    assert_non_null(json);
    assert_string_equal(json, "{\"epochs\": 7, \"learning_rate\": 0.001, \"width\": 64, "
                              "\"tag\": \"a; b $(rm -rf /) `id` \\\"q\\\"\", \"beta\": 0.99}\n");
    free(json);

    cv_program_files f;
    cv_program_paths("/r/x.h5.ckpt", 17, &f);
    assert_string_equal(f.dir, "/r/x.h5.ckpt/trial_000017");
    assert_string_equal(f.log, "/r/x.h5.ckpt/log_000017.txt");
    assert_string_equal(f.params, "/r/x.h5.ckpt/params_000017.json");
    cv_job_free(&job);

    /* a job without a trainer returns to caviar's own vocabulary */
    static const char own[] = "parameters:\n  hidden_units: [64, 128]\n";
    assert_int_equal(cv_job_parse(&job, "own.yaml", own, strlen(own), &err), 0);
    assert_int_equal(cv_vocab_program_count(), 0);
    assert_int_equal(cv_param_lookup("hidden_units"), CV_P_HIDDEN_UNITS);
    assert_int_equal(cv_param_lookup("width"), -1);
    cv_job_free(&job);
}

/* Bad trainer specs: CV_ERR_INPUT with file:line:column. */
static void test_bad_trainers(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"trainer:\n  command: [p, \"{nope}\"]\n",
         "t.yaml:2:16: trainer.command item 2: '{nope}' names no parameter"},
        {"trainer:\n  command: []\n", "t.yaml:2:12: trainer.command must not be empty"},
        {"trainer:\n  command: [\"\"]\n", "t.yaml:2:13: trainer.command's first item"},
        {"trainer:\n  command: [p, [a]]\n", "t.yaml:2:16: trainer.command items must be strings"},
        {"trainer:\n  command: p\n", "t.yaml:2:12: trainer.command must be a list"},
        {"trainer:\n", "t.yaml:1:9: trainer needs command"},
        {"trainer:\n  command: [p]\n  shell: true\n", "t.yaml:3:3: unknown key 'shell' in trainer"},
        {"trainer:\n  command: [p]\n  workdir: \"\"\n", "t.yaml:3:12: trainer.workdir must be"},
        {"trainer:\n  command: [p]\n  grace_seconds: 0\n", "t.yaml:3:18: trainer.grace_seconds"},
        {"data: x.csv\ntrainer:\n  command: [p]\n", "t.yaml:1:1: data does not apply"},
        {"trainer:\n  command: [p]\nparameters:\n  a-b: 1\n", "t.yaml:4:3: parameter name 'a-b'"},
        {"trainer:\n  command: [p]\nparameters:\n  status: 1\n",
         "t.yaml:4:3: parameter name 'status' is one of the results table's own columns"},
        {"trainer:\n  command: [p]\nparameters:\n  w: {distribution: int_uniform, min: 1.5, max: 3}\n",
         "t.yaml:4:39: min: w must be an integer"},
        {"trainer:\n  command: [p]\nparameters:\n  w: [a, a]\n  w: 3\n",
         "t.yaml:5:3: duplicate key 'w' in parameters"},
        {"parameters:\n  width: 3\n", "t.yaml:2:3: unknown key 'width' in parameters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cv_job job;
        cv_error err = {0};
        int rc = cv_job_parse(&job, "t.yaml", cases[i].text, strlen(cases[i].text), &err);
        if (rc != CV_ERR_INPUT)
            fail_msg("case %zu: status %d (%s)", i, rc, err.msg);
        assert_contains(err.msg, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_lines),
        cmocka_unit_test(test_argv_and_params),
        cmocka_unit_test(test_bad_trainers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
