/* test_isolate.c: readers run in a child process (caviar/isolate.h).
 *
 * The result crosses the pipe intact (more than a pipe's buffer of it), the
 * work really runs in another process, a failure keeps its status and
 * message, and every way a child can end early becomes the right error: a
 * crash (SIGSEGV, SIGABRT) or a child that overruns its time is bad input,
 * a kill from outside or a child that leaves without its result is a
 * runtime failure; the memory limit holds. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "caviar/isolate.h"

enum { COUNT = 1 << 20 }; /* 4 MiB of int32: many pipe buffers */

typedef enum how {
    SUCCEED,
    FAIL,
    SEGV,
    ABORT,
    KILLED,
    LEAVE,
    BAD_RECEIVE,
    HANG,
    GREEDY,
    AWAIT_USR1
} how;

static volatile sig_atomic_t g_usr1; /* SIGUSR1s this process's handler saw */

static void on_usr1(int sig)
{
    (void)sig;
    g_usr1++;
}

typedef struct state {
    how how;
    pid_t worker; /* the process that ran work */
    int32_t *values;
    int received;
} state;

static int work(void *arg, cv_error *err)
{
    state *s = arg;
    s->worker = getpid();
    switch (s->how) {
    case FAIL:
        return cv_fail(err, CV_ERR_INPUT, "data.h5: dataset y, example 3: label -1");
    case SEGV:
        raise(SIGSEGV);
        break;
    case ABORT:
        abort();
    case KILLED:
        raise(SIGKILL);
        break;
    case LEAVE:
        _exit(3);
    case HANG:
        for (;;)
            pause();
    case AWAIT_USR1: /* the handler inherited from the parent counts it */
        for (int i = 0; i < 500 && g_usr1 == 0; i++)
            usleep(10000);
        if (g_usr1 != 1)
            return cv_fail(err, CV_ERR_RUNTIME, "the child saw %d SIGUSR1", (int)g_usr1);
        break;
    case GREEDY: { /* 2 GiB: refused under a 256 MiB limit */
        void *p = malloc((size_t)2 << 30);
        if (p == NULL)
            return cv_fail(err, CV_ERR_NOMEM, "data.h5: out of memory");
        free(p);
        return cv_fail(err, CV_ERR_INPUT, "data.h5: the limit was not applied");
    }
    default:
        break;
    }
    s->values = malloc(COUNT * sizeof *s->values);
    if (s->values == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < COUNT; i++)
        s->values[i] = i * 7 + 1;
    return 0;
}

static int send_values(void *arg, int fd)
{
    state *s = arg;
    int32_t pid = (int32_t)s->worker;
    return cv_write_all(fd, &pid, sizeof pid) < 0 ||
                   cv_write_all(fd, s->values, COUNT * sizeof *s->values) < 0
               ? -1
               : 0;
}

static int receive_values(void *arg, int fd, cv_error *err)
{
    state *s = arg;
    s->received = 1;
    if (s->how == BAD_RECEIVE)
        return cv_fail(err, CV_ERR_NOMEM, "data.h5: out of memory for 9 x 9 features");
    int32_t pid;
    s->values = malloc(COUNT * sizeof *s->values);
    if (s->values == NULL || cv_read_all(fd, &pid, sizeof pid) < 0 ||
        cv_read_all(fd, s->values, COUNT * sizeof *s->values) < 0)
        return 1;
    s->worker = (pid_t)pid;
    return 0;
}

static int run_limited(state *s, bool isolated, double seconds, size_t memory, cv_error *err)
{
    cv_isolated r = {.work = work,
                     .send = send_values,
                     .receive = receive_values,
                     .arg = s,
                     .seconds = seconds,
                     .memory = memory,
                     .why = "damaged file: the reader failed"};
    cv_isolation_enable(isolated);
    int rc = cv_isolate(&r, "data.h5", err);
    cv_isolation_enable(true);
    return rc;
}

static int run_forwarding(state *s, cv_error *err)
{
    cv_isolated r = {.work = work,
                     .send = send_values,
                     .receive = receive_values,
                     .arg = s,
                     .why = "damaged file: the reader failed",
                     .forward_signals = true};
    return cv_isolate(&r, "data.h5", err);
}

static int run(state *s, bool isolated, cv_error *err)
{
    return run_limited(s, isolated, 0, 0, err);
}

static void test_result_crosses_the_pipe(void **unused)
{
    (void)unused;
    state s = {.how = SUCCEED};
    cv_error err = {0};
    assert_int_equal(run(&s, true, &err), 0);
    assert_true(s.received);
    assert_true(s.worker != getpid()); /* the work ran in a child */
    assert_non_null(s.values);
    for (int32_t i = 0; i < COUNT; i++)
        if (s.values[i] != i * 7 + 1)
            fail_msg("value %d arrived as %d", i, s.values[i]);
    free(s.values);
}

static void test_in_process(void **unused)
{
    (void)unused;
    state s = {.how = SUCCEED};
    cv_error err = {0};
    assert_int_equal(run(&s, false, &err), 0);
    assert_false(s.received);
    assert_int_equal(s.worker, getpid());
    assert_int_equal(s.values[COUNT - 1], (COUNT - 1) * 7 + 1);
    free(s.values);
}

static void test_failure_keeps_its_message(void **unused)
{
    (void)unused;
    state s = {.how = FAIL};
    cv_error err = {0};
    assert_int_equal(run(&s, true, &err), CV_ERR_INPUT);
    assert_string_equal(err.msg, "data.h5: dataset y, example 3: label -1");
    assert_false(s.received);
}

static void test_crash_is_bad_input(void **unused)
{
    (void)unused;
    state s = {.how = SEGV};
    cv_error err = {0};
    assert_int_equal(run(&s, true, &err), CV_ERR_INPUT);
    assert_string_equal(err.msg, "data.h5: damaged file: the reader failed (the process "
                                 "reading it died of SIGSEGV)");
    state a = {.how = ABORT};
    cv_error aerr = {0};
    assert_int_equal(run(&a, true, &aerr), CV_ERR_INPUT);
    assert_non_null(strstr(aerr.msg, "died of SIGABRT"));
}

static void test_early_ends_are_runtime_failures(void **unused)
{
    (void)unused;
    state k = {.how = KILLED};
    cv_error kerr = {0};
    assert_int_equal(run(&k, true, &kerr), CV_ERR_RUNTIME);
    assert_string_equal(kerr.msg,
                        "data.h5: the process reading it was killed (SIGKILL) before it finished");
    state l = {.how = LEAVE};
    cv_error lerr = {0};
    assert_int_equal(run(&l, true, &lerr), CV_ERR_RUNTIME);
    assert_string_equal(lerr.msg, "data.h5: the process reading it failed to hand its result over");
}

static void test_receive_failure(void **unused)
{
    (void)unused;
    state s = {.how = BAD_RECEIVE};
    cv_error err = {0};
    assert_int_equal(run(&s, true, &err), CV_ERR_NOMEM);
    assert_string_equal(err.msg, "data.h5: out of memory for 9 x 9 features");
}

static void test_overrun_is_bad_input(void **unused)
{
    (void)unused;
    state s = {.how = HANG};
    cv_error err = {0};
    assert_int_equal(run_limited(&s, true, 0.3, 0, &err), CV_ERR_INPUT);
    assert_string_equal(err.msg, "data.h5: damaged file: the reader failed (the process reading "
                                 "it was stopped after 0.3 s)");
}

static void test_memory_limit(void **unused)
{
    (void)unused;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* not applied under AddressSanitizer */
#endif
    state s = {.how = GREEDY};
    cv_error err = {0};
    assert_int_equal(run_limited(&s, true, 0, (size_t)256 << 20, &err), CV_ERR_NOMEM);
    assert_string_equal(err.msg, "data.h5: out of memory");
    /* and without a limit the same allocation is made (address space only) */
    state t = {.how = GREEDY};
    cv_error terr = {0};
    assert_int_equal(run_limited(&t, true, 0, 0, &terr), CV_ERR_INPUT);
}

/* A SIGUSR1 sent to this process while a forwarding child runs reaches the
 * child (in this process's own handler, which the child keeps), not this
 * process; afterwards this process's handler is back. */
static void test_signals_forwarded(void **unused)
{
    (void)unused;
    struct sigaction sa = {.sa_handler = on_usr1}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    g_usr1 = 0;
    pid_t me = getpid(), killer = fork();
    if (killer == 0) {
        usleep(200000);
        kill(me, SIGUSR1);
        _exit(0);
    }
    state s = {.how = AWAIT_USR1};
    cv_error err = {0};
    int rc = run_forwarding(&s, &err);
    waitpid(killer, NULL, 0);
    if (rc != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(g_usr1, 0); /* forwarded, not handled here */
    free(s.values);
    kill(me, SIGUSR1); /* the handler is this process's again */
    assert_int_equal(g_usr1, 1);
    sigaction(SIGUSR1, &old, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_crosses_the_pipe),
        cmocka_unit_test(test_in_process),
        cmocka_unit_test(test_failure_keeps_its_message),
        cmocka_unit_test(test_crash_is_bad_input),
        cmocka_unit_test(test_early_ends_are_runtime_failures),
        cmocka_unit_test(test_receive_failure),
        cmocka_unit_test(test_overrun_is_bad_input),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_signals_forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
