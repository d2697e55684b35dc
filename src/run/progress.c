/* progress.c: a study's progress on the terminal (see run_int.h): one line
 * per finished trial, or a redrawn bar on a terminal (done/total, running,
 * diverged, best so far, elapsed, ETA), and the closing summary. The
 * leaderboard at the end is the report's (cmd_run.c). */
#include <math.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "caviar/format.h"
#include "run_int.h"

double cv_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double cv_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

void cv_progress_init(cv_progress *p, FILE *out, cv_metric metric, double t_start)
{
    *p = (cv_progress){.out = out, .metric = metric, .t_start = t_start};
    p->tty = out != NULL && isatty(fileno(out));
}

void cv_progress_dispatch(cv_progress *p)
{
    if (p->t_first == 0)
        p->t_first = cv_now(), p->cpu_first = cv_cpu_seconds();
}

/* The line or the bar; row: the trial that just finished, or NULL for a
 * redraw of the bar. */
static void show(cv_progress *p, const cv_trial_row *row, const cv_trial_row *best, int running)
{
    FILE *out = p->out;
    double elapsed = cv_now() - p->t_start;
    /* by epochs when trials differ in what they cost (halving), else by trials */
    const bool by_epochs = p->epochs_planned > 0;
    int64_t done_now = by_epochs ? p->epochs_done - p->epochs_before : p->finished - p->finished_before;
    int64_t left = by_epochs ? p->epochs_planned - p->epochs_done : p->planned - p->finished;
    double eta = done_now > 0 ? elapsed / (double)done_now * (double)(left > 0 ? left : 0) : NAN;
    double share = by_epochs ? (double)p->epochs_done / (double)p->epochs_planned
                             : p->planned > 0 ? (double)p->finished / (double)p->planned : 0;
    char el[32], et[32], best_text[96] = "best -";
    cv_format_duration(elapsed, el, sizeof el);
    cv_format_duration(eta, et, sizeof et);
    if (best != NULL)
        snprintf(best_text, sizeof best_text, "best %s %.4f (trial %lld)",
                 cv_metric_name(p->metric), cv_trial_row_metric(best, p->metric),
                 (long long)best->trial);
    if (p->tty) {
        p->last_draw = cv_now();
        const int width = 24;
        int fill = (int)(share * width);
        fill = fill < width ? fill : width;
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(out, "\r[%s] %lld/%lld done, %d running, %lld diverged, %s, %s elapsed, ETA %s  ",
                bar, (long long)p->finished, (long long)p->planned, running,
                (long long)p->diverged, best_text, el, et);
    } else if (row != NULL) {
        char rung[32] = "";
        if (row->budget != row->config.epochs || row->rung > 0) /* successive halving */
            snprintf(rung, sizeof rung, " rung %d", row->rung);
        fprintf(out,
                "[%lld/%lld] trial %lld round %d%s %s: dev_accuracy %.4f dev_loss %.4f, %d epochs, "
                "%.1f s on rank %d; %s; %s elapsed, ETA %s\n",
                (long long)p->finished, (long long)p->planned, (long long)row->trial, row->round,
                rung, cv_trial_status_name(row->status), row->dev_accuracy, row->dev_loss,
                row->epochs_done, row->seconds, row->worker, best_text, el, et);
    }
    fflush(out);
}

void cv_progress_trial(cv_progress *p, const cv_trial_row *row, double seconds,
                       int64_t finished, int64_t epochs_done, const cv_trial_row *best,
                       int running)
{
    p->finished = finished;
    p->epochs_done = epochs_done;
    p->t_last = cv_now();
    p->diverged += row->status == CV_TRIAL_DIVERGED;
    p->failed += row->status == CV_TRIAL_FAILED;
    p->busy_seconds += seconds;
    if (p->out != NULL)
        show(p, row, best, running);
}

void cv_progress_tick(cv_progress *p, const cv_trial_row *best, int running)
{
    if (p->out != NULL && p->tty && cv_now() - p->last_draw >= 0.5)
        show(p, NULL, best, running);
}

void cv_progress_end(cv_progress *p, bool complete, int workers, bool mpi,
                     const char *results_path)
{
    FILE *out = p->out;
    if (out == NULL)
        return;
    if (p->tty)
        fputc('\n', out);
    char el[32];
    double wall = cv_now() - p->t_start;
    cv_format_duration(wall, el, sizeof el);
    /* throughput over the training phase: first dispatch to last result */
    int64_t ran = p->finished - p->finished_before;
    double span = p->t_last - p->t_first;
    fprintf(out,
            "%s: %lld of %lld trials finished (%lld diverged, %lld failed) in %s; "
            "%.3f trials/s; worker utilization %.0f%%",
            complete ? "study complete" : "study stopped", (long long)p->finished,
            (long long)p->planned, (long long)p->diverged, (long long)p->failed, el,
            ran > 0 && span > 0 ? (double)ran / span : 0.0,
            wall > 0 ? 100.0 * p->busy_seconds / (workers * wall) : 0.0);
    if (mpi && span > 0) /* the master's own CPU while workers train */
        fprintf(out, "; master CPU %.1f%% of a core",
                100.0 * (cv_cpu_seconds() - p->cpu_first) / span);
    if (!complete)
        fprintf(out, "; resume with: caviar resume %s", results_path);
    fputc('\n', out);
}
