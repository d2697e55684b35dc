/* report_int.h: what the report's text (text.c), figures (svg.c), page
 * (html.c) and the analysis share: numbers written for people rather than
 * for a job file, the text's sections that the page shows too, and the
 * figures, each written to a stream, so that `--svg DIR` and `--html` draw
 * the same ones. */
#ifndef CAVIAR_REPORT_INT_H
#define CAVIAR_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "caviar/format.h"
#include "caviar/report.h"

/* v with about three significant digits: "0.000412", "0.887", "12.5",
 * "1.2e-5", "3000". Returns snprintf's length. */
int cv_report_short_number(double v, char *buf, size_t size);

/* A value of p as a reader wants it: words and booleans as words,
 * integers whole, reals short; a beta on the one_minus_log scale with the
 * digits that tell 0.999 from 0.9995. */
int cv_report_value(const cv_study *st, cv_param p, double v, char *buf, size_t size);

/* The metric's name in the file and in short ("dev_acc", "dev_loss"). */
const char *cv_report_metric_name(const cv_study *st);

/* Seconds since the epoch of an ISO 8601 UTC time as the store writes it
 * ("2025-01-31T12:34:56Z"); NaN if it does not parse. */
double cv_report_parse_time(const char *iso);

/* ---- sections of the text that the page shows too (text.c) ------------------ */

/* What the study is ("study NAME, random search, 2 rounds of 8 trials,
 * metric dev_accuracy (higher is better)", no newline); its status lines
 * (trials by status, where the time went); its provenance lines (the run
 * that started the file, then the runs after it, flagged where they ran on
 * other BLAS kernels or another caviar: their trials may differ in the last
 * bits). Lines end in a newline. */
void cv_report_describe(FILE *out, const cv_study *st);
void cv_report_status(FILE *out, const cv_study *st);
void cv_report_provenance(FILE *out, const cv_study *st);

/* The leaderboard's columns (cv_report_leaderboard): how many, column col's
 * heading, and its cell for row r at rank (1-based) as the text shows it
 * ("-" for a missing number). */
int cv_report_board_columns(const cv_study *st);
const char *cv_report_board_heading(const cv_study *st, int col);
void cv_report_board_cell(const cv_study *st, int col, const cv_trial_row *r, int64_t rank,
                          char *buf, size_t size);

/* An effect's bins table (cv_report_effects, as the text shows it): its
 * title ("learning_rate (log_uniform, 5 bins on log10 x)"), its columns
 * (range or value, trials, diverged, best, median, near, and for a
 * categorical parameter with the learning rate searched, the learning
 * rates reaching near the best), their headings, and bin b's cells. */
void cv_report_effect_title(const cv_study *st, const cv_report_effect *e, char *buf,
                            size_t size);
int cv_report_effect_columns(const cv_study *st, const cv_report_effect *e);
const char *cv_report_effect_heading(const cv_report_effect *e, int col);
void cv_report_effect_cell(const cv_study *st, const cv_report_effect *e, int b, int col,
                           char *buf, size_t size);

/* The coarse-to-fine table (when the study has rounds): its rows (round,
 * trials, the metric's best and its trial, then each searched parameter's
 * region), a row's label, and round r's cell. */
int cv_report_rounds_rows(const cv_study *st);
const char *cv_report_rounds_label(const cv_study *st, int row);
void cv_report_rounds_cell(const cv_study *st, int row, int64_t r, char *buf, size_t size);

/* Successive halving: each rung's budget, how many trials ended there and
 * trained beyond it, the best metric of those that ended there (NaN when
 * none); the epochs trained, against every trial trained in full. */
#define CV_REPORT_MAX_RUNGS 64
typedef struct cv_report_rung {
    int budget;
    int64_t ended, beyond;
    double best;
} cv_report_rung;
typedef struct cv_report_halving_info {
    int n;
    cv_report_rung rungs[CV_REPORT_MAX_RUNGS];
    int64_t epochs, full;
} cv_report_halving_info;

/* Fills h for a halving study with trials and returns true; false for
 * any other. */
bool cv_report_halving(const cv_study *st, cv_report_halving_info *h);

/* Its title ("successive halving (asha, 1 bracket, reduction factor 3):
 * rungs of 2, 6, 18 epochs") and what it saved ("epochs trained: ..."),
 * without a newline. */
void cv_report_halving_title(FILE *out, const cv_study *st, const cv_report_halving_info *h);
void cv_report_halving_saved(FILE *out, const cv_study *st, const cv_report_halving_info *h);

/* Writes s with the characters XML and HTML treat specially (& < > ")
 * escaped: safe as text and inside a double-quoted attribute. */
void cv_report_put_escaped(FILE *f, const char *s);

/* ---- figures (svg.c) ---------------------------------------------------------- */

/* What every figure of a study needs: the trials ranked once. */
typedef struct cv_report_figs {
    const cv_study *st;
    int64_t *order;   /* (n_rows) row indices, best first (cv_study_rank) */
    double *metric;   /* (n_rows) the metric of order[i], for the first n */
    int64_t n;        /* how many trials have a metric: no figure without one */
    int top;          /* trials in colour in the learning curves */
    bool inline_html; /* for the page: no XML declaration or namespace, each round
                         its own marker shape, each curve labelled by its rank */
} cv_report_figs;

/* Ranks st's trials for the figures; release with cv_report_figs_free. */
int cv_report_figs_init(cv_report_figs *fg, const cv_study *st, int top, bool inline_html,
                        cv_error *err);
void cv_report_figs_free(cv_report_figs *fg);

/* Each writes one whole <svg> element to f (fg->n > 0) and, into note, what
 * it drew for the log ("12 points", "10 trials, 40 curves"): the metric
 * against searched parameter dim; the learning curves (needs st->curves;
 * fails only without memory); parallel coordinates (at least one
 * searched parameter). Write errors are f's to report. */
void cv_report_fig_param(const cv_report_figs *fg, const cv_space_dim *dim, FILE *f, char *note,
                         size_t size);
int cv_report_fig_curves(const cv_report_figs *fg, FILE *f, char *note, size_t size,
                         cv_error *err);
void cv_report_fig_parallel(const cv_report_figs *fg, FILE *f, char *note, size_t size);

/* A pbt study's population (needs st->curves): each member's explored
 * parameter (learning_rate when explored) and metric over the epochs, the
 * exploits marked, the best member in black. Returns false, writing
 * nothing, for a study without lineage. */
bool cv_report_fig_pbt(const cv_report_figs *fg, FILE *f, char *note, size_t size);

#endif
