/* caviar/report.h: what a results file says: the leaderboard, where the
 * time went, which hyperparameters matter and how, the coarse-to-fine
 * story, a suggested next region, and SVG figures of all of it, as text,
 * as files or as one HTML page.
 *
 * A study is loaded once through the store (it may still be running: a SWMR
 * reader sees the rows flushed so far) into plain data, a cv_study; every
 * analysis below is a function of that data alone, so that tests can build
 * a study by hand. The report knows nothing of MPI or of how trials ran.
 *
 * The metric is the stored job's (dev_accuracy: higher is better; dev_loss:
 * lower). Trials count in the analysis when their metric is finite and they
 * were not interrupted (a diverged trial keeps the metric of its best epoch
 * before it blew up; a failed one has none). Numeric parameters are binned
 * on their own scale (cv_space_to_unit: log10 x for log scales, log10(1 - x)
 * for one_minus_log_uniform), CV_REPORT_BINS equal bins over the job's whole
 * range (one per integer when there are fewer integers); categorical ones
 * per value. */
#ifndef CAVIAR_REPORT_H
#define CAVIAR_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "caviar/config.h"
#include "caviar/error.h"
#include "caviar/job.h"
#include "caviar/space.h"
#include "caviar/store.h"

/* Bins per numeric parameter. */
#define CV_REPORT_BINS 5

/* "Near the best": within this fraction of the best metric (1%). */
#define CV_REPORT_NEAR 0.01

/* A study as the report sees it. Owns everything it points to. */
typedef struct cv_study {
    char *path;        /* the results file */
    cv_job job;        /* the stored job */
    cv_space *space;   /* its search space */
    cv_metric metric;
    int trials_per_round, rounds;
    int64_t planned;   /* trials_per_round x rounds */
    cv_trial_row *rows; /* one per trial, in id order: of several rows of a trial (an
                           interrupted attempt and its re-run) the last finished one */
    int64_t n_rows;
    cv_curve_row *curves; /* (n_curves) as in the file; NULL unless loaded */
    int64_t n_curves;
    cv_round_row *round_rows; /* (n_rounds) /rounds */
    int64_t n_rounds;
    cv_store_times times;
    cv_run_info *runs;     /* (n_runs) /runs: the provenance of each run on the file */
    int64_t n_runs;
    cv_lineage_row *lineage; /* (n_lineage) /lineage: a pbt study's decisions */
    int64_t n_lineage;
    bool live;             /* a writer held the file when it was loaded (a run going on) */
    double modified;       /* the file's last change, seconds since the epoch (NaN unknown) */
    cv_failure_row *failures; /* (n_failures) /failures: a program's failed segments */
    int64_t n_failures;
} cv_study;

/* Loads the study in s: the job and its space, /trials (folded to one row
 * per trial), /rounds, the run times and, when with_curves, /curves. On
 * failure nothing is left to free. Release with cv_study_free. */
int cv_study_load(cv_study *st, cv_store *s, bool with_curves, cv_error *err);

/* Releases what st owns and zeroes it; safe on a zeroed study. */
void cv_study_free(cv_study *st);

/* The metric of a row as the analysis counts it: NaN for interrupted and
 * failed trials and for non-finite values. */
double cv_study_metric(const cv_study *st, const cv_trial_row *row);

/* Orders rows best first: the better metric, then the lower trial id; rows
 * without a metric last, by id. Writes the row indices into order (n_rows of
 * them) and returns how many rows have a metric. */
int64_t cv_study_rank(const cv_study *st, int64_t *order);

/* The threshold a metric must reach to be within CV_REPORT_NEAR of best. */
double cv_report_near_threshold(cv_metric metric, double best);

/* ---- how the metric depends on each parameter ------------------------------ */

typedef struct cv_report_bin {
    double lo, hi;     /* numeric: the bin's range in the parameter's units (for integers
                          the smallest and largest integer in it); categorical: the value */
    int trials;        /* trials in the bin (interrupted ones do not count) */
    int diverged;      /* of them, how many diverged */
    int n;             /* of them, how many have a metric */
    double best, median; /* of their metrics; NaN when n is 0 */
    int near;          /* of them, within CV_REPORT_NEAR of the study's best: the share
                          near / trials says how easily the bin reaches the best */
    double lr_lo, lr_hi; /* the learning rates of those near the best (NaN when none, or
                            when learning_rate is not searched) */
} cv_report_bin;

typedef struct cv_report_effect {
    cv_param param;
    bool categorical;
    int n_bins;
    cv_report_bin bins[CV_SPACE_MAX_VALUES];
    double importance; /* main effect: the share of the metric's variance between the
                          bins' means (eta squared, in [0, 1]); NaN with < 2 trials */
    double chance;     /* what noise alone explains on average: (bins used - 1) / (n - 1) */
} cv_report_effect;

/* One effect per searched parameter, most important first (ties: vocabulary
 * order): *out is a fresh array of *n (free() it; NULL when nothing is
 * searched). */
int cv_report_effects(const cv_study *st, cv_report_effect **out, int *n, cv_error *err);

/* ---- what to search next ------------------------------------------------ */

/* The region where the best trials cluster: the best keep fraction
 * (cv_space_keep_count) of all trials with a metric whose configuration
 * lies in the job's space (a trial continued by hand with --set may not),
 * zoomed as the runner
 * zooms a round (cv_space_zoom_best from the whole space), written as a
 * `parameters:` block for a job file: the job's constants, then each
 * searched parameter with its distribution and the region's bounds rounded
 * outward to two significant digits on its own scale (a single value
 * becomes a constant). *yaml is a fresh string (free() it); *n_best says
 * how many trials defined it (0: no trial has a metric; the block is then
 * the job's own space). */
int cv_report_suggest(const cv_study *st, char **yaml, int *n_best, cv_error *err);

/* ---- output ----------------------------------------------------------------- */

/* The leaderboard: the best top rows (order from cv_study_rank) with every
 * searched parameter as a job file writes it. */
void cv_report_leaderboard(FILE *out, const cv_study *st, const int64_t *order, int top);

/* The leaderboard of the results file at path (its best top trials), as
 * cv_report_leaderboard prints it: what `caviar run` shows at the end. */
int cv_report_leaderboard_file(FILE *out, const char *path, int top, cv_error *err);

/* Status counts: done, diverged, failed, interrupted, and not yet run. */
typedef struct cv_report_counts {
    int64_t done, diverged, failed, interrupted, pending;
} cv_report_counts;
void cv_report_count(const cv_study *st, cv_report_counts *c);

/* The whole text report (see `caviar report`). */
int cv_report_print(FILE *out, const cv_study *st, int top, cv_error *err);

/* Population-based training (a pbt study, else nothing): the generations'
 * decisions and the best member's schedule, stretch by stretch, with what
 * each exploit changed (pbt.c). */
void cv_report_pbt(FILE *out, const cv_study *st);

/* The trial --trial best means in a pbt study: the best of those that
 * trained the whole budget (-1: none yet). */
int64_t cv_report_pbt_best(const cv_study *st);

/* The compact live view `caviar watch` prints at each refresh: progress
 * (finished of planned, round, diverged, failed; elapsed since the file
 * was created and, while live, the time left at the pace so far over the
 * workers), the best so far, the leaderboard's top rows and, while live,
 * the trials in flight (curve points without a finished row). */
void cv_report_live(FILE *out, const cv_study *st, int top, bool live);

/* Writes the figures into dir (created if missing):
 *   metric_NAME.svg  the metric against each searched parameter on its own
 *                    scale, one circle per trial with a metric, coloured by
 *                    round, the best ringed;
 *   curves.svg       dev and train accuracy and loss per epoch of the best
 *                    top trials (one polyline per trial, set and panel);
 *   parallel.svg     parallel coordinates: one polyline per trial with a
 *                    metric across every searched parameter and the metric.
 * Data marks carry class="trial" (circles, polylines), so that they can be
 * counted. Each file written is named on log (NULL: quiet) with its count.
 * Needs st->curves for curves.svg. */
int cv_report_svg(const cv_study *st, const char *dir, int top, FILE *log, cv_error *err);

/* The whole report as one self-contained HTML page, written to out: the
 * study and its provenance (and its job file), a leaderboard of every trial
 * that sorts by any column (the best top printed), what matters, each
 * parameter's figure and bins, the learning curves of the best top trials,
 * parallel coordinates, the rounds, successive halving's rungs and the
 * suggested next region with a button that copies it. Figures are inline
 * SVG (each mark's <title> names its trial and values); nothing points
 * outside the page; every string from the file is escaped. refresh > 0:
 * the page reloads itself every refresh seconds (a study being watched).
 * Needs st->curves. Write errors are out's to report. */
int cv_report_html(FILE *out, const cv_study *st, int top, int refresh, cv_error *err);

/* Whether the page can be written at path, before any work: not a
 * directory, not the results file (results, or NULL), and a file can be
 * created beside it (PATH.tmp, created and removed again). 0, or
 * CV_ERR_INPUT with a message naming path. */
int cv_report_html_check(const char *path, const char *results, cv_error *err);

/* Writes the page (cv_report_html) to path atomically: into PATH.tmp,
 * flushed to disk, then renamed over path, so that a reader (a browser
 * reloading it) sees the old page or the new one, never a part. */
int cv_report_html_file(const cv_study *st, const char *path, int top, int refresh,
                        cv_error *err);

#endif
