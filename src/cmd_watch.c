/* cmd_watch.c: `caviar watch RESULTS.h5 [--interval S] [--top K] [--html
 * PAGE]`: a live view of a running study: progress, the best so far, a
 * compact leaderboard and the trials in flight, every few seconds; with
 * --html also the whole report as a page, rewritten at each refresh
 * (atomically: cv_report_html_file), which reloads itself while the study
 * is live and stops reloading with the final table.
 *
 * The file is read as a SWMR reader (cv_store_open READ, then
 * cv_store_refresh each time), so nothing disturbs the study. The study
 * has ended when nobody holds the writer's lock on RESULTS.h5.ckpt
 * (cv_store_writer_active): the runner takes it before it creates the file
 * and the kernel drops it when the runner closes the file or dies. Watch
 * checks the lock before each read, so the read after the lock is gone is
 * the final table; it is taken from a fresh open, since the runner
 * rewrites the table when it ends. Reads that fail while the study is alive
 * (before the runner enters SWMR mode, or while it rewrites the file at the
 * end) are retried at the next refresh.
 *
 * On a terminal each refresh redraws the screen; otherwise a new block is
 * printed whenever a trial has finished since the last one, so that logs
 * stay readable. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caviar/report.h"
#include "caviar/store.h"
#include "commands.h"

/* How long watch waits for a results file that does not exist yet: the
 * runner creates it once the data are loaded. */
#define WAIT_FOR_FILE_SECONDS 60.0

/* The page reloads itself every --interval seconds, but not more often
 * than this: a person reads it. */
#define PAGE_RELOAD_MIN_SECONDS 5

static const char watch_usage[] =
    "usage: caviar watch RESULTS.h5 [--interval S] [--top K] [--html PAGE]\n"
    "  --interval  seconds between refreshes (default 2)\n"
    "  --top       leaderboard rows (default 10)\n"
    "  --html      also rewrite the report as one HTML page at each refresh; the page\n"
    "              reloads itself while the study runs\n"
    "Exits when the study ends (its writer closes the file, or dies).\n";

typedef struct watch_args {
    const char *results;
    double interval;
    int top;
    const char *html;
} watch_args;

static const cv_arg_opt watch_opts[] = {
    {.name = "--interval", .kind = CV_ARG_NUMBER, .offset = offsetof(watch_args, interval),
     .lo = 0.1, .hi = 1e6},
    {.name = "--top", .kind = CV_ARG_INT, .offset = offsetof(watch_args, top), .lo = 1,
     .hi = 1000000, .expected = "a whole number >= 1"},
    {.name = "--html", .kind = CV_ARG_STRING, .offset = offsetof(watch_args, html)},
};

const cv_args_spec cv_watch_args = {
    .command = "watch",
    .usage = watch_usage,
    .opts = watch_opts,
    .n_opts = (int)(sizeof watch_opts / sizeof *watch_opts),
    .positional = "results file",
    .positional_offset = offsetof(watch_args, results),
};

static void nap(double seconds)
{
    struct timespec t = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

int cv_cmd_watch(int argc, char **argv)
{
    watch_args a = {.interval = 2, .top = 10};
    int status = cv_args_parse(&cv_watch_args, argc, argv, &a);
    if (status != 0)
        return status < 0 ? 0 : status;
    bool tty = isatty(STDOUT_FILENO);
    cv_error err = {0};
    if (a.html != NULL && cv_report_html_check(a.html, a.results, &err) != 0) {
        fprintf(stderr, "caviar watch: %s\n", err.msg);
        return cv_exit_status(err.code);
    }
    int reload = (int)ceil(a.interval);
    reload = reload < PAGE_RELOAD_MIN_SECONDS ? PAGE_RELOAD_MIN_SECONDS : reload;

    /* the runner creates the file once it has loaded the data */
    struct stat sb;
    for (double waited = 0; stat(a.results, &sb) != 0; waited += a.interval) {
        if (errno != ENOENT || waited >= WAIT_FOR_FILE_SECONDS) {
            fprintf(stderr, "caviar watch: %s: %s\n", a.results, strerror(errno));
            return 2;
        }
        if (waited == 0)
            fprintf(stderr, "caviar watch: waiting for %s to appear\n", a.results);
        nap(a.interval);
    }

    cv_store *store = NULL;
    bool opened_live = false; /* the handle was opened while the writer was alive */
    int64_t shown = -1;       /* finished trials in the last block printed */
    int rc = 0;
    for (;;) {
        bool live = cv_store_writer_active(a.results);
        if (!live && opened_live) { /* the final table: from a fresh open */
            cv_error ignore = {0};
            cv_store_close(store, &ignore);
            store = NULL;
        }
        cv_error rerr = {0};
        if (store == NULL) {
            rc = cv_store_open(&store, a.results, CV_STORE_READ, &rerr);
            opened_live = live;
        } else {
            rc = cv_store_refresh(store, &rerr);
        }
        cv_study st = {0};
        if (rc == 0)
            rc = cv_study_load(&st, store, true, &rerr);
        if (rc != 0) {
            cv_study_free(&st);
            cv_error ignore = {0};
            cv_store_close(store, &ignore);
            store = NULL;
            if (!live) { /* nobody writes it, and it cannot be read */
                err = rerr;
                break;
            }
            nap(a.interval); /* the writer is between states: try again */
            continue;
        }
        cv_report_counts c;
        cv_report_count(&st, &c);
        int64_t finished = c.done + c.diverged + c.failed;
        if (tty || finished != shown || !live) {
            if (!tty && shown >= 0)
                fputc('\n', stdout);
            if (tty)
                fputs("\033[H\033[2J", stdout); /* home, clear */
            cv_report_live(stdout, &st, a.top, live);
            shown = finished;
        }
        if (a.html != NULL && (rc = cv_report_html_file(&st, a.html, a.top, live ? reload : 0,
                                                        &err)) != 0) {
            cv_study_free(&st);
            break;
        }
        if (!live) {
            if (c.pending == 0 && c.interrupted == 0)
                printf("study complete: %lld of %lld trials finished\n", (long long)finished,
                       (long long)st.planned);
            else
                printf("study stopped before its end (a signal, a time limit, or killed): "
                       "%lld of %lld trials finished; finish it with: caviar resume %s\n",
                       (long long)finished, (long long)st.planned, a.results);
            cv_study_free(&st);
            break;
        }
        cv_study_free(&st);
        nap(a.interval);
    }
    cv_error cerr = {0};
    if (store != NULL && cv_store_close(store, &cerr) != 0 && rc == 0)
        rc = cerr.code, err = cerr;
    if (rc != 0)
        fprintf(stderr, "caviar watch: %s\n", err.msg[0] ? err.msg : "failed");
    return cv_exit_status(rc);
}
