/* isolate.c: a reader run in a child process (see caviar/isolate.h).
 *
 * The pipe carries, from child to parent:
 *   int32 status, int32 length, length bytes of message   (work's outcome)
 *   then, when status is 0, whatever send writes.
 * The parent waits for the outcome at most r->seconds, then kills the
 * child: HDF5 loops forever on some damaged files.
 * The child leaves with _exit: no exit handlers, no stdio flush, nothing of
 * the parent's state (open HDF5 files, MPI) is finalized twice. */
#include "caviar/isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int cv_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int cv_read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* AddressSanitizer maps terabytes of shadow memory: no address space
 * limit under it. */
#if defined(__SANITIZE_ADDRESS__)
#define CV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CV_ASAN 1
#endif
#endif
#ifndef CV_ASAN
#define CV_ASAN 0
#endif

#if !CV_ASAN
/* The address space this process has mapped (what it inherited: libraries,
 * MPI's shared memory, BLAS buffers), in bytes; 0 if unknown. */
static size_t mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    int got = f != NULL ? fscanf(f, "%lu", &pages) : 0;
    if (f != NULL)
        fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return got == 1 && page > 0 ? (size_t)pages * (size_t)page : 0;
}
#endif

/* The signals a reader crashes of, and those that ask a command to stop
 * (forwarded to a command's child: see cv_isolated.forward_signals). */
static const int g_crashes[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGSYS};
static const int g_stops[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};
#define N_CRASHES (sizeof g_crashes / sizeof g_crashes[0])
#define N_STOPS (sizeof g_stops / sizeof g_stops[0])

static bool in_list(int sig, const int *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == sig)
            return true;
    return false;
}

static double monotonic(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The child: work, its outcome, then its result. Never returns. A crash
 * must end it by its signal, for the parent to see, not in a handler the
 * parent installed (OpenMPI's and cmocka's report the signal and exit with
 * a status of their own). */
static void child(const cv_isolated *r, int fd)
{
    for (size_t i = 0; i < N_CRASHES; i++)
        signal(g_crashes[i], SIG_DFL);
    signal(SIGPIPE, SIG_IGN); /* a parent that stops reading: EPIPE, exit 1 */
#if !CV_ASAN
    size_t mapped = mapped_bytes();
    if (r->memory > 0 && mapped > 0) { /* HDF5 then fails an allocation, and says so */
        struct rlimit lim = {(rlim_t)(mapped + r->memory), (rlim_t)(mapped + r->memory)};
        (void)setrlimit(RLIMIT_AS, &lim);
    }
#endif
    cv_error err = {0};
    int status = r->work(r->arg, &err);
    if (status != 0 && err.msg[0] == '\0')
        snprintf(err.msg, sizeof err.msg, "reading failed (status %d)", status);
    int32_t head[2] = {status, status == 0 ? 0 : (int32_t)strlen(err.msg)};
    int bad = cv_write_all(fd, head, sizeof head) < 0 ||
              cv_write_all(fd, err.msg, (size_t)head[1]) < 0 ||
              (status == 0 && r->send != NULL && r->send(r->arg, fd) < 0);
    _exit(bad ? 1 : 0);
}

/* Reads work's outcome; 0 when it succeeded, its status (message in err)
 * when it failed, 1 when the pipe ended first (the child died). */
static int read_outcome(int fd, cv_error *err)
{
    int32_t head[2];
    if (cv_read_all(fd, head, sizeof head) < 0)
        return 1;
    if (head[0] == 0)
        return 0;
    char msg[sizeof err->msg];
    size_t len = head[1] > 0 && (size_t)head[1] < sizeof msg ? (size_t)head[1] : 0;
    if (cv_read_all(fd, msg, len) < 0)
        return 1;
    msg[len] = '\0';
    int status = head[0] < 0 ? head[0] : CV_ERR_RUNTIME;
    return cv_fail(err, status, "%s", msg);
}

/* The name of a signal a reader may die of, for the message. */
static const char *signal_name(int sig, char buf[16])
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGABRT:
        return "SIGABRT";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGSYS:
        return "SIGSYS";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    default:
        snprintf(buf, 16, "signal %d", sig);
        return buf;
    }
}

static bool g_enabled = true;

void cv_isolation_enable(bool on)
{
    g_enabled = on;
}

bool cv_isolation_enabled(void)
{
    return g_enabled;
}

/* Waits until fd has something to read (or its writer is gone), at most
 * seconds (0: no limit). Returns 0, or 1 when the time ran out. */
static int await_readable(int fd, double seconds)
{
    double left = seconds;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ms = seconds > 0 ? (int)fmin(left * 1000.0 + 1.0, (double)INT_MAX) : -1;
        double t0 = monotonic();
        int n = poll(&p, 1, ms);
        if (n > 0 || (n < 0 && errno != EINTR))
            return 0; /* readable, hung up, or poll failed: the read says which */
        if (seconds > 0) {
            left -= monotonic() - t0;
            if (n == 0 || left <= 0)
                return 1;
        }
    }
}

/* ---- forwarding the signals that stop a command ------------------------- */

static volatile sig_atomic_t g_child;

static void forward(int sig)
{
    if (g_child > 0)
        kill((pid_t)g_child, sig);
}

static void stop_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < N_STOPS; i++)
        sigaddset(set, g_stops[i]);
}

/* Installs forward() for the stop signals (old: what was there), with them
 * blocked (saved: the mask before) until the child's pid is known. */
static void forward_stops(struct sigaction old[N_STOPS], sigset_t *saved)
{
    sigset_t block;
    stop_set(&block);
    sigprocmask(SIG_BLOCK, &block, saved);
    struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_STOPS; i++)
        sigaction(g_stops[i], &sa, &old[i]);
}

static void restore_stops(const struct sigaction old[N_STOPS], const sigset_t *saved)
{
    for (size_t i = 0; i < N_STOPS; i++)
        sigaction(g_stops[i], &old[i], NULL);
    sigprocmask(SIG_SETMASK, saved, NULL);
}

int cv_isolate(const cv_isolated *r, const char *path, cv_error *err)
{
    int fds[2];
    if (!g_enabled || pipe(fds) != 0)
        return r->work(r->arg, err);
    /* A pipe of 1 MiB instead of 64 KiB: a data set crosses in far fewer
     * turns (a hint: an unprivileged process may be held to less). */
    (void)fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
    fflush(NULL); /* nothing buffered is written twice, even by accident */
    struct sigaction old[N_STOPS];
    sigset_t saved;
    if (r->forward_signals)
        forward_stops(old, &saved);
    pid_t pid = fork();
    if (pid == 0) { /* the child meets the stop signals as its parent would have */
        if (r->forward_signals)
            restore_stops(old, &saved);
        close(fds[0]);
        child(r, fds[1]); /* does not return */
    }
    if (r->forward_signals) {
        g_child = pid > 0 ? (sig_atomic_t)pid : 0;
        sigset_t unblock;
        stop_set(&unblock);
        sigprocmask(SIG_UNBLOCK, &unblock, NULL); /* a pending stop goes to the child now */
    }
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        if (r->forward_signals)
            restore_stops(old, &saved);
        return r->work(r->arg, err);
    }
    close(fds[1]);

    /* ret: 0, the child's or receive's failure (message in got), or 1 when
     * the pipe ended early. */
    cv_error got = {0};
    bool overran = await_readable(fds[0], r->seconds) != 0;
    if (overran)
        kill(pid, SIGKILL);
    int ret = overran ? 1 : read_outcome(fds[0], &got);
    if (ret == 0 && r->receive != NULL)
        ret = r->receive(r->arg, fds[0], &got);
    close(fds[0]); /* a child still writing gets EPIPE and ends */

    int ws = 0;
    pid_t w;
    while ((w = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
        ;
    if (r->forward_signals) {
        g_child = 0;
        restore_stops(old, &saved);
    }
    char buf[16];
    if (overran)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: %s (the process reading it was stopped after %.3g s)", path, r->why,
                       r->seconds);
    if (w == pid && WIFSIGNALED(ws)) {
        int sig = WTERMSIG(ws);
        if (in_list(sig, g_crashes, N_CRASHES))
            return cv_fail(err, CV_ERR_INPUT, "%s: %s (the process reading it died of %s)",
                           path, r->why, signal_name(sig, buf));
        if (r->forward_signals && in_list(sig, g_stops, N_STOPS)) /* stopped as asked: end the same way */
            raise(sig);
        return cv_fail(err, CV_ERR_RUNTIME,
                       "%s: the process reading it was killed (%s) before it finished", path,
                       signal_name(sig, buf));
    }
    if (ret < 0)
        return cv_fail(err, ret, "%s", got.msg);
    if (ret > 0 || w != pid || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return cv_fail(err, CV_ERR_RUNTIME,
                       "%s: the process reading it failed to hand its result over", path);
    return 0;
}
